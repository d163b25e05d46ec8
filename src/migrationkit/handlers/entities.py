"""A connector's entity table: one row per entity saying what the connector does with it.

The row is the one place a fact about an entity is stated: the endpoint it lives at, how many
records one load call takes, whether the target keeps source numbers, how it is taken back
(delete, void, archive or not at all) and whether it can be changed in place. The capability
flags a plugin declares are *derived* from the table (:meth:`EntityTable.capabilities`), and
the shared handler machinery reads the same rows (a removal the row does not offer is refused
before any call; an update the row marks ``REPLACE`` removes the old record and enters the new
one), so what a connector declares cannot disagree with what its code does.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping

import attrs

from migrationkit.core.capabilities import EntityCapabilities, Removal

__all__ = ["Entity", "EntityTable", "Update"]


class Update(enum.Enum):
    """How the target takes a changed record."""

    IN_PLACE = "in place"
    """The record is changed where it is."""
    REPLACE = "replace"
    """The target cannot change it: the old record is removed and the new one entered."""
    NONE = "none"
    """Changes cannot reach the target at all."""


def _removals(value: Iterable[Removal]) -> tuple[Removal, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class Entity:
    """What a connector does with one entity (a row of its :class:`EntityTable`).

    ``removal`` lists the ways the target takes a record back, in the order a rollback tries
    them (empty: it cannot). ``batch_size`` is the records per load call the engine sends.
    ``create`` false with ``extract`` true makes a source-only entity; ``match_only`` says the
    connector never writes the record but matches it onto one the target already has (a
    company, built-in tax rates), which the notes explain.
    """

    name: str
    endpoint: str = ""
    extract: bool = True
    modified_since: bool = False
    deletions: bool = False
    create: bool = True
    update: Update = Update.IN_PLACE
    removal: tuple[Removal, ...] = attrs.field(default=(), converter=_removals)
    preserve_ids: bool = False
    batch_size: int = 1
    max_code_length: int | None = None
    max_reference_length: int | None = None
    max_lines: int | None = None
    match_only: bool = False
    notes: str = ""

    @property
    def updates(self) -> bool:
        return self.create and self.update is not Update.NONE

    def offers(self, action: Removal) -> bool:
        return action in self.removal

    def capabilities(self) -> EntityCapabilities:
        """The capability flags this row declares, exactly."""
        return EntityCapabilities(
            extract=self.extract,
            modified_since=self.modified_since,
            deletions=self.deletions,
            create=self.create,
            update=self.updates,
            removal=frozenset(self.removal),
            preserve_ids=self.preserve_ids,
            batch_size=self.batch_size,
            max_code_length=self.max_code_length,
            max_reference_length=self.max_reference_length,
            max_lines=self.max_lines,
            notes=self.notes,
        )


class EntityTable(Mapping[str, Entity]):
    """A connector's entities, in the order it declares them."""

    def __init__(self, *rows: Entity) -> None:
        self._rows: dict[str, Entity] = {}
        for row in rows:
            if row.name in self._rows:
                raise ValueError(f"the entity table names {row.name} twice")
            self._rows[row.name] = row

    def __getitem__(self, name: str) -> Entity:
        return self._rows[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def capabilities(self) -> Mapping[str, EntityCapabilities]:
        """The capabilities a plugin registers, derived from the rows."""
        return {name: row.capabilities() for name, row in self._rows.items()}
