"""Faults real APIs have, during real runs of the example company: no duplicate and no loss.

429 and 5xx bursts, Exact's own minutely limit (met by waiting for the reset it announces in
epoch milliseconds), the day's 5,000 calls spent (the run stops cleanly, saying when to resume),
access tokens expiring mid-run (renewed at 570 seconds through the token endpoint, the refresh
token rotating), a token Exact refuses early (one line, nothing lost), and connections dropped
after Exact committed a create (found again by what the record carries, never sent twice).
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import requests
from exact_support import (
    FaultsAt,
    assert_exactly_once,
    connector_options,
    open_connector,
    sandbox,
)

from migrationkit import (
    AuthError,
    Connector,
    DailyLimitReached,
    Migration,
    MigrationOptions,
    PluginRegistry,
    RemoteAPIError,
    SQLiteStateStore,
    reconcile,
)
from migrationkit.http import TokenStore
from migrationkit.testing import Fault, SandboxServer, datasets, memory_source
from migrationkit.testing.sandboxes.exact.app import ExactSandbox

MOVED = (
    "contacts",
    "items",
    "bank_accounts",
    "opening_balances",
    "invoices",
    "refunds",
    "open_items",
    "credit_notes",
    "payments",
    "bank_transactions",
    "bank_transfers",
    "manual_journals",
)
DROP = Fault(drop_after_commit=True, methods=("POST",))
PASS = Fault(methods=("POST",))  # lets one create through untouched


def run_example(
    company: Path, tmp_path: Path, target: Connector, observer: Any = None
) -> Migration:
    source = PluginRegistry().open("sage50-json", {"location": str(company)})
    return Migration(
        source, target, SQLiteStateStore(tmp_path / "state.db"), MigrationOptions(), observer
    )


def finished_clean(run: Migration) -> None:
    report = run.full()
    assert report.status == "succeeded", report.error
    assert not [p for p in report.problems if p.outcome == "failed"], report.problems
    assert_exactly_once(run, MOVED, report)
    info = run.store.migrations()[0]
    assert reconcile(run.source, run.target, run.store, info.id).ok  # type: ignore[arg-type]


def test_bursts_of_429_and_5xx_are_retried_without_duplicates(
    example_company: Path,
    tmp_path: Path,
    exact: tuple[ExactSandbox, SandboxServer],
    target: Connector,
) -> None:
    app, _server = exact
    burst = [
        *[Fault(status=429, retry_after=0)] * 3,
        Fault(status=503),
        Fault(status=500, methods=("POST",)),
        Fault(status=502),
        Fault(status=504, methods=("GET",)),
    ]
    plan = dict.fromkeys(("contacts", "invoices", "payments", "manual_journals"), burst)
    finished_clean(run_example(example_company, tmp_path, target, FaultsAt(app, plan)))
    assert app.faults.injected == 4 * len(burst)


def test_exacts_minutely_limit_is_met_by_waiting_for_its_reset(
    example_company: Path, tmp_path: Path
) -> None:
    # The sandbox allows 15 calls a (scaled) minute; the client keeps to Exact's 60.
    with sandbox(minute_limit=15) as (app, server):
        target = PluginRegistry().open("exact", connector_options(app, server))
        finished_clean(run_example(example_company, tmp_path, target))
    assert app.rate_limited > 0


def test_a_spent_day_stops_the_run_cleanly_and_it_resumes_the_next(
    example_company: Path, tmp_path: Path
) -> None:
    # The company needs some 560 calls: the day's 400 end part way.
    with sandbox(day_limit=400) as (app, server):
        target = PluginRegistry().open("exact", connector_options(app, server))
        run = run_example(example_company, tmp_path, target)
        with pytest.raises(
            DailyLimitReached,
            match=r"400 calls of the day are spent; run the "
            r"same command again after \d{4}-\d\d-\d\d \d\d:\d\d UTC",
        ) as caught:
            run.full()
        assert caught.value.retriable and caught.value.resume_at is not None
        assert run.store.runs(1)[-1].status.value == "failed"
        assert app.calls == 400 and not app.rate_limited, "not one call past the allowance"
        day = 86_400 / app.rate_scale
        run.store.close()
        app.advance(day)  # the next day: the same command again, in a new process
        again = run_example(example_company, tmp_path, open_connector(app, server))
        resumed = again.full()
        assert resumed.status == "succeeded" and not app.rate_limited
        again.store.close()
        app.advance(day)  # checking reads everything back: another day's calls
        finished_clean(run_example(example_company, tmp_path, open_connector(app, server)))


def test_access_tokens_are_renewed_at_570_seconds_mid_run(
    example_company: Path, tmp_path: Path
) -> None:
    with sandbox(oauth=True) as (app, server):
        store = tmp_path / "tokens.json"
        session = login(app, server, store)
        first = TokenStore(store).load()
        target = oauth_connector(app, server, store)
        auth = target.instance.client.api.auth  # type: ignore[attr-defined]
        auth.clock = app.now  # the connector's clock is the division's
        refused: list[int] = []
        calls = iter(range(1, 10_000))

        def ten_minutes_pass(
            request: requests.PreparedRequest, response: requests.Response
        ) -> None:
            if response.status_code == 401:
                refused.append(response.status_code)
            if next(calls) in (150, 450):
                app.advance(600)

        target.instance.client.api.observers.append(ten_minutes_pass)  # type: ignore[attr-defined]
        finished_clean(run_example(example_company, tmp_path, target))
        assert app.oauth.refreshes == 2 and not refused
        assert app.oauth.too_early == app.oauth.old_refresh_tokens_used == 0
        latest = TokenStore(store).load()
        assert first is not None and latest is not None and session is not None
        assert latest.refresh_token != first.refresh_token
        assert latest.calls == 3, "one login and two refreshes counted in the store"


def test_a_token_refused_early_stops_the_run_in_one_line_and_nothing_is_lost(
    example_company: Path, tmp_path: Path
) -> None:
    with sandbox(oauth=True) as (app, server):
        store = tmp_path / "tokens.json"
        login(app, server, store)
        target = oauth_connector(app, server, store)
        target.instance.client.api.auth.clock = app.now  # type: ignore[attr-defined]
        run = run_example(
            example_company,
            tmp_path,
            target,
            FaultsAt(app, {"invoices": [Fault(expire_token=True)]}),
        )
        with pytest.raises(AuthError) as caught:
            run.full()
        message = str(caught.value)
        assert message.startswith("Exact Online refused an access token issued")
        assert message.endswith("run `migrationkit auth exact`, then the same command again")
        assert "\n" not in message and app.oauth.too_early == 0
        login(app, server, store)
        finished_clean(run)


def test_a_connection_dropped_after_exact_committed_is_found_again_not_resent(
    example_company: Path,
    tmp_path: Path,
    exact: tuple[ExactSandbox, SandboxServer],
    target: Connector,
) -> None:
    app, _server = exact
    plan = {entity: [DROP] for entity in (*MOVED, "tax_rates", "ledger_accounts")}
    finished_clean(run_example(example_company, tmp_path, target, FaultsAt(app, plan)))
    assert app.faults.injected == len(plan)


def test_an_interrupted_run_resumes_without_writing_twice(
    example_company: Path,
    tmp_path: Path,
    exact: tuple[ExactSandbox, SandboxServer],
    target: Connector,
) -> None:
    # The answer to a payment is lost, and the run dies before it can look: the next run looks.
    app, _server = exact

    class Dies(FaultsAt):
        def entity_started(self, entity: str, phase: str) -> None:
            super().entity_started(entity, phase)
            if entity == "payments" and phase == "loading":
                target.instance.client.api.retries = 0  # type: ignore[attr-defined]
                app.faults.add(DROP)
                app.faults.add(Fault(status=503), times=5)

    run = run_example(example_company, tmp_path, target, Dies(app, {}))
    with pytest.raises(RemoteAPIError, match="answered 503"):
        run.full()
    target.instance.client.api.retries = 6  # type: ignore[attr-defined]
    run.observer = FaultsAt(app, {})
    finished_clean(run)


def login(app: ExactSandbox, server: SandboxServer, store: Path) -> Any:
    """Log in to the sandbox as a user would (the browser's step done by hand)."""
    from migrationkit.connectors.exact.auth import oauth_session

    session = oauth_session(app.client_id, app.client_secret, server.url, store)
    redirect = "http://localhost:8765/callback"
    answer = requests.get(
        f"{server.url}/api/oauth2/auth",
        params={"client_id": app.client_id, "redirect_uri": redirect, "response_type": "code"},
        allow_redirects=False,
        timeout=5,
    )
    query = urllib.parse.urlsplit(answer.headers["Location"]).query
    session.exchange_code(urllib.parse.parse_qs(query)["code"][0], redirect)
    return session


def oauth_connector(app: ExactSandbox, server: SandboxServer, store: Path) -> Connector:
    secrets = {"client_id": app.client_id, "client_secret": app.client_secret}
    options = connector_options(app, server, token_store=str(store), **secrets)
    options.pop("access_token")
    return PluginRegistry().open("exact", options)


@pytest.fixture(autouse=True)
def _no_real_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXACT_CLIENT_ID", raising=False)
    monkeypatch.delenv("EXACT_CLIENT_SECRET", raising=False)


def test_a_transfer_whose_second_half_is_refused_takes_the_first_back(
    tmp_path: Path, exact: tuple[ExactSandbox, SandboxServer], target: Connector
) -> None:
    app, _server = exact
    records = datasets.basic()
    records = {
        k: v
        for k, v in records.items()
        if k in ("company", "tax_rates", "ledger_accounts", "bank_accounts", "bank_transfers")
    }
    target.instance.division.transfer_account()  # type: ignore[attr-defined]
    # The transfer's half out of the first bank lands; Exact refuses the half into the other.
    observer = FaultsAt(app, {"bank_transfers": [PASS, Fault(status=400, methods=("POST",))]})
    run = Migration(
        memory_source(records, name="transfer"),
        target,
        SQLiteStateStore(tmp_path / "state.db"),
        MigrationOptions(validate=False),
        observer,
    )
    report = run.full()
    assert [(p.entity, p.reason) for p in report.problems] == [("bank_transfers", "EXACT_400")]
    assert not app.division().table("financialtransaction/BankEntries"), "nothing half-made"
    deleted = [path for method, path, status in app.log if method == "DELETE" and status == 204]
    assert len(deleted) == 1 and "BankEntries" in deleted[0], "the half that landed went"
