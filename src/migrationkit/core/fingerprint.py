"""Content fingerprints: a hash of a canonical serialisation of a record.

Two records with the same content have the same fingerprint whatever the path they took:
fields in a fixed order, amounts normalised (``Decimal("1.50")`` and ``Decimal("1.5")`` hash
alike), dates in ISO form, enumerations by value, text quoted unambiguously. The record's key is
identity, not content, and is left out. Full and delta runs compare fingerprints to tell
unchanged from changed records.

Every record of a million-record run is fingerprinted, so the serialiser of each class is
generated once from its attrs fields and compiled: no per-value type dispatch at run time.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import types
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

from .model import Record

__all__ = ["canonical_text", "fingerprint"]

_Encoder = Callable[[Any], str]
_ENCODERS: dict[type, _Encoder] = {}


def _decimal(value: Decimal) -> str:
    """Exact plain text with no trailing zeros: ``1.50``, ``1.5`` and ``1.500`` alike.

    No context rounding (``Decimal.normalize`` would round past 28 digits).
    """
    text = str(value)
    if "E" in text:
        text = format(value, "f")  # exponent form (``1E+2``, ``0E-8``): rare
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _any(value: Any) -> str:
    """The slow path, for values whose field type does not say what they are."""
    if value is None:
        return "~"
    if isinstance(value, enum.Enum):
        return repr(str(value.value))
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return "[" + ",".join(_any(item) for item in value) + "]"
    if attrs.has(type(value)):
        return _encoder_for(type(value))(value)
    raise TypeError(f"cannot fingerprint {value!r}")


def _enum_text(value: Any) -> str:
    return repr(str(getattr(value, "value", value)))


def _expression(name: str, tp: Any, helpers: dict[str, Any]) -> str:
    """Python source that serialises ``v.<name>`` of type ``tp``, without double quotes."""
    access = f"v.{name}"
    optional = False
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) != len(typing.get_args(tp))
        tp = args[0] if len(args) == 1 else Any
    if tp is str:
        body = f"repr({access})"
    elif tp is Decimal:
        body = f"_decimal({access})"
    elif tp is bool:
        body = f"('T' if {access} else 'F')"
    elif tp is int:
        body = f"str({access})"
    elif tp is dt.date:
        body = f"{access}.isoformat()"
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        # By value, as text: an enum member and its plain value fingerprint alike.
        body = f"_enum_text({access})"
    elif typing.get_origin(tp) is tuple:
        (inner, _ellipsis) = typing.get_args(tp)
        helper = f"_enc_{inner.__name__}" if attrs.has(inner) else "_any"
        helpers[helper] = _encoder_for(inner) if attrs.has(inner) else _any
        body = f"'[' + ','.join([{helper}(x) for x in {access}]) + ']'"
    elif isinstance(tp, type) and attrs.has(tp):
        helper = f"_enc_{tp.__name__}"
        helpers[helper] = _encoder_for(tp)
        body = f"{helper}({access})"
    else:
        body = f"_any({access})"
    if optional:
        return f"('~' if {access} is None else {body})"
    return body


def _encoder_for(cls: type) -> _Encoder:
    encoder = _ENCODERS.get(cls)
    if encoder is not None:
        return encoder
    hints = attrs.resolve_types(cls)
    helpers: dict[str, Any] = {"_decimal": _decimal, "_any": _any, "_enum_text": _enum_text}
    parts = [
        _expression(field.name, field.type, helpers)
        for field in attrs.fields(hints)
        if field.name != "key"
    ]
    # One f-string: the pieces are joined in a single step, with no intermediate strings.
    body = ",".join("{" + part + "}" for part in parts)
    source = f'def encode(v):\n    return f"{{{{{body}}}}}"\n'
    namespace: dict[str, Any] = dict(helpers)
    exec(compile(source, f"<fingerprint of {cls.__name__}>", "exec"), namespace)
    encoder = typing.cast(_Encoder, namespace["encode"])
    _ENCODERS[cls] = encoder
    return encoder


def canonical_text(record: Record) -> str:
    """The canonical serialisation the fingerprint hashes (useful when debugging a change)."""
    return record.entity + ":" + _encoder_for(type(record))(record)


def fingerprint(record: Record) -> str:
    """A 128-bit hex digest of the record's content."""
    text = record.entity + ":" + _encoder_for(type(record))(record)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
