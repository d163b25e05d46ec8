"""Master data: the company, the chart, tax codes, banks, customers, suppliers and products.

:class:`MasterLoader` checks the small sections in the order later checks depend on (a bank is
checked against the chart, a product against the suppliers) and turns them into a
:class:`Master`, the reference data the opening balances and the audit trail are checked
against.  ``docs/formats/sage50-json.md`` §4 to §7 describe the sections.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from .posting import REQUIRED_ROLES, TxType, derived_type
from .report import Report, day, kind_of, label
from .rules import (
    CONTROL_ROLE,
    DATE_OUT_OF_RANGE,
    DUPLICATE_KEY,
    HISTORY_MODE,
    NOMINAL_TYPE_MISMATCH,
    SCHEMA_VIOLATION,
    UNKNOWN_ACCOUNT_REF,
    UNKNOWN_NOMINAL,
    UNKNOWN_TAX_CODE,
)
from .values import (
    BANK,
    COMPANY,
    DATE_WINDOW_DAYS,
    DEPARTMENT,
    EARLIEST,
    MISSING,
    NO_DATE,
    NOMINAL_ACCOUNT,
    PARTY,
    PRODUCT,
    TAX_CODE_RECORD,
    YEAR_START,
    check_shape,
    objects,
)

__all__ = [
    "Account",
    "Bank",
    "Master",
    "MasterChecks",
    "MasterLoader",
    "OpenItem",
    "Party",
    "TaxCode",
]


class Party(NamedTuple):
    """A customer or supplier as the checks need it."""

    slot: int  # position in its ledger's list, as kept in the packed header facts
    ref: str
    currency: str | None
    balance: int | None
    pointer: str


class Bank(NamedTuple):
    """A bank account as the checks need it."""

    code: str
    bank_type: str | None
    currency: str | None


class TaxCode(NamedTuple):
    """A tax code as the checks need it."""

    rate_bp: int | None
    no_vat: bool  # ec_purchases or reverse_charge: such a split's tax must be 0.00


class Account(NamedTuple):
    """A nominal account as the checks need it."""

    code: str
    type: str | None
    role: str | None
    balance: int | None
    pointer: str


class OpenItem:
    """One opening open item, and what allocations did to it."""

    __slots__ = (
        "account",
        "allocated_from",
        "allocated_to",
        "base",
        "cap",
        "currency",
        "date",
        "header_number",
        "ledger",
        "pointer",
        "rate",
        "settled",
        "tx_type",
    )

    def __init__(self, header_number: int | None, pointer: str) -> None:
        self.header_number = header_number
        self.pointer = pointer
        self.tx_type: TxType | None = None
        self.ledger: str | None = None
        self.account = -1
        self.currency: str | None = None
        self.date = NO_DATE
        self.rate: int | None = None
        self.cap: int | None = None  # the snapshot outstanding
        self.base: int | None = None
        self.allocated_from = 0
        self.allocated_to = 0
        self.settled = True  # False when gross/outstanding are unreadable


class Master:
    """The reference data the audit trail is checked against."""

    def __init__(self) -> None:
        self.history_mode: str | None = None
        self.low = EARLIEST
        self.high = dt.date.max.toordinal()
        self.as_of: int | None = None
        self.chart: dict[str, Account] = {}
        self.chart_known = False  # False when the section is missing: do not flood UNKNOWN_*
        self.roles: dict[str, str] = {}
        self.departments: set[int] = {0}
        self.departments_known = False
        self.tax_codes: dict[str, TaxCode] = {}
        self.tax_codes_known = False
        self.banks: dict[str, Bank] = {}
        self.banks_known = False
        self.parties: dict[str, dict[str, Party]] = {"S": {}, "P": {}}
        self.parties_known = {"S": False, "P": False}
        self.trial_balance: dict[str, int] = {}
        self.tb_pointers: dict[str, str] = {}
        self.open_items: list[OpenItem] = []


class MasterChecks:
    """What the checks of the sections before the trail share: references, keys and dates."""

    def __init__(self, values: dict[str, Any], report: Report, master: Master) -> None:
        self.values = values
        self.report = report
        self.m = master

    def duplicate(self, what: str, pointer: str, first: str) -> None:
        """DUPLICATE_KEY: ``what`` was first defined at ``first``."""
        self.report.add(DUPLICATE_KEY, "", pointer, None, {"first": first}, what=what)

    def nominal_ref(self, code: str | None, pointer: str, where: str) -> None:
        """UNKNOWN_NOMINAL unless ``code`` is in the chart (or the chart is missing)."""
        if code is not None and self.m.chart_known and code not in self.m.chart:
            self.report.add(UNKNOWN_NOMINAL, "", pointer, None, {"nominal_code": code}, where=where)

    def tax_ref(self, code: str | None, pointer: str, where: str) -> None:
        """UNKNOWN_TAX_CODE unless ``code`` is listed (or the list is missing)."""
        if code is not None and self.m.tax_codes_known and code not in self.m.tax_codes:
            self.report.add(UNKNOWN_TAX_CODE, "", pointer, None, {"tax_code": code}, where=where)

    def date_range(self, ordinal: int, pointer: str, where: str, hn: int | None = None) -> None:
        """DATE_OUT_OF_RANGE unless the date is within the window the export date sets."""
        if not self.m.low <= ordinal <= self.m.high:
            self.report.add(
                DATE_OUT_OF_RANGE,
                "",
                pointer,
                hn,
                {"date": day(ordinal)},
                where=where,
                low=day(self.m.low),
                high=day(self.m.high),
            )


class MasterLoader(MasterChecks):
    """Checks the master-data sections and turns them into a :class:`Master`."""

    def __init__(self, values: dict[str, Any], report: Report) -> None:
        super().__init__(values, report, Master())

    def load(self) -> Master:
        """Run every master-data check, in the order later checks depend on."""
        for step in (
            self._company,
            self._chart,
            self._departments,
            self._tax_codes,
            self._banks,
            self._parties,
            self._products,
            self._history_mode,
        ):
            step()
        return self.m

    # -- the company --------------------------------------------------------------------------

    def _company(self) -> None:
        company = self.values.get("company")
        if not isinstance(company, dict):
            return
        good = check_shape(company, COMPANY, "/company", "The company", self.report)
        if good.get("exported_at"):
            self.m.high = good["exported_at"] + DATE_WINDOW_DAYS
        year_start = company.get("financial_year_start")
        if isinstance(year_start, dict):
            check_shape(
                year_start,
                YEAR_START,
                "/company/financial_year_start",
                "The financial year start",
                self.report,
            )
        scheme, percent = company.get("vat_scheme"), company.get("flat_rate_percent")
        if scheme == "flat_rate" and not isinstance(percent, str):
            self.report.add(SCHEMA_VIOLATION, "flat_rate_missing", "/company/flat_rate_percent")
        elif scheme in ("standard", "cash") and percent is not None:
            self.report.add(
                SCHEMA_VIOLATION,
                "flat_rate_extra",
                "/company/flat_rate_percent",
                scheme=scheme,
                found=kind_of(percent),
            )

    # -- the chart of accounts ----------------------------------------------------------------

    def _chart(self) -> None:
        section = self.values.get("nominal_accounts")
        if not isinstance(section, list):
            return
        self.m.chart_known = True
        if not section:
            self.report.add(
                SCHEMA_VIOLATION, "empty", "/nominal_accounts", what="chart of accounts"
            )
        holders: dict[str, str] = {}
        for _n, obj, ptr in objects(section, "/nominal_accounts", "nominal_accounts", self.report):
            code = obj.get("code")
            where = label("Nominal account", code, ptr)
            good = check_shape(obj, NOMINAL_ACCOUNT, ptr, where, self.report)
            code = good.get("code")
            if code is None:
                continue
            if code in self.m.chart:
                self.duplicate(f"Nominal code {code}", ptr + "/code", self.m.chart[code].pointer)
                continue
            self._chart_type(code, good.get("type"), ptr)
            role = good.get("control_role")
            if role is not None and role in holders:
                self.report.add(
                    CONTROL_ROLE,
                    "twice",
                    ptr + "/control_role",
                    None,
                    {"role": role, "accounts": [holders[role], code]},
                    first=holders[role],
                    code=code,
                )
                role = None
            elif role is not None:
                holders[role] = code
            self.m.chart[code] = Account(code, good.get("type"), role, good.get("balance"), ptr)
        self.m.roles = dict(holders)
        for role in REQUIRED_ROLES:
            if role not in holders:
                self.report.add(CONTROL_ROLE, "missing", "/nominal_accounts", None, {"role": role})

    def _chart_type(self, code: str, stated: str | None, pointer: str) -> None:
        derived = derived_type(code)
        if derived is None:
            self.report.add(
                NOMINAL_TYPE_MISMATCH, "below_chart", pointer + "/code", None, {"code": code}
            )
        elif stated is not None and stated != derived:
            self.report.add(
                NOMINAL_TYPE_MISMATCH,
                "",
                pointer + "/type",
                None,
                {"code": code, "stated": stated, "expected": derived},
            )

    # -- departments and tax codes ------------------------------------------------------------

    def _departments(self) -> None:
        section = self.values.get("departments")
        self.m.departments_known = isinstance(section, list)
        seen: dict[int, str] = {}
        for n, obj, ptr in objects(section, "/departments", "departments", self.report):
            good = check_shape(obj, DEPARTMENT, ptr, f"Department entry {n}", self.report)
            number = good.get("number")
            if number is None:
                continue
            if number in seen:
                self.duplicate(f"Department {number}", ptr + "/number", seen[number])
            else:
                seen[number] = ptr
                self.m.departments.add(number)

    def _tax_codes(self) -> None:
        section = self.values.get("tax_codes")
        if not isinstance(section, list):
            return
        self.m.tax_codes_known = True
        if not section:
            self.report.add(SCHEMA_VIOLATION, "empty", "/tax_codes", what="tax code list")
        seen: dict[str, str] = {}
        for _n, obj, ptr in objects(section, "/tax_codes", "tax_codes", self.report):
            code = obj.get("code")
            good = check_shape(obj, TAX_CODE_RECORD, ptr, label("Tax code", code, ptr), self.report)
            code = good.get("code")
            if code is None:
                continue
            if code in seen:
                self.duplicate(f"Tax code {code}", ptr + "/code", seen[code])
                continue
            seen[code] = ptr
            no_vat = bool(good.get("ec_purchases")) or bool(good.get("reverse_charge"))
            self.m.tax_codes[code] = TaxCode(good.get("rate"), no_vat)

    # -- banks --------------------------------------------------------------------------------

    def _banks(self) -> None:
        section = self.values.get("bank_accounts")
        self.m.banks_known = isinstance(section, list)
        seen: dict[str, str] = {}
        for _n, obj, ptr in objects(section, "/bank_accounts", "bank_accounts", self.report):
            code = obj.get("nominal_code")
            good = check_shape(obj, BANK, ptr, label("Bank account", code, ptr), self.report)
            code = good.get("nominal_code")
            if code is None:
                continue
            if code in seen:
                self.duplicate(f"Bank account {code}", ptr + "/nominal_code", seen[code])
                continue
            seen[code] = ptr
            self._bank_nominal(code, ptr + "/nominal_code")
            self.m.banks[code] = Bank(code, good.get("bank_type"), good.get("currency"))

    def _bank_nominal(self, code: str, pointer: str) -> None:
        account = self.m.chart.get(code)
        if account is None:
            if self.m.chart_known:
                self.report.add(UNKNOWN_NOMINAL, "bank", pointer, None, {"nominal_code": code})
            return
        if account.type not in ("current_assets", "liabilities", None):
            self.report.add(
                NOMINAL_TYPE_MISMATCH,
                "bank",
                pointer,
                None,
                {"nominal_code": code, "type": account.type},
            )
        if account.role is not None:
            self.report.add(
                CONTROL_ROLE, "bank", pointer, None, {"nominal_code": code, "role": account.role}
            )

    # -- customers, suppliers and products ----------------------------------------------------

    def _parties(self) -> None:
        for ledger, key, noun in (("S", "customers", "Customer"), ("P", "suppliers", "Supplier")):
            section = self.values.get(key)
            self.m.parties_known[ledger] = isinstance(section, list)
            parties = self.m.parties[ledger]
            for _n, obj, ptr in objects(section, f"/{key}", key, self.report):
                ref = obj.get("account_ref")
                where = label(noun, ref, ptr)
                good = check_shape(obj, PARTY, ptr, where, self.report)
                ref = good.get("account_ref")
                if ref is None:
                    continue
                if ref in parties:
                    self.duplicate(f"{noun} {ref}", ptr + "/account_ref", parties[ref].pointer)
                    continue
                self.nominal_ref(good.get("default_nominal"), ptr + "/default_nominal", where)
                self.tax_ref(good.get("default_tax_code"), ptr + "/default_tax_code", where)
                parties[ref] = Party(
                    len(parties), ref, good.get("currency"), good.get("balance"), ptr
                )

    def _products(self) -> None:
        seen: dict[str, str] = {}
        suppliers = self.m.parties["P"]
        for _n, obj, ptr in objects(
            self.values.get("products"), "/products", "products", self.report
        ):
            code = obj.get("stock_code")
            where = label("Product", code, ptr)
            good = check_shape(obj, PRODUCT, ptr, where, self.report)
            code = good.get("stock_code")
            if code is not None:
                if code in seen:
                    self.duplicate(f"Stock code {code}", ptr + "/stock_code", seen[code])
                else:
                    seen[code] = ptr
            self.nominal_ref(good.get("nominal_code"), ptr + "/nominal_code", where)
            self.nominal_ref(
                good.get("purchase_nominal_code"), ptr + "/purchase_nominal_code", where
            )
            self.tax_ref(good.get("tax_code"), ptr + "/tax_code", where)
            supplier = good.get("supplier_ref")
            if supplier is not None and self.m.parties_known["P"] and supplier not in suppliers:
                self.report.add(
                    UNKNOWN_ACCOUNT_REF,
                    "product",
                    ptr + "/supplier_ref",
                    None,
                    {"account_ref": supplier},
                    where=where,
                )

    # -- the history mode ---------------------------------------------------------------------

    def _history_mode(self) -> None:
        mode = self.values.get("history_mode")
        if mode not in ("full_history", "opening_balances", "records_only"):
            return  # reported by the top-level shape check
        self.m.history_mode = mode
        opening = self.values.get("opening_balances", MISSING)
        if opening is MISSING:
            return
        if mode == "records_only" and opening is not None:
            self.report.add(
                HISTORY_MODE,
                "opening_forbidden",
                "/opening_balances",
                None,
                {"history_mode": mode},
            )
        elif mode != "records_only" and opening is None:
            self.report.add(
                HISTORY_MODE, "opening_needed", "/opening_balances", None, {"history_mode": mode}
            )
