"""The values that cross the plugin contract between the engine and a connector."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import attrs

from .capabilities import EntityCapabilities, Removal
from .model import Record
from .redaction import secret_fields

__all__ = [
    "Checkpoints",
    "ConnectorInfo",
    "DeferredRecord",
    "Found",
    "KnownDigests",
    "LoadRequest",
    "LoadResult",
    "LocationOnly",
    "Operation",
    "Problem",
    "References",
    "Rejected",
    "RemovalRequest",
    "RemovalResult",
    "RunContext",
    "Tenancy",
    "TenantLimits",
]


class Operation(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"


@attrs.frozen(kw_only=True)
class LocationOnly:
    """The options of a connector that takes nothing but its location."""

    location: str | None = attrs.field(
        default=None, metadata={"help": "where the data is (the part after NAME:)"}
    )


@attrs.frozen(kw_only=True)
class TenantLimits:
    """An accounting system's documented call limits for one tenant.

    ``concurrent`` calls in flight at once, ``per_minute`` calls in any window of ``minute``
    seconds, ``per_day`` calls in any window of ``day`` seconds; ``None`` is no limit of that
    kind. A sandbox whose clock runs faster has shorter windows (:meth:`scaled`).
    """

    concurrent: int | None = None
    per_minute: int | None = None
    per_day: int | None = None
    minute: float = 60.0
    day: float = 86_400.0

    @property
    def any(self) -> bool:
        """Whether the system limits a tenant at all."""
        return any(n is not None for n in (self.concurrent, self.per_minute, self.per_day))

    def scaled(self, factor: float) -> TenantLimits:
        """The same limits with time running ``factor`` times faster (for sandboxes)."""
        return attrs.evolve(self, minute=self.minute / factor, day=self.day / factor)


@attrs.frozen(kw_only=True)
class Tenancy:
    """Where a connector's writes land: the system, the tenant, and the system's limits.

    ``tenant`` is what the system counts its limits by (a Xero tenant id, a Sage Accounting
    business, an Exact division, a Twinfield office), or ``None`` when the system has no
    limits per tenant (a folder of files). Migrations of many companies into one system share
    a queue per ``system``; those into one tenant run one at a time, so the limits hold
    however many workers take part (see ``docs/portfolio.md``).
    """

    system: str
    tenant: str | None = None
    limits: TenantLimits = TenantLimits()


def _options_class(_instance: object, _attribute: object, value: type) -> None:
    if not (isinstance(value, type) and attrs.has(value)):
        raise TypeError(f"ConnectorInfo.options must be an attrs class, not {value!r}")


@attrs.frozen(kw_only=True)
class ConnectorInfo:
    """What a plugin registers: a connector's name, how to build it and what it can do.

    ``options`` is an attrs class holding every option the connector takes (``location`` holds
    the part after the colon in ``NAME:LOCATION``), each field with a ``help`` text in its
    metadata (``secret=True`` there marks a credential: a client secret, a token). Options
    from a config file, a spec or a program are structured into it with the
    converter of :mod:`migrationkit.core.convert`, which refuses unknown keys and wrong types
    in one clear line; ``factory`` is then called with that instance and returns an object
    whose methods implement the connector hooks of :mod:`migrationkit.core.hookspecs`.

    ``tenancy``, given the same options instance, says which system and tenant the connector
    writes to and the system's documented limits per tenant (:class:`Tenancy`). A connector
    that declares none is a system of its own name without limits.
    """

    name: str
    summary: str
    factory: Callable[[Any], object]
    capabilities: Mapping[str, EntityCapabilities]
    location_help: str = ""
    options: type = attrs.field(default=LocationOnly, validator=_options_class)
    tenancy: Callable[[Any], Tenancy] | None = None

    def tenancy_for(self, options: object) -> Tenancy:
        """Where a connector opened with ``options`` (an ``options`` instance) writes."""
        if self.tenancy is None:
            return Tenancy(system=self.name)
        found = self.tenancy(options)
        if not isinstance(found, Tenancy):
            raise TypeError(f"the tenancy of connector {self.name!r} must be a Tenancy")
        return found

    def option_help(self) -> dict[str, str]:
        """Each option's name and one-line help, in declaration order."""
        return {
            field.alias or field.name: str(field.metadata.get("help", ""))
            for field in attrs.fields(self.options)
            if not field.metadata.get("hidden")
        }

    def secret_options(self) -> frozenset[str]:
        """The options that hold a credential (``secret=True`` in their metadata).

        They never leave the machine: a handoff bundle goes without them, and they are kept out
        of what the portfolio stores and shows.
        """
        by_alias = {f.name: f.alias or f.name for f in attrs.fields(self.options)}
        return frozenset(
            name for field in secret_fields(self.options) for name in {field, by_alias[field]}
        )

    @property
    def is_source(self) -> bool:
        return any(c.extract for c in self.capabilities.values())

    @property
    def is_target(self) -> bool:
        return any(c.loads for c in self.capabilities.values())


class Checkpoints:
    """A connector's own progress marks, kept in the state store between runs.

    A source with a change feed keeps where it got to (Exact's ``Timestamp`` per endpoint, a
    cursor): :meth:`get` answers what the last *successful* run left, overlaid with what this
    run has :meth:`put`; what a run puts is kept only when the run succeeds, so a failed or
    interrupted run reads from the same marks again. Values are text.
    """

    def __init__(self, committed: Mapping[str, str] | None = None) -> None:
        self._committed = dict(committed or {})
        self._put: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self._put.get(key, self._committed.get(key))

    def put(self, key: str, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"checkpoint {key!r} must be text, not {type(value).__name__}")
        self._put[key] = value

    def merged(self) -> dict[str, str]:
        """What to keep if the run succeeds: the earlier marks with this run's on top."""
        return {**self._committed, **self._put}


@attrs.frozen(kw_only=True)
class RunContext:
    """The run a connector is taking part in, passed to ``migrationkit_begin``/``finish``.

    ``preserve_ids`` asks a target to keep source numbers and codes where it can.
    ``checkpoints`` are the connector's own marks (each side of a migration has its own).
    """

    run_id: str
    mode: str
    resumed: bool = False
    preserve_ids: bool = True
    checkpoints: Checkpoints = attrs.field(factory=Checkpoints, eq=False, repr=False)


class References(Protocol):
    """What a target may ask about the records a record refers to."""

    def target_id(self, entity: str, key: str) -> str | None:
        """The target's id for ``key`` of ``entity``, or ``None`` when it has not loaded."""
        ...

    def mapped(self, entity: str) -> bool:
        """Whether some records of ``entity`` are mapped onto existing target records.

        A target that keeps source keys as its ids needs to translate references only then.
        """
        ...

    def record(self, entity: str, key: str) -> Record | None:
        """The source record of a reference data entity (accounts, tax rates, contacts, ...).

        Lets a target apply rules that depend on what a referenced record is, such as
        refusing a journal line to a bank account. ``None`` for documents and unknown keys.
        """
        ...


@attrs.frozen(kw_only=True)
class LoadRequest:
    """One record to write.

    ``idempotency_key`` is derived from the intent the engine recorded before the call: it is
    the same on every retry and every resume of the same write, so a target that honours it
    (Xero's ``Idempotency-Key``) never creates twice. ``target_id`` is set for updates.
    """

    record: Record
    operation: Operation
    idempotency_key: str
    target_id: str | None = None


@attrs.frozen(kw_only=True)
class LoadResult:
    """What happened to one :class:`LoadRequest`; results come back in request order.

    A rejected record is ``ok=False`` with a ``reason`` code and a ``message`` in the user's
    terms, plus the target's own ``response`` for the error report. It is never an exception.
    ``existing`` says the target already held the record and matched it rather than creating
    it (a chart account every new business has): it is recorded as mapped, and a rollback
    never removes it.
    """

    ok: bool
    existing: bool = False
    target_id: str | None = None
    reason: str | None = None
    message: str | None = None
    response: str | None = None
    warnings: tuple[str, ...] = ()

    @classmethod
    def failed(cls, reason: str, message: str, response: str | None = None) -> LoadResult:
        return cls(ok=False, reason=reason, message=message, response=response)


@attrs.frozen(kw_only=True)
class Found:
    """The answer to ``migrationkit_find_existing``: the target id, or ``None`` if absent."""

    target_id: str | None


@attrs.frozen(kw_only=True)
class RemovalRequest:
    """Take back one record the migration created; ``actions`` are the allowed ways, in order."""

    key: str
    target_id: str
    actions: tuple[Removal, ...]


@attrs.frozen(kw_only=True)
class RemovalResult:
    """What happened to one :class:`RemovalRequest`.

    ``action`` is how the record was taken back (delete, void, archive); when the target would
    not let it go, ``removed`` is false and ``message`` says why it remains.
    """

    removed: bool
    action: Removal | None = None
    reason: str | None = None
    message: str | None = None
    response: str | None = None


@attrs.frozen(kw_only=True)
class Rejected:
    """A source item the connector could not turn into a canonical record.

    A source yields it in place of the record; the engine reports it as skipped with its
    reason, so nothing disappears silently.
    """

    entity: str
    key: str
    code: str
    message: str
    pointer: str | None = None


@attrs.frozen(kw_only=True)
class DeferredRecord:
    """A record announced by a digest of its source form, and built only if needed.

    A source that can hash a record's raw form much faster than it can map it may yield these
    from ``migrationkit_extract``. When the digest equals the one stored when the record was
    last written, the engine counts the record unchanged without building it; otherwise it calls
    ``load()``. The digest must change whenever the mapped record could (include the mapping's
    version and any context the mapping reads besides the raw record).
    """

    entity: str
    key: str
    digest: str
    load: Callable[[], Record | Rejected] = attrs.field(repr=False)


class KnownDigests:
    """The digests of the records of one entity as the target holds them: a change feed.

    The engine passes one to ``migrationkit_extract`` as ``known`` when the migration has
    written records of the entity before. A source that hashes its items (the digests of
    :class:`DeferredRecord`) asks :meth:`unchanged` of each item's digest and leaves out the
    items it confirms: they were written exactly so and need not pass the engine at all. Items
    it yields are handled as always. A source that never asks yields everything, as before.

    Only records the migration created and has settled are known, so what a source leaves out
    is always a record the target holds unchanged; a record that failed, was skipped or is in
    doubt has no digest here and comes through.
    """

    def __init__(self, digests: Iterable[str]) -> None:
        self._digests = set(digests)
        self._confirmed: set[str] = set()

    def __len__(self) -> int:
        return len(self._digests) + len(self._confirmed)

    @property
    def matched(self) -> int:
        """How many items :meth:`unchanged` confirmed (the engine counts them unchanged)."""
        return len(self._confirmed)

    def unchanged(self, digest: str) -> bool:
        """Whether an item with this source digest is held unchanged; if so, leave it out.

        Each known digest confirms one item only, so that a record seen twice is not
        counted twice.
        """
        if digest in self._digests:
            self._digests.remove(digest)
            self._confirmed.add(digest)
            return True
        return False

    def confirmed(self, digest: str | None) -> bool:
        """Whether :meth:`unchanged` confirmed an item with this digest in this run."""
        return digest in self._confirmed


@attrs.frozen(kw_only=True)
class Problem:
    """A reason a record cannot go to a target, found before any call is made."""

    code: str
    message: str
    details: Mapping[str, Any] = attrs.field(factory=dict)
