"""Sensor streams -> sliding windows -> a 1D CNN: activity recognition from a sensor CSV log.

Data (``--data-dir``): a CSV log (or a folder of them, one recording each) with one row per time
step: channel columns, a per-row label column (``--label-column``) and, optionally, a recording
column (``--stream-column``) and a timestamp column (``--time-column``). Windows of
``--window`` samples every ``--hop`` samples never cross a recording, take the majority label of
their rows, and whole recordings go to train / val / test (a single recording is cut in time, with
a one-window gap between the parts), so overlapping windows never leak across splits. Channels are
standardized with statistics of the training windows, kept inside the model.

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

import numpy as np

from audioconv._plain import renamed_keyword
from audioconv.errors import DatasetError
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
            default: every other numeric column).
        sample_rate: samples per second of the log (recorded with the model).
        window, hop: window length and samples between window starts (the input contract's
            names).
        val_size, test_size: fractions of recordings (or of time, for a single recording).
        sort: rows out of time order are an error; ``--sort`` sorts them by recording and time.
        step: deprecated name of ``hop`` (``--step`` warns and sets ``--hop``).
    """

    label_column: str = "activity"
    stream_column: str | None = "recording"
    time_column: str | None = "time_s"
    channels: list[str] | None = None
    sample_rate: float = BASIC_MOTIONS_RATE
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
    step: int | None = None

    name = "sensor_windows"

    def __post_init__(self):
        super().__post_init__()
        self.hop = renamed_keyword("SensorWindows", "step", self.step, "hop", self.hop)
        self.step = None  # config.yaml records hop only

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

    def _streams(self) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
        """Per recording ``(time, channels)`` data and ``(time,)`` label codes; class names."""
        from audioconv.windows import read_sensor_log

        logs = [
            read_sensor_log(
                path, time_column=self.time_column, channels=self.channels,
                label_column=self.label_column, stream_column=self.stream_column,
                sort=self.sort,
            )
            for path in self._files()
        ]  # fmt: skip
        classes = np.unique(np.concatenate([log.classes for log in logs]))
        streams, labels = [], []
        for log in logs:
            if log.channels != logs[0].channels:
                raise DatasetError(
                    f"{log.path} has channels {log.channels} but {logs[0].path} has "
                    f"{logs[0].channels}: give every log the same columns"
                )
            for data, codes in zip(log.streams(), log.stream_labels()):
                streams.append(data)
                # the log's own codes -> indices into the classes of every log
                labels.append(np.searchsorted(classes, log.classes[codes]))
        return streams, labels, [str(c) for c in classes]

    def experiment(self) -> Experiment:
        from audioconv.data import TimeSeriesDataModule
        from audioconv.features import Standardize
        from audioconv.windows import WindowDataset, split_streams

        streams, labels, class_names = self._streams()
        by_stream = len(streams) >= 3
        split = split_streams(
            streams, labels, val_size=self.val_size, test_size=self.test_size, seed=self.seed,
            by="stream" if by_stream else "time", gap=None if by_stream else self.window,
        )  # fmt: skip
        options = {"window": self.window, "hop": self.hop, "label_reduce": "majority"}
        sets = {
            name: WindowDataset(getattr(split, name), getattr(split, f"{name}_labels"), **options)
            for name in ("train", "val", "test")
        }
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
            sample_rate=self.sample_rate,
            frontend=frontend,
            frontend_config={
                "name": "standardize",
                "kwargs": {"mode": "dataset", "per_bin": True},
            },
        )


RECIPE = SensorWindows

if __name__ == "__main__":
    sys.exit(main(RECIPE))
