"""``fcn``: the fully convolutional network of Wang, Yan & Oates (2017), a time-series baseline."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from audioconv.errors import ConfigError
from audioconv.models.blocks import Backbone, ClassifierHead, ConvBlock
from audioconv.models.registry import register_model


class FCN(Backbone):
    """Three conv -> BN -> ReLU blocks (128, 256, 128 filters; kernels 8, 5, 3; "same" padding),
    global average pooling and a linear layer. ``num_features`` = ``filters[-1]``.

    Input ``(B, in_channels, time)`` (or ``(B, C, H, W)`` with ``dims=2``); any size works:
    ``min_input_size`` = 1.
    """

    def __init__(
        self,
        *,
        dims: int = 1,
        in_channels: int,
        num_classes: int,
        filters: Sequence[int] = (128, 256, 128),
        kernel_sizes: Sequence[int] = (8, 5, 3),
    ):
        if len(filters) != len(kernel_sizes) or not filters:
            raise ConfigError(
                f"filters={filters!r} and kernel_sizes={kernel_sizes!r} need the same, non-zero "
                f"length (one kernel size per block)"
            )
        super().__init__(name="fcn", dims=dims, in_channels=in_channels, min_input_size=1)
        widths = (in_channels, *filters)
        self.features = nn.Sequential(
            *(ConvBlock(dims, widths[i], widths[i + 1], k) for i, k in enumerate(kernel_sizes))
        )
        self.head = ClassifierHead(dims, filters[-1], num_classes)


fcn = register_model("fcn", FCN, dims=(1, 2))
