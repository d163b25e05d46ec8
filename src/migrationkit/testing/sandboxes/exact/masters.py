"""A division's master data in the Exact sandbox: what each entity holds and Exact's rules for it.

Each endpoint is a :class:`Kind`: its key field, the fields a client may send and read, the
fields Exact requires, and the ``sync/Deleted`` entity type of its deletions. The rules that go
beyond fields (unique codes, references that must exist, accounts in use that cannot be deleted)
live with the :class:`~.division.Division` that holds the rows.
"""

from __future__ import annotations

import attrs

__all__ = ["KINDS", "LINE_KINDS", "Kind"]


@attrs.frozen(kw_only=True)
class Kind:
    """One endpoint's entity: what Exact calls it and which of its fields the sandbox keeps."""

    name: str
    """The entity type's name in Exact's errors (``GLAccount``)."""
    path: str
    key: str = "ID"
    fields: tuple[str, ...]
    required: tuple[str, ...] = ()
    read_only: tuple[str, ...] = ()
    deleted_type: int | None = None
    """``EntityType`` of its rows in ``sync/Deleted`` (None: not listed there)."""
    lines: str | None = None
    """The collection of lines an entry carries (``SalesEntryLines``)."""
    line_kind: str | None = None
    sync: str | None = None
    """Its ``sync/`` endpoint, when Exact has one."""
    methods: tuple[str, ...] = ("GET", "POST", "PUT", "DELETE")

    @property
    def all_fields(self) -> tuple[str, ...]:
        base = (self.key, *self.fields, *self.read_only, "Division", "Created", "Modified")
        return base + ((self.lines,) if self.lines else ())


_COMMON_READ = ("Created", "Modified")

KINDS: dict[str, Kind] = {
    kind.path: kind
    for kind in (
        Kind(
            name="GLAccount",
            path="financial/GLAccounts",
            fields=(
                "Code",
                "Description",
                "Type",
                "BalanceSide",
                "BalanceType",
                "IsBlocked",
                "VATCode",
                "SearchCode",
                "Matching",
            ),
            read_only=("TypeDescription", "VATDescription"),
            required=("Code", "Description"),
            deleted_type=7,
            sync="sync/Financial/GLAccounts",
        ),
        Kind(
            name="VATCode",
            path="vat/VATCodes",
            fields=(
                "Code",
                "Description",
                "Percentage",
                "Type",
                "VATTransactionType",
                "GLToPay",
                "GLToClaim",
                "Charged",
                "EUSalesListing",
                "IsBlocked",
            ),
            read_only=("GLToPayCode", "GLToClaimCode"),
            required=("Code", "Description"),
        ),
        Kind(
            name="Journal",
            path="financial/Journals",
            fields=(
                "Code",
                "Description",
                "Type",
                "GLAccount",
                "Currency",
                "AllowVariableCurrency",
                "AllowVAT",
                "BankAccountIncludingMask",
                "BankAccountIBAN",
                "BankAccountBICCode",
                "BankName",
                "IsBlocked",
            ),
            read_only=("GLAccountCode", "GLAccountType"),
            required=("Code", "Description", "Type"),
        ),
        Kind(
            name="Account",
            path="crm/Accounts",
            fields=(
                "Code",
                "Name",
                "SearchCode",
                "Status",
                "IsSupplier",
                "IsSales",
                "Blocked",
                "Email",
                "Phone",
                "VATNumber",
                "ChamberOfCommerce",
                "AddressLine1",
                "AddressLine2",
                "AddressLine3",
                "City",
                "Postcode",
                "State",
                "Country",
                "SalesCurrency",
                "PurchaseCurrency",
                "CreditLineSales",
                "CreditLinePurchase",
                "PaymentConditionSales",
                "PaymentConditionPurchase",
                "SalesVATCode",
                "PurchaseVATCode",
                "GLAccountSales",
                "GLAccountPurchase",
                "GLAR",
                "GLAP",
                "Remarks",
            ),
            required=("Name",),
            deleted_type=2,
            sync="sync/CRM/Accounts",
        ),
        Kind(
            name="Item",
            path="logistics/Items",
            fields=(
                "Code",
                "Description",
                "ExtraDescription",
                "SearchCode",
                "IsSalesItem",
                "IsPurchaseItem",
                "IsStockItem",
                "StandardSalesPrice",
                "CostPriceStandard",
                "GLRevenue",
                "GLCosts",
                "SalesVatCode",
                "StartDate",
                "EndDate",
            ),
            required=("Code", "Description"),
            deleted_type=9,
            sync="sync/Logistics/Items",
        ),
        Kind(
            name="Costcenter",
            path="hrm/Costcenters",
            fields=("Code", "Description", "Active"),
            required=("Code", "Description"),
        ),
        Kind(
            name="Costunit",
            path="hrm/Costunits",
            fields=("Code", "Description"),
            required=("Code", "Description"),
        ),
        Kind(
            name="PaymentCondition",
            path="cashflow/PaymentConditions",
            fields=("Code", "Description", "PaymentDays"),
            required=("Code", "Description"),
            methods=("GET", "POST"),
        ),
        Kind(
            name="SalesEntry",
            path="salesentry/SalesEntries",
            key="EntryID",
            fields=(
                "Customer",
                "Journal",
                "EntryDate",
                "EntryNumber",
                "DueDate",
                "YourRef",
                "PaymentReference",
                "Description",
                "Currency",
                "Rate",
                "Type",
                "PaymentCondition",
            ),
            read_only=(
                "Status",
                "AmountFC",
                "AmountDC",
                "VATAmountFC",
                "VATAmountDC",
                "InvoiceNumber",
                "ReportingYear",
                "ReportingPeriod",
                "CustomerName",
            ),
            required=("Customer", "Journal"),
            lines="SalesEntryLines",
            line_kind="SalesEntryLine",
        ),
        Kind(
            name="PurchaseEntry",
            path="purchaseentry/PurchaseEntries",
            key="EntryID",
            fields=(
                "Supplier",
                "Journal",
                "EntryDate",
                "EntryNumber",
                "DueDate",
                "YourRef",
                "PaymentReference",
                "Description",
                "Currency",
                "Rate",
                "Type",
                "PaymentCondition",
            ),
            read_only=(
                "Status",
                "AmountFC",
                "AmountDC",
                "VATAmountFC",
                "VATAmountDC",
                "InvoiceNumber",
                "ReportingYear",
                "ReportingPeriod",
                "SupplierName",
            ),
            required=("Supplier", "Journal"),
            lines="PurchaseEntryLines",
            line_kind="PurchaseEntryLine",
        ),
        Kind(
            name="GeneralJournalEntry",
            path="generaljournalentry/GeneralJournalEntries",
            key="EntryID",
            fields=("JournalCode", "EntryNumber", "Type", "Currency", "ExchangeRate", "Reversal"),
            read_only=("Status", "FinancialYear", "FinancialPeriod"),
            required=("JournalCode",),
            lines="GeneralJournalEntryLines",
            line_kind="GeneralJournalEntryLine",
            methods=("GET", "POST", "DELETE"),
        ),
        Kind(
            name="BankEntry",
            path="financialtransaction/BankEntries",
            key="EntryID",
            fields=(
                "JournalCode",
                "EntryNumber",
                "Currency",
                "OpeningBalanceFC",
                "ClosingBalanceFC",
            ),
            read_only=("Status", "FinancialYear", "FinancialPeriod"),
            required=("JournalCode",),
            lines="BankEntryLines",
            line_kind="BankEntryLine",
            methods=("GET", "POST", "DELETE"),
        ),
        Kind(
            name="CashEntry",
            path="financialtransaction/CashEntries",
            key="EntryID",
            fields=(
                "JournalCode",
                "EntryNumber",
                "Currency",
                "OpeningBalanceFC",
                "ClosingBalanceFC",
            ),
            read_only=("Status", "FinancialYear", "FinancialPeriod"),
            required=("JournalCode",),
            lines="CashEntryLines",
            line_kind="CashEntryLine",
            methods=("GET", "POST", "DELETE"),
        ),
    )
}
"""Every endpoint with rows of its own, by path."""

_DOCUMENT_LINE = (
    "GLAccount",
    "AmountFC",
    "AmountDC",
    "VATCode",
    "VATAmountFC",
    "VATAmountDC",
    "Description",
    "Quantity",
    "CostCenter",
    "CostUnit",
    "Notes",
)
_BANK_LINE = (
    "GLAccount",
    "Account",
    "AmountFC",
    "AmountDC",
    "AmountVATFC",
    "VATCode",
    "Date",
    "Description",
    "Notes",
    "OurRef",
    "ExchangeRate",
    "Quantity",
    "CostCenter",
    "CostUnit",
)

LINE_KINDS: dict[str, tuple[str, ...]] = {
    "SalesEntryLine": _DOCUMENT_LINE,
    "PurchaseEntryLine": _DOCUMENT_LINE,
    "GeneralJournalEntryLine": (
        "GLAccount",
        "Account",
        "AmountFC",
        "AmountDC",
        "VATCode",
        "Date",
        "Description",
        "Notes",
        "OurRef",
        "Quantity",
        "CostCenter",
        "CostUnit",
    ),
    "BankEntryLine": _BANK_LINE,
    "CashEntryLine": _BANK_LINE,
}
"""The fields a client may send on each kind of entry line (``ID``, ``EntryID`` and
``LineNumber`` are Exact's)."""
LINE_READ_ONLY = ("ID", "EntryID", "LineNumber", "GLAccountCode", "VATPercentage", "Division")

TRANSACTION_LINE_FIELDS = (
    "ID",
    "EntryID",
    "EntryNumber",
    "JournalCode",
    "LineNumber",
    "Type",
    "Date",
    "FinancialYear",
    "FinancialPeriod",
    "GLAccount",
    "GLAccountCode",
    "Account",
    "AmountFC",
    "AmountDC",
    "AmountVATFC",
    "VATCode",
    "Currency",
    "ExchangeRate",
    "Description",
    "InvoiceNumber",
    "YourRef",
    "DueDate",
    "Status",
    "Division",
    "Created",
    "Modified",
)
"""What ``financialtransaction/TransactionLines`` and its bulk and sync twins give."""
