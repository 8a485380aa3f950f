"""Transfer learning: a backbone trained on one synthetic task, fine-tuned on another with a new
head and a frozen backbone; the frozen weights (and batch-norm statistics) stay bit-identical."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from audioconv.errors import CheckpointError, ConfigError
from audioconv.models import create
from audioconv.tasks import Classifier
from audioconv.transfer import freeze, load_backbone, param_groups, stages, unfreeze


def tones(freqs: list[float], per_class: int, seed: int) -> TensorDataset:
    """``(n, 1, 256)`` noisy sines at 8 kHz, one class per frequency."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(256) / 8000
    xs, ys = [], []
    for label, freq in enumerate(freqs):
        phase = torch.rand(per_class, 1, 1, generator=g) * 6.28
        xs.append(
            torch.sin(2 * torch.pi * freq * t + phase)
            + 0.1 * torch.randn(per_class, 1, 256, generator=g)
        )
        ys.append(torch.full((per_class,), label))
    return TensorDataset(torch.cat(xs), torch.cat(ys))


def fit(model: L.LightningModule, data: TensorDataset, epochs: int) -> L.Trainer:
    trainer = L.Trainer(
        max_epochs=epochs, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(model, DataLoader(data, batch_size=16, shuffle=True))
    return trainer


def backbone() -> torch.nn.Module:
    return create("conv1d", dims=1, in_channels=1, num_classes=3)


def test_fine_tune_with_frozen_backbone_keeps_it_bit_identical(tmp_path):
    L.seed_everything(0, verbose=False)
    source = Classifier(backbone(), task="multiclass", num_classes=3, lr=3e-3)
    trainer = fit(source, tones([200, 800, 2000], 16, seed=0), epochs=2)
    ckpt = tmp_path / "source.ckpt"
    trainer.save_checkpoint(ckpt)

    target = create("conv1d", dims=1, in_channels=1, num_classes=2)
    kept = load_backbone(target, ckpt)
    assert kept == ["head.fc.weight", "head.fc.bias"]  # the new head keeps its own init
    for name, tensor in target.state_dict().items():
        if not name.startswith("head.fc."):
            assert torch.equal(tensor, source.backbone.state_dict()[name]), name

    frozen = freeze(target)
    assert frozen and all(not n.startswith("head.fc.") for n in frozen)
    before = {k: v.clone() for k, v in target.state_dict().items() if not k.startswith("head.fc.")}
    head_before = target.head.fc.weight.detach().clone()
    task = Classifier(target, task="multiclass", num_classes=2, lr=1e-2)
    fit(task, tones([500, 1500], 16, seed=1), epochs=2)

    after = target.state_dict()
    for name, tensor in before.items():
        assert torch.equal(after[name], tensor), f"{name} changed although frozen"
    assert not torch.equal(target.head.fc.weight, head_before)  # the head did train

    unfreeze(target)
    assert all(p.requires_grad for p in target.parameters())


def test_freeze_by_stage_and_param_groups():
    model = backbone()
    names = stages(model)
    assert names[0] == "features.0" and len(names) >= 2
    freeze(model, stages=1)
    first = dict(model.named_modules())["features.0"]
    assert not any(p.requires_grad for p in first.parameters())
    later = dict(model.named_modules())[names[1]]
    assert all(p.requires_grad for p in later.parameters())
    groups = param_groups(model, backbone_lr=1e-4, head_lr=1e-3)
    assert [g["lr"] for g in groups] == [1e-4, 1e-3]
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in model.head.fc.parameters()}
    torch.optim.AdamW(groups)  # accepted by an optimizer as is
    with pytest.raises(ConfigError, match="unknown stage"):
        freeze(model, stages=["features.99"])


def test_load_backbone_refuses_another_architecture(tmp_path):
    other = create("fcn", dims=1, in_channels=1, num_classes=3)
    path = tmp_path / "fcn.pt"
    torch.save(other.state_dict(), path)
    with pytest.raises(CheckpointError):
        load_backbone(backbone(), path)
    with pytest.raises(CheckpointError, match="no such"):
        load_backbone(backbone(), tmp_path / "missing.ckpt")
