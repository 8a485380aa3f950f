"""Metric math for every task kind: input validation, per-class counts, averages, curves.

Pure functions over NumPy arrays (scikit-learn does the heavy lifting); ``report.py`` wraps their
results in a :class:`~audioconv.evaluation.report.Report`.

Conventions
-----------
* Names say direction, as in scikit-learn: ``*_score`` higher is better, ``*_loss`` / ``*_error``
  lower is better (``fpr_*_error`` is the false positive rate ``FP / (FP + TN)``).
* A ratio whose denominator is zero (e.g. precision of a class that is never predicted) is 0,
  scikit-learn's ``zero_division=0`` convention.
* A per-class ROC AUC needs both positive and negative samples of that class in ``y_true`` and a
  per-class average precision needs a positive one; otherwise the value is NaN (``null`` in JSON),
  a note says why, and macro averages are taken over the classes where it is defined.
* Binary and multilabel predictions are ``y_score >= threshold``, the one thresholding rule of
  :func:`audioconv.contract.is_positive` (``predict`` and deployment use it too); multiclass ones
  are the argmax.
* ``balanced_accuracy_score`` averages the recall of the classes present in ``y_true`` (sklearn);
  weighted averages weight each class by its support (its number of true samples).
"""

from __future__ import annotations

import functools
import numbers
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from audioconv._registry import check_registration
from audioconv.constants import TASKS
from audioconv.contract import is_positive
from audioconv.errors import ConfigError

#: The built-in columns of the per-class table of a classification report, in order; metrics
#: registered with ``register_metric(..., per_class=True)`` follow them (:func:`register_metric`).
CLASS_COLUMNS = (
    "tp",
    "fn",
    "fp",
    "tn",
    "support",
    "precision",
    "recall",
    "specificity",
    "f1",
    "fpr",
    "auc",
    "ap",
)
#: The built-in columns of the per-output table of a regression report, in order (registered
#: per-class regression metrics follow them).
REGRESSION_COLUMNS = ("mse", "rmse", "mae", "r2")

#: Longest stored ROC / PR curve; longer ones are thinned evenly (plots look the same).
MAX_CURVE_POINTS = 1000
# Probability rows may sum to 1 only up to float32 softmax rounding; larger gaps are an error.
_ROW_SUM_TOL = 1e-3


def to_numpy(x: Any) -> np.ndarray:
    """Convert an array-like (NumPy, list, or a torch tensor on any device) to a NumPy array.

    Tensors are recognised by duck typing (``detach`` / ``cpu``), so torch is never imported here;
    floating tensors are widened to float64 first (NumPy has no bfloat16).
    """
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu()
        if x.dtype.is_floating_point:
            x = x.double()
        return x.numpy()
    return np.asarray(x)


def _check_finite(name: str, a: np.ndarray) -> None:
    if a.dtype.kind not in "biuf":
        raise ConfigError(f"{name} has dtype {a.dtype}: pass numbers (labels, probabilities)")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        bad = int((~np.isfinite(a)).sum())
        raise ConfigError(f"{name} holds {bad} NaN / inf value(s): fix the model outputs first")


def _check_binary_values(name: str, a: np.ndarray) -> None:
    if not np.isin(a, (0, 1)).all():
        found = np.unique(a)[:10].tolist()
        raise ConfigError(f"{name} must hold only 0 and 1, found values {found}")


def _check_probabilities(name: str, a: np.ndarray, *, fix: str) -> None:
    if a.min() < 0.0 or a.max() > 1.0:
        raise ConfigError(
            f"{name} has values in [{a.min():.4g}, {a.max():.4g}], outside [0, 1]: these look "
            f"like logits, {fix}"
        )


def default_class_names(task: str, n: int) -> list[str]:
    """Names used when none are given: ``"0".."C-1"``; regression ``"y"`` or ``"y0".."yk-1"``."""
    if task == "regression":
        return ["y"] if n == 1 else [f"y{i}" for i in range(n)]
    return [str(i) for i in range(n)]


def validate_inputs(
    y_true: Any,
    y_score: Any,
    *,
    task: str,
    class_names: Sequence[str] | None = None,
    threshold: float = 0.5,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Check and normalise what ``predict_step`` returns into the canonical layout of each task.

    Accepted inputs (``n`` samples, ``C`` classes, ``k`` regression outputs):

    * binary: ``y_score`` ``(n,)`` / ``(n, 1)`` P(positive) or ``(n, 2)`` probabilities;
      ``y_true`` ``(n,)`` in {0, 1}.
    * multiclass: ``y_score`` ``(n, C)`` probability rows; ``y_true`` ``(n,)`` labels in
      ``[0, C)`` or one-hot ``(n, C)``.
    * multilabel: ``y_score`` ``(n, C)`` probabilities; ``y_true`` ``(n, C)`` multi-hot.
    * regression: ``y_score`` and ``y_true`` ``(n,)`` or ``(n, k)``, the same shape.

    Returns ``(y_true, y_score, class_names)`` with binary ``(n,) int``/``(n,) float``, multiclass
    ``(n,) int``/``(n, C) float`` (rows renormalised to sum to 1), multilabel ``(n, C) int``/
    ``(n, C) float`` and regression ``(n, k) float``/``(n, k) float``.

    Raises:
        ConfigError: naming the offending shape or value and the fix.
    """
    if task not in TASKS:
        raise ConfigError(f"task={task!r} is not one of {TASKS}")
    if not (isinstance(threshold, numbers.Real) and 0.0 <= threshold <= 1.0):
        raise ConfigError(f"threshold={threshold!r} must be a number in [0, 1]")
    t, s = to_numpy(y_true), to_numpy(y_score)
    _check_finite("y_true", t)
    _check_finite("y_score", s)
    if s.ndim == 0 or s.shape[0] == 0:
        raise ConfigError(f"y_score has shape {s.shape}: evaluation needs at least one sample")
    if t.ndim == 0 or t.shape[0] != s.shape[0]:
        raise ConfigError(
            f"y_true has shape {t.shape} but y_score has shape {s.shape}: both need the same "
            "number of samples on axis 0"
        )
    s = s.astype(np.float64)
    if task == "binary":
        t, s = _binary(t, s)
        n_names = 2
    elif task == "multiclass":
        t, s = _multiclass(t, s)
        n_names = s.shape[1]
    elif task == "multilabel":
        t, s = _multilabel(t, s)
        n_names = s.shape[1]
    else:
        t, s = _regression(t, s)
        n_names = s.shape[1]
    names = _class_names(task, class_names, n_names)
    return t, s, names


def _binary(t: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if s.ndim == 2 and s.shape[1] == 2:
        _check_probabilities("y_score", s, fix="apply softmax (or pass sigmoid P(positive))")
        _check_row_sums(s, task="binary")
        s = s[:, 1]  # (n, 2) -> (n,) P(positive)
    elif s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]  # (n, 1) -> (n,)
    if s.ndim != 1:
        raise ConfigError(
            f"binary y_score has shape {s.shape}: pass (n,) P(positive), (n, 1) or (n, 2) "
            "probabilities; use task='multiclass' for more than two classes"
        )
    _check_probabilities("y_score", s, fix="apply sigmoid to get P(positive)")
    if t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]  # (n, 1) -> (n,)
    if t.ndim != 1:
        raise ConfigError(f"binary y_true has shape {t.shape}: pass (n,) labels in {{0, 1}}")
    _check_binary_values("binary y_true", t)
    return t.astype(np.int64), s


def _check_row_sums(s: np.ndarray, *, task: str) -> None:
    sums = s.sum(axis=1)
    worst = int(np.argmax(np.abs(sums - 1.0)))
    if abs(sums[worst] - 1.0) > _ROW_SUM_TOL:
        raise ConfigError(
            f"{task} y_score row {worst} sums to {sums[worst]:.6g}, not 1: pass softmax "
            "probabilities (or use task='multilabel' for independent sigmoid outputs)"
        )


def _multiclass(t: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if s.ndim != 2 or s.shape[1] < 2:
        raise ConfigError(
            f"multiclass y_score has shape {s.shape}: pass (n, C) probabilities with C >= 2"
        )
    n_classes = s.shape[1]
    _check_probabilities("y_score", s, fix="apply softmax over the class axis")
    _check_row_sums(s, task="multiclass")
    s = s / s.sum(axis=1, keepdims=True)  # (n, C), rows exactly normalised for log loss
    if t.ndim == 2:
        if t.shape != s.shape:
            raise ConfigError(
                f"one-hot y_true has shape {t.shape} but y_score has shape {s.shape}: they "
                "must match, or pass (n,) integer labels"
            )
        _check_binary_values("one-hot y_true", t)
        if not (t.sum(axis=1) == 1).all():
            raise ConfigError(
                "2-D multiclass y_true must be one-hot (exactly one 1 per row); for several "
                "labels per sample use task='multilabel'"
            )
        t = t.argmax(axis=1)  # (n, C) one-hot -> (n,) labels
    if t.ndim != 1:
        raise ConfigError(f"multiclass y_true has shape {t.shape}: pass (n,) or one-hot (n, C)")
    if t.dtype.kind == "f" and not (t == np.round(t)).all():
        raise ConfigError("multiclass y_true holds non-integer values: pass class indices")
    if t.min() < 0 or t.max() >= n_classes:
        raise ConfigError(
            f"multiclass y_true holds labels in [{int(t.min())}, {int(t.max())}] but y_score has "
            f"{n_classes} columns: labels must lie in [0, {n_classes - 1}]"
        )
    return t.astype(np.int64), s


def _multilabel(t: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if s.ndim != 2 or t.shape != s.shape:
        raise ConfigError(
            f"multilabel y_true has shape {t.shape} and y_score {s.shape}: both must be (n, C) "
            "(multi-hot targets and sigmoid probabilities)"
        )
    _check_probabilities("y_score", s, fix="apply sigmoid per label (never softmax)")
    _check_binary_values("multilabel y_true", t)
    return t.astype(np.int64), s


def _regression(t: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if s.ndim == 1:
        s = s[:, None]  # (n,) -> (n, 1)
    if t.ndim == 1:
        t = t[:, None]  # (n,) -> (n, 1)
    if s.ndim != 2 or t.shape != s.shape:
        raise ConfigError(
            f"regression y_true has shape {t.shape} and y_score {s.shape}: pass the same shape, "
            "(n,) or (n, k)"
        )
    return t.astype(np.float64), s


def _class_names(task: str, names: Sequence[str] | None, n: int) -> list[str]:
    if names is None:
        return default_class_names(task, n)
    names = [str(c) for c in names]
    what = "outputs" if task == "regression" else "classes"
    if len(names) != n:
        raise ConfigError(
            f"class_names has {len(names)} entries but the {task} inputs have {n} {what}: "
            f"pass {n} names" + (" (negative, positive)" if task == "binary" else "")
        )
    if len(set(names)) != n:
        raise ConfigError(f"class_names {names} holds duplicates: names must be unique")
    return names


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with 0 where ``den == 0`` (scikit-learn's ``zero_division=0``)."""
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


def indicator(y_true: np.ndarray, task: str, n_classes: int) -> np.ndarray:
    """One-vs-rest 0/1 targets ``(n, C)`` from canonical ``y_true`` (:func:`validate_inputs`)."""
    if task == "multilabel":
        return y_true
    return (y_true[:, None] == np.arange(n_classes)).astype(np.int64)  # (n,) -> (n, C)


def class_scores(y_score: np.ndarray, task: str) -> np.ndarray:
    """Per-class scores ``(n, C)``; binary ``(n,)`` P(positive) becomes ``[1 - p, p]``."""
    if task == "binary":
        return np.stack([1.0 - y_score, y_score], axis=1)  # (n,) -> (n, 2)
    return y_score


def predictions(y_score: np.ndarray, task: str, threshold: float) -> np.ndarray:
    """Hard predictions: binary ``(n,)``, multiclass ``(n,)`` argmax, multilabel ``(n, C)``."""
    if task == "multiclass":
        return y_score.argmax(axis=1)
    return is_positive(y_score, threshold).astype(np.int64)


class ClassificationResult(NamedTuple):
    """What :func:`classification_metrics` returns (unpacks like the tuple it replaces)."""

    metrics: dict[str, float]
    per_class: pd.DataFrame
    confusion: np.ndarray
    confusion_normalized: np.ndarray
    curves: dict
    notes: list[str]


def classification_metrics(
    y_true: np.ndarray, y_score: np.ndarray, *, task: str, threshold: float, class_names: list[str]
) -> ClassificationResult:
    """All classification metrics from canonical inputs (see :func:`validate_inputs`).

    The per-class table holds the confusion counts and their ratios (:data:`CLASS_COLUMNS`), then
    the registered per-class metrics of ``task``; the scalar metrics are every registered one
    that applies to ``task`` (:func:`register_metric`).
    ``confusion`` is ``(C, C)`` (rows = true class, columns = predicted) for binary / multiclass
    and the per-label ``(C, 2, 2)`` ``[[tn, fp], [fn, tp]]`` stack for multilabel;
    ``confusion_normalized`` divides each row by its sum (rows with no samples stay 0).
    """
    n_classes = len(class_names)
    labels = np.arange(n_classes)
    y_pred = predictions(y_score, task, threshold)
    onehot = indicator(y_true, task, n_classes)  # (n, C)
    scores = class_scores(y_score, task)  # (n, C)

    mcm = skm.multilabel_confusion_matrix(y_true, y_pred, labels=labels)  # (C, 2, 2)
    tn, fp, fn, tp = (mcm[:, i, j] for i, j in ((0, 0), (0, 1), (1, 0), (1, 1)))
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    auc, ap, micro, curves, notes = _ovr_curves(onehot, scores, task, class_names)
    columns = (tp, fn, fp, tn, support, precision, recall, _divide(tn, tn + fp), f1)
    per_class = pd.DataFrame(
        dict(zip(CLASS_COLUMNS, (*columns, _divide(fp, fp + tn), auc, ap), strict=True)),
        index=pd.Index(class_names, name="class"),
    )
    scored = Scored(task, y_true, y_score, y_pred, per_class, micro)
    if task == "multilabel":
        confusion = mcm
        confusion_normalized = _divide(mcm, mcm.sum(axis=2, keepdims=True))  # (C, 2, 2)
    else:
        confusion = skm.confusion_matrix(y_true, y_pred, labels=labels)  # (C, C)
        confusion_normalized = _divide(confusion, confusion.sum(axis=1, keepdims=True))
    return ClassificationResult(
        compute_metrics(scored), per_class, confusion, confusion_normalized, curves, notes
    )


def _averaged_specificity(
    tn: np.ndarray, fp: np.ndarray, support: np.ndarray, average: str
) -> tuple[float, float]:
    """Specificity ``TN / (TN + FP)`` and FPR ``FP / (FP + TN)`` averaged like sklearn's P/R."""
    if average == "micro":
        return float(_divide(tn.sum(), tn.sum() + fp.sum())), float(
            _divide(fp.sum(), fp.sum() + tn.sum())
        )
    spec, rate = _divide(tn, tn + fp), _divide(fp, fp + tn)
    if average == "macro":
        return float(spec.mean()), float(rate.mean())
    total = support.sum()  # weighted: by each class's number of true samples
    return float(_divide((spec * support).sum(), total)), float(
        _divide((rate * support).sum(), total)
    )


def _nanmean(values: np.ndarray) -> float:
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else float("nan")


def _ovr_curves(
    onehot: np.ndarray, scores: np.ndarray, task: str, class_names: list[str]
) -> tuple[np.ndarray, np.ndarray, dict[str, float], dict, list[str]]:
    """One-vs-rest AUC / AP per class ``(C,)``, micro AUC / AP, ROC and PR points, notes.

    Micro averages pool every (sample, class) decision: the flattened ``(n * C,)`` arrays.
    Curves: ``{"roc": {class: {"fpr", "tpr"}}, "pr": {class: {"recall", "precision"}}}`` plus,
    beyond binary, ``"roc_micro"``, ``"roc_macro"`` and ``"pr_micro"`` (each one curve).
    """
    n_classes = len(class_names)
    auc = np.full(n_classes, np.nan)
    ap = np.full(n_classes, np.nan)
    roc: dict[str, dict[str, list[float]]] = {}
    pr: dict[str, dict[str, list[float]]] = {}
    notes: list[str] = []
    # A binary report draws the positive class only (the negative one is its mirror image).
    curve_classes = {1} if task == "binary" else set(range(n_classes))
    for c, name in enumerate(class_names):
        target, score = onehot[:, c], scores[:, c]
        positives = int(target.sum())
        if positives == 0:
            notes.append(
                f"class {name!r} has no positive samples in y_true: its roc_auc and average "
                "precision are undefined (null) and left out of the macro averages"
            )
            continue
        ap[c] = skm.average_precision_score(target, score)
        if c in curve_classes:
            precision, recall, _ = skm.precision_recall_curve(target, score, drop_intermediate=True)
            pr[name] = _points(recall=recall, precision=precision)
        if positives == len(target):
            notes.append(
                f"class {name!r} has only positive samples in y_true: its roc_auc is undefined "
                "(null) and left out of the macro average"
            )
            continue
        auc[c] = skm.roc_auc_score(target, score)
        if c in curve_classes:
            fpr, tpr, _ = skm.roc_curve(target, score)
            roc[name] = _points(fpr=fpr, tpr=tpr)
    micro = {"auc": float("nan"), "ap": float("nan")}
    averages: dict[str, dict[str, list[float]]] = {}
    if task != "binary":
        flat_t, flat_s = onehot.ravel(), scores.ravel()  # (n, C) -> (n * C,)
        if flat_t.sum() > 0:
            micro["ap"] = float(skm.average_precision_score(flat_t, flat_s))
            precision, recall, _ = skm.precision_recall_curve(
                flat_t, flat_s, drop_intermediate=True
            )
            averages["pr_micro"] = _points(recall=recall, precision=precision)
        if 0 < flat_t.sum() < flat_t.size:
            micro["auc"] = float(skm.roc_auc_score(flat_t, flat_s))
            fpr, tpr, _ = skm.roc_curve(flat_t, flat_s)
            averages["roc_micro"] = _points(fpr=fpr, tpr=tpr)
        defined = [roc[class_names[c]] for c in np.flatnonzero(~np.isnan(auc))]
        if defined:
            averages["roc_macro"] = _macro_roc(defined)
    return auc, ap, micro, {"roc": roc, "pr": pr, **averages}, notes


def _macro_roc(curves: list[dict[str, list[float]]]) -> dict[str, list[float]]:
    """Macro-average ROC: each class's TPR interpolated on the union of FPR points, averaged."""
    grid = np.unique(np.concatenate([c["fpr"] for c in curves]))
    tpr = np.mean([np.interp(grid, c["fpr"], c["tpr"]) for c in curves], axis=0)
    return _points(fpr=grid, tpr=tpr)


def _points(**coords: np.ndarray) -> dict[str, list[float]]:
    """Curve coordinates as lists, thinned to at most ``MAX_CURVE_POINTS`` evenly spaced points
    (first and last kept) so that report.json stays small on large evaluation sets."""
    size = len(next(iter(coords.values())))
    keep = np.unique(np.linspace(0, size - 1, min(size, MAX_CURVE_POINTS)).round().astype(int))
    return {name: np.asarray(values)[keep].tolist() for name, values in coords.items()}


def _log_loss(y_true: np.ndarray, y_score: np.ndarray, task: str) -> float:
    """Cross-entropy: binary / multiclass as sklearn's ``log_loss``; multilabel the mean BCE.

    The multilabel value averages over every (sample, label) pair, i.e. the mean over labels of
    each label's binary log loss; probabilities are clipped to ``[eps, 1 - eps]`` like sklearn.
    """
    if task == "binary":
        return float(skm.log_loss(y_true, y_score, labels=[0, 1]))
    if task == "multiclass":
        return float(skm.log_loss(y_true, y_score, labels=np.arange(y_score.shape[1])))
    eps = np.finfo(y_score.dtype).eps
    p = np.clip(y_score, eps, 1.0 - eps)
    return float(-np.mean(y_true * np.log(p) + (1 - y_true) * np.log1p(-p)))


def regression_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, *, class_names: list[str]
) -> tuple[dict[str, float], pd.DataFrame, dict]:
    """MSE, RMSE, MAE and R² per output (``per_class``) and the registered regression metrics
    (those four averaged uniformly over outputs).

    ``y_true`` and ``y_pred`` are ``(n, k)``. ``root_mean_squared_error`` averages the per-output
    RMSEs (sklearn's ``uniform_average``), so it is not the square root of the averaged MSE when
    ``k > 1``. Curves hold the points of the predicted-vs-true plots.
    """
    per_output = {
        "mse": skm.mean_squared_error(y_true, y_pred, multioutput="raw_values"),
        "rmse": skm.root_mean_squared_error(y_true, y_pred, multioutput="raw_values"),
        "mae": skm.mean_absolute_error(y_true, y_pred, multioutput="raw_values"),
        "r2": skm.r2_score(y_true, y_pred, multioutput="raw_values"),
    }
    per_class = pd.DataFrame(per_output, index=pd.Index(class_names, name="output"))
    micro = {"auc": float("nan"), "ap": float("nan")}
    metrics = compute_metrics(Scored("regression", y_true, y_pred, y_pred, per_class, micro))
    curves = {
        "predictions": {
            name: {"y_true": y_true[:, j].tolist(), "y_pred": y_pred[:, j].tolist()}
            for j, name in enumerate(class_names)
        }
    }
    return metrics, per_class, curves


# --------------------------------------------------------------------------------------------
# The metric registry: one decorated function per scalar metric
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scored:
    """What every metric function reads: canonical inputs (:func:`validate_inputs`) and the
    per-class table.

    ``y_true`` / ``y_pred``: binary / multiclass ``(n,)`` labels, multilabel ``(n, C)``
    multi-hot, regression ``(n, k)`` values; ``y_score`` the model's scores (binary ``(n,)``
    P(positive), else ``(n, C)``; regression ``y_pred``); ``per_class`` the :data:`CLASS_COLUMNS`
    (regression :data:`REGRESSION_COLUMNS`) per class, then the registered per-class metrics (a
    scalar metric can read them); ``micro`` the pooled one-vs-rest ``auc`` and ``ap`` (NaN for
    binary and regression).
    """

    task: str
    y_true: np.ndarray
    y_score: np.ndarray
    y_pred: np.ndarray
    per_class: pd.DataFrame
    micro: Mapping[str, float]

    @property
    def labels(self) -> np.ndarray:
        """Class indices ``0..C-1``."""
        return np.arange(len(self.per_class))


@dataclass(frozen=True)
class Metric:
    """A registered metric: ``compute(scored)`` for the ``tasks`` it applies to; a float, or with
    ``per_class`` one value per class (a column of the per-class table); ``summary`` puts it in
    the report's text summary."""

    name: str
    compute: Callable[[Scored], Any]
    tasks: tuple[str, ...]
    summary: bool
    per_class: bool = False


_METRICS: dict[str, Metric] = {}
_CLASSIFICATION = ("binary", "multiclass", "multilabel")


def register_metric(
    name: str, *, tasks: Sequence[str], summary: bool = False, per_class: bool = False
) -> Callable:
    """Decorator registering ``compute(scored: Scored)`` as the metric ``name``.

    A scalar metric returns a float: every report of a task in ``tasks`` then holds it in
    ``metrics`` (in registration order). Names say direction: ``*_score`` higher is better,
    ``*_loss`` / ``*_error`` lower::

        @register_metric("top_class_share_score", tasks=("multiclass",))
        def top_class_share(scored):
            return float(np.bincount(scored.y_pred).max() / len(scored.y_pred))

    With ``per_class=True`` it returns one value per class (``(C,)``; regression: per output),
    and every report of those tasks holds it as a column ``name`` of its per-class table, after
    the built-in :data:`CLASS_COLUMNS` (:data:`REGRESSION_COLUMNS`), in ``report.json``,
    ``report.md`` and (``summary=True``) the text summary; scalar metrics can read it::

        @register_metric("predicted", tasks=("multiclass",), per_class=True)
        def predicted(scored):  # how often each class is predicted
            return np.bincount(scored.y_pred, minlength=len(scored.labels))
    """
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown or not tasks:
        raise ConfigError(f"tasks={tuple(tasks)!r} for metric {name!r}: use some of {TASKS}")
    if per_class and name in (*CLASS_COLUMNS, *REGRESSION_COLUMNS):
        raise ConfigError(f"{name!r} is a built-in per-class column: pick another name")

    def decorate(compute: Callable[[Scored], Any]) -> Callable[[Scored], Any]:
        check_registration("metric", name, compute, _METRICS, "compute")
        _METRICS[name] = Metric(name, compute, tuple(tasks), summary, per_class)
        return compute

    return decorate


def list_metrics(task: str | None = None, *, per_class: bool = False) -> list[str]:
    """Names of the registered scalar metrics (``per_class=True``: per-class ones), those of
    ``task`` if given, in registration order."""
    return [
        m.name
        for m in _METRICS.values()
        if m.per_class == per_class and (task is None or task in m.tasks)
    ]


def summary_metrics() -> tuple[str, ...]:
    """Names shown in a report's text summary (metrics and per-class columns), in registration
    order."""
    return tuple(m.name for m in _METRICS.values() if m.summary)


def compute_metrics(scored: Scored) -> dict[str, float]:
    """Every registered metric of ``scored.task``: the per-class ones first, each added as a
    column of ``scored.per_class`` (in place); then the scalar ones -> ``{name: float}``."""
    n_rows = len(scored.per_class)
    for m in _METRICS.values():
        if m.per_class and scored.task in m.tasks:
            values = np.asarray(m.compute(scored))
            if values.shape != (n_rows,) or values.dtype.kind not in "biuf":
                raise ConfigError(
                    f"per-class metric {m.name!r} returned {values.dtype} values of shape "
                    f"{values.shape}: return one number per class, shape ({n_rows},)"
                )
            scored.per_class[m.name] = values
    return {
        m.name: float(m.compute(scored))
        for m in _METRICS.values()
        if not m.per_class and scored.task in m.tasks
    }


register_metric("accuracy_score", tasks=_CLASSIFICATION, summary=True)(
    lambda s: skm.accuracy_score(s.y_true, s.y_pred)
)
register_metric("subset_accuracy_score", tasks=("multilabel",))(
    lambda s: skm.accuracy_score(s.y_true, s.y_pred)
)
register_metric("hamming_loss", tasks=("multilabel",), summary=True)(
    lambda s: skm.hamming_loss(s.y_true, s.y_pred)
)


@register_metric("balanced_accuracy_score", tasks=("binary", "multiclass"), summary=True)
def _balanced_accuracy(s: Scored) -> float:
    with warnings.catch_warnings():  # classes absent from y_true are already in the notes
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        return skm.balanced_accuracy_score(s.y_true, s.y_pred)


def _positive_class(s: Scored, *, column: str) -> float:
    """The positive class's value in the per-class table (scikit-learn's average="binary")."""
    return s.per_class[column].iloc[1]


for _column, _name in (
    ("precision", "precision_score"),
    ("recall", "recall_score"),
    ("specificity", "specificity_score"),
    ("f1", "f1_score"),
    ("fpr", "fpr_error"),
):
    register_metric(_name, tasks=("binary",), summary=_name != "fpr_error")(
        functools.partial(_positive_class, column=_column)
    )


def _averaged(s: Scored, *, name: str, average: str) -> float:
    """``name`` (precision / recall / f1 / specificity / fpr) averaged like sklearn's P/R."""
    if name in ("precision", "recall", "f1"):
        values = skm.precision_recall_fscore_support(
            s.y_true, s.y_pred, labels=s.labels, average=average, zero_division=0
        )
        return values[("precision", "recall", "f1").index(name)]
    table = s.per_class
    spec, rate = _averaged_specificity(
        table["tn"].to_numpy(), table["fp"].to_numpy(), table["support"].to_numpy(), average
    )
    return spec if name == "specificity" else rate


for _average in ("macro", "micro", "weighted"):
    for _name in ("precision", "recall", "f1", "specificity", "fpr"):
        register_metric(
            f"{_name}_{_average}_error" if _name == "fpr" else f"{_name}_{_average}_score",
            tasks=_CLASSIFICATION,
            summary=(_name, _average) == ("f1", "macro"),
        )(functools.partial(_averaged, name=_name, average=_average))

register_metric("roc_auc_score", tasks=("binary",), summary=True)(
    functools.partial(_positive_class, column="auc")
)
register_metric("average_precision_score", tasks=("binary",), summary=True)(
    functools.partial(_positive_class, column="ap")
)
_MULTI = ("multiclass", "multilabel")
register_metric("roc_auc_macro_score", tasks=_MULTI, summary=True)(
    lambda s: _nanmean(s.per_class["auc"].to_numpy())
)
register_metric("roc_auc_micro_score", tasks=_MULTI)(lambda s: s.micro["auc"])
register_metric("average_precision_macro_score", tasks=_MULTI, summary=True)(
    lambda s: _nanmean(s.per_class["ap"].to_numpy())
)
register_metric("average_precision_micro_score", tasks=_MULTI)(lambda s: s.micro["ap"])
register_metric("log_loss", tasks=_CLASSIFICATION, summary=True)(
    lambda s: _log_loss(s.y_true, s.y_score, s.task)
)


def _output_mean(s: Scored, *, column: str) -> float:
    """A regression column averaged uniformly over outputs (sklearn's ``uniform_average``)."""
    return s.per_class[column].mean()


for _column, _name in (
    ("mse", "mean_squared_error"),
    ("rmse", "root_mean_squared_error"),
    ("mae", "mean_absolute_error"),
    ("r2", "r2_score"),
):
    register_metric(_name, tasks=("regression",), summary=True)(
        functools.partial(_output_mean, column=_column)
    )
