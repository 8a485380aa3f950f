"""Music emotion tagging: several tags per clip (multi-label), e.g. ``happy;energetic``.

Data: a folder with a tag CSV (default ``tags.csv``): a ``path`` column (relative to the CSV) and
either a ``tags`` column joined by ``;`` or one 0/1 column per tag (``--tag-columns``). An optional
``group`` column (artist / album) keeps a group inside one split; a ``split`` column
(train / val / test) is used when present. Datasets in this shape: Emotify, PMEmo (after
exporting their annotations to such a CSV).

``--dataset mtg_jamendo`` reads MTG-Jamendo as it ships: ``autotagging_moodtheme.tsv`` (or
``--subset genre|instrument|top50tags``) with the audio under ``audio/`` (or ``--audio-dir``) at
the TSV's paths (the full download, or the low-quality one's ``.low.mp3`` files), the official
``splits/split-<k>/`` files when present (``--split-index``), group = artist. A preset of
``audio_folder``: every option of it applies.

    python recipes/music_emotion.py --data-dir moods --output-dir runs/moods
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Literal

import pandas as pd

from audioconv.runner import load_recipe, main

AudioFolder = load_recipe("audio_folder")


@dataclasses.dataclass
class MusicEmotion(AudioFolder):
    """Multi-label music emotion tags: log-mel of 10 s crops + 2D ResNet-18, one sigmoid per tag.

    Args:
        dataset: ``"tags_csv"`` (a tag CSV) or ``"mtg_jamendo"`` (its autotagging TSV).
        tags_file: the CSV inside ``data_dir``.
        tag_columns: one 0/1 column per tag instead of a ``tags`` column.
        subset, split_index: MTG-Jamendo's TSV (``autotagging_<subset>.tsv``) and official split.
        audio_dir: MTG-Jamendo's audio folder (default: ``audio/`` in ``data_dir``).
    """

    dataset: Literal["tags_csv", "mtg_jamendo"] = "tags_csv"
    subset: str = "moodtheme"
    split_index: int = 0
    audio_dir: Path | None = None
    tags_file: str = "tags.csv"
    tag_columns: list[str] | None = None
    sample_rate: int = 16000
    clip_seconds: float = 10.0
    n_fft: int = 1024
    hop_length: int | None = 320
    n_mels: int = 128
    model: str = "resnet18"
    max_epochs: int = 40
    batch_size: int = 16
    val_size: float = 0.1
    test_size: float = 0.2

    name = "music_emotion"

    def __post_init__(self):
        super().__post_init__()
        if self.audio_dir is not None:  # absolute, as data_dir: splits.csv names the clips
            self.audio_dir = Path(os.path.abspath(self.audio_dir))

    def layout(self) -> pd.DataFrame:
        from audioconv.data.layouts import mtg_jamendo, tags_csv

        if self.dataset == "mtg_jamendo":
            root = self.require_data_dir("MTG-Jamendo folder (autotagging_<subset>.tsv, audio/)")
            return mtg_jamendo(
                root, subset=self.subset, split_index=self.split_index, audio_dir=self.audio_dir
            )
        root = self.require_data_dir(f"folder holding {self.tags_file} and the clips")
        return tags_csv(root / self.tags_file, tag_columns=self.tag_columns)


RECIPE = MusicEmotion

if __name__ == "__main__":
    sys.exit(main(RECIPE))
