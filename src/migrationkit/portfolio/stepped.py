"""One engine run, advanced a batch at a time: how a run becomes a sequence of durable steps.

The engine loads an entity in batches and tells its caller after each batch whose outcomes are
committed (``Migration.on_batch``). :class:`SteppedRun` runs one mode in a thread of its own
and holds it at each of those points until it is told to go on, so that whoever drives it (a
workflow) can make each batch one step: :meth:`SteppedRun.advance` lets the run write its next
batch and returns what it was, or, at the end, the mode's result.

Nothing here makes a step happen exactly once: a step cut short by a crash runs again in a
new process, where a new run resumes the engine's own (the state store knows what was written,
and intents left without an outcome are looked up on the target before anything is sent).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import attrs

from migrationkit.core.engine import Migration

__all__ = ["Batch", "Finished", "SteppedRun", "Stopped"]

T = TypeVar("T")


@attrs.frozen
class Batch:
    """A batch the run wrote (``records`` of ``entity``), its outcomes committed."""

    entity: str
    records: int


@attrs.frozen
class Finished(Generic[T]):
    """The run ended; ``result`` is what the mode returned."""

    result: T


class Stopped(BaseException):
    """Raised inside a run told to stop at its next batch (it ends as interrupted)."""


class SteppedRun(Generic[T]):
    """Runs ``mode(migration)`` in a thread, one batch per :meth:`advance`."""

    def __init__(self, migration: Migration, mode: Callable[[Migration], T], name: str) -> None:
        self.migration = migration
        self._mode = mode
        self._name = name
        self._go: queue.Queue[bool] = queue.Queue()
        self._told: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._over = False
        migration.on_batch = self._pause

    def _pause(self, entity: str, records: int) -> None:
        """In the run's thread, after each batch: say so, then wait to be told to go on."""
        self._told.put(("batch", Batch(entity, records)))
        if not self._go.get():
            raise Stopped

    def _main(self) -> None:
        try:
            result = self._mode(self.migration)
        except BaseException as exc:  # handed to the driver, whatever it is
            self._told.put(("error", exc))
        else:
            self._told.put(("done", result))

    def advance(self) -> Batch | Finished[T]:
        """Let the run write its next batch; what it wrote, or how it ended.

        Raises what the mode raised, once, when the run failed.
        """
        if self._over:
            raise RuntimeError("the run is over")
        if self._thread is None:
            self._thread = threading.Thread(target=self._main, name=self._name, daemon=True)
            self._thread.start()
        else:
            self._go.put(True)
        kind, value = self._told.get()
        if kind == "batch":
            assert isinstance(value, Batch)
            return value
        self._over = True
        self._thread.join()
        if kind == "error":
            raise value
        return Finished(value)

    @property
    def over(self) -> bool:
        return self._over

    def close(self) -> None:
        """Stop a run still going at its next batch (it ends interrupted, resumable)."""
        if self._over or self._thread is None:
            self._over = True
            return
        self._go.put(False)
        self._told.get()  # its end, an error saying it stopped
        self._over = True
        self._thread.join()
