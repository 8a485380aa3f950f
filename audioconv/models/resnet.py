"""``resnet18`` / ``resnet34`` / ``resnet50``: He et al. (2016), 1D and 2D from one code base.

The 2D networks match torchvision's layer for layer (stride on the 3x3 conv of a bottleneck,
"ResNet v1.5"), so ``load_torchvision_weights`` can copy its weights.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from functools import partial

import torch
from torch import nn

from audioconv.errors import ConfigError
from audioconv.models.blocks import (
    Backbone,
    ClassifierHead,
    check_positive,
    conv_nd,
    norm_nd,
    pool_nd,
)
from audioconv.models.registry import register_model


def _downsample(dims: int, in_channels: int, out_channels: int, stride: int) -> nn.Module | None:
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(
        conv_nd(dims, in_channels, out_channels, 1, stride=stride, padding=0, bias=False),
        norm_nd(dims, out_channels),
    )


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers plus the shortcut: ``(B, C_in, *S) -> (B, planes, *S / stride)``."""

    expansion = 1

    def __init__(self, dims: int, in_channels: int, planes: int, *, stride: int = 1):
        super().__init__()
        self.conv1 = conv_nd(dims, in_channels, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = norm_nd(dims, planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv_nd(dims, planes, planes, 3, padding=1, bias=False)
        self.bn2 = norm_nd(dims, planes)
        self.downsample = _downsample(dims, in_channels, planes, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + shortcut)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided), 1x1 expand by 4, plus the shortcut."""

    expansion = 4

    def __init__(self, dims: int, in_channels: int, planes: int, *, stride: int = 1):
        super().__init__()
        out_channels = planes * self.expansion
        self.conv1 = conv_nd(dims, in_channels, planes, 1, padding=0, bias=False)
        self.bn1 = norm_nd(dims, planes)
        self.conv2 = conv_nd(dims, planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = norm_nd(dims, planes)
        self.conv3 = conv_nd(dims, planes, out_channels, 1, padding=0, bias=False)
        self.bn3 = norm_nd(dims, out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(dims, in_channels, out_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + shortcut)


class ResNet(Backbone):
    """Stem (7-wide conv stride 2, BN, ReLU, 3-wide max pool stride 2), four stages of
    ``block`` x ``layers[i]`` with ``widths`` (64, 128, 256, 512), strides 1, 2, 2, 2,
    global pooling (``pool``: "avg", torchvision's layout; "avgmax": the mean of average and max
    pooling; "max"), dropout (``dropout``; 0: off) and a linear layer.

    Input ``(B, in_channels, time)`` (dims=1) or ``(B, in_channels, H, W)`` (dims=2). Every
    strided layer rounds up, so any size >= 1 runs: ``min_input_size`` = 1 (below ~32 the last
    stages see a single position). ``num_features`` = ``widths[-1] * block.expansion``
    (512 for resnet18/34, 2048 for resnet50).
    """

    def __init__(
        self,
        *,
        dims: int = 2,
        in_channels: int,
        num_classes: int,
        block: type[BasicBlock | Bottleneck],
        layers: Sequence[int],
        widths: Sequence[int] = (64, 128, 256, 512),
        dropout: float = 0.0,
        pool: str = "avg",
        name: str = "resnet",
    ):
        super().__init__(name=name, dims=dims, in_channels=in_channels, min_input_size=1)
        if len(widths) != len(layers) or not layers:
            raise ConfigError(
                f"widths={tuple(widths)} and layers={tuple(layers)} need one entry per stage"
            )
        stem = widths[0]
        check_positive("widths[0]", stem)
        stages: OrderedDict[str, nn.Module] = OrderedDict(
            conv1=conv_nd(dims, in_channels, stem, 7, stride=2, padding=3, bias=False),
            bn1=norm_nd(dims, stem),
            relu=nn.ReLU(inplace=True),
            maxpool=pool_nd(dims, "max", 3, stride=2, padding=1),
        )
        width = stem
        for i, (planes, blocks) in enumerate(zip(widths, layers)):
            stage = []
            for j in range(check_positive(f"layers[{i}]", blocks)):
                stride = 2 if i > 0 and j == 0 else 1
                stage.append(block(dims, width, planes, stride=stride))
                width = planes * block.expansion
            stages[f"layer{i + 1}"] = nn.Sequential(*stage)
        self.features = nn.Sequential(stages)
        self.head = ClassifierHead(dims, width, num_classes, pool=pool, dropout=dropout)
        for module in self.modules():
            if isinstance(module, nn.Conv1d | nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")


def _resnet(name: str, **kwargs):
    return register_model(name, partial(ResNet, name=name, **kwargs), dims=(1, 2))


resnet18 = _resnet("resnet18", block=BasicBlock, layers=(2, 2, 2, 2))
resnet34 = _resnet("resnet34", block=BasicBlock, layers=(3, 4, 6, 3))
resnet50 = _resnet("resnet50", block=Bottleneck, layers=(3, 4, 6, 3))
