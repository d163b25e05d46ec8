"""What the generator plans with: parties, products, ledger items and the events of a story."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

from .common import GBP, ZERO, round_penny
from .company import FOREIGN_PRICE

__all__ = [
    "BANK_TYPES",
    "SOURCES",
    "Doc",
    "Dyn",
    "Event",
    "Item",
    "Journal",
    "Line",
    "Party",
    "Product",
    "Split",
    "Story",
]

# Ledger types that settle others (they carry the allocations) and types that go through a bank.
SOURCES = frozenset({"SC", "SD", "SR", "SA", "PC", "PD", "PP", "PA"})
BANK_TYPES = frozenset({"SR", "SA", "SP", "PP", "PA", "PR", "BP", "BR", "CP", "CR", "VP", "VR"})


# --------------------------------------------------------------------------------------------
# Planning objects


@attrs.define(eq=False)
class Party:
    """A customer or supplier, with the running balance of its open items."""

    ledger: str
    ref: str
    name: str
    cur: str
    country: str
    kind: str = "trade"
    nominal: str = "4000"
    tax: str = "T1"
    terms: int = 30
    dept: int = 1
    # Overhead suppliers: (frequency, payment, line templates); trade suppliers: products.
    lines: Any = None
    balance: Decimal = ZERO
    record: dict[str, Any] = attrs.Factory(dict)


@attrs.define(eq=False)
class Product:
    """A stock item or service, with its trade prices in each currency."""

    code: str
    desc: str
    unit: str
    price: Decimal
    tax: str
    category: str
    supplier: Party | None = None
    record: dict[str, Any] = attrs.Factory(dict)
    kind: str = attrs.field(init=False)
    nominal: str = attrs.field(init=False)
    prices: dict[str, Decimal] = attrs.field(init=False)
    buy: dict[str, Decimal] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.kind = "service" if self.category == "service" else "stock"
        self.nominal = "4200" if self.kind == "service" else "4000"
        cost = round_penny(self.price * Decimal("0.52"))
        self.prices = {GBP: self.price} | {
            c: round_penny(self.price * f) for c, f in FOREIGN_PRICE.items()
        }
        self.buy = {GBP: cost} | {c: round_penny(cost * f) for c, f in FOREIGN_PRICE.items()}


@attrs.define(eq=False)
class Item:
    """A ledger document that can settle or be settled: its cap, outstanding and GBP value."""

    type: str
    party: Party
    cur: str
    rate: Decimal
    cap: Decimal  # gross in the item's currency (an open item: its snapshot outstanding)
    gbp: Decimal  # GBP value while nothing is allocated: booked gross or base_outstanding
    ref: str
    date: int
    number: int | None = None
    allocs: list[tuple[Item, Decimal, int]] = attrs.Factory(list)
    meta: dict[str, Any] | None = None
    ledger: str = attrs.field(init=False)
    source: bool = attrs.field(init=False)
    out: Decimal = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.ledger = self.type[0]
        self.source = self.type in SOURCES
        self.out = self.cap

    def carry(self) -> Decimal:
        """GBP value of the current outstanding, as carried in the control account."""
        out = self.out
        if out == self.cap:
            return self.gbp
        if not out:
            return ZERO
        if self.cur == GBP:
            return out
        return round_penny(out / self.rate)

    def contribution(self) -> Decimal:
        """Signed share of the ledger: targets add to it, sources take from it."""
        return -self.carry() if self.source else self.carry()


# A document line before VAT: (nominal, department, details, net in its currency, tax code)
Line = tuple[str, int, str, Decimal, str]
# A split: (nominal, department, details, net, tax code, tax, foreign net, foreign tax)
Split = tuple[str, int, str, Decimal, str, Decimal, Decimal | None, Decimal | None]


@attrs.define(eq=False)
class Doc:
    """One non-journal header waiting for its date."""

    type: str
    account: str
    date: int
    cur: str
    rate: Decimal
    splits: list[Split]
    totals: tuple[Decimal, ...]  # net, tax, gross, foreign net, foreign tax, foreign gross
    bank: str | None = None
    ref: str = ""
    xref: str = ""
    details: str = ""
    due: int | None = None
    item: Item | None = None
    deleted: bool = False


@attrs.define(eq=False)
class Journal:
    """A journal: one JD or JC header per line, sharing a group number and a date."""

    date: int
    ref: str
    details: str
    lines: list[tuple[str, str, Decimal]]  # (JD|JC, nominal, amount > 0)
    tag: str = ""


@attrs.define(eq=False)
class Dyn:
    """An event whose amounts depend on balances at its date (VAT transfer, card repayment)."""

    date: int
    fn: Callable[[int], None]


Event = Doc | Journal | Dyn


@attrs.define(eq=False)
class Story:
    """Events planned together, with the header budget they reserve and an undo log."""

    events: list[tuple[int, int, int, Event]] = attrs.Factory(list)
    headers: int = 0
    touched: list[tuple[Item, Decimal, int]] = attrs.Factory(list)

    def add(self, event: Event, *, phase: int = 0, reserve: int | None = None) -> None:
        if reserve is None:
            reserve = len(event.lines) if isinstance(event, Journal) else 1
        self.events.append((event.date, phase, reserve, event))
        self.headers += reserve
