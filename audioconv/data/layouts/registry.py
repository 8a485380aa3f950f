"""One registry of dataset layouts: ``@register_layout(name, description=, example=)`` on a reader
``read(root, **kwargs) -> DataFrame``, then ``read_layout(name, root)`` and ``list_layouts()``.

A reader returns the manifest :class:`audioconv.data.AudioDataset` takes: ``path``, ``label`` (or
``tags``), and where the dataset defines them ``group``, ``split`` or ``fold``
(``frame.attrs["class_names"]`` holds a class order the dataset fixes). ``example(folder)`` writes
a minimal copy of the layout as it ships into ``folder`` and returns the ``root`` to read; the tests
read every registered layout from it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from audioconv._registry import check_registration
from audioconv.errors import ConfigError, unknown_name

__all__ = [
    "RegisteredLayout",
    "list_layouts",
    "read_layout",
    "register_layout",
    "registered_layout",
]


@dataclass(frozen=True)
class RegisteredLayout:
    """A registered layout: its reader, a one-line description, and its example builder."""

    name: str
    read: Callable[..., pd.DataFrame]
    description: str
    example: Callable[[Path], Path] | None = None


_REGISTRY: dict[str, RegisteredLayout] = {}


def register_layout(
    name: str, *, description: str, example: Callable[[Path], Path] | None = None
) -> Callable:
    """Decorator: register ``read(root, **kwargs) -> DataFrame`` as the layout ``name``.

    ``example(folder) -> root`` writes the smallest copy of the layout as it ships (two classes
    or more) and returns what to pass as ``root``. Returns ``read`` unchanged.
    """
    if not description:
        raise ConfigError(f"layout {name!r} needs a description (one line: what it reads)")

    def decorate(read: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
        check_registration("layout", name, read, _REGISTRY, "read")
        _REGISTRY[name] = RegisteredLayout(name, read, description, example)
        return read

    return decorate


def list_layouts() -> list[str]:
    """Sorted names of the registered layouts."""
    return sorted(_REGISTRY)


def registered_layout(name: str) -> RegisteredLayout:
    """The registry entry of ``name``; an unknown name raises listing names and a close match."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise unknown_name(
            "dataset layout", name, _REGISTRY, register="audioconv.data.layouts.register_layout"
        ) from None


def read_layout(name: str, root: str | os.PathLike, **kwargs) -> pd.DataFrame:
    """The manifest of the dataset at ``root`` read as the registered layout ``name``.

    ``kwargs`` go to the reader (``read_layout("esc50", root, esc10=True)``).
    """
    return registered_layout(name).read(root, **kwargs)
