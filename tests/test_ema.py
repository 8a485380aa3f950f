"""Weight averaging (``--ema DECAY``): validation, ``best.ckpt``, the test report, predict and
export all use the one averaged model, so an exported model gives the answers the report
promised."""

from __future__ import annotations

import pytest
import torch

from audioconv.errors import ConfigError
from audioconv.tasks import load_classifier
from audioconv.training import WeightEMA


@pytest.mark.xdist_group("recipes")
def test_ema_run_from_files_to_onnx_gives_the_runs_answers(
    fit_tiny_resnet, onnx_answers_as_promised, tmp_path
):
    """Clips on disk -> ``audioconv fit --ema 0.9`` -> the checkpoint holds the averaged weights
    (the raw ones apart, for a resume) -> ONNX export -> ``audioconv predict``: the labels and
    probabilities of the run's predictions.csv, which the test of the averaged model wrote."""
    data, run = fit_tiny_resnet({"widths": [4, 8, 8, 8]}, "--members", "1", "--ema", "0.9")
    checkpoint = torch.load(run / "checkpoints" / "best.ckpt", weights_only=True)
    averaged, raw = checkpoint["state_dict"], checkpoint["current_model_state"]
    assert averaged.keys() == raw.keys()
    assert any(not torch.equal(averaged[k], raw[k]) for k in averaged)  # really an average
    loaded = load_classifier(run / "checkpoints" / "best.ckpt")
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, averaged[key]), key
    onnx_answers_as_promised(run, data, tmp_path)


@pytest.mark.parametrize("bad", [1.0, 1.5, -0.1])
def test_ema_decay_is_checked(bad, tmp_path):
    with pytest.raises(ConfigError, match=rf"ema={bad!r} must be a decay in \(0, 1\)"):
        WeightEMA(bad)
