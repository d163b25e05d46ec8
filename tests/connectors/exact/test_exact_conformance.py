"""The conformance kit against the exact connector (target and source), on the sandbox.

:func:`as_exact_keeps_it` states, field by field, what a record looks like after a round trip
through Exact Online; the load-then-extract rule compares everything else exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from exact_support import connector_options, sandbox

from migrationkit import (
    BankAccount,
    BankAccountKind,
    BankTransaction,
    BankTransfer,
    Contact,
    ControlRole,
    CreditNote,
    DocumentLine,
    Invoice,
    Item,
    ItemKind,
    JournalLine,
    LedgerAccount,
    ManualJournal,
    Migration,
    MigrationOptions,
    OpenItem,
    OpenItemKind,
    Payment,
    PluginRegistry,
    Record,
    Refund,
    SQLiteStateStore,
    TaxRate,
    TaxTreatment,
    TrackingCategory,
)
from migrationkit.testing import (
    Faults,
    SandboxServer,
    SourceSuite,
    TargetSuite,
    datasets,
    memory_source,
)
from migrationkit.testing.sandboxes.exact.app import ExactSandbox

_ROLES = {
    ControlRole.RECEIVABLES,
    ControlRole.PAYABLES,
    ControlRole.SALES_TAX,
    ControlRole.PURCHASE_TAX,
    ControlRole.RETAINED_EARNINGS,
    ControlRole.BANK,
}
_OPEN_KIND = {
    OpenItemKind.CUSTOMER_REFUND: OpenItemKind.SALES_INVOICE,
    OpenItemKind.CUSTOMER_PAYMENT: OpenItemKind.SALES_CREDIT,
    OpenItemKind.SUPPLIER_REFUND: OpenItemKind.PURCHASE_INVOICE,
    OpenItemKind.SUPPLIER_PAYMENT: OpenItemKind.PURCHASE_CREDIT,
}


def _line(line: DocumentLine) -> DocumentLine:
    # Exact's entry lines keep no line number, unit price or item.
    return attrs.evolve(line, number=None, unit_price=None, item=None)


def as_exact_keeps_it(entity: str, record: Record) -> Record | None:
    """A record as Exact gives it back (``None``: matched onto the division, not compared)."""
    if entity == "company":
        return None
    if isinstance(record, TaxRate):
        # Exact's VAT flags keep the treatment of these; exempt and reduced read as 0% and rate.
        kept = {TaxTreatment.EXEMPT: TaxTreatment.ZERO, TaxTreatment.REDUCED: TaxTreatment.STANDARD}
        return attrs.evolve(record, treatment=kept.get(record.treatment, record.treatment))
    if isinstance(record, LedgerAccount):
        role = record.control_role if record.control_role in _ROLES else None
        return attrs.evolve(record, control_role=role, currency=None, description=None)
    if isinstance(record, TrackingCategory):
        return attrs.evolve(record, name="")  # Exact names its dimensions itself
    if isinstance(record, BankAccount):
        kind = (
            BankAccountKind.CASH if record.kind is BankAccountKind.CASH else BankAccountKind.CURRENT
        )
        return attrs.evolve(record, kind=kind)
    if isinstance(record, Contact):
        # Only numeric codes are Exact's (test_exact_masters checks they are kept).
        return attrs.evolve(record, code=None, contact_name=None)
    if isinstance(record, Item):
        kind = ItemKind.STOCK if record.kind is ItemKind.STOCK else ItemKind.NON_STOCK
        return attrs.evolve(record, kind=kind, unit=None, supplier=None)
    if isinstance(record, Invoice | CreditNote):
        changes: dict[str, Any] = {"due_date": None, "lines": tuple(map(_line, record.lines))}
        if isinstance(record, CreditNote):
            changes.update(discount=False, allocations=())
        return attrs.evolve(record, **changes)
    if isinstance(record, OpenItem):
        return attrs.evolve(
            record,
            kind=_OPEN_KIND.get(record.kind, record.kind),
            gross=record.outstanding,
            due_date=None,
            allocations=(),
        )
    if isinstance(record, Payment | Refund | BankTransfer):
        return attrs.evolve(record, reconciled_on=None)
    if isinstance(record, BankTransaction):
        return attrs.evolve(record, reconciled_on=None, lines=tuple(map(_line, record.lines)))
    if isinstance(record, ManualJournal):
        return attrs.evolve(
            record, lines=tuple(attrs.evolve(x, tax_rate=None) for x in record.lines)
        )
    return record


class TestExactTarget(TargetSuite):
    connector = "exact"
    # Exact refuses a journal that does not balance (reported before any call).
    rejection = (
        "manual_journals",
        ManualJournal(
            key="unbalanced",
            date=dt.date(2024, 4, 30),
            narration="Does not balance",
            lines=(
                JournalLine(account="7100", amount=Decimal("10.00")),
                JournalLine(account="2109", amount=Decimal("-9.99")),
            ),
        ),
    )

    @pytest.fixture
    def running(self) -> Iterator[tuple[ExactSandbox, SandboxServer]]:
        with sandbox() as pair:
            yield pair

    @pytest.fixture
    def target_options(self, running: tuple[ExactSandbox, SandboxServer]) -> Mapping[str, Any]:
        app, server = running
        return connector_options(app, server)

    @pytest.fixture
    def faults(self, running: tuple[ExactSandbox, SandboxServer]) -> Faults:
        return running[0].faults

    def normalise(self, entity: str, record: Record) -> Record | None:
        return as_exact_keeps_it(entity, record)


class TestExactSource(SourceSuite):
    connector = "exact"

    @pytest.fixture
    def source_options(self, tmp_path: Path) -> Iterator[Mapping[str, Any]]:
        with sandbox() as (app, server):
            options = connector_options(app, server)
            # The division holds a migrated company: every entity has something to read.
            store = SQLiteStateStore(tmp_path / "state.db")
            target = PluginRegistry().open("exact", options)
            Migration(
                memory_source(datasets.allocations(), name="allocations"),
                target,
                store,
                MigrationOptions(validate=False),
            ).full()
            yield options
