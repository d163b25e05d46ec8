"""What the connector does with each entity in Sage Accounting: the one table of it.

The plugin's capability flags are derived from these rows, and the handlers read them (the
endpoint a stamped handler posts to, the ways a record can be taken back, whether it can be
changed in place). Sage has no batch endpoints: a load call of ``BATCH`` records sends them
concurrently, one request each.
"""

from __future__ import annotations

from migrationkit.core.capabilities import Removal
from migrationkit.handlers import Entity, EntityTable, Update

__all__ = ["BATCH", "TABLE"]

BATCH = 10
"""Records per load call; Sage has no batch endpoint, the connector sends them concurrently."""

_DELETE = (Removal.DELETE,)
_DELETE_OR_VOID = (Removal.DELETE, Removal.VOID)


def _moves(name: str, endpoint: str, **extra: object) -> Entity:
    """An entity Sage lists by change date and by deletion, creates, updates and deletes."""
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
        endpoint="businesses, financial_settings",
        match_only=True,
        notes="The company is the business chosen by location: its base currency is checked "
        "and the record is matched onto it, never created; rollback leaves it.",
    ),
    Entity(
        name="tax_rates",
        endpoint="tax_rates",
        modified_since=True,
        deletions=True,
        match_only=True,
        notes="Sage cannot create tax rates for a GB business: each source tax code is matched "
        "onto one of the business's rates (default UK map, option tax_rate_map); nothing is "
        "written, and rollback leaves them.",
    ),
    Entity(
        name="ledger_accounts",
        endpoint="ledger_accounts",
        modified_since=True,
        preserve_ids=True,
        batch_size=BATCH,
        notes="Accounts with a control role land on the business's control account, accounts "
        "whose nominal code the chart has land on that account, the others are created with "
        "their code. Sage cannot delete ledger accounts: rollback leaves them.",
    ),
    Entity(
        name="tracking_categories",
        endpoint="analysis_types, analysis_type_categories",
        removal=_DELETE,
        notes="A category takes one of the business's analysis types; its options become "
        "analysis categories (codes of at most 10 characters). Rollback deletes the categories.",
    ),
    _moves(
        "bank_accounts",
        "bank_accounts",
        notes="Linked to the bank ledger account of the same code; deletable while unused.",
    ),
    _moves(
        "contacts",
        "contacts",
        preserve_ids=True,
        notes="Customers and vendors (never both); the reference is the code cut to 10 "
        "characters, collisions are reported before any write; the source key is kept in "
        "source_guid.",
    ),
    _moves(
        "items",
        "products, services",
        preserve_ids=True,
        notes="Services become services, stock and non-stock items products; unit of sale "
        "does not move.",
    ),
    Entity(
        name="opening_balances",
        endpoint="ledger_account_opening_balances, bank_opening_balances",
        extract=True,
        removal=_DELETE,
        batch_size=BATCH,
        notes="Bank balances become bank opening balances, debtors and creditors control come "
        "from the contacts' opening balances (open items), every other account gets a ledger "
        "account opening balance.",
    ),
    _moves(
        "open_items",
        "contact_opening_balances",
        notes="Contact opening balances, as invoices or credit notes (an outstanding payment "
        "on account becomes a credit note of the same amount).",
    ),
    _moves(
        "invoices",
        "sales_invoices, purchase_invoices",
        removal=_DELETE_OR_VOID,
        preserve_ids=True,
        max_reference_length=25,
        notes="Sales invoices keep the source number; on rollback they are voided (deleted "
        "while draft). Purchase invoices keep the number as vendor reference and are deleted.",
    ),
    _moves(
        "refunds",
        "contact_payments",
        notes="Contact payments of type customer or vendor refund.",
    ),
    _moves(
        "credit_notes",
        "sales_credit_notes, purchase_credit_notes",
        removal=_DELETE_OR_VOID,
        preserve_ids=True,
        max_reference_length=25,
        notes="Allocated through contact allocations; sales credit notes are voided on rollback.",
    ),
    _moves(
        "payments",
        "contact_payments",
        max_reference_length=25,
        notes="Contact payments with their allocated artefacts; what is not allocated stays on "
        "account.",
    ),
    _moves(
        "bank_transactions",
        "other_payments",
        max_reference_length=25,
        notes="Other payments and receipts; only in the base currency (they carry no exchange "
        "rate).",
    ),
    _moves(
        "bank_transfers",
        "bank_transfers",
        notes="Between base-currency banks; Sage's bank deposits are read as transfers too.",
    ),
    _moves(
        "manual_journals",
        "journals",
        update=Update.NONE,
        notes="Sage journals cannot be changed once posted and cannot touch the debtors or "
        "creditors control accounts.",
    ),
)
