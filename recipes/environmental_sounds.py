"""Environmental sound classification on ESC-50 (50 classes, 2,000 clips of 5 s, 5 folds).

Data: the ESC-50 repository folder (``meta/esc50.csv`` and ``audio/``) from
https://github.com/karolpiczak/ESC-50. The dataset's five folds keep clips cut from one source
recording together. ``--fold k`` tests on fold k and trains on the other four (the dataset's
protocol), with validation clips carved out of those four folds by source recording; without it
all five folds run, each in ``<output-dir>/fold<k>``, and ``cv_summary.json`` holds the mean.
``--esc10`` keeps the ESC-10 subset. A preset of ``audio_folder``: every option of it applies.

    python recipes/environmental_sounds.py --data-dir ESC-50 --output-dir runs/esc50 --fold 1
"""

from __future__ import annotations

import dataclasses
import sys

import pandas as pd

from audioconv.errors import ConfigError
from audioconv.runner import load_recipe, main

FOLDS = (1, 2, 3, 4, 5)
AudioFolder = load_recipe("audio_folder")


@dataclasses.dataclass
class EnvironmentalSounds(AudioFolder):
    """ESC-50: log-mel of 5 s clips + 2D ResNet-18, the dataset's 5-fold cross-validation.

    Args:
        fold: the test fold (1-5); ``None`` runs all five.
        esc10: use the ESC-10 subset (10 classes).
    """

    fold: int | None = None
    esc10: bool = False
    sample_rate: int = 16000
    clip_seconds: float = 5.0
    n_fft: int = 1024
    hop_length: int | None = 320
    n_mels: int = 128
    model: str = "resnet18"
    max_epochs: int = 60
    batch_size: int = 32
    time_mask: int = 30
    freq_mask: int = 16

    name = "environmental_sounds"

    def __post_init__(self):
        super().__post_init__()
        if self.fold is not None and self.fold not in FOLDS:
            raise ConfigError(f"fold={self.fold!r} must be one of {FOLDS} (or omitted: all)")

    def layout(self) -> pd.DataFrame:
        from audioconv.data.layouts import esc50

        root = self.require_data_dir("ESC-50 folder (holding meta/ and audio/)")
        return esc50(root, esc10=self.esc10)

    def folds(self) -> list[int]:
        return list(FOLDS)


RECIPE = EnvironmentalSounds

if __name__ == "__main__":
    sys.exit(main(RECIPE))
