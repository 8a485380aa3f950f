"""The manifest: one row per clip (``path``, ``label`` or ``tags``, optional ``group``, ``split``,
``fold``, ``offset``, ``duration``), read from a CSV / TSV you wrote, with the table checks and tag
parsing that :mod:`audioconv.data.audio` and :mod:`audioconv.data.layouts` share (numpy + pandas
only).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from audioconv.errors import DatasetError

__all__ = [
    "check_text_file", "read_clip_list", "read_manifest", "read_table", "split_tags",
    "tags_from_columns",
]  # fmt: skip


def split_tags(value, sep: str = ";") -> list[str]:
    """Tags of one manifest cell: a list stays a list, ``"happy; calm"`` -> ``["happy", "calm"]``.

    >>> split_tags("happy; calm"), split_tags(["sad"]), split_tags(float("nan"))
    (['happy', 'calm'], ['sad'], [])
    """
    if isinstance(value, list | tuple | np.ndarray):
        return [str(tag).strip() for tag in value if str(tag).strip()]
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [tag.strip() for tag in str(value).split(sep) if tag.strip()]


def tags_from_columns(frame: pd.DataFrame, tag_columns: Sequence[str]) -> pd.DataFrame:
    """One 0/1 column per tag -> a ``tags`` list column (the tag columns are dropped)."""
    missing = [c for c in tag_columns if c not in frame.columns]
    if missing:
        raise DatasetError(
            f"tag columns {missing} are not in the table (columns: {list(frame.columns)})"
        )
    values = frame[list(tag_columns)]
    if not values.isin([0, 1, True, False]).all().all():
        raise DatasetError(f"tag columns {list(tag_columns)} must hold only 0/1 values")
    out = frame.drop(columns=list(tag_columns))
    out["tags"] = [[t for t in tag_columns if row[t]] for _, row in values.iterrows()]
    return out


def check_text_file(path: Path) -> None:
    """A missing, empty or binary table file is a DatasetError naming it."""
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    head = path.read_bytes()[:4096]
    if not head.strip():
        raise DatasetError(f"{path}: the file is empty; write a header row and one row per clip")
    if b"\x00" in head:
        raise DatasetError(f"{path}: this is a binary file, not a text CSV / TSV table")


def read_table(path: Path, sep: str | None = None) -> pd.DataFrame:
    """A CSV / TSV with a header row; an empty, binary or unparsable file is a DatasetError."""
    check_text_file(path)
    sep = sep or ("\t" if path.suffix.lower() in (".tsv", ".tab") else ",")
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: cannot parse the table ({error})") from error
    if frame.empty:
        raise DatasetError(f"{path}: a header but no rows; add one row per clip")
    return frame


def read_clip_list(
    path: str | os.PathLike, *, root: str | os.PathLike | None = None
) -> pd.DataFrame:
    """A CSV (or ``.tsv``) with a ``path`` column, the part of a manifest ``audioconv predict``
    reads as well as training: every cell a string (``NA`` stays ``NA``), the header's names
    stripped and lower-cased, relative paths resolved from ``root`` (default: the table's folder)
    and kept inside it, absolute paths taken as given.

    Raises:
        DatasetError: empty / binary / unparsable file, no ``path`` column, an empty path cell or
            a path leaving ``root``; the message names the line of the file.
    """
    path = Path(path)
    frame = read_table(path)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "path" not in frame.columns:
        raise DatasetError(
            f"{path}: a manifest needs a 'path' column (found {list(frame.columns)}); to train "
            "on it also 'label' (or 'tags' for multi-label), optionally 'group', 'split', 'fold'"
        )
    _check_filled(frame, path, ["path"])
    base = Path(os.path.abspath(root if root is not None else path.parent))
    # lexical, so a symlink inside the folder may point anywhere; ``..`` may not leave it
    resolved = [Path(os.path.normpath(base / p.strip())) for p in frame["path"]]
    for row, file in enumerate(resolved):
        if not Path(frame["path"].iloc[row].strip()).is_absolute() and not file.is_relative_to(
            base
        ):
            raise DatasetError(
                f"{path}: line {row + 2}: {frame['path'].iloc[row]!r} leaves the dataset folder "
                f"{base}; keep the clips inside it and give paths relative to it"
            )
    frame["path"] = [str(file) for file in resolved]
    return frame


def _check_filled(frame: pd.DataFrame, path: Path, columns: list[str]) -> None:
    """An empty cell in ``columns`` is a DatasetError naming its line."""
    for column in columns:
        empty = frame[column].str.strip() == ""
        if empty.any():
            raise DatasetError(
                f"{path}: line {frame.index[empty][0] + 2} has an empty {column!r} cell "
                f"({int(empty.sum())} such row(s)); fill it in or delete the row"
            )


def read_manifest(
    path: str | os.PathLike, *, root: str | os.PathLike | None = None
) -> pd.DataFrame:
    """A manifest you wrote: :func:`read_clip_list` (``path``, resolved from ``root``) with
    ``label`` (or ``tags`` joined by ``;`` for multi-label), optional ``group`` (speaker /
    recording), ``split`` (train / val / test) and ``fold`` (int).

    Raises:
        DatasetError: empty / binary / unparsable file, a missing column, an empty path or label
            cell, a path leaving ``root``, or a path listed twice (it would sit in two splits);
            the message names the line of the file.
    """
    path = Path(path)
    frame = read_clip_list(path, root=root)
    if not {"label", "tags"} & set(frame.columns):
        raise DatasetError(
            f"{path}: columns {list(frame.columns)}; a manifest needs 'path' and 'label' (or "
            "'tags' for multi-label), optionally 'group', 'split', 'fold'"
        )
    target = "label" if "label" in frame.columns else "tags"
    line = frame.index + 2  # the header is line 1
    _check_filled(frame, path, [target, *(c for c in ("group", "split", "fold") if c in frame)])
    keys = ["path"] + [c for c in ("offset", "duration") if c in frame.columns]
    repeated = frame.duplicated(keys, keep=False)
    if repeated.any():
        first = frame.loc[repeated, "path"].iloc[0]
        rows = line[(frame["path"] == first).to_numpy()].tolist()
        raise DatasetError(
            f"{path}: {first} is listed on lines {rows} ({int(repeated.sum())} repeated rows in "
            "all); a clip listed twice can land in both training and test: keep one row per clip"
        )
    if target == "tags":
        frame["tags"] = [split_tags(value) for value in frame["tags"]]
    else:
        frame["label"] = frame["label"].str.strip()
    if "fold" in frame.columns:
        try:
            frame["fold"] = frame["fold"].astype(int)
        except ValueError as error:
            raise DatasetError(f"{path}: the 'fold' column must hold integers ({error})") from None
    for column in ("offset", "duration"):
        if column in frame.columns:
            frame[column] = pd.to_numeric(frame[column].replace("", None))
    return frame
