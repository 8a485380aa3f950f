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
    """Balanced loss weights, float32 ``(num_classes,)``.

    ``labels`` ``(n,)`` class indices: ``n / (num_classes * count[c])`` (scikit-learn's
    ``compute_class_weight("balanced")``), for ``CrossEntropyLoss(weight=...)``.
    ``labels`` ``(n, k)`` multi-hot: ``negatives / positives`` per tag, for
    ``BCEWithLogitsLoss(pos_weight=...)``. A class without examples is an error (its weight
    would be infinite).
    """
    labels = np.asarray(labels)
    if labels.ndim == 2:
        positives = labels.sum(axis=0)
        if (positives == 0).any():
            raise DatasetError(f"tag(s) {np.flatnonzero(positives == 0).tolist()} have no examples")
        return torch.as_tensor((len(labels) - positives) / positives, dtype=torch.float32)
    num_classes = int(labels.max()) + 1 if num_classes is None else num_classes
    classes = np.arange(num_classes)
    absent = np.setdiff1d(classes, labels)
    if absent.size:
        raise DatasetError(
            f"class(es) {absent.tolist()} have no training examples, so a balanced weight is "
            "undefined; add examples or drop the class"
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
