"""UCR / UEA time-series classification data (``.ts``, UCR 2018 ``.tsv``) through aeon, offline.

``load_ucr(name)`` reads a problem's TRAIN and TEST files: the ones aeon ships inside its package
(``bundled_ucr()``: GunPoint, ArrowHead, ItalyPowerDemand, BasicMotions, JapaneseVowels, ...), or
``<extract_path>/<name>/<name>_TRAIN.ts`` (or the UCR 2018 archive's ``.tsv``) from a downloaded
archive. ``load_ts(path)`` reads any single ``.ts`` / ``.tsv`` file. Nothing is downloaded.

Series come out as ``(n, channels, time)`` float32. Unequal-length problems (e.g. JapaneseVowels)
are made equal by ``unequal="pad"`` (zeros after the end) or ``unequal="resample"`` (linear
interpolation of each series to the longest length, :func:`audioconv.contract.stretch`, the rule
the input contract replays at prediction); ``dataset.lengths`` keeps each true length.
Missing values (NaN) are an error unless ``nan="zero"`` (read as 0,
:func:`audioconv.contract.fill_missing`, as the input contract's ``nan`` does at prediction).

>>> train, test = load_ucr("GunPoint")
>>> train.x.shape, test.x.shape, train.class_names
(torch.Size([50, 1, 150]), torch.Size([150, 1, 150]), ['1', '2'])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from audioconv.constants import MISSING, UNEQUAL
from audioconv.data.base import ArrayDataset
from audioconv.errors import ConfigError, DatasetError

__all__ = [
    "aeon_data_dir",
    "bundled_ucr",
    "load_train_test",
    "load_ts",
    "load_ucr",
    "read_series",
    "read_ts",
    "read_tsv",
]


def aeon_data_dir() -> Path:
    """The folder of data sets shipped inside the installed aeon package."""
    try:
        import aeon.datasets
    except ImportError as error:
        raise DatasetError(
            "aeon is not installed: `pip install aeon`, or pass a .ts path"
        ) from error
    return Path(aeon.datasets.__file__).parent / "data"


def bundled_ucr() -> list[str]:
    """Names of the classification problems aeon ships (TRAIN and TEST ``.ts`` files with
    ``@classLabel true``)."""
    root = aeon_data_dir()
    return sorted(
        p.name for p in root.iterdir()
        if (p / f"{p.name}_TEST.ts").is_file() and _has_class_labels(p / f"{p.name}_TRAIN.ts")
    )  # fmt: skip


def _has_class_labels(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.lower().startswith("@classlabel"):
                return line.split()[1].lower() == "true"
            if line.lower().startswith("@data"):
                break
    return False


def _equalise(
    series: list[np.ndarray], length: int, unequal: str
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """List of ``(channels, len_i)`` -> ``(n, channels, length)`` and the true lengths (``None``
    when all are ``length``)."""
    from audioconv.contract import stretch

    lengths = torch.tensor([s.shape[-1] for s in series])
    if bool((lengths == length).all()):
        return torch.as_tensor(np.stack(series), dtype=torch.float32), None
    if unequal == "pad":
        out = torch.zeros(len(series), series[0].shape[0], length)
        for i, s in enumerate(series):
            out[i, :, : s.shape[-1]] = torch.as_tensor(s, dtype=torch.float32)
        return out, lengths
    out = torch.stack([stretch(torch.as_tensor(s, dtype=torch.float32), length) for s in series])
    return out, lengths


def _to_dataset(
    x, y, class_names: Sequence[str], length: int, unequal: str, nan: str, source: str
) -> ArrayDataset:
    from audioconv.contract import fill_missing

    series = [np.asarray(s, dtype=np.float64) for s in x]
    if any(np.isnan(s).any() for s in series):
        if nan != "zero":
            raise DatasetError(
                f"{source}: the series hold missing values (NaN); pass nan='zero' (the ucr "
                "recipe: --nan zero) to read them as 0"
            )
        series = [fill_missing(s) for s in series]
    if any(np.isinf(s).any() for s in series):
        raise DatasetError(f"{source}: the series hold infinite values: clean the file")
    index = {name: i for i, name in enumerate(class_names)}
    unknown = sorted(set(map(str, y)) - set(index))
    if unknown:
        raise DatasetError(f"{source}: labels {unknown} are not in the class list {class_names}")
    data, lengths = _equalise(series, length, unequal)
    labels = torch.tensor([index[str(v)] for v in y], dtype=torch.int64)
    return ArrayDataset(data, labels, class_names=class_names, lengths=lengths)


def _check_options(unequal: str, nan: str) -> None:
    if unequal not in UNEQUAL:
        raise ConfigError(f"unequal={unequal!r}: use 'pad' or 'resample'")
    if nan not in MISSING:
        raise ConfigError(f"nan={nan!r}: use 'raise' or 'zero'")


def read_ts(
    path: str | os.PathLike, *, labels: bool = True
) -> tuple[list[np.ndarray], list[str] | None, list[str] | None]:
    """The series of one ``.ts`` file as they are: ``(channels, length_i)`` float64 arrays, their
    labels and the file's class list (``@classLabel``). ``labels=False`` also reads a file
    without labels (then both are ``None``)."""
    from aeon.datasets import load_from_ts_file

    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such .ts file")
    try:
        x, y, meta = load_from_ts_file(str(path), return_meta_data=True)
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path}: cannot parse the .ts file ({error})") from error
    series = [np.asarray(s, dtype=np.float64) for s in x]
    if not series:
        raise DatasetError(
            f"{path}: no series after @data (an empty file, or its header alone); a .ts file "
            "holds one series per line after @data"
        )
    if y is None or len(y) == 0 or not meta.get("classlabel", True):
        if labels:
            raise DatasetError(f"{path}: the file has no class labels (@classLabel false)")
        return series, None, None
    return (
        series,
        [str(v) for v in y],
        [str(c) for c in meta.get("class_values") or sorted(set(y))],
    )


def read_tsv(path: str | os.PathLike) -> tuple[list[np.ndarray], list[str], list[str]]:
    """The series of one UCR 2018 archive ``.tsv`` file (each row the class, then the values,
    tab-separated): ``(1, length_i)`` float64 arrays, their labels and the classes (sorted, as
    numbers when they are). The archive pads shorter series with NaN at the end: that padding is
    cut off, so each series keeps its true length; a NaN inside a series is a missing value."""
    import pandas as pd
    from aeon.datasets import load_from_tsv_file

    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such .tsv file")
    try:
        x, y = load_from_tsv_file(str(path))
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise DatasetError(f"{path}: cannot parse the .tsv file ({error})") from error
    if not np.issubdtype(x.dtype, np.number):
        raise DatasetError(
            f"{path}: non-numeric values; a UCR .tsv row is the class, then the series' values, "
            "separated by tabs"
        )
    series = []
    for row, values in enumerate(x[:, 0, :].astype(np.float64), start=1):
        present = np.flatnonzero(~np.isnan(values))
        if len(present) == 0:
            raise DatasetError(f"{path}: row {row} holds no values")
        series.append(values[None, : present[-1] + 1])  # (1, true length)
    labels = [str(v) for v in y]
    try:
        names = sorted(set(labels), key=float)
    except ValueError:
        names = sorted(set(labels))
    return series, labels, names


def read_series(
    path: str | os.PathLike, *, labels: bool = True
) -> tuple[list[np.ndarray], list[str] | None, list[str] | None]:
    """A UCR 2018 ``.tsv`` file (:func:`read_tsv`, always labelled) or else a ``.ts`` file
    (:func:`read_ts`), by suffix: series, labels, class names."""
    path = Path(path)
    return read_tsv(path) if path.suffix.lower() == ".tsv" else read_ts(path, labels=labels)


def load_ts(
    path: str | os.PathLike,
    *,
    class_names: Sequence[str] | None = None,
    length: int | None = None,
    unequal: str = "pad",
    nan: str = "raise",
) -> ArrayDataset:
    """One ``.ts`` (or UCR 2018 ``.tsv``) file -> an :class:`ArrayDataset` ``(n, channels,
    time)``. ``length`` fixes the common length (default: the longest series); ``class_names`` the
    class order (default: the file's ``@classLabel`` list)."""
    _check_options(unequal, nan)
    x, y, names = read_series(path)
    longest = max(s.shape[-1] for s in x)
    if length is not None and length < longest and unequal == "pad":
        raise ConfigError(
            f"{path}: a series of {longest} samples, longer than length={length} (the padded "
            "length): pass the longest length, or unequal='resample' to stretch every series to "
            "one length (the ucr recipe: --unequal resample)"
        )
    return _to_dataset(x, y, list(class_names or names), length or longest, unequal, nan, str(path))


def load_ucr(
    name: str,
    *,
    extract_path: str | os.PathLike | None = None,
    unequal: str = "pad",
    nan: str = "raise",
) -> tuple[ArrayDataset, ArrayDataset]:
    """TRAIN and TEST splits of the UCR / UEA problem ``name``, sharing class order and length.

    Looks in ``extract_path`` when given — ``<extract_path>/<name>/<name>_TRAIN.ts`` (the
    timeseriesclassification.com archives), else ``<name>_TRAIN.tsv`` (the UCR 2018 archive as
    it unzips) — or else in the data aeon ships (:func:`bundled_ucr`).
    """
    _check_options(unequal, nan)
    root = Path(extract_path) if extract_path is not None else aeon_data_dir()
    candidates = [[root / name / f"{name}_{part}{suffix}" for part in ("TRAIN", "TEST")]
                  for suffix in (".ts", ".tsv")]  # fmt: skip
    files = next((pair for pair in candidates if all(f.is_file() for f in pair)), candidates[0])
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        hint = f"aeon ships only {', '.join(bundled_ucr())}; " if extract_path is None else ""
        raise DatasetError(
            f"UCR / UEA problem {name!r} not found ({', '.join(missing)} missing, nor .tsv "
            f"files). {hint}download the archive from https://timeseriesclassification.com (or "
            f"the UCR 2018 archive) and pass the folder holding {name}/ (the ucr recipe: "
            f"--data-dir; Python: extract_path=), or give the file itself (--dataset "
            f"{name}_TRAIN.ts; Python: load_ts(path))"
        )
    return load_train_test(*files, unequal=unequal, nan=nan)


def load_train_test(
    train: str | os.PathLike,
    test: str | os.PathLike,
    *,
    unequal: str = "pad",
    nan: str = "raise",
) -> tuple[ArrayDataset, ArrayDataset]:
    """A TRAIN and a TEST ``.ts`` / ``.tsv`` file -> two :class:`ArrayDataset` sharing TRAIN's
    class order and one length, the longest series of both files."""
    _check_options(unequal, nan)
    (x_train, y_train, names), (x_test, y_test, _) = (read_series(f) for f in (train, test))
    length = max(s.shape[-1] for s in [*x_train, *x_test])
    return (
        _to_dataset(x_train, y_train, names, length, unequal, nan, str(train)),
        _to_dataset(x_test, y_test, names, length, unequal, nan, str(test)),
    )
