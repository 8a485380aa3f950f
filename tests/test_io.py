"""Audio I/O: round trips, resampling, segments, and an error naming the file for each bad input."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from audioconv.errors import (
    AudioDecodeError,
    AudioError,
    AudioFileNotFoundError,
    ConfigError,
    EmptyAudioError,
    NonFiniteAudioError,
)
from audioconv.io import audio_info, load_audio, save_audio


def sine(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * freq * np.arange(int(rate * seconds)) / rate)


def peak_frequency(wave: torch.Tensor, rate: int) -> float:
    spectrum = torch.fft.rfft(wave[0] * torch.hann_window(wave.shape[-1]))
    return float(torch.fft.rfftfreq(wave.shape[-1], 1 / rate)[spectrum.abs().argmax()])


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
def test_save_load_round_trip(tmp_path, suffix):
    stereo = np.stack([sine(440, 16000, 0.5), sine(660, 16000, 0.5, 0.25)])  # (2, time)
    path = tmp_path / f"clip{suffix}"
    save_audio(path, torch.from_numpy(stereo), 16000)
    wave, rate = load_audio(path, mono=False)
    assert rate == 16000 and wave.dtype == torch.float32 and wave.shape == (2, 8000)
    tolerance = 0.05 if suffix == ".ogg" else 1 / 2**15  # vorbis is lossy, PCM_16 is not
    np.testing.assert_allclose(wave.numpy(), stereo, atol=tolerance)
    info = audio_info(path)
    assert (info.sample_rate, info.channels, info.frames, info.duration) == (16000, 2, 8000, 0.5)


def test_mono_mixdown_averages_channels(tmp_path):
    left, right = sine(440, 8000, 0.25), sine(440, 8000, 0.25, 0.1)
    save_audio(tmp_path / "s.wav", np.stack([left, right]), 8000, subtype="FLOAT")
    mono, _ = load_audio(tmp_path / "s.wav")
    assert mono.shape == (1, 2000)
    np.testing.assert_allclose(mono[0].numpy(), (left + right) / 2, atol=1e-6)


def test_resampling_keeps_the_pitch(tmp_path):
    save_audio(tmp_path / "a.wav", sine(440, 44100, 1.0), 44100, subtype="FLOAT")
    wave, rate = load_audio(tmp_path / "a.wav", sample_rate=16000)
    assert rate == 16000 and wave.shape == (1, 16000)
    assert peak_frequency(wave, rate) == pytest.approx(440, abs=1.0)


def test_offset_and_duration_select_the_segment(tmp_path):
    ramp = np.linspace(-1, 1, 8000, endpoint=False).astype(np.float32)
    save_audio(tmp_path / "r.wav", ramp, 8000, subtype="FLOAT")
    wave, _ = load_audio(tmp_path / "r.wav", offset=0.25, duration=0.5)
    np.testing.assert_array_equal(wave[0].numpy(), ramp[2000:6000])
    tail, _ = load_audio(tmp_path / "r.wav", offset=0.5)
    np.testing.assert_array_equal(tail[0].numpy(), ramp[4000:])


@pytest.mark.parametrize(("offset", "duration"), [(1.5, None), (0.5, 0.75), (1.0, None)])
def test_segment_past_the_end_is_an_error_not_a_short_result(tmp_path, offset, duration):
    save_audio(tmp_path / "r.wav", sine(100, 8000, 1.0), 8000)
    with pytest.raises(ConfigError, match="past the end") as info:
        load_audio(tmp_path / "r.wav", offset=offset, duration=duration)
    assert str(tmp_path / "r.wav") in str(info.value)


def test_failing_write_leaves_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "keep.wav"
    save_audio(path, sine(440, 8000, 0.5), 8000)
    before = path.read_bytes()

    def broken_write(file, data, *args, **kwargs):
        with open(file, "wb") as handle:
            handle.write(b"RIFF half-written")
        raise OSError("disk full")

    monkeypatch.setattr(sf, "write", broken_write)
    with pytest.raises(OSError, match="disk full"):
        save_audio(path, sine(220, 8000, 1.0), 8000)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.wav"]  # no temp file left behind


# ---------------------------------------------------------------- bad inputs


def assert_names_path(error: pytest.ExceptionInfo, path) -> None:
    assert isinstance(error.value, AudioError)
    assert str(path) in str(error.value) and error.value.path == str(path)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.wav"
    with pytest.raises(AudioFileNotFoundError) as info:
        load_audio(path)
    assert_names_path(info, path)
    assert isinstance(info.value, FileNotFoundError)


def test_corrupt_file(tmp_path):
    path = tmp_path / "noise.wav"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(AudioDecodeError) as info:
        load_audio(path)
    assert_names_path(info, path)


def test_an_mp3_holding_no_audio_is_not_called_missing(tmp_path):
    path = tmp_path / "notes.mp3"
    path.write_text("meeting notes, not audio\n" * 40)
    with pytest.raises(AudioDecodeError, match=r"notes.mp3: cannot decode \(no .mp3 frame") as info:
        load_audio(path)
    assert "not a regular file" not in str(info.value)


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_truncated_file(tmp_path, suffix):
    whole = tmp_path / f"whole{suffix}"
    save_audio(whole, sine(440, 16000, 1.0), 16000)
    path = tmp_path / f"cut{suffix}"
    data = whole.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioDecodeError, match="truncated") as info:
        load_audio(path)
    assert_names_path(info, path)


def _header_sizes(source, target, riff: int, data: int) -> None:
    """Copy a 44-byte-header PCM WAV with its RIFF and data sizes set as a writer left them."""
    raw = bytearray(source.read_bytes())
    raw[4:8], raw[40:44] = riff.to_bytes(4, "little"), data.to_bytes(4, "little")
    target.write_bytes(bytes(raw))


def test_a_streamed_wav_of_unknown_length_reads_whole(tmp_path):
    """``ffmpeg -f wav pipe:1`` and recorders write 0xFFFFFFFF ("to the end of the file") as
    the sizes: every path reads every sample, none calls the file truncated."""
    from audioconv.data.scan import _decode

    whole, piped = tmp_path / "whole.wav", tmp_path / "piped.wav"
    sf.write(whole, sine(440, 8000, 0.5), 8000, subtype="PCM_16")
    _header_sizes(whole, piped, 0xFFFFFFFF, 0xFFFFFFFF)
    assert torch.equal(load_audio(piped)[0], load_audio(whole)[0])
    assert _decode(str(piped)) == _decode(str(whole))  # what training's scan says of it


def test_a_wav_whose_writer_stopped_before_the_size_is_named_repairable(tmp_path):
    from audioconv.data.scan import _decode

    whole, killed = tmp_path / "whole.wav", tmp_path / "killed.wav"
    sf.write(whole, sine(440, 8000, 0.5), 8000, subtype="PCM_16")
    _header_sizes(whole, killed, 36, 0)
    with pytest.raises(AudioDecodeError, match="declares 0 bytes of samples, but the file is"):
        load_audio(killed)
    assert "repair the file, e.g. `ffmpeg -i in.wav out.wav`" in _decode(str(killed)).problem


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros((0, 1), np.float32), 16000)
    with pytest.raises(EmptyAudioError) as info:
        load_audio(path)
    assert_names_path(info, path)


def test_non_finite_samples(tmp_path):
    path = tmp_path / "nan.wav"
    samples = sine(440, 8000, 0.1).astype(np.float32)
    samples[100] = np.nan
    sf.write(path, samples, 8000, subtype="FLOAT")
    with pytest.raises(NonFiniteAudioError) as info:
        load_audio(path)
    assert_names_path(info, path)


def test_save_refuses_what_it_cannot_write_faithfully(tmp_path):
    with pytest.raises(ConfigError, match="clip"):
        save_audio(tmp_path / "loud.wav", 1.5 * np.ones(100), 8000)
    save_audio(tmp_path / "loud.wav", 1.5 * np.ones(100), 8000, subtype="FLOAT")
    assert load_audio(tmp_path / "loud.wav")[0].max() == pytest.approx(1.5)
    with pytest.raises(NonFiniteAudioError, match="nan.wav"):
        save_audio(tmp_path / "nan.wav", np.array([0.0, np.inf]), 8000)
    with pytest.raises(EmptyAudioError, match="empty.wav"):
        save_audio(tmp_path / "empty.wav", np.zeros((1, 0)), 8000)
    with pytest.raises(ConfigError, match=r"\.xyz"):
        save_audio(tmp_path / "a.xyz", np.zeros(10), 8000)
    with pytest.raises(ConfigError, match="sample_rate"):
        load_audio(tmp_path / "loud.wav", sample_rate=0)
