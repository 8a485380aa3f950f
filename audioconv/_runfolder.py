"""Run folder discipline: one fitting process per folder, and no run overwritten by accident.

The lock is ``fcntl.flock`` on ``<run>/.lock``: the kernel releases it when the holder exits,
however it dies (SIGKILL included), so a lock can never go stale — a leftover ``.lock`` file is
free. The file records the holder (``pid``, ``host``, ``started`` in UTC) for the error message
of the process that is refused. ``flock`` is advisory and per host on some network file systems
(NFS): two machines writing one folder over NFS are not detected.

A command that writes a file the user names (``predict`` / ``stream --output``, ``--plot``,
``compare --output``) never writes into a run (:func:`refuse_run_file`), and a fit never runs in a
folder nested inside another run (:func:`check_output_folder`): the lock of ``RUN/checkpoints``
proves nothing about ``RUN``'s fit, so a nested run would mix its files into the other one and
remove its in-flight temporary files.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from audioconv._atomic import remove_partials
from audioconv._plain import read_yaml
from audioconv.errors import ConfigError

__all__ = [
    "LOCK_FILE", "RUN_ARTIFACTS", "check_output_folder", "enclosing_run", "existing_artifacts",
    "holds_run", "refuse_run_file", "run_lock",
]  # fmt: skip

LOCK_FILE = ".lock"
#: files whose presence means the folder holds a run (``fit`` refuses them unless resuming)
RUN_ARTIFACTS = (
    "checkpoints/best.ckpt",
    "checkpoints/last.ckpt",
    "report.json",
    "metrics.csv",
    "config.yaml",
)


def existing_artifacts(folder: str | os.PathLike) -> list[str]:
    """The :data:`RUN_ARTIFACTS` present in ``folder`` (relative names)."""
    return [name for name in RUN_ARTIFACTS if (Path(folder) / name).exists()]


def holds_run(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a run: a run's ``config.yaml`` (one with ``model`` and ``fit``
    sections, written before training starts), or a ``.lock`` a live process holds (a fit
    starting). Not a project's own ``config.yaml``, ``metrics.csv`` or
    ``checkpoints/best.ckpt``, so ``project/runs/x`` below such a project is no nested run."""
    folder = Path(folder)
    return _is_run_config(folder / "config.yaml") or _lock_held(folder / LOCK_FILE)


def enclosing_run(folder: str | os.PathLike) -> Path | None:
    """The nearest folder above ``folder`` (links resolved) that holds a run, or None."""
    return next((p for p in Path(folder).resolve().parents if holds_run(p)), None)


def refuse_run_file(path: str | os.PathLike, option: str) -> None:
    """Refuse a user-named output file (``option``, e.g. ``--output``) inside a run folder: one
    that holds a run, is locked by a fit, or lies below a run (its ``test/``, ``checkpoints/``).
    A prediction written as ``RUN/metrics.csv`` or ``RUN/splits.csv`` would replace the run's
    record (and a running fit would merge it into its log).

    Raises:
        ConfigError: naming the run and the fix.
    """
    folder = Path(path).resolve().parent
    run = folder if holds_run(folder) else enclosing_run(folder)
    if run is not None:
        raise ConfigError(
            f"{option} {path}: {run} holds a training run, whose files this would overwrite or "
            f"mix with: write {Path(path).name} to a folder outside the run"
        )


def check_output_folder(folder: str | os.PathLike) -> None:
    """Refuse, before any data is read, a run folder that cannot be one: a file, below a file,
    unwritable (its nearest existing folder, e.g. a read-only mount), or inside another run
    (:func:`enclosing_run`).

    Raises:
        ConfigError: one line naming the folder and the fix.
    """
    folder = Path(folder)
    existing = next(p for p in (folder, *folder.parents) if p.exists() or p.is_symlink())
    if not existing.is_dir():
        where = "is a file" if existing == folder else f"is below the file {existing}"
        raise ConfigError(f"output folder {folder} {where}: choose another output folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(
            f"output folder {folder}: {existing} is not writable (read-only, or not yours): "
            "choose another output folder"
        )
    run = enclosing_run(folder)
    if run is not None:
        raise ConfigError(
            f"output folder {folder} is inside the run folder {run}: the two runs would mix "
            "their files; choose a folder outside it"
        )


@contextlib.contextmanager
def run_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold the exclusive lock of run folder ``folder`` (created if missing) for the body.

    On entry, temporary files a killed writer left (``.*.partial-*``) are removed: with the lock
    held nobody else is writing them (callers refuse a folder nested in a run first:
    :func:`check_output_folder`).

    Raises:
        ConfigError: another process holds the lock; the message names its pid, host and start.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"{folder} is in use by another audioconv process ({_holder(path)}): wait for "
                "it to finish, or choose another output folder"
            ) from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
        for sub in (folder, folder / "checkpoints"):
            if sub.is_dir():
                remove_partials(sub)
        yield path
    finally:
        os.close(fd)  # releases the flock


def _is_run_config(path: Path) -> bool:
    """Whether ``path`` is a run's config.yaml (``fit`` writes ``model`` and ``fit`` sections)."""
    if not path.is_file():
        return False
    try:
        config = read_yaml(path)
    except (ConfigError, OSError):  # not plain YAML, unreadable: no run's record
        return False
    return isinstance(config, dict) and isinstance(config.get("fit"), dict) and "model" in config


def _lock_held(path: Path) -> bool:
    """Whether a live process holds the run lock ``path`` (a shared try-lock, released at once)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _holder(path: Path) -> str:
    """``pid 123 on host, started 2026-...`` from the lock file, or what is known."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {info['pid']} on {info['host']}, started {info['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return f"lock file {path}"
