"""Feature modules: thin ``nn.Module`` holders of options and buffers over ``functional``.

Every module maps ``(..., time)`` (or ``(..., freq, time)``) to ``(..., freq, time)`` and runs on
the device of its input; windows, filterbanks, DCT matrices and fitted statistics are buffers, so
``.to(device)`` moves them and ``state_dict()`` carries them into checkpoints.

With ``librosa_compat=True`` (the default) the conventions are librosa's: periodic Hann window,
``center=True`` with zero padding (``pad_mode="constant"``, librosa >= 0.10), Slaney mel scale and
Slaney-normalised filters, ``power_to_db(ref=1.0, amin=1e-10, top_db=80)`` and an orthonormal
DCT-II; an option that contradicts them raises ``ConfigError``. The frame sizes are explicit
options (librosa's own defaults are ``n_fft=2048, hop_length=512, n_mels=128``; the defaults here
suit 16 kHz speech). ``librosa_compat=False`` frees the conventions (torchaudio's are
``pad_mode="reflect", norm=None, mel_scale="htk"``).

>>> import torch
>>> wave = torch.randn(8, 2, 16000)                      # (batch, channels, time)
>>> LogMel(sample_rate=16000, n_mels=64)(wave).shape     # (batch, channels, n_mels, frames)
torch.Size([8, 2, 64, 126])
>>> MFCC(n_mfcc=13, deltas=2)(wave).shape                # 13 cepstra + deltas + delta-deltas
torch.Size([8, 2, 39, 126])
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torchaudio.functional as AF
import torchaudio.transforms as AT
from torch import nn

from audioconv._plain import SpecAlias, renamed_keyword
from audioconv.contract import fit_length
from audioconv.errors import ConfigError
from audioconv.errors import check_positive as _positive_int
from audioconv.features import functional as FF

__all__ = [
    "MFCC",
    "Deltas",
    "FixedLength",
    "LogMel",
    "MelSpectrogram",
    "PowerToDb",
    "SpecAugment",
    "Spectrogram",
    "Standardize",
    "VTLP",
]

_LIBROSA = {"pad_mode": "constant", "norm": "slaney", "mel_scale": "slaney", "center": True}
_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _choice(name: str, value, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of {choices}")


def _db_options(amin: float, ref: float, top_db: float | None) -> tuple[float, float, float | None]:
    """The checked ``amin, ref, top_db`` of a power -> dB conversion (``LogMel``, ``PowerToDb``)."""
    if not amin > 0 or not ref > 0:
        raise ConfigError(f"amin={amin!r} and ref={ref!r} must both be > 0")
    if top_db is not None and not top_db > 0:
        raise ConfigError(f"top_db={top_db!r} must be > 0 dB, or None for no floor")
    return float(amin), float(ref), None if top_db is None else float(top_db)


def _check_librosa(librosa_compat: bool, **options) -> None:
    if not librosa_compat:
        return
    for name, value in options.items():
        if value != _LIBROSA[name]:
            raise ConfigError(
                f"{name}={value!r} differs from librosa's {_LIBROSA[name]!r}: drop the option, "
                "or pass librosa_compat=False to leave librosa's conventions"
            )


class Spectrogram(SpecAlias, nn.Module):
    """Magnitude (``power=1``) or power (``power=2``) spectrogram.

    ``(..., time)`` -> ``(..., n_fft // 2 + 1, frames)`` with ``frames = time // hop_length + 1``
    when ``center``. ``win_length`` defaults to ``n_fft``, ``hop_length`` to ``win_length // 4``.
    """

    def __init__(
        self,
        *,
        n_fft: int = 512,
        win_length: int | None = None,
        hop_length: int | None = None,
        power: float = 2.0,
        center: bool = True,
        pad_mode: str = "constant",
        librosa_compat: bool = True,
    ):
        super().__init__()
        self.n_fft = _positive_int("n_fft", n_fft, minimum=2)
        self.win_length = _positive_int("win_length", n_fft if win_length is None else win_length)
        if self.win_length > n_fft:
            raise ConfigError(f"win_length={win_length} exceeds n_fft={n_fft}: lower win_length")
        default = self.win_length // 4
        self.hop_length = _positive_int("hop_length", default if hop_length is None else hop_length)
        if power not in (1.0, 2.0):
            raise ConfigError(f"power={power!r} must be 1.0 (magnitude) or 2.0 (power)")
        _choice("pad_mode", pad_mode, _PAD_MODES)
        _check_librosa(librosa_compat, pad_mode=pad_mode, center=center)
        self.power, self.center, self.pad_mode = float(power), bool(center), pad_mode
        self.register_buffer("window", torch.hann_window(self.win_length), persistent=False)

    @property
    def n_freqs(self) -> int:
        """Number of frequency bins, ``n_fft // 2 + 1``."""
        return self.n_fft // 2 + 1

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` -> ``(..., n_fft // 2 + 1, frames)``."""
        return FF.spectrogram(
            wave,
            self.window,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            power=self.power,
            center=self.center,
            pad_mode=self.pad_mode,
        )

    def extra_repr(self) -> str:
        return (
            f"n_fft={self.n_fft}, win_length={self.win_length}, hop_length={self.hop_length}, "
            f"power={self.power}, center={self.center}, pad_mode={self.pad_mode!r}"
        )


class MelSpectrogram(SpecAlias, nn.Module):
    """Mel-filtered spectrogram: ``(..., time)`` -> ``(..., n_mels, frames)``.

    Owns a ``Spectrogram`` and a ``(n_fft // 2 + 1, n_mels)`` filterbank buffer from
    ``torchaudio.functional.melscale_fbanks``; ``f_max`` defaults to ``sample_rate / 2``.
    """

    def __init__(
        self,
        *,
        sample_rate: int = 16000,
        n_fft: int = 512,
        win_length: int | None = None,
        hop_length: int | None = None,
        n_mels: int = 64,
        f_min: float = 0.0,
        f_max: float | None = None,
        power: float = 2.0,
        center: bool = True,
        pad_mode: str = "constant",
        norm: str | None = "slaney",
        mel_scale: str = "slaney",
        librosa_compat: bool = True,
    ):
        super().__init__()
        self.sample_rate = _positive_int("sample_rate", sample_rate)
        self.n_mels = _positive_int("n_mels", n_mels)
        self.f_min = float(f_min)
        self.f_max = float(sample_rate / 2 if f_max is None else f_max)
        if not 0.0 <= self.f_min < self.f_max <= sample_rate / 2:
            raise ConfigError(
                f"need 0 <= f_min < f_max <= sample_rate / 2, got f_min={f_min}, f_max={f_max}, "
                f"sample_rate={sample_rate}: lower f_min or set f_max within Nyquist"
            )
        _choice("norm", norm, ("slaney", None))
        _choice("mel_scale", mel_scale, ("slaney", "htk"))
        _check_librosa(librosa_compat, norm=norm, mel_scale=mel_scale)
        self.norm, self.mel_scale = norm, mel_scale
        self.spectrogram = Spectrogram(
            n_fft=n_fft,
            win_length=win_length,
            hop_length=hop_length,
            power=power,
            center=center,
            pad_mode=pad_mode,
            librosa_compat=librosa_compat,
        )
        fbank = AF.melscale_fbanks(
            self.spectrogram.n_freqs,
            self.f_min,
            self.f_max,
            self.n_mels,
            self.sample_rate,
            norm=norm,
            mel_scale=mel_scale,
        )  # (n_freqs, n_mels)
        self.register_buffer("fbank", fbank, persistent=False)

    @property
    def hop_length(self) -> int:
        """Samples between frames."""
        return self.spectrogram.hop_length

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` -> ``(..., n_mels, frames)``."""
        return FF.mel_scale(self.spectrogram(wave), self.fbank)

    def extra_repr(self) -> str:
        return (
            f"sample_rate={self.sample_rate}, n_mels={self.n_mels}, f_min={self.f_min}, "
            f"f_max={self.f_max}, norm={self.norm!r}, mel_scale={self.mel_scale!r}"
        )


class LogMel(SpecAlias, nn.Module):
    """Log-mel spectrogram in dB: ``(..., time)`` -> ``(..., n_mels, frames)``.

    ``10 * log10(max(mel, amin) / ref)`` (``20 *`` for ``power=1``), floored at each example's own
    peak minus ``top_db`` (``None`` disables the floor) — per example, never across the batch.
    Owns a ``MelSpectrogram`` (see it for the other options).
    """

    def __init__(
        self,
        *,
        sample_rate: int = 16000,
        n_fft: int = 512,
        win_length: int | None = None,
        hop_length: int | None = None,
        n_mels: int = 64,
        f_min: float = 0.0,
        f_max: float | None = None,
        power: float = 2.0,
        center: bool = True,
        pad_mode: str = "constant",
        norm: str | None = "slaney",
        mel_scale: str = "slaney",
        amin: float = 1e-10,
        ref: float = 1.0,
        top_db: float | None = 80.0,
        librosa_compat: bool = True,
    ):
        super().__init__()
        self.amin, self.ref, self.top_db = _db_options(amin, ref, top_db)
        self.mel = MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=n_fft,
            win_length=win_length,
            hop_length=hop_length,
            n_mels=n_mels,
            f_min=f_min,
            f_max=f_max,
            power=power,
            center=center,
            pad_mode=pad_mode,
            norm=norm,
            mel_scale=mel_scale,
            librosa_compat=librosa_compat,
        )

    @property
    def n_mels(self) -> int:
        """Number of mel bands (output frequency bins)."""
        return self.mel.n_mels

    @property
    def hop_length(self) -> int:
        """Samples between frames."""
        return self.mel.hop_length

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` -> ``(..., n_mels, frames)`` in dB."""
        return FF.power_to_db(
            self.mel(wave),
            multiplier=20.0 / self.mel.spectrogram.power,
            amin=self.amin,
            ref=self.ref,
            top_db=self.top_db,
        )

    def extra_repr(self) -> str:
        return f"amin={self.amin}, ref={self.ref}, top_db={self.top_db}"


class PowerToDb(SpecAlias, nn.Module):
    """Power (or magnitude) spectrogram -> dB: ``(..., freq, time)`` -> same shape.

    ``multiplier * log10(max(x, amin) / ref)``, floored at each example's own peak minus
    ``top_db`` (librosa's ``power_to_db``; ``multiplier=20`` for magnitudes). ``LogMel`` applies
    the same rule to its mel bands.
    """

    def __init__(
        self,
        *,
        multiplier: float = 10.0,
        amin: float = 1e-10,
        ref: float = 1.0,
        top_db: float | None = 80.0,
    ):
        super().__init__()
        self.amin, self.ref, self.top_db = _db_options(amin, ref, top_db)
        self.multiplier = float(multiplier)

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        """``(..., freq, time)`` -> ``(..., freq, time)`` in dB."""
        return FF.power_to_db(
            power, multiplier=self.multiplier, amin=self.amin, ref=self.ref, top_db=self.top_db
        )

    def extra_repr(self) -> str:
        return (
            f"multiplier={self.multiplier}, amin={self.amin}, ref={self.ref}, top_db={self.top_db}"
        )


class Deltas(nn.Module):
    """Append time derivatives on the frequency axis.

    ``(..., freq, time)`` -> ``(..., freq * (order + 1), time)``, rows ``[x, dx, d(dx)]`` for
    ``order=2``. Slopes are regressions over ``win_length`` frames with repeated edge frames
    (torchaudio ``compute_deltas``); in the interior order 1 equals ``librosa.feature.delta``.
    """

    def __init__(self, *, order: int = 1, win_length: int = 9):
        super().__init__()
        self.order = _positive_int("order", order)
        self.win_length = _positive_int("win_length", win_length, minimum=3)
        if win_length % 2 == 0:
            raise ConfigError(f"win_length={win_length} must be odd (a centred window)")

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(..., freq, time)`` -> ``(..., freq * (order + 1), time)``."""
        return FF.deltas(features, order=self.order, win_length=self.win_length)

    def extra_repr(self) -> str:
        return f"order={self.order}, win_length={self.win_length}"


class MFCC(SpecAlias, nn.Module):
    """Mel-frequency cepstral coefficients (+ deltas): ``(..., time)`` -> ``(..., n, frames)``.

    Owns a ``LogMel`` and an orthonormal DCT-II buffer (librosa's ``mfcc`` default). ``deltas=1``
    or ``2`` stacks the derivatives on the coefficient axis (``n = n_mfcc * (deltas + 1)``, e.g.
    the classic 13 + 13 + 13 = 39), keeping the ``(..., freq, time)`` layout every model expects.
    """

    def __init__(
        self,
        *,
        n_mfcc: int = 20,
        deltas: int = 0,
        delta_win_length: int = 9,
        sample_rate: int = 16000,
        n_fft: int = 512,
        win_length: int | None = None,
        hop_length: int | None = None,
        n_mels: int = 64,
        f_min: float = 0.0,
        f_max: float | None = None,
        pad_mode: str = "constant",
        norm: str | None = "slaney",
        mel_scale: str = "slaney",
        top_db: float | None = 80.0,
        librosa_compat: bool = True,
    ):
        super().__init__()
        self.n_mfcc = _positive_int("n_mfcc", n_mfcc)
        if n_mfcc > n_mels:
            raise ConfigError(
                f"n_mfcc={n_mfcc} exceeds n_mels={n_mels}: lower n_mfcc or raise n_mels"
            )
        _choice("deltas", deltas, (0, 1, 2))
        self.log_mel = LogMel(
            sample_rate=sample_rate,
            n_fft=n_fft,
            win_length=win_length,
            hop_length=hop_length,
            n_mels=n_mels,
            f_min=f_min,
            f_max=f_max,
            pad_mode=pad_mode,
            norm=norm,
            mel_scale=mel_scale,
            top_db=top_db,
            librosa_compat=librosa_compat,
        )
        self.deltas = Deltas(order=deltas, win_length=delta_win_length) if deltas else None
        dct = AF.create_dct(n_mfcc, n_mels, norm="ortho")  # (n_mels, n_mfcc)
        self.register_buffer("dct", dct, persistent=False)

    @property
    def hop_length(self) -> int:
        """Samples between frames."""
        return self.log_mel.hop_length

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` -> ``(..., n_mfcc * (deltas + 1), frames)``."""
        coefficients = FF.mfcc(self.log_mel(wave), self.dct)
        return coefficients if self.deltas is None else self.deltas(coefficients)

    def extra_repr(self) -> str:
        return f"n_mfcc={self.n_mfcc}"


class Standardize(SpecAlias, nn.Module):
    """Zero mean, unit variance for ``(..., freq, time)`` features.

    ``mode="example"`` uses each example's own statistics. ``mode="dataset"`` uses statistics
    fitted with ``.fit(loader)`` and kept as buffers (``mean``, ``std``, ``count``), so they travel
    in ``state_dict`` and checkpoints. ``per_bin=True`` keeps one mean / std per frequency bin
    (shape ``(freq, 1)``) instead of one for all bins.

    >>> import torch
    >>> scaler = Standardize(mode="dataset", per_bin=True).fit([torch.randn(4, 40, 100) + 3])
    >>> scaler.mean.shape, round(scaler(torch.randn(2, 40, 100) + 3).mean().item())
    (torch.Size([40, 1]), 0)
    """

    def __init__(self, *, mode: str = "example", per_bin: bool = False, eps: float = 1e-5):
        super().__init__()
        _choice("mode", mode, ("example", "dataset"))
        if not eps > 0:
            raise ConfigError(f"eps={eps!r} must be > 0")
        self.mode, self.per_bin, self.eps = mode, bool(per_bin), float(eps)
        # Empty until fitted; loading a state_dict adopts the fitted shapes.
        self.register_buffer("mean", torch.empty(0))
        self.register_buffer("std", torch.empty(0))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @property
    def fitted(self) -> bool:
        """Whether dataset statistics are present (a shape check, so export can trace it)."""
        return self.mean.numel() > 0

    @torch.no_grad()
    def fit(self, data: Iterable) -> Standardize:
        """Fit dataset statistics over every batch of ``data``; returns ``self``.

        ``data`` yields ``(..., freq, time)`` tensors, or tuples / lists whose first item is one
        (a ``DataLoader`` of ``(features, label)``). Accumulates in float64 (Chan et al.).
        """
        if self.mode != "dataset":
            raise ConfigError(
                "fit() needs Standardize(mode='dataset'); mode='example' has no state"
            )
        count, mean, m2 = 0, None, None
        for batch in data:
            features = batch[0] if isinstance(batch, tuple | list) else batch
            # (..., freq, time) -> (freq, everything else) when per_bin, else (1, everything)
            flat = features.detach().double().movedim(-2, 0).reshape(features.shape[-2], -1)
            flat = flat if self.per_bin else flat.reshape(1, -1)
            n = flat.shape[1]
            batch_mean = flat.mean(dim=1, keepdim=True)
            batch_m2 = ((flat - batch_mean) ** 2).sum(dim=1, keepdim=True)
            if mean is None:
                count, mean, m2 = n, batch_mean, batch_m2
            else:
                if batch_mean.shape != mean.shape:
                    raise ConfigError(
                        f"fit() got batches with {features.shape[-2]} and {mean.shape[0]} "
                        "frequency bins: every batch must share the freq size"
                    )
                delta = batch_mean - mean
                total = count + n
                mean = mean + delta * (n / total)
                m2 = m2 + batch_m2 + delta**2 * (count * n / total)
                count = total
        if mean is None:
            raise ConfigError("fit() got no batches: pass a non-empty loader or iterable")
        device, dtype = self.mean.device, torch.get_default_dtype()
        self.mean = mean.to(device=device, dtype=dtype)  # (freq, 1) or (1, 1)
        self.std = (m2 / count).sqrt().to(device=device, dtype=dtype)
        self.count = torch.tensor(count, device=device)
        return self

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for name in ("mean", "std"):
            incoming = state_dict.get(prefix + name)
            if incoming is not None:  # adopt the fitted shape before the copy
                setattr(self, name, torch.empty_like(incoming, device=self.count.device))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(..., freq, time)`` -> same shape, standardized."""
        if self.mode == "example":
            return FF.standardize(features, per_bin=self.per_bin, eps=self.eps)
        if not self.fitted:
            raise ConfigError(
                "Standardize(mode='dataset') has no statistics: call .fit(loader) or load a "
                "state_dict that holds them"
            )
        if self.per_bin and self.mean.shape[0] != features.shape[-2]:
            raise ConfigError(
                f"statistics were fitted on {self.mean.shape[0]} frequency bins but the input "
                f"has {features.shape[-2]}: refit on features of this shape"
            )
        return FF.standardize(features, mean=self.mean, std=self.std, eps=self.eps)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, per_bin={self.per_bin}, eps={self.eps}"


class FixedLength(nn.Module):
    """Pad, trim or crop ``(..., time)`` to ``window`` samples: -> ``(..., window)``.

    Longer inputs are cropped: ``crop="random"`` draws the offset from torch's global generator in
    training mode and falls back to the centre in eval mode, so evaluation is deterministic;
    ``"center"`` and ``"left"`` are always deterministic. One offset serves the whole call (all
    channels of a clip stay aligned), so apply it per clip (in the dataset) for independent crops.
    Shorter inputs are zero-padded at the end (``pad="right"``) or on both sides (``"center"``).
    Crop and pad are :func:`audioconv.contract.fit_length`, the rule every prediction path uses.
    ``window`` is the input contract's name for the length; ``num_samples`` is its deprecated name
    (keyword and attribute, a ``DeprecationWarning``).
    """

    def __init__(
        self,
        window: int | None = None,
        *,
        crop: str = "random",
        pad: str = "right",
        num_samples: int | None = None,
    ):
        super().__init__()
        window = renamed_keyword("FixedLength", "num_samples", num_samples, "window", window)
        self.window = _positive_int("window", window)
        _choice("crop", crop, ("random", "center", "left"))
        _choice("pad", pad, ("right", "center"))
        self.crop, self.pad = crop, pad

    @property
    def num_samples(self) -> int:
        """Deprecated name of :attr:`window`."""
        renamed_keyword("FixedLength", "num_samples", True, "window", None)
        return self.window

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` -> ``(..., window)``."""
        excess = max(wave.shape[-1] - self.window, 0)
        if self.crop == "left" or excess == 0:
            start = 0
        elif self.crop == "random" and self.training:
            start = int(torch.randint(excess + 1, ()))
        else:
            start = excess // 2
        return fit_length(wave, self.window, start=start, pad=self.pad)

    def extra_repr(self) -> str:
        return f"{self.window}, crop={self.crop!r}, pad={self.pad!r}"


class SpecAugment(nn.Module):
    """SpecAugment masking on ``(batch, channels, freq, time)``: ``n_time_masks`` time masks of up
    to ``time_mask`` frames and ``n_freq_masks`` frequency masks of up to ``freq_mask`` bins, drawn
    independently per example (torchaudio ``TimeMasking`` / ``FrequencyMasking``).

    Training augmentation that sits in the front end (:class:`~audioconv.features.AudioFrontend`
    applies it in training mode only); ``audioconv.data.augment.SpecAugment`` is this class.
    """

    def __init__(
        self, *, time_mask: int = 20, freq_mask: int = 8, n_time_masks: int = 2,
        n_freq_masks: int = 2,
    ):  # fmt: skip
        super().__init__()
        if min(time_mask, freq_mask, n_time_masks, n_freq_masks) < 0:
            raise ConfigError("SpecAugment mask sizes and counts must be >= 0")
        self.masks = nn.ModuleList(
            [AT.TimeMasking(time_mask, iid_masks=True) for _ in range(n_time_masks)]
            + [AT.FrequencyMasking(freq_mask, iid_masks=True) for _ in range(n_freq_masks)]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            raise ConfigError(
                f"SpecAugment takes spectrograms (batch, channels, freq, time), got shape "
                f"{tuple(x.shape)}; put it after the feature front end"
            )
        for mask in self.masks:
            x = mask(x)
        return x


class VTLP(nn.Module):
    """Vocal tract length perturbation (Jaitly & Hinton, 2013) on ``(batch, channels, freq,
    time)`` features whose rows sit at ``centers`` Hz.

    Each example draws a warp factor ``alpha`` from ``U[1 - max_warp, 1 + max_warp]``; row ``f``
    then takes the input's value at ``w(f)`` (linear interpolation between rows), where ``w`` is
    ``alpha * f`` up to ``b * min(alpha, 1) / alpha`` and a straight line from there to Nyquist,
    which stays put (``b = boundary * nyquist``). A longer or shorter vocal tract moves the
    formants by about such a factor: a speaker the training set never had.

    Training augmentation: :class:`~audioconv.features.AudioFrontend` applies it in training mode
    only, so inference, export and streaming never see it.
    """

    def __init__(
        self, centers: torch.Tensor, *, nyquist: float, max_warp: float = 0.1,
        boundary: float = 0.6,
    ):  # fmt: skip
        super().__init__()
        if not 0 < max_warp < 0.5:
            raise ConfigError(f"max_warp={max_warp!r} must be in (0, 0.5), e.g. 0.1")
        if not 0 < boundary < 1:
            raise ConfigError(f"boundary={boundary!r} must be a fraction of Nyquist in (0, 1)")
        centers = torch.as_tensor(centers, dtype=torch.float32)
        if centers.ndim != 1 or len(centers) < 2 or not bool((centers.diff() > 0).all()):
            raise ConfigError(
                "VTLP needs at least two frequency rows at increasing frequencies (an empty mel "
                "filter repeats one): lower n_mels or raise n_fft"
            )
        self.max_warp, self.nyquist, self.boundary = float(max_warp), float(nyquist), boundary
        self.register_buffer("centers", centers, persistent=False)

    def warp(self, alpha: torch.Tensor) -> torch.Tensor:
        """``(batch,)`` factors -> ``(batch, freq)``: the frequency (Hz) each row reads from."""
        f, nyquist = self.centers[None, :], self.nyquist
        alpha = alpha[:, None]
        knee = self.boundary * nyquist * alpha.clamp(max=1.0)  # w(f) at the knee
        below = f * alpha
        above = nyquist - (nyquist - knee) / (nyquist - knee / alpha) * (nyquist - f)
        return torch.where(f <= knee / alpha, below, above)

    def forward(self, x: torch.Tensor, alpha: torch.Tensor | None = None) -> torch.Tensor:
        """``(batch, channels, freq, time)`` -> same shape, each example warped by its ``alpha``
        (``(batch,)``; drawn when ``None``)."""
        if x.ndim != 4 or x.shape[2] != len(self.centers):
            raise ConfigError(
                f"VTLP takes (batch, channels, {len(self.centers)} freq rows, time), got shape "
                f"{tuple(x.shape)}"
            )
        if alpha is None:
            alpha = 1 + self.max_warp * (2 * torch.rand(x.shape[0], device=x.device) - 1)
        source = self.warp(alpha).clamp(self.centers[0], self.centers[-1])  # (batch, freq)
        high = torch.searchsorted(self.centers, source.contiguous()).clamp(1, len(self.centers) - 1)
        low = high - 1
        weight = (source - self.centers[low]) / (self.centers[high] - self.centers[low])
        shape = (x.shape[0], 1, x.shape[2], 1)
        low_rows = x.gather(2, low.view(shape).expand_as(x))
        high_rows = x.gather(2, high.view(shape).expand_as(x))
        weight = weight.view(shape).to(x.dtype)
        return low_rows * (1 - weight) + high_rows * weight
