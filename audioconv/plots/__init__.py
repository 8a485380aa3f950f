"""Matplotlib figures for signals, features and models.

Every function returns a ``matplotlib.figure.Figure`` built without pyplot, so it needs no GUI and
leaves matplotlib's backend alone (Jupyter's inline one included); save it with
``fig.savefig(path)`` (PNG through Agg, headless). Evaluation plots (confusion matrix, ROC, PR,
learning curves) live in ``audioconv.evaluation.plots``.
"""

from __future__ import annotations

from audioconv.plots.model import feature_maps, filters
from audioconv.plots.signal import spectrogram, waveform

__all__ = ["feature_maps", "filters", "spectrogram", "waveform"]
