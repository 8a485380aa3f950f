"""One label per window (``window_labels``) and forecasting targets (``forecast_targets``)."""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any

import numpy as np

from audioconv.errors import ConfigError
from audioconv.errors import check_positive as _positive_int
from audioconv.windows._common import (
    _REDUCES,
    LabelReduce,
    _check_choice,
    _is_tensor,
    _validate_window_args,
    _window_count,
    renamed_keyword,
    window_and_hop,
)
from audioconv.windows.views import sliding_windows

if TYPE_CHECKING:
    import torch


def window_labels(
    y: np.ndarray | torch.Tensor,
    window: int | None = None,
    hop: int | None = None,
    *,
    label_reduce: LabelReduce = "last",
    drop_last: bool = True,
    reduce: LabelReduce | None = None,
    size: int | None = None,
    step: int | None = None,
) -> np.ndarray | torch.Tensor:
    """One label per window from per-step labels ``y`` (same windows as :func:`sliding_windows`).

    Args:
        y: per-step labels, shape ``(time,)``; ``label_reduce="last"|"center"|"any"`` also take
            ``(time, *rest)`` (e.g. multi-hot ``(time, classes)``).
        window, hop: the window length and hop used for the signal.
        label_reduce: how a window's ``window`` labels become one (as ``WindowDataset``'s):
            ``"last"`` the label of the window's last sample (what a causal / streaming model
            has seen); ``"center"`` the label at offset ``window // 2`` (for even sizes the later
            of the two middle samples); ``"majority"`` the most frequent label, **ties go to the
            smallest label**; ``"any"`` True if any label in the window is non-zero (event
            detection), a bool array.
        drop_last: ``False`` adds the padded tail window of ``sliding_windows(...,
            drop_last=False)``; its label reduces over its real samples only.
        reduce, size, step: deprecated names of ``label_reduce``, ``window``, ``hop`` (a
            ``DeprecationWarning``).

    Returns:
        ``(n_windows, *rest)``; a numpy array for numpy input, a tensor for tensor input.
        ``"majority"`` and ``"any"`` run in O(time) (cumulative counts), not O(n_windows * window).

    >>> y = np.array([0, 0, 1, 1, 1, 2, 2, 0])
    >>> last = window_labels(y, 4, 2, label_reduce="last")
    >>> last, window_labels(y, 4, 2, label_reduce="majority")
    (array([1, 2, 0]), array([0, 1, 2]))
    """
    reduce = renamed_keyword("window_labels", "reduce", reduce, "label_reduce", label_reduce)
    window, hop = window_and_hop("window_labels", window, hop, size, step)
    _check_choice("label_reduce", reduce, _REDUCES)
    tensor = _is_tensor(y)
    labels = y.detach().cpu().numpy() if tensor else np.asarray(y)
    if labels.ndim == 0:
        raise ConfigError("window_labels needs per-step labels of shape (time,), got a scalar")
    if reduce == "majority" and labels.ndim != 1:
        raise ConfigError(
            f"label_reduce='majority' needs labels of shape (time,), got {labels.shape}; "
            "use label_reduce='any' for multi-hot labels"
        )
    pad_value = None if drop_last else 0
    window, hop = _validate_window_args(
        len(labels), window, hop, drop_last, pad_value, "the labels"
    )
    n_full, n_pad = _window_count(len(labels), window, hop, pad=not drop_last)
    n_full -= bool(n_pad)
    starts = np.arange(n_full) * hop
    ends = starts + window
    if n_pad:  # the padded window covers its real samples only
        starts = np.append(starts, n_full * hop)
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
    window: int | None = None,
    hop: int | None = None,
    horizon: int | None = None,
    *,
    gap: int = 0,
    size: int | None = None,
    step: int | None = None,
) -> tuple[Any, Any]:
    """Input windows and the target window that follows each of them, both views of ``x``.

    Input ``k`` is ``x[k*hop : k*hop + window]``; its target is
    ``x[k*hop + window + gap : k*hop + window + gap + horizon]`` (time on axis 0). Only windows
    whose whole target fits in ``x`` are returned.

    Args:
        x: ``(time, *rest)`` numpy array or tensor.
        window: input window length; hop: samples between window starts; horizon: target length.
        gap: samples skipped between the end of the input and the start of the target
            (>= 0). A negative gap would put input samples inside the target (leakage) and raises.
        size, step: deprecated names of ``window`` / ``hop`` (a ``DeprecationWarning``).

    Returns:
        ``(inputs, targets)`` of shapes ``(n, window, *rest)`` and ``(n, horizon, *rest)``.

    >>> inputs, targets = forecast_targets(np.arange(10), 4, 3, 2)
    >>> inputs, targets
    (array([[0, 1, 2, 3],
           [3, 4, 5, 6]]), array([[4, 5],
           [7, 8]]))
    """
    window, hop = window_and_hop("forecast_targets", window, hop, size, step)
    window = _positive_int("window", window)
    hop = _positive_int("hop", hop)
    horizon = _positive_int("horizon", horizon)
    gap = operator.index(gap)
    if gap < 0:
        raise ConfigError(
            f"gap={gap} makes each target start {-gap} sample(s) inside its input window "
            "(input/target leakage): use gap >= 0"
        )
    span = window + gap + horizon
    length = x.shape[0]
    if span > length:
        raise ConfigError(
            f"window + gap + horizon = {window} + {gap} + {horizon} = {span} exceeds the {length} "
            "samples of the input: lower window or horizon"
        )
    n = (length - span) // hop + 1
    last = (n - 1) * hop
    inputs = sliding_windows(x[: last + window], window, hop)  # (n, window, *rest)
    targets = sliding_windows(x[window + gap : last + span], horizon, hop)  # (n, horizon, *rest)
    return inputs, targets
