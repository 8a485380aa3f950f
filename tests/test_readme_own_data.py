"""The README's "Train on your own data" commands run as written (plus ``--smoke`` and tiny
front-end options) on a folder of clips and a manifest holding one bad file."""

from __future__ import annotations

import math
import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from audioconv.cli import main

ROOT = Path(__file__).resolve().parents[1]
RATE = 8000
SMOKE = [
    "--smoke", "--sample_rate", str(RATE), "--clip_seconds", "0.25", "--n_fft", "256",
    "--hop_length", "80", "--n_mels", "16", "--time_mask", "2", "--freq_mask", "2",
    "--batch_size", "8", "--baseline", "false",
]  # fmt: skip


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Train on your own data", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_readme_own_data_commands_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUDIOCONV_CACHE", str(tmp_path / "cache"))
    clips = tmp_path / "my_clips"
    rows = []
    for c, label in enumerate(["cat", "dog"]):
        for k in range(6):
            path = clips / label / f"{k:03d}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            t = np.arange(int(0.3 * RATE)) / RATE
            sf.write(
                path, (0.5 * np.sin(2 * math.pi * (300 + 600 * c) * t)).astype("float32"), RATE
            )
            rows.append({"path": f"{label}/{k:03d}.wav", "label": label})
    (clips / "broken.wav").write_bytes(b"not audio")  # loose: no class folder reads it
    rows.append({"path": "broken.wav", "label": "cat"})
    pd.DataFrame(rows).to_csv(clips / "labels.csv", index=False)

    from audioconv.data.layouts import registered_layout

    (tmp_path / "ESC-50-master").mkdir()
    registered_layout("esc50").example(tmp_path / "ESC-50-master")  # ESC-50 as it ships, 2 folds
    commands = _commands()
    assert len(commands) == 4
    for line in commands:
        argv = shlex.split(line)
        assert argv[:2] == ["audioconv", "fit"]
        assert main([*argv[1:], *SMOKE]) == 0
    out = capsys.readouterr().out
    assert out.count("== before training") == 3 + 2 and "run folder:" in out  # ESC-50: 2 folds
    runs = tmp_path / "runs"
    skipped = pd.read_csv(runs / "manifest" / "skipped.csv")
    assert skipped["path"].tolist() == [str(clips / "broken.wav")]
    assert skipped["reason"].iloc[0].startswith("unreadable")
    first = pd.read_csv(runs / "mine" / "splits.csv")
    pinned = pd.read_csv(runs / "same_split" / "splits.csv")
    assert dict(zip(first["path"], first["split"])) == dict(zip(pinned["path"], pinned["split"]))
    assert (runs / "same_split" / "report.json").is_file()
