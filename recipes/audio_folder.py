"""Your own audio, one command: class sub-folders, a CSV / TSV manifest, or a registered layout.

Data (``--data-dir``): either one sub-folder of clips per class (``DIR/<class>/<clip>.wav``;
wav, flac, ogg, opus, mp3, aiff, au, caf, w64, rf64: ``constants.AUDIO_EXTENSIONS``; other files
are listed as not read), or a dataset in a registered layout ``--dataset NAME``
(``audioconv.data.layouts.list_layouts()``: ``esc50``, ``fsdd``, ``ravdess``, ...; options of its
reader in ``--dataset_kwargs``), or a manifest ``--manifest-file FILE`` (a ``.csv`` or ``.tsv``
inside ``DIR`` or anywhere; paths relative to ``DIR``) with the columns

- ``path`` and ``label`` (one class per clip) or ``tags`` (multi-label, joined by ``;``),
- optional ``group`` (speaker / recording / session: a group never spans two splits),
  ``split`` (train / val / test, used as given), ``fold`` (integers: cross-validation).

Splits: a ``split`` column is kept; a ``fold`` column runs every fold in turn (each in
``<output-dir>/fold<k>``, ``cv_summary.json`` with the mean) or ``--fold k`` only; otherwise
clips are split at random, stratified and group-aware (``--group-regex`` takes the group from
each clip's path relative to ``DIR``: ``'/([a-z]+)_'`` makes ``dog/anna_03.wav`` speaker
``anna``). ``--split-file RUN/splits.csv`` pins an earlier run's split.

Every front-end, model, augmentation and clip-length option of the dataset recipes applies
(``audioconv fit audio_folder --help``); before training each file is decoded once (cached) and
``--on-error raise|skip`` decides what a bad file does.

    audioconv fit audio_folder --data-dir my_clips --output-dir runs/mine
    audioconv fit audio_folder --data-dir my_clips --manifest-file labels.csv --output-dir runs/m
    audioconv fit audio_folder --data-dir ESC-50-master --dataset esc50 --output-dir runs/esc
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from pathlib import Path
from typing import Literal

import pandas as pd

from audioconv._plain import PlainKwargs
from audioconv.errors import ConfigError, DatasetError
from audioconv.runner import AudioRecipe, Recipe, main


@dataclasses.dataclass
class AudioFolder(AudioRecipe):
    """Your own clips (class folders, a CSV / TSV manifest or a registered layout): log-mel + a 2D
    CNN.

    Args:
        dataset: a registered dataset layout read from ``data_dir``
            (``audioconv.data.layouts.list_layouts()``; ``None``: class folders or the manifest).
        dataset_kwargs: options of that layout's reader, e.g. ``{"esc10": true}`` for ``esc50``.
        manifest_file: a CSV / TSV manifest (``path``, ``label`` or ``tags``, optional ``group``,
            ``split``, ``fold``); a relative ``manifest_file``, and the clip paths it lists, are
            taken inside ``data_dir`` (``None``: read the class sub-folders of ``data_dir``).
        split: ``"auto"`` (the manifest's ``split`` column, else its ``fold`` column, else
            random), ``"random"`` (stratified, group-aware), ``"predefined"`` or ``"folds"``.
        fold: the test fold of a ``fold`` column (``None``: every fold in turn).
        group_regex: a regular expression whose first group, searched in each clip's path
            relative to ``data_dir``, names its group (speaker / recording).
    """

    dataset: str | None = None
    dataset_kwargs: PlainKwargs | None = None
    manifest_file: Path | None = None
    split: Literal["auto", "random", "predefined", "folds"] = "auto"
    fold: int | None = None
    group_regex: str | None = None

    name = "audio_folder"

    def __post_init__(self):
        super().__post_init__()
        if self.dataset is not None and type(self).layout is AudioFolder.layout:
            from audioconv.data.layouts import registered_layout

            registered_layout(self.dataset)  # an unknown name raises, listing the registered ones
            if self.manifest_file is not None:
                raise ConfigError(
                    f"dataset={self.dataset!r} and manifest_file={str(self.manifest_file)!r}: "
                    "give one (a registered layout, or your manifest)"
                )
        elif self.dataset is not None and not _declares_dataset(type(self)):
            raise ConfigError(
                f"recipe {self.name!r} reads its own dataset layout, so dataset="
                f"{self.dataset!r} would be ignored: run audioconv fit audio_folder --dataset "
                f"{self.dataset} ... instead"
            )
        if self.group_regex is not None:
            try:
                pattern = re.compile(self.group_regex)
            except re.error as error:
                raise ConfigError(f"group_regex={self.group_regex!r}: {error}") from None
            if pattern.groups < 1:
                raise ConfigError(
                    f"group_regex={self.group_regex!r} has no (group): wrap the part naming the "
                    "speaker / recording in parentheses"
                )

    def layout(self) -> pd.DataFrame:
        """The dataset's manifest before ``group_regex`` (presets override this)."""
        from audioconv.data.layouts import class_folders, read_layout, read_manifest

        if self.dataset is not None:
            root = self.require_data_dir(f"{self.dataset} folder")
            return read_layout(self.dataset, root, **(self.dataset_kwargs or {}))
        root = self.require_data_dir("folder of class sub-folders (or of the manifest's clips)")
        if self.manifest_file is None:
            return class_folders(root)
        file = self.manifest_file if self.manifest_file.is_absolute() else root / self.manifest_file
        if not file.is_file() and not self.manifest_file.is_absolute():
            raise DatasetError(
                f"{file}: no such manifest; a relative --manifest-file is read inside --data-dir "
                f"{root}: move it there or pass its absolute path"
            )
        return read_manifest(file, root=root)

    def manifest(self) -> pd.DataFrame:
        frame = self.layout()
        if self.group_regex is not None:
            pattern = re.compile(self.group_regex)
            relative = [Path(os.path.relpath(p, self.data_dir)).as_posix() for p in frame["path"]]
            matches = [pattern.search(r) for r in relative]
            unmatched = [r for r, m in zip(relative, matches) if m is None]
            if unmatched:
                raise DatasetError(
                    f"group_regex={self.group_regex!r} does not match {len(unmatched)} of the "
                    f"{len(relative)} clip paths, e.g. {unmatched[:5]}; fix the expression so it "
                    "matches every clip path"
                )
            frame = frame.assign(group=[m[1] for m in matches])
        return frame

    def folds(self) -> list[int]:
        """The folds to cross-validate over (empty when the split is not fold-based)."""
        if self.split not in ("auto", "folds"):
            return []
        frame = self.layout()
        if "fold" not in frame.columns or (self.split == "auto" and "split" in frame.columns):
            return []
        return sorted(int(k) for k in frame["fold"].unique())

    def split_options(self) -> dict:
        if self.fold is not None:
            return {"split": "folds", "test_fold": self.fold}  # val: carved from the other folds
        if self.split == "folds":
            raise ConfigError("split='folds' needs a 'fold' column in the manifest")
        return {"split": self.split}

    def variants(self) -> list[tuple[str | None, Recipe]]:
        if self.fold is not None or self.split_file is not None:
            return [(None, self)]
        folds = self.folds()
        if not folds:
            return [(None, self)]
        return [(f"fold{k}", dataclasses.replace(self, fold=k)) for k in folds]


def _declares_dataset(recipe_class: type) -> bool:
    """Whether a preset below :class:`AudioFolder` declares its own ``dataset`` option."""
    return any(
        "dataset" in vars(cls).get("__annotations__", {})
        for cls in recipe_class.__mro__
        if cls is not AudioFolder and issubclass(cls, AudioFolder)
    )


RECIPE = AudioFolder

if __name__ == "__main__":
    sys.exit(main(RECIPE))
