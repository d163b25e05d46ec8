"""Indexing the audit trail: where each transaction is, without keeping any of them.

:func:`index_trail` reads the trail once: each transaction is filed under its entity by an
:class:`Indexer`, with its offset, length, header number and a digest of its bytes; journal
lines go to a small SQLite table so that groups can be put together whatever their order. A
transaction is parsed only when the engine asks for it. An export written one transaction per
line is filed by its lines, without parsing; any other layout element by element as
:mod:`.scan` finds them. With validation on, the validator's pass feeds an :class:`Indexer`
instead, and this module's reading is not needed at all.

On a large export the indexing runs in a second process (:class:`TrailWorker`, started as
``python -m migrationkit.connectors.sage50.spool``) while this one loads the entities before
the trail, then the invoices as the worker finds them: the scan costs next to no time on the
critical path. The worker writes the same files the in-process indexing writes, so everything
after it reads one layout.

Each index folder holds its owner's process id: :func:`remove_abandoned` deletes the folders
of runs that were killed.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import attrs

from . import mapping
from .scan import Irregular, TrailElements, find_trail

__all__ = ["Indexer", "Layout", "Trail", "TrailWorker", "WorkerFailed", "index_trail"]

SPOOLED = ("invoices", "refunds", "credit_notes", "payments", "bank_transactions")
DIGEST_KEY = f"sage50-json/{mapping.MAPPING_VERSION}".encode()

_TYPE = re.compile(rb'"type":\s*"([A-Z]{2})"')
_NUMBER = re.compile(rb'"header_number":\s*(\d+)')
_GROUP = re.compile(rb'"journal_group":\s*(\d+)')
_DELETED = re.compile(rb'"deleted":\s*true')
_SPLIT = re.compile(rb'"splits":\s*\[([^\]]*)\]')
_NOMINAL = re.compile(rb'"nominal_code":\s*"([^"]*)"')
_NET = re.compile(rb'"net":\s*"([^"]*)"')
_DEPARTMENT = re.compile(rb'"department":\s*(\d+)')

# Amounts are strings; a number where an amount belongs stays exact (the validator reports
# it), as the streaming parser keeps it. One decoder, not one per call.
_JSON = json.JSONDecoder(parse_float=Decimal)


class Layout(Exception):
    """The audit trail is not one transaction per line: read it with the JSON parser."""


class WorkerFailed(Exception):
    """The indexing process stopped without an index; the trail is indexed here instead."""


@attrs.define
class Trail:
    """What indexing learnt beside the spool files: targets, deletions and unreadable lines."""

    index: mapping.TargetIndex
    deleted: dict[str, list[str]] = attrs.field(factory=dict)
    rejected: list[tuple[int, Mapping[str, Any], str]] = attrs.field(factory=list)


FOLDER_PREFIX = "migrationkit-sage50-"
_OWNER = "owner.pid"
#: A spool folder without an owner file (made before owners were written) is abandoned after.
_UNOWNED_AFTER_SECONDS = 24 * 3600


def claim(root: Path) -> None:
    """Write this process's id into the spool folder ``root``: a later run can tell it is ours."""
    (root / _OWNER).write_text(str(os.getpid()))


def remove_abandoned(folder: Path) -> list[Path]:
    """Delete the spool folders in ``folder`` whose process is gone (a run that was killed).

    A folder is left alone while its owner runs; one without an owner file only when it is
    older than a day. Returns what was removed.
    """
    removed: list[Path] = []
    try:
        candidates = [p for p in folder.iterdir() if p.name.startswith(FOLDER_PREFIX)]
    except OSError:
        return removed
    for candidate in candidates:
        if _abandoned(candidate):
            shutil.rmtree(candidate, ignore_errors=True)
            removed.append(candidate)
    return removed


def _abandoned(root: Path) -> bool:
    try:
        owner = int((root / _OWNER).read_text())
    except FileNotFoundError:
        try:
            return time.time() - root.stat().st_mtime > _UNOWNED_AFTER_SECONDS
        except OSError:
            return False
    except (OSError, ValueError):
        return False
    if owner == os.getpid():
        return False
    try:
        os.kill(owner, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # it exists, run by someone else
    return False


def decode(text: bytes) -> Any:
    """The JSON value of one line, or ``None`` if it is not JSON."""
    try:
        return _JSON.decode(text.decode("utf-8"))
    except ValueError:
        return None


def create_journal_table(db: sqlite3.Connection) -> None:
    db.execute("DROP TABLE IF EXISTS line")
    # Journal lines by group: in the line layout an index entry with the facts that tell a
    # transfer from a journal; in the stream layout the pickled header (``raw``).
    db.execute(
        "CREATE TABLE line (grp INTEGER, header INTEGER, position INTEGER, start INTEGER, "
        "length INTEGER, digest TEXT, kind TEXT, nominal TEXT, net TEXT, department INTEGER, "
        "raw BLOB)"
    )


def insert_journal_rows(db: sqlite3.Connection, rows: list[Any]) -> None:
    """Write the buffered journal lines and empty the buffer."""
    if rows:
        padded = [(*row, None) if len(row) == 10 else row for row in rows]
        db.executemany("INSERT INTO line VALUES (?,?,?,?,?,?,?,?,?,?,?)", padded)
        rows.clear()


def journals_gone(deleted_groups: set[Any], live_groups: set[Any]) -> list[str]:
    """Journal groups every line of which was deleted."""
    return [str(g) for g in sorted(deleted_groups - live_groups, key=str)]


class Indexer:
    """Files each transaction of the trail under its entity: what :func:`index_trail` writes.

    Each spooled entity gets ``root/<entity>.index``, a line per transaction of
    ``position, start, length, header, digest, allocation targets`` (tab separated); journal
    lines go to the ``line`` table. A transaction comes either as its bytes alone
    (:meth:`add_text`: its facts are read from the bytes, without parsing them) or with its
    parsed value as well (:meth:`add_value`, when something else parsed it already).
    """

    def __init__(
        self,
        root: Path,
        journals: sqlite3.Connection,
        open_items: Sequence[int],
        on_invoice: Callable[[int, str], None] | None = None,
    ) -> None:
        self.files = {entity: (root / f"{entity}.index").open("w") for entity in SPOOLED}
        self.journals = journals
        index = mapping.TargetIndex()
        for number in open_items:
            index.add(number, "open_items")
        self.trail = Trail(index=index)
        self.on_invoice = on_invoice
        self._journal_rows: list[tuple[Any, ...]] = []
        self._live_groups: set[Any] = set()
        self._deleted_groups: set[Any] = set()

    def add_text(self, position: int, start: int, text: bytes) -> None:
        """File the transaction whose bytes, at ``start``, are ``text`` (one JSON object)."""
        found = _TYPE.search(text)
        entity = mapping.TRANSACTION_ENTITY.get(found.group(1).decode()) if found else None
        if entity is None:
            self.trail.rejected.append((position, _loose(text), _unknown_type(text)))
            return
        deleted = (b'"deleted":true' in text) or (
            b'"deleted"' in text and _DELETED.search(text) is not None
        )
        if entity == "manual_journals":
            group_match = _GROUP.search(text)
            group = int(group_match.group(1)) if group_match else None
            facts = _journal_facts(text) if not deleted else None
            self._journal_line(position, start, text, group, _header(text)[0], deleted, facts)
            return
        header, allocations = _header(text)
        self._entry(entity, position, start, text, header, allocations, deleted)

    def add_value(self, position: int, start: int, text: bytes, raw: Any) -> None:
        """File a transaction already parsed: ``raw`` is the JSON value of ``text``."""
        kind = raw.get("type") if type(raw) is dict else None
        entity = mapping.TRANSACTION_ENTITY.get(kind) if type(kind) is str else None
        if entity is None:
            loose = raw if type(raw) is dict else {}
            self.trail.rejected.append(
                (position, loose, f"unknown transaction type {loose.get('type')!r}")
            )
            return
        deleted = bool(raw.get("deleted"))
        number = raw.get("header_number")
        header = number if type(number) is int else None
        if entity == "manual_journals":
            group = raw.get("journal_group")
            group = group if type(group) is int else None
            facts = None if deleted else _parsed_journal_facts(raw)
            self._journal_line(position, start, text, group, header, deleted, facts)
            return
        allocated = raw.get("allocations")
        targets = (
            tuple(
                a["header_number"]
                for a in allocated
                if type(a) is dict and type(a.get("header_number")) is int
            )
            if type(allocated) is list
            else ()
        )
        self._entry(entity, position, start, text, header, targets, deleted)

    def _entry(
        self,
        entity: str,
        position: int,
        start: int,
        text: bytes,
        header: int | None,
        allocations: Sequence[int],
        deleted: bool,
    ) -> None:
        if deleted:
            self.trail.deleted.setdefault(entity, []).append(str(header))
            return
        if entity in ("invoices", "refunds") and header is not None:
            self.trail.index.add(header, entity)
        digest = hashlib.blake2b(text, digest_size=16, key=DIGEST_KEY).hexdigest()
        entry = (
            f"{position}\t{start}\t{len(text)}\t{header}\t{digest}\t"
            f"{','.join(map(str, allocations))}\n"
        )
        self.files[entity].write(entry)
        if self.on_invoice is not None and entity == "invoices":
            self.on_invoice(position, entry)

    def _journal_line(
        self,
        position: int,
        start: int,
        text: bytes,
        group: int | None,
        header: int | None,
        deleted: bool,
        facts: tuple[str | None, str | None, str | None, int] | None,
    ) -> None:
        if deleted or facts is None:
            self._deleted_groups.add(group)
            return
        self._live_groups.add(group)
        digest = hashlib.blake2b(text, digest_size=16, key=DIGEST_KEY).hexdigest()
        self._journal_rows.append((group, header, position, start, len(text), digest, *facts))
        if len(self._journal_rows) >= 5000:
            insert_journal_rows(self.journals, self._journal_rows)

    def finish(self) -> Trail:
        """Close the index files and return what indexing learnt beside them."""
        self.close()
        insert_journal_rows(self.journals, self._journal_rows)
        gone = journals_gone(self._deleted_groups, self._live_groups)
        for entity in ("manual_journals", "bank_transfers"):
            self.trail.deleted[entity] = gone
        return self.trail

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()


def index_trail(
    path: Path,
    root: Path,
    journals: sqlite3.Connection,
    open_items: Sequence[int],
    on_invoice: Callable[[str], None] | None = None,
) -> Trail:
    """Index the trail of ``path`` into ``root``: where each transaction is, its header and digest.

    An export written one transaction per line is filed by its lines, without parsing them;
    any other layout is scanned element by element (:mod:`.scan`). ``on_invoice`` receives
    each invoice's index line as soon as it is found (once, whichever way). Raises
    :class:`Layout` if the trail can be read neither way (then the JSON stream parser reads
    it).
    """
    handed = -1  # the last invoice position handed to on_invoice

    def hand(position: int, entry: str) -> None:
        nonlocal handed
        if on_invoice is not None and position > handed:
            on_invoice(entry)
            handed = position

    indexer = Indexer(root, journals, open_items, hand)
    try:
        with path.open("rb") as handle:
            _index_lines(handle, indexer)
        return indexer.finish()
    except Layout:
        indexer.close()
    create_journal_table(journals)
    indexer = Indexer(root, journals, open_items, hand)
    try:
        with path.open("rb") as handle:
            start = find_trail(handle)
            if start is None:
                raise Layout
            for position, (offset, text, raw) in enumerate(TrailElements(handle, start)):
                indexer.add_value(position, offset, text, raw)
    except Irregular:
        raise Layout from None
    finally:
        indexer.close()
    return indexer.finish()


def _index_lines(handle: IO[bytes], indexer: Indexer) -> None:
    """File each line of a trail written one transaction per line; Layout if it is not."""
    offset = _seek_trail(handle)
    position = -1
    for line in handle:
        start, offset = offset, offset + len(line)
        text = line.strip()
        if text.startswith(b"]"):
            break
        if not text:
            continue
        position += 1
        start += len(line) - len(line.lstrip())
        if text.endswith(b","):
            text = text[:-1]
        if not _one_object(text):
            raise Layout
        indexer.add_text(position, start, text)


# -- the worker process ----------------------------------------------------------------------

_FRAME = struct.Struct(">cI")
_INVOICES, _DONE, _LAYOUT, _ERROR = b"I", b"D", b"L", b"E"
_BLOCK = 2000  # invoice index lines per message


def _send(out: IO[bytes], kind: bytes, payload: bytes = b"") -> None:
    out.write(_FRAME.pack(kind, len(payload)))
    out.write(payload)
    out.flush()


def _work(argv: Sequence[str]) -> int:
    """The worker's body: index the trail and report on stdout, framed."""
    path, root = Path(argv[0]), Path(argv[1])
    open_items = [int(n) for n in argv[2].split(",") if n]
    every = int(argv[3])
    out = sys.stdout.buffer
    block: list[str] = []

    def on_invoice(entry: str) -> None:
        block.append(entry)
        if len(block) >= every:
            _send(out, _INVOICES, "".join(block).encode())
            block.clear()

    journals = sqlite3.connect(root / "journals.db")
    try:
        journals.execute("PRAGMA journal_mode=OFF")
        journals.execute("PRAGMA synchronous=OFF")
        trail = index_trail(path, root, journals, open_items, on_invoice)
        journals.commit()
    except Layout:
        _send(out, _LAYOUT)
        return 0
    except Exception as exc:  # reported to the parent, which indexes the trail itself
        _send(out, _ERROR, f"{type(exc).__name__}: {exc}".encode())
        return 1
    finally:
        journals.close()
    if block:
        _send(out, _INVOICES, "".join(block).encode())
    _send(out, _DONE, pickle.dumps(trail, protocol=pickle.HIGHEST_PROTOCOL))
    return 0


class TrailWorker:
    """A second process indexing the trail; invoice entries arrive while it works."""

    def __init__(self, path: Path, root: Path, open_items: Sequence[int]) -> None:
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "migrationkit.connectors.sage50.spool",
                str(path),
                str(root),
                ",".join(map(str, open_items)),
                str(_BLOCK),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONSAFEPATH": "1"},
        )
        self.trail: Trail | None = None
        # Whether invoice lines arrived that nobody took (they are in the spool file).
        self.discarded = False

    def _receive(self) -> tuple[bytes, bytes]:
        stdout = self._process.stdout
        assert stdout is not None
        head = stdout.read(_FRAME.size)
        if len(head) < _FRAME.size:
            raise WorkerFailed(self._why())
        kind, size = _FRAME.unpack(head)
        payload = stdout.read(size)
        if len(payload) < size:
            raise WorkerFailed(self._why())
        return kind, payload

    def _why(self) -> str:
        code = self._process.wait()
        stderr = (
            self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
        )
        return f"the indexing process stopped (exit {code}): {stderr.strip()[-500:]}"

    def invoices(self) -> Iterator[str]:
        """Invoice index lines as they are found, until the trail is indexed.

        Raises :class:`Layout` if the trail is not one transaction per line, and
        :class:`WorkerFailed` if the process stopped without an answer.
        """
        while self.trail is None:
            kind, payload = self._receive()
            if kind == _INVOICES:
                yield from payload.decode().splitlines(keepends=True)
            elif kind == _DONE:
                self.trail = pickle.loads(payload)
                self._process.wait()
            elif kind == _LAYOUT:
                self._process.wait()
                raise Layout
            else:
                self._process.wait()
                raise WorkerFailed(payload.decode(errors="replace"))

    def finish(self) -> Trail:
        """Wait for the index (invoice lines not yet taken are in the spool file anyway)."""
        for _entry in self.invoices():
            self.discarded = True
        assert self.trail is not None
        return self.trail

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()


# -- reading lines without parsing them ------------------------------------------------------


def _seek_trail(handle: Any) -> int:
    """Move past ``"transactions": [`` and return that offset, or give up on the line layout."""
    offset = 0
    while True:
        line = handle.readline()
        if not line:
            raise Layout
        offset += len(line)
        text = line.strip()
        if text.startswith(b'"transactions"'):
            if text.replace(b" ", b"") != b'"transactions":[':
                raise Layout
            return offset


def _one_object(text: bytes) -> bool:
    """Whether a line holds one whole JSON object.

    A pretty-printed file fails this on its first line; a line of a multi-line object that
    happens to start with ``{`` and end with ``}`` leaves an unbalanced neighbour, or fails to
    parse when it is read, which reports it.
    """
    return text[:1] == b"{" and text[-1:] == b"}" and text.count(b"{") == text.count(b"}")


def _header(text: bytes) -> tuple[int | None, tuple[int, ...]]:
    """A line's header number and the header numbers its allocations point to.

    Allocation objects hold only numbers, amounts and dates, so a bracket ends their list.
    """
    allocated: tuple[int, ...] = ()
    own = text
    at = text.find(b'"allocations"')
    if at >= 0:
        opening = text.find(b"[", at)
        closing = text.find(b"]", opening)
        if opening > 0 and closing > opening:
            inside = text[opening + 1 : closing]
            if inside.strip():
                allocated = tuple(int(n) for n in _NUMBER.findall(inside))
                own = text[:at] + text[closing + 1 :]
    if own.count(b'"header_number"') == 1:
        found = _NUMBER.search(own)
        if found is not None:
            return int(found.group(1)), allocated
    raw = decode(text)
    number = raw.get("header_number") if isinstance(raw, dict) else None
    return (number if isinstance(number, int) else None), allocated


def _journal_facts(text: bytes) -> tuple[str | None, str | None, str | None, int]:
    """``(type, nominal, net, department)`` of a journal line, from its one split."""
    kind = _TYPE.search(text)
    split = _SPLIT.search(text)
    body = split.group(1) if split else b""
    nominal = _NOMINAL.search(body)
    net = _NET.search(body)
    department = _DEPARTMENT.search(body)
    return (
        kind.group(1).decode() if kind else None,
        nominal.group(1).decode() if nominal else None,
        net.group(1).decode() if net else None,
        int(department.group(1)) if department else 0,
    )


def _parsed_journal_facts(raw: Mapping[str, Any]) -> tuple[str | None, str | None, str | None, int]:
    """``(type, nominal, net, department)`` of a parsed journal line, from its first split."""
    splits = raw.get("splits")
    split = splits[0] if type(splits) is list and splits and type(splits[0]) is dict else {}
    kind, nominal, net = raw.get("type"), split.get("nominal_code"), split.get("net")
    department = split.get("department")
    return (
        kind if type(kind) is str else None,
        nominal if type(nominal) is str else None,
        net if type(net) is str else None,
        department if type(department) is int and department >= 0 else 0,
    )


def _loose(text: bytes) -> Mapping[str, Any]:
    raw = decode(text)
    return raw if isinstance(raw, dict) else {}


def _unknown_type(text: bytes) -> str:
    raw = _loose(text)
    return f"unknown transaction type {raw.get('type')!r}"


if __name__ == "__main__":
    # Run from the module's own name, so what is pickled names its classes by that name.
    from migrationkit.connectors.sage50 import spool as _spool

    sys.exit(_spool._work(sys.argv[1:]))
