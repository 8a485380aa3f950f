"""audioconv.evaluation metrics: cross-checked against scikit-learn, the course's worked examples,
input validation, degenerate cases, JSON round trips and report comparison."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

from audioconv.errors import ConfigError
from audioconv.evaluation import (
    MultiReport,
    Report,
    evaluate,
    evaluate_many,
    report_differences,
    reports_equal,
)

SEEDS = range(5)
ATOL = 1e-9


def _close(actual: float, expected: float) -> None:
    assert actual == pytest.approx(expected, abs=ATOL, rel=0), (actual, expected)


def _specificities(y_true, y_pred, n_classes):
    """Per-class TN / (TN + FP) as the recall of 'not class c', by scikit-learn."""
    return np.array(
        [
            skm.recall_score(np.asarray(y_true) != c, np.asarray(y_pred) != c, zero_division=0)
            for c in range(n_classes)
        ]
    )


def _check_averaged(report, y_true, y_pred, n_classes, support):
    labels = list(range(n_classes))
    for average in ("macro", "micro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=average, zero_division=0
        )
        _close(report.metrics[f"precision_{average}_score"], p)
        _close(report.metrics[f"recall_{average}_score"], r)
        _close(report.metrics[f"f1_{average}_score"], f)
    p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    np.testing.assert_allclose(report.per_class["precision"], p, atol=ATOL)
    np.testing.assert_allclose(report.per_class["recall"], r, atol=ATOL)
    np.testing.assert_allclose(report.per_class["f1"], f, atol=ATOL)
    np.testing.assert_array_equal(report.per_class["support"], s)
    np.testing.assert_array_equal(report.per_class["support"], support)


def _check_specificity(report, spec, support):
    np.testing.assert_allclose(report.per_class["specificity"], spec, atol=ATOL)
    np.testing.assert_allclose(report.per_class["fpr"], 1 - spec, atol=ATOL)
    _close(report.metrics["specificity_macro_score"], spec.mean())
    _close(report.metrics["fpr_macro_error"], 1 - spec.mean())
    _close(report.metrics["specificity_weighted_score"], np.average(spec, weights=support))
    tn, fp = report.per_class["tn"].sum(), report.per_class["fp"].sum()
    _close(report.metrics["specificity_micro_score"], tn / (tn + fp))


@pytest.mark.parametrize("seed", SEEDS)
def test_binary_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 80)
    p = rng.random(80)
    r = evaluate(y, p, task="binary", threshold=0.4)
    pred = (p > 0.4).astype(int)
    _close(r.metrics["accuracy_score"], skm.accuracy_score(y, pred))
    _close(r.metrics["balanced_accuracy_score"], skm.balanced_accuracy_score(y, pred))
    _close(r.metrics["precision_score"], skm.precision_score(y, pred, zero_division=0))
    _close(r.metrics["recall_score"], skm.recall_score(y, pred))
    _close(r.metrics["f1_score"], skm.f1_score(y, pred))
    specificity = skm.recall_score(y, pred, pos_label=0)
    _close(r.metrics["specificity_score"], specificity)
    tn, fp, fn, tp = skm.confusion_matrix(y, pred).ravel()
    _close(r.metrics["fpr_error"], fp / (fp + tn))
    assert (r.per_class.loc["1", ["tp", "fn", "fp", "tn"]].tolist()) == [tp, fn, fp, tn]
    _close(r.metrics["roc_auc_score"], skm.roc_auc_score(y, p))
    _close(r.metrics["average_precision_score"], skm.average_precision_score(y, p))
    _close(r.metrics["log_loss"], skm.log_loss(y, p))
    np.testing.assert_array_equal(r.confusion_matrix, skm.confusion_matrix(y, pred))
    _check_averaged(r, y, pred, 2, np.bincount(y, minlength=2))
    _check_specificity(r, _specificities(y, pred, 2), np.bincount(y, minlength=2))
    # (n, 2) probabilities give the same report as (n,) P(positive).
    assert reports_equal(r, evaluate(y, np.stack([1 - p, p], 1), task="binary", threshold=0.4))


@pytest.mark.parametrize("seed", SEEDS)
def test_multiclass_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    n, c = 90, 4
    y = rng.integers(0, c, n)
    s = rng.dirichlet(np.ones(c), n)
    s[np.arange(n), y] += rng.random(n)  # (n, C): informative but imperfect scores
    s /= s.sum(1, keepdims=True)
    assert set(y) == set(range(c))
    r = evaluate(y, s, task="multiclass")
    pred = s.argmax(1)
    _close(r.metrics["accuracy_score"], skm.accuracy_score(y, pred))
    _close(r.metrics["balanced_accuracy_score"], skm.balanced_accuracy_score(y, pred))
    _close(r.metrics["log_loss"], skm.log_loss(y, s))
    onehot = label_binarize(y, classes=range(c))
    for average in ("macro", "micro"):
        _close(
            r.metrics[f"roc_auc_{average}_score"],
            skm.roc_auc_score(y, s, multi_class="ovr", average=average),
        )
        _close(
            r.metrics[f"average_precision_{average}_score"],
            skm.average_precision_score(onehot, s, average=average),
        )
    np.testing.assert_allclose(
        r.per_class["auc"], skm.roc_auc_score(onehot, s, average=None), atol=ATOL
    )
    np.testing.assert_allclose(
        r.per_class["ap"], skm.average_precision_score(onehot, s, average=None), atol=ATOL
    )
    cm = skm.confusion_matrix(y, pred)
    np.testing.assert_array_equal(r.confusion_matrix, cm)
    np.testing.assert_allclose(
        r.confusion_matrix_normalized, skm.confusion_matrix(y, pred, normalize="true"), atol=ATOL
    )
    support = np.bincount(y, minlength=c)
    _check_averaged(r, y, pred, c, support)
    _check_specificity(r, _specificities(y, pred, c), support)
    # The stored ROC points integrate to the per-class AUC.
    for name, auc in r.per_class["auc"].items():
        curve = r.curves["roc"][name]
        _close(skm.auc(curve["fpr"], curve["tpr"]), auc)
    micro = r.curves["roc_micro"]
    _close(skm.auc(micro["fpr"], micro["tpr"]), r.metrics["roc_auc_micro_score"])
    # One-hot targets give the same report as integer labels.
    assert reports_equal(r, evaluate(onehot, s, task="multiclass"))


@pytest.mark.parametrize("seed", SEEDS)
def test_multilabel_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    n, c = 70, 5
    y = rng.integers(0, 2, (n, c))
    s = np.clip(0.4 * y + 0.7 * rng.random((n, c)), 0, 1)
    r = evaluate(y, s, task="multilabel")
    pred = (s > 0.5).astype(int)
    _close(r.metrics["subset_accuracy_score"], skm.accuracy_score(y, pred))
    _close(r.metrics["accuracy_score"], skm.accuracy_score(y, pred))
    _close(r.metrics["hamming_loss"], skm.hamming_loss(y, pred))
    for average in ("macro", "micro"):
        _close(r.metrics[f"roc_auc_{average}_score"], skm.roc_auc_score(y, s, average=average))
        _close(
            r.metrics[f"average_precision_{average}_score"],
            skm.average_precision_score(y, s, average=average),
        )
    mean_bce = np.mean([skm.log_loss(y[:, j], s[:, j], labels=[0, 1]) for j in range(c)])
    _close(r.metrics["log_loss"], mean_bce)
    np.testing.assert_array_equal(r.confusion_matrix, skm.multilabel_confusion_matrix(y, pred))
    support = y.sum(0)
    _check_averaged(r, y, pred, c, support)
    spec = np.array([skm.recall_score(1 - y[:, j], 1 - pred[:, j]) for j in range(c)])
    _check_specificity(r, spec, support)
    assert "balanced_accuracy_score" not in r.metrics


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("k", [1, 3])
def test_regression_matches_sklearn(seed, k):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(50, k)).squeeze()
    pred = y + 0.3 * rng.normal(size=y.shape)
    r = evaluate(y, pred, task="regression")
    _close(r.metrics["mean_squared_error"], skm.mean_squared_error(y, pred))
    _close(r.metrics["root_mean_squared_error"], skm.root_mean_squared_error(y, pred))
    _close(r.metrics["mean_absolute_error"], skm.mean_absolute_error(y, pred))
    _close(r.metrics["r2_score"], skm.r2_score(y, pred))
    raw = skm.r2_score(y, pred, multioutput="raw_values")
    np.testing.assert_allclose(r.per_class["r2"], raw, atol=ATOL)
    assert r.confusion_matrix is None
    assert list(r.per_class.index) == (["y"] if k == 1 else ["y0", "y1", "y2"])


# The course's worked examples -------------------------------------------------------------------

COURSE_CM = np.array([[15, 3, 8], [4, 23, 1], [9, 2, 19]])  # rows = target, columns = predicted
COURSE_NAMES = ["Rocket", "Car", "Airplane"]


def test_course_confusion_matrix_rocket():
    pairs = [(t, p) for (t, p), count in np.ndenumerate(COURSE_CM) for _ in range(count)]
    y_true, y_pred = np.array(pairs).T
    y_score = np.eye(3)[y_pred]  # (n,) predictions -> (n, 3) one-hot probabilities
    r = evaluate(y_true, y_score, task="multiclass", class_names=COURSE_NAMES)
    np.testing.assert_array_equal(r.confusion_matrix, COURSE_CM)
    rocket = r.per_class.loc["Rocket"]
    # TN = 84 - 26 - 13 = 45 (the slide's "23+19+1+2=42" is an arithmetic slip).
    assert (rocket["tp"], rocket["fn"], rocket["fp"], rocket["tn"]) == (15, 11, 13, 45)
    _close(rocket["recall"], 15 / 26)
    _close(rocket["precision"], 15 / 28)
    _close(rocket["specificity"], 45 / 58)
    _close(rocket["fpr"], 13 / 58)  # FP / (FP + TN), not the slide's FP / (FP + FN)
    _close(r.metrics["accuracy_score"], (15 + 23 + 19) / 84)
    assert r.n_samples == 84


def test_course_cross_entropy():
    probs = [[0.1, 0.1, 0.8], [0.3, 0.4, 0.3], [0.3, 0.3, 0.4]]
    r = evaluate(np.eye(3), probs, task="multiclass")
    _close(r.metrics["log_loss"], -(math.log(0.1) + math.log(0.4) + math.log(0.4)) / 3)
    assert r.metrics["log_loss"] == pytest.approx(1.378, abs=5e-4)
    _close(r.metrics["accuracy_score"], 2 / 3)


# Degenerate cases and conventions ---------------------------------------------------------------


def test_absent_class_gives_null_auc_and_a_note(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40)  # class 2 never occurs
    s = rng.dirichlet(np.ones(3), 40)
    r = evaluate(y, s, task="multiclass", class_names=["a", "b", "c"])
    assert math.isnan(r.per_class.loc["c", "auc"]) and math.isnan(r.per_class.loc["c", "ap"])
    assert any("'c'" in note for note in r.notes)
    onehot = label_binarize(y, classes=range(3))[:, :2]
    expected = np.mean([skm.roc_auc_score(onehot[:, j], s[:, j]) for j in range(2)])
    _close(r.metrics["roc_auc_macro_score"], expected)
    data = r.to_dict()
    assert data["per_class"]["c"]["auc"] is None
    json.dumps(data, allow_nan=False)


def test_single_class_binary_has_undefined_auc_not_a_crash():
    r = evaluate([1, 1, 1, 1], [0.9, 0.2, 0.7, 0.6], task="binary")
    assert math.isnan(r.metrics["roc_auc_score"])
    _close(r.metrics["average_precision_score"], 1.0)
    assert r.to_dict()["metrics"]["roc_auc_score"] is None
    assert r.notes


def test_zero_division_is_zero():
    # Class 2 is never predicted and never present: its precision, recall and F1 are 0.
    r = evaluate([0, 1, 0, 1], np.eye(3)[[0, 1, 1, 1]], task="multiclass")
    assert r.per_class.loc["2", ["precision", "recall", "f1"]].tolist() == [0.0, 0.0, 0.0]
    _close(r.per_class.loc["0", "precision"], 1.0)
    _close(r.per_class.loc["1", "precision"], 2 / 3)


def test_sample_order_does_not_matter():
    rng = np.random.default_rng(3)
    y, s = rng.integers(0, 3, 60), rng.dirichlet(np.ones(3), 60)
    perm = rng.permutation(60)
    assert reports_equal(
        evaluate(y, s, task="multiclass"), evaluate(y[perm], s[perm], task="multiclass")
    )


def test_torch_tensors_are_accepted():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    y, s = rng.integers(0, 3, 30), rng.dirichlet(np.ones(3), 30)
    logits = torch.tensor(np.log(s), requires_grad=True)
    probs = torch.softmax(logits.float(), dim=1)  # float32 with grad: rows sum to 1 +- 1e-7
    r = evaluate(torch.tensor(y), probs, task="multiclass")
    assert reports_equal(r, evaluate(y, s, task="multiclass"), atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"y_true": [0, 1], "y_score": [0.2, 0.7], "task": "ranking"}, "task='ranking'"),
        ({"y_true": [0, 1], "y_score": [0.2, 0.7], "task": "binary", "threshold": 2}, "threshold"),
        ({"y_true": [0, 1, 1], "y_score": [0.2, 0.7], "task": "binary"}, r"\(3,\).*\(2,\)"),
        ({"y_true": [0, 2], "y_score": [0.2, 0.7], "task": "binary"}, "only 0 and 1"),
        ({"y_true": [0, 1], "y_score": [-1.5, 2.0], "task": "binary"}, "logits.*sigmoid"),
        ({"y_true": [0, 1], "y_score": [[2.0, -1.0], [0.5, 3.0]], "task": "multiclass"}, "softmax"),
        ({"y_true": [0, 1], "y_score": [[0.5, 0.2], [0.5, 0.2]], "task": "multiclass"}, "sums to"),
        ({"y_true": [0, 3], "y_score": np.eye(3)[[0, 1]], "task": "multiclass"}, r"\[0, 2\]"),
        ({"y_true": [[1, 1, 0]], "y_score": [[0.5, 0.5, 0]], "task": "multiclass"}, "one-hot"),
        ({"y_true": [[1, 0]], "y_score": [[0.5, 0.5, 0.1]], "task": "multilabel"}, r"\(1, 2\)"),
        ({"y_true": [0, 1], "y_score": [[0.1], [0.2]], "task": "multiclass"}, "C >= 2"),
        ({"y_true": [1.0, 2.0], "y_score": [1.0, float("nan")], "task": "regression"}, "NaN"),
        ({"y_true": [[1.0, 2.0]], "y_score": [[1.0, 2.0, 3.0]], "task": "regression"}, "same"),
        ({"y_true": [], "y_score": [], "task": "binary"}, "at least one"),
        (
            {"y_true": [0, 1], "y_score": [0.1, 0.9], "task": "binary", "class_names": ["a"]},
            "pass 2 names",
        ),
        (
            {"y_true": [0, 1], "y_score": [0.1, 0.9], "task": "binary", "class_names": ["a", "a"]},
            "duplicates",
        ),
    ],
)
def test_bad_inputs_raise_config_error(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        evaluate(kwargs.pop("y_true"), kwargs.pop("y_score"), **kwargs)


# Serialisation and comparison ------------------------------------------------------------------


def _reports():
    rng = np.random.default_rng(7)
    y_ml = rng.integers(0, 2, (30, 3))
    y_ml[:, 2] = 0  # an undefined label: NaN values must survive the round trip
    return {
        "binary": evaluate(rng.integers(0, 2, 30), rng.random(30), task="binary"),
        "multiclass": evaluate(
            rng.integers(0, 3, 30), rng.dirichlet(np.ones(3), 30), task="multiclass"
        ),
        "multilabel": evaluate(y_ml, rng.random((30, 3)), task="multilabel"),
        "regression": evaluate(
            rng.normal(size=(30, 2)), rng.normal(size=(30, 2)), task="regression"
        ),
    }


@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "regression"])
def test_json_round_trip(tmp_path, task):
    report = _reports()[task]
    report.save(tmp_path)
    loaded = Report.from_json(tmp_path / "report.json")
    assert reports_equal(report, loaded, atol=0)
    assert list(loaded.per_class.columns) == list(report.per_class.columns)
    data = json.loads((tmp_path / "report.json").read_text())
    assert {"task", "class_names", "n_samples", "metrics", "confusion_matrix"} <= set(data)
    assert data["task"] == task and data["n_samples"] == 30


def test_report_differences_names_what_differs():
    rng = np.random.default_rng(0)
    y, s = rng.integers(0, 2, 40), rng.random(40)
    a = evaluate(y, s, task="binary")
    b = evaluate(y, np.clip(s + 1e-6, 0, 1), task="binary")
    assert reports_equal(a, b, atol=1e-3)
    diffs = report_differences(a, b, atol=1e-12)
    assert any(d.startswith("/metrics/log_loss") for d in diffs)
    assert not reports_equal(a, evaluate(y, s, task="binary", threshold=0.3))


def test_evaluate_many_and_multireport_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    multi = evaluate_many(
        {
            "digit": (rng.integers(0, 3, 25), rng.dirichlet(np.ones(3), 25), "multiclass"),
            "speaker": (rng.integers(0, 2, 25), rng.random(25), "binary", ["jo", "ann"]),
        }
    )
    assert multi.heads["speaker"].class_names == ["jo", "ann"]
    multi.save(tmp_path)
    data = json.loads((tmp_path / "report.json").read_text())
    assert set(data["heads"]) == {"digit", "speaker"}
    assert data["heads"]["digit"]["task"] == "multiclass"
    assert reports_equal(multi, MultiReport.from_json(tmp_path / "report.json"), atol=0)
    with pytest.raises(ConfigError, match="MultiReport"):
        Report.from_json(tmp_path / "report.json")
    with pytest.raises(ConfigError, match="head name"):
        evaluate_many({"a/b": ([0, 1], [0.1, 0.9], "binary")})


def test_summary_and_markdown_mention_the_numbers():
    r = _reports()["multiclass"]
    text = r.summary()
    assert f"{r.metrics['accuracy_score']:.4f}" in text and "log_loss" in text
    md = r.to_markdown()
    assert "| metric | value |" in md and "| true \\ predicted | 0 | 1 | 2 |" in md
    assert f"| log_loss | {r.metrics['log_loss']:.4f} |" in md


def test_import_does_not_import_torch():
    code = (
        "import sys, audioconv.evaluation\n"
        "bad = [m for m in ('torch', 'lightning') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
