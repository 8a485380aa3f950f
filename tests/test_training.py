"""audioconv.training.fit end to end on tiny synthetic data: run folder, reports, resume, reload."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from lightning.pytorch.callbacks import Callback

from audioconv.errors import ConfigError
from audioconv.models import create
from audioconv.tasks import (
    Classifier,
    Head,
    MultiOutputClassifier,
    balanced_class_weights,
    load_classifier,
)
from audioconv.training import TensorDataModule, fit

N_TRAIN, N_VAL, N_TEST, CHANNELS, TIME = 48, 16, 24, 2, 16
FAST = {"enable_progress_bar": False, "log_every_n_steps": 1}
CLASSIFICATION_PNGS = ("confusion_matrix.png", "roc_curve.png", "pr_curve.png")
REGRESSION_PNGS = ("predicted_vs_true.png", "residuals.png")


def _signals(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(N_TRAIN + N_VAL + N_TEST, CHANNELS, TIME, generator=g)


def _targets(x: torch.Tensor, task: str) -> torch.Tensor:
    """Learnable targets from the mean of each channel."""
    m = x.mean(dim=-1)  # (n, channels, time) -> (n, channels)
    if task == "binary":
        return (m[:, 0] > 0).long()
    if task == "multiclass":
        return (m[:, 0] > 0).long() + (m[:, 1] > 0).long()
    if task == "multilabel":
        return torch.stack([m[:, 0] > 0, m[:, 1] > 0, m.sum(1) > 0], dim=1).float()
    return torch.sigmoid(m.sum(1))


def _datamodule(x: torch.Tensor, y, batch_size: int = 8) -> TensorDataModule:
    def part(lo: int, hi: int):
        ys = {k: v[lo:hi] for k, v in y.items()} if isinstance(y, dict) else y[lo:hi]
        return x[lo:hi], ys

    a, b = N_TRAIN, N_TRAIN + N_VAL
    return TensorDataModule(part(0, a), part(a, b), part(b, None), batch_size=batch_size)


def _backbone(name: str = "conv1d", **kwargs):
    config = {"dims": 1, "in_channels": CHANNELS, "num_classes": 2, "filters": (8,), **kwargs}
    return create(name, **config), (name, config)


SMOKE = {
    "binary": {"class_weights": "balanced", "scheduler": "onecycle"},
    "multiclass": {"num_classes": 3, "scheduler": "cosine", "label_smoothing": 0.1},
    "multilabel": {"num_classes": 3, "optimizer": "adamw", "class_names": ["a", "b", "c"]},
    "regression": {"regression_output": "sigmoid", "optimizer": "sgd", "lr": 0.05},
}
LOGMEL = {
    "class_path": "audioconv.features.LogMel",
    "init_args": {"sample_rate": 8000, "n_fft": 128, "hop_length": 64, "n_mels": 16},
}


@pytest.mark.parametrize("task", list(SMOKE))
def test_fit_writes_every_run_file_and_reloads(tmp_path, task):
    """Each task trains, writes the whole run folder, and its best checkpoint reloads exactly.

    The binary model takes waveforms through a LogMel frontend into a 2D backbone, both rebuilt
    by load_classifier from their specs; the others take (batch, channels, time) into 1D.
    """
    if task == "binary":
        x = torch.randn(
            N_TRAIN + N_VAL + N_TEST, 1, 640, generator=torch.Generator().manual_seed(2)
        )
        y = (x[:, 0, :320].abs().mean(-1) > x[:, 0, 320:].abs().mean(-1)).long()
        backbone, spec = _backbone("conv_stack", dims=2, in_channels=1, filters=(4, 4))
        extra = {"frontend_config": LOGMEL}
    else:
        x = _signals()
        y = _targets(x, task)
        backbone, spec = _backbone()
        extra = {}
    model = Classifier(backbone, task=task, backbone_config=spec, **SMOKE[task], **extra)
    options = {"patience": 3, "gradient_clip_val": 1.0} if task == "multiclass" else {}
    result = fit(
        model,
        _datamodule(x, y),
        output_dir=tmp_path,
        max_epochs=2,
        config={"note": task},
        **options,
        **FAST,
    )
    pngs = REGRESSION_PNGS if task == "regression" else CLASSIFICATION_PNGS
    for name in ("report.json", "report.md", "learning_curves.png", "metrics.csv", *pngs):
        assert (tmp_path / name).stat().st_size > 0, name
    assert result.best_checkpoint == tmp_path / "checkpoints" / "best.ckpt"
    assert result.last_checkpoint == tmp_path / "checkpoints" / "last.ckpt"
    assert result.best_checkpoint.is_file() and result.last_checkpoint.is_file()
    assert result.metrics_csv == tmp_path / "metrics.csv"
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["task"] == task and report["n_samples"] == N_TEST
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert config["note"] == task and config["fit"]["max_epochs"] == 2
    assert config["model"]["init_args"]["task"] == task
    assert config["model"]["init_args"]["backbone_config"]["name"] == spec[0]
    hparams = yaml.safe_load((tmp_path / "hparams.yaml").read_text())  # plain: no tuple tags
    assert hparams["task"] == task and hparams["num_classes"] == model.hparams.num_classes
    header = (tmp_path / "metrics.csv").read_text().splitlines()[0].split(",")
    metric = "mae" if task == "regression" else "acc"
    assert {"val/loss", f"val/{metric}", "test/loss", "train/loss_epoch"} <= set(header)

    loaded = load_classifier(result.best_checkpoint)  # fit() tested with the best weights
    assert isinstance(loaded, Classifier) and not loaded.training
    model.eval()
    with torch.no_grad():
        assert torch.equal(model.predict_step((x, y), 0), loaded.predict_step(x, 0))
    if task == "binary":
        assert type(loaded.frontend).__name__ == "LogMel"
        assert loaded.predict_step(x[:3], 0).shape == (3,)
        # "balanced" was resolved in setup() from the datamodule's train labels
        expected = balanced_class_weights(y[:N_TRAIN], task="binary", num_classes=2)
        torch.testing.assert_close(model.loss.class_weights, expected)
        torch.testing.assert_close(loaded.loss.class_weights, expected)


def test_multi_output_fit_and_reload(tmp_path):
    x = _signals(1)
    y = {"digit": _targets(x, "multiclass"), "mood": _targets(x, "multilabel")}
    backbone, spec = _backbone()
    heads = {
        "digit": Head("multiclass", num_classes=3),
        "mood": Head("multilabel", num_classes=3, weight=0.5),
    }
    model = MultiOutputClassifier(backbone, heads=heads, backbone_config=spec)
    result = fit(model, _datamodule(x, y), output_dir=tmp_path, max_epochs=2, **FAST)
    report = json.loads((tmp_path / "report.json").read_text())
    assert set(report["heads"]) == {"digit", "mood"}
    assert report["heads"]["mood"]["task"] == "multilabel"
    for head in ("digit", "mood"):
        for png in CLASSIFICATION_PNGS:
            assert (tmp_path / f"{head}_{png}").is_file()
    assert {"val/digit/acc", "val/mood/loss"} <= set(
        (tmp_path / "metrics.csv").read_text().splitlines()[0].split(",")
    )
    loaded = load_classifier(result.best_checkpoint)
    assert isinstance(loaded, MultiOutputClassifier)
    model.eval()
    with torch.no_grad():
        expected, got = model.predict_step(x[:5], 0), loaded.predict_step(x[:5], 0)
    for head in heads:
        assert torch.equal(expected[head], got[head])


class _KillAtEpoch(Callback):
    """Raise when epoch ``epoch`` starts, i.e. after the previous epoch's checkpoints are saved."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == self.epoch:
            raise RuntimeError("killed")


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_resume_matches_uninterrupted_run_exactly(tmp_path, ema):
    """Killed after epoch index 1 and resumed: same weights, BatchNorm statistics and metrics;
    with ``ema``, the same averaged and raw weights."""
    x = _signals(3)
    y = _targets(x, "multiclass")

    def model():
        torch.manual_seed(0)  # the same initial weights for every run
        backbone, _ = _backbone(dropout=0.3)
        return Classifier(
            backbone, task="multiclass", num_classes=3, optimizer="sgd", scheduler="cosine"
        )

    kw = {"max_epochs": 3, "seed": 5, "ema": ema, **FAST}
    full = fit(model(), _datamodule(x, y), output_dir=tmp_path / "full", **kw)
    with pytest.raises(RuntimeError, match="killed"):
        fit(
            model(),
            _datamodule(x, y),
            output_dir=tmp_path / "cut",
            callbacks=[_KillAtEpoch(2)],
            **kw,
        )
    last = tmp_path / "cut" / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["epoch"] == 1  # epochs 0 and 1 are done
    with pytest.raises(ConfigError, match="resume=True"):
        fit(model(), _datamodule(x, y), output_dir=tmp_path / "cut", **kw)
    resumed = fit(model(), _datamodule(x, y), output_dir=tmp_path / "cut", resume=True, **kw)

    a = torch.load(full.last_checkpoint, weights_only=True)
    b = torch.load(resumed.last_checkpoint, weights_only=True)
    assert a["epoch"] == b["epoch"] == 2
    assert a["state_dict"].keys() == b["state_dict"].keys()
    states = ["state_dict", "current_model_state"] if ema else ["state_dict"]
    assert ("current_model_state" in a) == bool(ema)
    for state in states:
        for key, value in a[state].items():
            assert torch.equal(value, b[state][key]), (state, key)
    full_csv = (tmp_path / "full" / "metrics.csv").read_text()
    assert (tmp_path / "cut" / "metrics.csv").read_text() == full_csv


def test_fit_needs_a_test_split(tmp_path):
    class NoTest(TensorDataModule):
        test_dataloader = TensorDataModule.__base__.test_dataloader

    x = _signals()
    dm = NoTest(*[(x[:8], _targets(x[:8], "binary"))] * 3)
    backbone, _ = _backbone()
    with pytest.raises(ConfigError, match="test_dataloader"):
        fit(Classifier(backbone, task="binary"), dm, output_dir=tmp_path, **FAST)
    with pytest.raises(ConfigError, match="mode"):
        fit(Classifier(backbone, task="binary"), dm, output_dir=tmp_path, mode="up", **FAST)


def test_a_run_recorded_with_the_old_spec_names_resumes_unchanged(tmp_path):
    """A run folder written before the rename (``backbone_spec`` / ``frontend_spec`` in its
    config.yaml and checkpoint) compares equal to the same options under the new names."""
    from audioconv.training import _resume_differences

    backbone = {"name": "conv1d", "kwargs": {"dims": 1, "in_channels": 1, "num_classes": 2}}
    frontend = {"name": "logmel", "kwargs": {"sample_rate": 8000}}
    old = {"task": "binary", "backbone_spec": backbone, "frontend_spec": frontend}
    new = {"task": "binary", "backbone_config": backbone, "frontend_config": frontend}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"model": {"init_args": old}}))
    state = {"hyper_parameters": old}
    assert _resume_differences(tmp_path, state, {"model": {"init_args": new}}) == {}
    changed = {**new, "frontend_config": {**frontend, "kwargs": {"sample_rate": 16000}}}
    assert set(_resume_differences(tmp_path, state, {"model": {"init_args": changed}})) == {
        "model.init_args.frontend_config.kwargs.sample_rate"
    }
