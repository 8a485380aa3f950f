"""Report.save / MultiReport.save: every file for each task kind, valid PNGs, learning curves from a
Lightning CSVLogger file, and crash safety (a failing save leaves earlier files intact)."""

from __future__ import annotations

import json

import matplotlib.image
import numpy as np
import pytest

from audioconv._atomic import atomic_path
from audioconv.errors import ConfigError
from audioconv.evaluation import Report, evaluate, evaluate_many
from audioconv.evaluation import plots as eval_plots
from audioconv.evaluation import report as report_module

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SCHEMA_KEYS = {
    "schema_version",
    "task",
    "class_names",
    "n_samples",
    "threshold",
    "level",
    "metrics",
    "confusion_matrix",
    "confusion_matrix_normalized",
    "per_class",
    "curves",
    "notes",
}

# What Lightning's CSVLogger writes: sparse rows, one per logging call, columns sorted.
METRICS_CSV = """epoch,step,train/loss_epoch,train/loss_step,val/accuracy,val/loss
0,0,,0.95,,
0,1,,0.85,,
0,1,,,0.55,0.9
0,1,0.9,,,
1,2,,0.62,,
1,3,,0.58,,
1,3,,,0.7,0.65
1,3,0.6,,,
2,4,,0.41,,
2,5,,0.39,,
2,5,,,0.8,0.5
2,5,0.4,,,
"""


def _inputs(task, rng, n=40):
    if task == "binary":
        return rng.integers(0, 2, n), rng.random(n), ["neg", "pos"]
    if task == "multiclass":
        return rng.integers(0, 3, n), rng.dirichlet(np.ones(3), n), ["Rocket", "Car", "Airplane"]
    if task == "multilabel":
        return rng.integers(0, 2, (n, 3)), rng.random((n, 3)), ["rock", "jazz", "calm"]
    y = rng.normal(size=(n, 2))
    return y, y + 0.2 * rng.normal(size=(n, 2)), ["valence", "arousal"]


EXPECTED_PNGS = {
    "binary": {"confusion_matrix", "roc_curve", "pr_curve"},
    "multiclass": {"confusion_matrix", "roc_curve", "pr_curve"},
    "multilabel": {"confusion_matrix", "roc_curve", "pr_curve"},
    "regression": {"predicted_vs_true", "residuals"},
}


def _assert_valid_png(path):
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE), path
    height, width, _ = matplotlib.image.imread(path).shape
    assert height > 50 and width > 50


def test_report_json_is_written_last_so_a_kill_before_it_leaves_no_finished_run(
    tmp_path, monkeypatch
):
    """A run folder holding report.json counts as finished (resume refuses it), so every other
    file of the report comes first: a crash while writing them leaves no report.json."""
    y, s, names = _inputs("multiclass", np.random.default_rng(0))
    report = evaluate(y, s, task="multiclass", class_names=names)
    written = report.save(tmp_path / "whole")
    assert written[-1].name == "report.json"

    def killed(path, content):
        raise KeyboardInterrupt  # Ctrl-C while the last figure is written

    monkeypatch.setattr(report_module, "atomic_write_bytes", killed)
    with pytest.raises(KeyboardInterrupt):
        report.save(tmp_path / "killed")
    assert not (tmp_path / "killed" / "report.json").exists()


@pytest.mark.parametrize("task", sorted(EXPECTED_PNGS))
def test_save_writes_every_file(tmp_path, task):
    y, s, names = _inputs(task, np.random.default_rng(0))
    csv = tmp_path / "metrics.csv"
    csv.write_text(METRICS_CSV)
    report = evaluate(y, s, task=task, class_names=names)
    written = report.save(tmp_path / "run", metrics_csv=csv)
    expected = {"report.json", "report.md"} | {
        f"{n}.png" for n in EXPECTED_PNGS[task] | {"learning_curves"}
    }
    assert {p.name for p in written} == expected
    assert {p.name for p in (tmp_path / "run").iterdir()} == expected  # no temp files left
    for path in written:
        if path.suffix == ".png":
            _assert_valid_png(path)
    data = json.loads((tmp_path / "run" / "report.json").read_text())
    assert set(data) == SCHEMA_KEYS
    assert data["class_names"] == names and data["n_samples"] == 40
    assert all(isinstance(v, float) or v is None for v in data["metrics"].values())
    if task == "regression":
        assert data["confusion_matrix"] is None
    else:
        c = len(names)
        shape = (c, 2, 2) if task == "multilabel" else (c, c)
        assert np.asarray(data["confusion_matrix"]).shape == shape
        assert np.asarray(data["confusion_matrix"]).sum() == (
            40 * c if task == "multilabel" else 40
        )
    md = (tmp_path / "run" / "report.md").read_text()
    assert md.startswith(f"# Evaluation report ({task})") and names[0] in md


def test_prefix_names_every_file(tmp_path):
    y, s, names = _inputs("binary", np.random.default_rng(1))
    written = evaluate(y, s, task="binary").save(tmp_path, prefix="test_")
    assert all(p.name.startswith("test_") for p in written) and len(written) == 5


def test_learning_curves_table_groups_by_epoch(tmp_path):
    csv = tmp_path / "metrics.csv"
    csv.write_text(METRICS_CSV)
    table = eval_plots.learning_curves_table(csv)
    assert list(table.index) == [0, 1, 2]
    np.testing.assert_allclose(table["val/loss"], [0.9, 0.65, 0.5])
    np.testing.assert_allclose(table["train/loss_step"], [0.9, 0.6, 0.4])  # per-epoch means
    groups = eval_plots._metric_groups(list(table.columns))
    assert groups == {"loss": ["train/loss_epoch", "val/loss"], "accuracy": ["val/accuracy"]}


def test_learning_curves_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        eval_plots.learning_curves_table(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("step,loss\n0,1.0\n")
    with pytest.raises(ConfigError, match="no 'epoch' column"):
        eval_plots.learning_curves_table(bad)


def test_multireport_save_writes_sections_and_per_head_pngs(tmp_path):
    rng = np.random.default_rng(2)
    heads = {
        name: (*_inputs(task, rng)[:2], task)
        for name, task in [("genre", "multilabel"), ("tempo", "regression")]
    }
    written = evaluate_many(heads).save(tmp_path)
    names = {p.name for p in written}
    assert {"genre_confusion_matrix.png", "genre_roc_curve.png", "tempo_residuals.png"} <= names
    md = (tmp_path / "report.md").read_text()
    assert "## genre (multilabel)" in md and "## tempo (regression)" in md
    data = json.loads((tmp_path / "report.json").read_text())
    assert set(data["heads"]["tempo"]) == SCHEMA_KEYS


def test_many_classes_and_single_class_still_plot(tmp_path):
    rng = np.random.default_rng(3)
    many = evaluate(rng.integers(0, 21, 60), rng.dirichlet(np.ones(21), 60), task="multiclass")
    for path in many.save(tmp_path / "many"):
        if path.suffix == ".png":
            _assert_valid_png(path)
    single = evaluate(np.ones(10, int), rng.random(10), task="binary")
    for path in single.save(tmp_path / "single"):
        if path.suffix == ".png":
            _assert_valid_png(path)


def test_failed_render_leaves_earlier_files_intact(tmp_path):
    rng = np.random.default_rng(4)
    first = evaluate(*_inputs("multiclass", rng)[:2], task="multiclass")
    first.save(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    second = evaluate(*_inputs("multiclass", rng)[:2], task="multiclass")
    with pytest.raises(ConfigError):
        second.save(tmp_path, metrics_csv=tmp_path / "missing.csv")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_failed_write_leaves_earlier_files_intact(tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    evaluate(*_inputs("binary", rng)[:2], task="binary").save(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def crash_mid_png(path, data):
        with atomic_path(path) as tmp:
            tmp.write_bytes(data[: len(data) // 2])
            raise OSError("disk full")

    monkeypatch.setattr(report_module, "atomic_write_bytes", crash_mid_png)
    second = evaluate(*_inputs("binary", rng)[:2], task="binary")
    with pytest.raises(OSError, match="disk full"):
        second.save(tmp_path)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(after) == set(before)  # no half-written temp files
    assert after["confusion_matrix.png"] == before["confusion_matrix.png"]
    assert after["roc_curve.png"] == before["roc_curve.png"]
    # The text files written before the crash are complete, loadable reports of the new data.
    assert Report.from_json(tmp_path / "report.json").n_samples == 40
