"""WaveNet: analytic receptive field and causality."""

from __future__ import annotations

import pytest
import torch

from audioconv import models
from audioconv.errors import ConfigError


@pytest.mark.parametrize(
    ("dilations", "cycles", "kernel_size", "input_kernel_size"),
    [((1, 2, 4, 8), 1, 2, 2), ((1, 2, 4), 3, 3, 1), (tuple(2**i for i in range(10)), 2, 2, 2)],
)
def test_receptive_field_is_analytic(dilations, cycles, kernel_size, input_kernel_size):
    model = models.create(
        "wavenet",
        dims=1,
        in_channels=1,
        num_classes=2,
        dilations=dilations,
        cycles=cycles,
        kernel_size=kernel_size,
        channels=4,
        gate_channels=4,
        skip_channels=4,
        input_kernel_size=input_kernel_size,
    )
    expected = 1 + (input_kernel_size - 1) + cycles * sum(d * (kernel_size - 1) for d in dilations)
    assert model.receptive_field == expected == models.receptive_field(model)


def test_receptive_field_matches_the_gradient_support():
    """The output at the last step has non-zero gradient on exactly ``receptive_field`` inputs."""
    torch.manual_seed(0)
    model = models.create(
        "wavenet",
        dims=1,
        in_channels=1,
        num_classes=2,
        dilations=(1, 2, 4),
        cycles=2,
        channels=4,
        gate_channels=4,
        skip_channels=4,
    )
    x = torch.randn(1, 1, 64, dtype=torch.float64, requires_grad=True)
    model.double().features(x)[0, :, -1].sum().backward()
    support = (x.grad[0, 0] != 0).nonzero().flatten()
    assert support.numel() == model.receptive_field == 2 + 2 * 7
    assert support.min() == 64 - model.receptive_field


def test_output_at_t_ignores_inputs_after_t():
    torch.manual_seed(0)
    model = models.create(
        "wavenet",
        dims=1,
        in_channels=2,
        num_classes=3,
        dilations=(1, 2, 4, 8),
        cycles=2,
        channels=8,
        gate_channels=8,
        skip_channels=8,
    ).eval()
    x = torch.randn(2, 2, 100)
    t = 60
    perturbed = x.clone()
    perturbed[..., t + 1 :] += torch.randn_like(perturbed[..., t + 1 :]) * 10
    with torch.no_grad():
        before, after = model.forward_features(x), model.forward_features(perturbed)
    assert before.shape == (2, 8, 100)
    torch.testing.assert_close(before[..., : t + 1], after[..., : t + 1])
    assert not torch.allclose(before[..., t + 1 :], after[..., t + 1 :])


def test_default_wavenet_cycles_one_to_512():
    model = models.create("wavenet", dims=1, in_channels=1, num_classes=2)
    dilations = [layer.conv.dilation[0] for layer in model.features.layers]
    assert dilations == [2**i for i in range(10)] * 2
    assert model.receptive_field == 2 + 2 * 1023


@pytest.mark.parametrize("bad", [{"dilations": ()}, {"cycles": 0}, {"dilations": (1, -2)}])
def test_invalid_options_raise(bad):
    with pytest.raises(ConfigError):
        models.create("wavenet", dims=1, in_channels=1, num_classes=2, **bad)
