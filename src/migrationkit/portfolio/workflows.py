"""The durable workflow of one client's run: DBOS checkpoints each step in the system database.

::

    begin ─> batch ─> batch ─> ... ─> batch (the end) ─> finish ─> rest?
                 └─ wait (durable sleep) ─┘

``begin`` marks the client migrating. Each ``batch`` step lets the engine write one batch
(:class:`~migrationkit.portfolio.stepped.SteppedRun`), the last one ends the run. A target
that cannot take more now (the day's calls are spent, consent is needed) makes a ``wait``:
the client is ``waiting`` with the reason and the time, the workflow sleeps durably (a worker
that dies while it sleeps is recovered, and the sleep goes on to the same time), then the
batches resume. ``finish`` records the client's new status, reports and error file. When the
system counts calls a minute and another client of the same tenant is queued, ``rest`` holds
the tenant one minute window longer, so the next client starts with a window of its own.

Steps run at least once: a worker killed in the middle of one is recovered by another, which
replays the steps recorded so far from their checkpoints and runs the interrupted one again.
A batch run again resumes the engine's run: its state store knows what reached the target,
and intents without an outcome are looked up there before anything is sent again
(``migrationkit_find_existing``), so every record is written once.

The purge workflow runs on the portfolio's ``purge_schedule`` (a DBOS schedule on a queue of
its own that only workers listen to): one step that purges what retention says is due.

The steps' work is done by the process's bound :class:`Steps` (the runtime), so that this
module, which DBOS imports to find the workflow, imports nothing of the portfolio's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from dbos import DBOS

from migrationkit.core.redaction import redact

__all__ = ["PURGE_NAME", "WORKFLOW_NAME", "Steps", "bind", "client_workflow", "purge_workflow"]

WORKFLOW_NAME = "migrationkit.portfolio.client"
PURGE_NAME = "migrationkit.portfolio.purge"


class Steps(Protocol):
    """What the workflow's steps do, in the process that runs them."""

    def begin(self, client: str, mode: str, workflow: str) -> dict[str, Any]: ...
    def advance(
        self, workflow: str, client: str, mode: str, previous: str, sample: int | None
    ) -> dict[str, Any]: ...
    def pause(self, client: str, mode: str, summary: dict[str, Any], workflow: str) -> None: ...
    def finish(
        self, client: str, mode: str, summary: dict[str, Any], workflow: str
    ) -> dict[str, Any]: ...
    def rest(self, queue: str, partition: str | None, seconds: float) -> float: ...
    def purge(self) -> list[str]: ...


_steps: Steps | None = None


def bind(steps: Steps | None) -> None:
    """Make ``steps`` do the work of this process's steps (None: unbind)."""
    global _steps
    _steps = steps


def _bound() -> Steps:
    if _steps is None:
        raise RuntimeError("no portfolio runtime is running in this process")
    return _steps


def _workflow_id() -> str:
    found = DBOS.workflow_id
    assert found is not None
    return found


@DBOS.step(name="begin")
def begin_step(client: str, mode: str) -> dict[str, Any]:
    return _bound().begin(client, mode, _workflow_id())


@DBOS.step(name="batch")
def batch_step(client: str, mode: str, previous: str, sample: int | None) -> dict[str, Any]:
    return _bound().advance(_workflow_id(), client, mode, previous, sample)


@DBOS.step(name="wait")
def wait_step(client: str, mode: str, summary: dict[str, Any]) -> None:
    _bound().pause(client, mode, summary, _workflow_id())


@DBOS.step(name="finish")
def finish_step(client: str, mode: str, summary: dict[str, Any]) -> dict[str, Any]:
    return _bound().finish(client, mode, summary, _workflow_id())


@DBOS.step(name="rest")
def rest_step(queue: str, partition: str | None, seconds: float) -> float:
    return _bound().rest(queue, partition, seconds)


@DBOS.workflow(name=WORKFLOW_NAME)
def client_workflow(
    client: str,
    mode: str,
    sample: int | None,
    queue: str,
    partition: str | None,
    rest: float,
) -> dict[str, Any]:
    """One client's run of ``mode``: its steps, from ``begin`` to ``finish``."""
    started = begin_step(client, mode)
    if started.get("skip"):
        return started
    try:
        while True:
            step = batch_step(client, mode, str(started["previous"]), sample)
            if step["state"] == "batch":
                continue
            if step["state"] == "waiting":
                wait_step(client, mode, step)
                DBOS.sleep(float(step["seconds"]))
                continue
            break
    except Exception as exc:  # a step that failed in itself (the engine's errors are data)
        reason = redact(f"the engine stopped: {exc}")
        step = {"state": "done", "status": "failed", "reason": reason}
    final = finish_step(client, mode, step)
    pause = rest_step(queue, partition, rest) if rest > 0 else 0.0
    if pause > 0:
        DBOS.sleep(pause)
    return final


@DBOS.step(name="purge")
def purge_step() -> list[str]:
    return _bound().purge()


@DBOS.workflow(name=PURGE_NAME)
def purge_workflow(scheduled: dt.datetime, context: Any) -> None:
    """The portfolio's retention, on its schedule (the step's output lists what went)."""
    purge_step()
