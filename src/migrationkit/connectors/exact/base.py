"""What every Exact handler shares: the context, the family's base handler, Exact's refusals.

Handlers never raise for a record Exact refuses: the refusal becomes a failed
:class:`~migrationkit.LoadResult` with Exact's own message and the raw answer. They raise only
when the whole call failed (the toolkit's errors after its retries, a connection lost after a
create, the error budget or the day's calls spent); the run then stops and resumes where it
stopped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

from migrationkit.core.capabilities import Removal
from migrationkit.core.contract import (
    Checkpoints,
    LoadRequest,
    LoadResult,
    References,
    RemovalRequest,
    RemovalResult,
)
from migrationkit.core.model import Record
from migrationkit.handlers import Handler
from migrationkit.http import ApiClient

from .client import ErrorBudgetSpent, ExactClient, Reply
from .division import Division
from .mapping import Written
from .options import ExactOptions
from .sync import ChangeFeed

__all__ = ["ALREADY_EXISTS", "Context", "ExactHandler", "refused", "taken", "text"]


class Context:
    """What the handlers share: the client, the division, the options, the run's marks."""

    def __init__(self, client: ExactClient, division: Division, options: ExactOptions) -> None:
        self.client = client
        self.division = division
        self.options = options
        self.preserve_ids = True
        self.feed = ChangeFeed(client, division)
        self.run_cache: dict[object, list[dict[str, Any]]] | None = None
        """Entries read during a run, for the run's other entities (None outside a run)."""

    @property
    def checkpoints(self) -> Checkpoints | None:
        return self.feed.checkpoints

    def today(self) -> dt.date:
        return dt.datetime.now(dt.UTC).date()


ALREADY_EXISTS = "Already exists"
"""How Exact begins its answer to a create of a code (or entry number) it already has."""


def taken(reply: Reply) -> bool:
    """Whether Exact refused a create because the code is taken (another process, a person)."""
    return reply.status == 400 and reply.message.startswith(ALREADY_EXISTS)


def refused(reply: Reply, what: str = "it") -> LoadResult:
    """Exact's refusal of one record, in its own words."""
    return LoadResult.failed(
        f"EXACT_{reply.status}", f"Exact Online refused {what}: {reply.message}", reply.text
    )


class ExactHandler(Handler[Context]):
    """The work for one entity in Exact; the kit's defaults say what an entity cannot do."""

    system = "Exact Online"
    path: ClassVar[str] = ""
    """The endpoint the handler writes to (single-endpoint entities)."""

    @property
    def client(self) -> ExactClient:
        return self.ctx.client

    @property
    def division(self) -> Division:
        return self.ctx.division

    def write_one(self, request: LoadRequest, refs: References) -> LoadResult:
        """One record; once Exact's error budget for its endpoint is spent, none is sent."""
        try:
            return super().write_one(request, refs)
        except ErrorBudgetSpent as exc:
            return LoadResult.failed("ERROR_BUDGET", str(exc))

    @property
    def api(self) -> ApiClient:
        return self.client.api

    # -- writes ------------------------------------------------------------------------------------

    def post(self, path: str, written: Written, key: str = "ID") -> tuple[Reply, LoadResult]:
        """Create; the result's target id is the new entity's ``key``."""
        reply = self.client.send("POST", path, body=written.body)
        if not reply.ok:
            return reply, refused(reply)
        return reply, LoadResult(
            ok=True, target_id=str(reply.entity[key]), warnings=written.warnings
        )

    def put(self, path: str, key: str, written: Written, target_id: str) -> LoadResult:
        reply = self.client.send("PUT", f"{path}(guid'{key}')", body=written.body)
        if not reply.ok:
            return refused(reply)
        return LoadResult(ok=True, target_id=target_id, warnings=written.warnings)

    def delete(self, path: str, key: str) -> RemovalResult:
        """``DELETE``; gone already counts as removed (an interrupted rollback got that far)."""
        try:
            reply = self.client.send("DELETE", f"{path}(guid'{key}')")
        except ErrorBudgetSpent as exc:
            return RemovalResult(removed=False, reason="ERROR_BUDGET", message=str(exc))
        if reply.ok or reply.status == 404:
            return RemovalResult(removed=True, action=Removal.DELETE)
        return RemovalResult(
            removed=False,
            reason=f"EXACT_{reply.status}",
            message=f"Exact Online refused to delete it: {reply.message}",
            response=reply.text,
        )

    def delete_or_block(
        self, request: RemovalRequest, path: str, key: str, blocked: Mapping[str, Any]
    ) -> RemovalResult:
        """Delete a master; when Exact keeps it (in use), block it instead, if allowed."""
        result = self.delete(path, key)
        if result.removed or Removal.ARCHIVE not in request.actions:
            return result
        reply = self.client.send("PUT", f"{path}(guid'{key}')", body=dict(blocked))
        if not reply.ok:
            return result
        return RemovalResult(
            removed=True,
            action=Removal.ARCHIVE,
            message=f"in use in Exact, so blocked instead ({result.message})",
        )

    # -- reads -------------------------------------------------------------------------------------

    def changed(
        self,
        endpoint: str,
        select: tuple[str, ...],
        since: dt.datetime | None,
        read: Callable[[dict[str, Any]], Record],
    ) -> Iterator[Record]:
        """Rows of a ``sync/`` endpoint changed since the last run (all of them without)."""
        for row in self.ctx.feed.rows(endpoint, select, since):
            yield read(row)

    def deleted_keys(self, entity_type: int, since: dt.datetime | None) -> Iterator[str]:
        yield from self.ctx.feed.deleted(entity_type, since)

    def deletions_unlisted(self, since: dt.datetime | None) -> str | None:
        """Exact's deleted log keeps two months: older than that, it may have forgotten."""
        return self.ctx.feed.window_exceeded(since)


def text(value: Any) -> str:
    """A code or text from Exact, without the padding Exact keeps (relation codes)."""
    return str(value or "").strip()
