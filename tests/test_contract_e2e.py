"""Trained accuracy survives every path to a prediction (issue 12).

One tiny model is trained once (``audioconv fit spoken_digits`` on generated tones) and its held-out
clips — shorter than the training window, exactly as long, longer (cut into sliding windows), and
recorded at another sample rate — go through every door a user has: ``audioconv test``, ``audioconv
predict`` on a folder (from the ``.ckpt``, the ``.onnx`` and the TorchScript file),
``OnnxClassifier`` and streaming. Each must give the same label on >= 99.5% of the clips and the
same accuracy within 0.5 points as the run's own report.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from audioconv.cli import main
from audioconv.deploy import OnnxClassifier, load_predictor
from audioconv.streaming import simulate

# The trained model and its exports are shared: keep this file on one xdist worker.
pytestmark = pytest.mark.xdist_group("contract_e2e")

RATE = 8000
WINDOW_S = 0.25  # the training clip length: 2000 samples
DIGITS = (0, 1, 2)
TRAIN_SPEAKERS = [f"s{i}" for i in range(10)]
VAL_SPEAKERS = ["v0", "v1"]
TEST_SPEAKERS = [f"t{i}" for i in range(6)]
# held-out clips: (seconds, rate) — shorter, equal, longer (3 and 5 windows), another rate
HELD_OUT = [(0.12, RATE), (0.25, RATE), (0.6, RATE), (0.25, 16000), (0.9, 16000), (0.15, 11025)]
FIT = [
    "--model", "spectrogram_cnn", "--model_kwargs", '{"channels": [8, 16]}',
    "--clip_seconds", str(WINDOW_S), "--n_fft", "256", "--hop_length", "64", "--n_mels", "24",
    "--time_mask", "2", "--freq_mask", "2", "--batch_size", "8", "--max_epochs", "12",
    "--speed_factors", "null", "--noise_snr_db", "null", "--lr", "0.02", "--scheduler", "null",
    "--vtlp", "0.1",  # a training-only warp: no door to a prediction may apply it
]  # fmt: skip


def digit_clip(digit: int, seconds: float, rate: int, seed: int) -> np.ndarray:
    """A 'spoken digit': a tone (with one harmonic) per digit, speaker-dependent pitch + noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * rate))) / rate
    base = (450.0 + 700.0 * digit) * rng.uniform(0.95, 1.05)
    wave = 0.4 * np.sin(2 * math.pi * base * t) + 0.15 * np.sin(2 * math.pi * 2 * base * t)
    return (wave + 0.03 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The run folder of a model trained through ``audioconv fit`` on generated FSDD clips, its
    held-out folder and their true labels."""
    root = tmp_path_factory.mktemp("e2e")
    data = root / "digits"
    rows, seed = [], 0
    for split, speakers in (("train", TRAIN_SPEAKERS), ("val", VAL_SPEAKERS)):
        for speaker in speakers:
            for digit in DIGITS:
                for index in range(3):
                    seed += 1
                    path = f"{split}/{digit}_{speaker}_{index}.wav"
                    (data / split).mkdir(parents=True, exist_ok=True)
                    seconds = (0.12, 0.25, 0.4)[index]  # padded, exact and cropped
                    sf.write(data / path, digit_clip(digit, seconds, RATE, seed), RATE)
                    rows.append((path, digit, speaker, split))
    (data / "heldout").mkdir()
    for speaker in TEST_SPEAKERS:
        for digit in DIGITS:
            for index, (seconds, rate) in enumerate(HELD_OUT):
                seed += 1
                path = f"heldout/{digit}_{speaker}_{index}.wav"
                sf.write(data / path, digit_clip(digit, seconds, rate, seed), rate)
                rows.append((path, digit, speaker, "test"))
    table = pd.DataFrame(rows, columns=["path", "label", "speaker", "split"])
    table.to_csv(data / "splits.csv", index=False)
    run = root / "run"
    assert (
        main(["fit", "spoken_digits", "--data-dir", str(data), "--output-dir", str(run), *FIT]) == 0
    )
    assert "vtlp: 0.1" in (run / "config.yaml").read_text()  # trained with the warp on
    truth = {
        str(data / p): str(label) for p, label, _, s in rows if s == "test"
    }  # absolute path -> label
    return run, data / "heldout", truth


def accuracy(labels: dict[str, str], truth: dict[str, str]) -> float:
    assert set(labels) == set(truth)
    return float(np.mean([labels[p] == truth[p] for p in truth]))


def agreement(a: dict[str, str], b: dict[str, str]) -> float:
    assert set(a) == set(b)
    return float(np.mean([a[p] == b[p] for p in a]))


def predict_csv(model, folder, out) -> dict[str, str]:
    assert main(["predict", "--checkpoint", str(model), str(folder), "--output", str(out)]) == 0
    frame = pd.read_csv(out, dtype={"label": str, "top1": str})
    assert list(frame.columns[:3]) == ["path", "label", "probability"] and "top3" in frame
    return {str(p): label for p, label in zip(frame["path"], frame["label"])}


@pytest.fixture(scope="module")
def paths(trained, tmp_path_factory):
    """``{path name: {clip: label}}`` for every way to a prediction, and the run's accuracy."""
    run, heldout, truth = trained
    out = tmp_path_factory.mktemp("paths")
    checkpoint = run / "checkpoints" / "best.ckpt"
    onnx_file, script_file = out / "model.onnx", out / "model.pt"
    assert main(["export", "--checkpoint", str(checkpoint), "--output", str(onnx_file)]) == 0
    argv = ["export", "--checkpoint", str(checkpoint), "--format", "torchscript"]
    assert main([*argv, "--output", str(script_file)]) == 0

    labels: dict[str, dict[str, str]] = {}
    assert main(["test", "--checkpoint", str(checkpoint), "--output-dir", str(out / "test")]) == 0
    tested = pd.read_csv(out / "test" / "predictions.csv", dtype={"predicted": str})
    labels["audioconv test"] = dict(zip(tested["path"], tested["predicted"]))
    labels["predict .ckpt"] = predict_csv(checkpoint, heldout, out / "ckpt.csv")
    labels["predict .onnx"] = predict_csv(onnx_file, heldout, out / "onnx.csv")
    labels["predict TorchScript"] = predict_csv(script_file, heldout, out / "script.csv")
    clips = sorted(truth)
    onnx = OnnxClassifier(onnx_file)
    labels["OnnxClassifier"] = {c: p.label for c, p in zip(clips, onnx.predict_batch(clips))}
    streamed = {}
    for name, model in (("stream .ckpt", load_predictor(checkpoint)), ("stream .onnx", onnx)):
        for clip in clips:
            run_ = simulate(clip, model, chunk_s=0.05)
            list(run_)
            streamed[clip] = run_.stream.clip.label
        labels[name] = dict(streamed)
    fit_report = json.loads((run / "report.json").read_text())
    test_report = json.loads((out / "test" / "report.json").read_text())
    return labels, truth, fit_report, test_report, out


def test_held_out_clips_cover_every_case(trained):
    _, heldout, truth = trained
    infos = [sf.info(p) for p in truth]
    window = WINDOW_S * RATE
    assert any(i.frames * RATE / i.samplerate < window for i in infos)  # shorter
    assert any(i.frames * RATE / i.samplerate > 2 * window for i in infos)  # several windows
    assert {i.samplerate for i in infos} == {RATE, 16000, 11025}  # other rates


def test_reports_score_whole_clips(paths, trained):
    _, _, fit_report, test_report, _ = paths
    truth = trained[2]
    for report in (fit_report, test_report):
        assert report["level"] == "clip" and report["n_samples"] == len(truth)
    assert (
        abs(test_report["metrics"]["accuracy_score"] - fit_report["metrics"]["accuracy_score"])
        <= 0.005
    )


def test_every_path_agrees_with_the_run(paths):
    labels, truth, fit_report, _, _ = paths
    promised = fit_report["metrics"]["accuracy_score"]
    assert promised >= 0.8, f"the tiny model did not learn the tones ({promised})"
    reference = labels["audioconv test"]
    assert accuracy(reference, truth) == pytest.approx(promised, abs=0.005)
    for name, got in labels.items():
        assert agreement(got, reference) >= 0.995, name
        assert abs(accuracy(got, truth) - promised) <= 0.005, name


def test_predict_gives_the_reports_probabilities_at_every_rate(paths, trained):
    """Not just the labels: each clip's probability from ``audioconv predict`` (checkpoint and
    ONNX) is the one ``audioconv test`` wrote, for clips at the model's rate and at 16 and
    11.025 kHz. Training and every runtime resample with one function
    (``contract.resample``), so nothing separates them but float rounding."""
    *_, out = paths
    tested = pd.read_csv(out / "test" / "predictions.csv", dtype={"predicted": str})
    tested = tested.set_index("path")
    rates = {str(p): sf.info(p).samplerate for p in trained[2]}
    assert set(rates.values()) == {RATE, 16000, 11025}
    for name in ("ckpt.csv", "onnx.csv"):
        frame = pd.read_csv(out / name, dtype={"label": str})
        assert len(frame) == len(tested)
        for path, label, probability in zip(frame["path"], frame["label"], frame["probability"]):
            row = tested.loc[path]
            assert label == row["predicted"], (name, path, rates[path])
            # both files round to 6 decimals
            assert probability == pytest.approx(row["probability"], abs=2e-6), (name, rates[path])


def test_stream_of_a_checkpoint_from_the_command_line(trained, capsys):
    run, heldout, truth = trained
    clip = heldout / "2_t0_4.wav"  # 0.9 s at 16 kHz: resampled, several windows
    capsys.readouterr()
    assert main(["stream", "--checkpoint", str(run / "checkpoints" / "best.ckpt"), str(clip)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("t=  0.25s  ")
    assert len([line for line in lines if line.startswith("t=")]) == 7  # windows every 0.125 s
    clip_line = next(line for line in lines if line.startswith("# clip"))
    offline = load_predictor(run / "checkpoints" / "best.ckpt").predict(clip)
    assert clip_line.split()[2] == offline.label
    assert float(clip_line.split()[3]) == pytest.approx(offline.score, abs=1e-3)


def test_classifier_predict_clip_takes_the_same_path(trained):
    from audioconv.decode import read_audio
    from audioconv.tasks import load_classifier

    run, heldout, _ = trained
    checkpoint = run / "checkpoints" / "best.ckpt"
    model = load_classifier(checkpoint)
    assert model.input_contract.window == WINDOW_S * RATE
    clip = heldout / "1_t1_4.wav"  # 0.9 s at 16 kHz
    wave, rate = read_audio(clip)
    expected = load_predictor(checkpoint).predict(clip)
    got = model.predict_clip(wave, sample_rate=rate)
    np.testing.assert_allclose(got.numpy(), expected.probabilities, rtol=0, atol=1e-5)
    assert tuple(model.predict_clip(wave, sample_rate=rate, per_window=True).shape) == (7, 3)
