"""The ``audioconv`` command line: lazy --help, fit / test / predict on audio, image and CSV files,
clear errors for a wrong input kind, summary and features."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from audioconv.cli import main
from audioconv.constants import input_kind_of

pytestmark = pytest.mark.xdist_group("cli")

RATE = 8000
TINY_AUDIO = [
    "--model", "spectrogram_cnn", "--model_kwargs", '{"channels": [4, 8]}', "--clip_seconds",
    "0.25", "--n_fft", "256", "--n_mels", "16", "--time_mask", "2", "--freq_mask", "2",
    "--batch_size", "8",
]  # fmt: skip


def tone(path, frequency: float, seconds: float = 0.3, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    wave = 0.5 * np.sin(2 * math.pi * frequency * t) + 0.05 * rng.standard_normal(len(t))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wave.astype(np.float32), RATE)


def sensor_frame(n: int, activity: str, rng) -> pd.DataFrame:
    t = np.arange(n) / 10.0
    amplitude = 0.1 if activity == "rest" else 1.0
    return pd.DataFrame(
        {f"acc_{a}": amplitude * np.sin(2 * t + k) + 0.05 * rng.standard_normal(n)
         for k, a in enumerate("xyz")}
    )  # fmt: skip


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Tiny audio, image and sensor checkpoints trained through ``audioconv fit``."""
    root = tmp_path_factory.mktemp("cli")
    digits = root / "digits"
    for speaker in ("ann", "bob", "cat", "dan", "eve"):
        for digit in range(3):
            tone(digits / f"{digit}_{speaker}_0.wav", 300 + 400 * digit)
    rng = np.random.default_rng(0)
    frames = []
    for stream in range(6):
        activity = ("rest", "walk")[stream % 2]
        frame = sensor_frame(60, activity, rng)
        frame.insert(0, "recording", f"r{stream}")
        frame["activity"] = activity
        frames.append(frame)
    pd.concat(frames).to_csv(root / "log.csv", index=False)
    runs = {"audio": root / "audio", "image": root / "image", "sensor": root / "sensor"}
    commands = {
        "audio": ["spoken_digits", "--data-dir", str(digits), *TINY_AUDIO],
        "image": ["image_classification"],
        "sensor": ["sensor_windows", "--data-dir", str(root / "log.csv"), "--time-column",
                   "null", "--window", "20", "--hop", "10"],
    }  # fmt: skip
    for kind, command in commands.items():
        assert main(["fit", *command, "--output-dir", str(runs[kind]), "--smoke"]) == 0
    return {kind: run / "checkpoints" / "best.ckpt" for kind, run in runs.items()}


def test_help_does_not_import_torch():
    code = (
        "import sys\nfrom audioconv.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules, 'lightning' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip().endswith("False False")
    for command in ("fit", "test", "predict", "summary", "features", "export", "stream"):
        assert command in done.stdout


def test_input_kind_from_suffix(tmp_path):
    assert input_kind_of(tmp_path / "a.FLAC") == "audio"
    assert input_kind_of(tmp_path / "a.jpeg") == "image"
    assert input_kind_of(tmp_path / "a.csv.gz") == "sensor"
    assert input_kind_of(tmp_path / "a.txt") is None


@pytest.mark.slow
def test_predict_audio_image_and_csv(checkpoints, tmp_path, capsys):
    import torch
    from torchvision.io import write_png

    wav = tmp_path / "clip.wav"
    tone(wav, 700, seconds=0.5)
    png = tmp_path / "digit.png"
    write_png((torch.rand(1, 20, 24) * 255).to(torch.uint8), str(png))
    csv = tmp_path / "window.csv"
    sensor_frame(20, "walk", np.random.default_rng(1)).to_csv(csv, index=False)
    for kind, path, labels in (
        ("audio", wav, {"0", "1", "2"}),
        ("image", png, {str(d) for d in range(10)}),
        ("sensor", csv, {"rest", "walk"}),
    ):
        capsys.readouterr()
        assert main(["predict", "--checkpoint", str(checkpoints[kind]), str(path)]) == 0
        name, label, probability = capsys.readouterr().out.split()
        assert name == str(path) and label in labels and 0.0 <= float(probability) <= 1.0


@pytest.mark.slow
def test_predict_wrong_input_kind_names_file_and_kinds(checkpoints, tmp_path, capsys):
    png = tmp_path / "photo.png"
    png.write_bytes(b"not read: the kind check comes first")
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "--checkpoint", str(checkpoints["audio"]), str(png)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert str(png) in err and "image input" in err and "expects audio input" in err
    wav = tmp_path / "a.wav"
    tone(wav, 400)
    with pytest.raises(SystemExit):
        main(["predict", "--checkpoint", str(checkpoints["image"]), str(wav)])
    assert "expects image input" in capsys.readouterr().err


@pytest.mark.slow
def test_stream_of_a_sensor_log_points_to_predict_per_window(checkpoints, tmp_path, capsys):
    csv = tmp_path / "log.csv"
    sensor_frame(60, "walk", np.random.default_rng(2)).to_csv(csv, index=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["stream", "--checkpoint", str(checkpoints["sensor"]), str(csv)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"{csv}: a sensor log" in err and "--per-window" in err
    assert f"--checkpoint {checkpoints['sensor']} {csv}" in err  # the command to copy
    fix = ["predict", "--checkpoint", str(checkpoints["sensor"]), str(csv), "--per-window"]
    assert main(fix) == 0  # the command the message gives works
    name, label, probability = capsys.readouterr().out.split()[:3]
    assert name == str(csv) and label in {"rest", "walk"}


@pytest.mark.slow
def test_stream_of_an_image_or_with_an_image_model_points_to_predict(checkpoints, tmp_path, capsys):
    from PIL import Image

    png = tmp_path / "photo.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(png)
    clip = tmp_path / "clip.wav"
    tone(clip, 500)
    cases = [(checkpoints["audio"], png, f"{png}: an image; streaming replays audio files"),
             (checkpoints["image"], clip, f"{checkpoints['image']}: an image model")]  # fmt: skip
    for checkpoint, source, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            main(["stream", "--checkpoint", str(checkpoint), str(source)])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert message in err and "audioconv predict --checkpoint" in err


@pytest.mark.slow
def test_predict_csv_with_wrong_channel_count(checkpoints, tmp_path, capsys):
    csv = tmp_path / "two.csv"
    pd.DataFrame({"a": np.zeros(20), "b": np.ones(20)}).to_csv(csv, index=False)
    with pytest.raises(SystemExit):
        main(["predict", "--checkpoint", str(checkpoints["sensor"]), str(csv)])
    assert "3 channels" in capsys.readouterr().err


def write_ts(path, series: list[np.ndarray]) -> None:
    """An unlabelled UCR / UEA ``.ts`` file of ``(channels, length_i)`` series."""
    header = (
        "@problemName Tiny\n@timeStamps false\n@missing false\n@univariate false\n"
        f"@dimensions {series[0].shape[0]}\n@equalLength false\n@classLabel false\n@data\n"
    )
    rows = [":".join(",".join(f"{v:.6g}" for v in channel) for channel in x) for x in series]
    path.write_text(header + "\n".join(rows) + "\n")


def test_predict_ts_file_one_row_per_series(checkpoints, tmp_path, capsys):
    """A .ts file is many series: one prediction each, named <file>#<index>, the same as each
    series written as its own CSV; a series of the wrong dimensions is named in the error."""
    rng = np.random.default_rng(0)
    series = [rng.standard_normal((3, n)) for n in (25, 15, 40)]
    ts = tmp_path / "unlabelled.ts"
    write_ts(ts, series)
    csvs = []
    for index, x in enumerate(series):
        csvs.append(tmp_path / f"series{index}.csv")
        columns = ["acc_x", "acc_y", "acc_z"]  # the model's channels, which it reads by name
        pd.DataFrame(np.round(x, 5).T.astype(float), columns=columns).to_csv(
            csvs[-1], index=False
        )  # the .ts file's 6 significant digits, within 1e-5
    sensor = str(checkpoints["sensor"])
    out = tmp_path / "ts.csv"
    assert main(["predict", "--checkpoint", sensor, str(ts), "--output", str(out)]) == 0
    got = pd.read_csv(out)
    assert list(got["path"]) == [f"{ts}#{i}" for i in range(3)]
    each = tmp_path / "csv.csv"
    assert main(["predict", "--checkpoint", sensor, *map(str, csvs), "--output", str(each)]) == 0
    each = pd.read_csv(each)
    assert list(got["label"]) == list(each["label"])
    np.testing.assert_allclose(got["probability"], each["probability"], atol=1e-4)

    write_ts(ts, [x[:2] for x in series])
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["predict", "--checkpoint", sensor, str(ts)])
    assert f"{ts}#0: a series of 2 dimension(s), but the model takes 3" in capsys.readouterr().err


@pytest.mark.slow
def test_test_command_rebuilds_the_recipe(checkpoints, tmp_path, capsys):
    out = tmp_path / "again"
    checkpoint = checkpoints["image"]
    argv = ["test", "--checkpoint", str(checkpoint), "--output-dir", str(out), "--smoke"]
    assert main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    original = json.loads((checkpoint.parent.parent / "report.json").read_text())
    assert report["n_samples"] == original["n_samples"]
    assert report["metrics"]["accuracy_score"] == pytest.approx(
        original["metrics"]["accuracy_score"]
    )


def test_summary_prints_layer_table(capsys):
    argv = ["summary", "lenet5", "--dims", "2", "--in-channels", "1", "--num-classes", "10"]
    assert main([*argv, "--input-shape", "1", "32", "32"]) == 0
    out = capsys.readouterr().out
    assert "Total params: 61,706" in out and "Conv2d" in out


def test_summary_unknown_model_is_a_clear_error(capsys):
    with pytest.raises(SystemExit):
        main(["summary", "resnet81", "--input-shape", "1", "32", "32"])
    assert "resnet18" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["logmel", "mfcc", "spectrogram"])
def test_features_writes_array_and_plot(tmp_path, capsys, kind):
    wav = tmp_path / "a.wav"
    tone(wav, 500, seconds=0.5)
    npy, png = tmp_path / "f.npy", tmp_path / "f.png"
    argv = ["features", str(wav), "--kind", kind, "--n-mels", "32", "--hop-length", "80"]
    assert main([*argv, "--out", str(npy), "--plot", str(png)]) == 0
    features = np.load(npy)
    bins = {"logmel": 32, "mfcc": 20, "spectrogram": 257}[kind]
    assert features.shape == (1, bins, 0.5 * RATE // 80 + 1)
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_fit_unknown_recipe_lists_recipes(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "spoken_numbers", "--output-dir", "x"])
    assert "spoken_digits" in capsys.readouterr().err


@pytest.mark.slow
def test_predict_folder_and_manifest_write_csv_and_json(checkpoints, tmp_path, capsys):
    clips = tmp_path / "clips"
    for i, (frequency, seconds) in enumerate([(300, 0.1), (700, 0.25), (1100, 0.8)]):
        tone(clips / ("nested" if i else ".") / f"c{i}.wav", frequency, seconds=seconds, seed=i)
    (clips / "notes.txt").write_text("not an input")  # skipped: not audio
    out = tmp_path / "predictions.csv"
    argv = ["predict", "--quiet", "--checkpoint", str(checkpoints["audio"]), str(clips)]
    assert main([*argv, "--output", str(out), "--top-k", "2"]) == 0
    frame = pd.read_csv(out, dtype=str)
    classes = [f"p_{name}" for name in ("0", "1", "2")]  # as a run's predictions.csv names them
    assert list(frame.columns) == [
        "path", "label", "probability", "top1", "top1_probability", "top2", "top2_probability",
        *classes,
    ]  # fmt: skip
    for _, row in frame.iterrows():
        assert row[f"p_{row['label']}"] == row["probability"]
    assert sorted(Path(p).name for p in frame["path"]) == ["c0.wav", "c1.wav", "c2.wav"]
    assert (frame["label"] == frame["top1"]).all()
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in printed] == list(frame["path"])

    manifest = tmp_path / "list.csv"
    pd.DataFrame({"path": ["clips/nested/c2.wav", "clips/c0.wav"]}).to_csv(manifest, index=False)
    out = tmp_path / "predictions.json"
    argv = ["predict", "--quiet", "--checkpoint", str(checkpoints["audio"]), str(manifest)]
    assert main([*argv, "--output", str(out), "--per-window"]) == 0
    records = json.loads(out.read_text())
    assert [Path(r["path"]).name for r in records] == ["c2.wav", "c0.wav"]
    long_clip = records[0]  # 0.8 s with a 0.25 s window: 6 windows, the clip is their mean
    assert len(long_clip["windows"]) == 6 and len(records[1]["windows"]) == 1
    # where each window lies: every hop of 0.125 s, then one window ending at the clip's end
    seconds = [0.0, 0.125, 0.25, 0.375, 0.5, 0.55]
    assert long_clip["window_start_s"] == seconds
    assert long_clip["window_start_sample"] == [round(s * RATE) for s in seconds]
    assert records[1]["window_start_s"] == [0.0]
    mean = np.mean(long_clip["windows"], axis=0)
    assert long_clip["probability"] == pytest.approx(float(mean.max()), abs=1e-5)
    assert [long_clip[c] for c in classes] == pytest.approx(mean.tolist(), abs=1e-5)
    assert by_path(frame)[str(clips / "nested" / "c2.wav")] == long_clip["label"]


@pytest.mark.slow
def test_stream_writes_the_windows_predict_per_window_gives(checkpoints, tmp_path, capsys):
    """``stream --output --plot`` of a recording: one row per window with the offline windows'
    probabilities (``predict --per-window``), at their end times, and a figure of them."""
    clip = tmp_path / "long.wav"
    tone(clip, 700, seconds=0.8, seed=3)
    ckpt = str(checkpoints["audio"])
    offline = tmp_path / "offline.json"
    assert main(["predict", "--quiet", "--checkpoint", ckpt, str(clip), "--per-window",
                 "--output", str(offline)]) == 0  # fmt: skip
    (expected,) = json.loads(offline.read_text())
    table, png = tmp_path / "stream.csv", tmp_path / "stream.png"
    capsys.readouterr()
    argv = ["stream", "--checkpoint", ckpt, str(clip), "--output", str(table), "--plot", str(png)]
    assert main(argv) == 0
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("t=")]
    rows = pd.read_csv(table)
    assert len(rows) == len(printed) == len(expected["windows"]) == 6
    assert list(rows["label"].astype(str)) == [line.split()[-2] for line in printed]
    classes = [c for c in rows.columns if c.startswith("p_")]
    np.testing.assert_allclose(rows[classes].to_numpy(), expected["windows"], atol=1e-5)
    # a window's time is its last sample: where predict says it starts, plus 0.25 s
    np.testing.assert_allclose(rows["time_s"], np.add(expected["window_start_s"], 0.25))
    assert png.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(SystemExit) as exit_info:
        main(["stream", "--checkpoint", ckpt, str(clip), "--output", str(tmp_path / "x.txt")])
    assert exit_info.value.code == 2
    assert "x.txt: use a .csv / .json file" in capsys.readouterr().err


def by_path(frame: pd.DataFrame) -> dict[str, str]:
    return dict(zip(frame["path"], frame["label"]))


@pytest.mark.slow
def test_model_file_of_the_wrong_kind_is_a_one_line_error(checkpoints, tmp_path, capsys):
    onnx = tmp_path / "digits.onnx"
    ckpt = str(checkpoints["audio"])
    assert main(["export", "--checkpoint", ckpt, "--output", str(onnx)]) == 0
    capsys.readouterr()
    for argv in (["export", "--checkpoint", str(onnx), "--output", str(tmp_path / "x.onnx")],
                 ["test", "--checkpoint", str(onnx)]):  # fmt: skip
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "this is an ONNX model" in err, err
        assert "needs a training checkpoint (.ckpt)" in err
    bad = tmp_path / "list.csv"
    pd.DataFrame({"file": ["a.wav"]}).to_csv(bad, index=False)
    with pytest.raises(SystemExit):
        main(["predict", "--checkpoint", str(onnx), str(bad)])
    assert "list.csv: a manifest needs a 'path' column" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["predict", "--checkpoint", str(onnx), str(tmp_path / "gone.wav")])
    assert "gone.wav" in capsys.readouterr().err


def test_a_missing_run_config_names_options_that_exist(tmp_path, capsys):
    """``fit --config`` of a folder without config.yaml says what to pass, in options the CLI has
    (it used to suggest a ``--recipe`` option no command takes)."""
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(tmp_path / "config.yaml"), "--output-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'config.yaml'}: missing" in err
    assert "--run-dir RUN" in err and "audioconv fit RECIPE" in err and "--recipe" not in err


def test_predict_lists_bad_files_and_classifies_the_others(checkpoints, tmp_path, capsys):
    """A folder as users have them: good clips beside a corrupt file, a WAV of 0 samples and one
    of NaN samples (and a hidden macOS ``._`` twin, which is not an input at all). Every good
    clip gets the answer it gets alone, each bad one is listed with its reason (stderr and
    ``<output>.skipped.csv``), the exit status is 1; ``--on-error raise`` stops at the first bad
    file."""
    clips = tmp_path / "clips"
    for i, frequency in enumerate((300, 700, 1100)):
        tone(clips / f"c{i}.wav", frequency, seed=i)
    (clips / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    (clips / "._c0.wav").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X")
    sf.write(clips / "empty.wav", np.zeros(0, np.float32), RATE)
    sf.write(clips / "nan.wav", np.full(800, np.nan, np.float32), RATE, subtype="FLOAT")
    (clips / "zero.wav").write_bytes(b"")  # an interrupted copy
    bad = {"corrupt.wav", "empty.wav", "nan.wav", "zero.wav"}
    ckpt = str(checkpoints["audio"])
    alone = tmp_path / "alone.csv"
    good = [str(clips / f"c{i}.wav") for i in range(3)]
    assert main(["predict", "--quiet", "--checkpoint", ckpt, *good, "--output", str(alone)]) == 0
    capsys.readouterr()

    out = tmp_path / "predictions.csv"
    assert main(["predict", "--quiet", "--checkpoint", ckpt, str(clips), "--output", str(out)]) == 1
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(alone))
    skipped = pd.read_csv(tmp_path / "predictions.skipped.csv")
    assert {Path(p).name for p in skipped["path"]} == bad
    for path, reason in zip(skipped["path"], skipped["reason"]):
        assert reason.startswith(path)  # each reason names its file
    reasons = skipped.set_index("path")["reason"]
    assert "NaN" in reasons[str(clips / "nan.wav")]
    assert "the file is 0 bytes" in reasons[str(clips / "zero.wav")]  # not "re-encode it"
    err = capsys.readouterr().err
    assert "skipped 4 of 7 inputs" in err and all(name in err for name in bad)
    assert "._c0.wav" not in err

    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "--quiet", "--checkpoint", ckpt, str(clips), "--on-error", "raise"])
    assert exit_info.value.code == 2
    assert "corrupt.wav: cannot decode" in capsys.readouterr().err  # the first bad file in order
    manifest = tmp_path / "list.csv"  # a manifest row whose file is gone is listed the same way
    pd.DataFrame({"path": ["clips/c0.wav", "clips/gone.wav"]}).to_csv(manifest, index=False)
    assert main(["predict", "--quiet", "--checkpoint", ckpt, str(manifest)]) == 1
    assert f"{tmp_path / 'clips' / 'gone.wav'}: no such file" in capsys.readouterr().err
    for name in bad:
        (clips / name).unlink()
    assert main(["predict", "--quiet", "--checkpoint", ckpt, str(clips), "--output", str(out)]) == 0
    assert not (tmp_path / "predictions.skipped.csv").exists()  # it described the earlier inputs


def test_test_scores_the_runs_own_test_split_wherever_the_data_went(checkpoints, tmp_path, capsys):
    """``audioconv test`` pins the split to the run's splits.csv: the data folder moved
    (``--data-dir``) gives the same clips and the same report; a folder that gained a clip is
    refused (splitting it anew could put clips the model trained on into the test split)."""
    ckpt = checkpoints["audio"]
    run_dir = ckpt.parent.parent
    recorded = pd.read_csv(run_dir / "splits.csv")
    test_clips = sorted(Path(p).name for p in recorded.loc[recorded["split"] == "test", "path"])
    data = Path(recorded["path"][0]).parent
    here = tmp_path / "here"
    assert main(["test", "--checkpoint", str(ckpt), "--output-dir", str(here)]) == 0
    moved = tmp_path / "moved"
    shutil.copytree(data, moved)
    there = tmp_path / "there"
    argv = ["test", "--checkpoint", str(ckpt), "--data-dir", str(moved), "--output-dir", str(there)]
    assert main(argv) == 0
    for out in (here, there):
        assert sorted(Path(p).name for p in pd.read_csv(out / "predictions.csv")["path"]) == (
            test_clips
        )
    assert json.loads((there / "report.json").read_text()) == json.loads(
        (here / "report.json").read_text()
    )
    tested, trained = (pd.read_csv(f / "predictions.csv") for f in (here, run_dir))
    assert list(tested.columns) == ["path"] + [  # the run's own columns, and the label's p
        c for c in trained.columns if c not in ("path", "group")
    ] + ["probability"]
    shutil.copy(moved / "0_ann_0.wav", moved / "0_ann_1.wav")  # a clip the run never saw
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main([*argv[:-1], str(tmp_path / "again")])
    err = capsys.readouterr().err
    assert "1 clip(s) of the dataset are not listed" in err and "0_ann_1.wav" in err
    assert "the run's own test split" in err


def test_export_format_follows_the_suffix_and_a_run_folder_names_its_checkpoint(
    checkpoints, tmp_path, capsys
):
    """``--output model.pt`` without ``--format`` writes TorchScript (it wrote ONNX under a .pt
    name); a run folder given as the model names the checkpoint to pass."""
    from audioconv.deploy import model_format

    ckpt = checkpoints["audio"]
    for name, expected in (("m.pt", "torchscript"), ("m.onnx", "onnx")):
        assert main(["export", "--checkpoint", str(ckpt), "--output", str(tmp_path / name)]) == 0
        assert model_format(tmp_path / name) == expected
    run_dir = ckpt.parent.parent
    capsys.readouterr()
    out = str(tmp_path / "x.onnx")
    for argv in (["predict", "--checkpoint", str(run_dir), str(tmp_path)],
                 ["export", "--checkpoint", str(run_dir), "--output", out]):  # fmt: skip
        with pytest.raises(SystemExit):
            main(argv)
        assert f"a folder, not a model file: pass {ckpt}" in capsys.readouterr().err


def test_a_json_prediction_lists_its_skipped_inputs_in_json(checkpoints, tmp_path):
    clips = tmp_path / "clips"
    tone(clips / "good.wav", 300)
    (clips / "bad.wav").write_bytes(b"not audio")
    out = tmp_path / "p.json"
    ckpt = str(checkpoints["audio"])
    assert main(["predict", "--quiet", "--checkpoint", ckpt, str(clips), "--output", str(out)]) == 1
    skipped = json.loads((tmp_path / "p.skipped.json").read_text())
    assert [Path(r["path"]).name for r in skipped] == ["bad.wav"]
    assert not (tmp_path / "p.skipped.csv").exists()  # a .csv prediction's list is its own


@pytest.mark.slow
def test_test_never_writes_over_a_training_run(checkpoints, tmp_path, capsys):
    """``audioconv test`` into the run folder itself, or through a sent folder whose ``test``
    links to another run, is refused before anything is written."""
    run_dir = checkpoints["audio"].parent.parent
    before = (run_dir / "report.json").read_bytes()
    sent = tmp_path / "sent"
    shutil.copytree(run_dir, sent, ignore=shutil.ignore_patterns("test"))
    victim = tmp_path / "victim"
    shutil.copytree(run_dir, victim)
    (sent / "test").symlink_to(victim)
    for argv in (["test", "--checkpoint", str(checkpoints["audio"]), "--output-dir", str(run_dir)],
                 ["test", "--checkpoint", str(sent / "checkpoints" / "best.ckpt")]):  # fmt: skip
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        assert "holds a training run" in capsys.readouterr().err
    assert (run_dir / "report.json").read_bytes() == before
    assert (victim / "report.json").read_bytes() == before


@pytest.mark.slow
def test_test_of_a_sensor_run_refuses_data_that_changed_since(checkpoints, tmp_path, capsys):
    """A sensor run's split is made again from its log and seed: the same log tests as the run
    did; a log with one more recording would re-split the streams, so it is refused."""
    ckpt = checkpoints["sensor"]
    assert main(["test", "--checkpoint", str(ckpt), "--output-dir", str(tmp_path / "same")]) == 0
    # its predictions.csv, as the run wrote it (a smoke run tested its first batches only)
    tested, trained = (
        pd.read_csv(d / "predictions.csv") for d in (tmp_path / "same", ckpt.parent.parent)
    )
    assert list(tested.columns) == list(trained.columns)
    pd.testing.assert_frame_equal(tested.head(len(trained)), trained, atol=1e-6)
    old_run = tmp_path / "old_run"  # splits.csv as versions before its window columns wrote it
    shutil.copytree(ckpt.parent.parent, old_run)
    old_splits = pd.read_csv(old_run / "splits.csv")
    old_splits.drop(columns=["recording", "start_sample"]).to_csv(
        old_run / "splits.csv", index=False
    )
    old_ckpt = str(old_run / "checkpoints" / "best.ckpt")
    assert main(["test", "--checkpoint", old_ckpt, "--output-dir", str(tmp_path / "old")]) == 0
    log = pd.read_csv(ckpt.parent.parent.parent / "log.csv")
    extra = sensor_frame(60, "walk", np.random.default_rng(7))
    extra.insert(0, "recording", "r9")
    extra["activity"] = "walk"
    grown = tmp_path / "grown.csv"
    pd.concat([log, extra]).to_csv(grown, index=False)
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["test", "--checkpoint", str(ckpt), "--data-dir", str(grown),
              "--output-dir", str(tmp_path / "grown")])  # fmt: skip
    err = capsys.readouterr().err
    assert "the data differ from the data this run trained on" in err
    assert not (tmp_path / "grown" / "report.json").exists()


def test_summary_and_features_name_the_option_to_fix(tmp_path, capsys):
    clip = tmp_path / "clip.wav"
    tone(clip, 440)
    for argv, message in (
        (["summary", "lenet5", "--input-shape", "3", "32", "32"], "pass --in-channels 3"),
        (["features", str(clip), "--hop-length", "0"], "hop_length=0 must be a positive"),
    ):
        with pytest.raises(SystemExit):
            main(argv)
        assert message in capsys.readouterr().err


@pytest.fixture(scope="module")
def sensor_log_model(tmp_path_factory):
    """A sensor_windows model trained on a 50 Hz log ``recording,time_s,acc_x,acc_y,acc_z,
    activity`` (6 recordings), and one recording of each activity as its own file."""
    root = tmp_path_factory.mktemp("sensor_log")
    rng = np.random.default_rng(0)
    frames = []
    for stream in range(6):
        activity = ("rest", "walk")[stream % 2]
        frame = sensor_frame(100, activity, rng)
        frame.insert(0, "time_s", np.arange(100) / 50.0)
        frame.insert(0, "recording", f"r{stream}")
        frame["activity"] = activity
        frames.append(frame)
    log = pd.concat(frames, ignore_index=True)
    log.to_csv(root / "log.csv", index=False)
    argv = ["fit", "sensor_windows", "--data-dir", str(root / "log.csv"), "--window", "20",
            "--hop", "10", "--output-dir", str(root / "run"), "--smoke"]  # fmt: skip
    assert main(argv) == 0
    return root / "run" / "checkpoints" / "best.ckpt", frames[0], frames[1]


def test_predict_takes_a_sensor_logs_channels_by_name(sensor_log_model, tmp_path, capsys):
    """The model records its channel columns: a log with them in another order gets the same
    answer (it was classified silently on the columns' positions), one without a channel is
    refused naming it, --channels still picks the columns; an ONNX export does the same."""
    checkpoint, rest, walk = sensor_log_model
    same = tmp_path / "walk_xyz.csv"
    walk[["time_s", "acc_x", "acc_y", "acc_z"]].to_csv(same, index=False)
    reordered = tmp_path / "walk_zyx.csv"
    walk[["acc_z", "acc_y", "acc_x", "activity"]].to_csv(reordered, index=False)
    renamed = tmp_path / "walk_abc.csv"
    walk[["acc_x", "acc_y", "acc_z"]].set_axis(["a", "b", "c"], axis=1).to_csv(renamed, index=False)
    onnx = tmp_path / "model.onnx"
    assert main(["export", "--checkpoint", str(checkpoint), "--output", str(onnx)]) == 0
    for model in (checkpoint, onnx):
        out = tmp_path / f"{model.suffix[1:]}.csv"
        argv = ["predict", "--checkpoint", str(model), str(same), str(reordered), str(renamed)]
        assert main([*argv, "--output", str(out), "--quiet"]) == 1  # renamed: skipped
        got = pd.read_csv(out)
        assert list(got["path"]) == [str(same), str(reordered)]
        np.testing.assert_allclose(got["probability"][0], got["probability"][1], atol=1e-6)
        assert got["label"][0] == got["label"][1]
        err = capsys.readouterr().err
        assert f"{renamed}: no column(s) ['acc_x', 'acc_y', 'acc_z'] of the model's channels" in err
        assert "pass --channels" in err
    argv = ["predict", "--checkpoint", str(checkpoint), str(renamed), "--channels", "a,b,c"]
    assert main([*argv, "--output", str(tmp_path / "abc.csv")]) == 0
    assert pd.read_csv(tmp_path / "abc.csv")["probability"][0] == pytest.approx(
        got["probability"][0], abs=1e-6
    )


def test_predict_checks_a_sensor_logs_time_column_as_training_does(
    sensor_log_model, tmp_path, capsys
):
    """Rows out of time order, repeated timestamps, another rate and a log of several
    recordings were classified without a word; each is now listed with its reason."""
    checkpoint, rest, walk = sensor_log_model
    cases = {
        "shuffled": walk.sample(frac=1.0, random_state=0),
        "repeated": pd.concat([walk, walk]),
        "at100hz": walk.assign(time_s=np.arange(len(walk)) / 100.0),
        "two_recordings": pd.concat([rest, walk.assign(time_s=walk["time_s"])]),
        "good": walk,
    }
    paths = []
    for name, frame in cases.items():
        paths.append(tmp_path / f"{name}.csv")
        frame.to_csv(paths[-1], index=False)
    out = tmp_path / "out.csv"
    assert main(["predict", "--checkpoint", str(checkpoint), *map(str, paths), "--output",
                 str(out), "--quiet"]) == 1  # fmt: skip
    assert list(pd.read_csv(out)["path"]) == [str(paths[-1])]
    reasons = dict(pd.read_csv(tmp_path / "out.skipped.csv").to_numpy())
    assert "not in time order" in reasons[str(paths[0])]
    assert "repeats at data row 101" in reasons[str(paths[1])]
    assert "steps at 100 Hz (read as seconds), but the model takes 50 Hz" in reasons[str(paths[2])]
    assert "2 recordings in column 'recording' (r0, r1)" in reasons[str(paths[3])]


def test_predict_names_an_empty_ts_file(sensor_log_model, tmp_path, capsys):
    """An empty or header-only .ts file among others is listed as skipped (it vanished, exit 0);
    alone, the error names it (it said "no input could be read (0 tried):")."""
    checkpoint = str(sensor_log_model[0])
    good = tmp_path / "good.ts"
    write_ts(good, [np.random.default_rng(0).standard_normal((3, 30))])
    empty = tmp_path / "empty.ts"
    empty.write_text("")
    header = tmp_path / "header.ts"
    write_ts(header, [np.zeros((3, 5))])
    header.write_text(header.read_text().split("@data")[0] + "@data\n")
    assert main(["predict", "--checkpoint", checkpoint, str(good), str(empty), str(header)]) == 1
    captured = capsys.readouterr()
    assert f"{good}#0" in captured.out
    assert "skipped 2 of 3 inputs" in captured.err
    for path in (empty, header):
        assert f"{path}: no series after @data" in captured.err
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "--checkpoint", checkpoint, str(empty)])
    assert exit_info.value.code == 2
    assert f"{empty}: no series after @data" in capsys.readouterr().err


def test_read_inputs_of_an_empty_tsv_for_a_series_model(tmp_path):
    """A UCR model's empty .tsv input: its error speaks of series, not of a sensor log header."""
    from audioconv.cli import read_inputs
    from audioconv.contract import InputContract
    from audioconv.errors import ConfigError

    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    contract = InputContract(input_kind="sensor", channels=1, window=30)
    with pytest.raises(ConfigError, match="empty.tsv: the file is empty; a UCR .tsv file holds"):
        read_inputs(empty, contract)


@pytest.mark.slow
def test_sensor_predictions_name_each_windows_recording_and_predict_gives_them(
    checkpoints, tmp_path
):
    """A sensor run's predictions.csv says where each window lies (recording, first sample);
    ``audioconv predict --per-window`` on that recording gives the report's probabilities for
    the windows starting there."""
    ckpt = checkpoints["sensor"]
    run_dir = ckpt.parent.parent
    table = pd.read_csv(run_dir / "predictions.csv")
    splits = pd.read_csv(run_dir / "splits.csv")
    assert {"recording", "start_sample"} <= set(table.columns) and len(table) > 0
    assert not splits.duplicated(["recording", "start_sample"]).any()
    assert json.loads((run_dir / "report.json").read_text())["level"] == "window"
    log = pd.read_csv(run_dir.parent / "log.csv")
    recording = table["recording"].iloc[0]
    clip = tmp_path / f"{recording}.csv"
    log[log["recording"] == recording].drop(columns=["recording", "activity"]).to_csv(
        clip, index=False
    )
    out = tmp_path / "windows.json"
    assert main(["predict", "--quiet", "--checkpoint", str(ckpt), str(clip), "--per-window",
                 "--output", str(out)]) == 0  # fmt: skip
    (answer,) = json.loads(out.read_text())
    by_start = dict(zip(answer["window_start_sample"], answer["windows"]))
    rows = table[table["recording"] == recording]
    classes = [c for c in table.columns if c.startswith("p_")]
    for start, probabilities in zip(rows["start_sample"], rows[classes].to_numpy()):
        np.testing.assert_allclose(by_start[start], probabilities, atol=1e-5)


def test_predict_stream_and_compare_never_write_into_a_run(
    checkpoints, tmp_path, capsys, hold_run_lock
):
    """``--output`` / ``--plot`` naming a run's own file (metrics.csv, splits.csv, report.json,
    a figure), a file below a run, or a file in a folder a fit has locked, is refused before
    anything is written; a project folder's own config.yaml and checkpoints/ are no run."""
    from audioconv._runfolder import check_output_folder

    run_dir = checkpoints["audio"].parent.parent
    ckpt, clip = str(checkpoints["audio"]), tmp_path / "clip.wav"
    tone(clip, 700)
    locked = tmp_path / "fitting"  # as a fit starting there: only its lock, held
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    predict, stream = (["predict", "--checkpoint", ckpt, str(clip)],
                       ["stream", "--checkpoint", ckpt, str(clip)])  # fmt: skip
    refused = [
        [*predict, "--output", str(run_dir / "metrics.csv")],
        [*predict, "--output", str(run_dir / "checkpoints" / "a.csv")],
        [*stream, "--output", str(run_dir / "splits.csv")],
        [*stream, "--plot", str(run_dir / "learning_curves.png")],
        ["compare", str(run_dir), str(run_dir), "--output", str(run_dir / "report.json")],
        [*predict, "--output", str(locked / "metrics.csv")],
    ]
    hold_run_lock(locked)
    for argv in refused:
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2, argv
        assert "holds a training run" in capsys.readouterr().err, argv
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in locked.iterdir()) == [".lock"]
    project = tmp_path / "project"
    project.mkdir()
    (project / "config.yaml").write_text("experiment: tones\n")  # the user's own, not a run's
    (project / "checkpoints").mkdir()  # nor the user's own model file
    (project / "checkpoints" / "best.ckpt").write_bytes(b"my own model")
    check_output_folder(project / "runs" / "exp1")  # a fit below it is no nested run
    argv = ["predict", "--quiet", "--checkpoint", ckpt, str(clip)]
    assert main([*argv, "--output", str(project / "predictions.csv")]) == 0
    assert len(pd.read_csv(project / "predictions.csv")) == 1


def test_test_refuses_an_output_folder_in_a_runs_checkpoints(checkpoints, tmp_path, capsys):
    """``audioconv test --output-dir RUN/checkpoints`` is refused before its lock is taken, so
    the run's in-flight checkpoint (a temporary file) is left alone; RUN/test is the default."""
    run_dir = tmp_path / "run"
    shutil.copytree(checkpoints["image"].parent.parent, run_dir)
    in_flight = run_dir / "checkpoints" / ".last.ckpt.partial-abc123.ckpt"
    in_flight.write_bytes(b"being written by the run's fit")
    argv = ["test", "--checkpoint", str(run_dir / "checkpoints" / "best.ckpt"), "--smoke"]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--output-dir", str(run_dir / "checkpoints")])
    assert exit_info.value.code == 2
    assert f"is inside the run folder {run_dir.resolve()}" in capsys.readouterr().err
    assert in_flight.is_file()
    assert not (run_dir / "checkpoints" / "report.json").exists()
    assert main(argv) == 0 and (run_dir / "test" / "report.json").is_file()
