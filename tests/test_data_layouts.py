"""Audio datasets and dataset layouts on tiny synthetic copies (8 kHz clips written in the test)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from audioconv.data import AudioDataset, AudioFolder, AudioManifest, layouts
from audioconv.errors import ConfigError, DatasetError

RATE = 8000


def write_clip(path: Path, *, seconds: float = 0.1, freq: float = 440.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * RATE)) / RATE
    sf.write(path, 0.3 * np.sin(2 * np.pi * freq * t), RATE)
    return path


# -- folders and manifests ---------------------------------------------------------------------
def test_audio_folder_classes_counts_and_items(tmp_path):
    for name, count in (("dog", 3), ("cat", 2), ("bird", 1)):
        for i in range(count):
            write_clip(tmp_path / name / f"{i}.wav", freq=200 + 100 * i)
    (tmp_path / "dog" / "notes.txt").write_text("not audio")
    ds = AudioFolder(tmp_path)
    assert ds.class_names == ["bird", "cat", "dog"]
    assert np.bincount(ds.targets()).tolist() == [1, 2, 3]
    wave, label = ds[len(ds) - 1]
    assert wave.shape == (1, 800) and wave.dtype == torch.float32
    assert ds.class_names[int(label)] == "dog"


def test_empty_class_folder_is_an_error(tmp_path):
    write_clip(tmp_path / "yes" / "a.wav")
    (tmp_path / "no").mkdir()
    with pytest.raises(DatasetError, match="no"):
        AudioFolder(tmp_path)


def test_manifest_lists_every_missing_file_in_one_error(tmp_path):
    write_clip(tmp_path / "ok.wav")
    frame = pd.DataFrame(
        {"path": ["ok.wav", "gone1.wav", "gone2.wav", "gone3.wav"], "label": ["a", "b", "a", "b"]}
    )
    frame.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(DatasetError) as info:
        AudioManifest(tmp_path / "m.csv")
    message = str(info.value)
    assert "3 file(s)" in message
    assert all(f"gone{i}.wav" in message for i in (1, 2, 3))


def test_unreadable_audio_and_unknown_label_raise_then_skip_reports(tmp_path):
    good = write_clip(tmp_path / "good.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    frame = pd.DataFrame({"path": [str(good), str(bad), str(good)], "label": ["a", "a", "zebra"]})
    with pytest.raises(DatasetError, match=r"1 audio file\(s\) cannot be used:\n  .*bad.wav: "):
        AudioDataset(frame.iloc[:2], class_names=["a", "b"])
    with pytest.raises(DatasetError, match="zebra"):
        AudioDataset(frame.iloc[[0, 2]], class_names=["a", "b"])
    with pytest.warns(UserWarning, match="skipped 2 bad clip") as record:
        ds = AudioDataset(frame, class_names=["a", "b"], on_error="skip")
    assert len(ds) == 1
    assert sorted(Path(p).name for p, _ in ds.skipped) == ["bad.wav", "good.wav"]
    assert "bad.wav" in str(record[0].message) and "zebra" in str(record[0].message)


def test_segments_and_multilabel_manifest(tmp_path):
    write_clip(tmp_path / "long.wav", seconds=1.0)
    frame = pd.DataFrame(
        {"path": ["long.wav"] * 2, "tags": ["happy;calm", "sad"], "offset": [0.0, 0.5],
         "duration": [0.25, 0.5]}
    )  # fmt: skip
    frame.to_csv(tmp_path / "tags.csv", index=False)
    ds = AudioManifest(tmp_path / "tags.csv")
    assert ds.task == "multilabel" and ds.class_names == ["calm", "happy", "sad"]
    (w0, y0), (w1, y1) = ds[0], ds[1]
    assert w0.shape == (1, 2000) and w1.shape == (1, 4000)
    assert y0.tolist() == [1.0, 1.0, 0.0] and y1.tolist() == [0.0, 0.0, 1.0]


# -- layouts ------------------------------------------------------------------------------------
def test_fsdd_layout(tmp_path):
    for digit in (0, 1, 2):
        for speaker in ("jackson", "theo"):
            for index in (0, 4, 5, 6):
                write_clip(tmp_path / "recordings" / f"{digit}_{speaker}_{index}.wav")
    frame = layouts.fsdd(tmp_path)
    ds = AudioDataset(frame)
    assert ds.class_names == ["0", "1", "2"] and len(ds) == 24
    assert set(frame["group"]) == {"jackson", "theo"}
    assert (frame["split"] == "test").sum() == 12  # indices 0-4 are the official test set
    assert set(frame.loc[frame["index"] >= 5, "split"]) == {"train"}


def test_speech_commands_layout_35_and_12(tmp_path):
    words = ["yes", "no", "bed", "wow"]
    for word in words:
        for speaker in ("aa11", "bb22", "cc33"):
            write_clip(tmp_path / word / f"{speaker}_nohash_0.wav")
    (tmp_path / "validation_list.txt").write_text("yes/bb22_nohash_0.wav\nbed/bb22_nohash_0.wav\n")
    (tmp_path / "testing_list.txt").write_text("no/cc33_nohash_0.wav\nwow/cc33_nohash_0.wav\n")
    write_clip(tmp_path / "_background_noise_" / "white_noise.wav", seconds=10.0)
    write_clip(tmp_path / "__MACOSX" / "yes" / "._aa11_nohash_0.wav")  # not a word, not a clip
    write_clip(tmp_path / "yes" / "._aa11_nohash_0.wav")

    full = layouts.speech_commands(tmp_path, classes=35)
    assert sorted(set(full["label"])) == sorted(words) and len(full) == 12
    assert (full["split"] == "val").sum() == 2 and (full["split"] == "test").sum() == 2
    assert full.loc[full["path"].str.endswith("no/cc33_nohash_0.wav"), "split"].item() == "test"
    assert set(full["group"]) == {"aa11", "bb22", "cc33"}

    twelve = layouts.speech_commands(tmp_path, classes=12)
    ds = AudioDataset(twelve, class_names=layouts.SPEECH_COMMANDS_12)
    counts = dict(zip(ds.class_names, np.bincount(ds.targets(), minlength=12), strict=True))
    assert counts["yes"] == 3 and counts["no"] == 3 and counts["_unknown_"] == 6
    assert counts["_silence_"] == 10  # ten 1 s segments of the 10 s noise recording
    silence = twelve[twelve["label"] == "_silence_"]
    assert silence["split"].value_counts().to_dict() == {"train": 8, "val": 1, "test": 1}
    wave, label = ds[int(np.flatnonzero(ds.targets() == 10)[0])]
    assert wave.shape == (1, RATE) and ds.class_names[int(label)] == "_silence_"


def test_gtzan_layout(tmp_path):
    for genre in ("blues", "jazz", "rock"):
        for k in range(2):
            write_clip(tmp_path / "genres_original" / genre / f"{genre}.0000{k}.wav")
    ds = AudioDataset(layouts.gtzan(tmp_path))
    assert ds.class_names == ["blues", "jazz", "rock"]
    assert np.bincount(ds.targets()).tolist() == [2, 2, 2]


def test_esc50_layout_folds_and_esc10(tmp_path):
    rows = []
    categories = {0: "dog", 1: "rooster", 2: "rain"}
    for fold in range(1, 6):
        for target, category in categories.items():
            name = f"{fold}-{100 + target}-A-{target}.wav"
            write_clip(tmp_path / "audio" / name)
            rows.append(
                {"filename": name, "fold": fold, "target": target, "category": category,
                 "esc10": category != "rooster", "src_file": 100 + target, "take": "A"}
            )  # fmt: skip
    (tmp_path / "meta").mkdir()
    pd.DataFrame(rows).to_csv(tmp_path / "meta" / "esc50.csv", index=False)
    frame = layouts.esc50(tmp_path)
    ds = AudioDataset(frame)
    assert ds.class_names == ["dog", "rooster", "rain"]  # ordered by target, not alphabetically
    assert sorted(frame["fold"].unique()) == [1, 2, 3, 4, 5]
    assert (frame["fold"] == 3).sum() == 3
    assert set(layouts.esc50(tmp_path, esc10=True)["label"]) == {"dog", "rain"}


def test_ravdess_layout(tmp_path):
    for actor in (1, 2):
        for emotion in (1, 5, 8):
            name = f"03-01-{emotion:02d}-01-01-01-{actor:02d}.wav"
            write_clip(tmp_path / f"Actor_{actor:02d}" / name)
    frame = layouts.ravdess(tmp_path)
    ds = AudioDataset(frame)
    assert ds.class_names == list(layouts.RAVDESS_EMOTIONS)
    assert np.bincount(ds.targets(), minlength=8).tolist() == [2, 0, 0, 0, 2, 0, 0, 2]
    assert set(frame["group"]) == {"actor01", "actor02"}
    write_clip(tmp_path / "Actor_01" / "stray.wav")
    with pytest.raises(DatasetError, match="stray.wav"):
        layouts.ravdess(tmp_path)


def test_ravdess_layout_keeps_one_vocal_channel_and_counts_the_other(tmp_path):
    """The speech and song zips unpack into the same Actor_XX folders: ``vocal_channel`` keeps one
    kind, warns with the number set aside, and refuses a folder holding none of it."""
    for actor in (1, 2):
        for channel, emotion in ((1, 7), (1, 5), (2, 5), (2, 6)):
            name = f"03-{channel:02d}-{emotion:02d}-01-01-01-{actor:02d}.wav"
            write_clip(tmp_path / f"Actor_{actor:02d}" / name)
    assert len(layouts.ravdess(tmp_path)) == 8  # "all", the reader's default
    with pytest.warns(UserWarning, match="4 RAVDESS song clips set aside, 4 speech clips kept"):
        speech = layouts.ravdess(tmp_path, vocal_channel="speech")
    assert set(speech["vocal_channel"]) == {"speech"} and len(speech) == 4
    assert speech.attrs["class_names"] == list(layouts.RAVDESS_EMOTIONS)
    with pytest.warns(UserWarning, match="4 RAVDESS speech clips set aside"):
        song = layouts.ravdess(tmp_path, vocal_channel="song")
    assert song.attrs["class_names"] == list(layouts.RAVDESS_SONG_EMOTIONS)
    assert sorted(set(song["label"])) == ["angry", "fearful"]
    for path in tmp_path.rglob("03-02-*.wav"):
        path.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing set aside, nothing to say
        assert len(layouts.ravdess(tmp_path, vocal_channel="speech")) == 4
    with pytest.raises(DatasetError, match="none of its 4 RAVDESS clips is song"):
        layouts.ravdess(tmp_path, vocal_channel="song")
    with pytest.raises(ConfigError, match="vocal_channel='songs'"):
        layouts.ravdess(tmp_path, vocal_channel="songs")


def test_cremad_layout(tmp_path):
    for actor in ("1001", "1002"):
        for code in ("ANG", "HAP", "SAD"):
            write_clip(tmp_path / "AudioWAV" / f"{actor}_DFA_{code}_XX.wav")
    frame = layouts.cremad(tmp_path)
    ds = AudioDataset(frame)
    assert ds.class_names == ["anger", "disgust", "fear", "happy", "neutral", "sad"]
    assert np.bincount(ds.targets(), minlength=6).tolist() == [2, 0, 0, 2, 0, 2]
    assert set(frame["group"]) == {"1001", "1002"}


def test_tags_csv_both_formats(tmp_path):
    for i in range(3):
        write_clip(tmp_path / f"song{i}.wav")
    pd.DataFrame(
        {"path": [f"song{i}.wav" for i in range(3)], "tags": ["happy;energetic", "sad", ""]}
    ).to_csv(tmp_path / "joined.csv", index=False)
    joined = AudioDataset(layouts.tags_csv(tmp_path / "joined.csv"))
    assert joined.class_names == ["energetic", "happy", "sad"]
    assert joined.targets().tolist() == [[1, 1, 0], [0, 0, 1], [0, 0, 0]]
    pd.DataFrame(
        {"path": [f"song{i}.wav" for i in range(3)], "happy": [1, 0, 0], "sad": [0, 1, 1]}
    ).to_csv(tmp_path / "columns.csv", index=False)
    columns = AudioDataset(layouts.tags_csv(tmp_path / "columns.csv", tag_columns=["happy", "sad"]))
    assert columns.class_names == ["happy", "sad"]
    assert columns.targets().tolist() == [[1, 0], [0, 1], [0, 1]]


# -- the layout registry: every registered layout, read from its example tree ----------------
@pytest.mark.parametrize("name", layouts.list_layouts())
def test_every_registered_layout_reads_its_example_tree(name, tmp_path):
    spec = layouts.registered_layout(name)
    assert spec.example is not None, f"layout {name!r}: register it with example=<tree builder>"
    assert spec.description.strip(), name
    frame = layouts.read_layout(name, spec.example(tmp_path))
    assert isinstance(frame, pd.DataFrame) and len(frame) >= 2, name
    assert "path" in frame.columns and ({"label", "tags"} & set(frame.columns)), name
    assert all(Path(p).is_file() for p in frame["path"]), name
    ds = AudioDataset(frame)
    assert len(ds.class_names) >= 2 and len(ds) == len(frame)
    wave, _ = ds[0]
    assert wave.shape[0] == 1 and wave.shape[1] > 0
    assert getattr(layouts, name) is spec.read  # importable under its name, as the recipes do


def test_every_module_of_the_layouts_package_is_imported():
    import pkgutil
    import sys

    names = [m.name for m in pkgutil.iter_modules(layouts.__path__)]
    assert {"registry", "common", "fsdd", "esc50"} <= set(names)
    assert all(f"audioconv.data.layouts.{n}" in sys.modules for n in names)


def test_read_layout_passes_options_and_unknown_names_list_the_registered_ones(tmp_path):
    from audioconv.errors import ConfigError

    root = layouts.registered_layout("esc50").example(tmp_path)
    assert layouts.read_layout("esc50", root).equals(layouts.esc50(root))
    assert len(layouts.read_layout("esc50", root, esc10=True)) == 4
    with pytest.raises(ConfigError, match=r"unknown dataset layout 'esc5'.*'esc50'.*fsdd"):
        layouts.read_layout("esc5", root)
    with pytest.raises(ConfigError, match="already registered"):
        layouts.register_layout("fsdd", description="again")(lambda root: None)


PLUGIN = """
import pandas as pd

from audioconv.data.layouts import register_layout


def _example(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("a_1.wav", "b_1.wav"):
        (folder / name).write_bytes(b"")
    return folder


@register_layout("letters_plugin", description="<letter>_<n>.wav", example=_example)
def letters_plugin(root):
    files = sorted(root.glob("*.wav"))
    return pd.DataFrame({"path": [str(f) for f in files], "label": [f.name[0] for f in files]})
"""


def test_a_layout_file_registers_itself_when_imported(tmp_path, monkeypatch):
    import importlib
    import sys

    from audioconv.data.layouts import registry

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    (tmp_path / "letters_plugin_layout.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        importlib.import_module("letters_plugin_layout")
        assert "letters_plugin" in layouts.list_layouts()
        root = layouts.registered_layout("letters_plugin").example(tmp_path / "data")
        assert layouts.read_layout("letters_plugin", root)["label"].tolist() == ["a", "b"]
    finally:
        sys.modules.pop("letters_plugin_layout", None)
    monkeypatch.undo()
    assert "letters_plugin" not in layouts.list_layouts()


def test_audio_folder_reads_any_registered_layout_by_name(tmp_path):
    from audioconv.errors import ConfigError
    from audioconv.runner import load_recipe, parse_recipe

    root = layouts.registered_layout("esc50").example(tmp_path)
    AudioFolderRecipe = load_recipe("audio_folder")
    recipe = parse_recipe(
        AudioFolderRecipe, ["--data-dir", str(root), "--dataset", "esc50", "--output-dir", "x"]
    )
    assert recipe.manifest().equals(layouts.esc50(root))
    assert recipe.folds() == [1, 2]  # the layout's folds: every one in turn
    subset = parse_recipe(
        AudioFolderRecipe,
        ["--data-dir", str(root), "--output-dir", "x", "--dataset", "esc50", "--dataset_kwargs",
         '{"esc10": true}'],
    )  # fmt: skip
    assert len(subset.manifest()) == 4
    with pytest.raises(ConfigError, match=r"unknown dataset layout 'esc5'.*class_folders"):
        AudioFolderRecipe(data_dir=root, output_dir=Path("x"), dataset="esc5")
    with pytest.raises(ConfigError, match="reads its own dataset layout"):  # a preset
        parse_recipe(
            load_recipe("environmental_sounds"),
            ["--data-dir", str(root), "--output-dir", "x", "--dataset", "fsdd"],
        )
    emotion = parse_recipe(
        load_recipe("speech_emotion"),
        ["--data-dir", str(root), "--output-dir", "x", "--dataset", "cremad"],
    )
    assert emotion.dataset == "cremad"  # its own option of the same name
    with pytest.raises(ConfigError, match="give one"):
        AudioFolderRecipe(
            data_dir=root, output_dir=Path("x"), dataset="esc50", manifest_file=Path("m.csv")
        )
