"""Time to accuracy: each recipe's default run, timed end to end as a user runs it.

For every recipe whose data is available offline, the recipe's command runs once in its own
process (``python recipes/<name>.py --data-dir ... --output-dir ...``, defaults only, seed 0) and
the table reports the wall time of that command (decoding, training, testing, the classical
baseline and the plots), the epochs trained (early stopping may end a run before
``max_epochs``), the test accuracy of the tested checkpoint and, for audio recipes, the accuracy of
the classical baseline fitted in the same run (``report.json["baseline"]``) with the network's
accuracy minus the baseline's on the same test clips and its 95% paired bootstrap interval
(``report.json["baseline"]["comparison"]``).

Always run: the embedded spoken digits (``data/spoken_digits``) and UCR GunPoint (shipped by
aeon). Run when their folders are given (the data is not part of the repository):
``AUDIOCONV_FSDD`` (the Free Spoken Digit Dataset's ``recordings/``: official split and held-out
speakers) and ``AUDIOCONV_RAVDESS`` (RAVDESS speech ``Actor_NN/`` folders, actors held out).
``AUDIOCONV_TTA_ONLY=name,name`` restricts the rows (e.g. ``fsdd_official``);
``AUDIOCONV_TTA_SEEDS=0,1,2`` runs every row once per seed (default: seed 0 only) and adds a
line per recipe with the mean and spread of the test accuracy over the seeds.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "_work" / "time_to_accuracy"
#: the environment variables naming the real-data folders (shown by name in the commands)
DATA_VARIABLES = ("AUDIOCONV_FSDD", "AUDIOCONV_RAVDESS")


def _rows() -> list[tuple[str, str, list[str]]]:
    """``(row name, data description, recipe argv)`` of every run whose data is here."""
    rows = [
        ("digits_embedded", "embedded spoken digits, 12 held-out voices",
         ["recipes/spoken_digits.py", "--data-dir", "data/spoken_digits"]),
        ("ucr_gunpoint", "UCR GunPoint, official TEST",
         ["recipes/ucr.py", "--dataset", "GunPoint"]),
    ]  # fmt: skip
    fsdd = os.environ.get("AUDIOCONV_FSDD")
    if fsdd and Path(fsdd).is_dir():
        rows += [
            ("fsdd_official", "FSDD, official split (indices 0-4 test)",
             ["recipes/spoken_digits.py", "--data-dir", fsdd, "--split", "official"]),
            ("fsdd_speakers", "FSDD, held-out speakers",
             ["recipes/spoken_digits.py", "--data-dir", fsdd, "--split", "speaker"]),
        ]  # fmt: skip
    ravdess = os.environ.get("AUDIOCONV_RAVDESS")
    if ravdess and Path(ravdess).is_dir():
        rows.append(
            ("ravdess_actors", "RAVDESS speech, actors held out",
             ["recipes/speech_emotion.py", "--data-dir", ravdess])
        )  # fmt: skip
    only = os.environ.get("AUDIOCONV_TTA_ONLY")
    if only:
        keep = set(only.split(","))
        rows = [row for row in rows if row[0] in keep]
    return rows


def _seeds() -> list[int]:
    """The seeds of ``AUDIOCONV_TTA_SEEDS`` (comma-separated integers; default ``[0]``)."""
    text = os.environ.get("AUDIOCONV_TTA_SEEDS", "0")
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        message = f"AUDIOCONV_TTA_SEEDS={text!r}: give comma-separated integers, e.g. 0,1,2"
        raise SystemExit(message) from None
    return seeds or [0]


def spread(values: list[float]) -> str:
    """``mean ± sample standard deviation`` of accuracies in %, e.g. ``98.00% ± 0.94 (n=3)``."""
    mean = 100 * statistics.fmean(values)
    if len(values) < 2:
        return f"{mean:.2f}% (n=1)"
    return f"{mean:.2f}% ± {100 * statistics.stdev(values):.2f} (n={len(values)})"


def _epochs(metrics_csv: Path) -> int:
    """Epochs trained: the distinct epochs with a training loss in Lightning's metrics.csv."""
    with metrics_csv.open() as handle:
        return len({row["epoch"] for row in csv.DictReader(handle) if row.get("train/loss_epoch")})


def measure(name: str, argv: list[str]) -> dict:
    """Run one recipe command in a fresh process; wall time, epochs, test and baseline accuracy."""
    out = WORK / name
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, *argv, "--output-dir", str(out)]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    report = json.loads((out / "report.json").read_text())
    baseline = report.get("baseline") or {}
    paired = {row["metric"]: row for row in baseline.get("comparison") or []}
    return {
        "seconds": seconds,
        "epochs": _epochs(out / "metrics.csv"),
        "accuracy": report["metrics"]["accuracy_score"],
        "baseline": baseline.get("metrics", {}).get("accuracy_score"),
        "versus": paired.get("accuracy"),
        "command": shown_command(argv, name),
    }


def shown_command(argv: list[str], name: str) -> str:
    """The command a reader can run: the data folders as the environment variables that name them
    and a run folder of its own (``--output-dir runs/<name>``; the recipes require one)."""
    folders = {os.environ[v]: f"${v}" for v in DATA_VARIABLES if os.environ.get(v)}
    words = [folders.get(word, word) for word in argv]
    return " ".join(["python", *words, "--output-dir", f"runs/{name}"])


def versus(row: dict | None) -> str:
    """``+27.33 [+20.00, +34.33]``: network - baseline accuracy in points, paired interval."""
    if row is None:
        return "n/a"
    low, high = 100 * row["ci_low"], 100 * row["ci_high"]
    return f"{100 * row['difference']:+.2f} [{low:+.2f}, {high:+.2f}]"


def _minutes(seconds: float) -> str:
    whole = round(seconds)  # 59.6 s -> "1 min 0 s", not "0 min 60 s"
    return f"{whole // 60} min {whole % 60} s"


def main() -> str:
    seeds = _seeds()
    lines = [
        "## Time to accuracy: each recipe's default run, end to end\n",
        f"One run per row and seed (seeds {', '.join(map(str, seeds))}), the recipe's defaults, "
        "timed as the user's command (decoding, training, test, classical baseline, plots). "
        "Baseline: MFCC statistics -> SVM / logistic regression chosen on validation "
        "(`audioconv.baseline`), same split; network - baseline: accuracy points on the same "
        "test clips, 95% paired bootstrap interval.\n",
        "| recipe | data | seed | wall time | epochs | test accuracy | classical baseline "
        "| network - baseline | command |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    summary = []
    for name, data, argv in _rows():
        accuracies, baselines = [], []
        for seed in seeds:
            print(f"   {name} seed {seed} ...", flush=True)
            seeded = argv if seed == 0 else [*argv, "--seed", str(seed)]
            row = measure(name if seed == 0 else f"{name}_seed{seed}", seeded)
            base = "n/a" if row["baseline"] is None else f"{100 * row['baseline']:.2f}%"
            lines.append(
                f"| {name} | {data} | {seed} | {_minutes(row['seconds'])} | {row['epochs']} | "
                f"{100 * row['accuracy']:.2f}% | {base} | {versus(row.get('versus'))} | "
                f"`{row['command']}` |"
            )
            print(lines[-1], flush=True)
            accuracies.append(row["accuracy"])
            if row["baseline"] is not None:
                baselines.append(row["baseline"])
        if len(seeds) > 1:
            base = f"; classical baseline {spread(baselines)}" if baselines else ""
            summary.append(f"- {name}: test accuracy {spread(accuracies)}{base}")
    if summary:
        lines += ["", "Over the seeds (mean ± sample standard deviation):", *summary]
    if not os.environ.get("AUDIOCONV_FSDD"):
        lines.append("\nFSDD rows: set `AUDIOCONV_FSDD` to the FSDD `recordings/` folder.")
    if not os.environ.get("AUDIOCONV_RAVDESS"):
        lines.append("RAVDESS row: set `AUDIOCONV_RAVDESS` to the RAVDESS speech folder.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(main())
