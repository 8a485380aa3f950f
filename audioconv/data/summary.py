"""What a run is about to train on, said before training: clips, seconds and groups per split
and class, the model's size and input, the run folder; and the bad files it left out.

>>> import pandas as pd
>>> table = pd.DataFrame({"split": ["train", "train", "test"], "label": ["a", "b", "a"],
...                       "group": ["s1", "s2", "s3"], "seconds": [1.0, 2.0, 1.5]})
>>> wide_table(table).loc[["all"]].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
[{('train', 'clips'): 2, ('train', 'seconds'): 3.0, ('train', 'groups'): 2,
 ('test', 'clips'): 1, ('test', 'seconds'): 1.5, ('test', 'groups'): 1}]
>>> print(split_table(table).reset_index().to_string(index=False))
split class  clips  seconds  groups
train     a      1      1.0       1
train     b      1      2.0       1
train   all      2      3.0       2
 test     a      1      1.5       1
 test   all      1      1.5       1
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from audioconv._atomic import atomic_path
from audioconv._walk import NOT_READ

__all__ = [
    "describe_run", "not_read", "not_read_note", "split_table", "wide_table", "write_skipped",
]  # fmt: skip

_ORDER = {"train": 0, "val": 1, "test": 2}


def split_table(table: pd.DataFrame) -> pd.DataFrame:
    """Rows ``(split, class)`` plus ``(split, "all")``; columns ``clips``, ``seconds`` (when
    ``table`` has them) and ``groups`` (when it has a ``group`` column). ``table`` has one row per
    clip: ``split`` and ``label`` (or ``tags``: a clip counts once under each of its tags, and
    once in ``"all"``; with neither, only the ``"all"`` rows)."""
    clips = table.copy()
    if not {"label", "tags"} & set(clips.columns):
        clips["label"] = None
    per_tag = clips  # one row per (clip, class)
    if "label" not in clips.columns:
        per_tag = clips.explode("tags").rename(columns={"tags": "label"})
    columns = {"clips": ("split", "size")}
    if "seconds" in clips.columns:
        columns["seconds"] = ("seconds", "sum")
    if "group" in clips.columns:
        columns["groups"] = ("group", "nunique")
    parts = []
    for split, rows in sorted(clips.groupby("split"), key=lambda item: _ORDER.get(item[0], 3)):
        tagged = per_tag[per_tag["split"] == split]
        tagged = tagged[tagged["label"].notna()]  # a clip without tags is in "all" only
        per_class = tagged.groupby(tagged["label"].astype(str)).agg(**columns)
        total = rows.agg(dict(columns.values())).to_frame().T
        total.columns, total.index = list(columns), ["all"]
        parts.append(pd.concat([per_class, total]).assign(split=split))
    out = pd.concat(parts)
    out.index.name = "class"
    out = out.reset_index().set_index(["split", "class"])
    if "seconds" in out.columns:
        out["seconds"] = out["seconds"].astype(float).round(1)
    return out.astype({c: int for c in out.columns if c != "seconds"})


def wide_table(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`split_table` with one row per class (``"all"`` last) and the splits side by side:
    columns ``(split, clips / seconds / groups)``."""
    long = split_table(table)
    wide = long.unstack("split").swaplevel(axis=1).fillna(0)
    splits = [s for s in (*_ORDER, *wide.columns.get_level_values(0)) if s in wide.columns]
    wide = wide[[(s, metric) for s in dict.fromkeys(splits) for metric in long.columns]]
    wide = wide.loc[[name for name in wide.index if name != "all"] + ["all"]]
    return wide.astype({c: int for c in wide.columns if c[1] != "seconds"})


def describe_run(
    table: pd.DataFrame | None,
    *,
    model_name: str,
    parameters: int,
    input_shape: tuple[int, ...],
    input_kind: str,
    output_dir: str | os.PathLike,
    skipped: pd.DataFrame | None = None,
) -> str:
    """The text printed before training (``table``: one row per sample, see
    :func:`split_table`; samples are counted as clips, windows, series or images; ``skipped``:
    ``path``, ``reason`` of the files left out)."""
    lines = ["== before training"]
    if table is not None and len(table):
        unit = {"image": "images", "sensor": "series"}.get(input_kind, "clips")
        unit = "windows" if "start_sample" in table.columns else unit
        lines.append(wide_table(table).rename(columns={"clips": unit}, level=1).to_string())
    ignored = not_read(skipped)
    if bad := (0 if skipped is None else len(skipped) - int(ignored.sum())):
        lines.append(f"skipped {bad} bad file(s) (on_error='skip'): see skipped.csv")
    if ignored.any():
        lines.append(not_read_note(skipped))
    lines.append(
        f"model: {model_name}, {parameters:,} parameters, input {tuple(input_shape)} "
        f"({input_kind}, without the batch axis)"
    )
    lines.append(f"run folder: {Path(output_dir).resolve()}")
    return "\n".join(lines)


def not_read(skipped: pd.DataFrame | None) -> pd.Series:
    """Which rows of ``skipped`` a folder walk did not read by their suffix (reason ``not read:
    ...``; the others are bad files)."""
    if skipped is None:
        return pd.Series([], dtype=bool)
    return skipped["reason"].astype(str).str.startswith(NOT_READ)


def not_read_note(skipped: pd.DataFrame) -> str:
    """One line on the files of ``skipped`` not read by their suffix, counted per suffix, for
    the summary before training and the report's notes."""
    paths = skipped.loc[not_read(skipped), "path"].map(Path)
    counts = paths.map(lambda p: p.suffix.lower() or "no suffix").value_counts(sort=False)
    per_suffix = ", ".join(f"{suffix} {n}" for suffix, n in counts.items())
    return (
        f"{len(paths)} file(s) not read, not audio by their suffix ({per_suffix}), e.g. "
        f"{paths.iloc[0]}: listed in skipped.csv with the reason (convert audio you meant to use)"
    )


def write_skipped(skipped: pd.DataFrame, output_dir: str | os.PathLike) -> Path:
    """``output_dir/skipped.csv`` (columns ``path``, ``reason``), written atomically."""
    path = Path(output_dir) / "skipped.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        skipped.to_csv(tmp, index=False)
    return path
