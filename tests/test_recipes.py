"""Every recipe runs end to end in smoke mode on tiny generated data in its dataset's layout and
writes the whole run folder; the shared runner's option parsing and cross-validation summary."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from audioconv.runner import (
    _normalized,
    list_recipes,
    load_recipe,
    parse_recipe,
    recipes_dir,
    run,
)

pytestmark = pytest.mark.xdist_group("recipes")

RATE = 8000
RUN_FILES = ("config.yaml", "metrics.csv", "report.json", "report.md", "confusion_matrix.png")
# tiny audio models and short clips keep every smoke run to a few seconds
TINY_AUDIO = [
    "--model", "spectrogram_cnn", "--model_kwargs", '{"channels": [4, 8]}', "--sample_rate",
    str(RATE), "--clip_seconds", "0.25", "--n_fft", "256", "--hop_length", "80", "--n_mels", "16",
    "--time_mask", "2", "--freq_mask", "2", "--batch_size", "8",
]  # fmt: skip


def tone(path, frequency: float, seconds: float = 0.3, rate: int = RATE, seed: int = 0) -> None:
    """A noisy sine clip: distinct frequencies make distinct classes."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.5 * np.sin(2 * math.pi * frequency * t) + 0.05 * rng.standard_normal(len(t))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wave.astype(np.float32), rate)


def smoke(name: str, argv: list[str]):
    """Run recipe ``name`` in smoke mode in-process; return its single run's output folder."""
    recipe = parse_recipe(load_recipe(name), [*argv, "--smoke"])
    out = io.StringIO()
    results = run(recipe, progress=False, out=out)
    assert "accuracy" in out.getvalue()
    return recipe, results


def assert_run_folder(folder, *, task: str = "multiclass") -> dict:
    for name in RUN_FILES:
        assert (folder / name).is_file(), f"{name} missing in {folder}"
    assert (folder / "checkpoints" / "best.ckpt").is_file()
    report = json.loads((folder / "report.json").read_text())
    assert report["task"] == task
    assert {"task", "class_names", "n_samples", "metrics", "confusion_matrix"} <= set(report)
    return report


def test_every_recipe_script_defines_a_recipe():
    """Every file of recipes/ is a registered recipe (a new file needs no edit here): it loads
    by its name, says so, and has a docstring for ``audioconv recipes``."""
    names = sorted(p.stem for p in recipes_dir().glob("*.py") if not p.stem.startswith("_"))
    assert names == list_recipes() and len(names) >= 11
    for name in names:
        recipe = load_recipe(name)
        assert recipe.name == name
        assert (recipe.__doc__ or "").strip(), f"recipes/{name}.py: its Recipe has no docstring"


def test_options_accept_dashes_and_bare_flags():
    argv = ["--data-dir", "x", "--max-epochs=3", "--smoke", "--seed", "1"]
    assert _normalized(argv, {"smoke"}) == [
        "--data_dir", "x", "--max_epochs=3", "--smoke=true", "--seed", "1",
    ]  # fmt: skip
    recipe = parse_recipe(load_recipe("ucr"), ["--output-dir", "o", "--max-epochs", "3"])
    assert recipe.max_epochs == 3 and recipe.smoke is False


def test_yaml_config_sets_options(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("max_epochs: 7\nlr: 0.01\n")
    recipe = parse_recipe(load_recipe("ucr"), ["--config", str(config), "--output-dir", "o"])
    assert (recipe.max_epochs, recipe.lr) == (7, 0.01)


def test_invalid_option_is_refused():
    from audioconv.errors import ConfigError

    with pytest.raises(ConfigError, match="max_epochs=0"):
        load_recipe("ucr")(output_dir="o", max_epochs=0)


def test_unknown_recipe_lists_the_known_ones():
    from audioconv.errors import ConfigError

    with pytest.raises(ConfigError, match="spoken_digits"):
        load_recipe("no_such_recipe")


@pytest.mark.slow
def test_spoken_digits_with_splits_csv(tmp_path):
    data = tmp_path / "digits"
    rows = []
    for speaker, split in (("ann", "train"), ("bob", "train"), ("cat", "val"), ("dan", "test")):
        for digit in range(3):
            for index in range(2):
                name = f"{digit}_{speaker}_{index}.flac"
                tone(data / name, 300 + 400 * digit, seed=index)
                rows.append({"path": name, "label": digit, "speaker": speaker, "split": split})
    pd.DataFrame(rows).to_csv(data / "splits.csv", index=False)
    out = tmp_path / "run"
    recipe, _ = smoke("spoken_digits", ["--data-dir", str(data), "--output-dir", str(out)])
    report = assert_run_folder(out)
    assert report["n_samples"] == 6  # exactly the held-out voice "dan"
    assert recipe.options()["data_dir"] == str(data)


@pytest.mark.slow
def test_speech_commands_12_classes(tmp_path):
    root = tmp_path / "sc"
    words = ["yes", "no", "cat"]
    for w, word in enumerate(words):
        for k in range(4):
            tone(root / word / f"spk{k}_nohash_0.wav", 300 + 300 * w, seed=k)
    (root / "validation_list.txt").write_text("yes/spk1_nohash_0.wav\nno/spk1_nohash_0.wav\n")
    (root / "testing_list.txt").write_text("yes/spk2_nohash_0.wav\ncat/spk2_nohash_0.wav\n")
    tone(root / "_background_noise_" / "white.wav", 50, seconds=4.0)
    out = tmp_path / "run"
    smoke(
        "speech_commands",
        ["--data-dir", str(root), "--output-dir", str(out), "--classes", "12", *TINY_AUDIO],
    )
    report = assert_run_folder(out)
    assert len(report["class_names"]) == 12


@pytest.mark.slow
def test_music_genre_gtzan_layout(tmp_path):
    root = tmp_path / "gtzan" / "genres_original"
    for g, genre in enumerate(["blues", "jazz"]):
        for k in range(6):
            tone(root / genre / f"{genre}.{k:05d}.wav", 200 + 500 * g, seed=k)
    out = tmp_path / "run"
    smoke("music_genre", ["--data-dir", str(tmp_path / "gtzan"), "--output-dir", str(out),
                          *TINY_AUDIO, "--test_size", "0.3", "--val_size", "0.2"])  # fmt: skip
    assert assert_run_folder(out)["class_names"] == ["blues", "jazz"]


@pytest.mark.slow
def test_environmental_sounds_all_folds(tmp_path):
    root = tmp_path / "esc"
    rows = []
    for fold in range(1, 6):
        for target, category in enumerate(["dog", "rain"]):
            name = f"{fold}-{target}-A-{target}.wav"
            tone(root / "audio" / name, 300 + 600 * target, seed=fold)
            rows.append(
                {"filename": name, "fold": fold, "target": target, "category": category,
                 "esc10": True, "src_file": f"{fold}{target}", "take": "A"}
            )  # fmt: skip
    (root / "meta").mkdir()
    pd.DataFrame(rows).to_csv(root / "meta" / "esc50.csv", index=False)
    out = tmp_path / "run"
    recipe = parse_recipe(
        load_recipe("environmental_sounds"),
        ["--data-dir", str(root), "--output-dir", str(out), *TINY_AUDIO, "--smoke"],
    )
    results = run(recipe, progress=False, out=io.StringIO())
    assert len(results) == 5
    for k in range(1, 6):
        assert assert_run_folder(out / f"fold{k}")["n_samples"] == 2
    summary = json.loads((out / "cv_summary.json").read_text())
    assert sorted(summary["accuracy"]) == [f"fold{k}" for k in range(1, 6)]
    assert summary["mean_accuracy"] == pytest.approx(np.mean(list(summary["accuracy"].values())))


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["ravdess", "cremad"])
def test_speech_emotion_actor_held_out(tmp_path, dataset):
    root = tmp_path / dataset
    for actor in range(1, 7):
        for e, emotion in enumerate((1, 5)):
            if dataset == "ravdess":
                path = root / f"Actor_{actor:02d}" / f"03-01-{emotion:02d}-01-01-01-{actor:02d}.wav"
            else:
                code = ("NEU", "ANG")[e]
                path = root / "AudioWAV" / f"{1000 + actor}_DFA_{code}_XX.wav"
            tone(path, 250 + 500 * e, seed=actor)
            if dataset == "ravdess":  # the song zip unpacked into the same folders: set aside
                tone(path.with_name(path.name.replace("03-01-", "03-02-", 1)), 900, seed=actor)
    out = tmp_path / "run"
    smoke("speech_emotion", ["--dataset", dataset, "--data-dir", str(root),
                             "--output-dir", str(out), *TINY_AUDIO])  # fmt: skip
    assert_run_folder(out)
    # every speech clip is listed once (no song clip); each actor (read from the file name, not
    # from the run) is in exactly one split, and train / val / test all hold actors
    splits = pd.read_csv(out / "splits.csv")
    assert len(splits) == 12 and splits["path"].is_unique
    stems = splits["path"].map(lambda p: p.replace("\\", "/").rsplit("/", 1)[-1].split(".")[0])
    actor = stems.map(lambda s: s.split("-")[-1] if dataset == "ravdess" else s.split("_")[0])
    assert actor.nunique() == 6
    splits_per_actor = splits.groupby(actor)["split"].nunique()
    assert (splits_per_actor == 1).all(), splits_per_actor[splits_per_actor > 1]
    assert set(splits["split"]) == {"train", "val", "test"}
    assert splits.groupby("group")["split"].nunique().max() == 1  # the recorded group is the actor
    assert splits["group"].nunique() == 6


@pytest.mark.slow
def test_music_emotion_multilabel_tags(tmp_path):
    root = tmp_path / "moods"
    rows = []
    for k in range(12):
        tone(root / "clips" / f"c{k}.wav", 200 + 100 * (k % 4), seed=k)
        rows.append({"path": f"clips/c{k}.wav", "tags": ["happy", "sad;calm", "happy;calm"][k % 3]})
    rows[-1]["tags"] = ""  # a clip with no tag: all negative
    pd.DataFrame(rows).to_csv(root / "tags.csv", index=False)
    out = tmp_path / "run"
    recipe = parse_recipe(load_recipe("music_emotion"),
                          ["--data-dir", str(root), "--output-dir", str(out), *TINY_AUDIO,
                           "--test_size", "0.25", "--smoke"])  # fmt: skip
    printed = io.StringIO()
    run(recipe, progress=False, out=printed)
    report = json.loads((out / "report.json").read_text())
    assert report["task"] == "multilabel" and report["class_names"] == ["calm", "happy", "sad"]
    assert (out / "report.md").is_file() and (out / "checkpoints" / "best.ckpt").is_file()
    # the summary's "all" row counts each clip once, however many tags it has (or none)
    before = printed.getvalue().split("== before training")[1]
    (total,) = [line.split()[1:] for line in before.splitlines() if line.startswith("all")]
    per_split = pd.read_csv(out / "splits.csv")["split"].value_counts()
    assert total[0::2] == [str(per_split[s]) for s in ("train", "val", "test")]  # clips, seconds


@pytest.mark.slow
def test_image_classification_builtin_digits(tmp_path):
    out = tmp_path / "run"
    recipe, results = smoke("image_classification", ["--output-dir", str(out)])
    assert_run_folder(out)
    hparams = __import__("torch").load(results[0].best_checkpoint, weights_only=True)[
        "hyper_parameters"
    ]
    assert (hparams["input_kind"], tuple(hparams["input_shape"])) == ("image", (1, 32, 32))


@pytest.mark.slow
def test_ucr_gunpoint(tmp_path, onnx_answers_as_promised):
    """A UCR run, then its ONNX export: UCR series have no sampling rate, the checkpoint exports
    all the same, and ``audioconv predict`` on test series written as CSV files gives the run's
    predictions.csv."""
    from audioconv.data.timeseries import load_ucr

    out = tmp_path / "run"
    recipe, _ = smoke("ucr", ["--dataset", "GunPoint", "--output-dir", str(out),
                              "--model", "fcn", "--batch_size", "8"])  # fmt: skip
    assert assert_run_folder(out)["class_names"] == ["1", "2"]
    # InceptionTime's protocol: all of TRAIN trains, the lowest training loss is kept
    assert (recipe.val_size, recipe.monitor) == (0.0, "train/loss")
    assert "val/loss" not in (out / "metrics.csv").read_text().splitlines()[0]

    promised = pd.read_csv(out / "predictions.csv")
    assert len(promised) >= 8 and set(promised["source"]) == {"test"}
    _, test = load_ucr("GunPoint")
    paths = []
    for index in promised["index"]:
        path = tmp_path / f"series{index}.csv"
        pd.DataFrame({"value": test.x[index, 0].numpy()}).to_csv(path, index=False)
        paths.append(str(path))
    onnx_file = onnx_answers_as_promised(out, None, tmp_path, paths=paths)
    assert json.loads(onnx_file.with_suffix(".onnx.json").read_text())["sample_rate"] is None


def assert_series_file_answers_as_promised(model, series_file, run, workdir) -> None:
    """``audioconv predict --checkpoint MODEL SERIES_FILE`` (a .ts / .tsv file: one row per
    series, ``<file>#<index>``) gives the run's predictions.csv for every series it tested
    (labels, probabilities to 1e-4)."""
    from audioconv.cli import main

    promised = pd.read_csv(run / "predictions.csv", dtype={"predicted": str})
    got = workdir / f"{series_file.name}.predicted.csv"
    argv = ["predict", "--checkpoint", str(model), str(series_file), "--output", str(got)]
    assert main(argv) == 0
    got = pd.read_csv(got, dtype={"label": str}).set_index("path")
    got = got.loc[[f"{series_file}#{index}" for index in promised["index"]]]
    assert list(got["label"]) == list(promised["predicted"])
    expected = [row[f"p_{label}"] for label, (_, row) in zip(got["label"], promised.iterrows())]
    np.testing.assert_allclose(got["probability"], expected, atol=1e-4)


def test_ucr_unequal_lengths_are_stretched_in_training_and_in_prediction(
    tmp_path, onnx_answers_as_promised
):
    """JapaneseVowels (7-29 steps) as InceptionTime's published figure was measured: every series
    stretched to the longest. Each test series as it ships (its own length, as a CSV file)
    through ``audioconv predict`` of the checkpoint and of its ONNX export, and the shipped
    ``.ts`` test file as it is, give the run's predictions.csv; a stream of such a model is
    refused with a pointer to ``predict``."""
    from audioconv.cli import main
    from audioconv.data.timeseries import aeon_data_dir, load_ucr
    from audioconv.deploy import load_predictor
    from audioconv.errors import ConfigError
    from audioconv.streaming import StreamClassifier
    from audioconv.tasks import load_classifier

    out = tmp_path / "run"
    smoke("ucr", ["--dataset", "JapaneseVowels", "--output-dir", str(out), "--model", "fcn",
                  "--members", "1", "--batch_size", "16"])  # fmt: skip
    checkpoint = out / "checkpoints" / "best.ckpt"
    contract = load_classifier(checkpoint).input_contract
    assert (contract.unequal, contract.window, contract.channels) == ("resample", 29, 12)

    promised = pd.read_csv(out / "predictions.csv", dtype={"predicted": str})
    _, test = load_ucr("JapaneseVowels", unequal="pad")  # zeros after the end: cut them off
    paths = []
    for index in promised["index"]:
        series = test.x[index, :, : test.lengths[index]].numpy().T  # (time, 12)
        path = tmp_path / f"series{index}.csv"
        pd.DataFrame(series, columns=[f"c{k}" for k in range(12)]).to_csv(path, index=False)
        paths.append(str(path))
    assert len(set(test.lengths[promised["index"]].tolist())) > 1  # lengths differ
    got = tmp_path / "checkpoint.csv"
    assert main(["predict", "--checkpoint", str(checkpoint), *paths, "--output", str(got)]) == 0
    got = pd.read_csv(got, dtype={"label": str}).set_index("path").loc[paths]
    assert list(got["label"]) == list(promised["predicted"])
    onnx_file = onnx_answers_as_promised(out, None, tmp_path, paths=paths)
    shipped = aeon_data_dir() / "JapaneseVowels" / "JapaneseVowels_TEST.ts"  # as aeon ships it
    assert_series_file_answers_as_promised(onnx_file, shipped, out, tmp_path)
    with pytest.raises(ConfigError, match="audioconv predict"):
        StreamClassifier(load_predictor(onnx_file), sample_rate=1.0)


def test_ucr_ts_files_with_missing_values(tmp_path, onnx_answers_as_promised):
    """A TRAIN / TEST pair of .ts files with missing values (``?``), as some UCR problems ship:
    refused with the option that reads them; with ``--nan zero`` the run trains, and ``audioconv
    predict`` on the TEST file as it is (missing values included) gives predictions.csv."""
    from audioconv.errors import DatasetError

    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 30)
    for part, n in (("TRAIN", 16), ("TEST", 12)):
        rows = []
        for i in range(n):
            label = ("sine", "square")[i % 2]
            x = np.sin(2 * np.pi * 3 * t + rng.uniform(0, 6))
            x = np.sign(x) if label == "square" else x
            values = [f"{v:.5f}" for v in x + 0.1 * rng.standard_normal(30)]
            for j in rng.choice(30, size=3, replace=False):
                values[j] = "?"
            rows.append(",".join(values) + f":{label}")
        (tmp_path / f"Waves_{part}.ts").write_text(
            "@problemName Waves\n@timeStamps false\n@missing true\n@univariate true\n"
            "@equalLength true\n@seriesLength 30\n@classLabel true sine square\n@data\n"
            + "\n".join(rows) + "\n"
        )  # fmt: skip
    argv = ["--dataset", str(tmp_path / "Waves_TRAIN.ts"), "--model", "fcn", "--members", "1",
            "--batch_size", "4"]  # fmt: skip
    with pytest.raises(DatasetError, match="missing values .* --nan zero"):
        smoke("ucr", [*argv, "--output-dir", str(tmp_path / "refused")])
    out = tmp_path / "run"
    smoke("ucr", [*argv, "--nan", "zero", "--output-dir", str(out)])
    checkpoint = out / "checkpoints" / "best.ckpt"
    assert_series_file_answers_as_promised(checkpoint, tmp_path / "Waves_TEST.ts", out, tmp_path)


def test_ucr_tsv_files_as_the_ucr_2018_archive_ships_them(tmp_path):
    """A *_TRAIN.tsv / *_TEST.tsv pair whose shorter series are padded with NaN (the UCR 2018
    archive's layout) trains with one command, stretched to the longest; ``audioconv predict``
    on the TEST file as it is gives predictions.csv (one row per series, <file>#<index>)."""
    from audioconv.tasks import load_classifier

    rng = np.random.default_rng(1)
    for part, n in (("TRAIN", 16), ("TEST", 12)):
        rows = []
        for i in range(n):
            length = int(rng.integers(18, 31))
            x = np.sin(np.linspace(0, (2 + 3 * (i % 2)) * np.pi, length)) + 0.1 * rng.random(length)
            values = [f"{v:.6f}" for v in x] + ["NaN"] * (30 - length)
            rows.append("\t".join([str(1 + i % 2), *values]))
        (tmp_path / f"Chirps_{part}.tsv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    smoke("ucr", ["--dataset", str(tmp_path / "Chirps_TRAIN.tsv"), "--output-dir", str(out),
                  "--model", "fcn", "--members", "1", "--batch_size", "4"])  # fmt: skip
    checkpoint = out / "checkpoints" / "best.ckpt"
    assert load_classifier(checkpoint).input_contract.unequal == "resample"
    assert_series_file_answers_as_promised(checkpoint, tmp_path / "Chirps_TEST.tsv", out, tmp_path)


def test_ucr_without_validation_refuses_a_validation_monitor():
    from audioconv.errors import ConfigError

    with pytest.raises(ConfigError, match="--val-size"):
        parse_recipe(load_recipe("ucr"), ["--output-dir", "o", "--monitor", "val/loss"])
    recipe = parse_recipe(
        load_recipe("ucr"), ["--output-dir", "o", "--val-size", "0.2", "--monitor", "val/loss"]
    )
    assert (recipe.val_size, recipe.monitor) == (0.2, "val/loss")


def test_ucr_full_protocol_default_and_quick_option():
    full = parse_recipe(load_recipe("ucr"), ["--output-dir", "o"])
    quick = parse_recipe(load_recipe("ucr"), ["--output-dir", "o", "--max-epochs", "100"])
    assert (full.max_epochs, quick.max_epochs) == (300, 100)
    assert full.members == 5  # InceptionTime is an ensemble of five networks
    assert (full.batch_size, full.monitor, full.val_size) == (64, "train/loss", 0.0)


@pytest.mark.slow
def test_sensor_windows_csv_log(tmp_path):
    rng = np.random.default_rng(0)
    frames = []
    for stream in range(6):
        activity = ("rest", "walk")[stream % 2]
        t = np.arange(80) / 10.0
        amplitude = 0.1 if activity == "rest" else 1.0
        frame = pd.DataFrame(
            {f"acc_{axis}": amplitude * np.sin(2 * t + k) + 0.05 * rng.standard_normal(80)
             for k, axis in enumerate("xyz")}
        )  # fmt: skip
        frame.insert(0, "time_s", t)
        frame.insert(0, "recording", f"r{stream}")
        frame["activity"] = activity
        frames.append(frame)
    log = tmp_path / "log.csv"
    pd.concat(frames).to_csv(log, index=False)
    out = tmp_path / "run"
    smoke("sensor_windows", ["--data-dir", str(log), "--output-dir", str(out),
                             "--window", "20", "--hop", "10", "--val_size", "0.2",
                             "--test_size", "0.3"])  # fmt: skip
    assert assert_run_folder(out)["class_names"] == ["rest", "walk"]


def test_sensor_windows_step_is_a_deprecated_alias_of_hop():
    """--step was renamed --hop (the input contract's name); the old option warns and sets it."""
    recipe_class = load_recipe("sensor_windows")
    with pytest.warns(DeprecationWarning, match=r"\(step=\) is deprecated: use hop="):
        old = parse_recipe(recipe_class, ["--output-dir", "o", "--window", "20", "--step", "10"])
    new = parse_recipe(recipe_class, ["--output-dir", "o", "--window", "20", "--hop", "10"])
    assert (old.window, old.hop) == (new.window, new.hop) == (20, 10)
    assert old.step is None and old.options() == new.options()  # config.yaml records hop only


def test_sensor_windows_default_log_is_basic_motions(tmp_path):
    import sys

    module = sys.modules[load_recipe("sensor_windows").__module__]
    frame = pd.read_csv(module.write_basic_motions_log(tmp_path / "bm.csv"))
    assert frame["recording"].nunique() == 80 and len(frame) == 80 * 100
    assert sorted(frame["activity"].unique()) == ["badminton", "running", "standing", "walking"]
    assert list(frame.columns[2:8]) == list(module.BASIC_MOTIONS_CHANNELS)


def test_mixup_option_mixes_training_batches(tone_digits, tiny_audio_options, tmp_path):
    from audioconv.data.augment import Mixup
    from audioconv.errors import ConfigError

    data, out = tone_digits(), tmp_path / "run"
    options = [*tiny_audio_options, "--data-dir", str(data), "--output-dir", str(out)]
    recipe = parse_recipe(load_recipe("spoken_digits"), [*options, "--mixup", "0.4"])
    steps = recipe.experiment().datamodule.augment
    assert isinstance(steps[-1], Mixup)  # last: it mixes the augmented clips
    assert (steps[-1].alpha, steps[-1].num_classes) == (0.4, 3)
    run(recipe, progress=False, out=io.StringIO())
    assert_run_folder(out)
    default = parse_recipe(load_recipe("spoken_digits"), options).experiment().datamodule.augment
    assert not any(isinstance(m, Mixup) for m in default)  # off by default
    with pytest.raises(ConfigError, match="mixup"):
        parse_recipe(load_recipe("spoken_digits"), [*options, "--mixup", "-1"])


def test_copypaste_option_pastes_before_mixup_and_trains(tone_digits, tiny_audio_options, tmp_path):
    from audioconv.data.augment import CopyPaste, Mixup
    from audioconv.errors import ConfigError

    data, out = tone_digits(), tmp_path / "run"
    options = [*tiny_audio_options, "--data-dir", str(data), "--output-dir", str(out)]
    recipe = parse_recipe(
        load_recipe("spoken_digits"), [*options, "--copypaste", "0.5", "--mixup", "0.2"]
    )
    steps = recipe.experiment().datamodule.augment
    assert [type(s) for s in steps[-2:]] == [CopyPaste, Mixup] and steps[-2].p == 0.5
    run(recipe, progress=False, out=io.StringIO())
    assert_run_folder(out)
    with pytest.raises(ConfigError, match="copypaste"):
        parse_recipe(load_recipe("spoken_digits"), [*options, "--copypaste", "2"])


def test_vtlp_option_is_checked_before_any_file_is_read(tmp_path):
    from audioconv.errors import ConfigError

    empty = tmp_path / "empty"  # no clips: a bad option must be refused before the data is read
    empty.mkdir()
    options = ["--data-dir", str(empty), "--output-dir", str(tmp_path / "run")]
    recipe = load_recipe("speech_emotion")
    for bad, words in (
        (["--vtlp", "0.7"], "vtlp=0.7"),
        (["--vtlp", "0.1", "--features", "mfcc"], "--features logmel"),
    ):
        with pytest.raises(ConfigError, match=words):
            parse_recipe(recipe, [*options, *bad])
    assert (
        parse_recipe(recipe, options).vtlp == 0.0
    )  # off by default (benchmarks/real_recordings.md)


def test_vtlp_recipe_front_end(tone_digits, tiny_audio_options, tmp_path):
    from audioconv.features import VTLP

    options = [*tiny_audio_options, "--data-dir", str(tone_digits()), "--output-dir", str(tmp_path)]
    frontend = (
        parse_recipe(load_recipe("spoken_digits"), [*options, "--vtlp", "0.15"])
        .experiment()
        .frontend
    )
    assert isinstance(frontend.vtlp, VTLP) and frontend.vtlp.max_warp == 0.15
    assert frontend.config["kwargs"]["vtlp"] == 0.15  # the checkpoint rebuilds it


def write_sensor_logs(folder, *, rate: float = 50.0, n: int = 100, recordings: int = 6) -> list:
    """One CSV log per recording (``recording,time_s,acc_x,acc_y,acc_z,activity``) at ``rate``."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for r in range(recordings):
        activity = ("rest", "walk")[r % 2]
        t = np.arange(n) / rate
        amplitude = 0.1 if activity == "rest" else 1.0
        frame = pd.DataFrame(
            {f"acc_{axis}": amplitude * np.sin(2 * t + k) + 0.05 * rng.standard_normal(n)
             for k, axis in enumerate("xyz")}
        )  # fmt: skip
        frame.insert(0, "time_s", t)
        frame.insert(0, "recording", f"r{r}")
        frame["activity"] = activity
        paths.append(folder / f"rec_r{r}.csv")
        frame.to_csv(paths[-1], index=False)
    return paths


SENSOR_SMOKE = ["--window", "20", "--hop", "10", "--val_size", "0.2", "--test_size", "0.3"]


def test_sensor_windows_reads_the_rate_from_the_time_column(tmp_path):
    """A 50 Hz log trains a 50 Hz model without --sample-rate (the default was 10 Hz, recorded
    silently); a --sample-rate the time column contradicts, or logs at two rates, are refused."""
    from audioconv.errors import DatasetError
    from audioconv.tasks import load_classifier

    logs = tmp_path / "logs"
    write_sensor_logs(logs)
    out = tmp_path / "run"
    smoke("sensor_windows", ["--data-dir", str(logs), "--output-dir", str(out), *SENSOR_SMOKE])
    contract = load_classifier(out / "checkpoints" / "best.ckpt").input_contract
    assert contract.sample_rate == 50.0 and contract.hop == 10
    assert contract.channel_names == ("acc_x", "acc_y", "acc_z")
    assert (contract.time_column, contract.stream_column) == ("time_s", "recording")

    one = logs / "rec_r0.csv"
    argv = ["--data-dir", str(one), "--output-dir", str(tmp_path / "r10"), "--sample-rate", "10"]
    with pytest.raises(DatasetError, match=r"rec_r0.csv: .* steps at 50 Hz .* --sample-rate is 10"):
        run(parse_recipe(load_recipe("sensor_windows"), argv), progress=False, out=io.StringIO())

    write_sensor_logs(tmp_path / "fast", rate=100.0, recordings=1)
    (tmp_path / "fast" / "rec_r0.csv").rename(logs / "rec_fast.csv")
    argv = ["--data-dir", str(logs), "--output-dir", str(tmp_path / "mixed"), *SENSOR_SMOKE]
    rates = r"50 Hz: 6 log\(s\), rec_r0.csv, .*; 100 Hz: 1 log\(s\), rec_fast.csv\).*--sample-rate"
    with pytest.raises(DatasetError, match=rates):
        run(parse_recipe(load_recipe("sensor_windows"), argv), progress=False, out=io.StringIO())
    out = tmp_path / "at50"
    smoke("sensor_windows", ["--data-dir", str(logs), "--output-dir", str(out), *SENSOR_SMOKE,
                             "--sample-rate", "50", "--on-error", "skip"])  # fmt: skip
    skipped = pd.read_csv(out / "skipped.csv")
    assert list(skipped["path"]) == [str(logs / "rec_fast.csv")]
    assert "steps at 100 Hz" in skipped["reason"][0]


def test_sensor_windows_lists_every_bad_log_then_skips_them(tmp_path):
    """Four bad logs in a folder are named in one error (they took four runs), and
    --on-error skip trains without them and lists them in skipped.csv; logs whose columns come in
    another order, or whose labels are numbers, train with the others."""
    from audioconv.errors import DatasetError
    from audioconv.tasks import load_classifier

    logs = tmp_path / "logs"
    paths = write_sensor_logs(logs, recordings=8)
    frame = pd.read_csv(paths[0])
    frame[["recording", "activity", "acc_z", "time_s", "acc_y", "acc_x"]].to_csv(
        paths[0], index=False
    )  # the same columns in another order
    frame = pd.read_csv(paths[1])
    frame["activity"] = 3  # a label that reads as a number (was: TypeError from np.unique)
    frame.to_csv(paths[1], index=False)
    bad = pd.read_csv(paths[2])
    bad["acc_y"] = bad["acc_y"].astype(object)
    bad.loc[5, "acc_y"] = "n/a?"
    bad.to_csv(paths[2], index=False)
    (logs / "rec_zbinary.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (logs / "rec_zempty.csv").write_bytes(b"")
    (logs / "rec_zheader.csv").write_text("recording,time_s,acc_x,acc_y,acc_z,activity\n")
    argv = ["--data-dir", str(logs), *SENSOR_SMOKE]
    with pytest.raises(DatasetError) as error:
        recipe = parse_recipe(load_recipe("sensor_windows"), [*argv, "--output-dir", "x"])
        run(recipe, progress=False, out=io.StringIO())
    message = str(error.value)
    assert message.startswith("4 bad sensor log file(s) of 11:")
    for name, reason in (("rec_r2.csv", "holds 'n/a?'"), ("rec_zbinary.csv", "binary file"),
                         ("rec_zempty.csv", "the file is empty"),
                         ("rec_zheader.csv", "a header but no rows")):  # fmt: skip
        assert f"{logs / name}: " in message and reason in message
    assert "--on-error skip" in message
    out = tmp_path / "run"
    smoke("sensor_windows", [*argv, "--output-dir", str(out), "--on-error", "skip"])
    skipped = pd.read_csv(out / "skipped.csv")
    names = ("rec_r2.csv", "rec_zbinary.csv", "rec_zempty.csv", "rec_zheader.csv")
    assert sorted(skipped["path"]) == [str(logs / name) for name in names]
    model = load_classifier(out / "checkpoints" / "best.ckpt")
    assert list(model.hparams.class_names) == ["3", "rest", "walk"]


def test_sensor_windows_nan_policy_option(tmp_path):
    """The NaN error's advice (--nan-policy) is an option of the recipe."""
    from audioconv.errors import SensorDataError

    logs = tmp_path / "logs"
    paths = write_sensor_logs(logs)
    frame = pd.read_csv(paths[3])
    frame.loc[8, "acc_z"] = np.nan
    frame.to_csv(paths[3], index=False)
    argv = ["--data-dir", str(paths[3]), *SENSOR_SMOKE, "--output-dir", str(tmp_path / "a")]
    with pytest.raises(SensorDataError, match="--nan-policy interpolate"):
        run(parse_recipe(load_recipe("sensor_windows"), argv), progress=False, out=io.StringIO())
    recipe = parse_recipe(load_recipe("sensor_windows"), [*argv, "--nan-policy", "interpolate"])
    streams, _, _, _ = recipe._streams()
    assert np.isfinite(streams[0]).all()


@pytest.mark.slow
def test_a_model_trained_with_a_nan_policy_reads_missing_values_so_at_predict(tmp_path, capsys):
    """Trained with --nan-policy interpolate, the model predicts its own training log (holding
    a NaN) as that log with the gap filled; it refused the log ("use --nan-policy")."""
    from audioconv.cli import main as cli_main

    logs = tmp_path / "logs"
    write_sensor_logs(logs)
    holed = logs / "rec_r0.csv"
    frame = pd.read_csv(holed)
    frame.loc[8, "acc_z"] = np.nan
    frame.to_csv(holed, index=False)
    filled = tmp_path / "filled.csv"
    channels = ["acc_x", "acc_y", "acc_z"]
    frame.assign(**frame[channels].interpolate(limit_direction="both")).to_csv(filled, index=False)
    out = tmp_path / "run"
    smoke("sensor_windows", ["--data-dir", str(logs), "--output-dir", str(out), *SENSOR_SMOKE,
                             "--nan-policy", "interpolate"])  # fmt: skip
    ckpt = str(out / "checkpoints" / "best.ckpt")
    answers = []
    for log in (holed, filled):
        assert cli_main(["predict", "--quiet", "--checkpoint", ckpt, str(log), "--per-window",
                         "--output", str(tmp_path / f"{log.stem}.json")]) == 0  # fmt: skip
        answers.append(json.loads((tmp_path / f"{log.stem}.json").read_text())[0]["windows"])
    np.testing.assert_allclose(answers[0], answers[1], atol=1e-6)


def test_ucr_train_file_pads_to_the_longest_series_of_train_and_test(tmp_path):
    """--dataset X_TRAIN.tsv --unequal pad with a TEST series longer than every TRAIN series
    trains as the problem-name route does (it stopped: "length=24 is shorter than ..."); an .arff
    file and an empty .ts file are named with the fix."""
    from audioconv.errors import ConfigError, DatasetError
    from audioconv.tasks import load_classifier

    rng = np.random.default_rng(0)
    for part, (low, high) in (("TRAIN", (15, 25)), ("TEST", (20, 35))):
        rows = []
        for i in range(12):
            length = high - 1 if i == 0 else int(rng.integers(low, high))
            x = np.sin(np.linspace(0, (2 + 3 * (i % 2)) * np.pi, length))
            rows.append("\t".join([str(1 + i % 2), *(f"{v:.5f}" for v in x)]))
        (tmp_path / f"Pad_{part}.tsv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    smoke("ucr", ["--dataset", str(tmp_path / "Pad_TRAIN.tsv"), "--unequal", "pad", "--output-dir",
                  str(out), "--model", "fcn", "--members", "1", "--batch_size", "4"])  # fmt: skip
    assert load_classifier(out / "checkpoints" / "best.ckpt").input_contract.window == 34

    arff = tmp_path / "Arf_TRAIN.arff"
    arff.write_text("@relation x\n")
    with pytest.raises(ConfigError, match=r"Arf_TRAIN.arff: a .arff file; .* reads .ts"):
        parse_recipe(load_recipe("ucr"), ["--dataset", str(arff), "--output-dir", "o"])._splits()
    empty = tmp_path / "Empty_TRAIN.ts"
    empty.write_text("")
    with pytest.raises(DatasetError, match=r"Empty_TRAIN.ts: no series after @data"):
        parse_recipe(load_recipe("ucr"), ["--dataset", str(empty), "--output-dir", "o"])._splits()
