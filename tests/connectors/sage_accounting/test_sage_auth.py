"""Logging in to Sage: 60-second codes, 5-minute tokens refreshed ahead of expiry, rotating
refresh tokens, the ``auth`` and ``sandbox`` commands, and no secret in any message."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from connectors.sage_accounting.sage_accounting_support import SpecCheck, authorize
from migrationkit import AuthError, PluginRegistry
from migrationkit.connectors.sage_accounting import auth
from migrationkit.connectors.sage_accounting.commands import auth_command
from migrationkit.http import TokenStore
from migrationkit.testing.sandboxes.sage_accounting.app import SageSandbox, SageSandboxServer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def code_for(server: SageSandboxServer, app: SageSandbox, redirect: str) -> str:
    answer = requests.get(
        f"{server.url}/oauth/authorize",
        params={"client_id": app.client_id, "redirect_uri": redirect, "response_type": "code"},
        allow_redirects=False,
        timeout=5,
    )
    return answer.headers["Location"].split("code=")[1].split("&")[0]


def test_refresh_tokens_rotate_and_a_used_one_is_invalid_grant(
    tmp_path: Path, sage: tuple[SageSandbox, SageSandboxServer]
) -> None:
    app, server = sage
    session = authorize(app, server, tmp_path / "tokens.json")
    first = session.store.load()
    assert first is not None and first.refresh_expires_at is not None
    # Access tokens live five minutes, refresh tokens 31 days.
    assert round(first.refresh_expires_at - first.expires_at) == 2_678_400 - 300
    session.refresh(first.access_token)
    second = session.store.load()
    assert second is not None and second.refresh_token != first.refresh_token
    reused = requests.post(
        f"{server.url}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first.refresh_token,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
        timeout=5,
    )
    assert reused.status_code == 400 and reused.json() == {"error": "invalid_grant"}
    # A store that still holds the burnt token says what to do, and shows no secret.
    session.store.save(first)
    with pytest.raises(
        AuthError, match=r"invalid_grant.*migrationkit auth sage-accounting"
    ) as caught:
        session.refresh(first.access_token)
    for secret in (first.refresh_token, first.access_token, app.client_secret):
        assert secret and secret not in str(caught.value)


def test_codes_live_sixty_seconds_and_serve_once(
    tmp_path: Path, sage: tuple[SageSandbox, SageSandboxServer]
) -> None:
    app, server = sage
    session = auth.oauth_session(
        app.client_id, app.client_secret, tmp_path / "t.json", f"{server.url}/oauth/token"
    )
    redirect = "http://localhost:8765/callback"
    code = code_for(server, app, redirect)
    session.exchange_code(code, redirect)
    with pytest.raises(AuthError, match="invalid_grant"):
        session.exchange_code(code, redirect)  # single use
    late = code_for(server, app, redirect)
    app.advance(61)
    with pytest.raises(AuthError, match="invalid_grant"):
        session.exchange_code(late, redirect)
    with pytest.raises(AuthError, match="invalid_grant"):
        session.exchange_code(code_for(server, app, redirect), "http://localhost:9999/other")


def test_an_access_token_about_to_expire_is_refreshed_before_it_is_sent(
    tmp_path: Path, sage: tuple[SageSandbox, SageSandboxServer], spec_check: SpecCheck
) -> None:
    app, server = sage
    store = TokenStore(tmp_path / "tokens.json")
    authorize(app, server, store.path)
    tokens = store.load()
    assert tokens is not None
    # Five-minute tokens: 30 seconds left is inside the connector's one-minute margin.
    store.save(type(tokens)(**{**tokens.to_json(), "expires_at": tokens.expires_at - 270}))
    connector = PluginRegistry().open(
        "sage-accounting",
        {
            "location": app.business_id,
            "base_url": f"{server.url}/v3.1",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "token_store": str(store.path),
            "token_url": f"{server.url}/oauth/token",
        },
    )
    statuses: list[int] = []
    api = connector.instance.client.api  # type: ignore[attr-defined]
    api.observers += [spec_check, lambda request, response: statuses.append(response.status_code)]
    assert len(list(connector.extract("tax_rates"))) == 5
    assert 401 not in statuses and app.oauth.refreshes == 1


def test_the_auth_command_logs_in_through_the_browser_and_lists_businesses(
    tmp_path: Path,
    sage: tuple[SageSandbox, SageSandboxServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, server = sage
    port = free_port()
    opened: list[str] = []

    def browser(url: str) -> None:
        # The user approves in the browser; Sage redirects to the local callback.
        opened.append(url)
        threading.Thread(
            target=requests.get, args=(url,), kwargs={"timeout": 10}, daemon=True
        ).start()

    monkeypatch.setattr(auth, "open_browser", browser)
    store = tmp_path / "tokens" / "sage.json"
    result = CliRunner().invoke(
        auth_command,
        [
            "--client-id", app.client_id,
            "--port", str(port),
            "--token-store", str(store),
            "--business", "Sandbox Trading Ltd",
            "--authorize-url", f"{server.url}/oauth/authorize",
            "--token-url", f"{server.url}/oauth/token",
            "--base-url", f"{server.url}/v3.1",
        ],
        env={"SAGE_CLIENT_SECRET": app.client_secret},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"sage-accounting:{app.business_id}" in result.output
    assert "filter=apiv3.1" in opened[0] and "code_challenge_method=S256" in opened[0]
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    saved = TokenStore(store).load()
    assert saved is not None
    for secret in (saved.access_token, saved.refresh_token, app.client_secret):
        assert secret and secret not in result.output


def test_a_static_token_that_is_refused_says_so_without_showing_it(
    sage: tuple[SageSandbox, SageSandboxServer],
) -> None:
    app, server = sage
    connector = PluginRegistry().open(
        "sage-accounting",
        {
            "location": app.business_id,
            "base_url": f"{server.url}/v3.1",
            "access_token": "s3cr3t-t0k3n",
        },
    )
    with pytest.raises(AuthError) as caught:
        list(connector.extract("tax_rates"))
    assert "s3cr3t-t0k3n" not in str(caught.value) and "access_token" in str(caught.value)


def test_missing_app_credentials_are_a_clear_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAGE_CLIENT_ID", raising=False)
    monkeypatch.delenv("SAGE_CLIENT_SECRET", raising=False)
    from migrationkit import ConfigError

    with pytest.raises(ConfigError, match="SAGE_CLIENT_ID"):
        PluginRegistry().open("sage-accounting", {"location": "x"})


def test_the_sandbox_command_starts_and_prints_what_to_connect_with(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "migrationkit", "sandbox", "sage-accounting", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        url = lines[0].split(" at ")[1].strip()
        token = lines[1].split(":", 1)[1].strip()
        business = lines[2].split(":", 1)[1].split()[0]
        answer = requests.get(
            f"{url}/businesses", headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        assert answer.status_code == 200 and answer.json()["$items"][0]["id"] == business
    finally:
        process.terminate()
        process.wait(10)
