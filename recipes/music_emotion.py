"""Music emotion tagging: several tags per clip (multi-label), e.g. ``happy;energetic``.

Data: a folder with a tag CSV (default ``tags.csv``): a ``path`` column (relative to the CSV) and
either a ``tags`` column joined by ``;`` or one 0/1 column per tag (``--tag-columns``). An optional
``group`` column (artist / album) keeps a group inside one split; a ``split`` column
(train / val / test) is used when present. Datasets in this shape: MTG-Jamendo moodtheme,
Emotify, PMEmo (after exporting their annotations to such a CSV).

    python recipes/music_emotion.py --data-dir moods --output-dir runs/moods
"""

from __future__ import annotations

import dataclasses
import sys

import pandas as pd

from audioconv.runner import AudioRecipe, main


@dataclasses.dataclass
class MusicEmotion(AudioRecipe):
    """Multi-label music emotion tags: log-mel of 10 s crops + 2D ResNet-18, one sigmoid per tag.

    Args:
        tags_file: the CSV inside ``data_dir``.
        tag_columns: one 0/1 column per tag instead of a ``tags`` column.
    """

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

    def manifest(self) -> pd.DataFrame:
        from audioconv.data.layouts import tags_csv

        root = self.require_data_dir(f"folder holding {self.tags_file} and the clips")
        return tags_csv(root / self.tags_file, tag_columns=self.tag_columns)


RECIPE = MusicEmotion

if __name__ == "__main__":
    sys.exit(main(RECIPE))
