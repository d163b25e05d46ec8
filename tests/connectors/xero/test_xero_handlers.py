"""The xero connector's shape: its entity table, its handlers by family, records made of parts."""

from __future__ import annotations

from migrationkit import PluginRegistry, Removal
from migrationkit.connectors.xero.entities import TABLE
from migrationkit.handlers import Update

DELETE, VOID, ARCHIVE = Removal.DELETE, Removal.VOID, Removal.ARCHIVE

DECLARED: dict[str, tuple[set[Removal], int, bool, bool, bool]] = {
    # entity: (removal, batch size, keeps ids, modified since, deletions)
    "company": (set(), 1, False, False, False),
    "tax_rates": ({DELETE}, 50, False, False, False),
    "ledger_accounts": ({DELETE, ARCHIVE}, 50, True, True, False),
    "tracking_categories": ({DELETE, ARCHIVE}, 10, False, False, False),
    "bank_accounts": ({DELETE}, 50, True, True, False),
    "contacts": ({ARCHIVE}, 250, True, True, False),
    "items": ({DELETE}, 250, True, True, False),
    "opening_balances": ({DELETE, VOID}, 250, False, False, False),
    "invoices": ({DELETE, VOID}, 250, True, True, True),
    "refunds": ({DELETE, VOID}, 250, False, False, False),
    "open_items": ({DELETE, VOID}, 250, True, False, False),
    "credit_notes": ({DELETE, VOID}, 250, True, True, True),
    "payments": ({DELETE}, 250, False, False, True),
    "bank_transactions": ({DELETE}, 250, False, True, True),
    "bank_transfers": ({DELETE}, 50, False, True, True),
    "manual_journals": ({DELETE, VOID}, 250, False, True, True),
}
"""What the connector declared before its table existed; only the company changed since: the
old flags said it could be deleted, but it is always matched to the connected organisation,
never created, so a rollback never has one to take back."""


def test_the_table_declares_what_the_connector_declared_before() -> None:
    caps = PluginRegistry().info("xero").capabilities
    for entity, (removal, batch, keeps, since, deletions) in DECLARED.items():
        declared = caps[entity]
        assert declared.removal == removal, entity
        assert declared.batch_size == batch, entity
        assert (declared.preserve_ids, declared.modified_since, declared.deletions) == (
            keeps,
            since,
            deletions,
        ), entity
        assert declared.extract and declared.create and declared.update, entity
    assert caps["ledger_accounts"].max_code_length == 10
    assert caps["items"].max_code_length == 30
    assert set(caps) == set(DECLARED)


def test_what_xero_cannot_change_is_replaced_on_update() -> None:
    replaced = {name for name, row in TABLE.items() if row.update is Update.REPLACE}
    assert replaced == {
        "opening_balances",
        "open_items",
        "refunds",
        "payments",
        "bank_transfers",
        "manual_journals",
    }
    assert "cannot be changed: an update deletes and enters them again" in (TABLE["payments"].notes)
