"""The findings of one run, and how messages name amounts, dates, records and values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from migrationkit.core.findings import Finding
from migrationkit.core.money import pence_text

from .rules import Rule

__all__ = ["Report", "day", "escape", "kind_of", "label", "money"]

money = pence_text
"""Pence as the decimal text a bookkeeper reads (``-12.50``)."""


class Report:
    """Collects findings in order; the driver hands them out as they come."""

    def __init__(self) -> None:
        self.pending: list[Finding] = []

    def add(
        self,
        rule: Rule,
        situation: str,
        pointer: str,
        header_number: int | None = None,
        details: Mapping[str, Any] | None = None,
        /,
        **words: Any,
    ) -> None:
        """Record one finding of ``rule``; ``details`` are the numbers and names it is about.

        ``words`` fill the message only (``where``: how the message names the record).
        """
        self.pending.append(rule.finding(situation, pointer, header_number, details, **words))

    def drain(self) -> list[Finding]:
        """The findings recorded since the last call."""
        out, self.pending = self.pending, []
        return out


def label(noun: str, name: Any, pointer: str) -> str:
    """How a message names a record: "Customer BRAMBLE", or by pointer if the name is unusable."""
    if isinstance(name, str) and 0 < len(name) <= 40:
        return f"{noun} {name}"
    return f"{noun} at {pointer}"


def day(ordinal: int) -> str:
    """A day ordinal as ``YYYY-MM-DD`` (``?`` when unknown)."""
    return dt.date.fromordinal(ordinal).isoformat() if ordinal > 0 else "?"


def escape(key: str) -> str:
    """A key as a JSON Pointer segment (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def kind_of(value: object) -> str:
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
