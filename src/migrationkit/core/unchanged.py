"""Knowing a run has nothing to do: the source is exactly what the last complete run moved.

A source that can digest what it holds cheaply (a file source hashes its bytes) lets a run
compare that digest, with the options that shape the migration, against the last run that
succeeded with nothing left skipped, failed or pending. When they match, the run neither
validates nor reads the source again: it reports every record unchanged.
"""

from __future__ import annotations

import abc
import hashlib
import importlib.metadata
import json
from typing import Any

from .findings import Finding
from .options import MigrationOptions
from .plugins import Connector
from .run import RunState
from .state import MigrationInfo, RunInfo, RunStatus, StateStore

__all__ = ["Unchanged"]

try:
    _VERSION = importlib.metadata.version("migrationkit")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a source tree
    _VERSION = "0"


class Unchanged(abc.ABC):
    """The "nothing changed" half of :class:`~migrationkit.core.engine.Migration`."""

    store: StateStore
    target: Connector
    source: Connector | None
    options: MigrationOptions

    @abc.abstractmethod
    def _require_source(self) -> Connector:
        """The source connector."""

    @abc.abstractmethod
    def _migration(self, source_identity: str | None) -> MigrationInfo:
        """The migration of this source (or, with None, the only one into the target)."""

    @abc.abstractmethod
    def _validate_first(self) -> list[Finding]:
        """Validate the source; raise when it has errors that stop a migration."""

    @abc.abstractmethod
    def _options_summary(self) -> dict[str, Any]:
        """The options that shape what a run moves."""

    @abc.abstractmethod
    def entities(self) -> list[str]:
        """The entities this migration moves, in load order."""

    def _snapshot(self) -> str | None:
        """What the source holds and how this migration reads it, as one digest (or None)."""
        assert self.source is not None
        held = self.source.snapshot()
        if held is None:
            return None
        options = self._options_summary() | {
            "mappings": {e: dict(m) for e, m in sorted(self.options.mappings.items())},
            "entities": self.entities(),
            "version": _VERSION,
            "target": self.target.name,
        }
        material = held + json.dumps(options, sort_keys=True, default=str)
        return hashlib.blake2b(material.encode(), digest_size=16).hexdigest()

    def _validate_unless_unchanged(self) -> str | None:
        """Validate the source unless it is what the last complete run moved (no re-read)."""
        snapshot = self._snapshot()
        if snapshot is not None and self.options.validate:
            with self.store.lock():
                migration = self._migration(self._require_source().identity())
                moved = self._last_complete(migration.id, snapshot, None) is not None
        if snapshot is None or not self.options.validate or not moved:
            self._validate_first()
        return snapshot

    def _last_complete(self, migration_id: Any, snapshot: str, current: Any) -> RunInfo | None:
        """The last run before ``current``, if it moved all of ``snapshot`` and left nothing."""
        last = ([None] + [r for r in self.store.runs(migration_id) if r.id != current])[-1]
        if (
            last is None
            or last.status is not RunStatus.SUCCEEDED
            or last.mode not in ("full", "delta", "remigrate")
            or last.snapshot != snapshot
            or not last.summary
            or self.store.pending(migration_id)
        ):
            return None
        totals = last.summary.get("totals", {})
        if any(totals.get(k) for k in ("skipped", "failed", "remaining")):
            return None
        return last

    def _up_to_date(self, state: RunState, snapshot: str | None) -> bool:
        """Whether the last run already moved exactly what the source holds now.

        True only when the previous run of this migration was a complete load that succeeded
        with nothing skipped, failed or pending, over the same source snapshot and options:
        running again could then change nothing.
        """
        state.snapshot = snapshot
        last = snapshot and self._last_complete(state.migration.id, snapshot, state.run.id)
        if not last:
            return False
        for entity, counts in (last.summary or {}).get("entities", {}).items():
            held = counts.get("extracted", 0) - counts.get("excluded", 0)
            state.counts[entity].extracted = counts.get("extracted", 0)
            state.counts[entity].excluded = counts.get("excluded", 0)
            state.counts[entity].unchanged = held - counts.get("mapped", 0)
        state.notes.append(
            f"the source is exactly what run {last.id} migrated, and nothing is outstanding: "
            "every record is unchanged"
        )
        return True
