"""Leakage-safe splits of many streams: whole streams or a time cut with a gap."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from audioconv.errors import ConfigError
from audioconv.windows._common import _as_streams, _check_choice, renamed_keyword


@dataclass(frozen=True)
class StreamSplit:
    """Train / validation / test streams from :func:`split_streams`.

    ``train``, ``val``, ``test`` are lists of ``(time, channels)`` arrays (views of the input
    streams); ``*_labels`` the matching labels (or ``None``); ``*_spans`` where each piece came
    from as ``(stream index, start, stop)`` in the input streams.
    """

    train: list[np.ndarray]
    val: list[np.ndarray]
    test: list[np.ndarray]
    train_labels: list | None = None
    val_labels: list | None = None
    test_labels: list | None = None
    train_spans: list[tuple[int, int, int]] = field(default_factory=list)
    val_spans: list[tuple[int, int, int]] = field(default_factory=list)
    test_spans: list[tuple[int, int, int]] = field(default_factory=list)


def split_streams(
    streams,
    labels=None,
    *,
    val_size: float = 0.15,
    test_size: float = 0.15,
    by: Literal["stream", "time"] = "stream",
    gap: int | None = None,
    seed: int = 0,
    val: float | None = None,
    test: float | None = None,
) -> StreamSplit:
    """Split streams into train / val / test without letting overlapping windows leak.

    Never splits shuffled windows (overlapping windows share samples, so neighbours would land in
    different splits). Instead:

    - ``by="stream"``: whole streams (recordings, subjects, machines) go to one split each,
      shuffled with ``seed``; each split asked for (``val`` / ``test`` > 0) gets >= 1 stream.
    - ``by="time"``: every stream is cut in time into ``[train | gap | val | gap | test]`` (the
      future is never used for training); ``gap`` samples are dropped between blocks. Pass
      ``gap=window`` (the window length): a window then never sits within a window length of a
      window in another split. ``seed`` is unused (the split is deterministic).

    Args:
        streams, labels: as for :class:`WindowDataset` (list of arrays, or a DataFrame with a
            ``stream_id`` column and a label column name).
        val_size, test_size: fractions of streams (``by="stream"``) or of each stream's samples
            (``"time"``), the names ``data.splits.assign_splits`` and the DataModules use.
        val, test: deprecated names of ``val_size`` / ``test_size`` (a ``DeprecationWarning``).

    >>> streams = [np.zeros((100, 2)) for _ in range(3)]
    >>> split = split_streams(streams, by="time", val_size=0.2, test_size=0.2, gap=8)
    >>> split.train_spans[0], split.val_spans[0], split.test_spans[0]
    ((0, 0, 50), (0, 58, 75), (0, 83, 100))
    """
    val = renamed_keyword("split_streams", "val", val, "val_size", val_size)
    test = renamed_keyword("split_streams", "test", test, "test_size", test_size)
    _check_choice("by", by, ("stream", "time"))
    for name, fraction in (("val_size", val), ("test_size", test)):
        if not 0 <= fraction < 1:
            raise ConfigError(f"{name}={fraction!r} must be a fraction in [0, 1)")
    if val + test >= 1:
        raise ConfigError(
            f"val_size + test_size = {val + test} leaves no training data: keep it below 1"
        )
    arrays, labels = _as_streams(streams, labels)
    if by == "stream":
        if gap is not None:
            raise ConfigError("gap only applies to by='time'; whole-stream splits need no gap")
        spans = _split_by_stream(arrays, val, test, seed)
    else:
        if gap is None:
            raise ConfigError("by='time' needs gap: pass gap=window (the window length)")
        if operator.index(gap) < 0:
            raise ConfigError(f"gap={gap} must be >= 0 samples")
        spans = _split_by_time(arrays, val, test, operator.index(gap))
    parts: dict[str, Any] = {}
    for name, part in zip(("train", "val", "test"), spans):
        parts[name] = [arrays[i][a:b] for i, a, b in part]
        parts[f"{name}_spans"] = part
        if labels is not None:
            parts[f"{name}_labels"] = [
                labels[i] if np.ndim(labels[i]) == 0 else labels[i][a:b] for i, a, b in part
            ]
    return StreamSplit(**parts)


def _split_by_stream(arrays, val: float, test: float, seed: int):
    n = len(arrays)
    n_test = max(round(test * n), int(test > 0))
    n_val = max(round(val * n), int(val > 0))
    if n - n_val - n_test < 1:
        raise ConfigError(
            f"{n} stream(s) cannot fill train, val={val} and test={test} with at least one stream "
            "each: add streams, lower val / test, or split by='time'"
        )
    order = np.random.default_rng(seed).permutation(n)
    pieces = np.split(order, [n - n_val - n_test, n - n_test])
    return [[(int(i), 0, len(arrays[i])) for i in sorted(part)] for part in pieces]


def _split_by_time(arrays, val: float, test: float, gap: int):
    train, val_part, test_part = [], [], []
    n_gaps = int(val > 0) + int(test > 0)
    for i, array in enumerate(arrays):
        usable = len(array) - n_gaps * gap
        n_val, n_test = round(val * usable), round(test * usable)
        if (
            usable <= 0
            or usable - n_val - n_test < 1
            or (val and not n_val)
            or (test and not n_test)
        ):
            raise ConfigError(
                f"stream {i} has {len(array)} samples: too short for val={val}, test={test} and "
                f"gap={gap} between blocks; lower gap, or split by='stream'"
            )
        end_train = usable - n_val - n_test
        train.append((i, 0, end_train))
        start = end_train
        if n_val:
            val_part.append((i, start + gap, start + gap + n_val))
            start += gap + n_val
        if n_test:
            test_part.append((i, start + gap, start + gap + n_test))
    return train, val_part, test_part
