"""The one folder walk of training's folder layouts and of ``audioconv predict``: the files of
the wanted suffixes below a folder, and every other file with the reason it is not read.

Symlinked folders are followed (each real folder once, so a link back up cannot loop); hidden
names (:func:`~audioconv.constants.is_hidden_name`) are skipped on the way down and not listed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from audioconv.constants import file_suffix, is_hidden_name
from audioconv.decode import undecodable_hint

__all__ = ["NOT_READ", "Walk", "walk_files"]

#: how the reason of a file a folder walk did not read begins (bad files' reasons begin
#: ``missing:``, ``unreadable:``, ...)
NOT_READ = "not read: "


@dataclass(frozen=True)
class Walk:
    """``files``: the files of the wanted suffixes, sorted; ``not_read``: every other file ->
    why it is not read (``not read: ...``)."""

    files: list[Path]
    not_read: dict[str, str]

    def others(self, shown: int = 5) -> str:
        """``; it holds N other file(s):`` and the first ``shown`` with their reasons, for the
        error of a folder without a file that is read (``""``: it holds none)."""
        listing = "".join(f"\n  {p}: {why}" for p, why in list(self.not_read.items())[:shown])
        return f"; it holds {len(self.not_read)} other file(s):{listing}" if listing else ""


def walk_files(
    root: str | os.PathLike,
    suffixes: tuple[str, ...],
    *,
    recursive: bool = True,
    kind: str = "audio",
) -> Walk:
    """The ``kind`` files below ``root`` (in ``root`` itself only, unless ``recursive``): those
    whose :func:`~audioconv.constants.file_suffix` is one of ``suffixes``; the others go to
    ``not_read``."""
    root = Path(root)
    files, other = [], []
    seen = {os.path.realpath(root)}
    for folder, subfolders, names in os.walk(root, followlinks=True):
        keep = []
        for name in sorted(subfolders) if recursive else ():
            real = os.path.realpath(os.path.join(folder, name))
            if not is_hidden_name(name) and real not in seen:
                seen.add(real)
                keep.append(name)
        subfolders[:] = keep  # os.walk descends only into these
        for name in names:
            if not is_hidden_name(name):
                path = Path(folder, name)
                (files if file_suffix(path) in suffixes else other).append(path)
    not_read = {str(p): _reason(p, suffixes, kind) for p in sorted(other)}
    return Walk(sorted(files), not_read)


def _reason(path: Path, suffixes: tuple[str, ...], kind: str) -> str:
    """Why a walk did not read ``path``: the conversion of an audio format soundfile cannot
    decode, else its suffix and the ones read."""
    hint = undecodable_hint(path) if kind == "audio" else None
    suffix = f"suffix {path.suffix}" if path.suffix else "no suffix"
    return NOT_READ + (hint or f"{suffix}; {kind} files end in {', '.join(suffixes)}")
