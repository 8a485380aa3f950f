"""Lightning DataModules for audio, images and time series.

Each DataModule builds its train / val / test datasets in ``setup`` and exposes ``class_names``,
``num_classes``, ``task``, ``in_channels``, ``train_labels()`` and ``class_weights()``; batches are
``(x, y)`` tuples. ``augment`` (a module or a list, see :mod:`audioconv.data.augment`) runs on the
training device in ``on_after_batch_transfer`` and only while the Trainer is training, so
validation, test and predict batches are never augmented. ``balanced=True`` draws training batches
with :func:`audioconv.data.sampling.balanced_sampler` instead of shuffling.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from audioconv._plain import renamed_keyword
from audioconv.contract import ClipWindows
from audioconv.data.audio import AudioDataset, AudioFolder, AudioManifest
from audioconv.data.augment import apply_augment
from audioconv.data.cache import cached_features
from audioconv.data.sampling import balanced_sampler, class_weights
from audioconv.data.splits import assign_splits, resolve_splits
from audioconv.errors import ConfigError, check_positive

__all__ = [
    "AudioDataModule",
    "ImageDataModule",
    "TimeSeriesDataModule",
    "pad_collate",
    "window_collate",
]


def pad_collate(
    batch: Sequence[tuple[torch.Tensor, torch.Tensor]],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack ``(channels, time_i)`` clips into ``(batch, channels, max time)``, zero-padding the
    shorter ones at the end; labels are stacked."""
    waves, labels = zip(*batch, strict=True)
    longest = max(w.shape[-1] for w in waves)
    x = torch.stack([nn.functional.pad(w, (0, longest - w.shape[-1])) for w in waves])
    return x, torch.stack(labels)


def window_collate(
    batch: Sequence[tuple[torch.Tensor, torch.Tensor]],
) -> tuple[ClipWindows, torch.Tensor]:
    """Evaluation batches of clips cut into windows by the input contract: ``(windows_i,
    channels, window)`` items -> ``ClipWindows(windows (sum windows_i, channels, window),
    counts (batch,))`` and the clips' stacked labels; the task scores each clip by the mean of
    its windows' outputs."""
    waves, labels = zip(*batch, strict=True)
    windows = torch.cat(waves)  # clips' (n_i, channels, window) -> (sum n_i, channels, window)
    counts = torch.tensor([len(w) for w in waves])
    return ClipWindows(windows, counts), torch.stack(labels)


def _targets(dataset) -> np.ndarray:
    if hasattr(dataset, "targets") and callable(dataset.targets):
        return np.asarray(dataset.targets())
    labels = getattr(dataset, "labels", None)
    if labels is None:
        raise ConfigError(f"{type(dataset).__name__} has no labels (targets() or .labels)")
    return np.asarray(labels)


class _LabeledDataModule(L.LightningDataModule):
    """Loaders, augmentation and metadata shared by the DataModules; subclasses fill ``_build``."""

    def __init__(
        self,
        *,
        batch_size: int,
        num_workers: int,
        augment: nn.Module | Sequence[nn.Module] | None,
        balanced: bool,
        seed: int,
    ):
        super().__init__()
        if batch_size < 1:
            raise ConfigError(f"batch_size={batch_size!r} must be >= 1")
        if num_workers < 0:
            raise ConfigError(f"num_workers={num_workers!r} must be >= 0")
        self.batch_size, self.num_workers = batch_size, num_workers
        self.augment = augment
        self.balanced, self.seed = balanced, seed
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None
        self._labels: np.ndarray | None = None
        self._meta: dict[str, Any] = {}
        self.collate_fn = None
        self.eval_collate_fn = None  # validation / test batches, when they differ from training
        #: what one evaluated sample is: "window" (a model input) or "clip"; None: not stated
        self.eval_level: str | None = None

    def _build(self) -> None:
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            self._build()

    def _ensure(self) -> None:
        if self.train_set is None:
            self.setup()

    @property
    def class_names(self) -> list[str]:
        self._ensure()
        return self._meta["class_names"]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def task(self) -> str:
        self._ensure()
        return self._meta["task"]

    @property
    def in_channels(self) -> int:
        self._ensure()
        return int(self.train_set[0][0].shape[0])

    def train_labels(self) -> np.ndarray:
        """Labels of the training split: ``(n,)`` int64 or ``(n, k)`` multi-hot."""
        self._ensure()
        return self._labels

    def class_weights(self) -> torch.Tensor:
        """Balanced loss weights from the training labels (see ``sampling.class_weights``)."""
        return class_weights(self.train_labels(), num_classes=self.num_classes)

    def sample_table(self) -> pd.DataFrame:
        """Which sample went to which split, in loader order: ``source`` (the dataset passed in
        that holds it: ``train`` / ``val`` / ``test``), ``index`` in that dataset, ``recording``
        and ``start_sample`` when every dataset's samples are windows of named recordings (its
        ``window_table()``), ``path`` and ``label`` when they are files (its ``paths``, e.g. an
        image folder); then ``split``."""
        self._ensure()
        rows, datasets = [], {}
        for split, dataset in (("train", self.train_set), ("val", self.val_set),
                               ("test", self.test_set)):  # fmt: skip
            if dataset is None:
                continue
            if isinstance(dataset, Subset):  # carved out of the train source
                datasets["train"] = dataset.dataset
                rows += [("train", int(i), split) for i in dataset.indices]
            else:
                datasets[split] = dataset
                rows += [(split, i, split) for i in range(len(dataset))]
        table = pd.DataFrame(rows, columns=["source", "index", "split"])
        windows = {name: getattr(d, "window_table", lambda: None)() for name, d in datasets.items()}
        if datasets and all(w is not None for w in windows.values()):  # where each window lies
            recording = np.empty(len(table), dtype=object)
            start = np.empty(len(table), dtype=np.int64)
            for source, rows in table.groupby("source").indices.items():
                part = windows[source].iloc[table["index"].to_numpy()[rows]]
                recording[rows], start[rows] = part["recording"], part["start_sample"]
            table.insert(2, "recording", recording)
            table.insert(3, "start_sample", start)
        if datasets and all(getattr(d, "paths", None) is not None for d in datasets.values()):
            names = self.class_names
            pairs = [(datasets[source].paths[i], names[int(datasets[source].targets()[i])])
                     for source, i in zip(table["source"], table["index"])]  # fmt: skip
            table.insert(2, "path", [path for path, _ in pairs])
            table.insert(3, "label", [label for _, label in pairs])
        return table

    def _loader(self, dataset: Dataset | None, *, train: bool) -> DataLoader:
        if dataset is None:
            raise ConfigError("this DataModule has no such split")
        sampler, shuffle = None, train
        if train and self.balanced:
            generator = torch.Generator().manual_seed(self.seed)
            sampler, shuffle = balanced_sampler(self._labels, generator=generator), False
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            sampler=sampler,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),  # page-locked batches only help a GPU
            collate_fn=self.collate_fn if train or self.eval_collate_fn is None
            else self.eval_collate_fn,
        )  # fmt: skip

    def train_dataloader(self) -> DataLoader:
        self._ensure()
        return self._loader(self.train_set, train=True)

    def val_dataloader(self) -> DataLoader:
        self._ensure()
        return self._loader(self.val_set, train=False)

    def test_dataloader(self) -> DataLoader:
        self._ensure()
        return self._loader(self.test_set, train=False)

    def predict_dataloader(self) -> DataLoader:
        return self.test_dataloader()

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Augment ``(x, y)`` on its device, only while training."""
        trainer = getattr(self, "trainer", None)
        if self.augment is None or trainer is None or not trainer.training:
            return batch
        x, y = batch
        modules = self.augment if isinstance(self.augment, Sequence) else [self.augment]
        for module in modules:
            module.to(x.device)
        return apply_augment(self.augment, x, y)


def _carve(
    labels: np.ndarray, groups, *, val_size: float, test_size: float, seed: int
) -> dict[str, np.ndarray]:
    split = assign_splits(labels, groups=groups, val_size=val_size, test_size=test_size, seed=seed)
    return {name: np.flatnonzero(split == name) for name in ("train", "val", "test")}


class AudioDataModule(_LabeledDataModule):
    """Audio clips to ``(batch, channels, time)`` waveforms (or cached features).

    ``data``: an :class:`AudioDataset`, a manifest DataFrame (e.g. from
    :mod:`audioconv.data.layouts`), a CSV manifest path, or a class-per-folder directory.
    Splits follow :func:`audioconv.data.splits.resolve_splits` (``split``, ``val_size``,
    ``test_size``, ``test_fold``, ``val_fold``, ``seed``); a ``group`` column keeps every speaker /
    recording in one split. ``window`` (samples, the input contract's name; ``fixed_length`` is its
    deprecated name) crops / pads every training clip (a random
    crop); validation and test clips go through the input contract's rule
    (:meth:`audioconv.contract.InputContract.apply`, the one ``predict`` and every export use):
    padded at the end, or cut into sliding windows (half a window apart), and each is scored as a
    clip by the mean of its windows' outputs (``eval_level = "clip"``; ``test_clips`` gives the
    whole clips, which ``audioconv test`` runs through a checkpoint's contract). Without
    ``window`` clips of different lengths are zero-padded to the longest in each batch.
    ``features`` plus ``cache_dir`` store the features of every split once
    (:func:`audioconv.data.cache.cached_features`); batches are then features, e.g. ``(batch,
    channels, freq, time)``, and crops are always centred (one window per clip).
    """

    def __init__(
        self,
        data: AudioDataset | pd.DataFrame | str | os.PathLike,
        *,
        class_names: Sequence[str] | None = None,
        sample_rate: int | None = None,
        window: int | None = None,
        on_error: str = "raise",
        split: str = "auto",
        val_size: float = 0.1,
        test_size: float = 0.1,
        test_fold: int | None = None,
        val_fold: int | None = None,
        seed: int = 0,
        batch_size: int = 32,
        num_workers: int = 0,
        augment: nn.Module | Sequence[nn.Module] | None = None,
        balanced: bool = False,
        features: nn.Module | None = None,
        cache_dir: str | os.PathLike | None = None,
        fixed_length: int | None = None,
    ):
        super().__init__(
            batch_size=batch_size, num_workers=num_workers, augment=augment, balanced=balanced,
            seed=seed,
        )  # fmt: skip
        window = renamed_keyword("AudioDataModule", "fixed_length", fixed_length, "window", window)
        self.save_hyperparameters(
            ignore=("data", "augment", "features", "cache_dir", "fixed_length"), logger=False
        )
        if window is not None:
            window = check_positive("window", window)
        if features is not None and cache_dir is None:
            raise ConfigError(
                "features= needs cache_dir=; to compute features on the fly put the feature module "
                "in the model (Classifier(frontend=...))"
            )
        if isinstance(data, AudioDataset) and (class_names is not None or sample_rate is not None):
            raise ConfigError(
                "class_names / sample_rate configure a dataset built here; set them on the "
                "AudioDataset you pass instead"
            )
        self.data = data
        self.dataset_options = {
            "class_names": class_names, "sample_rate": sample_rate, "on_error": on_error,
        }  # fmt: skip
        self.split_options = {
            "split": split, "val_size": val_size, "test_size": test_size,
            "test_fold": test_fold, "val_fold": val_fold, "seed": seed,
        }  # fmt: skip
        self.window, self.features, self.cache_dir = window, features, cache_dir
        self.dataset: AudioDataset | None = None
        self.split_indices: dict[str, np.ndarray] = {}

    @property
    def fixed_length(self) -> int | None:
        """Deprecated name of :attr:`window`."""
        renamed_keyword("AudioDataModule", "fixed_length", True, "window", None)
        return self.window

    def _dataset(self) -> AudioDataset:
        data, options = self.data, self.dataset_options
        if isinstance(data, AudioDataset):
            return data
        if isinstance(data, pd.DataFrame):
            return AudioDataset(data, **options)
        path = Path(data)
        if path.is_dir():
            return AudioFolder(path, **options)
        return AudioManifest(path, **options)

    def sample_table(self) -> pd.DataFrame:
        """Every clip in loader order: ``path``, ``offset`` / ``duration`` (seconds) when clips
        are segments of longer files (e.g. Speech Commands' silence), ``label`` (or ``tags``,
        ``;``-joined), ``group`` when the manifest has one, and ``split``."""
        self._ensure()
        manifest = self.dataset.manifest
        columns = ["path"]
        if "offset" in manifest.columns and manifest["offset"].notna().any():
            columns += [c for c in ("offset", "duration") if c in manifest.columns]
        columns += [c for c in ("label", "tags", "group") if c in manifest.columns]
        parts = []
        for split, rows in self.split_indices.items():
            part = manifest.iloc[rows][columns].copy()
            if "tags" in part.columns:
                part["tags"] = [";".join(tags) for tags in part["tags"]]
            parts.append(part.assign(split=split))
        return pd.concat(parts, ignore_index=True)

    def prepare_data(self) -> None:
        """With ``cache_dir``: build the feature caches. Lightning calls this on one process per
        node and makes the other ranks wait before ``setup``, which then reads the caches."""
        if self.cache_dir is not None:
            self._ensure()

    def test_clips(self) -> tuple[Iterator[torch.Tensor], float | None, np.ndarray, list[str]]:
        """The test split's whole clips as training reads them (``(channels, time)`` at the
        dataset's rate, not cropped or padded), lazily; that rate; their labels ``(n,)`` (or
        multi-hot ``(n, C)``); their paths. For clip-level evaluation through a model's input
        contract."""
        self._ensure()
        rows = self.split_indices["test"]
        clips = self.dataset.subset(rows)
        labels = self.dataset.targets()[rows]
        paths = [str(p) for p in clips.manifest["path"]]
        return (clips.load(i) for i in range(len(rows))), self.dataset.sample_rate, labels, paths

    def _build(self) -> None:
        from audioconv.contract import InputContract
        from audioconv.features import FixedLength

        dataset = self._dataset()
        labels = dataset.targets()
        split = resolve_splits(dataset.manifest, labels, **self.split_options)
        self.split_indices = {
            name: np.flatnonzero(split == name) for name in ("train", "val", "test")
        }
        if len(self.split_indices["train"]) == 0:
            raise ConfigError("the training split is empty; check split / test_fold / val_size")
        sets = {}
        windows = self.window is not None and self.cache_dir is None and dataset.mono
        contract = InputContract(window=self.window) if windows else None
        for name, rows in self.split_indices.items():
            transform = None
            if windows and name != "train":
                transform = contract.apply  # (1, time) -> (windows, 1, window)
            elif self.window is not None:
                crop = "random" if name == "train" and self.cache_dir is None else "center"
                transform = FixedLength(self.window, crop=crop)
            subset = dataset.subset(rows, transform=transform) if len(rows) else None
            if subset is not None and self.cache_dir is not None:
                subset = cached_features(
                    subset, self.features, cache_dir=self.cache_dir, batch_size=self.batch_size
                )
            sets[name] = subset
        self.dataset = dataset
        self.train_set, self.val_set, self.test_set = sets["train"], sets["val"], sets["test"]
        self._labels = labels[self.split_indices["train"]]
        self._meta = {"class_names": dataset.class_names, "task": dataset.task}
        self.collate_fn = pad_collate if self.window is None and self.cache_dir is None else None
        self.eval_collate_fn = window_collate if windows else None
        self.eval_level = "clip" if windows else None


class ImageDataModule(_LabeledDataModule):
    """Images ``(batch, channels, height, width)``.

    ``train`` (and optional ``test`` / ``val``) are labelled datasets from
    :mod:`audioconv.data.images`. A missing ``test`` is carved out of ``train`` (``test_size``,
    stratified), then a missing ``val`` (``val_size`` of the whole). Use
    :class:`~audioconv.data.augment.ImageAugment` as ``augment``.
    """

    def __init__(
        self,
        train: Dataset,
        *,
        test: Dataset | None = None,
        val: Dataset | None = None,
        val_size: float = 0.1,
        test_size: float = 0.1,
        seed: int = 0,
        batch_size: int = 64,
        num_workers: int = 0,
        augment: nn.Module | Sequence[nn.Module] | None = None,
        balanced: bool = False,
    ):
        super().__init__(
            batch_size=batch_size, num_workers=num_workers, augment=augment, balanced=balanced,
            seed=seed,
        )  # fmt: skip
        self.save_hyperparameters(ignore=("train", "test", "val", "augment"), logger=False)
        self.sources = {"train": train, "val": val, "test": test}
        self.val_size, self.test_size = val_size, test_size

    def _build(self) -> None:
        _build_from_sources(self, groups=None)


class TimeSeriesDataModule(_LabeledDataModule):
    """Series / sensor windows ``(batch, channels, time)``.

    ``train`` (and optional ``test`` / ``val``): :class:`~audioconv.data.base.ArrayDataset` (from
    :func:`~audioconv.data.timeseries.load_ucr`) or ``audioconv.windows.WindowDataset``. Missing
    splits of an ``ArrayDataset`` are carved out of ``train`` (group-aware when it has ``groups``).
    Overlapping windows would leak across a carved split, so a ``WindowDataset`` needs its ``val``
    (and ``test``) passed in, split by stream with ``audioconv.windows.split_streams``.
    ``class_names`` is required for window datasets (they carry only integer labels).
    ``val_size=0`` with no ``val`` trains on all of ``train`` without validation (then monitor a
    training metric, e.g. ``train/loss``, for checkpoint selection).
    """

    def __init__(
        self,
        train: Dataset,
        *,
        test: Dataset | None = None,
        val: Dataset | None = None,
        class_names: Sequence[str] | None = None,
        task: str = "multiclass",
        val_size: float = 0.1,
        test_size: float = 0.1,
        seed: int = 0,
        batch_size: int = 64,
        num_workers: int = 0,
        augment: nn.Module | Sequence[nn.Module] | None = None,
        balanced: bool = False,
    ):
        super().__init__(
            batch_size=batch_size, num_workers=num_workers, augment=augment, balanced=balanced,
            seed=seed,
        )  # fmt: skip
        windowed = not hasattr(train, "targets")
        if windowed and (val is None or (test is None and test_size > 0)):
            raise ConfigError(
                "window datasets must come with val (and test) datasets split by stream "
                "(audioconv.windows.split_streams): carving shuffled windows would leak "
                "overlapping windows across splits; or pass test_size=0 to train without a test "
                "split"
            )
        if windowed and class_names is None:
            raise ConfigError("class_names=[...] is required for window datasets")
        self.save_hyperparameters(ignore=("train", "test", "val", "augment"), logger=False)
        self.sources = {"train": train, "val": val, "test": test}
        self.val_size, self.test_size = val_size, test_size
        self.names_override, self.task_override = class_names, task

    def val_dataloader(self) -> DataLoader | list:
        """The validation loader; ``[]`` (Lightning skips validation) when there is none."""
        self._ensure()
        return [] if self.val_set is None else self._loader(self.val_set, train=False)

    def _build(self) -> None:
        _build_from_sources(self, groups=getattr(self.sources["train"], "groups", None))
        if hasattr(self.sources["train"], "window_table"):  # a WindowDataset: windows of streams
            self.eval_level = "window"
        if self.names_override is not None:
            self._meta["class_names"] = list(self.names_override)
        self._meta["task"] = getattr(self.sources["train"], "task", self.task_override)


def _build_from_sources(module, *, groups) -> None:
    sources = dict(module.sources)
    train = sources["train"]
    labels = _targets(train)
    missing_test = sources["test"] is None and module.test_size > 0
    missing_val = sources["val"] is None and module.val_size > 0
    if missing_test or missing_val:
        parts = _carve(
            labels, groups, seed=module.seed,
            val_size=module.val_size if missing_val else 0.0,
            test_size=module.test_size if missing_test else 0.0,
        )  # fmt: skip
        for name in ("val", "test"):
            if sources[name] is None and len(parts[name]):
                sources[name] = Subset(train, parts[name].tolist())
        sources["train"] = Subset(train, parts["train"].tolist())
        labels = labels[parts["train"]]
    module.train_set, module.val_set, module.test_set = (
        sources["train"], sources["val"], sources["test"],
    )  # fmt: skip
    module._labels = labels
    names = getattr(train, "class_names", None)
    if names is None:
        names = [str(c) for c in range(int(labels.max()) + 1)]
    module._meta = {"class_names": list(names), "task": getattr(train, "task", "multiclass")}
