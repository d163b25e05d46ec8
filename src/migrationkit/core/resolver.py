"""Resolving references while a run writes: source key to target id, through the id map."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from .model import Record, Reference
from .options import MASTER_ENTITIES
from .state import StateStore

__all__ = ["PlanResolver", "Resolver"]

_CACHE_LIMIT = 20_000


class Resolver:
    """Source key to target id, from the id map, cached; and the source's reference records."""

    def __init__(self, store: StateStore, migration_id: int, mappings: Mapping[str, Any]):
        self._store = store
        self._migration_id = migration_id
        self._ids: defaultdict[str, dict[str, str | None]] = defaultdict(dict)
        self._mapped: dict[str, Mapping[str, str]] = {e: dict(m) for e, m in mappings.items()}
        self._records: defaultdict[str, dict[str, Record]] = defaultdict(dict)

    def prefetch(self, refs: Iterable[Reference]) -> None:
        wanted: defaultdict[str, set[str]] = defaultdict(set)
        for entity, key in refs:
            if key not in self._ids[entity] and key not in self._mapped.get(entity, {}):
                wanted[entity].add(key)
        for entity, keys in wanted.items():
            cache = self._cache(entity, len(keys))
            found = self._store.target_ids(self._migration_id, entity, sorted(keys))
            for key in keys:
                cache[key] = found.get(key)

    def _cache(self, entity: str, room: int) -> dict[str, str | None]:
        """The id cache of ``entity``, with room for ``room`` more ids.

        Bounded, so memory stays flat however many records a run writes: the oldest half goes
        when it is full (references mostly point at recent records); what goes is in the id map
        and is looked up again if referred to.
        """
        cache = self._ids[entity]
        if len(cache) + room > _CACHE_LIMIT:
            for key in list(itertools.islice(cache, len(cache) // 2 + room)):
                del cache[key]
        return cache

    def target_id(self, entity: str, key: str) -> str | None:
        mapped = self._mapped.get(entity)
        if mapped and key in mapped:
            return mapped[key]
        cache = self._ids[entity]
        if key not in cache:
            self.prefetch([(entity, key)])
        return cache.get(key)

    def note(self, entity: str, key: str, target_id: str | None) -> None:
        self._cache(entity, 1)[key] = target_id

    def mapped(self, entity: str) -> bool:
        return bool(self._mapped.get(entity))

    def remember(self, record: Record) -> None:
        if record.entity in MASTER_ENTITIES:
            self._records[record.entity][record.key] = record

    def record(self, entity: str, key: str) -> Record | None:
        return self._records.get(entity, {}).get(key)


class PlanResolver(Resolver):
    """In a plan nothing is on the target yet: a reference resolves if the source has it."""

    def __init__(self, known: Mapping[str, set[str]], mappings: Mapping[str, Any]):
        self._known = known
        self._mapped = {e: dict(m) for e, m in mappings.items()}
        self._records = defaultdict(dict)

    def prefetch(self, refs: Iterable[Reference]) -> None:
        pass

    def target_id(self, entity: str, key: str) -> str | None:
        mapped = self._mapped.get(entity)
        if mapped and key in mapped:
            return mapped[key]
        return "(new)" if key in self._known.get(entity, ()) else None
