"""Transfer learning: start from a trained backbone, replace the head, freeze by stage.

- :func:`load_backbone` copies weights into an ``audioconv.models`` backbone from an audioconv
  Lightning checkpoint (``state_dict`` keys ``backbone.*``), a plain state dict saved with
  ``torch.save``, or a torchvision weights file on disk (``resnet*`` / ``vgg*`` / ``alexnet``). The
  final layer is skipped when its shape differs, so a model built for new classes loads the rest.
- :func:`freeze` / :func:`unfreeze` switch ``requires_grad`` by stage: the children of the
  backbone's ``features`` (``"features.0"``, ``"features.1"``, ...), ``"head.mlp"``, or
  ``"all"`` (everything but the final layer ``head.fc``). Batch-norm layers inside a frozen stage
  also keep their running statistics (they run in eval mode), so frozen weights and statistics
  stay bit-identical while the rest trains.
- :func:`param_groups` gives the optimizer a lower learning rate for the backbone than the head.

>>> import torch
>>> from audioconv.models import create
>>> model = create("conv1d", dims=1, in_channels=1, num_classes=3)
>>> model.reset_classifier(5)
>>> frozen = freeze(model)
>>> [n for n, p in model.named_parameters() if p.requires_grad]
['head.fc.weight', 'head.fc.bias']
>>> groups = param_groups(model, backbone_lr=1e-4, head_lr=1e-3)
>>> [(len(g["params"]), g["lr"]) for g in groups]
[(2, 0.001)]
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from audioconv._integrity import check_finite, read_checkpoint
from audioconv.errors import CheckpointError, ConfigError

__all__ = ["freeze", "load_backbone", "param_groups", "stages", "unfreeze"]

_HOOKS = "_audioconv_frozen_norm_hooks"


def _backbone_of(model: nn.Module) -> nn.Module:
    """The backbone of a task module (``model.backbone``) or the model itself."""
    return getattr(model, "backbone", model)


def _final_layer(model: nn.Module) -> nn.Module | None:
    head = getattr(_backbone_of(model), "head", None)
    return getattr(head, "fc", None)


def stages(model: nn.Module) -> list[str]:
    """Names :func:`freeze` accepts for ``model``, input side first."""
    backbone = _backbone_of(model)
    prefix = "backbone." if backbone is not model else ""
    names = []
    features = getattr(backbone, "features", None)
    if isinstance(features, nn.Module) and len(list(features.children())):
        names += [f"{prefix}features.{name}" for name, _ in features.named_children()]
    else:
        names += [f"{prefix}{name}" for name, _ in backbone.named_children() if name != "head"]
    head = getattr(backbone, "head", None)
    if head is not None and len(list(getattr(head, "mlp", nn.Sequential()).parameters())):
        names.append(f"{prefix}head.mlp")
    return names


def _resolve(model: nn.Module, which: str | int | Sequence[str]) -> list[nn.Module]:
    known = stages(model)
    if which == "all":
        names = known
    elif isinstance(which, int) and not isinstance(which, bool):
        if not 0 <= which <= len(known):
            raise ConfigError(f"stages={which} must be between 0 and {len(known)} for this model")
        names = known[:which]
    elif isinstance(which, Sequence) and not isinstance(which, str):
        names = list(which)
    else:
        raise ConfigError(f"stages={which!r}: pass 'all', a number of leading stages, or names")
    modules = dict(model.named_modules())
    unknown = [name for name in names if name not in modules]
    if unknown:
        raise ConfigError(f"unknown stage(s) {unknown}; this model's stages are {known}")
    return [modules[name] for name in names]


def _keep_eval(module: nn.Module, args) -> None:
    module.training = False


def freeze(model: nn.Module, stages: str | int | Sequence[str] = "all") -> list[str]:
    """Stop training ``stages`` of ``model`` (see :func:`stages`): ``"all"`` (all but the final
    layer), the first ``n`` stages, or a list of names. Returns the frozen parameter names."""
    for module in _resolve(model, stages):
        for parameter in module.parameters():
            parameter.requires_grad_(False)
        for norm in module.modules():
            if isinstance(norm, nn.modules.batchnorm._BatchNorm) and not hasattr(norm, _HOOKS):
                setattr(norm, _HOOKS, norm.register_forward_pre_hook(_keep_eval))
    return [name for name, p in model.named_parameters() if not p.requires_grad]


def unfreeze(model: nn.Module, stages: str | int | Sequence[str] = "all") -> None:
    """Train ``stages`` again (the inverse of :func:`freeze`); ``"all"`` also unfreezes any
    parameter frozen by other means."""
    modules = [model] if stages == "all" else _resolve(model, stages)
    for module in modules:
        for parameter in module.parameters():
            parameter.requires_grad_(True)
        for norm in module.modules():
            hook = getattr(norm, _HOOKS, None)
            if hook is not None:
                hook.remove()
                delattr(norm, _HOOKS)
                norm.training = model.training


def param_groups(
    model: nn.Module, *, backbone_lr: float, head_lr: float
) -> list[dict[str, object]]:
    """Optimizer parameter groups: the final layer (``head.fc``) at ``head_lr``, every other
    trainable parameter at ``backbone_lr``. Frozen parameters and empty groups are left out.

    ``torch.optim.AdamW(param_groups(model, backbone_lr=1e-4, head_lr=1e-3))``.
    """
    if backbone_lr < 0 or head_lr <= 0:
        raise ConfigError(
            f"learning rates must be positive (backbone_lr={backbone_lr}, head_lr={head_lr})"
        )
    final = _final_layer(model)
    if final is None:
        raise ConfigError(f"{type(model).__name__} has no head.fc final layer to tell apart")
    head_ids = {id(p) for p in final.parameters()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    head = [p for p in trainable if id(p) in head_ids]
    body = [p for p in trainable if id(p) not in head_ids]
    groups = [{"params": body, "lr": backbone_lr}, {"params": head, "lr": head_lr}]
    return [g for g in groups if g["params"]]


def _load_file(path: Path) -> Mapping[str, torch.Tensor]:
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint / weights file")
    state, _ = read_checkpoint(path, map_location="cpu")  # its SHA-256 record, weights only
    if isinstance(state, Mapping) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise CheckpointError(f"{path}: holds no state dict of tensors")
    check_finite(state, path)
    return state


def load_backbone(
    model: nn.Module,
    source: str | os.PathLike | Mapping[str, torch.Tensor],
    *,
    prefix: str = "backbone.",
) -> list[str]:
    """Copy trained weights into ``model`` (an ``audioconv.models`` backbone).

    ``source``: a Lightning ``.ckpt`` of an audioconv task (keys ``backbone.*``; ``prefix``
    changes that), a state dict saved from a backbone, or a torchvision weights file
    (``resnet*`` / ``vgg*`` / ``alexnet``, 2D). The final layer is loaded only when its shape
    matches. Returns the names of ``model``'s tensors that kept their own values (the new head).
    """
    state = source if isinstance(source, Mapping) else _load_file(Path(source))
    if any(key.startswith(prefix) for key in state):
        state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    target = model.state_dict()
    if not set(state) & set(target):
        from audioconv.models.registry import load_torchvision_weights

        return load_torchvision_weights(model, state)
    fc = {k for k in target if k.startswith("head.fc.")}
    body_missing = sorted(k for k in target if k not in state and k not in fc)
    unexpected = sorted(k for k in state if k not in target and not k.startswith("head.fc."))
    mismatched = sorted(
        k for k in target if k in state and k not in fc and state[k].shape != target[k].shape
    )
    if body_missing or unexpected or mismatched:
        raise CheckpointError(
            "the weights do not fit this backbone: "
            + "; ".join(
                f"{what}: {keys[:5]}{' ...' if len(keys) > 5 else ''}"
                for what, keys in (
                    ("missing", body_missing),
                    ("unexpected", unexpected),
                    ("shape differs", mismatched),
                )
                if keys
            )  # fmt: skip
            + ". Build the model with the same name, dims, in_channels and options as the "
            "checkpoint's."
        )
    loaded = {
        k: v for k, v in state.items()
        if k in target and (k not in fc or v.shape == target[k].shape)
    }  # fmt: skip
    model.load_state_dict(loaded, strict=False)
    return [k for k in target if k not in loaded]
