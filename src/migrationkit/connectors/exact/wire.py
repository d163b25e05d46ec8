"""Exact Online's values on the wire: OData v2 JSON, amounts, dates, codes and errors.

Exact answers in OData v2 "verbose" JSON: one entity is ``{"d": {...}}``, a collection is
``{"d": {"results": [...], "__next": "<url>"}}``, and an expanded collection inside an entity
is ``{"results": [...]}`` (with its own ``__next`` when Exact cut it short). Amounts are JSON
numbers; every body is decoded with ``parse_float=Decimal`` so an amount never passes through a
float. Dates come back as ``/Date(1680307200000)/`` (milliseconds since the epoch, UTC) and go
out as ISO text. Errors are OData's ``{"error": {"code", "message": {"lang", "value"}}}``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from migrationkit.core import convert
from migrationkit.core.money import ZERO, as_decimal

__all__ = [
    "ACCOUNT_CODE_LENGTH",
    "account_code",
    "chunks",
    "date_text",
    "datetime_literal",
    "dumps",
    "error_message",
    "guid_literal",
    "loads",
    "money",
    "nested",
    "numeric_code",
    "odata_date",
    "opt_date",
    "opt_money",
    "required_date",
    "rows",
    "string_literal",
]

ACCOUNT_CODE_LENGTH = 18
"""crm/Accounts ``Code``: a numeric string right-aligned in 18 characters (leading spaces)."""

_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


def dumps(value: Any) -> bytes:
    """A body as Exact takes it: ``Decimal`` as a JSON number, dates as ISO text."""
    return convert.dumps(value, compact=True).encode("utf-8")


def loads(data: bytes | str) -> Any:
    """Decode JSON with every non-integer number as ``Decimal``."""
    if not data:
        return None
    return json.loads(data, parse_float=Decimal)


def rows(body: Any) -> tuple[list[dict[str, Any]], str | None]:
    """The entities of a collection answer and the link to the next page, if any."""
    data = (body or {}).get("d", body) if isinstance(body, Mapping) else None
    if isinstance(data, Mapping) and "results" in data:
        return list(data.get("results") or []), data.get("__next") or None
    if isinstance(data, list):
        return list(data), None
    return ([dict(data)] if isinstance(data, Mapping) else []), None


def nested(value: Any) -> tuple[list[dict[str, Any]], str | None]:
    """An expanded collection inside an entity: its rows and its ``__next``, if Exact cut it."""
    if isinstance(value, Mapping):
        return list(value.get("results") or []), value.get("__next") or None
    if isinstance(value, list):
        return list(value), None
    return [], None


def money(value: Any) -> Decimal:
    """An amount from the wire (a JSON number already ``Decimal``, an ``int``, numeric text)."""
    if value is None:
        return ZERO
    if isinstance(value, float):
        raise TypeError(f"{value!r} is not an amount; decode bodies with wire.loads")
    return as_decimal(value)


def opt_money(value: Any) -> Decimal | None:
    return None if value is None else money(value)


def odata_date(value: Any) -> dt.datetime | None:
    """A moment from ``/Date(ms)/`` or ISO text (``None`` for nothing)."""
    if value in (None, ""):
        return None
    text = str(value)
    found = _DATE.fullmatch(text)
    if found:
        return dt.datetime.fromtimestamp(int(found.group(1)) / 1000, dt.UTC)
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def opt_date(value: Any) -> dt.date | None:
    moment = odata_date(value)
    return moment.date() if moment else None


def required_date(value: Any) -> dt.date:
    """A date Exact always sends (an entry's, a line's); its absence is an error."""
    found = opt_date(value)
    if found is None:
        raise ValueError("Exact sent an entry without its date")
    return found


def date_text(value: dt.date | None) -> str | None:
    """A date as Exact takes it in a body (``2024-04-01T00:00:00``)."""
    return f"{value.isoformat()}T00:00:00" if value else None


def guid_literal(value: str) -> str:
    """``guid'…'`` for a ``$filter``."""
    return f"guid'{value}'"


def datetime_literal(value: dt.datetime | dt.date) -> str:
    """``datetime'2024-04-01T00:00:00'`` for a ``$filter`` (UTC, no offset)."""
    if isinstance(value, dt.datetime):
        moment = value.astimezone(dt.UTC) if value.tzinfo else value
        return f"datetime'{moment.strftime('%Y-%m-%dT%H:%M:%S')}'"
    return f"datetime'{value.isoformat()}T00:00:00'"


def string_literal(value: str) -> str:
    """A quoted OData string, quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def numeric_code(code: str | None) -> bool:
    """Whether ``code`` can be an Exact relation code (digits, at most 18)."""
    return bool(code) and str(code).isdigit() and len(str(code)) <= ACCOUNT_CODE_LENGTH


def account_code(code: str) -> str:
    """A relation code as Exact keeps it: right-aligned in 18 characters."""
    return str(code).strip().rjust(ACCOUNT_CODE_LENGTH)


def error_message(body: Any) -> str:
    """The text of an OData error answer (or a short description of an unexpected one)."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, Mapping):
        message = error.get("message")
        if isinstance(message, Mapping):
            return str(message.get("value") or "").strip() or "Exact gave no reason"
        if message:
            return str(message)
    return "Exact answered without an OData error"


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    """``items`` in lists of at most ``size`` (ids per ``$filter``)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
