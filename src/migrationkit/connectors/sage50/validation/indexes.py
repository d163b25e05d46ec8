"""Compact cross-header state: where each header number is, and every allocation in the file.

The end-of-file checks need to find any header by its number and to resolve every allocation,
so these two are the only structures that grow with the trail; they hold packed integers in
``array`` columns, a few bytes a header.  They are the natural place for an on-disk index when
validation one day runs while a source streams its records.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator

from .values import PENCE_CAP

__all__ = ["Allocations", "HeaderIndex", "clamp"]


def clamp(pence: int) -> int:
    """``pence`` within what the 64-bit arrays hold (any real amount is far inside)."""
    return pence if -PENCE_CAP < pence < PENCE_CAP else (PENCE_CAP if pence > 0 else -PENCE_CAP)


class HeaderIndex:
    """Where each header number was defined, in about four bytes per header.

    Sage numbers headers 1, 2, 3 ..., so a flat array indexed by header number is both smaller
    and faster than a dict; numbers far beyond the count seen so far go to a dict instead.
    A slot is ``i + 1`` for ``/transactions/i`` and ``-(j + 1)`` for open item ``j``.
    """

    _DENSE_LIMIT = 1 << 27

    def __init__(self) -> None:
        self._dense = array("i")
        self._sparse: dict[int, int] = {}
        self._count = 0

    def add_new(self, hn: int, i: int) -> bool:
        """Record ``hn`` for ``/transactions/i`` unless it is taken; False when it is."""
        dense = self._dense
        if hn < len(dense) and not dense[hn]:
            dense[hn] = i + 1
            self._count += 1
            return True
        return self.get(hn) is None and self.add(hn, i) is None

    def add(self, hn: int, slot: int) -> int | None:
        """Record ``hn``; if it was already recorded, return the earlier slot instead."""
        dense = self._dense
        if hn < len(dense):
            earlier = dense[hn]
            if not earlier:
                dense[hn] = slot + 1 if slot >= 0 else slot
                self._count += 1
                return None
            return earlier - 1 if earlier > 0 else earlier
        return self._add_beyond(hn, slot)

    def _add_beyond(self, hn: int, slot: int) -> int | None:
        dense = self._dense
        # Grow while numbers stay near the count seen: dense numbering.  Far-off numbers (a
        # sparse or hostile file) go to the dict, so memory follows the header count.
        if hn < self._DENSE_LIMIT and hn < 4 * self._count + (1 << 20):
            dense.frombytes(bytes(max(hn + 1 - len(dense), len(dense), 1024) * dense.itemsize))
            return self.add(hn, slot)
        stored = slot + 1 if slot >= 0 else slot
        earlier = self._sparse.setdefault(hn, stored)
        if earlier != stored:
            return earlier - 1 if earlier > 0 else earlier
        self._count += 1
        return None

    def get(self, hn: int) -> int | None:
        """The slot of ``hn`` (see the class docstring), or None."""
        stored = self._dense[hn] if hn < len(self._dense) else self._sparse.get(hn, 0)
        if not stored:
            return None
        return stored - 1 if stored > 0 else stored


class Allocations:
    """Every allocation in the file, six numbers each in one array, resolved at the end.

    A row is (source, source header number, position, target header number, amount, date),
    where source is a transaction index or -(j + 1) for open item j.
    """

    def __init__(self) -> None:
        self.rows = array("q")

    def add(
        self, source: int, source_hn: int, position: int, target: int, amount: int, date: int
    ) -> None:
        """Remember one allocation from ``source`` to header number ``target``."""
        self.rows.extend(
            (
                source,
                min(source_hn, PENCE_CAP),
                position,
                min(target, PENCE_CAP),
                clamp(amount),
                date,
            )
        )

    def __iter__(self) -> Iterator[tuple[int, int, int, int, int, int]]:
        rows = iter(self.rows)
        return zip(rows, rows, rows, rows, rows, rows, strict=True)
