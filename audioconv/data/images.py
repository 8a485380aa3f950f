"""Image datasets: folders of images, MNIST (idx files) and CIFAR-10 (python batches) from a local
folder through torchvision (never downloading), and scikit-learn's 8x8 digits built in.

Images come out as float32 ``(channels, height, width)`` in [0, 1].

>>> ds = load_digits_images(size=16)
>>> len(ds), ds[0][0].shape, ds.class_names[:3]
(1797, torch.Size([1, 16, 16]), ['0', '1', '2'])
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import torch
import torchvision.transforms.v2 as v2
from torchvision import datasets

from audioconv.data.base import ArrayDataset, LabeledDataset
from audioconv.errors import ConfigError, DatasetError

__all__ = ["cifar10", "image_folder", "load_digits_images", "mnist"]

MNIST_FILES = (
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
)  # fmt: skip
CIFAR10_FILES = (
    "data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
    "test_batch", "batches.meta",
)  # fmt: skip


def _to_tensor(size: int | None = None, grayscale: bool = False) -> v2.Compose:
    steps = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    if grayscale:
        steps.append(v2.Grayscale())
    if size is not None:
        steps.append(v2.Resize((size, size), antialias=True))
    return v2.Compose(steps)


def image_folder(
    root: str | os.PathLike, *, size: int | None = None, grayscale: bool = False
) -> LabeledDataset:
    """One sub-folder per class of png / jpg / ... images (``torchvision.datasets.ImageFolder``),
    resized to ``size x size`` when given. An empty class folder is an error."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder; pass the folder holding one folder per class")
    try:
        folder = datasets.ImageFolder(root, transform=_to_tensor(size, grayscale))
    except FileNotFoundError as error:
        raise DatasetError(
            f"{root}: {error}; every class folder needs at least one image"
        ) from error
    return LabeledDataset(folder, folder.targets, class_names=folder.classes)


def mnist(root: str | os.PathLike, *, train: bool = True) -> LabeledDataset:
    """MNIST from the idx files in ``<root>/MNIST/raw/`` (torchvision's layout, ``download=False``);
    ``(1, 28, 28)`` images."""
    raw = Path(root) / "MNIST" / "raw"
    missing = [name for name in MNIST_FILES if not (raw / name).is_file()]
    if missing:
        raise DatasetError(
            f"MNIST files missing: {missing}. Put the four (un-gzipped) idx files from "
            f"http://yann.lecun.com/exdb/mnist/ in {raw}/ (nothing is downloaded at run time)"
        )
    data = datasets.MNIST(root, train=train, download=False, transform=_to_tensor())
    return LabeledDataset(data, data.targets.tolist(), class_names=[str(d) for d in range(10)])


class _CIFAR10Local(datasets.CIFAR10):
    """CIFAR-10 that checks only that the batch files exist (not their MD5 sums); the files are
    pickles, so only load copies you trust (as with torchvision's own loader)."""

    def _check_integrity(self) -> bool:
        return all((Path(self.root) / self.base_folder / name).is_file() for name in CIFAR10_FILES)

    def _load_meta(self) -> None:
        with (Path(self.root) / self.base_folder / self.meta["filename"]).open("rb") as handle:
            meta = pickle.load(handle, encoding="latin1")
        self.classes = meta[self.meta["key"]]
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}


def cifar10(root: str | os.PathLike, *, train: bool = True, verify: bool = True) -> LabeledDataset:
    """CIFAR-10 from the python batches in ``<root>/cifar-10-batches-py/`` (``download=False``);
    ``(3, 32, 32)`` images. ``verify=False`` skips torchvision's MD5 check (re-packed copies)."""
    folder = Path(root) / "cifar-10-batches-py"
    missing = [name for name in CIFAR10_FILES if not (folder / name).is_file()]
    if missing:
        raise DatasetError(
            f"CIFAR-10 files missing: {missing}. Extract cifar-10-python.tar.gz from "
            f"https://www.cs.toronto.edu/~kriz/cifar.html so that {folder}/ holds data_batch_1..5, "
            "test_batch and batches.meta (nothing is downloaded at run time)"
        )
    kind = datasets.CIFAR10 if verify else _CIFAR10Local
    try:
        data = kind(root, train=train, download=False, transform=_to_tensor())
    except RuntimeError as error:
        raise DatasetError(
            f"{folder}: {error}; the batches fail torchvision's MD5 check: re-extract them, or "
            "pass verify=False for a re-packed copy"
        ) from error
    return LabeledDataset(data, data.targets, class_names=data.classes)


def load_digits_images(*, size: int | None = None) -> ArrayDataset:
    """scikit-learn's built-in 8x8 handwritten digits (1,797 images, classes '0'..'9') as
    ``(1, 8, 8)`` images in [0, 1], or bilinearly upsampled to ``(1, size, size)``."""
    from sklearn.datasets import load_digits

    if size is not None and size < 8:
        raise ConfigError(f"size={size!r} must be >= 8 (the digits are 8x8)")
    digits = load_digits()
    images = torch.as_tensor(digits.images / 16.0, dtype=torch.float32)[
        :, None
    ]  # (n, 8, 8) -> (n, 1, 8, 8)
    if size is not None and size != 8:
        images = torch.nn.functional.interpolate(
            images, size=(size, size), mode="bilinear", align_corners=False
        ).clamp_(0, 1)
    labels = torch.as_tensor(np.asarray(digits.target), dtype=torch.int64)
    return ArrayDataset(images, labels, class_names=[str(d) for d in range(10)])
