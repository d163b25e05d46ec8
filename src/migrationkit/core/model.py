"""The canonical accounting model every connector maps to and from.

Every record is a small frozen attrs class with a ``key``: the stable source key that names the
record within its entity. Records refer to each other by those keys, never by a target's ids.
Money is ``Decimal`` end to end; a document keeps its own currency and exchange rate, and holds
its amounts both in that currency and in the company's base currency, so a conversion rounding
is visible instead of recomputed.

Conventions:

* ``exchange_rate`` is units of the document currency per one unit of base currency (Sage 50 and
  Xero use this direction). It is ``1`` for base-currency documents.
* Signed amounts (journal lines, opening balances) are debit positive.
* Optional text is ``None`` when absent, never ``""``.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, ClassVar

import attrs
from attrs.validators import ge, instance_of, optional

__all__ = [
    "ENTITY_ORDER",
    "RECORD_TYPES",
    "AccountClass",
    "AccountType",
    "Address",
    "Allocation",
    "BankAccount",
    "BankAccountKind",
    "BankTransaction",
    "BankTransactionKind",
    "BankTransfer",
    "Company",
    "Contact",
    "ControlRole",
    "CreditNote",
    "DocumentKind",
    "DocumentLine",
    "DocumentStatus",
    "Invoice",
    "Item",
    "ItemKind",
    "JournalLine",
    "LedgerAccount",
    "ManualJournal",
    "OpenItem",
    "OpenItemKind",
    "OpeningBalance",
    "Payment",
    "PaymentKind",
    "Record",
    "Reference",
    "Refund",
    "RefundKind",
    "TaxRate",
    "TaxTreatment",
    "TrackingAssignment",
    "TrackingCategory",
    "TrackingOption",
]


# ---------------------------------------------------------------------------
# field helpers
# ---------------------------------------------------------------------------


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text != "" else None


def _money() -> Any:
    return attrs.field(validator=instance_of(Decimal))


def _money_or_none() -> Any:
    return attrs.field(default=None, validator=optional(instance_of(Decimal)))


def _rate() -> Any:
    return attrs.field(default=Decimal(1), validator=[instance_of(Decimal), _positive])


def _positive(_inst: Any, attribute: attrs.Attribute[Any], value: Decimal) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value}")


def _opt_text() -> Any:
    return attrs.field(default=None, converter=_text_or_none)


def _date() -> Any:
    return attrs.field(validator=instance_of(dt.date))


def _opt_date() -> Any:
    return attrs.field(default=None, validator=optional(instance_of(dt.date)))


def _tuple_of(kind: type) -> Any:
    return attrs.field(default=(), converter=tuple, validator=_each(kind))


def _each(kind: type) -> Any:
    def check(_inst: Any, attribute: attrs.Attribute[Any], value: tuple[Any, ...]) -> None:
        for item in value:
            if not isinstance(item, kind):
                raise TypeError(f"{attribute.name} holds {item!r}, expected {kind.__name__}")

    return check


Reference = tuple[str, str]
"""A reference to another record: ``(entity name, source key)``."""


# ---------------------------------------------------------------------------
# enumerations
# ---------------------------------------------------------------------------


class AccountClass(enum.StrEnum):
    """The five classes every chart of accounts sorts into."""

    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"


class AccountType(enum.StrEnum):
    """Ledger account types, fine enough to map onto Xero's and Sage Accounting's."""

    FIXED_ASSET = "fixed_asset"
    CURRENT_ASSET = "current_asset"
    BANK = "bank"
    CURRENT_LIABILITY = "current_liability"
    LONG_TERM_LIABILITY = "long_term_liability"
    EQUITY = "equity"
    SALES = "sales"
    OTHER_INCOME = "other_income"
    PURCHASES = "purchases"
    DIRECT_EXPENSES = "direct_expenses"
    OVERHEADS = "overheads"
    DEPRECIATION = "depreciation"

    @property
    def account_class(self) -> AccountClass:
        return _ACCOUNT_CLASS[self]

    @property
    def on_balance_sheet(self) -> bool:
        return self.account_class in (
            AccountClass.ASSET,
            AccountClass.LIABILITY,
            AccountClass.EQUITY,
        )


_ACCOUNT_CLASS = {
    AccountType.FIXED_ASSET: AccountClass.ASSET,
    AccountType.CURRENT_ASSET: AccountClass.ASSET,
    AccountType.BANK: AccountClass.ASSET,
    AccountType.CURRENT_LIABILITY: AccountClass.LIABILITY,
    AccountType.LONG_TERM_LIABILITY: AccountClass.LIABILITY,
    AccountType.EQUITY: AccountClass.EQUITY,
    AccountType.SALES: AccountClass.INCOME,
    AccountType.OTHER_INCOME: AccountClass.INCOME,
    AccountType.PURCHASES: AccountClass.EXPENSE,
    AccountType.DIRECT_EXPENSES: AccountClass.EXPENSE,
    AccountType.OVERHEADS: AccountClass.EXPENSE,
    AccountType.DEPRECIATION: AccountClass.EXPENSE,
}


class ControlRole(enum.StrEnum):
    """The job a ledger account does for the books, beyond its type.

    Targets restrict what may post to some of these (Xero refuses manual journals to receivables,
    payables and bank accounts), and the posting rules name roles, never codes.
    """

    RECEIVABLES = "receivables"
    PAYABLES = "payables"
    BANK = "bank"
    SALES_TAX = "sales_tax"
    PURCHASE_TAX = "purchase_tax"
    TAX_LIABILITY = "tax_liability"
    RETAINED_EARNINGS = "retained_earnings"
    SUSPENSE = "suspense"
    MISPOSTINGS = "mispostings"
    EXCHANGE_VARIANCE = "exchange_variance"
    DEFAULT_SALES = "default_sales"
    SALES_DISCOUNT = "sales_discount"
    PURCHASE_DISCOUNT = "purchase_discount"
    ROUNDING = "rounding"
    CONVERSION_CLEARING = "conversion_clearing"


class TaxTreatment(enum.StrEnum):
    """What a tax rate means for the tax return, independent of its code."""

    STANDARD = "standard"
    REDUCED = "reduced"
    ZERO = "zero"
    EXEMPT = "exempt"
    OUTSIDE_SCOPE = "outside_scope"
    EC_GOODS_SALES = "ec_goods_sales"
    EC_SERVICES_SALES = "ec_services_sales"
    EC_GOODS_PURCHASES = "ec_goods_purchases"
    EC_SERVICES_PURCHASES = "ec_services_purchases"
    REVERSE_CHARGE = "reverse_charge"
    FLAT_RATE_CAPITAL = "flat_rate_capital"
    OTHER = "other"


class ItemKind(enum.StrEnum):
    STOCK = "stock"
    NON_STOCK = "non_stock"
    SERVICE = "service"


class BankAccountKind(enum.StrEnum):
    CURRENT = "current"
    SAVINGS = "savings"
    CASH = "cash"
    CREDIT_CARD = "credit_card"


class DocumentKind(enum.StrEnum):
    """Which ledger a document belongs to: sales (receivables) or purchase (payables)."""

    SALES = "sales"
    PURCHASE = "purchase"


class DocumentStatus(enum.StrEnum):
    DRAFT = "draft"
    POSTED = "posted"
    VOIDED = "voided"


class PaymentKind(enum.StrEnum):
    CUSTOMER_RECEIPT = "customer_receipt"
    SUPPLIER_PAYMENT = "supplier_payment"

    @property
    def ledger(self) -> DocumentKind:
        return DocumentKind.SALES if self is PaymentKind.CUSTOMER_RECEIPT else DocumentKind.PURCHASE


class RefundKind(enum.StrEnum):
    CUSTOMER_REFUND = "customer_refund"
    SUPPLIER_REFUND = "supplier_refund"

    @property
    def ledger(self) -> DocumentKind:
        return DocumentKind.SALES if self is RefundKind.CUSTOMER_REFUND else DocumentKind.PURCHASE


class BankTransactionKind(enum.StrEnum):
    SPEND = "spend"
    RECEIVE = "receive"


class OpenItemKind(enum.StrEnum):
    """An item still outstanding at the opening-balance date."""

    SALES_INVOICE = "sales_invoice"
    SALES_CREDIT = "sales_credit"
    CUSTOMER_PAYMENT = "customer_payment"
    CUSTOMER_REFUND = "customer_refund"
    PURCHASE_INVOICE = "purchase_invoice"
    PURCHASE_CREDIT = "purchase_credit"
    SUPPLIER_PAYMENT = "supplier_payment"
    SUPPLIER_REFUND = "supplier_refund"

    @property
    def ledger(self) -> DocumentKind:
        return DocumentKind.SALES if self in _SALES_OPEN_ITEMS else DocumentKind.PURCHASE

    @property
    def increases_balance(self) -> bool:
        """True when the item adds to what the contact owes us (or we owe the supplier)."""
        return self in _BALANCE_INCREASING


_SALES_OPEN_ITEMS = frozenset(
    {
        OpenItemKind.SALES_INVOICE,
        OpenItemKind.SALES_CREDIT,
        OpenItemKind.CUSTOMER_PAYMENT,
        OpenItemKind.CUSTOMER_REFUND,
    }
)
_BALANCE_INCREASING = frozenset(
    {
        OpenItemKind.SALES_INVOICE,
        OpenItemKind.CUSTOMER_REFUND,
        OpenItemKind.PURCHASE_INVOICE,
        OpenItemKind.SUPPLIER_REFUND,
    }
)


# ---------------------------------------------------------------------------
# value objects
# ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Address:
    """A postal address; Sage 50's five lines are street, street 2, town, county, postcode."""

    line1: str | None = _opt_text()
    line2: str | None = _opt_text()
    city: str | None = _opt_text()
    region: str | None = _opt_text()
    postal_code: str | None = _opt_text()
    country: str | None = _opt_text()


@attrs.frozen(kw_only=True)
class TrackingOption:
    key: str
    name: str
    inactive: bool = False


@attrs.frozen(kw_only=True)
class TrackingAssignment:
    """A line's choice of one option in one tracking category (both by source key)."""

    category: str
    option: str


@attrs.frozen(kw_only=True)
class DocumentLine:
    """One line of an invoice, credit note or bank transaction.

    ``net`` and ``tax`` are in the document currency, ``base_net`` and ``base_tax`` in the base
    currency, each exactly as the source system holds them.
    """

    number: str | None = _opt_text()
    description: str = ""
    account: str
    tax_rate: str | None = _opt_text()
    net: Decimal = _money()
    tax: Decimal = _money()
    base_net: Decimal = _money()
    base_tax: Decimal = _money()
    quantity: Decimal | None = _money_or_none()
    unit_price: Decimal | None = _money_or_none()
    item: str | None = _opt_text()
    tracking: tuple[TrackingAssignment, ...] = _tuple_of(TrackingAssignment)

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax

    @property
    def base_gross(self) -> Decimal:
        return self.base_net + self.base_tax


@attrs.frozen(kw_only=True)
class Allocation:
    """Part of a payment, credit or open item set against a document.

    ``amount`` is in the currency the two items share.
    """

    document_entity: str
    document: str
    amount: Decimal = attrs.field(validator=[instance_of(Decimal), _positive])
    date: dt.date | None = _opt_date()


@attrs.frozen(kw_only=True)
class JournalLine:
    account: str
    amount: Decimal = _money()
    description: str = ""
    tax_rate: str | None = _opt_text()
    tracking: tuple[TrackingAssignment, ...] = _tuple_of(TrackingAssignment)


# ---------------------------------------------------------------------------
# records
# ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Record:
    """Base of every canonical record: a stable source key, unique within its entity."""

    entity: ClassVar[str] = ""
    key: str = attrs.field(validator=instance_of(str))

    def references(self) -> Iterator[Reference]:
        """Yield every record this one refers to, as ``(entity, key)``."""
        return iter(())


@attrs.frozen(kw_only=True)
class Company(Record):
    entity: ClassVar[str] = "company"
    name: str
    registration: str | None = _opt_text()
    tax_number: str | None = _opt_text()
    address: Address = attrs.field(factory=Address)
    base_currency: str = "GBP"
    year_start_month: int = attrs.field(default=1, validator=[ge(1)])
    year_start_day: int = attrs.field(default=1, validator=[ge(1)])
    tax_scheme: str | None = _opt_text()
    flat_rate_percent: Decimal | None = _money_or_none()
    opening_balance_date: dt.date | None = _opt_date()


@attrs.frozen(kw_only=True)
class TaxRate(Record):
    entity: ClassVar[str] = "tax_rates"
    code: str
    name: str
    rate: Decimal = _money()
    treatment: TaxTreatment = TaxTreatment.OTHER
    in_tax_return: bool = True
    ec_sales: bool = False
    ec_purchases: bool = False
    reverse_charge: bool = False
    inactive: bool = False


@attrs.frozen(kw_only=True)
class LedgerAccount(Record):
    entity: ClassVar[str] = "ledger_accounts"
    code: str
    name: str
    type: AccountType
    control_role: ControlRole | None = None
    tax_rate: str | None = _opt_text()
    currency: str | None = _opt_text()
    description: str | None = _opt_text()
    inactive: bool = False

    def references(self) -> Iterator[Reference]:
        if self.tax_rate:
            yield ("tax_rates", self.tax_rate)


@attrs.frozen(kw_only=True)
class TrackingCategory(Record):
    entity: ClassVar[str] = "tracking_categories"
    name: str
    options: tuple[TrackingOption, ...] = _tuple_of(TrackingOption)
    inactive: bool = False


@attrs.frozen(kw_only=True)
class BankAccount(Record):
    entity: ClassVar[str] = "bank_accounts"
    name: str
    account: str
    kind: BankAccountKind = BankAccountKind.CURRENT
    currency: str = "GBP"
    bank_name: str | None = _opt_text()
    sort_code: str | None = _opt_text()
    account_number: str | None = _opt_text()
    iban: str | None = _opt_text()
    bic: str | None = _opt_text()
    inactive: bool = False

    def references(self) -> Iterator[Reference]:
        yield ("ledger_accounts", self.account)


@attrs.frozen(kw_only=True)
class Contact(Record):
    """A customer, a supplier, or both."""

    entity: ClassVar[str] = "contacts"
    code: str | None = _opt_text()
    name: str
    is_customer: bool = False
    is_supplier: bool = False
    address: Address = attrs.field(factory=Address)
    contact_name: str | None = _opt_text()
    email: str | None = _opt_text()
    phone: str | None = _opt_text()
    tax_number: str | None = _opt_text()
    currency: str | None = _opt_text()
    credit_limit: Decimal | None = _money_or_none()
    payment_terms_days: int | None = None
    sales_account: str | None = _opt_text()
    purchase_account: str | None = _opt_text()
    tax_rate: str | None = _opt_text()
    inactive: bool = False

    def references(self) -> Iterator[Reference]:
        if self.sales_account:
            yield ("ledger_accounts", self.sales_account)
        if self.purchase_account:
            yield ("ledger_accounts", self.purchase_account)
        if self.tax_rate:
            yield ("tax_rates", self.tax_rate)


@attrs.frozen(kw_only=True)
class Item(Record):
    entity: ClassVar[str] = "items"
    code: str
    name: str
    description: str | None = _opt_text()
    kind: ItemKind = ItemKind.NON_STOCK
    sales_price: Decimal | None = _money_or_none()
    purchase_price: Decimal | None = _money_or_none()
    unit: str | None = _opt_text()
    sales_account: str | None = _opt_text()
    purchase_account: str | None = _opt_text()
    tax_rate: str | None = _opt_text()
    supplier: str | None = _opt_text()
    inactive: bool = False

    def references(self) -> Iterator[Reference]:
        if self.sales_account:
            yield ("ledger_accounts", self.sales_account)
        if self.purchase_account:
            yield ("ledger_accounts", self.purchase_account)
        if self.tax_rate:
            yield ("tax_rates", self.tax_rate)
        if self.supplier:
            yield ("contacts", self.supplier)


@attrs.frozen(kw_only=True)
class OpeningBalance(Record):
    """One trial-balance line at the opening-balance date; ``balance`` is debit positive."""

    entity: ClassVar[str] = "opening_balances"
    account: str
    as_of: dt.date = _date()
    balance: Decimal = _money()

    def references(self) -> Iterator[Reference]:
        yield ("ledger_accounts", self.account)


def _line_references(lines: tuple[DocumentLine, ...]) -> Iterator[Reference]:
    for line in lines:
        yield ("ledger_accounts", line.account)
        if line.tax_rate:
            yield ("tax_rates", line.tax_rate)
        if line.item:
            yield ("items", line.item)
        for choice in line.tracking:
            yield ("tracking_categories", choice.category)


def _allocation_references(allocations: tuple[Allocation, ...]) -> Iterator[Reference]:
    for allocation in allocations:
        yield (allocation.document_entity, allocation.document)


@attrs.frozen(kw_only=True)
class _Document(Record):
    kind: DocumentKind
    number: str | None = _opt_text()
    contact: str
    date: dt.date = _date()
    due_date: dt.date | None = _opt_date()
    reference: str | None = _opt_text()
    description: str | None = _opt_text()
    currency: str = "GBP"
    exchange_rate: Decimal = _rate()
    status: DocumentStatus = DocumentStatus.POSTED
    lines: tuple[DocumentLine, ...] = _tuple_of(DocumentLine)

    @property
    def net(self) -> Decimal:
        return sum((line.net for line in self.lines), Decimal(0))

    @property
    def tax(self) -> Decimal:
        return sum((line.tax for line in self.lines), Decimal(0))

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax

    @property
    def base_net(self) -> Decimal:
        return sum((line.base_net for line in self.lines), Decimal(0))

    @property
    def base_tax(self) -> Decimal:
        return sum((line.base_tax for line in self.lines), Decimal(0))

    @property
    def base_gross(self) -> Decimal:
        return self.base_net + self.base_tax


@attrs.frozen(kw_only=True)
class Invoice(_Document):
    """A sales invoice or a purchase invoice (a bill)."""

    entity: ClassVar[str] = "invoices"

    def references(self) -> Iterator[Reference]:
        yield ("contacts", self.contact)
        yield from _line_references(self.lines)


@attrs.frozen(kw_only=True)
class CreditNote(_Document):
    """A sales or purchase credit note; ``discount`` marks Sage 50's SD/PD discount postings."""

    entity: ClassVar[str] = "credit_notes"
    discount: bool = False
    allocations: tuple[Allocation, ...] = _tuple_of(Allocation)

    def references(self) -> Iterator[Reference]:
        yield ("contacts", self.contact)
        yield from _line_references(self.lines)
        yield from _allocation_references(self.allocations)


@attrs.frozen(kw_only=True)
class Payment(Record):
    """Money received from a customer or paid to a supplier, with what it settles.

    Whatever the allocations leave over is held on account.
    """

    entity: ClassVar[str] = "payments"
    kind: PaymentKind
    contact: str
    bank_account: str
    date: dt.date = _date()
    reference: str | None = _opt_text()
    description: str | None = _opt_text()
    currency: str = "GBP"
    exchange_rate: Decimal = _rate()
    amount: Decimal = _money()
    base_amount: Decimal = _money()
    allocations: tuple[Allocation, ...] = _tuple_of(Allocation)
    reconciled_on: dt.date | None = _opt_date()

    @property
    def unallocated(self) -> Decimal:
        return self.amount - sum((a.amount for a in self.allocations), Decimal(0))

    def references(self) -> Iterator[Reference]:
        yield ("contacts", self.contact)
        yield ("bank_accounts", self.bank_account)
        yield from _allocation_references(self.allocations)


@attrs.frozen(kw_only=True)
class Refund(Record):
    """Money paid back to a customer or received back from a supplier.

    Credits and payments on account are allocated to a refund, as to an invoice.
    """

    entity: ClassVar[str] = "refunds"
    kind: RefundKind
    contact: str
    bank_account: str
    date: dt.date = _date()
    reference: str | None = _opt_text()
    description: str | None = _opt_text()
    currency: str = "GBP"
    exchange_rate: Decimal = _rate()
    amount: Decimal = _money()
    base_amount: Decimal = _money()
    reconciled_on: dt.date | None = _opt_date()

    def references(self) -> Iterator[Reference]:
        yield ("contacts", self.contact)
        yield ("bank_accounts", self.bank_account)


@attrs.frozen(kw_only=True)
class OpenItem(Record):
    """An item outstanding at the opening-balance date (aged debtors and creditors).

    ``gross`` and ``outstanding`` are in the item's currency and ``base_outstanding`` is the
    base-currency value inside the opening trial balance. Open items do not post: the trial
    balance already holds them.
    """

    entity: ClassVar[str] = "open_items"
    kind: OpenItemKind
    contact: str
    number: str | None = _opt_text()
    description: str | None = _opt_text()
    date: dt.date = _date()
    due_date: dt.date | None = _opt_date()
    currency: str = "GBP"
    exchange_rate: Decimal = _rate()
    gross: Decimal = _money()
    outstanding: Decimal = _money()
    base_outstanding: Decimal = _money()
    allocations: tuple[Allocation, ...] = _tuple_of(Allocation)

    def references(self) -> Iterator[Reference]:
        yield ("contacts", self.contact)
        yield from _allocation_references(self.allocations)


@attrs.frozen(kw_only=True)
class BankTransaction(Record):
    """Money spent or received straight through a bank account (no invoice)."""

    entity: ClassVar[str] = "bank_transactions"
    kind: BankTransactionKind
    bank_account: str
    contact: str | None = _opt_text()
    date: dt.date = _date()
    reference: str | None = _opt_text()
    description: str | None = _opt_text()
    currency: str = "GBP"
    exchange_rate: Decimal = _rate()
    lines: tuple[DocumentLine, ...] = _tuple_of(DocumentLine)
    reconciled_on: dt.date | None = _opt_date()

    @property
    def gross(self) -> Decimal:
        return sum((line.net + line.tax for line in self.lines), Decimal(0))

    @property
    def base_gross(self) -> Decimal:
        return sum((line.base_net + line.base_tax for line in self.lines), Decimal(0))

    def references(self) -> Iterator[Reference]:
        yield ("bank_accounts", self.bank_account)
        if self.contact:
            yield ("contacts", self.contact)
        yield from _line_references(self.lines)


@attrs.frozen(kw_only=True)
class BankTransfer(Record):
    """Money moved between two of the company's own bank accounts."""

    entity: ClassVar[str] = "bank_transfers"
    from_bank_account: str
    to_bank_account: str
    date: dt.date = _date()
    amount: Decimal = attrs.field(validator=[instance_of(Decimal), _positive])
    currency: str = "GBP"
    reference: str | None = _opt_text()
    description: str | None = _opt_text()
    reconciled_on: dt.date | None = _opt_date()

    def references(self) -> Iterator[Reference]:
        yield ("bank_accounts", self.from_bank_account)
        yield ("bank_accounts", self.to_bank_account)


@attrs.frozen(kw_only=True)
class ManualJournal(Record):
    """A journal in base currency; its lines (debit positive) sum to zero."""

    entity: ClassVar[str] = "manual_journals"
    date: dt.date = _date()
    reference: str | None = _opt_text()
    narration: str = ""
    lines: tuple[JournalLine, ...] = _tuple_of(JournalLine)

    def references(self) -> Iterator[Reference]:
        for line in self.lines:
            yield ("ledger_accounts", line.account)
            if line.tax_rate:
                yield ("tax_rates", line.tax_rate)
            for choice in line.tracking:
                yield ("tracking_categories", choice.category)


RECORD_TYPES: dict[str, type[Record]] = {
    cls.entity: cls
    for cls in (
        Company,
        TaxRate,
        LedgerAccount,
        TrackingCategory,
        BankAccount,
        Contact,
        Item,
        OpeningBalance,
        Invoice,
        Refund,
        OpenItem,
        CreditNote,
        Payment,
        BankTransaction,
        BankTransfer,
        ManualJournal,
    )
}
"""Every entity's record class, in load order."""

ENTITY_ORDER: tuple[str, ...] = tuple(RECORD_TYPES)
"""The order records load in, so that every reference points backwards.

Allocation targets (invoices, refunds, open items) load before what is allocated to them
(credit notes, payments, source-kind open items); rollback runs the reverse order.
"""
