"""The ``sage50-json`` source connector.

The audit trail is read once per run: by the validator, which hands each transaction to the
index as it checks it, or (validation off) on the first request for a transactional entity. The
index files each header under its entity on disk, by byte offset and digest (journal lines into
a small SQLite table, to group them whatever their order), and notes, one byte per header
number, which entity each allocation target belongs to. Every entity reads its own index and
parses only its own transactions, so memory stays flat however long the trail.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import pickle
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from migrationkit.core.contract import DeferredRecord, KnownDigests, Rejected
from migrationkit.core.errors import ConfigError, MappingError, SourceError
from migrationkit.core.findings import Finding
from migrationkit.core.hookspecs import hookimpl
from migrationkit.core.model import Record
from migrationkit.core.money import as_decimal

from . import mapping, spool
from .options import Sage50Options
from .reader import iter_transactions, read_sections

__all__ = ["Sage50Source"]

# A file the validator would refuse can reach extraction (--skip-validation): what it breaks in
# the mapping is that record's rejection, not a crash (AttributeError: an object that is not one).
_MAPPING_ERRORS = (
    MappingError,
    KeyError,
    TypeError,
    ValueError,
    IndexError,
    ArithmeticError,
    AttributeError,
)
_STRUCTURE_ERRORS = (*_MAPPING_ERRORS[1:], RecursionError)
_T = TypeVar("_T")
_SPOOLED = ("invoices", "refunds", "credit_notes", "payments", "bank_transactions")
_TRANSFER_OR_JOURNAL = ("manual_journals", "bank_transfers")
_TARGET_FIRST = {"SI": 0, "SP": 0, "PI": 0, "PR": 0}

#: From this size on, the trail is indexed by a second process while this one loads.
PARALLEL_FROM_BYTES = 16 * 1024 * 1024


def _get(raw: Any, name: str) -> Any:
    """A field of a section's element, or None when the element is not an object."""
    return raw.get(name) if isinstance(raw, dict) else None


def _elements(table: Mapping[str, Any], name: str) -> list[Any]:
    value = table.get(name)
    return value if isinstance(value, list) else []


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"the field {exc.args[0]!r} is missing"
    return str(exc) or type(exc).__name__


class Sage50Source:
    """Reads one Sage 50 company exported as sage50-json 1.0."""

    def __init__(self, options: Sage50Options | None = None) -> None:
        options = options or Sage50Options()
        chosen = options.path or options.location
        if not chosen:
            raise ConfigError("sage50-json needs the export file: sage50-json:PATH/TO/company.json")
        self.path = Path(chosen).expanduser()
        if not self.path.is_file():
            raise SourceError(f"{self.path} does not exist or is not a file")
        self.parallel = options.parallel
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
        banks = self._list("bank_accounts")
        return {b["nominal_code"]: b for b in banks if isinstance(b, dict) and "nominal_code" in b}

    def _open_items(self) -> list[Mapping[str, Any]]:
        return [
            *_elements(self._opening, "customer_open_items"),
            *_elements(self._opening, "supplier_open_items"),
        ]

    def stage(self) -> _Stage:
        self._fresh()
        if self._stage is None:
            self._stage = _Stage(self.path, self._open_items(), parallel=self.parallel)
        return self._stage

    def _validated(self) -> Iterator[Finding]:
        """The validator's findings; its pass over the trail also builds the trail's index."""
        from .validation import validate_file

        try:
            self._fresh()
            listener: _IndexWhileValidating | None = _IndexWhileValidating(
                self, _Stage(self.path, self._open_items(), parallel=False, index=False)
            )
        except SourceError:
            listener = None  # unreadable: the validator says why
        try:
            yield from validate_file(self.path, listener)
        finally:
            if listener is not None:
                listener.settle()

    # -- hooks ---------------------------------------------------------------------------------

    @hookimpl
    def migrationkit_identity(self) -> str:
        company = self.sections.get("company")
        company = company if isinstance(company, dict) else {}
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
        return self._validated()

    @hookimpl
    def migrationkit_extract(
        self, entity: str, since: dt.datetime | None, known: KnownDigests | None
    ) -> Iterator[Record | Rejected | DeferredRecord]:
        return self._shaped(lambda: self._extract(entity, known))

    def _extract(
        self, entity: str, known: KnownDigests | None
    ) -> Iterator[Record | Rejected | DeferredRecord]:
        # Transactions are announced by digests of their bytes: with ``known``, those the
        # target holds unchanged are left out before anything is built for them.
        if entity in _SPOOLED:
            return self.stage().records(entity, known)
        if entity in _TRANSFER_OR_JOURNAL:
            return self.stage().journals(entity, self.bank_codes, known)
        if entity == "open_items":
            return self._open_item_records()
        return self._master(entity)

    @hookimpl
    def migrationkit_extract_deleted(self, entity: str, since: dt.datetime | None) -> Iterator[str]:
        return self._shaped(lambda: iter(self.stage().deleted.get(entity, ())))

    def _shaped(self, items: Callable[[], Iterator[_T]]) -> Iterator[_T]:
        """``items``, with a file whose structure is not sage50-json's refused in one line.

        A record that cannot be mapped is a ``Rejected`` item; but a file the validator refuses
        outright (a section or a transaction that is no object, say) can still reach here with
        ``--skip-validation``, and then breaks the reading itself: that is a ``SourceError``
        pointing to ``migrationkit validate``, which says where.
        """
        try:
            yield from items()
        except _STRUCTURE_ERRORS as exc:
            first = (_describe(exc).strip().splitlines() or [""])[0]
            raise SourceError(
                f"{self.path} does not have the structure of sage50-json "
                f"({type(exc).__name__}: {first}); run `migrationkit validate` to see where"
            ) from exc

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
                    _get(raw, "code"),
                    f"/nominal_accounts/{n}",
                    lambda raw=raw: mapping.map_ledger_account(raw, banks),
                )
        elif entity == "tax_rates":
            for n, raw in enumerate(self._list("tax_codes")):
                yield from self._guard(
                    entity,
                    _get(raw, "code"),
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
                    _get(raw, "nominal_code"),
                    f"/bank_accounts/{n}",
                    lambda raw=raw: mapping.map_bank_account(raw),
                )
        elif entity == "contacts":
            for section, ledger in (("customers", "S"), ("suppliers", "P")):
                for n, raw in enumerate(self._list(section)):
                    yield from self._guard(
                        entity,
                        mapping.contact_key(ledger, str(_get(raw, "account_ref"))),
                        f"/{section}/{n}",
                        lambda raw=raw, ledger=ledger: mapping.map_contact(raw, ledger),
                    )
        elif entity == "items":
            for n, raw in enumerate(self._list("products")):
                yield from self._guard(
                    entity,
                    _get(raw, "stock_code"),
                    f"/products/{n}",
                    lambda raw=raw: mapping.map_item(raw),
                )
        elif entity == "opening_balances" and self._opening:
            yield from self._guard_many(
                entity, "/opening_balances", lambda: mapping.map_opening_balances(self._opening)
            )

    def _open_item_records(self) -> Iterator[Record | Rejected]:
        index = self.stage().index
        entries = []
        for section in ("customer_open_items", "supplier_open_items"):
            for n, raw in enumerate(_elements(self._opening, section)):
                entries.append((_TARGET_FIRST.get(str(_get(raw, "type")), 1), section, n, raw))
        # Items that are allocation targets load before the items allocated to them.
        entries.sort(key=lambda entry: entry[0])
        for _, section, n, raw in entries:
            yield from self._guard(
                "open_items",
                str(_get(raw, "header_number")),
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


class _Stage:
    """The audit trail of one file, read once and spooled per entity.

    Each transaction is filed under its entity by its byte offset and parsed only when its
    entity is read (see :mod:`.spool`; on a large file a second process does the filing while
    invoices already load, unless the validator's pass already did it). Exports written one
    transaction per line are filed by a look at each line's type (a JSON string cannot hold an
    unescaped quote, so a match of ``"type":"SI"`` is always the header's own key); other
    layouts element by element (:mod:`.scan`). A trail neither way can read is parsed as a
    JSON stream (layout ``events``).
    """

    def __init__(
        self,
        path: Path,
        open_items: list[Mapping[str, Any]],
        *,
        parallel: bool,
        index: bool = True,
    ) -> None:
        spool.remove_abandoned(Path(tempfile.gettempdir()))
        self._dir = tempfile.TemporaryDirectory(prefix=spool.FOLDER_PREFIX)
        self.root = Path(self._dir.name)
        spool.claim(self.root)
        self.path = path
        self._open_numbers = [
            n for n in (item.get("header_number") for item in open_items) if isinstance(n, int)
        ]
        self._trail: spool.Trail | None = None
        self._source: Any = None
        self._journals = sqlite3.connect(self.root / "journals.db")
        self._journals.execute("PRAGMA journal_mode=OFF")
        self._journals.execute("PRAGMA synchronous=OFF")
        self.layout = "lines"
        self._worker: spool.TrailWorker | None = None
        spool.create_journal_table(self._journals)
        if not index:
            return  # the index comes from a listener (see :class:`_IndexWhileValidating`)
        if parallel and path.stat().st_size >= PARALLEL_FROM_BYTES:
            try:
                self._worker = spool.TrailWorker(path, self.root, self._open_numbers)
            except OSError:
                self._worker = None  # no second process here: index in this one
        if self._worker is None:
            self._index_here()

    def close(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        if self._source is not None:
            self._source.close()
        self._journals.close()
        self._dir.cleanup()

    # -- indexing ------------------------------------------------------------------------------

    def _index_here(self) -> None:
        """Index the trail in this process, in whichever layout it is written."""
        spool.create_journal_table(self._journals)
        try:
            self.layout = "lines"
            self._trail = spool.index_trail(
                self.path, self.root, self._journals, self._open_numbers
            )
        except spool.Layout:
            self.layout = "events"
            spool.create_journal_table(self._journals)
            self._trail = self._spool_events(self.path)
        self._open_source()

    def indexer(self) -> spool.Indexer:
        """An indexer writing this stage's index, for whoever reads the trail anyway."""
        return spool.Indexer(self.root, self._journals, self._open_numbers)

    def adopt(self, trail: spool.Trail) -> None:
        """Take the index an :meth:`indexer` completed."""
        self.layout = "lines"
        self._trail = trail
        self._open_source()

    def _open_source(self) -> None:
        if self.layout == "lines" and self._source is None:
            self._source = self.path.open("rb")

    def _ready(self) -> spool.Trail:
        """The whole trail's index, waiting for the worker if it is still at work."""
        if self._trail is None:
            worker = self._worker
            assert worker is not None
            try:
                self._trail = worker.finish()
                self._open_source()
            except (spool.Layout, spool.WorkerFailed):
                self._index_here()
            finally:
                worker.stop()
                self._worker = None
        assert self._trail is not None
        return self._trail

    @property
    def index(self) -> mapping.TargetIndex:
        return self._ready().index

    @property
    def deleted(self) -> dict[str, list[str]]:
        return self._ready().deleted

    @property
    def rejected(self) -> list[tuple[int, Mapping[str, Any], str]]:
        return self._ready().rejected

    def _spool_events(self, path: Path) -> spool.Trail:
        files = {entity: (self.root / f"{entity}.pickle").open("wb") for entity in _SPOOLED}
        dumps = pickle.dumps
        index = mapping.TargetIndex()
        for open_number in self._open_numbers:
            index.add(open_number, "open_items")
        trail = spool.Trail(index=index)
        journal_rows: list[tuple[Any, ...]] = []
        live_groups: set[Any] = set()
        deleted_groups: set[Any] = set()
        try:
            for position, raw in enumerate(iter_transactions(path)):
                entity = mapping.TRANSACTION_ENTITY.get(str(raw.get("type")))
                number = raw.get("header_number")
                if entity is None:
                    trail.rejected.append(
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
                        spool.insert_journal_rows(self._journals, journal_rows)
                    continue
                if raw.get("deleted"):
                    trail.deleted.setdefault(entity, []).append(str(number))
                    continue
                if entity in ("invoices", "refunds") and isinstance(number, int):
                    index.add(number, entity)
                files[entity].write(dumps((position, raw), 5))
        finally:
            for handle in files.values():
                handle.close()
        spool.insert_journal_rows(self._journals, journal_rows)
        gone = spool.journals_gone(deleted_groups, live_groups)
        for entity in _TRANSFER_OR_JOURNAL:
            trail.deleted[entity] = gone
        return trail

    def _read(self, start: int, length: int) -> Any:
        if self._source is None:
            self._source = self.path.open("rb")
        self._source.seek(start)
        return spool.decode(self._source.read(length))

    def _raw(self, entity: str) -> Iterator[tuple[int, Any]]:
        """``(position, raw header)`` of each transaction of ``entity`` (stream layout)."""
        load = pickle.load
        with (self.root / f"{entity}.pickle").open("rb") as handle:
            while True:
                try:
                    yield load(handle)
                except EOFError:
                    return

    def records(
        self, entity: str, known: KnownDigests | None = None
    ) -> Iterator[Record | Rejected | DeferredRecord]:
        if entity == "invoices" and self._worker is not None and self._trail is None:
            yield from self._streamed_invoices(known)
        else:
            self._ready()
            yield from self._spooled(entity, known=known)
        if entity == "invoices":
            for position, raw, reason in self.rejected:
                yield Rejected(
                    entity=entity,
                    key=str(raw.get("header_number")),
                    code="SOURCE_INVALID",
                    message=reason,
                    pointer=f"/transactions/{position}",
                )

    def _spooled(
        self, entity: str, after: int = -1, known: KnownDigests | None = None
    ) -> Iterator[Record | Rejected | DeferredRecord]:
        """The transactions of ``entity`` from the spool, those past position ``after`` only."""
        if self.layout == "lines":
            with (self.root / f"{entity}.index").open("r") as handle:
                for line in handle:
                    if after < 0 or int(line.split("\t", 1)[0]) > after:
                        item = self._deferred(entity, line, known)
                        if item is not None:
                            yield item
        else:
            for position, raw in self._raw(entity):
                if position > after:
                    yield self._map(entity, position, raw)

    def _streamed_invoices(
        self, known: KnownDigests | None
    ) -> Iterator[Record | Rejected | DeferredRecord]:
        """Invoices as the worker finds them; the rest from the spool if it stopped early."""
        worker = self._worker
        assert worker is not None
        last = -1
        try:
            for line in worker.invoices():
                record = self._deferred("invoices", line, known)
                last = int(line.split("\t", 1)[0])
                if record is not None:
                    yield record
        except (spool.Layout, spool.WorkerFailed):
            pass  # indexed here instead, just below; what was handed out is not repeated
        complete = worker.trail is not None and not worker.discarded
        self._ready()
        if not complete:
            yield from self._spooled("invoices", after=last, known=known)

    def _map(self, entity: str, position: int, raw: Any) -> Record | Rejected:
        try:
            if raw is None:
                raise MappingError("this transaction is not valid JSON")
            index = self._trail.index if self._trail is not None else _AwaitedIndex(self)
            return mapping.map_transaction(raw, index)
        except _MAPPING_ERRORS as exc:
            return Rejected(
                entity=entity,
                key=str(raw.get("header_number")) if isinstance(raw, dict) else "?",
                code="SOURCE_INVALID",
                message=_describe(exc),
                pointer=f"/transactions/{position}",
            )

    def _deferred(
        self, entity: str, line: str, known: KnownDigests | None = None
    ) -> DeferredRecord | None:
        """The transaction of one index line, or None when ``known`` holds it unchanged."""
        position, start, length, header, digest, allocations = line.rstrip("\n").split("\t")
        if allocations:
            # Where an allocation points (an invoice, a refund, an open item) is part of the
            # mapped record, so it is part of the digest too.
            index = self.index
            where = ",".join(index.entity(int(n)) or "?" for n in allocations.split(","))
            digest = hashlib.blake2b(
                f"{digest}|{where}".encode(), digest_size=16, key=spool.DIGEST_KEY
            ).hexdigest()
        if known is not None and known.unchanged(digest):
            return None
        return DeferredRecord(
            entity=entity,
            key=header,
            digest=digest,
            load=functools.partial(self._load, entity, int(position), int(start), int(length)),
        )

    def _load(self, entity: str, position: int, start: int, length: int) -> Record | Rejected:
        return self._map(entity, position, self._read(start, length))

    def journals(
        self, entity: str, bank_codes: Mapping[str, Any], known: KnownDigests | None = None
    ) -> Iterator[Record | Rejected | DeferredRecord]:
        """Journal groups of ``entity``: transfers between banks, or ordinary journals."""
        if self.layout == "lines":
            yield from self._deferred_journals(entity, bank_codes, known)
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
        self, entity: str, bank_codes: Mapping[str, Any], known: KnownDigests | None
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
                    yield from self._deferred_journal(entity, group, rows, bank_codes, banks, known)
                group, rows = row[0], []
            rows.append(row)
        if rows:
            yield from self._deferred_journal(entity, group, rows, bank_codes, banks, known)

    def _deferred_journal(
        self,
        entity: str,
        group: Any,
        rows: list[tuple[Any, ...]],
        bank_codes: Mapping[str, Any],
        banks: str,
        known: KnownDigests | None,
    ) -> Iterator[DeferredRecord]:
        material = "|".join(r[4] for r in rows) + "|" + banks
        digest = hashlib.blake2b(
            material.encode(), digest_size=16, key=spool.DIGEST_KEY
        ).hexdigest()
        if known is not None and known.unchanged(digest):
            return  # written as this entity from these very bytes and banks: it still is one
        is_transfer = False
        if len(rows) == 2 and all(r[6] in bank_codes for r in rows):
            # Only two lines on two banks can be a transfer: the amounts are read for those.
            try:
                legs = [(r[5], r[6], as_decimal(r[7]), r[8]) for r in rows]
                is_transfer = mapping.transfer_legs(legs, bank_codes) is not None
            except (TypeError, ValueError, ArithmeticError):
                pass  # unreadable facts: the full mapping will say what is wrong
        if ("bank_transfers" if is_transfer else "manual_journals") != entity:
            return
        yield DeferredRecord(
            entity=entity,
            key=str(group),
            digest=digest,
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


class _IndexWhileValidating:
    """Builds a source's trail index from the elements the validator reads (one pass, not two).

    Only a complete index is kept: if the validator's quick scan gave up part way, the stage
    is dropped and the source indexes the trail itself when it is first asked.
    """

    def __init__(self, source: Sage50Source, stage: _Stage) -> None:
        self._source = source
        self._stage: _Stage | None = stage
        self._indexer = stage.indexer()
        self._stamp = source._stamp

    def element(self, i: int, offset: int, text: bytes, value: Any) -> None:
        self._indexer.add_value(i, offset, text, value)

    def done(self, complete: bool) -> None:
        stage, self._stage = self._stage, None
        if stage is None:
            return
        source = self._source
        source._fresh()
        if not complete or source._stamp != self._stamp:
            self._indexer.close()
            stage.close()
            return
        stage.adopt(self._indexer.finish())
        if source._stage is not None:
            source._stage.close()
        source._stage = stage

    def settle(self) -> None:
        """Drop the stage if the validation ended before its trail pass did."""
        if self._stage is not None:
            self._indexer.close()
            self._stage.close()
            self._stage = None


class _AwaitedIndex(mapping.TargetIndex):
    """The target index of a trail still being indexed: asked, it waits for the whole index.

    Invoices load while the worker reads on and their mapping never asks; a malformed one that
    does simply waits.
    """

    def __init__(self, stage: _Stage) -> None:
        super().__init__()
        self._stage = stage

    def entity(self, header_number: int) -> str | None:
        return self._stage.index.entity(header_number)
