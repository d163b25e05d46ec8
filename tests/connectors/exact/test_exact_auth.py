"""Logging in to Exact: ``migrationkit auth exact``, refresh tokens that rotate and serve once,
two processes migrating into one division sharing one token store, and the one line a user
reads when only a new login helps. No secret appears in any message."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
import requests
from click.testing import CliRunner

from connectors.exact.exact_support import connector_options, sandbox
from migrationkit import (
    AuthError,
    ConfigError,
    Migration,
    MigrationOptions,
    PluginRegistry,
    SQLiteStateStore,
)
from migrationkit.connectors.exact import auth
from migrationkit.connectors.exact.commands import auth_command
from migrationkit.http import TokenStore
from migrationkit.testing import SandboxServer, datasets, memory_source
from migrationkit.testing.generators.sage50 import GeneratorOptions, generate
from migrationkit.testing.sandboxes.exact.app import ExactSandbox


@pytest.fixture
def strict() -> Iterator[tuple[ExactSandbox, SandboxServer]]:
    """A sandbox that runs Exact's token lifecycle (only the tokens it issued work)."""
    with sandbox(oauth=True) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_real_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXACT_CLIENT_ID", raising=False)
    monkeypatch.delenv("EXACT_CLIENT_SECRET", raising=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def log_in(app: ExactSandbox, server: SandboxServer, store: Path) -> None:
    """What ``migrationkit auth exact`` does, the browser's step done by hand."""
    session = auth.oauth_session(app.client_id, app.client_secret, server.url, store)
    redirect = "http://localhost:8765/callback"
    answer = requests.get(
        f"{server.url}/api/oauth2/auth",
        params={"client_id": app.client_id, "redirect_uri": redirect, "response_type": "code"},
        allow_redirects=False,
        timeout=5,
    )
    query = urllib.parse.urlsplit(answer.headers["Location"]).query
    session.exchange_code(urllib.parse.parse_qs(query)["code"][0], redirect)


def expire(app: ExactSandbox, store: Path) -> None:
    """Ten minutes pass, for the division and for the stored tokens alike."""
    app.advance(600)
    tokens = TokenStore(store).load()
    assert tokens is not None
    now = time.time()
    TokenStore(store).save(attrs.evolve(tokens, expires_at=now - 1, issued_at=now - 600))


_CONFIG = """
[source]
connector = "sage50-json"
path = "{company}"

[target]
connector = "exact"
division = 1
base_url = "{base}"
client_id = "{client_id}"
client_secret = "{secret}"
token_store = "{store}"
rate_scale = 1000

[migration]
state = "{state}"
report_dir = "{reports}"
"""


def test_two_processes_migrating_into_one_division_never_burn_the_refresh_token(
    strict: tuple[ExactSandbox, SandboxServer], tmp_path: Path
) -> None:
    app, server = strict
    store = tmp_path / "tokens.json"
    log_in(app, server, store)
    companies = [tmp_path / "company0.json", tmp_path / "company1.json"]
    for company, seed in zip(companies, (3, 4), strict=True):
        generate(company, GeneratorOptions(seed=seed, transactions=40))
    configs = []
    for n, company in enumerate(companies):
        config = tmp_path / f"migration{n}.toml"
        config.write_text(
            _CONFIG.format(
                company=company,
                base=server.url,
                client_id=app.client_id,
                secret=app.client_secret,
                store=store,
                state=tmp_path / f"state{n}.db",
                reports=tmp_path / f"reports{n}",
            ),
            "utf-8",
        )
        configs.append(config)
    # The division's chart and VAT codes are in place (both companies share them), as when a
    # second company joins a division another migration set up.
    masters = tmp_path / "masters.toml"
    masters.write_text(
        configs[0].read_text("utf-8")
        + 'entities = ["company", "tax_rates", "ledger_accounts", "tracking_categories", '
        '"bank_accounts"]\n',
        "utf-8",
    )
    first = _migrate(masters)
    assert first.returncode == 0, first.stdout + first.stderr
    expire(app, store)  # the first call of both processes must refresh
    # A process that hangs is made to print where (faulthandler on SIGABRT) before it is killed.
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    processes = [
        subprocess.Popen(
            _command(config), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        for config in configs
    ]
    outputs = [_output(p, timeout=240) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert app.oauth.refreshes == 1, "one refresh, shared through the store by both"
    assert app.oauth.old_refresh_tokens_used == 0 and app.oauth.too_early == 0
    saved = TokenStore(store).load()
    assert saved is not None and saved.calls == 2  # the login and the one refresh
    for out in outputs:
        assert app.client_secret not in out and str(saved.refresh_token) not in out
    entries = app.division().table("salesentry/SalesEntries")
    assert {e["Customer"] for e in entries.values()}, "both companies' invoices are in"


def _command(config: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "migrationkit", "--quiet", "--config", str(config), "migrate",
        "--skip-validation", *extra,
    ]  # fmt: skip


def _output(process: subprocess.Popen[str], timeout: float) -> str:
    """What the process printed; if it runs past ``timeout``, its threads' stacks, and a failure."""
    try:
        return process.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        stacks = process.communicate(timeout=30)[0]
        pytest.fail(f"{process.args} still ran after {timeout:.0f} s; where it was:\n{stacks}")


def _migrate(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(config, *extra), capture_output=True, text=True, timeout=240, check=False
    )


def test_an_old_refresh_token_ends_the_run_in_one_line_saying_to_log_in_again(
    strict: tuple[ExactSandbox, SandboxServer], tmp_path: Path
) -> None:
    app, server = strict
    store = tmp_path / "tokens.json"
    log_in(app, server, store)
    burnt = TokenStore(store).load()
    log_in(app, server, store)  # a login elsewhere: only the newest refresh token is valid
    assert burnt is not None
    TokenStore(store).save(burnt)
    expire(app, store)
    options = connector_options(
        app,
        server,
        client_id=app.client_id,
        client_secret=app.client_secret,
        token_store=str(store),
    )
    options.pop("access_token")
    run = Migration(
        memory_source(datasets.basic(), name="basic"),
        PluginRegistry().open("exact", options),
        SQLiteStateStore(tmp_path / "state.db"),
        MigrationOptions(validate=False),
    )
    with pytest.raises(AuthError) as caught:
        run.full()
    assert str(caught.value) == (
        "the Exact Online token endpoint refused the request (401 unauthorized_client): the "
        "stored refresh token was already used (Exact keeps only the newest: another login, or "
        "a process without the shared token store); nothing is lost: run `migrationkit auth "
        "exact`, then the same command again"
    )
    assert app.oauth.old_refresh_tokens_used == 1
    for secret in (burnt.refresh_token, burnt.access_token, app.client_secret):
        assert secret and secret not in str(caught.value)
    log_in(app, server, store)
    assert run.full().status == "succeeded"


def test_refresh_tokens_rotate_serve_once_and_are_never_asked_too_early(
    strict: tuple[ExactSandbox, SandboxServer], tmp_path: Path
) -> None:
    app, server = strict
    store = tmp_path / "tokens.json"
    log_in(app, server, store)
    session = auth.oauth_session(app.client_id, app.client_secret, server.url, store)
    first = TokenStore(store).load()
    assert first is not None and round(first.expires_at - first.issued_at) == 600
    # Exact's refusal of a new token within 570 s, as the sandbox gives it.
    early = requests.post(
        f"{server.url}/api/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first.refresh_token,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
        timeout=5,
    )
    assert early.status_code == 400
    assert early.json()["error_description"] == "Rate limit exceeded: access_token not expired"
    assert session.access_token() == first.access_token  # young: kept, not renewed
    expire(app, store)
    renewed = session.access_token()
    second = TokenStore(store).load()
    assert second is not None and renewed == second.access_token != first.access_token
    assert second.refresh_token != first.refresh_token
    reused = requests.post(
        f"{server.url}/api/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first.refresh_token,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
        timeout=5,
    )
    assert reused.status_code == 401
    assert reused.json() == {
        "error": "unauthorized_client",
        "error_description": "Old refresh token used.",
    }


def test_the_auth_command_logs_in_through_the_browser_and_shows_the_division(
    strict: tuple[ExactSandbox, SandboxServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, server = strict
    opened: list[str] = []

    def browser(url: str) -> None:
        # The user approves in the browser; Exact redirects to the local callback.
        opened.append(url)
        threading.Thread(
            target=requests.get, args=(url,), kwargs={"timeout": 10}, daemon=True
        ).start()

    monkeypatch.setattr(auth, "open_browser", browser)
    store = tmp_path / "tokens" / "exact.json"
    result = CliRunner().invoke(
        auth_command,
        [
            "--client-id",
            app.client_id,
            "--base-url",
            server.url,
            "--port",
            str(free_port()),
            "--token-store",
            str(store),
        ],
        env={"EXACT_CLIENT_SECRET": app.client_secret},
    )
    assert result.exit_code == 0, result.output
    assert "Use it as: exact:1" in result.output
    assert opened[0].startswith(f"{server.url}/api/oauth2/auth?")
    assert "code_challenge_method=S256" in opened[0]
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    saved = TokenStore(store).load()
    assert saved is not None
    for secret in (saved.access_token, saved.refresh_token, app.client_secret):
        assert secret and secret not in result.output


def test_a_fixed_token_that_is_refused_says_so_without_showing_it(
    strict: tuple[ExactSandbox, SandboxServer],
) -> None:
    app, server = strict
    connector = PluginRegistry().open(
        "exact", {**connector_options(app, server), "access_token": "s3cr3t-t0k3n"}
    )
    with pytest.raises(AuthError) as caught:
        list(connector.extract("tax_rates"))
    assert "s3cr3t-t0k3n" not in str(caught.value) and "access_token" in str(caught.value)


def test_missing_app_credentials_are_a_clear_config_error() -> None:
    with pytest.raises(ConfigError, match="EXACT_CLIENT_ID"):
        PluginRegistry().open("exact", {"division": 1})


def test_the_sandbox_command_starts_and_prints_what_to_connect_with() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "migrationkit",
            "sandbox",
            "exact",
            "--port",
            "0",
            "--division",
            "42",
            "--currency",
            "gbp",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        api = lines[0].split(" at ")[1].strip()
        token = lines[1].split(":", 1)[1].strip()
        assert api.endswith("/api/v1/42/") and lines[2].split()[:3] == ["division:", "42", "(GBP)"]
        answer = requests.get(
            api + "hrm/Divisions",
            params={"$select": "Code,Currency"},
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=5,
        )
        assert answer.json()["d"]["results"] == [{"Code": 42, "Currency": "GBP"}]
    finally:
        process.terminate()
        process.wait(10)
