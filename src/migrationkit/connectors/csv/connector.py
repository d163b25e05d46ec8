"""The ``csv`` connector: a folder with one file per entity, as source and as target.

As a target it is transactional per batch, so a run killed at any moment resumes without a lost
or doubled row. After each batch the files are flushed and fsynced, and their sizes are recorded
in ``.migrationkit-csv.json``; when a run opens the folder again, anything written after the
last recorded size (a batch cut off by a crash) is cut away, and the engine writes it again.
Updates and removals are logged in ``.migrationkit-csv-changes`` and applied at the end of the
run by rewriting the affected files atomically (an updated record moves to the end of its file).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from migrationkit.core.capabilities import Removal
from migrationkit.core.contract import (
    Found,
    LoadRequest,
    LoadResult,
    Operation,
    References,
    Rejected,
    RemovalRequest,
    RemovalResult,
    RunContext,
)
from migrationkit.core.errors import ConfigError, MappingError, SourceError, StateError
from migrationkit.core.findings import Finding, Severity
from migrationkit.core.hookspecs import hookimpl
from migrationkit.core.model import ENTITY_ORDER, Allocation, Record
from migrationkit.core.references import remap

from .codec import ALLOCATION_COLUMNS, EntityCodec, Scalars, codec_for
from .options import DATE_FORMATS, CsvOptions

__all__ = ["CHECKPOINT", "CsvConnector"]

CHECKPOINT = ".migrationkit-csv.json"
CHANGES = ".migrationkit-csv-changes"
ALLOCATIONS = "allocations"


def _sniff_delimiter(first_line: str) -> str:
    return ";" if first_line.count(";") > first_line.count(",") else ","


class CsvConnector:
    """Reads and writes canonical records as CSV files in one folder."""

    def __init__(self, options: CsvOptions | None = None) -> None:
        options = options or CsvOptions()
        chosen = options.path or options.location
        if not chosen:
            raise ConfigError("csv needs a folder: csv:PATH/TO/FOLDER")
        self.root = Path(chosen).expanduser()
        self.delimiter = options.delimiter
        self.decimal = options.decimal
        self.dates = options.dates
        self.bom = options.bom
        self._writer: _Writer | None = None

    def _file(self, entity: str) -> Path:
        return self.root / f"{entity}.csv"

    # -- both sides ---------------------------------------------------------------------------

    @hookimpl
    def migrationkit_identity(self) -> str:
        return f"csv:{self.root.resolve()}"

    @hookimpl
    def migrationkit_begin(self, run: RunContext) -> bool:
        if self._writer is None and run.mode not in ("plan", "reconcile", "validate"):
            self._writer = _Writer(self.root, delimiter=self._write_delimiter, bom=self.bom)
        return True

    @hookimpl
    def migrationkit_finish(self, run: RunContext, success: bool) -> bool:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        return True

    @property
    def _write_delimiter(self) -> str:
        return ";" if self.delimiter == ";" else ","

    # -- source --------------------------------------------------------------------------------

    def _open_read(self, path: Path) -> tuple[IO[str], str, Scalars]:
        try:
            handle = path.open("r", encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise SourceError(f"cannot open {path}: {exc.strerror}") from None
        try:
            first = handle.readline()
        except UnicodeDecodeError:
            handle.close()
            raise SourceError(f"{path} is not UTF-8 text; save it as UTF-8 CSV") from None
        handle.seek(0)
        if handle.read(1) != "\ufeff":
            handle.seek(0)
        delimiter = _sniff_delimiter(first) if self.delimiter == "auto" else self.delimiter
        mark = self.decimal if self.decimal != "auto" else ("," if delimiter == ";" else ".")
        return handle, delimiter, Scalars(decimal_mark=mark, date_formats=DATE_FORMATS[self.dates])

    def _rows(self, path: Path) -> Iterator[tuple[int, dict[str, str], Scalars]]:
        handle, delimiter, scalars = self._open_read(path)
        with handle:
            # A row shorter than the header has its last cells empty; one longer keeps its
            # surplus under the key None, which no column reads.
            reader = csv.DictReader(handle, delimiter=delimiter, restval="")
            try:
                for row in reader:
                    yield reader.line_num, row, scalars
            except UnicodeDecodeError:
                raise SourceError(f"{path} is not UTF-8 text; save it as UTF-8 CSV") from None
            except csv.Error as exc:
                raise SourceError(f"{path}, line {reader.line_num}: {exc}") from None

    def _header(self, path: Path) -> list[str]:
        handle, delimiter, _scalars = self._open_read(path)
        with handle:
            return next(csv.reader(handle, delimiter=delimiter), [])

    def _allocations(self, entity: str) -> dict[str, list[Allocation]]:
        path = self._file(ALLOCATIONS)
        found: dict[str, list[Allocation]] = {}
        if not path.exists():
            return found
        for line, row, scalars in self._rows(path):
            if row.get("entity") != entity:
                continue
            try:
                allocation = codec_for(entity, scalars).allocation(row)
            except (MappingError, KeyError, TypeError, ValueError) as exc:
                raise SourceError(f"{path}, line {line}: {exc}") from None
            found.setdefault(row.get("key", ""), []).append(allocation)
        return found

    @hookimpl
    def migrationkit_extract(self, entity: str, since: object) -> Iterator[Record | Rejected]:
        return self._extract(entity)

    def _extract(self, entity: str) -> Iterator[Record | Rejected]:
        path = self._file(entity)
        if not path.exists():
            return
        missing = codec_for(entity).missing_columns(self._header(path))
        if missing:
            raise SourceError(f"{path} lacks the column(s) {', '.join(missing)}")
        allocations = self._allocations(entity) if codec_for(entity).has_allocations else {}
        seen: set[str] = set()
        group: list[dict[str, str]] = []
        group_line = 0
        codec: EntityCodec | None = None
        for line, row, scalars in self._rows(path):
            codec = codec or codec_for(entity, scalars)
            key = row.get("key", "")
            if group and key != group[0].get("key", ""):
                yield self._build(codec, path, group_line, group, allocations)
                group = []
            if not group:
                if key in seen:
                    raise SourceError(
                        f"{path}, line {line}: the rows of {entity} {key!r} are not together; "
                        "keep all rows of one record next to each other"
                    )
                seen.add(key)
                group_line = line
            group.append(row)
        if group and codec is not None:
            yield self._build(codec, path, group_line, group, allocations)

    @staticmethod
    def _build(
        codec: EntityCodec,
        path: Path,
        line: int,
        rows: list[dict[str, str]],
        allocations: Mapping[str, list[Allocation]],
    ) -> Record | Rejected:
        key = rows[0].get("key", "")
        try:
            if not key:
                raise MappingError("the key column is empty")
            return codec.record(rows, allocations.get(key, ()))
        except (MappingError, TypeError, ValueError) as exc:
            return Rejected(
                entity=codec.entity,
                key=key or f"line {line}",
                code="CSV_INVALID",
                message=str(exc),
                pointer=f"{path.name}:{line}",
            )

    @hookimpl
    def migrationkit_validate(self) -> Iterator[Finding]:
        return self._validate()

    def _validate(self) -> Iterator[Finding]:
        if not self.root.is_dir():
            yield Finding(
                code="CSV_FOLDER", message=f"{self.root} is not a folder", pointer=str(self.root)
            )
            return
        keys: dict[str, set[str]] = {}
        references: list[tuple[str, str, str, str]] = []
        for entity in ENTITY_ORDER:
            keys[entity] = set()
            try:
                for item in self._extract(entity):
                    if isinstance(item, Rejected):
                        yield Finding(
                            code=item.code, message=item.message, pointer=item.pointer or ""
                        )
                        continue
                    keys[entity].add(item.key)
                    for ref_entity, ref_key in item.references():
                        references.append((entity, item.key, ref_entity, ref_key))
            except SourceError as exc:
                yield Finding(code="CSV_UNREADABLE", message=str(exc), pointer=f"{entity}.csv")
        for entity, key, ref_entity, ref_key in references:
            if ref_key not in keys.get(ref_entity, ()):
                yield Finding(
                    code="UNKNOWN_REFERENCE",
                    severity=Severity.ERROR,
                    message=(
                        f"{entity} {key} refers to {ref_entity} {ref_key}, "
                        "which is not in the folder"
                    ),
                    pointer=f"{entity}.csv",
                )

    # -- target --------------------------------------------------------------------------------

    def _require_writer(self) -> _Writer:
        if self._writer is None:
            self._writer = _Writer(self.root, delimiter=self._write_delimiter, bom=self.bom)
        return self._writer

    @hookimpl
    def migrationkit_load(
        self, entity: str, requests: Sequence[LoadRequest], refs: References
    ) -> list[LoadResult]:
        writer = self._require_writer()
        codec = codec_for(entity)
        results = []
        # Without mappings every reference resolves to its own key: nothing to translate.
        translate = any(refs.mapped(e) for e in ENTITY_ORDER)
        records = []
        updated = []
        for request in requests:
            record = _as_target(request.record, refs) if translate else request.record
            records.append(record)
            if request.operation is Operation.UPDATE:
                updated.append(record.key)
            results.append(LoadResult(ok=True, target_id=record.key))
        writer.write(entity, codec, records, updated=updated)
        writer.commit()
        return results

    @hookimpl
    def migrationkit_find_existing(
        self, entity: str, request: LoadRequest, refs: References
    ) -> Found:
        writer = self._require_writer()
        key = request.record.key
        return Found(target_id=key if writer.holds(entity, key) else None)

    @hookimpl
    def migrationkit_remove(
        self, entity: str, requests: Sequence[RemovalRequest]
    ) -> list[RemovalResult]:
        writer = self._require_writer()
        results = []
        for request in requests:
            if Removal.DELETE not in request.actions:
                # Rows can only be deleted; voiding or archiving a row means nothing here.
                results.append(
                    RemovalResult(
                        removed=False,
                        reason="NOT_SUPPORTED",
                        message="the csv connector can only delete rows",
                    )
                )
                continue
            writer.remove(entity, request.target_id)
            results.append(RemovalResult(removed=True, action=Removal.DELETE))
        writer.commit()
        return results


def _as_target(record: Record, refs: References) -> Record:
    """The record with its references as the ids they resolved to.

    The folder holds source keys, so this changes nothing unless a mapping sent a reference to
    another record (an account mapped onto an existing one).
    """
    for entity, key in record.references():
        if refs.mapped(entity) and refs.target_id(entity, key) != key:
            return remap(record, lambda e, k: refs.target_id(e, k) or k)
    return record


class _Writer:
    """Appends rows durably and applies updates and removals at the end of the run."""

    def __init__(self, root: Path, *, delimiter: str, bom: bool) -> None:
        self.root = root
        self.delimiter = delimiter
        self.bom = bom
        root.mkdir(parents=True, exist_ok=True)
        self._checkpoint_path = root / CHECKPOINT
        self._handles: dict[str, IO[str]] = {}
        self._dirty: set[str] = set()
        self._keys: dict[str, set[str]] = {}
        self._run_start: dict[str, int] = {}
        self._recover()
        self._run_start = {name: self._size(name) for name in _DATA_FILES}
        self._write_checkpoint()

    # -- durability ------------------------------------------------------------------------------

    def _path(self, name: str) -> Path:
        return self.root / (CHANGES if name == CHANGES else f"{name}.csv")

    def _size(self, name: str) -> int:
        path = self._path(name)
        return path.stat().st_size if path.exists() else 0

    def _recover(self) -> None:
        existing = [name for name in _DATA_FILES if self._path(name).exists()]
        if not self._checkpoint_path.exists():
            if existing:
                raise StateError(
                    f"{self.root} already holds CSV files that migrationkit did not write "
                    f"({', '.join(n + '.csv' for n in existing[:3])}); choose an empty folder"
                )
            return
        try:
            state = json.loads(self._checkpoint_path.read_text("utf-8"))
            sizes = state["sizes"]
            self._run_start = {k: int(v) for k, v in state.get("run_start", {}).items()}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StateError(f"{self._checkpoint_path} is damaged: {exc}") from None
        # Cut away whatever a crashed run wrote after its last commit.
        for name in [*_DATA_FILES, CHANGES]:
            path = self._path(name)
            committed = int(sizes.get(name, 0))
            if path.exists() and path.stat().st_size > committed:
                with path.open("r+b") as handle:
                    handle.truncate(committed)
                    handle.flush()
                    os.fsync(handle.fileno())
            if committed == 0 and path.exists():
                path.unlink()
        if self._size(CHANGES):
            # A run ended before applying its updates and removals: apply them now.
            self._compact()

    def _write_checkpoint(self) -> None:
        state = {
            "format": "migrationkit-csv",
            "version": 1,
            "sizes": {name: self._size(name) for name in [*_DATA_FILES, CHANGES]},
            "run_start": self._run_start,
        }
        tmp = self._checkpoint_path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            json.dump(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self._checkpoint_path)
        _fsync_dir(self.root)

    def commit(self) -> None:
        """Make everything written so far durable, then record it as committed."""
        for name in self._dirty:
            handle = self._handles[name]
            handle.flush()
            os.fsync(handle.fileno())
        if self._dirty:
            self._dirty.clear()
            self._write_checkpoint()

    # -- writing -------------------------------------------------------------------------------

    def _handle(self, name: str, header: Sequence[str]) -> IO[str]:
        handle = self._handles.get(name)
        if handle is not None:
            return handle
        path = self._path(name)
        fresh = not path.exists() or path.stat().st_size == 0
        if not fresh:
            with path.open("r", encoding="utf-8-sig", newline="") as existing:
                found = next(csv.reader(existing, delimiter=self.delimiter), [])
            if found != list(header):
                raise StateError(
                    f"{path} has other columns than migrationkit writes for it; "
                    "was it edited or written by another version?"
                )
        handle = path.open("a", encoding="utf-8", newline="")
        if fresh:
            if self.bom:
                handle.write("\ufeff")
            csv.writer(handle, delimiter=self.delimiter).writerow(header)
        self._handles[name] = handle
        return handle

    def write(
        self,
        entity: str,
        codec: EntityCodec,
        records: Sequence[Record],
        *,
        updated: Sequence[str] = (),
    ) -> None:
        """Append the rows of ``records`` (one batch, encoded together) and log the updates."""
        handle = self._handle(entity, codec.header)
        buffer = io.StringIO()
        rows = csv.writer(buffer, delimiter=self.delimiter)
        encode = codec.rows
        for record in records:
            rows.writerows(encode(record))
        handle.write(buffer.getvalue())
        self._dirty.add(entity)
        if codec.has_allocations:
            buffer = io.StringIO()
            rows = csv.writer(buffer, delimiter=self.delimiter)
            for record in records:
                rows.writerows(codec.allocation_rows(record))
            if buffer.tell():
                self._handle(ALLOCATIONS, ALLOCATION_COLUMNS).write(buffer.getvalue())
                self._dirty.add(ALLOCATIONS)
        for key in updated:
            self._log_change("U", entity, key)
        if entity in self._keys:
            self._keys[entity].update(record.key for record in records)

    def remove(self, entity: str, key: str) -> None:
        self._log_change("D", entity, key)
        if entity in self._keys:
            self._keys[entity].discard(key)

    def _log_change(self, kind: str, entity: str, key: str) -> None:
        handle = self._handles.get(CHANGES)
        if handle is None:
            handle = self._handles[CHANGES] = self._path(CHANGES).open("a", encoding="utf-8")
        handle.write(json.dumps([kind, entity, key], ensure_ascii=False) + "\n")
        self._dirty.add(CHANGES)

    def holds(self, entity: str, key: str) -> bool:
        """Whether the committed files hold ``key`` (asked only when resuming)."""
        if entity not in self._keys:
            rows = _RawRows(self._path(entity), self.delimiter)
            keys: set[str] = set()
            if self._path(entity).exists() and rows.header() is not None:
                for (_entity, found), _raw in rows.groups(rows.body_start, None, _first_field):
                    keys.add(found)
            self._keys[entity] = keys
        return key in self._keys[entity]

    def close(self) -> None:
        self.commit()
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()
        if self._size(CHANGES):
            self._compact()

    # -- compaction ----------------------------------------------------------------------------

    def _compact(self) -> None:
        """Apply logged updates and removals by rewriting the files they touch."""
        updated: set[tuple[str, str]] = set()
        removed: set[tuple[str, str]] = set()
        with self._path(CHANGES).open("r", encoding="utf-8") as handle:
            for line in handle:
                kind, entity, key = json.loads(line)
                if kind == "U":
                    updated.add((entity, key))
                    removed.discard((entity, key))
                else:
                    removed.add((entity, key))
        entities = sorted({entity for entity, _ in updated | removed})
        for entity in entities:
            self._rewrite(entity, updated, removed, entity)
        if any(codec_for(entity).has_allocations for entity in entities):
            self._rewrite(ALLOCATIONS, updated, removed, None)
        self._path(CHANGES).unlink()
        self._write_checkpoint()
        self._keys.clear()

    def _rewrite(
        self,
        name: str,
        updated: set[tuple[str, str]],
        removed: set[tuple[str, str]],
        entity: str | None,
    ) -> None:
        """Rewrite one file without removed records and with only the newest updates.

        Rows before this run's first write are older versions: an updated record's rows there
        go. Among this run's rows, an updated record keeps only its last version (a resumed run
        may have written it twice). Rows that stay are copied byte for byte.
        """
        path = self._path(name)
        if not path.exists():
            return
        start = self._run_start.get(name, 0)
        rows = _RawRows(path, self.delimiter)
        header = rows.header()
        if header is None:
            return
        key_at = header.index("key")
        entity_at = header.index("entity") if entity is None else -1

        def owner(fields: list[str]) -> tuple[str, str]:
            return (entity if entity is not None else fields[entity_at]), fields[key_at]

        last: dict[tuple[str, str], int] = {}
        for ordinal, (who, _raw) in enumerate(rows.groups(start, None, owner)):
            if who in updated:
                last[who] = ordinal
        tmp = path.with_suffix(".csv.tmp")
        with tmp.open("wb") as out:
            out.write(rows.header_bytes)
            if start > rows.body_start:
                for who, raw in rows.groups(rows.body_start, start, owner):
                    if who not in updated and who not in removed:
                        out.write(raw)
            for ordinal, (who, raw) in enumerate(
                rows.groups(max(start, rows.body_start), None, owner)
            ):
                if who in removed or (who in updated and last[who] != ordinal):
                    continue
                out.write(raw)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        _fsync_dir(self.root)


class _RawRows:
    """The rows of a CSV file as raw bytes, with just enough parsing to know whose they are.

    A row ends at a line break outside quotes; CSV doubles quotes inside quoted fields, so a
    row is complete when it holds an even number of quote characters.
    """

    def __init__(self, path: Path, delimiter: str) -> None:
        self.path = path
        self.delimiter = delimiter
        self.header_bytes = b""
        self.body_start = 0

    def header(self) -> list[str] | None:
        with self.path.open("rb") as handle:
            line = handle.readline()
        if not line:
            return None
        self.header_bytes = line
        self.body_start = len(line)
        text = line.decode("utf-8").lstrip("\ufeff")
        return next(csv.reader([text], delimiter=self.delimiter))

    def rows(self, begin: int, end: int | None) -> Iterator[bytes]:
        with self.path.open("rb") as handle:
            handle.seek(begin)
            position = begin
            pending = b""
            while end is None or position < end:
                line = handle.readline()
                if not line:
                    break
                position += len(line)
                pending += line
                if pending.count(b'"') % 2 == 0:
                    yield pending
                    pending = b""
            if pending:
                yield pending

    def groups(
        self, begin: int, end: int | None, owner: Any, width: int = 2
    ) -> Iterator[tuple[tuple[str, str], bytes]]:
        """Consecutive rows of one record, as ``(owner, raw bytes)``.

        ``owner`` reads the first ``width`` fields of a row; only those are decoded.
        """
        current: tuple[str, str] | None = None
        chunk: list[bytes] = []
        delimiter = self.delimiter.encode()
        for raw in self.rows(begin, end):
            if not raw.strip():
                continue
            if b'"' in raw:
                fields = next(csv.reader([raw.decode("utf-8")], delimiter=self.delimiter))
            else:
                fields = [
                    part.decode("utf-8")
                    for part in raw.rstrip(b"\r\n").split(delimiter, width)[:width]
                ]
            who = owner(fields)
            if chunk and who != current:
                yield current, b"".join(chunk)  # type: ignore[misc]
                chunk = []
            current = who
            chunk.append(raw)
        if chunk:
            yield current, b"".join(chunk)  # type: ignore[misc]


_DATA_FILES = (*ENTITY_ORDER, ALLOCATIONS)


def _first_field(fields: list[str]) -> tuple[str, str]:
    return "", fields[0]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
