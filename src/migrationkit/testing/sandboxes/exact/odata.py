"""The OData v2 a sandbox of Exact Online speaks: ``$filter``, ``$select``, envelopes, dates.

``$filter`` understands what clients of Exact send: comparisons (``eq ne gt ge lt le``) of a
field (or ``trim(Field)``) with a literal (``'text'``, ``guid'…'``, ``datetime'…'``, numbers,
``true``/``false``/``null``), ``substringof('text', Field)`` and ``startswith(Field, 'text')``,
joined by ``and``/``or`` with parentheses. Anything else is a 400, as Exact answers it.
Entities are written with ``__metadata`` and dates as ``/Date(ms)/``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

__all__ = [
    "Invalid",
    "Predicate",
    "error_body",
    "odata_date",
    "parse_filter",
    "project",
    "read_date",
]


class Invalid(Exception):
    """A request Exact refuses: ``status`` and Exact's message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def error_body(message: str) -> dict[str, Any]:
    """OData's error answer, as Exact sends it."""
    return {"error": {"code": "", "message": {"lang": "", "value": message}}}


def odata_date(value: dt.date | dt.datetime | None) -> str | None:
    """``/Date(ms)/`` (UTC milliseconds), Exact's way of writing a date in JSON."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return f"/Date({int(value.timestamp() * 1000)})/"


def read_date(value: Any, field: str) -> dt.date | None:
    """A date in a request body (ISO text, or ``/Date(ms)/``)."""
    if value in (None, ""):
        return None
    text = str(value)
    found = re.fullmatch(r"/Date\((-?\d+)\)/", text)
    try:
        if found:
            return dt.datetime.fromtimestamp(int(found.group(1)) / 1000, dt.UTC).date()
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise Invalid(f"{field}: '{text}' is not a valid date") from None


Predicate = Callable[[Mapping[str, Any]], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<open>\() | (?P<close>\)) | (?P<comma>,)
      | (?P<guid>guid'(?P<guid_value>[0-9a-fA-F-]{36})')
      | (?P<datetime>datetime'(?P<datetime_value>[^']+)')
      | (?P<string>'(?P<string_value>(?:[^']|'')*)')
      | (?P<number>-?\d+(?:\.\d+)?(?:[mMdDlL])?)
      | (?P<word>[A-Za-z_][A-Za-z0-9_/]*)
    )""",
    re.VERBOSE,
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and b is not None and a > b,
    "ge": lambda a, b: a is not None and b is not None and a >= b,
    "lt": lambda a, b: a is not None and b is not None and a < b,
    "le": lambda a, b: a is not None and b is not None and a <= b,
}


_EDM_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?")


def _tokens(text: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise Invalid(f"Syntax error at position {position} in '{text}'.")
        position = match.end()
        kind = match.lastgroup
        if kind in ("guid_value", "guid"):
            found.append(("literal", match.group("guid_value").lower()))
        elif kind in ("datetime", "datetime_value"):
            value = match.group("datetime_value")
            if not _EDM_DATETIME.fullmatch(value):
                # OData v2's Edm.DateTime literal: no offset, no zone, seconds optional.
                raise Invalid(
                    f"Unrecognized 'Edm.DateTime' literal 'datetime'{value}'' in '{text}'."
                )
            moment = dt.datetime.fromisoformat(value)
            found.append(("literal", moment))
        elif kind in ("string", "string_value"):
            found.append(("literal", match.group("string_value").replace("''", "'")))
        elif kind == "number":
            number = match.group("number").rstrip("mMdDlL")
            found.append(("literal", Decimal(number) if "." in number else int(number)))
        elif kind == "word":
            word = match.group("word")
            if word in ("true", "false"):
                found.append(("literal", word == "true"))
            elif word == "null":
                found.append(("literal", None))
            else:
                found.append(("word", word))
        else:
            found.append((kind or "", match.group(0).strip()))
    return found


class _Parser:
    def __init__(self, text: str, fields: Callable[[str], None]) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.position = 0
        self.check_field = fields

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, kind: str | None = None, value: str | None = None) -> tuple[str, Any]:
        token = self.peek()
        if token is None or (kind and token[0] != kind) or (value and token[1] != value):
            raise Invalid(f"Syntax error in '{self.text}'.")
        self.position += 1
        return token

    def parse(self) -> Predicate:
        predicate = self.expression()
        if self.peek() is not None:
            raise Invalid(f"Syntax error in '{self.text}'.")
        return predicate

    def expression(self) -> Predicate:
        left = self.conjunction()
        while self.peek() == ("word", "or"):
            self.take()
            right = self.conjunction()
            left = (lambda a, b: lambda row: a(row) or b(row))(left, right)
        return left

    def conjunction(self) -> Predicate:
        left = self.term()
        while self.peek() == ("word", "and"):
            self.take()
            right = self.term()
            left = (lambda a, b: lambda row: a(row) and b(row))(left, right)
        return left

    def term(self) -> Predicate:
        token = self.peek()
        if token == ("open", "("):
            self.take()
            inner = self.expression()
            self.take("close")
            return inner
        if token and token[0] == "word" and token[1] in ("substringof", "startswith"):
            return self.function()
        value = self.operand()
        operator = self.take("word")[1]
        if operator not in _COMPARE:
            raise Invalid(f"Operator '{operator}' is not supported in '{self.text}'.")
        literal = self.take("literal")[1]
        compare = _COMPARE[operator]
        return lambda row: compare(_comparable(value(row)), literal)

    def operand(self) -> Callable[[Mapping[str, Any]], Any]:
        _kind, word = self.take("word")
        if word == "trim" and self.peek() == ("open", "("):
            self.take()
            field = self.field()
            self.take("close")
            return lambda row: (row.get(field) or "").strip()
        self.position -= 1
        field = self.field()
        return lambda row: row.get(field)

    def field(self) -> str:
        name = str(self.take("word")[1])
        self.check_field(name)
        return name

    def function(self) -> Predicate:
        name = self.take("word")[1]
        self.take("open")
        if name == "substringof":
            needle = self.take("literal")[1]
            self.take("comma")
            field = self.field()
        else:
            field = self.field()
            self.take("comma")
            needle = self.take("literal")[1]
        self.take("close")
        expected = True
        if self.peek() == ("word", "eq"):
            self.take()
            expected = bool(self.take("literal")[1])
        if name == "substringof":
            return lambda row: (str(needle) in str(row.get(field) or "")) is expected
        return lambda row: str(row.get(field) or "").startswith(str(needle)) is expected


def _comparable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str) and len(value) == 36 and value.count("-") == 4:
        return value.lower()
    return value


def parse_filter(text: str, known: Iterable[str]) -> Predicate:
    """A ``$filter`` as a test on stored rows (unknown fields are a 400, as in Exact)."""
    names = set(known)

    def check(name: str) -> None:
        if name not in names:
            raise Invalid(f"No property '{name}' exists in type 'Exact.Web.Api.Models'.")

    return _Parser(text, check).parse()


def project(
    row: Mapping[str, Any],
    select: Sequence[str] | None,
    lines: str | None,
    write: Callable[[str, Any], Any],
) -> dict[str, Any]:
    """The fields of ``row`` a ``$select`` asks for (``Lines/Field`` for those of ``lines``)."""
    top = [s for s in select or () if "/" not in s] if select else list(row)
    if lines and select and lines in select:
        top = [s for s in top if s != lines]
    found = {name: write(name, row.get(name)) for name in top if name in row}
    return found
