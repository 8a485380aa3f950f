"""audioconv: ConvNets that classify signals (speech, music, emotion, sensors, series, images).

Submodules load on first use (``audioconv.features``, ``audioconv.models``, ...), so
``import audioconv`` stays fast and never imports Lightning.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "baseline",
    "cli",
    "constants",
    "contract",
    "data",
    "decode",
    "deploy",
    "errors",
    "evaluation",
    "export",
    "features",
    "io",
    "models",
    "plots",
    "runner",
    "streaming",
    "tasks",
    "training",
    "transfer",
    "windows",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'audioconv' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
