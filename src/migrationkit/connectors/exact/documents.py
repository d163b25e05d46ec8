"""Handlers for sales and purchase entries: invoices, credit notes, open items, and opening
balances (general journal entries in the opening journal).

Exactly once without an idempotency key: a numeric source number is kept as the entry's
``EntryNumber``, which Exact keeps unique per journal, and the first line's ``Notes`` carries the
write's stamp; :meth:`find` looks for the entry of that contact, journal and date with the stamp.
Entries are read with their lines expanded (60 a page); a delta reads again only the entries
whose transaction lines changed since the last run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from migrationkit.core.capabilities import Removal
from migrationkit.core.contract import (
    LoadRequest,
    LoadResult,
    Problem,
    References,
    RemovalRequest,
    RemovalResult,
)
from migrationkit.core.model import (
    CreditNote,
    DocumentKind,
    DocumentStatus,
    Invoice,
    OpeningBalance,
    OpenItem,
    Record,
)

from . import mapping, wire
from .base import ExactHandler, refused, text
from .client import Reply

__all__ = ["DOCUMENT_HANDLERS", "GENERAL", "PURCHASES", "SALES", "Endpoint", "EntryReader"]

MAX_ENTRY_NUMBER = 2**31 - 1
IDS_PER_FILTER = 20


@attrs.frozen
class Endpoint:
    """One kind of entry: where it lives and what its lines and relation are called."""

    prefix: str
    path: str
    lines: str
    contact: str = ""
    journal_field: str = "Journal"
    journal_option: str = ""
    header: tuple[str, ...] = ()
    line_fields: tuple[str, ...] = ()

    @property
    def select(self) -> tuple[str, ...]:
        return (*self.header, self.lines, *(f"{self.lines}/{f}" for f in self.line_fields))

    @property
    def line_path(self) -> str:
        return self.path.rsplit("/", 1)[0] + "/" + self.lines


_DOCUMENT_HEADER = (
    "EntryID",
    "EntryNumber",
    "Journal",
    "Type",
    "EntryDate",
    "DueDate",
    "YourRef",
    "PaymentReference",
    "Description",
    "Currency",
    "Rate",
    "Status",
)
_DOCUMENT_LINE = (
    "ID",
    "LineNumber",
    "GLAccount",
    "AmountFC",
    "AmountDC",
    "VATCode",
    "VATAmountFC",
    "VATAmountDC",
    "Description",
    "Quantity",
    "CostCenter",
    "CostUnit",
    "Notes",
)
SALES = Endpoint(
    "sales",
    "salesentry/SalesEntries",
    "SalesEntryLines",
    "Customer",
    journal_option="sales_journal",
    header=(*_DOCUMENT_HEADER, "Customer"),
    line_fields=_DOCUMENT_LINE,
)
PURCHASES = Endpoint(
    "purchase",
    "purchaseentry/PurchaseEntries",
    "PurchaseEntryLines",
    "Supplier",
    journal_option="purchase_journal",
    header=(*_DOCUMENT_HEADER, "Supplier"),
    line_fields=_DOCUMENT_LINE,
)
GENERAL = Endpoint(
    "general",
    "generaljournalentry/GeneralJournalEntries",
    "GeneralJournalEntryLines",
    journal_field="JournalCode",
    header=("EntryID", "EntryNumber", "JournalCode", "Type", "Currency", "Status"),
    line_fields=(
        "ID",
        "LineNumber",
        "Date",
        "GLAccount",
        "Account",
        "AmountFC",
        "AmountDC",
        "Description",
        "Notes",
        "CostCenter",
        "CostUnit",
    ),
)
ENDPOINTS = {e.prefix: e for e in (SALES, PURCHASES, GENERAL)}


_TEXTS = ("YourRef", "PaymentReference", "Description", "DueDate")
"""What a sales or purchase entry may change once processed or matched."""
_FIXED = ("Type", "Currency")
_LINE_VALUES = (
    "GLAccount",
    "AmountFC",
    "AmountDC",
    "VATCode",
    "VATAmountFC",
    "VATAmountDC",
    "Quantity",
    "CostCenter",
    "CostUnit",
    "Description",
)


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, Decimal | int) or isinstance(right, Decimal | int):
        return wire.opt_money(left) == wire.opt_money(right)
    return (left or None) == (right or None)


def _same_amounts(current: Mapping[str, Any], body: Mapping[str, Any], endpoint: Endpoint) -> bool:
    """Whether an update leaves the entry's relation, date, currency and lines as they are."""
    if any(not _same(current.get(f), body.get(f)) for f in (endpoint.contact, *_FIXED)):
        return False
    if wire.opt_date(current.get("EntryDate")) != wire.opt_date(body.get("EntryDate")):
        return False
    if wire.money(current.get("Rate") or 1) != wire.money(body.get("Rate") or 1):
        return False
    old, new = current.get(endpoint.lines) or [], body.get(endpoint.lines) or []
    return len(old) == len(new) and all(
        _same(a.get(f), b.get(f)) for a, b in zip(old, new, strict=True) for f in _LINE_VALUES
    )


def split(target_id: str) -> tuple[str, str]:
    prefix, _, key = target_id.partition(":")
    return prefix, key


class EntryReader(ExactHandler):
    """Entries read (all of them, or those changed since the last run), stamps and numbers."""

    def entries(self, endpoint: Endpoint, since: dt.datetime | None) -> Iterator[dict[str, Any]]:
        """Entries of ``endpoint`` with their lines; read once per run and kept for its others."""
        cache = self.ctx.run_cache
        key = (endpoint.path, since)
        if cache is not None and key in cache:
            return iter(cache[key])
        rows = self._read(endpoint, since)
        if cache is None:
            return rows
        cache[key] = list(rows)
        return iter(cache[key])

    def _read(self, endpoint: Endpoint, since: dt.datetime | None) -> Iterator[dict[str, Any]]:
        if since is None:
            self.ctx.feed.mark_now("sync/Financial/TransactionLines")
            yield from self.client.rows(endpoint.path, endpoint.select, expand=endpoint.lines)
            return
        changed = sorted(self.ctx.feed.changed_entries(since))
        for chunk in wire.chunks(changed, IDS_PER_FILTER):
            where = " or ".join(f"EntryID eq {wire.guid_literal(key)}" for key in chunk)
            yield from self.client.rows(
                endpoint.path, endpoint.select, filter=where, expand=endpoint.lines
            )

    def stamped_entry(self, endpoint: Endpoint, date: dt.date, tag: str) -> str | None:
        """The ``EntryID`` of ``date`` whose first notes carry ``tag``: a create that landed."""
        where = f"Date eq {wire.datetime_literal(date)}"
        for row in self.client.rows(endpoint.line_path, ("EntryID", "Notes"), filter=where):
            if mapping.read_notes(row.get("Notes"))[0] == tag:
                return str(row["EntryID"])
        return None

    def opening_entry(self, row: Mapping[str, Any], endpoint: Endpoint) -> bool:
        """Whether a sales or purchase entry is an open item (all lines on the opening account)."""
        opening = self.division.gl_accounts.get(self.ctx.options.opening_account.strip())
        lines = row.get(endpoint.lines) or []
        if opening is None or not lines:
            return False
        return all(line.get("GLAccount") == opening["ID"] for line in lines)

    def stamped(self, endpoint: Endpoint, where: str, tag: str) -> str | None:
        """The entry matching ``where`` whose first line carries ``tag``."""
        for row in self.client.rows(
            endpoint.path,
            (*endpoint.header[:1], endpoint.lines, f"{endpoint.lines}/Notes"),
            filter=where,
            expand=endpoint.lines,
        ):
            lines = row.get(endpoint.lines) or []
            if lines and mapping.read_notes(lines[0].get("Notes"))[0] == tag:
                return mapping.entry_key(endpoint.prefix, str(row["EntryID"]))
        return None

    def entry_number(self, target_id: str) -> int | None:
        """The entry number of an entry this connector wrote or read (``OurRef``)."""
        prefix, key = split(target_id)
        known = self.division.entry_numbers.get(key)
        if known is not None:
            return known
        endpoint = ENDPOINTS.get(prefix)
        if endpoint is None:
            return None
        reply = self.client.send(
            "GET", f"{endpoint.path}(guid'{key}')", params={"$select": "EntryNumber"}
        )
        if not reply.ok:
            return None
        number = int(reply.entity["EntryNumber"])
        self.division.entry_numbers[key] = number
        return number

    def remove_entry(self, target_id: str) -> RemovalResult:
        prefix, key = split(target_id)
        if prefix == "control":
            return RemovalResult(removed=True, action=Removal.DELETE)
        return self.delete(ENDPOINTS[prefix].path, key)

    def deletions_unlisted(self, since: dt.datetime | None) -> str | None:
        """Deleted entries are not named by Exact's deleted log: compare when lines went."""
        reason = self.ctx.feed.window_exceeded(since)
        if reason:
            return reason
        count = self.ctx.feed.lines_deleted(since)
        if count:
            return (
                f"Exact's deleted log lists {count} transaction line(s) deleted since the last "
                "run, and names lines, not entries"
            )
        return None


class DocumentHandler(EntryReader):
    """Sales and purchase entries: invoices (``invoices``) or credit notes (``credit_notes``)."""

    credit: ClassVar[bool] = False

    def _endpoint(self, kind: DocumentKind) -> Endpoint:
        return SALES if kind is DocumentKind.SALES else PURCHASES

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, Invoice | CreditNote)
        problems = []
        if record.status is DocumentStatus.VOIDED:
            problems.append(
                Problem(
                    code="VOIDED_DOCUMENT",
                    message="it is void at the source; Exact keeps no void entries",
                )
            )
        if record.status is DocumentStatus.DRAFT:
            problems.append(
                Problem(
                    code="DRAFT_NOT_SUPPORTED",
                    message="Exact's entries are posted; it keeps no drafts",
                )
            )
        if not record.lines:
            problems.append(Problem(code="NO_LINES", message="an Exact entry needs a line"))
        return problems

    def number_for(
        self, record: Invoice | CreditNote | OpenItem, journal: str
    ) -> tuple[int | None, tuple[str, ...]]:
        """The entry number to keep, or ``None`` (Exact numbers it) with why."""
        number = record.number
        if not (self.ctx.preserve_ids and number and number.isdigit()):
            return None, ()
        value = int(number)
        if not 0 < value <= MAX_ENTRY_NUMBER:
            return None, (f"number {number} is out of Exact's entry number range",)
        if not self.division.take_number(journal, value, record.key):
            return None, (
                f"entry number {value} is taken in journal {journal}; Exact numbered it (the "
                "number is kept in YourRef)",
            )
        return value, ()

    def _write(
        self, request: LoadRequest, refs: References, build: Any
    ) -> tuple[Endpoint, str, mapping.Written]:
        record = request.record
        assert isinstance(record, Invoice | CreditNote | OpenItem)
        ledger = record.kind if not isinstance(record, OpenItem) else record.kind.ledger
        endpoint = self._endpoint(ledger)
        journal = self.division.journal(endpoint.journal_option)
        return endpoint, journal, build(record, endpoint, journal)

    def created(
        self,
        reply: Reply,
        endpoint: Endpoint,
        journal: str,
        written: mapping.Written,
        extra: tuple[str, ...],
    ) -> LoadResult:
        if not reply.ok:
            return refused(reply)
        entry = reply.entity
        self.division.numbered(journal, str(entry["EntryID"]), int(entry["EntryNumber"]))
        return LoadResult(
            ok=True,
            target_id=mapping.entry_key(endpoint.prefix, str(entry["EntryID"])),
            warnings=(*written.warnings, *extra),
        )

    def _send(self, request: LoadRequest, refs: References) -> LoadResult:
        tag = mapping.stamp(request.idempotency_key)
        extra: tuple[str, ...] = ()

        def build(record: Any, endpoint: Endpoint, journal: str) -> mapping.Written:
            nonlocal extra
            number, extra = self.number_for(record, journal)
            return self.payload(record, refs, journal, number, tag)

        endpoint, journal, written = self._write(request, refs, build)
        reply = self.client.send("POST", endpoint.path, body=written.body)
        return self.created(reply, endpoint, journal, written, extra)

    def payload(
        self, record: Any, refs: References, journal: str, number: int | None, tag: str
    ) -> mapping.Written:
        return mapping.document_payload(
            record,
            self.resolver(refs),
            journal=journal,
            base_currency=self.division.currency,
            entry_number=number,
            tag=tag,
        )

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        return self._send(request, refs)

    def update(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, Invoice | CreditNote | OpenItem)
        assert request.target_id, "an update names its target"
        prefix, key = split(request.target_id)
        ledger = record.kind if not isinstance(record, OpenItem) else record.kind.ledger
        endpoint = self._endpoint(ledger)
        if prefix != endpoint.prefix:
            return LoadResult.failed(
                "DOCUMENT_KIND_CHANGED", "it moved between sales and purchases at the source"
            )
        journal = self.division.journal(endpoint.journal_option)
        written = self.payload(record, refs, journal, None, mapping.stamp(request.idempotency_key))
        body = {k: v for k, v in written.body.items() if k not in ("Journal", "EntryNumber")}
        current = self.client.first(
            endpoint.path, endpoint.select, f"EntryID eq {wire.guid_literal(key)}", endpoint.lines
        )
        if current is not None and _same_amounts(current, body, endpoint):
            # Only texts changed: what Exact lets change once a payment matched the entry.
            body = {k: body.get(k) for k in _TEXTS}
        return self.put(
            endpoint.path, key, mapping.Written(body, written.warnings), request.target_id
        )

    def find(self, request: LoadRequest, refs: References) -> str | None:
        record = request.record
        assert isinstance(record, Invoice | CreditNote | OpenItem)
        ledger = record.kind if not isinstance(record, OpenItem) else record.kind.ledger
        endpoint = self._endpoint(ledger)
        journal = str(getattr(self.ctx.options, endpoint.journal_option))
        contact = self.resolve(refs, "contacts", record.contact)
        where = (
            f"Journal eq {wire.string_literal(journal)} and {endpoint.contact} eq "
            f"{wire.guid_literal(contact)} and EntryDate eq {wire.datetime_literal(record.date)}"
        )
        return self.stamped(endpoint, where, mapping.stamp(request.idempotency_key))

    def remove(self, request: RemovalRequest) -> RemovalResult:
        return self.remove_entry(request.target_id)

    def wanted(self, row: Mapping[str, Any], endpoint: Endpoint) -> bool:
        credit = row.get("Type") in (21, 31)
        return credit is self.credit and not self.opening_entry(row, endpoint)

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        for endpoint in (SALES, PURCHASES):
            for row in self.entries(endpoint, since):
                self.division.entry_numbers[str(row["EntryID"])] = int(row["EntryNumber"])
                if self.wanted(row, endpoint):
                    yield self.read(row, endpoint)

    def read(self, row: Mapping[str, Any], endpoint: Endpoint) -> Record:
        return mapping.read_document(row, sales=endpoint is SALES, lines=row[endpoint.lines])

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return iter(())


class InvoiceHandler(DocumentHandler):
    entity = "invoices"


class CreditNoteHandler(DocumentHandler):
    """Credit notes: what they are set against is not matched in Exact (a warning says so)."""

    entity = "credit_notes"
    credit = True

    def payload(
        self, record: Any, refs: References, journal: str, number: int | None, tag: str
    ) -> mapping.Written:
        written = super().payload(record, refs, journal, number, tag)
        if isinstance(record, CreditNote) and record.allocations:
            note = "what it is set against at the source is not matched in Exact: match it there"
            return mapping.Written(written.body, (*written.warnings, note))
        return written


class OpenItemHandler(DocumentHandler):
    """Items outstanding at the opening date: entries against the opening account."""

    entity = "open_items"

    def check(self, record: Record, refs: References) -> list[Problem]:
        return []

    def payload(
        self, record: Any, refs: References, journal: str, number: int | None, tag: str
    ) -> mapping.Written:
        return mapping.open_item_payload(
            record,
            self.resolver(refs),
            journal=journal,
            opening_account=self.division.opening_account(),
            base_currency=self.division.currency,
            entry_number=number,
            tag=tag,
        )

    def wanted(self, row: Mapping[str, Any], endpoint: Endpoint) -> bool:
        return self.opening_entry(row, endpoint)

    def read(self, row: Mapping[str, Any], endpoint: Endpoint) -> Record:
        return mapping.read_open_item(row, sales=endpoint is SALES, lines=row[endpoint.lines])


class OpeningBalanceHandler(EntryReader):
    """One opening trial-balance line: a general journal entry (type 90) in the opening journal,
    against the opening account. Debtors and creditors control come from the open items."""

    entity = "opening_balances"

    def _control(self, gl_id: str) -> bool:
        found = self.division.gl_by_id(gl_id) or {}
        return int(found.get("Type") or 0) in (mapping.RECEIVABLES_TYPE, mapping.PAYABLES_TYPE)

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, OpeningBalance)
        gl_id = self.resolve(refs, "ledger_accounts", record.account)
        if self._control(gl_id):
            note = (
                "held by the open items (Exact's receivables and payables), read back as their sum"
            )
            return LoadResult(ok=True, target_id=f"control:{gl_id}", warnings=(note,))
        journal = self.division.journal("opening_journal")
        opening = self.division.opening_account()
        tag = mapping.stamp(request.idempotency_key)
        lines = [
            {
                "Date": wire.date_text(record.as_of),
                "GLAccount": gl_id,
                "AmountFC": record.balance,
                "AmountDC": record.balance,
                "Description": "Opening balance",
                "Notes": mapping.notes(tag),
            },
            {
                "Date": wire.date_text(record.as_of),
                "GLAccount": opening,
                "AmountFC": -record.balance,
                "AmountDC": -record.balance,
                "Description": "Opening balance",
            },
        ]
        body = {"JournalCode": journal, "Type": 90, GENERAL.lines: lines}
        _reply, result = self.post(GENERAL.path, mapping.Written(body), key="EntryID")
        if result.ok and result.target_id:
            return attrs.evolve(result, target_id=mapping.entry_key("opening", result.target_id))
        return result

    def find(self, request: LoadRequest, refs: References) -> str | None:
        record = request.record
        assert isinstance(record, OpeningBalance)
        gl_id = self.resolve(refs, "ledger_accounts", record.account)
        if self._control(gl_id):
            return f"control:{gl_id}"
        found = self.stamped_entry(GENERAL, record.as_of, mapping.stamp(request.idempotency_key))
        return mapping.entry_key("opening", found) if found else None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        prefix, key = split(request.target_id)
        if prefix == "control":
            return RemovalResult(removed=True, action=Removal.DELETE)
        return self.delete(GENERAL.path, key)

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        journal = self.ctx.options.opening_journal
        opening = self.division.gl_accounts.get(self.ctx.options.opening_account.strip(), {})
        dates: list[dt.date] = []
        for row in self.entries(GENERAL, since):
            if text(row.get("JournalCode")) != journal and row.get("Type") != 10:
                continue
            lines = [x for x in row[GENERAL.lines] if x.get("GLAccount") != opening.get("ID")]
            for n, line in enumerate(lines):
                date = wire.opt_date(line.get("Date")) or dt.date(1970, 1, 1)
                dates.append(date)
                key = mapping.entry_key("opening", str(row["EntryID"]))
                yield OpeningBalance(
                    key=key if len(lines) == 1 else f"{key}:{n}",
                    account=str(line["GLAccount"]),
                    as_of=date,
                    balance=wire.money(line.get("AmountDC")),
                )
        yield from self._controls(since, min(dates) if dates else None)

    def _controls(self, since: dt.datetime | None, as_of: dt.date | None) -> Iterator[Record]:
        """The debtors and creditors control balances the open items make."""
        if since is not None and not self.ctx.feed.changed_entries(since):
            return
        totals: dict[str, Decimal] = {}
        latest = as_of
        for endpoint, sales in ((SALES, True), (PURCHASES, False)):
            for row in self.entries(endpoint, None):
                if not self.opening_entry(row, endpoint):
                    continue
                control = self.division.control(sales)
                amount = sum(
                    (wire.money(x.get("AmountDC")) for x in row[endpoint.lines]), Decimal(0)
                )
                totals[control] = totals.get(control, Decimal(0)) + (amount if sales else -amount)
                date = wire.opt_date(row.get("EntryDate"))
                if as_of is None and date and (latest is None or date > latest):
                    latest = date
        for control, total in totals.items():
            yield OpeningBalance(
                key=f"control:{control}",
                account=control,
                as_of=latest or dt.date(1970, 1, 1),
                balance=total,
            )

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return iter(())


DOCUMENT_HANDLERS: tuple[type[ExactHandler], ...] = (
    OpeningBalanceHandler,
    InvoiceHandler,
    OpenItemHandler,
    CreditNoteHandler,
)
