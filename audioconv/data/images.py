"""Image datasets: folders of images, MNIST (idx files) and CIFAR-10 (python batches) from a local
folder through torchvision (never downloading), and scikit-learn's 8x8 digits built in.

Images come out as float32 ``(channels, height, width)`` in [0, 1].

>>> ds = load_digits_images(size=16)
>>> len(ds), ds[0][0].shape, ds.class_names[:3]
(1797, torch.Size([1, 16, 16]), ['0', '1', '2'])
"""

from __future__ import annotations

import functools
import os
import pickle
from pathlib import Path

import numpy as np
import torch
import torchvision.transforms.v2 as v2
from torchvision import datasets

from audioconv.constants import IMAGE_EXTENSIONS, is_class_folder, is_hidden
from audioconv.data.base import ArrayDataset, LabeledDataset
from audioconv.decode import read_image
from audioconv.errors import ConfigError, DatasetError

__all__ = ["cifar10", "folder_dataset", "image_folder", "load_digits_images", "mnist"]

MNIST_FILES = (
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
)  # fmt: skip
CIFAR10_FILES = (
    "data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
    "test_batch", "batches.meta",
)  # fmt: skip


def _to_tensor() -> v2.Compose:
    """A PIL image (MNIST, CIFAR-10) -> ``(channels, height, width)`` float32 in [0, 1]."""
    return v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])


class _ImageFolder(datasets.ImageFolder):
    """``ImageFolder`` with the class-folder rule of the audio folders (names starting with
    ``.`` or ``_``, e.g. ``.ipynb_checkpoints``, ``__MACOSX``, are not classes); ``classes``
    fixes the class list and its order (a test folder numbered as its training folder)."""

    def __init__(self, root: Path, *, classes: list[str] | None = None, **kwargs):
        self.given_classes = classes
        super().__init__(root, allow_empty=classes is not None, **kwargs)

    def find_classes(self, directory: str | os.PathLike) -> tuple[list[str], dict[str, int]]:
        found = sorted(e.name for e in os.scandir(directory) if is_class_folder(e.path))
        if not found:
            raise FileNotFoundError(f"no class folder found in {directory}")
        classes = found if self.given_classes is None else list(self.given_classes)
        unknown = sorted(set(found) - set(classes))
        if unknown:
            raise DatasetError(
                f"{directory}: class folder(s) {unknown} are not among the training classes "
                f"{classes}; a model cannot be tested on a class it never trained on: add them "
                "to the training folder or remove them here"
            )
        return classes, {name: index for index, name in enumerate(classes)}


def _as_tensor(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pixels)


def image_folder(
    root: str | os.PathLike,
    *,
    size: int | None = None,
    grayscale: bool = False,
    classes: list[str] | None = None,
) -> LabeledDataset:
    """One sub-folder per class of images (``torchvision.datasets.ImageFolder``; the suffixes of
    ``constants.IMAGE_EXTENSIONS``), each read by :func:`audioconv.decode.read_image` (as
    ``audioconv predict`` reads it) and resized to ``size x size`` when given; hidden files
    (:func:`~audioconv.constants.is_hidden`) and folders starting with ``.`` / ``_`` are skipped.
    An empty class folder is an error. ``classes`` (e.g. the training folder's, for its test
    folder) fixes the class order: a class folder not among them is an error, a missing one is
    fine. The dataset's ``paths`` are its files, in order."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder; pass the folder holding one folder per class")

    def is_image(path: str) -> bool:
        return path.lower().endswith(IMAGE_EXTENSIONS) and not is_hidden(path, root)

    steps = [v2.Lambda(_as_tensor)]
    if size is not None:
        steps.append(v2.Resize((size, size), antialias=True))
    try:
        folder = _ImageFolder(
            root,
            classes=classes,
            loader=functools.partial(read_image, channels=1 if grayscale else 3),
            transform=v2.Compose(steps),
            is_valid_file=is_image,
        )
    except FileNotFoundError as error:
        raise DatasetError(
            f"{root}: {error}; every class folder needs at least one image"
        ) from error
    return folder_dataset(folder)


def folder_dataset(folder: datasets.ImageFolder) -> LabeledDataset:
    """An ``ImageFolder`` as a :class:`LabeledDataset` with its class names and file ``paths``
    (after its ``samples`` changed, e.g. bad images dropped)."""
    folder.imgs, folder.targets = folder.samples, [target for _, target in folder.samples]
    paths = [path for path, _ in folder.samples]
    return LabeledDataset(folder, folder.targets, class_names=folder.classes, paths=paths)


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


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only: a pickle that names any other callable
    (``os.system``, ``subprocess.Popen``, ...) is refused before anything runs."""

    ALLOWED = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
        }
    )

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise DatasetError(
            f"{self.path}: the pickle names {module}.{name}; a CIFAR-10 batch holds only lists "
            "and numpy arrays, so this file is refused (re-extract cifar-10-python.tar.gz)"
        )

    def __init__(self, path: Path):
        self.path = path
        self._handle = path.open("rb")
        super().__init__(self._handle, encoding="latin1")

    @classmethod
    def read(cls, path: Path) -> dict:
        unpickler = cls(path)
        try:
            return unpickler.load()
        finally:
            unpickler._handle.close()


def _unverified_cifar10(folder: Path, *, train: bool) -> ArrayDataset:
    """CIFAR-10 batches read without torchvision's MD5 check, through :class:`_ArrayUnpickler`
    (an unverified pickle must not be able to run code): ``(n, 3, 32, 32)`` floats in [0, 1]."""
    names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    batches = [_ArrayUnpickler.read(folder / name) for name in names]
    data = np.concatenate([np.asarray(b.get("data", b.get(b"data"))) for b in batches])
    labels = [y for b in batches for y in b.get("labels", b.get(b"labels"))]
    meta = _ArrayUnpickler.read(folder / "batches.meta")
    classes = [c.decode() if isinstance(c, bytes) else str(c) for c in meta["label_names"]]
    x = torch.from_numpy(data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0)  # (n, 3, 32, 32)
    return ArrayDataset(x, torch.as_tensor(labels, dtype=torch.int64), class_names=classes)


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
    if not verify:
        return _unverified_cifar10(folder, train=train)
    try:  # torchvision checks the MD5 sums before it unpickles anything
        data = datasets.CIFAR10(root, train=train, download=False, transform=_to_tensor())
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
