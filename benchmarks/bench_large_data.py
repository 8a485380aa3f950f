"""Peak memory while training one epoch on a feature cache three times larger than a memory cap.

The cache is the on-disk layout ``audioconv.data.cache`` writes (``features.npy`` as a ``.npy``
file, read through a memory map by ``CachedFeatures``, plus ``labels.npy``): log-mel-shaped
features ``(n, 1, 64, 401)`` float32 (4 s clips at a 10 ms hop), written chunk by chunk. A fresh
process (the CLI's defaults: tuned glibc malloc) imports Lightning, builds a ``tasks.Classifier``
(a 1x1-conv ``conv_stack``: the data path is measured, not the model) and trains one epoch over
every item with a ``Trainer`` and a ``DataLoader`` over ``CachedFeatures``, while a thread samples
``/proc/self/status`` every 10 ms.

Which number is capped: ``RssAnon``, the process's anonymous memory (heap, tensors, the imported
libraries' data) — what the kernel cannot drop and what an OOM kill counts. The pages of the
mapped cache file show up in ``RssFile`` / ``VmRSS`` as the epoch touches them; they are clean
page-cache pages the kernel reclaims (and re-reads from disk) when memory is short, so they are
reported, not capped. ``RLIMIT_AS`` cannot enforce the cap: the mapping itself is address space
three times the cap, and torch reserves more. The cap covers the whole process, Lightning and
torch included (about 0.5 GB of it).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CAP_MB = 800
FEATURE_SHAPE = (1, 64, 401)  # (channels, n_mels, frames)
BATCH, NUM_CLASSES = 32, 10
CHUNK = 256  # items written per chunk while building the cache


def _status() -> dict[str, int]:
    """``VmRSS``, ``RssAnon``, ``RssFile``, ``VmHWM`` of this process in kB."""
    out = {}
    with open("/proc/self/status", encoding="ascii") as file:
        for line in file:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def write_cache(folder: Path, n: int) -> int:
    """Write ``features.npy`` ``(n, *FEATURE_SHAPE)`` and ``labels.npy`` ``(n,)``; returns bytes."""
    rng = np.random.default_rng(0)
    store = np.lib.format.open_memmap(
        folder / "features.npy", mode="w+", dtype=np.float32, shape=(n, *FEATURE_SHAPE)
    )
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        store[start:stop] = rng.random((stop - start, *FEATURE_SHAPE), dtype=np.float32)
    store.flush()
    del store
    np.save(folder / "labels.npy", rng.integers(0, NUM_CLASSES, n))
    return (folder / "features.npy").stat().st_size


def worker(folder: Path) -> dict[str, float]:
    """Train one epoch over the cache in ``folder``; peak memory (MB) and time."""
    peaks = _status()
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.01):
            for key, value in _status().items():
                peaks[key] = max(peaks[key], value)

    import warnings

    import lightning as L
    import torch
    from torch.utils.data import DataLoader

    from audioconv import models
    from audioconv.data.cache import CachedFeatures
    from audioconv.tasks import Classifier

    warnings.filterwarnings("ignore")  # Lightning's hints about workers
    dataset = CachedFeatures(
        folder,
        "bench",
        computed=False,
        class_names=[str(c) for c in range(NUM_CLASSES)],
        task="multiclass",
    )
    torch.manual_seed(0)
    backbone = models.create(
        "conv_stack",
        dims=2,
        in_channels=1,
        num_classes=NUM_CLASSES,
        filters=(1,),
        kernel_sizes=1,
        pool_sizes=4,
    )  # cheap on purpose: the data path is what is measured
    model = Classifier(backbone, task="multiclass", num_classes=NUM_CLASSES)
    loader = DataLoader(dataset, batch_size=BATCH, shuffle=True)
    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    before = _status()
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start = time.perf_counter()
    trainer.fit(model, train_dataloaders=loader)
    seconds = time.perf_counter() - start
    stop.set()
    thread.join()
    for key, value in _status().items():
        peaks[key] = max(peaks[key], value)
    return {
        "seconds": seconds,
        "items": len(dataset),
        "steps": trainer.global_step,
        "anon_before_mb": before["RssAnon"] / 1024,
        "peak_anon_mb": peaks["RssAnon"] / 1024,
        "peak_file_mb": peaks["RssFile"] / 1024,
        "peak_rss_mb": max(peaks["VmRSS"], peaks["VmHWM"]) / 1024,
    }


def main() -> str:
    from audioconv._allocator import tuned_environment

    item_bytes = 4 * math.prod(FEATURE_SHAPE)
    n = math.ceil(3 * CAP_MB * 2**20 / item_bytes)
    with tempfile.TemporaryDirectory(prefix="audioconv-bench-cache-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        size = write_cache(folder, n)
        write_s = time.perf_counter() - start
        env = tuned_environment(
            {
                **os.environ,
                "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            }
        )
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_large_data", "--worker", str(folder)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"large-data worker failed:\n{proc.stderr[-2000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    cache_mb = size / 2**20
    peak = result["peak_anon_mb"]
    verdict = "within" if peak < CAP_MB else "**over**"
    return "\n".join(
        [
            "## Large data: one epoch on a memory-mapped feature cache 3x the memory cap",
            "",
            f"Cap {CAP_MB} MB on the process's anonymous memory (RssAnon: heap, tensors, torch + "
            f"Lightning themselves); cache {cache_mb:,.0f} MB = {cache_mb / CAP_MB:.1f}x the cap "
            f"({result['items']:,} items of {FEATURE_SHAPE}, written in {write_s:.1f} s).",
            "",
            "| measure | MB |",
            "|---|---|",
            f"| RssAnon after imports and model build | {result['anon_before_mb']:,.0f} |",
            f"| peak RssAnon during the epoch (capped) | {peak:,.0f} |",
            f"| peak RssFile (mapped cache pages, reclaimable) | {result['peak_file_mb']:,.0f} |",
            f"| peak VmRSS (anon + file + shmem) | {result['peak_rss_mb']:,.0f} |",
            "",
            f"- one epoch: {result['steps']} steps in {result['seconds']:.1f} s "
            f"({result['items'] / result['seconds']:,.0f} items/s)",
            f"- peak RssAnon {peak:,.0f} MB is {verdict} the {CAP_MB} MB cap; loading the cache "
            f"whole would need {result['anon_before_mb'] + cache_mb:,.0f} MB",
        ]
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(Path(sys.argv[2]))))
    else:
        print(main())
