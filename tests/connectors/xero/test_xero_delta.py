"""Xero as a source of a delta: ``If-Modified-Since`` on every list that has it, deleted and voided
statuses for what went, and nothing lost at the edge of the last run.

A company is migrated into the sandbox organisation and its history set two hours back; the
organisation is then migrated out to CSV, changed in Xero (a contact renamed, an invoice added,
one voided, a draft deleted) and a delta run. It must ask Xero only for what changed (each list
read with ``If-Modified-Since`` answers just the changed records) and leave the CSV files
exactly as a full migration of the changed organisation writes them.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.xero.xero_spec import SpecObserver
from factories import company
from fakes import MemorySource, source_connector
from lifecycle.target_xero import CLEARING, open_connector, seed
from migrationkit import (
    ENTITY_ORDER,
    Connector,
    Migration,
    MigrationOptions,
    PluginRegistry,
    RunReport,
    SQLiteStateStore,
)
from migrationkit.connectors.xero import wire
from migrationkit.core.fingerprint import canonical_text
from migrationkit.testing import SandboxServer
from migrationkit.testing.sandboxes.xero.app import API_PREFIX, XeroSandbox, start_server

HISTORY = dt.timedelta(hours=2)


class Reads:
    """What the source asked Xero: per list, the rows each answer held, with or without a date."""

    def __init__(self) -> None:
        self.since: Counter[str] = Counter()
        self.whole: Counter[str] = Counter()
        self.headers: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, request: requests.PreparedRequest, response: requests.Response) -> None:
        if request.method != "GET" or not response.ok:
            return
        path = (request.path_url or "").split("?")[0].removeprefix(API_PREFIX)
        body = wire.loads(response.content) if response.content else {}
        key = path.strip("/").split("/")[0]
        rows = len(body.get(key) or ()) if isinstance(body, dict) else 0
        header = request.headers.get("If-Modified-Since")
        with self._lock:
            if header:
                self.since[path] += rows
                self.headers.append(header)
            else:
                self.whole[path] += rows

    def clear(self) -> None:
        self.since.clear()
        self.whole.clear()
        self.headers.clear()


class Org:
    """A person at work in the Xero organisation, through its API."""

    def __init__(self, server: SandboxServer, tenant: str) -> None:
        self.base = server.url + API_PREFIX
        self.headers = {"Authorization": "Bearer someone", "xero-tenant-id": tenant}

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        response = requests.request(
            method,
            self.base + path,
            data=wire.dumps(body) if body is not None else None,
            params=params or None,
            headers=self.headers,
            timeout=10,
        )
        assert response.ok, response.text
        return wire.loads(response.content)

    def invoice(self, contact: str, account: str, number: str, status: str) -> str:
        body = {
            "Invoices": [
                {
                    "Type": "ACCREC",
                    "Contact": {"ContactID": contact},
                    "Date": "2024-05-02",
                    "DueDate": "2024-06-01",
                    "InvoiceNumber": number,
                    "Status": status,
                    "LineItems": [
                        {
                            "Description": "Late order",
                            "Quantity": D("1"),
                            "UnitAmount": D("80.00"),
                            "AccountCode": account,
                            "TaxType": "OUTPUT2",
                        }
                    ],
                }
            ]
        }
        return str(self.call("PUT", "/Invoices", body)["Invoices"][0]["InvoiceID"])


@pytest.fixture
def organisation(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[XeroSandbox, SandboxServer]]:
    """An organisation holding a migrated company, its history two hours old."""
    app = XeroSandbox(rate_scale=1000)
    seed(app, app.default_tenant)
    with start_server(app) as server:
        loaded = Migration(
            source_connector(MemorySource(company(invoices=8))),
            open_connector(server, app.default_tenant, SpecObserver()),
            SQLiteStateStore(tmp_path_factory.mktemp("into") / "state.db"),
        ).full()
        assert loaded.status == "succeeded" and not loaded.problems
        yield app, server


def out_of_xero(
    app: XeroSandbox, server: SandboxServer, folder: Path, observers: list[Any]
) -> Migration:
    source = PluginRegistry().open(
        "xero",
        {
            "location": app.default_tenant,
            "base_url": server.url + API_PREFIX,
            "access_token": "delta",
            "rate_scale": 1000,
            "clearing_account": CLEARING,
            "observers": observers,
        },
    )
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
    """Every record the CSV files hold, as text, per entity."""
    return {
        entity: sorted(canonical_text(r) for r in target.extract(entity))
        for entity in ENTITY_ORDER
        if target.capabilities(entity).extract
    }


def test_a_delta_asks_xero_only_for_what_changed_and_ends_where_a_full_run_does(
    organisation: tuple[XeroSandbox, SandboxServer], tmp_path: Path
) -> None:
    app, server = organisation
    org = Org(server, app.default_tenant)
    contacts = org.call("GET", "/Contacts")["Contacts"]
    acme = next(c for c in contacts if c["Name"].startswith("Acme"))
    revenue = next(a for a in org.call("GET", "/Accounts")["Accounts"] if a["Type"] == "REVENUE")
    draft = org.invoice(acme["ContactID"], revenue["Code"], "INV-DRAFT", "DRAFT")
    app.org(app.default_tenant).backdate(HISTORY)

    reads = Reads()
    run = out_of_xero(app, server, tmp_path / "delta", [reads])
    full = run.full()
    assert full.status == "succeeded" and not full.problems, full.error

    invoices = org.call("GET", "/Invoices", page=1)["Invoices"]
    unpaid = next(
        i
        for i in invoices
        if i["Status"] == "AUTHORISED" and i["AmountPaid"] == 0 and i["InvoiceNumber"] != "INV-OLD"
    )
    org.call("POST", f"/Invoices/{unpaid['InvoiceID']}", {"Invoices": [{"Status": "VOIDED"}]})
    org.call("POST", f"/Invoices/{draft}", {"Invoices": [{"Status": "DELETED"}]})
    org.call("POST", "/Contacts", {"Contacts": [{**acme, "Name": "Acme Renamed Ltd"}]})
    org.invoice(acme["ContactID"], revenue["Code"], "INV-LATE", "AUTHORISED")

    reads.clear()
    delta = run.delta()
    assert delta.status == "succeeded", delta.error
    assert changed(delta) == {
        "contacts": {"updated": 1},
        "invoices": {"created": 1, "updated": 1, "deleted": 1},
    }
    # Each list read with If-Modified-Since answered only what changed since the last run:
    # the renamed contact; the voided, the deleted and the added invoice (deleted ones asked
    # for again with Statuses); nothing else.
    assert reads.since["/Contacts"] == 1
    assert reads.since["/Invoices"] == 3 + 2  # the changed ones; the deleted and voided ones
    assert reads.since["/Items"] == reads.since["/CreditNotes"] == 0
    assert reads.since["/ManualJournals"] == reads.since["/BankTransactions"] == 0
    assert delta.entities["contacts"].extracted == 1
    # The header is the spec's date-time, in UTC, from the run's start less the clock margin.
    started = dt.datetime.fromisoformat(run.store.runs(run.store.migrations()[0].id)[0].watermark)
    asked = {dt.datetime.fromisoformat(h) for h in reads.headers}
    assert asked == {started - dt.timedelta(minutes=10)}
    assert all(h.endswith("+00:00") for h in reads.headers)

    # The CSV files are what a full run over the changed organisation writes.
    fresh = out_of_xero(app, server, tmp_path / "fresh", [])
    assert fresh.full().status == "succeeded"
    after = held(run.target)
    assert after == held(fresh.target)
    assert any("INV-LATE" in text for text in after["invoices"])


def test_a_change_xero_stamps_just_before_the_last_run_began_is_not_lost(
    organisation: tuple[XeroSandbox, SandboxServer], tmp_path: Path
) -> None:
    app, server = organisation
    org = Org(server, app.default_tenant)
    contacts = {c["Name"]: c for c in org.call("GET", "/Contacts")["Contacts"]}
    acme = next(c for name, c in contacts.items() if name.startswith("Acme"))
    beta = next(c for name, c in contacts.items() if name.startswith("Beta"))
    app.org(app.default_tenant).backdate(HISTORY)
    # Changed a minute before the run: the run reads it as it is.
    org.call("POST", "/Contacts", {"Contacts": [{**beta, "Name": "Beta Before Ltd"}]})
    app.org(app.default_tenant).backdate(dt.timedelta(minutes=1))

    run = out_of_xero(app, server, tmp_path, [])
    assert run.full().status == "succeeded"
    began = dt.datetime.fromisoformat(run.store.runs(run.store.migrations()[0].id)[0].watermark)
    # Changed after the run read it, but stamped by a Xero clock three minutes behind ours.
    org.call("POST", "/Contacts", {"Contacts": [{**acme, "Name": "Acme Late Ltd"}]})
    stamped = app.org(app.default_tenant).contacts[acme["ContactID"]]
    stamped["UpdatedDateUTC"] = began - dt.timedelta(minutes=3)

    delta = run.delta()
    assert delta.status == "succeeded", delta.error
    contacts_delta = delta.entities["contacts"]
    assert (contacts_delta.extracted, contacts_delta.updated) == (2, 1)
    # The contact changed before the run comes again and is dropped by its fingerprint.
    assert contacts_delta.unchanged == 1
    names = {getattr(r, "name", "") for r in run.target.extract("contacts")}
    assert {"Acme Late Ltd", "Beta Before Ltd"} <= names
