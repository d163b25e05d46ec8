"""The built-in connectors pass the conformance kit they ship."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from migrationkit import Ledger
from migrationkit.testing import SourceSuite, TargetSuite, datasets
from migrationkit.testing.generators.sage50 import GeneratorOptions, generate


class TestCsvTarget(TargetSuite):
    connector = "csv"

    @pytest.fixture
    def target_options(self, tmp_path: Path) -> Mapping[str, Any]:
        return {"location": str(tmp_path / "csv")}


class TestCsvSource(SourceSuite):
    connector = "csv"

    @pytest.fixture
    def source_options(self, tmp_path: Path) -> Mapping[str, Any]:
        from migrationkit import Migration, MigrationOptions, PluginRegistry, SQLiteStateStore
        from migrationkit.testing import memory_source

        folder = tmp_path / "csv"
        Migration(
            memory_source(datasets.allocations()),
            PluginRegistry().open("csv", {"location": str(folder)}),
            SQLiteStateStore(tmp_path / "s.db"),
            MigrationOptions(validate=False),
        ).full()
        return {"location": str(folder)}


class TestSage50Source(SourceSuite):
    connector = "sage50-json"

    @pytest.fixture(scope="class")
    @classmethod
    def export(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        path = tmp_path_factory.mktemp("sage50") / "company.json"
        generate(path, GeneratorOptions(seed=4, transactions=400))
        return path

    @pytest.fixture
    def source_options(self, export: Path) -> Mapping[str, Any]:
        return {"location": str(export)}


@pytest.mark.parametrize("name", [*datasets.DATASETS, "updated"])
def test_the_canned_datasets_are_consistent_books(name: str) -> None:
    records = (datasets.DATASETS.get(name) or datasets.updated)()
    keys = {entity: {r.key for r in items} for entity, items in records.items()}
    ledger = Ledger()
    for record in datasets.records(records):
        for entity, key in record.references():
            assert key in keys.get(entity, ()), f"{record.entity} {record.key} -> {entity} {key}"
        ledger.add(record)
    assert sum(ledger.trial_balance().values()) == 0
