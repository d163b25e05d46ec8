"""From Sage 50's audit trail and ledgers (sage50-json 1.0) to the canonical model.

Keys: nominal, tax and stock codes are kept as they are; customers and suppliers are
``customer:REF`` and ``supplier:REF`` because Sage 50 keeps two ledgers and the same
reference may name a different party in each; transactions and open items are their header
number; a journal is the number of its ``journal_group``.

Not carried: ``user_name`` (audit metadata), ``outstanding`` and ``paid_status`` on
transactions (they follow from the allocations, which are carried), the stated ``balance`` of
nominals, customers and suppliers (the validator and ``reconcile`` check them), and deleted
headers, which are reported as source deletions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

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
    Record,
    Refund,
    RefundKind,
    TaxRate,
    TaxTreatment,
    TrackingAssignment,
    TrackingCategory,
    TrackingOption,
)
from migrationkit.core.money import MoneyFormatError, as_decimal

__all__ = [
    "DEPARTMENTS",
    "TRANSACTION_ENTITY",
    "TargetIndex",
    "contact_key",
    "map_bank_account",
    "map_company",
    "map_contact",
    "map_departments",
    "map_item",
    "map_journal",
    "map_ledger_account",
    "map_open_item",
    "map_opening_balances",
    "map_tax_rate",
    "map_transaction",
    "transfer_legs",
]

BASE_CURRENCY = "GBP"
MAPPING_VERSION = "1"
"""Bump whenever a change here changes the records a given file maps to: digests of source
forms include it, so every record is rebuilt and compared once after an upgrade."""
DEPARTMENTS = "departments"

TRANSACTION_ENTITY: dict[str, str] = {
    "SI": "invoices",
    "PI": "invoices",
    "SP": "refunds",
    "PR": "refunds",
    "SC": "credit_notes",
    "SD": "credit_notes",
    "PC": "credit_notes",
    "PD": "credit_notes",
    "SR": "payments",
    "SA": "payments",
    "PP": "payments",
    "PA": "payments",
    "BP": "bank_transactions",
    "CP": "bank_transactions",
    "VP": "bank_transactions",
    "BR": "bank_transactions",
    "CR": "bank_transactions",
    "VR": "bank_transactions",
    "JD": "manual_journals",
    "JC": "manual_journals",
}
"""The canonical entity of each Sage 50 transaction type (journals may become transfers)."""

_ACCOUNT_TYPES = {
    "fixed_assets": AccountType.FIXED_ASSET,
    "current_assets": AccountType.CURRENT_ASSET,
    "liabilities": AccountType.CURRENT_LIABILITY,
    "capital": AccountType.EQUITY,
    "sales": AccountType.SALES,
    "purchases": AccountType.PURCHASES,
    "direct_expenses": AccountType.DIRECT_EXPENSES,
    "overheads": AccountType.OVERHEADS,
}

_ROLES = {
    "debtors_control": ControlRole.RECEIVABLES,
    "creditors_control": ControlRole.PAYABLES,
    "sales_tax_control": ControlRole.SALES_TAX,
    "purchase_tax_control": ControlRole.PURCHASE_TAX,
    "vat_liability": ControlRole.TAX_LIABILITY,
    "retained_earnings": ControlRole.RETAINED_EARNINGS,
    "suspense": ControlRole.SUSPENSE,
    "mispostings": ControlRole.MISPOSTINGS,
    "exchange_variance": ControlRole.EXCHANGE_VARIANCE,
    "default_sales": ControlRole.DEFAULT_SALES,
    "sales_discount": ControlRole.SALES_DISCOUNT,
    "purchase_discount": ControlRole.PURCHASE_DISCOUNT,
}

# Sage 50's UK default codes, used when a code's flags do not already say what it is.
_UK_TREATMENTS = {
    "T0": TaxTreatment.ZERO,
    "T1": TaxTreatment.STANDARD,
    "T2": TaxTreatment.EXEMPT,
    "T5": TaxTreatment.REDUCED,
    "T9": TaxTreatment.OUTSIDE_SCOPE,
    "T25": TaxTreatment.FLAT_RATE_CAPITAL,
}

_BANK_KINDS = {
    "current": BankAccountKind.CURRENT,
    "cash": BankAccountKind.CASH,
    "credit_card": BankAccountKind.CREDIT_CARD,
}

_ITEM_KINDS = {
    "stock": ItemKind.STOCK,
    "non_stock": ItemKind.NON_STOCK,
    "service": ItemKind.SERVICE,
}

_OPEN_ITEM_KINDS = {
    "SI": OpenItemKind.SALES_INVOICE,
    "SC": OpenItemKind.SALES_CREDIT,
    "SA": OpenItemKind.CUSTOMER_PAYMENT,
    "SP": OpenItemKind.CUSTOMER_REFUND,
    "PI": OpenItemKind.PURCHASE_INVOICE,
    "PC": OpenItemKind.PURCHASE_CREDIT,
    "PA": OpenItemKind.SUPPLIER_PAYMENT,
    "PR": OpenItemKind.SUPPLIER_REFUND,
}


# ---------------------------------------------------------------------------
# scalar helpers
# ---------------------------------------------------------------------------


def _money(value: Any) -> Decimal:
    """An amount, rate or percentage of the export as Decimal, through core.money."""
    try:
        return as_decimal(value)
    except (MoneyFormatError, TypeError):
        raise MappingError(f"{value!r} is not an amount") from None


def _opt_money(value: Any) -> Decimal | None:
    return None if value is None else _money(value)


def _date(value: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise MappingError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _opt_date(value: Any) -> dt.date | None:
    return None if value is None else _date(value)


def _address(raw: Mapping[str, Any]) -> Address:
    return Address(
        line1=raw.get("address_1"),
        line2=raw.get("address_2"),
        city=raw.get("address_3"),
        region=raw.get("address_4"),
        postal_code=raw.get("address_5"),
        country=raw.get("country_code"),
    )


def contact_key(ledger: str, account_ref: str) -> str:
    """The canonical key of a Sage 50 customer (``S`` ledger) or supplier (``P`` ledger)."""
    return ("customer:" if ledger == "S" else "supplier:") + account_ref


# ---------------------------------------------------------------------------
# master data
# ---------------------------------------------------------------------------


def map_company(raw: Mapping[str, Any], opening_as_of: str | None) -> Company:
    """The company, with the opening-balance date of the export when there is one."""
    year_start = raw.get("financial_year_start") or {}
    return Company(
        key="company",
        name=raw["name"],
        registration=raw.get("registration"),
        tax_number=raw.get("vat_number"),
        address=_address(raw),
        base_currency=raw.get("base_currency", BASE_CURRENCY),
        year_start_month=int(year_start.get("month", 1)),
        year_start_day=int(year_start.get("day", 1)),
        tax_scheme=raw.get("vat_scheme"),
        flat_rate_percent=_opt_money(raw.get("flat_rate_percent")),
        opening_balance_date=_opt_date(opening_as_of),
    )


def map_ledger_account(raw: Mapping[str, Any], bank_codes: Iterable[str]) -> LedgerAccount:
    """A nominal account; the nominal behind a bank account becomes a bank-type account."""
    code = raw["code"]
    is_bank = code in bank_codes
    account_type = AccountType.BANK if is_bank else _ACCOUNT_TYPES.get(raw.get("type", ""))
    if account_type is None:
        raise MappingError(f"nominal {code} has unknown type {raw.get('type')!r}")
    role = _ROLES.get(raw.get("control_role") or "")
    if is_bank and role is None:
        role = ControlRole.BANK
    return LedgerAccount(
        key=code,
        code=code,
        name=raw["name"],
        type=account_type,
        control_role=role,
        inactive=bool(raw.get("inactive", False)),
    )


def _treatment(raw: Mapping[str, Any], rate: Decimal) -> TaxTreatment:
    goods = raw.get("ec_type") != "services"
    if raw.get("reverse_charge"):
        return TaxTreatment.REVERSE_CHARGE
    if raw.get("ec_sales"):
        return TaxTreatment.EC_GOODS_SALES if goods else TaxTreatment.EC_SERVICES_SALES
    if raw.get("ec_purchases"):
        return TaxTreatment.EC_GOODS_PURCHASES if goods else TaxTreatment.EC_SERVICES_PURCHASES
    if raw.get("in_vat_return") is False:
        return TaxTreatment.OUTSIDE_SCOPE
    known = _UK_TREATMENTS.get(raw["code"])
    if known is not None:
        return known
    if rate == 0:
        exempt = "exempt" in str(raw.get("description", "")).lower()
        return TaxTreatment.EXEMPT if exempt else TaxTreatment.ZERO
    if rate == 20:
        return TaxTreatment.STANDARD
    if rate < 20:
        return TaxTreatment.REDUCED
    return TaxTreatment.OTHER


def map_tax_rate(raw: Mapping[str, Any]) -> TaxRate:
    """A T-code with what it means for the VAT return, from its flags or the UK defaults."""
    rate = _money(raw["rate"])
    return TaxRate(
        key=raw["code"],
        code=raw["code"],
        name=raw.get("description") or raw["code"],
        rate=rate,
        treatment=_treatment(raw, rate),
        in_tax_return=bool(raw.get("in_vat_return", True)),
        ec_sales=bool(raw.get("ec_sales", False)),
        ec_purchases=bool(raw.get("ec_purchases", False)),
        reverse_charge=bool(raw.get("reverse_charge", False)),
    )


def map_departments(raw: Iterable[Mapping[str, Any]]) -> TrackingCategory | None:
    """Sage 50 departments as one tracking category; department 0 means none."""
    options = tuple(
        TrackingOption(key=str(d["number"]), name=d["name"]) for d in raw if d["number"] != 0
    )
    if not options:
        return None
    return TrackingCategory(key=DEPARTMENTS, name="Department", options=options)


def map_bank_account(raw: Mapping[str, Any]) -> BankAccount:
    code = raw["nominal_code"]
    return BankAccount(
        key=code,
        name=raw["name"],
        account=code,
        kind=_BANK_KINDS.get(raw.get("bank_type", ""), BankAccountKind.CURRENT),
        currency=raw.get("currency", BASE_CURRENCY),
        bank_name=raw.get("bank_name"),
        sort_code=raw.get("sort_code"),
        account_number=raw.get("account_number"),
        iban=raw.get("iban"),
        bic=raw.get("bic"),
        inactive=bool(raw.get("inactive", False)),
    )


def map_contact(raw: Mapping[str, Any], ledger: str) -> Contact:
    """A customer (``ledger="S"``) or supplier (``ledger="P"``) record."""
    ref = raw["account_ref"]
    customer = ledger == "S"
    default_nominal = raw.get("default_nominal")
    return Contact(
        key=contact_key(ledger, ref),
        code=ref,
        name=raw["name"],
        is_customer=customer,
        is_supplier=not customer,
        address=_address(raw),
        contact_name=raw.get("contact_name"),
        email=raw.get("email"),
        phone=raw.get("telephone"),
        tax_number=raw.get("vat_number"),
        currency=raw.get("currency", BASE_CURRENCY),
        credit_limit=_opt_money(raw.get("credit_limit")),
        payment_terms_days=raw.get("payment_due_days"),
        sales_account=default_nominal if customer else None,
        purchase_account=None if customer else default_nominal,
        tax_rate=raw.get("default_tax_code"),
        inactive=bool(raw.get("inactive", False)),
    )


def map_item(raw: Mapping[str, Any]) -> Item:
    supplier = raw.get("supplier_ref")
    return Item(
        key=raw["stock_code"],
        code=raw["stock_code"],
        name=raw.get("description") or raw["stock_code"],
        kind=_ITEM_KINDS.get(raw.get("item_type", ""), ItemKind.NON_STOCK),
        sales_price=_opt_money(raw.get("sales_price")),
        purchase_price=_opt_money(raw.get("purchase_price")),
        unit=raw.get("unit_of_sale"),
        sales_account=raw.get("nominal_code"),
        purchase_account=raw.get("purchase_nominal_code"),
        tax_rate=raw.get("tax_code"),
        supplier=contact_key("P", supplier) if supplier else None,
        inactive=bool(raw.get("inactive", False)),
    )


def map_opening_balances(raw: Mapping[str, Any]) -> list[OpeningBalance]:
    """The opening trial balance, one record per nominal, debit positive."""
    as_of = _date(raw["as_of"])
    return [
        OpeningBalance(
            key=line["nominal_code"],
            account=line["nominal_code"],
            as_of=as_of,
            balance=_money(line.get("debit", "0")) - _money(line.get("credit", "0")),
        )
        for line in raw.get("trial_balance", ())
    ]


# ---------------------------------------------------------------------------
# allocations need to know what a header number is
# ---------------------------------------------------------------------------


class TargetIndex:
    """Which entity each allocation target (a header number) belongs to.

    A byte per header number while numbers are dense, as Sage 50's are, so the index stays
    small at a million transactions; a dict takes over for sparse numbering.
    """

    _CODES: ClassVar[dict[str, int]] = {"invoices": 1, "refunds": 2, "open_items": 3}
    _NAMES: ClassVar[dict[int, str]] = {v: k for k, v in _CODES.items()}
    _DENSE_LIMIT = 50_000_000

    def __init__(self) -> None:
        self._dense = bytearray()
        self._sparse: dict[int, int] = {}

    def add(self, header_number: int, entity: str) -> None:
        code = self._CODES[entity]
        if 0 <= header_number < self._DENSE_LIMIT:
            if header_number >= len(self._dense):
                self._dense.extend(bytes(max(header_number + 1 - len(self._dense), 4096)))
            self._dense[header_number] = code
        else:
            self._sparse[header_number] = code

    def entity(self, header_number: int) -> str | None:
        if 0 <= header_number < len(self._dense):
            code = self._dense[header_number]
        else:
            code = self._sparse.get(header_number, 0)
        return self._NAMES.get(code)


def _allocations(raw: Iterable[Mapping[str, Any]], index: TargetIndex) -> tuple[Allocation, ...]:
    return tuple(
        Allocation(
            # An unknown target still names the invoices, so the engine skips the record and
            # says which document is missing.
            document_entity=index.entity(a["header_number"]) or "invoices",
            document=str(a["header_number"]),
            amount=_money(a["amount"]),
            date=_opt_date(a.get("date")),
        )
        for a in raw
    )


def map_open_item(raw: Mapping[str, Any], index: TargetIndex) -> OpenItem:
    kind = _OPEN_ITEM_KINDS.get(raw.get("type", ""))
    if kind is None:
        raise MappingError(f"open item {raw.get('header_number')} has type {raw.get('type')!r}")
    ledger = "S" if kind.ledger is DocumentKind.SALES else "P"
    return OpenItem(
        key=str(raw["header_number"]),
        kind=kind,
        contact=contact_key(ledger, raw["account_ref"]),
        number=raw.get("reference"),
        description=raw.get("details"),
        date=_date(raw["date"]),
        due_date=_opt_date(raw.get("due_date")),
        currency=raw.get("currency", BASE_CURRENCY),
        exchange_rate=_money(raw.get("exchange_rate", "1")),
        gross=_money(raw["gross"]),
        outstanding=_money(raw["outstanding"]),
        base_outstanding=_money(raw["base_outstanding"]),
        allocations=_allocations(raw.get("allocations", ()), index),
    )


# ---------------------------------------------------------------------------
# the audit trail
# ---------------------------------------------------------------------------


def _lines(raw: Mapping[str, Any], foreign: bool) -> tuple[DocumentLine, ...]:
    lines = []
    for split in raw["splits"]:
        net = _money(split["net"])
        tax = _money(split["tax"])
        department = split.get("department", 0)
        lines.append(
            DocumentLine(
                number=str(split["split_number"]),
                description=split.get("details") or "",
                account=split["nominal_code"],
                tax_rate=split.get("tax_code"),
                net=_money(split["foreign_net"]) if foreign else net,
                tax=_money(split["foreign_tax"]) if foreign else tax,
                base_net=net,
                base_tax=tax,
                tracking=(
                    (TrackingAssignment(category=DEPARTMENTS, option=str(department)),)
                    if department
                    else ()
                ),
            )
        )
    return tuple(lines)


def _is_foreign(raw: Mapping[str, Any]) -> bool:
    return bool(raw.get("currency", BASE_CURRENCY) != BASE_CURRENCY)


def _document_fields(raw: Mapping[str, Any], ledger: str) -> dict[str, Any]:
    return {
        "key": str(raw["header_number"]),
        "kind": DocumentKind.SALES if ledger == "S" else DocumentKind.PURCHASE,
        "number": raw.get("reference"),
        "contact": contact_key(ledger, raw["account_ref"]),
        "date": _date(raw["date"]),
        "due_date": _opt_date(raw.get("due_date")),
        "reference": raw.get("extra_reference"),
        "description": raw.get("details"),
        "currency": raw.get("currency", BASE_CURRENCY),
        "exchange_rate": _money(raw.get("exchange_rate", "1")),
        "lines": _lines(raw, _is_foreign(raw)),
    }


def _invoice(raw: Mapping[str, Any], index: TargetIndex) -> Record:
    return Invoice(**_document_fields(raw, raw["type"][0]))


def _credit_note(raw: Mapping[str, Any], index: TargetIndex) -> Record:
    return CreditNote(
        **_document_fields(raw, raw["type"][0]),
        discount=raw["type"] in ("SD", "PD"),
        allocations=_allocations(raw.get("allocations", ()), index),
    )


def _amounts(raw: Mapping[str, Any]) -> tuple[Decimal, Decimal]:
    base = _money(raw["gross"])
    return (_money(raw["foreign_gross"]) if _is_foreign(raw) else base), base


def _payment(raw: Mapping[str, Any], index: TargetIndex) -> Record:
    ledger = raw["type"][0]
    amount, base = _amounts(raw)
    return Payment(
        key=str(raw["header_number"]),
        kind=PaymentKind.CUSTOMER_RECEIPT if ledger == "S" else PaymentKind.SUPPLIER_PAYMENT,
        contact=contact_key(ledger, raw["account_ref"]),
        bank_account=raw["bank_code"],
        date=_date(raw["date"]),
        reference=raw.get("reference"),
        description=raw.get("details"),
        currency=raw.get("currency", BASE_CURRENCY),
        exchange_rate=_money(raw.get("exchange_rate", "1")),
        amount=amount,
        base_amount=base,
        allocations=_allocations(raw.get("allocations", ()), index),
        reconciled_on=_opt_date(raw.get("bank_reconciled_on")),
    )


def _refund(raw: Mapping[str, Any], index: TargetIndex) -> Record:
    ledger = raw["type"][0]
    amount, base = _amounts(raw)
    return Refund(
        key=str(raw["header_number"]),
        kind=RefundKind.CUSTOMER_REFUND if ledger == "S" else RefundKind.SUPPLIER_REFUND,
        contact=contact_key(ledger, raw["account_ref"]),
        bank_account=raw["bank_code"],
        date=_date(raw["date"]),
        reference=raw.get("reference"),
        description=raw.get("details"),
        currency=raw.get("currency", BASE_CURRENCY),
        exchange_rate=_money(raw.get("exchange_rate", "1")),
        amount=amount,
        base_amount=base,
        reconciled_on=_opt_date(raw.get("bank_reconciled_on")),
    )


def _bank_transaction(raw: Mapping[str, Any], index: TargetIndex) -> Record:
    spend = raw["type"][1] == "P"
    return BankTransaction(
        key=str(raw["header_number"]),
        kind=BankTransactionKind.SPEND if spend else BankTransactionKind.RECEIVE,
        bank_account=raw.get("bank_code") or raw["account_ref"],
        date=_date(raw["date"]),
        reference=raw.get("reference"),
        description=raw.get("details"),
        currency=raw.get("currency", BASE_CURRENCY),
        exchange_rate=_money(raw.get("exchange_rate", "1")),
        lines=_lines(raw, _is_foreign(raw)),
        reconciled_on=_opt_date(raw.get("bank_reconciled_on")),
    )


_MAPPERS: dict[str, Callable[[Mapping[str, Any], TargetIndex], Record]] = {
    "invoices": _invoice,
    "credit_notes": _credit_note,
    "payments": _payment,
    "refunds": _refund,
    "bank_transactions": _bank_transaction,
}


def map_transaction(raw: Mapping[str, Any], index: TargetIndex) -> Record:
    """Map one non-journal audit-trail header to its canonical record."""
    entity = TRANSACTION_ENTITY.get(raw.get("type", ""))
    mapper = _MAPPERS.get(entity or "")
    if mapper is None:
        raise MappingError(f"transaction type {raw.get('type')!r} is not a document")
    return mapper(raw, index)


Leg = tuple[str, str, Decimal, int]
"""One journal line as ``(type JD/JC, nominal code, net, department)``."""


def transfer_legs(
    legs: Sequence[Leg], bank_codes: Container[str]
) -> tuple[str, str, Decimal] | None:
    """``(from bank, to bank, amount)`` when a journal moves money between two banks.

    Sage 50 writes a bank transfer as a JC on the paying bank and a JD on the receiving bank,
    with no department. Anything else is an ordinary journal.
    """
    if len(legs) != 2:
        return None
    debits = [leg for leg in legs if leg[0] == "JD"]
    credits = [leg for leg in legs if leg[0] == "JC"]
    if len(debits) != 1 or len(credits) != 1:
        return None
    (_, to_bank, amount, to_department), (_, from_bank, paid, from_department) = (
        debits[0],
        credits[0],
    )
    if (
        to_department
        or from_department
        or to_bank == from_bank
        or to_bank not in bank_codes
        or from_bank not in bank_codes
        or amount != paid
        or amount <= 0
    ):
        return None
    return from_bank, to_bank, amount


def journal_legs(members: Sequence[Mapping[str, Any]]) -> list[Leg]:
    legs = []
    for member in members:
        split = member["splits"][0]
        legs.append(
            (
                member["type"],
                split["nominal_code"],
                _money(split["net"]),
                split.get("department", 0),
            )
        )
    return legs


def map_journal(group: int, members: list[Mapping[str, Any]], bank_codes: Container[str]) -> Record:
    """A journal group: a bank transfer when it moves money between two banks, else a journal."""
    first = members[0]
    date = _date(first["date"])
    transfer = transfer_legs(journal_legs(members), bank_codes)
    if transfer is not None:
        from_bank, to_bank, amount = transfer
        return BankTransfer(
            key=str(group),
            from_bank_account=from_bank,
            to_bank_account=to_bank,
            date=date,
            amount=amount,
            currency=BASE_CURRENCY,
            reference=first.get("reference"),
            description=first.get("details"),
            reconciled_on=_opt_date(first.get("bank_reconciled_on")),
        )
    lines = []
    for member in members:
        split = member["splits"][0]
        net = _money(split["net"])
        department = split.get("department", 0)
        lines.append(
            JournalLine(
                account=split["nominal_code"],
                amount=net if member["type"] == "JD" else -net,
                description=split.get("details") or member.get("details") or "",
                tracking=(
                    (TrackingAssignment(category=DEPARTMENTS, option=str(department)),)
                    if department
                    else ()
                ),
            )
        )
    return ManualJournal(
        key=str(group),
        date=date,
        reference=first.get("reference"),
        narration=first.get("details") or first.get("reference") or "",
        lines=tuple(lines),
    )
