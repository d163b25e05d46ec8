"""The rule registry holds the validator's findings exactly.

Every finding the validator reports is a registered rule with the rule's severity (checked for
every document the ``validate`` fixture runs, see conftest.py), and every registered rule has an
example below that makes the validator report it.  A new rule therefore needs an example, and a
rule nothing can trigger any more shows up here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from migrationkit.connectors.sage50 import validation
from migrationkit.connectors.sage50.validation import RULES, Rule, validate_file
from migrationkit.connectors.sage50.validation.rules import rule
from migrationkit.core.findings import Finding, Severity

Validate = Callable[..., list[Finding]]
Example = Callable[[dict[str, Any]], bytes | None]
"""Breaks the valid document in place (None) or returns the raw bytes of a broken file."""

# Header numbers in the valid document (see builders.py).
SI_OAKLEY, PI_TIMBERCO, PI_PENNINE, BP_RENT, BR_SUNDRY, CP_PHONE = 12, 20, 22, 27, 28, 29
JD_TRANSFER, SR_PART = 31, 36


def tx(doc: dict[str, Any], hn: int) -> dict[str, Any]:
    """The transaction with header number ``hn``."""
    return next(t for t in doc["transactions"] if t["header_number"] == hn)


def account(doc: dict[str, Any], code: str) -> dict[str, Any]:
    """The nominal account ``code``."""
    return next(a for a in doc["nominal_accounts"] if a["code"] == code)


def _journal_to_the_debtors_control(doc: dict[str, Any]) -> None:
    # Legal, but the sales ledger no longer agrees with its control account.
    for hn, kind, code in ((40, "JD", "1100"), (41, "JC", "4000")):
        line = json.loads(json.dumps(tx(doc, JD_TRANSFER)))
        line.update(
            header_number=hn,
            type=kind,
            account_ref=code,
            journal_group=40,
            net="25.00",
            gross="25.00",
            date="2024-06-01",
        )
        line["splits"][0].update(split_number=900 + hn, nominal_code=code, net="25.00")
        doc["transactions"].append(line)
    account(doc, "1100")["balance"] = "1615.00"
    account(doc, "4000")["balance"] = "-1825.00"


def _vat_at_21_percent(doc: dict[str, Any]) -> None:
    receipt = tx(doc, BR_SUNDRY)  # 100.00 at T1, 20%
    receipt["splits"][0]["tax"] = receipt["tax"] = "21.00"
    receipt["gross"] = "121.00"


def _unbalanced_journal(doc: dict[str, Any]) -> None:
    line = tx(doc, JD_TRANSFER)
    line["net"] = line["gross"] = line["splits"][0]["net"] = "210.00"


EXAMPLES: dict[str, Example] = {
    "FILE_EMPTY": lambda d: b"",
    "ENCODING": lambda d: b"\xef\xbb\xbf" + json.dumps(d).encode(),
    "JSON_MALFORMED": lambda d: json.dumps(d).encode()[:-1],
    "FORMAT_UNSUPPORTED": lambda d: d.update(format="sage50-xml"),
    "SCHEMA_VIOLATION": lambda d: d.update(notes="exported by hand"),
    "MONEY_FORMAT": lambda d: tx(d, BP_RENT).update(net=1000),
    "DATE_INVALID": lambda d: tx(d, SI_OAKLEY).update(date="2024-02-30"),
    "DATE_OUT_OF_RANGE": lambda d: tx(d, SI_OAKLEY).update(due_date="2025-07-02"),
    "DUPLICATE_KEY": lambda d: d["departments"].append(dict(d["departments"][-1])),
    "DUPLICATE_HEADER_NUMBER": lambda d: tx(d, CP_PHONE).update(header_number=BP_RENT),
    "HISTORY_MODE": lambda d: tx(d, BP_RENT).update(date="2024-03-31"),
    "UNKNOWN_NOMINAL": lambda d: tx(d, BP_RENT)["splits"][0].update(nominal_code="7101"),
    "UNKNOWN_TAX_CODE": lambda d: d["products"][1].update(tax_code="T20"),
    "UNKNOWN_ACCOUNT_REF": lambda d: tx(d, SI_OAKLEY).update(account_ref="NOBODY"),
    "UNKNOWN_BANK": lambda d: tx(d, BP_RENT).update(account_ref="7502", bank_code="7502"),
    "UNKNOWN_DEPARTMENT": lambda d: tx(d, PI_TIMBERCO)["splits"][1].update(department=7),
    "NOMINAL_TYPE_MISMATCH": lambda d: account(d, "7100").update(type="sales"),
    "CONTROL_ROLE": lambda d: account(d, "9998").update(control_role=None),
    "HEADER_TOTALS": lambda d: tx(d, SI_OAKLEY).update(gross="601.00"),
    "SPLIT_TOTALS": lambda d: tx(d, BP_RENT)["splits"][0].update(net="990.00"),
    "TAX_CALCULATION": _vat_at_21_percent,
    "TYPE_RULE": lambda d: tx(d, SI_OAKLEY).update(bank_code="1200"),
    "CURRENCY": lambda d: tx(d, BP_RENT).update(exchange_rate="1.2"),
    "JOURNAL_UNBALANCED": _unbalanced_journal,
    "TRAIL_UNBALANCED": lambda d: tx(d, BR_SUNDRY).update(gross="121.00"),
    "OPENING_TB_UNBALANCED": lambda d: d["opening_balances"]["trial_balance"][7].update(
        credit="11750.00"
    ),
    "OPENING_LEDGER_MISMATCH": lambda d: d["opening_balances"]["supplier_open_items"][0].update(
        base_outstanding="906.00"
    ),
    "NOMINAL_BALANCE_MISMATCH": lambda d: account(d, "7100").update(balance="1000.01"),
    "ALLOCATION_INVALID": lambda d: tx(d, SR_PART)["allocations"][0].update(header_number=999),
    "OVER_ALLOCATION": lambda d: tx(d, SR_PART)["allocations"][0].update(amount="1600.00"),
    "OUTSTANDING_MISMATCH": lambda d: tx(d, SI_OAKLEY).update(outstanding="250.00"),
    "ACCOUNT_BALANCE_MISMATCH": lambda d: d["customers"][0].update(balance="351.00"),
    "LEDGER_CONTROL_MISMATCH": _journal_to_the_debtors_control,
    "ALLOCATION_DATE": lambda d: tx(d, SR_PART)["allocations"][0].update(date="2024-05-01"),
    "DUE_DATE": lambda d: tx(d, SI_OAKLEY).update(due_date="2024-04-01"),
}
"""One way to make the validator report each rule, from the valid document."""

FILE_EXAMPLES: dict[str, Callable[[Path], Path]] = {
    "FILE_NOT_FOUND": lambda folder: folder / "nowhere.json",
    "FILE_UNREADABLE": lambda folder: folder,  # a folder cannot be read as a file
}
"""The rules about the path itself, which no document can show."""

NOT_BY_EXAMPLE: dict[str, str] = {}
"""Rules that no example can trigger, each with the way it is reached instead.  Empty: every
rule has an example.  A rule that only, say, a failing disk can trigger belongs here, with the
test that covers it."""


def test_every_rule_has_an_example_or_a_named_exception() -> None:
    covered = [*EXAMPLES, *FILE_EXAMPLES, *NOT_BY_EXAMPLE]
    assert sorted(covered) == sorted(RULES), "each rule needs exactly one example"


@pytest.mark.parametrize("code", sorted(EXAMPLES))
def test_each_example_makes_the_validator_report_its_rule(
    validate: Validate, doc: dict[str, Any], code: str
) -> None:
    raw = EXAMPLES[code](doc)
    findings = validate(raw=raw) if raw is not None else validate(doc)
    assert code in {f.code for f in findings}, [f.code for f in findings]


@pytest.mark.parametrize("code", sorted(FILE_EXAMPLES))
def test_each_file_example_makes_the_validator_report_its_rule(tmp_path: Path, code: str) -> None:
    findings = list(validate_file(FILE_EXAMPLES[code](tmp_path)))
    assert [f.code for f in findings] == [code]
    assert findings[0].severity is RULES[code].severity


def test_the_warnings_are_the_three_the_format_names() -> None:
    warnings = {code for code, r in RULES.items() if r.severity is Severity.WARNING}
    assert warnings == {"LEDGER_CONTROL_MISMATCH", "ALLOCATION_DATE", "DUE_DATE"}


def test_every_rule_says_what_it_means_and_where_the_format_explains_it() -> None:
    page = (Path(__file__).parents[3] / "docs" / "formats" / "sage50-json.md").read_text("utf-8")
    headings = set(re.findall(r"^#{2,4} (\d+(?:\.\d+)*)\.? ", page, flags=re.MULTILINE))
    for found in RULES.values():
        assert found.summary.endswith("."), found.code
        assert found.messages, found.code
        assert found.section in headings, f"{found.code}: no section {found.section} in the page"


def test_every_message_situation_is_reported_somewhere() -> None:
    # A situation no check names is a message nobody can see: remove it or report it.
    sources = "\n".join(
        path.read_text("utf-8")
        for path in Path(validation.__file__).parent.glob("*.py")
        if path.name != "rules.py"
    )
    for found in RULES.values():
        for situation in found.messages:
            if situation:
                assert f'"{situation}"' in sources, f"{found.code}: {situation} is never reported"


def test_a_code_is_defined_once() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        rule("HEADER_TOTALS", summary="Again.", section="11.6", messages="again")
    assert isinstance(RULES["HEADER_TOTALS"], Rule)


def test_a_finding_takes_its_severity_and_words_from_its_rule() -> None:
    finding = RULES["DUE_DATE"].finding(
        "", "/transactions/3/due_date", 7, {"date": "2024-05-02", "due_date": "2024-05-01"},
        where="Sales invoice 7",
    )  # fmt: skip
    assert finding.severity is Severity.WARNING
    assert finding.message == "Sales invoice 7 is due 2024-05-01, before its date 2024-05-02."
    assert finding.details == {"date": "2024-05-02", "due_date": "2024-05-01"}
