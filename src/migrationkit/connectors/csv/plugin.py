"""Registers the ``csv`` connector (loaded through the ``migrationkit`` entry point)."""

from __future__ import annotations

from collections.abc import Callable

from migrationkit.core.capabilities import EntityCapabilities, Removal
from migrationkit.core.contract import ConnectorInfo
from migrationkit.core.hookspecs import hookimpl
from migrationkit.core.model import ENTITY_ORDER

_EVERYTHING = EntityCapabilities(
    extract=True,
    create=True,
    update=True,
    removal=frozenset({Removal.DELETE}),
    preserve_ids=True,
    batch_size=1000,
)

CAPABILITIES = dict.fromkeys(ENTITY_ORDER, _EVERYTHING)


def _factory(location: str | None = None, **options: object) -> object:
    from .connector import CsvConnector

    return CsvConnector(location, **options)  # type: ignore[arg-type]


@hookimpl
def migrationkit_register_connectors(register: Callable[[ConnectorInfo], None]) -> None:
    register(
        ConnectorInfo(
            name="csv",
            summary="A folder of CSV files, one per entity (source and target)",
            factory=_factory,
            capabilities=CAPABILITIES,
            location_help="a folder, e.g. csv:out/",
            options={
                "path": "the folder (same as LOCATION)",
                "delimiter": "auto (default), ',' or ';' (reading; ';' also for writing)",
                "decimal": "auto (default: ',' with ';' delimiters), '.' or ',' when reading",
                "dates": "iso (default), uk (also DD/MM/YYYY) or us (also MM/DD/YYYY) when reading",
                "bom": "write a UTF-8 byte-order mark, for Excel (default false)",
            },
        )
    )
