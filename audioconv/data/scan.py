"""Decode every audio file of a manifest once, before training, and name every bad one.

A header check misses what only decoding shows: NaN / inf samples, an mp3 / ogg cut short, a
WAV whose header promises more samples than it holds. :func:`scan_files` decodes each file fully
(in threads, with a tqdm progress bar) and records its length, sample rate and problem, if any.
Results are cached by path, size and modification time, so a second run over the same files
reads the cache instead of decoding. :func:`check_audio_files` applies the scan to a manifest:
``on_error="raise"`` lists **every** bad file in one :class:`~audioconv.errors.DatasetError`;
``on_error="skip"`` drops their rows and returns them.

>>> import tempfile, numpy as np, soundfile as sf
>>> from pathlib import Path
>>> root = Path(tempfile.mkdtemp())
>>> sf.write(root / "good.wav", np.zeros(800, dtype=np.float32), 8000)
>>> (root / "bad.wav").write_bytes(b"not audio")
9
>>> scan = scan_files([root / "good.wav", root / "bad.wav"], progress=False)
>>> scan[str(root / "good.wav")]
FileScan(seconds=0.1, sample_rate=8000, problem=None)
>>> scan[str(root / "bad.wav")].problem.split(":")[0]
'unreadable'
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import soundfile as sf

from audioconv._atomic import atomic_write_text
from audioconv.errors import AudioError, ConfigError, DatasetError
from audioconv.io import audio_info

__all__ = [
    "FileScan",
    "bad_file_error",
    "check_audio_files",
    "decode_image",
    "default_cache_file",
    "scan_files",
]

_BLOCK = 1 << 16  # frames decoded at a time (bounded memory for long files)
_CACHE_VERSION = 1


@dataclass(frozen=True)
class FileScan:
    """One decoded file: its length in seconds, its sample rate and its problem (``None``: ok)."""

    seconds: float | None
    sample_rate: int | None
    problem: str | None


def _decode(path: str) -> FileScan:
    """Decode ``path`` block by block; any problem is a one-line reason, never an exception."""
    if not os.path.isfile(path):
        return FileScan(None, None, "missing: no such file")
    if os.path.getsize(path) == 0:
        return FileScan(0.0, None, "empty: the file is 0 bytes")
    try:
        info = audio_info(path)  # unreadable / truncated WAV headers raise here
    except AudioError as error:
        reason = str(error).removeprefix(f"{path}: ")
        kind = "truncated" if reason.startswith("truncated") else "unreadable"
        return FileScan(None, None, f"{kind}: {reason.removeprefix('truncated: ')}")
    if info.frames == 0:
        return FileScan(0.0, info.sample_rate, "empty: the file holds 0 samples")
    frames = 0
    try:
        with sf.SoundFile(path) as handle:
            while len(block := handle.read(_BLOCK, dtype="float32", always_2d=True)):
                if not np.isfinite(block).all():
                    return FileScan(
                        info.duration, info.sample_rate, "non-finite: the samples hold NaN or inf"
                    )
                frames += len(block)
    except (sf.SoundFileError, RuntimeError) as error:
        return FileScan(None, info.sample_rate, f"truncated: decoding failed mid-file ({error})")
    if frames < info.frames:
        return FileScan(
            frames / info.sample_rate,
            info.sample_rate,
            f"truncated: decoded {frames} of the {info.frames} frames the header declares",
        )
    return FileScan(round(frames / info.sample_rate, 6), info.sample_rate, None)


def decode_image(path: str) -> FileScan:
    """Decode an image fully as training reads it (:func:`audioconv.decode.read_image`); a
    problem is a one-line reason."""
    from audioconv.decode import read_image
    from audioconv.errors import InputError

    if not os.path.isfile(path):
        return FileScan(None, None, "missing: no such file")
    if os.path.getsize(path) == 0:
        return FileScan(None, None, "empty: the file is 0 bytes")
    try:
        read_image(path, channels=3)
    except InputError as error:
        reason = str(error).removeprefix(f"{path}: ")
        kind = "truncated" if "truncated" in reason else "unreadable"
        return FileScan(None, None, f"{kind}: {reason}")
    return FileScan(None, None, None)


def default_cache_file(root: str | os.PathLike) -> Path:
    """Where scans of the dataset folder ``root`` are cached: ``$AUDIOCONV_CACHE`` (default
    ``$XDG_CACHE_HOME/audioconv``, i.e. ``~/.cache/audioconv``) ``/scan-<hash of root>.json``."""
    import hashlib

    base = os.environ.get("AUDIOCONV_CACHE") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "audioconv"
    )
    digest = hashlib.sha1(str(Path(root).resolve()).encode()).hexdigest()[:16]
    return Path(base) / f"scan-{digest}.json"


def _stamp(path: str) -> list[int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def _read_cache(cache_file: Path | None) -> dict:
    if cache_file is None or not cache_file.is_file():
        return {}
    try:
        data = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a damaged cache is only a slower scan
    return data.get("files", {}) if data.get("version") == _CACHE_VERSION else {}


def scan_files(
    paths: Iterable[str | os.PathLike],
    *,
    cache_file: str | os.PathLike | None = None,
    workers: int | None = None,
    progress: bool = True,
    decode: Callable[[str], FileScan] | None = None,
) -> dict[str, FileScan]:
    """Decode every file of ``paths`` fully (``workers`` threads; default the CPU count) -> one
    :class:`FileScan` per distinct path. ``cache_file`` (JSON) keeps results keyed by path, size
    and mtime: an unchanged file is not decoded again; a cache that cannot be written (a
    read-only or full disk) warns once and the scan goes on, as a damaged one is only a slower
    scan. ``decode``: audio by default, :func:`decode_image` for images."""
    from tqdm.auto import tqdm

    unique = list(dict.fromkeys(str(p) for p in paths))
    cache_file = None if cache_file is None else Path(cache_file)
    cached = _read_cache(cache_file)
    stamps = {path: _stamp(path) for path in unique}
    results: dict[str, FileScan] = {}
    todo = []
    for path in unique:
        entry = cached.get(path)
        if entry is not None and stamps[path] is not None and entry["stamp"] == stamps[path]:
            results[path] = FileScan(**entry["scan"])
        else:
            todo.append(path)
    if todo:
        workers = workers or min(8, os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers) as pool:  # libsndfile releases the GIL
            decoded = pool.map(decode or _decode, todo)
            what = "image files" if decode is decode_image else "audio files"
            bar = tqdm(decoded, total=len(todo), desc=f"checking {what}", unit="file",
                       disable=not progress, leave=False)  # fmt: skip
            for path, scan in zip(todo, bar):
                results[path] = scan
    if cache_file is not None and todo:
        files = dict(cached)  # other files of the folder (another subset, another manifest) stay
        files.update(
            (path, {"stamp": stamps[path], "scan": results[path].__dict__})
            for path in todo
            if stamps[path] is not None
        )
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(cache_file, json.dumps({"version": _CACHE_VERSION, "files": files}))
        except OSError as error:
            warnings.warn(
                f"scan cache not saved ({error.strerror or error}: {cache_file}): the next run "
                "decodes every file again; set AUDIOCONV_CACHE to a writable folder",
                stacklevel=2,
            )
    return {path: results[path] for path in unique}


def check_audio_files(
    manifest: pd.DataFrame,
    *,
    on_error: Literal["raise", "skip"] = "raise",
    expect_rate: int | None = None,
    cache_file: str | os.PathLike | None = None,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scan the files of ``manifest`` (column ``path``) -> ``(kept rows, skipped)``.

    ``kept`` gains a ``seconds`` column (the row's ``duration`` when it reads a segment, else the
    file's length). ``skipped`` has columns ``path`` and ``reason``. ``expect_rate`` (Hz) makes a
    file at any other sample rate a bad file (``None``: every rate is resampled).

    Raises:
        DatasetError: ``on_error="raise"`` and at least one bad file (the message lists all),
            every file bad (the message counts them and lists the first reasons), or one file
            under two names (:func:`refuse_one_file_twice`).
    """
    if on_error not in ("raise", "skip"):
        raise ConfigError(f"on_error={on_error!r}: use 'raise' or 'skip'")
    from audioconv.data.splits import segment_keys

    refuse_one_file_twice(manifest["path"].astype(str), segment_keys(manifest))
    scans = scan_files(manifest["path"], cache_file=cache_file, progress=progress)
    bad = {}
    for path, scan in scans.items():
        problem = scan.problem
        if problem is None and expect_rate is not None and scan.sample_rate != expect_rate:
            problem = f"wrong rate: {scan.sample_rate} Hz where the dataset is {expect_rate} Hz"
        if problem is not None:
            bad[path] = problem
    skipped = pd.DataFrame(
        {"path": list(bad), "reason": list(bad.values())}, columns=["path", "reason"]
    )
    if bad and on_error == "raise":
        raise bad_file_error(bad, len(scans), "audio")
    if bad and len(bad) == len(scans):
        shown = list(bad.items())[:5]
        more = f"\n  ... and {len(bad) - len(shown)} more" if len(bad) > len(shown) else ""
        raise DatasetError(
            f"all {len(bad)} audio file(s) are bad, so --on-error skip leaves nothing to train "
            "on:\n  "
            + "\n  ".join(f"{path}: {reason}" for path, reason in shown)
            + more
            + "\nfix them as the reasons say"
        )
    kept = manifest[~manifest["path"].astype(str).isin(bad)].copy()
    seconds = kept["path"].astype(str).map(lambda p: scans[p].seconds)
    if "duration" in kept:
        seconds = kept["duration"].where(kept["duration"].notna(), seconds)
    kept["seconds"] = seconds.astype(float).to_numpy()
    kept.attrs = dict(manifest.attrs)
    return kept, skipped


def refuse_one_file_twice(paths: Iterable[str], keys: Iterable[str] | None = None) -> None:
    """Refuse a dataset holding one file under two names (a symlink and its target, two links):
    it would be trained twice, or sit in train and test at once. ``keys`` (e.g. a segment's
    ``"@offset+duration"``) tell apart clips that are parts of one file."""
    keys = [""] * len(paths := list(paths)) if keys is None else list(keys)
    first: dict[str, str] = {}
    twice: list[tuple[str, str]] = []
    for path, key in zip(paths, keys, strict=True):
        name = first.setdefault(os.path.realpath(path) + key, path)
        if name != path:
            twice.append((name, path))
    if twice:
        shown = "\n  ".join(f"{a} and {b}" for a, b in twice[:5])
        more = f"\n  ... and {len(twice) - 5} more" if len(twice) > 5 else ""
        raise DatasetError(
            f"{len(twice)} file(s) are in the dataset under two names (a link and its target?):"
            f"\n  {shown}{more}\neach would be trained twice, or sit in training and test at "
            "once: keep one name per file (delete the links, or list one path in the manifest)"
        )


def bad_file_error(bad: dict[str, str], total: int, kind: str) -> DatasetError:
    """One error listing every bad file (``{path: reason}``) and the two ways out."""
    listing = "\n  ".join(f"{path}: {reason}" for path, reason in bad.items())
    return DatasetError(
        f"{len(bad)} bad {kind} file(s) of {total}:\n  {listing}\n"
        "fix or remove them, or pass --on-error skip to train without them "
        "(they are listed in skipped.csv)"
    )
