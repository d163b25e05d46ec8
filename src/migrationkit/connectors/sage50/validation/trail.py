"""The audit trail: each header checked as it streams past, and what the end needs kept.

:class:`Trail` takes one element of ``transactions`` at a time.  The fast lane (``fastlane``)
accepts a typical valid header with little work; anything else is read by ``headers`` and
judged by the checks of ``transactions``, which report exactly what is wrong.  Either way the
header is recorded the same way for the end-of-file checks (``closing``): its packed facts, its
postings, its journal group, its allocations.  Nothing here needs more than the one header and
these running totals, so the trail can be checked in one pass over a stream.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from typing import Any

from .context import Context, ContextBuilder, SplitRef, make_split_ref
from .fastlane import FastLane
from .headers import CACHE_LIMIT, HeaderReader, Tx
from .indexes import Allocations, HeaderIndex, clamp
from .masters import Master
from .opening import duplicate_header
from .posting import (
    DELETED,
    JOURNAL,
    SETTLES_NOTHING,
    TARGET,
    UNKNOWN_TYPE,
    UNSETTLED,
    TxType,
    pack,
)
from .report import Report, kind_of
from .rules import SCHEMA_VIOLATION
from .transactions import CHECKS, check_dates, to_base
from .values import NO_DATE, PENCE_CAP

__all__ = ["Trail"]


class Trail:
    """Checks transactions one by one and keeps what the end-of-file checks need.

    Each header first goes to the fast lane: a side-effect-free acceptance test for a typical
    valid header.  Anything it does not accept goes to the full path, the reference
    implementation, which reports exactly what is wrong.  Both record their results the same
    way.
    """

    fast_lane = True  # tests switch it off to prove that both paths agree

    def __init__(
        self, master: Master, report: Report, headers: HeaderIndex, allocations: Allocations
    ) -> None:
        self.m = master
        self.report = report
        self.headers = headers
        self.allocations = allocations
        self._contexts: dict[tuple[Any, ...], Context] = {}
        self._split_refs: dict[tuple[Any, ...], SplitRef] = {}
        self.reader = HeaderReader(report, self.split_ref)
        self.currencies: dict[str | None, int] = {}
        self.after = master.as_of if master.history_mode == "full_history" else None
        self.facts = array("Q")  # per transaction index: see posting.pack
        # five numbers per non-deleted SI/SP/PI/PR: index, header number, cap, outstanding, paid
        self.targets = array("q")
        self.postings: defaultdict[str, int] = defaultdict(int)  # net debit per nominal
        self.debits = 0
        self.credits = 0
        self.groups: dict[int, list[int]] = {}
        self.party_sums = {"S": [0] * len(master.parties["S"]), "P": [0] * len(master.parties["P"])}
        self.ledger_base = {"S": 0, "P": 0}
        self.foreign_items = {"S": 0, "P": 0}
        self._lane = FastLane(self)

    def check(self, tx: Any, i: int) -> None:
        """Check one element of ``transactions`` and remember what the final checks need."""
        if type(tx) is dict and self.fast_lane:
            try:
                if self._lane.accept(tx, i):
                    return
            except (TypeError, KeyError):  # e.g. an unhashable code, a split without "net"
                pass
        self._full(tx, i)

    # -- cached derivations (both paths) ------------------------------------------------------

    def context(
        self, tx_type: TxType, ref: str | None, bank: str | None, currency: str | None
    ) -> Context:
        """The cached :class:`Context` of one combination of header values."""
        key = (tx_type.code, ref, bank, currency)
        found = self._contexts.get(key)
        if found is None:
            currency_id = self.currencies.get(currency)
            if currency_id is None:
                currency_id = min(len(self.currencies), 255)
                if currency_id < 255:
                    self.currencies[currency] = currency_id
            cached = len(self._contexts) < CACHE_LIMIT
            found = ContextBuilder(self.m, tx_type, ref, bank, currency).build(currency_id, cached)
            if cached:
                self._contexts[key] = found
        return found

    def split_ref(self, nominal: str | None, department: int | None, code: str | None) -> SplitRef:
        """The cached :class:`SplitRef` of one nominal, department and tax code."""
        key = (nominal, department, code)
        found = self._split_refs.get(key)
        if found is None:
            found = make_split_ref(self.m, nominal, department, code)
            if len(self._split_refs) < CACHE_LIMIT:
                self._split_refs[key] = found
        return found

    # -- the full path ------------------------------------------------------------------------

    def _full(self, tx: Any, i: int) -> None:
        if type(tx) is not dict:
            self.report.add(
                SCHEMA_VIOLATION,
                "not_an_object",
                f"/transactions/{i}",
                n=i,
                what="transactions",
                found=kind_of(tx),
            )
            self.facts.append(pack(UNKNOWN_TYPE | UNSETTLED, 255, NO_DATE, -1))
            return
        t = self.reader.read(tx, i)
        if t.hn is not None:
            earlier = self.headers.add(t.hn, i)
            if earlier is not None:
                duplicate_header(self.report, t.hn, t.pointer + "/header_number", earlier, self.m)
        if t.tx_type is None:
            check_dates(self, t)
            self.facts.append(pack(UNKNOWN_TYPE | UNSETTLED, 255, NO_DATE, -1))
            return
        ctx = self.context(t.tx_type, t.ref, t.bank, t.currency)
        for rule, key, situation, details, words in ctx.problems:
            pointer = f"{t.pointer}/{key}" if key else t.pointer
            self.report.add(rule, situation, pointer, t.hn, details, where=t.where, **words)
        t.account = ctx.account
        for check in CHECKS:
            check(self, t)
        self._record(t, ctx)

    def _record(self, t: Tx, ctx: Context) -> None:
        """What the final checks need from a header the full path read, unreadable parts aside."""
        tx_type = ctx.tx_type
        cap = t.cap
        settled = cap is not None and t.out is not None and t.paid is not None
        kind = tx_type.number | (DELETED if t.deleted else 0) | (0 if settled else UNSETTLED)
        date = t.date if t.date is not None else NO_DATE
        self.facts.append(ctx.fact - tx_type.number + kind | date << 16)
        if t.deleted:
            if tx_type.shape == JOURNAL and t.group is not None:
                self.join_group(t.group, t.i, t.hn, t.date, 0)
            return
        if tx_type.role == TARGET and settled:
            assert cap is not None
            assert t.out is not None
            assert t.paid is not None
            self.targets.extend((t.i, min(t.hn or 0, PENCE_CAP), clamp(cap), clamp(t.out), t.paid))
        lines = [(row[0], row[2]) for row in t.splits if row[2] is not None]
        net = sum(amount for _nominal, amount in lines)
        vat = sum(row[4] for row in t.splits if row[4] is not None)
        sign = tx_type.split_sign
        if sign:
            for nominal, amount in lines:
                if nominal is not None:
                    self.postings[nominal] += sign * amount
            if tx_type.shape == JOURNAL and t.group is not None:
                self.join_group(t.group, t.i, t.hn, t.date, sign * net)
        totals = ctx.totals
        totals[0] += t.gross or 0
        totals[1] += t.out or 0
        totals[2] += net
        totals[3] += vat
        if ctx.foreign and t.out and t.rate and tx_type.role != SETTLES_NOTHING:
            self.foreign_outstanding(tx_type, t.out, t.rate)
        if not ctx.cached:
            self._fold_one(ctx)

    # -- recording (both paths) -----------------------------------------------------------------

    def join_group(self, group: int, i: int, hn: int | None, date: int | None, signed: int) -> None:
        """Add one journal line to its group's running totals."""
        # [debits, credits, date, first index, first header number, has its own number,
        #  dates differ]
        entry = self.groups.get(group)
        if entry is None:
            self.groups[group] = [
                max(signed, 0),
                max(-signed, 0),
                date or 0,
                i,
                hn or 0,
                int(hn == group),
                0,
            ]
            return
        if signed > 0:
            entry[0] += signed
        else:
            entry[1] -= signed
        if (date or 0) != entry[2]:
            entry[6] = 1
        if hn == group:
            entry[5] = 1

    def foreign_outstanding(self, tx_type: TxType, out: int, rate: int) -> None:
        """The control-account warning converts each foreign item at its own rate, so these
        cannot be summed first."""
        ledger = tx_type.ledger
        if ledger is None:
            return
        signed = out if tx_type.role == TARGET else -out
        self.ledger_base[ledger] += to_base(signed, rate)
        self.foreign_items[ledger] += 1

    def fold(self) -> None:
        """Turn the per-context totals into postings, trail totals and ledger totals."""
        for ctx in self._contexts.values():
            self._fold_one(ctx)

    def _fold_one(self, ctx: Context) -> None:
        gross, out, lines, vat = ctx.totals
        if not (gross or out or lines or vat):
            return
        ctx.totals[:] = [0, 0, 0, 0]
        tx_type, postings = ctx.tx_type, self.postings
        for code, sign in ctx.legs:
            if code is not None:
                postings[code] += sign * gross
            if sign > 0:
                self.debits += gross
            else:
                self.credits += gross
        if tx_type.split_sign:
            if vat and ctx.vat_code is not None:
                postings[ctx.vat_code] += tx_type.split_sign * vat
            if tx_type.split_sign > 0:
                self.debits += lines + vat
            else:
                self.credits += lines + vat
        ledger = tx_type.ledger
        if ledger is not None and tx_type.role != SETTLES_NOTHING:
            signed = out if tx_type.role == TARGET else -out
            if ctx.account >= 0:
                self.party_sums[ledger][ctx.account] += signed
            if not ctx.foreign:
                self.ledger_base[ledger] += signed
