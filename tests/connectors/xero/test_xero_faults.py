"""Faults against the sandbox: bursts of 429 and 5xx, an access token expiring mid-run, a
connection dropped after the server committed a batch, and the daily limit. After each, every
record is on Xero exactly once."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.xero.xero_spec import SpecObserver
from factories import company
from fakes import MemorySource, source_connector
from migrationkit import (
    ENTITY_ORDER,
    Connector,
    DailyLimitReached,
    DocumentStatus,
    Migration,
    MigrationKitError,
    PluginRegistry,
    SQLiteStateStore,
)
from migrationkit.http import Limits, TokenSet, TokenStore
from migrationkit.testing import Fault, Request, Response, SandboxServer
from migrationkit.testing.sandboxes.xero.app import (
    API_PREFIX,
    TOKEN_PATH,
    XeroSandbox,
    start_server,
)

RATE_SCALE = 1000.0
DOCUMENTS = ("invoices", "credit_notes", "payments", "bank_transactions", "manual_journals")


class DropOnce(XeroSandbox):
    """Commits the first write to ``path``, then drops the connection instead of answering."""

    def __init__(self, path: str, **options: Any) -> None:
        super().__init__(**options)
        self.drop_path = path
        self.dropped = 0

    def dispatch(self, request: Request) -> tuple[Response | None, bool]:
        response, drop = super().dispatch(request)
        hit = request.method == "PUT" and request.path.endswith(self.drop_path)
        if hit and not self.dropped and response is not None and response.status == 200:
            self.dropped += 1
            return response, True
        return response, drop


def _open(server: SandboxServer, app: XeroSandbox, spec: SpecObserver, **options: Any) -> Connector:
    settings: dict[str, Any] = {
        "location": app.default_tenant,
        "base_url": server.url + API_PREFIX,
        "token_url": server.url + TOKEN_PATH,
        "access_token": "fault-token",
        "rate_scale": RATE_SCALE,
        "clearing_account": "9997",
        "observers": [spec],
    }
    settings.update(options)
    return PluginRegistry().open("xero", {k: v for k, v in settings.items() if v is not None})


@pytest.fixture
def source() -> MemorySource:
    return MemorySource(company(invoices=30))


def _migration(source: MemorySource, target: Connector, tmp_path: Path) -> Migration:
    return Migration(source_connector(source), target, SQLiteStateStore(tmp_path / "state.db"))


def assert_once_each(migration: Migration, source: MemorySource) -> None:
    """Every source document is on Xero exactly once, and nothing else of ours is."""
    info = migration.store.migrations()[0]
    for entity in DOCUMENTS:
        reverse = migration.store.reverse_lookup(info.id, entity)
        held = Counter(
            reverse.get(r.key, f"?{r.key}")
            for r in migration.target.extract(entity)
            if getattr(r, "status", DocumentStatus.POSTED) is not DocumentStatus.VOIDED
        )
        wanted = Counter(r.key for r in source.records.get(entity, ()))
        assert held == wanted, entity


def test_bursts_of_429_and_5xx_end_in_a_complete_load(
    source: MemorySource, tmp_path: Path, spec: SpecObserver
) -> None:
    app = XeroSandbox(rate_scale=RATE_SCALE)
    minute = {"X-Rate-Limit-Problem": "minute"}
    app.faults.add(Fault(status=429, retry_after=0.01, headers=minute, methods=("PUT",)), times=3)
    app.faults.add(Fault(status=503, methods=("PUT",)), times=2)
    app.faults.add(Fault(status=500, methods=("GET",)))
    app.faults.add(Fault(status=502, methods=("POST",)))
    with start_server(app) as server:
        migration = _migration(source, _open(server, app, spec), tmp_path)
        report = migration.full()
        assert report.status == "succeeded", report.error
        assert not report.problems, report.problems[:3]
        assert app.faults.injected == 7
        assert_once_each(migration, source)
        assert 429 in {status for _, _, status in app.calls}


def test_a_dropped_connection_after_the_commit_is_sent_again_and_replayed(
    source: MemorySource, tmp_path: Path, spec: SpecObserver
) -> None:
    app = DropOnce("/Invoices", rate_scale=RATE_SCALE)
    with start_server(app) as server:
        migration = _migration(source, _open(server, app, spec), tmp_path)
        report = migration.full()
        assert report.status == "succeeded", report.error
        assert app.dropped == 1
        # The same batch went again with the same Idempotency-Key: Xero answered from memory.
        assert app.idempotent_replays == 1
        assert_once_each(migration, source)


@pytest.mark.parametrize("path", ["/Invoices", "/BankTransactions", "/ManualJournals", "/Payments"])
def test_a_run_that_died_after_the_commit_resumes_without_loss_or_duplicate(
    path: str, source: MemorySource, tmp_path: Path, spec: SpecObserver
) -> None:
    app = DropOnce(path, rate_scale=RATE_SCALE)
    with start_server(app) as server:
        first = _migration(source, _open(server, app, spec, retries=0), tmp_path)
        with pytest.raises(MigrationKitError, match="failed 1 times"):
            first.full()
        assert app.dropped == 1
        # A new process: the run resumes, looks up each write whose answer was lost, and goes on.
        again = _migration(source, _open(server, app, spec), tmp_path)
        report = again.full()
        assert report.status == "succeeded", report.error
        assert report.run_id == 1, "the interrupted run is resumed"
        assert not report.problems, report.problems[:3]
        assert_once_each(again, source)


def test_the_daily_limit_stops_the_run_and_it_resumes_without_loss(
    source: MemorySource, tmp_path: Path, spec: SpecObserver
) -> None:
    # A tenant allowed 15 calls a day: the company takes several days, one run resumed daily.
    app = XeroSandbox(rate_scale=RATE_SCALE, limits=Limits(concurrent=5, per_minute=60, per_day=15))
    days = 0
    with start_server(app) as server:
        while True:
            migration = _migration(source, _open(server, app, spec), tmp_path)
            stopped = _stopped_by_the_day(migration)
            if stopped is None:
                report = migration.last_report
                break
            assert "resume" in str(stopped) or "again after" in str(stopped)
            assert stopped.resume_at is not None
            runs = migration.store.runs(migration.store.migrations()[0].id)
            assert [r.status.value for r in runs] == ["failed"], "the same run, stopped"
            days += 1
            assert days < 20, "the migration never finished"
            app.advance(86_400 / RATE_SCALE)  # the tenant's day is over: a new process resumes
        assert days >= 2
        assert report.status == "succeeded", report.error
        assert report.run_id == 1, "every day resumed the one run"
        assert not report.problems, report.problems[:3]
        app.limits = Limits(concurrent=5, per_minute=60, per_day=5000).scaled(RATE_SCALE)
        assert_once_each(_migration(source, _open(server, app, spec), tmp_path), source)


def _stopped_by_the_day(migration: Migration) -> DailyLimitReached | None:
    """Run a full migration; the DailyLimitReached that stopped it, or None when it finished."""
    try:
        migration.last_report = migration.full()  # type: ignore[attr-defined]
    except DailyLimitReached as stopped:
        return stopped
    return None


@pytest.fixture
def strict() -> Iterator[tuple[XeroSandbox, SandboxServer]]:
    """A sandbox that accepts only tokens it issued, and only until they expire."""
    app = XeroSandbox(rate_scale=RATE_SCALE, accept_any_token=False)
    with start_server(app) as server:
        yield app, server


def _logged_in(app: XeroSandbox, path: Path, expires_in: float) -> TokenStore:
    store = TokenStore(path)
    store.save(
        TokenSet(
            access_token=app.issue_token(),
            refresh_token=app.issue_refresh_token(),
            expires_at=time.time() + expires_in,
        )
    )
    return store


OAuthOptions = Callable[[Path], dict[str, Any]]


def _oauth(path: Path) -> dict[str, Any]:
    return {
        "access_token": None,
        "client_id": "sandbox-client",
        "client_secret": "sandbox-secret-value",
        "token_store": str(path),
    }


def test_an_access_token_expiring_mid_run_is_refreshed_through_the_token_endpoint(
    strict: tuple[XeroSandbox, SandboxServer],
    source: MemorySource,
    tmp_path: Path,
    spec: SpecObserver,
) -> None:
    app, server = strict
    tokens = tmp_path / "xero-tokens.json"
    store = _logged_in(app, tokens, expires_in=3600)
    before = store.load()
    assert before is not None
    # Xero revokes the token half way through: the next call answers 401.
    app.faults.add(Fault(expire_token=True, methods=("PUT",)))
    migration = _migration(source, _open(server, app, spec, **_oauth(tokens)), tmp_path)
    report = migration.full()
    assert report.status == "succeeded", report.error
    after = store.load()
    assert after is not None
    assert after.refresh_token != before.refresh_token, "the refresh token was rotated"
    assert after.access_token != before.access_token
    assert app.rejected_refresh_tokens == 0
    assert_once_each(migration, source)


def test_a_token_about_to_expire_is_refreshed_before_it_is_used(
    strict: tuple[XeroSandbox, SandboxServer], tmp_path: Path, spec: SpecObserver
) -> None:
    app, server = strict
    tokens = tmp_path / "xero-tokens.json"
    store = _logged_in(app, tokens, expires_in=60)  # inside the two-minute margin
    old = store.load()
    connector = _open(server, app, spec, **_oauth(tokens))
    assert [r.key for r in connector.extract("company")]
    new = store.load()
    assert old is not None and new is not None
    assert new.access_token != old.access_token
    assert 401 not in {status for _, _, status in app.calls}


def test_no_secret_reaches_an_error_message(
    strict: tuple[XeroSandbox, SandboxServer], tmp_path: Path, spec: SpecObserver
) -> None:
    app, server = strict
    tokens = tmp_path / "xero-tokens.json"
    store = _logged_in(app, tokens, expires_in=-10)
    burned = store.load()
    assert burned is not None
    app._refresh[burned.refresh_token or ""] = False  # another process used it already
    connector = _open(server, app, spec, **_oauth(tokens))
    with pytest.raises(MigrationKitError) as refused:
        list(connector.extract("company"))
    text = f"{refused.value} {connector!r} {connector.instance!r}"
    assert "invalid_grant" in str(refused.value)
    for secret in ("sandbox-secret-value", burned.refresh_token or "-", burned.access_token):
        assert secret not in text


def test_every_document_entity_was_covered(source: MemorySource) -> None:
    assert set(DOCUMENTS) <= set(ENTITY_ORDER)
    for entity in DOCUMENTS:
        assert source.records.get(entity), f"the test company has no {entity}"
