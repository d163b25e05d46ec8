"""The pytest plugin (``pytest11`` entry point ``migrationkit``): fixtures for connector tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from migrationkit.core.plugins import PluginRegistry
from migrationkit.core.state import SQLiteStateStore

from . import datasets


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "migrationkit_conformance: a test of the migrationkit connector contract"
    )


@pytest.fixture
def migrationkit_registry() -> PluginRegistry:
    """Every installed connector, as the command line sees them."""
    return PluginRegistry()


@pytest.fixture
def migrationkit_state(tmp_path: Path) -> Iterator[SQLiteStateStore]:
    """A fresh state store in the test's temporary folder."""
    store = SQLiteStateStore(tmp_path / "state.db")
    yield store
    store.close()


@pytest.fixture(params=sorted(datasets.DATASETS))
def migrationkit_dataset(request: pytest.FixtureRequest) -> datasets.Dataset:
    """Each canned dataset in turn."""
    return datasets.DATASETS[request.param]()
