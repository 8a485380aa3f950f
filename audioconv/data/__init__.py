"""Datasets, splits, class balance, augmentation, feature cache and Lightning DataModules.

Names load on first use, so ``import audioconv.data`` stays fast and imports Lightning only when a
DataModule is asked for.

- audio: :class:`AudioDataset`, :class:`AudioFolder`, :class:`AudioManifest`
  (``audioconv.data.audio``); public layouts in :mod:`audioconv.data.layouts`
  (``fsdd``, ``speech_commands``, ``gtzan``, ``esc50``, ``ravdess``, ``cremad``, ``tags_csv``;
  every registered one by name: ``read_layout``, ``list_layouts``, ``register_layout``),
- images: ``image_folder``, ``mnist``, ``cifar10``, ``load_digits_images``,
- time series: ``load_ucr``, ``load_ts``, ``bundled_ucr``,
- splits: ``assign_splits``, ``folds_to_splits``, ``resolve_splits``,
- imbalance: ``class_weights``, ``balanced_sampler``,
- augmentation modules (:mod:`audioconv.data.augment`), ``cached_features``,
- ``AudioDataModule``, ``ImageDataModule``, ``TimeSeriesDataModule``.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "audio": ("AudioDataset", "AudioFolder", "AudioManifest"),
    "base": ("ArrayDataset", "LabeledDataset"),
    "layouts": (
        "cremad", "esc50", "fsdd", "gtzan", "list_layouts", "ravdess", "read_layout",
        "register_layout", "speech_commands", "tags_csv",
    ),
    "images": ("cifar10", "image_folder", "load_digits_images", "mnist"),
    "timeseries": ("bundled_ucr", "load_ts", "load_ucr"),
    "splits": ("assign_splits", "folds_to_splits", "resolve_splits"),
    "sampling": ("balanced_sampler", "class_weights"),
    "augment": (
        "AddNoise", "BackgroundNoise", "CopyPaste", "Gain", "ImageAugment", "Mixup", "PitchShift",
        "SpecAugment", "SpeedPerturb", "TimeShift", "apply_augment",
    ),
    "cache": ("CachedFeatures", "cached_features"),
    "datamodules": ("AudioDataModule", "ImageDataModule", "TimeSeriesDataModule", "pad_collate"),
}  # fmt: skip
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'audioconv.data' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*__all__, *_EXPORTS])
