"""The lifecycle scenario against Sage Accounting: the connector on a running sandbox.

Every request the connector sends and every answer the sandbox gives during the scenario is
validated against the subset of Sage's Swagger description (see
``tests/connectors/sage_accounting/sage_accounting_support.py``); a violation fails the test
when the target closes.

The scenario's company uses bank 1200, which a new Sage business already has as its "Current"
account: it is mapped onto it, as a user maps it. Its tax codes T0 and T1 land on GB_ZERO and
GB_STANDARD through the connector's default UK map.

Sage cannot delete the business, its tax rates or ledger accounts, nor a customer whose sales
invoices were voided: the shared scenario expects those to be reported as remaining, with why.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from migrationkit import Connector

_SUPPORT = (
    Path(__file__).parents[1] / "connectors" / "sage_accounting" / "sage_accounting_support.py"
)


def _support() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sage_accounting_support", _SUPPORT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def target(tmp_path: Path) -> Iterator[tuple[Connector, dict[str, Any]]]:
    """The sandbox running, the connector on it, the mapping of bank 1200."""
    support = _support()
    check = support.SpecCheck()
    with support.sandbox() as (app, server):
        mappings = {"bank_accounts": {"1200": app.default_bank_id()}}
        yield support.open_connector(app, server, check), {"mappings": mappings}
    check.assert_clean()
