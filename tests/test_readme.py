"""The README's tour runs as written (it is the first thing a newcomer copies)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_starts_with_the_two_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    block = lines[lines.index("```bash") + 1 : lines.index("```bash") + 3]
    assert [line.split()[:2] for line in block] == [["make", "demo"], ["make", "test"]]


def test_readme_tour_runs(tmp_path, monkeypatch, capsys):
    text = (ROOT / "README.md").read_text()
    tour = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    (tmp_path / "data").symlink_to(ROOT / "data")
    monkeypatch.chdir(tmp_path)
    exec(compile(tour, "README.md tour", "exec"), {})
    out = capsys.readouterr().out
    assert "Total params: 11,175,370" in out  # resnet18 2D, 1 input channel, 10 classes
    assert "log_loss" in out and "1.378" in out
    assert {"report.json", "report.md"} <= {p.name for p in (tmp_path / "runs/example").iterdir()}


def test_readme_sensor_example_runs(tmp_path, monkeypatch, capsys):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    sensor = next(b for b in blocks if "read_sensor_log" in b)
    monkeypatch.chdir(tmp_path)
    exec(compile(sensor, "README.md sensor example", "exec"), {})
    assert "torch.Size([64, 3, 128]) torch.Size([64])" in capsys.readouterr().out
