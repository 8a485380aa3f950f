"""Speech emotion recognition, tested on speakers never heard in training: RAVDESS (8 emotions),
CREMA-D (6), Berlin EmoDB (7) or TESS (7).

Data (``--dataset``), each as it ships:

- ``ravdess``: ``Actor_01/ ... Actor_24/`` with ``03-01-05-01-02-01-12.wav`` names
  (https://zenodo.org/record/1188976); group = actor. Speech clips only: song clips (the song
  zip unpacks into the same ``Actor_XX`` folders) are set aside with a warning
  (``--dataset_kwargs '{"vocal_channel": "all"}'`` keeps them).
- ``cremad``: ``AudioWAV/1001_DFA_ANG_XX.wav``
  (https://github.com/CheyneyComputerScience/CREMA-D; pass the repository folder, which the
  GitHub zip unpacks as ``CREMA-D-master/``; a clone needs git-lfs, or ``git lfs pull`` after it,
  else its files are Git LFS pointers); group = actor. Only ``AudioWAV/`` is read.
- ``emodb``: ``wav/03a01Fa.wav`` (http://emodb.bilderbar.info): speaker = characters 1-2,
  emotion = character 6 (W anger, L boredom, E disgust, A fear, F happiness, T sadness,
  N neutral).
- ``tess``: ``OAF_angry/OAF_back_angry.wav``, ``YAF_sad/...`` (Toronto emotional speech set):
  two talkers, so one (``--test-speaker``, default ``YAF``) is the test set and validation holds
  words the other never said in training.

RAVDESS, CREMA-D and EmoDB split their speakers group-aware (every speaker in one split,
stratified by emotion as far as the speakers allow). A preset of ``audio_folder``: every option of
it applies.

    python recipes/speech_emotion.py --dataset ravdess --data-dir RAVDESS --output-dir runs/ser
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Literal

import pandas as pd

from audioconv._plain import PlainKwargs
from audioconv.runner import load_recipe, main

AudioFolder = load_recipe("audio_folder")


@dataclasses.dataclass
class SpeechEmotion(AudioFolder):
    """Speech emotion (RAVDESS / CREMA-D / EmoDB / TESS): log-mel of 3 s crops (20 ms hop) + a
    deep ensemble of three quarter-width ResNet-18s, the spoken-digit recipe's augmentation,
    speaker-held-out.

    Args:
        dataset: ``"ravdess"``, ``"cremad"``, ``"emodb"`` or ``"tess"``.
        test_speaker: TESS's test talker, ``"OAF"`` or ``"YAF"``.
    """

    dataset: Literal["ravdess", "cremad", "emodb", "tess"] = "ravdess"
    test_speaker: Literal["OAF", "YAF"] = "YAF"
    sample_rate: int = 16000
    clip_seconds: float = 3.0
    hop_length: int | None = 320
    n_mels: int = 64
    model: str = "resnet18"
    model_kwargs: PlainKwargs = dataclasses.field(
        default_factory=lambda: {"widths": [16, 32, 64, 128]}
    )
    # a deep ensemble of three quarter-width ResNet-18s, chosen on validation over one half-width
    # ResNet-18 and two of 3/8 width (benchmarks/real_recordings.md); about as fast as the one
    members: int = 3
    max_epochs: int = 80  # chosen on validation over 30 and 50 (benchmarks/real_recordings.md)
    batch_size: int = 32
    speed_factors: list[float] | None = dataclasses.field(default_factory=lambda: [0.9, 1.0, 1.1])
    time_mask: int = 15
    freq_mask: int = 8
    val_size: float = 0.15
    test_size: float = 0.2

    name = "speech_emotion"

    def layout(self) -> pd.DataFrame:
        from audioconv.data.layouts import read_layout

        root = self.require_data_dir(f"{self.dataset} folder")
        options = {
            "tess": {"test_speaker": self.test_speaker},
            "ravdess": {"vocal_channel": "speech"},  # the song zip unpacks into the same Actor_XX
        }.get(self.dataset, {})
        return read_layout(self.dataset, root, **{**options, **(self.dataset_kwargs or {})})


RECIPE = SpeechEmotion

if __name__ == "__main__":
    sys.exit(main(RECIPE))
