"""Layers generic over ``dims`` (1 or 2), the classifier head and the backbone base class.

Shapes: ``dims=1`` works on ``(batch, channels, time)``, ``dims=2`` on ``(batch, channels, H, W)``
(a spectrogram's ``H, W`` are ``freq, time``). The same call builds either, so a 1D and a 2D network
are one code base::

    >>> import torch
    >>> block = ConvBlock(1, 2, 8, 3, pool=2)
    >>> block(torch.zeros(4, 2, 50)).shape
    torch.Size([4, 8, 25])
    >>> ConvBlock(2, 2, 8, 3, pool=2)(torch.zeros(4, 2, 50, 30)).shape
    torch.Size([4, 8, 25, 15])
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
from torch import nn

from audioconv._plain import SpecAlias
from audioconv.errors import ConfigError, InputTooSmallError, check_positive
from audioconv.models import channels_last_1d as cl1d

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "identity": nn.Identity,
}
_CONV = {1: cl1d.Conv1d, 2: nn.Conv2d}
_NORM = {1: cl1d.BatchNorm1d, 2: nn.BatchNorm2d}
_POOL = {
    ("max", 1): cl1d.MaxPool1d,
    ("max", 2): nn.MaxPool2d,
    ("avg", 1): cl1d.AvgPool1d,
    ("avg", 2): nn.AvgPool2d,
}
_ADAPTIVE_POOL = {
    ("max", 1): nn.AdaptiveMaxPool1d,
    ("max", 2): nn.AdaptiveMaxPool2d,
    ("avg", 1): nn.AdaptiveAvgPool1d,
    ("avg", 2): nn.AdaptiveAvgPool2d,
}

Padding = str | int | tuple[int, ...]


def check_dims(dims: int) -> int:
    """Return ``dims`` if it is 1 or 2, else raise ``ConfigError``."""
    if dims not in (1, 2):
        raise ConfigError(f"dims={dims!r} is not supported: use 1 (sequences) or 2 (images)")
    return dims


def as_tuple(value: int | Sequence[int], length: int, name: str) -> tuple[int, ...]:
    """Broadcast an int to ``length`` copies, or check a sequence has ``length`` entries."""
    if isinstance(value, int):
        return (value,) * length
    values = tuple(value)
    if len(values) != length:
        raise ConfigError(
            f"{name}={value!r} has {len(values)} entries but {length} are needed: "
            f"give one per layer or a single int"
        )
    return values


def get_act_layer(name: str) -> type[nn.Module]:
    """Activation class by name: relu, leaky_relu, elu, tanh, sigmoid, gelu or identity."""
    try:
        return _ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"act={name!r} is not a known activation: choose one of {sorted(_ACTIVATIONS)}"
        ) from None


def _same_padding(kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...]):
    if all(s == 1 for s in stride):
        return "same"
    if any((d * (k - 1)) % 2 for k, d in zip(kernel, dilation)):
        raise ConfigError(
            f"padding='same' with stride={stride} needs an odd (dilated) kernel, got "
            f"kernel_size={kernel}: use an odd kernel_size or an explicit integer padding"
        )
    return tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation))


def conv_nd(
    dims: int,
    in_channels: int,
    out_channels: int,
    kernel_size: int | Sequence[int],
    *,
    stride: int | Sequence[int] = 1,
    padding: Padding = "same",
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    bias: bool = True,
) -> nn.Conv1d | nn.Conv2d:
    """A ``Conv1d`` or ``Conv2d``; ``padding`` is "same", "valid" or an int / tuple per axis.

    "same" keeps the size at stride 1 and gives ``ceil(size / stride)`` otherwise (odd kernels).
    """
    check_dims(dims)
    kernel = as_tuple(kernel_size, dims, "kernel_size")
    strides = as_tuple(stride, dims, "stride")
    dilations = as_tuple(dilation, dims, "dilation")
    if padding == "same":
        pad: str | tuple[int, ...] = _same_padding(kernel, strides, dilations)
    elif padding == "valid":
        pad = (0,) * dims
    elif isinstance(padding, str):
        raise ConfigError(f"padding={padding!r} is invalid: use 'same', 'valid' or an integer")
    else:
        pad = as_tuple(padding, dims, "padding")
    if in_channels % groups or out_channels % groups:
        raise ConfigError(
            f"groups={groups} must divide in_channels={in_channels} and out_channels={out_channels}"
        )
    return _CONV[dims](
        in_channels,
        out_channels,
        kernel,
        stride=strides,
        padding=pad,
        dilation=dilations,
        groups=groups,
        bias=bias,
    )


class SeparableConv(nn.Sequential):
    """Depthwise-separable convolution: a per-channel ``depthwise`` conv then a 1x1 ``pointwise``.

    Uses ``k^dims * C_in + C_in * C_out`` weights instead of ``k^dims * C_in * C_out``.
    """

    def __init__(
        self,
        dims: int,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        *,
        stride: int | Sequence[int] = 1,
        padding: Padding = "same",
        dilation: int | Sequence[int] = 1,
        bias: bool = True,
    ):
        super().__init__()
        self.depthwise = conv_nd(
            dims,
            in_channels,
            in_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=in_channels,
            bias=False,
        )
        self.pointwise = conv_nd(dims, in_channels, out_channels, 1, bias=bias)


def pool_nd(
    dims: int,
    kind: str,
    kernel_size: int | Sequence[int],
    *,
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
) -> nn.Module:
    """Max or average pooling (``kind`` "max" / "avg"); ``stride`` defaults to ``kernel_size``."""
    check_dims(dims)
    if kind not in ("max", "avg"):
        raise ConfigError(f"pool kind {kind!r} is invalid: use 'max' or 'avg'")
    return _POOL[kind, dims](kernel_size, stride=stride, padding=padding)


class AdaptiveAvgMaxPool(nn.Module):
    """The mean of adaptive average and adaptive max pooling (timm's "avgmax"): the average keeps
    the whole input, the max its strongest moment (e.g. one emotional syllable in a sentence).

    >>> AdaptiveAvgMaxPool(1, 1)(torch.tensor([[[0.0, 0.0, 4.0]]]))
    tensor([[[2.6667]]])
    """

    def __init__(self, dims: int, output_size: int):
        super().__init__()
        self.avg = _ADAPTIVE_POOL["avg", dims](output_size)
        self.max = _ADAPTIVE_POOL["max", dims](output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (self.avg(x) + self.max(x))


def adaptive_pool_nd(dims: int, kind: str, output_size: int) -> nn.Module:
    """Adaptive "max", "avg" or "avgmax" (:class:`AdaptiveAvgMaxPool`) pooling to
    ``output_size`` per axis (1 = global pooling)."""
    check_dims(dims)
    if kind == "avgmax":
        return AdaptiveAvgMaxPool(dims, output_size)
    if kind not in ("max", "avg"):
        raise ConfigError(f"pool kind {kind!r} is invalid: use 'max', 'avg' or 'avgmax'")
    return _ADAPTIVE_POOL[kind, dims](output_size)


def norm_nd(dims: int, channels: int) -> nn.BatchNorm1d | nn.BatchNorm2d:
    """Batch norm over channels for ``dims`` 1 or 2."""
    check_dims(dims)
    return _NORM[dims](channels)


class ConvBlock(nn.Sequential):
    """conv -> batch norm -> activation -> pooling -> dropout, each optional but the conv.

    ``pool`` is a pooling size (stride = size) of type ``pool_type`` ("max" / "avg"); ``norm`` is
    "batch" or None; ``bias`` defaults to "no bias when batch norm follows"; ``separable=True``
    makes the conv a :class:`SeparableConv` (depthwise then pointwise).
    Shape: ``(B, in_channels, *size) -> (B, out_channels, *size')``.
    """

    def __init__(
        self,
        dims: int,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        *,
        stride: int | Sequence[int] = 1,
        padding: Padding = "same",
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        act: str = "relu",
        norm: str | None = "batch",
        dropout: float = 0.0,
        pool: int | None = None,
        pool_type: str = "max",
        bias: bool | None = None,
        separable: bool = False,
    ):
        super().__init__()
        if norm not in ("batch", None):
            raise ConfigError(f"norm={norm!r} is invalid: use 'batch' or None")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout={dropout!r} must be in [0, 1)")
        if separable and groups != 1:
            raise ConfigError(f"separable=True sets its own groups: drop groups={groups}")
        conv = SeparableConv if separable else functools.partial(conv_nd, groups=groups)
        self.conv = conv(
            dims,
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            bias=norm is None if bias is None else bias,
        )
        if norm == "batch":
            self.norm = norm_nd(dims, out_channels)
        self.act = get_act_layer(act)()
        if pool is not None and pool > 1:
            self.pool = pool_nd(dims, pool_type, pool)
        if dropout > 0:
            self.drop = nn.Dropout(dropout)


class ClassifierHead(nn.Module):
    """Adaptive pool -> flatten -> optional MLP (Linear, act, Dropout) -> final ``fc``.

    ``pool_size`` is the adaptive pooling output per axis (1 = global pooling; AlexNet uses 6,
    VGG 7).
    ``num_features`` is the width before ``fc``; ``num_classes=0`` makes ``fc`` the identity.
    Shape: ``(B, C, *size) -> (B, num_classes)``.
    """

    def __init__(
        self,
        dims: int,
        in_channels: int,
        num_classes: int,
        *,
        pool: str = "avg",
        pool_size: int = 1,
        hidden: Sequence[int] = (),
        act: str = "relu",
        dropout: float = 0.0,
    ):
        super().__init__()
        check_positive("pool_size", pool_size)
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout={dropout!r} must be in [0, 1)")
        self.pool = adaptive_pool_nd(dims, pool, pool_size)
        width = in_channels * pool_size**dims
        layers: list[nn.Module] = []
        for size in hidden:
            check_positive("hidden width", size)
            layers += [nn.Linear(width, size), get_act_layer(act)(), nn.Dropout(dropout)]
            width = size
        self.mlp = nn.Sequential(*layers)
        self.drop = nn.Dropout(dropout) if dropout > 0 and not hidden else nn.Identity()
        self.num_features = width
        self.fc: nn.Module = nn.Identity()
        self.reset(num_classes)

    def reset(self, num_classes: int) -> None:
        """Replace ``fc`` with a fresh ``Linear(num_features, num_classes)`` (identity for 0)."""
        check_positive("num_classes", num_classes, minimum=0)
        self.num_classes = num_classes
        self.fc = nn.Linear(self.num_features, num_classes) if num_classes else nn.Identity()

    def forward(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.pool(x).flatten(1)  # (B, C, *pool_size) -> (B, C * pool_size**dims)
        x = self.drop(self.mlp(x))
        return x if pre_logits else self.fc(x)


class Backbone(SpecAlias, nn.Module):
    """Base of every registered model: the contract of ``docs/architecture.md``.

    Subclasses set ``features`` (input -> unpooled map) and ``head`` (a ``ClassifierHead``).
    ``forward_features`` checks the input's rank, channels and size against ``min_input_size``.
    ``audioconv.models.create`` sets ``config`` (``{"name", "kwargs"}``); ``spec``, its deprecated
    name, is the old ``(name, kwargs)`` pair.
    """

    def _spec_from_config(self, config: dict) -> tuple[str, dict]:
        return config["name"], config["kwargs"]

    features: nn.Module
    head: ClassifierHead

    def __init__(self, *, name: str, dims: int, in_channels: int, min_input_size: int):
        super().__init__()
        self.name = name
        self.dims = check_dims(dims)
        self.in_channels = check_positive("in_channels", in_channels)
        self.min_input_size = min_input_size

    @property
    def num_features(self) -> int:
        """Width of the pooled feature vector that the final linear layer reads."""
        return self.head.num_features

    @property
    def num_classes(self) -> int:
        """Output width of the final layer (0 when the head is the identity)."""
        return self.head.num_classes

    def check_input(self, x: torch.Tensor) -> None:
        """Raise unless ``x`` is ``(B, in_channels, *size)``, each size >= ``min_input_size``."""
        if x.dim() != self.dims + 2 or x.shape[1] != self.in_channels:
            layout = "(batch, channels, time)" if self.dims == 1 else "(batch, channels, H, W)"
            raise ConfigError(
                f"{self.name} (dims={self.dims}, in_channels={self.in_channels}) expects "
                f"{layout} with {self.in_channels} channels, got shape {tuple(x.shape)}"
            )
        size = tuple(x.shape[2:])
        if min(size) < self.min_input_size:
            raise InputTooSmallError(
                f"{self.name}: input size {size} is smaller than its minimum "
                f"{self.min_input_size} per axis: pad or crop the input to at least "
                f"{self.min_input_size}"
            )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, *size) -> (B, channels, *size')`` the unpooled feature map."""
        self.check_input(x)
        return self.features(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Feature map -> ``(B, num_classes)`` logits (``(B, num_features)`` if ``pre_logits``)."""
        return self.head(x, pre_logits=pre_logits)

    def reset_classifier(self, num_classes: int) -> None:
        """New final layer with ``num_classes`` outputs; 0 makes ``model(x)`` return features."""
        self.head.reset(num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))
