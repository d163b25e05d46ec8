"""Reading the file: two streaming passes, and the one finding that says why a file is unreadable.

1. The *head pass* (:class:`HeadScan`) parses the top-level object event by event and builds
   every section except the audit trail (they are small).  With the usual key order it stops at
   the ``transactions`` array, so its cost does not grow with the trail; a section that comes
   after the trail makes it step over the trail and read on.
2. The *trail pass* (:class:`FastTrailScan`) finds and decodes each transaction with the
   standard library's C decoder (:mod:`..scan`), in any layout, and hands each to a callback
   (and to a listener, such as the source's index, which so needs no read of its own). Where
   it gives up, :class:`TrailScan` has ijson's C backend build the remaining transactions one
   at a time, and reports any error in the file exactly.

When the parser gives up, :class:`Locator` turns its error into one finding that says what is
wrong and where: not UTF-8 (with the byte), cut off, or not JSON at a line and column.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from typing import IO, Any, Protocol

import ijson

from migrationkit.core.findings import Finding

from ..scan import Irregular, TrailElements, find_trail
from .rules import ENCODING, JSON_MALFORMED
from .values import SECTIONS

__all__ = [
    "CHUNK",
    "JSON_WS",
    "FastTrailScan",
    "HeadScan",
    "Locator",
    "Reader",
    "TrailListener",
    "TrailScan",
    "Unreadable",
    "sniff",
]

CHUNK = 256 * 1024
# The last transaction of a well-formed file ends a few bytes before EOF.  Feeding this many
# final bytes one at a time tells us exactly where the trail ends, so the head pass can stop at
# the trail and we still see any key that follows it.
_TAIL_WINDOW = 4096
JSON_WS = b" \t\r\n"
_TAIL_CLEAN = re.compile(rb"[ \t\r\n]*\][ \t\r\n]*\}[ \t\r\n]*")
_TAIL_MORE = re.compile(rb"[ \t\r\n]*\][ \t\r\n]*,")
_STARTS = frozenset(("start_map", "start_array"))
_ENDS = frozenset(("end_map", "end_array"))


class Unreadable(Exception):
    """The file cannot be read as JSON at all; carries the one finding that says why."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


class Reader:
    """A file as ijson reads it, telling us where the parser is.

    ijson's C generators call ``read`` and parse each buffer before asking for the next, so
    ``start`` and ``offset`` bracket the bytes that produced the latest event or error.  From
    ``window`` on, bytes are handed out one at a time, so an element's closing byte is exact.
    """

    def __init__(self, handle: IO[bytes], window: int | None = None) -> None:
        self.handle = handle
        self.window = window
        self.start = 0
        self.offset = 0
        self.at_end = False
        self.byte_mode = False
        handle.seek(0)

    def read(self, size: int = CHUNK) -> bytes:
        """The next buffer for the parser."""
        if size == 0:  # ijson probes with read(0) to see whether the file gives bytes
            return b""
        if self.window is not None:
            if self.offset >= self.window:
                size = 1
            elif self.offset + size > self.window:
                size = self.window - self.offset
        data = self.handle.read(size)
        self.start = self.offset
        self.offset += len(data)
        self.at_end = not data
        self.byte_mode = self.window is not None and self.start >= self.window
        return data


_HEAD_START, _HEAD_KEY, _HEAD_VALUE, _HEAD_BUILD, _HEAD_PEEK, _HEAD_SKIP, _HEAD_DONE = range(7)


class HeadScan:
    """First pass: the top-level object, with every section except the trail's elements."""

    def __init__(self, *, full: bool) -> None:
        self.full = full  # False: stop at a non-empty trail once every other section is in
        self.values: dict[str, Any] = {}
        self.order: list[str] = []  # top-level keys in file order, repeats included
        self.top = ""  # the first parse event: "start_map" for an object
        self.trail_pending = False  # a non-empty transactions array is left for the trail pass
        self.stopped = False  # stopped at the trail: what follows it is not known yet
        self._state = _HEAD_START
        self._key = ""
        self._builder: Any = None
        self._depth = 0

    def run(self, reader: Reader, locate: Callable[[BaseException, Reader], Finding]) -> None:
        """Parse from the start until done (or until the trail, see ``full``)."""
        events = ijson.parse(reader, use_float=False, buf_size=CHUNK)
        try:
            for _prefix, event, value in events:
                if self._step(event, value):
                    return
                if self._state == _HEAD_SKIP:
                    # The trail is read in the second pass; here it is only stepped over.
                    for prefix, event, _value in events:
                        if event == "end_array" and prefix == "transactions":
                            break
                    self._state = _HEAD_KEY
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            raise Unreadable(locate(exc, reader)) from None

    def _step(self, event: str, value: Any) -> bool:
        """Advance the state machine by one event; True means stop reading."""
        state = self._state
        if state == _HEAD_START:
            self.top = event
            self._state = _HEAD_KEY
            return event != "start_map"
        if state == _HEAD_KEY:
            if event == "end_map":
                self._state = _HEAD_DONE
            else:
                self._key = value
                self.order.append(value)
                self._state = _HEAD_VALUE
            return False
        if state == _HEAD_VALUE:
            self._value_start(event, value)
            return False
        if state == _HEAD_PEEK:
            return self._trail_start(event)
        if state == _HEAD_BUILD:
            self._builder.event(event, value)
            self._depth += 1 if event in _STARTS else -1 if event in _ENDS else 0
            if self._depth == 0:
                self._store(self._key, self._builder.value)
                self._state = _HEAD_KEY
        return False

    def _value_start(self, event: str, value: Any) -> None:
        key = self._key
        if key == "transactions" and event == "start_array" and self.order.count(key) == 1:
            self._state = _HEAD_PEEK
        elif event in _STARTS:
            self._builder = ijson.ObjectBuilder()
            self._builder.event(event, value)
            self._depth = 1
            self._state = _HEAD_BUILD
        else:
            self._store(key, value)
            self._state = _HEAD_KEY

    def _trail_start(self, event: str) -> bool:
        if event == "end_array":
            self._store("transactions", [])
            self._state = _HEAD_KEY
            return False
        self.trail_pending = True
        if not self.full and SECTIONS.issubset(self.order):
            self.stopped = True
            return True
        self._state = _HEAD_SKIP
        return False

    def _store(self, key: str, value: Any) -> None:
        self.values.setdefault(key, value)


class TrailListener(Protocol):
    """Who else wants the trail's elements as the fast scan reads them (a source's index)."""

    def element(self, i: int, offset: int, text: bytes, value: Any) -> None:
        """Element ``i`` of the trail: its byte offset, its bytes and its value."""

    def done(self, complete: bool) -> None:
        """The scan is over; ``complete``: every element was handed over, in order."""


class FastTrailScan:
    """Second pass, the quick way: the trail's elements found and decoded by :mod:`..scan`.

    It stops where that scanner gives up (a syntax error, bytes that are not UTF-8, ...), and
    ``count`` says how many elements were checked: :class:`TrailScan` checks the rest, and
    reports what is wrong exactly as it would have from the start.
    """

    enabled = True  # tests switch it off to prove that both trail passes report alike
    _DRAIN_MASK = 1023
    _TAIL_LIMIT = 1 << 20  # read what follows the trail only when it is this small

    def __init__(
        self, on_item: Callable[[Any, int], None], listener: TrailListener | None = None
    ) -> None:
        self.on_item = on_item
        self.listener = listener
        self.count = 0
        self.complete = False
        self.tail: bytes | None = None  # what follows the last element, when complete

    def run(self, handle: IO[bytes], size: int) -> Iterator[None]:
        """Check the elements it can read; yields now and then so that findings stream out."""
        start = find_trail(handle) if self.enabled else None
        if start is not None:
            elements = TrailElements(handle, start)
            on_item, listener = self.on_item, self.listener
            try:
                for n, (offset, text, value) in enumerate(elements):
                    on_item(value, n)
                    if listener is not None:
                        listener.element(n, offset, text, value)
                    self.count = n + 1
                    if not n & self._DRAIN_MASK:
                        yield None
                self.complete = elements.count > 0
            except Irregular:
                pass
            if self.complete and size - elements.end <= self._TAIL_LIMIT:
                handle.seek(elements.end)
                self.tail = handle.read()
        if self.listener is not None:
            self.listener.done(self.complete)


class TrailScan:
    """Second pass: every element of the trail, built by ijson's C backend, one at a time."""

    _DRAIN_MASK = 1023  # hand out findings every 1024 elements

    def __init__(
        self, on_item: Callable[[Any, int], None], *, find_tail: bool, skip: int = 0
    ) -> None:
        self.on_item = on_item
        self.find_tail = find_tail
        self.skip = skip  # elements already checked (by FastTrailScan)
        self.tail: bytes | None = None  # what follows the last element, when find_tail

    def run(
        self, handle: IO[bytes], size: int, locate: Callable[[BaseException, Reader], Finding]
    ) -> Iterator[None]:
        """Check the elements; yields now and then so that findings can stream out."""
        reader = Reader(handle, max(0, size - _TAIL_WINDOW) if self.find_tail else None)
        on_item = self.on_item
        last_end = -1
        items = ijson.items(reader, "transactions.item", use_float=False, buf_size=CHUNK)
        skip = self.skip
        try:
            for n, item in enumerate(items):
                if n >= skip:
                    on_item(item, n)
                if reader.byte_mode:  # bytes come one at a time: the element ends exactly here
                    last_end = reader.offset
                if not n & self._DRAIN_MASK:
                    yield None
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            raise Unreadable(locate(exc, reader)) from None
        if last_end >= 0:
            handle.seek(last_end)
            self.tail = handle.read()


def late_keys(tail: bytes | None) -> list[str] | None:
    """The top-level keys after the trail, read from the bytes after its last element.

    None means the tail did not show it (the caller then scans the file again).
    """
    if tail is None:
        return None
    if _TAIL_CLEAN.fullmatch(tail):
        return []
    more = _TAIL_MORE.match(tail)
    if more is None:
        return None
    try:
        return [key for key, _value in ijson.kvitems(b"{" + tail[more.end() :], "")]
    except (ijson.JSONError, UnicodeDecodeError):
        return None


class Locator:
    """Turns a parser failure into the one finding that says what is wrong and where."""

    def __init__(self, handle: IO[bytes], size: int) -> None:
        self.handle = handle
        self.size = size

    def __call__(self, exc: BaseException, reader: Reader) -> Finding:
        reason = _parser_reason(exc)
        chunk_start, at_end = reader.start, reader.at_end
        if isinstance(exc, UnicodeDecodeError) or "UTF8" in reason:
            found = self._first_bad_utf8()
            if found is not None:
                return self._encoding(*found)
        if "premature EOF" in reason or (at_end and "EOF" in reason):
            line, column = self._line_col(self.size)
            return JSON_MALFORMED.finding(
                "truncated",
                "",
                None,
                {"offset": self.size, "line": line, "column": column, "truncated": True},
            )
        offset = self._error_offset(chunk_start)
        line, column = self._line_col(offset)
        return JSON_MALFORMED.finding(
            "syntax",
            "",
            None,
            {"offset": offset, "line": line, "column": column, "reason": reason},
        )

    def _encoding(self, offset: int, byte: int) -> Finding:
        line, column = self._line_col(offset)
        guess = bytes([byte]).decode("cp1252", errors="replace")
        return ENCODING.finding(
            "byte",
            "",
            None,
            {"offset": offset, "line": line, "column": column, "byte": f"0x{byte:02X}"},
            guess=repr(guess),
        )

    def _first_bad_utf8(self) -> tuple[int, int] | None:
        decoder = codecs.getincrementaldecoder("utf-8")()
        self.handle.seek(0)
        offset = 0
        while chunk := self.handle.read(4 * CHUNK):
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # exc.object is the decoder's pending bytes followed by this chunk
                return offset - pending + exc.start, exc.object[exc.start]
            offset += len(chunk)
        return None

    def _error_offset(self, chunk_start: int) -> int:
        """The byte at which the parser gives up: parse again, the failing buffer byte by byte."""
        reader = Reader(self.handle, window=chunk_start)
        try:
            # A prefix that matches nothing keeps the scan inside the C parser.
            for _ in ijson.items(reader, "\x00", use_float=False, buf_size=CHUNK):
                pass
        except (ijson.JSONError, UnicodeDecodeError):
            return reader.start
        return reader.offset

    def _line_col(self, offset: int) -> tuple[int, int]:
        self.handle.seek(0)
        newlines, last_newline, position = 0, -1, 0
        while position < offset:
            chunk = self.handle.read(min(4 * CHUNK, offset - position))
            if not chunk:
                break
            count = chunk.count(b"\n")
            if count:
                newlines += count
                last_newline = position + chunk.rindex(b"\n")
            position += len(chunk)
        return newlines + 1, offset - last_newline


def _parser_reason(exc: BaseException) -> str:
    """The first line of a yajl error, without its ``parse error:`` prefix."""
    text = str(exc)
    if text[:2] in ("b'", 'b"'):
        text = text[2:]
    first = re.split(r"\\n|\n", text, maxsplit=1)[0].strip().rstrip(".")
    return re.sub(r"^(parse|lexical) error: ", "", first) or type(exc).__name__


def sniff(head: bytes) -> Finding | None:
    """ENCODING when the first bytes show a byte-order mark or UTF-16/32 text."""
    boms = (
        (codecs.BOM_UTF8, "a UTF-8 byte order mark (BOM, bytes EF BB BF)"),
        (codecs.BOM_UTF32_LE, "a UTF-32 byte order mark"),
        (codecs.BOM_UTF32_BE, "a UTF-32 byte order mark"),
        (codecs.BOM_UTF16_LE, "a UTF-16 byte order mark (the file is UTF-16)"),
        (codecs.BOM_UTF16_BE, "a UTF-16 byte order mark (the file is UTF-16)"),
    )
    for bom, what in boms:
        if head.startswith(bom):
            return ENCODING.finding("bom", "", None, {"bom": bom.hex(" ").upper()}, what=what)
    if b"\x00" in head[:4]:
        return ENCODING.finding("wide", "")
    return None
