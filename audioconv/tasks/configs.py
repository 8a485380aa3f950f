"""A component's config stored in a checkpoint: ``{"name": <registered name>, "kwargs": {...}}``.

The backbone is rebuilt with ``audioconv.models.create(name, **kwargs)`` and the front end with
``audioconv.features.create_frontend(name, **kwargs)``; front ends of checkpoints written before
the front-end registry (``{"class_path", "init_args"}``) map to their registered names, and the
hyperparameters ``backbone_spec`` / ``frontend_spec`` of checkpoints written before the rename to
``backbone_config`` / ``frontend_config`` are read under their new names. Nothing a config names is
imported.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from torch import nn

from audioconv._plain import attached_config, component_config
from audioconv.errors import ConfigError

#: hyperparameter names before the rename -> their names now
RENAMED_HPARAMS = {"backbone_spec": "backbone_config", "frontend_spec": "frontend_config"}


def renamed_hparams(hparams: Mapping[str, Any], *, warn: bool) -> dict[str, Any]:
    """``hparams`` with the old ``backbone_spec`` / ``frontend_spec`` keys under their new names
    (a DeprecationWarning when ``warn``: a caller passed them; an old checkpoint does not warn).
    Both names at once with different values is a ConfigError."""
    out = dict(hparams)
    for old, new in RENAMED_HPARAMS.items():
        if out.get(old) is None:
            out.pop(old, None)
            continue
        value = out.pop(old)
        if out.get(new) is not None and out[new] != value:
            raise ConfigError(f"{old}= and {new}= both given: pass {new}= only")
        if warn:
            warnings.warn(f"{old}= is deprecated: use {new}=", DeprecationWarning, stacklevel=3)
        out[new] = value
    return out


def resolve_backbone_config(backbone: nn.Module | None, config: Any) -> dict | None:
    """``{"name", "kwargs"}`` for ``audioconv.models.create`` from ``config`` or the one the
    registry attached to ``backbone``."""
    config = config if config is not None else attached_config(backbone)
    return None if config is None else component_config(config, "backbone_config")


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


def resolve_frontend_config(frontend: nn.Module | None, config: Any) -> dict | None:
    """``{"name", "kwargs"}`` for ``audioconv.features.create_frontend`` from ``config`` or the
    one the registry attached to ``frontend``; an old ``{"class_path", "init_args"}`` maps to its
    registered name (only the class paths audioconv itself wrote; nothing is imported)."""
    config = config if config is not None else attached_config(frontend)
    if config is None:
        return None
    if isinstance(config, Mapping) and "class_path" in config:
        path = config["class_path"]
        if path not in _LEGACY_FRONTENDS:
            from audioconv.features import list_frontends

            raise ConfigError(
                f"frontend class_path {path!r} is not a known front end: front ends are built "
                f"by registered name only ({', '.join(list_frontends())}); register yours with "
                "audioconv.features.register_frontend and store {'name': ..., 'kwargs': {...}}"
            )
        config = {"name": _LEGACY_FRONTENDS[path], "kwargs": config.get("init_args", {})}
    config = component_config(config, "frontend_config")
    name = config["name"]  # ("pkg.Class", {...}) of an old checkpoint -> its registered name
    return {"name": _LEGACY_FRONTENDS.get(name, name), "kwargs": config["kwargs"]}


def build_backbone(config: dict) -> nn.Module:
    """The registered model ``config`` names, built with its kwargs."""
    from audioconv.models import create, registered_model

    registered_model(config["name"])  # an unknown name raises listing the registered models
    try:
        return create(config["name"], **config["kwargs"])
    except TypeError as err:  # e.g. dims / in_channels / num_classes missing
        raise ConfigError(f"backbone_config {config!r} cannot build the model: {err}") from err


def build_frontend(config: dict) -> nn.Module:
    """The registered front end ``config`` names, built with its kwargs."""
    from audioconv.features import create_frontend

    return create_frontend(config["name"], **config["kwargs"])
