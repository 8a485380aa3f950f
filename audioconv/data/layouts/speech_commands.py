"""Speech Commands v2: one folder per word, ``validation_list.txt`` / ``testing_list.txt`` and
``_background_noise_``."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from audioconv.constants import is_hidden
from audioconv.data.layouts.common import audio_files, example_clip, nearby, require_dir
from audioconv.data.layouts.registry import register_layout
from audioconv.errors import ConfigError, DatasetError
from audioconv.io import audio_info

SPEECH_COMMANDS_35 = (
    "backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward", "four",
    "go", "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on", "one", "right",
    "seven", "sheila", "six", "stop", "three", "tree", "two", "up", "visual", "wow", "yes", "zero",
)  # fmt: skip
SPEECH_COMMANDS_12 = (
    "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "_silence_", "_unknown_",
)  # fmt: skip
SILENCE, UNKNOWN, BACKGROUND = "_silence_", "_unknown_", "_background_noise_"


def _read_list(path: Path) -> set[str]:
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


def _example(folder: Path) -> Path:
    for word in ("yes", "no"):
        for speaker in ("aa11", "bb22", "cc33"):
            example_clip(folder / word / f"{speaker}_nohash_0.wav")
    (folder / "validation_list.txt").write_text("yes/bb22_nohash_0.wav\n")
    (folder / "testing_list.txt").write_text("no/cc33_nohash_0.wav\n")
    return folder


@register_layout(
    "speech_commands",
    description="Speech Commands v2: <word>/<speaker>_nohash_<n>.wav, official val / test lists",
    example=_example,
)
def speech_commands(
    root: str | os.PathLike,
    *,
    classes: int = 35,
    silence_duration: float = 1.0,
) -> pd.DataFrame:
    """Speech Commands v2: one folder per word, ``validation_list.txt`` / ``testing_list.txt``
    naming the val / test clips (everything else is train), ``_background_noise_`` with long noise
    recordings. ``group`` is the speaker hash (the part of the file name before ``_nohash_``).

    ``classes=35`` keeps the 35 words. ``classes=12`` is the classic task: the ten words
    ``SPEECH_COMMANDS_12[:10]``, every other word as ``_unknown_``, and ``_silence_`` clips cut
    from the background-noise recordings in ``silence_duration`` segments (rows with ``offset`` /
    ``duration``); within each noise recording the first 80% of segments are train, the next 10%
    val and the last 10% test, so no stretch of noise is in two splits.
    """
    if classes not in (12, 35):
        raise ConfigError(f"classes={classes!r}: Speech Commands tasks have 12 or 35 classes")
    root = require_dir(root, "Speech Commands folder (holding the word folders)")
    lists = [root / "validation_list.txt", root / "testing_list.txt"]
    missing = [p.name for p in lists if not p.is_file()]
    found = missing and nearby(root, lambda folder: (folder / "testing_list.txt").is_file())
    if found:  # a word folder, or the folder the archive was unpacked into
        raise DatasetError(f"{root}: the dataset is in {found}: pass --data-dir {found}")
    if missing:
        raise DatasetError(
            f"{root}: {' and '.join(missing)} missing; the official split needs "
            "validation_list.txt and testing_list.txt (they ship in the dataset archive): "
            "restore them"
        )
    val, test = (_read_list(p) for p in lists)
    rows = []
    words = (p for p in root.iterdir() if p.is_dir() and p.name != BACKGROUND)
    for folder in sorted(p for p in words if not is_hidden(p, root)):  # no __MACOSX "word"
        for file in audio_files(folder):
            rel = f"{folder.name}/{file.name}"
            word = folder.name
            label = word if classes == 35 or word in SPEECH_COMMANDS_12[:10] else UNKNOWN
            split = "test" if rel in test else "val" if rel in val else "train"
            group = file.name.split("_nohash_")[0]
            rows.append({"path": str(file), "label": label, "group": group, "split": split})
    if not rows:
        raise DatasetError(f"{root}: no word folders with audio; expected {root}/<word>/<clip>.wav")
    listed = {row["path"] for row in rows}
    missing = sorted(str(root / name) for name in val | test if str(root / name) not in listed)
    if missing:
        raise DatasetError(
            f"{len(missing)} file(s) named in validation_list.txt / testing_list.txt do not "
            f"exist: {missing[:20]}; restore them or fix the lists"
        )
    if classes == 12:
        noise = root / BACKGROUND
        if not noise.is_dir():
            raise DatasetError(f"{noise}: missing; the 12-class task cuts _silence_ clips from it")
        for file in audio_files(noise):
            info = audio_info(file)
            count = int(info.duration // silence_duration)
            for k in range(count):
                part = k / count
                split = "train" if part < 0.8 else "val" if part < 0.9 else "test"
                rows.append(
                    {
                        "path": str(file), "label": SILENCE, "group": f"{BACKGROUND}/{file.name}",
                        "split": split, "offset": k * silence_duration,
                        "duration": silence_duration,
                    }
                )  # fmt: skip
    return pd.DataFrame(rows)
