"""Retention: what a migration leaves behind is deleted a fixed time after the client went live.

A client ``active`` (or ``handed-over``) for ``purge_after_days`` (5 by default) has its
migration data purged: every report, error file and reconciliation under its folder, the
outcome of every record of every run (``outcomes`` rows: the reasons and answers of records
that did not move), the run history but the last successful run (whose watermark and
change-feed positions the next delta reads), the engine's records of its finished runs (their
inputs and step outputs), and, across the portfolio, worker logs as old as that and the spool
folders of workers that are gone. The id map stays, because delta needs it, unless ``--all``:
then the client's whole state store goes. A client migrating, waiting or queued is never
touched. Deleted means gone: files are unlinked, rows deleted, and the SQLite files vacuumed
(PostgreSQL tables are rewritten with ``VACUUM FULL``).

:func:`plan` lists what a purge removes; :func:`carry_out` removes exactly that. A dry run is
the plan alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

from migrationkit.core.errors import StateError
from migrationkit.core.options import LOAD_MODES
from migrationkit.core.state import SQLiteStateStore
from migrationkit.core.state_postgres import PostgresStateStore

from . import model
from .model import Client, ClientStatus
from .place import Place
from .store import ClientStore

__all__ = ["Engine", "PurgePlan", "Removal", "carry_out", "due", "plan"]

_RETAINED = (ClientStatus.ACTIVE, ClientStatus.HANDED_OVER)
_KEEP_FILES = {"client.toml"}
_STATE_FILES = ("state.db", "state.db-wal", "state.db-shm", "state.db.lock")
_STATE_TABLES = ("outcomes", "runs", "intents", "id_map", "migrations")


class Engine(Protocol):
    """The engine's records of a client's runs (the DBOS system database)."""

    def finished_workflows(self, client: Client) -> list[str]: ...
    def delete_workflows(self, workflow_ids: Sequence[str]) -> None: ...


@attrs.frozen(kw_only=True)
class Removal:
    """One thing a purge removes: a file, rows of a table, a state store, the engine's runs."""

    client: str | None
    kind: str
    what: str
    count: int = 1

    def line(self) -> str:
        who = f"{self.client}: " if self.client else ""
        if self.kind == "rows":
            return f"{who}{self.count} row(s) of {self.what}"
        if self.kind == "state store":
            return f"{who}the state store {self.what} ({self.count} rows, the id map too)"
        if self.kind == "workflows":
            return f"{who}{self.count} finished run(s) in the engine's database"
        return f"{who}{self.kind} {self.what}"

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen(kw_only=True)
class PurgePlan:
    """What a purge removes (``removals``), from which clients, and which it leaves, and why."""

    removals: tuple[Removal, ...]
    clients: tuple[str, ...]
    left: tuple[tuple[str, str], ...] = ()
    everything: bool = False
    workflows: tuple[tuple[str, tuple[str, ...]], ...] = ()


def due(client: Client, days: float) -> dt.datetime | None:
    """When the client's migration data is purged (None: not while it is as it is)."""
    if client.status not in _RETAINED or not client.status_at:
        return None
    since = model.moment(client.status_at)
    if client.purged_at and model.moment(client.purged_at) >= since:
        return None
    return since + dt.timedelta(days=days)


# -- planning --------------------------------------------------------------------------------


@contextlib.contextmanager
def _state(place: Place, client: Client) -> Iterator[tuple[Any, str, str]]:
    """A connection to the client's state store, its placeholder, and where it is."""
    if place.database_url:
        import psycopg

        schema = place.state_schema(client)
        remote: Any = psycopg.connect(place.database_url, autocommit=True)
        connection = remote
        try:
            found = connection.execute("SELECT to_regnamespace(%s)", (schema,)).fetchone()
            if not found or found[0] is None:
                yield None, "%s", schema
                return
            connection.execute(f"SET search_path TO {schema}")
            yield connection, "%s", f"schema {schema}"
        finally:
            connection.close()
        return
    path = place.client_folder(client) / "state.db"
    if not path.exists():
        yield None, "?", str(path)
        return
    local = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    try:
        yield local, "?", str(path)
    finally:
        local.close()


def _count(connection: Any, sql: str, params: Sequence[Any] = ()) -> int:
    row = connection.execute(sql, tuple(params)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _kept_runs(connection: Any, mark: str) -> list[int]:
    """The runs the next delta reads: each migration's last successful load, last marks."""
    modes = ", ".join(mark for _ in LOAD_MODES)
    rows = connection.execute(
        f"SELECT MAX(id) FROM runs WHERE status='succeeded' AND mode IN ({modes}) "
        "GROUP BY migration_id UNION SELECT MAX(id) FROM runs WHERE status='succeeded' "
        "AND checkpoints IS NOT NULL GROUP BY migration_id",
        LOAD_MODES,
    ).fetchall()
    return sorted({int(r[0]) for r in rows if r[0] is not None})


def _runs_gone(kept: Sequence[int], mark: str) -> tuple[str, list[int]]:
    if not kept:
        return "", []
    return f" WHERE id NOT IN ({', '.join(mark for _ in kept)})", list(kept)


def _client_removals(place: Place, client: Client, everything: bool) -> list[Removal]:
    found: list[Removal] = []
    folder = place.client_folder(client)
    if folder.is_dir():
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder).as_posix()
            if path.is_file() and relative not in _KEEP_FILES and relative not in _STATE_FILES:
                found.append(Removal(client=client.name, kind="file", what=str(path)))
    with _state(place, client) as (connection, mark, where):
        if connection is None:
            return found
        if everything:
            rows = sum(_count(connection, f"SELECT COUNT(*) FROM {t}") for t in _STATE_TABLES)
            found.append(Removal(client=client.name, kind="state store", what=where, count=rows))
            return found
        outcomes = _count(connection, "SELECT COUNT(*) FROM outcomes")
        if outcomes:
            found.append(
                Removal(
                    client=client.name, kind="rows", what=f"outcomes in {where}", count=outcomes
                )
            )
        clause, params = _runs_gone(_kept_runs(connection, mark), mark)
        runs = _count(connection, f"SELECT COUNT(*) FROM runs{clause}", params)
        if runs:
            found.append(Removal(client=client.name, kind="rows", what=f"runs in {where}",
                                 count=runs))  # fmt: skip
    return found


def _dead_spools(place: Place) -> list[Path]:
    """Spool folders of workers that are gone (embedded: their lock is free)."""
    if place.database_url or not place.spool.is_dir():
        return []
    gone = []
    for folder in sorted(place.spool.iterdir()):
        lock = place.home / "workers" / f"{folder.name}.lock"
        try:
            fd = os.open(lock, os.O_RDWR)
        except FileNotFoundError:
            gone.append(folder)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue
        finally:
            os.close(fd)
        gone.append(folder)
    return gone


def plan(
    place: Place,
    clients: Sequence[Client],
    *,
    days: float,
    everything: bool = False,
    engine: Engine | None = None,
) -> PurgePlan:
    """What a purge of the clients due ``days`` after going live removes, listed."""
    now = model.utcnow()
    removals: list[Removal] = []
    chosen: list[str] = []
    left: list[tuple[str, str]] = []
    workflows: list[tuple[str, tuple[str, ...]]] = []
    for client in clients:
        when = due(client, days)
        if when is None or when > now:
            continue
        if client.queued:
            left.append((client.name, f"a {client.queued} run of it is queued"))
            continue
        chosen.append(client.name)
        removals.extend(_client_removals(place, client, everything))
        if engine is not None:
            ids = tuple(engine.finished_workflows(client))
            if ids:
                workflows.append((client.name, ids))
                removals.append(Removal(client=client.name, kind="workflows",
                                        what=", ".join(ids), count=len(ids)))  # fmt: skip
    cutoff = (now - dt.timedelta(days=days)).timestamp()
    logs = place.home / "logs"
    if logs.is_dir():
        for path in sorted(logs.glob("*.log")):
            if path.stat().st_mtime <= cutoff:
                removals.append(Removal(client=None, kind="worker log", what=str(path)))
    for folder in _dead_spools(place):
        removals.append(Removal(client=None, kind="spool", what=str(folder)))
    return PurgePlan(
        removals=tuple(removals),
        clients=tuple(chosen),
        left=tuple(left),
        everything=everything,
        workflows=tuple(workflows),
    )


# -- carrying out ----------------------------------------------------------------------------


@contextlib.contextmanager
def _held(place: Place, client: Client) -> Iterator[None]:
    """Hold the client's state store, so that no run starts on it meanwhile."""
    store: Any = (
        PostgresStateStore(place.database_url, place.state_schema(client))
        if place.database_url
        else SQLiteStateStore(place.client_folder(client) / "state.db")
        if (place.client_folder(client) / "state.db").exists()
        else None
    )
    if store is None:
        yield
        return
    try:
        with store.lock():
            yield
    finally:
        store.close()


def _delete_rows(place: Place, client: Client) -> None:
    with _state(place, client) as (connection, mark, _where):
        if connection is None:
            return
        kept = _kept_runs(connection, mark)
        clause, params = _runs_gone(kept, mark)
        connection.execute("DELETE FROM outcomes")
        connection.execute(f"DELETE FROM runs{clause}", tuple(params))
        if place.database_url:
            connection.execute("VACUUM FULL outcomes, runs")
        else:
            connection.execute("VACUUM")
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _delete_store(place: Place, client: Client) -> None:
    if place.database_url:
        place.delete_state(client)
        return
    for name in _STATE_FILES:
        (place.client_folder(client) / name).unlink(missing_ok=True)


def carry_out(
    place: Place, store: ClientStore, chosen: PurgePlan, *, engine: Engine | None = None
) -> PurgePlan:
    """Remove what ``chosen`` lists (a client that began a run since is left); what went."""
    done: list[Removal] = []
    left = list(chosen.left)
    workflows = dict(chosen.workflows)
    for name in chosen.clients:
        mine = [r for r in chosen.removals if r.client == name]
        client = store.find(name)
        if client is None or client.status not in _RETAINED or client.queued:
            left.append((name, "it began a run"))
            continue
        try:
            with _held(place, client):
                for removal in mine:
                    if removal.kind == "file":
                        Path(removal.what).unlink(missing_ok=True)
                if not chosen.everything:
                    _delete_rows(place, client)
        except StateError:
            left.append((name, "a run holds its state store"))
            continue
        if chosen.everything:
            _delete_store(place, client)
        _prune_folders(place.client_folder(client))
        if engine is not None and workflows.get(name):
            engine.delete_workflows(workflows[name])
        store.update(name, report=None, error_file=None, purged_at=model.now())
        done.extend(mine)
    for removal in chosen.removals:
        if removal.client is None:
            path = Path(removal.what)
            if path.is_dir():
                import shutil

                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            done.append(removal)
    if done:
        store.db.vacuum()
    if not place.database_url and engine is not None and chosen.workflows:
        _vacuum_file(place.home / "system.db")
    return attrs.evolve(chosen, removals=tuple(done), left=tuple(left))


def _prune_folders(folder: Path) -> None:
    """Remove the folders a purge emptied (the client's own folder stays)."""
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir():
            with contextlib.suppress(OSError):
                path.rmdir()


def _vacuum_file(path: Path) -> None:
    """VACUUM a SQLite file another process may have open (the engine's): tried, not forced."""
    if not path.exists():
        return
    connection = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    try:
        connection.execute("VACUUM")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.OperationalError:
        pass  # busy: the next purge vacuums it
    finally:
        connection.close()
