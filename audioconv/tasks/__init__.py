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

Checkpoints restore with :func:`load_classifier`: the backbone is rebuilt from its config
(``{"name", "kwargs"}``: ``audioconv.models.create(name, **kwargs)``) and the frontend from the
front-end registry (``audioconv.features.create_frontend(name, **kwargs)``), both kept in the
checkpoint's hyperparameters (``backbone_config``, ``frontend_config``) as a registered name
plus plain keyword arguments. Nothing a checkpoint names is imported: an unknown name is refused
(:class:`~audioconv.errors.CheckpointError` on load).

Modules: :mod:`~audioconv.tasks.heads` (per-task output, loss, score; :class:`Head`,
:class:`TaskLoss`), :mod:`~audioconv.tasks.configs` (a component as a registered name plus plain
kwargs, built from the registries), :mod:`~audioconv.tasks.modules` (the LightningModules),
:mod:`~audioconv.tasks.ensemble` (:class:`Ensemble`, the backbone of ``Classifier(members=K)``)
and :mod:`~audioconv.tasks.loading` (:func:`load_classifier`). Import from ``audioconv.tasks``.
"""

from audioconv.constants import TASKS
from audioconv.tasks.ensemble import Ensemble, combine_logits
from audioconv.tasks.heads import (
    REGRESSION_OUTPUTS,
    Head,
    TaskLoss,
    balanced_class_weights,
    deprecated_head_spec,
    task_loss,
    task_output,
    task_score,
)
from audioconv.tasks.loading import load_classifier
from audioconv.tasks.modules import OPTIMIZERS, SCHEDULERS, Classifier, MultiOutputClassifier

__all__ = [
    "OPTIMIZERS",
    "REGRESSION_OUTPUTS",
    "SCHEDULERS",
    "TASKS",
    "Classifier",
    "Ensemble",
    "Head",
    "MultiOutputClassifier",
    "TaskLoss",
    "balanced_class_weights",
    "combine_logits",
    "load_classifier",
    "task_loss",
    "task_output",
    "task_score",
]


def __getattr__(name: str):
    """``HeadSpec``: the deprecated name of :class:`Head` (a DeprecationWarning)."""
    if name == "HeadSpec":
        return deprecated_head_spec()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
