"""Faults real Twinfield runs meet: no duplicate and no loss at the end of each.

429 and 5xx bursts, the credits limit, access tokens expiring mid-run (refreshed through the
token endpoint, the cluster asked again for the new token), a connection dropped after
Twinfield committed a document (each transaction found again by its number or stamp before
anything is resent, in the same run or when an interrupted run resumes), and a batch in which
Twinfield refuses one transaction and takes the others.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from twinfield_support import (
    EnvelopeCheck,
    FaultsAt,
    assert_exactly_once,
    authorize,
    connector_options,
    open_connector,
    sandbox,
)

from factories import company, sales_invoice
from fakes import MemorySource, source_connector
from migrationkit import (
    AccountType,
    Connector,
    LedgerAccount,
    Migration,
    MigrationOptions,
    PluginRegistry,
    RemoteAPIError,
    SQLiteStateStore,
    reconcile,
)
from migrationkit.core.state import Outcome
from migrationkit.testing import Fault
from migrationkit.testing.sandboxes.server import SandboxServer
from migrationkit.testing.sandboxes.twinfield.app import AUTH_PREFIX, TwinfieldSandbox

MOVED = (
    "contacts",
    "invoices",
    "refunds",
    "open_items",
    "credit_notes",
    "payments",
    "bank_transactions",
    "bank_transfers",
    "manual_journals",
    "opening_balances",
)
DROP = Fault(drop_after_commit=True, methods=("POST",))
SMALL_BANKS = {"1200": ("BNK1", "GBP"), "1210": ("BNK2", "GBP")}


def run_example(
    example_company: Path, tmp_path: Path, target: Connector, observer: Any = None
) -> Migration:
    source = PluginRegistry().open("sage50-json", {"location": str(example_company)})
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
    twinfield: tuple[TwinfieldSandbox, SandboxServer],
    target: Connector,
) -> None:
    app, _server = twinfield
    burst = [
        *[Fault(status=429, retry_after=0.01)] * 3,
        Fault(status=503),
        Fault(status=502),
        Fault(status=500),
    ]
    plan = dict.fromkeys(("contacts", "invoices", "payments", "manual_journals"), burst)
    finished_clean(run_example(example_company, tmp_path, target, FaultsAt(app, plan)))
    assert app.faults.injected == 4 * len(burst)


def test_the_credits_limit_is_met_by_waiting_retry_after(
    tmp_path: Path, envelope_check: EnvelopeCheck
) -> None:
    # The sandbox allows 20 credits a (scaled) minute; the client believes it may spend 6,000.
    with sandbox(SMALL_BANKS, credits_per_minute=20) as (app, server):
        target = open_connector(app, server, envelope_check, SMALL_BANKS, credits_per_minute=6000)
        run = Migration(
            source_connector(MemorySource(company(invoices=25))),
            target,
            SQLiteStateStore(tmp_path / "state.db"),
            MigrationOptions(),
        )
        report = run.full()
        assert report.status == "succeeded", report.error
        assert_exactly_once(run, ("contacts", "invoices", "payments", "refunds"), report)
    assert app.rate_limited > 0


def test_one_call_in_flight_per_organisation_and_429_says_when_to_come_back(
    twinfield: tuple[TwinfieldSandbox, SandboxServer],
) -> None:
    app, server = twinfield
    body = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:tw="http://www.twinfield.com/"><soap:Header><tw:Header>'
        f"<tw:AccessToken>{app.token}</tw:AccessToken><tw:CompanyCode>SANDBOX01</tw:CompanyCode>"
        "</tw:Header></soap:Header><soap:Body><tw:ProcessXmlString><tw:xmlRequest>"
        "&lt;columns code=&quot;000&quot;&gt;&lt;column&gt;&lt;field&gt;fin.trs.head.code"
        "&lt;/field&gt;&lt;/column&gt;&lt;/columns&gt;</tw:xmlRequest></tw:ProcessXmlString>"
        "</soap:Body></soap:Envelope>"
    )
    statuses: list[tuple[int, str | None]] = []
    release = threading.Event()
    original = app.handle

    def slow(request: Any) -> Any:
        release.wait(2)
        return original(request)

    app.handle = slow  # type: ignore[method-assign]

    def call() -> None:
        answer = requests.post(
            server.url + "/webservices/processxml.asmx",
            data=body,
            headers={
                "Content-Type": "text/xml",
                "SOAPAction": "http://www.twinfield.com/ProcessXmlString",
            },
            timeout=10,
        )
        statuses.append((answer.status_code, answer.headers.get("Retry-After")))

    first = threading.Thread(target=call)
    first.start()
    deadline = dt.datetime.now() + dt.timedelta(seconds=2)
    while not app._in_flight and dt.datetime.now() < deadline:
        pass
    call()  # a second call while the first is in flight
    release.set()
    first.join()
    assert sorted(s for s, _ in statuses) == [200, 429]
    retry_after = next(r for s, r in statuses if s == 429)
    assert retry_after is not None and retry_after.isdigit() and int(retry_after) >= 1


def test_access_tokens_expiring_mid_run_are_refreshed_through_the_token_endpoint(
    example_company: Path, tmp_path: Path, envelope_check: EnvelopeCheck
) -> None:
    with sandbox(accept_any_token=False) as (app, server):
        store = tmp_path / "tokens.json"
        authorize(app, server, store)
        options = connector_options(app, server)
        del options["access_token"], options["cluster_url"]  # discovered from the token
        target = PluginRegistry().open(
            "twinfield",
            {
                **options,
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "token_store": str(store),
                "login_url": server.url + AUTH_PREFIX,
            },
        )
        api = target.instance.client.api  # type: ignore[attr-defined]
        api.observers.append(envelope_check)
        faults: list[int] = []
        answers = itertools.count(1)
        lock = threading.Lock()

        def expire_now_and_then(request: requests.PreparedRequest, response: Any) -> None:
            with lock:
                seen = next(answers)
            if response.status_code == 500 and b"code 354" in response.content:
                faults.append(seen)
            if seen in (40, 120):  # twice in the run, as if an hour had passed
                for token in list(app._access):
                    app.expire(token)

        api.observers.append(expire_now_and_then)
        finished_clean(run_example(example_company, tmp_path, target))
        assert app.refreshes >= 2 and len(faults) >= 2
        discovery = target.instance.discovery  # type: ignore[attr-defined]
        # The cluster is asked once per token: the first and each refreshed one.
        assert discovery.asked == app.refreshes + 1 == app.validations


def test_a_connection_dropped_after_twinfield_committed_is_found_again_not_resent(
    example_company: Path,
    tmp_path: Path,
    twinfield: tuple[TwinfieldSandbox, SandboxServer],
    target: Connector,
) -> None:
    app, _server = twinfield
    plan = {entity: [DROP] for entity in (*MOVED, "ledger_accounts", "tracking_categories")}
    run = run_example(example_company, tmp_path, target, FaultsAt(app, plan))
    finished_clean(run)
    assert app.faults.injected == len(plan)
    last = run.store.runs(run.store.migrations()[0].id)[-1].id
    found = {
        row.entity
        for row in run.store.outcomes(last, (Outcome.CREATED,))
        if "found, not sent twice" in (row.message or "")
    }
    # Where the dropped call was a transactions document, its transactions were looked up.
    assert {"invoices", "credit_notes", "bank_transactions", "manual_journals"} <= found, found


def test_a_run_that_died_after_twinfield_committed_resumes_without_a_duplicate(
    example_company: Path,
    tmp_path: Path,
    twinfield: tuple[TwinfieldSandbox, SandboxServer],
    target: Connector,
) -> None:
    # A document of payments lands, the answer is lost, and Twinfield then answers 503 to
    # everything until the run gives up: the intents stay open. The next run looks first.
    app, _server = twinfield
    plan = {"payments": [DROP, *[Fault(status=503)] * 40]}
    run = run_example(example_company, tmp_path, target, FaultsAt(app, plan))
    with pytest.raises(RemoteAPIError):
        run.full()
    pending = run.store.pending(run.store.migrations()[0].id)
    assert pending and {(e.entity, e.pending_op) for e in pending} == {("payments", "create")}
    landed = len(app.office.transactions)
    app.faults.clear()
    finished_clean(run_example(example_company, tmp_path, target))
    assert len(app.office.transactions) > landed


def test_a_batch_with_one_refused_transaction_loads_the_others(
    tmp_path: Path, envelope_check: EnvelopeCheck
) -> None:
    """Twinfield answers per element: the refused one carries its message, the rest land."""
    records = company(invoices=6)
    records["ledger_accounts"].append(
        LedgerAccount(key="4090", code="4090", name="Discontinued sales", type=AccountType.SALES)
    )
    odd = sales_invoice("99", "customer:ACME", "50.00", 9)
    odd = type(odd)(**{**_fields(odd), "lines": (_on_account(odd.lines[0], "4090"),)})
    records["invoices"].append(odd)
    with sandbox(SMALL_BANKS) as (app, server):
        target = open_connector(app, server, envelope_check, SMALL_BANKS)

        class HideWhenInvoicesStart(FaultsAt):
            def entity_started(self, entity: str, phase: str) -> None:
                if entity == "invoices" and phase == "loading":
                    app.office.hidden.add(("PNL", "4090"))  # a person hid it in Twinfield

        before = app.calls["transactions"]
        run = Migration(
            source_connector(MemorySource(records)),
            target,
            SQLiteStateStore(tmp_path / "state.db"),
            MigrationOptions(),
            HideWhenInvoicesStart(app, {}),
        )
        report = run.full()
        assert report.status == "succeeded", report.error
        (failed,) = [p for p in report.problems if p.outcome == "failed"]
        assert (failed.entity, failed.source_key, failed.reason) == (
            "invoices",
            "99",
            "TWINFIELD_REFUSED",
        )
        assert "General ledger account 4090 is hidden." in (failed.message or "")
        assert 'result="0"' in (failed.response or "")
        invoices = report.entities["invoices"]
        assert invoices.created == len(records["invoices"]) - 1
        assert app.calls["transactions"] - before < 10, "the invoices went as one document"


def _fields(record: Any) -> dict[str, Any]:
    import attrs

    return {f.name: getattr(record, f.name) for f in attrs.fields(type(record))}


def _on_account(line: Any, account: str) -> Any:
    import attrs

    return attrs.evolve(line, account=account)
