"""Mapping rules: the UK tax-code map, references, stamps, amounts to the penny, Decimal wire."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from migrationkit import (
    Allocation,
    Contact,
    CreditNote,
    DocumentKind,
    DocumentLine,
    Invoice,
    TaxRate,
    TaxTreatment,
)
from migrationkit.connectors.sage_accounting import mapping, wire
from migrationkit.connectors.sage_accounting.taxes import DEFAULT_TAX_CODE_MAP, match_tax_rate
from migrationkit.testing.sandboxes.sage_accounting.data import TAX_RATES

GB_RATES = {rate_id: {"id": rate_id, "percentage": pct} for rate_id, _, pct, _ in TAX_RATES}

# Sage 50's UK codes as the generator writes them: (code, rate, treatment).
UK_CODES = [
    ("T0", "0.00", TaxTreatment.ZERO, "GB_ZERO"),
    ("T1", "20.00", TaxTreatment.STANDARD, "GB_STANDARD"),
    ("T2", "0.00", TaxTreatment.EXEMPT, "GB_EXEMPT"),
    ("T4", "0.00", TaxTreatment.EC_GOODS_SALES, "GB_ZERO"),
    ("T5", "5.00", TaxTreatment.REDUCED, "GB_LOWER"),
    ("T7", "0.00", TaxTreatment.EC_GOODS_PURCHASES, "GB_ZERO"),
    ("T8", "20.00", TaxTreatment.EC_GOODS_PURCHASES, "GB_STANDARD"),
    ("T9", "0.00", TaxTreatment.OUTSIDE_SCOPE, "GB_NO_TAX"),
    ("T20", "20.00", TaxTreatment.REVERSE_CHARGE, "GB_STANDARD"),
    ("T22", "0.00", TaxTreatment.EC_SERVICES_SALES, "GB_ZERO"),
    ("T23", "0.00", TaxTreatment.EC_SERVICES_PURCHASES, "GB_ZERO"),
    ("T24", "20.00", TaxTreatment.EC_SERVICES_PURCHASES, "GB_STANDARD"),
    ("T25", "20.00", TaxTreatment.FLAT_RATE_CAPITAL, "GB_STANDARD"),
]


def rate(code: str, pct: str, treatment: TaxTreatment = TaxTreatment.OTHER) -> TaxRate:
    return TaxRate(key=code, code=code, name=f"Code {code}", rate=D(pct), treatment=treatment)


@pytest.mark.parametrize(("code", "pct", "treatment", "expected"), UK_CODES)
def test_every_default_uk_code_lands_on_its_gb_rate(
    code: str, pct: str, treatment: TaxTreatment, expected: str
) -> None:
    found = match_tax_rate(rate(code, pct, treatment), {}, GB_RATES)
    assert (found.rate_id, found.problem) == (expected, None)
    assert DEFAULT_TAX_CODE_MAP[code] == expected


def test_an_unmapped_code_is_a_problem_naming_the_code_and_the_option() -> None:
    found = match_tax_rate(rate("T3", "15.00"), {}, GB_RATES)
    assert found.rate_id is None and found.problem is not None
    assert found.problem.code == "TAX_CODE_UNMAPPED"
    assert "T3" in found.problem.message and "tax_rate_map" in found.problem.message
    assert "GB_STANDARD" in found.problem.message  # it lists what the business has


def test_the_option_maps_any_code_and_overrides_the_default() -> None:
    assert match_tax_rate(rate("T3", "5.00"), {"T3": "GB_LOWER"}, GB_RATES).rate_id == "GB_LOWER"
    assert match_tax_rate(rate("T1", "0.00"), {"T1": "GB_ZERO"}, GB_RATES).rate_id == "GB_ZERO"


def test_a_redefined_code_is_caught_by_its_percentage() -> None:
    found = match_tax_rate(rate("T1", "17.50"), {}, GB_RATES)
    assert found.problem is not None and found.problem.code == "TAX_RATE_MISMATCH"
    unknown = match_tax_rate(rate("T3", "5.00"), {"T3": "GB_NOPE"}, GB_RATES)
    assert unknown.problem is not None and unknown.problem.code == "TAX_RATE_UNKNOWN"


def contact(code: str | None, key: str = "customer:X") -> Contact:
    return Contact(key=key, code=code, name="Café Mäkinen", is_customer=True)


def test_contact_reference_is_the_code_cut_to_ten() -> None:
    assert mapping.contact_reference(contact("ACME")) == ("ACME", False)
    assert mapping.contact_reference(contact("ABCDEFGHIJKL")) == ("ABCDEFGHIJ", True)
    assert mapping.contact_reference(contact(None)) == (None, False)


def test_a_cut_contact_reference_is_reported_in_the_payload_warnings() -> None:
    written = mapping.contact_payload(contact("TOOLONGCODE1"), lambda e, k: k, "TOOLONGCOD", "GBP")
    assert written.body["reference"] == "TOOLONGCOD"
    assert written.body["source_guid"] == "customer:X"


def test_stamps_fit_the_limit_and_are_stripped_back() -> None:
    tag = mapping.stamp("write-1")
    assert len(tag) == 9 and tag == mapping.stamp("write-1") != mapping.stamp("write-2")
    text, cut = mapping.with_stamp("Payment for INV-14304 and INV-14305", tag, 25)
    assert cut and len(text or "") == 25 and (text or "").endswith(tag)
    assert mapping.strip_stamp(text) == ("Payment for INV", tag)
    assert mapping.strip_stamp(tag) == (None, tag)
    assert mapping.strip_stamp("BACS") == ("BACS", None)


def line(
    net: str, tax: str, base_net: str | None = None, base_tax: str | None = None
) -> DocumentLine:
    return DocumentLine(
        description="Mugs",
        account="4000",
        tax_rate="T1",
        net=D(net),
        tax=D(tax),
        base_net=D(base_net or net),
        base_tax=D(base_tax or tax),
    )


def ref(entity: str, key: str) -> str:
    return {"tax_rates": "GB_STANDARD"}.get(entity, f"id-{key}")


def test_document_amounts_are_sent_line_by_line_to_the_penny() -> None:
    invoice = Invoice(
        key="17",
        kind=DocumentKind.SALES,
        number="INV-1",
        contact="customer:A",
        date=dt.date(2023, 4, 3),
        currency="EUR",
        exchange_rate=D("1.1466"),
        lines=(
            line("678.60", "0.00", "591.84", "0.00"),
            line("275.28", "55.06", "240.08", "48.02"),
        ),
    )
    written = mapping.document_payload(
        invoice, ref, lambda c: [], base_currency="GBP", keep_number=True, tag=None,
        reverse_charge=False,
    )  # fmt: skip
    body = written.body["sales_invoice"]
    assert body["invoice_number"] == "INV-1" and "notes" not in body
    assert [
        (x["net_amount"], x["tax_amount"], x["base_currency_net_amount"])
        for x in body["invoice_lines"]
    ] == [
        (D("678.60"), D("0.00"), D("591.84")),
        (D("275.28"), D("55.06"), D("240.08")),
    ]
    assert body["total_amount"] == D("1008.94") and body["base_currency_total_amount"] == D(
        "879.94"
    )
    assert body["exchange_rate"] == D("1.1466")


def test_a_purchase_document_carries_number_as_vendor_reference_and_the_stamp() -> None:
    credit = CreditNote(
        key="62",
        kind=DocumentKind.PURCHASE,
        number="CN-44624-VERY-LONG-SUPPLIER-NUMBER",
        contact="supplier:G",
        date=dt.date(2023, 4, 10),
        description="Returned goods",
        reference="R" * 30,
        lines=(line("36.00", "7.20"),),
        allocations=(Allocation(document_entity="refunds", document="90", amount=D("43.20")),),
    )
    written = mapping.document_payload(
        credit, ref, lambda c: [], base_currency="GBP", keep_number=True, tag="~ABCDEFGH",
        reverse_charge=False,
    )  # fmt: skip
    body = written.body["purchase_credit_note"]
    assert body["vendor_reference"] == "CN-44624-VERY-LONG-SUPPLIER-NUM"
    assert body["reference"] == "R" * 25
    assert body["notes"] == "Returned goods ~ABCDEFGH"
    assert any("reference cut to 25" in w for w in written.warnings)
    assert any("number cut to 31" in w for w in written.warnings)


def test_amounts_travel_as_json_numbers_never_floats() -> None:
    encoded = wire.dumps({"a": D("1653.10"), "b": [D("0.01"), 7], "c": dt.date(2024, 1, 2)})
    assert encoded == b'{"a":1653.10,"b":[0.01,7],"c":"2024-01-02"}'
    decoded = wire.loads(encoded)
    assert decoded["a"] == D("1653.10") and isinstance(decoded["a"], D)
    with pytest.raises(TypeError, match="float"):
        wire.dumps({"a": 1.5})
    with pytest.raises(TypeError, match="float"):
        wire.money(0.1)


def test_sage_errors_are_read_from_their_array() -> None:
    body = wire.error_body("RecordInvalid", "Reference is too long.", "reference")
    (error,) = wire.parse_errors(body)
    assert (error.data_code, error.source) == ("RecordInvalid", "reference")
    assert error.describe() == "Reference is too long. (at reference)"
    assert wire.parse_errors({"unexpected": True})[0].data_code == "UnexpectedResponse"


def test_a_journal_is_debit_and_credit_per_line() -> None:
    from migrationkit import JournalLine, ManualJournal

    journal = ManualJournal(
        key="30",
        date=dt.date(2024, 4, 8),
        narration="Accrual",
        lines=(
            JournalLine(account="7100", amount=D("25.00")),
            JournalLine(account="2109", amount=D("-25.00")),
        ),
    )
    body = mapping.journal_payload(journal, ref, lambda c: [], tag="~ABCDEFGH").body["journal"]
    assert [(x["debit"], x["credit"]) for x in body["journal_lines"]] == [
        (D("25.00"), D("0")),
        (D("0"), D("25.00")),
    ]
    assert body["reference"] == "30 ~ABCDEFGH" and body["total"] == D("25.00")
    read = mapping.read_journal({**body, "id": "j1", "journal_lines": [
        {"ledger_account": {"id": "a"}, "debit": D("25.00"), "credit": D("0")},
        {"ledger_account": {"id": "b"}, "debit": D("0"), "credit": D("25.00")},
    ]})  # fmt: skip
    assert read.reference == "30" and [x.amount for x in read.lines] == [D("25.00"), D("-25.00")]
