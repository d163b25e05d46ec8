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


def _intent(key: str, op: str = "create", attempt: str = "a") -> Intent:
    return Intent(
        entity="invoices", source_key=key, operation=op, fingerprint=f"f{key}", attempt=attempt
    )


def _journal_rows(path: Path) -> int:
    return int(sqlite3.connect(path).execute("SELECT COUNT(*) FROM intents").fetchone()[0])


def test_a_batch_of_intents_is_one_journal_row_gone_with_its_outcomes(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SQLiteStateStore(path)
    migration = store.migration("src", "tgt")
    run = store.start_run(migration.id, "full", {})
    store.record_intents(migration.id, run.id, [_intent(str(n)) for n in range(50)])
    assert _journal_rows(path) == 1
    assert store.lookup(migration.id, "invoices", ["7"])["7"].state == "pending"
    assert "7" not in store.settled_digests(migration.id, "invoices", ["7"])
    store.record_outcomes(
        migration.id,
        run.id,
        [
            OutcomeRow(entity="invoices", source_key=str(n), outcome=Outcome.CREATED,
                       target_id=f"T{n}", fingerprint=f"f{n}")
            for n in range(50)
        ],
    )  # fmt: skip
    assert _journal_rows(path) == 0
    assert store.pending(migration.id) == []
    assert store.lookup(migration.id, "invoices", ["7"])["7"].state == "active"


def test_intents_settled_one_by_one_stay_settled_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SQLiteStateStore(path)
    migration = store.migration("src", "tgt")
    run = store.start_run(migration.id, "full", {})
    store.record_intents(migration.id, run.id, [_intent("1"), _intent("2"), _intent("3")])
    store.close()  # the process dies before any outcome

    store = SQLiteStateStore(path)
    assert sorted(e.source_key for e in store.pending(migration.id)) == ["1", "2", "3"]
    store.clear_intent(migration.id, "invoices", "1")  # it never reached the target
    store.record_outcomes(
        migration.id,
        run.id,
        [OutcomeRow(entity="invoices", source_key="2", outcome=Outcome.CREATED, target_id="T2")],
    )
    store.close()

    store = SQLiteStateStore(path)
    [left] = store.pending(migration.id)
    assert (left.source_key, left.pending_op, left.pending_fingerprint, left.attempt) == (
        "3",
        "create",
        "f3",
        "a",
    )
    assert set(store.lookup(migration.id, "invoices", ["1", "2"])) == {"2"}


def test_a_record_intended_again_keeps_only_its_newest_intent(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SQLiteStateStore(path)
    migration = store.migration("src", "tgt")
    run = store.start_run(migration.id, "full", {})
    store.record_intents(migration.id, run.id, [_intent("1", attempt="old"), _intent("2")])
    store.record_intents(migration.id, run.id, [_intent("1", attempt="new")])
    assert {e.source_key: e.attempt for e in store.pending(migration.id)} == {
        "1": "new",
        "2": "a",
    }
    store.record_outcomes(
        migration.id,
        run.id,
        [OutcomeRow(entity="invoices", source_key="1", outcome=Outcome.CREATED, target_id="T1")],
    )
    store.close()
    store = SQLiteStateStore(path)
    assert [e.source_key for e in store.pending(migration.id)] == ["2"]


def test_open_intents_of_a_version_4_store_move_to_the_journal(tmp_path: Path) -> None:
    from migrationkit.core import state as state_module

    path = tmp_path / "v4.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
        + "".join(state_module._SCHEMA[:4])
        + "INSERT INTO meta VALUES ('schema_version', '4');"
        + "INSERT INTO migrations VALUES (1, 'a', 'b', '2024-01-01');"
        # an update in flight on a mapped record, and a create in flight
        + "INSERT INTO id_map (migration_id, entity, source_key, target_id, fingerprint, state, "
        + "created_run, pending_op, pending_fingerprint, pending_run, attempt) VALUES "
        + "(1, 'invoices', '7', 'T7', 'f7', 'active', 1, 'update', 'g7', 2, 'u7'), "
        + "(1, 'invoices', '8', NULL, NULL, 'pending', NULL, 'create', 'f8', 2, 'c8');"
    )
    db.commit()
    db.close()
    store = SQLiteStateStore(path)
    pending = {e.source_key: e for e in store.pending(1)}
    assert (pending["7"].state, pending["7"].target_id, pending["7"].pending_op) == (
        "active",
        "T7",
        "update",
    )
    assert (pending["7"].pending_fingerprint, pending["7"].attempt, pending["7"].pending_run) == (
        "g7",
        "u7",
        2,
    )
    assert (pending["8"].state, pending["8"].pending_op, pending["8"].attempt) == (
        "pending",
        "create",
        "c8",
    )
    rows = sqlite3.connect(path).execute("SELECT source_key, state, pending_op FROM id_map")
    assert sorted(rows) == [("7", "active", None)]
