"""The example Sage 50 company into the Exact sandbox: validate, plan, demo, rollback, full, delta
and reconcile with zero unexplained differences; then Exact to CSV, every amount round-tripping;
and a plain OData client that knows only Exact's documentation reads back what was migrated."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from exact_support import held

from migrationkit import (
    Connector,
    CreditNote,
    DocumentKind,
    Invoice,
    Migration,
    MigrationOptions,
    OpenItemKind,
    PluginRegistry,
    Record,
    Rejected,
    RunReport,
    SQLiteStateStore,
    reconcile,
)
from migrationkit.core.ledger import Ledger
from migrationkit.testing import SandboxServer
from migrationkit.testing.sandboxes.exact.app import ExactSandbox

# What cannot move, and why; every one of these is explained by reconcile.
EXPECTED_SKIPS = {
    "EXCHANGE_DIFFERENCE_JOURNAL",  # Exact books realised exchange differences itself
    "FOREIGN_BANK_TRANSFER",  # a transfer carries one amount and no exchange rate
}
_POSTING = ("invoices", "credit_notes", "payments", "refunds", "open_items", "manual_journals")


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


def test_the_example_company_moves_with_nothing_unexplained(
    example_company: Path,
    tmp_path: Path,
    exact: tuple[ExactSandbox, SandboxServer],
    target: Connector,
) -> None:
    _app, server = exact
    company = tmp_path / "company.json"
    shutil.copy(example_company, company)
    run = migration(company, target, tmp_path / "state.db")
    assert not [f for f in run.validate() if f.is_error]
    plan = run.plan()
    assert not plan.refused and {p.entity for p in plan.entities if p.moves} >= set(_POSTING)

    demo = run.demo()
    assert demo.status == "succeeded", demo.error
    assert set(problems(demo)) <= EXPECTED_SKIPS, demo.problems
    assert counts(demo)["invoices"]["created"] >= 5

    undone = run.rollback(demo.run_id)
    assert undone.status == "succeeded"
    for entity in (*_POSTING, "bank_transactions", "bank_transfers", "opening_balances"):
        assert set(counts(undone).get(entity, {})) <= {"deleted"}, entity
        assert not held(run, entity), entity
    # Exact keeps one list of cost centers per division: a rollback leaves them, and says so.
    assert {(p.entity, p.reason) for p in undone.problems} == {
        ("tracking_categories", "TARGET_CANNOT_REMOVE")
    }

    full = run.full()
    assert full.status == "succeeded", full.error
    assert set(problems(full)) == EXPECTED_SKIPS, problems(full)
    source = {e: [r.key for r in run.source.extract(e)] for e in _POSTING}  # type: ignore[union-attr]
    skipped = {(p.entity, p.source_key) for p in full.problems}
    for entity in _POSTING:
        wanted = {k for k in source[entity] if (entity, k) not in skipped}
        on_target = held(run, entity)
        assert set(on_target) == wanted and max(on_target.values()) == 1, entity

    info = run.store.migrations()[0]
    result = reconcile(run.source, target, run.store, info.id)  # type: ignore[arg-type]
    assert result.ok, [d.to_dict() for d in result.unexplained]
    assert {e.reason for d in result.differences for e in d.explanations} <= EXPECTED_SKIPS
    _open_items_match_the_source(run, server)

    _change_the_source(company)
    delta = migration(company, target, tmp_path / "state.db", validate=False).delta()
    assert delta.status == "succeeded", delta.error
    assert not [p for p in delta.problems if p.outcome == "failed"], [
        (p.entity, p.source_key, p.message) for p in delta.problems
    ]
    assert counts(delta)["invoices"] == {"updated": 4, "unchanged": len(source["invoices"]) - 4}
    assert {k: v for k, v in counts(delta)["bank_transactions"].items() if k != "unchanged"} == {
        "created": 1,
        "updated": 1,
        "deleted": 1,
    }
    for entity, updated in (
        ("contacts", 1), ("items", 2), ("credit_notes", 2), ("payments", 1), ("refunds", 1),
        ("bank_transfers", 1), ("open_items", 1), ("bank_accounts", 1), ("opening_balances", 2),
    ):  # fmt: skip
        assert counts(delta)[entity].get("updated") == updated, [
            p.message for p in delta.problems if p.entity == entity
        ]
    assert counts(delta)["items"].get("deleted") == 1
    assert not [p for p in delta.problems if p.outcome == "failed"], delta.problems
    after = migration(company, target, tmp_path / "state.db", validate=False)
    result = reconcile(after.source, target, after.store, info.id)  # type: ignore[arg-type]
    assert result.ok, [d.to_dict() for d in result.unexplained]
    references = Counter(
        r.reference or "" for r in target.extract("invoices") if isinstance(r, Invoice)
    )
    assert references["PO-CHANGED-0"] == 1


def _open_items_match_the_source(run: Migration, server: SandboxServer) -> None:
    """Exact's receivables list is what the source says is outstanding: every payment landed on
    the invoices it settles (matched by ``OurRef``), and what a customer owes adds up."""
    assert run.source is not None
    records = {
        entity: [r for r in run.source.extract(entity) if not isinstance(r, Rejected)]
        for entity in ("ledger_accounts", "bank_accounts", "contacts", "invoices",
                       "credit_notes", "open_items", "payments", "refunds")
    }  # fmt: skip
    info = run.store.migrations()[0]
    entries = {
        run.store.lookup(info.id, entity, [r.key for r in records[entity]])[r.key].target_id: r
        for entity in ("invoices", "open_items")
        for r in records[entity]
        if getattr(r, "kind", None) in (DocumentKind.SALES, OpenItemKind.SALES_INVOICE)
    }
    paid: Counter[str] = Counter()
    for payment in records["payments"]:
        for allocation in payment.allocations:  # type: ignore[attr-defined]
            paid[allocation.document] += allocation.amount
    listed = {
        f"sales:{row['Id']}": Decimal(str(row["Amount"]))
        for row in _plain_rows(server, "read/financial/ReceivablesList", ("Id", "Amount"))
    }
    checked = 0
    for target_id, record in entries.items():
        gross = record.gross if isinstance(record, Invoice) else record.outstanding  # type: ignore[attr-defined]
        assert listed.get(str(target_id), Decimal(0)) == gross - paid[record.key], record.key
        checked += 1
    assert checked > 40 and any(paid[r.key] for r in entries.values())
    ledger = Ledger()
    for entity in records:
        ledger.add_all(records[entity])
    to_source = run.store.reverse_lookup(info.id, "contacts")
    owed: Counter[str] = Counter()
    for row in _plain_rows(server, "read/financial/ReceivablesList", ("AccountId", "Amount")):
        owed[to_source[row["AccountId"]]] += Decimal(str(row["Amount"]))
    for key, balance in ledger.contact_balances().items():
        if getattr(next(c for c in records["contacts"] if c.key == key), "is_customer", False):
            assert owed[key] == balance.amount, key


def _plain_rows(server: SandboxServer, endpoint: str, select: tuple[str, ...]) -> Iterator[Any]:
    """A client that knows only Exact's documentation: ``d.results``, ``d.__next``, ``$select``."""
    url: str | None = f"{server.url}/api/v1/1/{endpoint}"
    params: dict[str, str] | None = {"$select": ",".join(select)}
    while url:
        answer = requests.get(
            url,
            params=params,
            headers={"Authorization": "Bearer plain-client", "Accept": "application/json"},
            timeout=10,
        )
        answer.raise_for_status()
        page = answer.json()["d"]
        yield from page["results"]
        url, params = page.get("__next"), None


def _change_the_source(company: Path) -> None:
    """One or a few records of each kind change; a bank payment is deleted, one is added."""
    data = json.loads(company.read_text("utf-8"))
    transactions = data["transactions"]

    def first(kind: str, n: int = 1, **where: object) -> list[dict[str, object]]:
        found = [
            t for t in transactions
            if t["type"] == kind and all(t.get(k) == v for k, v in where.items())
        ]  # fmt: skip
        return found[:n]

    for n, invoice in enumerate(first("SI", 3)):
        invoice["extra_reference"] = f"PO-CHANGED-{n}"
    for changed in (*first("PI"), *first("SR")):
        changed["extra_reference" if changed["type"] == "PI" else "reference"] = "CHANGED"
    for credit in (*first("SC"), *first("PC")):
        credit["details"] = "Credit, described again"
    refund = next(t for t in transactions if t["type"] == "SP" and t.get("reference"))
    refund["reference"] = "REFUND-CHANGED"
    payments = first("BP", 3, bank_code="1200")
    payments[0]["deleted"] = True
    payments[2]["reference"] = "CHANGED"
    added = json.loads(json.dumps(payments[1]))
    added["header_number"] = max(t["header_number"] for t in transactions) + 1
    added["reference"] = "NEW"
    transactions.append(added)
    banks = {b["nominal_code"] for b in data["bank_accounts"] if b["currency"] == "GBP"}
    groups: dict[object, list[dict[str, object]]] = {}
    for t in transactions:
        if t["type"] in ("JD", "JC"):
            groups.setdefault(t["journal_group"], []).append(t)
    transfer = next(
        members for members in groups.values()
        if len(members) == 2 and {m["splits"][0]["nominal_code"] for m in members} <= banks  # type: ignore[index]
    )  # fmt: skip
    for member in transfer:
        member["reference"] = "TRF-CHANGED"
    data["customers"][0]["name"] += " (renamed)"
    next(p for p in data["products"] if p["item_type"] == "stock")["sales_price"] = "99.99"
    services = [p for p in data["products"] if p["item_type"] == "service"]
    services[0]["sales_price"] = "120.00"
    data["products"].remove(services[1])
    data["bank_accounts"][1]["sort_code"] = "11-22-33"
    data["opening_balances"]["customer_open_items"][0]["details"] = "Opening balance, again"
    # Two opening balances move by the same amount, so the trial balance still balances.
    lines = {line["nominal_code"]: line for line in data["opening_balances"]["trial_balance"]}
    for code, change in (("1210", "10.00"), ("1103", "-10.00")):
        line = lines[code]
        line["debit"] = str(Decimal(line.get("debit") or "0") + Decimal(change))
    company.write_text(json.dumps(data), "utf-8")


def test_exact_to_csv_round_trips_every_amount(
    example_company: Path,
    tmp_path: Path,
    exact: tuple[ExactSandbox, SandboxServer],
    target: Connector,
) -> None:
    """Exact as a source: what went in comes out to CSV, amount for amount."""
    into = migration(example_company, target, tmp_path / "in.db")
    assert into.full().status == "succeeded"
    app, server = exact
    exact_source = PluginRegistry().open(
        "exact", {**_options(target), "location": None, "division": app.current}
    )
    csv = PluginRegistry().open("csv", {"location": str(tmp_path / "csv")})
    out = Migration(exact_source, csv, SQLiteStateStore(tmp_path / "out.db"), MigrationOptions())
    report = out.full()
    assert report.status == "succeeded", report.error
    assert not report.problems, [(p.entity, p.source_key, p.message) for p in report.problems]
    info = out.store.migrations()[0]
    assert reconcile(exact_source, csv, out.store, info.id).ok

    # Every document and payment of the Sage 50 company, followed through both id maps.
    in_info = into.store.migrations()[0]
    assert into.source is not None
    for entity in ("invoices", "credit_notes", "open_items", "payments", "refunds",
                   "bank_transactions", "manual_journals", "opening_balances"):  # fmt: skip
        to_exact = into.store.lookup(
            in_info.id, entity, [r.key for r in into.source.extract(entity)]
        )
        to_csv = out.store.lookup(info.id, entity, [e.target_id or "" for e in to_exact.values()])
        copies = {r.key: r for r in csv.extract(entity)}
        moved = 0
        for record in into.source.extract(entity):
            entry = to_exact.get(record.key)
            if entry is None or entry.target_id is None:
                continue
            copy = copies[str(to_csv[entry.target_id].target_id)]
            assert _amounts(copy) == _amounts(record), (entity, record.key)
            moved += 1
        assert moved, entity
    plain = list(_plain_rows(server, "salesentry/SalesEntries", ("EntryID", "AmountDC", "Type")))
    invoices = [r for r in into.source.extract("invoices") if isinstance(r, Invoice)]
    sales = [r for r in invoices if r.kind.value == "sales"]
    notes = [r for r in into.source.extract("credit_notes") if isinstance(r, CreditNote)]
    opening = [r for r in into.source.extract("open_items") if r.kind.ledger.value == "sales"]  # type: ignore[attr-defined]
    assert len(plain) == len(sales) + len([n for n in notes if n.kind.value == "sales"]) + len(
        opening
    )
    assert sum(Decimal(str(r["AmountDC"])) for r in plain if r["Type"] == 20) == sum(
        (r.base_gross for r in sales), Decimal(0)
    ) + sum(
        (o.base_outstanding for o in opening if o.kind.increases_balance),  # type: ignore[attr-defined]
        Decimal(0),
    )


def _amounts(record: Record) -> Any:
    """Every amount a record carries, in order (what must survive Sage 50 → Exact → CSV)."""
    found = []
    # An open item's original gross is not Exact's: the entry holds what is outstanding.
    for name in ("amount", "base_amount", "outstanding", "base_outstanding", "balance"):
        value = getattr(record, name, None)
        if isinstance(value, Decimal):
            found.append((name, value.normalize()))
    for line in getattr(record, "lines", ()):
        for name in ("net", "tax", "base_net", "base_tax", "amount"):
            value = getattr(line, name, None)
            if isinstance(value, Decimal):
                found.append((name, value.normalize()))
    return found


def _options(connector: Connector) -> dict[str, Any]:
    api = connector.instance.client.api  # type: ignore[attr-defined]
    return {
        "base_url": api.base_url.removesuffix("/api/v1"),
        "access_token": api.auth.access_token(),
        "rate_scale": 1000.0,
    }
