"""``alexnet``: Krizhevsky et al. (2012), in torchvision's single-tower layout."""

from __future__ import annotations

from torch import nn

from audioconv.models.blocks import Backbone, ClassifierHead, ConvBlock, pool_nd
from audioconv.models.registry import register_model
from audioconv.models.summary import min_input_size


class AlexNet(Backbone):
    """Five convs (64@11x11/4, 192@5x5, 384, 256, 256@3x3) with 3x3/2 max pools, adaptive average
    pooling to 6x6 and the 4096-4096 dropout MLP: torchvision's ``alexnet`` layer for layer
    (61,100,840 parameters at 3x224x224, 1000 classes; dropout sits after each hidden layer,
    which changes nothing in eval mode). ``dims=1`` uses the same layers in 1D.

    Input ``(B, in_channels, H, W)``; ``min_input_size`` = 63. ``num_features`` = ``hidden``.
    """

    def __init__(
        self,
        *,
        dims: int = 2,
        in_channels: int,
        num_classes: int,
        dropout: float = 0.5,
        hidden: int = 4096,
    ):
        def conv(cin: int, cout: int, kernel: int, **kw) -> ConvBlock:
            return ConvBlock(dims, cin, cout, kernel, norm=None, **kw)

        features = nn.Sequential(
            conv(in_channels, 64, 11, stride=4, padding=2),
            pool_nd(dims, "max", 3, stride=2),
            conv(64, 192, 5, padding=2),
            pool_nd(dims, "max", 3, stride=2),
            conv(192, 384, 3, padding=1),
            conv(384, 256, 3, padding=1),
            conv(256, 256, 3, padding=1),
            pool_nd(dims, "max", 3, stride=2),
        )
        super().__init__(
            name="alexnet",
            dims=dims,
            in_channels=in_channels,
            min_input_size=min_input_size(features),
        )
        self.features = features
        self.head = ClassifierHead(
            dims, 256, num_classes, pool_size=6, hidden=(hidden, hidden), dropout=dropout
        )


alexnet = register_model("alexnet", AlexNet, dims=(1, 2))
