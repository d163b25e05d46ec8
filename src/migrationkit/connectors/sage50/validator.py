"""Streaming validator for sage50-json 1.0 files: every invariant of FORMAT.md §9.

``validate_file(path)`` yields :class:`~migrationkit.core.findings.Finding` objects; a file is
valid when none of them is an error.  The file is streamed, never loaded whole:

1. The *head pass* parses the top-level object event by event and builds every section except
   the audit trail (they are small).  With the usual key order it stops at the ``transactions``
   array, so its cost does not grow with the trail; a section that comes after the trail makes
   it step over the trail and read on.
2. The *trail pass* has ijson's C backend build one transaction at a time.  A side-effect-free
   fast lane accepts a typical valid header with a few dict lookups (validated values, account
   combinations and amounts are cached); anything it does not accept goes to the full path,
   which reports exactly what is wrong.  Tests run every case through both and compare.
3. The *closing* checks need the whole file (allocations, balances, journals).  What they need
   is kept per header in packed ``array`` columns, about 20 bytes a header.

Inside the trail, amounts are whole pence in ``int``: exact for the two-decimal amounts the
format allows, and far cheaper than ``Decimal`` per value.  Findings show them as decimal text.
Messages name the header, the account and the amounts, for a bookkeeper rather than a parser.
"""

from __future__ import annotations

import codecs
import datetime as dt
import os
import re
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any, Final, NamedTuple

import ijson

from migrationkit.core.findings import Finding, Severity

__all__ = ["validate_file"]

_ERROR = Severity.ERROR
_WARNING = Severity.WARNING

# -- finding codes (FORMAT.md §9 plus the ones for unreadable files) ---------------------------

FILE_NOT_FOUND: Final = "FILE_NOT_FOUND"
FILE_UNREADABLE: Final = "FILE_UNREADABLE"
FILE_EMPTY: Final = "FILE_EMPTY"
ENCODING: Final = "ENCODING"
JSON_MALFORMED: Final = "JSON_MALFORMED"
SCHEMA_VIOLATION: Final = "SCHEMA_VIOLATION"
FORMAT_UNSUPPORTED: Final = "FORMAT_UNSUPPORTED"
MONEY_FORMAT: Final = "MONEY_FORMAT"
DATE_INVALID: Final = "DATE_INVALID"
DATE_OUT_OF_RANGE: Final = "DATE_OUT_OF_RANGE"
DUPLICATE_KEY: Final = "DUPLICATE_KEY"
DUPLICATE_HEADER_NUMBER: Final = "DUPLICATE_HEADER_NUMBER"
HISTORY_MODE: Final = "HISTORY_MODE"
UNKNOWN_NOMINAL: Final = "UNKNOWN_NOMINAL"
UNKNOWN_TAX_CODE: Final = "UNKNOWN_TAX_CODE"
UNKNOWN_ACCOUNT_REF: Final = "UNKNOWN_ACCOUNT_REF"
UNKNOWN_BANK: Final = "UNKNOWN_BANK"
UNKNOWN_DEPARTMENT: Final = "UNKNOWN_DEPARTMENT"
NOMINAL_TYPE_MISMATCH: Final = "NOMINAL_TYPE_MISMATCH"
CONTROL_ROLE: Final = "CONTROL_ROLE"
HEADER_TOTALS: Final = "HEADER_TOTALS"
SPLIT_TOTALS: Final = "SPLIT_TOTALS"
TAX_CALCULATION: Final = "TAX_CALCULATION"
TYPE_RULE: Final = "TYPE_RULE"
CURRENCY: Final = "CURRENCY"
JOURNAL_UNBALANCED: Final = "JOURNAL_UNBALANCED"
TRAIL_UNBALANCED: Final = "TRAIL_UNBALANCED"
OPENING_TB_UNBALANCED: Final = "OPENING_TB_UNBALANCED"
NOMINAL_BALANCE_MISMATCH: Final = "NOMINAL_BALANCE_MISMATCH"
OPENING_LEDGER_MISMATCH: Final = "OPENING_LEDGER_MISMATCH"
ALLOCATION_INVALID: Final = "ALLOCATION_INVALID"
OVER_ALLOCATION: Final = "OVER_ALLOCATION"
OUTSTANDING_MISMATCH: Final = "OUTSTANDING_MISMATCH"
ACCOUNT_BALANCE_MISMATCH: Final = "ACCOUNT_BALANCE_MISMATCH"
LEDGER_CONTROL_MISMATCH: Final = "LEDGER_CONTROL_MISMATCH"
ALLOCATION_DATE: Final = "ALLOCATION_DATE"
DUE_DATE: Final = "DUE_DATE"

# -- reading --------------------------------------------------------------------------------

_CHUNK = 256 * 1024
# The last transaction of a well-formed file ends a few bytes before EOF.  Feeding this many
# final bytes one at a time tells us exactly where the trail ends, so the head pass can stop at
# the trail and we still see any key that follows it.
_TAIL_WINDOW = 4096
_JSON_WS = b" \t\r\n"
_TAIL_CLEAN = re.compile(rb"[ \t\r\n]*\][ \t\r\n]*\}[ \t\r\n]*")
_TAIL_MORE = re.compile(rb"[ \t\r\n]*\][ \t\r\n]*,")
_STARTS = frozenset(("start_map", "start_array"))
_ENDS = frozenset(("end_map", "end_array"))

_MISSING: Any = object()
_ABSENT = (None, _MISSING)
_NO_DATE = 0

# -- patterns (FORMAT.md §1 and the schema) -------------------------------------------------

_MONEY_RX = re.compile(r"-?[0-9]+(?:\.[0-9]{1,2})?")
_MONEY2 = re.compile(r"-?[0-9]+\.[0-9]{2}").fullmatch
_LOOSE_MONEY = re.compile(r"\s*-?[0-9]{1,30}(?:\.[0-9]{1,30})?\s*")
_PRICE_RX = re.compile(r"[0-9]+(?:\.[0-9]{1,4})?")
_TAX_RATE_RX = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,2})?")
_XRATE_RX = re.compile(r"([0-9]{1,6})(?:\.([0-9]{1,6}))?")
_DATE_RX = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])")
_DATETIME_RX = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
_NOMINAL_RX = re.compile(r"[0-9]{4,8}")
_TAX_CODE_RX = re.compile(r"T(?:[0-9]|[1-9][0-9])")
_ACCOUNT_REF_RX = re.compile(r"[A-Z0-9][A-Z0-9._/&-]{0,7}")
_CURRENCY_RX = re.compile(r"[A-Z]{3}")
_COUNTRY_RX = re.compile(r"[A-Z]{2}")

_EARLIEST = dt.date(1980, 1, 1).toordinal()
_DATE_WINDOW_DAYS = 365
_GBP = "GBP"
_ONE_RATE = 1_000_000  # exchange rates are kept in millionths
_PENCE_CAP = 2**62  # far beyond any real amount; keeps the compact arrays from overflowing


# ============================================================================================
# Small helpers
# ============================================================================================


def _money(pence: int) -> str:
    """Pence as the decimal text a bookkeeper reads (``-12.50``)."""
    sign = "-" if pence < 0 else ""
    whole, cents = divmod(abs(pence), 100)
    return f"{sign}{whole}.{cents:02d}"


def _pence(text: str) -> int:
    """Whole pence of a string already matching the money pattern."""
    whole, _, frac = text.partition(".")
    value = int(whole.lstrip("-") + (frac + "00")[:2])
    return -value if text.startswith("-") else value


def _clamp(pence: int) -> int:
    return pence if -_PENCE_CAP < pence < _PENCE_CAP else (_PENCE_CAP if pence > 0 else -_PENCE_CAP)


def _round_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half away from zero (FORMAT.md's ``round``)."""
    quotient = (2 * abs(numerator) + denominator) // (2 * denominator)
    return quotient if numerator >= 0 else -quotient


def _tax_due(net: int, rate_bp: int) -> int:
    """VAT in pence on ``net`` pence at ``rate_bp`` hundredths of a percent, rounded per line."""
    return _round_div(net * rate_bp, 10_000)


def _to_base(foreign: int, rate: int) -> int:
    """GBP pence for ``foreign`` pence at ``rate`` millionths of a unit per pound."""
    return _round_div(foreign * _ONE_RATE, rate)


def _label(noun: str, name: Any, pointer: str) -> str:
    """How a message names a record: "Customer BRAMBLE", or by pointer if the name is unusable."""
    if isinstance(name, str) and 0 < len(name) <= 40:
        return f"{noun} {name}"
    return f"{noun} at {pointer}"


def _day(ordinal: int) -> str:
    return dt.date.fromordinal(ordinal).isoformat() if ordinal > 0 else "?"


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _kind_of(value: object) -> str:
    """How a JSON value looks, for messages: ``a number``, ``null`` ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f'"{value}"' if len(value) <= 40 else f'"{value[:37]}..."'
    if isinstance(value, list):
        return "a list"
    return "an object"


def _date_ordinal(text: str) -> int | None:
    """The ordinal of a ``YYYY-MM-DD`` calendar date, or None."""
    if not _DATE_RX.fullmatch(text):
        return None
    try:
        return dt.date(int(text[:4]), int(text[5:7]), int(text[8:10])).toordinal()
    except ValueError:
        return None


def _rate_millionths(text: str) -> int | None:
    match = _XRATE_RX.fullmatch(text)
    if match is None:
        return None
    whole, frac = match.groups()
    return int(whole) * _ONE_RATE + int((frac or "").ljust(6, "0"))


def _rate_text(rate: int) -> str:
    whole, frac = divmod(rate, _ONE_RATE)
    return f"{whole}.{frac:06d}".rstrip("0").rstrip(".")


def _basis_points(rate: str) -> int:
    """A tax rate like ``"17.5"`` as hundredths of a percent (1750)."""
    whole, _, frac = rate.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


# ============================================================================================
# Value kinds: the schema's rules for one value, used for every structural check
# ============================================================================================

Problem = tuple[str, str]


class _Kind:
    """One schema rule for a value: what is wrong with it, and what the checks use from it."""

    __slots__ = ("_check", "_parse", "_salvage", "nullable")

    def __init__(
        self,
        check: Callable[[Any], Problem | None],
        parse: Callable[[Any], Any] = lambda value: value,
        *,
        nullable: bool = False,
        salvage: Callable[[Any], Any] = lambda value: None,
    ) -> None:
        self._check = check
        self._parse = parse
        self._salvage = salvage
        self.nullable = nullable

    def salvage(self, value: Any) -> Any:
        """What the checks can still use from a value that breaks the rule (None: nothing).

        An amount written as the JSON number 884 is a MONEY_FORMAT error, but its value is
        plain, so the totals and balances go on with 884.00 rather than pile up errors.
        """
        return self._salvage(value)

    def problem(self, value: Any) -> Problem | None:
        """The code and text of what is wrong with ``value``, or None when it is fine."""
        if value is None and self.nullable:
            return None
        return self._check(value)

    def parse(self, value: Any) -> Any:
        """The value as the checks use it (pence, a day ordinal ...); only for good values."""
        return None if value is None else self._parse(value)

    def or_null(self) -> _Kind:
        """The same rule, also allowing ``null``."""
        return _Kind(self._check, self._parse, nullable=True, salvage=self._salvage)


def _text(max_len: int, min_len: int = 0) -> _Kind:
    def check(value: Any) -> Problem | None:
        if not isinstance(value, str):
            return SCHEMA_VIOLATION, f"must be text, not {_kind_of(value)}"
        if len(value) > max_len:
            return SCHEMA_VIOLATION, f"is {len(value)} characters long; the limit is {max_len}"
        if len(value) < min_len:
            return SCHEMA_VIOLATION, "must not be empty"
        return None

    return _Kind(check)


def _pattern(regex: re.Pattern[str], what: str, code: str = SCHEMA_VIOLATION) -> _Kind:
    def check(value: Any) -> Problem | None:
        if isinstance(value, str) and regex.fullmatch(value):
            return None
        return code, f"is {_kind_of(value)}, not {what}"

    return _Kind(check)


def _enum(*values: object) -> _Kind:
    allowed = ", ".join("null" if v is None else str(v) for v in values)

    def check(value: Any) -> Problem | None:
        if isinstance(value, str | type(None)) and value in values:
            return None
        return SCHEMA_VIOLATION, f"is {_kind_of(value)}; it must be one of {allowed}"

    return _Kind(check, nullable=None in values)


def _integer(low: int, high: int | None = None) -> _Kind:
    def check(value: Any) -> Problem | None:
        if type(value) is not int:
            return SCHEMA_VIOLATION, f"must be a whole number, not {_kind_of(value)}"
        if value < low or (high is not None and value > high):
            limit = f"from {low} to {high}" if high is not None else f"at least {low}"
            return SCHEMA_VIOLATION, f"is {value}; it must be {limit}"
        return None

    return _Kind(check)


def _check_bool(value: Any) -> Problem | None:
    if isinstance(value, bool):
        return None
    return SCHEMA_VIOLATION, f"must be true or false, not {_kind_of(value)}"


def _check_money(value: Any) -> Problem | None:
    if isinstance(value, str) and _MONEY_RX.fullmatch(value):
        return None
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return (
            MONEY_FORMAT,
            f'is the JSON number {value}; amounts must be decimal text like "12.34"',
        )
    return MONEY_FORMAT, f'is {_kind_of(value)}, not an amount like "12.34" (at most 2 decimals)'


def _check_money_nonneg(value: Any) -> Problem | None:
    problem = _check_money(value)
    if problem is None and value.startswith("-"):
        return SCHEMA_VIOLATION, f"is {value}; it must not be negative"
    return problem


def _check_date(value: Any) -> Problem | None:
    if isinstance(value, str) and _date_ordinal(value) is not None:
        return None
    if isinstance(value, str) and _DATE_RX.fullmatch(value):
        return DATE_INVALID, f'is "{value}", which is not a real calendar date'
    return DATE_INVALID, f"is {_kind_of(value)}, not a date written YYYY-MM-DD"


def _check_datetime(value: Any) -> Problem | None:
    if isinstance(value, str) and _DATETIME_RX.fullmatch(value):
        try:
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return DATE_INVALID, f'is "{value}", which is not a real date and time'
        return None
    return DATE_INVALID, f"is {_kind_of(value)}, not a timestamp like 2024-07-05T16:42:10+01:00"


def _check_tax_rate(value: Any) -> Problem | None:
    if not (isinstance(value, str) and _TAX_RATE_RX.fullmatch(value)):
        return SCHEMA_VIOLATION, f'is {_kind_of(value)}, not a percentage like "20.00"'
    if _basis_points(value) > 10_000:
        return SCHEMA_VIOLATION, f"is {value}%; a rate cannot exceed 100%"
    return None


def _check_exchange_rate(value: Any) -> Problem | None:
    rate = _rate_millionths(value) if isinstance(value, str) else None
    if rate is None:
        return SCHEMA_VIOLATION, f'is {_kind_of(value)}, not an exchange rate like "1.1685"'
    if rate == 0:
        return SCHEMA_VIOLATION, "is 0; an exchange rate must be greater than 0"
    return None


def _check_array(value: Any) -> Problem | None:
    return (
        None
        if isinstance(value, list)
        else (SCHEMA_VIOLATION, f"must be a list, not {_kind_of(value)}")
    )


def _check_object(value: Any) -> Problem | None:
    if isinstance(value, dict):
        return None
    return SCHEMA_VIOLATION, f"must be an object, not {_kind_of(value)}"


def _check_any_ref(value: Any) -> Problem | None:
    if isinstance(value, str) and (
        _ACCOUNT_REF_RX.fullmatch(value) or _NOMINAL_RX.fullmatch(value)
    ):
        return None
    return SCHEMA_VIOLATION, f"is {_kind_of(value)}, not an account reference or nominal code"


_TEXT8, _TEXT30, _TEXT32, _TEXT60 = _text(8), _text(30), _text(32), _text(60)
_NAME60 = _text(60, 1)
_BOOL = _Kind(_check_bool)


def _salvage_money(value: Any) -> int | None:
    """Pence of an amount with at most 2 decimals written the wrong way (a number, "1.500")."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        return None
    if isinstance(value, str) and not _LOOSE_MONEY.fullmatch(value):
        return None
    amount = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    if not amount.is_finite():
        return None
    pence = amount.scaleb(2)
    return int(pence) if pence == pence.to_integral_value() else None


_MONEY = _Kind(_check_money, _pence, salvage=_salvage_money)
_MONEY_NONNEG = _Kind(_check_money_nonneg, _pence, salvage=_salvage_money)
_DATE = _Kind(_check_date, _date_ordinal)
_DATETIME = _Kind(_check_datetime, lambda value: _date_ordinal(value[:10]))
_NOMINAL = _pattern(_NOMINAL_RX, "a nominal code of 4 to 8 digits")
_TAX_CODE = _pattern(_TAX_CODE_RX, "a tax code T0 to T99")
_ACCOUNT_REF = _pattern(_ACCOUNT_REF_RX, "an account reference (upper case, at most 8 characters)")
_CURRENCY_CODE = _pattern(_CURRENCY_RX, "a three-letter ISO 4217 currency code")
_COUNTRY = _pattern(_COUNTRY_RX, "a two-letter ISO 3166 country code")
_PRICE = _pattern(_PRICE_RX, 'a unit price like "9.2000" (at most 4 decimals)')
_TAX_RATE = _Kind(_check_tax_rate, _basis_points)
_EXCHANGE_RATE = _Kind(_check_exchange_rate, _rate_millionths)
_HEADER_NUMBER = _integer(1)
_ARRAY = _Kind(_check_array)
_OBJECT = _Kind(_check_object)
_ANY_REF = _Kind(_check_any_ref)


class _Shape(NamedTuple):
    """The keys of one kind of JSON object: each key's rule and whether it is required."""

    fields: dict[str, _Kind]
    required: frozenset[str]

    @classmethod
    def of(cls, required: dict[str, _Kind], optional: dict[str, _Kind] | None = None) -> _Shape:
        return cls({**required, **(optional or {})}, frozenset(required))


_ADDRESS = {f"address_{n}": _TEXT60 for n in range(1, 6)}

_COMPANY = _Shape.of(
    {
        "name": _NAME60,
        "registration": _pattern(
            re.compile(r"[A-Z0-9]{8}"), "an 8-character company number"
        ).or_null(),
        "vat_number": _pattern(
            re.compile(r"(?:GB)?(?:[0-9]{9}|[0-9]{12}|GD[0-9]{3}|HA[0-9]{3})"), "a UK VAT number"
        ).or_null(),
        "base_currency": _enum(_GBP),
        "financial_year_start": _OBJECT,
        "vat_scheme": _enum("standard", "cash", "flat_rate"),
        "sage50_version": _pattern(re.compile(r"[0-9]{2}(?:\.[0-9]+){0,3}"), "a Sage 50 version"),
        "exported_at": _DATETIME,
    },
    {
        **_ADDRESS,
        "country_code": _COUNTRY,
        "flat_rate_percent": _pattern(
            re.compile(r"[0-9]{1,2}(?:\.[0-9]{1,2})?"), 'a percentage like "16.50"'
        ).or_null(),
    },
)
_YEAR_START = _Shape.of({"month": _integer(1, 12), "day": _integer(1, 31)})
_NOMINAL_ACCOUNT = _Shape.of(
    {
        "code": _NOMINAL,
        "name": _NAME60,
        "type": _enum(
            "fixed_assets",
            "current_assets",
            "liabilities",
            "capital",
            "sales",
            "purchases",
            "direct_expenses",
            "overheads",
        ),
        "control_role": _enum(
            None,
            "debtors_control",
            "creditors_control",
            "sales_tax_control",
            "purchase_tax_control",
            "vat_liability",
            "retained_earnings",
            "default_sales",
            "sales_discount",
            "purchase_discount",
            "exchange_variance",
            "suspense",
            "mispostings",
        ),
    },
    {"inactive": _BOOL, "balance": _MONEY.or_null()},
)
_DEPARTMENT = _Shape.of({"number": _integer(0, 999), "name": _TEXT60})
_TAX_CODE_RECORD = _Shape.of(
    {
        "code": _TAX_CODE,
        "rate": _TAX_RATE,
        "description": _TEXT60,
        "in_vat_return": _BOOL,
        "ec_sales": _BOOL,
        "ec_purchases": _BOOL,
        "reverse_charge": _BOOL,
    },
    {"ec_type": _enum(None, "goods", "services")},
)
_BANK = _Shape.of(
    {
        "nominal_code": _NOMINAL,
        "name": _TEXT60,
        "bank_type": _enum("current", "cash", "credit_card"),
        "currency": _CURRENCY_CODE,
    },
    {
        "bank_name": _TEXT60.or_null(),
        "sort_code": _pattern(
            re.compile(r"[0-9]{2}-[0-9]{2}-[0-9]{2}"), "a sort code NN-NN-NN"
        ).or_null(),
        "account_number": _pattern(re.compile(r"[0-9]{6,10}"), "an account number").or_null(),
        "iban": _pattern(re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}"), "an IBAN").or_null(),
        "bic": _pattern(re.compile(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?"), "a BIC").or_null(),
        "inactive": _BOOL,
    },
)
_PARTY = _Shape.of(
    {
        "account_ref": _ACCOUNT_REF,
        "name": _NAME60,
        "currency": _CURRENCY_CODE,
        "payment_due_days": _integer(0, 365),
        "default_nominal": _NOMINAL.or_null(),
        "default_tax_code": _TAX_CODE.or_null(),
        "inactive": _BOOL,
    },
    {
        **_ADDRESS,
        "country_code": _COUNTRY,
        "contact_name": _TEXT30,
        "telephone": _TEXT30,
        "email": _text(255),
        "vat_number": _TEXT30,
        "credit_limit": _MONEY_NONNEG,
        "terms_agreed": _BOOL,
        "balance": _MONEY.or_null(),
    },
)
_PRODUCT = _Shape.of(
    {
        "stock_code": _pattern(
            re.compile(r"[A-Z0-9][A-Z0-9._/&+-]{0,29}"), "a stock code (upper case, at most 30)"
        ),
        "description": _TEXT60,
        "sales_price": _PRICE,
        "nominal_code": _NOMINAL,
        "tax_code": _TAX_CODE,
    },
    {
        "item_type": _enum("stock", "non_stock", "service"),
        "purchase_price": _PRICE.or_null(),
        "unit_of_sale": _TEXT8,
        "purchase_nominal_code": _NOMINAL.or_null(),
        "supplier_ref": _ACCOUNT_REF.or_null(),
        "inactive": _BOOL,
    },
)
_OPENING = _Shape.of(
    {
        "as_of": _DATE,
        "trial_balance": _ARRAY,
        "customer_open_items": _ARRAY,
        "supplier_open_items": _ARRAY,
    }
)
_TB_LINE = _Shape.of({"nominal_code": _NOMINAL, "debit": _MONEY_NONNEG, "credit": _MONEY_NONNEG})
# Amounts that must not be negative but have a more specific code when they are (I-A1, I-A3,
# I-Y1) are read as plain _MONEY here and judged by those checks.
_ALLOCATION = _Shape.of({"header_number": _HEADER_NUMBER, "amount": _MONEY, "date": _DATE})
_OPEN_ITEM = _Shape.of(
    {
        "header_number": _HEADER_NUMBER,
        "type": _enum("SI", "SC", "SA", "SP", "PI", "PC", "PA", "PR"),
        "account_ref": _ACCOUNT_REF,
        "date": _DATE,
        "reference": _TEXT30,
        "currency": _CURRENCY_CODE,
        "exchange_rate": _EXCHANGE_RATE,
        "gross": _MONEY,
        "outstanding": _MONEY,
        "base_outstanding": _MONEY_NONNEG,
        "allocations": _ARRAY,
    },
    {"due_date": _DATE.or_null(), "details": _TEXT60},
)
_SPLIT = _Shape.of(
    {
        "split_number": _HEADER_NUMBER,
        "nominal_code": _NOMINAL,
        "department": _integer(0, 999),
        "details": _TEXT60,
        "net": _MONEY,
        "tax_code": _TAX_CODE,
        "tax": _MONEY,
    },
    {"foreign_net": _MONEY.or_null(), "foreign_tax": _MONEY.or_null()},
)
_TRANSACTION = _Shape.of(
    {
        "header_number": _HEADER_NUMBER,
        "type": _enum(
            *[
                "SI",
                "SC",
                "SR",
                "SA",
                "SP",
                "SD",
                "PI",
                "PC",
                "PP",
                "PA",
                "PR",
                "PD",
                "BP",
                "BR",
                "CP",
                "CR",
                "VP",
                "VR",
                "JD",
                "JC",
            ]
        ),
        "account_ref": _ANY_REF,
        "bank_code": _NOMINAL.or_null(),
        "journal_group": _HEADER_NUMBER.or_null(),
        "date": _DATE,
        "due_date": _DATE.or_null(),
        "reference": _TEXT30,
        "extra_reference": _TEXT30,
        "details": _TEXT60,
        "currency": _CURRENCY_CODE,
        "exchange_rate": _EXCHANGE_RATE,
        "net": _MONEY,
        "tax": _MONEY,
        "gross": _MONEY,
        "outstanding": _MONEY,
        "paid_status": _enum("unpaid", "part", "paid"),
        "deleted": _BOOL,
        "splits": _ARRAY,
        "allocations": _ARRAY,
    },
    {
        "foreign_net": _MONEY.or_null(),
        "foreign_tax": _MONEY.or_null(),
        "foreign_gross": _MONEY.or_null(),
        "bank_reconciled_on": _DATE.or_null(),
        "user_name": _TEXT32,
    },
)
_TOP = _Shape.of(
    {
        "format": _Kind(lambda value: None),
        "format_version": _Kind(lambda value: None),
        "history_mode": _enum("full_history", "opening_balances", "records_only"),
        "company": _OBJECT,
        "nominal_accounts": _ARRAY,
        "departments": _ARRAY,
        "tax_codes": _ARRAY,
        "bank_accounts": _ARRAY,
        "customers": _ARRAY,
        "suppliers": _ARRAY,
        "products": _ARRAY,
        "opening_balances": _OBJECT.or_null(),
        "transactions": _ARRAY,
    }
)
_SECTIONS = _TOP.required - {"transactions"}


# ============================================================================================
# Transaction types (FORMAT.md §8.3 and §8.4)
# ============================================================================================

_TARGET, _SOURCE, _SETTLES_NOTHING = 1, 2, 0
_LINES, _LEDGER_PAYMENT, _BANK_ENTRY, _JOURNAL = range(4)


@dataclass(frozen=True, slots=True)
class _TypeRule:
    """What FORMAT.md says about one audit-trail type: its shape and how it posts."""

    code: str
    number: int  # the type's 5-bit number in the packed header facts
    name: str
    ledger: str | None  # "S", "P" or None
    role: int  # _TARGET, _SOURCE or _SETTLES_NOTHING
    shape: int
    bank_type: str | None  # the bank kind a BP..VR needs
    split_sign: int  # +1: split nets and VAT are debits; -1: credits; 0: splits do not post
    vat_role: str | None
    legs: tuple[tuple[str, int], ...]  # where gross posts: a role, "@bank_code" or "@account_ref"


def _type_table() -> dict[str, _TypeRule]:
    debtors, creditors = "debtors_control", "creditors_control"
    sales_vat, purchase_vat = "sales_tax_control", "purchase_tax_control"
    rows: list[tuple[Any, ...]] = [
        ("SI", "Sales invoice", "S", _TARGET, _LINES, None, -1, sales_vat, ((debtors, 1),)),
        ("SC", "Sales credit note", "S", _SOURCE, _LINES, None, 1, sales_vat, ((debtors, -1),)),
        ("SD", "Sales discount", "S", _SOURCE, _LINES, None, 1, sales_vat, ((debtors, -1),)),
        ("SR", "Sales receipt", "S", _SOURCE, _LEDGER_PAYMENT, None, 0, None,
         (("@bank_code", 1), (debtors, -1))),
        ("SA", "Receipt on account", "S", _SOURCE, _LEDGER_PAYMENT, None, 0, None,
         (("@bank_code", 1), (debtors, -1))),
        ("SP", "Sales refund", "S", _TARGET, _LEDGER_PAYMENT, None, 0, None,
         ((debtors, 1), ("@bank_code", -1))),
        ("PI", "Purchase invoice", "P", _TARGET, _LINES, None, 1, purchase_vat, ((creditors, -1),)),
        ("PC", "Purchase credit note", "P", _SOURCE, _LINES, None, -1, purchase_vat,
         ((creditors, 1),)),
        ("PD", "Purchase discount", "P", _SOURCE, _LINES, None, -1, purchase_vat,
         ((creditors, 1),)),
        ("PP", "Purchase payment", "P", _SOURCE, _LEDGER_PAYMENT, None, 0, None,
         ((creditors, 1), ("@bank_code", -1))),
        ("PA", "Payment on account", "P", _SOURCE, _LEDGER_PAYMENT, None, 0, None,
         ((creditors, 1), ("@bank_code", -1))),
        ("PR", "Purchase refund", "P", _TARGET, _LEDGER_PAYMENT, None, 0, None,
         (("@bank_code", 1), (creditors, -1))),
        ("BP", "Bank payment", None, 0, _BANK_ENTRY, "current", 1, purchase_vat,
         (("@account_ref", -1),)),
        ("BR", "Bank receipt", None, 0, _BANK_ENTRY, "current", -1, sales_vat,
         (("@account_ref", 1),)),
        ("CP", "Cash payment", None, 0, _BANK_ENTRY, "cash", 1, purchase_vat,
         (("@account_ref", -1),)),
        ("CR", "Cash receipt", None, 0, _BANK_ENTRY, "cash", -1, sales_vat, (("@account_ref", 1),)),
        ("VP", "Credit card payment", None, 0, _BANK_ENTRY, "credit_card", 1, purchase_vat,
         (("@account_ref", -1),)),
        ("VR", "Credit card receipt", None, 0, _BANK_ENTRY, "credit_card", -1, sales_vat,
         (("@account_ref", 1),)),
        ("JD", "Journal debit", None, 0, _JOURNAL, None, 1, None, ()),
        ("JC", "Journal credit", None, 0, _JOURNAL, None, -1, None, ()),
    ]  # fmt: skip
    return {row[0]: _TypeRule(row[0], n, *row[1:]) for n, row in enumerate(rows)}


_TYPES: Final = _type_table()
_TYPE_BY_INDEX: Final = {rule.number: rule for rule in _TYPES.values()}
_UNKNOWN_TYPE = 31
_DELETED = 0x20
_UNSETTLED = 0x40  # cap or outstanding unreadable: settlement checks are skipped
_TYPE_MASK = 0x1F


def _settles_table() -> bytes:
    """_SETTLES[source type << 6 | target kind] is 1 when such a source may settle such a target.

    That is: same ledger, a source type and a target type (FORMAT.md §8.8).  A target kind with
    the _DELETED bit set finds 0.
    """
    table = bytearray(2048)
    for source in _TYPES.values():
        for target in _TYPES.values():
            if source.role == _SOURCE and target.role == _TARGET and source.ledger == target.ledger:
                table[source.number << 6 | target.number] = 1
    return bytes(table)


_SETTLES: Final = _settles_table()
_LEDGER_NAMES = {"S": "sales ledger", "P": "purchase ledger"}
_PAID = {"unpaid": 0, "part": 1, "paid": 2}
_PAID_NAMES = ("unpaid", "part", "paid")
_REQUIRED_ROLES = (
    "debtors_control",
    "creditors_control",
    "sales_tax_control",
    "purchase_tax_control",
    "retained_earnings",
    "suspense",
)
_CHART_RANGES = (
    (10, "fixed_assets"),
    (1000, "current_assets"),
    (2000, "liabilities"),
    (3000, "capital"),
    (4000, "sales"),
    (5000, "purchases"),
    (6000, "direct_expenses"),
    (7000, "overheads"),
)


def _derived_type(code: str) -> str | None:
    """The nominal type Sage 50's standard chart layout gives a code (FORMAT.md §5.1)."""
    head = int(code[:4])
    derived = None
    for start, kind in _CHART_RANGES:
        if head >= start:
            derived = kind
    return derived


# ============================================================================================
# Findings
# ============================================================================================


class _Report:
    """Collects findings in order; the driver hands them out as they come."""

    def __init__(self) -> None:
        self.pending: list[Finding] = []

    def add(
        self,
        code: str,
        message: str,
        pointer: str,
        header_number: int | None = None,
        severity: Severity = _ERROR,
        /,
        **details: Any,
    ) -> None:
        """Record one finding; ``details`` are the numbers and names it is about."""
        self.pending.append(
            Finding(
                code=code,
                severity=severity,
                message=message,
                pointer=pointer,
                header_number=header_number,
                details=details,
            )
        )

    def drain(self) -> list[Finding]:
        out, self.pending = self.pending, []
        return out


def _check_shape(
    obj: dict[str, Any],
    shape: _Shape,
    pointer: str,
    where: str,
    report: _Report,
    header_number: int | None = None,
) -> dict[str, Any]:
    """Report missing, unknown and malformed keys of ``obj``; return the parsed good values."""
    good: dict[str, Any] = {}
    for key in shape.required.difference(obj):
        report.add(
            SCHEMA_VIOLATION, f"{where} has no {key}.", pointer, header_number, missing_key=key
        )
    for key, value in obj.items():
        kind = shape.fields.get(key)
        if kind is None:
            report.add(
                SCHEMA_VIOLATION,
                f"{where} has a key {key!r} that the format does not define.",
                f"{pointer}/{_escape(key)}",
                header_number,
                unknown_key=key,
            )
            continue
        problem = kind.problem(value)
        if problem is None:
            good[key] = kind.parse(value)
            continue
        code, text = problem
        report.add(
            code,
            f"{where}: {key} {text}.",
            f"{pointer}/{key}",
            header_number,
            key=key,
            found=_kind_of(value),
        )
        salvaged = kind.salvage(value)
        if salvaged is not None:
            good[key] = salvaged
    return good


def _objects(
    value: Any, pointer: str, what: str, report: _Report
) -> Iterator[tuple[int, dict[str, Any], str]]:
    """The elements of a list section that are objects, with their pointers."""
    if not isinstance(value, list):
        return
    for n, item in enumerate(value):
        if isinstance(item, dict):
            yield n, item, f"{pointer}/{n}"
        else:
            report.add(
                SCHEMA_VIOLATION,
                f"Entry {n} of {what} must be an object, not {_kind_of(item)}.",
                f"{pointer}/{n}",
            )


# ============================================================================================
# Master data (everything except the audit trail)
# ============================================================================================


class _Party(NamedTuple):
    slot: int  # position in its ledger's list, as kept in the packed header facts
    ref: str
    currency: str | None
    balance: int | None
    pointer: str


class _Bank(NamedTuple):
    code: str
    bank_type: str | None
    currency: str | None


class _TaxCode(NamedTuple):
    rate_bp: int | None
    no_vat: bool  # ec_purchases or reverse_charge: I-T3 wants tax 0.00


class _Account(NamedTuple):
    code: str
    type: str | None
    role: str | None
    balance: int | None
    pointer: str


class _OpenItem:
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
        "rule",
        "settled",
    )

    def __init__(self, header_number: int | None, pointer: str) -> None:
        self.header_number = header_number
        self.pointer = pointer
        self.rule: _TypeRule | None = None
        self.ledger: str | None = None
        self.account = -1
        self.currency: str | None = None
        self.date = _NO_DATE
        self.rate: int | None = None
        self.cap: int | None = None  # the snapshot outstanding
        self.base: int | None = None
        self.allocated_from = 0
        self.allocated_to = 0
        self.settled = True  # False when gross/outstanding are unreadable


class _Master:
    """The reference data the audit trail is checked against."""

    def __init__(self) -> None:
        self.history_mode: str | None = None
        self.low = _EARLIEST
        self.high = dt.date.max.toordinal()
        self.as_of: int | None = None
        self.chart: dict[str, _Account] = {}
        self.chart_known = False  # False when the section is missing: do not flood UNKNOWN_*
        self.roles: dict[str, str] = {}
        self.departments: set[int] = {0}
        self.departments_known = False
        self.tax_codes: dict[str, _TaxCode] = {}
        self.tax_codes_known = False
        self.banks: dict[str, _Bank] = {}
        self.banks_known = False
        self.parties: dict[str, dict[str, _Party]] = {"S": {}, "P": {}}
        self.parties_known = {"S": False, "P": False}
        self.trial_balance: dict[str, int] = {}
        self.tb_pointers: dict[str, str] = {}
        self.open_items: list[_OpenItem] = []


class _MasterLoader:
    """Checks the small sections and turns them into a _Master."""

    def __init__(
        self,
        values: dict[str, Any],
        report: _Report,
        headers: _HeaderIndex,
        allocations: _Allocations,
    ) -> None:
        self.values = values
        self.report = report
        self.headers = headers
        self.allocations = allocations
        self.m = _Master()

    def load(self) -> _Master:
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
            self._opening_balances,
        ):
            step()
        return self.m

    # -- sections ---------------------------------------------------------------------------

    def _company(self) -> None:
        company = self.values.get("company")
        if not isinstance(company, dict):
            return
        good = _check_shape(company, _COMPANY, "/company", "The company", self.report)
        if good.get("exported_at"):
            self.m.high = good["exported_at"] + _DATE_WINDOW_DAYS
        year_start = company.get("financial_year_start")
        if isinstance(year_start, dict):
            _check_shape(
                year_start,
                _YEAR_START,
                "/company/financial_year_start",
                "The financial year start",
                self.report,
            )
        scheme, percent = company.get("vat_scheme"), company.get("flat_rate_percent")
        if scheme == "flat_rate" and not isinstance(percent, str):
            self.report.add(
                SCHEMA_VIOLATION,
                "The company uses the flat-rate VAT scheme but gives no flat_rate_percent.",
                "/company/flat_rate_percent",
            )
        elif scheme in ("standard", "cash") and percent is not None:
            self.report.add(
                SCHEMA_VIOLATION,
                f"The company uses the {scheme} VAT scheme, so flat_rate_percent must be null, "
                f"not {_kind_of(percent)}.",
                "/company/flat_rate_percent",
            )

    def _chart(self) -> None:
        section = self.values.get("nominal_accounts")
        if not isinstance(section, list):
            return
        self.m.chart_known = True
        if not section:
            self.report.add(
                SCHEMA_VIOLATION, "The chart of accounts is empty.", "/nominal_accounts"
            )
        holders: dict[str, str] = {}
        for _n, obj, ptr in _objects(section, "/nominal_accounts", "nominal_accounts", self.report):
            code = obj.get("code")
            where = _label("Nominal account", code, ptr)
            good = _check_shape(obj, _NOMINAL_ACCOUNT, ptr, where, self.report)
            code = good.get("code")
            if code is None:
                continue
            if code in self.m.chart:
                self._duplicate(f"Nominal code {code}", ptr + "/code", self.m.chart[code].pointer)
                continue
            self._chart_type(code, good.get("type"), ptr)
            role = good.get("control_role")
            if role is not None and role in holders:
                self.report.add(
                    CONTROL_ROLE,
                    f"Nominal accounts {holders[role]} and {code} both hold the {role} role; "
                    "each control role belongs to one account.",
                    ptr + "/control_role",
                    role=role,
                    accounts=[holders[role], code],
                )
                role = None
            elif role is not None:
                holders[role] = code
            self.m.chart[code] = _Account(code, good.get("type"), role, good.get("balance"), ptr)
        self.m.roles = dict(holders)
        for role in _REQUIRED_ROLES:
            if role not in holders:
                self.report.add(
                    CONTROL_ROLE,
                    f"No nominal account holds the {role} role, which every company needs.",
                    "/nominal_accounts",
                    role=role,
                )

    def _chart_type(self, code: str, stated: str | None, pointer: str) -> None:
        derived = _derived_type(code)
        if derived is None:
            self.report.add(
                NOMINAL_TYPE_MISMATCH,
                f"Nominal code {code} is invalid: codes starting 0000 to 0009 have no place in the "
                "chart.",
                pointer + "/code",
                code=code,
            )
        elif stated is not None and stated != derived:
            self.report.add(
                NOMINAL_TYPE_MISMATCH,
                f"Nominal account {code} has type {stated}, but its code puts it in {derived}.",
                pointer + "/type",
                code=code,
                stated=stated,
                expected=derived,
            )

    def _departments(self) -> None:
        section = self.values.get("departments")
        self.m.departments_known = isinstance(section, list)
        seen: dict[int, str] = {}
        for n, obj, ptr in _objects(section, "/departments", "departments", self.report):
            good = _check_shape(obj, _DEPARTMENT, ptr, f"Department entry {n}", self.report)
            number = good.get("number")
            if number is None:
                continue
            if number in seen:
                self._duplicate(f"Department {number}", ptr + "/number", seen[number])
            else:
                seen[number] = ptr
                self.m.departments.add(number)

    def _tax_codes(self) -> None:
        section = self.values.get("tax_codes")
        if not isinstance(section, list):
            return
        self.m.tax_codes_known = True
        if not section:
            self.report.add(SCHEMA_VIOLATION, "The tax code list is empty.", "/tax_codes")
        seen: dict[str, str] = {}
        for _n, obj, ptr in _objects(section, "/tax_codes", "tax_codes", self.report):
            code = obj.get("code")
            good = _check_shape(
                obj, _TAX_CODE_RECORD, ptr, _label("Tax code", code, ptr), self.report
            )
            code = good.get("code")
            if code is None:
                continue
            if code in seen:
                self._duplicate(f"Tax code {code}", ptr + "/code", seen[code])
                continue
            seen[code] = ptr
            no_vat = bool(good.get("ec_purchases")) or bool(good.get("reverse_charge"))
            self.m.tax_codes[code] = _TaxCode(good.get("rate"), no_vat)

    def _banks(self) -> None:
        section = self.values.get("bank_accounts")
        self.m.banks_known = isinstance(section, list)
        seen: dict[str, str] = {}
        for _n, obj, ptr in _objects(section, "/bank_accounts", "bank_accounts", self.report):
            code = obj.get("nominal_code")
            good = _check_shape(obj, _BANK, ptr, _label("Bank account", code, ptr), self.report)
            code = good.get("nominal_code")
            if code is None:
                continue
            if code in seen:
                self._duplicate(f"Bank account {code}", ptr + "/nominal_code", seen[code])
                continue
            seen[code] = ptr
            self._bank_nominal(code, ptr + "/nominal_code")
            self.m.banks[code] = _Bank(code, good.get("bank_type"), good.get("currency"))

    def _bank_nominal(self, code: str, pointer: str) -> None:
        account = self.m.chart.get(code)
        if account is None:
            if self.m.chart_known:
                self.report.add(
                    UNKNOWN_NOMINAL,
                    f"Bank account {code} has no nominal account {code} in the chart.",
                    pointer,
                    nominal_code=code,
                )
            return
        if account.type not in ("current_assets", "liabilities", None):
            self.report.add(
                NOMINAL_TYPE_MISMATCH,
                f"Bank account {code} sits on a {account.type} nominal account; a bank must be "
                "current_assets or liabilities.",
                pointer,
                nominal_code=code,
                type=account.type,
            )
        if account.role is not None:
            self.report.add(
                CONTROL_ROLE,
                f"Bank account {code} sits on the {account.role} control account; a bank "
                "account must not hold a control role.",
                pointer,
                nominal_code=code,
                role=account.role,
            )

    def _parties(self) -> None:
        for ledger, key, noun in (("S", "customers", "Customer"), ("P", "suppliers", "Supplier")):
            section = self.values.get(key)
            self.m.parties_known[ledger] = isinstance(section, list)
            parties = self.m.parties[ledger]
            for _n, obj, ptr in _objects(section, f"/{key}", key, self.report):
                ref = obj.get("account_ref")
                where = _label(noun, ref, ptr)
                good = _check_shape(obj, _PARTY, ptr, where, self.report)
                ref = good.get("account_ref")
                if ref is None:
                    continue
                if ref in parties:
                    self._duplicate(f"{noun} {ref}", ptr + "/account_ref", parties[ref].pointer)
                    continue
                self._nominal_ref(good.get("default_nominal"), ptr + "/default_nominal", where)
                self._tax_ref(good.get("default_tax_code"), ptr + "/default_tax_code", where)
                parties[ref] = _Party(
                    len(parties), ref, good.get("currency"), good.get("balance"), ptr
                )

    def _products(self) -> None:
        seen: dict[str, str] = {}
        suppliers = self.m.parties["P"]
        for _n, obj, ptr in _objects(
            self.values.get("products"), "/products", "products", self.report
        ):
            code = obj.get("stock_code")
            where = _label("Product", code, ptr)
            good = _check_shape(obj, _PRODUCT, ptr, where, self.report)
            code = good.get("stock_code")
            if code is not None:
                if code in seen:
                    self._duplicate(f"Stock code {code}", ptr + "/stock_code", seen[code])
                else:
                    seen[code] = ptr
            self._nominal_ref(good.get("nominal_code"), ptr + "/nominal_code", where)
            self._nominal_ref(
                good.get("purchase_nominal_code"), ptr + "/purchase_nominal_code", where
            )
            self._tax_ref(good.get("tax_code"), ptr + "/tax_code", where)
            supplier = good.get("supplier_ref")
            if supplier is not None and self.m.parties_known["P"] and supplier not in suppliers:
                self.report.add(
                    UNKNOWN_ACCOUNT_REF,
                    f"{where} names supplier {supplier}, which is not in the supplier list.",
                    ptr + "/supplier_ref",
                    account_ref=supplier,
                )

    def _history_mode(self) -> None:
        mode = self.values.get("history_mode")
        if mode not in ("full_history", "opening_balances", "records_only"):
            return  # reported by the top-level shape check
        self.m.history_mode = mode
        opening = self.values.get("opening_balances", _MISSING)
        if opening is _MISSING:
            return
        if mode == "records_only" and opening is not None:
            self.report.add(
                HISTORY_MODE,
                "The file is records_only (master data only) but has opening balances; they "
                "must be null.",
                "/opening_balances",
                history_mode=mode,
            )
        elif mode != "records_only" and opening is None:
            self.report.add(
                HISTORY_MODE,
                f"The file is {mode} but has no opening balances; that mode requires them.",
                "/opening_balances",
                history_mode=mode,
            )

    # -- opening balances ---------------------------------------------------------------------

    def _opening_balances(self) -> None:
        opening = self.values.get("opening_balances")
        if not isinstance(opening, dict):
            return
        good = _check_shape(
            opening, _OPENING, "/opening_balances", "The opening balances", self.report
        )
        as_of = good.get("as_of")
        if as_of is not None:
            self._date_range(as_of, "/opening_balances/as_of", "The opening balance date")
            self.m.as_of = as_of
        self._trial_balance(opening.get("trial_balance"))
        for ledger, key in (("S", "customer_open_items"), ("P", "supplier_open_items")):
            pointer = f"/opening_balances/{key}"
            for _n, obj, ptr in _objects(opening.get(key), pointer, key, self.report):
                self._open_item(obj, ptr, ledger)
        self._opening_ledgers()

    def _trial_balance(self, lines: Any) -> None:
        debits = credits = 0
        pointer = "/opening_balances/trial_balance"
        for _n, obj, ptr in _objects(lines, pointer, "trial_balance", self.report):
            code = obj.get("nominal_code")
            good = _check_shape(
                obj, _TB_LINE, ptr, _label("Trial balance line", code, ptr), self.report
            )
            debit, credit = good.get("debit", 0), good.get("credit", 0)
            debits, credits = debits + debit, credits + credit
            if debit and credit:
                self.report.add(
                    SCHEMA_VIOLATION,
                    f"Trial balance line {code} has both a debit ({_money(debit)}) and a credit "
                    f"({_money(credit)}); one side must be zero.",
                    ptr,
                    debit=_money(debit),
                    credit=_money(credit),
                )
            code = good.get("nominal_code")
            if code is None:
                continue
            if code in self.m.trial_balance:
                self._duplicate(
                    f"Trial balance nominal {code}", ptr + "/nominal_code", self.m.tb_pointers[code]
                )
                continue
            self._nominal_ref(code, ptr + "/nominal_code", "The trial balance")
            self.m.trial_balance[code] = debit - credit
            self.m.tb_pointers[code] = ptr
        if debits != credits:
            self.report.add(
                OPENING_TB_UNBALANCED,
                f"The opening trial balance does not balance: debits {_money(debits)}, "
                f"credits {_money(credits)} (difference {_money(debits - credits)}).",
                pointer,
                debits=_money(debits),
                credits=_money(credits),
                difference=_money(debits - credits),
            )

    def _open_item(self, obj: dict[str, Any], ptr: str, ledger: str) -> None:
        hn = obj.get("header_number")
        hn = hn if type(hn) is int and hn >= 1 else None
        where = f"Open item {hn}" if hn is not None else "An open item"
        good = _check_shape(obj, _OPEN_ITEM, ptr, where, self.report, hn)
        item = _OpenItem(hn, ptr)
        self.m.open_items.append(item)
        item.ledger = ledger
        if hn is not None:
            earlier = self.headers.add(hn, -len(self.m.open_items))
            if earlier is not None:
                _duplicate_header(self.report, hn, ptr + "/header_number", earlier, self.m)
        rule = _TYPES.get(good.get("type", ""))
        if rule is not None:
            if rule.ledger != ledger:
                listed = "customer" if ledger == "S" else "supplier"
                self.report.add(
                    SCHEMA_VIOLATION,
                    f"{where} is a {rule.name.lower()} but is listed among the {listed} open "
                    "items.",
                    ptr + "/type",
                    hn,
                )
            else:
                item.rule = rule
        self._open_item_account(item, good, ptr, where)
        self._open_item_dates(item, good, ptr, where)
        self._open_item_amounts(item, good, ptr, where)
        self._open_item_allocations(item, obj.get("allocations"), ptr, where)

    def _open_item_account(
        self, item: _OpenItem, good: dict[str, Any], ptr: str, where: str
    ) -> None:
        ref, currency, rate = (
            good.get("account_ref"),
            good.get("currency"),
            good.get("exchange_rate"),
        )
        ledger = item.ledger or "S"
        party = self.m.parties[ledger].get(ref) if ref is not None else None
        if party is not None:
            item.account = party.slot
            if currency is not None and party.currency is not None and currency != party.currency:
                self.report.add(
                    CURRENCY,
                    f"{where} is in {currency} but account {ref} trades in {party.currency}.",
                    ptr + "/currency",
                    item.header_number,
                    currency=currency,
                    account_currency=party.currency,
                )
        elif ref is not None and self.m.parties_known[ledger]:
            listed = "customer" if ledger == "S" else "supplier"
            self.report.add(
                UNKNOWN_ACCOUNT_REF,
                f"{where} is for account {ref}, which is not a {listed}.",
                ptr + "/account_ref",
                item.header_number,
                account_ref=ref,
            )
        item.currency = currency
        item.rate = rate
        if currency == _GBP and rate is not None and rate != _ONE_RATE:
            self.report.add(
                CURRENCY,
                f"{where} is in GBP, so its exchange rate must be 1, not {_rate_text(rate)}.",
                ptr + "/exchange_rate",
                item.header_number,
                exchange_rate=_rate_text(rate),
            )

    def _open_item_dates(self, item: _OpenItem, good: dict[str, Any], ptr: str, where: str) -> None:
        date, due = good.get("date"), good.get("due_date")
        if date is not None:
            item.date = date
            self._date_range(date, ptr + "/date", where, item.header_number)
            if self.m.as_of is not None and date > self.m.as_of:
                self.report.add(
                    HISTORY_MODE,
                    f"{where} is dated {_day(date)}, after the opening balance date "
                    f"{_day(self.m.as_of)}; open items must be on or before it.",
                    ptr + "/date",
                    item.header_number,
                    date=_day(date),
                    as_of=_day(self.m.as_of),
                )
        if due is not None:
            self._date_range(due, ptr + "/due_date", where, item.header_number)
            if date is not None and due < date:
                self.report.add(
                    DUE_DATE,
                    f"{where} is due {_day(due)}, before its date {_day(date)}.",
                    ptr + "/due_date",
                    item.header_number,
                    _WARNING,
                    date=_day(date),
                    due_date=_day(due),
                )

    def _open_item_amounts(
        self, item: _OpenItem, good: dict[str, Any], ptr: str, where: str
    ) -> None:
        gross, outstanding = good.get("gross"), good.get("outstanding")
        item.base = good.get("base_outstanding")
        if gross is None or outstanding is None:
            item.settled = False
            return
        item.cap = outstanding
        if not 0 < outstanding <= gross:
            item.settled = False
            self.report.add(
                OUTSTANDING_MISMATCH,
                f"{where} has outstanding {_money(outstanding)} against gross {_money(gross)}; an "
                "open item must have 0 < outstanding ≤ gross.",
                ptr + "/outstanding",
                item.header_number,
                gross=_money(gross),
                outstanding=_money(outstanding),
            )

    def _open_item_allocations(
        self, item: _OpenItem, allocations: Any, ptr: str, where: str
    ) -> None:
        if not isinstance(allocations, list) or not allocations:
            return
        if item.rule is not None and item.rule.role != _SOURCE:
            self.report.add(
                TYPE_RULE,
                f"{where} is a {item.rule.name.lower()}, which other items settle; it cannot "
                "carry allocations.",
                ptr + "/allocations",
                item.header_number,
            )
            return
        source = -len(self.m.open_items)  # open item j is stored as -(j + 1)
        for n, obj, aptr in _objects(allocations, ptr + "/allocations", "allocations", self.report):
            good = _check_shape(
                obj, _ALLOCATION, aptr, f"{where}, allocation {n}", self.report, item.header_number
            )
            target, amount, date = good.get("header_number"), good.get("amount"), good.get("date")
            if date is not None:
                self._date_range(
                    date, aptr + "/date", f"{where}, allocation {n}", item.header_number
                )
            if amount is None:
                continue
            item.allocated_from += amount
            if amount <= 0:
                _bad_amount(self.report, where, n, amount, aptr, item.header_number)
            elif target is not None:
                self.allocations.add(
                    source, item.header_number or 0, n, target, amount, date or _NO_DATE
                )
        if item.settled and item.cap is not None and item.allocated_from > item.cap:
            item.settled = False
            self.report.add(
                OVER_ALLOCATION,
                f"{where} allocates {_money(item.allocated_from)} in total, more than the "
                f"{_money(item.cap)} it had outstanding at the opening balance date.",
                ptr + "/allocations",
                item.header_number,
                allocated=_money(item.allocated_from),
                outstanding=_money(item.cap),
            )

    def _opening_ledgers(self) -> None:
        """I-L1: the control-account lines of the TB equal the open items behind them."""
        sums = {"S": 0, "P": 0}
        for item in self.m.open_items:
            if item.rule is not None and item.ledger is not None and item.base is not None:
                sums[item.ledger] += item.base if item.rule.role == _TARGET else -item.base
        for ledger, role, sign, noun in (
            ("S", "debtors_control", 1, "customer"),
            ("P", "creditors_control", -1, "supplier"),
        ):
            code = self.m.roles.get(role)
            if code is None:
                continue
            line = sign * self.m.trial_balance.get(code, 0)
            if line != sums[ledger]:
                side = "debit" if sign > 0 else "credit"
                self.report.add(
                    OPENING_LEDGER_MISMATCH,
                    f"The opening trial balance shows {_money(line)} ({side}) on {role} {code}, "
                    f"but the {noun} open items add up to {_money(sums[ledger])}.",
                    self.m.tb_pointers.get(code, "/opening_balances/trial_balance"),
                    nominal_code=code,
                    trial_balance=_money(line),
                    open_items=_money(sums[ledger]),
                )

    # -- shared -------------------------------------------------------------------------------

    def _duplicate(self, what: str, pointer: str, first: str) -> None:
        self.report.add(
            DUPLICATE_KEY,
            f"{what} appears more than once (first at {first}).",
            pointer,
            first=first,
        )

    def _nominal_ref(self, code: str | None, pointer: str, where: str) -> None:
        if code is not None and self.m.chart_known and code not in self.m.chart:
            self.report.add(
                UNKNOWN_NOMINAL,
                f"{where} names nominal code {code}, which is not in the chart of accounts.",
                pointer,
                nominal_code=code,
            )

    def _tax_ref(self, code: str | None, pointer: str, where: str) -> None:
        if code is not None and self.m.tax_codes_known and code not in self.m.tax_codes:
            self.report.add(
                UNKNOWN_TAX_CODE,
                f"{where} names tax code {code}, which is not in the tax code list.",
                pointer,
                tax_code=code,
            )

    def _date_range(self, ordinal: int, pointer: str, where: str, hn: int | None = None) -> None:
        if not self.m.low <= ordinal <= self.m.high:
            self.report.add(
                DATE_OUT_OF_RANGE,
                f"{where} has the date {_day(ordinal)}, outside {_day(self.m.low)} to "
                f"{_day(self.m.high)} (365 days after the export).",
                pointer,
                hn,
                date=_day(ordinal),
            )


def _bad_amount(
    report: _Report, where: str, n: int, amount: int, pointer: str, hn: int | None
) -> None:
    report.add(
        ALLOCATION_INVALID,
        f"{where}, allocation {n} has amount {_money(amount)}; an allocation must be more "
        "than 0.00.",
        pointer + "/amount",
        hn,
        amount=_money(amount),
    )


def _duplicate_header(
    report: _Report, hn: int, pointer: str, earlier: int, master: _Master
) -> None:
    first = f"/transactions/{earlier}" if earlier >= 0 else master.open_items[-earlier - 1].pointer
    report.add(
        DUPLICATE_HEADER_NUMBER,
        f"Header number {hn} is used twice (first at {first}); header numbers are unique across "
        "the transactions and the open items.",
        pointer,
        hn,
        first=first,
    )


# ============================================================================================
# Compact cross-header state
# ============================================================================================


class _HeaderIndex:
    """Where each header number was defined, in about four bytes per header.

    Sage numbers headers 1, 2, 3 ..., so a flat array indexed by header number is both smaller
    and faster than a dict; numbers far beyond the count seen so far go to a dict instead.
    A slot is ``i + 1`` for ``/transactions/i`` and ``-(j + 1)`` for open item ``j``.
    """

    _DENSE_LIMIT = 1 << 27

    def __init__(self) -> None:
        self._dense = array("i")
        self._sparse: dict[int, int] = {}
        self._count = 0

    def add_new(self, hn: int, i: int) -> bool:
        """Record ``hn`` for ``/transactions/i`` unless it is taken; False when it is."""
        dense = self._dense
        if hn < len(dense) and not dense[hn]:
            dense[hn] = i + 1
            self._count += 1
            return True
        return self.get(hn) is None and self.add(hn, i) is None

    def add(self, hn: int, slot: int) -> int | None:
        """Record ``hn``; if it was already recorded, return the earlier slot instead."""
        dense = self._dense
        if hn < len(dense):
            earlier = dense[hn]
            if not earlier:
                dense[hn] = slot + 1 if slot >= 0 else slot
                self._count += 1
                return None
            return earlier - 1 if earlier > 0 else earlier
        return self._add_beyond(hn, slot)

    def _add_beyond(self, hn: int, slot: int) -> int | None:
        dense = self._dense
        # Grow while numbers stay near the count seen: dense numbering.  Far-off numbers (a
        # sparse or hostile file) go to the dict, so memory follows the header count.
        if hn < self._DENSE_LIMIT and hn < 4 * self._count + (1 << 20):
            dense.frombytes(bytes(max(hn + 1 - len(dense), len(dense), 1024) * dense.itemsize))
            return self.add(hn, slot)
        stored = slot + 1 if slot >= 0 else slot
        earlier = self._sparse.setdefault(hn, stored)
        if earlier != stored:
            return earlier - 1 if earlier > 0 else earlier
        self._count += 1
        return None

    def get(self, hn: int) -> int | None:
        """The slot of ``hn`` (see the class docstring), or None."""
        stored = self._dense[hn] if hn < len(self._dense) else self._sparse.get(hn, 0)
        if not stored:
            return None
        return stored - 1 if stored > 0 else stored


class _Allocations:
    """Every allocation in the file, six numbers each in one array, resolved at the end.

    A row is (source, source header number, position, target header number, amount, date),
    where source is a transaction index or -(j + 1) for open item j.
    """

    def __init__(self) -> None:
        self.rows = array("q")

    def add(
        self, source: int, source_hn: int, position: int, target: int, amount: int, date: int
    ) -> None:
        """Remember one allocation from ``source`` to header number ``target``."""
        self.rows.extend(
            (
                source,
                min(source_hn, _PENCE_CAP),
                position,
                min(target, _PENCE_CAP),
                _clamp(amount),
                date,
            )
        )

    def __iter__(self) -> Iterator[tuple[int, int, int, int, int, int]]:
        rows = iter(self.rows)
        return zip(rows, rows, rows, rows, rows, rows, strict=True)


# A problem found once for a combination of values: (code, key under the header, text, details).
_Problem = tuple[str, str, str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class _Context:
    """What a header's type, account_ref, bank_code and currency imply (cached per combo).

    A slotted class rather than a NamedTuple: the fast lane reads its fields a dozen times per
    header, and slot reads are the quicker kind.
    """

    rule: _TypeRule
    problems: tuple[_Problem, ...]
    account: int  # customer or supplier index, -1 when none or unknown
    ref: str | None
    bank: str | None
    currency: str | None
    foreign: bool
    legs: tuple[tuple[str | None, int], ...]  # (nominal, sign) each receiving gross
    vat_code: str | None
    ref_in_chart: bool
    fact: int  # _pack(type, currency, 0, account): add the date to get a header's facts
    cached: bool  # False once the cache is full: its totals are then folded header by header
    # Running sums over the non-deleted headers of this combination: gross, signed
    # outstanding, net of the splits and VAT of the splits; folded into balances at the end.
    totals: list[int]


class _SplitRef(NamedTuple):
    """What a split's nominal, department and tax code imply (cached per combination)."""

    nominal: str | None
    problems: tuple[_Problem, ...]
    tax_code: str | None
    rate_bp: int | None
    flat: bool  # a 0% or EC-purchase/reverse-charge code: the split's tax must be 0.00
    no_vat: bool


class _Tx:
    """One audit-trail header as the full checks see it: parsed values, None where unreadable."""

    __slots__ = (
        "account",
        "allocations",
        "bank",
        "currency",
        "date",
        "deleted",
        "due",
        "fgross",
        "fnet",
        "foreign",
        "ftax",
        "gross",
        "group",
        "hn",
        "i",
        "net",
        "out",
        "paid",
        "rate",
        "ref",
        "rule",
        "splits",
        "tax",
    )

    def __init__(self, i: int) -> None:
        self.i = i
        self.hn: int | None = None
        self.rule: _TypeRule | None = None
        self.account = -1
        self.ref: str | None = None
        self.bank: str | None = None
        self.group: int | None = None
        self.date: int | None = None
        self.due: int | None = None
        self.currency: str | None = None
        self.foreign = False
        self.rate: int | None = None
        self.net: int | None = None
        self.tax: int | None = None
        self.gross: int | None = None
        self.out: int | None = None
        self.fnet: int | None = None
        self.ftax: int | None = None
        self.fgross: int | None = None
        self.paid: int | None = None
        self.deleted = False
        self.splits: list[_SplitRow] = []
        self.allocations: list[_AllocRow] = []

    @property
    def pointer(self) -> str:
        return f"/transactions/{self.i}"

    @property
    def where(self) -> str:
        name = self.rule.name if self.rule is not None else "Transaction"
        return f"{name} {self.hn}" if self.hn is not None else f"{name} at {self.pointer}"

    @property
    def cap(self) -> int | None:
        """What allocations may settle: foreign gross on a foreign header, else gross."""
        return self.fgross if self.foreign else self.gross


# A split as read: (nominal, department, net, tax_code, tax, foreign_net, foreign_tax, ref).
_SplitRow = tuple[Any, Any, Any, Any, Any, Any, Any, "_SplitRef"]
# An allocation as read: (target header number, amount, date ordinal), None where unreadable.
_AllocRow = tuple[Any, Any, Any]
_ALLOC_LAYOUT = ("header_number", "amount", "date")
# The fast lane takes amounts of up to 15 digits before the point, so pence always fit the
# 64-bit arrays; anything longer goes to the full path, which clamps.
_AMOUNT = r"-?[0-9]{1,15}\.[0-9]{2}"
_FAST_AMOUNT = re.compile(_AMOUNT).fullmatch
_REQUIRED_COUNT = len(_TRANSACTION.required)


def _pack(kind: int, currency_id: int, date: int, account: int) -> int:
    """One header's allocation facts in one 64-bit word (see _unpack)."""
    return kind | currency_id << 8 | date << 16 | (account + 1) << 38


def _unpack(fact: int) -> tuple[int, int, int, int]:
    """(kind, currency id, date ordinal, account index) from _pack."""
    return fact & 0xFF, fact >> 8 & 0xFF, fact >> 16 & 0x3FFFFF, (fact >> 38) - 1


# ============================================================================================
# The audit trail
# ============================================================================================


class _Trail:
    """Checks transactions one by one and keeps what the end-of-file checks need.

    Each header first goes to ``_fast``: a side-effect-free acceptance test for a typical valid
    header.  Anything it does not accept goes to ``_full``, the reference implementation, which
    reports exactly what is wrong.  Both record their results the same way.
    """

    _CACHE_LIMIT = 100_000
    _AMOUNT_CACHE_LIMIT = 300_000
    fast_lane = True  # tests switch it off to prove that both paths agree

    def __init__(
        self, master: _Master, report: _Report, headers: _HeaderIndex, allocations: _Allocations
    ) -> None:
        self.m = master
        self.report = report
        self.headers = headers
        self.allocations = allocations
        # Values already proven valid: files use a few thousand dates, codes and rates, so a
        # dict hit replaces a regex and a parse.
        self._ok: dict[str, dict[str, Any]] = {
            key: {} for key in ("date", "nominal", "tax_code", "ref", "currency", "rate")
        }
        self._rates = self._ok["rate"]
        # Amount text already proven to be in the fast lane's format, with its pence: amounts
        # repeat a lot (a third of them are "0.00"), so a hit skips a regex and a parse.
        self._pence: dict[str, int] = {}
        self._window_dates: dict[str, int] = {}  # valid dates within the I-F4 window
        self._trail_dates: dict[str, int] = {}  # ... and, in full history, after as_of
        self._good_layouts: set[tuple[str, ...]] = set()
        self._good_split_layouts: set[tuple[str, ...]] = set()
        self._contexts: dict[tuple[Any, ...], _Context] = {}
        self._fast_contexts: dict[tuple[Any, ...], _Context | None] = {}
        self._split_refs: dict[tuple[Any, ...], _SplitRef] = {}
        # The VAT rate the fast lane applies per tax code: 0 where the split's tax must be 0.00
        # (a 0% code, or an EC-purchase or reverse-charge one); codes without a rate are absent.
        self._vat_rates = {
            code: 0 if tax.no_vat else tax.rate_bp
            for code, tax in master.tax_codes.items()
            if tax.rate_bp is not None
        }
        self.currencies: dict[str | None, int] = {}
        self._after = master.as_of if master.history_mode == "full_history" else None
        self.facts = array("Q")  # per transaction index: see _pack
        # five numbers per non-deleted SI/SP/PI/PR: index, header number, cap, outstanding, paid
        self.targets = array("q")
        self.postings: defaultdict[str, int] = defaultdict(int)  # net debit per nominal
        self.debits = 0
        self.credits = 0
        self.groups: dict[int, list[int]] = {}
        self.party_sums = {"S": [0] * len(master.parties["S"]), "P": [0] * len(master.parties["P"])}
        self.ledger_base = {"S": 0, "P": 0}
        self.foreign_items = {"S": 0, "P": 0}

    def check(self, tx: Any, i: int) -> None:
        """Check one element of ``transactions`` and remember what the final checks need."""
        if type(tx) is dict and self.fast_lane:
            try:
                if self._fast(tx, i):
                    return
            except (TypeError, KeyError):  # e.g. an unhashable code, a split without "net"
                pass
        self._full(tx, i)

    # -- cached derivations (both paths) ------------------------------------------------------

    def context(
        self, rule: _TypeRule, ref: str | None, bank: str | None, currency: str | None
    ) -> _Context:
        """The cached _Context of one combination of header values."""
        key = (rule.code, ref, bank, currency)
        found = self._contexts.get(key)
        if found is None:
            currency_id = self.currencies.get(currency)
            if currency_id is None:
                currency_id = min(len(self.currencies), 255)
                if currency_id < 255:
                    self.currencies[currency] = currency_id
            cached = len(self._contexts) < self._CACHE_LIMIT
            found = _ContextBuilder(self.m, rule, ref, bank, currency).build(currency_id, cached)
            if cached:
                self._contexts[key] = found
        return found

    def split_ref(self, nominal: str | None, department: int | None, code: str | None) -> _SplitRef:
        """The cached _SplitRef of one nominal, department and tax code."""
        key = (nominal, department, code)
        found = self._split_refs.get(key)
        if found is None:
            found = _make_split_ref(self.m, nominal, department, code)
            if len(self._split_refs) < self._CACHE_LIMIT:
                self._split_refs[key] = found
        return found

    def _fast_context(self, key: tuple[Any, ...]) -> _Context | None:
        """The context of raw header values, or None when the fast lane must not take them."""
        kind, ref, bank, currency = key
        rule = _TYPES.get(kind) if type(kind) is str else None
        found: _Context | None = None
        if not (
            rule is None
            or _ANY_REF.problem(ref)
            or (bank is not None and _NOMINAL.problem(bank))
            or _CURRENCY_CODE.problem(currency)
        ):
            assert rule is not None
            found = self.context(rule, ref, bank, currency)
            if (
                found.problems
                or not found.cached
                or (rule.shape == _JOURNAL and not found.ref_in_chart)
            ):
                found = None
        if len(self._fast_contexts) < self._CACHE_LIMIT:
            self._fast_contexts[key] = found
        return found

    # -- the fast lane ------------------------------------------------------------------------

    def _fast(self, tx: dict[str, Any], i: int) -> bool:
        """Accept a typical valid header with little work; False means "look closer".

        Returns before changing any state when anything is unusual, so that the full path can
        check the same header from scratch.  Lookups go to dicts whose keys are validated
        strings, so a value of any other type simply misses (or raises TypeError when it is
        unhashable, which ``check`` turns into the full path too).
        """
        # The five optional keys of _TRANSACTION.  Every required key is read with [] below
        # (KeyError: full path), so the key count then proves there is no unknown key.
        get = tx.get
        optional = (
            get("user_name", _MISSING),
            get("bank_reconciled_on", _MISSING),
            get("foreign_net", _MISSING),
            get("foreign_tax", _MISSING),
            get("foreign_gross", _MISSING),
        )
        if len(tx) != _REQUIRED_COUNT + 5 - optional.count(_MISSING):
            return False
        user, reconciled, fnet, ftax, fgross = optional
        key = (tx["type"], tx["account_ref"], tx["bank_code"], tx["currency"])
        ctx = self._fast_contexts.get(key, _MISSING)
        if ctx is _MISSING:
            ctx = self._fast_context(key)
        if ctx is None:
            return False
        rate = self._rates.get(tx["exchange_rate"])
        if rate is None or (rate != _ONE_RATE and not ctx.foreign):
            return False
        hn, group, deleted = tx["header_number"], tx["journal_group"], tx["deleted"]
        if type(hn) is not int or not 0 < hn < _PENCE_CAP or type(deleted) is not bool:
            return False
        rule = ctx.rule
        if rule.shape == _JOURNAL:
            if type(group) is not int or group < 1:
                return False
        elif group is not None:
            return False
        date = self._trail_dates.get(tx["date"]) or self._learn_date(tx["date"], trail=True)
        if not date:
            return False
        value = tx["due_date"]
        if value is not None:
            due = self._window_dates.get(value) or self._learn_date(value)
            if not due or due < date:
                return False
        if (
            reconciled is not None
            and reconciled is not _MISSING
            and not (self._window_dates.get(reconciled) or self._learn_date(reconciled))
        ):
            return False
        value = tx["reference"]
        if type(value) is not str or len(value) > 30:
            return False
        value = tx["extra_reference"]
        if type(value) is not str or len(value) > 30:
            return False
        value = tx["details"]
        if type(value) is not str or len(value) > 60:
            return False
        if user is not _MISSING and (type(user) is not str or len(user) > 32):
            return False
        pence = self._pence.get
        net, tax = pence(tx["net"]), pence(tx["tax"])
        gross, out = pence(tx["gross"]), pence(tx["outstanding"])
        if net is None or tax is None or gross is None or out is None:
            amounts = self._learn_pence(tx["net"], tx["tax"], tx["gross"], tx["outstanding"])
            if amounts is None:
                return False
            net, tax, gross, out = amounts
        paid = _PAID.get(tx["paid_status"])
        if paid is None or gross != net + tax or gross < 0 or out < 0:
            return False
        if ctx.foreign:
            foreign_net, foreign_tax, cap = pence(fnet), pence(ftax), pence(fgross)
            if foreign_net is None or foreign_tax is None or cap is None:
                amounts = self._learn_pence(fnet, ftax, fgross)
                if amounts is None:
                    return False
                foreign_net, foreign_tax, cap = amounts
            if cap != foreign_net + foreign_tax or cap < 0:
                return False
            foreign = (foreign_net, foreign_tax)
        else:
            # absent or null
            if fnet not in _ABSENT or ftax not in _ABSENT or fgross not in _ABSENT:
                return False
            foreign = None
            cap = gross
        lines = self._fast_splits(tx["splits"], ctx, rate)
        if lines is None or lines[0] != net or lines[1] != tax:
            return False
        if foreign is not None and (lines[2] != foreign[0] or lines[3] != foreign[1]):
            return False
        allocations = tx["allocations"]
        if type(allocations) is not list:
            return False
        role = rule.role
        if deleted:
            if out or allocations:
                return False
        elif role == _SOURCE:
            allocations = self._fast_allocations(allocations, cap, out, paid)
            if allocations is None:
                return False
        elif allocations or (role == _SETTLES_NOTHING and (out or paid != 2)):
            return False
        if not self.headers.add_new(hn, i):
            return False  # a repeated header number: the full path reports it
        # Everything holds: record the header.
        if deleted:
            self.facts.append(ctx.fact | _DELETED | date << 16)
            if rule.shape == _JOURNAL:
                self._join_group(group, i, hn, date, 0)
            return True
        self.facts.append(ctx.fact | date << 16)
        totals = ctx.totals
        totals[0] += gross
        totals[1] += out
        totals[2] += net
        totals[3] += tax
        sign = rule.split_sign
        if sign:
            postings = self.postings
            for nominal, amount in lines[4]:
                postings[nominal] += sign * amount
            if rule.shape == _JOURNAL:
                self._join_group(group, i, hn, date, sign * net)
        if role == _TARGET:
            self.targets.extend((i, hn, cap, out, paid))
        elif allocations:
            add = self.allocations.rows.extend
            for n, (target, amount, when) in enumerate(allocations):
                add((i, hn, n, target, amount, when))
        if ctx.foreign and out and role != _SETTLES_NOTHING:
            self._foreign_outstanding(rule, out, rate)
        return True

    def _learn_date(self, value: Any, *, trail: bool = False) -> int:
        """Admit a valid date to the fast lane's dicts; 0 when it is invalid or out of bounds.

        ``trail``: a transaction date, which must also come after ``as_of`` in full history.
        """
        if type(value) is not str or _DATE.problem(value):
            return 0
        date: int = _DATE.parse(value)
        if not self.m.low <= date <= self.m.high:
            return 0
        if len(self._window_dates) < self._CACHE_LIMIT:
            self._window_dates[value] = date
        if self._after is not None and date <= self._after:
            return 0 if trail else date
        if len(self._trail_dates) < self._CACHE_LIMIT:
            self._trail_dates[value] = date
        return date

    def _learn_pence(self, *values: Any) -> tuple[int, ...] | None:
        """Pence of amounts in the fast lane's format, remembering them; None if any is not."""
        pence = self._pence
        found = []
        for value in values:
            amount = pence.get(value)
            if amount is None:
                if type(value) is not str or not _FAST_AMOUNT(value):
                    return None
                amount = int(value.replace(".", ""))
                if len(pence) < self._AMOUNT_CACHE_LIMIT:
                    pence[value] = amount
            found.append(amount)
        return tuple(found)

    def _fast_splits(self, splits: Any, ctx: _Context, rate: int) -> tuple[Any, ...] | None:
        """(Σ net, Σ tax, Σ foreign net, Σ foreign tax, [(nominal, net)]) or None."""
        if type(splits) is not list or not splits:
            return None
        shape = ctx.rule.shape
        if shape == _JOURNAL and len(splits) != 1:
            return None
        chart, departments, vat_rates = self.m.chart, self.m.departments, self._vat_rates
        pence = self._pence.get
        foreign = ctx.foreign
        taxed = shape in (_LINES, _BANK_ENTRY)
        own_nominal = ctx.bank if shape == _LEDGER_PAYMENT else ctx.ref
        sum_net = sum_tax = sum_fnet = sum_ftax = 0
        lines = []
        for split in splits:
            # All seven required keys are read below (a missing one raises KeyError, which
            # ``check`` hands to the full path), so a count of 7, or 9 with both foreign keys,
            # proves there is no unknown key.
            size = len(split)
            fnet: Any
            ftax: Any
            if size == 7:
                fnet = ftax = None
            elif size == 9:
                fnet, ftax = split["foreign_net"], split["foreign_tax"]
            else:
                return None
            number, details = split["split_number"], split["details"]
            if (
                type(number) is not int
                or number < 1
                or type(details) is not str
                or len(details) > 60
            ):
                return None
            # Small, hot tables: the chart, the departments, the tax codes.
            nominal, department = split["nominal_code"], split["department"]
            vat = vat_rates.get(split["tax_code"])
            if (
                vat is None
                or nominal not in chart
                or type(department) is not int
                or department not in departments
            ):
                return None
            net, tax = pence(split["net"]), pence(split["tax"])
            if net is None or tax is None:
                amounts = self._learn_pence(split["net"], split["tax"])
                if amounts is None:
                    return None
                net, tax = amounts
            if foreign:
                foreign_net, foreign_tax = pence(fnet), pence(ftax)
                if foreign_net is None or foreign_tax is None:
                    amounts = self._learn_pence(fnet, ftax)
                    if amounts is None:
                        return None
                    foreign_net, foreign_tax = amounts
                fnet, ftax = foreign_net, foreign_tax
                # I-X1 inline: round(foreign / rate) in GBP, halves away from zero
                base = (2_000_000 * abs(fnet) + rate) // (2 * rate)
                if abs(net - (base if fnet >= 0 else -base)) > 1:
                    return None
                base = (2_000_000 * abs(ftax) + rate) // (2 * rate)
                if abs(tax - (base if ftax >= 0 else -base)) > 1:
                    return None
                sum_fnet += fnet
                sum_ftax += ftax
                base_net, base_tax = fnet, ftax
            else:
                if fnet is not None or ftax is not None:
                    return None
                base_net, base_tax = net, tax
            if taxed:
                if not vat:  # a 0% code, or EC purchase / reverse charge: no VAT (I-T2, I-T3)
                    if tax or base_tax:
                        return None
                else:  # I-T1 inline: round(net × rate / 100), halves away from zero
                    due = (2 * abs(base_net) * vat + 10_000) // 20_000
                    if abs(base_tax - (due if base_net >= 0 else -due)) > 1:
                        return None
            elif nominal != own_nominal or tax or net <= 0:
                return None
            sum_net += net
            sum_tax += tax
            lines.append((nominal, net))
        return sum_net, sum_tax, sum_fnet, sum_ftax, lines

    def _fast_allocations(
        self, allocations: list[Any], cap: int, out: int, paid: int
    ) -> list[tuple[int, int, int]] | None:
        """A source's allocations as (target, amount, date), or None when any needs a look."""
        dates, pence = self._window_dates, self._pence
        rows = []
        total = 0
        for alloc in allocations:
            if type(alloc) is not dict or tuple(alloc) != _ALLOC_LAYOUT:
                return None
            target, amount, value = alloc["header_number"], alloc["amount"], alloc["date"]
            if type(target) is not int or not 0 < target < _PENCE_CAP:
                return None
            amount = pence.get(amount)
            if amount is None:
                learnt = self._learn_pence(alloc["amount"])
                if learnt is None:
                    return None
                amount = learnt[0]
            date = dates.get(value) or self._learn_date(value)
            if amount <= 0 or not date:
                return None
            total += amount
            rows.append((target, amount, date))
        if total > cap or out != cap - total or paid not in _expected_paid(out, cap):
            return None
        return rows

    # -- recording (both paths) -----------------------------------------------------------------

    def _join_group(
        self, group: int, i: int, hn: int | None, date: int | None, signed: int
    ) -> None:
        # [debits, credits, date, first index, first header number, has its own number,
        #  dates differ]
        entry = self.groups.get(group)
        if entry is None:
            self.groups[group] = [
                max(signed, 0),
                max(-signed, 0),
                date or 0,
                i,
                hn or 0,
                int(hn == group),
                0,
            ]
            return
        if signed > 0:
            entry[0] += signed
        else:
            entry[1] -= signed
        if (date or 0) != entry[2]:
            entry[6] = 1
        if hn == group:
            entry[5] = 1

    def _foreign_outstanding(self, rule: _TypeRule, out: int, rate: int) -> None:
        """W1 converts each foreign item at its own rate, so these cannot be summed first."""
        ledger = rule.ledger
        if ledger is None:
            return
        signed = out if rule.role == _TARGET else -out
        self.ledger_base[ledger] += _to_base(signed, rate)
        self.foreign_items[ledger] += 1

    def fold(self) -> None:
        """Turn the per-context totals into postings, trail totals and ledger totals."""
        for ctx in self._contexts.values():
            self._fold_one(ctx)

    def _fold_one(self, ctx: _Context) -> None:
        gross, out, lines, vat = ctx.totals
        if not (gross or out or lines or vat):
            return
        ctx.totals[:] = [0, 0, 0, 0]
        rule, postings = ctx.rule, self.postings
        for code, sign in ctx.legs:
            if code is not None:
                postings[code] += sign * gross
            if sign > 0:
                self.debits += gross
            else:
                self.credits += gross
        if rule.split_sign:
            if vat and ctx.vat_code is not None:
                postings[ctx.vat_code] += rule.split_sign * vat
            if rule.split_sign > 0:
                self.debits += lines + vat
            else:
                self.credits += lines + vat
        ledger = rule.ledger
        if ledger is not None and rule.role != _SETTLES_NOTHING:
            signed = out if rule.role == _TARGET else -out
            if ctx.account >= 0:
                self.party_sums[ledger][ctx.account] += signed
            if not ctx.foreign:
                self.ledger_base[ledger] += signed

    # -- the full path: reading -----------------------------------------------------------------

    def _slow(
        self, t: _Tx, key: str, value: Any, shape: _Shape = _TRANSACTION, pointer: str | None = None
    ) -> Any:
        """Judge a value the quick test did not accept: report it, or parse it after all."""
        if value is _MISSING:
            return None  # the layout check reported the missing key
        kind = shape.fields[key]
        problem = kind.problem(value)
        if problem is None:
            return kind.parse(value)
        code, text = problem
        base = pointer if pointer is not None else t.pointer
        self.report.add(
            code, f"{t.where}: {key} {text}.", f"{base}/{key}", t.hn, key=key, found=_kind_of(value)
        )
        return kind.salvage(value)

    def _cached(
        self,
        t: _Tx,
        key: str,
        value: Any,
        cache: str,
        shape: _Shape = _TRANSACTION,
        pointer: str | None = None,
    ) -> Any:
        store = self._ok[cache]
        if type(value) is str and value in store:
            return store[value]
        parsed = self._slow(t, key, value, shape, pointer)
        if parsed is not None and type(value) is str and len(store) < self._CACHE_LIMIT:
            store[value] = parsed
        return parsed

    def _money(
        self, t: _Tx, key: str, value: Any, shape: _Shape = _TRANSACTION, pointer: str | None = None
    ) -> int | None:
        if type(value) is str and _MONEY2(value):
            return int(value.replace(".", ""))
        return self._slow(t, key, value, shape, pointer)  # type: ignore[no-any-return]

    def _layout(
        self,
        obj: dict[str, Any],
        shape: _Shape,
        pointer: str,
        t: _Tx,
        good: set[tuple[str, ...]] | None,
    ) -> None:
        """Report missing and unknown keys, remembering key layouts that are fine."""
        layout = tuple(obj)
        if good is not None and layout in good:
            return
        missing = shape.required.difference(layout)
        unknown = [key for key in layout if key not in shape.fields]
        for key in sorted(missing):
            self.report.add(
                SCHEMA_VIOLATION, f"{t.where} has no {key}.", pointer, t.hn, missing_key=key
            )
        for key in unknown:
            self.report.add(
                SCHEMA_VIOLATION,
                f"{t.where} has a key {key!r} that the format does not define.",
                f"{pointer}/{_escape(key)}",
                t.hn,
                unknown_key=key,
            )
        if good is not None and not missing and not unknown and len(good) < 1000:
            good.add(layout)

    def read(self, tx: dict[str, Any], i: int) -> _Tx:
        """Parse one header; each value that breaks the schema is reported and read as None."""
        t = _Tx(i)
        get = tx.get
        value = get("header_number", _MISSING)
        t.hn = value if type(value) is int and value >= 1 else self._slow(t, "header_number", value)
        value = get("type", _MISSING)
        t.rule = _TYPES.get(value) if type(value) is str else None
        if t.rule is None:
            self._slow(t, "type", value)
        self._layout(tx, _TRANSACTION, t.pointer, t, self._good_layouts)
        t.ref = self._cached(t, "account_ref", get("account_ref", _MISSING), "ref")
        value = get("bank_code", _MISSING)
        t.bank = None if value is None else self._cached(t, "bank_code", value, "nominal")
        value = get("journal_group", _MISSING)
        t.group = (
            value if type(value) is int and value >= 1 else self._slow(t, "journal_group", value)
        )
        t.date = self._cached(t, "date", get("date", _MISSING), "date")
        value = get("due_date", _MISSING)
        t.due = None if value is None else self._cached(t, "due_date", value, "date")
        value = get("bank_reconciled_on")
        if value is not None:
            self._cached(t, "bank_reconciled_on", value, "date")
        for key in ("reference", "extra_reference", "details"):
            self._slow(t, key, get(key, _MISSING))
        self._slow(t, "user_name", get("user_name", _MISSING))
        t.currency = self._cached(t, "currency", get("currency", _MISSING), "currency")
        t.foreign = t.currency is not None and t.currency != _GBP
        t.rate = self._cached(t, "exchange_rate", get("exchange_rate", _MISSING), "rate")
        t.net = self._money(t, "net", get("net", _MISSING))
        t.tax = self._money(t, "tax", get("tax", _MISSING))
        t.gross = self._money(t, "gross", get("gross", _MISSING))
        t.out = self._money(t, "outstanding", get("outstanding", _MISSING))
        t.fnet, t.ftax, t.fgross = (
            None if get(key) is None else self._money(t, key, get(key))
            for key in ("foreign_net", "foreign_tax", "foreign_gross")
        )
        value = get("paid_status", _MISSING)
        t.paid = _PAID.get(value) if type(value) is str else None
        if t.paid is None:
            self._slow(t, "paid_status", value)
        value = get("deleted", _MISSING)
        if value is not True and value is not False:
            self._slow(t, "deleted", value)
        t.deleted = value is True
        t.splits = self._read_splits(t, get("splits", _MISSING))
        t.allocations = self._read_allocations(t, get("allocations", _MISSING))
        return t

    def _read_splits(self, t: _Tx, splits: Any) -> list[_SplitRow]:
        if type(splits) is not list:
            self._slow(t, "splits", splits)
            return []
        if not splits and (t.rule is None or t.rule.shape != _JOURNAL):
            # (a journal line without its split breaks the more specific one-split rule)
            self.report.add(
                SCHEMA_VIOLATION, f"{t.where} has no splits.", t.pointer + "/splits", t.hn
            )
        rows: list[_SplitRow] = []
        for n, split in enumerate(splits):
            pointer = f"{t.pointer}/splits/{n}"
            if type(split) is not dict:
                self.report.add(
                    SCHEMA_VIOLATION,
                    f"{t.where}: split {n} must be an object, not {_kind_of(split)}.",
                    pointer,
                    t.hn,
                )
                continue
            self._layout(split, _SPLIT, pointer, t, self._good_split_layouts)
            get = split.get
            value = get("split_number", _MISSING)
            if type(value) is not int or value < 1:
                self._slow(t, "split_number", value, _SPLIT, pointer)
            nominal = self._cached(
                t, "nominal_code", get("nominal_code", _MISSING), "nominal", _SPLIT, pointer
            )
            department = get("department", _MISSING)
            if type(department) is not int or not 0 <= department <= 999:
                department = self._slow(t, "department", department, _SPLIT, pointer)
            self._slow(t, "details", get("details", _MISSING), _SPLIT, pointer)
            net = self._money(t, "net", get("net", _MISSING), _SPLIT, pointer)
            tax = self._money(t, "tax", get("tax", _MISSING), _SPLIT, pointer)
            code = self._cached(
                t, "tax_code", get("tax_code", _MISSING), "tax_code", _SPLIT, pointer
            )
            fnet, ftax = (
                None if get(key) is None else self._money(t, key, get(key), _SPLIT, pointer)
                for key in ("foreign_net", "foreign_tax")
            )
            ref = self.split_ref(nominal, department, code)
            rows.append((nominal, department, net, code, tax, fnet, ftax, ref))
        return rows

    def _read_allocations(self, t: _Tx, allocations: Any) -> list[_AllocRow]:
        if type(allocations) is not list:
            self._slow(t, "allocations", allocations)
            return []
        rows: list[_AllocRow] = []
        for n, alloc in enumerate(allocations):
            pointer = f"{t.pointer}/allocations/{n}"
            if type(alloc) is not dict:
                self.report.add(
                    SCHEMA_VIOLATION,
                    f"{t.where}: allocation {n} must be an object, not {_kind_of(alloc)}.",
                    pointer,
                    t.hn,
                )
                continue
            self._layout(alloc, _ALLOCATION, pointer, t, None)
            get = alloc.get
            target = get("header_number", _MISSING)
            if type(target) is not int or target < 1:
                target = self._slow(t, "header_number", target, _ALLOCATION, pointer)
            amount = self._money(t, "amount", get("amount", _MISSING), _ALLOCATION, pointer)
            date = self._cached(t, "date", get("date", _MISSING), "date", _ALLOCATION, pointer)
            rows.append((target, amount, date))
        return rows

    # -- the full path: checking ------------------------------------------------------------------

    def _full(self, tx: Any, i: int) -> None:
        if type(tx) is not dict:
            self.report.add(
                SCHEMA_VIOLATION,
                f"Entry {i} of transactions must be an object, not {_kind_of(tx)}.",
                f"/transactions/{i}",
            )
            self.facts.append(_pack(_UNKNOWN_TYPE | _UNSETTLED, 255, _NO_DATE, -1))
            return
        t = self.read(tx, i)
        if t.hn is not None:
            earlier = self.headers.add(t.hn, i)
            if earlier is not None:
                _duplicate_header(self.report, t.hn, t.pointer + "/header_number", earlier, self.m)
        if t.rule is None:
            self._check_dates(t)
            self.facts.append(_pack(_UNKNOWN_TYPE | _UNSETTLED, 255, _NO_DATE, -1))
            return
        ctx = self.context(t.rule, t.ref, t.bank, t.currency)
        for code, key, text, details in ctx.problems:
            pointer = f"{t.pointer}/{key}" if key else t.pointer
            self.report.add(code, f"{t.where}: {text}.", pointer, t.hn, **details)
        t.account = ctx.account
        for step in _FULL_STEPS:
            step(self, t)
        self._record(t, ctx)

    def _check_header_rules(self, t: _Tx) -> None:
        """The per-header parts of I-Y1 that the cached context cannot know."""
        rule = t.rule
        assert rule is not None
        if rule.shape == _JOURNAL:
            if t.group is None:
                self._type_rule(t, "journal_group", "a journal line must name its journal_group")
            split_nominal = t.splits[0][0] if len(t.splits) == 1 else None
            if (
                t.ref is not None
                and _NOMINAL_RX.fullmatch(t.ref)
                and self.m.chart_known
                and t.ref not in self.m.chart
                and split_nominal != t.ref
            ):
                self._unknown_nominal(t, t.ref, t.pointer + "/account_ref")
        elif t.group is not None:
            self._type_rule(
                t, "journal_group", f"only journal lines carry a journal_group, not {t.group}"
            )
        if t.gross is not None and t.gross < 0:
            self._type_rule(t, "gross", f"gross is {_money(t.gross)}; gross is never negative")
        if t.foreign and t.fgross is not None and t.fgross < 0:
            self._type_rule(
                t, "foreign_gross", f"foreign gross is {_money(t.fgross)}; it is never negative"
            )
        if t.allocations and rule.role != _SOURCE and not t.deleted:
            self._type_rule(
                t,
                "allocations",
                f"a {rule.name.lower()} is settled by other items, so it cannot carry allocations",
            )

    def _check_currency(self, t: _Tx) -> None:
        """I-X1 per header: GBP means rate 1 and no foreign amounts; other currencies need them."""
        if t.currency is None:
            return
        if not t.foreign:
            if t.rate is not None and t.rate != _ONE_RATE:
                self.report.add(
                    CURRENCY,
                    f"{t.where} is in GBP, so its exchange rate must be 1, not "
                    f"{_rate_text(t.rate)}.",
                    t.pointer + "/exchange_rate",
                    t.hn,
                    exchange_rate=_rate_text(t.rate),
                )
            if (t.fnet, t.ftax, t.fgross) != (None, None, None) or any(
                row[5] is not None or row[6] is not None for row in t.splits
            ):
                self.report.add(
                    CURRENCY,
                    f"{t.where} is in GBP but carries foreign amounts; they must be absent or "
                    "null.",
                    t.pointer,
                    t.hn,
                )
            return
        missing = [
            (f"{t.pointer}/{key}", key)
            for key, value in (
                ("foreign_net", t.fnet),
                ("foreign_tax", t.ftax),
                ("foreign_gross", t.fgross),
            )
            if value is None
        ] + [
            (f"{t.pointer}/splits/{n}/{key}", key)
            for n, row in enumerate(t.splits)
            for key, value in (("foreign_net", row[5]), ("foreign_tax", row[6]))
            if value is None
        ]
        for pointer, key in missing:
            split = pointer.split("/")[4] if "/splits/" in pointer else None
            what = f"split {split} has" if split is not None else "it has"
            self.report.add(
                SCHEMA_VIOLATION,
                f"{t.where} is in {t.currency} but {what} no {key} (the amount in {t.currency}).",
                pointer,
                t.hn,
                missing_key=key,
            )

    def _check_splits(self, t: _Tx) -> None:
        """Per split: references, shape rules, VAT and conversion (I-R1/2/5, I-Y1, I-T*, I-X1)."""
        rule = t.rule
        assert rule is not None
        if rule.shape == _JOURNAL and len(t.splits) != 1:
            self._type_rule(
                t, "splits", f"a journal line has exactly one split, not {len(t.splits)}"
            )
        for n, (nominal, _dept, net, code, tax, fnet, ftax, ref) in enumerate(t.splits):
            for problem_code, key, text, details in ref.problems:
                self.report.add(
                    problem_code,
                    f"{t.where}, split {n}: {text}.",
                    f"{t.pointer}/splits/{n}/{key}",
                    t.hn,
                    **details,
                )
            if rule.shape in (_LEDGER_PAYMENT, _JOURNAL):
                self._payment_split(t, n, nominal, net, tax)
            elif ref.rate_bp is not None and code is not None:
                self._split_vat(t, n, ref, code, net, tax, fnet, ftax)
            if t.foreign and t.rate:
                self._split_conversion(t, n, net, fnet, "net")
                self._split_conversion(t, n, tax, ftax, "tax")

    def _payment_split(
        self, t: _Tx, n: int, nominal: str | None, net: int | None, tax: int | None
    ) -> None:
        rule = t.rule
        assert rule is not None
        own, what = (
            (t.bank, "bank_code") if rule.shape == _LEDGER_PAYMENT else (t.ref, "account_ref")
        )
        if nominal is not None and own is not None and nominal != own:
            self._type_rule(
                t,
                f"splits/{n}/nominal_code",
                f"split {n} posts to {nominal} but must post to its {what} {own}",
            )
        if tax is not None and tax != 0:
            self._type_rule(
                t,
                f"splits/{n}/tax",
                f"split {n} has tax {_money(tax)}; a {rule.name.lower()} carries no tax",
            )
        if net is not None and net <= 0:
            self._type_rule(
                t, f"splits/{n}/net", f"split {n} has net {_money(net)}; it must be more than 0.00"
            )

    def _split_vat(
        self,
        t: _Tx,
        n: int,
        ref: _SplitRef,
        code: str,
        net: int | None,
        tax: int | None,
        fnet: int | None,
        ftax: int | None,
    ) -> None:
        """I-T3, then I-T2, then I-T1: at most one TAX_CALCULATION per split."""
        base_net, base_tax = (fnet, ftax) if t.foreign else (net, tax)
        pointer = f"{t.pointer}/splits/{n}/{'foreign_tax' if t.foreign else 'tax'}"
        if ref.flat:
            taxes = [value for value in (tax, ftax if t.foreign else None) if value]
            if taxes:
                why = "an EC purchase or reverse-charge code" if ref.no_vat else "a 0% code"
                self.report.add(
                    TAX_CALCULATION,
                    f"{t.where}, split {n} uses {code}, {why}, but has tax {_money(taxes[0])}; it "
                    "must be 0.00.",
                    pointer,
                    t.hn,
                    tax_code=code,
                    tax=_money(taxes[0]),
                    expected="0.00",
                )
            return
        if base_net is None or base_tax is None or ref.rate_bp is None:
            return
        expected = _tax_due(base_net, ref.rate_bp)
        if abs(base_tax - expected) > 1:
            self.report.add(
                TAX_CALCULATION,
                f"{t.where}, split {n}: VAT at {ref.rate_bp / 100:.2f}% ({code}) on "
                f"{_money(base_net)} is {_money(expected)}, but the split says {_money(base_tax)}.",
                pointer,
                t.hn,
                tax_code=code,
                net=_money(base_net),
                tax=_money(base_tax),
                expected=_money(expected),
            )

    def _split_conversion(
        self, t: _Tx, n: int, base: int | None, foreign: int | None, what: str
    ) -> None:
        if base is None or foreign is None or not t.rate:
            return
        expected = _to_base(foreign, t.rate)
        if abs(base - expected) > 1:
            self.report.add(
                CURRENCY,
                f"{t.where}, split {n}: {t.currency} {_money(foreign)} at {_rate_text(t.rate)} is "
                f"GBP {_money(expected)}, but the split's {what} is {_money(base)}.",
                f"{t.pointer}/splits/{n}/{what}",
                t.hn,
                foreign=_money(foreign),
                exchange_rate=_rate_text(t.rate),
                expected=_money(expected),
                actual=_money(base),
            )

    def _check_totals(self, t: _Tx) -> None:
        """I-H1 and I-H2 in GBP and, for a foreign header, in its currency."""
        self._header_total(t, t.net, t.tax, t.gross, "")
        self._split_total(t, t.net, 2, "net", "")
        self._split_total(t, t.tax, 4, "tax", "")
        if t.foreign:
            self._header_total(t, t.fnet, t.ftax, t.fgross, "foreign_")
            self._split_total(t, t.fnet, 5, "net", "foreign_")
            self._split_total(t, t.ftax, 6, "tax", "foreign_")

    def _header_total(
        self, t: _Tx, net: int | None, tax: int | None, gross: int | None, prefix: str
    ) -> None:
        if net is None or tax is None or gross is None or gross == net + tax:
            return
        label = f"{t.currency} " if prefix else ""
        self.report.add(
            HEADER_TOTALS,
            f"{t.where}: {prefix}gross {label}{_money(gross)} is not net {_money(net)} + tax "
            f"{_money(tax)} = {_money(net + tax)}.",
            f"{t.pointer}/{prefix}gross",
            t.hn,
            net=_money(net),
            tax=_money(tax),
            gross=_money(gross),
            expected=_money(net + tax),
        )

    def _split_total(self, t: _Tx, total: int | None, column: int, what: str, prefix: str) -> None:
        if total is None or not t.splits:
            return
        parts: list[Any] = [row[column] for row in t.splits]
        if None in parts:
            return
        added = sum(part or 0 for part in parts)
        if added != total:
            self.report.add(
                SPLIT_TOTALS,
                f"{t.where}: {prefix}{what} {_money(total)} is not the sum of its splits, "
                f"{_money(added)}.",
                f"{t.pointer}/{prefix}{what}",
                t.hn,
                header=_money(total),
                splits=_money(added),
            )

    def _check_dates(self, t: _Tx) -> None:
        """I-F4, I-F7 (dated on or before as_of) and W3."""
        m = self.m
        for key, ordinal in (("date", t.date), ("due_date", t.due)):
            if ordinal is not None and not m.low <= ordinal <= m.high:
                self.report.add(
                    DATE_OUT_OF_RANGE,
                    f"{t.where} has {key} {_day(ordinal)}, outside {_day(m.low)} to "
                    f"{_day(m.high)} (365 days after the export).",
                    f"{t.pointer}/{key}",
                    t.hn,
                    date=_day(ordinal),
                )
        if t.date is None:
            return
        if self._after is not None and t.date <= self._after:
            self.report.add(
                HISTORY_MODE,
                f"{t.where} is dated {_day(t.date)}, on or before the opening balance date "
                f"{_day(self._after)}; full-history transactions come after it.",
                t.pointer + "/date",
                t.hn,
                date=_day(t.date),
                as_of=_day(self._after),
            )
        if t.due is not None and t.due < t.date:
            self.report.add(
                DUE_DATE,
                f"{t.where} is due {_day(t.due)}, before its date {_day(t.date)}.",
                t.pointer + "/due_date",
                t.hn,
                _WARNING,
                date=_day(t.date),
                due_date=_day(t.due),
            )

    def _settle(self, t: _Tx) -> None:
        """I-A1 (amounts, deleted), I-A2 and I-A3 for sources and non-settling types."""
        rule = t.rule
        assert rule is not None
        if t.deleted:
            if t.out is not None and t.out != 0:
                self._outstanding(
                    t,
                    "outstanding",
                    f"it is deleted, so outstanding must be 0.00, not {_money(t.out)}",
                    expected="0.00",
                )
            if t.allocations:
                self.report.add(
                    ALLOCATION_INVALID,
                    f"{t.where} is deleted but still carries {len(t.allocations)} allocation(s).",
                    t.pointer + "/allocations",
                    t.hn,
                )
            return
        if rule.role == _SOURCE:
            self._source_allocations(t, t.cap)
        elif rule.role == _SETTLES_NOTHING:
            if t.out is not None and t.out != 0:
                self._outstanding(
                    t,
                    "outstanding",
                    f"a {rule.name.lower()} settles nothing, so outstanding must be "
                    f"0.00, not {_money(t.out)}",
                    expected="0.00",
                )
            if t.paid is not None and t.paid != 2:
                self._outstanding(
                    t,
                    "paid_status",
                    f"a {rule.name.lower()} is always paid, not {_PAID_NAMES[t.paid]}",
                    expected="paid",
                )

    def _source_allocations(self, t: _Tx, cap: int | None) -> None:
        total = 0
        for n, (target, amount, date) in enumerate(t.allocations):
            pointer = f"{t.pointer}/allocations/{n}"
            if date is not None and not self.m.low <= date <= self.m.high:
                self.report.add(
                    DATE_OUT_OF_RANGE,
                    f"{t.where}, allocation {n} is dated {_day(date)}, outside {_day(self.m.low)} "
                    f"to {_day(self.m.high)}.",
                    pointer + "/date",
                    t.hn,
                    date=_day(date),
                )
            if amount is None:
                continue
            total += amount
            if amount <= 0:
                _bad_amount(self.report, t.where, n, amount, pointer, t.hn)
            elif target is not None:
                self.allocations.add(t.i, t.hn or 0, n, target, amount, date or _NO_DATE)
        if cap is None or t.out is None:
            return
        if total > cap:
            self.report.add(
                OVER_ALLOCATION,
                f"{t.where} allocates {_money(total)} in total, more than its "
                f"{'foreign ' if t.foreign else ''}gross {_money(cap)}.",
                t.pointer + "/allocations",
                t.hn,
                allocated=_money(total),
                cap=_money(cap),
            )
            return
        if t.out != cap - total:
            self._outstanding(
                t,
                "outstanding",
                f"outstanding is {_money(t.out)}, but gross {_money(cap)} less allocations "
                f"{_money(total)} leaves {_money(cap - total)}",
                expected=_money(cap - total),
            )
        if t.paid is not None and t.paid not in _expected_paid(t.out, cap):
            allowed = _expected_paid(t.out, cap)
            self._outstanding(
                t,
                "paid_status",
                f"paid_status is {_PAID_NAMES[t.paid]}, but with {_money(t.out)} of "
                f"{_money(cap)} outstanding it must be {_PAID_NAMES[allowed[0]]}",
                expected=_PAID_NAMES[allowed[0]],
            )

    def _record(self, t: _Tx, ctx: _Context) -> None:
        """What the final checks need from a header the full path read, unreadable parts aside."""
        rule = ctx.rule
        cap = t.cap
        settled = cap is not None and t.out is not None and t.paid is not None
        kind = rule.number | (_DELETED if t.deleted else 0) | (0 if settled else _UNSETTLED)
        date = t.date if t.date is not None else _NO_DATE
        self.facts.append(ctx.fact - rule.number + kind | date << 16)
        if t.deleted:
            if rule.shape == _JOURNAL and t.group is not None:
                self._join_group(t.group, t.i, t.hn, t.date, 0)
            return
        if rule.role == _TARGET and settled:
            assert cap is not None
            assert t.out is not None
            assert t.paid is not None
            self.targets.extend(
                (t.i, min(t.hn or 0, _PENCE_CAP), _clamp(cap), _clamp(t.out), t.paid)
            )
        lines = [(row[0], row[2]) for row in t.splits if row[2] is not None]
        net = sum(amount for _nominal, amount in lines)
        vat = sum(row[4] for row in t.splits if row[4] is not None)
        sign = rule.split_sign
        if sign:
            for nominal, amount in lines:
                if nominal is not None:
                    self.postings[nominal] += sign * amount
            if rule.shape == _JOURNAL and t.group is not None:
                self._join_group(t.group, t.i, t.hn, t.date, sign * net)
        totals = ctx.totals
        totals[0] += t.gross or 0
        totals[1] += t.out or 0
        totals[2] += net
        totals[3] += vat
        if ctx.foreign and t.out and t.rate and rule.role != _SETTLES_NOTHING:
            self._foreign_outstanding(rule, t.out, t.rate)
        if not ctx.cached:
            self._fold_one(ctx)

    # -- small reporting helpers ------------------------------------------------------------

    def _type_rule(self, t: _Tx, key: str, text: str) -> None:
        self.report.add(TYPE_RULE, f"{t.where}: {text}.", f"{t.pointer}/{key}", t.hn)

    def _outstanding(self, t: _Tx, key: str, text: str, **details: Any) -> None:
        self.report.add(
            OUTSTANDING_MISMATCH, f"{t.where}: {text}.", f"{t.pointer}/{key}", t.hn, **details
        )

    def _unknown_nominal(self, t: _Tx, code: str, pointer: str) -> None:
        self.report.add(
            UNKNOWN_NOMINAL,
            f"{t.where} posts to nominal code {code}, which is not in the chart of accounts.",
            pointer,
            t.hn,
            nominal_code=code,
        )


_FULL_STEPS: tuple[Callable[[_Trail, _Tx], None], ...] = (
    _Trail._check_header_rules,
    _Trail._check_currency,
    _Trail._check_splits,
    _Trail._check_totals,
    _Trail._check_dates,
    _Trail._settle,
)


def _expected_paid(out: int, cap: int) -> tuple[int, ...]:
    """The paid_status values §8.8 allows for ``out`` outstanding of ``cap``, best first."""
    if out == 0:
        return (2, 0) if cap == 0 else (2,)
    if out == cap:
        return (0,)
    return (1,)


class _ContextBuilder:
    """Works out a _Context: the account, bank and currency rules of §8.3, §8.7 and I-R3/I-R4."""

    def __init__(
        self,
        master: _Master,
        rule: _TypeRule,
        ref: str | None,
        bank: str | None,
        currency: str | None,
    ) -> None:
        self.m = master
        self.rule = rule
        self.ref = ref
        self.bank = bank
        self.currency = currency
        self.problems: list[_Problem] = []
        self.account = -1

    def build(self, currency_id: int, cached: bool) -> _Context:
        """Check the combination and return its context (with any problems found)."""
        shape = self.rule.shape
        if shape in (_LINES, _LEDGER_PAYMENT):
            self._ledger()
        elif shape == _BANK_ENTRY:
            self._bank_entry()
        else:
            self._journal()
        legs = tuple((self._leg_code(target), sign) for target, sign in self.rule.legs)
        vat_code = self.m.roles.get(self.rule.vat_role) if self.rule.vat_role else None
        return _Context(
            self.rule,
            tuple(self.problems),
            self.account,
            self.ref,
            self.bank,
            self.currency,
            self.currency is not None and self.currency != _GBP,
            legs,
            vat_code,
            self.ref in self.m.chart or not self.m.chart_known,
            _pack(self.rule.number, currency_id, 0, self.account),
            cached,
            [0, 0, 0, 0],
        )

    def _leg_code(self, target: str) -> str | None:
        """The nominal a gross leg posts to: a control role, the bank or the account_ref."""
        if target == "@bank_code":
            return self.bank
        if target == "@account_ref":
            return self.ref
        return self.m.roles.get(target)

    def _problem(self, code: str, key: str, text: str, **details: Any) -> None:
        self.problems.append((code, key, text, details))

    def _ledger(self) -> None:
        rule, ref = self.rule, self.ref
        ledger = rule.ledger or "S"
        if ref is not None:
            party = self.m.parties[ledger].get(ref)
            if party is not None:
                self.account = party.slot
                self._currency_of(f"account {ref}", party.currency)
            elif self.m.parties_known[ledger]:
                listed = "customer" if ledger == "S" else "supplier"
                self._problem(
                    UNKNOWN_ACCOUNT_REF,
                    "account_ref",
                    f"account {ref} is not a {listed}",
                    account_ref=ref,
                )
        if rule.shape == _LINES:
            if self.bank is not None:
                self._problem(
                    TYPE_RULE,
                    "bank_code",
                    f"a {rule.name.lower()} has no bank, but bank_code is {self.bank}",
                )
            return
        bank = self._bank(self.bank, "bank_code")
        if bank is not None and bank.currency not in (_GBP, self.currency, None):
            self._problem(
                CURRENCY,
                "bank_code",
                f"it is in {self.currency} but goes through bank {bank.code}, which is in "
                f"{bank.currency}; the bank must be in GBP or the transaction currency",
                currency=self.currency,
                bank_currency=bank.currency,
            )

    def _bank_entry(self) -> None:
        rule, ref, bank_code = self.rule, self.ref, self.bank
        if ref is not None and not _NOMINAL_RX.fullmatch(ref):
            self._problem(
                TYPE_RULE, "account_ref", f"account_ref must be the bank's nominal code, not {ref}"
            )
            bank = self._bank(bank_code, "bank_code")
        else:
            bank = self._bank(ref, "account_ref") if ref is not None else None
            if bank_code is None:
                self._bank(None, "bank_code")
            elif ref is not None and bank_code != ref:
                self._problem(
                    TYPE_RULE,
                    "bank_code",
                    f"bank_code {bank_code} differs from account_ref {ref}; both name the bank",
                )
                self._bank(bank_code, "bank_code")
        if bank is None:
            return
        if bank.bank_type is not None and bank.bank_type != rule.bank_type:
            self._problem(
                TYPE_RULE,
                "account_ref",
                f"a {rule.name.lower()} needs a {rule.bank_type} bank, but {bank.code} "
                f"is a {bank.bank_type} account",
            )
        self._currency_of(f"bank {bank.code}", bank.currency)

    def _journal(self) -> None:
        if self.ref is not None and not _NOMINAL_RX.fullmatch(self.ref):
            self._problem(
                TYPE_RULE,
                "account_ref",
                f"account_ref must be the line's nominal code, not {self.ref}",
            )
        if self.bank is not None:
            self._problem(
                TYPE_RULE, "bank_code", f"a journal line has no bank, but bank_code is {self.bank}"
            )
        if self.currency is not None and self.currency != _GBP:
            self._problem(
                CURRENCY,
                "currency",
                f"it is in {self.currency}; journals are always in GBP",
                currency=self.currency,
            )

    def _bank(self, code: str | None, key: str) -> _Bank | None:
        if code is None:
            self._problem(TYPE_RULE, key, f"a {self.rule.name.lower()} must name its bank in {key}")
            return None
        bank = self.m.banks.get(code)
        if bank is None and self.m.banks_known:
            self._problem(
                UNKNOWN_BANK, key, f"bank {code} is not in the bank accounts", bank_code=code
            )
        return bank

    def _currency_of(self, what: str, expected: str | None) -> None:
        if self.currency is not None and expected is not None and self.currency != expected:
            self._problem(
                CURRENCY,
                "currency",
                f"it is in {self.currency} but {what} is in {expected}",
                currency=self.currency,
                account_currency=expected,
            )


def _make_split_ref(
    master: _Master, nominal: str | None, department: int | None, code: str | None
) -> _SplitRef:
    """Check a split's nominal, department and tax code against the master data."""
    problems: list[_Problem] = []
    if nominal is not None and master.chart_known and nominal not in master.chart:
        problems.append(
            (
                UNKNOWN_NOMINAL,
                "nominal_code",
                f"nominal code {nominal} is not in the chart of accounts",
                {"nominal_code": nominal},
            )
        )
    if department is not None and master.departments_known and department not in master.departments:
        problems.append(
            (
                UNKNOWN_DEPARTMENT,
                "department",
                f"department {department} is not listed",
                {"department": department},
            )
        )
    tax = master.tax_codes.get(code) if code is not None else None
    if tax is None and code is not None and master.tax_codes_known:
        problems.append(
            (
                UNKNOWN_TAX_CODE,
                "tax_code",
                f"tax code {code} is not in the tax code list",
                {"tax_code": code},
            )
        )
    rate = tax.rate_bp if tax is not None else None
    no_vat = tax is not None and tax.no_vat
    return _SplitRef(nominal, tuple(problems), code, rate, no_vat or rate == 0, no_vat)


# ============================================================================================
# End-of-file checks
# ============================================================================================


class _Item(NamedTuple):
    """What an allocation needs to know about one of its two ends."""

    where: str
    ledger: str | None
    rule: _TypeRule | None
    account: int
    currency: str | None
    date: int
    deleted: bool


class _Closing:
    """The checks that need the whole file: allocations, balances, journals (§9)."""

    def __init__(self, master: _Master, trail: _Trail, report: _Report) -> None:
        self.m = master
        self.trail = trail
        self.report = report
        self.currency_names = {n: name for name, n in trail.currencies.items()}
        self.allocated_to = array("q", bytes(8 * len(trail.facts)))

    def run(self) -> None:
        """Run every end-of-file check in dependency order."""
        self.trail.fold()
        for step in (
            self._resolve_allocations,
            self._settled_targets,
            self._settled_open_items,
            self._journals,
            self._trail_balance,
            self._nominal_balances,
            self._account_balances,
            self._control_accounts,
        ):
            step()

    # -- allocations --------------------------------------------------------------------------

    def _item(self, slot: int, hn: int) -> _Item:
        if slot >= 0:
            kind, currency_id, date, account = _unpack(self.trail.facts[slot])
            rule = _TYPE_BY_INDEX.get(kind & _TYPE_MASK)
            name = rule.name.lower() if rule is not None else "transaction"
            return _Item(
                f"{name} {hn}",
                rule.ledger if rule is not None else None,
                rule,
                account,
                self.currency_names.get(currency_id),
                date,
                bool(kind & _DELETED),
            )
        item = self.m.open_items[-slot - 1]
        name = item.rule.name.lower() if item.rule is not None else "item"
        return _Item(
            f"opening {name} {hn}",
            item.ledger,
            item.rule,
            item.account,
            item.currency,
            item.date,
            False,
        )

    def _resolve_allocations(self) -> None:
        """I-A1 for the target of every allocation, W2, and the totals allocated to targets."""
        headers, facts = self.trail.headers, self.trail.facts
        allocated_to = self.allocated_to
        for row in self.trail.allocations:
            source_slot, _hn, _position, target_hn, amount, date = row
            target_slot = headers.get(target_hn)
            if source_slot >= 0 and target_slot is not None and target_slot >= 0:
                # Both ends in the trail: compare the packed facts, the common case.
                source_fact, target_fact = facts[source_slot], facts[target_slot]
                if (
                    _SETTLES[
                        (source_fact & _TYPE_MASK) << 6 | target_fact & (_TYPE_MASK | _DELETED)
                    ]
                    and source_fact >> 38 == target_fact >> 38
                    and source_fact >> 8 & 0xFF == target_fact >> 8 & 0xFF
                    and source_fact >> 38
                ):
                    allocated_to[target_slot] += amount
                    if date < (source_fact >> 16 & 0x3FFFFF) or date < (
                        target_fact >> 16 & 0x3FFFFF
                    ):
                        self._allocation(row, target_slot, counted=True)
                    continue
            self._allocation(row, target_slot, counted=False)

    def _allocation(self, row: tuple[int, ...], target_slot: int | None, *, counted: bool) -> None:
        """The full check of one allocation, for the ones the quick comparison did not settle."""
        source_slot, source_hn, position, target_hn, amount, date = row
        source = self._item(source_slot, source_hn)
        target = self._item(target_slot, target_hn) if target_slot is not None else None
        pointer = self._allocation_pointer(source_slot, position)
        hn = source_hn or None
        reason = _allocation_problem(source, target, target_hn)
        if reason is not None:
            self.report.add(
                ALLOCATION_INVALID,
                f"The {source.where} allocates {_money(amount)} to header {target_hn}, but "
                f"{reason}.",
                pointer + "/header_number",
                hn,
                target=target_hn,
                amount=_money(amount),
            )
            return
        assert target is not None
        assert target_slot is not None
        if target_slot < 0:
            self.m.open_items[-target_slot - 1].allocated_to += amount
        elif not counted:
            self.allocated_to[target_slot] += amount
        late = [end for end in (source, target) if date and end.date and date < end.date]
        if late:
            self.report.add(
                ALLOCATION_DATE,
                f"The {source.where} allocates {_money(amount)} to the {target.where} on "
                f"{_day(date)}, before the {late[0].where} dated {_day(late[0].date)}.",
                pointer + "/date",
                hn,
                _WARNING,
                date=_day(date),
                item_date=_day(late[0].date),
            )

    def _allocation_pointer(self, source_slot: int, position: int) -> str:
        if source_slot >= 0:
            return f"/transactions/{source_slot}/allocations/{position}"
        return f"{self.m.open_items[-source_slot - 1].pointer}/allocations/{position}"

    def _settled_targets(self) -> None:
        """I-A2 and I-A3 for every non-deleted SI, SP, PI and PR in the trail."""
        allocated_to = self.allocated_to
        rows = iter(self.trail.targets)
        for i, hn, cap, out, paid in zip(rows, rows, rows, rows, rows, strict=True):
            got = allocated_to[i]
            if got > cap or out != cap - got or paid not in _expected_paid(out, cap):
                self._target_problems(i, hn, cap, out, paid, got)

    def _target_problems(self, i: int, hn: int, cap: int, out: int, paid: int, got: int) -> None:
        rule = _TYPE_BY_INDEX[_unpack(self.trail.facts[i])[0] & _TYPE_MASK]
        where, pointer = f"{rule.name} {hn}", f"/transactions/{i}"
        if got > cap:
            self.report.add(
                OVER_ALLOCATION,
                f"{where} has {_money(got)} allocated to it, more than its gross {_money(cap)}.",
                pointer,
                hn,
                allocated=_money(got),
                cap=_money(cap),
            )
            return
        if out != cap - got:
            self.report.add(
                OUTSTANDING_MISMATCH,
                f"{where}: outstanding is {_money(out)}, but gross {_money(cap)} less "
                f"{_money(got)} allocated to it leaves {_money(cap - got)}.",
                pointer + "/outstanding",
                hn,
                expected=_money(cap - got),
                outstanding=_money(out),
            )
        allowed = _expected_paid(out, cap)
        if paid not in allowed:
            self.report.add(
                OUTSTANDING_MISMATCH,
                f"{where}: paid_status is {_PAID_NAMES[paid]}, but with {_money(out)} of "
                f"{_money(cap)} outstanding it must be {_PAID_NAMES[allowed[0]]}.",
                pointer + "/paid_status",
                hn,
                expected=_PAID_NAMES[allowed[0]],
            )

    def _settled_open_items(self) -> None:
        """I-A2 for open items, then their current outstanding into I-L3 and W1."""
        for item in self.m.open_items:
            if item.rule is None or item.cap is None or item.ledger is None:
                continue
            if item.allocated_to > item.cap:
                self.report.add(
                    OVER_ALLOCATION,
                    f"Open item {item.header_number} has {_money(item.allocated_to)} allocated "
                    f"to it, more than the {_money(item.cap)} outstanding at the opening "
                    "balance date.",
                    item.pointer,
                    item.header_number,
                    allocated=_money(item.allocated_to),
                    cap=_money(item.cap),
                )
                continue
            if not item.settled:
                continue
            current = item.cap - item.allocated_from - item.allocated_to
            signed = current if item.rule.role == _TARGET else -current
            if item.account >= 0:
                self.trail.party_sums[item.ledger][item.account] += signed
            if item.currency not in (_GBP, None) and current:
                if item.rate:
                    self.trail.ledger_base[item.ledger] += _to_base(signed, item.rate)
                    self.trail.foreign_items[item.ledger] += 1
            else:
                self.trail.ledger_base[item.ledger] += signed

    # -- journals and balances ------------------------------------------------------------------

    def _journals(self) -> None:
        """I-B1 and the journal-group rules of I-Y1."""
        groups = self.trail.groups.items()
        for number, (debits, credits, _date, first, first_hn, has_self, mixed) in groups:
            pointer = f"/transactions/{first}"
            if not has_self:
                self.report.add(
                    TYPE_RULE,
                    f"Journal line {first_hn or '?'}: its journal_group {number} is not the "
                    "header number of any line of that journal.",
                    pointer + "/journal_group",
                    first_hn or None,
                    journal_group=number,
                )
                number = first_hn or number  # name the journal by a header it really has
            if mixed:
                self.report.add(
                    TYPE_RULE,
                    f"Journal {number} spreads over several dates; its lines share one date.",
                    pointer + "/date",
                    number,
                    journal_group=number,
                )
            if debits != credits:
                self.report.add(
                    JOURNAL_UNBALANCED,
                    f"Journal {number} does not balance: debits {_money(debits)}, credits "
                    f"{_money(credits)}.",
                    pointer,
                    number,
                    journal_group=number,
                    debits=_money(debits),
                    credits=_money(credits),
                )

    def _trail_balance(self) -> None:
        """I-B2."""
        debits, credits = self.trail.debits, self.trail.credits
        if debits != credits:
            self.report.add(
                TRAIL_UNBALANCED,
                f"The audit trail does not balance: debits {_money(debits)}, credits "
                f"{_money(credits)} (difference {_money(debits - credits)}).",
                "/transactions",
                debits=_money(debits),
                credits=_money(credits),
                difference=_money(debits - credits),
            )

    def _closing_balance(self, code: str) -> int:
        return self.m.trial_balance.get(code, 0) + self.trail.postings.get(code, 0)

    def _nominal_balances(self) -> None:
        """I-B4."""
        for account in self.m.chart.values():
            if account.balance is None:
                continue
            expected = self._closing_balance(account.code)
            if expected != account.balance:
                self.report.add(
                    NOMINAL_BALANCE_MISMATCH,
                    f"Nominal account {account.code} states a balance of "
                    f"{_money(account.balance)}, but the opening balance plus postings is "
                    f"{_money(expected)} (debit positive).",
                    account.pointer + "/balance",
                    nominal_code=account.code,
                    stated=_money(account.balance),
                    expected=_money(expected),
                )

    def _account_balances(self) -> None:
        """I-L3."""
        for ledger, noun in (("S", "Customer"), ("P", "Supplier")):
            sums = self.trail.party_sums[ledger]
            for party in self.m.parties[ledger].values():
                if party.balance is None or sums[party.slot] == party.balance:
                    continue
                self.report.add(
                    ACCOUNT_BALANCE_MISMATCH,
                    f"{noun} {party.ref} states a balance of {_money(party.balance)} "
                    f"{party.currency or ''}, but its outstanding items add up to "
                    f"{_money(sums[party.slot])}.".replace("  ", " "),
                    party.pointer + "/balance",
                    account_ref=party.ref,
                    stated=_money(party.balance),
                    expected=_money(sums[party.slot]),
                )

    def _control_accounts(self) -> None:
        """W1: each control account against the GBP value of its ledger's outstanding items."""
        for ledger, role, sign, noun in (
            ("S", "debtors_control", 1, "customers owe"),
            ("P", "creditors_control", -1, "the company owes its suppliers"),
        ):
            code = self.m.roles.get(role)
            if code is None:
                continue
            closing = sign * self._closing_balance(code)
            items = self.trail.ledger_base[ledger]
            allowed = self.trail.foreign_items[ledger]  # 0.01 per foreign-currency item
            if abs(closing - items) > allowed:
                account = self.m.chart[code]
                self.report.add(
                    LEDGER_CONTROL_MISMATCH,
                    f"The {role} account {code} closes at {_money(closing)}, but the open items "
                    f"say {noun} {_money(items)} (difference {_money(closing - items)}). A "
                    "journal to the control account can explain this.",
                    account.pointer,
                    None,
                    _WARNING,
                    nominal_code=code,
                    control_balance=_money(closing),
                    open_items=_money(items),
                    allowed_difference=_money(allowed),
                )


def _allocation_problem(source: _Item, target: _Item | None, target_hn: int) -> str | None:
    """Why an allocation may not settle ``target`` (I-A1), or None when it may."""
    if target is None:
        return f"there is no transaction or open item {target_hn}"
    if target.deleted:
        return f"{target.where} is deleted"
    if target.ledger != source.ledger:
        return (
            f"{target.where} is not in the {_LEDGER_NAMES.get(source.ledger or '', 'same ledger')}"
        )
    if target.rule is None or target.rule.role != _TARGET:
        return f"{target.where} is not an item that allocations settle (only SI/SP or PI/PR are)"
    if target.account != source.account and target.account >= 0 and source.account >= 0:
        # An account that is not on file was reported where it is named; not again here.
        return f"{target.where} belongs to another account"
    if target.currency != source.currency:
        return f"{target.where} is in {target.currency}, not {source.currency}"
    return None


# ============================================================================================
# Reading the file
# ============================================================================================


class _Unreadable(Exception):
    """The file cannot be read as JSON at all; carries the one finding that says why."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


class _Reader:
    """A file as ijson reads it, telling us where the parser is.

    ijson's C generators call ``read`` and parse each buffer before asking for the next, so
    ``start`` and ``offset`` bracket the bytes that produced the latest event or error.  From
    ``window`` on, bytes are handed out one at a time, so an element's closing byte is exact.
    """

    def __init__(self, handle: IO[bytes], window: int | None = None) -> None:
        self.handle = handle
        self.window = window
        self.start = 0
        self.offset = 0
        self.at_end = False
        self.byte_mode = False
        handle.seek(0)

    def read(self, size: int = _CHUNK) -> bytes:
        """The next buffer for the parser."""
        if size == 0:  # ijson probes with read(0) to see whether the file gives bytes
            return b""
        if self.window is not None:
            if self.offset >= self.window:
                size = 1
            elif self.offset + size > self.window:
                size = self.window - self.offset
        data = self.handle.read(size)
        self.start = self.offset
        self.offset += len(data)
        self.at_end = not data
        self.byte_mode = self.window is not None and self.start >= self.window
        return data


_HEAD_START, _HEAD_KEY, _HEAD_VALUE, _HEAD_BUILD, _HEAD_PEEK, _HEAD_SKIP, _HEAD_DONE = range(7)


class _HeadScan:
    """First pass: the top-level object, with every section except the trail's elements."""

    def __init__(self, *, full: bool) -> None:
        self.full = full  # False: stop at a non-empty trail once every other section is in
        self.values: dict[str, Any] = {}
        self.order: list[str] = []  # top-level keys in file order, repeats included
        self.top = ""  # the first parse event: "start_map" for an object
        self.trail_pending = False  # a non-empty transactions array is left for the trail pass
        self.stopped = False  # stopped at the trail: what follows it is not known yet
        self._state = _HEAD_START
        self._key = ""
        self._builder: Any = None
        self._depth = 0

    def run(self, reader: _Reader, locate: Callable[[BaseException, _Reader], Finding]) -> None:
        """Parse from the start until done (or until the trail, see ``full``)."""
        events = ijson.parse(reader, use_float=False, buf_size=_CHUNK)
        try:
            for _prefix, event, value in events:
                if self._step(event, value):
                    return
                if self._state == _HEAD_SKIP:
                    # The trail is read in the second pass; here it is only stepped over.
                    for prefix, event, _value in events:
                        if event == "end_array" and prefix == "transactions":
                            break
                    self._state = _HEAD_KEY
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            raise _Unreadable(locate(exc, reader)) from None

    def _step(self, event: str, value: Any) -> bool:
        """Advance the state machine by one event; True means stop reading."""
        state = self._state
        if state == _HEAD_START:
            self.top = event
            self._state = _HEAD_KEY
            return event != "start_map"
        if state == _HEAD_KEY:
            if event == "end_map":
                self._state = _HEAD_DONE
            else:
                self._key = value
                self.order.append(value)
                self._state = _HEAD_VALUE
            return False
        if state == _HEAD_VALUE:
            self._value_start(event, value)
            return False
        if state == _HEAD_PEEK:
            return self._trail_start(event)
        if state == _HEAD_BUILD:
            self._builder.event(event, value)
            self._depth += 1 if event in _STARTS else -1 if event in _ENDS else 0
            if self._depth == 0:
                self._store(self._key, self._builder.value)
                self._state = _HEAD_KEY
        return False

    def _value_start(self, event: str, value: Any) -> None:
        key = self._key
        if key == "transactions" and event == "start_array" and self.order.count(key) == 1:
            self._state = _HEAD_PEEK
        elif event in _STARTS:
            self._builder = ijson.ObjectBuilder()
            self._builder.event(event, value)
            self._depth = 1
            self._state = _HEAD_BUILD
        else:
            self._store(key, value)
            self._state = _HEAD_KEY

    def _trail_start(self, event: str) -> bool:
        if event == "end_array":
            self._store("transactions", [])
            self._state = _HEAD_KEY
            return False
        self.trail_pending = True
        if not self.full and _SECTIONS.issubset(self.order):
            self.stopped = True
            return True
        self._state = _HEAD_SKIP
        return False

    def _store(self, key: str, value: Any) -> None:
        self.values.setdefault(key, value)


class _TrailScan:
    """Second pass: every element of the trail, built by ijson's C backend, one at a time."""

    _DRAIN_MASK = 1023  # hand out findings every 1024 elements

    def __init__(self, on_item: Callable[[Any, int], None], *, find_tail: bool) -> None:
        self.on_item = on_item
        self.find_tail = find_tail
        self.tail: bytes | None = None  # what follows the last element, when find_tail

    def run(
        self, handle: IO[bytes], size: int, locate: Callable[[BaseException, _Reader], Finding]
    ) -> Iterator[None]:
        """Check the elements; yields now and then so that findings can stream out."""
        reader = _Reader(handle, max(0, size - _TAIL_WINDOW) if self.find_tail else None)
        on_item = self.on_item
        last_end = -1
        items = ijson.items(reader, "transactions.item", use_float=False, buf_size=_CHUNK)
        try:
            for n, item in enumerate(items):
                on_item(item, n)
                if reader.byte_mode:  # bytes come one at a time: the element ends exactly here
                    last_end = reader.offset
                if not n & self._DRAIN_MASK:
                    yield None
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            raise _Unreadable(locate(exc, reader)) from None
        if last_end >= 0:
            handle.seek(last_end)
            self.tail = handle.read()


def _late_keys(tail: bytes | None) -> list[str] | None:
    """The top-level keys after the trail, read from the bytes after its last element.

    None means the tail did not show it (the caller then scans the file again).
    """
    if tail is None:
        return None
    if _TAIL_CLEAN.fullmatch(tail):
        return []
    more = _TAIL_MORE.match(tail)
    if more is None:
        return None
    try:
        return [key for key, _value in ijson.kvitems(b"{" + tail[more.end() :], "")]
    except (ijson.JSONError, UnicodeDecodeError):
        return None


class _Locator:
    """Turns a parser failure into the one finding that says what is wrong and where."""

    def __init__(self, handle: IO[bytes], size: int) -> None:
        self.handle = handle
        self.size = size

    def __call__(self, exc: BaseException, reader: _Reader) -> Finding:
        reason = _parser_reason(exc)
        chunk_start, at_end = reader.start, reader.at_end
        if isinstance(exc, UnicodeDecodeError) or "UTF8" in reason:
            found = self._first_bad_utf8()
            if found is not None:
                return self._encoding(*found)
        if "premature EOF" in reason or (at_end and "EOF" in reason):
            line, column = self._line_col(self.size)
            return Finding(
                code=JSON_MALFORMED,
                message=(
                    f"The file ends before the JSON is complete (after {self.size} bytes, line "
                    f"{line}): it may have been cut off during export or copying."
                ),
                pointer="",
                details={"offset": self.size, "line": line, "column": column, "truncated": True},
            )
        offset = self._error_offset(chunk_start)
        line, column = self._line_col(offset)
        return Finding(
            code=JSON_MALFORMED,
            message=(
                f"The file is not valid JSON at line {line}, column {column} (byte {offset}): "
                f"{reason}."
            ),
            pointer="",
            details={"offset": offset, "line": line, "column": column, "reason": reason},
        )

    def _encoding(self, offset: int, byte: int) -> Finding:
        line, column = self._line_col(offset)
        guess = bytes([byte]).decode("cp1252", errors="replace")
        return Finding(
            code=ENCODING,
            message=(
                f"The file is not UTF-8: byte 0x{byte:02X} at line {line}, column {column} (byte "
                f"{offset}) is not valid UTF-8. It looks like Windows-1252 or Latin-1 text "
                f"({guess!r}); export the file again as UTF-8."
            ),
            pointer="",
            details={"offset": offset, "line": line, "column": column, "byte": f"0x{byte:02X}"},
        )

    def _first_bad_utf8(self) -> tuple[int, int] | None:
        decoder = codecs.getincrementaldecoder("utf-8")()
        self.handle.seek(0)
        offset = 0
        while chunk := self.handle.read(4 * _CHUNK):
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # exc.object is the decoder's pending bytes followed by this chunk
                return offset - pending + exc.start, exc.object[exc.start]
            offset += len(chunk)
        return None

    def _error_offset(self, chunk_start: int) -> int:
        """The byte at which the parser gives up: parse again, the failing buffer byte by byte."""
        reader = _Reader(self.handle, window=chunk_start)
        try:
            # A prefix that matches nothing keeps the scan inside the C parser.
            for _ in ijson.items(reader, "\x00", use_float=False, buf_size=_CHUNK):
                pass
        except (ijson.JSONError, UnicodeDecodeError):
            return reader.start
        return reader.offset

    def _line_col(self, offset: int) -> tuple[int, int]:
        self.handle.seek(0)
        newlines, last_newline, position = 0, -1, 0
        while position < offset:
            chunk = self.handle.read(min(4 * _CHUNK, offset - position))
            if not chunk:
                break
            count = chunk.count(b"\n")
            if count:
                newlines += count
                last_newline = position + chunk.rindex(b"\n")
            position += len(chunk)
        return newlines + 1, offset - last_newline


def _parser_reason(exc: BaseException) -> str:
    """The first line of a yajl error, without its ``parse error:`` prefix."""
    text = str(exc)
    if text[:2] in ("b'", 'b"'):
        text = text[2:]
    first = re.split(r"\\n|\n", text, maxsplit=1)[0].strip().rstrip(".")
    return re.sub(r"^(parse|lexical) error: ", "", first) or type(exc).__name__


def _sniff(head: bytes) -> Finding | None:
    """ENCODING when the first bytes show a byte-order mark or UTF-16/32 text."""
    boms = (
        (codecs.BOM_UTF8, "a UTF-8 byte order mark (BOM, bytes EF BB BF)"),
        (codecs.BOM_UTF32_LE, "a UTF-32 byte order mark"),
        (codecs.BOM_UTF32_BE, "a UTF-32 byte order mark"),
        (codecs.BOM_UTF16_LE, "a UTF-16 byte order mark (the file is UTF-16)"),
        (codecs.BOM_UTF16_BE, "a UTF-16 byte order mark (the file is UTF-16)"),
    )
    for bom, what in boms:
        if head.startswith(bom):
            return Finding(
                code=ENCODING,
                message=(
                    f"The file starts with {what}. sage50-json files are UTF-8 without a BOM "
                    "(FORMAT.md §1); export the file again as UTF-8 without a BOM."
                ),
                pointer="",
                details={"bom": bom.hex(" ").upper()},
            )
    if b"\x00" in head[:4]:
        return Finding(
            code=ENCODING,
            message=(
                "The file contains NUL bytes at its start, so it is UTF-16 or UTF-32 text, not "
                "UTF-8; export the file again as UTF-8."
            ),
            pointer="",
        )
    return None


# ============================================================================================
# The validation run
# ============================================================================================


class _Validation:
    """One run over one file: the head pass, the master data, the trail pass, the closing."""

    def __init__(self, handle: IO[bytes], size: int) -> None:
        self.handle = handle
        self.size = size
        self.report = _Report()
        self.locate = _Locator(handle, size)

    def run(self) -> Iterator[Finding]:
        """Yield every finding, in file order as far as possible."""
        self._refuse_unreadable_start()
        head = _HeadScan(full=False)
        head.run(_Reader(self.handle), self.locate)
        if head.top != "start_map":
            yield self._not_an_object(head.top)
            return
        stop = self._format(head.values)
        if stop is not None:
            yield stop
            return
        yield from self.report.drain()
        headers, allocations = _HeaderIndex(), _Allocations()
        master = _MasterLoader(head.values, self.report, headers, allocations).load()
        trail = _Trail(master, self.report, headers, allocations)
        self._top_level(head, master)
        yield from self.report.drain()
        if head.trail_pending:
            scan = _TrailScan(trail.check, find_tail=head.stopped)
            for _ in scan.run(self.handle, self.size, self.locate):
                yield from self.report.drain()
            if head.stopped:
                self._keys_after_trail(_late_keys(scan.tail))
        _Closing(master, trail, self.report).run()
        yield from self.report.drain()

    def _refuse_unreadable_start(self) -> None:
        if self.size == 0:
            raise _Unreadable(
                Finding(code=FILE_EMPTY, message="The file is empty (0 bytes).", pointer="")
            )
        start = self.handle.read(min(self.size, _CHUNK))
        self.handle.seek(0)
        if self.size <= _CHUNK and not start.strip(_JSON_WS):
            raise _Unreadable(
                Finding(
                    code=FILE_EMPTY,
                    message=f"The file holds only blank space ({self.size} bytes), no data.",
                    pointer="",
                )
            )
        sniffed = _sniff(start)
        if sniffed is not None:
            raise _Unreadable(sniffed)

    def _not_an_object(self, event: str) -> Finding:
        what = {"start_array": "a list"}.get(event, "a single value")
        return Finding(
            code=SCHEMA_VIOLATION,
            message=(
                f"The file holds {what} at the top level; a sage50-json export is one JSON object "
                "with format, company, nominal_accounts and the other sections."
            ),
            pointer="",
            details={"top_level": what},
        )

    def _format(self, values: dict[str, Any]) -> Finding | None:
        """I-F1: FORMAT_UNSUPPORTED (and stop) unless this is sage50-json 1.x."""
        form = values.get("format", _MISSING)
        version = values.get("format_version", _MISSING)
        if form != "sage50-json":
            shown = "missing" if form is _MISSING else _kind_of(form)
            return Finding(
                code=FORMAT_UNSUPPORTED,
                message=(
                    f"This is not a sage50-json file: its format is {shown}, not "
                    '"sage50-json". Nothing else was checked.'
                ),
                pointer="/format",
                details={"format": None if form is _MISSING else str(form)},
            )
        if not (isinstance(version, str) and re.fullmatch(r"1\.[0-9]+", version)):
            shown = "missing" if version is _MISSING else _kind_of(version)
            return Finding(
                code=FORMAT_UNSUPPORTED,
                message=(
                    f"sage50-json format_version {shown} is not supported; this validator reads "
                    'version "1.0". Nothing else was checked.'
                ),
                pointer="/format_version",
                details={"format_version": None if version is _MISSING else str(version)},
            )
        if version != "1.0":
            self.report.add(
                SCHEMA_VIOLATION,
                f"format_version is {version}; this validator knows 1.0 and checks the file "
                "as 1.0.",
                "/format_version",
                format_version=version,
            )
        return None

    def _top_level(self, head: _HeadScan, master: _Master) -> None:
        """Top-level keys: missing, unknown, repeated and of the wrong kind; §3 trail presence."""
        values = dict(head.values)
        if head.trail_pending:
            values["transactions"] = []
        good_keys = [key for key in values if key in _TOP.fields]
        _check_shape({key: values[key] for key in good_keys}, _TOP, "", "The file", self.report)
        self._keys_after_trail([key for key in head.order if key not in _TOP.fields])
        seen: set[str] = set()
        for key in head.order:
            if key in seen and key in _TOP.fields:
                self._repeated_key(key)
            seen.add(key)
        trail = values.get("transactions")
        has_trail = head.trail_pending or (isinstance(trail, list) and bool(trail))
        if master.history_mode in ("opening_balances", "records_only") and has_trail:
            self.report.add(
                HISTORY_MODE,
                f"The file is {master.history_mode} but has transactions; that mode has an empty "
                "transactions list.",
                "/transactions",
                history_mode=master.history_mode,
            )

    def _keys_after_trail(self, keys: list[str] | None) -> None:
        if keys is None:
            # The bytes after the trail did not show what follows it: read the file again.
            head = _HeadScan(full=True)
            head.run(_Reader(self.handle), self.locate)
            order = head.order
            trail_at = order.index("transactions") if "transactions" in order else len(order)
            keys = order[trail_at + 1 :]
        for key in keys:
            if key in _TOP.fields:
                self._repeated_key(key)
            else:
                self.report.add(
                    SCHEMA_VIOLATION,
                    f"The file has a top-level key {key!r} that the format does not define.",
                    f"/{_escape(key)}",
                    unknown_key=key,
                )

    def _repeated_key(self, key: str) -> None:
        self.report.add(
            SCHEMA_VIOLATION,
            f"The top-level key {key!r} appears more than once; only the first one was checked.",
            f"/{_escape(key)}",
            repeated_key=key,
        )


def validate_file(path: str | os.PathLike[str]) -> Iterator[Finding]:
    """Check a sage50-json file against FORMAT.md §9 and yield every finding.

    The file is streamed (never loaded whole).  Unreadable input yields exactly one finding
    (``FILE_NOT_FOUND``, ``FILE_EMPTY``, ``ENCODING`` or ``JSON_MALFORMED``) instead of raising;
    findings already made before a late JSON error are yielded first.
    """
    name = os.fspath(path)
    try:
        handle = open(name, "rb")  # noqa: SIM115 - closed by the with block below
    except FileNotFoundError:
        yield Finding(code=FILE_NOT_FOUND, message=f"There is no file {name}.", pointer="")
        return
    except OSError as exc:
        yield Finding(
            code=FILE_UNREADABLE,
            message=f"The file {name} cannot be opened: {exc.strerror or exc}.",
            pointer="",
        )
        return
    with handle:
        run = _Validation(handle, os.fstat(handle.fileno()).st_size)
        try:
            yield from run.run()
        except _Unreadable as exc:
            yield from run.report.drain()
            yield exc.finding
        except OSError as exc:  # e.g. the disk or network share failed mid-way
            yield from run.report.drain()
            yield Finding(
                code=FILE_UNREADABLE,
                message=f"Reading {name} failed part-way: {exc.strerror or exc}.",
                pointer="",
            )
