"""The jsonl connector passes migrationkit's conformance kit, as a target and as a source."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrationkit import Migration, MigrationOptions, PluginRegistry, SQLiteStateStore
from migrationkit.testing import SourceSuite, TargetSuite, datasets, memory_source


class TestJsonlTarget(TargetSuite):
    connector = "jsonl"

    @pytest.fixture
    def target_options(self, tmp_path: Path) -> dict[str, str]:
        return {"location": str(tmp_path / "archive.jsonl")}


class TestJsonlSource(SourceSuite):
    connector = "jsonl"

    @pytest.fixture
    def source_options(self, tmp_path: Path) -> dict[str, str]:
        archive = tmp_path / "archive.jsonl"
        Migration(
            memory_source(datasets.foreign_currency()),
            PluginRegistry().open("jsonl", {"location": str(archive)}),
            SQLiteStateStore(tmp_path / "state.db"),
            MigrationOptions(validate=False),
        ).full()
        return {"location": str(archive)}
