"""What a new Sage Accounting GB business holds before anything is migrated into it.

A default chart in the layout GB businesses get, with the control accounts Sage's knowledge
base lists (1100 Trade Debtors, 2100 Trade Creditors, 1200 the default bank account "Current",
7900 bank charges, 2200/2201 VAT on sales and purchases, 2202 VAT liability, 2203 VAT
adjustments, 2205/2206 VAT holding accounts, 9999 Suspense, which takes the other side of
opening balances), the GB tax rates with their rate history and three analysis types. The
ordinary accounts, the control names, 3200 retained profit and 7906 exchange differences as
control accounts are this sandbox's approximation of Sage's template: compare with a trial
business before relying on them.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = [
    "ANALYSIS_TYPES",
    "BANK_TYPES",
    "CHART",
    "CURRENCIES",
    "DEFAULT_BANK",
    "LEDGER_TYPES",
    "TAX_RATES",
    "ZERO_RATES",
]

LEDGER_TYPES = (
    "SALES",
    "OTHER_INCOME",
    "DIRECT_EXPENSES",
    "OVERHEADS",
    "DEPRECIATION",
    "CURRENT_ASSETS",
    "FIXED_ASSETS",
    "FUTURE_ASSETS",
    "BANK",
    "CURRENT_LIABILITY",
    "FUTURE_LIABILITY",
    "EQUITY",
)

# (nominal code, name, ledger account type, control name or None)
CHART: tuple[tuple[int, str, str, str | None], ...] = (
    (10, "Freehold Property", "FIXED_ASSETS", None),
    (20, "Plant and Machinery", "FIXED_ASSETS", None),
    (21, "Plant/Machinery Depreciation", "FIXED_ASSETS", None),
    (30, "Office Equipment", "FIXED_ASSETS", None),
    (31, "Office Equipment Depreciation", "FIXED_ASSETS", None),
    (40, "Furniture and Fixtures", "FIXED_ASSETS", None),
    (41, "Furniture/Fixture Depreciation", "FIXED_ASSETS", None),
    (50, "Motor Vehicles", "FIXED_ASSETS", None),
    (51, "Motor Vehicles Depreciation", "FIXED_ASSETS", None),
    (1001, "Stock", "CURRENT_ASSETS", None),
    (1100, "Trade Debtors", "CURRENT_ASSETS", "DEBTORS_CONTROL"),
    (1102, "Other Debtors", "CURRENT_ASSETS", None),
    (1103, "Prepayments", "CURRENT_ASSETS", None),
    (1200, "Current", "BANK", "DEFAULT_BANK"),
    (2100, "Trade Creditors", "CURRENT_LIABILITY", "CREDITORS_CONTROL"),
    (2109, "Accruals", "CURRENT_LIABILITY", None),
    (2200, "VAT on Sales", "CURRENT_LIABILITY", "SALES_TAX_CONTROL"),
    (2201, "VAT on Purchases", "CURRENT_LIABILITY", "PURCHASE_TAX_CONTROL"),
    (2202, "VAT Liability", "CURRENT_LIABILITY", "VAT_LIABILITY"),
    (2203, "VAT Allocations & Adjustments", "CURRENT_LIABILITY", "VAT_ADJUSTMENTS"),
    (2205, "VAT on Sales - Holding Account", "CURRENT_LIABILITY", "SALES_TAX_HOLDING"),
    (2206, "VAT on Purchases - Holding Account", "CURRENT_LIABILITY", "PURCHASE_TAX_HOLDING"),
    (2210, "PAYE and NI", "CURRENT_LIABILITY", None),
    (2220, "Net Wages", "CURRENT_LIABILITY", None),
    (2300, "Loans", "FUTURE_LIABILITY", None),
    (3000, "Ordinary Shares", "EQUITY", None),
    (3200, "Retained Profit", "EQUITY", "RETAINED_EARNINGS"),
    (4000, "Sales Type A", "SALES", None),
    (4001, "Sales Type B", "SALES", None),
    (4009, "Discounts Allowed", "SALES", None),
    (4900, "Other Income", "OTHER_INCOME", None),
    (5000, "Cost of sales - goods", "DIRECT_EXPENSES", None),
    (5009, "Discounts Taken", "DIRECT_EXPENSES", None),
    (6100, "Sales Commissions", "DIRECT_EXPENSES", None),
    (6201, "Advertising", "DIRECT_EXPENSES", None),
    (7000, "Gross Wages", "OVERHEADS", None),
    (7100, "Rent", "OVERHEADS", None),
    (7200, "Electricity", "OVERHEADS", None),
    (7300, "Motor Fuel", "OVERHEADS", None),
    (7400, "Travelling", "OVERHEADS", None),
    (7500, "Printing", "OVERHEADS", None),
    (7502, "Telephone", "OVERHEADS", None),
    (7600, "Legal Fees", "OVERHEADS", None),
    (7900, "Bank Charges and Interest", "OVERHEADS", "BANK_CHARGES"),
    (7906, "Exchange Rate Gains/Losses", "OVERHEADS", "EXCHANGE_VARIANCE"),
    (8000, "Depreciation", "DEPRECIATION", None),
    (8100, "Bad Debt Write Off", "OVERHEADS", None),
    (9999, "Suspense", "CURRENT_LIABILITY", "SUSPENSE"),
)

DEFAULT_BANK = (1200, "Current", "CHECKING")
"""The bank account a new business has: nominal code, name, type."""

# (id, name, current percentage, history of (percentage, from, to))
TAX_RATES: tuple[tuple[str, str, Decimal, tuple[tuple[Decimal, str, str | None], ...]], ...] = (
    (
        "GB_STANDARD",
        "Standard 20.00%",
        Decimal("20.0"),
        (
            (Decimal("17.5"), "2010-01-01", "2011-01-03"),
            (Decimal("20.0"), "2011-01-04", None),
        ),
    ),
    ("GB_LOWER", "Lower Rate 5.00%", Decimal("5.0"), ((Decimal("5.0"), "1997-09-01", None),)),
    ("GB_ZERO", "Zero Rated 0.00%", Decimal("0.0"), ((Decimal("0.0"), "1973-04-01", None),)),
    ("GB_EXEMPT", "Exempt 0.00%", Decimal("0.0"), ((Decimal("0.0"), "1973-04-01", None),)),
    ("GB_NO_TAX", "No VAT", Decimal("0.0"), ((Decimal("0.0"), "1973-04-01", None),)),
)

ZERO_RATES = frozenset({"GB_ZERO", "GB_EXEMPT", "GB_NO_TAX"})
"""Rates whose lines need no ``tax_amount`` (Sage infers 0)."""

ANALYSIS_TYPES = ("Analysis Type 1", "Analysis Type 2", "Analysis Type 3")

CURRENCIES = ("GBP", "EUR", "USD", "CAD", "AUD", "CHF", "SEK", "NOK", "DKK", "JPY", "PLN")

BANK_TYPES = ("CHECKING", "SAVINGS", "CASH_IN_HAND", "CREDIT_CARD", "LOAN", "OTHER")
