"""The conformance kit against the sage-accounting connector (target and source), on the sandbox.

:func:`as_sage_keeps_it` states, field by field, what a record looks like after a round trip
through Sage: the load-then-extract rule compares everything else exactly. Two rules are
expected to fail for reasons that are Sage's, named on each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import attrs
import pytest

from connectors.sage_accounting.sage_accounting_support import SpecCheck, connector_options, sandbox
from migrationkit import (
    AccountType,
    BankAccount,
    BankTransaction,
    BankTransfer,
    Contact,
    CreditNote,
    DocumentLine,
    Invoice,
    Item,
    JournalLine,
    LedgerAccount,
    ManualJournal,
    OpeningBalance,
    OpenItem,
    Payment,
    PluginRegistry,
    Record,
    Refund,
    TrackingCategory,
)
from migrationkit.core.plugins import Connector
from migrationkit.testing import Faults, SourceSuite, TargetSuite
from migrationkit.testing.sandboxes.sage_accounting.app import SageSandbox, SageSandboxServer

_LONG_AGO = dt.date(1970, 1, 1)


def _line(line: DocumentLine) -> DocumentLine:
    # Sage keeps net and tax; quantity and price only as one unit at the net amount when the
    # source gave none; tracking options come back as Sage's category ids.
    return attrs.evolve(line, number=None, quantity=None, unit_price=None, tracking=())


def as_sage_keeps_it(entity: str, record: Record) -> Record | None:
    """A record as Sage gives it back (``None``: matched onto the business's own, not compared)."""
    if entity in ("company", "tax_rates"):
        return None  # matched onto the business and its GB rates
    if isinstance(record, LedgerAccount):
        # Accounts the chart already has keep Sage's name and type: the code is what moves.
        return LedgerAccount(key=record.key, code=record.code, name="", type=AccountType.OVERHEADS)
    if isinstance(record, BankAccount):
        return None if record.key == "1200" else attrs.evolve(record, bank_name=None)
    if isinstance(record, TrackingCategory):
        return attrs.evolve(record, options=())
    if isinstance(record, Contact):
        return attrs.evolve(
            record,
            contact_name=None,
            currency=record.currency or "GBP",
            tax_rate=record.tax_rate if record.is_customer else None,
            inactive=False,
        )
    if isinstance(record, Item):
        return attrs.evolve(record, unit=None)
    if isinstance(record, OpeningBalance):
        return attrs.evolve(record, as_of=_LONG_AGO)
    if isinstance(record, Invoice | CreditNote):
        changes: dict[str, Any] = {"due_date": None, "lines": tuple(map(_line, record.lines))}
        if isinstance(record, CreditNote):
            changes["discount"] = False
            changes["allocations"] = tuple(attrs.evolve(a, date=None) for a in record.allocations)
        return attrs.evolve(record, **changes)
    if isinstance(record, Payment | Refund):
        extra: dict[str, Any] = {"description": None, "reconciled_on": None}
        if isinstance(record, Payment):
            extra["allocations"] = tuple(attrs.evolve(a, date=None) for a in record.allocations)
        return attrs.evolve(record, **extra)
    if isinstance(record, OpenItem):
        return attrs.evolve(
            record,
            kind=record.kind,
            gross=record.outstanding,
            due_date=None,
            allocations=tuple(attrs.evolve(a, date=None) for a in record.allocations),
        )
    if isinstance(record, BankTransaction):
        return attrs.evolve(
            record, description=None, reconciled_on=None, lines=tuple(map(_line, record.lines))
        )
    if isinstance(record, BankTransfer):
        return attrs.evolve(record, reconciled_on=None)
    if isinstance(record, ManualJournal):
        return attrs.evolve(
            record,
            reference=None,
            lines=tuple(attrs.evolve(x, tax_rate=None, tracking=()) for x in record.lines),
        )
    return record


class TestSageAccountingTarget(TargetSuite):
    connector = "sage-accounting"
    # Sage refuses a journal that does not balance (reported before any call).
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
    def running(self) -> Iterator[tuple[SageSandbox, SageSandboxServer]]:
        with sandbox() as pair:
            yield pair

    @pytest.fixture
    def target_options(self, running: tuple[SageSandbox, SageSandboxServer]) -> Mapping[str, Any]:
        app, server = running
        self.bank = app.default_bank_id()
        return connector_options(app, server)

    @pytest.fixture
    def target(self, target_options: Mapping[str, Any]) -> Iterator[Connector]:
        check = SpecCheck()
        connector = PluginRegistry().open(self.connector, target_options)
        connector.instance.client.api.observers.append(check)  # type: ignore[attr-defined]
        yield connector
        check.assert_clean()

    @pytest.fixture
    def faults(self, running: tuple[SageSandbox, SageSandboxServer]) -> Faults:
        return running[0].faults

    @property  # type: ignore[override]
    def migration_options(self) -> Mapping[str, Any]:
        # Bank 1200 meets the business's own "Current" account: mapped, as a user maps it.
        return {"mappings": {"bank_accounts": {"1200": self.bank}}}

    def normalise(self, entity: str, record: Record) -> Record | None:
        return as_sage_keeps_it(entity, record)


class TestSageAccountingSource(SourceSuite):
    connector = "sage-accounting"

    @pytest.fixture
    def source_options(self) -> Iterator[Mapping[str, Any]]:
        with sandbox() as (app, server):
            yield connector_options(app, server)
