"""Benchmark: N invoices into the Exact Online sandbox and back, against Exact's limits in time.

    python benchmarks/bench_exact.py [--invoices 1000] [--contacts 100] [--scale 60] [--json]

The sandbox enforces Exact's per-division limits (60 calls a minute, 5,000 a day) on a clock
running ``--scale`` times faster: with the documented 60, an Exact minute lasts one second.
The connector's own limiter runs on the same scale. A company of ``--contacts`` customers and
N one-line sales invoices moves through the engine (reference data first, then the invoices),
then Exact is read back as a source (contacts and invoices). The benchmark prints:

* writes against the records written: Exact has no batch endpoint, so the least a load can
  send is one request per record; anything beyond is the connector's own (journals and
  accounts it needs, lookups);
* reads against the minimum the page sizes allow: ``ceil(rows / 60)`` on standard endpoints,
  ``ceil(rows / 1000)`` on ``sync/`` and ``bulk/``; the read-back takes contacts from
  ``sync/CRM/Accounts`` and invoices from ``salesentry/SalesEntries`` (lines expanded);
* time against the 60-a-minute bound: the client keeps at most 60 calls in any minute, so C
  calls take at least ``floor((C - 1) / 60)`` minutes, ``60 * floor((C - 1) / 60) / scale``
  seconds here. The share of the bound is bound / elapsed;
* what the same run means at Exact's real limits (elapsed × scale), and what a day's 5,000
  calls allow.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

from migrationkit import (
    ENTITY_ORDER,
    AccountType,
    BankAccount,
    Company,
    Connector,
    ConnectorInfo,
    Contact,
    ControlRole,
    DocumentKind,
    DocumentLine,
    EntityCapabilities,
    Invoice,
    LedgerAccount,
    Migration,
    MigrationOptions,
    PluginRegistry,
    Record,
    SQLiteStateStore,
    TaxRate,
    TaxTreatment,
    hookimpl,
)
from migrationkit.testing.sandboxes.exact.app import ExactSandbox, start_server

PER_MINUTE = 60
STANDARD_PAGE = 60
SYNC_PAGE = 1000
DAY = dt.date(2024, 4, 1)


class _Company:
    """An in-memory source: a small chart, ``contacts`` customers, ``invoices`` sales invoices."""

    def __init__(self, invoices: int, contacts: int) -> None:
        chart = (
            ("1100", "Debtors", AccountType.CURRENT_ASSET, ControlRole.RECEIVABLES),
            ("1200", "Bank", AccountType.BANK, ControlRole.BANK),
            ("2200", "VAT on sales", AccountType.CURRENT_LIABILITY, ControlRole.SALES_TAX),
            ("4000", "Sales - trade", AccountType.SALES, None),
        )
        self.records: dict[str, list[Record]] = {
            "company": [Company(key="company", name="Benchmark Ltd", base_currency="EUR")],
            "tax_rates": [
                TaxRate(
                    key="T1",
                    code="T1",
                    name="Standard",
                    rate=Decimal(21),
                    treatment=TaxTreatment.STANDARD,
                )
            ],
            "ledger_accounts": [
                LedgerAccount(key=code, code=code, name=name, type=kind, control_role=role)
                for code, name, kind, role in chart
            ],
            "bank_accounts": [
                BankAccount(
                    key="1200",
                    name="Bank",
                    account="1200",
                    currency="EUR",
                    iban="NL91ABNA0417164300",
                )
            ],
            "contacts": [
                Contact(
                    key=f"C{n:04d}", code=str(1000 + n), name=f"Customer {n:04d}", is_customer=True
                )
                for n in range(contacts)
            ],
            "invoices": [self._invoice(n, contacts) for n in range(invoices)],
        }

    @staticmethod
    def _invoice(n: int, contacts: int) -> Invoice:
        net = Decimal(100 + n % 900) + Decimal(n % 100) / 100
        tax = (net * Decimal("0.21")).quantize(Decimal("0.01"))
        return Invoice(
            key=str(n),
            kind=DocumentKind.SALES,
            number=str(20240001 + n),
            contact=f"C{n % contacts:04d}",
            date=DAY + dt.timedelta(days=n % 28),
            currency="EUR",
            lines=(
                DocumentLine(
                    description="Goods",
                    account="4000",
                    tax_rate="T1",
                    net=net,
                    tax=tax,
                    base_net=net,
                    base_tax=tax,
                ),
            ),
        )

    @hookimpl
    def migrationkit_identity(self) -> str:
        return "benchmark:company"

    @hookimpl
    def migrationkit_extract(self, entity: str, since: object) -> Iterator[Record]:
        return iter(self.records.get(entity, ()))


def _source(invoices: int, contacts: int) -> Connector:
    instance = _Company(invoices, contacts)
    info = ConnectorInfo(
        name="benchmark",
        summary="benchmark company",
        factory=lambda **_: instance,
        capabilities={e: EntityCapabilities(extract=True) for e in ENTITY_ORDER},
    )
    return Connector(info, instance)


class _Calls:
    """Every request the connector sends, by method and endpoint."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int]] = []

    def __call__(self, request: requests.PreparedRequest, response: requests.Response) -> None:
        path = (request.path_url or "").split("?")[0]
        self.seen.append((request.method or "", path, response.status_code))

    def since(self, start: int) -> list[tuple[str, str, int]]:
        return self.seen[start:]


_RECORD_ENDPOINTS = (
    "crm/Accounts",
    "financial/GLAccounts",
    "vat/VATCodes",
    "financial/Journals",
    "salesentry/SalesEntries",
)


def _record_endpoint(path: str) -> bool:
    """Whether a POST to ``path`` writes one of the company's records."""
    return path.endswith(_RECORD_ENDPOINTS)


def _bound(calls: int, scale: float) -> float:
    """The least time ``calls`` calls take at 60 in any minute (seconds, scaled)."""
    return 60 * ((calls - 1) // PER_MINUTE) / scale if calls else 0.0


def run(invoices: int, scale: float, contacts: int) -> dict[str, Any]:
    """Run the benchmark and return its measurements."""
    app = ExactSandbox(rate_scale=scale)
    calls = _Calls()
    with tempfile.TemporaryDirectory() as folder, start_server(app) as server:
        options = {
            "division": app.current,
            "base_url": server.url,
            "access_token": "benchmark",
            "rate_scale": scale,
            "observers": [calls],
        }
        target = PluginRegistry().open("exact", options)
        source = _source(invoices, contacts)
        store = SQLiteStateStore(Path(folder) / "state.db")
        master = [e for e in ENTITY_ORDER if e != "invoices"]

        def migrate(entities: Sequence[str]) -> tuple[float, list[tuple[str, str, int]]]:
            before = len(calls.seen)
            started = time.perf_counter()
            report = Migration(
                source, target, store, MigrationOptions(validate=False, entities=tuple(entities))
            ).full()
            if report.status != "succeeded" or report.problems:
                raise SystemExit(f"benchmark run failed: {report.error or report.problems[:3]}")
            return time.perf_counter() - started, calls.since(before)

        reference_seconds, reference_calls = migrate(master)
        invoice_seconds, invoice_calls = migrate(["invoices"])
        reader = PluginRegistry().open("exact", {**options, "observers": [calls]})
        before = len(calls.seen)
        started = time.perf_counter()
        read = {e: sum(1 for _ in reader.extract(e)) for e in ("contacts", "invoices")}
        read_seconds = time.perf_counter() - started
        read_calls = calls.since(before)
        store.close()
    # Everything but the company (matched onto the division): chart, VAT code, bank, contacts.
    loaded = sum(len(v) for k, v in source.instance.records.items() if k != "company")
    writes = [c for c in reference_calls + invoice_calls if c[0] != "GET"]
    invoice_posts = sum(1 for m, p, _ in invoice_calls if m == "POST" and "SalesEntries" in p)
    minimum_reads = math.ceil(contacts / SYNC_PAGE) + math.ceil(invoices / STANDARD_PAGE)
    total_calls = len(reference_calls) + len(invoice_calls)
    total_seconds = reference_seconds + invoice_seconds
    throttled = sum(1 for _, _, status in calls.seen if status == 429)
    overhead = Counter(
        f"{method} {path.split('/', 4)[-1].split('(')[0]}"
        for method, path, _ in reference_calls + invoice_calls
        if not (method == "POST" and _record_endpoint(path))
    )
    read_overhead = Counter(f"GET {p.split('/', 4)[-1]}" for _, p, _ in read_calls)
    return {
        "invoices": invoices,
        "contacts": contacts,
        "scale": scale,
        "read_back": read,
        "requests": {
            "invoice_posts": invoice_posts,
            "invoice_other": len(invoice_calls) - invoice_posts,
            "reference_data": len(reference_calls),
            "writes": len(writes),
            "records_written": loaded,
            "load_total": total_calls,
            "read_back": len(read_calls),
            "read_back_minimum": minimum_reads,
            "answered_429": throttled,
            "load_beyond_one_per_record": dict(overhead),
            "read_back_by_endpoint": dict(read_overhead),
        },
        "seconds": {
            "load": round(total_seconds, 2),
            "load_rate_limit_bound": round(_bound(total_calls, scale), 2),
            "read_back": round(read_seconds, 2),
            "read_back_rate_limit_bound": round(_bound(len(read_calls), scale), 2),
        },
        "share_of_rate_limit": round(_bound(total_calls, scale) / total_seconds, 3),
        "at_real_exact_limits_minutes": round(total_seconds * scale / 60, 1),
        "invoices_per_day_at_5000_calls": int(5000 * invoices / max(len(invoice_calls), 1)),
    }


def _print(result: Mapping[str, Any]) -> None:
    calls, seconds = result["requests"], result["seconds"]
    print(
        f"{result['invoices']} invoices, {result['contacts']} contacts, Exact's limits scaled "
        f"x{result['scale']:g}; read back {result['read_back']}"
    )
    print(
        f"  load: {calls['invoice_posts']} invoice POSTs for {result['invoices']} invoices "
        f"(+{calls['invoice_other']} other), reference data {calls['reference_data']} calls; "
        f"{calls['writes']} writes for {calls['records_written']} records; "
        f"answered 429: {calls['answered_429']}"
    )
    print(
        f"  read back: {calls['read_back']} calls (the page sizes allow "
        f"{calls['read_back_minimum']})"
    )
    print(
        f"  time: load {seconds['load']} s (rate-limit bound {seconds['load_rate_limit_bound']} "
        f"s, {result['share_of_rate_limit']:.1%}); read back {seconds['read_back']} s "
        f"(bound {seconds['read_back_rate_limit_bound']} s)"
    )
    print(
        f"  at Exact's real limits the load takes about {result['at_real_exact_limits_minutes']}"
        f" minutes; a day's 5,000 calls carry about {result['invoices_per_day_at_5000_calls']:,}"
        " invoices"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--contacts", type=int, default=100)
    parser.add_argument("--scale", type=float, default=60.0, help="time runs this much faster")
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = parser.parse_args(argv)
    result = run(args.invoices, args.scale, args.contacts)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
