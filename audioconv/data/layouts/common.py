"""What the layout readers share: finding audio files, checking the folder passed, parsing every
file name of a scheme, and writing the short clips of the example trees."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from audioconv.constants import AUDIO_EXTENSIONS, is_hidden
from audioconv.errors import DatasetError

EXAMPLE_RATE = 8000


def audio_files(root: Path, *, recursive: bool = True) -> list[Path]:
    """Every audio file below ``root`` (recursively, or in ``root`` itself only; hidden ones
    skipped: :func:`~audioconv.constants.is_hidden`), sorted."""
    found = root.rglob("*") if recursive else root.iterdir()
    return sorted(
        p for p in found if p.suffix.lower() in AUDIO_EXTENSIONS and not is_hidden(p, root)
    )


def require_dir(root: str | os.PathLike, what: str) -> Path:
    """``root`` as a Path; a missing folder raises naming ``what`` to pass."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder; pass the {what}")
    return root


def parse_all(files: list[Path], parse, root: Path, layout: str) -> pd.DataFrame:
    """One row per file from ``parse(file_name) -> dict``; every name off the scheme is listed in
    one error, and no file at all is an error."""
    rows, bad = [], []
    for file in files:
        try:
            rows.append({"path": str(file), **parse(file.name)})
        except ValueError:
            bad.append(file.name)
    if bad:
        raise DatasetError(
            f"{root}: {len(bad)} file name(s) do not follow the {layout} naming scheme, e.g. "
            f"{bad[:5]}; move them out of the folder"
        )
    if not rows:
        raise DatasetError(f"{root}: no audio files found for the {layout} layout")
    return pd.DataFrame(rows)


def locate(root: Path, marker: str, what: str) -> Path:
    """``root`` if it holds ``marker``; a folder one level down holding it is named in the error
    (the usual mistake: passing the folder the dataset was unpacked into)."""
    if (root / marker).exists():
        return root
    below = sorted(p for p in root.iterdir() if p.is_dir() and (p / marker).exists())
    hint = f"; it is in {below[0]}: pass --data-dir {below[0]}" if below else ""
    raise DatasetError(f"{root}: no {marker}, so this is not the {what}{hint}")


def example_clip(path: Path, *, seconds: float = 0.1, freq: float = 440.0) -> Path:
    """Write a short sine clip (8 kHz wav) at ``path``, creating its folder; for example trees."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * EXAMPLE_RATE)) / EXAMPLE_RATE
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), EXAMPLE_RATE)
    return path
