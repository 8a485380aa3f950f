"""Feature cache (invalidation, crash safety), batch augmentation, and the DataModules' rule that
augmentation touches only the training split."""

from __future__ import annotations

import os
import time
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn

from audioconv.contract import ClipWindows, InputContract
from audioconv.data import (
    AddNoise,
    AudioDataModule,
    AudioFolder,
    BackgroundNoise,
    CopyPaste,
    Gain,
    ImageAugment,
    ImageDataModule,
    Mixup,
    PitchShift,
    SpecAugment,
    SpeedPerturb,
    TimeShift,
    cached_features,
    load_digits_images,
)
from audioconv.errors import ConfigError
from audioconv.features import FixedLength, LogMel

RATE = 8000


def write_clip(path: Path, *, seconds: float = 0.1, freq: float = 440.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * RATE)) / RATE
    sf.write(path, 0.3 * np.sin(2 * np.pi * freq * t), RATE)
    return path


@pytest.fixture
def folder(tmp_path) -> Path:
    for label, freq in (("low", 300.0), ("high", 1200.0)):
        for i in range(6):
            write_clip(tmp_path / "clips" / label / f"{i}.wav", freq=freq + 10 * i)
    return tmp_path / "clips"


def logmel(n_mels: int = 16) -> LogMel:
    return LogMel(sample_rate=RATE, n_fft=128, hop_length=64, n_mels=n_mels)


# -- feature cache -----------------------------------------------------------------------------
def test_cache_reuses_then_invalidates_on_config_and_file_change(folder, tmp_path):
    ds = AudioFolder(folder, transform=FixedLength(800, crop="center"))
    first = cached_features(ds, logmel(), cache_dir=tmp_path / "cache", batch_size=4)
    assert first.computed and first.features.shape == (12, 1, 16, 13)
    x, y = first[3]
    wave, label = ds[3]
    assert torch.allclose(x, logmel()(wave[None])[0], atol=1e-5) and int(y) == int(label)

    again = cached_features(ds, logmel(), cache_dir=tmp_path / "cache", batch_size=4)
    assert not again.computed and again.key == first.key
    assert isinstance(again.features, np.memmap)

    other = cached_features(ds, logmel(n_mels=20), cache_dir=tmp_path / "cache")
    assert other.computed and other.key != first.key and other.features.shape[2] == 20

    touched = ds.manifest["path"][0]
    later = time.time() + 5
    os.utime(touched, (later, later))
    refreshed = cached_features(ds, logmel(), cache_dir=tmp_path / "cache")
    assert refreshed.computed and refreshed.key != first.key


class Crashing(nn.Module):
    """A feature that dies on its second batch, as a killed process would mid-write."""

    def __init__(self):
        super().__init__()
        self.inner, self.calls = logmel(), 0

    def forward(self, x):
        self.calls += 1
        if self.calls == 2:
            raise KeyboardInterrupt("killed mid-write")
        return self.inner(x)

    def extra_repr(self) -> str:
        return "crash-test"


def test_crash_mid_write_is_never_read(folder, tmp_path):
    ds = AudioFolder(folder, transform=FixedLength(800, crop="center"))
    cache = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        cached_features(ds, Crashing(), cache_dir=cache, batch_size=4)
    leftovers = list(cache.rglob("*"))
    assert not any(p.name == "complete.json" for p in leftovers)

    # A half-written features.npy (e.g. from an older writer killed by SIGKILL) without a
    # completion record must be ignored and recomputed.
    healthy = Crashing()
    healthy.calls = 10  # never hits the crash again
    key_folder = next(p for p in cache.iterdir() if p.is_dir())
    (key_folder / "features.npy").write_bytes(b"\x93NUMPY garbage")
    result = cached_features(ds, healthy, cache_dir=cache, batch_size=4)
    assert result.computed and result.features.shape == (12, 1, 16, 13)
    expected = cached_features(ds, logmel(), cache_dir=tmp_path / "fresh", batch_size=4)
    assert np.array_equal(np.asarray(result.features), np.asarray(expected.features))


# -- augmentation -----------------------------------------------------------------------------
def test_waveform_augmentations_keep_shape_and_do_what_they_say(tmp_path):
    torch.manual_seed(0)
    t = torch.arange(1600) / RATE
    x = torch.sin(2 * torch.pi * 440 * t).repeat(4, 1, 1)  # (4, 1, 1600)

    gained = Gain(min_db=6, max_db=6)(x)
    assert torch.allclose(gained, x * 10 ** (6 / 20), atol=1e-6)

    shifted = TimeShift(max_shift=0.1)(x)
    assert shifted.shape == x.shape and torch.allclose(shifted.pow(2).sum(), x.pow(2).sum())

    noisy = AddNoise(snr_db=(10, 10))(x)
    snr = 10 * torch.log10(x.pow(2).sum(-1) / (noisy - x).pow(2).sum(-1))
    assert torch.allclose(snr, torch.full_like(snr, 10.0), atol=1e-3)

    write_clip(tmp_path / "noise" / "hum.wav", seconds=0.05, freq=50)
    mixed = BackgroundNoise(tmp_path / "noise", sample_rate=RATE, snr_db=(5, 5))(x)
    snr = 10 * torch.log10(x.pow(2).sum(-1) / (mixed - x).pow(2).sum(-1))
    assert torch.allclose(snr, torch.full_like(snr, 5.0), atol=1e-3)

    for module in (SpeedPerturb(sample_rate=RATE, factors=(0.8, 1.25)),
                   PitchShift(sample_rate=RATE, n_steps=(2, 2), n_fft=256)):  # fmt: skip
        out = module(x)
        assert out.shape == x.shape and not torch.allclose(out, x)

    spec = torch.ones(4, 1, 16, 40)
    masked = SpecAugment(time_mask=10, freq_mask=4, n_time_masks=1, n_freq_masks=1)(spec)
    assert masked.shape == spec.shape and (masked == 0).any() and (masked == 1).any()

    y = torch.tensor([0, 1, 2, 0])
    mx, my = Mixup(alpha=1.0, num_classes=3)(x, y)
    assert my.shape == (4, 3) and torch.allclose(my.sum(1), torch.ones(4))

    images = torch.rand(3, 1, 12, 12)
    assert (
        ImageAugment(flip=True, rotation=15, shift=0.1, zoom=0.1, shear=5, invert=0.5)(images).shape
        == images.shape
    )


class Recorder(L.LightningModule):
    """Keeps every batch each stage received; trains nothing of substance."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))
        self.seen = {"train": [], "val": [], "test": []}

    def _keep(self, stage, batch):
        x = batch[0].windows if isinstance(batch[0], ClipWindows) else batch[0]  # eval: windows
        self.seen[stage].append(x.clone())
        return (self.weight * x.float().mean()).sum()

    def training_step(self, batch, batch_idx):
        return self._keep("train", batch)

    def validation_step(self, batch, batch_idx):
        self._keep("val", batch)

    def test_step(self, batch, batch_idx):
        self._keep("test", batch)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _trainer() -> L.Trainer:
    return L.Trainer(
        max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
    )  # fmt: skip


def test_audio_datamodule_augments_only_the_training_split(folder):
    dm = AudioDataModule(
        folder, split="random", val_size=0.25, test_size=0.25, window=800, batch_size=4,
        augment=[Gain(min_db=20, max_db=20)],
    )  # fmt: skip
    assert dm.class_names == ["high", "low"] and dm.num_classes == 2 and dm.in_channels == 1
    assert dm.task == "multiclass" and len(dm.train_labels()) == 6
    model = Recorder()
    trainer = _trainer()
    trainer.fit(model, datamodule=dm)
    trainer.test(model, datamodule=dm, verbose=False)
    peak = {
        stage: max(b.abs().max().item() for b in batches) for stage, batches in model.seen.items()
    }
    assert peak["train"] > 2.5  # 0.3 amplitude clips boosted by +20 dB
    assert peak["val"] <= 0.31 and peak["test"] <= 0.31
    raw_val = torch.cat([x.windows for x, _ in dm.val_dataloader()])
    assert torch.equal(torch.cat(model.seen["val"]), raw_val)
    raw_test = torch.cat([x.windows for x, _ in dm.test_dataloader()])
    assert torch.equal(torch.cat(model.seen["test"]), raw_test)
    # val / test clips go through the input contract: padded at the end or cut into windows
    (x, y), clips = next(iter(dm.test_dataloader())), dm.test_set
    assert x.windows.shape[1:] == (1, 800) and len(x.counts) == len(y)
    first = clips.load(0)
    np.testing.assert_array_equal(
        x.windows[: x.counts[0]].numpy(), InputContract(window=800).apply(first.numpy())
    )


def test_audio_datamodule_with_cache_and_balanced_sampling(folder, tmp_path):
    dm = AudioDataModule(
        folder, split="random", window=800, batch_size=4, balanced=True,
        features=logmel(), cache_dir=tmp_path / "cache",
    )  # fmt: skip
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (4, 1, 16, 13) and y.dtype == torch.int64
    assert dm.class_weights().shape == (2,)


def test_audio_datamodule_old_keyword_fixed_length_warns_and_still_works(folder):
    """AudioDataModule(fixed_length=) was renamed window= (the input contract's name)."""
    with pytest.warns(DeprecationWarning, match=r"AudioDataModule\(fixed_length=\) is deprecat"):
        dm = AudioDataModule(folder, split="random", fixed_length=800, batch_size=4)
    assert dm.window == 800 and dm.hparams["window"] == 800 and "fixed_length" not in dm.hparams
    with pytest.warns(DeprecationWarning, match="use window="):
        assert dm.fixed_length == 800
    x, _ = next(iter(dm.train_dataloader()))
    assert x.shape == (4, 1, 800)
    with pytest.raises(ConfigError, match="window=0"):
        AudioDataModule(folder, window=0)


def test_spec_augment_lives_in_features_and_data_augment_re_exports_it():
    from audioconv.data import augment
    from audioconv.features import transforms

    assert augment.SpecAugment is transforms.SpecAugment  # one class, not a copy
    assert transforms.SpecAugment.__module__ == "audioconv.features.transforms"


def test_image_datamodule_splits_digits_and_augments_training_only():
    dm = ImageDataModule(
        load_digits_images(), val_size=0.1, test_size=0.1, batch_size=64,
        augment=ImageAugment(flip=False, rotation=0, shift=0.0, zoom=0.0, invert=1.0),
    )  # fmt: skip
    dm.setup()
    sizes = [len(dm.train_set), len(dm.val_set), len(dm.test_set)]
    assert sum(sizes) == 1797 and 150 < sizes[1] < 210 and 150 < sizes[2] < 210
    assert dm.num_classes == 10 and dm.in_channels == 1
    x, y = next(iter(dm.val_dataloader()))
    assert torch.equal(dm.on_after_batch_transfer((x, y), 0)[0], x)  # no trainer: untouched


def test_copy_paste_pastes_a_span_of_a_same_class_clip_and_keeps_the_labels():
    """Each clip is constant at its own index, so a pasted sample tells whose it is."""
    torch.manual_seed(0)
    batch, time = 64, 200
    y = torch.arange(batch) % 8
    y[-1] = 99  # a class alone in the batch: nothing to paste from
    x = torch.arange(batch, dtype=torch.float32)[:, None, None].expand(batch, 2, time).clone()
    out, labels = CopyPaste(p=0.5, part=(0.3, 0.7))(x, y)
    assert torch.equal(labels, y) and out.shape == x.shape
    assert torch.equal(out[:, 0], out[:, 1])  # one span for all channels of a clip
    pasted = 0
    for i in range(batch):
        foreign = out[i, 0] != i
        if not foreign.any():
            continue
        pasted += 1
        sources = out[i, 0][foreign].unique().long()
        assert (
            len(sources) == 1 and y[sources[0]] == y[i] and sources[0] != i
        )  # one clip, same class
        n = int(foreign.sum())
        assert 0.3 * time - 1 <= n <= 0.7 * time + 1
        assert bool(foreign[:n].all()) or bool(foreign[-n:].all())  # at the start or the end
    assert 15 < pasted < 50  # p = 0.5 of 63 clips that have a partner
    assert torch.equal(out[-1], x[-1])
    binary = torch.tensor([0.0, 1.0, 0.0, 1.0])  # binary labels are 0 / 1 floats
    assert torch.equal(CopyPaste(p=1.0)(x[:4], binary)[1], binary)
    with pytest.raises(ConfigError, match="single-label"):
        CopyPaste()(x[:4], torch.eye(4))  # multi-hot or mixed labels
    for bad in ({"p": 0.0}, {"p": 1.5}, {"part": (0.5, 0.2)}, {"part": (0.3, 1.0)}):
        with pytest.raises(ConfigError):
            CopyPaste(**bad)
