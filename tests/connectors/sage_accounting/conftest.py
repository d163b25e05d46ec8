"""Fixtures for the sage-accounting tests: a running sandbox and a spec-checked connector."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.sage_accounting.sage_accounting_support import SpecCheck, open_connector, sandbox
from migrationkit import Connector
from migrationkit.testing.generators.sage50 import GeneratorOptions, generate
from migrationkit.testing.sandboxes.sage_accounting.app import SageSandbox, SageSandboxServer


@pytest.fixture
def spec_check() -> Iterator[SpecCheck]:
    """Every request and answer of the test is checked against Sage's description."""
    check = SpecCheck()
    yield check
    check.assert_clean()


@pytest.fixture
def sage() -> Iterator[tuple[SageSandbox, SageSandboxServer]]:
    with sandbox() as running:
        yield running


@pytest.fixture
def target(sage: tuple[SageSandbox, SageSandboxServer], spec_check: SpecCheck) -> Connector:
    app, server = sage
    return open_connector(app, server, spec_check)


@pytest.fixture(scope="session")
def example_company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example Sage 50 company (seeded, 300 transactions, every transaction type)."""
    path = tmp_path_factory.mktemp("sage50") / "company.json"
    generate(path, GeneratorOptions(seed=7, transactions=300))
    return path
