"""One cattrs converter for everything that crosses a text boundary.

It structures config files and connector options (strictly: an unknown key or a value of the
wrong type is a :class:`~migrationkit.core.errors.ConfigError` of one line naming the place,
the key and what was expected), and turns canonical records and report values into JSON-ready
data and back (amounts as decimal text, never float; dates as ISO text).

:func:`dumps` is the one Decimal-aware JSON writer: amounts go out as JSON numbers written
exactly as the ``Decimal`` holds them.
"""

from __future__ import annotations

import collections.abc
import datetime as dt
import difflib
import enum
import json
import os
import re
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from .errors import ConfigError
from .money import as_decimal, money_text
from .redaction import redact, secret_fields

__all__ = [
    "converter",
    "dumps",
    "from_json",
    "option_names",
    "structure_options",
    "to_json",
    "unknown_key_message",
]

T = TypeVar("T")


class WrongType(TypeError):
    """A value that is not of the type a field wants; ``expected`` is said in words."""

    def __init__(self, expected: str, value: object) -> None:
        super().__init__(f"expected {expected}, got {_shown(value)}")
        self.expected = expected
        self.value = value


def _kind(value: object) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a text"}.get(
        type(value), f"a {type(value).__name__}"
    )


def _shown(value: object) -> str:
    text = repr(value)
    return f"{text[:40]}{'…' if len(text) > 40 else ''} ({_kind(value)})"


# -- strict scalar hooks: TOML and JSON give typed values; nothing is guessed ------------------


def _str(value: object, type_: object) -> Any:
    if type_ is not str and isinstance(type_, type) and issubclass(type_, enum.Enum):
        # A StrEnum is a str: dispatch lands here, and the value must become the member.
        return _enum(value, type_)
    if not isinstance(value, str):
        raise WrongType("a text (in quotes)", value)
    return value


def _int(value: object, _type: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise WrongType("an integer", value)
    return value


def _float(value: object, _type: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WrongType("a number", value)
    return float(value)


_SWITCH_WORDS = {"true": True, "yes": True, "on": True, "1": True}
_SWITCH_WORDS.update({"false": False, "no": False, "off": False, "0": False})


def _bool(value: object, _type: object) -> bool:
    # A switch written as a word ("false", "No") reads as the switch it names; nothing else.
    if isinstance(value, str) and value.strip().lower() in _SWITCH_WORDS:
        return _SWITCH_WORDS[value.strip().lower()]
    if not isinstance(value, bool):
        raise WrongType("true or false", value)
    return value


def _decimal(value: object, _type: object) -> Decimal:
    try:
        return as_decimal(value)
    except (TypeError, ValueError):
        raise WrongType("an amount (decimal text or integer, never a float)", value) from None


def _date(value: object, _type: object) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise WrongType("a date (YYYY-MM-DD)", value)


def _datetime(value: object, _type: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            pass
    raise WrongType("a date and time (ISO 8601)", value)


def _path(value: object, _type: object) -> Path:
    if isinstance(value, str | os.PathLike):
        return Path(value)
    raise WrongType("a path", value)


def _enum(value: object, cls: type[enum.Enum]) -> enum.Enum:
    try:
        return cls(value)
    except ValueError:
        choices = ", ".join(repr(m.value) for m in cls)
        raise WrongType(f"one of {choices}", value) from None


def _is_callable_type(tp: object) -> bool:
    return tp is Callable or typing.get_origin(tp) is collections.abc.Callable


def _callable(value: object, _type: object) -> object:
    # Programmatic options only (observers, hooks): a config file cannot hold one.
    if not callable(value):
        raise WrongType("a function", value)
    return value


def _make_converter() -> cattrs.Converter:
    made = cattrs.Converter(forbid_extra_keys=True)
    made.register_structure_hook(str, _str)
    made.register_structure_hook(int, _int)
    made.register_structure_hook(float, _float)
    made.register_structure_hook(bool, _bool)
    made.register_structure_hook(Decimal, _decimal)
    made.register_structure_hook(dt.datetime, _datetime)
    made.register_structure_hook(dt.date, _date)
    made.register_structure_hook(Path, _path)
    made.register_structure_hook_func(
        lambda tp: isinstance(tp, type) and issubclass(tp, enum.Enum), _enum
    )
    made.register_structure_hook_func(_is_callable_type, _callable)
    made.register_structure_hook(Any, lambda value, _type: value)

    made.register_unstructure_hook(Decimal, money_text)
    made.register_unstructure_hook(dt.datetime, lambda value: value.isoformat())
    made.register_unstructure_hook(dt.date, lambda value: value.isoformat())
    made.register_unstructure_hook(Path, str)
    made.register_unstructure_hook(
        frozenset, lambda value: sorted(made.unstructure(v) for v in value)
    )
    return made


converter = _make_converter()
"""The converter: strict on the way in, JSON-ready on the way out."""


# -- options and config tables ------------------------------------------------------------------


def option_names(cls: type) -> list[str]:
    """The keys an options class takes (its attrs fields, by their init names)."""
    return [field.alias or field.name for field in attrs.fields(cls)]


def unknown_key_message(key: str, valid: list[str], where: str) -> str:
    """ "unknown option 'smaple' in [migration] of m.toml; did you mean 'sample'?"."""
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else f"valid: {', '.join(sorted(valid))}"
    return f"unknown option {key!r} in {where}; {hint}"


def structure_options(cls: type[T], data: Mapping[str, Any], *, where: str) -> T:
    """Build an options class from a table, or raise a one-line :class:`ConfigError`.

    ``where`` says where the table came from (``"[migration] of m.toml"``, ``"connector
    xero"``) and goes into the message with the key and what was expected.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be a table of options, not {_shown(data)}")
    valid = option_names(cls)
    for key in data:
        if key not in valid:
            raise ConfigError(unknown_key_message(str(key), valid, where))
    try:
        return converter.structure(dict(data), cls)
    except ClassValidationError as exc:
        raise ConfigError(_describe(exc, where, hidden=frozenset(secret_fields(cls)))) from None
    except (TypeError, ValueError) as exc:
        # An attrs validator of the options class refused a value.
        raise ConfigError(redact(f"{where}: {exc}")) from None


def _describe(
    exc: BaseException, where: str, path: str = "", *, hidden: frozenset[str] = frozenset()
) -> str:
    """The first failure inside a cattrs error group, as one line.

    The value of a field in ``hidden`` (a secret option) is never shown, only its kind.
    """
    if isinstance(exc, ForbiddenExtraKeysError):
        key = sorted(exc.extra_fields)[0]
        return unknown_key_message(key, option_names(exc.cl), f"{path or 'a table'} in {where}")
    if isinstance(exc, ClassValidationError | IterableValidationError):
        for inner in exc.exceptions:
            step = path
            for note in getattr(inner, "__notes__", ()):
                name = getattr(note, "name", None)
                index = getattr(note, "index", None)
                if name is not None:
                    step = f"{path}.{name}" if path else str(name)
                elif isinstance(index, int):
                    step = f"{path}[{index}]"
                elif index is not None:
                    step = f"{path}.{index}"
            return _describe(inner, where, step, hidden=hidden)
    what = f"option {path!r} in {where}" if path else where
    if isinstance(exc, WrongType):
        secret = path.split(".", 1)[0].split("[", 1)[0] in hidden
        shown = _kind(exc.value) if secret else _shown(exc.value)
        return f"{what} must be {exc.expected}, not {shown}"
    return redact(f"{what}: {exc}")


# -- JSON ----------------------------------------------------------------------------------------

# The standard encoder cannot write a Decimal as a number: each one goes out as a marked string,
# and the marks (a NUL can only appear escaped in JSON text) are then taken off.
_MARK = "\x00mk-decimal:"
_MARKED = re.compile(r'"\\u0000mk-decimal:(-?[0-9]+(?:\.[0-9]+)?(?:E[+-]?[0-9]+)?)"')


def _refuse_floats(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError(f"refusing to write the float {value!r}; amounts must be Decimal")
    if isinstance(value, dict):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_floats(item)


def _standard(value: object) -> object:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, Path):
        return str(value)
    if attrs.has(type(value)):
        return converter.unstructure(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(
    value: Any,
    *,
    indent: int | None = None,
    compact: bool = False,
    strict: bool = True,
    default: Callable[[Any], Any] | None = None,
) -> str:
    """JSON text in which every ``Decimal`` is a number written exactly as it is held.

    Dates and date-times become ISO text, enums their values, attrs instances their
    unstructured form; ``default`` turns any other type (a wire format's own) into one of
    those first. ``strict`` refuses a float anywhere in ``value``: it has already lost the
    exact amount.
    """
    if strict:
        _refuse_floats(value)

    def fallback(item: Any) -> Any:
        if isinstance(item, Decimal):
            if not item.is_finite():
                raise ValueError(f"{item} is not an amount")
            # A negative zero is no amount any system wants to see.
            return _MARK + money_text(item.copy_abs() if item.is_zero() else item)
        if default is not None:
            try:
                return default(item)
            except TypeError:
                pass
        return _standard(item)

    text = json.dumps(
        value,
        ensure_ascii=False,
        indent=indent,
        separators=(",", ":") if compact else None,
        default=fallback,
    )
    return _MARKED.sub(r"\1", text)


def to_json(value: Any) -> str:
    """A record (or any attrs value) as compact JSON, amounts as decimal text."""
    return dumps(converter.unstructure(value), compact=True)


def from_json(text: str | bytes, cls: type[T]) -> T:
    """The inverse of :func:`to_json`; a malformed value raises ``cattrs`` errors."""
    return converter.structure(json.loads(text), cls)
