"""The reference docs hold the public surface exactly: every hook with its signature."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from pathlib import Path
from types import ModuleType

import pytest

import migrationkit
from migrationkit import PluginRegistry
from migrationkit.core import hookspecs

DOCS = Path(__file__).parents[2] / "docs"


def _hooks() -> list[tuple[str, str]]:
    found = []
    for cls in (hookspecs.PluginSpecs, hookspecs.ConnectorSpecs):
        for name, function in vars(cls).items():
            if name.startswith("migrationkit_"):
                signature = inspect.signature(function)
                params = [p for p in signature.parameters.values() if p.name != "self"]
                text = ", ".join(f"{p.name}: {p.annotation}" for p in params)
                found.append((name, f"{name}({text}) -> {signature.return_annotation}"))
    return found


@pytest.mark.parametrize(("name", "signature"), _hooks())
def test_every_hook_is_documented_with_its_exact_signature(name: str, signature: str) -> None:
    text = (DOCS / "reference" / "hooks.md").read_text("utf-8")
    assert f"### `{name}`" in text, f"{name} is not documented in docs/reference/hooks.md"
    assert f"```python\n{signature}\n```" in text, f"the documented signature of {name} differs"


def test_the_public_api_is_exactly_all() -> None:
    public = {n for n in vars(migrationkit) if n[:1].isalpha()}
    modules = {"core", "cli", "connectors", "doctor", "handlers", "http", "portfolio", "testing"}
    assert public - modules - {"annotations"} == set(migrationkit.__all__) - {"__version__"}
    for name in migrationkit.__all__:
        assert hasattr(migrationkit, name), name


CONNECTOR_PAGES = (
    "csv",
    "sage50-json",
    "jsonl",
    "xero",
    "sage-accounting",
    "twinfield",
    "exact",
)


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hook", DOCS / "_hooks" / "capabilities.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", CONNECTOR_PAGES)
def test_every_connector_page_carries_its_generated_tables(name: str) -> None:
    page = (DOCS / "connectors" / f"{name}.md").read_text("utf-8")
    assert f"<!-- capabilities: {name} -->" in page
    assert f"<!-- options: {name} -->" in page


def _registry_with_the_example_plugin(monkeypatch: pytest.MonkeyPatch) -> PluginRegistry:
    """The installed connectors, plus the example plugin from its folder when not installed."""
    registry = PluginRegistry()
    if "jsonl" not in registry.connectors:
        monkeypatch.syspath_prepend(str(DOCS.parent / "plugins" / "migrationkit-jsonl" / "src"))
        registry.register(importlib.import_module("migrationkit_jsonl.plugin"), name="jsonl")
    return registry


@pytest.mark.parametrize("name", CONNECTOR_PAGES)
def test_the_generated_option_table_has_a_row_per_option(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = _registry_with_the_example_plugin(monkeypatch)
    hook = _hook()
    hook._REGISTRY = registry
    rendered = hook.on_page_markdown(f"<!-- options: {name} -->")
    options = registry.info(name).option_help()
    rows = [line for line in rendered.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(options)
    assert all(help_ and help_ in rendered for help_ in options.values())
