"""Zero-copy sliding windows over time series, leakage-safe splits and sensor-log loading.

Window ``k`` of a stream covers the samples ``[k * step, k * step + size)``: the "reformatting data"
layout where a batch is ``batch x size x channels`` and consecutive windows start ``step`` samples
apart. Windows are strided **views** of the stream, so windowing a long recording costs no memory;
a mini-batch copies only its own windows when it is gathered.

The module imports numpy only; torch and pandas are imported when a tensor, a DataFrame or a file
is actually handled, so ``import audioconv.windows`` stays cheap for numpy users.

Seed layout (a stream ``1..17``, ``size=m=5``, ``step=s=3``): rows start at ``1, s+1, 2s+1, ...``

>>> import numpy as np
>>> from audioconv.windows import sliding_windows
>>> stream = np.arange(1, 18)            # the stream 1, 2, ..., 17
>>> w = sliding_windows(stream, 5, 3)    # (n_windows, size) = (5, 5)
>>> w
array([[ 1,  2,  3,  4,  5],
       [ 4,  5,  6,  7,  8],
       [ 7,  8,  9, 10, 11],
       [10, 11, 12, 13, 14],
       [13, 14, 15, 16, 17]])
>>> w[:, 0]                              # window k starts at sample k*s + 1
array([ 1,  4,  7, 10, 13])
>>> np.shares_memory(w, stream)          # a view: nothing was copied
True
"""

from __future__ import annotations

import bisect
import operator
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.lib.stride_tricks import as_strided

from audioconv.errors import ConfigError, SensorDataError, SensorFileNotFoundError
from audioconv.errors import check_positive as _positive_int

if TYPE_CHECKING:
    import pandas as pd
    import torch

__all__ = [
    "SensorLog",
    "Standardizer",
    "StreamSplit",
    "WindowDataset",
    "fit_standardizer",
    "forecast_targets",
    "read_sensor_log",
    "sliding_windows",
    "split_streams",
    "window_labels",
]

LabelReduce = Literal["last", "majority", "center", "any"]
_REDUCES = ("last", "majority", "center", "any")
_NAN_POLICIES = ("raise", "interpolate", "drop")
STREAM_ID = "stream_id"


# --------------------------------------------------------------------------------------------
# validation helpers


def _is_frame(x: object) -> bool:
    """True for a pandas DataFrame, without importing pandas."""
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(x, pd.DataFrame)


def _is_tensor(x: object) -> bool:
    """True for a torch tensor, without importing torch (if torch is not loaded, x is no tensor)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _check_choice(name: str, value: object, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(map(repr, choices))}")


def _window_count(length: int, size: int, step: int, *, pad: bool) -> tuple[int, int]:
    """Number of windows and the samples of padding the last one needs.

    Full windows start at ``k * step`` while ``k * step + size <= length``. With ``pad`` one more
    window starts at the next ``k * step`` if that start lies inside the stream and the stream has
    samples after the end of the last full window; it is filled up to ``size`` with padding.
    """
    n_full = (length - size) // step + 1 if length >= size else 0
    if not pad:
        return n_full, 0
    covered_end = (n_full - 1) * step + size if n_full else 0
    next_start = n_full * step
    if next_start < length and covered_end < length:
        return n_full + 1, next_start + size - length
    return n_full, 0


def _validate_window_args(length: int, size: int, step: int, drop_last: bool, pad_value, where):
    size = _positive_int("size", size)
    step = _positive_int("step", step)
    if length == 0:
        raise ConfigError(f"{where} has 0 samples along the window axis: nothing to window")
    if drop_last and pad_value is not None:
        raise ConfigError(
            f"pad_value={pad_value!r} only applies with drop_last=False: pass drop_last=False to "
            "pad the tail, or drop pad_value"
        )
    if not drop_last and pad_value is None:
        raise ConfigError(
            "drop_last=False needs a pad_value to fill the last window (e.g. pad_value=0.0)"
        )
    if drop_last and size > length:
        raise ConfigError(
            f"size={size} exceeds the {length} samples of {where}: lower size, or pad the tail "
            "with drop_last=False, pad_value=0.0"
        )
    return size, step


# --------------------------------------------------------------------------------------------
# sliding windows


def sliding_windows(
    x: np.ndarray | torch.Tensor,
    size: int,
    step: int,
    *,
    axis: int = 0,
    drop_last: bool = True,
    pad_value: float | None = None,
) -> np.ndarray | torch.Tensor:
    """Windows of ``size`` samples every ``step`` samples along ``axis``, as a view of ``x``.

    Args:
        x: numpy array or torch tensor of shape ``(..., time, ...)`` with time on ``axis``.
            Anything else is passed through ``np.asarray``.
        size: samples per window (``m``), a positive int.
        step: samples between window starts (``s``), a positive int; ``step < size`` overlaps.
        axis: the time axis of ``x``.
        drop_last: drop the incomplete tail (default). With ``drop_last=False`` the tail becomes
            one more window filled up to ``size`` with ``pad_value``.
        pad_value: fill value for the padded last window (required with ``drop_last=False``).

    Returns:
        Shape ``(n_windows, size, *rest)`` where ``rest`` is the shape of ``x`` without ``axis``,
        other axes kept in their order: for ``x`` of shape ``(a, time, b)`` and ``axis=1`` the
        windows are ``(n_windows, size, a, b)``. Window ``k`` is ``x[k*step : k*step + size]``
        along ``axis``; ``n_windows = (time - size) // step + 1`` (plus one padded window).

        Without padding the result is a **view** that shares memory with ``x`` (numpy: a read-only
        strided view, so writes cannot silently change overlapping windows; torch:
        ``Tensor.unfold`` + ``movedim``). With padding a copy is unavoidable: the stream is copied
        once with the padding appended (``time + pad`` samples, not ``n_windows * size``) and the
        windows are a view of that copy.

    Raises:
        ConfigError: ``size`` / ``step`` not positive ints, ``size`` longer than the stream without
            padding, an empty stream, or ``pad_value`` / ``drop_last`` that contradict each other.

    >>> sliding_windows(np.arange(10), 4, 4, drop_last=False, pad_value=-1)
    array([[ 0,  1,  2,  3],
           [ 4,  5,  6,  7],
           [ 8,  9, -1, -1]])
    >>> sliding_windows(np.zeros((2, 9, 3)), 4, 2, axis=1).shape  # (n_windows, size, 2, 3)
    (3, 4, 2, 3)
    """
    tensor = _is_tensor(x)
    if not tensor:
        x = np.asarray(x)
    if x.ndim == 0:
        raise ConfigError("sliding_windows needs an array with a time axis, got a scalar")
    if not -x.ndim <= axis < x.ndim:
        raise ConfigError(f"axis={axis} is out of range for an input with {x.ndim} dimensions")
    axis = axis % x.ndim
    length = x.shape[axis]
    size, step = _validate_window_args(length, size, step, drop_last, pad_value, "the input")
    n_windows, n_pad = _window_count(length, size, step, pad=not drop_last)
    if tensor:
        return _torch_windows(x, size, step, axis, n_pad, pad_value)
    x = np.moveaxis(x, axis, 0)  # (time, *rest), a view
    if n_pad:
        padding = np.full((n_pad, *x.shape[1:]), pad_value, dtype=x.dtype)
        x = np.concatenate([x, padding])  # (time + n_pad, *rest): the one copy padding needs
    stride = x.strides[0]
    # (time, *rest) -> (n_windows, size, *rest), window k starts at sample k * step
    return as_strided(
        x,
        (n_windows, size, *x.shape[1:]),
        (step * stride, stride, *x.strides[1:]),
        writeable=False,
    )


def _torch_windows(x, size: int, step: int, axis: int, n_pad: int, pad_value):
    import torch

    if n_pad:
        shape = list(x.shape)
        shape[axis] = n_pad
        x = torch.cat([x, x.new_full(shape, pad_value)], dim=axis)  # (..., time + n_pad, ...)
    # (..., time, ...) -> (..., n_windows, ..., size) -> (n_windows, size, *rest)
    return x.unfold(axis, size, step).movedim(axis, 0).movedim(-1, 1)


# --------------------------------------------------------------------------------------------
# labels and forecasting targets


def window_labels(
    y: np.ndarray | torch.Tensor,
    size: int,
    step: int,
    *,
    reduce: LabelReduce = "last",
    drop_last: bool = True,
) -> np.ndarray | torch.Tensor:
    """One label per window from per-step labels ``y`` (same windows as :func:`sliding_windows`).

    Args:
        y: per-step labels, shape ``(time,)``; ``reduce="last"|"center"|"any"`` also take
            ``(time, *rest)`` (e.g. multi-hot ``(time, classes)``).
        size, step: the window size and step used for the signal.
        reduce: how a window's ``size`` labels become one:
            ``"last"`` the label of the window's last sample (what a causal / streaming model
            has seen); ``"center"`` the label at offset ``size // 2`` (for even sizes the later
            of the two middle samples); ``"majority"`` the most frequent label, **ties go to the
            smallest label**; ``"any"`` True if any label in the window is non-zero (event
            detection), a bool array.
        drop_last: ``False`` adds the padded tail window of ``sliding_windows(...,
            drop_last=False)``; its label reduces over its real samples only.

    Returns:
        ``(n_windows, *rest)``; a numpy array for numpy input, a tensor for tensor input.
        ``"majority"`` and ``"any"`` run in O(time) (cumulative counts), not O(n_windows * size).

    >>> y = np.array([0, 0, 1, 1, 1, 2, 2, 0])
    >>> window_labels(y, 4, 2, reduce="last"), window_labels(y, 4, 2, reduce="majority")
    (array([1, 2, 0]), array([0, 1, 2]))
    """
    _check_choice("reduce", reduce, _REDUCES)
    tensor = _is_tensor(y)
    labels = y.detach().cpu().numpy() if tensor else np.asarray(y)
    if labels.ndim == 0:
        raise ConfigError("window_labels needs per-step labels of shape (time,), got a scalar")
    if reduce == "majority" and labels.ndim != 1:
        raise ConfigError(
            f"reduce='majority' needs labels of shape (time,), got {labels.shape}; "
            "use reduce='any' for multi-hot labels"
        )
    pad_value = None if drop_last else 0
    size, step = _validate_window_args(len(labels), size, step, drop_last, pad_value, "the labels")
    n_full, n_pad = _window_count(len(labels), size, step, pad=not drop_last)
    n_full -= bool(n_pad)
    starts = np.arange(n_full) * step
    ends = starts + size
    if n_pad:  # the padded window covers its real samples only
        starts = np.append(starts, n_full * step)
        ends = np.append(ends, len(labels))
    out = _reduce_spans(labels, starts, ends, reduce)
    if tensor:
        import torch

        return torch.from_numpy(out)
    return out


def _reduce_spans(labels: np.ndarray, starts: np.ndarray, ends: np.ndarray, reduce: str):
    """Reduce ``labels[start:end]`` for every span; starts / ends are ``(n,)`` int arrays."""
    if reduce == "last":
        return labels[ends - 1]
    if reduce == "center":
        return labels[starts + (ends - starts) // 2]
    if reduce == "any":
        nonzero = labels.reshape(len(labels), -1) != 0  # (time, *rest) -> (time, k)
        counts = _span_counts(nonzero, starts, ends)  # (n, k)
        return (counts > 0).reshape(len(starts), *labels.shape[1:])  # (n, k) -> (n, *rest)
    classes, codes = np.unique(labels, return_inverse=True)  # classes sorted ascending
    best = np.zeros(len(starts), dtype=np.int64)
    best_count = np.full(len(starts), -1, dtype=np.int64)
    for code in range(len(classes)):  # one (time,) count column at a time: O(time) memory
        counts = _span_counts((codes == code)[:, None], starts, ends)[:, 0]  # (n,)
        better = counts > best_count  # strict: on a tie the smaller label, seen first, stays
        best[better] = code
        best_count[better] = counts[better]
    return classes[best]


def _span_counts(flags: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``flags[start:end].sum(0)`` for every span via one cumulative sum; flags ``(time, k)``."""
    cumulative = np.zeros((len(flags) + 1, flags.shape[1]), dtype=np.int64)
    np.cumsum(flags, axis=0, out=cumulative[1:])
    return cumulative[ends] - cumulative[starts]


def forecast_targets(
    x: np.ndarray | torch.Tensor,
    size: int,
    step: int,
    horizon: int,
    *,
    gap: int = 0,
) -> tuple[Any, Any]:
    """Input windows and the target window that follows each of them, both views of ``x``.

    Input ``k`` is ``x[k*step : k*step + size]``; its target is
    ``x[k*step + size + gap : k*step + size + gap + horizon]`` (time on axis 0). Only windows whose
    whole target fits in ``x`` are returned.

    Args:
        x: ``(time, *rest)`` numpy array or tensor.
        size: input window length; step: samples between window starts; horizon: target length.
        gap: samples skipped between the end of the input and the start of the target
            (>= 0). A negative gap would put input samples inside the target (leakage) and raises.

    Returns:
        ``(inputs, targets)`` of shapes ``(n, size, *rest)`` and ``(n, horizon, *rest)``.

    >>> inputs, targets = forecast_targets(np.arange(10), 4, 3, 2)
    >>> inputs, targets
    (array([[0, 1, 2, 3],
           [3, 4, 5, 6]]), array([[4, 5],
           [7, 8]]))
    """
    size = _positive_int("size", size)
    step = _positive_int("step", step)
    horizon = _positive_int("horizon", horizon)
    gap = operator.index(gap)
    if gap < 0:
        raise ConfigError(
            f"gap={gap} makes each target start {-gap} sample(s) inside its input window "
            "(input/target leakage): use gap >= 0"
        )
    span = size + gap + horizon
    length = x.shape[0]
    if span > length:
        raise ConfigError(
            f"size + gap + horizon = {size} + {gap} + {horizon} = {span} exceeds the {length} "
            "samples of the input: lower size or horizon"
        )
    n = (length - span) // step + 1
    last = (n - 1) * step
    inputs = sliding_windows(x[: last + size], size, step)  # (n, size, *rest)
    targets = sliding_windows(x[size + gap : last + span], horizon, step)  # (n, horizon, *rest)
    return inputs, targets


# --------------------------------------------------------------------------------------------
# many streams: normalisation, standardisation, splits


def _as_streams(streams, labels) -> tuple[list[np.ndarray], list[Any] | None]:
    """Normalise the accepted stream containers to ``(list of (time, channels) arrays, labels)``.

    ``streams`` is a sequence of arrays ``(time, channels)`` / ``(time,)`` or a pandas DataFrame
    with a ``stream_id`` column (``labels`` may then name a label column); labels are one entry
    per stream (a scalar per stream, or a ``(time,)`` per-step array).
    """
    if _is_frame(streams):
        return _streams_from_frame(streams, labels)
    if isinstance(streams, np.ndarray) or _is_tensor(streams):
        raise ConfigError(
            "streams must be a list of arrays (one per recording) or a DataFrame with a "
            f"'{STREAM_ID}' column; wrap a single recording as [array]"
        )
    arrays = []
    for i, stream in enumerate(streams):
        array = np.asarray(stream)
        if array.ndim == 1:
            array = array[:, None]  # (time,) -> (time, 1)
        if array.ndim != 2:
            raise ConfigError(
                f"stream {i} has shape {array.shape}; each stream must be (time, channels)"
            )
        arrays.append(array)
    if not arrays:
        raise ConfigError("streams is empty: pass at least one (time, channels) array")
    if any(a.shape[1] != arrays[0].shape[1] for a in arrays):
        shapes = sorted({a.shape[1] for a in arrays})
        raise ConfigError(f"streams have different channel counts {shapes}: all must match")
    if labels is None:
        return arrays, None
    if isinstance(labels, str):
        raise ConfigError(f"labels={labels!r} names a column, which needs a DataFrame of streams")
    labels = list(labels)
    if len(labels) != len(arrays):
        raise ConfigError(
            f"labels has {len(labels)} entries for {len(arrays)} streams: pass one label (or one "
            "per-step label array) per stream"
        )
    for i, (stream, label) in enumerate(zip(arrays, labels)):
        if np.ndim(label) != 0 and len(label) != len(stream):
            raise ConfigError(
                f"labels[{i}] has {len(label)} steps but stream {i} has {len(stream)}: "
                "per-step labels must match their stream's length"
            )
    return arrays, labels


def _streams_from_frame(frame: pd.DataFrame, labels) -> tuple[list[np.ndarray], list | None]:
    if STREAM_ID not in frame.columns:
        raise ConfigError(
            f"the DataFrame has no '{STREAM_ID}' column (columns: {list(frame.columns)}); "
            "add one, or pass a list of arrays"
        )
    if labels is not None and not isinstance(labels, str):
        raise ConfigError("with a DataFrame of streams, labels must name its label column")
    if labels is not None and labels not in frame.columns:
        raise ConfigError(
            f"label column {labels!r} is not in the DataFrame (columns: {list(frame.columns)})"
        )
    channels = [c for c in frame.columns if c not in (STREAM_ID, labels)]
    arrays, stream_labels = [], []
    for _, group in frame.groupby(STREAM_ID, sort=False):
        arrays.append(group[channels].to_numpy())  # (time, channels)
        if labels is not None:
            stream_labels.append(group[labels].to_numpy())  # (time,)
    return arrays, stream_labels if labels is not None else None


@dataclass(frozen=True, eq=False)
class Standardizer:
    """Per-channel statistics: ``(x - mean) / std`` with ``mean``, ``std`` of shape ``(channels,)``.

    Fit them on the **training streams only** (:func:`fit_standardizer`) and pass the same object
    to the training, validation and test :class:`WindowDataset`; fitting on validation or test
    data leaks their statistics into training.
    """

    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self):
        mean = np.asarray(self.mean, dtype=np.float32).reshape(-1)
        std = np.asarray(self.std, dtype=np.float32).reshape(-1)
        if mean.shape != std.shape:
            raise ConfigError(f"mean has {mean.size} channels but std has {std.size}")
        if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
            raise ConfigError(f"std must be finite and > 0 per channel, got std={std.tolist()}")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)


def fit_standardizer(streams, *, chunk: int = 1 << 20) -> Standardizer:
    """Per-channel mean and std over every time step of the **training** streams.

    Args:
        streams: a :class:`WindowDataset` (its streams), a list of ``(time, channels)`` arrays or a
            DataFrame with a ``stream_id`` column.
        chunk: rows per pass step; statistics accumulate in float64 chunk by chunk, so no copy of
            a long stream is made.

    Statistics count each sample once (not once per overlapping window). A channel that is
    constant in the training data gets ``std = 1`` (it is only centred).

    >>> fit_standardizer([np.array([[0.0, 5.0], [2.0, 5.0]])])
    Standardizer(mean=array([1., 5.], dtype=float32), std=array([1., 1.], dtype=float32))
    """
    arrays = (
        streams.streams if isinstance(streams, WindowDataset) else _as_streams(streams, None)[0]
    )
    n = sum(len(a) for a in arrays)
    total = sum(a.sum(axis=0, dtype=np.float64) for a in arrays)
    mean = total / n  # (channels,)
    squares = sum(
        ((a[i : i + chunk] - mean) ** 2).sum(axis=0)
        for a in arrays
        for i in range(0, len(a), chunk)
    )
    std = np.sqrt(squares / n)  # (channels,)
    if not np.isfinite(std).all():
        raise SensorDataError(
            "the training streams hold NaN / inf values: clean them (read_sensor_log's nan_policy)"
        )
    return Standardizer(mean, np.where(std > 0, std, 1.0))


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
    val: float = 0.15,
    test: float = 0.15,
    by: Literal["stream", "time"] = "stream",
    gap: int | None = None,
    seed: int = 0,
) -> StreamSplit:
    """Split streams into train / val / test without letting overlapping windows leak.

    Never splits shuffled windows (overlapping windows share samples, so neighbours would land in
    different splits). Instead:

    - ``by="stream"``: whole streams (recordings, subjects, machines) go to one split each,
      shuffled with ``seed``; each split asked for (``val`` / ``test`` > 0) gets >= 1 stream.
    - ``by="time"``: every stream is cut in time into ``[train | gap | val | gap | test]`` (the
      future is never used for training); ``gap`` samples are dropped between blocks. Pass
      ``gap=size`` (the window size): a window then never sits within a window length of a window
      in another split. ``seed`` is unused (the split is deterministic).

    Args:
        streams, labels: as for :class:`WindowDataset` (list of arrays, or a DataFrame with a
            ``stream_id`` column and a label column name).
        val, test: fractions of streams (``by="stream"``) or of each stream's samples (``"time"``).

    >>> streams = [np.zeros((100, 2)) for _ in range(3)]
    >>> split = split_streams(streams, by="time", val=0.2, test=0.2, gap=8)
    >>> split.train_spans[0], split.val_spans[0], split.test_spans[0]
    ((0, 0, 50), (0, 58, 75), (0, 83, 100))
    """
    _check_choice("by", by, ("stream", "time"))
    for name, fraction in (("val", val), ("test", test)):
        if not 0 <= fraction < 1:
            raise ConfigError(f"{name}={fraction!r} must be a fraction in [0, 1)")
    if val + test >= 1:
        raise ConfigError(f"val + test = {val + test} leaves no training data: keep it below 1")
    arrays, labels = _as_streams(streams, labels)
    if by == "stream":
        if gap is not None:
            raise ConfigError("gap only applies to by='time'; whole-stream splits need no gap")
        spans = _split_by_stream(arrays, val, test, seed)
    else:
        if gap is None:
            raise ConfigError("by='time' needs gap: pass gap=size (the window size)")
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


# --------------------------------------------------------------------------------------------
# the dataset


class WindowDataset:
    """Windows of many streams, indexed lazily; windows never cross a stream boundary.

    Only one window offset per stream (:attr:`offsets`; :attr:`index` expands it to the
    ``(n_windows, 2)`` table of ``(stream, start)``) and one label per window are stored; a window
    (or a whole batch) is copied out of its stream's strided view when asked for.

    Args:
        streams: list of ``(time, channels)`` arrays (``(time,)`` means one channel), or a pandas
            DataFrame with a ``stream_id`` column (the other columns, minus the label column, are
            the channels). Streams are kept as given when already float32, else converted once.
        labels: ``None``; one label per stream (a scalar) or per step (``(time,)`` arrays, reduced
            to one per window with ``label_reduce``, see :func:`window_labels`); with a DataFrame,
            the name of its label column.
        size, step: window length and the samples between window starts (keyword-only).
        channels_first: windows as ``(channels, size)`` (the model boundary layout) or
            ``(size, channels)``.
        transform: callable applied to each window tensor in ``__getitem__`` and to the batch
            tensor ``(batch, channels, size)`` in :meth:`get_batch`; use transforms that accept any
            leading shape (as ``audioconv.features`` modules do).
        label_reduce: ``"last"`` | ``"majority"`` | ``"center"`` | ``"any"`` for per-step labels.
        standardize: ``False``, or a :class:`Standardizer` / ``(mean, std)`` pair fitted on the
            training streams only (:func:`fit_standardizer`). ``True`` is refused: it would fit on
            this dataset's own streams, leaking validation / test statistics.

    Items: ``ds[i]`` is ``(window, label)`` (a float32 tensor and a 0-d tensor) or just the window
    without labels. ``ds[[i, j, ...]]`` (any int sequence) is a whole batch, gathered at once:
    ``(batch, channels, size)`` and ``(batch,)``. :meth:`loader` builds a ``DataLoader`` on that.

    Workers: the streams are pickled into each worker process under the spawn / forkserver start
    methods; batch gathering is a cheap in-process copy, so ``num_workers=0`` is usually fastest.
    """

    def __init__(
        self,
        streams,
        labels=None,
        *,
        size: int,
        step: int,
        channels_first: bool = True,
        transform: Callable | None = None,
        label_reduce: LabelReduce = "last",
        standardize: bool | Standardizer | tuple = False,
    ):
        self.size = _positive_int("size", size)
        self.step = _positive_int("step", step)
        _check_choice("label_reduce", label_reduce, _REDUCES)
        if transform is not None and not callable(transform):
            raise ConfigError(f"transform={transform!r} must be callable or None")
        arrays, labels = _as_streams(streams, labels)
        self.streams = [np.asarray(a, dtype=np.float32) for a in arrays]
        self.n_channels = self.streams[0].shape[1]
        self.channels_first = bool(channels_first)
        self.transform = transform
        self.label_reduce = label_reduce
        self.standardizer = self._check_standardize(standardize)

        counts = [_window_count(len(s), self.size, self.step, pad=False)[0] for s in self.streams]
        self.n_windows_per_stream = np.asarray(counts, dtype=np.int64)
        if self.n_windows_per_stream.sum() == 0:
            raise ConfigError(
                f"no stream is at least size={self.size} samples long "
                f"(longest: {max(len(s) for s in self.streams)}): lower size"
            )
        short = int((self.n_windows_per_stream == 0).sum())
        if short:
            warnings.warn(
                f"{short} stream(s) shorter than size={self.size} give no windows", stacklevel=2
            )
        # windows offsets[i] .. offsets[i + 1] - 1 are the windows of stream i, in time order
        self.offsets = np.concatenate([[0], np.cumsum(counts)])  # (n_streams + 1,)
        self._offsets = self.offsets.tolist()  # for bisect on one index
        self.labels = None if labels is None else self._window_labels(labels, counts)
        self._views: list[np.ndarray] | None = None

    def _check_standardize(self, standardize) -> Standardizer | None:
        if standardize is True:
            raise ConfigError(
                "standardize=True would fit statistics on this dataset's own streams (leaking "
                "val/test data): pass standardize=fit_standardizer(train_streams)"
            )
        if standardize is False or standardize is None:
            return None
        stats = standardize if isinstance(standardize, Standardizer) else Standardizer(*standardize)
        if stats.mean.size != self.n_channels:
            raise ConfigError(
                f"standardize has {stats.mean.size} channels but the streams have "
                f"{self.n_channels}: fit it on streams with the same channels"
            )
        return stats

    def _window_labels(self, labels: list, counts: list[int]) -> np.ndarray:
        per_stream = []
        for label, count in zip(labels, counts):
            if count == 0:
                continue
            if np.ndim(label) == 0:
                per_stream.append(np.full(count, label))
            else:
                per_stream.append(
                    window_labels(np.asarray(label), self.size, self.step, reduce=self.label_reduce)
                )
        out = np.concatenate(per_stream)  # (n_windows,)
        if out.dtype.kind not in "biuf":
            raise ConfigError(
                f"labels have dtype {out.dtype}; encode them as numbers first "
                "(SensorLog.stream_labels() returns integer codes)"
            )
        return out.astype(np.float32 if out.dtype.kind == "f" else np.int64)

    def __getstate__(self):  # never pickle the strided views: that would materialise them
        state = self.__dict__.copy()
        state["_views"] = None
        return state

    @property
    def views(self) -> list[np.ndarray]:
        """Per stream, read-only window views ``(n_windows_i, size, channels)`` (or
        ``(n_windows_i, channels, size)`` when ``channels_first``), built on first use."""
        if self._views is None:
            self._views = []
            for stream, count in zip(self.streams, self.n_windows_per_stream):
                rows, cols = stream.strides
                if self.channels_first:  # (time, channels) -> (n, channels, size)
                    shape, strides = (
                        (count, self.n_channels, self.size),
                        (self.step * rows, cols, rows),
                    )
                else:  # (time, channels) -> (n, size, channels)
                    shape, strides = (
                        (count, self.size, self.n_channels),
                        (self.step * rows, rows, cols),
                    )
                self._views.append(as_strided(stream, shape, strides, writeable=False))
        return self._views

    def __len__(self) -> int:
        return self._offsets[-1]

    @property
    def index(self) -> np.ndarray:
        """The ``(n_windows, 2)`` table of ``(stream, start sample)``, built on demand from
        :attr:`offsets` (the dataset itself stores one offset per stream)."""
        streams = np.repeat(np.arange(len(self.streams)), self.n_windows_per_stream)  # (n,)
        ordinals = np.arange(len(self)) - self.offsets[streams]  # window k of its stream
        return np.stack([streams, ordinals * self.step], axis=1)  # (n_windows, 2)

    def _locate(self, i: int) -> tuple[int, int]:
        """Stream and window ordinal within it of the non-negative window index ``i``."""
        stream = bisect.bisect_right(self._offsets, i) - 1
        return stream, i - self._offsets[stream]

    def __getitem__(self, index):
        """``ds[i]``: one window (+ label); ``ds[[i, j, ...]]``: a batch (:meth:`get_batch`)."""
        if np.ndim(index) != 0:
            return self.get_batch(index)
        import torch

        i = operator.index(index)
        if not -len(self) <= i < len(self):
            raise IndexError(f"window {i} is out of range for {len(self)} windows")
        i %= len(self)
        stream, ordinal = self._locate(i)
        window = np.array(self.views[stream][ordinal])  # (channels, size) copy
        window = self._standardize(window)
        x = torch.from_numpy(window)
        if self.transform is not None:
            x = self.transform(x)
        if self.labels is None:
            return x
        return x, torch.as_tensor(self.labels[i])

    def get_batch(self, indices) -> Any:
        """Gather many windows at once with one fancy-index copy per stream involved.

        Args:
            indices: int sequence / array / tensor of window indices, shape ``(batch,)``.

        Returns:
            ``x`` float32 ``(batch, channels, size)`` (``(batch, size, channels)`` without
            ``channels_first``) and, with labels, ``(x, y)`` with ``y`` of shape ``(batch,)``.
        """
        import torch

        indices = np.asarray(indices, dtype=np.int64).reshape(-1)  # (batch,)
        n = len(self)
        sequential = _is_range(indices)  # lo, lo + 1, ..., hi: what a sequential loader asks
        if sequential:
            lo, hi = int(indices[0]), int(indices[-1])
        else:
            lo, hi = (int(indices.min()), int(indices.max())) if len(indices) else (0, 0)
        if lo < -n or hi >= n:
            raise IndexError(f"window indices must lie in [-{n}, {n}), got {lo} .. {hi}")
        if lo < 0:
            indices = indices % n  # negative indices count from the end
            sequential = _is_range(indices)
            lo, hi = int(indices.min()), int(indices.max())
        views = self.views
        stream, first = self._locate(lo)
        if sequential and hi < self._offsets[stream + 1]:  # one stream, consecutive windows
            batch = np.array(views[stream][first : first + len(indices)])  # (batch, *window)
            labels = None if self.labels is None else self.labels[lo : hi + 1].copy()
        elif hi < self._offsets[stream + 1]:  # one stream (streams own index ranges)
            batch = views[stream][indices - self._offsets[stream]]  # (batch, *window)
            labels = None if self.labels is None else self.labels[indices]  # a copy
        else:
            streams = np.searchsorted(self.offsets, indices, side="right") - 1  # (batch,)
            ordinals = indices - self.offsets[streams]  # (batch,)
            batch = np.empty((len(indices), *views[stream].shape[1:]), dtype=np.float32)
            for s in np.unique(streams):
                rows = streams == s
                batch[rows] = views[s][ordinals[rows]]
            labels = None if self.labels is None else self.labels[indices]  # a copy
        x = torch.from_numpy(self._standardize(batch))
        if self.transform is not None:
            x = self.transform(x)
        if labels is None:
            return x
        return x, torch.from_numpy(labels)

    def _standardize(self, windows: np.ndarray) -> np.ndarray:
        """In place on a fresh copy: ``(..., channels, size)`` or ``(..., size, channels)``."""
        if self.standardizer is None:
            return windows
        shape = (-1, 1) if self.channels_first else (-1,)  # broadcast over the time axis
        windows -= self.standardizer.mean.reshape(shape)
        windows /= self.standardizer.std.reshape(shape)
        return windows

    def loader(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        **kwargs,
    ):
        """A ``torch.utils.data.DataLoader`` yielding batches gathered by :meth:`get_batch`.

        Uses a ``BatchSampler`` with ``batch_size=None`` so each batch is one ``ds[indices]`` call
        instead of ``batch_size`` item calls plus a stack. ``seed`` fixes the shuffle order;
        ``kwargs`` go to the DataLoader (``num_workers``, ``pin_memory``, ...).
        """
        import torch
        from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler

        batch_size = _positive_int("batch_size", batch_size)
        if shuffle:
            generator = None if seed is None else torch.Generator().manual_seed(seed)
            sampler = RandomSampler(range(len(self)), generator=generator)
        else:
            sampler = SequentialSampler(range(len(self)))
        batches = BatchSampler(sampler, batch_size, drop_last)
        return DataLoader(self, batch_size=None, sampler=batches, **kwargs)


# --------------------------------------------------------------------------------------------
# sensor logs


@dataclass(frozen=True)
class SensorLog:
    """A sensor log read by :func:`read_sensor_log`.

    Attributes:
        path: the file read.
        data: ``(time, channels)`` float32, every value finite.
        channels: the channel column names, in ``data`` column order.
        labels: ``(time,)`` raw label values from the label column, or ``None``.
        timestamps: ``(time,)`` values of the time column, or ``None``.
        stream_ids: ``(time,)`` values of the stream column, or ``None`` (one stream).
    """

    path: Path
    data: np.ndarray
    channels: tuple[str, ...]
    labels: np.ndarray | None = None
    timestamps: np.ndarray | None = None
    stream_ids: np.ndarray | None = None

    @property
    def classes(self) -> np.ndarray:
        """Sorted distinct label values; ``stream_labels()`` codes index into it."""
        if self.labels is None:
            raise ConfigError(f"{self.path} was read without label_column: it has no classes")
        return np.unique(self.labels)

    def _groups(self) -> list[np.ndarray]:
        """Row indices of each stream, in order of first appearance (one group if no streams)."""
        if self.stream_ids is None:
            return [np.arange(len(self.data))]
        _, first, codes = np.unique(self.stream_ids, return_index=True, return_inverse=True)
        order = np.argsort(np.argsort(first))  # code -> rank of first appearance
        ranks = order[codes]
        return [np.flatnonzero(ranks == r) for r in range(len(first))]

    def streams(self) -> list[np.ndarray]:
        """One ``(time, channels)`` array per stream id, in order of first appearance
        (views when a stream's rows are contiguous in the file)."""
        return [_take_rows(self.data, rows) for rows in self._groups()]

    def stream_labels(self) -> list[np.ndarray]:
        """Per stream, the ``(time,)`` int64 label codes (indices into :attr:`classes`)."""
        codes = np.searchsorted(self.classes, self.labels)  # (time,)
        return [_take_rows(codes, rows) for rows in self._groups()]


def _is_range(values: np.ndarray) -> bool:
    """True if ``values`` is ``lo, lo + 1, ..., hi`` (at least one value)."""
    n = len(values)
    return (
        n > 0
        and int(values[-1]) - int(values[0]) == n - 1
        and bool((values[1:] - values[:-1] == 1).all())
    )


def _take_rows(array: np.ndarray, rows: np.ndarray) -> np.ndarray:
    if _is_range(rows):  # contiguous rows: a view
        return array[rows[0] : rows[-1] + 1]
    return array[rows]


def read_sensor_log(
    path: str | os.PathLike,
    *,
    time_column: str | None = None,
    channels: Sequence[str] | None = None,
    label_column: str | None = None,
    stream_column: str | None = None,
    nan_policy: Literal["raise", "interpolate", "drop"] = "raise",
    sort: bool = False,
) -> SensorLog:
    """Read a CSV (``.csv``, ``.tsv``, optionally ``.gz``) or parquet sensor log with pandas.

    Args:
        path: the file.
        time_column: timestamps column (kept in ``SensorLog.timestamps``, not a channel).
        channels: channel columns; default every numeric column that is not the time, label or
            stream column.
        label_column: per-row labels; stream_column: recording / subject id per row.
        nan_policy: what to do with NaN / inf in a channel. ``"raise"`` (default) raises
            :class:`~audioconv.errors.SensorDataError` naming the column and row; ``"interpolate"``
            fills them linearly within their stream (the ends take the nearest value);
            ``"drop"`` drops those rows (windows then span the removed gap: prefer interpolate for
            short gaps).
        sort: timestamps out of order within a stream are an error; ``sort=True`` sorts the rows
            by stream and time instead. Repeated timestamps in a stream are always an error.

    Returns:
        a :class:`SensorLog` with ``data`` of shape ``(time, channels)`` float32.

    Raises:
        SensorFileNotFoundError: no such file (also a ``FileNotFoundError``).
        SensorDataError: unknown suffix, an empty or binary file, a missing column, a
            non-numeric cell in a channel column (row and column named; a column with no number
            at all is not a channel), non-finite values, an empty label or stream id, unsorted or
            repeated timestamps.
    """
    import pandas as pd

    _check_choice("nan_policy", nan_policy, _NAN_POLICIES)
    path = Path(path)
    if not path.is_file():
        raise SensorFileNotFoundError(
            f"{path}: no such sensor log; check the path (a CSV, TSV, CSV.gz or parquet file)"
        )
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-1:] == [".gz"]:  # compressed CSV: pandas decompresses it
        suffixes.pop()
    kind = suffixes[-1] if suffixes else ""
    if kind in (".parquet", ".pq"):
        frame, header_lines = pd.read_parquet(path), None
    elif kind in (".csv", ".tsv", ".txt"):
        frame = _read_text_log(path, sep="\t" if kind == ".tsv" else ",")
        header_lines = 1
    else:
        raise SensorDataError(
            f"{path}: unknown sensor log format {''.join(path.suffixes)!r}; "
            "use .csv, .tsv (optionally .gz) or .parquet"
        )
    special = [c for c in (time_column, label_column, stream_column) if c is not None]
    for column in [*special, *(channels or [])]:
        if column not in frame.columns:
            raise SensorDataError(
                f"{path}: no column {column!r}; available columns: {list(frame.columns)}"
            )
    for column in (label_column, stream_column):
        if column is not None:
            _require_filled(path, frame, column, header_lines)
    if channels is None:  # a column holding any number is a channel; its other cells must be too
        channels = [
            c
            for c in frame.columns
            if c not in special
            and (
                pd.api.types.is_numeric_dtype(frame[c])
                or pd.to_numeric(frame[c], errors="coerce").notna().any()
            )
        ]
        if not channels:
            raise SensorDataError(
                f"{path}: no numeric channel columns besides {special}; "
                f"columns: {list(frame.columns)}"
            )
    channels = list(channels)
    for column in channels:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            _raise_non_numeric(path, frame, column, header_lines)
    if time_column is not None:
        frame = _check_time_order(path, frame, time_column, stream_column, sort, header_lines)
    values = frame[channels].to_numpy(dtype=np.float64)  # (time, channels)
    bad = ~np.isfinite(values)
    if bad.any():
        if nan_policy == "raise":
            raise SensorDataError(_non_finite_message(path, frame, channels, bad, header_lines))
        if nan_policy == "drop":
            frame = frame.loc[~bad.any(axis=1)].reset_index(drop=True)
            values = values[~bad.any(axis=1)]
        else:
            values = _interpolate(path, frame, channels, values, bad, stream_column)
    return SensorLog(
        path=path,
        data=values.astype(np.float32),
        channels=tuple(channels),
        labels=frame[label_column].to_numpy() if label_column else None,
        timestamps=frame[time_column].to_numpy() if time_column else None,
        stream_ids=frame[stream_column].to_numpy() if stream_column else None,
    )


def _read_text_log(path: Path, sep: str):
    """A CSV / TSV log as a DataFrame; an empty or binary file is a SensorDataError."""
    import gzip

    import pandas as pd

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as handle:
        head = handle.read(4096)
    if not head.strip():
        raise SensorDataError(f"{path}: the file is empty; a sensor log needs a header row")
    if b"\x00" in head:
        raise SensorDataError(f"{path}: this is a binary file, not a text CSV / TSV sensor log")
    try:
        return pd.read_csv(path, sep=sep, skip_blank_lines=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise SensorDataError(f"{path}: cannot parse the log ({error})") from None


def _line(row: int, header_lines: int | None) -> str:
    where = f"data row {row + 1}"
    return where if header_lines is None else f"{where} (line {row + 1 + header_lines} of the file)"


def _raise_non_numeric(path, frame, column, header_lines) -> None:
    import pandas as pd

    numbers = pd.to_numeric(frame[column], errors="coerce")
    bad = np.flatnonzero(numbers.isna().to_numpy() & frame[column].notna().to_numpy())
    if len(bad) == 0 or numbers.isna().all():  # a boolean or text column, not a channel
        raise SensorDataError(
            f"{path}: channel column {column!r} is not numeric (dtype {frame[column].dtype}); "
            "fix the values or leave it out of channels"
        )
    raise SensorDataError(
        f"{path}: column {column!r} holds {frame[column].iloc[bad[0]]!r} at "
        f"{_line(int(bad[0]), header_lines)}, not a number ({len(bad)} such cell(s)); fix the "
        "cells, or pass channels=[...] without this column"
    )


def _require_filled(path, frame, column, header_lines) -> None:
    empty = np.flatnonzero(frame[column].isna().to_numpy())
    if len(empty):
        raise SensorDataError(
            f"{path}: column {column!r} is empty at {_line(int(empty[0]), header_lines)} "
            f"({len(empty)} empty cell(s)); every row needs its {column}: fill them in or drop "
            "those rows"
        )


def _check_time_order(path, frame, time_column, stream_column, sort, header_lines):
    """``frame`` with each stream's timestamps strictly increasing (sorted when ``sort``)."""
    import pandas as pd

    _require_filled(path, frame, time_column, header_lines)
    times = frame[time_column]
    if not pd.api.types.is_numeric_dtype(times):
        try:
            times = pd.to_datetime(times)
        except (ValueError, TypeError) as error:
            raise SensorDataError(
                f"{path}: time column {time_column!r} holds neither numbers nor dates ({error})"
            ) from None
    keys = frame[stream_column] if stream_column is not None else pd.Series(0, index=frame.index)
    table = pd.DataFrame({"stream": keys.to_numpy(), "time": times.to_numpy()})
    repeated = np.flatnonzero(table.duplicated(keep="first").to_numpy())
    if len(repeated):
        row = int(repeated[0])
        raise SensorDataError(
            f"{path}: time {frame[time_column].iloc[row]} repeats at {_line(row, header_lines)}"
            + ("" if stream_column is None else f" in stream {table['stream'].iloc[row]!r}")
            + f" ({len(repeated)} repeated timestamp(s)); keep one row per time step"
        )
    step = table.groupby("stream", sort=False)["time"].diff()  # NaN / NaT at each stream start
    zero = pd.Timedelta(0) if pd.api.types.is_timedelta64_dtype(step) else 0
    earlier = np.flatnonzero((step < zero).to_numpy())
    if len(earlier) and not sort:
        row = int(earlier[0])
        raise SensorDataError(
            f"{path}: time {frame[time_column].iloc[row]} at {_line(row, header_lines)} comes "
            "before the row above it: the log is not in time order; sort it, or pass sort=True"
        )
    if len(earlier):
        order = table.sort_values(["stream", "time"], kind="stable").index
        frame = frame.loc[order].reset_index(drop=True)
    return frame


def _non_finite_message(path, frame, channels, bad, header_lines) -> str:
    column_index = int(np.flatnonzero(bad.any(axis=0))[0])
    row = int(np.flatnonzero(bad[:, column_index])[0])
    column = channels[column_index]
    value = frame[column].iloc[row]
    where = f"data row {row + 1}"
    if header_lines is not None:
        where += f" (line {row + 1 + header_lines} of the file)"
    return (
        f"{path}: column {column!r} has {value} at {where}; {int(bad.sum())} non-finite value(s) "
        "in all: clean the file, or pass nan_policy='interpolate' (fill linearly) or "
        "nan_policy='drop' (drop those rows)"
    )


def _interpolate(path, frame, channels, values, bad, stream_column) -> np.ndarray:
    import pandas as pd

    table = pd.DataFrame(np.where(bad, np.nan, values), columns=channels)  # (time, channels)
    groups = (
        [table]
        if stream_column is None
        else [part for _, part in table.groupby(frame[stream_column].to_numpy(), sort=False)]
    )
    for part in groups:
        empty = part.columns[part.isna().all()].tolist()
        if empty:
            raise SensorDataError(
                f"{path}: column {empty[0]!r} has no finite value"
                + (
                    ""
                    if stream_column is None
                    else f" in stream {frame[stream_column].iloc[part.index[0]]!r}"
                )
                + " to interpolate from: drop the column or use nan_policy='drop'"
            )
        table.loc[part.index] = part.interpolate(limit_direction="both")
    return table.to_numpy()
