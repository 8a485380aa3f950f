"""Held-out accuracy of a trained spoken-digits model through every path to a prediction.

    python -m benchmarks.paths_accuracy [--run runs/demo] [--data-dir data/spoken_digits]

Takes the ``test`` clips listed in ``DATA_DIR/splits.csv`` (240 for the embedded data) and
classifies them through each door a user has — ``audioconv test``, ``audioconv predict`` from the
``.ckpt``, the exported ``.onnx`` and TorchScript files, ``OnnxClassifier`` and streaming
(``simulate``: the file replayed in 0.1 s chunks, the clip's answer the mean of its windows) —
then prints a Markdown table: accuracy, agreement of the labels with ``audioconv test``, and the
largest difference between the probability a path gives its label and the one ``audioconv test``
wrote for it, over the clips where the labels agree (the report's promise, number for number).
The exports go to a temporary folder; the run folder is only read (``audioconv test`` writes its
report to ``RUN/test_paths``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from audioconv.cli import main as _cli
from audioconv.deploy import OnnxClassifier, load_predictor
from audioconv.streaming import simulate


def cli(argv: list[str]) -> int:
    """``audioconv ARGV`` with its printed output swallowed (the table is the output here)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return _cli(argv)


def _predict(model: Path, manifest: Path, out: Path) -> dict[str, tuple[str, float]]:
    """``audioconv predict --checkpoint MODEL MANIFEST --output OUT`` -> ``{path: (label,
    probability)}``."""
    assert (
        cli(["predict", "--quiet", "--checkpoint", str(model), str(manifest), "--output", str(out)])
        == 0
    )
    frame = pd.read_csv(out, dtype={"label": str}, keep_default_na=False)
    return dict(zip(frame["path"], zip(frame["label"], frame["probability"])))


Row = tuple[str, float, float, float, float]


def measure(run: Path, data_dir: Path) -> tuple[list[Row], int]:
    """``[(path, accuracy, agreement with audioconv test, largest probability difference from
    it, seconds)]`` and the number of clips."""
    splits = pd.read_csv(data_dir / "splits.csv", dtype={"label": str}, keep_default_na=False)
    test = splits[splits["split"] == "test"]
    truth = {str((data_dir / p).resolve()): label for p, label in zip(test["path"], test["label"])}
    clips = sorted(truth)
    checkpoint = run / "checkpoints" / "best.ckpt"
    labels: dict[str, dict[str, tuple[str, float]]] = {}  # path -> clip -> (label, probability)
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        manifest = tmp / "heldout.csv"
        pd.DataFrame({"path": clips}).to_csv(manifest, index=False)
        onnx_file, script_file = tmp / "model.onnx", tmp / "model.pt"
        assert cli(["export", "--checkpoint", str(checkpoint), "--output", str(onnx_file)]) == 0
        argv = ["export", "--checkpoint", str(checkpoint), "--format", "torchscript"]
        assert cli([*argv, "--output", str(script_file)]) == 0

        start = time.perf_counter()
        argv = ["test", "--checkpoint", str(checkpoint), "--data-dir", str(data_dir)]
        assert cli([*argv, "--output-dir", str(run / "test_paths")]) == 0
        tested = pd.read_csv(
            run / "test_paths" / "predictions.csv", dtype={"predicted": str}, keep_default_na=False
        )
        labels["audioconv test (.ckpt)"] = {
            str(Path(p).resolve()): (label, score)
            for p, label, score in zip(tested["path"], tested["predicted"], tested["probability"])
        }
        seconds["audioconv test (.ckpt)"] = time.perf_counter() - start
        for name, model in (
            ("audioconv predict (.ckpt)", checkpoint),
            ("audioconv predict (.onnx)", onnx_file),
            ("audioconv predict (TorchScript)", script_file),
        ):
            start = time.perf_counter()
            labels[name] = _predict(model, manifest, tmp / "predictions.csv")
            seconds[name] = time.perf_counter() - start
        start = time.perf_counter()
        onnx = OnnxClassifier(onnx_file)
        labels["OnnxClassifier"] = {
            c: (p.label, p.score) for c, p in zip(clips, onnx.predict_batch(clips))
        }
        seconds["OnnxClassifier"] = time.perf_counter() - start
        for name, model_file in (("stream (.ckpt)", checkpoint), ("stream (.onnx)", onnx_file)):
            start = time.perf_counter()
            model, streamed = load_predictor(model_file), {}
            for clip in clips:
                replay = simulate(clip, model, chunk_s=0.1)
                list(replay)
                streamed[clip] = (replay.stream.clip.label, replay.stream.clip.score)
            labels[name] = streamed
            seconds[name] = time.perf_counter() - start
    reference = labels["audioconv test (.ckpt)"]
    rows = []
    for name, got in labels.items():
        assert set(got) == set(truth), f"{name} did not answer for every clip"
        accuracy = float(np.mean([got[c][0] == truth[c] for c in clips]))
        agree = float(np.mean([got[c][0] == reference[c][0] for c in clips]))
        # the probability this path gives its label against the one the report has for it
        gap = max(abs(got[c][1] - reference[c][1]) for c in clips if got[c][0] == reference[c][0])
        rows.append((name, accuracy, agree, float(gap), seconds[name]))
    return rows, len(clips)


def table(rows: list[Row], n: int) -> str:
    lines = [
        f"| path ({n} held-out clips) | accuracy | same label as `audioconv test` | largest "
        "probability difference from it | seconds |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {acc:.1%} | {agree:.1%} | {gap:.1e} | {sec:.1f} |"
        for name, acc, agree, gap, sec in rows
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("runs/demo"), help="a spoken_digits run")
    parser.add_argument("--data-dir", type=Path, default=Path("data/spoken_digits"))
    args = parser.parse_args(argv)
    rows, n = measure(args.run, args.data_dir)
    report = json.loads((args.run / "test_paths" / "report.json").read_text())
    print(table(rows, n))
    print(f"\n`audioconv test` report: level {report['level']!r}, {report['n_samples']} samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
