"""The state store: owner-only, versioned, locked, and exact about intents and outcomes."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from migrationkit import SQLiteStateStore, StateError
from migrationkit.core.state import SCHEMA_VERSION, Intent, Outcome, OutcomeRow


def test_the_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state.db"
    SQLiteStateStore(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_schema_version_is_recorded_and_a_newer_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SQLiteStateStore(path).close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (
        str(SCHEMA_VERSION),
    )
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StateError, match="newer migrationkit"):
        SQLiteStateStore(path)


def test_a_file_that_is_not_a_state_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_text("not sqlite at all" * 100)
    with pytest.raises(StateError, match="not a migrationkit state store"):
        SQLiteStateStore(path)


def test_one_run_at_a_time(tmp_path: Path) -> None:
    first = SQLiteStateStore(tmp_path / "state.db")
    second = SQLiteStateStore(tmp_path / "state.db")
    with first.lock(), pytest.raises(StateError, match="another migrationkit run"), second.lock():
        pass
    with second.lock():
        pass


def test_intent_then_outcome_moves_the_id_map(tmp_path: Path) -> None:
    store = SQLiteStateStore(tmp_path / "state.db")
    migration = store.migration("src", "tgt")
    assert store.migration("src", "tgt").id == migration.id
    run = store.start_run(migration.id, "full", {})
    store.record_intents(
        migration.id,
        run.id,
        [
            Intent(
                entity="invoices", source_key="1", operation="create", fingerprint="f1", attempt="a"
            ),
            Intent(
                entity="invoices", source_key="2", operation="create", fingerprint="f2", attempt="b"
            ),
        ],
    )
    assert {e.source_key for e in store.pending(migration.id)} == {"1", "2"}
    store.record_outcomes(
        migration.id,
        run.id,
        [
            OutcomeRow(
                entity="invoices",
                source_key="1",
                outcome=Outcome.CREATED,
                target_id="T1",
                fingerprint="f1",
            ),
            OutcomeRow(
                entity="invoices",
                source_key="2",
                outcome=Outcome.FAILED,
                reason="NO",
                message="refused",
            ),
        ],
    )
    assert store.pending(migration.id) == []
    entries = store.lookup(migration.id, "invoices", ["1", "2"])
    assert set(entries) == {"1"}, "a failed create leaves nothing in the id map"
    assert (entries["1"].target_id, entries["1"].fingerprint, entries["1"].created_run) == (
        "T1",
        "f1",
        run.id,
    )
    assert store.reverse_lookup(migration.id, "invoices") == {"T1": "1"}
    assert store.outcome_counts(run.id) == {"invoices": {"created": 1, "failed": 1}}
    [failed] = store.outcomes(run.id, [Outcome.FAILED])
    assert (failed.reason, failed.message) == ("NO", "refused")
    assert [e.source_key for e in store.created_by(migration.id, run.id, "invoices")] == ["1"]


def test_a_version_1_store_is_migrated_on_open(tmp_path: Path) -> None:
    from migrationkit.core import state as state_module

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
        + state_module._SCHEMA[0]
        + "INSERT INTO meta VALUES ('schema_version', '1');"
        + "INSERT INTO migrations VALUES (1, 'a', 'b', '2024-01-01');"
        + "INSERT INTO id_map (migration_id, entity, source_key, target_id, fingerprint, state) "
        + "VALUES (1, 'invoices', '7', 'T7', 'f7', 'active');"
    )
    db.commit()
    db.close()
    store = SQLiteStateStore(path)
    entry = store.lookup(1, "invoices", ["7"])["7"]
    assert (entry.target_id, entry.fingerprint, entry.source_digest) == ("T7", "f7", None)
    version = sqlite3.connect(path).execute("SELECT value FROM meta WHERE key='schema_version'")
    assert version.fetchone() == (str(SCHEMA_VERSION),)
