"""Free Spoken Digit Dataset: ``recordings/{digit}_{speaker}_{index}.wav``.

>>> parse_fsdd_name("7_jackson_32.wav")
{'label': '7', 'group': 'jackson', 'index': 32}
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from audioconv.data.layouts.common import audio_files, example_clip, parse_all, require_dir
from audioconv.data.layouts.registry import register_layout

_FSDD = re.compile(r"^(\d)_([A-Za-z0-9]+)_(\d+)$")


def parse_fsdd_name(name: str) -> dict:
    """``{digit}_{speaker}_{index}.wav`` -> label, group (speaker) and index."""
    match = _FSDD.match(Path(name).stem)
    if match is None:
        raise ValueError(f"{name!r} is not '{{digit}}_{{speaker}}_{{index}}.wav'")
    return {"label": match[1], "group": match[2], "index": int(match[3])}


def _example(folder: Path) -> Path:
    for digit in (0, 1):
        for speaker in ("jackson", "theo"):
            for index in (0, 5):
                example_clip(folder / "recordings" / f"{digit}_{speaker}_{index}.wav")
    return folder


@register_layout(
    "fsdd",
    description="Free Spoken Digit Dataset: recordings/{digit}_{speaker}_{index}.wav",
    example=_example,
)
def fsdd(root: str | os.PathLike) -> pd.DataFrame:
    """Free Spoken Digit Dataset: ``recordings/{digit}_{speaker}_{index}.wav`` (or the files
    directly in ``root``). ``split`` is the official one: indices 0-4 test, 5-49 train."""
    root = require_dir(root, "FSDD folder (holding recordings/)")
    folder = root / "recordings" if (root / "recordings").is_dir() else root
    frame = parse_all(audio_files(folder), parse_fsdd_name, folder, "FSDD")
    frame["split"] = ["test" if i < 5 else "train" for i in frame["index"]]
    return frame
