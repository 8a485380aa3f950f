"""Shared fixtures: a tiny FSDD-layout dataset of tones, the options of a seconds-long run, a
two-epoch ``audioconv fit`` of a tiny ResNet on it, and the check that a run's ONNX export
answers as its predictions.csv promised."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

RATE = 8000

#: recipe options that make an audio recipe train in seconds (a 2-layer CNN on 0.25 s clips)
TINY_AUDIO_OPTIONS = [
    "--model", "spectrogram_cnn", "--model_kwargs", '{"channels": [4, 8]}', "--sample_rate",
    str(RATE), "--clip_seconds", "0.25", "--n_fft", "256", "--hop_length", "80", "--n_mels", "16",
    "--time_mask", "2", "--freq_mask", "2", "--batch_size", "8", "--smoke",
]  # fmt: skip


@pytest.fixture(scope="session")
def tiny_audio_options() -> list[str]:
    return list(TINY_AUDIO_OPTIONS)


@pytest.fixture(scope="session")
def tone_digits(tmp_path_factory):
    """``make(clips_per_digit, suffix)`` -> a folder of FSDD-named clips of 3 'digits' (tones at
    300 / 800 / 1300 Hz plus noise) by 4 speakers — ann, bob train, cat val, dan test — and the
    ``splits.csv`` that pins them."""

    def make(clips_per_digit: int = 4, suffix: str = ".wav"):
        root = tmp_path_factory.mktemp("digits")
        rows = []
        t = np.arange(int(0.3 * RATE)) / RATE
        for s, (speaker, split) in enumerate(
            (("ann", "train"), ("bob", "train"), ("cat", "val"), ("dan", "test"))
        ):
            for digit in range(3):
                for index in range(clips_per_digit):
                    rng = np.random.default_rng(100 * s + index)
                    wave = 0.5 * np.sin(2 * math.pi * (300 + 500 * digit) * t)
                    wave += 0.05 * rng.standard_normal(len(t))
                    name = f"{digit}_{speaker}_{index}{suffix}"
                    sf.write(root / name, wave.astype(np.float32), RATE)
                    rows.append({"path": name, "label": digit, "speaker": speaker, "split": split})
        pd.DataFrame(rows).to_csv(root / "splits.csv", index=False)
        return root

    return make


@pytest.fixture
def fit_tiny_resnet(tone_digits, tiny_audio_options, tmp_path):
    """``fit(model_kwargs, *options) -> (data, run)``: ``audioconv fit spoken_digits`` on the tone
    digits, two whole epochs (no smoke limit) of a ``resnet18`` built with ``model_kwargs``, no
    baseline, plus ``options``; the command must succeed."""

    def fit(model_kwargs, *options):
        from audioconv.cli import main

        data, run = tone_digits(clips_per_digit=4), tmp_path / "run"
        tiny = [o for o in tiny_audio_options if o != "--smoke"]
        argv = ["fit", "spoken_digits", "--data-dir", str(data), "--output-dir", str(run), *tiny,
                "--model", "resnet18", "--model_kwargs", json.dumps(model_kwargs),
                "--max-epochs", "2", "--no-baseline", *options]  # fmt: skip
        assert main(argv) == 0
        return data, run

    return fit


@pytest.fixture(scope="session")
def onnx_answers_as_promised():
    """``check(run, data, workdir, paths=None)``: ``audioconv export`` the run's ``best.ckpt`` to
    ONNX, then ``audioconv predict`` its test clips (under ``data``; or ``paths``, one file per row
    of ``predictions.csv``); the labels and probabilities must be the run's ``predictions.csv``
    (probabilities to 1e-4). Returns the ONNX file."""

    def check(run, data, workdir, paths=None):
        from audioconv.cli import main

        onnx_file = workdir / "model.onnx"
        checkpoint = run / "checkpoints" / "best.ckpt"
        assert main(["export", "--checkpoint", str(checkpoint), "--output", str(onnx_file)]) == 0
        promised = pd.read_csv(run / "predictions.csv", dtype={"predicted": str})
        if paths is None:
            paths = [str(data / p) if not str(p).startswith("/") else p for p in promised["path"]]
        out = workdir / "predicted.csv"
        assert main(["predict", "--checkpoint", str(onnx_file), *paths, "--output", str(out)]) == 0
        got = pd.read_csv(out, dtype={"label": str}).set_index("path").loc[paths]
        assert list(got["label"]) == list(promised["predicted"])
        expected = [row[f"p_{label}"] for label, (_, row) in zip(got["label"], promised.iterrows())]
        np.testing.assert_allclose(got["probability"], expected, atol=1e-4)
        return onnx_file

    return check


@pytest.fixture
def hold_run_lock():
    """``hold(folder)``: start a process holding ``folder``'s run lock, as a running fit does,
    once it holds it; returns its ``Popen`` (killed at the end of the test if still alive)."""
    holders = []

    def hold(folder) -> subprocess.Popen:
        holder = subprocess.Popen(
            [sys.executable, "-c", "import sys, time\nfrom audioconv._runfolder import run_lock\n"
             "with run_lock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(120)\n",
             str(folder)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        holders.append(holder)
        assert holder.stdout.readline().strip() == "locked"
        return holder

    yield hold
    for holder in holders:
        holder.kill()
        holder.wait()
