"""Decode once: clips are decoded on first use, then served from memory within the budget."""

from __future__ import annotations

import pytest
import torch

import audioconv.data.audio as audio_module
from audioconv.data import AudioFolder
from audioconv.data.decoded import keep_decoded
from audioconv.errors import ConfigError
from audioconv.features import FixedLength
from audioconv.io import save_audio


@pytest.fixture
def folder(tmp_path):
    for k, name in enumerate(("dog/a.wav", "dog/b.wav", "cat/c.wav")):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        save_audio(tmp_path / name, 0.1 * torch.randn(1, 800 + 100 * k), 8000)
    return tmp_path


def _counting(monkeypatch):
    calls = []
    real = audio_module.load_audio

    def load_audio(path, **kwargs):
        calls.append(str(path))
        return real(path, **kwargs)

    monkeypatch.setattr(audio_module, "load_audio", load_audio)
    return calls


def test_each_clip_is_decoded_once_and_subsets_share_the_store(folder, monkeypatch):
    calls = _counting(monkeypatch)
    dataset = keep_decoded(AudioFolder(folder), max_bytes=1 << 20)
    first = [dataset[i][0] for i in range(3)]
    train = dataset.subset([0, 2], transform=FixedLength(400, crop="random"))
    for _ in range(3):  # three "epochs" of random crops
        crops = [train[i][0] for i in range(2)]
    assert len(calls) == 3  # decoded once each, whatever the epochs and subsets
    assert all(crop.shape == (1, 400) for crop in crops)
    assert torch.equal(dataset[1][0], first[1])
    dataset[0][0].zero_()  # callers get copies: the store is never modified
    assert torch.equal(dataset[0][0], first[0])
    assert dataset.decoded_bytes == sum(w.numel() * 4 for w in first)


def test_clips_past_the_budget_are_decoded_every_time(folder, monkeypatch):
    calls = _counting(monkeypatch)
    dataset = keep_decoded(AudioFolder(folder), max_bytes=4 * 1000)  # room for one clip
    for _ in range(2):
        for i in range(3):
            dataset[i]
    assert dataset.decoded_bytes <= 4000
    assert len(calls) == 5  # one clip kept, two decoded both times
    off = keep_decoded(AudioFolder(folder), max_bytes=0)
    off[0], off[0]
    assert off.decoded_bytes == 0


def test_bad_budget_is_refused(folder):
    with pytest.raises(ConfigError, match="max_bytes=-1"):
        keep_decoded(AudioFolder(folder), max_bytes=-1)
