"""Master data to and from Sage: company, tax rates, the chart, tracking, banks, contacts, items."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from migrationkit.core.errors import MappingError
from migrationkit.core.model import (
    AccountType,
    Address,
    BankAccount,
    BankAccountKind,
    Company,
    Contact,
    ControlRole,
    Item,
    ItemKind,
    LedgerAccount,
    TaxRate,
    TrackingCategory,
    TrackingOption,
)

from ..taxes import GB_TREATMENTS, treatment_of
from ..wire import money, opt_date, opt_money
from .common import (
    _BANK_KINDS,
    _GB_CONTROL_CODES,
    _ROLE_OF_CONTROL,
    _SAGE_TYPES,
    ACCOUNT_TYPES,
    BANK_TYPES,
    LIMITS,
    Ref,
    Written,
    _drop_none,
    _Notes,
    _opt_ref,
    _ref_id,
    clip,
)

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
