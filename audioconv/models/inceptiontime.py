"""``inceptiontime``: Ismail Fawaz et al. (2020), the InceptionTime time-series classifier."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from audioconv.errors import ConfigError
from audioconv.models import channels_last_1d as cl1d
from audioconv.models.blocks import Backbone, ClassifierHead, check_positive
from audioconv.models.registry import register_model


class InceptionModule(nn.Module):
    """Bottleneck 1x1 conv, parallel convs of ``kernel_sizes`` ("same" padding) and a
    max-pool -> 1x1 branch, concatenated, BN, ReLU: ``(B, C, T) -> (B, 4 * filters, T)``
    (for three kernel sizes). The bottleneck is skipped for a single input channel, as in the paper.
    """

    def __init__(
        self, in_channels: int, filters: int, bottleneck: int, kernel_sizes: Sequence[int]
    ):
        super().__init__()
        use_bottleneck = in_channels > 1
        branch_in = bottleneck if use_bottleneck else in_channels
        self.bottleneck = (
            cl1d.Conv1d(in_channels, bottleneck, 1, bias=False) if use_bottleneck else nn.Identity()
        )
        self.convs = nn.ModuleList(
            cl1d.Conv1d(branch_in, filters, k, padding="same", bias=False) for k in kernel_sizes
        )
        self.pool_branch = nn.Sequential(
            cl1d.MaxPool1d(3, stride=1, padding=1), cl1d.Conv1d(in_channels, filters, 1, bias=False)
        )
        self.bn = cl1d.BatchNorm1d(filters * (len(kernel_sizes) + 1))
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.bottleneck(x)
        branches = [conv(z) for conv in self.convs] + [self.pool_branch(x)]
        return self.relu(self.bn(torch.cat(branches, dim=1)))  # (B, filters * branches, T)


class InceptionStack(nn.Module):
    """``depth`` inception modules with a 1x1-conv + BN shortcut added every ``residual_every``."""

    def __init__(
        self,
        in_channels: int,
        filters: int,
        bottleneck: int,
        kernel_sizes: Sequence[int],
        depth: int,
        residual_every: int,
    ):
        super().__init__()
        width = filters * (len(kernel_sizes) + 1)
        self.residual_every = residual_every
        self.modules_ = nn.ModuleList(
            InceptionModule(in_channels if i == 0 else width, filters, bottleneck, kernel_sizes)
            for i in range(depth)
        )
        shortcut_inputs = [in_channels] + [width] * (depth // residual_every - 1)
        self.shortcuts = nn.ModuleList(
            nn.Sequential(cl1d.Conv1d(c, width, 1, bias=False), cl1d.BatchNorm1d(width))
            for c in shortcut_inputs[: depth // residual_every]
        )
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x
        for i, module in enumerate(self.modules_):
            x = module(x)
            if (i + 1) % self.residual_every == 0:
                x = self.relu(x + self.shortcuts[i // self.residual_every](residual))
                residual = x
        return x


class InceptionTime(Backbone):
    """One InceptionTime network: 6 inception modules (bottleneck 32, kernels 39 / 19 / 9 — the
    paper's 40 / 20 / 10 made odd for symmetric "same" padding — and a max-pool branch, 32 filters
    each, so 128 channels), a residual connection every 3 modules, global average pooling and a
    linear layer. (The paper ensembles five such networks; train five seeds for that.)

    Input ``(B, in_channels, time)``; any length works: ``min_input_size`` = 1.
    ``num_features`` = ``filters * (len(kernel_sizes) + 1)`` = 128.
    """

    def __init__(
        self,
        *,
        dims: int = 1,
        in_channels: int,
        num_classes: int,
        filters: int = 32,
        bottleneck: int = 32,
        kernel_sizes: Sequence[int] = (39, 19, 9),
        depth: int = 6,
        residual_every: int = 3,
    ):
        if dims != 1:
            raise ConfigError(f"inceptiontime is 1D: dims={dims} is invalid, use dims=1")
        super().__init__(name="inceptiontime", dims=1, in_channels=in_channels, min_input_size=1)
        for name, value in [
            ("filters", filters),
            ("bottleneck", bottleneck),
            ("depth", depth),
            ("residual_every", residual_every),
        ]:
            check_positive(name, value)
        if not kernel_sizes:
            raise ConfigError("kernel_sizes=() is empty: give e.g. kernel_sizes=(39, 19, 9)")
        self.features = InceptionStack(
            in_channels, filters, bottleneck, kernel_sizes, depth, residual_every
        )
        self.head = ClassifierHead(1, filters * (len(kernel_sizes) + 1), num_classes)


inceptiontime = register_model("inceptiontime", InceptionTime, dims=(1,))
