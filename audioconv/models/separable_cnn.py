"""``separable_cnn``: a lightweight stack of depthwise-separable convolutions (1D or 2D).

The MobileNet / Xception idea on the blocks of :mod:`audioconv.models.blocks`: one ordinary
convolution mixes the input channels, then each block is a per-channel (depthwise) convolution
followed by a 1x1 (pointwise) one, ``k^dims * C_in + C_in * C_out`` weights instead of
``k^dims * C_in * C_out`` (about 8x fewer for a 3x3 kernel and 64 channels).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from audioconv.errors import ConfigError
from audioconv.models.blocks import Backbone, ClassifierHead, ConvBlock
from audioconv.models.registry import register_model
from audioconv.models.summary import min_input_size


class SeparableCNN(Backbone):
    """A stem ``ConvBlock`` (``stem`` filters), then one separable ``ConvBlock`` with 2x pooling
    per entry of ``filters``, global average pooling and a linear layer.

    Input ``(B, in_channels, time)`` or ``(B, in_channels, H, W)``; output ``(B, num_classes)``;
    ``num_features`` = ``filters[-1]``; ``min_input_size`` = ``2 ** len(filters)``.
    """

    def __init__(
        self,
        *,
        dims: int = 1,
        in_channels: int,
        num_classes: int,
        stem: int = 32,
        filters: Sequence[int] = (64, 128, 128),
        kernel_size: int = 3,
        act: str = "relu",
        dropout: float = 0.1,
    ):
        if not filters:
            raise ConfigError("filters=() is empty: give at least one block, e.g. filters=(64,)")
        widths = (stem, *filters)
        features = nn.Sequential(
            ConvBlock(dims, in_channels, stem, kernel_size, act=act),
            *(
                ConvBlock(dims, c_in, c_out, kernel_size, act=act, pool=2, separable=True)
                for c_in, c_out in zip(widths, widths[1:])
            ),
        )
        super().__init__(
            name="separable_cnn",
            dims=dims,
            in_channels=in_channels,
            min_input_size=min_input_size(features),
        )
        self.features = features
        self.head = ClassifierHead(dims, filters[-1], num_classes, dropout=dropout)


separable_cnn = register_model("separable_cnn", SeparableCNN, dims=(1, 2))
