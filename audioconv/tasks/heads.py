"""Task heads: the final-layer width, output activation, loss and running score of each task.

:class:`Head` describes one output (task, classes, weights, smoothing); :class:`TaskLoss`
holds its loss (and the head, ``.head``) with the class weights as a buffer; :func:`task_output`,
:func:`task_loss` and :func:`task_score` are the per-task math the LightningModules and exporters
share. ``HeadSpec`` is the deprecated name of :class:`Head` (a DeprecationWarning).
"""

from __future__ import annotations

import dataclasses
import numbers
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from audioconv.constants import TASKS
from audioconv.contract import is_positive
from audioconv.errors import ConfigError

REGRESSION_OUTPUTS = ("linear", "sigmoid", "tanh")


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
      ``(batch,)`` class indices or ``(batch, C)`` class probabilities (e.g. from ``Mixup``).
    * multilabel: BCE-with-logits per class with ``pos_weight = class_weights`` ``(C,)``;
      ``target`` ``(batch, C)`` multi-hot.
    * regression: MSE between the activated output and ``target`` (same number of elements).

    >>> round(task_loss(torch.zeros(1, 3), torch.tensor([2]), task="multiclass").item(), 4)
    1.0986
    """
    if task == "multiclass":
        soft = target.ndim == logits.ndim and target.is_floating_point()
        return F.cross_entropy(
            logits, target.to(logits.dtype) if soft else target.long(),
            weight=class_weights, label_smoothing=label_smoothing,
        )  # fmt: skip
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


@dataclasses.dataclass(frozen=True)
class Head:
    """What one output predicts and how it is trained (``HeadSpec`` before, deprecated).

    ``num_classes``: binary 2 (1 is accepted and means the same); multiclass >= 2; multilabel
    >= 1; regression the number of outputs (default 1). ``class_weights``: ``None``,
    ``"balanced"`` (computed from the training labels in ``setup``) or one positive number per
    class (binary ``(w_neg, w_pos)``; multilabel per-class positive weights). ``weight`` scales this
    head's loss in a :class:`MultiOutputClassifier`. Checkpoints store it as the plain dict of
    these fields (``dataclasses.asdict``).
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
            if isinstance(self.class_names, str) or not isinstance(self.class_names, Iterable):
                raise ConfigError(
                    f"class_names={self.class_names!r} must be a list of names, one per class"
                )
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
    """The loss of one :class:`Head` (``.head``); holds the class weights as a buffer saved with
    the model.

    ``forward(logits (batch, width), target) -> scalar``; see :func:`task_loss`.
    """

    def __init__(self, head: Head):
        super().__init__()
        self.head = head
        weights = None
        if head.class_weights == "balanced":
            weights = torch.ones(head.num_classes)  # placeholder until resolve_balanced()
        elif head.class_weights is not None:
            weights = torch.tensor(head.class_weights, dtype=torch.float32)
        self.register_buffer("class_weights", weights)

    @property
    def spec(self) -> Head:
        """Deprecated name of ``.head`` (a DeprecationWarning)."""
        warnings.warn(
            "TaskLoss.spec is deprecated: use TaskLoss.head", DeprecationWarning, stacklevel=2
        )
        return self.head

    @property
    def balanced(self) -> bool:
        """Whether the weights come from the training labels (``class_weights="balanced"``)."""
        return self.head.class_weights == "balanced"

    def resolve_balanced(self, labels: Any) -> None:
        """Set the weights from training labels with :func:`balanced_class_weights`."""
        weights = balanced_class_weights(
            labels, task=self.head.task, num_classes=self.head.num_classes
        )
        self.class_weights.copy_(weights)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return task_loss(
            logits,
            target,
            task=self.head.task,
            class_weights=self.class_weights,
            label_smoothing=self.head.label_smoothing,
            regression_output=self.head.regression_output,
        )


def deprecated_head_spec(stacklevel: int = 3) -> type[Head]:
    """:class:`Head` for its deprecated name ``HeadSpec``, with a DeprecationWarning (used by the
    ``__getattr__`` of this module and of :mod:`audioconv.tasks`)."""
    warnings.warn(
        "HeadSpec is deprecated: use Head (the same class)",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return Head


def __getattr__(name: str):
    """``HeadSpec``: the deprecated name of :class:`Head` (a DeprecationWarning)."""
    if name == "HeadSpec":
        return deprecated_head_spec()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
