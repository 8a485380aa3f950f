"""Audio datasets: a manifest (one row per clip) in, ``(wave, label)`` pairs out.

Every audio dataset here is an :class:`AudioDataset` over a pandas manifest with the columns

- ``path`` — the audio file (absolute, or relative to ``root``),
- ``label`` (single-label) **or** ``tags`` (multi-label: a list of names, or a string joined
  by ``;``),
- optional ``group`` (speaker / recording / stream, for leak-free splits), ``split``
  (``train`` / ``val`` / ``test``), ``fold`` (int), ``offset`` and ``duration`` (seconds, to read a
  segment of a longer file).

``AudioFolder(root)`` builds the manifest from one sub-folder per class, ``AudioManifest(csv)``
reads it from a CSV, and :mod:`audioconv.data.layouts` builds it for the public dataset layouts.

Files are checked when the dataset is built: every missing file is listed in one
:class:`~audioconv.errors.DatasetError`, then every unreadable or empty one in another (their
headers only; :mod:`audioconv.data.scan` decodes every file, as the recipes do). With
``on_error="skip"`` the bad rows are dropped instead, a warning lists each of them, and
``dataset.skipped`` keeps ``(path, reason)`` pairs.

>>> import tempfile, torch
>>> from pathlib import Path
>>> from audioconv.io import save_audio
>>> root = Path(tempfile.mkdtemp())
>>> for name in ("dog/a.wav", "dog/b.wav", "cat/c.wav"):
...     (root / name).parent.mkdir(exist_ok=True)
...     save_audio(root / name, 0.1 * torch.randn(1, 800), 8000)
>>> ds = AudioFolder(root)
>>> ds.class_names, len(ds), ds.task
(['cat', 'dog'], 3, 'multiclass')
>>> wave, label = ds[0]
>>> wave.shape, int(label)
(torch.Size([1, 800]), 0)
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from audioconv._walk import walk_files
from audioconv.constants import AUDIO_EXTENSIONS, is_class_folder
from audioconv.data.manifest import check_text_file, read_manifest, split_tags, tags_from_columns
from audioconv.errors import AudioError, ConfigError, DatasetError
from audioconv.io import audio_info, load_audio

__all__ = ["AUDIO_EXTENSIONS", "AudioDataset", "AudioFolder", "AudioManifest", "split_tags"]

Task = Literal["binary", "multiclass", "multilabel"]
OnError = Literal["raise", "skip"]
_MAX_LISTED = 20


def _listing(items: Sequence[str]) -> str:
    shown = "\n  ".join(items[:_MAX_LISTED])
    more = f"\n  ... and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else ""
    return f"\n  {shown}{more}"


class AudioDataset(Dataset):
    """Clips listed in a manifest DataFrame; ``ds[i]`` is ``(wave, label)``.

    ``wave`` is ``(channels, time)`` float32 (``(1, time)`` when ``mono``), after ``transform``
    (e.g. ``audioconv.features.FixedLength``). ``label`` is an int64 scalar class index
    (``binary`` / ``multiclass``) or a float32 ``(num_classes,)`` multi-hot vector (``multilabel``).

    ``class_names`` fixes the class order (default: ``manifest.attrs["class_names"]`` as the
    layouts set it, else the sorted names found); a label outside it is an
    error (or a skipped row with ``on_error="skip"``). ``root`` resolves relative paths.
    ``check_files=False`` skips the up-front header check of every file (faster on huge sets;
    a bad file then fails when it is read).
    """

    def __init__(
        self,
        manifest: pd.DataFrame,
        *,
        root: str | os.PathLike | None = None,
        class_names: Sequence[str] | None = None,
        task: Task | None = None,
        sample_rate: int | None = None,
        mono: bool = True,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        on_error: OnError = "raise",
        check_files: bool = True,
        tag_sep: str = ";",
    ):
        if on_error not in ("raise", "skip"):
            raise ConfigError(f"on_error={on_error!r}: use 'raise' or 'skip'")
        if task not in (None, "binary", "multiclass", "multilabel"):
            raise ConfigError(f"task={task!r}: use 'binary', 'multiclass' or 'multilabel'")
        if sample_rate is not None and (isinstance(sample_rate, bool) or sample_rate <= 0):
            raise ConfigError(f"sample_rate={sample_rate!r} must be a positive int or None")
        if not isinstance(manifest, pd.DataFrame):
            raise ConfigError(f"manifest is a {type(manifest).__name__}; pass a pandas DataFrame")
        if "path" not in manifest.columns:
            raise DatasetError(
                f"the manifest has no 'path' column (columns: {list(manifest.columns)}); "
                "add one naming each audio file"
            )
        multilabel = "tags" in manifest.columns and "label" not in manifest.columns
        if "label" not in manifest.columns and not multilabel:
            raise DatasetError(
                f"the manifest has neither a 'label' nor a 'tags' column (columns: "
                f"{list(manifest.columns)}); add 'label' (one class per clip) or 'tags' "
                "(multi-label)"
            )
        if task == "multilabel" and not multilabel:
            raise ConfigError(
                "task='multilabel' needs a 'tags' column in the manifest, not 'label'"
            )
        self.task: Task = task or ("multilabel" if multilabel else "multiclass")
        self.sample_rate = sample_rate
        self.mono = mono
        self.transform = transform
        self.on_error = on_error
        self.skipped: list[tuple[str, str]] = []

        frame = manifest.reset_index(drop=True).copy()
        base = Path(root) if root is not None else None
        frame["path"] = [
            str(base / p) if base is not None and not Path(p).is_absolute() else str(p)
            for p in frame["path"]
        ]
        if multilabel:
            frame["tags"] = [split_tags(value, tag_sep) for value in frame["tags"]]
        else:
            frame["label"] = frame["label"].astype(str)
        found = sorted(
            {tag for tags in frame["tags"] for tag in tags} if multilabel else set(frame["label"])
        )
        if class_names is None:
            class_names = manifest.attrs.get("class_names", found)
        self.class_names: list[str] = list(class_names)
        if len(set(self.class_names)) != len(self.class_names):
            raise ConfigError(f"class_names={self.class_names!r} has duplicates")
        if self.task == "binary" and len(self.class_names) != 2:
            raise ConfigError(
                f"task='binary' needs exactly 2 classes, found {self.class_names!r}; "
                "use task='multiclass'"
            )
        frame = self._drop_unknown_labels(frame, multilabel)
        if check_files:
            frame = self._check_files(frame)
        if self.skipped:
            warnings.warn(
                f"skipped {len(self.skipped)} bad clip(s) (on_error='skip'):"
                + _listing([f"{path}: {reason}" for path, reason in self.skipped]),
                stacklevel=3,
            )
        if frame.empty and self.skipped:
            raise DatasetError(
                f"all {len(self.skipped)} clip(s) are bad, so on_error='skip' leaves none:"
                + _listing([f"{path}: {reason}" for path, reason in self.skipped])
            )
        if frame.empty:
            raise DatasetError("the dataset holds no usable clips; check the folder / manifest")
        self.manifest = frame.reset_index(drop=True)
        self._index = {name: i for i, name in enumerate(self.class_names)}

    # -- validation -------------------------------------------------------------------------------
    def _skip_or_raise(self, frame: pd.DataFrame, bad: dict[int, str], error: Exception):
        if not bad:
            return frame
        if self.on_error == "raise":
            raise error
        self.skipped.extend((frame.at[i, "path"], reason) for i, reason in bad.items())
        return frame.drop(index=list(bad))

    def _drop_unknown_labels(self, frame: pd.DataFrame, multilabel: bool) -> pd.DataFrame:
        known = set(self.class_names)
        bad = {}
        for i, row in frame.iterrows():
            labels = row["tags"] if multilabel else [row["label"]]
            unknown = [label for label in labels if label not in known]
            if unknown:
                bad[i] = f"label(s) {unknown} not in class_names"
        error = DatasetError(
            f"{len(bad)} clip(s) have labels not in class_names={self.class_names!r}:"
            + _listing([f"{frame.at[i, 'path']}: {reason}" for i, reason in bad.items()])
            + "\nadd the labels to class_names, fix the manifest, or pass on_error='skip'"
        )
        return self._skip_or_raise(frame, bad, error)

    def _check_files(self, frame: pd.DataFrame) -> pd.DataFrame:
        missing = {i: "file not found" for i, p in frame["path"].items() if not Path(p).is_file()}
        error = DatasetError(
            f"{len(missing)} file(s) named in the manifest do not exist:"
            + _listing([frame.at[i, "path"] for i in missing])
            + "\nfix the paths (relative paths resolve from `root`) or pass on_error='skip'"
        )
        frame = self._skip_or_raise(frame, missing, error)
        bad = {}
        for i, path in frame["path"].items():
            try:
                if audio_info(path).frames == 0:
                    bad[i] = "the file holds 0 samples"
            except AudioError as failure:
                bad[i] = str(failure).removeprefix(f"{path}: ")
        error = DatasetError(
            f"{len(bad)} audio file(s) cannot be used:"
            + _listing([f"{frame.at[i, 'path']}: {reason}" for i, reason in bad.items()])
            + "\nremove or re-export them, or pass on_error='skip'"
        )
        return self._skip_or_raise(frame, bad, error)

    # -- access -----------------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def groups(self) -> np.ndarray | None:
        """The ``group`` column as an array, or ``None`` when the manifest has none."""
        return self.manifest["group"].to_numpy() if "group" in self.manifest else None

    def targets(self) -> np.ndarray:
        """All labels without reading audio: ``(n,)`` int64 or ``(n, num_classes)`` float32."""
        if self.task == "multilabel":
            hot = np.zeros((len(self.manifest), self.num_classes), dtype=np.float32)
            for row, tags in enumerate(self.manifest["tags"]):
                hot[row, [self._index[tag] for tag in tags]] = 1.0
            return hot
        return self.manifest["label"].map(self._index).to_numpy(dtype=np.int64)

    def subset(
        self, indices: Sequence[int] | np.ndarray, *, transform: Callable | None = None
    ) -> AudioDataset:
        """A dataset over rows ``indices`` sharing class names and options; ``transform``
        replaces this dataset's one when given (e.g. a random crop for training only)."""
        view = object.__new__(type(self))
        view.__dict__.update(self.__dict__)
        view.manifest = self.manifest.iloc[np.asarray(indices, dtype=np.int64)].reset_index(
            drop=True
        )
        view.skipped = []
        if transform is not None:
            view.transform = transform
        return view

    def fingerprint(self) -> list[tuple]:
        """What identifies the content: per row (path, size, mtime_ns, offset, duration)."""
        rows = []
        for row in self.manifest.itertuples(index=False):
            stat = Path(row.path).stat()
            rows.append(
                (
                    row.path,
                    stat.st_size,
                    stat.st_mtime_ns,
                    float(getattr(row, "offset", 0.0) or 0.0),
                    getattr(row, "duration", None),
                )
            )
        return rows

    def __len__(self) -> int:
        return len(self.manifest)

    def load(self, index: int) -> torch.Tensor:
        """The ``(channels, time)`` waveform of row ``index`` before ``transform``."""
        row = self.manifest.iloc[index]
        offset = row.get("offset", 0.0)
        duration = row.get("duration", None)
        wave, _ = load_audio(
            row["path"],
            sample_rate=self.sample_rate,
            mono=self.mono,
            offset=0.0 if pd.isna(offset) else float(offset),
            duration=None if duration is None or pd.isna(duration) else float(duration),
        )
        return wave

    def label(self, index: int) -> torch.Tensor:
        """Label of row ``index``: int64 scalar, or float32 ``(num_classes,)`` multi-hot."""
        row = self.manifest.iloc[index]
        if self.task == "multilabel":
            hot = torch.zeros(self.num_classes)
            hot[[self._index[tag] for tag in row["tags"]]] = 1.0
            return hot
        return torch.tensor(self._index[row["label"]], dtype=torch.int64)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        wave = self.load(index)
        if self.transform is not None:
            wave = self.transform(wave)
        return wave, self.label(index)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n={len(self)}, task={self.task!r}, "
            f"classes={self.num_classes}, sample_rate={self.sample_rate})"
        )


class AudioFolder(AudioDataset):
    """One sub-folder per class under ``root`` (like Keras' ``flow_from_directory``).

    Files with ``extensions`` are found recursively inside each class folder. An empty class folder
    is an error (it is almost always a failed copy); pass ``class_names`` to choose / order classes.
    Sub-folders whose names start with ``_`` or ``.`` are ignored unless named in ``class_names``.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        extensions: Sequence[str] = AUDIO_EXTENSIONS,
        class_names: Sequence[str] | None = None,
        **kwargs,
    ):
        root = Path(root)
        if not root.is_dir():
            raise DatasetError(
                f"{root}: no such folder; pass the folder holding one folder per class"
            )
        folders = (
            [root / name for name in class_names]
            if class_names is not None
            else sorted(p for p in root.iterdir() if is_class_folder(p))
        )
        if not folders:
            raise DatasetError(
                f"{root}: no class folders found; expected {root}/<class>/<clip>.wav"
            )
        suffixes = tuple(ext.lower() for ext in extensions)
        rows = []
        for folder in folders:
            files = walk_files(folder, suffixes).files
            if not files:
                raise DatasetError(
                    f"{folder}: class folder is empty or missing (no {sorted(suffixes)} files); "
                    "add clips or remove the folder"
                )
            rows += [{"path": str(f), "label": folder.name} for f in files]
        super().__init__(pd.DataFrame(rows), class_names=[f.name for f in folders], **kwargs)
        self.root = root


class AudioManifest(AudioDataset):
    """A CSV manifest (columns ``path`` and ``label`` or ``tags``; optional ``group``, ``split``,
    ``fold``, ``offset``, ``duration``) read with pandas. Relative paths resolve from the CSV's
    folder unless ``root`` is given. ``tag_columns`` reads multi-label data stored as one 0/1
    column per tag instead of a ``tags`` column."""

    def __init__(
        self,
        csv: str | os.PathLike,
        *,
        root: str | os.PathLike | None = None,
        tag_columns: Sequence[str] | None = None,
        **kwargs,
    ):
        csv = Path(csv)
        root = Path(root) if root is not None else csv.parent
        if tag_columns is None:  # checked: empty / binary file, empty cells, repeats, ``..``
            super().__init__(read_manifest(csv, root=root), **kwargs)
            return
        check_text_file(csv)
        try:
            frame = pd.read_csv(csv, keep_default_na=False)  # a path "NA" stays one
        except (pd.errors.ParserError, UnicodeDecodeError) as error:
            raise DatasetError(f"{csv}: cannot parse the CSV ({error})") from error
        frame = tags_from_columns(frame, tag_columns)
        kwargs.setdefault("class_names", list(tag_columns))
        super().__init__(frame, root=root, **kwargs)
