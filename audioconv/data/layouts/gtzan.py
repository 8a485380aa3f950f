"""GTZAN genres: ``genres_original/<genre>/<genre>.000NN.wav`` (or the original ``genres/``)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from audioconv.data.layouts.class_folders import class_folders
from audioconv.data.layouts.common import example_clip, require_dir
from audioconv.data.layouts.registry import register_layout


def _example(folder: Path) -> Path:
    for genre, freq in (("blues", 300.0), ("jazz", 900.0)):
        for k in range(2):
            example_clip(folder / "genres_original" / genre / f"{genre}.0000{k}.wav", freq=freq)
    return folder


@register_layout(
    "gtzan",
    description="GTZAN genres: genres_original/<genre>/<genre>.000NN.wav (or genres/*.au)",
    example=_example,
)
def gtzan(root: str | os.PathLike) -> pd.DataFrame:
    """GTZAN genres: ``genres_original/<genre>/<genre>.000NN.wav`` (the Kaggle copy) or the
    original ``genres/<genre>/<genre>.000NN.au`` (``root`` may be the dataset folder,
    ``genres_original`` or ``genres``). ``group`` is the clip itself (GTZAN has no artist
    metadata); split it with :func:`audioconv.data.splits.assign_splits`."""
    root = require_dir(root, "GTZAN folder (holding genres_original/)")
    for name in ("genres_original", "genres", "Data/genres_original"):
        if (root / name).is_dir():
            root = root / name
            break
    frame = class_folders(root)  # one folder per genre; a root one level too high is named
    frame["group"] = [Path(p).stem for p in frame["path"]]
    return frame
