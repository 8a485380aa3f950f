"""The classical yardstick: MFCC (+ deltas) statistics -> scikit-learn SVM / logistic regression.

Every audio recipe fits it on the same split as its network and shows its test metrics beside the
network's in ``report.json`` (key ``"baseline"``) and ``report.md``. Features come from the
library's own :class:`~audioconv.features.MFCC` (the model's code path): per clip, 20 MFCCs with
first and second deltas, summarised by their mean and standard deviation over frames (120
numbers). The whole clip is used (no crop or padding, so padding never enters the statistics).
The classifier and its ``C`` are chosen by accuracy on the validation split only (without one, by
3-fold cross-validation on train); the chosen model is refit on train and tested once. When the
test split holds speakers / recordings that training never saw, the cross-validation folds (for
that choice and for the SVM's probability calibration) keep each group in one fold too, so the
baseline is tuned for new speakers as it is tested.
:func:`compare_with_network` then scores the network against it on the same test clips, with a
paired bootstrap interval (:func:`audioconv.evaluation.compare.paired_comparison`): is the
network better than the yardstick on this split, or only by the luck of 300 clips?

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = np.concatenate([rng.normal(0, 1, (30, 4)), rng.normal(3, 1, (30, 4))])
>>> y = np.repeat([0, 1], 30)
>>> result = fit_baseline({"train": (x, y), "val": (x, y), "test": (x, y)}, ["a", "b"])
>>> result.report.metrics["accuracy_score"] > 0.9
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from audioconv.errors import ConfigError
from audioconv.evaluation import Report, evaluate

__all__ = [
    "BaselineResult",
    "audio_statistics",
    "compare_with_network",
    "fit_baseline",
    "run_audio_baseline",
]

# C values tried, in this order (ties keep the earlier candidate); logistic regression's grid is
# 10x smaller (it needs stronger regularisation, and converges in a few hundred iterations then).
_SVM_C = (0.1, 1.0, 10.0, 100.0)
_LOGISTIC_C = (0.01, 0.1, 1.0, 10.0)


@dataclasses.dataclass
class BaselineResult:
    """A fitted classical baseline: ``report`` on test, the choice made on validation.

    ``y_test`` ``(n,)`` and ``test_proba`` ``(n, C)`` are its test clips in split order (for
    :func:`compare_with_network`); ``comparison``: that comparison's rows once made."""

    classifier: str
    params: dict[str, Any]
    selection: str
    val_accuracy: float
    n_features: int
    report: Report
    y_test: np.ndarray = dataclasses.field(repr=False, default_factory=lambda: np.empty(0))
    test_proba: np.ndarray = dataclasses.field(repr=False, default_factory=lambda: np.empty(0))
    comparison: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """What ``report.json`` stores under ``"baseline"``."""
        return {
            "classifier": self.classifier,
            "params": self.params,
            "features": f"MFCC 20 + deltas + delta-deltas, mean and std over frames "
            f"({self.n_features} values)",
            "selection": self.selection,
            "val_accuracy": self.val_accuracy,
            "metrics": self.report.to_dict()["metrics"],
            **({} if self.comparison is None else {"comparison": self.comparison}),
        }


def _candidates(seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    for c in _SVM_C:
        yield (
            "svm",
            {"C": c, "kernel": "rbf", "gamma": "scale"},
            lambda c=c: make_pipeline(
                StandardScaler(), SVC(C=c, kernel="rbf", gamma="scale", random_state=seed)
            ),
        )
    for c in _LOGISTIC_C:
        yield (
            "logistic_regression",
            {"C": c},
            lambda c=c: make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000)),
        )


def _folds(y: np.ndarray, groups: np.ndarray | None, seed: int) -> tuple[list, bool]:
    """Up to 3 stratified cross-validation folds of train ``[(train rows, held rows), ...]`` and
    whether they keep each of ``groups`` ``(n,)`` in one fold: they do when there are 2 or more
    groups and every fold still trains on every class; otherwise the folds mix groups."""
    import warnings

    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    x = np.zeros(len(y))
    if groups is not None and len(np.unique(groups)) >= 2:
        splitter = StratifiedGroupKFold(
            n_splits=min(3, len(np.unique(groups))), shuffle=True, random_state=seed
        )
        with warnings.catch_warnings():  # rare classes: balanced as far as groups allow
            warnings.filterwarnings("ignore", "The least populated class", UserWarning)
            folds = list(splitter.split(x, y, groups))
        if all(len(np.unique(y[rows])) == len(np.unique(y)) for rows, _ in folds):
            return folds, True
    smallest = int(np.bincount(y)[np.unique(y)].min())
    splitter = StratifiedKFold(n_splits=max(2, min(3, smallest)), shuffle=True, random_state=seed)
    return list(splitter.split(x, y)), False


def fit_baseline(
    splits: Mapping[str, tuple[np.ndarray, np.ndarray]],
    class_names: Sequence[str],
    *,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> BaselineResult:
    """Choose SVM / logistic regression and ``C`` on ``splits["val"]``, refit on train, test.

    Args:
        splits: ``{"train": (x, y), "val": (x, y) or absent / empty, "test": (x, y)}``; ``x``
            ``(n, features)`` float, ``y`` ``(n,)`` class indices.
        class_names: ``C`` names, index order.
        seed: seeds the folds and the SVM's probability calibration.
        groups: ``(n_train,)`` speaker / recording of each train row, when the test split holds
            groups training never saw: cross-validation (the choice without a validation split,
            the SVM's calibration) then keeps each group in one fold, unless a fold would then
            train without some class.

    Raises:
        ConfigError: no training or test examples, or fewer than two classes in train.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline

    x_train, y_train = splits["train"]
    x_test, y_test = splits.get("test", (np.empty((0, 0)), np.empty(0)))
    if len(y_train) == 0 or len(y_test) == 0:
        raise ConfigError(
            f"the baseline needs train and test examples (got {len(y_train)} train, "
            f"{len(y_test)} test); pass --no-baseline to skip it"
        )
    if len(np.unique(y_train)) < 2:
        raise ConfigError("the baseline needs at least two classes in train; pass --no-baseline")
    val = splits.get("val")
    has_val = val is not None and len(val[1]) > 0
    if groups is not None and len(groups) != len(y_train):
        raise ConfigError(f"groups has {len(groups)} entries but train has {len(y_train)}")
    folds, grouped = _folds(
        np.asarray(y_train), None if groups is None else np.asarray(groups), seed
    )
    best = None
    for name, params, make in _candidates(seed):
        if has_val:
            score = float((make().fit(x_train, y_train).predict(val[0]) == val[1]).mean())
        else:
            score = float(cross_val_score(make(), x_train, y_train, cv=folds).mean())
        if best is None or score > best[0]:
            best = (score, name, params, make)
    score, name, params, make = best
    model = make()
    if name == "svm":  # probabilities for the report's curves: Platt scaling, 3-fold on train
        scaler, svm = model.steps[0][1], model.steps[-1][1]
        model = make_pipeline(scaler, CalibratedClassifierCV(svm, ensemble=False, cv=folds))
    model = model.fit(x_train, y_train)
    proba = np.zeros((len(y_test), len(class_names)))
    proba[:, model.classes_] = model.predict_proba(x_test)
    task = "binary" if len(class_names) == 2 else "multiclass"
    report = evaluate(
        y_test, proba[:, 1] if task == "binary" else proba, task=task, class_names=class_names
    )
    return BaselineResult(
        classifier=name,
        params=params,
        selection="validation accuracy"
        if has_val
        else f"{len(folds)}-fold cross-validation on train"
        + (", each group in one fold" if grouped else ""),
        val_accuracy=score,
        n_features=int(x_train.shape[1]),
        report=report,
        y_test=np.asarray(y_test).astype(int),
        test_proba=proba,
    )


def compare_with_network(
    result: BaselineResult,
    y_true: Any,
    network_proba: Any,
    *,
    task: str = "multiclass",
    threshold: float = 0.5,
) -> list[dict[str, Any]] | None:
    """Network (B) against the baseline (A) on the same test clips: accuracy and log loss with a
    95% paired bootstrap interval on each difference (network - baseline); stored in
    ``result.comparison`` and returned as plain dicts.

    Args:
        y_true: ``(n,)`` the network's test labels, in the same split order as the baseline's.
        network_proba: ``(n, C)`` probabilities (``task="binary"``: ``(n,)`` P(positive)).
        task: the network's task, ``"multiclass"`` (also a 2-class softmax) or ``"binary"``.
        threshold: the network's binary decision threshold (the baseline uses 0.5).

    Returns ``None`` (and compares nothing) when the labels are not the baseline's clip for clip,
    e.g. a run that tested only the first batches (``--smoke``).
    """
    from audioconv.evaluation.compare import paired_comparison

    y = np.asarray(y_true).astype(int)
    if y.shape != result.y_test.shape or not np.array_equal(y, result.y_test):
        return None
    baseline = result.test_proba[:, 1] if task == "binary" else result.test_proba
    rows = paired_comparison(y, baseline, network_proba, task=task, thresholds=(0.5, threshold))
    result.comparison = [row.to_dict() for row in rows]
    return result.comparison


def audio_statistics(
    waves: Sequence[torch.Tensor], *, sample_rate: int, n_fft: int, hop_length: int | None,
    n_mels: int,
) -> np.ndarray:  # fmt: skip
    """``(channels, time)`` clips -> ``(n, 120)`` MFCC statistics (20 MFCCs + deltas + delta-
    deltas, mean and standard deviation over frames; channels averaged)."""
    from audioconv.features import MFCC

    mfcc = MFCC(
        n_mfcc=20, deltas=2, sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length,
        n_mels=max(n_mels, 20),
    )  # fmt: skip
    rows = []
    with torch.no_grad():
        for wave in waves:
            coefficients = mfcc(wave.float().mean(dim=0))  # (60, frames)
            rows.append(torch.cat([coefficients.mean(-1), coefficients.std(-1, correction=0)]))
    return torch.stack(rows).numpy().astype(np.float64)


def run_audio_baseline(
    datamodule, *, sample_rate: int, n_fft: int, hop_length: int | None, n_mels: int,
    seed: int = 0,
) -> BaselineResult:  # fmt: skip
    """Fit the baseline on an (set-up) :class:`~audioconv.data.AudioDataModule`'s own splits
    (``datamodule.dataset`` rows ``datamodule.split_indices[split]``)."""
    datamodule.setup("fit")
    dataset = datamodule.dataset
    if dataset is None or dataset.task not in ("binary", "multiclass"):
        raise ConfigError(
            "the classical baseline handles single-label audio classification; pass --no-baseline"
        )
    labels = dataset.targets()
    split_rows = datamodule.split_indices
    groups = dataset.manifest["group"].to_numpy() if "group" in dataset.manifest else None
    if groups is not None and set(groups[split_rows["train"]]) & set(groups[split_rows["test"]]):
        groups = None  # test speakers were heard in training: folds mix groups the same way
    splits = {}
    for name, rows in split_rows.items():
        waves = [dataset.load(int(i)) for i in rows]
        x = (
            audio_statistics(
                waves, sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels
            )
            if waves
            else np.empty((0, 0))
        )
        splits[name] = (x, labels[rows])
    train_groups = None if groups is None else groups[split_rows["train"]]
    return fit_baseline(splits, dataset.class_names, seed=seed, groups=train_groups)
