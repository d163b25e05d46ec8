"""Fingerprints: same content, same hash; any change, another hash."""

from __future__ import annotations

from decimal import Decimal as D

import attrs
from hypothesis import given
from hypothesis import strategies as st

from factories import company, line, sales_invoice
from migrationkit import Record, fingerprint
from migrationkit.core.fingerprint import _decimal, canonical_text
from strategies import ANY_RECORD


def test_decimals_hash_alike_whatever_their_scale() -> None:
    a = sales_invoice("1", net="100.00")
    b = attrs.evolve(a, lines=(attrs.evolve(a.lines[0], net=D("100"), base_net=D("1E+2")),))
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(attrs.evolve(a, lines=(line("4000", "0.00", "-0"),))) == fingerprint(
        attrs.evolve(a, lines=(line("4000", "0", "0.00"),))
    )


def test_the_key_is_identity_not_content() -> None:
    a = sales_invoice("1")
    assert fingerprint(a) == fingerprint(attrs.evolve(a, key="2"))


def test_fingerprints_are_stable_across_runs() -> None:
    # A fixed value: changing the canonical form would make every record look changed to the
    # next delta run, so it must only change on purpose.
    record = sales_invoice("1")
    assert canonical_text(record) == (
        "invoices:{'sales','INV-1','customer:ACME',2024-04-01,~,~,~,'GBP',1,'posted',"
        "[{~,'line on 4000','4000','T1',100,20,100,20,~,~,~,[]}]}"
    )
    assert fingerprint(record) == "e4894aaf5fa023b666278a85ea00177f"


@given(ANY_RECORD)
def test_equal_records_hash_equal(record: Record) -> None:
    copy = attrs.evolve(record)
    assert fingerprint(copy) == fingerprint(record)


@given(ANY_RECORD, ANY_RECORD)
def test_different_content_hashes_differently(a: Record, b: Record) -> None:
    if canonical_text(a) != canonical_text(b):
        assert fingerprint(a) != fingerprint(b)


def test_text_escaping_keeps_records_apart() -> None:
    a = attrs.evolve(sales_invoice("1"), reference='a","b')
    b = attrs.evolve(sales_invoice("1"), reference="a", description="b")
    assert canonical_text(a) != canonical_text(b)


def test_every_field_of_every_entity_counts() -> None:
    for records in company().values():
        for record in records:
            for field in attrs.fields(type(record)):
                if field.name == "key":
                    continue
                value = getattr(record, field.name)
                if isinstance(value, bool):
                    changed = attrs.evolve(record, **{field.name: not value})
                elif isinstance(value, str) and field.name not in ("currency",):
                    changed = attrs.evolve(record, **{field.name: value + "x"})
                else:
                    continue
                assert fingerprint(changed) != fingerprint(record), (record.entity, field.name)


@given(
    st.decimals(allow_nan=False, allow_infinity=False)
    | st.sampled_from([D("0E-8"), D("-0.00"), D("1E+2"), D("-1.2300E+5"), D("100"), D("0.10")])
)
def test_amount_text_is_the_exact_plain_form_without_trailing_zeros(value: D) -> None:
    plain = format(value, "f")  # exact: no context rounding, unlike Decimal.normalize()
    if "." in plain:
        plain = plain.rstrip("0").rstrip(".")
    assert _decimal(value) == ("0" if plain in ("0", "-0") else plain)
