"""The vocabularies every layer shares, defined once (standard library only).

Modules import these names instead of spelling the tuples again, so adding a task kind, an input
kind or an audio extension is one edit here.
"""

from __future__ import annotations

import os
from pathlib import PurePath

__all__ = [
    "AUDIO_EXTENSIONS", "IMAGE_EXTENSIONS", "INPUT_KINDS", "KIND_EXTENSIONS", "MISSING",
    "SENSOR_EXTENSIONS", "TASKS", "TORCHSCRIPT_SUFFIXES", "UNDECODABLE_AUDIO", "UNEQUAL",
    "file_suffix", "input_kind_of",
    "is_class_folder", "is_hidden", "is_hidden_name",
]  # fmt: skip

#: what a model predicts: one sigmoid, a softmax, k sigmoids, or real values
TASKS = ("binary", "multiclass", "multilabel", "regression")

#: what a model's raw input is (the input contract's ``input_kind``)
INPUT_KINDS = ("audio", "sensor", "image")

#: how series of unequal length are made one length (data loaders, the input contract's
#: ``unequal``): zeros after the end, or linear interpolation to the longest
UNEQUAL = ("pad", "resample")

#: what missing values (NaN) in a series become (data loaders, the input contract's ``nan``):
#: an error naming the input, or zeros
MISSING = ("raise", "zero")

#: file suffixes read as audio in a folder (lower case; soundfile decodes each; a manifest's or
#: predict's file of another suffix is decoded too, unless it is an image / sensor suffix)
AUDIO_EXTENSIONS = (
    ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".au", ".caf",
    ".w64", ".rf64",
)  # fmt: skip

#: audio suffixes soundfile cannot decode (AAC / ALAC in MP4, WMA, AMR, Matroska, ...): named
#: with the conversion to run
UNDECODABLE_AUDIO = (".m4a", ".m4b", ".aac", ".mp4", ".wma", ".amr", ".webm", ".mka", ".ape", ".wv")

#: file suffixes read as images (Pillow decodes each; training folders and predict alike)
IMAGE_EXTENSIONS = (
    ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm",
)  # fmt: skip

#: file suffixes of TorchScript models: a TorchScript file is a program (it runs when loaded), so
#: it is loaded only from a file named so, never from a .ckpt or a run folder's checkpoint
TORCHSCRIPT_SUFFIXES = (".pt", ".ts", ".torchscript")

#: file suffixes read as sensor logs or series (``.csv.gz`` too; ``.ts``: UCR / UEA series)
SENSOR_EXTENSIONS = (".csv", ".tsv", ".parquet", ".pq", ".ts")

#: each input kind's file suffixes
KIND_EXTENSIONS = {
    "audio": AUDIO_EXTENSIONS, "image": IMAGE_EXTENSIONS, "sensor": SENSOR_EXTENSIONS,
}  # fmt: skip


def file_suffix(path: str | os.PathLike) -> str:
    """The lower-case suffix that says what a file holds: ``.csv`` of a gzipped sensor table
    ``log.csv.gz`` (pandas reads it), else the last one (``""``: none)."""
    suffixes = [s.lower() for s in PurePath(path).suffixes] or [""]
    if suffixes[-2:-1] and suffixes[-1] == ".gz" and suffixes[-2] in SENSOR_EXTENSIONS:
        return suffixes[-2]
    return suffixes[-1]


def input_kind_of(path: str | os.PathLike) -> str | None:
    """``"audio"`` / ``"image"`` / ``"sensor"`` from the file suffix (``.csv.gz`` is sensor)."""
    suffix = file_suffix(path)
    return next((kind for kind, exts in KIND_EXTENSIONS.items() if suffix in exts), None)


def is_hidden_name(name: str) -> bool:
    """Whether a file or folder name is hidden: starting with ``.`` (``.DS_Store``, the macOS
    ``._clip.wav`` AppleDouble twins, ``.git``) or ``__`` (``__MACOSX``). Such files are
    operating-system metadata, never data, so every folder walk skips them (the rule of Hugging
    Face ``datasets``)."""
    return name.startswith((".", "__"))


def is_hidden(path: str | os.PathLike, root: str | os.PathLike) -> bool:
    """Whether ``path`` sits in a hidden place below ``root``: a file or folder name after
    ``root`` that :func:`is_hidden_name`."""
    return any(map(is_hidden_name, PurePath(path).relative_to(root).parts))


def is_class_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder that names a class: any folder but those starting with ``.``
    or ``_`` (``.ipynb_checkpoints``, ``__MACOSX``, ``_background_noise_``), in audio and image
    class-folder trees alike."""
    return os.path.isdir(path) and PurePath(path).name[0] not in "._"
