"""The fast lane: a side-effect-free acceptance test for a typical valid header.

Most headers of a real file are fine, and proving it with the full checks (``headers`` reads
every value, ``transactions`` judges them) would cost more than the parse.  :class:`FastLane`
accepts a header with a few dict lookups instead: validated values, account combinations and
amounts are cached, and every rule the full checks apply is applied here too, inline (no
finding is ever made here).  Anything it does not accept goes to the full checks, which report
exactly what is wrong; until it accepts, it changes no state, so the full checks see the header
from scratch.  The tests run every case through both paths and compare the findings.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from typing import Any, Protocol

from migrationkit.core.money import MoneyFormatError, pence, round_div

from .context import Context
from .headers import CACHE_LIMIT, HeaderReader
from .indexes import Allocations, HeaderIndex
from .masters import Master
from .posting import (
    BANK_ENTRY,
    DELETED,
    JOURNAL,
    LEDGER_PAYMENT,
    LINES,
    PAID,
    SETTLES_NOTHING,
    SOURCE,
    TARGET,
    TYPES,
    TxType,
    expected_paid,
)
from .values import (
    ABSENT,
    ANY_REF,
    CURRENCY_CODE,
    DATE,
    MISSING,
    NOMINAL,
    ONE_RATE,
    PENCE_CAP,
    TRANSACTION,
)

__all__ = ["FastLane", "TrailParts"]


class TrailParts(Protocol):
    """What the fast lane reads and records into (``trail.Trail`` has it)."""

    m: Master
    headers: HeaderIndex
    allocations: Allocations
    facts: array[int]
    targets: array[int]
    postings: defaultdict[str, int]
    after: int | None
    reader: HeaderReader

    def context(
        self, tx_type: TxType, ref: str | None, bank: str | None, currency: str | None
    ) -> Context:
        """The cached context of one combination of header values."""

    def join_group(self, group: int, i: int, hn: int | None, date: int | None, signed: int) -> None:
        """Add one journal line to its group's running totals."""

    def foreign_outstanding(self, tx_type: TxType, out: int, rate: int) -> None:
        """Add a foreign item's outstanding, at its own rate, to its ledger's GBP total."""


_ALLOC_LAYOUT = ("header_number", "amount", "date")
# The fast lane takes amounts below 10**15 pounds, so pence always fit the 64-bit arrays;
# anything larger goes to the full path, which clamps.
_FAST_LIMIT = 10**17
_REQUIRED_COUNT = len(TRANSACTION.required)
_AMOUNT_CACHE_LIMIT = 300_000


class FastLane:
    """Accepts and records typical valid headers; refuses the rest without a trace."""

    def __init__(self, trail: TrailParts) -> None:
        master = trail.m
        self.m = master
        self.context = trail.context
        self.headers = trail.headers
        self.allocations = trail.allocations
        self.facts = trail.facts
        self.targets = trail.targets
        self.postings = trail.postings
        self._join_group = trail.join_group
        self._foreign_outstanding = trail.foreign_outstanding
        self._after = trail.after
        # Exchange rates the full path has read and found valid.
        self._rates = trail.reader.ok["rate"]
        # Amount text already proven to be in the fast lane's format, with its pence: amounts
        # repeat a lot (a third of them are "0.00"), so a hit skips a regex and a parse.
        self._pence: dict[str, int] = {}
        self._window_dates: dict[str, int] = {}  # valid dates within the date window
        self._trail_dates: dict[str, int] = {}  # ... and, in full history, after as_of
        self._fast_contexts: dict[tuple[Any, ...], Context | None] = {}
        # The VAT rate the fast lane applies per tax code: 0 where the split's tax must be 0.00
        # (a 0% code, or an EC-purchase or reverse-charge one); codes without a rate are absent.
        self._vat_rates = {
            code: 0 if tax.no_vat else tax.rate_bp
            for code, tax in master.tax_codes.items()
            if tax.rate_bp is not None
        }

    def _fast_context(self, key: tuple[Any, ...]) -> Context | None:
        """The context of raw header values, or None when the fast lane must not take them."""
        kind, ref, bank, currency = key
        tx_type = TYPES.get(kind) if type(kind) is str else None
        found: Context | None = None
        if not (
            tx_type is None
            or ANY_REF.problem(ref)
            or (bank is not None and NOMINAL.problem(bank))
            or CURRENCY_CODE.problem(currency)
        ):
            assert tx_type is not None
            found = self.context(tx_type, ref, bank, currency)
            if (
                found.problems
                or not found.cached
                or (tx_type.shape == JOURNAL and not found.ref_in_chart)
            ):
                found = None
        if len(self._fast_contexts) < CACHE_LIMIT:
            self._fast_contexts[key] = found
        return found

    def accept(self, tx: dict[str, Any], i: int) -> bool:
        """Accept a typical valid header with little work; False means "look closer".

        Returns before changing any state when anything is unusual, so that the full path can
        check the same header from scratch.  Lookups go to dicts whose keys are validated
        strings, so a value of any other type simply misses (or raises TypeError when it is
        unhashable, which the trail turns into the full path too).  The rules are those of
        ``transactions``, in the same terms, so a header it accepts has no finding to report.
        """
        # The five optional keys of TRANSACTION.  Every required key is read with [] below
        # (KeyError: full path), so the key count then proves there is no unknown key.
        get = tx.get
        optional = (
            get("user_name", MISSING),
            get("bank_reconciled_on", MISSING),
            get("foreign_net", MISSING),
            get("foreign_tax", MISSING),
            get("foreign_gross", MISSING),
        )
        if len(tx) != _REQUIRED_COUNT + 5 - optional.count(MISSING):
            return False
        user, reconciled, fnet, ftax, fgross = optional
        key = (tx["type"], tx["account_ref"], tx["bank_code"], tx["currency"])
        ctx = self._fast_contexts.get(key, MISSING)
        if ctx is MISSING:
            ctx = self._fast_context(key)
        if ctx is None:
            return False
        rate = self._rates.get(tx["exchange_rate"])
        if rate is None or (rate != ONE_RATE and not ctx.foreign):
            return False
        hn, group, deleted = tx["header_number"], tx["journal_group"], tx["deleted"]
        if type(hn) is not int or not 0 < hn < PENCE_CAP or type(deleted) is not bool:
            return False
        tx_type = ctx.tx_type
        if tx_type.shape == JOURNAL:
            if type(group) is not int or group < 1:
                return False
        elif group is not None:
            return False
        date = self._trail_dates.get(tx["date"]) or self._learn_date(tx["date"], trail=True)
        if not date:
            return False
        value = tx["due_date"]
        if value is not None:
            due = self._window_dates.get(value) or self._learn_date(value)
            if not due or due < date:
                return False
        if (
            reconciled is not None
            and reconciled is not MISSING
            and not (self._window_dates.get(reconciled) or self._learn_date(reconciled))
        ):
            return False
        value = tx["reference"]
        if type(value) is not str or len(value) > 30:
            return False
        value = tx["extra_reference"]
        if type(value) is not str or len(value) > 30:
            return False
        value = tx["details"]
        if type(value) is not str or len(value) > 60:
            return False
        if user is not MISSING and (type(user) is not str or len(user) > 32):
            return False
        cached = self._pence.get
        net, tax = cached(tx["net"]), cached(tx["tax"])
        gross, out = cached(tx["gross"]), cached(tx["outstanding"])
        if net is None or tax is None or gross is None or out is None:
            amounts = self._learn_pence(tx["net"], tx["tax"], tx["gross"], tx["outstanding"])
            if amounts is None:
                return False
            net, tax, gross, out = amounts
        paid = PAID.get(tx["paid_status"])
        if paid is None or gross != net + tax or gross < 0 or out < 0:
            return False
        if ctx.foreign:
            foreign_net, foreign_tax, cap = cached(fnet), cached(ftax), cached(fgross)
            if foreign_net is None or foreign_tax is None or cap is None:
                amounts = self._learn_pence(fnet, ftax, fgross)
                if amounts is None:
                    return False
                foreign_net, foreign_tax, cap = amounts
            if cap != foreign_net + foreign_tax or cap < 0:
                return False
            foreign = (foreign_net, foreign_tax)
        else:
            # absent or null
            if fnet not in ABSENT or ftax not in ABSENT or fgross not in ABSENT:
                return False
            foreign = None
            cap = gross
        lines = self._fast_splits(tx["splits"], ctx, rate)
        if lines is None or lines[0] != net or lines[1] != tax:
            return False
        if foreign is not None and (lines[2] != foreign[0] or lines[3] != foreign[1]):
            return False
        allocations = tx["allocations"]
        if type(allocations) is not list:
            return False
        role = tx_type.role
        if deleted:
            if out or allocations:
                return False
        elif role == SOURCE:
            allocations = self._fast_allocations(allocations, cap, out, paid)
            if allocations is None:
                return False
        elif allocations or (role == SETTLES_NOTHING and (out or paid != 2)):
            return False
        if not self.headers.add_new(hn, i):
            return False  # a repeated header number: the full path reports it
        # Everything holds: record the header.
        if deleted:
            self.facts.append(ctx.fact | DELETED | date << 16)
            if tx_type.shape == JOURNAL:
                self._join_group(group, i, hn, date, 0)
            return True
        self.facts.append(ctx.fact | date << 16)
        totals = ctx.totals
        totals[0] += gross
        totals[1] += out
        totals[2] += net
        totals[3] += tax
        sign = tx_type.split_sign
        if sign:
            postings = self.postings
            for nominal, amount in lines[4]:
                postings[nominal] += sign * amount
            if tx_type.shape == JOURNAL:
                self._join_group(group, i, hn, date, sign * net)
        if role == TARGET:
            self.targets.extend((i, hn, cap, out, paid))
        elif allocations:
            add = self.allocations.rows.extend
            for n, (target, amount, when) in enumerate(allocations):
                add((i, hn, n, target, amount, when))
        if ctx.foreign and out and role != SETTLES_NOTHING:
            self._foreign_outstanding(tx_type, out, rate)
        return True

    def _learn_date(self, value: Any, *, trail: bool = False) -> int:
        """Admit a valid date to the fast lane's dicts; 0 when it is invalid or out of bounds.

        ``trail``: a transaction date, which must also come after ``as_of`` in full history.
        """
        if type(value) is not str or DATE.problem(value):
            return 0
        date: int = DATE.parse(value)
        if not self.m.low <= date <= self.m.high:
            return 0
        if len(self._window_dates) < CACHE_LIMIT:
            self._window_dates[value] = date
        if self._after is not None and date <= self._after:
            return 0 if trail else date
        if len(self._trail_dates) < CACHE_LIMIT:
            self._trail_dates[value] = date
        return date

    def _learn_pence(self, *values: Any) -> tuple[int, ...] | None:
        """Pence of valid amounts, remembering them; None if any is not one (or is huge)."""
        known = self._pence
        found = []
        for value in values:
            amount = known.get(value)
            if amount is None:
                if type(value) is not str:
                    return None
                try:
                    amount = pence(value)
                except MoneyFormatError:
                    return None
                if not -_FAST_LIMIT < amount < _FAST_LIMIT:
                    return None
                if len(known) < _AMOUNT_CACHE_LIMIT:
                    known[value] = amount
            found.append(amount)
        return tuple(found)

    def _fast_splits(self, splits: Any, ctx: Context, rate: int) -> tuple[Any, ...] | None:
        """(Σ net, Σ tax, Σ foreign net, Σ foreign tax, [(nominal, net)]) or None."""
        if type(splits) is not list or not splits:
            return None
        shape = ctx.tx_type.shape
        if shape == JOURNAL and len(splits) != 1:
            return None
        chart, departments, vat_rates = self.m.chart, self.m.departments, self._vat_rates
        cached = self._pence.get
        foreign = ctx.foreign
        taxed = shape in (LINES, BANK_ENTRY)
        own_nominal = ctx.bank if shape == LEDGER_PAYMENT else ctx.ref
        sum_net = sum_tax = sum_fnet = sum_ftax = 0
        lines = []
        for split in splits:
            # All seven required keys are read below (a missing one raises KeyError, which
            # ``check`` hands to the full path), so a count of 7, or 9 with both foreign keys,
            # proves there is no unknown key.
            size = len(split)
            fnet: Any
            ftax: Any
            if size == 7:
                fnet = ftax = None
            elif size == 9:
                fnet, ftax = split["foreign_net"], split["foreign_tax"]
            else:
                return None
            number, details = split["split_number"], split["details"]
            if (
                type(number) is not int
                or number < 1
                or type(details) is not str
                or len(details) > 60
            ):
                return None
            # Small, hot tables: the chart, the departments, the tax codes.
            nominal, department = split["nominal_code"], split["department"]
            vat = vat_rates.get(split["tax_code"])
            if (
                vat is None
                or nominal not in chart
                or type(department) is not int
                or department not in departments
            ):
                return None
            net, tax = cached(split["net"]), cached(split["tax"])
            if net is None or tax is None:
                amounts = self._learn_pence(split["net"], split["tax"])
                if amounts is None:
                    return None
                net, tax = amounts
            if foreign:
                foreign_net, foreign_tax = cached(fnet), cached(ftax)
                if foreign_net is None or foreign_tax is None:
                    amounts = self._learn_pence(fnet, ftax)
                    if amounts is None:
                        return None
                    foreign_net, foreign_tax = amounts
                fnet, ftax = foreign_net, foreign_tax
                # CURRENCY: the GBP amounts are the foreign ones at the header's rate (to_base)
                if (
                    abs(net - round_div(fnet * ONE_RATE, rate)) > 1
                    or abs(tax - round_div(ftax * ONE_RATE, rate)) > 1
                ):
                    return None
                sum_fnet += fnet
                sum_ftax += ftax
                base_net, base_tax = fnet, ftax
            else:
                if fnet is not None or ftax is not None:
                    return None
                base_net, base_tax = net, tax
            if taxed:
                if not vat:  # a 0% code, or EC purchase / reverse charge: no VAT
                    if tax or base_tax:
                        return None
                elif abs(base_tax - round_div(base_net * vat, 10_000)) > 1:  # tax_due
                    return None
            elif nominal != own_nominal or tax or net <= 0:
                return None
            sum_net += net
            sum_tax += tax
            lines.append((nominal, net))
        return sum_net, sum_tax, sum_fnet, sum_ftax, lines

    def _fast_allocations(
        self, allocations: list[Any], cap: int, out: int, paid: int
    ) -> list[tuple[int, int, int]] | None:
        """A source's allocations as (target, amount, date), or None when any needs a look."""
        dates, amounts = self._window_dates, self._pence
        rows = []
        total = 0
        for alloc in allocations:
            if type(alloc) is not dict or tuple(alloc) != _ALLOC_LAYOUT:
                return None
            target, amount, value = alloc["header_number"], alloc["amount"], alloc["date"]
            if type(target) is not int or not 0 < target < PENCE_CAP:
                return None
            amount = amounts.get(amount)
            if amount is None:
                learnt = self._learn_pence(alloc["amount"])
                if learnt is None:
                    return None
                amount = learnt[0]
            date = dates.get(value) or self._learn_date(value)
            if amount <= 0 or not date:
                return None
            total += amount
            rows.append((target, amount, date))
        if total > cap or out != cap - total or paid not in expected_paid(out, cap):
            return None
        return rows
