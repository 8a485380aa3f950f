"""docs/extending.md runs as written: each section's one file is written where the text says, and
its check runs against it (a model, a front end, a metric, a dataset layout, a recipe)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from audioconv.data.layouts import registry as layouts
from audioconv.evaluation import metrics
from audioconv.features import registry as frontends
from audioconv.models import registry as models

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "docs" / "extending.md").read_text()
SECTIONS = {
    match[1]: re.findall(r"```python\n(.*?)```", match[2], re.S)
    for match in re.finditer(r"^## (.+?)\n(.*?)(?=^## |\Z)", TEXT, re.S | re.M)
}


def test_every_kind_of_extension_has_a_section_with_a_file_and_a_check():
    assert list(SECTIONS) == ["A model", "A feature front end", "A metric", "A dataset layout",
                              "A recipe and its dataset layout"]  # fmt: skip
    for name, blocks in SECTIONS.items():
        kinds = [block.splitlines()[0].split(":")[0] for block in blocks]
        assert kinds == ["# file", "# check"], name  # one file each, then its check


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A scratch folder as the working directory, its plugins importable, its own recipes folder
    in AUDIOCONV_RECIPES (the shipped recipes found after it), and registries restored
    afterwards."""
    plugins, recipes = tmp_path / "plugins", tmp_path / "recipes"
    plugins.mkdir()
    recipes.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.syspath_prepend(str(plugins))
    monkeypatch.setenv("AUDIOCONV_RECIPES", str(recipes))
    monkeypatch.setattr(models, "_REGISTRY", dict(models._REGISTRY))
    monkeypatch.setattr(frontends, "_REGISTRY", dict(frontends._REGISTRY))
    monkeypatch.setattr(metrics, "_METRICS", dict(metrics._METRICS))
    monkeypatch.setattr(layouts, "_REGISTRY", dict(layouts._REGISTRY))
    yield plugins, recipes
    for name, module in list(sys.modules.items()):  # the plugins, so a re-run registers again
        if str(getattr(module, "__file__", "") or "").startswith(str(plugins)):
            sys.modules.pop(name)


@pytest.mark.parametrize("section", list(SECTIONS))
def test_section_runs(section, scratch):
    plugins, recipes = scratch
    file_block, check = SECTIONS[section]
    path = file_block.splitlines()[0].removeprefix("# file:").strip()
    target = recipes / Path(path).name if path.startswith("recipes/") else plugins / path
    target.write_text(file_block)
    exec(compile(check, f"docs/extending.md: {section}", "exec"), {})
