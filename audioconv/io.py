"""Reading and writing audio through soundfile (wav, flac, ogg, ...), resampling with the input
contract's ``resample`` (scipy's polyphase filter), the one every runtime uses.

Waveforms are ``float32`` tensors shaped ``(channels, time)``. Every bad input raises an
``audioconv.errors.AudioError`` subclass whose message names the file and the problem; nothing is
ever returned silently truncated.

>>> import tempfile, torch
>>> path = tempfile.mkdtemp() + "/tone.wav"
>>> wave = 0.5 * torch.sin(2 * torch.pi * 440 * torch.arange(8000) / 8000).unsqueeze(0)
>>> save_audio(path, wave, 8000)
>>> loaded, rate = load_audio(path, sample_rate=16000)
>>> loaded.shape, loaded.dtype, rate
(torch.Size([1, 16000]), torch.float32, 16000)
>>> audio_info(path).duration
1.0
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from audioconv._atomic import atomic_path
from audioconv.contract import resample
from audioconv.decode import open_audio as _open
from audioconv.decode import read_audio
from audioconv.errors import (
    ConfigError,
    EmptyAudioError,
    NonFiniteAudioError,
)

__all__ = ["AudioInfo", "audio_info", "load_audio", "save_audio"]


@dataclass(frozen=True)
class AudioInfo:
    """What the header of an audio file says (no samples are decoded)."""

    path: str
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Sample rate, channels, frames, format and subtype of ``path`` without decoding it."""
    path = Path(path)
    with _open(path) as handle:
        return AudioInfo(
            str(path),
            handle.samplerate,
            handle.channels,
            handle.frames,
            handle.format,
            handle.subtype,
        )


def load_audio(
    path: str | os.PathLike,
    *,
    sample_rate: int | None = None,
    mono: bool = True,
    offset: float = 0.0,
    duration: float | None = None,
) -> tuple[torch.Tensor, int]:
    """Decode ``path`` into a ``(channels, time)`` float32 tensor in [-1, 1] and its sample rate.

    ``offset`` and ``duration`` (seconds, at the file's own rate) select a segment; a segment that
    reaches past the end of the file is an error rather than a shorter result. ``mono=True``
    averages the channels into one, giving ``(1, time)``. ``sample_rate`` resamples with the
    input contract's :func:`audioconv.contract.resample` when it differs from the file's rate:
    training decodes a file exactly as ``predict``, export and streaming do.
    """
    path = Path(path)
    if sample_rate is not None and (isinstance(sample_rate, bool) or sample_rate <= 0):
        raise ConfigError(f"sample_rate={sample_rate!r} must be a positive int or None")
    if not math.isfinite(offset) or offset < 0:
        raise ConfigError(f"offset={offset!r} must be a finite number of seconds >= 0")
    if duration is not None and (not math.isfinite(duration) or duration <= 0):
        raise ConfigError(f"duration={duration!r} must be a positive number of seconds or None")
    with _open(path) as handle:
        rate, total = handle.samplerate, handle.frames
        if total == 0:
            raise EmptyAudioError(path, "the file holds 0 samples; remove it from the dataset")
        start = round(offset * rate)
        stop = total if duration is None else start + round(duration * rate)
        if start >= total or stop > total:
            raise ConfigError(
                f"{path}: the segment offset={offset} s, duration={duration} s lies past the end "
                f"of the file ({total / rate:.3f} s); lower offset / duration, or pass "
                "duration=None to read to the end"
            )
    data, rate = read_audio(path, start=start, stop=stop)  # (channels, time)
    wave = torch.from_numpy(data)
    if mono:
        wave = wave.mean(dim=0, keepdim=True)  # (channels, time) -> (1, time)
    if sample_rate is not None and sample_rate != rate:
        wave = torch.from_numpy(resample(wave.numpy(), rate, sample_rate))
        rate = sample_rate
    return wave, rate


def save_audio(
    path: str | os.PathLike,
    wave: torch.Tensor | np.ndarray,
    sample_rate: int,
    *,
    subtype: str | None = None,
) -> None:
    """Write a ``(channels, time)`` or ``(time,)`` waveform to ``path`` atomically.

    The format follows the suffix (``.wav``, ``.flac``, ``.ogg``); ``subtype`` defaults to
    soundfile's choice for it (16-bit PCM for wav / flac). Samples outside [-1, 1] would clip in
    an integer subtype, so they raise instead; pass ``subtype="FLOAT"`` (wav) to keep them.
    """
    path = Path(path)
    array = wave.detach().cpu().numpy() if isinstance(wave, torch.Tensor) else np.asarray(wave)
    if array.ndim == 1:
        array = array[None]  # (time,) -> (1, time)
    if array.ndim != 2:
        raise ConfigError(f"{path}: wave has shape {array.shape}; pass (channels, time) or (time,)")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ConfigError(f"{path}: sample_rate={sample_rate!r} must be a positive int")
    if array.shape[1] == 0:
        raise EmptyAudioError(path, "refusing to write a wave with 0 samples")
    if not np.isfinite(array).all():
        raise NonFiniteAudioError(path, "the wave to write contains NaN or infinity")
    file_format = path.suffix.lstrip(".").upper()
    if file_format not in sf.available_formats():
        raise ConfigError(
            f"{path}: unknown audio suffix {path.suffix!r}; use one of .wav, .flac, .ogg"
        )
    subtype = subtype or sf.default_subtype(file_format)
    peak = float(np.abs(array).max())
    if peak > 1.0 and subtype.startswith(("PCM", "ULAW", "ALAW")):
        raise ConfigError(
            f"{path}: peak amplitude {peak:.3g} exceeds 1.0 and would clip in {subtype}; "
            "scale the wave into [-1, 1] or pass subtype='FLOAT'"
        )
    with atomic_path(path) as tmp:
        sf.write(tmp, array.T, sample_rate, subtype=subtype, format=file_format)
