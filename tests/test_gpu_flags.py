"""GPU-oriented training options run on CPU: bf16 autocast (``fit(precision=...)``) and
``torch.compile`` (``fit(compile=True)``)."""

from __future__ import annotations

import math

import pytest
import torch

from audioconv import models
from audioconv.errors import ConfigError
from audioconv.tasks import Classifier
from audioconv.training import TensorDataModule, fit


def _datamodule() -> TensorDataModule:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(24, 1, 16, 16, generator=generator)  # (n, channels, freq, time)
    y = torch.randint(0, 3, (24,), generator=generator)
    return TensorDataModule((x[:16], y[:16]), (x[16:], y[16:]), (x[16:], y[16:]), batch_size=8)


def test_bf16_mixed_autocasts_the_backbone_on_cpu(tmp_path):
    backbone = models.create("spectrogram_cnn", dims=2, in_channels=1, num_classes=3, channels=(4,))
    model = Classifier(backbone, task="multiclass", num_classes=3, channels_last=True)
    dtypes: list[torch.dtype] = []
    conv = next(m for m in backbone.modules() if isinstance(m, torch.nn.Conv2d))
    conv.register_forward_hook(lambda module, args, out: dtypes.append(out.dtype))
    result = fit(
        model,
        _datamodule(),
        output_dir=tmp_path,
        max_epochs=2,
        precision="bf16-mixed",
        enable_progress_bar=False,
    )
    assert dtypes and set(dtypes) == {torch.bfloat16}  # autocast reached the convolutions
    assert next(backbone.parameters()).dtype == torch.float32  # weights stay float32 (mixed)
    assert result.report.n_samples == 8
    assert all(math.isfinite(v) for v in result.report.metrics.values() if v is not None)
    assert result.best_checkpoint is not None and result.best_checkpoint.is_file()


def test_unknown_precision_is_refused(tmp_path):
    backbone = models.create("spectrogram_cnn", dims=2, in_channels=1, num_classes=3, channels=(4,))
    model = Classifier(backbone, task="multiclass", num_classes=3)
    with pytest.raises(ConfigError, match="precision='bf16'"):
        fit(model, _datamodule(), output_dir=tmp_path, precision="bf16")


def test_compile_trains_and_keeps_checkpoint_names(tmp_path):
    torch.manual_seed(0)
    backbone = models.create("spectrogram_cnn", dims=2, in_channels=1, num_classes=3, channels=(4,))
    names = set(backbone.state_dict())
    model = Classifier(backbone, task="multiclass", num_classes=3)
    result = fit(
        model,
        _datamodule(),
        output_dir=tmp_path,
        max_epochs=1,
        compile=True,
        enable_progress_bar=False,
    )
    assert backbone._compiled_call_impl is not None  # compiled in place, not wrapped
    state = torch.load(result.best_checkpoint, weights_only=True)["state_dict"]
    assert {k.removeprefix("backbone.") for k in state if k.startswith("backbone.")} == names
    assert all(math.isfinite(v) for v in result.report.metrics.values() if v is not None)
