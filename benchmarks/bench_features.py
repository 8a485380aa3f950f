"""Log-mel throughput: audioconv ``LogMel`` vs librosa, one-second 16 kHz clips per second.

Both sides compute the same features (n_fft=512, hop=160, 64 Slaney mel bands, power_to_db with
top_db=80 per clip) on the same float32 clips in one run. librosa is timed batched over chunks
(``melspectrogram`` takes ``(n, time)``) and clip by clip; audioconv in chunks under
``torch.inference_mode`` with 1 and 2 torch threads (on a shared 2-core machine one thread can win:
idle OpenMP workers spin). The best configuration of each side is compared.
"""

from __future__ import annotations

import librosa
import numpy as np
import torch

from audioconv.features import LogMel
from benchmarks._timing import TABLE_HEADER, measure

SAMPLE_RATE = 16000
N_CLIPS = 128
N_SINGLE = 32  # librosa clip by clip is slow: time fewer clips, report the rate
CHUNKS = (16, 32, 64)
OPTIONS = {"n_fft": 512, "hop_length": 160, "n_mels": 64}


def _librosa_log_mel(clips: np.ndarray) -> np.ndarray:
    """``(n, time)`` -> ``(n, n_mels, frames)`` dB, floored per clip as ``LogMel`` does."""
    mel = librosa.feature.melspectrogram(y=clips, sr=SAMPLE_RATE, **OPTIONS)
    db = librosa.power_to_db(mel, top_db=None)
    return np.maximum(db, db.max(axis=(-2, -1), keepdims=True) - 80.0)


def _in_chunks(fn, clips, size: int):
    return lambda: [fn(clips[start : start + size]) for start in range(0, len(clips), size)]


def main() -> str:
    rng = np.random.default_rng(0)
    clips = (0.1 * rng.standard_normal((N_CLIPS, SAMPLE_RATE))).astype(np.float32)
    tensor = torch.from_numpy(clips)
    module = LogMel(sample_rate=SAMPLE_RATE, **OPTIONS).eval()

    # the two sides agree before they race (per clip, bins within 80 dB of the peak)
    ours, theirs = module(tensor[:4]).numpy(), _librosa_log_mel(clips[:4])
    agreement = float(np.abs(ours - theirs)[theirs > theirs.max() - 80].max())

    def audioconv_chunks(size):
        def run():
            with torch.inference_mode():
                for start in range(0, N_CLIPS, size):
                    module(tensor[start : start + size])

        return run

    rows, rates = [], {}
    default_threads = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for size in CHUNKS:
                name = f"audioconv LogMel, {threads} thread(s), chunks of {size}"
                timing = measure(audioconv_chunks(size), repeat=5)
                rates[name] = N_CLIPS / timing.median
                rows.append(timing.row(name, N_CLIPS, "clips/s"))
    finally:
        torch.set_num_threads(default_threads)
    for size in CHUNKS:
        name = f"librosa batched, chunks of {size}"
        timing = measure(_in_chunks(_librosa_log_mel, clips, size), repeat=3)
        rates[name] = N_CLIPS / timing.median
        rows.append(timing.row(name, N_CLIPS, "clips/s"))
    timing = measure(_in_chunks(_librosa_log_mel, clips[:N_SINGLE], 1), repeat=3)
    rates["librosa clip by clip"] = N_SINGLE / timing.median
    rows.append(timing.row("librosa clip by clip", N_SINGLE, "clips/s"))

    best_ours = max((r, n) for n, r in rates.items() if n.startswith("audioconv"))
    best_librosa = max((r, n) for n, r in rates.items() if n.startswith("librosa batched"))
    by_clip = rates["librosa clip by clip"]
    return "\n".join(
        [
            "## Feature extraction: log-mel throughput",
            "",
            f"{N_CLIPS} one-second 16 kHz clips ({N_SINGLE} clip by clip), n_fft=512, hop=160, "
            f"64 mels, float32; max |dB difference| vs librosa {agreement:.1e}.",
            "",
            TABLE_HEADER,
            *rows,
            "",
            f"- best audioconv ({best_ours[1]}): {best_ours[0]:,.0f} clips/s",
            f"- vs librosa's best ({best_librosa[1]}): **{best_ours[0] / best_librosa[0]:.1f}x** "
            "(target >= 2x)",
            f"- vs librosa clip by clip: **{best_ours[0] / by_clip:.1f}x** (target >= 8x)",
        ]
    )


if __name__ == "__main__":
    print(main())
