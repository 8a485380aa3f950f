"""Layer tables and the arithmetic of convolutions: output sizes, receptive fields, minimum inputs.

>>> conv_output_size(32, 5)                      # 3@32x32, 5x5 filters, stride 1, no padding
28
>>> conv_output_size((28, 28), 4, stride=2)
(13, 13)
>>> import torch.nn as nn
>>> receptive_field(nn.Sequential(nn.Conv1d(1, 1, 3), nn.MaxPool1d(2), nn.Conv1d(1, 1, 3)))
8
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from audioconv.errors import ConfigError, InputTooSmallError

_CONV_TYPES = (nn.Conv1d, nn.Conv2d)
_POOL_TYPES = (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d)
_ADAPTIVE_TYPES = (
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
)


def _axis(value, axis: int) -> int:
    return value[axis] if isinstance(value, tuple) else value


def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    """``floor((W + 2P - D(K - 1) - 1) / S) + 1``: the output size of a convolution or pooling.

    Every argument is an int or a tuple (one entry per axis); the result is an int when ``size``
    is, else a tuple. Raises ``InputTooSmallError`` when the kernel does not fit.
    """
    if isinstance(size, int):
        out = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
        if out < 1:
            raise InputTooSmallError(
                f"size {size} is too small for kernel={kernel}, stride={stride}, "
                f"padding={padding}, dilation={dilation}: the output would have {out} positions"
            )
        return out
    return tuple(
        conv_output_size(
            s, _axis(kernel, i), _axis(stride, i), _axis(padding, i), _axis(dilation, i)
        )
        for i, s in enumerate(size)
    )


@dataclass(frozen=True)
class Step:
    """One sliding-window layer along one axis; ``padding=None`` means "same" (size kept)."""

    kernel: int
    stride: int
    padding: int | None
    dilation: int


def _steps_of(module: nn.Module, axis: int) -> Step | None:
    if isinstance(module, _CONV_TYPES):
        padding = (
            {"same": None, "valid": 0}.get(module.padding)
            if isinstance(module.padding, str)
            else module.padding[axis]
        )
        return Step(module.kernel_size[axis], module.stride[axis], padding, module.dilation[axis])
    if isinstance(module, _POOL_TYPES):
        kernel, stride, padding = (
            _axis(_pair(v), axis) for v in (module.kernel_size, module.stride, module.padding)
        )
        dilation = _axis(_pair(getattr(module, "dilation", 1)), axis)
        return Step(kernel, stride, padding, dilation)
    return None


def _pair(value):
    return tuple(value) if isinstance(value, list | tuple) else value


def _leaves(layers: Iterable[nn.Module]) -> Iterator[nn.Module]:
    """Yield conv / pool layers of a sequential stack, refusing branching (residual) blocks."""
    for module in layers:
        if isinstance(module, nn.Sequential):
            yield from _leaves(module)
        elif isinstance(module, _CONV_TYPES + _POOL_TYPES):
            yield module
        elif isinstance(module, _ADAPTIVE_TYPES) or next(module.children(), None) is None:
            continue  # activations, norms, dropout: size-preserving, no receptive field
        else:
            raise ConfigError(
                f"{type(module).__name__} is not a sequential stack of layers: receptive_field "
                f"and min_input_size walk nn.Sequential stacks only"
            )


def _layers_of(model_or_layers) -> list[nn.Module]:
    if isinstance(model_or_layers, nn.Sequential):
        return list(model_or_layers)
    if isinstance(model_or_layers, nn.Module):
        features = getattr(model_or_layers, "features", None)
        if isinstance(features, nn.Sequential):
            return list(features)
        return [model_or_layers]
    return list(model_or_layers)


def _num_axes(layers: list[nn.Module]) -> int:
    convs = [m for m in _leaves(layers) if isinstance(m, _CONV_TYPES + _POOL_TYPES)]
    if not convs:
        raise ConfigError("no convolution or pooling layer found: nothing to measure")
    return 2 if isinstance(convs[0], nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d) else 1


def receptive_field(model_or_layers) -> int | tuple[int, ...]:
    """Input positions one output position sees, through a sequential conv / pool stack.

    Accepts a model with a ``receptive_field`` attribute (``wavenet``), a model whose ``features``
    is an ``nn.Sequential``, an ``nn.Sequential`` or a list of layers. Uses
    ``r += (K - 1) * D * jump; jump *= S`` per layer. Returns an int for 1D stacks and a
    ``(H, W)`` tuple for 2D stacks.
    """
    known = getattr(model_or_layers, "receptive_field", None)
    if isinstance(known, int):
        return known
    layers = _layers_of(model_or_layers)
    axes = _num_axes(layers)
    fields = []
    for axis in range(axes):
        field, jump = 1, 1
        for module in _leaves(layers):
            step = _steps_of(module, axis)
            field += (step.kernel - 1) * step.dilation * jump
            jump *= step.stride
        fields.append(field)
    return fields[0] if axes == 1 else tuple(fields)


def smallest_input(steps: Sequence[Step]) -> int:
    """Smallest input size for which every step in ``steps`` outputs at least one position.

    Inverts the output-size rule backwards: an output of ``m`` needs an input of
    ``(m - 1) * S + D * (K - 1) + 1 - 2P``.
    """
    need = 1
    for step in reversed(steps):
        if step.padding is None:  # "same": the size is kept
            continue
        span = step.dilation * (step.kernel - 1) + 1
        need = max(1, (need - 1) * step.stride + span - 2 * step.padding)
    return need


def min_input_size(model_or_layers) -> int:
    """Smallest side a sequential conv / pool stack accepts (the max over its axes)."""
    layers = _layers_of(model_or_layers)
    axes = _num_axes(layers)
    return max(
        smallest_input([_steps_of(m, axis) for m in _leaves(layers)]) for axis in range(axes)
    )


@dataclass(frozen=True)
class LayerRow:
    """One row of a summary: a layer's name, type, output shape (no batch) and own parameters."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int


@dataclass(frozen=True)
class ModelSummary:
    """The result of :func:`summary`; ``str(summary)`` is the Keras-like table."""

    rows: tuple[LayerRow, ...]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    total_params: int
    trainable_params: int
    non_trainable_params: int

    def __str__(self) -> str:
        header = ("Layer (type)", "Output shape", "Param #")
        body = [
            (f"{row.name} ({row.kind})", str((None, *row.output_shape)), f"{row.params:,}")
            for row in self.rows
        ]
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(3)]
        line = "-" * (sum(widths) + 4)

        def fmt(r):
            return f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}"

        return "\n".join(
            [
                line,
                fmt(header),
                "=" * len(line),
                *map(fmt, body),
                "=" * len(line),
                f"Input shape: {(None, *self.input_shape)}",
                f"Output shape: {(None, *self.output_shape)}",
                f"Total params: {self.total_params:,}",
                f"Trainable params: {self.trainable_params:,}",
                f"Non-trainable params: {self.non_trainable_params:,}",
                line,
            ]
        )


def summary(model: nn.Module, input_shape: Sequence[int]) -> ModelSummary:
    """Run one zero example of ``input_shape`` (no batch axis) and tabulate every leaf layer.

    Rows follow call order; a layer called twice is listed once. Totals count parameters
    (buffers such as batch-norm running statistics are not parameters).

        >>> import torch.nn as nn
        >>> s = summary(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)), (3,))
        >>> s.total_params, s.output_shape
        (26, (2,))
    """
    rows: dict[nn.Module, LayerRow] = {}
    names = {module: name for name, module in model.named_modules()}

    def hook(module, _inputs, output):
        if module not in rows and isinstance(output, torch.Tensor):
            params = sum(p.numel() for p in module.parameters(recurse=False))
            rows[module] = LayerRow(
                names[module], type(module).__name__, tuple(output.shape[1:]), params
            )

    containers = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
    leaves = [
        m
        for m in model.modules()
        if next(m.children(), None) is None and not isinstance(m, containers)
    ]
    handles = [m.register_forward_hook(hook) for m in leaves]
    was_training = model.training
    try:
        model.eval()
        device = next(model.parameters(), torch.empty(0)).device
        with torch.no_grad():
            out = model(torch.zeros((1, *input_shape), device=device))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    return ModelSummary(
        rows=tuple(rows.values()),
        input_shape=tuple(input_shape),
        output_shape=tuple(out.shape[1:]),
        total_params=total,
        trainable_params=trainable,
        non_trainable_params=total - trainable,
    )


def count_params(model: nn.Module) -> int:
    """Number of parameters (works on the meta device, so huge models cost no memory)."""
    return sum(p.numel() for p in model.parameters())


__all__ = [
    "LayerRow",
    "ModelSummary",
    "Step",
    "conv_output_size",
    "count_params",
    "min_input_size",
    "receptive_field",
    "smallest_input",
    "summary",
]
