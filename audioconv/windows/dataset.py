"""``WindowDataset``: windows of many streams indexed lazily, with labels and a loader."""

from __future__ import annotations

import bisect
import operator
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from audioconv.errors import ConfigError
from audioconv.errors import check_positive as _positive_int
from audioconv.windows._common import (
    _REDUCES,
    LabelReduce,
    _as_streams,
    _check_choice,
    _is_range,
    _window_count,
    renamed_keyword,
    window_and_hop,
)
from audioconv.windows.labels import window_labels
from audioconv.windows.standardise import Standardizer


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
        window, hop: window length and the samples between window starts (keyword-only).
        channels_first: windows as ``(channels, window)`` (the model boundary layout) or
            ``(window, channels)``.
        transform: callable applied to each window tensor in ``__getitem__`` and to the batch
            tensor ``(batch, channels, window)`` in :meth:`get_batch`; use transforms that accept
            any leading shape (as ``audioconv.features`` modules do).
        label_reduce: ``"last"`` | ``"majority"`` | ``"center"`` | ``"any"`` for per-step labels.
        standardize: ``False``, or a :class:`Standardizer` / ``(mean, std)`` pair fitted on the
            training streams only (:func:`fit_standardizer`). ``True`` is refused: it would fit on
            this dataset's own streams, leaking validation / test statistics.
        size, step: deprecated names of ``window`` / ``hop`` (a ``DeprecationWarning``; the
            attributes ``size`` / ``step`` read ``window`` / ``hop``).
        origins: per stream, ``(recording name, its first sample in that recording)`` (e.g. a
            piece of a recording cut by :func:`split_streams`); :meth:`window_table` then says
            where each window comes from.

    Items: ``ds[i]`` is ``(window, label)`` (a float32 tensor and a 0-d tensor) or just the window
    without labels. ``ds[[i, j, ...]]`` (any int sequence) is a whole batch, gathered at once:
    ``(batch, channels, window)`` and ``(batch,)``. :meth:`loader` builds a ``DataLoader`` on that.

    Workers: the streams are pickled into each worker process under the spawn / forkserver start
    methods; batch gathering is a cheap in-process copy, so ``num_workers=0`` is usually fastest.
    """

    def __init__(
        self,
        streams,
        labels=None,
        *,
        window: int | None = None,
        hop: int | None = None,
        channels_first: bool = True,
        transform: Callable | None = None,
        label_reduce: LabelReduce = "last",
        standardize: bool | Standardizer | tuple = False,
        size: int | None = None,
        step: int | None = None,
        origins: Sequence[tuple[str, int]] | None = None,
    ):
        window, hop = window_and_hop("WindowDataset", window, hop, size, step)
        self.window = _positive_int("window", window)
        self.hop = _positive_int("hop", hop)
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

        counts = [_window_count(len(s), self.window, self.hop, pad=False)[0] for s in self.streams]
        self.n_windows_per_stream = np.asarray(counts, dtype=np.int64)
        if self.n_windows_per_stream.sum() == 0:
            raise ConfigError(
                f"no stream is at least window={self.window} samples long "
                f"(longest: {max(len(s) for s in self.streams)}): lower window"
            )
        short = int((self.n_windows_per_stream == 0).sum())
        if short:
            warnings.warn(
                f"{short} stream(s) shorter than window={self.window} give no windows", stacklevel=2
            )
        # windows offsets[i] .. offsets[i + 1] - 1 are the windows of stream i, in time order
        self.offsets = np.concatenate([[0], np.cumsum(counts)])  # (n_streams + 1,)
        self._offsets = self.offsets.tolist()  # for bisect on one index
        self.labels = None if labels is None else self._window_labels(labels, counts)
        self._views: list[np.ndarray] | None = None
        if origins is not None and len(origins) != len(self.streams):
            raise ConfigError(f"{len(origins)} origins for {len(self.streams)} streams")
        self.origins = None if origins is None else [(str(n), int(a)) for n, a in origins]

    @property
    def size(self) -> int:
        """Deprecated name of :attr:`window`."""
        renamed_keyword("WindowDataset", "size", True, "window", None)
        return self.window

    @property
    def step(self) -> int:
        """Deprecated name of :attr:`hop`."""
        renamed_keyword("WindowDataset", "step", True, "hop", None)
        return self.hop

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
                    window_labels(
                        np.asarray(label), self.window, self.hop, label_reduce=self.label_reduce
                    )
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
        """Per stream, read-only window views ``(n_windows_i, window, channels)`` (or
        ``(n_windows_i, channels, window)`` when ``channels_first``), built on first use."""
        if self._views is None:
            self._views = []
            for stream, count in zip(self.streams, self.n_windows_per_stream):
                rows, cols = stream.strides
                if self.channels_first:  # (time, channels) -> (n, channels, window)
                    shape, strides = (
                        (count, self.n_channels, self.window),
                        (self.hop * rows, cols, rows),
                    )
                else:  # (time, channels) -> (n, window, channels)
                    shape, strides = (
                        (count, self.window, self.n_channels),
                        (self.hop * rows, rows, cols),
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
        return np.stack([streams, ordinals * self.hop], axis=1)  # (n_windows, 2)

    def window_table(self):
        """Per window, ``recording`` and ``start_sample`` (its first sample in the recording) as
        a pandas DataFrame, in window order; ``None`` without ``origins``."""
        if self.origins is None:
            return None
        import pandas as pd

        streams, starts = self.index.T  # (n_windows,) each
        return pd.DataFrame(
            {
                "recording": [self.origins[s][0] for s in streams],
                "start_sample": [self.origins[s][1] + int(a) for s, a in zip(streams, starts)],
            }
        )

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
        window = np.array(self.views[stream][ordinal])  # (channels, window) copy
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
            ``x`` float32 ``(batch, channels, window)`` (``(batch, window, channels)`` without
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
        """In place on a fresh copy: ``(..., channels, window)`` or ``(..., window, channels)``."""
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
