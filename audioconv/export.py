"""Export a trained classifier as one file that maps the raw input to probabilities.

The exported graph holds the whole inference path: the front end (``LogMel`` / ``MFCC`` /
``Standardize`` with its fitted buffers), the backbone and the output activation of the task. It
takes the raw waveform ``(batch, channels, time)`` (or a raw sensor window of the same layout, or an
image ``(batch, channels, height, width)``) and returns what ``Classifier.predict_step`` returns:

- binary: ``(batch,)`` P(positive class) (sigmoid of the single logit),
- multiclass: ``(batch, num_classes)`` softmax probabilities,
- multilabel: ``(batch, num_classes)`` independent sigmoids,
- regression: ``(batch,)`` for one target, ``(batch, k)`` otherwise (through the classifier's
  ``regression_output``: linear, sigmoid or tanh).

The activation is ``audioconv.tasks.task_output``, the function ``predict_step`` uses.

Two formats: ONNX (``torch.onnx.export(dynamo=True)``, run with onnxruntime — see
:mod:`audioconv.deploy`) and TorchScript (``torch.jit.trace``). Both files are written atomically
with a SHA-256 record ``<file>.sha256`` (as checkpoints are; ``load_predictor`` refuses a file
that differs from it) and a sidecar JSON ``<file>.json`` (:func:`sidecar_path`) with the class
names, task, sample rate, expected input shape (``None`` for a dynamic axis), input kind, library
version and a description of the front end, and the model's input contract (``input_contract``,
:mod:`audioconv.contract`). The ONNX file holds the same metadata in its ``metadata_props`` and the
TorchScript file as an extra file, so either describes itself without the sidecar. The batch axis
is always dynamic; the time axis (the spatial axes for images) is dynamic when the model and the
exporter allow it (see :func:`export_onnx`). The graph takes model inputs (one window); the
runtimes (:class:`~audioconv.deploy.OnnxClassifier`, :class:`TorchScriptClassifier`,
:class:`CheckpointClassifier`) apply the contract around it.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

import audioconv
from audioconv._atomic import atomic_pair
from audioconv._integrity import check_finite, digest_path, file_sha256, record_text
from audioconv.constants import INPUT_KINDS, TASKS
from audioconv.contract import InputContract
from audioconv.deploy import CONTRACT_KEY, METADATA_KEY, Predictor, contract_of, require_format
from audioconv.errors import CheckpointError, ConfigError
from audioconv.tasks import task_output

__all__ = [
    "TASKS",
    "INPUT_KINDS",
    "CheckpointClassifier",
    "InferenceModel",
    "TorchScriptClassifier",
    "accepts_any_length",
    "export_onnx",
    "export_torchscript",
    "export_checkpoint",
    "sidecar_path",
    "build_metadata",
]

INPUT_NAME = "input"
OUTPUT_NAME = "probabilities"
# Tolerance of the check run after every export (exported graph vs eager PyTorch).
VERIFY_ATOL = 1e-4


class InferenceModel(nn.Module):
    """Front end (optional) + backbone + output activation: raw input -> probabilities.

    Args:
        backbone: maps the front end's output (or the raw input) to logits ``(batch, width)``.
        frontend: feature module applied first, e.g. ``LogMel``: ``(batch, channels, time)`` ->
            ``(batch, channels, freq, time)``; ``None`` feeds the raw input to the backbone.
        task: one of :data:`TASKS`; picks the output activation (``audioconv.tasks.task_output``).
        regression_output: ``"linear"``, ``"sigmoid"`` or ``"tanh"`` (regression only).
        class_names: label of each output (``[negative, positive]`` for binary).
        sample_rate: rate of the raw input in Hz (audio and sensor streams), stored in the sidecar.
        input_kind: ``"audio"``, ``"sensor"`` or ``"image"``, stored in the sidecar.
        input_shape: one training input without the batch axis, ``(channels, time)`` or
            ``(channels, height, width)``; the default window of streaming and export.
        input_contract: how raw inputs become model inputs (:class:`InputContract`); default:
            the one ``input_kind`` / ``input_shape`` / ``sample_rate`` imply. Recorded in every
            export.

    Shapes: input ``(batch, channels, time)`` or ``(batch, channels, height, width)``; output as in
    the module docstring.
    """

    def __init__(
        self,
        backbone: nn.Module,
        *,
        frontend: nn.Module | None = None,
        task: str = "multiclass",
        regression_output: str = "linear",
        class_names: list[str] | None = None,
        sample_rate: float | None = None,
        input_kind: str = "audio",
        input_shape: tuple[int, ...] | None = None,
        input_contract: InputContract | None = None,
    ):
        super().__init__()
        if task not in TASKS:
            raise ConfigError(f"task={task!r} is not one of {TASKS}: pick one of them")
        if regression_output not in ("linear", "sigmoid", "tanh"):
            raise ConfigError(
                f"regression_output={regression_output!r} is not 'linear', 'sigmoid' or 'tanh'"
            )
        if input_kind not in INPUT_KINDS:
            raise ConfigError(f"input_kind={input_kind!r} is not one of {INPUT_KINDS}")
        if sample_rate is not None and sample_rate <= 0:
            raise ConfigError(f"sample_rate={sample_rate!r} must be a positive number of Hz")
        self.frontend = frontend
        self.backbone = backbone
        self.task = task
        self.regression_output = regression_output
        self.class_names = list(class_names) if class_names is not None else None
        self.sample_rate = sample_rate
        self.input_kind = input_kind
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        if input_contract is None and input_shape is not None:
            input_contract = InputContract.from_input(
                input_kind=input_kind, input_shape=input_shape, sample_rate=sample_rate
            )
        self.input_contract = input_contract

    @classmethod
    def from_classifier(
        cls,
        classifier: nn.Module,
        *,
        sample_rate: float | None = None,
        input_kind: str | None = None,
    ) -> InferenceModel:
        """Wrap a trained ``audioconv.tasks.Classifier`` (shares its modules, in eval mode).

        ``sample_rate`` / ``input_kind`` default to the classifier's hparams of the same name;
        ``class_names``, ``input_shape`` and the input contract come from its hparams.
        """
        hparams = dict(classifier.hparams)
        if "heads" in hparams:
            raise ConfigError(
                "a MultiOutputClassifier has several heads: export supports a single-task "
                "Classifier"
            )
        model = cls(
            classifier.backbone,
            frontend=classifier.frontend,
            task=hparams["task"],
            regression_output=hparams.get("regression_output", "linear"),
            class_names=hparams.get("class_names"),
            sample_rate=sample_rate if sample_rate is not None else hparams.get("sample_rate"),
            input_kind=input_kind or hparams.get("input_kind") or "audio",
            input_shape=hparams.get("input_shape"),
            input_contract=_classifier_contract(hparams, sample_rate),
        )
        return model.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, channels, time)`` or ``(batch, channels, height, width)`` -> probabilities."""
        if self.frontend is not None:
            x = self.frontend(x)
        logits = self.backbone(x)
        return task_output(logits, task=self.task, regression_output=self.regression_output)

    def extra_repr(self) -> str:
        return f"task={self.task!r}, sample_rate={self.sample_rate}, input_kind={self.input_kind!r}"


def _classifier_contract(hparams: dict, sample_rate: float | None) -> InputContract | None:
    """The contract a classifier records, with ``sample_rate`` overriding its rate."""
    if not (hparams.get("input_contract") or hparams.get("input_shape")):
        return None
    contract = InputContract.from_hparams(hparams)
    return contract if sample_rate is None else contract.replace(sample_rate=sample_rate)


def sidecar_path(model_path: str | os.PathLike) -> Path:
    """The metadata file beside an exported model: ``model.onnx`` -> ``model.onnx.json``."""
    path = Path(model_path)
    return path.with_name(path.name + ".json")


def _companions(path: Path) -> tuple[Path, Path]:
    """The files written with an export, as one atomic group: its sidecar JSON and its SHA-256
    record (``<file>.sha256``, the format of checkpoints' records, checked when it is loaded)."""
    return sidecar_path(path), digest_path(path)


def _longer(example_input: torch.Tensor, dims: int) -> torch.Tensor:
    """The example with its last ``dims`` axes about 1.5x longer, by an odd number of samples so
    a graph that assumes the example's divisibility is caught (zero padded at the end)."""
    pad: list[int] = []
    for size in reversed(example_input.shape[-dims:]):
        pad += [0, size // 4 * 2 + 1]
    return torch.nn.functional.pad(example_input, pad)


def _variable_dims(model: nn.Module, example_input: torch.Tensor) -> int:
    """Number of trailing axes that may vary: time for signals, height and width for images."""
    kind = getattr(model, "input_kind", None)
    return 2 if kind == "image" or (kind is None and example_input.dim() == 4) else 1


def accepts_any_length(model: nn.Module, example_input: torch.Tensor) -> bool:
    """Whether ``model`` gives the same output shape for a longer input (global pooling).

    Runs the model on ``example_input`` and on a copy about 1.5x longer along the time axis (both
    spatial axes for images); a model with a fixed-size flatten + linear head fails or changes
    shape.
    """
    dims = _variable_dims(model, example_input)
    with torch.inference_mode():
        expected = model(example_input).shape
        try:
            return model(_longer(example_input, dims)).shape == expected
        except RuntimeError:  # e.g. "mat1 and mat2 shapes cannot be multiplied"
            return False


def build_metadata(
    model: nn.Module, example_input: torch.Tensor, *, dynamic_time: bool, fmt: str
) -> dict[str, Any]:
    """The sidecar JSON content for ``model`` exported with ``example_input``'s shape."""
    dims = _variable_dims(model, example_input)
    shape: list[int | None] = [None, *example_input.shape[1:]]
    if dynamic_time:
        shape[-dims:] = [None] * dims
    frontend = getattr(model, "frontend", None)
    class_names = getattr(model, "class_names", None)
    kind = getattr(model, "input_kind", "image" if dims == 2 else "audio")
    contract = getattr(model, "input_contract", None) or InputContract.from_input(
        input_kind=kind,
        input_shape=example_input.shape[1:],
        sample_rate=getattr(model, "sample_rate", None),
    )
    return {
        "format": fmt,
        "task": getattr(model, "task", None),
        "class_names": list(class_names) if class_names is not None else None,
        "sample_rate": getattr(model, "sample_rate", None),
        "input_kind": kind,
        "input_shape": shape,
        "input_contract": contract.to_dict(),
        "example_input_shape": [None, *example_input.shape[1:]],
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "frontend": None if frontend is None else repr(frontend),
        "backbone": type(getattr(model, "backbone", model)).__name__,
        "library_version": audioconv.__version__,
        "torch_version": torch.__version__,
        "checkpoint_sha256": getattr(model, "checkpoint_sha256", None),
    }


def _prepare(
    model: nn.Module, example_input: torch.Tensor, dynamic_time: bool | None
) -> tuple[torch.Tensor, bool, torch.Tensor, torch.Tensor]:
    """Eval mode; the example with a batch of >= 2 (so export does not specialise the batch axis
    to 1); whether to try a dynamic length (the user's choice, else :func:`accepts_any_length`);
    a check input with another batch size and one with another batch size and length."""
    if not isinstance(example_input, torch.Tensor) or example_input.dim() not in (3, 4):
        raise ConfigError(
            "example_input must be a tensor (batch, channels, time) or (batch, channels, height, "
            f"width), got {getattr(example_input, 'shape', type(example_input).__name__)}"
        )
    from lightning.pytorch import LightningModule

    if isinstance(model, LightningModule):  # a training module: logits, no classes or contract
        raise ConfigError(
            f"{type(model).__name__} is a training module, whose outputs are logits: export "
            "InferenceModel.from_classifier(model) (probabilities, classes and input contract), "
            "or export_checkpoint(<its .ckpt>, ...)"
        )
    model.eval()
    example = example_input.detach().float()
    if example.shape[0] < 2:
        example = example.expand(2, *example.shape[1:]).contiguous()  # (1, ...) -> (2, ...)
    any_length = accepts_any_length(model, example)
    if dynamic_time and not any_length:
        raise ConfigError(
            "dynamic_time=True but the model fails or changes its output shape on a longer input "
            "(fixed-size head): export with dynamic_time=False or None"
        )
    generator = torch.Generator().manual_seed(0)
    other_batch = torch.randn((3, *example.shape[1:]), generator=generator)
    longer = _longer(example, _variable_dims(model, example))
    other_length = torch.randn((1, *longer.shape[1:]), generator=generator)
    return example, any_length if dynamic_time is None else dynamic_time, other_batch, other_length


def _check(name: str, run: Callable, model: nn.Module, x: torch.Tensor) -> None:
    """Raise ``RuntimeError`` unless ``run(x)`` (the exported graph) matches eager PyTorch within
    :data:`VERIFY_ATOL`; a runtime's own error (onnxruntime, TorchScript) is chained and its text
    quoted."""
    with torch.inference_mode():
        expected = model(x).numpy()
    advice = "export with dynamic_time=False, or report the model"
    try:
        got = run(x)
    except Exception as err:  # onnxruntime's errors derive from Exception only
        raise RuntimeError(
            f"the exported {name} graph fails on an input of shape {tuple(x.shape)} "
            f"({type(err).__name__}: {err}): {advice}"
        ) from err
    if got.shape != expected.shape:
        raise RuntimeError(
            f"the exported {name} graph returns shape {got.shape} on an input of shape "
            f"{tuple(x.shape)}, PyTorch {expected.shape}: {advice}"
        )
    error = float(np.max(np.abs(got - expected))) if got.size else 0.0
    if not error <= VERIFY_ATOL:
        raise RuntimeError(
            f"the exported {name} graph disagrees with PyTorch on an input of shape "
            f"{tuple(x.shape)} (max abs error {error:.3g}): {advice}"
        )


def _agrees(name: str, run: Callable, model: nn.Module, x: torch.Tensor) -> bool:
    """Whether the graph passes :func:`_check` on ``x``: the automatic ``dynamic_time`` choice
    (a graph only right at the example's length is exported static instead)."""
    try:
        _check(name, run, model, x)
    except RuntimeError:
        return False
    return True


def _onnx_program(model: nn.Module, example: torch.Tensor, dynamic: bool, opset: int | None):
    """``torch.onnx.export(dynamo=True)`` with a dynamic batch axis and, if ``dynamic``, length
    axes left to the exporter (``Dim.AUTO``: it may specialise them; the caller checks)."""
    # Axis 0 is the batch; axes 2.. are time (signals) or height, width (images).
    axes: dict[int, Any] = {0: torch.export.Dim.DYNAMIC}
    if dynamic:
        axes.update(dict.fromkeys(range(2, example.dim()), torch.export.Dim.AUTO))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=(FutureWarning, UserWarning))
        return torch.onnx.export(
            model,
            (example,),
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=(axes,),
            opset_version=opset,
            verbose=False,
        )


def export_onnx(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    example_input: torch.Tensor,
    dynamic_time: bool | None = None,
    opset: int | None = None,
) -> Path:
    """Export ``model`` (raw input -> probabilities) to ONNX at ``path`` plus its sidecar JSON.

    Args:
        model: usually an :class:`InferenceModel`; any module taking ``example_input`` and
            returning what the file should (not a training module: its outputs are logits).
        example_input: ``(batch, channels, time)`` or ``(batch, channels, height, width)``; its
            non-batch shape is the expected input shape recorded in the sidecar.
        dynamic_time: make the time axis (height and width for images) dynamic: ``True`` (an
            error if the result is wrong on another length), ``False``, or ``None``: dynamic when
            the model accepts any length (:func:`accepts_any_length`), the exporter keeps the
            axis symbolic and the exported graph matches PyTorch on another (odd) length; static
            otherwise (e.g. adaptive pooling to a fixed size greater than 1).
        opset: ONNX opset version; ``None`` uses the exporter's default.

    The batch axis is always dynamic. The written file is run with onnxruntime on another batch
    size (and another length when dynamic) and compared with PyTorch (atol 1e-4); a mismatch
    raises ``RuntimeError`` and leaves ``path`` untouched. Returns the path of the ``.onnx`` file.
    """
    import onnxruntime

    example, dynamic, other_batch, other_length = _prepare(model, example_input, dynamic_time)
    auto = dynamic_time is None
    program = _onnx_program(model, example, dynamic, opset)
    if dynamic and auto:  # Dim.AUTO: did the exporter keep every length axis symbolic?
        dynamic = not any(isinstance(d, int) for d in program.model.graph.inputs[0].shape[2:])
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4  # a graph that fails the length check is handled, not logged
    path = Path(path)
    with atomic_pair(path, *_companions(path)) as (tmp, tmp_sidecar, tmp_record):
        program.save(tmp, external_data=False)
        session = onnxruntime.InferenceSession(
            str(tmp), options, providers=["CPUExecutionProvider"]
        )

        def run(x: torch.Tensor) -> np.ndarray:
            return session.run(None, {INPUT_NAME: x.numpy()})[0]

        if dynamic and auto and not _agrees("ONNX", run, model, other_length):
            dynamic = False  # a graph only right at the example's length: export it static
            _onnx_program(model, example, False, opset).save(tmp, external_data=False)
            session = onnxruntime.InferenceSession(
                str(tmp), options, providers=["CPUExecutionProvider"]
            )
        _check("ONNX", run, model, other_batch)
        if dynamic:
            _check("ONNX", run, model, other_length)
        metadata = build_metadata(model, example, dynamic_time=dynamic, fmt="onnx")
        _write_metadata_props(tmp, metadata)
        tmp_sidecar.write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
        tmp_record.write_text(record_text(file_sha256(tmp), path.name), encoding="utf-8")
    return path


def _write_metadata_props(path: Path, metadata: dict[str, Any]) -> None:
    """Store ``metadata`` (key :data:`~audioconv.deploy.METADATA_KEY`) and its input contract
    (:data:`~audioconv.deploy.CONTRACT_KEY`) as JSON in the ``.onnx`` file's ``metadata_props``,
    so the file describes itself to any ONNX runtime."""
    import onnx

    proto = onnx.load(str(path))
    props = {METADATA_KEY: metadata, CONTRACT_KEY: metadata["input_contract"]}
    kept = [p for p in proto.metadata_props if p.key not in props]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    for key, value in props.items():
        proto.metadata_props.add(key=key, value=json.dumps(value))
    onnx.save(proto, str(path))


def export_torchscript(
    model: nn.Module,
    path: str | os.PathLike,
    example_input: torch.Tensor,
    *,
    dynamic_time: bool | None = None,
) -> Path:
    """Export ``model`` to TorchScript at ``path`` (``torch.jit.trace``) plus its sidecar JSON.

    Tracing records the tensor operations of one call, ``torch.stft`` included, so the result
    accepts other batch sizes and, for models that pool globally, other lengths; ``dynamic_time``
    works as in :func:`export_onnx`, and the traced module is checked against eager PyTorch on
    another batch size (and length when dynamic, atol 1e-4). The sidecar is also embedded in the
    file (``torch.jit.load(path, _extra_files={"audioconv.json": ""})``). Returns the path.
    """
    example, dynamic, other_batch, other_length = _prepare(model, example_input, dynamic_time)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)  # torch.jit is deprecated upstream
        # the backbones' input-shape checks are Python conditions the trace freezes; the traced
        # module is checked against eager PyTorch on other batch sizes / lengths just below
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        with torch.inference_mode(False), torch.no_grad():
            traced = torch.jit.trace(model, example, check_trace=False)

        def run(x: torch.Tensor) -> np.ndarray:
            with torch.no_grad():
                return traced(x).numpy()

        _check("TorchScript", run, model, other_batch)
        if dynamic and dynamic_time is None:
            dynamic = _agrees("TorchScript", run, model, other_length)
        elif dynamic:
            _check("TorchScript", run, model, other_length)
        metadata = build_metadata(model, example, dynamic_time=dynamic, fmt="torchscript")
        text = json.dumps(metadata, indent=2) + "\n"
        path = Path(path)
        with atomic_pair(path, *_companions(path)) as (tmp, tmp_sidecar, tmp_record):
            torch.jit.save(traced, str(tmp), _extra_files={"audioconv.json": text})
            tmp_sidecar.write_text(text, encoding="utf-8")
            tmp_record.write_text(record_text(file_sha256(tmp), path.name), encoding="utf-8")
    return path


def export_checkpoint(
    checkpoint: str | os.PathLike,
    *,
    format: Literal["onnx", "torchscript"] = "onnx",
    output: str | os.PathLike,
    sample_rate: float | None = None,
    input_shape: tuple[int, ...] | None = None,
    dynamic_time: bool | None = None,
) -> Path:
    """Load a ``Classifier`` checkpoint, export raw input -> probabilities (``audioconv export``).

    Args:
        checkpoint: a ``.ckpt`` written by training (read by ``audioconv.tasks.load_classifier``).
        format: ``"onnx"`` or ``"torchscript"``.
        output: path of the exported file; its sidecar JSON goes beside it.
        sample_rate: rate of the raw input in Hz, for a checkpoint that records none (audio needs
            one; a sensor / time-series model without one, e.g. a UCR run, is exported without a
            rate: its series are taken as they are); default: the checkpoint's.
        input_shape: one input without the batch axis, ``(channels, time)`` or
            ``(channels, height, width)``, for a checkpoint that records none; default: the
            checkpoint's.

    A ``sample_rate`` / ``input_shape`` that differs from the checkpoint's is refused
    (``ConfigError``): it would re-label the inputs of a front end and backbone trained on the
    recorded ones, so the export would give other answers than the run's.
        dynamic_time: see :func:`export_onnx`.

    Returns the path of the exported file.
    """
    if format not in ("onnx", "torchscript"):
        raise ConfigError(f"format={format!r} is not supported: use 'onnx' or 'torchscript'")
    from audioconv.tasks import load_classifier

    require_format(checkpoint, ["checkpoint"], what="audioconv export")
    classifier = load_classifier(checkpoint)
    _refuse_relabelling(checkpoint, dict(classifier.hparams), sample_rate, input_shape)
    model = InferenceModel.from_classifier(classifier, sample_rate=sample_rate)
    model.checkpoint_sha256 = classifier.checkpoint_sha256  # recorded in the metadata
    shape = tuple(input_shape) if input_shape is not None else model.input_shape
    if shape is None:
        raise CheckpointError(
            f"{checkpoint}: the checkpoint does not record its input shape: pass input_shape="
            "(channels, time) or (channels, height, width), e.g. --input-shape 1 16000"
        )
    if len(shape) not in (2, 3) or not all(isinstance(size, int) and size > 0 for size in shape):
        raise ConfigError(
            f"input_shape={shape!r} must be (channels, time) or (channels, height, width) with "
            "positive sizes, without the batch axis"
        )
    if model.sample_rate is None and model.input_kind == "audio":  # series may have no rate
        raise CheckpointError(
            f"{checkpoint}: the checkpoint does not record its sample rate: pass sample_rate= "
            "(--sample-rate) in Hz"
        )
    if input_shape is not None and model.input_contract is not None:  # a length chosen here
        model.input_contract = model.input_contract.replace(window=shape[-1], channels=shape[0])
    example = torch.randn((2, *shape), generator=torch.Generator().manual_seed(0))
    if format == "onnx":
        return export_onnx(model, output, example_input=example, dynamic_time=dynamic_time)
    return export_torchscript(model, output, example, dynamic_time=dynamic_time)


def _refuse_relabelling(
    checkpoint: str | os.PathLike,
    hparams: dict,
    sample_rate: float | None,
    input_shape: tuple[int, ...] | None,
) -> None:
    """Refuse a ``sample_rate`` / ``input_shape`` that differs from the one the checkpoint
    records: the model's front end and backbone stay those trained, so only its inputs would
    change."""
    contract = _classifier_contract(hparams, None)
    rate = hparams.get("sample_rate") if contract is None else contract.sample_rate
    if sample_rate is not None and rate is not None and sample_rate != rate:
        raise ConfigError(
            f"{checkpoint}: sample_rate={sample_rate:g} (--sample-rate) differs from the {rate:g} "
            f"Hz the model was trained at: its front end stays the one trained at {rate:g} Hz, so "
            f"the export would resample every input to {sample_rate:g} Hz and give other answers "
            "than the run's; drop --sample-rate (it is for checkpoints that record no rate)"
        )
    shape = None if contract is None else contract.input_shape
    if input_shape is not None and shape is not None and tuple(input_shape) != tuple(shape):
        raise ConfigError(
            f"{checkpoint}: input_shape={tuple(input_shape)} (--input-shape) differs from the "
            f"{tuple(shape)} the model was trained on: the export would make other model inputs "
            "than training did and give other answers than the run's; drop --input-shape (it is "
            "for checkpoints that record no input shape)"
        )


# --------------------------------------------------------------------------------------------
# Runtimes on torch: the same inference path as OnnxClassifier (audioconv.deploy.Predictor)
# --------------------------------------------------------------------------------------------


class _TorchPredictor(Predictor):
    """A :class:`~audioconv.deploy.Predictor` over a torch module (run under inference mode)."""

    _module: Any

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Model inputs ``(batch, channels, window)`` -> probabilities (numpy)."""
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
            return self._module(x).float().numpy()


class TorchScriptClassifier(_TorchPredictor):
    """A TorchScript file written by :func:`export_torchscript`, with the metadata (and input
    contract) embedded in it; ``threshold`` as in :class:`~audioconv.deploy.OnnxClassifier`."""

    def __init__(self, path: str | os.PathLike, *, threshold: float | None = None):
        self.path = Path(path)
        require_format(self.path, ["torchscript"], what="TorchScriptClassifier")
        extra = {"audioconv.json": ""}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=FutureWarning)  # torch.jit is deprecated
            self._module = torch.jit.load(str(self.path), map_location="cpu", _extra_files=extra)
        check_finite(self._module.state_dict(), self.path)
        if not extra["audioconv.json"]:
            raise ConfigError(
                f"{self.path}: the TorchScript file holds no audioconv metadata: export it with "
                "audioconv export --format torchscript"
            )
        self.metadata = json.loads(extra["audioconv.json"])
        self.task = self.metadata["task"] or "multiclass"
        self.class_names = self.metadata["class_names"]
        self.contract = contract_of(self.metadata)
        self._set_threshold(threshold)


class CheckpointClassifier(_TorchPredictor):
    """A training checkpoint (``.ckpt``) run in PyTorch through the same path as an export:
    the raw-input model of :class:`InferenceModel` and the checkpoint's input contract."""

    def __init__(self, path: str | os.PathLike, *, threshold: float | None = None):
        from audioconv.tasks import load_classifier

        self.path = Path(path)
        require_format(self.path, ["checkpoint"], what="CheckpointClassifier")
        self._module = InferenceModel.from_classifier(load_classifier(self.path))
        if self._module.input_contract is None:
            raise CheckpointError(
                f"{self.path}: the checkpoint records no input shape, so no input contract: "
                "train with Classifier(input_shape=..., sample_rate=..., input_kind=...)"
            )
        self.task = self._module.task
        self.class_names = self._module.class_names
        self.contract = self._module.input_contract
        self.metadata = {"format": "checkpoint", "input_contract": self.contract.to_dict()}
        self._set_threshold(threshold)
