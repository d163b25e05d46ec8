"""The PostgreSQL server the tests may use, and a schema namespace of their own on it.

The server is ``MIGRATIONKIT_TEST_DATABASE_URL`` (``tox.ini`` sets 127.0.0.1:5432, database
``test``). Every schema a test session creates starts with one prefix unique to the session,
and the session drops them all at its end, so runs can repeat and run beside other sessions.
Without a reachable server the PostgreSQL tests are skipped, each with the reason.
"""

from __future__ import annotations

import functools
import itertools
import os
import secrets

import psycopg

URL_VARIABLE = "MIGRATIONKIT_TEST_DATABASE_URL"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
PREFIX = f"mkt_{os.getpid()}_{secrets.token_hex(3)}"
_numbers = itertools.count(1)


def database_url() -> str:
    return os.environ.get(URL_VARIABLE) or DEFAULT_URL


@functools.cache
def unreachable() -> str | None:
    """Why no PostgreSQL server can be used, or None when one can."""
    url = database_url()
    try:
        with psycopg.connect(url, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"no PostgreSQL server reachable at {url} ({first}); set {URL_VARIABLE} to one"
    return None


def new_schema(kind: str = "s") -> str:
    """A schema name of this session's namespace, not used before."""
    return f"{PREFIX}_{kind}{next(_numbers)}"


def drop_session_schemas() -> int:
    """Drop every schema this session created; how many there were."""
    if unreachable():
        return 0
    with psycopg.connect(database_url(), autocommit=True) as connection:
        names = [
            row[0]
            for row in connection.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (PREFIX + "%",)
            )
        ]
        for name in names:
            connection.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    return len(names)
