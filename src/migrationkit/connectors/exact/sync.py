"""Exact Online as a source of changes: ``sync/`` endpoints, their timestamps, the deleted log.

Exact's ``sync/...`` endpoints take one filter, ``Timestamp gt N``: ``Timestamp`` is a rowversion
(a growing integer, not a date) that every change renews. A delta reads from the highest
timestamp the last successful run saw, kept per endpoint in the state store
(:class:`~migrationkit.core.contract.Checkpoints`: kept only when the run succeeds, so a failed
run reads from the same marks again). Without a mark (the first delta, or a read outside a run)
the starting timestamp comes from ``read/sync/Sync/SyncTimestamp`` for the moment asked.

Entries have no sync endpoint of their own: ``sync/Financial/TransactionLines`` names the
entries whose lines changed (an entry's lines all change together), and those are read again.
A full read of entries marks the transaction lines' timestamp as of the kit's clock margin before
it began (:func:`~migrationkit.handlers.reach_back`), so the next delta misses nothing; so does
a first delta without marks, which asks ``SyncTimestamp`` for that margin before ``since``.

Deletions come from ``sync/Deleted``, which keeps two months: a delta whose last run is older
than that cannot trust it, and says so (the engine then compares a complete extraction). Its
entity type 1 names deleted *transaction lines*, not entries, so deleted entries are found the
same way whenever any were deleted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from migrationkit.core.contract import Checkpoints
from migrationkit.handlers import reach_back

from . import wire
from .client import ExactClient
from .division import Division

__all__ = ["DELETED", "DELETED_WINDOW", "TRANSACTION_LINES", "ChangeFeed"]

DELETED = "sync/Deleted"
TRANSACTION_LINES = "sync/Financial/TransactionLines"
DELETED_WINDOW = dt.timedelta(days=60)
"""How far back ``sync/Deleted`` can be trusted (Exact keeps it two months)."""
LINES_TYPE = 1
"""``EntityType`` of deleted transaction lines in ``sync/Deleted``."""


class ChangeFeed:
    """The change feed of one division, with the marks of the run reading it."""

    def __init__(self, client: ExactClient, division: Division) -> None:
        self.client = client
        self.division = division
        self.checkpoints: Checkpoints | None = None
        self._log: list[tuple[int, str]] | None = None
        self._entries: dict[int, dict[str, str]] = {}
        self._starts: dict[str, int] = {}

    def begin(self, checkpoints: Checkpoints | None) -> None:
        """A run starts: its marks, and nothing read yet."""
        self.checkpoints = checkpoints
        self._log = None
        self._entries.clear()
        self._starts.clear()

    def finish(self) -> None:
        self.begin(None)

    def _mark(self, endpoint: str, timestamp: int) -> None:
        if self.checkpoints is not None:
            current = self.checkpoints.get(endpoint)
            if current is None or int(current) < timestamp:
                self.checkpoints.put(endpoint, str(timestamp))

    def timestamp_at(self, endpoint: str, moment: dt.datetime) -> int:
        """Exact's timestamp of an endpoint at a moment (``read/sync/Sync/SyncTimestamp``)."""
        name = endpoint.rsplit("/", 1)[-1]
        self.division.number  # noqa: B018 - chooses the division
        reply = self.client.send(
            "GET",
            "read/sync/Sync/SyncTimestamp",
            params={
                "modified": wire.datetime_literal(moment),
                "endPoint": wire.string_literal(name),
                "$select": "TimeStampAsBigInt",
            },
        )
        found = reply.entity if reply.ok else {}
        return int(found.get("TimeStampAsBigInt") or 1)

    def start(self, endpoint: str, since: dt.datetime | None) -> int:
        """The timestamp to read after: the last run's mark, else Exact's at ``since``.

        The same for every read of the run: what the run itself marks is for the next one.
        """
        if since is None:
            return 1
        if endpoint not in self._starts:
            mark = self.checkpoints.get(endpoint) if self.checkpoints is not None else None
            found = (
                int(mark) if mark is not None else self.timestamp_at(endpoint, reach_back(since))
            )
            if self.checkpoints is None:
                return found
            self._starts[endpoint] = found
        return self._starts[endpoint]

    def mark_now(self, endpoint: str) -> None:
        """A full read of what ``endpoint`` follows begins: mark where its changes start."""
        if self.checkpoints is not None:
            # Marked a clock margin before now: Exact's clock is not ours.
            moment = reach_back(dt.datetime.now(dt.UTC))
            self._mark(endpoint, self.timestamp_at(endpoint, moment))

    def rows(
        self, endpoint: str, select: tuple[str, ...], since: dt.datetime | None
    ) -> Iterator[dict[str, Any]]:
        """The rows of a ``sync/`` endpoint changed since the last run (all without ``since``)."""
        self.division.number  # noqa: B018 - chooses the division
        after = self.start(endpoint, since)
        highest = after
        fields = select if "Timestamp" in select else (*select, "Timestamp")
        for row in self.client.rows(endpoint, fields, filter=f"Timestamp gt {after}"):
            highest = max(highest, int(row["Timestamp"]))
            yield row
        self._mark(endpoint, highest)

    def changed_entries(self, since: dt.datetime) -> dict[str, str]:
        """Entries whose lines changed since the last run: ``{EntryID: JournalCode}``."""
        after = self.start(TRANSACTION_LINES, since)
        if after not in self._entries:
            found: dict[str, str] = {}
            for row in self.rows(TRANSACTION_LINES, ("EntryID", "JournalCode"), since):
                found[str(row["EntryID"])] = str(row.get("JournalCode") or "")
            self._entries[after] = found
        return self._entries[after]

    def _deleted_log(self, since: dt.datetime | None) -> list[tuple[int, str]]:
        if self._log is None:
            rows = self.rows(DELETED, ("EntityType", "EntityKey"), since)
            self._log = [(int(r["EntityType"]), str(r["EntityKey"])) for r in rows]
        return self._log

    def deleted(self, entity_type: int, since: dt.datetime | None) -> Iterator[str]:
        """Keys of ``entity_type`` in the deleted log since the last run."""
        for kind, key in self._deleted_log(since):
            if kind == entity_type:
                yield key

    def window_exceeded(self, since: dt.datetime | None) -> str | None:
        """Why the deleted log cannot name everything deleted since ``since``, if it cannot."""
        if since is None:
            return None
        moment = since if since.tzinfo else since.replace(tzinfo=dt.UTC)
        if dt.datetime.now(dt.UTC) - moment > DELETED_WINDOW:
            return (
                f"the last run was on {moment:%Y-%m-%d}, and Exact's deleted log keeps only two "
                "months"
            )
        return None

    def lines_deleted(self, since: dt.datetime | None) -> int:
        """How many transaction lines the deleted log lists since the last run."""
        return sum(1 for _ in self.deleted(LINES_TYPE, since))
