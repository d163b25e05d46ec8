"""A portfolio's client companies: who they are, who pays, and where each one's migration stands.

A client moves through these statuses, and only along these arrows::

    pending ──> migrating ──> active
       ^          │  ^   └──> failed ──> migrating ...
       │          v  │
       └────── waiting (reason, until)        any but migrating ──> removed

    pending, active, failed ──> handed-over ──> removed     (a handoff another portfolio accepted)

``pending``: added, not migrated yet (a demo, a validation or a rollback leaves it so).
``migrating``: a worker is running one of its runs. ``active``: its last full, delta or
re-migration succeeded and the reconciliation found no difference it could not explain.
``failed``: its last run failed, with an error file listing every record that did not move and
why (or every validation error of its source). ``waiting``: the target cannot take more now
(the day's calls are spent, the authorisation expired and needs consent); the engine resumes it
at the time shown, without anyone (a client received from another portfolio waits for the
receiver's consent until its first run). ``handed-over``: another portfolio accepted it
(``migrationkit handoff``); it never runs here again. ``removed``: no longer managed; its data
is gone.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
from collections.abc import Mapping
from typing import Any

import attrs

from migrationkit.core.errors import ConfigError

__all__ = [
    "MODES",
    "Client",
    "ClientStatus",
    "Paying",
    "PortfolioError",
    "check_transition",
    "moment",
    "now",
    "slug_of",
    "utcnow",
]

MODES = ("validate", "demo", "full", "delta", "remigrate", "rollback", "reconcile")
"""The lifecycle modes a portfolio runs for its clients, as ``migrationkit`` runs them for one."""


class PortfolioError(ConfigError):
    """A portfolio command cannot do what was asked (an unknown client, a refused change)."""


class ClientStatus(enum.StrEnum):
    PENDING = "pending"
    MIGRATING = "migrating"
    ACTIVE = "active"
    FAILED = "failed"
    WAITING = "waiting"
    HANDED_OVER = "handed-over"
    REMOVED = "removed"


class Paying(enum.StrEnum):
    """Who pays for a client's migration: the practice or the client, fixed by its first run."""

    PRACTICE = "practice"
    CLIENT = "client"


_ARROWS: Mapping[ClientStatus, frozenset[ClientStatus]] = {
    ClientStatus.PENDING: frozenset(
        {ClientStatus.MIGRATING, ClientStatus.REMOVED, ClientStatus.HANDED_OVER}
    ),
    ClientStatus.MIGRATING: frozenset(
        {
            ClientStatus.MIGRATING,
            ClientStatus.ACTIVE,
            ClientStatus.FAILED,
            ClientStatus.WAITING,
            ClientStatus.PENDING,
        }
    ),
    ClientStatus.WAITING: frozenset(
        {ClientStatus.MIGRATING, ClientStatus.FAILED, ClientStatus.WAITING}
    ),
    ClientStatus.ACTIVE: frozenset(
        {ClientStatus.MIGRATING, ClientStatus.REMOVED, ClientStatus.HANDED_OVER}
    ),
    ClientStatus.FAILED: frozenset(
        {ClientStatus.MIGRATING, ClientStatus.REMOVED, ClientStatus.HANDED_OVER}
    ),
    ClientStatus.HANDED_OVER: frozenset({ClientStatus.REMOVED}),
    ClientStatus.REMOVED: frozenset(),
}


def check_transition(name: str, old: ClientStatus, new: ClientStatus) -> None:
    """Refuse a status change the state machine has no arrow for, in one line."""
    if new not in _ARROWS[old]:
        raise PortfolioError(f"client {name!r} is {old}; it cannot become {new}")


def utcnow() -> dt.datetime:
    """The portfolio's clock (UTC): what expiries and retention are measured against."""
    return dt.datetime.now(dt.UTC)


def now() -> str:
    """The time as the portfolio stores it (UTC, ISO 8601, seconds)."""
    return utcnow().isoformat(timespec="seconds")


def moment(text: str) -> dt.datetime:
    """A time the portfolio stored, read back (UTC)."""
    found = dt.datetime.fromisoformat(text)
    return found if found.tzinfo else found.replace(tzinfo=dt.UTC)


_NOT_PLAIN = re.compile(r"[^a-z0-9]+")


def slug_of(name: str) -> str:
    """A name for the client's folder and schema: plain letters, unique by a short hash."""
    plain = _NOT_PLAIN.sub("_", name.lower()).strip("_")[:24] or "client"
    digest = hashlib.blake2b(name.encode(), digest_size=3).hexdigest()
    return f"{plain}_{digest}"


@attrs.frozen(kw_only=True)
class Client:
    """One client company of a portfolio, as ``list`` shows it.

    ``source``/``target`` are connector specs (``NAME:LOCATION``) and ``config`` the text of
    its own TOML file (``[source]``, ``[target]``, ``[migration]``, ``[mappings]``), either or
    both. ``email`` is the contact of a client that has its own login (participating).
    ``runs`` counts the runs asked for; after the first, who pays is fixed. The ``last_*``
    fields, ``moved``, ``failed``, ``reconcile``, ``report`` and ``error_file`` describe the
    last run that ended; ``queued`` is the mode of a run waiting for a worker.
    """

    name: str
    slug: str
    source: str | None = None
    target: str | None = None
    config: str | None = None
    paying: Paying = Paying.PRACTICE
    email: str | None = None
    hidden: bool = False
    status: ClientStatus = ClientStatus.PENDING
    reason: str | None = None
    waiting_until: str | None = None
    status_at: str = ""
    added_at: str = ""
    runs: int = 0
    queued: str | None = None
    workflow_id: str | None = None
    last_mode: str | None = None
    last_run_id: int | None = None
    last_status: str | None = None
    last_finished_at: str | None = None
    moved: int | None = None
    failed: int | None = None
    reconcile: str | None = None
    report: str | None = None
    error_file: str | None = None
    progress: int = 0
    progress_entity: str | None = None
    system: str | None = None
    tenant: str | None = None
    purged_at: str | None = None

    @property
    def participating(self) -> bool:
        """Whether the client has its own login (a contact email)."""
        return bool(self.email)

    def to_dict(self) -> dict[str, Any]:
        """What ``list --json`` prints for the client (no configuration: it may hold paths)."""
        return {
            "name": self.name,
            "status": str(self.status),
            "reason": self.reason,
            "waiting_until": self.waiting_until,
            "paying": str(self.paying),
            "email": self.email,
            "participating": self.participating,
            "hidden": self.hidden,
            "source": self.source,
            "target": self.target,
            "queued": self.queued,
            "last_mode": self.last_mode,
            "last_run": self.last_run_id,
            "last_status": self.last_status,
            "last_finished_at": self.last_finished_at,
            "moved": self.moved,
            "failed": self.failed,
            "reconcile": self.reconcile,
            "report": self.report,
            "error_file": self.error_file,
            "system": self.system,
            "tenant": self.tenant,
            "status_at": self.status_at,
            "added_at": self.added_at,
            "purged_at": self.purged_at,
        }
