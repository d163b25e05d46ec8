"""What posts, to and from Sage: documents, payments, allocations, open items, banking, journals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

import attrs

from migrationkit.core.errors import MappingError
from migrationkit.core.model import (
    Allocation,
    BankTransaction,
    BankTransactionKind,
    BankTransfer,
    CreditNote,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
    Invoice,
    JournalLine,
    ManualJournal,
    OpeningBalance,
    OpenItem,
    OpenItemKind,
    Payment,
    Refund,
    TrackingAssignment,
)

from ..wire import date_text, money, opt_date, opt_money, required_date
from .common import (
    _PAYMENT_KINDS,
    _REFUND_KINDS,
    LIMITS,
    PAYMENT_TYPES,
    REFUND_TYPES,
    Ref,
    Written,
    _drop_none,
    _Notes,
    _opt_ref,
    _ref_id,
    split_id,
    strip_stamp,
    with_stamp,
)

# ---------------------------------------------------------------------------
# documents
# ---------------------------------------------------------------------------


@attrs.frozen
class DocumentEndpoint:
    """One of Sage's four document endpoints and the field names it uses."""

    path: str
    wrapper: str
    lines: str
    kind: DocumentKind
    credit: bool
    number_field: str | None

    @property
    def sales(self) -> bool:
        return self.kind is DocumentKind.SALES


INVOICES = {
    DocumentKind.SALES: DocumentEndpoint(
        "sales_invoices", "sales_invoice", "invoice_lines", DocumentKind.SALES, False,
        "invoice_number",
    ),
    DocumentKind.PURCHASE: DocumentEndpoint(
        "purchase_invoices", "purchase_invoice", "invoice_lines", DocumentKind.PURCHASE, False,
        None,
    ),
}  # fmt: skip
CREDIT_NOTES = {
    DocumentKind.SALES: DocumentEndpoint(
        "sales_credit_notes", "sales_credit_note", "credit_note_lines", DocumentKind.SALES, True,
        "credit_note_number",
    ),
    DocumentKind.PURCHASE: DocumentEndpoint(
        "purchase_credit_notes", "purchase_credit_note", "credit_note_lines",
        DocumentKind.PURCHASE, True, None,
    ),
}  # fmt: skip
DOCUMENTS = {e.path: e for e in (*INVOICES.values(), *CREDIT_NOTES.values())}


def document_endpoint(record: Invoice | CreditNote) -> DocumentEndpoint:
    table = CREDIT_NOTES if isinstance(record, CreditNote) else INVOICES
    return table[record.kind]


def _quantity_and_price(line: DocumentLine) -> tuple[Decimal, Decimal]:
    # The net amount is what the books hold: keep the source's quantity and price only when
    # they make exactly that net amount, otherwise send one unit at the net amount.
    if (
        line.quantity
        and line.unit_price is not None
        and line.quantity * line.unit_price == line.net
    ):
        return line.quantity, line.unit_price
    return Decimal(1), line.net


def line_payload(
    line: DocumentLine,
    ref: Ref,
    categories: Callable[[Iterable[TrackingAssignment]], list[str]],
    *,
    foreign: bool,
    fallback_description: str,
) -> dict[str, Any]:
    """One document or bank-payment line, tax amount explicit, base amounts when foreign."""
    quantity, unit_price = _quantity_and_price(line)
    body: dict[str, Any] = {
        "description": line.description or fallback_description,
        "ledger_account_id": ref("ledger_accounts", line.account),
        "quantity": quantity,
        "unit_price": unit_price,
        "net_amount": line.net,
        "tax_rate_id": _opt_ref(ref, "tax_rates", line.tax_rate),
        "tax_amount": line.tax,
        "total_amount": line.gross,
    }
    if line.item:
        endpoint, plain = split_id(ref("items", line.item))
        body["product_id" if endpoint == "products" else "service_id"] = plain
    if line.tracking:
        body["analysis_type_categories"] = categories(line.tracking)
    if foreign:
        body["base_currency_net_amount"] = line.base_net
        body["base_currency_tax_amount"] = line.base_tax
        body["base_currency_total_amount"] = line.base_gross
    return _drop_none(body)


def document_payload(
    record: Invoice | CreditNote,
    ref: Ref,
    categories: Callable[[Iterable[TrackingAssignment]], list[str]],
    *,
    base_currency: str,
    keep_number: bool,
    tag: str | None,
    reverse_charge: bool,
) -> Written:
    """A sales or purchase invoice or credit note, wrapped for its endpoint."""
    endpoint = document_endpoint(record)
    notes = _Notes()
    foreign = record.currency != base_currency
    fallback = record.description or record.number or "Migrated line"
    body: dict[str, Any] = {
        "contact_id": ref("contacts", record.contact),
        "date": date_text(record.date),
        "due_date": date_text(record.due_date),
        "reference": notes.clip(record.reference, "document_reference", "reference"),
        endpoint.lines: [
            line_payload(line, ref, categories, foreign=foreign, fallback_description=fallback)
            for line in record.lines
        ],
        "net_amount": record.net,
        "tax_amount": record.tax,
        "total_amount": record.gross,
    }
    if endpoint.sales:
        if keep_number and record.number:
            body[endpoint.number_field or ""] = record.number
    else:
        body["vendor_reference"] = notes.clip(record.number, "vendor_reference", "number")
        if body["due_date"] is None and not endpoint.credit:
            body["due_date"] = date_text(record.date)
            notes.items.append("no due date: Sage needs one, the document date is used")
    text, cut = with_stamp(record.description, tag, LIMITS["notes"])
    if cut:
        notes.items.append(f"description cut to fit Sage's {LIMITS['notes']} characters")
    body["notes"] = text
    if reverse_charge:
        body["vat_reverse_charge"] = True
    if record.status is DocumentStatus.DRAFT:
        body["status_id"] = "DRAFT"
    if foreign:
        body.update(
            currency_id=record.currency,
            exchange_rate=record.exchange_rate,
            base_currency_net_amount=record.base_net,
            base_currency_tax_amount=record.base_tax,
            base_currency_total_amount=record.base_gross,
        )
    return Written({endpoint.wrapper: _drop_none(body)}, tuple(notes.items))


def _tracking(obj: Mapping[str, Any]) -> tuple[TrackingAssignment, ...]:
    found = []
    for category in obj.get("analysis_type_categories") or ():
        kind = _ref_id(category.get("analysis_type"))
        if kind and category.get("id"):
            found.append(TrackingAssignment(category=kind, option=str(category["id"])))
    return tuple(found)


def _line_item(line: Mapping[str, Any]) -> str | None:
    for endpoint, field in (("products", "product"), ("services", "service")):
        plain = _ref_id(line.get(field))
        if plain:
            return f"{endpoint}:{plain}"
    return None


def read_line(line: Mapping[str, Any]) -> DocumentLine:
    net = money(line.get("net_amount") or 0)
    tax = money(line.get("tax_amount") or 0)
    return DocumentLine(
        description=str(line.get("description") or line.get("details") or ""),
        account=str(_ref_id(line.get("ledger_account"))),
        tax_rate=_ref_id(line.get("tax_rate")),
        net=net,
        tax=tax,
        base_net=money(line.get("base_currency_net_amount", net) or 0),
        base_tax=money(line.get("base_currency_tax_amount", tax) or 0),
        quantity=opt_money(line.get("quantity")),
        unit_price=opt_money(line.get("unit_price")),
        item=_line_item(line),
        tracking=_tracking(line),
    )


_STATUSES = {"DRAFT": DocumentStatus.DRAFT, "VOID": DocumentStatus.VOIDED}


def document_status(obj: Mapping[str, Any]) -> DocumentStatus:
    return _STATUSES.get(_ref_id(obj.get("status")) or "", DocumentStatus.POSTED)


def read_document(
    obj: Mapping[str, Any],
    endpoint: DocumentEndpoint,
    base_currency: str,
    allocations: tuple[Allocation, ...] = (),
) -> Invoice | CreditNote:
    description, _tag = strip_stamp(obj.get("notes"))
    number = obj.get(endpoint.number_field) if endpoint.number_field else None
    fields: dict[str, Any] = {
        "key": f"{endpoint.path}:{obj['id']}",
        "kind": endpoint.kind,
        "number": number if endpoint.sales else obj.get("vendor_reference"),
        "contact": str(_ref_id(obj.get("contact"))),
        "date": required_date(obj.get("date")),
        "due_date": opt_date(obj.get("due_date")),
        "reference": obj.get("reference"),
        "description": description,
        "currency": _ref_id(obj.get("currency")) or base_currency,
        "exchange_rate": money(obj.get("exchange_rate") or 1),
        "status": document_status(obj),
        "lines": tuple(read_line(line) for line in obj.get(endpoint.lines) or ()),
    }
    if endpoint.credit:
        return CreditNote(**fields, allocations=allocations)
    return Invoice(**fields)


# ---------------------------------------------------------------------------
# payments, refunds, allocations, open items, opening balances
# ---------------------------------------------------------------------------


def artefact_id(ref: Ref, allocation: Allocation) -> str:
    """The Sage artefact an allocation settles: an invoice, a refund or an opening balance."""
    target = ref(allocation.document_entity, allocation.document)
    return split_id(target)[1] if ":" in target else target


def payment_payload(record: Payment, ref: Ref, *, base_currency: str, tag: str) -> Written:
    """A customer receipt or supplier payment; what is not allocated stays on account."""
    notes = _Notes()
    reference, cut = with_stamp(record.reference, tag, LIMITS["payment_reference"])
    if cut:
        notes.items.append(f"reference cut to fit Sage's {LIMITS['payment_reference']} characters")
    foreign = record.currency != base_currency
    body: dict[str, Any] = {
        "transaction_type_id": PAYMENT_TYPES[record.kind],
        "contact_id": ref("contacts", record.contact),
        "bank_account_id": ref("bank_accounts", record.bank_account),
        "date": date_text(record.date),
        "total_amount": record.amount,
        "reference": reference,
        "allocated_artefacts": [
            {"artefact_id": artefact_id(ref, a), "amount": a.amount} for a in record.allocations
        ],
    }
    if foreign:
        body.update(
            currency_id=record.currency,
            exchange_rate=record.exchange_rate,
            base_currency_total_amount=record.base_amount,
        )
    left = record.unallocated
    if left:
        on_account: dict[str, Any] = {
            "contact_id": body["contact_id"],
            "date": body["date"],
            "reference": reference,
            "total_amount": left,
        }
        if foreign:
            on_account.update(currency_id=record.currency, exchange_rate=record.exchange_rate)
        body["payment_on_account"] = on_account
    return Written({"contact_payment": body}, tuple(notes.items))


def refund_payload(record: Refund, ref: Ref, *, base_currency: str, tag: str) -> Written:
    """Money back to a customer or from a supplier; credits are allocated to it later."""
    notes = _Notes()
    reference, cut = with_stamp(record.reference, tag, LIMITS["payment_reference"])
    if cut:
        notes.items.append(f"reference cut to fit Sage's {LIMITS['payment_reference']} characters")
    body: dict[str, Any] = {
        "transaction_type_id": REFUND_TYPES[record.kind],
        "contact_id": ref("contacts", record.contact),
        "bank_account_id": ref("bank_accounts", record.bank_account),
        "date": date_text(record.date),
        "total_amount": record.amount,
        "reference": reference,
    }
    if record.currency != base_currency:
        body.update(
            currency_id=record.currency,
            exchange_rate=record.exchange_rate,
            base_currency_total_amount=record.base_amount,
        )
    return Written({"contact_payment": body}, tuple(notes.items))


_ARTEFACT_ENTITIES = {
    "sales_invoices": "invoices",
    "purchase_invoices": "invoices",
    "sales_credit_notes": "credit_notes",
    "purchase_credit_notes": "credit_notes",
    "contact_opening_balances": "open_items",
    "contact_payments": "refunds",
}
_COMPOSITE = frozenset(DOCUMENTS)


def artefact_reference(artefact: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(entity, key)`` of the record a Sage artefact is, from its ``$path``."""
    path = str(artefact.get("$path") or "").strip("/")
    endpoint, _, plain = path.partition("/")
    entity = _ARTEFACT_ENTITIES.get(endpoint)
    if entity is None or not plain:
        return None
    return entity, f"{endpoint}:{plain}" if endpoint in _COMPOSITE else plain


def _allocations(entries: Iterable[Mapping[str, Any]]) -> tuple[Allocation, ...]:
    found = []
    for entry in entries:
        target = artefact_reference(entry.get("artefact") or {})
        amount = money(entry.get("amount") or 0)
        if target and amount > 0:
            found.append(Allocation(document_entity=target[0], document=target[1], amount=amount))
    return tuple(found)


def read_contact_payment(obj: Mapping[str, Any], base_currency: str) -> Payment | Refund:
    type_id = _ref_id(obj.get("transaction_type")) or ""
    reference, _tag = strip_stamp(obj.get("reference"))
    total = money(obj.get("total_amount") or 0)
    common: dict[str, Any] = {
        "key": str(obj["id"]),
        "contact": str(_ref_id(obj.get("contact"))),
        "bank_account": str(_ref_id(obj.get("bank_account"))),
        "date": required_date(obj.get("date")),
        "reference": reference,
        "currency": _ref_id(obj.get("currency")) or base_currency,
        "exchange_rate": money(obj.get("exchange_rate") or 1),
        "amount": total,
        "base_amount": money(obj.get("base_currency_total_amount") or total),
    }
    if type_id in _REFUND_KINDS:
        return Refund(kind=_REFUND_KINDS[type_id], **common)
    if type_id not in _PAYMENT_KINDS:
        raise MappingError(f"contact payment of type {type_id!r}")
    return Payment(
        kind=_PAYMENT_KINDS[type_id],
        allocations=_allocations(obj.get("allocated_artefacts") or ()),
        **common,
    )


def allocation_payload(
    *,
    ledger: DocumentKind,
    contact_id: str,
    credit_artefact: str,
    allocations: Iterable[tuple[str, Decimal]],
    date: dt.date | None,
) -> dict[str, Any]:
    """A credit (credit note, payment on account) set against the artefacts it settles.

    Amounts are signed so that the allocation nets to zero: what is settled positive, the
    credit negative.
    """
    pairs = list(allocations)
    total = sum((amount for _, amount in pairs), Decimal(0))
    body = {
        "transaction_type_id": (
            "CUSTOMER_ALLOCATION" if ledger is DocumentKind.SALES else "VENDOR_ALLOCATION"
        ),
        "contact_id": contact_id,
        "date": date_text(date),
        "allocated_artefacts": [
            {"artefact_id": credit_artefact, "amount": -total},
            *({"artefact_id": target, "amount": amount} for target, amount in pairs),
        ],
    }
    return {"contact_allocation": _drop_none(body)}


def allocations_by_credit(
    contact_allocations: Iterable[Mapping[str, Any]],
) -> dict[str, list[Allocation]]:
    """Sage id of each credit artefact → what it was allocated to (from contact allocations)."""
    found: dict[str, list[Allocation]] = {}
    for allocation in contact_allocations:
        if allocation.get("deleted_at"):
            continue
        entries = allocation.get("allocated_artefacts") or ()
        credits = [e for e in entries if money(e.get("amount") or 0) < 0]
        targets = [e for e in entries if money(e.get("amount") or 0) > 0]
        when = opt_date(allocation.get("date"))
        for credit in credits[:1]:
            credit_id = _ref_id(credit.get("artefact"))
            for entry in targets:
                target = artefact_reference(entry.get("artefact") or {})
                if credit_id and target:
                    found.setdefault(credit_id, []).append(
                        Allocation(
                            document_entity=target[0],
                            document=target[1],
                            amount=money(entry["amount"]),
                            date=when,
                        )
                    )
    return found


OPEN_ITEM_TYPES = ("INVOICE", "CREDIT_NOTE")


def open_item_payload(record: OpenItem, ref: Ref, *, base_currency: str, tag: str) -> Written:
    """An item outstanding at the opening date, as a contact opening balance.

    Sage holds these as invoices or credit notes: an outstanding payment on account or refund
    becomes the type with the same effect on the contact's balance.
    """
    notes = _Notes()
    details, cut = with_stamp(record.description, tag, LIMITS["opening_details"])
    if cut:
        notes.items.append("description cut to fit Sage's 255 characters")
    body: dict[str, Any] = {
        "contact_opening_balance_type_id": (
            "INVOICE" if record.kind.increases_balance else "CREDIT_NOTE"
        ),
        "date": date_text(record.date),
        "contact_id": ref("contacts", record.contact),
        "reference": notes.clip(record.number or record.key, "opening_reference", "number"),
        "details": details,
        "total_amount": record.outstanding,
    }
    if record.currency != base_currency:
        body.update(
            currency_id=record.currency,
            exchange_rate=record.exchange_rate,
            base_currency_total_amount=record.base_outstanding,
        )
    return Written({"contact_opening_balance": body}, tuple(notes.items))


_OPEN_KINDS = {
    ("INVOICE", True): OpenItemKind.SALES_INVOICE,
    ("CREDIT_NOTE", True): OpenItemKind.SALES_CREDIT,
    ("INVOICE", False): OpenItemKind.PURCHASE_INVOICE,
    ("CREDIT_NOTE", False): OpenItemKind.PURCHASE_CREDIT,
}


def read_open_item(
    obj: Mapping[str, Any],
    customer: bool,
    base_currency: str,
    allocations: tuple[Allocation, ...] = (),
) -> OpenItem:
    total = money(obj.get("total_amount") or 0)
    base = money(obj.get("base_currency_total_amount") or total)
    description, _tag = strip_stamp(obj.get("details"))
    type_id = _ref_id(obj.get("contact_opening_balance_type")) or "INVOICE"
    return OpenItem(
        key=str(obj["id"]),
        kind=_OPEN_KINDS[(type_id, customer)],
        contact=str(_ref_id(obj.get("contact"))),
        number=obj.get("reference"),
        description=description,
        date=required_date(obj.get("date")),
        currency=_ref_id(obj.get("currency")) or base_currency,
        exchange_rate=money(obj.get("exchange_rate") or 1),
        gross=total,
        outstanding=total,
        base_outstanding=base,
        allocations=allocations,
    )


def debit_credit(balance: Decimal) -> tuple[Decimal, Decimal]:
    """A debit-positive balance as Sage's ``(debit, credit)`` pair."""
    return (balance, Decimal(0)) if balance >= 0 else (Decimal(0), -balance)


def read_opening_balance(
    obj: Mapping[str, Any], endpoint: str, account: str, as_of: dt.date
) -> OpeningBalance:
    return OpeningBalance(
        key=f"{endpoint}:{obj['id']}",
        account=account,
        as_of=opt_date(obj.get("date")) or as_of,
        balance=money(obj.get("debit") or 0) - money(obj.get("credit") or 0),
    )


# ---------------------------------------------------------------------------
# bank transactions, transfers, journals
# ---------------------------------------------------------------------------


def other_payment_payload(
    record: BankTransaction,
    ref: Ref,
    categories: Callable[[Iterable[TrackingAssignment]], list[str]],
    *,
    tag: str,
) -> Written:
    """Money spent or received through a bank without an invoice (``/other_payments``)."""
    notes = _Notes()
    reference, cut = with_stamp(record.reference, tag, LIMITS["payment_reference"])
    if cut:
        notes.items.append(f"reference cut to fit Sage's {LIMITS['payment_reference']} characters")
    lines = []
    for line in record.lines:
        body: dict[str, Any] = {
            "ledger_account_id": ref("ledger_accounts", line.account),
            "details": line.description or record.description,
            "tax_rate_id": _opt_ref(ref, "tax_rates", line.tax_rate),
            "net_amount": line.net,
            "tax_amount": line.tax,
            "total_amount": line.gross,
        }
        if line.tracking:
            body["analysis_type_categories"] = categories(line.tracking)
        lines.append(_drop_none(body))
    spend = record.kind is BankTransactionKind.SPEND
    payment: dict[str, Any] = {
        "transaction_type_id": "OTHER_PAYMENT" if spend else "OTHER_RECEIPT",
        "date": date_text(record.date),
        "total_amount": record.gross,
        "net_amount": sum((line.net for line in record.lines), Decimal(0)),
        "tax_amount": sum((line.tax for line in record.lines), Decimal(0)),
        "contact_id": _opt_ref(ref, "contacts", record.contact),
        "bank_account_id": ref("bank_accounts", record.bank_account),
        "reference": reference,
        "payment_lines": lines,
    }
    return Written({"other_payment": _drop_none(payment)}, tuple(notes.items))


def read_other_payment(obj: Mapping[str, Any], base_currency: str) -> BankTransaction:
    reference, _tag = strip_stamp(obj.get("reference"))
    spend = (_ref_id(obj.get("transaction_type")) or "") != "OTHER_RECEIPT"
    lines = tuple(read_line(line) for line in obj.get("payment_lines") or ())
    return BankTransaction(
        key=str(obj["id"]),
        kind=BankTransactionKind.SPEND if spend else BankTransactionKind.RECEIVE,
        bank_account=str(_ref_id(obj.get("bank_account"))),
        contact=_ref_id(obj.get("contact")),
        date=required_date(obj.get("date")),
        reference=reference,
        description=lines[0].description if lines else None,
        currency=base_currency,
        lines=lines,
    )


def transfer_payload(record: BankTransfer, ref: Ref, *, tag: str) -> Written:
    notes = _Notes()
    reference, cut = with_stamp(record.reference, tag, LIMITS["transfer_text"])
    if cut:
        notes.items.append("reference cut to fit Sage's 255 characters")
    body = {
        "from_bank_account_id": ref("bank_accounts", record.from_bank_account),
        "to_bank_account_id": ref("bank_accounts", record.to_bank_account),
        "date": date_text(record.date),
        "amount": record.amount,
        "reference": reference,
        "description": notes.clip(record.description, "transfer_text", "description"),
    }
    return Written({"bank_transfer": _drop_none(body)}, tuple(notes.items))


def read_transfer(obj: Mapping[str, Any], endpoint: str, base_currency: str) -> BankTransfer:
    """A bank transfer, or a bank deposit (cash paid into a bank), as a transfer."""
    reference, _tag = strip_stamp(obj.get("reference"))
    amount = obj.get("amount") if endpoint == "bank_transfers" else obj.get("total_amount")
    return BankTransfer(
        key=f"{endpoint}:{obj['id']}",
        from_bank_account=str(_ref_id(obj.get("from_bank_account"))),
        to_bank_account=str(_ref_id(obj.get("to_bank_account"))),
        date=required_date(obj.get("date")),
        amount=money(amount or 0),
        currency=base_currency,
        reference=reference,
        description=obj.get("description"),
    )


def journal_payload(
    record: ManualJournal,
    ref: Ref,
    categories: Callable[[Iterable[TrackingAssignment]], list[str]],
    *,
    tag: str,
) -> Written:
    notes = _Notes()
    reference, cut = with_stamp(record.reference or record.key, tag, LIMITS["journal_reference"])
    if cut:
        notes.items.append("reference cut to fit Sage's 255 characters")
    lines = []
    for line in record.lines:
        debit, credit = debit_credit(line.amount)
        body: dict[str, Any] = {
            "ledger_account_id": ref("ledger_accounts", line.account),
            "debit": debit,
            "credit": credit,
            "details": line.description or None,
        }
        if line.tracking:
            body["analysis_type_categories"] = categories(line.tracking)
        lines.append(_drop_none(body))
    if any(line.tax_rate for line in record.lines):
        notes.items.append("journal line tax codes are not carried: Sage journals have none")
    body = {
        "date": date_text(record.date),
        "reference": reference,
        "description": notes.clip(record.narration or None, "journal_description", "narration"),
        "total": sum((line.amount for line in record.lines if line.amount > 0), Decimal(0)),
        "journal_lines": lines,
    }
    return Written({"journal": _drop_none(body)}, tuple(notes.items))


def read_journal(obj: Mapping[str, Any]) -> ManualJournal:
    reference, _tag = strip_stamp(obj.get("reference"))
    return ManualJournal(
        key=str(obj["id"]),
        date=required_date(obj.get("date")),
        reference=reference,
        narration=str(obj.get("description") or ""),
        lines=tuple(
            JournalLine(
                account=str(_ref_id(line.get("ledger_account"))),
                amount=money(line.get("debit") or 0) - money(line.get("credit") or 0),
                description=str(line.get("details") or ""),
                tracking=_tracking(line),
            )
            for line in obj.get("journal_lines") or ()
        ),
    )


def iter_stamped(objects: Iterable[Mapping[str, Any]], field: str, tag: str) -> Iterator[str]:
    """Ids of the objects whose ``field`` ends with ``tag``."""
    for obj in objects:
        if strip_stamp(obj.get(field))[1] == tag:
            yield str(obj["id"])
