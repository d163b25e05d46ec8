"""The rules one audit-trail header must keep on its own, checked on its parsed values.

Each check takes the trail (the report, the master data, the allocations kept for the end) and
one header as :class:`~.headers.Tx`, and reports what is wrong with it.  They run in the order
of :data:`CHECKS` for every header the fast lane did not accept, so that a header's findings
come in a fixed order: its shape, its currency, its splits, its totals, its dates, then what it
settles (``docs/formats/sage50-json.md`` §8 and §10).  The fast lane (``fastlane``) accepts a
header only when none of these could find anything, so they are the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from migrationkit.core.money import round_div

from .context import SplitRef
from .headers import Tx
from .indexes import Allocations
from .masters import Master
from .opening import bad_amount
from .posting import JOURNAL, LEDGER_PAYMENT, PAID_NAMES, SETTLES_NOTHING, SOURCE, expected_paid
from .report import Report, day, money
from .rules import (
    ALLOCATION_INVALID,
    CURRENCY,
    DATE_OUT_OF_RANGE,
    DUE_DATE,
    HEADER_TOTALS,
    HISTORY_MODE,
    OUTSTANDING_MISMATCH,
    OVER_ALLOCATION,
    SCHEMA_VIOLATION,
    SPLIT_TOTALS,
    TAX_CALCULATION,
    TYPE_RULE,
    UNKNOWN_NOMINAL,
)
from .values import NO_DATE, NOMINAL_RX, ONE_RATE, rate_text

__all__ = ["CHECKS", "TrailState", "check_dates", "tax_due", "to_base"]


class TrailState(Protocol):
    """What the checks of one header use of the trail (``trail.Trail`` has it)."""

    report: Report
    m: Master
    after: int | None  # in full history, transactions come after this day
    allocations: Allocations


def tax_due(net: int, rate_bp: int) -> int:
    """VAT in pence on ``net`` pence at ``rate_bp`` hundredths of a percent, rounded per line."""
    return round_div(net * rate_bp, 10_000)


def to_base(foreign: int, rate: int) -> int:
    """GBP pence for ``foreign`` pence at ``rate`` millionths of a unit per pound."""
    return round_div(foreign * ONE_RATE, rate)


def _type_rule(report: Report, t: Tx, key: str, situation: str, **words: Any) -> None:
    report.add(TYPE_RULE, situation, f"{t.pointer}/{key}", t.hn, where=t.where, **words)


def _outstanding(
    report: Report, t: Tx, key: str, situation: str, details: dict[str, Any], **words: Any
) -> None:
    report.add(
        OUTSTANDING_MISMATCH, situation, f"{t.pointer}/{key}", t.hn, details, where=t.where, **words
    )


# -- the header's shape -------------------------------------------------------------------------


def check_header_shape(trail: TrailState, t: Tx) -> None:
    """The shape rules of the header's type that its cached context cannot know."""
    tx_type, report, m = t.tx_type, trail.report, trail.m
    assert tx_type is not None
    if tx_type.shape == JOURNAL:
        if t.group is None:
            _type_rule(report, t, "journal_group", "no_group")
        split_nominal = t.splits[0][0] if len(t.splits) == 1 else None
        if (
            t.ref is not None
            and NOMINAL_RX.fullmatch(t.ref)
            and m.chart_known
            and t.ref not in m.chart
            and split_nominal != t.ref
        ):
            report.add(
                UNKNOWN_NOMINAL,
                "posts",
                t.pointer + "/account_ref",
                t.hn,
                {"nominal_code": t.ref},
                where=t.where,
            )
    elif t.group is not None:
        _type_rule(report, t, "journal_group", "stray_group", group=t.group)
    if t.gross is not None and t.gross < 0:
        _type_rule(report, t, "gross", "negative_gross", gross=money(t.gross))
    if t.foreign and t.fgross is not None and t.fgross < 0:
        _type_rule(report, t, "foreign_gross", "negative_foreign_gross", gross=money(t.fgross))
    if t.allocations and tx_type.role != SOURCE and not t.deleted:
        _type_rule(
            report, t, "allocations", "allocations_on_target", type_name=tx_type.name.lower()
        )


# -- currency -----------------------------------------------------------------------------------


def check_currency(trail: TrailState, t: Tx) -> None:
    """GBP means rate 1 and no foreign amounts; another currency needs them all."""
    report = trail.report
    if t.currency is None:
        return
    if not t.foreign:
        if t.rate is not None and t.rate != ONE_RATE:
            report.add(
                CURRENCY,
                "gbp_rate",
                t.pointer + "/exchange_rate",
                t.hn,
                {"exchange_rate": rate_text(t.rate)},
                where=t.where,
            )
        if (t.fnet, t.ftax, t.fgross) != (None, None, None) or any(
            row[5] is not None or row[6] is not None for row in t.splits
        ):
            report.add(CURRENCY, "gbp_foreign", t.pointer, t.hn, where=t.where)
        return
    missing = [
        (f"{t.pointer}/{key}", key)
        for key, value in (
            ("foreign_net", t.fnet),
            ("foreign_tax", t.ftax),
            ("foreign_gross", t.fgross),
        )
        if value is None
    ] + [
        (f"{t.pointer}/splits/{n}/{key}", key)
        for n, row in enumerate(t.splits)
        for key, value in (("foreign_net", row[5]), ("foreign_tax", row[6]))
        if value is None
    ]
    for pointer, key in missing:
        split = pointer.split("/")[4] if "/splits/" in pointer else None
        report.add(
            SCHEMA_VIOLATION,
            "foreign_missing",
            pointer,
            t.hn,
            {"missing_key": key},
            where=t.where,
            currency=t.currency,
            what=f"split {split} has" if split is not None else "it has",
        )


# -- splits -------------------------------------------------------------------------------------


def check_splits(trail: TrailState, t: Tx) -> None:
    """Per split: its references, its type's rules, its VAT and its conversion to GBP."""
    tx_type, report = t.tx_type, trail.report
    assert tx_type is not None
    if tx_type.shape == JOURNAL and len(t.splits) != 1:
        _type_rule(report, t, "splits", "journal_splits", count=len(t.splits))
    for n, (nominal, _dept, net, code, tax, fnet, ftax, ref) in enumerate(t.splits):
        for problem_rule, key, situation, details, words in ref.problems:
            report.add(
                problem_rule,
                situation,
                f"{t.pointer}/splits/{n}/{key}",
                t.hn,
                details,
                where=t.where,
                n=n,
                **words,
            )
        if tx_type.shape in (LEDGER_PAYMENT, JOURNAL):
            _payment_split(report, t, n, nominal, net, tax)
        elif ref.rate_bp is not None and code is not None:
            _split_vat(report, t, n, ref, code, net, tax, fnet, ftax)
        if t.foreign and t.rate:
            _split_conversion(report, t, n, net, fnet, "net")
            _split_conversion(report, t, n, tax, ftax, "tax")


def _payment_split(
    report: Report, t: Tx, n: int, nominal: str | None, net: int | None, tax: int | None
) -> None:
    """A payment or journal split posts a positive, untaxed amount to its own nominal."""
    tx_type = t.tx_type
    assert tx_type is not None
    own, what = (t.bank, "bank_code") if tx_type.shape == LEDGER_PAYMENT else (t.ref, "account_ref")
    if nominal is not None and own is not None and nominal != own:
        key = f"splits/{n}/nominal_code"
        _type_rule(report, t, key, "split_nominal", n=n, nominal=nominal, what=what, own=own)
    if tax is not None and tax != 0:
        name = tx_type.name.lower()
        _type_rule(report, t, f"splits/{n}/tax", "split_tax", n=n, tax=money(tax), type_name=name)
    if net is not None and net <= 0:
        _type_rule(report, t, f"splits/{n}/net", "split_net", n=n, net=money(net))


def _split_vat(
    report: Report,
    t: Tx,
    n: int,
    ref: SplitRef,
    code: str,
    net: int | None,
    tax: int | None,
    fnet: int | None,
    ftax: int | None,
) -> None:
    """No VAT on a 0%, EC-purchase or reverse-charge code, else VAT at the code's rate per line.

    At most one TAX_CALCULATION per split.
    """
    base_net, base_tax = (fnet, ftax) if t.foreign else (net, tax)
    pointer = f"{t.pointer}/splits/{n}/{'foreign_tax' if t.foreign else 'tax'}"
    if ref.flat:
        taxes = [value for value in (tax, ftax if t.foreign else None) if value]
        if taxes:
            report.add(
                TAX_CALCULATION,
                "no_vat",
                pointer,
                t.hn,
                {"tax_code": code, "tax": money(taxes[0]), "expected": "0.00"},
                where=t.where,
                n=n,
                why="an EC purchase or reverse-charge code" if ref.no_vat else "a 0% code",
            )
        return
    if base_net is None or base_tax is None or ref.rate_bp is None:
        return
    expected = tax_due(base_net, ref.rate_bp)
    if abs(base_tax - expected) > 1:
        report.add(
            TAX_CALCULATION,
            "",
            pointer,
            t.hn,
            {
                "tax_code": code,
                "net": money(base_net),
                "tax": money(base_tax),
                "expected": money(expected),
            },
            where=t.where,
            n=n,
            rate=f"{ref.rate_bp / 100:.2f}",
        )


def _split_conversion(
    report: Report, t: Tx, n: int, base: int | None, foreign: int | None, what: str
) -> None:
    """A split's GBP amount is its foreign amount at the header's rate, within 0.01."""
    if base is None or foreign is None or not t.rate:
        return
    expected = to_base(foreign, t.rate)
    if abs(base - expected) > 1:
        report.add(
            CURRENCY,
            "conversion",
            f"{t.pointer}/splits/{n}/{what}",
            t.hn,
            {
                "foreign": money(foreign),
                "exchange_rate": rate_text(t.rate),
                "expected": money(expected),
                "actual": money(base),
            },
            where=t.where,
            n=n,
            currency=t.currency,
            what=what,
        )


# -- totals -------------------------------------------------------------------------------------


def check_totals(trail: TrailState, t: Tx) -> None:
    """Gross is net plus tax, and net and tax are the sums of the splits, in each currency."""
    report = trail.report
    _header_total(report, t, t.net, t.tax, t.gross, "")
    _split_total(report, t, t.net, 2, "net", "")
    _split_total(report, t, t.tax, 4, "tax", "")
    if t.foreign:
        _header_total(report, t, t.fnet, t.ftax, t.fgross, "foreign_")
        _split_total(report, t, t.fnet, 5, "net", "foreign_")
        _split_total(report, t, t.ftax, 6, "tax", "foreign_")


def _header_total(
    report: Report, t: Tx, net: int | None, tax: int | None, gross: int | None, prefix: str
) -> None:
    if net is None or tax is None or gross is None or gross == net + tax:
        return
    report.add(
        HEADER_TOTALS,
        "",
        f"{t.pointer}/{prefix}gross",
        t.hn,
        {"net": money(net), "tax": money(tax), "gross": money(gross), "expected": money(net + tax)},
        where=t.where,
        prefix=prefix,
        label=f"{t.currency} " if prefix else "",
    )


def _split_total(
    report: Report, t: Tx, total: int | None, column: int, what: str, prefix: str
) -> None:
    if total is None or not t.splits:
        return
    parts: list[Any] = [row[column] for row in t.splits]
    if None in parts:
        return
    added = sum(part or 0 for part in parts)
    if added != total:
        report.add(
            SPLIT_TOTALS,
            "",
            f"{t.pointer}/{prefix}{what}",
            t.hn,
            {"header": money(total), "splits": money(added)},
            where=t.where,
            prefix=prefix,
            what=what,
        )


# -- dates --------------------------------------------------------------------------------------


def check_dates(trail: TrailState, t: Tx) -> None:
    """Dates within the window, after the opening date in full history, due after dated."""
    report, m = trail.report, trail.m
    for key, ordinal in (("date", t.date), ("due_date", t.due)):
        if ordinal is not None and not m.low <= ordinal <= m.high:
            report.add(
                DATE_OUT_OF_RANGE,
                "header",
                f"{t.pointer}/{key}",
                t.hn,
                {"date": day(ordinal)},
                where=t.where,
                key=key,
                low=day(m.low),
                high=day(m.high),
            )
    if t.date is None:
        return
    if trail.after is not None and t.date <= trail.after:
        report.add(
            HISTORY_MODE,
            "transaction_early",
            t.pointer + "/date",
            t.hn,
            {"date": day(t.date), "as_of": day(trail.after)},
            where=t.where,
        )
    if t.due is not None and t.due < t.date:
        report.add(
            DUE_DATE,
            "",
            t.pointer + "/due_date",
            t.hn,
            {"date": day(t.date), "due_date": day(t.due)},
            where=t.where,
        )


# -- what the header settles --------------------------------------------------------------------


def check_settlement(trail: TrailState, t: Tx) -> None:
    """A deleted header settles nothing; a source's allocations fit it; other types are paid."""
    tx_type, report = t.tx_type, trail.report
    assert tx_type is not None
    if t.deleted:
        if t.out is not None and t.out != 0:
            _outstanding(
                report, t, "outstanding", "deleted", {"expected": "0.00"}, outstanding=money(t.out)
            )
        if t.allocations:
            report.add(
                ALLOCATION_INVALID,
                "deleted",
                t.pointer + "/allocations",
                t.hn,
                where=t.where,
                count=len(t.allocations),
            )
        return
    if tx_type.role == SOURCE:
        _source_allocations(trail, t, t.cap)
    elif tx_type.role == SETTLES_NOTHING:
        if t.out is not None and t.out != 0:
            _outstanding(
                report,
                t,
                "outstanding",
                "settles_nothing",
                {"expected": "0.00"},
                type_name=tx_type.name.lower(),
                outstanding=money(t.out),
            )
        if t.paid is not None and t.paid != 2:
            _outstanding(
                report,
                t,
                "paid_status",
                "always_paid",
                {"expected": "paid"},
                type_name=tx_type.name.lower(),
                paid_status=PAID_NAMES[t.paid],
            )


def _source_allocations(trail: TrailState, t: Tx, cap: int | None) -> None:
    """Check a source's allocations and keep the good ones for the end-of-file checks."""
    report, m = trail.report, trail.m
    total = 0
    for n, (target, amount, date) in enumerate(t.allocations):
        pointer = f"{t.pointer}/allocations/{n}"
        if date is not None and not m.low <= date <= m.high:
            report.add(
                DATE_OUT_OF_RANGE,
                "allocation",
                pointer + "/date",
                t.hn,
                {"date": day(date)},
                where=t.where,
                n=n,
                low=day(m.low),
                high=day(m.high),
            )
        if amount is None:
            continue
        total += amount
        if amount <= 0:
            bad_amount(report, t.where, n, amount, pointer, t.hn)
        elif target is not None:
            trail.allocations.add(t.i, t.hn or 0, n, target, amount, date or NO_DATE)
    if cap is None or t.out is None:
        return
    if total > cap:
        report.add(
            OVER_ALLOCATION,
            "source",
            t.pointer + "/allocations",
            t.hn,
            {"allocated": money(total), "cap": money(cap)},
            where=t.where,
            foreign="foreign " if t.foreign else "",
        )
        return
    if t.out != cap - total:
        _outstanding(
            report,
            t,
            "outstanding",
            "source",
            {"expected": money(cap - total)},
            outstanding=money(t.out),
            cap=money(cap),
            allocated=money(total),
        )
    if t.paid is not None and t.paid not in expected_paid(t.out, cap):
        allowed = expected_paid(t.out, cap)
        _outstanding(
            report,
            t,
            "paid_status",
            "paid_status",
            {"expected": PAID_NAMES[allowed[0]]},
            paid_status=PAID_NAMES[t.paid],
            outstanding=money(t.out),
            cap=money(cap),
        )


CHECKS: tuple[Callable[[TrailState, Tx], None], ...] = (
    check_header_shape,
    check_currency,
    check_splits,
    check_totals,
    check_dates,
    check_settlement,
)
"""The checks of a header with a known type, in the order its findings are reported."""
