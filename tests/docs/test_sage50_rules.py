"""The sage50-json rule table is generated from the validator's registry, one row per rule."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

from migrationkit.connectors.sage50.validation import RULES

DOCS = Path(__file__).parents[2] / "docs"


def _hook() -> ModuleType:
    path = DOCS / "_hooks" / "sage50_rules.py"
    spec = importlib.util.spec_from_file_location("sage50_rules_hook", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


hook = _hook()


def _rendered() -> str:
    page = (DOCS / "connectors" / "sage50-json.md").read_text("utf-8")
    return hook.on_page_markdown(page, config={"docs_dir": str(DOCS)})  # type: ignore[no-any-return]


def test_the_connector_page_carries_the_rule_table() -> None:
    page = (DOCS / "connectors" / "sage50-json.md").read_text("utf-8")
    assert page.count(hook.MARKER) == 1
    assert hook.MARKER not in _rendered()


def test_the_table_has_one_row_per_registered_rule() -> None:
    row = re.compile(r"^\| `([A-Z0-9_]+)` \| (error|warning) \| (.+) \| (.+) \|$", re.MULTILINE)
    rows = row.findall(_rendered())
    assert [code for code, *_ in rows] == list(RULES)
    for code, severity, summary, _where in rows:
        assert severity == str(RULES[code].severity)
        assert summary == RULES[code].summary.replace("|", "\\|")


def test_every_row_links_to_a_heading_of_the_format_page() -> None:
    format_page = (DOCS / "formats" / "sage50-json.md").read_text("utf-8")
    anchors = set(hook.anchors(format_page).values())
    links = re.findall(r"\(\.\./formats/sage50-json\.md#([^)]+)\)", _rendered())
    assert len(links) >= len(RULES)
    assert set(links) <= anchors


def test_the_format_page_is_in_the_navigation_and_the_hook_is_registered() -> None:
    config = (DOCS.parent / "mkdocs.yml").read_text("utf-8")
    assert "formats/sage50-json.md" in config
    assert "docs/_hooks/sage50_rules.py" in config
