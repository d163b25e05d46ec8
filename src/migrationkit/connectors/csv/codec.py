"""Flat rows to and from canonical records, derived from the model's own field definitions.

Each entity is one file. Scalar fields are columns named like the field; an address becomes
``address_line1`` … ``address_country``; a document's lines become one row each, with the
document's columns repeated and the line's columns prefixed ``line_`` (a tracking category's
options likewise with ``option_``); allocations go to ``allocations.csv``. Because the layout is
derived from the model, a field added to the model appears in the files without more code.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from migrationkit.core.errors import MappingError
from migrationkit.core.model import (
    RECORD_TYPES,
    Address,
    Allocation,
    Record,
    TrackingAssignment,
)
from migrationkit.core.money import MoneyFormatError, money_text, parse_money

__all__ = ["ALLOCATION_COLUMNS", "EntityCodec", "Scalars", "codec_for"]

Encoder = Callable[[Any], str]
Decoder = Callable[[str], Any]

ALLOCATION_COLUMNS = ("entity", "key", "document_entity", "document", "amount", "date")
_NESTED_PREFIX = {"lines": "line_", "options": "option_"}
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


@attrs.frozen
class Scalars:
    """How text cells are read: the decimal mark and accepted date formats."""

    decimal_mark: str = "."
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)

    def decimal(self, text: str) -> Decimal:
        thousands = "," if self.decimal_mark == "." else "."
        try:
            return parse_money(text, decimal_mark=self.decimal_mark, thousands=thousands)
        except MoneyFormatError as exc:
            raise MappingError(str(exc)) from None

    def date(self, text: str) -> dt.date:
        for fmt in self.date_formats:
            try:
                return dt.datetime.strptime(text.strip(), fmt).date()
            except ValueError:
                continue
        raise MappingError(f"{text!r} is not a date ({' or '.join(self.date_formats)})")


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise MappingError(f"{text!r} is not true or false")


def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise MappingError(f"{text!r} is not a whole number") from None


# Tracking choices fit one cell: "category=option|category=option", with "\" escaping the
# three separators so that any key survives the round trip.
def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("=", "\\=")


def _split_escaped(text: str, separator: str) -> list[str]:
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _encode_tracking(value: tuple[TrackingAssignment, ...]) -> str:
    return "|".join(_escape(t.category) + "=" + _escape(t.option) for t in value)


def _decode_tracking(text: str) -> tuple[TrackingAssignment, ...]:
    if not text:
        return ()
    choices = []
    for pair in _split_pairs(text):
        category, option = pair
        choices.append(TrackingAssignment(category=category, option=option))
    return tuple(choices)


def _split_pairs(text: str) -> Iterator[tuple[str, str]]:
    # Split on unescaped "|" first, then on the first unescaped "=" of each part.
    raw_parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "|":
            raw_parts.append("".join(current))
            current = []
        else:
            current.append(char)
    raw_parts.append("".join(current))
    for part in raw_parts:
        pieces = _split_escaped(part, "=")
        if len(pieces) != 2:
            raise MappingError(f"tracking {part!r} is not category=option")
        yield pieces[0], pieces[1]


@attrs.frozen
class _Column:
    name: str
    path: tuple[str, ...]
    encode: Encoder
    decode: Decoder
    required: bool


def _optional(tp: Any) -> tuple[Any, bool]:
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _same(value: str) -> str:
    return value


def _iso(value: dt.date) -> str:
    return value.isoformat()


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


def _enum_value(value: enum.Enum) -> str:
    return str(value.value)


# The same conversions as Python expressions of ``x``, inlined by the compiled row encoders.
_INLINE: dict[Any, str] = {
    _same: "{x}",
    money_text: "format({x}, 'f')",
    _iso: "{x}.isoformat()",
    _bool_text: "('true' if {x} else 'false')",
    _enum_value: "str({x}.value)",
    str: "str({x})",
}


def _scalar_codec(tp: Any, scalars: Scalars) -> tuple[Encoder, Decoder]:
    if tp is str:
        return _same, _same
    if tp is Decimal:
        return money_text, scalars.decimal
    if tp is bool:
        return _bool_text, _bool
    if tp is int:
        return str, _int
    if tp is dt.date:
        return _iso, scalars.date
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        enum_type = tp

        def decode_enum(text: str) -> Any:
            try:
                return enum_type(text.strip())
            except ValueError:
                allowed = ", ".join(str(m.value) for m in enum_type)
                raise MappingError(f"{text!r} is not one of {allowed}") from None

        return _enum_value, decode_enum
    if tp == tuple[TrackingAssignment, ...]:
        return _encode_tracking, _decode_tracking
    raise TypeError(f"no CSV cell format for {tp!r}")


def _columns(cls: type, prefix: str, scalars: Scalars, skip: Iterable[str]) -> list[_Column]:
    hints = attrs.resolve_types(cls)
    columns: list[_Column] = []
    for field in attrs.fields(hints):
        if field.name in skip:
            continue
        tp, optional = _optional(field.type)
        if tp is Address:
            for sub in attrs.fields(Address):
                encode, decode = _scalar_codec(str, scalars)
                columns.append(
                    _Column(
                        f"{prefix}{field.name}_{sub.name}",
                        (field.name, sub.name),
                        encode,
                        decode,
                        False,
                    )
                )
            continue
        encode, decode = _scalar_codec(tp, scalars)
        required = not optional and field.default is attrs.NOTHING
        columns.append(_Column(prefix + field.name, (field.name,), encode, decode, required))
    return columns


def _nested_type(cls: type, name: str) -> type:
    hints = attrs.resolve_types(cls)
    field = attrs.fields_dict(hints)[name]
    (inner, _ellipsis) = typing.get_args(field.type)
    return typing.cast(type, inner)


class EntityCodec:
    """The file layout of one entity and the conversions between its rows and records."""

    def __init__(self, entity: str, scalars: Scalars) -> None:
        self.entity = entity
        self.cls = RECORD_TYPES[entity]
        names = {f.name for f in attrs.fields(self.cls)}
        self.nested = next((name for name in _NESTED_PREFIX if name in names), None)
        self.has_allocations = "allocations" in names
        skip = {"allocations"} | ({self.nested} if self.nested else set())
        self.columns = _columns(self.cls, "", scalars, skip)
        self.nested_cls: type | None = None
        self.nested_columns: list[_Column] = []
        if self.nested:
            self.nested_cls = _nested_type(self.cls, self.nested)
            self.nested_columns = _columns(
                self.nested_cls, _NESTED_PREFIX[self.nested], scalars, ()
            )
        self.header = [c.name for c in self.columns] + [c.name for c in self.nested_columns]
        self._scalars = scalars

    # -- writing -------------------------------------------------------------------------------

    @functools.cached_property
    def _head(self) -> Callable[[Any], list[str]]:
        return _row_encoder(self.columns, f"{self.entity} row")

    @functools.cached_property
    def _child(self) -> Callable[[Any], list[str]]:
        return _row_encoder(self.nested_columns, f"{self.entity} line")

    def rows(self, record: Record) -> list[list[str]]:
        """The rows of one record (one per nested line, at least one)."""
        head = self._head(record)
        if not self.nested:
            return [head]
        children = getattr(record, self.nested)
        if not children:
            return [head + [""] * len(self.nested_columns)]
        child = self._child
        return [head + child(item) for item in children]

    def allocation_rows(self, record: Record) -> list[list[str]]:
        if not self.has_allocations:
            return []
        allocations: tuple[Allocation, ...] = getattr(record, "allocations", ())
        return [
            [
                self.entity,
                record.key,
                a.document_entity,
                a.document,
                money_text(a.amount),
                a.date.isoformat() if a.date else "",
            ]
            for a in allocations
        ]

    # -- reading -------------------------------------------------------------------------------

    def missing_columns(self, header: Sequence[str]) -> list[str]:
        present = set(header)
        return [c.name for c in self.columns if c.required and c.name not in present]

    def record(
        self, rows: Sequence[Mapping[str, str]], allocations: Sequence[Allocation] = ()
    ) -> Record:
        """Build one record from its rows (all sharing a key) and its allocations."""
        first = rows[0]
        values = _decode_into(self.columns, first)
        for later in rows[1:]:
            for column in self.columns:
                if later.get(column.name, "") != first.get(column.name, ""):
                    raise MappingError(
                        f"column {column.name} differs between rows of the same record "
                        f"({first.get(column.name, '')!r} and {later.get(column.name, '')!r})"
                    )
        if self.nested and self.nested_cls is not None:
            marker = self.nested_columns[0].name
            children = []
            for row in rows:
                if not any(row.get(c.name, "") for c in self.nested_columns):
                    continue
                try:
                    children.append(self.nested_cls(**_decode_into(self.nested_columns, row)))
                except (TypeError, ValueError) as exc:
                    raise MappingError(
                        f"a {marker.split('_')[0]} row is incomplete: {exc}"
                    ) from None
            values[self.nested] = tuple(children)
        if self.has_allocations:
            values["allocations"] = tuple(allocations)
        try:
            return self.cls(**values)
        except (TypeError, ValueError) as exc:
            raise MappingError(str(exc)) from None

    def allocation(self, row: Mapping[str, str]) -> Allocation:
        date = row.get("date", "")
        return Allocation(
            document_entity=row["document_entity"],
            document=row["document"],
            amount=self._scalars.decimal(row["amount"]),
            date=self._scalars.date(date) if date else None,
        )


def _row_encoder(columns: Sequence[_Column], name: str) -> Callable[[Any], list[str]]:
    """Compile one function that turns an object into its cells, column by column.

    A million records each write a row per line, so the per-cell dispatch is done once here.
    """
    namespace: dict[str, Any] = {}
    cells = []
    for n, column in enumerate(columns):
        access = "v." + ".".join(column.path)
        inline = _INLINE.get(column.encode)
        if inline is None:
            namespace[f"e{n}"] = column.encode
            inline = f"e{n}({{x}})"
        cell = inline.replace("{x}", f"x{n}")
        cells.append(f"('' if (x{n} := {access}) is None else {cell})")
    source = "def encode(v):\n    return [" + ", ".join(cells) + "]\n"
    exec(compile(source, f"<csv {name}>", "exec"), namespace)
    return typing.cast(Callable[[Any], list[str]], namespace["encode"])


def _decode_into(columns: Sequence[_Column], row: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    addresses: dict[str, dict[str, Any]] = {}
    for column in columns:
        text = row.get(column.name, "")
        if text == "" and not column.required:
            # Empty means absent: the field keeps its default (None, "", (), GBP ...).
            value: Any = None
        else:
            try:
                value = column.decode(text)
            except MappingError as exc:
                raise MappingError(f"column {column.name}: {exc}") from None
        if len(column.path) == 2:
            addresses.setdefault(column.path[0], {})[column.path[1]] = value
        elif value is not None or column.required:
            values[column.path[0]] = value
    for name, parts in addresses.items():
        values[name] = Address(**parts)
    return values


_CODECS: dict[tuple[str, Scalars], EntityCodec] = {}


def codec_for(entity: str, scalars: Scalars | None = None) -> EntityCodec:
    """The (cached) codec of ``entity`` under ``scalars``."""
    scalars = scalars or Scalars()
    codec = _CODECS.get((entity, scalars))
    if codec is None:
        codec = _CODECS[(entity, scalars)] = EntityCodec(entity, scalars)
    return codec
