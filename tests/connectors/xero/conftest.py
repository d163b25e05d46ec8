"""Fixtures for the xero connector's tests: a running sandbox, the spec check, connectors."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.xero.xero_spec import EXERCISED, SpecObserver, subset
from migrationkit import Connector, PluginRegistry
from migrationkit.testing import SandboxServer
from migrationkit.testing.generators.sage50 import GeneratorOptions, generate
from migrationkit.testing.sandboxes.xero.app import (
    API_PREFIX,
    TOKEN_PATH,
    XeroSandbox,
    start_server,
)

RATE_SCALE = 1000.0
"""Rate-limit windows run this much faster in tests (a minute lasts 60 ms)."""
CLEARING = "9997"


def pytest_sessionfinish(session: pytest.Session) -> None:
    """With XERO_SPEC_COVERAGE=FILE, write which spec operations the tests exercised."""
    target = os.environ.get("XERO_SPEC_COVERAGE")
    if not target or not EXERCISED:
        return
    operations = [f"{o['method']} {o['path']}" for o in subset()["operations"]]
    summary = {
        "operations": len(operations),
        "exercised": sorted(o for o in operations if EXERCISED[o]),
        "not_exercised": sorted(o for o in operations if not EXERCISED[o]),
        "checks": dict(sorted(EXERCISED.items())),
    }
    Path(target).write_text(json.dumps(summary, indent=1), "utf-8")


@pytest.fixture
def spec() -> Iterator[SpecObserver]:
    """Checks every request and answer against Xero's OpenAPI subset; fails at teardown."""
    observer = SpecObserver()
    yield observer
    if observer.requests:
        observer.assert_clean()


@pytest.fixture
def sandbox() -> Iterator[tuple[XeroSandbox, SandboxServer]]:
    app = XeroSandbox(rate_scale=RATE_SCALE)
    with start_server(app) as server:
        yield app, server


OpenXero = Callable[..., Connector]


@pytest.fixture
def open_xero(sandbox: tuple[XeroSandbox, SandboxServer], spec: SpecObserver) -> OpenXero:
    """Open the xero connector against the sandbox, as a user would, with extra options."""
    app, server = sandbox

    def opener(**options: Any) -> Connector:
        settings: dict[str, Any] = {
            "location": app.default_tenant,
            "base_url": server.url + API_PREFIX,
            "token_url": server.url + TOKEN_PATH,
            "access_token": "test-token",
            "rate_scale": RATE_SCALE,
            "clearing_account": CLEARING,
            "observers": [spec],
        }
        settings.update(options)
        return PluginRegistry().open("xero", {k: v for k, v in settings.items() if v is not None})

    return opener


@pytest.fixture(scope="session")
def sage_company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example Sage 50 company of the generator (seed 1, 200 transactions)."""
    path = tmp_path_factory.mktemp("sage50") / "company.json"
    generate(path, GeneratorOptions(seed=1, transactions=200))
    return path
