"""Manifests for public dataset layouts, read as the datasets are distributed.

Each function returns a pandas DataFrame for :class:`audioconv.data.AudioDataset` with columns
``path``, ``label`` (or ``tags``), ``group`` (speaker / actor / source recording: keep a group
inside one split) and the dataset's own ``split`` or ``fold`` where it defines one.
Class-name lists in the order each dataset defines them are module constants
(``RAVDESS_EMOTIONS``, ...).

>>> parse_ravdess_name("03-01-05-01-02-01-12.wav")
{'label': 'angry', 'group': 'actor12', 'vocal_channel': 'speech', 'intensity': 'normal'}
>>> parse_cremad_name("1001_DFA_ANG_XX.wav")
{'label': 'anger', 'group': '1001', 'sentence': 'DFA', 'level': 'XX'}
>>> parse_fsdd_name("7_jackson_32.wav")
{'label': '7', 'group': 'jackson', 'index': 32}
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from audioconv.data.audio import AUDIO_EXTENSIONS
from audioconv.errors import ConfigError, DatasetError
from audioconv.io import audio_info

__all__ = [
    "CREMAD_EMOTIONS",
    "RAVDESS_EMOTIONS",
    "SPEECH_COMMANDS_12",
    "SPEECH_COMMANDS_35",
    "cremad",
    "esc50",
    "fsdd",
    "gtzan",
    "parse_cremad_name",
    "parse_fsdd_name",
    "parse_ravdess_name",
    "ravdess",
    "speech_commands",
    "tags_csv",
    "tags_from_columns",
]

RAVDESS_EMOTIONS = (
    "neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised",
)  # fmt: skip
CREMAD_CODES = {
    "ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad",
}  # fmt: skip
CREMAD_EMOTIONS = tuple(CREMAD_CODES.values())
SPEECH_COMMANDS_35 = (
    "backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward", "four",
    "go", "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on", "one", "right",
    "seven", "sheila", "six", "stop", "three", "tree", "two", "up", "visual", "wow", "yes", "zero",
)  # fmt: skip
SPEECH_COMMANDS_12 = (
    "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "_silence_", "_unknown_",
)  # fmt: skip
SILENCE, UNKNOWN, BACKGROUND = "_silence_", "_unknown_", "_background_noise_"

_FSDD = re.compile(r"^(\d)_([A-Za-z0-9]+)_(\d+)$")
_RAVDESS = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")
_CREMAD = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{1,2})$")


def _audio_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)


def _require_dir(root: str | os.PathLike, what: str) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder; pass the {what}")
    return root


def _parse_all(files: list[Path], parse, root: Path, layout: str) -> pd.DataFrame:
    rows, bad = [], []
    for file in files:
        try:
            rows.append({"path": str(file), **parse(file.name)})
        except ValueError:
            bad.append(file.name)
    if bad:
        raise DatasetError(
            f"{root}: {len(bad)} file name(s) do not follow the {layout} naming scheme, e.g. "
            f"{bad[:5]}; move them out of the folder"
        )
    if not rows:
        raise DatasetError(f"{root}: no audio files found for the {layout} layout")
    return pd.DataFrame(rows)


# -- FSDD -----------------------------------------------------------------------------------------
def parse_fsdd_name(name: str) -> dict:
    """``{digit}_{speaker}_{index}.wav`` -> label, group (speaker) and index."""
    match = _FSDD.match(Path(name).stem)
    if match is None:
        raise ValueError(f"{name!r} is not '{{digit}}_{{speaker}}_{{index}}.wav'")
    return {"label": match[1], "group": match[2], "index": int(match[3])}


def fsdd(root: str | os.PathLike) -> pd.DataFrame:
    """Free Spoken Digit Dataset: ``recordings/{digit}_{speaker}_{index}.wav`` (or the files
    directly in ``root``). ``split`` is the official one: indices 0-4 test, 5-49 train."""
    root = _require_dir(root, "FSDD folder (holding recordings/)")
    folder = root / "recordings" if (root / "recordings").is_dir() else root
    frame = _parse_all(_audio_files(folder), parse_fsdd_name, folder, "FSDD")
    frame["split"] = ["test" if i < 5 else "train" for i in frame["index"]]
    return frame


# -- Speech Commands v2 ---------------------------------------------------------------------------
def _read_list(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


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
    root = _require_dir(root, "Speech Commands folder (holding the word folders)")
    val = _read_list(root / "validation_list.txt")
    test = _read_list(root / "testing_list.txt")
    rows = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != BACKGROUND):
        for file in _audio_files(folder):
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
        for file in _audio_files(noise):
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


# -- GTZAN ----------------------------------------------------------------------------------------
def gtzan(root: str | os.PathLike) -> pd.DataFrame:
    """GTZAN genres: ``genres_original/<genre>/<genre>.000NN.wav`` (``root`` may be the dataset
    folder, ``genres_original`` or ``genres``). ``group`` is the clip itself (GTZAN has no artist
    metadata); split it with :func:`audioconv.data.splits.assign_splits`."""
    root = _require_dir(root, "GTZAN folder (holding genres_original/)")
    for name in ("genres_original", "genres", "Data/genres_original"):
        if (root / name).is_dir():
            root = root / name
            break
    rows = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        files = _audio_files(folder)
        if not files:
            raise DatasetError(f"{folder}: genre folder is empty; restore its clips")
        rows += [{"path": str(f), "label": folder.name, "group": f.stem} for f in files]
    if not rows:
        raise DatasetError(f"{root}: no genre folders found; expected <genre>/<genre>.00000.wav")
    return pd.DataFrame(rows)


# -- ESC-50 ---------------------------------------------------------------------------------------
def esc50(root: str | os.PathLike, *, esc10: bool = False) -> pd.DataFrame:
    """ESC-50: ``meta/esc50.csv`` (filename, fold, target, category, esc10, src_file, take) and
    ``audio/``. Labels are categories, ``fold`` the dataset's 5 folds, ``group`` the source
    recording (``src_file``). ``esc10=True`` keeps the ESC-10 subset. The class order follows
    ``target``: ``frame.attrs["class_names"]``."""
    root = _require_dir(root, "ESC-50 folder (holding meta/ and audio/)")
    meta = root / "meta" / "esc50.csv"
    if not meta.is_file():
        raise DatasetError(f"{meta}: missing; the ESC-50 layout keeps its labels there")
    table = pd.read_csv(meta)
    needed = {"filename", "fold", "target", "category", "esc10", "src_file"}
    if not needed <= set(table.columns):
        raise DatasetError(f"{meta}: columns {sorted(needed - set(table.columns))} are missing")
    if esc10:
        table = table[table["esc10"].astype(str).str.lower() == "true"]
    frame = pd.DataFrame(
        {
            "path": [str(root / "audio" / name) for name in table["filename"]],
            "label": table["category"].to_numpy(),
            "group": table["src_file"].astype(str).to_numpy(),
            "fold": table["fold"].astype(int).to_numpy(),
        }
    )
    order = table.drop_duplicates("target").sort_values("target")
    frame.attrs["class_names"] = list(order["category"])
    return frame


# -- RAVDESS --------------------------------------------------------------------------------------
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


def ravdess(root: str | os.PathLike) -> pd.DataFrame:
    """RAVDESS audio (``Actor_XX/03-01-05-01-02-01-12.wav``): 8 emotions, group = actor.
    Class order: ``RAVDESS_EMOTIONS`` (``frame.attrs["class_names"]``)."""
    root = _require_dir(root, "RAVDESS folder (holding Actor_XX/)")
    frame = _parse_all(_audio_files(root), parse_ravdess_name, root, "RAVDESS")
    frame.attrs["class_names"] = list(RAVDESS_EMOTIONS)
    return frame


# -- CREMA-D --------------------------------------------------------------------------------------
def parse_cremad_name(name: str) -> dict:
    """``ActorID_Sentence_Emotion_Level.wav``, e.g. ``1001_DFA_ANG_XX.wav``; group = actor."""
    match = _CREMAD.match(Path(name).stem)
    if match is None or match[3] not in CREMAD_CODES:
        raise ValueError(f"{name!r} is not a CREMA-D file name")
    return {
        "label": CREMAD_CODES[match[3]],
        "group": match[1],
        "sentence": match[2],
        "level": match[4],
    }


def cremad(root: str | os.PathLike) -> pd.DataFrame:
    """CREMA-D (``AudioWAV/1001_DFA_ANG_XX.wav``): 6 emotions, group = actor.
    Class order: ``CREMAD_EMOTIONS`` (``frame.attrs["class_names"]``)."""
    root = _require_dir(root, "CREMA-D folder (AudioWAV/ or the clips)")
    folder = root / "AudioWAV" if (root / "AudioWAV").is_dir() else root
    frame = _parse_all(_audio_files(folder), parse_cremad_name, folder, "CREMA-D")
    frame.attrs["class_names"] = list(CREMAD_EMOTIONS)
    return frame


# -- multi-label tags -----------------------------------------------------------------------------
def tags_from_columns(frame: pd.DataFrame, tag_columns: Sequence[str]) -> pd.DataFrame:
    """One 0/1 column per tag -> a ``tags`` list column (the tag columns are dropped)."""
    missing = [c for c in tag_columns if c not in frame.columns]
    if missing:
        raise DatasetError(
            f"tag columns {missing} are not in the table (columns: {list(frame.columns)})"
        )
    values = frame[list(tag_columns)]
    if not values.isin([0, 1, True, False]).all().all():
        raise DatasetError(f"tag columns {list(tag_columns)} must hold only 0/1 values")
    out = frame.drop(columns=list(tag_columns))
    out["tags"] = [[t for t in tag_columns if row[t]] for _, row in values.iterrows()]
    return out


def tags_csv(
    csv: str | os.PathLike,
    *,
    tag_columns: Sequence[str] | None = None,
    sep: str = ";",
) -> pd.DataFrame:
    """Multi-label tag CSV (e.g. music emotion tags): columns ``path`` and ``tags`` joined by
    ``sep`` (``"happy;energetic"``), or one 0/1 column per tag named in ``tag_columns``. Relative
    paths resolve from the CSV's folder; ``frame.attrs["class_names"]`` holds the tag order."""
    csv = Path(csv)
    if not csv.is_file():
        raise DatasetError(f"{csv}: no such tag CSV")
    frame = pd.read_csv(csv)
    if "path" not in frame.columns:
        raise DatasetError(f"{csv}: no 'path' column (columns: {list(frame.columns)})")
    if tag_columns is not None:
        frame = tags_from_columns(frame, tag_columns)
        names = list(tag_columns)
    elif "tags" in frame.columns:
        from audioconv.data.audio import split_tags

        frame["tags"] = [split_tags(v, sep) for v in frame["tags"]]
        names = sorted({t for tags in frame["tags"] for t in tags})
    else:
        raise DatasetError(
            f"{csv}: no 'tags' column; pass tag_columns=[...] for one column per tag"
        )
    frame["path"] = [p if Path(p).is_absolute() else str(csv.parent / p) for p in frame["path"]]
    frame.attrs["class_names"] = names
    return frame
