"""Zero-copy sliding windows over time series, leakage-safe splits and sensor-log loading.

Window ``k`` of a stream covers the samples ``[k * hop, k * hop + window)``: the "reformatting
data" layout where a batch is ``batch x window x channels`` and consecutive windows start ``hop``
samples apart (``window`` / ``hop``: the names of the input contract and of every windowing call).
Windows are strided **views** of the stream, so windowing a long recording costs no memory; a
mini-batch copies only its own windows when it is gathered.

The package imports numpy only; torch and pandas are imported when a tensor, a DataFrame or a file
is actually handled, so ``import audioconv.windows`` stays cheap for numpy users. Its modules:
``views`` (``sliding_windows``), ``labels`` (``window_labels``, ``forecast_targets``),
``standardise`` (``Standardizer``, ``fit_standardizer``), ``splits`` (``StreamSplit``,
``split_streams``), ``dataset`` (``WindowDataset``) and ``sensor_log`` (``SensorLog``,
``read_sensor_log``).

Seed layout (a stream ``1..17``, ``window=m=5``, ``hop=s=3``): rows start at ``1, s+1, 2s+1, ...``

>>> import numpy as np
>>> from audioconv.windows import sliding_windows
>>> stream = np.arange(1, 18)            # the stream 1, 2, ..., 17
>>> w = sliding_windows(stream, 5, 3)    # (n_windows, window) = (5, 5)
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

from audioconv.windows.dataset import WindowDataset
from audioconv.windows.labels import forecast_targets, window_labels
from audioconv.windows.sensor_log import SensorLog, read_sensor_log
from audioconv.windows.splits import StreamSplit, split_streams
from audioconv.windows.standardise import Standardizer, fit_standardizer
from audioconv.windows.views import sliding_windows

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
