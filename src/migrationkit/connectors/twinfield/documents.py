"""Invoices, credit notes, open items and opening balances: the sales and purchase day books
and the memorial.

A sales invoice is a transaction in the sales day book: a ``total`` line on the office's
debtors account naming the customer (debit, the gross amount), one ``detail`` line per source
line (credit, the net amount, with its VAT code and the line's own VAT) and one ``vat`` line
per VAT code (credit, the sum of the lines' VAT). A purchase invoice is the mirror image in
the purchase day book; a credit note is its invoice on the other side. VAT goes exactly as the
source computed it, line by line: Twinfield's ``autobalancevat`` is never asked for, so
Twinfield invents no rounding; a line whose VAT the source rounded differently stays so.

Open items and opening balances go in period 00, Twinfield's opening period, against the
opening-balance account (option ``opening_balance_account``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from migrationkit.core.contract import LoadRequest, LoadResult, Problem, References
from migrationkit.core.errors import MappingError
from migrationkit.core.model import (
    ControlRole,
    CreditNote,
    DocumentKind,
    DocumentLine,
    Invoice,
    LedgerAccount,
    OpeningBalance,
    OpenItem,
    Record,
    TrackingAssignment,
)

from .mapping import (
    Dimension,
    Line,
    Transaction,
    dimension_xml,
    period_of,
    stamp,
    transactions_from_browse,
    vat_lines,
)
from .masters import TwinfieldHandler
from .transactions import Held, TransactionHandler
from .xml import succeeded

__all__ = ["DOCUMENT_HANDLERS", "Posting", "split_base"]

_CONTROL_ROLES = (ControlRole.RECEIVABLES, ControlRole.PAYABLES)


class Posting(TwinfieldHandler):
    """What the posting handlers share: accounts, contacts, VAT codes and cost centres."""

    def account(self, refs: References, key: str) -> str:
        return self.resolve(refs, "ledger_accounts", key)

    def contact(self, refs: References, key: str) -> str:
        return self.resolve(refs, "contacts", key)

    def role(self, refs: References, key: str) -> ControlRole | None:
        record = refs.record("ledger_accounts", key)
        return record.control_role if isinstance(record, LedgerAccount) else None

    def is_pnl(self, refs: References, key: str, code: str) -> bool:
        record = refs.record("ledger_accounts", key)
        if isinstance(record, LedgerAccount):
            return not record.type.on_balance_sheet
        found = self.office.ledger(code)
        return found is not None and found.type == "PNL"

    def vat_code(self, refs: References, key: str | None, kind: str) -> str | None:
        if not key:
            return None
        pair = self.resolve(refs, "tax_rates", key)
        sales, _, purchase = pair.partition("/")
        return sales if kind == "sales" else purchase

    def cost_centre(
        self, refs: References, tracking: Sequence[TrackingAssignment], pnl: bool
    ) -> str | None:
        """The cost centre of a profit-and-loss line (KPL goes on level 2 of PNL lines only)."""
        if not tracking or not pnl:
            return None
        for choice in tracking:
            if self.resolve(refs, "tracking_categories", choice.category) == "KPL":
                return choice.option
        return None

    def detail(
        self,
        refs: References,
        line: DocumentLine,
        sign: int,
        kind: str,
    ) -> Line:
        """A document line as a detail line; ``sign`` is +1 for a debit of the net amount."""
        code = self.account(refs, line.account)
        if (line.tax or line.base_tax) and not line.tax_rate:
            raise MappingError(f"a line with VAT on {line.account} names no tax rate")
        return Line(
            type="detail",
            dim1=code,
            dim2=self.cost_centre(refs, line.tracking, self.is_pnl(refs, line.account, code)),
            value=sign * line.net,
            base=sign * line.base_net,
            vatcode=self.vat_code(refs, line.tax_rate, kind),
            vat=sign * line.tax,
            vat_base=sign * line.base_tax,
            description=line.description[:40] or None,
        )

    def line_problems(self, lines: Sequence[DocumentLine], refs: References) -> list[Problem]:
        bad = sorted({x.account for x in lines if self.role(refs, x.account) in _CONTROL_ROLES})
        if not bad:
            return []
        return [
            Problem(
                code="LINE_TO_CONTROL_ACCOUNT",
                message=f"a line posts to {', '.join(bad)}, a debtors or creditors account; "
                "Twinfield needs a customer or supplier on those lines",
            )
        ]

    def ensure_clearing(self) -> str:
        """The opening-balance account, created when the office does not have it."""
        code = self.ctx.options.opening_balance_account
        if self.office.ledger(code) is None and self.ctx.first_time("opening balance account"):
            dim = Dimension(type="BAS", code=code, name="Opening balance clearing")
            (answer,) = self.client.process_many(
                "dimensions", [dimension_xml(self.office.code, dim)], repeatable=True
            )
            if not succeeded(answer):
                raise MappingError(f"Twinfield refused the opening-balance account {code}")
            self.office.remember(dim)
        return code


def split_base(amounts: Sequence[Decimal], total: Decimal, base_total: Decimal) -> list[Decimal]:
    """Base amounts for parts of a foreign amount, rounded to cents, summing to ``base_total``."""
    if not amounts:
        return []
    if total == 0:
        return [Decimal(0)] * (len(amounts) - 1) + [base_total]
    parts = [
        (a * base_total / total).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        for a in amounts[:-1]
    ]
    return [*parts, base_total - sum(parts, Decimal(0))]


class _Posting(Posting, TransactionHandler):
    pass


class DocumentHandler(_Posting):
    """Invoices and credit notes in the sales and purchase day books."""

    def daybook(self, kind: DocumentKind) -> str:
        options = self.ctx.options
        return options.sales_daybook if kind is DocumentKind.SALES else options.purchase_daybook

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, Invoice | CreditNote)
        problems = self.line_problems(record.lines, refs)
        if not record.lines:
            problems.append(Problem(code="NO_LINES", message="a document without lines"))
        return problems

    def number(self, request: LoadRequest) -> str:
        record = request.record
        assert isinstance(record, Invoice | CreditNote)
        return record.number or stamp(request.idempotency_key)

    def transaction(self, request: LoadRequest, refs: References) -> Transaction:
        record = request.record
        assert isinstance(record, Invoice | CreditNote)
        sales = record.kind is DocumentKind.SALES
        kind = "sales" if sales else "purchase"
        # A sales invoice debits the customer; a purchase invoice credits the supplier; a
        # credit note is the other side of its invoice.
        sign = 1 if sales else -1
        if isinstance(record, CreditNote):
            sign = -sign
        control = self.office.receivables if sales else self.office.payables
        details = [self.detail(refs, line, -sign, kind) for line in record.lines]
        total = Line(
            type="total",
            dim1=control,
            dim2=self.contact(refs, record.contact),
            value=sign * record.gross,
            base=sign * record.base_gross,
            description=(record.reference or "")[:40] or None,
        )
        return Transaction(
            daybook=self.daybook(record.kind),
            date=record.date,
            period=period_of(record.date),
            currency=record.currency,
            rate=record.exchange_rate,
            invoicenumber=self.number(request)[:40],
            duedate=record.due_date,
            lines=(total, *details, *vat_lines(details, self.office.vat_accounts())),
        )

    def find(self, request: LoadRequest, refs: References) -> str | None:
        """The document is found again by its invoice number in its day book (and our stamp)."""
        record = request.record
        assert isinstance(record, Invoice | CreditNote)
        mark = stamp(request.idempotency_key)
        columns = [
            ("fin.trs.head.code", "equal", self.daybook(record.kind), None),
            ("fin.trs.line.invnumber", "equal", self.number(request)[:40], None),
            ("fin.trs.line.freetext1", None, None, None),
        ]
        for found in transactions_from_browse(self.client.browse("000", columns)):
            if found.stamp == mark:
                return found.id
        return None


class InvoiceHandler(DocumentHandler):
    entity = "invoices"


class CreditNoteHandler(DocumentHandler):
    entity = "credit_notes"


class OpenItemHandler(_Posting):
    """An item outstanding at the opening date, in period 00 of its day book."""

    entity = "open_items"

    def transaction(self, request: LoadRequest, refs: References) -> Transaction:
        record = request.record
        assert isinstance(record, OpenItem)
        sales = record.kind.ledger is DocumentKind.SALES
        # What adds to a customer's balance is a debit; to a supplier's, a credit.
        sign = 1 if record.kind.increases_balance else -1
        if not sales:
            sign = -sign
        clearing = self.ensure_clearing()
        options = self.ctx.options
        return Transaction(
            daybook=options.sales_daybook if sales else options.purchase_daybook,
            date=record.date,
            period=period_of(record.date, opening=True),
            currency=record.currency,
            rate=record.exchange_rate,
            invoicenumber=(record.number or stamp(request.idempotency_key))[:40],
            duedate=record.due_date,
            lines=(
                Line(
                    type="total",
                    dim1=self.office.receivables if sales else self.office.payables,
                    dim2=self.contact(refs, record.contact),
                    value=sign * record.outstanding,
                    base=sign * record.base_outstanding,
                    description=(record.description or "")[:40] or None,
                ),
                Line(
                    type="detail",
                    dim1=clearing,
                    value=-sign * record.outstanding,
                    base=-sign * record.base_outstanding,
                    description="Opening balance",
                ),
            ),
        )


class OpeningBalanceHandler(_Posting):
    """One trial-balance line as a memorial transaction in period 00; control lines are held
    by the open items (their sum is read back as the line)."""

    entity = "opening_balances"

    def held(self, request: LoadRequest, refs: References) -> Held | None:
        record = request.record
        assert isinstance(record, OpeningBalance)
        role = self.role(refs, record.account)
        if role not in _CONTROL_ROLES:
            return None
        account = (
            self.office.receivables if role is ControlRole.RECEIVABLES else self.office.payables
        )
        note = "held by the open items on the account, read back as their sum"
        return Held(LoadResult(ok=True, target_id=f"control:{account}", warnings=(note,)))

    def transaction(self, request: LoadRequest, refs: References) -> Transaction:
        record = request.record
        assert isinstance(record, OpeningBalance)
        clearing = self.ensure_clearing()
        account = self.account(refs, record.account)
        return Transaction(
            daybook=self.ctx.options.journal_daybook,
            date=record.as_of,
            period=period_of(record.as_of, opening=True),
            currency=self.office.info()[1],
            lines=(
                Line(
                    type="detail",
                    dim1=account,
                    value=record.balance,
                    base=record.balance,
                    description="Opening balance",
                ),
                Line(
                    type="detail",
                    dim1=clearing,
                    value=-record.balance,
                    base=-record.balance,
                    description="Opening balance",
                ),
            ),
        )


DOCUMENT_HANDLERS: tuple[type[TransactionHandler], ...] = (
    OpeningBalanceHandler,
    InvoiceHandler,
    OpenItemHandler,
    CreditNoteHandler,
)
