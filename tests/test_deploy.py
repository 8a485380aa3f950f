"""OnnxClassifier: torch-free inference that prepares input the way training does."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch
from torch import nn

from audioconv.deploy import OnnxClassifier, decide, model_format, require_format, resample
from audioconv.errors import (
    AudioDecodeError,
    AudioFileNotFoundError,
    ConfigError,
    EmptyAudioError,
    InputError,
    NonFiniteAudioError,
)
from audioconv.export import InferenceModel, export_onnx, export_torchscript
from audioconv.features import FixedLength, LogMel
from audioconv.io import load_audio

# Module-scoped exports are shared: keep this file on one xdist worker.
pytestmark = pytest.mark.xdist_group("deploy")

RATE = 8000
LENGTH = 4000  # the model's fixed input: 0.5 s
CLASSES = ["cat", "dog", "bird"]


class FlatHead(nn.Module):
    """(batch, 1, 16, frames) -> (batch, 3) through a fixed-size linear layer."""

    def __init__(self, frames: int):
        super().__init__()
        self.fc = nn.Linear(16 * frames, 3)

    def forward(self, x):
        return self.fc(x.flatten(1))  # (batch, 1, 16, frames) -> (batch, 16 * frames)


@pytest.fixture(scope="module")
def model() -> InferenceModel:
    torch.manual_seed(0)
    frontend = LogMel(sample_rate=RATE, n_fft=256, hop_length=128, n_mels=16)
    frames = LENGTH // 128 + 1
    return InferenceModel(
        FlatHead(frames), frontend=frontend, class_names=CLASSES, sample_rate=RATE
    ).eval()


@pytest.fixture(scope="module")
def onnx_path(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("deploy") / "model.onnx"
    return export_onnx(model, path, example_input=torch.randn(2, 1, LENGTH))


def tones(rate: int, seconds: float, channels: int = 1, seed: int = 0) -> np.ndarray:
    """(channels, time) sums of tones below 3 kHz (inside every Nyquist band used here)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    out = [
        sum(0.2 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in rng.uniform(80, 3000, 4))
        for _ in range(channels)
    ]
    return np.stack(out).astype(np.float32)


def torch_probabilities(model, wave: torch.Tensor) -> np.ndarray:
    """What training-side code computes for one (1, time) clip of exactly LENGTH samples."""
    with torch.inference_mode():
        return model(wave[None]).numpy()[0]  # (1, time) -> (1, 1, time)


def test_fixed_length_recorded(onnx_path):
    classifier = OnnxClassifier(onnx_path)
    assert classifier.input_shape == [None, 1, LENGTH] and classifier.window_length == LENGTH
    assert classifier.class_names == CLASSES and classifier.sample_rate == RATE


def test_runs_without_torch_and_matches_pytorch(model, onnx_path, tmp_path):
    wav = tmp_path / "clip.wav"
    soundfile.write(wav, tones(RATE, 0.5)[0], RATE, subtype="FLOAT")
    script = f"""
import json, sys
import numpy as np
from audioconv.deploy import OnnxClassifier
classifier = OnnxClassifier({str(onnx_path)!r})
one = classifier.predict({str(wav)!r})
batch = classifier.predict_batch([{str(wav)!r}, np.zeros({LENGTH}, np.float32)])
from audioconv.streaming import StreamClassifier
stream = StreamClassifier(classifier, sample_rate={RATE}, hop_s=0.25)  # window: the model's 0.5 s
streamed = stream.push(np.zeros({RATE}, np.float32))
print(json.dumps({{"torch": "torch" in sys.modules, "label": one.label, "score": one.score,
                  "p": one.probabilities.tolist(), "batch": [p.label for p in batch],
                  "streamed": [p.timestamp_s for p in streamed]}}))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    out = json.loads(result.stdout)
    assert out["torch"] is False
    assert out["streamed"] == [0.5, 0.75, 1.0]
    wave, _ = load_audio(wav)
    expected = torch_probabilities(model, wave)
    np.testing.assert_allclose(out["p"], expected, rtol=0, atol=1e-4)
    assert out["label"] == CLASSES[int(expected.argmax())] == out["batch"][0]
    assert out["score"] == pytest.approx(float(expected.max()), abs=1e-4)


def test_stereo_file_is_mixed_down_like_training(model, onnx_path, tmp_path):
    wav = tmp_path / "stereo.wav"
    stereo = tones(RATE, 0.5, channels=2)
    soundfile.write(wav, stereo.T, RATE, subtype="FLOAT")
    got = OnnxClassifier(onnx_path).predict(wav).probabilities
    wave, _ = load_audio(wav, mono=True)
    np.testing.assert_allclose(got, torch_probabilities(model, wave), atol=1e-4)
    np.testing.assert_allclose(
        got, OnnxClassifier(onnx_path).predict(stereo.mean(axis=0)).probabilities, atol=1e-6
    )


def test_training_decodes_a_file_at_another_rate_as_every_runtime_does(model, onnx_path, tmp_path):
    """``load_audio`` (what training and ``audioconv test`` read) resamples with the contract's
    ``resample``, so a file at another rate reaches the network as the same samples either way."""
    for orig in (44100, 22050, 16000, 11025):
        wav = tmp_path / f"at{orig}.wav"
        soundfile.write(wav, tones(orig, 0.5, seed=orig)[0], orig, subtype="FLOAT")
        wave, rate = load_audio(wav, sample_rate=RATE)
        data, file_rate = soundfile.read(wav, dtype="float32", always_2d=True)
        assert rate == RATE and file_rate == orig
        np.testing.assert_array_equal(wave.numpy(), resample(data.T, orig, RATE))
    classifier = OnnxClassifier(onnx_path)
    got = classifier.predict(wav).probabilities  # the 11.025 kHz file
    np.testing.assert_allclose(got, torch_probabilities(model, wave), rtol=0, atol=1e-6)


def test_short_clips_pad_at_the_end_long_clips_slide(onnx_path):
    classifier = OnnxClassifier(onnx_path)
    long = tones(RATE, 0.8)  # 6400 samples: windows at 0, 2000 and one ending at the last sample
    short = long[:, :1500]
    padded = np.pad(short, ((0, 0), (0, LENGTH - 1500)))
    np.testing.assert_array_equal(classifier.prepare(short), padded[None])
    fixed = FixedLength(LENGTH, crop="center").eval()  # what training clips are padded by
    np.testing.assert_array_equal(classifier.prepare(short)[0], fixed(torch.from_numpy(short)))
    windows = classifier.prepare(long)
    assert windows.shape == (3, 1, LENGTH)
    for window, start in zip(windows, (0, 2000, 6400 - LENGTH)):
        np.testing.assert_array_equal(window, long[:, start : start + LENGTH])
    # No silent centre crop: the clip's answer is the mean over all of its windows.
    prediction = classifier.predict(long, per_window=True)
    np.testing.assert_allclose(prediction.windows, classifier(windows), atol=1e-6)
    np.testing.assert_allclose(prediction.probabilities, classifier(windows).mean(0), atol=1e-6)
    np.testing.assert_allclose(
        classifier.predict(short).probabilities, classifier.predict(padded).probabilities, atol=0
    )
    # An array at another rate is resampled before the windows are cut.
    assert classifier.prepare(tones(16000, 0.3), sample_rate=16000).shape == (1, 1, LENGTH)


def test_contract_is_read_from_the_bare_onnx_file(onnx_path, tmp_path):
    import onnx

    lonely = tmp_path / "lonely.onnx"  # no sidecar beside it
    lonely.write_bytes(onnx_path.read_bytes())
    props = {p.key: p.value for p in onnx.load(str(lonely)).metadata_props}
    contract = json.loads(props["audioconv.input_contract"])
    assert contract["window"] == LENGTH and contract["sample_rate"] == RATE
    assert contract["pad"] == "right" and contract["threshold"] == 0.5
    classifier = OnnxClassifier(lonely)
    assert classifier.contract.to_dict() == contract
    assert json.loads(props["audioconv"])["class_names"] == CLASSES


def test_predict_batch_equals_predict(onnx_path):
    classifier = OnnxClassifier(onnx_path)
    clips = [tones(RATE, s, seed=i) for i, s in enumerate([0.2, 0.5, 0.7])]
    batch = classifier.predict_batch(clips)
    for clip, prediction in zip(clips, batch):
        single = classifier.predict(clip)
        assert prediction.label == single.label
        np.testing.assert_allclose(prediction.probabilities, single.probabilities, atol=1e-6)


def test_errors_name_the_fix(onnx_path, tmp_path):
    classifier = OnnxClassifier(onnx_path)
    with pytest.raises(AudioFileNotFoundError, match="missing.wav"):
        classifier.predict(tmp_path / "missing.wav")
    wav = tmp_path / "clip.wav"
    soundfile.write(wav, tones(RATE, 0.1)[0], RATE)
    with pytest.raises(ConfigError, match="drop sample_rate"):
        classifier.predict(wav, sample_rate=RATE)
    with pytest.raises(ConfigError, match="threshold=1.5"):
        OnnxClassifier(onnx_path, threshold=1.5)


@pytest.mark.parametrize(
    ("wave", "match"),
    [
        (np.zeros(0, np.float32), r"input\[1\]: empty input"),
        (
            np.zeros((1, 1, 10), np.float32),
            r"input\[1\]: array of shape \(1, 1, 10\); pass \(time,\)",
        ),
        (np.zeros(100, np.int16), r"input\[1\]: samples of dtype int16.*convert"),
        (np.array([0.1, np.nan, 0.2], np.float32), r"input\[1\]: the samples contain NaN"),
        (np.array([0.1, np.inf], np.float32), r"input\[1\]: the samples contain NaN or infinity"),
    ],
)
def test_bad_arrays_are_refused_naming_the_input(onnx_path, wave, match):
    with pytest.raises(InputError, match=match):
        OnnxClassifier(onnx_path).predict_batch([np.zeros(10, np.float32), wave])


def test_bad_files_are_refused_naming_the_file(onnx_path, tmp_path):
    classifier = OnnxClassifier(onnx_path)
    whole = tmp_path / "whole.wav"
    soundfile.write(whole, tones(RATE, 0.5)[0], RATE, subtype="PCM_16")
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(whole.read_bytes()[:3000])  # the header still declares 0.5 s
    with pytest.raises(AudioDecodeError, match="truncated.wav: truncated"):
        classifier.predict(truncated)
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all\n")
    with pytest.raises(AudioDecodeError, match="notes.wav: cannot decode"):
        classifier.predict(text)
    empty = tmp_path / "empty.wav"
    soundfile.write(empty, np.zeros(0, np.float32), RATE)
    with pytest.raises(EmptyAudioError, match="empty.wav: the file holds 0 samples"):
        classifier.predict(empty)
    nan = tmp_path / "nan.wav"
    soundfile.write(nan, np.array([0.1, np.nan, 0.2], np.float32), RATE, subtype="FLOAT")
    with pytest.raises(NonFiniteAudioError, match="nan.wav: the samples contain NaN"):
        classifier.predict(nan)


def test_model_files_are_told_apart_by_content(model, onnx_path, tmp_path):
    assert model_format(onnx_path) == "onnx"
    renamed = tmp_path / "model.ckpt"  # an ONNX file under a checkpoint's name
    renamed.write_bytes(onnx_path.read_bytes())
    assert model_format(renamed) == "onnx"
    with pytest.raises(ConfigError, match=r"model.ckpt: this is an ONNX model, but audioconv "):
        require_format(renamed, ["checkpoint"], what="audioconv export")
    scripted = tmp_path / "model.pt"
    export_torchscript(model, scripted, torch.randn(2, 1, LENGTH))
    assert model_format(scripted) == "torchscript"
    with pytest.raises(ConfigError, match="model.pt: this is a TorchScript model, but Onnx"):
        OnnxClassifier(scripted)
    junk = tmp_path / "junk.onnx"
    junk.write_text("hello")
    with pytest.raises(ConfigError, match="junk.onnx: not an ONNX model"):
        OnnxClassifier(junk)


def test_decide_for_every_task():
    assert decide(np.array([0.2, 0.5]), task="multiclass") == ("1", 0.5)
    assert decide(np.array(0.9), task="binary", class_names=["neg", "pos"]) == ("pos", 0.9)
    assert decide(np.array([0.7, 0.1, 0.6]), task="multilabel", class_names=list("abc")) == (
        "a;c",
        0.7,
    )
    assert decide(np.array([0.1, 0.2]), task="multilabel")[0] == ""
    assert decide(np.array([3.14159]), task="regression") == ("3.142", pytest.approx(3.14159))
    with pytest.raises(ConfigError, match="task='ranking'"):
        decide(np.array([1.0]), task="ranking")


def test_one_thresholding_rule_for_evaluation_prediction_and_training_scores():
    """A score exactly at the threshold is positive everywhere: report, predict, task score."""
    from audioconv.evaluation import evaluate
    from audioconv.tasks import task_score

    report = evaluate([1, 0], [0.5, 0.2], task="binary", threshold=0.5)
    assert report.metrics["accuracy_score"] == 1.0
    assert decide(np.array(0.5), task="binary", class_names=["no", "yes"])[0] == "yes"
    assert decide(np.array([0.5, 0.49]), task="multilabel", class_names=["a", "b"])[0] == "a"
    assert task_score(torch.tensor([0.5]), torch.tensor([1]), task="binary")[1] == 1.0
    report = evaluate([[1, 0]], [[0.3, 0.1]], task="multilabel", threshold=0.3)
    assert report.metrics["accuracy_score"] == 1.0
