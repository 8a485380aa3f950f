"""Labelled in-memory datasets shared by the image and time-series loaders.

Every dataset the DataModules take offers ``class_names``, ``task``, ``num_classes`` and
``targets()`` (all labels as an array, without loading inputs), and yields ``(x, label)``.

>>> import torch
>>> ds = ArrayDataset(torch.zeros(4, 1, 10), torch.tensor([0, 1, 0, 1]), class_names=["a", "b"])
>>> len(ds), ds[1][0].shape, int(ds[1][1]), ds.targets().tolist()
(4, torch.Size([1, 10]), 1, [0, 1, 0, 1])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from audioconv.errors import ConfigError

__all__ = ["ArrayDataset", "LabeledDataset"]


class ArrayDataset(Dataset):
    """``x`` ``(n, channels, *size)`` and labels ``y``: ``(n,)`` int64 or ``(n, k)`` multi-hot.

    ``lengths`` ``(n,)`` holds the true length of each padded or resampled series (``None`` when
    all were full length).
    ``groups`` ``(n,)`` optionally names the recording / subject of each example (leak-free
    splits).
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        class_names: Sequence[str],
        task: str = "multiclass",
        lengths: torch.Tensor | None = None,
        groups: np.ndarray | None = None,
    ):
        if len(x) != len(y):
            raise ConfigError(f"x has {len(x)} examples but y has {len(y)}")
        self.x, self.y = torch.as_tensor(x), torch.as_tensor(y)
        self.class_names, self.task = list(class_names), task
        self.lengths, self.groups = lengths, groups

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def targets(self) -> np.ndarray:
        return self.y.numpy()

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[index], self.y[index]


class LabeledDataset(Dataset):
    """Wrap a dataset of ``(x, int label)`` (e.g. torchvision's) with class names and targets;
    ``paths``: each sample's file, when samples are files (recorded in ``splits.csv``)."""

    def __init__(
        self, dataset: Dataset, targets: Sequence[int], *, class_names: Sequence[str],
        task: str = "multiclass", paths: Sequence[str] | None = None,
    ):  # fmt: skip
        self.dataset = dataset
        self._targets = np.asarray(targets, dtype=np.int64)
        self.class_names, self.task = list(class_names), task
        if paths is not None and len(paths) != len(self._targets):
            raise ConfigError(f"{len(paths)} paths for {len(self._targets)} samples")
        self.paths = None if paths is None else [str(p) for p in paths]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def targets(self) -> np.ndarray:
        return self._targets

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, _ = self.dataset[index]
        return x, torch.tensor(self._targets[index])
