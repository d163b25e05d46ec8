"""The validation run: the passes over one file, in order, with findings handed out as they come.

:func:`validate_file` opens the file and runs :class:`Validation`: the head pass and the format
check, the master data, the opening balances, the trail pass, then the closing checks.
Findings stream out between the steps (and every thousand headers), so a large file's first
findings show while the rest is still being read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import IO, Any

from migrationkit.core.findings import Finding

from .closing import Closing
from .indexes import Allocations, HeaderIndex
from .masters import Master, MasterLoader
from .opening import OpeningBalances
from .reading import (
    CHUNK,
    JSON_WS,
    FastTrailScan,
    HeadScan,
    Locator,
    Reader,
    TrailListener,
    TrailScan,
    Unreadable,
    late_keys,
    sniff,
)
from .report import Report, escape, kind_of
from .rules import (
    FILE_EMPTY,
    FILE_NOT_FOUND,
    FILE_UNREADABLE,
    FORMAT_UNSUPPORTED,
    HISTORY_MODE,
    SCHEMA_VIOLATION,
)
from .trail import Trail
from .values import MISSING, TOP, check_shape

__all__ = ["Validation", "validate_file"]


class Validation:
    """One run over one file: the head pass, the master data, the trail pass, the closing."""

    def __init__(self, handle: IO[bytes], size: int, listener: TrailListener | None = None) -> None:
        self.handle = handle
        self.size = size
        self.listener = listener
        self.report = Report()
        self.locate = Locator(handle, size)

    def run(self) -> Iterator[Finding]:
        """Yield every finding, in file order as far as possible."""
        self._refuse_unreadable_start()
        head = HeadScan(full=False)
        head.run(Reader(self.handle), self.locate)
        if head.top != "start_map":
            yield self._not_an_object(head.top)
            return
        stop = self._format(head.values)
        if stop is not None:
            yield stop
            return
        yield from self.report.drain()
        headers, allocations = HeaderIndex(), Allocations()
        master = MasterLoader(head.values, self.report).load()
        OpeningBalances(head.values, self.report, master, headers, allocations).load()
        trail = Trail(master, self.report, headers, allocations)
        self._top_level(head, master)
        yield from self.report.drain()
        if head.trail_pending:
            fast = FastTrailScan(trail.check, self.listener)
            for _ in fast.run(self.handle, self.size):
                yield from self.report.drain()
            if fast.complete:
                tail = fast.tail
            else:
                scan = TrailScan(trail.check, find_tail=head.stopped, skip=fast.count)
                for _ in scan.run(self.handle, self.size, self.locate):
                    yield from self.report.drain()
                tail = scan.tail
            if head.stopped:
                self._keys_after_trail(late_keys(tail))
        elif self.listener is not None:
            self.listener.done(False)
        Closing(master, trail, self.report).run()
        yield from self.report.drain()

    def _refuse_unreadable_start(self) -> None:
        if self.size == 0:
            raise Unreadable(FILE_EMPTY.finding("empty", ""))
        start = self.handle.read(min(self.size, CHUNK))
        self.handle.seek(0)
        if self.size <= CHUNK and not start.strip(JSON_WS):
            raise Unreadable(FILE_EMPTY.finding("blank", "", size=self.size))
        sniffed = sniff(start)
        if sniffed is not None:
            raise Unreadable(sniffed)

    def _not_an_object(self, event: str) -> Finding:
        what = {"start_array": "a list"}.get(event, "a single value")
        return SCHEMA_VIOLATION.finding("top_level", "", None, {"top_level": what})

    def _format(self, values: dict[str, Any]) -> Finding | None:
        """FORMAT_UNSUPPORTED (and stop) unless this is sage50-json 1.x."""
        form = values.get("format", MISSING)
        version = values.get("format_version", MISSING)
        if form != "sage50-json":
            shown = "missing" if form is MISSING else kind_of(form)
            return FORMAT_UNSUPPORTED.finding(
                "format",
                "/format",
                None,
                {"format": None if form is MISSING else str(form)},
                shown=shown,
            )
        if not (isinstance(version, str) and re.fullmatch(r"1\.[0-9]+", version)):
            shown = "missing" if version is MISSING else kind_of(version)
            return FORMAT_UNSUPPORTED.finding(
                "version",
                "/format_version",
                None,
                {"format_version": None if version is MISSING else str(version)},
                shown=shown,
            )
        if version != "1.0":
            self.report.add(
                SCHEMA_VIOLATION,
                "minor_version",
                "/format_version",
                None,
                {"format_version": version},
            )
        return None

    def _top_level(self, head: HeadScan, master: Master) -> None:
        """Top-level keys: missing, unknown, repeated and of the wrong kind; the trail's mode."""
        values = dict(head.values)
        if head.trail_pending:
            values["transactions"] = []
        good_keys = [key for key in values if key in TOP.fields]
        check_shape({key: values[key] for key in good_keys}, TOP, "", "The file", self.report)
        self._keys_after_trail([key for key in head.order if key not in TOP.fields])
        seen: set[str] = set()
        for key in head.order:
            if key in seen and key in TOP.fields:
                self._repeated_key(key)
            seen.add(key)
        trail = values.get("transactions")
        has_trail = head.trail_pending or (isinstance(trail, list) and bool(trail))
        if master.history_mode in ("opening_balances", "records_only") and has_trail:
            self.report.add(
                HISTORY_MODE,
                "trail_forbidden",
                "/transactions",
                None,
                {"history_mode": master.history_mode},
            )

    def _keys_after_trail(self, keys: list[str] | None) -> None:
        if keys is None:
            # The bytes after the trail did not show what follows it: read the file again.
            head = HeadScan(full=True)
            head.run(Reader(self.handle), self.locate)
            order = head.order
            trail_at = order.index("transactions") if "transactions" in order else len(order)
            keys = order[trail_at + 1 :]
        for key in keys:
            if key in TOP.fields:
                self._repeated_key(key)
            else:
                self.report.add(
                    SCHEMA_VIOLATION,
                    "unknown_top_key",
                    f"/{escape(key)}",
                    None,
                    {"unknown_key": key},
                )

    def _repeated_key(self, key: str) -> None:
        self.report.add(
            SCHEMA_VIOLATION, "repeated_top_key", f"/{escape(key)}", None, {"repeated_key": key}
        )


def validate_file(
    path: str | os.PathLike[str], listener: TrailListener | None = None
) -> Iterator[Finding]:
    """Check a sage50-json file against every rule of :data:`~.rules.RULES`; yield each finding.

    The file is streamed (never loaded whole).  Unreadable input yields exactly one finding
    (``FILE_NOT_FOUND``, ``FILE_EMPTY``, ``ENCODING`` or ``JSON_MALFORMED``) instead of raising;
    findings already made before a late JSON error are yielded first.  ``listener`` receives
    each element of the trail as it is checked (a source builds its index from them, so a
    migration reads the file once), and is told when the trail pass is over.
    """
    name = os.fspath(path)
    try:
        handle = open(name, "rb")  # noqa: SIM115 - closed by the with block below
    except FileNotFoundError:
        yield FILE_NOT_FOUND.finding("", "", name=name)
        return
    except OSError as exc:
        yield FILE_UNREADABLE.finding("open", "", name=name, reason=exc.strerror or exc)
        return
    with handle:
        run = Validation(handle, os.fstat(handle.fileno()).st_size, listener)
        try:
            yield from run.run()
        except Unreadable as exc:
            yield from run.report.drain()
            yield exc.finding
        except OSError as exc:  # e.g. the disk or network share failed mid-way
            yield from run.report.drain()
            yield FILE_UNREADABLE.finding("read", "", name=name, reason=exc.strerror or exc)
