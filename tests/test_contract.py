"""The input contract: plain values, one rule for numpy and torch, no silent crop, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audioconv.contract import (
    InputContract,
    clip_means,
    decide,
    fit_length,
    is_positive,
    stretch,
    top_k,
    window_starts,
)
from audioconv.errors import ConfigError, InputError
from audioconv.features import FixedLength


def test_plain_values_round_trip_and_legacy_hparams():
    contract = InputContract(sample_rate=16000, channels=1, window=16000, hop=4000, threshold=0.3)
    data = contract.to_dict()
    assert all(isinstance(v, (int, float, str, type(None))) for v in data.values())
    assert InputContract.from_dict(data) == contract
    assert InputContract.from_hparams({"input_contract": data}) == contract
    legacy = {"input_kind": "audio", "input_shape": [1, 8000], "sample_rate": 8000}
    old = InputContract.from_hparams(legacy)  # a checkpoint from before contracts
    assert (old.window, old.channels, old.pad, old.hop_samples, old.threshold) == (
        8000,
        1,
        "right",
        4000,
        0.5,
    )
    image = InputContract.from_input(input_kind="image", input_shape=(3, 32, 32), sample_rate=None)
    assert image.input_shape == (3, 32, 32) and image.window is None
    with pytest.raises(ConfigError, match=r"unknown fields \['colour'\]"):
        InputContract.from_dict({**data, "colour": "red"})
    with pytest.raises(ConfigError, match="hop=9 exceeds window=8"):
        InputContract(window=8, hop=9)
    with pytest.raises(ConfigError, match="threshold=1.0"):
        contract.replace(threshold=1.0)


@pytest.mark.parametrize("total", [1, 7, 8, 9, 12, 13, 31])
def test_windows_cover_every_sample_and_match_numpy_and_torch(total):
    contract = InputContract(window=8)  # hop 4
    x = np.arange(1, total + 1, dtype=np.float32)
    windows = contract.apply(x)
    starts = window_starts(total, 8, 4)
    assert windows.shape == (len(starts), 1, 8)
    covered = np.zeros(total, bool)
    for start, window in zip(starts, windows):
        kept = window[0][window[0] > 0]  # padding is zeros, samples are 1..total
        np.testing.assert_array_equal(kept, x[start : start + len(kept)])
        covered[start : start + len(kept)] = True
    assert covered.all()  # nothing cropped away
    if total < 8:  # padded at the end, as FixedLength pads training clips
        np.testing.assert_array_equal(windows[0, 0], FixedLength(8)(torch.from_numpy(x)).numpy())
    assert torch.equal(contract.apply(torch.from_numpy(x)), torch.from_numpy(windows))


def test_mixdown_resample_and_center_pad():
    contract = InputContract(sample_rate=8000, window=10, pad="center", pad_value=0.0)
    stereo = np.stack([np.ones(4), 3 * np.ones(4)]).astype(np.float32)
    (window,) = contract.apply(stereo)
    np.testing.assert_array_equal(window[0], [0, 0, 0, 2, 2, 2, 2, 0, 0, 0])
    assert contract.apply(np.zeros(40, np.float32), sample_rate=16000).shape == (3, 1, 10)
    strict = InputContract(channels=2, mixdown="none", window=4)
    with pytest.raises(InputError, match="rec.wav: 3 channels, the model takes 2"):
        strict.apply(np.zeros((3, 4), np.float32), name="rec.wav")


@pytest.mark.parametrize(
    ("x", "match"),
    [
        (np.zeros(0, np.float32), "clip7: empty input"),
        (np.zeros((1, 2, 3), np.float32), r"clip7: array of shape \(1, 2, 3\)"),
        (np.arange(5, dtype=np.int32), "clip7: samples of dtype int32"),
        (np.array([0.0, np.inf], np.float32), "clip7: the samples contain NaN or infinity"),
        (torch.tensor([0.0, float("nan")]), "clip7: the samples contain NaN"),
        ("not samples", "clip7: samples of dtype <U11"),
    ],
)
def test_bad_inputs_are_refused_naming_them(x, match):
    with pytest.raises(InputError, match=match):
        InputContract(window=4).apply(x, name="clip7")


def test_fit_length_is_the_crop_and_pad_of_training():
    x = torch.arange(10.0)
    assert torch.equal(fit_length(x, 4, start=3), x[3:7])
    assert torch.equal(FixedLength(4, crop="center").eval()(x), x[3:7])
    np.testing.assert_array_equal(fit_length(np.ones(2), 4, pad_value=-1.0), [1, 1, -1, -1])


@pytest.mark.parametrize("total", [1, 7, 29, 40])
def test_resample_contract_stretches_every_input_to_the_window(total):
    """``unequal="resample"``: one window per input, any length, first and last samples kept;
    numpy (deployment) and torch (training) agree."""
    contract = InputContract(input_kind="sensor", channels=2, window=29, unequal="resample")
    assert InputContract.from_dict(contract.to_dict()) == contract
    x = np.random.default_rng(total).standard_normal((2, total)).astype(np.float32)
    out = contract.apply(x)
    assert out.shape == (1, 2, 29) and out.dtype == np.float32
    np.testing.assert_allclose(out[0][:, [0, -1]], x[:, [0, -1]], rtol=1e-6)
    np.testing.assert_allclose(out, contract.apply(torch.from_numpy(x)).numpy(), atol=1e-5)
    line = stretch(np.arange(total, dtype=np.float64), 2 * total - 1)  # halfway points
    np.testing.assert_allclose(line, np.arange(2 * total - 1) / 2 if total > 1 else 0.0)
    with pytest.raises(ConfigError, match="needs a window"):
        InputContract(input_kind="sensor", unequal="resample")
    with pytest.raises(ConfigError, match="unequal='stretch'"):
        InputContract(window=4, unequal="stretch")


def test_missing_values_are_zeros_only_for_a_model_trained_so():
    x = np.array([[0.5, np.nan, -1.0, np.nan]], dtype=np.float32)
    zero = InputContract(input_kind="sensor", window=4, nan="zero")
    np.testing.assert_array_equal(zero.apply(x), [[[0.5, 0.0, -1.0, 0.0]]])
    np.testing.assert_array_equal(zero.apply(torch.from_numpy(x)).numpy(), zero.apply(x))
    with pytest.raises(InputError, match="series 7: the samples contain NaN"):
        InputContract(input_kind="sensor", window=4).apply(x, name="series 7")
    with pytest.raises(InputError, match="infinity"):  # a missing value is NaN, not infinity
        zero.apply(np.array([1.0, np.inf], dtype=np.float32))
    # a sensor log's --nan-policy rules: linear in time (ends held), or the time steps dropped
    interpolate = InputContract(input_kind="sensor", window=4, nan="interpolate")
    np.testing.assert_allclose(interpolate.apply(x), [[[0.5, -0.25, -1.0, -1.0]]])
    drop = InputContract(input_kind="sensor", window=2, nan="drop")
    np.testing.assert_array_equal(drop.apply(x), [[[0.5, -1.0]]])
    with pytest.raises(InputError, match="every time step holds a missing value"):
        drop.apply(np.full((1, 3), np.nan, dtype=np.float32))
    with pytest.raises(ConfigError, match="nan='mean'"):
        InputContract(nan="mean")


def test_one_decision_rule():
    assert is_positive(np.array([0.49, 0.5, 0.51]), 0.5).tolist() == [False, True, True]
    assert decide(np.array(0.3), task="binary", class_names=["n", "y"], threshold=0.3)[0] == "y"
    assert decide(np.array([0.9, 0.2, 0.6]), task="multilabel", class_names=list("abc")) == (
        "a;c",
        0.9,
    )
    assert top_k(np.array([0.1, 0.6, 0.3]), 2, task="multiclass") == [("1", 0.6), ("2", 0.3)]
    assert top_k(np.array(0.8), 5, task="binary", class_names=["n", "y"]) == [
        ("y", 0.8),
        ("n", pytest.approx(0.2)),
    ]


def test_clip_means_average_each_clips_windows():
    outputs = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [1.0, 0.0], [0.0, 1.0], [1, 0]])
    means = clip_means(outputs, torch.tensor([2, 1, 3]))
    torch.testing.assert_close(means, torch.tensor([[0.5, 0.5], [0.5, 0.5], [2 / 3, 1 / 3]]))


def test_sensor_column_names_round_trip_and_are_optional():
    contract = InputContract(
        input_kind="sensor", sample_rate=50.0, channels=3, window=100,
        channel_names=["acc_x", "acc_y", "acc_z"], time_column="time_s", stream_column="rec",
    )  # fmt: skip
    assert contract.channel_names == ("acc_x", "acc_y", "acc_z")  # a list is kept as a tuple
    plain = contract.to_dict()
    assert plain["channel_names"] == ["acc_x", "acc_y", "acc_z"]
    assert InputContract.from_dict(plain) == contract
    del plain["channel_names"], plain["time_column"], plain["stream_column"]  # an older model
    old = InputContract.from_dict(plain)
    assert (old.channel_names, old.time_column, old.stream_column) == (None, None, None)
    for names, match in (
        (["acc_x", "acc_y"], "must name each of the 3 channels once"),
        (["acc_x", "acc_x", "acc_y"], "must name each of the 3 channels once"),
        ("xyz", "a sequence of column names"),
        (["time_s", "acc_y", "acc_z"], "include the time or stream column"),
    ):
        with pytest.raises(ConfigError, match=match):
            contract.replace(channel_names=names)
