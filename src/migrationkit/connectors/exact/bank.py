"""Handlers for bank and cash entries: payments, refunds, bank payments and receipts, transfers.

Each record is one entry in its bank's journal (``financialtransaction/BankEntries``, or
``CashEntries`` for a cash journal); Exact chains the statements' opening and closing balances
itself. A payment has a line on the relation per invoice it settles, matched by ``OurRef`` (the
invoice's entry number), and a line for what stays on account. A transfer is two entries through
the transfer account. Bank entries have no ``PUT``: a change deletes the entry and enters it
again. Every entry's first line carries the write's stamp in ``Notes``, which is how a create
whose answer was lost is found again.

Reading, an entry's lines are grouped into records: an entry written by the connector is one
record; lines of another statement go together while they share the relation and the date.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from migrationkit.core.capabilities import Removal
from migrationkit.core.contract import (
    LoadRequest,
    LoadResult,
    Problem,
    References,
    Rejected,
    RemovalRequest,
    RemovalResult,
)
from migrationkit.core.model import (
    Allocation,
    BankTransaction,
    BankTransfer,
    Payment,
    PaymentKind,
    Record,
    Refund,
    RefundKind,
)
from migrationkit.handlers import Assembly

from . import mapping, wire
from .base import text
from .documents import PURCHASES, SALES, Endpoint, EntryReader, split

__all__ = ["BANK_HANDLERS"]

_BANK_LINE = (
    "ID",
    "LineNumber",
    "Date",
    "GLAccount",
    "Account",
    "AmountFC",
    "AmountDC",
    "AmountVATFC",
    "VATCode",
    "Description",
    "Notes",
    "OurRef",
    "ExchangeRate",
    "Quantity",
    "CostCenter",
    "CostUnit",
)
_BANK_HEADER = ("EntryID", "EntryNumber", "JournalCode", "Currency", "Status")
BANK = Endpoint(
    "bank",
    "financialtransaction/BankEntries",
    "BankEntryLines",
    journal_field="JournalCode",
    header=_BANK_HEADER,
    line_fields=_BANK_LINE,
)
CASH = Endpoint(
    "cash",
    "financialtransaction/CashEntries",
    "CashEntryLines",
    journal_field="JournalCode",
    header=_BANK_HEADER,
    line_fields=_BANK_LINE,
)
_BY_PREFIX = {"bank": BANK, "cash": CASH}


def _total(lines: Sequence[Mapping[str, Any]], field: str = "AmountFC") -> Decimal:
    return sum((wire.money(x.get(field)) for x in lines), Decimal(0))


class BankHandler(EntryReader):
    """What the four bank-entry handlers share: the journal's endpoint, grouping, finding."""

    def endpoint(self, journal: str) -> Endpoint:
        found = self.division.journals.get(journal) or {}
        return CASH if int(found.get("Type") or 12) == 10 else BANK

    def bank_check(self, bank: str, currency: str, refs: References) -> list[Problem]:
        journal = self.division.journals.get(refs.target_id("bank_accounts", bank) or "")
        if journal is None or currency == journal.get("Currency"):
            return []
        if journal.get("AllowVariableCurrency"):
            return []
        return [
            Problem(
                code="BANK_CURRENCY_DIFFERS",
                message=f"it is in {currency} and Exact's journal {text(journal['Code'])} takes "
                f"only {journal.get('Currency')}",
            )
        ]

    def post_entry(
        self, journal: str, currency: str, lines: list[dict[str, Any]], warnings: tuple[str, ...]
    ) -> LoadResult:
        endpoint = self.endpoint(journal)
        body = {"JournalCode": journal, "Currency": currency, endpoint.lines: lines}
        _reply, result = self.post(endpoint.path, mapping.Written(body, warnings), key="EntryID")
        if result.ok and result.target_id:
            return LoadResult(
                ok=True,
                target_id=mapping.entry_key(endpoint.prefix, result.target_id),
                warnings=result.warnings,
            )
        return result

    def find_stamped(self, journal: str, date: dt.date, tag: str) -> str | None:
        endpoint = self.endpoint(journal)
        found = self.stamped_entry(endpoint, date, tag)
        return mapping.entry_key(endpoint.prefix, found) if found else None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        result = RemovalResult(removed=True)
        for part in request.target_id.split("+"):
            prefix, key = split(part)
            result = self.delete(_BY_PREFIX[prefix].path, key)
            if not result.removed:
                return result
        return result

    # -- reading -----------------------------------------------------------------------------------

    def groups(
        self, since: dt.datetime | None
    ) -> Iterator[tuple[str, str, str, list[dict[str, Any]]]]:
        """``(key, journal, currency, lines)`` of every record the bank entries hold."""
        for endpoint in (BANK, CASH):
            for row in self.entries(endpoint, since):
                lines = row.get(endpoint.lines) or []
                if not lines:
                    continue
                key = mapping.entry_key(endpoint.prefix, str(row["EntryID"]))
                journal, currency = text(row.get("JournalCode")), str(row.get("Currency"))
                if mapping.read_notes(lines[0].get("Notes"))[0]:
                    yield key, journal, currency, lines
                    continue
                parts: list[list[dict[str, Any]]] = []
                for line in lines:
                    if parts and (parts[-1][0].get("Account"), parts[-1][0].get("Date")) == (
                        line.get("Account"),
                        line.get("Date"),
                    ):
                        parts[-1].append(line)
                    else:
                        parts.append([line])
                for n, part in enumerate(parts):
                    yield (key if len(parts) == 1 else f"{key}:{n}"), journal, currency, part

    def kind_of(self, lines: Sequence[Mapping[str, Any]]) -> str:
        """Which entity a group of bank lines is."""
        transit = self.division.gl_accounts.get(self.ctx.options.transfer_account.strip(), {})
        if transit and any(x.get("GLAccount") == transit.get("ID") for x in lines):
            return "bank_transfers"
        types = {
            int((self.division.gl_by_id(str(x.get("GLAccount"))) or {}).get("Type") or 0)
            for x in lines
        }
        if all(x.get("Account") for x in lines) and types <= {20, 22} and len(types) == 1:
            sales = types == {20}
            money_in = _total(lines) > 0
            return "payments" if money_in is sales else "refunds"
        return "bank_transactions"

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        for key, journal, currency, lines in self.groups(since):
            if self.kind_of(lines) == self.entity:
                yield from self.read(key, journal, currency, lines)

    def read(
        self, key: str, journal: str, currency: str, lines: list[dict[str, Any]]
    ) -> Iterator[Any]:
        yield mapping.read_bank_transaction(key, lines, journal, currency)

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return iter(())


class _RelationEntries(BankHandler):
    """Payments and refunds: lines on a relation's receivables or payables account."""

    def header(
        self, key: str, journal: str, currency: str, lines: list[dict[str, Any]]
    ) -> dict[str, Any]:
        total, base = _total(lines), _total(lines, "AmountDC")
        _tag, fields = mapping.read_notes(lines[0].get("Notes"))
        sales = (self.division.gl_by_id(str(lines[0].get("GLAccount"))) or {}).get("Type") == 20
        return {
            "key": key,
            "contact": str(lines[0]["Account"]),
            "bank_account": journal,
            "date": wire.opt_date(lines[0].get("Date")),
            "reference": fields.get("reference"),
            "description": lines[0].get("Description"),
            "currency": currency,
            "exchange_rate": mapping.exchange_rate_of(lines[0].get("ExchangeRate")),
            "amount": abs(total),
            "base_amount": abs(base),
            "_sales": sales,
            "_in": total > 0,
        }

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, Payment | Refund)
        problems = self.bank_check(record.bank_account, record.currency, refs)
        if record.amount <= 0:
            problems.append(Problem(code="NO_AMOUNT", message="Exact needs an amount"))
        return problems

    def _send(
        self,
        request: LoadRequest,
        refs: References,
        matched: list[tuple[int, Decimal]],
        warnings: tuple[str, ...],
    ) -> LoadResult:
        record = request.record
        assert isinstance(record, Payment | Refund)
        journal = self.resolve(refs, "bank_accounts", record.bank_account)
        lines = mapping.payment_lines(
            record,
            contact=self.resolve(refs, "contacts", record.contact),
            control=self.division.control(record.kind.ledger.value == "sales"),
            matched=matched,
            tag=mapping.stamp(request.idempotency_key),
        )
        return self.post_entry(journal, record.currency, lines, warnings)

    def find(self, request: LoadRequest, refs: References) -> str | None:
        record = request.record
        assert isinstance(record, Payment | Refund)
        journal = self.resolve(refs, "bank_accounts", record.bank_account)
        return self.find_stamped(journal, record.date, mapping.stamp(request.idempotency_key))


class PaymentHandler(_RelationEntries):
    """Receipts and supplier payments, each invoice settled matched by ``OurRef``."""

    entity = "payments"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._index: dict[tuple[str, int], tuple[str, str]] = {}

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, Payment)
        problems = super().check(record, refs)
        if record.unallocated < 0:
            problems.append(
                Problem(
                    code="OVER_ALLOCATED", message=f"it allocates more than its {record.amount}"
                )
            )
        return problems

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, Payment)
        matched: list[tuple[int, Decimal]] = []
        warnings = []
        for allocation in record.allocations:
            number = None
            if allocation.document_entity in ("invoices", "open_items", "credit_notes"):
                target = self.resolve(refs, allocation.document_entity, allocation.document)
                number = self.entry_number(target)
            if number is None:
                warnings.append(
                    f"{allocation.amount} against {allocation.document_entity} "
                    f"{allocation.document} stays on account: Exact matches payments to entries"
                )
                continue
            matched.append((number, allocation.amount))
        return self._send(request, refs, matched, tuple(warnings))

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        # What each OurRef names, read once for the whole extraction.
        self._index = self.documents()
        try:
            yield from super().extract(since)
        finally:
            self._index = {}

    def read(
        self, key: str, journal: str, currency: str, lines: list[dict[str, Any]]
    ) -> Iterator[Any]:
        values = self.header(key, journal, currency, lines)
        sales = values.pop("_sales")
        values.pop("_in")
        index = self._index or self.documents()
        allocations: dict[tuple[str, str], Decimal] = {}
        dates: dict[tuple[str, str], dt.date | None] = {}
        for line in lines:
            if line.get("OurRef") is None:
                continue
            found = index.get((str(line["Account"]), int(line["OurRef"])))
            if found is None:
                continue
            allocations[found] = allocations.get(found, Decimal(0)) + abs(
                wire.money(line["AmountFC"])
            )
            dates[found] = wire.opt_date(line.get("Date"))
        yield Payment(
            kind=PaymentKind.CUSTOMER_RECEIPT if sales else PaymentKind.SUPPLIER_PAYMENT,
            allocations=tuple(
                Allocation(
                    document_entity=entity,
                    document=document,
                    amount=amount,
                    date=dates[(entity, document)],
                )
                for (entity, document), amount in allocations.items()
            ),
            **values,
        )

    def documents(self) -> dict[tuple[str, int], tuple[str, str]]:
        """``(relation, entry number) → (entity, key)`` of every sales and purchase entry."""
        found: dict[tuple[str, int], tuple[str, str]] = {}
        for endpoint in (SALES, PURCHASES):
            for row in self.entries(endpoint, None):
                key = mapping.entry_key(endpoint.prefix, str(row["EntryID"]))
                if self.opening_entry(row, endpoint):
                    entity = "open_items"
                elif row.get("Type") in (21, 31):
                    entity = "credit_notes"
                else:
                    entity = "invoices"
                relation = str(row[endpoint.contact])
                found[(relation, int(row["EntryNumber"]))] = (entity, key)
        return found


class RefundHandler(_RelationEntries):
    """Money paid back to a customer or received back from a supplier."""

    entity = "refunds"

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        return self._send(request, refs, [], ())

    def read(
        self, key: str, journal: str, currency: str, lines: list[dict[str, Any]]
    ) -> Iterator[Any]:
        values = self.header(key, journal, currency, lines)
        sales = values.pop("_sales")
        values.pop("_in")
        yield Refund(
            kind=RefundKind.CUSTOMER_REFUND if sales else RefundKind.SUPPLIER_REFUND, **values
        )


class BankTransactionHandler(BankHandler):
    """Bank payments and receipts without an invoice: lines on G/L accounts, with VAT."""

    entity = "bank_transactions"

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, BankTransaction)
        problems = self.bank_check(record.bank_account, record.currency, refs)
        if not record.lines:
            problems.append(Problem(code="NO_LINES", message="an Exact entry needs a line"))
        rate = mapping.rate_of(record.exchange_rate) if record.exchange_rate != 1 else Decimal(1)
        if any(mapping.bank_vat_base(line.tax, rate) != line.base_tax for line in record.lines):
            problems.append(
                Problem(
                    code="BANK_VAT_BASE_DIFFERS",
                    message="Exact works out a bank line's VAT in the base currency itself, "
                    "and its amount would differ from the source's",
                )
            )
        return problems

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, BankTransaction)
        journal = self.resolve(refs, "bank_accounts", record.bank_account)
        lines = mapping.bank_transaction_lines(
            record, self.resolver(refs), mapping.stamp(request.idempotency_key)
        )
        return self.post_entry(journal, record.currency, lines, ())

    def find(self, request: LoadRequest, refs: References) -> str | None:
        record = request.record
        assert isinstance(record, BankTransaction)
        journal = self.resolve(refs, "bank_accounts", record.bank_account)
        return self.find_stamped(journal, record.date, mapping.stamp(request.idempotency_key))


class TransferHandler(BankHandler):
    """Money between two of the company's banks: out to the transfer account, in from it."""

    entity = "bank_transfers"

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, BankTransfer)
        base = self.division.currency
        currencies = {record.currency}
        for bank in (record.from_bank_account, record.to_bank_account):
            journal = self.division.journals.get(refs.target_id("bank_accounts", bank) or "")
            if journal is not None:
                currencies.add(str(journal.get("Currency")))
        if currencies != {base}:
            return [
                Problem(
                    code="FOREIGN_BANK_TRANSFER",
                    message="it involves a bank or amount not in the base currency; a transfer "
                    "carries one amount and no exchange rate",
                )
            ]
        return []

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        """Out of one bank, into the other; both land, or what landed is taken back."""
        record = request.record
        assert isinstance(record, BankTransfer)
        tag = mapping.stamp(request.idempotency_key)
        parts = Assembly()
        for out, bank in ((True, record.from_bank_account), (False, record.to_bank_account)):
            journal = self.resolve(refs, "bank_accounts", bank)
            half = tag + ("-out" if out else "-in")
            found = self.find_stamped(journal, record.date, half)
            if found is None:
                line = mapping.transfer_line(record, self.division.transfer_account(), half, out)
                result = self.post_entry(journal, record.currency, [line], ())
                if not result.ok or not result.target_id:
                    return parts.fail(result)
                found = result.target_id
            removal = RemovalRequest(key=record.key, target_id=found, actions=(Removal.DELETE,))
            parts.add(found, functools.partial(self.remove, removal))
        return LoadResult(ok=True, target_id=parts.target_id)

    def find(self, request: LoadRequest, refs: References) -> str | None:
        record = request.record
        assert isinstance(record, BankTransfer)
        tag = mapping.stamp(request.idempotency_key)
        out = self.find_stamped(
            self.resolve(refs, "bank_accounts", record.from_bank_account), record.date, tag + "-out"
        )
        if out is None:
            return None
        # The first half landed: finish the write (the second half, if its answer was lost too).
        result = self.create(request, refs)
        return result.target_id if result.ok else None

    def extract(self, since: dt.datetime | None) -> Iterator[Any]:
        halves: dict[str, tuple[str, str, str, list[dict[str, Any]]]] = {}
        loose: list[tuple[str, str, str, list[dict[str, Any]]]] = []
        for key, journal, currency, lines in self.groups(since):
            if self.kind_of(lines) != self.entity:
                continue
            tag, _fields = mapping.read_notes(lines[0].get("Notes"))
            if tag and tag.endswith(("-out", "-in")):
                halves[tag] = (key, journal, currency, lines)
            else:
                loose.append((key, journal, currency, lines))
        for tag, out in halves.items():
            if tag.endswith("-out"):
                into = halves.get(tag[: -len("-out")] + "-in")
                if into is not None:
                    yield self._transfer(out, into)
                else:
                    yield self._unpaired(out[0])
        for tag, into in halves.items():
            if tag.endswith("-in") and tag[: -len("-in")] + "-out" not in halves:
                yield self._unpaired(into[0])
        yield from self._pair_loose(loose)

    def _pair_loose(self, loose: list[tuple[str, str, str, list[dict[str, Any]]]]) -> Iterator[Any]:
        """Transfers entered by hand: an amount out and the same in, on the same day."""
        outs = [g for g in loose if _total(g[3]) < 0]
        ins = [g for g in loose if _total(g[3]) > 0]
        for out in outs:
            date, amount = out[3][0].get("Date"), -_total(out[3])
            into = next(
                (g for g in ins if g[3][0].get("Date") == date and _total(g[3]) == amount), None
            )
            if into is None:
                yield self._unpaired(out[0])
                continue
            ins.remove(into)
            yield self._transfer(out, into)
        for into in ins:
            yield self._unpaired(into[0])

    def _transfer(
        self,
        out: tuple[str, str, str, list[dict[str, Any]]],
        into: tuple[str, str, str, list[dict[str, Any]]],
    ) -> BankTransfer:
        _tag, fields = mapping.read_notes(out[3][0].get("Notes"))
        return BankTransfer(
            key=f"{out[0]}+{into[0]}",
            from_bank_account=out[1],
            to_bank_account=into[1],
            date=wire.required_date(out[3][0].get("Date")),
            amount=-_total(out[3]),
            currency=out[2],
            reference=fields.get("reference"),
            description=out[3][0].get("Description"),
        )

    def _unpaired(self, key: str) -> Rejected:
        return Rejected(
            entity=self.entity,
            key=key,
            code="UNPAIRED_TRANSFER",
            message="a line on the transfer account without its other half",
        )


BANK_HANDLERS: tuple[type[BankHandler], ...] = (
    RefundHandler,
    PaymentHandler,
    BankTransactionHandler,
    TransferHandler,
)
