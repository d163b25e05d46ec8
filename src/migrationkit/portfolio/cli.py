"""``migrationkit portfolio``: the command line over :class:`~migrationkit.portfolio.Portfolio`.

A thin layer: every command is one call of the library. ``--portfolio`` and ``--database-url``
work before the command and after it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, NoReturn

import click
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from migrationkit.core.redaction import redact

from .api import Portfolio
from .model import MODES, Client, ClientStatus

__all__ = ["portfolio"]

console = Console(highlight=False)


class _Where:
    """The portfolio the command works on, as the options said."""

    def __init__(self) -> None:
        self.folder = "."
        self.database_url: str | None = None

    def open(self) -> Portfolio:
        return Portfolio(self.folder, database_url=self.database_url)


def _where_options(command: Callable[..., Any]) -> Callable[..., Any]:
    def remember(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        if value is not None:
            setattr(ctx.ensure_object(_Where), param.name or "", value)

    command = click.option(
        "--database-url",
        "database_url",
        metavar="URL",
        expose_value=False,
        callback=remember,
        help="PostgreSQL URL every worker shares (default MIGRATIONKIT_DATABASE_URL; "
        "without either, the portfolio is embedded in its folder).",
    )(command)
    return click.option(
        "--portfolio",
        "folder",
        type=click.Path(file_okay=False),
        expose_value=False,
        callback=remember,
        help="The portfolio folder (default: the current folder).",
    )(command)


@contextmanager
def _opened(ctx: click.Context) -> Iterator[Portfolio]:
    with ctx.ensure_object(_Where).open() as found:
        yield found


@click.group(name="portfolio")
@_where_options
@click.pass_context
def portfolio(ctx: click.Context) -> None:
    """A practice's client companies: add them, migrate them all, see where each one stands."""
    ctx.ensure_object(_Where)


@portfolio.command()
@_where_options
@click.argument("name")
@click.option("--source", help="The source, NAME:LOCATION (or [source] in --config).")
@click.option("--target", help="The target, NAME:LOCATION (or [target] in --config).")
@click.option("--config", type=click.Path(dir_okay=False), help="The client's own TOML.")
@click.option(
    "--paying",
    type=click.Choice(["practice", "client"]),
    default="practice",
    show_default=True,
    help="Who pays (fixed once the first run starts).",
)
@click.option("--email", help="The client's contact, when it has its own login (participating).")
@click.pass_context
def add(
    ctx: click.Context,
    name: str,
    source: str | None,
    target: str | None,
    config: str | None,
    paying: str,
    email: str | None,
) -> None:
    """Add a client company to the portfolio."""
    with _opened(ctx) as found:
        client = found.add(
            name, source=source, target=target, config=config, paying=paying, email=email
        )
    console.print(f"Added {escape(client.name)} ({client.status}).")


@portfolio.command(name="set")
@_where_options
@click.argument("name")
@click.option("--paying", type=click.Choice(["practice", "client"]), help="Who pays.")
@click.option("--email", help="The contact email ('' to clear it).")
@click.pass_context
def set_command(ctx: click.Context, name: str, paying: str | None, email: str | None) -> None:
    """Change who pays (before the first run only) or the contact email."""
    with _opened(ctx) as found:
        changes: dict[str, Any] = {"paying": paying}
        if email is not None:
            changes["email"] = email
        client = found.set(name, **changes)
    console.print(
        f"{client.name}: paid by the {client.paying}, contact {client.email}.", markup=False
    )


def _when(moment: str | None) -> str:
    """``2026-12-02T13:33:10+00:00`` as ``12-02 13:33`` (UTC), to keep the table narrow."""
    return (moment or "")[5:16].replace("T", " ")


def _table(clients: list[Client], purges: dict[str, str | None]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("Client", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Pays", no_wrap=True)
    table.add_column("Last run", no_wrap=True)
    table.add_column("Moved", justify="right", no_wrap=True)
    table.add_column("Failed", justify="right", no_wrap=True)
    table.add_column("Until", no_wrap=True)
    table.add_column("Reconcile")
    table.add_column("Purge", no_wrap=True)
    for c in clients:
        status = str(c.status) + (f", {c.queued} queued" if c.queued else "")
        table.add_row(
            escape(c.name) + (" (hidden)" if c.hidden else ""),
            escape(status),
            str(c.paying),
            f"{c.last_mode} {_when(c.last_finished_at)}" if c.last_mode else "",
            "" if c.moved is None else str(c.moved),
            "" if c.failed is None else str(c.failed),
            _when(c.waiting_until),
            escape(c.reconcile or ""),
            _when(purges.get(c.name)) or (f"done {_when(c.purged_at)}" if c.purged_at else ""),
        )
    return table


def _print_clients(clients: list[Client], purges: dict[str, str | None] | None = None) -> None:
    """The table, then why each failed or waiting client is so."""
    console.print(_table(clients, purges or {}))
    for c in clients:
        if c.status is ClientStatus.WAITING:
            until = f" until {c.waiting_until}" if c.waiting_until else ""
            console.print(f"{escape(c.name)} waits{until}: {escape(c.reason or '')}")
        elif c.status is ClientStatus.FAILED:
            console.print(f"{escape(c.name)} failed: {escape(c.reason or '')}")


@portfolio.command(name="list")
@_where_options
@click.option("--status", type=click.Choice([str(s) for s in ClientStatus]), help="Only these.")
@click.option("--all", "show_all", is_flag=True, help="Hidden and removed clients too.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array of objects.")
@click.pass_context
def list_command(ctx: click.Context, status: str | None, show_all: bool, as_json: bool) -> None:
    """One row per client: status, who pays, last run, moved, failed, reconcile, purge date."""
    with _opened(ctx) as found:
        clients = found.clients(status=status, include_hidden=show_all)
        purges = {c.name: found.purge_due(c) for c in clients}
    if as_json:
        rows = [{**c.to_dict(), "purge_at": purges[c.name]} for c in clients]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not clients:
        console.print("No clients" + (f" with status {status}" if status else "") + ".")
        return
    _print_clients(clients, purges)


class _Bars:
    """One progress bar per client while a run works."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, clients: list[Client]) -> None:
        if self.progress is None:
            return
        for c in clients:
            what = (
                str(c.status)
                if c.status is not ClientStatus.MIGRATING
                else (f"{c.progress_entity or 'starting'}")
            )
            if c.status is ClientStatus.WAITING:
                what = f"waiting until {c.waiting_until}"
            if c.queued:
                what = "queued"
            # Cut first, then escape: a cut escape would end in a stray backslash.
            label = f"{escape(c.name[:28])}{' ' * (28 - len(c.name[:28]))} {escape(what[:34])}"
            task = self.tasks.get(c.name)
            if task is None:
                task = self.tasks[c.name] = self.progress.add_task(label, total=None)
            done = c.status not in (ClientStatus.MIGRATING, ClientStatus.WAITING) and not c.queued
            self.progress.update(
                task,
                description=label,
                completed=c.progress,
                total=max(c.progress, 1) if done else None,
            )


@portfolio.command()
@_where_options
@click.argument("mode", type=click.Choice(MODES), metavar="MODE")
@click.argument("names", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every client that is not hidden.")
@click.option("--status", type=click.Choice([str(s) for s in ClientStatus]), help="By status.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes on this machine (this one and N-1 more).")  # fmt: skip
@click.option("--sample", type=click.IntRange(min=1), help="Records per entity (demo).")
@click.option("--enqueue-only", is_flag=True, help="Queue the runs for workers elsewhere.")
@click.pass_context
def run(
    ctx: click.Context,
    mode: str,
    names: tuple[str, ...],
    every: bool,
    status: str | None,
    workers: int,
    sample: int | None,
    enqueue_only: bool,
) -> None:
    """Run MODE for the clients named (or --all, or --status S), one workflow per client.

    MODE is validate, demo, full, delta, remigrate, rollback or reconcile.
    """
    quiet = bool(ctx.find_root().params.get("quiet"))
    with _opened(ctx) as found:
        clients = found.select(names, every=every, status=status)
        if enqueue_only:
            ids = found.enqueue(mode, clients, sample=sample)
            console.print(f"Queued {mode} for {len(ids)} client(s): workers take them from here.")
            return
        progress = None
        if not quiet and console.is_terminal:
            progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed} records"),
                TimeElapsedColumn(),
                console=console,
            )
        try:
            if progress is not None:
                with progress:
                    ended = found.run(
                        mode, clients, sample=sample, workers=workers, on_progress=_Bars(progress)
                    )
            else:
                ended = found.run(mode, clients, sample=sample, workers=workers)
        except KeyboardInterrupt:
            _leave(
                "interrupted; the runs already queued go on when a worker runs "
                "(`migrationkit portfolio worker`, or this command again)",
                130,
            )
    _print_clients(ended)
    failed = [c.name for c in ended if c.status is ClientStatus.FAILED]
    if failed:
        console.print(f"[red]{len(failed)} client(s) failed[/red]: see `portfolio errors NAME`.")
        _leave(None, 1)
    _leave(None, 0)


def _leave(message: str | None, code: int) -> NoReturn:
    """Exit; at once if a workflow still runs in a thread here (another worker takes it on)."""
    if message:
        Console(stderr=True, highlight=False).print(f"[red]error:[/red] {escape(redact(message))}")
    sys.stdout.flush()
    sys.stderr.flush()
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    for thread in others:
        if not thread.daemon:
            thread.join(timeout=1.0)
    if any(t.is_alive() and not t.daemon for t in others):
        os._exit(code)
    sys.exit(code)


@portfolio.command()
@_where_options
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    help="Clients of one system each worker runs at once (the queues' setting).",
)
@click.option(
    "--idle-exit", type=click.FloatRange(min=0), help="Stop after this many idle seconds."
)
@click.pass_context
def worker(ctx: click.Context, concurrency: int | None, idle_exit: float | None) -> None:
    """Take clients from the portfolio's queues until stopped (Ctrl-C or SIGTERM)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with _opened(ctx) as found:
        console.print(f"Working for the portfolio at {escape(found.place.describe())}.")
        with suppress(KeyboardInterrupt):
            found.work(concurrency=concurrency, stop=stop, idle_exit=idle_exit)
    _leave(None, 0)


def _client_command(name: str, help_text: str, action: Callable[[Portfolio, str], str]) -> None:
    @portfolio.command(name=name, help=help_text)
    @_where_options
    @click.argument("client")
    @click.pass_context
    def command(ctx: click.Context, client: str) -> None:
        with _opened(ctx) as found:
            click.echo(action(found, client))


_client_command("hide", "Hide a client from the list (list --all shows it).",
                lambda p, n: f"{p.hide(n).name} is hidden.")  # fmt: skip
_client_command("unhide", "Show a hidden client in the list again.",
                lambda p, n: f"{p.unhide(n).name} is shown again.")  # fmt: skip
_client_command("errors", "Print the path of the client's error file.",
                lambda p, n: str(p.errors(n)))  # fmt: skip


@portfolio.command()
@_where_options
@click.argument("name")
@click.option("--delete-data", is_flag=True, help="Delete its state, reports and history.")
@click.pass_context
def remove(ctx: click.Context, name: str, delete_data: bool) -> None:
    """Stop managing a client; nothing recoverable of its data is left."""
    with _opened(ctx) as found:
        client = found.remove(name, delete_data=delete_data)
    console.print(f"{escape(client.name)} is removed; its data is deleted.")


@portfolio.command()
@_where_options
@click.option("--out", type=click.Path(dir_okay=False), help="Where (default report.html).")
@click.pass_context
def report(ctx: click.Context, out: str | None) -> None:
    """Write one HTML page for the whole portfolio, with links to each client's reports."""
    with _opened(ctx) as found:
        click.echo(str(found.report(out)))
