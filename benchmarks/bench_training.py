"""Training samples/s: audioconv's defaults vs the plain PyTorch loop a user would write.

Two models, batch 32 of one-second 16 kHz waveforms ``(32, 1, 16000)``, 10 classes:

- **demo**: ``LogMel`` (n_fft 512, hop 160, 64 mels) frontend + ``spectrogram_cnn`` (the
  spoken-digits recipe's model), features computed per batch inside the model;
- **raw**: ``conv1d`` (filters 16-32-64, pools of 4) on the raw waveform.

Configurations (same model, same data, same optimiser, Adam 1e-3):

- ``plain``: ``for x, y in DataLoader(...)`` with ``zero_grad / loss.backward() / step``, the
  system's default glibc malloc, no tuning;
- ``audioconv``: ``tasks.Classifier`` in a Lightning ``Trainer`` with ``training.fit``'s settings,
  glibc malloc tuned as the CLI does (``audioconv._allocator``); for the 2D demo model both
  ``channels_last=False`` and ``True`` are timed;
- ``audioconv+jemalloc`` / ``audioconv+tcmalloc``: the same, with the system's jemalloc /
  tcmalloc preloaded (``LD_PRELOAD``) instead of the glibc tunables.

The allocator is chosen at process start, so every configuration runs in its own subprocess, and
the machine is shared: configurations are interleaved (A B C D A B C D ...) over several rounds,
and min / median / max are over every timed window of every round.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BATCH, SAMPLE_RATE, NUM_CLASSES = 32, 16000, 10
WARMUP, TIMED = 2, 3  # batches per round: untimed, timed
ROUNDS, MIN_ROUNDS, BUDGET_S = 3, 2, 150.0  # rounds after the second only while within budget
LIBRARIES = {
    "jemalloc": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
    "tcmalloc": "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
}
MODELS = ("demo", "raw")


# --------------------------------------------------------------------------------------------
# Worker side: one configuration, both models, prints JSON {variant: samples/s}
# --------------------------------------------------------------------------------------------


def _backbone(model: str):
    """``(frontend or None, backbone)`` for ``model``; the backbone ends in ``NUM_CLASSES`` logits."""
    from audioconv import models
    from audioconv.features import LogMel

    if model == "demo":
        frontend = LogMel(sample_rate=SAMPLE_RATE, n_fft=512, hop_length=160, n_mels=64)
        return frontend, models.create(
            "spectrogram_cnn", dims=2, in_channels=1, num_classes=NUM_CLASSES
        )
    backbone = models.create(
        "conv1d", dims=1, in_channels=1, num_classes=NUM_CLASSES, filters=(16, 32, 64), pool_sizes=4
    )
    return None, backbone


def _data():
    """``(x (n, 1, 16000), y (n,))`` synthetic clips, enough for one window."""
    import torch

    generator = torch.Generator().manual_seed(0)
    n = BATCH * (WARMUP + TIMED)
    x = 0.1 * torch.randn(n, 1, SAMPLE_RATE, generator=generator)
    return x, torch.randint(0, NUM_CLASSES, (n,), generator=generator)


def _rate(stamps: list[float]) -> float:
    """Samples/s over the timed batches from the end-of-batch times of every batch."""
    return BATCH * TIMED / (stamps[-1] - stamps[WARMUP - 1])


def _plain_loop(model: str) -> float:
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    frontend, backbone = _backbone(model)
    net = nn.Sequential(frontend, backbone) if frontend is not None else backbone
    loader = DataLoader(TensorDataset(*_data()), batch_size=BATCH, shuffle=True)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()
    stamps = [time.perf_counter()]
    for x, y in loader:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()
        stamps.append(time.perf_counter())
    return _rate(stamps[1:])


def _lightning(model: str, *, channels_last: bool) -> float:
    import lightning as L
    import torch

    from audioconv.tasks import Classifier
    from audioconv.training import TensorDataModule

    class Stamps(L.Callback):
        def __init__(self):
            self.times: list[float] = []

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            self.times.append(time.perf_counter())

    torch.manual_seed(0)
    frontend, backbone = _backbone(model)
    classifier = Classifier(
        backbone,
        task="multiclass",
        num_classes=NUM_CLASSES,
        frontend=frontend,
        channels_last=channels_last,
    )
    x, y = _data()
    datamodule = TensorDataModule((x, y), (x[:BATCH], y[:BATCH]), (x[:BATCH], y[:BATCH]))
    stamps = Stamps()
    trainer = L.Trainer(  # training.fit's settings, minus checkpoints, logs and the test run
        accelerator="cpu",
        devices=1,
        precision="32-true",
        deterministic="warn",
        max_epochs=1,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[stamps],
    )
    trainer.fit(classifier, datamodule=datamodule)
    return _rate(stamps.times)


def worker(config: str) -> dict[str, float]:
    """Samples/s of every model variant under ``config`` (run in a fresh process)."""
    import warnings

    warnings.filterwarnings("ignore")  # Lightning's hints about workers / small datasets
    if config == "plain":
        return {model: _plain_loop(model) for model in MODELS}
    return {
        "demo": _lightning("demo", channels_last=False),
        "demo channels_last": _lightning("demo", channels_last=True),
        "raw": _lightning("raw", channels_last=False),
    }


# --------------------------------------------------------------------------------------------
# Driver side
# --------------------------------------------------------------------------------------------


def _environment(config: str) -> dict[str, str]:
    from audioconv._allocator import TUNABLES, tuned_environment

    base = {
        k: v
        for k, v in os.environ.items()
        if k not in TUNABLES and k not in ("LD_PRELOAD", "AUDIOCONV_MALLOC_TUNED")
    }
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), base.get("PYTHONPATH")]))
    if config == "audioconv":
        return tuned_environment(base)
    if config.startswith("audioconv+"):
        return {**base, "LD_PRELOAD": LIBRARIES[config.split("+", 1)[1]]}
    return base


def _run_worker(config: str) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_training", "--worker", config],
        cwd=ROOT,
        env=_environment(config),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker {config!r} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _stats(values: list[float]) -> str:
    return f"{min(values):.1f} | {statistics.median(values):.1f} | {max(values):.1f}"


def main() -> str:
    configs = ["plain", "audioconv"]
    configs += [f"audioconv+{name}" for name, path in LIBRARIES.items() if Path(path).exists()]
    rates: dict[tuple[str, str], list[float]] = {}
    start, rounds = time.perf_counter(), 0
    while rounds < ROUNDS and (rounds < MIN_ROUNDS or time.perf_counter() - start < BUDGET_S):
        rounds += 1
        for config in configs:  # interleaved: A B C D, A B C D, ...
            for variant, rate in _run_worker(config).items():
                rates.setdefault((config, variant), []).append(rate)

    def median(config: str, variant: str) -> float:
        return statistics.median(rates[(config, variant)])

    rows = [f"| {config} | {variant} | {_stats(v)} |" for (config, variant), v in rates.items()]
    lines = [
        "## Training throughput: audioconv defaults vs a plain PyTorch loop",
        "",
        f"Batch {BATCH} of 1 s {SAMPLE_RATE // 1000} kHz clips; demo = LogMel(64) + "
        "spectrogram_cnn, raw = conv1d(16-32-64) on the waveform. Each configuration in its own "
        f"process, interleaved over {rounds} rounds; {TIMED} timed batches after {WARMUP} warm-up "
        "per round. Samples/s (higher is better):",
        "",
        "| configuration | model | min | median | max |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ]
    for model in MODELS:
        base = median("plain", model)
        best_2d = model
        if model == "demo" and median("audioconv", "demo channels_last") > median(
            "audioconv", "demo"
        ):
            best_2d = "demo channels_last"
        lines.append(
            f"- {model}: audioconv defaults {median('audioconv', model):.1f} vs plain loop "
            f"{base:.1f} samples/s: **{median('audioconv', model) / base:.2f}x** (target >= 1.5x)"
        )
        if best_2d != model:
            lines.append(
                f"  - channels_last wins here: {median('audioconv', best_2d):.1f} samples/s"
            )
    allocators = {c: statistics.median(median(c, m) / median("plain", m) for m in MODELS)
                  for c in configs if c != "plain"}
    winner = max(allocators, key=allocators.get)
    lines.append(
        "- allocator (median speed-up over the plain loop, both models): "
        + ", ".join(f"{c} {r:.2f}x" for c, r in allocators.items())
        + f"; best: **{winner}**"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2])))
    else:
        print(main())
