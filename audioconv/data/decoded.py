"""Decode once: an :class:`~audioconv.data.AudioDataset` that keeps decoded, resampled clips in
memory up to a budget, so epochs after the first skip decoding and resampling.

Only the decoded waveform is kept (before the dataset's ``transform``), so random crops and the
batch augmentation stay random every epoch. Subsets (``dataset.subset``, the DataModule's splits)
share one store. Clips beyond ``max_bytes`` are decoded every time, as without the cache. With
``num_workers > 0`` each worker process fills its own store.

>>> import tempfile, torch
>>> from pathlib import Path
>>> from audioconv.data import AudioFolder
>>> from audioconv.io import save_audio
>>> root = Path(tempfile.mkdtemp())
>>> for name in ("dog/a.wav", "cat/c.wav"):
...     (root / name).parent.mkdir(exist_ok=True)
...     save_audio(root / name, 0.1 * torch.randn(1, 800), 8000)
>>> ds = keep_decoded(AudioFolder(root), max_bytes=10_000)
>>> ds[0][0].shape, ds.decoded_bytes
(torch.Size([1, 800]), 3200)
"""

from __future__ import annotations

import pandas as pd
import torch

from audioconv.data.audio import AudioDataset
from audioconv.errors import ConfigError

__all__ = ["DecodedInMemory", "keep_decoded"]


class _Store:
    """Decoded clips by ``(path, offset, duration)`` and the bytes they hold."""

    def __init__(self, max_bytes: int):
        self.max_bytes, self.bytes, self.clips = max_bytes, 0, {}


class DecodedInMemory(AudioDataset):
    """An :class:`AudioDataset` whose :meth:`load` decodes each clip once (see the module)."""

    _store: _Store

    def load(self, index: int) -> torch.Tensor:
        row = self.manifest.iloc[index]
        offset, duration = row.get("offset", None), row.get("duration", None)
        key = (
            row["path"],
            None if offset is None or pd.isna(offset) else float(offset),
            None if duration is None or pd.isna(duration) else float(duration),
        )
        wave = self._store.clips.get(key)
        if wave is None:
            wave = super().load(index)
            size = wave.element_size() * wave.nelement()
            if self._store.bytes + size <= self._store.max_bytes:
                self._store.clips[key] = wave
                self._store.bytes += size
        return wave.clone()  # a transform may write in place

    @property
    def decoded_bytes(self) -> int:
        """Bytes of decoded audio held in memory."""
        return self._store.bytes


def keep_decoded(dataset: AudioDataset, *, max_bytes: int) -> DecodedInMemory:
    """``dataset`` with decoded clips kept in memory up to ``max_bytes`` (shared by subsets)."""
    if not isinstance(dataset, AudioDataset):
        raise ConfigError(f"keep_decoded needs an AudioDataset, got {type(dataset).__name__}")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise ConfigError(f"max_bytes={max_bytes!r} must be an integer >= 0")
    view = object.__new__(DecodedInMemory)
    view.__dict__.update(dataset.__dict__)
    view._store = _Store(max_bytes)
    return view
