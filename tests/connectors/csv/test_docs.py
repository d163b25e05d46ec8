"""docs/connectors/csv.md documents exactly the files the connector writes."""

from __future__ import annotations

from pathlib import Path

from migrationkit import ENTITY_ORDER
from migrationkit.connectors.csv.codec import ALLOCATION_COLUMNS, codec_for

DOC = Path(__file__).parents[3] / "docs" / "connectors" / "csv.md"


def test_every_file_layout_is_documented_as_written() -> None:
    text = DOC.read_text("utf-8")
    for entity in ENTITY_ORDER:
        assert f"### `{entity}.csv`" in text, entity
        assert "```\n" + ",".join(codec_for(entity).header) + "\n```" in text, entity
    assert "```\n" + ",".join(ALLOCATION_COLUMNS) + "\n```" in text
