"""Exact's wire formats and the mapping's pure functions, and the codes and numbers Exact keeps."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from exact_support import open_connector, sandbox

from migrationkit import (
    AccountType,
    BankAccount,
    Contact,
    ControlRole,
    CreditNote,
    Invoice,
    LedgerAccount,
    Migration,
    MigrationOptions,
    SQLiteStateStore,
    TaxRate,
    TaxTreatment,
)
from migrationkit.connectors.exact import mapping, wire
from migrationkit.core.state import Outcome
from migrationkit.testing import datasets, memory_source


def test_odata_dates_amounts_and_codes() -> None:
    assert wire.opt_date("/Date(1680307200000)/") == dt.date(2023, 4, 1)
    assert wire.opt_date("2023-04-01T00:00:00") == dt.date(2023, 4, 1)
    assert wire.date_text(dt.date(2023, 4, 1)) == "2023-04-01T00:00:00"
    assert wire.loads(b'{"d": {"AmountFC": 112.8}}') == {"d": {"AmountFC": Decimal("112.8")}}
    assert wire.dumps({"AmountFC": Decimal("1653.10")}) == b'{"AmountFC":1653.10}'
    assert wire.account_code("25") == " " * 16 + "25" and wire.numeric_code("25")
    assert not wire.numeric_code("ACME01") and not wire.numeric_code("1" * 19)
    assert wire.string_literal("O'Brien") == "'O''Brien'"
    rows, following = wire.rows({"d": {"results": [{"ID": 1}], "__next": "https://x/next"}})
    assert (rows, following) == ([{"ID": 1}], "https://x/next")
    error = {"error": {"code": "", "message": {"lang": "", "value": "Ongeldige referentie"}}}
    assert wire.error_message(error) == "Ongeldige referentie"


@pytest.mark.parametrize("rate", ["1.1685", "1.2775", "0.8621", "1.151500", "152.43"])
def test_exchange_rates_survive_exacts_inverse_rate(rate: str) -> None:
    exact = mapping.rate_of(Decimal(rate))
    assert mapping.exchange_rate_of(exact) == Decimal(rate)
    assert (Decimal("3150.00") * exact).quantize(Decimal("0.01")) == (
        Decimal("3150.00") / Decimal(rate)
    ).quantize(Decimal("0.01"))


@pytest.mark.parametrize(
    ("kind", "role", "exact_type", "side"),
    [
        (AccountType.CURRENT_ASSET, ControlRole.RECEIVABLES, 20, "D"),
        (AccountType.CURRENT_LIABILITY, ControlRole.PAYABLES, 22, "C"),
        (AccountType.CURRENT_LIABILITY, ControlRole.SALES_TAX, 24, "C"),
        (AccountType.EQUITY, ControlRole.RETAINED_EARNINGS, 52, "C"),
        (AccountType.BANK, ControlRole.BANK, 12, "D"),
        (AccountType.FIXED_ASSET, None, 30, "D"),
        (AccountType.CURRENT_ASSET, None, 32, "D"),
        (AccountType.CURRENT_LIABILITY, None, 90, "C"),
        (AccountType.LONG_TERM_LIABILITY, None, 55, "C"),
        (AccountType.EQUITY, None, 50, "C"),
        (AccountType.SALES, None, 110, "C"),
        (AccountType.OTHER_INCOME, None, 140, "C"),
        (AccountType.PURCHASES, None, 111, "D"),
        (AccountType.DIRECT_EXPENSES, None, 121, "D"),
        (AccountType.OVERHEADS, None, 120, "D"),
        (AccountType.DEPRECIATION, None, 122, "D"),
    ],
)
def test_account_types_go_to_exact_and_come_back(
    kind: AccountType, role: ControlRole | None, exact_type: int, side: str
) -> None:
    record = LedgerAccount(key="k", code="4000", name="Name", type=kind, control_role=role)
    body = mapping.gl_account_payload(record, None).body
    assert (body["Type"], body["BalanceSide"]) == (exact_type, side)
    assert body["BalanceType"] == ("B" if kind.on_balance_sheet else "W")
    roles = {"gl": ControlRole.SALES_TAX} if role is ControlRole.SALES_TAX else {}
    back = mapping.read_gl_account({**body, "ID": "gl"}, roles)
    assert (back.type, back.control_role) == (kind, role)


def test_vat_codes_keep_their_treatment_where_exact_has_flags_for_it() -> None:
    for treatment, rate, flags in (
        (TaxTreatment.STANDARD, "20", {}),
        (TaxTreatment.ZERO, "0", {}),
        (TaxTreatment.OUTSIDE_SCOPE, "0", {"in_tax_return": False}),
        (TaxTreatment.EC_GOODS_SALES, "0", {"ec_sales": True}),
        (TaxTreatment.EC_SERVICES_SALES, "0", {"ec_sales": True}),
        (TaxTreatment.EC_GOODS_PURCHASES, "20", {"ec_purchases": True}),
        (TaxTreatment.REVERSE_CHARGE, "20", {"reverse_charge": True}),
    ):
        record = TaxRate(
            key="T", code="T", name="Rate", rate=Decimal(rate), treatment=treatment, **flags
        )
        body = mapping.vat_code_payload(record, "pay", "claim").body
        assert body["Percentage"] == Decimal(rate) / 100
        assert mapping.read_tax_rate(body) == record, treatment


def test_notes_carry_the_stamp_and_what_exact_has_no_field_for() -> None:
    text = mapping.notes("abc123", reference="PO 1", narration="Two\nlines")
    assert text == "migrationkit abc123\nreference: PO 1\nnarration: Two lines"
    assert mapping.read_notes(text) == ("abc123", {"reference": "PO 1", "narration": "Two lines"})
    assert mapping.read_notes("typed by a person") == (None, {})


def test_bank_numbers_with_sort_codes_and_without() -> None:
    uk = BankAccount(
        key="b", name="Current", account="1200", sort_code="40-12-34", account_number="12345678"
    )
    body = mapping.bank_journal_payload(uk, "20", "gl", "1200").body
    assert body["BankAccountIncludingMask"] == "40-12-34 12345678"
    back = mapping.read_bank_account({**body, "GLAccountCode": "1200"})
    assert (back.sort_code, back.account_number) == ("40-12-34", "12345678")
    bare = attrs.evolve(uk, sort_code=None, account_number=None)
    written = mapping.bank_journal_payload(bare, "21", "gl", "1210")
    assert written.body["BankAccountIncludingMask"] == "1210" and written.warnings
    back = mapping.read_bank_account({**written.body, "GLAccountCode": "1210"})
    assert back.account_number is None


def test_base_amounts_split_over_the_invoices_a_payment_settles() -> None:
    shares = mapping.base_shares(
        [Decimal("1000"), Decimal("7.91")], Decimal("1007.91"), Decimal("875.31")
    )
    assert sum(shares) == Decimal("875.31") and shares[0] == Decimal("868.44")


def test_numeric_codes_and_numbers_are_exacts_own(tmp_path: Path) -> None:
    records = datasets.basic()
    records["contacts"] = [
        attrs.evolve(c, code=str(1001 + n)) if n == 0 else c  # type: ignore[arg-type]
        for n, c in enumerate(records["contacts"])
    ]
    first = records["invoices"][0]
    assert isinstance(first, Invoice)
    records["invoices"] = [
        attrs.evolve(first, key="A", number="20240042"),
        attrs.evolve(first, key="B", number="INV-7"),
    ]
    note = records["credit_notes"][0]
    assert isinstance(note, CreditNote)
    # A credit note with the number of an invoice: one journal, so Exact numbers it.
    records["credit_notes"] = [attrs.evolve(note, number="20240042", allocations=())]
    records["payments"] = []  # they settle invoices this company does not have
    with sandbox() as (app, server):
        run = Migration(
            memory_source(records, name="numbers"),
            open_connector(app, server),
            SQLiteStateStore(tmp_path / "state.db"),
            MigrationOptions(validate=False),
        )
        report = run.full()
        assert report.status == "succeeded" and not report.problems
        relations = {r["Name"]: r for r in app.division().table("crm/Accounts").values()}
        kept = relations[str(getattr(records["contacts"][0], "name", ""))]
        assert kept["Code"] == " " * 14 + "1001" and kept["SearchCode"] is None
        other = next(r for r in relations.values() if r["SearchCode"] == "BROOK")
        assert other["Code"].strip().isdigit(), "Exact numbered it; the code is its search code"
        entries = {
            (e["YourRef"], e["Type"]): e
            for e in app.division().table("salesentry/SalesEntries").values()
        }
        assert entries[("20240042", 20)]["EntryNumber"] == 20240042
        assert entries[("INV-7", 20)]["EntryNumber"] != 7
        credit = entries[("20240042", 21)]
        assert credit["EntryNumber"] != 20240042, "the number was the invoice's: Exact's own"
        outcome = next(
            o
            for o in run.store.outcomes(report.run_id, [Outcome.CREATED])
            if o.entity == "credit_notes"
        )
        assert "entry number 20240042 is taken in journal 70" in str(outcome.message)
        extracted = {r.number for r in run.target.extract("invoices")}  # type: ignore[attr-defined]
        assert extracted == {"20240042", "INV-7"}


def test_a_customer_and_supplier_at_once_is_one_relation(tmp_path: Path) -> None:
    both = Contact(key="both", code="77", name="Both Ways Ltd", is_customer=True, is_supplier=True)
    with sandbox() as (app, server):
        target = open_connector(app, server)
        run = Migration(
            memory_source({"contacts": [both]}, name="both"),
            target,
            SQLiteStateStore(tmp_path / "state.db"),
            MigrationOptions(validate=False),
        )
        assert run.full().status == "succeeded"
        (back,) = target.extract("contacts")
        assert isinstance(back, Contact) and back.is_customer and back.is_supplier
        assert back.code == "77"
