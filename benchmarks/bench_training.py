"""Training samples/s: audioconv's defaults vs the plain PyTorch loop a user would write.

Two models, batch 32 of one-second 8 kHz waveforms ``(32, 1, 8000)`` (the spoken-digits
recipe's input), 10 classes:

- **demo**: the spoken-digits recipe's model: its frontend (``LogMel`` n_fft 512, hop 128,
  64 mels, per-example standardisation, SpecAugment masks) + ``spectrogram_cnn``, features computed
  per batch inside the model;
- **raw**: ``conv1d`` (filters 16-32-64, pools of 4) on the raw waveform.

Configurations (same model, same data, same optimiser, Adam 1e-3):

- ``plain``: ``for x, y in DataLoader(...)`` with ``zero_grad / loss.backward() / step``, the
  system's default glibc malloc, default memory format;
- ``audioconv``: ``tasks.Classifier`` in a Lightning ``Trainer`` with ``training.fit``'s settings
  and the library's defaults: the process tuned as the CLI does (``audioconv._allocator``: glibc
  malloc thresholds, ``GOMP_SPINCOUNT=1000``) and convolutions channels-last, 1D and 2D
  (``Classifier(channels_last=None)``). Ablations: ``demo, channels_last=False`` and
  ``audioconv, AUDIOCONV_MALLOC=off`` (the library without the process tuning);
- ``audioconv+jemalloc`` / ``audioconv+tcmalloc`` (when installed): the same, with the system's
  jemalloc / tcmalloc preloaded (``LD_PRELOAD``) instead of the glibc tunables.

Two scenarios: an idle machine, and a shared one (a process spinning on one of the cores while
the configurations run), where PyTorch's spinning OpenMP threads lose most of their speed.
The process settings are read at start, so every configuration runs in its own subprocess;
configurations are interleaved (A B C D A B C D ...) over several rounds, and min / median / max
are over the rounds. Besides wall-clock samples/s, samples per CPU-second (``time.process_time``:
user + system time of all the process's threads, page faults included) are reported.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BATCH, SAMPLE_RATE, NUM_CLASSES = 32, 8000, 10
WARMUP, TIMED = 5, 30  # batches per round: untimed, timed
ROUNDS, MIN_ROUNDS, BUDGET_S = 4, 2, 240.0  # rounds after the second only while within budget
LIBRARIES = {
    "jemalloc": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
    "tcmalloc": "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
}
MODELS = ("demo", "raw")
OFF = "audioconv, AUDIOCONV_MALLOC=off"  # the library's defaults minus the allocator tuning


# --------------------------------------------------------------------------------------------
# Worker side: one configuration, both models, prints JSON {variant: samples/s}
# --------------------------------------------------------------------------------------------


def _backbone(model: str):
    """``(frontend or None, backbone)`` for ``model``, with ``NUM_CLASSES`` outputs."""
    from audioconv import models
    from audioconv.features import AudioFrontend

    if model == "demo":  # recipes/spoken_digits.py's frontend and model
        frontend = AudioFrontend(
            sample_rate=SAMPLE_RATE, n_fft=512, hop_length=128, n_mels=64, time_mask=12,
            freq_mask=8,
        )  # fmt: skip
        return frontend, models.create(
            "spectrogram_cnn", dims=2, in_channels=1, num_classes=NUM_CLASSES
        )
    backbone = models.create(
        "conv1d", dims=1, in_channels=1, num_classes=NUM_CLASSES, filters=(16, 32, 64), pool_sizes=4
    )
    return None, backbone


def _data():
    """``(x (n, 1, SAMPLE_RATE), y (n,))`` synthetic one-second clips for one round."""
    import torch

    generator = torch.Generator().manual_seed(0)
    n = BATCH * (WARMUP + TIMED)
    x = 0.1 * torch.randn(n, 1, SAMPLE_RATE, generator=generator)
    return x, torch.randint(0, NUM_CLASSES, (n,), generator=generator)


def _stamp() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _rates(stamps: list[tuple[float, float]]) -> tuple[float, float]:
    """``(samples per wall second, samples per CPU second)`` over the timed batches, from the
    end-of-batch stamps of every batch."""
    wall, cpu = (stamps[-1][k] - stamps[WARMUP - 1][k] for k in (0, 1))
    return BATCH * TIMED / wall, BATCH * TIMED / cpu


def _plain_loop(model: str) -> tuple[float, float]:
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    frontend, backbone = _backbone(model)
    net = nn.Sequential(frontend, backbone) if frontend is not None else backbone
    loader = DataLoader(TensorDataset(*_data()), batch_size=BATCH, shuffle=True)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()
    stamps = []
    for x, y in loader:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()
        stamps.append(_stamp())
    return _rates(stamps)


def _lightning(model: str, *, channels_last: bool | None = None) -> tuple[float, float]:
    import lightning as L
    import torch

    from audioconv.tasks import Classifier
    from audioconv.training import TensorDataModule, deterministic_mode

    class Stamps(L.Callback):
        def __init__(self):
            self.times: list[tuple[float, float]] = []

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            self.times.append(_stamp())

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
    with deterministic_mode(None, "cpu") as deterministic:
        trainer = L.Trainer(  # training.fit's settings, minus checkpoints, logs and the test run
            accelerator="cpu",
            devices=1,
            precision="32-true",
            deterministic=deterministic,
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
    return _rates(stamps.times)


def worker(config: str) -> dict[str, tuple[float, float]]:
    """``(samples/s, samples/CPU-s)`` of every model variant under ``config`` (a fresh process)."""
    import warnings

    warnings.filterwarnings("ignore")  # Lightning's hints about workers / small datasets
    if config == "plain":
        return {model: _plain_loop(model) for model in MODELS}
    variants = {"demo": _lightning("demo"), "raw": _lightning("raw")}
    if config == "audioconv":
        variants["demo, channels_last=False"] = _lightning("demo", channels_last=False)
    return variants


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


def _run_worker(config: str) -> dict[str, list[float]]:
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


@contextlib.contextmanager
def _busy_core(busy: bool):
    """While active, one process spins on a core (another job on a shared machine)."""
    if not busy:
        yield
        return
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        hog.kill()
        hog.wait()


def _scenario(title: str, *, busy: bool, configs: list[str], rounds_max: int) -> list[str]:
    rates: dict[tuple[str, str], list[float]] = {}
    cpu_rates: dict[tuple[str, str], list[float]] = {}
    start, rounds = time.perf_counter(), 0
    with _busy_core(busy):
        while rounds < rounds_max and (
            rounds < MIN_ROUNDS or time.perf_counter() - start < BUDGET_S
        ):
            rounds += 1
            for config in configs:  # interleaved: A B C D, A B C D, ...
                for variant, (rate, cpu_rate) in _run_worker(config).items():
                    rates.setdefault((config, variant), []).append(rate)
                    cpu_rates.setdefault((config, variant), []).append(cpu_rate)

    def ratio(config: str, variant: str, model: str, table: dict = rates) -> float:
        base = statistics.median(table[("plain", model)])
        return statistics.median(table[(config, variant)]) / base

    lines = [
        f"### {title}",
        "",
        f"Interleaved over {rounds} rounds; samples/s (higher is better):",
        "",
        "| configuration | model | min | median | max | median per CPU-s |",
        "|---|---|---|---|---|---|",
        *(
            f"| {config} | {variant} | {_stats(v)} | "
            f"{statistics.median(cpu_rates[(config, variant)]):.1f} |"
            for (config, variant), v in rates.items()
        ),
        "",
    ]
    for model in MODELS:
        lines.append(
            f"- {model}: audioconv {statistics.median(rates[('audioconv', model)]):.1f} vs plain "
            f"loop {statistics.median(rates[('plain', model)]):.1f} samples/s: "
            f"**{ratio('audioconv', model, model):.2f}x** wall-clock, "
            f"{ratio('audioconv', model, model, cpu_rates):.2f}x per CPU-second (target >= 1.5x)"
        )
    ablation = "demo, channels_last=False"
    lines.append(
        f"- ablations (wall-clock over the plain loop): {ablation}: "
        f"{ratio('audioconv', ablation, 'demo'):.2f}x; "
        + "; ".join(
            f"{config}: demo {ratio(config, 'demo', 'demo'):.2f}x, "
            f"raw {ratio(config, 'raw', 'raw'):.2f}x"
            for config in configs
            if config not in ("plain", "audioconv")
        )
    )
    return [*lines, ""]


def main() -> str:
    configs = ["plain", "audioconv", OFF]
    configs += [f"audioconv+{name}" for name, path in LIBRARIES.items() if Path(path).exists()]
    return "\n".join(
        [
            "## Training throughput: audioconv defaults vs a plain PyTorch loop",
            "",
            f"Batch {BATCH} of 1 s {SAMPLE_RATE // 1000} kHz clips; demo = the spoken-digits "
            "recipe's LogMel(64) frontend + spectrogram_cnn, raw = conv1d(16-32-64) on the "
            f"waveform. Each configuration in its own process; {TIMED} timed batches after "
            f"{WARMUP} warm-up per round. PyTorch's default threads (one per core).",
            "",
            *_scenario("Idle machine", busy=False, configs=configs, rounds_max=ROUNDS),
            *_scenario(
                "Shared machine: another process spinning on one core",
                busy=True,
                configs=configs,
                rounds_max=MIN_ROUNDS,
            ),
        ]
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2])))
    else:
        print(main())
