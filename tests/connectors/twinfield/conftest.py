"""Fixtures for the twinfield tests: a running sandbox and an envelope-checked connector."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from twinfield_support import EnvelopeCheck, open_connector, sandbox

from migrationkit import Connector
from migrationkit.testing.generators.sage50 import GeneratorOptions, generate
from migrationkit.testing.sandboxes.server import SandboxServer
from migrationkit.testing.sandboxes.twinfield.app import TwinfieldSandbox


@pytest.fixture
def envelope_check() -> Iterator[EnvelopeCheck]:
    """Every envelope of the test is checked against the WSDL's schema."""
    check = EnvelopeCheck()
    yield check
    check.assert_clean()


@pytest.fixture
def twinfield() -> Iterator[tuple[TwinfieldSandbox, SandboxServer]]:
    with sandbox() as running:
        yield running


@pytest.fixture
def target(
    twinfield: tuple[TwinfieldSandbox, SandboxServer], envelope_check: EnvelopeCheck
) -> Connector:
    app, server = twinfield
    return open_connector(app, server, envelope_check)


@pytest.fixture(scope="session")
def example_company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example Sage 50 company (seeded, 300 transactions, every transaction type)."""
    path = tmp_path_factory.mktemp("sage50-twinfield") / "company.json"
    generate(path, GeneratorOptions(seed=7, transactions=300))
    return path
