"""``audioconv compare RUN_A RUN_B``: two runs scored on the same clips, with a paired bootstrap
interval on each difference; the numbers match what each run's report promised."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, log_loss

from audioconv.cli import main
from audioconv.errors import ConfigError
from audioconv.evaluation.compare import paired_comparison

pytestmark = pytest.mark.xdist_group("recipes")


def _probabilities(y, correct_rate, rng, k=3):
    """``(n, k)`` probabilities whose argmax is right for a ``correct_rate`` share of ``y``."""
    n = len(y)
    proba = rng.dirichlet(np.ones(k), n) * 0.3
    right = rng.random(n) < correct_rate
    top = np.where(right, y, (y + 1) % k)
    proba[np.arange(n), top] += 1.0
    return proba / proba.sum(axis=1, keepdims=True)


def test_identical_models_differ_by_nothing():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 50)
    proba = _probabilities(y, 0.7, rng)
    for row in paired_comparison(y, proba, proba, task="multiclass"):
        assert row.difference == 0 and row.ci_low == row.ci_high == 0 and row.better == "neither"


def test_a_clearly_better_model_is_found_and_matches_sklearn():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 400)
    weak, strong = _probabilities(y, 0.5, rng), _probabilities(y, 0.95, rng)
    acc, nll = paired_comparison(y, weak, strong, task="multiclass")
    assert acc.a == pytest.approx(accuracy_score(y, weak.argmax(1)))
    assert acc.b == pytest.approx(accuracy_score(y, strong.argmax(1)))
    assert nll.a == pytest.approx(log_loss(y, weak, labels=[0, 1, 2]))
    assert 0 < acc.ci_low < acc.difference < acc.ci_high and acc.better == "b"
    assert nll.ci_low < nll.difference < nll.ci_high < 0 and nll.better == "b"  # lower is better
    swapped = paired_comparison(y, strong, weak, task="multiclass")
    assert [r.better for r in swapped] == ["a", "a"]


def test_pairing_is_tighter_than_two_separate_intervals():
    """Both models fail on the same hard examples: unpaired noise is large, the paired one small."""
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 300)
    base = _probabilities(y, 0.6, rng)
    better = base.copy()
    fixed = (base.argmax(1) != y) & (rng.random(300) < 0.2)  # B fixes a fifth of A's errors
    better[fixed] = np.eye(3)[y[fixed]] * 0.9 + 0.1 / 3
    acc = paired_comparison(y, base, better, task="multiclass")[0]
    separate = 2 * 1.96 * np.sqrt(acc.a * (1 - acc.a) / len(y))  # one model's interval width
    assert acc.better == "b" and (acc.ci_high - acc.ci_low) < separate


def test_binary_uses_each_models_threshold():
    y = np.array([0, 0, 1, 1, 1, 0])
    p = np.array([0.1, 0.4, 0.45, 0.8, 0.9, 0.2])  # P(positive); 0.45 is right only below 0.45
    acc, nll = paired_comparison(y, p, p, task="binary", thresholds=(0.5, 0.42))
    assert (acc.a, acc.b) == (pytest.approx(5 / 6), pytest.approx(1.0))
    assert nll.a == nll.b == pytest.approx(log_loss(y, p))  # the threshold does not move it


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "multilabel"}, "single-label"),
        ({"task": "multiclass", "proba_b": np.ones((3, 3)) / 3}, "proba_b: shape (3, 3)"),
        ({"task": "multiclass", "y_true": [0, 5, 1, 2]}, "outside 0..2"),
        ({"task": "multiclass", "confidence": 1.5}, "confidence=1.5"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs, message):
    args = {"y_true": [0, 1, 2, 1], "proba_a": np.eye(3)[[0, 1, 2, 1]],
            "proba_b": np.eye(3)[[0, 1, 1, 1]]}  # fmt: skip
    args.update(kwargs)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        paired_comparison(args.pop("y_true"), args.pop("proba_a"), args.pop("proba_b"), **args)


# -- the command, the way a user goes: two run folders -> audioconv compare -> the numbers ------


@pytest.fixture(scope="module")
def two_runs(tone_digits, tiny_audio_options, tmp_path_factory):
    """Two spoken_digits runs (1 and 3 epochs) on one split of the tone digits."""
    data = tone_digits(clips_per_digit=4)
    root = tmp_path_factory.mktemp("compare")
    options = [o for o in tiny_audio_options if o != "--smoke"] + ["--no-baseline"]
    runs = {}
    for name, epochs in (("a", 1), ("b", 3)):
        runs[name] = root / name
        argv = ["fit", "spoken_digits", "--data-dir", str(data), *options,
                "--max-epochs", str(epochs), "--output-dir", str(runs[name])]  # fmt: skip
        assert main(argv) == 0
    return runs


def test_compare_on_test_matches_each_runs_report(two_runs, tmp_path, capsys):
    out = tmp_path / "comparison.json"
    argv = ["compare", str(two_runs["a"]), str(two_runs["b"]), "--split", "test", "--quiet",
            "--output", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "split 'test': 12 clips" in printed and "95% interval" in printed
    record = json.loads(out.read_text())
    rows = {r["metric"]: r for r in record["metrics"]}
    for side in ("a", "b"):
        report = json.loads((two_runs[side] / "report.json").read_text())
        assert report["n_samples"] == rows["accuracy"]["n"] == 12
        assert rows["accuracy"][side] == pytest.approx(report["metrics"]["accuracy_score"])
        assert rows["log_loss"][side] == pytest.approx(report["metrics"]["log_loss"], abs=1e-4)
    accuracy = rows["accuracy"]
    assert accuracy["ci_low"] <= accuracy["difference"] <= accuracy["ci_high"]


def test_pairs_pool_their_clips(two_runs, tmp_path, capsys):
    """Two pairs (as seeds 0 and 1 of two configurations would be) pool into one comparison."""
    a, b = str(two_runs["a"]), str(two_runs["b"])
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    assert main(["compare", a, b, "--quiet", "--output", str(one)]) == 0
    assert main(["compare", a, b, b, a, "--quiet", "--output", str(two)]) == 0
    printed = capsys.readouterr().out
    single, pooled = json.loads(one.read_text()), json.loads(two.read_text())
    n = single["metrics"][0]["n"]
    assert f"2 pairs pooled: {2 * n} clips" in printed and f"pair A = {b}, B = {a}" in printed
    assert [p["run_a"] for p in pooled["pairs"]] == [a, b]
    for s_row, p_row, first, second in zip(
        single["metrics"], pooled["metrics"], *(p["metrics"] for p in pooled["pairs"])
    ):
        assert p_row["n"] == 2 * n and first == s_row
        assert second["difference"] == pytest.approx(-s_row["difference"])
        # A's pooled score is the mean of A's scores over both pairs' clips; the swapped pair
        # cancels the first, so the pooled difference is 0
        assert p_row["a"] == pytest.approx((s_row["a"] + s_row["b"]) / 2)
        assert p_row["difference"] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(SystemExit):
        main(["compare", a, b, a, "--quiet"])
    assert "pairs of run folders (RUN_A RUN_B [RUN_A RUN_B ...]), got 3" in capsys.readouterr().err


def test_compare_defaults_to_validation(two_runs, capsys):
    assert main(["compare", str(two_runs["a"]), str(two_runs["b"]), "--quiet"]) == 0
    splits = pd.read_csv(two_runs["a"] / "splits.csv")
    assert f"split 'val': {(splits['split'] == 'val').sum()} clips" in capsys.readouterr().out


def test_runs_on_different_clips_are_refused_with_the_fix(two_runs, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(two_runs["b"], other)
    splits = pd.read_csv(other / "splits.csv")
    splits.loc[splits.index[splits["split"] == "val"][0], "split"] = "train"
    splits.to_csv(other / "splits.csv", index=False)
    with pytest.raises(SystemExit):
        main(["compare", str(two_runs["a"]), str(other), "--quiet"])
    err = capsys.readouterr().err
    assert "hold different clips in split 'val'" in err
    assert f"--split-file {two_runs['a'] / 'splits.csv'}" in err


def test_a_folder_that_is_not_a_run_is_named(two_runs, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["compare", str(tmp_path), str(two_runs["b"]), "--quiet"])
    assert f"{tmp_path}: no splits.csv" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["compare", str(two_runs["a"]), str(two_runs["b"]), "--split", "dev", "--quiet"])
    assert "no clip in split 'dev' (it has: test, train, val)" in capsys.readouterr().err


@pytest.fixture(scope="module")
def two_series_runs(tmp_path_factory):
    """Two UCR GunPoint runs (series: no files to predict again), 1 and 3 epochs."""
    root = tmp_path_factory.mktemp("compare_series")
    runs = {}
    for name, epochs in (("a", 1), ("b", 3)):
        runs[name] = root / name
        argv = ["fit", "ucr", "--dataset", "GunPoint", "--model", "fcn", "--members", "1",
                "--max-epochs", str(epochs), "--output-dir", str(runs[name])]  # fmt: skip
        assert main(argv) == 0
    return runs


def test_series_runs_compare_on_test_from_their_own_predictions(two_series_runs, tmp_path, capsys):
    a, b = two_series_runs["a"], two_series_runs["b"]
    out = tmp_path / "comparison.json"
    assert main(["compare", str(a), str(b), "--split", "test", "--output", str(out)]) == 0
    assert "split 'test': 150 clips" in capsys.readouterr().out
    rows = {r["metric"]: r for r in json.loads(out.read_text())["metrics"]}
    for side, run in (("a", a), ("b", b)):
        report = json.loads((run / "report.json").read_text())
        assert rows["accuracy"][side] == pytest.approx(report["metrics"]["accuracy_score"])
        assert rows["log_loss"][side] == pytest.approx(report["metrics"]["log_loss"], abs=1e-4)
    with pytest.raises(SystemExit):  # validation: no files to predict again, and UCR has none
        main(["compare", str(a), str(b), "--quiet"])
    assert "compares such runs on --split test" in capsys.readouterr().err
    other = tmp_path / "other"
    shutil.copytree(b, other)
    predictions = pd.read_csv(other / "predictions.csv")
    predictions.drop(index=0).to_csv(other / "predictions.csv", index=False)
    with pytest.raises(SystemExit):
        main(["compare", str(a), str(other), "--split", "test"])
    assert "hold different samples in their test split" in capsys.readouterr().err


def test_binary_runs_without_files_use_each_runs_threshold(tmp_path, capsys):
    """Run folders as a binary sensor recipe writes them (predictions.csv: ids, true,
    predicted, p_<class>; report.json: task, classes, tuned threshold)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    proba = {"a": np.clip(y * 0.6 + rng.uniform(0, 0.4, 60), 0, 1), "b": rng.uniform(0, 1, 60)}
    thresholds = {"a": 0.3, "b": 0.7}
    for side in ("a", "b"):
        run = tmp_path / side
        run.mkdir()
        frame = pd.DataFrame({"recording": [f"r{i // 10}" for i in range(60)], "start": range(60),
                              "true": np.where(y == 1, "on", "off"), "predicted": "off",
                              "p_off": 1 - proba[side], "p_on": proba[side]})  # fmt: skip
        frame.to_csv(run / "predictions.csv", index=False)
        report = {"task": "binary", "class_names": ["off", "on"], "threshold": thresholds[side]}
        (run / "report.json").write_text(json.dumps(report))
    out = tmp_path / "c.json"
    argv = ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--split", "test"]
    assert main([*argv, "--output", str(out)]) == 0
    got = {r["metric"]: r for r in json.loads(out.read_text())["metrics"]}
    expected = paired_comparison(y, proba["a"], proba["b"], task="binary", thresholds=(0.3, 0.7))
    for row in expected:
        assert got[row.metric]["a"] == pytest.approx(row.a)
        assert got[row.metric]["b"] == pytest.approx(row.b)
        assert got[row.metric]["ci_low"] == pytest.approx(row.ci_low)
    assert got["accuracy"]["a"] == pytest.approx(np.mean((proba["a"] >= 0.3) == y))
    frame = pd.read_csv(tmp_path / "b" / "predictions.csv")
    frame.loc[0, "true"] = "maybe"  # a label the report does not know
    frame.to_csv(tmp_path / "b" / "predictions.csv", index=False)
    with pytest.raises(SystemExit):
        main(argv)
    assert "labels ['maybe'] are not classes of" in capsys.readouterr().err


def test_runs_whose_data_moved_compare_with_data_dir(two_runs, tmp_path, capsys):
    """The runs' data folder moved: compare names --data-dir, and with it gives the comparison
    of the runs where the data was (the recorded paths re-rooted in the new folder)."""
    data = Path(pd.read_csv(two_runs["a"] / "splits.csv")["path"][0]).parent
    gone, moved = tmp_path / "gone", tmp_path / "moved"
    shutil.copytree(data, moved)
    copies = []
    for side in ("a", "b"):
        copy = tmp_path / side
        shutil.copytree(two_runs[side], copy)
        for name in ("splits.csv", "config.yaml"):  # as if the data had been read from `gone`
            (copy / name).write_text((copy / name).read_text().replace(str(data), str(gone)))
        copies.append(str(copy))
    with pytest.raises(SystemExit):
        main(["compare", *copies, "--quiet"])
    assert "pass --data-dir where it is now" in capsys.readouterr().err
    here, there = tmp_path / "here.json", tmp_path / "there.json"
    assert main(["compare", str(two_runs["a"]), str(two_runs["b"]), "--quiet",
                 "--output", str(here)]) == 0  # fmt: skip
    assert main(["compare", *copies, "--quiet", "--data-dir", str(moved),
                 "--output", str(there)]) == 0  # fmt: skip
    assert json.loads(there.read_text())["metrics"] == json.loads(here.read_text())["metrics"]
