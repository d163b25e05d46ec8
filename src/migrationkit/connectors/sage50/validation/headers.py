"""Reading one audit-trail header for the full checks: each value parsed, or reported.

:class:`HeaderReader` turns a header into a :class:`Tx`, its values parsed (amounts in pence,
dates as day ordinals) and ``None`` wherever a value breaks the schema, which it reports.  The
checks in ``transactions`` then judge the :class:`Tx` without looking at the JSON again.  Valid
values are remembered, so a file's few thousand dates, codes and rates are parsed once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from migrationkit.core.money import pence

from .context import SplitRef
from .posting import JOURNAL, PAID, TYPES, TxType
from .report import Report, escape, kind_of
from .rules import SCHEMA_VIOLATION
from .values import ALLOCATION, GBP, MISSING, MONEY2, SPLIT, TRANSACTION, Shape

__all__ = ["CACHE_LIMIT", "AllocRow", "HeaderReader", "SplitRow", "Tx"]

CACHE_LIMIT = 100_000
"""How many values, combinations or amounts one cache keeps; past it, values are judged anew."""

SplitRow = tuple[Any, Any, Any, Any, Any, Any, Any, SplitRef]
"""A split as read: (nominal, department, net, tax_code, tax, foreign_net, foreign_tax, ref)."""
AllocRow = tuple[Any, Any, Any]
"""An allocation as read: (target header number, amount, date ordinal), None where unreadable."""


class Tx:
    """One audit-trail header as the full checks see it: parsed values, None where unreadable."""

    __slots__ = (
        "account",
        "allocations",
        "bank",
        "currency",
        "date",
        "deleted",
        "due",
        "fgross",
        "fnet",
        "foreign",
        "ftax",
        "gross",
        "group",
        "hn",
        "i",
        "net",
        "out",
        "paid",
        "rate",
        "ref",
        "splits",
        "tax",
        "tx_type",
    )

    def __init__(self, i: int) -> None:
        self.i = i
        self.hn: int | None = None
        self.tx_type: TxType | None = None
        self.account = -1
        self.ref: str | None = None
        self.bank: str | None = None
        self.group: int | None = None
        self.date: int | None = None
        self.due: int | None = None
        self.currency: str | None = None
        self.foreign = False
        self.rate: int | None = None
        self.net: int | None = None
        self.tax: int | None = None
        self.gross: int | None = None
        self.out: int | None = None
        self.fnet: int | None = None
        self.ftax: int | None = None
        self.fgross: int | None = None
        self.paid: int | None = None
        self.deleted = False
        self.splits: list[SplitRow] = []
        self.allocations: list[AllocRow] = []

    @property
    def pointer(self) -> str:
        """Where the header is in the file."""
        return f"/transactions/{self.i}"

    @property
    def where(self) -> str:
        """How messages name the header: "Sales invoice 12"."""
        name = self.tx_type.name if self.tx_type is not None else "Transaction"
        return f"{name} {self.hn}" if self.hn is not None else f"{name} at {self.pointer}"

    @property
    def cap(self) -> int | None:
        """What allocations may settle: foreign gross on a foreign header, else gross."""
        return self.fgross if self.foreign else self.gross


class HeaderReader:
    """Parses headers for the full checks, reporting every value that breaks the schema."""

    def __init__(
        self, report: Report, split_ref: Callable[[str | None, int | None, str | None], SplitRef]
    ) -> None:
        self.report = report
        self.split_ref = split_ref
        # Values already proven valid: files use a few thousand dates, codes and rates, so a
        # dict hit replaces a regex and a parse.
        self.ok: dict[str, dict[str, Any]] = {
            key: {} for key in ("date", "nominal", "tax_code", "ref", "currency", "rate")
        }
        self._good_layouts: set[tuple[str, ...]] = set()
        self._good_split_layouts: set[tuple[str, ...]] = set()

    def _slow(
        self, t: Tx, key: str, value: Any, shape: Shape = TRANSACTION, pointer: str | None = None
    ) -> Any:
        """Judge a value the quick test did not accept: report it, or parse it after all."""
        if value is MISSING:
            return None  # the layout check reported the missing key
        kind = shape.fields[key]
        problem = kind.problem(value)
        if problem is None:
            return kind.parse(value)
        tx_type, text = problem
        base = pointer if pointer is not None else t.pointer
        self.report.add(
            tx_type,
            "value",
            f"{base}/{key}",
            t.hn,
            {"key": key, "found": kind_of(value)},
            where=t.where,
            problem=text,
        )
        return kind.salvage(value)

    def _cached(
        self,
        t: Tx,
        key: str,
        value: Any,
        cache: str,
        shape: Shape = TRANSACTION,
        pointer: str | None = None,
    ) -> Any:
        store = self.ok[cache]
        if type(value) is str and value in store:
            return store[value]
        parsed = self._slow(t, key, value, shape, pointer)
        if parsed is not None and type(value) is str and len(store) < CACHE_LIMIT:
            store[value] = parsed
        return parsed

    def _money(
        self, t: Tx, key: str, value: Any, shape: Shape = TRANSACTION, pointer: str | None = None
    ) -> int | None:
        if type(value) is str and MONEY2(value):
            return pence(value)
        return self._slow(t, key, value, shape, pointer)  # type: ignore[no-any-return]

    def _layout(
        self,
        obj: dict[str, Any],
        shape: Shape,
        pointer: str,
        t: Tx,
        good: set[tuple[str, ...]] | None,
    ) -> None:
        """Report missing and unknown keys, remembering key layouts that are fine."""
        layout = tuple(obj)
        if good is not None and layout in good:
            return
        missing = shape.required.difference(layout)
        unknown = [key for key in layout if key not in shape.fields]
        for key in sorted(missing):
            self.report.add(
                SCHEMA_VIOLATION, "missing", pointer, t.hn, {"missing_key": key}, where=t.where
            )
        for key in unknown:
            self.report.add(
                SCHEMA_VIOLATION,
                "unknown_key",
                f"{pointer}/{escape(key)}",
                t.hn,
                {"unknown_key": key},
                where=t.where,
            )
        if good is not None and not missing and not unknown and len(good) < 1000:
            good.add(layout)

    def read(self, tx: dict[str, Any], i: int) -> Tx:
        """Parse one header; each value that breaks the schema is reported and read as None."""
        t = Tx(i)
        get = tx.get
        value = get("header_number", MISSING)
        t.hn = value if type(value) is int and value >= 1 else self._slow(t, "header_number", value)
        value = get("type", MISSING)
        t.tx_type = TYPES.get(value) if type(value) is str else None
        if t.tx_type is None:
            self._slow(t, "type", value)
        self._layout(tx, TRANSACTION, t.pointer, t, self._good_layouts)
        t.ref = self._cached(t, "account_ref", get("account_ref", MISSING), "ref")
        value = get("bank_code", MISSING)
        t.bank = None if value is None else self._cached(t, "bank_code", value, "nominal")
        value = get("journal_group", MISSING)
        t.group = (
            value if type(value) is int and value >= 1 else self._slow(t, "journal_group", value)
        )
        t.date = self._cached(t, "date", get("date", MISSING), "date")
        value = get("due_date", MISSING)
        t.due = None if value is None else self._cached(t, "due_date", value, "date")
        value = get("bank_reconciled_on")
        if value is not None:
            self._cached(t, "bank_reconciled_on", value, "date")
        for key in ("reference", "extra_reference", "details"):
            self._slow(t, key, get(key, MISSING))
        self._slow(t, "user_name", get("user_name", MISSING))
        t.currency = self._cached(t, "currency", get("currency", MISSING), "currency")
        t.foreign = t.currency is not None and t.currency != GBP
        t.rate = self._cached(t, "exchange_rate", get("exchange_rate", MISSING), "rate")
        t.net = self._money(t, "net", get("net", MISSING))
        t.tax = self._money(t, "tax", get("tax", MISSING))
        t.gross = self._money(t, "gross", get("gross", MISSING))
        t.out = self._money(t, "outstanding", get("outstanding", MISSING))
        t.fnet, t.ftax, t.fgross = (
            None if get(key) is None else self._money(t, key, get(key))
            for key in ("foreign_net", "foreign_tax", "foreign_gross")
        )
        value = get("paid_status", MISSING)
        t.paid = PAID.get(value) if type(value) is str else None
        if t.paid is None:
            self._slow(t, "paid_status", value)
        value = get("deleted", MISSING)
        if value is not True and value is not False:
            self._slow(t, "deleted", value)
        t.deleted = value is True
        t.splits = self._read_splits(t, get("splits", MISSING))
        t.allocations = self._read_allocations(t, get("allocations", MISSING))
        return t

    def _read_splits(self, t: Tx, splits: Any) -> list[SplitRow]:
        if type(splits) is not list:
            self._slow(t, "splits", splits)
            return []
        if not splits and (t.tx_type is None or t.tx_type.shape != JOURNAL):
            # (a journal line without its split breaks the more specific one-split rule)
            pointer = t.pointer + "/splits"
            self.report.add(SCHEMA_VIOLATION, "no_splits", pointer, t.hn, where=t.where)
        rows: list[SplitRow] = []
        for n, split in enumerate(splits):
            pointer = f"{t.pointer}/splits/{n}"
            if type(split) is not dict:
                self.report.add(
                    SCHEMA_VIOLATION,
                    "part_not_an_object",
                    pointer,
                    t.hn,
                    where=t.where,
                    part="split",
                    n=n,
                    found=kind_of(split),
                )
                continue
            self._layout(split, SPLIT, pointer, t, self._good_split_layouts)
            get = split.get
            value = get("split_number", MISSING)
            if type(value) is not int or value < 1:
                self._slow(t, "split_number", value, SPLIT, pointer)
            nominal = self._cached(
                t, "nominal_code", get("nominal_code", MISSING), "nominal", SPLIT, pointer
            )
            department = get("department", MISSING)
            if type(department) is not int or not 0 <= department <= 999:
                department = self._slow(t, "department", department, SPLIT, pointer)
            self._slow(t, "details", get("details", MISSING), SPLIT, pointer)
            net = self._money(t, "net", get("net", MISSING), SPLIT, pointer)
            tax = self._money(t, "tax", get("tax", MISSING), SPLIT, pointer)
            code = self._cached(t, "tax_code", get("tax_code", MISSING), "tax_code", SPLIT, pointer)
            fnet, ftax = (
                None if get(key) is None else self._money(t, key, get(key), SPLIT, pointer)
                for key in ("foreign_net", "foreign_tax")
            )
            ref = self.split_ref(nominal, department, code)
            rows.append((nominal, department, net, code, tax, fnet, ftax, ref))
        return rows

    def _read_allocations(self, t: Tx, allocations: Any) -> list[AllocRow]:
        if type(allocations) is not list:
            self._slow(t, "allocations", allocations)
            return []
        rows: list[AllocRow] = []
        for n, alloc in enumerate(allocations):
            pointer = f"{t.pointer}/allocations/{n}"
            if type(alloc) is not dict:
                self.report.add(
                    SCHEMA_VIOLATION,
                    "part_not_an_object",
                    pointer,
                    t.hn,
                    where=t.where,
                    part="allocation",
                    n=n,
                    found=kind_of(alloc),
                )
                continue
            self._layout(alloc, ALLOCATION, pointer, t, None)
            get = alloc.get
            target = get("header_number", MISSING)
            if type(target) is not int or target < 1:
                target = self._slow(t, "header_number", target, ALLOCATION, pointer)
            amount = self._money(t, "amount", get("amount", MISSING), ALLOCATION, pointer)
            date = self._cached(t, "date", get("date", MISSING), "date", ALLOCATION, pointer)
            rows.append((target, amount, date))
        return rows
