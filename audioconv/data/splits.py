"""Train / val / test splits: stratified, group-aware (no speaker / recording / stream in two
splits), or the dataset's own folds and lists.

Splits are arrays of the strings ``"train"``, ``"val"``, ``"test"``, one per example.

>>> import numpy as np
>>> labels = np.repeat([0, 1], 20)
>>> groups = np.repeat(np.arange(10), 4)          # 10 speakers, 4 clips each
>>> split = assign_splits(labels, groups=groups, val_size=0.2, test_size=0.2, seed=0)
>>> sorted(set(split.tolist()))
['test', 'train', 'val']
>>> any(set(split[groups == g]) != {split[groups == g][0]} for g in range(10))  # no group leaks
False
>>> folds_to_splits(np.array([1, 2, 3, 4, 5]), test_fold=5, val_fold=4).tolist()
['train', 'train', 'train', 'val', 'test']
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    GroupShuffleSplit,
    ShuffleSplit,
    StratifiedGroupKFold,
    StratifiedShuffleSplit,
)

from audioconv.errors import ConfigError, DatasetError

__all__ = [
    "SPLITS",
    "assign_splits",
    "folds_to_splits",
    "pin_splits",
    "resolve_splits",
    "segment_keys",
]

SPLITS = ("train", "val", "test")


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ConfigError(f"{name}={value!r} must be a fraction in [0, 1)")


def _holdout(
    labels: np.ndarray, groups: np.ndarray | None, size: float, seed: int, stratify: bool
) -> np.ndarray:
    """Boolean mask of a held-out part of about ``size`` of the examples."""
    n = len(labels)
    mask = np.zeros(n, dtype=bool)
    if size == 0 or n == 0:
        return mask
    can_stratify = stratify and labels.ndim == 1
    if groups is not None:
        n_groups = len(np.unique(groups))
        n_splits = max(2, round(1 / size))
        if n_groups < 2:
            raise ConfigError(
                f"only {n_groups} group(s): a group-aware split needs at least 2; "
                "pass groups=None or add groups"
            )
        smallest = np.unique(labels, return_counts=True)[1].min() if can_stratify else 0
        if can_stratify and n_groups >= n_splits and smallest >= n_splits:
            splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
            with warnings.catch_warnings():  # rare classes: balanced as far as groups allow
                warnings.filterwarnings("ignore", "The least populated class", UserWarning)
                _, held = next(splitter.split(np.zeros(n), labels, groups))
        else:
            splitter = GroupShuffleSplit(n_splits=1, test_size=size, random_state=seed)
            _, held = next(splitter.split(np.zeros(n), groups=groups))
    else:
        pool, n_classes = np.arange(n), 0
        if can_stratify:  # a class of one example stays in training; the others are stratified
            classes, counts = np.unique(labels, return_counts=True)
            pool = np.flatnonzero(np.isin(labels, classes[counts >= 2]))
            n_classes = int((counts >= 2).sum())
        if n_classes and round(size * len(pool)) >= n_classes:
            splitter = StratifiedShuffleSplit(n_splits=1, test_size=size, random_state=seed)
        else:
            pool, splitter = np.arange(n), ShuffleSplit(1, test_size=size, random_state=seed)
        _, held = next(splitter.split(np.zeros(len(pool)), labels[pool]))
        held = pool[held]
    mask[held] = True
    return mask


def _warn_unmeasured(labels: np.ndarray, split: np.ndarray) -> None:
    """Warn of classes that the val or test split (when it exists) holds no example of: their
    results are never measured there (a class of one clip, or too small a held-out part)."""
    for name in ("val", "test"):
        if not (split == name).any():
            continue
        missing = sorted(set(labels[split != name].tolist()) - set(labels[split == name].tolist()))
        if missing:
            named = ", ".join(f"{c!r} ({int((labels == c).sum())} in all)" for c in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            warnings.warn(
                f"{len(missing)} class(es) have no {name} example, so {name} results never "
                f"measure them: {named}{more}; add examples of them, or a larger "
                f"--{name}-size",
                UserWarning,
                stacklevel=4,
            )


def assign_splits(
    labels: Sequence | np.ndarray,
    *,
    groups: Sequence | np.ndarray | None = None,
    val_size: float = 0.1,
    test_size: float = 0.1,
    seed: int = 0,
    stratify: bool = True,
) -> np.ndarray:
    """Assign each example to ``"train"`` / ``"val"`` / ``"test"``.

    ``labels``: ``(n,)`` class labels (stratified) or ``(n, k)`` multi-hot (not stratified).
    ``groups``: ``(n,)`` speaker / recording / stream ids; every group lands in exactly one split
    (scikit-learn's ``StratifiedGroupKFold``, which also balances classes as far as the groups
    allow; the held-out size is ``1 / round(1 / size)`` of the groups, so ``test_size=0.15`` holds
    out a seventh). Without groups: ``StratifiedShuffleSplit``. ``val_size`` and ``test_size`` are
    fractions of the whole set.
    """
    _check_fraction("val_size", val_size)
    _check_fraction("test_size", test_size)
    if val_size + test_size >= 1:
        raise ConfigError(f"val_size + test_size = {val_size + test_size} leaves no training data")
    labels = np.asarray(labels)
    groups = None if groups is None else np.asarray(groups)
    if groups is not None and len(groups) != len(labels):
        raise ConfigError(f"groups has {len(groups)} entries but labels has {len(labels)}")
    split = np.full(len(labels), "train", dtype=object)
    test = _holdout(labels, groups, test_size, seed, stratify)
    split[test] = "test"
    rest = np.flatnonzero(~test)
    if val_size > 0 and len(rest):
        val = _holdout(
            labels[rest],
            None if groups is None else groups[rest],
            min(val_size / (1 - test_size), 0.99),
            seed + 1,
            stratify,
        )
        split[rest[val]] = "val"
    return split.astype(str)


def folds_to_splits(
    folds: Sequence[int] | np.ndarray, *, test_fold: int, val_fold: int | None = None
) -> np.ndarray:
    """Predefined folds (e.g. ESC-50's 5) -> splits: ``test_fold`` is test, ``val_fold`` (if any)
    val, the rest train."""
    folds = np.asarray(folds)
    present = set(folds.tolist())
    for name, fold in (("test_fold", test_fold), ("val_fold", val_fold)):
        if fold is not None and fold not in present:
            raise ConfigError(f"{name}={fold!r} is not one of the folds {sorted(present)}")
    if val_fold is not None and val_fold == test_fold:
        raise ConfigError(f"val_fold and test_fold are both {test_fold}; pick two different folds")
    split = np.full(len(folds), "train", dtype=object)
    split[folds == test_fold] = "test"
    if val_fold is not None:
        split[folds == val_fold] = "val"
    return split.astype(str)


def resolve_splits(
    manifest: pd.DataFrame,
    labels: np.ndarray,
    *,
    split: str = "auto",
    val_size: float = 0.1,
    test_size: float = 0.1,
    test_fold: int | None = None,
    val_fold: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """The split of every manifest row, following ``split``:

    - ``"predefined"``: the manifest's ``split`` column; when it has no ``val`` rows, ``val_size``
      (of the whole set) is carved out of train, group-aware when there is a ``group`` column,
    - ``"folds"``: the ``fold`` column with ``test_fold`` / ``val_fold`` (without ``val_fold``, val
      is carved out of the training folds as above),
    - ``"random"``: :func:`assign_splits`, group-aware when there is a ``group`` column,
    - ``"auto"``: ``"folds"`` if ``test_fold`` is given, else ``"predefined"`` if there is a
      ``split`` column, else ``"random"``.
    """
    if split not in ("auto", "predefined", "folds", "random"):
        raise ConfigError(f"split={split!r}: use 'auto', 'predefined', 'folds' or 'random'")
    groups = manifest["group"].to_numpy() if "group" in manifest else None
    if split == "auto":
        split = (
            "folds"
            if test_fold is not None
            else ("predefined" if "split" in manifest else "random")
        )
    if split == "random":
        result = assign_splits(
            labels, groups=groups, val_size=val_size, test_size=test_size, seed=seed
        )
    elif split == "folds":
        if "fold" not in manifest or test_fold is None:
            raise ConfigError("split='folds' needs a 'fold' column and test_fold=<fold>")
        result = folds_to_splits(
            manifest["fold"].to_numpy(), test_fold=test_fold, val_fold=val_fold
        )
    else:
        if "split" not in manifest:
            raise ConfigError("split='predefined' needs a 'split' column in the manifest")
        result = manifest["split"].astype(str).str.lower().replace({"validation": "val"}).to_numpy()
        unknown = sorted(set(result) - set(SPLITS))
        if unknown:
            raise DatasetError(f"the split column holds {unknown}; use train / val / test")
    if split != "random" and "val" not in result and val_size > 0:
        train = np.flatnonzero(result == "train")
        val = _holdout(
            labels[train],
            None if groups is None else groups[train],
            min(val_size * len(result) / max(len(train), 1), 0.99),
            seed,
            True,
        )
        result = result.astype(object)
        result[train[val]] = "val"
    result = np.asarray(result).astype(str)
    if labels.ndim == 1 and "label" in manifest:
        _warn_unmeasured(manifest["label"].astype(str).to_numpy(), result)
    return result


def segment_keys(frame: pd.DataFrame) -> list[str]:
    """Per row of a manifest or ``splits.csv`` table, where in its file the clip lies:
    ``"@offset+duration"`` (seconds) for a segment, ``""`` for a whole file (or a table without
    ``offset``); text and float cells give the same key."""

    def seconds(value) -> str:
        return "" if value is None or str(value) in ("", "nan") else f"{float(value):g}"

    if "offset" not in frame.columns:
        return [""] * len(frame)
    durations = frame["duration"] if "duration" in frame.columns else [""] * len(frame)
    starts = [seconds(offset) for offset in frame["offset"]]
    return [f"@{a}+{seconds(d)}" if a else "" for a, d in zip(starts, durations)]


def pin_splits(
    manifest: pd.DataFrame,
    split_file,
    *,
    root=None,
    skipped: Sequence[str] = (),
) -> pd.DataFrame:
    """``manifest`` with its ``split`` column read from ``split_file``: a CSV with ``path`` and
    ``split`` (train / val / test) for every clip, e.g. the ``splits.csv`` a run writes. Relative
    paths resolve from ``root``. Paths in ``skipped`` (bad files left out) may be listed. Clips
    that are segments of a file (``offset`` / ``duration`` columns in both) are told apart by them.

    Raises:
        DatasetError: a clip is not listed, a listed clip is not in the dataset, a path is listed
            twice, or a split name is unknown (the message names them and the file).
    """
    from pathlib import Path

    path = Path(split_file)
    if not path.is_file():
        raise DatasetError(f"{path}: no such split file; pass a CSV with path,split columns")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: cannot read the split file ({error})") from None
    if not {"path", "split"} <= set(table.columns):
        raise DatasetError(f"{path}: needs 'path' and 'split' columns, has {list(table.columns)}")
    base = Path(root) if root is not None else path.parent
    segments = "offset" in table.columns and "offset" in manifest.columns

    def keys(frame: pd.DataFrame, paths: list[str]) -> list[str]:
        """A clip's identity: its file, and where in it for a segment (``path@offset+duration``)."""
        if not segments:
            return paths
        return [f"{p}{c}" for p, c in zip(paths, segment_keys(frame))]

    files = keys(table, [str((base / p).resolve()) for p in table["path"]])
    splits = table["split"].str.lower().replace({"validation": "val"})
    unknown = sorted(set(splits) - set(SPLITS))
    if unknown:
        raise DatasetError(f"{path}: split names {unknown}; use train / val / test")
    twice = pd.Series(files)[pd.Series(files).duplicated()].tolist()
    if twice:
        raise DatasetError(f"{path}: {len(twice)} path(s) listed twice, e.g. {twice[:3]}")
    pinned = dict(zip(files, splits))
    clips = keys(manifest, [str(Path(p).resolve()) for p in manifest["path"]])
    unlisted = [c for c in clips if c not in pinned]
    if unlisted:
        raise DatasetError(
            f"{path}: {len(unlisted)} clip(s) of the dataset are not listed, e.g. {unlisted[:3]}; "
            "list every clip (or drop --split-file to split anew)"
        )
    gone = set(pinned) - set(clips) - {str(Path(p).resolve()) for p in skipped}
    if gone:
        raise DatasetError(
            f"{path}: {len(gone)} listed clip(s) are not in the dataset, e.g. {sorted(gone)[:3]}; "
            "the split file belongs to another dataset folder"
        )
    out = manifest.copy()
    out["split"] = [pinned[c] for c in clips]
    return out
