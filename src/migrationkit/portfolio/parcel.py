"""What of a client goes into a handoff bundle, and how it is put back in another portfolio.

A bundle holds the client's record (``client.json``), its own TOML without a single secret
(every option its connector marks ``secret=True`` is left out), its state store as a SQLite
file (``state.db``: id map, fingerprints, run history, whichever store it came from) and its
report files (``files/...``). Credentials and tokens are never in it: they live in the token
stores of the machine that logged in, and the receiver logs in again.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import sqlite3
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from migrationkit.core.plugins import PluginRegistry
from migrationkit.core.state import SQLiteStateStore

from .model import Client
from .place import Place

__all__ = [
    "client_fields",
    "dumps_toml",
    "pack_state",
    "record_of",
    "strip_secrets",
    "unpack_state",
]

_STATE_TABLES = ("migrations", "runs", "id_map", "outcomes", "intents")
_KEPT = (
    "source", "target", "config", "paying", "email", "status", "reason", "added_at", "runs",
    "last_mode", "last_run_id", "last_status", "last_finished_at", "moved", "failed", "reconcile",
    "report", "error_file", "system", "tenant",
)  # fmt: skip
"""The record's fields that travel (not its slug, hidden flag, queue or workflow here)."""


def client_fields(client: Client, folder: Path) -> dict[str, Any]:
    """The client's record for ``client.json``: report paths relative to its folder."""
    values = {key: getattr(client, key) for key in _KEPT}
    values["name"] = client.name
    values["paying"] = str(client.paying)
    values["status"] = str(client.status)
    for key in ("report", "error_file"):
        path = values[key]
        values[key] = _inside(path, folder)
    return values


def _inside(path: str | None, folder: Path) -> str | None:
    if not path:
        return None
    try:
        return Path(path).relative_to(folder).as_posix()
    except ValueError:
        return None


# -- secrets ---------------------------------------------------------------------------------


def strip_secrets(text: str | None, registry: PluginRegistry) -> str | None:
    """The client's TOML without any option its connector marks secret (and without ``state``)."""
    if text is None:
        return None
    data = tomllib.loads(text)
    for side in ("source", "target"):
        table = data.get(side)
        if not isinstance(table, dict):
            continue
        name = table.get("connector")
        secret = registry.info(name).secret_options() if isinstance(name, str) else frozenset()
        for key in list(table):
            if key in secret:
                del table[key]
    migration = data.get("migration")
    if isinstance(migration, dict):
        migration.pop("state", None)  # a path on the sender's machine; the portfolio keeps its own
    return dumps_toml(data)


_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _key(key: str) -> str:
    return key if _BARE.fullmatch(key) else _string(key)


def _string(value: str) -> str:
    return json.dumps(value, ensure_ascii=True).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def dumps_toml(data: Mapping[str, Any], prefix: str = "") -> str:
    """``data`` (what :func:`tomllib.loads` returns) as TOML text again."""
    lines = [f"{_key(k)} = {_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    text = "\n".join(lines) + ("\n" if lines else "")
    for key, value in data.items():
        if isinstance(value, dict):
            name = f"{prefix}{_key(key)}"
            body = dumps_toml(value, name + ".")
            text += f"\n[{name}]\n{body}"
    return text


# -- the state store -------------------------------------------------------------------------


def _rows(connection: Any, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    cursor = connection.execute(f"SELECT * FROM {table}")
    columns = [d[0] for d in cursor.description]
    return columns, list(cursor.fetchall())


def pack_state(place: Place, client: Client) -> bytes:
    """The client's state store as the bytes of one SQLite file (from SQLite or PostgreSQL)."""
    with tempfile.TemporaryDirectory(prefix="migrationkit-handoff-") as scratch:
        copy = Path(scratch) / "state.db"
        if place.database_url:
            import psycopg

            SQLiteStateStore(copy).close()
            source = psycopg.connect(place.database_url, autocommit=True)
            try:
                source.execute(f"SET search_path TO {place.state_schema(client)}")
                target = sqlite3.connect(copy, isolation_level=None)
                try:
                    target.execute("BEGIN")
                    for table in _STATE_TABLES:
                        exists = source.execute(
                            "SELECT to_regclass(%s)", (f"{place.state_schema(client)}.{table}",)
                        ).fetchone()
                        if not exists or exists[0] is None:
                            continue
                        columns, rows = _rows(source, table)
                        _insert(target, table, columns, rows, "?")
                    target.execute("COMMIT")
                finally:
                    target.close()
            finally:
                source.close()
        else:
            path = place.client_folder(client) / "state.db"
            store = SQLiteStateStore(path)  # created empty when it has never run
            store.close()
            origin = sqlite3.connect(path)
            try:
                target = sqlite3.connect(copy)
                try:
                    origin.backup(target)
                finally:
                    target.close()
            finally:
                origin.close()
            # Only the rows travel: rebuild the copy so that nothing deleted lingers in it.
            target = sqlite3.connect(copy, isolation_level=None)
            try:
                target.execute("PRAGMA journal_mode=DELETE")
                target.execute("VACUUM")
            finally:
                target.close()
        return copy.read_bytes()


def _insert(
    connection: Any, table: str, columns: list[str], rows: list[tuple[Any, ...]], mark: str
) -> None:
    if not rows:
        return
    names = ", ".join(columns)
    marks = ", ".join(mark for _ in columns)
    statement = f"INSERT INTO {table} ({names}) VALUES ({marks})"
    if hasattr(connection, "executemany"):
        connection.executemany(statement, rows)
    else:  # a psycopg connection
        with connection.cursor() as cursor:
            cursor.executemany(statement, rows)


def unpack_state(place: Place, client: Client, data: bytes) -> None:
    """Make the client's state store here from the bundle's SQLite file."""
    if not place.database_url:
        folder = place.client_folder(client)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / "state.db"
        fd_path = _owner_only(path)
        fd_path.write_bytes(data)
        SQLiteStateStore(path).close()  # brings an older schema up to this version
        return
    with tempfile.TemporaryDirectory(prefix="migrationkit-handoff-") as scratch:
        copy = Path(scratch) / "state.db"
        _owner_only(copy).write_bytes(data)
        SQLiteStateStore(copy).close()
        from migrationkit.core.state_postgres import PostgresStateStore

        PostgresStateStore(place.database_url, place.state_schema(client)).close()
        import psycopg

        origin = sqlite3.connect(copy)
        target = psycopg.connect(place.database_url)
        try:
            with target.transaction():
                target.execute(f"SET LOCAL search_path TO {place.state_schema(client)}")
                for table in _STATE_TABLES:
                    columns, rows = _rows(origin, table)
                    _insert(target, table, columns, rows, "%s")
                    if "id" in columns and rows:
                        target.execute(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT MAX(id) FROM {table}))"
                        )
        finally:
            origin.close()
            target.close()


def _owner_only(path: Path) -> Path:
    """``path`` created empty, readable by its owner only, before anything is written to it."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
    os.chmod(path, 0o600)
    return path


def record_of(values: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """The fields of a received client's record from ``client.json`` (only those it may set)."""
    allowed = {f.name for f in attrs.fields(Client)}
    found = {k: v for k, v in values.items() if k in allowed and k in (*_KEPT, "name")}
    return {**found, **changes}
