"""The metric registry: one decorated function adds a metric to every report of its tasks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from audioconv.errors import ConfigError
from audioconv.evaluation import evaluate, list_metrics, register_metric
from audioconv.evaluation import metrics as M


@pytest.fixture
def scratch_registry(monkeypatch):
    """Registrations made in a test are dropped afterwards."""
    monkeypatch.setattr(M, "_METRICS", dict(M._METRICS))


def test_a_registered_metric_reaches_report_json_and_the_summary(scratch_registry, tmp_path):
    @register_metric("predicted_positive_rate_score", tasks=("binary",), summary=True)
    def predicted_positive_rate(scored):
        return float(scored.y_pred.mean())

    y_true, y_score = [0, 0, 1, 1, 1], [0.1, 0.7, 0.8, 0.4, 0.9]
    report = evaluate(y_true, y_score, task="binary")
    assert report.metrics["predicted_positive_rate_score"] == pytest.approx(3 / 5)
    assert "predicted_positive_rate_score" in report.summary()
    report.save(tmp_path, figures=False)
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["metrics"]["predicted_positive_rate_score"] == pytest.approx(0.6)
    # only the tasks it names
    multiclass = evaluate([0, 1], [[0.9, 0.1], [0.2, 0.8]], task="multiclass")
    assert "predicted_positive_rate_score" not in multiclass.metrics


def test_every_registered_metric_of_a_task_is_in_its_report():
    rng = np.random.default_rng(0)
    cases = {
        "binary": (rng.integers(0, 2, 40), rng.random(40)),
        "multiclass": (rng.integers(0, 3, 40), rng.dirichlet(np.ones(3), 40)),
        "multilabel": (rng.integers(0, 2, (40, 3)), rng.random((40, 3))),
        "regression": (rng.random(40), rng.random(40)),
    }
    for task, (y_true, y_score) in cases.items():
        report = evaluate(y_true, y_score, task=task)
        assert list(report.metrics) == list_metrics(task), task
        assert all(np.isfinite(v) for v in report.metrics.values()), task
        builtin = M.REGRESSION_COLUMNS if task == "regression" else M.CLASS_COLUMNS
        extra = list_metrics(task, per_class=True)
        assert list(report.per_class.columns) == [*builtin, *extra], task


def test_a_registered_per_class_metric_is_a_column_of_the_per_class_table(
    scratch_registry, tmp_path
):
    """A per-class metric needs no edit of CLASS_COLUMNS: one decorated function adds a column
    to report.per_class, report.json, report.md and (summary=True) the text summary."""

    @register_metric("predicted", tasks=("multiclass",), summary=True, per_class=True)
    def predicted(scored):  # how often each class is predicted
        return np.bincount(scored.y_pred, minlength=len(scored.labels))

    @register_metric("false_discovery_rate_macro_error", tasks=("multiclass",))
    def fdr(scored):  # a scalar metric reading a registered column
        table = scored.per_class
        return float(np.mean(1 - table["tp"] / table["predicted"].clip(lower=1)))

    y_true = [0, 1, 2, 2, 1]
    y_score = [[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.1, 0.2, 0.7], [0.2, 0.2, 0.6], [0.1, 0.8, 0.1]]
    report = evaluate(y_true, y_score, task="multiclass")
    assert list(report.per_class.columns) == [*M.CLASS_COLUMNS, "predicted"]
    assert report.per_class["predicted"].tolist() == [2, 1, 2]
    assert "predicted" not in report.metrics
    assert report.metrics["false_discovery_rate_macro_error"] == pytest.approx(0.5 / 3)
    assert "predicted" in report.summary() and "| predicted |" in report.to_markdown()
    report.save(tmp_path, figures=False)
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["per_class"]["2"]["predicted"] == 2
    loaded = type(report).from_json(tmp_path / "report.json")
    assert loaded.per_class["predicted"].tolist() == [2, 1, 2]
    assert "predicted" not in evaluate([0, 1], [0.2, 0.7], task="binary").per_class.columns


def test_bad_per_class_metrics_are_refused(scratch_registry):
    with pytest.raises(ConfigError, match="built-in per-class column"):
        register_metric("auc", tasks=("binary",), per_class=True)
    register_metric("scalar_by_mistake", tasks=("binary",), per_class=True)(lambda s: 0.5)
    with pytest.raises(ConfigError, match=r"scalar_by_mistake.*one number per class, shape \(2,\)"):
        evaluate([0, 1], [0.2, 0.7], task="binary")


def test_bad_registrations_are_refused(scratch_registry):
    with pytest.raises(ConfigError, match="use some of"):
        register_metric("x_score", tasks=("ranking",))
    with pytest.raises(ConfigError, match="already registered"):
        register_metric("accuracy_score", tasks=("binary",))(lambda scored: 0.0)
