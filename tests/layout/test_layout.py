"""The package's layout keeps its promises: no import cycles, no fakes in production modules,
modules a reader can hold in mind."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src"
PACKAGE = SRC / "migrationkit"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every migrationkit module this file imports, at any depth (lazy imports count)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("migrationkit"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if module.startswith("migrationkit"):
                found.add(module)
                found.update(f"{module}.{a.name}" for a in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = {t for t in _imports(path) if t in modules and t != name}
        # Importing a package's submodule runs the package first: that edge is not a cycle.
        graph[name] = {t for t in targets if not name.startswith(t + ".")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_no_import_cycles_inside_the_package() -> None:
    # Package __init__ modules re-export their children; a child importing a sibling through
    # the package is fine. Cycles between two modules (lazy imports included) are not.
    graph = _graph()
    for name in list(graph):
        if (PACKAGE / Path(*name.split(".")[1:]) / "__init__.py").exists():
            graph[name] = set()
    assert _cycles(graph) == []


def test_importing_production_modules_loads_no_fake_and_no_server() -> None:
    code = (
        "import sys, migrationkit, migrationkit.cli\n"
        "import migrationkit.connectors.xero.plugin, migrationkit.connectors.xero.connector\n"
        "import migrationkit.connectors.sage_accounting.plugin\n"
        "import migrationkit.connectors.sage_accounting.connector\n"
        "import migrationkit.connectors.twinfield.plugin\n"
        "import migrationkit.connectors.twinfield.connector\n"
        "import migrationkit.connectors.twinfield.commands\n"
        "import migrationkit.connectors.exact.plugin, migrationkit.connectors.exact.connector\n"
        "import migrationkit.connectors.sage50.connector, migrationkit.connectors.csv.connector\n"
        "bad = [m for m in sys.modules if m in ('http.server', 'socketserver')\n"
        "       or m.startswith('migrationkit.testing')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "path",
    sorted(p for p in PACKAGE.rglob("*.py") if "testing" not in p.relative_to(PACKAGE).parts),
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_production_modules_stay_readable(path: Path) -> None:
    assert len(path.read_text("utf-8").splitlines()) <= 1000


def test_no_fake_lives_in_a_production_connector() -> None:
    fakes = [
        p
        for p in (PACKAGE / "connectors").rglob("*.py")
        if "sandbox" in p.name or "generator" in p.name
    ]
    assert fakes == []
