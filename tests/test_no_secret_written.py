"""No secret in any file a run writes: real migrations against the sandboxes, then grep.

Each test runs the command line as a user would (``--debug``, so every log record reaches
standard error, plus a log file of the library user's own) with secrets we know: the OAuth
app's client secret, the access and refresh tokens in the token store, the tokens the sandbox
hands out when the run refreshes them. Then every file under the test's folder that the run
wrote (state store and its -wal/-shm, reports, logs) and everything printed is searched for
each of them.

The sandbox here misbehaves the way a proxy or a debugging API might: it echoes the caller's
access token in a validation error, so the token reaches the record's outcome (state store)
and the error file unless the redaction filter takes it out.
"""

from __future__ import annotations

import logging
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migrationkit.core.redaction import forget_all
from migrationkit.http import TokenSet, TokenStore
from migrationkit.testing.generators.sage50 import GeneratorOptions, generate
from migrationkit.testing.sandboxes.server import Request, Response
from migrationkit.testing.sandboxes.xero.app import (
    API_PREFIX,
    TOKEN_PATH,
    XeroSandbox,
    _validation_error,
)
from migrationkit.testing.sandboxes.xero.app import start_server as start_xero
from test_cli import run

CLIENT_SECRET = "xero-app-secret-Zq81-we-chose"


class EchoingXero(XeroSandbox):
    """A Xero sandbox that refuses the first batch of items, quoting the caller's token."""

    echoed = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.issued: list[str] = []

    def issue_token(self) -> str:
        self.issued.append(super().issue_token())
        return self.issued[-1]

    def issue_refresh_token(self) -> str:
        self.issued.append(super().issue_refresh_token())
        return self.issued[-1]

    def handle(self, request: Request) -> Response:
        if request.method in ("POST", "PUT") and "/Items" in request.path and not self.echoed:
            self.echoed = True
            return _validation_error(f"the caller {request.bearer()} may not create items")
        return super().handle(request)


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """A library user's own log file, at DEBUG, on the root logger."""
    path = tmp_path / "work" / "logs" / "run.log"
    path.parent.mkdir(parents=True)
    handler = logging.FileHandler(path)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield path
    root.removeHandler(handler)
    handler.close()
    root.setLevel(level)


def _written(folder: Path, leave_out: set[Path]) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p not in leave_out]


def _database_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def _assert_nowhere(secrets: list[str], files: list[Path], printed: str) -> None:
    assert all(len(s) >= 8 for s in secrets)
    for secret in secrets:
        assert secret not in printed, f"{secret[:10]}… printed"
        for path in files:
            assert secret.encode() not in path.read_bytes(), f"{secret[:10]}… in {path}"


def test_a_migration_into_the_xero_sandbox_writes_no_secret(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    log_file: Path,
) -> None:
    forget_all()  # nothing remembered from other tests: what is found, the run found
    work = tmp_path / "work"
    monkeypatch.chdir(work)
    company = tmp_path / "company.json"
    generate(company, GeneratorOptions(seed=11, transactions=40))
    app = EchoingXero(rate_scale=1000.0, accept_any_token=False)
    first_access, first_refresh = app.issue_token(), app.issue_refresh_token()
    tokens = tmp_path / "secrets" / "xero-tokens.json"
    # An access token that has expired: the run refreshes it, and rotates the refresh token.
    TokenStore(tokens).save(
        TokenSet(access_token=first_access, refresh_token=first_refresh, expires_at=time.time() - 5)
    )
    config = tmp_path / "secrets" / "migration.toml"
    with start_xero(app) as server:
        config.write_text(
            f'[source]\nconnector = "sage50-json"\npath = "{company}"\n'
            f'[target]\nconnector = "xero"\nlocation = "{app.default_tenant}"\n'
            f'base_url = "{server.url + API_PREFIX}"\ntoken_url = "{server.url + TOKEN_PATH}"\n'
            f'client_id = "sandbox-client"\nclient_secret = "{CLIENT_SECRET}"\n'
            f'token_store = "{tokens}"\nrate_scale = 1000.0\nclearing_account = "9997"\n'
        )
        command = ["--debug", "--quiet", "--config", str(config), "migrate"]
        code, out, err = run(command, capsys)
        # The refused batch stops the run (transient: running again resumes it) ...
        assert code == 1 and app.echoed, err[-2000:]
        assert "may not create items" in err, "the echo reached the traceback"
        code, out2, err2 = run(command, capsys)
    # ... and the second run finishes the migration.
    assert code == 0, err2[-2000:]
    out, err = out + out2, err + err2
    refreshed = TokenStore(tokens).load()
    assert refreshed is not None and refreshed.access_token != first_access, "no refresh"
    assert refreshed.refresh_token not in (None, first_refresh)
    files = _written(work, set())
    state = work / ".migrationkit" / "state.db"
    assert state in files and log_file in files
    assert any(p.name == "report.json" for p in files)
    assert b"may not create items" in _database_bytes(state), "the echo reached the state store"
    assert "POST" in log_file.read_text() or "connect/token" in err, "the log saw the calls"
    # Every token the sandbox handed out (its tokens live 1.8 s here: the runs refresh often).
    secrets = [CLIENT_SECRET, *app.issued]
    assert len(app.issued) > 2 and first_access in secrets and refreshed.access_token in secrets
    _assert_nowhere(secrets, files, out + err)
    for path in files:
        if path != log_file:  # the user's own handler made that one
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for folder in (p for p in work.rglob("*") if p.is_dir() and p != log_file.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
