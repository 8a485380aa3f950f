"""The one registration rule and the one option check of every registry (models, front ends,
dataset layouts, metrics).

A name is a non-empty identifier-like string and the factory a callable. Registering the very
same factory again, or one defined at the same place (``module.qualname``: a re-run notebook cell,
``importlib.reload``), replaces the entry; any other factory under a taken name is refused.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from audioconv.errors import ConfigError

__all__ = ["check_options", "check_registration"]


def _origin(factory: Any) -> tuple[Any, Any]:
    return getattr(factory, "__module__", None), getattr(factory, "__qualname__", None)


def check_registration(
    what: str, name: Any, factory: Any, registry: Mapping[str, Any], attribute: str = ""
) -> None:
    """Refuse registering ``factory`` as the ``what`` (e.g. ``"model"``) ``name`` in ``registry``
    when the name is not an identifier-like string, the factory not callable, or another factory
    holds the name (an entry's ``attribute``, or the entry itself)."""
    if not isinstance(name, str) or not name.isidentifier():
        example = "my_" + what.replace(" ", "_")
        raise ConfigError(
            f"{what} name {name!r} must be a non-empty identifier-like string, e.g. {example!r}"
        )
    if not callable(factory):
        raise ConfigError(
            f"{what} {name!r}: {factory!r} is not callable: register a class or function"
        )
    registered = registry.get(name)
    if attribute and registered is not None:
        registered = getattr(registered, attribute)
    reloaded = None not in _origin(factory) and _origin(registered) == _origin(factory)
    if registered is not None and registered is not factory and not reloaded:
        module, qualname = _origin(registered)
        where = f"{module}.{qualname}" if qualname else repr(registered)
        raise ConfigError(
            f"{what} name {name!r} is already registered (by {where}): pick another name"
        )


def check_options(
    what: str, name: str, factory: Callable, kwargs: Mapping[str, Any], reserved: Iterable[str] = ()
) -> None:
    """Refuse ``kwargs`` naming an option ``factory`` does not take (any, when it takes
    ``**kwargs``); ``reserved`` are the arguments the registry passes itself."""
    parameters = inspect.signature(factory).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return
    options = {
        p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    } - set(reserved)
    unknown = sorted(set(kwargs) - options)
    if unknown:
        raise ConfigError(
            f"{what} {name!r} has no option {', '.join(unknown)}: its options are "
            f"{', '.join(sorted(options)) or 'none'}"
        )
