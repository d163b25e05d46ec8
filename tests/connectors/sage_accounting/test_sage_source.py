"""Sage Accounting as a source: a full extraction, then a delta that asks Sage only for what
changed (``updated_or_created_since``) and what went (``deleted_since``, voids)."""

from __future__ import annotations

import time
from decimal import Decimal as D
from pathlib import Path

from connectors.sage_accounting.sage_accounting_support import SpecCheck
from factories import company
from fakes import MemorySource, MemoryTarget, connect, source_connector
from migrationkit import (
    Connector,
    Migration,
    MigrationOptions,
    RunReport,
    SQLiteStateStore,
    reconcile,
)
from migrationkit.testing.sandboxes.sage_accounting.app import SageSandbox, SageSandboxServer


def counts(report: RunReport, entity: str) -> dict[str, int]:
    data = report.entities[entity].to_dict() if entity in report.entities else {}
    return {k: v for k, v in data.items() if v and k in ("created", "updated", "deleted")}


def test_a_delta_reads_only_changes_and_deletions_from_sage(
    tmp_path: Path,
    sage: tuple[SageSandbox, SageSandboxServer],
    target: Connector,
    spec_check: SpecCheck,
) -> None:
    app, _server = sage
    mappings = {"bank_accounts": {"1200": app.default_bank_id()}}
    loaded = Migration(
        source_connector(MemorySource(company(invoices=6))),
        target,
        SQLiteStateStore(tmp_path / "into-sage.db"),
        MigrationOptions(mappings=mappings),
    ).full()
    assert loaded.status == "succeeded"

    memory = MemoryTarget()
    out = Migration(target, connect(memory), SQLiteStateStore(tmp_path / "out-of-sage.db"))
    full = out.full()
    assert full.status == "succeeded", full.error
    assert counts(full, "invoices") == {"created": 7}
    assert counts(full, "tax_rates") == {"created": 5}
    info = out.store.migrations()[0]
    assert reconcile(target, connect(memory), out.store, info.id).ok

    time.sleep(1.05)  # Sage's timestamps are whole seconds; the watermark is the full run's start
    client = target.instance.client  # type: ignore[attr-defined]
    invoices = list(client.list("sales_invoices"))
    voided = next(i for i in invoices if i["outstanding_amount"] == i["total_amount"])
    assert client.send(
        "DELETE", f"sales_invoices/{voided['id']}", params={"void_reason": "Error"}
    ).ok
    contact = next(c for c in client.list("contacts") if c["reference"] == "ACME")
    assert client.send(
        "PUT", f"contacts/{contact['id']}", body={"contact": {"name": "Acme Café Ltd"}}
    ).ok
    new = client.send(
        "POST",
        "contacts",
        body={
            "contact": {"name": "Newcomer", "contact_type_ids": ["CUSTOMER"], "reference": "NEW"}
        },
    )
    assert new.ok
    line = dict(invoices[0]["invoice_lines"][0])
    posted = client.send(
        "POST",
        "sales_invoices",
        body={
            "sales_invoice": {
                "contact_id": new.data["id"],
                "date": "2024-05-01",
                "invoice_lines": [
                    {
                        "description": "Late order",
                        "ledger_account_id": line["ledger_account"]["id"],
                        "quantity": D("1"),
                        "unit_price": D("80.00"),
                        "tax_rate_id": "GB_STANDARD",
                        "tax_amount": D("16.00"),
                    }
                ],
            }
        },
    )
    assert posted.ok

    spec_check.params.clear()
    delta = out.delta()
    assert delta.status == "succeeded", delta.error
    assert counts(delta, "contacts") == {"created": 1, "updated": 1}
    assert counts(delta, "invoices") == {"created": 1, "deleted": 1}
    assert memory.removed["invoices"] == {f"sales_invoices:{voided['id']}": "delete"}
    # Changes came from Sage's change and deletion filters, not from reading everything.
    asked = set(spec_check.params)
    for endpoint in ("sales_invoices", "contacts", "contact_payments", "journals"):
        assert f"GET /{endpoint}?updated_or_created_since" in asked, endpoint
        assert f"GET /{endpoint}?deleted_since" in asked, endpoint
    assert "GET /sales_invoices?status_id" in asked  # a void is a deletion too
    assert reconcile(target, connect(memory), out.store, info.id).ok


def test_sage_source_capabilities_ask_for_changes_where_sage_can(target: Connector) -> None:
    caps = target.info.capabilities
    for entity in ("contacts", "invoices", "credit_notes", "payments", "manual_journals"):
        assert caps[entity].modified_since and caps[entity].deletions, entity
    assert caps["ledger_accounts"].modified_since and not caps["ledger_accounts"].deletions
    assert not caps["opening_balances"].modified_since  # fingerprints: Sage has no filter
    assert not caps["tracking_categories"].modified_since
