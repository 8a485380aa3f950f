"""Structure the package promises (issue 16): no import cycle between modules at import time, and
only public Lightning APIs (no private member imported, overridden or read)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import textwrap
from pathlib import Path

import audioconv

PACKAGE = Path(audioconv.__file__).parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _import_time_edges(
    name: str, path: Path, modules: dict[str, Path], nodes: list[ast.AST] | None = None
) -> set[str]:
    """Modules of the package that ``name`` imports at module level (not under TYPE_CHECKING,
    not inside functions), or in ``nodes``; its own parent packages are always loaded first, so
    not counted."""
    edges = set()
    for node in ast.parse(path.read_text()).body if nodes is None else nodes:
        if isinstance(node, ast.Import):
            edges.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            subs = {f"{node.module}.{a.name}" for a in node.names} & set(modules)
            edges.update(subs or {node.module})
            if len(subs) < len(node.names):
                edges.add(node.module)
    return {m for m in edges if m in modules and m != name and not name.startswith(m + ".")}


def test_no_import_cycle_between_modules():
    modules = _modules()
    graph = {name: _import_time_edges(name, path, modules) for name, path in modules.items()}
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, [" -> ".join(c) for c in cycles]


def _all_edges(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Modules of the package that ``name`` imports anywhere, function bodies included."""
    tree = ast.parse(path.read_text())
    return _import_time_edges(name, path, modules, nodes=list(ast.walk(tree)))


# deploy.load_predictor imports export (torch) only for a TorchScript / checkpoint file, so that
# deploy stays importable without torch: the one function-level back edge left (issue 16).
KNOWN_MUTUAL = {("audioconv.deploy", "audioconv.export")}


def test_no_two_modules_import_each_other_even_inside_functions():
    modules = _modules()
    graph = {name: _all_edges(name, path, modules) for name, path in modules.items()}
    mutual = {(a, b) for a in graph for b in graph[a] if a < b and a in graph.get(b, ())}
    assert mutual <= KNOWN_MUTUAL, sorted(mutual - KNOWN_MUTUAL)
    audio, layouts = "audioconv.data.audio", "audioconv.data.layouts"
    assert layouts not in graph[audio] and audio not in graph[layouts]
    assert "audioconv.data.manifest" in graph[audio] & graph[layouts]  # the shared reader


def _layers() -> dict[str, int]:
    """``{module or package: layer}`` from the layer table of docs/architecture.md."""
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    return {
        name: int(row[1])
        for row in re.finditer(r"^\| (\d) \| (.+?) \|", text, re.M)
        for name in re.findall(r"`(audioconv[\w.]*)`", row[2])
    }


def _layer_of(module: str, layers: dict[str, int]) -> int | None:
    owners = [name for name in layers if module == name or module.startswith(name + ".")]
    return layers[max(owners, key=len)] if owners else None


def test_modules_import_only_their_layer_or_inner_ones_even_inside_functions():
    """docs/architecture.md: outer layers may import inner ones, never the reverse (function-level
    imports included: a lazy import is still a dependency). Every module has a layer there."""
    modules, layers = _modules(), _layers()
    unplaced = [name for name in modules if name != "audioconv" and _layer_of(name, layers) is None]
    assert not unplaced, f"add these to the layer table of docs/architecture.md: {unplaced}"
    upward = []
    for name, path in modules.items():
        layer = _layer_of(name, layers)
        for imported in _all_edges(name, path, modules):
            inner = _layer_of(imported, layers)
            if layer is not None and inner is not None and inner > layer:
                upward.append(f"{name} (layer {layer}) imports {imported} (layer {inner})")
    assert not upward, upward
    # the case that was once broken: features (layer 2) never imports data (layer 4)
    assert (layers["audioconv.features"], layers["audioconv.data"]) == (2, 4)
    for name, path in modules.items():
        if name.startswith("audioconv.features"):
            imported = _all_edges(name, path, modules)
            assert not any(m.startswith("audioconv.data") for m in imported), name


def test_no_private_lightning_import():
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lightning"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{name} imports {private} from {node.module}"
                assert not any(p.startswith("_") for p in node.module.split(".")), name
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("lightning"):
                        assert not any(p.startswith("_") for p in alias.name.split(".")), name


def _lightning_classes():
    """(class, its Lightning bases) for every audioconv class built on a Lightning class."""
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="audioconv."):
        if info.name.startswith(("audioconv.__main__",)):
            continue
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            bases = [b for b in cls.__mro__[1:] if b.__module__.startswith("lightning")]
            if bases:
                yield cls, bases


def test_no_private_lightning_member_overridden_or_read():
    checked = 0
    for cls, bases in _lightning_classes():
        checked += 1
        own = [c for c in cls.__mro__ if c.__module__.startswith("audioconv")]
        defined = {n for c in own for n in vars(c)}
        for name in vars(cls):
            if name.startswith("_") and not name.startswith("__") and name != "_abc_impl":
                assert not any(name in vars(b) for b in bases), (
                    f"{cls.__qualname__} overrides Lightning's private {name}"
                )
        # attributes read as self._x must be ones audioconv's own classes define or assign
        assigned = set(defined)
        sources = [textwrap.dedent(inspect.getsource(c)) for c in own]
        for tree in map(ast.parse, sources):
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                    assigned.add(node.attr)
        for tree in map(ast.parse, sources):
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "self"
                    and node.attr.startswith("_")
                    and not node.attr.startswith("__")
                ):
                    assert node.attr in assigned, (
                        f"{cls.__qualname__} reads Lightning's private self.{node.attr}"
                    )
    assert checked >= 4  # the LightningModules, the logger, the callbacks, the DataModules


def test_every_public_submodule_is_an_attribute_of_the_package_and_loads_lazily():
    """``import audioconv; audioconv.contract.InputContract`` works for every public module (the
    README uses such names), and ``import audioconv`` alone imports neither torch nor Lightning."""
    import subprocess
    import sys

    public = {m.name for m in pkgutil.iter_modules(audioconv.__path__) if m.name[0] != "_"}
    assert public == set(audioconv.__all__) - {"__version__"}
    code = (
        "import sys, audioconv\n"
        "print(sorted(m for m in ('torch', 'lightning') if m in sys.modules))\n"
        f"for name in {sorted(public)!r}:\n"
        "    assert getattr(audioconv, name).__name__ == 'audioconv.' + name, name\n"
        "print(audioconv.contract.InputContract.__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[]", "InputContract"]
