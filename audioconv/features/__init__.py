"""Feature extraction: spectrograms, log-mel, MFCC (+ deltas), standardization, fixed length.

Modules (``audioconv.features.transforms``) map ``(..., time)`` to ``(..., freq, time)`` and can sit
inside a model; the math lives in ``audioconv.features.functional``.
"""

from __future__ import annotations

from audioconv.features import functional
from audioconv.features.transforms import (
    MFCC,
    Deltas,
    FixedLength,
    LogMel,
    MelSpectrogram,
    Spectrogram,
    Standardize,
)

__all__ = [
    "MFCC",
    "Deltas",
    "FixedLength",
    "LogMel",
    "MelSpectrogram",
    "Spectrogram",
    "Standardize",
    "functional",
]
