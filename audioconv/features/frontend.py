"""The audio front end that sits inside a model, and the built-in registered front ends.

Registered names (:func:`audioconv.features.list_frontends`): ``"audio"`` (:class:`AudioFrontend`),
``"spectrogram"``, ``"melspectrogram"``, ``"logmel"``, ``"mfcc"``, ``"power_to_db"``,
``"standardize"`` (the feature modules of :mod:`audioconv.features.transforms`).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from audioconv._plain import SpecAlias
from audioconv.errors import ConfigError
from audioconv.features.registry import register_frontend
from audioconv.features.transforms import (
    MFCC,
    VTLP,
    LogMel,
    MelSpectrogram,
    PowerToDb,
    SpecAugment,
    Spectrogram,
    Standardize,
)

__all__ = ["AudioFrontend"]

for _name, _cls in {
    "spectrogram": Spectrogram,
    "melspectrogram": MelSpectrogram,
    "logmel": LogMel,
    "mfcc": MFCC,
    "power_to_db": PowerToDb,
    "standardize": Standardize,
}.items():
    register_frontend(_name)(_cls)


@register_frontend("audio")
class AudioFrontend(SpecAlias, nn.Module):
    """Waveforms ``(batch, channels, time)`` -> standardized features ``(batch, channels, freq,
    frames)``: ``kind`` ``"logmel"`` / ``"mfcc"`` / ``"spectrogram"`` (dB), then, while training,
    a random warp of the frequency axis (:class:`~audioconv.features.transforms.VTLP`, ``vtlp`` >
    0: its ``max_warp``), then per-example standardization, then SpecAugment masks while training
    (``time_mask`` / ``freq_mask`` > 0).

    ``config`` (``{"name": "audio", "kwargs": {...}}``) is what a checkpoint stores to rebuild it
    (``spec`` is its deprecated name).

    >>> frontend = AudioFrontend(sample_rate=8000, n_mels=32, hop_length=80)
    >>> frontend(torch.zeros(2, 1, 8000)).shape
    torch.Size([2, 1, 32, 101])
    """

    def __init__(
        self,
        *,
        kind: Literal["logmel", "mfcc", "spectrogram"] = "logmel",
        sample_rate: int = 16000,
        n_fft: int = 512,
        hop_length: int | None = None,
        n_mels: int = 64,
        n_mfcc: int = 40,
        time_mask: int = 0,
        freq_mask: int = 0,
        vtlp: float = 0.0,
    ):
        super().__init__()
        if kind not in ("logmel", "mfcc", "spectrogram"):
            raise ConfigError(f"kind={kind!r}: use 'logmel', 'mfcc' or 'spectrogram'")
        options = {"sample_rate": sample_rate, "n_fft": n_fft, "hop_length": hop_length}
        if kind == "logmel":
            self.features = LogMel(n_mels=n_mels, **options)
        elif kind == "mfcc":
            self.features = MFCC(n_mfcc=n_mfcc, n_mels=n_mels, **options)
        else:
            self.features = nn.Sequential(
                Spectrogram(n_fft=n_fft, hop_length=hop_length), PowerToDb()
            )
        self.vtlp = self._vtlp(kind, vtlp, sample_rate, n_fft) if vtlp else None
        self.standardize = Standardize(mode="example")
        masking = time_mask > 0 or freq_mask > 0
        self.spec_augment = (
            SpecAugment(time_mask=time_mask, freq_mask=freq_mask) if masking else None
        )
        self.config = {
            "name": "audio",
            "kwargs": {
                "kind": kind, "sample_rate": sample_rate, "n_fft": n_fft,
                "hop_length": hop_length, "n_mels": n_mels, "n_mfcc": n_mfcc,
                "time_mask": time_mask, "freq_mask": freq_mask, "vtlp": vtlp,
            },
        }  # fmt: skip

    def _vtlp(self, kind: str, max_warp: float, sample_rate: int, n_fft: int) -> VTLP:
        """The VTLP warp for this front end's rows (mel bands sit at their filters' centroids)."""
        if kind == "mfcc":
            raise ConfigError(
                "vtlp warps a frequency axis, which MFCCs no longer have: use kind='logmel' or "
                "'spectrogram', or vtlp=0"
            )
        freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1)
        if kind == "logmel":
            fbank = self.features.mel.fbank  # (n_freqs, n_mels)
            freqs = (freqs[:, None] * fbank).sum(0) / fbank.sum(0).clamp(min=1e-12)
        return VTLP(freqs, nyquist=sample_rate / 2, max_warp=max_warp)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """``(batch, channels, time)`` -> ``(batch, channels, freq, frames)``."""
        x = self.features(wave)
        if self.training and self.vtlp is not None:
            x = self.vtlp(x)
        x = self.standardize(x)
        if self.training and self.spec_augment is not None:
            x = self.spec_augment(x)
        return x
