"""Entry point module: registers the ``jsonl`` connector with migrationkit."""

from __future__ import annotations

from collections.abc import Callable

from migrationkit import ENTITY_ORDER, ConnectorInfo, EntityCapabilities, Removal, hookimpl

CAPABILITIES = dict.fromkeys(
    ENTITY_ORDER,
    EntityCapabilities(
        extract=True,
        create=True,
        update=True,
        removal={Removal.DELETE},
        preserve_ids=True,
        batch_size=500,
    ),
)


def _factory(location: str | None = None, **options: object) -> object:
    from .archive import JsonlArchive

    return JsonlArchive(location, **options)  # type: ignore[arg-type]


@hookimpl
def migrationkit_register_connectors(register: Callable[[ConnectorInfo], None]) -> None:
    register(
        ConnectorInfo(
            name="jsonl",
            summary="An append-only JSON Lines archive of canonical records (example plugin)",
            factory=_factory,
            capabilities=CAPABILITIES,
            location_help="path of the archive file, e.g. jsonl:archive.jsonl",
            options={"path": "path of the archive file (same as LOCATION)"},
        )
    )
