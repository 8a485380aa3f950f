"""Zero-copy sliding windows: window ``k`` covers samples ``[k * hop, k * hop + window)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import as_strided

from audioconv.errors import ConfigError
from audioconv.windows._common import (
    _is_tensor,
    _validate_window_args,
    _window_count,
    window_and_hop,
)

if TYPE_CHECKING:
    import torch


def sliding_windows(
    x: np.ndarray | torch.Tensor,
    window: int | None = None,
    hop: int | None = None,
    *,
    axis: int = 0,
    drop_last: bool = True,
    pad_value: float | None = None,
    size: int | None = None,
    step: int | None = None,
) -> np.ndarray | torch.Tensor:
    """Windows of ``window`` samples every ``hop`` samples along ``axis``, as a view of ``x``.

    Args:
        x: numpy array or torch tensor of shape ``(..., time, ...)`` with time on ``axis``.
            Anything else is passed through ``np.asarray``.
        window: samples per window (``m``), a positive int.
        hop: samples between window starts (``s``), a positive int; ``hop < window`` overlaps.
        axis: the time axis of ``x``.
        drop_last: drop the incomplete tail (default). With ``drop_last=False`` the tail becomes
            one more window filled up to ``window`` with ``pad_value``.
        pad_value: fill value for the padded last window (required with ``drop_last=False``).
        size, step: deprecated names of ``window`` / ``hop`` (a ``DeprecationWarning``).

    Returns:
        Shape ``(n_windows, window, *rest)`` where ``rest`` is the shape of ``x`` without ``axis``,
        other axes kept in their order: for ``x`` of shape ``(a, time, b)`` and ``axis=1`` the
        windows are ``(n_windows, window, a, b)``. Window ``k`` is ``x[k*hop : k*hop + window]``
        along ``axis``; ``n_windows = (time - window) // hop + 1`` (plus one padded window).

        Without padding the result is a **view** that shares memory with ``x`` (numpy: a read-only
        strided view, so writes cannot silently change overlapping windows; torch:
        ``Tensor.unfold`` + ``movedim``). With padding a copy is unavoidable: the stream is copied
        once with the padding appended (``time + pad`` samples, not ``n_windows * window``) and the
        windows are a view of that copy.

    Raises:
        ConfigError: ``window`` / ``hop`` not positive ints, ``window`` longer than the stream
            without padding, an empty stream, or ``pad_value`` / ``drop_last`` that contradict
            each other.

    >>> sliding_windows(np.arange(10), 4, 4, drop_last=False, pad_value=-1)
    array([[ 0,  1,  2,  3],
           [ 4,  5,  6,  7],
           [ 8,  9, -1, -1]])
    >>> sliding_windows(np.zeros((2, 9, 3)), 4, 2, axis=1).shape  # (n_windows, window, 2, 3)
    (3, 4, 2, 3)
    """
    window, hop = window_and_hop("sliding_windows", window, hop, size, step)
    tensor = _is_tensor(x)
    if not tensor:
        x = np.asarray(x)
    if x.ndim == 0:
        raise ConfigError("sliding_windows needs an array with a time axis, got a scalar")
    if not -x.ndim <= axis < x.ndim:
        raise ConfigError(f"axis={axis} is out of range for an input with {x.ndim} dimensions")
    axis = axis % x.ndim
    length = x.shape[axis]
    window, hop = _validate_window_args(length, window, hop, drop_last, pad_value, "the input")
    n_windows, n_pad = _window_count(length, window, hop, pad=not drop_last)
    if tensor:
        return _torch_windows(x, window, hop, axis, n_pad, pad_value)
    x = np.moveaxis(x, axis, 0)  # (time, *rest), a view
    if n_pad:
        padding = np.full((n_pad, *x.shape[1:]), pad_value, dtype=x.dtype)
        x = np.concatenate([x, padding])  # (time + n_pad, *rest): the one copy padding needs
    stride = x.strides[0]
    # (time, *rest) -> (n_windows, window, *rest), window k starts at sample k * hop
    return as_strided(
        x,
        (n_windows, window, *x.shape[1:]),
        (hop * stride, stride, *x.strides[1:]),
        writeable=False,
    )


def _torch_windows(x, window: int, hop: int, axis: int, n_pad: int, pad_value):
    import torch

    if n_pad:
        shape = list(x.shape)
        shape[axis] = n_pad
        x = torch.cat([x, x.new_full(shape, pad_value)], dim=axis)  # (..., time + n_pad, ...)
    # (..., time, ...) -> (..., n_windows, ..., window) -> (n_windows, window, *rest)
    return x.unfold(axis, window, hop).movedim(axis, 0).movedim(-1, 1)
