"""A researcher's own code, the way they use it: a plugin module or recipe file on disk, then the
``audioconv`` command or the Python call, then its answer or its one-line refusal (audit 12
extend: recipe names, numpy scalars, registry names, ``AUDIOCONV_RECIPES``, ``--import``)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from audioconv.cli import main
from audioconv.data.layouts import registry as layouts
from audioconv.errors import ConfigError
from audioconv.evaluation import metrics
from audioconv.features import registry as frontends
from audioconv.models import registry as models

ROOT = Path(__file__).resolve().parents[1]

TINY = """
from torch import nn

from audioconv.models.blocks import Backbone, ClassifierHead, ConvBlock
from audioconv.models.registry import register_model


class Tiny(Backbone):
    def __init__(self, *, dims=1, in_channels, num_classes, width=4, act=None, extra=None):
        super().__init__(name="tiny", dims=dims, in_channels=in_channels, min_input_size=1)
        self.features = ConvBlock(dims, in_channels, width, 3)
        self.head = ClassifierHead(dims, width, num_classes)


def wrapped(*, dims, in_channels, num_classes, **options):
    return Tiny(dims=dims, in_channels=in_channels, num_classes=num_classes, **options)


register_model("tiny", Tiny, dims=(1, 2))
register_model("tiny_wrapped", wrapped, dims=(1, 2))
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder as the working directory, importable, registries restored afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("AUDIOCONV_RECIPES", raising=False)
    monkeypatch.delenv("AUDIOCONV_PLUGINS", raising=False)
    monkeypatch.setattr(models, "_REGISTRY", dict(models._REGISTRY))
    monkeypatch.setattr(frontends, "_REGISTRY", dict(frontends._REGISTRY))
    monkeypatch.setattr(metrics, "_METRICS", dict(metrics._METRICS))
    monkeypatch.setattr(layouts, "_REGISTRY", dict(layouts._REGISTRY))
    yield tmp_path
    for name, module in list(sys.modules.items()):  # the plugins, so a re-run registers again
        if str(getattr(module, "__file__", "") or "").startswith(str(tmp_path)):
            sys.modules.pop(name)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def _refusal(argv: list[str], capsys) -> str:
    """The one-line error of ``audioconv ARGV`` (exit status 2)."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    return " ".join(capsys.readouterr().err.split())


def _audioconv(argv: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """``python -m audioconv.cli ARGV`` in a fresh process, as a user runs it from ``cwd``."""
    own = ("AUDIOCONV_PLUGINS", "AUDIOCONV_RECIPES")
    environ = {k: v for k, v in os.environ.items() if k not in own}
    environ.update(PYTHONPATH=str(ROOT), **env)
    command = [sys.executable, "-m", "audioconv.cli", *argv]
    return subprocess.run(command, cwd=cwd, env=environ, capture_output=True, text=True)


# --- #1: a recipe file is found by its stem, so its class's name must be that stem ------------

V2 = '''
import dataclasses

from audioconv.runner import load_recipe

AudioFolder = load_recipe("audio_folder")


@dataclasses.dataclass
class HummedV2(AudioFolder):
    """Hummed digits, v2."""

    name = "hummed_digits"


RECIPE = HummedV2
'''


def test_a_recipe_file_whose_name_is_not_its_stem_is_refused(project, monkeypatch, capsys):
    _write(project / "recipes" / "hummed_v2.py", V2)
    monkeypatch.setenv("AUDIOCONV_RECIPES", str(project / "recipes"))
    error = _refusal(["fit", "hummed_v2", "--data-dir", "hums", "--output-dir", "runs/v2"], capsys)
    assert "hummed_v2.py defines a recipe named 'hummed_digits', not 'hummed_v2'" in error
    assert "set name = 'hummed_v2'" in error
    # a subclass that forgot `name` inherits 'audio_folder': refused by its path too
    noname = V2.replace('    name = "hummed_digits"\n', "")
    path = _write(project / "mine" / "noname.py", noname)
    error = _refusal(["fit", str(path), "--data-dir", "hums", "--output-dir", "r"], capsys)
    assert "defines a recipe named 'audio_folder', not 'noname'" in error


def test_every_shipped_recipe_is_named_after_its_file():
    from audioconv.runner import list_recipes, load_recipe, recipe_files

    for name in list_recipes():
        assert load_recipe(name).name == name == recipe_files()[name].stem


# --- #8: AUDIOCONV_RECIPES adds folders before the built-in recipes -----------------------------


def test_recipes_env_adds_folders_searched_before_the_built_in_ones(project, monkeypatch, capsys):
    from audioconv.runner import load_recipe, recipe_files

    first = _write(project / "a" / "hummed_v2.py", V2.replace("hummed_digits", "hummed_v2"))
    _write(project / "b" / "hummed_v2.py", "RECIPE = None\n")  # shadowed by the first folder
    _write(project / "b" / "other.py", V2.replace("hummed_digits", "other"))
    folders = os.pathsep.join([str(project / "a"), str(project / "b")])
    monkeypatch.setenv("AUDIOCONV_RECIPES", folders)
    assert recipe_files()["hummed_v2"] == first
    assert load_recipe("hummed_v2").__mro__[1].name == "audio_folder"  # the built-in one
    assert main(["recipes"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert {"audio_folder", "spoken_digits", "hummed_v2", "other"} <= set(listed)
    error = _refusal(["fit", "nope", "--output-dir", "r"], capsys)
    assert "add its folder to AUDIOCONV_RECIPES" in error


# --- #4: numpy scalars are their Python values ---------------------------------------------------


def test_numpy_scalar_options_are_recorded_as_python_values(project):
    from audioconv.models import create
    from audioconv.tasks import Classifier, load_classifier
    from audioconv.training import TensorDataModule, fit

    importlib.import_module(_write(project / "tiny_plug.py", TINY).stem)
    x, y = torch.randn(12, 1, 64), torch.arange(12) % 2
    data = TensorDataModule((x[:8], y[:8]), (x[8:], y[8:]), (x[8:], y[8:]), batch_size=4)
    width, extra = np.linspace(4, 8, 2).astype(np.int64)[0], [np.float32(0.5), np.float64(2.0)]
    model = create("tiny", dims=1, in_channels=1, num_classes=2, width=width, extra=extra)
    lr = np.logspace(-3, -2, 2)[0]  # np.float64, as a sweep gives it (np.float32 alike)
    classifier = Classifier(
        model, task="multiclass", num_classes=2, lr=lr, weight_decay=np.float32(1e-4)
    )
    fit(classifier, data, output_dir="runs/np", max_epochs=1, enable_progress_bar=False)
    recorded = yaml.safe_load(Path("runs/np/config.yaml").read_text())
    kwargs = recorded["model"]["init_args"]["backbone_config"]["kwargs"]
    assert kwargs["width"] == 4 and kwargs["extra"] == [0.5, 2.0]
    loaded = load_classifier("runs/np/checkpoints/best.ckpt")
    assert type(loaded.hparams.backbone_config["kwargs"]["width"]) is int
    assert type(loaded.hparams.lr) is float and type(loaded.hparams.weight_decay) is float


# --- #12: the non-plain-value refusal names the keyword path and the fix -----------------------


NOT_PLAIN = "is not a plain value: pass a name or number (e.g. act='gelu') and build the object"


@pytest.mark.parametrize(
    ("kwargs", "said", "fix"),
    [
        ({"act": torch.nn.GELU()}, "act=GELU(approximate='none') (GELU)", NOT_PLAIN),
        ({"extra": {1: "a"}}, "extra[1]: the key 1 (int)", "the keys of a dict option must be"),
        ({"extra": {"a": {"b": torch.zeros(1)}}}, "extra.a.b=tensor([0.]) (Tensor)", NOT_PLAIN),
        ({"extra": [1, lambda: 0]}, "extra[1]=<function", NOT_PLAIN),
    ],
)
def test_a_non_plain_option_is_refused_naming_its_keyword(project, kwargs, said, fix):
    from audioconv.models import create
    from audioconv.tasks import Classifier

    importlib.import_module(_write(project / "tiny_plug.py", TINY).stem)
    model = create("tiny", dims=1, in_channels=1, num_classes=2, **kwargs)
    with pytest.raises(ConfigError) as error:
        Classifier(model, task="multiclass", num_classes=2)
    assert str(error.value).startswith("backbone_config 'tiny': ")
    assert said in str(error.value) and fix in str(error.value)


# --- #6 / #7 / #11: registry names, factories, **kwargs and re-registration --------------------


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("register_model(123, Tiny, dims=(1,))", "model name 123 must be a non-empty identifier"),
        ('register_model("", Tiny, dims=(1,))', "model name '' must be a non-empty identifier"),
        ('register_model("my.pkg:Net", Tiny, dims=(1,))', "model name 'my.pkg:Net' must be"),
        ('register_model("five", 5, dims=(1,))', "model 'five': 5 is not callable"),
        ('register_frontend(("a", "b"))(Tiny)', "front end name ('a', 'b') must be"),
        ('register_layout("", description="x")(print)', "layout name '' must be"),
        ('register_metric(7, tasks=("binary",))(print)', "metric name 7 must be"),
        ('register_model("resnet18", Tiny, dims=(1,))', "model name 'resnet18' is already"),
        ('register_frontend("logmel")(Tiny)', "front end name 'logmel' is already registered"),
    ],
)
def test_a_plugin_with_a_bad_registration_is_refused_by_name(project, capsys, line, said):
    _write(
        project / "bad_plug.py",
        f"""
        from audioconv.data.layouts import register_layout
        from audioconv.evaluation import register_metric
        from audioconv.features import register_frontend
        from audioconv.models.registry import register_model
        from tiny_plug import Tiny

        {line}
        """,
    )
    _write(project / "tiny_plug.py", TINY)
    assert said in _refusal(["--import", "bad_plug", "models"], capsys)
    assert main(["models"]) == 0  # the registry still lists and sorts
    assert "unknown model 'resnet81'. Did you mean 'resnet18'?" in _refusal(
        ["summary", "resnet81", "--input-shape", "1", "64"], capsys
    )


def test_a_model_factory_taking_kwargs_takes_any_option(project):
    from audioconv.models import create

    importlib.import_module(_write(project / "tiny_plug.py", TINY).stem)
    model = create("tiny_wrapped", dims=1, in_channels=1, num_classes=2, width=8)
    assert model.head.fc.in_features == 8
    with pytest.raises(ConfigError, match="model 'tiny' has no option depth: its options are act"):
        create("tiny", dims=1, in_channels=1, num_classes=2, depth=3)


def test_registering_again_or_reloading_a_plugin_replaces_its_entries(project):
    from audioconv.models import create

    plugin = importlib.import_module(_write(project / "tiny_plug.py", TINY).stem)
    _write(
        project / "more_plug.py",
        """
        from torch import nn

        from audioconv.data.layouts import register_layout
        from audioconv.evaluation import register_metric
        from audioconv.features import register_frontend


        @register_frontend("gain")
        class Gain(nn.Module):
            def __init__(self, *, scale: float = 1.0):
                super().__init__()


        @register_layout("mine", description="mine")
        def mine(root):
            return None


        @register_metric("mine_score", tasks=("binary",))
        def mine_score(scored):
            return 1.0
        """,
    )
    more = importlib.import_module("more_plug")
    models.register_model("tiny", plugin.Tiny, dims=(1, 2))  # the cell run twice
    importlib.reload(plugin)  # a new class Tiny at the same place
    importlib.reload(more)
    assert models.registered_model("tiny").factory is plugin.Tiny
    assert frontends.frontend_factory("gain") is more.Gain
    assert create("tiny", dims=1, in_channels=1, num_classes=2).__class__ is plugin.Tiny
    with pytest.raises(ConfigError, match=r"'tiny' is already registered \(by tiny_plug.Tiny\)"):
        models.register_model("tiny", plugin.wrapped, dims=(1,))  # another factory


# --- #9: the command line imports the modules the user names ------------------------------------


def test_the_cli_imports_the_modules_named_by_import_or_audioconv_plugins(project):
    _write(project / "tiny_plug.py", TINY + "print('PLUGIN IMPORTED')\n")
    summary = ["summary", "tiny", "--dims", "1", "--num-classes", "2", "--input-shape", "1", "64"]
    unknown = _audioconv(summary, project)
    assert unknown.returncode == 2 and "PLUGIN IMPORTED" not in unknown.stdout
    assert "unknown model 'tiny'" in unknown.stderr
    assert "import that module first: audioconv --import MODULE" in unknown.stderr
    for argv, env in (
        (["--import", "tiny_plug", *summary], {}),
        (summary, {"AUDIOCONV_PLUGINS": "os, tiny_plug"}),
    ):
        done = _audioconv(argv, project, **env)
        assert done.returncode == 0, done.stderr
        assert "PLUGIN IMPORTED" in done.stdout and "Total params" in done.stdout
    missing = _audioconv(["--import", "no_such_plug", "models"], project)
    assert missing.returncode == 2
    assert "cannot import 'no_such_plug' (--import / AUDIOCONV_PLUGINS)" in missing.stderr


def test_fit_config_still_works_after_import(project, monkeypatch):
    from audioconv import cli

    seen = []
    monkeypatch.setattr(cli, "cmd_fit", lambda args: seen.append(args) or 0)
    monkeypatch.setattr(cli, "import_plugins", lambda modules: seen.append(modules))
    argv = ["--import", "a", "--import=b", "fit", "--config", "runs/x/config.yaml"]
    assert cli.main(argv) == 0
    assert seen[0] == ["a", "b"] and seen[1].recipe == cli.FROM_CONFIG
