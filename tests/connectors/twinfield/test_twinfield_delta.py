"""Twinfield offers no change feed a delta could trust, so it declares none, and says why."""

from __future__ import annotations

from pathlib import Path

from migrationkit import PluginRegistry

DOC = Path(__file__).parents[3] / "docs" / "connectors" / "twinfield.md"


def test_twinfield_declares_no_read_by_date_and_its_page_says_why() -> None:
    caps = PluginRegistry().info("twinfield").capabilities
    assert not [entity for entity, c in caps.items() if c.modified_since]
    page = DOC.read_text("utf-8")
    assert "### Why a delta reads everything from Twinfield" in page
    for reason in ("fin.trs.head.modified", "DeletedTransactionsService", "counter-entry"):
        assert reason in page, reason
