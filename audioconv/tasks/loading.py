"""Rebuild a trained model from its Lightning checkpoint (registered names only, verified)."""

from __future__ import annotations

import os

import torch
from torch import nn

from audioconv.errors import CheckpointError, ConfigError
from audioconv.tasks.configs import renamed_hparams
from audioconv.tasks.modules import Classifier, MultiOutputClassifier


def load_classifier(
    path: str | os.PathLike,
    *,
    backbone: nn.Module | None = None,
    frontend: nn.Module | None = None,
    map_location: str | torch.device = "cpu",
) -> Classifier | MultiOutputClassifier:
    """Rebuild the model saved in a Lightning checkpoint, in eval mode.

    The backbone and frontend are rebuilt from the configs stored with the hyperparameters; pass
    ``backbone`` / ``frontend`` modules (same architecture) when they were not built from
    configs. Returns a :class:`MultiOutputClassifier` for a multi-output checkpoint. The file is
    read with ``torch.load(weights_only=True)``, so config arguments must be plain values
    (numbers, strings, lists, dicts), and the configs name registered backbones / front ends only.
    When the run folder recorded the file's SHA-256 (``<path>.sha256``, written by training) the
    file must match it; the model's digest is kept as ``model.checkpoint_sha256``.
    ``Classifier.load_from_checkpoint(path)`` loads weights only too, without these checks.

    Raises:
        CheckpointError: the file is missing, unreadable or differs from its SHA-256 record; a
            config names an unregistered component or holds non-plain values; the weights are
            not finite or do not fit the model.
    """
    from audioconv._integrity import check_finite, read_checkpoint

    checkpoint, digest = read_checkpoint(path, map_location=map_location)
    try:
        # backbone_spec / frontend_spec: the names checkpoints written before the rename use
        hparams = renamed_hparams(checkpoint["hyper_parameters"], warn=False)
        state = checkpoint["state_dict"]
    except (KeyError, TypeError, AttributeError) as err:
        raise CheckpointError(f"{path}: not an audioconv checkpoint (no {err})") from err
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: its state_dict is a {type(state).__name__}, not weights")
    if backbone is None and hparams.get("backbone_config") is None:
        raise CheckpointError(
            f"{path}: the backbone was not built from audioconv.models.create, so it cannot be "
            "rebuilt: pass backbone=<the same architecture>"
        )
    if (
        frontend is None
        and hparams.get("frontend_config") is None
        and any(key.startswith("frontend.") for key in state)
    ):
        raise CheckpointError(
            f"{path}: the model has a frontend without a stored config: pass frontend=<the same "
            "module> (or train with frontend_config=... so it can be rebuilt)"
        )
    check_finite(state, path)
    cls = MultiOutputClassifier if "heads" in hparams else Classifier
    try:
        model = cls(backbone=backbone, frontend=frontend, **hparams)
    except (ConfigError, TypeError, ValueError, RuntimeError, MemoryError) as err:
        # RuntimeError / MemoryError: sizes no trained model has (e.g. 10**12 classes)
        raise CheckpointError(f"{path}: cannot rebuild the model: {err}") from err
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(f"{path}: weights do not fit the rebuilt model ({err})") from err
    model.checkpoint_sha256 = digest
    return model.eval()
