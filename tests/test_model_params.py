"""Parameter counts against torchvision, LeNet-5, and the course's worked examples of convolution,
pooling and dense-layer arithmetic."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from audioconv import models
from audioconv.errors import CheckpointError, InputTooSmallError
from audioconv.models import blocks


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("resnet18", 11_689_512),
        ("resnet34", 21_797_672),
        ("resnet50", 25_557_032),
        ("vgg11", None),
        ("vgg13", None),
        ("vgg16", 138_357_544),
        ("vgg16_bn", None),
        ("alexnet", 61_100_840),
    ],
)
def test_parameter_counts_equal_torchvision(name, expected):
    # the meta device allocates no memory and skips initialisation: counting is instant
    with torch.device("meta"):
        ours = models.create(name, dims=2, in_channels=3, num_classes=1000)
        theirs = getattr(torchvision.models, name)()
    assert models.count_params(ours) == models.count_params(theirs)
    if expected is not None:
        assert models.count_params(ours) == expected


def test_lenet5_classic_has_61706_parameters_and_is_unchanged_at_32x32():
    model = models.create("lenet5", dims=2, in_channels=1, num_classes=10)
    table = models.summary(model, (1, 32, 32))
    assert table.total_params == table.trainable_params == 61_706
    shapes = {row.name: row.output_shape for row in table.rows}
    assert shapes["features.0.pool"] == (6, 14, 14)
    assert shapes["features.1.pool"] == (16, 5, 5)
    assert shapes["head.pool"] == (16, 5, 5)  # the adaptive pooling is the identity here
    assert table.output_shape == (10,)


def _torchvision_round_trip(name: str, size: int, **kwargs):
    torch.manual_seed(1)
    reference = getattr(torchvision.models, name)(**kwargs).eval()
    ours = models.create(name, dims=2, in_channels=3, num_classes=kwargs.get("num_classes", 1000))
    kept = models.load_torchvision_weights(ours, reference.state_dict())
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        return kept, ours.eval()(x), reference(x), ours


@pytest.mark.parametrize(("name", "size"), [("resnet18", 32), ("alexnet", 63)])
def test_load_torchvision_weights_gives_identical_outputs(name, size):
    kept, ours, theirs, _ = _torchvision_round_trip(name, size)
    assert kept == []
    torch.testing.assert_close(ours, theirs)


def test_load_torchvision_weights_from_a_file_keeps_a_new_head(tmp_path):
    torch.manual_seed(2)
    reference = torchvision.models.resnet18().eval()
    torch.save(reference.state_dict(), tmp_path / "resnet18.pth")
    ours = models.create("resnet18", dims=2, in_channels=3, num_classes=7).eval()
    kept = models.load_torchvision_weights(ours, tmp_path / "resnet18.pth")
    assert kept == ["head.fc.weight", "head.fc.bias"]
    ours.reset_classifier(0)
    reference.fc = nn.Identity()
    x = torch.randn(1, 3, 40, 40)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x))


def test_load_torchvision_weights_into_a_one_channel_model():
    torch.manual_seed(3)
    reference = torchvision.models.resnet18().eval()
    ours = models.create("resnet18", dims=2, in_channels=1, num_classes=1000).eval()
    assert models.load_torchvision_weights(ours, reference.state_dict()) == []
    grey = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(grey), reference(grey.expand(-1, 3, -1, -1)))
    rgb = reference.conv1.weight.detach()
    five = models.adapt_input_conv(rgb, 5)  # tiled R, G, B, R, G and scaled by 3 / 5
    assert five.shape == (64, 5, 7, 7)
    torch.testing.assert_close(five[:, :3], rgb * 0.6)
    torch.testing.assert_close(five[:, 3:], rgb[:, :2] * 0.6)


def test_load_torchvision_weights_rejects_other_architectures(tmp_path):
    with torch.device("meta"):
        vgg_state = torchvision.models.vgg11().state_dict()
    resnet = models.create("resnet18", dims=1, in_channels=3, num_classes=10)
    with pytest.raises(CheckpointError, match="same architecture"):
        models.load_torchvision_weights(resnet, vgg_state)
    with torch.device("meta"):
        state = torchvision.models.resnet18().state_dict()
    with pytest.raises(CheckpointError, match="does not fit"):
        models.load_torchvision_weights(resnet, state)  # 2D weights into a 1D model
    with pytest.raises(CheckpointError, match="no such weights file"):
        models.load_torchvision_weights(resnet, tmp_path / "missing.pth")


# --- worked examples: convolution output sizes and weight counts -------------------------------


@pytest.mark.parametrize(
    ("in_shape", "filters", "kernel", "stride", "padding", "out_shape", "weights"),
    [
        ((3, 32, 32), 12, 5, 1, 0, (12, 28, 28), 912),
        ((12, 28, 28), 48, 5, 1, 2, (48, 28, 28), 14_448),
        ((12, 28, 28), 48, 4, 2, 0, (48, 13, 13), 9_264),
    ],
)
def test_course_conv_examples(in_shape, filters, kernel, stride, padding, out_shape, weights):
    channels, *size = in_shape
    assert models.conv_output_size(tuple(size), kernel, stride, padding) == out_shape[1:]
    conv = blocks.conv_nd(2, channels, filters, kernel, stride=stride, padding=padding)
    table = models.summary(conv, in_shape)
    assert table.output_shape == out_shape
    assert table.total_params == weights == filters * (channels * kernel * kernel + 1)


def test_conv_output_size_with_dilation_and_too_small():
    assert models.conv_output_size(10, 3, dilation=2) == 6
    assert models.conv_output_size((9, 10), (3, 2), stride=(2, 1)) == (4, 9)
    with pytest.raises(InputTooSmallError, match="kernel=5"):
        models.conv_output_size(4, 5)


def _naive_cross_correlation(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    kh, kw = kernel.shape
    out = torch.zeros(image.shape[0] - kh + 1, image.shape[1] - kw + 1, dtype=image.dtype)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (image[i : i + kh, j : j + kw] * kernel).sum()
    return out


def test_course_5x5_convolution_example():
    """The course gives the kernel and the output but its 5x5 input is not in the material;
    this digit image (found by integer programming) is one input that produces that output.
    A convolution layer computes a cross-correlation: no kernel flip."""
    image = torch.tensor(
        [[0, 9, 9, 0, 1], [0, 0, 6, 0, 2], [5, 7, 8, 1, 0], [8, 1, 1, 0, 0], [0, 0, 7, 9, 0]],
        dtype=torch.float64,
    )
    kernel = torch.tensor([[2, 2, 2], [1, 0, 1], [2, 2, 2]], dtype=torch.float64)
    expected = torch.tensor([[82, 68, 46], [45, 24, 26], [63, 65, 51]], dtype=torch.float64)
    conv = blocks.conv_nd(2, 1, 1, 3, padding="valid", bias=False).double()
    with torch.no_grad():
        conv.weight.copy_(kernel[None, None])  # (out, in, kh, kw)
        out = conv(image[None, None])[0, 0]
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(_naive_cross_correlation(image, kernel), expected)
    random_image = torch.randn(7, 6, dtype=torch.float64)
    torch.testing.assert_close(
        F.conv2d(random_image[None, None], kernel[None, None])[0, 0],
        _naive_cross_correlation(random_image, kernel),
    )


def test_course_max_pooling_example():
    x = torch.tensor([[4, 6, 1, 1], [1, 3, 1, 3], [4, 0, 0, 8], [8, 5, 4, 0]], dtype=torch.float32)
    pooled = blocks.pool_nd(2, "max", 2)(x[None, None])[0, 0]
    torch.testing.assert_close(pooled, torch.tensor([[6.0, 3.0], [8.0, 8.0]]))


def test_course_dense_network_has_53_parameters():
    mlp = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))
    table = models.summary(mlp, (3,))
    assert table.total_params == 53 == (3 * 4 + 4) + (4 * 5 + 5) + (5 * 2 + 2)
    assert [row.params for row in table.rows if row.kind == "Linear"] == [16, 25, 12]


# --- summary and receptive field -----------------------------------------------------------------


def test_summary_table_and_frozen_parameters():
    model = models.create("spectrogram_cnn", dims=2, in_channels=1, num_classes=4)
    for p in model.features[0].parameters():
        p.requires_grad_(False)
    frozen = sum(p.numel() for p in model.features[0].parameters())
    table = models.summary(model, (1, 64, 40))
    assert table.non_trainable_params == frozen > 0
    assert table.trainable_params + frozen == table.total_params == models.count_params(model)
    assert sum(row.params for row in table.rows) == table.total_params
    text = str(table)
    assert "features.0.conv (Conv2d)" in text and "(None, 16, 64, 40)" in text
    assert f"Total params: {table.total_params:,}" in text
    assert model.training  # summary restores the mode it found


def test_receptive_field_of_sequential_stacks():
    stack = nn.Sequential(nn.Conv1d(1, 1, 3), nn.MaxPool1d(2), nn.Conv1d(1, 1, 3, dilation=2))
    # 1 + (3-1) = 3; pool: 3 + 1 = 4 (jump 2); dilated conv: 4 + 2 * 2 * 2 = 12
    assert models.receptive_field(stack) == 12
    lenet = models.create("lenet5", dims=2, in_channels=1, num_classes=10)
    assert models.receptive_field(lenet) == (16, 16)
    assert models.receptive_field(lenet) == (lenet.min_input_size,) * 2
    resnet = models.create("resnet18", dims=1, in_channels=1, num_classes=2)
    with pytest.raises(Exception, match="sequential"):
        models.receptive_field(resnet)
