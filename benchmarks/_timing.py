"""Shared timing helpers for the benchmarks: every benchmark measures both sides in one run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Seconds per call over ``repeat`` calls."""

    min: float
    median: float
    max: float

    def row(self, name: str, unit_per_call: float = 1.0, unit: str = "items/s") -> str:
        """A Markdown table row: name | min | median | max seconds | median throughput."""
        rate = unit_per_call / self.median if self.median > 0 else float("inf")
        return (
            f"| {name} | {self.min:.4f} | {self.median:.4f} | {self.max:.4f} | {rate:,.1f} {unit} |"
        )


TABLE_HEADER = "| what | min s | median s | max s | throughput |\n|---|---|---|---|---|"


def measure(fn: Callable[[], object], *, repeat: int = 5, warmup: int = 1) -> Timing:
    """Time ``fn()`` ``repeat`` times after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return Timing(min(times), statistics.median(times), max(times))
