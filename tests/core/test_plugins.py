"""Finding connectors: built-ins load like third-party plugins; broken plugins fail clearly."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fakes import MemoryTarget, connect
from migrationkit import (
    CapabilityError,
    ConfigError,
    ConnectorInfo,
    EntityCapabilities,
    PluginRegistry,
    UnknownConnectorError,
    hookimpl,
)


def test_builtin_connectors_come_from_the_entry_point_group() -> None:
    registry = PluginRegistry()
    assert {"sage50-json", "csv"} <= set(registry.connectors)
    assert registry.distribution_of(
        "csv",
    ).startswith("migrationkit ")  # type: ignore[union-attr]


def test_disabled_plugins_are_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGRATIONKIT_DISABLE_PLUGINS", "csv")
    assert "csv" not in PluginRegistry().connectors


def test_unknown_connector_names_the_installed_ones() -> None:
    with pytest.raises(UnknownConnectorError, match=r"installed: .*csv"):
        PluginRegistry().open("quickbooks", {})


class _Twice:
    @staticmethod
    @hookimpl
    def migrationkit_register_connectors(register: Callable[[ConnectorInfo], None]) -> None:
        info = ConnectorInfo(name="csv", summary="", factory=object, capabilities={})
        register(info)


def test_two_connectors_with_one_name_is_an_error() -> None:
    registry = PluginRegistry(plugins=[_Twice()])
    with pytest.raises(ConfigError, match="two plugins register a connector named 'csv'"):
        registry.connectors  # noqa: B018


class _Typo:
    @hookimpl
    def migrationkit_extract(self, entitty: str) -> list[object]:
        return []


class _Misspelt:
    @hookimpl
    def migrationkit_extrakt(self, entity: str) -> list[object]:
        return []


@pytest.mark.parametrize(
    ("instance", "message"), [(_Typo(), "entitty"), (_Misspelt(), "unknown hook")]
)
def test_a_connector_breaking_the_contract_fails_when_it_opens(
    instance: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        connect(instance)


def test_asking_for_an_undeclared_capability_is_refused() -> None:
    connector = connect(MemoryTarget(), {"invoices": EntityCapabilities(create=True)})
    with pytest.raises(CapabilityError, match="cannot extract invoices"):
        connector.extract("invoices")
    with pytest.raises(CapabilityError, match="changed since"):
        connect(MemoryTarget(), {"invoices": EntityCapabilities(extract=True)}).extract(
            "invoices", since=__import__("datetime").datetime(2024, 1, 1)
        )


def test_a_load_must_answer_one_result_per_request() -> None:
    class Short(MemoryTarget):
        @hookimpl
        def migrationkit_load(self, entity, requests, refs):  # type: ignore[no-untyped-def]
            return []

    from factories import sales_invoice
    from migrationkit import LoadRequest, Operation

    connector = connect(Short())
    request = LoadRequest(
        record=sales_invoice("1"), operation=Operation.CREATE, idempotency_key="k"
    )
    with pytest.raises(CapabilityError, match="one per record"):
        connector.load("invoices", [request], None)  # type: ignore[arg-type]
