"""Capabilities: what a connector declares it can do, per entity, checked before work starts."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

import attrs

__all__ = ["Capabilities", "EntityCapabilities", "Removal"]


class Removal(enum.StrEnum):
    """How a target takes back a record it holds."""

    DELETE = "delete"
    VOID = "void"
    ARCHIVE = "archive"


def _removals(value: Iterable[Removal]) -> frozenset[Removal]:
    return frozenset(value)


@attrs.frozen(kw_only=True)
class EntityCapabilities:
    """What a connector can do with one entity.

    Source side: ``extract``, ``modified_since`` (can list only what changed since a moment) and
    ``deletions`` (can list what was deleted). Target side: ``create``, ``update``, ``removal``
    (the ways it can take a record back; empty when it cannot), ``preserve_ids`` (the target keeps
    the source's number or code), ``batch_size`` (records per load call) and structural limits
    the engine enforces before any call. ``notes`` tells a user what does not move and why.
    """

    extract: bool = False
    modified_since: bool = False
    deletions: bool = False
    create: bool = False
    update: bool = False
    removal: frozenset[Removal] = attrs.field(default=frozenset(), converter=_removals)
    preserve_ids: bool = False
    batch_size: int = attrs.field(default=1)
    max_code_length: int | None = None
    max_reference_length: int | None = None
    max_lines: int | None = None
    notes: str = ""

    @batch_size.validator
    def _check_batch(self, _attribute: object, value: int) -> None:
        if value < 1:
            raise ValueError("batch_size must be at least 1")

    @property
    def loads(self) -> bool:
        return self.create or self.update

    def summary(self) -> dict[str, object]:
        """A flat, JSON-ready view used by ``migrationkit connectors --json`` and the docs."""
        return {
            "extract": self.extract,
            "modified_since": self.modified_since,
            "deletions": self.deletions,
            "create": self.create,
            "update": self.update,
            "removal": sorted(str(r) for r in self.removal),
            "preserve_ids": self.preserve_ids,
            "batch_size": self.batch_size,
            "max_code_length": self.max_code_length,
            "max_reference_length": self.max_reference_length,
            "max_lines": self.max_lines,
            "notes": self.notes,
        }


Capabilities = Mapping[str, EntityCapabilities]
"""Capabilities per entity name; an entity absent from the mapping is not supported at all."""
