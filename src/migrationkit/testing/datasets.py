"""Canned datasets for connector tests: small, consistent companies with the awkward cases.

Every dataset is a complete company in canonical records (every reference resolves, every
journal balances) built in code, so a test can change it between runs. Each one stresses one
thing connectors get wrong:

* :func:`basic` - one of everything, in base currency;
* :func:`unicode` - names and descriptions in accents, ligatures, Welsh, emoji and RTL text;
* :func:`foreign_currency` - EUR and USD documents with their rates and base amounts;
* :func:`allocations` - part payments, one payment over several invoices, a credit note set
  against an invoice, a payment on account, a refund;
* :func:`duplicates` - two contacts with the same name, two bills with the same supplier number;
* :func:`updated` - :func:`basic` with some records changed, one added and one gone, for delta.
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Iterator
from decimal import Decimal as D

import attrs

from migrationkit.core.model import (
    AccountType,
    Address,
    Allocation,
    BankAccount,
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

__all__ = [
    "DATASETS",
    "Dataset",
    "allocations",
    "basic",
    "duplicates",
    "foreign_currency",
    "unicode",
    "updated",
]

Dataset = dict[str, list[Record]]
"""Records by entity name."""

START = dt.date(2024, 4, 1)
_CHART = [
    ("1100", "Trade debtors", AccountType.CURRENT_ASSET, ControlRole.RECEIVABLES),
    ("1200", "Current account", AccountType.BANK, ControlRole.BANK),
    ("1210", "Deposit account", AccountType.BANK, ControlRole.BANK),
    ("2100", "Trade creditors", AccountType.CURRENT_LIABILITY, ControlRole.PAYABLES),
    ("2200", "VAT on sales", AccountType.CURRENT_LIABILITY, ControlRole.SALES_TAX),
    ("2201", "VAT on purchases", AccountType.CURRENT_LIABILITY, ControlRole.PURCHASE_TAX),
    ("2109", "Accruals", AccountType.CURRENT_LIABILITY, None),
    ("3000", "Share capital", AccountType.EQUITY, None),
    ("3200", "Retained earnings", AccountType.EQUITY, ControlRole.RETAINED_EARNINGS),
    ("4000", "Sales", AccountType.SALES, None),
    ("5000", "Purchases", AccountType.PURCHASES, None),
    ("7100", "Rent", AccountType.OVERHEADS, None),
    ("7906", "Exchange differences", AccountType.OVERHEADS, ControlRole.EXCHANGE_VARIANCE),
]


def _day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def _line(
    account: str, net: str, rate: str = "T1", *, base: str | None = None, text: str = ""
) -> DocumentLine:
    net_value = D(net)
    tax = (net_value * D("0.20")).quantize(D("0.01")) if rate == "T1" else D("0.00")
    base_value = D(base) if base is not None else net_value
    base_tax = (base_value * D("0.20")).quantize(D("0.01")) if rate == "T1" else D("0.00")
    return DocumentLine(
        description=text or f"Goods to {account}",
        account=account,
        tax_rate=rate,
        net=net_value,
        tax=tax,
        base_net=base_value,
        base_tax=base_tax,
    )


def _reference_data(
    names: tuple[str, str, str] = ("Acme Trading", "Brook Stores", "Cobalt Supplies"),
) -> Dataset:
    records: Dataset = {
        "company": [
            Company(
                key="company",
                name="Conformance Test Ltd",
                base_currency="GBP",
                year_start_month=4,
                opening_balance_date=START - dt.timedelta(days=1),
            )
        ],
        "tax_rates": [
            TaxRate(
                key="T0", code="T0", name="Zero rated", rate=D("0"), treatment=TaxTreatment.ZERO
            ),
            TaxRate(
                key="T1",
                code="T1",
                name="Standard rate",
                rate=D("20.00"),
                treatment=TaxTreatment.STANDARD,
            ),
            TaxRate(
                key="T9",
                code="T9",
                name="Outside the scope",
                rate=D("0"),
                treatment=TaxTreatment.OUTSIDE_SCOPE,
                in_tax_return=False,
            ),
        ],
        "ledger_accounts": [
            LedgerAccount(key=code, code=code, name=name, type=kind, control_role=role)
            for code, name, kind, role in _CHART
        ],
        "tracking_categories": [
            TrackingCategory(
                key="department",
                name="Department",
                options=(
                    TrackingOption(key="retail", name="Retail"),
                    TrackingOption(key="trade", name="Trade"),
                ),
            )
        ],
        "bank_accounts": [
            BankAccount(key="1200", name="Current account", account="1200", sort_code="40-12-34"),
            BankAccount(key="1210", name="Deposit account", account="1210"),
        ],
        "contacts": [
            Contact(
                key="customer:ACME",
                code="ACME",
                name=names[0],
                is_customer=True,
                address=Address(
                    line1="1 High Street", city="Bristol", postal_code="BS1 4DJ", country="GB"
                ),
                email="accounts@acme.example",
                sales_account="4000",
                tax_rate="T1",
            ),
            Contact(key="customer:BROOK", code="BROOK", name=names[1], is_customer=True),
            Contact(
                key="supplier:COBALT",
                code="COBALT",
                name=names[2],
                is_supplier=True,
                purchase_account="5000",
            ),
        ],
        "items": [
            Item(
                key="MUG-01",
                code="MUG-01",
                name="Ceramic mug",
                kind=ItemKind.STOCK,
                sales_price=D("4.5000"),
                purchase_price=D("1.2500"),
                sales_account="4000",
                purchase_account="5000",
                tax_rate="T1",
                supplier="supplier:COBALT",
            )
        ],
    }
    return records


def _opening(records: Dataset) -> None:
    as_of = START - dt.timedelta(days=1)
    records["opening_balances"] = [
        OpeningBalance(key="1200", account="1200", as_of=as_of, balance=D("5000.00")),
        OpeningBalance(key="1100", account="1100", as_of=as_of, balance=D("360.00")),
        OpeningBalance(key="2100", account="2100", as_of=as_of, balance=D("-120.00")),
        OpeningBalance(key="3000", account="3000", as_of=as_of, balance=D("-1000.00")),
        OpeningBalance(key="3200", account="3200", as_of=as_of, balance=D("-4240.00")),
    ]
    records["open_items"] = [
        OpenItem(
            key="OB-1",
            kind=OpenItemKind.SALES_INVOICE,
            contact="customer:BROOK",
            number="INV-0099",
            date=as_of - dt.timedelta(days=20),
            due_date=as_of + dt.timedelta(days=10),
            gross=D("360.00"),
            outstanding=D("360.00"),
            base_outstanding=D("360.00"),
        ),
        OpenItem(
            key="OB-2",
            kind=OpenItemKind.PURCHASE_INVOICE,
            contact="supplier:COBALT",
            number="C-7701",
            date=as_of - dt.timedelta(days=12),
            gross=D("120.00"),
            outstanding=D("120.00"),
            base_outstanding=D("120.00"),
        ),
    ]


def basic() -> Dataset:
    """One of everything, in base currency, every reference resolving."""
    records = _reference_data()
    _opening(records)
    department = (TrackingAssignment(category="department", option="retail"),)
    records["invoices"] = [
        Invoice(
            key="INV-1001",
            kind=DocumentKind.SALES,
            number="INV-1001",
            contact="customer:ACME",
            date=_day(2),
            due_date=_day(32),
            reference="PO 4411",
            lines=(
                attrs.evolve(
                    _line("4000", "100.00"),
                    quantity=D("20"),
                    unit_price=D("5.0000"),
                    item="MUG-01",
                    tracking=department,
                ),
                _line("4000", "40.00", "T0", text="Delivery"),
            ),
        ),
        Invoice(
            key="INV-1002",
            kind=DocumentKind.SALES,
            number="INV-1002",
            contact="customer:BROOK",
            date=_day(5),
            lines=(_line("4000", "250.00"),),
        ),
        Invoice(
            key="BILL-501",
            kind=DocumentKind.PURCHASE,
            number="C-7750",
            contact="supplier:COBALT",
            date=_day(6),
            lines=(_line("5000", "80.00"),),
        ),
    ]
    records["refunds"] = []
    records["credit_notes"] = [
        CreditNote(
            key="CN-11",
            kind=DocumentKind.SALES,
            number="CN-11",
            contact="customer:ACME",
            date=_day(9),
            lines=(_line("4000", "10.00"),),
            allocations=(
                Allocation(
                    document_entity="invoices", document="INV-1001", amount=D("12.00"), date=_day(9)
                ),
            ),
        )
    ]
    records["payments"] = [
        Payment(
            key="REC-1",
            kind=PaymentKind.CUSTOMER_RECEIPT,
            contact="customer:BROOK",
            bank_account="1200",
            date=_day(12),
            reference="BACS",
            amount=D("660.00"),
            base_amount=D("660.00"),
            allocations=(
                Allocation(
                    document_entity="open_items", document="OB-1", amount=D("360.00"), date=_day(12)
                ),
                Allocation(
                    document_entity="invoices",
                    document="INV-1002",
                    amount=D("300.00"),
                    date=_day(12),
                ),
            ),
        ),
        Payment(
            key="PAY-1",
            kind=PaymentKind.SUPPLIER_PAYMENT,
            contact="supplier:COBALT",
            bank_account="1200",
            date=_day(14),
            amount=D("120.00"),
            base_amount=D("120.00"),
            allocations=(
                Allocation(
                    document_entity="open_items", document="OB-2", amount=D("120.00"), date=_day(14)
                ),
            ),
        ),
    ]
    records["bank_transactions"] = [
        BankTransaction(
            key="BP-1",
            kind=BankTransactionKind.SPEND,
            bank_account="1200",
            date=_day(3),
            reference="DD",
            description="Rent April",
            lines=(_line("7100", "600.00", "T9"),),
        )
    ]
    records["bank_transfers"] = [
        BankTransfer(
            key="TR-1",
            from_bank_account="1200",
            to_bank_account="1210",
            date=_day(15),
            amount=D("1000.00"),
        )
    ]
    records["manual_journals"] = [
        ManualJournal(
            key="J-1",
            date=_day(30),
            reference="ACC04",
            narration="Accrue electricity",
            lines=(
                JournalLine(account="7100", amount=D("180.00"), description="Electricity"),
                JournalLine(account="2109", amount=D("-180.00"), description="Electricity"),
            ),
        )
    ]
    return records


def unicode() -> Dataset:
    """:func:`basic` with names and texts that break naive encoders."""
    records = basic()
    names = (
        "Café Mëlange SARL ☕",
        "Siop Gegin Llŷn Cyf",
        "Zoë's Kitchen “Supplies” – Ørsted & Søn",
    )
    fresh = _reference_data(names)
    records["contacts"] = fresh["contacts"]
    records["invoices"] = [
        attrs.evolve(
            typing.cast(Invoice, invoice),
            description='Ünïcödé: naïve façade, Straße, 東京, مرحبا, emoji 🎉, quote " and comma ,',
        )
        for invoice in records["invoices"]
    ]
    return records


def foreign_currency() -> Dataset:
    """EUR and USD documents with their rates; base amounts exactly as the source holds them."""
    records = basic()
    records["contacts"].append(
        Contact(
            key="customer:LYON",
            code="LYON",
            name="Épicerie Lyonnaise",
            is_customer=True,
            currency="EUR",
        )
    )
    records["contacts"].append(
        Contact(
            key="supplier:NYC",
            code="NYC",
            name="Hudson Glassworks Inc",
            is_supplier=True,
            currency="USD",
        )
    )
    records["invoices"] += [
        Invoice(
            key="INV-EUR-1",
            kind=DocumentKind.SALES,
            number="INV-EUR-1",
            contact="customer:LYON",
            date=_day(8),
            currency="EUR",
            exchange_rate=D("1.1685"),
            lines=(
                _line("4000", "3150.00", "T0", base="2695.76"),
                _line("4000", "290.00", "T0", base="248.18"),
            ),
        ),
        Invoice(
            key="BILL-USD-1",
            kind=DocumentKind.PURCHASE,
            number="HG-22",
            contact="supplier:NYC",
            date=_day(8),
            currency="USD",
            exchange_rate=D("1.2710"),
            lines=(_line("5000", "500.00", "T0", base="393.39"),),
        ),
    ]
    records["payments"].append(
        Payment(
            key="REC-EUR-1",
            kind=PaymentKind.CUSTOMER_RECEIPT,
            contact="customer:LYON",
            bank_account="1200",
            date=_day(20),
            currency="EUR",
            exchange_rate=D("1.1685"),
            amount=D("1000.00"),
            base_amount=D("855.80"),
            allocations=(
                Allocation(
                    document_entity="invoices",
                    document="INV-EUR-1",
                    amount=D("1000.00"),
                    date=_day(20),
                ),
            ),
        )
    )
    return records


def allocations() -> Dataset:
    """Part payments, one payment over several invoices, credits, on-account, a refund."""
    records = basic()
    records["invoices"].append(
        Invoice(
            key="INV-1003",
            kind=DocumentKind.SALES,
            number="INV-1003",
            contact="customer:ACME",
            date=_day(16),
            lines=(_line("4000", "50.00"),),
        )
    )
    records["refunds"] = [
        Refund(
            key="RF-1",
            kind=RefundKind.CUSTOMER_REFUND,
            contact="customer:ACME",
            bank_account="1200",
            date=_day(25),
            amount=D("20.00"),
            base_amount=D("20.00"),
        )
    ]
    records["credit_notes"].append(
        CreditNote(
            key="CN-12",
            kind=DocumentKind.SALES,
            number="CN-12",
            contact="customer:ACME",
            date=_day(24),
            lines=(_line("4000", "50.00", "T0"),),
            allocations=(
                Allocation(
                    document_entity="invoices",
                    document="INV-1003",
                    amount=D("30.00"),
                    date=_day(24),
                ),
                Allocation(
                    document_entity="refunds", document="RF-1", amount=D("20.00"), date=_day(25)
                ),
            ),
        )
    )
    records["payments"].append(
        Payment(
            key="REC-2",
            kind=PaymentKind.CUSTOMER_RECEIPT,
            contact="customer:ACME",
            bank_account="1200",
            date=_day(26),
            amount=D("200.00"),
            base_amount=D("200.00"),
            allocations=(
                Allocation(
                    document_entity="invoices",
                    document="INV-1001",
                    amount=D("100.00"),
                    date=_day(26),
                ),
                Allocation(
                    document_entity="invoices",
                    document="INV-1003",
                    amount=D("30.00"),
                    date=_day(26),
                ),
            ),
        )
    )
    return records


def duplicates() -> Dataset:
    """Two customers with one name; two bills carrying the same supplier invoice number."""
    records = basic()
    first = typing.cast(Contact, records["contacts"][0])
    records["contacts"].append(
        Contact(key="customer:ACME2", code="ACME2", name=first.name, is_customer=True)
    )
    records["invoices"].append(
        Invoice(
            key="BILL-502",
            kind=DocumentKind.PURCHASE,
            number="C-7750",
            contact="supplier:COBALT",
            date=_day(7),
            lines=(_line("5000", "15.00"),),
        )
    )
    return records


def updated() -> Dataset:
    """:func:`basic` after a week: two records changed, one added, one deleted."""
    records = basic()
    first, second, bill = records["invoices"]
    records["invoices"] = [
        attrs.evolve(typing.cast(Invoice, first), reference="PO 4411 (revised)"),
        second,
        bill,
        Invoice(
            key="INV-1004",
            kind=DocumentKind.SALES,
            number="INV-1004",
            contact="customer:BROOK",
            date=_day(31),
            lines=(_line("4000", "75.00"),),
        ),
    ]
    records["contacts"][1] = attrs.evolve(
        typing.cast(Contact, records["contacts"][1]), email="ledger@brook.example"
    )
    records["manual_journals"] = []
    return records


DATASETS = {
    "basic": basic,
    "unicode": unicode,
    "foreign_currency": foreign_currency,
    "allocations": allocations,
    "duplicates": duplicates,
}
"""Every dataset a target should take whole (``updated`` is for delta, after ``basic``)."""


def records(dataset: Dataset) -> Iterator[Record]:
    """Every record of a dataset, in load order."""
    from migrationkit.core.model import ENTITY_ORDER

    for entity in ENTITY_ORDER:
        yield from dataset.get(entity, ())
