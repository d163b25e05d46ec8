"""The client list and each client's history, in SQLite (one machine) or PostgreSQL (many).

The embedded portfolio keeps them in ``.migrationkit/portfolio.db`` in its folder; a
distributed one in a schema of the PostgreSQL database every worker reaches, so that a status
a worker sets on one machine is what ``list`` shows on another. Every change of status goes
through :func:`~migrationkit.portfolio.model.check_transition` and leaves an event.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from migrationkit.core.errors import StateError
from migrationkit.core.files import private_dir
from migrationkit.core.state_postgres import display_url, lock_key, valid_schema

from .model import Client, ClientStatus, Paying, PortfolioError, check_transition, now

__all__ = ["ClientStore", "Database", "Event"]

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS clients (
    name TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    source TEXT,
    target TEXT,
    config TEXT,
    paying TEXT NOT NULL,
    email TEXT,
    hidden INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    reason TEXT,
    waiting_until TEXT,
    status_at TEXT NOT NULL,
    added_at TEXT NOT NULL,
    runs INTEGER NOT NULL DEFAULT 0,
    queued TEXT,
    workflow_id TEXT,
    last_mode TEXT,
    last_run_id INTEGER,
    last_status TEXT,
    last_finished_at TEXT,
    moved INTEGER,
    failed INTEGER,
    reconcile TEXT,
    report TEXT,
    error_file TEXT,
    progress INTEGER NOT NULL DEFAULT 0,
    progress_entity TEXT,
    system TEXT,
    tenant TEXT,
    purged_at TEXT
);
CREATE TABLE IF NOT EXISTS events (
    id {serial} PRIMARY KEY,
    client TEXT NOT NULL,
    at TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    mode TEXT,
    workflow_id TEXT
);
"""
_COLUMNS = tuple(f.name for f in attrs.fields(Client))
# Columns added after the portfolio's first release: added to an older portfolio when it opens.
_ADDED = {"purged_at": "TEXT"}


class Database:
    """One connection to the portfolio's own tables, used by one thread at a time.

    Statements are written with ``?`` placeholders; on PostgreSQL they become ``%s``.
    """

    def __init__(
        self, *, path: Path | None = None, url: str | None = None, schema: str = ""
    ) -> None:
        self._lock = threading.RLock()
        self.kind = "postgres" if url else "sqlite"
        if url:
            import psycopg

            self.where = f"{display_url(url)} (schema {schema})"
            try:
                self._pg = psycopg.connect(url, autocommit=True)
            except psycopg.Error as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise StateError(f"cannot open the portfolio at {self.where}: {first}") from None
            schema = valid_schema(schema)
            with self._pg.transaction():
                self._pg.execute(
                    "SELECT pg_advisory_xact_lock(%s)", (lock_key("migrationkit-ddl"),)
                )
                self._pg.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                self._pg.execute(f"SET search_path TO {schema}")
                self._pg.execute(_TABLES.format(serial="BIGSERIAL"))
                for column, kind in _ADDED.items():
                    self._pg.execute(
                        f"ALTER TABLE clients ADD COLUMN IF NOT EXISTS {column} {kind}"
                    )
            self._pg.execute(f"SET search_path TO {schema}")
        else:
            assert path is not None
            self.where = str(path)
            private_dir(path.parent)
            if not path.exists():
                # Owner-only before SQLite opens it (its -wal and -shm take the same mode).
                os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
            try:
                self._sqlite = sqlite3.connect(
                    path, isolation_level=None, check_same_thread=False, timeout=30.0
                )
                self._sqlite.execute("PRAGMA journal_mode=WAL")
                self._sqlite.executescript(_TABLES.format(serial="INTEGER"))
                present = {row[1] for row in self._sqlite.execute("PRAGMA table_info(clients)")}
                for column, kind in _ADDED.items():
                    if column not in present:
                        self._sqlite.execute(f"ALTER TABLE clients ADD COLUMN {column} {kind}")
            except sqlite3.DatabaseError as exc:
                raise StateError(f"{path} is not a migrationkit portfolio: {exc}") from None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; the rows it returns (empty for a change)."""
        with self._lock:
            if self.kind == "postgres":
                cursor = self._pg.execute(sql.replace("?", "%s"), tuple(params))
                return list(cursor.fetchall()) if cursor.description else []
            return list(self._sqlite.execute(sql, tuple(params)).fetchall())

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Statements inside commit together (and the rows they read stay theirs)."""
        with self._lock:
            if self.kind == "postgres":
                with self._pg.transaction():
                    yield
                return
            self._sqlite.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._sqlite.execute("ROLLBACK")
                raise
            self._sqlite.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            if self.kind == "postgres":
                self._pg.close()
            else:
                self._sqlite.close()

    def vacuum(self) -> None:
        """Give the space of deleted rows back, so that nothing of them is left in the file."""
        with self._lock:
            if self.kind == "sqlite":
                self._sqlite.execute("VACUUM")
                self._sqlite.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@attrs.frozen(kw_only=True)
class Event:
    """One change in a client's history."""

    client: str
    at: str
    status: ClientStatus
    reason: str | None
    mode: str | None
    workflow_id: str | None


def _client(row: Sequence[Any]) -> Client:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["paying"] = Paying(values["paying"])
    values["status"] = ClientStatus(values["status"])
    values["hidden"] = bool(values["hidden"])
    return Client(**values)


class ClientStore:
    """The clients of one portfolio and their history."""

    def __init__(self, database: Database) -> None:
        self.db = database

    def close(self) -> None:
        self.db.close()

    def portfolio_id(self) -> str:
        """This portfolio's own id (made on first use): who offered or accepted a handoff."""
        with self.db.transaction():
            rows = self.db.execute("SELECT value FROM meta WHERE key='portfolio_id'")
            if rows:
                return str(rows[0][0])
            made = uuid.uuid4().hex
            self.db.execute("INSERT INTO meta (key, value) VALUES ('portfolio_id', ?)", (made,))
        return made

    # -- reading -------------------------------------------------------------------------------

    def find(self, name: str) -> Client | None:
        rows = self.db.execute(f"SELECT {', '.join(_COLUMNS)} FROM clients WHERE name=?", (name,))
        return _client(rows[0]) if rows else None

    def get(self, name: str) -> Client:
        """The client called ``name``, or one line naming the clients there are."""
        found = self.find(name)
        if found is None:
            names = [c.name for c in self.all() if c.status is not ClientStatus.REMOVED]
            known = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "") or "none yet"
            raise PortfolioError(f"there is no client {name!r} in the portfolio (clients: {known})")
        return found

    def all(self) -> list[Client]:
        rows = self.db.execute(f"SELECT {', '.join(_COLUMNS)} FROM clients ORDER BY name")
        return [_client(r) for r in rows]

    def events(self, name: str | None = None) -> list[Event]:
        """The history of one client (or of all), oldest first."""
        query = "SELECT client, at, status, reason, mode, workflow_id FROM events"
        params: tuple[Any, ...] = ()
        if name is not None:
            query += " WHERE client=?"
            params = (name,)
        rows = self.db.execute(query + " ORDER BY id", params)
        return [
            Event(client=r[0], at=r[1], status=ClientStatus(r[2]), reason=r[3], mode=r[4],
                  workflow_id=r[5])
            for r in rows
        ]  # fmt: skip

    # -- writing -------------------------------------------------------------------------------

    def insert(
        self, client: Client, *, reason: str = "added", before: ClientStatus | None = None
    ) -> Client:
        """Add a client (a removed client's name may be used again).

        ``before``: the status it had elsewhere (a client received from another portfolio),
        recorded as its first event, with ``reason``.
        """
        with self.db.transaction():
            old = self.find(client.name)
            if old is not None and old.status is not ClientStatus.REMOVED:
                raise PortfolioError(f"there is already a client {client.name!r}")
            if old is not None:
                self.db.execute("DELETE FROM clients WHERE name=?", (client.name,))
            values = attrs.asdict(client)
            values["paying"] = str(client.paying)
            values["status"] = str(client.status)
            values["hidden"] = int(client.hidden)
            marks = ", ".join("?" for _ in _COLUMNS)
            self.db.execute(
                f"INSERT INTO clients ({', '.join(_COLUMNS)}) VALUES ({marks})",
                [values[c] for c in _COLUMNS],
            )
            if before is not None:
                self._event(client.name, before, reason, None, None)
                self._event(client.name, client.status, client.reason, None, None)
            else:
                self._event(client.name, client.status, reason, None, None)
        return self.get(client.name)

    def update(self, name: str, **changes: Any) -> Client:
        """Change fields of a client that are not its status (see :meth:`set_status`)."""
        if "status" in changes:
            raise ValueError("use set_status to change a status")
        unknown = set(changes) - set(_COLUMNS)
        if unknown:
            raise ValueError(f"unknown client fields {sorted(unknown)}")
        self._write(name, changes)
        return self.get(name)

    def set_status(
        self,
        name: str,
        status: ClientStatus,
        *,
        reason: str | None = None,
        mode: str | None = None,
        workflow_id: str | None = None,
        **changes: Any,
    ) -> Client:
        """Move a client to ``status`` (along an arrow of the state machine), with an event."""
        with self.db.transaction():
            old = self.get(name)
            check_transition(name, old.status, status)
            values: dict[str, Any] = {
                "status": str(status),
                "reason": reason,
                "status_at": now(),
                **changes,
            }
            if status is not ClientStatus.WAITING:
                values.setdefault("waiting_until", None)
            self._write(name, values)
            self._event(name, status, reason, mode, workflow_id)
        return self.get(name)

    def _write(self, name: str, values: Mapping[str, Any]) -> None:
        if not values:
            return
        converted = {
            key: (str(v) if isinstance(v, (Paying, ClientStatus)) else v)
            for key, v in values.items()
        }
        if "hidden" in converted:
            converted["hidden"] = int(bool(converted["hidden"]))
        assignments = ", ".join(f"{key}=?" for key in converted)
        self.db.execute(
            f"UPDATE clients SET {assignments} WHERE name=?", [*converted.values(), name]
        )

    def _event(
        self,
        name: str,
        status: ClientStatus,
        reason: str | None,
        mode: str | None,
        workflow_id: str | None,
    ) -> None:
        self.db.execute(
            "INSERT INTO events (client, at, status, reason, mode, workflow_id) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (name, now(), str(status), reason, mode, workflow_id),
        )

    def forget_history(self, name: str) -> None:
        """Delete a removed client's events but the last (that it was removed, and when)."""
        rows = self.db.execute("SELECT MAX(id) FROM events WHERE client=?", (name,))
        last = rows[0][0] if rows else None
        self.db.execute("DELETE FROM events WHERE client=? AND id<>?", (name, last or 0))
