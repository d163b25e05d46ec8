"""A small, consistent canonical company, built in code, for core and engine tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from migrationkit import (
    AccountType,
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
)

DAY = dt.date(2024, 4, 1)

ACCOUNTS = [
    ("1100", "Debtors", AccountType.CURRENT_ASSET, ControlRole.RECEIVABLES),
    ("1200", "Bank", AccountType.BANK, ControlRole.BANK),
    ("1210", "Savings", AccountType.BANK, ControlRole.BANK),
    ("2100", "Creditors", AccountType.CURRENT_LIABILITY, ControlRole.PAYABLES),
    ("2200", "VAT on sales", AccountType.CURRENT_LIABILITY, ControlRole.SALES_TAX),
    ("2201", "VAT on purchases", AccountType.CURRENT_LIABILITY, ControlRole.PURCHASE_TAX),
    ("3200", "Retained earnings", AccountType.EQUITY, ControlRole.RETAINED_EARNINGS),
    ("4000", "Sales", AccountType.SALES, None),
    ("5000", "Purchases", AccountType.PURCHASES, None),
    ("7100", "Rent", AccountType.OVERHEADS, None),
]


def line(
    account: str, net: str, tax: str = "0.00", rate: str | None = "T1", **extra: object
) -> DocumentLine:
    return DocumentLine(
        description=f"line on {account}",
        account=account,
        tax_rate=rate,
        net=D(net),
        tax=D(tax),
        base_net=D(net),
        base_tax=D(tax),
        **extra,  # type: ignore[arg-type]
    )


def reference_data() -> list[Record]:
    records: list[Record] = [
        Company(key="company", name="Test Traders Ltd", base_currency="GBP"),
        TaxRate(key="T0", code="T0", name="Zero", rate=D("0"), treatment=TaxTreatment.ZERO),
        TaxRate(
            key="T1", code="T1", name="Standard", rate=D("20.00"), treatment=TaxTreatment.STANDARD
        ),
    ]
    records += [
        LedgerAccount(key=code, code=code, name=name, type=kind, control_role=role)
        for code, name, kind, role in ACCOUNTS
    ]
    records += [
        BankAccount(key="1200", name="Bank", account="1200"),
        BankAccount(key="1210", name="Savings", account="1210"),
        Contact(key="customer:ACME", code="ACME", name="Acme Café", is_customer=True),
        Contact(key="customer:BETA", code="BETA", name="Beta Bäckerei", is_customer=True),
        Contact(key="supplier:GAMMA", code="GAMMA", name="Gamma Supplies", is_supplier=True),
    ]
    return records


def sales_invoice(
    key: str, contact: str = "customer:ACME", net: str = "100.00", day: int = 0
) -> Invoice:
    tax = str((D(net) * D("0.2")).quantize(D("0.01")))
    return Invoice(
        key=key,
        kind=DocumentKind.SALES,
        number=f"INV-{key}",
        contact=contact,
        date=DAY + dt.timedelta(days=day),
        lines=(line("4000", net, tax),),
    )


def company(invoices: int = 6) -> dict[str, list[Record]]:
    """Reference data, opening balances, documents, payments, journals: every entity."""
    records: dict[str, list[Record]] = {}
    for record in reference_data():
        records.setdefault(record.entity, []).append(record)
    records["opening_balances"] = [
        OpeningBalance(key="1200", account="1200", as_of=DAY, balance=D("1000.00")),
        OpeningBalance(key="1100", account="1100", as_of=DAY, balance=D("240.00")),
        OpeningBalance(key="3200", account="3200", as_of=DAY, balance=D("-1240.00")),
    ]
    records["open_items"] = [
        OpenItem(
            key="1",
            kind=OpenItemKind.SALES_INVOICE,
            contact="customer:BETA",
            number="INV-OLD",
            date=DAY - dt.timedelta(days=10),
            gross=D("240.00"),
            outstanding=D("240.00"),
            base_outstanding=D("240.00"),
        )
    ]
    records["invoices"] = [
        sales_invoice(
            str(10 + n), "customer:ACME" if n % 2 else "customer:BETA", f"{100 + n}.00", n
        )
        for n in range(invoices)
    ] + [
        Invoice(
            key="90",
            kind=DocumentKind.PURCHASE,
            number="BILL-1",
            contact="supplier:GAMMA",
            date=DAY,
            lines=(line("5000", "50.00", "10.00"),),
        )
    ]
    records["refunds"] = [
        Refund(
            key="80",
            kind=RefundKind.CUSTOMER_REFUND,
            contact="customer:ACME",
            bank_account="1200",
            date=DAY + dt.timedelta(days=20),
            amount=D("12.00"),
            base_amount=D("12.00"),
        )
    ]
    records["credit_notes"] = [
        CreditNote(
            key="70",
            kind=DocumentKind.SALES,
            number="CN-1",
            contact="customer:ACME",
            date=DAY + dt.timedelta(days=15),
            lines=(line("4000", "10.00", "2.00"),),
            allocations=(Allocation(document_entity="refunds", document="80", amount=D("12.00")),),
        )
    ]
    records["payments"] = [
        Payment(
            key="60",
            kind=PaymentKind.CUSTOMER_RECEIPT,
            contact="customer:BETA",
            bank_account="1200",
            date=DAY + dt.timedelta(days=5),
            amount=D("360.00"),
            base_amount=D("360.00"),
            allocations=(
                Allocation(document_entity="open_items", document="1", amount=D("240.00")),
                Allocation(document_entity="invoices", document="10", amount=D("120.00")),
            ),
        ),
        Payment(
            key="61",
            kind=PaymentKind.SUPPLIER_PAYMENT,
            contact="supplier:GAMMA",
            bank_account="1200",
            date=DAY + dt.timedelta(days=6),
            amount=D("60.00"),
            base_amount=D("60.00"),
            allocations=(Allocation(document_entity="invoices", document="90", amount=D("60.00")),),
        ),
    ]
    records["bank_transactions"] = [
        BankTransaction(
            key="50",
            kind=BankTransactionKind.SPEND,
            bank_account="1200",
            date=DAY + dt.timedelta(days=3),
            lines=(line("7100", "300.00", "0.00", "T0"),),
        )
    ]
    records["bank_transfers"] = [
        BankTransfer(
            key="40",
            from_bank_account="1200",
            to_bank_account="1210",
            date=DAY + dt.timedelta(days=4),
            amount=D("100.00"),
        )
    ]
    records["manual_journals"] = [
        ManualJournal(
            key="30",
            date=DAY + dt.timedelta(days=7),
            narration="Accrual",
            lines=(
                JournalLine(account="7100", amount=D("25.00")),
                JournalLine(account="2100", amount=D("-25.00")),
            ),
        )
    ]
    return records
