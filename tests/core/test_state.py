"""The state store: owner-only, versioned, locked, and exact about intents and outcomes.

The behaviour tests run against both stores, SQLite and PostgreSQL (one schema per test on the
server of ``tests/postgres.py``; skipped with the reason when there is none).
"""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

import postgres
from migrationkit import SQLiteStateStore, StateError, StateStore
from migrationkit.core.state import SCHEMA_VERSION, Intent, Outcome, OutcomeRow, RunStatus
from migrationkit.core.state_postgres import PostgresStateStore


class Stores:
    """Opens (and reopens, as a restarted process would) one store of one kind."""

    def __init__(self, kind: str, tmp_path: Path, url: str | None) -> None:
        self.kind = kind
        self.path = tmp_path / "state.db"
        self.url = url
        self.schema = postgres.new_schema("state")

    def open(self) -> StateStore:
        if self.kind == "sqlite":
            return SQLiteStateStore(self.path)
        assert self.url is not None
        return PostgresStateStore(self.url, self.schema)

    def journal_rows(self) -> int:
        """Rows of the intents journal, read past the store."""
        if self.kind == "sqlite":
            return _journal_rows(self.path)
        with psycopg.connect(str(self.url)) as connection:
            row = connection.execute(f"SELECT COUNT(*) FROM {self.schema}.intents").fetchone()
        return int(row[0]) if row else 0


@pytest.fixture(params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Stores:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    return Stores(request.param, tmp_path, url)


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


def test_one_run_at_a_time(stores: Stores) -> None:
    first = stores.open()
    second = stores.open()
    with first.lock(), pytest.raises(StateError, match="another migrationkit run"), second.lock():
        pass
    with second.lock():
        pass


def test_intent_then_outcome_moves_the_id_map(stores: Stores) -> None:
    store = stores.open()
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


def test_a_batch_of_intents_is_one_journal_row_gone_with_its_outcomes(stores: Stores) -> None:
    store = stores.open()
    migration = store.migration("src", "tgt")
    run = store.start_run(migration.id, "full", {})
    store.record_intents(migration.id, run.id, [_intent(str(n)) for n in range(50)])
    assert stores.journal_rows() == 1
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
    assert stores.journal_rows() == 0
    assert store.pending(migration.id) == []
    assert store.lookup(migration.id, "invoices", ["7"])["7"].state == "active"


def test_intents_settled_one_by_one_stay_settled_after_a_restart(stores: Stores) -> None:
    store = stores.open()
    migration = store.migration("src", "tgt")
    run = store.start_run(migration.id, "full", {})
    store.record_intents(migration.id, run.id, [_intent("1"), _intent("2"), _intent("3")])
    store.close()  # the process dies before any outcome

    store = stores.open()
    assert sorted(e.source_key for e in store.pending(migration.id)) == ["1", "2", "3"]
    store.clear_intent(migration.id, "invoices", "1")  # it never reached the target
    store.record_outcomes(
        migration.id,
        run.id,
        [OutcomeRow(entity="invoices", source_key="2", outcome=Outcome.CREATED, target_id="T2")],
    )
    store.close()

    store = stores.open()
    [left] = store.pending(migration.id)
    assert (left.source_key, left.pending_op, left.pending_fingerprint, left.attempt) == (
        "3",
        "create",
        "f3",
        "a",
    )
    assert set(store.lookup(migration.id, "invoices", ["1", "2"])) == {"2"}


def test_a_record_intended_again_keeps_only_its_newest_intent(stores: Stores) -> None:
    store = stores.open()
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
    store = stores.open()
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


def test_runs_keep_mode_status_summary_watermark_and_checkpoints(stores: Stores) -> None:
    store = stores.open()
    migration = store.migration("src", "tgt")
    assert [m.id for m in store.migrations()] == [migration.id]
    first = store.start_run(migration.id, "full", {"history_mode": "full_history"})
    assert (first.mode, first.status, first.finished_at) == ("full", RunStatus.RUNNING, None)
    store.finish_run(
        first.id,
        RunStatus.SUCCEEDED,
        {"totals": {"created": 3}},
        watermark="2024-06-30T00:00:00+00:00",
        snapshot="abc",
        checkpoints={"source": {"feed": "7"}},
    )
    second = store.start_run(migration.id, "delta", {})
    store.finish_run(second.id, RunStatus.FAILED, {"totals": {}})
    assert store.resume_run(second.id).status is RunStatus.RUNNING
    store.finish_run(second.id, RunStatus.INTERRUPTED, {})
    done = store.run(first.id)
    assert (done.status, done.summary, done.watermark, done.snapshot) == (
        RunStatus.SUCCEEDED,
        {"totals": {"created": 3}},
        "2024-06-30T00:00:00+00:00",
        "abc",
    )
    assert [(r.id, r.status) for r in store.runs(migration.id)] == [
        (first.id, RunStatus.SUCCEEDED),
        (second.id, RunStatus.INTERRUPTED),
    ]
    last = store.last_successful_run(migration.id, ["demo", "full"])
    assert last is not None and last.id == first.id
    assert store.last_successful_run(migration.id, ["delta"]) is None
    assert store.checkpoints(migration.id) == {"source": {"feed": "7"}}
    with pytest.raises(StateError, match="no run 999"):
        store.run(999)


def _created(key: str, run: int) -> OutcomeRow:
    return OutcomeRow(
        entity="contacts",
        source_key=key,
        outcome=Outcome.CREATED,
        target_id=f"T{key}",
        fingerprint=f"f{key}",
        digest=f"d{key}",
    )


def test_updates_removals_mappings_and_what_vanished(stores: Stores) -> None:
    store = stores.open()
    migration = store.migration("src", "tgt")
    run = store.start_run(migration.id, "full", {})
    store.record_outcomes(migration.id, run.id, [_created(k, run.id) for k in ("a", "b", "c")])
    assert store.count_created(migration.id, "contacts") == 3
    assert store.settled_digests(migration.id, "contacts", ["a", "z"]) == {
        "a": ("da", run.id, None)
    }
    assert store.target_ids(migration.id, "contacts", ["a", "b", "z"]) == {"a": "Ta", "b": "Tb"}
    later = store.start_run(migration.id, "delta", {})
    store.record_outcomes(
        migration.id,
        later.id,
        [
            OutcomeRow(entity="contacts", source_key="a", outcome=Outcome.UPDATED,
                       fingerprint="g", digest="e"),
            OutcomeRow(entity="contacts", source_key="b", outcome=Outcome.DELETED),
            OutcomeRow(entity="contacts", source_key="c", outcome=Outcome.UNCHANGED, digest="n"),
            OutcomeRow(entity="contacts", source_key="m", outcome=Outcome.MAPPED,
                       target_id="TM", fingerprint="fm"),
            OutcomeRow(entity="contacts", source_key="x", outcome=Outcome.SKIPPED,
                       reason="MISSING_REFERENCE", message="refers to nothing"),
        ],
    )  # fmt: skip
    entries = store.lookup(migration.id, "contacts", ["a", "b", "c", "m"])
    assert (entries["a"].target_id, entries["a"].fingerprint, entries["a"].updated_run) == (
        "Ta",
        "g",
        later.id,
    )
    assert entries["b"].state == "removed"
    assert entries["c"].source_digest == "n"
    assert (entries["m"].target_id, entries["m"].created_run) == ("TM", None)
    assert [e.source_key for e in store.active_keys(migration.id, "contacts")] == ["a", "c", "m"]
    assert [e.source_key for e in store.created_by(migration.id, None, "contacts")] == ["a", "c"]
    assert store.created_by(migration.id, later.id, "contacts") == []
    assert store.reverse_lookup(migration.id, "contacts") == {"Ta": "a", "Tc": "c", "TM": "m"}
    assert store.outcome_counts(later.id) == {
        "contacts": {"updated": 1, "deleted": 1, "mapped": 1, "skipped": 1}
    }
    [problem] = store.latest_problems(migration.id).values()
    assert (problem.source_key, problem.reason) == ("x", "MISSING_REFERENCE")

    store.start_seen()
    store.mark_seen("contacts", ["c", "m"])
    assert [e.source_key for e in store.vanished(migration.id, "contacts")] == ["a"]
    store.start_seen()
    assert [e.source_key for e in store.vanished(migration.id, "contacts")] == ["a", "c"]


def test_a_whole_migration_leaves_the_same_state_in_either_store(
    stores: Stores, tmp_path: Path
) -> None:
    from factories import company
    from fakes import MemorySource, MemoryTarget, capabilities, connect, source_connector
    from migrationkit import Migration, MigrationOptions

    def run(store: StateStore) -> tuple[dict[str, int], dict[str, dict[str, str]]]:
        target = MemoryTarget()
        migration = Migration(
            source_connector(MemorySource(company())),
            connect(target, capabilities()),
            store,
            MigrationOptions(batch_size=3),
        )
        report = migration.full()
        again = migration.full()
        assert again.totals().created == 0
        held = {e: {k: r.key for k, r in target.by_key(e).items()} for e in target.rows}
        return report.totals().to_dict(), held

    sqlite = run(SQLiteStateStore(tmp_path / "reference.db"))
    assert run(stores.open()) == sqlite


@pytest.fixture
def postgres_store(postgres_url: str) -> Iterator[Callable[[], PostgresStateStore]]:
    schema = postgres.new_schema("state")
    opened: list[PostgresStateStore] = []

    def opener() -> PostgresStateStore:
        opened.append(PostgresStateStore(postgres_url, schema))
        return opened[-1]

    yield opener
    for store in opened:
        store.close()


def test_a_postgres_store_of_a_newer_migrationkit_is_refused(
    postgres_store: Callable[[], PostgresStateStore],
) -> None:
    store = postgres_store()
    store._db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(StateError, match="newer migrationkit"):
        postgres_store()


def test_a_postgres_store_lives_in_its_schema_and_destroy_drops_it(
    postgres_store: Callable[[], PostgresStateStore], postgres_url: str
) -> None:
    store = postgres_store()
    store.migration("a", "b")
    assert store.path.endswith(f"(schema {store.schema})")
    assert "@" not in store.path or "postgres@" in store.path
    store.destroy()
    with psycopg.connect(postgres_url) as connection:
        row = connection.execute(
            "SELECT COUNT(*) FROM pg_namespace WHERE nspname=%s", (store.schema,)
        ).fetchone()
    assert row == (0,)


def test_a_schema_name_that_is_not_plain_is_refused() -> None:
    with pytest.raises(StateError, match="cannot name a PostgreSQL schema"):
        PostgresStateStore("postgresql://127.0.0.1:1/none", "Robert'); DROP")


def test_an_unreachable_server_is_one_line_naming_it_without_its_password() -> None:
    with pytest.raises(StateError) as caught:
        PostgresStateStore("postgresql://me:secret@127.0.0.1:1/nowhere", "s")
    message = str(caught.value)
    assert message.startswith("cannot open the state store postgresql://me@127.0.0.1:1/nowhere")
    assert "secret" not in message and "\n" not in message


def test_the_lock_of_a_dead_holder_is_free_at_once(
    postgres_store: Callable[[], PostgresStateStore],
) -> None:
    holder = postgres_store()
    with holder.lock():
        holder._db.close()  # the holder's connection ends, as when its process is killed
        with postgres_store().lock():
            pass


def test_known_digests_leave_out_what_a_run_must_see_itself(stores: Stores) -> None:
    store = stores.open()
    migration = store.migration("src", "tgt")
    run = store.start_run(migration.id, "full", {})
    store.record_outcomes(migration.id, run.id, [_created(k, run.id) for k in ("a", "b", "c")])
    mapped = OutcomeRow(
        entity="contacts", source_key="m", outcome=Outcome.MAPPED, target_id="Tm", digest="dm"
    )
    store.record_outcomes(migration.id, run.id, [mapped])
    assert set(store.known_digests(migration.id, "contacts", run.id)) == set(), (
        "records the running run wrote itself are not known to it"
    )
    later = store.start_run(migration.id, "delta", {})
    assert sorted(store.known_digests(migration.id, "contacts", later.id)) == ["da", "db", "dc"]
    in_doubt = Intent(
        entity="contacts", source_key="b", operation="update", fingerprint="f", attempt="x"
    )
    store.record_intents(migration.id, later.id, [in_doubt])
    store.record_outcomes(
        migration.id,
        later.id,
        [OutcomeRow(entity="contacts", source_key="c", outcome=Outcome.DELETED, target_id="Tc")],
    )
    # b has an open intent (in doubt), c was removed, m was mapped (never created): none known.
    assert sorted(store.known_digests(migration.id, "contacts", later.id)) == ["da"]
