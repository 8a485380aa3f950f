"""Checkpoints and run folders are data, never code (issue 13, items 1-3).

One tiny audio model (``AudioFrontend`` log-mel + a conv backbone) is trained once per module with
``training.fit``; the tests then craft checkpoints and run folders from its files and go through
the user's door (``audioconv predict / export / test``): a checkpoint naming ``subprocess.Popen``
or ``os.system``, or a config naming a ``.py`` outside ``recipes/``, is refused with a clear
error and the marker file its payload would create never appears.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from audioconv.cli import main as cli_main
from audioconv.errors import CheckpointError, ConfigError
from audioconv.features import (
    AudioFrontend,
    PowerToDb,
    create_frontend,
    list_frontends,
    register_frontend,
)
from audioconv.models import create
from audioconv.tasks import Classifier, load_classifier
from audioconv.training import TensorDataModule, fit
from audioconv.transfer import load_backbone

RATE, SAMPLES, CLASSES = 8000, 2000, ("low", "high")
FRONTEND = {"kind": "logmel", "sample_rate": RATE, "n_fft": 128, "hop_length": 64, "n_mels": 16}


def _waves(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(n, 1, SAMPLES)`` tones: class 0 at 300 Hz, class 1 at 2000 Hz, plus noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    t = torch.arange(SAMPLES) / RATE
    freq = torch.where(y == 1, 2000.0, 300.0)[:, None]  # (n, 1)
    x = torch.sin(2 * torch.pi * freq * t) + 0.1 * torch.randn(n, SAMPLES, generator=g)
    return x[:, None].float(), y  # (n, SAMPLES) -> (n, 1, SAMPLES)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished run folder and a wav file of each class."""
    root = tmp_path_factory.mktemp("safety")
    torch.manual_seed(0)
    backbone = create("conv_stack", dims=2, in_channels=1, num_classes=2, filters=(4,))
    model = Classifier(
        backbone, task="multiclass", num_classes=2, class_names=list(CLASSES),
        frontend=AudioFrontend(**FRONTEND), sample_rate=RATE, input_shape=(1, SAMPLES),
        input_kind="audio",
    )  # fmt: skip
    data = TensorDataModule(_waves(32, 0), _waves(8, 1), _waves(8, 2), batch_size=8)
    fit(model, data, output_dir=root / "run", max_epochs=1, accelerator="cpu",
        enable_progress_bar=False, log_every_n_steps=1)  # fmt: skip
    x, y = _waves(2, 3)
    wavs = []
    for i in range(2):
        path = root / f"clip{i}_{CLASSES[int(y[i])]}.wav"
        sf.write(path, x[i, 0].numpy(), RATE)
        wavs.append(path)
    return {"dir": root / "run", "best": root / "run" / "checkpoints" / "best.ckpt", "wavs": wavs}


def _predict(checkpoint, wavs, capsys) -> str:
    assert cli_main(["predict", "--checkpoint", str(checkpoint), *map(str, wavs)]) == 0
    return capsys.readouterr().out


def _craft(source, target, edit) -> None:
    """Copy a checkpoint with its hyperparameters changed by ``edit(hparams)`` (no sha256)."""
    checkpoint = torch.load(source, weights_only=True)
    edit(checkpoint["hyper_parameters"])
    torch.save(checkpoint, target)


# --- item 1: components come from registries only ------------------------------------------


PAYLOADS = {
    "popen_old": lambda m: {"class_path": "subprocess.Popen", "init_args": {"args": ["touch", m]}},
    "system_old": lambda m: {"class_path": "os.system", "init_args": {"command": f"touch {m}"}},
    "popen_new": lambda m: {"name": "subprocess.Popen", "kwargs": {"args": ["touch", m]}},
    "system_new": lambda m: {"name": "os.system", "kwargs": {"command": f"touch {m}"}},
}


@pytest.mark.parametrize("payload", list(PAYLOADS))
@pytest.mark.parametrize("command", ["predict", "export"])
def test_checkpoint_naming_a_callable_is_refused_and_never_run(
    run, tmp_path, capsys, payload, command
):
    marker = tmp_path / "pwned"
    crafted = tmp_path / "crafted.ckpt"

    def edit(hparams):  # an old-format payload under the name old checkpoints use
        hparams.pop("frontend_config")
        key = "frontend_spec" if payload.endswith("_old") else "frontend_config"
        hparams[key] = PAYLOADS[payload](str(marker))

    _craft(run["best"], crafted, edit)
    argv = {
        "predict": ["predict", "--checkpoint", str(crafted), str(run["wavs"][0])],
        "export": ["export", "--checkpoint", str(crafted), "--format", "torchscript",
                   "--output", str(tmp_path / "model.pt")],
    }[command]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        cli_main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert str(crafted) in err
    assert "audio" in err and "logmel" in err  # the registered names are listed
    assert not marker.exists()
    assert not (tmp_path / "model.pt").exists()


def test_backbone_config_naming_a_callable_is_refused(run, tmp_path):
    marker = tmp_path / "pwned"
    crafted = tmp_path / "crafted.ckpt"

    def edit(hparams):
        hparams["backbone_config"] = {"name": "os.system", "kwargs": {"command": f"touch {marker}"}}

    _craft(run["best"], crafted, edit)
    with pytest.raises(CheckpointError, match="unknown model 'os.system'.*resnet18"):
        load_classifier(crafted)
    assert not marker.exists()


def test_non_plain_config_values_are_refused(run, tmp_path):
    crafted = tmp_path / "tensor_kwargs.ckpt"

    def edit(hparams):
        hparams["frontend_config"]["kwargs"]["n_mels"] = torch.tensor(16)

    _craft(run["best"], crafted, edit)
    with pytest.raises(CheckpointError, match="not a plain value"):
        load_classifier(crafted)
    with pytest.raises(ConfigError, match="not a plain value"):
        create_frontend("logmel", n_mels=torch.tensor(16))
    with pytest.raises(ConfigError, match="not a plain value"):
        Classifier(
            task="binary",
            backbone_config=("fcn", {"dims": 1, "in_channels": 1, "num_classes": 2, "bad": print}),
        )


def test_checkpoint_stores_name_and_kwargs(run):
    hparams = torch.load(run["best"], weights_only=True)["hyper_parameters"]
    assert hparams["frontend_config"] == {"name": "audio", "kwargs": {
        **FRONTEND, "n_mfcc": 40, "time_mask": 0, "freq_mask": 0, "vtlp": 0.0}}  # fmt: skip
    assert hparams["backbone_config"]["name"] == "conv_stack"
    assert "frontend_spec" not in hparams and "backbone_spec" not in hparams  # the old names


@pytest.mark.parametrize(
    "class_path", ["audioconv.runner.AudioFrontend", "audioconv.features.LogMel"]
)
def test_old_format_checkpoint_still_loads(run, tmp_path, capsys, class_path):
    """Checkpoints written before the registry (``class_path`` / ``init_args``) and before the
    rename (``backbone_spec`` / ``frontend_spec`` hyperparameters) load by name."""
    expected = _predict(run["best"], run["wavs"], capsys)
    old = tmp_path / "old.ckpt"
    if class_path.endswith("AudioFrontend"):

        def edit(hparams):
            config = hparams.pop("frontend_config")
            del config["kwargs"]["vtlp"]  # written before the option existed
            hparams["frontend_spec"] = {"class_path": class_path, "init_args": config["kwargs"]}
            hparams["backbone_spec"] = hparams.pop("backbone_config")

        _craft(run["best"], old, edit)
        assert _predict(old, run["wavs"], capsys) == expected
        assert load_classifier(old).hparams["frontend_config"]["name"] == "audio"
        return
    # a bare LogMel front end, as the pre-registry tests and notebooks stored it
    logmel = {"sample_rate": RATE, "n_fft": 128, "hop_length": 64, "n_mels": 16}
    model = Classifier(
        create("conv_stack", dims=2, in_channels=1, num_classes=2, filters=(4,)),
        task="multiclass", num_classes=2,
        frontend_config={"class_path": class_path, "init_args": logmel},
    )  # fmt: skip
    hparams = dict(model.hparams)
    hparams.pop("frontend_config")
    hparams["frontend_spec"] = {"class_path": class_path, "init_args": logmel}
    torch.save({"hyper_parameters": hparams, "state_dict": model.state_dict()}, old)
    loaded = load_classifier(old)
    assert loaded.hparams["frontend_config"] == {"name": "logmel", "kwargs": logmel}
    assert "frontend_spec" not in loaded.hparams
    wave = torch.randn(2, 1, SAMPLES)
    torch.testing.assert_close(loaded(wave), model.eval()(wave))


def test_user_code_opts_in_by_registering(tmp_path):
    @register_frontend("test_safety_gain")
    class Gain(torch.nn.Module):
        def __init__(self, *, gain: float = 2.0):
            super().__init__()
            self.gain = gain

        def forward(self, x):
            return x * self.gain

    assert "test_safety_gain" in list_frontends()
    model = Classifier(
        create("fcn", dims=1, in_channels=1, num_classes=2), task="binary",
        frontend=create_frontend("test_safety_gain", gain=3.0),
    )  # fmt: skip
    path = tmp_path / "gain.ckpt"
    torch.save({"hyper_parameters": dict(model.hparams), "state_dict": model.state_dict()}, path)
    loaded = load_classifier(path)
    assert loaded.frontend.gain == 3.0
    with pytest.raises(ConfigError, match="already registered"):
        register_frontend("logmel")(Gain)


def test_one_db_module_for_front_end_and_cli(tmp_path, capsys):
    """The spectrogram front end and ``audioconv features --kind spectrogram`` share PowerToDb."""
    from audioconv.io import load_audio

    x, _ = _waves(1, 5)
    wav = tmp_path / "tone.wav"
    sf.write(wav, x[0, 0].numpy(), RATE)
    out = tmp_path / "spec.npy"
    cli_main(["features", str(wav), "--kind", "spectrogram", "--n-fft", "128",
              "--hop-length", "64", "--out", str(out)])  # fmt: skip
    frontend = AudioFrontend(kind="spectrogram", sample_rate=RATE, n_fft=128, hop_length=64)
    assert isinstance(frontend.features[1], PowerToDb)
    wave, _ = load_audio(wav, mono=True)  # (1, time), as the CLI read it
    with torch.no_grad():
        expected = frontend.features(wave)  # the front end's dB features, before standardizing
    np.testing.assert_allclose(np.load(out), expected.numpy(), rtol=1e-5, atol=1e-4)


# --- item 3: integrity -------------------------------------------------------------------------


def test_fit_records_each_checkpoint_digest(run):
    for name in ("best.ckpt", "last.ckpt"):
        path = run["dir"] / "checkpoints" / name
        digest, recorded_name = (path.parent / f"{name}.sha256").read_text().split()
        assert recorded_name == name
        assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    recorded = (run["dir"] / "checkpoints" / "best.ckpt.sha256").read_text().split()[0]
    assert load_classifier(run["best"]).checkpoint_sha256 == recorded


def test_byte_flipped_checkpoint_is_refused(run, tmp_path, capsys):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    damaged = folder / "best.ckpt"
    shutil.copy(run["best"], damaged)
    shutil.copy(str(run["best"]) + ".sha256", folder / "best.ckpt.sha256")
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0x01
    damaged.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"best\.ckpt.*SHA-256.*Copy the checkpoint again"):
        load_classifier(damaged)
    backbone = create("conv_stack", dims=2, in_channels=1, num_classes=2, filters=(4,))
    with pytest.raises(CheckpointError, match="does not match the digest recorded"):
        load_backbone(backbone, damaged)  # transfer learning reads the same record
    with pytest.raises(SystemExit):
        cli_main(["predict", "--checkpoint", str(damaged), str(run["wavs"][0])])
    assert "does not match the digest recorded" in capsys.readouterr().err


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(run, tmp_path, value):
    checkpoint = torch.load(run["best"], weights_only=True)
    key = next(k for k in checkpoint["state_dict"] if k.endswith("weight"))
    checkpoint["state_dict"][key].view(-1)[0] = value
    path = tmp_path / "diverged.ckpt"
    torch.save(checkpoint, path)
    with pytest.raises(CheckpointError, match=f"NaN or infinity \\({key}"):
        load_classifier(path)
    with pytest.raises(CheckpointError, match="NaN or infinity"):
        load_backbone(
            create("conv_stack", dims=2, in_channels=1, num_classes=2, filters=(4,)), path
        )


def test_export_records_the_source_checkpoint_digest(run, tmp_path):
    output = tmp_path / "model.pt"
    assert cli_main(["export", "--checkpoint", str(run["best"]), "--format", "torchscript",
                     "--output", str(output)]) == 0  # fmt: skip
    sidecar = next(p for p in tmp_path.iterdir() if p.suffix == ".json")
    recorded = (run["dir"] / "checkpoints" / "best.ckpt.sha256").read_text().split()[0]
    assert json.loads(sidecar.read_text())["checkpoint_sha256"] == recorded


def test_export_refuses_a_rate_or_input_shape_the_checkpoint_contradicts(run, tmp_path, capsys):
    """``--sample-rate`` / ``--input-shape`` other than the run's re-labelled the model (its front
    end unchanged), so the export gave other answers than the report: refused, nothing written;
    the recorded values themselves are accepted."""
    export = ["export", "--checkpoint", str(run["best"]), "--output", str(tmp_path / "m.onnx")]
    for option, message in (
        (["--sample-rate", "16000"], "sample_rate=16000 (--sample-rate) differs from the 8000 Hz"),
        (["--input-shape", "1", "1000"], "input_shape=(1, 1000) (--input-shape) differs from the "
                                         f"(1, {SAMPLES})"),
    ):  # fmt: skip
        err = _refused([*export, *option], capsys)
        assert f"{run['best']}: {message}" in err and "give other answers than the run's" in err
    assert not list(tmp_path.iterdir())
    assert cli_main([*export, "--sample-rate", str(RATE), "--input-shape", "1", str(SAMPLES)]) == 0


# --- item 2: recipes resolve by name -------------------------------------------------------------


def _evil_recipe(folder, marker):
    """A .py outside recipes/ whose import would create ``marker``."""
    evil = folder / "evil.py"
    evil.write_text(f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n")
    return evil


@pytest.mark.parametrize("form", ["absolute", "relative", "dotted_py"])
def test_config_naming_a_file_outside_recipes_is_refused(run, tmp_path, capsys, form):
    marker = tmp_path / "pwned"
    evil = _evil_recipe(tmp_path, marker)
    name = {
        "absolute": str(evil),
        "relative": "../../../../../../../../" + str(evil.with_suffix("")).lstrip("/"),
        "dotted_py": "evil.py",
    }[form]
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    shutil.copy(run["best"], run_dir / "checkpoints" / "best.ckpt")
    config = {"recipe": {"name": name, "options": {"output_dir": str(run_dir)}}}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(SystemExit):
        cli_main(["test", "--checkpoint", str(run_dir / "checkpoints" / "best.ckpt")])
    err = capsys.readouterr().err
    assert "config.yaml" in err and "spoken_digits" in err
    assert not marker.exists()


def test_a_recipe_path_is_accepted_only_when_typed(tmp_path):
    from audioconv.runner import list_recipes, load_recipe, recipes_dir

    assert "spoken_digits" in list_recipes()
    script = str(recipes_dir() / "ucr.py")
    assert load_recipe(script, allow_path=True).name == "ucr"  # `audioconv fit path/to/ucr.py`
    for name in (script, "../recipes/ucr", "ucr.py"):
        with pytest.raises(ConfigError, match="no recipe"):
            load_recipe(name)  # what a file names: registered names only


# --- files someone sends you (eleventh session audit) ---------------------------------------


class _WritesAFile(torch.nn.Module):
    """A TorchScript program that writes a marker file when it runs (``torch.from_file`` with
    ``shared=True`` creates and maps the file): what a malicious "checkpoint" could hold."""

    def __init__(self, marker: str):
        super().__init__()
        self.marker = marker

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mapped = torch.from_file(self.marker, shared=True, size=8, dtype=torch.uint8)
        mapped.fill_(1)
        return x.mean(-1) + mapped.float().sum() * 0  # used, so the write is not optimised away


def test_torchscript_under_a_checkpoint_name_is_refused_and_never_run(run, tmp_path, capsys):
    """A run folder whose ``best.ckpt`` is a TorchScript program (with a matching .sha256):
    ``predict`` and ``stream`` refuse it (``compare`` loads a run's best.ckpt through the same
    ``load_predictor``); a TorchScript file is loaded only from a name that says so (.pt / .ts /
    .torchscript)."""
    marker = tmp_path / "pwned"
    sent = tmp_path / "sent"
    shutil.copytree(run["dir"], sent)
    best = sent / "checkpoints" / "best.ckpt"
    torch.jit.save(torch.jit.script(_WritesAFile(str(marker))), best)
    digest = hashlib.sha256(best.read_bytes()).hexdigest()
    (sent / "checkpoints" / "best.ckpt.sha256").write_text(f"{digest}  best.ckpt\n")
    wav = str(run["wavs"][0])
    for argv in (["predict", "--checkpoint", str(best), wav],
                 ["stream", "--checkpoint", str(best), wav]):  # fmt: skip
        with pytest.raises(SystemExit) as exit_info:
            cli_main(argv)
        assert exit_info.value.code == 2, argv
        assert f"{best}: holds a TorchScript program" in capsys.readouterr().err, argv
    assert not marker.exists()


def test_a_damaged_or_changed_model_file_of_any_format_is_refused(run, tmp_path, capsys):
    onnx = tmp_path / "model.onnx"
    assert cli_main(["export", "--checkpoint", str(run["best"]), "--output", str(onnx)]) == 0
    (tmp_path / "model.onnx.sha256").write_text(f"{'0' * 64}  model.onnx\n")  # a stale record
    cut = tmp_path / "cut.ckpt"
    cut.write_bytes(run["best"].read_bytes()[:5000])  # an interrupted copy, no record
    capsys.readouterr()
    for model, message in ((onnx, "does not match the digest recorded"),
                           (cut, "cut short or damaged")):  # fmt: skip
        with pytest.raises(SystemExit):
            cli_main(["predict", "--checkpoint", str(model), str(run["wavs"][0])])
        assert f"{model}: " in (err := capsys.readouterr().err) and message in err


@pytest.mark.parametrize("name", ["model.onnx", "model.pt"])
def test_an_export_records_its_digest_so_a_damaged_copy_is_refused(run, tmp_path, capsys, name):
    """``audioconv export`` writes ``<file>.sha256`` (sha256sum format); the file copied with its
    record loads, and one flipped bit in its weights is refused, in the words of an export (it
    gave other answers, exit 0)."""
    export = tmp_path / name
    assert cli_main(["export", "--checkpoint", str(run["best"]), "--output", str(export)]) == 0
    digest, recorded_name = (tmp_path / f"{name}.sha256").read_text().split()
    assert (digest, recorded_name) == (hashlib.sha256(export.read_bytes()).hexdigest(), name)
    copied = tmp_path / "copied" / name
    copied.parent.mkdir()
    shutil.copy(export, copied)
    shutil.copy(f"{export}.sha256", f"{copied}.sha256")
    wav = str(run["wavs"][0])
    _predict(copied, [wav], capsys)
    data = bytearray(copied.read_bytes())
    data[len(data) // 2] ^= 0x40  # inside the weights, past every header
    copied.write_bytes(bytes(data))
    for command in ("predict", "stream"):
        err = _refused([command, "--checkpoint", str(copied), wav], capsys)
        assert f"{copied}: its SHA-256" in err and "after audioconv export saved it" in err, err
        assert "Copy the exported file again" in err and "training" not in err, err


def _refused(argv, capsys) -> str:
    """Run ``audioconv ARGV``, expect a one-line refusal (exit 2) and return it."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        cli_main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err, err
    return err


def _with_a_nan_weight(export, target) -> str:
    """Copy an exported model with NaN in its largest weight (no record); returns its name."""
    if export.suffix == ".onnx":
        import onnx
        from onnx import numpy_helper

        proto = onnx.load(str(export))
        tensor = max(proto.graph.initializer, key=lambda t: np.prod(t.dims))
        values = numpy_helper.to_array(tensor).copy()
        values.flat[0] = np.nan
        tensor.CopyFrom(numpy_helper.from_array(values, tensor.name))
        onnx.save(proto, str(target))
        return tensor.name
    extra = {"audioconv.json": ""}
    module = torch.jit.load(str(export), _extra_files=extra)
    name, weight = max(module.named_parameters(), key=lambda item: item[1].numel())
    with torch.no_grad():
        weight.view(-1)[0] = float("nan")
    torch.jit.save(module, str(target), _extra_files=extra)
    return name


@pytest.mark.parametrize("name", ["model.onnx", "model.pt"])
def test_an_export_with_nan_weights_is_refused_on_load(run, tmp_path, capsys, name):
    """``audioconv export``, then a NaN written into a weight of the file: predict and stream
    refuse it on load, as a .ckpt is (every clip got class 0 with exit 0)."""
    export = tmp_path / name
    assert cli_main(["export", "--checkpoint", str(run["best"]), "--output", str(export)]) == 0
    sent = tmp_path / f"sent{export.suffix}"  # copied without its records
    tensor = _with_a_nan_weight(export, sent)
    for command in ("predict", "stream"):
        err = _refused([command, "--checkpoint", str(sent), str(run["wavs"][0])], capsys)
        assert f"{sent}: 1 weight tensor(s) hold NaN or infinity ({tensor})" in err, err


def test_a_truncated_onnx_file_is_a_one_line_error(run, tmp_path, capsys):
    """``audioconv export``, then half the .onnx copied alone (an interrupted copy): predict and
    stream name the file and the fix, as for a cut TorchScript file (it was onnxruntime's
    InvalidProtobuf traceback)."""
    export = tmp_path / "model.onnx"
    assert cli_main(["export", "--checkpoint", str(run["best"]), "--output", str(export)]) == 0
    cut = tmp_path / "copied" / "model.onnx"
    cut.parent.mkdir()
    cut.write_bytes(export.read_bytes()[: export.stat().st_size // 2])
    for command in ("predict", "stream"):
        err = _refused([command, "--checkpoint", str(cut), str(run["wavs"][0])], capsys)
        assert f"{cut}: not a readable ONNX model (" in err and "copy it again" in err, err


@pytest.mark.parametrize("model", ["best.ckpt", "model.onnx"])
def test_a_non_finite_model_output_never_becomes_a_label(run, tmp_path, capsys, model):
    """A clip of finite but huge samples overflows the log-mel front end into NaN: predict and
    stream name the clip instead of labelling it (argmax of NaN gave class 0, exit 0)."""
    if model == "best.ckpt":
        path = run["best"]
    else:
        path = tmp_path / model
        assert cli_main(["export", "--checkpoint", str(run["best"]), "--output", str(path)]) == 0
    huge = tmp_path / "huge.wav"
    sf.write(huge, np.full(SAMPLES, 1e30, np.float32), RATE, subtype="FLOAT")
    err = _refused(["predict", "--checkpoint", str(path), str(huge)], capsys)
    assert f"{huge}: the model's output holds NaN or infinity, so it has no label" in err, err
    err = _refused(["stream", "--checkpoint", str(path), str(huge)], capsys)
    assert "the model's output holds NaN or infinity" in err, err


def test_export_never_writes_over_a_checkpoint_or_under_a_misleading_name(run, tmp_path, capsys):
    copy = tmp_path / "best.ckpt"
    shutil.copy(run["best"], copy)
    before = copy.read_bytes()
    for output, message in ((copy, "name an onnx file .onnx"),
                            (tmp_path / "m.torchscript.onnx", None),
                            (tmp_path / "other.pt", "a training checkpoint is there")):  # fmt: skip
        if output.name == "other.pt":
            shutil.copy(run["best"], output)  # torch.save checkpoints are often named .pt
        argv = ["export", "--checkpoint", str(copy), "--output", str(output)]
        if message is None:
            assert cli_main(argv) == 0
            continue
        with pytest.raises(SystemExit):
            cli_main(argv)
        assert message in capsys.readouterr().err
    assert copy.read_bytes() == before


@pytest.mark.parametrize("option", ["model_kwargs", "dataset_kwargs"])
def test_a_class_path_in_a_run_config_is_never_imported(tmp_path, monkeypatch, option):
    """A sent run folder's config.yaml with ``{"class_path": ...}`` inside a kwargs option, and
    the module it names beside it on the import path (as in a notebook started there): ``fit
    --config`` keeps the value as plain data and the module is never imported."""
    from audioconv.runner import load_recipe, parse_recipe

    marker = tmp_path / "pwned"
    (tmp_path / "sent_helper.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nclass Act: ...\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    value = {"act": {"class_path": "sent_helper.Act", "init_args": {"args": ["touch", "x"]}}}
    config = {"recipe": {"name": "audio_folder", "options": {option: value}}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    argv = ["--config", str(tmp_path / "config.yaml"), "--output_dir", "x"]
    recipe = parse_recipe(load_recipe("audio_folder"), argv)
    assert getattr(recipe, option) == value  # kept as it was written, a list still a list
    assert not marker.exists()


def _pickled_payload(source, target, marker) -> None:
    """Copy a checkpoint with an object in its hyperparameters whose unpickling runs
    ``touch marker`` (``__reduce__`` -> ``os.system``)."""

    class Payload:
        def __reduce__(self):
            return (__import__("os").system, (f"touch {marker}",))

    checkpoint = torch.load(source, weights_only=True)
    checkpoint["hyper_parameters"]["payload"] = Payload()
    torch.save(checkpoint, target)


def test_lightnings_loader_never_unpickles_code_whatever_the_torch_default(
    run, tmp_path, monkeypatch
):
    """``Classifier.load_from_checkpoint`` on a checkpoint holding an ``os.system`` call, with
    torch's own switch for the old default (``weights_only=False`` before torch 2.6)."""
    marker, crafted = tmp_path / "pwned", tmp_path / "crafted.ckpt"
    _pickled_payload(run["best"], crafted, marker)
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    with pytest.raises(Exception, match="(?i)weights.only|unpickl|global"):
        Classifier.load_from_checkpoint(crafted)
    with pytest.raises(ConfigError, match="would let the checkpoint run code"):
        Classifier.load_from_checkpoint(run["best"], weights_only=False)
    assert not marker.exists()
    assert list(Classifier.load_from_checkpoint(run["best"]).hparams["class_names"]) == list(
        CLASSES
    )


def test_a_pickled_object_is_named_and_refused_without_torchs_advice(run, tmp_path, capsys):
    """The refusal names what the file holds and never repeats torch's "re-run with
    weights_only=False" (advice that would run the sender's code)."""
    marker, crafted = tmp_path / "pwned", tmp_path / "crafted.ckpt"
    _pickled_payload(run["best"], crafted, marker)
    with pytest.raises(SystemExit):
        cli_main(["predict", "--checkpoint", str(crafted), str(run["wavs"][0])])
    err = capsys.readouterr().err
    assert f"{crafted}: holds Python objects other than weights (GLOBAL" in err
    assert "system" in err and "weights_only" not in err
    assert not marker.exists()


@pytest.mark.parametrize(
    "text", ["recipe: !!python/object/apply:os.system ['true']\n", "\x00\x01binary\xff"]
)
def test_a_config_yaml_with_a_tag_or_binary_is_a_one_line_error(tmp_path, capsys, text):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_bytes(text.encode("latin-1"))
    with pytest.raises(SystemExit):
        cli_main(["fit", "--config", str(tmp_path / "run" / "config.yaml"), "--output-dir", "x"])
    err = capsys.readouterr().err
    assert "config.yaml: not plain YAML" in err and "Traceback" not in err


def test_a_config_yaml_alias_bomb_is_refused_before_it_expands(tmp_path, capsys):
    """Six nested aliases of nine: 531,441 values from a 300-byte file (nine would be 10**9)."""
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcde", "bcdef", strict=True):
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    text = "\n".join(levels) + "\nrecipe: {name: spoken_digits, options: {model_kwargs: {x: *f}}}\n"
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text(text)
    with pytest.raises(SystemExit):
        cli_main(["fit", "--config", str(tmp_path / "run" / "config.yaml"), "--output-dir", "x"])
    err = capsys.readouterr().err
    assert "config.yaml: holds more than 100,000 values once its aliases" in err


@pytest.mark.parametrize(
    ("where", "message"),
    [("backbone_config", "cannot rebuild the model"), ("input_contract", "window=")],
)
def test_sizes_no_trained_model_has_are_a_one_line_error(run, tmp_path, capsys, where, message):
    crafted = tmp_path / "huge.ckpt"

    def edit(hparams):  # 10**12 classes (336 TB of weights), a window of 10**11 samples
        if where == "backbone_config":
            hparams["backbone_config"]["kwargs"]["num_classes"] = 10**12
        else:
            hparams["input_contract"]["window"] = 10**11

    _craft(run["best"], crafted, edit)
    with pytest.raises(SystemExit):
        cli_main(["predict", "--checkpoint", str(crafted), str(run["wavs"][0])])
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("class_names", 5, "class_names=5 must be a list of names"),
        ("input_contract", "x", "input contract 'x': expected a dict"),
        ("input_shape", "abc", "input_shape='abc' must list positive sizes"),
    ],
)
def test_a_checkpoint_value_of_the_wrong_kind_is_named(run, tmp_path, capsys, key, value, message):
    crafted = tmp_path / "odd.ckpt"
    _craft(run["best"], crafted, lambda hparams: hparams.__setitem__(key, value))
    with pytest.raises(SystemExit):
        cli_main(["predict", "--checkpoint", str(crafted), str(run["wavs"][0])])
    err = capsys.readouterr().err
    assert f"{crafted}: cannot rebuild the model: {message}" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"evil_key": 1}, "Option 'evil_key' is not accepted"),
        ({"sample_rate": "abc"}, 'key "sample_rate": Expected a'),
    ],  # fmt: skip
)
def test_recorded_options_that_do_not_fit_the_recipe_are_named(tmp_path, capsys, option, message):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    options = {"output_dir": str(run_dir), "data_dir": str(tmp_path), **option}
    (run_dir / "config.yaml").write_text(
        yaml.safe_dump({"recipe": {"name": "audio_folder", "options": options}})
    )
    with pytest.raises(SystemExit):
        cli_main(["fit", "--config", str(run_dir / "config.yaml"), "--output-dir", "x"])
    err = capsys.readouterr().err
    assert "config.yaml: recipe.options do not fit recipe 'audio_folder'" in err and message in err
