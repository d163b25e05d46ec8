"""The state store in PostgreSQL: the same store as :mod:`.state`, on a server many machines share.

A portfolio run by workers on several machines keeps each client company's state store in the
one PostgreSQL database they all reach, each store in a schema of its own, so a client's
migration can move from one worker to another (a worker killed with SIGKILL is taken over by
the next). The behaviour is the SQLite store's, point for point: an intent is committed, and
waits for the disk, before the target call it announces (``synchronous_commit`` on); outcomes
are committed without waiting (``synchronous_commit`` off for that transaction, the same bargain
as the SQLite store's ``synchronous=NORMAL``); a batch's intents are one journal row, deleted
with its outcomes; one run at a time holds the store, through an advisory lock the server
releases when the holder's connection ends, however it ends.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

from .errors import StateError
from .redaction import redact, redact_data
from .state import (
    SCHEMA_VERSION,
    IdEntry,
    Intent,
    MigrationInfo,
    Outcome,
    OutcomeRow,
    RunInfo,
    RunStatus,
)

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresStateStore", "display_url", "lock_key", "valid_schema"]

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

# The layout of SCHEMA_VERSION (6) in one step: a PostgreSQL store was never older.
_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS migrations (
    id BIGSERIAL PRIMARY KEY,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (source, target)
);
CREATE TABLE IF NOT EXISTS runs (
    id BIGSERIAL PRIMARY KEY,
    migration_id BIGINT NOT NULL REFERENCES migrations(id),
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    watermark TEXT,
    options TEXT,
    summary TEXT,
    snapshot TEXT,
    checkpoints TEXT
);
CREATE TABLE IF NOT EXISTS id_map (
    migration_id BIGINT NOT NULL,
    entity TEXT NOT NULL,
    source_key TEXT NOT NULL,
    target_id TEXT,
    fingerprint TEXT,
    state TEXT NOT NULL,
    created_run BIGINT,
    updated_run BIGINT,
    removed_run BIGINT,
    pending_op TEXT,
    pending_fingerprint TEXT,
    pending_run BIGINT,
    attempt TEXT,
    source_digest TEXT,
    PRIMARY KEY (migration_id, entity, source_key)
);
CREATE TABLE IF NOT EXISTS outcomes (
    run_id BIGINT NOT NULL,
    entity TEXT NOT NULL,
    source_key TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    message TEXT,
    response TEXT,
    target_id TEXT,
    PRIMARY KEY (run_id, entity, source_key)
);
CREATE TABLE IF NOT EXISTS intents (
    id BIGSERIAL PRIMARY KEY,
    migration_id BIGINT NOT NULL,
    run_id BIGINT NOT NULL,
    entity TEXT NOT NULL,
    body TEXT NOT NULL
);
"""


def valid_schema(name: str) -> str:
    """``name`` if it can name a schema as is (lower case, digits, ``_``), else a StateError."""
    if not _SCHEMA_NAME.fullmatch(name):
        raise StateError(
            f"{name!r} cannot name a PostgreSQL schema: use up to 63 lower-case letters, digits "
            "and _, not starting with a digit"
        )
    return name


def display_url(url: str) -> str:
    """The database URL without its password, for messages."""
    import psycopg  # imported when used: the command line starts without it

    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(unreadable URL)"
    host = info.get("host") or "localhost"
    port = f":{info['port']}" if info.get("port") else ""
    user = f"{info['user']}@" if info.get("user") else ""
    return f"postgresql://{user}{host}{port}/{info.get('dbname') or ''}"


def lock_key(name: str) -> int:
    """A 64-bit advisory lock key for ``name`` (signed, as PostgreSQL takes it)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


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


class PostgresStateStore:
    """A state store in one schema of a PostgreSQL database (created on first use)."""

    def __init__(self, url: str, schema: str) -> None:
        import psycopg

        self.schema = valid_schema(schema)
        self.path = f"{display_url(url)} (schema {schema})"
        try:
            self._db: psycopg.Connection[Any] = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StateError(f"cannot open the state store {self.path}: {first}") from None
        self._lock_key = lock_key(f"migrationkit-state:{schema}")
        self._open: dict[int, dict[str, dict[str, _Open]]] = {}
        try:
            self._migrate_schema()
        except BaseException:
            self._db.close()
            raise

    # -- schema --------------------------------------------------------------------------------

    def _migrate_schema(self) -> None:
        with self._db.transaction():
            # Two workers opening a new store at once must not both create it.
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("migrationkit-ddl"),))
            self._db.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            self._db.execute(f"SET search_path TO {self.schema}")
            self._db.execute(_TABLES)
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise StateError(
                    f"{self.path} was written by a newer migrationkit (schema {version}); "
                    "upgrade migrationkit to use it"
                )
            self._db.execute(
                "INSERT INTO meta VALUES ('schema_version', %s) "
                "ON CONFLICT (key) DO UPDATE SET value=excluded.value",
                (str(SCHEMA_VERSION),),
            )
        # SET inside the transaction would end with it: set it for the session too.
        self._db.execute(f"SET search_path TO {self.schema}")

    @contextlib.contextmanager
    def _transaction(self, *, synced: bool = True) -> Iterator[None]:
        """One transaction; ``synced=False`` commits without waiting for the disk (outcomes)."""
        with self._db.transaction():
            if not synced:
                self._db.execute("SET LOCAL synchronous_commit = off")
            yield

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the store for one run; a second holder gets a clear error, not a corrupt map."""
        row = self._db.execute("SELECT pg_try_advisory_lock(%s)", (self._lock_key,)).fetchone()
        if not row or not row[0]:
            raise StateError(
                f"another migrationkit run is using {self.path}; wait for it to finish"
            )
        try:
            self._open.clear()  # another process may have written since
            yield
        finally:
            if not self._db.closed:
                self._db.execute("SELECT pg_advisory_unlock(%s)", (self._lock_key,))

    def close(self) -> None:
        self._db.close()

    def destroy(self) -> None:
        """Delete the store and everything in it (its schema), then close it."""
        self._db.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        self._db.close()

    # -- migrations and runs -------------------------------------------------------------------

    def migration(self, source: str, target: str) -> MigrationInfo:
        """The migration from ``source`` to ``target``, created on first use."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO migrations (source, target, created_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (source, target) DO NOTHING",
                (source, target, _now()),
            )
            row = self._db.execute(
                "SELECT id, source, target, created_at FROM migrations "
                "WHERE source=%s AND target=%s",
                (source, target),
            ).fetchone()
        assert row is not None
        return MigrationInfo(id=row[0], source=row[1], target=row[2], created_at=row[3])

    def migrations(self) -> list[MigrationInfo]:
        rows = self._db.execute("SELECT id, source, target, created_at FROM migrations ORDER BY id")
        return [MigrationInfo(id=r[0], source=r[1], target=r[2], created_at=r[3]) for r in rows]

    def start_run(self, migration_id: int, mode: str, options: Mapping[str, Any]) -> RunInfo:
        with self._transaction():
            row = self._db.execute(
                "INSERT INTO runs (migration_id, mode, status, started_at, options) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (migration_id, mode, str(RunStatus.RUNNING), _now(), json.dumps(dict(options))),
            ).fetchone()
        assert row is not None
        return self.run(int(row[0]))

    def resume_run(self, run_id: int) -> RunInfo:
        with self._transaction():
            self._db.execute(
                "UPDATE runs SET status=%s, finished_at=NULL WHERE id=%s",
                (str(RunStatus.RUNNING), run_id),
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
                "UPDATE runs SET status=%s, finished_at=%s, summary=%s, "
                "watermark=COALESCE(%s, watermark), snapshot=COALESCE(%s, snapshot), "
                "checkpoints=COALESCE(%s, checkpoints) WHERE id=%s",
                (
                    str(status),
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
            "SELECT checkpoints FROM runs WHERE migration_id=%s AND status=%s "
            "AND checkpoints IS NOT NULL ORDER BY id DESC LIMIT 1",
            (migration_id, str(RunStatus.SUCCEEDED)),
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
            f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id=%s", (run_id,)
        ).fetchone()
        if row is None:
            raise StateError(f"there is no run {run_id} in {self.path}")
        return self._run_row(row)

    def runs(self, migration_id: int) -> list[RunInfo]:
        rows = self._db.execute(
            f"SELECT {self._RUN_COLUMNS} FROM runs WHERE migration_id=%s ORDER BY id",
            (migration_id,),
        )
        return [self._run_row(r) for r in rows]

    def last_successful_run(self, migration_id: int, modes: Sequence[str]) -> RunInfo | None:
        row = self._db.execute(
            f"SELECT {self._RUN_COLUMNS} FROM runs WHERE migration_id=%s AND status=%s "
            "AND mode = ANY(%s) ORDER BY id DESC LIMIT 1",
            (migration_id, str(RunStatus.SUCCEEDED), list(modes)),
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
        """Open intents of one migration, by entity and key."""
        found = self._open.get(migration_id)
        if found is None:
            found = {}
            rows = self._db.execute(
                "SELECT id, run_id, entity, body FROM intents WHERE migration_id=%s ORDER BY id",
                (migration_id,),
            )
            for journal, run_id, entity, body in rows:
                held = found.setdefault(entity, {})
                for key, op, fingerprint, attempt, target_id in json.loads(body):
                    held[key] = _Open(journal, run_id, op, fingerprint, attempt, target_id)
            self._open[migration_id] = found
        return found

    def _close_intents(self, migration_id: int, keys: Iterable[tuple[str, str]]) -> None:
        """Take ``(entity, key)`` intents out of the journal (inside the caller's transaction)."""
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
                    "UPDATE intents SET body=%s WHERE id=%s", (json.dumps(remaining), journal)
                )
            else:
                self._db.execute("DELETE FROM intents WHERE id=%s", (journal,))

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

    def lookup(self, migration_id: int, entity: str, keys: Sequence[str]) -> dict[str, IdEntry]:
        """The id-map rows of ``keys`` (absent keys are left out), with their open intents."""
        unique = list(dict.fromkeys(keys))
        rows = self._db.execute(
            f"SELECT {self._ENTRY_COLUMNS} FROM id_map WHERE migration_id=%s AND entity=%s "
            "AND source_key = ANY(%s)",
            (migration_id, entity, unique),
        )
        found = {row[1]: self._entry(row) for row in rows}
        opened = self._open_intents(migration_id).get(entity)
        if opened:
            for key in unique:
                intent = opened.get(key)
                if intent is not None:
                    found[key] = self._pending_entry(entity, key, intent, found.get(key))
        return found

    def target_ids(self, migration_id: int, entity: str, keys: Sequence[str]) -> dict[str, str]:
        """``key -> target id`` of the records of ``keys`` that live on the target."""
        rows = self._db.execute(
            "SELECT source_key, target_id FROM id_map WHERE migration_id=%s AND entity=%s "
            "AND state='active' AND target_id IS NOT NULL AND source_key = ANY(%s)",
            (migration_id, entity, list(dict.fromkeys(keys))),
        )
        return dict(rows.fetchall())

    def settled_digests(
        self, migration_id: int, entity: str, keys: Sequence[str]
    ) -> dict[str, tuple[str | None, int | None, int | None]]:
        """``key -> (source digest, created run, updated run)`` of settled records only."""
        rows = self._db.execute(
            "SELECT source_key, source_digest, created_run, updated_run FROM id_map "
            "WHERE migration_id=%s AND entity=%s AND state='active' AND source_key = ANY(%s)",
            (migration_id, entity, list(dict.fromkeys(keys))),
        )
        found = {key: (digest, created, updated) for key, digest, created, updated in rows}
        opened = self._open_intents(migration_id).get(entity)
        if opened:
            for key in opened:
                found.pop(key, None)
        return found

    def known_digests(self, migration_id: int, entity: str, run_id: int) -> Iterator[str]:
        """The source digests of the records of ``entity`` this migration created and settled.

        Records run ``run_id`` wrote itself and records with an open intent are left out.
        """
        opened = self._open_intents(migration_id).get(entity)
        rows = self._db.execute(
            "SELECT source_key, source_digest FROM id_map WHERE migration_id=%s AND entity=%s "
            "AND state='active' AND created_run IS NOT NULL AND source_digest IS NOT NULL "
            "AND created_run <> %s AND COALESCE(updated_run, 0) <> %s",
            (migration_id, entity, run_id, run_id),
        ).fetchall()
        for key, digest in rows:
            if not opened or key not in opened:
                yield digest

    def reverse_lookup(self, migration_id: int, entity: str) -> dict[str, str]:
        """Target id to source key for every live record of ``entity``."""
        rows = self._db.execute(
            "SELECT target_id, source_key FROM id_map WHERE migration_id=%s AND entity=%s "
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
                row = self._db.execute(
                    "INSERT INTO intents (migration_id, run_id, entity, body) "
                    "VALUES (%s, %s, %s, %s) RETURNING id",
                    (migration_id, run_id, entity, json.dumps(body)),
                ).fetchone()
                assert row is not None
                journal = int(row[0])
                opened = held.setdefault(entity, {})
                # Written again before an earlier intent was settled: the new one stands.
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
            # A failed or skipped write leaves the target, and the id map, as they were.
            logged.append(
                (
                    run_id,
                    o.entity,
                    o.source_key,
                    str(o.outcome),
                    o.reason,
                    # What an API answered may echo a credential: stored redacted.
                    redact(o.message) if o.message else o.message,
                    redact(o.response) if o.response else o.response,
                    o.target_id,
                )
            )
        with self._db.cursor() as cursor:
            if created:
                cursor.executemany(
                    "INSERT INTO id_map (migration_id, entity, source_key, target_id, "
                    "fingerprint, source_digest, state, created_run) "
                    "VALUES (%s, %s, %s, %s, %s, %s, 'active', %s) "
                    "ON CONFLICT (migration_id, entity, source_key) DO UPDATE SET "
                    "target_id=excluded.target_id, fingerprint=excluded.fingerprint, "
                    "source_digest=excluded.source_digest, state='active', "
                    "created_run=excluded.created_run",
                    created,
                )
            if updated:
                cursor.executemany(
                    "UPDATE id_map SET target_id=COALESCE(%s, target_id), fingerprint=%s, "
                    "source_digest=%s, state='active', updated_run=%s "
                    "WHERE migration_id=%s AND entity=%s AND source_key=%s",
                    updated,
                )
            if refreshed:
                cursor.executemany(
                    "UPDATE id_map SET source_digest=%s "
                    "WHERE migration_id=%s AND entity=%s AND source_key=%s",
                    refreshed,
                )
            if removed:
                cursor.executemany(
                    "UPDATE id_map SET state='removed', removed_run=%s "
                    "WHERE migration_id=%s AND entity=%s AND source_key=%s",
                    removed,
                )
            if mapped:
                cursor.executemany(
                    "INSERT INTO id_map (migration_id, entity, source_key, target_id, "
                    "fingerprint, source_digest, state) "
                    "VALUES (%s, %s, %s, %s, %s, %s, 'active') "
                    "ON CONFLICT (migration_id, entity, source_key) DO UPDATE SET "
                    "target_id=excluded.target_id, fingerprint=excluded.fingerprint, "
                    "source_digest=excluded.source_digest, state='active'",
                    mapped,
                )
            if logged:
                cursor.executemany(
                    "INSERT INTO outcomes VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (run_id, entity, source_key) DO UPDATE SET "
                    "outcome=excluded.outcome, reason=excluded.reason, "
                    "message=excluded.message, response=excluded.response, "
                    "target_id=excluded.target_id",
                    logged,
                )

    # -- what the source no longer has -------------------------------------------------------

    def start_seen(self) -> None:
        """Begin noting which keys this run's extraction saw (for vanished-record deletion)."""
        self._db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS seen (entity TEXT, source_key TEXT, "
            "PRIMARY KEY (entity, source_key))"
        )
        self._db.execute("DELETE FROM pg_temp.seen")

    def mark_seen(self, entity: str, keys: Sequence[str]) -> None:
        if keys:
            with self._db.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO pg_temp.seen VALUES (%s, %s) ON CONFLICT DO NOTHING",
                    [(entity, k) for k in keys],
                )

    def count_created(self, migration_id: int, entity: str) -> int:
        """How many records of ``entity`` this migration created that are on the target."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM id_map WHERE migration_id=%s AND entity=%s "
            "AND state='active' AND created_run IS NOT NULL",
            (migration_id, entity),
        ).fetchone()
        return int(row[0]) if row else 0

    def vanished(self, migration_id: int, entity: str) -> list[IdEntry]:
        """Records this migration created that the extraction no longer saw."""
        rows = self._db.execute(
            f"SELECT {self._ENTRY_COLUMNS} FROM id_map m WHERE migration_id=%s AND entity=%s "
            "AND state='active' AND created_run IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM pg_temp.seen s WHERE s.entity=m.entity "
            "AND s.source_key=m.source_key) ORDER BY source_key",
            (migration_id, entity),
        )
        return [self._entry(r) for r in rows]

    def active_keys(self, migration_id: int, entity: str) -> Iterator[IdEntry]:
        """Every record of ``entity`` that lives on the target."""
        rows = self._db.execute(
            f"SELECT {self._ENTRY_COLUMNS} FROM id_map WHERE migration_id=%s AND entity=%s "
            "AND state='active' ORDER BY source_key",
            (migration_id, entity),
        ).fetchall()
        for row in rows:
            yield self._entry(row)

    def created_by(self, migration_id: int, run_id: int | None, entity: str) -> list[IdEntry]:
        """Live records of ``entity`` a run created (any run when ``run_id`` is None)."""
        query = (
            f"SELECT {self._ENTRY_COLUMNS} FROM id_map WHERE migration_id=%s AND entity=%s "
            "AND state='active'"
        )
        params: tuple[Any, ...] = (migration_id, entity)
        if run_id is not None:
            query += " AND created_run=%s"
            params += (run_id,)
        else:
            # Records matched to existing target records (mappings) were never ours to remove.
            query += " AND created_run IS NOT NULL"
        return [self._entry(r) for r in self._db.execute(query + " ORDER BY source_key", params)]

    # -- outcomes ------------------------------------------------------------------------------

    def outcome_counts(self, run_id: int) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        rows = self._db.execute(
            "SELECT entity, outcome, COUNT(*) FROM outcomes WHERE run_id=%s "
            "GROUP BY entity, outcome",
            (run_id,),
        )
        for entity, outcome, count in rows:
            counts.setdefault(entity, {})[outcome] = int(count)
        return counts

    def outcomes(self, run_id: int, kinds: Iterable[Outcome]) -> Iterator[OutcomeRow]:
        rows = self._db.execute(
            "SELECT entity, source_key, outcome, reason, message, response, target_id "
            "FROM outcomes WHERE run_id=%s AND outcome = ANY(%s) ORDER BY entity, source_key",
            (run_id, [str(k) for k in kinds]),
        ).fetchall()
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
            "WHERE r.migration_id=%s AND o.outcome IN ('skipped', 'failed', 'remaining') "
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
