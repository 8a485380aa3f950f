"""Run every benchmark and write ``benchmarks/results.md`` (``make bench``).

Each ``benchmarks/bench_*.py`` exposes ``main() -> str`` returning a Markdown section; the sections
are printed as they finish and written together, with the machine description, at the end.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import time
from pathlib import Path

from audioconv._atomic import atomic_write_text

HERE = Path(__file__).resolve().parent


def machine_description() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"- CPU: {cpu}, {os.cpu_count()} logical cores; torch threads: {torch.get_num_threads()}\n"
        f"- Python {platform.python_version()}, torch {torch.__version__}, {platform.platform()}\n"
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )


def main(argv: list[str] | None = None) -> int:
    names = argv if argv else sorted(p.stem for p in HERE.glob("bench_*.py"))
    sections = ["# audioconv benchmarks\n", machine_description(), ""]
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        start = time.perf_counter()
        print(f"== {name} ==", flush=True)
        section = module.main()
        print(section, flush=True)
        sections += [section, f"\n_{name} took {time.perf_counter() - start:.1f} s_\n"]
    atomic_write_text(HERE / "results.md", "\n".join(sections) + "\n")
    print(f"wrote {HERE / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
