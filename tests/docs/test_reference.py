"""The reference docs hold the public surface exactly: every hook with its signature."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import migrationkit
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
    modules = {"core", "cli", "connectors", "http", "testing"}
    assert public - modules - {"annotations"} == set(migrationkit.__all__) - {"__version__"}
    for name in migrationkit.__all__:
        assert hasattr(migrationkit, name), name


def test_every_connector_page_carries_its_capability_matrix() -> None:
    for name in ("csv", "sage50-json", "jsonl"):
        page = DOCS / "connectors" / f"{name}.md"
        assert f"<!-- capabilities: {name} -->" in page.read_text("utf-8"), page
