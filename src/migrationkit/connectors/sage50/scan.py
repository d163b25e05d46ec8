"""Finding the audit trail's elements in any layout, with their byte offsets.

An export written one transaction per line can be filed by its lines; one written as a single
compact line, or pretty-printed, cannot. :class:`TrailElements` reads the ``transactions``
array in large chunks and lets the standard library's C decoder (``raw_decode``) find where each
element ends, so every layout is read at the decoder's speed, in flat memory, and each element
comes with its parsed value, its byte offset and its bytes (to seek back to it later and to
digest it).

It reads only JSON it is sure of: anything the decoder refuses (a syntax error, a ``NaN``, bytes
that are not UTF-8, an element larger than :data:`LARGEST`) stops it with :class:`Irregular`,
and the caller reads on with the streaming parser, which says exactly what is wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import IO, Any

__all__ = ["ELEMENT_LIMIT", "Irregular", "TrailElements", "find_trail"]

CHUNK = 1 << 20
ELEMENT_LIMIT = 8 << 20
"""An element larger than this is not scanned here (a transaction is a few kilobytes)."""
_HEAD_LIMIT = 64 << 20  # how far into the file the trail may start

_BOM = b"\xef\xbb\xbf"
_WS = re.compile(r"[ \t\r\n]*")


class Irregular(Exception):
    """The bytes are not JSON this scanner reads; the streaming parser reads them instead."""


def _skip_ws(text: str, at: int) -> int:
    """The index of the first character at or after ``at`` that is not JSON whitespace."""
    found = _WS.match(text, at)
    return found.end() if found is not None else at


def _constant(name: str) -> Any:
    raise Irregular(f"{name} is not JSON")


# Amounts are strings; a number where an amount belongs stays exact (as the streaming parser
# keeps it), and NaN or Infinity, which JSON does not have, stop the scan.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_constant)


def _whole_characters(chunk: bytes) -> int:
    """Where ``chunk`` stops holding whole UTF-8 characters (a read may cut the last one)."""
    for back in range(1, min(4, len(chunk)) + 1):
        byte = chunk[-back]
        if byte < 0x80:
            return len(chunk)
        if byte >= 0xC0:
            return len(chunk) - back
    return len(chunk)


class _Window:
    """A stretch of the file as text, with the byte offset of any of its characters."""

    def __init__(self, handle: IO[bytes], start: int) -> None:
        self.handle = handle
        self.base = start  # byte offset of text[0] in the file
        self.data = b""  # the bytes of text
        self.text = ""
        self._pending = b""  # the start of a character cut by the last read
        self._char = self._byte = 0  # a character index and its byte offset from base
        handle.seek(start)

    def byte(self, index: int) -> int:
        """The byte offset from ``base`` of character ``index`` (asked in increasing order)."""
        if self.text.isascii():
            return index
        found = self._byte + len(self.text[self._char : index].encode("utf-8"))
        self._char, self._byte = index, found
        return found

    def drop(self, index: int) -> None:
        """Forget the first ``index`` characters."""
        if index:
            cut = self.byte(index)
            self.base += cut
            self.data = self.data[cut:]
            self.text = self.text[index:]
            self._char = self._byte = 0

    def more(self) -> None:
        """Read the next chunk; Irregular at the end of the file or past ELEMENT_LIMIT."""
        chunk = self.handle.read(CHUNK)
        if not chunk:
            raise Irregular("the file ends inside the trail")
        chunk = self._pending + chunk
        cut = _whole_characters(chunk)
        chunk, self._pending = chunk[:cut], chunk[cut:]
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError:
            raise Irregular("the trail is not UTF-8") from None
        if len(self.text) > ELEMENT_LIMIT:
            raise Irregular("an element is too large to scan")
        self.data += chunk
        self.text += text


class TrailElements:
    """Every element of the trail array that opens at byte ``start`` (just after its ``[``).

    Iterating yields ``(offset, bytes, value)`` per element. ``end`` is the offset just after
    the last element yielded (after the ``[`` of an empty trail) and ``count`` the number of
    elements yielded; :class:`Irregular` stops the iteration where the scanner gives up.
    """

    def __init__(self, handle: IO[bytes], start: int) -> None:
        self.handle = handle
        self.start = start
        self.end = start
        self.count = 0

    def __iter__(self) -> Iterator[tuple[int, bytes, Any]]:
        window = _Window(self.handle, self.start)
        decode = _DECODER.raw_decode
        ws = _skip_ws
        at = 0  # character index in window.text
        first = True
        while True:
            # Between elements: whitespace, then "]", or (after the first) "," and whitespace.
            text = window.text
            at = ws(text, at)
            if at >= len(text):
                window.drop(at)
                window.more()
                at = 0
                continue
            mark = text[at]
            if mark == "]":
                return
            begin = at
            if not first:
                if mark != ",":
                    raise Irregular("no comma between two elements")
                at = ws(text, at + 1)
            try:
                value, stop = decode(text, at)
            except ValueError:
                # Most likely an element cut by the window's end: read on and decode it again
                # (from the comma). A real syntax error ends at ELEMENT_LIMIT or the file's end.
                window.drop(begin)
                window.more()
                at = 0
                continue
            start, finish = window.byte(at), window.byte(stop)
            yield window.base + start, window.data[start:finish], value
            self.count += 1
            self.end = window.base + finish
            at = stop
            first = False
            if at > CHUNK:
                window.drop(at)  # keep the window about one chunk long
                at = 0


def find_trail(handle: IO[bytes]) -> int | None:
    """The byte offset just after the ``[`` of the top-level ``transactions`` array.

    None when the file is not an object with such an array starting within its first 64 MiB,
    or is not JSON this scanner reads.
    """
    size = CHUNK
    while True:
        handle.seek(0)
        data = handle.read(size)
        skip = len(_BOM) if data.startswith(_BOM) else 0
        whole = data[skip : _whole_characters(data)]
        try:
            text = whole.decode("utf-8")
            found = _trail_in(text)
        except (UnicodeDecodeError, Irregular):
            return None
        if found is not None:
            return None if found < 0 else skip + len(text[:found].encode("utf-8"))
        if len(data) < size or size >= _HEAD_LIMIT:
            return None
        size *= 4


def _trail_in(text: str) -> int | None:
    """Character index after ``"transactions": [`` in ``text``; None: read more; -1: none."""
    ws = _skip_ws
    at = ws(text, 0)
    if text[at : at + 1] != "{":
        return -1 if at < len(text) else None
    at += 1
    while True:
        at = ws(text, at)
        if at >= len(text):
            return None
        if text[at] == "}":
            return -1
        try:
            key, at = _DECODER.raw_decode(text, at)
            at = ws(text, at)
            if text[at : at + 1] != ":":
                return None if at >= len(text) else -1
            at = ws(text, at + 1)
            if at >= len(text):
                return None
            if key == "transactions" and text[at] == "[":
                return at + 1
            _value, at = _DECODER.raw_decode(text, at)
        except ValueError:
            return None  # cut off by the read (or malformed: reading more finds out)
        at = ws(text, at)
        if at >= len(text):
            return None
        if text[at] != ",":
            return -1
        at += 1
