"""Exceptions raised by audioconv.

Every error a user can trigger with bad input is one of these, and its message names the offending
file or value and says how to fix it.
"""

from __future__ import annotations

import difflib
import operator
from collections.abc import Iterable


class AudioConvError(Exception):
    """Base class of every error audioconv raises on purpose."""


class ConfigError(AudioConvError, ValueError):
    """An option has a value that cannot work (the message names the option and the fix)."""


class InputTooSmallError(AudioConvError, ValueError):
    """An input is shorter / smaller than the minimum a model or transform needs."""


class InputError(AudioConvError, ValueError):
    """An input handed to a trained model cannot be made into its input (empty, wrong rank,
    integer samples, NaN / inf, wrong channels); the message names the input and the fix."""


class AudioError(AudioConvError):
    """A problem with one audio file; ``path`` holds the file."""

    def __init__(self, path, message: str):
        self.path = str(path)
        super().__init__(f"{self.path}: {message}")


class AudioFileNotFoundError(AudioError, FileNotFoundError):
    """The audio file does not exist."""


class AudioDecodeError(AudioError):
    """The file exists but cannot be decoded (corrupt, truncated or not an audio format)."""


class EmptyAudioError(AudioError):
    """The file decodes to zero samples."""


class NonFiniteAudioError(AudioError):
    """The decoded samples contain NaN or infinity."""


class DatasetError(AudioConvError):
    """A dataset folder, manifest or table is malformed (missing files, unknown labels, ...)."""


class SensorDataError(DatasetError, ValueError):
    """A sensor log has NaN / inf values or malformed columns (names the column and row)."""


class CacheError(AudioConvError):
    """A feature cache is unusable (stale, half-written or from another configuration)."""


class CheckpointError(AudioConvError):
    """A checkpoint is missing, unreadable or does not fit the model it is loaded into."""


class SensorFileNotFoundError(SensorDataError, FileNotFoundError):
    """A sensor log file does not exist."""


def check_positive(name: str, value: object, *, minimum: int = 1) -> int:
    """The one integer-option rule: ``value`` as an ``int`` if it is an integer (Python or numpy,
    not a bool) ``>= minimum``; else a :class:`ConfigError` naming ``name`` and the value."""
    what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if isinstance(value, bool):
        raise ConfigError(f"{name}={value!r} must be {what}, not a bool")
    try:
        as_int = operator.index(value)
    except TypeError:
        raise ConfigError(f"{name}={value!r} must be {what}") from None
    if as_int < minimum:
        raise ConfigError(f"{name}={value!r} must be {what}")
    return as_int


def unknown_name(
    what: str, name: object, known: Iterable[str], *, register: str, listed: str = "Available"
) -> ConfigError:
    """The one "unknown registered name" error of every registry (models, front ends, layouts):
    a :class:`ConfigError` naming ``name``, the closest known name if one is close, every known
    name (sorted, after ``listed``) and how to make a name of your own known (``register``: the
    function registering one). Returned, for the caller to raise."""
    names = sorted(known)
    close = difflib.get_close_matches(str(name), names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ConfigError(
        f"unknown {what} {name!r}.{hint} {listed}: {', '.join(names)} (one of your own: "
        f"register it with {register} in a module, and import that module first: "
        "audioconv --import MODULE ..., or AUDIOCONV_PLUGINS=MODULE)"
    )
