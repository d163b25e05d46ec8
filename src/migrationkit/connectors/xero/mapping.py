"""Canonical records to Xero payloads and back: every mapping decision in one place.

Decisions (docs/connectors/xero.md explains them for users):

* **Accounts** map type to type (:data:`ACCOUNT_TYPES`). A ledger account whose control role
  Xero fills with a system account (receivables, payables, VAT, retained earnings, rounding) is
  matched to that account, never created. Xero has one VAT account where a UK chart has two
  (sales and purchase tax): the purchase side is a *view* of the same account, id
  ``<AccountID>#input``; a journal line on it carries the mark ``[input VAT]`` so that reading
  it back keeps the split.
* **Tax rates** are matched to Xero's directional built-in types by treatment and rate
  (``OUTPUT2/INPUT2`` for 20%, ``RROUTPUT/RRINPUT`` for 5%, ...); a document picks the output
  or input side by its direction. A rate nothing fits becomes a custom Xero rate.
* **Money**: lines go out tax-exclusive with the source's tax as an explicit ``TaxAmount``, so
  Xero's per-line 2 dp rounding cannot change a total; unit prices keep 4 dp (``unitdp=4``).
* **What Xero cannot hold directly** is carried by a conversion clearing account: opening
  balances (a journal or, for banks, a bank transaction against the clearing account),
  outstanding items at the opening date (documents with one line on the clearing account),
  refunds (a document to the contact and the money out, both through the clearing account),
  and journal lines on bank, receivables or payables accounts (the journal posts to the
  clearing account and a document moves the amount on). Each such Xero record says what it
  is in its line description or narration (the *marks* below), which is how extraction turns
  it back into the canonical record it came from.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from migrationkit.core.model import (
    AccountType,
    Address,
    BankAccountKind,
    ControlRole,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
    OpenItemKind,
    TaxRate,
    TaxTreatment,
    TrackingAssignment,
)
from migrationkit.core.money import ZERO, round_money

__all__ = [
    "ACCOUNT_TYPES",
    "CLEARING_LINE",
    "INPUT_VAT_MARK",
    "SYSTEM_ROLES",
    "TAX_PAIRS",
    "XeroAccount",
    "account_type_from_xero",
    "base_amount",
    "choose_tax_target",
    "document_status",
    "is_control",
    "line_payload",
    "opening_narration",
    "parse_opening_narration",
    "tax_key_for",
    "tax_type_for",
    "xero_status",
]

UNIT_PLACES = Decimal("0.0001")
"""Unit prices keep four decimals (``unitdp=4``)."""
RATE_PLACES = Decimal("0.000001")
"""Xero keeps currency rates to six decimals."""
Payload = dict[str, Any]

# ---------------------------------------------------------------------------------------------
# accounts
# ---------------------------------------------------------------------------------------------

ACCOUNT_TYPES: Mapping[AccountType, str] = {
    AccountType.FIXED_ASSET: "FIXED",
    AccountType.CURRENT_ASSET: "CURRENT",
    AccountType.BANK: "BANK",
    AccountType.CURRENT_LIABILITY: "CURRLIAB",
    AccountType.LONG_TERM_LIABILITY: "TERMLIAB",
    AccountType.EQUITY: "EQUITY",
    AccountType.SALES: "SALES",
    AccountType.OTHER_INCOME: "OTHERINCOME",
    AccountType.PURCHASES: "DIRECTCOSTS",
    AccountType.DIRECT_EXPENSES: "DIRECTCOSTS",
    AccountType.OVERHEADS: "OVERHEADS",
    AccountType.DEPRECIATION: "DEPRECIATN",
}
"""Canonical account type to Xero account type."""

_FROM_XERO: Mapping[str, AccountType] = {
    "BANK": AccountType.BANK,
    "CURRENT": AccountType.CURRENT_ASSET,
    "INVENTORY": AccountType.CURRENT_ASSET,
    "PREPAYMENT": AccountType.CURRENT_ASSET,
    "FIXED": AccountType.FIXED_ASSET,
    "NONCURRENT": AccountType.FIXED_ASSET,
    "CURRLIAB": AccountType.CURRENT_LIABILITY,
    "LIABILITY": AccountType.CURRENT_LIABILITY,
    "PAYG": AccountType.CURRENT_LIABILITY,
    "TERMLIAB": AccountType.LONG_TERM_LIABILITY,
    "EQUITY": AccountType.EQUITY,
    "SALES": AccountType.SALES,
    "REVENUE": AccountType.SALES,
    "OTHERINCOME": AccountType.OTHER_INCOME,
    "DIRECTCOSTS": AccountType.PURCHASES,
    "EXPENSE": AccountType.OVERHEADS,
    "OVERHEADS": AccountType.OVERHEADS,
    "DEPRECIATN": AccountType.DEPRECIATION,
}

SYSTEM_ROLES: Mapping[ControlRole, str] = {
    ControlRole.RECEIVABLES: "DEBTORS",
    ControlRole.PAYABLES: "CREDITORS",
    ControlRole.SALES_TAX: "GST",
    ControlRole.PURCHASE_TAX: "GST",
    ControlRole.RETAINED_EARNINGS: "RETAINEDEARNINGS",
    ControlRole.ROUNDING: "ROUNDING",
}
"""Control roles Xero fills with a system account, which the connector matches."""

_ROLE_OF_SYSTEM: Mapping[str, ControlRole] = {
    "DEBTORS": ControlRole.RECEIVABLES,
    "CREDITORS": ControlRole.PAYABLES,
    "GST": ControlRole.SALES_TAX,
    "RETAINEDEARNINGS": ControlRole.RETAINED_EARNINGS,
    "ROUNDING": ControlRole.ROUNDING,
}

INPUT_VIEW = "#input"
"""Suffix of the purchase-tax view of Xero's single VAT account."""
INPUT_VAT_MARK = " [input VAT]"
"""Mark on a journal line posted to the purchase-tax view."""
_CONTROL_SYSTEMS = frozenset({"DEBTORS", "CREDITORS"})


@attrs.frozen(kw_only=True)
class XeroAccount:
    """What the connector needs to know about one Xero account."""

    id: str
    code: str | None
    name: str
    type: str
    system: str | None = None
    status: str = "ACTIVE"
    currency: str | None = None

    @classmethod
    def from_xero(cls, raw: Mapping[str, Any]) -> XeroAccount:
        return cls(
            id=str(raw["AccountID"]),
            code=raw.get("Code") or None,
            name=str(raw.get("Name") or ""),
            type=str(raw.get("Type") or ""),
            system=raw.get("SystemAccount") or None,
            status=str(raw.get("Status") or "ACTIVE"),
            currency=raw.get("CurrencyCode") or None,
        )

    @property
    def is_bank(self) -> bool:
        return self.type == "BANK"

    @property
    def is_control(self) -> bool:
        """Receivables or payables: only documents may post to them."""
        return self.system in _CONTROL_SYSTEMS

    def reference(self) -> Payload:
        return {"AccountID": self.id}


def account_type_from_xero(xero_type: str) -> AccountType:
    return _FROM_XERO.get(xero_type, AccountType.OVERHEADS)


def role_of(account: XeroAccount) -> ControlRole | None:
    """The canonical control role a Xero account plays."""
    if account.system:
        return _ROLE_OF_SYSTEM.get(account.system)
    return ControlRole.BANK if account.is_bank else None


def split_view(target_id: str) -> tuple[str, bool]:
    """``(AccountID, is the purchase-tax view)`` from a ledger account's target id."""
    if target_id.endswith(INPUT_VIEW):
        return target_id[: -len(INPUT_VIEW)], True
    return target_id, False


def is_control(role: ControlRole | None, account_type: AccountType | None) -> bool:
    """Whether Xero refuses a manual journal or document line on such an account."""
    return role in (ControlRole.RECEIVABLES, ControlRole.PAYABLES, ControlRole.BANK) or (
        account_type is AccountType.BANK
    )


# ---------------------------------------------------------------------------------------------
# tax rates
# ---------------------------------------------------------------------------------------------

TAX_PAIRS: Mapping[str, tuple[str, TaxTreatment, Decimal]] = {
    "OUTPUT2/INPUT2": ("20% VAT", TaxTreatment.STANDARD, Decimal(20)),
    "RROUTPUT/RRINPUT": ("5% VAT", TaxTreatment.REDUCED, Decimal(5)),
    "ZERORATEDOUTPUT/ZERORATEDINPUT": ("Zero rated", TaxTreatment.ZERO, ZERO),
    "EXEMPTOUTPUT/EXEMPTINPUT": ("Exempt", TaxTreatment.EXEMPT, ZERO),
    "CAPEXOUTPUT2/CAPEXINPUT2": ("20% VAT on capital", TaxTreatment.FLAT_RATE_CAPITAL, Decimal(20)),
    "NONE": ("No VAT", TaxTreatment.OUTSIDE_SCOPE, ZERO),
    "ECZROUTPUT": ("Zero rated EC goods", TaxTreatment.EC_GOODS_SALES, ZERO),
    "ECZROUTPUTSERVICES": ("Zero rated EC services", TaxTreatment.EC_SERVICES_SALES, ZERO),
    "ECZRINPUT": ("Zero rated EC expenses", TaxTreatment.EC_GOODS_PURCHASES, ZERO),
    "ECACQUISITIONS": ("EC acquisitions (20%)", TaxTreatment.EC_GOODS_PURCHASES, Decimal(20)),
    "REVERSECHARGES": ("Reverse charge (20%)", TaxTreatment.REVERSE_CHARGE, Decimal(20)),
}
"""Xero's UK built-in tax types as canonical rates: ``OUTPUT/INPUT`` pairs, or one type."""

_PAIR_OF = {part: key for key in TAX_PAIRS for part in key.split("/")}


def choose_tax_target(rate: TaxRate) -> str | None:
    """The built-in pair (or single type) for a canonical rate; ``None`` when nothing fits.

    Treatment decides; the rate must agree, so a 17.5% "standard" rate becomes a custom rate
    rather than silently turning into 20%.
    """
    treatment, percent = rate.treatment, rate.rate
    if treatment is TaxTreatment.EC_GOODS_PURCHASES or treatment is (
        TaxTreatment.EC_SERVICES_PURCHASES
    ):
        return "ECZRINPUT" if percent == 0 else "ECACQUISITIONS"
    if treatment is TaxTreatment.REVERSE_CHARGE:
        return "REVERSECHARGES"
    if treatment is TaxTreatment.OUTSIDE_SCOPE or (not rate.in_tax_return and percent == 0):
        return "NONE"
    for key, (_name, pair_treatment, pair_rate) in TAX_PAIRS.items():
        if pair_treatment is treatment and pair_rate == percent:
            return key
    return None


def tax_type_for(target_id: str | None, output: bool) -> str | None:
    """The Xero tax type a line uses: the output or input side of a rate's target id."""
    if not target_id:
        return None
    parts = target_id.split("/")
    if len(parts) == 2:
        return parts[0] if output else parts[1]
    return target_id


def tax_key_for(tax_type: str | None) -> str | None:
    """The canonical key extraction gives a Xero tax type (its pair's key)."""
    if not tax_type:
        return None
    return _PAIR_OF.get(tax_type, tax_type)


# ---------------------------------------------------------------------------------------------
# marks that make conversion records readable back
# ---------------------------------------------------------------------------------------------

CLEARING_LINE = "Conversion clearing"
"""Description of every line migrationkit posts to the conversion clearing account."""
OPENING_PREFIX = "Opening balance at "
OPEN_ITEM_PREFIX = "Opening balance item: "
REFUND_PREFIX = "Refund: "
REFUND_PAID = re.compile(r"^Refund: invoice ([0-9A-Fa-f-]{36})$")
JOURNAL_PART = re.compile(r"^Journal ([0-9A-Fa-f-]{36}) line (\d+): ")
VIA_CLEARING = " [via clearing]"

OPEN_ITEM_WORDS: Mapping[OpenItemKind, str] = {
    OpenItemKind.SALES_INVOICE: "sales invoice",
    OpenItemKind.SALES_CREDIT: "sales credit",
    OpenItemKind.CUSTOMER_PAYMENT: "payment on account",
    OpenItemKind.CUSTOMER_REFUND: "customer refund",
    OpenItemKind.PURCHASE_INVOICE: "purchase invoice",
    OpenItemKind.PURCHASE_CREDIT: "purchase credit",
    OpenItemKind.SUPPLIER_PAYMENT: "supplier payment on account",
    OpenItemKind.SUPPLIER_REFUND: "supplier refund",
}
_OPEN_ITEM_KINDS = {words: kind for kind, words in OPEN_ITEM_WORDS.items()}

OPEN_ITEM_DOCUMENT: Mapping[OpenItemKind, str] = {
    OpenItemKind.SALES_INVOICE: "ACCREC",
    OpenItemKind.CUSTOMER_REFUND: "ACCREC",
    OpenItemKind.SALES_CREDIT: "ACCRECCREDIT",
    OpenItemKind.CUSTOMER_PAYMENT: "ACCRECCREDIT",
    OpenItemKind.PURCHASE_INVOICE: "ACCPAY",
    OpenItemKind.SUPPLIER_REFUND: "ACCPAY",
    OpenItemKind.PURCHASE_CREDIT: "ACCPAYCREDIT",
    OpenItemKind.SUPPLIER_PAYMENT: "ACCPAYCREDIT",
}
"""The Xero document an outstanding item becomes (one line on the clearing account)."""


def opening_narration(as_of: dt.date, code: str | None, name: str) -> str:
    return f"{OPENING_PREFIX}{as_of.isoformat()}: {code or ''} {name}".strip()


def parse_opening_narration(text: str) -> tuple[dt.date, str] | None:
    """``(date, "CODE Name")`` from an opening-balance narration or reference."""
    if not text.startswith(OPENING_PREFIX):
        return None
    rest = text[len(OPENING_PREFIX) :]
    day, _, label = rest.partition(":")
    try:
        return dt.date.fromisoformat(day.strip()), label.strip()
    except ValueError:
        return None


def open_item_line(kind: OpenItemKind, number: str | None) -> str:
    return f"{OPEN_ITEM_PREFIX}{OPEN_ITEM_WORDS[kind]}" + (f" {number}" if number else "")


def parse_open_item_line(text: str, document_type: str) -> OpenItemKind | None:
    """The kind of outstanding item a conversion document's line says it carries."""
    if not text.startswith(OPEN_ITEM_PREFIX):
        return None
    rest = text[len(OPEN_ITEM_PREFIX) :]
    for words in sorted(_OPEN_ITEM_KINDS, key=len, reverse=True):
        kind = _OPEN_ITEM_KINDS[words]
        if rest.startswith(words) and OPEN_ITEM_DOCUMENT[kind] == document_type:
            return kind
    return None


def journal_part_line(journal_id: str, index: int, code: str | None) -> str:
    return f"Journal {journal_id} line {index}: {code or ''}".rstrip()


# ---------------------------------------------------------------------------------------------
# money and statuses
# ---------------------------------------------------------------------------------------------


def base_amount(amount: Decimal, rate: Decimal | None) -> Decimal:
    """An amount in base currency, as Xero converts it: divided by the rate, to the cent."""
    if rate is None or rate == 1:
        return amount
    return round_money(amount / rate)


def has_cents_only(value: Decimal) -> bool:
    return value == round_money(value)


def xero_status(status: DocumentStatus) -> str:
    """The status a document is created with (a voided one is voided afterwards)."""
    return "DRAFT" if status is DocumentStatus.DRAFT else "AUTHORISED"


def document_status(xero: str) -> DocumentStatus:
    if xero in ("DRAFT", "SUBMITTED"):
        return DocumentStatus.DRAFT
    if xero == "VOIDED":
        return DocumentStatus.VOIDED
    return DocumentStatus.POSTED


def currency_fields(currency: str, rate: Decimal, base: str) -> Payload:
    if currency == base:
        return {"CurrencyCode": currency}
    return {"CurrencyCode": currency, "CurrencyRate": rate}


# ---------------------------------------------------------------------------------------------
# lines
# ---------------------------------------------------------------------------------------------


def line_payload(
    line: DocumentLine,
    *,
    account_code: str | None,
    account_id: str,
    tax_type: str | None,
    item_code: str | None,
    tracking: Sequence[Payload],
) -> tuple[Payload, str | None]:
    """A Xero line item for a canonical line, and a warning when quantities had to go.

    The net and tax go out as they are (tax exclusive, explicit ``TaxAmount``). Quantity and
    unit price go too when Xero's own product of them, rounded to the cent, is the net;
    otherwise the line is sent as one unit of the net and the warning says so.
    """
    payload: Payload = {"Description": line.description or "", "LineAmount": line.net}
    warning = None
    quantity, price = line.quantity, line.unit_price
    if (
        quantity is not None
        and price is not None
        and quantity != 0
        and price == round_money(price, UNIT_PLACES)
        and round_money(quantity * price) == line.net
    ):
        payload["Quantity"] = quantity
        payload["UnitAmount"] = price
    else:
        if quantity is not None and price is not None:
            warning = (
                f"line {line.number or ''}: {quantity} × {price} does not make {line.net} at "
                "Xero's precision; sent as one unit of the net amount"
            ).replace("line :", "a line:")
        payload["Quantity"] = Decimal(1)
        payload["UnitAmount"] = line.net
    if account_code:
        payload["AccountCode"] = account_code
    else:
        payload["AccountID"] = account_id
    if tax_type:
        payload["TaxType"] = tax_type
    payload["TaxAmount"] = line.tax
    if item_code:
        payload["ItemCode"] = item_code
    if tracking:
        payload["Tracking"] = list(tracking)
    return payload, warning


def clearing_line(amount: Decimal, clearing_code: str, description: str = CLEARING_LINE) -> Payload:
    """One tax-free line of ``amount`` on the conversion clearing account."""
    return {
        "Description": description,
        "Quantity": Decimal(1),
        "UnitAmount": amount,
        "LineAmount": amount,
        "AccountCode": clearing_code,
        "TaxType": "NONE",
    }


# ---------------------------------------------------------------------------------------------
# contacts
# ---------------------------------------------------------------------------------------------


def contact_payload(
    *,
    name: str,
    key: str,
    code: str | None,
    email: str | None,
    phone: str | None,
    contact_name: str | None,
    tax_number: str | None,
    currency: str | None,
    address: Address,
    terms_days: int | None,
    customer: bool,
    sales_account: str | None,
    purchase_account: str | None,
    tax_type: str | None,
) -> Payload:
    """A Xero contact; the source key goes in ``ContactNumber``, Xero's external id."""
    payload: Payload = {"Name": name}
    if len(key) <= 50:
        payload["ContactNumber"] = key
    if code:
        payload["AccountNumber"] = code[:50]
    if email:
        payload["EmailAddress"] = email
    if contact_name:
        first, _, last = contact_name.partition(" ")
        payload["FirstName"] = first[:255]
        if last:
            payload["LastName"] = last[:255]
    if tax_number:
        payload["TaxNumber"] = tax_number[:50]
    if currency:
        payload["DefaultCurrency"] = currency
    if phone:
        payload["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": phone}]
    street = {
        "AddressLine1": address.line1,
        "AddressLine2": address.line2,
        "City": address.city,
        "Region": address.region,
        "PostalCode": address.postal_code,
        "Country": address.country,
    }
    street = {k: v for k, v in street.items() if v}
    if street:
        payload["Addresses"] = [{"AddressType": "POBOX", **street}]
    if terms_days is not None:
        term = {"Day": terms_days, "Type": "DAYSAFTERBILLDATE"}
        payload["PaymentTerms"] = {"Sales": term} if customer else {"Bills": term}
    if sales_account:
        payload["SalesDefaultAccountCode"] = sales_account
    if purchase_account:
        payload["PurchasesDefaultAccountCode"] = purchase_account
    if tax_type:
        payload["AccountsReceivableTaxType" if customer else "AccountsPayableTaxType"] = tax_type
    return payload


def address_from_xero(addresses: Iterable[Mapping[str, Any]]) -> Address:
    chosen = next(iter(sorted(addresses, key=lambda a: a.get("AddressType") != "POBOX")), None)
    if not chosen:
        return Address()
    return Address(
        line1=chosen.get("AddressLine1"),
        line2=chosen.get("AddressLine2"),
        city=chosen.get("City"),
        region=chosen.get("Region"),
        postal_code=chosen.get("PostalCode"),
        country=chosen.get("Country"),
    )


def bank_account_number(
    code: str, sort_code: str | None, number: str | None, iban: str | None
) -> str:
    """What goes in Xero's ``BankAccountNumber``: sort code and number, an IBAN, or the code."""
    if number:
        digits = (sort_code or "").replace("-", "").replace(" ", "")
        return f"{digits}{number}" if digits else number
    return iban or code


BANK_ACCOUNT_TYPES: Mapping[BankAccountKind, str] = {
    BankAccountKind.CURRENT: "BANK",
    BankAccountKind.SAVINGS: "BANK",
    BankAccountKind.CASH: "BANK",
    BankAccountKind.CREDIT_CARD: "CREDITCARD",
}


def document_kind(xero_type: str) -> DocumentKind:
    return (
        DocumentKind.SALES
        if xero_type.startswith(("ACCREC", "RECEIVE"))
        else (DocumentKind.PURCHASE)
    )


def line_from_xero(
    raw: Mapping[str, Any],
    *,
    account_id: str,
    amount_types: str,
    rate: Decimal,
    item_id: str | None,
) -> DocumentLine:
    """A canonical line from a Xero line item; base amounts converted line by line."""
    amount = raw.get("LineAmount") or ZERO
    tax = raw.get("TaxAmount") or ZERO
    net = amount - tax if amount_types == "Inclusive" else amount
    if amount_types == "NoTax":
        tax = ZERO
    return DocumentLine(
        number=raw.get("LineItemID"),
        description=raw.get("Description") or "",
        account=account_id,
        tax_rate=tax_key_for(raw.get("TaxType")),
        net=net,
        tax=tax,
        base_net=base_amount(net, rate),
        base_tax=base_amount(tax, rate),
        quantity=raw.get("Quantity"),
        unit_price=raw.get("UnitAmount"),
        item=item_id,
        tracking=tuple(
            TrackingAssignment(category=t["TrackingCategoryID"], option=t["TrackingOptionID"])
            for t in raw.get("Tracking") or ()
            if t.get("TrackingCategoryID") and t.get("TrackingOptionID")
        ),
    )
