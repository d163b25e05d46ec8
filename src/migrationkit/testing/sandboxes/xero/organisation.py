"""The in-memory Xero organisation behind the sandbox: its records and Xero's rules.

One :class:`Organisation` per tenant. It starts as a new UK Xero company does: GBP base
currency, the system accounts (receivables 610, payables 800, VAT 820, retained earnings 960
and the others Xero creates), part of the default chart, and the built-in UK tax rates. Every
write is checked the way Xero checks it and refused with Xero's own messages, per element:
unique sales invoice numbers, account codes of at most 10 characters, balanced journals that
stay off bank and control accounts, payments no larger than what is owed, status transitions
(draft to deleted, authorised to voided once nothing is paid or allocated), lock dates.

Records are held in Xero's JSON shape with ``Decimal`` amounts and ``date`` / ``datetime``
values; :func:`render` turns them into the response form (``/Date(...)/``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from migrationkit.connectors.xero.wire import format_msdate

__all__ = ["ZERO_ID", "Organisation", "XeroError", "render"]

ZERO_ID = "00000000-0000-0000-0000-000000000000"
CENT = Decimal("0.01")
ZERO = Decimal(0)

Obj = dict[str, Any]


class XeroError(Exception):
    """A validation failure, with Xero's messages for the element that caused it."""

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


def money(value: Any, what: str = "amount") -> Decimal:
    """Read an amount from a request body (JSON numbers arrive as Decimal or int)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            pass
    raise XeroError(f"{what} must be a number")


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def render(value: Any) -> Any:
    """A stored record in response form: dates as ``/Date(ms+0000)/``, private keys dropped."""
    if isinstance(value, dict):
        return {k: render(v) for k, v in value.items() if not k.startswith("_") and v is not None}
    if isinstance(value, list):
        return [render(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return format_msdate(value)
    return value


def _date(value: Any, field: str = "Date") -> dt.date:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise XeroError(f"{field} '{value}' is not a valid date")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


# ---------------------------------------------------------------------------------------------
# what a new UK organisation starts with
# ---------------------------------------------------------------------------------------------

# (code, name, type, system account or None, tax type)
_CHART: tuple[tuple[str, str, str, str | None, str], ...] = (
    ("200", "Sales", "SALES", None, "OUTPUT2"),
    ("260", "Other Revenue", "REVENUE", None, "OUTPUT2"),
    ("270", "Interest Income", "REVENUE", None, "EXEMPTOUTPUT"),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", None, "INPUT2"),
    ("400", "Advertising", "OVERHEADS", None, "INPUT2"),
    ("404", "Bank Service Charges", "OVERHEADS", None, "EXEMPTINPUT"),
    ("429", "General Expenses", "OVERHEADS", None, "INPUT2"),
    ("469", "Rent", "OVERHEADS", None, "INPUT2"),
    ("477", "Salaries", "OVERHEADS", None, "NONE"),
    ("497", "Bank Revaluations", "OVERHEADS", "BANKCURRENCYGAIN", "NONE"),
    ("498", "Unrealised Currency Gains", "OVERHEADS", "UNREALISEDCURRENCYGAIN", "NONE"),
    ("499", "Realised Currency Gains", "OVERHEADS", "REALISEDCURRENCYGAIN", "NONE"),
    ("610", "Accounts Receivable", "CURRENT", "DEBTORS", "NONE"),
    ("620", "Prepayments", "CURRENT", None, "NONE"),
    ("630", "Inventory", "INVENTORY", None, "NONE"),
    ("720", "Computer Equipment", "FIXED", None, "INPUT2"),
    ("800", "Accounts Payable", "CURRLIAB", "CREDITORS", "NONE"),
    ("801", "Unpaid Expense Claims", "CURRLIAB", "UNPAIDEXPCLM", "NONE"),
    ("820", "VAT", "CURRLIAB", "GST", "NONE"),
    ("835", "Directors' Loan Account", "CURRLIAB", None, "NONE"),
    ("840", "Historical Adjustment", "CURRLIAB", "HISTORICAL", "NONE"),
    ("850", "Suspense", "CURRLIAB", None, "NONE"),
    ("860", "Rounding", "CURRLIAB", "ROUNDING", "NONE"),
    ("877", "Tracking Transfers", "CURRLIAB", "TRACKINGTRANSFERS", "NONE"),
    ("960", "Retained Earnings", "EQUITY", "RETAINEDEARNINGS", "NONE"),
)

_CLASSES = {
    "BANK": "ASSET",
    "CURRENT": "ASSET",
    "FIXED": "ASSET",
    "INVENTORY": "ASSET",
    "NONCURRENT": "ASSET",
    "PREPAYMENT": "ASSET",
    "CURRLIAB": "LIABILITY",
    "LIABILITY": "LIABILITY",
    "TERMLIAB": "LIABILITY",
    "PAYG": "LIABILITY",
    "EQUITY": "EQUITY",
    "DEPRECIATN": "EXPENSE",
    "DIRECTCOSTS": "EXPENSE",
    "EXPENSE": "EXPENSE",
    "OVERHEADS": "EXPENSE",
    "OTHERINCOME": "REVENUE",
    "REVENUE": "REVENUE",
    "SALES": "REVENUE",
}

# (tax type, name, rate, report tax type)
_TAX_RATES: tuple[tuple[str, str, str, str], ...] = (
    ("OUTPUT2", "20% (VAT on Income)", "20", "OUTPUT"),
    ("INPUT2", "20% (VAT on Expenses)", "20", "INPUT"),
    ("RROUTPUT", "5% (VAT on Income)", "5", "OUTPUT"),
    ("RRINPUT", "5% (VAT on Expenses)", "5", "INPUT"),
    ("ZERORATEDOUTPUT", "Zero Rated Income", "0", "OUTPUT"),
    ("ZERORATEDINPUT", "Zero Rated Expenses", "0", "INPUT"),
    ("EXEMPTOUTPUT", "Exempt Income", "0", "EXEMPTOUTPUT"),
    ("EXEMPTINPUT", "Exempt Expenses", "0", "EXEMPTINPUT"),
    ("NONE", "No VAT", "0", "NONE"),
    ("ECZROUTPUT", "Zero Rated EC Goods Income", "0", "ECOUTPUT"),
    ("ECZROUTPUTSERVICES", "Zero Rated EC Services", "0", "ECOUTPUTSERVICES"),
    ("ECZRINPUT", "Zero Rated EC Expenses", "0", "ECINPUT"),
    ("ECACQUISITIONS", "EC Acquisitions (20%)", "20", "ECACQUISITIONS"),
    ("REVERSECHARGES", "Reverse Charge Expenses (20%)", "20", "REVERSECHARGES"),
    ("CAPEXINPUT2", "20% (VAT on Capital Purchases)", "20", "CAPITALEXPENSESINPUT"),
    ("CAPEXOUTPUT2", "20% (VAT on Capital Sales)", "20", "CAPITALSALESOUTPUT"),
)

_CURRENCY_NAMES = {
    "GBP": "British Pound",
    "EUR": "Euro",
    "USD": "United States Dollar",
    "AUD": "Australian Dollar",
    "NZD": "New Zealand Dollar",
    "CHF": "Swiss Franc",
    "SEK": "Swedish Krona",
    "DKK": "Danish Krone",
    "NOK": "Norwegian Krone",
    "PLN": "Polish Zloty",
    "CAD": "Canadian Dollar",
    "JPY": "Japanese Yen",
}

ACCOUNT_TYPES = frozenset(_CLASSES)
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
_BLOCKED_SYSTEM = frozenset({"DEBTORS", "CREDITORS"})


class Organisation:
    """One tenant's Xero company: its records, and the rules a write must pass."""

    def __init__(self, name: str = "Sandbox Trading Ltd", tenant_id: str | None = None) -> None:
        self.tenant_id = tenant_id or _new_id()
        now = _now()
        self.info: Obj = {
            "OrganisationID": self.tenant_id,
            "APIKey": "SANDBOX",
            "Name": name,
            "LegalName": name,
            "PaysTax": True,
            "Version": "UK",
            "OrganisationType": "COMPANY",
            "BaseCurrency": "GBP",
            "CountryCode": "GB",
            "IsDemoCompany": False,
            "OrganisationStatus": "ACTIVE",
            "TaxNumber": "GB123456789",
            "FinancialYearEndDay": 31,
            "FinancialYearEndMonth": 3,
            "SalesTaxBasis": "ACCRUALS",
            "SalesTaxPeriod": "QUARTERLY1",
            "DefaultSalesTax": "Tax Exclusive",
            "DefaultPurchasesTax": "Tax Exclusive",
            "OrganisationEntityType": "COMPANY",
            "Timezone": "GMTSTANDARDTIME",
            "ShortCode": "!sandbx",
            "Class": "STANDARD",
            "Edition": "BUSINESS",
            "LineOfBusiness": "Wholesale",
            "CreatedDateUTC": now,
        }
        self.period_lock: dt.date | None = None
        self.accounts: dict[str, Obj] = {}
        self.tax_rates: dict[str, Obj] = {}
        self.currencies: dict[str, Obj] = {"GBP": {"Code": "GBP", "Description": "British Pound"}}
        self.tracking: dict[str, Obj] = {}
        self.contacts: dict[str, Obj] = {}
        self.items: dict[str, Obj] = {}
        self.invoices: dict[str, Obj] = {}
        self.credit_notes: dict[str, Obj] = {}
        self.payments: dict[str, Obj] = {}
        self.batch_payments: dict[str, Obj] = {}
        self.overpayments: dict[str, Obj] = {}
        self.bank_transactions: dict[str, Obj] = {}
        self.bank_transfers: dict[str, Obj] = {}
        self.manual_journals: dict[str, Obj] = {}
        self._number_index: dict[tuple[str, str], set[str]] = {}
        self._custom_tax = itertools.count(1)
        self._numbers: dict[str, itertools.count[int]] = {
            "ACCREC": itertools.count(1),
            "ACCRECCREDIT": itertools.count(1),
        }
        for code, account_name, kind, system, tax in _CHART:
            self._store_account(
                {"Code": code, "Name": account_name, "Type": kind, "TaxType": tax},
                system=system,
            )
        for tax_type, rate_name, rate, report in _TAX_RATES:
            self.tax_rates[tax_type] = self._tax_rate(tax_type, rate_name, Decimal(rate), report)

    # -- organisation --------------------------------------------------------------------------

    _HISTORY = (
        "accounts",
        "contacts",
        "items",
        "invoices",
        "credit_notes",
        "payments",
        "batch_payments",
        "overpayments",
        "bank_transactions",
        "bank_transfers",
        "manual_journals",
    )

    def backdate(self, by: dt.timedelta) -> None:
        """Move every record's ``UpdatedDateUTC`` back: the books as if kept ``by`` earlier.

        A test of a delta sets the organisation's history in the past, so that what it changes
        afterwards is all that changed since the last run (clocks here all agree).
        """
        for name in self._HISTORY:
            for record in getattr(self, name).values():
                for field in ("UpdatedDateUTC", "_UpdatedDateUTC"):
                    if isinstance(record.get(field), dt.datetime):
                        record[field] -= by

    @property
    def base_currency(self) -> str:
        return str(self.info["BaseCurrency"])

    def organisation(self) -> Obj:
        info = dict(self.info)
        if self.period_lock:
            info["PeriodLockDate"] = self.period_lock
        return info

    def _check_lock(self, day: dt.date) -> None:
        if self.period_lock is not None and day <= self.period_lock:
            raise XeroError(
                f"The document date cannot be before the period lock date "
                f"({self.period_lock.isoformat()})"
            )

    # -- currencies ----------------------------------------------------------------------------

    def add_currency(self, body: Obj) -> Obj:
        code = str(body.get("Code") or "").upper()
        if code not in _CURRENCY_NAMES:
            raise XeroError(f"Currency code '{code}' is not a valid currency code")
        currency = {"Code": code, "Description": _CURRENCY_NAMES[code]}
        self.currencies[code] = currency
        return currency

    def _check_currency(self, element: Obj) -> tuple[str, Decimal]:
        code = str(element.get("CurrencyCode") or self.base_currency)
        if code not in self.currencies:
            raise XeroError(f"The currency code {code} is not enabled for this organisation")
        if code == self.base_currency:
            return code, Decimal(1)
        rate = element.get("CurrencyRate")
        if rate is None:
            raise XeroError("A CurrencyRate is required for a foreign currency transaction")
        value = money(rate, "CurrencyRate")
        if value <= 0:
            raise XeroError("CurrencyRate must be greater than zero")
        return code, value

    # -- accounts ------------------------------------------------------------------------------

    def _store_account(self, body: Obj, system: str | None = None) -> Obj:
        kind = body["Type"]
        account: Obj = {
            "AccountID": _new_id(),
            "Code": body.get("Code"),
            "Name": body["Name"],
            "Type": kind,
            "TaxType": body.get("TaxType") or "NONE",
            "Description": body.get("Description"),
            "Status": "ACTIVE",
            "Class": _CLASSES[kind],
            "EnablePaymentsToAccount": bool(body.get("EnablePaymentsToAccount", False)),
            "ShowInExpenseClaims": bool(body.get("ShowInExpenseClaims", False)),
            "ReportingCode": "",
            "HasAttachments": False,
            "UpdatedDateUTC": _now(),
            "AddToWatchlist": False,
        }
        if system:
            account["SystemAccount"] = system
        if kind == "BANK":
            account["BankAccountNumber"] = body.get("BankAccountNumber")
            account["BankAccountType"] = body.get("BankAccountType") or "BANK"
            account["CurrencyCode"] = body.get("CurrencyCode") or self.base_currency
            account["TaxType"] = "NONE"
        self.accounts[account["AccountID"]] = account
        return account

    def account_by_code(self, code: str | None) -> Obj | None:
        if not code:
            return None
        for account in self.accounts.values():
            if account.get("Code") == code and account["Status"] != "DELETED":
                return account
        return None

    def _account_ref(self, ref: Any, field: str = "Account") -> Obj:
        """The account an ``{AccountID}`` or ``{Code}`` reference names."""
        if not isinstance(ref, dict):
            raise XeroError(f"{field} must be specified")
        account = None
        if ref.get("AccountID"):
            account = self.accounts.get(str(ref["AccountID"]))
        elif ref.get("Code"):
            account = self.account_by_code(str(ref["Code"]))
        if account is None or account["Status"] == "DELETED":
            raise XeroError(f"{field} could not be found")
        return account

    def create_account(self, body: Obj) -> Obj:
        if isinstance(body.get("Accounts"), list):
            # Xero processes only the first account of a list (Xero-Net#285): emulate it.
            body = body["Accounts"][0] if body["Accounts"] else {}
        code = body.get("Code")
        name = body.get("Name")
        kind = body.get("Type")
        errors = []
        if not code:
            errors.append("Please enter a Code.")
        elif len(str(code)) > 10:
            errors.append("The Code must be 10 characters or fewer.")
        elif self.account_by_code(str(code)):
            errors.append("Please enter a unique Code.")
        if not name:
            errors.append("Please enter a Name.")
        elif len(str(name)) > 150:
            errors.append("The Name must be 150 characters or fewer.")
        elif any(a["Name"] == name and a["Status"] != "DELETED" for a in self.accounts.values()):
            errors.append("Please enter a unique Name.")
        if kind not in ACCOUNT_TYPES:
            errors.append(f"Account Type '{kind}' is not valid.")
        elif kind == "BANK" and not body.get("BankAccountNumber"):
            errors.append("Bank Account Number is required for bank accounts.")
        if body.get("CurrencyCode") and body["CurrencyCode"] not in self.currencies:
            errors.append(f"The currency code {body['CurrencyCode']} is not enabled")
        tax = body.get("TaxType")
        if tax and tax not in self.tax_rates:
            errors.append(f"The TaxType code {tax} does not exist or cannot be used.")
        if errors:
            raise XeroError(*errors)
        return self._store_account(body)

    def update_account(self, account_id: str, body: Obj) -> Obj:
        account = self.accounts.get(account_id)
        if account is None or account["Status"] == "DELETED":
            raise XeroError("The account could not be found")
        changes = (body.get("Accounts") or [body])[0]
        status = changes.get("Status")
        if status == "ARCHIVED" and account.get("SystemAccount"):
            raise XeroError("System accounts cannot be archived.")
        if status and status not in ("ACTIVE", "ARCHIVED"):
            raise XeroError(f"Status '{status}' is not valid for an account")
        name = changes.get("Name")
        if name and any(
            a["Name"] == name and a is not account and a["Status"] != "DELETED"
            for a in self.accounts.values()
        ):
            raise XeroError("Please enter a unique Name.")
        code = changes.get("Code")
        if code and code != account.get("Code"):
            if len(str(code)) > 10:
                raise XeroError("The Code must be 10 characters or fewer.")
            if self.account_by_code(str(code)):
                raise XeroError("Please enter a unique Code.")
        for field in ("Code", "Name", "Description", "TaxType", "Status"):
            if changes.get(field) is not None:
                account[field] = changes[field]
        if account["Type"] == "BANK":
            for field in ("BankAccountNumber", "BankAccountType", "CurrencyCode"):
                if changes.get(field):
                    account[field] = changes[field]
        account["UpdatedDateUTC"] = _now()
        return account

    def account_in_use(self, account: Obj) -> bool:
        """Whether any record that is not deleted posts to the account."""
        aid, code = account["AccountID"], account.get("Code")
        for doc in itertools.chain(
            self.invoices.values(),
            self.credit_notes.values(),
            self.bank_transactions.values(),
            self.overpayments.values(),
        ):
            if doc["Status"] == "DELETED":
                continue
            if doc.get("BankAccount", {}).get("AccountID") == aid:
                return True
            if any(line.get("_AccountID") == aid for line in doc.get("LineItems", ())):
                return True
        for journal in self.manual_journals.values():
            if journal["Status"] != "DELETED" and any(
                line.get("_AccountID") == aid for line in journal["JournalLines"]
            ):
                return True
        for payment in self.payments.values():
            if payment["Status"] != "DELETED" and payment["Account"]["AccountID"] == aid:
                return True
        for transfer in self.bank_transfers.values():
            if transfer["Status"] != "DELETED" and aid in (
                transfer["FromBankAccount"]["AccountID"],
                transfer["ToBankAccount"]["AccountID"],
            ):
                return True
        for item in self.items.values():
            details = (item.get("SalesDetails") or {}, item.get("PurchaseDetails") or {})
            if code and any(d.get("AccountCode") == code for d in details):
                return True
        return False

    def delete_account(self, account_id: str) -> Obj:
        account = self.accounts.get(account_id)
        if account is None or account["Status"] == "DELETED":
            raise XeroError("The account could not be found")
        if account.get("SystemAccount"):
            raise XeroError("System accounts cannot be deleted.")
        if self.account_in_use(account):
            raise XeroError(
                "This account has transactions and cannot be deleted. Archive it instead."
            )
        account["Status"] = "DELETED"
        account["UpdatedDateUTC"] = _now()
        return account

    # -- tax rates -----------------------------------------------------------------------------

    def _tax_rate(self, tax_type: str, name: str, rate: Decimal, report: str) -> Obj:
        display = rate.quantize(Decimal("0.0001"))
        return {
            "Name": name,
            "TaxType": tax_type,
            "ReportTaxType": report,
            "CanApplyToAssets": True,
            "CanApplyToEquity": True,
            "CanApplyToExpenses": True,
            "CanApplyToLiabilities": True,
            "CanApplyToRevenue": True,
            "DisplayTaxRate": display,
            "EffectiveRate": display,
            "Status": "ACTIVE",
            "TaxComponents": [
                {"Name": "VAT", "Rate": display, "IsCompound": False, "IsNonRecoverable": False}
            ],
            "_system": not tax_type.startswith("TAX"),
        }

    def create_tax_rate(self, element: Obj) -> Obj:
        name = element.get("Name")
        if not name:
            raise XeroError("The tax rate name must be specified")
        if any(r["Name"] == name and r["Status"] == "ACTIVE" for r in self.tax_rates.values()):
            raise XeroError(f"A tax rate with the name '{name}' already exists")
        components = element.get("TaxComponents") or []
        if not components:
            raise XeroError("A tax rate must have at least one tax component")
        rate = sum((money(c.get("Rate", 0), "Rate") for c in components), ZERO)
        tax_type = f"TAX{next(self._custom_tax):03d}"
        record = self._tax_rate(tax_type, str(name), rate, element.get("ReportTaxType") or "NONE")
        self.tax_rates[tax_type] = record
        return record

    def update_tax_rate(self, element: Obj) -> Obj:
        rate = self.tax_rates.get(str(element.get("TaxType") or ""))
        if rate is None:
            rate = next(
                (r for r in self.tax_rates.values() if r["Name"] == element.get("Name")), None
            )
        if rate is None:
            raise XeroError("The tax rate could not be found")
        status = element.get("Status")
        if status in ("DELETED", "ARCHIVED") and rate["_system"]:
            raise XeroError("System tax rates cannot be deleted or archived")
        if status:
            rate["Status"] = status
        return rate

    def _tax(self, tax_type: Any) -> Obj:
        rate = self.tax_rates.get(str(tax_type))
        if rate is None or rate["Status"] != "ACTIVE":
            raise XeroError(f"The TaxType code {tax_type} does not exist or cannot be used.")
        return rate

    # -- tracking ------------------------------------------------------------------------------

    def create_tracking_category(self, body: Obj) -> Obj:
        name = body.get("Name")
        if not name:
            raise XeroError("The tracking category name must be specified")
        active = [c for c in self.tracking.values() if c["Status"] == "ACTIVE"]
        if len(active) >= 2:
            raise XeroError("You can only have 2 active tracking categories")
        if any(c["Name"] == name for c in active):
            raise XeroError(f"A tracking category named '{name}' already exists")
        category = {
            "TrackingCategoryID": _new_id(),
            "Name": name,
            "Status": "ACTIVE",
            "Options": [],
        }
        self.tracking[category["TrackingCategoryID"]] = category
        return category

    def add_tracking_option(self, category_id: str, body: Obj) -> Obj:
        category = self.tracking.get(category_id)
        if category is None or category["Status"] == "DELETED":
            raise XeroError("The tracking category could not be found")
        name = body.get("Name")
        if not name:
            raise XeroError("The tracking option name must be specified")
        if any(o["Name"] == name for o in category["Options"]):
            raise XeroError(f"A tracking option named '{name}' already exists")
        if len(category["Options"]) >= 100:
            raise XeroError("A tracking category can have at most 100 options")
        option = {
            "TrackingOptionID": _new_id(),
            "Name": name,
            "Status": "ACTIVE",
            "TrackingCategoryID": category_id,
        }
        category["Options"].append(option)
        return option

    def update_tracking_category(self, category_id: str, body: Obj) -> Obj:
        category = self.tracking.get(category_id)
        if category is None or category["Status"] == "DELETED":
            raise XeroError("The tracking category could not be found")
        if body.get("Name"):
            category["Name"] = body["Name"]
        if body.get("Status") == "ACTIVE" and category["Status"] != "ACTIVE":
            active = [c for c in self.tracking.values() if c["Status"] == "ACTIVE"]
            if len(active) >= 2:
                raise XeroError("You can only have 2 active tracking categories")
        if body.get("Status") in ("ACTIVE", "ARCHIVED"):
            category["Status"] = body["Status"]
        return category

    def _tracking_in_use(self, category_id: str) -> bool:
        for line in self._all_lines():
            for choice in line.get("Tracking") or ():
                if choice.get("TrackingCategoryID") == category_id:
                    return True
        return False

    def delete_tracking_category(self, category_id: str) -> Obj:
        category = self.tracking.get(category_id)
        if category is None or category["Status"] == "DELETED":
            raise XeroError("The tracking category could not be found")
        if self._tracking_in_use(category_id):
            raise XeroError(
                "This tracking category has been used on transactions and cannot be deleted"
            )
        category["Status"] = "DELETED"
        return category

    def _resolve_tracking(self, choices: Any) -> list[Obj]:
        if not choices:
            return []
        if len(choices) > 2:
            raise XeroError("A line can be tracked against at most 2 tracking categories")
        resolved = []
        for choice in choices:
            category = None
            if choice.get("TrackingCategoryID"):
                category = self.tracking.get(str(choice["TrackingCategoryID"]))
            else:
                category = next(
                    (
                        c
                        for c in self.tracking.values()
                        if c["Name"] == choice.get("Name") and c["Status"] == "ACTIVE"
                    ),
                    None,
                )
            if category is None or category["Status"] != "ACTIVE":
                raise XeroError(f"Tracking category '{choice.get('Name')}' is not valid")
            option = next(
                (
                    o
                    for o in category["Options"]
                    if o["TrackingOptionID"] == choice.get("TrackingOptionID")
                    or o["Name"] == choice.get("Option")
                ),
                None,
            )
            if option is None:
                raise XeroError(
                    f"Tracking option '{choice.get('Option')}' is not valid for "
                    f"'{category['Name']}'"
                )
            resolved.append(
                {
                    "TrackingCategoryID": category["TrackingCategoryID"],
                    "TrackingOptionID": option["TrackingOptionID"],
                    "Name": category["Name"],
                    "Option": option["Name"],
                }
            )
        return resolved

    # -- contacts ------------------------------------------------------------------------------

    def _name_taken(self, name: str, other_than: str | None = None) -> bool:
        return any(
            c["Name"].casefold() == name.casefold()
            and c["ContactStatus"] == "ACTIVE"
            and c["ContactID"] != other_than
            for c in self.contacts.values()
        )

    def create_contact(self, element: Obj) -> Obj:
        name = str(element.get("Name") or "").strip()
        if not name:
            raise XeroError("The contact name must be specified")
        if len(name) > 255:
            raise XeroError("The contact name must be 255 characters or fewer")
        if self._name_taken(name):
            raise XeroError(
                f"The contact name {name} is already assigned to another contact. "
                "The contact name must be unique across all active contacts."
            )
        number = element.get("ContactNumber")
        if number is not None and len(str(number)) > 50:
            raise XeroError("The ContactNumber must be 50 characters or fewer")
        contact: Obj = {
            "ContactID": _new_id(),
            "ContactStatus": "ACTIVE",
            "Name": name,
            "IsSupplier": False,
            "IsCustomer": False,
            "HasAttachments": False,
            "HasValidationErrors": False,
        }
        self._apply_contact(contact, element)
        contact["UpdatedDateUTC"] = _now()
        self.contacts[contact["ContactID"]] = contact
        return contact

    _CONTACT_FIELDS = (
        "ContactNumber",
        "AccountNumber",
        "FirstName",
        "LastName",
        "EmailAddress",
        "TaxNumber",
        "AccountsReceivableTaxType",
        "AccountsPayableTaxType",
        "DefaultCurrency",
        "SalesDefaultAccountCode",
        "PurchasesDefaultAccountCode",
        "CompanyNumber",
    )

    def _apply_contact(self, contact: Obj, element: Obj) -> None:
        for field in self._CONTACT_FIELDS:
            if field in element:
                contact[field] = element[field]
        for field in ("AccountsReceivableTaxType", "AccountsPayableTaxType"):
            if element.get(field):
                self._tax(element[field])
        for field in ("SalesDefaultAccountCode", "PurchasesDefaultAccountCode"):
            if element.get(field) and self.account_by_code(element[field]) is None:
                raise XeroError(f"Account code '{element[field]}' is not a valid code")
        if element.get("DefaultCurrency") and element["DefaultCurrency"] not in self.currencies:
            raise XeroError(f"The currency code {element['DefaultCurrency']} is not enabled")
        for field in ("Addresses", "Phones"):
            if field in element:
                contact[field] = [dict(x) for x in element[field] or ()]
        if "PaymentTerms" in element:
            contact["PaymentTerms"] = element["PaymentTerms"]

    def update_contact(self, element: Obj, contact_id: str | None = None) -> Obj:
        contact_id = contact_id or element.get("ContactID")
        contact = self.contacts.get(str(contact_id)) if contact_id else None
        if contact is None:
            if contact_id:
                raise XeroError("The contact could not be found")
            return self.create_contact(element)
        status = element.get("ContactStatus")
        name = element.get("Name")
        if name and name != contact["Name"] and self._name_taken(name, contact["ContactID"]):
            raise XeroError(
                f"The contact name {name} is already assigned to another contact. "
                "The contact name must be unique across all active contacts."
            )
        if status == "ARCHIVED" and contact["ContactStatus"] != "ARCHIVED":
            owing = [
                d
                for d in itertools.chain(self.invoices.values(), self.credit_notes.values())
                if d["Contact"]["ContactID"] == contact["ContactID"]
                and d["Status"] == "AUTHORISED"
                and (d.get("AmountDue") or d.get("RemainingCredit") or ZERO) != 0
            ]
            if owing:
                raise XeroError(
                    "This contact cannot be archived as they have outstanding invoices, "
                    "credit notes or bills"
                )
        if (
            status == "ACTIVE"
            and contact["ContactStatus"] != "ACTIVE"
            and self._name_taken(name or contact["Name"], contact["ContactID"])
        ):
            raise XeroError(
                f"The contact name {contact['Name']} is already assigned to another contact."
            )
        if name:
            contact["Name"] = name
        if status in ("ACTIVE", "ARCHIVED"):
            contact["ContactStatus"] = status
        self._apply_contact(contact, element)
        contact["UpdatedDateUTC"] = _now()
        return contact

    def _contact_ref(self, ref: Any) -> Obj:
        if not isinstance(ref, dict) or not (
            ref.get("ContactID") or ref.get("Name") or ref.get("ContactNumber")
        ):
            raise XeroError(
                "The Contact must contain at least 1 of the following elements to identify the "
                "contact: Name, ContactID, ContactNumber"
            )
        if ref.get("ContactID"):
            contact = self.contacts.get(str(ref["ContactID"]))
            if contact is None:
                raise XeroError("The contact could not be found")
        elif ref.get("ContactNumber"):
            contact = next(
                (
                    c
                    for c in self.contacts.values()
                    if c.get("ContactNumber") == ref["ContactNumber"]
                ),
                None,
            )
            if contact is None:
                raise XeroError(f"Contact with ContactNumber '{ref['ContactNumber']}' not found")
        else:
            contact = next(
                (
                    c
                    for c in self.contacts.values()
                    if c["Name"] == ref["Name"] and c["ContactStatus"] == "ACTIVE"
                ),
                None,
            )
            if contact is None:
                # Xero creates a contact named on a document when none exists yet.
                contact = self.create_contact({"Name": ref["Name"]})
        if contact["ContactStatus"] == "ARCHIVED":
            raise XeroError(f"The contact {contact['Name']} is archived and cannot be used")
        return contact

    @staticmethod
    def _contact_summary(contact: Obj) -> Obj:
        summary = {
            "ContactID": contact["ContactID"],
            "Name": contact["Name"],
            "ContactStatus": contact["ContactStatus"],
        }
        if contact.get("ContactNumber"):
            summary["ContactNumber"] = contact["ContactNumber"]
        return summary

    # -- items ---------------------------------------------------------------------------------

    def create_item(self, element: Obj, item_id: str | None = None) -> Obj:
        code = element.get("Code")
        existing = self.items.get(item_id or str(element.get("ItemID") or ""))
        if not code and existing is None:
            raise XeroError("Item code must be specified")
        if code and len(str(code)) > 30:
            raise XeroError("Item code must be 30 characters or fewer")
        if code and any(i["Code"] == code and i is not existing for i in self.items.values()):
            raise XeroError(f"Price List Item with Code '{code}' already exists")
        name = element.get("Name")
        if name and len(str(name)) > 50:
            raise XeroError("Item name must be 50 characters or fewer")
        for side in ("SalesDetails", "PurchaseDetails"):
            details = element.get(side) or {}
            if details.get("AccountCode"):
                account = self.account_by_code(details["AccountCode"])
                if account is None or account["Status"] != "ACTIVE":
                    raise XeroError(f"Account code '{details['AccountCode']}' is not a valid code")
            if details.get("TaxType"):
                self._tax(details["TaxType"])
            if details.get("UnitPrice") is not None:
                money(details["UnitPrice"], "UnitPrice")
        if element.get("IsTrackedAsInventory") and not element.get("InventoryAssetAccountCode"):
            raise XeroError("An inventory asset account is required for tracked items")
        item = existing or {"ItemID": _new_id(), "IsTrackedAsInventory": False}
        for field in (
            "Code",
            "Name",
            "Description",
            "PurchaseDescription",
            "IsSold",
            "IsPurchased",
            "SalesDetails",
            "PurchaseDetails",
            "IsTrackedAsInventory",
            "InventoryAssetAccountCode",
        ):
            if field in element:
                item[field] = element[field]
        item.setdefault("Name", item["Code"])
        item["UpdatedDateUTC"] = _now()
        self.items[item["ItemID"]] = item
        return item

    def delete_item(self, item_id: str) -> None:
        if item_id not in self.items:
            raise XeroError("The item could not be found")
        code = self.items[item_id]["Code"]
        if any(line.get("ItemCode") == code for line in self._all_lines(live_only=True)):
            raise XeroError("This item has been used on transactions and cannot be deleted")
        del self.items[item_id]

    # -- lines ---------------------------------------------------------------------------------

    def _all_lines(self, live_only: bool = False) -> Iterator[Obj]:
        for doc in itertools.chain(
            self.invoices.values(), self.credit_notes.values(), self.bank_transactions.values()
        ):
            if not live_only or doc["Status"] not in ("DELETED", "VOIDED"):
                yield from doc.get("LineItems", ())
        for journal in self.manual_journals.values():
            if not live_only or journal["Status"] not in ("DELETED", "VOIDED"):
                yield from journal["JournalLines"]

    def _line_account(
        self, line: Obj, *, where: str, required: bool, allow_system: bool = False
    ) -> Obj | None:
        if line.get("AccountID"):
            account = self.accounts.get(str(line["AccountID"]))
            label = str(line["AccountID"])
        elif line.get("AccountCode"):
            account = self.account_by_code(str(line["AccountCode"]))
            label = str(line["AccountCode"])
        else:
            if required:
                raise XeroError("Account code must be specified on each line item")
            return None
        if account is None or account["Status"] != "ACTIVE":
            raise XeroError(
                f"Account code '{label}' has been archived, or deleted. Each line item must "
                "reference a valid account."
            )
        if account["Type"] == "BANK":
            raise XeroError(f"Account code '{label}' is a bank account and cannot be used {where}")
        if account.get("SystemAccount") in _BLOCKED_SYSTEM and not allow_system:
            raise XeroError(
                f"Account code '{label}' is a system account and cannot be used {where}"
            )
        return account

    def _document_lines(
        self, element: Obj, *, needs_account: bool, where: str, unitdp: int
    ) -> tuple[list[Obj], Decimal, Decimal, str]:
        """Lines with their amounts worked out as Xero does: tax per line, rounded to 2 dp."""
        amount_types = element.get("LineAmountTypes") or "Exclusive"
        if amount_types not in LINE_AMOUNT_TYPES:
            raise XeroError(f"LineAmountTypes '{amount_types}' is not valid")
        raw_lines = element.get("LineItems") or []
        if not raw_lines:
            raise XeroError("A document must have at least one line item")
        lines = []
        subtotal = total_tax = ZERO
        for raw in raw_lines:
            line = self._line(raw, amount_types, needs_account, where, unitdp)
            lines.append(line)
            subtotal += (
                line["LineAmount"]
                if amount_types != "Inclusive"
                else (line["LineAmount"] - line["TaxAmount"])
            )
            total_tax += line["TaxAmount"]
        return lines, subtotal, total_tax, amount_types

    def _line(
        self, raw: Obj, amount_types: str, needs_account: bool, where: str, unitdp: int
    ) -> Obj:
        account = self._line_account(raw, where=where, required=needs_account)
        places = Decimal(1).scaleb(-unitdp)
        quantity = money(raw.get("Quantity", 1), "Quantity")
        unit = raw.get("UnitAmount")
        line_amount = raw.get("LineAmount")
        if unit is not None:
            unit_amount = money(unit, "UnitAmount").quantize(places, rounding=ROUND_HALF_UP)
            expected = round2(quantity * unit_amount)
            discount = raw.get("DiscountAmount")
            if discount is not None:
                expected -= money(discount, "DiscountAmount")
            if line_amount is not None and round2(money(line_amount, "LineAmount")) != expected:
                raise XeroError(
                    f"The line total ({money(line_amount)}) does not match the expected line "
                    f"total ({expected})"
                )
            amount = expected
        elif line_amount is not None:
            amount = round2(money(line_amount, "LineAmount"))
            unit_amount = amount
            quantity = Decimal(1)
        else:
            raise XeroError("Each line item must have a UnitAmount or a LineAmount")
        tax_type = raw.get("TaxType") or (account["TaxType"] if account else "NONE")
        if amount_types == "NoTax":
            tax_type = "NONE"
        rate = self._tax(tax_type)
        percent = rate["EffectiveRate"]
        if raw.get("TaxAmount") is not None and amount_types != "NoTax":
            tax = round2(money(raw["TaxAmount"], "TaxAmount"))
        elif amount_types == "Inclusive":
            tax = round2(amount * percent / (100 + percent))
        else:
            tax = round2(amount * percent / 100)
        if amount_types == "NoTax":
            tax = ZERO
        if raw.get("ItemCode") and not any(
            i["Code"] == raw["ItemCode"] for i in self.items.values()
        ):
            raise XeroError(f"Item code '{raw['ItemCode']}' is not valid")
        line: Obj = {
            "LineItemID": _new_id(),
            "Description": raw.get("Description") or "",
            "Quantity": quantity.quantize(Decimal("0.0001")),
            "UnitAmount": unit_amount,
            "TaxType": tax_type,
            "TaxAmount": tax,
            "LineAmount": amount,
            "Tracking": self._resolve_tracking(raw.get("Tracking")),
        }
        if account is not None:
            line["AccountCode"] = account.get("Code")
            line["AccountID"] = account["AccountID"]
            line["_AccountID"] = account["AccountID"]
        if raw.get("ItemCode"):
            line["ItemCode"] = raw["ItemCode"]
        if raw.get("DiscountAmount") is not None:
            line["DiscountAmount"] = money(raw["DiscountAmount"])
        return line

    # -- invoices and credit notes -------------------------------------------------------------

    def _next_number(self, kind: str) -> str:
        prefix = "INV" if kind == "ACCREC" else "CN"
        return f"{prefix}-{next(self._numbers[kind]):04d}"

    def _number_taken(self, kind: str, number: str, other_than: str | None) -> bool:
        holders = self._number_index.get((kind, number), set())
        return bool(holders - {other_than})

    def _index_number(self, document: Obj, *, add: bool) -> None:
        """Keep the index of sales numbers in use (a deleted document frees its number)."""
        kind = document["Type"]
        field = "CreditNoteNumber" if kind.endswith("CREDIT") else "InvoiceNumber"
        id_field = "CreditNoteID" if kind.endswith("CREDIT") else "InvoiceID"
        number = document.get(field)
        if kind not in ("ACCREC", "ACCRECCREDIT") or not number:
            return
        holders = self._number_index.setdefault((kind, number), set())
        if add:
            holders.add(document[id_field])
        else:
            holders.discard(document[id_field])

    def create_invoice(self, element: Obj, unitdp: int = 2) -> Obj:
        return self._create_document(element, credit=False, unitdp=unitdp)

    def create_credit_note(self, element: Obj, unitdp: int = 2) -> Obj:
        return self._create_document(element, credit=True, unitdp=unitdp)

    def _create_document(self, element: Obj, *, credit: bool, unitdp: int) -> Obj:
        id_field = "CreditNoteID" if credit else "InvoiceID"
        table = self.credit_notes if credit else self.invoices
        existing_id = element.get(id_field)
        if existing_id and existing_id != ZERO_ID:
            if existing_id not in table:
                what = "Credit Note" if credit else "Invoice"
                raise XeroError(
                    f"An existing {what} with the specified {id_field} could not be found"
                )
            return self._update_document(table[existing_id], element, credit=credit, unitdp=unitdp)
        kinds = ("ACCRECCREDIT", "ACCPAYCREDIT") if credit else ("ACCREC", "ACCPAY")
        kind = element.get("Type")
        if kind not in kinds:
            raise XeroError(f"Type must be one of {', '.join(kinds)}")
        status = element.get("Status") or "DRAFT"
        if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
            raise XeroError(f"A new document cannot have the status {status}")
        errors: list[str] = []
        contact = self._collect(errors, lambda: self._contact_ref(element.get("Contact")))
        day = self._collect(errors, lambda: _date(element.get("Date") or dt.date.today()))
        if day is not None:
            self._collect(errors, lambda: self._check_lock(day))
        due = element.get("DueDate")
        currency = self._collect(errors, lambda: self._check_currency(element))
        lines = self._collect(
            errors,
            lambda: self._document_lines(
                element,
                needs_account=status == "AUTHORISED",
                where="on an invoice or credit note",
                unitdp=unitdp,
            ),
        )
        number_field = "CreditNoteNumber" if credit else "InvoiceNumber"
        number = element.get(number_field)
        numbered_kind = "ACCRECCREDIT" if credit else "ACCREC"
        if number and len(str(number)) > 255:
            errors.append(f"{number_field} must be 255 characters or fewer")
        if number and kind == numbered_kind and self._number_taken(kind, str(number), None):
            errors.append(
                "Invoice # must be unique." if not credit else "Credit Note # must be unique."
            )
        if lines is not None and lines[1] + lines[2] < 0:
            errors.append("The document total cannot be negative")
        if errors:
            raise XeroError(*errors)
        assert contact is not None
        assert day is not None
        assert currency is not None
        assert lines
        if not number and kind == numbered_kind:
            number = self._next_number(kind)
            while self._number_taken(kind, number, None):
                number = self._next_number(kind)
        line_items, subtotal, tax, amount_types = lines
        total = subtotal + tax
        document: Obj = {
            "Type": kind,
            id_field: _new_id(),
            number_field: number or "",
            "Reference": element.get("Reference") or "",
            "Contact": self._contact_summary(contact),
            "Date": day,
            "DueDate": _date(due, "DueDate") if due else None,
            "Status": status,
            "LineAmountTypes": amount_types,
            "LineItems": line_items,
            "SubTotal": subtotal,
            "TotalTax": tax,
            "Total": total,
            "CurrencyCode": currency[0],
            "CurrencyRate": currency[1],
            "HasAttachments": False,
            "HasErrors": False,
            "UpdatedDateUTC": _now(),
        }
        if element.get("Url"):
            document["Url"] = element["Url"]
        if credit:
            document["RemainingCredit"] = total
            document["Allocations"] = []
            document["Payments"] = []
        else:
            document["AmountDue"] = total
            document["AmountPaid"] = ZERO
            document["AmountCredited"] = ZERO
            document["Payments"] = []
            document["CreditNotes"] = []
            document["Overpayments"] = []
            document["IsDiscounted"] = False
        contact["IsCustomer" if kind.startswith("ACCREC") else "IsSupplier"] = True
        table[document[id_field]] = document
        self._index_number(document, add=True)
        return document

    @staticmethod
    def _collect(errors: list[str], step: Callable[[], Any]) -> Any:
        try:
            return step()
        except XeroError as exc:
            errors.extend(exc.messages)
            return None

    def _has_settlements(self, document: Obj) -> bool:
        return bool(
            document.get("Payments")
            or document.get("Allocations")
            or document.get("CreditNotes")
            or document.get("Overpayments")
        )

    def _update_document(self, document: Obj, element: Obj, *, credit: bool, unitdp: int) -> Obj:
        status = element.get("Status")
        if status in ("DELETED", "VOIDED"):
            return self._remove_document(document, status)
        if document["Status"] in ("DELETED", "VOIDED", "PAID"):
            raise XeroError("Invoice not of valid status for modification")
        if self._has_settlements(document) and element.get("LineItems"):
            raise XeroError(
                "This document has payments or allocations; its lines cannot be changed"
            )
        if element.get("Date"):
            day = _date(element["Date"])
            self._check_lock(day)
            document["Date"] = day
        if element.get("DueDate"):
            document["DueDate"] = _date(element["DueDate"], "DueDate")
        if "Reference" in element:
            document["Reference"] = element["Reference"] or ""
        number_field = "CreditNoteNumber" if credit else "InvoiceNumber"
        id_field = "CreditNoteID" if credit else "InvoiceID"
        number = element.get(number_field)
        if number and number != document.get(number_field):
            kind = document["Type"]
            if kind in ("ACCREC", "ACCRECCREDIT") and self._number_taken(
                kind, str(number), document[id_field]
            ):
                raise XeroError("Invoice # must be unique.")
            self._index_number(document, add=False)
            document[number_field] = number
            self._index_number(document, add=True)
        if element.get("Contact"):
            contact = self._contact_ref(element["Contact"])
            document["Contact"] = self._contact_summary(contact)
        if element.get("LineItems"):
            merged = {**document, **element}
            line_items, subtotal, tax, amount_types = self._document_lines(
                merged,
                needs_account=(status or document["Status"]) == "AUTHORISED",
                where="on an invoice or credit note",
                unitdp=unitdp,
            )
            if subtotal + tax < 0:
                raise XeroError("The document total cannot be negative")
            document.update(
                LineItems=line_items,
                SubTotal=subtotal,
                TotalTax=tax,
                Total=subtotal + tax,
                LineAmountTypes=amount_types,
            )
            if credit:
                document["RemainingCredit"] = document["Total"]
            else:
                document["AmountDue"] = document["Total"]
        if status:
            if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
                raise XeroError(f"Status '{status}' is not valid here")
            if document["Status"] == "AUTHORISED" and status != "AUTHORISED":
                raise XeroError("An approved document cannot go back to draft")
            document["Status"] = status
        document["UpdatedDateUTC"] = _now()
        return document

    def _remove_document(self, document: Obj, status: str) -> Obj:
        current = document["Status"]
        if status == "DELETED" and current not in ("DRAFT", "SUBMITTED"):
            raise XeroError(
                "Only draft or submitted documents can be deleted; void an approved one instead"
            )
        if status == "VOIDED":
            if current != "AUTHORISED":
                raise XeroError("Only approved documents with nothing paid can be voided")
            if self._has_settlements(document):
                raise XeroError(
                    "This document has payments or allocations; remove them before voiding it"
                )
        document["Status"] = status
        if status == "DELETED":
            self._index_number(document, add=False)
        if "AmountDue" in document:
            document["AmountDue"] = ZERO
        if "RemainingCredit" in document:
            document["RemainingCredit"] = ZERO
        document["UpdatedDateUTC"] = _now()
        return document

    # -- allocations ---------------------------------------------------------------------------

    def allocate(self, source: Obj, elements: Iterable[Obj], *, kind: str) -> list[Obj]:
        """Allocate a credit note or overpayment to invoices of the same contact."""
        id_field = "CreditNoteID" if kind == "CreditNote" else "OverpaymentID"
        if source["Status"] != "AUTHORISED":
            raise XeroError(f"The {kind} must be approved before it can be allocated")
        results = []
        for element in elements:
            invoice = self._invoice_ref(element.get("Invoice"))
            amount = round2(money(element.get("Amount"), "Amount"))
            day = _date(element.get("Date") or source["Date"])
            self._check_lock(day)
            if amount <= 0:
                raise XeroError("The allocation amount must be greater than zero")
            if invoice["Contact"]["ContactID"] != source["Contact"]["ContactID"]:
                raise XeroError("The invoice belongs to another contact")
            if invoice["CurrencyCode"] != source["CurrencyCode"]:
                raise XeroError("The invoice and the credit must be in the same currency")
            expected_type = {
                "ACCRECCREDIT": "ACCREC",
                "ACCPAYCREDIT": "ACCPAY",
                "RECEIVE-OVERPAYMENT": "ACCREC",
                "SPEND-OVERPAYMENT": "ACCPAY",
            }[source["Type"]]
            if invoice["Type"] != expected_type:
                raise XeroError(f"A {source['Type']} cannot be allocated to a {invoice['Type']}")
            if amount > source["RemainingCredit"]:
                raise XeroError("The allocation amount exceeds the remaining credit")
            if amount > invoice["AmountDue"]:
                raise XeroError("The allocation amount exceeds the amount due on the invoice")
            allocation = {
                "AllocationID": _new_id(),
                "Amount": amount,
                "Date": day,
                "Invoice": {
                    "InvoiceID": invoice["InvoiceID"],
                    "InvoiceNumber": invoice.get("InvoiceNumber") or "",
                },
                "IsDeleted": False,
            }
            source["Allocations"].append(allocation)
            source["RemainingCredit"] -= amount
            invoice["AmountDue"] -= amount
            invoice["AmountCredited"] += amount
            invoice["CreditNotes" if kind == "CreditNote" else "Overpayments"].append(
                {
                    id_field: source[id_field],
                    "AppliedAmount": amount,
                    "_AllocationID": allocation["AllocationID"],
                }
            )
            self._settle_status(invoice)
            if source["RemainingCredit"] == 0:
                source["Status"] = "PAID"
            source["UpdatedDateUTC"] = invoice["UpdatedDateUTC"] = _now()
            results.append({**allocation, kind: {id_field: source[id_field]}})
        return results

    def delete_allocation(self, source: Obj, allocation_id: str, *, kind: str) -> Obj:
        allocation = next(
            (a for a in source.get("Allocations", ()) if a["AllocationID"] == allocation_id), None
        )
        if allocation is None:
            raise XeroError("The allocation could not be found")
        invoice = self.invoices[allocation["Invoice"]["InvoiceID"]]
        source["Allocations"].remove(allocation)
        source["RemainingCredit"] += allocation["Amount"]
        if source["Status"] == "PAID":
            source["Status"] = "AUTHORISED"
        invoice["AmountDue"] += allocation["Amount"]
        invoice["AmountCredited"] -= allocation["Amount"]
        links = invoice["CreditNotes" if kind == "CreditNote" else "Overpayments"]
        links[:] = [x for x in links if x["_AllocationID"] != allocation_id]
        self._settle_status(invoice)
        source["UpdatedDateUTC"] = invoice["UpdatedDateUTC"] = _now()
        return {**allocation, "IsDeleted": True}

    def _settle_status(self, invoice: Obj) -> None:
        if invoice["Status"] in ("DELETED", "VOIDED"):
            return
        if invoice["AmountDue"] == 0 and invoice["Total"] > 0:
            invoice["Status"] = "PAID"
            invoice["FullyPaidOnDate"] = invoice["Date"]
        elif invoice["Status"] == "PAID":
            invoice["Status"] = "AUTHORISED"
            invoice.pop("FullyPaidOnDate", None)

    def _invoice_ref(self, ref: Any) -> Obj:
        if not isinstance(ref, dict):
            raise XeroError("An Invoice must be specified")
        invoice = None
        if ref.get("InvoiceID"):
            invoice = self.invoices.get(str(ref["InvoiceID"]))
        elif ref.get("InvoiceNumber"):
            invoice = next(
                (
                    i
                    for i in self.invoices.values()
                    if i.get("InvoiceNumber") == ref["InvoiceNumber"] and i["Status"] != "DELETED"
                ),
                None,
            )
        if invoice is None:
            raise XeroError("The invoice could not be found")
        if invoice["Status"] not in ("AUTHORISED", "PAID"):
            raise XeroError("Invoice not of valid status for creating payment or allocation")
        return invoice

    # -- payments ------------------------------------------------------------------------------

    def create_payment(self, element: Obj, batch_id: str | None = None) -> Obj:
        errors: list[str] = []
        target_kind = "Invoice"
        document = None
        if element.get("CreditNote"):
            target_kind = "CreditNote"
            ref = element["CreditNote"]
            document = self.credit_notes.get(str(ref.get("CreditNoteID") or ""))
            if document is None or document["Status"] not in ("AUTHORISED",):
                errors.append("The credit note could not be found or is not approved")
        elif element.get("Overpayment"):
            target_kind = "Overpayment"
            ref = element["Overpayment"]
            document = self.overpayments.get(str(ref.get("OverpaymentID") or ""))
            if document is None or document["Status"] != "AUTHORISED":
                errors.append("The overpayment could not be found or has no remaining credit")
        else:
            document = self._collect(errors, lambda: self._invoice_ref(element.get("Invoice")))
        account = self._collect(errors, lambda: self._account_ref(element.get("Account")))
        if (
            account is not None
            and account["Type"] != "BANK"
            and not account.get("EnablePaymentsToAccount")
        ):
            errors.append("Payments can only be made to or from a bank account")
        amount = self._collect(errors, lambda: round2(money(element.get("Amount"), "Amount")))
        day = self._collect(errors, lambda: _date(element.get("Date") or dt.date.today()))
        if day is not None:
            self._collect(errors, lambda: self._check_lock(day))
        if amount is not None and amount <= 0:
            errors.append("The payment amount must be greater than zero")
        if document is not None and amount is not None:
            owing = (
                document["AmountDue"] if target_kind == "Invoice" else document["RemainingCredit"]
            )
            if amount > owing:
                errors.append("Payment amount exceeds the amount outstanding on this document")
        if errors:
            raise XeroError(*errors)
        assert document is not None
        assert account is not None
        assert amount is not None
        rate = element.get("CurrencyRate")
        currency_rate = (
            money(rate) if rate is not None else document.get("CurrencyRate", Decimal(1))
        )
        if document["CurrencyCode"] == self.base_currency:
            currency_rate = Decimal(1)
        bank_currency = account.get("CurrencyCode") or self.base_currency
        if bank_currency == document["CurrencyCode"]:
            bank_amount = amount
        elif bank_currency == self.base_currency:
            bank_amount = round2(amount / currency_rate)
        else:
            raise XeroError("The bank account currency does not match the document currency")
        kind_of = {
            ("Invoice", "ACCREC"): "ACCRECPAYMENT",
            ("Invoice", "ACCPAY"): "ACCPAYPAYMENT",
            ("CreditNote", "ACCRECCREDIT"): "ARCREDITPAYMENT",
            ("CreditNote", "ACCPAYCREDIT"): "APCREDITPAYMENT",
            ("Overpayment", "RECEIVE-OVERPAYMENT"): "AROVERPAYMENTPAYMENT",
            ("Overpayment", "SPEND-OVERPAYMENT"): "APOVERPAYMENTPAYMENT",
        }
        id_field = {
            "Invoice": "InvoiceID",
            "CreditNote": "CreditNoteID",
            "Overpayment": "OverpaymentID",
        }
        payment: Obj = {
            "PaymentID": _new_id(),
            "Date": day,
            "Amount": amount,
            "BankAmount": bank_amount,
            "CurrencyRate": currency_rate,
            "Reference": element.get("Reference") or "",
            "IsReconciled": bool(element.get("IsReconciled", False)),
            "Status": "AUTHORISED",
            "PaymentType": kind_of[(target_kind, document["Type"])],
            "UpdatedDateUTC": _now(),
            "HasAccount": True,
            "HasValidationErrors": False,
            "Account": {"AccountID": account["AccountID"], "Code": account.get("Code") or ""},
            target_kind: {
                id_field[target_kind]: document[id_field[target_kind]],
                "Type": document["Type"],
                "Contact": dict(document["Contact"]),
                "CurrencyCode": document["CurrencyCode"],
            },
        }
        if target_kind == "Invoice":
            payment["Invoice"]["InvoiceNumber"] = document.get("InvoiceNumber") or ""
            document["AmountDue"] -= amount
            document["AmountPaid"] += amount
            self._settle_status(document)
        else:
            document["RemainingCredit"] -= amount
            if document["RemainingCredit"] == 0:
                document["Status"] = "PAID"
        if batch_id:
            payment["BatchPaymentID"] = batch_id
        document["Payments"].append(
            {
                "PaymentID": payment["PaymentID"],
                "Date": day,
                "Amount": amount,
                "Reference": payment["Reference"],
            }
        )
        document["UpdatedDateUTC"] = _now()
        self.payments[payment["PaymentID"]] = payment
        return payment

    def delete_payment(self, payment_id: str, *, from_batch: bool = False) -> Obj:
        payment = self.payments.get(payment_id)
        if payment is None:
            raise XeroError("The payment could not be found")
        if payment["Status"] == "DELETED":
            raise XeroError("The payment has already been deleted")
        if payment.get("BatchPaymentID") and not from_batch:
            raise XeroError("Payments made as part of a batch payment cannot be deleted singly")
        for kind, id_field, table in (
            ("Invoice", "InvoiceID", self.invoices),
            ("CreditNote", "CreditNoteID", self.credit_notes),
            ("Overpayment", "OverpaymentID", self.overpayments),
        ):
            if kind in payment:
                document = table[payment[kind][id_field]]
                if kind == "Invoice":
                    document["AmountDue"] += payment["Amount"]
                    document["AmountPaid"] -= payment["Amount"]
                    self._settle_status(document)
                else:
                    document["RemainingCredit"] += payment["Amount"]
                    if document["Status"] == "PAID":
                        document["Status"] = "AUTHORISED"
                document["Payments"] = [
                    p for p in document["Payments"] if p["PaymentID"] != payment_id
                ]
                document["UpdatedDateUTC"] = _now()
        payment["Status"] = "DELETED"
        payment["UpdatedDateUTC"] = _now()
        return payment

    def create_batch_payment(self, element: Obj) -> Obj:
        account = self._account_ref(element.get("Account"))
        if account["Type"] != "BANK":
            raise XeroError("Batch payments can only be made to or from a bank account")
        parts = element.get("Payments") or []
        if not parts:
            raise XeroError("A batch payment must contain at least one payment")
        day = _date(element.get("Date") or dt.date.today())
        self._check_lock(day)
        kinds = set()
        for part in parts:
            invoice = self._invoice_ref(part.get("Invoice"))
            kinds.add(invoice["Type"])
            if round2(money(part.get("Amount"), "Amount")) > invoice["AmountDue"]:
                raise XeroError("Payment amount exceeds the amount outstanding on this document")
        if len(kinds) > 1:
            raise XeroError("A batch payment cannot mix sales invoices and bills")
        batch_id = _new_id()
        payments = []
        for part in parts:
            payment = self.create_payment(
                {
                    "Invoice": part["Invoice"],
                    "Account": {"AccountID": account["AccountID"]},
                    "Amount": part["Amount"],
                    "Date": day.isoformat(),
                    "Reference": element.get("Reference"),
                    "CurrencyRate": part.get("CurrencyRate"),
                },
                batch_id=batch_id,
            )
            payments.append(payment)
        batch: Obj = {
            "BatchPaymentID": batch_id,
            "Account": {"AccountID": account["AccountID"], "Code": account.get("Code") or ""},
            "Reference": element.get("Reference") or "",
            "Date": day,
            "Type": "RECBATCH" if kinds == {"ACCREC"} else "PAYBATCH",
            "Status": "AUTHORISED",
            "TotalAmount": sum((p["Amount"] for p in payments), ZERO),
            "IsReconciled": False,
            "UpdatedDateUTC": _now(),
            "_payment_ids": [p["PaymentID"] for p in payments],
        }
        self.batch_payments[batch_id] = batch
        return batch

    def batch_payment(self, batch: Obj) -> Obj:
        """A batch payment with its payments, as Xero returns it."""
        payments = [
            {
                "PaymentID": self.payments[pid]["PaymentID"],
                "Invoice": dict(self.payments[pid]["Invoice"]),
                "Amount": self.payments[pid]["Amount"],
                "CurrencyRate": self.payments[pid]["CurrencyRate"],
            }
            for pid in batch["_payment_ids"]
        ]
        return {**batch, "Payments": payments}

    def delete_batch_payment(self, batch_id: str) -> Obj:
        batch = self.batch_payments.get(batch_id)
        if batch is None or batch["Status"] == "DELETED":
            raise XeroError("The batch payment could not be found")
        for payment_id in batch["_payment_ids"]:
            if self.payments[payment_id]["Status"] != "DELETED":
                self.delete_payment(payment_id, from_batch=True)
        batch["Status"] = "DELETED"
        batch["UpdatedDateUTC"] = _now()
        return batch

    # -- bank transactions, overpayments, transfers --------------------------------------------

    _OVERPAYMENT_TYPES = ("RECEIVE-OVERPAYMENT", "SPEND-OVERPAYMENT")

    def create_bank_transaction(self, element: Obj, unitdp: int = 2) -> Obj:
        existing_id = element.get("BankTransactionID")
        if existing_id and existing_id != ZERO_ID:
            return self.update_bank_transaction(str(existing_id), element, unitdp)
        kind = element.get("Type")
        allowed = ("SPEND", "RECEIVE", *self._OVERPAYMENT_TYPES)
        errors: list[str] = []
        if kind not in allowed:
            errors.append(f"Type must be one of {', '.join(allowed)}")
        contact = self._collect(errors, lambda: self._contact_ref(element.get("Contact")))
        bank = self._collect(
            errors, lambda: self._account_ref(element.get("BankAccount"), "BankAccount")
        )
        if bank is not None and bank["Type"] != "BANK":
            errors.append("The BankAccount must be an account of type BANK")
        day = self._collect(errors, lambda: _date(element.get("Date") or dt.date.today()))
        if day is not None:
            self._collect(errors, lambda: self._check_lock(day))
        currency = self._collect(errors, lambda: self._check_currency(element))
        if bank is not None and currency is not None:
            bank_currency = bank.get("CurrencyCode") or self.base_currency
            if bank_currency != currency[0]:
                errors.append(
                    f"The transaction currency {currency[0]} must be the bank account's "
                    f"currency {bank_currency}"
                )
        overpayment = kind in self._OVERPAYMENT_TYPES
        lines = self._collect(
            errors,
            lambda: self._document_lines(
                element,
                needs_account=not overpayment,
                where="on a bank transaction",
                unitdp=unitdp,
            ),
        )
        if errors:
            raise XeroError(*errors)
        assert contact is not None
        assert bank is not None
        assert day is not None
        assert lines
        assert currency is not None
        line_items, subtotal, tax, amount_types = lines
        if overpayment:
            if tax:
                raise XeroError("An overpayment cannot carry tax")
            for line in line_items:
                # An overpayment's lines post to the receivables or payables account.
                system = "DEBTORS" if kind == "RECEIVE-OVERPAYMENT" else "CREDITORS"
                control = next(
                    a for a in self.accounts.values() if a.get("SystemAccount") == system
                )
                line.pop("_AccountID", None)
                line["AccountCode"] = control["Code"]
        total = subtotal + tax
        if total <= 0:
            raise XeroError("The total of a bank transaction must be greater than zero")
        transaction: Obj = {
            "BankTransactionID": _new_id(),
            "Type": kind,
            "Contact": self._contact_summary(contact),
            "BankAccount": {
                "AccountID": bank["AccountID"],
                "Code": bank.get("Code") or "",
                "Name": bank["Name"],
            },
            "Date": day,
            "Reference": element.get("Reference") or "",
            "IsReconciled": bool(element.get("IsReconciled", False)),
            "CurrencyCode": currency[0],
            "CurrencyRate": currency[1],
            "Status": "AUTHORISED",
            "LineAmountTypes": amount_types,
            "LineItems": line_items,
            "SubTotal": subtotal,
            "TotalTax": tax,
            "Total": total,
            "HasAttachments": False,
            "UpdatedDateUTC": _now(),
        }
        if element.get("Url"):
            transaction["Url"] = element["Url"]
        if overpayment:
            overpayment_id = _new_id()
            transaction["OverpaymentID"] = overpayment_id
            self.overpayments[overpayment_id] = {
                "OverpaymentID": overpayment_id,
                "Type": kind,
                "Contact": dict(transaction["Contact"]),
                "Date": day,
                "Status": "AUTHORISED",
                "LineAmountTypes": "NoTax",
                "LineItems": line_items,
                "SubTotal": total,
                "TotalTax": ZERO,
                "Total": total,
                "CurrencyCode": currency[0],
                "CurrencyRate": currency[1],
                "RemainingCredit": total,
                "Allocations": [],
                "Payments": [],
                "Reference": transaction["Reference"],
                "HasAttachments": False,
                "UpdatedDateUTC": _now(),
                "_BankTransactionID": transaction["BankTransactionID"],
            }
        self.bank_transactions[transaction["BankTransactionID"]] = transaction
        contact_flag = "IsCustomer" if str(kind).startswith("RECEIVE") else "IsSupplier"
        if overpayment:
            contact[contact_flag] = True
        return transaction

    def update_bank_transaction(self, transaction_id: str, element: Obj, unitdp: int = 2) -> Obj:
        transaction = self.bank_transactions.get(transaction_id)
        if transaction is None:
            raise XeroError("The bank transaction could not be found")
        if transaction["Status"] == "DELETED":
            raise XeroError("A deleted bank transaction cannot be changed")
        status = element.get("Status")
        if status == "DELETED":
            if transaction.get("IsReconciled"):
                raise XeroError("A reconciled bank transaction cannot be deleted")
            overpayment = self.overpayments.get(transaction.get("OverpaymentID") or "")
            if overpayment is not None:
                if overpayment["Allocations"] or overpayment["Payments"]:
                    raise XeroError(
                        "This overpayment has allocations or refunds; remove them first"
                    )
                overpayment["Status"] = "VOIDED"
                overpayment["RemainingCredit"] = ZERO
                overpayment["UpdatedDateUTC"] = _now()
            transaction["Status"] = "DELETED"
            transaction["UpdatedDateUTC"] = _now()
            return transaction
        if transaction.get("OverpaymentID"):
            raise XeroError("An overpayment cannot be changed; delete it and enter it again")
        if element.get("Date"):
            day = _date(element["Date"])
            self._check_lock(day)
            transaction["Date"] = day
        if "Reference" in element:
            transaction["Reference"] = element["Reference"] or ""
        if element.get("Contact"):
            transaction["Contact"] = self._contact_summary(self._contact_ref(element["Contact"]))
        if element.get("LineItems"):
            line_items, subtotal, tax, amount_types = self._document_lines(
                {**transaction, **element},
                needs_account=True,
                where="on a bank transaction",
                unitdp=unitdp,
            )
            transaction.update(
                LineItems=line_items,
                SubTotal=subtotal,
                TotalTax=tax,
                Total=subtotal + tax,
                LineAmountTypes=amount_types,
            )
        transaction["UpdatedDateUTC"] = _now()
        return transaction

    def overpayment(self, overpayment_id: str) -> Obj:
        overpayment = self.overpayments.get(overpayment_id)
        if overpayment is None:
            raise XeroError("The overpayment could not be found")
        return overpayment

    def create_bank_transfer(self, element: Obj) -> Obj:
        errors: list[str] = []
        source = self._collect(
            errors, lambda: self._account_ref(element.get("FromBankAccount"), "FromBankAccount")
        )
        target = self._collect(
            errors, lambda: self._account_ref(element.get("ToBankAccount"), "ToBankAccount")
        )
        for account in (source, target):
            if account is not None and account["Type"] != "BANK":
                errors.append(f"{account['Name']} is not a bank account")
        if source is not None and target is not None:
            if source["AccountID"] == target["AccountID"]:
                errors.append("The from and to bank accounts must be different")
            elif source.get("CurrencyCode") != target.get("CurrencyCode"):
                errors.append("Transfers between bank accounts in different currencies need a rate")
        amount = self._collect(errors, lambda: round2(money(element.get("Amount"), "Amount")))
        if amount is not None and amount <= 0:
            errors.append("The transfer amount must be greater than zero")
        day = self._collect(errors, lambda: _date(element.get("Date") or dt.date.today()))
        if day is not None:
            self._collect(errors, lambda: self._check_lock(day))
        if errors:
            raise XeroError(*errors)
        assert source is not None
        assert target is not None
        assert day is not None
        transfer: Obj = {
            "BankTransferID": _new_id(),
            "FromBankAccount": {
                "AccountID": source["AccountID"],
                "Code": source.get("Code") or "",
                "Name": source["Name"],
            },
            "ToBankAccount": {
                "AccountID": target["AccountID"],
                "Code": target.get("Code") or "",
                "Name": target["Name"],
            },
            "Amount": amount,
            "Date": day,
            "Reference": element.get("Reference") or "",
            "CurrencyRate": Decimal(1),
            "FromBankTransactionID": _new_id(),
            "ToBankTransactionID": _new_id(),
            "FromIsReconciled": bool(element.get("FromIsReconciled", False)),
            "ToIsReconciled": bool(element.get("ToIsReconciled", False)),
            "HasAttachments": False,
            "CreatedDateUTC": _now(),
            "Status": "AUTHORISED",
            "_UpdatedDateUTC": _now(),
        }
        self.bank_transfers[transfer["BankTransferID"]] = transfer
        return transfer

    def delete_bank_transfer(self, transfer_id: str) -> Obj:
        transfer = self.bank_transfers.get(transfer_id)
        if transfer is None or transfer["Status"] == "DELETED":
            raise XeroError("The bank transfer could not be found")
        if transfer["FromIsReconciled"] or transfer["ToIsReconciled"]:
            raise XeroError("A reconciled bank transfer cannot be deleted")
        transfer["Status"] = "DELETED"
        transfer["_UpdatedDateUTC"] = _now()
        return transfer

    # -- manual journals -----------------------------------------------------------------------

    def create_manual_journal(self, element: Obj) -> Obj:
        existing_id = element.get("ManualJournalID")
        if existing_id and existing_id != ZERO_ID:
            return self.update_manual_journal(str(existing_id), element)
        errors: list[str] = []
        narration = str(element.get("Narration") or "").strip()
        if not narration:
            errors.append("Narration must be specified")
        status = element.get("Status") or "DRAFT"
        if status not in ("DRAFT", "POSTED"):
            errors.append(f"A new manual journal cannot have the status {status}")
        day = self._collect(errors, lambda: _date(element.get("Date") or dt.date.today()))
        if day is not None:
            self._collect(errors, lambda: self._check_lock(day))
        lines = self._collect(errors, lambda: self._journal_lines(element.get("JournalLines")))
        if errors:
            raise XeroError(*errors)
        assert day is not None
        assert lines is not None
        journal: Obj = {
            "ManualJournalID": _new_id(),
            "Narration": narration,
            "Date": day,
            "Status": status,
            "LineAmountTypes": element.get("LineAmountTypes") or "NoTax",
            "JournalLines": lines,
            "ShowOnCashBasisReports": bool(element.get("ShowOnCashBasisReports", True)),
            "HasAttachments": False,
            "UpdatedDateUTC": _now(),
        }
        if element.get("Url"):
            journal["Url"] = element["Url"]
        self.manual_journals[journal["ManualJournalID"]] = journal
        return journal

    def _journal_lines(self, raw_lines: Any) -> list[Obj]:
        if not raw_lines or len(raw_lines) < 2:
            raise XeroError("A manual journal must have at least two lines")
        lines = []
        errors: list[str] = []
        debits = credits = ZERO
        for raw in raw_lines:
            try:
                account = self._line_account(
                    raw, where="in a manual journal", required=True, allow_system=False
                )
            except XeroError as exc:
                errors.extend(exc.messages)
                continue
            amount = round2(money(raw.get("LineAmount"), "LineAmount"))
            if amount > 0:
                debits += amount
            else:
                credits += amount
            assert account is not None
            tax_type = raw.get("TaxType") or "NONE"
            try:
                self._tax(tax_type)
            except XeroError as exc:
                errors.extend(exc.messages)
            lines.append(
                {
                    "LineAmount": amount,
                    "AccountCode": account.get("Code"),
                    "AccountID": account["AccountID"],
                    "Description": raw.get("Description") or "",
                    "TaxType": tax_type,
                    "TaxAmount": ZERO,
                    "Tracking": self._journal_tracking(raw.get("Tracking")),
                    "IsBlank": False,
                    "_AccountID": account["AccountID"],
                }
            )
        if debits != -credits:
            errors.append(
                f"The total debits ({debits:.2f}) must equal total credits ({credits:.2f})"
            )
        if errors:
            raise XeroError(*errors)
        return lines

    def _journal_tracking(self, choices: Any) -> list[Obj]:
        resolved = self._resolve_tracking(choices)
        return [
            {
                "TrackingCategoryID": r["TrackingCategoryID"],
                "TrackingOptionID": r["TrackingOptionID"],
                "Name": r["Name"],
                "Option": r["Option"],
            }
            for r in resolved
        ]

    def update_manual_journal(self, journal_id: str, element: Obj) -> Obj:
        journal = self.manual_journals.get(journal_id)
        if journal is None:
            raise XeroError("The manual journal could not be found")
        status = element.get("Status")
        current = journal["Status"]
        if status == "DELETED":
            if current != "DRAFT":
                raise XeroError("Only draft journals can be deleted; void a posted one")
        elif status == "VOIDED":
            if current != "POSTED":
                raise XeroError("Only posted journals can be voided")
        elif current in ("DELETED", "VOIDED"):
            raise XeroError("A deleted or voided journal cannot be changed")
        else:
            if element.get("Narration"):
                journal["Narration"] = element["Narration"]
            if element.get("Date"):
                day = _date(element["Date"])
                self._check_lock(day)
                journal["Date"] = day
            if element.get("JournalLines"):
                journal["JournalLines"] = self._journal_lines(element["JournalLines"])
            if status == "POSTED":
                journal["Status"] = status
        if status in ("DELETED", "VOIDED"):
            journal["Status"] = status
        journal["UpdatedDateUTC"] = _now()
        return journal

    # -- reading -------------------------------------------------------------------------------

    def lookup(self, table: Mapping[str, Obj], key: str, *fields: str) -> Obj | None:
        """A record by id, or by one of the alternative key fields (e.g. InvoiceNumber)."""
        if key in table:
            return table[key]
        for record in table.values():
            if any(record.get(f) == key for f in fields):
                return record
        return None
