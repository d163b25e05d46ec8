"""Manual journals: general journal entries (type 90) in the general journal.

Exact has no ``PUT`` for general journal entries: a changed journal is deleted and entered again
(the entity table says ``Update.REPLACE``, and the kit does it). Lines carry no VAT code: in a
journal that allows VAT, Exact would split the amount and post VAT lines of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import attrs

from migrationkit.core.contract import (
    LoadRequest,
    LoadResult,
    Problem,
    References,
    RemovalRequest,
    RemovalResult,
)
from migrationkit.core.model import ControlRole, LedgerAccount, ManualJournal, Record

from . import mapping
from .base import text
from .documents import GENERAL, EntryReader

__all__ = ["JOURNAL_HANDLERS"]


class ManualJournalHandler(EntryReader):
    entity = "manual_journals"

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, ManualJournal)
        problems = []
        total = sum((line.amount for line in record.lines), Decimal(0))
        if total:
            problems.append(
                Problem(code="JOURNAL_UNBALANCED", message=f"its lines add up to {total}, not 0")
            )
        if not record.lines:
            problems.append(Problem(code="NO_LINES", message="an Exact entry needs a line"))
        roles = {self._role(refs, line.account) for line in record.lines}
        if ControlRole.EXCHANGE_VARIANCE in roles and roles & {
            ControlRole.RECEIVABLES,
            ControlRole.PAYABLES,
        }:
            problems.append(
                Problem(
                    code="EXCHANGE_DIFFERENCE_JOURNAL",
                    message="an exchange difference posted to debtors or creditors: Exact books "
                    "realised exchange differences itself when it matches a foreign payment to "
                    "its invoice, so moving it would count it twice",
                )
            )
        return problems

    @staticmethod
    def _role(refs: References, account: str) -> ControlRole | None:
        found = refs.record("ledger_accounts", account)
        return found.control_role if isinstance(found, LedgerAccount) else None

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, ManualJournal)
        journal = self.division.journal("general_journal")
        lines = mapping.journal_lines(
            record, self.resolver(refs), mapping.stamp(request.idempotency_key)
        )
        body = {"JournalCode": journal, "Type": 90, GENERAL.lines: lines}
        warnings: tuple[str, ...] = ()
        if any(line.tax_rate for line in record.lines):
            warnings = ("journal lines keep no VAT code in Exact",)
        _reply, result = self.post(GENERAL.path, mapping.Written(body, warnings), key="EntryID")
        if result.ok and result.target_id:
            return attrs.evolve(result, target_id=mapping.entry_key("general", result.target_id))
        return result

    def find(self, request: LoadRequest, refs: References) -> str | None:
        record = request.record
        assert isinstance(record, ManualJournal)
        found = self.stamped_entry(GENERAL, record.date, mapping.stamp(request.idempotency_key))
        return mapping.entry_key("general", found) if found else None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        return self.remove_entry(request.target_id)

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        opening = self.ctx.options.opening_journal
        for row in self.entries(GENERAL, since):
            if text(row.get("JournalCode")) == opening or row.get("Type") == 10:
                continue
            yield mapping.read_journal(row, row[GENERAL.lines])

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return iter(())


JOURNAL_HANDLERS = (ManualJournalHandler,)
