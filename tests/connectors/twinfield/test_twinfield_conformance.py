"""The conformance kit against the twinfield connector (target and source), on the sandbox.

:func:`as_twinfield_keeps_it` states, field by field, what a record looks like after a round
trip through Twinfield; the load-then-extract rule compares everything else exactly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from twinfield_support import EnvelopeCheck, connector_options, sandbox

from migrationkit import (
    AccountType,
    Address,
    BankTransaction,
    BankTransfer,
    Contact,
    ControlRole,
    CreditNote,
    DocumentLine,
    Invoice,
    Item,
    JournalLine,
    LedgerAccount,
    ManualJournal,
    OpeningBalance,
    OpenItem,
    OpenItemKind,
    Payment,
    PluginRegistry,
    Record,
    Refund,
    TrackingCategory,
)
from migrationkit.core.plugins import Connector
from migrationkit.testing import Faults, SourceSuite, TargetSuite
from migrationkit.testing.sandboxes.server import SandboxServer
from migrationkit.testing.sandboxes.twinfield.app import TwinfieldSandbox

BANKS = {"1200": ("BNK1", "GBP"), "1210": ("BNK2", "GBP")}
"""The datasets' banks, each with a bank book in the office."""
VAT_CODES = {"T0": "VN/IN", "T9": "VO/IO"}
"""Two zero rates: the office has two 0% pairs, so the user says which is which."""
_OFFICE_ROLES = (
    ControlRole.RECEIVABLES,
    ControlRole.PAYABLES,
    ControlRole.SALES_TAX,
    ControlRole.PURCHASE_TAX,
)
_COLLAPSED = {
    OpenItemKind.CUSTOMER_PAYMENT: OpenItemKind.SALES_CREDIT,
    OpenItemKind.CUSTOMER_REFUND: OpenItemKind.SALES_INVOICE,
    OpenItemKind.SUPPLIER_PAYMENT: OpenItemKind.PURCHASE_CREDIT,
    OpenItemKind.SUPPLIER_REFUND: OpenItemKind.PURCHASE_INVOICE,
}
_ONE = Decimal(1)


def _line(line: DocumentLine) -> DocumentLine:
    # Twinfield keeps net, VAT, base amounts, account and cost centre; descriptions up to 40
    # characters; the VAT code is the office's, not the source's.
    return attrs.evolve(
        line,
        number=None,
        quantity=None,
        unit_price=None,
        item=None,
        tax_rate=None,
        description=line.description[:40],
    )


def _in_base(record: Payment | Refund) -> Payment | Refund:
    """Foreign money through a sterling bank comes back as the sterling the bank saw."""
    if record.currency == "GBP":
        return record
    ratio = record.base_amount / record.amount
    changes: dict[str, Any] = {
        "currency": "GBP",
        "exchange_rate": _ONE,
        "amount": record.base_amount,
    }
    if isinstance(record, Payment):
        changes["allocations"] = tuple(
            attrs.evolve(a, amount=(a.amount * ratio).quantize(Decimal("0.01")))
            for a in record.allocations
        )
    return attrs.evolve(record, **changes)


def _number(number: str | None) -> str | None:
    """A document without a number is entered with the write's stamp as its invoice number."""
    return number if number and not number.startswith("mk:") else None


def as_twinfield_keeps_it(entity: str, record: Record) -> Record | None:
    """A record as Twinfield gives it back (``None``: matched onto the office's, not compared)."""
    if entity in ("company", "tax_rates", "bank_accounts"):
        return None  # the office, its VAT codes and its bank books
    if isinstance(record, LedgerAccount):
        if record.control_role in _OFFICE_ROLES:
            return None  # lands on the office's debtors, creditors or VAT account
        bank = record.type is AccountType.BANK
        return attrs.evolve(
            record,
            name="" if bank else record.name,  # the bank book's account keeps its own name
            control_role=ControlRole.BANK if bank else None,
            tax_rate=None,
            currency=None,
            description=None,
            inactive=False,
        )
    if isinstance(record, TrackingCategory):
        return attrs.evolve(record, name="")  # Twinfield's one cost-centre dimension
    if isinstance(record, Contact):
        return attrs.evolve(
            record,
            address=attrs.evolve(record.address, region=None)
            if record.address != Address()
            else record.address,
            credit_limit=record.credit_limit if record.is_customer else None,
            sales_account=None,
            purchase_account=None,
            tax_rate=None,
            inactive=False,
        )
    if isinstance(record, Item):
        return Item(
            key=record.key,
            code=record.code,
            name=record.name,
            unit=record.unit or "unit",
            sales_price=record.sales_price or Decimal(0),
        )
    if isinstance(record, Invoice | CreditNote):
        changes: dict[str, Any] = {
            "description": None,
            "number": record.number
            if record.number and not record.number.startswith("mk:")
            else None,
            "lines": tuple(map(_line, record.lines)),
        }
        if isinstance(record, CreditNote):
            changes["discount"] = False
            changes["allocations"] = ()
        return attrs.evolve(record, **changes)
    if isinstance(record, Payment):
        record = _in_base(record)
        assert isinstance(record, Payment)
        return attrs.evolve(
            record,
            reconciled_on=None,
            allocations=tuple(attrs.evolve(a, date=None) for a in record.allocations),
        )
    if isinstance(record, Refund):
        return attrs.evolve(_in_base(record), reconciled_on=None)
    if isinstance(record, OpenItem):
        return attrs.evolve(
            record,
            kind=_COLLAPSED.get(record.kind, record.kind),
            number=_number(record.number),
            gross=record.outstanding,
            allocations=(),
        )
    if isinstance(record, BankTransaction):
        return attrs.evolve(
            record,
            contact=None,
            description=None,
            reconciled_on=None,
            lines=tuple(map(_line, record.lines)),
        )
    if isinstance(record, BankTransfer):
        return attrs.evolve(record, reconciled_on=None)
    if isinstance(record, ManualJournal):
        narration = record.narration[:40]
        lines = tuple(
            JournalLine(
                account=x.account,
                amount=x.amount,
                description=(x.description or record.narration)[:40],
                tracking=x.tracking,
            )
            for x in record.lines
        )
        return ManualJournal(
            key=record.key,
            date=record.date,
            narration=lines[0].description if lines else narration,
            lines=lines,
        )
    if isinstance(record, OpeningBalance):
        return record
    return record


class TestTwinfieldTarget(TargetSuite):
    connector = "twinfield"
    # Twinfield refuses a journal that does not balance, with its own words.
    rejection = (
        "manual_journals",
        ManualJournal(
            key="unbalanced",
            date=__import__("datetime").date(2024, 4, 30),
            narration="Does not balance",
            lines=(
                JournalLine(account="7100", amount=Decimal("10.00")),
                JournalLine(account="2109", amount=Decimal("-9.99")),
            ),
        ),
    )

    @pytest.fixture
    def running(self) -> Iterator[tuple[TwinfieldSandbox, SandboxServer]]:
        with sandbox(BANKS) as pair:
            yield pair

    @pytest.fixture
    def target_options(self, running: tuple[TwinfieldSandbox, SandboxServer]) -> Mapping[str, Any]:
        app, server = running
        return connector_options(app, server, BANKS, vat_codes=VAT_CODES)

    @pytest.fixture
    def target(self, target_options: Mapping[str, Any]) -> Iterator[Connector]:
        check = EnvelopeCheck()
        connector = PluginRegistry().open(self.connector, target_options)
        connector.instance.client.api.observers.append(check)  # type: ignore[attr-defined]
        yield connector
        check.assert_clean()

    @pytest.fixture
    def faults(self, running: tuple[TwinfieldSandbox, SandboxServer]) -> Faults:
        return running[0].faults

    def normalise(self, entity: str, record: Record) -> Record | None:
        return as_twinfield_keeps_it(entity, record)


class TestTwinfieldSource(SourceSuite):
    connector = "twinfield"

    @pytest.fixture
    def source_options(self, tmp_path: Path) -> Iterator[Mapping[str, Any]]:
        from migrationkit import Migration, MigrationOptions, SQLiteStateStore
        from migrationkit.testing import datasets
        from migrationkit.testing.memory import memory_source

        with sandbox(BANKS) as (app, server):
            options = connector_options(app, server, BANKS, vat_codes=VAT_CODES)
            target = PluginRegistry().open("twinfield", options)
            store = SQLiteStateStore(tmp_path / "source-state.db")
            Migration(
                memory_source(datasets.allocations(), name="allocations"),
                target,
                store,
                MigrationOptions(validate=False),
            ).full()
            yield options
