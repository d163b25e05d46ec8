"""In-memory connectors with switchable capabilities and failures, for engine tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from migrationkit import (
    ENTITY_ORDER,
    Connector,
    ConnectorInfo,
    EntityCapabilities,
    Found,
    LoadRequest,
    LoadResult,
    Operation,
    Record,
    References,
    Rejected,
    Removal,
    RemovalRequest,
    RemovalResult,
    RunContext,
    hookimpl,
    remap,
)


class MemorySource:
    """A source whose records (and deletions) a test can change between runs."""

    def __init__(self, records: Mapping[str, Sequence[Record | Rejected]], name: str = "memory"):
        self.records: dict[str, list[Record | Rejected]] = {k: list(v) for k, v in records.items()}
        self.deleted: dict[str, list[str]] = {}
        self.name = name
        self.extractions = 0

    @hookimpl
    def migrationkit_identity(self) -> str:
        return f"memory-source:{self.name}"

    @hookimpl
    def migrationkit_extract(self, entity: str, since: object) -> Iterator[Record | Rejected]:
        self.extractions += 1
        return iter(list(self.records.get(entity, ())))

    @hookimpl
    def migrationkit_extract_deleted(self, entity: str, since: object) -> Iterator[str]:
        return iter(self.deleted.get(entity, ()))

    def replace(self, record: Record) -> None:
        items = self.records.setdefault(record.entity, [])
        for n, item in enumerate(items):
            if item.key == record.key:
                items[n] = record
                return
        items.append(record)

    def drop(self, entity: str, key: str) -> None:
        self.records[entity] = [r for r in self.records[entity] if r.key != key]


class MemoryTarget:
    """A target that stores records by generated ids and can be told to misbehave."""

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.rows: dict[str, dict[str, Record]] = {}
        self.removed: dict[str, dict[str, Removal]] = {}
        self.calls: list[tuple[str, str, int]] = []
        self.reject: Callable[[str, Record], str | None] = lambda entity, record: None
        self.crash_after_write: Callable[[str, int], bool] = lambda entity, n: False
        self.refuse_removal: set[str] = set()
        self._ids = itertools.count(1)
        self.begun: list[RunContext] = []

    def by_key(self, entity: str) -> dict[str, Record]:
        return {r.key: r for r in self.rows.get(entity, {}).values()}

    @hookimpl
    def migrationkit_identity(self) -> str:
        return f"memory-target:{self.name}"

    @hookimpl
    def migrationkit_begin(self, run: RunContext) -> bool:
        self.begun.append(run)
        return True

    @hookimpl
    def migrationkit_extract(self, entity: str, since: object) -> Iterator[Record]:
        import attrs

        return iter(
            attrs.evolve(record, key=target_id)
            for target_id, record in self.rows.get(entity, {}).items()
        )

    @hookimpl
    def migrationkit_load(
        self, entity: str, requests: Sequence[LoadRequest], refs: References
    ) -> list[LoadResult]:
        self.calls.append(("load", entity, len(requests)))
        results = []
        table = self.rows.setdefault(entity, {})
        for n, request in enumerate(requests):
            reason = self.reject(entity, request.record)
            if reason:
                results.append(LoadResult.failed("REJECTED", reason, response='{"error": "no"}'))
                continue
            # Like a real API, the target knows only its own ids: references are stored as those.
            stored = remap(request.record, lambda e, k: refs.target_id(e, k) or f"?{k}")
            if request.operation is Operation.UPDATE:
                assert request.target_id in table, f"update of unknown {request.target_id}"
                table[request.target_id] = stored
                results.append(LoadResult(ok=True, target_id=request.target_id))
            else:
                target_id = f"{entity[:3]}-{next(self._ids)}"
                table[target_id] = stored
                results.append(LoadResult(ok=True, target_id=target_id))
            if self.crash_after_write(entity, n):
                raise KeyboardInterrupt
        return results

    @hookimpl
    def migrationkit_find_existing(
        self, entity: str, request: LoadRequest, refs: References
    ) -> Found:
        for target_id, record in self.rows.get(entity, {}).items():
            if record.key == request.record.key:
                return Found(target_id=target_id)
        return Found(target_id=None)

    @hookimpl
    def migrationkit_remove(
        self, entity: str, requests: Sequence[RemovalRequest]
    ) -> list[RemovalResult]:
        results = []
        for request in requests:
            if entity in self.refuse_removal:
                results.append(
                    RemovalResult(removed=False, reason="LOCKED", message="the period is locked")
                )
                continue
            record = self.rows.get(entity, {}).pop(request.target_id)
            action = request.actions[0]
            self.removed.setdefault(entity, {})[record.key] = action
            results.append(RemovalResult(removed=True, action=action))
        return results


def capabilities(
    *,
    batch_size: int = 3,
    removal: frozenset[Removal] = frozenset({Removal.DELETE}),
    update: bool = True,
    only: Sequence[str] = ENTITY_ORDER,
    **extra: Any,
) -> dict[str, EntityCapabilities]:
    return {
        entity: EntityCapabilities(
            extract=True,
            create=True,
            update=update,
            removal=removal,
            batch_size=batch_size,
            **extra,
        )
        for entity in only
    }


def connect(
    instance: object, caps: Mapping[str, EntityCapabilities] | None = None, name: str = "memory"
) -> Connector:
    info = ConnectorInfo(
        name=name,
        summary="test connector",
        factory=lambda **_: instance,
        capabilities=caps or capabilities(),
    )
    return Connector(info, instance)


def source_connector(source: MemorySource) -> Connector:
    caps = {entity: EntityCapabilities(extract=True, deletions=True) for entity in ENTITY_ORDER}
    return connect(source, caps, name="memory-source")
