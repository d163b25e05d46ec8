"""The shared work of everything that posts: write, find again, delete or reverse, finalise.

A record becomes one :class:`~.mapping.Transaction`, written provisional (``destiny=
"temporary"``) in ``<transactions>`` documents of at most 25; each element's ``result`` and
messages map back to its record, so one refused transaction never hides the others. Every
transaction carries the write's stamp (``mk:`` and 16 hex digits of the idempotency key) in
its first line's ``freetext1``: a write whose answer was lost is looked up by it (documents
by their invoice number) before anything is sent again.

Taking one back follows Twinfield's rule: a provisional transaction is deleted with a reason;
a final one cannot be, and is reversed by a counter-entry (every line on the other side, on
the same date, its first line naming the original in ``freetext2``).
"""

from __future__ import annotations

import abc
import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
from lxml import etree

from migrationkit.core.capabilities import Removal
from migrationkit.core.contract import (
    LoadRequest,
    LoadResult,
    References,
    RemovalRequest,
    RemovalResult,
)
from migrationkit.core.errors import MappingError, RemoteAPIError
from migrationkit.core.model import Record
from migrationkit.handlers import BatchHandler, Prepared, may_have_landed
from migrationkit.handlers.base import LOOKUPS

from .client import MAX_CHILDREN, MAX_LINES, TwinfieldRefused
from .mapping import (
    BROWSE_FIELDS,
    REVERSAL_PREFIX,
    STAMP_PREFIX,
    Transaction,
    delete_xml,
    read_transaction,
    stamp,
    transaction_xml,
    transactions_from_browse,
)
from .masters import Context, TwinfieldHandler, refusal
from .readback import Readback
from .xml import messages, succeeded, to_text

__all__ = ["Held", "TransactionHandler", "finalise"]

log = logging.getLogger("migrationkit.twinfield")


@attrs.frozen
class Held:
    """A record the office holds without a transaction of its own (a control balance)."""

    result: LoadResult


class TransactionHandler(BatchHandler[Context], TwinfieldHandler):
    """A record that posts: one transaction in one day book."""

    @abc.abstractmethod
    def transaction(self, request: LoadRequest, refs: References) -> Transaction:
        """The record as a Twinfield transaction (raise MappingError if it cannot be one)."""

    def held(self, request: LoadRequest, refs: References) -> Held | None:
        """A record that is not written as a transaction of its own, or ``None``."""
        return None

    def stamped(self, request: LoadRequest, refs: References) -> Transaction:
        txn = self.transaction(request, refs)
        if len(txn.lines) > MAX_LINES:
            raise MappingError(
                f"it makes {len(txn.lines)} Twinfield lines; a transaction takes at most "
                f"{MAX_LINES}"
            )
        first = attrs.evolve(txn.lines[0], freetext1=stamp(request.idempotency_key))
        return attrs.evolve(txn, lines=(first, *txn.lines[1:]))

    def payload(self, request: LoadRequest, refs: References) -> Any:
        return self.held(request, refs) or self.stamped(request, refs)

    def send(self, ready: Sequence[Prepared], refs: References) -> list[LoadResult]:
        results: dict[int, LoadResult] = {}
        writes = []
        for item in ready:
            if isinstance(item.payload, Held):
                results[item.index] = item.payload.result
            else:
                writes.append(item)
        if writes:
            results.update(self._write(writes, refs, 0))
        return [results[item.index] for item in ready]

    def _write(
        self, items: Sequence[Prepared], refs: References, attempt: int
    ) -> dict[int, LoadResult]:
        office = self.office.code
        elements = [transaction_xml(office, item.payload) for item in items]
        try:
            answers = self.client.process_many("transactions", elements)
        except RemoteAPIError as exc:
            if not may_have_landed(exc) or attempt >= LOOKUPS:
                raise
            return self._recover(items, refs, attempt)
        results = {}
        for item, answer in zip(items, answers, strict=True):
            if succeeded(answer):
                results[item.index] = LoadResult(ok=True, target_id=read_transaction(answer).id)
            else:
                results[item.index] = refusal(answer, "the transaction")
        return results

    def _recover(
        self, items: Sequence[Prepared], refs: References, attempt: int
    ) -> dict[int, LoadResult]:
        """Twinfield may hold some of them although its answer was lost: look before resending."""
        self.backoff(attempt)
        results: dict[int, LoadResult] = {}
        again = []
        note = "Twinfield's answer was lost after it saved the transaction; found, not sent twice"
        for item in items:
            found = self.find(item.request, refs)
            if found is None:
                again.append(item)
            else:
                results[item.index] = LoadResult(ok=True, target_id=found, warnings=(note,))
        if again:
            results.update(self._write(again, refs, attempt + 1))
        return results

    # -- finding -----------------------------------------------------------------------------------

    def find(self, request: LoadRequest, refs: References) -> str | None:
        """The transaction carrying this write's stamp, in its day book and period."""
        if self.held(request, refs) is not None:
            return None
        txn = self.transaction(request, refs)
        mark = stamp(request.idempotency_key)
        columns = [
            ("fin.trs.head.code", "equal", txn.daybook, None),
            ("fin.trs.head.yearperiod", "equal", txn.period, None),
            ("fin.trs.line.freetext1", "equal", mark, None),
            ("fin.trs.head.number", None, None, None),
        ]
        for found in transactions_from_browse(self.client.browse("000", columns)):
            return found.id
        return None

    # -- taking back -------------------------------------------------------------------------------

    def remove_many(self, requests: Sequence[RemovalRequest]) -> list[RemovalResult]:
        results: dict[int, RemovalResult] = {}
        deletes = []
        for n, request in enumerate(requests):
            daybook, _, number = request.target_id.partition(":")
            if not number or daybook == "control":
                results[n] = RemovalResult(removed=True, action=Removal.DELETE)
            elif Removal.DELETE in request.actions:
                deletes.append((n, request, daybook, number))
            else:
                results[n] = self._reverse(request)
        reason = self.ctx.options.delete_reason
        for start in range(0, len(deletes), MAX_CHILDREN):
            chunk = deletes[start : start + MAX_CHILDREN]
            elements = [delete_xml(self.office.code, d, num, reason) for _, _, d, num in chunk]
            answers = self.client.process_many("transactions", elements)
            for (n, request, _d, _num), answer in zip(chunk, answers, strict=True):
                results[n] = self._deleted(request, answer)
        return [results[n] for n in range(len(requests))]

    def _deleted(self, request: RemovalRequest, answer: etree._Element) -> RemovalResult:
        if succeeded(answer):
            return RemovalResult(removed=True, action=Removal.DELETE)
        words = "; ".join(m.describe() for m in messages(answer))
        if "does not exist" in words:
            # An earlier, interrupted rollback got this far: nothing remains.
            return RemovalResult(removed=True, action=Removal.DELETE)
        if "final" in words and Removal.VOID in request.actions:
            return self._reverse(request)
        return RemovalResult(
            removed=False,
            reason="TWINFIELD_REFUSED",
            message=f"Twinfield would not delete it: {words}",
            response=to_text(answer),
        )

    def _reverse(self, request: RemovalRequest) -> RemovalResult:
        """A final transaction stays; a counter-entry takes its effect back."""
        daybook, _, number = request.target_id.partition(":")
        if self._reversal_of(request.target_id):
            return RemovalResult(removed=True, action=Removal.VOID)
        element = self.client.read("transaction", daybook, number=number)
        if element is None:
            return RemovalResult(removed=True, action=Removal.VOID)
        original = read_transaction(element)
        counter = original.reversed(original.date, original.period)
        counter = attrs.evolve(
            counter, lines=tuple(attrs.evolve(x, freetext1=None) for x in counter.lines)
        )
        (answer,) = self.client.process_many(
            "transactions", [transaction_xml(self.office.code, counter)]
        )
        if not succeeded(answer):
            words = "; ".join(m.describe() for m in messages(answer))
            return RemovalResult(
                removed=False,
                reason="TWINFIELD_REFUSED",
                message=f"it is final and Twinfield refused the counter-entry: {words}",
                response=to_text(answer),
            )
        return RemovalResult(
            removed=True,
            action=Removal.VOID,
            message=f"final in Twinfield: reversed by counter-entry {read_transaction(answer).id}",
        )

    def _reversal_of(self, target_id: str) -> bool:
        columns = [
            ("fin.trs.line.freetext2", "equal", REVERSAL_PREFIX + target_id, None),
            ("fin.trs.head.number", None, None, None),
        ]
        return bool(transactions_from_browse(self.client.browse("000", columns)))

    # -- reading -----------------------------------------------------------------------------------

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        return Readback(self.ctx).records(self.entity)


def finalise(ctx: Context) -> int:
    """Make every provisional transaction migrationkit wrote final; how many were.

    The provisional transactions are read in one browse (their lines, as written) and sent
    again with their numbers and ``destiny="final"``, 25 to a document: one query and a write
    per 25 transactions, not a read per transaction.
    """
    columns = [
        ("fin.trs.head.status", "equal", "temporary", None),
        *((field, None, None, None) for field in BROWSE_FIELDS if field != "fin.trs.head.status"),
    ]
    found = transactions_from_browse(ctx.client.browse("000", columns))
    ours = [t for t in found if any((x.freetext1 or "").startswith(STAMP_PREFIX) for x in t.lines)]
    office = ctx.office.code
    elements = [transaction_xml(office, attrs.evolve(t, destiny="final")) for t in ours]
    refused = []
    for answer in ctx.client.process_many("transactions", elements) if elements else []:
        if not succeeded(answer):
            refused.append("; ".join(m.describe() for m in messages(answer)))
    if refused:
        raise TwinfieldRefused(
            f"Twinfield would not finalise {len(refused)} transaction(s): {refused[0]}"
        )
    log.info("Twinfield: %d provisional transaction(s) finalised", len(elements))
    return len(elements)
