"""The sage50-json validator: a test per finding code (docs/formats/sage50-json.md §11).

Each test starts from the valid Kestrel Joinery document (builders.py), breaks one invariant
with the smallest change that can break it, and checks that the right code is reported at the
right place.  Consequential findings (a changed gross also unbalances the trail) may appear
too; tests assert the primary finding and, where the change is self-contained, the exact set.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from migrationkit.connectors.sage50.validation import validate_file
from migrationkit.core.findings import Finding, Severity

Validate = Callable[..., list[Finding]]
Mutation = Callable[[dict[str, Any]], None]

# Header numbers in the valid document (see builders.py).
SI_BRAMBLE, SR_OPENING, SI_OAKLEY, SC_OAKLEY, SI_EUR, SR_EUR = 10, 11, 12, 13, 14, 15
SA_BRAMBLE, SP_BRAMBLE, PI_TIMBERCO, PP_TIMBERCO, PI_PENNINE = 16, 17, 20, 21, 22
BP_RENT, BR_SUNDRY, CP_PHONE, JC_TRANSFER, JD_TRANSFER = 27, 28, 29, 30, 31
JD_VAT, SI_DELETED, SR_PART = 32, 35, 36


def tx(doc: dict[str, Any], hn: int) -> dict[str, Any]:
    """The transaction with header number ``hn``."""
    return next(t for t in doc["transactions"] if t["header_number"] == hn)


def at(doc: dict[str, Any], hn: int) -> str:
    """The JSON pointer of the transaction with header number ``hn``."""
    index = next(n for n, t in enumerate(doc["transactions"]) if t["header_number"] == hn)
    return f"/transactions/{index}"


def account(doc: dict[str, Any], code: str) -> tuple[int, dict[str, Any]]:
    """(index, entry) of a nominal account."""
    return next((n, a) for n, a in enumerate(doc["nominal_accounts"]) if a["code"] == code)


def reported(
    findings: list[Finding], code: str, pointer: str | None = None, hn: int | None = None
) -> Finding:
    """The finding with ``code`` (at ``pointer``, for header ``hn``); fail if there is none."""
    for finding in findings:
        if finding.code != code:
            continue
        if pointer is not None and finding.pointer != pointer:
            continue
        if hn is not None and finding.header_number != hn:
            continue
        return finding
    shown = "\n".join(f"  {f.code} {f.pointer} {f.header_number}: {f.message}" for f in findings)
    pytest.fail(f"no {code} at {pointer} (header {hn}); findings were:\n{shown}")


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


# -- the valid document ---------------------------------------------------------------------


def test_the_valid_document_has_no_findings(validate: Validate, doc: dict[str, Any]) -> None:
    assert validate(doc) == []
    assert validate(doc, indent=2) == []


def test_key_order_does_not_matter(validate: Validate, doc: dict[str, Any]) -> None:
    # The format does not fix the key order: the trail may come before the master data.
    trail_first = {"transactions": doc["transactions"]}
    trail_first.update((key, value) for key, value in doc.items() if key != "transactions")
    assert validate(trail_first) == []
    assert validate(dict(reversed(list(doc.items()))), indent=1) == []


def test_sparse_header_numbers_are_fine(validate: Validate, doc: dict[str, Any]) -> None:
    # Header numbers far apart take the header index's dict path instead of its flat array.
    def shift(hn: int) -> int:
        return hn * 1_000_003 + 10**12

    for item in doc["opening_balances"]["customer_open_items"]:
        item["header_number"] = shift(item["header_number"])
    for item in doc["opening_balances"]["supplier_open_items"]:
        item["header_number"] = shift(item["header_number"])
    for source in [
        *doc["transactions"],
        *doc["opening_balances"]["customer_open_items"],
        *doc["opening_balances"]["supplier_open_items"],
    ]:
        for alloc in source["allocations"]:
            alloc["header_number"] = shift(alloc["header_number"])
    for header in doc["transactions"]:
        header["header_number"] = shift(header["header_number"])
        if header["journal_group"] is not None:
            header["journal_group"] = shift(header["journal_group"])
    assert validate(doc) == []


def test_an_empty_trail_with_opening_balances_only_is_valid(
    validate: Validate, doc: dict[str, Any]
) -> None:
    doc["history_mode"] = "opening_balances"
    doc["transactions"] = []
    for entry in doc["nominal_accounts"] + doc["customers"] + doc["suppliers"]:
        entry["balance"] = None
    for item in doc["opening_balances"]["customer_open_items"]:
        item["allocations"] = []
    assert validate(doc) == []


# -- §11.1 FORMAT_UNSUPPORTED ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [("format", "sage50-xml"), ("format_version", "2.0"), ("format_version", 1.0)],
)
def test_format_unsupported_stops_everything(
    validate: Validate, doc: dict[str, Any], key: str, value: Any
) -> None:
    doc[key] = value
    tx(doc, SI_BRAMBLE)["gross"] = "1.00"  # would be HEADER_TOTALS if checking went on
    findings = validate(doc)
    assert codes(findings) == ["FORMAT_UNSUPPORTED"]
    assert findings[0].pointer == f"/{key}"


def test_a_missing_format_is_unsupported(validate: Validate, doc: dict[str, Any]) -> None:
    del doc["format"]
    assert codes(validate(doc)) == ["FORMAT_UNSUPPORTED"]


def test_a_newer_minor_version_is_checked_as_1_0(validate: Validate, doc: dict[str, Any]) -> None:
    doc["format_version"] = "1.1"
    findings = validate(doc)
    assert codes(findings) == ["SCHEMA_VIOLATION"]
    assert findings[0].pointer == "/format_version"


# -- §11.2 MONEY_FORMAT ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "pointer", "hn"),
    [
        (lambda d: tx(d, SI_BRAMBLE)["splits"][0].update(net=1000.0), "/splits/0/net", SI_BRAMBLE),
        (lambda d: tx(d, SI_BRAMBLE).update(gross="1500.000"), "/gross", SI_BRAMBLE),
        (lambda d: tx(d, BP_RENT).update(net=1000), "/net", BP_RENT),
        (
            lambda d: tx(d, SR_PART)["allocations"][0].update(amount="1,000.00"),
            "/allocations/0/amount",
            SR_PART,
        ),
    ],
    ids=["number-in-split", "three-decimals", "integer", "thousands-separator"],
)
def test_money_format_in_transactions(
    validate: Validate, doc: dict[str, Any], mutate: Mutation, pointer: str, hn: int
) -> None:
    mutate(doc)
    finding = reported(validate(doc), "MONEY_FORMAT", at(doc, hn) + pointer, hn)
    assert "amount" in finding.message or "number" in finding.message


def test_a_money_number_keeps_its_value(validate: Validate, doc: dict[str, Any]) -> None:
    # The number is reported, but 1000 is plainly 1000.00: totals and balances still agree.
    tx(doc, SI_BRAMBLE)["splits"][0]["net"] = 1000
    tx(doc, SI_BRAMBLE)["gross"] = 1500.0
    assert codes(validate(doc)) == ["MONEY_FORMAT", "MONEY_FORMAT"]


@pytest.mark.parametrize(
    ("mutate", "pointer"),
    [
        (
            lambda d: d["opening_balances"]["trial_balance"][0].update(debit=5000),
            "/opening_balances/trial_balance/0/debit",
        ),
        (lambda d: d["customers"][0].update(credit_limit="5000.5.0"), "/customers/0/credit_limit"),
        (lambda d: d["nominal_accounts"][0].update(balance="12"), None),
    ],
    ids=["tb-number", "credit-limit", "no-decimals-is-fine"],
)
def test_money_format_in_master_data(
    validate: Validate, doc: dict[str, Any], mutate: Mutation, pointer: str | None
) -> None:
    mutate(doc)
    findings = validate(doc)
    if pointer is None:  # "12" is a valid amount; only the balance itself is now wrong
        assert "MONEY_FORMAT" not in codes(findings)
        reported(findings, "NOMINAL_BALANCE_MISMATCH", "/nominal_accounts/0/balance")
    else:
        reported(findings, "MONEY_FORMAT", pointer)


# -- §11.2 DATE_INVALID and DATE_OUT_OF_RANGE -----------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "pointer"),
    [
        (lambda d: tx(d, SI_OAKLEY).update(date="2024-02-30"), "T/date"),
        (lambda d: tx(d, SI_OAKLEY).update(due_date="08/05/2024"), "T/due_date"),
        (lambda d: tx(d, SR_PART)["allocations"][0].update(date=20240520), "S/allocations/0/date"),
        (
            lambda d: d["opening_balances"]["customer_open_items"][0].update(date="2024-13-01"),
            "/opening_balances/customer_open_items/0/date",
        ),
        (lambda d: d["company"].update(exported_at="yesterday"), "/company/exported_at"),
    ],
    ids=["no-such-day", "not-iso", "number", "month-13", "timestamp"],
)
def test_date_invalid(
    validate: Validate, doc: dict[str, Any], mutate: Mutation, pointer: str
) -> None:
    mutate(doc)
    pointer = pointer.replace("T/", at(doc, SI_OAKLEY) + "/").replace("S/", at(doc, SR_PART) + "/")
    reported(validate(doc), "DATE_INVALID", pointer)


def test_date_out_of_range(validate: Validate, doc: dict[str, Any]) -> None:
    # exported 2024-07-01: the window ends 365 days later, on 2025-07-01
    tx(doc, SI_OAKLEY)["due_date"] = "2025-07-01"
    assert validate(doc) == []
    tx(doc, SI_OAKLEY)["due_date"] = "2025-07-02"
    finding = reported(validate(doc), "DATE_OUT_OF_RANGE", at(doc, SI_OAKLEY) + "/due_date")
    assert finding.header_number == SI_OAKLEY
    assert finding.details["date"] == "2025-07-02"


def test_dates_before_1980_are_out_of_range(validate: Validate, doc: dict[str, Any]) -> None:
    doc["opening_balances"]["customer_open_items"][0]["date"] = "1979-12-31"
    reported(validate(doc), "DATE_OUT_OF_RANGE", "/opening_balances/customer_open_items/0/date", 1)


# -- §11.3 DUPLICATE_KEY --------------------------------------------------------------------


def _copy_last(section: str) -> Mutation:
    return lambda d: d[section].append(json.loads(json.dumps(d[section][-1])))


@pytest.mark.parametrize(
    ("mutate", "pointer"),
    [
        (
            lambda d: d["nominal_accounts"].append({**d["nominal_accounts"][15], "balance": None}),
            "/nominal_accounts/20/code",
        ),
        (_copy_last("departments"), "/departments/2/number"),
        (_copy_last("tax_codes"), "/tax_codes/5/code"),
        (_copy_last("bank_accounts"), "/bank_accounts/2/nominal_code"),
        (
            lambda d: d["customers"].append({**d["customers"][1], "balance": None}),
            "/customers/3/account_ref",
        ),
        (
            lambda d: d["suppliers"].append({**d["suppliers"][0], "balance": None}),
            "/suppliers/2/account_ref",
        ),
        (_copy_last("products"), "/products/2/stock_code"),
        (
            lambda d: d["opening_balances"]["trial_balance"].append(
                {"nominal_code": "0030", "debit": "0.00", "credit": "0.00"}
            ),
            "/opening_balances/trial_balance/8/nominal_code",
        ),
    ],
    ids=["nominal", "department", "tax-code", "bank", "customer", "supplier", "stock-code", "tb"],
)
def test_duplicate_key(
    validate: Validate, doc: dict[str, Any], mutate: Mutation, pointer: str
) -> None:
    mutate(doc)
    findings = validate(doc)
    assert codes(findings) == ["DUPLICATE_KEY"]
    assert findings[0].pointer == pointer
    assert "more than once" in findings[0].message


# -- §11.3 DUPLICATE_HEADER_NUMBER ----------------------------------------------------------


def test_a_transaction_reusing_an_open_item_number(validate: Validate, doc: dict[str, Any]) -> None:
    tx(doc, BR_SUNDRY)["header_number"] = 2  # open item 2 is an SA of Oakley
    findings = validate(doc)
    assert codes(findings) == ["DUPLICATE_HEADER_NUMBER"]
    finding = findings[0]
    assert finding.header_number == 2
    assert finding.details["first"] == "/opening_balances/customer_open_items/1"


def test_two_transactions_with_one_number(validate: Validate, doc: dict[str, Any]) -> None:
    pointer = at(doc, CP_PHONE)
    tx(doc, CP_PHONE)["header_number"] = BP_RENT
    findings = validate(doc)
    assert codes(findings) == ["DUPLICATE_HEADER_NUMBER"]
    assert findings[0].pointer == pointer + "/header_number"
    assert findings[0].details["first"] == at(doc, BP_RENT)


# -- §11.3 HISTORY_MODE ---------------------------------------------------------------------


def test_a_transaction_on_the_opening_date(validate: Validate, doc: dict[str, Any]) -> None:
    tx(doc, BP_RENT)["date"] = "2024-03-31"
    findings = validate(doc)
    assert codes(findings) == ["HISTORY_MODE"]
    assert findings[0].pointer == at(doc, BP_RENT) + "/date"
    assert findings[0].header_number == BP_RENT


def test_an_open_item_after_the_opening_date(validate: Validate, doc: dict[str, Any]) -> None:
    doc["opening_balances"]["supplier_open_items"][0]["date"] = "2024-04-01"
    reported(validate(doc), "HISTORY_MODE", "/opening_balances/supplier_open_items/0/date", 3)


@pytest.mark.parametrize(
    ("mode", "pointer"),
    [("records_only", "/opening_balances"), ("opening_balances", "/transactions")],
)
def test_a_mode_with_sections_it_forbids(
    validate: Validate, doc: dict[str, Any], mode: str, pointer: str
) -> None:
    doc["history_mode"] = mode
    reported(validate(doc), "HISTORY_MODE", pointer)


def test_full_history_needs_opening_balances(validate: Validate, doc: dict[str, Any]) -> None:
    doc["opening_balances"] = None
    reported(validate(doc), "HISTORY_MODE", "/opening_balances")


# -- §11.4 references -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "pointer"),
    [
        (
            lambda d: tx(d, BP_RENT)["splits"][0].update(nominal_code="7101"),
            f"T{BP_RENT}/splits/0/nominal_code",
        ),
        (lambda d: tx(d, JD_TRANSFER).update(account_ref="1231"), f"T{JD_TRANSFER}/account_ref"),
        (
            lambda d: d["opening_balances"]["trial_balance"].append(
                {"nominal_code": "1250", "debit": "0.00", "credit": "0.00"}
            ),
            "/opening_balances/trial_balance/8/nominal_code",
        ),
        (
            lambda d: d["products"][0].update(purchase_nominal_code="5999"),
            "/products/0/purchase_nominal_code",
        ),
        (
            lambda d: d["customers"][0].update(default_nominal="4999"),
            "/customers/0/default_nominal",
        ),
        (
            lambda d: d["bank_accounts"].append({**d["bank_accounts"][1], "nominal_code": "1250"}),
            "/bank_accounts/2/nominal_code",
        ),
    ],
    ids=["split", "journal-account-ref", "tb-line", "product", "party-default", "bank"],
)
def test_unknown_nominal(
    validate: Validate, doc: dict[str, Any], mutate: Mutation, pointer: str
) -> None:
    mutate(doc)
    if pointer.startswith("T"):
        hn = int(pointer[1:3])
        pointer = at(doc, hn) + pointer[3:]
    finding = reported(validate(doc), "UNKNOWN_NOMINAL", pointer)
    assert finding.details["nominal_code"] in finding.message


@pytest.mark.parametrize(
    ("mutate", "pointer"),
    [
        (lambda d: tx(d, BR_SUNDRY)["splits"][0].update(tax_code="T7"), "T/splits/0/tax_code"),
        (lambda d: d["products"][1].update(tax_code="T20"), "/products/1/tax_code"),
        (
            lambda d: d["suppliers"][1].update(default_tax_code="T4"),
            "/suppliers/1/default_tax_code",
        ),
    ],
    ids=["split", "product", "party-default"],
)
def test_unknown_tax_code(
    validate: Validate, doc: dict[str, Any], mutate: Mutation, pointer: str
) -> None:
    mutate(doc)
    findings = validate(doc)
    assert codes(findings) == ["UNKNOWN_TAX_CODE"]
    assert findings[0].pointer == pointer.replace("T/", at(doc, BR_SUNDRY) + "/")


@pytest.mark.parametrize(
    ("mutate", "pointer", "hn"),
    [
        (lambda d: tx(d, BR_SUNDRY).update(account_ref="1200"), None, None),
        (lambda d: tx(d, SI_OAKLEY).update(account_ref="NOBODY"), "T12/account_ref", SI_OAKLEY),
        (lambda d: tx(d, PI_PENNINE).update(account_ref="BRAMBLE"), "T22/account_ref", PI_PENNINE),
        (lambda d: d["products"][0].update(supplier_ref="ACME"), "/products/0/supplier_ref", None),
        (
            lambda d: d["opening_balances"]["supplier_open_items"][0].update(account_ref="OAKLEY"),
            "/opening_balances/supplier_open_items/0/account_ref",
            3,
        ),
    ],
    ids=["control", "unknown-customer", "customer-on-purchase", "product-supplier", "open-item"],
)
def test_unknown_account_ref(
    validate: Validate, doc: dict[str, Any], mutate: Mutation, pointer: str | None, hn: int | None
) -> None:
    mutate(doc)
    findings = validate(doc)
    if pointer is None:  # unchanged value: a control case for the parametrisation
        assert findings == []
        return
    if pointer.startswith("T"):
        pointer = at(doc, int(pointer[1:3])) + pointer[3:]
    finding = reported(findings, "UNKNOWN_ACCOUNT_REF", pointer, hn)
    assert finding.details["account_ref"] in finding.message


def test_unknown_bank_on_a_receipt(validate: Validate, doc: dict[str, Any]) -> None:
    doc["nominal_accounts"].append(
        {"code": "1210", "name": "Savings", "type": "current_assets", "control_role": None}
    )
    receipt = tx(doc, SR_PART)
    receipt["bank_code"] = receipt["splits"][0]["nominal_code"] = "1210"
    reported(validate(doc), "UNKNOWN_BANK", at(doc, SR_PART) + "/bank_code", SR_PART)


def test_unknown_bank_on_a_bank_payment(validate: Validate, doc: dict[str, Any]) -> None:
    payment = tx(doc, BP_RENT)
    payment["account_ref"] = payment["bank_code"] = "7502"
    finding = reported(validate(doc), "UNKNOWN_BANK", at(doc, BP_RENT) + "/account_ref", BP_RENT)
    assert finding.details == {"bank_code": "7502"}


def test_unknown_department(validate: Validate, doc: dict[str, Any]) -> None:
    tx(doc, PI_TIMBERCO)["splits"][1]["department"] = 7
    findings = validate(doc)
    assert codes(findings) == ["UNKNOWN_DEPARTMENT"]
    assert findings[0].pointer == at(doc, PI_TIMBERCO) + "/splits/1/department"
    assert findings[0].header_number == PI_TIMBERCO


# -- §11.5 NOMINAL_TYPE_MISMATCH and CONTROL_ROLE -------------------------------------------


def test_nominal_type_mismatch(validate: Validate, doc: dict[str, Any]) -> None:
    index, rent = account(doc, "7100")
    rent["type"] = "sales"
    findings = validate(doc)
    assert codes(findings) == ["NOMINAL_TYPE_MISMATCH"]
    assert findings[0].pointer == f"/nominal_accounts/{index}/type"
    assert findings[0].details == {"code": "7100", "stated": "sales", "expected": "overheads"}


def test_a_code_below_the_chart_is_a_type_mismatch(validate: Validate, doc: dict[str, Any]) -> None:
    doc["nominal_accounts"].append(
        {"code": "0005", "name": "Nowhere", "type": "fixed_assets", "control_role": None}
    )
    reported(validate(doc), "NOMINAL_TYPE_MISMATCH", "/nominal_accounts/20/code")


def test_a_required_control_role_is_missing(validate: Validate, doc: dict[str, Any]) -> None:
    account(doc, "9998")[1]["control_role"] = None
    findings = validate(doc)
    assert codes(findings) == ["CONTROL_ROLE"]
    assert findings[0].pointer == "/nominal_accounts"
    assert findings[0].details == {"role": "suspense"}


def test_a_control_role_held_twice(validate: Validate, doc: dict[str, Any]) -> None:
    index, export_sales = account(doc, "4900")
    export_sales["control_role"] = "debtors_control"
    finding = reported(validate(doc), "CONTROL_ROLE", f"/nominal_accounts/{index}/control_role")
    assert finding.details["accounts"] == ["1100", "4900"]


# -- §11.6 HEADER_TOTALS, SPLIT_TOTALS, TAX_CALCULATION -------------------------------------


def test_header_totals(validate: Validate, doc: dict[str, Any]) -> None:
    tx(doc, SI_OAKLEY)["gross"] = "601.00"
    finding = reported(validate(doc), "HEADER_TOTALS", at(doc, SI_OAKLEY) + "/gross", SI_OAKLEY)
    assert finding.details == {
        "net": "500.00",
        "tax": "100.00",
        "gross": "601.00",
        "expected": "600.00",
    }


def test_split_totals(validate: Validate, doc: dict[str, Any]) -> None:
    tx(doc, BP_RENT)["splits"][0]["net"] = "990.00"
    finding = reported(validate(doc), "SPLIT_TOTALS", at(doc, BP_RENT) + "/net", BP_RENT)
    assert finding.details == {"header": "1000.00", "splits": "990.00"}


def _set_tax(doc: dict[str, Any], hn: int, tax: str, code: str | None = None) -> None:
    header = tx(doc, hn)
    split = header["splits"][0]
    split["tax"] = tax
    if code is not None:
        split["tax_code"] = code
    total = sum(float(s["tax"]) for s in header["splits"])
    header["tax"] = f"{total:.2f}"
    header["gross"] = f"{float(header['net']) + total:.2f}"


@pytest.mark.parametrize(
    ("hn", "tax", "code", "expected"),
    [
        (BR_SUNDRY, "21.00", None, "20.00"),  # 20% of 100.00 is 20.00
        (BR_SUNDRY, "20.01", None, None),  # within 0.01: fine
        (BP_RENT, "5.00", None, "0.00"),  # T2 is a 0% code
        (PI_PENNINE, "40.00", "T20", "0.00"),  # T20 is a reverse-charge code
    ],
    ids=["wrong-vat", "one-penny-is-allowed", "zero-rate", "reverse-charge"],
)
def test_tax_calculation(
    validate: Validate,
    doc: dict[str, Any],
    hn: int,
    tax: str,
    code: str | None,
    expected: str | None,
) -> None:
    doc["tax_codes"].append({**doc["tax_codes"][1], "code": "T20", "reverse_charge": True})
    _set_tax(doc, hn, tax, code)
    findings = [f for f in validate(doc) if f.code == "TAX_CALCULATION"]
    if expected is None:
        assert findings == []
        return
    assert len(findings) == 1
    assert findings[0].pointer == at(doc, hn) + "/splits/0/tax"
    assert findings[0].header_number == hn
    assert findings[0].details["expected"] == expected


def test_foreign_vat_is_checked_in_the_foreign_currency(
    validate: Validate, doc: dict[str, Any]
) -> None:
    invoice = tx(doc, SI_EUR)
    invoice["splits"][0]["tax_code"] = "T1"  # 20% of EUR 2300.00 should then be EUR 460.00
    reported(validate(doc), "TAX_CALCULATION", at(doc, SI_EUR) + "/splits/0/foreign_tax", SI_EUR)


# -- §11.6 TYPE_RULE ------------------------------------------------------------------------


def _journal_group(d: dict[str, Any], group: int) -> None:
    tx(d, JC_TRANSFER)["journal_group"] = tx(d, JD_TRANSFER)["journal_group"] = group


@pytest.mark.parametrize(
    ("mutate", "hn", "key"),
    [
        (
            lambda d: tx(d, SR_OPENING)["splits"][0].update(nominal_code="1230"),
            SR_OPENING,
            "/splits/0/nominal_code",
        ),
        (lambda d: _journal_group(d, 99), JC_TRANSFER, "/journal_group"),
        (lambda d: tx(d, JD_TRANSFER).update(date="2024-05-05"), JC_TRANSFER, "/date"),
        (
            lambda d: tx(d, SI_OAKLEY)["allocations"].append(
                {"header_number": 13, "amount": "1.00", "date": "2024-04-10"}
            ),
            SI_OAKLEY,
            "/allocations",
        ),
        (
            lambda d: tx(d, BP_RENT).update(account_ref="1230", bank_code="1230"),
            BP_RENT,
            "/account_ref",
        ),
        (
            lambda d: tx(d, JD_VAT)["splits"].append(dict(tx(d, JD_VAT)["splits"][0])),
            JD_VAT,
            "/splits",
        ),
        (lambda d: tx(d, SI_OAKLEY).update(bank_code="1200"), SI_OAKLEY, "/bank_code"),
        (lambda d: tx(d, SR_PART).update(journal_group=36), SR_PART, "/journal_group"),
        (lambda d: tx(d, JD_TRANSFER).update(journal_group=None), JD_TRANSFER, "/journal_group"),
    ],
    ids=[
        "payment-split-not-bank",
        "group-not-a-member",
        "journal-two-dates",
        "allocations-on-an-invoice",
        "cash-bank-on-bank-payment",
        "journal-two-splits",
        "bank-on-an-invoice",
        "group-on-a-receipt",
        "journal-without-group",
    ],
)
def test_type_rule(
    validate: Validate, doc: dict[str, Any], mutate: Mutation, hn: int, key: str
) -> None:
    mutate(doc)
    reported(validate(doc), "TYPE_RULE", at(doc, hn) + key, hn)


def test_negative_gross_breaks_a_type_rule(validate: Validate, doc: dict[str, Any]) -> None:
    receipt = tx(doc, BR_SUNDRY)
    receipt.update(net="-100.00", tax="-20.00", gross="-120.00")
    receipt["splits"][0].update(net="-100.00", tax="-20.00")
    reported(validate(doc), "TYPE_RULE", at(doc, BR_SUNDRY) + "/gross", BR_SUNDRY)


# -- §11.6 CURRENCY -------------------------------------------------------------------------


def test_a_gbp_header_with_a_rate(validate: Validate, doc: dict[str, Any]) -> None:
    tx(doc, SI_OAKLEY)["exchange_rate"] = "1.2"
    findings = validate(doc)
    assert codes(findings) == ["CURRENCY"]
    assert findings[0].pointer == at(doc, SI_OAKLEY) + "/exchange_rate"


def test_a_foreign_split_converted_wrongly(validate: Validate, doc: dict[str, Any]) -> None:
    invoice = tx(doc, SI_EUR)  # EUR 2300.00 at 1.15 is GBP 2000.00
    invoice["splits"][0]["net"] = invoice["net"] = invoice["gross"] = "2000.02"
    finding = reported(validate(doc), "CURRENCY", at(doc, SI_EUR) + "/splits/0/net", SI_EUR)
    assert finding.details["expected"] == "2000.00"


def test_a_header_in_another_currency_than_its_account(
    validate: Validate, doc: dict[str, Any]
) -> None:
    tx(doc, SI_OAKLEY)["currency"] = "EUR"
    reported(validate(doc), "CURRENCY", at(doc, SI_OAKLEY) + "/currency", SI_OAKLEY)


def test_a_journal_in_euro(validate: Validate, doc: dict[str, Any]) -> None:
    journal = tx(doc, JD_TRANSFER)
    journal.update(
        currency="EUR",
        exchange_rate="1",
        foreign_net="200.00",
        foreign_tax="0.00",
        foreign_gross="200.00",
    )
    journal["splits"][0].update(foreign_net="200.00", foreign_tax="0.00")
    reported(validate(doc), "CURRENCY", at(doc, JD_TRANSFER) + "/currency", JD_TRANSFER)


# -- §11.7 double entry and balances --------------------------------------------------------


def test_journal_unbalanced_and_so_the_trail(validate: Validate, doc: dict[str, Any]) -> None:
    line = tx(doc, JD_TRANSFER)
    line["net"] = line["gross"] = line["splits"][0]["net"] = "210.00"
    findings = validate(doc)
    journal = reported(findings, "JOURNAL_UNBALANCED", at(doc, JC_TRANSFER), JC_TRANSFER)
    assert journal.message == "Journal 30 does not balance: debits 210.00, credits 200.00."
    trail = reported(findings, "TRAIL_UNBALANCED", "/transactions")
    assert trail.details["difference"] == "10.00"
    assert set(codes(findings)) == {
        "JOURNAL_UNBALANCED",
        "TRAIL_UNBALANCED",
        "NOMINAL_BALANCE_MISMATCH",
    }


def test_trail_unbalanced_by_a_gross(validate: Validate, doc: dict[str, Any]) -> None:
    tx(doc, BR_SUNDRY)["gross"] = "121.00"
    findings = validate(doc)
    reported(findings, "HEADER_TOTALS", at(doc, BR_SUNDRY) + "/gross")
    assert reported(findings, "TRAIL_UNBALANCED").details["difference"] == "1.00"


def test_opening_trial_balance_unbalanced(validate: Validate, doc: dict[str, Any]) -> None:
    doc["opening_balances"]["trial_balance"][7]["credit"] = "11750.00"
    finding = reported(validate(doc), "OPENING_TB_UNBALANCED", "/opening_balances/trial_balance")
    assert finding.details == {"debits": "14300.00", "credits": "14310.00", "difference": "-10.00"}


def test_nominal_balance_mismatch(validate: Validate, doc: dict[str, Any]) -> None:
    index, rent = account(doc, "7100")
    rent["balance"] = "1000.01"
    findings = validate(doc)
    assert codes(findings) == ["NOMINAL_BALANCE_MISMATCH"]
    assert findings[0].pointer == f"/nominal_accounts/{index}/balance"
    assert findings[0].details == {
        "nominal_code": "7100",
        "stated": "1000.01",
        "expected": "1000.00",
    }


def test_opening_ledger_mismatch(validate: Validate, doc: dict[str, Any]) -> None:
    lines = doc["opening_balances"]["trial_balance"]
    lines[1]["debit"] = "950.00"  # debtors control; the open items still say 900.00
    lines[7]["credit"] = "11790.00"  # keeps the TB itself balanced
    finding = reported(
        validate(doc), "OPENING_LEDGER_MISMATCH", "/opening_balances/trial_balance/1"
    )
    assert finding.details == {
        "nominal_code": "1100",
        "trial_balance": "950.00",
        "open_items": "900.00",
    }


def test_opening_ledger_mismatch_for_suppliers(validate: Validate, doc: dict[str, Any]) -> None:
    item = doc["opening_balances"]["supplier_open_items"][0]
    item["base_outstanding"] = "906.00"
    reported(validate(doc), "OPENING_LEDGER_MISMATCH", "/opening_balances/trial_balance/3")


# -- §11.8 allocations and outstanding ------------------------------------------------------


def _retarget(hn: int, amount: str | None = None) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        alloc = tx(d, SR_PART)["allocations"][0]
        alloc["header_number"] = hn
        if amount is not None:
            alloc["amount"] = amount

    return mutate


@pytest.mark.parametrize(
    ("mutate", "key", "reason"),
    [
        (_retarget(999), "/header_number", "no transaction or open item 999"),
        (_retarget(SI_DELETED), "/header_number", "is deleted"),
        (_retarget(SI_OAKLEY), "/header_number", "belongs to another account"),
        (_retarget(PI_TIMBERCO), "/header_number", "not in the sales ledger"),
        (_retarget(SC_OAKLEY), "/header_number", "not an item that allocations settle"),
        (_retarget(SI_BRAMBLE, "0.00"), "/amount", "must be more than 0.00"),
    ],
    ids=["missing", "deleted", "other-account", "other-ledger", "not-a-target", "zero"],
)
def test_allocation_invalid(
    validate: Validate, doc: dict[str, Any], mutate: Mutation, key: str, reason: str
) -> None:
    mutate(doc)
    pointer = at(doc, SR_PART) + "/allocations/0" + key
    finding = reported(validate(doc), "ALLOCATION_INVALID", pointer, SR_PART)
    assert reason in finding.message


def test_a_deleted_header_with_allocations(validate: Validate, doc: dict[str, Any]) -> None:
    receipt = tx(doc, SA_BRAMBLE)
    receipt.update(deleted=True, outstanding="0.00", paid_status="paid")
    reported(validate(doc), "ALLOCATION_INVALID", at(doc, SA_BRAMBLE) + "/allocations", SA_BRAMBLE)


def test_over_allocation_from_a_source_and_to_a_target(
    validate: Validate, doc: dict[str, Any]
) -> None:
    tx(doc, SR_PART)["allocations"][0]["amount"] = "1600.00"  # the SR is 1000.00, the SI 1500.00
    findings = validate(doc)
    source = reported(findings, "OVER_ALLOCATION", at(doc, SR_PART) + "/allocations", SR_PART)
    assert source.details == {"allocated": "1600.00", "cap": "1000.00"}
    target = reported(findings, "OVER_ALLOCATION", at(doc, SI_BRAMBLE), SI_BRAMBLE)
    assert target.details == {"allocated": "1600.00", "cap": "1500.00"}


def test_over_allocation_from_an_open_item(validate: Validate, doc: dict[str, Any]) -> None:
    doc["opening_balances"]["customer_open_items"][1]["allocations"][0]["amount"] = "350.00"
    pointer = "/opening_balances/customer_open_items/1/allocations"
    reported(validate(doc), "OVER_ALLOCATION", pointer, 2)


@pytest.mark.parametrize(
    ("mutate", "hn", "key"),
    [
        (lambda d: tx(d, SI_OAKLEY).update(outstanding="250.00"), SI_OAKLEY, "/outstanding"),
        (lambda d: tx(d, SI_OAKLEY).update(paid_status="unpaid"), SI_OAKLEY, "/paid_status"),
        (lambda d: tx(d, SA_BRAMBLE).update(outstanding="200.00"), SA_BRAMBLE, "/outstanding"),
        (
            lambda d: tx(d, BP_RENT).update(outstanding="1000.00", paid_status="unpaid"),
            BP_RENT,
            "/outstanding",
        ),
        (lambda d: tx(d, SI_DELETED).update(outstanding="12.00"), SI_DELETED, "/outstanding"),
    ],
    ids=["target", "target-paid-status", "source", "bank-payment", "deleted"],
)
def test_outstanding_mismatch(
    validate: Validate, doc: dict[str, Any], mutate: Mutation, hn: int, key: str
) -> None:
    mutate(doc)
    reported(validate(doc), "OUTSTANDING_MISMATCH", at(doc, hn) + key, hn)


def test_an_open_item_outstanding_more_than_gross(validate: Validate, doc: dict[str, Any]) -> None:
    doc["opening_balances"]["customer_open_items"][0]["outstanding"] = "1300.00"
    pointer = "/opening_balances/customer_open_items/0/outstanding"
    reported(validate(doc), "OUTSTANDING_MISMATCH", pointer, 1)


def test_account_balance_mismatch(validate: Validate, doc: dict[str, Any]) -> None:
    doc["customers"][0]["balance"] = "351.00"  # Bramble: 500.00 on SI 10, less 150.00 on SA 16
    findings = validate(doc)
    assert codes(findings) == ["ACCOUNT_BALANCE_MISMATCH"]
    assert findings[0].pointer == "/customers/0/balance"
    assert findings[0].details == {
        "account_ref": "BRAMBLE",
        "stated": "351.00",
        "expected": "350.00",
    }


def test_a_foreign_account_balance_is_in_its_currency(
    validate: Validate, doc: dict[str, Any]
) -> None:
    assert doc["customers"][2]["balance"] == "1150.00"  # EUR, not GBP 1000.00
    assert validate(doc) == []


# -- §11.9 warnings -------------------------------------------------------------------------


def test_ledger_control_mismatch_is_a_warning(validate: Validate, doc: dict[str, Any]) -> None:
    # A journal straight to the debtors control account: legal, but the ledger no longer agrees.
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
    account(doc, "1100")[1]["balance"] = "1615.00"  # was 1590.00
    account(doc, "4000")[1]["balance"] = "-1825.00"  # was -1800.00
    findings = validate(doc)
    assert codes(findings) == ["LEDGER_CONTROL_MISMATCH"]
    assert findings[0].severity is Severity.WARNING
    assert findings[0].pointer == "/nominal_accounts/1"
    assert findings[0].details["control_balance"] == "1615.00"
    assert findings[0].details["open_items"] == "1590.00"


def test_allocation_date_before_its_source(validate: Validate, doc: dict[str, Any]) -> None:
    tx(doc, SR_PART)["allocations"][0]["date"] = "2024-05-01"
    findings = validate(doc)
    assert codes(findings) == ["ALLOCATION_DATE"]
    assert findings[0].severity is Severity.WARNING
    assert findings[0].pointer == at(doc, SR_PART) + "/allocations/0/date"


def test_due_date_before_date(validate: Validate, doc: dict[str, Any]) -> None:
    tx(doc, SI_OAKLEY)["due_date"] = "2024-04-01"
    findings = validate(doc)
    assert codes(findings) == ["DUE_DATE"]
    assert findings[0].severity is Severity.WARNING
    assert findings[0].header_number == SI_OAKLEY


# -- SCHEMA_VIOLATION -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "pointer"),
    [
        (lambda d: tx(d, BP_RENT).pop("reference"), "T"),
        (lambda d: tx(d, BP_RENT).update(colour="red"), "T/colour"),
        (lambda d: tx(d, BP_RENT)["splits"][0].update(department="0"), "T/splits/0/department"),
        (lambda d: tx(d, BP_RENT).update(paid_status="settled"), "T/paid_status"),
        (lambda d: tx(d, BP_RENT).update(details="x" * 61), "T/details"),
        (
            lambda d: tx(d, BP_RENT)["splits"][0].update(nominal_code="71-00"),
            "T/splits/0/nominal_code",
        ),
        (lambda d: tx(d, BP_RENT).update(splits={}), "T/splits"),
        (lambda d: d["products"][0].update(stock_code="oak-door"), "/products/0/stock_code"),
        (lambda d: d["company"].update(vat_number="123"), "/company/vat_number"),
        (lambda d: d.update(notes="exported by hand"), "/notes"),
        (lambda d: d["customers"].append("BRAMBLE"), "/customers/3"),
    ],
    ids=[
        "missing-key",
        "unknown-key",
        "wrong-type",
        "bad-enum",
        "too-long",
        "bad-pattern",
        "not-a-list",
        "stock-code",
        "vat-number",
        "unknown-top-level-key",
        "not-an-object",
    ],
)
def test_schema_violation(
    validate: Validate, doc: dict[str, Any], mutate: Mutation, pointer: str
) -> None:
    mutate(doc)
    pointer = pointer.replace("T", at(doc, BP_RENT), 1) if pointer.startswith("T") else pointer
    reported(validate(doc), "SCHEMA_VIOLATION", pointer)


def test_a_missing_key_names_the_key(validate: Validate, doc: dict[str, Any]) -> None:
    del tx(doc, BP_RENT)["reference"]
    findings = validate(doc)
    assert codes(findings) == ["SCHEMA_VIOLATION"]
    assert findings[0].details == {"missing_key": "reference"}
    assert findings[0].header_number == BP_RENT


def test_missing_keys_are_reported_in_a_fixed_order(
    validate: Validate, doc: dict[str, Any]
) -> None:
    # Found by a set difference, whose order changes from one run to the next unless sorted.
    for key in ("vat_scheme", "name", "sage50_version", "base_currency"):
        del doc["company"][key]
    findings = [f for f in validate(doc) if f.pointer == "/company"]
    assert [f.details["missing_key"] for f in findings] == [
        "base_currency",
        "name",
        "sage50_version",
        "vat_scheme",
    ]


def test_a_key_after_the_trail(validate: Validate, doc: dict[str, Any]) -> None:
    # The usual order ends with the trail; the head pass stops there, so what follows is found
    # from the bytes after the last transaction.
    doc["notes"] = "added after the transactions"
    findings = validate(doc, indent=2)
    assert codes(findings) == ["SCHEMA_VIOLATION"]
    assert findings[0].pointer == "/notes"


def test_a_long_value_after_the_trail(validate: Validate, doc: dict[str, Any]) -> None:
    # Longer than the tail window, so the validator cannot see past it and reads the file
    # again; a section repeated after the trail is reported too.
    doc["notes"] = "x" * 10_000  # dicts keep insertion order: this comes after "transactions"
    raw = json.dumps(doc)[:-1] + ', "products": []}'
    findings = validate(raw=raw.encode())
    assert sorted(f.pointer for f in findings) == ["/notes", "/products"]
    assert set(codes(findings)) == {"SCHEMA_VIOLATION"}


# -- unreadable input -----------------------------------------------------------------------


def _one(findings: list[Finding], code: str) -> Finding:
    assert codes(findings) == [code], findings
    return findings[0]


def test_an_empty_file(validate: Validate) -> None:
    _one(validate(raw=b""), "FILE_EMPTY")
    _one(validate(raw=b"  \n\t\n"), "FILE_EMPTY")


def test_a_missing_file(tmp_path: Path) -> None:
    finding = _one(list(validate_file(tmp_path / "nowhere.json")), "FILE_NOT_FOUND")
    assert "nowhere.json" in finding.message


def test_a_directory_is_unreadable(tmp_path: Path) -> None:
    _one(list(validate_file(tmp_path)), "FILE_UNREADABLE")


def test_malformed_json_says_where(validate: Validate, doc: dict[str, Any]) -> None:
    text = json.dumps(doc, indent=2).replace('"reference": "REF27",', '"reference": "REF27"', 1)
    finding = _one(validate(raw=text.encode()), "JSON_MALFORMED")
    line = text[: text.index('"REF27"')].count("\n") + 2  # the error shows on the next key
    assert finding.details["line"] == line
    assert f"line {line}" in finding.message


def test_trailing_garbage_is_malformed(validate: Validate, doc: dict[str, Any]) -> None:
    _one(validate(raw=json.dumps(doc).encode() + b"\n}"), "JSON_MALFORMED")


@pytest.mark.parametrize("keep", [0.05, 0.5, 0.999])
def test_a_truncated_file(validate: Validate, doc: dict[str, Any], keep: float) -> None:
    raw = json.dumps(doc, indent=2, ensure_ascii=False).encode()
    finding = validate(raw=raw[: int(len(raw) * keep)])[-1]
    assert finding.code == "JSON_MALFORMED"
    assert "ends before the JSON is complete" in finding.message
    assert "cut off" in finding.message


def test_windows_1252_text(validate: Validate, doc: dict[str, Any]) -> None:
    raw = json.dumps(doc, ensure_ascii=False).encode("cp1252")  # "Atelier Lumière SARL"
    finding = _one(validate(raw=raw), "ENCODING")
    assert "0xE8" in finding.message
    assert "Windows-1252" in finding.message
    assert finding.details["offset"] == raw.index(b"\xe8")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_utf16_and_utf32_text(validate: Validate, doc: dict[str, Any], encoding: str) -> None:
    _one(validate(raw=json.dumps(doc).encode(encoding)), "ENCODING")


def test_a_byte_order_mark(validate: Validate, doc: dict[str, Any]) -> None:
    finding = _one(validate(raw=b"\xef\xbb\xbf" + json.dumps(doc).encode()), "ENCODING")
    assert "byte order mark" in finding.message
    assert "BOM" in finding.message


@pytest.mark.parametrize("top", [[], ["sage50-json"], "sage50-json", 42])
def test_a_top_level_that_is_not_an_object(validate: Validate, top: Any) -> None:
    finding = _one(validate(top), "SCHEMA_VIOLATION")
    assert "top level" in finding.message


def test_nothing_raises_on_odd_values(validate: Validate, doc: dict[str, Any]) -> None:
    # Unhashable or out-of-range values where codes and numbers belong.
    header = tx(doc, BP_RENT)
    header.update(type=["BP"], currency={"code": "GBP"}, header_number=10**30)
    header["splits"][0].update(nominal_code=[7100], department=10**30, tax_code=None)
    tx(doc, SR_PART)["allocations"][0].update(header_number=10**40, amount="9" * 40 + ".00")
    findings = validate(doc)
    assert "SCHEMA_VIOLATION" in codes(findings)
