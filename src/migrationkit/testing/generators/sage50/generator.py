"""Generate realistic, valid Sage 50 Accounts (UK) companies in the ``sage50-json`` 1.0 format.

The generated company is a UK homeware wholesaler (GBP base, VAT registered on the standard
scheme) with a default-style UK chart, departments, the usual UK tax codes, four sterling banks
(current, deposit, petty cash, company credit card) plus a euro account, customers and
suppliers in GBP, EUR and USD, and a product list. Its audit trail is made of small *stories*
(an invoice and the receipts, credit notes, discounts and refunds that settle it; a statement
payment; a month-end payroll; a VAT quarter...) that run forward from the opening date.

Files are valid by construction (every rule of docs/formats/sage50-json.md §11):

* Every allocation a document will ever receive or make is decided when its story starts, so
  its ``outstanding`` and ``paid_status`` are known when it is written. Stories only schedule
  events up to the end date, so nothing is left half-planned.
* Headers are numbered when their event happens, in date order. A source that settles a
  *later* document (a credit note refunded a week later) waits in a small buffer until that
  document has its number; everything after it waits too, so numbers stay ascending.
* Foreign items are carried in the control accounts at their GBP value (booked GBP while
  untouched, ``round(outstanding / rate)`` once part-settled). Each allocation posts the
  change of that carrying value as an exchange-difference journal against ``exchange_variance``,
  so the control accounts always equal the ledgers (§11.9) and realised differences appear as
  JD/JC.
* Nominal and contact balances are accumulated while the audit trail streams to a temporary
  file; the master data, whose ``balance`` fields come first in the file, is written last and
  the trail appended after it. Memory therefore depends on the planning horizon, not on size.

``generate`` is seeded and deterministic: the same options give a byte-identical file.
"""

from __future__ import annotations

import heapq
import json
import os
import random
import tempfile
from collections import deque
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from migrationkit.core.money import CENT

from .common import (
    GBP,
    MONTHS,
    ONE,
    ZERO,
    add_months,
    ascii_upper,
    clip_text,
    cumulative,
    dump_line,
    from_cents,
    money_str,
    month_end,
    round_penny,
)
from .company import (
    BANK,
    BANK_TEMPLATES,
    CARD,
    CASH,
    CATALOGUE,
    CATEGORIES,
    CHART,
    COLOURS,
    CREDITORS,
    DEBTORS,
    DEPARTMENTS,
    DEPOSIT,
    EU,
    EURBANK,
    FOREIGN,
    FOREIGN_FIRST,
    FOREIGN_PRICE,
    FXVAR,
    INACTIVE_NOMINALS,
    NO_TAX,
    OVERHEAD_SUPPLIERS,
    PACKS,
    PTAX,
    RETAINED,
    STAX,
    TAX_CODES,
    TAX_RATE,
    UK_FIRST,
    UK_SPECIAL,
    UK_STREETS,
    UK_SURNAMES,
    UK_TOWNS,
    UK_TRADES,
    VATLIAB,
    nominal_type,
    tax_record,
)
from .defects import DEFECT_KINDS, DefectPicker
from .plans import (
    BANK_TYPES,
    Doc,
    Dyn,
    Event,
    Item,
    Journal,
    Line,
    Party,
    Product,
    Split,
    Story,
)

__all__ = [
    "HISTORY_MODES",
    "TRANSACTION_TYPES",
    "GenerationSummary",
    "GeneratorOptions",
    "generate",
]

HISTORY_MODES = ("full_history", "opening_balances", "records_only")

TRANSACTION_TYPES = (
    "SI", "SC", "SD", "SR", "SA", "SP", "PI", "PC", "PD", "PP", "PA", "PR",
    "BP", "BR", "CP", "CR", "VP", "VR", "JD", "JC",
)  # fmt: skip


@attrs.frozen
class GeneratorOptions:
    """What to generate. Sizes left ``None`` are scaled from ``transactions``.

    ``transactions`` is the exact number of audit-trail headers in ``full_history`` mode; in
    ``opening_balances`` mode that history is simulated and only its closing state written;
    ``records_only`` ignores it. ``months`` is the length of the history (default: scaled
    from size, 3 to 24 months). ``defects`` are kinds of docs/formats/sage50-json.md §12,
    injected once each (``full_history`` only) with a ``<file>.expected.json`` sidecar.
    """

    seed: int = 1
    transactions: int = 200
    history_mode: str = "full_history"
    customers: int | None = None
    suppliers: int | None = None
    products: int | None = None
    defects: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    start_date: date = date(2023, 4, 1)
    months: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.history_mode not in HISTORY_MODES:
            raise ValueError(f"history_mode must be one of {HISTORY_MODES}")
        if self.transactions < 0:
            raise ValueError("transactions must be >= 0")
        unknown = [k for k in self.defects if k not in DEFECT_KINDS]
        if unknown:
            raise ValueError(f"unknown defect kinds {unknown}; known: {sorted(DEFECT_KINDS)}")
        if self.defects and self.history_mode != "full_history":
            raise ValueError("defects can only be injected into a full_history file")
        if self.customers is not None and self.customers < 4:
            raise ValueError("customers must be >= 4")
        if self.suppliers is not None and self.suppliers < len(OVERHEAD_SUPPLIERS) + 2:
            raise ValueError(f"suppliers must be >= {len(OVERHEAD_SUPPLIERS) + 2}")
        if self.products is not None and self.products < 10:
            raise ValueError("products must be >= 10")
        if self.months is not None and not 1 <= self.months <= 120:
            raise ValueError("months must be between 1 and 120")
        if self.start_date < date(1981, 1, 1):
            raise ValueError("start_date must be in 1981 or later (earlier dates are out of range)")


@attrs.frozen
class GenerationSummary:
    """What ``generate`` wrote: counts per transaction type, size and where the files are."""

    path: Path
    seed: int
    history_mode: str
    transactions: int
    counts: Mapping[str, int]
    file_size: int
    first_date: date | None
    last_date: date | None
    expected_path: Path | None = None


def generate(
    path: str | os.PathLike[str], options: GeneratorOptions | None = None
) -> GenerationSummary:
    """Write a seeded, valid sage50-json company to ``path`` and return a summary.

    With ``options.defects`` the file carries those deliberate defects and a
    ``<path>.expected.json`` sidecar lists them (docs/formats/sage50-json.md §12).
    """
    return _Generator(Path(path), options or GeneratorOptions()).run()


_STORY_WEIGHTS = (
    ("sale", 40.0), ("statement", 3.5), ("sale_refund", 0.6), ("purchase", 15.0),
    ("purchase_refund", 0.4), ("BP", 5.0), ("BR", 2.0), ("CP", 2.4), ("CR", 2.2), ("VP", 2.6),
    ("VR", 0.5), ("journal", 0.6),
)  # fmt: skip
_SINGLE_KINDS = ("BP", "CP", "VP", "CR", "BR")
_AVG_STORY = 2.3  # headers per random story, used to spread the budget over the days

# How documents end, with probabilities. "part_only" leaves the rest unpaid (disputed);
# "deleted" first keys the invoice wrongly, deletes it and raises it again.
_SALE_PLANS = (
    ("full", 0.72), ("part", 0.06), ("part_only", 0.02), ("credit", 0.06), ("discount", 0.04),
    ("onacc", 0.06), ("unpaid", 0.025), ("deleted", 0.015),
)  # fmt: skip
_PURCHASE_PLANS = (
    ("full", 0.785), ("part", 0.06), ("credit", 0.05), ("discount", 0.03), ("onacc", 0.04),
    ("unpaid", 0.02), ("deleted", 0.015),
)  # fmt: skip


def _pick(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    r = rng.random()
    for plan, probability in table:
        r -= probability
        if r < 0:
            return plan
    return table[0][0]


# --------------------------------------------------------------------------------------------
# The generator


class _Generator:
    """One run: master data, then the day-by-day simulation, then the file."""

    def __init__(self, path: Path, options: GeneratorOptions) -> None:
        self.path = path
        self.opt = options
        self.seed = options.seed
        self.rng = random.Random(f"sage50:{options.seed}")
        self.mode = options.history_mode
        n = options.transactions if self.mode != "records_only" else 0
        self.target = n
        # About a hundred headers a month for small files, two years at most by default.
        months = options.months or max(3, min(24, -(-n // 100)))
        self.start = options.start_date.toordinal()
        self.end = add_months(options.start_date, months).toordinal() - 1
        self.months = months
        # Amounts scale with the monthly volume so that balances stay in proportion.
        self.scale = max(Decimal(1), round_penny(Decimal(n) / months / 100))
        self.bal: dict[str, Decimal] = {code: ZERO for code, _, _ in CHART}
        self.heap: list[tuple[int, int, int, int, Event]] = []
        self.seq = 0
        self.emitted = 0
        self.reserved = 0
        self.next_header = 1
        self.next_split = 1
        self.counts = dict.fromkeys(TRANSACTION_TYPES, 0)
        self.first_date: int | None = None
        self.last_date: int | None = None
        self.buffer: deque[tuple[str | None, dict[str, Any] | None, Item | None, str]] = deque()
        self.written = 0
        self.out: Any = None
        self.defects = DefectPicker(options.defects, options.seed) if options.defects else None
        self.closing_items: list[Item] = []
        self.opening_items: list[Item] = []
        self.dates: dict[int, str] = {}
        self.counters = {
            "inv": 10001 + self.rng.randrange(9000),
            "crn": 2001,
            "chq": 100201,
            "po": 4401,
            "sr": 500001,
            "pc": 101,
        }

    # ---- top level -------------------------------------------------------------------------

    def run(self) -> GenerationSummary:
        """Generate the file (and sidecar) and summarise it."""
        self._build_master_data()
        self._build_rates()
        tmp_dir = self.path.parent
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".sage50-trail-", suffix=".tmp", dir=tmp_dir)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            if self.mode != "records_only":
                self._opening_position()
                with tmp.open("w", encoding="utf-8", newline="\n", buffering=1 << 20) as out:
                    self.out = out if self.mode == "full_history" else None
                    self._simulate()
                    self._flush(final=True)
            expected_path = self._write_file(tmp)
        finally:
            tmp.unlink(missing_ok=True)
        return GenerationSummary(
            path=self.path,
            seed=self.seed,
            history_mode=self.mode,
            transactions=self.written,
            counts=dict(self.counts) if self.written else dict.fromkeys(TRANSACTION_TYPES, 0),
            file_size=self.path.stat().st_size,
            first_date=date.fromordinal(self.first_date) if self.first_date else None,
            last_date=date.fromordinal(self.last_date) if self.last_date else None,
            expected_path=expected_path,
        )

    # ---- master data -----------------------------------------------------------------------

    def _build_master_data(self) -> None:
        """Company, customers, suppliers and products, sized from the options."""
        rng = self.rng
        n = self.target
        n_cust = self.opt.customers or max(8, min(3000, int(n**0.6 / 1.5)))
        n_supp = self.opt.suppliers or len(OVERHEAD_SUPPLIERS) + max(6, min(800, int(n**0.5 / 2)))
        n_prod = self.opt.products or max(len(CATALOGUE), min(360, int(n**0.45)))
        self.used_refs: dict[str, set[str]] = {"S": set(), "P": set()}
        self.used_names: set[str] = set()
        self.customers = self._make_customers(n_cust)
        self.suppliers = self._make_suppliers(n_supp)
        self.products = self._make_products(n_prod)
        # Weighted choice: a few big customers and suppliers do most of the trade.
        self.active_customers = [c for c in self.customers if not c.record["inactive"]]
        # Zipf weights over a shuffled order, so the biggest customers are of any currency.
        order = list(range(len(self.active_customers)))
        rng.shuffle(order)
        self.cust_weights = cumulative([1 / (k + 1) ** 0.7 for k in order])
        self.trade_suppliers = [s for s in self.suppliers if s.kind == "trade" and s.lines]
        self.supp_weights = cumulative(
            [1 / (i + 1) ** 0.6 for i in range(len(self.trade_suppliers))]
        )
        self.sale_products = [p for p in self.products if not p.record["inactive"]]
        self.goods = [p for p in self.sale_products if p.kind == "stock"]
        self.services = [p for p in self.sale_products if p.kind == "service"]
        self.company = {
            "name": "Larkspur Homeware Ltd",
            "registration": "1" + "".join(str(rng.randrange(10)) for _ in range(7)),
            "vat_number": "GB" + "".join(str(rng.randrange(10)) for _ in range(9)),
            "address_1": "Unit 7, Attercliffe Trade Park",
            "address_2": "Worksop Road",
            "address_3": "Sheffield",
            "address_4": "South Yorkshire",
            "address_5": "S9 3TL",
            "country_code": "GB",
            "base_currency": GBP,
            "financial_year_start": {"month": self.opt.start_date.month, "day": 1},
            "vat_scheme": "standard",
            "flat_rate_percent": None,
            "sage50_version": "30.1.0.123",
            "exported_at": "",
        }

    def _unique_ref(self, ledger: str, name: str) -> str:
        """An upper-case account ref of at most 8 characters, unique in its ledger."""
        used = self.used_refs[ledger]
        words = ascii_upper(name.replace("&", " ").split(" ")[0]) or "ACCOUNT"
        flat = ascii_upper(name) or "ACCOUNT"
        for candidate in (words[:8], flat[:8]):
            if len(candidate) >= 4 and candidate not in used:
                used.add(candidate)
                return candidate
        stem = flat[:6]
        for k in range(1, 100000):
            candidate = f"{stem}{k:02d}"[:8] if k < 100 else f"{flat[:4]}{k:04d}"
            if candidate not in used:
                used.add(candidate)
                return candidate
        raise AssertionError("no account ref left")  # pragma: no cover

    def _unique_name(self, make: Callable[[], str]) -> str:
        for _ in range(50):
            name = make()
            if name not in self.used_names:
                self.used_names.add(name)
                return name
        base = make()
        k = 2
        while f"{base} ({k})" in self.used_names:
            k += 1
        name = clip_text(f"{base} ({k})", 60)
        self.used_names.add(name)
        return name

    def _uk_postcode(self, outward: str) -> str:
        rng = self.rng
        return (
            f"{outward} {rng.randrange(1, 10)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
            f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
        )

    def _party_record(
        self,
        p: Party,
        lines: tuple[str, str, str, str, str],
        contact: str,
        phone: str,
        email: str,
        vat: str,
        limit: int,
    ) -> None:
        """The customer/supplier record as written (balance is filled in at the end)."""
        p.record = {
            "account_ref": p.ref,
            "name": p.name,
            "address_1": lines[0],
            "address_2": lines[1],
            "address_3": lines[2],
            "address_4": lines[3],
            "address_5": lines[4],
            "country_code": p.country,
            "contact_name": clip_text(contact, 30),
            "telephone": phone,
            "email": email,
            "vat_number": vat,
            "credit_limit": money_str(Decimal(limit)),
            "payment_due_days": p.terms,
            "default_nominal": p.nominal,
            "default_tax_code": p.tax,
            "currency": p.cur,
            "terms_agreed": self.rng.random() < 0.9,
            "inactive": False,
            "balance": None,
        }

    def _digits(self, k: int) -> str:
        return "".join(str(self.rng.randrange(10)) for _ in range(k))

    def _vat(self, pattern: str) -> str:
        out = pattern
        for k in (11, 9, 8, 7):
            out = out.replace(f"{{d{k}}}", self._digits(k))
        return out

    def _slug(self, name: str) -> str:
        return ascii_upper(name)[:14].lower() or "trade"

    def _make_customers(self, count: int) -> list[Party]:
        """UK trade and online customers, plus EU (EUR) and US (USD) export customers."""
        rng = self.rng
        n_usd = max(1, round(count * 0.05))
        n_eur = max(1, round(count * 0.12))
        kinds = ["GB"] * (count - n_usd - n_eur) + ["EU"] * n_eur + ["US"] * n_usd
        # The first four customers are fixed kinds so that every file has each currency.
        head = ["GB", "EU", "GB", "US"]
        for k in head:
            kinds.remove(k)
        rng.shuffle(kinds)
        kinds = head + kinds
        result: list[Party] = []
        special = list(UK_SPECIAL)
        eu_cycle = list(EU)
        rng.shuffle(eu_cycle)
        eu_i = 0
        for i, kind in enumerate(kinds):
            if kind == "GB":
                if special and (i == 2 or rng.random() < 0.08):
                    name, town, county, outward = special.pop(0)
                    self.used_names.add(name)
                else:
                    town, county, outward = rng.choice(UK_TOWNS)

                    def make_uk(town: str = town) -> str:
                        if rng.random() < 0.5:
                            return f"{town} {rng.choice(UK_TRADES)}" + rng.choice(
                                (" Ltd", " Ltd", "")
                            )
                        return f"{rng.choice(UK_SURNAMES)}'s {rng.choice(UK_TRADES)}"

                    name = self._unique_name(make_uk)
                c = Party("S", self._unique_ref("S", name), name, GBP, "GB")
                online = rng.random() < 0.22
                c.kind = "online" if online else "trade"
                c.nominal, c.dept = ("4010", 2) if online else ("4000", 1)
                c.tax = "T1"
                c.terms = rng.choice((14, 14, 30)) if online else rng.choice((30, 30, 30, 45, 60))
                addr = (
                    f"{rng.randrange(1, 140)} {rng.choice(UK_STREETS)}",
                    "",
                    town,
                    county,
                    self._uk_postcode(outward),
                )
                first = rng.choice(UK_FIRST)
                contact = f"{first} {rng.choice(UK_SURNAMES)}"
                phone = f"0{rng.randrange(1200, 1999)} 496 0{rng.randrange(100, 999)}"
                vat = "GB" + self._digits(9) if rng.random() < 0.85 else ""
            else:
                country = "US" if kind == "US" else eu_cycle[eu_i % len(eu_cycle)]
                eu_i += kind == "EU"
                cur, towns, templates, surnames, phone_t, vat_t = FOREIGN[country]
                town, region, postcode = rng.choice(towns)

                def make_foreign(
                    town: str = town,
                    templates: tuple[str, ...] = templates,
                    surnames: tuple[str, ...] = surnames,
                ) -> str:
                    return rng.choice(templates).format(s=rng.choice(surnames), t=town)

                name = self._unique_name(make_foreign)
                c = Party("S", self._unique_ref("S", name), name, cur, country)
                c.kind = "export"
                c.nominal, c.dept = "4020", 3
                c.tax = "T0" if country == "US" else "T4"
                c.terms = 60 if country == "US" else 45
                street = rng.choice(
                    (
                        "Rue des Écoles",
                        "Hauptstraße",
                        "Strøget",
                        "Main Street",
                        "Calle Mayor",
                        "Rua Direita",
                        "Kerkstraat",
                    )
                )
                addr = (f"{rng.randrange(1, 90)} {street}", "", town, region, postcode)
                contact = f"{rng.choice(FOREIGN_FIRST[country])} {rng.choice(surnames)}"
                phone = phone_t.format(a=rng.randrange(10, 99), b=rng.randrange(1000, 9999))
                vat = self._vat(vat_t)
            email = f"accounts@{self._slug(c.name)}.example"
            limit = rng.choice((1000, 2500, 5000, 5000, 10000, 15000, 25000))
            self._party_record(c, addr, contact, phone, email, vat, limit)
            # A few dormant accounts: kept as records, never traded with.
            if i >= 6 and rng.random() < 0.03:
                c.record["inactive"] = True
            result.append(c)
        return result

    def _make_suppliers(self, count: int) -> list[Party]:
        """The fixed overhead suppliers, then trade suppliers cycling through categories."""
        rng = self.rng
        result: list[Party] = []
        for ref, name, cur, country, town, freq, pay, lines in OVERHEAD_SUPPLIERS:
            s = Party("P", ref, name, cur, country)
            self.used_refs["P"].add(ref)
            self.used_names.add(name)
            s.kind = "overhead"
            s.nominal, s.tax = lines[0][0], lines[0][1]
            s.terms = 14 if pay == "DD" else 30
            s.dept = 5
            s.lines = (freq, pay, lines)
            county = "" if country != "GB" else "South Yorkshire"
            postcode = self._uk_postcode("S9") if country == "GB" else "4600"
            addr = (f"{rng.randrange(1, 60)} {rng.choice(UK_STREETS)}", "", town, county, postcode)
            vat = (
                "GB" + self._digits(9)
                if country == "GB"
                else (self._vat(FOREIGN[country][5]) if country in FOREIGN else "")
            )
            self._party_record(
                s,
                addr,
                f"{rng.choice(UK_FIRST)} {rng.choice(UK_SURNAMES)}",
                f"0{rng.randrange(1130, 1999)} 496 0{rng.randrange(100, 999)}",
                f"billing@{self._slug(name)}.example",
                vat,
                0,
            )
            result.append(s)
        n_trade = count - len(result)
        for i in range(n_trade):
            category, cur, country, templates, tax = CATEGORIES[i % len(CATEGORIES)]
            if country == "GB":
                town, county, outward = rng.choice(UK_TOWNS)
                surnames: tuple[str, ...] = UK_SURNAMES
                region, postcode = county, self._uk_postcode(outward)
            else:
                _, towns, _, surnames, _, _ = FOREIGN[country]
                town, region, postcode = rng.choice(towns)

            def make(
                templates: tuple[str, ...] = templates,
                town: str = town,
                surnames: tuple[str, ...] = surnames,
            ) -> str:
                return rng.choice(templates).format(s=rng.choice(surnames), t=town)

            name = self._unique_name(make)
            s = Party("P", self._unique_ref("P", name), name, cur, country)
            s.kind = "trade"
            s.nominal = "5000" if country == "GB" else "5001"
            s.tax = tax
            s.terms = 30 if country == "GB" else 45
            s.dept = 4
            s.lines = category
            addr = (
                f"{rng.randrange(1, 200)} {rng.choice(UK_STREETS)}"
                if country == "GB"
                else f"Industriestraße {rng.randrange(1, 90)}"
                if country == "DE"
                else f"{rng.randrange(1, 90)} {town} Business Park",
                "",
                town,
                region,
                postcode,
            )
            phone = (
                f"0{rng.randrange(1130, 1999)} 496 0{rng.randrange(100, 999)}"
                if country == "GB"
                else FOREIGN[country][4].format(
                    a=rng.randrange(10, 99), b=rng.randrange(1000, 9999)
                )
            )
            vat = "GB" + self._digits(9) if country == "GB" else self._vat(FOREIGN[country][5])
            self._party_record(
                s,
                addr,
                f"{rng.choice(UK_FIRST)} {rng.choice(surnames)}",
                phone,
                f"sales@{self._slug(name)}.example",
                vat,
                0,
            )
            s.record["credit_limit"] = money_str(Decimal(rng.choice((5000, 10000, 20000, 50000))))
            result.append(s)
        return result

    def _make_products(self, count: int) -> list[Product]:
        """The catalogue (plus colour variants), each linked to a supplier of its category."""
        by_category: dict[str, list[Party]] = {}
        for s in self.suppliers:
            if s.kind == "trade":
                by_category.setdefault(s.lines, []).append(s)
        products: list[Product] = []
        base = list(CATALOGUE)
        # Colour variants are added round by round until the catalogue is big enough.
        variants: list[tuple[str, str, str, str, str, str]] = [
            (code, desc, unit, price, tax, cat) for code, desc, unit, price, tax, cat, _ in base
        ]
        for colour in COLOURS:
            for code, desc, unit, price, tax, cat, coloured in base:
                if coloured:
                    variants.append(
                        (
                            f"{code}-{ascii_upper(colour)[:4]}",
                            f"{desc}, {colour}",
                            unit,
                            price,
                            tax,
                            cat,
                        )
                    )
        seen_codes: set[str] = set()
        for i, (code, desc, unit, price, tax, cat) in enumerate(variants[:count]):
            if code in seen_codes:  # pragma: no cover - codes are unique by construction
                continue
            seen_codes.add(code)
            p = Product(code, desc, unit, Decimal(price), tax, cat)
            owners = by_category.get(cat, [])
            p.supplier = owners[i % len(owners)] if owners else None
            p.record = {
                "stock_code": code,
                "description": desc,
                "item_type": "service" if p.kind == "service" else "stock",
                "sales_price": format(p.prices[GBP], "f"),
                "purchase_price": None if p.kind == "service" else format(p.buy[GBP], "f"),
                "unit_of_sale": unit,
                "nominal_code": p.nominal,
                "purchase_nominal_code": p.supplier.nominal if p.supplier else "5000",
                "tax_code": tax,
                "supplier_ref": p.supplier.ref if p.supplier else None,
                "inactive": i % 23 == 22,
            }
            products.append(p)
        for s in self.suppliers:
            if s.kind == "trade":
                s.lines = [p for p in products if p.supplier is s and not p.record["inactive"]]
        return products

    # ---- exchange rates and dates ----------------------------------------------------------

    def _build_rates(self) -> None:
        """Daily EUR and USD rates (units per GBP) as a seeded random walk."""
        rng = random.Random(f"fx:{self.seed}")
        self.rate_base = self.start - 120
        days = self.end - self.rate_base + 62
        self.rates: dict[str, list[Decimal]] = {}
        for cur, start, lo, hi, step in (
            ("EUR", 11650, 10900, 12300, 22),
            ("USD", 12650, 11900, 13500, 35),
        ):
            x = start + rng.randrange(-300, 300)
            series = []
            for _ in range(days):
                x = min(hi, max(lo, x + rng.randrange(-step, step + 1)))
                series.append(Decimal(x).scaleb(-4))
            self.rates[cur] = series

    def _rate(self, cur: str, day: int) -> Decimal:
        return ONE if cur == GBP else self.rates[cur][day - self.rate_base]

    def _ds(self, day: int) -> str:
        s = self.dates.get(day)
        if s is None:
            s = self.dates[day] = date.fromordinal(day).isoformat()
        return s

    def _biz(self, day: int) -> int:
        wd = date.fromordinal(day).weekday()
        return day + (7 - wd if wd >= 5 else 0)

    def _in(self, day: int) -> bool:
        return day <= self.end

    # ---- building documents ----------------------------------------------------------------

    def _splits(
        self, lines: list[Line], cur: str, rate: Decimal
    ) -> tuple[list[Split], tuple[Decimal, ...]]:
        """Splits with VAT per line (on the foreign net for foreign documents) and totals."""
        splits: list[Split] = []
        net_t = tax_t = ZERO
        if cur == GBP:
            for nominal, dept, details, net, code in lines:
                tax = ZERO if code in NO_TAX else round_penny(net * TAX_RATE[code])
                splits.append((nominal, dept, details, net, code, tax, None, None))
                net_t += net
                tax_t += tax
            return splits, (net_t, tax_t, net_t + tax_t, ZERO, ZERO, ZERO)
        fnet_t = ftax_t = ZERO
        for nominal, dept, details, fnet, code in lines:
            ftax = ZERO if code in NO_TAX else round_penny(fnet * TAX_RATE[code])
            net = round_penny(fnet / rate)
            tax = round_penny(ftax / rate)
            splits.append((nominal, dept, details, net, code, tax, fnet, ftax))
            net_t += net
            tax_t += tax
            fnet_t += fnet
            ftax_t += ftax
        return splits, (net_t, tax_t, net_t + tax_t, fnet_t, ftax_t, fnet_t + ftax_t)

    def _ledger_doc(
        self,
        st: Story,
        type_: str,
        party: Party,
        day: int,
        lines: list[Line],
        *,
        ref: str,
        details: str,
        xref: str = "",
        due: int | None = None,
        deleted: bool = False,
        bank: str | None = None,
    ) -> Item:
        """Plan a sales or purchase ledger header and return its allocation item."""
        rate = self._rate(party.cur, day)
        splits, totals = self._splits(lines, party.cur, rate)
        cap = totals[2] if party.cur == GBP else totals[5]
        item = Item(type_, party, party.cur, rate, cap, totals[2], ref, day)
        doc = Doc(
            type_,
            party.ref,
            day,
            party.cur,
            rate,
            splits,
            totals,
            bank=bank,
            ref=ref,
            xref=xref,
            details=clip_text(details, 60),
            due=due,
            item=None if deleted else item,
            deleted=deleted,
        )
        st.add(doc)
        return item

    def _money_doc(
        self,
        st: Story,
        type_: str,
        party: Party,
        day: int,
        amount: Decimal,
        bank: str,
        ref: str,
        details: str,
        xref: str = "",
    ) -> Item:
        """A receipt, payment or refund (SR SA SP PP PA PR): one split on the bank."""
        return self._ledger_doc(
            st,
            type_,
            party,
            day,
            [(bank, 0, clip_text(details, 60), amount, "T9")],
            ref=ref,
            details=details,
            xref=xref,
            bank=bank,
        )

    def _alloc(self, st: Story, src: Item, tgt: Item, amount: Decimal, day: int) -> None:
        """Allocate ``amount`` from ``src`` to ``tgt`` and post any exchange difference."""
        assert src.source, src.type
        assert not tgt.source, tgt.type
        assert src.party is tgt.party, (src.party.ref, tgt.party.ref)
        assert src.cur == tgt.cur, (src.cur, tgt.cur)
        assert ZERO < amount <= min(src.out, tgt.out), (amount, src.out, tgt.out)
        before = src.contribution() + tgt.contribution()
        st.touched.append((src, src.out, len(src.allocs)))
        st.touched.append((tgt, tgt.out, len(tgt.allocs)))
        src.out -= amount
        tgt.out -= amount
        src.allocs.append((tgt, amount, day))
        delta = src.contribution() + tgt.contribution() - before
        if delta:
            st.add(self._fx_journal(tgt, delta, day))

    def _fx_journal(self, tgt: Item, delta: Decimal, day: int) -> Journal:
        """Keep the control account equal to its ledger: post the change in GBP value."""
        amount = abs(delta)
        if tgt.ledger == "S":
            control = DEBTORS
            up = delta > 0
        else:
            control = CREDITORS
            # A liability grows when the delta is positive: credit the control account.
            up = delta < 0
        gain = (delta > 0) == (tgt.ledger == "S")
        if up:
            lines = [("JD", control, amount), ("JC", FXVAR, amount)]
        else:
            lines = [("JD", FXVAR, amount), ("JC", control, amount)]
        word = "gain" if gain else "loss"
        return Journal(
            day,
            clip_text(f"FX {tgt.ref}", 30),
            clip_text(f"Exchange {word} {tgt.ref} {tgt.party.ref} ({tgt.cur})", 60),
            lines,
            "fx",
        )

    # ---- document content ------------------------------------------------------------------

    def _next(self, key: str) -> int:
        value = self.counters[key]
        self.counters[key] = value + 1
        return value

    def _sales_lines(self, c: Party) -> list[Line]:
        """Invoice lines for a customer, with VAT codes by destination."""
        rng = self.rng
        foreign = c.cur != GBP
        n = rng.choice((1, 2, 2)) if foreign else rng.choice((1, 1, 2, 2, 2, 3, 3, 4))
        lines: list[Line] = []
        for _ in range(n):
            if self.services and rng.random() < 0.05:
                p = rng.choice(self.services)
                qty = rng.choice((1, 1, 2, 4))
            else:
                p = rng.choice(self.goods)
                qty = rng.choice(PACKS)
            amount = p.prices[c.cur] * qty
            if c.country == "GB":
                code = p.tax
            elif c.country == "US":
                code = "T0" if p.kind == "stock" else "T9"
            else:
                code = "T4" if p.kind == "stock" else "T22"
            nominal = c.nominal if p.kind == "stock" else p.nominal
            lines.append((nominal, c.dept, clip_text(f"{qty} x {p.desc}", 60), amount, code))
        if not foreign and rng.random() < 0.25:
            lines.append(
                (
                    "4905",
                    c.dept,
                    "Carriage - pallet delivery",
                    from_cents(rng.randrange(1250, 4500, 50)),
                    "T1",
                )
            )
        if not foreign and c.kind == "trade" and len(lines) >= 2 and rng.random() < 0.1:
            standard = sum((a for _, _, _, a, code in lines if code == "T1"), ZERO)
            if standard >= 200:
                lines.append(
                    (c.nominal, c.dept, "Trade discount 5%", -round_penny(standard / 20), "T1")
                )
        return lines

    def _purchase_lines(self, s: Party, day: int) -> list[Line]:
        """Invoice lines for a supplier: its products, or its overhead templates."""
        rng = self.rng
        if s.kind == "overhead":
            _, _, templates = s.lines
            month = MONTHS[date.fromordinal(day).month - 1]
            result = []
            for nominal, code, details, typical in templates:
                amount = round_penny(
                    Decimal(typical) * self.scale * Decimal(rng.randrange(85, 116)) / 100
                )
                text = f"{details} - {month}" if s.lines[0] == "monthly" else details
                result.append((nominal, 5, clip_text(text, 60), amount, code))
            return result
        n = rng.choice((1, 2)) if s.cur != GBP else rng.choice((1, 1, 2, 2, 3))
        lines = []
        for _ in range(n):
            p = rng.choice(s.lines)
            qty = rng.choice((24, 48, 48, 72, 96, 120, 144, 240, 288, 480))
            if s.country == "GB":
                code = p.tax
            elif s.cur == "USD":
                code = "T9"
            else:
                code = "T7" if p.tax == "T0" else "T8"
            lines.append(
                (s.nominal, 4, clip_text(f"{qty} x {p.desc}", 60), p.buy[s.cur] * qty, code)
            )
        return lines

    def _receipt_ref(self, cur: str) -> str:
        """How a customer pays: BACS, FPS, cheque, card, SEPA or SWIFT."""
        rng = self.rng
        if cur == "EUR":
            return "SEPA"
        if cur == "USD":
            return "SWIFT"
        r = rng.random()
        if r < 0.6:
            return "BACS"
        if r < 0.8:
            return "FPS"
        if r < 0.9:
            return f"CHQ {self._next('sr')}"
        return "CARD"

    def _customer_bank(self, c: Party) -> str:
        return EURBANK if c.cur == "EUR" and self.rng.random() < 0.6 else BANK

    def _supplier_bank(self, s: Party, amount: Decimal | None = None) -> str:
        # Euros are paid from the euro account while it has the funds (as seen when planning).
        if s.cur == "EUR" and self.rng.random() < 0.8:
            needed = Decimal(2000) if amount is None else amount * 2
            if self.bal[EURBANK] > needed:
                return EURBANK
        return BANK

    def _part(self, amount: Decimal) -> Decimal:
        """A round part payment between a quarter and three quarters of ``amount``."""
        rng = self.rng
        share = round_penny(amount * Decimal(rng.randrange(25, 76)) / 100)
        rounded = (share // 50) * 50
        value = rounded if ZERO < rounded < amount else share
        return value if ZERO < value < amount else round_penny(amount / 2)

    # ---- stories ---------------------------------------------------------------------------

    def _commit(self, st: Story) -> bool:
        free = self.target - self.emitted - self.reserved
        if st.headers > free or not st.events:
            for item, out, n_allocs in reversed(st.touched):
                item.out = out
                del item.allocs[n_allocs:]
            return False
        for day, phase, reserve, event in st.events:
            assert self.start <= day <= self.end, (day, event)
            self._schedule(day, phase, reserve, event)
        return True

    def _schedule(self, day: int, phase: int, reserve: int, event: Event) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (day, phase, self.seq, reserve, event))
        self.reserved += reserve

    def _pay(
        self,
        st: Story,
        type_: str,
        inv: Item,
        day: int,
        amount: Decimal,
        details: str,
        bank: str,
        ref: str,
    ) -> None:
        """A receipt or payment of ``amount`` on ``day``, allocated to ``inv``."""
        if amount > 0:
            src = self._money_doc(st, type_, inv.party, day, amount, bank, ref, details)
            self._alloc(st, src, inv, amount, day)

    def _credit_note(
        self, st: Story, inv: Item, day: int, line: Line, share: int, ref: str, details: str
    ) -> None:
        """A credit note for part of one invoice line, allocated to the invoice."""
        if not self._in(day):
            return
        nominal, dept, text, amount, code = line
        net = max(CENT, round_penny(abs(amount) / share))
        type_ = "SC" if inv.ledger == "S" else "PC"
        split = (nominal, dept, clip_text(f"Credit: {text}", 60), net, code)
        note = self._ledger_doc(st, type_, inv.party, day, [split], ref=ref, details=details)
        if note.cap <= inv.out:
            self._alloc(st, note, inv, note.cap, day)

    def _discount(
        self,
        st: Story,
        inv: Item,
        day: int,
        lines: list[Line],
        rate: str,
        nominal: str,
        dept: int,
        text: str,
    ) -> bool:
        """A settlement discount (SD/PD) on the invoice's net, with VAT at its first code."""
        if not self._in(day):
            return False
        amount = round_penny(sum((line[3] for line in lines), ZERO) * Decimal(rate))
        if amount <= 0:
            return False
        type_ = "SD" if inv.ledger == "S" else "PD"
        percent = format((Decimal(rate) * 100).normalize(), "f")
        split = (nominal, dept, f"{text} {percent}%", amount, lines[0][4])
        doc = self._ledger_doc(
            st, type_, inv.party, day, [split], ref=inv.ref, details=f"{text} {inv.ref}"
        )
        if doc.cap >= inv.out:
            return False
        self._alloc(st, doc, inv, doc.cap, day)
        return True

    def _settle_sale(
        self, st: Story, inv: Item, c: Party, day: int, plan: str, lines: list[Line]
    ) -> None:
        """Plan what happens to a sales invoice after it is raised."""
        rng = self.rng
        pay = self._biz(day + max(3, c.terms + rng.randrange(-10, 21)))
        bank = self._customer_bank(c)
        ref = self._receipt_ref(c.cur)
        if plan == "credit":
            why = rng.choice(("Damaged in transit", "Short delivered", "Wrong colour sent"))
            self._credit_note(
                st,
                inv,
                self._biz(day + rng.randrange(2, 12)),
                lines[0],
                rng.choice((4, 6, 12)),
                f"CRN-{self._next('crn')}",
                f"{why} - {inv.ref}",
            )
        elif plan == "discount":
            early = self._biz(day + rng.randrange(5, 11))
            if self._discount(
                st, inv, early, lines, "0.025", "4009", c.dept, "Prompt payment discount"
            ):
                pay = early
        if not self._in(pay) or plan == "unpaid":
            return
        if plan in ("full", "credit", "discount"):
            self._pay(st, "SR", inv, pay, inv.out, f"Receipt {inv.ref}", bank, ref)
        elif plan in ("part", "part_only"):
            self._pay(st, "SR", inv, pay, self._part(inv.out), f"Part payment {inv.ref}", bank, ref)
            rest = self._biz(pay + rng.randrange(14, 46))
            if plan == "part" and self._in(rest):
                self._pay(st, "SR", inv, rest, inv.out, f"Balance {inv.ref}", bank, ref)
        elif plan == "onacc":
            # Paid without a remittance: held on account, allocated a few days later; an
            # overpayment is sometimes refunded.
            over = from_cents(rng.randrange(2000, 30000, 500)) if rng.random() < 0.3 else ZERO
            sa = self._money_doc(
                st,
                "SA",
                c,
                pay,
                inv.out + over,
                bank,
                ref,
                "Payment on account",
                xref="No remittance",
            )
            later = self._biz(pay + rng.randrange(1, 6))
            if self._in(later):
                self._alloc(st, sa, inv, inv.out, later)
                refund = self._biz(later + rng.randrange(1, 4))
                if over and self._in(refund) and rng.random() < 0.7:
                    sp = self._money_doc(
                        st,
                        "SP",
                        c,
                        refund,
                        sa.out,
                        self._customer_bank(c),
                        "BACS",
                        "Refund of overpayment",
                    )
                    self._alloc(st, sa, sp, sa.out, refund)

    def _story_sale(self, day: int, c: Party | None = None, plan: str | None = None) -> Story:
        """A sales invoice and how it is settled (see _SALE_PLANS)."""
        rng = self.rng
        st = Story()
        c = c or self._customer()
        plan = plan or _pick(rng, _SALE_PLANS)
        lines = self._sales_lines(c)
        xref = f"PO {rng.randrange(1000, 99999)}" if rng.random() < 0.6 else ""
        ref = f"INV-{self._next('inv')}"
        if plan == "deleted":
            # Keyed against the wrong customer price list, deleted and raised again.
            self._ledger_doc(
                st,
                "SI",
                c,
                day,
                lines,
                ref=ref,
                xref=xref,
                details=lines[0][2],
                due=day + c.terms,
                deleted=True,
            )
            ref = f"INV-{self._next('inv')}"
            plan = "full"
        inv = self._ledger_doc(
            st, "SI", c, day, lines, ref=ref, xref=xref, details=lines[0][2], due=day + c.terms
        )
        if plan != "unpaid":
            self._settle_sale(st, inv, c, day, plan, lines)
        return st

    def _story_statement(self, day: int, c: Party | None = None) -> Story:
        """Two or three invoices paid together from one remittance."""
        rng = self.rng
        st = Story()
        c = c or self._customer()
        invoices = []
        d = day
        for _ in range(rng.choice((2, 2, 3))):
            if not self._in(d):
                break
            lines = self._sales_lines(c)
            inv = self._ledger_doc(
                st,
                "SI",
                c,
                d,
                lines,
                ref=f"INV-{self._next('inv')}",
                details=lines[0][2],
                due=d + c.terms,
            )
            invoices.append(inv)
            d = self._biz(d + rng.randrange(3, 12))
        pay = self._biz(invoices[-1].date + c.terms + rng.randrange(-5, 15))
        if self._in(pay):
            total = sum((i.out for i in invoices), ZERO)
            refs = ", ".join(i.ref for i in invoices)
            sr = self._money_doc(
                st,
                "SR",
                c,
                pay,
                total,
                self._customer_bank(c),
                self._receipt_ref(c.cur),
                f"Remittance {refs}",
            )
            for inv in invoices:
                self._alloc(st, sr, inv, inv.out, pay)
        return st

    def _story_sale_refund(self, day: int, c: Party | None = None) -> Story:
        """A goodwill credit note refunded to the customer a few days later."""
        rng = self.rng
        st = Story()
        c = c or self._customer()
        net = from_cents(rng.randrange(1500, 25000, 50))
        if c.cur != GBP:
            net = round_penny(net * FOREIGN_PRICE[c.cur])
        code = "T1" if c.country == "GB" else "T0" if c.country == "US" else "T4"
        sc = self._ledger_doc(
            st,
            "SC",
            c,
            day,
            [(c.nominal, c.dept, "Goodwill credit", net, code)],
            ref=f"CRN-{self._next('crn')}",
            details="Goodwill credit - late delivery",
        )
        rday = self._biz(day + rng.randrange(2, 7))
        if self._in(rday):
            sp = self._money_doc(
                st, "SP", c, rday, sc.out, self._customer_bank(c), "BACS", f"Refund {sc.ref}"
            )
            self._alloc(st, sc, sp, sc.out, rday)
        return st

    def _settle_purchase(
        self, st: Story, inv: Item, s: Party, day: int, plan: str, lines: list[Line]
    ) -> None:
        """Plan what happens to a purchase invoice after it is received."""
        rng = self.rng
        pay = self._biz(day + max(2, s.terms + rng.randrange(-5, 10)))
        bank = self._supplier_bank(s, inv.gbp)
        ref = s.lines[1] if s.kind == "overhead" else "BACS"
        if plan == "credit":
            self._credit_note(
                st,
                inv,
                self._biz(day + rng.randrange(3, 15)),
                lines[0],
                rng.choice((5, 8, 10)),
                f"CN-{rng.randrange(1000, 99999)}",
                f"Credit - breakages {inv.ref}",
            )
        elif plan == "discount":
            early = self._biz(day + rng.randrange(5, 11))
            if self._discount(st, inv, early, lines, "0.02", "5009", 4, "Settlement discount"):
                pay = early
        if not self._in(pay) or plan == "unpaid":
            return
        if plan in ("full", "credit", "discount"):
            self._pay(st, "PP", inv, pay, inv.out, f"Payment {inv.ref}", bank, ref)
        elif plan == "part":
            self._pay(st, "PP", inv, pay, self._part(inv.out), f"Part payment {inv.ref}", bank, ref)
            rest = self._biz(pay + rng.randrange(14, 40))
            if self._in(rest):
                self._pay(st, "PP", inv, rest, inv.out, f"Balance {inv.ref}", bank, ref)
        elif plan == "onacc":
            pa = self._money_doc(st, "PA", s, pay, inv.out, bank, "BACS", "Payment on account")
            later = self._biz(pay + rng.randrange(2, 10))
            if self._in(later):
                self._alloc(st, pa, inv, inv.out, later)

    def _story_purchase(self, day: int, s: Party | None = None, plan: str | None = None) -> Story:
        """A purchase invoice and how it is paid (see _PURCHASE_PLANS)."""
        rng = self.rng
        st = Story()
        s = s or self._supplier()
        plan = plan or _pick(rng, _PURCHASE_PLANS)
        lines = self._purchase_lines(s, day)
        prefix = ascii_upper(s.name)[:3]
        ref = f"{prefix}-{rng.randrange(10000, 99999)}"
        xref = f"PO-{self._next('po')}" if s.kind == "trade" else ""
        details = lines[0][2]
        if plan == "deleted":
            # Posted twice from the same paper invoice; the duplicate was deleted.
            self._ledger_doc(
                st,
                "PI",
                s,
                day,
                lines,
                ref=ref,
                xref=xref,
                details=details,
                due=day + s.terms,
                deleted=True,
            )
            plan = "full"
        inv = self._ledger_doc(
            st, "PI", s, day, lines, ref=ref, xref=xref, details=details, due=day + s.terms
        )
        if plan != "unpaid":
            self._settle_purchase(st, inv, s, day, plan, lines)
        return st

    def _story_purchase_refund(self, day: int, s: Party | None = None) -> Story:
        """A supplier credit note for returned goods, refunded by the supplier."""
        rng = self.rng
        st = Story()
        s = s or self._supplier()
        lines = self._purchase_lines(s, day)[:1]
        nominal, dept, details, amount, code = lines[0]
        net = max(CENT, round_penny(amount / 4))
        pc = self._ledger_doc(
            st,
            "PC",
            s,
            day,
            [(nominal, dept, clip_text(f"Returned: {details}", 60), net, code)],
            ref=f"CN-{rng.randrange(1000, 99999)}",
            details="Credit for returned goods",
        )
        rday = self._biz(day + rng.randrange(3, 8))
        if self._in(rday):
            pr = self._money_doc(
                st, "PR", s, rday, pc.out, self._supplier_bank(s), "BACS", f"Refund {pc.ref}"
            )
            self._alloc(st, pc, pr, pc.out, rday)
        return st

    def _story_bank(self, day: int, kind: str, template: int | None = None) -> Story:
        """A single bank, cash or card payment or receipt from the templates."""
        rng = self.rng
        st = Story()
        options = [t for t in BANK_TEMPLATES if t[0] == kind]
        if template is not None:
            t = options[template]
        else:
            t = rng.choices(options, weights=[o[9] for o in options])[0]
        type_, bank, ref, details, nominal, code, dept, low, high, _ = t
        # Frequency already grows with the size of the business; amounts do not.
        amount = from_cents(rng.randrange(low * 100, high * 100 + 1))
        if kind in ("CP", "CR"):
            ref = f"{ref}{self._next('pc')}" if ref == "PC" else ref
        elif ref == "CHQ":
            ref = f"CHQ {self._next('chq')}"
        deleted = kind == "BP" and rng.random() < 0.01
        st.add(
            self._bank_doc(
                type_,
                bank,
                day,
                ref,
                details,
                [(nominal, dept, details, amount, code)],
                deleted=deleted,
            )
        )
        return st

    def _story_journal(self, day: int) -> Story:
        """A two-line reclassification journal."""
        rng = self.rng
        st = Story()
        options = (
            ("7504", "7501", "Reclassify stationery posted to postage"),
            ("7501", "5100", "Reclassify outbound carriage"),
            ("7400", "7300", "Reclassify hire car fuel to travelling"),
            ("6201", "7402", "Reclassify trade fair hotel to advertising"),
        )
        debit, credit, details = rng.choice(options)
        amount = from_cents(rng.randrange(2000, 30000))
        st.add(
            Journal(
                day,
                f"RCL{self._next('pc')}",
                details,
                [("JD", debit, amount), ("JC", credit, amount)],
                "defectable",
            )
        )
        return st

    def _customer(self) -> Party:
        return self.rng.choices(self.active_customers, cum_weights=self.cust_weights)[0]

    def _supplier(self) -> Party:
        return self.rng.choices(self.trade_suppliers, cum_weights=self.supp_weights)[0]

    def _random_story(self, day: int, kind: str) -> Story:
        """Build a story of the given kind starting on ``day``."""
        if kind == "sale":
            return self._story_sale(day)
        if kind == "statement":
            return self._story_statement(day)
        if kind == "sale_refund":
            return self._story_sale_refund(day)
        if kind == "purchase":
            return self._story_purchase(day)
        if kind == "purchase_refund":
            return self._story_purchase_refund(day)
        if kind == "journal":
            return self._story_journal(day)
        return self._story_bank(day, kind)

    # ---- opening position ------------------------------------------------------------------

    def _opening_position(self) -> None:
        """Opening open items and the trial balance at ``as_of`` (the day before the start)."""
        rng = self.rng
        as_of = self.start - 1
        s = self.scale
        items: list[Item] = []
        # Fewer accounts carry opening items when the history is short for the ledger's size,
        # so that settling them does not use up the whole budget.
        customers = min(1.0, max(self.target, 40) / (8 * len(self.active_customers)))
        suppliers = min(1.0, max(self.target, 40) / (8 * len(self.suppliers)))
        for c in self.active_customers:
            r = rng.random() / customers
            if r < 0.42:
                d = as_of - rng.randrange(2, 70)
                gross = from_cents(rng.randrange(15000, 480000, 5))
                if c.cur != GBP:
                    gross = round_penny(gross * FOREIGN_PRICE[c.cur])
                out = self._part(gross) if rng.random() < 0.15 else gross
                items.append(
                    self._open_item("SI", c, d, gross, out, "", d + c.terms, "Opening balance")
                )
            elif r < 0.47:
                d = as_of - rng.randrange(1, 20)
                gross = from_cents(rng.randrange(10000, 200000, 500))
                items.append(
                    self._open_item("SA", c, d, gross, gross, "BACS", None, "Payment on account")
                )
        for sp in self.suppliers:
            r = rng.random() / suppliers
            if (sp.kind == "overhead" and sp.lines[1] != "BACS") or (
                sp.kind == "trade" and not sp.lines
            ):
                continue
            if r < 0.5:
                d = as_of - rng.randrange(2, 40)
                gross = from_cents(rng.randrange(20000, 650000, 5))
                if sp.cur != GBP:
                    gross = round_penny(gross * FOREIGN_PRICE[sp.cur])
                out = self._part(gross) if rng.random() < 0.1 else gross
                items.append(
                    self._open_item(
                        "PI",
                        sp,
                        d,
                        gross,
                        out,
                        f"{ascii_upper(sp.name)[:3]}-{rng.randrange(10000, 99999)}",
                        d + sp.terms,
                        "Opening balance",
                    )
                )
            elif r < 0.54 and sp.kind == "trade":
                d = as_of - rng.randrange(1, 15)
                gross = from_cents(rng.randrange(20000, 150000, 500))
                if sp.cur != GBP:
                    gross = round_penny(gross * FOREIGN_PRICE[sp.cur])
                items.append(
                    self._open_item("PA", sp, d, gross, gross, "BACS", None, "Payment on account")
                )
        items.sort(key=lambda it: (it.ledger != "S", it.date))
        for it in items:
            it.number = self.next_header
            self.next_header += 1
            if it.type == "SI":
                it.ref = f"INV-{self._next('inv')}"
        self.opening_items = items
        debtors = sum((it.contribution() for it in items if it.ledger == "S"), ZERO)
        creditors = sum((it.contribution() for it in items if it.ledger == "P"), ZERO)

        def amt(pounds: int) -> Decimal:
            return round_penny(
                Decimal(pounds) * s * Decimal(rng.randrange(90, 111)) / 100
                + from_cents(rng.randrange(100))
            )

        tb = {
            "0020": amt(18000),
            "0021": -amt(4500),
            "0030": amt(6400),
            "0031": -amt(1600),
            "0040": amt(4200),
            "0041": -amt(1050),
            "0050": amt(24000),
            "0051": -amt(6000),
            "1001": amt(38000),
            "1100": debtors,
            "1103": amt(2400),
            "1200": amt(26500),
            "1210": amt(40000),
            "1230": Decimal("250.00"),
            "1240": -amt(1180),
            "1250": amt(9800),
            "2100": -creditors,
            "2109": -amt(1400),
            "2200": -amt(16800),
            "2201": amt(8200),
            "2210": -amt(3100),
            "2230": -amt(640),
            "2300": -amt(25000),
            "3000": Decimal("-10000.00"),
        }
        tb[RETAINED] = -sum(tb.values(), ZERO)
        self.tb = tb
        for code, value in tb.items():
            self.bal[code] += value
        # Monthly figures derived from the opening position.
        self.depreciation = [
            ("0021", round_penny(tb["0020"] * Decimal("0.15") / 12)),
            ("0031", round_penny(tb["0030"] * Decimal("0.25") / 12)),
            ("0041", round_penny(tb["0040"] * Decimal("0.15") / 12)),
            ("0051", round_penny(tb["0050"] * Decimal("0.25") / 12)),
        ]

    def _open_item(
        self,
        type_: str,
        party: Party,
        day: int,
        gross: Decimal,
        out: Decimal,
        ref: str,
        due: int | None,
        details: str,
    ) -> Item:
        """An opening open item, carried at its base (GBP) outstanding."""
        rate = self._rate(party.cur, day)
        base = out if party.cur == GBP else round_penny(out / rate)
        item = Item(type_, party, party.cur, rate, out, base, ref, day)
        item.meta = {"gross": gross, "due": due, "details": details}
        return item

    def _plan_opening_stories(self) -> None:
        """Settle the opening open items during the history (most of them)."""
        rng = self.rng
        for it in self.opening_items:
            st = Story()
            p = it.party
            if it.type in ("SI", "PI"):
                r = rng.random()
                if r > 0.9:
                    continue  # long overdue; still open at the end
                due = it.meta["due"] if it.meta and it.meta["due"] else it.date + 30
                pay = self._biz(max(self.start + rng.randrange(0, 5), due + rng.randrange(-3, 12)))
                if not self._in(pay):
                    continue
                amount = it.out if r < 0.8 else self._part(it.out)
                if it.ledger == "S":
                    src = self._money_doc(
                        st,
                        "SR",
                        p,
                        pay,
                        amount,
                        self._customer_bank(p),
                        self._receipt_ref(p.cur),
                        f"Receipt {it.ref}",
                    )
                else:
                    src = self._money_doc(
                        st,
                        "PP",
                        p,
                        pay,
                        amount,
                        self._supplier_bank(p, it.gbp),
                        "BACS",
                        f"Payment {it.ref}",
                    )
                self._alloc(st, src, it, amount, pay)
            else:
                # A payment on account at the opening date is used against the next invoice.
                day = self._biz(self.start + rng.randrange(1, 20))
                if not self._in(day):
                    continue
                if it.ledger == "S":
                    lines = self._sales_lines(p)
                    while p.cur == GBP and sum((a for *_, a, _ in lines), ZERO) * 2 < it.out:
                        lines = lines + self._sales_lines(p)[:1]
                    inv = self._ledger_doc(
                        st,
                        "SI",
                        p,
                        day,
                        lines,
                        ref=f"INV-{self._next('inv')}",
                        details=lines[0][2],
                        due=day + p.terms,
                    )
                else:
                    lines = self._purchase_lines(p, day)
                    while p.cur == GBP and sum((a for *_, a, _ in lines), ZERO) < it.out:
                        lines = lines + self._purchase_lines(p, day)[:1]
                    inv = self._ledger_doc(
                        st,
                        "PI",
                        p,
                        day,
                        lines,
                        ref=f"{ascii_upper(p.name)[:3]}-{rng.randrange(10000, 99999)}",
                        details=lines[0][2],
                        due=day + p.terms,
                    )
                self._alloc(st, it, inv, min(it.out, inv.out), day)
                if inv.out:
                    if it.ledger == "S":
                        self._settle_sale(st, inv, p, day, "full", lines)
                    else:
                        self._settle_purchase(st, inv, p, day, "full", lines)
            self._commit(st)

    # ---- routines --------------------------------------------------------------------------

    def _plan_opening_routines(self) -> None:
        """Settle the opening VAT, PAYE and accruals during the first weeks."""
        tb = self.tb
        st = Story()
        d = self._biz(self.start + 6)
        if self._in(d):
            lines = [
                ("JD", STAX, -tb[STAX]),
                ("JC", PTAX, tb[PTAX]),
                ("JC", VATLIAB, -tb[STAX] - tb[PTAX]),
            ]
            st.add(Journal(d, "VAT-OPEN", "VAT transfer - quarter before opening", lines, "vat"))
            pay = self._biz(self.start + 30)
            if self._in(pay):
                st.add(
                    self._gbp_doc(
                        "BP",
                        BANK,
                        pay,
                        "HMRC",
                        "HMRC VAT payment - opening quarter",
                        VATLIAB,
                        -tb[STAX] - tb[PTAX],
                    )
                )
        self._commit(st)
        st = Story()
        d = self._biz(self.start + 18)
        if self._in(d):
            st.add(
                self._gbp_doc(
                    "BP", BANK, d, "HMRC", "PAYE and NI - opening month", "2210", -tb["2210"]
                )
            )
            st.add(
                self._gbp_doc(
                    "BP",
                    BANK,
                    d,
                    "DD",
                    "Pension contributions - opening month",
                    "2230",
                    -tb["2230"],
                )
            )
        self._commit(st)
        st = Story()
        st.add(
            Journal(
                self.start,
                "ACC-OPENR",
                "Reverse opening accruals",
                [("JD", "2109", -tb["2109"]), ("JC", "7200", -tb["2109"])],
                "defectable",
            )
        )
        self._commit(st)

    def _bank_doc(
        self,
        type_: str,
        bank: str,
        day: int,
        ref: str,
        details: str,
        lines: list[Line],
        cur: str = GBP,
        deleted: bool = False,
    ) -> Doc:
        """A bank, cash or card payment or receipt (BP BR CP CR VP VR) in ``cur``."""
        rate = self._rate(cur, day)
        splits, totals = self._splits(lines, cur, rate)
        return Doc(
            type_,
            bank,
            day,
            cur,
            rate,
            splits,
            totals,
            bank=bank,
            ref=ref,
            details=clip_text(details, 60),
            deleted=deleted,
        )

    def _gbp_doc(
        self,
        type_: str,
        bank: str,
        day: int,
        ref: str,
        details: str,
        nominal: str,
        amount: Decimal,
        code: str = "T9",
    ) -> Doc:
        line = (nominal, 0, clip_text(details, 60), amount, code)
        return self._bank_doc(type_, bank, day, ref, details, [line])

    def _plan_month(self, first: int, keep: float, mandatory: bool) -> None:
        """Plan the recurring work of the month starting at ``first``."""
        rng = self.rng
        month_date = date.fromordinal(first)
        month = MONTHS[month_date.month - 1]
        tag = f"{month_date.year % 100:02d}{month_date.month:02d}"
        s = self.scale
        last = month_end(first)
        quarter_month = (month_date.month - self.opt.start_date.month) % 3

        def wanted(day: int) -> bool:
            # Routine work is sampled (keep) so that small files are not mostly routine.
            return day <= self.end and (mandatory or rng.random() < keep)

        def plan(*events: Event, phase: int = 0, reserve: int | None = None) -> None:
            if wanted(events[0].date):
                st = Story()
                for event in events:
                    if event.date <= self.end:
                        st.add(event, phase=phase, reserve=reserve)
                self._commit(st)

        # Overhead suppliers bill monthly or at the start of each VAT quarter.
        for sp in self.suppliers:
            if sp.kind == "overhead" and (sp.lines[0] == "monthly" or quarter_month == 0):
                day = self._biz(first + rng.randrange(0, 6))
                if wanted(day):
                    self._commit(self._story_purchase(day, sp, "full"))
        # Petty cash and the card statement depend on balances at their date.
        plan(Dyn(self._biz(first + 2), self._petty_cash), reserve=2)
        plan(Dyn(self._biz(first + 4), self._card_repayment), reserve=2)
        rates = round_penny(Decimal(rng.randrange(280, 300)) * s)
        plan(
            self._gbp_doc(
                "BP", BANK, self._biz(first + 9), "DD", f"Business rates {month}", "7103", rates
            )
        )
        loan = -self.bal["2300"]
        capital = round_penny(Decimal(520) * s)
        if loan > capital * 3:
            lines = [
                ("2300", 0, "Loan capital", capital, "T9"),
                ("7903", 0, "Loan interest", round_penny(loan * Decimal("0.075") / 12), "T9"),
            ]
            plan(
                self._bank_doc(
                    "BP", BANK, self._biz(first + 14), "DD", f"Loan repayment {month}", lines
                )
            )
        # Month end: payroll, depreciation, accruals, bank charges, VAT quarter.
        payday = last
        while date.fromordinal(payday).weekday() >= 5:
            payday -= 1
        if payday >= first and wanted(payday):
            self._commit(self._payroll(payday, month, tag))
        dep = [("JD", "8000", sum((a for _, a in self.depreciation), ZERO))]
        dep += [("JC", code, amount) for code, amount in self.depreciation]
        plan(Journal(last, f"DEP{tag}", f"Depreciation {month}", dep, "defectable"), phase=1)
        accrued = round_penny(Decimal(rng.randrange(380, 620)) * s)
        plan(
            Journal(
                last,
                f"ACC{tag}",
                f"Accrue electricity {month}",
                [("JD", "7200", accrued), ("JC", "2109", accrued)],
                "defectable",
            ),
            Journal(
                last + 1,
                f"ACC{tag}R",
                f"Reverse accrual {month}",
                [("JD", "2109", accrued), ("JC", "7200", accrued)],
                "defectable",
            ),
            phase=1,
        )
        charges = round_penny(from_cents(rng.randrange(1500, 6500)) * min(s, Decimal(20)))
        plan(
            self._gbp_doc("BP", BANK, last, "CHG", f"Bank charges {month}", "7901", charges),
            phase=1,
        )
        # The euro account is charged in euros: a foreign bank payment.
        fee = [("7901", 0, f"Account fee {month}", from_cents(rng.randrange(900, 2500, 50)), "T9")]
        plan(
            self._bank_doc("BP", EURBANK, last, "CHG", f"Euro account fee {month}", fee, "EUR"),
            phase=1,
        )
        if quarter_month == 2:
            plan(Dyn(last, self._vat_transfer), phase=1, reserve=4)
            plan(Dyn(last, self._treasury), phase=1, reserve=4)

    def _payroll(self, day: int, month: str, tag: str) -> Story:
        """Month-end payroll journal with the net pay, PAYE/NI and pension payments."""
        rng = self.rng
        st = Story()
        gross = round_penny(
            Decimal(rng.randrange(2500, 2800)) * self.scale + from_cents(rng.randrange(100))
        )
        er_ni = round_penny(gross * Decimal("0.105"))
        er_pen = round_penny(gross * Decimal("0.03"))
        paye = round_penny(gross * Decimal("0.19"))
        ee_pen = round_penny(gross * Decimal("0.05"))
        net = gross - paye - ee_pen
        lines = [
            ("JD", "7000", gross),
            ("JD", "7006", er_ni),
            ("JD", "7007", er_pen),
            ("JC", "2210", paye + er_ni),
            ("JC", "2230", ee_pen + er_pen),
            ("JC", "2220", net),
        ]
        st.add(Journal(day, f"PAY{tag}", f"Payroll {month}", lines, "defectable"))
        st.add(self._gbp_doc("BP", BANK, day, "BACS", f"Net wages {month}", "2220", net))
        nxt = month_end(day) + 1
        hmrc = self._biz(nxt + 21)
        if self._in(hmrc):
            st.add(
                self._gbp_doc(
                    "BP", BANK, hmrc, "HMRC", f"PAYE and NI {month}", "2210", paye + er_ni
                )
            )
        pension = self._biz(nxt + 14)
        if self._in(pension):
            st.add(
                self._gbp_doc(
                    "BP",
                    BANK,
                    pension,
                    "DD",
                    f"Pension contributions {month}",
                    "2230",
                    ee_pen + er_pen,
                )
            )
        return st

    # ---- dynamic events (amounts from balances at their date) ------------------------------

    def _petty_cash(self, day: int) -> None:
        """Top the float up from the bank, or bank the cash takings above it."""
        float_ = round_penny(Decimal(300) * min(self.scale, Decimal(20)))
        amount = float_ - self.bal[CASH]
        if amount > 0:
            self._emit_journal(
                Journal(
                    day,
                    "TRF",
                    "Cash withdrawal for petty cash",
                    [("JC", BANK, amount), ("JD", CASH, amount)],
                )
            )
        elif amount < 0:
            self._emit_journal(
                Journal(
                    day,
                    "TRF",
                    "Cash takings banked",
                    [("JC", CASH, -amount), ("JD", BANK, -amount)],
                )
            )

    def _card_repayment(self, day: int) -> None:
        amount = -self.bal[CARD]
        if amount > 0:
            self._emit_journal(
                Journal(
                    day,
                    "TRF",
                    "Credit card statement repayment",
                    [("JC", BANK, amount), ("JD", CARD, amount)],
                )
            )

    def _treasury(self, day: int) -> None:
        """Quarter end: sweep euros to sterling, and surplus sterling to the deposit account."""
        euros = round_penny(self.bal[EURBANK] * Decimal("0.7"))
        if euros > 1000:
            self._emit_journal(
                Journal(
                    day,
                    "TRF",
                    "Transfer from euro account",
                    [("JC", EURBANK, euros), ("JD", BANK, euros)],
                )
            )
        elif euros < 0:
            top_up = round_penny(-self.bal[EURBANK] + Decimal(5000) * self.scale)
            self._emit_journal(
                Journal(
                    day,
                    "TRF",
                    "Transfer to euro account",
                    [("JC", BANK, top_up), ("JD", EURBANK, top_up)],
                )
            )
        surplus = round_penny((self.bal[BANK] - Decimal(60000) * self.scale) / 2)
        if surplus > 1000:
            self._emit_journal(
                Journal(
                    day,
                    "TRF",
                    "Transfer to deposit account",
                    [("JC", BANK, surplus), ("JD", DEPOSIT, surplus)],
                )
            )

    def _vat_transfer(self, day: int) -> None:
        """Clear the VAT control accounts into the VAT liability and plan the payment."""
        stax, ptax = self.bal[STAX], self.bal[PTAX]
        lines: list[tuple[str, str, Decimal]] = []
        if stax:
            lines.append(("JD", STAX, -stax) if stax < 0 else ("JC", STAX, stax))
        if ptax:
            lines.append(("JC", PTAX, ptax) if ptax > 0 else ("JD", PTAX, -ptax))
        due = stax + ptax
        if due:
            lines.append(("JC", VATLIAB, -due) if due < 0 else ("JD", VATLIAB, due))
        if len(lines) < 2:
            return
        month = date.fromordinal(day)
        label = f"VAT return {MONTHS[month.month - 1][:3]} {month.year}"
        self._emit_journal(
            Journal(
                day,
                f"VAT{month.year % 100:02d}{month.month:02d}",
                label,
                sorted(lines, key=lambda ln: ln[0] == "JC"),
                "vat",
            )
        )
        pay = self._biz(month_end(day + 1) + 7)
        if self._in(pay):
            if due < 0:
                doc = self._gbp_doc(
                    "BP", BANK, pay, "HMRC", f"HMRC VAT payment - {label}", VATLIAB, -due
                )
            else:
                doc = self._gbp_doc(
                    "BR", BANK, pay, "HMRC", f"HMRC VAT repayment - {label}", VATLIAB, due
                )
            self._schedule(pay, 0, 1, doc)

    # ---- the day loop ----------------------------------------------------------------------

    def _simulate(self) -> None:
        """Run the days: start stories within the header budget, then emit the day's events."""
        rng = self.rng
        ndays = self.end - self.start + 1
        weights = []
        for i in range(ndays):
            wd = date.fromordinal(self.start + i).weekday()
            weights.append(1.0 if wd < 5 else 0.12 if wd == 5 else 0.04)
        suffix = [0.0] * (ndays + 1)
        for i in range(ndays - 1, -1, -1):
            suffix[i] = suffix[i + 1] + weights[i]
        # Routine work is kept in proportion for small files, so they still show trade.
        per_month = self.target / self.months
        keep = min(1.0, 0.22 * per_month / 45)
        showcase = self.target >= 100
        self._plan_opening_stories()
        self._plan_opening_routines()
        if showcase:
            self._plan_showcase()
        kinds = [k for k, _ in _STORY_WEIGHTS]
        cum = cumulative([w for _, w in _STORY_WEIGHTS])
        for i in range(ndays):
            day = self.start + i
            if i == 0 or date.fromordinal(day).day == 1:
                self._plan_month(day, keep, mandatory=showcase and i == 0)
            free = self.target - self.emitted - self.reserved
            quota = free * weights[i] / suffix[i]
            used = 0
            while free > 0:
                gap = quota - used
                if gap <= 0 or (gap < _AVG_STORY and rng.random() * _AVG_STORY > gap):
                    break
                kind = rng.choices(kinds, cum_weights=cum)[0]
                st = self._random_story(day, kind)
                if not self._commit(st):
                    st = self._story_bank(day, rng.choice(_SINGLE_KINDS))
                    if not self._commit(st):
                        break
                used += st.headers
                free = self.target - self.emitted - self.reserved
            self._drain(day)
            if i == ndays - 1:
                # Whatever budget is left becomes single-header bank items on the last day.
                while self.target - self.emitted - self.reserved > 0:
                    self._commit(self._story_bank(day, rng.choice(_SINGLE_KINDS)))
                    self._drain(day)
        assert not self.heap, "events left after the end date"
        assert self.emitted == self.target, (self.emitted, self.target)

    def _plan_showcase(self) -> None:
        """One story of each kind in the first weeks, so every file shows every type."""
        gbp = [c for c in self.active_customers if c.cur == GBP]
        eur = next(c for c in self.active_customers if c.cur == "EUR")
        usd = next(c for c in self.active_customers if c.cur == "USD")
        trade = [s for s in self.trade_suppliers if s.cur == GBP] or self.trade_suppliers
        eur_s = next((s for s in self.trade_suppliers if s.cur == "EUR"), trade[0])
        d = self.start
        plans: list[Callable[[], Story]] = [
            lambda: self._story_sale(self._biz(d + 1), gbp[0], "full"),
            lambda: self._story_sale(self._biz(d + 2), eur, "full"),
            lambda: self._story_sale(self._biz(d + 3), usd, "part_only"),
            lambda: self._story_sale(self._biz(d + 3), gbp[1 % len(gbp)], "credit"),
            lambda: self._story_sale(self._biz(d + 4), gbp[0], "discount"),
            lambda: self._story_sale(self._biz(d + 5), gbp[2 % len(gbp)], "onacc"),
            lambda: self._story_sale(self._biz(d + 6), gbp[1 % len(gbp)], "deleted"),
            lambda: self._story_sale_refund(self._biz(d + 7), gbp[0]),
            lambda: self._story_statement(self._biz(d + 8), gbp[2 % len(gbp)]),
            lambda: self._story_purchase(self._biz(d + 2), trade[0], "full"),
            lambda: self._story_purchase(self._biz(d + 3), eur_s, "full"),
            lambda: self._story_purchase(self._biz(d + 4), trade[0], "credit"),
            lambda: self._story_purchase(self._biz(d + 5), trade[-1], "discount"),
            lambda: self._story_purchase(self._biz(d + 6), trade[0], "onacc"),
            lambda: self._story_purchase_refund(self._biz(d + 7), trade[-1]),
            lambda: self._story_bank(self._biz(d + 1), "BP", 0),
            lambda: self._story_bank(self._biz(d + 2), "BR", 0),
            lambda: self._story_bank(self._biz(d + 3), "CP", 0),
            lambda: self._story_bank(self._biz(d + 4), "CR", 0),
            lambda: self._story_bank(self._biz(d + 5), "VP", 1),
            lambda: self._story_bank(self._biz(d + 6), "VR", 0),
            lambda: self._story_bank(self._biz(d + 9), "VP", 3),
            lambda: self._story_journal(self._biz(d + 9)),
        ]
        for plan in plans:
            self._commit(plan())

    def _drain(self, day: int) -> None:
        heap = self.heap
        while heap and heap[0][0] == day:
            _, _, _, reserve, event = heapq.heappop(heap)
            self.reserved -= reserve
            if isinstance(event, Doc):
                self._emit_doc(event)
            elif isinstance(event, Journal):
                self._emit_journal(event)
            else:
                event.fn(day)
        assert not heap or heap[0][0] > day

    # ---- emitting headers ------------------------------------------------------------------

    def _count(self, type_: str, day: int) -> int:
        number = self.next_header
        self.next_header += 1
        self.emitted += 1
        self.counts[type_] += 1
        if self.first_date is None:
            self.first_date = day
        self.last_date = day
        return number

    def _emit_doc(self, doc: Doc) -> None:
        """Number, post and write one planned non-journal header."""
        t = doc.type
        number = self._count(t, doc.date)
        item = doc.item
        if item is not None:
            item.number = number
        net, tax, gross, fnet, ftax, fgross = doc.totals
        foreign = doc.cur != GBP
        splits = []
        for nominal, dept, details, s_net, code, s_tax, s_fnet, s_ftax in doc.splits:
            split: dict[str, Any] = {
                "split_number": self.next_split,
                "nominal_code": nominal,
                "department": dept,
                "details": details,
                "net": money_str(s_net),
                "tax_code": code,
                "tax": money_str(s_tax),
            }
            if foreign:
                split["foreign_net"] = money_str(s_fnet)  # type: ignore[arg-type]
                split["foreign_tax"] = money_str(s_ftax)  # type: ignore[arg-type]
            splits.append(split)
            self.next_split += 1
        if item is not None:
            out = item.out
            status = "paid" if not out else "unpaid" if out == item.cap else "part"
            item.party.balance += -out if item.source else out
            if out and self.mode == "opening_balances":
                self.closing_items.append(item)
        else:
            out, status = ZERO, "paid"
        if not doc.deleted:
            self._post(doc, net, tax, gross)
        h: dict[str, Any] = {
            "header_number": number,
            "type": t,
            "account_ref": doc.account,
            "bank_code": doc.bank,
            "journal_group": None,
            "date": self._ds(doc.date),
            "due_date": self._ds(doc.due) if doc.due is not None else None,
            "reference": doc.ref,
            "extra_reference": doc.xref,
            "details": doc.details,
            "currency": doc.cur,
            "exchange_rate": "1" if not foreign else format(doc.rate, "f"),
            "net": money_str(net),
            "tax": money_str(tax),
            "gross": money_str(gross),
        }
        if foreign:
            h["foreign_net"] = money_str(fnet)
            h["foreign_tax"] = money_str(ftax)
            h["foreign_gross"] = money_str(fgross)
        h["outstanding"] = money_str(out)
        h["paid_status"] = status
        h["deleted"] = doc.deleted
        if t in BANK_TYPES and not doc.deleted and doc.date + 12 <= self.end:
            h["bank_reconciled_on"] = self._ds(doc.date + self.rng.randrange(1, 8))
        h["user_name"] = self._user(t)
        h["splits"] = splits
        h["allocations"] = []
        self._write(h, item if item is not None and item.source else None, "")

    def _user(self, t: str) -> str:
        if t[0] == "S":
            return "S.OKAFOR" if self.rng.random() < 0.8 else "MANAGER"
        if t[0] == "P":
            return "J.PRICE" if self.rng.random() < 0.85 else "MANAGER"
        return "ACCOUNTS" if self.rng.random() < 0.7 else "MANAGER"

    def _post(self, doc: Doc, net: Decimal, tax: Decimal, gross: Decimal) -> None:
        """Apply the double entry of docs/formats/sage50-json.md §8.4 to the running balances."""
        bal = self.bal
        t = doc.type
        if t in ("SI", "BR", "CR", "VR"):
            bal[DEBTORS if t == "SI" else doc.account] += gross
            for s in doc.splits:
                bal[s[0]] -= s[3]
                bal[STAX] -= s[5]
        elif t in ("SC", "SD"):
            bal[DEBTORS] -= gross
            for s in doc.splits:
                bal[s[0]] += s[3]
                bal[STAX] += s[5]
        elif t in ("PI", "BP", "CP", "VP"):
            bal[CREDITORS if t == "PI" else doc.account] -= gross
            for s in doc.splits:
                bal[s[0]] += s[3]
                bal[PTAX] += s[5]
        elif t in ("PC", "PD"):
            bal[CREDITORS] += gross
            for s in doc.splits:
                bal[s[0]] -= s[3]
                bal[PTAX] -= s[5]
        else:
            assert doc.bank is not None
            # Money in: SR SA (customer pays) and PR (supplier refunds); otherwise money out.
            money_in = t in ("SR", "SA", "PR")
            control = DEBTORS if t[0] == "S" else CREDITORS
            bal[doc.bank] += gross if money_in else -gross
            bal[control] += -gross if money_in else gross

    def _emit_journal(self, journal: Journal) -> None:
        """Number, post and write the JD/JC headers of a journal."""
        group = self.next_header
        ds = self._ds(journal.date)
        for kind, nominal, amount in journal.lines:
            assert amount > 0, journal.lines
            number = self._count(kind, journal.date)
            self.bal[nominal] += amount if kind == "JD" else -amount
            text = money_str(amount)
            h = {
                "header_number": number,
                "type": kind,
                "account_ref": nominal,
                "bank_code": None,
                "journal_group": group,
                "date": ds,
                "due_date": None,
                "reference": journal.ref,
                "extra_reference": "",
                "details": journal.details,
                "currency": GBP,
                "exchange_rate": "1",
                "net": text,
                "tax": "0.00",
                "gross": text,
                "outstanding": "0.00",
                "paid_status": "paid",
                "deleted": False,
                "user_name": "MANAGER",
                "splits": [
                    {
                        "split_number": self.next_split,
                        "nominal_code": nominal,
                        "department": 0,
                        "details": journal.details,
                        "net": text,
                        "tax_code": "T9",
                        "tax": "0.00",
                    }
                ],
                "allocations": [],
            }
            self.next_split += 1
            self._write(h, None, journal.tag)

    def _write(self, h: dict[str, Any], source: Item | None, tag: str) -> None:
        """Serialise a header now, or park it until its allocation targets have numbers."""
        if self.out is None:
            return
        buf = self.buffer
        if source is None or self._resolve(h, source):
            # Only a waiting source is kept as a dict; everything behind it waits as text.
            text = self._line(h, tag, self.written + len(buf))
            if buf:
                buf.append((text, None, None, ""))
            else:
                self.out.write((",\n" if self.written else "") + text)
                self.written += 1
        else:
            buf.append((None, h, source, tag))
        if buf:
            self._flush()

    def _resolve(self, h: dict[str, Any], source: Item) -> bool:
        if any(t.number is None for t, _, _ in source.allocs):
            return False
        ds = self._ds
        h["allocations"] = [
            {"header_number": t.number, "amount": money_str(a), "date": ds(d)}
            for t, a, d in source.allocs
        ]
        return True

    def _line(self, h: dict[str, Any], tag: str, index: int) -> str:
        if self.defects is not None:
            self.defects.offer(index, h, tag)
        return dump_line(h)

    def _flush(self, final: bool = False) -> None:
        """Write buffered headers in order up to the first one still waiting for a target."""
        buf = self.buffer
        while buf:
            text, h, source, tag = buf[0]
            if text is None:
                assert h is not None
                assert source is not None
                if not self._resolve(h, source):
                    assert not final, "an allocation target was never written"
                    return
                text = self._line(h, tag, self.written)
            buf.popleft()
            self.out.write((",\n" if self.written else "") + text)
            self.written += 1

    # ---- the final file --------------------------------------------------------------------

    def _write_file(self, trail: Path) -> Path | None:
        """Write master data and opening balances, then copy the trail in (with defects)."""
        mode = self.mode
        with_balances = mode != "records_only"
        if mode == "full_history":
            as_of = self.start - 1
            last = self.last_date or self.start
        else:
            as_of = self.end
            last = self.end
        exported = date.fromordinal(max(last, as_of) + 2)
        offset = "+01:00" if 4 <= exported.month <= 10 else "+00:00"
        self.company["exported_at"] = f"{exported.isoformat()}T17:42:10{offset}"
        for party in self.customers + self.suppliers:
            party.record["balance"] = money_str(party.balance) if with_balances else None
        opening = self._opening_document(as_of) if with_balances else None
        if with_balances:
            # Open items settled during the history are part of their party's balance.
            for it in self.opening_items:
                it.party.record["balance"] = money_str(
                    Decimal(it.party.record["balance"]) + (-it.out if it.source else it.out)
                )
        nominals = []
        for code, name, role in CHART:
            rec: dict[str, Any] = {
                "code": code,
                "name": name,
                "type": nominal_type(code),
                "control_role": role,
                "inactive": code in INACTIVE_NOMINALS,
                "balance": money_str(self.bal[code]) if with_balances else None,
            }
            nominals.append(rec)
        banks = self._bank_records()
        replacements: dict[int, str] = {}
        sidecar = None
        if self.defects is not None:
            replacements, sidecar = self.defects.apply(self.path.name, self.seed)
        with self.path.open("w", encoding="utf-8", newline="\n") as out:
            out.write('{"format":"sage50-json","format_version":"1.0",')
            out.write(f'"history_mode":{dump_line(mode)},\n"company":{dump_line(self.company)},\n')
            for key, rows in (
                ("nominal_accounts", nominals),
                ("departments", [{"number": n, "name": nm} for n, nm in DEPARTMENTS]),
                ("tax_codes", [tax_record(t) for t in TAX_CODES]),
                ("bank_accounts", banks),
                ("customers", [c.record for c in self.customers]),
                ("suppliers", [s.record for s in self.suppliers]),
                ("products", [p.record for p in self.products]),
            ):
                out.write(f'"{key}":[\n' + ",\n".join(dump_line(r) for r in rows) + "\n],\n")
            if opening is None:
                out.write('"opening_balances":null,\n')
            else:
                out.write('"opening_balances":{' + f'"as_of":{dump_line(opening["as_of"])},\n')
                for i, key in enumerate(
                    ("trial_balance", "customer_open_items", "supplier_open_items")
                ):
                    rows = opening[key]
                    body = ",\n".join(dump_line(r) for r in rows)
                    sep = ",\n" if i < 2 else ""
                    out.write(f'"{key}":[\n{body}\n]{sep}' if rows else f'"{key}":[]{sep}')
                out.write("},\n")
            if not self.written:
                out.write('"transactions":[]}\n')
            else:
                out.write('"transactions":[\n')
                with trail.open("r", encoding="utf-8", newline="\n") as src:
                    if not replacements:
                        while chunk := src.read(1 << 20):
                            out.write(chunk)
                    else:
                        for index, line in enumerate(src):
                            if index in replacements:
                                tail = ",\n" if line.endswith(",\n") else ""
                                line = replacements[index] + tail
                            out.write(line)
                out.write("\n]}\n")
        if sidecar is None:
            return None
        expected = self.path.with_name(self.path.name + ".expected.json")
        expected.write_text(
            json.dumps(sidecar, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        return expected

    def _opening_document(self, as_of: int) -> dict[str, Any]:
        """The opening_balances object: the TB and open items at ``as_of``."""
        if self.mode == "full_history":
            tb_values = self.tb
            items = self.opening_items
            allocations = True
        else:
            tb_values = {code: self.bal[code] for code, _, _ in CHART}
            items = sorted(
                self.closing_items + [it for it in self.opening_items if it.out],
                key=lambda it: it.number or 0,
            )
            allocations = False
        tb = []
        for code, _, _ in CHART:
            value = tb_values.get(code, ZERO)
            if value:
                tb.append(
                    {
                        "nominal_code": code,
                        "debit": money_str(max(value, ZERO)),
                        "credit": money_str(max(-value, ZERO)),
                    }
                )
        result: dict[str, Any] = {
            "as_of": self._ds(as_of),
            "trial_balance": tb,
            "customer_open_items": [],
            "supplier_open_items": [],
        }
        for it in items:
            if allocations:
                gross = it.meta["gross"] if it.meta else it.cap
                outstanding = it.cap
                base = it.gbp
                due = it.meta["due"] if it.meta else None
                details = it.meta["details"] if it.meta else ""
                allocs = [
                    {"header_number": t.number, "amount": money_str(a), "date": self._ds(d)}
                    for t, a, d in it.allocs
                ]
            else:
                gross = it.cap if not it.meta else it.meta["gross"]
                outstanding = it.out
                base = it.carry()
                due = it.meta["due"] if it.meta else None
                details = it.meta["details"] if it.meta else ""
                allocs = []
            record = {
                "header_number": it.number,
                "type": it.type,
                "account_ref": it.party.ref,
                "date": self._ds(it.date),
                "due_date": self._ds(due) if due is not None else None,
                "reference": it.ref,
                "details": details,
                "currency": it.cur,
                "exchange_rate": "1" if it.cur == GBP else format(it.rate, "f"),
                "gross": money_str(gross),
                "outstanding": money_str(outstanding),
                "base_outstanding": money_str(base),
                "allocations": allocs,
            }
            key = "customer_open_items" if it.ledger == "S" else "supplier_open_items"
            result[key].append(record)
        return result

    def _bank_records(self) -> list[dict[str, Any]]:
        """The bank accounts (sort codes, account numbers, IBAN for the euro account)."""
        rng = random.Random(f"banks:{self.seed}")

        def account() -> tuple[str, str]:
            sort = f"{rng.randrange(20, 99)}-{rng.randrange(10, 99)}-{rng.randrange(10, 99)}"
            return sort, "".join(str(rng.randrange(10)) for _ in range(8))

        def iban(sort: str, number: str) -> str:
            bban = "PNBK" + sort.replace("-", "") + number
            digits = "".join(str(int(ch, 36)) for ch in bban + "GB00")
            return f"GB{98 - int(digits) % 97:02d}{bban}"

        records = []
        for code, name, kind, cur, bank_name in (
            (BANK, "Bank Current Account", "current", GBP, "Pennine National Bank plc"),
            (DEPOSIT, "Bank Deposit Account", "current", GBP, "Pennine National Bank plc"),
            (CASH, "Petty Cash", "cash", GBP, None),
            (CARD, "Company Credit Card", "credit_card", GBP, "Pennine National Bank plc"),
            (EURBANK, "Bank Euro Account", "current", "EUR", "Pennine National Bank plc"),
        ):
            sort: str | None = None
            number: str | None = None
            ib: str | None = None
            bic: str | None = None
            if kind == "current":
                sort, number = account()
                if cur != GBP:
                    ib, bic = iban(sort, number), "PNBKGB2L"
            records.append(
                {
                    "nominal_code": code,
                    "name": name,
                    "bank_type": kind,
                    "bank_name": bank_name,
                    "sort_code": sort,
                    "account_number": number,
                    "iban": ib,
                    "bic": bic,
                    "currency": cur,
                    "inactive": False,
                }
            )
        return records
