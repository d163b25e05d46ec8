"""The benchmarks' second Sage 50 producer (benchmarks/foreign.py) writes valid, seeded files.

The benchmark's foreign data set is only worth something if the validator accepts it and it
is shaped as described: 1.7 splits a transaction, ten times the reference data, two layouts of
one document, and a changed copy where exactly every tenth transaction differs.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from migrationkit.connectors.sage50.validation.driver import validate_file

_FOREIGN = Path(__file__).resolve().parents[2] / "benchmarks" / "foreign.py"


@pytest.fixture(scope="module")
def foreign() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_foreign", _FOREIGN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


def test_both_layouts_hold_one_valid_document_of_the_described_shape(
    foreign: ModuleType, tmp_path: Path
) -> None:
    compact = foreign.write(tmp_path / "compact.json", 3000, layout="compact")
    pretty = foreign.write(tmp_path / "pretty.json", 3000, layout="pretty")
    assert b"\n" not in compact.read_bytes()
    assert pretty.read_text("utf-8").count("\n") > 3000 * 20
    document = json.loads(compact.read_text("utf-8"))
    assert document == json.loads(pretty.read_text("utf-8"))
    findings = list(validate_file(compact))
    assert findings == [], findings[:5]
    trail = document["transactions"]
    assert len(trail) == 3000
    assert sum(len(t["splits"]) for t in trail) / len(trail) == pytest.approx(1.7, abs=0.1)
    assert len(document["customers"]) == 3000 // 15
    assert list(document)[:3] == ["format", "format_version", "company"]
    assert list(trail[0])[:2] == ["type", "header_number"]


def test_it_is_seeded_and_the_changed_copy_differs_in_every_tenth_transaction(
    foreign: ModuleType, tmp_path: Path
) -> None:
    first = foreign.write(tmp_path / "a.json", 500, seed=3)
    again = foreign.write(tmp_path / "b.json", 500, seed=3)
    other = foreign.write(tmp_path / "c.json", 500, seed=4)
    changed = foreign.write(tmp_path / "d.json", 500, seed=3, changed=0.1)
    assert first.read_bytes() == again.read_bytes() != other.read_bytes()
    before = json.loads(first.read_text("utf-8"))["transactions"]
    after = json.loads(changed.read_text("utf-8"))["transactions"]
    differing = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert differing == list(range(9, 500, 10))
    assert all(after[i]["details"].endswith("(amended)") for i in differing)
    assert list(validate_file(changed)) == []
