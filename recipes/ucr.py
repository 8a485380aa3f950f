"""Time-series classification on the UCR / UEA archives with one default configuration.

Data (``--dataset``): a problem name — the ones aeon ships work offline (GunPoint, ArrowHead,
ItalyPowerDemand, BasicMotions, JapaneseVowels, ...), any other needs the archive from
https://timeseriesclassification.com extracted under ``--data-dir`` (``<data-dir>/<name>/
<name>_TRAIN.ts``; or the UCR 2018 archive as it unzips, ``<name>_TRAIN.tsv``, its NaN padding of
shorter series cut off) — or a ``.ts`` / ``.tsv`` file path (a ``*_TRAIN`` file uses its ``*_TEST``
sibling as the test split; otherwise the test split is carved out). The archive's TRAIN / TEST split
is kept. As in InceptionTime (Ismail Fawaz et al. 2020) the network trains on all of TRAIN with no
validation holdout (``val_size=0``; UCR training sets are small, 36 series for ArrowHead), in
batches of 64 (the whole TRAIN set per step when it holds 64 series or fewer), and the checkpoint
with the lowest training loss (``monitor="train/loss"``) is tested. ``--val-size 0.2 --monitor
val/loss`` carves a stratified validation split out of TRAIN instead.

InceptionTime is an ensemble of five Inception networks whose probabilities are averaged (aeon's
``InceptionTimeClassifier`` too), so the default is ``--members 5``, each network 300 epochs of
the one-cycle schedule: on 2 CPU cores 2-7 minutes for each problem aeon ships. Quick options:
``--members 1`` (one network, a fifth of the time) and ``--max-epochs 100`` (a third; one network
at 100 epochs fell 1.7-2.3 points short of 300 on ArrowHead at seeds 0, 1 and 2;
``benchmarks/real_recordings.md``).

Unequal-length problems (JapaneseVowels) are stretched to the longest series by linear
interpolation (``--unequal resample``), as in the archive InceptionTime's published figures were
measured on (Ismail Fawaz et al.'s ``transform_to_same_length``); ``--unequal pad`` appends zeros
instead. The run's input contract records the choice, so ``audioconv predict`` and an export
stretch (or pad) a series of any length the same way.

Models: ``--model inceptiontime`` (default), ``fcn``, ``resnet18``, ``conv1d``. The defaults are
the same for every problem (no per-dataset tuning). ``audioconv export`` needs no rate for these
series, and ``audioconv predict`` takes a ``.ts`` file (one prediction per series, named
``<file>#<index>``) or each series as a CSV file (one numeric column per channel).

    python recipes/ucr.py --dataset GunPoint --output-dir runs/gunpoint
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Literal

from audioconv.errors import ConfigError
from audioconv.runner import Experiment, Recipe, main


@dataclasses.dataclass
class UCR(Recipe):
    """UCR / UEA series ``(channels, time)`` -> a 1D CNN (InceptionTime by default).

    Args:
        dataset: a UCR / UEA problem name, or a path to a ``.ts`` / ``.tsv`` file.
        unequal: how unequal-length series are made equal: ``resample`` (stretched to the
            longest, the published protocol) or ``pad`` (zeros after the end).
        nan: missing values (NaN, ``?`` in a ``.ts`` file): ``raise`` (an error naming the file)
            or ``zero`` (read as 0, in training and, through the input contract, in prediction).
        members: 5 networks, InceptionTime's ensemble (1: one network, a fifth of the time).
        max_epochs: 300, InceptionTime's full protocol (100: a quick run, up to 2 points lower).
        val_size: fraction of TRAIN held out for checkpoint selection (0: none; then monitor a
            training metric).
    """

    dataset: str = "GunPoint"
    unequal: Literal["pad", "resample"] = "resample"
    nan: Literal["raise", "zero"] = "raise"
    model: str = "inceptiontime"
    members: int = 5
    max_epochs: int = 300
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    monitor: str = "train/loss"
    val_size: float = 0.0
    test_size: float = 0.2

    name = "ucr"

    def __post_init__(self):
        super().__post_init__()
        if self.val_size == 0 and self.monitor.startswith("val/"):
            raise ConfigError(
                f"monitor={self.monitor!r} needs a validation split: pass --val-size (e.g. 0.2), "
                "or monitor a training metric (train/loss, the default)"
            )

    def _splits(self) -> dict:
        from audioconv.data.timeseries import load_train_test, load_ts, load_ucr

        path = Path(self.dataset)
        if path.suffix and path.suffix.lower() not in (".ts", ".tsv"):
            raise ConfigError(
                f"--dataset {self.dataset}: a {path.suffix} file; the ucr recipe reads .ts and "
                "UCR 2018 .tsv files (the archives at timeseriesclassification.com ship .ts files "
                "beside .arff ones) or a problem name"
            )
        if not path.suffix:
            train, test = load_ucr(
                self.dataset, extract_path=self.data_dir, unequal=self.unequal, nan=self.nan
            )
            return {"train": train, "test": test}
        sibling = path.with_name(path.name.replace("_TRAIN.", "_TEST."))
        if "_TRAIN." in path.name and sibling.is_file():  # as load_ucr: one length for both
            train, test = load_train_test(path, sibling, unequal=self.unequal, nan=self.nan)
            return {"train": train, "test": test}
        return {"train": load_ts(path, unequal=self.unequal, nan=self.nan)}

    def experiment(self) -> Experiment:
        from audioconv.data import TimeSeriesDataModule

        splits = self._splits()
        datamodule = TimeSeriesDataModule(
            splits["train"],
            test=splits.get("test"),
            val_size=self.val_size,
            test_size=self.test_size,
            seed=self.seed,
            batch_size=self.batch_size,
            num_workers=self.num_workers,
        )
        shape = tuple(splits["train"].x.shape[1:])  # (channels, time)
        unequal_lengths = any(s.lengths is not None for s in splits.values())
        contract = {"unequal": self.unequal if unequal_lengths else "pad", "nan": self.nan}
        return Experiment(
            datamodule=datamodule, input_kind="sensor", input_shape=shape, dims=1,
            contract_options=contract,
        )  # fmt: skip


RECIPE = UCR

if __name__ == "__main__":
    sys.exit(main(RECIPE))
