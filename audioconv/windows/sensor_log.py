"""Sensor logs from CSV / TSV / Parquet: ``read_sensor_log`` -> ``SensorLog``."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from audioconv.errors import ConfigError, SensorDataError, SensorFileNotFoundError
from audioconv.windows._common import _check_choice, _is_range

_NAN_POLICIES = ("raise", "interpolate", "drop")


@dataclass(frozen=True)
class SensorLog:
    """A sensor log read by :func:`read_sensor_log`.

    Attributes:
        path: the file read.
        data: ``(time, channels)`` float32, every value finite.
        channels: the channel column names, in ``data`` column order.
        labels: ``(time,)`` raw label values from the label column, or ``None``.
        timestamps: ``(time,)`` values of the time column, or ``None``.
        stream_ids: ``(time,)`` values of the stream column, or ``None`` (one stream).
    """

    path: Path
    data: np.ndarray
    channels: tuple[str, ...]
    labels: np.ndarray | None = None
    timestamps: np.ndarray | None = None
    stream_ids: np.ndarray | None = None

    @property
    def classes(self) -> np.ndarray:
        """Sorted distinct label values; ``stream_labels()`` codes index into it."""
        if self.labels is None:
            raise ConfigError(f"{self.path} was read without label_column: it has no classes")
        return np.unique(self.labels)

    def sample_rate(self) -> float | None:
        """Samples per second from the time column: 1 / the median step between rows of a
        stream, to 6 significant digits (numbers are read as seconds; dates as dates), or
        ``None`` without a time column or with one row per stream."""
        if self.timestamps is None:
            return None
        steps = []
        for rows in self._groups():
            times = self.timestamps[rows]
            if np.issubdtype(times.dtype, np.datetime64) or times.dtype == object:
                import pandas as pd

                times = pd.to_datetime(times).to_numpy().astype("datetime64[ns]").astype(np.int64)
                times = times / 1e9  # ns -> s
            steps.append(np.diff(times.astype(np.float64)))
        steps = np.concatenate(steps)
        if len(steps) == 0:
            return None
        return float(f"{1.0 / float(np.median(steps)):.6g}")

    def _groups(self) -> list[np.ndarray]:
        """Row indices of each stream, in order of first appearance (one group if no streams)."""
        if self.stream_ids is None:
            return [np.arange(len(self.data))]
        _, first, codes = np.unique(self.stream_ids, return_index=True, return_inverse=True)
        order = np.argsort(np.argsort(first))  # code -> rank of first appearance
        ranks = order[codes]
        return [np.flatnonzero(ranks == r) for r in range(len(first))]

    def streams(self) -> list[np.ndarray]:
        """One ``(time, channels)`` array per stream id, in order of first appearance
        (views when a stream's rows are contiguous in the file)."""
        return [_take_rows(self.data, rows) for rows in self._groups()]

    def stream_names(self) -> list[str]:
        """Each stream's id as text, in the order of :meth:`streams` (the file's name when the
        log has no stream column)."""
        if self.stream_ids is None:
            return [Path(self.path).name]
        return [str(self.stream_ids[rows[0]]) for rows in self._groups()]

    def stream_labels(self) -> list[np.ndarray]:
        """Per stream, the ``(time,)`` int64 label codes (indices into :attr:`classes`)."""
        codes = np.searchsorted(self.classes, self.labels)  # (time,)
        return [_take_rows(codes, rows) for rows in self._groups()]


def _take_rows(array: np.ndarray, rows: np.ndarray) -> np.ndarray:
    if _is_range(rows):  # contiguous rows: a view
        return array[rows[0] : rows[-1] + 1]
    return array[rows]


def read_sensor_log(
    path: str | os.PathLike,
    *,
    time_column: str | None = None,
    channels: Sequence[str] | None = None,
    label_column: str | None = None,
    stream_column: str | None = None,
    nan_policy: Literal["raise", "interpolate", "drop"] = "raise",
    sort: bool = False,
) -> SensorLog:
    """Read a CSV (``.csv``, ``.tsv``, optionally ``.gz``) or parquet sensor log with pandas.

    Args:
        path: the file.
        time_column: timestamps column (kept in ``SensorLog.timestamps``, not a channel).
        channels: channel columns; default every numeric column that is not the time, label or
            stream column.
        label_column: per-row labels; stream_column: recording / subject id per row.
        nan_policy: what to do with NaN / inf in a channel. ``"raise"`` (default) raises
            :class:`~audioconv.errors.SensorDataError` naming the column and row; ``"interpolate"``
            fills them linearly within their stream (the ends take the nearest value);
            ``"drop"`` drops those rows (windows then span the removed gap: prefer interpolate for
            short gaps).
        sort: timestamps out of order within a stream are an error; ``sort=True`` sorts the rows
            by stream and time instead. Repeated timestamps in a stream are always an error.

    Returns:
        a :class:`SensorLog` with ``data`` of shape ``(time, channels)`` float32.

    Raises:
        SensorFileNotFoundError: no such file (also a ``FileNotFoundError``).
        SensorDataError: unknown suffix, an empty or binary file, a missing column, a
            non-numeric cell in a channel column (row and column named; a column with no number
            at all is not a channel), non-finite values, an empty label or stream id, unsorted or
            repeated timestamps.
    """
    import pandas as pd

    _check_choice("nan_policy", nan_policy, _NAN_POLICIES)
    path = Path(path)
    if not path.is_file():
        raise SensorFileNotFoundError(
            f"{path}: no such sensor log; check the path (a CSV, TSV, CSV.gz or parquet file)"
        )
    frame, header_lines = _read_frame(path)
    if frame.empty:
        raise SensorDataError(
            f"{path}: a header but no rows (columns {list(frame.columns)}); a sensor log needs "
            "one row per time step"
        )
    special = [c for c in (time_column, label_column, stream_column) if c is not None]
    for column in [*special, *(channels or [])]:
        if column not in frame.columns:
            raise SensorDataError(
                f"{path}: no column {column!r}; available columns: {list(frame.columns)}"
            )
    for column in (label_column, stream_column):
        if column is not None:
            _require_filled(path, frame, column, header_lines)
    if channels is None:  # a column holding any number is a channel; its other cells must be too
        channels = [
            c
            for c in frame.columns
            if c not in special
            and (
                pd.api.types.is_numeric_dtype(frame[c])
                or pd.to_numeric(frame[c], errors="coerce").notna().any()
            )
        ]
        if not channels:
            raise SensorDataError(
                f"{path}: no numeric channel columns besides {special}; "
                f"columns: {list(frame.columns)}"
            )
    channels = list(channels)
    for column in channels:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            _raise_non_numeric(path, frame, column, header_lines)
    if time_column is not None:
        frame = _check_time_order(path, frame, time_column, stream_column, sort, header_lines)
    values = frame[channels].to_numpy(dtype=np.float64)  # (time, channels)
    bad = ~np.isfinite(values)
    if bad.any():
        if nan_policy == "raise":
            raise SensorDataError(_non_finite_message(path, frame, channels, bad, header_lines))
        if nan_policy == "drop":
            frame = frame.loc[~bad.any(axis=1)].reset_index(drop=True)
            values = values[~bad.any(axis=1)]
        else:
            values = _interpolate(path, frame, channels, values, bad, stream_column)
    return SensorLog(
        path=path,
        data=values.astype(np.float32),
        channels=tuple(channels),
        labels=frame[label_column].to_numpy() if label_column else None,
        timestamps=frame[time_column].to_numpy() if time_column else None,
        stream_ids=frame[stream_column].to_numpy() if stream_column else None,
    )


def same_rate(found: float, expected: float) -> bool:
    """Whether a rate read from a time column (``found``, Hz) is ``expected``: within 1%, what
    jitter in logged timestamps leaves of one rate.

    >>> same_rate(50.2, 50.0), same_rate(100.0, 50.0)
    (True, False)
    """
    return abs(found - expected) <= 0.01 * expected


def log_columns(path: str | os.PathLike) -> list[str]:
    """The column names of a sensor log (of a text log, the header row alone is read).

    Raises:
        SensorFileNotFoundError, SensorDataError: as :func:`read_sensor_log` for the file.
    """
    path = Path(path)
    if not path.is_file():
        raise SensorFileNotFoundError(f"{path}: no such sensor log")
    return list(_read_frame(path, header_only=True)[0].columns)


def _read_frame(path: Path, *, header_only: bool = False):
    """``(frame, header lines)`` of a log by its suffix (``None`` header lines: parquet)."""
    import pandas as pd

    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-1:] == [".gz"]:  # compressed CSV: pandas decompresses it
        suffixes.pop()
    kind = suffixes[-1] if suffixes else ""
    if kind in (".parquet", ".pq"):
        return pd.read_parquet(path), None
    if kind in (".csv", ".tsv", ".txt"):
        sep = "\t" if kind == ".tsv" else ","
        return _read_text_log(path, sep=sep, nrows=0 if header_only else None), 1
    raise SensorDataError(
        f"{path}: unknown sensor log format {''.join(path.suffixes)!r}; "
        "use .csv, .tsv (optionally .gz) or .parquet"
    )


def _read_text_log(path: Path, sep: str, nrows: int | None = None):
    """A CSV / TSV log as a DataFrame; an empty or binary file is a SensorDataError."""
    import gzip

    import pandas as pd

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as handle:
        head = handle.read(4096)
    if not head.strip():
        raise SensorDataError(f"{path}: the file is empty; a sensor log needs a header row")
    if b"\x00" in head:
        raise SensorDataError(f"{path}: this is a binary file, not a text CSV / TSV sensor log")
    try:
        return pd.read_csv(path, sep=sep, skip_blank_lines=False, nrows=nrows)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise SensorDataError(f"{path}: cannot parse the log ({error})") from None


def _line(row: int, header_lines: int | None) -> str:
    where = f"data row {row + 1}"
    return where if header_lines is None else f"{where} (line {row + 1 + header_lines} of the file)"


def _raise_non_numeric(path, frame, column, header_lines) -> None:
    import pandas as pd

    numbers = pd.to_numeric(frame[column], errors="coerce")
    bad = np.flatnonzero(numbers.isna().to_numpy() & frame[column].notna().to_numpy())
    if len(bad) == 0 or numbers.isna().all():  # a boolean or text column, not a channel
        raise SensorDataError(
            f"{path}: channel column {column!r} is not numeric (dtype {frame[column].dtype}); "
            "fix the values or leave it out of the channels (--channels)"
        )
    raise SensorDataError(
        f"{path}: column {column!r} holds {frame[column].iloc[bad[0]]!r} at "
        f"{_line(int(bad[0]), header_lines)}, not a number ({len(bad)} such cell(s)); fix the "
        "cells, or list the channel columns without this one (--channels)"
    )


def _require_filled(path, frame, column, header_lines) -> None:
    empty = np.flatnonzero(frame[column].isna().to_numpy())
    if len(empty):
        raise SensorDataError(
            f"{path}: column {column!r} has no value at {_line(int(empty[0]), header_lines)} "
            f"(empty, or a missing-value marker such as NA or n/a; {len(empty)} such cell(s)); "
            f"every row needs its {column}: fill them in or drop those rows"
        )


def _check_time_order(path, frame, time_column, stream_column, sort, header_lines):
    """``frame`` with each stream's timestamps strictly increasing (sorted when ``sort``)."""
    import pandas as pd

    _require_filled(path, frame, time_column, header_lines)
    times = frame[time_column]
    if not pd.api.types.is_numeric_dtype(times):
        try:
            times = pd.to_datetime(times)
        except (ValueError, TypeError) as error:
            raise SensorDataError(
                f"{path}: time column {time_column!r} holds neither numbers nor dates ({error})"
            ) from None
    keys = frame[stream_column] if stream_column is not None else pd.Series(0, index=frame.index)
    table = pd.DataFrame({"stream": keys.to_numpy(), "time": times.to_numpy()})
    repeated = np.flatnonzero(table.duplicated(keep="first").to_numpy())
    if len(repeated):
        row = int(repeated[0])
        raise SensorDataError(
            f"{path}: time {frame[time_column].iloc[row]} repeats at {_line(row, header_lines)}"
            + ("" if stream_column is None else f" in stream {table['stream'].iloc[row]!r}")
            + f" ({len(repeated)} repeated timestamp(s)); keep one row per time step"
        )
    step = table.groupby("stream", sort=False)["time"].diff()  # NaN / NaT at each stream start
    zero = pd.Timedelta(0) if pd.api.types.is_timedelta64_dtype(step) else 0
    earlier = np.flatnonzero((step < zero).to_numpy())
    if len(earlier) and not sort:
        row = int(earlier[0])
        raise SensorDataError(
            f"{path}: time {frame[time_column].iloc[row]} at {_line(row, header_lines)} comes "
            "before the row above it: the log is not in time order; sort it (sensor_windows "
            "--sort, read_sensor_log(sort=True): sorted by recording and time)"
        )
    if len(earlier):
        order = table.sort_values(["stream", "time"], kind="stable").index
        frame = frame.loc[order].reset_index(drop=True)
        table = table.loc[order].reset_index(drop=True)
        step = table.groupby("stream", sort=False)["time"].diff()
    _warn_gaps(path, frame[time_column], step, header_lines)
    return frame


#: a step between rows this many times the log's median step is a gap (missing samples)
GAP_STEPS = 2.0


def _warn_gaps(path, times, step, header_lines) -> None:
    """Warn of gaps in a time column (steps over :data:`GAP_STEPS` times the median): windows
    across one join samples recorded apart, which training and predict do not see otherwise."""
    import pandas as pd

    if pd.api.types.is_timedelta64_dtype(step):
        step = step.dt.total_seconds()
    steps = step.to_numpy(dtype=np.float64)
    if not np.isfinite(steps).any():
        return
    median = float(np.nanmedian(steps))
    gaps = np.flatnonzero(steps > GAP_STEPS * median)
    if len(gaps):
        row = int(gaps[np.argmax(steps[gaps])])
        warnings.warn(
            f"{path}: {len(gaps)} gap(s) in the time column, the largest {steps[row]:g} where a "
            f"step is {median:g} (time {times.iloc[row - 1]} to {times.iloc[row]}, "
            f"{_line(row, header_lines)}): windows across a gap join samples recorded apart; "
            "split the log there (a stream column) or resample it to a steady rate",
            UserWarning,
            stacklevel=4,
        )


def _non_finite_message(path, frame, channels, bad, header_lines) -> str:
    column_index = int(np.flatnonzero(bad.any(axis=0))[0])
    row = int(np.flatnonzero(bad[:, column_index])[0])
    column = channels[column_index]
    value = frame[column].iloc[row]
    where = f"data row {row + 1}"
    if header_lines is not None:
        where += f" (line {row + 1 + header_lines} of the file)"
    return (
        f"{path}: column {column!r} has {value} at {where}; {int(bad.sum())} non-finite value(s) "
        "in all: clean the file (to train on it as it is: sensor_windows --nan-policy "
        "interpolate fills them linearly, --nan-policy drop drops those rows; in Python "
        "read_sensor_log(nan_policy=...))"
    )


def _interpolate(path, frame, channels, values, bad, stream_column) -> np.ndarray:
    import pandas as pd

    table = pd.DataFrame(np.where(bad, np.nan, values), columns=channels)  # (time, channels)
    groups = (
        [table]
        if stream_column is None
        else [part for _, part in table.groupby(frame[stream_column].to_numpy(), sort=False)]
    )
    for part in groups:
        empty = part.columns[part.isna().all()].tolist()
        if empty:
            raise SensorDataError(
                f"{path}: column {empty[0]!r} has no finite value"
                + (
                    ""
                    if stream_column is None
                    else f" in stream {frame[stream_column].iloc[part.index[0]]!r}"
                )
                + " to interpolate from: drop the column or its rows (--nan-policy drop)"
            )
        table.loc[part.index] = part.interpolate(limit_direction="both")
    return table.to_numpy()
