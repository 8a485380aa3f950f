"""Tests of audioconv.windows: views against naive loops, leakage-safe splits, sensor logs."""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from audioconv.errors import ConfigError, SensorDataError
from audioconv.windows import (
    Standardizer,
    WindowDataset,
    fit_standardizer,
    forecast_targets,
    read_sensor_log,
    sliding_windows,
    split_streams,
    window_labels,
)

FAST = settings(max_examples=60, deadline=None)


# ---------------------------------------------------------------- naive reference loops


def naive_starts(length: int, size: int, step: int, pad: bool) -> list[int]:
    """Window starts by walking the stream; with pad, one more window holds uncovered samples."""
    starts, start = [], 0
    while start + size <= length:
        starts.append(start)
        start += step
    covered = starts[-1] + size if starts else 0
    if pad and start < length and covered < length:
        starts.append(start)
    return starts


def naive_windows(x: np.ndarray, size, step, axis, pad_value=None) -> np.ndarray:
    moved = np.moveaxis(x, axis, 0)
    out = []
    for start in naive_starts(len(moved), size, step, pad_value is not None):
        window = [
            moved[t] if t < len(moved) else np.full(moved.shape[1:], pad_value)
            for t in range(start, start + size)
        ]
        out.append(np.stack(window))
    return np.stack(out)


def naive_label(values: list, reduce: str):
    if reduce == "last":
        return values[-1]
    if reduce == "center":
        return values[len(values) // 2]
    if reduce == "any":
        return any(v != 0 for v in values)
    counts = Counter(values)
    top = max(counts.values())
    return min(v for v, c in counts.items() if c == top)


@st.composite
def window_case(draw):
    ndim = draw(st.integers(1, 3))
    shape = [draw(st.integers(1, 5)) for _ in range(ndim)]
    axis = draw(st.integers(-ndim, ndim - 1))
    shape[axis] = draw(st.integers(1, 40))
    size = draw(st.integers(1, 12))
    step = draw(st.integers(1, 12))
    pad = draw(st.booleans()) or size > shape[axis]
    return tuple(shape), axis, size, step, pad


# ---------------------------------------------------------------- sliding_windows


@FAST
@given(window_case())
def test_sliding_windows_match_naive_loop_and_share_memory(case):
    shape, axis, size, step, pad = case
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    pad_value = -1.0 if pad else None
    got = sliding_windows(x, size, step, axis=axis, drop_last=not pad, pad_value=pad_value)
    np.testing.assert_array_equal(got, naive_windows(x, size, step, axis, pad_value))
    if not pad:
        assert np.shares_memory(got, x)
        assert not got.flags.writeable  # overlapping windows cannot be changed behind one's back


@FAST
@given(window_case())
def test_torch_windows_equal_numpy_and_are_views(case):
    shape, axis, size, step, pad = case
    x = torch.arange(int(np.prod(shape)), dtype=torch.float32).reshape(shape)
    pad_value = -1.0 if pad else None
    got = sliding_windows(x, size, step, axis=axis, drop_last=not pad, pad_value=pad_value)
    assert isinstance(got, torch.Tensor)
    expected = naive_windows(x.numpy(), size, step, axis, pad_value)
    np.testing.assert_array_equal(got.numpy(), expected)
    if not pad:
        assert got.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
        assert got.data_ptr() == x.data_ptr()  # window 0 starts at the first sample


def test_seed_layout_rows_start_at_k_times_step_plus_one():
    stream = np.arange(1, 18)
    for size, step in [(4, 2), (5, 3), (3, 5), (17, 1)]:
        w = sliding_windows(stream, size, step)
        assert w[:, 0].tolist() == list(range(1, 18 - size + 1, step))
        assert (np.diff(w, axis=1) == 1).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"window": 0, "hop": 1}, "window=0"),
        ({"window": 3, "hop": -2}, "hop=-2"),
        ({"window": 2.5, "hop": 1}, "window=2.5"),
        ({"window": True, "hop": 1}, "window=True"),
        ({"window": 11, "hop": 1}, "window=11 exceeds the 10 samples"),
        ({"window": 3, "hop": 1, "pad_value": 0.0}, "drop_last=False"),
        ({"window": 3, "hop": 1, "drop_last": False}, "pad_value"),
        ({"window": 3, "hop": 1, "axis": 2}, "axis=2"),
    ],
)
def test_sliding_windows_errors_name_the_value(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        sliding_windows(np.zeros((10, 2)), **kwargs)


# ---------------------------------------------------------------- labels and forecasting


@FAST
@given(
    st.lists(st.integers(0, 3), min_size=1, max_size=40),
    st.integers(1, 10),
    st.integers(1, 10),
    st.sampled_from(["last", "majority", "center", "any"]),
    st.booleans(),
)
def test_window_labels_match_naive_loop(labels, size, step, reduce, drop_last):
    y = np.asarray(labels)
    if drop_last and size > len(y):
        with pytest.raises(ConfigError, match="exceeds"):
            window_labels(y, size, step, label_reduce=reduce)
        return
    got = window_labels(y, size, step, label_reduce=reduce, drop_last=drop_last)
    expected = [
        naive_label(labels[start : start + size], reduce)
        for start in naive_starts(len(y), size, step, pad=not drop_last)
    ]
    assert got.tolist() == expected
    # one label per window of the signal windowed the same way
    pad = None if drop_last else 0.0
    assert len(got) == len(sliding_windows(y, size, step, drop_last=drop_last, pad_value=pad))


def test_window_labels_majority_tie_goes_to_smallest_and_tensor_round_trip():
    y = torch.tensor([5, 5, 2, 2, 9, 9])
    assert window_labels(y, 4, 2, label_reduce="majority").tolist() == [2, 2]
    assert isinstance(window_labels(y, 4, 2), torch.Tensor)
    multi_hot = np.zeros((6, 3), dtype=int)
    multi_hot[4, 1] = 1
    assert window_labels(multi_hot, 3, 3, label_reduce="any").tolist() == [
        [False, False, False],
        [False, True, False],
    ]


@FAST
@given(
    st.integers(1, 60), st.integers(1, 8), st.integers(1, 8), st.integers(1, 5), st.integers(0, 4)
)
def test_forecast_targets_follow_their_inputs(length, size, step, horizon, gap):
    x = np.arange(length)
    if size + gap + horizon > length:
        with pytest.raises(ConfigError, match="exceeds"):
            forecast_targets(x, size, step, horizon, gap=gap)
        return
    inputs, targets = forecast_targets(x, size, step, horizon, gap=gap)
    starts = range(0, length - size - gap - horizon + 1, step)
    assert inputs.tolist() == [list(range(s, s + size)) for s in starts]
    assert targets.tolist() == [
        list(range(s + size + gap, s + size + gap + horizon)) for s in starts
    ]
    assert (targets.min(axis=1) > inputs.max(axis=1)).all()  # no input sample in its target
    assert np.shares_memory(inputs, x) and np.shares_memory(targets, x)


def test_forecast_negative_gap_is_leakage():
    with pytest.raises(ConfigError, match="gap=-2.*leakage"):
        forecast_targets(np.arange(20), 5, 1, 3, gap=-2)


# ---------------------------------------------------------------- WindowDataset


def tagged_streams(lengths, channels=2):
    """Stream i holds i * 1000 + t in every channel, so a window shows where it came from."""
    return [
        np.repeat((i * 1000 + np.arange(n, dtype=np.float32))[:, None], channels, axis=1)
        for i, n in enumerate(lengths)
    ]


@FAST
@given(st.lists(st.integers(0, 30), min_size=1, max_size=6), st.integers(1, 8), st.integers(1, 8))
def test_windows_never_cross_a_stream_boundary(lengths, size, step):
    streams = tagged_streams(lengths)
    if max(lengths) < size:
        with pytest.raises(ConfigError, match=f"window={size}"):
            WindowDataset(streams, window=size, hop=step)
        return
    with pytest.warns(UserWarning) if min(lengths) < size else _no_warning():
        ds = WindowDataset(streams, window=size, hop=step)
    expected = sum(len(naive_starts(n, size, step, pad=False)) for n in lengths)
    assert len(ds) == expected
    x = ds.get_batch(np.arange(len(ds)))  # (n, channels, size)
    assert x.shape == (len(ds), 2, size)
    source = x[:, 0, :] // 1000  # stream of every sample
    assert (source == source[:, :1]).all()  # one stream per window
    assert (torch.diff(x[:, 0, :], dim=1) == 1).all()  # consecutive samples of that stream
    assert x[:, 0, 0].remainder(1000).remainder(step).eq(0).all()  # start at k * step


@FAST
@given(
    st.lists(st.integers(0, 25), min_size=1, max_size=5),
    st.lists(st.integers(-200, 200), max_size=20),
    st.booleans(),
)
def test_get_batch_equals_stacked_items(lengths, raw, channels_first):
    lengths[0] = max(lengths[0], 10)  # at least 3 windows
    streams = tagged_streams(lengths, channels=3)
    labels = [np.arange(n) for n in lengths]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # streams shorter than size give no windows
        ds = WindowDataset(streams, labels, window=4, hop=3, channels_first=channels_first)
    indices = [i % (2 * len(ds)) - len(ds) for i in raw]  # in [-n, n), negatives included
    x, y = ds.get_batch(indices)
    assert x.shape == (len(indices), *((3, 4) if channels_first else (4, 3)))
    for row, i in enumerate(indices):
        xi, yi = ds[i]
        torch.testing.assert_close(x[row], xi)
        assert y[row] == yi
    table = ds.index  # (stream, start) per window, in order
    expected = [(s, t) for s, n in enumerate(lengths) for t in naive_starts(n, 4, 3, pad=False)]
    assert [tuple(r) for r in table.tolist()] == expected
    sequential = np.arange(len(ds))[1:]  # a contiguous range, possibly crossing streams
    torch.testing.assert_close(
        ds.get_batch(sequential)[0], torch.stack([ds[i][0] for i in sequential])
    )
    with pytest.raises(IndexError, match="window indices"):
        ds.get_batch([0, len(ds)])


class _no_warning:
    def __enter__(self):
        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def test_items_batches_and_loader_agree():
    streams = tagged_streams([50, 37, 9], channels=3)
    labels = [np.arange(50) % 3, np.arange(37) % 2, np.zeros(9, dtype=int)]
    ds = WindowDataset(streams, labels, window=8, hop=4, label_reduce="majority")
    x0, y0 = ds[5]
    assert x0.shape == (3, 8) and x0.dtype == torch.float32 and y0.dtype == torch.int64
    xb, yb = ds[[5, 19, 0]]
    torch.testing.assert_close(xb[0], x0)
    assert yb[0] == y0
    expected_labels = np.concatenate(
        [window_labels(y, 8, 4, label_reduce="majority") for y in labels[:2]]
        + [window_labels(labels[2], 8, 4)]
    )
    np.testing.assert_array_equal(ds.labels, expected_labels)
    seen = []
    for xb, yb in ds.loader(16, shuffle=True, seed=0):
        assert xb.shape[1:] == (3, 8) and len(yb) == len(xb)
        seen += (xb[:, 0, 0]).tolist()
    all_starts = ds.get_batch(np.arange(len(ds)))[0][:, 0, 0]
    assert sorted(seen) == sorted(all_starts.tolist())  # every window once

    last = WindowDataset(streams, [0, 1, 2], window=8, hop=4, channels_first=False)
    xl, yl = last[len(last) - 1]
    assert xl.shape == (8, 3) and yl.item() == 2  # per-stream labels
    torch.testing.assert_close(xl.T, ds[len(ds) - 1][0])


def test_pickling_does_not_materialise_the_windows():
    stream = np.random.default_rng(0).standard_normal((20_000, 4)).astype(np.float32)
    ds = WindowDataset([stream], window=512, hop=1)
    ds.get_batch([0, 1])  # builds the views
    size = len(pickle.dumps(ds))
    assert size < 2 * stream.nbytes  # the windows would be 512x the stream
    torch.testing.assert_close(pickle.loads(pickle.dumps(ds))[7], ds[7])


def test_standardize_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    train = [rng.normal(5.0, 2.0, (400, 2)).astype(np.float32)]
    val = [rng.normal(-3.0, 1.0, (100, 2)).astype(np.float32)]
    stats = fit_standardizer(train)
    np.testing.assert_allclose(stats.mean, train[0].mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(stats.std, train[0].std(axis=0), rtol=1e-4)
    val_ds = WindowDataset(val, window=10, hop=10, standardize=stats)
    x = val_ds.get_batch(range(len(val_ds)))
    expected = (val[0][:100].reshape(10, 10, 2) - stats.mean) / stats.std  # (n, size, channels)
    np.testing.assert_allclose(x.numpy(), expected.transpose(0, 2, 1), rtol=1e-5, atol=1e-6)
    from_dataset = fit_standardizer(WindowDataset(train, window=10, hop=5))
    np.testing.assert_array_equal(from_dataset.mean, stats.mean)
    np.testing.assert_array_equal(from_dataset.std, stats.std)
    with pytest.raises(ConfigError, match="standardize=True"):
        WindowDataset(val, window=10, hop=10, standardize=True)
    with pytest.raises(ConfigError, match="3 channels"):
        WindowDataset(val, window=10, hop=10, standardize=Standardizer(np.zeros(3), np.ones(3)))


def test_dataframe_streams_and_dataset_errors():
    frame = pd.DataFrame(
        {"stream_id": ["a"] * 6 + ["b"] * 5, "x": np.arange(11.0), "label": [1] * 6 + [0] * 5}
    )
    ds = WindowDataset(frame, "label", window=3, hop=2)
    assert len(ds) == 2 + 2 and ds.labels.tolist() == [1, 1, 0, 0]
    assert ds[2][0].tolist() == [[6.0, 7.0, 8.0]]  # stream b starts at row 6
    with pytest.raises(ConfigError, match="stream_id"):
        WindowDataset(frame.drop(columns="stream_id"), window=3, hop=2)
    with pytest.raises(ConfigError, match="labels\\[0\\] has 5 steps"):
        WindowDataset([np.zeros((6, 1))], [np.zeros(5)], window=3, hop=1)
    with pytest.raises(ConfigError, match="encode them"):
        WindowDataset([np.zeros((6, 1))], ["walk"], window=3, hop=1)
    with pytest.raises(IndexError, match="out of range"):
        WindowDataset([np.zeros((6, 1))], window=3, hop=1)[4]


# ---------------------------------------------------------------- splits


@FAST
@given(
    st.integers(3, 30),
    st.sampled_from([0.0, 0.1, 0.2, 0.3]),
    st.sampled_from([0.1, 0.2, 0.3]),
    st.integers(0, 100),
)
def test_split_by_stream_puts_each_stream_in_one_split(n_streams, val, test, seed):
    streams = tagged_streams([10] * n_streams)
    split = split_streams(streams, list(range(n_streams)), val_size=val, test_size=test, seed=seed)
    ids = [
        [i for i, _, _ in spans] for spans in (split.train_spans, split.val_spans, split.test_spans)
    ]
    assert sorted(sum(ids, [])) == list(range(n_streams))  # every stream exactly once
    assert (len(ids[1]) >= 1) if val else not ids[1]
    assert len(ids[2]) >= 1 and len(ids[0]) >= 1
    for stream, label in zip(split.test, split.test_labels):
        assert stream[0, 0] // 1000 == label  # labels travel with their streams


@FAST
@given(
    st.lists(st.integers(60, 300), min_size=1, max_size=4),
    st.integers(0, 20),
    st.sampled_from([0.1, 0.2]),
    st.sampled_from([0.0, 0.15, 0.25]),
)
def test_split_by_time_leaves_a_gap_and_keeps_time_order(lengths, gap, test, val):
    streams = tagged_streams(lengths)
    labels = [np.arange(n) for n in lengths]
    split = split_streams(streams, labels, by="time", val_size=val, test_size=test, gap=gap)
    for i, n in enumerate(lengths):
        pieces = [
            [(a, b) for j, a, b in spans if j == i]
            for spans in (split.train_spans, split.val_spans, split.test_spans)
        ]
        blocks = [p[0] for p in pieces if p]
        assert len(blocks) == 2 + (val > 0)
        for (_, end), (start, _) in zip(blocks, blocks[1:]):
            assert start - end >= gap  # train before val before test, gap samples apart
        assert blocks[-1][1] <= n
    for stream, label in zip(split.val + split.test, split.val_labels + split.test_labels):
        np.testing.assert_array_equal(stream[:, 0] % 1000, label)  # labels sliced alike


def test_split_errors():
    streams = tagged_streams([50, 50])
    with pytest.raises(ConfigError, match="2 stream"):
        split_streams(streams, val_size=0.2, test_size=0.2)
    with pytest.raises(ConfigError, match="gap=window"):
        split_streams(streams, by="time")
    with pytest.raises(ConfigError, match="gap only applies"):
        split_streams(streams, gap=4)
    with pytest.raises(ConfigError, match="stream 0 has 50 samples"):
        split_streams(streams, by="time", gap=30)
    with pytest.raises(ConfigError, match="val_size \\+ test_size"):
        split_streams(streams, val_size=0.5, test_size=0.5)


# ---------------------------------------------------------------- sensor logs


@pytest.fixture
def sensor_csv(tmp_path):
    frame = pd.DataFrame(
        {
            "t": np.arange(8) * 0.01,
            "subject": ["s1"] * 5 + ["s2"] * 3,
            "acc_x": [0.0, 1.0, 2.0, np.nan, 4.0, 5.0, 6.0, 7.0],
            "acc_y": [1.0] * 8,
            "activity": ["walk"] * 3 + ["sit"] * 5,
        }
    )
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    return path


def test_sensor_log_nan_names_column_and_row(sensor_csv):
    with pytest.raises(SensorDataError, match=r"'acc_x'.*data row 4 \(line 5 of the file\)") as e:
        read_sensor_log(sensor_csv, time_column="t", label_column="activity")
    assert "--nan-policy interpolate" in str(e.value)  # the recipe's option, then the keyword
    assert "read_sensor_log(nan_policy=...)" in str(e.value)
    line = sensor_csv.read_text().splitlines()[5 - 1]  # the row the message names
    assert line.split(",")[2] == ""


def test_sensor_log_inf_is_refused_too(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("a,b\n1,2\n3,inf\n")
    with pytest.raises(SensorDataError, match=r"'b'.*inf.*line 3"):
        read_sensor_log(path)


def test_sensor_log_policies_and_streams(sensor_csv):
    kwargs = {"time_column": "t", "label_column": "activity", "stream_column": "subject"}
    log = read_sensor_log(sensor_csv, nan_policy="interpolate", **kwargs)
    assert log.channels == ("acc_x", "acc_y") and log.data.dtype == np.float32
    np.testing.assert_array_equal(log.data[:, 0], np.arange(8.0))  # 3.0 interpolated
    streams = log.streams()
    assert [len(s) for s in streams] == [5, 3] and np.shares_memory(streams[0], log.data)
    assert log.classes.tolist() == ["sit", "walk"]
    assert [c.tolist() for c in log.stream_labels()] == [[1, 1, 1, 0, 0], [0, 0, 0]]
    ds = WindowDataset(streams, log.stream_labels(), window=3, hop=1)
    assert len(ds) == 3 + 1

    dropped = read_sensor_log(sensor_csv, nan_policy="drop", **kwargs)
    assert len(dropped.data) == 7 and 3.0 not in dropped.data[:, 0]
    assert dropped.timestamps.tolist() == pytest.approx([0, 0.01, 0.02, 0.04, 0.05, 0.06, 0.07])
    assert np.isfinite(dropped.data).all()


def test_sensor_log_missing_column_lists_available(sensor_csv):
    with pytest.raises(SensorDataError, match=r"no column 'gyro_z'.*'acc_x'"):
        read_sensor_log(sensor_csv, channels=["acc_x", "gyro_z"])
    with pytest.raises(SensorDataError, match="'subject' is not numeric"):
        read_sensor_log(sensor_csv, channels=["subject"])
    with pytest.raises(FileNotFoundError, match="no such sensor log"):
        read_sensor_log(sensor_csv.with_name("missing.csv"))


def test_sensor_log_parquet_and_interleaved_streams(tmp_path):
    frame = pd.DataFrame({"sid": [1, 2, 1, 2], "v": [1.0, 10.0, np.inf, 30.0]})
    path = tmp_path / "log.parquet"
    frame.to_parquet(path)
    with pytest.raises(SensorDataError, match=r"'v'.*data row 3;"):
        read_sensor_log(path, stream_column="sid")
    log = read_sensor_log(path, stream_column="sid", nan_policy="interpolate")
    assert [s[:, 0].tolist() for s in log.streams()] == [[1.0, 1.0], [10.0, 30.0]]


# ---------------------------------------------------------------- import cost


def test_import_does_not_load_torch_or_pandas():
    code = (
        "import sys, numpy as np, audioconv.windows as w; "
        "w.sliding_windows(np.arange(10), 3, 2); w.window_labels(np.arange(10), 3, 2); "
        "assert 'torch' not in sys.modules and 'pandas' not in sys.modules, 'heavy import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_old_keyword_names_still_work_with_a_deprecation_warning():
    """split_streams(val=, test=) and window_labels(reduce=) were renamed to the names the rest
    of the package uses (val_size / test_size, label_reduce); the old names warn and agree."""
    streams = [np.zeros((100, 2)) for _ in range(3)]
    new = split_streams(streams, by="time", val_size=0.2, test_size=0.1, gap=4)
    with pytest.warns(DeprecationWarning, match=r"split_streams\(val=\) is deprecated"):
        old = split_streams(streams, by="time", val=0.2, test_size=0.1, gap=4)
    assert old.val_spans == new.val_spans and old.test_spans == new.test_spans
    y = np.array([0, 0, 1, 1, 1, 2, 2, 0])
    with pytest.warns(DeprecationWarning, match="use label_reduce="):
        old_labels = window_labels(y, 4, 2, reduce="majority")
    assert old_labels.tolist() == window_labels(y, 4, 2, label_reduce="majority").tolist()


def test_old_window_names_size_and_step_still_work_with_a_deprecation_warning():
    """size= / step= were renamed window= / hop= (the input contract's names); the old keywords
    warn and give the same windows."""
    stream = np.arange(20.0)[:, None]
    with pytest.warns(DeprecationWarning, match=r"sliding_windows\(size=\) is deprecated"):
        old = sliding_windows(stream, size=5, step=3)
    np.testing.assert_array_equal(old, sliding_windows(stream, window=5, hop=3))
    with pytest.warns(DeprecationWarning, match="use hop="):
        ds = WindowDataset([stream], size=5, step=3)
    assert (ds.window, ds.hop, len(ds)) == (5, 3, 6)
    with pytest.warns(DeprecationWarning, match="use window="):
        assert ds.size == 5
    with pytest.raises(ConfigError, match="needs hop="):
        sliding_windows(stream, 5)
