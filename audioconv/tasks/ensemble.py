"""A deep ensemble as one backbone: ``K`` copies of a model, each from its own initialisation,
trained side by side on the same batches (each on its own loss), predicting by the mean of their
probabilities.

A :class:`~audioconv.tasks.Classifier` with ``members=K`` builds it; the checkpoint stores
``members`` and the one backbone config, so :func:`~audioconv.tasks.load_classifier` rebuilds it
from registered names. In eval mode :class:`Ensemble` returns *combined logits* ``(batch, width)``
whose task output (softmax / sigmoid) is the members' mean probability, so test, predict, export
(ONNX / TorchScript) and streaming see an ordinary model. In training mode it returns the
members' logits ``(members, batch, width)`` and the Classifier averages the members' losses:
trained on the loss of the averaged output instead, the members would co-adapt into one
larger model and lose what makes an ensemble generalise (Lakshminarayanan et al. 2017).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from audioconv.errors import ConfigError


def combine_logits(logits: torch.Tensor, *, task: str) -> torch.Tensor:
    """Members' logits ``(members, batch, width)`` -> logits ``(batch, width)`` of their mean.

    multiclass: ``log(mean softmax)``, so ``softmax`` of the result is the mean probability;
    binary / multilabel: ``logit(mean sigmoid)``; regression: the mean logit (the mean prediction
    for a ``linear`` output; before the activation for ``sigmoid`` / ``tanh``).

    >>> members = torch.tensor([[[2.0, 0.0]], [[0.0, 2.0]]])  # (2 members, 1 clip, 2 classes)
    >>> torch.softmax(combine_logits(members, task="multiclass"), -1)
    tensor([[0.5000, 0.5000]])
    """
    log_k = math.log(logits.shape[0])
    if task == "multiclass":
        return torch.logsumexp(torch.log_softmax(logits, dim=-1), dim=0) - log_k
    if task in ("binary", "multilabel"):
        log_p = torch.logsumexp(nn.functional.logsigmoid(logits), dim=0) - log_k
        log_not_p = torch.logsumexp(nn.functional.logsigmoid(-logits), dim=0) - log_k
        return log_p - log_not_p
    return logits.mean(dim=0)


class Ensemble(nn.Module):
    """``members`` backbones of one architecture -> ``(members, batch, width)`` logits while
    training, combined ``(batch, width)`` logits (:func:`combine_logits`) in eval mode.

    >>> from audioconv.models import create
    >>> nets = [create("fcn", dims=1, in_channels=1, num_classes=3) for _ in range(2)]
    >>> ensemble = Ensemble(nets, task="multiclass").eval()
    >>> ensemble(torch.zeros(4, 1, 32)).shape
    torch.Size([4, 3])
    """

    def __init__(self, members: list[nn.Module], *, task: str):
        super().__init__()
        if len(members) < 2:
            raise ConfigError(f"an ensemble needs at least 2 members, got {len(members)}")
        self.members = nn.ModuleList(members)
        self.task = task

    def reset_classifier(self, num_classes: int) -> None:
        """A new final layer of ``num_classes`` outputs in every member."""
        if num_classes == 0:
            raise ConfigError("an ensemble combines its members' logits: num_classes must be > 0")
        for member in self.members:
            member.reset_classifier(num_classes)

    def combine(self, logits: torch.Tensor) -> torch.Tensor:
        """``(members, batch, width)`` -> ``(batch, width)``, see :func:`combine_logits`."""
        return combine_logits(logits, task=self.task)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.stack([member(x) for member in self.members])  # (members, batch, width)
        return logits if self.training else self.combine(logits)
