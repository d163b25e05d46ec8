"""DBOS Transact in this process, for one portfolio: queues, workers and the recovery of dead ones.

**Queues.** One queue per target system (``xero``, ``sage-accounting``, ``csv``), named after
it. A system that limits each tenant (``Tenancy.limits``) gets a queue partitioned by tenant
with ``partition_concurrency=1``: across every worker on the same system database, one client
of a tenant runs at a time, so the one connector calling that tenant, with its own limiter set
to the system's documented limits, keeps them. The queue's ``worker_concurrency`` (the
portfolio's ``concurrency``) bounds how many clients of a system each worker runs at once.

**Workers and recovery.** Every process gets an executor id of its own and holds a lock for as
long as it lives (:class:`~migrationkit.portfolio.place.Liveness`). Each worker looks now and
then for workflows left ``PENDING`` by an executor whose lock is free, which means its process
is gone (killed, crashed, its machine off), and hands them back to their queues (what DBOS's
admin API does on request, ``DBOS._recover_pending_workflows``); a worker then replays each
from its last checkpointed step.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
from dbos import DBOS, DBOSConfig, SetEnqueueOptions, SetWorkflowID

from migrationkit.core.config import load_settings
from migrationkit.core.contract import Tenancy
from migrationkit.core.convert import structure_options
from migrationkit.core.errors import StateError
from migrationkit.core.files import private_dir
from migrationkit.core.plugins import PluginRegistry

from . import workflows
from .model import Client, ClientStatus, now
from .place import Liveness, Place, PortfolioSettings
from .runs import ClientRun, settle_status
from .store import ClientStore

__all__ = ["FINISHED", "Runtime", "queue_name"]

PURGE_QUEUE = "migrationkit-purge"
"""The queue of the scheduled purge: only workers listen to it."""
FINISHED = frozenset({"SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"})
"""DBOS workflow statuses that will not change again."""
_ALIVE = ("ENQUEUED", "PENDING", "DELAYED")

try:
    _VERSION = importlib.metadata.version("migrationkit")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a source tree
    _VERSION = "0"


def _line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return " ".join(lines[0].split()) if lines else type(error).__name__


def queue_name(tenancy: Tenancy) -> str:
    """The queue of a system; a sandbox's faster clock gets a queue of its own."""
    minute = tenancy.limits.minute
    if minute == 60.0:
        return tenancy.system
    return f"{tenancy.system}-x{60.0 / minute:g}"


def _partitioned(tenancy: Tenancy) -> bool:
    return tenancy.tenant is not None and tenancy.limits.any


def _rest(tenancy: Tenancy) -> float:
    """How long a tenant rests between two clients: one minute window, and a second's margin."""
    if not _partitioned(tenancy) or tenancy.limits.per_minute is None:
        return 0.0
    return tenancy.limits.minute * 61.0 / 60.0


class Runtime:
    """DBOS launched for one portfolio in this process, and the work of its steps."""

    _current: Runtime | None = None

    def __init__(
        self,
        place: Place,
        clients: ClientStore,
        registry: PluginRegistry,
        settings: PortfolioSettings,
    ) -> None:
        self.place = place
        self.clients = clients
        self.registry = registry
        self.settings = settings
        self.executor = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._runs: dict[str, ClientRun] = {}
        self._runs_lock = threading.Lock()
        self._queues: dict[str, Any] = {}
        self._liveness: Liveness | None = None
        self._stop = threading.Event()
        self._recovery: threading.Thread | None = None
        self._spool: Path | None = None
        self._tempdir: str | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def launch(self, *, listen: bool) -> None:
        """Start DBOS here; with ``listen``, this process is a worker that takes clients."""
        if Runtime._current is not None:
            raise RuntimeError("a portfolio runtime is already running in this process")
        config: DBOSConfig = {
            "name": "migrationkit",
            "system_database_url": self.place.system_database_url,
            "executor_id": self.executor,
            "application_version": f"migrationkit-{_VERSION}",
            "log_level": "WARNING",
            "notification_listener_polling_interval_sec": min(self.settings.poll_interval, 1.0),
        }
        if self.place.distributed:
            config["dbos_system_schema"] = self.place.system_schema
        try:
            self._liveness = Liveness(self.place, self.executor)
        except Exception as exc:
            where = self.place.describe()
            raise StateError(f"cannot start a worker on {where}: {_line(exc)}") from None
        try:
            DBOS(config=config)
            if not listen:
                DBOS.listen_queues([])
            DBOS.launch()
        except Exception as exc:
            DBOS.destroy()
            self._liveness.release()
            raise StateError(
                f"cannot start the engine on {self.place.describe()}: {_line(exc)}"
            ) from None
        Runtime._current = self
        workflows.bind(self)
        if listen:
            # What sources spool to disk while they run goes to this worker's own folder, which
            # the worker that takes over after a crash deletes (Liveness.forget).
            self._spool = self.place.spool / self.executor
            private_dir(self._spool)
            self._tempdir, tempfile.tempdir = tempfile.tempdir, str(self._spool)
            self._schedule_purge()
            self.recover_dead()
            self._recovery = threading.Thread(
                target=self._recover_now_and_then, name="portfolio-recovery", daemon=True
            )
            self._recovery.start()

    def shutdown(self) -> None:
        """Stop DBOS here; runs still going stay pending for a worker to recover."""
        self._stop.set()
        if self._recovery is not None:
            self._recovery.join(timeout=10)
        # A run still going is left as it is: its workflow stays pending, for a worker to
        # recover once this process is gone (which releases its locks).
        workflows.bind(None)
        Runtime._current = None
        DBOS.destroy(destroy_registry=False)
        if self._liveness is not None:
            self._liveness.release()
            self._liveness = None
        if self._spool is not None:
            tempfile.tempdir = self._tempdir
            shutil.rmtree(self._spool, ignore_errors=True)
            self._spool = None

    def _schedule_purge(self) -> None:
        """Put the portfolio's purge on its schedule (or take it off, when it has none)."""
        cron = self.settings.purge_schedule.strip()
        if not cron:
            if DBOS.get_schedule(PURGE_QUEUE) is not None:
                DBOS.delete_schedule(PURGE_QUEUE)
            return
        DBOS.register_queue(
            PURGE_QUEUE,
            global_concurrency=1,
            polling_interval_sec=self.settings.poll_interval,
            on_conflict="always_update",
        )
        found = DBOS.get_schedule(PURGE_QUEUE)
        if found is not None and found["schedule"] == cron:
            return
        DBOS.apply_schedules(
            [{"schedule_name": PURGE_QUEUE, "workflow_fn": workflows.purge_workflow,
              "schedule": cron, "queue_name": PURGE_QUEUE}]
        )  # fmt: skip

    # -- recovery ------------------------------------------------------------------------------

    def _recover_now_and_then(self) -> None:
        while not self._stop.wait(self.settings.recovery_interval):
            try:
                self.recover_dead()
            except Exception as exc:  # the database may be away for a moment
                DBOS.logger.warning(f"looking for dead workers failed: {exc}")

    def recover_dead(self) -> list[str]:
        """Hand the workflows of workers that died back to their queues; their executor ids."""
        assert self._liveness is not None
        pending = DBOS.list_workflows(
            status="PENDING",
            name=[workflows.WORKFLOW_NAME, workflows.PURGE_NAME],
            load_input=False,
            load_output=False,
        )
        dead = sorted(
            {w.executor_id for w in pending if w.executor_id and self._liveness.dead(w.executor_id)}
        )
        for executor in dead:
            DBOS._recover_pending_workflows([executor])
            self._liveness.forget(executor)
        return dead

    # -- enqueueing ----------------------------------------------------------------------------

    def tenancy(self, client: Client) -> Tenancy:
        """The system and tenant whose limits the client's runs use, and those limits.

        The target's, when it limits its tenants; else the source's (an export from a Xero
        organisation to files calls that organisation just as much); else the target system's,
        without limits. A run that reads from one limited tenant and writes to another is
        queued by its target.
        """
        settings = load_settings(
            self.place.client_config(client), source=client.source, target=client.target
        )
        found: list[Tenancy] = []
        for spec in (settings.target, settings.source):
            if spec is None:
                continue
            info = self.registry.info(spec.name)
            options: Any = structure_options(info.options, dict(spec.options), where=spec.origin)
            found.append(info.tenancy_for(options))
        limited = [t for t in found if _partitioned(t)]
        if limited:
            return limited[0]
        return found[0] if found else Tenancy(system="unknown")

    def _queue(self, tenancy: Tenancy) -> Any:
        name = queue_name(tenancy)
        found = self._queues.get(name)
        if found is None:
            found = self._queues[name] = DBOS.register_queue(
                name,
                worker_concurrency=self.settings.concurrency,
                partition_concurrency=1 if _partitioned(tenancy) else None,
                polling_interval_sec=self.settings.poll_interval,
                on_conflict="always_update",
            )
        return found

    def set_concurrency(self, concurrency: int) -> None:
        """How many clients of one system each worker runs at once (every queue's setting)."""
        self.settings = attrs.evolve(self.settings, concurrency=concurrency)
        for queue in DBOS.list_queues():
            queue.set_worker_concurrency(concurrency)

    def busy(self) -> bool:
        """Whether any client's run is queued, running or waiting, on any worker."""
        return bool(
            DBOS.list_workflows(
                status=list(_ALIVE),
                name=workflows.WORKFLOW_NAME,
                limit=1,
                load_input=False,
                load_output=False,
            )
        )

    def in_flight(self, client: Client) -> bool:
        """Whether the client's last workflow is still queued or running."""
        if not client.workflow_id:
            return False
        status = DBOS.get_workflow_status(client.workflow_id)
        return status is not None and status.status in _ALIVE

    def enqueue(self, client: Client, mode: str, sample: int | None = None) -> str:
        """Queue one run of ``mode`` for the client (on its system's queue); the workflow id."""
        tenancy = self.tenancy(client)
        queue = self._queue(tenancy)
        partition = (tenancy.tenant or "default") if _partitioned(tenancy) else None
        workflow_id = f"{client.slug}:{client.runs + 1}:{mode}"
        with SetWorkflowID(workflow_id), SetEnqueueOptions(queue_partition_key=partition):
            queue.enqueue(
                workflows.client_workflow,
                client.name,
                mode,
                sample,
                queue.name,
                partition,
                _rest(tenancy),
            )
        self.clients.update(
            client.name,
            runs=client.runs + 1,
            queued=mode,
            workflow_id=workflow_id,
            system=tenancy.system,
            tenant=tenancy.tenant,
        )
        return workflow_id

    def statuses(self, workflow_ids: Sequence[str]) -> dict[str, str]:
        """DBOS's status of each workflow (``ENQUEUED``, ``PENDING``, ``SUCCESS``, ...)."""
        if not workflow_ids:
            return {}
        found = DBOS.list_workflows(
            workflow_ids=list(workflow_ids), load_input=False, load_output=False
        )
        return {w.workflow_id: str(w.status) for w in found}

    def wait(
        self,
        workflow_ids: Sequence[str],
        *,
        every: float = 0.25,
        on_poll: Callable[[], None] | None = None,
    ) -> dict[str, str]:
        """Wait until every workflow has finished; their final DBOS statuses.

        ``on_poll`` is called every ``every`` seconds; the engine is asked at most once a
        second (on SQLite a look at the system database holds up the workers' writes).
        """
        asked = 0.0
        while True:
            if on_poll is not None:
                on_poll()
            if time.monotonic() - asked >= max(every, 1.0):
                asked = time.monotonic()
                statuses = self.statuses(workflow_ids)
                # A workflow no longer there has ended and been purged (retention deletes the
                # engine's records of finished runs only).
                statuses = {w: statuses.get(w, "PURGED") for w in workflow_ids}
                if all(s in FINISHED or s == "PURGED" for s in statuses.values()):
                    self._settle_broken(statuses)
                    if on_poll is not None:
                        on_poll()
                    return statuses
            time.sleep(every)

    def _settle_broken(self, statuses: dict[str, str]) -> None:
        """A workflow DBOS gave up on leaves its client failed, never migrating."""
        for workflow_id, status in statuses.items():
            if status in ("SUCCESS", "PURGED"):
                continue
            for client in self.clients.all():
                if client.workflow_id == workflow_id and client.status in (
                    ClientStatus.MIGRATING,
                    ClientStatus.WAITING,
                ):
                    self.clients.set_status(
                        client.name,
                        ClientStatus.FAILED,
                        reason=f"the engine gave up on its run ({status.lower()})",
                        workflow_id=workflow_id,
                    )

    # -- the steps (workflows.Steps) -----------------------------------------------------------

    def _before(self, client: Client) -> ClientStatus:
        """The client's status before its run began (its history knows, after a crash too)."""
        if client.status not in (ClientStatus.MIGRATING, ClientStatus.WAITING):
            return client.status
        for event in reversed(self.clients.events(client.name)):
            if event.status not in (ClientStatus.MIGRATING, ClientStatus.WAITING):
                return event.status
        return ClientStatus.PENDING

    def begin(self, client: str, mode: str, workflow: str) -> dict[str, Any]:
        found = self.clients.find(client)
        if found is None or found.status is ClientStatus.REMOVED:
            return {"skip": f"client {client!r} is no longer in the portfolio"}
        previous = self._before(found)
        self.clients.set_status(
            client,
            ClientStatus.MIGRATING,
            reason=f"{mode} run",
            mode=mode,
            workflow_id=workflow,
            queued=None,
            progress=0,
            progress_entity=None,
        )
        return {"previous": str(previous)}

    def advance(
        self, workflow: str, client: str, mode: str, previous: str, sample: int | None
    ) -> dict[str, Any]:
        with self._runs_lock:
            run = self._runs.get(workflow)
        if run is None:
            found = self.clients.get(client)
            if found.status is ClientStatus.WAITING:
                self.clients.set_status(
                    client, ClientStatus.MIGRATING, reason=f"{mode} run", mode=mode,
                    workflow_id=workflow,
                )  # fmt: skip
                found = self.clients.get(client)
            run = ClientRun(
                self.place,
                self.registry,
                self.settings,
                found,
                mode,
                previous=ClientStatus(previous),
                sample=sample,
            )
            with self._runs_lock:
                self._runs[workflow] = run
        result = run.advance()
        if result["state"] == "batch":
            self.clients.update(
                client, progress=result["examined"], progress_entity=result["entity"]
            )
        else:
            with self._runs_lock:
                self._runs.pop(workflow, None)
        return result

    def pause(self, client: str, mode: str, summary: dict[str, Any], workflow: str) -> None:
        self.clients.set_status(
            client,
            ClientStatus.WAITING,
            reason=str(summary["reason"]),
            mode=mode,
            workflow_id=workflow,
            waiting_until=str(summary["until"]),
        )

    def finish(
        self, client: str, mode: str, summary: dict[str, Any], workflow: str
    ) -> dict[str, Any]:
        status = settle_status(mode, summary)
        changes: dict[str, Any] = {
            "last_mode": mode,
            "last_finished_at": now(),
            "progress_entity": None,
        }
        for key, column in (
            ("run_id", "last_run_id"),
            ("run_status", "last_status"),
            ("moved", "moved"),
            ("failed", "failed"),
            ("reconcile", "reconcile"),
            ("report", "report"),
            ("error_file", "error_file"),
        ):
            if key in summary:
                changes[column] = summary[key]
        found = self.clients.find(client)
        if found is not None and found.status is not ClientStatus.REMOVED:
            self.clients.set_status(
                client,
                status,
                reason=summary.get("reason"),
                mode=mode,
                workflow_id=workflow,
                **changes,
            )
        return {"client": client, "mode": mode, "status": str(status), **summary}

    def rest(self, queue: str, partition: str | None, seconds: float) -> float:
        """Hold the tenant ``seconds`` longer when another client of it waits in the queue."""
        if partition is None:
            return 0.0
        waiting = DBOS.list_queued_workflows(
            queue_name=queue, status="ENQUEUED", load_input=False, load_output=False
        )
        return seconds if any(w.queue_partition_key == partition for w in waiting) else 0.0

    # -- retention -----------------------------------------------------------------------------

    def purge(self) -> list[str]:
        """Purge what retention says is due (the scheduled purge's step); what went."""
        from .purge import carry_out, plan

        chosen = plan(
            self.place, self.clients.all(), days=self.settings.purge_after_days, engine=self
        )
        done = carry_out(self.place, self.clients, chosen, engine=self)
        return [r.line() for r in done.removals]

    def finished_workflows(self, client: Client) -> list[str]:
        """The client's runs the engine has finished with (their records, inputs, outputs)."""
        return sorted(
            w.workflow_id
            for w in DBOS.list_workflows(
                workflow_id_prefix=f"{client.slug}:", load_input=False, load_output=False
            )
            if str(w.status) in FINISHED
        )

    def delete_workflows(self, workflow_ids: Sequence[str]) -> None:
        if workflow_ids:
            DBOS.delete_workflows(list(workflow_ids))
