"""Content fingerprints: a hash of a canonical serialisation of a record.

Two records with the same content have the same fingerprint whatever the path they took:
fields in a fixed order, amounts normalised (``Decimal("1.50")`` and ``Decimal("1.5")`` hash
alike), dates in ISO form, enumerations by value. The record's key is identity, not content, and
is left out. Full and delta runs compare fingerprints to tell unchanged from changed records.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

from .model import Record

__all__ = ["canonical_text", "fingerprint"]

_Encoder = Callable[[Any], str]
_ENCODERS: dict[type, _Encoder] = {}


def _decimal(value: Decimal) -> str:
    if not value:
        return "0"
    text = format(value.normalize(), "f")
    return text


def _scalar(value: Any) -> str:
    # Ordered by how often each kind turns up in records.
    if value is None:
        return "~"
    if isinstance(value, str):
        # Escape the separators so that no two different records serialise alike.
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return "[" + ",".join(_encode(item) for item in value) + "]"
    if attrs.has(type(value)):
        return _encoder_for(type(value))(value)
    raise TypeError(f"cannot fingerprint {value!r}")


def _encode(value: Any) -> str:
    encoder = _ENCODERS.get(type(value))
    if encoder is not None:
        return encoder(value)
    return _scalar(value)


def _encoder_for(cls: type) -> _Encoder:
    encoder = _ENCODERS.get(cls)
    if encoder is not None:
        return encoder
    names = tuple(f.name for f in attrs.fields(cls) if f.name != "key")

    def encode(value: Any) -> str:
        return "{" + ",".join(_encode(getattr(value, name)) for name in names) + "}"

    _ENCODERS[cls] = encode
    return encode


def canonical_text(record: Record) -> str:
    """The canonical serialisation the fingerprint hashes (useful when debugging a change)."""
    return record.entity + ":" + _encoder_for(type(record))(record)


def fingerprint(record: Record) -> str:
    """A 128-bit hex digest of the record's content."""
    return hashlib.blake2b(canonical_text(record).encode("utf-8"), digest_size=16).hexdigest()
