"""Rewriting the keys a record carries: its own and those of the records it refers to.

Used where one system's keys must become another's: a target that stores references as they are
(the CSV target writes the ids its references resolved to, so an account mapped onto an existing
one shows up as that one), and reconcile, which reads the target back and turns the target's ids
into the source's keys before comparing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from .model import (
    Allocation,
    BankAccount,
    BankTransaction,
    BankTransfer,
    Contact,
    CreditNote,
    DocumentLine,
    Invoice,
    Item,
    JournalLine,
    LedgerAccount,
    ManualJournal,
    OpeningBalance,
    OpenItem,
    Payment,
    Record,
    Refund,
    TrackingAssignment,
)

__all__ = ["Translate", "remap"]

Translate = Callable[[str, str], str]
"""``translate(entity, key)`` returns the key to use instead (or the same key)."""

# Plain reference fields per record class: field name -> entity it names.
_FIELDS: dict[type, dict[str, str]] = {
    LedgerAccount: {"tax_rate": "tax_rates"},
    BankAccount: {"account": "ledger_accounts"},
    Contact: {
        "sales_account": "ledger_accounts",
        "purchase_account": "ledger_accounts",
        "tax_rate": "tax_rates",
    },
    Item: {
        "sales_account": "ledger_accounts",
        "purchase_account": "ledger_accounts",
        "tax_rate": "tax_rates",
        "supplier": "contacts",
    },
    OpeningBalance: {"account": "ledger_accounts"},
    Invoice: {"contact": "contacts"},
    CreditNote: {"contact": "contacts"},
    Payment: {"contact": "contacts", "bank_account": "bank_accounts"},
    Refund: {"contact": "contacts", "bank_account": "bank_accounts"},
    OpenItem: {"contact": "contacts"},
    BankTransaction: {"bank_account": "bank_accounts", "contact": "contacts"},
    BankTransfer: {"from_bank_account": "bank_accounts", "to_bank_account": "bank_accounts"},
}


def _tracking(
    choices: tuple[TrackingAssignment, ...], translate: Translate
) -> tuple[TrackingAssignment, ...]:
    return tuple(
        attrs.evolve(c, category=translate("tracking_categories", c.category)) for c in choices
    )


def _line(line: DocumentLine, translate: Translate) -> DocumentLine:
    return attrs.evolve(
        line,
        account=translate("ledger_accounts", line.account),
        tax_rate=translate("tax_rates", line.tax_rate) if line.tax_rate else None,
        item=translate("items", line.item) if line.item else None,
        tracking=_tracking(line.tracking, translate),
    )


def _journal_line(line: JournalLine, translate: Translate) -> JournalLine:
    return attrs.evolve(
        line,
        account=translate("ledger_accounts", line.account),
        tax_rate=translate("tax_rates", line.tax_rate) if line.tax_rate else None,
        tracking=_tracking(line.tracking, translate),
    )


def _allocation(allocation: Allocation, translate: Translate) -> Allocation:
    return attrs.evolve(
        allocation, document=translate(allocation.document_entity, allocation.document)
    )


def remap(record: Record, translate: Translate, *, own_key: bool = False) -> Record:
    """A copy of ``record`` with every reference (and, if ``own_key``, its key) translated."""
    changes: dict[str, Any] = {}
    for name, entity in _FIELDS.get(type(record), {}).items():
        value = getattr(record, name)
        if value:
            changes[name] = translate(entity, value)
    lines = getattr(record, "lines", None)
    if lines:
        if isinstance(record, ManualJournal):
            changes["lines"] = tuple(_journal_line(line, translate) for line in record.lines)
        else:
            changes["lines"] = tuple(_line(line, translate) for line in lines)
    allocations = getattr(record, "allocations", None)
    if allocations:
        changes["allocations"] = tuple(_allocation(a, translate) for a in allocations)
    if own_key:
        changes["key"] = translate(record.entity, record.key)
    return attrs.evolve(record, **changes) if changes else record
