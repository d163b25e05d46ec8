"""docs/connectors/sage-accounting.md documents the default tax-code map (the options table is
generated: tests/docs), and
the derived spec subset says where it came from."""

from __future__ import annotations

import json
import re
from pathlib import Path

from connectors.sage_accounting.sage_accounting_support import SUBSET
from migrationkit.connectors.sage_accounting.plugin import CAPABILITIES
from migrationkit.connectors.sage_accounting.taxes import DEFAULT_TAX_CODE_MAP

DOC = Path(__file__).parents[3] / "docs" / "connectors" / "sage-accounting.md"


def test_the_default_tax_code_map_is_the_documented_one() -> None:
    text = DOC.read_text("utf-8")
    rows = dict(re.findall(r"^\| (T\d+) \| [^|]+ \| `(GB_\w+)`", text, flags=re.M))
    assert rows == dict(DEFAULT_TAX_CODE_MAP)


def test_the_page_carries_the_generated_capability_matrix() -> None:
    text = DOC.read_text("utf-8")
    assert "<!-- capabilities: sage-accounting -->" in text
    for entity in CAPABILITIES:
        assert f"`{entity}`" in text, entity


def test_the_spec_subset_is_derived_reference_data_with_its_provenance() -> None:
    subset = json.loads(SUBSET.read_text("utf-8"))
    provenance = subset["provenance"]
    assert provenance["sha256"] == (
        "c7c84b109a58778f06d1e042917885e1b8581d7616dbe125939e200eb0655780"
    )
    assert "Sage" in provenance["source"] and "derived" in provenance["note"].lower()
    assert "description" not in json.dumps(subset["definitions"]["SalesInvoice"])
