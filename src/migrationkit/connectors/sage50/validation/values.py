"""The schema of sage50-json: every value's rule, and the keys of every kind of object.

A :class:`Kind` is the rule for one value (an amount, a date, a nominal code ...): what is
wrong with a value and which rule that breaks, and the value as the checks use it (an amount
in pence, a date as a day ordinal).  A :class:`Shape` is the keys of one kind of object with
their kinds.  :func:`check_shape` reports missing, unknown and malformed keys of an object and
returns its good values; every family of checks starts from it.  The patterns are those of
``docs/formats/sage50-json.md`` §1.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, NamedTuple

from migrationkit.core.money import as_decimal, fixed_point, pence, whole_pence

from .report import Report, escape, kind_of
from .rules import DATE_INVALID, MONEY_FORMAT, SCHEMA_VIOLATION, Rule

MISSING: Any = object()
"""What ``dict.get`` returns for a key that is not there (``None`` is a value: JSON null)."""
ABSENT = (None, MISSING)
NO_DATE = 0  # the day ordinal of a date that is missing or unreadable

# -- patterns -----------------------------------------------------------------------------------

_MONEY_RX = re.compile(r"-?[0-9]+(?:\.[0-9]{1,2})?")
MONEY2 = re.compile(r"-?[0-9]+\.[0-9]{2}").fullmatch
_LOOSE_MONEY = re.compile(r"\s*-?[0-9]{1,30}(?:\.[0-9]{1,30})?\s*")
_PRICE_RX = re.compile(r"[0-9]+(?:\.[0-9]{1,4})?")
_TAX_RATE_RX = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,2})?")
_XRATE_RX = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,6})?")
_DATE_RX = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])")
_DATETIME_RX = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
NOMINAL_RX = re.compile(r"[0-9]{4,8}")
_TAX_CODE_RX = re.compile(r"T(?:[0-9]|[1-9][0-9])")
_ACCOUNT_REF_RX = re.compile(r"[A-Z0-9][A-Z0-9._/&-]{0,7}")
_CURRENCY_RX = re.compile(r"[A-Z]{3}")
_COUNTRY_RX = re.compile(r"[A-Z]{2}")

EARLIEST = dt.date(1980, 1, 1).toordinal()
DATE_WINDOW_DAYS = 365
GBP = "GBP"
ONE_RATE = 1_000_000  # exchange rates are kept in millionths
PENCE_CAP = 2**62  # far beyond any real amount; keeps the compact arrays from overflowing


def date_ordinal(text: str) -> int | None:
    """The ordinal of a ``YYYY-MM-DD`` calendar date, or None."""
    if not _DATE_RX.fullmatch(text):
        return None
    try:
        return dt.date(int(text[:4]), int(text[5:7]), int(text[8:10])).toordinal()
    except ValueError:
        return None


def _rate_millionths(text: str) -> int | None:
    """An exchange rate like ``"1.1685"`` in millionths (1168500), or None if it is not one."""
    return fixed_point(text, 6) if _XRATE_RX.fullmatch(text) else None


def rate_text(rate: int) -> str:
    """An exchange rate in millionths as the text a bookkeeper reads (``1.1685``)."""
    whole, frac = divmod(rate, ONE_RATE)
    return f"{whole}.{frac:06d}".rstrip("0").rstrip(".")


def _basis_points(rate: str) -> int:
    """A tax rate like ``"17.5"`` as hundredths of a percent (1750)."""
    return fixed_point(rate, 2)


# ============================================================================================
# Value kinds: the schema's rules for one value, used for every structural check
# ============================================================================================

Problem = tuple[Rule, str]
"""What is wrong with a value: the rule it breaks and the words for it ("must be text ...")."""


class Kind:
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
        """The rule ``value`` breaks and the words for it, or None when it is fine."""
        if value is None and self.nullable:
            return None
        return self._check(value)

    def parse(self, value: Any) -> Any:
        """The value as the checks use it (pence, a day ordinal ...); only for good values."""
        return None if value is None else self._parse(value)

    def or_null(self) -> Kind:
        """The same rule, also allowing ``null``."""
        return Kind(self._check, self._parse, nullable=True, salvage=self._salvage)


def _text(max_len: int, min_len: int = 0) -> Kind:
    def check(value: Any) -> Problem | None:
        if not isinstance(value, str):
            return SCHEMA_VIOLATION, f"must be text, not {kind_of(value)}"
        if len(value) > max_len:
            return SCHEMA_VIOLATION, f"is {len(value)} characters long; the limit is {max_len}"
        if len(value) < min_len:
            return SCHEMA_VIOLATION, "must not be empty"
        return None

    return Kind(check)


def _pattern(regex: re.Pattern[str], what: str, rule: Rule = SCHEMA_VIOLATION) -> Kind:
    def check(value: Any) -> Problem | None:
        if isinstance(value, str) and regex.fullmatch(value):
            return None
        return rule, f"is {kind_of(value)}, not {what}"

    return Kind(check)


def _enum(*values: object) -> Kind:
    allowed = ", ".join("null" if v is None else str(v) for v in values)

    def check(value: Any) -> Problem | None:
        if isinstance(value, str | type(None)) and value in values:
            return None
        return SCHEMA_VIOLATION, f"is {kind_of(value)}; it must be one of {allowed}"

    return Kind(check, nullable=None in values)


def _integer(low: int, high: int | None = None) -> Kind:
    def check(value: Any) -> Problem | None:
        if type(value) is not int:
            return SCHEMA_VIOLATION, f"must be a whole number, not {kind_of(value)}"
        if value < low or (high is not None and value > high):
            limit = f"from {low} to {high}" if high is not None else f"at least {low}"
            return SCHEMA_VIOLATION, f"is {value}; it must be {limit}"
        return None

    return Kind(check)


def _check_bool(value: Any) -> Problem | None:
    if isinstance(value, bool):
        return None
    return SCHEMA_VIOLATION, f"must be true or false, not {kind_of(value)}"


def _check_money(value: Any) -> Problem | None:
    if isinstance(value, str) and _MONEY_RX.fullmatch(value):
        return None
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return (
            MONEY_FORMAT,
            f'is the JSON number {value}; amounts must be decimal text like "12.34"',
        )
    return MONEY_FORMAT, f'is {kind_of(value)}, not an amount like "12.34" (at most 2 decimals)'


def _check_money_nonneg(value: Any) -> Problem | None:
    problem = _check_money(value)
    if problem is None and value.startswith("-"):
        return SCHEMA_VIOLATION, f"is {value}; it must not be negative"
    return problem


def _check_date(value: Any) -> Problem | None:
    if isinstance(value, str) and date_ordinal(value) is not None:
        return None
    if isinstance(value, str) and _DATE_RX.fullmatch(value):
        return DATE_INVALID, f'is "{value}", which is not a real calendar date'
    return DATE_INVALID, f"is {kind_of(value)}, not a date written YYYY-MM-DD"


def _check_datetime(value: Any) -> Problem | None:
    if isinstance(value, str) and _DATETIME_RX.fullmatch(value):
        try:
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return DATE_INVALID, f'is "{value}", which is not a real date and time'
        return None
    return DATE_INVALID, f"is {kind_of(value)}, not a timestamp like 2024-07-05T16:42:10+01:00"


def _check_tax_rate(value: Any) -> Problem | None:
    if not (isinstance(value, str) and _TAX_RATE_RX.fullmatch(value)):
        return SCHEMA_VIOLATION, f'is {kind_of(value)}, not a percentage like "20.00"'
    if _basis_points(value) > 10_000:
        return SCHEMA_VIOLATION, f"is {value}%; a rate cannot exceed 100%"
    return None


def _check_exchange_rate(value: Any) -> Problem | None:
    rate = _rate_millionths(value) if isinstance(value, str) else None
    if rate is None:
        return SCHEMA_VIOLATION, f'is {kind_of(value)}, not an exchange rate like "1.1685"'
    if rate == 0:
        return SCHEMA_VIOLATION, "is 0; an exchange rate must be greater than 0"
    return None


def _check_array(value: Any) -> Problem | None:
    return (
        None
        if isinstance(value, list)
        else (SCHEMA_VIOLATION, f"must be a list, not {kind_of(value)}")
    )


def _check_object(value: Any) -> Problem | None:
    if isinstance(value, dict):
        return None
    return SCHEMA_VIOLATION, f"must be an object, not {kind_of(value)}"


def _check_any_ref(value: Any) -> Problem | None:
    if isinstance(value, str) and (_ACCOUNT_REF_RX.fullmatch(value) or NOMINAL_RX.fullmatch(value)):
        return None
    return SCHEMA_VIOLATION, f"is {kind_of(value)}, not an account reference or nominal code"


_TEXT8, _TEXT30, _TEXT32, _TEXT60 = _text(8), _text(30), _text(32), _text(60)
_NAME60 = _text(60, 1)
_BOOL = Kind(_check_bool)


def _salvage_money(value: Any) -> int | None:
    """Pence of an amount with at most 2 decimals written the wrong way (a number, "1.500")."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        return None
    if isinstance(value, str) and not _LOOSE_MONEY.fullmatch(value):
        return None
    return whole_pence(as_decimal(value.strip() if isinstance(value, str) else value))


MONEY = Kind(_check_money, pence, salvage=_salvage_money)
MONEY_NONNEG = Kind(_check_money_nonneg, pence, salvage=_salvage_money)
DATE = Kind(_check_date, date_ordinal)
DATETIME = Kind(_check_datetime, lambda value: date_ordinal(value[:10]))
NOMINAL = _pattern(NOMINAL_RX, "a nominal code of 4 to 8 digits")
_TAX_CODE = _pattern(_TAX_CODE_RX, "a tax code T0 to T99")
_ACCOUNT_REF = _pattern(_ACCOUNT_REF_RX, "an account reference (upper case, at most 8 characters)")
CURRENCY_CODE = _pattern(_CURRENCY_RX, "a three-letter ISO 4217 currency code")
_COUNTRY = _pattern(_COUNTRY_RX, "a two-letter ISO 3166 country code")
_PRICE = _pattern(_PRICE_RX, 'a unit price like "9.2000" (at most 4 decimals)')
_TAX_RATE = Kind(_check_tax_rate, _basis_points)
_EXCHANGE_RATE = Kind(_check_exchange_rate, _rate_millionths)
HEADER_NUMBER = _integer(1)
ARRAY = Kind(_check_array)
OBJECT = Kind(_check_object)
ANY_REF = Kind(_check_any_ref)


class Shape(NamedTuple):
    """The keys of one kind of JSON object: each key's rule and whether it is required."""

    fields: dict[str, Kind]
    required: frozenset[str]

    @classmethod
    def of(cls, required: dict[str, Kind], optional: dict[str, Kind] | None = None) -> Shape:
        """A shape from its required keys and its optional ones."""
        return cls({**required, **(optional or {})}, frozenset(required))


_ADDRESS = {f"address_{n}": _TEXT60 for n in range(1, 6)}

COMPANY = Shape.of(
    {
        "name": _NAME60,
        "registration": _pattern(
            re.compile(r"[A-Z0-9]{8}"), "an 8-character company number"
        ).or_null(),
        "vat_number": _pattern(
            re.compile(r"(?:GB)?(?:[0-9]{9}|[0-9]{12}|GD[0-9]{3}|HA[0-9]{3})"), "a UK VAT number"
        ).or_null(),
        "base_currency": _enum(GBP),
        "financial_year_start": OBJECT,
        "vat_scheme": _enum("standard", "cash", "flat_rate"),
        "sage50_version": _pattern(re.compile(r"[0-9]{2}(?:\.[0-9]+){0,3}"), "a Sage 50 version"),
        "exported_at": DATETIME,
    },
    {
        **_ADDRESS,
        "country_code": _COUNTRY,
        "flat_rate_percent": _pattern(
            re.compile(r"[0-9]{1,2}(?:\.[0-9]{1,2})?"), 'a percentage like "16.50"'
        ).or_null(),
    },
)
YEAR_START = Shape.of({"month": _integer(1, 12), "day": _integer(1, 31)})
NOMINAL_ACCOUNT = Shape.of(
    {
        "code": NOMINAL,
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
    {"inactive": _BOOL, "balance": MONEY.or_null()},
)
DEPARTMENT = Shape.of({"number": _integer(0, 999), "name": _TEXT60})
TAX_CODE_RECORD = Shape.of(
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
BANK = Shape.of(
    {
        "nominal_code": NOMINAL,
        "name": _TEXT60,
        "bank_type": _enum("current", "cash", "credit_card"),
        "currency": CURRENCY_CODE,
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
PARTY = Shape.of(
    {
        "account_ref": _ACCOUNT_REF,
        "name": _NAME60,
        "currency": CURRENCY_CODE,
        "payment_due_days": _integer(0, 365),
        "default_nominal": NOMINAL.or_null(),
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
        "credit_limit": MONEY_NONNEG,
        "terms_agreed": _BOOL,
        "balance": MONEY.or_null(),
    },
)
PRODUCT = Shape.of(
    {
        "stock_code": _pattern(
            re.compile(r"[A-Z0-9][A-Z0-9._/&+-]{0,29}"), "a stock code (upper case, at most 30)"
        ),
        "description": _TEXT60,
        "sales_price": _PRICE,
        "nominal_code": NOMINAL,
        "tax_code": _TAX_CODE,
    },
    {
        "item_type": _enum("stock", "non_stock", "service"),
        "purchase_price": _PRICE.or_null(),
        "unit_of_sale": _TEXT8,
        "purchase_nominal_code": NOMINAL.or_null(),
        "supplier_ref": _ACCOUNT_REF.or_null(),
        "inactive": _BOOL,
    },
)
OPENING = Shape.of(
    {
        "as_of": DATE,
        "trial_balance": ARRAY,
        "customer_open_items": ARRAY,
        "supplier_open_items": ARRAY,
    }
)
TB_LINE = Shape.of({"nominal_code": NOMINAL, "debit": MONEY_NONNEG, "credit": MONEY_NONNEG})
# Amounts that must not be negative but have a more specific code when they are
# (ALLOCATION_INVALID, OUTSTANDING_MISMATCH, TYPE_RULE) are read as plain MONEY here and judged by
# those checks.
ALLOCATION = Shape.of({"header_number": HEADER_NUMBER, "amount": MONEY, "date": DATE})
OPEN_ITEM = Shape.of(
    {
        "header_number": HEADER_NUMBER,
        "type": _enum("SI", "SC", "SA", "SP", "PI", "PC", "PA", "PR"),
        "account_ref": _ACCOUNT_REF,
        "date": DATE,
        "reference": _TEXT30,
        "currency": CURRENCY_CODE,
        "exchange_rate": _EXCHANGE_RATE,
        "gross": MONEY,
        "outstanding": MONEY,
        "base_outstanding": MONEY_NONNEG,
        "allocations": ARRAY,
    },
    {"due_date": DATE.or_null(), "details": _TEXT60},
)
SPLIT = Shape.of(
    {
        "split_number": HEADER_NUMBER,
        "nominal_code": NOMINAL,
        "department": _integer(0, 999),
        "details": _TEXT60,
        "net": MONEY,
        "tax_code": _TAX_CODE,
        "tax": MONEY,
    },
    {"foreign_net": MONEY.or_null(), "foreign_tax": MONEY.or_null()},
)
TRANSACTION = Shape.of(
    {
        "header_number": HEADER_NUMBER,
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
        "account_ref": ANY_REF,
        "bank_code": NOMINAL.or_null(),
        "journal_group": HEADER_NUMBER.or_null(),
        "date": DATE,
        "due_date": DATE.or_null(),
        "reference": _TEXT30,
        "extra_reference": _TEXT30,
        "details": _TEXT60,
        "currency": CURRENCY_CODE,
        "exchange_rate": _EXCHANGE_RATE,
        "net": MONEY,
        "tax": MONEY,
        "gross": MONEY,
        "outstanding": MONEY,
        "paid_status": _enum("unpaid", "part", "paid"),
        "deleted": _BOOL,
        "splits": ARRAY,
        "allocations": ARRAY,
    },
    {
        "foreign_net": MONEY.or_null(),
        "foreign_tax": MONEY.or_null(),
        "foreign_gross": MONEY.or_null(),
        "bank_reconciled_on": DATE.or_null(),
        "user_name": _TEXT32,
    },
)
TOP = Shape.of(
    {
        "format": Kind(lambda value: None),
        "format_version": Kind(lambda value: None),
        "history_mode": _enum("full_history", "opening_balances", "records_only"),
        "company": OBJECT,
        "nominal_accounts": ARRAY,
        "departments": ARRAY,
        "tax_codes": ARRAY,
        "bank_accounts": ARRAY,
        "customers": ARRAY,
        "suppliers": ARRAY,
        "products": ARRAY,
        "opening_balances": OBJECT.or_null(),
        "transactions": ARRAY,
    }
)
SECTIONS = TOP.required - {"transactions"}


def check_shape(
    obj: dict[str, Any],
    shape: Shape,
    pointer: str,
    where: str,
    report: Report,
    header_number: int | None = None,
) -> dict[str, Any]:
    """Report missing, unknown and malformed keys of ``obj``; return the parsed good values."""
    good: dict[str, Any] = {}
    for key in sorted(shape.required.difference(obj)):  # a set: sorted, so runs agree
        report.add(
            SCHEMA_VIOLATION, "missing", pointer, header_number, {"missing_key": key}, where=where
        )
    for key, value in obj.items():
        kind = shape.fields.get(key)
        if kind is None:
            report.add(
                SCHEMA_VIOLATION,
                "unknown_key",
                f"{pointer}/{escape(key)}",
                header_number,
                {"unknown_key": key},
                where=where,
            )
            continue
        problem = kind.problem(value)
        if problem is None:
            good[key] = kind.parse(value)
            continue
        rule, text = problem
        report.add(
            rule,
            "value",
            f"{pointer}/{key}",
            header_number,
            {"key": key, "found": kind_of(value)},
            where=where,
            problem=text,
        )
        salvaged = kind.salvage(value)
        if salvaged is not None:
            good[key] = salvaged
    return good


def objects(
    value: Any, pointer: str, what: str, report: Report
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
                "not_an_object",
                f"{pointer}/{n}",
                None,
                None,
                n=n,
                what=what,
                found=kind_of(item),
            )
