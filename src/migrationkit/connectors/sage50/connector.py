"""The ``sage50-json`` source connector.

The audit trail is parsed once per run: the first request for a transactional entity streams the
``transactions`` array, spools each header into a per-entity file on disk (journal lines into a
small SQLite table, to group them whatever their order) and notes, one byte per header number,
which entity each allocation target belongs to. Every later entity reads its own spool, so six
document entities cost one parse, and memory stays flat however long the trail.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import pickle
import re
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from migrationkit.core.contract import DeferredRecord, Rejected
from migrationkit.core.errors import ConfigError, MappingError, SourceError
from migrationkit.core.findings import Finding
from migrationkit.core.hookspecs import hookimpl
from migrationkit.core.model import Record

from . import mapping
from .reader import iter_transactions, read_sections

__all__ = ["Sage50Source"]

_MAPPING_ERRORS = (MappingError, KeyError, TypeError, ValueError, IndexError, ArithmeticError)
_SPOOLED = ("invoices", "refunds", "credit_notes", "payments", "bank_transactions")
_TRANSFER_OR_JOURNAL = ("manual_journals", "bank_transfers")
_TARGET_FIRST = {"SI": 0, "SP": 0, "PI": 0, "PR": 0}


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"the field {exc.args[0]!r} is missing"
    return str(exc) or type(exc).__name__


class Sage50Source:
    """Reads one Sage 50 company exported as sage50-json 1.0."""

    def __init__(self, location: str | None = None, *, path: str | None = None) -> None:
        chosen = path or location
        if not chosen:
            raise ConfigError("sage50-json needs the export file: sage50-json:PATH/TO/company.json")
        self.path = Path(chosen).expanduser()
        if not self.path.is_file():
            raise SourceError(f"{self.path} does not exist or is not a file")
        self._sections: dict[str, Any] | None = None
        self._stage: _Stage | None = None
        self._stamp: tuple[int, int] | None = None

    # -- helpers --------------------------------------------------------------------------------

    def _fresh(self) -> None:
        """Forget what was read when the file changed since (a new export in the same place)."""
        stat = self.path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            if self._stage is not None:
                self._stage.close()
            self._sections, self._stage, self._stamp = None, None, stamp

    @property
    def sections(self) -> dict[str, Any]:
        self._fresh()
        if self._sections is None:
            sections = read_sections(self.path)
            if sections.get("format") != "sage50-json":
                raise SourceError(f"{self.path} is not a sage50-json export")
            version = str(sections.get("format_version", ""))
            if version.split(".")[0] != "1":
                raise SourceError(
                    f"{self.path} is sage50-json version {version}; this connector reads 1.x"
                )
            self._sections = sections
        return self._sections

    def _list(self, name: str) -> list[Any]:
        value = self.sections.get(name)
        return value if isinstance(value, list) else []

    @property
    def _opening(self) -> Mapping[str, Any]:
        value = self.sections.get("opening_balances")
        return value if isinstance(value, dict) else {}

    @property
    def bank_codes(self) -> dict[str, Any]:
        return {b.get("nominal_code"): b for b in self._list("bank_accounts")}

    def stage(self) -> _Stage:
        self._fresh()
        if self._stage is None:
            open_items = [
                *self._opening.get("customer_open_items", ()),
                *self._opening.get("supplier_open_items", ()),
            ]
            self._stage = _Stage(self.path, open_items)
        return self._stage

    # -- hooks ---------------------------------------------------------------------------------

    @hookimpl
    def migrationkit_identity(self) -> str:
        company = self.sections.get("company") or {}
        parts = [
            company.get("name", ""),
            company.get("registration") or "",
            company.get("vat_number") or "",
        ]
        return "sage50-json:" + "|".join(str(p) for p in parts)

    @hookimpl
    def migrationkit_snapshot(self) -> str:
        """A digest of the file's bytes and of how this version maps them."""
        with self.path.open("rb") as handle:
            digest = hashlib.file_digest(handle, "blake2b")
        return f"sage50-json/{mapping.MAPPING_VERSION}/{digest.hexdigest()[:32]}"

    @hookimpl
    def migrationkit_finish(self, run: object, success: bool) -> bool:
        if self._stage is not None:
            self._stage.close()
            self._stage = None
        return True

    @hookimpl
    def migrationkit_validate(self) -> Iterator[Finding]:
        from .validator import validate_file

        return validate_file(self.path)

    @hookimpl
    def migrationkit_extract(
        self, entity: str, since: dt.datetime | None
    ) -> Iterator[Record | Rejected | DeferredRecord]:
        if entity in _SPOOLED:
            return self.stage().records(entity)
        if entity in _TRANSFER_OR_JOURNAL:
            return self.stage().journals(entity, self.bank_codes)
        if entity == "open_items":
            return self._open_items()
        return self._master(entity)

    @hookimpl
    def migrationkit_extract_deleted(self, entity: str, since: dt.datetime | None) -> Iterator[str]:
        return iter(self.stage().deleted.get(entity, ()))

    # -- master data ---------------------------------------------------------------------------

    def _master(self, entity: str) -> Iterator[Record | Rejected]:
        sections = self.sections
        if entity == "company":
            as_of = self._opening.get("as_of")
            yield from self._guard(
                entity,
                "company",
                "/company",
                lambda: mapping.map_company(sections["company"], as_of),
            )
        elif entity == "ledger_accounts":
            banks = self.bank_codes
            for n, raw in enumerate(self._list("nominal_accounts")):
                yield from self._guard(
                    entity,
                    raw.get("code"),
                    f"/nominal_accounts/{n}",
                    lambda raw=raw: mapping.map_ledger_account(raw, banks),
                )
        elif entity == "tax_rates":
            for n, raw in enumerate(self._list("tax_codes")):
                yield from self._guard(
                    entity,
                    raw.get("code"),
                    f"/tax_codes/{n}",
                    lambda raw=raw: mapping.map_tax_rate(raw),
                )
        elif entity == "tracking_categories":
            category = mapping.map_departments(self._list("departments"))
            if category is not None:
                yield category
        elif entity == "bank_accounts":
            for n, raw in enumerate(self._list("bank_accounts")):
                yield from self._guard(
                    entity,
                    raw.get("nominal_code"),
                    f"/bank_accounts/{n}",
                    lambda raw=raw: mapping.map_bank_account(raw),
                )
        elif entity == "contacts":
            for section, ledger in (("customers", "S"), ("suppliers", "P")):
                for n, raw in enumerate(self._list(section)):
                    yield from self._guard(
                        entity,
                        mapping.contact_key(ledger, str(raw.get("account_ref"))),
                        f"/{section}/{n}",
                        lambda raw=raw, ledger=ledger: mapping.map_contact(raw, ledger),
                    )
        elif entity == "items":
            for n, raw in enumerate(self._list("products")):
                yield from self._guard(
                    entity,
                    raw.get("stock_code"),
                    f"/products/{n}",
                    lambda raw=raw: mapping.map_item(raw),
                )
        elif entity == "opening_balances" and self._opening:
            yield from self._guard_many(
                entity, "/opening_balances", lambda: mapping.map_opening_balances(self._opening)
            )

    def _open_items(self) -> Iterator[Record | Rejected]:
        index = self.stage().index
        entries = []
        for section in ("customer_open_items", "supplier_open_items"):
            for n, raw in enumerate(self._opening.get(section, ())):
                entries.append((_TARGET_FIRST.get(raw.get("type"), 1), section, n, raw))
        # Items that are allocation targets load before the items allocated to them.
        entries.sort(key=lambda entry: entry[0])
        for _, section, n, raw in entries:
            yield from self._guard(
                "open_items",
                str(raw.get("header_number")),
                f"/opening_balances/{section}/{n}",
                lambda raw=raw: mapping.map_open_item(raw, index),
            )

    @staticmethod
    def _guard(entity: str, key: Any, pointer: str, build: Any) -> Iterator[Record | Rejected]:
        try:
            yield build()
        except _MAPPING_ERRORS as exc:
            yield Rejected(
                entity=entity,
                key=str(key),
                code="SOURCE_INVALID",
                message=_describe(exc),
                pointer=pointer,
            )

    @staticmethod
    def _guard_many(entity: str, pointer: str, build: Any) -> Iterator[Record | Rejected]:
        try:
            records = build()
        except _MAPPING_ERRORS as exc:
            yield Rejected(
                entity=entity,
                key="*",
                code="SOURCE_INVALID",
                message=_describe(exc),
                pointer=pointer,
            )
            return
        yield from records


_TYPE = re.compile(rb'"type":\s*"([A-Z]{2})"')
_NUMBER = re.compile(rb'"header_number":\s*(\d+)')
_GROUP = re.compile(rb'"journal_group":\s*(\d+)')
_DELETED = re.compile(rb'"deleted":\s*true')


class _Layout(Exception):
    """The audit trail is not one transaction per line: read it with the JSON parser."""


class _Stage:
    """The audit trail of one file, read once and spooled per entity.

    Exports written one transaction per line (as the generator and our exporter write them)
    take a fast path: each line is filed under its entity by a look at its type, and parsed
    only when its entity is read. A JSON string cannot hold an unescaped quote, so a match of
    ``"type":"SI"`` is always the header's own key. Any other layout is parsed as a JSON stream.
    """

    def __init__(self, path: Path, open_items: list[Mapping[str, Any]]) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="migrationkit-sage50-")
        self.root = Path(self._dir.name)
        self.deleted: dict[str, list[str]] = {}
        self.rejected: list[tuple[int, Mapping[str, Any], str]] = []
        self._open_items = open_items
        self._source: Any = None
        self._journals = sqlite3.connect(self.root / "journals.db")
        self._journals.execute("PRAGMA journal_mode=OFF")
        self._journals.execute("PRAGMA synchronous=OFF")
        self.layout = "lines"
        try:
            self._reset()
            self._spool_lines(path)
        except _Layout:
            self.layout = "events"
            self._reset()
            self._spool_events(path)

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
        self._journals.close()
        self._dir.cleanup()

    def _reset(self) -> None:
        self.index = mapping.TargetIndex()
        for item in self._open_items:
            number = item.get("header_number")
            if isinstance(number, int):
                self.index.add(number, "open_items")
        self.deleted.clear()
        self.rejected.clear()
        self._journals.execute("DROP TABLE IF EXISTS line")
        # Journal lines by group: in the line layout an index entry with the facts that tell a
        # transfer from a journal; in the stream layout the pickled header (``raw``).
        self._journals.execute(
            "CREATE TABLE line (grp INTEGER, header INTEGER, position INTEGER, start INTEGER, "
            "length INTEGER, digest TEXT, kind TEXT, nominal TEXT, net TEXT, department INTEGER, "
            "raw BLOB)"
        )

    def _spool_lines(self, path: Path) -> None:
        """Index the trail: where each transaction is, its header number and its digest."""
        files = {entity: (self.root / f"{entity}.index").open("w") for entity in _SPOOLED}
        journal_rows: list[tuple[Any, ...]] = []
        live_groups: set[Any] = set()
        deleted_groups: set[Any] = set()
        entities = mapping.TRANSACTION_ENTITY
        try:
            with path.open("rb") as handle:
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
                        raise _Layout
                    found = _TYPE.search(text)
                    entity = entities.get(found.group(1).decode()) if found else None
                    if entity is None:
                        self.rejected.append((position, _loose(text), _unknown_type(text)))
                        continue
                    deleted = (b'"deleted":true' in text) or (
                        b'"deleted"' in text and _DELETED.search(text) is not None
                    )
                    digest = hashlib.blake2b(text, digest_size=16, key=_DIGEST_KEY).hexdigest()
                    if entity == "manual_journals":
                        group_match = _GROUP.search(text)
                        group = int(group_match.group(1)) if group_match else None
                        if deleted:
                            deleted_groups.add(group)
                            continue
                        live_groups.add(group)
                        journal_rows.append(
                            (
                                group,
                                _header(text)[0],
                                position,
                                start,
                                len(text),
                                digest,
                                *_journal_facts(text),
                            )
                        )
                        if len(journal_rows) >= 5000:
                            self._insert_journals(journal_rows)
                        continue
                    header, allocations = _header(text)
                    if deleted:
                        self.deleted.setdefault(entity, []).append(str(header))
                        continue
                    if entity in ("invoices", "refunds") and header is not None:
                        self.index.add(header, entity)
                    files[entity].write(
                        f"{position}\t{start}\t{len(text)}\t{header}\t{digest}\t"
                        f"{','.join(map(str, allocations))}\n"
                    )
        finally:
            for spool in files.values():
                spool.close()
        self._insert_journals(journal_rows)
        self._journals_gone(deleted_groups, live_groups)
        self._source = path.open("rb")

    def _insert_journals(self, rows: list[Any]) -> None:
        """Write the buffered journal lines and empty the buffer."""
        if rows:
            padded = [(*row, None) if len(row) == 10 else row for row in rows]
            self._journals.executemany("INSERT INTO line VALUES (?,?,?,?,?,?,?,?,?,?,?)", padded)
            rows.clear()

    def _journals_gone(self, deleted_groups: set[Any], live_groups: set[Any]) -> None:
        gone = [str(g) for g in sorted(deleted_groups - live_groups, key=str)]
        for entity in _TRANSFER_OR_JOURNAL:
            self.deleted[entity] = gone

    def _spool_events(self, path: Path) -> None:
        files = {entity: (self.root / f"{entity}.pickle").open("wb") for entity in _SPOOLED}
        dumps = pickle.dumps
        journal_rows: list[tuple[Any, ...]] = []
        live_groups: set[Any] = set()
        deleted_groups: set[Any] = set()
        try:
            for position, raw in enumerate(iter_transactions(path)):
                entity = mapping.TRANSACTION_ENTITY.get(str(raw.get("type")))
                number = raw.get("header_number")
                if entity is None:
                    self.rejected.append(
                        (position, raw, f"unknown transaction type {raw.get('type')!r}")
                    )
                    continue
                if entity == "manual_journals":
                    group = raw.get("journal_group")
                    if raw.get("deleted"):
                        deleted_groups.add(group)
                        continue
                    live_groups.add(group)
                    journal_rows.append(
                        (
                            group,
                            number,
                            position,
                            None,
                            None,
                            None,
                            None,
                            None,
                            None,
                            None,
                            dumps(raw, 5),
                        )
                    )
                    if len(journal_rows) >= 5000:
                        self._insert_journals(journal_rows)
                    continue
                if raw.get("deleted"):
                    self.deleted.setdefault(entity, []).append(str(number))
                    continue
                if entity in ("invoices", "refunds") and isinstance(number, int):
                    self.index.add(number, entity)
                files[entity].write(dumps((position, raw), 5))
        finally:
            for handle in files.values():
                handle.close()
        self._insert_journals(journal_rows)
        self._journals_gone(deleted_groups, live_groups)

    def _read(self, start: int, length: int) -> Any:
        self._source.seek(start)
        return _decode(self._source.read(length))

    def _raw(self, entity: str) -> Iterator[tuple[int, Any]]:
        """``(position, raw header)`` of each transaction of ``entity`` (stream layout)."""
        load = pickle.load
        with (self.root / f"{entity}.pickle").open("rb") as handle:
            while True:
                try:
                    yield load(handle)
                except EOFError:
                    return

    def records(self, entity: str) -> Iterator[Record | Rejected | DeferredRecord]:
        if self.layout == "lines":
            yield from self._deferred(entity)
        else:
            for position, raw in self._raw(entity):
                yield self._map(entity, position, raw)
        if entity == "invoices":
            for position, raw, reason in self.rejected:
                yield Rejected(
                    entity=entity,
                    key=str(raw.get("header_number")),
                    code="SOURCE_INVALID",
                    message=reason,
                    pointer=f"/transactions/{position}",
                )

    def _map(self, entity: str, position: int, raw: Any) -> Record | Rejected:
        try:
            if raw is None:
                raise MappingError("this transaction is not valid JSON")
            return mapping.map_transaction(raw, self.index)
        except _MAPPING_ERRORS as exc:
            return Rejected(
                entity=entity,
                key=str(raw.get("header_number")) if isinstance(raw, dict) else "?",
                code="SOURCE_INVALID",
                message=_describe(exc),
                pointer=f"/transactions/{position}",
            )

    def _deferred(self, entity: str) -> Iterator[DeferredRecord]:
        index = self.index
        with (self.root / f"{entity}.index").open("r") as handle:
            for line in handle:
                position, start, length, header, digest, allocations = line.rstrip("\n").split("\t")
                if allocations:
                    # Where an allocation points (an invoice, a refund, an open item) is part of
                    # the mapped record, so it is part of the digest too.
                    where = ",".join(index.entity(int(n)) or "?" for n in allocations.split(","))
                    digest = hashlib.blake2b(
                        f"{digest}|{where}".encode(), digest_size=16, key=_DIGEST_KEY
                    ).hexdigest()
                yield DeferredRecord(
                    entity=entity,
                    key=header,
                    digest=digest,
                    load=functools.partial(
                        self._load, entity, int(position), int(start), int(length)
                    ),
                )

    def _load(self, entity: str, position: int, start: int, length: int) -> Record | Rejected:
        return self._map(entity, position, self._read(start, length))

    def journals(
        self, entity: str, bank_codes: Mapping[str, Any]
    ) -> Iterator[Record | Rejected | DeferredRecord]:
        """Journal groups of ``entity``: transfers between banks, or ordinary journals."""
        if self.layout == "lines":
            yield from self._deferred_journals(entity, bank_codes)
            return
        cursor = self._journals.execute(
            "SELECT grp, position, raw FROM line ORDER BY grp, header, position"
        )
        group: Any = object()
        members: list[Mapping[str, Any]] = []
        first_position = 0
        for grp, position, blob in cursor:
            if grp != group:
                if members:
                    yield from self._journal(entity, group, members, first_position, bank_codes)
                group, members, first_position = grp, [], position
            members.append(pickle.loads(blob))
        if members:
            yield from self._journal(entity, group, members, first_position, bank_codes)

    def _deferred_journals(
        self, entity: str, bank_codes: Mapping[str, Any]
    ) -> Iterator[DeferredRecord]:
        banks = hashlib.blake2b(
            ",".join(sorted(map(str, bank_codes))).encode(), digest_size=8
        ).hexdigest()
        cursor = self._journals.execute(
            "SELECT grp, position, start, length, digest, kind, nominal, net, department "
            "FROM line ORDER BY grp, header, position"
        )
        group: Any = object()
        rows: list[tuple[Any, ...]] = []
        for row in cursor:
            if row[0] != group:
                if rows:
                    yield from self._deferred_journal(entity, group, rows, bank_codes, banks)
                group, rows = row[0], []
            rows.append(row)
        if rows:
            yield from self._deferred_journal(entity, group, rows, bank_codes, banks)

    def _deferred_journal(
        self,
        entity: str,
        group: Any,
        rows: list[tuple[Any, ...]],
        bank_codes: Mapping[str, Any],
        banks: str,
    ) -> Iterator[DeferredRecord]:
        try:
            legs = [(r[5], r[6], Decimal(r[7]), r[8]) for r in rows]
            is_transfer = mapping.transfer_legs(legs, bank_codes) is not None
        except (TypeError, ArithmeticError):
            is_transfer = False  # unreadable facts: the full mapping will say what is wrong
        if ("bank_transfers" if is_transfer else "manual_journals") != entity:
            return
        material = "|".join(r[4] for r in rows) + "|" + banks
        yield DeferredRecord(
            entity=entity,
            key=str(group),
            digest=hashlib.blake2b(material.encode(), digest_size=16, key=_DIGEST_KEY).hexdigest(),
            load=functools.partial(self._load_journal, entity, group, rows, bank_codes),
        )

    def _load_journal(
        self,
        entity: str,
        group: Any,
        rows: list[tuple[Any, ...]],
        bank_codes: Mapping[str, Any],
    ) -> Record | Rejected:
        members = [self._read(row[2], row[3]) for row in rows]
        for record in self._journal(entity, group, members, rows[0][1], bank_codes, strict=True):
            return record
        return Rejected(
            entity=entity,
            key=str(group),
            code="SOURCE_INVALID",
            message="the journal's header amounts disagree with its lines",
            pointer=f"/transactions/{rows[0][1]}",
        )

    @staticmethod
    def _journal(
        entity: str,
        group: Any,
        members: list[Mapping[str, Any]],
        position: int,
        bank_codes: Mapping[str, Any],
        *,
        strict: bool = False,
    ) -> Iterator[Record | Rejected]:
        """Map one journal group; yield it if it belongs to ``entity``.

        ``strict`` reports a rejection whatever the entity (the caller already decided it).
        """
        try:
            if not isinstance(group, int):
                raise MappingError(f"journal line has no journal_group (got {group!r})")
            if any(m is None for m in members):
                raise MappingError("a journal line is not valid JSON")
            record = mapping.map_journal(group, members, bank_codes)
        except _MAPPING_ERRORS as exc:
            if strict or entity == "manual_journals":
                yield Rejected(
                    entity=entity,
                    key=str(group),
                    code="SOURCE_INVALID",
                    message=_describe(exc),
                    pointer=f"/transactions/{position}",
                )
            return
        if record.entity == entity:
            yield record


def _seek_trail(handle: Any) -> int:
    """Move past ``"transactions": [`` and return that offset, or give up on the line layout."""
    offset = 0
    while True:
        line = handle.readline()
        if not line:
            raise _Layout
        offset += len(line)
        text = line.strip()
        if text.startswith(b'"transactions"'):
            if text.replace(b" ", b"") != b'"transactions":[':
                raise _Layout
            return offset


def _one_object(text: bytes) -> bool:
    """Whether a line holds one whole JSON object.

    A pretty-printed file fails this on its first line; a line of a multi-line object that
    happens to start with ``{`` and end with ``}`` leaves an unbalanced neighbour, or fails to
    parse when it is read, which reports it.
    """
    return text[:1] == b"{" and text[-1:] == b"}" and text.count(b"{") == text.count(b"}")


_SPLIT = re.compile(rb'"splits":\s*\[([^\]]*)\]')
_NOMINAL = re.compile(rb'"nominal_code":\s*"([^"]*)"')
_NET = re.compile(rb'"net":\s*"([^"]*)"')
_DEPARTMENT = re.compile(rb'"department":\s*(\d+)')
_DIGEST_KEY = f"sage50-json/{mapping.MAPPING_VERSION}".encode()


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
    raw = _decode(text)
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


# Amounts are strings; a number where an amount belongs stays exact (the validator reports
# it), as the streaming parser keeps it. One decoder, not one per call.
_JSON = json.JSONDecoder(parse_float=Decimal)


def _decode(text: bytes) -> Any:
    try:
        return _JSON.decode(text.decode("utf-8"))
    except ValueError:
        return None


def _loose(text: bytes) -> Mapping[str, Any]:
    raw = _decode(text)
    return raw if isinstance(raw, dict) else {}


def _unknown_type(text: bytes) -> str:
    raw = _loose(text)
    return f"unknown transaction type {raw.get('type')!r}"
