"""Sage Accounting as the source of a delta into CSV: ``updated_or_created_since`` and
``deleted_since`` on every list that has them, and nothing lost at the edge of the last run.

A company is migrated into the sandbox business and its history set two days back; the business
is migrated out to CSV, changed in Sage (a contact renamed, one added, an invoice added, one
voided, a product deleted) and a delta run. Each list asked with a date must answer only what
changed, and the CSV files must end as a full migration of the changed business writes them.
"""

from __future__ import annotations

import datetime as dt
import threading
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.sage_accounting.sage_accounting_support import connector_options, sandbox
from factories import company
from fakes import MemorySource, source_connector
from migrationkit import (
    ENTITY_ORDER,
    Connector,
    Migration,
    MigrationOptions,
    PluginRegistry,
    RunReport,
    SQLiteStateStore,
)
from migrationkit.connectors.sage_accounting.wire import loads
from migrationkit.core.fingerprint import canonical_text
from migrationkit.testing.sandboxes.sage_accounting.app import SageSandbox, SageSandboxServer

HISTORY = dt.timedelta(days=2)
CHANGED = "updated_or_created_since"


class Reads:
    """Rows Sage answered to lists asked with a date, per endpoint, and the dates asked."""

    def __init__(self) -> None:
        self.changed: Counter[str] = Counter()
        self.deleted: Counter[str] = Counter()
        self.asked: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, request: requests.PreparedRequest, response: requests.Response) -> None:
        url = urllib.parse.urlsplit(request.url or "")
        params = dict(urllib.parse.parse_qsl(url.query))
        if request.method != "GET" or not response.ok:
            return
        body = loads(response.content) if response.content else {}
        rows = len(body.get("$items") or ()) if isinstance(body, dict) else 0
        endpoint = url.path.rsplit("/v3.1/", 1)[-1]
        with self._lock:
            if CHANGED in params:
                self.changed[endpoint] += rows
                self.asked.add(params[CHANGED])
            if "deleted_since" in params:
                self.deleted[endpoint] += rows

    def clear(self) -> None:
        self.changed.clear()
        self.deleted.clear()
        self.asked.clear()


@pytest.fixture
def business(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SageSandbox, Any]]:
    """A business holding a migrated company, its history two days old."""
    with sandbox() as (app, server):
        into = PluginRegistry().open("sage-accounting", connector_options(app, server))
        loaded = Migration(
            source_connector(MemorySource(company(invoices=6))),
            into,
            SQLiteStateStore(tmp_path_factory.mktemp("into") / "state.db"),
            MigrationOptions(mappings={"bank_accounts": {"1200": app.default_bank_id()}}),
        ).full()
        assert loaded.status == "succeeded" and not loaded.problems
        app.store().backdate(HISTORY)
        yield app, server


def out_of_sage(
    app: SageSandbox, server: SageSandboxServer, folder: Path, reads: Reads | None = None
) -> Migration:
    source = PluginRegistry().open("sage-accounting", connector_options(app, server))
    if reads is not None:
        source.instance.client.api.observers.append(reads)  # type: ignore[attr-defined]
    target = PluginRegistry().open("csv", {"location": str(folder / "csv")})
    return Migration(
        source, target, SQLiteStateStore(folder / "state.db"), MigrationOptions(validate=False)
    )


def changed(report: RunReport) -> dict[str, dict[str, int]]:
    keep = ("created", "updated", "deleted")
    found = {
        entity: {k: v for k, v in counts.to_dict().items() if v and k in keep}
        for entity, counts in report.entities.items()
    }
    return {entity: counts for entity, counts in found.items() if counts}


def held(target: Connector) -> dict[str, list[str]]:
    return {
        entity: sorted(canonical_text(r) for r in target.extract(entity))
        for entity in ENTITY_ORDER
        if target.capabilities(entity).extract
    }


def test_a_delta_asks_sage_only_for_what_changed_and_ends_where_a_full_run_does(
    business: tuple[SageSandbox, SageSandboxServer], tmp_path: Path
) -> None:
    app, server = business
    reads = Reads()
    run = out_of_sage(app, server, tmp_path / "delta", reads)
    full = run.full()
    assert full.status == "succeeded" and not full.problems, full.error

    client = run.source.instance.client  # type: ignore[union-attr]
    invoices = list(client.list("sales_invoices"))
    voided = next(i for i in invoices if i["outstanding_amount"] == i["total_amount"])
    assert client.send(
        "DELETE", f"sales_invoices/{voided['id']}", params={"void_reason": "Error"}
    ).ok
    contact = next(c for c in client.list("contacts") if c["reference"] == "ACME")
    assert client.send(
        "PUT", f"contacts/{contact['id']}", body={"contact": {"name": "Acme Renamed Ltd"}}
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

    reads.clear()
    delta = run.delta()
    assert delta.status == "succeeded", delta.error
    assert changed(delta) == {
        "contacts": {"created": 1, "updated": 1},
        "invoices": {"created": 1, "deleted": 1},
    }
    # Each list asked with a date answered only what changed since the last run.
    assert reads.changed["contacts"] == 2, dict(reads.changed)
    # The added and the voided invoice; the voided one again, asked for by status_id=VOID (a
    # void is a deletion, and deleted_since does not list it).
    assert reads.changed["sales_invoices"] == 3
    assert reads.deleted["contacts"] == reads.deleted["products"] == 0
    untouched = [e for e in reads.changed if e not in ("contacts", "sales_invoices")]
    assert not [e for e in untouched if reads.changed[e]], dict(reads.changed)
    # The date asked is the last run's start less the clock margin, as the spec writes it.
    began = dt.datetime.fromisoformat(run.store.runs(run.store.migrations()[0].id)[0].watermark)
    expected = (began - dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    assert reads.asked == {expected}

    fresh = out_of_sage(app, server, tmp_path / "fresh")
    assert fresh.full().status == "succeeded"
    assert held(run.target) == held(fresh.target)


def test_a_change_sage_stamps_just_before_the_last_run_began_is_not_lost(
    business: tuple[SageSandbox, SageSandboxServer], tmp_path: Path
) -> None:
    app, server = business
    run = out_of_sage(app, server, tmp_path)
    assert run.full().status == "succeeded"
    began = dt.datetime.fromisoformat(run.store.runs(run.store.migrations()[0].id)[0].watermark)
    client = run.source.instance.client  # type: ignore[union-attr]
    contact = next(c for c in client.list("contacts") if c["reference"] == "ACME")
    assert client.send(
        "PUT", f"contacts/{contact['id']}", body={"contact": {"name": "Acme Late Ltd"}}
    ).ok
    # Sage's clock runs three minutes behind ours: its stamp is before the run began.
    stored = app.store().table("contacts")[contact["id"]]
    stored["updated_at"] = (began - dt.timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")

    delta = run.delta()
    assert delta.status == "succeeded", delta.error
    assert delta.entities["contacts"].updated == 1
    assert "Acme Late Ltd" in {getattr(r, "name", "") for r in run.target.extract("contacts")}
