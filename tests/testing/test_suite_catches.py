"""The kit fails a connector that breaks a rule, and says which rule."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

BROKEN = '''
from pathlib import Path
import pytest
from migrationkit import (
    ConnectorInfo, EntityCapabilities, ENTITY_ORDER, Removal, RemovalResult, hookimpl,
)
from migrationkit.connectors.csv.connector import CsvConnector
from migrationkit.connectors.csv.options import CsvOptions
from migrationkit.testing import TargetSuite

class Careless(CsvConnector):
    """Deletes whatever it is asked to remove, declared or not."""
    @hookimpl
    def migrationkit_remove(self, entity, requests):
        self._require_writer()
        for r in requests:
            self._writer.remove(entity, r.target_id)
        self._writer.commit()
        return [RemovalResult(removed=True, action=r.actions[0]) for r in requests]

class Plugin:
    @staticmethod
    @hookimpl
    def migrationkit_register_connectors(register):
        caps = {e: EntityCapabilities(extract=True, create=True, update=True,
                                      removal={Removal.DELETE}, preserve_ids=True, batch_size=100)
                for e in ENTITY_ORDER}
        register(ConnectorInfo(name="careless", summary="", capabilities=caps,
                               factory=Careless, options=CsvOptions))

@pytest.fixture(autouse=True)
def _register(monkeypatch):
    from migrationkit.core import plugins
    real = plugins.PluginRegistry.__init__
    def init(self, *, plugins=(), entry_points=True):
        real(self, plugins=[*plugins, Plugin()], entry_points=entry_points)
    monkeypatch.setattr(plugins.PluginRegistry, "__init__", init)

class TestCareless(TargetSuite):
    connector = "careless"

    @pytest.fixture
    def target_options(self, tmp_path):
        return {"location": str(tmp_path / "out")}
'''


def test_a_connector_that_removes_what_it_did_not_declare_fails_by_name(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_careless=BROKEN)
    result = pytester.runpytest("-q", "-p", "no:cacheprovider", "-k", "refuses or reload")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*RULE undeclared-removal*was removed by void*"])


DRIFTING = '''
import datetime
import attrs
import pytest
from migrationkit import ConnectorInfo, EntityCapabilities, hookimpl
from migrationkit.testing import SourceSuite, datasets

class Drifting:
    """Reads by date through another path that forgets a field."""
    def __init__(self, settings=None):
        self.records = datasets.basic()

    @hookimpl
    def migrationkit_identity(self):
        return "drifting"

    @hookimpl
    def migrationkit_extract(self, entity, since):
        for record in self.records.get(entity, ()):
            if since is not None and since > datetime.datetime.now(datetime.timezone.utc):
                continue
            yield attrs.evolve(record, email=None) if since is not None else record

class Plugin:
    @staticmethod
    @hookimpl
    def migrationkit_register_connectors(register):
        caps = {"contacts": EntityCapabilities(extract=True, modified_since=True)}
        register(ConnectorInfo(name="drifting", summary="", capabilities=caps, factory=Drifting))

@pytest.fixture(autouse=True)
def _register(monkeypatch):
    from migrationkit.core import plugins
    real = plugins.PluginRegistry.__init__
    def init(self, *, plugins=(), entry_points=True):
        real(self, plugins=[*plugins, Plugin()], entry_points=entry_points)
    monkeypatch.setattr(plugins.PluginRegistry, "__init__", init)

class TestDrifting(SourceSuite):
    connector = "drifting"

    @pytest.fixture
    def source_options(self):
        return {}
'''


def test_a_source_whose_read_by_date_differs_from_a_complete_read_fails_by_name(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_drifting=DRIFTING)
    result = pytester.runpytest("-q", "-p", "no:cacheprovider", "-k", "modified_since")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*RULE modified-since*read by date differs*"])
