"""Run an exported ONNX classifier with onnxruntime: no PyTorch needed at run time.

:class:`OnnxClassifier` loads ``model.onnx`` and its sidecar ``model.onnx.json`` (written by
:func:`audioconv.export.export_onnx`) and prepares raw input the way training did: files are read
with soundfile, mixed down to mono (the mean of the channels) when the model takes one channel,
resampled to the model's rate, and, when the model's time axis is fixed, padded with zeros at the
end or cropped around the centre — what ``FixedLength(crop="center")`` does to validation and test
clips.

Resampling uses ``scipy.signal.resample_poly`` (a Kaiser-windowed polyphase FIR), while training
resamples with ``torchaudio.functional.resample`` (a Hann-windowed sinc). They differ slightly:
< 1e-2 max abs (measured 4e-3 to 8e-3) on tones below 3 kHz resampled to 8 kHz, up to ~0.1 max abs
(~0.02 RMS) on white noise, whose energy near Nyquist the two filters treat differently.
``tests/test_deploy.py`` checks the 1e-2 bound and that probabilities stay within 1e-4. Feed audio
already at the model's rate to avoid the difference entirely.

This module imports numpy, scipy, soundfile and onnxruntime only — never torch.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audioconv.errors import (
    AudioDecodeError,
    AudioFileNotFoundError,
    ConfigError,
    EmptyAudioError,
    NonFiniteAudioError,
)

__all__ = ["Prediction", "OnnxClassifier", "decide", "read_audio", "resample"]


@dataclass(frozen=True)
class Prediction:
    """One prediction.

    Attributes:
        label: the predicted class name (binary: the positive or negative name; multilabel: the
            names at or above the threshold joined by ``"+"``, ``""`` for none; regression: the
            value formatted with 4 significant digits).
        score: the probability of ``label`` (multilabel: the highest probability; regression: the
            first predicted value).
        probabilities: ``(num_classes,)`` probabilities, ``()`` P(positive) for binary, the raw
            values for regression.
        timestamp_s: for streams, the stream time in seconds of the window's last sample;
            ``None`` for single clips.
    """

    label: str
    score: float
    probabilities: np.ndarray
    timestamp_s: float | None = None


def _names(class_names: Sequence[str] | None, n: int) -> list[str]:
    return list(class_names) if class_names is not None else [str(i) for i in range(n)]


def decide(
    probabilities: np.ndarray,
    *,
    task: str,
    class_names: Sequence[str] | None = None,
    threshold: float = 0.5,
) -> tuple[str, float]:
    """The label and its score for one output of the model (see :class:`Prediction`).

    >>> decide(np.array([0.1, 0.7, 0.2]), task="multiclass", class_names=["a", "b", "c"])
    ('b', 0.7)
    >>> decide(np.array(0.2), task="binary", class_names=["no", "yes"])
    ('no', 0.8)
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if task == "multiclass":
        index = int(np.argmax(p))
        return _names(class_names, p.shape[-1])[index], round(float(p[index]), 6)
    if task == "binary":
        positive = float(p.reshape(-1)[0])
        names = _names(class_names, 2)
        if positive >= threshold:
            return names[-1], round(positive, 6)
        return names[0], round(1.0 - positive, 6)
    if task == "multilabel":
        names = _names(class_names, p.shape[-1])
        active = [name for name, value in zip(names, p) if value >= threshold]
        return "+".join(active), round(float(p.max()), 6)
    if task == "regression":
        value = float(p.reshape(-1)[0])
        return f"{value:.4g}", value
    raise ConfigError(f"task={task!r} is not binary, multiclass, multilabel or regression")


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read an audio file with soundfile: ``(channels, time)`` float32 in [-1, 1] and its rate."""
    import soundfile

    path = Path(path)
    if not path.is_file():
        raise AudioFileNotFoundError(path, "no such file: check the path")
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as error:
        raise AudioDecodeError(
            path, f"cannot decode ({error}): is it a wav/flac/ogg file?"
        ) from None
    if data.shape[0] == 0:
        raise EmptyAudioError(path, "the file holds no samples")
    if not np.isfinite(data).all():
        raise NonFiniteAudioError(path, "the samples contain NaN or infinity: re-export the file")
    return np.ascontiguousarray(data.T), int(rate)  # (time, channels) -> (channels, time)


def resample(wave: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    """Resample ``(..., time)`` from ``orig_rate`` to ``new_rate`` Hz (``resample_poly``, float32).

    >>> resample(np.ones((1, 1600), np.float32), 16000, 8000).shape
    (1, 800)
    """
    from scipy.signal import resample_poly

    if orig_rate == new_rate:
        return wave
    common = math.gcd(int(orig_rate), int(new_rate))
    out = resample_poly(wave, int(new_rate) // common, int(orig_rate) // common, axis=-1)
    return out.astype(np.float32, copy=False)


class OnnxClassifier:
    """An exported classifier run with onnxruntime.

    Args:
        path: the ``.onnx`` file; its sidecar ``<path>.json`` must sit beside it.
        threshold: decision threshold for binary and multilabel labels.
        num_threads: onnxruntime intra-op threads; ``None`` lets onnxruntime choose.

    Attributes: ``task``, ``class_names``, ``sample_rate``, ``input_kind``, ``input_shape``
    (``[None, channels, time]`` with ``None`` for dynamic axes), ``channels``, ``window_length``
    (samples, ``None`` when the time axis is dynamic) and ``metadata`` (the whole sidecar).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        threshold: float = 0.5,
        num_threads: int | None = None,
    ):
        import onnxruntime

        self.path = Path(path)
        sidecar = self.path.with_name(self.path.name + ".json")
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such ONNX file: export one first")
        if not sidecar.is_file():
            raise ConfigError(
                f"{sidecar}: the metadata sidecar is missing: export the model with "
                "audioconv.export (audioconv export) which writes it beside the .onnx file"
            )
        if not 0.0 < threshold < 1.0:
            raise ConfigError(f"threshold={threshold!r} must lie strictly between 0 and 1")
        if num_threads is not None and num_threads < 1:
            raise ConfigError(f"num_threads={num_threads!r} must be >= 1 (or None for the default)")
        self.metadata = json.loads(sidecar.read_text(encoding="utf-8"))
        self.task: str = self.metadata["task"] or "multiclass"
        self.class_names: list[str] | None = self.metadata["class_names"]
        self.sample_rate: float | None = self.metadata["sample_rate"]
        self.input_kind: str = self.metadata["input_kind"]
        self.input_shape: list[int | None] = self.metadata["input_shape"]
        self.channels: int = int(self.input_shape[1])
        self.window_length: int | None = self.input_shape[-1]
        self.threshold = threshold
        options = onnxruntime.SessionOptions()
        if num_threads is not None:
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(self.path), options, providers=["CPUExecutionProvider"]
        )
        self._input_name = self._session.get_inputs()[0].name

    def __repr__(self) -> str:
        return (
            f"OnnxClassifier({str(self.path)!r}, task={self.task!r}, "
            f"input_shape={self.input_shape}, sample_rate={self.sample_rate})"
        )

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Run the graph on a prepared batch ``(batch, channels, time)`` -> probabilities."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        return self._session.run(None, {self._input_name: batch})[0]

    def prepare(
        self, wave_or_path: np.ndarray | str | os.PathLike, *, sample_rate: int | None = None
    ) -> np.ndarray:
        """One model input ``(channels, time)`` (images: ``(channels, height, width)``).

        A path is read with soundfile at its own rate (``sample_rate`` must then be ``None``). An
        array ``(time,)`` or ``(channels, time)`` is taken to be at ``sample_rate`` Hz, or at the
        model's rate when ``sample_rate`` is ``None``.
        """
        if isinstance(wave_or_path, (str, os.PathLike)):
            if sample_rate is not None:
                raise ConfigError(
                    f"sample_rate={sample_rate!r} given with a file path: the file's own rate is "
                    "used, drop sample_rate"
                )
            wave, sample_rate = read_audio(wave_or_path)
        else:
            wave = np.asarray(wave_or_path, dtype=np.float32)
        if self.input_kind == "image":
            if wave.shape != tuple(self.input_shape[1:]):
                raise ConfigError(
                    f"image of shape {wave.shape} does not fit the model's input "
                    f"{self.input_shape[1:]}: resize it to (channels, height, width) first"
                )
            return wave
        if wave.ndim == 1:
            wave = wave[None]  # (time,) -> (1, time)
        if wave.ndim != 2:
            raise ConfigError(f"input of shape {wave.shape} must be (time,) or (channels, time)")
        if wave.shape[0] != self.channels:
            if self.channels != 1:
                raise ConfigError(
                    f"input has {wave.shape[0]} channels, the model takes {self.channels}: "
                    "select or reorder the channels first"
                )
            wave = wave.mean(axis=0, keepdims=True)  # (channels, time) -> (1, time): mono mix
        if sample_rate is not None and self.sample_rate is not None:
            wave = resample(wave, int(sample_rate), int(self.sample_rate))
        if self.window_length is not None:
            length = int(self.window_length)
            if wave.shape[-1] < length:
                wave = np.pad(wave, ((0, 0), (0, length - wave.shape[-1])))
            start = (wave.shape[-1] - length) // 2  # centre crop, as FixedLength(crop="center")
            wave = wave[:, start : start + length]
        return np.ascontiguousarray(wave, dtype=np.float32)

    def _predictions(self, probabilities: np.ndarray) -> list[Prediction]:
        out = []
        for p in probabilities:
            label, score = decide(
                p, task=self.task, class_names=self.class_names, threshold=self.threshold
            )
            out.append(Prediction(label, score, p))
        return out

    def predict(
        self, wave_or_path: np.ndarray | str | os.PathLike, *, sample_rate: int | None = None
    ) -> Prediction:
        """Classify one clip (an array or an audio file): label, score and probabilities."""
        x = self.prepare(wave_or_path, sample_rate=sample_rate)
        return self._predictions(self(x[None]))[0]  # (channels, time) -> (1, channels, time)

    def predict_batch(
        self,
        waves_or_paths: Sequence[np.ndarray | str | os.PathLike],
        *,
        sample_rate: int | None = None,
    ) -> list[Prediction]:
        """Classify several clips: one onnxruntime call per group of equal-length inputs."""
        inputs = [self.prepare(item, sample_rate=sample_rate) for item in waves_or_paths]
        results: list[Prediction | None] = [None] * len(inputs)
        groups: dict[tuple[int, ...], list[int]] = {}
        for index, x in enumerate(inputs):
            groups.setdefault(x.shape, []).append(index)
        for indices in groups.values():
            batch = np.stack([inputs[i] for i in indices])  # (n, channels, time)
            for i, prediction in zip(indices, self._predictions(self(batch))):
                results[i] = prediction
        return results
