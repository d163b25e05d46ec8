"""Canonical records to Sage Accounting v3.1 payloads and back, in one place.

Builders take the record and ``ref(entity, key)``, which turns a source key into the Sage id the
record it names got (tax rates resolve to Sage's own rate ids, items to ``products:ID`` or
``services:ID``). Readers take a Sage object (``attributes=all``) and return the canonical record
keyed by its Sage id, its references as Sage ids, so reconcile can map both back.

Explicit rules (see docs/connectors/sage-accounting.md):

* Text longer than Sage allows is cut at the limit and the write carries a warning; contact
  references and sales document numbers are checked for collisions before any write instead.
* Documents without a unique natural key carry a *stamp* (``~`` and 8 letters from the write's
  idempotency key) at the end of an internal text field, so an interrupted write can be found
  again: Sage v3.1 has no idempotency key. Readers strip it.
* Every amount is sent as the source holds it, in document and base currency, line by line,
  with the tax amount explicit, so Sage's totals equal the source's to the penny.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

import attrs

from migrationkit.core.errors import MappingError
from migrationkit.core.model import (
    AccountType,
    Address,
    Allocation,
    BankAccount,
    BankAccountKind,
    BankTransaction,
    BankTransactionKind,
    BankTransfer,
    Company,
    Contact,
    ControlRole,
    CreditNote,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
    Invoice,
    Item,
    ItemKind,
    JournalLine,
    LedgerAccount,
    ManualJournal,
    OpeningBalance,
    OpenItem,
    OpenItemKind,
    Payment,
    PaymentKind,
    Refund,
    RefundKind,
    TaxRate,
    TrackingAssignment,
    TrackingCategory,
    TrackingOption,
)

from .taxes import GB_TREATMENTS, treatment_of
from .wire import date_text, money, opt_date, opt_money, required_date

__all__ = [
    "ACCOUNT_TYPES",
    "BANK_TYPES",
    "CONTROL_NAMES",
    "CREDIT_NOTES",
    "DOCUMENTS",
    "INVOICES",
    "LIMITS",
    "DocumentEndpoint",
    "Ref",
    "Written",
    "clip",
    "split_id",
    "stamp",
    "strip_stamp",
]

Ref = Callable[[str, str], str]
"""``ref(entity, source_key)`` → the Sage id of the record that key names."""

LIMITS: Mapping[str, int] = {
    "contact_reference": 10,
    "contact_name": 100,
    "document_reference": 25,
    "vendor_reference": 31,
    "notes": 2000,
    "payment_reference": 25,
    "journal_reference": 255,
    "journal_description": 200,
    "transfer_text": 255,
    "opening_reference": 25,
    "opening_details": 255,
    "address_line": 50,
    "postal_code": 10,
    "email": 100,
    "person_field": 50,
    "item_description": 255,
    "item_notes": 500,
    "account_name": 200,
    "category_code": 10,
    "category_name": 50,
    "analysis_type_name": 50,
}
"""Sage's maxLength for each text the connector writes (from the v3.1 read models)."""

ACCOUNT_TYPES: Mapping[AccountType, str] = {
    AccountType.FIXED_ASSET: "FIXED_ASSETS",
    AccountType.CURRENT_ASSET: "CURRENT_ASSETS",
    AccountType.BANK: "BANK",
    AccountType.CURRENT_LIABILITY: "CURRENT_LIABILITY",
    AccountType.LONG_TERM_LIABILITY: "FUTURE_LIABILITY",
    AccountType.EQUITY: "EQUITY",
    AccountType.SALES: "SALES",
    AccountType.OTHER_INCOME: "OTHER_INCOME",
    AccountType.PURCHASES: "DIRECT_EXPENSES",
    AccountType.DIRECT_EXPENSES: "DIRECT_EXPENSES",
    AccountType.OVERHEADS: "OVERHEADS",
    AccountType.DEPRECIATION: "DEPRECIATION",
}
"""Canonical account type → Sage ``ledger_account_type_id``."""

_SAGE_TYPES: Mapping[str, AccountType] = {
    "FIXED_ASSETS": AccountType.FIXED_ASSET,
    "CURRENT_ASSETS": AccountType.CURRENT_ASSET,
    "FUTURE_ASSETS": AccountType.FIXED_ASSET,
    "BANK": AccountType.BANK,
    "CURRENT_LIABILITY": AccountType.CURRENT_LIABILITY,
    "FUTURE_LIABILITY": AccountType.LONG_TERM_LIABILITY,
    "EQUITY": AccountType.EQUITY,
    "SALES": AccountType.SALES,
    "OTHER_INCOME": AccountType.OTHER_INCOME,
    "DIRECT_EXPENSES": AccountType.DIRECT_EXPENSES,
    "OVERHEADS": AccountType.OVERHEADS,
    "DEPRECIATION": AccountType.DEPRECIATION,
}

CONTROL_NAMES: Mapping[ControlRole, str] = {
    ControlRole.RECEIVABLES: "DEBTORS_CONTROL",
    ControlRole.PAYABLES: "CREDITORS_CONTROL",
    ControlRole.SALES_TAX: "SALES_TAX_CONTROL",
    ControlRole.PURCHASE_TAX: "PURCHASE_TAX_CONTROL",
    ControlRole.TAX_LIABILITY: "VAT_LIABILITY",
    ControlRole.RETAINED_EARNINGS: "RETAINED_EARNINGS",
    ControlRole.EXCHANGE_VARIANCE: "EXCHANGE_VARIANCE",
}
"""Control role → the ``control_name`` of the Sage control account a source account with that
role lands on. Sage's 9999 Suspense takes the other side of opening balances: it is not Sage
50's suspense or mispostings account, so neither lands on it by role."""

_ROLE_OF_CONTROL = {
    **{name: role for role, name in CONTROL_NAMES.items()},
    "SUSPENSE": ControlRole.SUSPENSE,
}

# A GB business's control accounts by nominal code, for when control_name is not given.
_GB_CONTROL_CODES: Mapping[int, ControlRole] = {
    1100: ControlRole.RECEIVABLES,
    2100: ControlRole.PAYABLES,
    2200: ControlRole.SALES_TAX,
    2201: ControlRole.PURCHASE_TAX,
    2202: ControlRole.TAX_LIABILITY,
    3200: ControlRole.RETAINED_EARNINGS,
}

BANK_TYPES: Mapping[BankAccountKind, str] = {
    BankAccountKind.CURRENT: "CHECKING",
    BankAccountKind.SAVINGS: "SAVINGS",
    BankAccountKind.CASH: "CASH_IN_HAND",
    BankAccountKind.CREDIT_CARD: "CREDIT_CARD",
}
_BANK_KINDS = {v: k for k, v in BANK_TYPES.items()}

PAYMENT_TYPES: Mapping[PaymentKind, str] = {
    PaymentKind.CUSTOMER_RECEIPT: "CUSTOMER_RECEIPT",
    PaymentKind.SUPPLIER_PAYMENT: "VENDOR_PAYMENT",
}
REFUND_TYPES: Mapping[RefundKind, str] = {
    RefundKind.CUSTOMER_REFUND: "CUSTOMER_REFUND",
    RefundKind.SUPPLIER_REFUND: "VENDOR_REFUND",
}
_PAYMENT_KINDS = {v: k for k, v in PAYMENT_TYPES.items()}
_REFUND_KINDS = {v: k for k, v in REFUND_TYPES.items()}

_STAMP = re.compile(r" ?~([A-Z2-7]{8})$")


# ---------------------------------------------------------------------------
# small rules
# ---------------------------------------------------------------------------


@attrs.frozen
class Written:
    """A payload to send, with the warnings its rules produced (text cut, defaults used)."""

    body: dict[str, Any]
    warnings: tuple[str, ...] = ()


class _Notes:
    """Collects the warnings a builder produces."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def clip(self, text: str | None, limit: str, what: str) -> str | None:
        value, cut = clip(text, LIMITS[limit])
        if cut:
            self.items.append(f"{what} cut to {LIMITS[limit]} characters: {value!r}")
        return value


def clip(text: str | None, limit: int) -> tuple[str | None, bool]:
    """``text`` cut to ``limit`` characters, and whether it was cut."""
    if text is None:
        return None, False
    return (text, False) if len(text) <= limit else (text[:limit], True)


def stamp(idempotency_key: str) -> str:
    """The 9-character tag that finds a write again (``~`` and 8 base32 letters)."""
    digest = hashlib.blake2b(idempotency_key.encode(), digest_size=5).digest()
    return "~" + base64.b32encode(digest).decode()


def with_stamp(text: str | None, tag: str | None, limit: int) -> tuple[str | None, bool]:
    """``text`` with the tag at its end, the text cut so that both fit within ``limit``."""
    if not tag:
        return clip(text, limit)
    room = limit - len(tag) - (1 if text else 0)
    body, cut = clip(text, room) if text else (None, False)
    return (f"{body} {tag}" if body else tag), cut


def strip_stamp(text: str | None) -> tuple[str | None, str | None]:
    """Split a stamped text into the text and its tag (``None`` when there is no tag)."""
    if not text:
        return None, None
    found = _STAMP.search(text)
    if not found:
        return text, None
    rest = text[: found.start()]
    return (rest or None), "~" + found.group(1)


def split_id(target_id: str) -> tuple[str, str]:
    """``"sales_invoices:ab12"`` → ``("sales_invoices", "ab12")``."""
    path, colon, plain = target_id.partition(":")
    if not colon:
        raise MappingError(f"{target_id!r} is not an id of the form ENDPOINT:ID")
    return path, plain


def _ref_id(obj: Any) -> str | None:
    return obj.get("id") if isinstance(obj, Mapping) else None


def _opt_ref(ref: Ref, entity: str, key: str | None) -> str | None:
    return ref(entity, key) if key else None


def _drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


# ---------------------------------------------------------------------------
# company, tax rates, ledger accounts, tracking, banks
# ---------------------------------------------------------------------------


def read_company(business: Mapping[str, Any], settings: Mapping[str, Any]) -> Company:
    """The business and its financial settings as the canonical company."""
    year_end = opt_date(settings.get("year_end_date"))
    start = year_end + dt.timedelta(days=1) if year_end else dt.date(2000, 1, 1)
    accounts_start = opt_date(settings.get("accounts_start_date"))
    return Company(
        key=str(business["id"]),
        name=str(business.get("name") or business.get("displayed_as") or business["id"]),
        tax_number=settings.get("tax_number"),
        base_currency=_ref_id(settings.get("base_currency")) or "GBP",
        year_start_month=start.month,
        year_start_day=start.day,
        tax_scheme=(_ref_id(settings.get("tax_scheme")) or "").lower() or None,
        opening_balance_date=accounts_start - dt.timedelta(days=1) if accounts_start else None,
    )


def read_tax_rate(obj: Mapping[str, Any]) -> TaxRate:
    percentage = money(obj.get("percentage") or 0)
    rate_id = str(obj["id"])
    return TaxRate(
        key=rate_id,
        code=rate_id,
        name=str(obj.get("name") or obj.get("displayed_as") or rate_id),
        rate=percentage,
        treatment=treatment_of(rate_id, percentage),
        in_tax_return=GB_TREATMENTS.get(rate_id) is not GB_TREATMENTS["GB_NO_TAX"],
        inactive=obj.get("is_visible") is False,
    )


def nominal_code(code: str) -> int:
    """A canonical account code as Sage's integer nominal code (``"0020"`` → 20)."""
    if not code.isdigit() or not 1 <= int(code) <= 99_999_999:
        raise MappingError(
            f"account code {code!r} is not a number from 1 to 99999999, which Sage's "
            "nominal codes must be"
        )
    return int(code)


def visibility(record: LedgerAccount) -> dict[str, bool]:
    """Where Sage shows the account: everywhere, except control accounts outside reporting.

    Sage 50 lets any nominal appear on any document; Sage refuses a line to an account not
    visible in that area, so migrated accounts are made visible where the source used them.
    """
    control = record.control_role in (ControlRole.RECEIVABLES, ControlRole.PAYABLES)
    bank = record.type is AccountType.BANK
    open_to_lines = not control and not bank
    return {
        "visible_in_banking": bank,
        "visible_in_expenses": open_to_lines,
        "visible_in_journals": True,
        "visible_in_other_payments": open_to_lines,
        "visible_in_other_receipts": open_to_lines,
        "visible_in_reporting": True,
        "visible_in_sales": open_to_lines,
    }


def ledger_account_payload(record: LedgerAccount, ref: Ref) -> Written:
    notes = _Notes()
    name = notes.clip(record.name, "account_name", "name")
    body = {
        "ledger_account_type_id": ACCOUNT_TYPES[record.type],
        "included_in_chart": not record.inactive,
        "name": name,
        "display_name": name,
        "nominal_code": nominal_code(record.code),
        "tax_rate_id": _opt_ref(ref, "tax_rates", record.tax_rate),
        **visibility(record),
    }
    return Written(_drop_none(body), tuple(notes.items))


def role_of(obj: Mapping[str, Any]) -> ControlRole | None:
    """The control role of a Sage ledger account: its control name, else GB's usual codes."""
    role = _ROLE_OF_CONTROL.get(str(obj.get("control_name") or ""))
    if role is not None:
        return role
    if _ref_id(obj.get("ledger_account_type")) == "BANK":
        return ControlRole.BANK
    if obj.get("is_control_account"):
        return _GB_CONTROL_CODES.get(int(obj.get("nominal_code") or 0))
    return None


def read_ledger_account(obj: Mapping[str, Any]) -> LedgerAccount:
    code = int(obj.get("nominal_code") or 0)
    sage_type = _ref_id(obj.get("ledger_account_type")) or "OVERHEADS"
    account_type = _SAGE_TYPES.get(sage_type, AccountType.OVERHEADS)
    # Sage has one "direct expenses" type; the GB chart keeps purchases in the 5000s.
    if sage_type == "DIRECT_EXPENSES" and 5000 <= code < 6000:
        account_type = AccountType.PURCHASES
    return LedgerAccount(
        key=str(obj["id"]),
        code=str(code).zfill(4),
        name=str(obj.get("name") or obj.get("displayed_as") or code),
        type=account_type,
        control_role=role_of(obj),
        tax_rate=_ref_id(obj.get("tax_rate")),
        inactive=obj.get("included_in_chart") is False,
    )


def category_code(option: TrackingOption) -> str:
    """The analysis category code for a tracking option: its key, else its name, cut to 10."""
    if len(option.key) <= LIMITS["category_code"]:
        return option.key
    return option.name[: LIMITS["category_code"]]


def read_tracking_category(
    analysis_type: Mapping[str, Any], categories: Iterable[Mapping[str, Any]]
) -> TrackingCategory:
    return TrackingCategory(
        key=str(analysis_type["id"]),
        name=str(analysis_type.get("name") or analysis_type["id"]),
        options=tuple(
            TrackingOption(key=str(c["id"]), name=str(c.get("name") or c.get("code") or c["id"]))
            for c in categories
        ),
    )


def bank_account_payload(record: BankAccount, ref: Ref, base_currency: str) -> Written:
    notes = _Notes()
    details = _drop_none(
        {
            "account_name": notes.clip(record.name, "account_name", "account name"),
            "account_number": record.account_number,
            "sort_code": record.sort_code,
            "bic": record.bic,
            "iban": record.iban,
        }
    )
    body = {
        "bank_account_type_id": BANK_TYPES[record.kind],
        "ledger_account_id": ref("ledger_accounts", record.account),
        "bank_account_details": details,
        "currency_id": record.currency if record.currency != base_currency else None,
        "is_active": not record.inactive,
    }
    return Written(_drop_none(body), tuple(notes.items))


def read_bank_account(obj: Mapping[str, Any], base_currency: str) -> BankAccount:
    details = obj.get("bank_account_details") or {}
    return BankAccount(
        key=str(obj["id"]),
        name=str(details.get("account_name") or obj.get("displayed_as") or obj["id"]),
        account=str(_ref_id(obj.get("ledger_account"))),
        kind=_BANK_KINDS.get(_ref_id(obj.get("bank_account_type")) or "", BankAccountKind.CURRENT),
        currency=_ref_id(obj.get("currency")) or base_currency,
        sort_code=details.get("sort_code"),
        account_number=details.get("account_number"),
        iban=details.get("iban"),
        bic=details.get("bic"),
        inactive=obj.get("is_active") is False,
    )


# ---------------------------------------------------------------------------
# contacts and items
# ---------------------------------------------------------------------------


def _address_payload(address: Address, notes: _Notes) -> dict[str, Any] | None:
    body = _drop_none(
        {
            "address_line_1": notes.clip(address.line1, "address_line", "address line 1"),
            "address_line_2": notes.clip(address.line2, "address_line", "address line 2"),
            "city": notes.clip(address.city, "address_line", "city"),
            "region": notes.clip(address.region, "address_line", "region"),
            "postal_code": notes.clip(address.postal_code, "postal_code", "postal code"),
            "country_id": address.country,
        }
    )
    return body or None


def contact_payload(
    record: Contact, ref: Ref, reference: str | None, base_currency: str
) -> Written:
    """A contact; ``reference`` is the checked Sage reference (see ``contact_reference``)."""
    notes = _Notes()
    person = _drop_none(
        {
            "name": notes.clip(record.contact_name or record.name, "person_field", "contact name"),
            "telephone": notes.clip(record.phone, "person_field", "telephone"),
            "email": record.email if record.email and len(record.email) <= 100 else None,
        }
    )
    if record.email and len(record.email) > LIMITS["email"]:
        notes.items.append("email longer than 100 characters left out")
    days = record.payment_terms_days
    if days is not None and not 0 <= days <= 365:
        notes.items.append(f"payment terms of {days} days kept within Sage's 0 to 365")
        days = min(max(days, 0), 365)
    body = {
        "name": notes.clip(record.name, "contact_name", "name"),
        "contact_type_ids": ["CUSTOMER"] if record.is_customer else ["VENDOR"],
        "reference": reference,
        "default_sales_ledger_account_id": _opt_ref(ref, "ledger_accounts", record.sales_account),
        "default_purchase_ledger_account_id": _opt_ref(
            ref, "ledger_accounts", record.purchase_account
        ),
        "default_sales_tax_rate_id": (
            _opt_ref(ref, "tax_rates", record.tax_rate) if record.is_customer else None
        ),
        "tax_number": record.tax_number,
        "credit_limit": record.credit_limit,
        "credit_days": days,
        "credit_terms": "date_from_invoice" if days is not None else None,
        "currency_id": record.currency if record.currency not in (None, base_currency) else None,
        "source_guid": record.key,
        "main_address": _address_payload(record.address, notes),
        "main_contact_person": person or None,
    }
    return Written(_drop_none(body), tuple(notes.items))


def contact_reference(record: Contact) -> tuple[str | None, bool]:
    """The Sage reference a contact asks for: its code, cut to 10 characters."""
    return clip(record.code, LIMITS["contact_reference"])


def read_contact(obj: Mapping[str, Any], base_currency: str) -> Contact:
    types = {_ref_id(t) for t in obj.get("contact_types") or ()}
    address = obj.get("main_address") or {}
    person = obj.get("main_contact_person") or {}
    return Contact(
        key=str(obj["id"]),
        code=obj.get("reference"),
        name=str(obj.get("name") or obj.get("displayed_as") or obj["id"]),
        is_customer="CUSTOMER" in types,
        is_supplier="VENDOR" in types,
        address=Address(
            line1=address.get("address_line_1"),
            line2=address.get("address_line_2"),
            city=address.get("city"),
            region=address.get("region"),
            postal_code=address.get("postal_code"),
            country=_ref_id(address.get("country")),
        ),
        contact_name=person.get("name"),
        email=person.get("email") or obj.get("email"),
        phone=person.get("telephone"),
        tax_number=obj.get("tax_number"),
        currency=_ref_id(obj.get("currency")) or base_currency,
        credit_limit=opt_money(obj.get("credit_limit")),
        payment_terms_days=obj.get("credit_days"),
        sales_account=_ref_id(obj.get("default_sales_ledger_account")),
        purchase_account=_ref_id(obj.get("default_purchase_ledger_account")),
        tax_rate=_ref_id(obj.get("default_sales_tax_rate")),
        inactive=obj.get("is_active") is False,
    )


def item_endpoint(record: Item) -> str:
    """Services go to ``/services``; stock and non-stock items to ``/products``."""
    return "services" if record.kind is ItemKind.SERVICE else "products"


def item_payload(record: Item, ref: Ref) -> Written:
    notes = _Notes()
    body: dict[str, Any] = {
        "description": notes.clip(record.name, "item_description", "name"),
        "item_code": record.code,
        "notes": notes.clip(record.description, "item_notes", "description"),
        "sales_ledger_account_id": _opt_ref(ref, "ledger_accounts", record.sales_account),
        "purchase_ledger_account_id": _opt_ref(ref, "ledger_accounts", record.purchase_account),
        "sales_tax_rate_id": _opt_ref(ref, "tax_rates", record.tax_rate),
        "purchase_tax_rate_id": _opt_ref(ref, "tax_rates", record.tax_rate),
        "usual_supplier_id": _opt_ref(ref, "contacts", record.supplier),
        "cost_price": record.purchase_price,
        "source_guid": record.key,
        "active": not record.inactive,
    }
    if record.kind is ItemKind.SERVICE:
        if record.sales_price is not None:
            body["sales_rates"] = [
                {"rate_name": "Rate", "rate": record.sales_price, "rate_includes_tax": False}
            ]
    else:
        body["catalog_item_type_id"] = (
            "STOCK_ITEM" if record.kind is ItemKind.STOCK else "NON_STOCK_ITEM"
        )
        if record.sales_price is not None:
            body["sales_prices"] = [
                {
                    "price_name": "Selling Price",
                    "price": record.sales_price,
                    "price_includes_tax": False,
                }
            ]
    return Written(_drop_none(body), tuple(notes.items))


def read_item(obj: Mapping[str, Any], endpoint: str) -> Item:
    if endpoint == "services":
        kind = ItemKind.SERVICE
        prices = obj.get("sales_rates") or []
        price = opt_money(prices[0].get("rate")) if prices else None
    else:
        stock = _ref_id(obj.get("catalog_item_type")) == "STOCK_ITEM"
        kind = ItemKind.STOCK if stock else ItemKind.NON_STOCK
        prices = obj.get("sales_prices") or []
        price = opt_money(prices[0].get("price")) if prices else None
    return Item(
        key=f"{endpoint}:{obj['id']}",
        code=str(obj.get("item_code") or obj["id"]),
        name=str(obj.get("description") or obj.get("item_code") or obj["id"]),
        description=obj.get("notes"),
        kind=kind,
        sales_price=price,
        purchase_price=opt_money(obj.get("cost_price")),
        sales_account=_ref_id(obj.get("sales_ledger_account")),
        purchase_account=_ref_id(obj.get("purchase_ledger_account")),
        tax_rate=_ref_id(obj.get("sales_tax_rate")),
        supplier=_ref_id(obj.get("usual_supplier")),
        inactive=obj.get("active") is False,
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
