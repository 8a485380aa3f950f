"""Berlin EmoDB: ``wav/03a01Fa.wav``, 10 speakers, 7 emotions, group = speaker."""

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

EMODB_CODES = {
    "W": "anger", "L": "boredom", "E": "disgust", "A": "fear", "F": "happiness", "T": "sadness",
    "N": "neutral",
}  # fmt: skip
EMODB_EMOTIONS = tuple(EMODB_CODES.values())
_EMODB = re.compile(r"^(\d\d)([a-z]\d\d)([WLEAFTN])([a-z])$")


def parse_emodb_name(name: str) -> dict:
    """Berlin EmoDB ``03a01Fa.wav``: speaker = characters 1-2, text = 3-5, emotion = 6 (German
    initial: W anger, L boredom, E disgust, A fear, F happiness, T sadness, N neutral), version 7.

    >>> parse_emodb_name("03a01Fa.wav")
    {'label': 'happiness', 'group': 'speaker03', 'text': 'a01'}
    """
    match = _EMODB.match(Path(name).stem)
    if match is None:
        raise ValueError(f"{name!r} is not an EmoDB file name like 03a01Fa.wav")
    return {"label": EMODB_CODES[match[3]], "group": f"speaker{match[1]}", "text": match[2]}


def _example(folder: Path) -> Path:
    for speaker in ("03", "08"):
        for code in ("F", "W"):
            example_clip(folder / "wav" / f"{speaker}a01{code}a.wav")
    return folder


@register_layout(
    "emodb",
    description="Berlin EmoDB: wav/03a01Fa.wav, 7 emotions, group = speaker",
    example=_example,
)
def emodb(root: str | os.PathLike) -> pd.DataFrame:
    """Berlin EmoDB: ``wav/03a01Fa.wav`` (or the clips in ``root``): 10 speakers, 7 emotions,
    group = speaker (its protocol is speaker-independent). Class order: ``EMODB_EMOTIONS``."""
    root = require_dir(root, "EmoDB folder (holding wav/)")
    folder = clips_folder(root, "wav", "EmoDB folder")
    frame = parse_all(audio_files(folder), parse_emodb_name, folder, "EmoDB")
    frame.attrs["class_names"] = list(EMODB_EMOTIONS)
    return frame
