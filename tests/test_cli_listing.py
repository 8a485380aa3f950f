"""``audioconv --version``, ``audioconv models``, ``audioconv recipes`` list what exists, and
``audioconv fit RECIPE --help`` answers without importing torch or Lightning."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from audioconv import __version__
from audioconv.cli import main
from audioconv.models import list_models
from audioconv.runner import list_recipes


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"audioconv {__version__}"


def test_models_lists_the_registry(capsys):
    assert main(["models"]) == 0
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert rows == list_models()
    assert main(["models", "--dims", "1"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == list_models(1)


def test_recipes_lists_every_recipe_with_its_summary(capsys):
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    listed = [line.split()[0] for line in out.splitlines()[: len(list_recipes())]]
    assert listed == list_recipes()
    assert "audio_folder" in listed and "urban_sounds" in listed
    assert "class sub-folders, a CSV / TSV manifest, or a registered layout" in out


def test_fit_help_is_fast_and_imports_neither_torch_nor_lightning():
    code = (
        "import sys\n"
        "from audioconv.cli import main\n"
        "try:\n    main(['fit', 'audio_folder', '--help'])\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'lightning') if m in sys.modules))\n"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    seconds = time.perf_counter() - start
    assert "--on_error" in done.stdout and "--manifest_file" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert seconds < 10  # ~1 s on an idle 2-core machine; the import check above is the contract
