"""Registers the ``sage-accounting`` connector and its commands (``migrationkit`` entry point).

Capabilities are Sage's own: sales documents are voided (deleted while draft), purchase
documents, payments and journals are deleted, ledger accounts cannot be deleted, journals cannot
be changed, GB tax rates cannot be created (source codes are matched onto the business's).
"""

from __future__ import annotations

from collections.abc import Callable

import click

from migrationkit.core.capabilities import EntityCapabilities, Removal
from migrationkit.core.contract import ConnectorInfo
from migrationkit.core.hookspecs import hookimpl

from .options import SageAccountingOptions

__all__ = ["CAPABILITIES"]

_BATCH = 10
"""Records per load call; Sage has no batch endpoint, the connector sends them concurrently."""

_DELETE = frozenset({Removal.DELETE})
_VOID_OR_DELETE = frozenset({Removal.DELETE, Removal.VOID})


def _moves(**extra: object) -> EntityCapabilities:
    """An entity Sage can list by change date and by deletion, create, update and delete."""
    values: dict[str, object] = {
        "extract": True,
        "modified_since": True,
        "deletions": True,
        "create": True,
        "update": True,
        "removal": _DELETE,
        "batch_size": _BATCH,
    }
    values.update(extra)
    return EntityCapabilities(**values)  # type: ignore[arg-type]


CAPABILITIES = {
    "company": EntityCapabilities(
        extract=True,
        create=True,
        update=True,
        notes="The company is the business chosen by location: its base currency is checked "
        "and the record is matched onto it, never created; rollback leaves it.",
    ),
    "tax_rates": EntityCapabilities(
        extract=True,
        modified_since=True,
        create=True,
        update=True,
        notes="Sage cannot create tax rates for a GB business: each source tax code is matched "
        "onto one of the business's rates (default UK map, option tax_rate_map); nothing is "
        "written, and rollback leaves them.",
    ),
    "ledger_accounts": EntityCapabilities(
        extract=True,
        modified_since=True,
        create=True,
        update=True,
        preserve_ids=True,
        batch_size=_BATCH,
        notes="Accounts with a control role land on the business's control account, accounts "
        "whose nominal code the chart has land on that account, the others are created with "
        "their code. Sage cannot delete ledger accounts: rollback leaves them.",
    ),
    "tracking_categories": EntityCapabilities(
        extract=True,
        create=True,
        update=True,
        removal=_DELETE,
        notes="A category takes one of the business's analysis types; its options become "
        "analysis categories (codes of at most 10 characters). Rollback deletes the categories.",
    ),
    "bank_accounts": _moves(
        notes="Linked to the bank ledger account of the same code; deletable while unused."
    ),
    "contacts": _moves(
        preserve_ids=True,
        notes="Customers and vendors (never both); the reference is the code cut to 10 "
        "characters, collisions are reported before any write; the source key is kept in "
        "source_guid.",
    ),
    "items": _moves(
        preserve_ids=True,
        notes="Services become services, stock and non-stock items products; unit of sale "
        "does not move.",
    ),
    "opening_balances": EntityCapabilities(
        extract=True,
        create=True,
        update=True,
        removal=_DELETE,
        batch_size=_BATCH,
        notes="Bank balances become bank opening balances, debtors and creditors control come "
        "from the contacts' opening balances (open items), every other account gets a ledger "
        "account opening balance.",
    ),
    "open_items": _moves(
        notes="Contact opening balances, as invoices or credit notes (an outstanding payment "
        "on account becomes a credit note of the same amount)."
    ),
    "invoices": _moves(
        removal=_VOID_OR_DELETE,
        preserve_ids=True,
        max_reference_length=25,
        notes="Sales invoices keep the source number; on rollback they are voided (deleted "
        "while draft). Purchase invoices keep the number as vendor reference and are deleted.",
    ),
    "refunds": _moves(notes="Contact payments of type customer or vendor refund."),
    "credit_notes": _moves(
        removal=_VOID_OR_DELETE,
        preserve_ids=True,
        max_reference_length=25,
        notes="Allocated through contact allocations; sales credit notes are voided on rollback.",
    ),
    "payments": _moves(
        max_reference_length=25,
        notes="Contact payments with their allocated artefacts; what is not allocated stays on "
        "account.",
    ),
    "bank_transactions": _moves(
        max_reference_length=25,
        notes="Other payments and receipts; only in the base currency (they carry no exchange "
        "rate).",
    ),
    "bank_transfers": _moves(
        notes="Between base-currency banks; Sage's bank deposits are read as transfers too."
    ),
    "manual_journals": _moves(
        update=False,
        notes="Sage journals cannot be changed once posted and cannot touch the debtors or "
        "creditors control accounts.",
    ),
}


def _factory(options: SageAccountingOptions) -> object:
    from .connector import SageAccountingConnector

    return SageAccountingConnector(options)


@hookimpl
def migrationkit_register_connectors(register: Callable[[ConnectorInfo], None]) -> None:
    register(
        ConnectorInfo(
            name="sage-accounting",
            summary="Sage Business Cloud Accounting, API v3.1 (source and target)",
            factory=_factory,
            capabilities=CAPABILITIES,
            location_help="the business id or name, e.g. sage-accounting:'Larkspur Ltd'",
            options=SageAccountingOptions,
        )
    )


@hookimpl
def migrationkit_register_commands(register: Callable[[str, click.Command], None]) -> None:
    from .commands import auth_command

    register("auth", auth_command)
