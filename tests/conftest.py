"""Shared fixtures: every test is hermetic (no network, its own state store and folders)."""

from __future__ import annotations

import socket

import pytest
from hypothesis import settings

# Property tests write files; a per-example deadline only measures how busy the machine is.
settings.register_profile("migrationkit", deadline=None)
settings.load_profile("migrationkit")


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
