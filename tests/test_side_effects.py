"""Library calls leave the process as they found it (issue 13, item 8).

- ``runner.main(...)`` called from Python never re-executes the process; ``python recipe.py`` (a
  true command line) does, once, with the allocator tunables.
- ``training.deterministic_mode`` restores every torch flag it (or the Trainer inside it) set.
- importing ``audioconv.plots`` / ``audioconv.evaluation.plots`` keeps matplotlib's backend.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from audioconv._allocator import TUNABLES

ROOT = Path(__file__).resolve().parents[1]

# A recipe that reports whether the process was re-executed once its options are parsed, then stops.
RECIPE = """
import dataclasses, os, sys
from audioconv.runner import Recipe, main


@dataclasses.dataclass
class Probe(Recipe):
    name = "probe"

    def __post_init__(self):  # parsed: report and stop before anything loads Lightning
        print("TUNED=" + str(os.environ.get("AUDIOCONV_MALLOC_TUNED")), flush=True)
        raise SystemExit(0)

    def experiment(self):
        raise AssertionError("unreachable")


RECIPE = Probe
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in TUNABLES and not k.startswith("AUDIOC")}
    return {**env, "PYTHONPATH": str(ROOT)}


def _run(args: list[str], cwd: Path) -> str:
    proc = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.fixture
def probe(tmp_path):
    (tmp_path / "probe_recipe.py").write_text(RECIPE)
    script = tmp_path / "recipe_script.py"
    script.write_text(RECIPE + "\nif __name__ == '__main__':\n    sys.exit(main(RECIPE))\n")
    return tmp_path


def test_recipe_script_on_the_command_line_is_tuned(probe):
    out = _run([str(probe / "recipe_script.py"), "--output-dir", str(probe / "o")], probe)
    assert "TUNED=1" in out


def test_runner_main_called_from_python_does_not_exec(probe):
    """From ``python -c`` (a notebook has no ``__main__`` file either) and from another script
    that imports the recipe; ``argv`` given explicitly is covered in-process below."""
    code = (
        "import sys; sys.argv[1:] = ['--output-dir', 'o']\n"
        "from probe_recipe import RECIPE, main\nmain(RECIPE)\n"
    )
    assert "TUNED=None" in _run(["-c", code], probe)
    caller = probe / "caller.py"
    caller.write_text(code)
    assert "TUNED=None" in _run([str(caller)], probe)


def test_console_script_is_tuned_but_cli_main_from_python_is_not(tmp_path):
    console = Path(sys.executable).with_name("audioconv")
    proc = subprocess.run(
        [str(console), "fit", "no_such_recipe"], env=_env(), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "runtime tuned" in proc.stderr
    code = "from audioconv.cli import main\nmain(['fit', 'no_such_recipe'])\n"
    script = tmp_path / "calls_cli.py"
    script.write_text(code)
    for args in (["-c", code], [str(script)]):
        proc = subprocess.run(
            [sys.executable, *args], env=_env(), capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 2 and "no recipe 'no_such_recipe'" in proc.stderr
        assert "runtime tuned" not in proc.stderr


class _Stop(Exception):
    pass


def test_runner_main_in_process_never_calls_execve(tmp_path, monkeypatch):
    """As from a notebook: the tunables are unset, yet ``runner.main`` leaves the process alone."""
    import dataclasses

    from audioconv import runner

    @dataclasses.dataclass
    class Stops(runner.Recipe):
        name = "stops"

        def experiment(self):
            raise _Stop

    for key in (*TUNABLES, "AUDIOCONV_MALLOC_TUNED", "AUDIOCONV_MALLOC"):
        monkeypatch.delenv(key, raising=False)
    calls = []
    monkeypatch.setattr(os, "execve", lambda *args: calls.append(args))
    monkeypatch.setattr(sys, "argv", ["notebook", "--output-dir", str(tmp_path / "o")])
    for argv in (None, ["--output-dir", str(tmp_path / "o")]):
        with pytest.raises(_Stop):
            runner.main(Stops, argv=argv)
    assert calls == []


def test_deterministic_mode_restores_torch_flags(tmp_path):
    from audioconv.models import create
    from audioconv.tasks import Classifier
    from audioconv.training import TensorDataModule, deterministic_mode, fit

    def flags():
        return (
            torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
            torch.utils.deterministic.fill_uninitialized_memory,
            torch.backends.cudnn.benchmark,
            os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
        )

    torch.use_deterministic_algorithms(False)  # torch's defaults
    torch.utils.deterministic.fill_uninitialized_memory = True
    before = flags()
    with deterministic_mode(None, "cpu") as mode:
        assert mode == "warn"
        assert torch.utils.deterministic.fill_uninitialized_memory is False
    assert flags() == before
    with pytest.raises(RuntimeError), deterministic_mode(True, "cpu"):
        torch.use_deterministic_algorithms(True)
        raise RuntimeError("a failing fit")
    assert flags() == before

    # fit (whose Trainer calls torch.use_deterministic_algorithms) leaves the flags as they were
    x, y = torch.randn(16, 1, 32), torch.randint(0, 2, (16,))
    data = TensorDataModule((x, y), (x[:4], y[:4]), (x[:4], y[:4]), batch_size=8)
    model = Classifier(create("fcn", dims=1, in_channels=1, num_classes=2), task="binary")
    fit(model, data, output_dir=tmp_path / "run", max_epochs=1, accelerator="cpu",
        enable_progress_bar=False)  # fmt: skip
    assert flags() == before


def test_importing_plots_keeps_the_matplotlib_backend():
    code = (
        "import matplotlib\nmatplotlib.use('svg')\n"
        "import audioconv.plots, audioconv.evaluation.plots\n"
        "from audioconv.plots import waveform\nimport numpy as np\n"
        "waveform(np.zeros(100), 100).savefig(__import__('io').BytesIO(), format='png')\n"
        "print(matplotlib.get_backend())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "svg"
