"""UrbanSound8K: ``audio/fold1..10/{fsID}-{classID}-{occurrenceID}-{sliceID}.wav`` and
``metadata/UrbanSound8K.csv``, the dataset's 10 folds."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from audioconv.data.layouts.common import audio_files, example_clip, locate, parse_all, require_dir
from audioconv.data.layouts.registry import register_layout
from audioconv.data.manifest import read_table
from audioconv.errors import DatasetError

URBANSOUND8K_CLASSES = (
    "air_conditioner", "car_horn", "children_playing", "dog_bark", "drilling", "engine_idling",
    "gun_shot", "jackhammer", "siren", "street_music",
)  # fmt: skip
_URBANSOUND = re.compile(r"^(\d+)-(\d+)-(\d+)-(\d+)$")


def parse_urbansound8k_name(name: str) -> dict:
    """``{fsID}-{classID}-{occurrenceID}-{sliceID}.wav`` -> label and group (the Freesound
    recording ``fsID``: its slices stay in one fold).

    >>> parse_urbansound8k_name("100032-3-0-0.wav")
    {'label': 'dog_bark', 'group': '100032'}
    """
    match = _URBANSOUND.match(Path(name).stem)
    if match is None or int(match[2]) >= len(URBANSOUND8K_CLASSES):
        raise ValueError(f"{name!r} is not '{{fsID}}-{{classID}}-{{occurrenceID}}-{{sliceID}}.wav'")
    return {"label": URBANSOUND8K_CLASSES[int(match[2])], "group": match[1]}


def _example(folder: Path) -> Path:
    for fold in (1, 2):
        for class_id in (1, 3):  # car_horn, dog_bark
            name = f"{100 * fold + class_id}-{class_id}-0-0.wav"
            example_clip(folder / "audio" / f"fold{fold}" / name)
    return folder


@register_layout(
    "urbansound8k",
    description="UrbanSound8K: audio/fold1..10/{fsID}-{classID}-{occ}-{slice}.wav, 10 folds",
    example=_example,
)
def urbansound8k(root: str | os.PathLike) -> pd.DataFrame:
    """UrbanSound8K: ``audio/fold1..10/{fsID}-{classID}-{occurrenceID}-{sliceID}.wav`` and
    ``metadata/UrbanSound8K.csv``. Labels and folds come from the CSV when present, else from the
    file names and fold folders. ``group`` is the recording (``fsID``), ``fold`` the dataset's 10
    folds (its protocol: 10-fold cross-validation on them, never re-shuffled)."""
    what = "UrbanSound8K folder (holding audio/fold1 ... audio/fold10 and metadata/)"
    root = locate(require_dir(root, what), "audio/fold*", what)
    meta = root / "metadata" / "UrbanSound8K.csv"
    if meta.is_file():
        table = read_table(meta)
        needed = {"slice_file_name", "fsID", "fold", "classID", "class"}
        if not needed <= set(table.columns):
            raise DatasetError(f"{meta}: columns {sorted(needed - set(table.columns))} are missing")
        frame = pd.DataFrame(
            {
                "path": [
                    str(root / "audio" / f"fold{fold}" / name)
                    for fold, name in zip(table["fold"], table["slice_file_name"])
                ],
                "label": table["class"].to_numpy(),
                "group": table["fsID"].to_numpy(),
                "fold": table["fold"].astype(int).to_numpy(),
            }
        )
        names = table.drop_duplicates("classID").sort_values("classID", key=lambda c: c.astype(int))
        frame.attrs["class_names"] = list(names["class"])
        return frame
    folders = sorted((p for p in (root / "audio").glob("fold*") if p.is_dir()), key=str)
    parts = []
    for folder in folders:
        if not folder.name[4:].isdigit():
            continue
        part = parse_all(audio_files(folder), parse_urbansound8k_name, folder, "UrbanSound8K")
        part["fold"] = int(folder.name[4:])
        parts.append(part)
    if not parts:
        raise DatasetError(f"{root / 'audio'}: no fold1 ... fold10 folders with audio")
    frame = pd.concat(parts, ignore_index=True)
    frame.attrs["class_names"] = [c for c in URBANSOUND8K_CLASSES if c in set(frame["label"])]
    return frame
