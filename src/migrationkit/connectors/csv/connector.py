"""The ``csv`` connector: a folder with one file per entity, as source and as target.

As a target it is transactional per batch, so a run killed at any moment resumes without a lost
or doubled row. After each batch the files are flushed and fsynced, and their sizes are recorded
in ``.migrationkit-csv.json``; when a run opens the folder again, anything written after the
last recorded size (a batch cut off by a crash) is cut away, and the engine writes it again.
Updates and removals are applied at the end of the run, in place (see :mod:`.writer`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

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
from migrationkit.core.errors import ConfigError, MappingError, SourceError
from migrationkit.core.findings import Finding, Severity
from migrationkit.core.hookspecs import hookimpl
from migrationkit.core.model import ENTITY_ORDER, Allocation, Record
from migrationkit.core.references import remap

from .codec import EntityCodec, Scalars, codec_for
from .options import DATE_FORMATS, CsvOptions
from .writer import ALLOCATIONS, CHECKPOINT
from .writer import Writer as _Writer

__all__ = ["CHECKPOINT", "CsvConnector"]


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
