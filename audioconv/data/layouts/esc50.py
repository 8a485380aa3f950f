"""ESC-50: ``meta/esc50.csv`` and ``audio/``, the dataset's 5 folds."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from audioconv.data.layouts.common import example_clip, locate, require_dir
from audioconv.data.layouts.registry import register_layout
from audioconv.errors import DatasetError


def _example(folder: Path) -> Path:
    rows = []
    for fold in (1, 2):
        for target, category in enumerate(("dog", "rain")):
            name = f"{fold}-{100 + target}-A-{target}.wav"
            example_clip(folder / "audio" / name)
            rows.append(
                {"filename": name, "fold": fold, "target": target, "category": category,
                 "esc10": True, "src_file": 100 + target, "take": "A"}
            )  # fmt: skip
    (folder / "meta").mkdir()
    pd.DataFrame(rows).to_csv(folder / "meta" / "esc50.csv", index=False)
    return folder


@register_layout(
    "esc50",
    description="ESC-50: meta/esc50.csv and audio/, the dataset's 5 folds",
    example=_example,
)
def esc50(root: str | os.PathLike, *, esc10: bool = False) -> pd.DataFrame:
    """ESC-50: ``meta/esc50.csv`` (filename, fold, target, category, esc10, src_file, take) and
    ``audio/``. Labels are categories, ``fold`` the dataset's 5 folds, ``group`` the source
    recording (``src_file``). ``esc10=True`` keeps the ESC-10 subset. The class order follows
    ``target``: ``frame.attrs["class_names"]``."""
    what = "ESC-50 folder (holding meta/esc50.csv and audio/)"
    root = locate(require_dir(root, what), "meta/esc50.csv", what)
    meta = root / "meta" / "esc50.csv"
    if not meta.is_file():
        raise DatasetError(f"{meta}: missing; the ESC-50 layout keeps its labels there")
    table = pd.read_csv(meta, keep_default_na=False)
    needed = {"filename", "fold", "target", "category", "esc10", "src_file"}
    if not needed <= set(table.columns):
        raise DatasetError(f"{meta}: columns {sorted(needed - set(table.columns))} are missing")
    if esc10:
        table = table[table["esc10"].astype(str).str.lower() == "true"]
    frame = pd.DataFrame(
        {
            "path": [str(root / "audio" / name) for name in table["filename"]],
            "label": table["category"].to_numpy(),
            "group": table["src_file"].astype(str).to_numpy(),
            "fold": table["fold"].astype(int).to_numpy(),
        }
    )
    order = table.drop_duplicates("target").sort_values("target")
    frame.attrs["class_names"] = list(order["category"])
    return frame
