"""A second Sage 50 export producer, written from docs/formats/sage50-json.md alone.

    python benchmarks/foreign.py OUT.json -n 100000 --seed 17 --layout compact
    python benchmarks/foreign.py OUT.json -n 100000 --layout pretty --changed 0.1

The benchmarks must not measure only files our own generator writes: its shape (one transaction
per line, about 1.5 splits a transaction, a few hundred accounts) is the one the source was tuned
for. This writer does not import ``migrationkit`` at all. Its files follow the format but differ
from the generator's where a real exporter may:

* far more reference data: a customer per 15 transactions, a supplier per 60 and a product per
  40 (6,667 customers at 100k, ten times the generator's), account references of another shape;
* about 1.7 splits a transaction (invoices of one to six lines);
* another key order, in the document and in every record, with optional keys sometimes present
  and sometimes left out (``balance``, ``inactive``, ``user_name``, ``bank_reconciled_on``,
  ``foreign_*``, ``ec_type``, contact fields), and no stated balances at all;
* two layouts: ``compact``, the whole document on one line with no spaces, and ``pretty``,
  indented by two spaces as ``json.dump(..., indent=2)`` writes it.

It streams: transactions are written as they are made, and what is kept is the reference data
and the settlements still to come (a few thousand at most), so a million transactions take no
more memory than ten thousand. It is seeded: the same arguments write the same bytes.
``--changed 0.1`` writes the same company with every tenth transaction's details amended, the
copy the delta benchmark needs.

Every file is valid (``migrationkit validate`` reports no error and no warning): GBP only, every
header's totals the sums of its splits, VAT worked out line by line, journals balanced,
settlements scheduled when the invoice is written so that its ``outstanding`` is known then.
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, TextIO

CENT = Decimal("0.01")
SPAN_DAYS = 1095
START = dt.date(2021, 5, 1)

# (code, name, type, role) of the chart; types follow the code (format §5.1).
CHART = [
    ("0010", "Freehold Property", "fixed_assets", None),
    ("0030", "Office Equipment", "fixed_assets", None),
    ("0050", "Motor Vehicles", "fixed_assets", None),
    ("1001", "Stock", "current_assets", None),
    ("1100", "Trade Debtors", "current_assets", "debtors_control"),
    ("1200", "Current Account", "current_assets", None),
    ("1210", "Reserve Account", "current_assets", None),
    ("1230", "Cash in Hand", "current_assets", None),
    ("1240", "Business Card", "current_assets", None),
    ("2100", "Trade Creditors", "liabilities", "creditors_control"),
    ("2200", "VAT Output", "liabilities", "sales_tax_control"),
    ("2201", "VAT Input", "liabilities", "purchase_tax_control"),
    ("2202", "VAT Due", "liabilities", "vat_liability"),
    ("2300", "Loans", "liabilities", None),
    ("3000", "Share Capital", "capital", None),
    ("3200", "Retained Profit", "capital", "retained_earnings"),
    ("4000", "Sales - Fabrication", "sales", "default_sales"),
    ("4010", "Sales - Installation", "sales", None),
    ("4020", "Sales - Repairs", "sales", None),
    ("4030", "Sales - Export", "sales", None),
    ("4900", "Sundry Income", "sales", None),
    ("5000", "Steel Purchases", "purchases", None),
    ("5010", "Fixings and Consumables", "purchases", None),
    ("5100", "Carriage Inwards", "purchases", None),
    ("6000", "Subcontract Labour", "direct_expenses", None),
    ("7000", "Wages", "overheads", None),
    ("7100", "Rent", "overheads", None),
    ("7200", "Electricity", "overheads", None),
    ("7500", "Office Costs", "overheads", None),
    ("7600", "Professional Fees", "overheads", None),
    ("7900", "Bank Charges", "overheads", None),
    ("8200", "Sundry Expenses", "overheads", None),
    ("9998", "Suspense", "overheads", "suspense"),
    ("9999", "Mispostings", "overheads", "mispostings"),
]
SALES = ["4000", "4010", "4020", "4030", "4900"]
PURCHASES = ["5000", "5010", "5100", "6000"]
OVERHEADS = ["7100", "7200", "7500", "7600", "7900", "8200"]
# (code, rate, description, in VAT return); no EC or reverse-charge codes, whose tax is nil.
TAX = [
    ("T0", "0.00", "Zero rated", True),
    ("T1", "20.00", "Standard rate", True),
    ("T2", "0.00", "Exempt", True),
    ("T5", "5.00", "Reduced rate", True),
    ("T9", "0.00", "Outside the scope of VAT", False),
]
RATES = {code: Decimal(rate) for code, rate, _d, _v in TAX}
SALE_CODES = ["T1"] * 8 + ["T0", "T5"]
# (nominal, name, bank type): the bank takes BP/BR, the cash box CP/CR, the card VP/VR.
BANKS = [
    ("1200", "Current Account", "current"),
    ("1210", "Reserve Account", "current"),
    ("1230", "Cash in Hand", "cash"),
    ("1240", "Business Card", "credit_card"),
]
PAY_TYPE = {"current": ("BP", "BR"), "cash": ("CP", "CR"), "credit_card": ("VP", "VR")}
WORDS = [
    "steel",
    "beam",
    "bracket",
    "gate",
    "rail",
    "panel",
    "frame",
    "hinge",
    "plate",
    "bolt",
    "weld",
    "repair",
    "install",
    "survey",
    "stair",
    "balustrade",
    "canopy",
    "shelter",
    "bollard",
    "mesh",
    "grille",
    "cladding",
    "door",
    "hatch",
    "ladder",
]
TOWNS = ["Leeds", "Bradford", "Hull", "York", "Wakefield", "Halifax", "Harrogate", "Doncaster"]
FIRST = ["Amelia", "Oliver", "Isla", "George", "Ava", "Harry", "Mia", "Jack", "Zoë", "Noah"]


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, ROUND_HALF_UP))


def vat(net: Decimal, code: str) -> Decimal:
    return (net * RATES[code] / 100).quantize(CENT, ROUND_HALF_UP)


@dataclass(order=True)
class Settlement:
    """A receipt, payment or credit note that settles an invoice written earlier."""

    due: int
    kind: str = field(compare=False)  # SR, SC, PP
    account: str = field(compare=False)
    target: int = field(compare=False)
    amount: Decimal = field(compare=False)
    net: Decimal = field(compare=False, default=Decimal(0))  # a credit note's net


class Writer:
    """Makes the company and its trail; :meth:`trail` yields headers in file order."""

    def __init__(self, transactions: int, seed: int) -> None:
        self.n = transactions
        self.rng = random.Random(seed)
        self.customers = [self._ref("C", i) for i in range(max(60, transactions // 15))]
        self.suppliers = [self._ref("S", i) for i in range(max(30, transactions // 60))]
        self.products = max(40, transactions // 40)
        self.pending: list[Settlement] = []
        self.header = 0
        self.split = 0

    @staticmethod
    def _ref(prefix: str, number: int) -> str:
        # A/C references of another producer: letter, a dash and six digits (8 characters).
        return f"{prefix}-{number:06d}"

    def date(self, index: int) -> dt.date:
        return START + dt.timedelta(days=index * SPAN_DAYS // max(self.n, 1))

    # -- reference data ---------------------------------------------------------------------
    def company(self) -> dict[str, Any]:
        end = self.date(self.n) + dt.timedelta(days=2)
        return {
            "name": "Northgate Fabrication & Install Ltd",
            "base_currency": "GBP",
            "vat_number": "GB274109385",
            "registration": "07345120",
            "address_1": "Unit 3, Canal Wharf",
            "address_3": "Leeds",
            "address_5": "LS11 5QR",
            "country_code": "GB",
            "vat_scheme": "standard",
            "financial_year_start": {"day": 1, "month": 5},
            "exported_at": f"{end.isoformat()}T06:15:00Z",
            "sage50_version": "29.0.412",
        }

    def nominal_accounts(self) -> list[dict[str, Any]]:
        rows = []
        for code, name, kind, role in CHART:
            row: dict[str, Any] = {"name": name, "code": code, "control_role": role, "type": kind}
            if code in ("0010", "2300"):
                row["inactive"] = False
            rows.append(row)
        return rows

    def tax_codes(self) -> list[dict[str, Any]]:
        rows = []
        for code, rate, description, in_return in TAX:
            row: dict[str, Any] = {
                "code": code,
                "description": description,
                "rate": rate,
                "reverse_charge": False,
                "ec_sales": False,
                "ec_purchases": False,
                "in_vat_return": in_return,
            }
            if code == "T1":
                row["ec_type"] = None
            rows.append(row)
        return rows

    def bank_accounts(self) -> list[dict[str, Any]]:
        rows = []
        for number, (code, name, kind) in enumerate(BANKS):
            row: dict[str, Any] = {
                "name": name,
                "nominal_code": code,
                "currency": "GBP",
                "bank_type": kind,
            }
            if kind == "current":
                row |= {
                    "sort_code": f"40-11-{20 + number:02d}",
                    "account_number": f"{71234560 + number}",
                    "bank_name": "Yorkshire Bank",
                    "iban": None,
                    "bic": None,
                }
            rows.append(row)
        return rows

    def _party(self, ref: str, ledger: str) -> dict[str, Any]:
        rng = self.rng
        name = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} {ref[2:]} Ltd"
        row: dict[str, Any] = {
            "name": name,
            "account_ref": ref,
            "currency": "GBP",
            "inactive": rng.random() < 0.03,
            "payment_due_days": rng.choice((0, 14, 30, 30, 30, 60)),
            "default_tax_code": "T1" if rng.random() < 0.7 else None,
            "default_nominal": rng.choice(SALES if ledger == "S" else PURCHASES)
            if rng.random() < 0.5
            else None,
        }
        if rng.random() < 0.6:
            row |= {
                "address_1": f"{rng.randint(1, 240)} {rng.choice(WORDS).title()} Street",
                "address_3": rng.choice(TOWNS),
                "address_5": f"LS{rng.randint(1, 29)} {rng.randint(1, 9)}AB",
                "country_code": "GB",
            }
        if rng.random() < 0.4:
            row["contact_name"] = f"{rng.choice(FIRST)} {rng.choice(WORDS).title()}"
            row["email"] = f"accounts@{ref.lower().replace('-', '')}.example.co.uk"
        if rng.random() < 0.3:
            row["credit_limit"] = money(Decimal(rng.randint(5, 200) * 500))
            row["terms_agreed"] = True
        if rng.random() < 0.2:
            row["vat_number"] = ""
        return row

    def product(self, number: int) -> dict[str, Any]:
        rng = self.rng
        price = Decimal(rng.randint(100, 250_000)) / 100
        row: dict[str, Any] = {
            "stock_code": f"FAB/{number:05d}",
            "description": f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} {number}",
            "tax_code": "T1",
            "nominal_code": rng.choice(SALES),
            "sales_price": f"{price:.4f}" if number % 3 else f"{price:.2f}",
        }
        if number % 2:
            row |= {
                "item_type": rng.choice(("stock", "non_stock", "service")),
                "purchase_price": f"{price * Decimal('0.6'):.4f}",
                "purchase_nominal_code": rng.choice(PURCHASES),
                "unit_of_sale": rng.choice(("each", "metre", "kg", "hour")),
            }
        if number % 5 == 0:
            row["supplier_ref"] = self.rng.choice(self.suppliers)
        return row

    def opening_balances(self) -> dict[str, Any]:
        as_of = START - dt.timedelta(days=1)
        return {
            "as_of": as_of.isoformat(),
            "trial_balance": [
                {"nominal_code": "1200", "debit": "48250.00", "credit": "0.00"},
                {"nominal_code": "0030", "debit": "12400.00", "credit": "0.00"},
                {"nominal_code": "3000", "debit": "0.00", "credit": "10000.00"},
                {"nominal_code": "3200", "debit": "0.00", "credit": "50650.00"},
            ],
            "customer_open_items": [],
            "supplier_open_items": [],
        }

    # -- the trail --------------------------------------------------------------------------
    def _number(self) -> int:
        self.header += 1
        return self.header

    def _splits(self, count: int, nominals: list[str], codes: list[str]) -> list[dict[str, Any]]:
        rng = self.rng
        rows = []
        for _ in range(count):
            self.split += 1
            code = rng.choice(codes)
            net = Decimal(rng.randint(500, 480_000)) / 100
            row: dict[str, Any] = {
                "nominal_code": rng.choice(nominals),
                "split_number": self.split,
                "net": money(net),
                "tax": money(vat(net, code)),
                "tax_code": code,
                "details": f"{rng.choice(WORDS).title()} {rng.choice(WORDS)}"[:60],
                "department": rng.choice((0, 0, 0, 1, 2, 3, 4)),
            }
            rows.append(row)
        return rows

    def _header(
        self,
        kind: str,
        account: str,
        index: int,
        splits: list[dict[str, Any]],
        *,
        bank: str | None = None,
        group: int | None = None,
        due: dt.date | None = None,
        allocations: list[dict[str, Any]] | None = None,
        outstanding: Decimal = Decimal(0),
        number: int | None = None,
    ) -> dict[str, Any]:
        net = sum((Decimal(s["net"]) for s in splits), Decimal(0))
        tax = sum((Decimal(s["tax"]) for s in splits), Decimal(0))
        gross = net + tax
        status = "paid" if outstanding == 0 else "unpaid" if outstanding == gross else "part"
        row: dict[str, Any] = {
            "type": kind,
            "header_number": number if number is not None else self._number(),
            "date": self.date(index).isoformat(),
            "account_ref": account,
            "details": splits[0]["details"],
            "reference": f"{kind}{self.header:07d}",
            "extra_reference": "",
            "net": money(net),
            "tax": money(tax),
            "gross": money(gross),
            "currency": "GBP",
            "exchange_rate": "1",
            "outstanding": money(outstanding),
            "paid_status": status,
            "bank_code": bank,
            "journal_group": group,
            "due_date": due.isoformat() if due else None,
            "deleted": False,
            "allocations": allocations or [],
            "splits": splits,
        }
        if self.rng.random() < 0.5:
            row["user_name"] = self.rng.choice(("MANAGER", "ACCOUNTS", "K.HOLT"))
        if bank and self.rng.random() < 0.3:
            row["bank_reconciled_on"] = self.date(min(index + 20, self.n)).isoformat()
        return row

    def _invoice(self, index: int, sales: bool) -> dict[str, Any]:
        rng = self.rng
        lines = rng.choices((1, 2, 3, 4, 6), weights=(32, 25, 18, 13, 12))[0]
        account = rng.choice(self.customers if sales else self.suppliers)
        splits = self._splits(lines, SALES if sales else PURCHASES + OVERHEADS, SALE_CODES)
        gross = sum((Decimal(s["net"]) + Decimal(s["tax"]) for s in splits), Decimal(0))
        room = self.n - index - 1 - len(self.pending)
        fate = rng.random()
        settled = Decimal(0)
        number = self._number()
        if room > 0 and fate < 0.78:
            later = index + rng.randint(3, 900)
            if sales and fate < 0.06:
                # A credit note for a tenth of the invoice, on one line at 20%.
                net = (gross / 12).quantize(CENT, ROUND_HALF_UP)
                settled = net + vat(net, "T1")
                self._settle(Settlement(later, "SC", account, number, settled, net))
            else:
                share = Decimal(1) if fate < 0.70 else Decimal(rng.randint(20, 90)) / 100
                settled = (gross * share).quantize(CENT, ROUND_HALF_UP)
                self._settle(Settlement(later, "SR" if sales else "PP", account, number, settled))
        due = self.date(index) + dt.timedelta(days=rng.choice((14, 30, 30, 60)))
        return self._header(
            "SI" if sales else "PI",
            account,
            index,
            splits,
            due=due,
            outstanding=gross - settled,
            number=number,
        )

    def _settle(self, settlement: Settlement) -> None:
        heapq.heappush(self.pending, settlement)

    def _settlement(self, index: int, item: Settlement) -> dict[str, Any]:
        self.split += 1
        allocation = {
            "amount": money(item.amount),
            "date": self.date(index).isoformat(),
            "header_number": item.target,
        }
        if item.kind == "SC":
            net = item.net
            split = {
                "split_number": self.split,
                "nominal_code": "4000",
                "department": 0,
                "details": "Credit for short delivery",
                "net": money(net),
                "tax_code": "T1",
                "tax": money(item.amount - net),
            }
            return self._header("SC", item.account, index, [split], allocations=[allocation])
        bank = "1200" if self.rng.random() < 0.85 else "1210"
        split = {
            "split_number": self.split,
            "nominal_code": bank,
            "department": 0,
            "details": "Receipt" if item.kind == "SR" else "Payment",
            "net": money(item.amount),
            "tax_code": "T9",
            "tax": "0.00",
        }
        return self._header(
            item.kind, item.account, index, [split], bank=bank, allocations=[allocation]
        )

    def _bank_entry(self, index: int) -> dict[str, Any]:
        rng = self.rng
        code, _name, kind = rng.choices(BANKS, weights=(70, 5, 15, 10))[0]
        payment = rng.random() < 0.7
        nominals = OVERHEADS if payment else ["4900"]
        splits = self._splits(rng.choice((1, 1, 1, 2)), nominals, ["T1", "T1", "T0", "T2", "T9"])
        return self._header(PAY_TYPE[kind][0 if payment else 1], code, index, splits, bank=code)

    def _on_account(self, index: int) -> dict[str, Any]:
        self.split += 1
        amount = Decimal(self.rng.randint(1000, 90_000)) / 100
        split = {
            "split_number": self.split,
            "nominal_code": "1200",
            "department": 0,
            "details": "Payment on account",
            "net": money(amount),
            "tax_code": "T9",
            "tax": "0.00",
        }
        row = self._header(
            "SA", self.rng.choice(self.customers), index, [split], bank="1200", outstanding=amount
        )
        return row

    def _journal(self, index: int) -> list[dict[str, Any]]:
        rng = self.rng
        amount = money(Decimal(rng.randint(1000, 2_500_000)) / 100)
        if rng.random() < 0.4:
            debit, credit = "1210", "1200"  # a transfer between the two banks
        else:
            debit, credit = rng.choice([*OVERHEADS, "7000"]), rng.choice(("2300", "9998", "1200"))
        group = self.header + 1
        rows = []
        for kind, nominal in (("JD", debit), ("JC", credit)):
            self.split += 1
            split = {
                "split_number": self.split,
                "nominal_code": nominal,
                "department": 0,
                "details": "Month end journal",
                "net": amount,
                "tax_code": "T9",
                "tax": "0.00",
            }
            rows.append(self._header(kind, nominal, index, [split], group=group))
        return rows

    def _deleted(self, index: int) -> dict[str, Any]:
        row = self._header(
            "SI", self.rng.choice(self.customers), index, self._splits(1, SALES, ["T1"])
        )
        row["deleted"] = True
        return row

    def trail(self) -> Iterator[dict[str, Any]]:
        rng = self.rng
        index = 0
        while index < self.n:
            left = self.n - index
            if self.pending and (self.pending[0].due <= index or left <= len(self.pending)):
                yield self._settlement(index, heapq.heappop(self.pending))
                index += 1
                continue
            pick = rng.random()
            if pick < 0.50:
                yield self._invoice(index, sales=True)
            elif pick < 0.72:
                yield self._invoice(index, sales=False)
            elif pick < 0.86:
                yield self._bank_entry(index)
            elif pick < 0.88:
                yield self._on_account(index)
            elif pick < 0.89:
                yield self._deleted(index)
            elif left - len(self.pending) >= 2:
                rows = self._journal(index)
                yield from rows
                index += len(rows)
                continue
            else:
                yield self._bank_entry(index)
            index += 1


def _amend(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "details": (row["details"] + " (amended)")[:60]}


def write(
    path: Path, transactions: int, *, seed: int = 17, layout: str = "compact", changed: float = 0
) -> Path:
    """Write the company to ``path``; ``changed`` amends that share of the transactions' details."""
    writer = Writer(transactions, seed)
    # Reference data first (the customers before the suppliers, unlike the format's table).
    head: list[tuple[str, Any]] = [
        ("format", "sage50-json"),
        ("format_version", "1.0"),
        ("company", writer.company()),
        ("history_mode", "full_history"),
        ("tax_codes", writer.tax_codes()),
        ("nominal_accounts", writer.nominal_accounts()),
        ("departments", [{"name": n, "number": i} for i, n in enumerate(TOWNS[:5], 1)]),
        ("bank_accounts", writer.bank_accounts()),
        ("customers", [writer._party(ref, "S") for ref in writer.customers]),
        ("suppliers", [writer._party(ref, "P") for ref in writer.suppliers]),
        ("products", [writer.product(i) for i in range(1, writer.products + 1)]),
        ("opening_balances", writer.opening_balances()),
    ]
    every = round(1 / changed) if changed else 0
    rows = writer.trail()
    if every:
        rows = (_amend(r) if i % every == every - 1 else r for i, r in enumerate(rows))
    with path.open("w", encoding="utf-8") as out:
        (_pretty if layout == "pretty" else _compact)(out, head, rows)
    return path


def _compact(out: TextIO, head: list[tuple[str, Any]], rows: Iterator[dict[str, Any]]) -> None:
    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    out.write("{")
    for key, value in head:
        out.write(f"{dumps(key)}:{dumps(value)},")
    out.write('"transactions":[')
    for i, row in enumerate(rows):
        out.write(("," if i else "") + dumps(row))
    out.write("]}")


def _pretty(out: TextIO, head: list[tuple[str, Any]], rows: Iterator[dict[str, Any]]) -> None:
    def dumps(value: Any, depth: int) -> str:
        text = json.dumps(value, ensure_ascii=False, indent=2)
        return text.replace("\n", "\n" + "  " * depth)

    out.write("{\n")
    for key, value in head:
        out.write(f"  {json.dumps(key)}: {dumps(value, 1)},\n")
    out.write('  "transactions": [')
    for i, row in enumerate(rows):
        out.write(("," if i else "") + "\n    " + dumps(row, 2))
    out.write("\n  ]\n}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("-n", "--transactions", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--layout", choices=("compact", "pretty"), default="compact")
    parser.add_argument("--changed", type=float, default=0.0, help="share of details amended")
    args = parser.parse_args()
    write(args.out, args.transactions, seed=args.seed, layout=args.layout, changed=args.changed)


if __name__ == "__main__":
    main()
