"""The portfolio as a library: every operation ``migrationkit portfolio`` has, for scripts."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from migrationkit.core.config import ConnectorSpec, load_settings, parse_spec
from migrationkit.core.convert import structure_options
from migrationkit.core.errors import ConfigError
from migrationkit.core.files import open_private, private_dir
from migrationkit.core.plugins import PluginRegistry
from migrationkit.core.report import write_errors_csv
from migrationkit.core.state import Outcome

from . import purge as retention
from .handoff import HandoffEvent, Handoffs, Offer
from .model import MODES, Client, ClientStatus, Paying, PortfolioError, now, slug_of
from .place import DATABASE_URL_ENV, NAMESPACE_ENV, Place, PortfolioSettings
from .report import write_portfolio_report
from .store import ClientStore, Event

__all__ = ["Portfolio"]

_UNSET: Any = object()
_BUSY = (ClientStatus.MIGRATING, ClientStatus.WAITING)


class Portfolio:
    """A practice's client companies and their migrations.

    ``folder`` is the portfolio folder (created on first use). Without ``database_url`` (nor
    ``MIGRATIONKIT_DATABASE_URL``) everything lives in it, and runs are worked by this process;
    with it, the client list, the engine's queues and every client's state store live in that
    PostgreSQL database, and workers on any machine given the same URL share the work.
    ``namespace`` names the schemas there (``migrationkit`` unless
    ``MIGRATIONKIT_DATABASE_SCHEMA`` says otherwise).
    """

    def __init__(
        self,
        folder: str | os.PathLike[str] = ".",
        *,
        database_url: str | None = None,
        namespace: str | None = None,
        registry: PluginRegistry | None = None,
        settings: PortfolioSettings | None = None,
    ) -> None:
        self.place = Place(folder, database_url=database_url, namespace=namespace)
        self.settings = settings or self.place.settings()
        self.registry = registry or PluginRegistry()
        self._store: ClientStore | None = None
        self._handoffs: Handoffs | None = None

    def __enter__(self) -> Portfolio:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._handoffs = None
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def store(self) -> ClientStore:
        if self._store is None:
            private_dir(self.place.folder)
            self._store = self.place.open_clients()
        return self._store

    # -- the client list -----------------------------------------------------------------------

    def add(
        self,
        name: str,
        *,
        source: str | None = None,
        target: str | None = None,
        config: str | os.PathLike[str] | None = None,
        paying: str = "practice",
        email: str | None = None,
    ) -> Client:
        """Add a client company: its source and target (specs, its own TOML, or both)."""
        name = name.strip()
        if not name or any(ord(c) < 32 for c in name):
            raise PortfolioError("a client needs a name (printable, not empty)")
        text = None
        if config is not None:
            try:
                text = Path(config).read_text("utf-8")
            except OSError as exc:
                raise ConfigError(f"cannot read {config}: {exc.strerror}") from None
        settings = load_settings(
            Path(config) if config is not None else None, source=source, target=target
        )
        if settings.source is None or settings.target is None:
            raise PortfolioError(
                f"client {name!r} needs a source and a target: give --source and --target "
                "(NAME:LOCATION) or [source] and [target] in --config"
            )
        for spec, side in ((settings.source, "source"), (settings.target, "target")):
            self._check_connector(spec, side)
        client = Client(
            name=name,
            slug=slug_of(name),
            source=_absolute(source),
            target=_absolute(target),
            config=text,
            paying=_paying(paying),
            email=_email(email),
            status=ClientStatus.PENDING,
            status_at=now(),
            added_at=now(),
        )
        return self.store.insert(client)

    def _check_connector(self, spec: ConnectorSpec, side: str) -> None:
        info = self.registry.info(spec.name)
        structure_options(info.options, dict(spec.options), where=spec.origin or f"the {side}")
        if side == "source" and not info.is_source:
            raise PortfolioError(f"connector {spec.name!r} cannot be a source")
        if side == "target" and not info.is_target:
            raise PortfolioError(f"connector {spec.name!r} cannot be a target")

    def set(self, name: str, *, paying: str | None = None, email: Any = _UNSET) -> Client:
        """Change who pays (only before the client's first run) or the contact email."""
        client = self.store.get(name)
        changes: dict[str, Any] = {}
        if paying is not None:
            wanted = _paying(paying)
            if wanted is not client.paying and client.runs:
                raise PortfolioError(
                    f"who pays for {name!r} is fixed since its first run: the {client.paying}"
                )
            changes["paying"] = wanted
        if email is not _UNSET:
            changes["email"] = _email(email)
        return self.store.update(name, **changes)

    def client(self, name: str) -> Client:
        return self.store.get(name)

    def clients(self, *, status: str | None = None, include_hidden: bool = False) -> list[Client]:
        """The clients by name; hidden and removed ones only with ``include_hidden``."""
        wanted = _status(status) if status else None
        self.handoffs.settle()
        return [
            c
            for c in self.store.all()
            if (include_hidden or (not c.hidden and c.status is not ClientStatus.REMOVED))
            and (wanted is None or c.status is wanted)
        ]

    def history(self, name: str | None = None) -> list[Event]:
        """Every change of a client's status (or of all clients'), oldest first."""
        return self.store.events(name)

    def hide(self, name: str) -> Client:
        self.store.get(name)
        return self.store.update(name, hidden=True)

    def unhide(self, name: str) -> Client:
        self.store.get(name)
        return self.store.update(name, hidden=False)

    def remove(self, name: str, *, delete_data: bool = False) -> Client:
        """Stop managing a client and delete everything kept of it: state, reports, history."""
        client = self.store.get(name)
        if client.status is ClientStatus.REMOVED:
            return client
        if not delete_data:
            raise PortfolioError(
                f"removing {name!r} deletes its state store, reports and history: "
                "give --delete-data to confirm"
            )
        if client.status in _BUSY or client.queued:
            raise PortfolioError(
                f"client {name!r} is {(client.queued and 'queued') or client.status}; "
                "remove it once its run has ended"
            )
        if self.handoffs.open_offer(name) is not None:
            self.handoffs.withdraw(name)
        self._forget_workflows(client)
        self.place.delete_state(client)
        self.place.delete_files(client)
        removed = self.store.set_status(
            name,
            ClientStatus.REMOVED,
            reason="removed, its data deleted",
            source=None,
            target=None,
            config=None,
            email=None,
            report=None,
            error_file=None,
            reconcile=None,
            tenant=None,
            workflow_id=None,
        )
        self.store.forget_history(name)
        return removed

    def _forget_workflows(self, client: Client) -> None:
        if not client.runs:
            return
        with self._runtime(listen=False):
            from dbos import DBOS

            ids = [
                w.workflow_id
                for w in DBOS.list_workflows(
                    workflow_id_prefix=f"{client.slug}:", load_input=False, load_output=False
                )
            ]
            if ids:
                DBOS.delete_workflows(ids)

    def errors(self, name: str) -> Path:
        """The client's error file: every record of its last run that did not move, and why."""
        client = self.store.get(name)
        if not client.error_file:
            raise PortfolioError(f"client {name!r} has no error file: no run of it has ended yet")
        path = Path(client.error_file)
        if path.exists():
            return path
        if client.last_run_id is None:
            raise PortfolioError(
                f"the error file of {name!r} was written at {path} on the machine that ran it; "
                f"run `migrationkit portfolio run validate {name}` to write it here"
            )
        # Written by a worker on another machine: write it again from the state store.
        store = self.place.state_store(client)
        try:
            rows = list(
                store.outcomes(
                    client.last_run_id, (Outcome.SKIPPED, Outcome.FAILED, Outcome.REMAINING)
                )
            )
        finally:
            store.close()
        local = self.place.client_folder(client) / "reports" / f"run-{client.last_run_id}"
        write_errors_csv(rows, local / "errors.csv")
        return local / "errors.csv"

    def report(self, path: str | os.PathLike[str] | None = None) -> Path:
        """One HTML page for the whole portfolio (``report.html`` in its folder by default)."""
        target = Path(path) if path is not None else self.place.folder / "report.html"
        return write_portfolio_report(self.clients(include_hidden=True), target)

    # -- handoffs ------------------------------------------------------------------------------

    @property
    def handoffs(self) -> Handoffs:
        """The portfolio's handoffs (``migrationkit handoff``): see :mod:`.handoff`."""
        if self._handoffs is None:
            self._handoffs = Handoffs(self.place, self.store, self.registry, self.settings)
        return self._handoffs

    def offer(
        self,
        name: str,
        *,
        to: str | None = None,
        out: str | os.PathLike[str] | None = None,
        days: float | None = None,
    ) -> Offer:
        """Offer a client to another portfolio: a sealed bundle file and its one-time code."""
        return self.handoffs.offer(name, to=_email(to), out=out, days=days)

    def accept(
        self,
        path: str | os.PathLike[str],
        code: str,
        *,
        name: str | None = None,
        source: str | None = None,
    ) -> Client:
        """Take a client offered by another portfolio in (under ``name``, from ``source``)."""
        return self.handoffs.accept(path, code, name=name, source=_absolute(source))

    def withdraw(self, name: str) -> HandoffEvent:
        """Withdraw the open offer of a client."""
        return self.handoffs.withdraw(name)

    def reject(self, path: str | os.PathLike[str], code: str, reason: str) -> HandoffEvent:
        """Refuse an offer another portfolio made, saying why."""
        return self.handoffs.reject(path, code, reason)

    def handoff_history(self) -> list[HandoffEvent]:
        """Every offer made, withdrawn, accepted, rejected or expired, oldest first."""
        return self.handoffs.history()

    # -- retention -----------------------------------------------------------------------------

    def purge_due(self, client: Client) -> str | None:
        """When the client's migration data will be purged (ISO 8601 UTC), if it will."""
        when = retention.due(client, self.settings.purge_after_days)
        return when.isoformat(timespec="seconds") if when is not None else None

    def purge(
        self,
        *,
        older_than: float | None = None,
        dry_run: bool = False,
        everything: bool = False,
    ) -> retention.PurgePlan:
        """Delete the migration data of clients live longer than ``older_than`` days.

        ``older_than`` defaults to the ``purge_after_days`` setting; ``everything`` removes
        the id map too (delta then starts over); ``dry_run`` only lists what would go. What
        went (or would go), one :class:`~.purge.Removal` each.
        """
        days = self.settings.purge_after_days if older_than is None else older_than
        if days < 0:
            raise PortfolioError("--older-than must be 0 days or more")
        clients = self.store.all()
        with self._runtime(listen=False) as runtime:
            chosen = retention.plan(
                self.place, clients, days=days, everything=everything, engine=runtime
            )
            if dry_run:
                return chosen
            return retention.carry_out(self.place, self.store, chosen, engine=runtime)

    # -- runs ----------------------------------------------------------------------------------

    def select(
        self,
        names: Sequence[str] = (),
        *,
        every: bool = False,
        status: str | None = None,
    ) -> list[Client]:
        """The clients a run is for: by name, every visible one, or those with a status."""
        if sum(map(bool, (names, every, status))) != 1:
            raise PortfolioError("name the clients, or give --all or --status (one of them)")
        if names:
            chosen = [self.store.get(n) for n in dict.fromkeys(names)]
        else:
            chosen = self.clients(status=status)
        removed = [c.name for c in chosen if c.status is ClientStatus.REMOVED]
        if removed:
            raise PortfolioError(f"removed clients cannot run: {', '.join(removed)}")
        self.handoffs.settle()
        gone = [c.name for c in chosen if self.store.get(c.name).status is ClientStatus.HANDED_OVER]
        if gone:
            raise PortfolioError(f"clients handed over to another portfolio: {', '.join(gone)}")
        offered = [c.name for c in chosen if self.handoffs.open_offer(c.name) is not None]
        if offered:
            raise PortfolioError(
                f"{', '.join(offered)}: offered to another portfolio; a run now would leave the "
                "offer's id map behind (withdraw the offer to run it)"
            )
        if not chosen:
            raise PortfolioError("no client matches" + (f" status {status}" if status else ""))
        return chosen

    @contextlib.contextmanager
    def _runtime(self, *, listen: bool) -> Iterator[Any]:
        from .runtime import Runtime

        runtime = Runtime(self.place, self.store, self.registry, self.settings)
        runtime.launch(listen=listen)
        try:
            yield runtime
        finally:
            runtime.shutdown()

    def _enqueue(
        self, runtime: Any, mode: str, clients: Iterable[Client], sample: int | None
    ) -> list[str]:
        if mode not in MODES:
            raise PortfolioError(f"unknown mode {mode!r} (modes: {', '.join(MODES)})")
        clients = list(clients)
        if mode not in ("validate", "reconcile"):
            for client in clients:
                if client.purged_at and client.runs and not self.place.has_state(client):
                    raise PortfolioError(
                        f"client {client.name!r} was purged with --all: without its id map a "
                        f"{mode} run would write every record to the target again (validate and "
                        "reconcile still run; add it anew to migrate it again)"
                    )
        ids: list[str] = []
        for client in clients:
            fresh = self.store.get(client.name)
            if fresh.workflow_id and runtime.in_flight(fresh):
                ids.append(fresh.workflow_id)  # already on its way: not twice
            else:
                ids.append(runtime.enqueue(fresh, mode, sample))
        return ids

    def enqueue(
        self, mode: str, clients: Sequence[Client], *, sample: int | None = None
    ) -> list[str]:
        """Queue a run of ``mode`` for each client, for workers to take; the workflow ids."""
        with self._runtime(listen=False) as runtime:
            return self._enqueue(runtime, mode, clients, sample)

    def run(
        self,
        mode: str,
        clients: Sequence[Client],
        *,
        sample: int | None = None,
        workers: int = 1,
        on_progress: Callable[[list[Client]], None] | None = None,
    ) -> list[Client]:
        """Queue the runs and work them here (and in ``workers - 1`` more local processes).

        Returns when every run has ended, waits included (a waiting client is resumed here
        when its time comes); the clients as they ended.
        """
        names = [c.name for c in clients]
        helpers: list[subprocess.Popen[bytes]] = []
        with self._runtime(listen=True) as runtime:
            try:
                # The helpers start before the work is queued: they take a few seconds to start,
                # and in that time this process alone would take every client it may run.
                helpers = [self._spawn_worker(n) for n in range(1, workers)]
                ids = self._enqueue(runtime, mode, clients, sample)

                def poll() -> None:
                    if on_progress is not None:
                        on_progress([self.store.get(n) for n in names])

                runtime.wait(ids, on_poll=poll)
            finally:
                for helper in helpers:
                    helper.send_signal(signal.SIGTERM)
                for helper in helpers:
                    try:
                        helper.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        helper.kill()
        return [self.store.get(n) for n in names]

    def _spawn_worker(self, number: int) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        if self.place.database_url:
            env[DATABASE_URL_ENV] = self.place.database_url
        env[NAMESPACE_ENV] = self.place.namespace
        logs = private_dir(self.place.home / "logs")
        with open_private(logs / f"worker-{number}.log", "ab", encoding=None) as log:
            return subprocess.Popen(
                [sys.executable, "-m", "migrationkit", "--quiet", "portfolio", "--portfolio",
                 str(self.place.folder), "worker", "--idle-exit", "10"],
                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip

    def work(
        self,
        *,
        concurrency: int | None = None,
        stop: threading.Event | None = None,
        idle_exit: float | None = None,
    ) -> None:
        """Be a worker: take clients from the queues until ``stop`` is set (or idle that long).

        Runs still going when it stops are left pending: another worker (or this one, started
        again) recovers them once this process has ended.
        """
        stop = stop or threading.Event()
        with self._runtime(listen=True) as runtime:
            if concurrency is not None:
                runtime.set_concurrency(concurrency)
            idle_since: float | None = None
            while not stop.wait(min(self.settings.poll_interval, 1.0)):
                if idle_exit is None:
                    continue
                if runtime.busy():
                    idle_since = None
                elif idle_since is None:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since >= idle_exit:
                    return


def _paying(value: str) -> Paying:
    try:
        return Paying(value)
    except ValueError:
        raise PortfolioError(f"who pays must be practice or client, not {value!r}") from None


def _email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    local, at, domain = value.partition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in value):
        raise PortfolioError(f"{value!r} is not an email address")
    return value


def _status(value: str) -> ClientStatus:
    try:
        return ClientStatus(value)
    except ValueError:
        known = ", ".join(str(s) for s in ClientStatus)
        raise PortfolioError(f"unknown status {value!r} (statuses: {known})") from None


def _absolute(spec: str | None) -> str | None:
    """A spec whose location is a path that exists here, made absolute (workers run elsewhere)."""
    if spec is None:
        return None
    parsed = parse_spec(spec)
    location = parsed.options.get("location")
    if (
        isinstance(location, str)
        and location
        and not os.path.isabs(location)
        and os.path.exists(location)
    ):
        return f"{parsed.name}:{os.path.abspath(location)}"
    return spec
