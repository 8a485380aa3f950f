"""``conv_stack``: a Keras-style stack of convolution blocks, every size configurable (1D or 2D).

``conv1d`` is the same stack registered for 1D only (the name recipes, configs and checkpoints
use for raw waveforms and sensor windows). It used to build 2D models as well, and configs and
checkpoints saved then may hold ``{"name": "conv1d", "kwargs": {"dims": 2, ...}}`` (the tests and
benchmarks created such models too), so a 2D ``conv1d`` is not refused: it builds ``conv_stack``
with a DeprecationWarning naming it (``moved_dims``, :func:`~audioconv.models.registry.create`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from torch import nn

from audioconv.errors import ConfigError
from audioconv.models.blocks import Backbone, ClassifierHead, ConvBlock, as_tuple
from audioconv.models.registry import register_model
from audioconv.models.summary import min_input_size


class ConvStack(Backbone):
    """Blocks of conv -> batch norm -> act -> pool -> dropout, then global pooling and a dense head.

    ``filters`` gives one block per entry; ``kernel_sizes``, ``pool_sizes`` (1 = no pooling) and
    ``dropout`` are one value for all blocks or one per block; ``hidden`` adds dense layers.
    Input ``(B, in_channels, time)`` or ``(B, in_channels, H, W)``; output ``(B, num_classes)``.
    ``min_input_size`` follows from the configuration: 16 for the defaults (four 2x poolings,
    "same" padding); with ``padding="valid"`` each conv also removes ``kernel_size - 1``.
    """

    def __init__(
        self,
        *,
        dims: int = 1,
        in_channels: int,
        num_classes: int,
        filters: Sequence[int] = (64, 64, 128, 128),
        kernel_sizes: int | Sequence[int] = 3,
        pool_sizes: int | Sequence[int] = 2,
        padding: str = "same",
        dropout: float | Sequence[float] = 0.1,
        act: str = "relu",
        norm: str | None = "batch",
        pool_type: str = "max",
        hidden: Sequence[int] = (),
        head_dropout: float = 0.0,
        name: str = "conv_stack",
    ):
        if not filters:
            raise ConfigError("filters=() is empty: give at least one block, e.g. filters=(64,)")
        n = len(filters)
        kernels = as_tuple(kernel_sizes, n, "kernel_sizes")
        pools = as_tuple(pool_sizes, n, "pool_sizes")
        drops = (dropout,) * n if isinstance(dropout, int | float) else tuple(dropout)
        if len(drops) != n:
            raise ConfigError(f"dropout={dropout!r} needs one value per block ({n}) or one float")
        blocks, width = [], in_channels
        for out, kernel, pool, drop in zip(filters, kernels, pools, drops):
            blocks.append(
                ConvBlock(
                    dims,
                    width,
                    out,
                    kernel,
                    padding=padding,
                    act=act,
                    norm=norm,
                    dropout=drop,
                    pool=pool,
                    pool_type=pool_type,
                )
            )
            width = out
        features = nn.Sequential(*blocks)
        super().__init__(
            name=name, dims=dims, in_channels=in_channels, min_input_size=min_input_size(features)
        )
        self.features = features
        self.head = ClassifierHead(
            dims, width, num_classes, hidden=hidden, act=act, dropout=head_dropout
        )


conv_stack = register_model("conv_stack", ConvStack, dims=(1, 2))
conv1d = register_model(
    "conv1d", partial(ConvStack, name="conv1d"), dims=(1,), moved_dims={2: "conv_stack"}
)
