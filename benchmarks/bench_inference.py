"""Inference for the demo model: streaming real-time factor, memory over a 1-hour stream, and
ONNX (onnxruntime) vs PyTorch latency per 1 s clip.

The model is the spoken-digits demo's (``AudioFrontend``: log-mel 64 bands, n_fft 512, hop 80 at
8 kHz, per-example standardisation; ``spectrogram_cnn``; 10 classes): the trained
``runs/demo/checkpoints/best.ckpt`` when it exists, else the same architecture randomly
initialised (the section says which). Stream: 1 s windows every 0.25 s, fed in 0.1 s chunks.
"""

from __future__ import annotations

import os
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

from audioconv.deploy import OnnxClassifier
from audioconv.export import InferenceModel, export_onnx
from audioconv.streaming import StreamClassifier
from benchmarks._timing import TABLE_HEADER, measure

CHECKPOINT = Path(__file__).resolve().parents[1] / "runs" / "demo" / "checkpoints" / "best.ckpt"
RATE = 8000
WINDOW_S, HOP_S, CHUNK_S = 1.0, 0.25, 0.1
THREADS = 2


def demo_model() -> tuple[InferenceModel, str]:
    """The demo model in eval mode and a description of where its weights come from."""
    if CHECKPOINT.is_file():
        from audioconv.tasks import load_classifier

        model = InferenceModel.from_classifier(load_classifier(CHECKPOINT))
        return model, "trained demo checkpoint `runs/demo/checkpoints/best.ckpt`"
    from audioconv.features import AudioFrontend
    from audioconv.models import create

    torch.manual_seed(0)
    frontend = AudioFrontend(kind="logmel", sample_rate=RATE, n_fft=512, hop_length=80, n_mels=64)
    backbone = create("spectrogram_cnn", dims=2, in_channels=1, num_classes=10)
    model = InferenceModel(
        backbone, frontend=frontend, class_names=[str(d) for d in range(10)], sample_rate=RATE
    )
    return model.eval(), "randomly initialised demo architecture (no `runs/demo` checkpoint)"


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux /proc)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def signal_chunks(seconds: float, rate: float, seed: int = 0):
    """``seconds`` of noisy tones in ``CHUNK_S`` chunks ``(1, n)``, cycling a 10 s buffer."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(10 * rate)) / rate
    loop = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)
    loop = loop.astype(np.float32)[None]
    step = round(CHUNK_S * rate)
    for start in range(0, round(seconds * rate), step):
        offset = start % loop.shape[1]
        yield loop[:, offset : offset + step]


def stream_seconds(model, rate: float, seconds: float) -> float:
    """Wall seconds to stream ``seconds`` of signal through ``model``."""
    stream = StreamClassifier(model, sample_rate=rate, window_s=WINDOW_S, hop_s=HOP_S)
    start = time.perf_counter()
    for chunk in signal_chunks(seconds, rate):
        stream.push(chunk)
    stream.flush()
    return time.perf_counter() - start


def hour_of_stream(model, rate: float) -> tuple[float, float, float]:
    """RSS (MB) after 10 and 60 simulated minutes, and the wall seconds it took."""
    stream = StreamClassifier(
        model, sample_rate=rate, window_s=WINDOW_S, hop_s=HOP_S, smoothing="mean"
    )
    per_chunk = round(CHUNK_S * rate)
    rss_10 = 0.0
    start = time.perf_counter()
    for index, chunk in enumerate(signal_chunks(3600, rate)):
        stream.push(chunk)
        if (index + 1) * per_chunk == round(600 * rate):
            rss_10 = rss_mb()
    return rss_10, rss_mb(), time.perf_counter() - start


def main() -> str:
    torch.set_num_threads(THREADS)
    model, source = demo_model()
    rate = float(model.sample_rate or RATE)
    window = round(WINDOW_S * rate)
    with tempfile.TemporaryDirectory() as folder:
        path = export_onnx(
            model, Path(folder) / "demo.onnx", example_input=torch.randn(2, 1, window)
        )
        # Streaming feeds one window per call: compare 1 and 2 intra-op threads per backend.
        seconds = 20.0
        rtf: dict[tuple[str, int], float] = {}
        runners = {}
        for threads in (1, THREADS):
            torch.set_num_threads(threads)
            rtf["PyTorch", threads] = seconds / stream_seconds(model, rate, seconds)
            runners["onnxruntime", threads] = OnnxClassifier(path, num_threads=threads)
            rtf["onnxruntime", threads] = seconds / stream_seconds(
                runners["onnxruntime", threads], rate, seconds
            )
        best = max(rtf, key=rtf.get)
        torch.set_num_threads(best[1])
        fastest = runners.get(best, model)
        rss_10, rss_60, hour_wall = hour_of_stream(fastest, rate)

        clip = torch.randn(1, 1, window)
        clip_np = clip.numpy()

        def torch_clip():
            with torch.inference_mode():
                model(clip)

        latency = {}
        for threads in (1, THREADS):
            torch.set_num_threads(threads)
            onnx = runners["onnxruntime", threads]
            latency["PyTorch", threads] = measure(torch_clip, repeat=40, warmup=5)
            latency["onnxruntime", threads] = measure(partial(onnx, clip_np), repeat=40, warmup=5)
        with torch.inference_mode():
            agreement = float(np.abs(onnx(clip_np) - model(clip).numpy()).max())

    backend = f"{best[0]}, {best[1]} thread(s)"
    rows = [f"| {name} | {threads} | {value:,.0f}x |" for (name, threads), value in rtf.items()]
    lines = [
        "## Inference: streaming, memory, ONNX vs PyTorch",
        "",
        f"Model: {source}; log-mel 64 + spectrogram_cnn, {rate:g} Hz. "
        f"Stream: {WINDOW_S:g} s windows every {HOP_S:g} s, {CHUNK_S:g} s chunks.",
        "",
        f"| streaming backend | intra-op threads | real-time factor ({seconds:g} s stream) |",
        "|---|---|---|",
        *rows,
        "",
        f"Target >= 100x real time: {'met' if rtf[best] >= 100 else 'NOT met'} "
        f"(best: {backend}, {rtf[best]:,.0f}x).",
        "",
        f"Memory over a simulated 1-hour stream ({backend}, mean smoothing k=5): RSS "
        f"{rss_10:.1f} MB at 10 min, {rss_60:.1f} MB at 60 min ({rss_60 - rss_10:+.1f} MB); "
        f"the hour took {hour_wall:.1f} s ({3600 / hour_wall:,.0f}x real time).",
        "",
        "Latency per 1 s clip (batch 1):",
        "",
        TABLE_HEADER,
        *(
            t.row(f"{name}, {threads} thread(s)", unit="clips/s")
            for (name, threads), t in latency.items()
        ),
        "",
        *(
            f"- onnxruntime / PyTorch median latency, {threads} thread(s): "
            f"{latency['onnxruntime', threads].median / latency['PyTorch', threads].median:.2f}"
            for threads in (1, THREADS)
        ),
        f"- max abs probability difference between the two: {agreement:.1e}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
