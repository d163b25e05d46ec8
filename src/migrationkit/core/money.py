"""Money and rate handling: ``Decimal`` from the wire to the report, never ``float``."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = [
    "CENT",
    "ZERO",
    "MoneyFormatError",
    "as_decimal",
    "fixed_point",
    "money_text",
    "parse_money",
    "pence",
    "pence_text",
    "round_div",
    "round_money",
    "whole_pence",
]

ZERO = Decimal("0")
CENT = Decimal("0.01")

_MONEY = re.compile(r"-?\d+(\.\d+)?")
_FIXED = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")
_TWO_PLACES = re.compile(r"-?[0-9]+\.[0-9]{2}").fullmatch


class MoneyFormatError(ValueError):
    """A text that should hold an amount does not."""


def round_money(value: Decimal, places: Decimal = CENT) -> Decimal:
    """Round to the cent, halves away from zero, as Sage and Xero do."""
    return value.quantize(places, rounding=ROUND_HALF_UP)


def as_decimal(value: object) -> Decimal:
    """Convert an int, a decimal text or a Decimal to Decimal; refuse floats.

    A float has already lost the exact amount, so accepting one would hide a bug.
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        return parse_money(value)
    if isinstance(value, float):
        raise TypeError(f"amount {value!r} is a float; pass a decimal string or Decimal")
    raise TypeError(f"cannot read {value!r} as an amount")


def parse_money(text: str, *, decimal_mark: str = ".", thousands: str | None = None) -> Decimal:
    """Parse an amount written with ``decimal_mark`` and optional ``thousands`` grouping.

    Grouping is accepted only in groups of three digits, so ``1.234,56`` reads as 1234.56 with a
    comma decimal mark while ``1,23`` is refused under a point decimal mark.
    """
    raw = text.strip()
    if thousands:
        grouped = rf"-?\d{{1,3}}({re.escape(thousands)}\d{{3}})+({re.escape(decimal_mark)}\d+)?"
        if re.fullmatch(grouped, raw):
            raw = raw.replace(thousands, "")
    if decimal_mark != ".":
        if "." in raw:
            raise MoneyFormatError(f"{text!r} is not an amount written with {decimal_mark!r}")
        raw = raw.replace(decimal_mark, ".")
    if not _MONEY.fullmatch(raw):
        raise MoneyFormatError(f"{text!r} is not an amount")
    try:
        return Decimal(raw)
    except InvalidOperation as exc:  # pragma: no cover - the pattern above excludes this
        raise MoneyFormatError(f"{text!r} is not an amount") from exc


def money_text(value: Decimal) -> str:
    """Write an amount as plain decimal text, keeping its scale (``1653.00`` stays ``1653.00``)."""
    return format(value, "f")


# -- whole units in ``int`` ------------------------------------------------------------------
# A validator that checks millions of amounts keeps them as whole pence in ``int``: exact for
# every amount with at most two decimals, and far cheaper than ``Decimal`` per value.  These
# functions are the only place such integers are made from text, rounded or written back.


def fixed_point(text: str, places: int) -> int:
    """A decimal text as a whole number of ``10**-places`` units, exactly.

    ``fixed_point("17.5", 2)`` is 1750 (a VAT rate in basis points).  Refuses, with
    :class:`MoneyFormatError`, anything but ASCII digits with an optional leading minus and at
    most ``places`` decimals.
    """
    match = _FIXED.fullmatch(text)
    if match is None or len(match[3] or "") > places:
        raise MoneyFormatError(f"{text!r} is not a number with at most {places} decimals")
    sign, whole, fraction = match.groups()
    value = int(whole + (fraction or "").ljust(places, "0"))
    return -value if sign else value


def pence(text: str) -> int:
    """Whole pence of an amount written with at most two decimals: ``"-12.5"`` is -1250."""
    if _TWO_PLACES(text):  # the usual way amounts are written, and the quickest to read
        return int(text.replace(".", ""))
    return fixed_point(text, 2)


def whole_pence(value: Decimal) -> int | None:
    """An amount in whole pence, or None when it holds a fraction of a penny or is not finite."""
    if not value.is_finite():
        return None
    scaled = value.scaleb(2)
    return int(scaled) if scaled == scaled.to_integral_value() else None


def pence_text(amount: int) -> str:
    """Whole pence as the decimal text a bookkeeper reads: -1250 is ``"-12.50"``."""
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 100)
    return f"{sign}{whole}.{cents:02d}"


def round_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to a whole number, halves away from zero.

    The whole-unit twin of :func:`round_money`: VAT in pence on ``net`` pence at ``rate``
    hundredths of a percent is ``round_div(net * rate, 10_000)``.  ``denominator`` must be
    positive.
    """
    quotient = (2 * abs(numerator) + denominator) // (2 * denominator)
    return quotient if numerator >= 0 else -quotient
