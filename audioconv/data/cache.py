"""Feature cache: compute features once, store them as a memory-mapped ``.npy``, reuse them.

The cache key is a SHA-256 over the audioconv version, the feature module's configuration — a
registered front end (:mod:`audioconv.features.registry`) by its name and keyword arguments, any
other module by its class, ``repr`` and every buffer (non-persistent ones included, e.g. MFCC's
DCT matrix) — and the tensors of its ``state_dict`` (fitted statistics count), the dataset's
options (sample rate, channels, task), transform and class names and, per file, the path, size,
mtime and segment. Change any of them and the key changes, so the features are recomputed in a new
folder ``<cache_dir>/<key[:20]>/``.

One writer: building holds a file lock ``<cache_dir>/<key[:20]>.lock``, so processes that ask
for the same cache at once (DDP ranks, parallel jobs on one machine) build it once — the others
wait and then read it. A complete folder is never deleted; a half-written one only by the lock
holder. Under Lightning, :meth:`AudioDataModule.prepare_data` builds the caches on one process
per node before any rank's ``setup``.

Crash safety: ``features.npy`` and ``labels.npy`` are written to temporary files and renamed into
place; ``complete.json`` (key, shape, dtype, byte size) is written last, also atomically. A folder
without a matching ``complete.json`` is never read — a run killed mid-write recomputes.

Use a deterministic dataset transform (e.g. a centre crop) with a cache: a random crop would be
frozen into the stored features.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from filelock import FileLock
from torch import nn
from torch.utils.data import DataLoader, Dataset

import audioconv
from audioconv._atomic import atomic_path, atomic_write_text
from audioconv._plain import attached_config
from audioconv.errors import CacheError, ConfigError

__all__ = ["CachedFeatures", "cache_key", "cached_features"]

_FORMAT_VERSION = 3  # 3: clips are resampled with contract.resample, as at inference


def _registered_config(module: nn.Module) -> dict | None:
    """``{"name", "kwargs"}`` of a registered component (its ``config``), else None."""
    config = attached_config(module)
    if isinstance(config, Mapping) and isinstance(config.get("name"), str):
        return {"name": config["name"], "kwargs": dict(config.get("kwargs") or {})}
    return None


def _module_digest(module: nn.Module | None, digest) -> None:
    if module is None:
        digest.update(b"<no feature>")
        return
    config = _registered_config(module)
    if config is not None:  # a registered component: its name and keyword arguments
        digest.update(json.dumps(config, sort_keys=True, default=repr).encode())
        tensors = dict(module.state_dict())  # fitted statistics / learned weights
    else:  # anything else: its full repr and every buffer, persistent or not
        name = f"{type(module).__module__}.{type(module).__qualname__}"
        digest.update(f"{name}\n{module!r}".encode())
        tensors = {**dict(module.named_buffers()), **module.state_dict()}
    for name, tensor in sorted(tensors.items()):
        array = tensor.detach().cpu().contiguous().numpy()
        digest.update(f"{name}:{array.dtype}:{array.shape}".encode())
        digest.update(array.tobytes())


def cache_key(dataset, feature: nn.Module | None) -> str:
    """Hex SHA-256 identifying ``feature`` applied to ``dataset`` (an ``AudioDataset``)."""
    version = f"audioconv-feature-cache-v{_FORMAT_VERSION}-{audioconv.__version__}"
    digest = hashlib.sha256(version.encode())
    _module_digest(feature, digest)
    transform = getattr(dataset, "transform", None)
    digest.update(repr(transform).encode())
    if isinstance(transform, nn.Module):
        _module_digest(transform, digest)
    options = {
        "dataset": type(dataset).__qualname__,
        "sample_rate": getattr(dataset, "sample_rate", None),
        "mono": getattr(dataset, "mono", None),
        "task": getattr(dataset, "task", None),
        "class_names": list(getattr(dataset, "class_names", [])),
        "files": dataset.fingerprint(),
    }
    digest.update(json.dumps(options, default=str, sort_keys=True).encode())
    return digest.hexdigest()


class CachedFeatures(Dataset):
    """Stored features: ``ds[i]`` is ``(features[i], label[i])`` read from the memory map.

    ``features`` is a read-only ``np.memmap`` ``(n, *feature_shape)``; ``computed`` says whether
    this call computed them (``False``: read from the cache).
    """

    def __init__(self, folder: Path, key: str, *, computed: bool, class_names, task):
        self.folder, self.key, self.computed = folder, key, computed
        self.features = np.load(folder / "features.npy", mmap_mode="r")
        self.labels = np.load(folder / "labels.npy")
        self.class_names, self.task = list(class_names), task

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def targets(self) -> np.ndarray:
        return self.labels

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.from_numpy(np.array(self.features[index])), torch.as_tensor(self.labels[index])


def _read_complete(folder: Path, key: str) -> dict | None:
    """The completion record if the folder holds a finished cache for ``key``, else None."""
    try:
        record = json.loads((folder / "complete.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    features = folder / "features.npy"
    if (
        record.get("key") != key
        or not features.is_file()
        or features.stat().st_size != record.get("features_bytes")
        or not (folder / "labels.npy").is_file()
    ):
        return None
    return record


def _compute(
    dataset, compute, folder: Path, key: str, batch_size: int, num_workers: int, description: str
) -> None:
    # A stale record must go first: from here on the folder is incomplete until rewritten.
    (folder / "complete.json").unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    labels, offset, shape = [], 0, None
    with atomic_path(folder / "features.npy") as tmp:
        store = None
        with torch.inference_mode():
            for x, y in loader:
                out = compute(x) if compute is not None else x
                if store is None:
                    shape = tuple(out.shape[1:])
                    store = np.lib.format.open_memmap(
                        tmp, mode="w+", dtype=np.float32, shape=(len(dataset), *shape)
                    )
                elif tuple(out.shape[1:]) != shape:
                    raise ConfigError(
                        f"features have shape {tuple(out.shape[1:])} in one batch and {shape} in "
                        "another; give the dataset a fixed length (FixedLength) before caching"
                    )
                store[offset : offset + len(out)] = out.float().cpu().numpy()
                offset += len(out)
                labels.append(y.numpy())
        if store is None:
            raise CacheError(f"{folder}: the dataset is empty; nothing to cache")
        store.flush()
        del store
    with atomic_path(folder / "labels.npy") as tmp:
        np.save(tmp, np.concatenate(labels))
    record = {
        "key": key,
        "n": offset,
        "shape": list(shape),
        "dtype": "float32",
        "features_bytes": (folder / "features.npy").stat().st_size,
        "feature": description,
    }
    atomic_write_text(folder / "complete.json", json.dumps(record, indent=1))


def cached_features(
    dataset,
    feature: nn.Module | None,
    *,
    cache_dir: str | os.PathLike,
    batch_size: int = 32,
    num_workers: int = 0,
    device: str | torch.device = "cpu",
) -> CachedFeatures:
    """Features of every item of ``dataset`` (``(wave, label)`` items of one shape) under
    ``feature`` (``(batch, channels, time)`` -> ``(batch, *feature_shape)``, or ``None`` to cache
    the waves), computed on ``device`` once and then read from ``cache_dir``.

    The cache folder of a different configuration is left alone; delete ``cache_dir`` to reclaim it.
    Concurrent callers for the same cache build it once (a file lock; the others wait, then read).
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size={batch_size!r} must be >= 1")
    key = cache_key(dataset, feature)
    folder = Path(cache_dir) / key[:20]
    names = getattr(dataset, "class_names", [])
    task = getattr(dataset, "task", None)
    if _read_complete(folder, key) is not None:
        return CachedFeatures(folder, key, computed=False, class_names=names, task=task)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(folder.parent / f"{folder.name}.lock"):
        if _read_complete(folder, key) is not None:  # built by another process while we waited
            return CachedFeatures(folder, key, computed=False, class_names=names, task=task)
        if folder.exists():  # half-written by a process that died: no one else writes it now
            shutil.rmtree(folder)
        compute = None
        if feature is not None:
            module = feature.to(device).eval()

            def compute(x: torch.Tensor) -> torch.Tensor:
                return module(x.to(device))

        _compute(dataset, compute, folder, key, batch_size, num_workers, repr(feature))
    return CachedFeatures(folder, key, computed=True, class_names=names, task=task)
