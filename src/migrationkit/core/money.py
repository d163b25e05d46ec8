"""Money and rate handling: ``Decimal`` from the wire to the report, never ``float``."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = [
    "CENT",
    "ZERO",
    "MoneyFormatError",
    "as_decimal",
    "money_text",
    "parse_money",
    "round_money",
]

ZERO = Decimal("0")
CENT = Decimal("0.01")

_MONEY = re.compile(r"-?\d+(\.\d+)?")


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
