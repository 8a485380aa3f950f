"""Datasets as they ship and your own data, the way a user runs them: tiny copies of each layout
on disk -> the recipe with ``--smoke`` -> the run folder, whose ``splits.csv`` must follow the
dataset's protocol (no speaker / recording / fold in two splits). Bad files and bad manifests stop
the run before training with one error naming every culprit, or are skipped and listed."""

from __future__ import annotations

import io
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from audioconv.data import scan as scan_module
from audioconv.data.layouts import (
    class_folders,
    cremad,
    emodb,
    esc50,
    gtzan,
    mtg_jamendo,
    read_manifest,
    speech_commands,
    tess,
    urbansound8k,
)
from audioconv.errors import ConfigError, DatasetError
from audioconv.runner import load_recipe, parse_recipe, run

pytestmark = pytest.mark.xdist_group("recipes")

RATE = 8000
TINY = [
    "--model", "spectrogram_cnn", "--model_kwargs", '{"channels": [4, 8]}', "--sample_rate",
    str(RATE), "--clip_seconds", "0.25", "--n_fft", "256", "--hop_length", "80", "--n_mels", "16",
    "--time_mask", "2", "--freq_mask", "2", "--batch_size", "8", "--baseline", "false",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _scan_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOCONV_CACHE", str(tmp_path / "cache"))


def tone(path, frequency: float, seconds: float = 0.3, rate: int = RATE, seed: int = 0) -> None:
    """A noisy sine clip (the suffix picks the format: .wav, .au, .mp3, ...)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.5 * np.sin(2 * math.pi * frequency * t) + 0.05 * rng.standard_normal(len(t))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wave.astype(np.float32), rate)


def smoke(name: str, argv: list[str]) -> tuple[list, str]:
    """Run recipe ``name`` with ``--smoke``; return the results and what it printed."""
    recipe = parse_recipe(load_recipe(name), [*argv, *TINY, "--smoke"])
    out = io.StringIO()
    results = run(recipe, progress=False, out=out)
    return results, out.getvalue()


def splits_of(folder) -> pd.DataFrame:
    table = pd.read_csv(folder / "splits.csv", dtype={"group": str})
    assert set(table["split"]) <= {"train", "val", "test"}
    return table


def assert_groups_apart(table: pd.DataFrame) -> None:
    """No group (speaker / recording) appears in two splits."""
    spans = table.groupby("group")["split"].nunique()
    assert spans.max() == 1, f"groups in two splits: {spans[spans > 1].index.tolist()}"


# --------------------------------------------------------------------------------------------
# Your own data
# --------------------------------------------------------------------------------------------


def test_class_folder_tree_group_regex_and_summary(tmp_path):
    data = tmp_path / "clips"
    for c, label in enumerate(["cat", "dog"]):
        for speaker in ["anna", "ben", "cleo", "dan", "eve"]:
            for k in range(2):
                tone(data / label / f"{speaker}_{k}.wav", 300 + 500 * c, seed=k)
    out = tmp_path / "run"
    _, printed = smoke(
        "audio_folder",
        ["--data-dir", str(data), "--output-dir", str(out), "--group-regex", "/([a-z]+)_"],
    )
    table = splits_of(out)
    assert len(table) == 20 and set(table["label"]) == {"cat", "dog"}
    assert_groups_apart(table)
    assert set(table["split"]) == {"train", "val", "test"}
    # the summary before training: clips / seconds / groups per split and class, model, folder
    before = printed.split("== before training")[1]
    rows = {line.split()[0]: line.split()[1:] for line in before.splitlines()[4:7]}
    assert list(rows) == ["cat", "dog", "all"]  # clips, seconds, groups of train, val, test
    expected = []
    for split in ("train", "val", "test"):
        part = table[table["split"] == split]
        expected += [str(len(part)), f"{0.3 * len(part):.1f}", str(part["group"].nunique())]
    assert rows["all"] == expected
    assert "parameters, input (1, 2000)" in before
    assert f"run folder: {out.resolve()}" in before


def test_a_folder_copied_from_a_mac_trains_on_its_clips_alone(tmp_path):
    """A class-folder tree as macOS leaves it on a shared drive or in a tar: an AppleDouble
    ``._clip.wav`` beside every clip, ``.DS_Store``, ``__MACOSX/``, a notebook's
    ``.ipynb_checkpoints``. None of it is data, so the default ``--on-error raise`` trains on the
    clips alone instead of stopping on 20 "unreadable" files; the same tree through ``audioconv
    predict`` classifies the clips alone."""
    data = tmp_path / "clips"
    for c, label in enumerate(["cat", "dog"]):
        for speaker in ["anna", "ben", "cleo", "dan", "eve"]:
            for k in range(2):
                tone(data / label / f"{speaker}_{k}.wav", 300 + 500 * c, seed=k)
                (data / label / f"._{speaker}_{k}.wav").write_bytes(b"\x00\x05\x16\x07Mac OS X")
        (data / label / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
        tone(data / label / ".ipynb_checkpoints" / "copy.wav", 1000)  # a stray copy, not data
    (data / "__MACOSX" / "cat").mkdir(parents=True)
    (data / "__MACOSX" / "cat" / "._anna_0.wav").write_bytes(b"\x00\x05\x16\x07")
    assert [p.name for p in class_folders(data)["path"].map(Path)].count("anna_0.wav") == 2
    out = tmp_path / "run"
    smoke("audio_folder", ["--data-dir", str(data), "--output-dir", str(out)])
    table = splits_of(out)
    assert len(table) == 20 and set(table["label"]) == {"cat", "dog"}
    assert not any(part.startswith((".", "__")) for p in table["path"] for part in Path(p).parts)

    from audioconv.cli import main

    predictions = tmp_path / "predictions.csv"
    argv = ["predict", "--quiet", "--checkpoint", str(out / "checkpoints" / "best.ckpt")]
    assert main([*argv, str(data), "--output", str(predictions)]) == 0
    assert len(pd.read_csv(predictions)) == 20


@pytest.mark.parametrize("held_out", [True, False])
def test_baseline_without_validation_cross_validates_by_speaker_when_test_speakers_are_new(
    tmp_path, held_out
):
    """--val-size 0: the baseline chooses C by cross-validation on train. When the test speakers
    are new (a group-aware split), its folds keep each speaker in one fold too; when the test
    speakers were heard in training (a manifest's own split), the folds mix them the same way."""
    data = tmp_path / "clips"
    rows = []
    for c, label in enumerate(["cat", "dog"]):
        for speaker in ["anna", "ben", "cleo", "dan", "eve", "finn", "gus", "hal"]:
            for k in range(2):
                tone(data / label / f"{speaker}_{k}.wav", 300 + 500 * c, seed=k)
                heard = k == 0  # the manifest's split: each speaker's first clips are test clips
                rows.append({"path": f"{label}/{speaker}_{k}.wav", "label": label,
                             "group": speaker, "split": "test" if heard else "train"})  # fmt: skip
    out = tmp_path / "run"
    split = ["--group-regex", "/([a-z]+)_", "--test-size", "0.25"]
    if not held_out:
        pd.DataFrame(rows).to_csv(data / "labels.csv", index=False)
        split = ["--manifest-file", "labels.csv"]
    argv = ["--data-dir", str(data), "--output-dir", str(out), *split, "--val-size", "0",
            "--monitor", "train/loss", *TINY, "--baseline", "true", "--smoke"]  # fmt: skip
    run(parse_recipe(load_recipe("audio_folder"), argv), progress=False, out=io.StringIO())
    table = splits_of(out)
    assert set(table["split"]) == {"train", "test"}
    train, test = (set(table.loc[table["split"] == s, "group"]) for s in ("train", "test"))
    assert bool(train & test) is not held_out
    selection = json.loads((out / "report.json").read_text())["baseline"]["selection"]
    by_speaker = "3-fold cross-validation on train, each group in one fold"
    assert selection == (by_speaker if held_out else "3-fold cross-validation on train")


def test_csv_manifest_keeps_its_split_and_groups(tmp_path):
    data = tmp_path / "mine"
    rows = []
    for k in range(18):
        label = ["low", "high"][k % 2]
        tone(data / "wav" / f"c{k}.flac", 300 if label == "low" else 1500, seed=k)
        split = "test" if k < 4 else "val" if k < 8 else "train"
        rows.append({"path": f"wav/c{k}.flac", "label": label, "group": f"g{k}", "split": split})
    pd.DataFrame(rows).to_csv(data / "labels.tsv", sep="\t", index=False)
    out = tmp_path / "run"
    smoke("audio_folder", ["--data-dir", str(data), "--manifest-file", "labels.tsv",
                           "--output-dir", str(out)])  # fmt: skip
    table = splits_of(out)
    expected = {str((data / r["path"]).resolve()): r["split"] for r in rows}
    assert dict(zip(table["path"], table["split"])) == expected


def test_csv_manifest_multilabel_tags_and_folds(tmp_path):
    data = tmp_path / "tags"
    rows = []
    for k in range(12):
        tone(data / f"c{k}.wav", 200 + 150 * (k % 4), seed=k)
        rows.append({"path": f"c{k}.wav", "tags": ["a", "b;c", "a;c"][k % 3], "fold": k % 3 + 1})
    pd.DataFrame(rows).to_csv(data / "manifest.csv", index=False)
    out = tmp_path / "run"
    smoke("audio_folder", ["--data-dir", str(data), "--manifest-file", "manifest.csv",
                           "--output-dir", str(out), "--fold", "2"])  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    assert report["task"] == "multilabel" and report["class_names"] == ["a", "b", "c"]
    table = splits_of(out)
    folds = {str((data / r["path"]).resolve()): r["fold"] for r in rows}
    table["fold"] = table["path"].map(folds)
    assert set(table.loc[table["split"] == "test", "fold"]) == {2}
    assert set(table.loc[table["split"] != "test", "fold"]) == {1, 3}
    recipe = parse_recipe(load_recipe("audio_folder"), ["--data-dir", str(data), "--output-dir",
                          str(out), "--manifest-file", "manifest.csv"])  # fmt: skip
    assert [name for name, _ in recipe.variants()] == ["fold1", "fold2", "fold3"]


def test_split_file_pins_an_earlier_split(tmp_path):
    data = tmp_path / "clips"
    for c, label in enumerate(["a", "b"]):
        for k in range(8):
            tone(data / label / f"{k}.wav", 300 + 600 * c, seed=k)
    first, second = tmp_path / "run1", tmp_path / "run2"
    smoke("audio_folder", ["--data-dir", str(data), "--output-dir", str(first), "--seed", "1"])
    smoke("audio_folder", ["--data-dir", str(data), "--output-dir", str(second), "--seed", "7",
                           "--split-file", str(first / "splits.csv")])  # fmt: skip
    one, two = splits_of(first), splits_of(second)
    assert dict(zip(one["path"], one["split"])) == dict(zip(two["path"], two["split"]))


# --------------------------------------------------------------------------------------------
# Public layouts as they ship
# --------------------------------------------------------------------------------------------


def _urbansound(root, *, with_csv: bool) -> list[dict]:
    rows = []
    for fold in range(1, 11):
        for class_id in (1, 3):  # car_horn, dog_bark
            fs_id = 1000 * fold + class_id
            for slice_id in range(2):  # two slices of one recording share a fold
                name = f"{fs_id}-{class_id}-0-{slice_id}.wav"
                tone(root / "audio" / f"fold{fold}" / name, 300 + 300 * class_id, seed=slice_id)
                rows.append({"slice_file_name": name, "fsID": fs_id, "start": 0.0, "end": 0.3,
                             "salience": 1, "fold": fold, "classID": class_id,
                             "class": ["car_horn", "dog_bark"][class_id == 3]})  # fmt: skip
    if with_csv:
        (root / "metadata").mkdir(parents=True)
        pd.DataFrame(rows).to_csv(root / "metadata" / "UrbanSound8K.csv", index=False)
    return rows


@pytest.mark.slow
@pytest.mark.parametrize("with_csv", [True, False], ids=["csv", "file-names"])
def test_urbansound8k_fold_protocol(tmp_path, with_csv):
    root = tmp_path / "UrbanSound8K"
    _urbansound(root, with_csv=with_csv)
    frame = urbansound8k(root)
    assert len(frame) == 40 and sorted(frame["fold"].unique()) == list(range(1, 11))
    assert set(frame["label"]) == {"car_horn", "dog_bark"}
    out = tmp_path / "run"
    smoke("urban_sounds", ["--data-dir", str(root), "--output-dir", str(out), "--fold", "4"])
    table = splits_of(out)
    fold_of = dict(zip(frame["path"], frame["fold"]))
    table["fold"] = [fold_of[p] for p in table["path"]]
    assert set(table.loc[table["split"] == "test", "fold"]) == {4}
    assert set(table.loc[table["split"] != "test", "fold"]) == set(range(1, 11)) - {4}
    assert_groups_apart(table)  # slices of one recording never split
    recipe = parse_recipe(load_recipe("urban_sounds"),
                          ["--data-dir", str(root), "--output-dir", str(out)])  # fmt: skip
    assert [name for name, _ in recipe.variants()] == [f"fold{k}" for k in range(1, 11)]


@pytest.mark.slow
def test_esc50_trains_on_four_folds(tmp_path):
    root = tmp_path / "ESC-50-master"
    rows = []
    for fold in range(1, 6):
        for target, category in enumerate(["dog", "rain"]):
            for take in "AB":
                name = f"{fold}-{target}{take}-A-{target}.wav"
                tone(root / "audio" / name, 300 + 600 * target, seed=fold)
                rows.append({"filename": name, "fold": fold, "target": target,
                             "category": category, "esc10": True,
                             "src_file": f"{fold}{target}{take}", "take": "A"})  # fmt: skip
    (root / "meta").mkdir()
    pd.DataFrame(rows).to_csv(root / "meta" / "esc50.csv", index=False)
    out = tmp_path / "run"
    smoke("environmental_sounds", ["--data-dir", str(root), "--output-dir", str(out),
                                   "--fold", "2"])  # fmt: skip
    table = splits_of(out)
    fold_of = {str(root / "audio" / r["filename"]): r["fold"] for r in rows}
    table["fold"] = table["path"].map(fold_of)
    assert set(table.loc[table["split"] == "test", "fold"]) == {2}
    assert set(table.loc[table["split"] == "train", "fold"]) == {1, 3, 4, 5}  # four folds
    assert set(table.loc[table["split"] == "val", "fold"]) <= {1, 3, 4, 5}
    assert_groups_apart(table)
    with pytest.raises(DatasetError, match="pass --data-dir .*ESC-50-master"):
        esc50(tmp_path)  # one level too high


@pytest.mark.slow
def test_emodb_speaker_independent(tmp_path):
    root = tmp_path / "emodb"
    for speaker in ["03", "08", "09", "10", "11", "12"]:
        for code, frequency in (("W", 300), ("N", 1200)):
            for text in ("a01", "b02"):
                tone(root / "wav" / f"{speaker}{text}{code}a.wav", frequency, seed=int(speaker))
    frame = emodb(root)
    assert set(frame["label"]) == {"anger", "neutral"} and frame["group"].nunique() == 6
    out = tmp_path / "run"
    smoke("speech_emotion", ["--dataset", "emodb", "--data-dir", str(root), "--output-dir",
                             str(out)])  # fmt: skip
    table = splits_of(out)
    assert_groups_apart(table)
    assert set(table["split"]) == {"train", "val", "test"}


@pytest.mark.slow
def test_tess_one_talker_tests(tmp_path):
    root = tmp_path / "TESS Toronto emotional speech set data"
    for speaker in ("OAF", "YAF"):
        for emotion, folder, frequency in (
            ("angry", "angry", 300),
            ("ps", "pleasant_surprise", 900),
        ):
            for word in ("back", "bean", "cab", "dog", "fall"):
                path = root / f"{speaker}_{folder}" / f"{speaker}_{word}_{emotion}.wav"
                tone(path, frequency, seed=len(word))
    frame = tess(root)
    assert set(frame["label"]) == {"angry", "pleasant_surprise"}
    out = tmp_path / "run"
    smoke("speech_emotion", ["--dataset", "tess", "--data-dir", str(root), "--output-dir",
                             str(out)])  # fmt: skip
    table = splits_of(out)
    talker = table["path"].str.extract(r"/(OAF|YAF)_[a-z]+_[a-z]+\.wav$")[0]
    assert set(talker[table["split"] == "test"]) == {"YAF"}
    assert set(talker[table["split"] != "test"]) == {"OAF"}
    fit = table[table["split"] != "test"]
    assert fit.groupby("group")["split"].nunique().max() == 1  # val words never trained on


@pytest.mark.slow
def test_gtzan_original_au_files(tmp_path):
    root = tmp_path / "downloads" / "gtzan" / "genres"
    for g, genre in enumerate(["blues", "metal"]):
        for k in range(6):
            tone(root / genre / f"{genre}.{k:05d}.au", 200 + 600 * g, seed=k)
    with pytest.raises(DatasetError, match="pass --data-dir .*downloads/gtzan$"):
        gtzan(tmp_path / "downloads")  # one level too high
    out = tmp_path / "run"
    smoke("music_genre", ["--data-dir", str(root.parent), "--output-dir", str(out),
                          "--test_size", "0.3", "--val_size", "0.2"])  # fmt: skip
    table = splits_of(out)
    assert len(table) == 12 and table["path"].str.endswith(".au").all()


@pytest.mark.slow
def test_mtg_jamendo_autotagging_tsv(tmp_path):
    root = tmp_path / "mtg-jamendo-dataset"
    header = "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS"
    lines, parts = [header], {"train": [header], "validation": [header], "test": [header]}
    for k in range(12):
        rel = f"{k:02d}/{k}.mp3"
        tone(root / "audio" / rel, 300 + 200 * (k % 3), seed=k)
        tags = ["mood/theme---happy", "mood/theme---sad\tmood/theme---calm"][k % 2]
        line = f"track_{k:07d}\tartist_{k // 2:06d}\talbum_{k:06d}\t{rel}\t0.3\t{tags}"
        lines.append(line)
        parts["test" if k < 2 else "validation" if k < 4 else "train"].append(line)
    (root / "data" / "splits" / "split-0").mkdir(parents=True)
    (root / "data" / "autotagging_moodtheme.tsv").write_text("\n".join(lines) + "\n")
    for part, part_lines in parts.items():
        path = root / "data" / "splits" / "split-0" / f"autotagging_moodtheme-{part}.tsv"
        path.write_text("\n".join(part_lines) + "\n")
    (root / "audio").rename(root / "data" / "audio")
    frame = mtg_jamendo(root)
    assert frame.attrs["class_names"] == ["calm", "happy", "sad"]
    assert (
        frame["path"].tolist()
        == mtg_jamendo(root, audio_dir=root / "data" / "audio")["path"].tolist()
    )
    with pytest.raises(DatasetError, match=r"00/0.mp3 .* is in none of .*--audio-dir"):
        mtg_jamendo(root, audio_dir=tmp_path)
    out = tmp_path / "run"
    smoke("music_emotion", ["--dataset", "mtg_jamendo", "--data-dir", str(root), "--output-dir",
                            str(out)])  # fmt: skip
    table = splits_of(out)
    assert (table["split"] == "test").sum() == 2 and (table["split"] == "val").sum() == 2
    assert json.loads((out / "report.json").read_text())["task"] == "multilabel"


@pytest.mark.slow
def test_fsdd_official_split_keeps_every_speaker_in_training(tmp_path):
    data = tmp_path / "recordings"
    for speaker in ("jackson", "nicolas", "theo"):
        for digit in range(2):
            for index in range(12):
                tone(data / f"{digit}_{speaker}_{index}.wav", 300 + 700 * digit, seed=index)
    out = tmp_path / "run"
    smoke("spoken_digits", ["--data-dir", str(data), "--output-dir", str(out),
                            "--split", "official", "--speed_factors", "null"])  # fmt: skip
    table = splits_of(out)
    index = table["path"].str.extract(r"_(\d+)\.wav$")[0].astype(int)
    assert set(index[table["split"] == "test"]) == set(range(5))
    assert set(table.loc[table["split"] == "train", "group"]) == {"jackson", "nicolas", "theo"}
    assert (table["split"] == "val").sum() > 0


def test_speech_commands_without_list_files_fails_before_training(tmp_path):
    root = tmp_path / "speech_commands_v0.02"
    tone(root / "yes" / "a1_nohash_0.wav", 300)
    tone(root / "no" / "b2_nohash_0.wav", 900)
    with pytest.raises(DatasetError, match="validation_list.txt and testing_list.txt missing"):
        speech_commands(root)
    with pytest.raises(DatasetError, match="pass --data-dir .*speech_commands_v0.02"):
        (root / "testing_list.txt").write_text("")
        speech_commands(tmp_path)  # one level too high
    (root / "testing_list.txt").unlink()
    recipe = parse_recipe(
        load_recipe("speech_commands"),
        ["--data-dir", str(root), "--output-dir", str(tmp_path / "run")],
    )
    with pytest.raises(DatasetError, match="validation_list.txt and testing_list.txt"):
        run(recipe, progress=False, out=io.StringIO())
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.slow
def test_speech_commands_12_silence_segments_are_recorded_and_tested_again(tmp_path, capsys):
    """``--classes 12`` cuts ``_silence_`` clips out of the noise recordings: the run records
    each segment's offset, so ``audioconv test`` scores the run's own test split again (it
    refused: "path listed twice") and ``compare`` takes them from predictions.csv."""
    from audioconv.cli import main

    root = tmp_path / "speech_commands_v0.02"
    for k, word in enumerate(["yes", "no", "bed"]):
        for speaker in ("aa11", "bb22", "cc33"):
            tone(root / word / f"{speaker}_nohash_0.wav", 300 + 400 * k, seconds=1.0)
    (root / "validation_list.txt").write_text("yes/bb22_nohash_0.wav\nbed/bb22_nohash_0.wav\n")
    (root / "testing_list.txt").write_text("no/cc33_nohash_0.wav\nbed/cc33_nohash_0.wav\n")
    tone(root / "_background_noise_" / "white_noise.wav", 50, seconds=10.0)
    out = tmp_path / "run"
    recipe = parse_recipe(load_recipe("speech_commands"),
                          ["--data-dir", str(root), "--output-dir", str(out), "--classes", "12",
                           *TINY, "--clip_seconds", "1.0", "--max_epochs", "1"])  # fmt: skip
    run(recipe, progress=False, out=io.StringIO())
    splits = pd.read_csv(out / "splits.csv")
    silence = splits[splits["label"] == "_silence_"]
    assert len(silence) == 10 and silence["offset"].tolist() == [float(k) for k in range(10)]
    assert not splits.duplicated(["path", "offset"]).any()
    tested = tmp_path / "tested"
    ckpt = out / "checkpoints" / "best.ckpt"
    assert main(["test", "--checkpoint", str(ckpt), "--output-dir", str(tested)]) == 0
    again, report = (json.loads((f / "report.json").read_text()) for f in (tested, out))
    assert again["metrics"] == pytest.approx(report["metrics"])
    assert main(["compare", str(out), str(out), "--split", "test", "--quiet"]) == 0
    with pytest.raises(SystemExit):
        main(["compare", str(out), str(out), "--split", "val"])
    assert "segments of longer files" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Bad files: found before training, all at once
# --------------------------------------------------------------------------------------------


def _plant_bad_files(data) -> dict[str, str]:
    """Two class folders of good clips plus one unreadable, one empty, one truncated and one NaN
    file; returns {path: the reason's first word}."""
    for c, label in enumerate(["a", "b"]):
        for k in range(6):
            tone(data / label / f"good{k}.wav", 300 + 600 * c, seed=k)
    bad = {
        data / "a" / "unreadable.wav": "unreadable",
        data / "a" / "empty.wav": "empty",
        data / "b" / "truncated.wav": "truncated",
        data / "b" / "nan.wav": "non-finite",
    }
    (data / "a" / "unreadable.wav").write_bytes(b"this is not audio\x00" * 20)
    sf.write(data / "a" / "empty.wav", np.zeros((0, 1), np.float32), RATE)
    tone(data / "b" / "full.wav", 500, seconds=1.0)
    whole = (data / "b" / "full.wav").read_bytes()
    (data / "b" / "full.wav").unlink()
    (data / "b" / "truncated.wav").write_bytes(whole[: len(whole) // 2])
    wave = np.full(2400, 0.1, np.float32)
    wave[7] = np.nan
    sf.write(data / "b" / "nan.wav", wave, RATE, subtype="FLOAT")
    return {str(path): word for path, word in bad.items()}


def test_bad_files_raise_lists_all_four_before_training(tmp_path):
    data = tmp_path / "clips"
    bad = _plant_bad_files(data)
    out = tmp_path / "run"
    with pytest.raises(DatasetError) as error:
        smoke("audio_folder", ["--data-dir", str(data), "--output-dir", str(out)])
    message = str(error.value)
    assert message.startswith("4 bad audio file(s) of 16")
    for path, word in bad.items():
        assert f"{path}: {word}" in message
    assert "--on-error skip" in message
    assert not (out / "checkpoints").exists() and not (out / "metrics.csv").exists()


def test_bad_files_through_the_command_line_exit_2_with_the_list(tmp_path, capsys):
    from audioconv.cli import main

    data = tmp_path / "clips"
    bad = _plant_bad_files(data)
    with pytest.raises(SystemExit) as exit_:
        main(["fit", "audio_folder", "--data-dir", str(data), "--output-dir",
              str(tmp_path / "run"), "--smoke"])  # fmt: skip
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "audioconv fit: error: 4 bad audio file(s) of 16" in err
    assert all(path in err for path in bad)


@pytest.mark.slow
def test_bad_files_skip_trains_and_writes_skipped_csv(tmp_path):
    data = tmp_path / "clips"
    bad = _plant_bad_files(data)
    out = tmp_path / "run"
    _, printed = smoke("audio_folder", ["--data-dir", str(data), "--output-dir", str(out),
                                        "--on-error", "skip"])  # fmt: skip
    skipped = pd.read_csv(out / "skipped.csv")
    assert sorted(skipped["path"]) == sorted(bad)
    for path, reason in zip(skipped["path"], skipped["reason"]):
        assert reason.startswith(bad[path])
    assert len(splits_of(out)) == 12  # only the good clips trained and tested
    report = json.loads((out / "report.json").read_text())
    assert any("4 bad file(s) skipped" in note for note in report["notes"])
    assert "4 bad file(s) skipped" in (out / "report.md").read_text()
    assert "skipped 4 bad file(s)" in printed


def test_wrong_rate_is_a_bad_file(tmp_path):
    data = tmp_path / "clips"
    for c, label in enumerate(["a", "b"]):
        for k in range(3):
            tone(data / label / f"{k}.wav", 300 + 600 * c, seed=k)
    tone(data / "b" / "odd.wav", 900, rate=11025)
    recipe = parse_recipe(load_recipe("audio_folder"), ["--data-dir", str(data), "--output-dir",
                          str(tmp_path / "run"), "--expect-rate", str(RATE)])  # fmt: skip
    with pytest.raises(DatasetError, match=r"odd.wav: wrong rate: 11025 Hz where the dataset is"):
        recipe.checked_manifest()


def test_scan_is_cached_by_path_size_and_mtime(tmp_path, monkeypatch):
    files = []
    for k in range(3):
        tone(tmp_path / f"{k}.wav", 400, seed=k)
        files.append(tmp_path / f"{k}.wav")
    cache = tmp_path / "scan.json"
    first = scan_module.scan_files(files, cache_file=cache, progress=False)
    decoded = []
    real = scan_module._decode
    monkeypatch.setattr(scan_module, "_decode", lambda path: decoded.append(path) or real(path))
    assert scan_module.scan_files(files, cache_file=cache, progress=False) == first
    assert decoded == []  # the second scan decodes nothing
    time.sleep(0.01)
    tone(files[1], 400, seconds=0.5, seed=9)  # changed size and mtime: decoded again
    again = scan_module.scan_files(files, cache_file=cache, progress=False)
    assert decoded == [str(files[1])] and again[str(files[1])].seconds == 0.5
    tone(tmp_path / "new.wav", 400)  # scanning another subset keeps the others cached
    scan_module.scan_files([tmp_path / "new.wav"], cache_file=cache, progress=False)
    scan_module.scan_files(files, cache_file=cache, progress=False)
    assert decoded == [str(files[1]), str(tmp_path / "new.wav")]


# --------------------------------------------------------------------------------------------
# Bad manifests and folders: clear errors naming the file and line
# --------------------------------------------------------------------------------------------


def _manifest(tmp_path, text: str | bytes, name: str = "m.csv"):
    for k in range(2):
        tone(tmp_path / f"c{k}.wav", 400)
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("path,label\nc0.wav,a\nc1.wav,b\nc0.wav,a\n", r"c0.wav is listed on lines \[2, 4\]"),
        ("path,label\nc0.wav,a\n../../etc/x.wav,b\n", r"line 3: '../../etc/x.wav' leaves the"),
        ("path,label\nc0.wav,a\nc1.wav,\n", r"line 3 has an empty 'label' cell"),
        ("path,label,group\nc0.wav,a,\nc1.wav,b,s2\n", r"line 2 has an empty 'group' cell"),
        ("", "the file is empty"),
        ("path,label\n", "a header but no rows"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "binary file, not a text CSV"),
        ("file,class\nc0.wav,a\n", r"a manifest needs a 'path' column .* also 'label'"),
    ],
    ids=[
        "duplicate",
        "escapes-root",
        "empty-label",
        "empty-group",
        "empty-file",
        "no-rows",
        "binary",
        "columns",
    ],  # fmt: skip
)
def test_bad_manifest_is_a_clear_error(tmp_path, text, match):
    path = _manifest(tmp_path, text)
    with pytest.raises(DatasetError, match=match) as error:
        read_manifest(path)
    assert str(path) in str(error.value)


def test_class_folders_one_level_too_high(tmp_path):
    for label in ("cat", "dog"):
        tone(tmp_path / "download" / "my_clips" / label / "x.wav", 400)
    with pytest.raises(DatasetError, match="pass --data-dir .*my_clips"):
        class_folders(tmp_path / "download")
    tone(tmp_path / "loose" / "x.wav", 400)
    with pytest.raises(DatasetError, match="1 clips lie loose"):
        class_folders(tmp_path / "loose")


def test_manifest_symlink_inside_the_folder_is_not_an_escape(tmp_path):
    outside = tmp_path / "elsewhere" / "real.wav"
    tone(outside, 400)
    data = tmp_path / "data"
    data.mkdir()
    (data / "link.wav").symlink_to(outside)
    (data / "m.csv").write_text("path,label\nlink.wav,a\n")
    assert read_manifest(data / "m.csv")["path"].tolist() == [str(data / "link.wav")]


def test_missing_file_in_a_manifest_is_a_bad_file(tmp_path):
    data = tmp_path / "data"
    for k in range(4):
        tone(data / f"{k}.wav", 400)
    (data / "m.csv").write_text("path,label\n0.wav,a\n1.wav,a\n2.wav,b\n3.wav,b\ngone.wav,b\n")
    recipe = parse_recipe(load_recipe("audio_folder"), ["--data-dir", str(data), "--output-dir",
                          str(tmp_path / "run"), "--manifest-file", "m.csv"])  # fmt: skip
    with pytest.raises(DatasetError, match=r"1 bad audio file\(s\) of 5:\n  .*gone.wav: missing"):
        recipe.checked_manifest()


def test_scan_finds_an_mp3_cut_short(tmp_path):
    whole = tmp_path / "whole.mp3"
    tone(whole, 400, seconds=5.0)
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    scans = scan_module.scan_files([whole, cut], progress=False)
    assert scans[str(whole)].problem is None  # the header passes; only decoding shows the cut
    assert scans[str(cut)].problem.startswith("truncated: decoded ")


def test_split_file_must_match_the_dataset(tmp_path):
    data = tmp_path / "clips"
    for c, label in enumerate(["a", "b"]):
        for k in range(3):
            tone(data / label / f"{k}.wav", 300 + 600 * c, seed=k)
    pins = tmp_path / "splits.csv"
    pins.write_text("path,split\na/0.wav,train\na/1.wav,train\nb/0.wav,test\n")
    options = ["--data-dir", str(data), "--output-dir", str(tmp_path / "run")]
    recipe = parse_recipe(load_recipe("audio_folder"), [*options, "--split-file", str(pins)])
    with pytest.raises(DatasetError, match=r"3 clip\(s\) of the dataset are not listed"):
        recipe.checked_manifest()
    pins.write_text(pins.read_text() + "a/2.wav,val\nb/1.wav,train\nb/2.wav,train\nc/9.wav,test\n")
    with pytest.raises(DatasetError, match=r"1 listed clip\(s\) are not in the dataset"):
        recipe.checked_manifest()


def _image_folder(root) -> dict[str, str]:
    """Class folders of 8x8 PNGs plus an unreadable, an empty and a truncated one."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for c, label in enumerate(["circle", "square"]):
        for k in range(8):
            pixels = (rng.random((8, 8, 3)) * 60 + 150 * c).astype(np.uint8)
            (root / label).mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(root / label / f"{k}.png")
    (root / "circle" / "unreadable.png").write_bytes(b"not an image at all")
    (root / "circle" / "empty.png").write_bytes(b"")
    whole = (root / "square" / "0.png").read_bytes()
    (root / "square" / "truncated.png").write_bytes(whole[: len(whole) // 2])
    return {
        str(root / "circle" / "unreadable.png"): "unreadable",
        str(root / "circle" / "empty.png"): "empty",
        str(root / "square" / "truncated.png"): "truncated",
    }


@pytest.mark.slow
def test_image_class_folders_bad_images_raise_then_skip(tmp_path):
    data = tmp_path / "top" / "images"
    bad = _image_folder(data)
    options = ["--dataset", "folder", "--data-dir", str(data), "--image-size", "16",
               "--batch-size", "8", "--smoke"]  # fmt: skip
    recipe = parse_recipe(load_recipe("image_classification"),
                          [*options, "--output-dir", str(tmp_path / "r1")])  # fmt: skip
    with pytest.raises(DatasetError) as error:
        run(recipe, progress=False, out=io.StringIO())
    assert str(error.value).startswith("3 bad image file(s) of 19")
    for path, word in bad.items():
        assert f"{path}: {word}" in str(error.value)
    assert not (tmp_path / "r1" / "checkpoints").exists()
    out = tmp_path / "r2"
    recipe = parse_recipe(load_recipe("image_classification"),
                          [*options, "--output-dir", str(out), "--on-error", "skip"])  # fmt: skip
    run(recipe, progress=False, out=io.StringIO())
    skipped = pd.read_csv(out / "skipped.csv")
    assert dict(zip(skipped["path"], skipped["reason"].str.split(":").str[0])) == bad
    assert json.loads((out / "report.json").read_text())["n_samples"] > 0
    recipe = parse_recipe(load_recipe("image_classification"),
                          ["--dataset", "folder", "--data-dir", str(tmp_path / "top"),
                           "--output-dir", str(tmp_path / "r3")])  # fmt: skip
    with pytest.raises(DatasetError, match="pass --data-dir .*top/images"):
        run(recipe, progress=False, out=io.StringIO())  # one level too high


@pytest.mark.parametrize(("text", "match"), [("", "the file is empty"), ("path,tags\n", "no rows")])
def test_empty_tag_csv_is_a_clear_error(tmp_path, text, match):
    from audioconv.data.layouts import tags_csv

    (tmp_path / "tags.csv").write_text(text)
    with pytest.raises(DatasetError, match=rf"tags.csv: .*{match}"):
        tags_csv(tmp_path / "tags.csv")


def test_a_relative_manifest_file_not_in_the_data_folder_says_where_it_was_looked_for(tmp_path):
    (tmp_path / "clips").mkdir()
    (tmp_path / "labels.csv").write_text("path,label\na.wav,x\n")  # beside the folder, not in it
    recipe = parse_recipe(
        load_recipe("audio_folder"),
        ["--data-dir", str(tmp_path / "clips"), "--manifest-file", "labels.csv",
         "--output-dir", str(tmp_path / "run")],
    )  # fmt: skip
    with pytest.raises(DatasetError, match="a relative --manifest-file is read inside --data-dir"):
        recipe.layout()


def test_a_relative_split_file_is_recorded_absolute(tmp_path, monkeypatch):
    """As output_dir and data_dir: config.yaml names the split file wherever the run is
    re-run or tested from (it recorded the path as typed)."""
    monkeypatch.chdir(tmp_path)
    argv = ["--data-dir", "clips", "--split-file", "run1/splits.csv", "--output-dir", "run2"]
    recipe = parse_recipe(load_recipe("audio_folder"), argv)
    assert recipe.split_file == tmp_path / "run1" / "splits.csv"


def test_a_misspelled_model_is_refused_before_any_file_is_read(tmp_path):
    """Not after minutes of decoding: the recipe checks the name when its options are parsed
    (the data folder here does not even exist)."""
    from audioconv.errors import ConfigError

    argv = ["--data-dir", str(tmp_path / "nowhere"), "--model", "resnet81", "--output-dir", "x"]
    with pytest.raises(ConfigError, match="unknown model 'resnet81'. Did you mean 'resnet18'"):
        parse_recipe(load_recipe("audio_folder"), argv)


def test_a_group_regex_lists_every_clip_it_misses(tmp_path):
    data = tmp_path / "clips"
    for label in ("cat", "dog"):
        for name in ("anna_0", "ben_0", "x", "y"):
            tone(data / label / f"{name}.wav", 400)
    argv = ["--data-dir", str(data), "--group-regex", "/([a-z]+)_", "--output-dir", "x"]
    recipe = parse_recipe(load_recipe("audio_folder"), argv)
    with pytest.raises(DatasetError, match="does not match 4 of the 8 clip paths") as error:
        recipe.manifest()
    assert all(f"{label}/{n}.wav" in str(error.value) for label in ("cat", "dog") for n in "xy")


# --------------------------------------------------------------------------------------------
# Datasets passed one level off, or downloaded in another shape
# --------------------------------------------------------------------------------------------


def test_git_lfs_pointers_say_git_lfs_pull_and_all_bad_under_skip_counts_them(tmp_path, capsys):
    """A repository cloned without git-lfs (CREMA-D on GitHub) holds 130-byte pointer files: they
    were 'corrupt: re-encode with ffmpeg', and with --on-error skip an unexplained 'no usable
    clips'. Training and predict (one decoder) now say `git lfs pull`; skip counts the files."""
    from audioconv.cli import main
    from audioconv.decode import read_audio
    from audioconv.errors import AudioError

    data = tmp_path / "clips"
    pointer = (
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:6b2d1ab4cdc7c5b2e1b6c9b3c0e3a6f5a1d2c3b4e5f60718293a4b5c6d7e8f90\nsize 42\n"
    )
    for label in ("a", "b"):
        for k in range(3):
            path = data / label / f"{k}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(pointer)
    argv = ["fit", "audio_folder", "--data-dir", str(data), "--output-dir", str(tmp_path / "run"),
            "--smoke"]  # fmt: skip
    with pytest.raises(SystemExit):
        main(argv)
    err = capsys.readouterr().err
    assert err.count("a Git LFS pointer, not audio") == 6 and "git lfs pull" in err
    with pytest.raises(SystemExit):
        main([*argv, "--on-error", "skip"])
    err = capsys.readouterr().err
    assert "all 6 audio file(s) are bad, so --on-error skip leaves nothing to train on" in err
    assert f"{data / 'a' / '0.wav'}: unreadable: a Git LFS pointer" in err
    with pytest.raises(AudioError, match="a Git LFS pointer, not audio.*git lfs pull"):
        read_audio(data / "a" / "0.wav")  # what predict / deploy decode with


def test_cremad_github_zip_folder_names_the_repository_and_a_recording_twice_is_refused(tmp_path):
    """The GitHub zip unpacks into CREMA-D-master/ holding AudioWAV/ and AudioMP3/: passing the
    folder holding it trained on every recording twice (both encodings); now the error names the
    repository folder, and a folder with one recording in two files is refused."""
    repo = tmp_path / "download" / "CREMA-D-master"
    for actor in ("1001", "1002", "1003"):
        for code in ("ANG", "HAP"):
            for folder, suffix in (("AudioWAV", "wav"), ("AudioMP3", "mp3")):
                tone(repo / folder / f"{actor}_DFA_{code}_XX.{suffix}", 400)
    argv = ["--dataset", "cremad", "--data-dir", str(tmp_path / "download"), "--output-dir",
            str(tmp_path / "run")]  # fmt: skip
    recipe = parse_recipe(load_recipe("speech_emotion"), argv)
    with pytest.raises(DatasetError, match=f"pass --data-dir {repo}$"):
        run(recipe, progress=False, out=io.StringIO())
    assert not (tmp_path / "run" / "splits.csv").exists()
    assert len(cremad(repo)) == 6  # the repository folder: AudioWAV only
    twice = tmp_path / "clips"  # the WAV and MP3 copies side by side
    for file in [*(repo / "AudioWAV").iterdir(), *(repo / "AudioMP3").iterdir()]:
        twice.mkdir(exist_ok=True)
        (twice / file.name).write_bytes(file.read_bytes())
    with pytest.raises(DatasetError, match=r"6 CREMA-D recording\(s\) are there twice"):
        cremad(twice)
    tone(tmp_path / "emodb" / "wav" / "03a01Fa.wav", 400)  # EmoDB: the same fallback
    with pytest.raises(DatasetError, match=f"pass --data-dir {tmp_path / 'emodb'}$"):
        emodb(tmp_path)


@pytest.mark.parametrize(
    "recipe, layout, inside",
    [
        ("music_genre", "gtzan", "genres_original/jazz"),
        ("speech_commands", "speech_commands", "yes"),
        ("environmental_sounds", "esc50", "audio"),
        ("urban_sounds", "urbansound8k", "audio"),
        ("urban_sounds", "urbansound8k", "audio/fold1"),
    ],
)
def test_a_folder_inside_the_dataset_names_the_dataset_folder(tmp_path, recipe, layout, inside):
    """One level too low (a genre, word or fold folder, audio/): the advice was to restructure
    or restore a correct dataset; now it names the folder to pass."""
    from audioconv.data.layouts import registered_layout

    root = tmp_path / "dataset"
    registered_layout(layout).example(root)
    expected = root / "genres_original" if layout == "gtzan" else root
    argv = ["--data-dir", str(root / inside), "--output-dir", str(tmp_path / "run")]
    with pytest.raises(DatasetError, match=f"pass --data-dir {expected}( |$)"):
        parse_recipe(load_recipe(recipe), argv).manifest()


def test_datasets_two_levels_too_high_are_named(tmp_path):
    from audioconv.data.layouts import registered_layout

    registered_layout("esc50").example(tmp_path / "downloads" / "ESC-50-master")
    with pytest.raises(DatasetError, match=f"pass --data-dir {tmp_path}/downloads/ESC-50-master$"):
        esc50(tmp_path)
    repo = tmp_path / "mtg-jamendo-dataset"
    registered_layout("mtg_jamendo").example(repo / "data")
    with pytest.raises(DatasetError, match=f"pass --data-dir {repo}$"):
        mtg_jamendo(tmp_path)


def test_mtg_jamendo_low_quality_download_in_a_relative_audio_dir_is_tested_again(
    tmp_path, monkeypatch
):
    """The documented setup: the repository and, beside it, the audio of `download.py --type
    audio-low` (`NN/ID.low.mp3`), passed as a relative --audio-dir. The .low.mp3 files were 'in
    none of' the folder; the relative paths in splits.csv made `audioconv test` refuse the run."""
    from audioconv.cli import main

    monkeypatch.chdir(tmp_path)
    repo = Path("mtg-jamendo-dataset")
    header = "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS"
    lines = [header]
    for k in range(12):
        tone(Path("jamendo_audio") / f"{k:02d}" / f"{k}.low.mp3", 300 + 200 * (k % 3), seed=k)
        tags = ["mood/theme---happy", "mood/theme---sad\tmood/theme---calm"][k % 2]
        lines.append(
            f"track_{k:07d}\tartist_{k // 2:06d}\talbum_{k:06d}\t{k:02d}/{k}.mp3\t0.3\t{tags}"
        )
    (repo / "data").mkdir(parents=True)
    (repo / "data" / "autotagging_moodtheme.tsv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "run"
    smoke("music_emotion", ["--dataset", "mtg_jamendo", "--data-dir", str(repo), "--audio-dir",
                            "jamendo_audio", "--output-dir", str(out)])  # fmt: skip
    paths = splits_of(out)["path"]
    assert paths.str.startswith(str(tmp_path / "jamendo_audio")).all()
    assert paths.str.endswith(".low.mp3").all() and len(paths) == 12
    monkeypatch.chdir(tmp_path.parent)
    ckpt = out / "checkpoints" / "best.ckpt"
    assert main(["test", "--checkpoint", str(ckpt), "--output-dir", str(tmp_path / "t")]) == 0


@pytest.mark.parametrize("how", ["folder_link", "manifest_two_names"])
def test_one_file_under_two_names_is_refused_before_training(tmp_path, how):
    """A link beside its target (class folders) or a manifest naming a file and a link to it:
    the clip would be trained twice, or land in train and val at once."""
    data = tmp_path / "clips"
    for label, frequency in (("low", 300), ("high", 2500)):
        for k in range(6):
            tone(data / label / f"{label}_{k}.wav", frequency, seed=k)
    (data / "high" / "again.wav").symlink_to(data / "high" / "high_0.wav")
    argv = ["--data-dir", str(data), "--output-dir", str(tmp_path / "run")]
    if how == "manifest_two_names":
        (data / "high" / "again.wav").unlink()
        (data / "alias").symlink_to(data / "low")
        (data / "m.csv").write_text("path,label\nlow/low_0.wav,low\nalias/low_0.wav,low\n")
        argv += ["--manifest-file", str(data / "m.csv")]
    with pytest.raises(DatasetError, match="1 file.s. are in the dataset under two names") as e:
        smoke("audio_folder", argv)
    first, second = (("high/high_0.wav", "high/again.wav") if how == "folder_link"
                     else ("low/low_0.wav", "alias/low_0.wav"))  # fmt: skip
    assert {f"{data / first} and {data / second}", f"{data / second} and {data / first}"} & {
        line.strip() for line in str(e.value).splitlines()
    }
    assert not (tmp_path / "run" / "splits.csv").exists()


def test_an_image_linked_beside_its_target_is_refused_before_training(tmp_path):
    data = tmp_path / "images"
    _image_folder(data)
    for name in ("unreadable.png", "empty.png"):
        (data / "circle" / name).unlink()
    (data / "square" / "again.png").symlink_to(data / "square" / "1.png")
    recipe = parse_recipe(load_recipe("image_classification"),
                          ["--dataset", "folder", "--data-dir", str(data), "--smoke",
                           "--output-dir", str(tmp_path / "run")])  # fmt: skip
    with pytest.raises(DatasetError, match="1 file.s. are in the dataset under two names"):
        run(recipe, progress=False, out=io.StringIO())


def test_train_and_test_folders_of_class_folders_are_the_datasets_own_split(tmp_path):
    """``clips/train/<class>/`` + ``clips/test/<class>/``: the classes are the inner folders and
    the test split is the test folder (it used to train a "train vs test" model)."""
    data = tmp_path / "clips"
    for split, count in (("train", 8), ("test", 3)):
        for label, frequency in (("low", 300), ("high", 2500)):
            for k in range(count):
                tone(data / split / label / f"{label}_{k}.wav", frequency, seed=k)
    smoke("audio_folder", ["--data-dir", str(data), "--output-dir", str(tmp_path / "run")])
    table = splits_of(tmp_path / "run")
    assert set(table["label"]) == {"low", "high"}
    in_test = table["path"].str.contains("/test/")
    assert (table.loc[in_test, "split"] == "test").all() and in_test.sum() == 6
    assert set(table.loc[~in_test, "split"]) == {"train", "val"}  # val carved out of train
    (data / "test" / "extra").mkdir()
    tone(data / "test" / "extra" / "x.wav", 900)
    with pytest.raises(DatasetError, match=r"\['extra'\] are in val / test but not in train"):
        smoke("audio_folder", ["--data-dir", str(data), "--output-dir", str(tmp_path / "r2")])
    (data / "test").rename(data / "val")
    with pytest.raises(DatasetError, match="need a train and a test folder"):
        smoke("audio_folder", ["--data-dir", str(data), "--output-dir", str(tmp_path / "r3")])


def test_an_n_fft_longer_than_a_clip_is_named_before_the_scan(tmp_path):
    argv = ["--data-dir", str(tmp_path), "--output-dir", str(tmp_path / "run"),
            "--n-fft", "100000", "--clip-seconds", "0.5", "--sample-rate", "8000"]  # fmt: skip
    with pytest.raises(ConfigError, match=r"n_fft=100000 samples is longer than a clip \(0.5 s"):
        parse_recipe(load_recipe("audio_folder"), argv)


# --------------------------------------------------------------------------------------------
# audioconv predict reads a folder / manifest the way training reads it
# --------------------------------------------------------------------------------------------


def _predict(argv: list[str], capsys) -> tuple[int, str]:
    from audioconv.cli import main

    capsys.readouterr()
    try:
        status = main(["predict", "--quiet", *argv])
    except SystemExit as stop:
        status = stop.code
    return status, capsys.readouterr().err


def _assert_predict_gives_the_runs_answers(run: Path, predicted: Path) -> None:
    """``predicted`` (``audioconv predict --output``) holds every clip of the run's splits.csv,
    nothing else, and the run's label for each clip it tested."""
    table = pd.read_csv(predicted, dtype=str, keep_default_na=False)
    splits = pd.read_csv(run / "splits.csv", dtype=str, keep_default_na=False)
    assert sorted(table["path"]) == sorted(splits["path"])
    tested = pd.read_csv(run / "predictions.csv", dtype=str, keep_default_na=False)
    assert len(tested)
    answer = dict(zip(table["path"], table["label"]))
    assert {p: answer[p] for p in tested["path"]} == dict(zip(tested["path"], tested["predicted"]))


def test_fit_and_predict_read_the_same_files_of_a_messy_folder(tmp_path, capsys):
    """A class-folder tree as users have it: a class folder and a sub-folder that are symlinks,
    a link back into its own folder, clips in every format soundfile decodes (.opus, .oga,
    .wave, .w64, .rf64, .caf), an AAC .m4a and a notes file. Training and ``audioconv predict``
    read the same clips (predict gives each the run's answer); the .m4a and the notes are listed
    as not read, the .m4a with the ffmpeg command that converts it."""
    data, outside = tmp_path / "clips", tmp_path / "elsewhere"
    for c, label in enumerate(["low", "high"]):
        for k in range(6):
            tone(data / label / f"{label}{k}.wav", 300 + 1500 * c, seed=k)
    for k in range(6):
        tone(outside / "noise" / f"n{k}.wav", 900, seed=k)
    (data / "noise").symlink_to(outside / "noise")  # a class folder kept elsewhere
    for k in range(2):
        tone(outside / "more_high" / f"ext{k}.wav", 1800, seed=k)
    (data / "high" / "linked_sub").symlink_to(outside / "more_high")
    (data / "low" / "loop").symlink_to(data / "low")  # a cycle: read once
    formats = {".opus": ("OGG", "OPUS"), ".oga": ("OGG", "VORBIS"), ".wave": ("WAV", None),
               ".w64": ("W64", None), ".rf64": ("RF64", None), ".caf": ("CAF", None)}  # fmt: skip
    t = np.arange(int(0.3 * RATE)) / RATE
    for suffix, (fmt, subtype) in formats.items():
        wave = (0.5 * np.sin(2 * math.pi * 300 * t)).astype(np.float32)
        sf.write(data / "low" / f"clip{suffix}", wave, RATE, format=fmt, subtype=subtype)
    (data / "high" / "clip.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00")
    (data / "low" / "notes.txt").write_text("recorded on Tuesday")
    out = tmp_path / "run"
    _, printed = smoke("audio_folder", ["--data-dir", str(data), "--output-dir", str(out)])

    splits = splits_of(out)
    names = {Path(p).name for p in splits["path"]}
    assert {"n0.wav", "ext0.wav", "ext1.wav", *(f"clip{s}" for s in formats)} <= names
    assert len(splits) == 18 + 2 + len(formats)  # each clip once, the loop not followed
    skipped = pd.read_csv(out / "skipped.csv").set_index("path")["reason"]
    assert set(skipped.index) == {str(data / "high" / "clip.m4a"), str(data / "low" / "notes.txt")}
    assert "ffmpeg -i clip.m4a clip.wav" in skipped[str(data / "high" / "clip.m4a")]
    assert skipped.str.startswith("not read: ").all()
    assert "2 file(s) not read, not audio by their suffix (.m4a 1, .txt 1)" in printed
    assert "bad file" not in printed
    notes = json.loads((out / "report.json").read_text())["notes"]
    assert any("2 file(s) not read" in note for note in notes)

    predicted = tmp_path / "predicted.csv"
    checkpoint = str(out / "checkpoints" / "best.ckpt")
    status, err = _predict(["--checkpoint", checkpoint, str(data), "--output", str(predicted)],
                           capsys)  # fmt: skip
    assert status == 0, err  # files not read are listed, not a failure
    _assert_predict_gives_the_runs_answers(out, predicted)
    assert "2 file(s) of the folders not read" in err and "ffmpeg -i clip.m4a clip.wav" in err
    listed = pd.read_csv(tmp_path / "predicted.skipped.csv").set_index("path")["reason"]
    assert listed.to_dict() == skipped.to_dict()


def test_a_class_folder_of_m4a_clips_names_them_and_the_conversion(tmp_path):
    for label in ("a", "b"):
        tone(tmp_path / label / "x.wav", 400)
    (tmp_path / "m4a_only").mkdir()
    (tmp_path / "m4a_only" / "clip.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A ")
    with pytest.raises(DatasetError) as error:
        class_folders(tmp_path)
    message = str(error.value)
    assert "m4a_only: class folder holds no audio" in message
    assert f"it holds 1 other file(s):\n  {tmp_path / 'm4a_only' / 'clip.m4a'}: not read" in message
    assert "ffmpeg -i clip.m4a clip.wav" in message


def test_predict_reads_the_manifest_training_read(tmp_path, capsys):
    """The manifest of a run, kept outside the data folder as a TSV with a header in another
    case: ``audioconv predict MANIFEST --data-dir DIR`` reads the clips training read (a WAV
    without a suffix and an Ogg Opus clip too: both decode) and gives the run's answers; without
    ``--data-dir`` each missing clip says where its relative path was read from."""
    data = tmp_path / "data"
    rows = []
    for c, label in enumerate(["low", "high"]):
        for k in range(6):
            tone(data / "clips" / f"{label}{k}.wav", 300 + 1500 * c, seed=k)
            rows.append((f"clips/{label}{k}.wav", label))
    sf.write(data / "clips" / "noext", np.zeros(2400, np.float32) + 0.1, RATE, format="WAV")
    wave = (0.5 * np.sin(2 * math.pi * 1800 * np.arange(2400) / RATE)).astype(np.float32)
    sf.write(data / "clips" / "x.opus", wave, RATE, format="OGG", subtype="OPUS")
    rows += [("clips/noext", "low"), ("clips/x.opus", "high")]
    manifest = tmp_path / "manifests" / "labels.tsv"
    manifest.parent.mkdir()
    manifest.write_text("Path\t Label \n" + "".join(f"{p}\t{label}\n" for p, label in rows))
    out = tmp_path / "run"
    smoke("audio_folder", ["--data-dir", str(data), "--manifest-file", str(manifest),
                           "--output-dir", str(out)])  # fmt: skip
    assert len(splits_of(out)) == 14

    predicted = tmp_path / "predicted.csv"
    argv = ["--checkpoint", str(out / "checkpoints" / "best.ckpt"), str(manifest)]
    status, err = _predict([*argv, "--data-dir", str(data), "--output", str(predicted)], capsys)
    assert status == 0, err
    _assert_predict_gives_the_runs_answers(out, predicted)

    status, err = _predict(argv, capsys)  # relative paths read beside the manifest: none there
    assert status == 2
    gone = manifest.parent / "clips" / "noext"
    assert f"{gone}: no such file (relative paths of {manifest} are read from" in err
    assert "pass --data-dir" in err


def test_compare_scores_a_class_named_na(tmp_path, capsys):
    """Classes pandas reads as missing (``NA``, ``null``) by default stay classes when compare
    reads a run's splits.csv, and its predictions.csv for runs whose samples are not files."""
    from audioconv.cli import main

    data = tmp_path / "clips"
    for c, label in enumerate(["NA", "null"]):
        for k in range(6):
            tone(data / label / f"{k}.wav", 300 + 1500 * c, seed=k)
    out = tmp_path / "run"
    smoke("audio_folder", ["--data-dir", str(data), "--output-dir", str(out)])
    capsys.readouterr()
    assert main(["compare", "--quiet", "--resamples", "99", str(out), str(out)]) == 0
    assert "clips; A =" in capsys.readouterr().out

    for name in ("a", "b"):  # a run of series: compare reads its predictions.csv
        folder = tmp_path / name
        folder.mkdir()
        report = {"task": "multiclass", "class_names": ["NA", "null"], "threshold": 0.5}
        (folder / "report.json").write_text(json.dumps(report))
        (folder / "predictions.csv").write_text(
            "series,true,predicted,p_NA,p_null\n0,NA,NA,0.9,0.1\n1,null,null,0.2,0.8\n"
            "2,NA,null,0.4,0.6\n3,null,null,0.3,0.7\n"
        )
    argv = ["compare", "--quiet", "--resamples", "99", "--split", "test"]
    assert main([*argv, str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    assert "4 clips" in capsys.readouterr().out


@pytest.mark.parametrize("model", ["conv1d", "wavenet"])
def test_a_1d_model_trains_on_waveforms_and_every_path_gives_the_runs_answers(
    tmp_path, capsys, model
):
    """``--features waveform --model conv1d / wavenet``: the samples go into the 1D model (it
    used to be a 2D conv_stack on log-mel under the name conv1d, and wavenet was refused with
    advice no option could follow); predict from the checkpoint and from its ONNX export give
    the run's probabilities."""
    from audioconv.cli import main

    data = tmp_path / "clips"
    for label, frequency in (("low", 300), ("high", 2500)):
        for k in range(8):
            tone(data / label / f"{label}_{k}.wav", frequency, seconds=0.2 + 0.05 * k, seed=k)
    out = tmp_path / "run"
    argv = [*TINY, "--model", model, "--model_kwargs", "{}", "--features", "waveform",
            "--max_epochs", "2"]  # fmt: skip
    recipe = parse_recipe(load_recipe("audio_folder"),
                          [*argv, "--data-dir", str(data), "--output-dir", str(out)])  # fmt: skip
    run(recipe, progress=False, out=io.StringIO())
    assert json.loads((out / "report.json").read_text())["n_samples"] > 0
    hparams = torch_load_hparams(out / "checkpoints" / "best.ckpt")
    assert hparams["backbone_config"]["name"] == model
    assert hparams["backbone_config"]["kwargs"]["dims"] == 1 and hparams["frontend_config"] is None
    onnx = tmp_path / "m.onnx"
    assert main(["export", "--checkpoint", str(out / "checkpoints" / "best.ckpt"),
                 "--output", str(onnx)]) == 0  # fmt: skip
    tested = pd.read_csv(out / "predictions.csv")
    for model_file in (out / "checkpoints" / "best.ckpt", onnx):
        predicted = tmp_path / f"{model_file.suffix[1:]}.csv"
        status, err = _predict(["--checkpoint", str(model_file), str(data),
                                "--output", str(predicted)], capsys)  # fmt: skip
        assert status == 0, err
        answers = pd.read_csv(predicted).set_index("path")
        for column in ("p_high", "p_low"):
            got = answers.loc[tested["path"], column].to_numpy()
            assert np.abs(got - tested[column].to_numpy()).max() < 2e-5, (model_file, column)


def torch_load_hparams(path) -> dict:
    import torch

    return torch.load(path, weights_only=True)["hyper_parameters"]


@pytest.mark.parametrize(
    ("features", "model", "message"),
    [
        ("waveform", "spectrogram_cnn", "pass --features logmel, or a 1D model"),
        ("logmel", "conv1d", "pass --features waveform, or a 2D model"),
    ],
)
def test_a_model_that_cannot_take_the_features_is_refused_naming_both(
    tmp_path, features, model, message
):
    argv = ["--data-dir", str(tmp_path), "--output-dir", str(tmp_path / "run"),
            "--features", features, "--model", model]  # fmt: skip
    with pytest.raises(ConfigError, match=message):
        parse_recipe(load_recipe("audio_folder"), argv)


def test_model_kwargs_the_recipe_sets_from_the_data_are_named_before_the_scan(tmp_path):
    argv = ["--data-dir", str(tmp_path), "--output-dir", str(tmp_path / "run"),
            "--model_kwargs", '{"num_classes": 5, "channels": [4]}']  # fmt: skip
    with pytest.raises(ConfigError, match="model_kwargs num_classes: set by the recipe"):
        parse_recipe(load_recipe("audio_folder"), argv)


def test_test_refuses_a_run_whose_clips_are_now_labelled_otherwise(tmp_path, capsys):
    """The same files with other labels (an edited manifest; another recipe of the same name)
    would score the model against labels it never trained on: refused, naming the clips."""
    from audioconv.cli import main

    data = tmp_path / "clips"
    rows = []
    for label, frequency in (("low", 300), ("high", 2500)):
        for k in range(6):
            tone(data / f"{label}_{k}.wav", frequency, seed=k)
            rows.append(f"{label}_{k}.wav,{label}")
    manifest = data / "labels.csv"
    manifest.write_text("path,label\n" + "\n".join(rows) + "\n")
    out = tmp_path / "run"
    argv = ["--data-dir", str(data), "--manifest-file", str(manifest), "--output-dir", str(out)]
    smoke("audio_folder", argv)
    manifest.write_text(manifest.read_text().replace("low_0.wav,low", "low_0.wav,high"))
    capsys.readouterr()
    test = ["test", "--checkpoint", str(out / "checkpoints" / "best.ckpt"), "--smoke",
            "--output-dir", str(tmp_path / "t")]  # fmt: skip
    with pytest.raises(SystemExit):
        main(test)
    assert "1 with another label, e.g. ['low_0.wav']" in capsys.readouterr().err
