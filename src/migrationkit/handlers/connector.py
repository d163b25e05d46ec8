"""The hooks of an API connector, implemented once over its handlers and its entity table.

A connector subclasses :class:`HandlerConnector`, names its table and its handler classes,
and implements what is its own (``migrationkit_identity``; ``begin``/``finish`` when it keeps
state between runs). Every other hook finds the entity's handler and calls it; removals the
table does not offer for an entity are refused here, before any call.

pluggy reads the hook markers of the methods an object has: a subclass that overrides one of
these methods must mark its override with ``@hookimpl`` again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import ClassVar, Generic

import attrs

from migrationkit.core.contract import (
    Found,
    LoadRequest,
    LoadResult,
    Problem,
    References,
    RemovalRequest,
    RemovalResult,
    RunContext,
)
from migrationkit.core.errors import CapabilityError, MappingError
from migrationkit.core.hookspecs import hookimpl
from migrationkit.core.model import Record

from .base import ContextT, Handler, failed_mapping, not_offered
from .entities import EntityTable

__all__ = ["HandlerConnector"]


class HandlerConnector(Generic[ContextT]):
    """Connector hooks dispatched to one handler per entity of ``table``."""

    name: ClassVar[str] = ""
    """The connector's registered name, for messages."""
    system: ClassVar[str] = "the target"
    """The system's name in messages ("Xero")."""
    table: ClassVar[EntityTable]

    def __init__(
        self,
        ctx: ContextT,
        handlers: Iterable[type[Handler[ContextT]]],
        *,
        workers: int = 1,
    ) -> None:
        self.ctx = ctx
        self.handlers: dict[str, Handler[ContextT]] = {}
        for cls in handlers:
            if cls.entity in self.handlers:
                raise TypeError(f"two handlers for {cls.entity}")
            self.handlers[cls.entity] = cls(ctx, self.table[cls.entity], workers=workers)
        unhandled = set(self.table) - set(self.handlers)
        if unhandled:
            raise TypeError(f"{self.name}: no handler for {', '.join(sorted(unhandled))}")

    def handler(self, entity: str) -> Handler[ContextT]:
        try:
            return self.handlers[entity]
        except KeyError:
            raise CapabilityError(f"{self.name} does not handle {entity}") from None

    # -- both sides ------------------------------------------------------------------------------

    @hookimpl
    def migrationkit_begin(self, run: RunContext) -> bool:
        return True

    @hookimpl
    def migrationkit_finish(self, run: RunContext, success: bool) -> bool:
        return True

    # -- source ----------------------------------------------------------------------------------

    @hookimpl
    def migrationkit_extract(self, entity: str, since: dt.datetime | None) -> Iterator[Record]:
        return self.handler(entity).extract(since)

    @hookimpl
    def migrationkit_extract_deleted(self, entity: str, since: dt.datetime | None) -> Iterator[str]:
        return self.handler(entity).deleted(since)

    @hookimpl
    def migrationkit_deletions_unlisted(self, entity: str, since: dt.datetime | None) -> str | None:
        return self.handler(entity).deletions_unlisted(since)

    # -- target ----------------------------------------------------------------------------------

    @hookimpl
    def migrationkit_check_record(
        self, entity: str, record: Record, refs: References
    ) -> Sequence[Problem]:
        try:
            return self.handler(entity).check(record, refs)
        except MappingError as exc:
            failed = failed_mapping(exc)
            return [Problem(code=failed.reason or "NOT_EXPRESSIBLE", message=str(exc))]

    @hookimpl
    def migrationkit_load(
        self, entity: str, requests: Sequence[LoadRequest], refs: References
    ) -> Sequence[LoadResult]:
        return self.handler(entity).load(requests, refs)

    @hookimpl
    def migrationkit_find_existing(
        self, entity: str, request: LoadRequest, refs: References
    ) -> Found:
        try:
            return Found(target_id=self.handler(entity).find(request, refs))
        except MappingError:
            # A reference that never resolved means the write cannot have been sent.
            return Found(target_id=None)

    @hookimpl
    def migrationkit_remove(
        self, entity: str, requests: Sequence[RemovalRequest]
    ) -> Sequence[RemovalResult]:
        """Take records back the ways the table offers; refuse the rest before any call."""
        handler = self.handler(entity)
        offered = handler.spec.removal
        results: dict[int, RemovalResult] = {}
        chosen: list[tuple[int, RemovalRequest]] = []
        for n, request in enumerate(requests):
            actions = tuple(a for a in request.actions if a in offered)
            if actions:
                chosen.append((n, attrs.evolve(request, actions=actions)))
            else:
                results[n] = not_offered(self.system, entity, request, offered)
        if chosen:
            done = handler.remove_many([request for _, request in chosen])
            results.update((n, result) for (n, _), result in zip(chosen, done, strict=True))
        return [results[n] for n in range(len(requests))]
