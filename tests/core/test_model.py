"""The canonical model: Decimal only, optional text is None, references by key."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from factories import company, line
from migrationkit import (
    ENTITY_ORDER,
    RECORD_TYPES,
    Address,
    Contact,
    DocumentKind,
    Invoice,
    OpenItemKind,
)


def test_money_fields_refuse_floats() -> None:
    with pytest.raises(TypeError):
        line("4000", "1.00").__class__(
            account="4000", net=1.0, tax=D(0), base_net=D(0), base_tax=D(0)
        )  # type: ignore[arg-type]


def test_empty_optional_text_is_none() -> None:
    contact = Contact(key="c", name="Name", email="", address=Address(line1=""))
    assert contact.email is None
    assert contact.address.line1 is None


def test_exchange_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="exchange_rate"):
        Invoice(
            key="1",
            kind=DocumentKind.SALES,
            contact="c",
            date=dt.date(2024, 1, 1),
            exchange_rate=D(0),
        )


def test_document_totals_are_the_sums_of_their_lines() -> None:
    invoice = Invoice(
        key="1",
        kind=DocumentKind.SALES,
        contact="c",
        date=dt.date(2024, 1, 1),
        lines=(line("4000", "10.00", "2.00"), line("4010", "5.50", "0.00", "T0")),
    )
    assert (invoice.net, invoice.tax, invoice.gross) == (D("15.50"), D("2.00"), D("17.50"))


def test_every_reference_points_backwards_in_load_order() -> None:
    """The engine loads in ENTITY_ORDER, so a reference may only name an earlier entity."""
    position = {entity: n for n, entity in enumerate(ENTITY_ORDER)}
    for entity, records in company().items():
        for record in records:
            for ref_entity, _key in record.references():
                assert position[ref_entity] <= position[entity], (entity, ref_entity)


def test_entity_order_covers_every_record_type() -> None:
    assert list(RECORD_TYPES) == list(ENTITY_ORDER)
    assert all(cls.entity == name for name, cls in RECORD_TYPES.items())


def test_open_item_kinds_know_their_ledger_and_sign() -> None:
    assert OpenItemKind.SALES_INVOICE.increases_balance
    assert not OpenItemKind.CUSTOMER_PAYMENT.increases_balance
    assert OpenItemKind.SUPPLIER_REFUND.ledger is DocumentKind.PURCHASE
