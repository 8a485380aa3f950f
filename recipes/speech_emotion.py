"""Speech emotion recognition on RAVDESS (8 emotions) or CREMA-D (6 emotions), tested on actors
never seen in training.

Data: RAVDESS audio (``Actor_01/ ... Actor_24/`` with ``03-01-05-01-02-01-12.wav`` names, from
https://zenodo.org/record/1188976) or CREMA-D (``AudioWAV/1001_DFA_ANG_XX.wav``, from
https://github.com/CheyneyComputerScience/CREMA-D). Actors are split group-aware (stratified by
emotion as far as the actors allow).

    python recipes/speech_emotion.py --dataset ravdess --data-dir RAVDESS --output-dir runs/ser
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Literal

import pandas as pd

from audioconv.runner import AudioRecipe, main


@dataclasses.dataclass
class SpeechEmotion(AudioRecipe):
    """Speech emotion (RAVDESS / CREMA-D): log-mel of 3 s crops + 2D ResNet-18, actor-held-out.

    Args:
        dataset: ``"ravdess"`` or ``"cremad"``.
    """

    dataset: Literal["ravdess", "cremad"] = "ravdess"
    sample_rate: int = 16000
    clip_seconds: float = 3.0
    hop_length: int | None = 160
    n_mels: int = 64
    model: str = "resnet18"
    max_epochs: int = 40
    batch_size: int = 32
    val_size: float = 0.15
    test_size: float = 0.2

    name = "speech_emotion"

    def manifest(self) -> pd.DataFrame:
        from audioconv.data.layouts import cremad, ravdess

        layout = ravdess if self.dataset == "ravdess" else cremad
        return layout(self.require_data_dir(f"{self.dataset} folder"))

    def split_options(self) -> dict:
        return {"split": "random"}  # group-aware: every actor in one split


RECIPE = SpeechEmotion

if __name__ == "__main__":
    sys.exit(main(RECIPE))
