"""The shared runner: one call trains, checkpoints, tests and reports into a run folder.

Run folder written by :func:`fit`::

    <output_dir>/.lock                  held by the fitting process (names it: pid, host, start)
    <output_dir>/config.yaml            resolved configuration (model, data, fit settings)
    <output_dir>/checkpoints/best.ckpt  best by ``monitor``; tested at the end
    <output_dir>/checkpoints/last.ckpt  end of the latest epoch; ``resume=True`` continues from it
    <output_dir>/metrics.csv            per-epoch metrics (RunLogger: rewritten atomically; resumes
                                        continue it)
    <output_dir>/splits.csv             every sample and its split, a file's size and fingerprint
                                        (written before training; a resume on other samples,
                                        splits or file contents is refused)
    <output_dir>/predictions.csv        the test split: true, predicted, each class probability
    <output_dir>/report.json, report.md, *.png   the evaluation of the best checkpoint on test

The folder's rules (lock, refusals, what a resume may change) are in docs/architecture.md
("Run folder").

Reproducibility: ``seed`` goes through ``lightning.seed_everything(seed, workers=True)`` and every
later epoch starts from the RNG state ``seed + epoch``, so a run resumed from ``last.ckpt`` draws
the same shuffles, dropout masks and augmentations as an uninterrupted one (bit-exact on CPU)
as long as nothing draws random numbers in ``setup`` / ``on_fit_start`` hooks.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import errno
import os
import shutil
import warnings
from argparse import Namespace
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
import yaml
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch.callbacks import (
    Callback,
    EarlyStopping,
    LearningRateMonitor,
    ModelCheckpoint,
    TQDMProgressBar,
    WeightAveraging,
)
from lightning.pytorch.loggers import Logger
from lightning.pytorch.utilities.model_helpers import is_overridden
from lightning.pytorch.utilities.rank_zero import rank_zero_only
from torch.utils.data import DataLoader, Dataset

from audioconv._atomic import atomic_pair, atomic_path, atomic_write_text
from audioconv._integrity import (
    digest_path,
    file_fingerprint,
    file_sha256,
    read_checkpoint,
    record_text,
    verify_checkpoint,
)
from audioconv._plain import read_yaml
from audioconv._runfolder import check_output_folder, existing_artifacts, run_lock
from audioconv.contract import is_positive
from audioconv.errors import ConfigError, check_positive
from audioconv.tasks.configs import renamed_hparams

__all__ = [
    "RunLogger", "RunResult", "TensorDataModule", "WeightEMA", "deterministic_mode", "fit",
    "prediction_columns", "split_changes", "stamped", "write_predictions",
]  # fmt: skip

PRECISIONS = ("32-true", "16-mixed", "bf16-mixed", "bf16-true", "16-true", "64-true")


@dataclasses.dataclass(frozen=True)
class RunResult:
    """What :func:`fit` produced. ``report`` is the test evaluation of the best checkpoint
    (a ``Report``, or a ``MultiReport`` for multi-output models)."""

    output_dir: Path
    best_checkpoint: Path | None
    last_checkpoint: Path | None
    report: Any
    metrics_csv: Path


# --------------------------------------------------------------------------------------------
# Data helper
# --------------------------------------------------------------------------------------------


class _TensorPairs(Dataset):
    """``(x[i], y[i])`` or ``(x[i], {name: y[name][i]})`` from in-memory tensors."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor | Mapping[str, torch.Tensor]):
        lengths = {len(x)} | ({len(v) for v in y.values()} if isinstance(y, Mapping) else {len(y)})
        if len(lengths) != 1:
            raise ConfigError(f"x and y have different lengths {sorted(lengths)}: align them")
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        if isinstance(self.y, Mapping):
            return self.x[i], {name: v[i] for name, v in self.y.items()}
        return self.x[i], self.y[i]


class TensorDataModule(L.LightningDataModule):
    """A DataModule over in-memory ``(x, y)`` splits — for tests, notebooks and small data.

    ``y`` is a tensor, or ``{name: tensor}`` for a multi-output model. The train split is
    shuffled; ``train_labels()`` returns its ``y`` (used by ``class_weights="balanced"``).
    """

    def __init__(
        self,
        train: tuple[torch.Tensor, Any],
        val: tuple[torch.Tensor, Any],
        test: tuple[torch.Tensor, Any],
        *,
        batch_size: int = 32,
        num_workers: int = 0,
    ):
        super().__init__()
        check_positive("batch_size", batch_size)
        check_positive("num_workers", num_workers, minimum=0)
        self.save_hyperparameters(ignore=("train", "val", "test"), logger=False)
        self.splits = {
            name: _TensorPairs(*pair)
            for name, pair in (("train", train), ("val", val), ("test", test))
        }
        self.batch_size, self.num_workers = batch_size, num_workers

    def sample_table(self):
        """Every sample's ``index`` in its split's tensors and its ``split`` (a DataFrame)."""
        import pandas as pd

        return pd.DataFrame(
            [(i, name) for name, pairs in self.splits.items() for i in range(len(pairs))],
            columns=["index", "split"],
        )

    def train_labels(self) -> torch.Tensor | Mapping[str, torch.Tensor]:
        """Targets of the training split."""
        return self.splits["train"].y

    def _loader(self, split: str, *, shuffle: bool = False) -> DataLoader:
        return DataLoader(
            self.splits[split],
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),  # page-locked batches only help a GPU
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def predict_dataloader(self) -> DataLoader:
        return self._loader("test")


# --------------------------------------------------------------------------------------------
# Lightning plumbing
# --------------------------------------------------------------------------------------------


class _EpochSeed(Callback):
    """Reseed every RNG with ``seed + epoch`` before each epoch after the first draws its data.

    Lightning restores model, optimiser, scheduler and loop state on resume but not the RNGs. A
    running fit reseeds when an epoch ends; a resumed one when this callback's state (the next
    epoch's index) is restored from the checkpoint, which is before the train iterator is
    created. Either way the next epoch's shuffle, dropout masks and augmentations come from the
    same RNG state, so a resumed run matches an uninterrupted one.
    """

    def __init__(self, seed: int):
        self.seed = seed
        self.next_epoch = 0

    def _reseed(self) -> None:
        L.seed_everything(self.seed + self.next_epoch, workers=True, verbose=False)

    def state_dict(self) -> dict[str, int]:
        return {"next_epoch": self.next_epoch}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        self.next_epoch = state_dict["next_epoch"]
        self._reseed()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.next_epoch = trainer.current_epoch + 1
        self._reseed()


class WeightEMA(WeightAveraging):
    """An exponential moving average of the weights (and batch-norm statistics), updated after
    every optimizer step with ``decay`` (Lightning's :class:`WeightAveraging` with
    ``torch.optim.swa_utils.get_ema_avg_fn``).

    Validation runs on the averaged weights, so ``best.ckpt`` is chosen by them, and every
    checkpoint's ``state_dict`` holds them: testing, ``audioconv predict``, export and streaming
    all use the averaged model. The raw weights ride in ``current_model_state`` for a resume.
    """

    def __init__(self, decay: float):
        from torch.optim.swa_utils import get_ema_avg_fn

        if not (isinstance(decay, float | int) and 0 < decay < 1):
            raise ConfigError(f"ema={decay!r} must be a decay in (0, 1), e.g. 0.995 (0: off)")
        super().__init__(avg_fn=get_ema_avg_fn(decay))

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint):
        # only a resumed fit restores the raw weights; testing the best checkpoint keeps the
        # averaged ones its state_dict holds (what predict and export load)
        if trainer.state.fn == "fit":
            super().on_load_checkpoint(trainer, pl_module, checkpoint)


#: free bytes below which a failed checkpoint write is taken for a full disk
_FULL_DISK_BYTES = 2**20


class _AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written to a temporary file and renamed, so a crash never leaves a torn one,
    each with its SHA-256 record ``<name>.ckpt.sha256`` (written as a pair). Reading one (resume,
    testing the best) checks the record and never unpickles code (``weights_only=True``), as
    ``tasks.load_classifier`` does.

    ``torch.save`` writes straight into the pair's temporary file beside the target: Lightning's
    own writer serialises to memory, then to a file in ``$TMPDIR`` moved over, so a checkpoint
    needed room in /tmp (a small /tmp failed every fit) and a kill leaked a copy there."""

    def save_checkpoint(self, checkpoint: dict, path: Any, storage_options: Any = None) -> None:
        if storage_options is not None:
            raise TypeError("storage_options are not supported: checkpoints are local files")
        record = digest_path(path)
        with atomic_pair(path, record) as (tmp, tmp_record):
            try:
                torch.save(checkpoint, tmp)
            except RuntimeError as error:  # torch's zip writer reports a full disk without errno
                if shutil.disk_usage(Path(tmp).parent).free >= _FULL_DISK_BYTES:
                    raise
                raise OSError(errno.ENOSPC, f"No space left on device ({error})", tmp) from error
            text = record_text(file_sha256(tmp), Path(path).name)
            tmp_record.write_text(text, encoding="utf-8")

    def load_checkpoint(
        self, path: Any, map_location: Any = lambda storage, loc: storage, weights_only: Any = None
    ) -> dict[str, Any]:
        verify_checkpoint(path)
        return super().load_checkpoint(path, map_location=map_location, weights_only=True)

    def remove_checkpoint(self, path: Any) -> None:
        super().remove_checkpoint(path)
        digest_path(path).unlink(missing_ok=True)


class RunLogger(Logger):
    """Lightning logger writing ``<run>/metrics.csv`` and ``<run>/hparams.yaml`` (public
    :class:`~lightning.pytorch.loggers.Logger` API).

    Rows are those of Lightning's ``CSVLogger`` (one per logging call: the metrics and ``step``;
    columns sorted, the header grown when a new metric appears). Unlike it, an existing
    ``metrics.csv`` is kept and appended to (a resumed run continues its log; ``fit`` has already
    dropped the rows of the interrupted epoch), and every save replaces the file atomically, so a
    kill never leaves a torn log. A ``metrics.csv`` without a ``step`` column is not a log of
    this kind (another program wrote it there): saving raises instead of merging the two.
    """

    def __init__(self, run_dir: str | os.PathLike):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.metrics_csv = self.run_dir / "metrics.csv"
        self.hparams: dict[str, Any] = {}
        self._pending: list[dict[str, Any]] = []

    @property
    def name(self) -> str:
        return ""

    @property
    def version(self) -> str:
        return ""

    @property
    def save_dir(self) -> str:
        return str(self.run_dir)

    @property
    def log_dir(self) -> str:
        return str(self.run_dir)

    @rank_zero_only
    def log_hyperparams(self, params: Mapping[str, Any] | Namespace, *args: Any, **kwargs: Any):
        self.hparams.update(vars(params) if isinstance(params, Namespace) else dict(params))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # plain YAML (Lightning's writer tags tuples !!python/tuple, which safe loaders refuse)
        text = yaml.safe_dump(_plain(self.hparams), sort_keys=False)
        atomic_write_text(self.run_dir / "hparams.yaml", text)

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        row = {k: v.item() if isinstance(v, torch.Tensor) else v for k, v in metrics.items()}
        row["step"] = len(self._pending) if step is None else step
        self._pending.append(row)

    @rank_zero_only
    def save(self) -> None:
        """Rewrite metrics.csv (its rows + the pending ones) atomically."""
        if not self._pending:
            return
        rows, keys = [], set()
        if self.metrics_csv.is_file():
            with open(self.metrics_csv, newline="", encoding="utf-8") as file:
                reader = csv.DictReader(file)
                rows, keys = list(reader), set(reader.fieldnames or ())
            if "step" not in keys:
                raise ConfigError(
                    f"{self.metrics_csv} is not this run's metrics log (no 'step' column: another "
                    "program wrote it during the fit?); it was left as it is: move it away, then "
                    "continue the run with --resume"
                )
        rows += self._pending
        keys = sorted(keys.union(*self._pending))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with (
            atomic_path(self.metrics_csv) as tmp,
            open(tmp, "w", newline="", encoding="utf-8") as f,
        ):
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            writer.writerows(rows)
        self._pending = []

    @rank_zero_only
    def finalize(self, status: str) -> None:
        self.save()


def _plain(value: Any) -> Any:
    """Config values as YAML-safe builtins (tensors and tuples become lists, paths strings,
    numpy scalars their Python values)."""
    from audioconv._plain import python_scalar

    value = python_scalar(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return repr(value)


def _drop_rows_after(metrics_csv: Path, step: int) -> None:
    """Remove rows a killed run logged from ``step`` (the resumed checkpoint's) onwards."""
    if not metrics_csv.is_file():
        return
    with open(metrics_csv, newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    if not rows or "step" not in rows[0]:
        return
    at = rows[0].index("step")
    kept = [rows[0], *(row for row in rows[1:] if row[at] and float(row[at]) < step)]
    with atomic_path(metrics_csv) as tmp, open(tmp, "w", newline="", encoding="utf-8") as file:
        csv.writer(file).writerows(kept)


def _class_path(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


@contextlib.contextmanager
def deterministic_mode(deterministic: bool | str | None, accelerator: str) -> Iterator[bool | str]:
    """Yield the Trainer's ``deterministic`` for ``fit``; on exit restore torch's global flags.

    ``None`` means ``"warn"`` on CPU (cheap) and off elsewhere. Deterministic runs keep
    deterministic kernels but stop NaN-filling every new buffer
    (``torch.utils.deterministic.fill_uninitialized_memory``, a debugging aid that cost 5-10% of
    a CPU training step here; ``benchmarks/bench_training.py``). What this block and the Trainer
    inside it set process-wide (deterministic algorithms and their warn-only flag, that fill flag,
    cuDNN's ``benchmark`` / ``deterministic``, ``CUBLAS_WORKSPACE_CONFIG``) is put back as it was.

        >>> with deterministic_mode(None, "cpu") as mode:
        ...     mode
        'warn'
    """
    saved = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.utils.deterministic.fill_uninitialized_memory,
        torch.backends.cudnn.benchmark,
        torch.backends.cudnn.deterministic,
        os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
    )
    if deterministic is None:
        on_cpu = accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available())
        deterministic = "warn" if on_cpu else False
    try:
        if deterministic:
            torch.utils.deterministic.fill_uninitialized_memory = False
        yield deterministic
    finally:
        algorithms, warn_only, fill, benchmark, cudnn_deterministic, cublas = saved
        torch.use_deterministic_algorithms(algorithms, warn_only=warn_only)
        torch.utils.deterministic.fill_uninitialized_memory = fill
        torch.backends.cudnn.benchmark = benchmark
        torch.backends.cudnn.deterministic = cudnn_deterministic
        if cublas is None:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
        else:
            os.environ["CUBLAS_WORKSPACE_CONFIG"] = cublas


def fit(
    model: L.LightningModule,
    datamodule: L.LightningDataModule,
    *,
    output_dir: str | os.PathLike,
    max_epochs: int = 20,
    seed: int = 0,
    monitor: str = "val/loss",
    mode: str = "min",
    patience: int | None = None,
    gradient_clip_val: float | None = None,
    ema: float = 0.0,
    precision: str = "32-true",
    resume: bool = False,
    accelerator: str = "auto",
    devices: int | str | Sequence[int] = 1,
    num_nodes: int = 1,
    strategy: str = "auto",
    limit_train_batches: int | float | None = None,
    limit_val_batches: int | float | None = None,
    limit_test_batches: int | float | None = None,
    log_every_n_steps: int = 50,
    deterministic: bool | str | None = None,
    compile: bool = False,
    enable_progress_bar: bool = True,
    config: Mapping[str, Any] | None = None,
    callbacks: Sequence[Callback] = (),
    before_report: Callable[[Any, Any], None] | None = None,
) -> RunResult:
    """Train ``model`` on ``datamodule``, test the best checkpoint and write the run folder.

    Early stopping on ``monitor`` is on when ``patience`` is set. ``ema`` (a per-step decay; 0:
    off) validates, checkpoints and tests an exponential moving average of the weights
    (:class:`WeightEMA`). ``resume=True`` continues from
    ``checkpoints/last.ckpt`` once the run's recorded options are checked against these (see
    ``_prepare_run_folder``); without it, a folder that already holds a run is refused, and so is
    a folder another fit holds. ``deterministic``: see :func:`deterministic_mode`. ``config``
    (e.g. the CLI's resolved config) is written to config.yaml on top of the model, data and fit
    settings recorded here. The datamodule needs a test split. ``before_report(report, outputs)``
    (e.g. the recipes' classical baseline; ``outputs``: ``{head: (outputs, targets)}`` of the test
    split in order, probabilities for classification) may add to the test report before it is
    written, while the run folder is still locked: report.json is written once, last, and marks
    a finished run.
    ``compile=True`` compiles the backbone in place with ``torch.compile`` (``nn.Module.compile``,
    so checkpoints keep their parameter names); meant for GPUs: on this 2-core CPU the compiled
    demo model trained at 0.75x the eager speed, after 10 s of compiling.

    Raises:
        ConfigError: an option is invalid; ``output_dir`` is locked by another fit, holds a run
            and ``resume`` is False, or cannot be resumed with these options.
    """
    if mode not in ("min", "max"):
        raise ConfigError(f"mode={mode!r} must be 'min' or 'max'")
    if precision not in PRECISIONS:
        raise ConfigError(f"precision={precision!r} is not one of {PRECISIONS}")
    check_positive("max_epochs", max_epochs)
    if patience is not None:
        check_positive("patience", patience)
    if not is_overridden("test_dataloader", datamodule):
        raise ConfigError(
            f"{type(datamodule).__name__} has no test_dataloader(): fit() tests the best "
            "checkpoint on a test split, so add one"
        )
    out = Path(output_dir)
    ckpt_dir, metrics_csv = out / "checkpoints", out / "metrics.csv"
    last = ckpt_dir / "last.ckpt"
    settings = {
        "output_dir": out.resolve(),
        "max_epochs": max_epochs,
        "seed": seed,
        "monitor": monitor,
        "mode": mode,
        "patience": patience,
        "gradient_clip_val": gradient_clip_val,
        "ema": ema,
        "precision": precision,
        "compile": compile,
        "accelerator": accelerator,
        "devices": devices,
        "num_nodes": num_nodes,
        "strategy": strategy,
        "limit_train_batches": limit_train_batches,
        "limit_val_batches": limit_val_batches,
        "limit_test_batches": limit_test_batches,
    }
    resolved = _plain(
        {
            "model": {"class_path": _class_path(model), "init_args": dict(model.hparams)},
            "data": {"class_path": _class_path(datamodule), "init_args": dict(datamodule.hparams)},
            "fit": settings,
            **(config or {}),
        }
    )
    with contextlib.ExitStack() as held:
        if rank_zero_only.rank == 0:
            check_output_folder(out)  # before the lock, which removes leftover partials
            held.enter_context(run_lock(out))
            table = datamodule.sample_table() if hasattr(datamodule, "sample_table") else None
            record = None if table is None else stamped(table)  # each file read once
            ckpt_path = _prepare_run_folder(out, resume=resume, resolved=resolved, table=record)
            if record is not None:  # what the run trains on, kept should it be interrupted
                with atomic_path(out / "splits.csv") as tmp:
                    record.to_csv(tmp, index=False)
            atomic_write_text(out / "config.yaml", yaml.safe_dump(resolved, sort_keys=False))
        else:  # DDP ranks > 0: rank 0 holds the lock and has checked the folder
            ckpt_path = last if resume and last.exists() else None
            table = None

        L.seed_everything(seed, workers=True, verbose=False)
        checkpoint = ModelCheckpoint(
            dirpath=ckpt_dir,
            filename="best",
            monitor=monitor,
            mode=mode,
            save_top_k=1,
            enable_version_counter=False,
            auto_insert_metric_name=False,
        )
        # last.ckpt after every epoch (save_last=True writes it only when best.ckpt changed)
        latest = ModelCheckpoint(
            dirpath=ckpt_dir, filename="last", monitor=None, enable_version_counter=False
        )
        all_callbacks: list[Callback] = [
            checkpoint,
            latest,
            _EpochSeed(seed),
            LearningRateMonitor(logging_interval="epoch"),
        ]
        if enable_progress_bar:
            all_callbacks.append(TQDMProgressBar())
        if patience is not None:
            all_callbacks.append(EarlyStopping(monitor=monitor, mode=mode, patience=patience))
        if ema:
            all_callbacks.append(WeightEMA(ema))
        all_callbacks.extend(callbacks)
        deterministic = held.enter_context(deterministic_mode(deterministic, accelerator))
        trainer = L.Trainer(
            default_root_dir=out,
            max_epochs=max_epochs,
            accelerator=accelerator,
            devices=devices,
            num_nodes=num_nodes,
            strategy=strategy,
            precision=precision,
            gradient_clip_val=gradient_clip_val,
            deterministic=deterministic,
            logger=RunLogger(out),
            callbacks=all_callbacks,
            plugins=[_AtomicCheckpointIO()],
            enable_progress_bar=enable_progress_bar,
            limit_train_batches=limit_train_batches,
            limit_val_batches=limit_val_batches,
            limit_test_batches=limit_test_batches,
            log_every_n_steps=log_every_n_steps,
            enable_model_summary=False,
        )
        if compile:
            model.backbone.compile()
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
        # this folder's best.ckpt: a run folder copied elsewhere and resumed restores the
        # callback's best_model_path, which names the original folder's file
        best = ckpt_dir / "best.ckpt" if checkpoint.best_model_path else None
        trainer.test(
            model, datamodule=datamodule, ckpt_path=str(best) if best else "last", verbose=False
        )
        report = model.test_report
        if trainer.is_global_zero and report is not None:
            write_predictions(out, table, model, report)
            if before_report is not None:
                before_report(report, getattr(model, "test_outputs", {}))
            report.save(out, metrics_csv=metrics_csv)  # report.json last: the run is complete
    return RunResult(
        output_dir=out,
        best_checkpoint=best,
        last_checkpoint=last if last.exists() else None,
        report=report,
        metrics_csv=metrics_csv,
    )


# --------------------------------------------------------------------------------------------
# Run folder: refusing, resuming, per-sample records
# --------------------------------------------------------------------------------------------

#: options a resume may change: where and on what the run goes on, and how much memory caches
#: decoded clips (``decoded_cache_mb``: the same samples either way). Not ``num_workers``: each
#: loader worker draws its own augmentation random stream, so another count trains another model
RESUMABLE = frozenset(
    {
        "output_dir", "data_dir", "resume", "accelerator", "devices", "num_nodes", "strategy",
        "compile", "channels_last", "decoded_cache_mb",
    }
)  # fmt: skip


def _prepare_run_folder(
    out: Path, *, resume: bool, resolved: dict, table: Any = None
) -> Path | None:
    """Check the (locked) run folder before anything is written; return the checkpoint to resume
    from, or None to start fresh.

    A folder holding any run artifact is refused unless ``resume``. A resume is refused when the
    model, data or fit settings differ from the run's (:data:`RESUMABLE` aside; each difference
    listed, before the data are compared, so a changed ``seed`` is named as such), then when the
    samples, their splits or their content differ from ``splits.csv`` (``table``: the sample
    table; :func:`split_changes`), and when the run finished (report.json). Only then are the
    metrics rows logged after the checkpoint dropped (the resumed epoch logs them again).

    A run that died before its first ``last.ckpt`` starts again: before its first checkpoint,
    or while the first epoch's were written (``best.ckpt`` is written first, so a ``best.ckpt``
    of epoch 0 without ``last.ckpt``; it and the log are discarded). A ``best.ckpt`` of a later
    epoch without ``last.ckpt`` (removed by hand) is refused with or without ``resume``.
    ``resume`` into a folder with no run warns and starts one: a requeued job passes
    ``--resume`` from its first start.
    """
    present = existing_artifacts(out)
    if not present:
        if resume:
            warnings.warn(f"resume: {out} holds no run; starting a new one", stacklevel=3)
        return None
    best, last = out / "checkpoints" / "best.ckpt", out / "checkpoints" / "last.ckpt"
    first_epoch = best.exists() and not last.exists() and _epoch(best) == 0
    if best.exists() and not last.exists() and not first_epoch:
        raise ConfigError(
            f"{out} already holds a run ({', '.join(present)}) that cannot be resumed: no "
            "checkpoints/last.ckpt (removed?) beside a best.ckpt not of the first epoch: choose "
            "another output_dir"
        )
    # a run that stopped before its first checkpoint trained nothing: deleting it loses nothing
    untrained = (
        ""
        if best.exists() or last.exists()
        else (
            f" (it stopped before its first checkpoint, so nothing was trained: deleting {out} "
            "loses nothing)"
        )
    )
    if not resume:
        raise ConfigError(
            f"{out} already holds a run ({', '.join(present)}): pass resume=True (--resume) to "
            f"continue it, or choose another output_dir{untrained}"
        )
    state = None
    if last.exists():
        state, _ = read_checkpoint(last, map_location="cpu")
    changed = _resume_differences(out, state, resolved)
    if changed:
        rule = ""
        if any(key.endswith("max_epochs") for key in changed):
            rule = (
                "\nmax_epochs cannot change on resume: the learning-rate schedule spans the "
                "whole run; to train longer start a new run (e.g. fine-tune from best.ckpt)"
            )
        raise ConfigError(
            f"cannot resume {out}: these options differ from the run's (recorded -> given):\n"
            + "\n".join(f"  {key}: {a!r} -> {b!r}" for key, (a, b) in sorted(changed.items()))
            + rule
            + f"\npass the run's values, or choose another output_dir{untrained}"
        )
    if state is not None and table is not None:
        _check_recorded_splits(out, table)
    if (out / "report.json").exists():
        raise ConfigError(
            f"{out} holds a finished run (report.json): there is nothing to resume; re-test it "
            "with `audioconv test`, or train longer in a new output_dir"
        )
    if state is None:
        for path in (out / "metrics.csv", best, digest_path(best)):
            path.unlink(missing_ok=True)
        return None
    _drop_rows_after(out / "metrics.csv", state["global_step"])
    return last


def _epoch(checkpoint: Path) -> int | None:
    """The epoch a checkpoint was saved in (None: unreadable)."""
    try:
        return torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)["epoch"]
    except Exception:  # a damaged file is no first-epoch checkpoint
        return None


def _resume_differences(out: Path, state: dict | None, resolved: dict) -> dict[str, tuple]:
    """What a resume would change: the checkpoint's model hyperparameters and the run's
    config.yaml, each compared with the new ``resolved`` config."""
    recorded: list[dict] = []
    if state is not None:
        recorded.append({"model": {"init_args": _plain(state.get("hyper_parameters", {}))}})
    if (out / "config.yaml").is_file():
        recorded.append(read_yaml(out / "config.yaml") or {})
    changed: dict[str, tuple] = {}
    for old in recorded:
        init_args = (old.get("model") or {}).get("init_args")
        if isinstance(init_args, dict):  # a run written before backbone_spec -> backbone_config
            old["model"]["init_args"] = renamed_hparams(init_args, warn=False)
        changed.update(_differences(old, resolved))
    return changed


def _differences(old: Any, new: Any, prefix: str = "") -> dict[str, tuple[Any, Any]]:
    """``{"a.b": (old, new)}`` for every leaf of two nested dicts that differs, walking the keys
    of ``old`` (the recorded part) and skipping :data:`RESUMABLE` ones."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return {} if old == new else {prefix: (old, new)}
    out: dict[str, tuple[Any, Any]] = {}
    for key in old:
        if key in RESUMABLE:
            continue
        name = f"{prefix}.{key}" if prefix else str(key)
        out.update(_differences(old[key], new.get(key, "<absent>"), name))
    return out


def _check_recorded_splits(out: Path, table: Any) -> None:
    """Refuse to resume a run whose samples, splits or file contents differ from its recorded
    ``splits.csv`` (written before training, so an interrupted run has it): new or removed clips
    would re-split the data and put clips the model trained on into its test split; other
    content under the same names (another data folder) would train on other data. Paths are
    compared relative to their common folder, so a data folder moved as a whole may be resumed."""
    recorded = out / "splits.csv"
    if not recorded.is_file():
        return
    changes = split_changes(recorded, table)
    if changes:
        raise ConfigError(
            f"{out}: the data differ from the data this run trained on ({changes}; {recorded} "
            "lists what it trained on): resuming would train on other data, or re-split it and "
            "test on clips it trained on. Restore those files, or start a new run (another "
            "output_dir)"
        )


#: the columns :func:`stamped` adds to splits.csv: each file's size and content fingerprint
STAMP_COLUMNS = ("size", "fingerprint")


def stamped(table: Any) -> Any:
    """The sample table with each file's ``size`` (bytes) and ``fingerprint``
    (:func:`~audioconv._integrity.file_fingerprint`) when it has a ``path`` column (empty for a
    path that is no file); other tables unchanged. ``splits.csv`` holds them, so a resume or
    ``audioconv test`` on other files under the same names is caught."""
    if "path" not in table.columns or set(STAMP_COLUMNS) <= set(table.columns):
        return table  # no files, or stamped already
    files = [Path(p) if Path(p).is_file() else None for p in table["path"].astype(str)]
    return table.assign(
        size=[str(f.stat().st_size) if f else "" for f in files],
        fingerprint=[file_fingerprint(f) if f else "" for f in files],
    )


def split_changes(recorded: Path, table: Any) -> str:
    """``""`` when the sample table ``table`` (a DataFrame as ``sample_table()`` gives) lists the
    samples of the ``splits.csv`` file ``recorded`` in the same splits, with the same labels and,
    when the record has :data:`STAMP_COLUMNS`, with the same file sizes and fingerprints
    (``path`` compared relative to each table's common folder; only the columns both have, so a
    file written before a column was added still compares); otherwise what changed, in
    words."""
    import pandas as pd

    old = pd.read_csv(recorded, dtype=str, keep_default_na=False)
    if set(STAMP_COLUMNS) <= set(old.columns):
        table = stamped(table)
    new = table.astype(str)
    shared = [column for column in old.columns if column in new.columns]
    old, new = old[shared], new[shared]
    stamps = [column for column in STAMP_COLUMNS if column in shared]

    def keyed(table: Any, values: Any) -> Any:
        ids = table.drop(columns=["split", *stamps])
        if "path" not in table.columns:
            keys = ids.astype(str).agg("|".join, axis=1)
        else:
            from audioconv.data.splits import segment_keys

            paths = [Path(p) for p in table["path"]]
            common = Path(os.path.commonpath(paths)) if paths else Path()
            base = common if len(paths) > 1 else common.parent
            cut = segment_keys(table)  # segments of one file are told apart by where they lie
            keys = pd.Series([f"{p.relative_to(base)}{c}" for p, c in zip(paths, cut)])
        return pd.Series(values.to_numpy(), index=keys.to_numpy())

    before, after = keyed(old, old["split"]), keyed(new, new["split"])
    added = after.index.difference(before.index)
    removed = before.index.difference(after.index)
    both = after.index.intersection(before.index)
    moved = int((before[both] != after[both]).sum())
    edited = []
    if stamps:
        content_before = keyed(old, old[stamps].agg("|".join, axis=1))
        content_after = keyed(new, new[stamps].agg("|".join, axis=1))
        edited = list(both[(content_before[both] != content_after[both]).to_numpy()])
    relabelled = []
    labels = [column for column in ("label", "tags") if column in shared]
    if labels and "path" in shared:  # a recipe that labels the files otherwise (another layout)
        labels_before = keyed(old, old[labels].agg("|".join, axis=1))
        labels_after = keyed(new, new[labels].agg("|".join, axis=1))
        relabelled = list(both[(labels_before[both] != labels_after[both]).to_numpy()])
    parts = [
        f"{len(added)} sample(s) added, e.g. {list(added[:2])}" if len(added) else "",
        f"{len(removed)} removed, e.g. {list(removed[:2])}" if len(removed) else "",
        f"{moved} in another split" if moved else "",
        f"{len(edited)} with other content (size or fingerprint), e.g. {edited[:2]}"
        if edited
        else "",
        f"{len(relabelled)} with another label, e.g. {relabelled[:2]}" if relabelled else "",
    ]
    return "; ".join(part for part in parts if part)


def write_predictions(out: Path, table: Any, model, report) -> None:
    """``predictions.csv``: the test split in order, its identifying columns from ``table`` (the
    sample table ``splits.csv`` was written from before training; ``None``: an ``index``), then
    per head ``true``, ``predicted`` and ``p_<class>`` for every class."""
    import pandas as pd

    ids = None
    if table is not None:
        ids = table[table["split"] == "test"].reset_index(drop=True)
        ids = ids.drop(columns=[c for c in ("split", "label", "tags") if c in ids.columns])
    heads = report.heads if hasattr(report, "heads") else {None: report}
    columns: dict[str, Any] = {}
    for name, (output, target) in getattr(model, "test_outputs", {}).items():
        columns.update(prediction_columns(heads[name], output, target, f"{name}/" if name else ""))
    if not columns:
        return
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame(columns)
    if ids is None or len(ids) < n:
        ids = pd.DataFrame({"index": range(n)})
    ids = ids.iloc[:n]  # limit_test_batches tests the first n (the test loader keeps its order)
    frame = pd.concat([ids, frame], axis=1)
    with atomic_path(out / "predictions.csv") as tmp:
        frame.to_csv(tmp, index=False, float_format="%.8g")


def prediction_columns(report, output: torch.Tensor, target: torch.Tensor, prefix: str) -> dict:
    """One head's ``true`` / ``predicted`` / ``p_<class>`` columns of ``predictions.csv``
    (regression: the values), from its ``report`` (task, classes, threshold), ``output``
    (probabilities) and ``target``; ``audioconv test`` writes the same columns."""
    y, p = target.numpy(), output.float().numpy()
    if report.task == "regression":
        if p.ndim == 1:
            return {f"{prefix}true": y, f"{prefix}predicted": p}
        return {
            **{f"{prefix}true_{i}": y[:, i] for i in range(p.shape[1])},
            **{f"{prefix}predicted_{i}": p[:, i] for i in range(p.shape[1])},
        }
    names = list(report.class_names)
    if report.task == "binary":  # (n,) P(positive) -> (n, 2)
        p = np.stack([1 - p, p], axis=1)
        predicted = is_positive(p[:, 1], report.threshold).astype(int)
        true, pred = [names[int(t)] for t in y], [names[k] for k in predicted]
    elif report.task == "multilabel":  # (n, C) multi-hot targets, sigmoid outputs

        def tags(row) -> str:
            return ";".join(n for n, on in zip(names, row, strict=True) if on)

        true = [tags(row > 0.5) for row in y]
        pred = [tags(is_positive(row, report.threshold)) for row in p]
    else:
        true, pred = [names[int(t)] for t in y], [names[k] for k in p.argmax(1)]
    probs = {f"{prefix}p_{c}": p[:, i] for i, c in enumerate(names)}
    return {f"{prefix}true": true, f"{prefix}predicted": pred, **probs}
