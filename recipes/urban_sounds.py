"""Urban sound classification on UrbanSound8K (10 classes, 8,732 slices of up to 4 s, 10 folds).

Data: the UrbanSound8K folder (``audio/fold1`` ... ``audio/fold10`` and
``metadata/UrbanSound8K.csv``) from https://urbansounddataset.weebly.com/urbansound8k.html.
Without the CSV the labels come from the file names ``{fsID}-{classID}-{occurrenceID}-{sliceID}``
and the folds from the folders. The dataset's protocol is 10-fold cross-validation on its own
folds, which keep the slices of one recording together: all ten run, each in
``<output-dir>/fold<k>`` (``cv_summary.json`` holds the mean), or ``--fold k`` runs one. Each
trains on the nine other folds, with validation carved out of them by recording. A preset of
``audio_folder``: every option of it applies.

    audioconv fit urban_sounds --data-dir UrbanSound8K --output-dir runs/us8k --fold 10
"""

from __future__ import annotations

import dataclasses
import sys

import pandas as pd

from audioconv.errors import ConfigError
from audioconv.runner import load_recipe, main

FOLDS = tuple(range(1, 11))
AudioFolder = load_recipe("audio_folder")


@dataclasses.dataclass
class UrbanSounds(AudioFolder):
    """UrbanSound8K: log-mel of 4 s clips + 2D ResNet-18, the dataset's 10-fold cross-validation.

    Args:
        fold: the test fold (1-10); ``None`` runs all ten.
    """

    fold: int | None = None
    sample_rate: int = 22050
    clip_seconds: float = 4.0
    n_fft: int = 1024
    hop_length: int | None = 512
    n_mels: int = 128
    model: str = "resnet18"
    max_epochs: int = 40
    batch_size: int = 32
    time_mask: int = 20
    freq_mask: int = 16

    name = "urban_sounds"

    def __post_init__(self):
        super().__post_init__()
        if self.fold is not None and self.fold not in FOLDS:
            raise ConfigError(f"fold={self.fold!r} must be one of 1-10 (or omitted: all)")

    def layout(self) -> pd.DataFrame:
        from audioconv.data.layouts import urbansound8k

        return urbansound8k(self.require_data_dir("UrbanSound8K folder (holding audio/fold1..10)"))

    def folds(self) -> list[int]:
        return sorted(int(k) for k in self.layout()["fold"].unique())


RECIPE = UrbanSounds

if __name__ == "__main__":
    sys.exit(main(RECIPE))
