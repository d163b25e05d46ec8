"""Small helpers of the generator: amounts, dates, text and the JSON of one line."""

from __future__ import annotations

import json
import unicodedata
from datetime import date
from decimal import Decimal
from typing import Any

from migrationkit.core.money import round_money

__all__ = [
    "GBP",
    "MONTHS",
    "ONE",
    "ZERO",
    "add_months",
    "ascii_upper",
    "clip_text",
    "cumulative",
    "dump_line",
    "from_cents",
    "money_str",
    "month_end",
    "round_penny",
]

ZERO = Decimal("0.00")
ONE = Decimal(1)
GBP = "GBP"


def round_penny(value: Decimal) -> Decimal:
    """``value`` rounded to the penny, halves away from zero (as Sage 50 rounds)."""
    return round_money(value)


def money_str(value: Decimal) -> str:
    # Adding 0.00 fixes the scale at two places and turns a negative zero into "0.00".
    return format(value + ZERO, "f")


def from_cents(n: int) -> Decimal:
    return Decimal(n).scaleb(-2)


def clip_text(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def month_end(o: int) -> int:
    d = date.fromordinal(o)
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return nxt.toordinal() - 1


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, 1)


# Letters that NFKD does not split into an ASCII base letter.
_TRANSLIT = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe"} | dict(zip("øØłŁđ", "oOlLd", strict=True))
)


def ascii_upper(text: str) -> str:
    """Upper-case ASCII letters and digits of ``text``, for account refs and stock codes."""
    flat = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    return "".join(ch for ch in flat if ch.isascii() and ch.isalnum()).upper()


def dump_line(obj: Any) -> str:
    """``obj`` as compact JSON on one line, accents kept."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def cumulative(weights: list[float]) -> list[float]:
    """Running totals of ``weights``, for weighted choices with bisect."""
    total = 0.0
    result = []
    for w in weights:
        total += w
        result.append(total)
    return result
