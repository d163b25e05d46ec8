"""The per-entity handler every API connector is built from, and what all of them share.

A connector has one :class:`Handler` subclass per canonical entity, grouped in modules by what
they move (masters, documents, payments, bank, journals). A handler says how to check, write,
find again, take back and read one entity; the base does what is the same everywhere:

- a record whose reference did not resolve fails with ``MISSING_REFERENCE`` (one the target
  cannot express with ``NOT_EXPRESSIBLE``, one the handler finds it cannot take with the reason
  of its :class:`Unsendable`) instead of being sent;
- an update of an entity its table row marks :attr:`~.Update.REPLACE` removes the old record
  and enters the new one, and fails (nothing entered) when the old one cannot be removed;
- a create whose answer was lost (:func:`may_have_landed`) is looked up before it is sent
  again, so a retry never creates twice;
- records are written one by one (several in flight with ``workers``), or, in a
  :class:`BatchHandler`, as batches whose per-element answers map back to their records.

Handlers never raise for one record the target refuses: that is a failed
:class:`~migrationkit.LoadResult` with the target's words. They raise only when the whole call
failed, and the run stops so that it can be resumed.
"""

from __future__ import annotations

import abc
import datetime as dt
import functools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, Generic, TypeVar

import attrs

from migrationkit.core.capabilities import Removal
from migrationkit.core.contract import (
    LoadRequest,
    LoadResult,
    Operation,
    Problem,
    References,
    RemovalRequest,
    RemovalResult,
)
from migrationkit.core.errors import MappingError, RemoteAPIError
from migrationkit.core.model import Record
from migrationkit.http import ApiClient, ConnectionLost

from .entities import Entity, Update

__all__ = [
    "BatchHandler",
    "Handler",
    "MissingReference",
    "Prepared",
    "Unsendable",
    "failed_mapping",
    "matched",
    "may_have_landed",
    "not_offered",
]

ContextT = TypeVar("ContextT")

LOOKUPS = 3
"""Look-then-resend rounds for a create whose outcome is unknown, before the run stops."""


class MissingReference(MappingError):
    """A record refers to one that has not loaded on the target (the engine checks first, so
    this means the reference was lost since: it is reported, never sent to fail)."""


class Unsendable(MappingError):
    """A record the handler finds, while building it, that the target cannot take.

    It fails with ``reason`` and the message, and nothing is sent for it (a foreign bank's
    opening balance known only in base currency, an account that is not a bank account).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def failed_mapping(error: MappingError) -> LoadResult:
    """The failed result of a record whose payload could not be built."""
    if isinstance(error, MissingReference):
        return LoadResult.failed("MISSING_REFERENCE", str(error))
    if isinstance(error, Unsendable):
        return LoadResult.failed(error.reason, str(error))
    return LoadResult.failed("NOT_EXPRESSIBLE", str(error))


def may_have_landed(error: BaseException) -> bool:
    """Whether a failed write may have been saved by the target all the same.

    True for a dropped connection after the request went out (``ConnectionLost``) and for an
    error a client marks with ``may_have_landed = True`` (a gateway's 5xx after a create).
    """
    return isinstance(error, ConnectionLost) or bool(getattr(error, "may_have_landed", False))


def matched(target_id: str, what: str, warnings: Iterable[str] = ()) -> LoadResult:
    """A record matched onto one the target already had: nothing was written."""
    note = f"matched onto the target's existing {what}; nothing was written"
    return LoadResult(ok=True, existing=True, target_id=target_id, warnings=(note, *warnings))


def not_offered(
    system: str, entity: str, request: RemovalRequest, offered: Iterable[Removal]
) -> RemovalResult:
    """A removal asked for in a way the target does not offer for the entity: nothing sent."""
    asked = ", ".join(str(a) for a in request.actions) or "nothing"
    ways = ", ".join(sorted(str(a) for a in offered)) or "no way at all"
    return RemovalResult(
        removed=False,
        reason="REMOVAL_NOT_OFFERED",
        message=f"asked to {asked}; {system} takes {entity} back by {ways}",
    )


class Handler(Generic[ContextT]):
    """The work for one entity; the defaults say what the entity cannot do.

    ``ctx`` is what the connector's handlers share (its client, cached target state, options);
    ``spec`` is the entity's row of the connector's table. Override what the entity supports.
    """

    entity: ClassVar[str] = ""
    system: ClassVar[str] = "the target"
    """The target's name in messages ("Xero", "Sage")."""

    def __init__(self, ctx: ContextT, spec: Entity, *, workers: int = 1) -> None:
        if spec.name != self.entity:
            raise TypeError(f"{type(self).__name__} handles {self.entity}, not {spec.name}")
        self.ctx = ctx
        self.spec = spec
        self.workers = workers

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.entity}>"

    # -- target side: what a subclass provides ---------------------------------------------------

    def check(self, record: Record, refs: References) -> list[Problem]:
        """Why ``record`` cannot go to the target (structural rules), before any call."""
        return []

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        return LoadResult.failed(
            "TARGET_CANNOT_CREATE", f"{self.system} cannot create {self.entity}"
        )

    def update(self, request: LoadRequest, refs: References) -> LoadResult:
        """Change the record in place (entities whose row says ``Update.IN_PLACE``)."""
        return LoadResult.failed(
            "TARGET_CANNOT_UPDATE", f"{self.system} cannot update {self.entity}"
        )

    def find(self, request: LoadRequest, refs: References) -> str | None:
        """The target id of a record an interrupted write may have made, or ``None``."""
        return None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        """Take one record back, in one of ``request.actions`` (all offered by the row)."""
        return RemovalResult(
            removed=False,
            reason="TARGET_CANNOT_REMOVE",
            message=f"{self.system} cannot delete, void or archive {self.entity}",
        )

    def remove_many(self, requests: Sequence[RemovalRequest]) -> list[RemovalResult]:
        """Take records back; one result per request (override to batch)."""
        return [self.remove(request) for request in requests]

    # -- source side -------------------------------------------------------------------------------

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        return iter(())

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return iter(())

    def deletions_unlisted(self, since: dt.datetime | None) -> str | None:
        """Why :meth:`deleted` may miss records deleted since ``since`` (None: it does not)."""
        return None

    # -- shared machinery --------------------------------------------------------------------------

    @staticmethod
    def resolve(refs: References, entity: str, key: str) -> str:
        """The target id of a reference, or :class:`MissingReference`."""
        target = refs.target_id(entity, key)
        if target is None:
            raise MissingReference(f"{entity} {key} has not loaded")
        return target

    @property
    def api(self) -> ApiClient | None:
        """The connector's HTTP client, if it has one: backoff follows its pace and clock."""
        return None

    def backoff(self, attempt: int) -> None:
        """Wait before looking for a write whose answer was lost."""
        api = self.api
        if api is None:
            time.sleep(min(30.0, 0.5 * 2**attempt))
        else:
            api.sleep(min(api.max_backoff, api.backoff * 2**attempt))

    def resolver(self, refs: References) -> Callable[[str, str], str]:
        """``ref(entity, key)`` for a mapping's builders (:class:`MissingReference` if absent)."""
        return functools.partial(self.resolve, refs)

    def load(self, requests: Sequence[LoadRequest], refs: References) -> list[LoadResult]:
        """Write a batch; one result per request, in order."""
        results: dict[int, LoadResult] = {}
        if self.spec.update is Update.REPLACE:
            results.update(self._remove_replaced(requests))
        pending = [(n, request) for n, request in enumerate(requests) if n not in results]
        if pending:
            results.update(self.write(pending, refs))
        return [results[n] for n in range(len(requests))]

    def write(
        self, pending: Sequence[tuple[int, LoadRequest]], refs: References
    ) -> dict[int, LoadResult]:
        """Write records one by one, ``workers`` at a time; results by request index."""
        if self.workers <= 1 or len(pending) <= 1:
            return {n: self.write_one(request, refs) for n, request in pending}
        with ThreadPoolExecutor(max_workers=min(self.workers, len(pending))) as pool:
            futures = {n: pool.submit(self.write_one, request, refs) for n, request in pending}
            return {n: future.result() for n, future in futures.items()}

    def write_one(self, request: LoadRequest, refs: References) -> LoadResult:
        """One record: update in place, or create (looking before resending a lost create)."""
        try:
            if request.operation is Operation.UPDATE and self.spec.update is Update.IN_PLACE:
                return self.update(request, refs)
            try:
                return self.create(request, refs)
            except RemoteAPIError as exc:
                if not may_have_landed(exc):
                    raise
                return self._look_then_resend(request, refs)
        except MappingError as exc:
            return failed_mapping(exc)

    def _look_then_resend(self, request: LoadRequest, refs: References) -> LoadResult:
        """The target may hold the record although its answer was lost: look before resending.

        When that keeps failing the error propagates: the run stops, and resuming it looks again.
        """
        attempt = 0
        while True:
            self.backoff(attempt)
            found = self.find(request, refs)
            if found is not None:
                note = (
                    f"{self.system}'s answer was lost after it saved the record; found, "
                    "not sent twice"
                )
                return LoadResult(ok=True, target_id=found, warnings=(note,))
            try:
                return self.create(request, refs)
            except RemoteAPIError as exc:
                attempt += 1
                if not may_have_landed(exc) or attempt >= LOOKUPS:
                    raise

    def _remove_replaced(self, requests: Sequence[LoadRequest]) -> dict[int, LoadResult]:
        """Remove the old record of each update the target cannot make in place.

        The new version is then entered like a new record. An update whose old record could not
        be removed fails, and nothing is entered for it (it would be there twice).
        """
        updates = [
            (n, request)
            for n, request in enumerate(requests)
            if request.operation is Operation.UPDATE and request.target_id
        ]
        if not updates:
            return {}
        removals = [
            RemovalRequest(key=r.record.key, target_id=str(r.target_id), actions=self.spec.removal)
            for _, r in updates
        ]
        refused: dict[int, LoadResult] = {}
        for (n, _request), removal in zip(updates, self.remove_many(removals), strict=True):
            if not removal.removed:
                refused[n] = LoadResult.failed(
                    removal.reason or "REPLACE_REFUSED",
                    f"{self.system} cannot change it in place and would not let the old one go: "
                    f"{removal.message or 'no reason given'}",
                    removal.response,
                )
        return refused


@attrs.frozen
class Prepared:
    """One record ready to go in a batch: its request index, the request and its payload."""

    index: int
    request: LoadRequest
    payload: Any


class BatchHandler(Handler[ContextT], abc.ABC):
    """A handler whose records go many to a request, each element answered on its own.

    A subclass builds each record's :meth:`payload` (raising :class:`MissingReference`,
    :class:`Unsendable` or :class:`~migrationkit.MappingError` for one that cannot go) and
    :meth:`send`\\ s the ready ones, returning one result per element in order; the base keeps
    the indexes straight (:func:`~.batching.in_chunks` spreads them over several requests).
    """

    @abc.abstractmethod
    def payload(self, request: LoadRequest, refs: References) -> Any:
        """The record as the target takes it (raise for one that cannot go)."""

    @abc.abstractmethod
    def send(self, ready: Sequence[Prepared], refs: References) -> list[LoadResult]:
        """Send the payloads; one result per element, in order."""

    def write(
        self, pending: Sequence[tuple[int, LoadRequest]], refs: References
    ) -> dict[int, LoadResult]:
        results: dict[int, LoadResult] = {}
        ready: list[Prepared] = []
        for n, request in pending:
            try:
                ready.append(Prepared(n, request, self.payload(request, refs)))
            except MappingError as exc:
                results[n] = failed_mapping(exc)
        if ready:
            answers = self.send(ready, refs)
            if len(answers) != len(ready):
                raise RuntimeError(
                    f"{type(self).__name__}.send answered {len(answers)} of {len(ready)} records"
                )
            results.update(
                (item.index, answer) for item, answer in zip(ready, answers, strict=True)
            )
        return results
