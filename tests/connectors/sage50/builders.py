"""A small, fully consistent sage50-json 1.0 company for the validator tests.

Kestrel Joinery Ltd (Sheffield) has GBP customers and suppliers, one customer in EUR, two banks,
opening balances with open items, and an audit trail with every kind of header the validator
knows.  Each transaction is written through a helper that also records its double entry, so the
stated nominal and account balances are derived here, independently of the validator.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

CENT = Decimal("0.01")
AS_OF = "2024-03-31"
EXPORTED_AT = "2024-07-01T09:30:00+01:00"
EUR_RATE = Decimal("1.15")

RATES = {"T0": "0.00", "T1": "20.00", "T2": "0.00", "T5": "5.00", "T9": "0.00"}
ROLES = {
    "debtors_control": "1100",
    "creditors_control": "2100",
    "sales_tax_control": "2200",
    "purchase_tax_control": "2201",
}


def money(value: Decimal | int | str) -> str:
    """Two-decimal text, as the format writes amounts."""
    return str(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class _Book:
    """Writes transactions and keeps the double entry and open amounts they imply."""

    def __init__(self) -> None:
        self.transactions: list[dict[str, Any]] = []
        self.postings: dict[str, Decimal] = defaultdict(Decimal)
        self.next_split = 1

    def post(self, code: str, amount: Decimal) -> None:
        self.postings[code] += amount

    def header(self, hn: int, kind: str, account: str, date: str, **extra: Any) -> dict[str, Any]:
        header: dict[str, Any] = {
            "header_number": hn,
            "type": kind,
            "account_ref": account,
            "bank_code": None,
            "journal_group": None,
            "date": date,
            "due_date": None,
            "reference": f"REF{hn}",
            "extra_reference": "",
            "details": f"{kind} {account}",
            "currency": "GBP",
            "exchange_rate": "1",
            "net": "0.00",
            "tax": "0.00",
            "gross": "0.00",
            "outstanding": "0.00",
            "paid_status": "paid",
            "deleted": False,
            "user_name": "MANAGER",
            "splits": [],
            "allocations": [],
        }
        header.update(extra)
        self.transactions.append(header)
        return header

    def split(
        self,
        nominal: str,
        net: Decimal,
        tax_code: str,
        dept: int = 0,
        foreign_net: Decimal | None = None,
    ) -> dict[str, Any]:
        rate = Decimal(RATES[tax_code])
        split: dict[str, Any] = {
            "split_number": self.next_split,
            "nominal_code": nominal,
            "department": dept,
            "details": f"Line {self.next_split}",
            "net": money(net),
            "tax_code": tax_code,
            "tax": money(_round(net * rate / 100)),
        }
        if foreign_net is not None:
            split["foreign_net"] = money(foreign_net)
            split["foreign_tax"] = "0.00"
        self.next_split += 1
        return split

    def lines(self, header: dict[str, Any], splits: list[dict[str, Any]]) -> None:
        header["splits"] = splits
        net = sum(Decimal(s["net"]) for s in splits)
        tax = sum(Decimal(s["tax"]) for s in splits)
        header.update(net=money(net), tax=money(tax), gross=money(net + tax))
        if header["currency"] != "GBP":
            fnet = sum(Decimal(s["foreign_net"]) for s in splits)
            header.update(foreign_net=money(fnet), foreign_tax="0.00", foreign_gross=money(fnet))

    # -- typed writers: each posts what docs/formats/sage50-json.md §8.4 says -------------

    def invoice(
        self,
        hn: int,
        kind: str,
        account: str,
        date: str,
        due: str | None,
        splits: list[dict[str, Any]],
        **extra: Any,
    ) -> dict[str, Any]:
        """SI, SC, PI or PC."""
        header = self.header(hn, kind, account, date, due_date=due, **extra)
        self.lines(header, splits)
        if not header["deleted"]:
            sales = kind.startswith("S")
            credit_lines = kind in ("SI", "PC")
            line_sign = Decimal(-1 if credit_lines else 1)
            control = ROLES["debtors_control" if sales else "creditors_control"]
            vat = ROLES["sales_tax_control" if sales else "purchase_tax_control"]
            for split in splits:
                self.post(split["nominal_code"], line_sign * Decimal(split["net"]))
                self.post(vat, line_sign * Decimal(split["tax"]))
            self.post(control, -line_sign * Decimal(header["gross"]))
        return header

    def payment(
        self,
        hn: int,
        kind: str,
        account: str,
        date: str,
        bank: str,
        amount: Decimal,
        foreign: Decimal | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """SR, SA, SP, PP, PA or PR through ``bank``."""
        header = self.header(hn, kind, account, date, bank_code=bank, **extra)
        self.lines(header, [self.split(bank, amount, "T9", foreign_net=foreign)])
        control = ROLES["debtors_control" if kind.startswith("S") else "creditors_control"]
        bank_sign = Decimal(1 if kind in ("SR", "SA", "PR") else -1)
        self.post(bank, bank_sign * amount)
        self.post(control, -bank_sign * amount)
        return header

    def bank_entry(
        self, hn: int, kind: str, bank: str, date: str, splits: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """BP, BR, CP or CR on ``bank``."""
        header = self.header(hn, kind, bank, date, bank_code=bank)
        self.lines(header, splits)
        receipt = kind.endswith("R")
        line_sign = Decimal(-1 if receipt else 1)
        vat = ROLES["sales_tax_control" if receipt else "purchase_tax_control"]
        for split in splits:
            self.post(split["nominal_code"], line_sign * Decimal(split["net"]))
            self.post(vat, line_sign * Decimal(split["tax"]))
        self.post(bank, -line_sign * Decimal(header["gross"]))
        return header

    def journal(self, first_hn: int, date: str, lines: list[tuple[str, str, Decimal]]) -> None:
        """One journal: (JD|JC, nominal, amount) lines numbered from ``first_hn``."""
        for n, (kind, nominal, amount) in enumerate(lines):
            header = self.header(first_hn + n, kind, nominal, date, journal_group=first_hn)
            self.lines(header, [self.split(nominal, amount, "T9")])
            self.post(nominal, amount if kind == "JD" else -amount)


def _alloc(target: int, amount: str, date: str) -> dict[str, Any]:
    return {"header_number": target, "amount": amount, "date": date}


def _chart() -> list[dict[str, Any]]:
    rows = [
        ("0030", "Workshop Machinery", "fixed_assets", None),
        ("1100", "Debtors Control Account", "current_assets", "debtors_control"),
        ("1200", "Bank Current Account", "current_assets", None),
        ("1230", "Petty Cash", "current_assets", None),
        ("2100", "Creditors Control Account", "liabilities", "creditors_control"),
        ("2200", "Sales Tax Control Account", "liabilities", "sales_tax_control"),
        ("2201", "Purchase Tax Control Account", "liabilities", "purchase_tax_control"),
        ("2202", "VAT Liability", "liabilities", "vat_liability"),
        ("3000", "Ordinary Shares", "capital", None),
        ("3200", "Profit and Loss Account", "capital", "retained_earnings"),
        ("4000", "Sales - Joinery", "sales", "default_sales"),
        ("4009", "Discounts Allowed", "sales", "sales_discount"),
        ("4900", "Sales - Export", "sales", None),
        ("5000", "Timber and Materials", "purchases", None),
        ("5009", "Discounts Taken", "purchases", "purchase_discount"),
        ("7100", "Rent", "overheads", None),
        ("7502", "Telephone", "overheads", None),
        ("7906", "Exchange Rate Variance", "overheads", "exchange_variance"),
        ("9998", "Suspense Account", "overheads", "suspense"),
        ("9999", "Mispostings Account", "overheads", "mispostings"),
    ]
    return [
        {"code": c, "name": n, "type": t, "control_role": r, "inactive": False, "balance": None}
        for c, n, t, r in rows
    ]


def _tax_codes() -> list[dict[str, Any]]:
    names = {
        "T0": "Zero rated",
        "T1": "Standard rate",
        "T2": "Exempt",
        "T5": "Lower rate",
        "T9": "Outside the scope of VAT",
    }
    return [
        {
            "code": code,
            "rate": rate,
            "description": names[code],
            "in_vat_return": code != "T9",
            "ec_sales": False,
            "ec_purchases": False,
            "ec_type": None,
            "reverse_charge": False,
        }
        for code, rate in RATES.items()
    ]


def _party(
    ref: str,
    name: str,
    currency: str = "GBP",
    country: str = "GB",
    nominal: str = "4000",
    tax_code: str = "T1",
) -> dict[str, Any]:
    return {
        "account_ref": ref,
        "name": name,
        "address_1": "1 High Street",
        "address_2": "",
        "address_3": "Sheffield",
        "address_4": "South Yorkshire",
        "address_5": "S1 2AB",
        "country_code": country,
        "contact_name": "Accounts",
        "telephone": "0114 496 0000",
        "email": f"accounts@{ref.lower()}.example",
        "vat_number": "",
        "credit_limit": "5000.00",
        "payment_due_days": 30,
        "default_nominal": nominal,
        "default_tax_code": tax_code,
        "currency": currency,
        "terms_agreed": True,
        "inactive": False,
        "balance": None,
    }


def _open_item(hn: int, kind: str, ref: str, date: str, gross: str, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "header_number": hn,
        "type": kind,
        "account_ref": ref,
        "date": date,
        "due_date": None,
        "reference": f"OB{hn}",
        "details": "Opening balance",
        "currency": "GBP",
        "exchange_rate": "1",
        "gross": gross,
        "outstanding": gross,
        "base_outstanding": gross,
        "allocations": [],
    }
    item.update(extra)
    return item


def _opening_balances() -> dict[str, Any]:
    tb = [
        ("0030", "5000.00", "0.00"),
        ("1100", "900.00", "0.00"),  # open items: SI 1 1200.00 less SA 2 300.00
        ("1200", "8000.00", "0.00"),
        ("2100", "0.00", "960.00"),  # open item: PI 3
        ("2200", "0.00", "1500.00"),
        ("2201", "400.00", "0.00"),
        ("3000", "0.00", "100.00"),
        ("3200", "0.00", "11740.00"),
    ]
    return {
        "as_of": AS_OF,
        "trial_balance": [{"nominal_code": c, "debit": d, "credit": k} for c, d, k in tb],
        "customer_open_items": [
            _open_item(1, "SI", "BRAMBLE", "2024-03-10", "1200.00", due_date="2024-04-09"),
            _open_item(
                2,
                "SA",
                "OAKLEY",
                "2024-03-25",
                "300.00",
                allocations=[_alloc(12, "300.00", "2024-04-12")],
            ),
        ],
        "supplier_open_items": [
            _open_item(3, "PI", "TIMBERCO", "2024-03-15", "960.00", due_date="2024-04-14"),
        ],
    }


def _trail(book: _Book) -> None:
    s = book.split
    book.invoice(
        10,
        "SI",
        "BRAMBLE",
        "2024-04-02",
        "2024-05-02",
        [s("4000", Decimal("1000"), "T1", 1), s("4000", Decimal("250"), "T1", 2)],
    )
    book.payment(
        11,
        "SR",
        "BRAMBLE",
        "2024-04-05",
        "1200",
        Decimal("1200"),
        allocations=[_alloc(1, "1200.00", "2024-04-05")],
    )
    book.invoice(
        12, "SI", "OAKLEY", "2024-04-08", "2024-05-08", [s("4000", Decimal("500"), "T1", 1)]
    )
    book.invoice(
        13,
        "SC",
        "OAKLEY",
        "2024-04-10",
        None,
        [s("4000", Decimal("50"), "T1", 1)],
        allocations=[_alloc(12, "60.00", "2024-04-10")],
    )
    eur = {"currency": "EUR", "exchange_rate": "1.15"}
    book.invoice(
        14,
        "SI",
        "LUMIERE",
        "2024-04-15",
        "2024-05-30",
        [s("4900", _round(Decimal("2300") / EUR_RATE), "T0", 2, Decimal("2300"))],
        **eur,
    )
    book.payment(
        15,
        "SR",
        "LUMIERE",
        "2024-04-20",
        "1200",
        Decimal("1000.00"),
        Decimal("1150"),
        allocations=[_alloc(14, "1150.00", "2024-04-20")],
        **eur,
    )
    book.payment(
        16,
        "SA",
        "BRAMBLE",
        "2024-04-25",
        "1200",
        Decimal("200"),
        allocations=[_alloc(17, "50.00", "2024-04-28")],
    )
    book.payment(17, "SP", "BRAMBLE", "2024-04-28", "1200", Decimal("50"))
    book.invoice(
        20,
        "PI",
        "TIMBERCO",
        "2024-04-03",
        "2024-05-03",
        [s("5000", Decimal("800"), "T1", 1), s("5000", Decimal("100"), "T5", 1)],
    )
    book.payment(
        21,
        "PP",
        "TIMBERCO",
        "2024-04-10",
        "1200",
        Decimal("1460"),
        allocations=[_alloc(3, "960.00", "2024-04-10"), _alloc(20, "500.00", "2024-04-10")],
    )
    book.invoice(
        22, "PI", "PENNINE", "2024-04-11", "2024-05-11", [s("5000", Decimal("200"), "T1", 2)]
    )
    book.invoice(
        23,
        "PC",
        "PENNINE",
        "2024-04-14",
        None,
        [s("5000", Decimal("20"), "T1", 2)],
        allocations=[_alloc(22, "24.00", "2024-04-14")],
    )
    book.payment(
        24,
        "PA",
        "PENNINE",
        "2024-04-20",
        "1200",
        Decimal("100"),
        allocations=[_alloc(22, "100.00", "2024-04-20")],
    )
    book.payment(25, "PR", "PENNINE", "2024-04-25", "1200", Decimal("30"))
    book.payment(
        26,
        "PA",
        "PENNINE",
        "2024-04-26",
        "1200",
        Decimal("80"),
        allocations=[_alloc(25, "30.00", "2024-04-26")],
    )
    book.bank_entry(27, "BP", "1200", "2024-04-30", [s("7100", Decimal("1000"), "T2")])
    book.bank_entry(28, "BR", "1200", "2024-05-02", [s("4000", Decimal("100"), "T1", 2)])
    book.bank_entry(29, "CP", "1230", "2024-05-03", [s("7502", Decimal("25"), "T1")])
    book.journal(30, "2024-05-04", [("JC", "1200", Decimal("200")), ("JD", "1230", Decimal("200"))])
    book.journal(
        32,
        "2024-05-10",
        [
            ("JD", "2200", Decimal("1500")),
            ("JC", "2201", Decimal("400")),
            ("JC", "2202", Decimal("1100")),
        ],
    )
    book.invoice(
        35,
        "SI",
        "BRAMBLE",
        "2024-05-12",
        "2024-06-11",
        [s("4000", Decimal("10"), "T1")],
        deleted=True,
    )
    book.payment(
        36,
        "SR",
        "BRAMBLE",
        "2024-05-20",
        "1200",
        Decimal("1000"),
        allocations=[_alloc(10, "1000.00", "2024-05-20")],
    )
    book.transactions[-1]["bank_reconciled_on"] = "2024-05-21"  # optional key, in use


def _settle(doc: dict[str, Any]) -> None:
    """Fill in outstanding and paid_status from the allocations.

    The rules are those of docs/formats/sage50-json.md §10.
    """
    opening = doc["opening_balances"]
    open_items = opening["customer_open_items"] + opening["supplier_open_items"]
    allocated: dict[int, Decimal] = defaultdict(Decimal)
    for source in [*doc["transactions"], *open_items]:
        for alloc in source["allocations"]:
            allocated[alloc["header_number"]] += Decimal(alloc["amount"])
    for t in doc["transactions"]:
        if t["deleted"] or t["type"] in ("BP", "BR", "CP", "CR", "JD", "JC"):
            continue
        cap = Decimal(t.get("foreign_gross") or t["gross"])
        if t["type"] in ("SI", "SP", "PI", "PR"):
            out = cap - allocated[t["header_number"]]
        else:
            out = cap - sum(Decimal(a["amount"]) for a in t["allocations"])
        t["outstanding"] = money(out)
        t["paid_status"] = "paid" if out == 0 else "unpaid" if out == cap else "part"


def _state_balances(doc: dict[str, Any], book: _Book) -> None:
    """Closing nominal balances (TB + postings) and account balances (current outstanding)."""
    tb = {
        line["nominal_code"]: Decimal(line["debit"]) - Decimal(line["credit"])
        for line in doc["opening_balances"]["trial_balance"]
    }
    for account in doc["nominal_accounts"]:
        code = account["code"]
        account["balance"] = money(tb.get(code, Decimal(0)) + book.postings.get(code, Decimal(0)))
    opening = doc["opening_balances"]
    allocated: dict[int, Decimal] = defaultdict(Decimal)
    for source in [
        *doc["transactions"],
        *opening["customer_open_items"],
        *opening["supplier_open_items"],
    ]:
        for alloc in source["allocations"]:
            allocated[alloc["header_number"]] += Decimal(alloc["amount"])
    balances: dict[str, Decimal] = defaultdict(Decimal)
    for t in doc["transactions"]:
        if not t["deleted"] and t["type"] not in ("BP", "BR", "CP", "CR", "JD", "JC"):
            sign = 1 if t["type"] in ("SI", "SP", "PI", "PR") else -1
            balances[t["type"][0] + t["account_ref"]] += sign * Decimal(t["outstanding"])
    for item in opening["customer_open_items"] + opening["supplier_open_items"]:
        target = item["type"] in ("SI", "SP", "PI", "PR")
        used = (
            allocated[item["header_number"]]
            if target
            else sum(Decimal(a["amount"]) for a in item["allocations"])
        )
        current = Decimal(item["outstanding"]) - used
        balances[item["type"][0] + item["account_ref"]] += current if target else -current
    for ledger, key in (("S", "customers"), ("P", "suppliers")):
        for party in doc[key]:
            party["balance"] = money(balances[ledger + party["account_ref"]])


def valid_document() -> dict[str, Any]:
    """A fresh, valid sage50-json 1.0 document (a new copy on every call)."""
    book = _Book()
    _trail(book)
    doc: dict[str, Any] = {
        "format": "sage50-json",
        "format_version": "1.0",
        "history_mode": "full_history",
        "company": {
            "name": "Kestrel Joinery Ltd",
            "registration": "12345678",
            "vat_number": "GB123456789",
            "address_1": "Unit 7, Attercliffe Works",
            "address_2": "Effingham Road",
            "address_3": "Sheffield",
            "address_4": "South Yorkshire",
            "address_5": "S4 7YQ",
            "country_code": "GB",
            "base_currency": "GBP",
            "financial_year_start": {"month": 4, "day": 1},
            "vat_scheme": "standard",
            "flat_rate_percent": None,
            "sage50_version": "30.1.0.123",
            "exported_at": EXPORTED_AT,
        },
        "nominal_accounts": _chart(),
        "departments": [{"number": 1, "name": "Workshop"}, {"number": 2, "name": "Installation"}],
        "tax_codes": _tax_codes(),
        "bank_accounts": [
            {
                "nominal_code": "1200",
                "name": "Bank Current Account",
                "bank_type": "current",
                "bank_name": "Northern Counties Bank",
                "sort_code": "40-11-22",
                "account_number": "12345678",
                "iban": None,
                "bic": None,
                "currency": "GBP",
                "inactive": False,
            },
            {
                "nominal_code": "1230",
                "name": "Petty Cash",
                "bank_type": "cash",
                "bank_name": None,
                "sort_code": None,
                "account_number": None,
                "iban": None,
                "bic": None,
                "currency": "GBP",
                "inactive": False,
            },
        ],
        "customers": [
            _party("BRAMBLE", "Bramble Homes Ltd"),
            _party("OAKLEY", "Oakley Interiors"),
            _party("LUMIERE", "Atelier Lumière SARL", "EUR", "FR", "4900", "T0"),
        ],
        "suppliers": [
            _party("TIMBERCO", "Timberco Supplies Ltd", nominal="5000"),
            _party("PENNINE", "Pennine Tools & Fixings", nominal="5000"),
        ],
        "products": [
            {
                "stock_code": "OAK-DOOR-762",
                "description": "Oak door 762mm",
                "item_type": "stock",
                "sales_price": "245.0000",
                "purchase_price": "120.0000",
                "unit_of_sale": "Each",
                "nominal_code": "4000",
                "purchase_nominal_code": "5000",
                "tax_code": "T1",
                "supplier_ref": "TIMBERCO",
                "inactive": False,
            },
            {
                "stock_code": "FITTING-HR",
                "description": "Fitting, per hour",
                "item_type": "service",
                "sales_price": "38.50",
                "purchase_price": None,
                "unit_of_sale": "Hour",
                "nominal_code": "4000",
                "purchase_nominal_code": None,
                "tax_code": "T1",
                "supplier_ref": None,
                "inactive": False,
            },
        ],
        "opening_balances": _opening_balances(),
        "transactions": book.transactions,
    }
    _settle(doc)
    _state_balances(doc, book)
    return copy.deepcopy(doc)


def write(doc: Any, path: Path, **dump_options: Any) -> Path:
    """Write ``doc`` as UTF-8 JSON (no BOM) and return ``path``."""
    path.write_text(json.dumps(doc, ensure_ascii=False, **dump_options), encoding="utf-8")
    return path


def transaction(doc: dict[str, Any], header_number: int) -> dict[str, Any]:
    """The transaction with ``header_number``."""
    return next(t for t in doc["transactions"] if t["header_number"] == header_number)


def index_of(doc: dict[str, Any], header_number: int) -> int:
    """The position of the transaction with ``header_number`` in ``transactions``."""
    return next(n for n, t in enumerate(doc["transactions"]) if t["header_number"] == header_number)
