"""1D layers on 2D channels-last kernels: same values and gradients as ``torch.nn``, same
parameters, and a time-major layout that survives a whole backbone."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from audioconv.models import channels_last_1d as cl1d
from audioconv.models import create
from audioconv.tasks import Classifier


def _twins(fast: nn.Module, reference: nn.Module, x: torch.Tensor) -> None:
    """``fast`` (channels-last, time-major input) matches ``reference`` in output and grads."""
    reference.load_state_dict(fast.state_dict())  # same parameter names and shapes
    cl1d.set_channels_last(fast)
    a = cl1d.time_major(x.clone()).requires_grad_()
    b = x.clone().requires_grad_()
    out_a, out_b = fast(a), reference(b)
    torch.testing.assert_close(out_a, out_b, atol=1e-5, rtol=1e-5)
    grad = torch.randn_like(out_b)
    out_a.backward(grad)
    out_b.backward(grad)
    torch.testing.assert_close(a.grad, b.grad, atol=1e-5, rtol=1e-5)
    for (name, p), q in zip(fast.named_parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-4, rtol=1e-4, msg=name)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kernel_size": 3, "padding": "same"},
        {"kernel_size": 8, "padding": "same"},  # even kernel: asymmetric padding
        {"kernel_size": 5, "padding": "same", "dilation": 3},
        {"kernel_size": 5, "padding": "valid", "stride": 2},
        {"kernel_size": 7, "padding": 3, "stride": 2, "bias": False},
        {"kernel_size": 3, "padding": 1, "groups": 4},
    ],
)
def test_conv1d_matches_torch(kwargs):
    torch.manual_seed(0)
    x = torch.randn(3, 8, 41)
    _twins(cl1d.Conv1d(8, 12, **kwargs), nn.Conv1d(8, 12, **kwargs), x)


def test_causal_padding_matches_padding_by_hand():
    torch.manual_seed(0)
    fast = cl1d.Conv1d(4, 6, 3, dilation=2)
    fast.pad_left = 4
    reference = nn.Sequential(nn.ConstantPad1d((4, 0), 0.0), nn.Conv1d(4, 6, 3, dilation=2))
    reference[1].load_state_dict(fast.state_dict())
    x = torch.randn(2, 4, 30)
    torch.testing.assert_close(cl1d.set_channels_last(fast)(cl1d.time_major(x)), reference(x))
    fast.channels_last = False  # the plain path pads the same way
    torch.testing.assert_close(fast(x), reference(x))


@pytest.mark.parametrize(
    ("fast", "reference"),
    [
        (cl1d.BatchNorm1d(6), nn.BatchNorm1d(6)),
        (cl1d.MaxPool1d(3, stride=2, padding=1), nn.MaxPool1d(3, stride=2, padding=1)),
        (cl1d.MaxPool1d(4), nn.MaxPool1d(4)),
        (cl1d.AvgPool1d(4, stride=2, padding=1), nn.AvgPool1d(4, stride=2, padding=1)),
    ],
)
def test_norm_and_pool_match_torch(fast, reference):
    torch.manual_seed(0)
    _twins(fast, reference, torch.randn(3, 6, 37))
    if isinstance(fast, nn.BatchNorm1d):  # running statistics were updated the same way
        torch.testing.assert_close(fast.running_mean, reference.running_mean)
        torch.testing.assert_close(fast.running_var, reference.running_var)


def test_batchnorm_still_takes_feature_vectors():
    norm = cl1d.BatchNorm1d(5)
    assert norm(torch.randn(8, 5)).shape == (8, 5)
    with pytest.raises(ValueError, match="expected 2D or 3D"):
        norm(torch.randn(5))


@pytest.mark.parametrize("name", ["conv1d", "fcn", "resnet18", "inceptiontime", "wavenet"])
def test_backbones_give_the_same_logits_and_stay_time_major(name):
    torch.manual_seed(0)
    plain = Classifier(
        create(name, dims=1, in_channels=2, num_classes=3),
        task="multiclass",
        num_classes=3,
        channels_last=False,
    ).eval()
    fast = Classifier(
        create(name, dims=1, in_channels=2, num_classes=3), task="multiclass", num_classes=3
    )
    fast.load_state_dict(plain.state_dict())
    assert fast.channels_last
    layouts = []
    for module in fast.backbone.modules():
        if isinstance(module, cl1d.Conv1d):
            module.register_forward_hook(lambda m, args, out: layouts.append(out.stride(1) == 1))
    x = torch.randn(2, 2, 256)
    torch.testing.assert_close(fast.eval()(x), plain(x), atol=1e-5, rtol=1e-4)
    assert layouts and all(layouts)  # every convolution answered time-major
