"""Component specs stored in a checkpoint: a registered name plus plain keyword arguments.

The backbone is rebuilt with ``audioconv.models.create(name, **kwargs)`` and the front end with
``audioconv.features.create_frontend(name, **kwargs)``; front ends of checkpoints written before
the front-end registry (``{"class_path", "init_args"}``) map to their registered names. Nothing
a spec names is imported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from audioconv._plain import check_plain
from audioconv.errors import ConfigError


def _name_kwargs(spec: Any, what: str) -> tuple[str, dict]:
    """``(name, kwargs)`` of a ``{"name", "kwargs"}`` mapping or a ``(name, kwargs)`` pair."""
    if isinstance(spec, Mapping) and "name" in spec:
        name, kwargs = spec["name"], spec.get("kwargs", {})
    elif isinstance(spec, Sequence) and not isinstance(spec, str) and len(spec) == 2:
        name, kwargs = spec
    else:
        raise ConfigError(
            f"{what}={spec!r}: expected {{'name': <registered name>, 'kwargs': {{...}}}}"
        )
    if not isinstance(name, str):
        raise ConfigError(f"{what}: name {name!r} must be a registered name (a string)")
    return name, check_plain(kwargs, f"{what} {name!r}")


def _backbone_spec(backbone: nn.Module | None, spec: Any) -> dict | None:
    """``{"name", "kwargs"}`` for ``audioconv.models.create`` from ``spec`` or ``backbone.spec``."""
    spec = spec if spec is not None else getattr(backbone, "spec", None)
    if spec is None:
        return None
    name, kwargs = _name_kwargs(spec, "backbone_spec")
    return {"name": name, "kwargs": kwargs}


# Front ends of checkpoints written before the front-end registry, by their stored class path.
_LEGACY_FRONTENDS = {
    "audioconv.runner.AudioFrontend": "audio",
    "audioconv.features.AudioFrontend": "audio",
    "audioconv.features.frontend.AudioFrontend": "audio",
    **{
        f"audioconv.features{module}.{cls}": name
        for module in ("", ".transforms")
        for cls, name in (
            ("Spectrogram", "spectrogram"),
            ("MelSpectrogram", "melspectrogram"),
            ("LogMel", "logmel"),
            ("MFCC", "mfcc"),
            ("Standardize", "standardize"),
        )
    },
}


def _frontend_spec(frontend: nn.Module | None, spec: Any) -> dict | None:
    """``{"name", "kwargs"}`` for ``audioconv.features.create_frontend`` from ``spec`` or
    ``frontend.spec``; an old ``{"class_path", "init_args"}`` spec maps to its registered name
    (only the class paths audioconv itself wrote; nothing is imported)."""
    spec = spec if spec is not None else getattr(frontend, "spec", None)
    if spec is None:
        return None
    if isinstance(spec, Mapping) and "class_path" in spec:
        path = spec["class_path"]
        if path not in _LEGACY_FRONTENDS:
            from audioconv.features import list_frontends

            raise ConfigError(
                f"frontend class_path {path!r} is not a known front end: front ends are built "
                f"by registered name only ({', '.join(list_frontends())}); register yours with "
                "audioconv.features.register_frontend and store {'name': ..., 'kwargs': {...}}"
            )
        spec = {"name": _LEGACY_FRONTENDS[path], "kwargs": spec.get("init_args", {})}
    name, kwargs = _name_kwargs(spec, "frontend_spec")
    return {"name": _LEGACY_FRONTENDS.get(name, name), "kwargs": kwargs}  # ("pkg.Class", {...})


def _build_backbone(spec: dict) -> nn.Module:
    from audioconv.models import create, model_spec

    model_spec(spec["name"])  # an unknown name raises listing the registered models
    try:
        return create(spec["name"], **spec["kwargs"])
    except TypeError as err:  # e.g. dims / in_channels / num_classes missing
        raise ConfigError(f"backbone_spec {spec!r} cannot build the model: {err}") from err


def _build_frontend(spec: dict) -> nn.Module:
    from audioconv.features import create_frontend

    return create_frontend(spec["name"], **spec["kwargs"])
