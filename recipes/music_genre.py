"""Music genre classification on GTZAN (10 genres, 100 clips of 30 s each).

Data: the GTZAN folder holding ``genres_original/<genre>/<genre>.000NN.wav`` (e.g. the Kaggle
"GTZAN Dataset - Music Genre Classification" copy) or the original ``genres/<genre>/*.au``.
GTZAN has no official split: clips are split at random (stratified), training on random 10 s
crops and testing on the centre 10 s. One Kaggle clip (``jazz.00054.wav``) does not decode:
``--on-error skip`` trains without it. A preset of ``audio_folder``: every option of it applies.

    python recipes/music_genre.py --data-dir gtzan --output-dir runs/genre
"""

from __future__ import annotations

import dataclasses
import sys

import pandas as pd

from audioconv.runner import load_recipe, main

AudioFolder = load_recipe("audio_folder")


@dataclasses.dataclass
class MusicGenre(AudioFolder):
    """GTZAN genres: log-mel (128 bands) of 10 s crops + 2D ResNet-18."""

    sample_rate: int = 16000
    clip_seconds: float = 10.0
    n_fft: int = 1024
    hop_length: int | None = 320
    n_mels: int = 128
    model: str = "resnet18"
    max_epochs: int = 40
    batch_size: int = 16
    time_mask: int = 40
    freq_mask: int = 16
    val_size: float = 0.1
    test_size: float = 0.2

    name = "music_genre"

    def layout(self) -> pd.DataFrame:
        from audioconv.data.layouts import gtzan

        return gtzan(self.require_data_dir("GTZAN folder (holding genres_original/)"))


RECIPE = MusicGenre

if __name__ == "__main__":
    sys.exit(main(RECIPE))
