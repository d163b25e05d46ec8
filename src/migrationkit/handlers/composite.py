"""A source record that becomes several target records lands whole, or not at all.

Some records have no single home on a target: a refund may become a document and the money
paid out, a journal a journal and the documents that carry its control lines, a credit note
the note and its allocations. They are made one after another, and a later part can be
refused after earlier ones landed. An :class:`Assembly` keeps what has landed and how to take
each part back; when a part fails, :meth:`Assembly.fail` takes back what was made, newest
first, and returns the record's failure, so the target never keeps half a record.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from migrationkit.core.contract import LoadResult, RemovalResult

__all__ = ["Assembly"]


class Assembly:
    """The parts one record has become so far, each with the way to take it back."""

    def __init__(self, separator: str = "+") -> None:
        self.separator = separator
        self._parts: list[tuple[str, Callable[[], RemovalResult]]] = []

    def add(self, part_id: str, take_back: Callable[[], RemovalResult]) -> None:
        """Note a part that landed (its id in the record's composite id) and its undoing."""
        self._parts.append((part_id, take_back))

    @property
    def ids(self) -> list[str]:
        return [part_id for part_id, _ in self._parts]

    @property
    def target_id(self) -> str:
        """The record's composite target id: its parts' ids, in the order they landed."""
        return self.separator.join(self.ids)

    def fail(self, result: LoadResult) -> LoadResult:
        """Take back what landed, newest first, and return ``result`` (the record's failure).

        Taking back stops at the first part the target keeps (what came before it still holds
        together); the failure's message then names what remains, so nothing stays unsaid.
        """
        kept: RemovalResult | None = None
        kept_id = ""
        for part_id, take_back in reversed(self._parts):
            removal = take_back()
            if not removal.removed:
                kept, kept_id = removal, part_id
                break
        self._parts.clear()
        if kept is None:
            return result
        note = (
            f"; {kept_id} stays on the target, which would not take it back: "
            f"{kept.message or kept.reason or 'no reason given'}"
        )
        return attrs.evolve(result, message=(result.message or "") + note)
