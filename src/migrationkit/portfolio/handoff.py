"""Handing a client over to another portfolio: offer, accept, withdraw, reject, and the history.

The sender **offers** a client: one bundle file (:mod:`.bundle`) holds its record, its TOML
without secrets, its state store and its reports (:mod:`.parcel`), sealed under a one-time code
printed once. The offer expires (15 days by default; the expiry is sealed in the bundle). The
receiver **accepts** the file with the code into its own portfolio, or **rejects** it with a
reason; the sender may **withdraw** the offer until then.

Every step is an event in the ``handoffs`` table of the portfolio store. Where two portfolios
share one PostgreSQL database, the table is shared too (schema ``migrationkit_handoff``, or
``MIGRATIONKIT_HANDOFF_SCHEMA``): a
withdrawal or a rejection is seen by the other side at once, and an acceptance marks the
sender's client ``handed-over`` the next time the sender's portfolio looks. With the file
alone, the expiry sealed inside still holds, and a bundle once accepted or rejected here is
refused here again.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import shutil
import socket
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from migrationkit.core.config import load_settings, parse_spec
from migrationkit.core.plugins import PluginRegistry
from migrationkit.core.state_postgres import lock_key, valid_schema

from . import model
from .bundle import HandoffError, new_code, open_bundle, seal_bundle
from .model import Client, ClientStatus, Paying, slug_of
from .parcel import client_fields, pack_state, record_of, strip_secrets, unpack_state
from .place import Place, PortfolioSettings
from .store import ClientStore

__all__ = ["EVENTS", "SCHEMA_ENV", "HandoffEvent", "Handoffs", "Offer", "compatible"]

EVENTS = ("offered", "withdrawn", "accepted", "rejected", "expired")
_CLOSED = ("withdrawn", "accepted", "rejected")
SCHEMA_ENV = "MIGRATIONKIT_HANDOFF_SCHEMA"
"""The schema of the handoff table shared by every portfolio of a PostgreSQL database."""
_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    id {serial} PRIMARY KEY,
    offer TEXT NOT NULL,
    event TEXT NOT NULL,
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    portfolio TEXT NOT NULL,
    client TEXT NOT NULL,
    counterpart TEXT,
    expires TEXT,
    reason TEXT,
    file TEXT
)
"""
_FIELDS = ("offer", "event", "at", "who", "portfolio", "client", "counterpart", "expires",
           "reason", "file")  # fmt: skip
_OFFERABLE = (ClientStatus.PENDING, ClientStatus.ACTIVE, ClientStatus.FAILED)


@attrs.frozen(kw_only=True)
class HandoffEvent:
    """One line of the handoff history: an offer made, withdrawn, accepted, rejected, expired.

    ``portfolio`` is the id of the portfolio that recorded it; ``counterpart`` the email an
    offer was made to, or the sender's portfolio of an offer accepted or rejected.
    """

    offer: str
    event: str
    at: str
    who: str
    portfolio: str
    client: str
    counterpart: str | None = None
    expires: str | None = None
    reason: str | None = None
    file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen(kw_only=True)
class Offer:
    """An offer just made: the code (shown once, stored nowhere), the bundle and its expiry."""

    offer: str
    client: str
    code: str = attrs.field(repr=False)
    file: Path
    expires: str

    def to_dict(self) -> dict[str, Any]:
        return {"offer": self.offer, "client": self.client, "code": self.code,
                "file": str(self.file), "expires": self.expires}  # fmt: skip


def who() -> str:
    """The user and machine an event is recorded for."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def compatible(offered: str | None, here: str | None) -> bool:
    """Whether the package ``here`` can run what the package ``offered`` wrote.

    Packages are ``NAME VERSION``: the same name, and the same major version (from 1.0; below
    it, the same minor version). Connectors registered by hand (no package) match each other.
    """
    if offered is None or here is None:
        return offered == here
    name, _, version = offered.partition(" ")
    name_here, _, version_here = here.partition(" ")
    if name.lower() != name_here.lower():
        return False

    def series(text: str) -> tuple[str, ...]:
        parts = text.split(".")
        return tuple(parts[:2]) if parts[0] == "0" else tuple(parts[:1])

    return series(version) == series(version_here)


class Handoffs:
    """The handoffs of one portfolio, over its client store."""

    def __init__(
        self,
        place: Place,
        store: ClientStore,
        registry: PluginRegistry,
        settings: PortfolioSettings,
    ) -> None:
        self.place = place
        self.store = store
        self.registry = registry
        self.settings = settings
        self.db = store.db
        if self.db.kind == "postgres":
            shared = valid_schema(os.environ.get(SCHEMA_ENV) or "migrationkit_handoff")
            self.table = f"{shared}.handoffs"
            with self.db.transaction():
                self.db.execute("SELECT pg_advisory_xact_lock(?)", (lock_key("migrationkit-ddl"),))
                self.db.execute(f"CREATE SCHEMA IF NOT EXISTS {shared}")
                self.db.execute(_TABLE.format(table=self.table, serial="BIGSERIAL"))
        else:
            self.table = "handoffs"
            self.db.execute(_TABLE.format(table=self.table, serial="INTEGER"))
        self.me = store.portfolio_id()

    # -- the history ---------------------------------------------------------------------------

    def _record(self, **values: Any) -> HandoffEvent:
        event = HandoffEvent(at=model.now(), who=who(), portfolio=self.me, **values)
        marks = ", ".join("?" for _ in _FIELDS)
        self.db.execute(
            f"INSERT INTO {self.table} ({', '.join(_FIELDS)}) VALUES ({marks})",
            [getattr(event, f) for f in _FIELDS],
        )
        return event

    def _events(self, where: str, params: tuple[Any, ...]) -> list[HandoffEvent]:
        rows = self.db.execute(
            f"SELECT {', '.join(_FIELDS)} FROM {self.table} WHERE {where} ORDER BY id", params
        )
        return [HandoffEvent(**dict(zip(_FIELDS, row, strict=True))) for row in rows]

    def history(self) -> list[HandoffEvent]:
        """Every event of the offers this portfolio made, accepted, rejected or saw expire."""
        self.settle()
        return self._events(
            f"offer IN (SELECT offer FROM {self.table} WHERE portfolio=?)", (self.me,)
        )

    def _of_offer(self, offer: str) -> list[HandoffEvent]:
        return self._events("offer=?", (offer,))

    def open_offer(self, name: str) -> HandoffEvent | None:
        """The offer of client ``name`` this portfolio made that is still open, if any."""
        for made in reversed(self._events("portfolio=? AND client=? AND event='offered'",
                                          (self.me, name))):  # fmt: skip
            events = self._of_offer(made.offer)
            closed = any(e.event in _CLOSED or e.event == "expired" for e in events)
            if not closed and model.moment(str(made.expires)) > model.utcnow():
                return made
        return None

    def settle(self) -> None:
        """Record the offers that expired; mark clients another portfolio accepted handed over."""
        made = self._events("portfolio=? AND event='offered'", (self.me,))
        for offer in made:
            events = self._of_offer(offer.offer)
            kinds = {e.event for e in events}
            accepted = [e for e in events if e.event == "accepted" and e.portfolio != self.me]
            if accepted:
                self._hand_over(offer, accepted[0])
            elif not kinds & {*_CLOSED, "expired"} and (
                model.moment(str(offer.expires)) <= model.utcnow()
            ):
                self._record(offer=offer.offer, event="expired", client=offer.client,
                             counterpart=offer.counterpart, expires=offer.expires)  # fmt: skip

    def _hand_over(self, offer: HandoffEvent, accepted: HandoffEvent) -> None:
        client = self.store.find(offer.client)
        if client is None or client.status not in _OFFERABLE:
            return
        self.store.set_status(
            client.name,
            ClientStatus.HANDED_OVER,
            reason=f"handed over: accepted on {accepted.at} by {accepted.who}",
        )

    # -- offering ------------------------------------------------------------------------------

    def offer(
        self,
        name: str,
        *,
        to: str | None = None,
        out: str | os.PathLike[str] | None = None,
        days: float | None = None,
    ) -> Offer:
        """Seal the client into a bundle file; the code (shown once), the file and the expiry."""
        self.settle()
        client = self.store.get(name)
        if client.status not in _OFFERABLE or client.queued:
            state = "queued" if client.queued else str(client.status)
            raise HandoffError(
                f"client {name!r} is {state}; only a pending, active or failed client whose "
                "run has ended can be offered"
            )
        already = self.open_offer(name)
        if already is not None:
            raise HandoffError(
                f"client {name!r} is offered already (until {already.expires}); withdraw that "
                "offer first (`migrationkit handoff withdraw`)"
            )
        days = self.settings.handoff_days if days is None else days
        if days <= 0:
            raise HandoffError("an offer must last more than 0 days")
        path = Path(out) if out is not None else Path.cwd() / f"{client.slug}.mkhandoff"
        if path.exists():
            raise HandoffError(f"{path} exists already; give --out another file")
        expires = (model.utcnow() + dt.timedelta(days=days)).isoformat(timespec="seconds")
        offer_id = uuid.uuid4().hex
        members = self._pack(client, offer_id, expires, to)
        code = new_code()
        seal_bundle(path, code, members)
        self._record(offer=offer_id, event="offered", client=client.name, counterpart=to,
                     expires=expires, file=str(path.resolve()))  # fmt: skip
        return Offer(offer=offer_id, client=client.name, code=code, file=path, expires=expires)

    def _connectors(self, client: Client) -> dict[str, str]:
        settings = load_settings(
            self.place.client_config(client), source=client.source, target=client.target
        )
        found = {}
        for side, spec in (("source", settings.source), ("target", settings.target)):
            if spec is not None:
                found[side] = spec.name
        return found

    def _package(self, connector: str) -> str | None:
        return self.registry.distribution_of(connector)

    def _pack(
        self, client: Client, offer_id: str, expires: str, to: str | None
    ) -> dict[str, bytes]:
        folder = self.place.client_folder(client)
        connectors = self._connectors(client)
        record = client_fields(client, folder)
        record["config"] = strip_secrets(client.config, self.registry)
        offer = {
            "offer": offer_id,
            "portfolio": self.me,
            "made_at": model.now(),
            "expires": expires,
            "by": who(),
            "to": to,
            "client": client.name,
            "connectors": {
                side: {"connector": name, "package": self._package(name)}
                for side, name in connectors.items()
            },
        }
        members = {
            "offer.json": json.dumps(offer, indent=1).encode(),
            "client.json": json.dumps(record, indent=1).encode(),
            "state.db": pack_state(self.place, client),
        }
        skipped = {"client.toml", "state.db", "state.db-wal", "state.db-shm", "state.db.lock"}
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                relative = path.relative_to(folder).as_posix()
                if path.is_file() and relative not in skipped:
                    members[f"files/{relative}"] = path.read_bytes()
        return members

    # -- withdrawing ---------------------------------------------------------------------------

    def withdraw(self, name: str) -> HandoffEvent:
        """Withdraw the client's open offer (and delete its bundle, where it was written)."""
        self.settle()
        self.store.get(name)
        made = self.open_offer(name)
        if made is None:
            raise HandoffError(f"client {name!r} has no open offer to withdraw")
        if made.file:
            Path(made.file).unlink(missing_ok=True)
        return self._record(offer=made.offer, event="withdrawn", client=name,
                            counterpart=made.counterpart, expires=made.expires)  # fmt: skip

    # -- receiving -----------------------------------------------------------------------------

    def _opened(
        self, path: str | os.PathLike[str], code: str
    ) -> tuple[Path, dict[str, Any], dict[str, Any], dict[str, bytes]]:
        file = Path(path)
        members = open_bundle(file, code)
        try:
            offer = json.loads(members["offer.json"])
            record = json.loads(members["client.json"])
        except (KeyError, ValueError):
            raise HandoffError(f"{file} opened, but it holds no offer") from None
        return file, offer, record, members

    def _still_open(self, offer: Mapping[str, Any]) -> None:
        """Refuse, in one line, an offer withdrawn, rejected, accepted or expired."""
        name = offer["client"]
        for event in reversed(self._of_offer(str(offer["offer"]))):
            if event.event == "withdrawn":
                raise HandoffError(
                    f"the offer of {name!r} was withdrawn by its sender on {event.at} ({event.who})"
                )
            if event.event == "rejected":
                raise HandoffError(
                    f"the offer of {name!r} was rejected on {event.at} by {event.who}: "
                    f"{event.reason}"
                )
            if event.event == "accepted":
                raise HandoffError(
                    f"the offer of {name!r} was accepted already, on {event.at} by {event.who}"
                )
        expires = model.moment(str(offer["expires"]))
        if expires <= model.utcnow():
            if not any(e.event == "expired" and e.portfolio == self.me
                       for e in self._of_offer(str(offer["offer"]))):  # fmt: skip
                self._record(offer=offer["offer"], event="expired", client=name,
                             counterpart=offer["portfolio"], expires=offer["expires"])  # fmt: skip
            raise HandoffError(
                f"the offer of {name!r} expired on {offer['expires']}; ask its sender "
                f"({offer.get('by')}) for a new one"
            )

    def _same_package(self, offer: Mapping[str, Any]) -> list[str]:
        """Refuse an offer whose connectors this portfolio lacks; the connectors' names."""
        name = offer["client"]
        found = []
        for side in ("target", "source"):
            wanted = offer["connectors"].get(side)
            if not wanted:
                continue
            connector, package = wanted["connector"], wanted.get("package")
            if connector not in self.registry.connectors:
                raise HandoffError(
                    f"this portfolio has no connector {connector!r}, the {side} of {name!r} "
                    f"({package or 'registered by hand'}): a handoff goes into the same package"
                )
            here = self._package(connector)
            if not compatible(package, here):
                raise HandoffError(
                    f"the {side} of {name!r} is {connector!r} of {package or 'no package'}; "
                    f"this portfolio has it from {here or 'no package'}: install a compatible "
                    "version to accept it"
                )
            found.append(connector)
        return found

    def accept(
        self,
        path: str | os.PathLike[str],
        code: str,
        *,
        name: str | None = None,
        source: str | None = None,
    ) -> Client:
        """Import the bundle's client into this portfolio; the client as it is here now."""
        file, offer, record, members = self._opened(path, code)
        self._still_open(offer)
        connectors = self._same_package(offer)
        wanted = (name or str(record["name"])).strip()
        if not wanted or any(ord(c) < 32 for c in wanted):
            raise HandoffError("a client needs a name (printable, not empty)")
        existing = self.store.find(wanted)
        if existing is not None and existing.status is not ClientStatus.REMOVED:
            raise HandoffError(
                f"there is already a client {wanted!r} here; accept it under another name "
                "with --as NAME"
            )
        if source is not None:
            parse_spec(source)
        client = self._received(wanted, record, offer, connectors, source)
        folder = self.place.client_folder(client)
        try:
            shutil.rmtree(folder, ignore_errors=True)
            self._unpack(client, members)
            prior = ClientStatus(record.get("status", "pending"))
            prior = prior if prior in _OFFERABLE else ClientStatus.PENDING
            self._still_open(offer)  # the sender may have withdrawn it in the meantime
            accepted = self.store.insert(
                client, before=prior, reason=f"received from {offer['by']} (handoff)"
            )
        except BaseException:
            self.place.delete_state(client)
            shutil.rmtree(folder, ignore_errors=True)
            raise
        self._record(offer=offer["offer"], event="accepted", client=wanted,
                     counterpart=offer["portfolio"], expires=offer["expires"])  # fmt: skip
        file.unlink(missing_ok=True)
        return accepted

    def _received(
        self,
        name: str,
        record: Mapping[str, Any],
        offer: Mapping[str, Any],
        connectors: list[str],
        source: str | None,
    ) -> Client:
        slug = slug_of(name)
        folder = self.place.client_folder(Client(name=name, slug=slug))
        logins = [c for c in dict.fromkeys(connectors) if self.registry.info(c).secret_options()]
        status = ClientStatus(record.get("status", "pending"))
        status = status if status in _OFFERABLE else ClientStatus.PENDING
        reason = None
        if logins:
            status = ClientStatus.WAITING
            how = " and ".join(f"migrationkit auth {c}" for c in logins)
            reason = (
                f"consent needed: handed over from {offer['by']}; log in again ({how}), then run it"
            )
        values = record_of(
            record,
            name=name,
            slug=slug,
            paying=Paying(record.get("paying", "practice")),
            status=status,
            reason=reason,
            status_at=model.now(),
            added_at=model.now(),
        )
        if source is not None:
            values["source"] = source
        for key in ("report", "error_file"):
            values[key] = str(folder / values[key]) if values.get(key) else None
        return Client(**values)

    def _unpack(self, client: Client, members: Mapping[str, bytes]) -> None:
        folder = self.place.client_folder(client)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        unpack_state(self.place, client, members["state.db"])
        root = folder.resolve()
        for member, data in members.items():
            if not member.startswith("files/"):
                continue
            target = (folder / member[len("files/") :]).resolve()
            if not target.is_relative_to(root) or target == root:
                raise HandoffError(f"the bundle holds a file outside the client's folder: {member}")
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(target, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)

    def reject(self, path: str | os.PathLike[str], code: str, reason: str) -> HandoffEvent:
        """Refuse the bundle's offer, with a reason (and delete the bundle)."""
        if not reason.strip():
            raise HandoffError("say why the offer is rejected (--reason TEXT)")
        file, offer, _record, _members = self._opened(path, code)
        self._still_open(offer)
        event = self._record(offer=offer["offer"], event="rejected", client=offer["client"],
                             counterpart=offer["portfolio"], expires=offer["expires"],
                             reason=" ".join(reason.split()))  # fmt: skip
        file.unlink(missing_ok=True)
        return event
