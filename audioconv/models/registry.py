"""One registry of backbones: ``create(name, dims=, in_channels=, num_classes=)``, ``list_models``.

Families register variants as data: ``register_model("resnet18", partial(...), dims=(1, 2))``;
``registered_model(name)`` is the entry (:class:`RegisteredModel`: name, factory, dims).
``load_torchvision_weights`` copies a torchvision state dict into the matching 2D model.
``ModelSpec`` / ``model_spec`` are the deprecated names of ``RegisteredModel`` /
``registered_model`` (a DeprecationWarning).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from audioconv._registry import check_options, check_registration
from audioconv.errors import CheckpointError, ConfigError, unknown_name
from audioconv.models.blocks import Backbone, check_positive


@dataclass(frozen=True)
class RegisteredModel:
    """A registered model: its factory and the dims (1 and / or 2) it supports.

    ``moved_dims`` maps dims the name no longer supports to the registered name that builds them
    now: :func:`create` still builds such a request (configs and checkpoints saved before the
    move) through that name, with a DeprecationWarning. :func:`list_models` and the tests count
    ``dims`` only.
    """

    name: str
    factory: Callable[..., Backbone]
    dims: tuple[int, ...]
    moved_dims: Mapping[int, str] = field(default_factory=dict)


_REGISTRY: dict[str, RegisteredModel] = {}


def register_model(
    name: str,
    factory: Callable[..., Backbone],
    *,
    dims: tuple[int, ...],
    moved_dims: Mapping[int, str] | None = None,
):
    """Register ``factory(*, dims, in_channels, num_classes, **kwargs)`` under ``name`` (the
    rule of :func:`audioconv._registry.check_registration`: the same factory again replaces it).

    ``moved_dims`` (rarely needed): ``{dims: new name}`` for dims this name used to build, see
    :class:`RegisteredModel`. Returns ``factory`` so a module can write
    ``resnet18 = register_model("resnet18", ...)``.
    """
    check_registration("model", name, factory, _REGISTRY, "factory")
    if not dims or any(d not in (1, 2) for d in dims):
        raise ConfigError(f"dims={dims!r} for {name!r} must be a non-empty tuple of 1 and / or 2")
    moved = dict(moved_dims or {})
    if any(d not in (1, 2) or d in dims or not isinstance(n, str) for d, n in moved.items()):
        raise ConfigError(
            f"moved_dims={moved!r} for {name!r} must map dims (1 / 2) not in dims={dims!r} to "
            "the registered name that builds them now"
        )
    _REGISTRY[name] = RegisteredModel(name, factory, tuple(sorted(dims)), moved)
    return factory


def list_models(dims: int | None = None) -> list[str]:
    """Sorted names of the registered models (only those supporting ``dims`` if given)."""
    return sorted(n for n, entry in _REGISTRY.items() if dims is None or dims in entry.dims)


def registered_model(name: str) -> RegisteredModel:
    """The registry entry of ``name``; an unknown name raises listing names and a close match."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise unknown_name(
            "model", name, _REGISTRY, register="audioconv.models.register_model"
        ) from None


def create(name: str, *, dims: int, in_channels: int, num_classes: int, **kwargs) -> Backbone:
    """Build the registered model ``name`` for ``dims`` (1 or 2).

    ``num_classes=0`` gives a model that returns its ``(batch, num_features)`` vector.

        >>> import torch
        >>> model = create("fcn", dims=1, in_channels=3, num_classes=4)
        >>> model(torch.zeros(2, 3, 50)).shape
        torch.Size([2, 4])
    """
    entry = registered_model(name)
    if dims in entry.moved_dims:
        new = entry.moved_dims[dims]
        warnings.warn(
            f"model {name!r} with dims={dims!r} is deprecated: use {new!r} (the same model)",
            DeprecationWarning,
            stacklevel=2,
        )
        return create(new, dims=dims, in_channels=in_channels, num_classes=num_classes, **kwargs)
    if dims not in entry.dims:
        supported = " or ".join(map(str, entry.dims))
        raise ConfigError(f"model {name!r} does not support dims={dims!r}: use dims={supported}")
    check_positive("in_channels", in_channels)
    check_positive("num_classes", num_classes, minimum=0)
    check_options("model", name, entry.factory, kwargs, ("dims", "in_channels", "num_classes"))
    model = entry.factory(dims=dims, in_channels=in_channels, num_classes=num_classes, **kwargs)
    # Its config: what audioconv.tasks stores in checkpoints so load_classifier can rebuild it.
    model.config = {
        "name": name,
        "kwargs": {"dims": dims, "in_channels": in_channels, "num_classes": num_classes, **kwargs},
    }
    return model


def load_torchvision_weights(
    model: Backbone, state_dict_or_path: Mapping[str, torch.Tensor] | str | os.PathLike
) -> list[str]:
    """Copy a torchvision ``resnet*`` / ``vgg*`` / ``alexnet`` state dict into ``model`` (2D).

    The architectures register their tensors in the same order, so entries are paired in order
    and each pair must agree in shape and kind (weight / bias / running_mean ...). The final
    linear layer is skipped when its shape differs (a new ``num_classes`` for transfer learning)
    or the head is the identity. A model with other than 3 input channels (e.g. 1 for
    spectrograms) gets its first convolution through :func:`adapt_input_conv`. Reads a file from
    disk (no downloads). Returns the keys of ``model`` that kept their own values.
    """
    source = _read_state_dict(state_dict_or_path)
    target = model.state_dict()
    fc_keys = [k for k in target if k.startswith("head.fc.")]
    body_keys = [k for k in target if k not in fc_keys]
    src_keys = list(source)
    src_fc, src_body = src_keys[-2:], src_keys[:-2]
    if len(src_body) != len(body_keys):
        raise CheckpointError(
            f"the state dict has {len(src_body)} body tensors but {model.name} "
            f"(dims={model.dims}) has {len(body_keys)}: load weights of the same architecture"
        )
    loaded = {}
    pairs = list(zip(src_body, body_keys))
    if [source[k].shape for k in src_fc] == [target[k].shape for k in fc_keys]:
        pairs += list(zip(src_fc, fc_keys))
    first_src, first_dst = pairs[0]
    if source[first_src].shape[1] != target[first_dst].shape[1]:  # (out, in, *kernel)
        source = dict(source)
        source[first_src] = adapt_input_conv(source[first_src], target[first_dst].shape[1])
    for src, dst in pairs:
        same_kind = src.rsplit(".", 1)[-1] == dst.rsplit(".", 1)[-1]
        if not same_kind or source[src].shape != target[dst].shape:
            raise CheckpointError(
                f"{src} {tuple(source[src].shape)} does not fit {model.name}'s {dst} "
                f"{tuple(target[dst].shape)}: the weights are from another architecture "
                f"(or in_channels / dims differ)"
            )
        loaded[dst] = source[src]
    model.load_state_dict(loaded, strict=False)
    return [k for k in target if k not in loaded]


def adapt_input_conv(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """Fit first-layer weights ``(out, C, *kernel)`` to ``in_channels`` inputs.

    One channel sums the colour kernels (a grey image then gives the colour network's response
    to that grey image); other counts tile the kernels and scale by ``C / in_channels``.
    """
    channels = weight.shape[1]
    if in_channels == channels:
        return weight
    if in_channels == 1:
        return weight.sum(1, keepdim=True)
    repeats = -(-in_channels // channels)  # ceil
    tiled = weight.repeat(1, repeats, *([1] * (weight.dim() - 2)))[:, :in_channels]
    return tiled * (channels / in_channels)


def _read_state_dict(state_dict_or_path) -> Mapping[str, torch.Tensor]:
    if isinstance(state_dict_or_path, Mapping):
        return state_dict_or_path
    path = Path(state_dict_or_path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such weights file (give a torchvision .pth on disk)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a corrupt file
        raise CheckpointError(f"{path}: cannot read a state dict ({exc})") from exc
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{path}: holds a {type(state).__name__}, not a state dict")
    return state


#: deprecated names of this module -> their names now
DEPRECATED_NAMES = {"ModelSpec": "RegisteredModel", "model_spec": "registered_model"}


def deprecated_name(name: str, module: str, *, stacklevel: int = 3):
    """The object the deprecated ``name`` stands for, with a DeprecationWarning; used by the
    ``__getattr__`` of this module and of :mod:`audioconv.models`."""
    new = DEPRECATED_NAMES[name]
    warnings.warn(
        f"{module}.{name} is deprecated: use {module}.{new} (the same object)",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return globals()[new]


def __getattr__(name: str):
    if name in DEPRECATED_NAMES:
        return deprecated_name(name, __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
