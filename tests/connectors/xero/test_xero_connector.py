"""The xero connector's own rules, against the sandbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import attrs
import pytest
import requests

from factories import DAY, company, line, sales_invoice
from fakes import MemorySource, source_connector
from migrationkit import (
    Allocation,
    ConfigError,
    Connector,
    Contact,
    DocumentKind,
    Invoice,
    Item,
    LoadRequest,
    Migration,
    MigrationOptions,
    Operation,
    Payment,
    PaymentKind,
    PluginRegistry,
    SQLiteStateStore,
    TaxRate,
    TaxTreatment,
    reconcile,
)
from migrationkit.core.state import Outcome
from migrationkit.testing import SandboxServer
from migrationkit.testing.sandboxes.xero.app import XeroSandbox

OpenXero = Callable[..., Connector]


def _migration(
    records: dict[str, list[Any]], target: Connector, tmp_path: Path, **options: Any
) -> Migration:
    return Migration(
        source_connector(MemorySource(records)),
        target,
        SQLiteStateStore(tmp_path / "state.db"),
        MigrationOptions(**options),
    )


def test_plan_shows_a_journal_to_a_control_account_without_a_clearing_account(
    open_xero: OpenXero, tmp_path: Path
) -> None:
    plan = _migration(company(), open_xero(clearing_account=None), tmp_path).plan()
    journals = next(e for e in plan.entities if e.entity == "manual_journals")
    assert journals.problems == {"JOURNAL_TO_CONTROL_ACCOUNT": (1, ["30"])}
    routed = _migration(company(), open_xero(), tmp_path / "with").plan()
    assert not next(e for e in routed.entities if e.entity == "manual_journals").problems


def test_a_routed_journal_reaches_the_payables_account_through_the_clearing_account(
    open_xero: OpenXero, tmp_path: Path, sandbox: tuple[XeroSandbox, SandboxServer]
) -> None:
    migration = _migration(company(), open_xero(), tmp_path)
    report = migration.full()
    assert report.status == "succeeded" and not report.problems
    org = sandbox[0].org(sandbox[0].default_tenant)
    journal = next(j for j in org.manual_journals.values() if j["Narration"] == "Accrual")
    assert [(line["AccountCode"], line["LineAmount"]) for line in journal["JournalLines"]] == [
        ("7100", 25),
        ("9997", -25),
    ]
    bill = next(
        i for i in org.invoices.values() if i["LineItems"][0]["Description"].startswith("Journal ")
    )
    assert (bill["Type"], bill["Total"], bill["Contact"]["Name"]) == (
        "ACCPAY",
        25,
        "Journal adjustments",
    )
    [extracted] = [
        j for j in migration.target.extract("manual_journals") if j.narration == "Accrual"
    ]
    assert sorted(line.amount for line in extracted.lines) == [-25, 25], "clearing legs cancel"


def test_a_rejected_element_fails_alone_with_xeros_words(
    open_xero: OpenXero, tmp_path: Path
) -> None:
    records = company(invoices=3)
    twin = attrs.evolve(sales_invoice("11"), key="twin")  # the same number as invoice 11
    records["invoices"].append(twin)
    report = _migration(records, open_xero(), tmp_path).full()
    assert report.entities["invoices"].created == len(records["invoices"]) - 1
    [problem] = report.problems
    assert (problem.entity, problem.source_key, problem.reason) == (
        "invoices",
        "twin",
        "NUMBER_TAKEN",
    )
    assert "Invoice # must be unique" in (problem.message or "")
    echoed = json.loads(problem.response or "{}")
    assert echoed["InvoiceNumber"] == "INV-11" and echoed["ValidationErrors"]


def test_contacts_of_the_same_name_are_both_created_and_told_apart(
    open_xero: OpenXero, tmp_path: Path, sandbox: tuple[XeroSandbox, SandboxServer]
) -> None:
    app = sandbox[0]
    app.org(app.default_tenant).create_contact({"Name": "Gamma Supplies"})  # already in Xero
    records = company()
    records["contacts"].append(
        Contact(key="supplier:ACME", code="ACME", name="Acme Café", is_supplier=True)
    )
    report = _migration(records, open_xero(), tmp_path).full()
    assert report.entities["contacts"].created == 4 and not report.problems
    names = {c["Name"] for c in app.org(app.default_tenant).contacts.values()}
    assert {"Acme Café", "Acme Café (supplier ACME)", "Gamma Supplies (supplier GAMMA)"} <= names


def test_batches_hold_at_most_50_elements_each_with_its_own_key(
    open_xero: OpenXero, tmp_path: Path, sandbox: tuple[XeroSandbox, SandboxServer]
) -> None:
    sent: list[tuple[str, str, str | None, int]] = []

    def record(request: requests.PreparedRequest, response: requests.Response) -> None:
        body = json.loads(request.body or b"{}") if request.method != "GET" else {}
        size = max((len(v) for v in body.values() if isinstance(v, list)), default=0)
        sent.append(
            (request.method or "", request.url or "", request.headers.get("Idempotency-Key"), size)
        )

    records = company(invoices=120)
    report = _migration(records, open_xero(observers=[record]), tmp_path).full()
    assert report.status == "succeeded" and not report.problems
    batches = sorted(s[3] for s in sent if s[0] == "PUT" and "/Invoices?" in s[1] and s[3] > 1)
    assert batches == [21, 50, 50], "121 invoices in 3 requests"
    assert max(s[3] for s in sent) <= 50
    writes = [s for s in sent if s[0] != "GET"]
    assert all(key and len(key) <= 128 for _, _, key, _ in writes), "every write has a key"
    keys = [key for _, _, key, _ in writes]
    assert len(set(keys)) == len(keys), "no two different writes share a key"


def test_the_same_batch_sent_again_carries_the_same_key_and_creates_nothing(
    open_xero: OpenXero, sandbox: tuple[XeroSandbox, SandboxServer]
) -> None:
    app = sandbox[0]
    target = open_xero()
    requests_ = [
        LoadRequest(
            record=Contact(
                key=f"customer:C{n}", code=f"C{n}", name=f"Customer {n}", is_customer=True
            ),
            operation=Operation.CREATE,
            idempotency_key=f"attempt-{n}",
        )
        for n in range(3)
    ]

    class NoRefs:
        def target_id(self, entity: str, key: str) -> str | None:
            return None

        def record(self, entity: str, key: str) -> None:
            return None

    first = target.load("contacts", requests_, NoRefs())
    again = target.load("contacts", requests_, NoRefs())
    assert [r.target_id for r in first] == [r.target_id for r in again]
    assert app.idempotent_replays == 1
    assert len(app.org(app.default_tenant).contacts) == 3


def test_a_code_xero_already_uses_is_reported(
    open_xero: OpenXero, tmp_path: Path, sandbox: tuple[XeroSandbox, SandboxServer]
) -> None:
    app = sandbox[0]
    app.org(app.default_tenant).create_account(
        {"Code": "7100", "Name": "Premises rent", "Type": "OVERHEADS"}
    )
    report = _migration(company(), open_xero(), tmp_path).full()
    taken = [p for p in report.problems if p.entity == "ledger_accounts"]
    assert [(p.source_key, p.reason) for p in taken] == [("7100", "CODE_TAKEN")]
    assert "mappings.ledger_accounts" in (taken[0].message or "")


def test_mappings_put_records_onto_accounts_xero_already_has(
    open_xero: OpenXero, tmp_path: Path, sandbox: tuple[XeroSandbox, SandboxServer]
) -> None:
    app = sandbox[0]
    org = app.org(app.default_tenant)
    existing = org.account_by_code("469")  # Rent, in every new UK organisation
    assert existing is not None
    migration = _migration(
        company(),
        open_xero(),
        tmp_path,
        mappings={"ledger_accounts": {"7100": existing["AccountID"]}},
    )
    mapped = migration.full()
    outcomes = {
        (row.source_key, row.outcome.value)
        for row in migration.store.outcomes(mapped.run_id, [Outcome.MAPPED])
        if row.entity == "ledger_accounts"
    }
    # The configured mapping, and the control accounts matched to Xero's system accounts.
    assert ("7100", "mapped") in outcomes
    assert {key for key, _ in outcomes} == {"7100", "1100", "2100", "2200", "2201", "3200"}
    assert not mapped.problems
    assert org.account_in_use(existing)


def test_documents_in_a_locked_period_fail_with_the_reason(
    open_xero: OpenXero, tmp_path: Path, sandbox: tuple[XeroSandbox, SandboxServer]
) -> None:
    import datetime as dt

    app = sandbox[0]
    app.org(app.default_tenant).period_lock = dt.date(2024, 4, 3)
    report = _migration(company(invoices=6), open_xero(), tmp_path).full()
    locked = [p for p in report.problems if p.reason == "LOCKED_PERIOD"]
    assert locked and all("lock date" in (p.message or "") for p in locked)


def test_options_are_checked_and_secrets_stay_hidden() -> None:
    registry = PluginRegistry()
    with pytest.raises(ConfigError, match="tenant id"):
        registry.open("xero", {})
    with pytest.raises(ConfigError, match="rate_scale"):
        registry.open("xero", {"location": "t", "rate_scale": "fast"})
    connector = registry.open(
        "xero", {"location": "t", "client_id": "id", "client_secret": "s3cr3t-value"}
    )
    assert "s3cr3t" not in repr(connector.instance)
    assert connector.identity() == "xero:t"
    caps = connector.info.capabilities
    assert caps["ledger_accounts"].max_code_length == 10
    assert caps["invoices"].batch_size == 250 and caps["invoices"].preserve_ids
    assert caps["contacts"].removal == frozenset({"archive"})


def _richer() -> dict[str, list[Any]]:
    """The factory company plus a custom tax rate, an item and money left on account."""
    records = company(invoices=6)
    records["tax_rates"].append(
        TaxRate(
            key="T9",
            code="T9",
            name="Old standard",
            rate=D("17.5"),
            treatment=TaxTreatment.STANDARD,
        )
    )
    records["items"] = [
        Item(
            key="WIDGET",
            code="WIDGET",
            name="Widget",
            sales_price=D("9.9900"),
            sales_account="4000",
            tax_rate="T1",
        )
    ]
    records["invoices"].append(
        Invoice(
            key="16",
            kind=DocumentKind.SALES,
            number="INV-16",
            contact="customer:ACME",
            date=DAY,
            lines=(line("4000", "100.00", "17.50", "T9", item="WIDGET"),),
        )
    )
    records["payments"].append(
        Payment(
            key="62",
            kind=PaymentKind.CUSTOMER_RECEIPT,
            contact="customer:BETA",
            bank_account="1200",
            date=DAY,
            amount=D("300.00"),
            base_amount=D("300.00"),
            allocations=(
                Allocation(document_entity="invoices", document="12", amount=D("122.40")),
                Allocation(document_entity="invoices", document="14", amount=D("124.80")),
            ),
        )
    )
    return records


def test_custom_rates_items_money_on_account_updates_and_rollback(
    open_xero: OpenXero, tmp_path: Path, sandbox: tuple[XeroSandbox, SandboxServer]
) -> None:
    app = sandbox[0]
    records = _richer()
    source = MemorySource(records)
    target = open_xero()
    migration = Migration(source_connector(source), target, SQLiteStateStore(tmp_path / "s.db"))
    report = migration.full()
    assert report.status == "succeeded" and not report.problems, report.problems[:3]
    org = app.org(app.default_tenant)
    custom = [r for r in org.tax_rates.values() if r["TaxType"].startswith("TAX")]
    assert sorted(r["ReportTaxType"] for r in custom) == ["INPUT", "OUTPUT"]
    [on_account] = org.overpayments.values()
    assert (on_account["Total"], on_account["RemainingCredit"]) == (D("300.00"), D("52.80"))
    info = migration.store.migrations()[0]
    assert reconcile(migration.source, target, migration.store, info.id).ok  # type: ignore[arg-type]

    for entity, key, change in (
        ("bank_transactions", "50", {"reference": "rent, April"}),
        ("credit_notes", "70", {"reference": "returned goods"}),
        ("items", "WIDGET", {"name": "Widget, blue"}),
        ("contacts", "customer:ACME", {"email": "accounts@acme.test"}),
    ):
        old = next(r for r in source.records[entity] if r.key == key)
        source.replace(attrs.evolve(old, **change))
    again = migration.full()
    assert again.status == "succeeded" and not again.problems, again.problems[:3]
    assert {e: c.updated for e, c in again.entities.items() if c.updated} == {
        "bank_transactions": 1,
        "credit_notes": 1,
        "items": 1,
        "contacts": 1,
    }
    assert {i["Name"] for i in org.items.values()} == {"Widget, blue"}
    undone = migration.rollback(None)
    assert undone.totals().remaining == 0
    assert not [o for o in org.overpayments.values() if o["Status"] == "AUTHORISED"]
    assert all(r["Status"] == "DELETED" for r in custom)


def test_xero_as_a_source_lists_what_changed_since_a_moment(
    open_xero: OpenXero, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt
    import time

    # The connector reaches further back than asked (clocks differ); not in a 1 s test.
    monkeypatch.setattr("migrationkit.handlers.feeds.CLOCK_MARGIN", dt.timedelta(0))

    source = MemorySource(company(invoices=6))
    target = open_xero()
    migration = Migration(source_connector(source), target, SQLiteStateStore(tmp_path / "s.db"))
    migration.full()
    time.sleep(0.01)
    moment = dt.datetime.now(dt.UTC)
    time.sleep(0.01)
    changed = next(r for r in source.records["invoices"] if r.key == "12")
    source.replace(attrs.evolve(changed, reference="late change"))
    migration.full()
    info = migration.store.migrations()[0]
    since = list(target.extract("invoices", moment))
    assert [r.reference for r in since] == ["late change"]
    assert migration.store.reverse_lookup(info.id, "invoices")[since[0].key] == "12"
    assert len(list(target.extract("invoices"))) == len(source.records["invoices"])


def test_an_update_fails_with_xeros_words_when_the_old_record_cannot_be_removed(
    open_xero: OpenXero, tmp_path: Path, sandbox: tuple[XeroSandbox, SandboxServer]
) -> None:
    """Payments cannot change in Xero: an update deletes the old one and enters it again.

    When Xero refuses the delete (here: someone deleted it in Xero already), the update fails
    with Xero's words and the payment is not entered a second time.
    """
    app = sandbox[0]
    source = MemorySource(company())
    migration = Migration(
        source_connector(source), open_xero(), SQLiteStateStore(tmp_path / "s.db")
    )
    assert migration.full().status == "succeeded"
    org = app.org(app.default_tenant)
    info = migration.store.migrations()[0]
    target_id = migration.store.target_ids(info.id, "payments", ["61"])["61"]
    shape, _, xero_id = target_id.partition("/")
    assert shape == "payment"
    org.delete_payment(xero_id)
    live = {p["PaymentID"] for p in org.payments.values() if p["Status"] != "DELETED"}

    old = next(r for r in source.records["payments"] if r.key == "61")
    source.replace(attrs.evolve(old, reference="cheque 1001"))
    again = migration.full()

    [problem] = [p for p in again.problems if p.entity == "payments"]
    assert (problem.source_key, problem.outcome) == ("61", Outcome.FAILED)
    assert problem.reason == "XERO_REFUSED"
    assert "already been deleted" in (problem.message or "")
    assert {p["PaymentID"] for p in org.payments.values() if p["Status"] != "DELETED"} == live
