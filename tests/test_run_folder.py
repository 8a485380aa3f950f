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


def test_second_fit_into_a_locked_folder_is_refused_naming_the_holder(
    tmp_path, child, hold_run_lock
):
    """A process holding the folder's lock (as a running fit does) makes fit refuse before it
    writes; once the holder is SIGKILLed the stale lock file no longer blocks."""
    _, ns = child
    out = tmp_path / "run"
    holder = hold_run_lock(out)
    in_use = rf"in use by another audioconv process \(pid {holder.pid} on "
    with pytest.raises(ConfigError, match=in_use):
        _fit(ns, out)
    assert _snapshot(out) == {}  # nothing written
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
    resumable = "cannot be resumed" if artifact.endswith("best.ckpt") else "resume=True"
    with pytest.raises(ConfigError, match=rf"already holds a run \({artifact}\).*{resumable}") as e:
        _fit(ns, tmp_path)
    assert _snapshot(tmp_path) == before
    untrained = "stopped before its first checkpoint, so nothing was trained: deleting"
    assert (untrained in str(e.value)) == (not artifact.startswith("checkpoints/"))


def test_best_checkpoint_without_last_is_not_resumed_or_overwritten(tmp_path, child, full_run):
    _, ns = child
    shutil.copytree(full_run, tmp_path / "run")
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints" / "last.ckpt").unlink()
    (run_dir / "report.json").unlink()
    before = _snapshot(run_dir)
    assert torch.load(run_dir / "checkpoints" / "best.ckpt", weights_only=True)["epoch"] > 0
    for resume in (False, True):  # the same answer either way
        with pytest.raises(ConfigError, match="cannot be resumed: no checkpoints/last.ckpt"):
            _fit(ns, run_dir, resume=resume)
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
    assert list(splits.columns) == ["path", "label", "group", "split", "size", "fingerprint"]
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


# --------------------------------------------------------------------------------------------
# Folders that cannot be runs, runs inside runs, files written into a run by others
# --------------------------------------------------------------------------------------------


def test_a_fit_inside_another_run_is_refused_and_leaves_its_temporary_files(
    tmp_path, child, full_run
):
    """A fit into RUN/checkpoints (a folder the running fit of RUN writes) is refused before it
    takes its lock, so RUN's in-flight checkpoint is not removed; a project's own config.yaml
    above a run folder is no run."""
    _, ns = child
    run_dir = tmp_path / "run"
    shutil.copytree(full_run, run_dir)
    in_flight = run_dir / "checkpoints" / ".last.ckpt.partial-abc123.ckpt"
    in_flight.write_bytes(b"being written by the run's fit")
    before = _snapshot(run_dir)
    for nested in (run_dir / "checkpoints", run_dir / "checkpoints" / "again", run_dir / "x"):
        with pytest.raises(ConfigError, match=f"is inside the run folder {run_dir}"):
            _fit(ns, nested, max_epochs=1)
    assert _snapshot(run_dir) == before
    project = tmp_path / "project"
    (project / "runs").mkdir(parents=True)
    (project / "config.yaml").write_text("model: mine\nepochs: 3\n")  # the user's own config
    (project / "metrics.csv").write_text("a,b\n1,2\n")
    _fit(ns, project / "runs" / "x", max_epochs=1)
    assert (project / "runs" / "x" / "report.json").is_file()


def test_a_foreign_metrics_csv_stops_the_fit_instead_of_being_merged(tmp_path, child):
    """A table another program writes as RUN/metrics.csv during the fit is not merged into the
    run's log (rows lost, columns mixed): the fit stops naming it, and the file is left alone."""
    from lightning.pytorch.callbacks import Callback

    _, ns = child
    foreign = "path,label,probability\ndata/low_00.wav,low,0.41\n"

    class WriteForeignTable(Callback):
        def on_train_epoch_start(self, trainer, pl_module):
            if trainer.current_epoch == 1:
                (tmp_path / "run" / "metrics.csv").write_text(foreign)

    with pytest.raises(ConfigError, match="metrics.csv is not this run's metrics log"):
        _fit(ns, tmp_path / "run", callbacks=[WriteForeignTable()])
    assert (tmp_path / "run" / "metrics.csv").read_text() == foreign


def test_killed_while_the_first_checkpoints_are_written_resumes_afresh(tmp_path, child, full_run):
    """SIGKILL in the first write of last.ckpt (best.ckpt of epoch 0 in place): fit without
    --resume says to pass it, and the resume starts the run again and gives the uninterrupted
    report. A best.ckpt of a later epoch without last.ckpt is refused both ways alike."""
    path, ns = child
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, str(path), str(out), "write:last.ckpt:1", "fresh"])
    assert done.returncode == -signal.SIGKILL
    assert (out / "checkpoints" / "best.ckpt").is_file()
    assert not (out / "checkpoints" / "last.ckpt").exists()
    with pytest.raises(ConfigError, match=r"already holds a run .*resume=True"):
        _fit(ns, out)
    _fit(ns, out, resume=True)
    for name in ("report.json", "metrics.csv", "predictions.csv"):
        assert (out / name).read_bytes() == (full_run / name).read_bytes(), name


def test_checkpoints_do_not_go_through_tmpdir(tmp_path, child, monkeypatch):
    """A TMPDIR that cannot hold a checkpoint (here: missing) does not matter: checkpoints are
    written beside their target, load, and have their SHA-256 records."""
    import tempfile

    from audioconv._integrity import read_checkpoint
    from audioconv.tasks import load_classifier

    _, ns = child
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no_such_tmp"))
    _fit(ns, tmp_path / "run", max_epochs=1)
    monkeypatch.undo()
    for name in ("best.ckpt", "last.ckpt"):
        checkpoint = tmp_path / "run" / "checkpoints" / name
        assert (checkpoint.parent / f"{name}.sha256").is_file()
        state, _ = read_checkpoint(checkpoint)  # checked against its record
        assert state["epoch"] == 0 and state["state_dict"]
    assert load_classifier(tmp_path / "run" / "checkpoints" / "best.ckpt").hparams.num_classes == 3


def test_resume_into_a_folder_without_a_run_says_so(tmp_path, child):
    _, ns = child
    with pytest.warns(UserWarning, match="resume: .*typo holds no run; starting a new one"):
        _fit(ns, tmp_path / "typo", resume=True, max_epochs=1)
    assert (tmp_path / "typo" / "report.json").is_file()


# --------------------------------------------------------------------------------------------
# audioconv fit: what a user sees when the folder, the disk, the cache or a signal gets in the way
# --------------------------------------------------------------------------------------------


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


def test_an_output_folder_that_is_a_file_is_one_line_before_the_scan(
    tone_digits, tiny_audio_options, tmp_path, capsys, monkeypatch
):
    data = tone_digits(clips_per_digit=1)
    monkeypatch.setenv("AUDIOCONV_CACHE", str(tmp_path / "cache"))
    (tmp_path / "afile").write_text("hello\n")
    for out, what in ((tmp_path / "afile", "is a file"), (tmp_path / "afile" / "run", "is below")):
        argv = ["fit", "spoken_digits", "--data-dir", str(data), "--output-dir", str(out)]
        with pytest.raises(SystemExit) as exit_info:
            cli_main([*argv, *tiny_audio_options])
        assert exit_info.value.code == 2
        (line,) = _error_lines(capsys.readouterr().err)
        assert line.startswith(f"audioconv fit: error: output folder {out} {what}")
    assert (tmp_path / "afile").read_text() == "hello\n"
    assert not (tmp_path / "cache").exists()  # refused before the data scan


def test_an_unwritable_scan_cache_warns_once_and_the_fit_goes_on(
    tone_digits, tiny_audio_options, tmp_path, monkeypatch
):
    data = tone_digits(clips_per_digit=1)
    (tmp_path / "afile").write_text("not a folder\n")
    monkeypatch.setenv("AUDIOCONV_CACHE", str(tmp_path / "afile" / "cache"))
    argv = ["fit", "spoken_digits", "--data-dir", str(data), "--output-dir", str(tmp_path / "r")]
    with pytest.warns(UserWarning, match="scan cache not saved") as caught:
        assert cli_main([*argv, *tiny_audio_options, "--no-baseline"]) == 0
    assert sum("scan cache" in str(w.message) for w in caught) == 1
    assert "AUDIOCONV_CACHE" in str(caught[0].message)
    assert (tmp_path / "r" / "report.json").is_file()


@pytest.mark.parametrize("where", ["fsync", "torch_zip_writer"])
def test_a_full_disk_is_one_line_naming_the_folder_then_resume_finishes(
    tone_digits, tiny_audio_options, tmp_path, capsys, monkeypatch, where
):
    """No space left while the first last.ckpt is written (best.ckpt in place): one line naming
    the run folder and what to do, no traceback; after that --resume finishes the run. torch's
    zip writer reports a full disk as a RuntimeError without errno ("unexpected pos")."""
    import errno
    import shutil

    import torch

    from audioconv import _atomic

    data = tone_digits(clips_per_digit=1)
    out = tmp_path / "run"
    real_fsync, real_save, real_usage = _atomic._fsync, torch.save, shutil.disk_usage

    def full_disk(path):
        if path.name.startswith(".last.ckpt.partial-"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(path)

    def zip_writer_full(obj, f, *args, **kwargs):
        if Path(f).name.startswith(".last.ckpt.partial-"):
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 8 vs 4")
        real_save(obj, f, *args, **kwargs)

    if where == "fsync":
        monkeypatch.setattr(_atomic, "_fsync", full_disk)
    else:
        monkeypatch.setattr(torch, "save", zip_writer_full)
        monkeypatch.setattr(shutil, "disk_usage", lambda p: real_usage(p)._replace(free=0))
    argv = ["fit", "spoken_digits", "--data-dir", str(data), "--output-dir", str(out),
            *tiny_audio_options, "--no-baseline"]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        cli_main(argv)
    assert exit_info.value.code == 2
    (line,) = [line for line in _error_lines(capsys.readouterr().err) if "error" in line]
    assert line.startswith(
        f"audioconv fit: error: {out}: cannot write there (No space left on device"
    ) and line.endswith("free space there, then continue the run with --resume")
    monkeypatch.undo()
    assert cli_main([*argv, "--resume"]) == 0
    assert (out / "report.json").is_file()


SIGTERM_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from audioconv.tasks import Classifier

    step = Classifier.training_step

    def terminated_in_epoch_1(self, *args, **kwargs):
        if self.current_epoch == 1:
            os.kill(os.getpid(), signal.SIGTERM)  # as timeout, docker stop or SLURM do
        return step(self, *args, **kwargs)

    Classifier.training_step = terminated_in_epoch_1
    from audioconv.cli import main

    sys.exit(main(sys.argv[1:]))
    """
)


def test_sigterm_exits_143_saying_to_resume(tone_digits, tiny_audio_options, tmp_path):
    data = tone_digits(clips_per_digit=1)
    script = tmp_path / "child.py"
    script.write_text(SIGTERM_CHILD)
    out = tmp_path / "run"
    tiny = [o for o in tiny_audio_options if o != "--smoke"]
    argv = ["fit", "spoken_digits", "--data-dir", str(data), "--output-dir", str(out), *tiny,
            "--max-epochs", "3", "--no-baseline"]  # fmt: skip
    done = subprocess.run([sys.executable, str(script), *argv], capture_output=True, text=True)
    assert done.returncode == 143, done.stderr[-2000:]
    assert "audioconv fit: interrupted (SIGTERM): resume with --resume" in done.stderr
    assert not (out / "report.json").exists()
    assert cli_main([*argv, "--resume"]) == 0


def test_resume_and_test_refuse_other_audio_under_the_same_names(digits_run, tmp_path, capsys):
    """A data folder holding the same file names with other audio (two clips' contents swapped)
    is refused on resume and by audioconv test; a splits.csv written before the stamp columns
    resumes as before, and so does another decoded_cache_mb (only memory)."""
    run_dir = tmp_path / "run"
    shutil.copytree(digits_run, run_dir)
    (run_dir / "report.json").unlink()  # killed before the report: resumable
    splits = pd.read_csv(run_dir / "splits.csv")
    assert list(splits.columns) == ["path", "label", "group", "split", "size", "fingerprint"]
    data = Path(recipe_options_from_run(run_dir)[1]["data_dir"])
    swapped = tmp_path / "swapped"
    shutil.copytree(data, swapped)
    a, b = swapped / "0_dan_0.flac", swapped / "2_dan_1.flac"
    a_bytes, b_bytes = a.read_bytes(), b.read_bytes()
    a.write_bytes(b_bytes)
    b.write_bytes(a_bytes)
    before = _snapshot(run_dir)
    argv = ["fit", "--config", str(run_dir / "config.yaml"), "--output-dir", str(run_dir)]
    with pytest.raises(SystemExit):
        cli_main([*argv, "--resume", "--data-dir", str(swapped)])
    err = capsys.readouterr().err
    assert "the data differ from the data this run trained on (2 with other content" in err
    assert "0_dan_0.flac" in err
    assert _snapshot(run_dir) == before
    test = ["test", "--checkpoint", str(digits_run / "checkpoints" / "best.ckpt"), "--smoke"]
    with pytest.raises(SystemExit):
        cli_main([*test, "--data-dir", str(swapped), "--output-dir", str(tmp_path / "t")])
    assert "2 with other content" in capsys.readouterr().err

    splits.drop(columns=["size", "fingerprint"]).to_csv(run_dir / "splits.csv", index=False)
    assert cli_main([*argv, "--resume", "--decoded_cache_mb", "10"]) == 0
    assert (run_dir / "report.json").is_file()


def test_resume_with_another_seed_names_the_seed(tmp_path, tiny_audio_options, capsys):
    """audio_folder splits at random by seed: --resume --seed 1 lists ``seed: 0 -> 1`` instead of
    sending the user looking for changed data."""
    import soundfile as sf

    rng = np.random.default_rng(0)
    for k, name in enumerate(("low", "mid", "high")):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(6):
            t = np.arange(2400) / 8000
            wave = 0.5 * np.sin(2 * np.pi * (300 + 500 * k) * t) + 0.05 * rng.standard_normal(2400)
            sf.write(tmp_path / "data" / name / f"{name}_{i}.wav", wave.astype(np.float32), 8000)
    out = tmp_path / "run"
    argv = ["fit", "audio_folder", "--data-dir", str(tmp_path / "data"), "--output-dir", str(out),
            *tiny_audio_options, "--no-baseline", "--val-size", "0.3",
            "--test-size", "0.3"]  # fmt: skip
    assert cli_main(argv) == 0
    (out / "report.json").unlink()  # killed before the report: resumable
    capsys.readouterr()
    with pytest.raises(SystemExit):
        cli_main([*argv, "--resume", "--seed", "1"])
    err = capsys.readouterr().err
    assert "seed: 0 -> 1" in err and "the data differ" not in err
