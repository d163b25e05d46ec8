"""The example Sage 50 company into the Twinfield sandbox: validate, plan, demo, rollback, full,
delta and reconcile, with zero unexplained differences and every envelope per the WSDL; then
Twinfield as a source into CSV, every amount coming back."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from twinfield_support import held

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
from migrationkit.testing.sandboxes.server import SandboxServer
from migrationkit.testing.sandboxes.twinfield.app import TwinfieldSandbox

# What cannot move, and why; every one of these is explained by reconcile.
EXPECTED_SKIPS = {
    "JOURNAL_TO_CONTROL_ACCOUNT",  # a journal line on debtors or creditors names no contact
    "BANK_CURRENCY_DIFFERS",  # a sterling transfer to the euro bank book
}
_POSTING = (
    "invoices", "credit_notes", "payments", "refunds", "open_items", "manual_journals",
    "bank_transactions", "bank_transfers", "opening_balances",
)  # fmt: skip


def counts(report: RunReport) -> dict[str, dict[str, int]]:
    return {
        entity: {k: v for k, v in c.to_dict().items() if v and k != "extracted"}
        for entity, c in report.entities.items()
    }


def problems(report: RunReport) -> Counter[str]:
    return Counter(p.reason or "" for p in report.problems if p.outcome in ("skipped", "failed"))


def migration(company: Path, target: Connector, state: Path, **options: Any) -> Migration:
    source = PluginRegistry().open("sage50-json", {"location": str(company)})
    return Migration(source, target, SQLiteStateStore(state), MigrationOptions(sample=5, **options))


def statuses(app: TwinfieldSandbox) -> Counter[str]:
    return Counter(t.status for t in app.office.transactions.values())


def test_the_example_company_moves_with_nothing_unexplained(
    example_company: Path,
    tmp_path: Path,
    twinfield: tuple[TwinfieldSandbox, SandboxServer],
    target: Connector,
) -> None:
    app, _server = twinfield
    company = tmp_path / "company.json"
    shutil.copy(example_company, company)
    run = migration(company, target, tmp_path / "state.db")
    assert not [f for f in run.validate() if f.is_error]
    plan = run.plan()
    assert plan.entities

    demo = run.demo()
    assert demo.status == "succeeded", demo.error
    assert set(problems(demo)) <= EXPECTED_SKIPS, problems(demo)
    assert counts(demo)["invoices"]["created"] >= 5
    # A demo is never finalised: everything it wrote can be deleted.
    assert statuses(app) == {"temporary": len(app.office.transactions)}

    undone = run.rollback(demo.run_id)
    assert undone.status == "succeeded"
    for entity in _POSTING:
        assert set(counts(undone).get(entity, {})) <= {"deleted"}, entity
        assert not held(run, entity), entity
    assert not app.office.transactions
    reasons = {entry["ReasonForDeletion"] for entry in app.office.deleted}
    assert reasons == {target.instance.options.delete_reason}  # type: ignore[attr-defined]

    full = run.full()
    assert full.status == "succeeded", full.error
    assert set(problems(full)) <= EXPECTED_SKIPS, problems(full)
    assert statuses(app) == {"final": len(app.office.transactions)}, "finalised after the run"
    source = {e: [r.key for r in run.source.extract(e)] for e in _POSTING}  # type: ignore[union-attr]
    skipped = {(p.entity, p.source_key) for p in full.problems}
    for entity in _POSTING:
        wanted = {k for k in source[entity] if (entity, k) not in skipped}
        on_target = held(run, entity)
        assert set(on_target) == wanted, (entity, set(on_target) ^ wanted)
        assert max(on_target.values()) == 1, entity

    info = run.store.migrations()[0]
    result = reconcile(run.source, target, run.store, info.id)  # type: ignore[arg-type]
    assert result.ok, [d.to_dict() for d in result.unexplained]
    assert {e.reason for d in result.differences for e in d.explanations} <= EXPECTED_SKIPS

    _change_the_source(company)
    delta = migration(company, target, tmp_path / "state.db", validate=False).delta()
    assert delta.status == "succeeded", delta.error
    assert counts(delta)["invoices"] == {"updated": 3, "unchanged": len(source["invoices"]) - 3}
    assert counts(delta)["contacts"].get("updated") == 1
    assert counts(delta)["items"].get("deleted") == 1
    assert counts(delta)["bank_transactions"].get("deleted") == 1
    assert not [p for p in delta.problems if p.outcome == "failed"], delta.problems
    # A final invoice cannot change: it was reversed by a counter-entry and entered again.
    reversals = [
        t for t in app.office.transactions.values() if "reverses" in t.element.findtext(
            "lines/line/freetext2", default=""
        )
    ]  # fmt: skip
    assert len(reversals) == 4  # three invoices changed, one bank payment deleted
    after = migration(company, target, tmp_path / "state.db", validate=False)
    result = reconcile(after.source, target, after.store, info.id)  # type: ignore[arg-type]
    assert result.ok, [d.to_dict() for d in result.unexplained]
    for entity in ("invoices", "bank_transactions"):
        assert max(held(after, entity).values()) == 1, entity

    _assert_round_trip_to_csv(target, tmp_path)


def _change_the_source(company: Path) -> None:
    """Three invoices and a customer change, a stock item and a bank payment are deleted."""
    data = json.loads(company.read_text("utf-8"))
    transactions = data["transactions"]
    invoices = [t for t in transactions if t["type"] == "SI"][:3]
    for n, invoice in enumerate(invoices):
        invoice["extra_reference"] = f"PO-CHANGED-{n}"
    payment = next(t for t in transactions if t["type"] == "BP" and t["bank_code"] == "1200")
    payment["deleted"] = True
    data["customers"][0]["name"] += " (renamed)"
    services = [p for p in data["products"] if p["item_type"] == "service"]
    data["products"].remove(services[1])
    company.write_text(json.dumps(data), "utf-8")


def _assert_round_trip_to_csv(twinfield: Connector, tmp_path: Path) -> None:
    """Twinfield as the source, CSV as the target: every record and amount comes back exactly."""
    csv = PluginRegistry().open("csv", {"location": str(tmp_path / "twinfield-csv")})
    store = SQLiteStateStore(tmp_path / "csv-state.db")
    report = Migration(twinfield, csv, store, MigrationOptions(validate=False)).full()
    assert report.status == "succeeded" and not report.problems, report.problems[:5]
    twinfield_ledger, csv_ledger = Ledger(), Ledger()
    for entity in ENTITY_ORDER:
        extracted = sorted(twinfield.extract(entity), key=lambda r: r.key)
        written = sorted(csv.extract(entity), key=lambda r: r.key)
        assert [canonical_text(r) for r in written] == [canonical_text(r) for r in extracted], (
            entity
        )
        twinfield_ledger.add_all(extracted)
        csv_ledger.add_all(written)
    assert csv_ledger.trial_balance() == twinfield_ledger.trial_balance()
    assert csv_ledger.contact_base_balances() == twinfield_ledger.contact_base_balances()
    assert twinfield_ledger.trial_balance(), "the extracted ledger is not empty"
