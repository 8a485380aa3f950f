"""CREMA-D: ``AudioWAV/1001_DFA_ANG_XX.wav``, 6 emotions, group = actor.

>>> parse_cremad_name("1001_DFA_ANG_XX.wav")
{'label': 'anger', 'group': '1001', 'sentence': 'DFA', 'level': 'XX'}
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from audioconv.data.layouts.common import (
    audio_files,
    clips_folder,
    example_clip,
    parse_all,
    require_dir,
)
from audioconv.data.layouts.registry import register_layout

CREMAD_CODES = {
    "ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad",
}  # fmt: skip
CREMAD_EMOTIONS = tuple(CREMAD_CODES.values())
_CREMAD = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{1,2})$")


def parse_cremad_name(name: str) -> dict:
    """``ActorID_Sentence_Emotion_Level.wav``, e.g. ``1001_DFA_ANG_XX.wav``; group = actor."""
    match = _CREMAD.match(Path(name).stem)
    if match is None or match[3] not in CREMAD_CODES:
        raise ValueError(f"{name!r} is not a CREMA-D file name")
    return {
        "label": CREMAD_CODES[match[3]],
        "group": match[1],
        "sentence": match[2],
        "level": match[4],
    }


def _example(folder: Path) -> Path:
    for actor in ("1001", "1002"):
        for code in ("ANG", "HAP"):
            example_clip(folder / "AudioWAV" / f"{actor}_DFA_{code}_XX.wav")
    return folder


@register_layout(
    "cremad",
    description="CREMA-D: AudioWAV/1001_DFA_ANG_XX.wav, 6 emotions, group = actor",
    example=_example,
)
def cremad(root: str | os.PathLike) -> pd.DataFrame:
    """CREMA-D (``AudioWAV/1001_DFA_ANG_XX.wav``): 6 emotions, group = actor.
    Class order: ``CREMAD_EMOTIONS`` (``frame.attrs["class_names"]``)."""
    root = require_dir(root, "CREMA-D folder (AudioWAV/ or the clips)")
    folder = clips_folder(root, "AudioWAV", "CREMA-D folder")
    frame = parse_all(audio_files(folder), parse_cremad_name, folder, "CREMA-D")
    frame.attrs["class_names"] = list(CREMAD_EMOTIONS)
    return frame
