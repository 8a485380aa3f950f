"""Private helpers shared by the windows modules: argument checks, window counts, and streams
(arrays, lists or a DataFrame) normalised to a list of ``(time, channels)`` arrays."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from audioconv._plain import renamed_keyword  # noqa: F401 (the windows modules import it here)
from audioconv.errors import ConfigError
from audioconv.errors import check_positive as _positive_int

if TYPE_CHECKING:
    import pandas as pd

LabelReduce = Literal["last", "majority", "center", "any"]
_REDUCES = ("last", "majority", "center", "any")
STREAM_ID = "stream_id"


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


def _window_count(length: int, window: int, hop: int, *, pad: bool) -> tuple[int, int]:
    """Number of windows and the samples of padding the last one needs.

    Full windows start at ``k * hop`` while ``k * hop + window <= length``. With ``pad`` one more
    window starts at the next ``k * hop`` if that start lies inside the stream and the stream has
    samples after the end of the last full window; it is filled up to ``window`` with padding.
    """
    n_full = (length - window) // hop + 1 if length >= window else 0
    if not pad:
        return n_full, 0
    covered_end = (n_full - 1) * hop + window if n_full else 0
    next_start = n_full * hop
    if next_start < length and covered_end < length:
        return n_full + 1, next_start + window - length
    return n_full, 0


def _validate_window_args(length: int, window: int, hop: int, drop_last: bool, pad_value, where):
    window = _positive_int("window", window)
    hop = _positive_int("hop", hop)
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
    if drop_last and window > length:
        raise ConfigError(
            f"window={window} exceeds the {length} samples of {where}: lower window, or pad the "
            "tail with drop_last=False, pad_value=0.0"
        )
    return window, hop


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


def _is_range(values: np.ndarray) -> bool:
    """True if ``values`` is ``lo, lo + 1, ..., hi`` (at least one value)."""
    n = len(values)
    return (
        n > 0
        and int(values[-1]) - int(values[0]) == n - 1
        and bool((values[1:] - values[:-1] == 1).all())
    )


def window_and_hop(where: str, window, hop, size, step) -> tuple[Any, Any]:
    """``(window, hop)``: samples per window and between window starts, the package's names
    (as the input contract's), or the deprecated ``size=`` / ``step=`` of ``where``."""
    window = renamed_keyword(where, "size", size, "window", window, stacklevel=4)
    hop = renamed_keyword(where, "step", step, "hop", hop, stacklevel=4)
    missing = [f"{name}=" for name, value in (("window", window), ("hop", hop)) if value is None]
    if missing:
        raise ConfigError(
            f"{where} needs {' and '.join(missing)}: samples per window and samples between "
            "window starts"
        )
    return window, hop
