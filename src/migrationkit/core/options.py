"""How a migration runs: its options, its history modes, and who hears of its progress."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

import attrs

from .model import ENTITY_ORDER

if TYPE_CHECKING:
    from .report import Counts

__all__ = [
    "HISTORY_MODES",
    "LOAD_MODES",
    "MASTER_ENTITIES",
    "OPENING_ENTITIES",
    "MigrationOptions",
    "RunObserver",
    "SilentObserver",
]

MASTER_ENTITIES = (
    "company",
    "tax_rates",
    "ledger_accounts",
    "tracking_categories",
    "bank_accounts",
    "contacts",
    "items",
)
OPENING_ENTITIES = ("opening_balances", "open_items")
HISTORY_MODES: dict[str, tuple[str, ...]] = {
    "records_only": MASTER_ENTITIES,
    "opening_balances": MASTER_ENTITIES + OPENING_ENTITIES,
    "full_history": ENTITY_ORDER,
}
LOAD_MODES = ("demo", "full", "delta", "remigrate")


@attrs.frozen(kw_only=True)
class MigrationOptions:
    """How a migration runs; the same settings a ``--config`` file holds.

    ``mappings`` matches source records to records that already exist on the target
    (``{"tax_rates": {"T1": "GB_STANDARD"}}``): they are not created, and references to them
    resolve to the given target id. ``cutoff`` leaves out transactions dated after it;
    ``history_mode`` chooses how much moves (``records_only``, ``opening_balances`` or
    ``full_history``). With ``reconcile`` every successful run ends with a reconciliation of
    source against target, kept in its report.
    """

    sample: int = 20
    seed: int = 0
    history_mode: str = attrs.field(default="full_history")
    cutoff: dt.date | None = None
    preserve_ids: bool = True
    validate: bool = True
    mappings: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict)
    entities: tuple[str, ...] | None = None
    batch_size: int | None = None
    report_dir: str | None = None
    reconcile: bool = False

    @history_mode.validator
    def _check_history(self, _attribute: object, value: str) -> None:
        if value not in HISTORY_MODES:
            raise ValueError(
                f"history_mode must be one of {', '.join(HISTORY_MODES)}, not {value!r}"
            )


class RunObserver(Protocol):
    """Receives progress while a run works (the command line draws progress bars from it)."""

    def entity_started(self, entity: str, phase: str) -> None: ...
    def advanced(self, entity: str, count: int) -> None: ...
    def entity_finished(self, entity: str, counts: Counts) -> None: ...
    def note(self, message: str) -> None: ...


class SilentObserver:
    """An observer that ignores everything (the library's default)."""

    def entity_started(self, entity: str, phase: str) -> None:
        pass

    def advanced(self, entity: str, count: int) -> None:
        pass

    def entity_finished(self, entity: str, counts: Counts) -> None:
        pass

    def note(self, message: str) -> None:
        pass
