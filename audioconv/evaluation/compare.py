"""Is model B better than model A on the same examples? A paired bootstrap of per-example scores.

Two runs scored on one split differ by chance as well as by design: a 240-clip validation set
moves accuracy by about 3 points from one draw of speakers to the next. :func:`paired_comparison`
scores both models on the *same* examples, takes per-example differences (correct or not, and
the negative log-likelihood of the true class) and puts a bootstrap confidence interval
(``scipy.stats.bootstrap``, BCa) on their mean. Pairing removes the examples' own difficulty from
the noise, so the interval is far tighter than two separate intervals would be. Single-label tasks
only (binary, multiclass): their accuracy and log loss are means of per-example terms.

>>> import numpy as np
>>> y = np.array([0, 1, 1, 0])
>>> a = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.7, 0.3]])
>>> rows = paired_comparison(y, a, a, task="multiclass")
>>> [(r.metric, r.difference, r.better) for r in rows]
[('accuracy', 0.0, 'neither'), ('log_loss', 0.0, 'neither')]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from audioconv.errors import ConfigError

_EPS = 1e-15


@dataclass(frozen=True)
class Comparison:
    """One metric of two models on the same ``n`` examples.

    Attributes:
        metric: ``"accuracy"`` or ``"log_loss"`` (natural log, the true class's probability
            clipped to ``[1e-15, 1]``).
        a, b: the metric of model A and of model B.
        difference: ``b - a``.
        ci_low, ci_high: the ``confidence`` bootstrap interval of ``difference``.
        better: ``"a"`` or ``"b"`` when the interval excludes 0 (in the metric's good direction),
            else ``"neither"``.
        n: the number of paired examples.
        confidence: the interval's level.
    """

    metric: str
    a: float
    b: float
    difference: float
    ci_low: float
    ci_high: float
    better: str
    n: int
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _terms(y: np.ndarray, proba: np.ndarray, task: str, threshold: float) -> dict[str, np.ndarray]:
    """Per-example ``{"accuracy": 0/1, "log_loss": -log p(true)}`` for ``(n,)`` / ``(n, k)``."""
    if task == "binary":
        p_true = np.where(y == 1, proba, 1.0 - proba)
        correct = (proba >= threshold).astype(int) == y
    else:
        p_true = proba[np.arange(len(y)), y]
        correct = proba.argmax(axis=1) == y
    return {
        "accuracy": correct.astype(float),
        "log_loss": -np.log(np.clip(p_true, _EPS, 1.0)),
    }


def _check(y: np.ndarray, proba: np.ndarray, task: str, name: str) -> None:
    expected = (len(y),) if task == "binary" else (len(y), None)
    if proba.ndim != len(expected) or proba.shape[0] != len(y):
        shape = "(n,) P(positive)" if task == "binary" else "(n, num_classes)"
        raise ConfigError(f"{name}: shape {proba.shape}; {task} needs {shape} for n={len(y)}")
    num_classes = 2 if task == "binary" else proba.shape[1]
    if len(y) and (y.min() < 0 or y.max() >= num_classes):
        raise ConfigError(f"y_true holds labels outside 0..{num_classes - 1}")


def paired_comparison(
    y_true: Any,
    proba_a: Any,
    proba_b: Any,
    *,
    task: str,
    thresholds: tuple[float, float] = (0.5, 0.5),
    confidence: float = 0.95,
    n_resamples: int = 9999,
    seed: int = 0,
) -> list[Comparison]:
    """Accuracy and log loss of models A and B on the same examples, with a paired bootstrap
    interval on each difference.

    Args:
        y_true: ``(n,)`` class indices (binary: 0 / 1).
        proba_a, proba_b: ``(n, num_classes)`` probabilities (binary: ``(n,)`` P(positive)), row
            ``i`` of both for example ``i``.
        task: ``"binary"`` or ``"multiclass"``.
        thresholds: binary decision thresholds of A and B (each model's own, e.g. tuned ones).
        confidence: the interval's level.
        n_resamples, seed: the bootstrap's resamples and random seed (reproducible).

    Raises:
        ConfigError: another task, fewer than 2 examples, or shapes that do not match.
    """
    if task not in ("binary", "multiclass"):
        raise ConfigError(
            f"task={task!r}: paired comparison scores single-label tasks ('binary', 'multiclass')"
        )
    y = np.asarray(y_true).astype(int)
    a, b = np.asarray(proba_a, dtype=float), np.asarray(proba_b, dtype=float)
    if y.ndim != 1 or len(y) < 2:
        raise ConfigError(f"y_true: need a 1-D array of at least 2 labels, got shape {y.shape}")
    _check(y, a, task, "proba_a")
    _check(y, b, task, "proba_b")
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence={confidence!r} must be in (0, 1)")
    terms_a = _terms(y, a, task, thresholds[0])
    terms_b = _terms(y, b, task, thresholds[1])
    rows = []
    for metric, higher_is_better in (("accuracy", True), ("log_loss", False)):
        diff = terms_b[metric] - terms_a[metric]
        mean = float(diff.mean())
        if np.ptp(diff) == 0:  # every pair differs by the same amount: no spread to resample
            low = high = mean
        else:
            interval = stats.bootstrap(
                (diff,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                method="BCa", rng=np.random.default_rng(seed),
            ).confidence_interval  # fmt: skip
            low, high = float(interval.low), float(interval.high)
        if low > 0 or high < 0:
            better = "b" if (low > 0) == higher_is_better else "a"
        else:
            better = "neither"
        rows.append(
            Comparison(
                metric=metric,
                a=float(terms_a[metric].mean()),
                b=float(terms_b[metric].mean()),
                difference=mean,
                ci_low=low,
                ci_high=high,
                better=better,
                n=len(y),
                confidence=confidence,
            )
        )
    return rows
