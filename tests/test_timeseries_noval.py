"""TimeSeriesDataModule without a validation split (``val_size=0``): all of TRAIN trains, Lightning
skips validation, and ``fit`` keeps the checkpoint with the lowest training loss (as InceptionTime
does on the small UCR training sets)."""

from __future__ import annotations

import torch

from audioconv.data import TimeSeriesDataModule
from audioconv.data.base import ArrayDataset
from audioconv.models import create
from audioconv.tasks import Classifier
from audioconv.training import fit


def series(n: int, seed: int) -> ArrayDataset:
    """Two classes of noisy sines at different frequencies, ``(n, 1, 32)``."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    t = torch.linspace(0, 1, 32)
    x = torch.sin(2 * torch.pi * (1 + 3 * y[:, None]) * t) + 0.1 * torch.randn(
        n, 32, generator=generator
    )
    return ArrayDataset(x[:, None], y, class_names=["slow", "fast"])


def test_val_size_zero_trains_on_all_of_train():
    train, test = series(12, 0), series(8, 1)
    dm = TimeSeriesDataModule(train, test=test, val_size=0, batch_size=4)
    dm.setup("fit")
    assert dm.val_set is None and dm.val_dataloader() == []
    assert len(dm.train_set) == 12 and len(dm.test_set) == 8
    assert len(dm.train_labels()) == 12
    # a carved test split still works with no validation split
    dm = TimeSeriesDataModule(series(20, 2), val_size=0, test_size=0.25, batch_size=4)
    dm.setup("fit")
    assert dm.val_set is None and (len(dm.train_set), len(dm.test_set)) == (15, 5)
    # with val_size > 0 the validation split is carved as before
    dm = TimeSeriesDataModule(train, test=test, val_size=0.25, batch_size=4)
    assert len(dm.val_dataloader().dataset) == 3 and len(dm.train_set) == 9


def test_fit_without_validation_keeps_the_lowest_training_loss(tmp_path):
    dm = TimeSeriesDataModule(series(12, 0), test=series(8, 1), val_size=0, batch_size=4)
    backbone = create("conv1d", dims=1, in_channels=1, num_classes=2)
    model = Classifier(
        backbone, task="multiclass", num_classes=2, class_names=["slow", "fast"], lr=1e-2,
        optimizer="adam", weight_decay=0.0, scheduler=None,
    )  # fmt: skip
    result = fit(
        model, dm, output_dir=tmp_path / "run", max_epochs=3, monitor="train/loss",
        accelerator="cpu", enable_progress_bar=False,
    )  # fmt: skip
    assert result.best_checkpoint is not None and result.best_checkpoint.is_file()
    state = torch.load(result.best_checkpoint, weights_only=False, map_location="cpu")
    callback = next(v for k, v in state["callbacks"].items() if k.startswith("ModelCheckpoint"))
    assert callback["monitor"] == "train/loss" and torch.isfinite(callback["best_model_score"])
    assert result.report.n_samples == 8 and "accuracy_score" in result.report.metrics
