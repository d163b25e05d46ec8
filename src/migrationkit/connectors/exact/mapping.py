"""Canonical records to Exact Online payloads and back: pure functions, no calls.

Masters (VAT codes, G/L accounts, bank journals, relations, items, cost centers) and entries
(sales and purchase entries, general journal entries, bank and cash entries). The conventions:

* Amounts go out exactly as the source holds them, net and VAT, in the entry's currency and in
  the division's (``AmountDC``, ``VATAmountDC``), so Exact's totals are the source's to the penny.
  Exact's ``Rate`` is base per unit of the entry's currency (``AmountDC = AmountFC × Rate``),
  the inverse of the canonical ``exchange_rate``.
* Credit notes are entries of type 21 (sales) and 31 (purchases) with negative amounts.
* A bank entry line's ``AmountFC`` is money into the bank when positive; its VAT is
  ``AmountVATFC`` beside it.
* Records without a natural key Exact enforces carry a **stamp** in the first line's ``Notes``:
  ``migrationkit <key>``, then ``reference: …`` and ``narration: …`` lines (see :func:`notes`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from migrationkit.core.errors import MappingError
from migrationkit.core.model import (
    AccountType,
    Address,
    BankAccount,
    BankAccountKind,
    BankTransaction,
    BankTransactionKind,
    BankTransfer,
    Contact,
    ControlRole,
    CreditNote,
    DocumentKind,
    DocumentLine,
    Invoice,
    Item,
    ItemKind,
    JournalLine,
    LedgerAccount,
    ManualJournal,
    OpenItem,
    OpenItemKind,
    Payment,
    PaymentKind,
    Refund,
    RefundKind,
    TaxRate,
    TaxTreatment,
    TrackingAssignment,
)

from . import wire

__all__ = [
    "COST_CENTERS",
    "COST_UNITS",
    "Written",
    "account_payload",
    "bank_journal_payload",
    "document_payload",
    "gl_account_payload",
    "item_payload",
    "journal_lines",
    "notes",
    "open_item_payload",
    "rate_of",
    "read_bank_account",
    "read_contact",
    "read_document",
    "read_gl_account",
    "read_item",
    "read_notes",
    "read_open_item",
    "read_tax_rate",
    "stamp",
    "vat_code_payload",
]

Ref = Callable[[str, str], str]
"""``ref(entity, key)``: the target id of a referenced record (raises if it did not load)."""

COST_CENTERS = "costcenters"
COST_UNITS = "costunits"
DIMENSION_FIELDS = {COST_CENTERS: "CostCenter", COST_UNITS: "CostUnit"}
ITEM_DESCRIPTION = 60
"""Exact keeps an item's ``Description`` to 60 characters (``ExtraDescription`` to 255)."""
RATE_PLACES = Decimal("1e-12")
READ_RATE_PLACES = Decimal("1e-6")
_SORT_CODE = re.compile(r"^\d{2}-\d{2}-\d{2}$")
_STAMP = "migrationkit "


@attrs.frozen
class Written:
    """A payload and what the connector had to change in it to fit (warnings)."""

    body: dict[str, Any]
    warnings: tuple[str, ...] = ()


def stamp(idempotency_key: str) -> str:
    """The part of a write's idempotency key kept in Exact to find the write again."""
    return idempotency_key[:24]


def notes(tag: str | None, **fields: str | None) -> str | None:
    """``Notes`` text: the stamp line, then ``name: value`` lines (what Exact has no field for)."""
    lines = [_STAMP + tag] if tag else []
    lines += [f"{name}: {' '.join(str(value).split())}" for name, value in fields.items() if value]
    return "\n".join(lines) or None


def read_notes(text: str | None) -> tuple[str | None, dict[str, str]]:
    """The stamp and the fields of a ``Notes`` text written by :func:`notes`."""
    tag = None
    fields: dict[str, str] = {}
    for line in (text or "").splitlines():
        if line.startswith(_STAMP):
            tag = line[len(_STAMP) :].strip()
        elif ": " in line:
            name, _, value = line.partition(": ")
            fields[name.strip()] = value
    return tag, fields


def rate_of(exchange_rate: Decimal) -> Decimal:
    """Exact's ``Rate`` (base per unit of the entry's currency) for a canonical exchange rate."""
    return (Decimal(1) / exchange_rate).quantize(RATE_PLACES)


def exchange_rate_of(rate: Any) -> Decimal:
    """The canonical exchange rate (entry currency per base unit) from Exact's ``Rate``."""
    value = wire.money(rate) if rate not in (None, "") else Decimal(1)
    if value <= 0:
        return Decimal(1)
    found = (Decimal(1) / value).quantize(READ_RATE_PLACES)
    return found.normalize() if found != found.to_integral() else found.quantize(Decimal(1))


def signed(sign: Decimal, value: Any) -> Decimal:
    """``sign × value`` from the wire, never a negative zero."""
    return sign * wire.money(value) + Decimal(0)


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


# ---------------------------------------------------------------------------------------------
# VAT codes
# ---------------------------------------------------------------------------------------------


def vat_code_payload(record: TaxRate, to_pay: str | None, to_claim: str | None) -> Written:
    """A VAT code: the percentage as a fraction, the treatment in Exact's flags."""
    if not 0 <= record.rate <= 100:
        raise MappingError(f"a VAT percentage of {record.rate} is not between 0 and 100")
    if not record.in_tax_return or record.treatment is TaxTreatment.OUTSIDE_SCOPE:
        kind = "N"
    elif record.rate == 0:
        kind = "B"
    else:
        kind = "E"
    listing = "N"
    if record.ec_sales:
        listing = "S" if record.treatment is TaxTreatment.EC_SERVICES_SALES else "L"
    body: dict[str, Any] = {
        "Code": record.code,
        "Description": record.name,
        "Percentage": record.rate / 100,
        "Type": kind,
        "VATTransactionType": "S" if record.ec_sales else "P" if record.ec_purchases else "B",
        "EUSalesListing": listing,
        "Charged": record.reverse_charge or record.ec_purchases,
        "IsBlocked": record.inactive,
    }
    if to_pay and kind != "N":
        body["GLToPay"] = to_pay
    if to_claim and kind != "N":
        body["GLToClaim"] = to_claim
    return Written(body)


def read_tax_rate(row: Mapping[str, Any]) -> TaxRate:
    rate = (wire.money(row.get("Percentage")) * 100).normalize()
    kind = row.get("Type") or "E"
    charged = bool(row.get("Charged"))
    transaction = row.get("VATTransactionType") or "B"
    ec_sales = transaction == "S" and row.get("EUSalesListing") in ("L", "S")
    ec_purchases = transaction == "P" and charged
    if kind == "N":
        treatment = TaxTreatment.OUTSIDE_SCOPE
    elif ec_sales:
        services = row.get("EUSalesListing") == "S"
        treatment = TaxTreatment.EC_SERVICES_SALES if services else TaxTreatment.EC_GOODS_SALES
    elif ec_purchases:
        treatment = TaxTreatment.EC_GOODS_PURCHASES
    elif charged:
        treatment = TaxTreatment.REVERSE_CHARGE
    elif rate == 0:
        treatment = TaxTreatment.ZERO
    else:
        treatment = TaxTreatment.STANDARD
    code = str(row["Code"]).strip()
    return TaxRate(
        key=code,
        code=code,
        name=str(row.get("Description") or code),
        rate=rate if rate != rate.to_integral() else rate.quantize(Decimal(1)),
        treatment=treatment,
        in_tax_return=kind != "N",
        ec_sales=ec_sales,
        ec_purchases=ec_purchases,
        reverse_charge=charged and not ec_purchases,
        inactive=bool(row.get("IsBlocked")),
    )


# ---------------------------------------------------------------------------------------------
# G/L accounts
# ---------------------------------------------------------------------------------------------

_GL_TYPE = {
    AccountType.FIXED_ASSET: 30,
    AccountType.CURRENT_ASSET: 32,
    AccountType.BANK: 12,
    AccountType.CURRENT_LIABILITY: 90,
    AccountType.LONG_TERM_LIABILITY: 55,
    AccountType.EQUITY: 50,
    AccountType.SALES: 110,
    AccountType.OTHER_INCOME: 140,
    AccountType.PURCHASES: 111,
    AccountType.DIRECT_EXPENSES: 121,
    AccountType.OVERHEADS: 120,
    AccountType.DEPRECIATION: 122,
}
_ROLE_TYPE = {
    ControlRole.RECEIVABLES: 20,
    ControlRole.PAYABLES: 22,
    ControlRole.SALES_TAX: 24,
    ControlRole.PURCHASE_TAX: 24,
    ControlRole.TAX_LIABILITY: 24,
    ControlRole.RETAINED_EARNINGS: 52,
    ControlRole.BANK: 12,
}
_READ_TYPE = {
    **dict.fromkeys((10, 12, 14, 16), AccountType.BANK),
    **dict.fromkeys((20, 21, 26, 32, 40), AccountType.CURRENT_ASSET),
    **dict.fromkeys((30, 35), AccountType.FIXED_ASSET),
    **dict.fromkeys((22, 25, 27, 29, 60, 100), AccountType.CURRENT_LIABILITY),
    50: AccountType.EQUITY,
    52: AccountType.EQUITY,
    55: AccountType.LONG_TERM_LIABILITY,
    110: AccountType.SALES,
    140: AccountType.OTHER_INCOME,
    160: AccountType.OTHER_INCOME,
    111: AccountType.PURCHASES,
    121: AccountType.DIRECT_EXPENSES,
    122: AccountType.DEPRECIATION,
    **dict.fromkeys((120, 123, 125, 126, 130, 150, 300, 301, 302), AccountType.OVERHEADS),
}
_READ_ROLE = {
    10: ControlRole.BANK,
    12: ControlRole.BANK,
    14: ControlRole.BANK,
    16: ControlRole.BANK,
    20: ControlRole.RECEIVABLES,
    22: ControlRole.PAYABLES,
    52: ControlRole.RETAINED_EARNINGS,
}
RECEIVABLES_TYPE = 20
PAYABLES_TYPE = 22
VAT_TYPE = 24


def gl_type(record: LedgerAccount) -> int:
    """Exact's ``Type`` for an account: its control role's, else its type's."""
    if record.control_role in _ROLE_TYPE:
        return _ROLE_TYPE[record.control_role]
    if record.type is AccountType.BANK:
        return 12
    return _GL_TYPE[record.type]


def gl_account_payload(record: LedgerAccount, tax_code: str | None) -> Written:
    kind = gl_type(record)
    debit = record.type.account_class.value in ("asset", "expense")
    body = {
        "Code": record.code,
        "Description": record.name,
        "Type": kind,
        "BalanceType": "B" if record.type.on_balance_sheet else "W",
        "BalanceSide": "D" if debit else "C",
        "IsBlocked": record.inactive,
    }
    if tax_code:
        body["VATCode"] = tax_code
    return Written(body)


def read_gl_account(row: Mapping[str, Any], vat_roles: Mapping[str, ControlRole]) -> LedgerAccount:
    """An Exact G/L account; ``vat_roles`` says which VAT accounts pay and which claim."""
    kind = int(row.get("Type") or 90)
    side = row.get("BalanceSide") or "D"
    if kind in (24, 90) or kind not in _READ_TYPE:
        balance = (row.get("BalanceType") or "B") == "B"
        if balance:
            account_type = (
                AccountType.CURRENT_ASSET if side == "D" else AccountType.CURRENT_LIABILITY
            )
        else:
            account_type = AccountType.OVERHEADS if side == "D" else AccountType.OTHER_INCOME
    else:
        account_type = _READ_TYPE[kind]
    role = _READ_ROLE.get(kind)
    if kind == VAT_TYPE:
        role = vat_roles.get(str(row["ID"]), ControlRole.TAX_LIABILITY)
    return LedgerAccount(
        key=str(row["ID"]),
        code=str(row["Code"]).strip(),
        name=str(row.get("Description") or ""),
        type=account_type,
        control_role=role,
        tax_rate=_text(row.get("VATCode")),
        inactive=bool(row.get("IsBlocked")),
    )


# ---------------------------------------------------------------------------------------------
# banks: journals of type 12 (bank) and 10 (cash)
# ---------------------------------------------------------------------------------------------


def journal_type(record: BankAccount) -> int:
    return 10 if record.kind is BankAccountKind.CASH else 12


def bank_journal_payload(record: BankAccount, code: str, gl_id: str, gl_code: str) -> Written:
    """A bank journal on the bank's G/L account; a cash account becomes a cash journal.

    Exact needs an account number for a bank journal: a sort code travels with the number
    (``"40-12-34 12345678"``); a bank without a number gets its G/L code, with a warning.
    """
    warnings = []
    number = record.account_number
    if journal_type(record) == 12 and not (number or record.iban):
        number = gl_code
        warnings.append(
            f"Exact needs a bank account number for a bank journal and the source has none: "
            f"the G/L code {gl_code} stands in for it; change it in Exact"
        )
    if record.sort_code:
        number = f"{record.sort_code} {number or ''}".strip()
    body = {
        "Code": code,
        "Description": record.name,
        "Type": journal_type(record),
        "GLAccount": gl_id,
        "Currency": record.currency,
        "AllowVariableCurrency": True,
        "BankName": record.bank_name,
        "BankAccountIncludingMask": number,
        "BankAccountIBAN": record.iban,
        "BankAccountBICCode": record.bic,
        "IsBlocked": record.inactive,
    }
    return Written({k: v for k, v in body.items() if v is not None}, tuple(warnings))


def read_bank_account(row: Mapping[str, Any]) -> BankAccount:
    mask = _text(row.get("BankAccountIncludingMask"))
    sort_code = number = None
    if mask:
        first, _, rest = mask.partition(" ")
        if _SORT_CODE.match(first):
            sort_code, number = first, _text(rest)
        else:
            number = mask
    if number == _text(row.get("GLAccountCode")):
        number = None  # the G/L code stood in for a number the source did not have
    return BankAccount(
        key=str(row["Code"]).strip(),
        name=str(row.get("Description") or ""),
        account=str(row["GLAccount"]),
        kind=BankAccountKind.CASH if row.get("Type") == 10 else BankAccountKind.CURRENT,
        currency=str(row.get("Currency") or "EUR"),
        bank_name=_text(row.get("BankName")),
        sort_code=sort_code,
        account_number=number,
        iban=_text(row.get("BankAccountIBAN")),
        bic=_text(row.get("BankAccountBICCode")),
        inactive=bool(row.get("IsBlocked")),
    )


# ---------------------------------------------------------------------------------------------
# relations and items
# ---------------------------------------------------------------------------------------------


def account_payload(
    record: Contact,
    ref: Ref,
    *,
    keep_code: bool,
    payment_condition: str | None,
) -> Written:
    """A relation; a numeric code is Exact's ``Code``, any other is its ``SearchCode``."""
    body: dict[str, Any] = {
        "Name": record.name,
        "IsSales": record.is_customer,
        "IsSupplier": record.is_supplier,
        "Email": record.email,
        "Phone": record.phone,
        "VATNumber": record.tax_number,
        "AddressLine1": record.address.line1,
        "AddressLine2": record.address.line2,
        "AddressLine3": record.address.region,
        "City": record.address.city,
        "Postcode": record.address.postal_code,
        "Country": record.address.country,
        "Blocked": record.inactive,
    }
    if record.is_customer:
        body["Status"] = "C"
    if record.code and keep_code and wire.numeric_code(record.code):
        body["Code"] = wire.account_code(record.code)
    elif record.code:
        body["SearchCode"] = record.code
    side = "Sales" if record.is_customer else "Purchase"
    if record.currency:
        body[f"{side}Currency"] = record.currency
    if record.credit_limit is not None:
        body[f"CreditLine{side}"] = record.credit_limit
    if payment_condition:
        body[f"PaymentCondition{side}"] = payment_condition
    if record.sales_account:
        body["GLAccountSales"] = ref("ledger_accounts", record.sales_account)
    if record.purchase_account:
        body["GLAccountPurchase"] = ref("ledger_accounts", record.purchase_account)
    if record.tax_rate:
        body["SalesVATCode" if record.is_customer else "PurchaseVATCode"] = ref(
            "tax_rates", record.tax_rate
        )
    return Written({k: v for k, v in body.items() if v is not None})


def read_contact(row: Mapping[str, Any], condition_days: Mapping[str, int]) -> Contact:
    customer = row.get("Status") == "C" or bool(row.get("IsSales"))
    side = "Sales" if customer else "Purchase"
    condition = _text(row.get(f"PaymentCondition{side}"))
    limit = row.get(f"CreditLine{side}")
    return Contact(
        key=str(row["ID"]),
        code=_text(row.get("Code")),
        name=str(row.get("Name") or ""),
        is_customer=customer,
        is_supplier=bool(row.get("IsSupplier")),
        address=Address(
            line1=row.get("AddressLine1"),
            line2=row.get("AddressLine2"),
            region=row.get("AddressLine3"),
            city=row.get("City"),
            postal_code=row.get("Postcode"),
            country=row.get("Country"),
        ),
        email=row.get("Email"),
        phone=row.get("Phone"),
        tax_number=row.get("VATNumber"),
        currency=_text(row.get(f"{side}Currency")),
        credit_limit=wire.money(limit) if limit is not None else None,
        payment_terms_days=condition_days.get(condition) if condition else None,
        sales_account=_text(row.get("GLAccountSales")),
        purchase_account=_text(row.get("GLAccountPurchase")),
        tax_rate=_text(row.get("SalesVATCode" if customer else "PurchaseVATCode")),
        inactive=bool(row.get("Blocked")),
    )


def item_payload(record: Item, ref: Ref, today: dt.date) -> Written:
    warnings = []
    name = record.name
    if len(name) > ITEM_DESCRIPTION:
        name = name[:ITEM_DESCRIPTION]
        warnings.append(f"name cut to Exact's {ITEM_DESCRIPTION} characters: {name!r}")
    body: dict[str, Any] = {
        "Code": record.code,
        "Description": name,
        "ExtraDescription": record.description,
        "IsSalesItem": True,
        "IsPurchaseItem": record.purchase_account is not None or record.purchase_price is not None,
        "IsStockItem": record.kind is ItemKind.STOCK,
        "StandardSalesPrice": record.sales_price,
        "CostPriceStandard": record.purchase_price,
        "EndDate": wire.date_text(today) if record.inactive else None,
    }
    if record.sales_account:
        body["GLRevenue"] = ref("ledger_accounts", record.sales_account)
    if record.purchase_account:
        body["GLCosts"] = ref("ledger_accounts", record.purchase_account)
    if record.tax_rate:
        body["SalesVatCode"] = ref("tax_rates", record.tax_rate)
    return Written({k: v for k, v in body.items() if v is not None}, tuple(warnings))


def read_item(row: Mapping[str, Any], today: dt.date) -> Item:
    ended = wire.opt_date(row.get("EndDate"))
    sales, cost = row.get("StandardSalesPrice"), row.get("CostPriceStandard")
    return Item(
        key=str(row["ID"]),
        code=str(row["Code"]).strip(),
        name=str(row.get("Description") or ""),
        description=row.get("ExtraDescription"),
        kind=ItemKind.STOCK if row.get("IsStockItem") else ItemKind.NON_STOCK,
        sales_price=wire.money(sales) if sales is not None else None,
        purchase_price=wire.money(cost) if cost is not None else None,
        sales_account=_text(row.get("GLRevenue")),
        purchase_account=_text(row.get("GLCosts")),
        tax_rate=_text(row.get("SalesVatCode")),
        inactive=ended is not None and ended <= today,
    )


# ---------------------------------------------------------------------------------------------
# sales and purchase entries
# ---------------------------------------------------------------------------------------------


def dimensions(choices: Iterable[TrackingAssignment], ref: Ref) -> dict[str, str]:
    """``CostCenter``/``CostUnit`` of a line, from its tracking choices."""
    found: dict[str, str] = {}
    for choice in choices:
        dimension = ref("tracking_categories", choice.category)
        field = DIMENSION_FIELDS.get(dimension)
        if field is None:
            raise MappingError(f"tracking category {choice.category} is not in Exact")
        found[field] = choice.option
    return found


def read_dimensions(row: Mapping[str, Any]) -> tuple[TrackingAssignment, ...]:
    return tuple(
        TrackingAssignment(category=dimension, option=str(row[field]))
        for dimension, field in DIMENSION_FIELDS.items()
        if row.get(field)
    )


def _header(
    record: Invoice | CreditNote | OpenItem,
    journal: str,
    contact_field: str,
    contact: str,
    base_currency: str,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Journal": journal,
        contact_field: contact,
        "EntryDate": wire.date_text(record.date),
        "YourRef": record.number,
        "Description": record.description,
        "Currency": record.currency,
    }
    if record.due_date:
        body["DueDate"] = wire.date_text(record.due_date)
    if record.currency != base_currency:
        body["Rate"] = rate_of(record.exchange_rate)
    return body


def document_payload(
    record: Invoice | CreditNote,
    ref: Ref,
    *,
    journal: str,
    base_currency: str,
    entry_number: int | None,
    tag: str,
) -> Written:
    """A sales or purchase entry; a credit note is type 21 or 31 with negative amounts."""
    sales = record.kind is DocumentKind.SALES
    credit = isinstance(record, CreditNote)
    sign = Decimal(-1) if credit else Decimal(1)
    body = _header(
        record,
        journal,
        "Customer" if sales else "Supplier",
        ref("contacts", record.contact),
        base_currency,
    )
    body["Type"] = (21 if credit else 20) if sales else (31 if credit else 30)
    if record.reference:
        body["PaymentReference"] = record.reference
    if entry_number is not None:
        body["EntryNumber"] = entry_number
    lines = []
    for n, line in enumerate(record.lines):
        entry_line: dict[str, Any] = {
            "GLAccount": ref("ledger_accounts", line.account),
            "AmountFC": sign * line.net,
            "AmountDC": sign * line.base_net,
            "VATAmountFC": sign * line.tax,
            "VATAmountDC": sign * line.base_tax,
            "Description": line.description or None,
            **dimensions(line.tracking, ref),
        }
        if line.tax_rate:
            entry_line["VATCode"] = ref("tax_rates", line.tax_rate)
        if line.quantity is not None:
            entry_line["Quantity"] = line.quantity
        if n == 0:
            entry_line["Notes"] = notes(tag)
        lines.append({k: v for k, v in entry_line.items() if v is not None})
    body["SalesEntryLines" if sales else "PurchaseEntryLines"] = lines
    warnings: tuple[str, ...] = ()
    if any(line.item for line in record.lines):
        warnings = ("Exact's sales and purchase entry lines carry no item: the items stay out",)
    return Written({k: v for k, v in body.items() if v is not None}, warnings)


def entry_key(path: str, entry_id: str) -> str:
    """A target id for an entry: ``sales:ID``, ``purchase:ID``, ``general:ID``, ``bank:ID``."""
    return f"{path}:{entry_id}"


def read_document(
    row: Mapping[str, Any], *, sales: bool, lines: Sequence[Mapping[str, Any]]
) -> Invoice | CreditNote:
    credit = row.get("Type") in (21, 31)
    sign = Decimal(-1) if credit else Decimal(1)
    document: dict[str, Any] = {
        "key": entry_key("sales" if sales else "purchase", str(row["EntryID"])),
        "kind": DocumentKind.SALES if sales else DocumentKind.PURCHASE,
        "number": _text(row.get("YourRef")) or str(row.get("EntryNumber")),
        "contact": str(row["Customer" if sales else "Supplier"]),
        "date": wire.opt_date(row.get("EntryDate")),
        "due_date": wire.opt_date(row.get("DueDate")),
        "reference": _text(row.get("PaymentReference")),
        "description": _text(row.get("Description")),
        "currency": str(row.get("Currency")),
        "exchange_rate": exchange_rate_of(row.get("Rate")),
        "lines": tuple(
            DocumentLine(
                description=str(line.get("Description") or ""),
                account=str(line["GLAccount"]),
                tax_rate=_text(line.get("VATCode")),
                net=signed(sign, line.get("AmountFC")),
                tax=signed(sign, line.get("VATAmountFC")),
                base_net=signed(sign, line.get("AmountDC")),
                base_tax=signed(sign, line.get("VATAmountDC")),
                quantity=wire.opt_money(line.get("Quantity")),
                tracking=read_dimensions(line),
            )
            for line in lines
        ),
    }
    return CreditNote(**document) if credit else Invoice(**document)


def open_item_payload(
    record: OpenItem,
    ref: Ref,
    *,
    journal: str,
    opening_account: str,
    base_currency: str,
    entry_number: int | None,
    tag: str,
) -> Written:
    """An outstanding item as an entry against the opening account, at its own date."""
    sales = record.kind.ledger is DocumentKind.SALES
    sign = Decimal(1) if record.kind.increases_balance else Decimal(-1)
    body = _header(
        record,
        journal,
        "Customer" if sales else "Supplier",
        ref("contacts", record.contact),
        base_currency,
    )
    body["Type"] = (20 if sign > 0 else 21) if sales else (30 if sign > 0 else 31)
    if entry_number is not None:
        body["EntryNumber"] = entry_number
    line = {
        "GLAccount": opening_account,
        "AmountFC": sign * record.outstanding,
        "AmountDC": sign * record.base_outstanding,
        "VATAmountFC": Decimal(0),
        "VATAmountDC": Decimal(0),
        "Description": "Opening balance",
        "Notes": notes(tag, kind=record.kind.value),
    }
    body["SalesEntryLines" if sales else "PurchaseEntryLines"] = [line]
    warnings: tuple[str, ...] = ()
    if record.allocations:
        warnings = ("what it was set against at the source is not matched in Exact: match it",)
    return Written({k: v for k, v in body.items() if v is not None}, warnings)


_OPEN_KINDS = {
    (True, True): OpenItemKind.SALES_INVOICE,
    (True, False): OpenItemKind.SALES_CREDIT,
    (False, True): OpenItemKind.PURCHASE_INVOICE,
    (False, False): OpenItemKind.PURCHASE_CREDIT,
}


def read_open_item(
    row: Mapping[str, Any], *, sales: bool, lines: Sequence[Mapping[str, Any]]
) -> OpenItem:
    amount = sum((wire.money(x.get("AmountFC")) for x in lines), Decimal(0))
    base = sum((wire.money(x.get("AmountDC")) for x in lines), Decimal(0))
    _tag, fields = read_notes(lines[0].get("Notes") if lines else None)
    kind = _OPEN_KINDS[(sales, amount >= 0)]
    if fields.get("kind") in {k.value for k in OpenItemKind}:
        written = OpenItemKind(fields["kind"])
        if written.ledger is kind.ledger and written.increases_balance is (amount >= 0):
            kind = written
    return OpenItem(
        key=entry_key("sales" if sales else "purchase", str(row["EntryID"])),
        kind=kind,
        contact=str(row["Customer" if sales else "Supplier"]),
        number=_text(row.get("YourRef")) or str(row.get("EntryNumber")),
        description=_text(row.get("Description")),
        date=wire.required_date(row.get("EntryDate")),
        due_date=wire.opt_date(row.get("DueDate")),
        currency=str(row.get("Currency")),
        exchange_rate=exchange_rate_of(row.get("Rate")),
        gross=abs(amount),
        outstanding=abs(amount),
        base_outstanding=abs(base),
    )


# ---------------------------------------------------------------------------------------------
# general journal entries
# ---------------------------------------------------------------------------------------------


def journal_lines(record: ManualJournal, ref: Ref, tag: str) -> list[dict[str, Any]]:
    """A manual journal's lines (debit positive, base currency), the stamp on the first."""
    lines = []
    for n, line in enumerate(record.lines):
        entry_line: dict[str, Any] = {
            "Date": wire.date_text(record.date),
            "GLAccount": ref("ledger_accounts", line.account),
            "AmountFC": line.amount,
            "AmountDC": line.amount,
            "Description": line.description or None,
            **dimensions(line.tracking, ref),
        }
        if n == 0:
            entry_line["Notes"] = notes(tag, reference=record.reference, narration=record.narration)
        lines.append({k: v for k, v in entry_line.items() if v is not None})
    return lines


def read_journal(row: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> ManualJournal:
    _tag, fields = read_notes(lines[0].get("Notes") if lines else None)
    dates = [d for d in (wire.opt_date(x.get("Date")) for x in lines) if d]
    return ManualJournal(
        key=entry_key("general", str(row["EntryID"])),
        date=min(dates) if dates else dt.date(1970, 1, 1),
        reference=fields.get("reference"),
        narration=fields.get("narration", str(lines[0].get("Description") or "") if lines else ""),
        lines=tuple(
            JournalLine(
                account=str(x["GLAccount"]),
                amount=wire.money(x.get("AmountDC")),
                description=str(x.get("Description") or ""),
                tracking=read_dimensions(x),
            )
            for x in lines
        ),
    )


# ---------------------------------------------------------------------------------------------
# bank and cash entries
# ---------------------------------------------------------------------------------------------


def money_in(record: Payment | Refund | BankTransaction) -> bool:
    """Whether the record brings money into the bank."""
    if isinstance(record, Payment):
        return record.kind is PaymentKind.CUSTOMER_RECEIPT
    if isinstance(record, Refund):
        return record.kind is RefundKind.SUPPLIER_REFUND
    return record.kind is BankTransactionKind.RECEIVE


def base_shares(amounts: Sequence[Decimal], total: Decimal, base: Decimal) -> list[Decimal]:
    """``base`` split over ``amounts`` in proportion, to the cent, adding up exactly."""
    if not amounts:
        return []
    shares = [
        (base * amount / total).quantize(Decimal("0.01")) if total else Decimal(0)
        for amount in amounts[:-1]
    ]
    return [*shares, base - sum(shares, Decimal(0))]


def payment_lines(
    record: Payment | Refund,
    *,
    contact: str,
    control: str,
    matched: Sequence[tuple[int, Decimal]],
    tag: str,
) -> list[dict[str, Any]]:
    """A payment's or refund's lines on the relation: one per invoice it settles (``OurRef``,
    the invoice's entry number), the rest on account."""
    sign = Decimal(1) if money_in(record) else Decimal(-1)
    parts: list[tuple[int | None, Decimal]] = list(matched)
    rest = record.amount - sum((amount for _, amount in parts), Decimal(0))
    if rest or not parts:
        parts.append((None, rest))
    shares = base_shares([amount for _, amount in parts], record.amount, record.base_amount)
    lines = []
    for n, ((number, amount), base) in enumerate(zip(parts, shares, strict=True)):
        line: dict[str, Any] = {
            "Date": wire.date_text(record.date),
            "Account": contact,
            "GLAccount": control,
            "AmountFC": sign * amount,
            "AmountDC": sign * base,
            "Description": record.description,
            "OurRef": number,
        }
        if record.exchange_rate != 1:
            line["ExchangeRate"] = rate_of(record.exchange_rate)
        if n == 0:
            line["Notes"] = notes(tag, reference=record.reference)
        lines.append({k: v for k, v in line.items() if v is not None})
    return lines


def bank_transaction_lines(record: BankTransaction, ref: Ref, tag: str) -> list[dict[str, Any]]:
    """A bank payment or receipt without an invoice: its lines on G/L accounts, with VAT."""
    sign = Decimal(1) if money_in(record) else Decimal(-1)
    contact = ref("contacts", record.contact) if record.contact else None
    lines = []
    for n, source in enumerate(record.lines):
        line: dict[str, Any] = {
            "Date": wire.date_text(record.date),
            "Account": contact,
            "GLAccount": ref("ledger_accounts", source.account),
            "AmountFC": sign * source.net,
            "AmountDC": sign * source.base_net,
            "AmountVATFC": sign * source.tax,
            "VATCode": ref("tax_rates", source.tax_rate) if source.tax_rate else None,
            "Description": source.description or None,
            "Quantity": source.quantity,
            **dimensions(source.tracking, ref),
        }
        if record.exchange_rate != 1:
            line["ExchangeRate"] = rate_of(record.exchange_rate)
        if n == 0:
            line["Notes"] = notes(tag, reference=record.reference, narration=record.description)
        lines.append({k: v for k, v in line.items() if v is not None})
    return lines


def transfer_line(record: BankTransfer, transit: str, tag: str, out: bool) -> dict[str, Any]:
    """One half of a transfer: out of one bank to the transit account, or into the other."""
    sign = Decimal(-1) if out else Decimal(1)
    line = {
        "Date": wire.date_text(record.date),
        "GLAccount": transit,
        "AmountFC": sign * record.amount,
        "AmountDC": sign * record.amount,
        "Description": record.description,
        "Notes": notes(tag, reference=record.reference, side="out" if out else "in"),
    }
    return {k: v for k, v in line.items() if v is not None}


def bank_vat_base(tax: Decimal, rate: Decimal) -> Decimal:
    """The base-currency VAT Exact works out for a bank line at its ``ExchangeRate`` (Exact
    keeps no ``AmountVATDC`` on bank lines)."""
    return tax if rate == 1 else (tax * rate).quantize(Decimal("0.01"))


def read_bank_transaction(
    key: str, lines: Sequence[Mapping[str, Any]], bank: str, currency: str
) -> BankTransaction:
    total = sum(
        (wire.money(x.get("AmountFC")) + wire.money(x.get("AmountVATFC")) for x in lines),
        Decimal(0),
    )
    receive = total > 0
    sign = Decimal(1) if receive else Decimal(-1)
    raw = lines[0].get("ExchangeRate")
    exact_rate = wire.money(raw) if raw not in (None, "") else Decimal(1)
    _tag, fields = read_notes(lines[0].get("Notes"))
    contacts = {str(x["Account"]) for x in lines if x.get("Account")}
    document_lines = []
    for x in lines:
        tax = signed(sign, x.get("AmountVATFC"))
        document_lines.append(
            DocumentLine(
                description=str(x.get("Description") or ""),
                account=str(x["GLAccount"]),
                tax_rate=_text(x.get("VATCode")),
                net=signed(sign, x.get("AmountFC")),
                tax=tax,
                base_net=signed(sign, x.get("AmountDC")),
                base_tax=bank_vat_base(tax, exact_rate),
                quantity=wire.opt_money(x.get("Quantity")),
                tracking=read_dimensions(x),
            )
        )
    return BankTransaction(
        key=key,
        kind=BankTransactionKind.RECEIVE if receive else BankTransactionKind.SPEND,
        bank_account=bank,
        contact=next(iter(contacts)) if len(contacts) == 1 else None,
        date=wire.required_date(lines[0].get("Date")),
        reference=fields.get("reference"),
        description=fields.get("narration"),
        currency=currency,
        exchange_rate=exchange_rate_of(raw),
        lines=tuple(document_lines),
    )
