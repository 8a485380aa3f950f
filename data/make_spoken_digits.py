"""Generate the embedded spoken-digit dataset (FSDD layout) from espeak-ng voices and sox effects.

Usage (from the repository root)::

    python data/make_spoken_digits.py --out data/spoken_digits

Every clip is the word "zero" .. "nine" spoken by one espeak-ng voice (a base accent plus a voice
variant), with per-utterance random pitch, speed, intonation, band-limiting, pitch / tempo shift,
reverb, level and low-level noise. The random draws of a clip come from a generator seeded by
``(seed, speaker, digit, index)`` alone, so any subset regenerates to the same samples as the full
run, and the output is identical given the same espeak-ng, sox and libsndfile versions.

Writes ``{digit}_{speaker}_{index}.flac`` (mono, 16-bit, 8 kHz, at most 1 s), a ``splits.csv``
manifest (``path,label,speaker,split``; split by voice so test voices are never heard in training)
and a ``README.md`` recording the tool versions, the voices and the split.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from audioconv._atomic import atomic_path, atomic_write_text
from audioconv.errors import ConfigError, EmptyAudioError

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SAMPLE_RATE = 8000
MAX_SECONDS = 1.0
DEFAULT_SEED = 20240607
DEFAULT_UTTERANCES = 2

# Base accents: speaker-id prefix -> espeak-ng voice.
BASES = {
    "gb": "en-gb",
    "us": "en-us",
    "sco": "en-gb-scotland",
    "lan": "en-gb-x-gbclan",
    "rp": "en-gb-x-rp",
    "wmd": "en-gb-x-gbcwmd",
    "car": "en-029",
    "nyc": "en-us-nyc",
}
# Voice variants (espeak-ng --voices=variant): male, female, klatt-synthesiser, croaky and named
# voices (no whispered ones: unvoiced digits at 8 kHz are a different task). See ``voice_table``.
VARIANTS = (
    "m1", "m3", "m6", "m7", "f1", "f2", "f3", "f4",
    "f5", "klatt", "klatt3", "croak", "Alicia", "Annie", "Andy", "steph",
)  # fmt: skip
VARIANTS_PER_BASE = 8
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker: a base accent code (a key of ``BASES``) and a variant name."""

    base: str
    variant: str
    split: str

    @property
    def speaker(self) -> str:
        """The FSDD speaker id: lower-case letters and digits, no underscore (e.g. ``usm3``)."""
        return f"{self.base}{self.variant.lower()}"

    @property
    def espeak_voice(self) -> str:
        """The ``-v`` argument of espeak-ng, e.g. ``en-us+m3``."""
        return f"{BASES[self.base]}+{self.variant}"


def voice_table() -> list[Voice]:
    """The 64 voices and their split.

    Base ``b`` (in ``BASES`` order) speaks with variants ``(2b + k) % 16`` for ``k = 0..7``, so each
    variant is paired with four bases. Test voices: ``k = 0`` of every base and ``k = 5`` of bases
    0..3 (12 voices); validation voices: ``k = 3`` of every base (8 voices); the other 44 train.
    Every base and every variant keeps at least two training voices, so test voices are unseen
    base + variant combinations, not unseen accents or variant families.
    """
    voices = []
    for b, base in enumerate(BASES):
        for k in range(VARIANTS_PER_BASE):
            variant = VARIANTS[(2 * b + k) % len(VARIANTS)]
            if k == 0 or (k == 5 and b < 4):
                split = "test"
            elif k == 3:
                split = "val"
            else:
                split = "train"
            voices.append(Voice(base, variant, split))
    return voices


@dataclass(frozen=True)
class Utterance:
    """One clip to synthesise: ``voice`` saying ``DIGIT_WORDS[digit]``, repetition ``index``."""

    voice: Voice
    digit: int
    index: int

    @property
    def filename(self) -> str:
        """``{digit}_{speaker}_{index}.flac`` (the FSDD layout)."""
        return f"{self.digit}_{self.voice.speaker}_{self.index}.flac"


def utterance_rng(utt: Utterance, seed: int) -> np.random.Generator:
    """A generator seeded by ``(seed, speaker, digit, index)`` alone, whatever subset is made."""
    key = f"{seed}/{utt.voice.speaker}/{utt.digit}/{utt.index}".encode()
    return np.random.default_rng(int.from_bytes(hashlib.sha256(key).digest()[:8], "little"))


def utterance_params(utt: Utterance, seed: int) -> dict:
    """Draw the random settings of one clip (espeak-ng prosody, sox effects, noise and level)."""
    rng = utterance_rng(utt, seed)
    return {
        "pitch": int(rng.integers(10, 90)),  # espeak-ng -p, 0..99
        "speed": int(rng.integers(140, 240)),  # espeak-ng -s, words per minute
        "text": DIGIT_WORDS[utt.digit] + str(rng.choice(["", ".", "!", "?", ","])),  # intonation
        "highpass_hz": int(rng.integers(60, 300)),
        "lowpass_hz": int(rng.integers(3000, 3900)),
        "pitch_cents": int(rng.integers(-150, 151)),
        "tempo": float(np.round(rng.uniform(0.9, 1.12), 3)),
        "reverb": int(rng.integers(5, 45)) if rng.random() < 0.35 else 0,  # reverberance %
        "room_scale": int(rng.integers(10, 50)),
        "lead_seconds": float(rng.uniform(0.0, 0.06)),
        "peak": float(rng.uniform(0.15, 0.6)),
        "snr_db": float(rng.uniform(28.0, 50.0)),
        "noise_seed": int(rng.integers(2**31)),
    }


def _sox_effects(params: dict, tempo: float) -> list[str]:
    """The sox effect chain: band-limit, pitch and tempo shift, optional reverb, 8 kHz, trim."""
    effects = ["sinc", f"{params['highpass_hz']}-{params['lowpass_hz']}"]
    effects += ["pitch", str(params["pitch_cents"]), "tempo", "-s", f"{tempo:.4f}"]
    if params["reverb"]:
        effects += ["reverb", str(params["reverb"]), "50", str(params["room_scale"]), "100", "0"]
    effects += ["rate", "-v", str(SAMPLE_RATE), "norm", "-1"]
    # Trim leading and trailing silence: below -50 dB of the peak (keeps a weak final /s/).
    effects += [
        "silence",
        "1",
        "0.01",
        "0.3%",
        "reverse",
        "silence",
        "1",
        "0.01",
        "0.3%",
        "reverse",
    ]
    return effects


def _speak(utt: Utterance, params: dict, workdir: Path, tempo: float) -> np.ndarray:
    """Run espeak-ng then sox; returns the trimmed speech, float32 ``(time,)`` at 8 kHz."""
    wav = workdir / "speech.wav"
    subprocess.run(
        ["espeak-ng", "-v", utt.voice.espeak_voice, "-p", str(params["pitch"]),
         "-s", str(params["speed"]), "-w", str(wav), params["text"]],
        check=True, capture_output=True,
    )  # fmt: skip
    out = subprocess.run(
        ["sox", "-R", "-V1", str(wav), "-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1",
         "-", *_sox_effects(params, tempo)],
        check=True, capture_output=True,
    )  # fmt: skip
    return np.frombuffer(out.stdout, dtype="<f4")


def synthesize(utt: Utterance, seed: int) -> np.ndarray:
    """Synthesise one clip: float32 ``(time,)`` at ``SAMPLE_RATE``, ``time <= MAX_SECONDS * rate``.

    Speech longer than ``MAX_SECONDS`` is re-rendered with a proportionally faster tempo; the
    trimmed speech is delayed by a short noisy lead-in, peak-normalised to a random level and mixed
    with white noise at a random SNR.
    """
    params = utterance_params(utt, seed)
    max_len = int(MAX_SECONDS * SAMPLE_RATE)
    tempo = params["tempo"]
    with tempfile.TemporaryDirectory(prefix="spoken_digits_") as tmp:
        speech = _speak(utt, params, Path(tmp), tempo)
        while len(speech) > max_len:
            tempo *= len(speech) / (0.95 * max_len)
            speech = _speak(utt, params, Path(tmp), tempo)
    if speech.size == 0 or not np.any(speech):
        raise EmptyAudioError(utt.filename, f"espeak-ng + sox produced silence with {params}")
    lead = min(int(params["lead_seconds"] * SAMPLE_RATE), max_len - len(speech))
    clip = np.concatenate([np.zeros(lead, dtype=np.float32), speech])  # (time,)
    clip *= params["peak"] / np.abs(clip).max()
    speech_rms = np.sqrt(np.mean(clip[lead:] ** 2))
    noise_std = speech_rms * 10.0 ** (-params["snr_db"] / 20.0)
    noise = np.random.default_rng(params["noise_seed"]).standard_normal(len(clip))
    return np.clip(clip + noise_std * noise, -1.0, 1.0).astype(np.float32)


def write_clip(path: Path, samples: np.ndarray) -> None:
    """Write float ``(time,)`` samples as 16-bit mono FLAC at ``SAMPLE_RATE`` (atomically)."""
    with atomic_path(path) as tmp:
        sf.write(tmp, samples, SAMPLE_RATE, subtype="PCM_16", format="FLAC")


def _render(job: tuple[Utterance, int, Path]) -> None:
    utt, seed, out_dir = job
    write_clip(out_dir / utt.filename, synthesize(utt, seed))


def tool_versions() -> dict[str, str]:
    """Versions of espeak-ng, sox and libsndfile (together they fix the output bytes)."""
    espeak = subprocess.run(["espeak-ng", "--version"], check=True, capture_output=True, text=True)
    sox = subprocess.run(["sox", "--version"], check=True, capture_output=True, text=True)
    return {
        "espeak-ng": re.search(r"text-to-speech:\s*(\S+)", espeak.stdout).group(1),
        "sox": re.search(r"SoX v(\S+)", sox.stdout).group(1),
        "libsndfile": sf.__libsndfile_version__,
    }


def plan(
    *,
    utterances: int = DEFAULT_UTTERANCES,
    speakers: list[str] | None = None,
    digits: list[int] | None = None,
) -> list[Utterance]:
    """Every clip of the dataset, or of a subset of speakers / digits, in a fixed order."""
    voices = voice_table()
    known = {v.speaker for v in voices}
    unknown = sorted(set(speakers or ()) - known)
    if unknown:
        raise ConfigError(
            f"speakers={unknown} are not voices of this dataset; use one of {sorted(known)}"
        )
    if utterances < 1:
        raise ConfigError(f"utterances={utterances} must be >= 1 (clips per voice and digit)")
    digits = list(range(10)) if digits is None else digits
    bad = [d for d in digits if d not in range(10)]
    if bad:
        raise ConfigError(f"digits={bad} are not digits; use values in 0..9")
    return [
        Utterance(v, d, i)
        for v in voices
        if speakers is None or v.speaker in speakers
        for d in digits
        for i in range(utterances)
    ]


def generate(
    out_dir: str | Path,
    *,
    utterances: int = DEFAULT_UTTERANCES,
    seed: int = DEFAULT_SEED,
    workers: int = 2,
    speakers: list[str] | None = None,
    digits: list[int] | None = None,
) -> pd.DataFrame:
    """Synthesise the clips into ``out_dir``; returns the manifest ``path,label,speaker,split``."""
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        raise ConfigError("espeak-ng and sox must be on PATH: apt-get install espeak-ng sox")
    if workers < 1:
        raise ConfigError(f"workers={workers} must be >= 1")
    todo = plan(utterances=utterances, speakers=speakers, digits=digits)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(utt, seed, out_dir) for utt in todo]
    if workers == 1:
        for job in jobs:
            _render(job)
    else:
        with multiprocessing.Pool(workers) as pool:
            pool.map(_render, jobs, chunksize=16)
    return pd.DataFrame(
        {
            "path": [u.filename for u in todo],
            "label": [u.digit for u in todo],
            "speaker": [u.voice.speaker for u in todo],
            "split": [u.voice.split for u in todo],
        }
    )


_README_FORMAT = """\
- File names: `{digit}_{speaker}_{index}.flac`; the digit is the label.
- `splits.csv`: `path,label,speaker,split`. The split is by voice: no voice appears in two splits,
  so test voices are never heard in training.
- Why 8 kHz: it is the rate of the Free Spoken Digit Dataset, the cues that tell digits apart lie
  below 4 kHz (telephone band), and 16 kHz would double the size for no accuracy the held-out
  voices need (a log-mel + SVM check reaches ~98% on them at 8 kHz).

Each clip draws its own espeak-ng pitch (-p 10..89) and speed (-s 140..239 wpm), a final
punctuation mark (changes the intonation), a sox band-limit (high-pass 60..299 Hz, low-pass
3000..3899 Hz), pitch shift (+-150 cents), tempo (x0.9..1.12), reverb on 35% of the clips, a
0..60 ms lead-in, a peak level (0.15..0.6) and white noise at 28..50 dB SNR. The draws are seeded by
(seed, speaker, digit, index), so the same tool versions give the same samples and any subset
regenerates identically (checked by `tests/test_spoken_digits_data.py`)."""

_README_SPLIT = """\
A voice is a base accent plus an espeak-ng variant (`espeak-ng -v BASE+VARIANT`). Base `b` (in the
order below) uses variants `(2b + k) mod 16`, `k = 0..7`, so every variant is paired with four
bases. Test voices: `k = 0` of every base and `k = 5` of the first four bases; validation voices:
`k = 3` of every base. Every base accent keeps at least five and every variant at least two
training voices: the held-out voices are unseen *combinations* of accent and variant (with their
own random prosody), not unseen accents or variant families. Accuracy on them measures
generalisation to new synthetic voices, which is easier than generalisation to new human
speakers. There are no whispered voices (unvoiced digits at 8 kHz are a different task)."""


def readme_text(manifest: pd.DataFrame, *, utterances: int, seed: int) -> str:
    """The dataset card: provenance, tool versions, voices per split and the split rule."""
    versions = tool_versions()
    sizes = manifest.groupby("split").agg(voices=("speaker", "nunique"), clips=("path", "size"))
    lines = [
        "# Synthetic spoken digits (FSDD layout)",
        "",
        "Generated by `python data/make_spoken_digits.py --out data/spoken_digits "
        f"--utterances {utterances} --seed {seed}`; do not edit by hand.",
        "",
        f"- {len(manifest)} clips: {manifest['speaker'].nunique()} voices x 10 digits x "
        f"{utterances} utterances; the words `zero` .. `nine`.",
        f"- Mono 16-bit FLAC at {SAMPLE_RATE} Hz (the rate of the Free Spoken Digit Dataset), "
        f"each at most {MAX_SECONDS:g} s (silence-trimmed).",
        *_README_FORMAT.splitlines(),
        "",
        "## Tool versions",
        "",
        *[f"- {name}: {version}" for name, version in versions.items()],
        "",
        "## Voices and split",
        "",
        *_README_SPLIT.splitlines(),
        "",
        "| split | voices | clips |",
        "|---|---|---|",
        *[f"| {split} | {sizes.voices[split]} | {sizes.clips[split]} |" for split in SPLITS],
        "",
        "| speaker | espeak-ng voice | split |",
        "|---|---|---|",
        *[f"| {v.speaker} | `{v.espeak_voice}` | {v.split} |" for v in voice_table()],
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "spoken_digits", help="output folder"
    )
    parser.add_argument(
        "--utterances", type=int, default=DEFAULT_UTTERANCES, help="clips per voice and digit"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of every random draw")
    parser.add_argument("--workers", type=int, default=2, help="parallel processes")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    for stale in args.out.glob("*.flac"):  # clips of an earlier run with other settings
        stale.unlink()
    manifest = generate(args.out, utterances=args.utterances, seed=args.seed, workers=args.workers)
    with atomic_path(args.out / "splits.csv") as tmp:
        manifest.to_csv(tmp, index=False)
    atomic_write_text(
        args.out / "README.md", readme_text(manifest, utterances=args.utterances, seed=args.seed)
    )
    size_mb = sum(p.stat().st_size for p in args.out.glob("*.flac")) / 1e6
    print(
        f"wrote {len(manifest)} clips ({size_mb:.1f} MB) to {args.out} "
        f"in {time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
