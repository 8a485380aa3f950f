"""RAVDESS audio: ``Actor_XX/03-01-05-01-02-01-12.wav``, 8 emotions, group = actor.

>>> parse_ravdess_name("03-01-05-01-02-01-12.wav")
{'label': 'angry', 'group': 'actor12', 'vocal_channel': 'speech', 'intensity': 'normal'}
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from audioconv.data.layouts.common import audio_files, example_clip, parse_all, require_dir
from audioconv.data.layouts.registry import register_layout

RAVDESS_EMOTIONS = (
    "neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised",
)  # fmt: skip
_RAVDESS = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")


def parse_ravdess_name(name: str) -> dict:
    """``MM-VV-EE-II-SS-RR-AA.wav``: emotion EE (01 neutral ... 08 surprised), actor AA -> group."""
    match = _RAVDESS.match(Path(name).stem)
    if match is None or not 1 <= int(match[3]) <= 8:
        raise ValueError(f"{name!r} is not a RAVDESS file name")
    return {
        "label": RAVDESS_EMOTIONS[int(match[3]) - 1],
        "group": f"actor{match[7]}",
        "vocal_channel": "speech" if match[2] == "01" else "song",
        "intensity": "normal" if match[4] == "01" else "strong",
    }


def _example(folder: Path) -> Path:
    for actor in (1, 2):
        for emotion in (1, 5):
            name = f"03-01-{emotion:02d}-01-01-01-{actor:02d}.wav"
            example_clip(folder / f"Actor_{actor:02d}" / name)
    return folder


@register_layout(
    "ravdess",
    description="RAVDESS audio: Actor_XX/03-01-05-01-02-01-12.wav, 8 emotions, group = actor",
    example=_example,
)
def ravdess(root: str | os.PathLike) -> pd.DataFrame:
    """RAVDESS audio (``Actor_XX/03-01-05-01-02-01-12.wav``): 8 emotions, group = actor.
    Class order: ``RAVDESS_EMOTIONS`` (``frame.attrs["class_names"]``)."""
    root = require_dir(root, "RAVDESS folder (holding Actor_XX/)")
    frame = parse_all(audio_files(root), parse_ravdess_name, root, "RAVDESS")
    frame.attrs["class_names"] = list(RAVDESS_EMOTIONS)
    return frame
