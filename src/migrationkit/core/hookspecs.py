"""Hook specifications: the whole contract between migrationkit and its connectors.

There are two levels.

*Plugin hooks* are implemented by the module an entry point in the ``migrationkit`` group
names. They register connectors (and optional command-line commands). The built-in connectors
register through the same entry-point group as any third-party package.

*Connector hooks* are implemented as methods of the object a connector's factory returns. The
engine wraps each such object in its own plugin manager, so pluggy checks every implementation
against these specifications when the connector opens: a misspelled hook or argument fails at
once with a clear message instead of half way through a migration.

Every connector hook is ``firstresult``: it stops at the first non-None result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import datetime as dt

    import click

    from .contract import (
        ConnectorInfo,
        DeferredRecord,
        Found,
        KnownDigests,
        LoadRequest,
        LoadResult,
        Problem,
        References,
        Rejected,
        RemovalRequest,
        RemovalResult,
        RunContext,
    )
    from .findings import Finding
    from .model import Record

__all__ = ["ConnectorSpecs", "PluginSpecs", "hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("migrationkit")
hookimpl = pluggy.HookimplMarker("migrationkit")


class PluginSpecs:
    """Hooks a plugin module implements."""

    # -------------------------------------------------------------------------
    # registration
    # -------------------------------------------------------------------------

    @hookspec
    def migrationkit_register_connectors(self, register: Callable[[ConnectorInfo], None]) -> None:
        """Register the connectors this plugin provides.

        Call ``register`` once per connector with a :class:`~migrationkit.ConnectorInfo`
        holding its name, summary, factory and capabilities per entity.

        :param register: Callback taking one ``ConnectorInfo``.
        """

    @hookspec
    def migrationkit_register_commands(
        self, register: Callable[[str, click.Command], None]
    ) -> None:
        """Add command-line commands, such as a sandbox or a login for this plugin's API.

        :param register: Callback taking a group name (``"sandbox"``, ``"auth"``,
            ``"generate"``, or ``""`` for a top-level command) and a ``click.Command``.
        """


class ConnectorSpecs:
    """Hooks a connector object implements as methods."""

    # -------------------------------------------------------------------------
    # both sides
    # -------------------------------------------------------------------------

    @hookspec(firstresult=True)
    def migrationkit_identity(self) -> str:
        """Return a stable identity for the data this connector reads or writes.

        The state store keys a migration by the source and target identities, so it must not
        change between runs against the same company (a resolved file path, a tenant id).

        Stops at first non-None result.
        """
        raise NotImplementedError  # pragma: no cover - a specification, never called

    @hookspec(firstresult=True)
    def migrationkit_begin(self, run: RunContext) -> bool | None:
        """Prepare for a run (open files, read settings, check credentials).

        Stops at first non-None result.

        :param run: The run id, its mode and whether it resumes an interrupted run.
        """

    @hookspec(firstresult=True)
    def migrationkit_finish(self, run: RunContext, success: bool) -> bool | None:
        """Finish a run: flush, commit and close what ``begin`` opened.

        Called after every run that began, also when it failed or was interrupted.

        Stops at first non-None result.

        :param run: The run that is ending.
        :param success: Whether the run completed.
        """

    # -------------------------------------------------------------------------
    # source
    # -------------------------------------------------------------------------

    @hookspec(firstresult=True)
    def migrationkit_extract(
        self, entity: str, since: dt.datetime | None, known: KnownDigests | None
    ) -> Iterable[Record | Rejected | DeferredRecord]:
        """Yield the records of one entity.

        Records are canonical (see :mod:`migrationkit.core.model`), keyed by a stable source key
        and referring to other records by their keys. Stream them: memory must not grow with
        the number of records. An item that cannot be read becomes a ``Rejected`` with its
        reason, never an exception. A source that can hash an item's raw form much faster than
        it can map it may yield a ``DeferredRecord`` instead, which the engine builds only when
        the digest changed since the item was last written. A connector that is also a target
        yields records keyed by the ids its ``migrationkit_load`` returned, with references as
        its own ids.

        A source that hashes its items may also take ``known`` (an implementation may leave the
        argument out of its signature): the digests of what the target holds. Leave out each
        item ``known.unchanged(digest)`` confirms, and yield the rest: the run then costs what
        changed, not what the source holds.

        Stops at first non-None result.

        :param entity: An entity name the connector declared with ``extract``.
        :param since: When set, yield only records created or changed at or after this moment;
            only asked of entities declared with ``modified_since``.
        :param known: When set, the source digests of the records the target holds unchanged;
            items it confirms are left out.
        """
        raise NotImplementedError  # pragma: no cover - a specification, never called

    @hookspec(firstresult=True)
    def migrationkit_extract_deleted(self, entity: str, since: dt.datetime | None) -> Iterable[str]:
        """Yield the source keys of records of ``entity`` deleted at the source.

        Only asked of entities declared with ``deletions``. A key the migration never moved
        is ignored, so a connector may list deletions generously.

        Stops at first non-None result.

        :param entity: The entity name.
        :param since: When set, deletions at or after this moment are enough.
        """
        raise NotImplementedError  # pragma: no cover - a specification, never called

    @hookspec(firstresult=True)
    def migrationkit_deletions_unlisted(self, entity: str, since: dt.datetime | None) -> str | None:
        """Say why the deletions ``migrationkit_extract_deleted`` lists may be incomplete.

        A change feed can forget (Exact Online keeps its deleted log two months) or name other
        things than the records (Exact's log names transaction lines, not entries). Return the
        reason in one line: a delta then finds the deletions of ``entity`` by comparing a
        complete extraction with what the migration holds, and ``plan`` shows the reason.
        Return None when the listed deletions are complete. Only asked of entities declared
        with ``modified_since`` and ``deletions``.

        Stops at first non-None result.

        :param entity: The entity name.
        :param since: The moment of the last successful run.
        """

    @hookspec(firstresult=True)
    def migrationkit_snapshot(self) -> str | None:
        """Return a digest of everything the source would yield now, if that is cheap.

        When it equals the digest of the last successful complete run (and nothing about the
        migration changed since), the engine knows the run has nothing to do and skips it. A
        file source can hash its bytes; return None when there is no cheap way.

        Stops at first non-None result.
        """

    @hookspec(firstresult=True)
    def migrationkit_validate(self) -> Iterable[Finding]:
        """Check the source and yield every finding, errors and warnings alike.

        Do not stop at the first problem. A source that cannot be read at all yields one
        finding that says so in plain words.

        Stops at first non-None result.
        """
        raise NotImplementedError  # pragma: no cover - a specification, never called

    # -------------------------------------------------------------------------
    # target
    # -------------------------------------------------------------------------

    @hookspec(firstresult=True)
    def migrationkit_check_record(
        self, entity: str, record: Record, refs: References
    ) -> Sequence[Problem]:
        """Return why ``record`` cannot go to this target, or an empty sequence if it can.

        Called before any write, in ``plan`` and before each load, for the structural rules
        capabilities cannot express (Xero: no manual journal to a bank account). A record with
        problems is skipped with the problem as its reason.

        Stops at first non-None result.

        :param entity: The entity name.
        :param record: The canonical record.
        :param refs: Resolves source keys of referenced records to target ids.
        """
        raise NotImplementedError  # pragma: no cover - a specification, never called

    @hookspec(firstresult=True)
    def migrationkit_load(
        self, entity: str, requests: Sequence[LoadRequest], refs: References
    ) -> Sequence[LoadResult]:
        """Write a batch of records; return one result per request, in the same order.

        The batch holds at most the entity's declared ``batch_size`` requests. Every reference
        of every record has already loaded (``refs`` resolves it). A record the target rejects
        becomes a failed :class:`~migrationkit.LoadResult` with the reason, never an exception;
        raise only when the whole call failed and retrying later may succeed (the engine then
        stops the run so that it can be resumed).

        Stops at first non-None result.

        :param entity: The entity name, declared with ``create`` or ``update``.
        :param requests: The records, each with its operation and idempotency key.
        :param refs: Resolves source keys of referenced records to target ids.
        """
        raise NotImplementedError  # pragma: no cover - a specification, never called

    @hookspec(firstresult=True)
    def migrationkit_find_existing(
        self, entity: str, request: LoadRequest, refs: References
    ) -> Found:
        """Look on the target for a record an interrupted run may already have written.

        The engine asks this on resume for every write whose intent was recorded but whose
        outcome was not. Look it up by the idempotency key, the natural key (a number or code)
        or the source reference stored on the target record.

        Stops at first non-None result.

        :param entity: The entity name.
        :param request: The write that may or may not have happened.
        :param refs: Resolves source keys of referenced records to target ids.
        :returns: ``Found(target_id=...)``, with ``None`` when the record is not there.
        """
        raise NotImplementedError  # pragma: no cover - a specification, never called

    @hookspec(firstresult=True)
    def migrationkit_remove(
        self, entity: str, requests: Sequence[RemovalRequest]
    ) -> Sequence[RemovalResult]:
        """Delete, void or archive records the migration created; one result per request.

        Try each request's ``actions`` in order (for example delete a draft, else void). A
        record the target will not let go is ``removed=False`` with the reason: it remains.

        Stops at first non-None result.

        :param entity: The entity name, declared with a ``removal``.
        :param requests: The records to take back.
        """
        raise NotImplementedError  # pragma: no cover - a specification, never called
