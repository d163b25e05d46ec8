"""The state store: migrations, runs, the id map with fingerprints, and every record's outcome.

:class:`StateStore` is the interface the engine uses; :class:`SQLiteStateStore` is the default
implementation (a server database can implement the same interface).

Exactly-once writes rest on three steps per batch (see ``DESIGN-NOTES``): the engine records an
*intent* per record and commits it durably before calling the target, the target writes, and the
engine records each *outcome*. An intent without an outcome means the process died in between;
the next run resolves it by asking the target before it writes anything else.

A batch's intents are one row of the ``intents`` journal, deleted in the transaction that records
the batch's outcomes: the id map is written once per record, when its outcome is known.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import fcntl
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import attrs

from .errors import StateError
from .files import private_dir
from .redaction import redact, redact_data

__all__ = [
    "DEFAULT_STATE_PATH",
    "SCHEMA_VERSION",
    "IdEntry",
    "Intent",
    "MigrationInfo",
    "Outcome",
    "OutcomeRow",
    "RunInfo",
    "RunStatus",
    "SQLiteStateStore",
    "StateStore",
]

DEFAULT_STATE_PATH = Path(".migrationkit") / "state.db"


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class Outcome(enum.StrEnum):
    """What happened to one record in one run."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    FAILED = "failed"
    DELETED = "deleted"
    REMAINING = "remaining"
    MAPPED = "mapped"


@attrs.frozen(kw_only=True)
class MigrationInfo:
    id: int
    source: str
    target: str
    created_at: str


@attrs.frozen(kw_only=True)
class RunInfo:
    id: int
    migration_id: int
    mode: str
    status: RunStatus
    started_at: str
    finished_at: str | None = None
    watermark: str | None = None
    summary: Mapping[str, Any] | None = None
    snapshot: str | None = None


@attrs.frozen(kw_only=True)
class IdEntry:
    """One row of the id map: where a source record lives on the target, and as what."""

    entity: str
    source_key: str
    target_id: str | None
    fingerprint: str | None
    state: str
    created_run: int | None = None
    updated_run: int | None = None
    pending_op: str | None = None
    pending_fingerprint: str | None = None
    attempt: str | None = None
    pending_run: int | None = None
    source_digest: str | None = None


@attrs.frozen(kw_only=True)
class Intent:
    """A write about to be sent: recorded, and committed, before the call."""

    entity: str
    source_key: str
    operation: str
    fingerprint: str | None
    attempt: str
    target_id: str | None = None


@attrs.frozen(kw_only=True)
class OutcomeRow:
    """One record's outcome in one run, as the error report shows it."""

    entity: str
    source_key: str
    outcome: Outcome
    reason: str | None = None
    message: str | None = None
    response: str | None = None
    target_id: str | None = None
    fingerprint: str | None = None
    digest: str | None = None


class StateStore(Protocol):
    """What the engine needs from a state store."""

    path: str

    def lock(self) -> contextlib.AbstractContextManager[None]: ...
    def migration(self, source: str, target: str) -> MigrationInfo: ...
    def migrations(self) -> list[MigrationInfo]: ...
    def start_run(self, migration_id: int, mode: str, options: Mapping[str, Any]) -> RunInfo: ...
    def resume_run(self, run_id: int) -> RunInfo: ...
    def finish_run(
        self,
        run_id: int,
        status: RunStatus,
        summary: Mapping[str, Any],
        watermark: str | None = None,
        snapshot: str | None = None,
        checkpoints: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None: ...
    def checkpoints(self, migration_id: int) -> dict[str, dict[str, str]]: ...
    def runs(self, migration_id: int) -> list[RunInfo]: ...
    def run(self, run_id: int) -> RunInfo: ...
    def last_successful_run(self, migration_id: int, modes: Sequence[str]) -> RunInfo | None: ...
    def lookup(self, migration_id: int, entity: str, keys: Sequence[str]) -> dict[str, IdEntry]: ...
    def target_ids(self, migration_id: int, entity: str, keys: Sequence[str]) -> dict[str, str]: ...
    def reverse_lookup(self, migration_id: int, entity: str) -> dict[str, str]: ...
    def settled_digests(
        self, migration_id: int, entity: str, keys: Sequence[str]
    ) -> dict[str, tuple[str | None, int | None, int | None]]: ...
    def known_digests(self, migration_id: int, entity: str, run_id: int) -> Iterator[str]: ...
    def record_intents(self, migration_id: int, run_id: int, intents: Sequence[Intent]) -> None: ...
    def pending(self, migration_id: int) -> list[IdEntry]: ...
    def clear_intent(self, migration_id: int, entity: str, source_key: str) -> None: ...
    def record_outcomes(
        self, migration_id: int, run_id: int, outcomes: Sequence[OutcomeRow]
    ) -> None: ...
    def active_keys(self, migration_id: int, entity: str) -> Iterator[IdEntry]: ...
    def created_by(self, migration_id: int, run_id: int | None, entity: str) -> list[IdEntry]: ...
    def outcome_counts(self, run_id: int) -> dict[str, dict[str, int]]: ...
    def start_seen(self) -> None: ...
    def mark_seen(self, entity: str, keys: Sequence[str]) -> None: ...
    def vanished(self, migration_id: int, entity: str) -> list[IdEntry]: ...
    def count_created(self, migration_id: int, entity: str) -> int: ...
    def outcomes(self, run_id: int, kinds: Iterable[Outcome]) -> Iterator[OutcomeRow]: ...
    def latest_problems(self, migration_id: int) -> dict[tuple[str, str], OutcomeRow]: ...
    def close(self) -> None: ...


_SCHEMA: list[str] = [
    # version 1
    """
    CREATE TABLE migrations (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        target TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (source, target)
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        migration_id INTEGER NOT NULL REFERENCES migrations(id),
        mode TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        watermark TEXT,
        options TEXT,
        summary TEXT
    );
    CREATE TABLE id_map (
        migration_id INTEGER NOT NULL,
        entity TEXT NOT NULL,
        source_key TEXT NOT NULL,
        target_id TEXT,
        fingerprint TEXT,
        state TEXT NOT NULL,
        created_run INTEGER,
        updated_run INTEGER,
        removed_run INTEGER,
        pending_op TEXT,
        pending_fingerprint TEXT,
        pending_run INTEGER,
        attempt TEXT,
        PRIMARY KEY (migration_id, entity, source_key)
    ) WITHOUT ROWID;
    CREATE INDEX id_map_pending ON id_map (migration_id, pending_op) WHERE pending_op IS NOT NULL;
    CREATE INDEX id_map_target ON id_map (migration_id, entity, target_id);
    CREATE TABLE outcomes (
        run_id INTEGER NOT NULL,
        entity TEXT NOT NULL,
        source_key TEXT NOT NULL,
        outcome TEXT NOT NULL,
        reason TEXT,
        message TEXT,
        response TEXT,
        target_id TEXT,
        PRIMARY KEY (run_id, entity, source_key)
    ) WITHOUT ROWID;
    """,
]
_SCHEMA.append(
    # version 2: a digest of each record's source form, so unchanged records need not be built
    "ALTER TABLE id_map ADD COLUMN source_digest TEXT;"
)
_SCHEMA.append(
    # version 3: the two secondary indexes cost more on every write than they saved on the rare
    # queries that used them (pending intents, reverse lookups); the primary key serves both.
    "DROP INDEX IF EXISTS id_map_pending; DROP INDEX IF EXISTS id_map_target;"
)
_SCHEMA.append(
    # version 4: what the source held when a run succeeded, to skip runs with nothing to do
    "ALTER TABLE runs ADD COLUMN snapshot TEXT;"
)
_SCHEMA.append(
    # version 5: a batch's intents are one journal row, not a write to each record's id-map row
    """
    CREATE TABLE intents (
        id INTEGER PRIMARY KEY,
        migration_id INTEGER NOT NULL,
        run_id INTEGER NOT NULL,
        entity TEXT NOT NULL,
        body TEXT NOT NULL
    );
    """
)
_SCHEMA.append(
    # version 6: each side's connector marks (change-feed positions) as a successful run left them
    "ALTER TABLE runs ADD COLUMN checkpoints TEXT;"
)
SCHEMA_VERSION = len(_SCHEMA)


def _move_intents_to_the_journal(db: sqlite3.Connection) -> None:
    """Version 5's data step: open intents of earlier versions become journal rows."""
    rows = db.execute(
        "SELECT migration_id, entity, COALESCE(pending_run, 0), source_key, pending_op, "
        "pending_fingerprint, attempt, target_id, state FROM id_map WHERE pending_op IS NOT NULL"
    ).fetchall()
    batches: dict[tuple[int, str, int], list[list[Any]]] = {}
    for migration_id, entity, run_id, key, op, fingerprint, attempt, target_id, _state in rows:
        batches.setdefault((migration_id, entity, run_id), []).append(
            [key, op, fingerprint, attempt or "", target_id]
        )
    for (migration_id, entity, run_id), body in batches.items():
        db.execute(
            "INSERT INTO intents (migration_id, run_id, entity, body) VALUES (?, ?, ?, ?)",
            (migration_id, run_id, entity, json.dumps(body)),
        )
    db.execute("DELETE FROM id_map WHERE state='pending'")
    db.execute(
        "UPDATE id_map SET pending_op=NULL, pending_fingerprint=NULL, pending_run=NULL, "
        "attempt=NULL WHERE pending_op IS NOT NULL"
    )


_DATA_STEPS = {5: _move_intents_to_the_journal}


class _Open(NamedTuple):
    """An intent whose outcome is not recorded yet, as its journal row holds it."""

    journal: int
    run_id: int
    operation: str
    fingerprint: str | None
    attempt: str
    target_id: str | None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _chunks(items: Sequence[str], size: int = 900) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SQLiteStateStore:
    """The default state store: one SQLite file, readable only by its owner."""

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_STATE_PATH) -> None:
        self.path = str(path)
        target = Path(path)
        try:
            private_dir(target.parent)
            if not target.exists():
                # Created here, owner-only, before SQLite opens it (its -wal and -shm files
                # take the same permissions).
                os.close(os.open(target, os.O_CREAT | os.O_RDWR, 0o600))
            self._db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"cannot open the state store {target}: {exc}") from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: an intent must be on disk before the target call it announces.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StateError(f"{self.path} is not a migrationkit state store: {exc}") from None
        self._migrate_schema()
        # Open intents by migration, entity and key; read from the journal on first use and kept
        # in step with our own writes (refreshed whenever the store is locked for a run).
        self._open: dict[int, dict[str, dict[str, _Open]]] = {}

    # -- schema --------------------------------------------------------------------------------

    def _migrate_schema(self) -> None:
        try:
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{self.path} is not a migrationkit state store: {exc}") from None
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise StateError(
                f"{self.path} was written by a newer migrationkit (schema {version}); "
                "upgrade migrationkit to use it"
            )
        for number in range(version, SCHEMA_VERSION):
            # executescript commits first, so the whole step is one script between BEGIN/COMMIT.
            self._db.executescript("BEGIN IMMEDIATE;" + _SCHEMA[number])
            try:
                step = _DATA_STEPS.get(number + 1)
                if step is not None:
                    step(self._db)
                self._db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(number + 1),)
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextlib.contextmanager
    def _transaction(self, *, synced: bool = True) -> Iterator[None]:
        """One transaction; ``synced=False`` commits without waiting for the disk.

        Unsynced commits are for what may be lost in a power cut without harm: outcomes. In WAL
        mode the log is written in order, so the next synced commit (the next batch's intents)
        makes them durable too; and an outcome lost with its journal row deleted only brings
        the intent back, which the next run settles by asking the target.
        """
        if not synced:
            self._db.execute("PRAGMA synchronous=NORMAL")
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        finally:
            if not synced:
                self._db.execute("PRAGMA synchronous=FULL")

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the store for one run; a second process gets a clear error, not a corrupt map."""
        lock_path = self.path + ".lock"
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StateError(
                    f"another migrationkit run is using {self.path}; wait for it to finish"
                ) from None
            self._open.clear()  # another process may have written since
            yield
        finally:
            os.close(fd)

    def close(self) -> None:
        self._db.close()

    # -- migrations and runs -------------------------------------------------------------------

    def migration(self, source: str, target: str) -> MigrationInfo:
        """The migration from ``source`` to ``target``, created on first use."""
        with self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO migrations (source, target, created_at) VALUES (?, ?, ?)",
                (source, target, _now()),
            )
            row = self._db.execute(
                "SELECT id, source, target, created_at FROM migrations WHERE source=? AND target=?",
                (source, target),
            ).fetchone()
        return MigrationInfo(id=row[0], source=row[1], target=row[2], created_at=row[3])

    def migrations(self) -> list[MigrationInfo]:
        rows = self._db.execute("SELECT id, source, target, created_at FROM migrations ORDER BY id")
        return [MigrationInfo(id=r[0], source=r[1], target=r[2], created_at=r[3]) for r in rows]

    def start_run(self, migration_id: int, mode: str, options: Mapping[str, Any]) -> RunInfo:
        with self._transaction():
            cursor = self._db.execute(
                "INSERT INTO runs (migration_id, mode, status, started_at, options) "
                "VALUES (?, ?, ?, ?, ?)",
                (migration_id, mode, RunStatus.RUNNING, _now(), json.dumps(dict(options))),
            )
        return self.run(int(cursor.lastrowid or 0))

    def resume_run(self, run_id: int) -> RunInfo:
        with self._transaction():
            self._db.execute(
                "UPDATE runs SET status=?, finished_at=NULL WHERE id=?", (RunStatus.RUNNING, run_id)
            )
        return self.run(run_id)

    def finish_run(
        self,
        run_id: int,
        status: RunStatus,
        summary: Mapping[str, Any],
        watermark: str | None = None,
        snapshot: str | None = None,
        checkpoints: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        marks = json.dumps(checkpoints, sort_keys=True) if checkpoints is not None else None
        with self._transaction():
            self._db.execute(
                "UPDATE runs SET status=?, finished_at=?, summary=?, "
                "watermark=COALESCE(?, watermark), snapshot=COALESCE(?, snapshot), "
                "checkpoints=COALESCE(?, checkpoints) WHERE id=?",
                (
                    status,
                    _now(),
                    json.dumps(redact_data(summary), default=str),
                    watermark,
                    snapshot,
                    marks,
                    run_id,
                ),
            )

    def checkpoints(self, migration_id: int) -> dict[str, dict[str, str]]:
        """Each side's connector marks, as the last successful run that kept any left them."""
        row = self._db.execute(
            "SELECT checkpoints FROM runs WHERE migration_id=? AND status=? "
            "AND checkpoints IS NOT NULL ORDER BY id DESC LIMIT 1",
            (migration_id, RunStatus.SUCCEEDED),
        ).fetchone()
        return json.loads(row[0]) if row else {}

    _RUN_COLUMNS = (
        "id, migration_id, mode, status, started_at, finished_at, watermark, summary, snapshot"
    )

    @staticmethod
    def _run_row(row: Sequence[Any]) -> RunInfo:
        return RunInfo(
            id=row[0],
            migration_id=row[1],
            mode=row[2],
            status=RunStatus(row[3]),
            started_at=row[4],
            finished_at=row[5],
            watermark=row[6],
            summary=json.loads(row[7]) if row[7] else None,
            snapshot=row[8],
        )

    def run(self, run_id: int) -> RunInfo:
        row = self._db.execute(
            f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id=?", (run_id,)
        ).fetchone()
        if row is None:
            raise StateError(f"there is no run {run_id} in {self.path}")
        return self._run_row(row)

    def runs(self, migration_id: int) -> list[RunInfo]:
        rows = self._db.execute(
            f"SELECT {self._RUN_COLUMNS} FROM runs WHERE migration_id=? ORDER BY id",
            (migration_id,),
        )
        return [self._run_row(r) for r in rows]

    def last_successful_run(self, migration_id: int, modes: Sequence[str]) -> RunInfo | None:
        marks = ",".join("?" for _ in modes)
        row = self._db.execute(
            f"SELECT {self._RUN_COLUMNS} FROM runs WHERE migration_id=? AND status=? "
            f"AND mode IN ({marks}) ORDER BY id DESC LIMIT 1",
            (migration_id, RunStatus.SUCCEEDED, *modes),
        ).fetchone()
        return self._run_row(row) if row else None

    # -- the id map ----------------------------------------------------------------------------

    _ENTRY_COLUMNS = (
        "entity, source_key, target_id, fingerprint, state, created_run, updated_run, "
        "pending_op, pending_fingerprint, attempt, pending_run, source_digest"
    )

    @staticmethod
    def _entry(row: Sequence[Any]) -> IdEntry:
        return IdEntry(
            entity=row[0],
            source_key=row[1],
            target_id=row[2],
            fingerprint=row[3],
            state=row[4],
            created_run=row[5],
            updated_run=row[6],
            pending_op=row[7],
            pending_fingerprint=row[8],
            attempt=row[9],
            pending_run=row[10],
            source_digest=row[11],
        )

    # -- open intents --------------------------------------------------------------------------

    def _open_intents(self, migration_id: int) -> dict[str, dict[str, _Open]]:
        """Open intents of one migration, by entity and key (the journal is empty but for the
        batches a crash cut short)."""
        found = self._open.get(migration_id)
        if found is None:
            found = {}
            rows = self._db.execute(
                "SELECT id, run_id, entity, body FROM intents WHERE migration_id=? ORDER BY id",
                (migration_id,),
            )
            for journal, run_id, entity, body in rows:
                held = found.setdefault(entity, {})
                for key, op, fingerprint, attempt, target_id in json.loads(body):
                    held[key] = _Open(journal, run_id, op, fingerprint, attempt, target_id)
            self._open[migration_id] = found
        return found

    def _close_intents(self, migration_id: int, keys: Iterable[tuple[str, str]]) -> None:
        """Take ``(entity, key)`` intents out of the journal: a row goes once all its keys have.

        Runs inside the caller's transaction.
        """
        held = self._open_intents(migration_id)
        touched: dict[int, str] = {}
        for entity, key in keys:
            opened = held.get(entity)
            if opened:
                gone = opened.pop(key, None)
                if gone is not None:
                    touched[gone.journal] = entity
        for journal, entity in touched.items():
            remaining = [
                [key, o.operation, o.fingerprint, o.attempt, o.target_id]
                for key, o in held.get(entity, {}).items()
                if o.journal == journal
            ]
            if remaining:
                self._db.execute(
                    "UPDATE intents SET body=? WHERE id=?", (json.dumps(remaining), journal)
                )
            else:
                self._db.execute("DELETE FROM intents WHERE id=?", (journal,))

    @staticmethod
    def _pending_entry(entity: str, key: str, opened: _Open, entry: IdEntry | None) -> IdEntry:
        if entry is None:
            # A create that may or may not have reached the target: nothing is mapped yet.
            entry = IdEntry(
                entity=entity,
                source_key=key,
                target_id=opened.target_id,
                fingerprint=None,
                state="pending",
            )
        return attrs.evolve(
            entry,
            pending_op=opened.operation,
            pending_fingerprint=opened.fingerprint,
            attempt=opened.attempt,
            pending_run=opened.run_id,
        )

    # -- the id map, continued -----------------------------------------------------------------

    def lookup(self, migration_id: int, entity: str, keys: Sequence[str]) -> dict[str, IdEntry]:
        """The id-map rows of ``keys`` (absent keys are left out), with their open intents."""
        found: dict[str, IdEntry] = {}
        unique = list(dict.fromkeys(keys))
        for chunk in _chunks(unique):
            marks = ",".join("?" for _ in chunk)
            rows = self._db.execute(
                f"SELECT {self._ENTRY_COLUMNS} FROM id_map WHERE migration_id=? AND entity=? "
                f"AND source_key IN ({marks})",
                (migration_id, entity, *chunk),
            )
            for row in rows:
                found[row[1]] = self._entry(row)
        opened = self._open_intents(migration_id).get(entity)
        if opened:
            for key in unique:
                intent = opened.get(key)
                if intent is not None:
                    found[key] = self._pending_entry(entity, key, intent, found.get(key))
        return found

    def target_ids(self, migration_id: int, entity: str, keys: Sequence[str]) -> dict[str, str]:
        """``key -> target id`` of the records of ``keys`` that live on the target.

        The lean query behind reference resolution: no entry objects, no intents (a create
        still in doubt has no target id; an update in doubt keeps the one it had).
        """
        found: dict[str, str] = {}
        for chunk in _chunks(list(dict.fromkeys(keys))):
            marks = ",".join("?" for _ in chunk)
            rows = self._db.execute(
                "SELECT source_key, target_id FROM id_map WHERE migration_id=? AND entity=? "
                f"AND state='active' AND target_id IS NOT NULL AND source_key IN ({marks})",
                (migration_id, entity, *chunk),
            )
            found.update(rows)
        return found

    def settled_digests(
        self, migration_id: int, entity: str, keys: Sequence[str]
    ) -> dict[str, tuple[str | None, int | None, int | None]]:
        """``key -> (source digest, created run, updated run)`` of settled records only.

        A lean query for the common case of a re-run, where most records are unchanged: it
        builds no objects for them.
        """
        found: dict[str, tuple[str | None, int | None, int | None]] = {}
        for chunk in _chunks(list(dict.fromkeys(keys))):
            marks = ",".join("?" for _ in chunk)
            rows = self._db.execute(
                "SELECT source_key, source_digest, created_run, updated_run FROM id_map "
                "WHERE migration_id=? AND entity=? AND state='active' "
                f"AND source_key IN ({marks})",
                (migration_id, entity, *chunk),
            )
            for key, digest, created, updated in rows:
                found[key] = (digest, created, updated)
        opened = self._open_intents(migration_id).get(entity)
        if opened:
            for key in opened:
                found.pop(key, None)
        return found

    def known_digests(self, migration_id: int, entity: str, run_id: int) -> Iterator[str]:
        """The source digests of the records of ``entity`` this migration created and settled.

        What a source may leave out of a run as unchanged (see ``KnownDigests``). Records run
        ``run_id`` wrote itself (it is resuming) and records with an open intent are left out:
        the run must see those.
        """
        opened = self._open_intents(migration_id).get(entity)
        rows = self._db.execute(
            "SELECT source_key, source_digest FROM id_map WHERE migration_id=? AND entity=? "
            "AND state='active' AND created_run IS NOT NULL AND source_digest IS NOT NULL "
            "AND created_run != ? AND COALESCE(updated_run, 0) != ?",
            (migration_id, entity, run_id, run_id),
        )
        for key, digest in rows:
            if not opened or key not in opened:
                yield digest

    def reverse_lookup(self, migration_id: int, entity: str) -> dict[str, str]:
        """Target id to source key for every live record of ``entity``."""
        rows = self._db.execute(
            "SELECT target_id, source_key FROM id_map WHERE migration_id=? AND entity=? "
            "AND state='active' AND target_id IS NOT NULL",
            (migration_id, entity),
        )
        return dict(rows.fetchall())

    def record_intents(self, migration_id: int, run_id: int, intents: Sequence[Intent]) -> None:
        """Record writes about to happen, durably, before the target sees them (one row)."""
        if not intents:
            return
        by_entity: dict[str, list[Intent]] = {}
        for intent in intents:
            by_entity.setdefault(intent.entity, []).append(intent)
        held = self._open_intents(migration_id)
        with self._transaction():
            for entity, group in by_entity.items():
                body = [
                    [i.source_key, i.operation, i.fingerprint, i.attempt, i.target_id]
                    for i in group
                ]
                cursor = self._db.execute(
                    "INSERT INTO intents (migration_id, run_id, entity, body) VALUES (?, ?, ?, ?)",
                    (migration_id, run_id, entity, json.dumps(body)),
                )
                journal = int(cursor.lastrowid or 0)
                opened = held.setdefault(entity, {})
                # Written again before an earlier intent was settled: the new one stands, and
                # the earlier row must not bring the old one back.
                again = [(entity, i.source_key) for i in group if i.source_key in opened]
                if again:
                    self._close_intents(migration_id, again)
                for i in group:
                    opened[i.source_key] = _Open(
                        journal, run_id, i.operation, i.fingerprint, i.attempt, i.target_id
                    )

    def pending(self, migration_id: int) -> list[IdEntry]:
        """Intents without an outcome: writes that may or may not have reached the target."""
        self._open.pop(migration_id, None)  # read afresh: another process may hold the store
        entries: list[IdEntry] = []
        for entity, opened in self._open_intents(migration_id).items():
            known = self.lookup(migration_id, entity, list(opened))
            entries.extend(known[key] for key in opened)
        return entries

    def clear_intent(self, migration_id: int, entity: str, source_key: str) -> None:
        """Forget an intent that turned out not to have reached the target."""
        with self._transaction():
            self._close_intents(migration_id, [(entity, source_key)])

    def record_outcomes(
        self, migration_id: int, run_id: int, outcomes: Sequence[OutcomeRow]
    ) -> None:
        """Record what happened, and move the id map on accordingly, in one transaction."""
        with self._transaction(synced=False):
            self._apply_outcomes(migration_id, run_id, outcomes)
            held = self._open_intents(migration_id)
            if any(held.values()):
                self._close_intents(migration_id, ((o.entity, o.source_key) for o in outcomes))

    def _apply_outcomes(
        self, migration_id: int, run_id: int, outcomes: Sequence[OutcomeRow]
    ) -> None:
        created, updated, removed, mapped = [], [], [], []
        refreshed = []
        logged = []
        for o in outcomes:
            key = (migration_id, o.entity, o.source_key)
            if o.outcome is Outcome.CREATED:
                created.append((*key, o.target_id, o.fingerprint, o.digest, run_id))
            elif o.outcome is Outcome.UPDATED:
                updated.append((o.target_id, o.fingerprint, o.digest, run_id, *key))
            elif o.outcome is Outcome.DELETED:
                removed.append((run_id, *key))
            elif o.outcome is Outcome.UNCHANGED:
                if o.digest is not None:
                    refreshed.append((o.digest, *key))
                continue
            elif o.outcome is Outcome.MAPPED:
                mapped.append((*key, o.target_id, o.fingerprint, o.digest))
            # A failed or skipped write leaves the target, and the id map, as they were: a
            # create that never happened was never mapped (its intent is in the journal only).
            logged.append(
                (
                    run_id,
                    o.entity,
                    o.source_key,
                    o.outcome,
                    o.reason,
                    # What an API answered may echo a credential: stored redacted.
                    redact(o.message) if o.message else o.message,
                    redact(o.response) if o.response else o.response,
                    o.target_id,
                )
            )
        db = self._db
        db.executemany(
            "INSERT INTO id_map (migration_id, entity, source_key, target_id, fingerprint, "
            "source_digest, state, created_run) VALUES (?, ?, ?, ?, ?, ?, 'active', ?) "
            "ON CONFLICT (migration_id, entity, source_key) DO UPDATE SET "
            "target_id=excluded.target_id, fingerprint=excluded.fingerprint, "
            "source_digest=excluded.source_digest, state='active', "
            "created_run=excluded.created_run",
            created,
        )
        db.executemany(
            "UPDATE id_map SET target_id=COALESCE(?, target_id), fingerprint=?, "
            "source_digest=?, state='active', updated_run=? "
            "WHERE migration_id=? AND entity=? AND source_key=?",
            updated,
        )
        db.executemany(
            "UPDATE id_map SET source_digest=? WHERE migration_id=? AND entity=? AND source_key=?",
            refreshed,
        )
        db.executemany(
            "UPDATE id_map SET state='removed', removed_run=? "
            "WHERE migration_id=? AND entity=? AND source_key=?",
            removed,
        )
        db.executemany(
            "INSERT INTO id_map (migration_id, entity, source_key, target_id, fingerprint, "
            "source_digest, state) VALUES (?, ?, ?, ?, ?, ?, 'active') "
            "ON CONFLICT (migration_id, entity, source_key) DO UPDATE SET "
            "target_id=excluded.target_id, fingerprint=excluded.fingerprint, "
            "source_digest=excluded.source_digest, state='active'",
            mapped,
        )
        db.executemany(
            "INSERT OR REPLACE INTO outcomes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            logged,
        )

    # -- what the source no longer has -------------------------------------------------------

    def start_seen(self) -> None:
        """Begin noting which keys this run's extraction saw (for vanished-record deletion)."""
        self._db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS seen (entity TEXT, source_key TEXT, "
            "PRIMARY KEY (entity, source_key)) WITHOUT ROWID"
        )
        self._db.execute("DELETE FROM temp.seen")

    def mark_seen(self, entity: str, keys: Sequence[str]) -> None:
        self._db.executemany(
            "INSERT OR IGNORE INTO temp.seen VALUES (?, ?)", [(entity, k) for k in keys]
        )

    def count_created(self, migration_id: int, entity: str) -> int:
        """How many records of ``entity`` this migration created that are on the target."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM id_map WHERE migration_id=? AND entity=? AND state='active' "
            "AND created_run IS NOT NULL",
            (migration_id, entity),
        ).fetchone()
        return int(row[0])

    def vanished(self, migration_id: int, entity: str) -> list[IdEntry]:
        """Records this migration created that the extraction no longer saw."""
        rows = self._db.execute(
            f"SELECT {self._ENTRY_COLUMNS} FROM id_map m WHERE migration_id=? AND entity=? "
            "AND state='active' AND created_run IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM temp.seen s WHERE s.entity=m.entity AND s.source_key=m.source_key) "
            "ORDER BY source_key",
            (migration_id, entity),
        )
        return [self._entry(r) for r in rows]

    def active_keys(self, migration_id: int, entity: str) -> Iterator[IdEntry]:
        """Every record of ``entity`` that lives on the target."""
        rows = self._db.execute(
            f"SELECT {self._ENTRY_COLUMNS} FROM id_map WHERE migration_id=? AND entity=? "
            "AND state='active' ORDER BY source_key",
            (migration_id, entity),
        )
        for row in rows:
            yield self._entry(row)

    def created_by(self, migration_id: int, run_id: int | None, entity: str) -> list[IdEntry]:
        """Live records of ``entity`` a run created (any run when ``run_id`` is None)."""
        query = (
            f"SELECT {self._ENTRY_COLUMNS} FROM id_map WHERE migration_id=? AND entity=? "
            "AND state='active'"
        )
        params: tuple[Any, ...] = (migration_id, entity)
        if run_id is not None:
            query += " AND created_run=?"
            params += (run_id,)
        else:
            # Records matched to existing target records (mappings) were never ours to remove.
            query += " AND created_run IS NOT NULL"
        return [self._entry(r) for r in self._db.execute(query + " ORDER BY source_key", params)]

    # -- outcomes ------------------------------------------------------------------------------

    def outcome_counts(self, run_id: int) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        rows = self._db.execute(
            "SELECT entity, outcome, COUNT(*) FROM outcomes WHERE run_id=? "
            "GROUP BY entity, outcome",
            (run_id,),
        )
        for entity, outcome, count in rows:
            counts.setdefault(entity, {})[outcome] = count
        return counts

    def outcomes(self, run_id: int, kinds: Iterable[Outcome]) -> Iterator[OutcomeRow]:
        wanted = [str(k) for k in kinds]
        marks = ",".join("?" for _ in wanted)
        rows = self._db.execute(
            "SELECT entity, source_key, outcome, reason, message, response, target_id "
            f"FROM outcomes WHERE run_id=? AND outcome IN ({marks}) ORDER BY entity, source_key",
            (run_id, *wanted),
        )
        for row in rows:
            yield OutcomeRow(
                entity=row[0],
                source_key=row[1],
                outcome=Outcome(row[2]),
                reason=row[3],
                message=row[4],
                response=row[5],
                target_id=row[6],
            )

    def latest_problems(self, migration_id: int) -> dict[tuple[str, str], OutcomeRow]:
        """The most recent skipped, failed or remaining outcome of each record not on the target."""
        rows = self._db.execute(
            "SELECT o.entity, o.source_key, o.outcome, o.reason, o.message, o.response, "
            "o.target_id FROM outcomes o JOIN runs r ON r.id = o.run_id "
            "WHERE r.migration_id=? AND o.outcome IN ('skipped', 'failed', 'remaining') "
            "ORDER BY o.run_id",
            (migration_id,),
        )
        found: dict[tuple[str, str], OutcomeRow] = {}
        for row in rows:
            found[(row[0], row[1])] = OutcomeRow(
                entity=row[0],
                source_key=row[1],
                outcome=Outcome(row[2]),
                reason=row[3],
                message=row[4],
                response=row[5],
                target_id=row[6],
            )
        return found
