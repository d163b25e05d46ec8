"""A portfolio keeps no secret and nothing others can read: a client into the Xero sandbox."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from migrationkit.core.redaction import forget_all
from migrationkit.doctor import check_storage
from migrationkit.http import TokenSet, TokenStore
from migrationkit.portfolio import ClientStatus, Portfolio
from migrationkit.testing.sandboxes.xero.app import API_PREFIX, TOKEN_PATH
from migrationkit.testing.sandboxes.xero.app import start_server as start_xero
from test_no_secret_written import EchoingXero

CLIENT_SECRET = "portfolio-app-secret-Kx93-chosen"


def test_a_portfolio_run_writes_no_secret_and_only_owner_only_files(
    portfolio_dir: Path, companies, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forget_all()
    monkeypatch.setenv("XERO_CLIENT_ID", "sandbox-client")
    monkeypatch.setenv("XERO_CLIENT_SECRET", CLIENT_SECRET)
    [source] = companies(1, 0)
    app = EchoingXero(rate_scale=1000.0, accept_any_token=False)
    tokens = tmp_path / "secrets" / "xero.json"
    TokenStore(tokens).save(
        TokenSet(
            access_token=app.issue_token(),
            refresh_token=app.issue_refresh_token(),
            expires_at=time.time() - 5,
        )
    )
    config = tmp_path / "client.toml"
    with start_xero(app) as server, Portfolio(portfolio_dir) as portfolio:
        config.write_text(
            f'[source]\nconnector = "sage50-json"\nlocation = "{source}"\n'
            f'[target]\nconnector = "xero"\nlocation = "{app.default_tenant}"\n'
            f'base_url = "{server.url + API_PREFIX}"\ntoken_url = "{server.url + TOKEN_PATH}"\n'
            f'token_store = "{tokens}"\nrate_scale = 1000.0\nclearing_account = "9997"\n'
        )
        portfolio.add("Acme", config=config)
        [first] = portfolio.run("full", portfolio.select(["Acme"]))
        assert app.echoed and first.status is ClientStatus.FAILED
        assert "may not create items" in (first.reason or "")
        [second] = portfolio.run("full", portfolio.select(["Acme"]))
        assert second.status is ClientStatus.ACTIVE, second.reason
    secrets = [CLIENT_SECRET, *app.issued]
    assert len(app.issued) > 2
    written = [p for p in portfolio_dir.rglob("*") if p.is_file()]
    assert any(p.name == "system.db" for p in written) and any(
        p.name == "state.db" for p in written
    )
    for path in written:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, f"{secret[:12]}… in {path}"
        if path.name != "portfolio.toml":  # the test wrote that one
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for folder in (p for p in portfolio_dir.rglob("*") if p.is_dir()):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    checkup = check_storage(state=portfolio_dir / "none.db", portfolios=[portfolio_dir])
    # Only what the test made with the umask's modes: the folder and its portfolio.toml.
    assert {p.path for p in checkup.problems} == {
        str(portfolio_dir),
        str(portfolio_dir / "portfolio.toml"),
    }
