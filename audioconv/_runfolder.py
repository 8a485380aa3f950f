"""Run folder discipline: one fitting process per folder, and no run overwritten by accident.

The lock is ``fcntl.flock`` on ``<run>/.lock``: the kernel releases it when the holder exits,
however it dies (SIGKILL included), so a lock can never go stale — a leftover ``.lock`` file is
free. The file records the holder (``pid``, ``host``, ``started`` in UTC) for the error message
of the process that is refused. ``flock`` is advisory and per host on some network file systems
(NFS): two machines writing one folder over NFS are not detected.
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
from audioconv.errors import ConfigError

__all__ = ["LOCK_FILE", "RUN_ARTIFACTS", "existing_artifacts", "run_lock"]

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


@contextlib.contextmanager
def run_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold the exclusive lock of run folder ``folder`` (created if missing) for the body.

    On entry, temporary files a killed writer left (``.*.partial-*``) are removed: with the lock
    held nobody else is writing them.

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


def _holder(path: Path) -> str:
    """``pid 123 on host, started 2026-...`` from the lock file, or what is known."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {info['pid']} on {info['host']}, started {info['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return f"lock file {path}"
