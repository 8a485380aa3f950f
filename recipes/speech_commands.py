"""Speech Commands v2 keyword spotting: 35 words, or the classic 12 classes (10 words, unknown,
silence cut from the background noise).

Data: the extracted ``speech_commands_v0.02`` folder (one folder per word,
``validation_list.txt``, ``testing_list.txt``, ``_background_noise_/``), from
https://www.tensorflow.org/datasets/catalog/speech_commands. The dataset's own lists give the
validation and test clips (speakers never cross them).

    python recipes/speech_commands.py --data-dir speech_commands_v0.02 --classes 12 \
        --output-dir runs/kws
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Literal

import pandas as pd

from audioconv.runner import AudioRecipe, main


@dataclasses.dataclass
class SpeechCommands(AudioRecipe):
    """Speech Commands v2: log-mel + 2D CNN on 1 s clips at 16 kHz.

    Args:
        classes: 35 (every word) or 12 (ten words, ``_unknown_``, ``_silence_``).
    """

    classes: Literal[12, 35] = 35
    sample_rate: int = 16000
    clip_seconds: float = 1.0
    hop_length: int | None = 160
    n_mels: int = 64
    model: str = "resnet18"
    max_epochs: int = 30
    batch_size: int = 128

    name = "speech_commands"

    def manifest(self) -> pd.DataFrame:
        from audioconv.data.layouts import SPEECH_COMMANDS_12, SPEECH_COMMANDS_35, speech_commands

        root = self.require_data_dir("Speech Commands v2 folder (one folder per word)")
        frame = speech_commands(root, classes=self.classes)
        # the task's full class list, in the dataset's order, even if a class has no clip here
        frame.attrs["class_names"] = list(
            SPEECH_COMMANDS_12 if self.classes == 12 else SPEECH_COMMANDS_35
        )
        return frame


RECIPE = SpeechCommands

if __name__ == "__main__":
    sys.exit(main(RECIPE))
