"""What a ConvNet learned: its first-layer filters and the feature maps a layer produces.

>>> import torch
>>> from audioconv import models
>>> net = models.create("spectrogram_cnn", dims=2, in_channels=1, num_classes=3)
>>> len(filters(net).axes)
16
>>> len(feature_maps(net, torch.randn(1, 1, 32, 40), max_maps=4).axes)
4
"""

from __future__ import annotations

import math

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from audioconv.errors import ConfigError

__all__ = ["feature_maps", "filters"]

_CONVS = (nn.Conv1d, nn.Conv2d)


def _conv_names(model: nn.Module) -> list[str]:
    return [name for name, m in model.named_modules() if isinstance(m, _CONVS)]


def _find_layer(model: nn.Module, layer: str | None, *, conv_only: bool) -> tuple[str, nn.Module]:
    """The named module (a conv inside it if ``conv_only``), or the model's first conv."""
    convs = _conv_names(model)
    if layer is None:
        if not convs:
            raise ConfigError(f"{type(model).__name__} has no Conv1d / Conv2d layer to plot")
        layer = convs[0]
    try:
        module = model.get_submodule(layer)
    except AttributeError:
        raise ConfigError(
            f"layer={layer!r} is not in the model: conv layers are {', '.join(convs) or 'none'}"
        ) from None
    if conv_only and not isinstance(module, _CONVS):
        inner = [n for n in convs if n.startswith(f"{layer}.")]
        if not inner:
            raise ConfigError(
                f"layer={layer!r} ({type(module).__name__}) holds no convolution: "
                f"pick one of {', '.join(convs)}"
            )
        layer, module = inner[0], model.get_submodule(inner[0])
    return layer, module


def _grid(count: int, *, panel: float = 1.4) -> tuple[Figure, list]:
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    figure = Figure(figsize=(panel * cols + 0.5, panel * rows + 0.6), layout="constrained")
    axes = figure.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[count:]:
        figure.delaxes(ax)
    return figure, list(axes[:count])


def _unit_range(values: np.ndarray) -> np.ndarray:
    low, high = values.min(), values.max()
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def filters(model: nn.Module, *, layer: str | None = None, max_filters: int = 64) -> Figure:
    """The kernels of a conv layer (the first one by default), one panel per output channel.

    2D kernels ``(out, in, kh, kw)`` are images (RGB when ``in == 3``, else the mean over input
    channels); 1D kernels ``(out, in, k)`` are line plots, one line per input channel.
    """
    if max_filters < 1:
        raise ConfigError(f"max_filters={max_filters} must be >= 1")
    name, conv = _find_layer(model, layer, conv_only=True)
    weight = conv.weight.detach().cpu().float().numpy()
    count = min(weight.shape[0], max_filters)
    figure, axes = _grid(count)
    limit = np.abs(weight[:count]).max() or 1.0
    for index, ax in enumerate(axes):
        kernel = weight[index]
        if kernel.ndim == 2:  # (in, k)
            ax.plot(kernel.T, linewidth=0.8)
            ax.set_ylim(-limit, limit)
        elif kernel.shape[0] == 3:  # (3, kh, kw) -> (kh, kw, 3) colour image
            ax.imshow(_unit_range(kernel.transpose(1, 2, 0)))
        else:
            ax.imshow(kernel.mean(0), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(str(index), fontsize=7)
    figure.suptitle(f"{name}: {count} of {weight.shape[0]} filters, kernel {weight.shape[2:]}")
    return figure


def feature_maps(
    model: nn.Module,
    x: torch.Tensor,
    *,
    layer: str | None = None,
    max_maps: int = 16,
    origin: str = "lower",
) -> Figure:
    """Activations of ``layer`` (the first conv by default) for the first example of ``x``.

    ``x`` is ``(batch, channels, *size)`` or one example ``(channels, *size)``; the model runs in
    eval mode without gradients (its mode is restored). 2D maps are images (``origin="lower"``
    puts low frequencies at the bottom; use "upper" for photos); 1D maps are line plots.
    """
    if max_maps < 1:
        raise ConfigError(f"max_maps={max_maps} must be >= 1")
    name, module = _find_layer(model, layer, conv_only=False)
    first_conv = model.get_submodule(_conv_names(model)[0]) if _conv_names(model) else None
    if first_conv is not None and x.dim() == first_conv.weight.dim() - 1:
        x = x.unsqueeze(0)  # (channels, *size) -> (1, channels, *size)
    captured: list[torch.Tensor] = []
    handle = module.register_forward_hook(lambda _m, _i, out: captured.append(out))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x[:1])
    finally:
        handle.remove()
        model.train(was_training)
    maps = captured[0][0].detach().cpu().float().numpy()  # (channels, *size) of example 0
    count = min(maps.shape[0], max_maps)
    figure, axes = _grid(count, panel=1.8)
    for index, ax in enumerate(axes):
        if maps.ndim == 2:  # (channels, time)
            ax.plot(maps[index], linewidth=0.7)
        else:
            ax.imshow(maps[index], aspect="auto", origin=origin, cmap="magma")
            ax.set_yticks([])
        ax.set_xticks([])
        ax.set_title(str(index), fontsize=7)
    figure.suptitle(f"{name}: {count} of {maps.shape[0]} maps, size {maps.shape[1:]}")
    return figure
