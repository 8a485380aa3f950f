"""1D layers that can run on PyTorch's 2D channels-last kernels: same parameters, same results.

On CPUs (oneDNN) and GPUs (cuDNN) a 2D convolution over ``(B, C, 1, T)`` stored channels-last
(``(B, T, C)`` in memory) runs much faster than the channels-first 1D path: about 2x for a
``conv1d`` stack training on 1-second waveforms, one CPU thread (``benchmarks/bench_training.py``
measures it). PyTorch applies channels-last to 4D tensors only, so these subclasses of
``nn.Conv1d`` / ``nn.BatchNorm1d`` / ``nn.MaxPool1d`` / ``nn.AvgPool1d`` compute on
``x.unsqueeze(2)`` and squeeze the result: a ``(B, C, T)`` input stored time-major stays
time-major through convolution, batch norm, pooling and element-wise layers. Parameter shapes
and ``state_dict`` keys are those of the ``nn`` classes, so checkpoints are interchangeable.

Without :func:`set_channels_last` (or ``Classifier(channels_last=True)``, the default for
convolutional backbones) a channels-first input takes PyTorch's usual path.

>>> conv = Conv1d(4, 8, 3, padding="same")
>>> x = torch.randn(2, 4, 50)
>>> torch.allclose(conv(x), nn.functional.conv1d(x, conv.weight, conv.bias, padding="same"),
...                atol=1e-6)
True
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["AvgPool1d", "BatchNorm1d", "Conv1d", "MaxPool1d", "set_channels_last", "time_major"]


def time_major(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, T)`` with the same values, stored ``(B, T, C)`` in memory (no copy if it is)."""
    if x.dim() != 3:
        return x
    return x.unsqueeze(2).contiguous(memory_format=torch.channels_last).squeeze(2)


class Conv1d(nn.Conv1d):
    """``nn.Conv1d``; with ``channels_last = True`` it runs as a channels-last 2D convolution.

    Shape: ``(B, in_channels, T) -> (B, out_channels, T')``, as ``nn.Conv1d``.
    ``pad_left`` adds that many zeros before the signal (causal convolution).
    """

    pad_left: int = 0
    channels_last: bool = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.channels_last or self.padding_mode != "zeros" or x.dim() != 3:
            return super().forward(F.pad(x, (self.pad_left, 0)) if self.pad_left else x)
        x = x.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        if self.pad_left:
            x = F.pad(x, (self.pad_left, 0))
        padding = (0, 0)
        if self.padding == "same":  # pad here: conv2d would pad a channels-first copy
            total = self.dilation[0] * (self.kernel_size[0] - 1)
            x = F.pad(x, (total // 2, total - total // 2))
        elif self.padding != "valid":
            padding = (0, self.padding[0])
        weight = self.weight.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        out = F.conv2d(
            x,
            weight,
            self.bias,
            (1, self.stride[0]),
            padding,
            (1, self.dilation[0]),
            self.groups,
        )
        # one input channel leaves the layout ambiguous and the kernel may answer channels-first
        return out.contiguous(memory_format=torch.channels_last).squeeze(2)


class BatchNorm1d(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` that keeps a time-major ``(B, C, T)`` input time-major (2D kernel)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3:
            return super().forward(x)
        return super().forward(x.unsqueeze(2)).squeeze(2)

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() not in (2, 3, 4):
            raise ValueError(f"expected 2D or 3D input (got {x.dim()}D input)")


class MaxPool1d(nn.MaxPool1d):
    """``nn.MaxPool1d`` that keeps a time-major ``(B, C, T)`` input time-major (2D kernel)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or self.return_indices:
            return super().forward(x)
        params = (self.kernel_size, self.stride, self.padding, self.dilation)
        k, s, p, d = (v if isinstance(v, int) else v[0] for v in params)
        out = F.max_pool2d(x.unsqueeze(2), (1, k), (1, s), (0, p), (1, d), self.ceil_mode)
        return out.squeeze(2)


class AvgPool1d(nn.AvgPool1d):
    """``nn.AvgPool1d`` that keeps a time-major ``(B, C, T)`` input time-major (2D kernel)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3:
            return super().forward(x)
        (k,), (s,), (p,) = self.kernel_size, self.stride, self.padding
        out = F.avg_pool2d(
            x.unsqueeze(2), (1, k), (1, s), (0, p), self.ceil_mode, self.count_include_pad
        )
        return out.squeeze(2)


def set_channels_last(model: nn.Module, enabled: bool = True) -> nn.Module:
    """Switch every convolution of ``model`` to channels-last (or back); returns ``model``.

    2D parameters are re-stored channels-last (``model.to(memory_format=...)``); the 1D
    :class:`Conv1d` layers compute through 2D channels-last kernels. Feed inputs through
    :func:`time_major` (1D) or ``.contiguous(memory_format=torch.channels_last)`` (2D).
    """
    for module in model.modules():
        if isinstance(module, Conv1d):
            module.channels_last = enabled
    return model.to(memory_format=torch.channels_last if enabled else torch.contiguous_format)
