"""The engine tells its caller after every batch it committed: where a run may be checkpointed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from factories import company
from fakes import MemorySource, MemoryTarget, capabilities, connect, source_connector
from migrationkit import Migration, MigrationOptions, SQLiteStateStore


class Stop(Exception):
    pass


def _migration(tmp_path: Path, target: MemoryTarget, calls: list[tuple[str, int]]) -> Migration:
    store = SQLiteStateStore(tmp_path / "state.db")

    def on_batch(entity: str, records: int) -> None:
        calls.append((entity, records))

    return Migration(
        source_connector(MemorySource(company())),
        connect(target, capabilities()),
        store,
        MigrationOptions(batch_size=2),
        on_batch=on_batch,
    )


def test_every_batch_is_announced_once_its_outcomes_are_committed(tmp_path: Path) -> None:
    calls: list[tuple[str, int]] = []
    target = MemoryTarget()
    migration = _migration(tmp_path, target, calls)
    committed: list[int] = []
    announce = migration.on_batch
    assert announce is not None

    def checking(entity: str, records: int) -> None:
        # What the caller is told is already in the state store.
        run = migration.store.runs(1)[-1]
        committed.append(sum(migration.store.outcome_counts(run.id).get(entity, {}).values()))
        announce(entity, records)

    migration.on_batch = checking
    report = migration.full()
    assert all(n <= 2 for _, n in calls)
    written = Counter[str]()
    for entity, n in calls:
        written[entity] += n
    assert written == {e: c.created for e, c in report.entities.items() if c.created}
    assert all(n > 0 for n in committed)

    calls.clear()
    removed = migration.rollback(None)
    assert sum(n for _, n in calls) == removed.totals().deleted > 0


def test_a_caller_that_stops_at_a_batch_leaves_a_run_that_resumes(tmp_path: Path) -> None:
    calls: list[tuple[str, int]] = []
    target = MemoryTarget()
    migration = _migration(tmp_path, target, calls)
    announce = migration.on_batch

    def stop_at_third(entity: str, records: int) -> None:
        assert announce is not None
        announce(entity, records)
        if len(calls) == 3:
            raise Stop

    migration.on_batch = stop_at_third
    with pytest.raises(Stop):
        migration.full()
    held = {e: len(target.by_key(e)) for e in target.rows}
    assert sum(held.values()) == sum(n for _, n in calls[:3])

    migration.on_batch = None
    report = migration.full()
    assert report.run_id == 1, "the stopped run is resumed"
    assert report.status == "succeeded"
    assert all(len(target.by_key(e)) == len(target.rows[e]) for e in target.rows)
    assert report.totals().created == sum(len(target.rows[e]) for e in target.rows)
