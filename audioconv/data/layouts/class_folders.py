"""Your own data: one sub-folder of clips per class (``root/<class>/<clip>.wav``)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from audioconv._walk import walk_files
from audioconv.constants import AUDIO_EXTENSIONS, is_class_folder
from audioconv.data.layouts.common import audio_files, example_clip, require_dir
from audioconv.data.layouts.registry import register_layout
from audioconv.errors import DatasetError


def _example(folder: Path) -> Path:
    for label, freq in (("dog", 300.0), ("cat", 900.0)):
        for k in range(2):
            example_clip(folder / label / f"{label}_{k}.wav", freq=freq)
    return folder


#: top folder names read as a predefined split (``root/train/<class>/``, ``root/test/<class>/``)
SPLIT_FOLDERS = {
    "train": "train", "training": "train",
    "val": "val", "valid": "val", "validation": "val", "dev": "val",
    "test": "test", "testing": "test",
}  # fmt: skip


def _split_folders(root: Path, folders: list[Path]) -> pd.DataFrame:
    """``root/<split>/<class>/<clip>`` -> ``path``, ``label``, ``split`` (each split folder read
    as a class-folder tree; val and test may only hold classes that train holds)."""
    splits = {folder: SPLIT_FOLDERS[folder.name.lower()] for folder in folders}
    if not {"train", "test"} <= set(splits.values()):
        raise DatasetError(
            f"{root}: split folders {sorted(f.name for f in folders)} need a train and a test "
            f"folder (val is carved out of train when missing); or pass --data-dir "
            f"{folders[0]} to split its class folders anew"
        )
    tables = [class_folders(folder).assign(split=split) for folder, split in splits.items()]
    table = pd.concat(tables, ignore_index=True)
    table.attrs["not_read"] = {k: v for t in tables for k, v in t.attrs["not_read"].items()}
    trained = set(table.loc[table["split"] == "train", "label"])
    extra = sorted(set(table["label"]) - trained)
    if extra:
        raise DatasetError(
            f"{root}: class folder(s) {extra} are in val / test but not in train, so no model "
            "could learn them: add their training clips or remove them"
        )
    return table


def _is_class_folder_tree(folder: Path) -> bool:
    """Whether ``folder`` holds two or more class folders with clips of their own."""
    folders = [p for p in folder.iterdir() if is_class_folder(p)]
    return sum(bool(audio_files(p, recursive=False)) for p in folders) >= 2


@register_layout(
    "class_folders",
    description="one sub-folder of clips per class: root/<class>/<clip>.wav",
    example=_example,
)
def class_folders(root: str | os.PathLike) -> pd.DataFrame:
    """``root/<class>/<clip>`` (clips found recursively in each class folder; folders starting
    with ``_`` or ``.`` are ignored) -> ``path``, ``label``. Top folders named ``train`` /
    ``val`` / ``test`` (also ``training``, ``valid``, ``validation``, ``dev``, ``testing``),
    each holding the class folders, are the dataset's own split: a ``split`` column too. The
    other files of the class folders (not audio by their suffix) are in
    ``frame.attrs["not_read"]`` (``{path: reason}``).

    Raises:
        DatasetError: no class folder, an empty one, a single class, or a ``root`` one level too
            high (its only folder holds the class folders) or too low (a class folder beside
            others): the message says which folder to pass.
    """
    root = require_dir(root, "folder holding one sub-folder of clips per class")
    folders = sorted(p for p in root.iterdir() if is_class_folder(p))
    if (
        len(folders) > 1
        and all(p.name.lower() in SPLIT_FOLDERS for p in folders)
        and not any(audio_files(p, recursive=False) for p in folders)
    ):  # train/ test/ (val/) each holding the class folders: the dataset's own split
        return _split_folders(root, folders)
    loose = [p.name for p in audio_files(root, recursive=False)]
    nested = len(folders) == 1 and any(p.is_dir() and audio_files(p) for p in folders[0].iterdir())
    if nested and not audio_files(folders[0], recursive=False):
        raise DatasetError(
            f"{root}: its only folder {folders[0].name!r} holds the class folders; "
            f"pass --data-dir {folders[0]}"
        )
    if not folders:
        parent = root.absolute().parent
        hint = f" ({len(loose)} clips lie loose in it: move each into its class folder)"
        if loose and _is_class_folder_tree(parent):  # one class folder passed, not their parent
            hint = (
                f"; it looks like one class folder of {parent}: pass --data-dir {parent} "
                f"(or move each of its {len(loose)} clips into a class folder)"
            )
        raise DatasetError(
            f"{root}: no class folders; expected {root}/<class>/<clip>.wav"
            + (hint if loose else "")
        )
    rows, not_read = [], {}
    for folder in folders:
        walk = walk_files(folder, AUDIO_EXTENSIONS)
        if not walk.files:
            raise DatasetError(
                f"{folder}: class folder holds no audio ({', '.join(AUDIO_EXTENSIONS)}); add "
                f"clips or remove the folder{walk.others()}"
            )
        rows += [{"path": str(f), "label": folder.name} for f in walk.files]
        not_read |= walk.not_read
    if len(folders) < 2:
        raise DatasetError(
            f"{root}: only one class folder ({folders[0].name}); a classifier needs two or more"
        )
    frame = pd.DataFrame(rows)
    frame.attrs["not_read"] = not_read
    return frame
