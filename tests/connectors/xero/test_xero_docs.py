"""docs/connectors/xero.md carries the capabilities as declared (options: tests/docs)."""

from __future__ import annotations

from pathlib import Path

from migrationkit import ENTITY_ORDER, PluginRegistry

DOC = Path(__file__).parents[3] / "docs" / "connectors" / "xero.md"


def test_the_capability_matrix_is_generated_from_the_declaration() -> None:
    text = DOC.read_text("utf-8")
    assert "<!-- capabilities: xero -->" in text
    info = PluginRegistry().info("xero")
    assert set(info.capabilities) == set(ENTITY_ORDER)
    for entity, caps in info.capabilities.items():
        assert caps.notes or entity == "company" or caps.batch_size, entity
