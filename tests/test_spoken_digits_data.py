"""The embedded spoken-digit dataset (data/spoken_digits) and its generator script."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from audioconv.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data" / "spoken_digits"
FSDD_NAME = re.compile(r"^(\d)_([a-z0-9]+)_(\d+)\.flac$")


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        "make_spoken_digits", REPO / "data" / "make_spoken_digits.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


@pytest.fixture(scope="module")
def manifest() -> pd.DataFrame:
    return pd.read_csv(DATA / "splits.csv")


# --- the shipped files ---------------------------------------------------------------------------


def test_manifest_lists_exactly_the_shipped_files(manifest):
    on_disk = sorted(p.name for p in DATA.glob("*.flac"))
    assert list(manifest.columns) == ["path", "label", "speaker", "split"]
    assert sorted(manifest["path"]) == on_disk
    assert len(on_disk) == len(gen.voice_table()) * 10 * gen.DEFAULT_UTTERANCES


def test_total_size_is_a_few_megabytes():
    total = sum(p.stat().st_size for p in DATA.glob("*.flac"))
    assert 1e6 < total <= 6.5e6


def test_every_file_decodes_mono_at_the_documented_rate():
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert f"FLAC at {gen.SAMPLE_RATE} Hz" in readme
    max_frames = int(gen.MAX_SECONDS * gen.SAMPLE_RATE)
    for path in sorted(DATA.glob("*.flac")):
        samples, rate = sf.read(path, dtype="float32", always_2d=True)
        assert rate == gen.SAMPLE_RATE, path
        assert samples.shape[1] == 1, path
        assert 0.1 * gen.SAMPLE_RATE < samples.shape[0] <= max_frames, path
        assert np.isfinite(samples).all(), path
        assert 0.1 < np.abs(samples).max() <= 1.0, path


def test_names_parse_in_the_fsdd_layout(manifest):
    for row in manifest.itertuples():
        match = FSDD_NAME.match(row.path)
        assert match is not None, row.path
        assert int(match.group(1)) == row.label
        assert match.group(2) == row.speaker
        assert int(match.group(3)) < gen.DEFAULT_UTTERANCES


def test_labels_are_balanced_in_every_split(manifest):
    counts = manifest.groupby(["split", "label"]).size().unstack()
    assert sorted(counts.columns) == list(range(10))
    assert (counts.nunique(axis=1) == 1).all(), counts


def test_split_is_by_speaker(manifest):
    splits_per_speaker = manifest.groupby("speaker")["split"].nunique()
    assert (splits_per_speaker == 1).all()
    expected = {v.speaker: v.split for v in gen.voice_table()}
    assert dict(manifest.groupby("speaker")["split"].first()) == expected
    fractions = manifest["split"].value_counts(normalize=True)
    assert 0.65 <= fractions["train"] <= 0.75
    assert 0.10 <= fractions["val"] <= 0.15
    assert 0.15 <= fractions["test"] <= 0.20


def test_held_out_voices_combine_accents_and_variants_seen_in_training():
    voices = gen.voice_table()
    train = [v for v in voices if v.split == "train"]
    for voice in voices:
        if voice.split != "train":
            assert sum(t.base == voice.base for t in train) >= 5, voice
            assert sum(t.variant == voice.variant for t in train) >= 2, voice


def test_readme_records_tool_versions_and_every_voice():
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    for tool in ("espeak-ng", "sox", "libsndfile"):
        assert re.search(rf"^- {tool}: \S+$", readme, flags=re.MULTILINE), tool
    for voice in gen.voice_table():
        assert f"| {voice.speaker} | `{voice.espeak_voice}` | {voice.split} |" in readme


# --- the generator -------------------------------------------------------------------------------


SUBSET = {"speakers": ["scocroak"], "digits": [3, 6]}


def test_generation_is_deterministic(tmp_path):
    first = gen.generate(tmp_path / "a", workers=1, **SUBSET)
    second = gen.generate(tmp_path / "b", workers=1, **SUBSET)
    assert len(first) == 2 * gen.DEFAULT_UTTERANCES
    assert first.equals(second)
    for name in first["path"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_regenerated_subset_matches_the_shipped_clips(tmp_path, manifest):
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    recorded = dict(re.findall(r"^- (espeak-ng|sox): (\S+)$", readme, flags=re.MULTILINE))
    installed = {k: v for k, v in gen.tool_versions().items() if k in recorded}
    if installed != recorded:
        pytest.skip(f"shipped clips were made with {recorded}; this machine has {installed}")
    regenerated = gen.generate(tmp_path, workers=1, **SUBSET)
    shipped = manifest.set_index("path").loc[regenerated["path"]].reset_index()
    assert regenerated.equals(shipped)
    for name in regenerated["path"]:
        new, _ = sf.read(tmp_path / name, dtype="int16")
        old, _ = sf.read(DATA / name, dtype="int16")
        assert new.shape == old.shape, name
        # Identical here; up to 1 LSB is allowed for float rounding on other CPUs.
        assert np.abs(new.astype(int) - old.astype(int)).max() <= 1, name


def test_plan_rejects_unknown_speakers_and_digits():
    with pytest.raises(ConfigError, match="nobody"):
        gen.plan(speakers=["nobody"])
    with pytest.raises(ConfigError, match="12"):
        gen.plan(digits=[12])
    with pytest.raises(ConfigError, match="utterances=0"):
        gen.plan(utterances=0)
