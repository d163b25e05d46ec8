"""Shared fixtures: every test is hermetic (no network, its own state store and folders)."""

from __future__ import annotations

import os
import socket

import pytest
from hypothesis import settings

# Property tests write files; a per-example deadline only measures how busy the machine is.
settings.register_profile("migrationkit", deadline=None)
settings.load_profile("migrationkit")

# Tokens go to files in tests, whatever keyring the developer's machine has; the keyring tests
# turn it on with a fake backend of their own.
os.environ["MIGRATIONKIT_KEYRING"] = "off"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse connections outside the machine: tests never reach the internet."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if (
            isinstance(host, str)
            and host not in ("127.0.0.1", "localhost", "::1")
            and not host.startswith("/")
        ):
            raise OSError(f"test tried to reach {host!r}; tests must not use the network")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


def pytest_report_header() -> str:
    """Say at the top of every run whether the PostgreSQL tests can run, and if not why."""
    import postgres

    reason = postgres.unreachable()
    if reason:
        return f"postgresql: NOT reachable, its tests are skipped: {reason}"
    where = postgres.database_url()
    return f"postgresql: {where} (schemas {postgres.PREFIX}_*, dropped at the end)"


def pytest_sessionfinish(session: pytest.Session) -> None:
    import postgres

    postgres.drop_session_schemas()


@pytest.fixture
def postgres_url() -> str:
    """The PostgreSQL server's URL; the test is skipped, with the reason, when there is none."""
    import postgres

    reason = postgres.unreachable()
    if reason:
        pytest.skip(reason)
    return postgres.database_url()
