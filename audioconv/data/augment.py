"""Batch augmentation on the training device.

Audio modules take waveforms ``(batch, channels, time)`` (``SpecAugment`` takes spectrograms
``(batch, channels, freq, time)``) and draw their random parameters per example from torch's global
RNG (seeded by ``lightning.seed_everything``). ``Mixup`` and ``CopyPaste`` also see the labels,
so they are called as ``x, y = mixup(x, y)``; :func:`apply_augment` runs any list of these on a
batch and is what the DataModules call in ``on_after_batch_transfer`` for the training split only.

``ImageAugment`` wraps ``torchvision.transforms.v2`` (flip, rotation, shift, zoom, shear, invert)
and applies it to each image of a ``(batch, channels, height, width)`` batch.

>>> import torch
>>> x = torch.randn(4, 1, 800)
>>> y = torch.tensor([0, 1, 2, 1])
>>> x2, y2 = apply_augment([Gain(min_db=-6, max_db=6), AddNoise(snr_db=(20, 30))], x, y)
>>> x2.shape, torch.equal(y2, y)
(torch.Size([4, 1, 800]), True)
>>> x3, y3 = apply_augment([Mixup(alpha=0.4, num_classes=3)], x, y)
>>> y3.shape, torch.allclose(y3.sum(dim=1), torch.ones(4))
(torch.Size([4, 3]), True)
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import torch
import torchaudio.functional as AF
import torchvision.transforms.v2 as v2
from torch import nn

from audioconv import contract
from audioconv.errors import ConfigError, DatasetError
from audioconv.features.transforms import SpecAugment  # re-exported: it lives in features

__all__ = [
    "AddNoise",
    "BackgroundNoise",
    "CopyPaste",
    "Gain",
    "ImageAugment",
    "Mixup",
    "PitchShift",
    "SpecAugment",
    "SpeedPerturb",
    "TimeShift",
    "apply_augment",
    "fit_length",
    "mix_at_snr",
    "random_shift",
]


# -- functions ------------------------------------------------------------------------------------
def _uniform(batch: int, low: float, high: float, device) -> torch.Tensor:
    return low + (high - low) * torch.rand(batch, device=device)


def _chosen(batch: int, p: float, device) -> torch.Tensor:
    """``(batch,)`` bool: which examples an augmentation with probability ``p`` touches."""
    return torch.rand(batch, device=device) < p


def fit_length(wave: torch.Tensor, length: int) -> torch.Tensor:
    """Centre-crop or zero-pad (at the end) ``(..., time)`` to ``(..., length)``
    (:func:`audioconv.contract.fit_length` with a centred start)."""
    return contract.fit_length(wave, length, start=max(wave.shape[-1] - length, 0) // 2)


def random_shift(wave: torch.Tensor, shift: torch.Tensor, *, rollover: bool) -> torch.Tensor:
    """Shift each example of ``(batch, channels, time)`` by ``shift[b]`` samples (positive =
    later); ``rollover`` wraps around, otherwise the gap is zero-filled."""
    time = wave.shape[-1]
    source = torch.arange(time, device=wave.device) - shift[:, None]  # (batch, time)
    valid = (source >= 0) & (source < time)
    index = source.remainder(time)[:, None, :].expand_as(wave)  # (batch, 1, time) -> (b, c, t)
    shifted = wave.gather(-1, index)
    return shifted if rollover else shifted * valid[:, None, :]


def mix_at_snr(wave: torch.Tensor, noise: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
    """``wave + noise`` scaled so each example's signal-to-noise ratio is ``snr_db[b]`` dB.

    ``wave``, ``noise``: ``(batch, channels, time)``; ``snr_db``: ``(batch,)``. Silent noise
    leaves the example unchanged (torchaudio's ``add_noise`` would divide by zero).
    """
    energy = noise.pow(2).sum(dim=(-2, -1))  # (batch,)
    silent = energy == 0
    noise = torch.where(silent[:, None, None], torch.ones_like(noise), noise)
    mixed = AF.add_noise(wave, noise, snr_db[:, None].expand(-1, wave.shape[1]))
    return torch.where(silent[:, None, None], wave, mixed)


def _check_range(name: str, value: tuple[float, float]) -> tuple[float, float]:
    if len(value) != 2 or value[0] > value[1]:
        raise ConfigError(f"{name}={value!r} must be a (low, high) pair with low <= high")
    return float(value[0]), float(value[1])


def _check_p(p: float) -> float:
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"p={p!r} must be a probability in [0, 1]")
    return float(p)


def _check_wave(x: torch.Tensor, name: str) -> None:
    if x.ndim != 3:
        raise ConfigError(
            f"{name} takes waveforms (batch, channels, time), got shape {tuple(x.shape)}"
        )


# -- waveform modules -----------------------------------------------------------------------------
class Gain(nn.Module):
    """Random gain in ``[min_db, max_db]`` dB per example; ``(batch, channels, time)``."""

    def __init__(self, *, min_db: float = -6.0, max_db: float = 6.0, p: float = 1.0):
        super().__init__()
        self.min_db, self.max_db = _check_range("(min_db, max_db)", (min_db, max_db))
        self.p = _check_p(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_wave(x, "Gain")
        db = _uniform(len(x), self.min_db, self.max_db, x.device)
        db = db * _chosen(len(x), self.p, x.device)
        return x * torch.pow(10.0, db / 20.0)[:, None, None]


class TimeShift(nn.Module):
    """Shift each example by up to ``max_shift`` (a fraction of its length) either way;
    ``rollover`` wraps samples around, otherwise zeros fill the gap. ``(batch, channels, time)``."""

    def __init__(self, *, max_shift: float = 0.1, rollover: bool = True, p: float = 1.0):
        super().__init__()
        if not 0.0 <= max_shift <= 1.0:
            raise ConfigError(f"max_shift={max_shift!r} must be a fraction of the length in [0, 1]")
        self.max_shift, self.rollover, self.p = max_shift, rollover, _check_p(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_wave(x, "TimeShift")
        limit = int(self.max_shift * x.shape[-1])
        shift = torch.randint(-limit, limit + 1, (len(x),), device=x.device)
        shift = shift * _chosen(len(x), self.p, x.device)
        return random_shift(x, shift, rollover=self.rollover)


class AddNoise(nn.Module):
    """Add white Gaussian noise at a random SNR in ``snr_db`` (dB) per example."""

    def __init__(self, *, snr_db: tuple[float, float] = (10.0, 30.0), p: float = 1.0):
        super().__init__()
        self.snr_db = _check_range("snr_db", snr_db)
        self.p = _check_p(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_wave(x, "AddNoise")
        snr = _uniform(len(x), *self.snr_db, x.device)
        mixed = mix_at_snr(x, torch.randn_like(x), snr)
        return torch.where(_chosen(len(x), self.p, x.device)[:, None, None], mixed, x)


class BackgroundNoise(nn.Module):
    """Mix in a random stretch of a background-noise clip at a random SNR in ``snr_db``.

    ``noise`` is a folder of clips (e.g. Speech Commands' ``_background_noise_``), a list of files,
    or a list of ``(channels, time)`` tensors; files are read once at ``sample_rate`` (mono) and
    kept as buffers. Clips shorter than the batch are tiled.
    """

    def __init__(
        self,
        noise: str | os.PathLike | Sequence[str | os.PathLike | torch.Tensor],
        *,
        sample_rate: int | None = None,
        snr_db: tuple[float, float] = (0.0, 20.0),
        p: float = 1.0,
    ):
        super().__init__()
        self.snr_db = _check_range("snr_db", snr_db)
        self.p = _check_p(p)
        clips = self._load(noise, sample_rate)
        for i, clip in enumerate(clips):
            self.register_buffer(f"clip{i}", clip.mean(dim=0), persistent=False)  # (time,)
        self.num_clips = len(clips)

    @staticmethod
    def _load(noise, sample_rate: int | None) -> list[torch.Tensor]:
        from audioconv._walk import walk_files
        from audioconv.constants import AUDIO_EXTENSIONS
        from audioconv.io import load_audio

        if isinstance(noise, str | os.PathLike):
            folder = Path(noise)
            if not folder.is_dir():
                raise DatasetError(f"{folder}: no such noise folder")
            noise = walk_files(folder, AUDIO_EXTENSIONS, recursive=False).files
            if not noise:
                raise DatasetError(f"{folder}: no noise clips found; add wav / flac files")
        if not noise:
            raise ConfigError("noise is empty; pass a folder or a list of clips")
        if any(not isinstance(item, torch.Tensor) for item in noise) and sample_rate is None:
            raise ConfigError("sample_rate is required to read noise files (the data's rate)")
        return [
            item.float() if isinstance(item, torch.Tensor)
            else load_audio(item, sample_rate=sample_rate)[0]
            for item in noise
        ]  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_wave(x, "BackgroundNoise")
        batch, _, time = x.shape
        picks = torch.randint(self.num_clips, (batch,)).tolist()
        pieces = []
        for pick in picks:
            clip = getattr(self, f"clip{pick}").to(x.device)
            clip = clip.repeat(math.ceil(time / len(clip)) + 1)  # tile: (k * len,)
            start = int(torch.randint(len(clip) - time + 1, ()))
            pieces.append(clip[start : start + time])
        noise = torch.stack(pieces)[:, None, :].expand_as(x)  # (batch, time) -> (b, c, t)
        snr = _uniform(batch, *self.snr_db, x.device)
        mixed = mix_at_snr(x, noise.to(x), snr)
        return torch.where(_chosen(batch, self.p, x.device)[:, None, None], mixed, x)


class SpeedPerturb(nn.Module):
    """Speed perturbation (tempo and pitch together) by a factor drawn per example from
    ``factors`` via ``torchaudio.functional.speed``; the result is cropped / padded back to the
    input length. ``(batch, channels, time)``."""

    def __init__(
        self, *, sample_rate: int, factors: Sequence[float] = (0.9, 1.0, 1.1), p: float = 1.0
    ):
        super().__init__()
        if not factors or any(f <= 0 for f in factors):
            raise ConfigError(f"factors={factors!r} must be positive speed factors")
        self.sample_rate, self.factors, self.p = sample_rate, tuple(factors), _check_p(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_wave(x, "SpeedPerturb")
        picks = torch.randint(len(self.factors), (len(x),))
        picks[~_chosen(len(x), self.p, "cpu")] = -1
        out = x.clone()
        for k in picks.unique().tolist():
            if k < 0 or self.factors[k] == 1.0:
                continue
            rows = (picks == k).nonzero().squeeze(1).to(x.device)
            fast, _ = AF.speed(x[rows], self.sample_rate, self.factors[k])
            out[rows] = fit_length(fast, x.shape[-1])
        return out


class PitchShift(nn.Module):
    """Shift pitch by a whole number of semitones drawn per example from ``n_steps`` (low, high),
    keeping the duration (``torchaudio.functional.pitch_shift``). ``(batch, channels, time)``."""

    def __init__(
        self, *, sample_rate: int, n_steps: tuple[int, int] = (-2, 2), n_fft: int = 512,
        p: float = 1.0,
    ):  # fmt: skip
        super().__init__()
        low, high = _check_range("n_steps", n_steps)
        self.sample_rate, self.n_steps, self.n_fft = sample_rate, (int(low), int(high)), n_fft
        self.p = _check_p(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_wave(x, "PitchShift")
        steps = torch.randint(self.n_steps[0], self.n_steps[1] + 1, (len(x),))
        steps[~_chosen(len(x), self.p, "cpu")] = 0
        out = x.clone()
        for step in steps.unique().tolist():
            if step == 0:
                continue
            rows = (steps == step).nonzero().squeeze(1).to(x.device)
            shifted = AF.pitch_shift(x[rows], self.sample_rate, step, n_fft=self.n_fft)
            out[rows] = fit_length(shifted, x.shape[-1])
        return out


class Mixup(nn.Module):
    """Mixup (Zhang et al. 2018): ``x = lam * x + (1 - lam) * x[perm]`` and the same for the
    labels, ``lam ~ Beta(alpha, alpha)`` per batch. Integer labels ``(batch,)`` become soft
    targets ``(batch, num_classes)``; multi-hot labels stay ``(batch, num_classes)``."""

    mixes_labels = True

    def __init__(self, *, alpha: float = 0.2, num_classes: int):
        super().__init__()
        if alpha <= 0:
            raise ConfigError(f"alpha={alpha!r} must be > 0")
        if num_classes < 2:
            raise ConfigError(f"num_classes={num_classes!r} must be >= 2")
        self.alpha, self.num_classes = alpha, num_classes

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if y.ndim == 1:
            y = nn.functional.one_hot(y.long(), self.num_classes).to(x.dtype)  # (b,) -> (b, C)
        lam = float(torch.distributions.Beta(self.alpha, self.alpha).sample())
        perm = torch.randperm(len(x), device=x.device)
        return lam * x + (1 - lam) * x[perm], lam * y + (1 - lam) * y[perm]


class CopyPaste(nn.Module):
    """CopyPaste, same-class scheme (Pappagari et al., 2021): each clip, with probability ``p``,
    has a part of its window (``part`` fraction of it, drawn per clip, at the start or the end)
    replaced by the same span of another clip of the batch with the same label; the label stays.
    In a dataset split by speaker the window then holds two speakers saying one class.

    ``x`` ``(batch, channels, time)``, ``y`` ``(batch,)`` single labels (class indices, or 0 / 1
    for binary tasks); a clip whose class is alone in the batch is left as it is.
    """

    mixes_labels = True

    def __init__(self, *, p: float = 0.5, part: tuple[float, float] = (0.3, 0.7)):
        super().__init__()
        if not 0 < p <= 1:
            raise ConfigError(f"p={p!r} must be a probability in (0, 1]")
        if not 0 < part[0] <= part[1] < 1:
            raise ConfigError(f"part={part!r} must be fractions 0 < low <= high < 1")
        self.p, self.part = float(p), (float(part[0]), float(part[1]))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if y.ndim != 1:
            raise ConfigError(
                f"CopyPaste keeps each clip's one label; got labels of shape {tuple(y.shape)} "
                "(multilabel or mixed): use it on single-label data, before Mixup"
            )
        batch, time = len(x), x.shape[-1]
        same = (y[:, None] == y[None, :]) & ~torch.eye(batch, dtype=torch.bool, device=x.device)
        partner = torch.rand(batch, batch, device=x.device).masked_fill(~same, -1.0).argmax(1)
        pasted = (torch.rand(batch, device=x.device) < self.p) & same.any(1)
        length = (_uniform(batch, *self.part, x.device) * time).long()[:, None]
        at_start = (torch.rand(batch, device=x.device) < 0.5)[:, None]
        index = torch.arange(time, device=x.device)[None, :]
        span = torch.where(at_start, index < length, index >= time - length) & pasted[:, None]
        return torch.where(span[:, None, :], x[partner], x), y


# -- images ---------------------------------------------------------------------------------------
class ImageAugment(nn.Module):
    """The course's image augmentations through ``torchvision.transforms.v2``, one random draw per
    image of a ``(batch, channels, height, width)`` float batch: horizontal ``flip``, ``rotation``
    (degrees), ``shift`` (fraction of the size), ``zoom`` (fraction: scale in [1 - z, 1 + z]),
    ``shear`` (degrees), ``invert`` (probability; images in [0, 1])."""

    def __init__(
        self, *, flip: bool = True, rotation: float = 10.0, shift: float = 0.1,
        zoom: float = 0.1, shear: float = 0.0, invert: float = 0.0,
    ):  # fmt: skip
        super().__init__()
        if not (0 <= shift < 1 and 0 <= zoom < 1 and 0 <= invert <= 1):
            raise ConfigError("shift and zoom must be fractions in [0, 1), invert a probability")
        steps: list[nn.Module] = []
        if flip:
            steps.append(v2.RandomHorizontalFlip())
        if rotation or shift or zoom or shear:
            steps.append(
                v2.RandomAffine(
                    degrees=rotation,
                    translate=(shift, shift) if shift else None,
                    scale=(1 - zoom, 1 + zoom) if zoom else None,
                    shear=shear or None,
                )
            )
        if invert:
            steps.append(v2.RandomInvert(p=invert))
        self.transform = v2.Compose(steps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            raise ConfigError(
                f"ImageAugment takes (batch, channels, height, width), got {tuple(x.shape)}"
            )
        return torch.stack([self.transform(image) for image in x])


def apply_augment(
    augment: nn.Module | Sequence[nn.Module] | None, x: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``augment`` (a module, a list, or an ``nn.Sequential``) on a batch ``(x, y)``; modules
    with ``mixes_labels = True`` (``Mixup``) also get and return ``y``."""
    if augment is None:
        return x, y
    modules = (
        list(augment) if isinstance(augment, Sequence | nn.Sequential | nn.ModuleList)
        else [augment]
    )  # fmt: skip
    for module in modules:
        if getattr(module, "mixes_labels", False):
            x, y = module(x, y)
        else:
            x = module(x)
    return x, y
