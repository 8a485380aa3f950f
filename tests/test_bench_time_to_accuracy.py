"""The time-to-accuracy bench: which rows run (real-data rows only when their folder is given) and
how epochs are read from a run's metrics.csv. The runs themselves are ``make bench``'s job."""

from __future__ import annotations

from benchmarks import bench_time_to_accuracy as bench


def test_real_data_rows_only_when_their_folder_exists(tmp_path, monkeypatch):
    monkeypatch.delenv("AUDIOCONV_FSDD", raising=False)
    monkeypatch.delenv("AUDIOCONV_RAVDESS", raising=False)
    monkeypatch.delenv("AUDIOCONV_TTA_ONLY", raising=False)
    assert [name for name, _, _ in bench._rows()] == ["digits_embedded", "ucr_gunpoint"]
    monkeypatch.setenv("AUDIOCONV_FSDD", str(tmp_path / "missing"))
    assert len(bench._rows()) == 2
    monkeypatch.setenv("AUDIOCONV_FSDD", str(tmp_path))
    monkeypatch.setenv("AUDIOCONV_RAVDESS", str(tmp_path))
    rows = {name: argv for name, _, argv in bench._rows()}
    assert rows["fsdd_official"][-2:] == ["--split", "official"]
    assert rows["fsdd_speakers"][-2:] == ["--split", "speaker"]
    assert rows["ravdess_actors"] == ["recipes/speech_emotion.py", "--data-dir", str(tmp_path)]
    monkeypatch.setenv("AUDIOCONV_TTA_ONLY", "fsdd_official,ucr_gunpoint")
    assert [name for name, _, _ in bench._rows()] == ["ucr_gunpoint", "fsdd_official"]


def test_epochs_are_the_distinct_epochs_with_a_training_loss(tmp_path):
    csv = tmp_path / "metrics.csv"
    csv.write_text(
        "epoch,step,train/loss_epoch,val/loss,test/acc\n"
        "0,10,1.0,,\n0,10,,0.9,\n1,20,0.8,,\n1,20,,0.7,\n2,20,,,0.95\n"
    )
    assert bench._epochs(csv) == 2  # the test row (logged at epoch 2) is not an epoch trained


def test_seeds_come_from_the_environment_and_are_summarised(monkeypatch):
    monkeypatch.delenv("AUDIOCONV_TTA_SEEDS", raising=False)
    assert bench._seeds() == [0]
    monkeypatch.setenv("AUDIOCONV_TTA_SEEDS", "0, 1,2")
    assert bench._seeds() == [0, 1, 2]
    assert bench.spread([0.97, 0.99, 0.98]) == "98.00% ± 1.00 (n=3)"
    assert bench.spread([0.5]) == "50.00% (n=1)"


def test_each_seed_is_a_run_of_its_own(tmp_path, monkeypatch):
    monkeypatch.delenv("AUDIOCONV_FSDD", raising=False)
    monkeypatch.delenv("AUDIOCONV_RAVDESS", raising=False)
    monkeypatch.setenv("AUDIOCONV_TTA_ONLY", "digits_embedded")
    monkeypatch.setenv("AUDIOCONV_TTA_SEEDS", "0,3")
    calls = []

    def measure(name, argv):
        calls.append((name, argv))
        accuracy = 0.9 if name == "digits_embedded" else 0.8
        paired = {"difference": accuracy - 0.7, "ci_low": 0.05, "ci_high": 0.3}
        return {"seconds": 61.0, "epochs": 30, "accuracy": accuracy, "baseline": 0.7,
                "versus": paired, "command": "python " + " ".join(argv)}  # fmt: skip

    monkeypatch.setattr(bench, "measure", measure)
    text = bench.main()
    assert [name for name, _ in calls] == ["digits_embedded", "digits_embedded_seed3"]
    assert "--seed" not in calls[0][1] and calls[1][1][-2:] == ["--seed", "3"]
    assert "| digits_embedded | embedded spoken digits, 12 held-out voices | 3 | 1 min 1 s" in text
    assert "digits_embedded: test accuracy 85.00% ± 7.07 (n=2)" in text
    assert "| 90.00% | 70.00% | +20.00 [+5.00, +30.00] |" in text
    assert bench.versus(None) == "n/a"
    minutes = [bench._minutes(t) for t in (59.6, 61.0, 125.4)]
    assert minutes == ["1 min 0 s", "1 min 1 s", "2 min 5 s"]


def test_commands_are_shown_runnable_with_the_data_folders_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOCONV_FSDD", str(tmp_path))
    monkeypatch.delenv("AUDIOCONV_RAVDESS", raising=False)
    monkeypatch.delenv("AUDIOCONV_TTA_ONLY", raising=False)
    rows = {name: argv for name, _, argv in bench._rows()}
    assert bench.shown_command([*rows["fsdd_official"], "--seed", "1"], "fsdd_official_seed1") == (
        "python recipes/spoken_digits.py --data-dir $AUDIOCONV_FSDD --split official --seed 1 "
        "--output-dir runs/fsdd_official_seed1"
    )
    assert bench.shown_command(rows["ucr_gunpoint"], "ucr_gunpoint") == (
        "python recipes/ucr.py --dataset GunPoint --output-dir runs/ucr_gunpoint"
    )
