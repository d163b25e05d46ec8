"""Sage's JSON on the wire: amounts as ``Decimal`` both ways, dates, and Sage's error shape.

Sage sends and expects JSON numbers for amounts. The standard library would turn them into
floats, so every body is decoded with ``parse_float=Decimal`` and encoded by :func:`dumps`,
which writes a ``Decimal`` as the plain number it is (``1653.10``, never ``1653.1000000001``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from migrationkit.core import convert
from migrationkit.core.money import as_decimal

__all__ = [
    "SageError",
    "date_text",
    "dumps",
    "error_body",
    "loads",
    "money",
    "opt_date",
    "opt_money",
    "parse_errors",
    "parse_timestamp",
    "required_date",
    "since_text",
    "timestamp_text",
]


def dumps(value: Any) -> bytes:
    """Encode ``value`` as JSON, writing ``Decimal`` as a JSON number and dates as ISO text."""
    return convert.dumps(value, compact=True, default=_sage_value).encode("utf-8")


def _sage_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return timestamp_text(value)
    raise TypeError(f"cannot encode {value!r} as JSON")


def loads(data: bytes | str) -> Any:
    """Decode JSON with every non-integer number as ``Decimal``."""
    if not data:
        return None
    return json.loads(data, parse_float=Decimal)


def money(value: Any) -> Decimal:
    """An amount from the wire (a JSON number, already ``Decimal`` or ``int``, or numeric text)."""
    if isinstance(value, float) and math.isfinite(value):
        raise TypeError(f"amount {value!r} arrived as a float; decode with wire.loads")
    return as_decimal(value)


def opt_money(value: Any) -> Decimal | None:
    return None if value is None else money(value)


def opt_date(value: Any) -> dt.date | None:
    if not value:
        return None
    return dt.date.fromisoformat(str(value)[:10])


def required_date(value: Any) -> dt.date:
    """A date Sage always sends (a document's, a payment's); its absence is an error."""
    found = opt_date(value)
    if found is None:
        raise ValueError("Sage sent a record without its date")
    return found


def date_text(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def timestamp_text(moment: dt.datetime) -> str:
    """``2024-05-01T12:00:00Z``: UTC, whole seconds, as Sage writes its timestamps."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def since_text(moment: dt.datetime) -> str:
    """A delta parameter as the spec writes it: ``YYYY-MM-DDThh:mm:ss(+|-)hh:mm``, in UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def parse_timestamp(text: str) -> dt.datetime:
    """Read a Sage timestamp or a delta parameter (``Z`` or ``+hh:mm`` offsets, date alone)."""
    value = text.strip().replace("Z", "+00:00")
    if len(value) == 10:
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    moment = dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@attrs.frozen
class SageError:
    """One entry of Sage's error array: ``{"$severity", "$dataCode", "$message", "$source"}``."""

    severity: str
    data_code: str
    message: str
    source: str = ""

    def describe(self) -> str:
        where = f" (at {self.source})" if self.source else ""
        return f"{self.message}{where}"


def parse_errors(body: Any) -> list[SageError]:
    """Sage's error entries from a decoded body; an unexpected shape becomes one entry."""
    entries = body if isinstance(body, list) else [body]
    errors = []
    for entry in entries:
        if isinstance(entry, Mapping) and "$dataCode" in entry:
            errors.append(
                SageError(
                    severity=str(entry.get("$severity") or "error"),
                    data_code=str(entry.get("$dataCode") or "Error"),
                    message=str(entry.get("$message") or ""),
                    source=str(entry.get("$source") or ""),
                )
            )
    if not errors:
        errors.append(SageError("error", "UnexpectedResponse", "Sage answered without an error"))
    return errors


def error_body(
    data_code: str, message: str, source: str = "", severity: str = "error"
) -> list[dict[str, str]]:
    """Sage's error array with one entry (the sandbox answers with it)."""
    return [{"$severity": severity, "$dataCode": data_code, "$message": message, "$source": source}]
