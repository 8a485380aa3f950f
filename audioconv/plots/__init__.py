"""Matplotlib figures for signals, features and models (headless-safe: the Agg backend).

Every function returns a ``matplotlib.figure.Figure``; save it with ``fig.savefig(path)``.
Evaluation plots (confusion matrix, ROC, PR, learning curves) live in
``audioconv.evaluation.plots``.
"""

from __future__ import annotations

import matplotlib

if matplotlib.get_backend().lower() not in {"agg", "pdf", "svg", "ps", "cairo"}:
    matplotlib.use("Agg")

from audioconv.plots.model import feature_maps, filters  # noqa: E402
from audioconv.plots.signal import spectrogram, waveform  # noqa: E402

__all__ = ["feature_maps", "filters", "spectrogram", "waveform"]
