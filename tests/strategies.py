"""Hypothesis strategies for canonical records, with awkward text and exact decimals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import strategies as st

from migrationkit import (
    AccountType,
    Address,
    Allocation,
    BankTransaction,
    BankTransactionKind,
    Contact,
    ControlRole,
    CreditNote,
    DocumentKind,
    DocumentLine,
    Invoice,
    JournalLine,
    LedgerAccount,
    ManualJournal,
    Payment,
    PaymentKind,
    TrackingAssignment,
    TrackingCategory,
    TrackingOption,
)

# Text that breaks naive CSV writers: separators, quotes, newlines, accents, our own escapes.
awkward = st.text(
    alphabet=st.sampled_from(list("abcXYZ éüøß€,;\"'\n|=\\:0123456789-")), min_size=1, max_size=20
)
optional_text = st.one_of(st.none(), awkward)
keys = st.text(alphabet=st.sampled_from(list("ABC123:-/.é|=\\ ")), min_size=1, max_size=12)


def money(places: int = 2, limit: int = 10**9) -> st.SearchStrategy[Decimal]:
    return st.integers(-limit, limit).map(lambda n: Decimal(n).scaleb(-places))


positive = st.integers(1, 10**9).map(lambda n: Decimal(n).scaleb(-2))
rates = st.integers(1, 10**7).map(lambda n: Decimal(n).scaleb(-4))
dates = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2040, 12, 31))

tracking = st.lists(st.builds(TrackingAssignment, category=keys, option=keys), max_size=2).map(
    tuple
)

addresses = st.builds(
    Address,
    line1=optional_text,
    line2=optional_text,
    city=optional_text,
    region=optional_text,
    postal_code=optional_text,
    country=optional_text,
)

lines = st.builds(
    DocumentLine,
    number=optional_text,
    description=st.one_of(st.just(""), awkward),
    account=keys,
    tax_rate=st.one_of(st.none(), keys),
    net=money(),
    tax=money(),
    base_net=money(),
    base_tax=money(),
    quantity=st.one_of(st.none(), money(4)),
    unit_price=st.one_of(st.none(), money(4)),
    item=st.one_of(st.none(), keys),
    tracking=tracking,
)

allocations = st.lists(
    st.builds(
        Allocation,
        document_entity=st.sampled_from(["invoices", "refunds", "open_items"]),
        document=keys,
        amount=positive,
        date=st.one_of(st.none(), dates),
    ),
    max_size=3,
).map(tuple)

ledger_accounts = st.builds(
    LedgerAccount,
    key=keys,
    code=keys,
    name=awkward,
    type=st.sampled_from(AccountType),
    control_role=st.one_of(st.none(), st.sampled_from(ControlRole)),
    tax_rate=st.one_of(st.none(), keys),
    currency=st.one_of(st.none(), st.sampled_from(["GBP", "EUR"])),
    description=optional_text,
    inactive=st.booleans(),
)

contacts = st.builds(
    Contact,
    key=keys,
    code=optional_text,
    name=awkward,
    is_customer=st.booleans(),
    is_supplier=st.booleans(),
    address=addresses,
    email=optional_text,
    credit_limit=st.one_of(st.none(), money()),
    payment_terms_days=st.one_of(st.none(), st.integers(0, 365)),
)

invoices = st.builds(
    Invoice,
    key=keys,
    kind=st.sampled_from(DocumentKind),
    number=optional_text,
    contact=keys,
    date=dates,
    due_date=st.one_of(st.none(), dates),
    reference=optional_text,
    currency=st.sampled_from(["GBP", "EUR", "USD"]),
    exchange_rate=rates,
    lines=st.lists(lines, min_size=1, max_size=4).map(tuple),
)

credit_notes = st.builds(
    CreditNote,
    key=keys,
    kind=st.sampled_from(DocumentKind),
    contact=keys,
    date=dates,
    lines=st.lists(lines, min_size=1, max_size=3).map(tuple),
    discount=st.booleans(),
    allocations=allocations,
)

payments = st.builds(
    Payment,
    key=keys,
    kind=st.sampled_from(PaymentKind),
    contact=keys,
    bank_account=keys,
    date=dates,
    reference=optional_text,
    currency=st.sampled_from(["GBP", "EUR"]),
    exchange_rate=rates,
    amount=money(),
    base_amount=money(),
    allocations=allocations,
    reconciled_on=st.one_of(st.none(), dates),
)

bank_transactions = st.builds(
    BankTransaction,
    key=keys,
    kind=st.sampled_from(BankTransactionKind),
    bank_account=keys,
    contact=st.one_of(st.none(), keys),
    date=dates,
    lines=st.lists(lines, min_size=1, max_size=3).map(tuple),
)

journals = st.builds(
    ManualJournal,
    key=keys,
    date=dates,
    reference=optional_text,
    narration=st.one_of(st.just(""), awkward),
    lines=st.lists(
        st.builds(
            JournalLine, account=keys, amount=money(), description=st.just(""), tracking=tracking
        ),
        min_size=2,
        max_size=4,
    ).map(tuple),
)

tracking_categories = st.builds(
    TrackingCategory,
    key=keys,
    name=awkward,
    options=st.lists(
        st.builds(TrackingOption, key=keys, name=awkward, inactive=st.booleans()),
        min_size=1,
        max_size=3,
    ).map(tuple),
)

ANY_RECORD = st.one_of(
    ledger_accounts,
    contacts,
    invoices,
    credit_notes,
    payments,
    bank_transactions,
    journals,
    tracking_categories,
)
