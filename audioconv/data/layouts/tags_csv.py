"""A multi-label tag CSV (e.g. music emotion tags) next to its clips."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from audioconv.data.layouts.common import example_clip
from audioconv.data.layouts.registry import register_layout
from audioconv.data.manifest import check_text_file, split_tags, tags_from_columns
from audioconv.errors import DatasetError


def _example(folder: Path) -> Path:
    for i in range(3):
        example_clip(folder / f"song{i}.wav", freq=300.0 + 200 * i)
    tags = ["happy;energetic", "sad", "happy"]
    pd.DataFrame({"path": [f"song{i}.wav" for i in range(3)], "tags": tags}).to_csv(
        folder / "tags.csv", index=False
    )
    return folder


@register_layout(
    "tags_csv",
    description="a tag CSV (path, tags joined by ';') next to its clips: root/tags.csv",
    example=_example,
)
def tags_csv(
    csv: str | os.PathLike,
    *,
    tag_columns: Sequence[str] | None = None,
    sep: str = ";",
) -> pd.DataFrame:
    """Multi-label tag CSV (e.g. music emotion tags): columns ``path`` and ``tags`` joined by
    ``sep`` (``"happy;energetic"``), or one 0/1 column per tag named in ``tag_columns``. Relative
    paths resolve from the CSV's folder; ``frame.attrs["class_names"]`` holds the tag order.
    ``csv`` may be the folder holding ``tags.csv``."""
    csv = Path(csv)
    if csv.is_dir():
        csv = csv / "tags.csv"
    if not csv.is_file():
        raise DatasetError(f"{csv}: no such tag CSV")
    check_text_file(csv)
    frame = pd.read_csv(csv, keep_default_na=False)  # a path or class "NA" stays one
    if frame.empty:
        raise DatasetError(f"{csv}: a header but no rows; add one row per clip")
    if "path" not in frame.columns:
        raise DatasetError(f"{csv}: no 'path' column (columns: {list(frame.columns)})")
    if tag_columns is not None:
        frame = tags_from_columns(frame, tag_columns)
        names = list(tag_columns)
    elif "tags" in frame.columns:
        frame["tags"] = [split_tags(v, sep) for v in frame["tags"]]
        names = sorted({t for tags in frame["tags"] for t in tags})
    else:
        raise DatasetError(
            f"{csv}: no 'tags' column; pass tag_columns=[...] for one column per tag"
        )
    frame["path"] = [p if Path(p).is_absolute() else str(csv.parent / p) for p in frame["path"]]
    frame.attrs["class_names"] = names
    return frame
