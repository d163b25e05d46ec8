"""What the connector does with each entity in Xero: the one table of it.

The plugin's capability flags are derived from these rows, and the handlers read them: the
kit refuses a removal a row does not offer before any call, and an entity whose row says
:attr:`~migrationkit.handlers.Update.REPLACE` is taken back and entered again on update.

Writes go in requests of :data:`~.context.CHUNK` elements, up to five at once; a load call of
:data:`BATCH_SIZE` records is five such requests. Accounts, tax rates, tracking categories and
bank transfers go one per request: Xero's endpoints for them take one element or answer only
in summary.
"""

from __future__ import annotations

from migrationkit.core.capabilities import Removal
from migrationkit.handlers import Entity, EntityTable, Update

__all__ = ["BATCH_SIZE", "TABLE"]

BATCH_SIZE = 250
"""Records per load call: five requests of 50 elements, sent at once (Xero allows 5 in flight)."""

_DELETE = (Removal.DELETE,)
_DELETE_OR_VOID = (Removal.DELETE, Removal.VOID)
_DELETE_OR_ARCHIVE = (Removal.DELETE, Removal.ARCHIVE)

TABLE = EntityTable(
    Entity(
        name="company",
        endpoint="/Organisation",
        match_only=True,
        notes="A Xero organisation cannot be created or deleted through the API: the company "
        "goes to the connected organisation (same base currency), and a rollback leaves it.",
    ),
    Entity(
        name="tax_rates",
        endpoint="/TaxRates",
        removal=_DELETE,
        batch_size=50,
        notes="Matched to Xero's directional built-in rates by treatment and rate (OUTPUT2/INPUT2, "
        "RROUTPUT/RRINPUT, ZERORATED..., EXEMPT..., NONE, EC and reverse-charge types); a rate "
        "nothing fits becomes a pair of custom rates. Built-in rates are never deleted. An update "
        "keeps the rates the record was matched to or created as.",
    ),
    Entity(
        name="ledger_accounts",
        endpoint="/Accounts",
        modified_since=True,
        deletions=True,
        removal=_DELETE_OR_ARCHIVE,
        preserve_ids=True,
        batch_size=50,
        max_code_length=10,
        notes="One account per request, as Xero requires. Receivables, payables, VAT (both sales "
        "and purchase tax), retained earnings and rounding are matched to Xero's system accounts. "
        "An account in use is archived, not deleted.",
    ),
    Entity(
        name="tracking_categories",
        endpoint="/TrackingCategories",
        removal=_DELETE_OR_ARCHIVE,
        batch_size=10,
        notes="Xero allows two active tracking categories of up to 100 options.",
    ),
    Entity(
        name="bank_accounts",
        endpoint="/Accounts",
        modified_since=True,
        deletions=True,
        removal=_DELETE,
        preserve_ids=True,
        batch_size=50,
        notes="A bank account is the Xero account of its ledger account: the bank record fills in "
        "its name, number, type and currency. Reconciliation status does not move. A rollback "
        "takes it back with its ledger account.",
    ),
    Entity(
        name="contacts",
        endpoint="/Contacts",
        modified_since=True,
        removal=(Removal.ARCHIVE,),
        preserve_ids=True,
        batch_size=BATCH_SIZE,
        notes="The source key goes in ContactNumber, the code in AccountNumber. Xero contact names "
        "are unique among active contacts: a second contact of the same name gets its ledger and "
        "code appended. Xero never deletes contacts: rollback archives them.",
    ),
    Entity(
        name="items",
        endpoint="/Items",
        modified_since=True,
        deletions=True,
        removal=_DELETE,
        preserve_ids=True,
        batch_size=BATCH_SIZE,
        max_code_length=30,
        notes="Untracked items (no stock quantities); names longer than 50 characters are cut.",
    ),
    Entity(
        name="opening_balances",
        endpoint="/ManualJournals, /BankTransactions",
        modified_since=True,
        deletions=True,
        update=Update.REPLACE,
        removal=_DELETE_OR_VOID,
        batch_size=BATCH_SIZE,
        notes="Needs the clearing_account option: a journal against the clearing account (a bank "
        "transaction for banks); receivables and payables balances are carried by the "
        "outstanding items. Foreign bank balances are known only in base currency and stay out. "
        "A changed balance is taken back and entered again.",
    ),
    Entity(
        name="invoices",
        endpoint="/Invoices",
        modified_since=True,
        deletions=True,
        removal=_DELETE_OR_VOID,
        preserve_ids=True,
        batch_size=BATCH_SIZE,
        notes="Drafts are deleted, approved invoices voided (payments are removed first). "
        "Sales invoice numbers must be unique; a taken number is reported.",
    ),
    Entity(
        name="refunds",
        endpoint="/Invoices, /BankTransactions",
        update=Update.REPLACE,
        removal=_DELETE_OR_VOID,
        batch_size=BATCH_SIZE,
        notes="Needs the clearing_account option: a document to the contact and the money paid "
        "out, both through the clearing account, so credits can be allocated to it. A changed "
        "refund is taken back and entered again.",
    ),
    Entity(
        name="open_items",
        endpoint="/Invoices, /CreditNotes",
        modified_since=True,
        deletions=True,
        update=Update.REPLACE,
        removal=_DELETE_OR_VOID,
        preserve_ids=True,
        batch_size=BATCH_SIZE,
        notes="Needs the clearing_account option: each outstanding item becomes an invoice, bill "
        "or credit note for the amount outstanding, on the clearing account. A changed item is "
        "taken back and entered again.",
    ),
    Entity(
        name="credit_notes",
        endpoint="/CreditNotes",
        modified_since=True,
        deletions=True,
        removal=_DELETE_OR_VOID,
        preserve_ids=True,
        batch_size=BATCH_SIZE,
        notes="Allocations move with the credit note; they are removed before it is voided.",
    ),
    Entity(
        name="payments",
        endpoint="/Payments, /BatchPayments, /BankTransactions (overpayments)",
        deletions=True,
        update=Update.REPLACE,
        removal=_DELETE,
        batch_size=BATCH_SIZE,
        notes="One invoice: a payment; several: a batch payment; money left on account: an "
        "overpayment, allocated to the invoices. Xero payments cannot be changed: an update "
        "deletes and enters them again.",
    ),
    Entity(
        name="bank_transactions",
        endpoint="/BankTransactions",
        modified_since=True,
        deletions=True,
        removal=_DELETE,
        batch_size=BATCH_SIZE,
        notes="Lines may not post to bank, receivables or payables accounts. A transaction "
        "without a contact goes to the sundry contact.",
    ),
    Entity(
        name="bank_transfers",
        endpoint="/BankTransfers",
        modified_since=True,
        deletions=True,
        update=Update.REPLACE,
        removal=_DELETE,
        batch_size=50,
        notes="Between bank accounts in the base currency (amounts are known in base currency). "
        "Xero cannot change a transfer: an update deletes and enters it again.",
    ),
    Entity(
        name="manual_journals",
        endpoint="/ManualJournals",
        modified_since=True,
        deletions=True,
        update=Update.REPLACE,
        removal=_DELETE_OR_VOID,
        batch_size=BATCH_SIZE,
        notes="Xero refuses journals to bank, receivables and payables accounts: with the "
        "clearing_account option such lines go through it and a document moves them on; without "
        "it the journal stays out. Exchange differences on receivables or payables stay out: Xero "
        "computes them itself. A changed journal is voided and entered again.",
    ),
)
