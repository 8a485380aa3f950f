"""Splits never leak a group; predefined folds / lists are respected; class balance helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from audioconv.data import (
    assign_splits,
    balanced_sampler,
    class_weights,
    folds_to_splits,
    resolve_splits,
)
from audioconv.errors import ConfigError, DatasetError


@st.composite
def grouped_labels(draw):
    """Random groups (speakers) of random sizes, each group with one label or mixed labels."""
    n_classes = draw(st.integers(2, 4))
    n_groups = draw(st.integers(12, 40))
    mixed = draw(st.booleans())
    labels, groups = [], []
    for g in range(n_groups):
        size = draw(st.integers(1, 5))
        label = draw(st.integers(0, n_classes - 1))
        for _ in range(size):
            labels.append(draw(st.integers(0, n_classes - 1)) if mixed else label)
            groups.append(f"speaker{g}")
    return np.array(labels), np.array(groups), draw(st.integers(0, 2**16))


@settings(max_examples=40, deadline=None)
@given(grouped_labels())
def test_group_aware_split_never_puts_a_group_in_two_splits(case):
    labels, groups, seed = case
    split = assign_splits(labels, groups=groups, val_size=0.2, test_size=0.2, seed=seed)
    for group in np.unique(groups):
        assert len(set(split[groups == group])) == 1, f"{group} is in {set(split[groups == group])}"
    assert (split == "train").any() and (split == "test").any() and (split == "val").any()


def test_group_aware_split_keeps_class_proportions_roughly():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(200), 3)  # 200 speakers, 3 clips each
    labels = np.repeat(rng.choice(3, size=200, p=[0.6, 0.3, 0.1]), 3)
    split = assign_splits(labels, groups=groups, val_size=0.2, test_size=0.2, seed=1)
    overall = np.bincount(labels, minlength=3) / len(labels)
    for name in ("train", "val", "test"):
        part = labels[split == name]
        assert abs(len(part) / len(labels) - {"train": 0.6, "val": 0.2, "test": 0.2}[name]) < 0.05
        assert np.abs(np.bincount(part, minlength=3) / len(part) - overall).max() < 0.05


def test_stratified_split_without_groups():
    labels = np.repeat([0, 1], [80, 20])
    split = assign_splits(labels, val_size=0.1, test_size=0.2, seed=0)
    assert (split == "test").sum() == 20 and labels[split == "test"].sum() == 4
    assert (split == "val").sum() == 10 and labels[split == "val"].sum() == 2


def test_folds_and_predefined_splits_are_respected():
    folds = np.tile([1, 2, 3, 4, 5], 4)
    split = folds_to_splits(folds, test_fold=2, val_fold=5)
    assert set(folds[split == "test"]) == {2} and set(folds[split == "val"]) == {5}
    with pytest.raises(ConfigError, match="test_fold=7"):
        folds_to_splits(folds, test_fold=7)

    manifest = pd.DataFrame(
        {"split": ["train"] * 16 + ["test"] * 4, "group": np.repeat(list("abcdefghij"), 2)}
    )
    labels = np.tile([0, 1], 10)
    result = resolve_splits(manifest, labels, val_size=0.2, seed=0)
    assert (result[16:] == "test").all()  # the dataset's own test list is kept as is
    assert (result == "val").sum() > 0
    for group in "abcdefgh":
        assert len(set(result[manifest["group"] == group])) == 1


def test_class_weights_and_balanced_sampler():
    labels = np.array([0] * 90 + [1] * 10)
    weights = class_weights(labels)
    assert torch.allclose(weights, torch.tensor([100 / 180, 100 / 20]))
    sampler = balanced_sampler(labels, generator=torch.Generator().manual_seed(0))
    drawn = labels[list(sampler)]
    assert 0.4 < drawn.mean() < 0.6  # ~half the draws are the rare class
    with pytest.raises(DatasetError, match="no training examples"):
        class_weights(np.array([0, 0, 2]), num_classes=3)
    multi = np.array([[1, 0], [1, 0], [1, 1], [0, 0]])
    assert torch.allclose(class_weights(multi), torch.tensor([1 / 3, 3.0]))


def test_a_class_of_one_clip_keeps_the_others_stratified_and_is_named():
    """Three classes of 12 clips and a stray one: every 12-clip class is validated and tested
    at every seed (one clip used to switch stratification off for all), and the stray class
    is named as never measured."""
    labels = np.array(["high"] * 12 + ["low"] * 12 + ["noise"] * 12 + ["stray"])
    manifest = pd.DataFrame({"label": labels})
    encoded = np.unique(labels, return_inverse=True)[1]
    for seed in range(10):
        with pytest.warns(UserWarning, match=r"no test example.*'stray' \(1 in all\)"):
            split = resolve_splits(manifest, encoded, val_size=0.15, test_size=0.15, seed=seed)
        held = pd.crosstab(labels, split)
        assert (held.loc[["high", "low", "noise"], ["val", "test"]] >= 1).all().all(), seed
        assert split[labels == "stray"].tolist() == ["train"]
