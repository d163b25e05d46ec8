"""Invoices, credit notes and outstanding items (open items) in Xero.

Invoices (``ACCREC``, ``ACCPAY``) and credit notes (``ACCRECCREDIT``, ``ACCPAYCREDIT``) go in
batches, created with ``PUT`` and changed in place with ``POST``; a voided one is voided right
after it is entered. A credit note's allocations are made right after it lands: if Xero
refuses one, the credit note is taken back and the record fails, so it is never half-moved.

Outstanding items at the opening date become a document for the amount outstanding with one
line on the conversion clearing account; a payment on account becomes a credit note.

Drafts are deleted and approved documents voided on rollback (a sales document's number is
freed first: Xero keeps a voided one's number taken).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from migrationkit.core.contract import (
    LoadRequest,
    LoadResult,
    Operation,
    Problem,
    References,
    RemovalRequest,
    RemovalResult,
)
from migrationkit.core.model import (
    Allocation,
    CreditNote,
    DocumentKind,
    DocumentStatus,
    Invoice,
    OpenItem,
    OpenItemKind,
    Record,
)
from migrationkit.core.money import ZERO, round_money
from migrationkit.handlers import Assembly, MissingReference, Prepared

from . import mapping as m
from .base import Draft, XeroBatchHandler, in_order
from .context import Payload, XeroRefs, refused

__all__ = ["CREDIT_OPEN_ITEMS", "DOCUMENT_HANDLERS"]

CREDIT_OPEN_ITEMS = frozenset(
    {
        OpenItemKind.SALES_CREDIT,
        OpenItemKind.CUSTOMER_PAYMENT,
        OpenItemKind.PURCHASE_CREDIT,
        OpenItemKind.SUPPLIER_PAYMENT,
    }
)
"""Outstanding items that become credit notes in Xero."""


class _Credits(XeroBatchHandler):
    """What documents share: allocating a credit note, finding documents by date."""

    def allocate_credit(
        self,
        credit_id: str,
        allocations: Sequence[Allocation],
        day: dt.date,
        refs: XeroRefs,
        request: LoadRequest,
        warnings: tuple[str, ...] = (),
    ) -> LoadResult:
        """Allocate a credit note; if Xero refuses, the note is voided and the record fails."""
        note = Assembly()
        note.add(credit_id, lambda: self.void_document(credit_id, credit=True))
        try:
            outcome = self.allocate(
                f"/CreditNotes/{credit_id}/Allocations",
                allocations,
                day,
                refs,
                self.ctx.idempotency_key("allocations", credit_id, (request.idempotency_key,)),
            )
        except MissingReference as exc:
            return note.fail(LoadResult.failed("MISSING_REFERENCE", str(exc)))
        if not outcome.ok:
            return note.fail(refused(outcome, code="ALLOCATION_REFUSED"))
        return LoadResult(ok=True, target_id=credit_id, warnings=warnings)

    def documents_of(
        self, path: str, key: str, day: dt.date, match: Callable[[Payload], bool]
    ) -> list[Payload]:
        """The live documents at ``path`` dated ``day`` that ``match``."""
        return [
            raw
            for raw in self.candidates(path, key, day)
            if raw.get("Status") not in ("DELETED", "VOIDED") and match(raw)
        ]


# ---------------------------------------------------------------------------------------------
# invoices and credit notes
# ---------------------------------------------------------------------------------------------


class _Documents(_Credits):
    """Invoices or credit notes: in batches, changed in place."""

    credit = False
    path, key, id_field = "/Invoices", "Invoices", "InvoiceID"

    def rules(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, Invoice | CreditNote)
        return self.line_problems(record.lines, refs)

    def draft(self, request: LoadRequest, refs: XeroRefs) -> Draft:
        notes: list[str] = []
        record = request.record
        assert isinstance(record, Invoice | CreditNote)
        return Draft(self.document(record, refs, request, notes), notes)

    def document(
        self, record: Invoice | CreditNote, refs: XeroRefs, request: LoadRequest, notes: list[str]
    ) -> Payload:
        credit = isinstance(record, CreditNote)
        sales = record.kind is DocumentKind.SALES
        kind = ("ACCREC" if sales else "ACCPAY") + ("CREDIT" if credit else "")
        self.ctx.ensure_currency(record.currency)
        lines, warnings = refs.lines(record.lines, output=sales)
        notes.extend(warnings)
        payload: Payload = {
            "Type": kind,
            "Contact": {"ContactID": refs.contact(record.contact)},
            "Date": record.date.isoformat(),
            "LineAmountTypes": "Exclusive",
            "LineItems": lines,
            "Status": m.xero_status(record.status),
            **m.currency_fields(record.currency, record.exchange_rate, self.ctx.base_currency),
        }
        if record.due_date and not credit:
            payload["DueDate"] = record.due_date.isoformat()
        number = record.number if self.ctx.preserve_ids or not sales else None
        if not sales and not number:
            number = record.reference
        if number:
            payload["CreditNoteNumber" if credit else "InvoiceNumber"] = number
        if record.reference and (sales or credit):
            payload["Reference"] = record.reference
        if request.operation is Operation.UPDATE and request.target_id:
            payload[self.id_field] = request.target_id
        return payload

    def send(self, ready: Sequence[Prepared], refs: References) -> list[LoadResult]:
        r = self.refs(refs)

        def before_update(chosen: list[Prepared]) -> None:
            self._keep_unchanged_lines([p.payload.body for p in chosen])
            if self.credit:
                for item in chosen:
                    self.clear_allocations(str(item.request.target_id))

        sent = self.put_and_post(self.path, self.key, ready, before_update=before_update)
        results: dict[int, LoadResult] = {}
        for item in ready:
            outcome = sent[item.index]
            results[item.index] = (
                LoadResult(
                    ok=True,
                    target_id=str(outcome.element[self.id_field]),
                    warnings=tuple(item.payload.notes),
                )
                if outcome.ok
                else refused(outcome)
            )
        for item in ready:
            result, record = results[item.index], item.request.record
            if not result.ok or not isinstance(record, Invoice | CreditNote):
                continue
            if record.status is DocumentStatus.VOIDED:
                voided = self.void_document(str(result.target_id), credit=self.credit)
                if not voided.removed:
                    results[item.index] = LoadResult.failed(
                        "VOID_REFUSED", voided.message or "Xero would not void it"
                    )
                    continue
            if isinstance(record, CreditNote) and record.allocations:
                results[item.index] = self.allocate_credit(
                    str(result.target_id),
                    record.allocations,
                    record.date,
                    r,
                    item.request,
                    warnings=result.warnings,
                )
        return in_order(ready, results)

    def _keep_unchanged_lines(self, payloads: Sequence[Payload]) -> None:
        """Leave the lines out of an update that does not change them.

        Xero will not touch the lines of a document with payments or allocations, but lets
        its reference, dates and number change: sending unchanged lines would refuse that.
        """
        for payload in payloads:
            body = self.ctx.api.get(
                f"{self.path}/{payload[self.id_field]}", {"unitdp": 4}, missing_ok=True
            )
            held = ((body or {}).get(self.key) or [None])[0]
            if held is not None and _same_lines(payload["LineItems"], held.get("LineItems") or []):
                payload.pop("LineItems")
                payload.pop("LineAmountTypes", None)

    def remove(self, request: RemovalRequest) -> RemovalResult:
        return self.void_document(request.target_id, credit=self.credit, actions=request.actions)


class InvoicesHandler(_Documents):
    entity = "invoices"

    def look_up(self, request: LoadRequest, refs: XeroRefs) -> str | None:
        record = request.record
        assert isinstance(record, Invoice)
        payload = self.document(record, refs, request, [])
        total = _payload_total(payload)
        number = payload.get("InvoiceNumber")

        def same(raw: Payload) -> bool:
            return (
                raw["Type"] == payload["Type"]
                and raw["Contact"]["ContactID"] == payload["Contact"]["ContactID"]
                and (number is None or raw.get("InvoiceNumber") == number)
                and raw.get("Total") == total
            )

        found = self.documents_of("/Invoices", "Invoices", record.date, same)
        return str(found[0]["InvoiceID"]) if found else None

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        return self.reader.extract_invoices(since)

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return self.reader.gone.invoices(since)


class CreditNotesHandler(_Documents):
    entity = "credit_notes"
    credit = True
    path, key, id_field = "/CreditNotes", "CreditNotes", "CreditNoteID"

    def rules(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, CreditNote)
        problems = self.line_problems(record.lines, refs)
        for allocation in record.allocations:
            if allocation.document_entity == "refunds":
                problems.extend(self.needs_clearing("a credit allocated to a refund"))
        return problems

    def look_up(self, request: LoadRequest, refs: XeroRefs) -> str | None:
        record = request.record
        assert isinstance(record, CreditNote)
        payload = self.document(record, refs, request, [])
        total = _payload_total(payload)
        found = self.documents_of(
            "/CreditNotes",
            "CreditNotes",
            record.date,
            lambda raw: (
                raw["Type"] == payload["Type"]
                and raw["Contact"]["ContactID"] == payload["Contact"]["ContactID"]
                and raw.get("Total") == total
            ),
        )
        if not found:
            return None
        credit = found[0]
        credit_id = str(credit["CreditNoteID"])
        if record.allocations and not credit.get("Allocations"):
            # The allocation of an interrupted run did not happen: make it now.
            result = self.allocate_credit(credit_id, record.allocations, record.date, refs, request)
            return credit_id if result.ok else None
        return credit_id

    def remove_many(self, requests: Sequence[RemovalRequest]) -> list[RemovalResult]:
        # Allocations go first: Xero will not void a credit note that is allocated.
        for request in requests:
            self.clear_allocations(request.target_id)
        return [self.remove(request) for request in requests]

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        return self.reader.extract_credit_notes(since)

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return self.reader.gone.credit_notes(since)


# ---------------------------------------------------------------------------------------------
# outstanding items at the opening date
# ---------------------------------------------------------------------------------------------


class OpenItemsHandler(_Credits):
    """An outstanding item becomes a document for what is outstanding, on the clearing account.

    Xero cannot change the amounts of a document that may be allocated: a changed item is
    taken back and entered again (the table's ``REPLACE``).
    """

    entity = "open_items"

    def rules(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, OpenItem)
        problems = self.needs_clearing("outstanding items at the opening date")
        if record.outstanding <= 0:
            problems.append(
                Problem(code="NOTHING_OUTSTANDING", message="nothing is outstanding on it")
            )
        if record.allocations and record.kind not in CREDIT_OPEN_ITEMS:
            problems.append(
                Problem(
                    code="ALLOCATION_NOT_SUPPORTED",
                    message="only credits and payments on account can be allocated in Xero",
                )
            )
        return problems

    def draft(self, request: LoadRequest, refs: XeroRefs) -> Draft:
        clearing = self.ctx.clearing_account_code()
        record = request.record
        assert isinstance(record, OpenItem)
        kind = m.OPEN_ITEM_DOCUMENT[record.kind]
        self.ctx.ensure_currency(record.currency)
        payload: Payload = {
            "Type": kind,
            "Contact": {"ContactID": refs.contact(record.contact)},
            "Date": record.date.isoformat(),
            "Status": "AUTHORISED",
            "LineAmountTypes": "NoTax",
            "LineItems": [
                m.clearing_line(
                    record.outstanding, clearing, m.open_item_line(record.kind, record.number)
                )
            ],
            **m.currency_fields(record.currency, _carrying_rate(record), self.ctx.base_currency),
        }
        if record.due_date and not kind.endswith("CREDIT"):
            payload["DueDate"] = record.due_date.isoformat()
        number = record.number if self.ctx.preserve_ids else None
        if record.kind in (OpenItemKind.CUSTOMER_PAYMENT, OpenItemKind.SUPPLIER_PAYMENT):
            # Payment references ("BACS") repeat; a credit note number must not.
            payload["CreditNoteNumber"] = f"OB-{record.key}"
            if record.number:
                payload["Reference"] = record.number
        elif kind.endswith("CREDIT"):
            payload["CreditNoteNumber"] = number or f"OB-{record.key}"
        else:
            payload["InvoiceNumber"] = number or f"OB-{record.key}"
        return Draft(payload)

    def send(self, ready: Sequence[Prepared], refs: References) -> list[LoadResult]:
        r = self.refs(refs)
        credits = [(p, p.payload.body) for p in ready if _open_item(p).kind in CREDIT_OPEN_ITEMS]
        invoices = [
            (p, p.payload.body) for p in ready if _open_item(p).kind not in CREDIT_OPEN_ITEMS
        ]
        results = self.send_parts("invoices", "/Invoices", "Invoices", "InvoiceID", invoices)
        results.update(
            self.send_parts("credits", "/CreditNotes", "CreditNotes", "CreditNoteID", credits)
        )
        for item, _body in credits:
            result, record = results[item.index], _open_item(item)
            if result.ok and record.allocations:
                results[item.index] = self.allocate_credit(
                    str(result.target_id), record.allocations, record.date, r, item.request
                )
        return in_order(ready, results)

    def look_up(self, request: LoadRequest, refs: XeroRefs) -> str | None:
        record = request.record
        assert isinstance(record, OpenItem)
        credit = record.kind in CREDIT_OPEN_ITEMS
        path, key, id_field = (
            ("/CreditNotes", "CreditNotes", "CreditNoteID")
            if credit
            else ("/Invoices", "Invoices", "InvoiceID")
        )
        contact = refs.contact(record.contact)
        text = m.open_item_line(record.kind, record.number)
        found = self.documents_of(
            path,
            key,
            record.date,
            lambda raw: (
                raw["Contact"]["ContactID"] == contact
                and any(line.get("Description") == text for line in raw.get("LineItems") or ())
                and raw.get("Total") == record.outstanding
            ),
        )
        return str(found[0][id_field]) if found else None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        return self.void_document(request.target_id, credit=None, actions=request.actions)

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        return self.reader.extract_open_items(since)

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return self.reader.gone.open_items(since)


def _open_item(item: Prepared) -> OpenItem:
    record = item.request.record
    assert isinstance(record, OpenItem)
    return record


def _carrying_rate(record: OpenItem) -> Decimal:
    """The rate at which Xero's conversion of the outstanding amount gives its base value."""
    if (
        record.base_outstanding == 0
        or m.base_amount(record.outstanding, record.exchange_rate) == record.base_outstanding
    ):
        return record.exchange_rate
    return round_money(record.outstanding / record.base_outstanding, m.RATE_PLACES)


def _payload_total(payload: Payload) -> Decimal:
    return sum(
        (
            line.get("LineAmount", ZERO) + line.get("TaxAmount", ZERO)
            for line in payload["LineItems"]
        ),
        ZERO,
    )


def _line_signature(line: Mapping[str, Any]) -> tuple[Any, ...]:
    tracking = tuple(sorted((t.get("Name"), t.get("Option")) for t in line.get("Tracking") or ()))
    return (
        line.get("AccountCode"),
        line.get("LineAmount"),
        line.get("TaxAmount"),
        line.get("TaxType"),
        line.get("Description") or "",
        line.get("ItemCode"),
        line.get("Quantity"),
        line.get("UnitAmount"),
        tracking,
    )


def _same_lines(sent: Sequence[Payload], held: Sequence[Payload]) -> bool:
    return sorted(map(_line_signature, sent), key=repr) == sorted(
        map(_line_signature, held), key=repr
    )


DOCUMENT_HANDLERS = (InvoicesHandler, CreditNotesHandler, OpenItemsHandler)
