"""``migrationkit generate sage50``: write a generated Sage 50 company export."""

from __future__ import annotations

import click

__all__ = ["generate_sage50"]


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
    help="Inject a deliberate defect (a kind of docs/formats/sage50-json.md §12); writes "
    "PATH.expected.json.",
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
