"""Benchmark: N invoices into the Xero sandbox, against Xero's rate limits scaled in time.

    python benchmarks/bench_xero.py [--invoices 10000] [--scale 10] [--contacts 200] [--json]

The sandbox enforces Xero's per-tenant limits (5 calls in flight, 60 a minute, 5,000 a day) on a
clock running ``--scale`` times faster: with the default 10, a Xero minute lasts six seconds.
The connector uses the same scale for its own limiter. A company of ``--contacts`` customers
and N one-line sales invoices moves through the engine (reference data first, then the
invoices), and the benchmark prints:

* requests sent against the ideal: ``ceil(N / 50)`` invoice batches plus the calls the
  reference data needs (accounts go one per call, contacts 50 per call, plus the reads of the
  organisation, chart, tax rates and currencies);
* elapsed time against the rate-limit bound. Xero counts calls in a sliding minute: at most
  60 calls in any 60 seconds. Starting with an empty window, call number k (from 1) cannot go
  before ``floor((k - 1) / 60)`` minutes have passed since the first, so C calls take at least
  ``floor((C - 1) / 60)`` minutes, i.e. ``60 * floor((C - 1) / 60) / scale`` seconds here.
  The invoices' bound is that minus the time the reference data took before them (they share
  the window). Throughput against the limits is bound / elapsed;
* throughput, and what the same run means at Xero's real limits (elapsed × scale).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

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
from migrationkit.testing.sandboxes.xero.app import API_PREFIX, XeroSandbox, start_server

BATCH = 50
PER_MINUTE = 60
DAY = dt.date(2024, 4, 1)


class _Company:
    """An in-memory source: a small chart, ``contacts`` customers, ``invoices`` sales invoices."""

    def __init__(self, invoices: int, contacts: int) -> None:
        self.records: dict[str, list[Record]] = {
            "company": [Company(key="company", name="Benchmark Ltd")],
            "tax_rates": [
                TaxRate(
                    key="T1",
                    code="T1",
                    name="Standard",
                    rate=Decimal(20),
                    treatment=TaxTreatment.STANDARD,
                )
            ],
            "ledger_accounts": [
                LedgerAccount(key=code, code=code, name=name, type=kind, control_role=role)
                for code, name, kind, role in (
                    ("1100", "Debtors", AccountType.CURRENT_ASSET, ControlRole.RECEIVABLES),
                    ("1200", "Bank", AccountType.BANK, ControlRole.BANK),
                    ("2200", "VAT", AccountType.CURRENT_LIABILITY, ControlRole.SALES_TAX),
                    ("4000", "Sales - trade", AccountType.SALES, None),
                )
            ],
            "bank_accounts": [BankAccount(key="1200", name="Bank", account="1200")],
            "contacts": [
                Contact(
                    key=f"customer:C{n:04d}",
                    code=f"C{n:04d}",
                    name=f"Customer {n:04d}",
                    is_customer=True,
                )
                for n in range(contacts)
            ],
            "invoices": [self._invoice(n, contacts) for n in range(invoices)],
        }

    @staticmethod
    def _invoice(n: int, contacts: int) -> Invoice:
        net = Decimal(100 + n % 900) + Decimal(n % 100) / 100
        tax = (net * Decimal("0.2")).quantize(Decimal("0.01"))
        return Invoice(
            key=str(n),
            kind=DocumentKind.SALES,
            number=f"B-{n:06d}",
            contact=f"customer:C{n % contacts:04d}",
            date=DAY + dt.timedelta(days=n % 28),
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


def run(invoices: int, scale: float, contacts: int) -> dict[str, Any]:
    """Run the benchmark and return its measurements."""
    app = XeroSandbox(rate_scale=scale)
    with tempfile.TemporaryDirectory() as folder, start_server(app) as server:
        target = PluginRegistry().open(
            "xero",
            {
                "location": app.default_tenant,
                "base_url": server.url + API_PREFIX,
                "access_token": "benchmark",
                "rate_scale": scale,
            },
        )
        source = _source(invoices, contacts)
        store = SQLiteStateStore(Path(folder) / "state.db")
        master = [e for e in ENTITY_ORDER if e != "invoices"]

        def migrate(entities: Sequence[str]) -> tuple[float, int, Mapping[str, Any]]:
            before = len(app.calls)
            started = time.perf_counter()
            options = MigrationOptions(validate=False, entities=tuple(entities))
            report = Migration(source, target, store, options).full()
            if report.status != "succeeded" or report.problems:
                raise SystemExit(f"benchmark run failed: {report.error or report.problems[:3]}")
            return time.perf_counter() - started, len(app.calls) - before, report.to_dict()

        reference_seconds, reference_calls, _ = migrate(master)
        first_invoice_call = len(app.calls)
        invoice_seconds, invoice_calls, report = migrate(["invoices"])
        invoice_puts = sum(
            1 for method, path, _ in app.calls[first_invoice_call:] if method == "PUT"
        )
        store.close()
        created = report["entities"]["invoices"]["created"]
    throttled = sum(1 for _, _, status in app.calls if status == 429)
    ideal_invoice_calls = math.ceil(invoices / BATCH)
    # Accounts one per call (2 created, the rest matched), contacts 50 a call, the bank
    # account's details one call, and the reads: organisation, chart, tax rates, currencies.
    ideal_reference = 2 + math.ceil(contacts / BATCH) + 1 + 4
    total_calls = reference_calls + invoice_calls
    total_seconds = reference_seconds + invoice_seconds
    bound = 60 * ((total_calls - 1) // PER_MINUTE) / scale
    invoice_bound = max(bound - reference_seconds, 0.0)
    return {
        "invoices": invoices,
        "created": created,
        "contacts": contacts,
        "scale": scale,
        "requests": {
            "invoices": invoice_calls,
            "invoice_batches": invoice_puts,
            "ideal_invoice_batches": ideal_invoice_calls,
            "reference_data": reference_calls,
            "ideal_reference_data": ideal_reference,
            "total": total_calls,
            "ideal_total": ideal_invoice_calls + ideal_reference,
            "answered_429": throttled,
        },
        "seconds": {
            "invoices": round(invoice_seconds, 2),
            "invoices_rate_limit_bound": round(invoice_bound, 2),
            "total": round(total_seconds, 2),
            "total_rate_limit_bound": round(bound, 2),
        },
        "throughput_invoices_per_second": round(created / invoice_seconds, 1),
        "share_of_rate_limit": round(bound / total_seconds, 3),
        "at_real_xero_limits_minutes": round(total_seconds * scale / 60, 1),
    }


def _print(result: Mapping[str, Any]) -> None:
    calls, seconds = result["requests"], result["seconds"]
    reads = calls["invoices"] - calls["invoice_batches"]
    print(
        f"{result['created']} of {result['invoices']} invoices, {result['contacts']} contacts, "
        f"rate limits scaled x{result['scale']:g}"
    )
    print(
        f"  requests: invoice batches {calls['invoice_batches']} "
        f"(ideal {calls['ideal_invoice_batches']}) and {reads} reads; reference data "
        f"{calls['reference_data']} (ideal {calls['ideal_reference_data']}); total "
        f"{calls['total']} (ideal {calls['ideal_total']}); answered 429: {calls['answered_429']}"
    )
    print(
        f"  time: invoices {seconds['invoices']} s "
        f"(rate-limit bound {seconds['invoices_rate_limit_bound']} s), "
        f"total {seconds['total']} s (bound {seconds['total_rate_limit_bound']} s)"
    )
    print(
        f"  throughput: {result['throughput_invoices_per_second']} invoices/s, "
        f"{result['share_of_rate_limit']:.1%} of what the rate limit allows; at Xero's real "
        f"limits the run takes about {result['at_real_xero_limits_minutes']} minutes"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--scale", type=float, default=10.0, help="time runs this much faster")
    parser.add_argument("--contacts", type=int, default=200)
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
