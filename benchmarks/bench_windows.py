"""Strided windows vs copying: memory and batch-assembly time on a (10,000,000 x 6) float32 stream.

Windows of m=128 samples every s=32 samples, mini-batches of 64, shuffled and sequential order.
Compared side by side in one run:

- **audioconv**: ``WindowDataset`` (per-stream window offsets + strided views) iterated through its
  ``loader`` (one ``get_batch`` gather per batch), and ``get_batch`` alone;
- **copy baseline**: ``np.ascontiguousarray`` of the same windows of each batch, in the same
  layout (the copy any batch has to make);
- **materialise up front**: ``np.ascontiguousarray`` of every window, what libraries that copy
  windows before training do; timed on the first 10% of the windows and scaled (the full copy
  would take the 0.96 GB this benchmark is about).

Peak extra memory is the resident-set high-water mark (``VmHWM`` in ``/proc/self/status``, reset
through ``/proc/self/clear_refs``) above the resident size before the dataset is built, so torch
and numpy allocations both count; the stream itself is allocated before.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from audioconv.windows import WindowDataset, sliding_windows
from benchmarks._timing import TABLE_HEADER, measure

LENGTH, CHANNELS, SIZE, STEP, BATCH = 10_000_000, 6, 128, 32, 64
STATUS, CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int:
    for line in STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} missing from {STATUS}")


def _peak_extra_bytes(fn) -> int:
    """Resident-set high-water mark reached while ``fn()`` runs, above the resident size before."""
    CLEAR_REFS.write_text("5")  # reset VmHWM to the current resident size
    before = _status_kib("VmRSS")
    fn()
    return (_status_kib("VmHWM") - before) * 1024


def _consume(batches) -> int:
    n = 0
    for batch in batches:
        n += len(batch[0]) if isinstance(batch, (tuple, list)) else len(batch)  # (x, y) or x
    return n


def main() -> str:
    rng = np.random.default_rng(0)
    stream = rng.standard_normal((LENGTH, CHANNELS), dtype=np.float32)  # (time, channels)
    labels = [rng.integers(0, 5, LENGTH)]
    n_windows = (LENGTH - SIZE) // STEP + 1
    materialised = n_windows * SIZE * CHANNELS * 4
    n_batches = -(-n_windows // BATCH)
    order = {"sequential": np.arange(n_windows), "shuffled": rng.permutation(n_windows)}
    batches = {k: np.array_split(v, n_batches) for k, v in order.items()}

    # load torch's libraries first: their resident size is no cost of windowing
    _consume(WindowDataset([stream[:SIZE]], window=SIZE, hop=STEP).loader(BATCH))

    # memory: build the dataset and run one full pass of each order through its loader
    holder = {}

    def build_and_iterate():
        holder["ds"] = WindowDataset([stream], labels, window=SIZE, hop=STEP, label_reduce="last")
        for shuffle in (False, True):
            seen = _consume(holder["ds"].loader(BATCH, shuffle=shuffle, seed=0))
            if seen != n_windows:
                raise RuntimeError(f"the loader yielded {seen} windows, expected {n_windows}")

    peak = _peak_extra_bytes(build_and_iterate)
    ds = holder["ds"]
    # batch assembly is timed on windows only, the same work as the copy baseline
    ds_first = WindowDataset([stream], window=SIZE, hop=STEP)
    ds_last = WindowDataset([stream], window=SIZE, hop=STEP, channels_first=False)

    view = sliding_windows(stream, SIZE, STEP)  # (n_windows, size, channels), a view

    def baseline(name: str, channels_first: bool):
        def run():
            for idx in batches[name]:
                if name == "sequential":  # a contiguous range: a slice of the view
                    windows = view[idx[0] : idx[-1] + 1]
                else:
                    windows = view[idx]
                if channels_first:  # (batch, size, channels) -> (batch, channels, size)
                    windows = windows.transpose(0, 2, 1)
                np.ascontiguousarray(windows)

        return run

    def gather(dataset, name):
        def run():
            for idx in batches[name]:
                dataset.get_batch(idx)  # dropped at once, as a training step would

        return run

    def loader(name):
        return lambda: _consume(ds.loader(BATCH, shuffle=name == "shuffled", seed=0))

    subset = view[: n_windows // 10]
    upfront = measure(lambda: np.ascontiguousarray(subset), repeat=3)
    rows, ratios = [], {}
    for name in ("sequential", "shuffled"):
        base_cl = measure(baseline(name, False), repeat=3)
        base_cf = measure(baseline(name, True), repeat=3)
        ours_cl = measure(gather(ds_last, name), repeat=3)
        ours_cf = measure(gather(ds_first, name), repeat=3)
        ours_loader = measure(loader(name), repeat=3)
        ratios[name] = (ours_cl.median / base_cl.median, ours_cf.median / base_cf.median)
        rows += [
            base_cl.row(f"{name}: np.ascontiguousarray per batch (b, m, c)", n_windows, "win/s"),
            ours_cl.row(f"{name}: WindowDataset.get_batch (b, m, c)", n_windows, "win/s"),
            base_cf.row(f"{name}: np.ascontiguousarray per batch (b, c, m)", n_windows, "win/s"),
            ours_cf.row(f"{name}: WindowDataset.get_batch (b, c, m)", n_windows, "win/s"),
            ours_loader.row(
                f"{name}: WindowDataset.loader, windows + labels (b, c, m)", n_windows, "win/s"
            ),
        ]
    upfront_s = upfront.median * 10
    budget = 0.05 * materialised
    worst = max(max(r) for r in ratios.values())
    lines = [
        "## Sliding windows: strided views vs copies",
        "",
        f"Stream {LENGTH:,} x {CHANNELS} float32 ({stream.nbytes / 1e9:.2f} GB), windows m={SIZE}, "
        f"s={STEP}: {n_windows:,} windows, {n_batches:,} batches of {BATCH}. "
        f"Materialised windows: {n_windows:,} x {SIZE} x {CHANNELS} x 4 B = "
        f"**{materialised / 1e9:.3f} GB**.",
        "",
        f"- Peak extra memory (dataset + one pass sequential + one pass shuffled "
        f"through the loader, RSS high-water mark): **{peak / 1e6:.1f} MB** = "
        f"{100 * peak / materialised:.2f}% of the materialised size "
        f"(budget 5% = {budget / 1e6:.0f} MB: {'PASS' if peak < budget else 'FAIL'}).",
        f"- Stored by the dataset besides the stream: window offsets {ds.offsets.nbytes} B, "
        f"one label per window {ds.labels.nbytes / 1e6:.1f} MB.",
        f"- Materialising every window up front instead: {materialised / 1e9:.2f} GB and "
        f"~{upfront_s:.2f} s (np.ascontiguousarray on the first 10% of windows, x10).",
        f"- Batch assembly (get_batch, windows only) / copy baseline, median of 3 full passes "
        f"(times are for all "
        f"{n_batches:,} batches): sequential {ratios['sequential'][0]:.2f}x (b, m, c), "
        f"{ratios['sequential'][1]:.2f}x (b, c, m); shuffled {ratios['shuffled'][0]:.2f}x, "
        f"{ratios['shuffled'][1]:.2f}x (budget 2x: {'PASS' if worst <= 2 else 'FAIL'}).",
        "",
        TABLE_HEADER,
        *rows,
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
