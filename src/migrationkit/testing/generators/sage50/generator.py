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
import unicodedata
from collections import deque
from collections.abc import Callable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import attrs

__all__ = [
    "DEFECT_KINDS",
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

#: Defect kind -> primary finding code (docs/formats/sage50-json.md §12).
DEFECT_KINDS: Mapping[str, str] = {
    "unbalanced_journal": "JOURNAL_UNBALANCED",
    "unknown_nominal": "UNKNOWN_NOMINAL",
    "unknown_tax_code": "UNKNOWN_TAX_CODE",
    "gross_mismatch": "HEADER_TOTALS",
    "duplicate_header_number": "DUPLICATE_HEADER_NUMBER",
    "over_allocation": "OVER_ALLOCATION",
    "malformed_date": "DATE_INVALID",
    "float_money": "MONEY_FORMAT",
    "unknown_account_ref": "UNKNOWN_ACCOUNT_REF",
}

# Codes a correct validator may also raise as a consequence of each defect. Each defect is
# placed where its knock-on effects are few (see _DefectPicker), so these lists are short.
_MAY_ALSO: Mapping[str, tuple[str, ...]] = {
    # The changed line no longer balances the trail nor its nominal's stated balance.
    "unbalanced_journal": ("TRAIL_UNBALANCED", "NOMINAL_BALANCE_MISMATCH"),
    # The posting moves to a code without a stated balance; the old code loses it.
    "unknown_nominal": ("NOMINAL_BALANCE_MISMATCH", "TRAIL_UNBALANCED"),
    # The rate of an unknown code is unknown, so a validator may also doubt the tax.
    "unknown_tax_code": ("TAX_CALCULATION",),
    # The debtors leg posts the changed gross, and the invoice's cap changes.
    "gross_mismatch": (
        "TRAIL_UNBALANCED",
        "NOMINAL_BALANCE_MISMATCH",
        "ACCOUNT_BALANCE_MISMATCH",
        "OUTSTANDING_MISMATCH",
        "OVER_ALLOCATION",
        "LEDGER_CONTROL_MISMATCH",
    ),
    # Both headers are bank payments/receipts: nothing refers to them.
    "duplicate_header_number": (),
    # Source and target outstanding no longer add up, nor the customer's balance.
    "over_allocation": (
        "OUTSTANDING_MISMATCH",
        "ACCOUNT_BALANCE_MISMATCH",
        "LEDGER_CONTROL_MISMATCH",
    ),
    # A validator that cannot read the date may also fail the history-mode window checks.
    "malformed_date": ("SCHEMA_VIOLATION", "HISTORY_MODE", "DATE_OUT_OF_RANGE"),
    # A validator that refuses the number may treat the split as missing its amount.
    "float_money": (
        "SCHEMA_VIOLATION",
        "SPLIT_TOTALS",
        "TRAIL_UNBALANCED",
        "NOMINAL_BALANCE_MISMATCH",
    ),
    # The invoice leaves its customer's ledger: the balance and control checks move.
    "unknown_account_ref": (
        "ACCOUNT_BALANCE_MISMATCH",
        "CURRENCY",
        "LEDGER_CONTROL_MISMATCH",
    ),
}

_UNKNOWN_NOMINAL = "7399"
_UNKNOWN_TAX_CODE = "T99"
_UNKNOWN_ACCOUNT = "ZZNOACCT"
_DEFECT_DELTA = Decimal("10.00")


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
        if self.suppliers is not None and self.suppliers < len(_OVERHEAD_SUPPLIERS) + 2:
            raise ValueError(f"suppliers must be >= {len(_OVERHEAD_SUPPLIERS) + 2}")
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


# --------------------------------------------------------------------------------------------
# Money, dates and small helpers

_CENT = Decimal("0.01")
_Z = Decimal("0.00")
_ONE = Decimal(1)
_GBP = "GBP"


def _q(value: Decimal) -> Decimal:
    return value.quantize(_CENT, ROUND_HALF_UP)


def _m(value: Decimal) -> str:
    # Adding 0.00 fixes the scale at two places and turns a negative zero into "0.00".
    return format(value + _Z, "f")


def _cents(n: int) -> Decimal:
    return Decimal(n).scaleb(-2)


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def _month_end(o: int) -> int:
    d = date.fromordinal(o)
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return nxt.toordinal() - 1


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, 1)


# Letters that NFKD does not split into an ASCII base letter.
_TRANSLIT = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe"} | dict(zip("øØłŁđ", "oOlLd", strict=True))
)


def _ascii_upper(text: str) -> str:
    """Upper-case ASCII letters and digits of ``text``, for account refs and stock codes."""
    flat = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    return "".join(ch for ch in flat if ch.isascii() and ch.isalnum()).upper()


# --------------------------------------------------------------------------------------------
# Reference data: the chart, tax codes, departments, names

# (code, name, control role)
_CHART: tuple[tuple[str, str, str | None], ...] = (
    ("0020", "Plant and Machinery", None),
    ("0021", "Plant/Machinery Depreciation", None),
    ("0030", "Office Equipment", None),
    ("0031", "Office Equipment Depreciation", None),
    ("0040", "Furniture and Fixtures", None),
    ("0041", "Furniture/Fixture Depreciation", None),
    ("0050", "Motor Vehicles", None),
    ("0051", "Motor Vehicles Depreciation", None),
    ("1001", "Stock", None),
    ("1100", "Debtors Control Account", "debtors_control"),
    ("1103", "Prepayments", None),
    ("1200", "Bank Current Account", None),
    ("1210", "Bank Deposit Account", None),
    ("1230", "Petty Cash", None),
    ("1240", "Company Credit Card", None),
    ("1250", "Bank Euro Account", None),
    ("2100", "Creditors Control Account", "creditors_control"),
    ("2109", "Accruals", None),
    ("2200", "Sales Tax Control Account", "sales_tax_control"),
    ("2201", "Purchase Tax Control Account", "purchase_tax_control"),
    ("2202", "VAT Liability", "vat_liability"),
    ("2210", "P.A.Y.E. and N.I.", None),
    ("2220", "Net Wages", None),
    ("2230", "Pension Fund", None),
    ("2300", "Bank Loan", None),
    ("3000", "Ordinary Shares", None),
    ("3200", "Profit and Loss Account", "retained_earnings"),
    ("4000", "Sales - UK Trade", "default_sales"),
    ("4009", "Discounts Allowed", "sales_discount"),
    ("4010", "Sales - Online Marketplaces", None),
    ("4020", "Sales - Export", None),
    ("4200", "Sales - Design and Merchandising", None),
    ("4900", "Miscellaneous Income", None),
    ("4902", "Commissions Received", None),
    ("4903", "Insurance Claims", None),
    ("4904", "Rent Income", None),
    ("4905", "Distribution and Carriage", None),
    ("5000", "Materials Purchased", None),
    ("5001", "Materials Imported", None),
    ("5009", "Discounts Taken", "purchase_discount"),
    ("5100", "Carriage Inwards", None),
    ("6100", "Sales Commissions", None),
    ("6201", "Advertising", None),
    ("6900", "Miscellaneous Expenses", None),
    ("7000", "Gross Wages", None),
    ("7006", "Employers N.I.", None),
    ("7007", "Employers Pensions", None),
    ("7100", "Rent", None),
    ("7102", "Water Rates", None),
    ("7103", "General Rates", None),
    ("7104", "Premises Insurance", None),
    ("7200", "Electricity", None),
    ("7201", "Gas", None),
    ("7300", "Fuel and Oil", None),
    ("7400", "Travelling", None),
    ("7402", "Hotels", None),
    ("7406", "Subsistence", None),
    ("7500", "Printing", None),
    ("7501", "Postage and Carriage", None),
    ("7502", "Telephone", None),
    ("7503", "Internet and Software", None),
    ("7504", "Office Stationery", None),
    ("7600", "Legal Fees", None),
    ("7601", "Audit and Accountancy Fees", None),
    ("7700", "Equipment Hire", None),
    ("7800", "Repairs and Renewals", None),
    ("7801", "Cleaning", None),
    ("7901", "Bank Charges", None),
    ("7903", "Loan Interest Paid", None),
    ("7906", "Exchange Rate Variance", "exchange_variance"),
    ("8000", "Depreciation", None),
    ("8100", "Bad Debt Write Off", None),
    ("9998", "Suspense Account", "suspense"),
    ("9999", "Mispostings Account", "mispostings"),
)
_INACTIVE_NOMINALS = frozenset({"7700"})

_TYPE_RANGES = (
    (999, "fixed_assets"), (1999, "current_assets"), (2999, "liabilities"), (3999, "capital"),
    (4999, "sales"), (5999, "purchases"), (6999, "direct_expenses"), (9999, "overheads"),
)  # fmt: skip


def _nominal_type(code: str) -> str:
    value = int(code[:4])
    return next(kind for top, kind in _TYPE_RANGES if value <= top)


_DEBTORS, _CREDITORS, _STAX, _PTAX, _VATLIAB = "1100", "2100", "2200", "2201", "2202"
_FXVAR, _RETAINED = "7906", "3200"
_BANK, _DEPOSIT, _CASH, _CARD, _EURBANK = "1200", "1210", "1230", "1240", "1250"

# (code, rate, description, in_vat_return, ec_sales, ec_purchases, ec_type, reverse_charge)
_TAX_CODES: tuple[tuple[str, str, str, bool, bool, bool, str | None, bool], ...] = (
    ("T0", "0.00", "Zero rated", True, False, False, None, False),
    ("T1", "20.00", "Standard rate", True, False, False, None, False),
    ("T2", "0.00", "Exempt", True, False, False, None, False),
    ("T4", "0.00", "EC sales of goods", True, True, False, "goods", False),
    ("T5", "5.00", "Lower rate", True, False, False, None, False),
    ("T7", "0.00", "EC purchases of goods, zero rated", True, False, True, "goods", False),
    ("T8", "20.00", "EC purchases of goods, standard rated", True, False, True, "goods", False),
    ("T9", "0.00", "Transactions not involving VAT", False, False, False, None, False),
    ("T20", "20.00", "Reverse charge", True, False, False, None, True),
    ("T22", "0.00", "EC sales of services", True, True, False, "services", False),
    ("T23", "0.00", "EC purchases of services, zero", True, False, True, "services", False),
    ("T24", "20.00", "EC purchases of services, standard", True, False, True, "services", False),
)
_TAX_RATE = {code: Decimal(rate) / 100 for code, rate, *_ in _TAX_CODES}
# Format 1.0 carries no notional VAT: these codes always have tax 0.00
# (docs/formats/sage50-json.md §6).
_NO_TAX = frozenset(c[0] for c in _TAX_CODES if c[5] or c[7])

_DEPARTMENTS = (
    (1, "Trade Sales"), (2, "Online and Retail"), (3, "Export"),
    (4, "Warehouse and Distribution"), (5, "Administration"),
)  # fmt: skip

_SOURCES = frozenset({"SC", "SD", "SR", "SA", "PC", "PD", "PP", "PA"})
_BANK_TYPES = frozenset({"SR", "SA", "SP", "PP", "PA", "PR", "BP", "BR", "CP", "CR", "VP", "VR"})
_EU = ("FR", "DE", "DK", "IE", "ES", "PT", "NL", "FI", "AT")
_FOREIGN_PRICE = {"EUR": Decimal("1.17"), "USD": Decimal("1.28")}
_PACKS = (6, 6, 12, 12, 12, 18, 24, 24, 36, 48, 60, 72, 96, 144)

_UK_TOWNS = (
    ("Ashbourne", "Derbyshire", "DE6"), ("Bakewell", "Derbyshire", "DE45"),
    ("Harrogate", "North Yorkshire", "HG1"), ("Whitby", "North Yorkshire", "YO21"),
    ("Skipton", "North Yorkshire", "BD23"), ("Kendal", "Cumbria", "LA9"),
    ("Penrith", "Cumbria", "CA11"), ("Hexham", "Northumberland", "NE46"),
    ("Alnwick", "Northumberland", "NE66"), ("Ludlow", "Shropshire", "SY8"),
    ("Malvern", "Worcestershire", "WR14"), ("Frome", "Somerset", "BA11"),
    ("Totnes", "Devon", "TQ9"), ("Rye", "East Sussex", "TN31"), ("Oakham", "Rutland", "LE15"),
    ("Stamford", "Lincolnshire", "PE9"), ("Sherborne", "Dorset", "DT9"),
    ("Buxton", "Derbyshire", "SK17"), ("Keswick", "Cumbria", "CA12"),
    ("Marlborough", "Wiltshire", "SN8"), ("Cirencester", "Gloucestershire", "GL7"),
    ("Whitstable", "Kent", "CT5"), ("Southwold", "Suffolk", "IP18"), ("Holt", "Norfolk", "NR25"),
    ("Beverley", "East Yorkshire", "HU17"), ("Pitlochry", "Perthshire", "PH16"),
    ("St Andrews", "Fife", "KY16"), ("Tenby", "Pembrokeshire", "SA70"),
    ("Llandeilo", "Carmarthenshire", "SA19"), ("Hay-on-Wye", "Powys", "HR3"),
    ("Enniskillen", "County Fermanagh", "BT74"), ("Ilkley", "West Yorkshire", "LS29"),
    ("Saffron Walden", "Essex", "CB10"), ("Bridport", "Dorset", "DT6"),
    ("Leek", "Staffordshire", "ST13"), ("Morpeth", "Northumberland", "NE61"),
)  # fmt: skip
_UK_STREETS = (
    "High Street", "Market Place", "Church Street", "Bridge Street", "Station Road", "Mill Lane",
    "King Street", "Castle Street", "Victoria Road", "The Parade", "Sheep Street",
    "Silver Street", "Fore Street", "Chapel Walk", "North Road",
)  # fmt: skip
_UK_TRADES = (
    "Cookshop", "Home Store", "Kitchen Company", "Interiors", "Gift Shop", "Garden Centre",
    "Tableware", "Home and Living", "Emporium", "Trading Company", "Department Store",
    "Homewares", "Cook and Dine", "Hardware",
)  # fmt: skip
_UK_SURNAMES = (
    "Pemberton", "Hargreaves", "Ashworth", "Fairbairn", "Lockwood", "Thackeray", "Burgess",
    "Kettlewell", "Pennington", "Rushworth", "Ainsley", "Blackwood", "Cartwright", "Dimmock",
    "Eastwood", "Fenwick", "Gosling", "Hebblethwaite",
)  # fmt: skip
_UK_FIRST = (
    "Priya", "Gareth", "Hannah", "Tom", "Aisha", "Rhys", "Megan", "Callum", "Fiona", "Imran",
    "Chloe", "Owen", "Siân", "Niamh", "Ewan", "Zoë", "Dafydd", "Ruth",
)  # fmt: skip
# Names that must appear early so that every file shows Welsh, Irish and Gaelic spellings.
_UK_SPECIAL = (
    ("Siop Gegin Llŷn Cyf", "Pwllheli", "Gwynedd", "LL53"),
    ("Tŷ Cegin Aberaeron", "Aberaeron", "Ceredigion", "SA46"),
    ("Ó Néill Home and Kitchen Ltd", "Newry", "County Down", "BT34"),
    ("MacLeòid Home Store", "Stornoway", "Isle of Lewis", "HS1"),
    ("Crochendy Ceredigion Cyf", "Cardigan", "Ceredigion", "SA43"),
)

# country -> (currency, towns (town, region, postcode), name templates, surnames, phone, vat)
_FOREIGN: dict[str, tuple[str, tuple[tuple[str, str, str], ...], tuple[str, ...],
                          tuple[str, ...], str, str]] = {
    "FR": ("EUR",
           (("Lyon", "Rhône", "69002"), ("Annecy", "Haute-Savoie", "74000"),
            ("Besançon", "Doubs", "25000"), ("Nîmes", "Gard", "30000"),
            ("Angoulême", "Charente", "16000"), ("Orléans", "Loiret", "45000"),
            ("Sète", "Hérault", "34200"), ("Épinal", "Vosges", "88000")),
           ("Maison {s} SARL", "Cuisine et Céramique {t} SAS", "Épicerie Fine {s}",
            "La Table de {t} SARL", "Café {s} et Fils", "Comptoir {s} SAS"),
           ("Lefèvre", "Bérard", "Rousseau", "Mercier", "Faure", "Noël", "Bouvier", "Chéreau",
            "Lémery", "Dufrêne", "Gaëtan", "Hélie"),
           "+33 4 72 {a} {b}", "FR{d11}"),
    "DE": ("EUR",
           (("München", "Bayern", "80331"), ("Köln", "Nordrhein-Westfalen", "50667"),
            ("Düsseldorf", "Nordrhein-Westfalen", "40213"),
            ("Lübeck", "Schleswig-Holstein", "23552"), ("Nürnberg", "Bayern", "90402"),
            ("Würzburg", "Bayern", "97070"),
            ("Göttingen", "Niedersachsen", "37073")),
           ("{s} Haushaltswaren GmbH", "Küchenhaus {s} KG", "Schöner Wohnen {t} GmbH",
            "Porzellanhaus {s} e.K.", "Wohnkultur {s} GmbH"),
           ("Müller", "Weiß", "Groß", "Böhm", "Schäfer", "Krüger", "Köhler", "Jäger", "Löffler",
            "Fröhlich", "Strauß", "Gräf"),
           "+49 89 {a}{b}", "DE{d9}"),
    "DK": ("EUR",
           (("København", "Hovedstaden", "1620"), ("Aarhus", "Midtjylland", "8000"),
            ("Aalborg", "Nordjylland", "9000"), ("Odense", "Syddanmark", "5000"),
            ("Ærøskøbing", "Syddanmark", "5970")),
           ("{s} Design ApS", "{s} Køkken og Bolig ApS", "Boligbutikken {t} ApS",
            "Hjem og Have {s} A/S"),
           ("Søren Kjær", "Bjørnholm", "Ødegaard", "Mølgaard", "Højgaard", "Brøndum",
            "Skovgård", "Lærkesen"),
           "+45 33 {a} {b}", "DK{d8}"),
    "IE": ("EUR",
           (("Galway", "Co. Galway", "H91 E2K3"), ("Cork", "Co. Cork", "T12 X70A"),
            ("Kilkenny", "Co. Kilkenny", "R95 TX49"), ("Dingle", "Co. Kerry", "V92 FD79")),
           ("{s} Home and Kitchen Ltd", "{s} Cookshop", "The {t} Kitchen Store",
            "Teach {s} Homewares"),
           ("Ó Briain", "Ní Bhriain", "Ó Súilleabháin", "Mac Giolla", "Ó Ceallaigh",
            "Siobhán's", "Pádraig's"),
           "+353 91 {a} {b}", "IE{d7}W"),
    "ES": ("EUR",
           (("Logroño", "La Rioja", "26001"), ("A Coruña", "Galicia", "15001"),
            ("Cádiz", "Andalucía", "11001"), ("Málaga", "Andalucía", "29001"),
            ("León", "Castilla y León", "24001")),
           ("Cocina {s} S.L.", "Menaje {s} S.A.", "Hogar y Cerámica {t} S.L.",
            "La Despensa de {s}"),
           ("Peña", "Muñoz", "Ibáñez", "Núñez", "Gómez", "Sáenz", "Martín", "Vázquez"),
           "+34 941 {a} {b}", "ESB{d8}"),
    "PT": ("EUR",
           (("Porto", "Porto", "4000-322"), ("Coimbra", "Coimbra", "3000-150"),
            ("Évora", "Évora", "7000-505")),
           ("Cerâmica {s} Lda", "Casa {s} e Filhos Lda", "Loja da Cozinha {t}"),
           ("São João", "Magalhães", "Conceição", "Gonçalves", "Simões", "Antão"),
           "+351 22 {a} {b}", "PT{d9}"),
    "NL": ("EUR",
           (("Utrecht", "Utrecht", "3511 AB"), ("Haarlem", "Noord-Holland", "2011 VB"),
            ("Delft", "Zuid-Holland", "2611 GK")),
           ("Het Keukenhuis {t} B.V.", "{s} Wonen B.V.", "Kookwinkel {s}"),
           ("Van der Berg", "De Vries", "Bijlsma", "Van Dijk", "Smeets"),
           "+31 30 {a} {b}", "NL{d9}B01"),
    "FI": ("EUR",
           (("Turku", "Varsinais-Suomi", "20100"), ("Jyväskylä", "Keski-Suomi", "40100")),
           ("Keittiökauppa {s} Oy", "{s} Koti Oy"),
           ("Mäkinen", "Häkkinen", "Järvinen", "Törmä"),
           "+358 2 {a} {b}", "FI{d8}"),
    "AT": ("EUR",
           (("Graz", "Steiermark", "8010"), ("Innsbruck", "Tirol", "6020")),
           ("Küchen {s} GmbH", "{s} Wohnaccessoires OG"),
           ("Pölzl", "Fürst", "Grünwald", "Hölzl"),
           "+43 316 {a} {b}", "ATU{d8}"),
    "US": ("USD",
           (("Hudson", "NY", "12534"), ("Portland", "OR", "97205"), ("Asheville", "NC", "28801"),
            ("Santa Fe", "NM", "87501"), ("Burlington", "VT", "05401"),
            ("Savannah", "GA", "31401"), ("Boulder", "CO", "80302")),
           ("{t} Home Goods LLC", "{s} and Main Mercantile Inc", "{s} Kitchen Supply Co",
            "{t} Table and Home Inc", "Casa {s} Pottery Outlet LLC"),
           ("Maple", "Whitaker", "Delgado", "Peña", "Lindqvist", "Bergström", "Nakamura",
            "Renée"),
           "+1 828 555 {b}", ""),
}  # fmt: skip
_FOREIGN_FIRST = {
    "FR": ("Amélie", "Hélène", "François", "Gaëlle", "Jérôme"),
    "DE": ("Jürgen", "Jörg", "Käthe", "Björn", "Uwe"),
    "DK": ("Søren", "Åse", "Mette", "Bjørn", "Jørgen"),
    "IE": ("Siobhán", "Seán", "Aoife", "Pádraig", "Máire"),
    "ES": ("José", "Inés", "Begoña", "Ramón", "Lucía"),
    "PT": ("João", "Inês", "Conceição", "Gonçalo"),
    "NL": ("Joost", "Maaike", "Sanne", "Pieter"),
    "FI": ("Päivi", "Jyrki", "Sää", "Mikko"),
    "AT": ("Jürgen", "Kathrin", "Lukas", "Hölzl"),
    "US": ("Dana", "Marcus", "Renée", "Jordan", "Kai"),
}

# Trade supplier categories: (category, currency, country, name templates, default tax code)
_CATEGORIES = (
    ("stoneware", "GBP", "GB", ("{t} Stoneware Co Ltd", "{s} Pottery Ltd"), "T1"),
    ("cookware", "EUR", "DE", ("Küchenstahl {s} GmbH", "{s} Kochgeschirr GmbH"), "T8"),
    ("textiles", "EUR", "DK", ("{s} Væveri ApS", "Hørgården Tekstil {s} ApS"), "T8"),
    ("glass", "GBP", "GB", ("{t} Glassworks Ltd", "{s} Glass Ltd"), "T1"),
    ("enamel", "USD", "US", ("{t} Enamelware Inc", "{s} Camp Goods Inc"), "T9"),
    ("porcelain", "EUR", "PT", ("Porcelanas {s} Lda", "Faiança {s} Lda"), "T8"),
    ("candles", "GBP", "GB", ("{s} Candle Company Ltd", "{t} Wax Works Ltd"), "T1"),
    ("food", "GBP", "GB", ("{t} Fine Foods Ltd", "{s} Provisions Ltd"), "T0"),
    ("books", "EUR", "NL", ("Uitgeverij {s} B.V.", "{s} Boeken B.V."), "T7"),
    ("wood", "GBP", "GB", ("{s} Woodcraft Ltd", "{t} Turnery Ltd"), "T1"),
)

# (stock code, description, unit, trade price in GBP, tax code, category, has colours)
_CATALOGUE = (
    ("STW-MUG", "Stoneware mug 350ml", "Each", "3.95", "T1", "stoneware", True),
    ("STW-PLT27", "Stoneware dinner plate 27cm", "Each", "6.40", "T1", "stoneware", True),
    ("STW-BWL16", "Stoneware cereal bowl 16cm", "Each", "4.20", "T1", "stoneware", True),
    ("STW-JUG1L", "Stoneware jug 1 litre", "Each", "9.80", "T1", "stoneware", True),
    ("STW-TEAPOT", "Stoneware teapot 4 cup", "Each", "14.50", "T1", "stoneware", True),
    ("CER-MUG", "Ceramic mug", "Each", "2.95", "T1", "stoneware", True),
    ("GLS-TUM300", "Recycled glass tumbler 300ml", "Each", "2.10", "T1", "glass", False),
    ("GLS-CARAFE", "Hand-blown carafe 1 litre", "Each", "11.90", "T1", "glass", False),
    ("GLS-WINE4", "Wine glasses, set of 4", "Set", "13.50", "T1", "glass", False),
    ("CKW-CASS24", "Cast iron casserole 24cm", "Each", "38.00", "T1", "cookware", True),
    ("CKW-PAN28", "Carbon steel frying pan 28cm", "Each", "17.50", "T1", "cookware", False),
    ("CKW-SAUCE3", "Stainless saucepan set (3)", "Set", "44.00", "T1", "cookware", False),
    ("CKW-ROAST", "Enamelled roasting tin 35cm", "Each", "12.80", "T1", "cookware", False),
    ("ENM-MUG12", "Enamel camp mug 12oz", "Each", "4.60", "T1", "enamel", True),
    ("ENM-PIE22", "Enamel pie dish 22cm", "Each", "6.90", "T1", "enamel", False),
    ("ENM-COLAND", "Enamel colander", "Each", "9.40", "T1", "enamel", True),
    ("TXT-TOWEL", "Linen tea towel", "Each", "4.80", "T1", "textiles", True),
    ("TXT-BATH", "Waffle bath towel", "Each", "9.90", "T1", "textiles", True),
    ("TXT-APRON", "Cotton apron", "Each", "8.50", "T1", "textiles", True),
    ("TXT-GLOVE", "Double oven glove", "Each", "6.20", "T1", "textiles", True),
    ("TXT-KIDAPR", "Children's apron", "Each", "5.40", "T0", "textiles", True),
    ("POR-ESPR", "Porcelain espresso cup and saucer", "Each", "3.60", "T1", "porcelain", False),
    ("POR-PLAT40", "Porcelain serving platter 40cm", "Each", "16.80", "T1", "porcelain", False),
    ("POR-BUTTER", "Porcelain butter dish", "Each", "7.90", "T1", "porcelain", False),
    ("CDL-SOY200", "Soy wax candle 200g", "Each", "5.20", "T1", "candles", True),
    ("CDL-DINNER", "Beeswax dinner candles (pair)", "Pair", "3.10", "T1", "candles", False),
    ("CDL-DIFFUS", "Reed diffuser 100ml", "Each", "7.40", "T1", "candles", True),
    ("FD-SHORTB", "Shortbread tin 400g", "Tin", "4.10", "T0", "food", False),
    ("FD-TEA80", "Breakfast tea, 80 bags", "Box", "2.60", "T0", "food", False),
    ("FD-CHOC250", "Hot chocolate flakes 250g", "Tin", "3.90", "T0", "food", False),
    ("FD-BISCUIT", "Chocolate-coated biscuits 200g", "Box", "2.30", "T1", "food", False),
    ("BK-SUPPERS", "Cookery book: Slow Sunday Suppers", "Each", "9.80", "T0", "books", False),
    ("BK-STONEWR", "Cookery book: The Stoneware Kitchen", "Each", "11.20", "T0", "books", False),
    ("BK-KIDBAKE", "Children's baking book", "Each", "6.40", "T0", "books", False),
    ("WD-OAK40", "Oak chopping board 40cm", "Each", "14.20", "T1", "wood", False),
    ("WD-SPOON3", "Beech spoon set (3)", "Set", "3.40", "T1", "wood", False),
    ("WD-CADDY", "Bamboo utensil caddy", "Each", "5.10", "T1", "wood", False),
    ("SRV-MERCH", "Display merchandising (half day)", "Visit", "145.00", "T1", "service", False),
    ("SRV-DESIGN", "Private-label packaging design", "Job", "320.00", "T1", "service", False),
    ("SRV-PHOTO", "Product photography (per item)", "Item", "18.00", "T1", "service", False),
)
_COLOURS = ("white", "sage", "charcoal", "ochre", "blush", "navy", "speckled oat", "teal")

# Overhead suppliers: (ref, name, currency, country, town, frequency, payment, lines)
# lines: (nominal, tax code, details, typical monthly net in GBP at scale 1)
_OVERHEAD_SUPPLIERS: tuple[tuple[str, str, str, str, str, str, str,
                                 tuple[tuple[str, str, str, int], ...]], ...] = (
    ("DONVALE", "Don Vale Estates Ltd", "GBP", "GB", "Sheffield", "quarterly", "BACS",
     (("7100", "T1", "Rent - Unit 7, Attercliffe Trade Park", 2700),)),
    ("NORTHGAT", "Northgate Energy Ltd", "GBP", "GB", "Leeds", "monthly", "DD",
     (("7200", "T1", "Electricity supply", 260), ("7201", "T5", "Gas supply", 60))),
    ("PENNTEL", "Pennine Telecom plc", "GBP", "GB", "Manchester", "monthly", "DD",
     (("7502", "T1", "Phone lines and mobiles", 80),)),
    ("AMBERLEY", "Amberley Mutual Insurance", "GBP", "GB", "Norwich", "quarterly", "DD",
     (("7104", "T2", "Premises and stock insurance", 420),)),
    ("HALLAMWH", "Hallam & Whitcombe LLP", "GBP", "GB", "Sheffield", "quarterly", "BACS",
     (("7601", "T1", "Bookkeeping and payroll bureau", 480),)),
    ("SWIFTLIN", "Swiftline Parcels Ltd", "GBP", "GB", "Doncaster", "monthly", "BACS",
     (("7501", "T1", "Parcel and pallet deliveries", 340),)),
    ("CLOUDLIN", "Cloudline Software Inc", "USD", "US", "Portland", "monthly", "CARD",
     (("7503", "T20", "Warehouse software subscription", 75),)),
    ("STEELBNK", "Steelbank Building Services Ltd", "GBP", "GB", "Rotherham", "quarterly",
     "BACS", (("7800", "T20", "Racking repairs (domestic reverse charge)", 320),)),
    ("AGENCELU", "Agence Créative Lumière SARL", "EUR", "FR", "Lyon", "quarterly", "BACS",
     (("6201", "T24", "Catalogue design and trade advertising", 600),)),
    ("FRAKTOLB", "Fraktkompagniet Ølby ApS", "EUR", "DK", "Køge", "monthly", "BACS",
     (("5100", "T23", "Sea freight Esbjerg - Immingham", 240),)),
)  # fmt: skip

# Bank payment and receipt templates: (type, bank, reference, details, nominal, tax, dept,
# low, high, weight) with amounts in whole pounds.
_BANK_TEMPLATES = (
    ("BP", _BANK, "CARD", "Diesel - delivery vans", "7300", "T1", 4, 60, 190, 5),
    ("BP", _BANK, "CHQ", "Window cleaning (not VAT registered)", "7801", "T9", 5, 25, 60, 1),
    ("BP", _BANK, "FPS", "Trade show stand - spring fair", "6201", "T1", 1, 400, 1800, 1),
    ("BP", _BANK, "CARD", "Pallet wrap and packing tape", "5100", "T1", 4, 40, 260, 4),
    ("BP", _BANK, "CARD", "Van servicing and tyres", "7300", "T1", 4, 120, 480, 2),
    ("BP", _BANK, "FPS", "Agency warehouse staff", "7000", "T1", 4, 180, 650, 2),
    ("BP", _BANK, "DD", "Water rates", "7102", "T0", 5, 45, 110, 1),
    ("BR", _BANK, "BACS", "Marketplace payout - online orders", "4010", "T1", 2, 250, 2400, 8),
    ("BR", _BANK, "BACS", "Rent received - sublet mezzanine", "4904", "T1", 0, 380, 520, 1),
    ("BR", _BANK, "BACS", "Commission - trade fair referrals", "4902", "T1", 1, 60, 350, 1),
    ("BR", _BANK, "BACS", "Insurance claim - water damaged stock", "4903", "T9", 0, 200, 900, 1),
    ("BR", _DEPOSIT, "INT", "Deposit account interest", "4900", "T9", 0, 12, 90, 1),
    ("CP", _CASH, "PC", "Postage stamps", "7501", "T2", 5, 8, 45, 3),
    ("CP", _CASH, "PC", "Milk and tea for staff kitchen", "7406", "T0", 5, 4, 18, 2),
    ("CP", _CASH, "PC", "Cleaning materials", "7801", "T1", 5, 6, 40, 2),
    ("CP", _CASH, "PC", "Parking - customer visit", "7400", "T1", 1, 3, 14, 1),
    ("CP", _CASH, "PC", "Envelopes and labels", "7504", "T1", 5, 5, 30, 2),
    ("CR", _CASH, "CASH", "Trade counter cash sale", "4000", "T1", 1, 12, 240, 5),
    ("CR", _CASH, "CASH", "Seconds sale - chipped stoneware", "4010", "T1", 2, 10, 90, 2),
    ("CR", _CASH, "CASH", "Scrap cardboard collection", "4900", "T1", 4, 5, 30, 1),
    ("VP", _CARD, "CARD", "Train fares - buying trip", "7400", "T0", 1, 40, 260, 2),
    ("VP", _CARD, "CARD", "Hotel - trade fair", "7402", "T1", 1, 90, 420, 2),
    ("VP", _CARD, "CARD", "Social media advertising (IE)", "6201", "T24", 2, 50, 400, 2),
    ("VP", _CARD, "CARD", "Office supplies - online order", "7504", "T1", 5, 15, 120, 3),
    ("VP", _CARD, "CARD", "Design software subscription (US)", "7503", "T20", 5, 20, 60, 1),
    ("VR", _CARD, "CARD", "Refund - cancelled hotel booking", "7402", "T1", 1, 90, 300, 1),
    ("VR", _CARD, "CARD", "Refund - returned printer toner", "7504", "T1", 5, 20, 90, 1),
)

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
# Planning objects


@attrs.define(eq=False)
class _Party:
    """A customer or supplier, with the running balance of its open items."""

    ledger: str
    ref: str
    name: str
    cur: str
    country: str
    kind: str = "trade"
    nominal: str = "4000"
    tax: str = "T1"
    terms: int = 30
    dept: int = 1
    # Overhead suppliers: (frequency, payment, line templates); trade suppliers: products.
    lines: Any = None
    balance: Decimal = _Z
    record: dict[str, Any] = attrs.Factory(dict)


@attrs.define(eq=False)
class _Product:
    """A stock item or service, with its trade prices in each currency."""

    code: str
    desc: str
    unit: str
    price: Decimal
    tax: str
    category: str
    supplier: _Party | None = None
    record: dict[str, Any] = attrs.Factory(dict)
    kind: str = attrs.field(init=False)
    nominal: str = attrs.field(init=False)
    prices: dict[str, Decimal] = attrs.field(init=False)
    buy: dict[str, Decimal] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.kind = "service" if self.category == "service" else "stock"
        self.nominal = "4200" if self.kind == "service" else "4000"
        cost = _q(self.price * Decimal("0.52"))
        self.prices = {_GBP: self.price} | {
            c: _q(self.price * f) for c, f in _FOREIGN_PRICE.items()
        }
        self.buy = {_GBP: cost} | {c: _q(cost * f) for c, f in _FOREIGN_PRICE.items()}


@attrs.define(eq=False)
class _Item:
    """A ledger document that can settle or be settled: its cap, outstanding and GBP value."""

    type: str
    party: _Party
    cur: str
    rate: Decimal
    cap: Decimal  # gross in the item's currency (an open item: its snapshot outstanding)
    gbp: Decimal  # GBP value while nothing is allocated: booked gross or base_outstanding
    ref: str
    date: int
    number: int | None = None
    allocs: list[tuple[_Item, Decimal, int]] = attrs.Factory(list)
    meta: dict[str, Any] | None = None
    ledger: str = attrs.field(init=False)
    source: bool = attrs.field(init=False)
    out: Decimal = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.ledger = self.type[0]
        self.source = self.type in _SOURCES
        self.out = self.cap

    def carry(self) -> Decimal:
        """GBP value of the current outstanding, as carried in the control account."""
        out = self.out
        if out == self.cap:
            return self.gbp
        if not out:
            return _Z
        if self.cur == _GBP:
            return out
        return _q(out / self.rate)

    def contribution(self) -> Decimal:
        """Signed share of the ledger: targets add to it, sources take from it."""
        return -self.carry() if self.source else self.carry()


# A document line before VAT: (nominal, department, details, net in its currency, tax code)
_Line = tuple[str, int, str, Decimal, str]
# A split: (nominal, department, details, net, tax code, tax, foreign net, foreign tax)
_Split = tuple[str, int, str, Decimal, str, Decimal, Decimal | None, Decimal | None]


@attrs.define(eq=False)
class _Doc:
    """One non-journal header waiting for its date."""

    type: str
    account: str
    date: int
    cur: str
    rate: Decimal
    splits: list[_Split]
    totals: tuple[Decimal, ...]  # net, tax, gross, foreign net, foreign tax, foreign gross
    bank: str | None = None
    ref: str = ""
    xref: str = ""
    details: str = ""
    due: int | None = None
    item: _Item | None = None
    deleted: bool = False


@attrs.define(eq=False)
class _Journal:
    """A journal: one JD or JC header per line, sharing a group number and a date."""

    date: int
    ref: str
    details: str
    lines: list[tuple[str, str, Decimal]]  # (JD|JC, nominal, amount > 0)
    tag: str = ""


@attrs.define(eq=False)
class _Dyn:
    """An event whose amounts depend on balances at its date (VAT transfer, card repayment)."""

    date: int
    fn: Callable[[int], None]


_Event = _Doc | _Journal | _Dyn


@attrs.define(eq=False)
class _Story:
    """Events planned together, with the header budget they reserve and an undo log."""

    events: list[tuple[int, int, int, _Event]] = attrs.Factory(list)
    headers: int = 0
    touched: list[tuple[_Item, Decimal, int]] = attrs.Factory(list)

    def add(self, event: _Event, *, phase: int = 0, reserve: int | None = None) -> None:
        if reserve is None:
            reserve = len(event.lines) if isinstance(event, _Journal) else 1
        self.events.append((event.date, phase, reserve, event))
        self.headers += reserve


# --------------------------------------------------------------------------------------------
# Defects


class _DefectPicker:
    """Chooses, by seeded reservoir sampling over the streamed trail, where each defect goes.

    Each kind draws from its own transaction types so that two defects never share a header.
    """

    def __init__(self, kinds: tuple[str, ...], seed: int) -> None:
        self.kinds = tuple(dict.fromkeys(kinds))
        self.rng = random.Random(f"defects:{seed}")
        self.seen = dict.fromkeys(self.kinds, 0)
        self.pick: dict[str, tuple[int, dict[str, Any], Any]] = {}
        self.last_card: int | None = None

    def offer(self, index: int, h: dict[str, Any], tag: str) -> None:
        t = h["type"]
        for kind in self.kinds:
            extra = self._candidate(kind, h, t, tag)
            if extra is None:
                continue
            self.seen[kind] += 1
            if self.rng.randrange(self.seen[kind]) == 0:
                self.pick[kind] = (index, h, extra)
        if t in ("VP", "VR") and not h["deleted"]:
            self.last_card = h["header_number"]

    def _candidate(self, kind: str, h: dict[str, Any], t: str, tag: str) -> Any:
        """``None`` when the header cannot carry ``kind``, else what the defect needs."""
        if h["deleted"] or h["currency"] != _GBP:
            return None
        if kind == "duplicate_header_number":
            return self.last_card if t in ("VP", "VR") else None
        fits = {
            "unbalanced_journal": tag == "defectable" and h["journal_group"] == h["header_number"],
            "unknown_nominal": t == "BP",
            "unknown_tax_code": t == "BR",
            # A settled invoice: its allocations then exceed nothing, only its cap changes.
            "gross_mismatch": t == "SI" and h["paid_status"] != "unpaid",
            "over_allocation": t == "SR" and bool(h["allocations"]),
            "malformed_date": t in ("CP", "CR"),
            "float_money": t == "PP",
            # Unpaid, so that no allocation points at it from its ledger.
            "unknown_account_ref": t in ("SI", "PI") and h["paid_status"] == "unpaid",
        }[kind]
        return True if fits else None

    def apply(self, data_file: str, seed: int) -> tuple[dict[int, str], dict[str, Any]]:
        """Return the replacement lines by index and the sidecar document."""
        missing = [k for k in self.kinds if k not in self.pick]
        if missing:
            raise ValueError(
                f"the file has no place for defect kinds {missing}; generate more transactions"
            )
        lines: dict[int, str] = {}
        defects = []
        for kind in self.kinds:
            index, h, extra = self.pick[kind]
            h = json.loads(json.dumps(h))
            pointer, detail, float_value = self._mutate(kind, index, h, extra)
            text = _dumps(h)
            if float_value is not None:
                text = text.replace('"@FLOAT@"', float_value, 1)
            lines[index] = text
            entry: dict[str, Any] = {
                "kind": kind,
                "code": DEFECT_KINDS[kind],
                "severity": "error",
                "pointer": pointer,
                "header_number": h["header_number"],
            }
            if h["journal_group"] is not None:
                entry["journal_group"] = h["journal_group"]
            entry["detail"] = detail
            entry["may_also_report"] = list(_MAY_ALSO[kind])
            defects.append(entry)
        sidecar = {
            "format": "sage50-json-expected-findings",
            "version": "1.0",
            "data_file": data_file,
            "seed": seed,
            "expected_codes": sorted({DEFECT_KINDS[k] for k in self.kinds}),
            "defects": defects,
        }
        return lines, sidecar

    @staticmethod
    def _mutate(kind: str, i: int, h: dict[str, Any], extra: Any) -> tuple[str, str, str | None]:
        """Apply one defect to a parsed header; return pointer, detail and a raw number."""
        base = f"/transactions/{i}"
        if kind == "unbalanced_journal":
            new = _m(Decimal(h["net"]) + _DEFECT_DELTA)
            h["net"] = h["gross"] = h["splits"][0]["net"] = new
            return base, f"journal {h['journal_group']}: {h['type']} line raised by 10.00", None
        if kind == "unknown_nominal":
            old = h["splits"][0]["nominal_code"]
            h["splits"][0]["nominal_code"] = _UNKNOWN_NOMINAL
            return (
                f"{base}/splits/0/nominal_code",
                f"split nominal {old} replaced by {_UNKNOWN_NOMINAL}, not in the chart",
                None,
            )
        if kind == "unknown_tax_code":
            old = h["splits"][0]["tax_code"]
            h["splits"][0]["tax_code"] = _UNKNOWN_TAX_CODE
            return (
                f"{base}/splits/0/tax_code",
                f"split tax code {old} replaced by {_UNKNOWN_TAX_CODE}, not listed",
                None,
            )
        if kind == "gross_mismatch":
            old = h["gross"]
            h["gross"] = _m(Decimal(old) + _DEFECT_DELTA)
            return (
                f"{base}/gross",
                f"gross {old} raised to {h['gross']} (net + tax unchanged)",
                None,
            )
        if kind == "duplicate_header_number":
            old = h["header_number"]
            h["header_number"] = extra
            return (
                f"{base}/header_number",
                f"header {old} renumbered {extra}, the number of an earlier card header",
                None,
            )
        if kind == "over_allocation":
            alloc = h["allocations"][0]
            old = alloc["amount"]
            alloc["amount"] = _m(Decimal(old) + _DEFECT_DELTA)
            return (
                f"{base}/allocations/0/amount",
                f"allocation to header {alloc['header_number']} raised from {old} to "
                f"{alloc['amount']}, above the receipt and the invoice",
                None,
            )
        if kind == "malformed_date":
            old = h["date"]
            # The 31st of a 30-day month at or before the real one keeps the date in the window.
            year, month = int(old[:4]), int(old[5:7])
            thirty = [m for m in (4, 6, 9, 11) if m <= month]
            h["date"] = f"{year}-{thirty[-1]:02d}-31" if thirty else f"{year}-02-30"
            return f"{base}/date", f"date {old} written as {h['date']}, not a calendar date", None
        if kind == "float_money":
            value = h["splits"][0]["net"]
            h["splits"][0]["net"] = "@FLOAT@"
            return f"{base}/splits/0/net", f"split net {value} written as a JSON number", value
        if kind == "unknown_account_ref":
            old = h["account_ref"]
            h["account_ref"] = _UNKNOWN_ACCOUNT
            party = "customer" if h["type"][0] == "S" else "supplier"
            return (
                f"{base}/account_ref",
                f"account_ref {old} replaced by {_UNKNOWN_ACCOUNT}, not a {party}",
                None,
            )
        raise AssertionError(kind)  # pragma: no cover


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


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
        self.end = _add_months(options.start_date, months).toordinal() - 1
        self.months = months
        # Amounts scale with the monthly volume so that balances stay in proportion.
        self.scale = max(Decimal(1), _q(Decimal(n) / months / 100))
        self.bal: dict[str, Decimal] = {code: _Z for code, _, _ in _CHART}
        self.heap: list[tuple[int, int, int, int, _Event]] = []
        self.seq = 0
        self.emitted = 0
        self.reserved = 0
        self.next_header = 1
        self.next_split = 1
        self.counts = dict.fromkeys(TRANSACTION_TYPES, 0)
        self.first_date: int | None = None
        self.last_date: int | None = None
        self.buffer: deque[tuple[str | None, dict[str, Any] | None, _Item | None, str]] = deque()
        self.written = 0
        self.out: Any = None
        self.defects = _DefectPicker(options.defects, options.seed) if options.defects else None
        self.closing_items: list[_Item] = []
        self.opening_items: list[_Item] = []
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
        n_supp = self.opt.suppliers or len(_OVERHEAD_SUPPLIERS) + max(6, min(800, int(n**0.5 / 2)))
        n_prod = self.opt.products or max(len(_CATALOGUE), min(360, int(n**0.45)))
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
        self.cust_weights = _cumulative([1 / (k + 1) ** 0.7 for k in order])
        self.trade_suppliers = [s for s in self.suppliers if s.kind == "trade" and s.lines]
        self.supp_weights = _cumulative(
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
            "base_currency": _GBP,
            "financial_year_start": {"month": self.opt.start_date.month, "day": 1},
            "vat_scheme": "standard",
            "flat_rate_percent": None,
            "sage50_version": "30.1.0.123",
            "exported_at": "",
        }

    def _unique_ref(self, ledger: str, name: str) -> str:
        """An upper-case account ref of at most 8 characters, unique in its ledger."""
        used = self.used_refs[ledger]
        words = _ascii_upper(name.replace("&", " ").split(" ")[0]) or "ACCOUNT"
        flat = _ascii_upper(name) or "ACCOUNT"
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
        name = _clip(f"{base} ({k})", 60)
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
        p: _Party,
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
            "contact_name": _clip(contact, 30),
            "telephone": phone,
            "email": email,
            "vat_number": vat,
            "credit_limit": _m(Decimal(limit)),
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
        return _ascii_upper(name)[:14].lower() or "trade"

    def _make_customers(self, count: int) -> list[_Party]:
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
        result: list[_Party] = []
        special = list(_UK_SPECIAL)
        eu_cycle = list(_EU)
        rng.shuffle(eu_cycle)
        eu_i = 0
        for i, kind in enumerate(kinds):
            if kind == "GB":
                if special and (i == 2 or rng.random() < 0.08):
                    name, town, county, outward = special.pop(0)
                    self.used_names.add(name)
                else:
                    town, county, outward = rng.choice(_UK_TOWNS)

                    def make_uk(town: str = town) -> str:
                        if rng.random() < 0.5:
                            return f"{town} {rng.choice(_UK_TRADES)}" + rng.choice(
                                (" Ltd", " Ltd", "")
                            )
                        return f"{rng.choice(_UK_SURNAMES)}'s {rng.choice(_UK_TRADES)}"

                    name = self._unique_name(make_uk)
                c = _Party("S", self._unique_ref("S", name), name, _GBP, "GB")
                online = rng.random() < 0.22
                c.kind = "online" if online else "trade"
                c.nominal, c.dept = ("4010", 2) if online else ("4000", 1)
                c.tax = "T1"
                c.terms = rng.choice((14, 14, 30)) if online else rng.choice((30, 30, 30, 45, 60))
                addr = (
                    f"{rng.randrange(1, 140)} {rng.choice(_UK_STREETS)}",
                    "",
                    town,
                    county,
                    self._uk_postcode(outward),
                )
                first = rng.choice(_UK_FIRST)
                contact = f"{first} {rng.choice(_UK_SURNAMES)}"
                phone = f"0{rng.randrange(1200, 1999)} 496 0{rng.randrange(100, 999)}"
                vat = "GB" + self._digits(9) if rng.random() < 0.85 else ""
            else:
                country = "US" if kind == "US" else eu_cycle[eu_i % len(eu_cycle)]
                eu_i += kind == "EU"
                cur, towns, templates, surnames, phone_t, vat_t = _FOREIGN[country]
                town, region, postcode = rng.choice(towns)

                def make_foreign(
                    town: str = town,
                    templates: tuple[str, ...] = templates,
                    surnames: tuple[str, ...] = surnames,
                ) -> str:
                    return rng.choice(templates).format(s=rng.choice(surnames), t=town)

                name = self._unique_name(make_foreign)
                c = _Party("S", self._unique_ref("S", name), name, cur, country)
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
                contact = f"{rng.choice(_FOREIGN_FIRST[country])} {rng.choice(surnames)}"
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

    def _make_suppliers(self, count: int) -> list[_Party]:
        """The fixed overhead suppliers, then trade suppliers cycling through categories."""
        rng = self.rng
        result: list[_Party] = []
        for ref, name, cur, country, town, freq, pay, lines in _OVERHEAD_SUPPLIERS:
            s = _Party("P", ref, name, cur, country)
            self.used_refs["P"].add(ref)
            self.used_names.add(name)
            s.kind = "overhead"
            s.nominal, s.tax = lines[0][0], lines[0][1]
            s.terms = 14 if pay == "DD" else 30
            s.dept = 5
            s.lines = (freq, pay, lines)
            county = "" if country != "GB" else "South Yorkshire"
            postcode = self._uk_postcode("S9") if country == "GB" else "4600"
            addr = (f"{rng.randrange(1, 60)} {rng.choice(_UK_STREETS)}", "", town, county, postcode)
            vat = (
                "GB" + self._digits(9)
                if country == "GB"
                else (self._vat(_FOREIGN[country][5]) if country in _FOREIGN else "")
            )
            self._party_record(
                s,
                addr,
                f"{rng.choice(_UK_FIRST)} {rng.choice(_UK_SURNAMES)}",
                f"0{rng.randrange(1130, 1999)} 496 0{rng.randrange(100, 999)}",
                f"billing@{self._slug(name)}.example",
                vat,
                0,
            )
            result.append(s)
        n_trade = count - len(result)
        for i in range(n_trade):
            category, cur, country, templates, tax = _CATEGORIES[i % len(_CATEGORIES)]
            if country == "GB":
                town, county, outward = rng.choice(_UK_TOWNS)
                surnames: tuple[str, ...] = _UK_SURNAMES
                region, postcode = county, self._uk_postcode(outward)
            else:
                _, towns, _, surnames, _, _ = _FOREIGN[country]
                town, region, postcode = rng.choice(towns)

            def make(
                templates: tuple[str, ...] = templates,
                town: str = town,
                surnames: tuple[str, ...] = surnames,
            ) -> str:
                return rng.choice(templates).format(s=rng.choice(surnames), t=town)

            name = self._unique_name(make)
            s = _Party("P", self._unique_ref("P", name), name, cur, country)
            s.kind = "trade"
            s.nominal = "5000" if country == "GB" else "5001"
            s.tax = tax
            s.terms = 30 if country == "GB" else 45
            s.dept = 4
            s.lines = category
            addr = (
                f"{rng.randrange(1, 200)} {rng.choice(_UK_STREETS)}"
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
                else _FOREIGN[country][4].format(
                    a=rng.randrange(10, 99), b=rng.randrange(1000, 9999)
                )
            )
            vat = "GB" + self._digits(9) if country == "GB" else self._vat(_FOREIGN[country][5])
            self._party_record(
                s,
                addr,
                f"{rng.choice(_UK_FIRST)} {rng.choice(surnames)}",
                phone,
                f"sales@{self._slug(name)}.example",
                vat,
                0,
            )
            s.record["credit_limit"] = _m(Decimal(rng.choice((5000, 10000, 20000, 50000))))
            result.append(s)
        return result

    def _make_products(self, count: int) -> list[_Product]:
        """The catalogue (plus colour variants), each linked to a supplier of its category."""
        by_category: dict[str, list[_Party]] = {}
        for s in self.suppliers:
            if s.kind == "trade":
                by_category.setdefault(s.lines, []).append(s)
        products: list[_Product] = []
        base = list(_CATALOGUE)
        # Colour variants are added round by round until the catalogue is big enough.
        variants: list[tuple[str, str, str, str, str, str]] = [
            (code, desc, unit, price, tax, cat) for code, desc, unit, price, tax, cat, _ in base
        ]
        for colour in _COLOURS:
            for code, desc, unit, price, tax, cat, coloured in base:
                if coloured:
                    variants.append(
                        (
                            f"{code}-{_ascii_upper(colour)[:4]}",
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
            p = _Product(code, desc, unit, Decimal(price), tax, cat)
            owners = by_category.get(cat, [])
            p.supplier = owners[i % len(owners)] if owners else None
            p.record = {
                "stock_code": code,
                "description": desc,
                "item_type": "service" if p.kind == "service" else "stock",
                "sales_price": format(p.prices[_GBP], "f"),
                "purchase_price": None if p.kind == "service" else format(p.buy[_GBP], "f"),
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
        return _ONE if cur == _GBP else self.rates[cur][day - self.rate_base]

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
        self, lines: list[_Line], cur: str, rate: Decimal
    ) -> tuple[list[_Split], tuple[Decimal, ...]]:
        """Splits with VAT per line (on the foreign net for foreign documents) and totals."""
        splits: list[_Split] = []
        net_t = tax_t = _Z
        if cur == _GBP:
            for nominal, dept, details, net, code in lines:
                tax = _Z if code in _NO_TAX else _q(net * _TAX_RATE[code])
                splits.append((nominal, dept, details, net, code, tax, None, None))
                net_t += net
                tax_t += tax
            return splits, (net_t, tax_t, net_t + tax_t, _Z, _Z, _Z)
        fnet_t = ftax_t = _Z
        for nominal, dept, details, fnet, code in lines:
            ftax = _Z if code in _NO_TAX else _q(fnet * _TAX_RATE[code])
            net = _q(fnet / rate)
            tax = _q(ftax / rate)
            splits.append((nominal, dept, details, net, code, tax, fnet, ftax))
            net_t += net
            tax_t += tax
            fnet_t += fnet
            ftax_t += ftax
        return splits, (net_t, tax_t, net_t + tax_t, fnet_t, ftax_t, fnet_t + ftax_t)

    def _ledger_doc(
        self,
        st: _Story,
        type_: str,
        party: _Party,
        day: int,
        lines: list[_Line],
        *,
        ref: str,
        details: str,
        xref: str = "",
        due: int | None = None,
        deleted: bool = False,
        bank: str | None = None,
    ) -> _Item:
        """Plan a sales or purchase ledger header and return its allocation item."""
        rate = self._rate(party.cur, day)
        splits, totals = self._splits(lines, party.cur, rate)
        cap = totals[2] if party.cur == _GBP else totals[5]
        item = _Item(type_, party, party.cur, rate, cap, totals[2], ref, day)
        doc = _Doc(
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
            details=_clip(details, 60),
            due=due,
            item=None if deleted else item,
            deleted=deleted,
        )
        st.add(doc)
        return item

    def _money_doc(
        self,
        st: _Story,
        type_: str,
        party: _Party,
        day: int,
        amount: Decimal,
        bank: str,
        ref: str,
        details: str,
        xref: str = "",
    ) -> _Item:
        """A receipt, payment or refund (SR SA SP PP PA PR): one split on the bank."""
        return self._ledger_doc(
            st,
            type_,
            party,
            day,
            [(bank, 0, _clip(details, 60), amount, "T9")],
            ref=ref,
            details=details,
            xref=xref,
            bank=bank,
        )

    def _alloc(self, st: _Story, src: _Item, tgt: _Item, amount: Decimal, day: int) -> None:
        """Allocate ``amount`` from ``src`` to ``tgt`` and post any exchange difference."""
        assert src.source, src.type
        assert not tgt.source, tgt.type
        assert src.party is tgt.party, (src.party.ref, tgt.party.ref)
        assert src.cur == tgt.cur, (src.cur, tgt.cur)
        assert _Z < amount <= min(src.out, tgt.out), (amount, src.out, tgt.out)
        before = src.contribution() + tgt.contribution()
        st.touched.append((src, src.out, len(src.allocs)))
        st.touched.append((tgt, tgt.out, len(tgt.allocs)))
        src.out -= amount
        tgt.out -= amount
        src.allocs.append((tgt, amount, day))
        delta = src.contribution() + tgt.contribution() - before
        if delta:
            st.add(self._fx_journal(tgt, delta, day))

    def _fx_journal(self, tgt: _Item, delta: Decimal, day: int) -> _Journal:
        """Keep the control account equal to its ledger: post the change in GBP value."""
        amount = abs(delta)
        if tgt.ledger == "S":
            control = _DEBTORS
            up = delta > 0
        else:
            control = _CREDITORS
            # A liability grows when the delta is positive: credit the control account.
            up = delta < 0
        gain = (delta > 0) == (tgt.ledger == "S")
        if up:
            lines = [("JD", control, amount), ("JC", _FXVAR, amount)]
        else:
            lines = [("JD", _FXVAR, amount), ("JC", control, amount)]
        word = "gain" if gain else "loss"
        return _Journal(
            day,
            _clip(f"FX {tgt.ref}", 30),
            _clip(f"Exchange {word} {tgt.ref} {tgt.party.ref} ({tgt.cur})", 60),
            lines,
            "fx",
        )

    # ---- document content ------------------------------------------------------------------

    def _next(self, key: str) -> int:
        value = self.counters[key]
        self.counters[key] = value + 1
        return value

    def _sales_lines(self, c: _Party) -> list[_Line]:
        """Invoice lines for a customer, with VAT codes by destination."""
        rng = self.rng
        foreign = c.cur != _GBP
        n = rng.choice((1, 2, 2)) if foreign else rng.choice((1, 1, 2, 2, 2, 3, 3, 4))
        lines: list[_Line] = []
        for _ in range(n):
            if self.services and rng.random() < 0.05:
                p = rng.choice(self.services)
                qty = rng.choice((1, 1, 2, 4))
            else:
                p = rng.choice(self.goods)
                qty = rng.choice(_PACKS)
            amount = p.prices[c.cur] * qty
            if c.country == "GB":
                code = p.tax
            elif c.country == "US":
                code = "T0" if p.kind == "stock" else "T9"
            else:
                code = "T4" if p.kind == "stock" else "T22"
            nominal = c.nominal if p.kind == "stock" else p.nominal
            lines.append((nominal, c.dept, _clip(f"{qty} x {p.desc}", 60), amount, code))
        if not foreign and rng.random() < 0.25:
            lines.append(
                (
                    "4905",
                    c.dept,
                    "Carriage - pallet delivery",
                    _cents(rng.randrange(1250, 4500, 50)),
                    "T1",
                )
            )
        if not foreign and c.kind == "trade" and len(lines) >= 2 and rng.random() < 0.1:
            standard = sum((a for _, _, _, a, code in lines if code == "T1"), _Z)
            if standard >= 200:
                lines.append((c.nominal, c.dept, "Trade discount 5%", -_q(standard / 20), "T1"))
        return lines

    def _purchase_lines(self, s: _Party, day: int) -> list[_Line]:
        """Invoice lines for a supplier: its products, or its overhead templates."""
        rng = self.rng
        if s.kind == "overhead":
            _, _, templates = s.lines
            month = _MONTHS[date.fromordinal(day).month - 1]
            result = []
            for nominal, code, details, typical in templates:
                amount = _q(Decimal(typical) * self.scale * Decimal(rng.randrange(85, 116)) / 100)
                text = f"{details} - {month}" if s.lines[0] == "monthly" else details
                result.append((nominal, 5, _clip(text, 60), amount, code))
            return result
        n = rng.choice((1, 2)) if s.cur != _GBP else rng.choice((1, 1, 2, 2, 3))
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
            lines.append((s.nominal, 4, _clip(f"{qty} x {p.desc}", 60), p.buy[s.cur] * qty, code))
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

    def _customer_bank(self, c: _Party) -> str:
        return _EURBANK if c.cur == "EUR" and self.rng.random() < 0.6 else _BANK

    def _supplier_bank(self, s: _Party, amount: Decimal | None = None) -> str:
        # Euros are paid from the euro account while it has the funds (as seen when planning).
        if s.cur == "EUR" and self.rng.random() < 0.8:
            needed = Decimal(2000) if amount is None else amount * 2
            if self.bal[_EURBANK] > needed:
                return _EURBANK
        return _BANK

    def _part(self, amount: Decimal) -> Decimal:
        """A round part payment between a quarter and three quarters of ``amount``."""
        rng = self.rng
        share = _q(amount * Decimal(rng.randrange(25, 76)) / 100)
        rounded = (share // 50) * 50
        value = rounded if _Z < rounded < amount else share
        return value if _Z < value < amount else _q(amount / 2)

    # ---- stories ---------------------------------------------------------------------------

    def _commit(self, st: _Story) -> bool:
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

    def _schedule(self, day: int, phase: int, reserve: int, event: _Event) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (day, phase, self.seq, reserve, event))
        self.reserved += reserve

    def _pay(
        self,
        st: _Story,
        type_: str,
        inv: _Item,
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
        self, st: _Story, inv: _Item, day: int, line: _Line, share: int, ref: str, details: str
    ) -> None:
        """A credit note for part of one invoice line, allocated to the invoice."""
        if not self._in(day):
            return
        nominal, dept, text, amount, code = line
        net = max(_CENT, _q(abs(amount) / share))
        type_ = "SC" if inv.ledger == "S" else "PC"
        split = (nominal, dept, _clip(f"Credit: {text}", 60), net, code)
        note = self._ledger_doc(st, type_, inv.party, day, [split], ref=ref, details=details)
        if note.cap <= inv.out:
            self._alloc(st, note, inv, note.cap, day)

    def _discount(
        self,
        st: _Story,
        inv: _Item,
        day: int,
        lines: list[_Line],
        rate: str,
        nominal: str,
        dept: int,
        text: str,
    ) -> bool:
        """A settlement discount (SD/PD) on the invoice's net, with VAT at its first code."""
        if not self._in(day):
            return False
        amount = _q(sum((line[3] for line in lines), _Z) * Decimal(rate))
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
        self, st: _Story, inv: _Item, c: _Party, day: int, plan: str, lines: list[_Line]
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
            over = _cents(rng.randrange(2000, 30000, 500)) if rng.random() < 0.3 else _Z
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

    def _story_sale(self, day: int, c: _Party | None = None, plan: str | None = None) -> _Story:
        """A sales invoice and how it is settled (see _SALE_PLANS)."""
        rng = self.rng
        st = _Story()
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

    def _story_statement(self, day: int, c: _Party | None = None) -> _Story:
        """Two or three invoices paid together from one remittance."""
        rng = self.rng
        st = _Story()
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
            total = sum((i.out for i in invoices), _Z)
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

    def _story_sale_refund(self, day: int, c: _Party | None = None) -> _Story:
        """A goodwill credit note refunded to the customer a few days later."""
        rng = self.rng
        st = _Story()
        c = c or self._customer()
        net = _cents(rng.randrange(1500, 25000, 50))
        if c.cur != _GBP:
            net = _q(net * _FOREIGN_PRICE[c.cur])
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
        self, st: _Story, inv: _Item, s: _Party, day: int, plan: str, lines: list[_Line]
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

    def _story_purchase(self, day: int, s: _Party | None = None, plan: str | None = None) -> _Story:
        """A purchase invoice and how it is paid (see _PURCHASE_PLANS)."""
        rng = self.rng
        st = _Story()
        s = s or self._supplier()
        plan = plan or _pick(rng, _PURCHASE_PLANS)
        lines = self._purchase_lines(s, day)
        prefix = _ascii_upper(s.name)[:3]
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

    def _story_purchase_refund(self, day: int, s: _Party | None = None) -> _Story:
        """A supplier credit note for returned goods, refunded by the supplier."""
        rng = self.rng
        st = _Story()
        s = s or self._supplier()
        lines = self._purchase_lines(s, day)[:1]
        nominal, dept, details, amount, code = lines[0]
        net = max(_CENT, _q(amount / 4))
        pc = self._ledger_doc(
            st,
            "PC",
            s,
            day,
            [(nominal, dept, _clip(f"Returned: {details}", 60), net, code)],
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

    def _story_bank(self, day: int, kind: str, template: int | None = None) -> _Story:
        """A single bank, cash or card payment or receipt from the templates."""
        rng = self.rng
        st = _Story()
        options = [t for t in _BANK_TEMPLATES if t[0] == kind]
        if template is not None:
            t = options[template]
        else:
            t = rng.choices(options, weights=[o[9] for o in options])[0]
        type_, bank, ref, details, nominal, code, dept, low, high, _ = t
        # Frequency already grows with the size of the business; amounts do not.
        amount = _cents(rng.randrange(low * 100, high * 100 + 1))
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

    def _story_journal(self, day: int) -> _Story:
        """A two-line reclassification journal."""
        rng = self.rng
        st = _Story()
        options = (
            ("7504", "7501", "Reclassify stationery posted to postage"),
            ("7501", "5100", "Reclassify outbound carriage"),
            ("7400", "7300", "Reclassify hire car fuel to travelling"),
            ("6201", "7402", "Reclassify trade fair hotel to advertising"),
        )
        debit, credit, details = rng.choice(options)
        amount = _cents(rng.randrange(2000, 30000))
        st.add(
            _Journal(
                day,
                f"RCL{self._next('pc')}",
                details,
                [("JD", debit, amount), ("JC", credit, amount)],
                "defectable",
            )
        )
        return st

    def _customer(self) -> _Party:
        return self.rng.choices(self.active_customers, cum_weights=self.cust_weights)[0]

    def _supplier(self) -> _Party:
        return self.rng.choices(self.trade_suppliers, cum_weights=self.supp_weights)[0]

    def _random_story(self, day: int, kind: str) -> _Story:
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
        items: list[_Item] = []
        # Fewer accounts carry opening items when the history is short for the ledger's size,
        # so that settling them does not use up the whole budget.
        customers = min(1.0, max(self.target, 40) / (8 * len(self.active_customers)))
        suppliers = min(1.0, max(self.target, 40) / (8 * len(self.suppliers)))
        for c in self.active_customers:
            r = rng.random() / customers
            if r < 0.42:
                d = as_of - rng.randrange(2, 70)
                gross = _cents(rng.randrange(15000, 480000, 5))
                if c.cur != _GBP:
                    gross = _q(gross * _FOREIGN_PRICE[c.cur])
                out = self._part(gross) if rng.random() < 0.15 else gross
                items.append(
                    self._open_item("SI", c, d, gross, out, "", d + c.terms, "Opening balance")
                )
            elif r < 0.47:
                d = as_of - rng.randrange(1, 20)
                gross = _cents(rng.randrange(10000, 200000, 500))
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
                gross = _cents(rng.randrange(20000, 650000, 5))
                if sp.cur != _GBP:
                    gross = _q(gross * _FOREIGN_PRICE[sp.cur])
                out = self._part(gross) if rng.random() < 0.1 else gross
                items.append(
                    self._open_item(
                        "PI",
                        sp,
                        d,
                        gross,
                        out,
                        f"{_ascii_upper(sp.name)[:3]}-{rng.randrange(10000, 99999)}",
                        d + sp.terms,
                        "Opening balance",
                    )
                )
            elif r < 0.54 and sp.kind == "trade":
                d = as_of - rng.randrange(1, 15)
                gross = _cents(rng.randrange(20000, 150000, 500))
                if sp.cur != _GBP:
                    gross = _q(gross * _FOREIGN_PRICE[sp.cur])
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
        debtors = sum((it.contribution() for it in items if it.ledger == "S"), _Z)
        creditors = sum((it.contribution() for it in items if it.ledger == "P"), _Z)

        def amt(pounds: int) -> Decimal:
            return _q(
                Decimal(pounds) * s * Decimal(rng.randrange(90, 111)) / 100
                + _cents(rng.randrange(100))
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
        tb[_RETAINED] = -sum(tb.values(), _Z)
        self.tb = tb
        for code, value in tb.items():
            self.bal[code] += value
        # Monthly figures derived from the opening position.
        self.depreciation = [
            ("0021", _q(tb["0020"] * Decimal("0.15") / 12)),
            ("0031", _q(tb["0030"] * Decimal("0.25") / 12)),
            ("0041", _q(tb["0040"] * Decimal("0.15") / 12)),
            ("0051", _q(tb["0050"] * Decimal("0.25") / 12)),
        ]

    def _open_item(
        self,
        type_: str,
        party: _Party,
        day: int,
        gross: Decimal,
        out: Decimal,
        ref: str,
        due: int | None,
        details: str,
    ) -> _Item:
        """An opening open item, carried at its base (GBP) outstanding."""
        rate = self._rate(party.cur, day)
        base = out if party.cur == _GBP else _q(out / rate)
        item = _Item(type_, party, party.cur, rate, out, base, ref, day)
        item.meta = {"gross": gross, "due": due, "details": details}
        return item

    def _plan_opening_stories(self) -> None:
        """Settle the opening open items during the history (most of them)."""
        rng = self.rng
        for it in self.opening_items:
            st = _Story()
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
                    while p.cur == _GBP and sum((a for *_, a, _ in lines), _Z) * 2 < it.out:
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
                    while p.cur == _GBP and sum((a for *_, a, _ in lines), _Z) < it.out:
                        lines = lines + self._purchase_lines(p, day)[:1]
                    inv = self._ledger_doc(
                        st,
                        "PI",
                        p,
                        day,
                        lines,
                        ref=f"{_ascii_upper(p.name)[:3]}-{rng.randrange(10000, 99999)}",
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
        st = _Story()
        d = self._biz(self.start + 6)
        if self._in(d):
            lines = [
                ("JD", _STAX, -tb[_STAX]),
                ("JC", _PTAX, tb[_PTAX]),
                ("JC", _VATLIAB, -tb[_STAX] - tb[_PTAX]),
            ]
            st.add(_Journal(d, "VAT-OPEN", "VAT transfer - quarter before opening", lines, "vat"))
            pay = self._biz(self.start + 30)
            if self._in(pay):
                st.add(
                    self._gbp_doc(
                        "BP",
                        _BANK,
                        pay,
                        "HMRC",
                        "HMRC VAT payment - opening quarter",
                        _VATLIAB,
                        -tb[_STAX] - tb[_PTAX],
                    )
                )
        self._commit(st)
        st = _Story()
        d = self._biz(self.start + 18)
        if self._in(d):
            st.add(
                self._gbp_doc(
                    "BP", _BANK, d, "HMRC", "PAYE and NI - opening month", "2210", -tb["2210"]
                )
            )
            st.add(
                self._gbp_doc(
                    "BP",
                    _BANK,
                    d,
                    "DD",
                    "Pension contributions - opening month",
                    "2230",
                    -tb["2230"],
                )
            )
        self._commit(st)
        st = _Story()
        st.add(
            _Journal(
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
        lines: list[_Line],
        cur: str = _GBP,
        deleted: bool = False,
    ) -> _Doc:
        """A bank, cash or card payment or receipt (BP BR CP CR VP VR) in ``cur``."""
        rate = self._rate(cur, day)
        splits, totals = self._splits(lines, cur, rate)
        return _Doc(
            type_,
            bank,
            day,
            cur,
            rate,
            splits,
            totals,
            bank=bank,
            ref=ref,
            details=_clip(details, 60),
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
    ) -> _Doc:
        line = (nominal, 0, _clip(details, 60), amount, code)
        return self._bank_doc(type_, bank, day, ref, details, [line])

    def _plan_month(self, first: int, keep: float, mandatory: bool) -> None:
        """Plan the recurring work of the month starting at ``first``."""
        rng = self.rng
        month_date = date.fromordinal(first)
        month = _MONTHS[month_date.month - 1]
        tag = f"{month_date.year % 100:02d}{month_date.month:02d}"
        s = self.scale
        last = _month_end(first)
        quarter_month = (month_date.month - self.opt.start_date.month) % 3

        def wanted(day: int) -> bool:
            # Routine work is sampled (keep) so that small files are not mostly routine.
            return day <= self.end and (mandatory or rng.random() < keep)

        def plan(*events: _Event, phase: int = 0, reserve: int | None = None) -> None:
            if wanted(events[0].date):
                st = _Story()
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
        plan(_Dyn(self._biz(first + 2), self._petty_cash), reserve=2)
        plan(_Dyn(self._biz(first + 4), self._card_repayment), reserve=2)
        rates = _q(Decimal(rng.randrange(280, 300)) * s)
        plan(
            self._gbp_doc(
                "BP", _BANK, self._biz(first + 9), "DD", f"Business rates {month}", "7103", rates
            )
        )
        loan = -self.bal["2300"]
        capital = _q(Decimal(520) * s)
        if loan > capital * 3:
            lines = [
                ("2300", 0, "Loan capital", capital, "T9"),
                ("7903", 0, "Loan interest", _q(loan * Decimal("0.075") / 12), "T9"),
            ]
            plan(
                self._bank_doc(
                    "BP", _BANK, self._biz(first + 14), "DD", f"Loan repayment {month}", lines
                )
            )
        # Month end: payroll, depreciation, accruals, bank charges, VAT quarter.
        payday = last
        while date.fromordinal(payday).weekday() >= 5:
            payday -= 1
        if payday >= first and wanted(payday):
            self._commit(self._payroll(payday, month, tag))
        dep = [("JD", "8000", sum((a for _, a in self.depreciation), _Z))]
        dep += [("JC", code, amount) for code, amount in self.depreciation]
        plan(_Journal(last, f"DEP{tag}", f"Depreciation {month}", dep, "defectable"), phase=1)
        accrued = _q(Decimal(rng.randrange(380, 620)) * s)
        plan(
            _Journal(
                last,
                f"ACC{tag}",
                f"Accrue electricity {month}",
                [("JD", "7200", accrued), ("JC", "2109", accrued)],
                "defectable",
            ),
            _Journal(
                last + 1,
                f"ACC{tag}R",
                f"Reverse accrual {month}",
                [("JD", "2109", accrued), ("JC", "7200", accrued)],
                "defectable",
            ),
            phase=1,
        )
        charges = _q(_cents(rng.randrange(1500, 6500)) * min(s, Decimal(20)))
        plan(
            self._gbp_doc("BP", _BANK, last, "CHG", f"Bank charges {month}", "7901", charges),
            phase=1,
        )
        # The euro account is charged in euros: a foreign bank payment.
        fee = [("7901", 0, f"Account fee {month}", _cents(rng.randrange(900, 2500, 50)), "T9")]
        plan(
            self._bank_doc("BP", _EURBANK, last, "CHG", f"Euro account fee {month}", fee, "EUR"),
            phase=1,
        )
        if quarter_month == 2:
            plan(_Dyn(last, self._vat_transfer), phase=1, reserve=4)
            plan(_Dyn(last, self._treasury), phase=1, reserve=4)

    def _payroll(self, day: int, month: str, tag: str) -> _Story:
        """Month-end payroll journal with the net pay, PAYE/NI and pension payments."""
        rng = self.rng
        st = _Story()
        gross = _q(Decimal(rng.randrange(2500, 2800)) * self.scale + _cents(rng.randrange(100)))
        er_ni = _q(gross * Decimal("0.105"))
        er_pen = _q(gross * Decimal("0.03"))
        paye = _q(gross * Decimal("0.19"))
        ee_pen = _q(gross * Decimal("0.05"))
        net = gross - paye - ee_pen
        lines = [
            ("JD", "7000", gross),
            ("JD", "7006", er_ni),
            ("JD", "7007", er_pen),
            ("JC", "2210", paye + er_ni),
            ("JC", "2230", ee_pen + er_pen),
            ("JC", "2220", net),
        ]
        st.add(_Journal(day, f"PAY{tag}", f"Payroll {month}", lines, "defectable"))
        st.add(self._gbp_doc("BP", _BANK, day, "BACS", f"Net wages {month}", "2220", net))
        nxt = _month_end(day) + 1
        hmrc = self._biz(nxt + 21)
        if self._in(hmrc):
            st.add(
                self._gbp_doc(
                    "BP", _BANK, hmrc, "HMRC", f"PAYE and NI {month}", "2210", paye + er_ni
                )
            )
        pension = self._biz(nxt + 14)
        if self._in(pension):
            st.add(
                self._gbp_doc(
                    "BP",
                    _BANK,
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
        float_ = _q(Decimal(300) * min(self.scale, Decimal(20)))
        amount = float_ - self.bal[_CASH]
        if amount > 0:
            self._emit_journal(
                _Journal(
                    day,
                    "TRF",
                    "Cash withdrawal for petty cash",
                    [("JC", _BANK, amount), ("JD", _CASH, amount)],
                )
            )
        elif amount < 0:
            self._emit_journal(
                _Journal(
                    day,
                    "TRF",
                    "Cash takings banked",
                    [("JC", _CASH, -amount), ("JD", _BANK, -amount)],
                )
            )

    def _card_repayment(self, day: int) -> None:
        amount = -self.bal[_CARD]
        if amount > 0:
            self._emit_journal(
                _Journal(
                    day,
                    "TRF",
                    "Credit card statement repayment",
                    [("JC", _BANK, amount), ("JD", _CARD, amount)],
                )
            )

    def _treasury(self, day: int) -> None:
        """Quarter end: sweep euros to sterling, and surplus sterling to the deposit account."""
        euros = _q(self.bal[_EURBANK] * Decimal("0.7"))
        if euros > 1000:
            self._emit_journal(
                _Journal(
                    day,
                    "TRF",
                    "Transfer from euro account",
                    [("JC", _EURBANK, euros), ("JD", _BANK, euros)],
                )
            )
        elif euros < 0:
            top_up = _q(-self.bal[_EURBANK] + Decimal(5000) * self.scale)
            self._emit_journal(
                _Journal(
                    day,
                    "TRF",
                    "Transfer to euro account",
                    [("JC", _BANK, top_up), ("JD", _EURBANK, top_up)],
                )
            )
        surplus = _q((self.bal[_BANK] - Decimal(60000) * self.scale) / 2)
        if surplus > 1000:
            self._emit_journal(
                _Journal(
                    day,
                    "TRF",
                    "Transfer to deposit account",
                    [("JC", _BANK, surplus), ("JD", _DEPOSIT, surplus)],
                )
            )

    def _vat_transfer(self, day: int) -> None:
        """Clear the VAT control accounts into the VAT liability and plan the payment."""
        stax, ptax = self.bal[_STAX], self.bal[_PTAX]
        lines: list[tuple[str, str, Decimal]] = []
        if stax:
            lines.append(("JD", _STAX, -stax) if stax < 0 else ("JC", _STAX, stax))
        if ptax:
            lines.append(("JC", _PTAX, ptax) if ptax > 0 else ("JD", _PTAX, -ptax))
        due = stax + ptax
        if due:
            lines.append(("JC", _VATLIAB, -due) if due < 0 else ("JD", _VATLIAB, due))
        if len(lines) < 2:
            return
        month = date.fromordinal(day)
        label = f"VAT return {_MONTHS[month.month - 1][:3]} {month.year}"
        self._emit_journal(
            _Journal(
                day,
                f"VAT{month.year % 100:02d}{month.month:02d}",
                label,
                sorted(lines, key=lambda ln: ln[0] == "JC"),
                "vat",
            )
        )
        pay = self._biz(_month_end(day + 1) + 7)
        if self._in(pay):
            if due < 0:
                doc = self._gbp_doc(
                    "BP", _BANK, pay, "HMRC", f"HMRC VAT payment - {label}", _VATLIAB, -due
                )
            else:
                doc = self._gbp_doc(
                    "BR", _BANK, pay, "HMRC", f"HMRC VAT repayment - {label}", _VATLIAB, due
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
        cum = _cumulative([w for _, w in _STORY_WEIGHTS])
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
        gbp = [c for c in self.active_customers if c.cur == _GBP]
        eur = next(c for c in self.active_customers if c.cur == "EUR")
        usd = next(c for c in self.active_customers if c.cur == "USD")
        trade = [s for s in self.trade_suppliers if s.cur == _GBP] or self.trade_suppliers
        eur_s = next((s for s in self.trade_suppliers if s.cur == "EUR"), trade[0])
        d = self.start
        plans: list[Callable[[], _Story]] = [
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
            if isinstance(event, _Doc):
                self._emit_doc(event)
            elif isinstance(event, _Journal):
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

    def _emit_doc(self, doc: _Doc) -> None:
        """Number, post and write one planned non-journal header."""
        t = doc.type
        number = self._count(t, doc.date)
        item = doc.item
        if item is not None:
            item.number = number
        net, tax, gross, fnet, ftax, fgross = doc.totals
        foreign = doc.cur != _GBP
        splits = []
        for nominal, dept, details, s_net, code, s_tax, s_fnet, s_ftax in doc.splits:
            split: dict[str, Any] = {
                "split_number": self.next_split,
                "nominal_code": nominal,
                "department": dept,
                "details": details,
                "net": _m(s_net),
                "tax_code": code,
                "tax": _m(s_tax),
            }
            if foreign:
                split["foreign_net"] = _m(s_fnet)  # type: ignore[arg-type]
                split["foreign_tax"] = _m(s_ftax)  # type: ignore[arg-type]
            splits.append(split)
            self.next_split += 1
        if item is not None:
            out = item.out
            status = "paid" if not out else "unpaid" if out == item.cap else "part"
            item.party.balance += -out if item.source else out
            if out and self.mode == "opening_balances":
                self.closing_items.append(item)
        else:
            out, status = _Z, "paid"
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
            "net": _m(net),
            "tax": _m(tax),
            "gross": _m(gross),
        }
        if foreign:
            h["foreign_net"] = _m(fnet)
            h["foreign_tax"] = _m(ftax)
            h["foreign_gross"] = _m(fgross)
        h["outstanding"] = _m(out)
        h["paid_status"] = status
        h["deleted"] = doc.deleted
        if t in _BANK_TYPES and not doc.deleted and doc.date + 12 <= self.end:
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

    def _post(self, doc: _Doc, net: Decimal, tax: Decimal, gross: Decimal) -> None:
        """Apply the double entry of docs/formats/sage50-json.md §8.4 to the running balances."""
        bal = self.bal
        t = doc.type
        if t in ("SI", "BR", "CR", "VR"):
            bal[_DEBTORS if t == "SI" else doc.account] += gross
            for s in doc.splits:
                bal[s[0]] -= s[3]
                bal[_STAX] -= s[5]
        elif t in ("SC", "SD"):
            bal[_DEBTORS] -= gross
            for s in doc.splits:
                bal[s[0]] += s[3]
                bal[_STAX] += s[5]
        elif t in ("PI", "BP", "CP", "VP"):
            bal[_CREDITORS if t == "PI" else doc.account] -= gross
            for s in doc.splits:
                bal[s[0]] += s[3]
                bal[_PTAX] += s[5]
        elif t in ("PC", "PD"):
            bal[_CREDITORS] += gross
            for s in doc.splits:
                bal[s[0]] -= s[3]
                bal[_PTAX] -= s[5]
        else:
            assert doc.bank is not None
            # Money in: SR SA (customer pays) and PR (supplier refunds); otherwise money out.
            money_in = t in ("SR", "SA", "PR")
            control = _DEBTORS if t[0] == "S" else _CREDITORS
            bal[doc.bank] += gross if money_in else -gross
            bal[control] += -gross if money_in else gross

    def _emit_journal(self, journal: _Journal) -> None:
        """Number, post and write the JD/JC headers of a journal."""
        group = self.next_header
        ds = self._ds(journal.date)
        for kind, nominal, amount in journal.lines:
            assert amount > 0, journal.lines
            number = self._count(kind, journal.date)
            self.bal[nominal] += amount if kind == "JD" else -amount
            text = _m(amount)
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
                "currency": _GBP,
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

    def _write(self, h: dict[str, Any], source: _Item | None, tag: str) -> None:
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

    def _resolve(self, h: dict[str, Any], source: _Item) -> bool:
        if any(t.number is None for t, _, _ in source.allocs):
            return False
        ds = self._ds
        h["allocations"] = [
            {"header_number": t.number, "amount": _m(a), "date": ds(d)} for t, a, d in source.allocs
        ]
        return True

    def _line(self, h: dict[str, Any], tag: str, index: int) -> str:
        if self.defects is not None:
            self.defects.offer(index, h, tag)
        return _dumps(h)

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
            party.record["balance"] = _m(party.balance) if with_balances else None
        opening = self._opening_document(as_of) if with_balances else None
        if with_balances:
            # Open items settled during the history are part of their party's balance.
            for it in self.opening_items:
                it.party.record["balance"] = _m(
                    Decimal(it.party.record["balance"]) + (-it.out if it.source else it.out)
                )
        nominals = []
        for code, name, role in _CHART:
            rec: dict[str, Any] = {
                "code": code,
                "name": name,
                "type": _nominal_type(code),
                "control_role": role,
                "inactive": code in _INACTIVE_NOMINALS,
                "balance": _m(self.bal[code]) if with_balances else None,
            }
            nominals.append(rec)
        banks = self._bank_records()
        replacements: dict[int, str] = {}
        sidecar = None
        if self.defects is not None:
            replacements, sidecar = self.defects.apply(self.path.name, self.seed)
        with self.path.open("w", encoding="utf-8", newline="\n") as out:
            out.write('{"format":"sage50-json","format_version":"1.0",')
            out.write(f'"history_mode":{_dumps(mode)},\n"company":{_dumps(self.company)},\n')
            for key, rows in (
                ("nominal_accounts", nominals),
                ("departments", [{"number": n, "name": nm} for n, nm in _DEPARTMENTS]),
                ("tax_codes", [_tax_record(t) for t in _TAX_CODES]),
                ("bank_accounts", banks),
                ("customers", [c.record for c in self.customers]),
                ("suppliers", [s.record for s in self.suppliers]),
                ("products", [p.record for p in self.products]),
            ):
                out.write(f'"{key}":[\n' + ",\n".join(_dumps(r) for r in rows) + "\n],\n")
            if opening is None:
                out.write('"opening_balances":null,\n')
            else:
                out.write('"opening_balances":{' + f'"as_of":{_dumps(opening["as_of"])},\n')
                for i, key in enumerate(
                    ("trial_balance", "customer_open_items", "supplier_open_items")
                ):
                    rows = opening[key]
                    body = ",\n".join(_dumps(r) for r in rows)
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
            tb_values = {code: self.bal[code] for code, _, _ in _CHART}
            items = sorted(
                self.closing_items + [it for it in self.opening_items if it.out],
                key=lambda it: it.number or 0,
            )
            allocations = False
        tb = []
        for code, _, _ in _CHART:
            value = tb_values.get(code, _Z)
            if value:
                tb.append(
                    {
                        "nominal_code": code,
                        "debit": _m(max(value, _Z)),
                        "credit": _m(max(-value, _Z)),
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
                    {"header_number": t.number, "amount": _m(a), "date": self._ds(d)}
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
                "exchange_rate": "1" if it.cur == _GBP else format(it.rate, "f"),
                "gross": _m(gross),
                "outstanding": _m(outstanding),
                "base_outstanding": _m(base),
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
            (_BANK, "Bank Current Account", "current", _GBP, "Pennine National Bank plc"),
            (_DEPOSIT, "Bank Deposit Account", "current", _GBP, "Pennine National Bank plc"),
            (_CASH, "Petty Cash", "cash", _GBP, None),
            (_CARD, "Company Credit Card", "credit_card", _GBP, "Pennine National Bank plc"),
            (_EURBANK, "Bank Euro Account", "current", "EUR", "Pennine National Bank plc"),
        ):
            sort: str | None = None
            number: str | None = None
            ib: str | None = None
            bic: str | None = None
            if kind == "current":
                sort, number = account()
                if cur != _GBP:
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


def _tax_record(t: tuple[str, str, str, bool, bool, bool, str | None, bool]) -> dict[str, Any]:
    code, rate, description, in_return, ec_sales, ec_purchases, ec_type, reverse = t
    return {
        "code": code,
        "rate": rate,
        "description": description,
        "in_vat_return": in_return,
        "ec_sales": ec_sales,
        "ec_purchases": ec_purchases,
        "ec_type": ec_type,
        "reverse_charge": reverse,
    }


def _cumulative(weights: list[float]) -> list[float]:
    total = 0.0
    result = []
    for w in weights:
        total += w
        result.append(total)
    return result
