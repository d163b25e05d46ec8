"""The example Sage 50 company into the Xero sandbox and back out, end to end.

Demo, rollback, full, delta and reconcile with no unexplained difference; what Xero cannot take
(exchange differences on control accounts, a foreign bank's opening balance) is in the plan and
the report, never a crash; and the Xero data extracted to CSV keeps every amount exactly.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from migrationkit import (
    ENTITY_ORDER,
    Connector,
    Ledger,
    Migration,
    MigrationOptions,
    PluginRegistry,
    RunReport,
    SQLiteStateStore,
    reconcile,
)
from migrationkit.core.fingerprint import canonical_text

CANNOT_MOVE = {"EXCHANGE_DIFFERENCE_JOURNAL", "FOREIGN_BANK_OPENING_BALANCE"}
"""What the example company holds that Xero cannot take: exchange differences posted to
receivables and payables (Xero computes its own), the euro bank's opening balance (known only
in sterling)."""


def _problems(report: RunReport) -> Counter[str]:
    return Counter(p.reason or "" for p in report.problems)


def _assert_only_expected(report: RunReport) -> None:
    assert report.status == "succeeded", report.error
    unexpected = [
        f"{p.entity} {p.source_key} {p.outcome} {p.reason}: {p.message}"
        for p in report.problems
        if p.reason not in CANNOT_MOVE
    ]
    assert not unexpected, unexpected[:10]


def _sage(path: Path) -> Connector:
    return PluginRegistry().open("sage50-json", {"location": str(path)})


def test_plan_names_what_xero_cannot_take_and_what_needs_a_clearing_account(
    sage_company: Path, open_xero: Callable[..., Connector], tmp_path: Path
) -> None:
    store = SQLiteStateStore(tmp_path / "state.db")
    plan = Migration(_sage(sage_company), open_xero(clearing_account=None), store).plan()
    problems = {e.entity: dict(e.problems) for e in plan.entities if e.problems}
    assert "EXCHANGE_DIFFERENCE_JOURNAL" in problems["manual_journals"]
    for entity in ("opening_balances", "open_items", "refunds"):
        assert "NEEDS_CLEARING_ACCOUNT" in problems[entity], entity
    assert not plan.refused


def _edit(path: Path) -> tuple[list[str], str]:
    """Change the reference of two unsettled sales invoices, delete a third (source side)."""
    data = json.loads(path.read_text("utf-8"))
    settled = {
        a["header_number"]
        for item in [
            *data["transactions"],
            *data["opening_balances"]["customer_open_items"],
            *data["opening_balances"].get("supplier_open_items", []),
        ]
        for a in item.get("allocations", [])
    }
    unsettled = [
        t
        for t in data["transactions"]
        if t["type"] == "SI" and not t.get("deleted") and t["header_number"] not in settled
    ]
    for invoice in unsettled[:2]:
        invoice["extra_reference"] = "changed at the source"
    unsettled[-1]["deleted"] = True
    path.write_text(json.dumps(data), "utf-8")
    return [str(t["header_number"]) for t in unsettled[:2]], str(unsettled[-1]["header_number"])


def test_the_example_company_moves_through_the_lifecycle_and_reconciles(
    sage_company: Path, open_xero: Callable[..., Connector], tmp_path: Path
) -> None:
    company = tmp_path / "company.json"
    company.write_bytes(sage_company.read_bytes())
    target = open_xero()
    store = SQLiteStateStore(tmp_path / "state.db")
    migration = Migration(_sage(company), target, store, MigrationOptions(sample=10))

    demo = migration.demo()
    _assert_only_expected(demo)
    undone = migration.rollback(demo.run_id)
    assert undone.totals().remaining == 0
    assert undone.totals().deleted == demo.totals().created

    full = migration.full()
    _assert_only_expected(full)
    assert _problems(full) == {"EXCHANGE_DIFFERENCE_JOURNAL": 14, "FOREIGN_BANK_OPENING_BALANCE": 1}
    for entity, counts in full.entities.items():
        # What the organisation already had (itself, system accounts, built-in rates) is
        # matched, not created; it stayed through the rollback, so it is unchanged now.
        accounted = counts.created + counts.skipped + counts.mapped + counts.unchanged
        assert accounted == counts.extracted, entity
    info = store.migrations()[0]
    result = reconcile(migration.source, target, store, info.id)  # type: ignore[arg-type]
    assert result.ok, [d.to_dict() for d in result.unexplained][:5]
    explained = {e.reason for d in result.differences for e in d.explanations}
    assert explained <= CANNOT_MOVE

    changed, deleted = _edit(company)
    source = _sage(company)
    later = Migration(source, target, store, MigrationOptions(validate=False))
    delta = later.delta()
    _assert_only_expected(delta)
    invoices = delta.entities["invoices"]
    assert (invoices.updated, invoices.deleted, invoices.created) == (2, 1, 0)
    held = {r.key: r for r in target.extract("invoices")}
    ids = store.lookup(info.id, "invoices", [*changed, deleted])
    assert held[ids[changed[0]].target_id].reference == "changed at the source"  # type: ignore[index]
    assert held[ids[deleted].target_id].status.value == "voided"  # type: ignore[index]
    result = reconcile(source, target, store, info.id)
    assert result.ok, [d.to_dict() for d in result.unexplained][:5]

    _assert_round_trip_to_csv(target, tmp_path)


def _assert_round_trip_to_csv(xero: Connector, tmp_path: Path) -> None:
    """Xero as the source, CSV as the target: every record and amount comes back exactly."""
    csv = PluginRegistry().open("csv", {"location": str(tmp_path / "xero-csv")})
    store = SQLiteStateStore(tmp_path / "csv-state.db")
    report = Migration(xero, csv, store, MigrationOptions(validate=False)).full()
    assert report.status == "succeeded" and not report.problems, report.problems[:5]
    xero_ledger, csv_ledger = Ledger(), Ledger()
    for entity in ENTITY_ORDER:
        extracted = sorted(xero.extract(entity), key=lambda r: r.key)
        written = sorted(csv.extract(entity), key=lambda r: r.key)
        assert [canonical_text(r) for r in written] == [canonical_text(r) for r in extracted], (
            entity
        )
        xero_ledger.add_all(extracted)
        csv_ledger.add_all(written)
    assert csv_ledger.trial_balance() == xero_ledger.trial_balance()
    assert csv_ledger.contact_balances() == xero_ledger.contact_balances()
    assert xero_ledger.trial_balance(), "the extracted ledger is not empty"


@pytest.mark.parametrize("clearing", [None])
def test_without_a_clearing_account_nothing_crashes_and_reconcile_explains(
    clearing: str | None, sage_company: Path, open_xero: Callable[..., Connector], tmp_path: Path
) -> None:
    target = open_xero(clearing_account=clearing)
    store = SQLiteStateStore(tmp_path / "state.db")
    migration = Migration(_sage(sage_company), target, store)
    report = migration.full()
    assert report.status == "succeeded"
    reasons = _problems(report)
    assert reasons["NEEDS_CLEARING_ACCOUNT"] > 0
    assert not [p for p in report.problems if p.outcome.value == "failed"]
    result = reconcile(migration.source, target, store, store.migrations()[0].id)  # type: ignore[arg-type]
    assert result.ok, [d.to_dict() for d in result.unexplained][:5]
