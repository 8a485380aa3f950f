"""``vgg11`` / ``vgg13`` / ``vgg16`` (and ``_bn`` variants): Simonyan & Zisserman (2015)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from torch import nn

from audioconv.models.blocks import Backbone, ClassifierHead, ConvBlock, pool_nd
from audioconv.models.registry import register_model
from audioconv.models.summary import min_input_size

# Widths of the 3x3 convolutions; "M" is a 2x2 max pooling.
CONFIGS: dict[str, tuple[int | str, ...]] = {
    "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg13": (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg16": (
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        "M",
    ),
}


class VGG(Backbone):
    """Stacks of 3x3 convs (padding 1) and 2x2 max pools, adaptive average pooling to 7x7 and the
    4096-4096 dropout MLP: torchvision's ``vgg*`` / ``vgg*_bn`` layer for layer (vgg16:
    138,357,544 parameters at 3x224x224, 1000 classes). ``dims=1`` uses the same layers in 1D.

    Input ``(B, in_channels, H, W)``; ``min_input_size`` = 32 (five 2x poolings).
    ``num_features`` = ``hidden``.
    """

    def __init__(
        self,
        *,
        dims: int = 2,
        in_channels: int,
        num_classes: int,
        config: Sequence[int | str],
        batch_norm: bool = False,
        name: str = "vgg",
        dropout: float = 0.5,
        hidden: int = 4096,
    ):
        layers: list[nn.Module] = []
        width = in_channels
        for item in config:
            if item == "M":
                layers.append(pool_nd(dims, "max", 2))
            else:
                layers.append(
                    ConvBlock(
                        dims,
                        width,
                        item,
                        3,
                        padding=1,
                        norm="batch" if batch_norm else None,
                        bias=True,
                    )
                )
                width = item
        features = nn.Sequential(*layers)
        super().__init__(
            name=name, dims=dims, in_channels=in_channels, min_input_size=min_input_size(features)
        )
        self.features = features
        self.head = ClassifierHead(
            dims, width, num_classes, pool_size=7, hidden=(hidden, hidden), dropout=dropout
        )


def _vgg(name: str, batch_norm: bool):
    return register_model(
        name + ("_bn" if batch_norm else ""),
        partial(
            VGG,
            config=CONFIGS[name],
            batch_norm=batch_norm,
            name=name + ("_bn" if batch_norm else ""),
        ),
        dims=(1, 2),
    )


vgg11 = _vgg("vgg11", False)
vgg13 = _vgg("vgg13", False)
vgg16 = _vgg("vgg16", False)
vgg11_bn = _vgg("vgg11", True)
vgg13_bn = _vgg("vgg13", True)
vgg16_bn = _vgg("vgg16", True)
