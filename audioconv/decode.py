"""Decoding audio files with soundfile and the checks every reader shares (no torch).

:func:`read_audio` is the one decoder: training (``audioconv.io.load_audio``) and deployment
(``audioconv.deploy``, ``audioconv predict`` / ``stream``) both call it, so a missing, corrupt,
truncated, empty or non-finite file raises the same :class:`~audioconv.errors.AudioError`
naming the file and the fix everywhere. Imports numpy and soundfile only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import soundfile as sf

from audioconv.errors import (
    AudioDecodeError,
    AudioFileNotFoundError,
    EmptyAudioError,
    NonFiniteAudioError,
)

__all__ = ["open_audio", "read_audio"]

# libsndfile logs "data : 64000 (should be 31978)" when a WAV / AIFF header declares more sample
# bytes than the file holds (a truncated download or an interrupted write).
_SHORT_CHUNK = re.compile(r"^\s*(data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


def open_audio(path: str | os.PathLike) -> sf.SoundFile:
    """``soundfile.SoundFile`` of ``path``; an error naming the file if it is missing, not audio
    or truncated (its header declares more samples than it holds)."""
    path = Path(path)
    if not path.is_file():
        raise AudioFileNotFoundError(
            path, "no such audio file; check the path (relative paths resolve from the cwd)"
        )
    if path.stat().st_size == 0:
        raise EmptyAudioError(
            path,
            "the file is 0 bytes (an interrupted copy or download?); copy it again or remove it",
        )
    try:
        handle = sf.SoundFile(path)
    except (sf.SoundFileError, RuntimeError) as error:
        raise AudioDecodeError(
            path,
            f"cannot decode ({error}); the file is corrupt or not an audio format "
            "soundfile reads (wav, flac, ogg, ...): re-encode it, e.g. `ffmpeg -i in out.wav`",
        ) from error
    short = _SHORT_CHUNK.search(handle.extra_info)
    if short and int(short.group(2)) > int(short.group(3)):
        handle.close()
        raise AudioDecodeError(
            path,
            f"truncated: the header declares {short.group(2)} bytes of samples but only "
            f"{short.group(3)} are present; re-download or re-export the file",
        )
    return handle


def read_audio(
    path: str | os.PathLike, *, start: int = 0, stop: int | None = None
) -> tuple[np.ndarray, int]:
    """Decode frames ``[start, stop)`` (default: all) of ``path``: ``(channels, time)`` float32
    in [-1, 1] and the file's rate. Never returns fewer frames than asked for: a short read is a
    truncated file and raises."""
    path = Path(path)
    with open_audio(path) as handle:
        rate, total = handle.samplerate, handle.frames
        if total == 0:
            raise EmptyAudioError(path, "the file holds 0 samples; remove it from the dataset")
        stop = total if stop is None else stop
        try:
            handle.seek(start)
            data = handle.read(stop - start, dtype="float32", always_2d=True)  # (time, channels)
        except (sf.SoundFileError, RuntimeError) as error:
            raise AudioDecodeError(
                path,
                f"decoding failed mid-file ({error}); the file is corrupt or truncated: "
                "re-download or re-export it",
            ) from error
    if len(data) < stop - start:
        raise AudioDecodeError(
            path,
            f"decoded {len(data)} of the {stop - start} frames the header declares; the "
            "file is truncated: re-download or re-export it",
        )
    if not np.isfinite(data).all():
        raise NonFiniteAudioError(
            path, "the samples contain NaN or infinity; regenerate the file or drop it"
        )
    return np.ascontiguousarray(data.T), int(rate)  # (time, channels) -> (channels, time)
