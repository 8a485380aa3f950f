"""Per-channel standardisation fitted on training streams (``fit_standardizer``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audioconv.errors import ConfigError, SensorDataError
from audioconv.windows._common import _as_streams


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
    held = getattr(streams, "streams", None)  # a WindowDataset's list of arrays
    arrays = held if isinstance(held, list) else _as_streams(streams, None)[0]
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
