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

import numpy as np
import pandas as pd

from audioconv.constants import AUDIO_EXTENSIONS
from audioconv.data.manifest import (
    check_text_file,
    read_manifest,
    read_table,
    split_tags,
    tags_from_columns,
)
from audioconv.errors import ConfigError, DatasetError
from audioconv.io import audio_info

__all__ = [
    "CREMAD_EMOTIONS",
    "EMODB_EMOTIONS",
    "TESS_EMOTIONS",
    "URBANSOUND8K_CLASSES",
    "check_text_file",
    "class_folders",
    "emodb",
    "mtg_jamendo",
    "parse_emodb_name",
    "parse_tess_name",
    "parse_urbansound8k_name",
    "read_manifest",
    "tess",
    "urbansound8k",
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
    below = [p for p in root.iterdir() if p.is_dir() and (p / "testing_list.txt").is_file()]
    if not (root / "testing_list.txt").is_file() and below:
        raise DatasetError(f"{root}: the dataset is in {below[0]}: pass --data-dir {below[0]}")
    lists = [root / "validation_list.txt", root / "testing_list.txt"]
    missing = [p.name for p in lists if not p.is_file()]
    if missing:
        raise DatasetError(
            f"{root}: {' and '.join(missing)} missing; the official split needs "
            "validation_list.txt and testing_list.txt (they ship in the dataset archive): "
            "restore them"
        )
    val, test = (_read_list(p) for p in lists)
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
    """GTZAN genres: ``genres_original/<genre>/<genre>.000NN.wav`` (the Kaggle copy) or the
    original ``genres/<genre>/<genre>.000NN.au`` (``root`` may be the dataset folder,
    ``genres_original`` or ``genres``). ``group`` is the clip itself (GTZAN has no artist
    metadata); split it with :func:`audioconv.data.splits.assign_splits`."""
    root = _require_dir(root, "GTZAN folder (holding genres_original/)")
    for name in ("genres_original", "genres", "Data/genres_original"):
        if (root / name).is_dir():
            root = root / name
            break
    frame = class_folders(root)  # one folder per genre; a root one level too high is named
    frame["group"] = [Path(p).stem for p in frame["path"]]
    return frame


# -- ESC-50 ---------------------------------------------------------------------------------------
def esc50(root: str | os.PathLike, *, esc10: bool = False) -> pd.DataFrame:
    """ESC-50: ``meta/esc50.csv`` (filename, fold, target, category, esc10, src_file, take) and
    ``audio/``. Labels are categories, ``fold`` the dataset's 5 folds, ``group`` the source
    recording (``src_file``). ``esc10=True`` keeps the ESC-10 subset. The class order follows
    ``target``: ``frame.attrs["class_names"]``."""
    root = _require_dir(root, "ESC-50 folder (holding meta/ and audio/)")
    root = _locate(root, "meta/esc50.csv", "ESC-50 folder (holding meta/ and audio/)")
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
    check_text_file(csv)
    frame = pd.read_csv(csv)
    if frame.empty:
        raise DatasetError(f"{csv}: a header but no rows; add one row per clip")
    if "path" not in frame.columns:
        raise DatasetError(f"{csv}: no 'path' column (columns: {list(frame.columns)})")
    if tag_columns is not None:
        frame = tags_from_columns(frame, tag_columns)
        names = list(tag_columns)
    elif "tags" in frame.columns:
        frame["tags"] = [split_tags(v, sep) for v in frame["tags"]]
        names = sorted({t for tags in frame["tags"] for t in tags})
    else:
        raise DatasetError(
            f"{csv}: no 'tags' column; pass tag_columns=[...] for one column per tag"
        )
    frame["path"] = [p if Path(p).is_absolute() else str(csv.parent / p) for p in frame["path"]]
    frame.attrs["class_names"] = names
    return frame


# -- checks shared by the layouts -----------------------------------------------------------------
def _locate(root: Path, marker: str, what: str) -> Path:
    """``root`` if it holds ``marker``; a folder one level down holding it is named in the error
    (the usual mistake: passing the folder the dataset was unpacked into)."""
    if (root / marker).exists():
        return root
    below = sorted(p for p in root.iterdir() if p.is_dir() and (p / marker).exists())
    hint = f"; it is in {below[0]}: pass --data-dir {below[0]}" if below else ""
    raise DatasetError(f"{root}: no {marker}, so this is not the {what}{hint}")


# -- your own data: a CSV / TSV manifest -----------------------------------------------------------
# -- UrbanSound8K ---------------------------------------------------------------------------------
URBANSOUND8K_CLASSES = (
    "air_conditioner", "car_horn", "children_playing", "dog_bark", "drilling", "engine_idling",
    "gun_shot", "jackhammer", "siren", "street_music",
)  # fmt: skip
_URBANSOUND = re.compile(r"^(\d+)-(\d+)-(\d+)-(\d+)$")


def parse_urbansound8k_name(name: str) -> dict:
    """``{fsID}-{classID}-{occurrenceID}-{sliceID}.wav`` -> label and group (the Freesound
    recording ``fsID``: its slices stay in one fold).

    >>> parse_urbansound8k_name("100032-3-0-0.wav")
    {'label': 'dog_bark', 'group': '100032'}
    """
    match = _URBANSOUND.match(Path(name).stem)
    if match is None or int(match[2]) >= len(URBANSOUND8K_CLASSES):
        raise ValueError(f"{name!r} is not '{{fsID}}-{{classID}}-{{occurrenceID}}-{{sliceID}}.wav'")
    return {"label": URBANSOUND8K_CLASSES[int(match[2])], "group": match[1]}


def urbansound8k(root: str | os.PathLike) -> pd.DataFrame:
    """UrbanSound8K: ``audio/fold1..10/{fsID}-{classID}-{occurrenceID}-{sliceID}.wav`` and
    ``metadata/UrbanSound8K.csv``. Labels and folds come from the CSV when present, else from the
    file names and fold folders. ``group`` is the recording (``fsID``), ``fold`` the dataset's 10
    folds (its protocol: 10-fold cross-validation on them, never re-shuffled)."""
    root = _require_dir(root, "UrbanSound8K folder (holding audio/fold1 ... audio/fold10)")
    root = _locate(root, "audio", "UrbanSound8K folder (holding audio/fold1 ... audio/fold10)")
    meta = root / "metadata" / "UrbanSound8K.csv"
    if meta.is_file():
        table = read_table(meta)
        needed = {"slice_file_name", "fsID", "fold", "classID", "class"}
        if not needed <= set(table.columns):
            raise DatasetError(f"{meta}: columns {sorted(needed - set(table.columns))} are missing")
        frame = pd.DataFrame(
            {
                "path": [
                    str(root / "audio" / f"fold{fold}" / name)
                    for fold, name in zip(table["fold"], table["slice_file_name"])
                ],
                "label": table["class"].to_numpy(),
                "group": table["fsID"].to_numpy(),
                "fold": table["fold"].astype(int).to_numpy(),
            }
        )
        names = table.drop_duplicates("classID").sort_values("classID", key=lambda c: c.astype(int))
        frame.attrs["class_names"] = list(names["class"])
        return frame
    folders = sorted((p for p in (root / "audio").glob("fold*") if p.is_dir()), key=str)
    parts = []
    for folder in folders:
        if not folder.name[4:].isdigit():
            continue
        part = _parse_all(_audio_files(folder), parse_urbansound8k_name, folder, "UrbanSound8K")
        part["fold"] = int(folder.name[4:])
        parts.append(part)
    if not parts:
        raise DatasetError(f"{root / 'audio'}: no fold1 ... fold10 folders with audio")
    frame = pd.concat(parts, ignore_index=True)
    frame.attrs["class_names"] = [c for c in URBANSOUND8K_CLASSES if c in set(frame["label"])]
    return frame


# -- EmoDB ----------------------------------------------------------------------------------------
EMODB_CODES = {
    "W": "anger", "L": "boredom", "E": "disgust", "A": "fear", "F": "happiness", "T": "sadness",
    "N": "neutral",
}  # fmt: skip
EMODB_EMOTIONS = tuple(EMODB_CODES.values())
_EMODB = re.compile(r"^(\d\d)([a-z]\d\d)([WLEAFTN])([a-z])$")


def parse_emodb_name(name: str) -> dict:
    """Berlin EmoDB ``03a01Fa.wav``: speaker = characters 1-2, text = 3-5, emotion = 6 (German
    initial: W anger, L boredom, E disgust, A fear, F happiness, T sadness, N neutral), version 7.

    >>> parse_emodb_name("03a01Fa.wav")
    {'label': 'happiness', 'group': 'speaker03', 'text': 'a01'}
    """
    match = _EMODB.match(Path(name).stem)
    if match is None:
        raise ValueError(f"{name!r} is not an EmoDB file name like 03a01Fa.wav")
    return {"label": EMODB_CODES[match[3]], "group": f"speaker{match[1]}", "text": match[2]}


def emodb(root: str | os.PathLike) -> pd.DataFrame:
    """Berlin EmoDB: ``wav/03a01Fa.wav`` (or the clips in ``root``): 10 speakers, 7 emotions,
    group = speaker (its protocol is speaker-independent). Class order: ``EMODB_EMOTIONS``."""
    root = _require_dir(root, "EmoDB folder (holding wav/)")
    folder = root / "wav" if (root / "wav").is_dir() else root
    frame = _parse_all(_audio_files(folder), parse_emodb_name, folder, "EmoDB")
    frame.attrs["class_names"] = list(EMODB_EMOTIONS)
    return frame


# -- TESS -----------------------------------------------------------------------------------------
TESS_EMOTIONS = ("angry", "disgust", "fear", "happy", "neutral", "pleasant_surprise", "sad")
_TESS = re.compile(r"^(OAF|YAF)_([A-Za-z]+)_([A-Za-z]+)$", re.IGNORECASE)


def parse_tess_name(name: str) -> dict:
    """TESS ``OAF_back_angry.wav``: speaker (OAF older / YAF younger talker), word, emotion
    (``ps`` is pleasant surprise).

    >>> parse_tess_name("YAF_bean_ps.wav")
    {'label': 'pleasant_surprise', 'speaker': 'YAF', 'group': 'bean'}
    """
    match = _TESS.match(Path(name).stem)
    emotion = None if match is None else match[3].lower()
    emotion = "pleasant_surprise" if emotion in ("ps", "pleasant") else emotion
    if emotion not in TESS_EMOTIONS:
        raise ValueError(f"{name!r} is not a TESS file name like OAF_back_angry.wav")
    return {"label": emotion, "speaker": match[1].upper(), "group": match[2].lower()}


def tess(root: str | os.PathLike, *, test_speaker: str = "YAF") -> pd.DataFrame:
    """Toronto emotional speech set: ``OAF_angry/OAF_back_angry.wav``, ``YAF_sad/...``: two
    talkers, 7 emotions, 200 words each. The only speaker-independent protocol with two talkers:
    ``test_speaker``'s clips are test, the other's train; ``group`` is the word, so validation
    carved from training holds words never trained on."""
    root = _require_dir(root, "TESS folder (holding OAF_angry/, YAF_sad/, ...)")
    frame = _parse_all(_audio_files(root), parse_tess_name, root, "TESS")
    if test_speaker.upper() not in ("OAF", "YAF"):
        raise ConfigError(f"test_speaker={test_speaker!r}: TESS speakers are 'OAF' and 'YAF'")
    frame = frame.drop_duplicates("path")
    frame["split"] = np.where(frame["speaker"] == test_speaker.upper(), "test", "train")
    frame.attrs["class_names"] = [c for c in TESS_EMOTIONS if c in set(frame["label"])]
    return frame


# -- MTG-Jamendo ----------------------------------------------------------------------------------
def _jamendo_tsv(path: Path) -> pd.DataFrame:
    """One autotagging TSV: TRACK_ID, ARTIST_ID, ALBUM_ID, PATH, DURATION, then one tag per
    tab-separated field (``mood/theme---happy``)."""
    check_text_file(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    if header[:4] != ["TRACK_ID", "ARTIST_ID", "ALBUM_ID", "PATH"]:
        raise DatasetError(
            f"{path}: header {header[:6]} is not MTG-Jamendo's "
            "TRACK_ID, ARTIST_ID, ALBUM_ID, PATH, DURATION, TAGS"
        )
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 6:
            raise DatasetError(f"{path}: line {number} has no tags: {line!r}")
        rows.append(
            {"track": fields[0], "group": fields[1], "relpath": fields[3], "tags": fields[5:]}
        )
    return pd.DataFrame(rows)


def mtg_jamendo(
    root: str | os.PathLike,
    *,
    subset: str = "moodtheme",
    split_index: int = 0,
    audio_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """MTG-Jamendo autotagging: ``autotagging_<subset>.tsv`` (``subset`` ``"moodtheme"``,
    ``"genre"``, ``"instrument"``, ``"top50tags"``, or ``""`` for ``autotagging.tsv``), clips
    under ``audio_dir`` (default: ``audio/``, ``root`` or ``data/audio/``) at the TSV's
    ``PATH``. Multi-label ``tags`` without their ``mood/theme---`` prefix when the subset has one
    category; ``group`` = artist. With
    ``splits/split-<split_index>/autotagging_<subset>-{train,validation,test}.tsv`` (as the
    repository ships them) the official split is the ``split`` column."""
    root = _require_dir(root, "MTG-Jamendo folder (holding autotagging_<subset>.tsv)")
    stem = f"autotagging_{subset}" if subset else "autotagging"
    for where in (root, root / "data"):
        if (where / f"{stem}.tsv").is_file():
            break
    else:
        raise DatasetError(
            f"{root}: no {stem}.tsv (nor data/{stem}.tsv); pass the repository folder"
        )
    frame = _jamendo_tsv(where / f"{stem}.tsv")
    bases = [Path(audio_dir)] if audio_dir is not None else [root / "audio", root, where / "audio"]
    base = next((b for b in bases if (b / frame["relpath"].iloc[0]).is_file()), None)
    if base is None:
        raise DatasetError(
            f"{frame['relpath'].iloc[0]} (first row of {stem}.tsv) is in none of "
            f"{[str(b) for b in bases]}; put the audio there or pass its folder (--audio-dir)"
        )
    frame["path"] = [str(base / p) for p in frame["relpath"]]
    categories = {tag.split("---")[0] for tags in frame["tags"] for tag in tags}
    if len(categories) == 1:
        frame["tags"] = [[tag.split("---", 1)[-1] for tag in tags] for tags in frame["tags"]]
    split_dir = where / "splits" / f"split-{split_index}"
    if split_dir.is_dir():
        split = {}
        for part, name in (("train", "train"), ("validation", "val"), ("test", "test")):
            part_file = split_dir / f"{stem}-{part}.tsv"
            if not part_file.is_file():
                raise DatasetError(f"{part_file}: missing; the split needs train/validation/test")
            split.update(dict.fromkeys(_jamendo_tsv(part_file)["track"], name))
        unlisted = sorted(set(frame["track"]) - set(split))
        if unlisted:
            raise DatasetError(
                f"{split_dir}: {len(unlisted)} track(s) of {stem}.tsv are in no split file, "
                f"e.g. {unlisted[:5]}"
            )
        frame["split"] = frame["track"].map(split)
    frame.attrs["class_names"] = sorted({tag for tags in frame["tags"] for tag in tags})
    return frame.drop(columns=["relpath"])


# -- your own data: one folder per class ----------------------------------------------------------
def class_folders(root: str | os.PathLike) -> pd.DataFrame:
    """``root/<class>/<clip>`` (clips found recursively in each class folder; folders starting
    with ``_`` or ``.`` are ignored) -> ``path``, ``label``.

    Raises:
        DatasetError: no class folder, an empty one, a single class, or a ``root`` one level too
            high (its only folder holds the class folders): the message says which folder to pass.
    """
    root = _require_dir(root, "folder holding one sub-folder of clips per class")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and p.name[0] not in "._")
    loose = [p.name for p in root.iterdir() if p.suffix.lower() in AUDIO_EXTENSIONS]
    nested = len(folders) == 1 and any(p.is_dir() and _audio_files(p) for p in folders[0].iterdir())
    if nested and not any(p.suffix.lower() in AUDIO_EXTENSIONS for p in folders[0].iterdir()):
        raise DatasetError(
            f"{root}: its only folder {folders[0].name!r} holds the class folders; "
            f"pass --data-dir {folders[0]}"
        )
    if not folders:
        hint = f" ({len(loose)} clips lie loose in it: move each into its class folder)"
        raise DatasetError(
            f"{root}: no class folders; expected {root}/<class>/<clip>.wav"
            + (hint if loose else "")
        )
    rows = []
    for folder in folders:
        files = _audio_files(folder)
        if not files:
            raise DatasetError(
                f"{folder}: class folder holds no audio ({', '.join(AUDIO_EXTENSIONS)}); add "
                "clips or remove the folder"
            )
        rows += [{"path": str(f), "label": folder.name} for f in files]
    if len(folders) < 2:
        raise DatasetError(
            f"{root}: only one class folder ({folders[0].name}); a classifier needs two or more"
        )
    return pd.DataFrame(rows)
