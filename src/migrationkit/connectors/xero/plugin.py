"""Registers the ``xero`` connector and its ``migrationkit auth xero`` command.

Loaded through the ``migrationkit`` entry point like any third-party plugin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from migrationkit.core.capabilities import EntityCapabilities, Removal
from migrationkit.core.contract import ConnectorInfo, Tenancy, TenantLimits
from migrationkit.core.hookspecs import hookimpl

from .options import XeroOptions

if TYPE_CHECKING:
    import click

_DOCUMENT_REMOVAL = frozenset({Removal.DELETE, Removal.VOID})
BATCH_SIZE = 250
"""Records per load call: five requests of 50 elements, sent at once (Xero allows 5 in flight)."""

CAPABILITIES = {
    "company": EntityCapabilities(
        extract=True,
        create=True,
        update=True,
        removal={Removal.DELETE},
        notes="A Xero organisation cannot be created or deleted through the API: the company "
        "goes to the connected organisation (same base currency), and a rollback only releases it.",
    ),
    "tax_rates": EntityCapabilities(
        extract=True,
        create=True,
        update=True,
        removal={Removal.DELETE},
        batch_size=50,
        notes="Matched to Xero's directional built-in rates by treatment and rate (OUTPUT2/INPUT2, "
        "RROUTPUT/RRINPUT, ZERORATED..., EXEMPT..., NONE, EC and reverse-charge types); a rate "
        "nothing fits becomes a pair of custom rates. Built-in rates are never deleted.",
    ),
    "ledger_accounts": EntityCapabilities(
        extract=True,
        modified_since=True,
        create=True,
        update=True,
        removal={Removal.DELETE, Removal.ARCHIVE},
        preserve_ids=True,
        batch_size=50,
        max_code_length=10,
        notes="One account per request, as Xero requires. Receivables, payables, VAT (both sales "
        "and purchase tax), retained earnings and rounding are matched to Xero's system accounts. "
        "An account in use is archived, not deleted.",
    ),
    "tracking_categories": EntityCapabilities(
        extract=True,
        create=True,
        update=True,
        removal={Removal.DELETE, Removal.ARCHIVE},
        batch_size=10,
        notes="Xero allows two active tracking categories of up to 100 options.",
    ),
    "bank_accounts": EntityCapabilities(
        extract=True,
        modified_since=True,
        create=True,
        update=True,
        removal={Removal.DELETE},
        preserve_ids=True,
        batch_size=50,
        notes="A bank account is the Xero account of its ledger account: the bank record fills in "
        "its name, number, type and currency. Reconciliation status does not move.",
    ),
    "contacts": EntityCapabilities(
        extract=True,
        modified_since=True,
        create=True,
        update=True,
        removal={Removal.ARCHIVE},
        preserve_ids=True,
        batch_size=BATCH_SIZE,
        notes="The source key goes in ContactNumber, the code in AccountNumber. Xero contact names "
        "are unique among active contacts: a second contact of the same name gets its ledger and "
        "code appended. Xero never deletes contacts: rollback archives them.",
    ),
    "items": EntityCapabilities(
        extract=True,
        modified_since=True,
        create=True,
        update=True,
        removal={Removal.DELETE},
        preserve_ids=True,
        batch_size=BATCH_SIZE,
        max_code_length=30,
        notes="Untracked items (no stock quantities); names longer than 50 characters are cut.",
    ),
    "opening_balances": EntityCapabilities(
        extract=True,
        create=True,
        update=True,
        removal={Removal.DELETE, Removal.VOID},
        batch_size=BATCH_SIZE,
        notes="Needs the clearing_account option: a journal against the clearing account (a bank "
        "transaction for banks); receivables and payables balances are carried by the "
        "outstanding items. Foreign bank balances are known only in base currency and stay out.",
    ),
    "invoices": EntityCapabilities(
        extract=True,
        modified_since=True,
        deletions=True,
        create=True,
        update=True,
        removal=_DOCUMENT_REMOVAL,
        preserve_ids=True,
        batch_size=BATCH_SIZE,
        notes="Drafts are deleted, approved invoices voided (payments are removed first). "
        "Sales invoice numbers must be unique; a taken number is reported.",
    ),
    "refunds": EntityCapabilities(
        extract=True,
        create=True,
        update=True,
        removal=_DOCUMENT_REMOVAL,
        batch_size=BATCH_SIZE,
        notes="Needs the clearing_account option: a document to the contact and the money paid "
        "out, both through the clearing account, so credits can be allocated to it.",
    ),
    "open_items": EntityCapabilities(
        extract=True,
        create=True,
        update=True,
        removal=_DOCUMENT_REMOVAL,
        preserve_ids=True,
        batch_size=BATCH_SIZE,
        notes="Needs the clearing_account option: each outstanding item becomes an invoice, bill "
        "or credit note for the amount outstanding, on the clearing account.",
    ),
    "credit_notes": EntityCapabilities(
        extract=True,
        modified_since=True,
        deletions=True,
        create=True,
        update=True,
        removal=_DOCUMENT_REMOVAL,
        preserve_ids=True,
        batch_size=BATCH_SIZE,
        notes="Allocations move with the credit note; they are removed before it is voided.",
    ),
    "payments": EntityCapabilities(
        extract=True,
        deletions=True,
        create=True,
        update=True,
        removal={Removal.DELETE},
        batch_size=BATCH_SIZE,
        notes="One invoice: a payment; several: a batch payment; money left on account: an "
        "overpayment, allocated to the invoices. Xero payments cannot be changed: an update "
        "deletes and enters them again.",
    ),
    "bank_transactions": EntityCapabilities(
        extract=True,
        modified_since=True,
        deletions=True,
        create=True,
        update=True,
        removal={Removal.DELETE},
        batch_size=BATCH_SIZE,
        notes="Lines may not post to bank, receivables or payables accounts. A transaction "
        "without a contact goes to the sundry contact.",
    ),
    "bank_transfers": EntityCapabilities(
        extract=True,
        modified_since=True,
        deletions=True,
        create=True,
        update=True,
        removal={Removal.DELETE},
        batch_size=50,
        notes="Between bank accounts in the base currency (amounts are known in base currency).",
    ),
    "manual_journals": EntityCapabilities(
        extract=True,
        modified_since=True,
        deletions=True,
        create=True,
        update=True,
        removal={Removal.DELETE, Removal.VOID},
        batch_size=BATCH_SIZE,
        notes="Xero refuses journals to bank, receivables and payables accounts: with the "
        "clearing_account option such lines go through it and a document moves them on; without "
        "it the journal stays out. Exchange differences on receivables or payables stay out: Xero "
        "computes them itself.",
    ),
}


TENANT_LIMITS = TenantLimits(concurrent=5, per_minute=60, per_day=5000)
"""Xero's documented limits per tenant (organisation); the connector's own limiter keeps them."""


def _tenancy(options: XeroOptions) -> Tenancy:
    return Tenancy(
        system="xero",
        tenant=options.tenant_id or options.location,
        limits=TENANT_LIMITS.scaled(options.rate_scale),
    )


def _factory(options: XeroOptions) -> object:
    from .connector import XeroConnector

    return XeroConnector(options)


@hookimpl
def migrationkit_register_connectors(register: Callable[[ConnectorInfo], None]) -> None:
    register(
        ConnectorInfo(
            name="xero",
            summary="Xero Accounting API, one organisation (source and target)",
            factory=_factory,
            capabilities=CAPABILITIES,
            location_help="the tenant id, e.g. xero:6f7594f2-... (see `migrationkit auth xero`)",
            options=XeroOptions,
            tenancy=_tenancy,
        )
    )


@hookimpl
def migrationkit_register_commands(register: Callable[[str, click.Command], None]) -> None:
    from .auth import auth_command

    register("auth", auth_command)
