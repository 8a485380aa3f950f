"""Run folders that cannot be corrupted: one fit per folder, no run overwritten, resume compares
before it writes, a run reproduces itself from its config.yaml, SIGKILL at several points and a
resume give the report of an uninterrupted run, and atomic writes never show a torn file."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from audioconv._atomic import atomic_pair
from audioconv.cli import main as cli_main
from audioconv.errors import ConfigError
from audioconv.runner import load_recipe, parse_recipe, recipe_options_from_run, run

pytestmark = pytest.mark.xdist_group("run_folder")

# The child program: the same tiny model and data in every process, and SIGKILL hooks.
CHILD = textwrap.dedent(
    '''
    """python child.py OUT KILL RESUME: fit a tiny model; KILL is "none", "write:NAME:N" (SIGKILL
    in the Nth write of NAME, after the temporary file is complete, before it is renamed) or
    "batch:EPOCH:INDEX" (SIGKILL when that training batch starts)."""
    import os
    import signal
    import sys
    from pathlib import Path

    import torch
    from lightning.pytorch.callbacks import Callback

    from audioconv.models import create
    from audioconv.tasks import Classifier
    from audioconv.training import TensorDataModule, fit

    SETTINGS = {"max_epochs": 4, "seed": 3, "enable_progress_bar": False, "log_every_n_steps": 1}


    def datamodule(num_workers=0):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(72, 2, 16, generator=g)
        y = (x[:, 0].mean(-1) > 0).long() + (x[:, 1].mean(-1) > 0).long()
        return TensorDataModule((x[:40], y[:40]), (x[40:56], y[40:56]), (x[56:], y[56:]),
                                batch_size=8, num_workers=num_workers)


    def model(filters=(8,)):
        torch.manual_seed(0)
        backbone = create("conv1d", dims=1, in_channels=2, num_classes=3, filters=filters,
                          dropout=0.2)
        return Classifier(backbone, task="multiclass", num_classes=3, optimizer="sgd",
                          scheduler="onecycle", lr=0.05)


    class KillAtBatch(Callback):
        def __init__(self, epoch, index):
            self.epoch, self.index = epoch, index

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if (trainer.current_epoch, batch_idx) == (self.epoch, self.index):
                os.kill(os.getpid(), signal.SIGKILL)


    def kill_in_write(name, n):
        real, hits = os.replace, [0]

        def replace(src, dst, *args, **kwargs):
            if Path(dst).name == name:
                hits[0] += 1
                if hits[0] == n:
                    os.kill(os.getpid(), signal.SIGKILL)
            return real(src, dst, *args, **kwargs)

        os.replace = replace


    if __name__ == "__main__":
        out, kill, resume = sys.argv[1], sys.argv[2], sys.argv[3] == "resume"
        callbacks = []
        if kill.startswith("write:"):
            _, name, n = kill.split(":")
            kill_in_write(name, int(n))
        elif kill.startswith("batch:"):
            _, epoch, index = kill.split(":")
            callbacks.append(KillAtBatch(int(epoch), int(index)))
        fit(model(), datamodule(), output_dir=out, resume=resume, callbacks=callbacks,
            **SETTINGS)
    '''
)


@pytest.fixture(scope="module")
def child(tmp_path_factory):
    """The child program's path and namespace (its builders, used in-process too)."""
    import runpy

    path = tmp_path_factory.mktemp("child") / "child.py"
    path.write_text(CHILD)
    return path, runpy.run_path(str(path))


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, child):
    """An uninterrupted fit of the child's model: the reference."""
    _, ns = child
    out = tmp_path_factory.mktemp("full")
    ns["fit"](ns["model"](), ns["datamodule"](), output_dir=out, **ns["SETTINGS"])
    return out


def _fit(ns, out, **options):
    settings = {**ns["SETTINGS"], **options}
    return ns["fit"](ns["model"](), ns["datamodule"](), output_dir=out, **settings)


def _snapshot(folder) -> dict[str, bytes]:
    """Every file under ``folder`` (but the lock) and its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


# --------------------------------------------------------------------------------------------
# One fit per folder; no run overwritten
# --------------------------------------------------------------------------------------------


def test_second_fit_into_a_locked_folder_is_refused_naming_the_holder(tmp_path, child):
    """A process holding the folder's lock (as a running fit does) makes fit refuse before it
    writes; once the holder is SIGKILLed the stale lock file no longer blocks."""
    _, ns = child
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom audioconv._runfolder import run_lock\n"
         "with run_lock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(120)\n",
         str(out)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        in_use = rf"in use by another audioconv process \(pid {holder.pid} on "
        with pytest.raises(ConfigError, match=in_use):
            _fit(ns, out)
        assert _snapshot(out) == {}  # nothing written
    finally:
        holder.kill()
        holder.wait()
    assert (out / ".lock").is_file()  # left behind by the killed holder, and free
    _fit(ns, out, max_epochs=1)
    assert (out / "report.json").is_file()


@pytest.mark.parametrize(
    "artifact",
    ["checkpoints/best.ckpt", "checkpoints/last.ckpt", "report.json", "metrics.csv", "config.yaml"],
)
def test_any_run_artifact_refuses_fit_without_resume(tmp_path, child, artifact):
    _, ns = child
    (tmp_path / artifact).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / artifact).write_text("from an earlier run\n")
    before = _snapshot(tmp_path)
    with pytest.raises(ConfigError, match=rf"already holds a run \({artifact}\).*resume=True"):
        _fit(ns, tmp_path)
    assert _snapshot(tmp_path) == before


def test_best_checkpoint_without_last_is_not_resumed_or_overwritten(tmp_path, child, full_run):
    _, ns = child
    shutil.copytree(full_run, tmp_path / "run")
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints" / "last.ckpt").unlink()
    (run_dir / "report.json").unlink()
    before = _snapshot(run_dir)
    with pytest.raises(ConfigError, match="best.ckpt but no checkpoints/last.ckpt"):
        _fit(ns, run_dir, resume=True)
    assert _snapshot(run_dir) == before


# --------------------------------------------------------------------------------------------
# Resume compares before it touches anything
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cut_run(tmp_path_factory, child):
    """The child's fit SIGKILLed when epoch 2 starts: last.ckpt holds epochs 0 and 1."""
    path, _ = child
    out = tmp_path_factory.mktemp("cut") / "run"
    done = subprocess.run([sys.executable, str(path), str(out), "batch:2:0", "fresh"])
    assert done.returncode == -signal.SIGKILL
    assert torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 1
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "listed"),
    [
        ({"max_epochs": 6}, ["fit.max_epochs: 4 -> 6", "max_epochs cannot change on resume"]),
        ({"model": {"filters": (4, 4)}}, ["backbone_config.kwargs.filters: [8] -> [4, 4]"]),
        ({"seed": 1, "limit_train_batches": 2}, ["fit.seed: 3 -> 1", "limit_train_batches"]),
        ({"datamodule": {"num_workers": 1}}, ["num_workers: 0 -> 1"]),  # other random streams
    ],
)
def test_resume_with_changed_options_lists_each_and_writes_nothing(
    tmp_path, child, cut_run, change, listed
):
    _, ns = child
    run_dir = tmp_path / "run"
    shutil.copytree(cut_run, run_dir)
    before = _snapshot(run_dir)
    change = dict(change)
    model = ns["model"](**change.pop("model", {}))
    data = ns["datamodule"](**change.pop("datamodule", {}))
    settings = {**ns["SETTINGS"], **change}
    with pytest.raises(ConfigError, match="cannot resume") as error:
        ns["fit"](model, data, output_dir=run_dir, resume=True, **settings)
    for text in listed:
        assert text in str(error.value)
    assert _snapshot(run_dir) == before  # config.yaml, metrics.csv and checkpoints untouched


def test_a_finished_run_is_not_resumed(tmp_path, child, full_run):
    _, ns = child
    shutil.copytree(full_run, tmp_path / "run")
    before = _snapshot(tmp_path / "run")
    with pytest.raises(ConfigError, match="finished run"):
        _fit(ns, tmp_path / "run", resume=True)
    with pytest.raises(ConfigError, match="fit.max_epochs: 4 -> 5"):
        _fit(ns, tmp_path / "run", resume=True, max_epochs=5)
    assert _snapshot(tmp_path / "run") == before  # metrics.csv keeps its test row


# --------------------------------------------------------------------------------------------
# SIGKILL at several points, then resume: the report of an uninterrupted run
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_sigkill_at_several_points_then_resume_gives_the_uninterrupted_report(
    tmp_path, child, full_run
):
    """Killed in its first metrics write (before any checkpoint), then resumed and killed while
    writing epoch 1's last.ckpt (a complete temporary file, not yet renamed), then resumed and
    killed in the middle of epoch 2; the last resume finishes. Every file equals the
    uninterrupted run's, and no temporary file is left or read."""
    path, ns = child
    out = tmp_path / "run"
    for kill, mode in (("write:metrics.csv:1", "fresh"), ("write:last.ckpt:2", "resume"),
                       ("batch:2:3", "resume")):  # fmt: skip
        done = subprocess.run([sys.executable, str(path), str(out), kill, mode])
        assert done.returncode == -signal.SIGKILL, kill
        if kill.startswith("write:last.ckpt"):
            assert list((out / "checkpoints").glob(".last.ckpt.partial-*"))  # killed mid-write
            epoch = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)["epoch"]
            assert epoch == 0  # the epoch-1 checkpoint never replaced the epoch-0 one
    _fit(ns, out, resume=True)
    assert not list(out.rglob(".*.partial-*"))
    for name in ("report.json", "metrics.csv", "predictions.csv", "splits.csv"):
        assert (out / name).read_bytes() == (full_run / name).read_bytes(), name
    a = torch.load(full_run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    b = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


# --------------------------------------------------------------------------------------------
# Reproducible from its folder: --config RUN/config.yaml, splits.csv, predictions.csv
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits_run(tone_digits, tiny_audio_options, tmp_path_factory):
    """A spoken_digits smoke run through ``audioconv fit`` on generated clips (4 voices)."""
    data = tone_digits(clips_per_digit=2, suffix=".flac")
    out = tmp_path_factory.mktemp("digits_run") / "run"
    argv = ["fit", "spoken_digits", "--data-dir", str(data), "--output-dir", str(out)]
    assert cli_main([*argv, *tiny_audio_options, "--no-baseline"]) == 0
    return out


@pytest.mark.slow
def test_rerun_from_its_config_is_byte_identical(digits_run, tmp_path, capsys):
    config = digits_run / "config.yaml"
    before = _snapshot(digits_run)
    with pytest.raises(SystemExit):  # the run's own folder holds the run: a new one is needed
        cli_main(["fit", "--config", str(config)])
    assert "already holds a run" in capsys.readouterr().err
    assert _snapshot(digits_run) == before

    assert cli_main(["fit", "--config", str(config), "--output-dir", str(tmp_path / "a")]) == 0
    recipe = parse_recipe(
        load_recipe("spoken_digits"), ["--config", str(config), "--output-dir", str(tmp_path / "b")]
    )  # what python recipes/spoken_digits.py --config ... does
    run(recipe, progress=False, out=io.StringIO())
    for copy in ("a", "b"):
        for name in ("report.json", "predictions.csv", "splits.csv", "metrics.csv"):
            assert (tmp_path / copy / name).read_bytes() == (digits_run / name).read_bytes(), name


def test_splits_and_predictions_agree_with_the_report(digits_run):
    splits = pd.read_csv(digits_run / "splits.csv")
    assert list(splits.columns) == ["path", "label", "group", "split"]
    data = recipe_options_from_run(digits_run)[1]["data_dir"]
    assert sorted(splits["path"]) == sorted(str(p) for p in Path(data).glob("*.flac"))
    assert set(splits.loc[splits["split"] == "test", "group"]) == {"dan"}
    assert splits.groupby("group")["split"].nunique().max() == 1  # no voice in two splits

    predictions = pd.read_csv(digits_run / "predictions.csv", dtype={"true": str, "predicted": str})
    report = json.loads((digits_run / "report.json").read_text())
    names = report["class_names"]
    assert list(predictions.columns) == ["path", "group", "true", "predicted"] + [
        f"p_{c}" for c in names
    ]
    assert list(predictions["path"]) == list(splits.loc[splits["split"] == "test", "path"])
    probabilities = predictions[[f"p_{c}" for c in names]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=1e-6)
    assert list(predictions["predicted"]) == [names[k] for k in probabilities.argmax(1)]
    accuracy = (predictions["true"] == predictions["predicted"]).mean()
    assert accuracy == pytest.approx(report["metrics"]["accuracy_score"])
    assert report["n_samples"] == len(predictions) == 6


@pytest.mark.slow
def test_recipe_resume_lists_front_end_and_split_changes(digits_run, tmp_path, capsys):
    """``--n-mels 32 --val-size 0.3`` on a 16-mel run killed in its test phase: one error naming
    each option with the recorded and the given value; config.yaml and metrics.csv unchanged."""
    run_dir = tmp_path / "run"
    shutil.copytree(digits_run, run_dir)
    (run_dir / "report.json").unlink()  # killed before the report: resumable
    before = _snapshot(run_dir)
    argv = ["fit", "--config", str(run_dir / "config.yaml"), "--output-dir", str(run_dir)]
    with pytest.raises(SystemExit):
        cli_main([*argv, "--resume", "--n-mels", "32", "--val-size", "0.3"])
    err = capsys.readouterr().err
    for line in ("n_mels: 16 -> 32", "recipe.options.val_size: 0.15 -> 0.3"):
        assert line in err
    assert "frontend_config.kwargs.n_mels: 16 -> 32" in err
    assert _snapshot(run_dir) == before


def test_run_config_paths_are_relative_to_the_file(tmp_path):
    (tmp_path / "runs" / "x").mkdir(parents=True)
    (tmp_path / "runs" / "x" / "config.yaml").write_text(
        "recipe:\n  name: ucr\n  options:\n    output_dir: out\n    data_dir: ../../data\n"
    )
    name, options = recipe_options_from_run(tmp_path / "runs" / "x" / "config.yaml")
    assert name == "ucr"
    assert os.path.normpath(options["data_dir"]) == str(tmp_path / "data")
    assert options["output_dir"] == str(tmp_path / "runs" / "x" / "out")
    with pytest.raises(ConfigError, match="is a run of recipe 'ucr', not 'spoken_digits'"):
        parse_recipe(
            load_recipe("spoken_digits"), ["--config", str(tmp_path / "runs/x/config.yaml")]
        )


# --------------------------------------------------------------------------------------------
# Atomic pairs
# --------------------------------------------------------------------------------------------


def test_atomic_pair_never_leaves_a_new_file_with_the_old_companion(tmp_path, monkeypatch):
    model, meta = tmp_path / "m.onnx", tmp_path / "m.onnx.json"
    model.write_text("old model")
    meta.write_text("old meta")
    real = os.replace

    def crash_after_first(src, dst):
        real(src, dst)
        if dst == model:
            raise OSError("crash between the two renames")

    monkeypatch.setattr(os, "replace", crash_after_first)
    with pytest.raises(OSError, match="crash"), atomic_pair(model, meta) as (tmp_model, tmp_meta):
        tmp_model.write_text("new model")
        tmp_meta.write_text("new meta")
    assert model.read_text() == "new model" and not meta.exists()  # never new + old meta
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # no temporaries left
    monkeypatch.setattr(os, "replace", real)
    with pytest.raises(RuntimeError), atomic_pair(model, meta) as (tmp_model, _):
        tmp_model.write_text("newer")
        raise RuntimeError("export failed")
    assert model.read_text() == "new model"  # a failed write changes nothing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


@pytest.mark.slow
def test_resume_refuses_data_that_changed_since_the_run_started(
    tone_digits, tiny_audio_options, tmp_path, capsys
):
    """splits.csv is written before training, so an interrupted run knows what it trains on.
    Resuming on a folder with one more clip (it would re-split, putting clips the model trained
    on into test) is refused and writes nothing. The run folder copied elsewhere (the original
    deleted) and its clips moved to another folder resume, test this folder's best.ckpt and give
    the run's report."""
    data = tone_digits(clips_per_digit=2, suffix=".flac")
    origin = tmp_path / "origin"
    argv = ["fit", "spoken_digits", "--data-dir", str(data), "--output-dir", str(origin)]
    assert cli_main([*argv, *tiny_audio_options, "--no-baseline"]) == 0
    metrics = json.loads((origin / "report.json").read_text())["metrics"]
    run_dir = tmp_path / "run"
    shutil.copytree(origin, run_dir)
    shutil.rmtree(origin)
    (run_dir / "report.json").unlink()  # killed before the report: resumable
    moved = tmp_path / "moved"
    shutil.copytree(data, moved)
    extra = tmp_path / "extra"
    shutil.copytree(data, extra)
    shutil.copy(extra / "0_ann_0.flac", extra / "0_ann_9.flac")  # one more clip in the dataset
    table = pd.read_csv(extra / "splits.csv")  # the folder's own split (path,label,speaker,split)
    row = table[table["path"] == "0_ann_0.flac"].assign(path="0_ann_9.flac")
    pd.concat([table, row]).to_csv(extra / "splits.csv", index=False)
    before = _snapshot(run_dir)
    argv = ["fit", "--config", str(run_dir / "config.yaml"), "--output-dir", str(run_dir)]
    with pytest.raises(SystemExit):
        cli_main([*argv, "--resume", "--data-dir", str(extra)])
    err = capsys.readouterr().err
    assert "the data differ from the data this run trained on (1 sample(s) added" in err
    assert "0_ann_9.flac" in err and "start a new run" in err
    assert _snapshot(run_dir) == before

    assert cli_main([*argv, "--resume", "--data-dir", str(moved)]) == 0
    assert json.loads((run_dir / "report.json").read_text())["metrics"] == metrics
    splits = pd.read_csv(run_dir / "splits.csv")
    assert all(p.startswith(str(moved)) for p in splits["path"])
