"""Payments, refunds, bank transactions, transfers (the bank day books) and journals.

Money through a bank is a transaction in that bank's day book: a ``total`` line on the book's
own account (debit for money in) and detail lines for where it came from or went. A payment
has one detail line per allocation on the debtors or creditors account, naming the customer or
supplier and the invoice number it settles (Twinfield matches on that), plus one line for what
stays on account. Journals are memorial transactions of detail lines.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from migrationkit.core.contract import LoadRequest, Problem, References
from migrationkit.core.errors import MappingError
from migrationkit.core.model import (
    BankAccount,
    BankTransaction,
    BankTransactionKind,
    BankTransfer,
    ManualJournal,
    Payment,
    PaymentKind,
    Record,
    Refund,
    RefundKind,
)

from .documents import _CONTROL_ROLES, Posting, split_base
from .mapping import Line, Transaction, period_of, transactions_from_browse, vat_lines
from .office import Daybook
from .transactions import TransactionHandler

__all__ = ["BANK_HANDLERS"]


class _Bank(Posting, TransactionHandler):
    def book(self, refs: References, key: str) -> Daybook:
        code = self.resolve(refs, "bank_accounts", key)
        return self.office.required_daybook(code, ("bank", "cash"))

    def currency_problem(
        self, refs: References, key: str, currency: str, *, in_base: bool = True
    ) -> list[Problem]:
        """A bank book takes its own currency only; foreign money through a base-currency
        book goes in the base currency (``in_base``), anything else cannot go."""
        bank = refs.record("bank_accounts", key)
        if not isinstance(bank, BankAccount) or bank.currency == currency:
            return []
        if in_base and bank.currency == self.office.info()[1]:
            return []
        return [
            Problem(
                code="BANK_CURRENCY_DIFFERS",
                message=f"it is in {currency}, its bank account in {bank.currency}; a "
                "Twinfield bank book takes its own currency only",
            )
        ]

    def in_book_currency(self, book: Daybook, currency: str) -> bool:
        """Whether foreign money goes through this book in the base currency."""
        base = self.office.info()[1]
        return currency != (book.currency or base) and (book.currency or base) == base


class _ContactMoney(_Bank):
    """Payments and refunds: money to or from a customer or supplier."""

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, Payment | Refund)
        return self.currency_problem(refs, record.bank_account, record.currency)

    def numbers(self, refs: References, record: Payment) -> list[tuple[str | None, Decimal]]:
        """(invoice number, amount) per allocation, and what stays on account."""
        parts: list[tuple[str | None, Decimal]] = []
        for allocation in record.allocations:
            target = self.resolve(refs, allocation.document_entity, allocation.document)
            number = self.office.invoice_numbers.get(target)
            if number is None:
                self._learn_numbers()
                number = self.office.invoice_numbers.get(target)
            parts.append((number, allocation.amount))
        if record.unallocated:
            parts.append((None, record.unallocated))
        return parts

    def _learn_numbers(self) -> None:
        columns = [
            ("fin.trs.line.linetype", "equal", "total", None),
            ("fin.trs.line.invnumber", None, None, None),
        ]
        for txn in transactions_from_browse(self.client.browse("000", columns)):
            number = txn.lines[0].invoicenumber if txn.lines else None
            if number:
                self.office.invoice_numbers[txn.id] = number

    def money(
        self,
        request: LoadRequest,
        refs: References,
        record: Payment | Refund,
        money_in: bool,
        customer: bool,
        parts: list[tuple[str | None, Decimal]],
    ) -> Transaction:
        book = self.book(refs, record.bank_account)
        assert book.account, "a bank book has its account"
        sign = 1 if money_in else -1
        control = self.office.receivables if customer else self.office.payables
        contact = self.contact(refs, record.contact)
        bases = split_base([a for _, a in parts], record.amount, record.base_amount)
        currency, rate, amount = record.currency, record.exchange_rate, record.amount
        if self.in_book_currency(book, record.currency):
            # Foreign money through a base-currency bank: the bank saw base currency.
            parts = [(number, base) for (number, _), base in zip(parts, bases, strict=True)]
            currency, rate, amount = self.office.info()[1], Decimal(1), record.base_amount
        details = [
            Line(
                type="detail",
                dim1=control,
                dim2=contact,
                value=-sign * part,
                base=-sign * base,
                invoicenumber=number,
                description=(record.description or "")[:40] or None,
            )
            for (number, part), base in zip(parts, bases, strict=True)
        ]
        total = Line(
            type="total",
            dim1=book.account,
            value=sign * amount,
            base=sign * record.base_amount,
            description=(record.reference or "")[:40] or None,
        )
        return Transaction(
            daybook=book.code,
            date=record.date,
            period=period_of(record.date),
            currency=currency,
            rate=rate,
            lines=(total, *details),
        )


class PaymentHandler(_ContactMoney):
    entity = "payments"

    def transaction(self, request: LoadRequest, refs: References) -> Transaction:
        record = request.record
        assert isinstance(record, Payment)
        receipt = record.kind is PaymentKind.CUSTOMER_RECEIPT
        return self.money(request, refs, record, receipt, receipt, self.numbers(refs, record))


class RefundHandler(_ContactMoney):
    entity = "refunds"

    def transaction(self, request: LoadRequest, refs: References) -> Transaction:
        record = request.record
        assert isinstance(record, Refund)
        customer = record.kind is RefundKind.CUSTOMER_REFUND
        return self.money(request, refs, record, not customer, customer, [(None, record.amount)])


class BankTransactionHandler(_Bank):
    entity = "bank_transactions"

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, BankTransaction)
        return [
            *self.currency_problem(refs, record.bank_account, record.currency),
            *self.line_problems(record.lines, refs),
        ]

    def transaction(self, request: LoadRequest, refs: References) -> Transaction:
        record = request.record
        assert isinstance(record, BankTransaction)
        book = self.book(refs, record.bank_account)
        assert book.account, "a bank book has its account"
        spend = record.kind is BankTransactionKind.SPEND
        sign = 1 if spend else -1  # what the lines do: a spend debits them
        kind = "purchase" if spend else "sales"
        currency, rate, lines = record.currency, record.exchange_rate, record.lines
        if self.in_book_currency(book, record.currency):
            # Foreign money through a base-currency bank: the bank saw base currency.
            currency, rate = self.office.info()[1], Decimal(1)
            lines = tuple(attrs.evolve(x, net=x.base_net, tax=x.base_tax) for x in record.lines)
        details = [self.detail(refs, line, sign, kind) for line in lines]
        gross = sum((x.net + x.tax for x in lines), Decimal(0))
        total = Line(
            type="total",
            dim1=book.account,
            value=-sign * gross,
            base=-sign * record.base_gross,
            description=(record.reference or "")[:40] or None,
        )
        return Transaction(
            daybook=book.code,
            date=record.date,
            period=period_of(record.date),
            currency=currency,
            rate=rate,
            lines=(total, *details, *vat_lines(details, self.office.vat_accounts())),
        )


class TransferHandler(_Bank):
    """From one bank book to the other's account, in the books' one currency."""

    entity = "bank_transfers"

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, BankTransfer)
        problems = []
        for key in (record.from_bank_account, record.to_bank_account):
            problems.extend(self.currency_problem(refs, key, record.currency, in_base=False))
        return problems[:1]

    def transaction(self, request: LoadRequest, refs: References) -> Transaction:
        record = request.record
        assert isinstance(record, BankTransfer)
        source = self.book(refs, record.from_bank_account)
        target = self.book(refs, record.to_bank_account)
        assert source.account
        assert target.account
        if source.code == target.code:
            raise MappingError("a transfer from a bank account to itself")
        reference = (record.reference or "")[:40] or None
        return Transaction(
            daybook=source.code,
            date=record.date,
            period=period_of(record.date),
            currency=record.currency,
            lines=(
                Line(
                    type="total",
                    dim1=source.account,
                    value=-record.amount,
                    base=-record.amount,
                    description=reference,
                ),
                Line(
                    type="detail",
                    dim1=target.account,
                    value=record.amount,
                    base=record.amount,
                    description=(record.description or "")[:40] or None,
                ),
            ),
        )


class JournalHandler(_Bank):
    """A journal in the memorial: detail lines, debit positive, in the base currency."""

    entity = "manual_journals"

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, ManualJournal)
        bad = sorted(
            {x.account for x in record.lines if self.role(refs, x.account) in _CONTROL_ROLES}
        )
        if bad:
            return [
                Problem(
                    code="JOURNAL_TO_CONTROL_ACCOUNT",
                    message=f"a line posts to {', '.join(bad)}, a debtors or creditors "
                    "account; Twinfield needs a customer or supplier on those lines, which a "
                    "journal line does not name",
                )
            ]
        return []

    def transaction(self, request: LoadRequest, refs: References) -> Transaction:
        record = request.record
        assert isinstance(record, ManualJournal)
        lines = []
        for line in record.lines:
            code = self.account(refs, line.account)
            lines.append(
                Line(
                    type="detail",
                    dim1=code,
                    dim2=self.cost_centre(
                        refs, line.tracking, self.is_pnl(refs, line.account, code)
                    ),
                    value=line.amount,
                    base=line.amount,
                    description=(line.description or record.narration)[:40] or None,
                )
            )
        return Transaction(
            daybook=self.ctx.options.journal_daybook,
            date=record.date,
            period=period_of(record.date),
            currency=self.office.info()[1],
            lines=tuple(lines),
        )


BANK_HANDLERS: tuple[type[TransactionHandler], ...] = (
    RefundHandler,
    PaymentHandler,
    BankTransactionHandler,
    TransferHandler,
    JournalHandler,
)
