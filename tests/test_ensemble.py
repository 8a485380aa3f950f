"""Deep ensembles (``Classifier(members=K)``, ``--members K``): each member trains on its own loss,
the model predicts by the members' mean probability, and a run's ensemble gives, after export,
the answers its report promised."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from audioconv.errors import ConfigError
from audioconv.models import create
from audioconv.tasks import Classifier, Ensemble, combine_logits, load_classifier
from audioconv.tasks.heads import task_loss, task_output

TARGETS = {
    "multiclass": (4, lambda: torch.tensor([0, 3, 1, 2, 3])),
    "binary": (2, lambda: torch.tensor([0, 1, 1, 0, 1])),
    "multilabel": (3, lambda: torch.eye(3)[[0, 2, 1, 0, 2]]),
    "regression": (1, lambda: torch.tensor([0.5, -1.0, 2.0, 0.0, 1.5])),
}  # fmt: skip


@pytest.mark.parametrize("task", ["multiclass", "binary", "multilabel"])
def test_combined_logits_give_the_members_mean_probability(task):
    logits = torch.randn(
        3, 6, 1 if task == "binary" else 4, generator=torch.Generator().manual_seed(0)
    )
    logits[0, 0] = 40.0  # a saturated member stays finite
    mean = torch.stack([task_output(m, task=task) for m in logits]).mean(0)
    combined = combine_logits(logits, task=task)
    assert torch.isfinite(combined).all()
    torch.testing.assert_close(task_output(combined, task=task), mean)


@pytest.mark.parametrize("task", list(TARGETS))
def test_members_train_on_their_own_losses_and_predict_their_mean(task):
    torch.manual_seed(0)
    n, target = TARGETS[task]
    model = Classifier(
        create("fcn", dims=1, in_channels=1, num_classes=n), task=task, num_classes=n, members=3
    )
    members = model.backbone.members
    assert isinstance(model.backbone, Ensemble) and len(members) == 3
    first = [p.detach().clone() for p in members[0].parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(first, members[1].parameters()))  # own init
    x, y = torch.randn(5, 1, 40), target()
    model.train()
    logits = model(x)
    assert logits.shape == (3, 5, 1 if task in ("binary", "regression") else n)
    loss, _, _ = model._losses(logits, y)
    own = [task_loss(member, y, task=task) for member in logits]
    torch.testing.assert_close(loss, torch.stack(own).mean())
    loss.backward()
    for member in members:
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in member.parameters())
    probabilities = model.predict_proba(x)
    assert model.training  # predict_proba restores the mode
    model.eval()
    with torch.no_grad():  # a linear regression output: the mean prediction
        each = torch.stack([task_output(member(x), task=task) for member in members])
    torch.testing.assert_close(probabilities, each.mean(0))


def test_members_option_is_checked():
    backbone = create("fcn", dims=1, in_channels=1, num_classes=3)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ConfigError, match=rf"members={bad!r} must be a positive integer"):
            Classifier(backbone, task="multiclass", num_classes=3, members=bad)
    plain = nn.Sequential(nn.Flatten(), nn.Linear(40, 3))
    plain.reset_classifier = lambda n: None
    with pytest.raises(ConfigError, match="members=2 builds the other members from"):
        Classifier(plain, task="multiclass", num_classes=3, members=2)
    with pytest.raises(ConfigError, match="num_classes must be > 0"):
        Classifier(backbone, task="multiclass", num_classes=3, members=2).backbone.reset_classifier(
            0
        )


@pytest.mark.xdist_group("recipes")
def test_ensemble_from_files_to_onnx_gives_the_runs_answers(
    fit_tiny_resnet, onnx_answers_as_promised, tmp_path, capsys
):
    """A user's path: clips on disk -> ``audioconv fit --members 2`` -> the checkpoint rebuilds
    both members from plain values -> ONNX export -> ``audioconv predict``: the labels and
    probabilities the run's predictions.csv promised."""
    data, run = fit_tiny_resnet({"widths": [4, 8, 8, 8]}, "--members", "2")
    assert "model: 2 x resnet18, " in capsys.readouterr().out  # the count covers both members
    checkpoint = run / "checkpoints" / "best.ckpt"
    loaded = load_classifier(checkpoint)
    assert isinstance(loaded.backbone, Ensemble) and len(loaded.backbone.members) == 2
    onnx_answers_as_promised(run, data, tmp_path)
