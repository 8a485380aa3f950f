"""Waveform and spectrogram figures: time in seconds, frequency in Hz, colour in dB.

>>> import torch
>>> from audioconv.features import LogMel
>>> wave = torch.randn(16000)
>>> fig = spectrogram(LogMel()(wave), 16000, hop_length=128, y_axis="mel")
>>> fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel(), fig.axes[1].get_ylabel()
('time (s)', 'frequency (Hz)', 'dB')
"""

from __future__ import annotations

import librosa
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from audioconv.errors import ConfigError

__all__ = ["spectrogram", "waveform"]


def _as_numpy(values: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().float().numpy()
    return np.asarray(values)


def _figure_and_axes(ax: Axes | None) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    figure = Figure(figsize=(8, 3), layout="constrained")  # no pyplot: nothing global, headless
    return figure, figure.add_subplot()


def _edges(centres: np.ndarray) -> np.ndarray:
    """``(n + 1,)`` cell edges halfway between ``(n,)`` centres; the outer ones on the end ones."""
    return np.concatenate([centres[:1], (centres[1:] + centres[:-1]) / 2, centres[-1:]])


def waveform(
    wave: torch.Tensor | np.ndarray,
    sample_rate: int,
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Plot a ``(time,)`` or ``(channels, time)`` waveform against seconds; one line per channel."""
    values = _as_numpy(wave)
    if values.ndim == 1:
        values = values[None]  # (time,) -> (1, time)
    if values.ndim != 2:
        raise ConfigError(f"wave has shape {values.shape}; pass (time,) or (channels, time)")
    figure, ax = _figure_and_axes(ax)
    seconds = np.arange(values.shape[1]) / sample_rate
    for index, channel in enumerate(values):
        ax.plot(seconds, channel, linewidth=0.6, label=f"channel {index}")
    if len(values) > 1:
        ax.legend(loc="upper right")
    ax.set(xlabel="time (s)", ylabel="amplitude", xlim=(0, values.shape[1] / sample_rate))
    if title:
        ax.set_title(title)
    return figure


def spectrogram(
    spec: torch.Tensor | np.ndarray,
    sample_rate: int,
    hop_length: int,
    *,
    ax: Axes | None = None,
    y_axis: str = "hz",
    fmin: float = 0.0,
    fmax: float | None = None,
    mel_scale: str = "slaney",
    title: str | None = None,
    db: bool = True,
) -> Figure:
    """Plot a ``(freq, time)`` (or ``(1, freq, time)``) spectrogram with a dB colour bar.

    ``y_axis="hz"``: rows are the linear STFT bins from 0 to ``sample_rate / 2``, shown between
    ``fmin`` and ``fmax``.
    ``y_axis="mel"``: rows are mel bands between ``fmin`` and ``fmax`` (``sample_rate / 2`` by
    default); the axis is mel-spaced and labelled in Hz. ``db=True`` means the values already are
    decibels (``LogMel`` output); ``db=False`` means power, shown as dB relative to the peak.
    Frame ``t`` is drawn at ``t * hop_length / sample_rate`` seconds.
    """
    values = _as_numpy(spec)
    if values.ndim == 3 and values.shape[0] == 1:
        values = values[0]  # (1, freq, time) -> (freq, time)
    if values.ndim != 2:
        raise ConfigError(f"spec has shape {values.shape}; pass (freq, time) or (1, freq, time)")
    if y_axis not in ("hz", "mel"):
        raise ConfigError(f"y_axis={y_axis!r} is not one of ('hz', 'mel')")
    if not db:
        values = librosa.power_to_db(values, ref=np.max, top_db=80.0)
    n_bins, n_frames = values.shape
    fmax = sample_rate / 2 if fmax is None else fmax
    htk = mel_scale == "htk"
    if y_axis == "hz":
        centres = np.linspace(0, sample_rate / 2, n_bins)
        edges = _edges(centres)
    else:  # band centres of a mel filterbank with n_bins bands; cell edges halfway in mel
        centres = librosa.mel_frequencies(n_bins + 2, fmin=fmin, fmax=fmax, htk=htk)[1:-1]
        edges = librosa.mel_to_hz(_edges(librosa.hz_to_mel(centres, htk=htk)), htk=htk)
    times = np.arange(n_frames + 1) * hop_length / sample_rate

    figure, ax = _figure_and_axes(ax)
    mesh = ax.pcolormesh(times, edges, values, shading="flat", cmap="magma")
    if y_axis == "mel":
        ax.set_yscale(
            "function",
            functions=(
                lambda f: librosa.hz_to_mel(np.maximum(f, 0.0), htk=htk),
                lambda m: librosa.mel_to_hz(m, htk=htk),
            ),
        )
    ax.set(
        xlabel="time (s)", ylabel="frequency (Hz)", ylim=(max(fmin, edges[0]), min(fmax, edges[-1]))
    )
    colorbar = figure.colorbar(mesh, ax=ax, format="%+.0f")
    colorbar.set_label("dB")
    if title:
        ax.set_title(title)
    return figure
