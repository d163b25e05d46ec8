"""Where a portfolio lives: its folder, its database, and what each client keeps in them.

Embedded (the default), everything is in the portfolio folder::

    portfolio.toml                  settings ([portfolio] table, optional)
    .migrationkit/portfolio.db      the client list and its history
    .migrationkit/system.db         the engine's (DBOS) system database: queues, workflows, steps
    .migrationkit/workers/          one lock per running worker (how a dead one is told)
    .migrationkit/spool/            what workers' sources spool to disk while they run
    clients/<slug>/state.db         each client's state store (id map, fingerprints, runs)
    clients/<slug>/client.toml      each client's own TOML, when it has one
    clients/<slug>/reports/run-N/   each run's report.html, report.json, errors.csv
    report.html                     the whole portfolio on one page

Distributed, every worker is given the same PostgreSQL URL; the client list goes to the schema
``NAMESPACE`` (``migrationkit`` unless ``MIGRATIONKIT_DATABASE_SCHEMA`` says otherwise), the
engine's tables to ``NAMESPACE_dbos`` and each client's state store to ``NAMESPACE_c_<slug>``.
Reports are written by the worker that ran the client into its own portfolio folder.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tomllib
from pathlib import Path
from typing import Any

import attrs
from attrs.validators import ge, gt

from migrationkit.core.convert import structure_options
from migrationkit.core.errors import ConfigError
from migrationkit.core.files import private_dir, write_private
from migrationkit.core.state import SQLiteStateStore, StateStore
from migrationkit.core.state_postgres import PostgresStateStore, lock_key, valid_schema

from .model import Client
from .store import ClientStore, Database

__all__ = [
    "DATABASE_URL_ENV",
    "NAMESPACE_ENV",
    "SETTINGS_FILE",
    "Liveness",
    "Place",
    "PortfolioSettings",
]

DATABASE_URL_ENV = "MIGRATIONKIT_DATABASE_URL"
NAMESPACE_ENV = "MIGRATIONKIT_DATABASE_SCHEMA"
SETTINGS_FILE = "portfolio.toml"
DEFAULT_NAMESPACE = "migrationkit"


def _cron(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value.strip():
        return
    from croniter import croniter  # the engine's own cron reader (a dependency of DBOS)

    if not croniter.is_valid(value, second_at_beginning=True):
        raise ValueError(f"{attribute.name} {value!r} is not a cron line (like '0 * * * *')")


@attrs.frozen(kw_only=True)
class PortfolioSettings:
    """A portfolio's settings: the ``[portfolio]`` table of ``portfolio.toml`` in its folder."""

    concurrency: int = attrs.field(
        default=4, validator=ge(1), metadata={"help": "clients of one system a worker runs at once"}
    )
    poll_interval: float = attrs.field(
        default=1.0, validator=gt(0), metadata={"help": "seconds between a worker's looks for work"}
    )
    recovery_interval: float = attrs.field(
        default=5.0,
        validator=gt(0),
        metadata={"help": "seconds between a worker's looks for workers that died"},
    )
    consent_recheck: float = attrs.field(
        default=3600.0,
        validator=gt(0),
        metadata={"help": "seconds a client waiting for consent waits before it is tried again"},
    )
    handoff_days: float = attrs.field(
        default=15.0, validator=gt(0), metadata={"help": "days a handoff offer lasts"}
    )
    purge_after_days: float = attrs.field(
        default=5.0,
        validator=ge(0),
        metadata={"help": "days after a client went live (active) before its migration data goes"},
    )
    purge_schedule: str = attrs.field(
        default="0 * * * *",
        validator=_cron,
        metadata={
            "help": "when workers look for data to purge: a cron line (seconds first when it "
            "has six fields); empty: never on a schedule"
        },
    )


class Place:
    """A portfolio's folder, and the database its workers share (``None``: embedded)."""

    def __init__(
        self,
        folder: str | os.PathLike[str] = ".",
        *,
        database_url: str | None = None,
        namespace: str | None = None,
    ) -> None:
        self.folder = Path(folder).resolve()
        self.database_url = database_url or os.environ.get(DATABASE_URL_ENV) or None
        space = namespace or os.environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE
        if len(space) > 29:
            raise ConfigError(f"the database schema {space!r} is longer than 29 characters")
        self.namespace = valid_schema(space)

    @property
    def distributed(self) -> bool:
        return self.database_url is not None

    @property
    def home(self) -> Path:
        return self.folder / ".migrationkit"

    def settings(self) -> PortfolioSettings:
        """The ``[portfolio]`` settings of ``portfolio.toml`` (the defaults when absent)."""
        path = self.folder / SETTINGS_FILE
        if not path.exists():
            return PortfolioSettings()
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from None
        extra = sorted(set(data) - {"portfolio"})
        if extra:
            raise ConfigError(f"unknown table(s) in {path}: {', '.join(extra)} (known: portfolio)")
        table: Any = data.get("portfolio", {})
        return structure_options(PortfolioSettings, table, where=f"[portfolio] of {path}")

    def describe(self) -> str:
        """Where the portfolio's data is, for messages (no password)."""
        if self.database_url:
            from migrationkit.core.state_postgres import display_url

            return f"{display_url(self.database_url)} (schema {self.namespace})"
        return str(self.folder)

    # -- databases -----------------------------------------------------------------------------

    def open_clients(self) -> ClientStore:
        if self.database_url:
            return ClientStore(Database(url=self.database_url, schema=self.namespace))
        return ClientStore(Database(path=self.home / "portfolio.db"))

    @property
    def system_database_url(self) -> str:
        """The engine's system database (DBOS)."""
        if self.database_url:
            return self.database_url
        private_dir(self.home)
        path = self.home / "system.db"
        if not path.exists():
            # The engine keeps workflow inputs and outputs there: owner-only from the start.
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        return f"sqlite:///{path}"

    @property
    def system_schema(self) -> str:
        return f"{self.namespace}_dbos"

    def state_schema(self, client: Client) -> str:
        return f"{self.namespace}_c_{client.slug}"

    def state_store(self, client: Client) -> StateStore:
        """The client's state store (created on first use)."""
        if self.database_url:
            return PostgresStateStore(self.database_url, self.state_schema(client))
        return SQLiteStateStore(self.client_folder(client) / "state.db")

    def has_state(self, client: Client) -> bool:
        """Whether the client has a state store (a purge with ``--all`` deletes it)."""
        if self.database_url:
            import psycopg

            with psycopg.connect(self.database_url) as connection:
                row = connection.execute(
                    "SELECT to_regnamespace(%s)", (self.state_schema(client),)
                ).fetchone()
            return row is not None and row[0] is not None
        return (self.client_folder(client) / "state.db").exists()

    def delete_state(self, client: Client) -> None:
        """Delete the client's state store, wherever it lives."""
        if self.database_url:
            store = PostgresStateStore(self.database_url, self.state_schema(client))
            store.destroy()

    # -- files ---------------------------------------------------------------------------------

    def client_folder(self, client: Client) -> Path:
        return self.folder / "clients" / client.slug

    def client_config(self, client: Client) -> Path | None:
        """The client's own TOML as a file (written from the stored text), or None."""
        if client.config is None:
            return None
        path = self.client_folder(client) / "client.toml"
        if not path.exists() or path.read_text("utf-8") != client.config:
            write_private(path, client.config)
        return path

    def delete_files(self, client: Client) -> None:
        shutil.rmtree(self.client_folder(client), ignore_errors=True)

    @property
    def spool(self) -> Path:
        return self.home / "spool"


class Liveness:
    """Tells a worker that is alive from one that died, however it died (SIGKILL included).

    Each worker holds a lock for as long as its process lives: a file lock in the portfolio
    folder (embedded) or a PostgreSQL advisory lock on a connection of its own (distributed).
    The operating system or the server drops the lock with the process or its connection, so
    a lock that can be taken belongs to a worker that is gone.
    """

    def __init__(self, place: Place, executor: str) -> None:
        self.place = place
        self.executor = executor
        self._fd: int | None = None
        self._connection: Any = None
        if place.database_url:
            import psycopg

            self._connection = psycopg.connect(place.database_url, autocommit=True)
            self._connection.execute("SELECT pg_advisory_lock(%s)", (self._key(executor),))
        else:
            folder = place.home / "workers"
            private_dir(folder)
            self._fd = os.open(folder / f"{executor}.lock", os.O_CREAT | os.O_RDWR, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def _key(self, executor: str) -> int:
        return lock_key(f"migrationkit-worker:{self.place.namespace}:{executor}")

    def dead(self, executor: str) -> bool:
        """Whether the worker ``executor`` is gone (never this one)."""
        if executor == self.executor:
            return False
        if self._connection is not None:
            key = self._key(executor)
            row = self._connection.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if row and row[0]:
                self._connection.execute("SELECT pg_advisory_unlock(%s)", (key,))
                return True
            return False
        path = self.place.home / "workers" / f"{executor}.lock"
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)
        return True

    def forget(self, executor: str) -> None:
        """Clear what a dead worker left behind (its lock file, its spool)."""
        if self._connection is None:
            (self.place.home / "workers" / f"{executor}.lock").unlink(missing_ok=True)
        shutil.rmtree(self.place.spool / executor, ignore_errors=True)

    def release(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            (self.place.home / "workers" / f"{self.executor}.lock").unlink(missing_ok=True)
