"""What the connector does with each entity in Exact Online: the one table of it.

The plugin's capability flags are derived from these rows, and the handlers read them (the
endpoint a handler writes to, the ways a record can be taken back, whether it can be changed in
place). Exact has no batch endpoint: a load call of ``BATCH`` records sends them one request
each, within the division's 60 calls a minute.

Removal is what Exact allows: entries are deleted while they are not processed; journals only
while no entry uses them; relations, G/L accounts and items are deleted when unused, else
blocked (``Blocked``, ``IsBlocked``, ``EndDate``); general journal and bank entries have no
``PUT``, so a change deletes the entry and enters it again.
"""

from __future__ import annotations

from migrationkit.core.capabilities import Removal
from migrationkit.handlers import Entity, EntityTable, Update

__all__ = ["BATCH", "TABLE"]

BATCH = 10
"""Records per load call; Exact has no batch endpoint, so each record is one request."""

_DELETE = (Removal.DELETE,)
_DELETE_OR_BLOCK = (Removal.DELETE, Removal.ARCHIVE)


def _entries(name: str, endpoint: str, **extra: object) -> Entity:
    """An entity kept as entries: changes through ``sync/Financial/TransactionLines``."""
    values: dict[str, object] = {
        "modified_since": True,
        "deletions": True,
        "removal": _DELETE,
        "batch_size": BATCH,
    }
    values.update(extra)
    return Entity(name=name, endpoint=endpoint, **values)  # type: ignore[arg-type]


TABLE = EntityTable(
    Entity(
        name="company",
        endpoint="hrm/Divisions",
        match_only=True,
        notes="The company is the division chosen by `division` (or the login's current one): "
        "its currency is checked and the record matched onto it, never created.",
    ),
    Entity(
        name="tax_rates",
        endpoint="vat/VATCodes",
        modified_since=True,
        deletions=True,
        removal=_DELETE,
        preserve_ids=True,
        batch_size=BATCH,
        notes="VAT codes keep the source code; a code the division already has is matched when "
        "its percentage agrees. Deleted when unused.",
    ),
    Entity(
        name="ledger_accounts",
        endpoint="financial/GLAccounts",
        modified_since=True,
        deletions=True,
        removal=_DELETE_OR_BLOCK,
        preserve_ids=True,
        batch_size=BATCH,
        notes="G/L accounts keep the source code; Type and BalanceSide come from the account "
        "type and control role. Deleted when unused, else blocked (IsBlocked).",
    ),
    Entity(
        name="tracking_categories",
        endpoint="hrm/Costcenters, hrm/Costunits",
        batch_size=BATCH,
        notes="Exact has two analysis dimensions: the first category becomes cost centers, the "
        "second cost units (a third cannot move); the category's own name does not move. "
        "A rollback leaves them: the division's one list may hold its own.",
    ),
    Entity(
        name="bank_accounts",
        endpoint="financial/Journals",
        modified_since=True,
        deletions=True,
        removal=_DELETE,
        batch_size=BATCH,
        notes="A bank journal (type 12; a cash account a cash journal, type 10) on the bank "
        "G/L account; deleted only while no entry uses it.",
    ),
    Entity(
        name="contacts",
        endpoint="crm/Accounts",
        modified_since=True,
        deletions=True,
        removal=_DELETE_OR_BLOCK,
        batch_size=BATCH,
        notes="Relations (a customer and supplier may be one). A numeric source code becomes "
        "the 18-character Code; any other gets Exact's next number and is kept as SearchCode. "
        "Deleted when unused, else blocked.",
    ),
    Entity(
        name="items",
        endpoint="logistics/Items",
        modified_since=True,
        deletions=True,
        removal=_DELETE_OR_BLOCK,
        preserve_ids=True,
        batch_size=BATCH,
        notes="Items keep their code; services and non-stock items are not stock items. "
        "Deleted when unused, else ended (EndDate).",
    ),
    _entries(
        "opening_balances",
        "generaljournalentry/GeneralJournalEntries",
        update=Update.REPLACE,
        notes="The API cannot create Exact's opening-balance entries (type 10): each line is a "
        "general journal entry (type 90) in the opening journal against the opening account; "
        "debtors and creditors come from the open items.",
    ),
    _entries(
        "invoices",
        "salesentry/SalesEntries, purchaseentry/PurchaseEntries",
        preserve_ids=True,
        notes="Sales and purchase entries; a numeric source number is kept as EntryNumber "
        "(unique per journal), the number always as YourRef. Deleted while not processed.",
    ),
    _entries(
        "refunds",
        "financialtransaction/BankEntries, financialtransaction/CashEntries",
        update=Update.REPLACE,
        notes="A bank (or cash) entry line on the relation, money back.",
    ),
    _entries(
        "open_items",
        "salesentry/SalesEntries, purchaseentry/PurchaseEntries",
        preserve_ids=True,
        notes="Entries against the opening account at their own date, so Exact's receivables "
        "and payables hold them and payments can match them.",
    ),
    _entries(
        "credit_notes",
        "salesentry/SalesEntries, purchaseentry/PurchaseEntries",
        preserve_ids=True,
        notes="Entries of type 21 and 31 with negative amounts. What they are set against is "
        "not moved: match them in Exact.",
    ),
    _entries(
        "payments",
        "financialtransaction/BankEntries, financialtransaction/CashEntries",
        update=Update.REPLACE,
        notes="A bank (or cash) entry: one line per invoice settled, matched by OurRef (the "
        "invoice's entry number), the rest on account.",
    ),
    _entries(
        "bank_transactions",
        "financialtransaction/BankEntries, financialtransaction/CashEntries",
        update=Update.REPLACE,
        notes="Bank entry lines on G/L accounts, with their VAT.",
    ),
    _entries(
        "bank_transfers",
        "financialtransaction/BankEntries, financialtransaction/CashEntries",
        update=Update.REPLACE,
        notes="Two bank entries through the transfer account; between banks of one currency.",
    ),
    _entries(
        "manual_journals",
        "generaljournalentry/GeneralJournalEntries",
        update=Update.REPLACE,
        notes="General journal entries (type 90) in the general journal; no PUT, so a change "
        "deletes the entry and enters it again. Journal lines keep no VAT code.",
    ),
)
