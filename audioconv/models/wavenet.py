"""``wavenet``: causal dilated convolutions with gated units, residual and skip connections
(van den Oord et al. 2016), pooled into a classifier."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from audioconv.errors import ConfigError
from audioconv.models import channels_last_1d as cl1d
from audioconv.models.blocks import Backbone, ClassifierHead, check_positive
from audioconv.models.registry import register_model


def gated_activation(x: torch.Tensor) -> torch.Tensor:
    """``tanh(filter) * sigmoid(gate)`` over the two channel halves: ``(B, 2C, T) -> (B, C, T)``."""
    filt, gate = x.chunk(2, dim=1)
    return torch.tanh(filt) * torch.sigmoid(gate)


def wavenet_receptive_field(kernel_size: int, dilations: Sequence[int], input_kernel_size: int):
    """``input_kernel_size + sum(d * (kernel_size - 1))``: samples one output step depends on."""
    return input_kernel_size + sum(d * (kernel_size - 1) for d in dilations)


class CausalConv1d(cl1d.Conv1d):
    """``Conv1d`` padded on the left only, so output ``t`` sees inputs ``<= t``; length kept."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, dilation: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation)
        self.pad_left = dilation * (kernel_size - 1)


class ResidualLayer(nn.Module):
    """Dilated causal conv -> gated unit -> 1x1 residual (added to the input) and 1x1 skip.

    The last layer of a stack has no residual output (``residual=False``): only its skip is used.
    """

    def __init__(
        self,
        channels: int,
        gate_channels: int,
        skip_channels: int,
        kernel_size: int,
        dilation: int,
        *,
        residual: bool = True,
    ):
        super().__init__()
        self.conv = CausalConv1d(channels, 2 * gate_channels, kernel_size, dilation=dilation)
        self.residual = cl1d.Conv1d(gate_channels, channels, 1) if residual else None
        self.skip = cl1d.Conv1d(gate_channels, skip_channels, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = gated_activation(self.conv(x))
        out = x if self.residual is None else x + self.residual(z)
        return out, self.skip(z)


class WaveNetStack(nn.Module):
    """Input causal conv, the residual layers, then ReLU -> 1x1 -> ReLU over the summed skips."""

    def __init__(
        self,
        in_channels,
        channels,
        gate_channels,
        skip_channels,
        kernel_size,
        dilations,
        input_kernel_size,
    ):
        super().__init__()
        self.input = CausalConv1d(in_channels, channels, input_kernel_size)
        self.layers = nn.ModuleList(
            ResidualLayer(
                channels,
                gate_channels,
                skip_channels,
                kernel_size,
                d,
                residual=i < len(dilations) - 1,
            )
            for i, d in enumerate(dilations)
        )
        self.post = nn.Sequential(
            nn.ReLU(), cl1d.Conv1d(skip_channels, skip_channels, 1), nn.ReLU()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input(x)
        skips = torch.zeros((), dtype=x.dtype, device=x.device)
        for layer in self.layers:
            x, skip = layer(x)
            skips = skips + skip
        return self.post(skips)


class WaveNet(Backbone):
    """WaveNet-style classifier: ``dilations`` repeated ``cycles`` times, global average pooling.

    Input ``(B, in_channels, time)``; ``forward_features`` returns ``(B, skip_channels, time)``
    where step ``t`` depends only on inputs ``<= t``. ``receptive_field`` =
    ``input_kernel_size + cycles * sum(d * (kernel_size - 1))`` (2048 samples by default).
    Any length works: ``min_input_size`` = 1 (the start is zero-padded).
    """

    def __init__(
        self,
        *,
        dims: int = 1,
        in_channels: int,
        num_classes: int,
        dilations: Sequence[int] = tuple(2**i for i in range(10)),
        cycles: int = 2,
        kernel_size: int = 2,
        channels: int = 32,
        gate_channels: int = 32,
        skip_channels: int = 64,
        input_kernel_size: int = 2,
    ):
        if dims != 1:
            raise ConfigError(f"wavenet is causal over time: dims={dims} is invalid, use dims=1")
        super().__init__(name="wavenet", dims=1, in_channels=in_channels, min_input_size=1)
        for name, value in [
            ("cycles", cycles),
            ("kernel_size", kernel_size),
            ("channels", channels),
            ("gate_channels", gate_channels),
            ("skip_channels", skip_channels),
            ("input_kernel_size", input_kernel_size),
        ]:
            check_positive(name, value)
        if not dilations:
            raise ConfigError("dilations=() is empty: give e.g. dilations=(1, 2, 4, 8)")
        for d in dilations:
            check_positive("each dilation", d)
        all_dilations = tuple(dilations) * cycles
        self.receptive_field = wavenet_receptive_field(
            kernel_size, all_dilations, input_kernel_size
        )
        self.features = WaveNetStack(
            in_channels,
            channels,
            gate_channels,
            skip_channels,
            kernel_size,
            all_dilations,
            input_kernel_size,
        )
        self.head = ClassifierHead(1, skip_channels, num_classes)


wavenet = register_model("wavenet", WaveNet, dims=(1,))
