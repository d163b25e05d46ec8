"""Xero's wire formats: JSON with exact amounts, and the ``/Date(...)/`` date forms.

Xero sends amounts as JSON numbers. Parsed with the standard library they would become floats
and lose pennies, so every body is read with ``parse_float=Decimal`` and written with amounts
as plain decimal literals. Dates go out as ``YYYY-MM-DD`` and come back as
``/Date(1552262400000+0000)/`` (milliseconds since the epoch, optional ``±hhmm`` offset).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

from migrationkit.core import convert
from migrationkit.core.money import as_decimal

__all__ = [
    "dumps",
    "format_date",
    "format_msdate",
    "loads",
    "parse_date",
    "parse_datetime",
]

_MSDATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")

MONEY_FIELDS = frozenset(
    {
        "Amount",
        "AmountCredited",
        "AmountDue",
        "AmountPaid",
        "AppliedAmount",
        "BankAmount",
        "CurrencyRate",
        "DiscountAmount",
        "DisplayTaxRate",
        "EffectiveRate",
        "LineAmount",
        "Quantity",
        "Rate",
        "RemainingCredit",
        "SubTotal",
        "TaxAmount",
        "Total",
        "TotalAmount",
        "TotalTax",
        "UnitAmount",
        "UnitPrice",
    }
)
"""Fields that hold amounts, rates or quantities: ``Decimal`` even when written as integers."""


def _money_ints(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A JSON number without a fraction (``"CurrencyRate": 1``) parses as int: make amounts
    # Decimal whatever their written form, and leave counts (page, Day) as int.
    return {
        key: as_decimal(value)
        if key in MONEY_FIELDS and isinstance(value, int) and not isinstance(value, bool)
        else value
        for key, value in pairs
    }


def loads(data: bytes | str) -> Any:
    """Parse a JSON body, amounts as ``Decimal`` (never ``float``).

    A JSON number literal becomes the ``Decimal`` it spells, exactly; JSON allows an exponent
    (``1E-05``), which :func:`~migrationkit.core.money.parse_money`, a reader of amounts as
    people write them, rightly refuses, so literals go to ``Decimal`` itself.
    """
    return json.loads(data, parse_float=Decimal, object_pairs_hook=_money_ints)


def dumps(value: Any, *, strict: bool = True) -> bytes:
    """Serialise to compact JSON with every ``Decimal`` written as a plain number literal.

    ``strict`` refuses a float anywhere in ``value`` (a float has already lost the exact
    amount); the sandbox, whose answers come from bodies parsed by :func:`loads`, skips it.
    """
    return convert.dumps(value, compact=True, strict=strict).encode("utf-8")


def parse_date(value: str | None) -> dt.date | None:
    """A date-only field (``Date``, ``DueDate``) in either form, without time-zone shifting.

    Xero writes a date as midnight UTC (``/Date(1552262400000+0000)/``). The offset, when
    present, says where the value was rendered, not a different day: converting to local time
    would move the date (xero-python#179), so the UTC calendar day of the instant is the date.
    """
    if value is None or value == "":
        return None
    match = _MSDATE.match(value)
    if match:
        instant = dt.datetime.fromtimestamp(int(match.group(1)) / 1000, tz=dt.UTC)
        return instant.date()
    return dt.date.fromisoformat(value[:10])


def parse_datetime(value: str | None) -> dt.datetime | None:
    """A timestamp (``UpdatedDateUTC``) in either form, as an aware UTC datetime."""
    if value is None or value == "":
        return None
    match = _MSDATE.match(value)
    if match:
        return dt.datetime.fromtimestamp(int(match.group(1)) / 1000, tz=dt.UTC)
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def format_date(value: dt.date) -> str:
    """A date as Xero wants it in a request: ``YYYY-MM-DD``."""
    return value.isoformat()


def format_msdate(value: dt.date | dt.datetime, offset: bool = True) -> str:
    """A date or timestamp in Xero's response form, ``/Date(ms+0000)/``."""
    if isinstance(value, dt.datetime):
        instant = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    else:
        instant = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    millis = int(instant.timestamp() * 1000)
    return f"/Date({millis}+0000)/" if offset else f"/Date({millis})/"
