"""Time to accuracy: each recipe's default run, timed end to end as a user runs it.

For every recipe whose data is available offline, the recipe's command runs once in its own
process (``python recipes/<name>.py --data-dir ... --output-dir ...``, defaults only, seed 0) and
the table reports the wall time of that command (decoding, training, testing, the classical
baseline and the plots), the epochs trained (early stopping may end a run before
``max_epochs``), the test accuracy of the tested checkpoint and, for audio recipes, the accuracy of
the classical baseline fitted in the same run (``report.json["baseline"]``).

Always run: the embedded spoken digits (``data/spoken_digits``) and UCR GunPoint (shipped by
aeon). Run when their folders are given (the data is not part of the repository):
``AUDIOCONV_FSDD`` (the Free Spoken Digit Dataset's ``recordings/``: official split and held-out
speakers) and ``AUDIOCONV_RAVDESS`` (RAVDESS speech ``Actor_NN/`` folders, actors held out).
``AUDIOCONV_TTA_ONLY=name,name`` restricts the rows (e.g. ``fsdd_official``).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "_work" / "time_to_accuracy"


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
    baseline = (report.get("baseline") or {}).get("metrics", {}).get("accuracy_score")
    return {
        "seconds": seconds,
        "epochs": _epochs(out / "metrics.csv"),
        "accuracy": report["metrics"]["accuracy_score"],
        "baseline": baseline,
        "command": "python " + " ".join(argv),
    }


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def main() -> str:
    lines = [
        "## Time to accuracy: each recipe's default run, end to end\n",
        "One run per row, seed 0, the recipe's defaults, timed as the user's command (decoding, "
        "training, test, classical baseline, plots). Baseline: MFCC statistics -> SVM / logistic "
        "regression chosen on validation (`audioconv.baseline`), same split.\n",
        "| recipe | data | wall time | epochs | test accuracy | classical baseline | command |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, data, argv in _rows():
        print(f"   {name} ...", flush=True)
        row = measure(name, argv)
        base = "n/a" if row["baseline"] is None else f"{100 * row['baseline']:.2f}%"
        lines.append(
            f"| {name} | {data} | {_minutes(row['seconds'])} | {row['epochs']} | "
            f"{100 * row['accuracy']:.2f}% | {base} | `{row['command']}` |"
        )
        print(lines[-1], flush=True)
    if not os.environ.get("AUDIOCONV_FSDD"):
        lines.append("\nFSDD rows: set `AUDIOCONV_FSDD` to the FSDD `recordings/` folder.")
    if not os.environ.get("AUDIOCONV_RAVDESS"):
        lines.append("RAVDESS row: set `AUDIOCONV_RAVDESS` to the RAVDESS speech folder.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(main())
