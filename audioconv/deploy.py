"""Run an exported classifier with onnxruntime (no PyTorch needed) — and what every runtime shares.

:class:`Predictor` is the inference path every runtime follows: an input (an audio file, or an
array at a given rate) goes through the model's input contract (:class:`~audioconv.contract.
InputContract`: mix-down, resampling, padding or sliding windows), the windows run through the
model in batches, and the clip's answer is the mean of the windows' probabilities, turned into a
label by :func:`~audioconv.contract.decide` (``>= threshold``). :class:`OnnxClassifier` runs an
exported ``.onnx`` file; ``audioconv.export`` adds TorchScript and checkpoint runtimes on the same
base; :func:`load_predictor` picks one from the file's content.

An exported ``.onnx`` file is self-describing: its ``metadata_props`` hold ``audioconv`` (the
whole metadata as JSON) and ``audioconv.input_contract`` (the contract as JSON), so a user in any
language reads the contract from the file itself; the sidecar ``model.onnx.json`` is a copy for
convenience. The graph takes windows ``(batch, channels, window)``; the contract is applied by the
runtime, not inside the graph.

Resampling uses ``scipy.signal.resample_poly`` (:func:`audioconv.contract.resample`) on every
prediction path, and training decodes with the same function (:func:`audioconv.io.load_audio`), so
a file at another rate reaches the network as the same samples in training, ``audioconv test``,
``predict``, export and streaming (``tests/test_contract_e2e.py``).

This module imports numpy, scipy, soundfile, onnx and onnxruntime only — never torch (the
TorchScript and checkpoint runtimes of :func:`load_predictor` import it when asked for).
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from audioconv._integrity import check_finite, verify_checkpoint
from audioconv.constants import TORCHSCRIPT_SUFFIXES
from audioconv.contract import InputContract, decide, resample, top_k
from audioconv.decode import read_audio
from audioconv.errors import CheckpointError, ConfigError

__all__ = [
    "METADATA_KEY",
    "CONTRACT_KEY",
    "OnnxClassifier",
    "Prediction",
    "Predictor",
    "decide",
    "load_predictor",
    "model_format",
    "read_audio",
    "require_format",
    "resample",
]

#: ``metadata_props`` keys of an exported ``.onnx`` file (values are JSON text).
METADATA_KEY = "audioconv"
CONTRACT_KEY = "audioconv.input_contract"
FORMAT_NAMES = {
    "onnx": "an ONNX model",
    "torchscript": "a TorchScript model",
    "checkpoint": "a training checkpoint (.ckpt)",
}


@dataclass(frozen=True)
class Prediction:
    """One prediction.

    Attributes:
        label: the predicted class name (binary: the positive or negative name; multilabel: the
            names at or above the threshold joined by ``";"``, ``""`` for none; regression: the
            value formatted with 4 significant digits).
        score: the probability of ``label`` (multilabel: the highest probability; regression: the
            first predicted value).
        probabilities: ``(num_classes,)`` probabilities, ``()`` P(positive) for binary, the raw
            values for regression; for a clip, the mean over its windows.
        timestamp_s: for streams, the stream time in seconds of the window's last sample;
            ``None`` for single clips.
        windows: ``(windows, ...)`` the per-window outputs when asked for (``per_window=True``).
    """

    label: str
    score: float
    probabilities: np.ndarray
    timestamp_s: float | None = None
    windows: np.ndarray | None = None


def model_format(path: str | os.PathLike) -> str:
    """``"onnx"``, ``"torchscript"`` or ``"checkpoint"`` from the file's content (not its name).

    Raises:
        FileNotFoundError: no such file.
        ConfigError: none of the three.
    """
    path = Path(path)
    if path.is_dir():
        best = path / "checkpoints" / "best.ckpt"
        hint = f"pass {best}" if best.is_file() else "pass a .ckpt, .onnx or TorchScript file"
        raise ConfigError(f"{path}: a folder, not a model file: {hint}")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file: check the path")
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head.startswith(b"PK"):  # torch.save and torch.jit.save both write zip archives
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile as error:
            raise CheckpointError(
                f"{path}: a zip archive (as checkpoints and TorchScript files are) that is cut "
                f"short or damaged ({error}), e.g. an interrupted copy: copy it again"
            ) from None
        return "torchscript" if any("/code/" in n for n in names) else "checkpoint"
    if head[:1] == b"\x80":  # a legacy (non-zip) torch.save pickle
        return "checkpoint"
    if head[:1] == b"\x08":  # ModelProto field 1 (ir_version), the first field of every .onnx
        return "onnx"
    raise ConfigError(
        f"{path}: not an ONNX model, TorchScript model or training checkpoint: pass a file "
        "written by audioconv fit (.ckpt) or audioconv export (.onnx / .pt)"
    )


def require_format(path: str | os.PathLike, expected: Iterable[str], *, what: str) -> str:
    """The format of ``path`` if it is one of ``expected``, else a one-line error saying what the
    file is and what ``what`` (e.g. ``"audioconv export"``) needs."""
    found = model_format(path)
    expected = tuple(expected)
    if found not in expected:
        wanted = " or ".join(FORMAT_NAMES[f] for f in expected)
        raise ConfigError(f"{path}: this is {FORMAT_NAMES[found]}, but {what} needs {wanted}")
    return found


class Predictor:
    """The inference path shared by every runtime: input -> contract windows -> model -> clip.

    Subclasses set ``task``, ``class_names``, ``contract`` (:class:`InputContract`),
    ``threshold`` and ``metadata``, and define ``__call__(batch)``: ``(batch, channels, window)``
    float32 numpy -> probabilities ``(batch, ...)`` numpy.
    """

    task: str
    class_names: list[str] | None
    contract: InputContract
    threshold: float
    metadata: dict[str, Any]

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # attributes of the model's input, from the contract
    @property
    def sample_rate(self) -> float | None:
        return self.contract.sample_rate

    @property
    def input_kind(self) -> str:
        return self.contract.input_kind

    @property
    def channels(self) -> int:
        return self.contract.channels

    @property
    def window_length(self) -> int | None:
        """Samples per model input (the clip length trained on); ``None``: any length."""
        return self.contract.window

    @property
    def input_shape(self) -> list[int | None]:
        """``[None, channels, window]`` (images ``[None, channels, height, width]``)."""
        shape = self.contract.input_shape
        return [None, *shape] if shape else [None, self.channels, None]

    def _set_threshold(self, threshold: float | None) -> None:
        if threshold is not None and self.task not in ("binary", "multilabel"):
            raise ConfigError(
                f"threshold={threshold} given for a {self.task} model: a threshold decides "
                "binary and multilabel labels only (a multiclass label is the most probable "
                "class); drop it"
            )
        if threshold is not None:
            self.contract = self.contract.replace(threshold=threshold)  # validates it
        self.threshold = self.contract.threshold

    def prepare(
        self,
        wave_or_path: np.ndarray | str | os.PathLike,
        *,
        sample_rate: float | None = None,
        name: str = "input",
        with_starts: bool = False,
    ) -> np.ndarray | tuple[np.ndarray, list[int]]:
        """The model inputs of one clip: ``(windows, channels, window)`` (images ``(1, channels,
        height, width)``), by the input contract; ``with_starts=True``: ``(windows, starts)``, each
        window's first sample at the model's rate.

        A path is decoded with the checks of ``audioconv.io.load_audio`` at its own rate
        (``sample_rate`` must then be ``None``). An array ``(time,)`` or ``(channels, time)`` is
        taken to be at ``sample_rate`` Hz, or at the model's rate when ``sample_rate`` is ``None``;
        ``name`` names it in errors (a path names itself).
        """
        if isinstance(wave_or_path, (str, os.PathLike)):
            if sample_rate is not None:
                raise ConfigError(
                    f"sample_rate={sample_rate!r} given with a file path: the file's own rate is "
                    "used, drop sample_rate"
                )
            name = str(wave_or_path)
            wave_or_path, sample_rate = read_audio(wave_or_path)
        return self.contract.apply(
            wave_or_path, sample_rate=sample_rate, name=name, with_starts=with_starts
        )

    def _prediction(self, windows: np.ndarray, per_window: bool, name: str) -> Prediction:
        """A clip's :class:`Prediction` from its windows' outputs ``(windows, ...)``; ``name``
        names the clip in errors."""
        clip = self.contract.combine(windows)
        label, score = decide(
            clip, task=self.task, class_names=self.class_names, threshold=self.threshold, name=name
        )
        return Prediction(label, score, clip, windows=windows if per_window else None)

    def top_k(self, prediction: Prediction, k: int) -> list[tuple[str, float]]:
        """The ``k`` most probable classes of ``prediction``, best first."""
        return top_k(prediction.probabilities, k, task=self.task, class_names=self.class_names)

    def predict(
        self,
        wave_or_path: np.ndarray | str | os.PathLike,
        *,
        sample_rate: float | None = None,
        per_window: bool = False,
    ) -> Prediction:
        """Classify one clip (an array or an audio file): label, score and probabilities (the
        mean over the contract's windows; ``per_window=True`` keeps each window's too)."""
        return self.predict_batch([wave_or_path], sample_rate=sample_rate, per_window=per_window)[0]

    def predict_batch(
        self,
        waves_or_paths: Sequence[np.ndarray | str | os.PathLike],
        *,
        sample_rate: float | None = None,
        per_window: bool = False,
        batch_size: int = 32,
        progress: bool = False,
        names: Sequence[str] | None = None,
    ) -> list[Prediction]:
        """Classify several clips: their windows run ``batch_size`` at a time (a tqdm progress bar
        over the clips with ``progress=True``), each clip's answer the mean of its windows.
        ``names`` name the clips in errors (default ``input[i]``)."""
        if names is not None and len(names) != len(waves_or_paths):
            raise ConfigError(f"{len(names)} names for {len(waves_or_paths)} inputs")
        items: Iterable = waves_or_paths
        if progress:
            from tqdm.auto import tqdm

            items = tqdm(waves_or_paths, desc="predict", unit="clip")
        prepared = (
            self.prepare(
                item, sample_rate=sample_rate, name=f"input[{i}]" if names is None else names[i]
            )
            for i, item in enumerate(items)
        )
        return self.predict_prepared(
            prepared, per_window=per_window, batch_size=batch_size, names=names
        )

    def predict_prepared(
        self,
        clips: Iterable[np.ndarray],
        *,
        per_window: bool = False,
        batch_size: int = 32,
        names: Sequence[str] | None = None,
    ) -> list[Prediction]:
        """One :class:`Prediction` per prepared clip (:meth:`prepare`: ``(windows, ...)``), in
        order. ``clips`` is consumed as it goes (a generator keeps about ``batch_size`` windows in
        memory); the windows of several clips share a model call of up to ``batch_size``.
        ``names`` name the clips in errors (default ``input[i]``); it may grow as ``clips`` is
        consumed."""
        if batch_size < 1:
            raise ConfigError(f"batch_size={batch_size!r} must be >= 1")
        results: list[Prediction] = []
        pending: list[np.ndarray] = []  # windows of the clips not yet answered
        counts: list[int] = []  # windows per pending clip

        def run_pending() -> None:
            batch = np.concatenate(pending)  # clips' (n_i, ...) -> (sum n_i, ...)
            outputs = np.concatenate(
                [self(batch[i : i + batch_size]) for i in range(0, len(batch), batch_size)]
            )
            start = 0
            for n in counts:
                i = len(results)
                name = f"input[{i}]" if names is None else names[i]
                results.append(self._prediction(outputs[start : start + n], per_window, name))
                start += n
            pending.clear()
            counts.clear()

        for windows in clips:
            pending.append(windows)
            counts.append(len(windows))
            if sum(counts) >= batch_size:
                run_pending()
        if pending:
            run_pending()
        return results


def _legacy_contract(metadata: dict[str, Any]) -> InputContract:
    """The contract of a file exported before contracts were recorded: the length it was exported
    with is the length it was trained on (``example_input_shape``)."""
    shape = metadata.get("example_input_shape") or metadata.get("input_shape")
    return InputContract.from_input(
        input_kind=metadata.get("input_kind"),
        input_shape=shape[1:] if shape else None,
        sample_rate=metadata.get("sample_rate"),
    )


def contract_of(metadata: dict[str, Any]) -> InputContract:
    """The input contract an export's metadata records (or implies, for older exports)."""
    if metadata.get("input_contract"):
        return InputContract.from_dict(metadata["input_contract"])
    return _legacy_contract(metadata)


def _unreadable(path: Path, error: Exception) -> CheckpointError:
    """The one-line error of an ``.onnx`` file onnx / onnxruntime cannot read."""
    text = str(error).strip().splitlines()
    return CheckpointError(
        f"{path}: not a readable ONNX model ({text[-1] if text else type(error).__name__}); a "
        "file cut short by an interrupted copy reads so: copy it again"
    )


def _initializers(path: Path) -> dict[str, np.ndarray]:
    """The weights of an ``.onnx`` file (its graph's initializers) by name."""
    import onnx
    from onnx import numpy_helper

    try:
        model = onnx.load(str(path))
    except Exception as error:  # protobuf's DecodeError, or a missing external-data file
        raise _unreadable(path, error) from None
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


class OnnxClassifier(Predictor):
    """An exported classifier run with onnxruntime.

    Args:
        path: the ``.onnx`` file; its metadata is read from the file's ``metadata_props``
            (files exported before they held it need the sidecar ``<path>.json`` beside them).
        threshold: decision threshold for binary and multilabel labels; ``None``: the one the
            model was trained with (its contract's).
        num_threads: onnxruntime intra-op threads; ``None`` lets onnxruntime choose.

    Attributes: ``task``, ``class_names``, ``contract``, ``sample_rate``, ``input_kind``,
    ``input_shape``, ``channels``, ``window_length`` (samples per model input) and ``metadata``.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        threshold: float | None = None,
        num_threads: int | None = None,
    ):
        import onnxruntime

        self.path = Path(path)
        require_format(self.path, ["onnx"], what="OnnxClassifier")
        if num_threads is not None and num_threads < 1:
            raise ConfigError(f"num_threads={num_threads!r} must be >= 1 (or None for the default)")
        options = onnxruntime.SessionOptions()
        if num_threads is not None:
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
        check_finite(_initializers(self.path), self.path)
        try:
            self._session = onnxruntime.InferenceSession(
                str(self.path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime's errors derive from Exception only
            raise _unreadable(self.path, error) from None
        self._input_name = self._session.get_inputs()[0].name
        self.metadata = self._read_metadata()
        self.task: str = self.metadata["task"] or "multiclass"
        self.class_names: list[str] | None = self.metadata["class_names"]
        self.contract = contract_of(self.metadata)
        self._set_threshold(threshold)

    def _read_metadata(self) -> dict[str, Any]:
        props = self._session.get_modelmeta().custom_metadata_map
        if METADATA_KEY in props:
            return json.loads(props[METADATA_KEY])
        sidecar = self.path.with_name(self.path.name + ".json")
        if not sidecar.is_file():
            raise ConfigError(
                f"{self.path}: the model holds no audioconv metadata and the sidecar {sidecar} is "
                "missing: export the model with audioconv export"
            )
        return json.loads(sidecar.read_text(encoding="utf-8"))

    def __repr__(self) -> str:
        return (
            f"OnnxClassifier({str(self.path)!r}, task={self.task!r}, "
            f"input_shape={self.input_shape}, sample_rate={self.sample_rate})"
        )

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Run the graph on model inputs ``(batch, channels, window)`` -> probabilities."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        return self._session.run(None, {self._input_name: batch})[0]


def load_predictor(path: str | os.PathLike, *, threshold: float | None = None) -> Predictor:
    """The runtime for a model file, chosen by its content: ``.onnx`` -> :class:`OnnxClassifier`;
    TorchScript -> ``audioconv.export.TorchScriptClassifier``; a training checkpoint ->
    ``audioconv.export.CheckpointClassifier`` (the last two import torch).

    A file is first checked against its SHA-256 record (``<path>.sha256``) when it has one. An ONNX
    model and a checkpoint are data; a TorchScript model is a program that runs when loaded, so it
    is loaded only from a file whose name says so (``constants.TORCHSCRIPT_SUFFIXES``: ``.pt``,
    ``.ts``, ``.torchscript``), never from a ``.ckpt`` or a run folder's checkpoint.

    Raises:
        CheckpointError: the digest differs from the record, the file is damaged, or it holds
            TorchScript under another name.
    """
    found = model_format(path)
    if found != "checkpoint":  # a checkpoint is checked as it is read (load_classifier)
        verify_checkpoint(path, kind="export")
    if found == "torchscript" and Path(path).suffix.lower() not in TORCHSCRIPT_SUFFIXES:
        raise CheckpointError(
            f"{path}: holds a TorchScript program, not the {Path(path).suffix or 'named'} model "
            "its name says; TorchScript runs code when it is loaded, so audioconv loads it only "
            f"from a file named {' / '.join(TORCHSCRIPT_SUFFIXES)} (audioconv export writes "
            "them). Load it only if you made it: rename it, knowing it is code"
        )
    if found == "onnx":
        return OnnxClassifier(path, threshold=threshold)
    # lazy on purpose (same layer 6): export imports torch, and onnxruntime-only deployment has none
    from audioconv import export

    if found == "torchscript":
        return export.TorchScriptClassifier(path, threshold=threshold)
    return export.CheckpointClassifier(path, threshold=threshold)
