"""The audit-trail transaction types: what each one is, how it posts, and what it may settle.

One row per type (``docs/formats/sage50-json.md`` §8.3 and §8.4) drives the shape rules, the
double entry and the allocation rules, so no check restates a type's facts.  Each header's
allocation facts are packed into one 64-bit word, so the end-of-file checks can compare two
headers without keeping either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

TARGET, SOURCE, SETTLES_NOTHING = 1, 2, 0
LINES, LEDGER_PAYMENT, BANK_ENTRY, JOURNAL = range(4)


@dataclass(frozen=True, slots=True)
class TxType:
    """What the format says about one audit-trail type: its shape and how it posts."""

    code: str
    number: int  # the type's 5-bit number in the packed header facts
    name: str
    ledger: str | None  # "S", "P" or None
    role: int  # TARGET, SOURCE or SETTLES_NOTHING
    shape: int
    bank_type: str | None  # the bank kind a BP..VR needs
    split_sign: int  # +1: split nets and VAT are debits; -1: credits; 0: splits do not post
    vat_role: str | None
    legs: tuple[tuple[str, int], ...]  # where gross posts: a role, "@bank_code" or "@account_ref"


def _type_table() -> dict[str, TxType]:
    debtors, creditors = "debtors_control", "creditors_control"
    sales_vat, purchase_vat = "sales_tax_control", "purchase_tax_control"
    rows: list[tuple[Any, ...]] = [
        ("SI", "Sales invoice", "S", TARGET, LINES, None, -1, sales_vat, ((debtors, 1),)),
        ("SC", "Sales credit note", "S", SOURCE, LINES, None, 1, sales_vat, ((debtors, -1),)),
        ("SD", "Sales discount", "S", SOURCE, LINES, None, 1, sales_vat, ((debtors, -1),)),
        ("SR", "Sales receipt", "S", SOURCE, LEDGER_PAYMENT, None, 0, None,
         (("@bank_code", 1), (debtors, -1))),
        ("SA", "Receipt on account", "S", SOURCE, LEDGER_PAYMENT, None, 0, None,
         (("@bank_code", 1), (debtors, -1))),
        ("SP", "Sales refund", "S", TARGET, LEDGER_PAYMENT, None, 0, None,
         ((debtors, 1), ("@bank_code", -1))),
        ("PI", "Purchase invoice", "P", TARGET, LINES, None, 1, purchase_vat, ((creditors, -1),)),
        ("PC", "Purchase credit note", "P", SOURCE, LINES, None, -1, purchase_vat,
         ((creditors, 1),)),
        ("PD", "Purchase discount", "P", SOURCE, LINES, None, -1, purchase_vat,
         ((creditors, 1),)),
        ("PP", "Purchase payment", "P", SOURCE, LEDGER_PAYMENT, None, 0, None,
         ((creditors, 1), ("@bank_code", -1))),
        ("PA", "Payment on account", "P", SOURCE, LEDGER_PAYMENT, None, 0, None,
         ((creditors, 1), ("@bank_code", -1))),
        ("PR", "Purchase refund", "P", TARGET, LEDGER_PAYMENT, None, 0, None,
         (("@bank_code", 1), (creditors, -1))),
        ("BP", "Bank payment", None, 0, BANK_ENTRY, "current", 1, purchase_vat,
         (("@account_ref", -1),)),
        ("BR", "Bank receipt", None, 0, BANK_ENTRY, "current", -1, sales_vat,
         (("@account_ref", 1),)),
        ("CP", "Cash payment", None, 0, BANK_ENTRY, "cash", 1, purchase_vat,
         (("@account_ref", -1),)),
        ("CR", "Cash receipt", None, 0, BANK_ENTRY, "cash", -1, sales_vat, (("@account_ref", 1),)),
        ("VP", "Credit card payment", None, 0, BANK_ENTRY, "credit_card", 1, purchase_vat,
         (("@account_ref", -1),)),
        ("VR", "Credit card receipt", None, 0, BANK_ENTRY, "credit_card", -1, sales_vat,
         (("@account_ref", 1),)),
        ("JD", "Journal debit", None, 0, JOURNAL, None, 1, None, ()),
        ("JC", "Journal credit", None, 0, JOURNAL, None, -1, None, ()),
    ]  # fmt: skip
    return {row[0]: TxType(row[0], n, *row[1:]) for n, row in enumerate(rows)}


TYPES: Final = _type_table()
TYPE_BY_INDEX: Final = {tx_type.number: tx_type for tx_type in TYPES.values()}
UNKNOWN_TYPE = 31
DELETED = 0x20
UNSETTLED = 0x40  # cap or outstanding unreadable: settlement checks are skipped
TYPE_MASK = 0x1F


def _settles_table() -> bytes:
    """SETTLES[source type << 6 | target kind] is 1 when such a source may settle such a target.

    That is: same ledger, a source type and a target type (§10).  A target kind with
    the DELETED bit set finds 0.
    """
    table = bytearray(2048)
    for source in TYPES.values():
        for target in TYPES.values():
            if source.role == SOURCE and target.role == TARGET and source.ledger == target.ledger:
                table[source.number << 6 | target.number] = 1
    return bytes(table)


SETTLES: Final = _settles_table()
LEDGER_NAMES = {"S": "sales ledger", "P": "purchase ledger"}
PAID = {"unpaid": 0, "part": 1, "paid": 2}
PAID_NAMES = ("unpaid", "part", "paid")
REQUIRED_ROLES = (
    "debtors_control",
    "creditors_control",
    "sales_tax_control",
    "purchase_tax_control",
    "retained_earnings",
    "suspense",
)
_CHART_RANGES = (
    (10, "fixed_assets"),
    (1000, "current_assets"),
    (2000, "liabilities"),
    (3000, "capital"),
    (4000, "sales"),
    (5000, "purchases"),
    (6000, "direct_expenses"),
    (7000, "overheads"),
)


def derived_type(code: str) -> str | None:
    """The nominal type Sage 50's standard chart layout gives a code (§5.1)."""
    head = int(code[:4])
    derived = None
    for start, kind in _CHART_RANGES:
        if head >= start:
            derived = kind
    return derived


def pack(kind: int, currency_id: int, date: int, account: int) -> int:
    """One header's allocation facts in one 64-bit word (see :func:`unpack`)."""
    return kind | currency_id << 8 | date << 16 | (account + 1) << 38


def unpack(fact: int) -> tuple[int, int, int, int]:
    """(kind, currency id, date ordinal, account index) from :func:`pack`."""
    return fact & 0xFF, fact >> 8 & 0xFF, fact >> 16 & 0x3FFFFF, (fact >> 38) - 1


def expected_paid(out: int, cap: int) -> tuple[int, ...]:
    """The paid_status values §10 allows for ``out`` outstanding of ``cap``, best first."""
    if out == 0:
        return (2, 0) if cap == 0 else (2,)
    if out == cap:
        return (0,)
    return (1,)
