"""`migrationkit auth xero`, refresh-token rotation, and `migrationkit sandbox xero`."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from migrationkit.cli import main
from migrationkit.http import OAuth2Session, TokenSet, TokenStore
from migrationkit.testing import SandboxServer
from migrationkit.testing.sandboxes.xero.app import (
    API_PREFIX,
    AUTHORIZE_PATH,
    CONNECTIONS_PATH,
    TOKEN_PATH,
    XeroSandbox,
    start_server,
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def strict() -> Iterator[tuple[XeroSandbox, SandboxServer]]:
    app = XeroSandbox(rate_scale=1000, accept_any_token=False)
    with start_server(app) as server:
        yield app, server


def test_auth_xero_logs_in_stores_the_tokens_and_lists_the_tenants(
    strict: tuple[XeroSandbox, SandboxServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app, server = strict
    opened: list[str] = []

    def browser(url: str) -> bool:
        # The user's browser: the login page approves and redirects to the local callback.
        opened.append(url)
        requests.get(url, timeout=10)
        return True

    monkeypatch.setattr("webbrowser.open", browser)
    store = tmp_path / "tokens.json"
    main(
        [
            "auth",
            "xero",
            "--client-id",
            "sandbox-client",
            "--client-secret",
            "sandbox-secret-value",
            "--token-store",
            str(store),
            "--port",
            str(_free_port()),
            "--authorize-url",
            server.url + AUTHORIZE_PATH,
            "--token-url",
            server.url + TOKEN_PATH,
            "--connections-url",
            server.url + CONNECTIONS_PATH,
        ]
    )
    out = capsys.readouterr().out
    assert f"xero:{app.default_tenant}" in out
    assert "offline_access" in opened[0] and "code_challenge=" in opened[0]
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    tokens = TokenStore(store).load()
    assert tokens is not None and tokens.refresh_token
    assert "sandbox-secret-value" not in out and tokens.refresh_token not in out
    answer = requests.get(
        server.url + API_PREFIX + "/Organisation",
        headers={
            "Authorization": f"Bearer {tokens.access_token}",
            "xero-tenant-id": app.default_tenant,
        },
        timeout=5,
    )
    assert answer.status_code == 200


def test_two_processes_refreshing_together_never_burn_the_refresh_token(
    strict: tuple[XeroSandbox, SandboxServer], tmp_path: Path
) -> None:
    app, server = strict
    path = tmp_path / "tokens.json"
    TokenStore(path).save(
        TokenSet(
            access_token=app.issue_token(),
            refresh_token=app.issue_refresh_token(),
            expires_at=time.time() - 1,
        )
    )
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []
    got: list[str] = []

    def worker() -> None:
        # Each worker has its own session and file handle, as a separate process would.
        session = OAuth2Session(
            token_url=server.url + TOKEN_PATH,
            client_id="sandbox-client",
            client_secret="sandbox-secret-value",
            store=TokenStore(path),
            name="Xero",
        )
        barrier.wait()
        try:
            got.append(session.access_token())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(got)) == 1, "one refresh, shared by all"
    assert app.rejected_refresh_tokens == 0


def test_sandbox_xero_runs_in_the_foreground_and_says_how_to_use_it() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "migrationkit", "sandbox", "xero", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        lines = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if line.strip().startswith("use:"):
                break
        text = "".join(lines)
        tenant = re.search(r"tenant id:\s+(\S+)", text)
        token = re.search(r"bearer:\s+(\S+)", text)
        assert tenant and token, text
        assert f"http://127.0.0.1:{port}{API_PREFIX}" in text
        answer = requests.get(
            f"http://127.0.0.1:{port}{API_PREFIX}/Organisation",
            headers={
                "Authorization": f"Bearer {token.group(1)}",
                "xero-tenant-id": tenant.group(1),
            },
            timeout=5,
        )
        assert answer.status_code == 200
        assert answer.json()["Organisations"][0]["BaseCurrency"] == "GBP"
    finally:
        process.terminate()
        process.wait(timeout=10)
