"""Bad sensor logs are clear errors naming the row and column (never a silently dropped channel,
a misordered stream or a one-row stream); ``sort=True`` puts a shuffled log in time order."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from audioconv.errors import SensorDataError
from audioconv.windows import read_sensor_log


@pytest.fixture
def log_csv(tmp_path):
    frame = pd.DataFrame(
        {
            "rec": ["r1"] * 4 + ["r2"] * 4,
            "t": [0.0, 0.1, 0.2, 0.3] * 2,
            "acc_x": np.arange(8, dtype=float),
            "acc_y": np.arange(8, dtype=float) * 2,
            "activity": ["walk"] * 4 + ["run"] * 4,
        }
    )
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    return path, frame


def _write(path, frame):
    frame.to_csv(path, index=False)
    return path


OPTIONS = {"time_column": "t", "label_column": "activity", "stream_column": "rec"}


def test_non_numeric_cell_names_row_and_column(log_csv):
    path, frame = log_csv
    frame["acc_y"] = frame["acc_y"].astype(object)
    frame.loc[5, "acc_y"] = "n/a?"
    _write(path, frame)
    with pytest.raises(SensorDataError, match=r"column 'acc_y' holds 'n/a\?' at data row 6 "
                       r"\(line 7 of the file\), not a number"):  # fmt: skip
        read_sensor_log(path, **OPTIONS)  # inferred channels: never dropped silently


def test_unsorted_timestamps_raise_or_sort(log_csv):
    path, frame = log_csv
    shuffled = frame.iloc[[0, 2, 1, 3, 4, 5, 7, 6]].reset_index(drop=True)
    _write(path, shuffled)
    with pytest.raises(SensorDataError, match=r"time 0.1 at data row 3 .* not in time order"):
        read_sensor_log(path, **OPTIONS)
    log = read_sensor_log(path, sort=True, **OPTIONS)
    assert log.timestamps.tolist() == frame["t"].tolist()
    assert log.data[:, 0].tolist() == frame["acc_x"].tolist()  # rows moved with their times


def test_repeated_timestamps_raise(log_csv):
    path, frame = log_csv
    frame.loc[2, "t"] = 0.1
    _write(path, frame)
    for sort in (False, True):
        with pytest.raises(SensorDataError, match=r"time 0.1 repeats at data row 3 .* 'r1'"):
            read_sensor_log(path, sort=sort, **OPTIONS)


@pytest.mark.parametrize("column", ["activity", "rec"])
def test_empty_label_or_stream_id_is_named(log_csv, column):
    path, frame = log_csv
    frame.loc[6, column] = None
    _write(path, frame)
    with pytest.raises(SensorDataError, match=rf"column '{column}' has no value at data row 7"):
        read_sensor_log(path, **OPTIONS)


@pytest.mark.parametrize(
    ("content", "match"),
    [(b"", "the file is empty"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file")],
    ids=["empty", "binary"],
)
def test_empty_or_binary_file(tmp_path, content, match):
    path = tmp_path / "log.csv"
    path.write_bytes(content)
    with pytest.raises(SensorDataError, match=match):
        read_sensor_log(path)


@pytest.mark.slow
def test_sensor_windows_recipe_refuses_then_sorts_a_shuffled_log(tmp_path):
    import io

    from audioconv.runner import load_recipe, parse_recipe, run

    rng = np.random.default_rng(0)
    frames = []
    for r in range(6):
        n = 40
        frames.append(
            pd.DataFrame(
                {
                    "recording": f"r{r}",
                    "time_s": np.arange(n) / 10,
                    "ax": rng.standard_normal(n) + (r % 2) * 3,
                    "ay": rng.standard_normal(n),
                    "activity": ["walk", "run"][r % 2],
                }
            )
        )
    log = pd.concat(frames, ignore_index=True)
    path = tmp_path / "log.csv"
    log.sample(frac=1.0, random_state=0).to_csv(path, index=False)  # rows shuffled
    argv = ["--data-dir", str(path), "--window", "16", "--hop", "4", "--smoke",
            "--val-size", "0.2", "--test-size", "0.3"]  # fmt: skip
    recipe = parse_recipe(
        load_recipe("sensor_windows"), [*argv, "--output-dir", str(tmp_path / "a")]
    )
    with pytest.raises(SensorDataError, match=r"not in time order; sort it \(sensor_windows"):
        run(recipe, progress=False, out=io.StringIO())
    out = tmp_path / "b"
    recipe = parse_recipe(
        load_recipe("sensor_windows"), [*argv, "--sort", "--output-dir", str(out)]
    )
    run(recipe, progress=False, out=io.StringIO())
    assert (out / "report.json").is_file()


def test_header_only_log_and_a_missing_time_value_are_named_as_such(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("recording,time_s,acc_x,acc_y,activity\n")
    with pytest.raises(SensorDataError, match="log.csv: a header but no rows"):
        read_sensor_log(path)  # was: "no numeric channel columns", listing acc_x and acc_y
    path.write_text("time_s,acc_x\n0.0,1\nn/a,2\n0.2,3\n")
    with pytest.raises(SensorDataError, match=r"'time_s' has no value at data row 2 .* n/a"):
        read_sensor_log(path, time_column="time_s")


def test_sample_rate_from_the_time_column(tmp_path):
    path = tmp_path / "log.csv"
    pd.DataFrame(
        {"rec": ["a"] * 5 + ["b"] * 5, "t": [*np.arange(5) * 0.02, *(100 + np.arange(5) * 0.02)],
         "x": np.arange(10.0)}
    ).to_csv(path, index=False)  # fmt: skip
    assert read_sensor_log(path, time_column="t", stream_column="rec").sample_rate() == 50.0
    assert read_sensor_log(path).sample_rate() is None  # no time column: unknown
    dates = pd.date_range("2024-01-01", periods=4, freq="100ms").astype(str)
    pd.DataFrame({"t": dates, "x": np.arange(4.0)}).to_csv(path, index=False)
    assert read_sensor_log(path, time_column="t").sample_rate() == 10.0


def test_a_gap_in_the_time_column_is_named_in_a_warning(tmp_path):
    """8 s missing from a 50 Hz log (numbers) and 0.4 s from a dated one; a steady log is quiet."""
    t = np.arange(0, 20, 0.02)
    t = np.concatenate([t[:500], t[900:]])
    pd.DataFrame({"t": t, "x": np.sin(t)}).to_csv(tmp_path / "gap.csv", index=False)
    with pytest.warns(UserWarning, match=r"1 gap\(s\) .* largest 8.02 where a step is 0.02 "):
        log = read_sensor_log(tmp_path / "gap.csv", time_column="t")
    assert log.sample_rate() == 50.0
    dates = pd.date_range("2024-01-01", periods=100, freq="20ms").delete(range(40, 60))
    pd.DataFrame({"t": dates, "x": 1.0}).to_csv(tmp_path / "dated.csv", index=False)
    with pytest.warns(UserWarning, match=r"largest 0.42 where a step is 0.02 .*data row 41"):
        read_sensor_log(tmp_path / "dated.csv", time_column="t")
    pd.DataFrame({"t": np.arange(100) * 0.02, "x": 1.0}).to_csv(tmp_path / "ok.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_sensor_log(tmp_path / "ok.csv", time_column="t")
