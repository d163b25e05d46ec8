"""Requests per migrated record: the example company into the sandbox at the least Sage allows.

Sage Accounting has no batch endpoint: a document is one request, a payment with its
allocations one (``contact_payments`` with ``allocated_artefacts``), and a credit (credit note,
credit-type open item) with allocations two (the credit, then ``contact_allocations``). Reading
is once per run: the reference lists, never a record the create's answer already described.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from connectors.sage_accounting.sage_accounting_support import open_connector
from migrationkit import Migration, MigrationOptions, PluginRegistry, SQLiteStateStore
from migrationkit.testing.sandboxes.sage_accounting.app import SageSandbox, SageSandboxServer

_KEY = re.compile(r"/[0-9a-f]{32}(?=/|$)")


class Requests:
    """Counts requests by ``METHOD /path`` (record ids replaced by ``{id}``) and by entity."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()
        self.by_entity: Counter[tuple[str, str]] = Counter()
        self.entity = "-"

    def __call__(self, request: Any, response: Any) -> None:
        path = (request.url or "").split("/v3.1", 1)[-1].split("?", 1)[0]
        where = f"{request.method} {_KEY.sub('/{id}', path)}"
        self.sent[where] += 1
        self.by_entity[(self.entity, where)] += 1

    def entity_started(self, entity: str, phase: str) -> None:
        self.entity = entity

    def advanced(self, entity: str, count: int) -> None:
        pass

    def entity_finished(self, entity: str, counts: Any) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def reads(self) -> Counter[str]:
        return Counter({k: v for k, v in self.sent.items() if k.startswith("GET ")})

    def writes(self, entity: str) -> int:
        return sum(
            n
            for (e, where), n in self.by_entity.items()
            if e == entity and not where.startswith("GET ")
        )


def test_the_example_company_takes_one_request_a_record_and_one_per_allocated_credit(
    example_company: Path, sage: tuple[SageSandbox, SageSandboxServer], tmp_path: Path
) -> None:
    app, server = sage
    counted = Requests()
    target = open_connector(app, server)
    target.instance.client.api.observers.append(counted)
    source = PluginRegistry().open("sage50-json", {"location": str(example_company)})
    run = Migration(
        source,
        target,
        SQLiteStateStore(tmp_path / "state.db"),
        MigrationOptions(mappings={"bank_accounts": {"1200": app.default_bank_id()}}),
        counted,
    )
    report = run.full()
    assert report.status == "succeeded"

    def written(entity: str) -> int:
        return report.entities[entity].created

    def allocating(entity: str) -> int:
        not_moved = {p.source_key for p in report.problems if p.entity == entity}
        return sum(1 for r in source.extract(entity) if r.allocations and r.key not in not_moved)

    sent = counted.sent
    # Documents: one request each.
    assert sent["POST /sales_invoices"] + sent["POST /purchase_invoices"] == written("invoices")
    assert counted.writes("invoices") == written("invoices")
    assert counted.writes("manual_journals") == written("manual_journals")
    assert counted.writes("bank_transactions") == written("bank_transactions")
    # A payment and its allocations: one request, allocations inside it.
    assert counted.writes("payments") == written("payments") > 0
    assert counted.writes("refunds") == written("refunds")
    # A credit with allocations: the credit, then one allocation request; never a read first.
    credits = allocating("credit_notes")
    assert credits > 0
    assert counted.writes("credit_notes") == written("credit_notes") + credits
    assert counted.writes("open_items") == written("open_items") + allocating("open_items")
    assert sent["POST /contact_allocations"] == credits + allocating("open_items")
    assert sent["GET /contact_allocations"] == 0
    # Reads: the reference lists once a run (analysis categories once more, for the invoices'
    # lines after the tracking categories changed them); no single record is ever read back.
    reads = counted.reads()
    assert not [where for where in reads if "{id}" in where], reads
    assert max(reads.values()) <= 3, reads
    assert sum(reads.values()) <= 10, reads
