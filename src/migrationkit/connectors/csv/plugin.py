"""Registers the ``csv`` connector (loaded through the ``migrationkit`` entry point)."""

from __future__ import annotations

from collections.abc import Callable

from migrationkit.core.capabilities import EntityCapabilities, Removal
from migrationkit.core.contract import ConnectorInfo, Tenancy
from migrationkit.core.hookspecs import hookimpl
from migrationkit.core.model import ENTITY_ORDER

from .options import CsvOptions

_EVERYTHING = EntityCapabilities(
    extract=True,
    create=True,
    update=True,
    removal=frozenset({Removal.DELETE}),
    preserve_ids=True,
    batch_size=1000,
)

CAPABILITIES = dict.fromkeys(ENTITY_ORDER, _EVERYTHING)


def _tenancy(options: CsvOptions) -> Tenancy:
    # Files on a disk: no tenant, no limits.
    return Tenancy(system="csv")


def _factory(options: CsvOptions) -> object:
    from .connector import CsvConnector

    return CsvConnector(options)


@hookimpl
def migrationkit_register_connectors(register: Callable[[ConnectorInfo], None]) -> None:
    register(
        ConnectorInfo(
            name="csv",
            summary="A folder of CSV files, one per entity (source and target)",
            factory=_factory,
            capabilities=CAPABILITIES,
            location_help="a folder, e.g. csv:out/",
            options=CsvOptions,
            tenancy=_tenancy,
        )
    )
