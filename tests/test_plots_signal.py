"""Signal plots: axes in seconds and Hz, dB colour bars, headless figures that save."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from audioconv.errors import ConfigError
from audioconv.features import LogMel, Spectrogram
from audioconv.plots.signal import spectrogram, waveform

SR = 8000


def tone(freq: float = 1000.0, seconds: float = 2.0) -> torch.Tensor:
    return torch.sin(2 * torch.pi * freq * torch.arange(int(SR * seconds)) / SR)


def test_waveform_axis_in_seconds_one_line_per_channel(tmp_path):
    fig = waveform(torch.stack([tone(), 0.5 * tone()]), SR, title="two channels")
    ax = fig.axes[0]
    assert isinstance(fig, Figure) and ax.get_title() == "two channels"
    assert ax.get_xlabel() == "time (s)" and ax.get_xlim() == pytest.approx((0.0, 2.0))
    assert len(ax.lines) == 2
    assert ax.lines[0].get_xdata()[-1] == pytest.approx(2.0 - 1 / SR)
    fig.savefig(tmp_path / "wave.png")
    assert (tmp_path / "wave.png").stat().st_size > 1000


def test_linear_spectrogram_puts_a_tone_at_its_frequency():
    spec = Spectrogram(n_fft=256, hop_length=64)(tone(1000.0))  # (129, frames)
    db = 10 * torch.log10(spec + 1e-10)
    fig = spectrogram(db, SR, hop_length=64)
    ax = fig.axes[0]
    assert ax.get_ylim() == pytest.approx((0.0, SR / 2))
    assert ax.get_xlim()[1] == pytest.approx(spec.shape[-1] * 64 / SR)
    mesh = ax.collections[0]
    rows = np.asarray(mesh.get_array()).reshape(spec.shape)
    edges = mesh.get_coordinates()[:, 0, 1]  # y of each row's lower edge, then the top
    loudest = rows.mean(axis=1).argmax()
    assert edges[loudest] <= 1000.0 <= edges[loudest + 1]
    assert fig.axes[1].get_ylabel() == "dB"


def test_mel_spectrogram_axis_in_hz_and_power_input_shown_in_db():
    log_mel = LogMel(sample_rate=SR, n_fft=256, hop_length=64, n_mels=40, f_min=50.0)
    features = log_mel(tone(1000.0))
    fig = spectrogram(features, SR, 64, y_axis="mel", fmin=50.0, title="log-mel")
    ax = fig.axes[0]
    assert ax.get_yscale() == "function" and ax.get_ylabel() == "frequency (Hz)"
    low, high = ax.get_ylim()
    assert 50.0 <= low < 150.0 and 3500.0 < high <= SR / 2
    edges = ax.collections[0].get_coordinates()[:, 0, 1]
    loudest = features.mean(dim=-1).argmax()
    assert edges[loudest] <= 1000.0 <= edges[loudest + 1]

    power = log_mel.mel(tone(1000.0)).unsqueeze(0)  # (1, n_mels, frames)
    shown = spectrogram(power, SR, 64, y_axis="mel", fmin=50.0, db=False).axes[0].collections[0]
    values = np.asarray(shown.get_array())
    assert values.max() == pytest.approx(0.0) and values.min() >= -80.0


def test_drawing_into_given_axes_and_bad_input():
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert waveform(np.zeros(100), SR, ax=left) is fig
    assert spectrogram(np.zeros((5, 7)), SR, 64, ax=right) is fig
    with pytest.raises(ConfigError, match="y_axis='bark'"):
        spectrogram(np.zeros((5, 7)), SR, 64, y_axis="bark")
    with pytest.raises(ConfigError, match=r"\(2, 3, 4\)"):
        spectrogram(np.zeros((2, 3, 4)), SR, 64)
    with pytest.raises(ConfigError, match="channels, time"):
        waveform(np.zeros((2, 3, 4)), SR)
