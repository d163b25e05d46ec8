"""Twinfield's value formats: dates ``YYYYMMDD``, periods ``YYYY/PP``, amounts as text.

Amounts travel as plain decimal text (``121.00``) and are read with :class:`~decimal.Decimal`,
never through a float. A transaction line carries an unsigned ``value`` and a ``debitcredit``
side; canonical amounts are signed (debit positive), so :func:`signed` and :func:`side` convert.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from migrationkit.core.money import CENT, ZERO, parse_money
from migrationkit.core.money import money_text as money_text_of

__all__ = [
    "CENT",
    "amount",
    "date_text",
    "money_text",
    "parse_date",
    "parse_period",
    "period_text",
    "side",
    "signed",
]


def date_text(value: dt.date) -> str:
    """``20240501``."""
    return value.strftime("%Y%m%d")


def parse_date(text: str | None) -> dt.date | None:
    """A ``YYYYMMDD`` date (Twinfield also sends ``YYYYMMDDhhmmss`` stamps: the day is kept)."""
    if not text:
        return None
    text = text.strip()
    return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def period_text(year: int, period: int) -> str:
    """``2024/05``; period ``00`` holds a year's opening balance."""
    return f"{year:04d}/{period:02d}"


def parse_period(text: str) -> tuple[int, int]:
    year, _, period = text.strip().partition("/")
    return int(year), int(period or 0)


def money_text(value: Decimal) -> str:
    """An amount as Twinfield takes it: plain text with at least two decimals, no exponent."""
    text = money_text_of(value)
    if "." not in text or len(text.split(".")[1]) < 2:
        text = money_text_of(value.quantize(CENT))
    return text


def amount(text: str | None) -> Decimal:
    """An amount from the wire (empty means zero)."""
    if text is None or not text.strip():
        return ZERO
    return parse_money(text)


def side(value: Decimal) -> tuple[str, Decimal]:
    """A signed amount (debit positive) as Twinfield's ``(debitcredit, value)``."""
    return ("debit", value) if value >= 0 else ("credit", -value)


def signed(debitcredit: str, value: Decimal) -> Decimal:
    """Twinfield's side and unsigned value as a signed amount (debit positive)."""
    return value if debitcredit.strip().lower() == "debit" else -value
