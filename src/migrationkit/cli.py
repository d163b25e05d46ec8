"""The ``migrationkit`` command line: a thin layer over the library.

Errors are one line and an exit code (1 for a failure, 2 for bad usage); ``--debug`` shows the
traceback instead. A failure's line says what to do, from the error's retriable axis: run the
same command again to resume (transient), or fix the cause first (permanent).

Whatever the command line prints that came from outside (paths, names, messages, records) is
printed as text, never as rich markup: ``[/red]`` in a path or ``[migration]`` in a message
print as written. Error lines, ``--debug`` tracebacks and every log record go through the
redaction filter (:mod:`migrationkit.core.redaction`) first.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import attrs
import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from .core.config import ConnectorSpec, Settings, load_settings
from .core.engine import Migration, SourceInvalid
from .core.errors import ConfigError, MigrationKitError
from .core.files import private_dir
from .core.findings import Finding
from .core.plugins import Connector, PluginRegistry
from .core.reconcile import Reconciliation
from .core.redaction import install_redaction, redact
from .core.report import (
    Counts,
    Plan,
    RunReport,
    describe_counts,
    label,
    write_json,
    write_reconciliation,
    write_reports,
)
from .core.state import SQLiteStateStore
from .portfolio.cli import portfolio
from .portfolio.handoff_cli import handoff, purge

__all__ = ["cli", "main"]

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


class _Context:
    def __init__(self, debug: bool, quiet: bool, state: str | None, config: str | None) -> None:
        self.debug = debug
        self.quiet = quiet
        self.state = state
        self.config = config
        self.skip_validation = False
        self.reconcile_after = False
        self._registry: PluginRegistry | None = None

    @property
    def registry(self) -> PluginRegistry:
        if self._registry is None:
            self._registry = PluginRegistry()
        return self._registry

    def settings(
        self, source: str | None = None, target: str | None = None, **overrides: Any
    ) -> Settings:
        if self.skip_validation:
            overrides["validate"] = False
        if self.reconcile_after:
            overrides["reconcile"] = True
        return load_settings(
            self.config, source=source, target=target, state=self.state, overrides=overrides
        )

    def open(self, spec: ConnectorSpec | None, side: str) -> Connector:
        if spec is None:
            raise click.UsageError(f"give the {side} as NAME:LOCATION or in --config [{side}]")
        return self.registry.open(spec.name, spec.options, origin=spec.origin)


pass_context = click.make_pass_decorator(_Context)


# -------------------------------------------------------------------------------------------------
# progress
# -------------------------------------------------------------------------------------------------


class _ProgressObserver:
    """Draws a progress line per entity while a run works."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def entity_started(self, entity: str, phase: str) -> None:
        if self._progress is not None:
            self._tasks[entity] = self._progress.add_task(
                f"{phase} {label(entity, 2).split(' ', 1)[1]}", total=None
            )

    def advanced(self, entity: str, count: int) -> None:
        if self._progress is not None and entity in self._tasks:
            self._progress.advance(self._tasks[entity], count)

    def entity_finished(self, entity: str, counts: Counts) -> None:
        if self._progress is not None and entity in self._tasks:
            task = self._tasks.pop(entity)
            done = self._progress.tasks[self._progress.task_ids.index(task)].completed
            self._progress.update(task, total=done, completed=done)

    def note(self, message: str) -> None:
        if self._progress is not None:
            self._progress.console.print(Text(message, style="dim"))


@contextmanager
def _observer(quiet: bool) -> Iterator[_ProgressObserver]:
    if quiet or not console.is_terminal:
        yield _ProgressObserver(None)
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    with progress:
        yield _ProgressObserver(progress)


# -------------------------------------------------------------------------------------------------
# output helpers
# -------------------------------------------------------------------------------------------------


def mark(flag: bool) -> str:
    return "✓" if flag else "·"


def _print_findings(findings: list[Finding], limit: int = 40) -> None:
    if not findings:
        console.print("[green]No findings: the source is valid.[/green]")
        return
    table = Table(title=None, show_lines=False)
    for column in ("Code", "Severity", "Header", "Where", "Message"):
        table.add_column(column, overflow="fold")
    for finding in findings[:limit]:
        table.add_row(
            Text(finding.code),
            str(finding.severity),
            "" if finding.header_number is None else str(finding.header_number),
            Text(finding.pointer),
            Text(finding.message),
        )
    console.print(table)
    if len(findings) > limit:
        console.print(f"… and {len(findings) - limit} more findings.")
    errors_ = sum(1 for f in findings if f.is_error)
    console.print(f"[bold]{errors_} error(s), {len(findings) - errors_} warning(s).[/bold]")


def _print_run(report: RunReport, folder: Path | None) -> None:
    table = Table(title=escape(f"Run {report.run_id}: {report.mode} ({report.status})"))
    columns = ("extracted", "created", "updated", "unchanged", "skipped", "failed", "deleted")
    table.add_column("Records")
    for column in columns:
        table.add_column(column, justify="right")
    for entity, counts in report.entities.items():
        data = counts.to_dict()
        table.add_row(label(entity, 2).split(" ", 1)[1], *(str(data[c] or "") for c in columns))
    totals = report.totals().to_dict()
    table.add_row("[bold]All[/bold]", *(f"[bold]{totals[c]}[/bold]" for c in columns))
    console.print(table)
    for code, count, example in report.top_reasons(5):
        console.print(f"  [yellow]{escape(f'{count} × {code}')}[/yellow]: {escape(example)}")
    for note in report.notes:
        console.print(Text(note, style="yellow"))
    if folder is not None:
        console.print(f"Reports: {folder}/report.html, report.json, errors.csv", markup=False)


def _print_plan(plan: Plan) -> None:
    table = Table(title=escape(f"Plan: {plan.source} → {plan.target} ({plan.history_mode})"))
    for column in ("Records", "Count", "Target can", "Will not move", "Why"):
        table.add_column(column, overflow="fold")
    for entity in plan.entities:
        caps = entity.capabilities
        can = [
            name
            for name, flag in (
                ("create", caps.create),
                ("update", caps.update),
                ("preserve ids", caps.preserve_ids),
            )
            if flag
        ] + sorted(str(r) for r in caps.removal)
        blocked = entity.rejected + sum(n for n, _ in entity.problems.values())
        if not entity.moves:
            blocked = entity.count
        why = [entity.reason] if entity.reason else []
        why += [f"{n} × {code} (e.g. {', '.join(ex)})" for code, (n, ex) in entity.problems.items()]
        if entity.mapped:
            why.append(f"{entity.mapped} mapped onto existing target records")
        if entity.excluded:
            why.append(f"{entity.excluded} after the cut-off date")
        table.add_row(
            label(entity.entity, 2).split(" ", 1)[1],
            str(entity.count),
            ", ".join(can) or "nothing",
            str(blocked or ""),
            Text("; ".join(why)),
        )
    console.print(table)
    errors_ = sum(1 for f in plan.findings if f.is_error)
    if plan.findings:
        console.print(f"Validation: {errors_} error(s), {len(plan.findings) - errors_} warning(s).")
    for mode, reason in plan.refused.items():
        console.print(Text(f"{mode} is not possible: {reason}", style="yellow"))
    for note in plan.notes:
        console.print(f"Note: {note}", markup=False)


def _finish(settings: Settings, report: RunReport) -> None:
    folder = write_reports(report, settings.run_report_folder(report.run_id))
    _print_run(report, folder)
    if report.status != "succeeded":
        sys.exit(1)


def _migration(
    ctx: _Context, settings: Settings, observer: Any, *, need_source: bool = True
) -> Migration:
    if need_source and settings.source is None:
        raise click.UsageError("give the source as NAME:LOCATION or in --config [source]")
    if settings.target is None:
        raise click.UsageError("give the target as NAME:LOCATION or in --config [target]")
    source = ctx.open(settings.source, "source") if need_source or settings.source else None
    target = ctx.open(settings.target, "target")
    store = SQLiteStateStore(settings.state)
    # The command line writes each run's reports into a folder of its own (see _finish).
    options = attrs.evolve(settings.options, report_dir=None)
    return Migration(source, target, store, options, observer)


def _run_mode(ctx: _Context, settings: Settings, action: Callable[[Migration], RunReport]) -> None:
    with _observer(ctx.quiet) as observer:
        migration = _migration(ctx, settings, observer)
        try:
            report = action(migration)
        except SourceInvalid as exc:
            _print_findings([f for f in exc.findings if f.is_error], limit=15)
            raise
    _finish(settings, report)


# -------------------------------------------------------------------------------------------------
# commands
# -------------------------------------------------------------------------------------------------


def _shared(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--state`` and ``--config`` work after the subcommand as well as before it."""

    def remember(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        if value is not None:
            setattr(ctx.find_object(_Context), param.name or "", value)

    command = click.option(
        "--state",
        type=click.Path(dir_okay=False),
        expose_value=False,
        callback=remember,
        help="State store (default .migrationkit/state.db).",
    )(command)
    return click.option(
        "--config",
        type=click.Path(dir_okay=False),
        expose_value=False,
        callback=remember,
        help="TOML config for scripted migrations.",
    )(command)


_source_arg = click.argument("source", required=False)
_target_arg = click.argument("target", required=False)
_report_opt = click.option(
    "--report-dir", type=click.Path(file_okay=False), help="Where to write the reports."
)


def _run_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options every mode that writes takes: skip validation, reconcile afterwards."""

    def remember(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value:
            setattr(ctx.find_object(_Context), param.name or "", True)

    command = click.option(
        "--skip-validation",
        "skip_validation",
        is_flag=True,
        expose_value=False,
        callback=remember,
        help="Do not validate the source first.",
    )(command)
    return click.option(
        "--reconcile",
        "reconcile_after",
        is_flag=True,
        expose_value=False,
        callback=remember,
        help="Reconcile source and target after the run and keep it in the report.",
    )(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.option(
    "--state", type=click.Path(dir_okay=False), help="State store (default .migrationkit/state.db)."
)
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    help="TOML config for scripted migrations.",
)
@click.version_option(package_name="migrationkit")
@click.pass_context
def cli(
    ctx: click.Context, debug: bool, quiet: bool, state: str | None, config: str | None
) -> None:
    """Move a company's accounting data between systems, and prove nothing was lost.

    SOURCE and TARGET are NAME:LOCATION, e.g. sage50-json:company.json and csv:out/,
    or come from --config.
    """
    registry = ctx.obj if isinstance(ctx.obj, PluginRegistry) else None
    ctx.obj = _Context(debug, quiet, state, config)
    ctx.obj._registry = registry


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_context
def connectors(ctx: _Context, as_json: bool) -> None:
    """List installed connectors and what each can do per entity."""
    registry = ctx.registry
    if as_json:
        data = {
            name: {
                "summary": info.summary,
                "source": info.is_source,
                "target": info.is_target,
                "location": info.location_help,
                "options": info.option_help(),
                "provided_by": registry.distribution_of(name),
                "entities": {e: c.summary() for e, c in info.capabilities.items()},
            }
            for name, info in registry.connectors.items()
        }
        if registry.broken:
            data["_broken"] = {"summary": "plugins that failed to load", **registry.broken}
        click.echo(json.dumps(data, indent=2))
        return
    for name, info in registry.connectors.items():
        roles = " and ".join(
            r for r, ok in (("source", info.is_source), ("target", info.is_target)) if ok
        )
        provider = registry.distribution_of(name)
        console.print(
            f"[bold]{name}[/bold] ({roles}) – {info.summary}"
            + (f" [dim]{escape(f'[{provider}]')}[/dim]" if provider else "")
        )
        table = Table(show_header=True, box=None, padding=(0, 1))
        for column in (
            "entity",
            "extract",
            "since",
            "deletions",
            "create",
            "update",
            "remove",
            "ids",
            "batch",
        ):
            table.add_column(column)
        for entity, caps in info.capabilities.items():
            table.add_row(
                entity,
                mark(caps.extract),
                mark(caps.modified_since),
                mark(caps.deletions),
                mark(caps.create),
                mark(caps.update),
                "/".join(sorted(str(r) for r in caps.removal)) or "·",
                mark(caps.preserve_ids),
                str(caps.batch_size) if caps.loads else "",
            )
        console.print(table)
        console.print()
    for name, reason in registry.broken.items():
        errors.print(Text(redact(f"plugin {name!r} failed to load: {reason}"), style="yellow"))


@cli.command()
@_shared
@_source_arg
@_report_opt
@pass_context
def validate(ctx: _Context, source: str | None, report_dir: str | None) -> None:
    """Check the source; exit 0 when clean, 1 when it has errors."""
    settings = ctx.settings(source=source)
    connector = ctx.open(settings.source, "source")
    if not connector.implements("migrationkit_validate"):
        raise ConfigError(f"connector {connector.name!r} has no validator")
    findings = list(connector.validate())
    _print_findings(findings)
    if report_dir:
        written = write_json(
            private_dir(report_dir) / "validation.json", [f.to_dict() for f in findings]
        )
        console.print(f"Findings written to {written}", markup=False)
    if any(f.is_error for f in findings):
        sys.exit(1)


@cli.command()
@_shared
@_source_arg
@_target_arg
@_report_opt
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@pass_context
def plan(
    ctx: _Context, source: str | None, target: str | None, report_dir: str | None, as_json: bool
) -> None:
    """Show what would move, what the target can do, and what cannot move and why."""
    settings = ctx.settings(source, target, report_dir=report_dir)
    with _observer(ctx.quiet or as_json) as observer:
        result = _migration(ctx, settings, observer).plan()
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_plan(result)
    if report_dir:
        write_json(private_dir(report_dir) / "plan.json", result.to_dict())


@cli.command()
@_shared
@_source_arg
@_target_arg
@_report_opt
@click.option("--sample", type=click.IntRange(min=1), help="Records per entity (default 20).")
@_run_options
@pass_context
def demo(
    ctx: _Context,
    source: str | None,
    target: str | None,
    report_dir: str | None,
    sample: int | None,
) -> None:
    """Migrate a referentially closed sample of each entity."""
    settings = ctx.settings(source, target, report_dir=report_dir, sample=sample)
    _run_mode(ctx, settings, lambda m: m.demo(sample))


@cli.command()
@_shared
@_source_arg
@_target_arg
@_report_opt
@_run_options
@pass_context
def migrate(
    ctx: _Context,
    source: str | None,
    target: str | None,
    report_dir: str | None,
) -> None:
    """Migrate everything (a full run); what earlier runs moved is never duplicated."""
    settings = ctx.settings(source, target, report_dir=report_dir)
    _run_mode(ctx, settings, lambda m: m.full())


@cli.command()
@_shared
@_source_arg
@_target_arg
@_report_opt
@_run_options
@pass_context
def delta(
    ctx: _Context,
    source: str | None,
    target: str | None,
    report_dir: str | None,
) -> None:
    """Move only what changed at the source since the last successful run."""
    settings = ctx.settings(source, target, report_dir=report_dir)
    _run_mode(ctx, settings, lambda m: m.delta())


def _confirm(counts: dict[str, int], target: str, yes: bool) -> None:
    if not counts:
        console.print("Nothing to roll back.")
        sys.exit(0)
    console.print(f"This removes {describe_counts(counts)} from {target}.", markup=False)
    if not yes and not click.confirm("Continue?", default=False):
        console.print("Nothing was changed.")
        sys.exit(1)


@cli.command()
@_shared
@_target_arg
@_report_opt
@click.option("--run", "run_id", type=int, help="Roll back what this run created.")
@click.option("--all", "all_runs", is_flag=True, help="Roll back everything the migration created.")
@click.option("--source", "source", help="The source, when several migrations share the target.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_context
def rollback(
    ctx: _Context,
    target: str | None,
    report_dir: str | None,
    run_id: int | None,
    all_runs: bool,
    source: str | None,
    yes: bool,
) -> None:
    """Remove what a run (default: the last one that created records) or the migration created."""
    if run_id is not None and all_runs:
        raise click.UsageError("give --run ID or --all, not both")
    settings = ctx.settings(source, target, report_dir=report_dir)
    with _observer(ctx.quiet) as observer:
        migration = _migration(ctx, settings, observer, need_source=False)
        if not all_runs and run_id is None:
            run_id = migration.last_creating_run()
            if run_id is None:
                console.print("No run has created anything yet: nothing to roll back.")
                return
        counts = migration.rollback_preview(None if all_runs else run_id)
    _confirm(counts, str(settings.target), yes)
    with _observer(ctx.quiet) as observer:
        migration.observer = observer
        report = migration.rollback(None if all_runs else run_id)
    _finish(settings, report)


@cli.command()
@_shared
@_source_arg
@_target_arg
@_report_opt
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@_run_options
@pass_context
def remigrate(
    ctx: _Context,
    source: str | None,
    target: str | None,
    report_dir: str | None,
    yes: bool,
) -> None:
    """Roll back everything the migration created, then migrate everything again."""
    settings = ctx.settings(source, target, report_dir=report_dir)
    migration = _migration(ctx, settings, None)
    counts = migration.rollback_preview(None)
    if counts:
        _confirm(counts, str(settings.target), yes)
    with _observer(ctx.quiet) as observer:
        migration.observer = observer
        removed, report = migration.remigrate()
    write_reports(removed, settings.run_report_folder(removed.run_id))
    _finish(settings, report)


@cli.command(name="reconcile")
@_shared
@_source_arg
@_target_arg
@_report_opt
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Compare balances as of this date.",
)
@pass_context
def reconcile_command(
    ctx: _Context,
    source: str | None,
    target: str | None,
    report_dir: str | None,
    as_of: dt.datetime | None,
) -> None:
    """Compare trial balance, receivables, payables and bank from both sides, to the penny."""
    settings = ctx.settings(source, target, report_dir=report_dir)
    migration = _migration(ctx, settings, None)
    result = migration.reconcile(as_of.date() if as_of else None)
    _print_reconciliation(result)
    folder = write_reconciliation(result, report_dir or settings.report_root / "reconcile")
    console.print(f"Reconciliation written to {folder}/reconciliation.html and .json", markup=False)
    if not result.ok:
        sys.exit(1)


def _print_reconciliation(result: Reconciliation) -> None:
    table = Table(
        title=escape(
            f"Reconciliation {result.source} → {result.target}"
            + (f" as of {result.as_of}" if result.as_of else "")
        )
    )
    for column in ("Balances", "Source", "Target"):
        table.add_column(column, justify="right" if column != "Balances" else "left")
    for kind, title in (
        ("trial_balance", "Trial balance (other accounts)"),
        ("receivables_control", "Receivables control"),
        ("payables_control", "Payables control"),
        ("bank", "Bank accounts"),
        ("receivables", "Customers"),
        ("payables", "Suppliers"),
    ):
        lines = [b for b in result.balances if b.kind == kind]
        if kind == "trial_balance":
            left = sum((abs(b.source) for b in lines), start=0)
            right = sum((abs(b.target) for b in lines), start=0)
            table.add_row(title + " (sum of |balances|)", str(left), str(right))
        else:
            left, right = result.totals(kind)
            table.add_row(title, str(left), str(right))
    console.print(table)
    if not result.differences:
        console.print("[green]No differences: source and target agree to the penny.[/green]")
    for diff in result.differences:
        colour = "red" if diff.unexplained else "yellow"
        console.print(
            Text(
                f"{diff.name} ({diff.kind}): source {diff.source}, target {diff.target}, "
                f"difference {diff.difference}, unexplained {diff.unexplained}",
                style=colour,
            )
        )
        for explanation in diff.explanations[:5]:
            console.print(
                f"    {explanation.entity} {explanation.key}: {explanation.amount} "
                f"({explanation.outcome}{': ' + explanation.reason if explanation.reason else ''})",
                markup=False,
            )
    for note in result.notes:
        console.print(Text(note, style="dim"))


@cli.command()
@_shared
@pass_context
def runs(ctx: _Context) -> None:
    """List the migrations and runs in the state store."""
    store = SQLiteStateStore(ctx.settings().state)
    for migration in store.migrations():
        console.print(
            f"[bold]{escape(migration.source)}[/bold] → [bold]{escape(migration.target)}[/bold]"
        )
        for run in store.runs(migration.id):
            totals = (run.summary or {}).get("totals", {})
            console.print(
                f"  run {run.id:>4}  {run.mode:<10} {run.status:<11} {run.started_at}  "
                f"created {totals.get('created', 0)}, updated {totals.get('updated', 0)}, "
                f"failed {totals.get('failed', 0)}, skipped {totals.get('skipped', 0)}",
                markup=False,
            )


@cli.command()
@_shared
@click.option(
    "--portfolio",
    "portfolios",
    multiple=True,
    type=click.Path(file_okay=False),
    help="A portfolio folder to check too (default: the current folder, when it is one).",
)
@click.option(
    "--report-dir", "report_dirs", multiple=True, type=click.Path(file_okay=False),
    help="Another report folder to check.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_context
def doctor(
    ctx: _Context, portfolios: tuple[str, ...], report_dirs: tuple[str, ...], as_json: bool
) -> None:
    """List what migrationkit keeps where, with permissions; flag what others can read.

    Exits 1 when something is flagged.
    """
    from .doctor import check_storage, found_portfolios

    checkup = check_storage(
        ctx.config,
        state=ctx.state,
        report_dirs=report_dirs,
        portfolios=portfolios or found_portfolios(),
    )
    if as_json:
        click.echo(json.dumps(checkup.to_dict(), indent=2, ensure_ascii=False))
    else:
        table = Table(box=None, padding=(0, 1))
        for column in ("What", "Where", "Mode", ""):
            table.add_column(column, overflow="fold")
        for item in checkup.items:
            verdict = (
                Text(f"✗ {item.problem}", style="red")
                if item.problem
                else Text(item.detail or ("ok" if item.exists else "not there"))
            )
            table.add_row(Text(item.kind), Text(item.path), item.mode or "", verdict)
        console.print(table)
        if checkup.ok:
            console.print("[green]Nothing is readable by other users.[/green]")
        else:
            console.print(
                f"[red]{len(checkup.problems)} item(s) open to other users[/red]: "
                "`chmod go= PATH` (folders: `chmod -R go= PATH`) closes them."
            )
    if not checkup.ok:
        sys.exit(1)


@cli.group()
def generate() -> None:
    """Generate example data (connectors add generators)."""


@cli.group()
def sandbox() -> None:
    """Run a local emulator of an accounting API (connectors add sandboxes)."""


@cli.group()
def auth() -> None:
    """Log in to an accounting API (connectors add logins)."""


cli.add_command(portfolio)
cli.add_command(handoff)
cli.add_command(purge)

_GROUPS: dict[str, click.Group] = {"generate": generate, "sandbox": sandbox, "auth": auth, "": cli}


def _add_plugin_commands(registry: PluginRegistry) -> None:
    for group, command in registry.commands():
        target = _GROUPS.get(group)
        if target is None:
            raise ConfigError(f"a plugin adds {command.name!r} to unknown group {group!r}")
        if command.name not in target.commands:
            target.add_command(command)


def _fail(message: str, code: int) -> NoReturn:
    # The message is text, not markup: "[migration]" and "[/red]" in it must print as written.
    errors.print(f"[red]error:[/red] {escape(redact(message))}", soft_wrap=True)
    sys.exit(code)


def _show_traceback(error: BaseException, code: int) -> NoReturn:
    """``--debug``: the whole traceback, through the redaction filter, as plain text."""
    text = "".join(traceback.format_exception(error))
    sys.stderr.write(redact(text))
    sys.stderr.flush()
    sys.exit(code)


def _log_to_stderr() -> None:
    """``--debug``: every log record (redacted) to standard error."""
    root = logging.getLogger()
    if any(h.get_name() == "migrationkit-debug" for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name("migrationkit-debug")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)


def _what_to_do(error: MigrationKitError) -> str:
    """The error's one line, ending with what to do about it (unless it says so already)."""
    message = " ".join(str(error).split())
    if "same command again" in message:
        return message
    if error.retriable and error.resume_at is not None:
        when = f"{error.resume_at:%Y-%m-%d %H:%M} UTC"
        return f"{message} (transient: run the same command again after {when} to resume)"
    if error.retriable:
        return f"{message} (transient: run the same command again to resume)"
    return f"{message} (permanent: fix the cause, then run the same command again)"


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``migrationkit`` command."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    install_redaction()
    if debug:
        _log_to_stderr()
    try:
        registry = PluginRegistry()
        _add_plugin_commands(registry)
        cli.main(args=args, prog_name="migrationkit", standalone_mode=False, obj=registry)
    except click.exceptions.Abort:
        _fail("aborted", 1)
    except click.ClickException as exc:
        if debug:
            _show_traceback(exc, exc.exit_code)
        exc.show()
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        if debug:
            _show_traceback(exc, 2)
        _fail(" ".join(str(exc).split()), 2)
    except MigrationKitError as exc:
        if debug:
            _show_traceback(exc, 1)
        _fail(_what_to_do(exc), 1)
    except KeyboardInterrupt:
        _fail("interrupted; run the same command again to resume", 130)
    except OSError as exc:
        if debug:
            _show_traceback(exc, 1)
        _fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc), 1)
    except Exception as exc:  # a bug: still one line, with the way to see more
        if debug:
            _show_traceback(exc, 1)
        _fail(f"unexpected {type(exc).__name__}: {exc} (run with --debug to see where)", 1)
