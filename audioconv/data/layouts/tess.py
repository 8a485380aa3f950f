"""Toronto emotional speech set: ``OAF_angry/OAF_back_angry.wav``, two talkers, 7 emotions."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from audioconv.data.layouts.common import audio_files, example_clip, parse_all, require_dir
from audioconv.data.layouts.registry import register_layout
from audioconv.errors import ConfigError

TESS_EMOTIONS = ("angry", "disgust", "fear", "happy", "neutral", "pleasant_surprise", "sad")
_TESS = re.compile(r"^(OAF|YAF)_([A-Za-z]+)_([A-Za-z]+)$", re.IGNORECASE)


def parse_tess_name(name: str) -> dict:
    """TESS ``OAF_back_angry.wav``: speaker (OAF older / YAF younger talker), word, emotion
    (``ps`` is pleasant surprise).

    >>> parse_tess_name("YAF_bean_ps.wav")
    {'label': 'pleasant_surprise', 'speaker': 'YAF', 'group': 'bean'}
    """
    match = _TESS.match(Path(name).stem)
    emotion = None if match is None else match[3].lower()
    emotion = "pleasant_surprise" if emotion in ("ps", "pleasant") else emotion
    if emotion not in TESS_EMOTIONS:
        raise ValueError(f"{name!r} is not a TESS file name like OAF_back_angry.wav")
    return {"label": emotion, "speaker": match[1].upper(), "group": match[2].lower()}


def _example(folder: Path) -> Path:
    for speaker in ("OAF", "YAF"):
        for emotion in ("angry", "sad"):
            for word in ("back", "bean"):
                example_clip(folder / f"{speaker}_{emotion}" / f"{speaker}_{word}_{emotion}.wav")
    return folder


@register_layout(
    "tess",
    description="TESS: OAF_angry/OAF_back_angry.wav, 7 emotions, one talker held out as test",
    example=_example,
)
def tess(root: str | os.PathLike, *, test_speaker: str = "YAF") -> pd.DataFrame:
    """Toronto emotional speech set: ``OAF_angry/OAF_back_angry.wav``, ``YAF_sad/...``: two
    talkers, 7 emotions, 200 words each. The only speaker-independent protocol with two talkers:
    ``test_speaker``'s clips are test, the other's train; ``group`` is the word, so validation
    carved from training holds words never trained on."""
    root = require_dir(root, "TESS folder (holding OAF_angry/, YAF_sad/, ...)")
    frame = parse_all(audio_files(root), parse_tess_name, root, "TESS")
    if test_speaker.upper() not in ("OAF", "YAF"):
        raise ConfigError(f"test_speaker={test_speaker!r}: TESS speakers are 'OAF' and 'YAF'")
    frame = frame.drop_duplicates("path")
    frame["split"] = np.where(frame["speaker"] == test_speaker.upper(), "test", "train")
    frame.attrs["class_names"] = [c for c in TESS_EMOTIONS if c in set(frame["label"])]
    return frame
