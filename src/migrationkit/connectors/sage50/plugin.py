"""Registers the ``sage50-json`` connector (loaded through the ``migrationkit`` entry point)."""

from __future__ import annotations

from collections.abc import Callable

from migrationkit.core.capabilities import EntityCapabilities
from migrationkit.core.contract import ConnectorInfo
from migrationkit.core.hookspecs import hookimpl

from .options import Sage50Options

_MASTER = EntityCapabilities(extract=True)
_TRAIL = EntityCapabilities(extract=True, deletions=True)

CAPABILITIES = {
    "company": _MASTER,
    "tax_rates": _MASTER,
    "ledger_accounts": _MASTER,
    "tracking_categories": EntityCapabilities(
        extract=True, notes="Departments become one tracking category named Department."
    ),
    "bank_accounts": _MASTER,
    "contacts": EntityCapabilities(
        extract=True,
        notes="Customers are keyed customer:REF and suppliers supplier:REF.",
    ),
    "items": _MASTER,
    "opening_balances": _MASTER,
    "open_items": _MASTER,
    "invoices": _TRAIL,
    "refunds": _TRAIL,
    "credit_notes": EntityCapabilities(
        extract=True,
        deletions=True,
        notes="SD and PD discounts become credit notes marked discount.",
    ),
    "payments": _TRAIL,
    "bank_transactions": _TRAIL,
    "bank_transfers": EntityCapabilities(
        extract=True,
        deletions=True,
        notes="A journal of one JC on a bank and one JD on another bank is a transfer.",
    ),
    "manual_journals": _TRAIL,
}


def _factory(options: Sage50Options) -> object:
    from .connector import Sage50Source

    return Sage50Source(options)


@hookimpl
def migrationkit_register_connectors(register: Callable[[ConnectorInfo], None]) -> None:
    register(
        ConnectorInfo(
            name="sage50-json",
            summary="Sage 50 Accounts (UK) company exported as sage50-json 1.0 (source)",
            factory=_factory,
            capabilities=CAPABILITIES,
            location_help="path of the export file, e.g. sage50-json:company.json",
            options=Sage50Options,
        )
    )
