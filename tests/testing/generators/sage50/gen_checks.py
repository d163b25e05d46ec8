"""Independent checks of sage50-json 1.0 invariants, used to test the data generator.

This module re-derives the rules of docs/formats/sage50-json.md §11 from a parsed file without
sharing any code with ``migrationkit.testing.generators.sage50``: it recomputes the double entry
of §8.4, the outstanding amounts of §10, the currency rules of §8.6 and the balances of nominal
accounts and contacts. ``check`` returns findings with the codes of the format, so a
test can compare them with a defect sidecar. ``strict=True`` additionally demands what the
generator promises beyond the format: exact VAT and currency rounding, ascending header
numbers, unique split numbers and no warnings.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, NamedTuple

CENT = Decimal("0.01")
ZERO = Decimal("0")

MONEY = re.compile(r"^-?\d+(\.\d{1,2})?$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ACCOUNT_REF = re.compile(r"^[A-Z0-9][A-Z0-9._/&-]{0,7}$")
NOMINAL = re.compile(r"^[0-9]{4,8}$")
RATE = re.compile(r"^\d{1,6}(\.\d{1,6})?$")

S_TYPES = {"SI", "SC", "SD", "SR", "SA", "SP"}
P_TYPES = {"PI", "PC", "PD", "PP", "PA", "PR"}
SOURCES = {"SC", "SD", "SR", "SA", "PC", "PD", "PP", "PA"}
TARGETS = {"SI", "SP", "PI", "PR"}
MONEY_TYPES = {"SR", "SA", "SP", "PP", "PA", "PR"}
BANK_TYPES = {
    "BP": "current",
    "BR": "current",
    "CP": "cash",
    "CR": "cash",
    "VP": "credit_card",
    "VR": "credit_card",
}
TAXED = {"SI", "SC", "SD", "PI", "PC", "PD", *BANK_TYPES}
REQUIRED_ROLES = (
    "debtors_control",
    "creditors_control",
    "sales_tax_control",
    "purchase_tax_control",
    "suspense",
    "retained_earnings",
)
TYPE_RANGES = (
    (9, None),
    (999, "fixed_assets"),
    (1999, "current_assets"),
    (2999, "liabilities"),
    (3999, "capital"),
    (4999, "sales"),
    (5999, "purchases"),
    (6999, "direct_expenses"),
    (9999, "overheads"),
)

HEADER_KEYS = {
    "header_number",
    "type",
    "account_ref",
    "bank_code",
    "journal_group",
    "date",
    "due_date",
    "reference",
    "extra_reference",
    "details",
    "currency",
    "exchange_rate",
    "net",
    "tax",
    "gross",
    "outstanding",
    "paid_status",
    "deleted",
    "splits",
    "allocations",
}
HEADER_OPTIONAL = {"foreign_net", "foreign_tax", "foreign_gross", "bank_reconciled_on", "user_name"}
SPLIT_KEYS = {"split_number", "nominal_code", "department", "details", "net", "tax_code", "tax"}
OPEN_ITEM_KEYS = {
    "header_number",
    "type",
    "account_ref",
    "date",
    "reference",
    "currency",
    "exchange_rate",
    "gross",
    "outstanding",
    "base_outstanding",
    "allocations",
}
TEXT_LIMITS = {
    "name": 60,
    "address_1": 60,
    "address_2": 60,
    "address_3": 60,
    "address_4": 60,
    "address_5": 60,
    "contact_name": 30,
    "telephone": 30,
    "reference": 30,
    "extra_reference": 30,
    "details": 60,
    "unit_of_sale": 8,
    "stock_code": 30,
    "user_name": 32,
    "description": 60,
    "vat_number": 30,
}


class Finding(NamedTuple):
    code: str
    severity: str
    pointer: str
    header_number: int | None
    message: str


def rnd(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def load(path: str | Path) -> dict[str, Any]:
    """Parse a file; JSON numbers become Decimal so a float money value stays visible."""
    with Path(path).open(encoding="utf-8") as fh:
        return json.load(fh, parse_float=Decimal)  # type: ignore[no-any-return]


def nominal_type(code: str) -> str | None:
    value = int(code[:4])
    return next(kind for top, kind in TYPE_RANGES if value <= top)


class _Checker:
    def __init__(self, doc: dict[str, Any], strict: bool) -> None:
        self.doc = doc
        self.strict = strict
        self.findings: list[Finding] = []

    def add(
        self,
        code: str,
        pointer: str,
        message: str,
        header: int | None = None,
        severity: str = "error",
    ) -> None:
        self.findings.append(Finding(code, severity, pointer, header, message))

    # -- primitives --------------------------------------------------------------------------

    def money(self, value: Any, pointer: str, header: int | None = None) -> Decimal:
        if isinstance(value, str) and MONEY.match(value):
            return Decimal(value)
        self.add("MONEY_FORMAT", pointer, f"not a money string: {value!r}", header)
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            return Decimal(value)
        return ZERO

    def day(self, value: Any, pointer: str, header: int | None = None) -> date | None:
        if value is None:
            return None
        if not isinstance(value, str) or not DATE.match(value):
            self.add("DATE_INVALID", pointer, f"not a date: {value!r}", header)
            return None
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            self.add("DATE_INVALID", pointer, f"not a calendar date: {value!r}", header)
            return None
        if parsed < date(1980, 1, 1) or parsed > self.latest:
            self.add("DATE_OUT_OF_RANGE", pointer, f"{value} outside the window", header)
        return parsed

    def keys(
        self,
        obj: dict[str, Any],
        required: set[str],
        optional: set[str],
        pointer: str,
        header: int | None = None,
    ) -> None:
        missing = required - obj.keys()
        extra = obj.keys() - required - optional
        if missing or extra:
            self.add(
                "SCHEMA_VIOLATION",
                pointer,
                f"missing {sorted(missing)} extra {sorted(extra)}",
                header,
            )
        for key, limit in TEXT_LIMITS.items():
            value = obj.get(key)
            if isinstance(value, str) and len(value) > limit:
                self.add("SCHEMA_VIOLATION", f"{pointer}/{key}", f"longer than {limit}", header)

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> list[Finding]:
        doc = self.doc
        if doc.get("format") != "sage50-json" or doc.get("format_version") != "1.0":
            self.add("FORMAT_UNSUPPORTED", "/format", "wrong format")
            return self.findings
        exported = str(doc["company"]["exported_at"])
        self.latest = date.fromisoformat(exported[:10]) + timedelta(days=365)
        self.master()
        self.opening()
        self.transactions()
        self.postings()
        self.allocations()
        return self.findings

    def master(self) -> None:
        doc = self.doc
        self.chart: dict[str, dict[str, Any]] = {}
        roles: dict[str, list[str]] = defaultdict(list)
        for i, acc in enumerate(doc["nominal_accounts"]):
            ptr = f"/nominal_accounts/{i}"
            code = acc["code"]
            if code in self.chart:
                self.add("DUPLICATE_KEY", ptr, f"nominal {code} repeated")
            self.chart.setdefault(code, acc)
            if not NOMINAL.match(code) or nominal_type(code) != acc["type"]:
                self.add("NOMINAL_TYPE_MISMATCH", f"{ptr}/type", f"{code} is not {acc['type']}")
            if acc["control_role"]:
                roles[acc["control_role"]].append(code)
            if acc.get("balance") is not None:
                self.money(acc["balance"], f"{ptr}/balance")
        for role in REQUIRED_ROLES:
            if role not in roles:
                self.add("CONTROL_ROLE", "/nominal_accounts", f"{role} missing")
        for role, codes in roles.items():
            if len(codes) > 1:
                self.add("CONTROL_ROLE", "/nominal_accounts", f"{role} held by {codes}")
        self.role = {role: codes[0] for role, codes in roles.items()}
        self.departments = {0}
        for i, dep in enumerate(doc["departments"]):
            if dep["number"] in self.departments and dep["number"] != 0:
                self.add("DUPLICATE_KEY", f"/departments/{i}", "department repeated")
            self.departments.add(dep["number"])
        self.tax: dict[str, dict[str, Any]] = {}
        for i, tc in enumerate(doc["tax_codes"]):
            if tc["code"] in self.tax:
                self.add("DUPLICATE_KEY", f"/tax_codes/{i}", "tax code repeated")
            self.tax[tc["code"]] = tc
        self.banks: dict[str, dict[str, Any]] = {}
        for i, bank in enumerate(doc["bank_accounts"]):
            ptr = f"/bank_accounts/{i}"
            code = bank["nominal_code"]
            if code in self.banks:
                self.add("DUPLICATE_KEY", ptr, "bank repeated")
            self.banks[code] = bank
            acc = self.chart.get(code)
            if acc is None:
                self.add("UNKNOWN_NOMINAL", ptr, f"bank {code} not in chart")
            elif acc["type"] not in ("current_assets", "liabilities") or acc["control_role"]:
                self.add("SCHEMA_VIOLATION", ptr, "bank nominal of the wrong kind")
        self.parties: dict[str, dict[str, dict[str, Any]]] = {"S": {}, "P": {}}
        for ledger, key in (("S", "customers"), ("P", "suppliers")):
            for i, party in enumerate(doc[key]):
                ptr = f"/{key}/{i}"
                self.keys(
                    party,
                    {
                        "account_ref",
                        "name",
                        "currency",
                        "payment_due_days",
                        "default_nominal",
                        "default_tax_code",
                        "inactive",
                    },
                    {
                        "address_1",
                        "address_2",
                        "address_3",
                        "address_4",
                        "address_5",
                        "country_code",
                        "contact_name",
                        "telephone",
                        "email",
                        "vat_number",
                        "credit_limit",
                        "terms_agreed",
                        "balance",
                    },
                    ptr,
                )
                ref = party["account_ref"]
                if not ACCOUNT_REF.match(ref):
                    self.add("SCHEMA_VIOLATION", f"{ptr}/account_ref", f"bad ref {ref!r}")
                if ref in self.parties[ledger]:
                    self.add("DUPLICATE_KEY", ptr, f"{ref} repeated")
                self.parties[ledger][ref] = party
                if (
                    party["default_nominal"] is not None
                    and party["default_nominal"] not in self.chart
                ):
                    self.add("UNKNOWN_NOMINAL", f"{ptr}/default_nominal", "unknown nominal")
                if (
                    party["default_tax_code"] is not None
                    and party["default_tax_code"] not in self.tax
                ):
                    self.add("UNKNOWN_TAX_CODE", f"{ptr}/default_tax_code", "unknown tax code")
                for money_key in ("credit_limit", "balance"):
                    if party.get(money_key) is not None:
                        self.money(party[money_key], f"{ptr}/{money_key}")
        stock: set[str] = set()
        for i, product in enumerate(doc["products"]):
            ptr = f"/products/{i}"
            self.keys(
                product,
                {"stock_code", "description", "sales_price", "nominal_code", "tax_code"},
                {
                    "item_type",
                    "purchase_price",
                    "unit_of_sale",
                    "purchase_nominal_code",
                    "supplier_ref",
                    "inactive",
                },
                ptr,
            )
            if product["stock_code"] in stock:
                self.add("DUPLICATE_KEY", ptr, "stock code repeated")
            stock.add(product["stock_code"])
            for key in ("nominal_code", "purchase_nominal_code"):
                if product.get(key) is not None and product[key] not in self.chart:
                    self.add("UNKNOWN_NOMINAL", f"{ptr}/{key}", "unknown nominal")
            if product["tax_code"] not in self.tax:
                self.add("UNKNOWN_TAX_CODE", f"{ptr}/tax_code", "unknown tax code")
            if (
                product.get("supplier_ref") is not None
                and product["supplier_ref"] not in self.parties["P"]
            ):
                self.add("UNKNOWN_ACCOUNT_REF", f"{ptr}/supplier_ref", "unknown supplier")

    def opening(self) -> None:
        doc = self.doc
        mode = doc["history_mode"]
        ob = doc["opening_balances"]
        txns = doc["transactions"]
        if mode == "records_only" and (ob is not None or txns):
            self.add("HISTORY_MODE", "/opening_balances", "records_only carries balances")
        if mode == "opening_balances" and (ob is None or txns):
            self.add("HISTORY_MODE", "/transactions", "opening_balances mode breaks section 3")
        if mode == "full_history" and ob is None:
            self.add("HISTORY_MODE", "/opening_balances", "full_history needs opening balances")
        self.tb: dict[str, Decimal] = {}
        self.open_items: list[tuple[str, dict[str, Any]]] = []
        self.as_of: date | None = None
        if ob is None:
            return
        self.as_of = self.day(ob["as_of"], "/opening_balances/as_of")
        debit = credit = ZERO
        for i, line in enumerate(ob["trial_balance"]):
            ptr = f"/opening_balances/trial_balance/{i}"
            code = line["nominal_code"]
            d = self.money(line["debit"], f"{ptr}/debit")
            c = self.money(line["credit"], f"{ptr}/credit")
            if d < 0 or c < 0 or (d and c):
                self.add("SCHEMA_VIOLATION", ptr, "TB line with both sides or negative")
            if code in self.tb:
                self.add("DUPLICATE_KEY", ptr, f"TB nominal {code} repeated")
            if code not in self.chart:
                self.add("UNKNOWN_NOMINAL", ptr, f"TB nominal {code} not in chart")
            self.tb[code] = self.tb.get(code, ZERO) + d - c
            debit += d
            credit += c
        if debit != credit:
            self.add(
                "OPENING_TB_UNBALANCED",
                "/opening_balances/trial_balance",
                f"debit {debit} credit {credit}",
            )
        for ledger, key, types in (
            ("S", "customer_open_items", {"SI", "SC", "SA", "SP"}),
            ("P", "supplier_open_items", {"PI", "PC", "PA", "PR"}),
        ):
            total = ZERO
            for i, item in enumerate(ob[key]):
                ptr = f"/opening_balances/{key}/{i}"
                n = item["header_number"]
                self.keys(item, OPEN_ITEM_KEYS, {"due_date", "details"}, ptr, n)
                if item["type"] not in types:
                    self.add("SCHEMA_VIOLATION", f"{ptr}/type", "wrong open item type", n)
                if item["account_ref"] not in self.parties[ledger]:
                    self.add("UNKNOWN_ACCOUNT_REF", f"{ptr}/account_ref", "unknown account", n)
                else:
                    party = self.parties[ledger][item["account_ref"]]
                    if party["currency"] != item["currency"]:
                        self.add("CURRENCY", f"{ptr}/currency", "not the account currency", n)
                d = self.day(item["date"], f"{ptr}/date", n)
                self.day(item.get("due_date"), f"{ptr}/due_date", n)
                if d and self.as_of and d > self.as_of:
                    self.add("HISTORY_MODE", f"{ptr}/date", "open item after as_of", n)
                gross = self.money(item["gross"], f"{ptr}/gross", n)
                out = self.money(item["outstanding"], f"{ptr}/outstanding", n)
                base = self.money(item["base_outstanding"], f"{ptr}/base_outstanding", n)
                if not ZERO < out <= gross:
                    self.add("OUTSTANDING_MISMATCH", f"{ptr}/outstanding", "not 0 < o <= gross", n)
                if item["currency"] == "GBP" and base != out:
                    self.add("CURRENCY", f"{ptr}/base_outstanding", "GBP base differs", n)
                if (
                    item["currency"] != "GBP"
                    and abs(base - out / Decimal(item["exchange_rate"])) > CENT
                ):
                    self.add("CURRENCY", f"{ptr}/base_outstanding", "base not at the item rate", n)
                if item["type"] in TARGETS and item["allocations"]:
                    self.add("TYPE_RULE", f"{ptr}/allocations", "allocations on a target", n)
                total += base if item["type"] in TARGETS else -base
                self.open_items.append((ptr, item))
            control = self.role.get("debtors_control" if ledger == "S" else "creditors_control")
            line = self.tb.get(control or "", ZERO)
            if ledger == "P":
                line = -line
            if line != total:
                self.add(
                    "OPENING_LEDGER_MISMATCH",
                    f"/opening_balances/{key}",
                    f"control {line} vs open items {total}",
                )

    def transactions(self) -> None:
        doc = self.doc
        txns = doc["transactions"]
        numbers: dict[int, str] = {}
        for ptr, item in self.open_items:
            n = item["header_number"]
            if n in numbers:
                self.add("DUPLICATE_HEADER_NUMBER", f"{ptr}/header_number", f"{n} reused", n)
            numbers[n] = ptr
        self.by_number: dict[int, tuple[str, dict[str, Any]]] = {}
        for ptr, item in self.open_items:
            self.by_number.setdefault(item["header_number"], (ptr, item))
        groups: dict[int, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        split_numbers: set[int] = set()
        last_number = 0
        self.amounts: dict[int, tuple[Decimal, Decimal, Decimal]] = {}
        self.dates: dict[int, date | None] = {}
        for i, h in enumerate(txns):
            ptr = f"/transactions/{i}"
            n = h["header_number"]
            t = h["type"]
            self.keys(h, HEADER_KEYS, HEADER_OPTIONAL, ptr, n)
            if n in numbers:
                self.add("DUPLICATE_HEADER_NUMBER", f"{ptr}/header_number", f"{n} reused", n)
            else:
                numbers[n] = ptr
                self.by_number[n] = (ptr, h)
            if self.strict and n <= last_number:
                self.add("STRICT_ORDER", ptr, "header numbers not ascending", n)
            last_number = max(last_number, n)
            d = self.day(h["date"], f"{ptr}/date", n)
            self.dates[id(h)] = d
            due = self.day(h["due_date"], f"{ptr}/due_date", n)
            self.day(h.get("bank_reconciled_on"), f"{ptr}/bank_reconciled_on", n)
            if d and self.as_of and d <= self.as_of:
                self.add("HISTORY_MODE", f"{ptr}/date", "dated on or before as_of", n)
            if d and due and due < d:
                self.add("DUE_DATE", f"{ptr}/due_date", "due before date", n, "warning")
            self.header(ptr, h, n, t)
            for j, s in enumerate(h["splits"]):
                sn = s["split_number"]
                if self.strict and sn in split_numbers:
                    self.add("STRICT_SPLIT_NUMBER", f"{ptr}/splits/{j}", "split number reused", n)
                split_numbers.add(sn)
            if t in ("JD", "JC"):
                if h["journal_group"] is None:
                    self.add("TYPE_RULE", f"{ptr}/journal_group", "journal without group", n)
                else:
                    groups[h["journal_group"]].append((i, h))
            elif h["journal_group"] is not None:
                self.add("TYPE_RULE", f"{ptr}/journal_group", "group on a non-journal", n)
        for group, members in groups.items():
            first = f"/transactions/{members[0][0]}"
            if group not in {h["header_number"] for _, h in members}:
                self.add("TYPE_RULE", first, f"group {group} is not a member", group)
            if len({h["date"] for _, h in members}) > 1:
                self.add("TYPE_RULE", first, f"journal {group} spread over dates", group)
            jd = sum((self.amounts[id(h)][0] for _, h in members if h["type"] == "JD"), ZERO)
            jc = sum((self.amounts[id(h)][0] for _, h in members if h["type"] == "JC"), ZERO)
            if jd != jc:
                self.add("JOURNAL_UNBALANCED", first, f"journal {group}: JD {jd} JC {jc}", group)

    def header(self, ptr: str, h: dict[str, Any], n: int, t: str) -> None:
        cur = h["currency"]
        foreign = cur != "GBP"
        net = self.money(h["net"], f"{ptr}/net", n)
        tax = self.money(h["tax"], f"{ptr}/tax", n)
        gross = self.money(h["gross"], f"{ptr}/gross", n)
        self.money(h["outstanding"], f"{ptr}/outstanding", n)
        self.amounts[id(h)] = (net, tax, gross)
        if gross != net + tax:
            self.add("HEADER_TOTALS", f"{ptr}/gross", f"{gross} != {net} + {tax}", n)
        if gross < 0:
            self.add("TYPE_RULE", f"{ptr}/gross", "negative gross", n)
        rate_text = h["exchange_rate"]
        if not isinstance(rate_text, str) or not RATE.match(rate_text) or Decimal(rate_text) <= 0:
            self.add("SCHEMA_VIOLATION", f"{ptr}/exchange_rate", "bad rate", n)
            rate = Decimal(1)
        else:
            rate = Decimal(rate_text)
        splits = h["splits"]
        s_net = s_tax = s_fnet = s_ftax = ZERO
        for j, s in enumerate(splits):
            sp = f"{ptr}/splits/{j}"
            extra = {"foreign_net", "foreign_tax"}
            self.keys(s, SPLIT_KEYS, extra, sp, n)
            a_net = self.money(s["net"], f"{sp}/net", n)
            a_tax = self.money(s["tax"], f"{sp}/tax", n)
            s_net += a_net
            s_tax += a_tax
            if s["nominal_code"] not in self.chart:
                self.add("UNKNOWN_NOMINAL", f"{sp}/nominal_code", f"{s['nominal_code']}", n)
            if s["department"] not in self.departments:
                self.add("UNKNOWN_DEPARTMENT", f"{sp}/department", "unknown department", n)
            code = self.tax.get(s["tax_code"])
            if code is None:
                self.add("UNKNOWN_TAX_CODE", f"{sp}/tax_code", f"{s['tax_code']}", n)
            if foreign:
                if s.get("foreign_net") is None or s.get("foreign_tax") is None:
                    self.add("CURRENCY", sp, "foreign split without foreign amounts", n)
                    f_net, f_tax = a_net, a_tax
                else:
                    f_net = self.money(s["foreign_net"], f"{sp}/foreign_net", n)
                    f_tax = self.money(s["foreign_tax"], f"{sp}/foreign_tax", n)
                tolerance = ZERO if self.strict else CENT
                if (
                    abs(a_net - rnd(f_net / rate)) > tolerance
                    or abs(a_tax - rnd(f_tax / rate)) > tolerance
                ):
                    self.add("CURRENCY", sp, "GBP split is not round(foreign / rate)", n)
                s_fnet += f_net
                s_ftax += f_tax
            else:
                f_net, f_tax = a_net, a_tax
                if s.get("foreign_net") is not None or s.get("foreign_tax") is not None:
                    self.add("CURRENCY", sp, "GBP split with foreign amounts", n)
            if code is not None:
                tax_rate = Decimal(code["rate"])
                no_tax = code["ec_purchases"] or code["reverse_charge"]
                if no_tax and a_tax:
                    self.add("TAX_CALCULATION", f"{sp}/tax", "EC purchase / reverse charge tax", n)
                if tax_rate == 0 and a_tax:
                    self.add("TAX_CALCULATION", f"{sp}/tax", "tax on a zero-rate code", n)
                if t in TAXED and not no_tax:
                    expected = rnd(f_net * tax_rate / 100)
                    tolerance = ZERO if self.strict else CENT
                    if abs(f_tax - expected) > tolerance:
                        self.add("TAX_CALCULATION", f"{sp}/tax", f"{f_tax} vs {expected}", n)
            if (t in MONEY_TYPES or t in ("JD", "JC")) and (a_tax != 0 or a_net <= 0):
                self.add("TYPE_RULE", sp, "money/journal split needs tax 0 and net > 0", n)
            if t in MONEY_TYPES and s["nominal_code"] != h["bank_code"]:
                self.add("TYPE_RULE", sp, "split nominal is not the bank", n)
        if s_net != net or s_tax != tax:
            self.add("SPLIT_TOTALS", ptr, "header and split totals differ", n)
        if foreign:
            if any(h.get(k) is None for k in ("foreign_net", "foreign_tax", "foreign_gross")):
                self.add("CURRENCY", ptr, "foreign header without foreign totals", n)
            else:
                f_net = self.money(h["foreign_net"], f"{ptr}/foreign_net", n)
                f_tax = self.money(h["foreign_tax"], f"{ptr}/foreign_tax", n)
                f_gross = self.money(h["foreign_gross"], f"{ptr}/foreign_gross", n)
                if f_gross != f_net + f_tax:
                    self.add("HEADER_TOTALS", ptr, "foreign gross != net + tax", n)
                if f_net != s_fnet or f_tax != s_ftax:
                    self.add("SPLIT_TOTALS", ptr, "foreign totals differ from splits", n)
        else:
            if Decimal(rate) != 1:
                self.add("CURRENCY", f"{ptr}/exchange_rate", "GBP with a rate", n)
            if any(h.get(k) is not None for k in ("foreign_net", "foreign_tax", "foreign_gross")):
                self.add("CURRENCY", ptr, "GBP header with foreign amounts", n)
        # Shapes and references (UNKNOWN_*, TYPE_RULE, CURRENCY).
        if t in S_TYPES or t in P_TYPES:
            ledger = "S" if t in S_TYPES else "P"
            party = self.parties[ledger].get(h["account_ref"])
            if party is None:
                self.add("UNKNOWN_ACCOUNT_REF", f"{ptr}/account_ref", h["account_ref"], n)
            elif party["currency"] != cur:
                self.add("CURRENCY", f"{ptr}/currency", "not the account currency", n)
            if t in MONEY_TYPES:
                bank = self.banks.get(h["bank_code"])
                if bank is None:
                    self.add("UNKNOWN_BANK", f"{ptr}/bank_code", "unknown bank", n)
                elif bank["currency"] not in ("GBP", cur):
                    self.add("CURRENCY", f"{ptr}/bank_code", "bank currency not allowed", n)
            elif h["bank_code"] is not None:
                self.add("TYPE_RULE", f"{ptr}/bank_code", "bank on an invoice or credit", n)
        elif t in BANK_TYPES:
            bank = self.banks.get(h["bank_code"])
            if h["account_ref"] != h["bank_code"]:
                self.add("TYPE_RULE", f"{ptr}/account_ref", "account_ref is not the bank", n)
            if bank is None or h["account_ref"] not in self.banks:
                self.add("UNKNOWN_BANK", f"{ptr}/bank_code", "unknown bank", n)
            else:
                if bank["bank_type"] != BANK_TYPES[t]:
                    self.add("TYPE_RULE", f"{ptr}/bank_code", "wrong bank type", n)
                if bank["currency"] != cur:
                    self.add("CURRENCY", f"{ptr}/currency", "not the bank currency", n)
        else:
            if len(splits) != 1:
                self.add("TYPE_RULE", f"{ptr}/splits", "journal with several splits", n)
            if h["account_ref"] not in self.chart:
                self.add("UNKNOWN_NOMINAL", f"{ptr}/account_ref", "journal nominal unknown", n)
            if splits and h["account_ref"] != splits[0]["nominal_code"]:
                self.add("TYPE_RULE", f"{ptr}/account_ref", "journal account_ref != split", n)
            if h["bank_code"] is not None:
                self.add("TYPE_RULE", f"{ptr}/bank_code", "bank on a journal", n)
            if cur != "GBP":
                self.add("CURRENCY", f"{ptr}/currency", "journal not in GBP", n)
        if h["allocations"] and t not in SOURCES:
            self.add("TYPE_RULE", f"{ptr}/allocations", "allocations on a non-source", n)

    # -- double entry ------------------------------------------------------------------------

    def postings(self) -> None:
        """Apply the postings of §8.4 to every live header; compare with the stated balances."""
        role = self.role
        debtors = role.get("debtors_control", "")
        creditors = role.get("creditors_control", "")
        stax = role.get("sales_tax_control", "")
        ptax = role.get("purchase_tax_control", "")
        moved: dict[str, Decimal] = defaultdict(lambda: ZERO)
        total_debit = total_credit = ZERO

        def post(code: str, amount: Decimal) -> None:
            nonlocal total_debit, total_credit
            moved[code] += amount
            if amount > 0:
                total_debit += amount
            else:
                total_credit -= amount

        for h in self.doc["transactions"]:
            if h["deleted"] is True:
                continue
            t = h["type"]
            _, _, gross = self.amounts[id(h)]
            lines = [
                (s["nominal_code"], self._split_money(s["net"]), self._split_money(s["tax"]))
                for s in h["splits"]
            ]
            if t in ("SI", "BR", "CR", "VR"):
                post(debtors if t == "SI" else h["account_ref"], gross)
                for code, net, tax in lines:
                    post(code, -net)
                    post(stax, -tax)
            elif t in ("SC", "SD"):
                post(debtors, -gross)
                for code, net, tax in lines:
                    post(code, net)
                    post(stax, tax)
            elif t in ("PI", "BP", "CP", "VP"):
                post(creditors if t == "PI" else h["account_ref"], -gross)
                for code, net, tax in lines:
                    post(code, net)
                    post(ptax, tax)
            elif t in ("PC", "PD"):
                post(creditors, gross)
                for code, net, tax in lines:
                    post(code, -net)
                    post(ptax, -tax)
            elif t in ("SR", "SA"):
                post(h["bank_code"], gross)
                post(debtors, -gross)
            elif t == "SP":
                post(debtors, gross)
                post(h["bank_code"], -gross)
            elif t in ("PP", "PA"):
                post(creditors, gross)
                post(h["bank_code"], -gross)
            elif t == "PR":
                post(h["bank_code"], gross)
                post(creditors, -gross)
            elif t == "JD":
                post(h["splits"][0]["nominal_code"], lines[0][1])
            elif t == "JC":
                post(h["splits"][0]["nominal_code"], -lines[0][1])
        if total_debit != total_credit:
            self.add(
                "TRAIL_UNBALANCED", "/transactions", f"debits {total_debit} credits {total_credit}"
            )
        self.closing = {}
        for i, acc in enumerate(self.doc["nominal_accounts"]):
            code = acc["code"]
            closing = self.tb.get(code, ZERO) + moved.get(code, ZERO)
            self.closing[code] = closing
            if acc.get("balance") is not None and Decimal(acc["balance"]) != closing:
                self.add(
                    "NOMINAL_BALANCE_MISMATCH",
                    f"/nominal_accounts/{i}/balance",
                    f"{code}: stated {acc['balance']} computed {closing}",
                )

    @staticmethod
    def _split_money(value: Any) -> Decimal:
        return Decimal(value) if isinstance(value, str) else Decimal(str(value))

    # -- allocations and outstanding ---------------------------------------------------------

    def allocations(self) -> None:
        items: list[tuple[str, dict[str, Any], bool]] = [(p, it, True) for p, it in self.open_items]
        items += [(f"/transactions/{i}", h, False) for i, h in enumerate(self.doc["transactions"])]
        incoming: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for ptr, item, is_open in items:
            n = item["header_number"]
            if not is_open and item["deleted"] is True:
                if item["allocations"]:
                    self.add(
                        "ALLOCATION_INVALID", f"{ptr}/allocations", "deleted with allocations", n
                    )
                continue
            ledger = "S" if item["type"] in S_TYPES else "P"
            item_date = self.dates.get(id(item)) if not is_open else _safe_date(item["date"])
            for j, alloc in enumerate(item["allocations"]):
                ap = f"{ptr}/allocations/{j}"
                amount = self.money(alloc["amount"], f"{ap}/amount", n)
                alloc_date = self.day(alloc["date"], f"{ap}/date", n)
                if amount <= 0:
                    self.add("ALLOCATION_INVALID", ap, "amount <= 0", n)
                found = self.by_number.get(alloc["header_number"])
                if found is None:
                    self.add("ALLOCATION_INVALID", ap, "target missing", n)
                    continue
                _, target = found
                t_type = target["type"]
                valid_types = {"SI", "SP"} if ledger == "S" else {"PI", "PR"}
                if (
                    target.get("deleted") is True
                    or t_type not in valid_types
                    or target["account_ref"] != item["account_ref"]
                    or target["currency"] != item["currency"]
                ):
                    self.add("ALLOCATION_INVALID", ap, f"bad target {alloc['header_number']}", n)
                    continue
                incoming[alloc["header_number"]] += amount
                target_date = (
                    self.dates.get(id(target))
                    if "deleted" in target
                    else _safe_date(target["date"])
                )
                if alloc_date and any(d and alloc_date < d for d in (item_date, target_date)):
                    self.add("ALLOCATION_DATE", ap, "allocation before an item", n, "warning")
        balances: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
        ledger_value: dict[str, Decimal] = defaultdict(lambda: ZERO)
        foreign_items: dict[str, int] = defaultdict(int)
        for ptr, item, is_open in items:
            n = item["header_number"]
            t = item["type"]
            if not is_open and item["deleted"] is True:
                if _safe_money(item["outstanding"]) != 0:
                    self.add(
                        "OUTSTANDING_MISMATCH", f"{ptr}/outstanding", "deleted with outstanding", n
                    )
                continue
            own = sum((_safe_money(a["amount"]) for a in item["allocations"]), ZERO)
            if is_open:
                cap = _safe_money(item["outstanding"])
            elif item["currency"] != "GBP" and item.get("foreign_gross") is not None:
                cap = _safe_money(item["foreign_gross"])
            else:
                cap = self.amounts[id(item)][2]
            if t in SOURCES:
                used = own
            elif t in TARGETS:
                used = incoming.get(n, ZERO)
            else:
                used = None
            if used is not None and used > cap:
                self.add("OVER_ALLOCATION", f"{ptr}/allocations", f"{used} > cap {cap}", n)
            if not is_open:
                stated = _safe_money(item["outstanding"])
                expected = cap - used if used is not None else ZERO
                if used is None:
                    status = "paid"
                else:
                    status = "paid" if expected == 0 else "unpaid" if expected == cap else "part"
                if stated != expected or item["paid_status"] != status:
                    self.add(
                        "OUTSTANDING_MISMATCH",
                        f"{ptr}/outstanding",
                        f"stated {stated}/{item['paid_status']} expected {expected}/{status}",
                        n,
                    )
            if used is None:
                continue
            current = cap - used
            ledger = "S" if t in S_TYPES else "P"
            sign = -1 if t in SOURCES else 1
            balances[(ledger, item["account_ref"])] += sign * current
            if item["currency"] == "GBP":
                value = current
            else:
                if current:
                    foreign_items[ledger] += 1
                value = rnd(current / Decimal(item["exchange_rate"]))
            ledger_value[ledger] += sign * value
        for ledger, key in (("S", "customers"), ("P", "suppliers")):
            for i, party in enumerate(self.doc[key]):
                if party.get("balance") is None:
                    continue
                computed = balances.get((ledger, party["account_ref"]), ZERO)
                if Decimal(party["balance"]) != computed:
                    self.add(
                        "ACCOUNT_BALANCE_MISMATCH",
                        f"/{key}/{i}/balance",
                        f"{party['account_ref']}: stated {party['balance']} computed {computed}",
                    )
        if self.doc["history_mode"] == "records_only":
            return
        for ledger, role, sign in (("S", "debtors_control", 1), ("P", "creditors_control", -1)):
            control = self.closing.get(self.role.get(role, ""), ZERO) * sign
            tolerance = CENT * foreign_items[ledger]
            if abs(control - ledger_value[ledger]) > tolerance:
                self.add(
                    "LEDGER_CONTROL_MISMATCH",
                    "/nominal_accounts",
                    f"{role} {control} vs ledger {ledger_value[ledger]} (tolerance {tolerance})",
                    severity="warning",
                )


def _safe_money(value: Any) -> Decimal:
    try:
        return Decimal(value) if isinstance(value, str) else Decimal(str(value))
    except ArithmeticError:  # pragma: no cover - malformed input
        return ZERO


def _safe_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def check(doc: dict[str, Any], *, strict: bool = False) -> list[Finding]:
    """Return every finding for a parsed sage50-json document (empty when it is valid)."""
    return _Checker(doc, strict).run()


def errors(findings: Iterable[Finding]) -> list[Finding]:
    """Only the error findings."""
    return [f for f in findings if f.severity == "error"]


def resolve_pointer(doc: Any, pointer: str) -> Any:
    """Follow an RFC 6901 JSON Pointer; raise KeyError or IndexError when it does not exist."""
    node = doc
    if pointer == "":
        return node
    for raw in pointer.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def check_layout(path: str | Path) -> list[str]:
    """Problems with the physical layout the generator promises: UTF-8 without BOM, compact
    JSON, one transaction per line inside the transactions array."""
    raw = Path(path).read_bytes()
    problems = []
    if raw.startswith(b"\xef\xbb\xbf"):
        problems.append("BOM present")
    text = raw.decode("utf-8")
    if "\\u00" in text:
        problems.append("non-ASCII characters escaped")
    marker = '"transactions":[\n'
    start = text.find(marker)
    if start < 0:
        if '"transactions":[]' not in text:
            problems.append("transactions array not found")
        return problems
    body = text[start + len(marker) :]
    end = body.rfind("\n]}")
    lines = body[:end].split("\n")
    for k, line in enumerate(lines):
        item = line[:-1] if line.endswith(",") else line
        if not (item.startswith('{"header_number":') and item.endswith("}")):
            problems.append(f"line {k} is not one transaction")
            break
        if (k < len(lines) - 1) != line.endswith(","):
            problems.append(f"line {k} separator")
            break
    return problems
