"""A run advanced a batch at a time: what each advance returns, and a stop that resumes."""

from __future__ import annotations

from pathlib import Path

import pytest

from factories import company
from fakes import MemorySource, MemoryTarget, capabilities, connect, source_connector
from migrationkit import Migration, MigrationOptions, RunReport, SQLiteStateStore
from migrationkit.portfolio.stepped import Batch, Finished, SteppedRun


def _migration(tmp_path: Path, target: MemoryTarget) -> Migration:
    return Migration(
        source_connector(MemorySource(company())),
        connect(target, capabilities()),
        SQLiteStateStore(tmp_path / "state.db"),
        MigrationOptions(batch_size=2),
    )


def test_each_advance_writes_one_batch_and_the_last_returns_the_report(tmp_path: Path) -> None:
    target = MemoryTarget()
    run: SteppedRun[RunReport] = SteppedRun(_migration(tmp_path, target), Migration.full, "t")
    written = 0
    while True:
        before = sum(len(rows) for rows in target.rows.values())
        step = run.advance()
        after = sum(len(rows) for rows in target.rows.values())
        if isinstance(step, Finished):
            break
        assert isinstance(step, Batch) and 0 < step.records <= 2
        assert after - before == step.records, "exactly one batch is written per advance"
        written += step.records
    assert step.result.totals().created == written == after
    assert run.over
    with pytest.raises(RuntimeError, match="over"):
        run.advance()


def test_a_closed_run_stops_at_its_batch_and_a_new_one_resumes_it(tmp_path: Path) -> None:
    target = MemoryTarget()
    migration = _migration(tmp_path, target)
    first: SteppedRun[RunReport] = SteppedRun(migration, Migration.full, "first")
    for _ in range(3):
        assert isinstance(first.advance(), Batch)
    first.close()
    assert first.over
    [stopped] = migration.store.runs(1)
    assert stopped.status == "failed", "a stopped run is left to be resumed"

    second: SteppedRun[RunReport] = SteppedRun(migration, Migration.full, "second")
    step = second.advance()
    while isinstance(step, Batch):
        step = second.advance()
    assert step.result.run_id == stopped.id and step.result.status == "succeeded"
    assert all(len(target.by_key(e)) == len(target.rows[e]) for e in target.rows)


def test_what_a_run_raises_comes_out_of_the_advance_once(tmp_path: Path) -> None:
    def broken(migration: Migration) -> RunReport:
        raise LookupError("no such company")

    run: SteppedRun[RunReport] = SteppedRun(_migration(tmp_path, MemoryTarget()), broken, "b")
    with pytest.raises(LookupError, match="no such company"):
        run.advance()
    assert run.over
    run.close()
