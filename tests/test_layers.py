"""The shape of the package, drawn from its imports (function-level imports included).

Records at the bottom, views on top, arrows down only: no import circle in ``src/pathologies``,
no module importing a layer above its own, and the light paths (``Run.load``, ``report``, CLI
start-up) free of torch.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "pathologies"

#: Layers from the bottom up; a module may import its own layer and those below.
LAYERS = [
    ("records", ["text", "records", "ranks", "progress", "runs", "recommended"]),
    ("models/data", ["models", "data"]),
    ("engine", ["engine"]),
    ("methods", ["attribution", "dknn"]),
    ("analyses", ["explain", "reduction", "metrics", "training", "corpus", "qa"]),
    ("trust", ["trust"]),
    ("runs", ["audit", "runs", "shortcuts", "shortcut_analysis", "trust_study"]),
    ("views", ["report", "demo", "cli", "cli_common", "cli_audit", "cli_check", "cli_dknn", "cli_qa", "app", "cli_app", "cli_shortcuts"]),
]


def _modules() -> dict[str, Path]:
    out = {}
    for p in PACKAGE.rglob("*.py"):
        parts = list(p.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Own modules imported anywhere in ``path`` (module level, functions, ``TYPE_CHECKING`` excluded)."""
    tree = ast.parse(path.read_text())
    typing_only: set[int] = set()
    for node in ast.walk(tree):  # imports under ``if TYPE_CHECKING:`` are for annotations only
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            typing_only |= {id(n) for b in node.body for n in ast.walk(b)}
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else [])) if node.level else (node.module or "")
            for target in [mod] + [f"{mod}.{a.name}" for a in node.names]:
                if target in modules:
                    found.add(target)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in modules}
    found.discard(name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) == 1:
        return None  # the package façade: ``import pathologies`` re-exports, above every layer
    for i, (_, tops) in enumerate(LAYERS):
        if parts[1] in tops:
            return i
    return None


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_every_module_has_a_layer():
    missing = [m for m in _graph() if m != "pathologies" and _layer(m) is None]
    assert not missing, f"modules in no layer (add them to LAYERS): {missing}"


def test_no_import_circle():
    graph = {m: {t for t in ts if t != "pathologies"} for m, ts in _graph().items() if m != "pathologies"}
    assert _cycles(graph) == []


def test_no_arrow_points_up():
    up = []
    for module, targets in _graph().items():
        lm = _layer(module)
        if lm is None:
            continue
        for t in targets:
            lt = _layer(t)
            if lt is not None and lt > lm:
                up.append(f"{module} ({LAYERS[lm][0]}) -> {t} ({LAYERS[lt][0]})")
    assert not up, "imports that point up a layer:\n" + "\n".join(sorted(up))


def test_the_graph_sees_function_level_imports():
    """The test would catch an upward import hidden in a function (the former records -> report)."""
    fake = "def f():\n    from .report.views import attribution_html\n"
    tree_path = PACKAGE / "records.py"
    found = _imports("pathologies.records", tree_path, _modules())
    assert "pathologies.report.views" not in found
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "records.py"
        p.write_text(fake)
        assert "pathologies.report.views" in _imports("pathologies.records", p, _modules())


@pytest.mark.parametrize(
    "code",
    [
        "from pathologies.audit import Run",
        "import pathologies.report.html, pathologies.report.views, pathologies.report.trust_view",
        "import pathologies.records, pathologies.trust, pathologies.corpus, pathologies.metrics",
        "import pathologies.cli",
    ],
)
def test_light_paths_import_no_torch(code):
    """Loading a run and rendering the report import no torch (a fresh interpreter checks sys.modules)."""
    out = subprocess.run(
        [sys.executable, "-c", f"{code}; import sys; print('torch' in sys.modules)"],
        capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip() == "False", out.stderr


def test_every_verb_has_a_one_line_summary():
    """``pathologies --help`` shows each verb's first docstring paragraph: one line, so it never
    breaks mid-sentence."""
    import typer

    from pathologies.cli import app

    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        summary = (command.help or "").strip().split("\n\n")[0]
        assert summary and "\n" not in summary, f"{name}: {summary!r}"
