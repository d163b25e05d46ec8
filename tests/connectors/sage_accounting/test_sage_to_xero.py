"""Sage Accounting to Xero, both sandboxes: the example company, with nothing unexplained.

The Sage 50 example company goes into the Sage Accounting sandbox first; Sage Accounting is then
the source of a migration into the Xero sandbox, and reconcile compares what Sage holds with
what Xero holds. Runs once ``migrationkit.connectors.xero`` is installed (skipped before); any
failure after that is a real one. Both sides' traffic is checked against their descriptions.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from connectors.sage_accounting.sage_accounting_support import SpecCheck
from connectors.xero.xero_spec import SpecObserver
from migrationkit import (
    Connector,
    Migration,
    MigrationOptions,
    PluginRegistry,
    SQLiteStateStore,
    reconcile,
)
from migrationkit.testing.sandboxes.sage_accounting.app import SageSandbox, SageSandboxServer
from migrationkit.testing.sandboxes.xero.app import (
    API_PREFIX,
    TOKEN_PATH,
    XeroSandbox,
    start_server,
)

XERO_SCALE = 1000.0
CLEARING = "9997"
CANNOT_MOVE = {
    # Sage 50 to Sage Accounting (see test_sage_company.py)
    "EXCHANGE_DIFFERENCE_JOURNAL",
    "FOREIGN_BANK_TRANSACTION",
    "FOREIGN_BANK_TRANSFER",
    "NOMINAL_CODE_TAKEN",
    # Sage Accounting to Xero: what the xero connector declares it cannot take
    "FOREIGN_BANK_OPENING_BALANCE",
}


def test_sage_accounting_to_xero_reconciles_with_nothing_unexplained(
    example_company: Path,
    tmp_path: Path,
    sage: tuple[SageSandbox, SageSandboxServer],
    target: Connector,
    spec_check: SpecCheck,
) -> None:
    app, _server = sage
    into_sage = Migration(
        PluginRegistry().open("sage50-json", {"location": str(example_company)}),
        target,
        SQLiteStateStore(tmp_path / "sage50-to-sage.db"),
        MigrationOptions(mappings={"bank_accounts": {"1200": app.default_bank_id()}}),
    ).full()
    assert into_sage.status == "succeeded", into_sage.error

    observer = SpecObserver()
    xero_app = XeroSandbox(rate_scale=XERO_SCALE)
    with start_server(xero_app) as xero_server:
        xero = PluginRegistry().open(
            "xero",
            {
                "location": xero_app.default_tenant,
                "base_url": xero_server.url + API_PREFIX,
                "token_url": xero_server.url + TOKEN_PATH,
                "access_token": "test-token",
                "rate_scale": XERO_SCALE,
                "clearing_account": CLEARING,
                "observers": [observer],
            },
        )
        store = SQLiteStateStore(tmp_path / "sage-to-xero.db")
        run = Migration(target, xero, store)
        report = run.full()
        assert report.status == "succeeded", report.error
        reasons = Counter(p.reason for p in report.problems)
        assert set(reasons) <= CANNOT_MOVE, [
            (p.entity, p.source_key, p.message) for p in report.problems
        ]
        for entity, counts in report.entities.items():
            assert counts.failed == 0, entity
        result = reconcile(target, xero, store, store.migrations()[0].id)
        assert result.ok, [d.to_dict() for d in result.unexplained][:5]
    observer.assert_clean()
