"""Filter and feature-map figures for 1D and 2D models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from audioconv import models
from audioconv.errors import ConfigError
from audioconv.plots.model import feature_maps, filters


@pytest.fixture(scope="module")
def cnn2d():
    torch.manual_seed(0)
    return models.create("spectrogram_cnn", dims=2, in_channels=1, num_classes=3)


@pytest.fixture(scope="module")
def cnn1d():
    torch.manual_seed(0)
    return models.create("conv1d", dims=1, in_channels=2, num_classes=3, filters=(6, 8))


def test_filters_2d_draws_one_image_per_kernel(cnn2d, tmp_path):
    figure = filters(cnn2d, max_filters=10)
    assert isinstance(figure, Figure) and len(figure.axes) == 10
    image = figure.axes[3].images[0].get_array()
    weight = cnn2d.features[0].conv.weight.detach()[3, 0].numpy()
    np.testing.assert_allclose(image, weight, rtol=1e-6)
    figure.savefig(tmp_path / "filters.png")
    assert (tmp_path / "filters.png").stat().st_size > 0


def test_filters_rgb_for_three_input_channels():
    model = models.create("resnet18", dims=2, in_channels=3, num_classes=2)
    figure = filters(model, max_filters=4)
    assert figure.axes[0].images[0].get_array().shape == (7, 7, 3)


def test_filters_1d_are_line_plots_per_input_channel(cnn1d):
    figure = filters(cnn1d, layer="features.1")  # a block: its conv is used
    assert len(figure.axes) == 8
    assert len(figure.axes[0].lines) == 6  # one line per input channel
    np.testing.assert_allclose(
        figure.axes[2].lines[1].get_ydata(), cnn1d.features[1].conv.weight.detach()[2, 1].numpy()
    )


def test_feature_maps_show_the_hooked_activations(cnn2d):
    x = torch.randn(2, 1, 32, 24)
    cnn2d.train()
    figure = feature_maps(cnn2d, x, layer="features.0.act", max_maps=5)
    assert cnn2d.training  # mode restored
    assert len(figure.axes) == 5
    with torch.no_grad():
        block = cnn2d.eval().features[0]
        expected = block.act(block.norm(block.conv(x[:1])))[0, 4].numpy()
    cnn2d.train()
    np.testing.assert_allclose(figure.axes[4].images[0].get_array(), expected, rtol=1e-5)


def test_feature_maps_1d_single_example(cnn1d):
    figure = feature_maps(cnn1d, torch.randn(2, 30))  # (channels, time): one example
    assert len(figure.axes) == 6
    assert len(figure.axes[0].lines[0].get_ydata()) == 30


def test_bad_layer_names_are_config_errors(cnn1d):
    with pytest.raises(ConfigError, match="features.0.conv"):
        filters(cnn1d, layer="nope")
    with pytest.raises(ConfigError, match="holds no convolution"):
        filters(cnn1d, layer="head")
    with pytest.raises(ConfigError, match="max_maps"):
        feature_maps(cnn1d, torch.randn(2, 30), max_maps=0)
