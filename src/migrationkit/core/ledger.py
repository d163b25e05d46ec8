"""Double entry over the canonical model: postings, trial balance and contact balances.

The posting rules name control roles, never account codes: a sales invoice debits whichever
account holds the ``receivables`` role. Everything here works in base currency, except contact
balances, which are also kept in each contact's own currency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal

import attrs

from .errors import MappingError
from .model import (
    BankAccount,
    BankTransaction,
    BankTransactionKind,
    BankTransfer,
    ControlRole,
    CreditNote,
    DocumentKind,
    DocumentStatus,
    Invoice,
    LedgerAccount,
    ManualJournal,
    OpeningBalance,
    OpenItem,
    Payment,
    PaymentKind,
    Record,
    Refund,
    RefundKind,
)

__all__ = ["Chart", "ContactBalance", "Ledger", "contact_effect", "postings"]

_ZERO = Decimal(0)

Posting = tuple[str, Decimal]
"""``(ledger account key, amount)``, debit positive, in base currency."""


@attrs.define
class Chart:
    """What the posting rules need to know about the chart: roles and bank accounts."""

    roles: dict[ControlRole, str] = attrs.field(factory=dict)
    bank_ledger: dict[str, str] = attrs.field(factory=dict)
    accounts: dict[str, LedgerAccount] = attrs.field(factory=dict)

    def add(self, record: Record) -> None:
        """Learn from a ledger account or bank account record (others are ignored)."""
        if isinstance(record, LedgerAccount):
            self.accounts[record.key] = record
            if record.control_role is not None and record.control_role is not ControlRole.BANK:
                self.roles.setdefault(record.control_role, record.key)
        elif isinstance(record, BankAccount):
            self.bank_ledger[record.key] = record.account

    def role(self, role: ControlRole) -> str:
        try:
            return self.roles[role]
        except KeyError:
            raise MappingError(f"the chart has no {role.value} control account") from None

    def bank(self, bank_account: str) -> str:
        try:
            return self.bank_ledger[bank_account]
        except KeyError:
            raise MappingError(f"bank account {bank_account!r} is not known") from None


def postings(record: Record, chart: Chart) -> Iterator[Posting]:
    """The base-currency postings one record makes (none for drafts, voids and open items)."""
    if isinstance(record, Invoice | CreditNote):
        yield from _document_postings(record, chart)
    elif isinstance(record, Payment):
        bank = chart.bank(record.bank_account)
        if record.kind is PaymentKind.CUSTOMER_RECEIPT:
            yield (bank, record.base_amount)
            yield (chart.role(ControlRole.RECEIVABLES), -record.base_amount)
        else:
            yield (chart.role(ControlRole.PAYABLES), record.base_amount)
            yield (bank, -record.base_amount)
    elif isinstance(record, Refund):
        bank = chart.bank(record.bank_account)
        if record.kind is RefundKind.CUSTOMER_REFUND:
            yield (chart.role(ControlRole.RECEIVABLES), record.base_amount)
            yield (bank, -record.base_amount)
        else:
            yield (bank, record.base_amount)
            yield (chart.role(ControlRole.PAYABLES), -record.base_amount)
    elif isinstance(record, BankTransaction):
        sign = 1 if record.kind is BankTransactionKind.SPEND else -1
        tax_role = (
            ControlRole.PURCHASE_TAX
            if record.kind is BankTransactionKind.SPEND
            else ControlRole.SALES_TAX
        )
        tax = _ZERO
        for line in record.lines:
            yield (line.account, sign * line.base_net)
            tax += line.base_tax
        if tax:
            yield (chart.role(tax_role), sign * tax)
        yield (chart.bank(record.bank_account), -sign * record.base_gross)
    elif isinstance(record, BankTransfer):
        yield (chart.bank(record.to_bank_account), record.amount)
        yield (chart.bank(record.from_bank_account), -record.amount)
    elif isinstance(record, ManualJournal):
        for journal_line in record.lines:
            yield (journal_line.account, journal_line.amount)
    elif isinstance(record, OpeningBalance):
        yield (record.account, record.balance)


def _document_postings(record: Invoice | CreditNote, chart: Chart) -> Iterator[Posting]:
    if record.status is not DocumentStatus.POSTED:
        return
    # A sales invoice credits income and tax and debits receivables; a purchase invoice is the
    # mirror image, and a credit note reverses the invoice of its ledger.
    sign = 1 if record.kind is DocumentKind.PURCHASE else -1
    if isinstance(record, CreditNote):
        sign = -sign
    if record.kind is DocumentKind.SALES:
        control, tax_role = ControlRole.RECEIVABLES, ControlRole.SALES_TAX
    else:
        control, tax_role = ControlRole.PAYABLES, ControlRole.PURCHASE_TAX
    tax = _ZERO
    gross = _ZERO
    for line in record.lines:
        yield (line.account, sign * line.base_net)
        tax += line.base_tax
        gross += line.base_net + line.base_tax
    if tax:
        yield (chart.role(tax_role), sign * tax)
    yield (chart.role(control), -sign * gross)


@attrs.frozen
class ContactBalance:
    """What one contact owes (positive) or is owed, in its own currency and in base currency.

    For a supplier, positive means we owe them.
    """

    currency: str
    amount: Decimal
    base_amount: Decimal


@attrs.define
class Ledger:
    """Accumulates postings into a trial balance and contact balances as records stream by.

    Feed ledger accounts and bank accounts first (they build the chart), then anything else.
    """

    chart: Chart = attrs.field(factory=Chart)
    balances: defaultdict[str, Decimal] = attrs.field(factory=lambda: defaultdict(Decimal))
    _contacts: dict[tuple[str, str], list[Decimal]] = attrs.field(factory=dict)

    def add(self, record: Record) -> None:
        """Post one record."""
        self.chart.add(record)
        for account, amount in postings(record, self.chart):
            self.balances[account] += amount
        self._add_contact(record)

    def add_all(self, records: Iterable[Record]) -> Ledger:
        for record in records:
            self.add(record)
        return self

    def trial_balance(self) -> dict[str, Decimal]:
        """Balance per account key (debit positive), zero balances left out, sorted by key."""
        return {key: value for key, value in sorted(self.balances.items()) if value}

    def contact_balances(self) -> dict[str, ContactBalance]:
        """Balance per contact key, from invoices, credits, payments, refunds and open items."""
        return {
            contact: ContactBalance(currency, amount, base)
            for (contact, currency), (amount, base) in sorted(self._contacts.items())
            if amount or base
        }

    def contact_base_balances(self) -> dict[str, Decimal]:
        """Balance per contact key in base currency, over every currency the contact used.

        A contact invoiced in euros and paid through a sterling bank has items in two
        currencies; what it owes in base currency is the sum of both.
        """
        totals: defaultdict[str, Decimal] = defaultdict(Decimal)
        for (contact, _currency), (_amount, base) in sorted(self._contacts.items()):
            totals[contact] += base
        return {contact: value for contact, value in totals.items() if value}

    def _add_contact(self, record: Record) -> None:
        effect = contact_effect(record)
        if effect is not None:
            contact, currency, amount, base = effect
            entry = self._contacts.setdefault((contact, currency), [_ZERO, _ZERO])
            entry[0] += amount
            entry[1] += base


def contact_effect(record: Record) -> tuple[str, str, Decimal, Decimal] | None:
    """What a record adds to its contact's balance: ``(contact, currency, amount, base)``.

    Allocations only move amounts between a contact's own items, so a contact's balance is the
    signed sum of the items themselves: invoices, refunds and receivable open items add; credit
    notes, payments and payable-side open items subtract.
    """
    if isinstance(record, Invoice | CreditNote):
        if record.status is not DocumentStatus.POSTED:
            return None
        sign = -1 if isinstance(record, CreditNote) else 1
        return record.contact, record.currency, sign * record.gross, sign * record.base_gross
    if isinstance(record, Payment):
        return record.contact, record.currency, -record.amount, -record.base_amount
    if isinstance(record, Refund):
        return record.contact, record.currency, record.amount, record.base_amount
    if isinstance(record, OpenItem):
        sign = 1 if record.kind.increases_balance else -1
        return (
            record.contact,
            record.currency,
            sign * record.outstanding,
            sign * record.base_outstanding,
        )
    return None
