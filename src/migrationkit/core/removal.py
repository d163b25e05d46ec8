"""Taking records back from the target: what was deleted at the source, or rolled back."""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable, Iterator, Sequence

from .capabilities import Removal
from .contract import RemovalRequest
from .model import ENTITY_ORDER
from .options import LOAD_MODES, RunObserver
from .plugins import Connector
from .run import RunState
from .state import IdEntry, Intent, MigrationInfo, Outcome, OutcomeRow, StateStore

__all__ = ["LOOKUP_CHUNK", "Removals"]

_REMOVAL_ORDER = (Removal.DELETE, Removal.VOID, Removal.ARCHIVE)
LOOKUP_CHUNK = 500
"""Keys per state-store query when a run looks many up."""


class Removals(abc.ABC):
    """The removal half of :class:`~migrationkit.core.engine.Migration`."""

    store: StateStore
    target: Connector
    source: Connector | None
    observer: RunObserver
    on_batch: Callable[[str, int], None] | None

    @abc.abstractmethod
    def _require_source(self) -> Connector:
        """The source connector (a removal of what was deleted at the source needs one)."""

    @abc.abstractmethod
    def _migration(self, source_identity: str | None) -> MigrationInfo:
        """The migration of this source (or, with None, the only one into the target)."""

    def rollback_preview(self, run_id: int | None = None) -> dict[str, int]:
        """How many records of each entity a rollback would take back (``run_id`` None: all)."""
        with self.store.lock():
            migration = self._migration(self.source.identity() if self.source else None)
            return {
                entity: count
                for entity in reversed(ENTITY_ORDER)
                if (count := len(self.store.created_by(migration.id, run_id, entity)))
            }

    def last_creating_run(self) -> int | None:
        """The most recent run that created records (what ``rollback`` takes back by default)."""
        with self.store.lock():
            migration = self._migration(self.source.identity() if self.source else None)
            for run in reversed(self.store.runs(migration.id)):
                counts = (run.summary or {}).get("entities", {})
                if run.mode in LOAD_MODES and any(c.get("created") for c in counts.values()):
                    return run.id
        return None

    def _deletion_notes(self, source: Connector, entities: Sequence[str]) -> Iterator[str]:
        """What the next delta should know: deleted lists the source says may be incomplete."""
        identities = (source.identity(), self.target.identity())
        found = [m for m in self.store.migrations() if (m.source, m.target) == identities]
        last = self.store.last_successful_run(found[0].id, LOAD_MODES) if found else None
        if last is None or not last.watermark:
            return
        since = dt.datetime.fromisoformat(last.watermark)
        for entity in entities:
            reason = source.deletions_unlisted(entity, since)
            if reason:
                yield (
                    f"a delta of {entity}: {reason}; its deletions will be found by comparing "
                    "every record"
                )

    def _remove_deleted(
        self, state: RunState, entity: str, since: dt.datetime | None, complete: set[str]
    ) -> None:
        source = self._require_source()
        caps = source.capabilities(entity)
        keys = set(source.extract_deleted(entity, since)) if caps.deletions else set()
        entries = [
            e
            for e in self.store.lookup(state.migration.id, entity, sorted(keys)).values()
            if e.state == "active" and e.created_run is not None
        ]
        if entity in complete and state.seen_created[entity] < self.store.count_created(
            state.migration.id, entity
        ):
            # Some record this migration created was not seen: find which, by key.
            if entity in state.fed:
                self._vanished_from_feed(state, entity, entries)
            else:
                self._vanished_by_key(state, entity, entries)
        if entries:
            self._remove(state, entity, entries, why="deleted at the source")

    def _vanished_from_feed(self, state: RunState, entity: str, entries: list[IdEntry]) -> None:
        """Add what vanished to ``entries``: a source that left out what it confirmed unchanged
        gave every other record it holds, so a record neither given nor confirmed is gone."""
        known, given = state.fed[entity]
        listed = {e.source_key for e in entries}
        entries.extend(
            e
            for e in self.store.created_by(state.migration.id, None, entity)
            if e.source_key not in given
            and e.source_key not in listed
            and not known.confirmed(e.source_digest)
        )

    def _vanished_by_key(self, state: RunState, entity: str, entries: list[IdEntry]) -> None:
        """Add what vanished to ``entries`` by extracting every key again."""
        source = self._require_source()
        self.store.start_seen()
        seen_keys: list[str] = []
        for item in source.extract(entity, deferred=True):
            seen_keys.append(item.key)
            if len(seen_keys) >= LOOKUP_CHUNK:
                self.store.mark_seen(entity, seen_keys)
                seen_keys = []
        self.store.mark_seen(entity, seen_keys)
        seen = {e.source_key for e in entries}
        entries.extend(
            e for e in self.store.vanished(state.migration.id, entity) if e.source_key not in seen
        )

    def _remove(self, state: RunState, entity: str, entries: list[IdEntry], *, why: str) -> None:
        caps = self.target.capabilities(entity)
        actions = tuple(a for a in _REMOVAL_ORDER if a in caps.removal)
        self.observer.entity_started(entity, "removing")
        if not actions:
            self.store.record_outcomes(
                state.migration.id,
                state.run.id,
                [
                    OutcomeRow(
                        entity=entity,
                        source_key=e.source_key,
                        outcome=Outcome.REMAINING,
                        reason="TARGET_CANNOT_REMOVE",
                        message=f"{why}, but {self.target.name} cannot delete, void or "
                        f"archive {entity}",
                        target_id=e.target_id,
                    )
                    for e in entries
                ],
            )
            self.observer.advanced(entity, len(entries))
            if self.on_batch is not None:
                self.on_batch(entity, len(entries))
            return
        for start in range(0, len(entries), caps.batch_size):
            chunk = entries[start : start + caps.batch_size]
            self.store.record_intents(
                state.migration.id,
                state.run.id,
                [
                    Intent(
                        entity=entity,
                        source_key=e.source_key,
                        operation="remove",
                        fingerprint=e.fingerprint,
                        attempt=f"remove:{state.run.id}:{e.source_key}",
                        target_id=e.target_id,
                    )
                    for e in chunk
                ],
            )
            results = self.target.remove(
                entity,
                [
                    RemovalRequest(key=e.source_key, target_id=e.target_id or "", actions=actions)
                    for e in chunk
                ],
            )
            outcomes = []
            for entry, result in zip(chunk, results, strict=True):
                if result.removed:
                    outcomes.append(
                        OutcomeRow(
                            entity=entity,
                            source_key=entry.source_key,
                            outcome=Outcome.DELETED,
                            reason=str(result.action) if result.action else None,
                            message=f"{why}; "
                            + (result.message or f"{result.action or 'removed'} on the target"),
                            target_id=entry.target_id,
                        )
                    )
                    state.resolver.note(entity, entry.source_key, None)
                else:
                    outcomes.append(
                        OutcomeRow(
                            entity=entity,
                            source_key=entry.source_key,
                            outcome=Outcome.REMAINING,
                            reason=result.reason or "TARGET_REFUSED_REMOVAL",
                            message=result.message,
                            response=result.response,
                            target_id=entry.target_id,
                        )
                    )
            self.store.record_outcomes(state.migration.id, state.run.id, outcomes)
            self.observer.advanced(entity, len(chunk))
            if self.on_batch is not None:
                self.on_batch(entity, len(chunk))
