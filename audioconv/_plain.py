"""Plain values: what a saved configuration (a component's config, config.yaml) may hold.

A component saved with a model is its **config**: ``{"name": <registered name>, "kwargs": {...}}``
with keyword arguments that are plain values (``None``, bools, numbers, strings, and lists /
tuples / string-keyed dicts of them). Anything else (a class, a function, a tensor, an object) is
refused, so nothing a file holds is called. The registries attach it to what they build as
``module.config`` (``spec`` before; :class:`SpecAlias` keeps that name working, deprecated).
A renamed keyword argument goes through :func:`renamed_keyword` (a ``DeprecationWarning`` naming
the new keyword). A run's YAML files are read by :func:`read_yaml` (plain YAML, bounded size).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from audioconv.errors import ConfigError

__all__ = [
    "PlainKwargs",
    "SpecAlias",
    "attached_config",
    "check_plain",
    "component_config",
    "python_scalar",
    "read_yaml",
    "renamed_keyword",
]

#: the most values a run's YAML file may hold once its aliases (``*name``) are expanded: a
#: config.yaml holds a few hundred, and nine nested aliases of nine would otherwise be 10**9
MAX_YAML_VALUES = 100_000


#: the type of a keyword-argument option (``--model_kwargs``, ``--dataset_kwargs``): plain values
#: only. Not ``dict[str, Any]``: jsonargparse reads a ``{"class_path": ...}`` value of type ``Any``
#: as a class to import, so a run's config.yaml could make ``fit --config`` import any module
PlainKwargs = dict[str, None | bool | int | float | str | list | dict]


def python_scalar(value: Any) -> Any:
    """A numpy scalar (``np.float32(0.5)``, ``np.int64(3)``, ``np.bool_``) as its Python value
    (``.item()``); anything else as it is."""
    if type(value).__module__ == "numpy" and getattr(value, "shape", None) == ():
        return value.item()
    return value


def _plain_copy(value: Any, path: str) -> Any:
    """``value`` with numpy scalars as Python values; a ConfigError naming ``path`` (``act=``,
    ``extra[1]``, ``extra.a.b``) at the first item that is not plain."""
    value = python_scalar(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        items = [_plain_copy(item, f"{path}[{i}]") for i, item in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                raise ConfigError(
                    f"{path}[{key!r}]: the key {key!r} ({type(key).__name__}) is not a string; "
                    "the keys of a dict option must be strings"
                )
        return {key: _plain_copy(item, f"{path}.{key}") for key, item in value.items()}
    raise ConfigError(
        f"{path}={value!r} ({type(value).__name__}) is not a plain value: pass a name or number "
        "(e.g. act='gelu') and build the object inside the factory"
    )


def check_plain(kwargs: Mapping[str, Any], owner: str) -> dict[str, Any]:
    """``dict(kwargs)`` with numpy scalars as their Python values, if every key is a string and
    every value plain; else a ConfigError naming ``owner`` (e.g. ``"front end 'audio'"``), the
    keyword path of the offending item and the fix."""
    if not isinstance(kwargs, Mapping):
        raise ConfigError(f"{owner}: kwargs must be a dict of plain values, got {kwargs!r}")
    plain = {}
    for key, value in kwargs.items():
        try:
            if not isinstance(key, str):
                raise ConfigError(f"keyword {key!r} is not a string")
            plain[key] = _plain_copy(value, key)
        except ConfigError as error:
            raise ConfigError(
                f"{owner}: {error}; a saved component takes only None, bools, numbers, strings "
                "and lists / string-keyed dicts of them"
            ) from None
    return plain


def component_config(value: Any, what: str) -> dict[str, Any]:
    """``{"name", "kwargs"}`` from that mapping or a ``(name, kwargs)`` pair; the name must be a
    string and the kwargs plain, else a ConfigError naming ``what`` (e.g. ``"backbone_config"``).

    >>> component_config(("conv1d", {"dims": 1}), "backbone_config")
    {'name': 'conv1d', 'kwargs': {'dims': 1}}
    """
    if isinstance(value, Mapping) and "name" in value:
        name, kwargs = value["name"], value.get("kwargs", {})
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        name, kwargs = value
    else:
        raise ConfigError(
            f"{what}={value!r}: expected {{'name': <registered name>, 'kwargs': {{...}}}}"
        )
    if not isinstance(name, str):
        raise ConfigError(f"{what}: name {name!r} must be a registered name (a string)")
    return {"name": name, "kwargs": check_plain(kwargs, f"{what} {name!r}")}


def attached_config(module: Any) -> Any:
    """The config a registry attached to ``module`` (``module.config``; the ``spec`` attribute of
    modules following the old contract), or None."""
    attributes = getattr(module, "__dict__", {})
    return attributes.get("config", attributes.get("spec"))


class SpecAlias:
    """``module.spec``: the deprecated name of ``module.config`` (a DeprecationWarning)."""

    def _spec_from_config(self, config: Any) -> Any:
        return config

    @property
    def spec(self) -> Any:
        warnings.warn(
            "`.spec` is deprecated: use `.config` ({'name': ..., 'kwargs': {...}})",
            DeprecationWarning,
            stacklevel=2,
        )
        return self._spec_from_config(self.config)

    @spec.setter
    def spec(self, value: Any) -> None:
        warnings.warn("`.spec` is deprecated: set `.config`", DeprecationWarning, stacklevel=2)
        self.config = component_config(value, "spec")


def renamed_keyword(
    where: str, old: str, old_value: Any, new: str, new_value: Any, *, stacklevel: int = 3
) -> Any:
    """``new_value``, or ``old_value`` with a ``DeprecationWarning`` when the caller used the
    deprecated keyword ``old`` (``None`` = not given) of ``where``: the one rule for a renamed
    keyword argument (``stacklevel`` 3 names the caller of the function that calls this)."""
    if old_value is None:
        return new_value
    warnings.warn(
        f"{where}({old}=) is deprecated: use {new}= (the same value)",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return old_value


def _count_values(value: Any, limit: int) -> int:
    """How many values ``value`` holds, aliases counted each time they occur; stops past ``limit``
    (so a YAML alias bomb costs ``limit`` steps, not its expansion)."""
    count, stack = 0, [value]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return count


def read_yaml(path: str | os.PathLike) -> Any:
    """The plain YAML of a file a run writes (``config.yaml``): no tags (``!!python/...``), and
    at most :data:`MAX_YAML_VALUES` values once aliases are expanded, else a ConfigError naming
    the file. A file that cannot be read raises ``OSError``."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:  # a tag like !!python/... included
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError(
            f"{path}: not plain YAML (a run's files hold no tags such as !!python/...): {first}"
        ) from None
    if _count_values(data, MAX_YAML_VALUES) > MAX_YAML_VALUES:
        raise ConfigError(
            f"{path}: holds more than {MAX_YAML_VALUES:,} values once its aliases (*name) are "
            "expanded, where a run's config.yaml holds a few hundred: not a file a run writes"
        )
    return data
