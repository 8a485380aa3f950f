"""What the layout readers share: finding audio files, checking the folder passed, parsing every
file name of a scheme, and writing the short clips of the example trees."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from audioconv._walk import walk_files
from audioconv.constants import AUDIO_EXTENSIONS, is_hidden
from audioconv.errors import DatasetError

EXAMPLE_RATE = 8000


def audio_files(root: Path, *, recursive: bool = True) -> list[Path]:
    """Every audio file below ``root`` (recursively, symlinked folders too, or in ``root`` itself
    only; hidden ones skipped), sorted: :func:`audioconv._walk.walk_files`."""
    return walk_files(root, AUDIO_EXTENSIONS, recursive=recursive).files


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
    frame = pd.DataFrame(rows)
    stems = frame["path"].map(lambda path: Path(path).stem)
    twice = frame[stems.duplicated(keep=False)].groupby(stems)["path"].apply(list)
    if len(twice):
        raise DatasetError(
            f"{root}: {len(twice)} {layout} recording(s) are there twice (one name, two files), "
            f"e.g. {twice.iloc[0]}; each would be trained and tested twice: keep one copy of each "
            "(pass the folder holding one copy, e.g. only the WAV files)"
        )
    return frame


def clips_folder(root: Path, sub: str, what: str) -> Path:
    """Where a file-name layout's clips are: ``root/sub`` if it exists, else ``root`` itself
    (clips found recursively); a ``root`` that is not it but is near a folder holding ``sub`` is
    an error naming that folder (see :func:`nearby`)."""
    if (root / sub).is_dir():
        return root / sub
    if audio_files(root, recursive=False):
        return root  # the clips themselves
    found = nearby(root, lambda folder: (folder / sub).is_dir())
    if found is not None:
        raise DatasetError(
            f"{root}: no {sub}/ in it, so this is not the {what}; it is in {found}: "
            f"pass --data-dir {found}"
        )
    return root


def holds(folder: Path, marker: str) -> bool:
    """Whether ``folder`` holds ``marker``, a relative path (``*`` allowed: ``audio/fold*``)."""
    return folder.is_dir() and next(folder.glob(marker), None) is not None


def nearby(root: Path, is_dataset: Callable[[Path], bool]) -> Path | None:
    """The folder near ``root`` for which ``is_dataset`` holds: one level down (the folder the
    dataset was unpacked into), one or two levels up (a folder inside the dataset), or two levels
    down; ``None`` if there is none. Hidden folders (``__MACOSX``) are not looked into."""

    def below(folder: Path) -> list[Path]:
        try:
            return sorted(p for p in folder.iterdir() if p.is_dir() and not is_hidden(p, folder))
        except OSError:
            return []

    children = below(root)
    ups = list(root.absolute().parents)[:2]
    candidates = [*children, *ups, *(g for c in children for g in below(c))]
    return next((p for p in candidates if is_dataset(p)), None)


def locate(root: Path, marker: str | Callable[[Path], bool], what: str) -> Path:
    """``root`` if it holds ``marker`` (a relative path, ``*`` allowed, or a test of a folder);
    otherwise an error naming the :func:`nearby` folder that holds it, if any (the usual mistakes:
    passing the folder the dataset was unpacked into, or a folder inside the dataset)."""
    is_dataset = marker if callable(marker) else lambda folder: holds(folder, marker)
    if is_dataset(root):
        return root
    found = nearby(root, is_dataset)
    hint = f"; it is in {found}: pass --data-dir {found}" if found else ""
    raise DatasetError(f"{root} is not the {what}{hint}")


def example_clip(path: Path, *, seconds: float = 0.1, freq: float = 440.0) -> Path:
    """Write a short sine clip (8 kHz wav) at ``path``, creating its folder; for example trees."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * EXAMPLE_RATE)) / EXAMPLE_RATE
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), EXAMPLE_RATE)
    return path
