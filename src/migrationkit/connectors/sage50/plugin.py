"""Registers the ``sage50-json`` connector (loaded through the ``migrationkit`` entry point)."""

from __future__ import annotations

from collections.abc import Callable

import click

from migrationkit.core.capabilities import EntityCapabilities
from migrationkit.core.contract import ConnectorInfo
from migrationkit.core.hookspecs import hookimpl

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


def _factory(location: str | None = None, **options: object) -> object:
    from .connector import Sage50Source

    return Sage50Source(location, **options)  # type: ignore[arg-type]


@hookimpl
def migrationkit_register_connectors(register: Callable[[ConnectorInfo], None]) -> None:
    register(
        ConnectorInfo(
            name="sage50-json",
            summary="Sage 50 Accounts (UK) company exported as sage50-json 1.0 (source)",
            factory=_factory,
            capabilities=CAPABILITIES,
            location_help="path of the export file, e.g. sage50-json:company.json",
            options={
                "path": "path of the export file (same as LOCATION)",
                "parallel": "index a large file's audit trail in a second process while "
                "loading (true, the default, or false)",
            },
        )
    )


@click.command(name="sage50")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--transactions", "-n", type=click.IntRange(min=0), default=200, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--history-mode",
    type=click.Choice(["full_history", "opening_balances", "records_only"]),
    default="full_history",
    show_default=True,
)
@click.option(
    "--defect",
    "defects",
    multiple=True,
    help="Inject a deliberate defect (FORMAT.md section 10 kinds); writes PATH.expected.json.",
)
def generate_sage50(
    path: str, transactions: int, seed: int, history_mode: str, defects: tuple[str, ...]
) -> None:
    """Write a realistic, seeded Sage 50 company export (sage50-json 1.0) to PATH."""
    from .generator import GeneratorOptions, generate

    try:
        options = GeneratorOptions(
            seed=seed,
            transactions=transactions,
            history_mode=history_mode,
            defects=list(defects),  # type: ignore[arg-type]
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    summary = generate(path, options)
    click.echo(
        f"{summary.path}: {summary.transactions} transactions, {summary.file_size:,} bytes, "
        f"{summary.first_date} to {summary.last_date}"
    )
    if summary.expected_path:
        click.echo(f"expected findings: {summary.expected_path}")


@hookimpl
def migrationkit_register_commands(register: Callable[[str, click.Command], None]) -> None:
    register("generate", generate_sage50)
