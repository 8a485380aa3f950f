"""The shared recipe runner: a recipe names its data, the runner does the rest.

A recipe (``recipes/<name>.py``) is a dataclass whose fields are its options (typed, with
defaults) and whose :meth:`Recipe.experiment` says what is particular to its dataset: the
DataModule, the kind and shape of one input, and the feature front end. :func:`run` then builds the
backbone (``audioconv.models.create``), wraps it in a :class:`~audioconv.tasks.Classifier` that
records what prediction and export need (``sample_rate``, ``input_shape``, ``input_kind``,
``class_names``, backbone and front-end configs), trains it with :func:`audioconv.training.fit` and
prints the test report. :func:`main` is the command line of every recipe::

    python recipes/<name>.py --data-dir DIR --output-dir DIR [--config FILE.yaml]
                             [--max-epochs N] [--seed N] [--smoke] [recipe options]

Options come from the dataclass fields through jsonargparse (``--config`` reads a YAML file of the
same fields; ``--print_config`` shows the resolved one); ``--data-dir`` and ``--data_dir`` are the
same option. ``--smoke`` trains one epoch on a few batches (for tests). The run folder holds
``config.yaml`` (with the recipe's resolved options under ``recipe``), ``checkpoints/``,
``metrics.csv``, ``report.json``, ``report.md`` and the plots.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import importlib.util
import json
import math
import os
import statistics
import sys
import typing
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from audioconv._atomic import atomic_write_text
from audioconv._plain import PlainKwargs, read_yaml
from audioconv.constants import INPUT_KINDS
from audioconv.errors import ConfigError, DatasetError, check_positive

__all__ = [
    "INPUT_KINDS",
    "AudioRecipe",
    "Experiment",
    "Recipe",
    "build_classifier",
    "check_recorded_options",
    "evaluate_checkpoint",
    "list_recipes",
    "load_recipe",
    "main",
    "parse_recipe",
    "parser_for",
    "recipe_options_from_run",
    "recipe_files",
    "recipes_dir",
    "run",
]

SMOKE_BATCHES = 2


def __getattr__(name: str):
    """``audioconv.runner.AudioFrontend``: the front end moved to :mod:`audioconv.features`."""
    if name == "AudioFrontend":
        from audioconv.features import AudioFrontend

        return AudioFrontend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------------------------
# Recipes
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Experiment:
    """What a recipe hands the runner.

    ``input_shape`` is one raw model input without the batch axis: ``(channels, samples)`` for
    audio, ``(channels, time)`` for sensor windows / series, ``(channels, height, width)`` for
    images. ``dims`` is the backbone's (1 or 2); ``backbone_channels`` its input channels when a
    front end changes them (default ``input_shape[0]``). ``frontend`` runs inside the model; it
    needs ``frontend.config`` or ``frontend_config`` (``{"name": <registered front end>,
    "kwargs": {...}}``, see :mod:`audioconv.features.registry`) so checkpoints can rebuild it
    (``frontend_spec``: its deprecated name).
    ``skipped``: the bad files left out before training (a DataFrame ``path``, ``reason``); the
    runner writes them to ``skipped.csv`` and notes them in the report.
    ``contract_options``: fields of the input contract (:class:`~audioconv.contract.InputContract`)
    that say how the data was read, so prediction reads raw inputs the same way, e.g.
    ``{"unequal": "resample"}`` (series stretched to one length), ``{"nan": "zero"}`` (missing
    values read as 0).
    """

    datamodule: Any  # a lightning.LightningDataModule (Lightning loads only to train)
    input_kind: str
    input_shape: tuple[int, ...]
    dims: int
    sample_rate: float | None = None
    frontend: Any = None  # a torch.nn.Module (torch loads only to train: fast --help)
    frontend_config: dict | None = None
    backbone_channels: int | None = None
    skipped: Any = None
    contract_options: dict | None = None
    frontend_spec: dict | None = None  # deprecated name of frontend_config

    def __post_init__(self):
        if self.frontend_spec is not None:
            warnings.warn(
                "Experiment(frontend_spec=) is deprecated: use frontend_config=",
                DeprecationWarning,
                stacklevel=3,
            )
            if self.frontend_config is None:
                object.__setattr__(self, "frontend_config", self.frontend_spec)
        if self.input_kind not in INPUT_KINDS:
            raise ConfigError(f"input_kind={self.input_kind!r} is not one of {INPUT_KINDS}")
        if self.dims not in (1, 2):
            raise ConfigError(f"dims={self.dims!r} must be 1 or 2")


@dataclasses.dataclass
class Recipe(abc.ABC):
    """Options every recipe shares; subclasses add theirs and define :meth:`experiment`.

    Args:
        output_dir: the run folder (refused if it holds a run, unless ``resume``).
        data_dir: the dataset folder (layout per recipe).
        max_epochs: training epochs (``smoke`` caps it at 1).
        seed: seeds splits, initialisation, shuffles and augmentation.
        smoke: one epoch of a few batches, for tests.
        model: a name from ``audioconv.models.list_models()``.
        model_kwargs: extra keyword arguments for ``audioconv.models.create``.
        members: train a deep ensemble of this many models (each its own initialisation and
            loss; predictions are their mean probability): ``members`` times the compute.
        batch_size, lr, weight_decay, optimizer, scheduler, label_smoothing: optimisation.
        monitor, mode, patience: the checkpoint metric and early stopping (``patience=None``: off).
        ema: validate, checkpoint, test and export an exponential moving average of the
            weights with this per-step decay, e.g. ``0.995`` (0: off;
            :class:`~audioconv.training.WeightEMA`).
        num_workers: DataLoader worker processes.
        accelerator, devices, num_nodes, strategy, precision: Lightning's (``accelerator="auto"``
            picks a GPU when there is one; DDP: ``strategy="ddp"``).
        compile: ``torch.compile`` the backbone (for GPUs; slower than eager on our 2-core CPU).
        resume: continue from ``output_dir/checkpoints/last.ckpt``.
    """

    output_dir: Path
    data_dir: Path | None = None
    max_epochs: int = 30
    seed: int = 0
    smoke: bool = False
    model: str = "resnet18"
    model_kwargs: PlainKwargs = dataclasses.field(default_factory=dict)
    members: int = 1
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: Literal["adam", "adamw", "sgd", "rmsprop", "adadelta"] = "adamw"
    scheduler: Literal["cosine", "onecycle"] | None = "onecycle"
    label_smoothing: float = 0.0
    monitor: str = "val/loss"
    mode: Literal["min", "max"] = "min"
    patience: int | None = None
    ema: float = 0.0
    num_workers: int = 0
    accelerator: str = "auto"
    devices: int = 1
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "32-true"
    compile: bool = False
    resume: bool = False

    #: the recipe's name (its script ``recipes/<name>.py``); set by each subclass.
    name = "recipe"

    def __post_init__(self):
        for field in ("max_epochs", "members", "batch_size", "devices", "num_nodes"):
            check_positive(field, getattr(self, field))
        from audioconv.models import registered_model

        registered_model(self.model)  # a misspelled --model fails now, not after the data scan
        reserved = sorted({"dims", "in_channels", "num_classes"} & set(self.model_kwargs or {}))
        if reserved:
            raise ConfigError(
                f"model_kwargs {', '.join(reserved)}: set by the recipe from the data; remove "
                "them from --model_kwargs"
            )
        if not (isinstance(self.lr, int | float) and self.lr > 0):
            raise ConfigError(f"lr={self.lr!r} must be a positive number")
        if self.ema:
            from audioconv.training import WeightEMA

            WeightEMA(self.ema)  # checks the decay before any data is read
        # absolute, so config.yaml and splits.csv do not depend on the shell's folder
        self.output_dir = Path(os.path.abspath(self.output_dir))
        self.data_dir = None if self.data_dir is None else Path(os.path.abspath(self.data_dir))

    @abc.abstractmethod
    def experiment(self) -> Experiment:
        """Build the DataModule and say what one input is (see :class:`Experiment`)."""

    def variants(self) -> list[tuple[str | None, Recipe]]:
        """Runs to make: ``[(sub-folder or None, recipe)]``; e.g. one per cross-validation fold."""
        return [(None, self)]

    def require_data_dir(self, what: str) -> Path:
        """``data_dir``, or a :class:`DatasetError` saying what the folder must hold."""
        if self.data_dir is None:
            raise DatasetError(f"--data-dir is required: pass the {what}")
        if not self.data_dir.exists():
            raise DatasetError(f"{self.data_dir}: no such folder; pass the {what}")
        return self.data_dir

    def options(self) -> dict[str, Any]:
        """The options as YAML-safe builtins (for ``config.yaml``)."""
        return json.loads(json.dumps(dataclasses.asdict(self), default=str))


@dataclasses.dataclass
class AudioRecipe(Recipe):
    """Audio clips -> log-mel (or MFCC / spectrogram) inside the model -> a 2D CNN.

    Subclasses define :meth:`manifest` (a DataFrame for ``AudioDataModule``: ``path``, ``label`` or
    ``tags``, ``group``, ``split`` / ``fold``) and, when needed, :meth:`split_options`.

    Args:
        sample_rate: clips are resampled to it (Hz).
        clip_seconds: every clip is cropped / padded to this length (random crop in training).
        features, n_fft, hop_length, n_mels, n_mfcc: the front end
            (:class:`audioconv.features.AudioFrontend`) of a 2D model; ``"waveform"``: no front
            end, the samples go into a 1D model (``--model conv1d``, ``wavenet``, ``resnet18``;
            SpecAugment and VTLP act on spectrograms, so they are off).
        speed_factors: training speed perturbation factors, e.g. ``[0.9, 1.0, 1.1]`` (``None``:
            off; costly on CPU).
        time_shift: largest training time shift, a fraction of the clip (0: off).
        gain_db: training gain drawn in ``[-gain_db, gain_db]`` dB (0: off).
        noise_snr_db: white noise at an SNR drawn from this range (``None``: off).
        time_mask, freq_mask: SpecAugment mask sizes (frames / bins; 0: off).
        vtlp: vocal tract length perturbation in training: each clip's frequency axis is warped
            by a factor drawn from ``[1 - vtlp, 1 + vtlp]`` (0: off; logmel / spectrogram).
        copypaste: the probability that a training clip gets a part of its window replaced by the
            same span of another clip of its class (:class:`audioconv.data.augment.CopyPaste`;
            single-label data; 0: off).
        mixup: mixup's Beta(alpha, alpha) parameter for training batches of multiclass or
            multilabel data (0: off; :class:`audioconv.data.augment.Mixup`).
        val_size, test_size: fractions for splits the dataset does not define.
        baseline: also fit the classical baseline (:mod:`audioconv.baseline`) on the same split
            and show it beside the network in ``report.json`` / ``report.md`` (``--no-baseline``:
            off).
        decoded_cache_mb: keep decoded, resampled clips in memory up to this many MB, so only
            the first epoch decodes (:mod:`audioconv.data.decoded`; 0: decode every epoch).
        on_error: before training every file is decoded (:mod:`audioconv.data.scan`; cached);
            ``"raise"`` stops with one error listing every bad file, ``"skip"`` trains without
            them and lists them in ``skipped.csv`` in the run folder and in the report.
        expect_rate: every file must be at this sample rate (Hz); others count as bad files
            (``None``: any rate, resampled to ``sample_rate``).
        split_file: pin the split: a CSV with ``path`` and ``split`` columns for every clip, e.g.
            the ``splits.csv`` of an earlier run (relative paths resolve from ``data_dir``).
    """

    model: str = "spectrogram_cnn"
    lr: float = 3e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.05
    sample_rate: int = 16000
    clip_seconds: float = 1.0
    features: Literal["logmel", "mfcc", "spectrogram", "waveform"] = "logmel"
    n_fft: int = 512
    hop_length: int | None = None
    n_mels: int = 64
    n_mfcc: int = 40
    speed_factors: list[float] | None = None
    time_shift: float = 0.15
    gain_db: float = 6.0
    noise_snr_db: tuple[float, float] | None = (15.0, 40.0)
    time_mask: int = 10
    freq_mask: int = 8
    vtlp: float = 0.0
    copypaste: float = 0.0
    mixup: float = 0.0
    val_size: float = 0.1
    test_size: float = 0.1
    baseline: bool = True
    decoded_cache_mb: int = 2048
    on_error: Literal["raise", "skip"] = "raise"
    expect_rate: int | None = None
    split_file: Path | None = None

    def __post_init__(self):
        super().__post_init__()
        if not (self.clip_seconds > 0 and math.isfinite(self.clip_seconds)):
            raise ConfigError(f"clip_seconds={self.clip_seconds!r} must be a positive number")
        self._check_model_dims()
        samples = round(self.clip_seconds * self.sample_rate)
        if self.features != "waveform" and self.n_fft > samples:
            raise ConfigError(
                f"n_fft={self.n_fft} samples is longer than a clip ({self.clip_seconds:g} s at "
                f"{self.sample_rate} Hz = {samples} samples), so each clip would be one frame: "
                f"pass an --n-fft of at most {samples} (e.g. 512), or a longer --clip-seconds"
            )
        if not (self.mixup >= 0 and math.isfinite(self.mixup)):
            raise ConfigError(f"mixup={self.mixup!r} must be >= 0 (0: off)")
        if not 0 <= self.copypaste <= 1:
            raise ConfigError(f"copypaste={self.copypaste!r} must be a probability (0: off)")
        if not 0 <= self.vtlp < 0.5:
            raise ConfigError(f"vtlp={self.vtlp!r} must be in [0, 0.5) (0: off), e.g. 0.1")
        if self.vtlp and self.features in ("mfcc", "waveform"):
            raise ConfigError(
                f"vtlp={self.vtlp} warps a frequency axis, which {self.features} features do "
                "not have: use --features logmel or spectrogram, or --vtlp 0"
            )
        if self.on_error not in ("raise", "skip"):
            raise ConfigError(f"on_error={self.on_error!r}: use 'raise' or 'skip'")
        if self.split_file is not None:  # absolute, as output_dir: config.yaml works from anywhere
            self.split_file = Path(os.path.abspath(self.split_file))

    def _check_model_dims(self) -> None:
        """Refuse a model that cannot take the features: a 2D model on a waveform, or a 1D one
        on a spectrogram (the registry would build a 2D stand-in under the 1D name)."""
        from audioconv.models import list_models
        from audioconv.models.registry import registered_model

        dims = 1 if self.features == "waveform" else 2
        if dims not in registered_model(self.model).dims:
            fix = "--features logmel" if dims == 1 else "--features waveform"
            raise ConfigError(
                f"model {self.model!r} does not take {dims}D inputs, which --features "
                f"{self.features} gives: pass {fix}, or a {dims}D model "
                f"({', '.join(list_models(dims))})"
            )

    @abc.abstractmethod
    def manifest(self):
        """The dataset's manifest DataFrame (see :mod:`audioconv.data.layouts`)."""

    def split_options(self) -> dict[str, Any]:
        """Keyword arguments for ``AudioDataModule``'s split (``split``, ``test_fold``, ...)."""
        return {"split": "auto"}

    def attach_baseline(self, datamodule, report, outputs=None) -> None:
        """Fit the classical baseline on ``datamodule``'s split and record it in ``report``
        (called by ``fit`` before it writes ``report.json``), with the network's paired
        comparison against it when ``outputs`` (``{None: (probabilities, targets)}``, the test
        split in order) holds the same clips."""
        from audioconv.baseline import compare_with_network, run_audio_baseline

        if datamodule.task not in ("binary", "multiclass"):
            report.notes.append(
                f"no classical baseline: it handles single-label tasks, not {datamodule.task}"
            )
            return
        fitted = run_audio_baseline(
            datamodule, sample_rate=self.sample_rate, n_fft=self.n_fft,
            hop_length=self.hop_length, n_mels=self.n_mels, seed=self.seed,
        )  # fmt: skip
        if outputs and None in outputs:
            probabilities, targets = outputs[None]
            compared = compare_with_network(
                fitted, targets.numpy(), probabilities.float().numpy(), task=report.task,
                threshold=report.threshold,
            )  # fmt: skip
            if compared is None:
                report.notes.append(
                    "no paired comparison with the baseline: the network was not tested on the "
                    "baseline's test clips (a run limited to a few test batches?)"
                )
        report.baseline = fitted.to_dict()

    def checked_manifest(self):
        """``(manifest, skipped)``: :meth:`manifest` after decoding every file
        (:func:`audioconv.data.scan.check_audio_files`, cached per ``data_dir``) and pinning
        ``split_file``. ``manifest`` gains ``seconds``; ``skipped`` has ``path`` and ``reason``:
        the bad files, then the files a folder layout did not read by their suffix
        (``manifest.attrs["not_read"]``, reason ``not read: ...``)."""
        import pandas as pd

        from audioconv.data.scan import check_audio_files, default_cache_file
        from audioconv.data.splits import pin_splits

        manifest = self.manifest()
        not_read = manifest.attrs.pop("not_read", {})
        root = self.data_dir if self.data_dir is not None else self.output_dir
        manifest, skipped = check_audio_files(
            manifest, on_error=self.on_error, expect_rate=self.expect_rate,
            cache_file=default_cache_file(root), progress=not self.smoke,
        )  # fmt: skip
        if not_read:
            ignored = pd.DataFrame({"path": list(not_read), "reason": list(not_read.values())})
            skipped = pd.concat([t for t in (skipped, ignored) if len(t)], ignore_index=True)
        if self.split_file is not None:
            manifest = pin_splits(manifest, self.split_file, root=root, skipped=skipped["path"])
        return manifest, skipped

    def augment(self, num_classes: int) -> list:
        """Waveform augmentation for training batches of ``num_classes`` classes (SpecAugment
        lives in the front end)."""
        from audioconv.data.augment import (
            AddNoise,
            CopyPaste,
            Gain,
            Mixup,
            SpeedPerturb,
            TimeShift,
        )

        steps = []  # nn.Module steps
        if self.speed_factors:
            steps.append(SpeedPerturb(sample_rate=self.sample_rate, factors=self.speed_factors))
        if self.time_shift > 0:
            steps.append(TimeShift(max_shift=self.time_shift, rollover=False))
        if self.gain_db > 0:
            steps.append(Gain(min_db=-self.gain_db, max_db=self.gain_db))
        if self.noise_snr_db is not None:
            steps.append(AddNoise(snr_db=tuple(self.noise_snr_db)))
        if self.copypaste > 0:  # before mixup: it needs each clip's one label
            steps.append(CopyPaste(p=self.copypaste))
        if self.mixup > 0:  # last: it mixes the augmented clips and their labels
            steps.append(Mixup(alpha=self.mixup, num_classes=num_classes))
        return steps

    def experiment(self) -> Experiment:
        from audioconv.data import AudioDataModule, AudioDataset
        from audioconv.data.decoded import keep_decoded
        from audioconv.features import AudioFrontend

        samples = round(self.clip_seconds * self.sample_rate)
        manifest, skipped = self.checked_manifest()
        dataset = AudioDataset(manifest, sample_rate=self.sample_rate, check_files=False)
        if self.copypaste > 0 and dataset.task not in ("binary", "multiclass"):
            raise ConfigError(
                f"copypaste={self.copypaste} keeps each clip's one label: {dataset.task} data "
                "needs copypaste=0"
            )
        if self.mixup > 0 and dataset.task == "binary":
            raise ConfigError(f"mixup={self.mixup} mixes one-hot labels: binary data needs mixup=0")
        datamodule = AudioDataModule(
            keep_decoded(dataset, max_bytes=self.decoded_cache_mb * 2**20),
            window=samples,
            val_size=self.val_size,
            test_size=self.test_size,
            seed=self.seed,
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            augment=self.augment(len(dataset.class_names)) or None,
            **({"split": "predefined"} if self.split_file else self.split_options()),
        )
        waveform = self.features == "waveform"
        frontend = (
            None
            if waveform
            else AudioFrontend(
                kind=self.features,
                sample_rate=self.sample_rate,
                n_fft=self.n_fft,
                hop_length=self.hop_length,
                n_mels=self.n_mels,
                n_mfcc=self.n_mfcc,
                time_mask=self.time_mask,
                freq_mask=self.freq_mask,
                vtlp=self.vtlp,
            )
        )
        return Experiment(
            datamodule=datamodule,
            input_kind="audio",
            input_shape=(1, samples),
            dims=1 if waveform else 2,
            sample_rate=self.sample_rate,
            frontend=frontend,
            skipped=skipped,
        )


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def _no_validation(datamodule) -> bool:
    """True when the (set-up) DataModule has no validation split, e.g. ``ucr``'s ``val_size=0``;
    then Lightning is told to skip validation instead of warning about an empty loader."""
    return hasattr(datamodule, "val_set") and datamodule.val_set is None


def build_classifier(recipe: Recipe, experiment: Experiment):
    """The :class:`~audioconv.tasks.Classifier` for ``experiment`` (backbone from the registry)."""
    from audioconv.contract import InputContract
    from audioconv.models import create
    from audioconv.tasks import Classifier

    datamodule = experiment.datamodule
    datamodule.setup("fit")
    names = list(datamodule.class_names)
    channels = experiment.backbone_channels or experiment.input_shape[0]
    backbone = create(
        recipe.model,
        dims=experiment.dims,
        in_channels=channels,
        num_classes=len(names),
        **recipe.model_kwargs,
    )  # records backbone.config, which the Classifier keeps for load_classifier
    return Classifier(
        backbone,
        task=datamodule.task,
        num_classes=len(names),
        class_names=names,
        optimizer=recipe.optimizer,
        lr=recipe.lr,
        weight_decay=recipe.weight_decay,
        scheduler=recipe.scheduler,
        label_smoothing=recipe.label_smoothing,
        members=recipe.members,
        frontend=experiment.frontend,
        frontend_config=experiment.frontend_config,
        sample_rate=experiment.sample_rate,
        input_shape=tuple(experiment.input_shape),
        input_kind=experiment.input_kind,
        input_contract=InputContract.from_input(
            input_kind=experiment.input_kind,
            input_shape=experiment.input_shape,
            sample_rate=experiment.sample_rate,
            **(experiment.contract_options or {}),
        ).to_dict(),
    )


def _fit_one(recipe: Recipe, output_dir: Path, *, progress: bool, out=None):
    import lightning as L

    from audioconv.training import fit

    L.seed_everything(recipe.seed, workers=True, verbose=False)
    experiment = recipe.experiment()
    model = build_classifier(recipe, experiment)
    _before_training(recipe, experiment, model, output_dir, out)
    limit = SMOKE_BATCHES if recipe.smoke else None
    result = fit(
        model,
        experiment.datamodule,
        output_dir=output_dir,
        max_epochs=1 if recipe.smoke else recipe.max_epochs,
        seed=recipe.seed,
        monitor=recipe.monitor,
        mode=recipe.mode,
        patience=None if recipe.smoke else recipe.patience,
        ema=recipe.ema,
        precision=recipe.precision,
        resume=recipe.resume,
        compile=recipe.compile,
        accelerator=recipe.accelerator,
        devices=recipe.devices,
        num_nodes=recipe.num_nodes,
        strategy=recipe.strategy,
        limit_train_batches=limit,
        limit_val_batches=0 if _no_validation(experiment.datamodule) else limit,
        limit_test_batches=limit,
        enable_progress_bar=progress,
        config={"recipe": {"name": recipe.name, "options": recipe.options()}},
        before_report=functools.partial(_complete_report, recipe, experiment, output_dir),
    )
    return result


def _complete_report(
    recipe: Recipe, experiment: Experiment, output_dir: Path, report, outputs
) -> None:
    """What a recipe adds to the test report before ``fit`` writes it (the run folder still
    locked): the classical baseline (compared with the network's test ``outputs``), and
    ``skipped.csv`` with a note when files were skipped."""
    if getattr(recipe, "baseline", False):
        recipe.attach_baseline(experiment.datamodule, report, outputs)
    skipped = experiment.skipped
    if skipped is not None and len(skipped):
        from audioconv.data.summary import not_read, not_read_note, write_skipped

        write_skipped(skipped, output_dir)
        ignored = not_read(skipped)
        if not ignored.all():
            report.notes.append(
                f"{len(skipped) - ignored.sum()} bad file(s) skipped before training "
                "(on_error='skip'), listed in skipped.csv"
            )
        if ignored.any():
            report.notes.append(not_read_note(skipped))


def _before_training(recipe: Recipe, experiment: Experiment, model, output_dir: Path, out):
    """Print what the run trains on (clips / seconds / groups per split and class), the model's
    size and input, and the run folder (nothing is written: ``fit`` has not locked it yet)."""
    from audioconv.data.summary import describe_run

    datamodule = experiment.datamodule
    skipped = experiment.skipped
    table = None
    manifest = getattr(getattr(datamodule, "dataset", None), "manifest", None)
    if manifest is not None and hasattr(datamodule, "split_indices"):  # audio: a row per clip
        import pandas as pd

        parts = datamodule.split_indices.items()
        table = pd.concat([manifest.iloc[rows].assign(split=name) for name, rows in parts])
    elif hasattr(datamodule, "sample_table"):  # images / series / windows: splits only
        table = datamodule.sample_table()
    text = describe_run(
        table,
        model_name=recipe.model if recipe.members == 1 else f"{recipe.members} x {recipe.model}",
        parameters=sum(p.numel() for p in model.parameters()),
        input_shape=experiment.input_shape,
        input_kind=experiment.input_kind,
        output_dir=output_dir,
        skipped=skipped,
    )
    print(text, file=sys.stdout if out is None else out, flush=True)


def run(recipe: Recipe, *, progress: bool = True, out=None) -> list:
    """Train and test every variant of ``recipe``; print each report summary to ``out``.

    Returns the :class:`~audioconv.training.RunResult` of each variant. With several variants
    (e.g. cross-validation folds) each runs in ``output_dir/<variant>`` and ``cv_summary.json``
    gathers their test accuracy (mean and standard deviation). The output folder is checked
    (:func:`~audioconv._runfolder.check_output_folder`) before any data is read.
    """
    from audioconv._runfolder import check_output_folder

    check_output_folder(recipe.output_dir)
    out = sys.stdout if out is None else out
    results = []
    variants = recipe.variants()
    for name, variant in variants:
        folder = recipe.output_dir if name is None else recipe.output_dir / name
        result = _fit_one(variant, folder, progress=progress, out=out)
        title = f"{recipe.name}" + (f" [{name}]" if name else "") + f" -> {folder}"
        print(f"\n== {title}\n{result.report.summary()}", file=out, flush=True)
        results.append((name, result))
    if len(variants) > 1:
        _write_cv_summary(recipe.output_dir, results, out)
    return [result for _, result in results]


def _write_cv_summary(output_dir: Path, results: list, out) -> None:
    scores = {
        name: result.report.metrics.get("accuracy_score")
        for name, result in results
        if hasattr(result.report, "metrics")
    }
    values = [v for v in scores.values() if v is not None]
    summary = {
        "accuracy": scores,
        "mean_accuracy": statistics.fmean(values) if values else None,
        "std_accuracy": statistics.stdev(values) if len(values) > 1 else None,
    }
    atomic_write_text(output_dir / "cv_summary.json", json.dumps(summary, indent=2) + "\n")
    if values:
        print(
            f"\ncross-validation accuracy: {summary['mean_accuracy']:.4f} "
            f"(std {summary['std_accuracy'] or 0:.4f}, {len(values)} folds)",
            file=out,
        )


def evaluate_checkpoint(
    recipe: Recipe,
    checkpoint: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    recorded_splits: str | os.PathLike | None = None,
):
    """Test ``checkpoint`` on ``recipe``'s test split; write report.json / report.md / plots to
    ``output_dir``. Returns the report.

    ``recorded_splits``: the run's ``splits.csv``; the split built now must list the same samples
    in the same splits (else a ``DatasetError`` says what changed): a series or sensor run's split
    is made again from its data and seed, and data that changed since would put samples the model
    trained on into the test.

    A DataModule that hands out whole test clips (``test_clips``, e.g. ``AudioDataModule``) is
    scored per clip through the checkpoint's input contract — the path ``audioconv predict``
    takes: windows, the mean of their probabilities, ``>= threshold`` (``level: "clip"``).
    Others are scored per model input by ``Trainer.test``.
    """
    import lightning as L

    from audioconv.tasks import load_classifier
    from audioconv.training import write_predictions

    experiment = recipe.experiment()
    datamodule = experiment.datamodule
    table = datamodule.sample_table() if hasattr(datamodule, "sample_table") else None
    if recorded_splits is not None and table is not None and Path(recorded_splits).is_file():
        _check_same_split(Path(recorded_splits), table)
    if hasattr(datamodule, "test_clips"):
        report, predictions = _clip_level_report(datamodule, checkpoint, smoke=recipe.smoke)
        report.save(output_dir)
        atomic_write_text(Path(output_dir) / "predictions.csv", predictions.to_csv(index=False))
        return report
    model = load_classifier(checkpoint)
    trainer = L.Trainer(
        accelerator=recipe.accelerator,
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_test_batches=SMOKE_BATCHES if recipe.smoke else None,
    )
    trainer.test(model, datamodule=datamodule, verbose=False)
    write_predictions(Path(output_dir), table, model, model.test_report)  # as the run did
    model.test_report.save(output_dir)
    return model.test_report


def _check_same_split(recorded: Path, table) -> None:
    """Refuse a test whose sample ``table`` differs from the run's ``recorded`` splits.csv."""
    from audioconv.training import split_changes

    changes = split_changes(recorded, table)
    if changes:
        raise DatasetError(
            f"{recorded}: the data differ from the data this run trained on ({changes}): the "
            "test would score other data, or a split made again with samples the model trained "
            "on. Restore the data the run read (or pass --data-dir where it is now)"
        )


def _clip_level_report(datamodule, checkpoint: str | os.PathLike, *, smoke: bool):
    """Each test clip through ``CheckpointClassifier`` (the input contract), then evaluated:
    the report and a table per clip with the columns of the run's own ``predictions.csv``
    (``path``, ``true``, ``predicted``, ``p_<class>``) and ``probability`` (of ``predicted``)."""
    import itertools

    import numpy as np
    import pandas as pd
    import torch

    from audioconv.evaluation import evaluate
    from audioconv.export import CheckpointClassifier
    from audioconv.training import prediction_columns

    predictor = CheckpointClassifier(checkpoint)
    clips, rate, labels, paths = datamodule.test_clips()
    if smoke:
        limit = SMOKE_BATCHES * datamodule.batch_size
        clips, labels, paths = itertools.islice(clips, limit), labels[:limit], paths[:limit]
    predictions = predictor.predict_batch(clips, sample_rate=rate, batch_size=datamodule.batch_size)
    probabilities = np.stack([p.probabilities for p in predictions])
    report = evaluate(
        labels,
        probabilities,
        task=predictor.task,
        class_names=predictor.class_names,
        threshold=predictor.threshold,
        level="clip",
    )
    columns = prediction_columns(
        report, torch.as_tensor(probabilities), torch.as_tensor(np.asarray(labels)), ""
    )
    table = pd.DataFrame({"path": paths, **columns, "probability": [p.score for p in predictions]})
    return report, table


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def recipes_dir() -> Path:
    """The built-in ``recipes/`` folder beside the package (present in a source checkout /
    editable install)."""
    return Path(__file__).resolve().parent.parent / "recipes"


def recipe_files() -> dict[str, Path]:
    """Each registered recipe name -> its file: the ``.py`` files of the folders in
    ``AUDIOCONV_RECIPES`` (an ``os.pathsep``-separated list), then of :func:`recipes_dir`; the
    first folder holding a name wins."""
    folders = [Path(f) for f in os.environ.get("AUDIOCONV_RECIPES", "").split(os.pathsep) if f]
    files: dict[str, Path] = {}
    for folder in [*folders, recipes_dir()]:
        for path in sorted(folder.glob("*.py")):
            if path.stem.isidentifier() and not path.stem.startswith("_"):
                files.setdefault(path.stem, path)
    return files


def list_recipes() -> list[str]:
    """The registered recipe names, sorted (see :func:`recipe_files`)."""
    return sorted(recipe_files())


def load_recipe(name: str, *, allow_path: bool = False) -> type[Recipe]:
    """The recipe class of a registered recipe name (``recipes/<name>.py``).

    ``allow_path=True`` also accepts a path to a ``.py`` file: only for a path the user typed on
    the command line (``audioconv fit my_recipe.py``), never for a name read from a file.
    """
    known = recipe_files()
    if name in known:
        path = known[name]
    elif allow_path and str(name).endswith(".py") and Path(name).is_file():
        path = Path(name)
    else:
        typed = " or a path to a recipe .py" if allow_path else ""
        raise ConfigError(
            f"no recipe {name!r}: give a recipe name{typed}; recipes: "
            f"{', '.join(sorted(known)) or 'none'} (a recipe of your own: add its folder to "
            f"AUDIOCONV_RECIPES, folders separated by {os.pathsep!r})"
        )
    spec = importlib.util.spec_from_file_location(f"audioconv_recipe_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building the class
    spec.loader.exec_module(module)
    recipe = getattr(module, "RECIPE", None)
    if not (isinstance(recipe, type) and issubclass(recipe, Recipe)):
        raise ConfigError(f"{path} does not define RECIPE = <a Recipe subclass>")
    if recipe.name != path.stem:  # a run records the name: test / --config must find this file
        raise ConfigError(
            f"{path} defines a recipe named {recipe.name!r}, not {path.stem!r}: a run records "
            f"the name and re-runs the file of that name; set name = {path.stem!r} in its class"
        )
    return recipe


def _normalized(argv: Sequence[str], flags: set[str]) -> list[str]:
    """``--data-dir x`` -> ``--data_dir x`` (jsonargparse names options after the fields) and a
    bare boolean flag ``--smoke`` -> ``--smoke=true``; ``--no-baseline`` -> ``--baseline=false``."""
    out = []
    for i, arg in enumerate(argv):
        if arg.startswith("--") and len(arg) > 2:
            key, sep, value = arg[2:].partition("=")
            key = key.replace("-", "_")
            bare = not sep and (i + 1 == len(argv) or argv[i + 1].startswith("--"))
            if key in flags and bare:
                sep, value = "=", "true"
            elif bare and key.startswith("no_") and key[3:] in flags:
                key, sep, value = key[3:], "=", "false"
            arg = "--" + key + sep + value
        out.append(arg)
    return out


def _flags(recipe_class: type[Recipe]) -> set[str]:
    hints = typing.get_type_hints(recipe_class)
    return {f.name for f in dataclasses.fields(recipe_class) if hints[f.name] is bool}


def parser_for(recipe_class: type[Recipe], prog: str | None = None):
    """The jsonargparse parser of a recipe: its dataclass fields plus ``--config``."""
    from jsonargparse import ActionConfigFile, ArgumentParser

    parser = ArgumentParser(
        prog=prog or f"recipes/{recipe_class.name}.py",
        description=(recipe_class.__doc__ or "").strip().split("\n\n")[0],
        epilog=(
            "Dashes and underscores in option names are interchangeable; a boolean option "
            "given alone (--smoke) means true."
        ),
    )
    parser.add_argument("--config", action=ActionConfigFile, help="YAML file of these options")
    parser.add_class_arguments(recipe_class, nested_key=None, as_group=False)
    return parser


def check_recorded_options(recipe_class: type[Recipe], options: dict, source) -> dict:
    """``options`` (a run's config.yaml) as the recipe's types (paths as ``Path``, pairs as
    tuples, as the command line gives them); an unknown name or a value of the wrong type is
    refused, named with the file."""
    from jsonargparse import ArgumentError

    check = parser_for(recipe_class)
    check.exit_on_error = False
    try:
        typed = check.parse_object({"output_dir": ".", **options}).as_dict()
    except ArgumentError as error:
        text = " ".join(str(error).split())
        raise ConfigError(
            f"{source}: recipe.options do not fit recipe {recipe_class.name!r} ({text}); fix or "
            "delete the option in the file"
        ) from None
    return {key: typed[key] for key in options}


def parse_recipe(recipe_class: type[Recipe], argv: Sequence[str], prog: str | None = None):
    """Parse ``argv`` into a ``recipe_class`` instance.

    ``--config FILE`` reads a YAML of the options, or a run folder's ``config.yaml``: then the
    options recorded under ``recipe`` are the defaults (the recipe must be this one) and the
    rest of ``argv`` overrides them — ``--config runs/x/config.yaml --output-dir runs/x2``
    re-runs ``runs/x`` into a new folder.
    """
    parser = parser_for(recipe_class, prog)
    argv = _normalized(argv, _flags(recipe_class))
    run_config, argv = _run_config_argument(argv)
    if run_config is not None:
        name, options = recipe_options_from_run(run_config)
        if name != recipe_class.name:
            raise ConfigError(
                f"{run_config} is a run of recipe {name!r}, not {recipe_class.name!r}: run it "
                f"with recipes/{name}.py (or audioconv fit --config {run_config})"
            )
        check_recorded_options(recipe_class, options, run_config)
        parser.set_defaults(**options)
    config = parser.parse_args(argv)
    options = {k: v for k, v in config.as_dict().items() if k not in ("config", "__path__")}
    return recipe_class(**options)


def main(
    recipe_class: type[Recipe], argv: Sequence[str] | None = None, prog: str | None = None
) -> int:
    """Command line of a recipe script: parse the options, train, test, print the report.

    Run as ``python recipes/<name>.py`` it first tunes the process (a one-time re-exec, see
    :mod:`audioconv._allocator`); called from Python it changes nothing process-wide.
    """
    from audioconv._allocator import ensure_tuned_malloc, is_command_line_entry

    if argv is None and is_command_line_entry(recipe_class):
        print(ensure_tuned_malloc(), file=sys.stderr)
    recipe = parse_recipe(recipe_class, sys.argv[1:] if argv is None else argv, prog)
    run(recipe)
    return 0


def recipe_options_from_run(run: str | os.PathLike) -> tuple[str, dict[str, Any]]:
    """The recipe name and options recorded in a run's ``config.yaml`` (``run``: the file or its
    folder). Relative ``output_dir`` / ``data_dir`` are taken relative to the file's folder."""
    path = Path(run)
    path = path / "config.yaml" if path.is_dir() else path
    if not path.is_file():
        raise ConfigError(
            f"{path}: missing, so this is not a run folder written by a recipe: pass the run "
            "folder (`audioconv test --run-dir RUN`, `audioconv fit --config RUN/config.yaml`), "
            "or name the recipe (`audioconv fit RECIPE ...`)"
        )
    config = read_yaml(path) or {}
    recipe = config.get("recipe") if isinstance(config, dict) else None
    if not isinstance(recipe, dict) or "name" not in recipe:
        raise ConfigError(f"{path} was not written by a recipe run (no 'recipe' section)")
    known = list_recipes()
    if recipe["name"] not in known:  # a name only: a path in a file is never imported
        raise ConfigError(
            f"{path}: recipe.name={recipe['name']!r} is not a registered recipe "
            f"({', '.join(known) or 'none'}); a run folder names its recipe, never a file: fix "
            "config.yaml, or add the folder holding that recipe to AUDIOCONV_RECIPES (folders "
            f"separated by {os.pathsep!r})"
        )
    options = dict(recipe.get("options") or {})
    for key in ("output_dir", "data_dir", "split_file"):
        if isinstance(options.get(key), str):  # an absolute path stays as it is
            options[key] = os.path.join(path.parent.absolute(), options[key])
    return recipe["name"], options


def _is_run_config(path: str) -> bool:
    """True when ``path`` is a YAML file with a ``recipe`` section (a run's config.yaml)."""
    try:
        config = read_yaml(path)  # not plain, or an alias bomb: refused here, not expanded later
    except OSError:
        return False  # jsonargparse reports it
    return isinstance(config, dict) and isinstance(config.get("recipe"), dict)


def _run_config_argument(argv: list[str]) -> tuple[Path | None, list[str]]:
    """Split a ``--config`` naming a run's config.yaml off ``argv`` (normalised arguments)."""
    for i, arg in enumerate(argv):
        if arg == "--config" and i + 1 < len(argv):
            path, rest = argv[i + 1], [*argv[:i], *argv[i + 2 :]]
        elif arg.startswith("--config="):
            path, rest = arg.partition("=")[2], [*argv[:i], *argv[i + 1 :]]
        else:
            continue
        if _is_run_config(path):
            return Path(path), rest
    return None, argv
