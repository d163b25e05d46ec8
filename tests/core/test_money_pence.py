"""Whole-unit money in ``int`` (pence, basis points, millionths): exact, and refuses the rest."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from migrationkit.core.money import (
    MoneyFormatError,
    fixed_point,
    pence,
    pence_text,
    round_div,
    round_money,
    whole_pence,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12.50", 1250), ("-12.5", -1250), ("12", 1200), ("0.00", 0), ("-0.01", -1), ("007.10", 710)],
)
def test_pence(text: str, expected: int) -> None:
    assert pence(text) == expected
    assert D(pence_text(expected)) == D(text)


@pytest.mark.parametrize("text", ["1.234", "", "-", "1.", ".5", " 1", "1e5", "+1", "1,00", "١٢"])
def test_pence_refuses_what_is_not_a_two_decimal_amount(text: str) -> None:
    with pytest.raises(MoneyFormatError):
        pence(text)


def test_fixed_point_scales_rates_too() -> None:
    assert fixed_point("17.5", 2) == 1750  # a VAT rate in hundredths of a percent
    assert fixed_point("1.1685", 6) == 1_168_500  # an exchange rate in millionths
    with pytest.raises(MoneyFormatError):
        fixed_point("1.1234567", 6)


def test_pence_text() -> None:
    assert [pence_text(n) for n in (-1250, -5, 0, 5, 100_000)] == [
        "-12.50",
        "-0.05",
        "0.00",
        "0.05",
        "1000.00",
    ]


def test_whole_pence() -> None:
    assert whole_pence(D("884")) == 88_400
    assert whole_pence(D("1.500")) == 150
    assert whole_pence(D("1.005")) is None
    assert whole_pence(D("NaN")) is None


def test_round_div_rounds_as_round_money_does() -> None:
    for denominator in (1, 2, 3, 10, 200, 10_000, 1_168_500):
        for numerator in [*range(-400, 401), 5_000, -5_000, 10**18 + 5, -(10**18) - 5]:
            exact = D(numerator) / D(denominator)
            assert round_div(numerator, denominator) == round_money(exact, D(1)), numerator
