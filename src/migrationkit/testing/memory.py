"""An in-memory source connector a test can change between runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence

from migrationkit.core.capabilities import EntityCapabilities
from migrationkit.core.contract import ConnectorInfo, Rejected
from migrationkit.core.hookspecs import hookimpl
from migrationkit.core.model import ENTITY_ORDER, Record
from migrationkit.core.plugins import Connector

__all__ = ["MemorySource", "memory_source"]


class MemorySource:
    """Records by entity, held in memory; ``deleted`` lists keys deleted at the source."""

    def __init__(
        self, records: Mapping[str, Sequence[Record | Rejected]], name: str = "memory"
    ) -> None:
        self.records: dict[str, list[Record | Rejected]] = {k: list(v) for k, v in records.items()}
        self.deleted: dict[str, list[str]] = {}
        self.name = name

    @hookimpl
    def migrationkit_identity(self) -> str:
        return f"memory-source:{self.name}"

    @hookimpl
    def migrationkit_extract(
        self, entity: str, since: dt.datetime | None
    ) -> Iterator[Record | Rejected]:
        return iter(list(self.records.get(entity, ())))

    @hookimpl
    def migrationkit_extract_deleted(self, entity: str, since: dt.datetime | None) -> Iterator[str]:
        return iter(self.deleted.get(entity, ()))

    def replace(self, record: Record) -> None:
        """Put ``record`` in place of the record with its key (or add it)."""
        items = self.records.setdefault(record.entity, [])
        for n, item in enumerate(items):
            if item.key == record.key:
                items[n] = record
                return
        items.append(record)

    def drop(self, entity: str, key: str) -> None:
        self.records[entity] = [r for r in self.records.get(entity, ()) if r.key != key]


def memory_source(
    records: Mapping[str, Sequence[Record | Rejected]], name: str = "memory"
) -> Connector:
    """A :class:`MemorySource` opened as a connector that can extract every entity."""
    source = MemorySource(records, name)
    caps = {entity: EntityCapabilities(extract=True, deletions=True) for entity in ENTITY_ORDER}
    info = ConnectorInfo(
        name="memory",
        summary="records held in memory",
        factory=lambda **_: source,
        capabilities=caps,
    )
    return Connector(info, source)
