"""Entry point module: registers the ``jsonl`` connector with migrationkit."""

from __future__ import annotations

from collections.abc import Callable

import attrs

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


@attrs.frozen(kw_only=True)
class JsonlOptions:
    """The connector's options; migrationkit checks them (unknown keys, types) when it opens."""

    location: str | None = attrs.field(default=None, metadata={"help": "the archive file"})
    path: str | None = attrs.field(
        default=None, metadata={"help": "path of the archive file (same as LOCATION)"}
    )


def _factory(options: JsonlOptions) -> object:
    from .archive import JsonlArchive

    return JsonlArchive(options.path or options.location)


@hookimpl
def migrationkit_register_connectors(register: Callable[[ConnectorInfo], None]) -> None:
    register(
        ConnectorInfo(
            name="jsonl",
            summary="An append-only JSON Lines archive of canonical records (example plugin)",
            factory=_factory,
            capabilities=CAPABILITIES,
            location_help="path of the archive file, e.g. jsonl:archive.jsonl",
            options=JsonlOptions,
        )
    )
