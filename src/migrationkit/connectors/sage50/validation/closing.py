"""Period closing: the checks that need the whole file.

Once the trail has streamed past, :class:`Closing` resolves every allocation against its target
(a transaction or an open item), settles what each item still has outstanding, and checks the
balances: journals, the trail as a whole, each nominal account, each customer and supplier, and
the control accounts against their ledgers (``docs/formats/sage50-json.md`` §10 and §11.7 to
§11.9).  It works from the trail's packed columns and running totals, not from the file.
"""

from __future__ import annotations

from array import array
from typing import NamedTuple

from .masters import Master
from .posting import (
    DELETED,
    LEDGER_NAMES,
    PAID_NAMES,
    SETTLES,
    TARGET,
    TYPE_BY_INDEX,
    TYPE_MASK,
    TxType,
    expected_paid,
    unpack,
)
from .report import Report, day, money
from .rules import (
    ACCOUNT_BALANCE_MISMATCH,
    ALLOCATION_DATE,
    ALLOCATION_INVALID,
    JOURNAL_UNBALANCED,
    LEDGER_CONTROL_MISMATCH,
    NOMINAL_BALANCE_MISMATCH,
    OUTSTANDING_MISMATCH,
    OVER_ALLOCATION,
    TRAIL_UNBALANCED,
    TYPE_RULE,
)
from .trail import Trail
from .transactions import to_base
from .values import GBP

__all__ = ["Closing"]


class _Item(NamedTuple):
    """What an allocation needs to know about one of its two ends."""

    where: str
    ledger: str | None
    tx_type: TxType | None
    account: int
    currency: str | None
    date: int
    deleted: bool


class Closing:
    """The checks that need the whole file: allocations, balances, journals."""

    def __init__(self, master: Master, trail: Trail, report: Report) -> None:
        self.m = master
        self.trail = trail
        self.report = report
        self.currency_names = {n: name for name, n in trail.currencies.items()}
        self.allocated_to = array("q", bytes(8 * len(trail.facts)))

    def run(self) -> None:
        """Run every end-of-file check in dependency order."""
        self.trail.fold()
        for step in (
            self._resolve_allocations,
            self._settled_targets,
            self._settled_open_items,
            self._journals,
            self._trail_balance,
            self._nominal_balances,
            self._account_balances,
            self._control_accounts,
        ):
            step()

    # -- allocations --------------------------------------------------------------------------

    def _item(self, slot: int, hn: int) -> _Item:
        if slot >= 0:
            kind, currency_id, date, account = unpack(self.trail.facts[slot])
            tx_type = TYPE_BY_INDEX.get(kind & TYPE_MASK)
            name = tx_type.name.lower() if tx_type is not None else "transaction"
            return _Item(
                f"{name} {hn}",
                tx_type.ledger if tx_type is not None else None,
                tx_type,
                account,
                self.currency_names.get(currency_id),
                date,
                bool(kind & DELETED),
            )
        item = self.m.open_items[-slot - 1]
        name = item.tx_type.name.lower() if item.tx_type is not None else "item"
        return _Item(
            f"opening {name} {hn}",
            item.ledger,
            item.tx_type,
            item.account,
            item.currency,
            item.date,
            False,
        )

    def _resolve_allocations(self) -> None:
        """The target of every allocation, its date, and the totals allocated to targets."""
        headers, facts = self.trail.headers, self.trail.facts
        allocated_to = self.allocated_to
        for row in self.trail.allocations:
            source_slot, _hn, _position, target_hn, amount, date = row
            target_slot = headers.get(target_hn)
            if source_slot >= 0 and target_slot is not None and target_slot >= 0:
                # Both ends in the trail: compare the packed facts, the common case.
                source_fact, target_fact = facts[source_slot], facts[target_slot]
                if (
                    SETTLES[(source_fact & TYPE_MASK) << 6 | target_fact & (TYPE_MASK | DELETED)]
                    and source_fact >> 38 == target_fact >> 38
                    and source_fact >> 8 & 0xFF == target_fact >> 8 & 0xFF
                    and source_fact >> 38
                ):
                    allocated_to[target_slot] += amount
                    if date < (source_fact >> 16 & 0x3FFFFF) or date < (
                        target_fact >> 16 & 0x3FFFFF
                    ):
                        self._allocation(row, target_slot, counted=True)
                    continue
            self._allocation(row, target_slot, counted=False)

    def _allocation(self, row: tuple[int, ...], target_slot: int | None, *, counted: bool) -> None:
        """The full check of one allocation, for the ones the quick comparison did not settle."""
        source_slot, source_hn, position, target_hn, amount, date = row
        source = self._item(source_slot, source_hn)
        target = self._item(target_slot, target_hn) if target_slot is not None else None
        pointer = self._allocation_pointer(source_slot, position)
        hn = source_hn or None
        reason = _allocation_problem(source, target, target_hn)
        if reason is not None:
            self.report.add(
                ALLOCATION_INVALID,
                "",
                pointer + "/header_number",
                hn,
                {"target": target_hn, "amount": money(amount)},
                source=source.where,
                reason=reason,
            )
            return
        assert target is not None
        assert target_slot is not None
        if target_slot < 0:
            self.m.open_items[-target_slot - 1].allocated_to += amount
        elif not counted:
            self.allocated_to[target_slot] += amount
        late = [end for end in (source, target) if date and end.date and date < end.date]
        if late:
            self.report.add(
                ALLOCATION_DATE,
                "",
                pointer + "/date",
                hn,
                {"date": day(date), "item_date": day(late[0].date)},
                source=source.where,
                amount=money(amount),
                target=target.where,
                late=late[0].where,
            )

    def _allocation_pointer(self, source_slot: int, position: int) -> str:
        if source_slot >= 0:
            return f"/transactions/{source_slot}/allocations/{position}"
        return f"{self.m.open_items[-source_slot - 1].pointer}/allocations/{position}"

    def _settled_targets(self) -> None:
        """Allocations to, and what is outstanding on, every live SI, SP, PI and PR."""
        allocated_to = self.allocated_to
        rows = iter(self.trail.targets)
        for i, hn, cap, out, paid in zip(rows, rows, rows, rows, rows, strict=True):
            got = allocated_to[i]
            if got > cap or out != cap - got or paid not in expected_paid(out, cap):
                self._target_problems(i, hn, cap, out, paid, got)

    def _target_problems(self, i: int, hn: int, cap: int, out: int, paid: int, got: int) -> None:
        tx_type = TYPE_BY_INDEX[unpack(self.trail.facts[i])[0] & TYPE_MASK]
        where, pointer = f"{tx_type.name} {hn}", f"/transactions/{i}"
        if got > cap:
            self.report.add(
                OVER_ALLOCATION,
                "target",
                pointer,
                hn,
                {"allocated": money(got), "cap": money(cap)},
                where=where,
            )
            return
        if out != cap - got:
            self.report.add(
                OUTSTANDING_MISMATCH,
                "target",
                pointer + "/outstanding",
                hn,
                {"expected": money(cap - got), "outstanding": money(out)},
                where=where,
                cap=money(cap),
                allocated=money(got),
            )
        allowed = expected_paid(out, cap)
        if paid not in allowed:
            self.report.add(
                OUTSTANDING_MISMATCH,
                "paid_status",
                pointer + "/paid_status",
                hn,
                {"expected": PAID_NAMES[allowed[0]]},
                where=where,
                paid_status=PAID_NAMES[paid],
                outstanding=money(out),
                cap=money(cap),
            )

    def _settled_open_items(self) -> None:
        """Allocations to open items, then what they still have outstanding, for the balances."""
        for item in self.m.open_items:
            if item.tx_type is None or item.cap is None or item.ledger is None:
                continue
            if item.allocated_to > item.cap:
                self.report.add(
                    OVER_ALLOCATION,
                    "open_item_target",
                    item.pointer,
                    item.header_number,
                    {"allocated": money(item.allocated_to), "cap": money(item.cap)},
                    hn=item.header_number,
                )
                continue
            if not item.settled:
                continue
            current = item.cap - item.allocated_from - item.allocated_to
            signed = current if item.tx_type.role == TARGET else -current
            if item.account >= 0:
                self.trail.party_sums[item.ledger][item.account] += signed
            if item.currency not in (GBP, None) and current:
                if item.rate:
                    self.trail.ledger_base[item.ledger] += to_base(signed, item.rate)
                    self.trail.foreign_items[item.ledger] += 1
            else:
                self.trail.ledger_base[item.ledger] += signed

    # -- journals and balances ------------------------------------------------------------------

    def _journals(self) -> None:
        """Each journal balances, is named by one of its lines and keeps to one date."""
        groups = self.trail.groups.items()
        for number, (debits, credits, _date, first, first_hn, has_self, mixed) in groups:
            pointer = f"/transactions/{first}"
            if not has_self:
                self.report.add(
                    TYPE_RULE,
                    "group_number",
                    pointer + "/journal_group",
                    first_hn or None,
                    {"journal_group": number},
                    first=first_hn or "?",
                )
                number = first_hn or number  # name the journal by a header it really has
            if mixed:
                self.report.add(
                    TYPE_RULE, "group_dates", pointer + "/date", number, {"journal_group": number}
                )
            if debits != credits:
                self.report.add(
                    JOURNAL_UNBALANCED,
                    "",
                    pointer,
                    number,
                    {"journal_group": number, "debits": money(debits), "credits": money(credits)},
                )

    def _trail_balance(self) -> None:
        """Debits posted equal credits posted, over the whole trail."""
        debits, credits = self.trail.debits, self.trail.credits
        if debits != credits:
            self.report.add(
                TRAIL_UNBALANCED,
                "",
                "/transactions",
                None,
                {
                    "debits": money(debits),
                    "credits": money(credits),
                    "difference": money(debits - credits),
                },
            )

    def _closing_balance(self, code: str) -> int:
        return self.m.trial_balance.get(code, 0) + self.trail.postings.get(code, 0)

    def _nominal_balances(self) -> None:
        """Each stated nominal balance is the opening balance plus the postings."""
        for account in self.m.chart.values():
            if account.balance is None:
                continue
            expected = self._closing_balance(account.code)
            if expected != account.balance:
                self.report.add(
                    NOMINAL_BALANCE_MISMATCH,
                    "",
                    account.pointer + "/balance",
                    None,
                    {
                        "nominal_code": account.code,
                        "stated": money(account.balance),
                        "expected": money(expected),
                    },
                )

    def _account_balances(self) -> None:
        """Each stated customer or supplier balance is what its items have outstanding."""
        for ledger, noun in (("S", "Customer"), ("P", "Supplier")):
            sums = self.trail.party_sums[ledger]
            for party in self.m.parties[ledger].values():
                if party.balance is None or sums[party.slot] == party.balance:
                    continue
                self.report.add(
                    ACCOUNT_BALANCE_MISMATCH,
                    "",
                    party.pointer + "/balance",
                    None,
                    {
                        "account_ref": party.ref,
                        "stated": money(party.balance),
                        "expected": money(sums[party.slot]),
                    },
                    noun=noun,
                    currency=f" {party.currency}" if party.currency else "",
                )

    def _control_accounts(self) -> None:
        """Each control account against the GBP value of its ledger's outstanding items."""
        for ledger, role, sign, noun in (
            ("S", "debtors_control", 1, "customers owe"),
            ("P", "creditors_control", -1, "the company owes its suppliers"),
        ):
            code = self.m.roles.get(role)
            if code is None:
                continue
            closing = sign * self._closing_balance(code)
            items = self.trail.ledger_base[ledger]
            allowed = self.trail.foreign_items[ledger]  # 0.01 per foreign-currency item
            if abs(closing - items) > allowed:
                account = self.m.chart[code]
                self.report.add(
                    LEDGER_CONTROL_MISMATCH,
                    "",
                    account.pointer,
                    None,
                    {
                        "nominal_code": code,
                        "control_balance": money(closing),
                        "open_items": money(items),
                        "allowed_difference": money(allowed),
                    },
                    role=role,
                    noun=noun,
                    difference=money(closing - items),
                )


def _allocation_problem(source: _Item, target: _Item | None, target_hn: int) -> str | None:
    """Why an allocation may not settle ``target``, or None when it may."""
    if target is None:
        return f"there is no transaction or open item {target_hn}"
    if target.deleted:
        return f"{target.where} is deleted"
    if target.ledger != source.ledger:
        return (
            f"{target.where} is not in the {LEDGER_NAMES.get(source.ledger or '', 'same ledger')}"
        )
    if target.tx_type is None or target.tx_type.role != TARGET:
        return f"{target.where} is not an item that allocations settle (only SI/SP or PI/PR are)"
    if target.account != source.account and target.account >= 0 and source.account >= 0:
        # An account that is not on file was reported where it is named; not again here.
        return f"{target.where} belongs to another account"
    if target.currency != source.currency:
        return f"{target.where} is in {target.currency}, not {source.currency}"
    return None
