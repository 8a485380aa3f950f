"""The feature cache is keyed by the feature's configuration and built once (issue 13, item 7).

- ``MFCC(n_mfcc=13)`` and ``MFCC(n_mfcc=20)`` (built directly or by registered name) get two
  cache entries, and a DataModule run with each reads its own features.
- A 2-process gloo DDP ``fit`` on an ``AudioDataModule`` with a cache builds each split's cache
  once (rank 0 in ``prepare_data``), and concurrent callers build a cache once (file lock).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audioconv.data import AudioDataModule, AudioFolder, cached_features
from audioconv.data import cache as cache_module
from audioconv.features import MFCC, FixedLength, create_frontend

ROOT = Path(__file__).resolve().parents[1]
RATE = 8000
MFCC_OPTIONS = {"sample_rate": RATE, "n_fft": 128, "hop_length": 64, "n_mels": 32}


@pytest.fixture
def clips(tmp_path) -> Path:
    for label, freq in (("low", 300.0), ("high", 1500.0)):
        for i in range(8):
            t = np.arange(800) / RATE
            path = tmp_path / "clips" / label / f"{i}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, 0.3 * np.sin(2 * np.pi * (freq + 15 * i) * t), RATE)
    return tmp_path / "clips"


def _entries(cache_dir: Path) -> list[Path]:
    return sorted(p for p in cache_dir.iterdir() if (p / "complete.json").is_file())


@pytest.mark.parametrize("build", ["direct", "registered"])
def test_two_mfcc_settings_get_two_cache_entries(clips, tmp_path, build):
    def feature(n_mfcc):
        if build == "direct":
            return MFCC(n_mfcc=n_mfcc, **MFCC_OPTIONS)
        return create_frontend("mfcc", n_mfcc=n_mfcc, **MFCC_OPTIONS)

    ds = AudioFolder(clips, transform=FixedLength(800, crop="center"))
    cache_dir = tmp_path / "cache"
    first = cached_features(ds, feature(13), cache_dir=cache_dir, batch_size=4)
    second = cached_features(ds, feature(20), cache_dir=cache_dir, batch_size=4)
    assert first.computed and second.computed
    assert first.features.shape[2] == 13 and second.features.shape[2] == 20
    assert len(_entries(cache_dir)) == 2
    again = cached_features(ds, feature(13), cache_dir=cache_dir, batch_size=4)
    assert not again.computed and again.folder == first.folder


def test_datamodule_runs_read_their_own_mfcc_setting(clips, tmp_path):
    """The user's path: two runs sharing a cache_dir, MFCC 13 then 20 -> batches of 13 and 20."""
    cache_dir = tmp_path / "cache"
    heights = []
    for n_mfcc in (13, 20):
        datamodule = AudioDataModule(
            clips, sample_rate=RATE, window=800, val_size=0.25, test_size=0.25,
            batch_size=4, features=MFCC(n_mfcc=n_mfcc, **MFCC_OPTIONS), cache_dir=cache_dir,
        )  # fmt: skip
        datamodule.setup("fit")
        x, _ = next(iter(datamodule.train_dataloader()))
        heights.append(x.shape[2])  # (batch, channels, n_mfcc, frames)
    assert heights == [13, 20]
    assert len(_entries(cache_dir)) == 6  # 3 splits x 2 settings


def test_concurrent_callers_build_once(clips, tmp_path, monkeypatch):
    builds = []
    original = cache_module._compute

    def counted(*args, **kwargs):
        builds.append(threading.get_ident())
        return original(*args, **kwargs)

    monkeypatch.setattr(cache_module, "_compute", counted)
    ds = AudioFolder(clips, transform=FixedLength(800, crop="center"))
    results = []

    def worker():
        feature = MFCC(n_mfcc=13, **MFCC_OPTIONS)
        results.append(cached_features(ds, feature, cache_dir=tmp_path / "cache", batch_size=2))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1 and len(results) == 3
    assert sorted(r.computed for r in results) == [False, False, True]
    assert len({r.folder for r in results}) == 1


DDP_SCRIPT = """
import os, sys
from pathlib import Path

import audioconv.data.cache as cache
from audioconv import models
from audioconv.data import AudioDataModule
from audioconv.features import create_frontend
from audioconv.tasks import Classifier
from audioconv.training import fit

out, clips, cache_dir = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
original = cache._compute


def counted(*args, **kwargs):
    with open(out.parent / "builds.log", "a") as log:
        log.write(f"{os.getpid()}\\n")
    return original(*args, **kwargs)


cache._compute = counted
feature = create_frontend("mfcc", sample_rate=8000, n_fft=128, hop_length=64, n_mels=16, n_mfcc=8)
datamodule = AudioDataModule(clips, sample_rate=8000, window=800, val_size=0.25,
                             test_size=0.25, batch_size=4, features=feature, cache_dir=cache_dir)
backbone = models.create("conv_stack", dims=2, in_channels=1, num_classes=2, filters=(4,))
model = Classifier(backbone, task="multiclass", num_classes=2)
fit(model, datamodule, output_dir=out, max_epochs=1, accelerator="cpu", devices=2,
    strategy="ddp", enable_progress_bar=False, log_every_n_steps=1)
with open(out.parent / "ranks.log", "a") as log:
    log.write(f"{os.getpid()}\\n")
"""


def test_two_process_ddp_builds_the_cache_once(clips, tmp_path):
    script = tmp_path / "ddp_cache.py"
    script.write_text(DDP_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "run"), str(clips), str(tmp_path / "cache")],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = (tmp_path / "ranks.log").read_text().split()
    assert len(set(ranks)) == 2  # both processes ran to the end
    builds = (tmp_path / "builds.log").read_text().split()
    assert len(builds) == 3 and len(set(builds)) == 1  # train, val, test: by one process
    assert len(_entries(tmp_path / "cache")) == 3
