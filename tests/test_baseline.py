"""The classical baseline: chosen on validation, tested once, shown beside the network in the run's
``report.json`` / ``report.md`` (files on disk -> the recipe command -> the report)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from audioconv.baseline import audio_statistics, compare_with_network, fit_baseline
from audioconv.errors import ConfigError
from audioconv.evaluation import Report
from audioconv.runner import _normalized, load_recipe, parse_recipe, run

pytestmark = pytest.mark.xdist_group("recipes")

RATE = 8000


@pytest.fixture(scope="module")
def digits(tone_digits):
    """FSDD-layout clips of 3 'digits' (distinct tones) by 4 speakers, with a ``splits.csv``."""
    return tone_digits(clips_per_digit=4)


@pytest.fixture(scope="module")
def run_digits(digits, tiny_audio_options):
    """``run_digits(out, *extra)``: a spoken_digits smoke run on ``digits``; returns what it
    printed."""

    def run_one(out, *extra):
        recipe = parse_recipe(
            load_recipe("spoken_digits"),
            ["--data-dir", str(digits), "--output-dir", str(out), *tiny_audio_options, *extra],
        )
        printed = io.StringIO()
        run(recipe, progress=False, out=printed)
        return printed.getvalue()

    return run_one


def test_report_holds_the_baseline_beside_the_model(run_digits, tmp_path):
    printed = run_digits(tmp_path / "run")
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    base = report["baseline"]
    # the tones are separable from MFCC statistics: the baseline gets every test clip right
    assert base["metrics"]["accuracy_score"] == 1.0
    assert base["classifier"] in ("svm", "logistic_regression")
    assert base["selection"] == "validation accuracy" and base["val_accuracy"] == 1.0
    # the same metric names as the model's, on the same 12 clips of the held-out speaker
    assert set(base["metrics"]) == set(report["metrics"])
    assert report["n_samples"] == 12
    markdown = (tmp_path / "run" / "report.md").read_text()
    assert "## Classical baseline (same test split)" in markdown
    assert "| accuracy_score |" in markdown.split("Classical baseline")[1]
    assert "classical baseline (" in printed and "accuracy 1.0000" in printed
    # the network against the baseline on the same 12 test clips, paired: each side's accuracy is
    # the one its own report states, and the difference is network - baseline
    compared = {row["metric"]: row for row in base["comparison"]}
    accuracy = compared["accuracy"]
    assert accuracy["n"] == 12 and accuracy["a"] == 1.0
    assert accuracy["b"] == pytest.approx(report["metrics"]["accuracy_score"])
    assert accuracy["difference"] == pytest.approx(accuracy["b"] - accuracy["a"])
    assert accuracy["ci_low"] <= accuracy["difference"] <= accuracy["ci_high"]
    assert compared["log_loss"]["a"] == pytest.approx(base["metrics"]["log_loss"], rel=1e-4)
    assert compared["log_loss"]["b"] == pytest.approx(report["metrics"]["log_loss"], rel=1e-4)
    assert "The model against the baseline on the same 12 test clips" in markdown
    assert "| accuracy | -" in markdown or "| accuracy | +" in markdown
    assert "model - baseline log_loss" in printed
    # the plots of the run are still there, and the report reloads with the baseline
    assert (tmp_path / "run" / "confusion_matrix.png").is_file()
    header = (tmp_path / "run" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"train/acc", "val/acc", "test/acc"} <= set(header)  # for the learning curves
    assert Report.from_json(tmp_path / "run" / "report.json").baseline == base


def test_no_baseline_leaves_it_out(run_digits, tmp_path):
    run_digits(tmp_path / "run", "--no-baseline")
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert "baseline" not in report
    assert "Classical baseline" not in (tmp_path / "run" / "report.md").read_text()


def test_no_flag_spelling():
    flags = {"baseline", "smoke"}
    assert _normalized(["--no-baseline", "--smoke"], flags) == ["--baseline=false", "--smoke=true"]
    assert _normalized(["--baseline"], flags) == ["--baseline=true"]


def test_choice_is_made_on_validation_not_test():
    """Validation and test disagree on which feature matters: the choice follows validation."""
    rng = np.random.default_rng(0)
    n = 60
    y = np.repeat([0, 1], n // 2)
    signal = np.where(y == 1, 2.0, -2.0)[:, None]
    train = np.hstack([signal, rng.normal(size=(n, 5))]) + rng.normal(scale=0.5, size=(n, 6))
    val = np.hstack([signal, rng.normal(size=(n, 5))])
    test = np.hstack([rng.normal(size=(n, 1)), rng.normal(size=(n, 5))])  # no signal left
    result = fit_baseline({"train": (train, y), "val": (val, y), "test": (test, y)}, ["a", "b"])
    assert result.val_accuracy == 1.0
    assert result.report.metrics["accuracy_score"] < 0.8  # test is scored, never used to choose
    assert result.report.task == "binary" and result.report.n_samples == n


def test_without_validation_cross_validates_on_train():
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1, 2], 20)
    x = rng.normal(size=(60, 4)) + 3 * np.eye(3)[y].repeat(2, axis=1)[:, :4]
    result = fit_baseline({"train": (x, y), "test": (x, y)}, ["a", "b", "c"])
    assert result.selection == "3-fold cross-validation on train"
    assert result.report.metrics["accuracy_score"] > 0.9


def test_cross_validation_keeps_each_speaker_in_one_fold():
    """Each speaker says one class only and carries its own fingerprint (a one-hot column): folds
    that mix a speaker's clips score the fingerprint, folds by speaker score what carries over to
    new speakers (nothing here, so chance)."""
    rng = np.random.default_rng(0)
    speakers = np.repeat(np.arange(12), 10)
    y = speakers % 2
    x = np.eye(12)[speakers] + rng.normal(scale=0.1, size=(120, 12))
    mixed = fit_baseline({"train": (x, y), "test": (x, y)}, ["a", "b"])
    apart = fit_baseline({"train": (x, y), "test": (x, y)}, ["a", "b"], groups=speakers)
    assert mixed.val_accuracy > 0.95
    assert apart.val_accuracy < 0.75
    assert apart.selection == "3-fold cross-validation on train, each group in one fold"
    with pytest.raises(ConfigError, match="groups has 5 entries"):
        fit_baseline({"train": (x, y), "test": (x, y)}, ["a", "b"], groups=speakers[:5])
    # a class only one speaker says: a fold by speaker would train without it, so folds mix
    y[speakers == 0] = 2
    rare = fit_baseline({"train": (x, y), "test": (x, y)}, ["a", "b", "c"], groups=speakers)
    assert rare.selection == "3-fold cross-validation on train"


def test_refuses_an_empty_test_split():
    x, y = np.ones((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(ConfigError, match="--no-baseline"):
        fit_baseline({"train": (x, y), "test": (x[:0], y[:0])}, ["a", "b"])


def test_statistics_use_the_whole_clip():
    """Clips of different lengths give one 120-value row each (mean and std of 60 MFCC rows)."""
    import torch

    waves = [torch.randn(1, 4000), torch.randn(2, 9000)]
    x = audio_statistics(waves, sample_rate=RATE, n_fft=256, hop_length=80, n_mels=32)
    assert x.shape == (2, 120) and np.isfinite(x).all()
    assert (x[:, 60:] >= 0).all()  # standard deviations


def test_a_failing_baseline_leaves_no_finished_report_and_resume_completes_it(
    run_digits, tmp_path, monkeypatch
):
    """report.json is written once, last, inside fit's lock: a crash while the baseline is fitted
    leaves a run that --resume finishes (not one that claims to be complete without it)."""
    from audioconv.runner import AudioRecipe

    original = AudioRecipe.attach_baseline

    def broken(self, datamodule, report, outputs=None):
        raise RuntimeError("baseline crashed")

    monkeypatch.setattr(AudioRecipe, "attach_baseline", broken)
    with pytest.raises(RuntimeError, match="baseline crashed"):
        run_digits(tmp_path / "run")
    assert not (tmp_path / "run" / "report.json").exists()
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
    monkeypatch.setattr(AudioRecipe, "attach_baseline", original)
    run_digits(tmp_path / "run", "--resume")
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["baseline"]["metrics"]["accuracy_score"] == 1.0


def test_compare_with_network_pairs_clip_for_clip_or_not_at_all():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (20, 3)), rng.normal(4, 1, (20, 3))])
    y = np.repeat([0, 1], 20)
    result = fit_baseline({"train": (x, y), "val": (x, y), "test": (x, y)}, ["a", "b"])
    always_wrong = np.where(y == 1, 0.1, 0.9)  # binary: P(positive)
    rows = {r["metric"]: r for r in compare_with_network(result, y, always_wrong, task="binary")}
    assert rows["accuracy"]["b"] == 0.0 and rows["accuracy"]["better"] == "a"
    assert result.to_dict()["comparison"] == list(rows.values())
    # a 2-class softmax network (multiclass head, (n, 2)) pairs the same way
    two_columns = np.stack([1 - always_wrong, always_wrong], axis=1)
    softmax_rows = compare_with_network(result, y, two_columns, task="multiclass")
    assert [r["difference"] for r in softmax_rows] == pytest.approx(
        [r["difference"] for r in rows.values()]
    )
    # other clips (e.g. a run that tested only its first batch): nothing is paired
    assert compare_with_network(result, y[:10], always_wrong[:10], task="binary") is None
    assert compare_with_network(result, y[::-1], always_wrong, task="binary") is None
