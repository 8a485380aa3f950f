"""Sensor streams -> sliding windows -> a 1D CNN: activity recognition from a sensor CSV log.

Data (``--data-dir``): a CSV log (or a folder of them, one recording each) with one row per time
step: channel columns, a per-row label column (``--label-column``) and, optionally, a recording
column (``--stream-column``) and a timestamp column (``--time-column``). Windows of
``--window`` samples every ``--hop`` samples never cross a recording, take the majority label of
their rows, and whole recordings go to train / val / test (a single recording is cut in time, with
a one-window gap between the parts), so overlapping windows never leak across splits. Channels are
standardized with statistics of the training windows, kept inside the model. The sampling rate is
read from the time column (numbers as seconds; ``--sample-rate`` must agree with it). Every log is
read before training: bad ones are listed all at once (``--on-error skip``: left out, listed in
``skipped.csv``). The model records its channel, time and recording column names, so
``audioconv predict`` takes a log's channels by name, checks its time order and rate, and refuses a
log of several recordings.

Default data (no ``--data-dir``): the BasicMotions recordings that aeon ships (UEA archive; a
smartwatch's 3-axis accelerometer and gyroscope at 10 Hz, 80 recordings of 10 s, four activities:
standing, walking, running, badminton), written as a CSV log ``<output-dir>/basicmotions.csv``
(``recording,time_s,acc_x..gyr_z,activity``). aeon also ships one Daphnet freezing-of-gait
recording (``Daphnet_S06R02E0``), but it holds no freezing episode (its ``is_anomaly`` column is
all 0), so it cannot train a classifier.

    python recipes/sensor_windows.py --output-dir runs/motions
    python recipes/sensor_windows.py --data-dir my_log.csv --label-column activity \
        --stream-column null --output-dir runs/mine
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Literal

import numpy as np

from audioconv._plain import renamed_keyword
from audioconv.errors import ConfigError, DatasetError, SensorDataError
from audioconv.runner import Experiment, Recipe, main

BASIC_MOTIONS_CHANNELS = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
BASIC_MOTIONS_RATE = 10.0


def write_basic_motions_log(path: Path) -> Path:
    """aeon's BasicMotions (TRAIN + TEST, 80 recordings) as one CSV log at ``path``."""
    import pandas as pd

    from audioconv._atomic import atomic_path
    from audioconv.data.timeseries import load_ucr

    frames = []
    for part, data in zip(("train", "test"), load_ucr("BasicMotions")):
        for i, (series, label) in enumerate(zip(data.x.numpy(), data.y.tolist())):
            frame = pd.DataFrame(series.T, columns=BASIC_MOTIONS_CHANNELS)  # (time, channels)
            frame.insert(0, "time_s", np.arange(len(frame)) / BASIC_MOTIONS_RATE)
            frame.insert(0, "recording", f"{part}{i:02d}")
            frame["activity"] = data.class_names[label]
            frames.append(frame)
    with atomic_path(path) as tmp:
        pd.concat(frames, ignore_index=True).to_csv(tmp, index=False, float_format="%.6g")
    return path


@dataclasses.dataclass
class SensorWindows(Recipe):
    """Sensor CSV log -> windows ``(channels, window)`` -> 1D CNN (``conv1d``).

    Args:
        label_column, stream_column, time_column, channels: the log's columns (``channels``
            default: every other numeric column; logs of a folder may order them differently,
            they are selected by name). The model records the channel, time and stream column
            names, so ``audioconv predict`` reads a table's channels by name.
        sample_rate: samples per second of the log (recorded with the model). Default: read from
            the time column (1 / its median step, numbers taken as seconds); a given rate that
            disagrees with the time column is refused. Without a time column and without
            ``--sample-rate`` the model's rate is unknown (``None``).
        window, hop: window length and samples between window starts (the input contract's
            names; ``audioconv predict --per-window`` uses the same hop).
        val_size, test_size: fractions of recordings (or of time, for a single recording).
        sort: rows out of time order are an error; ``--sort`` sorts them by recording and time.
        nan_policy: NaN / inf in a channel: ``raise`` (an error naming the cell), ``interpolate``
            (filled linearly within the recording) or ``drop`` (those rows dropped).
        on_error: every log is read before training; ``raise`` stops with one error listing every
            bad log, ``skip`` trains without them and lists them in ``skipped.csv``.
        step: deprecated name of ``hop`` (``--step`` warns and sets ``--hop``).
    """

    label_column: str = "activity"
    stream_column: str | None = "recording"
    time_column: str | None = "time_s"
    channels: list[str] | None = None
    sample_rate: float | None = None
    window: int = 30
    hop: int = 5
    model: str = "conv1d"
    max_epochs: int = 40
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    val_size: float = 0.15
    test_size: float = 0.25
    sort: bool = False
    nan_policy: Literal["raise", "interpolate", "drop"] = "raise"
    on_error: Literal["raise", "skip"] = "raise"
    step: int | None = None

    name = "sensor_windows"

    def __post_init__(self):
        super().__post_init__()
        self.hop = renamed_keyword("SensorWindows", "step", self.step, "hop", self.hop)
        self.step = None  # config.yaml records hop only
        if self.on_error not in ("raise", "skip"):
            raise ConfigError(f"on_error={self.on_error!r}: use 'raise' or 'skip'")
        if self.sample_rate is not None and not self.sample_rate > 0:
            raise ConfigError(f"sample_rate={self.sample_rate!r} must be a positive number of Hz")

    def _files(self) -> list[Path]:
        if self.data_dir is None:
            return [write_basic_motions_log(self.output_dir / "basicmotions.csv")]
        if self.data_dir.is_dir():
            files = sorted(self.data_dir.glob("*.csv"))
            if not files:
                raise DatasetError(f"{self.data_dir}: no .csv sensor logs in the folder")
            return files
        if not self.data_dir.is_file():
            raise DatasetError(f"{self.data_dir}: no such sensor log or folder")
        return [self.data_dir]

    def _logs(self) -> tuple[list, float | None, dict[str, str]]:
        """The logs that read well, with channels in one order; their rate; the bad ones
        ``{path: reason}`` (raised, all at once, unless ``on_error="skip"``)."""
        from audioconv.data.scan import bad_file_error
        from audioconv.windows import read_sensor_log

        files = self._files()
        logs, bad = [], {}
        for path in files:
            try:
                log = read_sensor_log(
                    path, time_column=self.time_column, channels=self.channels,
                    label_column=self.label_column, stream_column=self.stream_column,
                    nan_policy=self.nan_policy, sort=self.sort,
                )  # fmt: skip
            except SensorDataError as error:
                if len(files) == 1:
                    raise
                bad[str(path)] = str(error).removeprefix(f"{path}: ")
                continue
            if logs and log.channels != logs[0].channels:
                if sorted(log.channels) != sorted(logs[0].channels):
                    bad[str(path)] = (
                        f"channels {list(log.channels)}, but {logs[0].path} has "
                        f"{list(logs[0].channels)}: give every log the same channel columns "
                        "(or pass --channels)"
                    )
                    continue
                order = [log.channels.index(c) for c in logs[0].channels]
                log = dataclasses.replace(log, data=log.data[:, order], channels=logs[0].channels)
            logs.append(log)
        rate = self._rate(logs, bad)
        kept = [log for log in logs if str(log.path) not in bad]
        if bad and (self.on_error == "raise" or not kept):
            if len(files) == 1:
                raise DatasetError(f"{files[0]}: {bad[str(files[0])]}")
            raise bad_file_error(bad, len(files), "sensor log")
        return kept, rate, bad

    def _rate(self, logs: list, bad: dict[str, str]) -> float | None:
        """``sample_rate``, or the rate of the logs' time column; a log whose time column
        disagrees with it (by more than 1%) goes to ``bad``."""
        from audioconv.windows.sensor_log import same_rate

        rates = {str(log.path): log.sample_rate() for log in logs}
        rates = {path: rate for path, rate in rates.items() if rate is not None}
        if not rates:
            return self.sample_rate
        rate = self.sample_rate
        if rate is None:
            distinct = sorted(set(rates.values()))
            if not same_rate(max(distinct), min(distinct)):
                groups = {r: [Path(p).name for p, q in rates.items() if q == r] for r in distinct}
                listing = "; ".join(
                    f"{r:g} Hz: {len(names)} log(s), {', '.join(names[:3])}"
                    + (", ..." if len(names) > 3 else "")
                    for r, names in groups.items()
                )
                raise DatasetError(
                    f"the logs' time columns ({self.time_column!r}) step at different rates "
                    f"({listing}): resample them to one rate, or pass --sample-rate to train on "
                    "the logs at that rate (the others are refused; --on-error skip leaves them "
                    "out)"
                )
            return distinct[0]
        for path, found in rates.items():
            if not same_rate(found, rate):
                bad[path] = (
                    f"its time column {self.time_column!r} steps at {found:g} Hz (read as "
                    f"seconds), but --sample-rate is {rate:g}: drop --sample-rate to use the "
                    f"time column's rate, or resample the log to {rate:g} Hz (a time column in "
                    "other units than seconds: convert it, or pass --time-column null)"
                )
        return rate

    def _streams(self) -> tuple[list[np.ndarray], list[np.ndarray], list[str], dict]:
        """Per recording ``(time, channels)`` data and ``(time,)`` label codes; class names;
        the log's reading (``channel_names``, ``sample_rate``, ``skipped``, ``recordings``: each
        stream's name, ``file:id`` when the logs are several files)."""
        logs, rate, bad = self._logs()
        # labels as text: one log of numbers (3) and one of words (walk) are read alike
        names = [log.classes.astype(str) for log in logs]
        classes = np.unique(np.concatenate(names))
        streams, labels, recordings = [], [], []
        for log, log_names in zip(logs, names):
            for data, codes, stream in zip(log.streams(), log.stream_labels(), log.stream_names()):
                streams.append(data)
                recordings.append(stream if len(logs) == 1 else f"{Path(log.path).name}:{stream}")
                # the log's own codes -> indices into the classes of every log
                labels.append(np.searchsorted(classes, log_names[codes]))
        reading = {
            "channel_names": logs[0].channels, "sample_rate": rate, "skipped": bad,
            "recordings": recordings,
        }  # fmt: skip
        return streams, labels, [str(c) for c in classes], reading

    def experiment(self) -> Experiment:
        import pandas as pd

        from audioconv.data import TimeSeriesDataModule
        from audioconv.features import Standardize
        from audioconv.windows import WindowDataset, split_streams

        streams, labels, class_names, reading = self._streams()
        by_stream = len(streams) >= 3
        split = split_streams(
            streams, labels, val_size=self.val_size, test_size=self.test_size, seed=self.seed,
            by="stream" if by_stream else "time", gap=None if by_stream else self.window,
        )  # fmt: skip
        options = {"window": self.window, "hop": self.hop, "label_reduce": "majority"}
        names = reading["recordings"]
        sets = {  # each piece knows its recording and first sample there (splits.csv says so)
            name: WindowDataset(
                getattr(split, name), getattr(split, f"{name}_labels"), **options,
                origins=[(names[i], start) for i, start, _ in getattr(split, f"{name}_spans")],
            )
            for name in ("train", "val", "test")
        }  # fmt: skip
        datamodule = TimeSeriesDataModule(
            sets["train"], val=sets["val"], test=sets["test"], class_names=class_names,
            seed=self.seed, batch_size=self.batch_size, num_workers=self.num_workers,
        )  # fmt: skip
        # per-channel statistics of the training windows: (batch, channels, time) -> channels
        train_windows, _ = sets["train"][list(range(len(sets["train"])))]
        frontend = Standardize(mode="dataset", per_bin=True).fit([train_windows])
        n_channels = streams[0].shape[1]
        return Experiment(
            datamodule=datamodule,
            input_kind="sensor",
            input_shape=(n_channels, self.window),
            dims=1,
            sample_rate=reading["sample_rate"],
            frontend=frontend,
            frontend_config={
                "name": "standardize",
                "kwargs": {"mode": "dataset", "per_bin": True},
            },
            skipped=pd.DataFrame(
                {"path": list(reading["skipped"]), "reason": list(reading["skipped"].values())},
                columns=["path", "reason"],
            ),
            contract_options={
                "hop": min(self.hop, self.window),  # the contract covers every sample
                "channel_names": reading["channel_names"],
                "time_column": self.time_column,
                "stream_column": self.stream_column,
                # predict reads missing values as training did (raise: refused, as before)
                "nan": "raise" if self.nan_policy == "raise" else self.nan_policy,
            },
        )


RECIPE = SensorWindows

if __name__ == "__main__":
    sys.exit(main(RECIPE))
