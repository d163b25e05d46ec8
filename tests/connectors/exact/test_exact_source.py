"""Exact as a source: a delta reads only what changed (``sync/`` endpoints from the last run's
``Timestamp``), deletions come from ``sync/Deleted`` (entries, which it names by their lines, by
comparison), and plan says when the deleted log's two months have passed."""

from __future__ import annotations

import datetime as dt
import sqlite3
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from connectors.exact.exact_support import connector_options, sandbox
from migrationkit import (
    ENTITY_ORDER,
    Connector,
    Invoice,
    Migration,
    MigrationOptions,
    PluginRegistry,
    RunReport,
    SQLiteStateStore,
)
from migrationkit.core.fingerprint import canonical_text
from migrationkit.testing import SandboxServer, datasets, memory_source
from migrationkit.testing.sandboxes.exact.app import ExactSandbox
from migrationkit.testing.sandboxes.exact.entries import delete_entry, update_entry


@pytest.fixture
def populated(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ExactSandbox, SandboxServer]]:
    """A division holding a company (the allocations dataset, migrated into it)."""
    with sandbox() as (app, server):
        into = PluginRegistry().open("exact", connector_options(app, server))
        report = Migration(
            memory_source(datasets.allocations(), name="company"),
            into,
            SQLiteStateStore(tmp_path_factory.mktemp("into") / "state.db"),
            MigrationOptions(validate=False),
        ).full()
        assert report.status == "succeeded" and not report.problems
        yield app, server


def out_of_exact(
    app: ExactSandbox, server: SandboxServer, folder: Path, seen: list[str]
) -> Migration:
    """Exact to CSV, every request the source sends noted in ``seen``."""

    def note(request: requests.PreparedRequest, response: requests.Response) -> None:
        seen.append(urllib.parse.unquote_plus(request.url or ""))

    source = PluginRegistry().open("exact", connector_options(app, server, observers=[note]))
    target = PluginRegistry().open("csv", {"location": str(folder / "csv")})
    return Migration(
        source, target, SQLiteStateStore(folder / "state.db"), MigrationOptions(validate=False)
    )


def held(target: Connector) -> dict[str, list[str]]:
    """Every record the CSV files hold, as text, per entity."""
    return {
        entity: sorted(canonical_text(r) for r in target.extract(entity))
        for entity in ENTITY_ORDER
        if target.capabilities(entity).extract
    }


def changed(report: RunReport) -> dict[str, dict[str, int]]:
    return {
        entity: {k: v for k, v in c.to_dict().items() if v and k not in ("extracted", "unchanged")}
        for entity, c in report.entities.items()
        if any(v for k, v in c.to_dict().items() if k not in ("extracted", "unchanged"))
    }


def test_a_delta_reads_what_changed_since_the_last_runs_timestamps(
    populated: tuple[ExactSandbox, SandboxServer], tmp_path: Path
) -> None:
    app, server = populated
    seen: list[str] = []
    run = out_of_exact(app, server, tmp_path, seen)
    assert run.full().status == "succeeded"
    info = run.store.migrations()[0]
    marks = run.store.checkpoints(info.id)["source"]
    assert set(marks) >= {
        "sync/CRM/Accounts",
        "sync/Financial/GLAccounts",
        "sync/Logistics/Items",
        "sync/Financial/TransactionLines",
    }
    division = app.division()
    with app.lock:
        relation = next(iter(division.table("crm/Accounts").values()))
        division.update("crm/Accounts", relation["ID"], {"Name": "Renamed in Exact"})
        entry = next(
            e for e in division.table("salesentry/SalesEntries").values() if e["Type"] == 20
        )
        update_entry(division, "salesentry/SalesEntries", entry["EntryID"], {"YourRef": "X-1"})
    seen.clear()
    delta = run.delta()
    assert delta.status == "succeeded", delta.error
    assert changed(delta) == {"contacts": {"updated": 1}, "invoices": {"updated": 1}}
    assert delta.entities["contacts"].extracted == 1, "only the relation that changed is read"
    syncs = [url for url in seen if "/sync/" in url]
    assert f"Timestamp gt {marks['sync/CRM/Accounts']}" in next(u for u in syncs if "CRM" in u)
    lines = next(u for u in syncs if "TransactionLines" in u)
    assert f"Timestamp gt {marks['sync/Financial/TransactionLines']}" in lines
    # The changed entry is read again by its id, not every entry of the journal.
    assert any("EntryID eq guid'" in url and entry["EntryID"] in url for url in seen)
    invoices = {r.number for r in run.target.extract("invoices") if isinstance(r, Invoice)}
    assert "X-1" in invoices
    later = run.store.checkpoints(info.id)["source"]
    assert int(later["sync/CRM/Accounts"]) > int(marks["sync/CRM/Accounts"])
    # The CSV files are what a full run over the changed division writes.
    fresh = out_of_exact(app, server, tmp_path / "fresh", [])
    assert fresh.full().status == "succeeded"
    assert held(run.target) == held(fresh.target)


def test_deletions_come_from_the_deleted_log(
    populated: tuple[ExactSandbox, SandboxServer], tmp_path: Path
) -> None:
    app, server = populated
    seen: list[str] = []
    run = out_of_exact(app, server, tmp_path, seen)
    assert run.full().status == "succeeded"
    division = app.division()
    with app.lock:
        item = next(iter(division.table("logistics/Items").values()))
        division.delete("logistics/Items", item["ID"])
        invoice = next(
            e
            for e in division.table("salesentry/SalesEntries").values()
            if e["YourRef"] == "INV-1003"
        )
        # The payment that settles it goes first (Exact keeps a matched entry).
        for bank in list(division.table("financialtransaction/BankEntries").values()):
            if any(line.get("OurRef") == invoice["EntryNumber"] for line in bank["BankEntryLines"]):
                delete_entry(division, "financialtransaction/BankEntries", bank["EntryID"])
        delete_entry(division, "salesentry/SalesEntries", invoice["EntryID"])
    delta = run.delta()
    assert delta.status == "succeeded", delta.error
    assert changed(delta) == {
        "items": {"deleted": 1},
        "invoices": {"deleted": 1},
        "payments": {"deleted": 1},
    }
    # Items by their key in sync/Deleted; entries by comparing, as the note says.
    assert any("sync/Deleted" in url for url in seen)
    notes = " ".join(delta.notes)
    assert "names lines, not entries" in notes and "invoices" in notes
    fresh = out_of_exact(app, server, tmp_path / "fresh", [])
    assert fresh.full().status == "succeeded"
    assert held(run.target) == held(fresh.target)


def _age_last_run(state: Path, days: int) -> None:
    moment = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat()
    with sqlite3.connect(state) as db:
        db.execute("UPDATE runs SET watermark = ? WHERE id = (SELECT MAX(id) FROM runs)", (moment,))


def test_plan_says_when_the_deleted_log_may_have_forgotten(
    populated: tuple[ExactSandbox, SandboxServer], tmp_path: Path
) -> None:
    app, server = populated
    run = out_of_exact(app, server, tmp_path, [])
    assert run.full().status == "succeeded"
    # A run of today: the deleted log holds everything since, except what it never names.
    unnamed = {"a delta of tax_rates", "a delta of bank_accounts"}
    assert {note.split(":")[0] for note in run.plan().notes} == unnamed
    assert all("does not name" in note for note in run.plan().notes)
    run.store.close()
    _age_last_run(tmp_path / "state.db", 70)
    again = out_of_exact(app, server, tmp_path, [])
    notes = [n for n in again.plan().notes if n.split(":")[0] not in unnamed]
    kept = {note.split(":")[0] for note in notes}
    assert kept >= {"a delta of contacts", "a delta of items", "a delta of invoices"}
    assert all("keeps only two months" in note for note in notes)
    delta = again.delta()
    assert delta.status == "succeeded" and not changed(delta)
    assert any("two months" in note for note in delta.notes)
