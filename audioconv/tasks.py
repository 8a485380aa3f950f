"""LightningModules that pair any backbone with the output layer and loss its task needs.

==========  ============  ======================================  =============================
task        final layer   loss                                    ``predict_step`` returns
==========  ============  ======================================  =============================
binary      1 logit       BCE-with-logits                         ``(batch,)`` P(positive)
multiclass  ``C`` logits  cross-entropy (softmax inside)          ``(batch, C)`` softmax
multilabel  ``C`` logits  BCE-with-logits per class, no softmax   ``(batch, C)`` sigmoids
regression  ``k`` values  MSE on linear / sigmoid / tanh output   ``(batch,)`` / ``(batch, k)``
==========  ============  ======================================  =============================

Batches are tuples ``(x, y)`` (lists from the default collate work too): ``x`` is what the
backbone (or the ``frontend``) takes, ``y`` the targets — class indices ``(batch,)`` for binary
and multiclass, multi-hot ``(batch, C)`` for multilabel, values ``(batch,)`` / ``(batch, k)`` for
regression, and for :class:`MultiOutputClassifier` a dict ``{head name: targets}``. Predict
batches may be ``x`` alone or ``(x, ...)``.

Checkpoints restore with :func:`load_classifier`: the backbone is rebuilt from its registry spec
(``audioconv.models.create(name, **kwargs)``) and the frontend from the front-end registry
(``audioconv.features.create_frontend(name, **kwargs)``), both kept in the checkpoint's
hyperparameters as a registered name plus plain keyword arguments. Nothing a checkpoint names is
imported: an unknown name is refused (:class:`~audioconv.errors.CheckpointError` on load).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DistributedSampler

from audioconv._plain import check_plain
from audioconv.constants import INPUT_KINDS, TASKS
from audioconv.contract import ClipWindows, InputContract, clip_means, is_positive
from audioconv.errors import CheckpointError, ConfigError
from audioconv.models import channels_last_1d as cl1d

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adadelta")
SCHEDULERS = (None, "cosine", "onecycle")
REGRESSION_OUTPUTS = ("linear", "sigmoid", "tanh")

__all__ = [
    "OPTIMIZERS",
    "REGRESSION_OUTPUTS",
    "SCHEDULERS",
    "TASKS",
    "Classifier",
    "HeadSpec",
    "MultiOutputClassifier",
    "TaskLoss",
    "balanced_class_weights",
    "load_classifier",
    "task_loss",
    "task_output",
    "task_score",
]


# --------------------------------------------------------------------------------------------
# Task math
# --------------------------------------------------------------------------------------------


def _regression_activation(logits: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "sigmoid":
        return torch.sigmoid(logits)
    if kind == "tanh":
        return torch.tanh(logits)
    return logits


def task_output(
    logits: torch.Tensor, *, task: str, regression_output: str = "linear"
) -> torch.Tensor:
    """Map logits ``(batch, width)`` to what the task predicts.

    binary -> ``(batch,)`` P(positive) (width 1); multiclass -> ``(batch, C)`` softmax rows;
    multilabel -> ``(batch, C)`` independent sigmoids (rows do not sum to 1); regression ->
    ``(batch,)`` for one output, else ``(batch, k)``, through ``regression_output``.

    >>> task_output(torch.zeros(2, 1), task="binary")
    tensor([0.5000, 0.5000])
    """
    if task == "binary":
        return torch.sigmoid(logits.squeeze(-1))  # (batch, 1) -> (batch,)
    if task == "multiclass":
        return torch.softmax(logits, dim=-1)
    if task == "multilabel":
        return torch.sigmoid(logits)
    out = _regression_activation(logits, regression_output)
    return out.squeeze(-1) if out.shape[-1] == 1 else out  # (batch, 1) -> (batch,)


def task_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    task: str,
    class_weights: torch.Tensor | None = None,
    label_smoothing: float = 0.0,
    regression_output: str = "linear",
) -> torch.Tensor:
    """Mean loss of ``logits`` ``(batch, width)`` against ``target`` for ``task``.

    * binary: BCE-with-logits on the single logit; ``class_weights`` ``(2,)`` = ``(w_neg, w_pos)``
      weighs negatives by ``w_neg`` and positives by ``w_pos``; smoothing moves targets to
      ``y * (1 - eps) + eps / 2``.
    * multiclass: cross-entropy with class ``weight`` and ``label_smoothing``; ``target``
      ``(batch,)`` class indices.
    * multilabel: BCE-with-logits per class with ``pos_weight = class_weights`` ``(C,)``;
      ``target`` ``(batch, C)`` multi-hot.
    * regression: MSE between the activated output and ``target`` (same number of elements).

    >>> round(task_loss(torch.zeros(1, 3), torch.tensor([2]), task="multiclass").item(), 4)
    1.0986
    """
    if task == "multiclass":
        return F.cross_entropy(
            logits, target.long(), weight=class_weights, label_smoothing=label_smoothing
        )
    if task == "regression":
        out = task_output(logits, task=task, regression_output=regression_output)
        return F.mse_loss(out, target.reshape(out.shape).to(out.dtype))
    if task == "binary":
        logits = logits.squeeze(-1)  # (batch, 1) -> (batch,)
    target = target.reshape(logits.shape).to(logits.dtype)
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + 0.5 * label_smoothing
    weight = pos_weight = None
    if class_weights is not None and task == "binary":
        weight, pos_weight = class_weights[0], class_weights[1] / class_weights[0]
    elif class_weights is not None:
        pos_weight = class_weights
    return F.binary_cross_entropy_with_logits(logits, target, weight=weight, pos_weight=pos_weight)


def task_score(
    output: torch.Tensor, target: torch.Tensor, *, task: str, threshold: float = 0.5
) -> tuple[str, torch.Tensor]:
    """A cheap running metric on ``task_output`` values: ``("acc", accuracy)`` or ``("mae", MAE)``.

    Multilabel accuracy is per label (the fraction of the ``batch * C`` decisions that are right).

    >>> task_score(torch.tensor([0.9, 0.2]), torch.tensor([1, 1]), task="binary")
    ('acc', tensor(0.5000))
    """
    if task == "regression":
        return "mae", (output - target.reshape(output.shape)).abs().mean()
    if task == "multiclass":
        predicted = output.argmax(dim=-1)
    else:
        predicted = is_positive(output, threshold).long()
    return "acc", (predicted == target.reshape(predicted.shape).long()).float().mean()


def balanced_class_weights(labels: Any, *, task: str, num_classes: int) -> torch.Tensor:
    """Class weights that balance the training labels (scikit-learn's ``"balanced"`` rule).

    binary / multiclass: ``n_samples / (num_classes * count_c)`` from labels ``(n,)`` — a
    ``(num_classes,)`` tensor (binary: ``(w_neg, w_pos)``); multilabel: ``pos_weight`` per class
    ``n_negative_c / n_positive_c`` from multi-hot labels ``(n, C)``.

    >>> balanced_class_weights([0, 0, 0, 1], task="binary", num_classes=2)
    tensor([0.6667, 2.0000])
    """
    from audioconv.data.sampling import class_weights

    if task not in ("binary", "multiclass", "multilabel"):
        raise ConfigError(f"class weights apply to classification tasks, not task={task!r}")
    y = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if task == "multilabel" and y.ndim != 2:
        raise ConfigError(f"multilabel labels have shape {y.shape}; expected (n, {num_classes})")
    return class_weights(y, num_classes=num_classes)


# --------------------------------------------------------------------------------------------
# Head specification and loss holder
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class HeadSpec:
    """What one output predicts and how it is trained.

    ``num_classes``: binary 2 (1 is accepted and means the same); multiclass >= 2; multilabel
    >= 1; regression the number of outputs (default 1). ``class_weights``: ``None``,
    ``"balanced"`` (computed from the training labels in ``setup``) or one positive number per
    class (binary ``(w_neg, w_pos)``; multilabel per-class positive weights). ``weight`` scales this
    head's loss in a :class:`MultiOutputClassifier`.
    """

    task: str
    num_classes: int | None = None
    class_names: tuple[str, ...] | None = None
    weight: float = 1.0
    class_weights: str | tuple[float, ...] | None = None
    label_smoothing: float = 0.0
    regression_output: str = "linear"

    def __post_init__(self):
        if self.task not in TASKS:
            raise ConfigError(f"task={self.task!r} is not one of {TASKS}")
        n = self.num_classes
        if n is not None and (isinstance(n, bool) or not isinstance(n, numbers.Integral)):
            raise ConfigError(f"num_classes={n!r} must be an integer")
        if self.task == "binary":
            if n not in (None, 1, 2):
                raise ConfigError(
                    f"num_classes={n} for a binary task: binary has 2 classes and one logit; use "
                    "task='multiclass' for more"
                )
            n = 2
        elif self.task == "regression":
            n = 1 if n is None else n
            if n < 1:
                raise ConfigError(f"num_classes={n} regression outputs: need at least 1")
        elif n is None or n < (2 if self.task == "multiclass" else 1):
            raise ConfigError(
                f"num_classes={n!r} for task={self.task!r}: give the number of classes "
                f"(at least {2 if self.task == 'multiclass' else 1})"
            )
        object.__setattr__(self, "num_classes", int(n))
        if self.class_names is not None:
            names = tuple(str(c) for c in self.class_names)
            if len(names) != n:
                raise ConfigError(
                    f"class_names has {len(names)} names but task={self.task!r} has {n} "
                    "classes / outputs: give one name each"
                )
            object.__setattr__(self, "class_names", names)
        if not (isinstance(self.weight, numbers.Real) and self.weight >= 0):
            raise ConfigError(f"weight={self.weight!r} must be a number >= 0")
        object.__setattr__(self, "class_weights", self._check_class_weights(self.class_weights))
        eps = self.label_smoothing
        if not (isinstance(eps, numbers.Real) and 0.0 <= eps < 1.0):
            raise ConfigError(f"label_smoothing={eps!r} must be in [0, 1)")
        if eps and self.task == "regression":
            raise ConfigError(
                "label_smoothing applies to classification; set it to 0 for regression"
            )
        if self.regression_output not in REGRESSION_OUTPUTS:
            raise ConfigError(
                f"regression_output={self.regression_output!r} is not one of {REGRESSION_OUTPUTS}"
            )

    def _check_class_weights(self, weights):
        if weights is None:
            return None
        if self.task == "regression":
            raise ConfigError("class_weights apply to classification; set None for regression")
        if isinstance(weights, str):
            if weights != "balanced":
                raise ConfigError(
                    f"class_weights={weights!r}: use None, 'balanced' or one number per class"
                )
            return weights
        values = torch.as_tensor(weights, dtype=torch.float64).reshape(-1)  # any -> (C,)
        if len(values) != self.num_classes or not (torch.isfinite(values) & (values > 0)).all():
            raise ConfigError(
                f"class_weights={values.tolist()} must be {self.num_classes} finite positive "
                f"numbers for task={self.task!r} (one per class)"
            )
        return tuple(values.tolist())

    @property
    def width(self) -> int:
        """Width of the final layer: 1 for binary, ``num_classes`` otherwise."""
        return 1 if self.task == "binary" else self.num_classes


class TaskLoss(nn.Module):
    """The loss of one :class:`HeadSpec`; holds the class weights as a buffer saved with the model.

    ``forward(logits (batch, width), target) -> scalar``; see :func:`task_loss`.
    """

    def __init__(self, spec: HeadSpec):
        super().__init__()
        self.spec = spec
        weights = None
        if spec.class_weights == "balanced":
            weights = torch.ones(spec.num_classes)  # placeholder until resolve_balanced()
        elif spec.class_weights is not None:
            weights = torch.tensor(spec.class_weights, dtype=torch.float32)
        self.register_buffer("class_weights", weights)

    @property
    def balanced(self) -> bool:
        """Whether the weights come from the training labels (``class_weights="balanced"``)."""
        return self.spec.class_weights == "balanced"

    def resolve_balanced(self, labels: Any) -> None:
        """Set the weights from training labels with :func:`balanced_class_weights`."""
        weights = balanced_class_weights(
            labels, task=self.spec.task, num_classes=self.spec.num_classes
        )
        self.class_weights.copy_(weights)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return task_loss(
            logits,
            target,
            task=self.spec.task,
            class_weights=self.class_weights,
            label_smoothing=self.spec.label_smoothing,
            regression_output=self.spec.regression_output,
        )


# --------------------------------------------------------------------------------------------
# Specs that rebuild the backbone and frontend from a checkpoint
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# LightningModules
# --------------------------------------------------------------------------------------------


def _unpack(batch: Any) -> tuple[Any, Any]:
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    raise ConfigError(
        f"a training / evaluation batch must be a tuple (x, y), got {type(batch).__name__}"
        + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else "")
    )


def _batch_size(x: Any) -> int:
    return len(x) if isinstance(x, torch.Tensor) else 1


def _repeat_labels(y: Any, counts: torch.Tensor) -> Any:
    """Each clip's labels once per window: ``(clips, ...)`` -> ``(windows, ...)``; per head."""
    if isinstance(y, Mapping):
        return {name: _repeat_labels(value, counts) for name, value in y.items()}
    return torch.repeat_interleave(y, counts.to(y.device), dim=0)


class _TaskModule(L.LightningModule):
    """Optimisers, schedulers and the shared training / evaluation / predict steps.

    Subclasses define ``forward(x) -> logits`` (a tensor, or a dict per head), ``criteria``
    (``{head name or None: TaskLoss}``) and ``_report(outputs)``.
    """

    criteria: dict[str | None, TaskLoss]

    def _record_input(self, sample_rate, input_shape, input_kind, input_contract) -> None:
        """Validate and store what prediction / export need to read raw inputs: the input
        contract (``audioconv.contract.InputContract``) as plain values in hparams
        ``input_contract``, given or implied by ``input_kind`` / ``input_shape`` / ``sample_rate``
        (``None`` when the input shape is unknown)."""
        if input_kind is not None and input_kind not in INPUT_KINDS:
            raise ConfigError(f"input_kind={input_kind!r} is not one of {INPUT_KINDS}")
        if sample_rate is not None and not sample_rate > 0:
            raise ConfigError(f"sample_rate={sample_rate!r} must be a positive number of Hz")
        if input_shape is not None:
            shape = [int(n) for n in input_shape]
            if not shape or any(n < 1 for n in shape):
                raise ConfigError(
                    f"input_shape={input_shape!r} must list positive sizes, e.g. (1, 16000)"
                )
            self.hparams["input_shape"] = shape
        contract = None
        if input_contract is not None:
            contract = InputContract.from_dict(input_contract)
        elif input_shape is not None:
            contract = InputContract.from_input(
                input_kind=input_kind, input_shape=input_shape, sample_rate=sample_rate
            )
        self.input_contract: InputContract | None = contract
        self.hparams["input_contract"] = None if contract is None else contract.to_dict()

    def _init_common(
        self,
        backbone: nn.Module | None,
        frontend: nn.Module | None,
        *,
        optimizer: str,
        lr: float,
        weight_decay: float,
        momentum: float,
        scheduler: str | None,
        channels_last: bool | None,
        backbone_spec: Any,
        frontend_spec: Any,
    ) -> nn.Module:
        if optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer={optimizer!r} is not one of {OPTIMIZERS}")
        if scheduler not in SCHEDULERS:
            raise ConfigError(f"scheduler={scheduler!r} is not one of {SCHEDULERS}")
        if not (isinstance(lr, numbers.Real) and lr > 0):
            raise ConfigError(f"lr={lr!r} must be a positive number")
        if not (isinstance(weight_decay, numbers.Real) and weight_decay >= 0):
            raise ConfigError(f"weight_decay={weight_decay!r} must be >= 0")
        if not (isinstance(momentum, numbers.Real) and 0 <= momentum < 1):
            raise ConfigError(f"momentum={momentum!r} must be in [0, 1)")
        bspec = _backbone_spec(backbone, backbone_spec)
        fspec = _frontend_spec(frontend, frontend_spec)
        if backbone is None:
            if bspec is None:
                raise ConfigError(
                    "no backbone: pass an nn.Module, or backbone_spec=(name, kwargs) for "
                    "audioconv.models.create"
                )
            backbone = _build_backbone(bspec)
        if not callable(getattr(backbone, "reset_classifier", None)):
            raise ConfigError(
                f"backbone {type(backbone).__name__} has no reset_classifier(num_classes): use an "
                "audioconv.models backbone or follow the contract in docs/architecture.md"
            )
        if frontend is None and fspec is not None:
            frontend = _build_frontend(fspec)
        self.hparams["backbone_spec"] = bspec
        self.hparams["frontend_spec"] = fspec
        self.frontend = frontend
        if channels_last is None:  # convolutions run faster channels-last on CPUs and GPUs
            channels_last = any(isinstance(m, nn.Conv2d | cl1d.Conv1d) for m in backbone.modules())
        self.channels_last = bool(channels_last)
        self._test_outputs: dict[str | None, list[tuple[torch.Tensor, torch.Tensor]]] = {}
        self.test_outputs: dict[str | None, tuple[torch.Tensor, torch.Tensor]] = {}
        self.test_report = None
        return cl1d.set_channels_last(backbone) if self.channels_last else backbone

    def _features_input(self, x: torch.Tensor) -> torch.Tensor:
        """Run the frontend (if any) and set the memory format the backbone wants."""
        if self.frontend is not None:
            x = self.frontend(x)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        elif self.channels_last and x.dim() == 3:
            x = cl1d.time_major(x)
        return x

    # --- per-head plumbing -------------------------------------------------------------------

    def _pairs(self, logits: Any, y: Any) -> dict[str | None, tuple[torch.Tensor, Any]]:
        raise NotImplementedError

    def _outputs(self, logits: Any) -> Any:
        raise NotImplementedError

    def _report(self, outputs: dict[str | None, tuple[torch.Tensor, torch.Tensor]]) -> Any:
        raise NotImplementedError

    def setup(self, stage: str) -> None:
        """Resolve ``class_weights="balanced"`` from ``trainer.datamodule.train_labels()``."""
        pending = {name: loss for name, loss in self.criteria.items() if loss.balanced}
        if stage != "fit" or not pending:
            return
        train_labels = getattr(self.trainer.datamodule, "train_labels", None)
        if train_labels is None:
            raise ConfigError(
                "class_weights='balanced' needs the training labels: give the DataModule a "
                "train_labels() method, or pass class_weights=balanced_class_weights(labels, ...)"
            )
        labels = train_labels()
        for name, loss in pending.items():
            loss.resolve_balanced(labels if name is None else labels[name])

    def _losses(self, logits: Any, y: Any) -> tuple[torch.Tensor, dict, dict]:
        pairs = self._pairs(logits, y)
        losses = {name: self.criteria[name](lg, t) for name, (lg, t) in pairs.items()}
        total = sum(self.criteria[name].spec.weight * loss for name, loss in losses.items())
        return total, losses, pairs

    # --- steps ---------------------------------------------------------------------------------

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = _unpack(batch)
        total, _, pairs = self._losses(self(x), y)
        self.log(
            "train/loss",
            total,
            on_step=True,
            on_epoch=True,
            prog_bar=True,
            batch_size=_batch_size(x),
        )
        logits, target = pairs.get(None, (None, None))
        spec = self.criteria[None].spec if None in self.criteria else None
        if spec is not None and not (spec.task == "multiclass" and target.is_floating_point()):
            # the training score per epoch (on augmented batches; not with mixed soft labels)
            output = task_output(
                logits.detach().float(), task=spec.task, regression_output=spec.regression_output
            )
            metric, value = task_score(output, target, task=spec.task, threshold=self._threshold)
            n = _batch_size(x)
            self.log(f"train/{metric}", value, on_step=False, on_epoch=True, batch_size=n)
        return total

    def _shared_eval_step(self, batch: Any, stage: str) -> torch.Tensor:
        """Loss and a cheap metric per head, logged as ``{stage}/loss``, ``{stage}/acc`` (or
        ``mae``; multi-output: ``{stage}/{head}/...``); test outputs are kept for the report.

        Clips cut into windows by the input contract (``x`` a :class:`ClipWindows`) are scored
        per clip, by the mean of their windows' outputs; the loss is the windows' (each window
        with its clip's label)."""
        x, y = _unpack(batch)
        counts = None
        if isinstance(x, ClipWindows):
            x, counts = x.windows, x.counts
        per_window = y if counts is None else _repeat_labels(y, counts)
        total, losses, pairs = self._losses(self(x), per_window)
        n = _batch_size(x) if counts is None else len(counts)
        log = {"on_step": False, "on_epoch": True, "sync_dist": True, "batch_size": n}
        for name, (logits, target) in pairs.items():
            spec = self.criteria[name].spec
            output = task_output(
                logits.float(), task=spec.task, regression_output=spec.regression_output
            )
            if counts is not None:  # (windows, ...) -> (clips, ...)
                output = clip_means(output, counts)
                target = y if name is None else y[name]
            if spec.task in ("regression", "multilabel"):
                target = target.reshape(output.shape)  # e.g. (batch, 1) -> (batch,)
            else:
                target = target.reshape(-1)  # (batch, 1) -> (batch,)
            prefix = stage if name is None else f"{stage}/{name}"
            metric, value = task_score(output, target, task=spec.task, threshold=self._threshold)
            self.log(f"{prefix}/{metric}", value, prog_bar=name is None, **log)
            if name is not None:
                self.log(f"{prefix}/loss", losses[name], **log)
            if stage == "test":
                self._test_outputs.setdefault(name, []).append((output.detach(), target.detach()))
        self.log(f"{stage}/loss", total, prog_bar=True, **log)
        return total

    def validation_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._shared_eval_step(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._shared_eval_step(batch, "test")

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> Any:
        """Probabilities / outputs for one batch ``x`` in eval mode (the mode is restored after).

        Same outputs as :meth:`predict_step`, for use outside a ``Trainer``.
        """
        was_training = self.training
        self.eval()
        try:
            return self._outputs(self(x))
        finally:
            self.train(was_training)

    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> Any:
        """Probabilities / outputs for ``x`` or ``(x, ...)`` batches (see :func:`task_output`)."""
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        return self._outputs(self(x))

    def predict_clip(
        self, wave: Any, *, sample_rate: float | None = None, per_window: bool = False
    ) -> Any:
        """One raw clip -> its probabilities, by the input contract.

        ``wave``: ``(time,)`` or ``(channels, time)`` samples at ``sample_rate`` Hz (``None``: the
        model's rate), numpy or torch. The contract (:meth:`InputContract.apply`) mixes down,
        resamples, pads or cuts it into windows ``(windows, channels, window)``; the clip's answer
        is the mean of the windows' outputs (binary ``()``, classes ``(C,)``). ``per_window=True``
        returns the ``(windows, ...)`` outputs instead.
        """
        if self.input_contract is None:
            raise ConfigError(
                "this model records no input contract (trained without input_shape): pass "
                "input_shape= (and sample_rate=, input_kind=) to the Classifier"
            )
        windows = self.input_contract.apply(wave, sample_rate=sample_rate)
        windows = torch.as_tensor(windows, dtype=torch.float32, device=self.device)
        outputs = self.predict_proba(windows)
        combine = self.input_contract.combine
        if isinstance(outputs, Mapping):
            return {name: v if per_window else combine(v) for name, v in outputs.items()}
        return outputs if per_window else combine(outputs)

    @property
    def _threshold(self) -> float:
        """The decision threshold of the input contract (0.5 without one)."""
        return 0.5 if self.input_contract is None else self.input_contract.threshold

    @property
    def _eval_level(self) -> str | None:
        """What one test sample is, as the DataModule says (``eval_level``: ``"clip"`` /
        ``"window"``); ``None`` when it does not."""
        datamodule = getattr(self.trainer, "datamodule", None)  # called from test hooks only
        return getattr(datamodule, "eval_level", None)

    def on_test_epoch_start(self) -> None:
        self._test_outputs = {}
        self.test_report = None

    def on_test_epoch_end(self) -> None:
        """Gather the test outputs of every rank and evaluate them into ``self.test_report``."""
        gathered = {}
        sampler = getattr(self.trainer.test_dataloaders, "sampler", None)
        for name, parts in self._test_outputs.items():
            output = torch.cat([p[0] for p in parts])
            target = torch.cat([p[1] for p in parts])
            if self.trainer.world_size > 1 and isinstance(sampler, DistributedSampler):
                # The sampler deals position i to rank i % world and pads the tail with repeats
                # so every rank has the same count: interleave the ranks back into sampler order
                # and drop the padding, so each test sample counts once.
                n = len(sampler.dataset)
                # (world, m, ...) -> (m, world, ...) -> (m * world, ...) -> (n, ...)
                output = self.all_gather(output).transpose(0, 1).flatten(0, 1)[:n]
                target = self.all_gather(target).transpose(0, 1).flatten(0, 1)[:n]
            elif self.trainer.world_size > 1:
                # (world, m, ...) -> (world * m, ...): each rank saw its own samples
                output = self.all_gather(output).flatten(0, 1)
                target = self.all_gather(target).flatten(0, 1)
            gathered[name] = (output.cpu(), target.cpu())
        self._test_outputs = {}
        self.test_outputs = gathered  # {head: (outputs, targets)} in test order: predictions.csv
        self.test_report = self._report(gathered) if gathered else None

    # --- optimisation --------------------------------------------------------------------------

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        name, lr, wd = hp.optimizer, hp.lr, hp.weight_decay
        if name == "sgd":
            opt = torch.optim.SGD(self.parameters(), lr=lr, momentum=hp.momentum, weight_decay=wd)
        elif name == "rmsprop":
            opt = torch.optim.RMSprop(
                self.parameters(), lr=lr, momentum=hp.momentum, weight_decay=wd
            )
        else:
            cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}.get(
                name, torch.optim.Adadelta
            )
            opt = cls(self.parameters(), lr=lr, weight_decay=wd)
        if hp.scheduler is None:
            return opt
        total = self.trainer.estimated_stepping_batches
        if not math.isfinite(total) or total < 1:
            raise ConfigError(
                f"scheduler={hp.scheduler!r} needs a finite number of steps (got {total}): set "
                "max_epochs or max_steps"
            )
        if hp.scheduler == "cosine":
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=int(total))
        else:
            cycle = "betas" in opt.defaults or opt.defaults.get("momentum", 0) > 0
            sched = torch.optim.lr_scheduler.OneCycleLR(
                opt, max_lr=lr, total_steps=int(total), cycle_momentum=cycle
            )
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


class Classifier(_TaskModule):
    """A backbone trained for one task: binary, multiclass, multilabel or regression.

    ``backbone`` follows the backbone contract (``reset_classifier``, ``num_features``, ...); its
    final layer is reset to 1 logit (binary) or ``num_classes`` outputs. Without ``backbone``,
    it is built from ``backbone_spec`` ``(name, kwargs)`` through ``audioconv.models.create``;
    ``backbone.spec`` is used when the argument is omitted. ``frontend`` (e.g.
    ``audioconv.features.LogMel``) runs inside ``forward`` before the backbone, so features are
    computed on the training device and saved with the model; ``frontend_spec``
    ``{"name", "kwargs"}`` (a registered front end, see :mod:`audioconv.features.registry`; or
    ``frontend.spec``) lets :func:`load_classifier` rebuild it.

    ``class_weights="balanced"`` is resolved in ``setup`` from ``trainer.datamodule.train_labels()``
    (labels ``(n,)``, multilabel ``(n, C)``); otherwise pass the weights, e.g.
    :func:`balanced_class_weights`. ``forward(x) -> logits (batch, width)``.

    ``sample_rate``, ``input_shape`` (one raw input without the batch axis, e.g. ``(1, samples)``)
    and ``input_kind`` (``"audio"``, ``"image"`` or ``"sensor"``) define the input contract
    (``input_contract``: :class:`audioconv.contract.InputContract` as a dict, to set the pad rule,
    hop or threshold), stored with the checkpoint and applied by :meth:`predict_clip`,
    ``audioconv predict`` / ``test`` / ``stream`` and every export; they do not change training.
    ``channels_last=None``
    (default) runs convolutional backbones channels-last, 2D and 1D alike
    (:mod:`audioconv.models.channels_last_1d`; ``benchmarks/bench_training.py`` measures the
    speed-up); ``False`` keeps PyTorch's default memory format. Results are the same either way.

    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> Classifier(net, task="multiclass", num_classes=3, lr=0.0)
    Traceback (most recent call last):
    ...
    audioconv.errors.ConfigError: lr=0.0 must be a positive number
    """

    def __init__(
        self,
        backbone: nn.Module | None = None,
        *,
        task: str,
        num_classes: int | None = None,
        class_names: Sequence[str] | None = None,
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        momentum: float = 0.9,
        scheduler: str | None = None,
        class_weights: str | Sequence[float] | torch.Tensor | None = None,
        label_smoothing: float = 0.0,
        frontend: nn.Module | None = None,
        regression_output: str = "linear",
        channels_last: bool | None = None,
        backbone_spec: Any = None,
        frontend_spec: Any = None,
        sample_rate: float | None = None,
        input_shape: Sequence[int] | None = None,
        input_kind: str | None = None,
        input_contract: Mapping[str, Any] | None = None,
    ):
        super().__init__()
        self.save_hyperparameters(ignore=["backbone", "frontend"])
        self._record_input(sample_rate, input_shape, input_kind, input_contract)
        spec = HeadSpec(
            task=task,
            num_classes=num_classes,
            class_names=class_names,
            class_weights=class_weights,
            label_smoothing=label_smoothing,
            regression_output=regression_output,
        )
        self.hparams["class_weights"] = spec.class_weights
        self.hparams["class_names"] = spec.class_names
        backbone = self._init_common(
            backbone,
            frontend,
            optimizer=optimizer,
            lr=lr,
            weight_decay=weight_decay,
            momentum=momentum,
            scheduler=scheduler,
            channels_last=channels_last,
            backbone_spec=backbone_spec,
            frontend_spec=frontend_spec,
        )
        backbone.reset_classifier(spec.width)
        self.backbone = backbone
        self.spec = spec
        self.loss = TaskLoss(spec)

    @property
    def criteria(self) -> dict[str | None, TaskLoss]:
        return {None: self.loss}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (the backbone's or frontend's input) -> logits ``(batch, width)``."""
        return self.backbone(self._features_input(x))

    def _pairs(self, logits, y):
        return {None: (logits, y)}

    def _outputs(self, logits: torch.Tensor) -> torch.Tensor:
        return task_output(
            logits.float(), task=self.spec.task, regression_output=self.spec.regression_output
        )

    def _report(self, outputs):
        from audioconv.evaluation import evaluate

        output, target = outputs[None]
        return evaluate(
            target,
            output,
            task=self.spec.task,
            class_names=self.spec.class_names,
            threshold=self._threshold,
            level=self._eval_level,
        )


class MultiOutputClassifier(_TaskModule):
    """One backbone, several named heads — e.g. ``digit`` + ``speaker`` or ``genre`` + ``mood``.

    The backbone's classifier is reset to the identity (``reset_classifier(0)``) and each head is
    a ``Linear(num_features, width)``; the loss is the ``weight``-ed sum of the heads' losses.
    ``heads`` maps names (Python identifiers) to :class:`HeadSpec` (or its fields as a dict).
    Batches are ``(x, {name: y})``; ``forward`` and ``predict_step`` return ``{name: tensor}``;
    the test report is a ``MultiReport`` with one section per head. Other options as
    :class:`Classifier`; ``train_labels()`` of the DataModule returns ``{name: labels}``.
    """

    def __init__(
        self,
        backbone: nn.Module | None = None,
        *,
        heads: Mapping[str, HeadSpec | Mapping[str, Any]],
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        momentum: float = 0.9,
        scheduler: str | None = None,
        frontend: nn.Module | None = None,
        channels_last: bool | None = None,
        backbone_spec: Any = None,
        frontend_spec: Any = None,
        sample_rate: float | None = None,
        input_shape: Sequence[int] | None = None,
        input_kind: str | None = None,
        input_contract: Mapping[str, Any] | None = None,
    ):
        super().__init__()
        self.save_hyperparameters(ignore=["backbone", "frontend"])
        self._record_input(sample_rate, input_shape, input_kind, input_contract)
        if not isinstance(heads, Mapping) or not heads:
            raise ConfigError("heads must be a non-empty dict {name: HeadSpec(...)}")
        specs = {}
        for name, spec in heads.items():
            if not (isinstance(name, str) and name.isidentifier()):
                raise ConfigError(f"head name {name!r} must be a Python identifier, e.g. 'genre'")
            specs[name] = spec if isinstance(spec, HeadSpec) else HeadSpec(**spec)
        self.hparams["heads"] = {name: dataclasses.asdict(s) for name, s in specs.items()}
        backbone = self._init_common(
            backbone,
            frontend,
            optimizer=optimizer,
            lr=lr,
            weight_decay=weight_decay,
            momentum=momentum,
            scheduler=scheduler,
            channels_last=channels_last,
            backbone_spec=backbone_spec,
            frontend_spec=frontend_spec,
        )
        backbone.reset_classifier(0)
        self.backbone = backbone
        self.specs = specs
        self.heads = nn.ModuleDict(
            {name: nn.Linear(backbone.num_features, s.width) for name, s in specs.items()}
        )
        self.losses = nn.ModuleDict({name: TaskLoss(s) for name, s in specs.items()})

    @property
    def criteria(self) -> dict[str | None, TaskLoss]:
        return dict(self.losses.items())

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``x`` -> ``{name: logits (batch, width)}`` from the shared ``(batch, num_features)``."""
        features = self.backbone(self._features_input(x))
        return {name: head(features) for name, head in self.heads.items()}

    def _pairs(self, logits, y):
        if not isinstance(y, Mapping) or set(y) != set(self.specs):
            got = sorted(y) if isinstance(y, Mapping) else type(y).__name__
            raise ConfigError(
                f"multi-output targets must be a dict with keys {sorted(self.specs)}, got {got}"
            )
        return {name: (logits[name], y[name]) for name in self.specs}

    def _outputs(self, logits: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {
            name: task_output(
                logits[name].float(), task=s.task, regression_output=s.regression_output
            )
            for name, s in self.specs.items()
        }

    def _report(self, outputs):
        from audioconv.evaluation import MultiReport, evaluate

        return MultiReport(
            {
                name: evaluate(
                    target,
                    output,
                    task=self.specs[name].task,
                    class_names=self.specs[name].class_names,
                    threshold=self._threshold,
                    level=self._eval_level,
                )
                for name, (output, target) in outputs.items()
            }
        )


def load_classifier(
    path: str | os.PathLike,
    *,
    backbone: nn.Module | None = None,
    frontend: nn.Module | None = None,
    map_location: str | torch.device = "cpu",
) -> Classifier | MultiOutputClassifier:
    """Rebuild the model saved in a Lightning checkpoint, in eval mode.

    The backbone and frontend are rebuilt from the specs stored with the hyperparameters; pass
    ``backbone`` / ``frontend`` modules (same architecture) when they were not built from
    specs. Returns a :class:`MultiOutputClassifier` for a multi-output checkpoint. The file is
    read with ``torch.load(weights_only=True)``, so spec arguments must be plain values
    (numbers, strings, lists, dicts), and the specs name registered backbones / front ends only.
    When the run folder recorded the file's SHA-256 (``<path>.sha256``, written by training) the
    file must match it; the model's digest is kept as ``model.checkpoint_sha256``.
    ``Classifier.load_from_checkpoint(path)`` works as well (without these checks).

    Raises:
        CheckpointError: the file is missing, unreadable or differs from its SHA-256 record; a
            spec names an unregistered component or holds non-plain values; the weights are
            not finite or do not fit the model.
    """
    from audioconv._integrity import check_finite, verify_checkpoint

    try:
        digest = verify_checkpoint(path)
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
        hparams = dict(checkpoint["hyper_parameters"])
        state = checkpoint["state_dict"]
    except CheckpointError:
        raise
    except FileNotFoundError as err:
        raise CheckpointError(f"{path}: checkpoint not found") from err
    except Exception as err:  # any unpickling / format problem
        raise CheckpointError(f"{path}: not a readable audioconv checkpoint ({err})") from err
    if backbone is None and hparams.get("backbone_spec") is None:
        raise CheckpointError(
            f"{path}: the backbone was not built from audioconv.models.create, so it cannot be "
            "rebuilt: pass backbone=<the same architecture>"
        )
    if (
        frontend is None
        and hparams.get("frontend_spec") is None
        and any(key.startswith("frontend.") for key in state)
    ):
        raise CheckpointError(
            f"{path}: the model has a frontend without a stored spec: pass frontend=<the same "
            "module> (or train with frontend_spec=... so it can be rebuilt)"
        )
    check_finite(state, path)
    cls = MultiOutputClassifier if "heads" in hparams else Classifier
    try:
        model = cls(backbone=backbone, frontend=frontend, **hparams)
    except (ConfigError, TypeError) as err:
        raise CheckpointError(f"{path}: cannot rebuild the model: {err}") from err
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(f"{path}: weights do not fit the rebuilt model ({err})") from err
    model.checkpoint_sha256 = digest
    return model.eval()
