"""Feature modules: librosa parity, batch consistency, ONNX export, options and fitted state."""

from __future__ import annotations

import librosa
import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from audioconv.errors import ConfigError
from audioconv.features import (
    MFCC,
    VTLP,
    AudioFrontend,
    Deltas,
    FixedLength,
    LogMel,
    MelSpectrogram,
    Spectrogram,
    Standardize,
)
from audioconv.features import functional as FF

SR = 16000


def speech_like(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """Voiced speech stand-in: gliding f0 harmonics under three formants, syllable rhythm, noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = 110 + 70 * t / seconds  # glide 110 -> 180 Hz
    phase = 2 * np.pi * np.cumsum(f0) / SR
    wave = np.zeros_like(t)
    for k in range(1, 40):
        freq = k * f0
        gain = sum(
            np.exp(-0.5 * ((freq - centre) / width) ** 2)
            for centre, width in ((700, 120), (1200, 150), (2600, 250))
        )
        wave += np.where(freq < SR / 2, gain / k, 0.0) * np.sin(k * phase)
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4 * t)
    return 0.3 * envelope * wave / np.abs(wave).max() + 1e-3 * rng.standard_normal(t.size)


def white_noise(seconds: float = 1.0, seed: int = 1) -> np.ndarray:
    return 0.1 * np.random.default_rng(seed).standard_normal(int(seconds * SR))


SIGNALS = {"speech": speech_like, "noise": white_noise}
SIZES = [(512, 128, 64), (2048, 512, 128)]  # (n_fft, hop_length, n_mels); the second is librosa's


def librosa_log_mel(y, n_fft, hop, n_mels):
    mel = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=n_fft, hop_length=hop, n_mels=n_mels)
    return librosa.power_to_db(mel)


# ---------------------------------------------------------------- librosa parity


@pytest.mark.parametrize("signal", SIGNALS)
@pytest.mark.parametrize(("n_fft", "hop", "n_mels"), SIZES)
def test_log_mel_matches_librosa(signal, n_fft, hop, n_mels):
    y = SIGNALS[signal]()
    expected = librosa_log_mel(y, n_fft, hop, n_mels)
    within = expected > expected.max() - 80  # bins within 80 dB of the clip's peak
    module = LogMel(sample_rate=SR, n_fft=n_fft, hop_length=hop, n_mels=n_mels)
    got64 = module.double()(torch.from_numpy(y)).numpy()
    assert got64.shape == expected.shape
    assert np.abs(got64 - expected)[within].max() <= 2e-3
    # float32 default: the same bar holds (the filterbank, not the STFT, dominates the error);
    # documented looser tolerance 1e-2 dB to leave room for other BLAS / FFT back ends.
    got32 = module.float()(torch.from_numpy(y).float()).numpy()
    assert np.abs(got32 - expected)[within].max() <= 1e-2


@pytest.mark.parametrize("signal", SIGNALS)
@pytest.mark.parametrize(("n_fft", "hop", "n_mels"), SIZES)
def test_mfcc_matches_librosa(signal, n_fft, hop, n_mels):
    y = SIGNALS[signal]()
    expected = librosa.feature.mfcc(
        y=y, sr=SR, n_fft=n_fft, hop_length=hop, n_mels=n_mels, n_mfcc=20
    )
    scale = expected.max() - expected.min()
    module = MFCC(sample_rate=SR, n_fft=n_fft, hop_length=hop, n_mels=n_mels, n_mfcc=20)
    got64 = module.double()(torch.from_numpy(y)).numpy()
    assert np.abs(got64 - expected).max() <= 1e-3 * scale
    got32 = module.float()(torch.from_numpy(y).float()).numpy()
    assert np.abs(got32 - expected).max() <= 2e-3 * scale  # float32: documented 2x looser


def test_spectrogram_magnitude_and_power_match_librosa():
    y = speech_like()
    stft = np.abs(librosa.stft(y, n_fft=512, hop_length=128))
    for power in (1.0, 2.0):
        got = Spectrogram(n_fft=512, hop_length=128, power=power).double()(torch.from_numpy(y))
        # the window buffer is built in float32, so agreement is to float32 precision of the peak
        np.testing.assert_allclose(
            got.numpy(), stft**power, rtol=0, atol=1e-6 * stft.max() ** power
        )


def test_deltas_match_librosa_away_from_edges():
    features = torch.from_numpy(librosa.feature.mfcc(y=speech_like(), sr=SR, n_mfcc=13))
    out = Deltas(order=1, win_length=9)(features)
    assert out.shape == (26, features.shape[-1])
    torch.testing.assert_close(out[:13], features)
    expected = librosa.feature.delta(features.numpy(), width=9, order=1)
    np.testing.assert_allclose(out[13:, 4:-4].numpy(), expected[:, 4:-4], rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- batch consistency


def loud_and_quiet_clips() -> torch.Tensor:
    """Clips 30 and 60 dB apart in loudness: a batch-wide top_db would floor the quiet ones."""
    clips = [speech_like(0.5, seed=0), white_noise(0.5, seed=2), speech_like(0.5, seed=3)]
    gains = [1.0, 3e-2, 1e-3]
    return torch.from_numpy(np.stack([g * c for g, c in zip(gains, clips)])).float()


WAVE_MODULES = {
    "spectrogram": lambda: Spectrogram(n_fft=256, hop_length=64),
    "magnitude": lambda: Spectrogram(n_fft=256, hop_length=64, power=1.0),
    "mel": lambda: MelSpectrogram(n_fft=256, hop_length=64, n_mels=32),
    "log_mel": lambda: LogMel(n_fft=256, hop_length=64, n_mels=32),
    "mfcc": lambda: MFCC(n_fft=256, hop_length=64, n_mels=32, n_mfcc=13),
    "mfcc_deltas": lambda: MFCC(n_fft=256, hop_length=64, n_mels=32, n_mfcc=13, deltas=2),
    "fixed_length": lambda: FixedLength(4000).eval(),
}
SPEC_MODULES = {
    "deltas": lambda: Deltas(order=2),
    "standardize": lambda: Standardize(),
    "standardize_bins": lambda: Standardize(per_bin=True),
    "standardize_dataset": lambda: Standardize(mode="dataset", per_bin=True).fit(
        [torch.randn(4, 32, 20) * 10 - 40]
    ),
}


def assert_batch_consistent(module: nn.Module, batch: torch.Tensor) -> None:
    together = module(batch)
    one_by_one = torch.stack([module(x) for x in batch])
    torch.testing.assert_close(together, one_by_one, rtol=1e-5, atol=1e-5)
    # arbitrary leading shape (..., time): (3, ...) -> (1, 3, 1, ...) gives the same values
    nested = module(batch.reshape(1, batch.shape[0], 1, *batch.shape[1:]))
    torch.testing.assert_close(nested.reshape(together.shape), together, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", WAVE_MODULES)
def test_wave_modules_batch_consistent(name):
    assert_batch_consistent(WAVE_MODULES[name](), loud_and_quiet_clips())


@pytest.mark.parametrize("name", SPEC_MODULES)
def test_spectrogram_modules_batch_consistent(name):
    features = LogMel(n_fft=256, hop_length=64, n_mels=32)(loud_and_quiet_clips())
    assert_batch_consistent(SPEC_MODULES[name](), features)


def test_top_db_is_per_example():
    clips = loud_and_quiet_clips()
    out = LogMel(n_fft=256, hop_length=64, n_mels=32)(clips)
    unfloored = LogMel(n_fft=256, hop_length=64, n_mels=32, top_db=None)(clips)
    own_floor = unfloored.amax(dim=(-2, -1), keepdim=True) - 80.0  # (batch, 1, 1)
    torch.testing.assert_close(out, torch.maximum(unfloored, own_floor))
    assert out[2].max() < out[0].max() - 50  # the quiet clip keeps its level and its detail
    assert out[2].std() > 5.0


# ---------------------------------------------------------------- ONNX


def _onnx_run(module: nn.Module, example: torch.Tensor, inputs: torch.Tensor, tmp_path):
    module.eval()
    program = torch.onnx.export(module, (example,), dynamo=True, verbose=False)
    path = tmp_path / "model.onnx"
    program.save(str(path))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: inputs.numpy()})[0]


def test_onnx_log_mel_mel_power_and_mfcc(tmp_path):
    clips = loud_and_quiet_clips()
    log_mel = LogMel(n_fft=256, hop_length=64, n_mels=32, top_db=None)

    mel_onnx = _onnx_run(log_mel.mel, clips, clips, tmp_path)
    mel_torch = log_mel.mel(clips).numpy()
    for got, expected in zip(mel_onnx, mel_torch):
        assert np.abs(got - expected).max() <= 1e-4 * expected.max()

    db = LogMel(n_fft=256, hop_length=64, n_mels=32)
    db_onnx = _onnx_run(db, clips, clips, tmp_path)
    db_torch = db(clips).numpy()
    for got, expected in zip(db_onnx, db_torch):
        within = expected > expected.max() - 80
        assert np.abs(got - expected)[within].max() <= 0.1

    mfcc = MFCC(n_fft=256, hop_length=64, n_mels=32, n_mfcc=13)
    mfcc_onnx = _onnx_run(mfcc, clips, clips, tmp_path)
    expected = mfcc(clips).numpy()
    assert np.abs(mfcc_onnx - expected).max() <= 1e-3 * (expected.max() - expected.min())


def test_onnx_model_on_log_mel_gives_same_probabilities(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(
        LogMel(n_fft=256, hop_length=64, n_mels=32),  # (batch, 1, time) -> (batch, 1, 32, frames)
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),  # (batch, 4, 1, 1) -> (batch, 4)
        nn.Linear(4, 3),
        nn.Softmax(dim=-1),
    )
    clips = loud_and_quiet_clips().unsqueeze(1)  # (batch, time) -> (batch, 1, time)
    got = _onnx_run(model, clips, clips, tmp_path)
    with torch.no_grad():
        expected = model(clips).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


# ---------------------------------------------------------------- options and state


@pytest.mark.parametrize(
    ("factory", "words"),
    [
        (lambda: MFCC(n_mfcc=80, n_mels=64), ["n_mfcc=80", "n_mels=64"]),
        (lambda: LogMel(pad_mode="reflect"), ["pad_mode='reflect'", "librosa_compat=False"]),
        (lambda: LogMel(mel_scale="htk"), ["mel_scale='htk'", "librosa_compat"]),
        (lambda: Spectrogram(n_fft=256, win_length=512), ["win_length=512", "n_fft=256"]),
        (lambda: Spectrogram(power=3.0), ["power=3.0"]),
        (lambda: MelSpectrogram(f_max=9000.0), ["f_max=9000.0"]),
        (lambda: LogMel(top_db=-5), ["top_db=-5"]),
        (lambda: MFCC(deltas=3), ["deltas=3"]),
        (lambda: Deltas(win_length=4), ["win_length=4"]),
        (lambda: Standardize(mode="global"), ["mode='global'"]),
        (lambda: FixedLength(0), ["window=0"]),
        (lambda: FixedLength(10, crop="middle"), ["crop='middle'"]),
        (lambda: VTLP(torch.arange(4.0), nyquist=4.0, max_warp=0.6), ["max_warp=0.6"]),
        (lambda: VTLP(torch.zeros(4), nyquist=4.0), ["n_mels", "n_fft"]),
        (lambda: AudioFrontend(kind="mfcc", vtlp=0.1), ["vtlp", "logmel"]),
    ],
)
def test_bad_options_name_the_value(factory, words):
    with pytest.raises(ConfigError) as info:
        factory()
    for word in words:
        assert word in str(info.value)


def test_torchaudio_conventions_when_not_librosa_compat():
    y = torch.from_numpy(speech_like()).float()
    import torchaudio

    ours = MelSpectrogram(
        n_fft=512,
        hop_length=128,
        n_mels=40,
        pad_mode="reflect",
        norm=None,
        mel_scale="htk",
        librosa_compat=False,
    )(y)
    theirs = torchaudio.transforms.MelSpectrogram(SR, n_fft=512, hop_length=128, n_mels=40)(y)
    torch.testing.assert_close(ours, theirs)


def test_mfcc_deltas_stack_on_coefficient_axis():
    wave = torch.randn(2, 3, 4000)
    plain = MFCC(n_mfcc=13, n_fft=256, hop_length=64, n_mels=32)
    with_deltas = MFCC(n_mfcc=13, n_fft=256, hop_length=64, n_mels=32, deltas=2)
    out = with_deltas(wave)
    assert out.shape == (2, 3, 39, 63)
    torch.testing.assert_close(out[..., :13, :], plain(wave))


def test_standardize_fit_travels_through_state_dict():
    loader = [(torch.randn(8, 16, 30) * 3 + torch.arange(16.0)[:, None], torch.zeros(8))] * 3
    fitted = Standardize(mode="dataset", per_bin=True).fit(loader)
    everything = torch.cat([batch for batch, _ in loader])  # (24, 16, 30)
    torch.testing.assert_close(fitted.mean.squeeze(1), everything.mean(dim=(0, 2)))
    torch.testing.assert_close(fitted.std.squeeze(1), everything.std(dim=(0, 2), correction=0))

    fresh = Standardize(mode="dataset", per_bin=True)
    with pytest.raises(ConfigError, match=r"\.fit"):
        fresh(everything)
    fresh.load_state_dict(fitted.state_dict())
    assert fresh.fitted and fresh.mean.shape == (16, 1)
    torch.testing.assert_close(fresh(everything), fitted(everything))
    out = fresh(everything)
    torch.testing.assert_close(out.mean(dim=(0, 2)), torch.zeros(16), atol=1e-5, rtol=0)

    in_a_model = nn.Sequential(nn.Identity(), Standardize(mode="dataset"))
    in_a_model[1].fit(loader)
    reloaded = nn.Sequential(nn.Identity(), Standardize(mode="dataset"))
    reloaded.load_state_dict(in_a_model.state_dict())
    torch.testing.assert_close(reloaded(everything), in_a_model(everything))
    with pytest.raises(ConfigError, match="16 frequency bins"):
        fresh(torch.randn(2, 8, 30))


def test_standardize_per_example_statistics():
    features = torch.randn(3, 2, 10, 50) * torch.tensor([1.0, 10.0, 100.0])[:, None, None, None]
    out = Standardize()(features)
    torch.testing.assert_close(out.mean(dim=(-2, -1)), torch.zeros(3, 2), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        out.std(dim=(-2, -1), correction=0), torch.ones(3, 2), atol=1e-4, rtol=0
    )
    silence = Standardize()(torch.zeros(1, 10, 50))
    assert torch.isfinite(silence).all()


def test_fixed_length_pad_trim_and_crop():
    wave = torch.arange(10.0).expand(2, 10)  # (channels, time)
    torch.testing.assert_close(FixedLength(4, crop="left")(wave), wave[:, :4])
    torch.testing.assert_close(FixedLength(4, crop="center")(wave), wave[:, 3:7])
    padded = FixedLength(14)(wave)
    assert padded.shape == (2, 14) and padded[:, 10:].abs().sum() == 0
    centred = FixedLength(14, pad="center")(wave)
    torch.testing.assert_close(centred[:, 2:12], wave)

    random_crop = FixedLength(4)
    starts = {int(random_crop(wave)[0, 0]) for _ in range(200)}
    assert starts == set(range(7))  # every offset reachable in training mode
    crop = random_crop(wave)
    torch.testing.assert_close(crop[0], crop[1])  # channels stay aligned
    random_crop.eval()
    assert {int(random_crop(wave)[0, 0]) for _ in range(20)} == {3}  # eval: centre, fixed


def test_fixed_length_old_keyword_num_samples_warns_and_still_works():
    """FixedLength(num_samples=) was renamed window= (the input contract's name)."""
    wave = torch.arange(10.0).expand(2, 10)
    with pytest.warns(DeprecationWarning, match=r"FixedLength\(num_samples=\) is deprecated"):
        old = FixedLength(num_samples=4, crop="left")
    assert old.window == 4
    torch.testing.assert_close(old(wave), FixedLength(window=4, crop="left")(wave))
    with pytest.warns(DeprecationWarning, match="use window="):
        assert old.num_samples == 4


def test_features_follow_module_dtype_and_stay_on_input_device():
    module = MFCC(n_fft=256, hop_length=64, n_mels=32, n_mfcc=13)
    buffers = dict(module.named_buffers())
    assert {"dct", "log_mel.mel.fbank", "log_mel.mel.spectrogram.window"} <= set(buffers)
    assert module.state_dict() == {}  # derived from options, so not stored in checkpoints
    out = module.double()(torch.randn(2, 2000, dtype=torch.float64))
    assert out.dtype == torch.float64


def test_power_to_db_functional_matches_librosa_with_ref_and_amplitude():
    spec = torch.rand(2, 5, 7, dtype=torch.float64) ** 4
    for example in spec:
        expected = librosa.power_to_db(example.numpy(), ref=0.5, top_db=40.0)
        got = FF.power_to_db(example, ref=0.5, top_db=40.0)
        np.testing.assert_allclose(got.numpy(), expected, atol=1e-9)


def test_unknown_front_end_names_a_close_match_every_name_and_how_to_add_one():
    from audioconv.features import create_frontend

    with pytest.raises(
        ConfigError,
        match=r"unknown front end 'logmell'\. Did you mean 'logmel'\? Registered: audio, .*"
        r"standardize.* \(one of your own: register it with audioconv\.features\.register_frontend",
    ):
        create_frontend("logmell")


# ---------------------------------------------------------------- VTLP


def test_vtlp_moves_a_tone_by_the_warp_factor_and_keeps_nyquist():
    """Row f reads the input at alpha * f below the knee: a 2 kHz tone lands at 2000 / alpha Hz."""
    n_fft = 1024
    freqs = torch.linspace(0, SR / 2, n_fft // 2 + 1)
    t = torch.arange(SR) / SR
    tone = torch.sin(2 * torch.pi * 2000 * t)[None, None]  # (1, 1, time)
    spec = FF.power_to_db(Spectrogram(n_fft=n_fft)(tone))  # (1, 1, 513, frames)
    vtlp = VTLP(freqs, nyquist=SR / 2, max_warp=0.2)
    bin_hz = float(freqs[1])
    for alpha in (0.85, 0.9, 1.1, 1.15):
        warped = vtlp(spec, torch.tensor([alpha]))
        assert warped.shape == spec.shape
        peak = float(freqs[warped[0, 0].mean(-1).argmax()])
        assert abs(peak - 2000 / alpha) <= bin_hz, (alpha, peak)
        assert torch.allclose(warped[..., -1, :], spec[..., -1, :])  # Nyquist stays put
        assert torch.allclose(warped[..., 0, :], spec[..., 0, :])  # and so does 0 Hz
    assert torch.allclose(vtlp(spec, torch.ones(1)), spec, atol=1e-5)
    drawn = vtlp(spec.expand(64, -1, -1, -1))  # factors drawn per example, within the range
    peaks = freqs[drawn[:, 0].mean(-1).argmax(-1)]
    assert (2000 / 1.2 - bin_hz <= peaks).all() and (peaks <= 2000 / 0.8 + bin_hz).all()
    assert len(peaks.unique()) > 10


def test_vtlp_warps_log_mel_in_training_only():
    """Inference (eval mode, so test / predict / export) is the front end without VTLP."""
    wave = torch.as_tensor(speech_like(0.5), dtype=torch.float32).expand(3, 1, -1)
    options = {"sample_rate": SR, "n_fft": 512, "hop_length": 160, "n_mels": 40}
    plain, warped = AudioFrontend(**options).eval(), AudioFrontend(**options, vtlp=0.1).eval()
    assert warped.config["kwargs"]["vtlp"] == 0.1  # a checkpoint rebuilds it
    assert torch.equal(warped(wave), plain(wave))
    torch.manual_seed(0)
    trained = warped.train()(wave)
    assert trained.shape == plain(wave).shape
    assert not torch.allclose(trained, plain(wave), atol=1e-3)
    assert not torch.allclose(trained[0], trained[1], atol=1e-3)  # one factor per example
    centers = warped.vtlp.centers
    assert len(centers) == 40 and (centers.diff() > 0).all()
    assert 0 < centers[0] < centers[-1] < SR / 2
