"""The LightningModules: :class:`Classifier` (one head) and :class:`MultiOutputClassifier`.

Both share ``_TaskModule``: optimisers and schedulers, the training / evaluation / predict steps,
the input contract in hparams and the backbone / front end built from their configs
(:mod:`audioconv.tasks.configs`). The per-task math lives in :mod:`audioconv.tasks.heads`; each
:class:`~audioconv.tasks.heads.Head` (what an output predicts) is held by its loss:
``Classifier.loss.head``, ``MultiOutputClassifier.losses[name].head``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import lightning as L
import torch
from torch import nn
from torch.utils.data import DistributedSampler

from audioconv._plain import python_scalar
from audioconv.constants import INPUT_KINDS
from audioconv.contract import ClipWindows, InputContract, clip_means
from audioconv.errors import ConfigError, check_positive
from audioconv.models import channels_last_1d as cl1d
from audioconv.tasks.configs import (
    RENAMED_HPARAMS,
    build_backbone,
    build_frontend,
    renamed_hparams,
    resolve_backbone_config,
    resolve_frontend_config,
)
from audioconv.tasks.ensemble import Ensemble
from audioconv.tasks.heads import Head, TaskLoss, task_output, task_score

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adadelta")
SCHEDULERS = (None, "cosine", "onecycle")


def _unpack(batch: Any) -> tuple[Any, Any]:
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    raise ConfigError(
        f"a training / evaluation batch must be a tuple (x, y), got {type(batch).__name__}"
        + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else "")
    )


def _batch_size(x: Any) -> int:
    return len(x) if isinstance(x, torch.Tensor) else 1


def _repeat_labels(y: Any, counts: torch.Tensor) -> Any:
    """Each clip's labels once per window: ``(clips, ...)`` -> ``(windows, ...)``; per head."""
    if isinstance(y, Mapping):
        return {name: _repeat_labels(value, counts) for name, value in y.items()}
    return torch.repeat_interleave(y, counts.to(y.device), dim=0)


class _TaskModule(L.LightningModule):
    """Optimisers, schedulers and the shared training / evaluation / predict steps.

    Subclasses define ``forward(x) -> logits`` (a tensor, or a dict per head), ``criteria``
    (``{head name or None: TaskLoss}``) and ``_report(outputs)``.
    """

    criteria: dict[str | None, TaskLoss]

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path, *args, weights_only: bool = True, **kwargs):
        """Lightning's loader with its pickle guard always on (``weights_only=True``, whatever
        the installed torch's default): a checkpoint is data, never code. An object other than
        weights in the file is refused. :func:`audioconv.tasks.load_classifier` also checks the
        file's SHA-256 record and that the weights are finite."""
        if not weights_only:
            raise ConfigError(
                "weights_only=False would let the checkpoint run code when it is unpickled; "
                "audioconv checkpoints hold plain values and weights only"
            )
        return super().load_from_checkpoint(checkpoint_path, *args, weights_only=True, **kwargs)

    def _record_input(self, sample_rate, input_shape, input_kind, input_contract) -> None:
        """Validate and store what prediction / export need to read raw inputs: the input
        contract (``audioconv.contract.InputContract``) as plain values in hparams
        ``input_contract``, given or implied by ``input_kind`` / ``input_shape`` / ``sample_rate``
        (``None`` when the input shape is unknown)."""
        if input_kind is not None and input_kind not in INPUT_KINDS:
            raise ConfigError(f"input_kind={input_kind!r} is not one of {INPUT_KINDS}")
        if sample_rate is not None and not sample_rate > 0:
            raise ConfigError(f"sample_rate={sample_rate!r} must be a positive number of Hz")
        if input_shape is not None:
            shape = list(input_shape) if isinstance(input_shape, list | tuple) else []
            if not shape or not all(isinstance(n, numbers.Integral) and n >= 1 for n in shape):
                raise ConfigError(
                    f"input_shape={input_shape!r} must list positive sizes, e.g. (1, 16000)"
                )
            self.hparams["input_shape"] = [int(n) for n in shape]
        contract = None
        if input_contract is not None:
            contract = InputContract.from_dict(input_contract)
        elif input_shape is not None:
            contract = InputContract.from_input(
                input_kind=input_kind, input_shape=input_shape, sample_rate=sample_rate
            )
        self.input_contract: InputContract | None = contract
        self.hparams["input_contract"] = None if contract is None else contract.to_dict()

    def _init_common(self, backbone: nn.Module | None, frontend: nn.Module | None) -> nn.Module:
        """Check the shared options (read from ``self.hparams``, which ``save_hyperparameters``
        filled), build the backbone / front end from their configs; the backbone to use."""
        h = self.hparams
        for key, value in h.items():  # np.float64(1e-3) from a sweep: checkpoints hold plain values
            h[key] = python_scalar(value)
        optimizer, scheduler, lr = h["optimizer"], h["scheduler"], h["lr"]
        weight_decay, momentum, channels_last = h["weight_decay"], h["momentum"], h["channels_last"]
        if optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer={optimizer!r} is not one of {OPTIMIZERS}")
        if scheduler not in SCHEDULERS:
            raise ConfigError(f"scheduler={scheduler!r} is not one of {SCHEDULERS}")
        if not (isinstance(lr, numbers.Real) and lr > 0):
            raise ConfigError(f"lr={lr!r} must be a positive number")
        if not (isinstance(weight_decay, numbers.Real) and weight_decay >= 0):
            raise ConfigError(f"weight_decay={weight_decay!r} must be >= 0")
        if not (isinstance(momentum, numbers.Real) and 0 <= momentum < 1):
            raise ConfigError(f"momentum={momentum!r} must be in [0, 1)")
        names = ("backbone_config", "frontend_config", *RENAMED_HPARAMS)
        given = renamed_hparams({name: h.pop(name, None) for name in names}, warn=True)
        bconfig = resolve_backbone_config(backbone, given.get("backbone_config"))
        fconfig = resolve_frontend_config(frontend, given.get("frontend_config"))
        if backbone is None:
            if bconfig is None:
                raise ConfigError(
                    "no backbone: pass an nn.Module, or backbone_config={'name': ..., 'kwargs': "
                    "{...}} for audioconv.models.create"
                )
            backbone = build_backbone(bconfig)
        if not callable(getattr(backbone, "reset_classifier", None)):
            raise ConfigError(
                f"backbone {type(backbone).__name__} has no reset_classifier(num_classes): use an "
                "audioconv.models backbone or follow the contract in docs/architecture.md"
            )
        if frontend is None and fconfig is not None:
            frontend = build_frontend(fconfig)
        if frontend is not None and fconfig is None:  # a checkpoint could not rebuild it
            raise ConfigError(
                f"front end {type(frontend).__name__} has no config, so a checkpoint, export or "
                "stream of this model would run without it: build it with "
                "audioconv.features.create_frontend(<registered name>, ...), or pass "
                "frontend_config={'name': ..., 'kwargs': {...}}"
            )
        self.hparams["backbone_config"] = bconfig
        self.hparams["frontend_config"] = fconfig
        self.frontend = frontend
        if channels_last is None:  # convolutions run faster channels-last on CPUs and GPUs
            channels_last = any(isinstance(m, nn.Conv2d | cl1d.Conv1d) for m in backbone.modules())
        self.channels_last = bool(channels_last)
        self._test_outputs: dict[str | None, list[tuple[torch.Tensor, torch.Tensor]]] = {}
        self.test_outputs: dict[str | None, tuple[torch.Tensor, torch.Tensor]] = {}
        self.test_report = None
        return cl1d.set_channels_last(backbone) if self.channels_last else backbone

    def _features_input(self, x: torch.Tensor) -> torch.Tensor:
        """Run the frontend (if any) and set the memory format the backbone wants."""
        if self.frontend is not None:
            x = self.frontend(x)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        elif self.channels_last and x.dim() == 3:
            x = cl1d.time_major(x)
        return x

    # --- per-head plumbing -------------------------------------------------------------------

    def _pairs(self, logits: Any, y: Any) -> dict[str | None, tuple[torch.Tensor, Any]]:
        raise NotImplementedError

    def _outputs(self, logits: Any) -> Any:
        raise NotImplementedError

    def _report(self, outputs: dict[str | None, tuple[torch.Tensor, torch.Tensor]]) -> Any:
        raise NotImplementedError

    def setup(self, stage: str) -> None:
        """Resolve ``class_weights="balanced"`` from ``trainer.datamodule.train_labels()``."""
        pending = {name: loss for name, loss in self.criteria.items() if loss.balanced}
        if stage != "fit" or not pending:
            return
        train_labels = getattr(self.trainer.datamodule, "train_labels", None)
        if train_labels is None:
            raise ConfigError(
                "class_weights='balanced' needs the training labels: give the DataModule a "
                "train_labels() method, or pass class_weights=balanced_class_weights(labels, ...)"
            )
        labels = train_labels()
        for name, loss in pending.items():
            loss.resolve_balanced(labels if name is None else labels[name])

    def _losses(self, logits: Any, y: Any) -> tuple[torch.Tensor, dict, dict]:
        pairs = self._pairs(logits, y)
        losses = {name: self.criteria[name](lg, t) for name, (lg, t) in pairs.items()}
        total = sum(self.criteria[name].head.weight * loss for name, loss in losses.items())
        return total, losses, pairs

    # --- steps ---------------------------------------------------------------------------------

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = _unpack(batch)
        total, _, pairs = self._losses(self(x), y)
        self.log(
            "train/loss",
            total,
            on_step=True,
            on_epoch=True,
            prog_bar=True,
            batch_size=_batch_size(x),
        )
        logits, target = pairs.get(None, (None, None))
        head = self.criteria[None].head if None in self.criteria else None
        if head is not None and not (head.task == "multiclass" and target.is_floating_point()):
            # the training score per epoch (on augmented batches; not with mixed soft labels)
            output = task_output(
                logits.detach().float(), task=head.task, regression_output=head.regression_output
            )
            metric, value = task_score(output, target, task=head.task, threshold=self._threshold)
            n = _batch_size(x)
            self.log(f"train/{metric}", value, on_step=False, on_epoch=True, batch_size=n)
        return total

    def _shared_eval_step(self, batch: Any, stage: str) -> torch.Tensor:
        """Loss and a cheap metric per head, logged as ``{stage}/loss``, ``{stage}/acc`` (or
        ``mae``; multi-output: ``{stage}/{head}/...``); test outputs are kept for the report.

        Clips cut into windows by the input contract (``x`` a :class:`ClipWindows`) are scored
        per clip, by the mean of their windows' outputs; the loss is the windows' (each window
        with its clip's label)."""
        x, y = _unpack(batch)
        counts = None
        if isinstance(x, ClipWindows):
            x, counts = x.windows, x.counts
        per_window = y if counts is None else _repeat_labels(y, counts)
        total, losses, pairs = self._losses(self(x), per_window)
        n = _batch_size(x) if counts is None else len(counts)
        log = {"on_step": False, "on_epoch": True, "sync_dist": True, "batch_size": n}
        for name, (logits, target) in pairs.items():
            head = self.criteria[name].head
            output = task_output(
                logits.float(), task=head.task, regression_output=head.regression_output
            )
            if counts is not None:  # (windows, ...) -> (clips, ...)
                output = clip_means(output, counts)
                target = y if name is None else y[name]
            if head.task in ("regression", "multilabel"):
                target = target.reshape(output.shape)  # e.g. (batch, 1) -> (batch,)
            else:
                target = target.reshape(-1)  # (batch, 1) -> (batch,)
            prefix = stage if name is None else f"{stage}/{name}"
            metric, value = task_score(output, target, task=head.task, threshold=self._threshold)
            self.log(f"{prefix}/{metric}", value, prog_bar=name is None, **log)
            if name is not None:
                self.log(f"{prefix}/loss", losses[name], **log)
            if stage == "test":
                self._test_outputs.setdefault(name, []).append((output.detach(), target.detach()))
        self.log(f"{stage}/loss", total, prog_bar=True, **log)
        return total

    def validation_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._shared_eval_step(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._shared_eval_step(batch, "test")

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> Any:
        """Probabilities / outputs for one batch ``x`` in eval mode (the mode is restored after).

        Same outputs as :meth:`predict_step`, for use outside a ``Trainer``.
        """
        was_training = self.training
        self.eval()
        try:
            return self._outputs(self(x))
        finally:
            self.train(was_training)

    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> Any:
        """Probabilities / outputs for ``x`` or ``(x, ...)`` batches (see :func:`task_output`)."""
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        return self._outputs(self(x))

    def predict_clip(
        self, wave: Any, *, sample_rate: float | None = None, per_window: bool = False
    ) -> Any:
        """One raw clip -> its probabilities, by the input contract.

        ``wave``: ``(time,)`` or ``(channels, time)`` samples at ``sample_rate`` Hz (``None``: the
        model's rate), numpy or torch. The contract (:meth:`InputContract.apply`) mixes down,
        resamples, pads or cuts it into windows ``(windows, channels, window)``; the clip's answer
        is the mean of the windows' outputs (binary ``()``, classes ``(C,)``). ``per_window=True``
        returns the ``(windows, ...)`` outputs instead.
        """
        if self.input_contract is None:
            raise ConfigError(
                "this model records no input contract (trained without input_shape): pass "
                "input_shape= (and sample_rate=, input_kind=) to the Classifier"
            )
        windows = self.input_contract.apply(wave, sample_rate=sample_rate)
        windows = torch.as_tensor(windows, dtype=torch.float32, device=self.device)
        outputs = self.predict_proba(windows)
        combine = self.input_contract.combine
        if isinstance(outputs, Mapping):
            return {name: v if per_window else combine(v) for name, v in outputs.items()}
        return outputs if per_window else combine(outputs)

    @property
    def _threshold(self) -> float:
        """The decision threshold of the input contract (0.5 without one)."""
        return 0.5 if self.input_contract is None else self.input_contract.threshold

    @property
    def _eval_level(self) -> str | None:
        """What one test sample is, as the DataModule says (``eval_level``: ``"clip"`` /
        ``"window"``); ``None`` when it does not."""
        datamodule = getattr(self.trainer, "datamodule", None)  # called from test hooks only
        return getattr(datamodule, "eval_level", None)

    def on_test_epoch_start(self) -> None:
        self._test_outputs = {}
        self.test_report = None

    def on_test_epoch_end(self) -> None:
        """Gather the test outputs of every rank and evaluate them into ``self.test_report``."""
        gathered = {}
        sampler = getattr(self.trainer.test_dataloaders, "sampler", None)
        for name, parts in self._test_outputs.items():
            output = torch.cat([p[0] for p in parts])
            target = torch.cat([p[1] for p in parts])
            if self.trainer.world_size > 1 and isinstance(sampler, DistributedSampler):
                # The sampler deals position i to rank i % world and pads the tail with repeats
                # so every rank has the same count: interleave the ranks back into sampler order
                # and drop the padding, so each test sample counts once.
                n = len(sampler.dataset)
                # (world, m, ...) -> (m, world, ...) -> (m * world, ...) -> (n, ...)
                output = self.all_gather(output).transpose(0, 1).flatten(0, 1)[:n]
                target = self.all_gather(target).transpose(0, 1).flatten(0, 1)[:n]
            elif self.trainer.world_size > 1:
                # (world, m, ...) -> (world * m, ...): each rank saw its own samples
                output = self.all_gather(output).flatten(0, 1)
                target = self.all_gather(target).flatten(0, 1)
            gathered[name] = (output.cpu(), target.cpu())
        self._test_outputs = {}
        self.test_outputs = gathered  # {head: (outputs, targets)} in test order: predictions.csv
        self.test_report = self._report(gathered) if gathered else None

    # --- optimisation --------------------------------------------------------------------------

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        name, lr, wd = hp.optimizer, hp.lr, hp.weight_decay
        if name == "sgd":
            opt = torch.optim.SGD(self.parameters(), lr=lr, momentum=hp.momentum, weight_decay=wd)
        elif name == "rmsprop":
            opt = torch.optim.RMSprop(
                self.parameters(), lr=lr, momentum=hp.momentum, weight_decay=wd
            )
        else:
            cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}.get(
                name, torch.optim.Adadelta
            )
            opt = cls(self.parameters(), lr=lr, weight_decay=wd)
        if hp.scheduler is None:
            return opt
        total = self.trainer.estimated_stepping_batches
        if not math.isfinite(total) or total < 1:
            raise ConfigError(
                f"scheduler={hp.scheduler!r} needs a finite number of steps (got {total}): set "
                "max_epochs or max_steps"
            )
        if hp.scheduler == "cosine":
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=int(total))
        else:
            cycle = "betas" in opt.defaults or opt.defaults.get("momentum", 0) > 0
            sched = torch.optim.lr_scheduler.OneCycleLR(
                opt, max_lr=lr, total_steps=int(total), cycle_momentum=cycle
            )
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


class Classifier(_TaskModule):
    """A backbone trained for one task: binary, multiclass, multilabel or regression.

    ``backbone`` follows the backbone contract (``reset_classifier``, ``num_features``, ...); its
    final layer is reset to 1 logit (binary) or ``num_classes`` outputs. Without ``backbone``,
    it is built from ``backbone_config`` ``{"name", "kwargs"}`` through
    ``audioconv.models.create``; ``backbone.config`` is used when the argument is omitted.
    ``frontend`` (e.g. ``create_frontend("logmel", ...)``) runs inside ``forward`` before the
    backbone, so features are computed on the training device and saved with the model; its
    ``frontend_config`` ``{"name", "kwargs"}`` (a registered front end, see
    :mod:`audioconv.features.registry`; ``frontend.config`` when ``create_frontend`` built it)
    lets :func:`~audioconv.tasks.load_classifier` rebuild it: a front end without one is refused.
    ``backbone_spec`` / ``frontend_spec`` are the deprecated names of the two configs. The
    :class:`~audioconv.tasks.heads.Head` (task, classes, weights) is ``loss.head``.

    ``class_weights="balanced"`` is resolved in ``setup`` from ``trainer.datamodule.train_labels()``
    (labels ``(n,)``, multilabel ``(n, C)``); otherwise pass the weights, e.g.
    :func:`balanced_class_weights`. ``forward(x) -> logits (batch, width)``.

    ``members=K`` (> 1) trains a deep ensemble: ``K`` backbones of the one architecture (the
    given one and ``K - 1`` more built from its config, each with its own initialisation),
    every member on its own loss; the model predicts by their mean probability
    (:mod:`audioconv.tasks.ensemble`). ``K`` times the compute, one checkpoint, one report.

    ``sample_rate``, ``input_shape`` (one raw input without the batch axis, e.g. ``(1, samples)``)
    and ``input_kind`` (``"audio"``, ``"image"`` or ``"sensor"``) define the input contract
    (``input_contract``: :class:`audioconv.contract.InputContract` as a dict, to set the pad rule,
    hop or threshold), stored with the checkpoint and applied by :meth:`predict_clip`,
    ``audioconv predict`` / ``test`` / ``stream`` and every export; they do not change training.
    ``channels_last=None``
    (default) runs convolutional backbones channels-last, 2D and 1D alike
    (:mod:`audioconv.models.channels_last_1d`; ``benchmarks/bench_training.py`` measures the
    speed-up); ``False`` keeps PyTorch's default memory format. Results are the same either way.

    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> Classifier(net, task="multiclass", num_classes=3, lr=0.0)
    Traceback (most recent call last):
    ...
    audioconv.errors.ConfigError: lr=0.0 must be a positive number
    """

    def __init__(
        self,
        backbone: nn.Module | None = None,
        *,
        task: str,
        num_classes: int | None = None,
        class_names: Sequence[str] | None = None,
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        momentum: float = 0.9,
        scheduler: str | None = None,
        class_weights: str | Sequence[float] | torch.Tensor | None = None,
        label_smoothing: float = 0.0,
        frontend: nn.Module | None = None,
        regression_output: str = "linear",
        members: int = 1,
        channels_last: bool | None = None,
        backbone_config: Any = None,
        frontend_config: Any = None,
        backbone_spec: Any = None,
        frontend_spec: Any = None,
        sample_rate: float | None = None,
        input_shape: Sequence[int] | None = None,
        input_kind: str | None = None,
        input_contract: Mapping[str, Any] | None = None,
    ):
        super().__init__()
        self.save_hyperparameters(ignore=["backbone", "frontend"])
        members = check_positive("members", members)
        self._record_input(sample_rate, input_shape, input_kind, input_contract)
        head = Head(
            task=task,
            num_classes=num_classes,
            class_names=class_names,
            class_weights=class_weights,
            label_smoothing=label_smoothing,
            regression_output=regression_output,
        )
        self.hparams["class_weights"] = head.class_weights
        self.hparams["class_names"] = head.class_names
        backbone = self._init_common(backbone, frontend)
        backbone.reset_classifier(head.width)
        if members > 1:
            backbone = self._ensemble(backbone, members, head)
        self.backbone = backbone
        self.loss = TaskLoss(head)

    def _ensemble(self, first: nn.Module, members: int, head: Head) -> Ensemble:
        """``first`` and ``members - 1`` more backbones built from its config, each freshly
        initialised."""
        config = self.hparams["backbone_config"]
        if config is None:
            raise ConfigError(
                f"members={members} builds the other members from the backbone's config: build "
                "the backbone with audioconv.models.create (or pass backbone_config=...)"
            )
        more = [build_backbone(config) for _ in range(members - 1)]
        for member in more:
            member.reset_classifier(head.width)
        if self.channels_last:
            more = [cl1d.set_channels_last(member) for member in more]
        return Ensemble([first, *more], task=head.task)

    @property
    def criteria(self) -> dict[str | None, TaskLoss]:
        return {None: self.loss}

    @property
    def spec(self) -> Head:
        """Deprecated name of ``loss.head`` (a DeprecationWarning)."""
        warnings.warn(
            "Classifier.spec is deprecated: use Classifier.loss.head",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.loss.head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (the backbone's or frontend's input) -> logits ``(batch, width)``; an ensemble
        in training mode gives its members' logits ``(members, batch, width)``."""
        return self.backbone(self._features_input(x))

    def _losses(self, logits, y):
        if isinstance(self.backbone, Ensemble) and self.backbone.training:
            loss = torch.stack([self.loss(member, y) for member in logits]).mean()  # per member
            return loss, {None: loss}, {None: (self.backbone.combine(logits), y)}
        return super()._losses(logits, y)

    def _pairs(self, logits, y):
        return {None: (logits, y)}

    def _outputs(self, logits: torch.Tensor) -> torch.Tensor:
        head = self.loss.head
        return task_output(logits.float(), task=head.task, regression_output=head.regression_output)

    def _report(self, outputs):
        from audioconv.evaluation import evaluate

        output, target = outputs[None]
        return evaluate(
            target,
            output,
            task=self.loss.head.task,
            class_names=self.loss.head.class_names,
            threshold=self._threshold,
            level=self._eval_level,
        )


class MultiOutputClassifier(_TaskModule):
    """One backbone, several named heads — e.g. ``digit`` + ``speaker`` or ``genre`` + ``mood``.

    The backbone's classifier is reset to the identity (``reset_classifier(0)``) and each head is
    a ``Linear(num_features, width)``; the loss is the ``weight``-ed sum of the heads' losses.
    ``heads`` maps names (Python identifiers) to :class:`~audioconv.tasks.heads.Head` (or its
    fields as a dict, the form saved in checkpoints). ``heads[name]`` of the module is that head's
    ``Linear`` layer and ``losses[name].head`` its :class:`~audioconv.tasks.heads.Head`.
    Batches are ``(x, {name: y})``; ``forward`` and ``predict_step`` return ``{name: tensor}``;
    the test report is a ``MultiReport`` with one section per head. Other options as
    :class:`Classifier`; ``train_labels()`` of the DataModule returns ``{name: labels}``.
    """

    def __init__(
        self,
        backbone: nn.Module | None = None,
        *,
        heads: Mapping[str, Head | Mapping[str, Any]],
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        momentum: float = 0.9,
        scheduler: str | None = None,
        frontend: nn.Module | None = None,
        channels_last: bool | None = None,
        backbone_config: Any = None,
        frontend_config: Any = None,
        backbone_spec: Any = None,
        frontend_spec: Any = None,
        sample_rate: float | None = None,
        input_shape: Sequence[int] | None = None,
        input_kind: str | None = None,
        input_contract: Mapping[str, Any] | None = None,
    ):
        super().__init__()
        self.save_hyperparameters(ignore=["backbone", "frontend"])
        self._record_input(sample_rate, input_shape, input_kind, input_contract)
        if not isinstance(heads, Mapping) or not heads:
            raise ConfigError("heads must be a non-empty dict {name: Head(...)}")
        given = {}
        for name, head in heads.items():
            if not (isinstance(name, str) and name.isidentifier()):
                raise ConfigError(f"head name {name!r} must be a Python identifier, e.g. 'genre'")
            given[name] = head if isinstance(head, Head) else Head(**head)
        # saved as plain dicts of the Head fields (the form every checkpoint has held)
        self.hparams["heads"] = {name: dataclasses.asdict(h) for name, h in given.items()}
        backbone = self._init_common(backbone, frontend)
        backbone.reset_classifier(0)
        self.backbone = backbone
        self.heads = nn.ModuleDict(
            {name: nn.Linear(backbone.num_features, h.width) for name, h in given.items()}
        )
        self.losses = nn.ModuleDict({name: TaskLoss(h) for name, h in given.items()})

    @property
    def criteria(self) -> dict[str | None, TaskLoss]:
        return dict(self.losses.items())

    @property
    def specs(self) -> dict[str, Head]:
        """Deprecated: ``{name: losses[name].head}`` (a DeprecationWarning)."""
        warnings.warn(
            "MultiOutputClassifier.specs is deprecated: use losses[name].head",
            DeprecationWarning,
            stacklevel=2,
        )
        return {name: loss.head for name, loss in self.losses.items()}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``x`` -> ``{name: logits (batch, width)}`` from the shared ``(batch, num_features)``."""
        features = self.backbone(self._features_input(x))
        return {name: head(features) for name, head in self.heads.items()}

    def _pairs(self, logits, y):
        if not isinstance(y, Mapping) or set(y) != set(self.losses):
            got = sorted(y) if isinstance(y, Mapping) else type(y).__name__
            raise ConfigError(
                f"multi-output targets must be a dict with keys {sorted(self.losses)}, got {got}"
            )
        return {name: (logits[name], y[name]) for name in self.losses}

    def _outputs(self, logits: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {
            name: task_output(
                logits[name].float(),
                task=loss.head.task,
                regression_output=loss.head.regression_output,
            )
            for name, loss in self.losses.items()
        }

    def _report(self, outputs):
        from audioconv.evaluation import MultiReport, evaluate

        return MultiReport(
            {
                name: evaluate(
                    target,
                    output,
                    task=self.losses[name].head.task,
                    class_names=self.losses[name].head.class_names,
                    threshold=self._threshold,
                    level=self._eval_level,
                )
                for name, (output, target) in outputs.items()
            }
        )
