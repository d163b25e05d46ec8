"""Amounts are Decimal, parsed strictly, never float."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from migrationkit.core.money import (
    MoneyFormatError,
    as_decimal,
    money_text,
    parse_money,
    round_money,
)


@pytest.mark.parametrize(
    ("text", "mark", "expected"),
    [
        ("1653.00", ".", D("1653.00")),
        ("-2125.5", ".", D("-2125.5")),
        ("1653,00", ",", D("1653.00")),
        ("1.234,56", ",", D("1234.56")),
        ("1,234.56", ".", D("1234.56")),
        (" 7 ", ".", D("7")),
    ],
)
def test_parse_money(text: str, mark: str, expected: D) -> None:
    thousands = "," if mark == "." else "."
    assert parse_money(text, decimal_mark=mark, thousands=thousands) == expected


@pytest.mark.parametrize("text", ["", "abc", "1,23", "1.2.3", "1e5", "NaN", "--1"])
def test_parse_money_refuses_what_is_not_an_amount(text: str) -> None:
    with pytest.raises(MoneyFormatError):
        parse_money(text, thousands=",")


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError, match="float"):
        as_decimal(0.1)
    assert as_decimal("0.10") == D("0.10")
    assert as_decimal(3) == D(3)


def test_rounding_is_half_up_away_from_zero() -> None:
    assert round_money(D("0.125")) == D("0.13")
    assert round_money(D("-0.125")) == D("-0.13")
    assert money_text(D("1653.00")) == "1653.00"
