"""Plain values: what a saved configuration (checkpoint spec, config.yaml) may hold.

A component saved with a model is a registered name plus keyword arguments that are plain values
(``None``, bools, numbers, strings, and lists / tuples / string-keyed dicts of them). Anything
else (a class, a function, a tensor, an object) is refused, so nothing a file holds is called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from audioconv.errors import ConfigError

__all__ = ["check_plain"]


def _bad(value: Any) -> str | None:
    """The repr of the first non-plain value inside ``value``, or None when it is all plain."""
    if value is None or isinstance(value, bool | int | float | str):
        return None
    if isinstance(value, list | tuple):
        return next((bad for item in value if (bad := _bad(item)) is not None), None)
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return repr(key)
            if (bad := _bad(item)) is not None:
                return bad
        return None
    return f"{value!r} ({type(value).__name__})"


def check_plain(kwargs: Mapping[str, Any], owner: str) -> dict[str, Any]:
    """``dict(kwargs)`` if every key is a string and every value plain; else a ConfigError naming
    ``owner`` (e.g. ``"front end 'audio'"``) and the offending value."""
    if not isinstance(kwargs, Mapping):
        raise ConfigError(f"{owner}: kwargs must be a dict of plain values, got {kwargs!r}")
    bad = _bad(dict(kwargs))
    if bad is not None:
        raise ConfigError(
            f"{owner}: keyword argument {bad} is not a plain value; a saved component takes "
            "only None, bools, numbers, strings and lists / dicts of them"
        )
    return dict(kwargs)
