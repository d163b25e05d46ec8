"""Opening balances: the trial balance at the opening date and the open items behind it.

The trial balance must balance and its debtors and creditors control lines must equal the open
items (``docs/formats/sage50-json.md`` §9).  Each open item is checked like a small header: its
account, currency, dates and amounts; its header number joins the trail's, and the allocations
it makes are kept with the trail's for the end-of-file checks (``closing``).
"""

from __future__ import annotations

from typing import Any

from .indexes import Allocations, HeaderIndex
from .masters import Master, MasterChecks, OpenItem
from .posting import SOURCE, TARGET, TYPES
from .report import Report, day, label, money
from .rules import (
    ALLOCATION_INVALID,
    CURRENCY,
    DUE_DATE,
    DUPLICATE_HEADER_NUMBER,
    HISTORY_MODE,
    OPENING_LEDGER_MISMATCH,
    OPENING_TB_UNBALANCED,
    OUTSTANDING_MISMATCH,
    OVER_ALLOCATION,
    SCHEMA_VIOLATION,
    TYPE_RULE,
    UNKNOWN_ACCOUNT_REF,
)
from .values import (
    ALLOCATION,
    GBP,
    NO_DATE,
    ONE_RATE,
    OPEN_ITEM,
    OPENING,
    TB_LINE,
    check_shape,
    objects,
    rate_text,
)

__all__ = ["OpeningBalances", "bad_amount", "duplicate_header"]


class OpeningBalances(MasterChecks):
    """Checks ``opening_balances`` and adds the trial balance and open items to the master."""

    def __init__(
        self,
        values: dict[str, Any],
        report: Report,
        master: Master,
        headers: HeaderIndex,
        allocations: Allocations,
    ) -> None:
        super().__init__(values, report, master)
        self.headers = headers
        self.allocations = allocations

    def load(self) -> None:
        """Check the section: its date, the trial balance, the open items, the control lines."""
        opening = self.values.get("opening_balances")
        if not isinstance(opening, dict):
            return
        good = check_shape(
            opening, OPENING, "/opening_balances", "The opening balances", self.report
        )
        as_of = good.get("as_of")
        if as_of is not None:
            self.date_range(as_of, "/opening_balances/as_of", "The opening balance date")
            self.m.as_of = as_of
        self._trial_balance(opening.get("trial_balance"))
        for ledger, key in (("S", "customer_open_items"), ("P", "supplier_open_items")):
            pointer = f"/opening_balances/{key}"
            for _n, obj, ptr in objects(opening.get(key), pointer, key, self.report):
                self._open_item(obj, ptr, ledger)
        self._opening_ledgers()

    # -- the trial balance --------------------------------------------------------------------

    def _trial_balance(self, lines: Any) -> None:
        debits = credits = 0
        pointer = "/opening_balances/trial_balance"
        for _n, obj, ptr in objects(lines, pointer, "trial_balance", self.report):
            code = obj.get("nominal_code")
            good = check_shape(
                obj, TB_LINE, ptr, label("Trial balance line", code, ptr), self.report
            )
            debit, credit = good.get("debit", 0), good.get("credit", 0)
            debits, credits = debits + debit, credits + credit
            if debit and credit:
                self.report.add(
                    SCHEMA_VIOLATION,
                    "both_sides",
                    ptr,
                    None,
                    {"debit": money(debit), "credit": money(credit)},
                    code=code,
                )
            code = good.get("nominal_code")
            if code is None:
                continue
            if code in self.m.trial_balance:
                self.duplicate(
                    f"Trial balance nominal {code}", ptr + "/nominal_code", self.m.tb_pointers[code]
                )
                continue
            self.nominal_ref(code, ptr + "/nominal_code", "The trial balance")
            self.m.trial_balance[code] = debit - credit
            self.m.tb_pointers[code] = ptr
        if debits != credits:
            self.report.add(
                OPENING_TB_UNBALANCED,
                "",
                pointer,
                None,
                {
                    "debits": money(debits),
                    "credits": money(credits),
                    "difference": money(debits - credits),
                },
            )

    def _opening_ledgers(self) -> None:
        """The control-account lines of the trial balance equal the open items behind them."""
        sums = {"S": 0, "P": 0}
        for item in self.m.open_items:
            if item.tx_type is not None and item.ledger is not None and item.base is not None:
                sums[item.ledger] += item.base if item.tx_type.role == TARGET else -item.base
        for ledger, role, sign, noun in (
            ("S", "debtors_control", 1, "customer"),
            ("P", "creditors_control", -1, "supplier"),
        ):
            code = self.m.roles.get(role)
            if code is None:
                continue
            line = sign * self.m.trial_balance.get(code, 0)
            if line != sums[ledger]:
                self.report.add(
                    OPENING_LEDGER_MISMATCH,
                    "",
                    self.m.tb_pointers.get(code, "/opening_balances/trial_balance"),
                    None,
                    {
                        "nominal_code": code,
                        "trial_balance": money(line),
                        "open_items": money(sums[ledger]),
                    },
                    side="debit" if sign > 0 else "credit",
                    role=role,
                    noun=noun,
                )

    # -- open items ---------------------------------------------------------------------------

    def _open_item(self, obj: dict[str, Any], ptr: str, ledger: str) -> None:
        hn = obj.get("header_number")
        hn = hn if type(hn) is int and hn >= 1 else None
        where = f"Open item {hn}" if hn is not None else "An open item"
        good = check_shape(obj, OPEN_ITEM, ptr, where, self.report, hn)
        item = OpenItem(hn, ptr)
        self.m.open_items.append(item)
        item.ledger = ledger
        if hn is not None:
            earlier = self.headers.add(hn, -len(self.m.open_items))
            if earlier is not None:
                duplicate_header(self.report, hn, ptr + "/header_number", earlier, self.m)
        tx_type = TYPES.get(good.get("type", ""))
        if tx_type is not None:
            if tx_type.ledger != ledger:
                self.report.add(
                    SCHEMA_VIOLATION,
                    "open_item_ledger",
                    ptr + "/type",
                    hn,
                    where=where,
                    type_name=tx_type.name.lower(),
                    listed="customer" if ledger == "S" else "supplier",
                )
            else:
                item.tx_type = tx_type
        self._open_item_account(item, good, ptr, where)
        self._open_item_dates(item, good, ptr, where)
        self._open_item_amounts(item, good, ptr, where)
        self._open_item_allocations(item, obj.get("allocations"), ptr, where)

    def _open_item_account(
        self, item: OpenItem, good: dict[str, Any], ptr: str, where: str
    ) -> None:
        ref, currency, rate = (
            good.get("account_ref"),
            good.get("currency"),
            good.get("exchange_rate"),
        )
        ledger = item.ledger or "S"
        party = self.m.parties[ledger].get(ref) if ref is not None else None
        if party is not None:
            item.account = party.slot
            if currency is not None and party.currency is not None and currency != party.currency:
                self.report.add(
                    CURRENCY,
                    "open_item_account",
                    ptr + "/currency",
                    item.header_number,
                    {"currency": currency, "account_currency": party.currency},
                    where=where,
                    account_ref=ref,
                )
        elif ref is not None and self.m.parties_known[ledger]:
            self.report.add(
                UNKNOWN_ACCOUNT_REF,
                "open_item",
                ptr + "/account_ref",
                item.header_number,
                {"account_ref": ref},
                where=where,
                listed="customer" if ledger == "S" else "supplier",
            )
        item.currency = currency
        item.rate = rate
        if currency == GBP and rate is not None and rate != ONE_RATE:
            self.report.add(
                CURRENCY,
                "gbp_rate",
                ptr + "/exchange_rate",
                item.header_number,
                {"exchange_rate": rate_text(rate)},
                where=where,
            )

    def _open_item_dates(self, item: OpenItem, good: dict[str, Any], ptr: str, where: str) -> None:
        date, due = good.get("date"), good.get("due_date")
        if date is not None:
            item.date = date
            self.date_range(date, ptr + "/date", where, item.header_number)
            if self.m.as_of is not None and date > self.m.as_of:
                self.report.add(
                    HISTORY_MODE,
                    "open_item_late",
                    ptr + "/date",
                    item.header_number,
                    {"date": day(date), "as_of": day(self.m.as_of)},
                    where=where,
                )
        if due is not None:
            self.date_range(due, ptr + "/due_date", where, item.header_number)
            if date is not None and due < date:
                self.report.add(
                    DUE_DATE,
                    "",
                    ptr + "/due_date",
                    item.header_number,
                    {"date": day(date), "due_date": day(due)},
                    where=where,
                )

    def _open_item_amounts(
        self, item: OpenItem, good: dict[str, Any], ptr: str, where: str
    ) -> None:
        gross, outstanding = good.get("gross"), good.get("outstanding")
        item.base = good.get("base_outstanding")
        if gross is None or outstanding is None:
            item.settled = False
            return
        item.cap = outstanding
        if not 0 < outstanding <= gross:
            item.settled = False
            self.report.add(
                OUTSTANDING_MISMATCH,
                "open_item",
                ptr + "/outstanding",
                item.header_number,
                {"gross": money(gross), "outstanding": money(outstanding)},
                where=where,
            )

    def _open_item_allocations(
        self, item: OpenItem, allocations: Any, ptr: str, where: str
    ) -> None:
        if not isinstance(allocations, list) or not allocations:
            return
        if item.tx_type is not None and item.tx_type.role != SOURCE:
            self.report.add(
                TYPE_RULE,
                "open_item_allocations",
                ptr + "/allocations",
                item.header_number,
                where=where,
                type_name=item.tx_type.name.lower(),
            )
            return
        source = -len(self.m.open_items)  # open item j is stored as -(j + 1)
        for n, obj, aptr in objects(allocations, ptr + "/allocations", "allocations", self.report):
            good = check_shape(
                obj, ALLOCATION, aptr, f"{where}, allocation {n}", self.report, item.header_number
            )
            target, amount, date = good.get("header_number"), good.get("amount"), good.get("date")
            if date is not None:
                self.date_range(
                    date, aptr + "/date", f"{where}, allocation {n}", item.header_number
                )
            if amount is None:
                continue
            item.allocated_from += amount
            if amount <= 0:
                bad_amount(self.report, where, n, amount, aptr, item.header_number)
            elif target is not None:
                self.allocations.add(
                    source, item.header_number or 0, n, target, amount, date or NO_DATE
                )
        if item.settled and item.cap is not None and item.allocated_from > item.cap:
            item.settled = False
            self.report.add(
                OVER_ALLOCATION,
                "open_item_source",
                ptr + "/allocations",
                item.header_number,
                {"allocated": money(item.allocated_from), "outstanding": money(item.cap)},
                where=where,
            )


def bad_amount(
    report: Report, where: str, n: int, amount: int, pointer: str, hn: int | None
) -> None:
    """ALLOCATION_INVALID: allocation ``n`` of ``where`` is not more than 0.00."""
    report.add(
        ALLOCATION_INVALID,
        "amount",
        pointer + "/amount",
        hn,
        {"amount": money(amount)},
        where=where,
        n=n,
    )


def duplicate_header(report: Report, hn: int, pointer: str, earlier: int, master: Master) -> None:
    """DUPLICATE_HEADER_NUMBER: ``hn`` was first used at slot ``earlier`` (see HeaderIndex)."""
    first = f"/transactions/{earlier}" if earlier >= 0 else master.open_items[-earlier - 1].pointer
    report.add(DUPLICATE_HEADER_NUMBER, "", pointer, hn, {"first": first}, hn=hn)
