"""What a header's account, bank and currency imply, and what a split's codes imply.

A file has a few thousand combinations of (type, account_ref, bank_code, currency) and of
(nominal, department, tax code), each used by many headers, so each combination is judged once
(``docs/formats/sage50-json.md`` §8.3 and §8.6 for headers, §5 and §6 for splits) and the
result cached: its problems, reported again for every header that has them, and what the
posting needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from .masters import Bank, Master
from .posting import BANK_ENTRY, LEDGER_PAYMENT, LINES, TxType, pack
from .rules import (
    CURRENCY,
    TYPE_RULE,
    UNKNOWN_ACCOUNT_REF,
    UNKNOWN_BANK,
    UNKNOWN_DEPARTMENT,
    UNKNOWN_NOMINAL,
    UNKNOWN_TAX_CODE,
    Rule,
)
from .values import GBP, NOMINAL_RX

__all__ = ["Context", "ContextBuilder", "Problem", "SplitRef", "make_split_ref"]

Problem = tuple[Rule, str, str, dict[str, Any], dict[str, Any]]
"""A problem found once for a combination of values, reported for each header that has it:
(rule, key under the header, situation, details, words for the message)."""


@dataclass(frozen=True, slots=True)
class Context:
    """What a header's type, account_ref, bank_code and currency imply (cached per combo).

    A slotted class rather than a NamedTuple: the fast lane reads its fields a dozen times per
    header, and slot reads are the quicker kind.
    """

    tx_type: TxType
    problems: tuple[Problem, ...]
    account: int  # customer or supplier index, -1 when none or unknown
    ref: str | None
    bank: str | None
    currency: str | None
    foreign: bool
    legs: tuple[tuple[str | None, int], ...]  # (nominal, sign) each receiving gross
    vat_code: str | None
    ref_in_chart: bool
    fact: int  # pack(type, currency, 0, account): add the date to get a header's facts
    cached: bool  # False once the cache is full: its totals are then folded header by header
    # Running sums over the non-deleted headers of this combination: gross, signed
    # outstanding, net of the splits and VAT of the splits; folded into balances at the end.
    totals: list[int]


class SplitRef(NamedTuple):
    """What a split's nominal, department and tax code imply (cached per combination)."""

    nominal: str | None
    problems: tuple[Problem, ...]
    tax_code: str | None
    rate_bp: int | None
    flat: bool  # a 0% or EC-purchase/reverse-charge code: the split's tax must be 0.00
    no_vat: bool


class ContextBuilder:
    """Works out a :class:`Context`: the account, bank and currency rules of a combination."""

    def __init__(
        self,
        master: Master,
        tx_type: TxType,
        ref: str | None,
        bank: str | None,
        currency: str | None,
    ) -> None:
        self.m = master
        self.tx_type = tx_type
        self.ref = ref
        self.bank = bank
        self.currency = currency
        self.problems: list[Problem] = []
        self.account = -1

    def build(self, currency_id: int, cached: bool) -> Context:
        """Check the combination and return its context (with any problems found)."""
        shape = self.tx_type.shape
        if shape in (LINES, LEDGER_PAYMENT):
            self._ledger()
        elif shape == BANK_ENTRY:
            self._bank_entry()
        else:
            self._journal()
        legs = tuple((self._leg_code(target), sign) for target, sign in self.tx_type.legs)
        vat_code = self.m.roles.get(self.tx_type.vat_role) if self.tx_type.vat_role else None
        return Context(
            self.tx_type,
            tuple(self.problems),
            self.account,
            self.ref,
            self.bank,
            self.currency,
            self.currency is not None and self.currency != GBP,
            legs,
            vat_code,
            self.ref in self.m.chart or not self.m.chart_known,
            pack(self.tx_type.number, currency_id, 0, self.account),
            cached,
            [0, 0, 0, 0],
        )

    def _leg_code(self, target: str) -> str | None:
        """The nominal a gross leg posts to: a control role, the bank or the account_ref."""
        if target == "@bank_code":
            return self.bank
        if target == "@account_ref":
            return self.ref
        return self.m.roles.get(target)

    def _problem(
        self,
        rule: Rule,
        at: str,
        situation: str,
        details: dict[str, Any] | None = None,
        **words: Any,
    ) -> None:
        """Note a problem of the combination at key ``at`` of the header."""
        self.problems.append((rule, at, situation, details or {}, words))

    def _ledger(self) -> None:
        tx_type, ref = self.tx_type, self.ref
        ledger = tx_type.ledger or "S"
        if ref is not None:
            party = self.m.parties[ledger].get(ref)
            if party is not None:
                self.account = party.slot
                self._currency_of(f"account {ref}", party.currency)
            elif self.m.parties_known[ledger]:
                self._problem(
                    UNKNOWN_ACCOUNT_REF,
                    "account_ref",
                    "",
                    {"account_ref": ref},
                    listed="customer" if ledger == "S" else "supplier",
                )
        if tx_type.shape == LINES:
            if self.bank is not None:
                self._problem(
                    TYPE_RULE,
                    "bank_code",
                    "stray_bank",
                    type_name=tx_type.name.lower(),
                    bank=self.bank,
                )
            return
        bank = self._bank(self.bank, "bank_code")
        if bank is not None and bank.currency not in (GBP, self.currency, None):
            self._problem(
                CURRENCY,
                "bank_code",
                "bank",
                {"currency": self.currency, "bank_currency": bank.currency},
                bank=bank.code,
            )

    def _bank_entry(self) -> None:
        tx_type, ref, bank_code = self.tx_type, self.ref, self.bank
        if ref is not None and not NOMINAL_RX.fullmatch(ref):
            self._problem(TYPE_RULE, "account_ref", "bank_ref", ref=ref)
            bank = self._bank(bank_code, "bank_code")
        else:
            bank = self._bank(ref, "account_ref") if ref is not None else None
            if bank_code is None:
                self._bank(None, "bank_code")
            elif ref is not None and bank_code != ref:
                self._problem(TYPE_RULE, "bank_code", "bank_differs", bank=bank_code, ref=ref)
                self._bank(bank_code, "bank_code")
        if bank is None:
            return
        if bank.bank_type is not None and bank.bank_type != tx_type.bank_type:
            self._problem(
                TYPE_RULE,
                "account_ref",
                "bank_type",
                type_name=tx_type.name.lower(),
                needed=tx_type.bank_type,
                bank=bank.code,
                actual=bank.bank_type,
            )
        self._currency_of(f"bank {bank.code}", bank.currency)

    def _journal(self) -> None:
        if self.ref is not None and not NOMINAL_RX.fullmatch(self.ref):
            self._problem(TYPE_RULE, "account_ref", "journal_ref", ref=self.ref)
        if self.bank is not None:
            self._problem(TYPE_RULE, "bank_code", "journal_bank", bank=self.bank)
        if self.currency is not None and self.currency != GBP:
            self._problem(CURRENCY, "currency", "journal", {"currency": self.currency})

    def _bank(self, code: str | None, key: str) -> Bank | None:
        if code is None:
            self._problem(TYPE_RULE, key, "no_bank", type_name=self.tx_type.name.lower(), key=key)
            return None
        bank = self.m.banks.get(code)
        if bank is None and self.m.banks_known:
            self._problem(UNKNOWN_BANK, key, "", {"bank_code": code})
        return bank

    def _currency_of(self, what: str, expected: str | None) -> None:
        if self.currency is not None and expected is not None and self.currency != expected:
            self._problem(
                CURRENCY,
                "currency",
                "account",
                {"currency": self.currency, "account_currency": expected},
                what=what,
            )


def make_split_ref(
    master: Master, nominal: str | None, department: int | None, code: str | None
) -> SplitRef:
    """Check a split's nominal, department and tax code against the master data."""
    problems: list[Problem] = []
    if nominal is not None and master.chart_known and nominal not in master.chart:
        problems.append((UNKNOWN_NOMINAL, "nominal_code", "split", {"nominal_code": nominal}, {}))
    if department is not None and master.departments_known and department not in master.departments:
        problems.append((UNKNOWN_DEPARTMENT, "department", "", {"department": department}, {}))
    tax = master.tax_codes.get(code) if code is not None else None
    if tax is None and code is not None and master.tax_codes_known:
        problems.append((UNKNOWN_TAX_CODE, "tax_code", "split", {"tax_code": code}, {}))
    rate = tax.rate_bp if tax is not None else None
    no_vat = tax is not None and tax.no_vat
    return SplitRef(nominal, tuple(problems), code, rate, no_vat or rate == 0, no_vat)
