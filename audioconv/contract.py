"""The input contract of a trained model: how any raw input becomes the model's input.

One :class:`InputContract` is recorded with every trained model (``Classifier`` hparams
``input_contract``), travels into every export (ONNX ``metadata_props``, TorchScript extra file,
sidecar JSON) and is applied by one function, :meth:`InputContract.apply`, on every path to a
prediction: evaluation, ``Classifier.predict*``, ``audioconv predict`` / ``test`` / ``stream``,
:class:`~audioconv.deploy.OnnxClassifier` and TorchScript. The rule, in order:

1. check the input: a float array ``(time,)`` or ``(channels, time)`` (images ``(channels, height,
   width)``), not empty, finite — else an :class:`~audioconv.errors.InputError` naming the input
   (a model trained with missing values read as zeros, interpolated or dropped, ``nan="zero"``
   / ``"interpolate"`` / ``"drop"``, reads them so too);
2. mix down: more channels than the model takes are averaged into one when the model takes one
   (``mixdown="mean"``); any other mismatch is an error;
3. resample to ``sample_rate`` (``scipy.signal.resample_poly``) when the input's rate differs;
4. fit the time axis to ``window`` samples (the clip length trained on): a shorter input is padded
   with ``pad_value`` at the end (``pad="right"``, what training does) or on both sides
   (``"center"``); a longer one is cut into sliding windows ``[k * hop, k * hop + window)`` plus,
   when the tail is not covered, one window ending at the last sample (``long_input="windows"``;
   ``hop`` defaults to half a window). Nothing is cropped away silently. A model trained on
   series stretched to one length (``unequal="resample"``, e.g. the UCR recipe's unequal-length
   problems) instead gets every input stretched or squeezed to ``window`` samples by linear
   interpolation (:func:`stretch`), as its training series were.

The clip's answer is the mean of its windows' probabilities (:meth:`InputContract.combine`); a
label comes from :func:`decide`, the one thresholding rule: positive when ``score >= threshold``.

This module imports numpy only (scipy when resampling); it handles torch tensors without importing
torch, so deployment code stays torch-free.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from audioconv.constants import INPUT_KINDS, MISSING, UNEQUAL
from audioconv.errors import ConfigError, InputError

__all__ = [
    "CONTRACT_VERSION",
    "ClipWindows",
    "InputContract",
    "NAN_RULES",
    "StreamResampler",
    "clip_means",
    "decide",
    "fill_missing",
    "fit_length",
    "is_positive",
    "resample",
    "stretch",
    "top_k",
    "window_starts",
]

CONTRACT_VERSION = 1
PADS = ("right", "center")
MIXDOWNS = ("mean", "none")
LONG_INPUTS = ("windows",)


def _is_torch(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


# --------------------------------------------------------------------------------------------
# Array primitives (numpy or torch, same code)
# --------------------------------------------------------------------------------------------


def fit_length(
    x: Any, length: int, *, start: int = 0, pad: str = "right", pad_value: float = 0.0
) -> Any:
    """Crop ``(..., time)`` to ``length`` samples from ``start``, or pad it up to ``length``.

    ``pad="right"`` puts the fill at the end, ``"center"`` splits it between both ends. Works on
    numpy arrays and torch tensors alike. Returns ``(..., length)``.

    >>> fit_length(np.arange(3.0), 5).tolist()
    [0.0, 1.0, 2.0, 0.0, 0.0]
    """
    total = x.shape[-1]
    if total >= length:
        return x[..., start : start + length]
    missing = length - total
    before = missing // 2 if pad == "center" else 0
    if _is_torch(x):
        import torch.nn.functional as F

        return F.pad(x, (before, missing - before), value=pad_value)
    widths = [(0, 0)] * (x.ndim - 1) + [(before, missing - before)]
    return np.pad(x, widths, constant_values=pad_value)


#: the largest window, hop or channel count a contract takes: 2**28 samples (about 1.5 hours at
#: 48 kHz, 1 GiB as float32 per window)
MAX_SAMPLES = 2**28

#: what the contract does with missing values (NaN) of an input (``nan``): the data loaders'
#: rules (:data:`~audioconv.constants.MISSING`) and a sensor log's ``--nan-policy`` ones
NAN_RULES = (*MISSING, "interpolate", "drop")


def fill_missing(x: Any, how: str = "zero") -> Any:
    """Missing values (NaN) of ``(..., time)`` samples, numpy or torch: ``"zero"`` -> 0;
    ``"interpolate"``: linear in time per channel, the ends held (as ``pandas`` reads a sensor
    log with ``nan_policy="interpolate"``); ``"drop"``: the time steps with any NaN removed.
    Infinities stay (and are refused).

    >>> fill_missing(np.array([1.0, np.nan])).tolist()
    [1.0, 0.0]
    >>> fill_missing(np.array([[1.0, np.nan, 3.0]]), "interpolate").tolist()
    [[1.0, 2.0, 3.0]]
    """
    if how == "zero":
        if _is_torch(x):
            return x.masked_fill(x.isnan(), 0.0)
        return np.where(np.isnan(x), 0.0, x).astype(x.dtype, copy=False)
    if _is_torch(x):
        import torch

        return torch.from_numpy(fill_missing(x.detach().cpu().numpy(), how))
    missing = np.isnan(x)
    if not missing.any():
        return x
    if how == "drop":
        return x[..., ~missing.reshape(-1, x.shape[-1]).any(0)]
    flat = x.reshape(-1, x.shape[-1]).copy()  # (channels, time)
    steps = np.arange(x.shape[-1])
    for row, gaps in zip(flat, missing.reshape(flat.shape)):
        if gaps.all():
            continue  # nothing to interpolate from: refused as NaN by the caller
        row[gaps] = np.interp(steps[gaps], steps[~gaps], row[~gaps])
    return flat.reshape(x.shape)


def stretch(x: Any, length: int) -> Any:
    """Linear interpolation of ``(..., time)`` to ``length`` samples, the first and last samples
    kept (``torch.nn.functional.interpolate(mode="linear", align_corners=True)``, which torch
    tensors go through; numpy arrays through ``np.interp``). Returns ``(..., length)``.

    >>> stretch(np.array([0.0, 2.0]), 3).tolist()
    [0.0, 1.0, 2.0]
    """
    total = x.shape[-1]
    if total == length:
        return x
    if _is_torch(x):
        import torch.nn.functional as F

        flat = x.reshape(1, -1, total).float()  # (..., time) -> (1, rows, time)
        out = F.interpolate(flat, size=length, mode="linear", align_corners=True)
        return out.reshape(*x.shape[:-1], length)
    flat = np.asarray(x, dtype=np.float64).reshape(-1, total)  # (rows, time)
    if total == 1:
        out = np.repeat(flat, length, axis=-1)
    else:
        where = np.linspace(0.0, total - 1.0, length)
        out = np.stack([np.interp(where, np.arange(total), row) for row in flat])
    return out.reshape(*x.shape[:-1], length).astype(np.float32)


def window_starts(total: int, window: int, hop: int) -> list[int]:
    """Start of each sliding window over ``total`` samples: ``0, hop, 2 * hop, ...`` while the
    window fits, then one window ending at the last sample if the tail is not covered; ``[0]``
    when ``total <= window`` (that one window is padded).

    >>> window_starts(10, 4, 2), window_starts(11, 4, 2), window_starts(3, 4, 2)
    ([0, 2, 4, 6], [0, 2, 4, 6, 7], [0])
    """
    if total <= window:
        return [0]
    starts = list(range(0, total - window + 1, hop))
    if starts[-1] + window < total:
        starts.append(total - window)
    return starts


def resample(wave: np.ndarray, orig_rate: float, new_rate: float) -> np.ndarray:
    """Resample ``(..., time)`` from ``orig_rate`` to ``new_rate`` Hz (``resample_poly``, float32).

    >>> resample(np.ones((1, 1600), np.float32), 16000, 8000).shape
    (1, 800)
    """
    from scipy.signal import resample_poly

    if orig_rate == new_rate:
        return wave
    if int(orig_rate) != orig_rate or int(new_rate) != new_rate:
        raise ConfigError(
            f"sample rates {orig_rate} and {new_rate} Hz must be whole numbers to resample"
        )
    common = math.gcd(int(orig_rate), int(new_rate))
    out = resample_poly(wave, int(new_rate) // common, int(orig_rate) // common, axis=-1)
    return out.astype(np.float32, copy=False)


class StreamResampler:
    """:func:`resample` of a signal arriving in chunks: ``push(chunk)`` returns the next resampled
    samples, ``push(empty, final=True)`` the rest; concatenated, exactly ``resample`` of the whole
    signal. Input is held back ``margin`` samples (the filter's reach), so output lags by that much.

    >>> r = StreamResampler(16000, 8000)
    >>> x = np.random.default_rng(0).standard_normal((1, 5000)).astype(np.float32)
    >>> parts = [r.push(x[:, i : i + 700]) for i in range(0, 5000, 700)]
    >>> bool(np.array_equal(np.concatenate([*parts, r.push(x[:, :0], final=True)], axis=-1),
    ...                     resample(x, 16000, 8000)))
    True
    """

    def __init__(self, orig_rate: float, new_rate: float):
        if int(orig_rate) != orig_rate or int(new_rate) != new_rate:
            raise ConfigError(
                f"sample rates {orig_rate} and {new_rate} Hz must be whole numbers to resample"
            )
        common = math.gcd(int(orig_rate), int(new_rate))
        self.up, self.down = int(new_rate) // common, int(orig_rate) // common
        reach = 10 * max(self.up, self.down) // self.up + 2  # resample_poly's filter, in inputs
        self.margin = -(-reach // self.down) * self.down  # a whole number of `down` blocks
        self._data: np.ndarray | None = None  # (..., context + pending) input samples
        self._left = 0  # context samples already resampled

    def push(self, chunk: np.ndarray, *, final: bool = False) -> np.ndarray:
        """``(..., n)`` new input samples -> ``(..., m)`` output samples (float32)."""
        from scipy.signal import resample_poly

        data = chunk if self._data is None else np.concatenate([self._data, chunk], axis=-1)
        usable = data.shape[-1] - self._left
        if not final:  # keep `margin` unresampled samples for the filter's look-ahead
            usable = (usable - self.margin) // self.down * self.down
        if usable <= 0:
            self._data = data
            return np.zeros((*chunk.shape[:-1], 0), np.float32)
        stop = None if final else self._left + usable + self.margin
        out = resample_poly(data[..., :stop], self.up, self.down, axis=-1)
        first = self._left * self.up // self.down
        out = out[..., first:] if final else out[..., first : first + usable * self.up // self.down]
        keep = min(self.margin, self._left + usable)
        self._data, self._left = data[..., self._left + usable - keep :], keep
        return out.astype(np.float32, copy=False)


# --------------------------------------------------------------------------------------------
# Decisions: the one thresholding rule
# --------------------------------------------------------------------------------------------


def is_positive(scores: Any, threshold: float) -> Any:
    """The one thresholding rule of binary and multilabel scores: ``scores >= threshold``."""
    return scores >= threshold


def _names(class_names: Sequence[str] | None, n: int) -> list[str]:
    return list(class_names) if class_names is not None else [str(i) for i in range(n)]


def decide(
    probabilities: Any,
    *,
    task: str,
    class_names: Sequence[str] | None = None,
    threshold: float = 0.5,
    name: str = "input",
) -> tuple[str, float]:
    """The label and its score for one output of the model.

    multiclass: the argmax and its probability; binary: the positive name when P(positive)
    ``>= threshold`` (else the negative name and ``1 - P``); multilabel: the names at or above the
    threshold joined by ``";"`` as in manifests' ``tags`` (``""`` for none) and the highest
    probability; regression: the first value formatted with 4 significant digits, and that value.
    An output holding NaN or infinity has no label: :class:`InputError` naming ``name``.

    >>> decide(np.array([0.1, 0.7, 0.2]), task="multiclass", class_names=["a", "b", "c"])
    ('b', 0.7)
    >>> decide(np.array(0.5), task="binary", class_names=["no", "yes"])
    ('yes', 0.5)
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if not np.isfinite(p).all():
        raise InputError(
            f"{name}: the model's output holds NaN or infinity, so it has no label: the input is "
            "far outside what the model was trained on (e.g. samples far beyond [-1, 1]) or the "
            "model file is damaged (copy it again)"
        )
    if task == "multiclass":
        index = int(np.argmax(p))
        return _names(class_names, p.shape[-1])[index], round(float(p[index]), 6)
    if task == "binary":
        positive = float(p.reshape(-1)[0])
        names = _names(class_names, 2)
        if is_positive(positive, threshold):
            return names[-1], round(positive, 6)
        return names[0], round(1.0 - positive, 6)
    if task == "multilabel":
        names = _names(class_names, p.shape[-1])
        active = [name for name, value in zip(names, p) if is_positive(value, threshold)]
        return ";".join(active), round(float(p.max()), 6)
    if task == "regression":
        value = float(p.reshape(-1)[0])
        return f"{value:.4g}", value
    raise ConfigError(f"task={task!r} is not binary, multiclass, multilabel or regression")


def top_k(
    probabilities: Any, k: int, *, task: str, class_names: Sequence[str] | None = None
) -> list[tuple[str, float]]:
    """The ``k`` most probable classes ``[(name, probability), ...]``, best first (binary: both
    classes; regression: ``[]``)."""
    p = np.asarray(probabilities, dtype=np.float64)
    if task == "regression":
        return []
    if task == "binary":
        positive = float(p.reshape(-1)[0])
        p = np.array([1.0 - positive, positive])
    names = _names(class_names, p.shape[-1])
    order = np.argsort(-p, kind="stable")[:k]
    return [(names[i], round(float(p[i]), 6)) for i in order]


def output_columns(
    probabilities: Any, *, task: str, class_names: Sequence[str] | None = None
) -> dict[str, float]:
    """One output as named columns, as a run's ``predictions.csv`` names them: ``p_<class>`` per
    class (binary: both classes), ``value_<i>`` per regression output.

    >>> output_columns(np.array(0.75), task="binary", class_names=["no", "yes"])
    {'p_no': 0.25, 'p_yes': 0.75}
    """
    p = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    if task == "regression":
        return {f"value_{i}": float(v) for i, v in enumerate(p)}
    if task == "binary":
        p = np.array([1.0 - p[0], p[0]])
    return {f"p_{n}": round(float(v), 6) for n, v in zip(_names(class_names, len(p)), p)}


class ClipWindows(NamedTuple):
    """A batch of clips cut into windows: ``windows`` ``(sum of counts, channels, window)`` and
    ``counts`` ``(clips,)`` windows per clip, in order. Evaluation scores each clip by the mean
    of its windows' outputs (:func:`clip_means`)."""

    windows: Any
    counts: Any


def clip_means(outputs: Any, counts: Any) -> Any:
    """Per-clip means of per-window ``outputs`` ``(sum of counts, ...)`` -> ``(clips, ...)``
    (torch tensors), the contract's rule for a long input."""
    import torch

    clip = torch.repeat_interleave(torch.arange(len(counts), device=outputs.device), counts)
    sums = torch.zeros(
        (len(counts), *outputs.shape[1:]), dtype=outputs.dtype, device=outputs.device
    )
    sums.index_add_(0, clip, outputs)  # (windows, ...) -> (clips, ...)
    return sums / counts.reshape(-1, *([1] * (outputs.dim() - 1))).to(outputs.dtype)


# --------------------------------------------------------------------------------------------
# The contract
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class InputContract:
    """What a trained model takes and how a raw input is made into it (see the module docstring).

    Attributes:
        input_kind: ``"audio"``, ``"sensor"`` or ``"image"``.
        sample_rate: rate of the model's input in Hz (``None`` for images / unknown).
        channels: input channels the model takes.
        mixdown: ``"mean"``: inputs with more channels are averaged into one when ``channels``
            is 1; ``"none"``: the channel count must match.
        window: samples per model input, the clip length trained on (``None``: any length, the
            whole input is one window). Images: ``None``.
        image_size: ``(height, width)`` of an image input, else ``None``.
        pad: where a short input is padded: ``"right"`` (the end) or ``"center"``.
        pad_value: the fill value of the padding.
        long_input: ``"windows"``: sliding windows, the clip's probabilities are their mean.
        hop: samples between windows; ``None``: ``window // 2``.
        unequal: ``"pad"``: the rule above (pad a short input, cut a long one into windows);
            ``"resample"``: stretch every input to ``window`` samples (:func:`stretch`), for a
            model trained on series resampled to one length.
        nan: ``"raise"``: missing values (NaN) are an error; ``"zero"``: they are read as 0,
            ``"interpolate"`` linearly in time, ``"drop"``: their time steps removed
            (:func:`fill_missing`), as the model's training series or logs were. A stream is
            filled chunk by chunk, so an interpolated gap across two chunks holds its ends.
        threshold: binary / multilabel decision threshold (positive when ``>= threshold``).
        channel_names: the columns of a sensor log the model's channels are, in order (``None``:
            unknown, e.g. a model from before they were recorded, or series whose dimensions are
            positional); ``audioconv predict`` selects them from a table by name.
        time_column, stream_column: the sensor log's timestamp and recording-id columns in
            training (``None``: none); ``audioconv predict`` checks a table's time order and rate
            with the first and refuses a table of several recordings by the second.
    """

    input_kind: str = "audio"
    sample_rate: float | None = None
    channels: int = 1
    mixdown: str = "mean"
    window: int | None = None
    image_size: tuple[int, int] | None = None
    pad: str = "right"
    pad_value: float = 0.0
    long_input: str = "windows"
    hop: int | None = None
    unequal: str = "pad"
    nan: str = "raise"
    threshold: float = 0.5
    channel_names: tuple[str, ...] | None = None
    time_column: str | None = None
    stream_column: str | None = None

    def __post_init__(self):
        if self.input_kind not in INPUT_KINDS:
            raise ConfigError(f"input_kind={self.input_kind!r} is not one of {INPUT_KINDS}")
        if self.sample_rate is not None and not self.sample_rate > 0:
            raise ConfigError(f"sample_rate={self.sample_rate!r} must be a positive number of Hz")
        for field in ("channels", "window", "hop"):
            value = getattr(self, field)
            if value is not None and (isinstance(value, bool) or int(value) != value or value < 1):
                raise ConfigError(f"{field}={value!r} must be a positive integer")
            if value is not None and value > MAX_SAMPLES:  # e.g. a tampered checkpoint
                raise ConfigError(
                    f"{field}={value!r} exceeds {MAX_SAMPLES:,}: no model is trained on inputs "
                    "that long (a window alone would need gigabytes)"
                )
        if self.mixdown not in MIXDOWNS:
            raise ConfigError(f"mixdown={self.mixdown!r} is not one of {MIXDOWNS}")
        if self.pad not in PADS:
            raise ConfigError(f"pad={self.pad!r} is not one of {PADS}")
        if self.long_input not in LONG_INPUTS:
            raise ConfigError(f"long_input={self.long_input!r} is not one of {LONG_INPUTS}")
        if self.nan not in NAN_RULES:
            raise ConfigError(f"nan={self.nan!r} is not one of {NAN_RULES}")
        if self.unequal not in UNEQUAL:
            raise ConfigError(f"unequal={self.unequal!r} is not one of {UNEQUAL}")
        if self.unequal == "resample" and (self.window is None or self.input_kind == "image"):
            raise ConfigError(
                "unequal='resample' stretches inputs to the window trained on: it needs a window "
                "(a series or audio model)"
            )
        if not (isinstance(self.pad_value, int | float) and math.isfinite(self.pad_value)):
            raise ConfigError(f"pad_value={self.pad_value!r} must be a finite number")
        if not (isinstance(self.threshold, int | float) and 0.0 < self.threshold < 1.0):
            raise ConfigError(f"threshold={self.threshold!r} must lie strictly between 0 and 1")
        if self.input_kind == "image" and self.image_size is None:
            raise ConfigError("an image contract needs image_size=(height, width)")
        if self.image_size is not None:
            object.__setattr__(self, "image_size", tuple(int(n) for n in self.image_size))
        if self.window is not None and self.hop is not None and self.hop > self.window:
            raise ConfigError(f"hop={self.hop} exceeds window={self.window}: use hop <= window")
        self._check_columns()

    def _check_columns(self) -> None:
        for field in ("time_column", "stream_column"):
            value = getattr(self, field)
            if value is not None and not (isinstance(value, str) and value):
                raise ConfigError(f"{field}={value!r} must be a column name or None")
        if self.channel_names is None:
            return
        names = self.channel_names
        if isinstance(names, str) or not all(isinstance(n, str) and n for n in names):
            raise ConfigError(f"channel_names={names!r} must be a sequence of column names")
        names = tuple(names)
        if len(names) != self.channels or len(set(names)) != len(names):
            raise ConfigError(
                f"channel_names={list(names)} must name each of the {self.channels} channels once"
            )
        if {self.time_column, self.stream_column} & set(names):
            raise ConfigError(
                f"channel_names={list(names)} include the time or stream column: a channel is "
                "a column of samples"
            )
        object.__setattr__(self, "channel_names", names)

    # --- plain values ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe values, with ``"version"``."""
        out = dataclasses.asdict(self)
        for field in ("image_size", "channel_names"):
            if out[field] is not None:
                out[field] = list(out[field])
        return {"version": CONTRACT_VERSION, **out}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InputContract:
        """Rebuild from :meth:`to_dict` output; unknown keys are an error naming them."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"input contract {data!r}: expected a dict of its fields")
        data = dict(data)
        version = data.pop("version", CONTRACT_VERSION)
        if version != CONTRACT_VERSION:
            raise ConfigError(
                f"input contract version {version!r} is not {CONTRACT_VERSION}: upgrade audioconv"
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"input contract has unknown fields {unknown}; known: {sorted(known)}"
            )
        return cls(**data)

    @classmethod
    def from_input(
        cls,
        *,
        input_kind: str | None,
        input_shape: Sequence[int] | None,
        sample_rate: float | None,
        **options: Any,
    ) -> InputContract:
        """The contract of a model trained on ``input_shape`` inputs ``(channels, time)`` /
        ``(channels, height, width)`` (the Classifier's recorded input); ``options`` set the
        other fields (pad, hop, threshold, ...)."""
        kind = input_kind or "audio"
        shape = [int(n) for n in input_shape] if input_shape else None
        if kind == "image":
            if shape is None or len(shape) != 3:
                raise ConfigError(
                    f"input_shape={input_shape!r}: an image model records (channels, height, width)"
                )
            return cls(input_kind=kind, channels=shape[0], image_size=tuple(shape[1:]), **options)
        return cls(
            input_kind=kind,
            sample_rate=sample_rate,
            channels=shape[0] if shape else 1,
            window=shape[-1] if shape else None,
            **options,
        )

    @classmethod
    def from_hparams(cls, hparams: Mapping[str, Any]) -> InputContract:
        """The contract a checkpoint records (``input_contract``), or, for checkpoints written
        before contracts existed, the one their ``input_kind`` / ``input_shape`` / ``sample_rate``
        imply with the default rule (what training did: pad at the end with zeros)."""
        if hparams.get("input_contract"):
            return cls.from_dict(hparams["input_contract"])
        return cls.from_input(
            input_kind=hparams.get("input_kind"),
            input_shape=hparams.get("input_shape"),
            sample_rate=hparams.get("sample_rate"),
        )

    def replace(self, **changes: Any) -> InputContract:
        """A copy with some fields changed (e.g. ``threshold=0.3``), validated."""
        return dataclasses.replace(self, **changes)

    # --- the rule ----------------------------------------------------------------------------

    @property
    def hop_samples(self) -> int | None:
        """Samples between sliding windows (``hop`` or half a window)."""
        if self.window is None:
            return None
        return self.hop if self.hop is not None else max(1, self.window // 2)

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        """One model input without the batch axis, ``None`` where its length is free."""
        if self.input_kind == "image":
            return (self.channels, *self.image_size)
        return None if self.window is None else (self.channels, self.window)

    def check(self, x: Any, *, name: str = "input") -> Any:
        """``x`` as a float array ``(channels, time)`` (images ``(channels, height, width)``),
        or an :class:`InputError` naming ``name`` and the fix. Numpy or torch in, same kind out."""
        if not (_is_torch(x) or isinstance(x, np.ndarray)):
            try:
                x = np.asarray(x)
            except (TypeError, ValueError) as err:
                raise InputError(f"{name}: not an array of samples ({err})") from None
        kind = str(x.dtype)
        floating = x.is_floating_point() if _is_torch(x) else np.issubdtype(x.dtype, np.floating)
        if not floating:
            raise InputError(
                f"{name}: samples of dtype {kind}; the model takes float samples in [-1, 1]: "
                "convert first, e.g. x.astype(np.float32) / 32768 for int16 PCM"
            )
        rank = 3 if self.input_kind == "image" else 2
        if x.ndim == rank - 1 and self.input_kind != "image":
            x = x[None]  # (time,) -> (1, time)
        if x.ndim != rank:
            wanted = "(channels, height, width)" if rank == 3 else "(time,) or (channels, time)"
            raise InputError(f"{name}: array of shape {tuple(x.shape)}; pass {wanted}")
        if x.shape[-1] == 0 or x.shape[0] == 0:
            raise InputError(f"{name}: empty input of shape {tuple(x.shape)}: pass some samples")
        if self.nan != "raise":
            x = fill_missing(x, self.nan)
            if x.shape[-1] == 0:
                raise InputError(f"{name}: every time step holds a missing value (NaN)")
        finite = bool(x.isfinite().all()) if _is_torch(x) else bool(np.isfinite(x).all())
        if not finite:
            raise InputError(
                f"{name}: the samples contain NaN or infinity: clean or drop this input"
            )
        return x

    def conform(self, x: Any, *, sample_rate: float | None = None, name: str = "input") -> Any:
        """Steps 1-3 of the rule: checked, mixed down and resampled ``(channels, time)`` at the
        model's rate (images: checked ``(channels, height, width)``). See :meth:`apply`."""
        x = self.check(x, name=name)
        if x.shape[0] != self.channels:
            if self.channels == 1 and self.mixdown == "mean":
                x = x.mean(0, keepdims=True) if not _is_torch(x) else x.mean(0, keepdim=True)
            else:
                raise InputError(
                    f"{name}: {x.shape[0]} channels, the model takes {self.channels}: select or "
                    "reorder the channels first"
                )  # (channels, time) -> (1, time): the mono mix
        if self.input_kind == "image":
            if tuple(x.shape[1:]) != self.image_size:
                raise InputError(
                    f"{name}: image of size {tuple(x.shape[1:])}, the model takes "
                    f"{self.image_size}: resize it first"
                )
            return x
        rates = (sample_rate, self.sample_rate)
        if None not in rates and sample_rate != self.sample_rate:
            was_torch = _is_torch(x)
            array = x.detach().cpu().numpy() if was_torch else x
            x = resample(array.astype(np.float32, copy=False), sample_rate, self.sample_rate)
            if was_torch:
                import torch

                x = torch.from_numpy(x)
        return x

    def apply(
        self,
        x: Any,
        *,
        sample_rate: float | None = None,
        name: str = "input",
        with_starts: bool = False,
    ) -> Any:
        """Raw input -> model inputs ``(windows, channels, window)`` (images ``(1, channels,
        height, width)``): :meth:`conform`, then pad or cut into sliding windows (or stretch, when
        ``unequal="resample"``).

        ``x``: ``(time,)`` or ``(channels, time)`` float samples at ``sample_rate`` Hz (``None``:
        already at the model's rate), numpy or torch (returned as the same kind; resampling
        converts a tensor through numpy). ``name`` names the input in errors.
        ``with_starts=True`` returns ``(windows, starts)`` with each window's first sample at the
        model's rate (``[0]`` for one window: an image, a whole or a stretched input).
        """
        x = self.conform(x, sample_rate=sample_rate, name=name)
        starts = [0]
        if self.input_kind == "image" or self.window is None:
            # (channels, height, width) -> (1, channels, height, width); (channels, time) ->
            # (1, channels, time)
            windows = x[None]
        else:
            if self.unequal == "resample":
                cut = [stretch(x, self.window)]
            else:
                starts = window_starts(x.shape[-1], self.window, self.hop_samples)
                cut = [
                    fit_length(x, self.window, start=s, pad=self.pad, pad_value=self.pad_value)
                    for s in starts
                ]
            if _is_torch(x):
                import torch

                windows = torch.stack(cut)  # n x (channels, window) -> (n, channels, window)
            else:
                windows = np.ascontiguousarray(np.stack(cut), dtype=np.float32)
        return (windows, starts) if with_starts else windows

    @staticmethod
    def combine(window_probabilities: Any) -> Any:
        """The clip's answer from its windows' ``(windows, ...)`` outputs: their mean."""
        return window_probabilities.mean(0)
