"""A fuzz harness for anything that reads user input: a clean result or one of our errors.

:func:`survives` hands a reader bytes as a file; the reader must return (whatever it reads is a
clean result: records, ``Rejected`` items, findings) or raise a
:class:`~migrationkit.MigrationKitError`. Anything else escapes, and hypothesis shrinks the input
that caused it. A new reader (a handoff bundle's, say) needs only a ``Reader``.

:func:`mutations` turns a valid document into many nearly valid ones, which reach much deeper
than random bytes: a value of the wrong kind somewhere in the tree, a key dropped, the text cut
short, a byte changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from migrationkit import MigrationKitError

__all__ = ["FUZZ", "Reader", "json_values", "mutated_json", "mutated_text", "survives"]

Reader = Callable[[Path], object]
"""Reads the file at the path completely (consuming any iterator) and returns anything."""

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
"""Each fuzz test's budget: small enough for the suite, the same examples every run."""


def survives(reader: Reader, path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` and read it: a clean result or a ``MigrationKitError``."""
    path.write_bytes(data)
    try:
        reader(path)
    except MigrationKitError as exc:
        message = str(exc)
        assert message and "\n" not in message.strip(), f"not one line: {message!r}"


json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["", "0", "-1", "1e999", "2024-02-30", "GBP", "T1", "12.345", "NaN"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
"""Any JSON value, with the awkward ones a reader meets (invalid dates, huge numbers)."""


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*here, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*here, index))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any, drop: bool) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        copy = dict(value)
        if drop and not rest:
            copy.pop(head, None)
        else:
            copy[head] = _replace(value[head], rest, new, drop)
        return copy
    copy_list = list(value)
    if drop and not rest:
        del copy_list[head]
    else:
        copy_list[head] = _replace(value[head], rest, new, drop)
    return copy_list


@st.composite
def mutated_json(draw: st.DrawFn, document: Any) -> bytes:
    """``document`` as JSON bytes, changed in one to three places."""
    value = document
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(value)
        path = draw(st.sampled_from(paths))
        drop = bool(path) and draw(st.booleans())
        value = _replace(value, path, None if drop else draw(json_values), drop)
    data = json.dumps(value).encode()
    return draw(mutated_text(data, changes=st.integers(min_value=0, max_value=1)))


@st.composite
def mutated_text(
    draw: st.DrawFn,
    data: bytes,
    changes: st.SearchStrategy[int] | None = None,
) -> bytes:
    """``data`` with bytes changed, inserted or the end cut off."""
    buffer = bytearray(data)
    count = draw(changes if changes is not None else st.integers(min_value=1, max_value=4))
    for _ in range(count):
        if not buffer:
            break
        where = draw(st.integers(min_value=0, max_value=len(buffer) - 1))
        action = draw(st.sampled_from(["change", "insert", "cut"]))
        if action == "cut":
            del buffer[where:]
        elif action == "insert":
            buffer[where:where] = draw(st.binary(min_size=1, max_size=4))
        else:
            buffer[where] = draw(st.integers(min_value=0, max_value=255))
    return bytes(buffer)
