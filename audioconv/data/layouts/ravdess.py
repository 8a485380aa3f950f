"""RAVDESS audio: ``Actor_XX/03-01-05-01-02-01-12.wav``, 8 emotions, group = actor.

RAVDESS ships its speech (vocal channel ``01``, 8 emotions) and its song (``02``, 6 emotions:
no disgust, no surprise) as two zips whose ``Actor_XX`` folders merge when both are unpacked
into one folder; ``vocal_channel`` keeps one of them.

>>> parse_ravdess_name("03-01-05-01-02-01-12.wav")
{'label': 'angry', 'group': 'actor12', 'vocal_channel': 'speech', 'intensity': 'normal'}
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import pandas as pd

from audioconv.data.layouts.common import audio_files, example_clip, parse_all, require_dir
from audioconv.data.layouts.registry import register_layout
from audioconv.errors import ConfigError, DatasetError

RAVDESS_EMOTIONS = (
    "neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised",
)  # fmt: skip
#: the emotions RAVDESS sings (its song clips have no disgust and no surprise)
RAVDESS_SONG_EMOTIONS = RAVDESS_EMOTIONS[:6]
VOCAL_CHANNELS = ("speech", "song", "all")
_RAVDESS = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")


def parse_ravdess_name(name: str) -> dict:
    """``MM-VV-EE-II-SS-RR-AA.wav``: emotion EE (01 neutral ... 08 surprised), actor AA -> group."""
    match = _RAVDESS.match(Path(name).stem)
    if match is None or not 1 <= int(match[3]) <= 8:
        raise ValueError(f"{name!r} is not a RAVDESS file name")
    return {
        "label": RAVDESS_EMOTIONS[int(match[3]) - 1],
        "group": f"actor{match[7]}",
        "vocal_channel": "speech" if match[2] == "01" else "song",
        "intensity": "normal" if match[4] == "01" else "strong",
    }


def _example(folder: Path) -> Path:
    for actor in (1, 2):
        for emotion in (1, 5):
            name = f"03-01-{emotion:02d}-01-01-01-{actor:02d}.wav"
            example_clip(folder / f"Actor_{actor:02d}" / name)
    return folder


@register_layout(
    "ravdess",
    description="RAVDESS audio: Actor_XX/03-01-05-01-02-01-12.wav, 8 emotions, group = actor",
    example=_example,
)
def ravdess(root: str | os.PathLike, vocal_channel: str = "all") -> pd.DataFrame:
    """RAVDESS audio (``Actor_XX/03-01-05-01-02-01-12.wav``): 8 emotions, group = actor.
    Class order: ``RAVDESS_EMOTIONS`` (``frame.attrs["class_names"]``; the 6 of
    ``RAVDESS_SONG_EMOTIONS`` for song only).

    ``vocal_channel``: ``"speech"`` or ``"song"`` keeps those clips and warns with the number of
    the others set aside; ``"all"`` keeps every clip.

    Raises:
        DatasetError: no clip of ``vocal_channel`` (the message counts the other kind).
    """
    if vocal_channel not in VOCAL_CHANNELS:
        raise ConfigError(
            f"vocal_channel={vocal_channel!r} is not one of {', '.join(VOCAL_CHANNELS)}"
        )
    root = require_dir(root, "RAVDESS folder (holding Actor_XX/)")
    frame = parse_all(audio_files(root), parse_ravdess_name, root, "RAVDESS")
    if vocal_channel != "all":
        keep = frame["vocal_channel"] == vocal_channel
        other = "song" if vocal_channel == "speech" else "speech"
        if not keep.any():
            raise DatasetError(
                f"{root}: none of its {len(frame)} RAVDESS clips is {vocal_channel} (all are "
                f"{other}: the second field of their names); pass the folder of the "
                f"{vocal_channel} actors, or vocal_channel='{other}' / 'all'"
            )
        if not keep.all():
            warnings.warn(
                f"{root}: {int((~keep).sum())} RAVDESS {other} clips set aside, {int(keep.sum())} "
                f"{vocal_channel} clips kept (vocal_channel={vocal_channel!r}; 'all' keeps both)",
                stacklevel=2,
            )
        frame = frame[keep].reset_index(drop=True)
    song = vocal_channel == "song"
    frame.attrs["class_names"] = list(RAVDESS_SONG_EMOTIONS if song else RAVDESS_EMOTIONS)
    return frame
