"""One registry of feature front ends: ``create_frontend(name, **kwargs)``, ``list_frontends``.

A front end is a module inside a model (waveform -> features). A checkpoint stores it as
``{"name": <registered name>, "kwargs": {<plain values>}}`` and :func:`create_frontend` rebuilds
it; nothing a file names is imported. User code opts in by registering its own class::

    @register_frontend("my_frontend")
    class MyFrontend(nn.Module): ...
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from audioconv._plain import check_plain
from audioconv._registry import check_options, check_registration
from audioconv.errors import unknown_name

__all__ = ["create_frontend", "frontend_factory", "list_frontends", "register_frontend"]

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register_frontend(name: str) -> Callable:
    """Decorator registering a module class (or factory) ``cls(**kwargs)`` under ``name``."""

    def decorate(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        check_registration("front end", name, factory, _REGISTRY)
        _REGISTRY[name] = factory
        return factory

    return decorate


def list_frontends() -> list[str]:
    """Sorted names of the registered front ends."""
    return sorted(_REGISTRY)


def frontend_factory(name: str) -> Callable[..., nn.Module]:
    """The factory registered as ``name``; an unknown name raises listing the known ones."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise unknown_name(
            "front end",
            name,
            _REGISTRY,
            listed="Registered",
            register="audioconv.features.register_frontend",
        ) from None


def create_frontend(name: str, **kwargs) -> nn.Module:
    """Build the registered front end ``name`` from plain keyword arguments.

    The module gets its config ``{"name": name, "kwargs": kwargs}`` as ``module.config``, which
    a checkpoint stores.

        >>> create_frontend("logmel", sample_rate=8000, n_mels=32).config["name"]
        'logmel'
    """
    factory = frontend_factory(name)
    kwargs = check_plain(kwargs, f"front end {name!r}")
    check_options("front end", name, factory, kwargs)
    module = factory(**kwargs)
    module.config = {"name": name, "kwargs": kwargs}
    return module
