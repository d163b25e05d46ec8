"""Exact's error budget: a run stops writing to an endpoint before Exact would block the app,
and a record Exact refused is never sent again blindly."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import attrs
from exact_support import FaultsAt, open_connector, sandbox

from migrationkit import Migration, MigrationOptions, SQLiteStateStore
from migrationkit.testing import Fault, datasets, memory_source


def test_a_run_stops_before_the_error_budget_blocks_the_app(tmp_path: Path) -> None:
    records = datasets.basic()
    first = records["invoices"][0]
    records["invoices"] = [attrs.evolve(first, key=f"S{n}", number=f"S{n}") for n in range(12)]
    with sandbox() as (app, server):
        target = open_connector(app, server)
        target.instance.division.journal("sales_journal")  # type: ignore[attr-defined]
        # Exact refuses the first eight invoices it is sent.
        refusals = FaultsAt(app, {"invoices": [Fault(status=400, methods=("POST",))] * 8})
        run = Migration(
            memory_source(records, name="company"),
            target,
            SQLiteStateStore(tmp_path / "state.db"),
            MigrationOptions(validate=False),
            refusals,
        )
        sent: Counter[str] = Counter()

        def note(request: object, response: object) -> None:
            if getattr(request, "method", "") == "POST":
                sent[str(getattr(request, "url", ""))] += 1

        target.instance.client.api.observers.append(note)  # type: ignore[attr-defined]
        report = run.full()
        assert report.status == "succeeded", report.error
        failed = {p.source_key: p.reason for p in report.problems if p.entity == "invoices"}
        assert failed == {
            **{f"S{n}": "EXACT_400" for n in range(8)},
            **{f"S{n}": "ERROR_BUDGET" for n in range(8, 12)},
        }, "each refused invoice failed once; the rest were not sent"
        budget = next(p for p in report.problems if p.reason == "ERROR_BUDGET")
        assert "nothing more goes to salesentry/SalesEntries until" in str(budget.message)
        assert app.blocked == 0, "Exact never had to block the app"
        assert sum(n for url, n in sent.items() if "SalesEntries" in url) == 8, "none sent again"
        assert app.faults.injected == 8
        # The same endpoint takes the open items too: they wait for the next run as well.
        open_items = {p.source_key: p.reason for p in report.problems if p.entity == "open_items"}
        assert set(open_items.values()) == {"ERROR_BUDGET"}
