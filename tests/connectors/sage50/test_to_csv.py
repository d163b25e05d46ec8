"""Sage 50 to CSV carries every record with identical amounts, and the books still balance.

The acceptance test of the foundation: a generated company (every transaction type, foreign
currency, part payments, non-ASCII names) goes to CSV; reading the CSV back gives the very
records the source gave, record by record, and the trial balance rebuilt from the CSV equals the
nominal balances stated in the export.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from migrationkit import (
    ENTITY_ORDER,
    Ledger,
    Migration,
    MigrationOptions,
    PluginRegistry,
    Rejected,
    SQLiteStateStore,
    fingerprint,
)
from migrationkit.testing.generators.sage50 import GeneratorOptions, generate

EXAMPLE = Path(__file__).parents[3] / "examples" / "larkspur.json"


def _records(connector: object, entity: str) -> dict[str, object]:
    items = list(connector.extract(entity))  # type: ignore[attr-defined]
    assert not [i for i in items if isinstance(i, Rejected)]
    return {item.key: item for item in items}


@pytest.mark.parametrize("history_mode", ["full_history", "opening_balances", "records_only"])
def test_every_record_reaches_csv_unchanged_and_the_trial_balance_holds(
    tmp_path: Path, history_mode: str
) -> None:
    export = tmp_path / "company.json"
    generate(export, GeneratorOptions(seed=5, transactions=800, history_mode=history_mode))
    registry = PluginRegistry()
    source = registry.open("sage50-json", {"location": str(export)})
    target = registry.open("csv", {"location": str(tmp_path / "out")})
    store = SQLiteStateStore(tmp_path / "state.db")
    report = Migration(source, target, store, MigrationOptions()).full()
    assert report.status == "succeeded"
    assert report.totals().skipped == report.totals().failed == 0

    back = registry.open("csv", {"location": str(tmp_path / "out")})
    ledger = Ledger()
    for entity in ENTITY_ORDER:
        original = _records(source, entity)
        copied = _records(back, entity)
        assert copied.keys() == original.keys(), entity
        for key, record in original.items():
            assert fingerprint(copied[key]) == fingerprint(record), (entity, key)  # type: ignore[arg-type]
            assert copied[key] == record, (entity, key)
        for record in copied.values():
            ledger.add(record)  # type: ignore[arg-type]

    data = json.loads(export.read_text("utf-8"))
    if history_mode == "records_only":
        assert not ledger.trial_balance()
        return
    balances = ledger.trial_balance()
    for nominal in data["nominal_accounts"]:
        stated = Decimal(nominal["balance"] or "0")
        assert balances.get(nominal["code"], Decimal(0)) == stated, nominal["code"]
    contacts = ledger.contact_balances()
    for section, prefix in (("customers", "customer:"), ("suppliers", "supplier:")):
        for party in data[section]:
            held = contacts.get(prefix + party["account_ref"])
            assert (held.amount if held else Decimal(0)) == Decimal(party["balance"] or "0")


def test_the_example_company_carries_every_kind_of_record() -> None:
    source = PluginRegistry().open("sage50-json", {"location": str(EXAMPLE)})
    data = json.loads(EXAMPLE.read_text("utf-8"))
    assert {t["type"] for t in data["transactions"]} == {
        "SI", "SC", "SD", "SR", "SA", "SP", "PI", "PC", "PD", "PP",
        "PA", "PR", "BP", "BR", "CP", "CR", "VP", "VR", "JD", "JC",
    }  # fmt: skip
    for entity in ENTITY_ORDER:
        assert _records(source, entity), f"the example has no {entity}"


def test_the_shipped_example_is_what_the_generator_writes(tmp_path: Path) -> None:
    fresh = tmp_path / "larkspur.json"
    generate(fresh, GeneratorOptions(seed=1, transactions=300))
    assert fresh.read_bytes() == EXAMPLE.read_bytes(), (
        "examples/larkspur.json is stale: regenerate it with "
        "`migrationkit generate sage50 examples/larkspur.json --transactions 300 --seed 1`"
    )
