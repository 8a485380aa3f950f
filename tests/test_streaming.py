"""Streaming: chunked input gives the offline sliding-window predictions, with bounded memory."""

from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest
import soundfile
import torch
from numpy.lib.stride_tricks import sliding_window_view
from torch import nn

from audioconv.contract import resample
from audioconv.deploy import OnnxClassifier
from audioconv.errors import ConfigError, InputError
from audioconv.export import InferenceModel, export_onnx
from audioconv.features import LogMel
from audioconv.streaming import StreamClassifier, simulate, stream_main

# Module-scoped exports are shared: keep this file on one xdist worker.
pytestmark = pytest.mark.xdist_group("streaming")

RATE = 8000
WINDOW_S, HOP_S = 0.25, 0.0625  # 2000 and 500 samples
WINDOW, HOP = 2000, 500
CLASSES = ["silence", "tone", "noise"]


class TinyNet(nn.Module):
    """(batch, 1, n_mels, frames) -> (batch, 3) logits, global pooling."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.conv(x).relu().mean(dim=(-2, -1)))


@pytest.fixture(scope="module")
def model() -> InferenceModel:
    torch.manual_seed(0)
    frontend = LogMel(sample_rate=RATE, n_fft=256, hop_length=128, n_mels=16)
    return InferenceModel(
        TinyNet(), frontend=frontend, class_names=CLASSES, sample_rate=RATE
    ).eval()


@pytest.fixture(scope="module")
def signal() -> np.ndarray:
    """(1, 3.3 s) of tones and noise."""
    rng = np.random.default_rng(0)
    t = np.arange(int(3.3 * RATE)) / RATE
    wave = 0.3 * np.sin(2 * np.pi * 440 * t) * (t > 1.0) + 0.1 * rng.standard_normal(t.size)
    return wave.astype(np.float32)[None]


class Recorder:
    """Calls ``model`` and keeps every window it saw, in order."""

    def __init__(self, model):
        self.model, self.windows, self.sample_rate = model, [], RATE
        self.task, self.class_names = "multiclass", CLASSES

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.windows += [w.copy() for w in batch]
        with torch.inference_mode():
            return self.model(torch.from_numpy(batch)).numpy()


def offline_windows(signal: np.ndarray) -> np.ndarray:
    # (channels, time) -> (n_windows, channels, window)
    return sliding_window_view(signal, WINDOW, axis=-1)[:, ::HOP].transpose(1, 0, 2)


def push_random_chunks(stream, signal, seed):
    rng = np.random.default_rng(seed)
    out, start = [], 0
    while start < signal.shape[-1]:
        size = int(rng.choice([1, 7, 333, 499, 500, 2001, 4700]))
        out += stream.push(signal[..., start : start + size])
        start += size
    return out


def test_random_chunks_batch1_equal_offline_exactly(model, signal):
    # One window per model call on both sides: same inputs, same calls -> bitwise equal outputs.
    recorder = Recorder(model)
    stream = StreamClassifier(
        recorder, sample_rate=RATE, window_s=WINDOW_S, hop_s=HOP_S, max_batch=1
    )
    predictions = push_random_chunks(stream, signal, seed=0)
    windows = offline_windows(signal)
    assert len(predictions) == len(windows) == (signal.shape[-1] - WINDOW) // HOP + 1
    with torch.inference_mode():
        offline = [model(torch.from_numpy(w[None].copy())).numpy()[0] for w in windows]
    for k, (prediction, expected) in enumerate(zip(predictions, offline)):
        assert np.array_equal(recorder.windows[k], windows[k])
        assert np.array_equal(prediction.probabilities, expected)
        assert prediction.timestamp_s == (k * HOP + WINDOW) / RATE
        assert prediction.label == CLASSES[int(np.argmax(expected))]


def test_random_chunks_batched_same_windows(model, signal):
    # Big chunks put several windows in one call: the windows are bitwise the offline ones; the
    # probabilities may differ in the last bits (batched conv summation), so they match to 1e-6.
    recorder = Recorder(model)
    stream = StreamClassifier(
        recorder, sample_rate=RATE, window_s=WINDOW_S, hop_s=HOP_S, max_batch=4
    )
    predictions = push_random_chunks(stream, signal, seed=3)
    windows = offline_windows(signal)
    assert np.array_equal(np.stack(recorder.windows), windows)
    with torch.inference_mode():
        offline = model(torch.from_numpy(np.ascontiguousarray(windows))).numpy()
    got = np.stack([p.probabilities for p in predictions])
    np.testing.assert_allclose(got, offline, rtol=0, atol=1e-6)


def test_one_big_chunk_is_batched(model, signal):
    calls = []

    def counting(batch):
        calls.append(len(batch))
        with torch.inference_mode():
            return model(torch.from_numpy(batch)).numpy()

    stream = StreamClassifier(
        counting, sample_rate=RATE, window_s=WINDOW_S, hop_s=HOP_S, max_batch=16
    )
    predictions = stream.push(signal)
    assert len(predictions) == len(offline_windows(signal)) == sum(calls)
    assert calls[0] == 16 and len(calls) == -(-sum(calls) // 16)


def test_multichannel_sensor_stream():
    # A 3-axis sensor at 50 Hz; the "model" is numpy: softmax of the per-channel window means.
    rng = np.random.default_rng(1)
    data = rng.standard_normal((3, 1000)).astype(np.float32)

    def model(batch):  # (batch, 3, window) -> (batch, 3)
        means = batch.mean(axis=-1)
        e = np.exp(means - means.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    stream = StreamClassifier(
        model, sample_rate=50, window_s=2.0, hop_s=0.5, channels=3, class_names=["x", "y", "z"]
    )
    predictions = push_random_chunks(stream, data, seed=2)
    windows = sliding_window_view(data, 100, axis=-1)[:, ::25].transpose(1, 0, 2)
    assert len(predictions) == len(windows)
    np.testing.assert_allclose(
        np.stack([p.probabilities for p in predictions]), model(windows), rtol=0, atol=1e-6
    )
    assert [p.label for p in predictions] == [["x", "y", "z"][i] for i in model(windows).argmax(-1)]
    with pytest.raises(ConfigError, match="channels=3"):
        stream.push(np.zeros((2, 10), np.float32))


def test_memory_stays_flat():
    stream = StreamClassifier(
        lambda b: np.ones((len(b), 2)) / 2,
        sample_rate=RATE,
        window_s=WINDOW_S,
        hop_s=HOP_S,
        smoothing="mean",
    )
    chunk = np.zeros((1, 800), np.float32)

    def run(n):
        for _ in range(n):
            stream.push(chunk)

    run(50)
    tracemalloc.start()
    run(200)
    first = tracemalloc.get_traced_memory()[0]
    run(2000)  # 10x longer stream
    second = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert second - first < 20_000, (first, second)
    assert stream._ring.shape == (1, WINDOW)


def test_flush_short_stream_pads_at_the_end_as_training(model):
    recorder = Recorder(model)
    stream = StreamClassifier(recorder, sample_rate=RATE, window_s=WINDOW_S, hop_s=HOP_S)
    piece = np.linspace(-1, 1, 700, dtype=np.float32)
    assert stream.push(piece) == []
    (last,) = stream.flush()
    assert last.timestamp_s == 700 / RATE
    expected = np.concatenate([piece, np.zeros(WINDOW - 700, np.float32)])  # FixedLength's pad
    assert np.array_equal(recorder.windows[-1][0], expected)
    assert stream.clip.label == last.label  # one window: the clip's answer is that window's
    assert stream.flush() == [] and stream.time_s == 0.0 and stream.clip is None


def test_replayed_file_gets_the_contract_windows_and_clip(onnx_path, signal, tmp_path):
    onnx = OnnxClassifier(onnx_path)
    wav = tmp_path / "clip.wav"
    soundfile.write(wav, signal[0], RATE, subtype="FLOAT")
    run = simulate(wav, onnx, chunk_s=0.07)  # window and hop (half a window) from the contract
    streamed = list(run)
    windows = onnx.contract.apply(signal)  # (n, 1, 2000), the last one ending at the last sample
    assert len(streamed) == len(windows) and onnx.contract.window == WINDOW
    np.testing.assert_allclose(
        np.stack([p.probabilities for p in streamed]), onnx(windows), rtol=0, atol=1e-5
    )
    offline = onnx.predict(wav)
    assert run.stream.clip.label == offline.label
    np.testing.assert_allclose(run.stream.clip.probabilities, offline.probabilities, atol=1e-5)


def test_replayed_file_at_another_rate_is_resampled(onnx_path, signal, tmp_path):
    onnx = OnnxClassifier(onnx_path)
    wav = tmp_path / "clip16k.wav"
    fast = resample(signal, RATE, 16000)
    soundfile.write(wav, np.stack([fast[0], fast[0]], axis=1), 16000, subtype="FLOAT")  # stereo
    run = simulate(wav, onnx, chunk_s=0.05)
    list(run)
    offline = onnx.predict(wav)  # the same contract: mono mix, resample to 8 kHz, windows
    assert run.stream.sample_rate == RATE and run.stream.clip.label == offline.label
    np.testing.assert_allclose(run.stream.clip.probabilities, offline.probabilities, atol=1e-5)


def test_stream_rejects_bad_chunks_naming_them(onnx_path):
    stream = StreamClassifier(OnnxClassifier(onnx_path), sample_rate=RATE)
    with pytest.raises(InputError, match="chunk: samples of dtype int16"):
        stream.push(np.zeros(100, np.int16))
    with pytest.raises(InputError, match="chunk: the samples contain NaN"):
        stream.push(np.full(100, np.nan, np.float32))


@pytest.mark.parametrize("name", ["log.csv", "log.csv.gz", "series.ts"])
def test_simulate_refuses_a_sensor_log_and_names_the_command_that_scores_it(
    onnx_path, tmp_path, name
):
    """A library caller gets the CLI's pointer, not the audio decoder's error."""
    path = tmp_path / name
    path.write_bytes(b"t,ax\n0,1\n")
    with pytest.raises(ConfigError, match="a sensor log") as info:
        simulate(path, OnnxClassifier(onnx_path))
    assert str(path) in str(info.value) and "--per-window" in str(info.value)


def test_flush_covers_trailing_partial_hop(model, signal):
    stream = StreamClassifier(Recorder(model), sample_rate=RATE, window_s=WINDOW_S, hop_s=HOP_S)
    n = WINDOW + 3 * HOP + 123
    predictions = stream.push(signal[:, :n]) + stream.flush()
    assert [p.timestamp_s for p in predictions][-2:] == [(WINDOW + 3 * HOP) / RATE, n / RATE]


def test_smoothing_mean_and_majority():
    outputs = iter(np.eye(3, dtype=np.float32)[[0, 1, 1, 2, 2, 2, 0]])
    model = lambda batch: np.stack([next(outputs) for _ in batch])  # noqa: E731
    stream = StreamClassifier(
        model, sample_rate=10, window_s=1.0, hop_s=0.1, smoothing="mean", smoothing_k=3
    )
    means = stream.push(np.zeros(16, np.float32))
    assert len(means) == 7
    np.testing.assert_allclose(means[3].probabilities, [0, 2 / 3, 1 / 3], atol=1e-6)
    assert means[3].label == "1" and means[6].label == "2"

    outputs = iter(np.eye(3, dtype=np.float32)[[0, 1, 1, 2, 2, 0, 0]])
    stream = StreamClassifier(
        model, sample_rate=10, window_s=1.0, hop_s=0.1, smoothing="majority", smoothing_k=3
    )
    votes = stream.push(np.zeros(16, np.float32))
    # windows' labels 0 1 1 2 2 0 0 -> majority over the last 3 (ties to the most recent)
    assert [p.label for p in votes] == ["0", "1", "1", "1", "2", "2", "0"]
    assert votes[2].score == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"hop_s": 0.5}, "exceeds window_s"),
        ({"smoothing": "median"}, "smoothing='median'"),
        ({"smoothing_k": 0}, "smoothing_k=0"),
        ({"sample_rate": 16000}, "differs from the model"),
        ({"hop_s": 1e-6}, "at least one sample"),
    ],
)
def test_invalid_options(model, kwargs, match):
    options = {"sample_rate": RATE, "window_s": 0.25, "hop_s": 0.1, **kwargs}
    with pytest.raises(ConfigError, match=match):
        StreamClassifier(model, **options)


@pytest.fixture(scope="module")
def onnx_path(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("stream") / "tiny.onnx"
    return export_onnx(model, path, example_input=torch.randn(2, 1, WINDOW))


def test_simulate_file_and_pcm_match_push(model, signal, onnx_path, tmp_path):
    onnx = OnnxClassifier(onnx_path)
    expected = StreamClassifier(model, sample_rate=RATE, window_s=WINDOW_S, hop_s=HOP_S)
    reference = expected.push(signal) + expected.flush()

    wav = tmp_path / "clip.wav"
    soundfile.write(wav, signal[0], RATE, subtype="FLOAT")
    run = simulate(wav, onnx, hop_s=HOP_S, window_s=WINDOW_S, chunk_s=0.03)
    from_file = list(run)
    assert run.audio_s == pytest.approx(signal.shape[-1] / RATE) and run.real_time_factor > 1

    pcm = io.BytesIO(signal[0].astype("<f4").tobytes())
    from_pcm = list(
        simulate(pcm, onnx, hop_s=HOP_S, window_s=WINDOW_S, pcm_format="f32le", chunk_s=0.011)
    )
    for got in (from_file, from_pcm):
        assert [p.timestamp_s for p in got] == [p.timestamp_s for p in reference]
        np.testing.assert_allclose(
            np.stack([p.probabilities for p in got]),
            np.stack([p.probabilities for p in reference]),
            rtol=0,
            atol=1e-4,
        )


def test_simulate_s16le_pcm(onnx_path):
    # 16-bit PCM bytes scaled by 1/32768.
    onnx = OnnxClassifier(onnx_path)
    samples = (np.random.default_rng(0).standard_normal(RATE) * 3000).astype("<i2")
    predictions = list(simulate(io.BytesIO(samples.tobytes()), onnx, hop_s=0.25, chunk_s=0.05))
    assert len(predictions) == 4  # windows end at 0.25, 0.5, 0.75, 1.0 s; nothing left to flush
    with torch.inference_mode():
        window = torch.from_numpy(samples[:WINDOW].astype(np.float32) / 32768)[None, None]
        np.testing.assert_allclose(onnx(window.numpy())[0], predictions[0].probabilities, atol=1e-6)
    # two channels mix down to the model's one, as files do (the contract's rule)
    both = np.repeat(samples, 2)  # interleaved L R L R ...
    mixed = list(simulate(io.BytesIO(both.tobytes()), onnx, hop_s=0.25, channels=2, chunk_s=0.05))
    np.testing.assert_allclose(
        np.stack([p.probabilities for p in mixed]),
        np.stack([p.probabilities for p in predictions]),
        atol=1e-6,
    )


def test_stream_main_prints_lines_and_rtf(onnx_path, signal, tmp_path):
    wav = tmp_path / "clip.wav"
    soundfile.write(wav, signal[0], RATE, subtype="PCM_16")
    out = io.StringIO()
    rtf = stream_main(wav, onnx_path, window_s=WINDOW_S, hop_s=0.25, smoothing="majority", out=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("t=  0.25s  ") and lines[1].startswith("t=  0.50s  ")
    label, score = lines[0].split()[-2:]
    assert label in CLASSES and 0 < float(score) <= 1
    assert lines[-1].startswith("# real-time factor") and rtf > 1


def test_raw_pcm_at_another_rate_is_resampled_as_it_arrives(onnx_path, signal, tmp_path):
    onnx = OnnxClassifier(onnx_path)
    fast = resample(signal, RATE, 16000)  # (1, time) at 16 kHz
    stereo = np.concatenate([fast, fast]).T.astype("<f4")  # interleaved 2-channel PCM
    run = simulate(
        io.BytesIO(stereo.tobytes()), onnx, sample_rate=16000, channels=2, pcm_format="f32le"
    )
    streamed = list(run)
    wav = tmp_path / "clip16k.wav"
    soundfile.write(wav, stereo, 16000, subtype="FLOAT")
    offline = onnx.predict(wav, per_window=True)  # the whole file mixed down and resampled
    assert len(streamed) == len(offline.windows)
    np.testing.assert_allclose(
        np.stack([p.probabilities for p in streamed]), offline.windows, rtol=0, atol=1e-5
    )
    assert run.stream.clip.label == offline.label


def test_raw_pcm_without_a_rate_says_which_rate_it_assumes(onnx_path, signal, capsys):
    pcm = io.BytesIO((signal[0] * 32767).astype("<i2").tobytes())  # s16le at the model's rate
    out = io.StringIO()
    stream_main(pcm, onnx_path, out=out)
    assert f"raw PCM taken to be at {RATE:g} Hz, the model's rate" in capsys.readouterr().err
    pcm.seek(0)
    stream_main(pcm, onnx_path, sample_rate=RATE, out=out)
    assert "raw PCM taken" not in capsys.readouterr().err
