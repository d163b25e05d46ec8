"""One run's working state, and how a run keeps the garbage collector out of its way."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import time
from collections import Counter, defaultdict
from collections.abc import Iterator

import attrs

from .contract import KnownDigests, Operation, Rejected, RunContext
from .model import Record, Reference
from .report import Counts, RunReport
from .resolver import Resolver
from .state import IdEntry, MigrationInfo, Outcome, OutcomeRow, RunInfo

__all__ = [
    "Pending",
    "RunState",
    "describe_error",
    "few_collections",
    "rejected_row",
    "skipped_row",
]


@attrs.define
class RunState:
    """What one run carries from start to report."""

    migration: MigrationInfo
    run: RunInfo
    context: RunContext
    resolver: Resolver
    counts: defaultdict[str, Counts] = attrs.field(factory=lambda: defaultdict(Counts))
    problems: dict[Reference, str] = attrs.field(factory=dict)
    seen_created: Counter[str] = attrs.field(factory=Counter)
    fed: dict[str, tuple[KnownDigests, set[str]]] = attrs.field(factory=dict)
    """Per entity a source left unchanged records out of: what it confirmed, the keys it gave."""
    unresolved: int = 0
    notes: list[str] = attrs.field(factory=list)
    report: RunReport | None = None
    snapshot: str | None = None
    started: float = attrs.field(factory=time.monotonic)
    watermark: str = attrs.field(
        factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )


@attrs.define
class Pending:
    """A record on its way to the target, with what the id map knew of it."""

    record: Record
    fingerprint: str
    operation: Operation
    entry: IdEntry | None
    digest: str | None = None


@contextlib.contextmanager
def few_collections() -> Iterator[None]:
    """Let the cycle collector run rarely during a run, and restore it afterwards.

    A run allocates millions of short-lived objects, almost none in cycles; with the default
    thresholds the collector runs every 700 allocations and, now and then, walks every live
    object. Objects alive when the run starts are set aside (``gc.freeze``) and collections
    come a hundred times less often: cycles are still collected, just later.
    """
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(before[0], 70_000), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def rejected_row(entity: str, item: Rejected) -> OutcomeRow:
    """The skipped outcome of a source item the connector could not read."""
    return OutcomeRow(
        entity=entity,
        source_key=item.key,
        outcome=Outcome.SKIPPED,
        reason=item.code,
        message=item.message + (f" (at {item.pointer})" if item.pointer else ""),
    )


def skipped_row(entity: str, key: str, code: str, message: str) -> OutcomeRow:
    """The skipped outcome of a record that cannot go to the target, with its reason."""
    return OutcomeRow(
        entity=entity, source_key=key, outcome=Outcome.SKIPPED, reason=code, message=message
    )


def describe_error(error: BaseException | None) -> str | None:
    """A run's error in one line for its report (``None`` when it has none)."""
    if error is None:
        return None
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"
