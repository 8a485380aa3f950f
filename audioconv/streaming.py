"""Classify a live signal (microphone, sensor feed) in sliding windows with bounded memory.

:class:`StreamClassifier` takes chunks of any size, keeps the last ``window`` samples in a
preallocated ring buffer and runs the model every ``hop`` samples. The windows it classifies are
exactly the offline sliding windows ``signal[:, k * hop : k * hop + window]`` for ``k = 0, 1, ...``,
so streaming and offline inference see the same model inputs. Windows that become ready within one
chunk are classified in one model call (up to ``max_batch`` at a time).

Each :class:`~audioconv.deploy.Prediction` carries ``timestamp_s``: the stream time in seconds of
the window's **last** sample (``(k * hop + window) / sample_rate``) — the moment the prediction
became possible in a live feed.

The window, hop, channels, padding and threshold default to the model's input contract
(:mod:`audioconv.contract`): a window of the clip length trained on, a hop of half a window. At
the end of a stream (:meth:`StreamClassifier.flush`) the tail that no window covered is classified
in one window ending at the last sample, and a stream shorter than one window is padded as the
contract says (at the end, with zeros, as in training) — so a replayed file gets exactly the
windows of :meth:`~audioconv.contract.InputContract.apply`, and ``clip`` (the mean of every
window's probabilities) is the answer ``audioconv predict`` gives for that file.

:func:`simulate` replays a file or raw PCM from a binary stream (e.g. stdin) through a
:class:`StreamClassifier` and measures the real-time factor; :func:`stream_main` is the body of
``audioconv stream`` (a table of every window with ``output=``, a figure of the classes'
probabilities over time, :func:`timeline_figure`, with ``plot=``). This module does not import
torch unless it is handed a torch model.
"""

from __future__ import annotations

import collections
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from audioconv.constants import input_kind_of
from audioconv.contract import (
    InputContract,
    StreamResampler,
    decide,
    fit_length,
    output_columns,
)
from audioconv.decode import read_audio
from audioconv.deploy import Prediction, Predictor, load_predictor
from audioconv.errors import ConfigError

__all__ = [
    "StreamClassifier",
    "Simulation",
    "contract_of_model",
    "simulate",
    "stream_main",
    "timeline_figure",
]

SMOOTHING = (None, "mean", "majority")
PCM_FORMATS = {"s16le": (np.dtype("<i2"), 1.0 / 32768.0), "f32le": (np.dtype("<f4"), 1.0)}


def _torch_module(model: Any) -> bool:
    """Whether ``model`` is a torch ``nn.Module`` (without importing torch if nothing did yet)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def contract_of_model(model: Any) -> InputContract | None:
    """The input contract a model carries: a runtime's ``contract`` (``audioconv.deploy``), an
    ``InferenceModel``'s ``input_contract``; ``None`` for plain callables."""
    if isinstance(model, Predictor):
        return model.contract
    return getattr(model, "input_contract", None)


def _batch_function(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    """``(batch, channels, window)`` float32 numpy -> probabilities numpy, for any model kind."""
    if _torch_module(model):
        import torch

        model.eval()

        def run(batch: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return model(torch.from_numpy(batch)).numpy()

        return run
    if not callable(model):
        raise ConfigError(
            f"model={type(model).__name__} is not callable: pass an InferenceModel, a torch "
            "module, an OnnxClassifier or a function (batch, channels, window) -> probabilities"
        )
    return lambda batch: np.asarray(model(batch))


class StreamClassifier:
    """Sliding-window classifier over a stream of chunks.

    Args:
        model: a runtime from :mod:`audioconv.deploy` (``OnnxClassifier``, or the TorchScript /
            checkpoint ones of :func:`~audioconv.deploy.load_predictor`), an ``InferenceModel``
            or torch module (put in eval mode, run under ``torch.inference_mode``), or any
            callable mapping ``(batch, channels, window)`` float32 numpy to probabilities.
        sample_rate: rate of the stream in Hz; must equal the model's rate when it has one
            (:func:`simulate` resamples files first).
        window_s: window length in seconds; default: the contract's window (the clip length the
            model was trained on).
        hop_s: seconds between predictions (``<= window_s``); default: the contract's hop (half
            a window), required for models without a contract.
        channels: channels of the stream; default: the contract's (else 1).
        smoothing: ``None``; ``"mean"`` — probabilities averaged over the last ``smoothing_k``
            windows; ``"majority"`` — the most frequent label of the last ``smoothing_k`` windows
            (ties go to the most recent), scored by its share of the votes, with the current
            window's probabilities.
        smoothing_k: number of windows smoothed over.
        task, class_names: override the model's own (needed for plain callables; default
            multiclass with class indices as names).
        threshold: binary / multilabel decision threshold; default: the contract's (else 0.5).
        max_batch: most windows classified in one model call.

    ``push(chunk)`` takes ``(channels, n)`` or, for one channel, ``(n,)`` samples. After
    :meth:`flush`, ``clip`` holds the whole stream's answer: the mean of all its windows'
    probabilities, the contract's rule for a long input.
    """

    def __init__(
        self,
        model: Any,
        *,
        sample_rate: float,
        window_s: float | None = None,
        hop_s: float | None = None,
        channels: int | None = None,
        smoothing: str | None = None,
        smoothing_k: int = 5,
        task: str | None = None,
        class_names: list[str] | None = None,
        threshold: float | None = None,
        max_batch: int = 32,
    ):
        contract = contract_of_model(model)
        model_rate = (
            getattr(model, "sample_rate", None) if contract is None else contract.sample_rate
        )
        if sample_rate is None or sample_rate <= 0:
            raise ConfigError(f"sample_rate={sample_rate!r} must be a positive number of Hz")
        if contract is not None and contract.unequal == "resample":
            raise ConfigError(
                "this model was trained on whole series stretched to one length (its input "
                "contract's unequal='resample'), so it scores whole series, not windows of a "
                "stream: use audioconv predict (or Predictor.predict) on each series"
            )
        if model_rate is not None and float(model_rate) != float(sample_rate):
            raise ConfigError(
                f"sample_rate={sample_rate} differs from the model's {model_rate} Hz: resample "
                "the stream to the model's rate first (simulate() does it for files)"
            )
        if window_s is None:
            if contract is None or contract.window is None:
                raise ConfigError(
                    "window_s=None but the model records no input length: pass window_s in seconds"
                )
            window_s = contract.window / sample_rate
        if hop_s is None:
            if contract is None or contract.window is None:
                raise ConfigError("hop_s=None but the model has no input contract: pass hop_s")
            hop_s = round(window_s * sample_rate) // 2 / sample_rate
            if contract.hop is not None and round(window_s * sample_rate) == contract.window:
                hop_s = contract.hop / sample_rate
        window = round(window_s * sample_rate)
        hop = round(hop_s * sample_rate)
        if window < 1 or hop < 1:
            raise ConfigError(
                f"window_s={window_s} and hop_s={hop_s} must each span at least one sample at "
                f"{sample_rate} Hz"
            )
        if hop > window:
            raise ConfigError(f"hop_s={hop_s} exceeds window_s={window_s}: use hop_s <= window_s")
        if smoothing not in SMOOTHING:
            raise ConfigError(f"smoothing={smoothing!r} is not one of {SMOOTHING}")
        if smoothing_k < 1:
            raise ConfigError(f"smoothing_k={smoothing_k!r} must be >= 1")
        model_channels = None if contract is None else contract.channels
        if channels is None:
            channels = model_channels or 1
        if channels < 1:
            raise ConfigError(f"channels={channels!r} must be >= 1")
        if model_channels is not None and model_channels != channels:
            raise ConfigError(
                f"channels={channels} but the model takes {model_channels}: pass a stream with "
                f"{model_channels} channel(s)"
            )
        if max_batch < 1:
            raise ConfigError(f"max_batch={max_batch!r} must be >= 1")
        self.contract = contract
        self.sample_rate = float(sample_rate)
        self.window = window
        self.hop = hop
        self.channels = channels
        self.smoothing = smoothing
        self.smoothing_k = smoothing_k
        self.max_batch = max_batch
        self.task = task or getattr(model, "task", None) or "multiclass"
        self.class_names = class_names or getattr(model, "class_names", None)
        if threshold is None:
            threshold = 0.5 if contract is None else contract.threshold
        self.threshold = threshold
        self.pad = "right" if contract is None else contract.pad
        self.pad_value = 0.0 if contract is None else contract.pad_value
        self.clip: Prediction | None = None
        self._run = _batch_function(model)
        # Preallocated state: the ring holds the last `window` samples, the batch the ready windows.
        self._ring = np.zeros((channels, window), dtype=np.float32)
        self._batch = np.zeros((max_batch, channels, window), dtype=np.float32)
        self._ends = np.zeros(max_batch, dtype=np.int64)
        self._history: collections.deque = collections.deque(maxlen=smoothing_k)
        self.reset()

    def reset(self) -> None:
        """Forget the stream: the next chunk starts at time 0."""
        self._ring[:] = 0.0
        self._total = 0  # samples received so far
        self._next_end = self.window  # sample count at which the next window is complete
        self._ready = 0  # windows waiting in self._batch
        self._last_end = 0  # end of the last classified window
        self._sum: np.ndarray | None = None  # sum of the windows' probabilities (for `clip`)
        self._count = 0  # windows classified
        self._history.clear()

    @property
    def time_s(self) -> float:
        """Stream time in seconds: samples received / sample rate."""
        return self._total / self.sample_rate

    def _write(self, samples: np.ndarray) -> None:
        """Append ``(channels, n)`` samples (``n <= window``) to the ring buffer."""
        n = samples.shape[1]
        start = self._total % self.window
        first = min(n, self.window - start)
        self._ring[:, start : start + first] = samples[:, :first]
        self._ring[:, : n - first] = samples[:, first:]
        self._total += n

    def _take_window(self) -> None:
        """Copy the last ``window`` samples, oldest first, into the next batch row."""
        row = self._batch[self._ready]
        if self._total < self.window:  # a stream shorter than one window: pad by the contract
            row[:] = fit_length(
                self._ring[:, : self._total], self.window, pad=self.pad, pad_value=self.pad_value
            )
        else:
            start = self._total % self.window  # the oldest sample sits where the next one goes
            row[:, : self.window - start] = self._ring[:, start:]
            row[:, self.window - start :] = self._ring[:, :start]
        self._ends[self._ready] = self._total
        self._ready += 1

    def _classify(self) -> list[Prediction]:
        """Run the model on the waiting windows and turn the outputs into predictions."""
        if self._ready == 0:
            return []
        probabilities = self._run(self._batch[: self._ready])
        out = [self._predict(p, int(end)) for p, end in zip(probabilities, self._ends)]
        self._last_end = int(self._ends[self._ready - 1])
        self._ready = 0
        return out

    def _predict(self, probabilities: np.ndarray, end: int) -> Prediction:
        probabilities = np.array(probabilities, dtype=np.float32)  # own copy, kept in history
        self._sum = probabilities.astype(np.float64) + (0.0 if self._sum is None else self._sum)
        self._count += 1
        timestamp = end / self.sample_rate
        name = f"the window ending at t={timestamp:.2f}s"
        label, score = self._decide(probabilities, name)
        if self.smoothing == "mean":
            self._history.append(probabilities)
            mean = np.mean(np.stack(self._history), axis=0)  # (k, classes) -> (classes,)
            label, score = self._decide(mean, name)
            return Prediction(label, score, mean, timestamp)
        if self.smoothing == "majority":
            self._history.append(label)
            counts = collections.Counter(self._history)
            best = max(counts.values())
            label = next(item for item in reversed(self._history) if counts[item] == best)
            return Prediction(label, best / len(self._history), probabilities, timestamp)
        return Prediction(label, score, probabilities, timestamp)

    def _decide(self, probabilities: np.ndarray, name: str) -> tuple[str, float]:
        return decide(
            probabilities,
            task=self.task,
            class_names=self.class_names,
            threshold=self.threshold,
            name=name,
        )

    def push(self, chunk: np.ndarray) -> list[Prediction]:
        """Feed ``(channels, n)`` (or ``(n,)`` for one channel) float samples; returns the
        predictions of every window completed by this chunk, oldest first (possibly none)."""
        chunk = np.asarray(chunk)
        if chunk.size == 0:
            return []
        chunk = (self.contract or InputContract()).check(chunk, name="chunk")  # float, finite
        chunk = chunk.astype(np.float32, copy=False)
        if chunk.ndim == 1 and self.channels == 1:
            chunk = chunk[None]  # (n,) -> (1, n)
        if chunk.ndim != 2 or chunk.shape[0] != self.channels:
            raise ConfigError(
                f"chunk of shape {chunk.shape} does not match channels={self.channels}: pass "
                "(channels, samples)"
            )
        out: list[Prediction] = []
        position = 0
        while position < chunk.shape[1]:
            n = min(chunk.shape[1] - position, self._next_end - self._total)
            self._write(chunk[:, position : position + n])
            position += n
            if self._total == self._next_end:
                self._take_window()
                self._next_end += self.hop
                if self._ready == self.max_batch:
                    out += self._classify()
        return out + self._classify()

    def flush(self) -> list[Prediction]:
        """End the stream: classify the last ``window`` samples if samples arrived after the last
        window (padded as the contract says, at the end by default, when the stream is shorter
        than one window); set ``clip`` to the mean of every window's probabilities; then
        :meth:`reset`."""
        out = []
        if self._total > self._last_end:
            self._take_window()
            out = self._classify()
        self.clip = None
        if self._count:
            mean = (self._sum / self._count).astype(np.float32)
            seconds = self._total / self.sample_rate
            self.clip = Prediction(*self._decide(mean, "the whole stream"), mean, seconds)
        self.reset()
        return out


class Simulation:
    """Iterator over the predictions of a replayed stream, with its real-time factor.

    After (or during) iteration: ``audio_s`` seconds of signal consumed, ``wall_s`` seconds spent
    reading and classifying, ``real_time_factor = audio_s / wall_s``.
    """

    def __init__(self, stream: StreamClassifier, chunks: Iterator[np.ndarray]):
        self.stream = stream
        self._chunks = chunks
        self.audio_s = 0.0
        self.wall_s = 0.0

    @property
    def real_time_factor(self) -> float:
        return self.audio_s / self.wall_s if self.wall_s > 0 else float("inf")

    def __iter__(self) -> Iterator[Prediction]:
        start = time.perf_counter()
        for chunk in self._chunks:
            predictions = self.stream.push(chunk)
            self.audio_s = self.stream.time_s
            self.wall_s += time.perf_counter() - start
            yield from predictions
            start = time.perf_counter()
        self.audio_s = self.stream.time_s
        predictions = self.stream.flush()
        self.wall_s += time.perf_counter() - start
        yield from predictions


def _array_chunks(wave: np.ndarray, chunk: int) -> Iterator[np.ndarray]:
    """``(channels, time)`` in chunks of ``chunk`` samples."""
    for start in range(0, wave.shape[-1], chunk):
        yield wave[:, start : start + chunk]


def _pcm_chunks(
    stream: IO[bytes], chunk: int, channels: int, pcm_format: str
) -> Iterator[np.ndarray]:
    dtype, scale = PCM_FORMATS[pcm_format]
    frame = dtype.itemsize * channels
    pending = b""
    while data := stream.read(chunk * frame):
        data = pending + data
        usable = len(data) - len(data) % frame
        pending = data[usable:]
        samples = np.frombuffer(data[:usable], dtype=dtype).astype(np.float32) * scale
        yield samples.reshape(-1, channels).T  # interleaved (n * channels,) -> (channels, n)


def _conformed(
    chunks: Iterator[np.ndarray], contract: InputContract, rate: float
) -> Iterator[np.ndarray]:
    """Raw chunks ``(channels, n)`` at ``rate`` Hz checked, mixed down and resampled to the model's
    rate by ``contract`` as they arrive (:class:`~audioconv.contract.StreamResampler`: the same
    samples as resampling the whole recording)."""
    target = contract.sample_rate
    resampler = None if target is None or target == rate else StreamResampler(rate, target)
    for chunk in chunks:
        if chunk.shape[-1]:
            chunk = contract.conform(chunk, name="raw PCM")  # (channels, n) -> (model's, n)
            yield chunk if resampler is None else resampler.push(chunk)
    if resampler is not None:
        yield resampler.push(np.zeros((contract.channels, 0), np.float32), final=True)


def _refuse_non_audio(source: str | os.PathLike, checkpoint: Any = "CHECKPOINT") -> None:
    """Raise ``ConfigError`` with the command that does score ``source`` if it is a sensor log
    or an image."""
    kind = input_kind_of(source)
    if kind == "sensor":
        raise ConfigError(
            f"{source}: a sensor log; streaming replays audio files or raw PCM. Score the log "
            f"window by window with `audioconv predict --checkpoint {checkpoint} {source} "
            "--per-window` (it reads the log's columns as the model was trained on them)"
        )
    if kind == "image":
        raise ConfigError(
            f"{source}: an image; streaming replays audio files or raw PCM. An image model "
            f"classifies images with `audioconv predict --checkpoint IMAGE_MODEL {source}`"
        )


def _refuse_image_model(contract: InputContract | None, model_path: Any = "MODEL") -> None:
    """Raise ``ConfigError`` if the model classifies images: there is no stream to window."""
    if contract is not None and contract.input_kind == "image":
        raise ConfigError(
            f"{model_path}: an image model; streaming classifies audio and sensor streams "
            f"window by window. Classify images with `audioconv predict --checkpoint {model_path} "
            "IMAGES`"
        )


def simulate(
    source: str | os.PathLike | IO[bytes],
    model: Any,
    *,
    sample_rate: float | None = None,
    window_s: float | None = None,
    hop_s: float | None = None,
    channels: int | None = None,
    smoothing: str | None = None,
    smoothing_k: int = 5,
    chunk_s: float = 0.1,
    pcm_format: str = "s16le",
    threshold: float | None = None,
) -> Simulation:
    """Replay ``source`` through a :class:`StreamClassifier` in chunks of ``chunk_s`` seconds.

    ``source`` is an audio file path, ``"-"`` for stdin, or a binary stream of raw interleaved
    PCM (``pcm_format`` ``"s16le"`` or ``"f32le"``) at ``sample_rate`` Hz with ``channels``
    channels. A file is decoded (with ``audioconv.io``'s checks), mixed down and resampled to the
    model's rate by its input contract (:meth:`~audioconv.contract.InputContract.conform`), then
    replayed; raw PCM is mixed down and resampled chunk by chunk as it arrives. ``sample_rate``
    and ``channels`` of raw PCM default to the model's. Iterate the result for predictions; it
    then holds the real-time factor, and ``result.stream.clip`` the whole recording's answer.
    """
    contract = contract_of_model(model)
    _refuse_image_model(contract)
    if pcm_format not in PCM_FORMATS:
        raise ConfigError(f"pcm_format={pcm_format!r} is not one of {sorted(PCM_FORMATS)}")
    if isinstance(source, (str, os.PathLike)) and str(source) != "-":
        _refuse_non_audio(source)
        if sample_rate is not None:
            raise ConfigError(
                f"sample_rate={sample_rate} given with the file {source}: the file's own rate is "
                "used, drop sample_rate"
            )
        wave, file_rate = read_audio(source)  # (channels, time)
        if contract is not None:
            wave = contract.conform(wave, sample_rate=file_rate, name=str(source))
            sample_rate = contract.sample_rate or file_rate
        else:
            sample_rate = file_rate
        channels = wave.shape[0]
        chunks = _array_chunks(wave, max(1, round(chunk_s * sample_rate)))
    else:
        stream = sys.stdin.buffer if str(source) == "-" else source
        if sample_rate is None and contract is not None:
            sample_rate = contract.sample_rate
        if sample_rate is None:
            raise ConfigError("raw PCM has no header: pass sample_rate (--sample-rate) in Hz")
        if channels is None:
            channels = 1 if contract is None else contract.channels
        chunks = _pcm_chunks(stream, max(1, round(chunk_s * sample_rate)), channels, pcm_format)
        if contract is not None:
            chunks = _conformed(chunks, contract, sample_rate)
            sample_rate, channels = contract.sample_rate or sample_rate, contract.channels
    classifier = StreamClassifier(
        model,
        sample_rate=sample_rate,
        window_s=window_s,
        hop_s=hop_s,
        channels=channels,
        smoothing=smoothing,
        smoothing_k=smoothing_k,
        threshold=threshold,
    )
    return Simulation(classifier, chunks)


def stream_main(
    source: str | os.PathLike | IO[bytes],
    model_path: str | os.PathLike,
    *,
    window_s: float | None = None,
    hop_s: float | None = None,
    smoothing: str | None = None,
    smoothing_k: int = 5,
    sample_rate: float | None = None,
    channels: int | None = None,
    pcm_format: str = "s16le",
    chunk_s: float = 0.1,
    threshold: float | None = None,
    out: IO[str] | None = None,
    output: str | os.PathLike | None = None,
    plot: str | os.PathLike | None = None,
) -> float:
    """``audioconv stream``: print ``t=  1.25s  label  0.973`` per hop, then the whole stream's
    answer (``# clip  label  0.973 (mean of N windows)``) and the real-time factor.

    ``model_path`` is a training ``.ckpt``, an exported ``.onnx`` or a TorchScript file
    (:func:`audioconv.deploy.load_predictor`); ``source`` an audio file or ``"-"`` (raw PCM on
    stdin); ``out`` defaults to standard output. ``output`` (``.csv`` / ``.json``) also gets one
    row per window: ``time_s``, ``label``, ``probability`` and the columns of
    :func:`~audioconv.contract.output_columns`; ``plot`` (``.png``, ``.pdf``, ``.svg``) gets
    :func:`timeline_figure`. Neither may lie in a run folder
    (:func:`~audioconv._runfolder.refuse_run_file`). Returns the real-time factor.
    """
    from audioconv._atomic import RECORD_SUFFIXES, atomic_path, write_records
    from audioconv._runfolder import refuse_run_file

    out = sys.stdout if out is None else out
    for path, suffixes, option in ((output, RECORD_SUFFIXES, "--output"),
                                   (plot, (".png", ".pdf", ".svg"), "--plot")):  # fmt: skip
        if path is not None and Path(path).suffix not in suffixes:
            raise ConfigError(f"{path}: use a {' / '.join(suffixes)} file")
        if path is not None:
            refuse_run_file(path, option)
    raw = hasattr(source, "read") or str(source) == "-"  # raw PCM, else a file
    if not raw:
        _refuse_non_audio(source, checkpoint=model_path)
    model = load_predictor(model_path, threshold=threshold)
    _refuse_image_model(model.contract, model_path)
    if raw and sample_rate is None and model.contract.sample_rate is not None:
        print(
            f"# raw PCM taken to be at {model.contract.sample_rate:g} Hz, the model's rate: pass "
            "--sample-rate if it is not",
            file=sys.stderr,
        )
    run = simulate(
        source,
        model,
        sample_rate=sample_rate,
        window_s=window_s,
        hop_s=hop_s,
        channels=channels,
        smoothing=smoothing,
        smoothing_k=smoothing_k,
        chunk_s=chunk_s,
        pcm_format=pcm_format,
    )
    predictions = []
    for prediction in run:
        predictions.append(prediction)
        print(
            f"t={prediction.timestamp_s:6.2f}s  {prediction.label}  {prediction.score:.3f}",
            file=out,
            flush=True,
        )
    clip = run.stream.clip
    if clip is not None:
        print(
            f"# clip  {clip.label}  {clip.score:.3f} (mean of {len(predictions)} windows)",
            file=out,
        )
    print(
        f"# real-time factor {run.real_time_factor:.1f}x ({run.audio_s:.2f} s of signal in "
        f"{run.wall_s:.3f} s)",
        file=out,
    )
    task, names = run.stream.task, run.stream.class_names
    if output is not None:
        rows = [
            {"time_s": round(p.timestamp_s, 6), "label": p.label, "probability": p.score,
             **output_columns(p.probabilities, task=task, class_names=names)}
            for p in predictions
        ]  # fmt: skip
        write_records(output, rows)
        print(f"wrote {output}", file=sys.stderr)
    if plot is not None:
        name = "standard input" if raw else Path(source).name
        title = f"{name}: {len(predictions)} windows"
        if clip is not None:
            title += f", whole stream {clip.label or '(none)'} {clip.score:.3f}"
        threshold = run.stream.threshold if task in ("binary", "multilabel") else None
        figure = timeline_figure(predictions, task=task, class_names=names, threshold=threshold,
                                 title=title)  # fmt: skip
        with atomic_path(plot) as tmp:
            figure.savefig(tmp, dpi=100)
        print(f"wrote {plot}", file=sys.stderr)
    return run.real_time_factor


def timeline_figure(
    predictions: list[Prediction],
    *,
    task: str,
    class_names: list[str] | None,
    threshold: float | None = None,
    title: str | None = None,
    max_classes: int = 10,
):
    """Each class's probability (regression: each output's value) over stream time, one line per
    class with the time of each window's last sample on the x axis; the ``threshold`` as a dashed
    line. With more than ``max_classes`` classes, those that win a window come first, then the
    most probable, up to ``max_classes`` (the title says how many are shown).

    Returns a ``matplotlib.figure.Figure`` (built without pyplot).
    """
    from matplotlib.figure import Figure

    if not predictions:
        raise ConfigError("no window was classified: the stream held no samples")
    times = np.array([p.timestamp_s for p in predictions])
    columns = [output_columns(p.probabilities, task=task, class_names=class_names)
               for p in predictions]  # fmt: skip
    names = list(columns[0])[-1:] if task == "binary" else list(columns[0])  # binary: P(positive)
    values = np.array([[row[n] for n in names] for row in columns])  # (windows, classes)
    shown = list(range(len(names)))
    if len(names) > max_classes:
        winners = sorted(set(values.argmax(1).tolist()), key=lambda i: -values[:, i].max())
        rest = [i for i in np.argsort(-values.max(0)).tolist() if i not in winners]
        shown = (winners + rest)[:max_classes]
    figure = Figure(figsize=(9, 3.5), layout="constrained")
    ax = figure.add_subplot()
    colours = [f"C{i}" for i in range(10)]
    for rank, index in enumerate(shown):
        label = names[index].removeprefix("p_") if task != "regression" else names[index]
        ax.plot(times, values[:, index], marker=".", linewidth=1.2, color=colours[rank % 10],
                label=label)  # fmt: skip
    if threshold is not None:
        ax.axhline(threshold, color="black", linestyle="--", linewidth=0.8,
                   label=f"threshold {threshold:g}")  # fmt: skip
    regression = task == "regression"
    ax.set(
        xlabel="stream time at the window's last sample (s)",
        ylabel="predicted value" if regression else "probability",
    )
    if not regression:
        ax.set_ylim(-0.02, 1.02)
    if len(shown) < len(names):
        title = f"{title + ' - ' if title else ''}{len(shown)} of {len(names)} classes shown"
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    return figure
