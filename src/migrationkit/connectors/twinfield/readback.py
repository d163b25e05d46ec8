"""Reading transactions back as canonical records, from browse data (code 000).

Browse data answers one row per transaction line with the columns asked for
(:data:`~.mapping.BROWSE_FIELDS`); the rows group back into transactions, and each transaction
is recognised by its day book and its lines:

- sales and purchase day books: an invoice or a credit note (by the side of its total line),
  or, in period 00, an open item;
- bank and cash books: a payment or refund (detail lines on the debtors or creditors account
  naming a customer or supplier), a transfer (a detail line on another bank book's account) or
  a bank transaction;
- the memorial: a journal, or in period 00 an opening balance (the debtors and creditors
  opening balances are the sums of the open items).

A transaction reversed by a counter-entry is left out, and so is the counter-entry: together
they are nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from decimal import Decimal

from migrationkit.core.model import (
    Allocation,
    BankTransaction,
    BankTransactionKind,
    BankTransfer,
    CreditNote,
    DocumentKind,
    DocumentLine,
    Invoice,
    JournalLine,
    ManualJournal,
    OpeningBalance,
    OpenItem,
    OpenItemKind,
    Payment,
    PaymentKind,
    Record,
    Refund,
    RefundKind,
    TrackingAssignment,
)

from .mapping import BROWSE_FIELDS, Line, Transaction, transactions_from_browse
from .masters import Context

__all__ = ["Readback", "browse_transactions", "classify"]

_ZERO = Decimal(0)


def _rate(txn: Transaction, value: Decimal, base: Decimal) -> Decimal:
    if txn.rate is not None and txn.rate > 0:
        return txn.rate.normalize() if txn.rate == txn.rate.to_integral() else txn.rate
    if base and value:
        return abs(value / base)
    return Decimal(1)


class Readback:
    """The office's transactions, grouped and recognised, for one extraction."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.office = ctx.office
        options = ctx.options
        self.sales = options.sales_daybook
        self.purchase = options.purchase_daybook
        self.journal = options.journal_daybook
        books = self.office.bank_books()
        self.banks = {book.code: book for book in books}
        self.bank_accounts = {book.account: book.code for book in books if book.account}
        self.clearing = options.opening_balance_account
        self.pairs = self.office.vat_pairs()

    def _tracking(self, line: Line) -> tuple[TrackingAssignment, ...]:
        if line.dim2 and line.dim2 in self.office.codes("KPL"):
            return (TrackingAssignment(category="KPL", option=line.dim2),)
        return ()

    def transactions(self) -> list[Transaction]:
        """The office's transactions, less reversed pairs; one browse until the next write."""
        cached = self.ctx.read_cache.get("transactions")
        if cached is not None and cached[0] == self.ctx.client.writes:
            found: list[Transaction] = cached[1]
        else:
            found = browse_transactions(self.ctx)
            self.ctx.read_cache["transactions"] = (self.ctx.client.writes, found)
        reversed_ids = {t.reverses for t in found if t.reverses}
        return [t for t in found if t.reverses is None and t.id not in reversed_ids]

    def classify(self, txn: Transaction) -> str | None:
        return classify(self, txn)

    def records(self, entity: str) -> Iterator[Record]:
        transactions = self.transactions()
        index = self._documents(transactions)
        controls: defaultdict[str, Decimal] = defaultdict(Decimal)
        opening_dates = []
        for txn in transactions:
            kind = self.classify(txn)
            if kind == "open_items":
                total = txn.of_type("total")[0]
                controls[total.dim1] += total.base
            if kind == "opening_balances":
                opening_dates.append(txn.date)
            if kind != entity:
                continue
            record = self._record(kind, txn, index)
            if record is not None:
                yield record
        if entity == "opening_balances" and controls:
            as_of = max(opening_dates) if opening_dates else None
            for account, balance in sorted(controls.items()):
                if as_of is not None:
                    yield OpeningBalance(
                        key=f"control:{account}", account=account, as_of=as_of, balance=balance
                    )

    def _documents(self, transactions: list[Transaction]) -> dict[tuple[str, str], tuple[str, str]]:
        """(contact, invoice number) → (entity, target id), for payments' allocations."""
        index = {}
        for txn in transactions:
            kind = self.classify(txn)
            if kind in ("invoices", "credit_notes", "open_items") and txn.invoicenumber:
                total = txn.of_type("total")[0]
                index[(total.dim2 or "", txn.invoicenumber)] = (kind, txn.id)
                self.office.invoice_numbers[txn.id] = txn.invoicenumber
        return index

    def _record(
        self, kind: str, txn: Transaction, index: dict[tuple[str, str], tuple[str, str]]
    ) -> Record | None:
        if kind in ("invoices", "credit_notes"):
            return self._document(kind, txn)
        if kind == "open_items":
            return self._open_item(txn)
        if kind == "opening_balances":
            line = next((x for x in txn.lines if x.dim1 != self.clearing), None)
            if line is None:
                return None
            return OpeningBalance(key=txn.id, account=line.dim1, as_of=txn.date, balance=line.base)
        if kind in ("payments", "refunds"):
            return self._money(kind, txn, index)
        if kind == "bank_transfers":
            return self._transfer(txn)
        if kind == "bank_transactions":
            return self._bank_transaction(txn)
        if kind == "manual_journals":
            return ManualJournal(
                key=txn.id,
                date=txn.date,
                narration=txn.lines[0].description or "",
                lines=tuple(
                    JournalLine(
                        account=x.dim1,
                        amount=x.base,
                        description=x.description or "",
                        tracking=self._tracking(x),
                    )
                    for x in txn.lines
                ),
            )
        return None

    def _document_lines(self, txn: Transaction, sign: int) -> tuple[DocumentLine, ...]:
        return tuple(
            DocumentLine(
                description=x.description or "",
                account=x.dim1,
                tax_rate=self.pairs.get(x.vatcode) if x.vatcode else None,
                net=sign * x.value,
                tax=sign * (x.vat or _ZERO),
                base_net=sign * x.base,
                base_tax=sign * (x.vat_base or _ZERO),
                tracking=self._tracking(x),
            )
            for x in txn.of_type("detail")
        )

    def _document(self, kind: str, txn: Transaction) -> Record:
        total = txn.of_type("total")[0]
        sales = txn.daybook == self.sales
        sign = 1 if sales else -1
        if kind == "credit_notes":
            sign = -sign
        common = {
            "key": txn.id,
            "kind": DocumentKind.SALES if sales else DocumentKind.PURCHASE,
            "number": txn.invoicenumber,
            "contact": total.dim2 or "",
            "date": txn.date,
            "due_date": txn.duedate,
            "reference": total.description,
            "currency": txn.currency,
            "exchange_rate": _rate(txn, total.value, total.base),
            "lines": self._document_lines(txn, -sign),
        }
        if kind == "credit_notes":
            return CreditNote(**common)  # type: ignore[arg-type]
        return Invoice(**common)  # type: ignore[arg-type]

    def _open_item(self, txn: Transaction) -> OpenItem:
        total = txn.of_type("total")[0]
        sales = txn.daybook == self.sales
        debit = total.value > 0 or (total.value == 0 and total.base >= 0)
        if sales:
            kind = OpenItemKind.SALES_INVOICE if debit else OpenItemKind.SALES_CREDIT
        else:
            kind = OpenItemKind.PURCHASE_CREDIT if debit else OpenItemKind.PURCHASE_INVOICE
        return OpenItem(
            key=txn.id,
            kind=kind,
            contact=total.dim2 or "",
            number=txn.invoicenumber,
            description=total.description,
            date=txn.date,
            due_date=txn.duedate,
            currency=txn.currency,
            exchange_rate=_rate(txn, total.value, total.base),
            gross=abs(total.value),
            outstanding=abs(total.value),
            base_outstanding=abs(total.base),
        )

    def _money(
        self, kind: str, txn: Transaction, index: dict[tuple[str, str], tuple[str, str]]
    ) -> Record:
        total = txn.of_type("total")[0]
        details = txn.of_type("detail")
        contact = details[0].dim2 or ""
        customer = details[0].dim1 == self.office.receivables
        common = {
            "key": txn.id,
            "contact": contact,
            "bank_account": txn.daybook,
            "date": txn.date,
            "reference": total.description,
            "currency": txn.currency,
            "exchange_rate": _rate(txn, total.value, total.base),
            "amount": abs(total.value),
            "base_amount": abs(total.base),
        }
        if kind == "refunds":
            refund_kind = RefundKind.CUSTOMER_REFUND if customer else RefundKind.SUPPLIER_REFUND
            return Refund(
                kind=refund_kind,
                description=details[0].description,
                **common,  # type: ignore[arg-type]
            )
        allocations = []
        for line in details:
            if line.invoicenumber and (contact, line.invoicenumber) in index:
                entity, target = index[(contact, line.invoicenumber)]
                allocations.append(
                    Allocation(document_entity=entity, document=target, amount=abs(line.value))
                )
        return Payment(
            kind=PaymentKind.CUSTOMER_RECEIPT if customer else PaymentKind.SUPPLIER_PAYMENT,
            description=details[0].description,
            allocations=tuple(allocations),
            **common,  # type: ignore[arg-type]
        )

    def _transfer(self, txn: Transaction) -> BankTransfer:
        total = txn.of_type("total")[0]
        detail = txn.of_type("detail")[0]
        return BankTransfer(
            key=txn.id,
            from_bank_account=txn.daybook,
            to_bank_account=self.bank_accounts[detail.dim1],
            date=txn.date,
            amount=abs(total.value),
            currency=txn.currency,
            reference=total.description,
            description=detail.description,
        )

    def _bank_transaction(self, txn: Transaction) -> BankTransaction:
        total = txn.of_type("total")[0]
        spend = total.value < 0 or (total.value == 0 and total.base <= 0)
        sign = 1 if spend else -1
        return BankTransaction(
            key=txn.id,
            kind=BankTransactionKind.SPEND if spend else BankTransactionKind.RECEIVE,
            bank_account=txn.daybook,
            date=txn.date,
            reference=total.description,
            currency=txn.currency,
            exchange_rate=_rate(txn, total.value, total.base),
            lines=self._document_lines(txn, sign),
        )


def classify(readback: Readback, txn: Transaction) -> str | None:
    """Which canonical entity a transaction is."""
    if txn.daybook in (readback.sales, readback.purchase):
        if txn.opening:
            return "open_items"
        totals = txn.of_type("total")
        if not totals:
            return None
        debit = totals[0].value > 0 or (totals[0].value == 0 and totals[0].base >= 0)
        sales_side = txn.daybook == readback.sales
        return "invoices" if debit == sales_side else "credit_notes"
    if txn.daybook == readback.journal:
        return "opening_balances" if txn.opening else "manual_journals"
    if txn.daybook in readback.banks:
        details = txn.of_type("detail")
        office = readback.office
        if details and details[0].dim1 in (office.receivables, office.payables):
            total = txn.of_type("total")[0]
            money_in = total.value > 0 or (total.value == 0 and total.base > 0)
            customer = details[0].dim1 == office.receivables
            return "payments" if money_in == customer else "refunds"
        if (
            len(details) == 1
            and details[0].dim1 in readback.bank_accounts
            and not details[0].vatcode
        ):
            return "bank_transfers"
        return "bank_transactions"
    return None


def browse_transactions(
    ctx: Context, extra: Sequence[tuple[str, str | None, str | None, str | None]] = ()
) -> list[Transaction]:
    """Every transaction of the office (browse code 000), grouped from its lines."""
    columns = [(field, None, None, None) for field in BROWSE_FIELDS]
    return transactions_from_browse(ctx.client.browse("000", [*columns, *extra]))
