"""Streaming access to a sage50-json file: the small sections, then the audit trail."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import ijson

from migrationkit.core.errors import SourceError

__all__ = ["SECTIONS", "iter_transactions", "read_sections"]

SECTIONS = (
    "format",
    "format_version",
    "history_mode",
    "company",
    "nominal_accounts",
    "departments",
    "tax_codes",
    "bank_accounts",
    "customers",
    "suppliers",
    "products",
    "opening_balances",
)
"""Every top-level key except ``transactions``: all small, read in one go."""

_BOM = b"\xef\xbb\xbf"


def _open(path: Path) -> IO[bytes]:
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise SourceError(f"{path} does not exist") from None
    except OSError as exc:
        raise SourceError(f"cannot open {path}: {exc.strerror}") from None
    # The format forbids a byte-order mark (docs/formats/sage50-json.md §1); the validator says
    # so, but the data behind it is readable, so extraction steps over it rather than refusing
    # the file.
    if handle.read(3) != _BOM:
        handle.seek(0)
    return handle


def _unreadable(path: Path, exc: Exception) -> SourceError:
    if os.path.getsize(path) == 0:
        return SourceError(f"{path} is empty")
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "premature EOF" in reason or ("Incomplete" in type(exc).__name__ and "EOF" in reason):
        reason = "the file ends before the JSON is complete (was it cut off while copying?)"
    return SourceError(
        f"{path} is not readable sage50-json: {reason}; run `migrationkit validate` for details"
    )


def _build(first: tuple[str, Any], events: Iterator[tuple[str, str, Any]]) -> Any:
    """Build the value that starts with event ``first`` from the following events."""
    builder = ijson.ObjectBuilder()
    event, value = first
    builder.event(event, value)
    depth = 1 if event in ("start_map", "start_array") else 0
    while depth:
        _prefix, event, value = next(events)
        builder.event(event, value)
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
    return builder.value


def read_sections(path: Path) -> dict[str, Any]:
    """Every top-level section except ``transactions``.

    Stops at the audit trail when everything else came before it (the usual key order), so the
    cost does not grow with the number of transactions.
    """
    found: dict[str, Any] = {}
    try:
        with _open(path) as handle:
            events = iter(ijson.parse(handle, use_float=False))
            first = next(events, None)
            if first is None or first[1] != "start_map":
                raise SourceError(f"{path} does not hold a JSON object at the top level")
            for prefix, event, value in events:
                if prefix != "" or event != "map_key":
                    continue
                if value == "transactions":
                    if all(name in found for name in SECTIONS):
                        break
                    _skip_value(events)
                    continue
                _vprefix, vevent, vvalue = next(events)
                found[value] = _build((vevent, vvalue), events)
    except SourceError:
        raise
    except (ijson.JSONError, UnicodeDecodeError, StopIteration) as exc:
        raise _unreadable(path, exc) from None
    return found


def _skip_value(events: Iterator[tuple[str, str, Any]]) -> None:
    depth = 0
    for _prefix, event, _value in events:
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
        if depth == 0:
            return


def iter_transactions(path: Path) -> Iterator[dict[str, Any]]:
    """Yield each audit-trail header (with its splits and allocations) in file order."""
    try:
        with _open(path) as handle:
            yield from ijson.items(handle, "transactions.item", use_float=False)
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        raise _unreadable(path, exc) from None
