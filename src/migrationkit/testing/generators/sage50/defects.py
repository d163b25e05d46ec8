"""Defect injection: deliberate mistakes in a generated file, and the sidecar that lists them.

``DefectPicker`` watches the trail as it is written and chooses, by seeded reservoir sampling, one
header for each defect kind asked for, where the mistake has few knock-on effects.  When the trail
is complete it rewrites those lines and returns the ``<file>.expected.json`` sidecar:
each defect's kind, its primary code, where it is and what else a correct validator may report
(docs/formats/sage50-json.md §12).
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .common import GBP, dump_line, money_str

__all__ = ["DEFECT_KINDS", "MAY_ALSO_REPORT", "DefectPicker"]

#: Defect kind -> primary finding code (docs/formats/sage50-json.md §12).
DEFECT_KINDS: Mapping[str, str] = {
    "unbalanced_journal": "JOURNAL_UNBALANCED",
    "unknown_nominal": "UNKNOWN_NOMINAL",
    "unknown_tax_code": "UNKNOWN_TAX_CODE",
    "gross_mismatch": "HEADER_TOTALS",
    "duplicate_header_number": "DUPLICATE_HEADER_NUMBER",
    "over_allocation": "OVER_ALLOCATION",
    "malformed_date": "DATE_INVALID",
    "float_money": "MONEY_FORMAT",
    "unknown_account_ref": "UNKNOWN_ACCOUNT_REF",
}

# Codes a correct validator may also raise as a consequence of each defect. Each defect is
# placed where its knock-on effects are few (see DefectPicker), so these lists are short.
MAY_ALSO_REPORT: Mapping[str, tuple[str, ...]] = {
    # The changed line no longer balances the trail nor its nominal's stated balance.
    "unbalanced_journal": ("TRAIL_UNBALANCED", "NOMINAL_BALANCE_MISMATCH"),
    # The posting moves to a code without a stated balance; the old code loses it.
    "unknown_nominal": ("NOMINAL_BALANCE_MISMATCH", "TRAIL_UNBALANCED"),
    # The rate of an unknown code is unknown, so a validator may also doubt the tax.
    "unknown_tax_code": ("TAX_CALCULATION",),
    # The debtors leg posts the changed gross, and the invoice's cap changes.
    "gross_mismatch": (
        "TRAIL_UNBALANCED",
        "NOMINAL_BALANCE_MISMATCH",
        "ACCOUNT_BALANCE_MISMATCH",
        "OUTSTANDING_MISMATCH",
        "OVER_ALLOCATION",
        "LEDGER_CONTROL_MISMATCH",
    ),
    # Both headers are bank payments/receipts: nothing refers to them.
    "duplicate_header_number": (),
    # Source and target outstanding no longer add up, nor the customer's balance.
    "over_allocation": (
        "OUTSTANDING_MISMATCH",
        "ACCOUNT_BALANCE_MISMATCH",
        "LEDGER_CONTROL_MISMATCH",
    ),
    # A validator that cannot read the date may also fail the history-mode window checks.
    "malformed_date": ("SCHEMA_VIOLATION", "HISTORY_MODE", "DATE_OUT_OF_RANGE"),
    # A validator that refuses the number may treat the split as missing its amount.
    "float_money": (
        "SCHEMA_VIOLATION",
        "SPLIT_TOTALS",
        "TRAIL_UNBALANCED",
        "NOMINAL_BALANCE_MISMATCH",
    ),
    # The invoice leaves its customer's ledger: the balance and control checks move.
    "unknown_account_ref": (
        "ACCOUNT_BALANCE_MISMATCH",
        "CURRENCY",
        "LEDGER_CONTROL_MISMATCH",
    ),
}

_UNKNOWN_NOMINAL = "7399"
_UNKNOWN_TAX_CODE = "T99"
_UNKNOWN_ACCOUNT = "ZZNOACCT"
_DEFECT_DELTA = Decimal("10.00")


class DefectPicker:
    """Chooses, by seeded reservoir sampling over the streamed trail, where each defect goes.

    Each kind draws from its own transaction types so that two defects never share a header.
    """

    def __init__(self, kinds: tuple[str, ...], seed: int) -> None:
        self.kinds = tuple(dict.fromkeys(kinds))
        self.rng = random.Random(f"defects:{seed}")
        self.seen = dict.fromkeys(self.kinds, 0)
        self.pick: dict[str, tuple[int, dict[str, Any], Any]] = {}
        self.last_card: int | None = None

    def offer(self, index: int, h: dict[str, Any], tag: str) -> None:
        t = h["type"]
        for kind in self.kinds:
            extra = self._candidate(kind, h, t, tag)
            if extra is None:
                continue
            self.seen[kind] += 1
            if self.rng.randrange(self.seen[kind]) == 0:
                self.pick[kind] = (index, h, extra)
        if t in ("VP", "VR") and not h["deleted"]:
            self.last_card = h["header_number"]

    def _candidate(self, kind: str, h: dict[str, Any], t: str, tag: str) -> Any:
        """``None`` when the header cannot carry ``kind``, else what the defect needs."""
        if h["deleted"] or h["currency"] != GBP:
            return None
        if kind == "duplicate_header_number":
            return self.last_card if t in ("VP", "VR") else None
        fits = {
            "unbalanced_journal": tag == "defectable" and h["journal_group"] == h["header_number"],
            "unknown_nominal": t == "BP",
            "unknown_tax_code": t == "BR",
            # A settled invoice: its allocations then exceed nothing, only its cap changes.
            "gross_mismatch": t == "SI" and h["paid_status"] != "unpaid",
            "over_allocation": t == "SR" and bool(h["allocations"]),
            "malformed_date": t in ("CP", "CR"),
            "float_money": t == "PP",
            # Unpaid, so that no allocation points at it from its ledger.
            "unknown_account_ref": t in ("SI", "PI") and h["paid_status"] == "unpaid",
        }[kind]
        return True if fits else None

    def apply(self, data_file: str, seed: int) -> tuple[dict[int, str], dict[str, Any]]:
        """Return the replacement lines by index and the sidecar document."""
        missing = [k for k in self.kinds if k not in self.pick]
        if missing:
            raise ValueError(
                f"the file has no place for defect kinds {missing}; generate more transactions"
            )
        lines: dict[int, str] = {}
        defects = []
        for kind in self.kinds:
            index, h, extra = self.pick[kind]
            h = json.loads(json.dumps(h))
            pointer, detail, float_value = self._mutate(kind, index, h, extra)
            text = dump_line(h)
            if float_value is not None:
                text = text.replace('"@FLOAT@"', float_value, 1)
            lines[index] = text
            entry: dict[str, Any] = {
                "kind": kind,
                "code": DEFECT_KINDS[kind],
                "severity": "error",
                "pointer": pointer,
                "header_number": h["header_number"],
            }
            if h["journal_group"] is not None:
                entry["journal_group"] = h["journal_group"]
            entry["detail"] = detail
            entry["may_also_report"] = list(MAY_ALSO_REPORT[kind])
            defects.append(entry)
        sidecar = {
            "format": "sage50-json-expected-findings",
            "version": "1.0",
            "data_file": data_file,
            "seed": seed,
            "expected_codes": sorted({DEFECT_KINDS[k] for k in self.kinds}),
            "defects": defects,
        }
        return lines, sidecar

    @staticmethod
    def _mutate(kind: str, i: int, h: dict[str, Any], extra: Any) -> tuple[str, str, str | None]:
        """Apply one defect to a parsed header; return pointer, detail and a raw number."""
        base = f"/transactions/{i}"
        if kind == "unbalanced_journal":
            new = money_str(Decimal(h["net"]) + _DEFECT_DELTA)
            h["net"] = h["gross"] = h["splits"][0]["net"] = new
            return base, f"journal {h['journal_group']}: {h['type']} line raised by 10.00", None
        if kind == "unknown_nominal":
            old = h["splits"][0]["nominal_code"]
            h["splits"][0]["nominal_code"] = _UNKNOWN_NOMINAL
            return (
                f"{base}/splits/0/nominal_code",
                f"split nominal {old} replaced by {_UNKNOWN_NOMINAL}, not in the chart",
                None,
            )
        if kind == "unknown_tax_code":
            old = h["splits"][0]["tax_code"]
            h["splits"][0]["tax_code"] = _UNKNOWN_TAX_CODE
            return (
                f"{base}/splits/0/tax_code",
                f"split tax code {old} replaced by {_UNKNOWN_TAX_CODE}, not listed",
                None,
            )
        if kind == "gross_mismatch":
            old = h["gross"]
            h["gross"] = money_str(Decimal(old) + _DEFECT_DELTA)
            return (
                f"{base}/gross",
                f"gross {old} raised to {h['gross']} (net + tax unchanged)",
                None,
            )
        if kind == "duplicate_header_number":
            old = h["header_number"]
            h["header_number"] = extra
            return (
                f"{base}/header_number",
                f"header {old} renumbered {extra}, the number of an earlier card header",
                None,
            )
        if kind == "over_allocation":
            alloc = h["allocations"][0]
            old = alloc["amount"]
            alloc["amount"] = money_str(Decimal(old) + _DEFECT_DELTA)
            return (
                f"{base}/allocations/0/amount",
                f"allocation to header {alloc['header_number']} raised from {old} to "
                f"{alloc['amount']}, above the receipt and the invoice",
                None,
            )
        if kind == "malformed_date":
            old = h["date"]
            # The 31st of a 30-day month at or before the real one keeps the date in the window.
            year, month = int(old[:4]), int(old[5:7])
            thirty = [m for m in (4, 6, 9, 11) if m <= month]
            h["date"] = f"{year}-{thirty[-1]:02d}-31" if thirty else f"{year}-02-30"
            return f"{base}/date", f"date {old} written as {h['date']}, not a calendar date", None
        if kind == "float_money":
            value = h["splits"][0]["net"]
            h["splits"][0]["net"] = "@FLOAT@"
            return f"{base}/splits/0/net", f"split net {value} written as a JSON number", value
        if kind == "unknown_account_ref":
            old = h["account_ref"]
            h["account_ref"] = _UNKNOWN_ACCOUNT
            party = "customer" if h["type"][0] == "S" else "supplier"
            return (
                f"{base}/account_ref",
                f"account_ref {old} replaced by {_UNKNOWN_ACCOUNT}, not a {party}",
                None,
            )
        raise AssertionError(kind)  # pragma: no cover
