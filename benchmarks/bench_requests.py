"""Requests per migrated record: each API connector against its sandbox and the API's minimum.

    python benchmarks/bench_requests.py                           # all four, 2,000 transactions
    python benchmarks/bench_requests.py --only sage-accounting --transactions 7000

The generator's example company (``seed 7``, every transaction type) moves through the engine
(``Migration.full``) into each connector's sandbox (``migrationkit.testing.sandboxes``), set up
as the connector's own company tests set it up. Every HTTP request the connector sends is
counted by the entity being loaded, and the writes are set against the least the API allows for
the records written:

* **Xero**: a POST or PUT carries up to 50 elements, so ⌈n / 50⌉ per entity; accounts (bank
  accounts too) go one per request, a tracking category is one request and one per option, a
  credit note's allocations one request per credit note (``PUT /CreditNotes/{id}/Allocations``);
* **Sage Accounting**: no batch endpoint, so one request per document; a payment with its
  allocations is one request (``contact_payments`` with ``allocated_artefacts``); a credit
  (credit note, credit-type open item) with allocations is two: the credit, then one
  ``contact_allocations``; a tracking category one request and one per option;
* **Exact Online**: no batch endpoint: one request per record;
* **Twinfield**: a ProcessXml document carries up to 25 elements (dimensions or transactions):
  ⌈n / 25⌉ per entity.

Reads (the reference lists a run reads once, look-ups) are counted apart. Results in
``benchmarks/results/requests.md``, rendered into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import math
import re
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from migrationkit import (  # noqa: E402
    Connector,
    Migration,
    MigrationOptions,
    PluginRegistry,
    RunReport,
    SQLiteStateStore,
)
from migrationkit.testing.generators.sage50 import GeneratorOptions, generate  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "requests.md"
_ID = re.compile(r"/(\{?[0-9a-fA-F]{8}-?[0-9a-fA-F-]{4,}\}?|[0-9a-f]{32}|\d+)(?=/|$)")
_ODATA_KEY = re.compile(r"\(guid'[0-9a-fA-F-]+'\)")
# The first element of a Twinfield ProcessXml document, escaped inside the SOAP envelope or not.
_ROOT_ELEMENT = re.compile(rb"(?:<|&lt;)(?:[\w.-]+:)?([A-Za-z]\w*)")
_XML_REQUEST = re.compile(rb"</?(?:[\w.-]+:)?xmlRequest\b[^>]*>")
_SOAP_ACTION = re.compile(rb"<(?:[\w.-]+:)?Body>\s*<(?:[\w.-]+:)?(\w+)")


class Counting:
    """A run observer and an HTTP observer: requests by (entity, method, endpoint)."""

    def __init__(self) -> None:
        self.entity = "-"
        self.requests: Counter[tuple[str, str, str]] = Counter()

    # run observer
    def entity_started(self, entity: str, phase: str) -> None:
        self.entity = entity if phase == "loading" else f"{entity} ({phase})"

    def advanced(self, entity: str, count: int) -> None:
        pass

    def entity_finished(self, entity: str, counts: Any) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    # HTTP observer
    def __call__(self, request: Any, response: Any) -> None:
        path = re.sub(r"^https?://[^/]+", "", (request.url or "").split("?")[0])
        path = _ODATA_KEY.sub("({id})", _ID.sub("/{id}", path))
        method = request.method or "GET"
        if request.body and path.endswith((".asmx", ".svc")):
            path = f"{path} {_soap(_bytes(request.body))}"
        self.requests[(self.entity, method, path)] += 1


def _soap(body: bytes) -> str:
    """A SOAP call's action, and for ProcessXml the first element of its document."""
    action = _SOAP_ACTION.search(body)
    name = action.group(1).decode() if action else "?"
    if name.startswith("ProcessXml"):
        inner = _XML_REQUEST.sub(b"", body[action.end() :] if action else body)
        found = _ROOT_ELEMENT.search(inner)
        return f"{name} <{found.group(1).decode() if found else '?'}>"
    return name


def _bytes(body: Any) -> bytes:
    return body if isinstance(body, bytes) else str(body).encode()


def _is_read(method: str, path: str) -> bool:
    if method == "GET":
        return True
    # Twinfield: a SOAP call that reads (ProcessXml read, list, columns; the finder) is a read,
    # as Twinfield's own credit table counts them.
    return any(tag in path for tag in ("<read>", "<list>", "<columns>", "Search", "Query", "Get"))


def _api(connector: Connector) -> Any:
    instance = connector.instance
    for path in ("client.api", "client", "api"):
        obj: Any = instance
        for name in path.split("."):
            obj = getattr(obj, name, None)
        if obj is not None and hasattr(obj, "observers"):
            return obj
    raise RuntimeError(f"cannot find the HTTP client of {type(instance).__name__}")


# -- the four targets -----------------------------------------------------------------------
Opened = tuple[Connector, MigrationOptions]


def _observed(connector: Connector, observer: Counting) -> Connector:
    _api(connector).observers.append(observer)
    return connector


@contextlib.contextmanager
def sage_accounting(observer: Counting) -> Iterator[Opened]:
    from connectors.sage_accounting.sage_accounting_support import open_connector, sandbox

    with sandbox() as (app, server):
        mappings = {"bank_accounts": {"1200": app.default_bank_id()}}
        yield (
            _observed(open_connector(app, server), observer),
            MigrationOptions(mappings=mappings),
        )


@contextlib.contextmanager
def xero(observer: Counting) -> Iterator[Opened]:
    from migrationkit.testing.sandboxes.xero.app import (
        API_PREFIX,
        TOKEN_PATH,
        XeroSandbox,
        start_server,
    )

    app = XeroSandbox(rate_scale=1000.0)
    with start_server(app) as server:
        settings = {
            "location": app.default_tenant,
            "base_url": server.url + API_PREFIX,
            "token_url": server.url + TOKEN_PATH,
            "access_token": "bench-token",
            "rate_scale": 1000.0,
            "clearing_account": "9997",
            "observers": [observer],
        }
        yield PluginRegistry().open("xero", settings), MigrationOptions()


@contextlib.contextmanager
def exact(observer: Counting) -> Iterator[Opened]:
    from connectors.exact.exact_support import open_connector, sandbox

    with sandbox() as (app, server):
        yield _observed(open_connector(app, server), observer), MigrationOptions()


@contextlib.contextmanager
def twinfield(observer: Counting) -> Iterator[Opened]:
    from connectors.twinfield.twinfield_support import open_connector, sandbox

    with sandbox() as (app, server):
        yield _observed(open_connector(app, server), observer), MigrationOptions()


def _allocating(report: RunReport, source: Connector, entity: str) -> int:
    """Records of ``entity`` that moved and carry allocations."""
    not_moved = {p.source_key for p in report.problems if p.entity == entity}
    return sum(
        1
        for record in source.extract(entity)
        if getattr(record, "allocations", ()) and record.key not in not_moved
    )


def _options(source: Connector) -> int:
    return sum(len(record.options) for record in source.extract("tracking_categories"))


def _written(report: RunReport, entity: str) -> int:
    counts = report.entities.get(entity)
    return (counts.created + counts.updated) if counts else 0


def minimum_sage(report: RunReport, source: Connector, entity: str) -> int:
    n = _written(report, entity)
    if entity == "tracking_categories":
        return n + _options(source)
    if entity in ("credit_notes", "open_items"):
        return n + _allocating(report, source, entity)
    return n


def minimum_xero(report: RunReport, source: Connector, entity: str) -> int:
    n = _written(report, entity)
    if entity in ("ledger_accounts", "bank_accounts"):
        return n
    if entity == "tracking_categories":
        return n + _options(source)
    if entity in ("credit_notes", "open_items"):
        return math.ceil(n / 50) + _allocating(report, source, entity)
    return math.ceil(n / 50)


def minimum_exact(report: RunReport, source: Connector, entity: str) -> int:
    return _written(report, entity)


def minimum_twinfield(report: RunReport, source: Connector, entity: str) -> int:
    return math.ceil(_written(report, entity) / 25)


TARGETS: dict[
    str, tuple[Callable[[Counting], Any], Callable[[RunReport, Connector, str], int], str]
] = {
    "xero": (xero, minimum_xero, "batches of 50; accounts one a request"),
    "sage-accounting": (
        sage_accounting,
        minimum_sage,
        "one request a document; a payment with its allocations one; "
        "a credit's allocations one more",
    ),
    "exact": (exact, minimum_exact, "one request a record (no batch endpoint)"),
    "twinfield": (twinfield, minimum_twinfield, "documents of 25 elements"),
}


NOTES = {
    "xero": "Bank transfers go one per request: Xero's `BankTransfers` takes a list but has no "
    "`summarizeErrors`, so one refused transfer would refuse the whole list; the connector keeps "
    "them apart. A payment settling several invoices is a batch payment, money left on account an "
    "overpayment whose allocations are a request each, and a refund a bank transaction and an "
    "invoice: those are the writes of payments, refunds and open items above the least.",
    "sage-accounting": "The writes above the least are Sage's own chart accounts that source "
    "accounts land on, made visible in every area the source may post from (one "
    "`PUT /ledger_accounts/{id}` each). Before commit 7d7e32e a credit's allocation was preceded "
    "by a read of the contact's allocations, even for a credit just created "
    "(`results/sage-accounting.md` gives the counts before and after).",
    "exact": "The chart's writes include the hand-over of each VAT code to its VAT account once "
    "that account exists (`PUT vat/VATCodes`); a bank transfer is an entry in each bank's "
    "journal, and its lines are read back (the reads of bank transfers).",
    "twinfield": "The least applies Twinfield's 25 elements a document to every entity; articles "
    "are sent one per document (whether Twinfield takes several articles in one document is not "
    "confirmed here). Payments read browse data (`<columns>`) for the open lines they settle.",
}


def measure(name: str, company: Path, work: Path) -> dict[str, Any]:
    opener, minimum, rule = TARGETS[name]
    counting = Counting()
    with opener(counting) as (target, options):
        source = PluginRegistry().open("sage50-json", {"location": str(company)})
        migration = Migration(
            source, target, SQLiteStateStore(work / f"{name}.db"), options, observer=counting
        )
        report = migration.full()
    rows = []
    entities = list(report.entities)
    for entity in entities:
        sent = {k: v for k, v in counting.requests.items() if k[0] == entity}
        writes = sum(v for (_e, method, path), v in sent.items() if not _is_read(method, path))
        reads = sum(v for (_e, method, path), v in sent.items() if _is_read(method, path))
        written = _written(report, entity)
        if not (writes or reads or written):
            continue
        least = minimum(report, source, entity)
        endpoints = ", ".join(
            f"{v:,} {method} {path}" for (_e, method, path), v in sorted(sent.items())
        )
        rows.append(
            {
                "entity": entity,
                "written": written,
                "writes": writes,
                "minimum": least,
                "reads": reads,
                "endpoints": endpoints,
            }
        )
    other = {k: v for k, v in counting.requests.items() if k[0] not in entities}
    return {
        "connector": name,
        "rule": rule,
        "status": report.status,
        "rows": rows,
        "other_reads": sum(other.values()),
        "other": ", ".join(f"{v:,} {m} {p} ({e})" for (e, m, p), v in sorted(other.items())),
        "total": sum(counting.requests.values()),
    }


def render(results: list[dict[str, Any]], transactions: int, command: str) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    out = [
        "# Requests per migrated record",
        "",
        f"Command: `{command}`; measured on {dt.date.today().isoformat()} at commit {commit}. "
        "The generator's example company "
        f"(`GeneratorOptions(seed=7, transactions={transactions})`) into each connector's "
        "sandbox with `Migration.full`; every request counted by the "
        "entity being loaded. *Least* is the fewest write requests the API allows for the "
        "records written (see `benchmarks/bench_requests.py` for each API's rule); reads are "
        "the lists and look-ups the connector made while loading that entity.",
        "",
        "| Connector | Records written | Write requests | Least the API allows | Ratio | Reads "
        "| All requests |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        written = sum(r["written"] for r in result["rows"])
        writes = sum(r["writes"] for r in result["rows"])
        least = sum(r["minimum"] for r in result["rows"])
        reads = sum(r["reads"] for r in result["rows"]) + result["other_reads"]
        ratio = f"{writes / least:.3f}×" if least else "–"
        out.append(
            f"| {result['connector']} ({result['rule']}) | {written:,} | {writes:,} | {least:,} | "
            f"{ratio} | {reads:,} | {result['total']:,} |"
        )
    for result in results:
        out += [
            "",
            f"## {result['connector']}",
            "",
            f"Run status: {result['status']}. Requests outside any entity's load: "
            f"{result['other'] or 'none'}. {NOTES.get(result['connector'], '')}".rstrip(),
            "",
            "| Entity | Written | Write requests | Least | Reads | Requests by endpoint |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for row in result["rows"]:
            out.append(
                f"| {row['entity']} | {row['written']:,} | {row['writes']:,} | "
                f"{row['minimum']:,} | {row['reads']:,} | {row['endpoints']} |"
            )
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--only", default=",".join(TARGETS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-requests-") as tmp:
        work = Path(tmp)
        company = work / "company.json"
        generate(company, GeneratorOptions(seed=7, transactions=args.transactions))
        results = []
        for name in args.only.split(","):
            print(f"{name} …", flush=True)
            results.append(measure(name, company, work))
            last = results[-1]
            print(
                f"  {last['total']:,} requests; writes "
                f"{sum(r['writes'] for r in last['rows']):,} for least "
                f"{sum(r['minimum'] for r in last['rows']):,}",
                flush=True,
            )
    command = "python benchmarks/bench_requests.py " + " ".join(sys.argv[1:])
    args.out.write_text(render(results, args.transactions, command.strip()), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
