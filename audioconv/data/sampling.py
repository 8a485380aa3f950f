"""Class imbalance: class weights for the loss, and a sampler that draws classes evenly.

>>> import numpy as np
>>> class_weights(np.array([0, 0, 0, 1]))   # scikit-learn's "balanced": n / (k * count)
tensor([0.6667, 2.0000])
>>> sampler = balanced_sampler(np.array([0, 0, 0, 1]))
>>> sampler.weights.tolist()
[0.3333333333333333, 0.3333333333333333, 0.3333333333333333, 1.0]
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils.class_weight import compute_class_weight
from torch.utils.data import WeightedRandomSampler

from audioconv.errors import ConfigError, DatasetError

__all__ = ["balanced_sampler", "class_weights"]


def class_weights(labels: np.ndarray, *, num_classes: int | None = None) -> torch.Tensor:
    """Balanced loss weights, float32 ``(num_classes,)``: the one class-weight rule.

    ``labels`` ``(n,)`` class indices: ``n / (num_classes * count[c])`` (scikit-learn's
    ``compute_class_weight("balanced")``), for ``CrossEntropyLoss(weight=...)`` (binary:
    ``(w_neg, w_pos)``). ``labels`` ``(n, k)`` multi-hot: ``negatives / positives`` per tag, for
    ``BCEWithLogitsLoss(pos_weight=...)``. A class without examples (a tag present in every row)
    is a :class:`DatasetError` naming it: its weight would be infinite (zero).
    """
    labels = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else labels
    labels = np.asarray(labels)
    if labels.ndim == 2 and num_classes is not None and labels.shape[1] not in (1, num_classes):
        raise ConfigError(
            f"multi-hot labels have shape {labels.shape}; expected (n, {num_classes}) rows"
        )
    if labels.ndim == 2 and labels.shape[1] > 1:
        positives = labels.sum(axis=0)
        bad = np.flatnonzero((positives == 0) | (positives == len(labels))).tolist()
        if bad:
            raise DatasetError(
                f"classes {bad} are never (or always) present in the training labels "
                f"(positives per class {positives.tolist()}), so a balanced weight is undefined; "
                "add examples, fix the split or pass explicit class_weights"
            )
        return torch.as_tensor((len(labels) - positives) / positives, dtype=torch.float32)
    labels = labels.reshape(-1)  # (n, 1) -> (n,)
    num_classes = int(labels.max()) + 1 if num_classes is None else num_classes
    classes = np.arange(num_classes)
    absent = np.setdiff1d(classes, labels)
    if absent.size:
        raise DatasetError(
            f"classes {absent.tolist()} have no training examples, so a balanced weight is "
            "undefined; add examples, fix the split or pass explicit class_weights"
        )
    weights = compute_class_weight("balanced", classes=classes, y=labels)
    return torch.as_tensor(weights, dtype=torch.float32)


def balanced_sampler(
    labels: np.ndarray,
    *,
    num_samples: int | None = None,
    generator: torch.Generator | None = None,
) -> WeightedRandomSampler:
    """A ``WeightedRandomSampler`` (with replacement) that draws every class equally often.

    Each example gets weight ``1 / count[its class]``; ``num_samples`` defaults to the dataset
    size (one epoch). Multi-label ``(n, k)`` labels use the rarest tag of each example.
    """
    labels = np.asarray(labels)
    if labels.ndim == 2:
        counts = labels.sum(axis=0)
        rarity = np.where(labels > 0, 1.0 / np.maximum(counts, 1), 0.0)
        weights = rarity.max(axis=1)
        weights[weights == 0] = 1.0 / len(labels)
    elif labels.ndim == 1:
        counts = np.bincount(labels)
        weights = 1.0 / counts[labels]
    else:
        raise ConfigError(f"labels has shape {labels.shape}; pass (n,) or (n, k)")
    return WeightedRandomSampler(
        torch.as_tensor(weights, dtype=torch.float64),
        num_samples=len(labels) if num_samples is None else num_samples,
        replacement=True,
        generator=generator,
    )
