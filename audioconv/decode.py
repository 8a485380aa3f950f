"""Decoding audio files (soundfile) and image files (Pillow) with the checks every reader
shares (no torch).

:func:`read_audio` is the one audio decoder: training (``audioconv.io.load_audio``) and
deployment (``audioconv.deploy``, ``audioconv predict`` / ``stream``) both call it, so a missing,
corrupt, truncated, empty or non-finite file raises the same :class:`~audioconv.errors.AudioError`
naming the file and the fix everywhere. :func:`read_image` is the one image decoder, for image
folders in training and for ``audioconv predict``, so both see the same pixels (16-bit and
grayscale images included). Imports numpy and soundfile (Pillow when reading an image).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import soundfile as sf

from audioconv.constants import UNDECODABLE_AUDIO
from audioconv.errors import (
    AudioDecodeError,
    AudioFileNotFoundError,
    EmptyAudioError,
    NonFiniteAudioError,
)

__all__ = ["open_audio", "read_audio", "read_image", "undecodable_hint"]

#: Pillow modes of one-channel 16-bit images (PNG / TIFF from scientific and medical cameras,
#: depth maps); their values are scaled by 65535, not 255
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")
#: torchvision's (ITU-R 601-2) weights of R, G and B in a grayscale value
_GRAY_WEIGHTS = np.array([0.2989, 0.587, 0.114], dtype=np.float32)

# libsndfile logs "data : 64000 (should be 31978)" when a WAV / AIFF header declares more sample
# bytes than the file holds (a truncated download or an interrupted write).
_SHORT_CHUNK = re.compile(r"^\s*(data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
#: the size a streaming writer (``ffmpeg -f wav pipe:1``, recorders) puts in the header when it
#: cannot seek back: "read to the end of the file", not a truncation
_UNKNOWN_SIZE = 0xFFFFFFFF
# libsndfile logs "data : 0" for a WAV whose writer stopped before it wrote the data size
_ZERO_DATA = re.compile(r"^\s*data\s*:\s*0\s*$", re.MULTILINE)
#: bytes beyond which a "data : 0" WAV holds samples its header does not count (a plain
#: header is 44 bytes; metadata chunks rarely reach 1 KiB)
_HEADER_BYTES = 1024

#: how a Git LFS pointer file starts: what a repository cloned without git-lfs holds instead of
#: each audio file (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md)
_LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"


def undecodable_hint(path: str | os.PathLike) -> str | None:
    """What to do with an audio file soundfile cannot decode (``.m4a``: AAC...), from its
    suffix; ``None`` for any other suffix."""
    path = Path(path)
    if path.suffix.lower() not in UNDECODABLE_AUDIO:
        return None
    return (
        f"{path.suffix} audio (AAC, ALAC, WMA, ...) is not a format soundfile decodes; "
        f"convert it: ffmpeg -i {path.name} {path.stem}.wav"
    )


def open_audio(path: str | os.PathLike) -> sf.SoundFile:
    """``soundfile.SoundFile`` of ``path``; an error naming the file if it is missing, not audio
    (a Git LFS pointer is named as one) or truncated (its header declares more samples than it
    holds)."""
    path = Path(path)
    if not path.is_file():
        raise AudioFileNotFoundError(
            path, "no such audio file; check the path (relative paths resolve from the cwd)"
        )
    size = path.stat().st_size
    if size == 0:
        raise EmptyAudioError(
            path,
            "the file is 0 bytes (an interrupted copy or download?); copy it again or remove it",
        )
    try:
        handle = sf.SoundFile(path)
    except (sf.SoundFileError, RuntimeError) as error:
        with open(path, "rb") as file:
            if file.read(len(_LFS_POINTER)) == _LFS_POINTER:
                raise AudioDecodeError(
                    path,
                    "a Git LFS pointer, not audio: the repository was cloned without git-lfs; "
                    "run `git lfs install && git lfs pull` in it to download the audio",
                ) from None
        if hint := undecodable_hint(path):
            raise AudioDecodeError(path, hint) from None
        reason = str(error)
        if "not a regular file" in reason:  # libsndfile's words for an mp3 it finds no frame in
            reason = f"no {path.suffix or 'audio'} frame found in it"
        raise AudioDecodeError(
            path,
            f"cannot decode ({reason}); the file is corrupt or not an audio format "
            "soundfile reads (wav, flac, ogg, ...): re-encode it, e.g. `ffmpeg -i in out.wav`",
        ) from error
    short = _SHORT_CHUNK.search(handle.extra_info)
    declared = int(short.group(2)) if short else 0
    if short and declared != _UNKNOWN_SIZE and declared > int(short.group(3)):
        handle.close()
        raise AudioDecodeError(
            path,
            f"truncated: the header declares {short.group(2)} bytes of samples but only "
            f"{short.group(3)} are present; re-download or re-export the file",
        )
    if handle.frames == 0 and _ZERO_DATA.search(handle.extra_info) and size > _HEADER_BYTES:
        handle.close()
        raise AudioDecodeError(
            path,
            f"the header declares 0 bytes of samples, but the file is {size} bytes: its "
            "writer stopped before it wrote the size (an interrupted recording?); the audio is "
            "there: repair the file, e.g. `ffmpeg -i in.wav out.wav`",
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


def read_image(path: str | os.PathLike, *, channels: int) -> np.ndarray:
    """An image file as every model reads it: ``(channels, height, width)`` float32 in [0, 1].

    8-bit images are scaled by 255, 16-bit grayscale ones (Pillow modes ``I;16``, ``I``) by
    65535. ``channels=3``: RGB (grayscale replicated, alpha dropped, palette and CMYK converted
    by Pillow); ``channels=1``: a grayscale image's own values, or ``0.2989 R + 0.587 G + 0.114 B``
    of a colour one. EXIF orientation is not applied (a photo is read as stored).

    Raises:
        InputError: a missing, empty, undecodable or truncated file, or a 32-bit float image,
            naming the file.
    """
    from PIL import Image

    from audioconv.errors import InputError

    path = Path(path)
    if channels not in (1, 3):
        raise InputError(f"{path}: channels={channels!r}; an image is read with 1 or 3 channels")
    if not path.is_file():
        raise InputError(f"{path}: no such image file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is 0 bytes (an interrupted copy?); copy it again")
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in _SIXTEEN_BIT:
                pixels = np.asarray(image, dtype=np.float32)  # (H, W)
                if pixels.min() < 0 or pixels.max() > 65535:
                    raise InputError(
                        f"{path}: {image.mode} values outside 0..65535; save it as an 8- or "
                        "16-bit image"
                    )
                pixels = pixels[..., None] / 65535.0  # (H, W) -> (H, W, 1)
            elif image.mode == "F":
                raise InputError(
                    f"{path}: a 32-bit float image has no fixed range to scale to [0, 1]; save "
                    "it as an 8- or 16-bit image"
                )
            elif image.mode in ("1", "L", "LA"):
                pixels = np.asarray(image.convert("L"), dtype=np.float32)[..., None] / 255.0
            else:
                pixels = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0  # (H, W, 3)
    except OSError as error:  # PIL.UnidentifiedImageError is an OSError
        raise InputError(
            f"{path}: cannot decode the image ({error}); re-save it as PNG or JPEG"
        ) from error
    if channels == 1 and pixels.shape[-1] == 3:
        pixels = (pixels @ _GRAY_WEIGHTS)[..., None]  # (H, W, 3) -> (H, W, 1)
    elif channels == 3 and pixels.shape[-1] == 1:
        pixels = np.repeat(pixels, 3, axis=-1)
    return np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32)  # (C, H, W)
