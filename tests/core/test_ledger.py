"""Double entry: every record's postings balance; the trial balance follows the roles."""

from __future__ import annotations

from decimal import Decimal as D

from factories import company
from migrationkit import Ledger, postings


def test_every_record_posts_a_balanced_entry() -> None:
    ledger = Ledger()
    records = company()
    for entity in records:
        for record in records[entity]:
            ledger.chart.add(record)
    for entity, entity_records in records.items():
        if entity == "opening_balances":
            continue  # one line of a trial balance; the lines balance together
        for record in entity_records:
            assert sum((amount for _, amount in postings(record, ledger.chart)), D(0)) == 0, record


def test_opening_balances_balance_together() -> None:
    ledger = Ledger().add_all(company()["opening_balances"])
    assert sum(ledger.balances.values(), D(0)) == 0


def test_trial_balance_and_contact_balances() -> None:
    ledger = Ledger()
    for entity_records in company().values():
        ledger.add_all(entity_records)
    tb = ledger.trial_balance()
    assert sum(tb.values(), D(0)) == 0
    # Bank: 1000 opening + 360 receipt - 60 paid - 300 spent - 100 moved - 12 refunded
    assert tb["1200"] == D("888.00")
    assert tb["1210"] == D("100.00")
    balances = ledger.contact_balances()
    # BETA: 240 open + invoices 10,12,14 (120+122.4+124.8) - 360 received
    assert balances["customer:BETA"].amount == D("247.20")
    assert "supplier:GAMMA" not in balances, "the bill is paid in full"
    # ACME: invoices 11,13,15 (121.2+123.6+126) - credit 12 + refund 12
    assert balances["customer:ACME"].amount == D("370.80")
    assert tb["1100"] == D("247.20") + D("370.80")


def test_a_contact_paid_in_another_currency_owes_the_sum_in_base_currency() -> None:
    """Invoiced in euros, paid through a sterling bank: both count towards the base balance."""
    import datetime as dt

    from migrationkit import (
        AccountType,
        BankAccount,
        ControlRole,
        DocumentKind,
        DocumentLine,
        Invoice,
        LedgerAccount,
        Payment,
        PaymentKind,
    )

    day = dt.date(2024, 5, 1)
    line = DocumentLine(
        account="4000", net=D("117"), tax=D("0"), base_net=D("100"), base_tax=D("0")
    )
    ledger = Ledger().add_all(
        [
            LedgerAccount(
                key="1100", code="1100", name="Debtors", type=AccountType.CURRENT_ASSET,
                control_role=ControlRole.RECEIVABLES,
            ),
            BankAccount(key="1200", name="Bank", account="1200"),
            Invoice(
                key="I1", kind=DocumentKind.SALES, contact="C", date=day, currency="EUR",
                exchange_rate=D("1.17"), lines=(line,),
            ),
            Payment(
                key="P1", kind=PaymentKind.CUSTOMER_RECEIPT, contact="C", bank_account="1200",
                date=day, currency="GBP", amount=D("60"), base_amount=D("60"),
            ),
        ]
    )  # fmt: skip
    assert ledger.contact_base_balances() == {"C": D("40")}
    assert ledger.trial_balance()["1100"] == D("40")
