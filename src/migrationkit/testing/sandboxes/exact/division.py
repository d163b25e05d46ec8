"""One Exact Online division in the sandbox: its rows, their timestamps, and the rules on masters.

Every row a client creates or changes gets the division's next ``Timestamp`` (a rowversion: a
growing integer, not a date), which is what ``sync/...`` endpoints filter on; the sandbox also
remembers when each timestamp was handed out, to answer ``read/sync/Sync/SyncTimestamp``. A
deleted relation, G/L account or item, and every transaction line of a deleted entry, is written
to the deleted log (``sync/Deleted``), which keeps two months, as Exact's does.

Masters follow Exact's rules as the connector meets them: codes unique, relation codes numeric
and right-aligned in 18 characters (the next number when none is given), references to G/L
accounts, VAT codes, journals, cost centers and payment conditions that must exist, bank journals
on a bank G/L account with an account number, and nothing in use deleted. The entries' rules are
in :mod:`.entries`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from .masters import KINDS, Kind
from .odata import Invalid, read_date

__all__ = ["DELETED_LOG_DAYS", "Division"]

DELETED_LOG_DAYS = 61
"""How long the deleted log keeps a row (Exact: two months)."""

GL_TYPES = frozenset(
    {
        10,
        12,
        14,
        16,
        20,
        21,
        22,
        24,
        25,
        26,
        27,
        29,
        30,
        32,
        35,
        40,
        50,
        52,
        55,
        60,
        90,
        100,
        110,
        111,
        120,
        121,
        122,
        123,
        125,
        126,
        130,
        140,
        150,
        160,
        300,
        301,
        302,
    }
)
"""The G/L account types Exact documents."""
PROFIT_AND_LOSS_FROM = 110
JOURNAL_TYPES = frozenset({10, 12, 16, 20, 21, 22, 23, 90})
BANK_GL_TYPES = frozenset({10, 12, 14})

_BOOL = frozenset(
    {
        "IsBlocked",
        "Blocked",
        "IsSupplier",
        "IsSales",
        "IsSalesItem",
        "IsPurchaseItem",
        "IsStockItem",
        "AllowVariableCurrency",
        "AllowVAT",
        "Charged",
        "Active",
        "Matching",
        "Reversal",
    }
)
_DATE = frozenset({"EntryDate", "DueDate", "Date", "StartDate", "EndDate"})
_GUID = frozenset(
    {
        "GLAccount",
        "GLToPay",
        "GLToClaim",
        "Customer",
        "Supplier",
        "Account",
        "GLAR",
        "GLAP",
        "GLAccountSales",
        "GLAccountPurchase",
        "GLRevenue",
        "GLCosts",
    }
)
_INT = frozenset({"EntryNumber", "OurRef", "PaymentDays", "Type"})
_STRING_TYPE = frozenset({"VATCode"})
"""Kinds whose ``Type`` is a letter, not a number."""
_AMOUNT = frozenset(
    {
        "Percentage",
        "AmountFC",
        "AmountDC",
        "VATAmountFC",
        "VATAmountDC",
        "AmountVATFC",
        "Rate",
        "ExchangeRate",
        "Quantity",
        "StandardSalesPrice",
        "CostPriceStandard",
        "CreditLineSales",
        "CreditLinePurchase",
        "OpeningBalanceFC",
        "ClosingBalanceFC",
    }
)


def new_id() -> str:
    return str(uuid.uuid4())


def coerce(kind: str, field: str, value: Any) -> Any:
    """A body's value as the sandbox keeps it, or :class:`Invalid` in Exact's words."""
    if value is None:
        return None
    problem = f"Error processing request stream. Type conversion failed for '{field}'."
    if field in _BOOL:
        if not isinstance(value, bool):
            raise Invalid(problem)
        return value
    if field in _DATE:
        return read_date(value, field)
    if field in _GUID or field in ("ID", "EntryID"):
        try:
            return str(uuid.UUID(str(value)))
        except ValueError:
            raise Invalid(problem) from None
    if field in _INT and not (field == "Type" and kind in _STRING_TYPE):
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(problem)
        return value
    if field in _AMOUNT:
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise Invalid(problem)
        return Decimal(value)
    if not isinstance(value, str):
        raise Invalid(problem)
    return value


def check_fields(kind: str, body: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for name in body:
        if name not in allowed and name != "__metadata":
            raise Invalid(
                f"Error processing request stream. The property name '{name}' specified for "
                f"type 'Exact.Web.Api.Models.{kind}' is not valid."
            )


class Division:
    """One administration: rows by endpoint, the timestamp counter and the deleted log."""

    def __init__(
        self,
        code: int,
        *,
        name: str,
        currency: str,
        country: str,
        clock: Callable[[], float],
        start: dt.date = dt.date(2020, 1, 1),
    ) -> None:
        self.code = code
        self.name = name
        self.currency = currency
        self.country = country
        self.start = start
        self.clock = clock
        self.rows: dict[str, dict[str, dict[str, Any]]] = {path: {} for path in KINDS}
        self.transaction_lines: dict[str, list[dict[str, Any]]] = {}
        self.deleted: list[dict[str, Any]] = []
        self._timestamp = 1000
        self._issued: list[tuple[float, int]] = []

    # -- time ------------------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC)

    def stamp(self) -> int:
        """The next rowversion."""
        self._timestamp += 1
        self._issued.append((self.clock(), self._timestamp))
        return self._timestamp

    def timestamp_at(self, moment: dt.datetime) -> int:
        """The last timestamp handed out at or before ``moment`` (1 before any)."""
        seconds = moment.replace(tzinfo=moment.tzinfo or dt.UTC).timestamp()
        place = bisect.bisect_right([t for t, _ in self._issued], seconds)
        return self._issued[place - 1][1] if place else 1

    # -- rows ------------------------------------------------------------------------------------

    def kind(self, path: str) -> Kind:
        return KINDS[path]

    def table(self, path: str) -> dict[str, dict[str, Any]]:
        return self.rows[path]

    def row(self, path: str, key: str) -> dict[str, Any]:
        try:
            return self.rows[path][str(key).lower()]
        except KeyError:
            raise Invalid(f"{self.kind(path).name} not found", 404) from None

    def by_code(self, path: str, code: str | None) -> dict[str, Any] | None:
        if code is None:
            return None
        wanted = str(code).strip()
        for row in self.rows[path].values():
            if str(row.get("Code") or "").strip() == wanted:
                return row
        return None

    def _touch(self, row: dict[str, Any], created: bool = False) -> None:
        now = self.now()
        if created:
            row["Created"] = now
            row["Division"] = self.code
        row["Modified"] = now
        row["Timestamp"] = self.stamp()

    def log_deleted(self, entity_type: int, key: str) -> None:
        self.deleted.append(
            {
                "ID": new_id(),
                "Timestamp": self.stamp(),
                "EntityType": entity_type,
                "EntityKey": key,
                "DeletedBy": "00000000-0000-0000-0000-000000000001",
                "DeletedDate": self.now(),
                "Division": self.code,
            }
        )

    def deleted_log(self) -> list[dict[str, Any]]:
        """The deleted log, without what is older than two months (Exact forgets it)."""
        horizon = self.now() - dt.timedelta(days=DELETED_LOG_DAYS)
        self.deleted = [row for row in self.deleted if row["DeletedDate"] >= horizon]
        return self.deleted

    def sync_rows(self, path: str) -> Iterator[dict[str, Any]]:
        """A master table's rows in timestamp order (its ``sync/`` endpoint)."""
        return iter(sorted(self.rows[path].values(), key=lambda r: r["Timestamp"]))

    # -- masters: create, change, delete -----------------------------------------------------------

    def values(
        self, kind: Kind, body: Mapping[str, Any], fields: tuple[str, ...]
    ) -> dict[str, Any]:
        check_fields(kind.name, body, fields)
        return {
            name: coerce(kind.name, name, value) for name, value in body.items() if name in fields
        }

    def create(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        kind = self.kind(path)
        values = self.values(kind, body, (kind.key, *kind.fields))
        for name in kind.required:
            if values.get(name) in (None, ""):
                raise Invalid(f"Mandatory: {name}")
        row = dict.fromkeys(kind.fields)
        row.update(values)
        row[kind.key] = values.get(kind.key) or new_id()
        if row[kind.key] in self.rows[path]:
            raise Invalid(f"Already exists - {kind.key}: {row[kind.key]}")
        self._master_rules(kind, row, None)
        self._touch(row, created=True)
        self.rows[path][str(row[kind.key])] = row
        return row

    def update(self, path: str, key: str, body: Mapping[str, Any]) -> dict[str, Any]:
        kind = self.kind(path)
        current = self.row(path, key)
        values = self.values(kind, body, kind.fields)
        changed = {**current, **values}
        for name in kind.required:
            if changed.get(name) in (None, ""):
                raise Invalid(f"Mandatory: {name}")
        self._master_rules(kind, changed, current)
        current.update(changed)
        self._touch(current)
        return current

    def delete(self, path: str, key: str) -> None:
        kind = self.kind(path)
        row = self.row(path, key)
        user = self.used_by(path, row)
        if user:
            raise Invalid(f"{kind.name} {str(row.get('Code') or '').strip()} is in use ({user})")
        del self.rows[path][row[kind.key]]
        if kind.deleted_type is not None:
            self.log_deleted(kind.deleted_type, row[kind.key])

    def _unique_code(
        self, path: str, row: Mapping[str, Any], current: Mapping[str, Any] | None
    ) -> None:
        other = self.by_code(path, row.get("Code"))
        key = self.kind(path).key
        if other is not None and (current is None or other[key] != current[key]):
            raise Invalid(f"Already exists - Code: {str(row['Code']).strip()}")

    def reference(self, path: str, key: str | None, label: str) -> dict[str, Any] | None:
        """The row a guid names, or 400 "Ongeldige referentie" as Exact answers it."""
        if key is None:
            return None
        row = self.rows[path].get(str(key).lower())
        if row is None:
            raise Invalid(f"Ongeldige referentie: {label}")
        return row

    def coded(self, path: str, code: str | None, label: str) -> dict[str, Any] | None:
        """The row a code names (a VAT code, a journal), or "Ongeldige referentie"."""
        if code in (None, ""):
            return None
        row = self.by_code(path, code)
        if row is None:
            raise Invalid(f"Ongeldige referentie: {label}")
        return row

    def _master_rules(
        self, kind: Kind, row: dict[str, Any], current: Mapping[str, Any] | None
    ) -> None:
        rules = {
            "GLAccount": self._gl_account,
            "VATCode": self._vat_code,
            "Journal": self._journal,
            "Account": self._account,
            "Item": self._item,
        }.get(kind.name)
        if kind.name != "Account":
            self._unique_code(kind.path, row, current)
        if rules:
            rules(row, current)

    def _gl_account(self, row: dict[str, Any], current: Mapping[str, Any] | None) -> None:
        row["Type"] = row.get("Type") if row.get("Type") is not None else 90
        if row["Type"] not in GL_TYPES:
            raise Invalid(f"Type: {row['Type']} is not a G/L account type")
        if row.get("BalanceType") is None:
            row["BalanceType"] = "W" if row["Type"] >= PROFIT_AND_LOSS_FROM else "B"
        if row["BalanceType"] not in ("B", "W"):
            raise Invalid("BalanceType: B (balance sheet) or W (profit & loss)")
        row["BalanceSide"] = row.get("BalanceSide") or "D"
        if row["BalanceSide"] not in ("D", "C"):
            raise Invalid("BalanceSide: D (debit) or C (credit)")
        row["IsBlocked"] = bool(row.get("IsBlocked"))
        row["Matching"] = bool(row.get("Matching"))
        self.coded("vat/VATCodes", row.get("VATCode"), "VATCodes")
        if (
            current is not None
            and current["Type"] != row["Type"]
            and self.used_by("financial/GLAccounts", current)
        ):
            raise Invalid(f"G/L account {row['Code']} is in use: its type cannot change")

    def _vat_code(self, row: dict[str, Any], current: Mapping[str, Any] | None) -> None:
        row["Type"] = row.get("Type") or "E"
        row["VATTransactionType"] = row.get("VATTransactionType") or "B"
        row["Percentage"] = row.get("Percentage") or Decimal(0)
        row["Charged"] = bool(row.get("Charged"))
        row["IsBlocked"] = bool(row.get("IsBlocked"))
        row["EUSalesListing"] = row.get("EUSalesListing") or "N"
        if row["Type"] not in ("B", "E", "I", "N"):
            raise Invalid("Type: B (0%), E (excluding), I (including) or N (no VAT)")
        if row["VATTransactionType"] not in ("B", "P", "S"):
            raise Invalid("VATTransactionType: B (both), P (purchase) or S (sales)")
        if not Decimal(0) <= row["Percentage"] <= Decimal(1):
            raise Invalid("Percentage: a fraction between 0 and 1 (0.21 is 21%)")
        for field in ("GLToPay", "GLToClaim"):
            account = self.reference("financial/GLAccounts", row.get(field), "GLAccounts")
            if account is not None and account["Type"] != 24:
                raise Invalid(f"{field}: the G/L account must be of type VAT")
            row[f"{field}Code"] = account["Code"] if account else None

    def _journal(self, row: dict[str, Any], current: Mapping[str, Any] | None) -> None:
        if row["Type"] not in JOURNAL_TYPES:
            raise Invalid(f"Type: {row['Type']} is not a journal type")
        if current is not None and current["Type"] != row["Type"]:
            raise Invalid("Type: the type of a journal cannot change")
        row["Currency"] = row.get("Currency") or self.currency
        row["AllowVariableCurrency"] = bool(row.get("AllowVariableCurrency"))
        row["AllowVAT"] = bool(row.get("AllowVAT"))
        row["IsBlocked"] = bool(row.get("IsBlocked"))
        account = self.reference("financial/GLAccounts", row.get("GLAccount"), "GLAccounts")
        row["GLAccountCode"] = account["Code"] if account else None
        row["GLAccountType"] = account["Type"] if account else None
        if row["Type"] in (10, 12):
            if account is None:
                raise Invalid("Mandatory: GLAccount")
            if account["Type"] not in BANK_GL_TYPES:
                raise Invalid(
                    "GLAccount: a bank or cash journal needs a G/L account of type "
                    "cash, bank or credit card"
                )
            owner = self._journal_of(account["ID"])
            if owner is not None and owner["ID"] != row["ID"]:
                raise Invalid(f"GLAccount: already used by journal {owner['Code']}")
        if row["Type"] == 12 and not (
            row.get("BankAccountIncludingMask") or row.get("BankAccountIBAN")
        ):
            raise Invalid("Mandatory: BankAccountIncludingMask")

    def _journal_of(self, gl_id: str) -> dict[str, Any] | None:
        for journal in self.rows["financial/Journals"].values():
            if journal.get("GLAccount") == gl_id:
                return journal
        return None

    def _account(self, row: dict[str, Any], current: Mapping[str, Any] | None) -> None:
        code = row.get("Code")
        if code in (None, ""):
            numbers = [
                int(str(r.get("Code") or "0").strip() or 0)
                for r in self.rows["crm/Accounts"].values()
            ]
            code = str(max(numbers, default=0) + 1)
        code = str(code).strip()
        if not code.isdigit() or len(code) > 18:
            raise Invalid("Code: a number of at most 18 digits")
        row["Code"] = code.rjust(18)
        self._unique_code("crm/Accounts", row, current)
        if row.get("Status") not in (None, "A", "S", "P", "C"):
            raise Invalid("Status: A, S, P or C")
        for flag in ("IsSupplier", "IsSales", "Blocked"):
            row[flag] = bool(row.get(flag))
        gl = "financial/GLAccounts"
        for field, wanted in (("GLAR", 20), ("GLAP", 22)):
            account = self.reference(gl, row.get(field), "GLAccounts")
            if account is not None and account["Type"] != wanted:
                raise Invalid(f"{field}: wrong type of G/L account")
        self.reference(gl, row.get("GLAccountSales"), "GLAccounts")
        self.reference(gl, row.get("GLAccountPurchase"), "GLAccounts")
        self.coded("vat/VATCodes", row.get("SalesVATCode"), "VATCodes")
        self.coded("vat/VATCodes", row.get("PurchaseVATCode"), "VATCodes")
        conditions = "cashflow/PaymentConditions"
        self.coded(conditions, row.get("PaymentConditionSales"), "PaymentConditions")
        self.coded(conditions, row.get("PaymentConditionPurchase"), "PaymentConditions")

    def _item(self, row: dict[str, Any], current: Mapping[str, Any] | None) -> None:
        for flag in ("IsSalesItem", "IsPurchaseItem", "IsStockItem"):
            row[flag] = bool(row.get(flag))
        self.reference("financial/GLAccounts", row.get("GLRevenue"), "GLAccounts")
        self.reference("financial/GLAccounts", row.get("GLCosts"), "GLAccounts")
        self.coded("vat/VATCodes", row.get("SalesVatCode"), "VATCodes")

    # -- what uses what ----------------------------------------------------------------------------

    def entries(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for path in (
            "salesentry/SalesEntries",
            "purchaseentry/PurchaseEntries",
            "generaljournalentry/GeneralJournalEntries",
            "financialtransaction/BankEntries",
            "financialtransaction/CashEntries",
        ):
            for row in self.rows[path].values():
                yield path, row

    def used_by(self, path: str, row: Mapping[str, Any]) -> str | None:
        """What keeps ``row`` from being deleted, in a few words (None: nothing)."""
        key = row.get(self.kind(path).key)
        code = str(row.get("Code") or "").strip()
        if path == "financial/Journals":
            for _path, entry in self.entries():
                if (entry.get("Journal") or entry.get("JournalCode")) == code:
                    return "entries"
            return None
        for entry_path, entry in self.entries():
            lines = entry.get(self.kind(entry_path).lines or "") or ()
            if path == "crm/Accounts" and (
                key in (entry.get("Customer"), entry.get("Supplier"))
                or any(line.get("Account") == key for line in lines)
            ):
                return "entries"
            if path == "financial/GLAccounts" and any(
                line.get("GLAccount") == key for line in lines
            ):
                return "entries"
            if path == "vat/VATCodes" and any(line.get("VATCode") == code for line in lines):
                return "entries"
            if path in ("hrm/Costcenters", "hrm/Costunits"):
                field = "CostCenter" if path == "hrm/Costcenters" else "CostUnit"
                if any(line.get(field) == code for line in lines):
                    return "entries"
        if path == "financial/GLAccounts":
            if self._journal_of(str(key)) is not None:
                return "a journal"
            for vat in self.rows["vat/VATCodes"].values():
                if key in (vat.get("GLToPay"), vat.get("GLToClaim")):
                    return f"VAT code {vat['Code']}"
        return None
