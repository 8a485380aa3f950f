"""Model file integrity: a SHA-256 record beside each checkpoint and each exported model,
checked when it is loaded, and finite weights.

``best.ckpt`` gets ``best.ckpt.sha256`` in the ``sha256sum`` format (``<hex>  best.ckpt``), so
``sha256sum -c best.ckpt.sha256`` checks it too. Training and ``audioconv export`` write the
record with its file (:func:`audioconv._atomic.atomic_pair`); a file without a record (older
runs and exports, files copied alone) loads unchecked.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from audioconv.errors import CheckpointError

__all__ = [
    "check_finite",
    "digest_path",
    "file_fingerprint",
    "file_sha256",
    "read_checkpoint",
    "record_text",
    "verify_checkpoint",
]

_CHUNK = 1 << 20


def check_finite(state: Mapping[str, object], path: str | os.PathLike) -> None:
    """Refuse weights (torch tensors or numpy arrays by name: a state dict, ONNX initializers)
    whose floating-point values hold NaN or infinity.

    Raises:
        CheckpointError: naming ``path`` and the first offending tensors.
    """
    bad = [key for key, value in state.items() if not _finite(value)]
    if bad:
        raise CheckpointError(
            f"{path}: {len(bad)} weight tensor(s) hold NaN or infinity ({', '.join(bad[:5])}"
            f"{', ...' if len(bad) > 5 else ''}): the training diverged or the file is damaged; "
            "use (or export) an earlier checkpoint or retrain (e.g. a lower learning rate)"
        )


def _finite(value: object) -> bool:
    """Whether a tensor or array holds no NaN / infinity (anything else counts as finite)."""
    torch = sys.modules.get("torch")  # a tensor exists only once torch is imported; ONNX needs none
    if torch is not None and isinstance(value, torch.Tensor):
        return not value.is_floating_point() or bool(torch.isfinite(value).all())
    if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
        return bool(np.isfinite(value).all())
    return True


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


#: bytes read from each end of a file by :func:`file_fingerprint`
FINGERPRINT_BYTES = 1 << 16


def file_fingerprint(path: str | os.PathLike) -> str:
    """A cheap content fingerprint: 16 hex digits of BLAKE2b over the first and the last
    :data:`FINGERPRINT_BYTES` (the whole file up to 128 KiB, e.g. a 4 s 16 kHz clip). It tells
    other content under the same name (another dataset, a clip re-recorded or swapped) apart;
    an edit in the middle of a long file of the same size escapes it."""
    digest = hashlib.blake2b(digest_size=8)
    with open(path, "rb") as file:
        digest.update(file.read(FINGERPRINT_BYTES))
        end = file.seek(0, os.SEEK_END)
        file.seek(max(FINGERPRINT_BYTES, end - FINGERPRINT_BYTES))
        digest.update(file.read())
    return digest.hexdigest()


def digest_path(path: str | os.PathLike) -> Path:
    """Where the record of ``path`` lives: ``<path>.sha256``."""
    path = Path(path)
    return path.with_name(path.name + ".sha256")


def record_text(digest: str, name: str) -> str:
    """One ``sha256sum`` line: ``<hex>  <name>``."""
    return f"{digest}  {name}\n"


#: what wrote a file of each kind, and where a good copy is (:func:`verify_checkpoint`)
_ORIGINS = {
    "checkpoint": ("training", "checkpoint", "from its run folder"),
    "export": ("audioconv export", "exported file", "from where it was exported"),
}


def verify_checkpoint(path: str | os.PathLike, *, kind: str = "checkpoint") -> str:
    """Hex SHA-256 of ``path``, checked against ``<path>.sha256`` when that record exists;
    ``kind`` (``"checkpoint"`` or ``"export"``) names what wrote the file in the error.

    Raises:
        CheckpointError: the record is unreadable, or the file's digest differs from it.
    """
    writer, noun, source = _ORIGINS[kind]
    path = Path(path)
    actual = file_sha256(path)
    record = digest_path(path)
    if not record.is_file():
        return actual
    fields = record.read_text(encoding="utf-8").split()
    if not fields or len(fields[0]) != 64:
        raise CheckpointError(
            f"{record}: not a SHA-256 record ('<64 hex digits>  {path.name}'): delete it to "
            f"load {path} unchecked, or copy it again {source}"
        )
    if fields[0].lower() != actual:
        raise CheckpointError(
            f"{path}: its SHA-256 ({actual[:16]}...) does not match the digest recorded in "
            f"{record} ({fields[0][:16]}...): the file was damaged or changed after {writer} "
            f"saved it. Copy the {noun} again {source} (or, if you changed it on purpose, "
            "delete the .sha256 record)"
        )
    return actual


def read_checkpoint(path: str | os.PathLike, *, map_location=None) -> tuple[dict, str]:
    """``(checkpoint dict, hex SHA-256)`` of a training checkpoint: checked against its record
    (:func:`verify_checkpoint`), then unpickled with weights only (``weights_only=True``: plain
    values and tensors, never code).

    Raises:
        CheckpointError: missing, differing from its record, damaged, or holding Python objects
            other than weights (named: e.g. ``GLOBAL posix.system``), which are never loaded.
    """
    import re

    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    digest = verify_checkpoint(path)
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # any unpickling / format problem
        text = str(error)
        named = re.search(r"(?:Unsupported global: |unsupported )(GLOBAL [\w.]+)", text)
        if named or "Weights only load failed" in text:
            what = f" ({named.group(1)})" if named else ""
            raise CheckpointError(
                f"{path}: holds Python objects other than weights{what}: not an audioconv "
                "checkpoint, and loading it could run code, so it is refused"
            ) from None
        raise CheckpointError(
            f"{path}: not a readable checkpoint ({text.splitlines()[0] if text else error!r}); "
            "a file cut short by an interrupted copy reads so: copy it again"
        ) from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path}: holds a {type(checkpoint).__name__}, not a checkpoint")
    return checkpoint, digest
