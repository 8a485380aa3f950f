"""Crash-safe file writing: write to a temporary file beside the target, flush it to disk, then
rename it over the target and flush the folder, so after a crash (power loss included) a reader
finds the old file or the new one, never a torn one. Temporary files are named
``.<name>.partial-<random><suffix>``; :func:`remove_partials` clears those a killed writer left."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it onto ``path``.

    If the body raises, the temporary file is removed and ``path`` is left as it was, so a crash
    mid-write never leaves a half-written file under the real name. ``suffix`` defaults to the
    target's suffix (some writers, e.g. soundfile, choose the format from it).
    """
    target = Path(path)
    tmp_path = _temporary(target, suffix)
    try:
        yield tmp_path
        _fsync(tmp_path)
        os.replace(tmp_path, target)
        _fsync(target.parent)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_pair(
    path: str | os.PathLike, *companions: str | os.PathLike
) -> Iterator[tuple[Path, ...]]:
    """Yield temporary paths for a file and its companions (a model, its metadata, its SHA-256
    record); on success all replace their targets, so a crash never pairs a new file with an old
    companion.

    The temporaries are flushed first; then the old companions are removed, ``path`` renamed in,
    and the companions renamed in last. A crash in between leaves a file with *no* companion
    (readers refuse it: "metadata missing", or load it unchecked), never one with the previous
    file's companion.
    """
    targets = [Path(path), *map(Path, companions)]
    temporaries = [_temporary(target, None) for target in targets]
    try:
        yield tuple(temporaries)
        for tmp in temporaries:
            _fsync(tmp)
        for other in targets[1:]:
            other.unlink(missing_ok=True)
            _fsync(other.parent)
        for tmp, target in zip(temporaries, targets):
            os.replace(tmp, target)
            _fsync(target.parent)
    finally:
        for tmp in temporaries:
            tmp.unlink(missing_ok=True)


def remove_partials(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files a killed writer left in ``folder``; returns them."""
    leftovers = sorted(Path(folder).glob(".*.partial-*"))
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers


def _temporary(target: Path, suffix: str | None) -> Path:
    """A new empty file beside ``target`` with normal permissions (mkstemp makes 0600)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.partial-",
        suffix=suffix if suffix is not None else target.suffix,
        dir=target.parent,
    )
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())
    return Path(tmp)


def _fsync(path: Path) -> None:
    """Flush a file's (or a folder's entries') data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8). Returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically. Returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


#: the files :func:`write_records` writes
RECORD_SUFFIXES = (".csv", ".json")


def write_records(path: str | os.PathLike, records: list[dict]) -> None:
    """``records`` (one dict per row) to ``path``, a ``.csv`` table or a ``.json`` list,
    atomically; list-valued cells of a CSV are written as JSON."""
    import json

    from audioconv.errors import ConfigError

    path = Path(path)
    if path.suffix == ".json":
        atomic_write_text(path, json.dumps(records, indent=2) + "\n")
    elif path.suffix == ".csv":
        import pandas as pd

        frame = pd.DataFrame(records)
        for column in frame.columns:
            if frame[column].map(lambda cell: isinstance(cell, list)).any():
                frame[column] = [json.dumps(cell) for cell in frame[column]]
        atomic_write_text(path, frame.to_csv(index=False))
    else:
        raise ConfigError(f"{path}: use a .csv or .json file")
