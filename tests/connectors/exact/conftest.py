"""Fixtures for the exact tests: a running sandbox and the connector on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from exact_support import open_connector, sandbox

from migrationkit import Connector
from migrationkit.testing import SandboxServer
from migrationkit.testing.generators.sage50 import GeneratorOptions, generate
from migrationkit.testing.sandboxes.exact.app import ExactSandbox


@pytest.fixture
def exact() -> Iterator[tuple[ExactSandbox, SandboxServer]]:
    with sandbox() as running:
        yield running


@pytest.fixture
def target(exact: tuple[ExactSandbox, SandboxServer]) -> Connector:
    app, server = exact
    return open_connector(app, server)


@pytest.fixture(scope="session")
def example_company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example Sage 50 company (seeded, 300 transactions, every transaction type)."""
    path = tmp_path_factory.mktemp("sage50") / "company.json"
    generate(path, GeneratorOptions(seed=7, transactions=300))
    return path
