"""The archive itself: canonical records as JSON Lines, through migrationkit's converter."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import cattrs

from migrationkit import (
    RECORD_TYPES,
    ConfigError,
    Found,
    LoadRequest,
    LoadResult,
    Record,
    References,
    Rejected,
    Removal,
    RemovalRequest,
    RemovalResult,
    RunContext,
    SourceError,
    hookimpl,
)
from migrationkit.core.convert import converter

# migrationkit's converter: amounts travel as decimal text so that no float ever touches them,
# dates as ISO text; it refuses unknown fields and values of the wrong type.


class JsonlArchive:
    """Reads and writes one ``.jsonl`` archive."""

    def __init__(self, location: str | None = None, *, path: str | None = None) -> None:
        chosen = path or location
        if not chosen:
            raise ConfigError("jsonl needs a file: jsonl:PATH/TO/archive.jsonl")
        self.path = Path(chosen).expanduser()
        self._handle: IO[str] | None = None

    @hookimpl
    def migrationkit_identity(self) -> str:
        return f"jsonl:{self.path.resolve()}"

    @hookimpl
    def migrationkit_begin(self, run: RunContext) -> bool:
        return True

    @hookimpl
    def migrationkit_finish(self, run: RunContext, success: bool) -> bool:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        return True

    # -- reading -------------------------------------------------------------------------------

    def _lines(self) -> Iterator[tuple[int, dict[str, Any]]]:
        if not self.path.exists():
            return
        with self.path.open("r", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.endswith("\n"):
                    break  # a line torn by a crash was never committed
                try:
                    yield number, json.loads(line)
                except ValueError as exc:
                    raise SourceError(f"{self.path}, line {number}: {exc}") from None

    @hookimpl
    def migrationkit_extract(self, entity: str, since: object) -> Iterator[Record | Rejected]:
        latest: dict[str, tuple[int, dict[str, Any] | None]] = {}
        for number, entry in self._lines():
            if entry.get("entity") == entity:
                latest[entry["key"]] = (number, None if entry.get("deleted") else entry["record"])
        cls = RECORD_TYPES[entity]
        for key, (number, data) in latest.items():
            if data is None:
                continue
            try:
                yield converter.structure({**data, "key": key}, cls)
            except Exception as exc:  # cattrs wraps every failure; report, don't crash
                message = (
                    "; ".join(cattrs.transform_error(exc))
                    if isinstance(exc, cattrs.BaseValidationError)
                    else str(exc)
                )
                yield Rejected(
                    entity=entity,
                    key=key,
                    code="JSONL_INVALID",
                    message=message,
                    pointer=f"{self.path.name}:{number}",
                )

    # -- writing -------------------------------------------------------------------------------

    def _writer(self) -> IO[str]:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists():
                self._drop_torn_tail()
            self._handle = self.path.open("a", encoding="utf-8")
        return self._handle

    def _drop_torn_tail(self) -> None:
        with self.path.open("rb+") as handle:
            data = handle.read()
            if data and not data.endswith(b"\n"):
                handle.truncate(data.rfind(b"\n") + 1)

    def _append(self, entries: Sequence[dict[str, Any]]) -> None:
        handle = self._writer()
        handle.write("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))
        handle.flush()
        os.fsync(handle.fileno())

    @hookimpl
    def migrationkit_load(
        self, entity: str, requests: Sequence[LoadRequest], refs: References
    ) -> list[LoadResult]:
        entries = []
        for request in requests:
            data = converter.unstructure(request.record)
            data.pop("key")
            entries.append({"entity": entity, "key": request.record.key, "record": data})
        self._append(entries)
        return [LoadResult(ok=True, target_id=r.record.key) for r in requests]

    @hookimpl
    def migrationkit_find_existing(
        self, entity: str, request: LoadRequest, refs: References
    ) -> Found:
        present: dict[str, bool] = {}
        for _number, entry in self._lines():
            if entry.get("entity") == entity:
                present[entry["key"]] = not entry.get("deleted")
        key = request.record.key
        return Found(target_id=key if present.get(key) else None)

    @hookimpl
    def migrationkit_remove(
        self, entity: str, requests: Sequence[RemovalRequest]
    ) -> list[RemovalResult]:
        allowed = [r for r in requests if Removal.DELETE in r.actions]
        self._append([{"entity": entity, "key": r.target_id, "deleted": True} for r in allowed])
        return [
            RemovalResult(removed=True, action=Removal.DELETE)
            if Removal.DELETE in r.actions
            else RemovalResult(
                removed=False, reason="NOT_SUPPORTED", message="an archive can only delete"
            )
            for r in requests
        ]
