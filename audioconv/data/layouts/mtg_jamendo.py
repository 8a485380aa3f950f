"""MTG-Jamendo autotagging: ``autotagging_<subset>.tsv``, its clips and official splits."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from audioconv.data.layouts.common import example_clip, holds, nearby, require_dir
from audioconv.data.layouts.registry import register_layout
from audioconv.data.manifest import check_text_file
from audioconv.errors import DatasetError


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


def _named(relpath: str, low: bool) -> str:
    """The file of a TSV ``PATH`` (``48/948.mp3``) in the full download, or in the low-quality one
    (``download.py --type audio-low``: ``48/948.low.mp3``)."""
    return relpath.removesuffix(".mp3") + ".low.mp3" if low else relpath


def _example(folder: Path) -> Path:
    lines = ["TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS"]
    for k, tags in enumerate(("happy", "sad\tcalm", "happy\tcalm")):
        relpath = f"0{k}/{k}.wav"
        example_clip(folder / "audio" / relpath)
        tagged = "\t".join(f"mood/theme---{tag}" for tag in tags.split("\t"))
        lines.append(f"track_{k}\tartist_{k}\talbum_{k}\t{relpath}\t0.1\t{tagged}")
    (folder / "autotagging_moodtheme.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@register_layout(
    "mtg_jamendo",
    description="MTG-Jamendo: autotagging_<subset>.tsv, audio/ and splits/, multi-label tags",
    example=_example,
)
def mtg_jamendo(
    root: str | os.PathLike,
    *,
    subset: str = "moodtheme",
    split_index: int = 0,
    audio_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """MTG-Jamendo autotagging: ``autotagging_<subset>.tsv`` (``subset`` ``"moodtheme"``,
    ``"genre"``, ``"instrument"``, ``"top50tags"``, or ``""`` for ``autotagging.tsv``), clips
    under ``audio_dir`` (default: ``audio/``, ``root`` or ``data/audio/``) at the TSV's ``PATH``
    (``48/948.mp3``; or ``48/948.low.mp3``, the low-quality download). Multi-label ``tags``
    without their ``mood/theme---`` prefix when the subset has one category; ``group`` = artist.
    With ``splits/split-<split_index>/autotagging_<subset>-{train,validation,test}.tsv`` (as the
    repository ships them) the official split is the ``split`` column."""
    root = require_dir(root, "MTG-Jamendo folder (holding autotagging_<subset>.tsv)")
    stem = f"autotagging_{subset}" if subset else "autotagging"
    for where in (root, root / "data"):
        if (where / f"{stem}.tsv").is_file():
            break
    else:
        found = nearby(root, lambda p: holds(p, f"{stem}.tsv") or holds(p, f"data/{stem}.tsv"))
        hint = f": pass --data-dir {found}" if found else "; pass the repository folder"
        raise DatasetError(f"{root}: no {stem}.tsv (nor data/{stem}.tsv){hint}")
    frame = _jamendo_tsv(where / f"{stem}.tsv")
    bases = [Path(audio_dir)] if audio_dir is not None else [root / "audio", root, where / "audio"]
    first = frame["relpath"].iloc[0]
    places = [
        (b, low) for b in bases for low in (False, True) if (b / _named(first, low)).is_file()
    ]
    if not places:
        raise DatasetError(
            f"{first} (first row of {stem}.tsv; or {_named(first, True)}, the low-quality "
            f"download) is in none of {[str(b) for b in bases]}; put the audio there or pass its "
            "folder (--audio-dir)"
        )
    base, low = places[0]
    frame["path"] = [str(base / _named(p, low)) for p in frame["relpath"]]
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
