"""``migrationkit handoff`` and ``migrationkit purge``: thin commands over the portfolio library.

``--portfolio`` and ``--database-url`` work before the command and after it, as for
``migrationkit portfolio``.
"""

from __future__ import annotations

import json

import click
from rich import box
from rich.markup import escape
from rich.table import Table

from .cli import _opened, _Where, _where_options, console
from .handoff import HandoffEvent

__all__ = ["handoff", "purge"]


@click.group(name="handoff")
@_where_options
@click.pass_context
def handoff(ctx: click.Context) -> None:
    """Hand a client over to another portfolio with a one-time code, or take one in."""
    ctx.ensure_object(_Where)


@handoff.command()
@_where_options
@click.argument("name")
@click.option("--to", "to", metavar="EMAIL", help="Who the offer is for (kept in the history).")
@click.option(
    "--out", type=click.Path(dir_okay=False), help="The bundle (default: CLIENT.mkhandoff here)."
)
@click.option(
    "--days",
    type=click.FloatRange(min=0, min_open=True),
    metavar="DAYS",
    help="Days the offer lasts (default: handoff_days, 15).",
)
@click.option("--json", "as_json", is_flag=True, help="Print code, file and expiry as JSON.")
@click.pass_context
def offer(
    ctx: click.Context,
    name: str,
    to: str | None,
    out: str | None,
    days: float | None,
    as_json: bool,
) -> None:
    """Seal a client into one bundle file and print its one-time code (shown once only)."""
    with _opened(ctx) as found:
        made = found.offer(name, to=to, out=out, days=days)
    if as_json:
        click.echo(json.dumps(made.to_dict(), indent=2, ensure_ascii=False))
        return
    console.print(f"Offered {escape(made.client)}: {escape(str(made.file))}")
    console.print(f"Code (shown only now; read it out, do not send it with the file): {made.code}")
    console.print(f"The offer expires {made.expires}.")


@handoff.command()
@_where_options
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--code", required=True, help="The one-time code the sender read out.")
@click.option("--as", "as_name", metavar="NAME", help="The client's name here (default: its own).")
@click.option("--source", help="Its source here, NAME:LOCATION (default: the sender's).")
@click.pass_context
def accept(
    ctx: click.Context, file: str, code: str, as_name: str | None, source: str | None
) -> None:
    """Take the client of a bundle into this portfolio (the bundle is deleted)."""
    with _opened(ctx) as found:
        client = found.accept(file, code, name=as_name, source=source)
    console.print(f"Accepted {escape(client.name)} ({client.status}).")
    if client.reason:
        console.print(escape(client.reason))


@handoff.command()
@_where_options
@click.argument("name")
@click.pass_context
def withdraw(ctx: click.Context, name: str) -> None:
    """Withdraw a client's open offer (its bundle is deleted where it was written)."""
    with _opened(ctx) as found:
        event = found.withdraw(name)
    console.print(f"Withdrew the offer of {escape(event.client)}.")


@handoff.command()
@_where_options
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--code", required=True, help="The one-time code the sender read out.")
@click.option("--reason", required=True, help="Why (the sender sees it where they can).")
@click.pass_context
def reject(ctx: click.Context, file: str, code: str, reason: str) -> None:
    """Refuse the offer of a bundle, saying why (the bundle is deleted)."""
    with _opened(ctx) as found:
        event = found.reject(file, code, reason)
    console.print(f"Rejected the offer of {escape(event.client)}.")


def _events_table(events: list[HandoffEvent], me: str) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for heading in ("When (UTC)", "Client", "Event", "Who", "Detail"):
        table.add_column(heading, no_wrap=heading != "Detail")
    for e in events:
        side = "" if e.portfolio == me else " (other side)"
        detail = {
            "offered": f"to {e.counterpart or 'anyone with the code'}, until {e.expires}",
            "rejected": e.reason or "",
            "expired": f"on {e.expires}",
        }.get(e.event, "")
        table.add_row(
            e.at.replace("T", " ")[:16],
            escape(e.client),
            e.event + side,
            escape(e.who),
            escape(detail),
        )
    return table


@handoff.command(name="list")
@_where_options
@click.option("--json", "as_json", is_flag=True, help="A JSON array of events.")
@click.pass_context
def list_command(ctx: click.Context, as_json: bool) -> None:
    """The history: offers made, withdrawn, accepted, rejected (with reason), expired."""
    with _opened(ctx) as found:
        events = found.handoff_history()
        me = found.handoffs.me
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in events], indent=2, ensure_ascii=False))
        return
    if not events:
        console.print("No handoffs yet.")
        return
    console.print(_events_table(events, me))


@click.command(name="purge")
@_where_options
@click.option(
    "--older-than",
    type=click.FloatRange(min=0),
    metavar="DAYS",
    help="Clients live this many days or more (default: purge_after_days, 5).",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@click.option(
    "--all", "everything", is_flag=True, help="The id map too (the client cannot load again)."
)
@click.option("--json", "as_json", is_flag=True, help="A JSON object: clients, removals, left.")
@click.pass_context
def purge(
    ctx: click.Context, older_than: float | None, dry_run: bool, everything: bool, as_json: bool
) -> None:
    """Delete what migrations left behind: reports, error files, outcomes, run history, logs."""
    with _opened(ctx) as found:
        done = found.purge(older_than=older_than, dry_run=dry_run, everything=everything)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "dry_run": dry_run,
                    "clients": list(done.clients),
                    "removals": [r.to_dict() for r in done.removals],
                    "left": [{"client": n, "why": why} for n, why in done.left],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    verb = "would remove" if dry_run else "removed"
    for removal in done.removals:
        console.print(f"{verb}: {escape(removal.line())}")
    for name, why in done.left:
        console.print(f"left {escape(name)}: {escape(why)}")
    console.print(
        f"{len(done.removals)} item(s) {verb}" + (" (dry run)." if dry_run else ".")
        if done.removals
        else "Nothing to purge."
    )
