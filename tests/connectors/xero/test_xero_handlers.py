"""The xero connector's shape: its entity table, its handlers by family, records made of parts."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import attrs

from factories import company
from fakes import MemorySource, source_connector
from migrationkit import (
    Allocation,
    Connector,
    Migration,
    MigrationOptions,
    PluginRegistry,
    Removal,
    SQLiteStateStore,
)
from migrationkit.connectors.xero.connector import XeroConnector
from migrationkit.connectors.xero.context import XeroContext
from migrationkit.connectors.xero.entities import TABLE
from migrationkit.connectors.xero.options import XeroOptions
from migrationkit.handlers import Update
from migrationkit.testing import SandboxServer
from migrationkit.testing.sandboxes.xero.app import XeroSandbox

OpenXero = Callable[..., Connector]
DELETE, VOID, ARCHIVE = Removal.DELETE, Removal.VOID, Removal.ARCHIVE

DECLARED: dict[str, tuple[set[Removal], int, bool, bool, bool]] = {
    # entity: (removal, batch size, keeps ids, modified since, deletions)
    "company": (set(), 1, False, False, False),
    "tax_rates": ({DELETE}, 50, False, False, False),
    "ledger_accounts": ({DELETE, ARCHIVE}, 50, True, True, True),
    "tracking_categories": ({DELETE, ARCHIVE}, 10, False, False, False),
    "bank_accounts": ({DELETE}, 50, True, True, True),
    "contacts": ({ARCHIVE}, 250, True, True, False),
    "items": ({DELETE}, 250, True, True, True),
    "opening_balances": ({DELETE, VOID}, 250, False, True, True),
    "invoices": ({DELETE, VOID}, 250, True, True, True),
    "refunds": ({DELETE, VOID}, 250, False, False, False),
    "open_items": ({DELETE, VOID}, 250, True, True, True),
    "credit_notes": ({DELETE, VOID}, 250, True, True, True),
    "payments": ({DELETE}, 250, False, False, True),
    "bank_transactions": ({DELETE}, 250, False, True, True),
    "bank_transfers": ({DELETE}, 50, False, True, True),
    "manual_journals": ({DELETE, VOID}, 250, False, True, True),
}
"""What the connector declared before its table existed; changed since: the company (the old
flags said it could be deleted, but it is always matched to the connected organisation, never
created, so a rollback never has one to take back); opening balances and open items read with
``If-Modified-Since`` and their deletions from voided and deleted statuses; accounts and items
whose deletions a delta finds by comparing every record (Xero lists no deleted ones)."""


def test_the_table_declares_what_the_connector_declared_before() -> None:
    caps = PluginRegistry().info("xero").capabilities
    for entity, (removal, batch, keeps, since, deletions) in DECLARED.items():
        declared = caps[entity]
        assert declared.removal == removal, entity
        assert declared.batch_size == batch, entity
        assert (declared.preserve_ids, declared.modified_since, declared.deletions) == (
            keeps,
            since,
            deletions,
        ), entity
        assert declared.extract and declared.create and declared.update, entity
    assert caps["ledger_accounts"].max_code_length == 10
    assert caps["items"].max_code_length == 30
    assert set(caps) == set(DECLARED)


def test_what_xero_cannot_change_is_replaced_on_update() -> None:
    replaced = {name for name, row in TABLE.items() if row.update is Update.REPLACE}
    assert replaced == {
        "opening_balances",
        "open_items",
        "refunds",
        "payments",
        "bank_transfers",
        "manual_journals",
    }
    assert "cannot be changed: an update deletes and enters them again" in (TABLE["payments"].notes)


def test_each_entity_is_handled_in_the_module_of_its_family() -> None:
    connector = XeroConnector(XeroOptions(location="tenant"))
    families = {
        "masters": [
            "company",
            "tax_rates",
            "ledger_accounts",
            "tracking_categories",
            "bank_accounts",
            "contacts",
            "items",
        ],
        "documents": ["invoices", "credit_notes", "open_items"],
        "payments": ["payments", "refunds"],
        "bank": ["bank_transactions", "bank_transfers"],
        "journals": ["manual_journals", "opening_balances"],
    }
    for family, entities in families.items():
        for entity in entities:
            module = type(connector.handler(entity)).__module__
            assert module == f"migrationkit.connectors.xero.{family}", entity


def test_idempotency_keys_are_those_a_run_begun_earlier_sent() -> None:
    # A run interrupted before an upgrade and resumed after it must send the same keys, or
    # Xero would not recognise a write it already made.
    ctx = XeroContext(XeroOptions(location="tenant"), "tenant")
    material = b"tenant:invoices:PUT:idem-1|idem-2"
    assert ctx.idempotency_key("invoices", "PUT", ["idem-1", "idem-2"]) == (
        "mk-" + hashlib.sha256(material).hexdigest()[:60]
    )


def _migration(records: dict[str, list[Any]], target: Connector, tmp_path: Path) -> Migration:
    return Migration(
        source_connector(MemorySource(records)),
        target,
        SQLiteStateStore(tmp_path / "state.db"),
        MigrationOptions(),
    )


def test_a_credit_note_whose_allocation_xero_refuses_is_taken_back(
    open_xero: OpenXero, tmp_path: Path, sandbox: tuple[XeroSandbox, SandboxServer]
) -> None:
    records = company()
    [note] = records["credit_notes"]
    too_much = Allocation(document_entity="invoices", document="11", amount=D("500.00"))
    records["credit_notes"] = [attrs.evolve(note, allocations=(too_much,))]
    report = _migration(records, open_xero(), tmp_path).full()
    [problem] = report.problems
    assert (problem.entity, problem.source_key, problem.reason) == (
        "credit_notes",
        "70",
        "ALLOCATION_REFUSED",
    )
    assert "allocation amount exceeds" in (problem.message or "")
    org = sandbox[0].org(sandbox[0].default_tenant)
    assert [c["Status"] for c in org.credit_notes.values()] == ["VOIDED"]


def test_a_refund_whose_money_out_xero_refuses_leaves_no_document(
    open_xero: OpenXero, tmp_path: Path, sandbox: tuple[XeroSandbox, SandboxServer]
) -> None:
    app = sandbox[0]
    org = app.org(app.default_tenant)
    rent = org.account_by_code("469")
    assert rent is not None
    records = company()
    [refund] = records["refunds"]
    records["refunds"] = [attrs.evolve(refund, bank_account="1210")]
    # The savings bank is mapped onto an account that is no bank: Xero refuses the money out.
    migration = Migration(
        source_connector(MemorySource(records)),
        open_xero(),
        SQLiteStateStore(tmp_path / "state.db"),
        MigrationOptions(mappings={"bank_accounts": {"1210": rent["AccountID"]}}),
    )
    report = migration.full()
    failed = {(p.entity, p.source_key): p for p in report.problems}
    problem = failed["refunds", "80"]
    assert problem.reason == "XERO_VALIDATION"
    assert "must be an account of type BANK" in (problem.message or "")
    [document] = [
        i for i in org.invoices.values() if i["InvoiceNumber"].startswith("REFUND-80 (rolled back")
    ]
    assert document["Status"] == "VOIDED"
    assert not [
        t
        for t in org.bank_transactions.values()
        if t["LineItems"][0]["Description"].startswith("Refund: invoice")
    ]
