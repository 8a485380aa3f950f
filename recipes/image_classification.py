"""Image classification: "given an image, predict the label".

Data (``--dataset``):

- ``digits`` (default, built in): scikit-learn's 1,797 handwritten 8x8 digits, upsampled to
  32x32 for LeNet-5; no download, no ``--data-dir``.
- ``mnist``: the four idx files in ``<data-dir>/MNIST/raw/`` (http://yann.lecun.com/exdb/mnist/).
- ``cifar10``: ``<data-dir>/cifar-10-batches-py/`` (https://www.cs.toronto.edu/~kriz/cifar.html).
- ``folder``: one sub-folder per class of png / jpg / ... files in ``<data-dir>`` (or in
  ``<data-dir>/train`` and ``<data-dir>/test``: the test folder may lack a training class, not
  add one), resized to ``--image-size`` (default 64). Every
  image is decoded before training: ``--on-error raise`` (default) lists every bad image in one
  error, ``--on-error skip`` trains without them and lists them in ``skipped.csv``.

Models: ``--model lenet5|vgg11|vgg11_bn|resnet18|alexnet|...`` (``audioconv summary`` shows any).

    python recipes/image_classification.py --output-dir runs/digits
    python recipes/image_classification.py --dataset cifar10 --data-dir cifar \
        --model resnet18 --output-dir runs/cifar
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Literal

import pandas as pd

from audioconv.errors import DatasetError
from audioconv.runner import Experiment, Recipe, main


@dataclasses.dataclass
class ImageClassification(Recipe):
    """Images -> a 2D CNN (LeNet-5 by default).

    Args:
        dataset: ``digits`` (built in), ``mnist``, ``cifar10`` or ``folder``.
        image_size: digits and folder images are resized to ``image_size x image_size``
            (default 32 and 64); MNIST and CIFAR-10 keep their 28 x 28 / 32 x 32.
        grayscale: convert folder images to one channel.
        flip, rotation, shift, zoom: training augmentation (``flip`` default: on for cifar10 and
            folder, off for digits).
        val_size, test_size: fractions carved out when the dataset has no such split.
        on_error: ``folder`` images are decoded before training; ``"raise"`` stops with one
            error listing every bad image, ``"skip"`` trains without them (``skipped.csv``).
    """

    dataset: Literal["digits", "mnist", "cifar10", "folder"] = "digits"
    image_size: int | None = None
    grayscale: bool = False
    model: str = "lenet5"
    max_epochs: int = 30
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    flip: bool | None = None
    rotation: float = 10.0
    shift: float = 0.1
    zoom: float = 0.1
    val_size: float = 0.1
    test_size: float = 0.2
    on_error: Literal["raise", "skip"] = "raise"

    name = "image_classification"

    def _sources(self) -> dict:
        from audioconv.data.images import cifar10, image_folder, load_digits_images, mnist

        if self.dataset == "digits":
            return {"train": load_digits_images(size=self.image_size or 32)}
        if self.dataset in ("mnist", "cifar10"):
            load = mnist if self.dataset == "mnist" else cifar10
            root = self.require_data_dir(f"folder holding the {self.dataset} files")
            return {"train": load(root, train=True), "test": load(root, train=False)}
        root = self.require_data_dir("folder holding one sub-folder of images per class")
        options = {"size": self.image_size or 64, "grayscale": self.grayscale}
        if not ((root / "train").is_dir() and (root / "test").is_dir()):
            return {"train": image_folder(root, **options)}
        train = image_folder(root / "train", **options)
        # the test folder numbered by the training classes (one it lacks is fine, an extra one
        # is an error): each folder numbering its own classes would shift the labels
        return {"train": train, "test": image_folder(root / "test", **options,
                                                     classes=train.class_names)}  # fmt: skip

    def _checked(self, sources: dict) -> tuple[dict, pd.DataFrame]:
        """Folder images decoded once before training (:func:`audioconv.data.scan.decode_image`):
        ``on_error="raise"`` lists every bad image in one error, ``"skip"`` drops them."""
        from audioconv.data.images import folder_dataset
        from audioconv.data.scan import (
            bad_file_error,
            decode_image,
            refuse_one_file_twice,
            scan_files,
        )

        folders = {name: source.dataset for name, source in sources.items()}  # ImageFolder
        for folder in folders.values():
            if len(folder.classes) < 2:
                nested = Path(folder.root) / folder.classes[0]
                raise DatasetError(
                    f"{folder.root}: only one class folder ({folder.classes[0]}); if the class "
                    f"folders are inside it, pass --data-dir {nested}"
                )
        paths = [path for folder in folders.values() for path, _ in folder.samples]
        refuse_one_file_twice(paths)
        scans = scan_files(paths, decode=decode_image, progress=not self.smoke)
        bad = {path: scan.problem for path, scan in scans.items() if scan.problem is not None}
        if bad and self.on_error == "raise":
            raise bad_file_error(bad, len(scans), "image")
        for name, folder in folders.items():
            folder.samples = [sample for sample in folder.samples if sample[0] not in bad]
            sources[name] = folder_dataset(folder)
        return sources, pd.DataFrame({"path": list(bad), "reason": list(bad.values())})

    def experiment(self) -> Experiment:
        from audioconv.data import ImageDataModule
        from audioconv.data.augment import ImageAugment

        flip = self.flip if self.flip is not None else self.dataset in ("cifar10", "folder")
        sources = self._sources()
        skipped = None
        if self.dataset == "folder":
            sources, skipped = self._checked(sources)
        augment = ImageAugment(flip=flip, rotation=self.rotation, shift=self.shift, zoom=self.zoom)
        datamodule = ImageDataModule(
            sources["train"],
            test=sources.get("test"),
            val_size=self.val_size,
            test_size=self.test_size,
            seed=self.seed,
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            augment=augment,
        )
        shape = tuple(sources["train"][0][0].shape)  # (channels, height, width)
        return Experiment(
            datamodule=datamodule, input_kind="image", input_shape=shape, dims=2, skipped=skipped
        )


RECIPE = ImageClassification

if __name__ == "__main__":
    sys.exit(main(RECIPE))
