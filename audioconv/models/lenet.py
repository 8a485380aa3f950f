"""``lenet5``: LeCun et al. (1998) — conv 6@5x5, pool, conv 16@5x5, pool, dense 120, 84, classes."""

from __future__ import annotations

from torch import nn

from audioconv.errors import ConfigError
from audioconv.models.blocks import Backbone, ClassifierHead, ConvBlock
from audioconv.models.registry import register_model
from audioconv.models.summary import min_input_size


class LeNet5(Backbone):
    """Classic LeNet-5: tanh activations and 2x2 average pooling ("subsampling").

    At the classic ``1x32x32`` input with 10 classes it has 61,706 parameters. Other sizes are
    adapted by an adaptive average pooling of the last map to 5x5 before the dense layers (the
    identity at 32x32, so the classic network is unchanged). ``min_input_size`` = 16.
    Input ``(B, in_channels, H, W)``; ``num_features`` = 84.
    """

    def __init__(
        self,
        *,
        dims: int = 2,
        in_channels: int,
        num_classes: int,
        act: str = "tanh",
        pool_type: str = "avg",
    ):
        if dims != 2:
            raise ConfigError(f"lenet5 is 2D: dims={dims} is invalid, use dims=2")
        features = nn.Sequential(
            ConvBlock(
                2,
                in_channels,
                6,
                5,
                padding="valid",
                act=act,
                norm=None,
                pool=2,
                pool_type=pool_type,
            ),
            ConvBlock(
                2, 6, 16, 5, padding="valid", act=act, norm=None, pool=2, pool_type=pool_type
            ),
        )
        super().__init__(
            name="lenet5", dims=2, in_channels=in_channels, min_input_size=min_input_size(features)
        )
        self.features = features
        self.head = ClassifierHead(2, 16, num_classes, pool_size=5, hidden=(120, 84), act=act)


lenet5 = register_model("lenet5", LeNet5, dims=(2,))
