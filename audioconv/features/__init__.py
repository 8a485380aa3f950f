"""Feature extraction: spectrograms, log-mel, MFCC (+ deltas), standardization, fixed length,
training-time SpecAugment and VTLP.

Modules (``audioconv.features.transforms``) map ``(..., time)`` to ``(..., freq, time)`` and can sit
inside a model; the math lives in ``audioconv.features.functional``. Front ends saved with a model
are built by registered name (:mod:`audioconv.features.registry`).
"""

from __future__ import annotations

from audioconv.features import functional
from audioconv.features.frontend import AudioFrontend
from audioconv.features.registry import (
    create_frontend,
    frontend_factory,
    list_frontends,
    register_frontend,
)
from audioconv.features.transforms import (
    MFCC,
    VTLP,
    Deltas,
    FixedLength,
    LogMel,
    MelSpectrogram,
    PowerToDb,
    SpecAugment,
    Spectrogram,
    Standardize,
)

__all__ = [
    "MFCC",
    "AudioFrontend",
    "Deltas",
    "FixedLength",
    "LogMel",
    "MelSpectrogram",
    "PowerToDb",
    "SpecAugment",
    "Spectrogram",
    "Standardize",
    "VTLP",
    "create_frontend",
    "frontend_factory",
    "functional",
    "list_frontends",
    "register_frontend",
]
