"""Canonical records to Xero payloads and back, and Xero's wire formats."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal as D
from pathlib import Path

import pytest

from migrationkit import (
    AccountType,
    ControlRole,
    DocumentLine,
    OpenItemKind,
    TaxRate,
    TaxTreatment,
)
from migrationkit.connectors.xero import mapping as m
from migrationkit.connectors.xero import wire


def _rate(treatment: TaxTreatment, rate: str, **extra: object) -> TaxRate:
    return TaxRate(key="T", code="T", name="t", rate=D(rate), treatment=treatment, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("treatment", "rate", "target"),
    [
        (TaxTreatment.STANDARD, "20", "OUTPUT2/INPUT2"),
        (TaxTreatment.REDUCED, "5", "RROUTPUT/RRINPUT"),
        (TaxTreatment.ZERO, "0", "ZERORATEDOUTPUT/ZERORATEDINPUT"),
        (TaxTreatment.EXEMPT, "0", "EXEMPTOUTPUT/EXEMPTINPUT"),
        (TaxTreatment.OUTSIDE_SCOPE, "0", "NONE"),
        (TaxTreatment.EC_GOODS_SALES, "0", "ECZROUTPUT"),
        (TaxTreatment.EC_SERVICES_SALES, "0", "ECZROUTPUTSERVICES"),
        (TaxTreatment.EC_GOODS_PURCHASES, "0", "ECZRINPUT"),
        (TaxTreatment.EC_GOODS_PURCHASES, "20", "ECACQUISITIONS"),
        (TaxTreatment.REVERSE_CHARGE, "20", "REVERSECHARGES"),
        (TaxTreatment.STANDARD, "17.5", None),
        (TaxTreatment.OTHER, "12", None),
    ],
)
def test_tax_rates_match_xero_built_in_types_by_treatment_and_rate(
    treatment: TaxTreatment, rate: str, target: str | None
) -> None:
    assert m.choose_tax_target(_rate(treatment, rate)) == target


def test_a_document_picks_the_side_of_its_direction() -> None:
    assert m.tax_type_for("OUTPUT2/INPUT2", output=True) == "OUTPUT2"
    assert m.tax_type_for("OUTPUT2/INPUT2", output=False) == "INPUT2"
    assert m.tax_type_for("NONE", output=False) == "NONE"
    assert m.tax_key_for("INPUT2") == "OUTPUT2/INPUT2"
    assert m.tax_key_for("TAX003") == "TAX003"


def test_date_only_fields_are_not_shifted_by_their_offset() -> None:
    # Midnight UTC of 11 March 2019, rendered in New Zealand (+1300): still 11 March.
    assert wire.parse_date("/Date(1552262400000+1300)/") == dt.date(2019, 3, 11)
    assert wire.parse_date("/Date(1552262400000)/") == dt.date(2019, 3, 11)
    assert wire.parse_date("2019-03-11T00:00:00") == dt.date(2019, 3, 11)
    assert wire.parse_date(None) is None
    moment = wire.parse_datetime("/Date(1451988985943+1300)/")
    assert moment == dt.datetime(2016, 1, 5, 10, 16, 25, 943000, tzinfo=dt.UTC)
    assert wire.format_msdate(dt.date(2019, 3, 11)) == "/Date(1552262400000+0000)/"


def test_amounts_travel_as_decimals_both_ways() -> None:
    body = wire.loads(b'{"Total": 120.10, "CurrencyRate": 1, "pagination": {"page": 2}}')
    assert body["Total"] == D("120.10") and isinstance(body["Total"], D)
    assert isinstance(body["CurrencyRate"], D), "an integer amount is a Decimal too"
    assert body["pagination"]["page"] == 2 and isinstance(body["pagination"]["page"], int)
    assert wire.dumps({"Amount": D("0.10"), "Rate": D("-0"), "Name": "Café"}) == (
        '{"Amount":0.10,"Rate":0,"Name":"Café"}'.encode()
    )
    with pytest.raises(TypeError, match="float"):
        wire.dumps({"Amount": 0.1})


def _line(
    net: str, tax: str, quantity: str | None = None, price: str | None = None
) -> DocumentLine:
    return DocumentLine(
        number="1",
        description="d",
        account="4000",
        net=D(net),
        tax=D(tax),
        base_net=D(net),
        base_tax=D(tax),
        quantity=D(quantity) if quantity else None,
        unit_price=D(price) if price else None,
    )


def test_lines_carry_the_source_tax_so_xero_cannot_round_it_differently() -> None:
    payload, warning = m.line_payload(
        _line("33.33", "6.67", "3", "11.11"),
        account_code="4000",
        account_id="id",
        tax_type="OUTPUT2",
        item_code=None,
        tracking=(),
    )
    assert payload["TaxAmount"] == D("6.67") and payload["LineAmount"] == D("33.33")
    assert (payload["Quantity"], payload["UnitAmount"]) == (D("3"), D("11.11"))
    assert warning is None


def test_quantities_that_do_not_make_the_net_go_as_one_unit_with_a_warning() -> None:
    payload, warning = m.line_payload(
        _line("10.00", "2.00", "3", "3.33333"),
        account_code="4000",
        account_id="id",
        tax_type="OUTPUT2",
        item_code=None,
        tracking=(),
    )
    assert (payload["Quantity"], payload["UnitAmount"]) == (D(1), D("10.00"))
    assert warning and "does not make 10.00" in warning


def test_account_types_and_control_roles() -> None:
    assert m.ACCOUNT_TYPES[AccountType.BANK] == "BANK"
    assert m.account_type_from_xero("REVENUE") is AccountType.SALES
    assert m.SYSTEM_ROLES[ControlRole.PURCHASE_TAX] == m.SYSTEM_ROLES[ControlRole.SALES_TAX]
    vat = m.XeroAccount(id="A", code="820", name="VAT", type="CURRLIAB", system="GST")
    assert m.role_of(vat) is ControlRole.SALES_TAX
    assert m.split_view("A#input") == ("A", True)
    assert m.is_control(ControlRole.RECEIVABLES, AccountType.CURRENT_ASSET)
    assert m.is_control(None, AccountType.BANK)
    assert not m.is_control(ControlRole.SALES_TAX, AccountType.CURRENT_LIABILITY)


def test_conversion_marks_read_back() -> None:
    text = m.opening_narration(dt.date(2024, 3, 31), "610", "Accounts Receivable")
    assert m.parse_opening_narration(text) == (dt.date(2024, 3, 31), "610 Accounts Receivable")
    assert m.parse_opening_narration("Accrual") is None
    for kind, document in m.OPEN_ITEM_DOCUMENT.items():
        line = m.open_item_line(kind, "INV-9")
        assert m.parse_open_item_line(line, document) is kind
    assert (
        m.parse_open_item_line(m.open_item_line(OpenItemKind.SALES_INVOICE, None), "ACCPAY") is None
    )


def test_base_amounts_are_converted_at_the_rate_to_the_cent() -> None:
    assert m.base_amount(D("100.00"), D("1.17")) == D("85.47")
    assert m.base_amount(D("100.00"), D(1)) == D("100.00")
    assert m.bank_account_number("1200", "60-16-13", "31926819", None) == "60161331926819"
    assert m.bank_account_number("1230", None, None, None) == "1230"


def test_amounts_are_rounded_and_read_only_through_core_money() -> None:
    """No Xero module rounds or parses an amount its own way (migrationkit.core.money does)."""
    folder = Path(m.__file__).parent
    own_decimal = re.compile(r"Decimal\((?![\"\d])")
    for path in sorted(folder.glob("*.py")):
        text = path.read_text("utf-8")
        assert ".quantize(" not in text and "ROUND_" not in text, path.name
        assert not own_decimal.search(text), path.name


def test_a_base_amount_is_rounded_half_away_from_zero_to_the_cent() -> None:
    assert m.base_amount(D("0.05"), D("2")) == D("0.03")
    assert m.base_amount(D("-0.05"), D("2")) == D("-0.03")
    assert m.base_amount(D("10.00"), None) == D("10.00")
    assert m.has_cents_only(D("1.10")) and not m.has_cents_only(D("1.105"))


def test_amounts_written_as_json_integers_are_read_as_decimal() -> None:
    body = wire.loads(b'{"Total": 12, "Page": 2, "UnitAmount": 1E-05}')
    assert body == {"Total": D(12), "Page": 2, "UnitAmount": D("0.00001")}
    assert isinstance(body["Total"], D) and isinstance(body["Page"], int)
