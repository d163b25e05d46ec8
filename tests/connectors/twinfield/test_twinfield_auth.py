"""Logging in to Twinfield: OpenID Connect with a nonce, the cluster from the token's validation
(asked once per token), tokens renewed ahead of their hour, the ``auth`` command, and no
secret in any message."""

from __future__ import annotations

import socket
import urllib.parse
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from migrationkit import AuthError, ConfigError, PluginRegistry
from migrationkit.connectors.twinfield import auth
from migrationkit.connectors.twinfield.commands import auth_command
from migrationkit.testing.sandboxes.server import SandboxServer
from migrationkit.testing.sandboxes.twinfield.app import AUTH_PREFIX, TwinfieldSandbox


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def follow(url: str) -> None:
    """The browser: the authorize page approves and redirects to the local callback."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["scope"] == [auth.SCOPES]
    assert query["nonce"][0], "OpenID Connect wants a nonce"
    answer = requests.get(url, allow_redirects=False, timeout=5)
    requests.get(answer.headers["Location"], timeout=5)


def test_the_login_stores_tokens_and_the_cluster_comes_from_the_token(
    tmp_path: Path, twinfield: tuple[TwinfieldSandbox, SandboxServer]
) -> None:
    app, server = twinfield
    login = server.url + AUTH_PREFIX
    session = auth.oauth_session(app.client_id, app.client_secret, tmp_path / "t.json", login)
    tokens = auth.log_in(session, login_url=login, port=free_port(), show=follow, timeout=10)
    assert tokens.refresh_token and tokens.expires_at - session.clock() == pytest.approx(3600, 5)
    discovery = auth.ClusterDiscovery(login)
    assert discovery(tokens.access_token) == server.url
    assert discovery(tokens.access_token) == server.url
    assert discovery.asked == 1, "asked once per token"
    assert discovery.validate(tokens.access_token)["twf.organisationCode"] == app.organisation
    fixed = auth.ClusterDiscovery(login, cluster_url="https://api.accounting.twinfield.com/")
    assert fixed("any") == "https://api.accounting.twinfield.com"
    # Renewed two minutes before the hour is up, with the same (unrotated) refresh token.
    session.clock = lambda: tokens.expires_at - 100  # type: ignore[method-assign]
    fresh = session.access_token()
    stored = session.store.load()
    assert fresh != tokens.access_token and stored is not None
    assert stored.refresh_token == tokens.refresh_token


def test_a_token_twinfield_refuses_says_how_to_log_in_and_shows_no_secret(
    twinfield: tuple[TwinfieldSandbox, SandboxServer],
) -> None:
    app, server = twinfield
    app.accept_any_token = False
    discovery = auth.ClusterDiscovery(server.url + AUTH_PREFIX)
    with pytest.raises(AuthError, match="migrationkit auth twinfield") as caught:
        discovery("secret-looking-token")
    assert "secret-looking-token" not in str(caught.value)
    with pytest.raises(ConfigError, match="TWINFIELD_CLIENT_ID"):
        auth.credentials(None, None)


def test_the_auth_command_logs_in_and_lists_the_offices(
    tmp_path: Path,
    twinfield: tuple[TwinfieldSandbox, SandboxServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, server = twinfield
    monkeypatch.setattr(auth, "open_browser", follow)
    store = tmp_path / "tokens.json"
    result = CliRunner().invoke(
        auth_command,
        [
            "--client-id", app.client_id, "--client-secret", app.client_secret,
            "--port", str(free_port()), "--token-store", str(store),
            "--login-url", server.url + AUTH_PREFIX,
        ],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"cluster:      {server.url}" in result.output
    assert f"office {app.default_office}" in result.output
    assert store.exists() and (store.stat().st_mode & 0o777) == 0o600
    assert app.client_secret not in result.output
    # The stored login opens the connector with nothing but the office.
    connector = PluginRegistry().open(
        "twinfield",
        {
            "location": app.default_office,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "token_store": str(store),
            "login_url": server.url + AUTH_PREFIX,
        },
    )
    assert connector.identity() == f"twinfield:{app.default_office}"
