"""What a run tells its user: counts per entity, every problem with its reason, as files.

Each run writes three files to its report directory: ``report.json`` (machine readable),
``errors.csv`` (one row per skipped, failed or remaining record) and ``report.html`` (a page a
bookkeeper can read, with no external resources).

Every file is owner-only (folders ``0700``, files ``0600``: they hold the company's books) and
every text in it has been through the redaction filter (:mod:`migrationkit.core.redaction`):
no token, client secret or password reaches a report, even when an API echoed one.
"""

from __future__ import annotations

import csv
import functools
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import jinja2

from .capabilities import EntityCapabilities
from .files import open_private, private_dir, write_private
from .findings import Finding
from .redaction import redact, redact_data

if TYPE_CHECKING:
    from .reconcile import Reconciliation
    from .state import OutcomeRow

__all__ = [
    "ENTITY_LABELS",
    "Counts",
    "EntityPlan",
    "Plan",
    "RunReport",
    "describe_counts",
    "write_reports",
]

ENTITY_LABELS: dict[str, tuple[str, str]] = {
    "company": ("company", "company records"),
    "tax_rates": ("tax rate", "tax rates"),
    "ledger_accounts": ("ledger account", "ledger accounts"),
    "tracking_categories": ("tracking category", "tracking categories"),
    "bank_accounts": ("bank account", "bank accounts"),
    "contacts": ("contact", "contacts"),
    "items": ("item", "items"),
    "opening_balances": ("opening balance", "opening balances"),
    "invoices": ("invoice", "invoices"),
    "refunds": ("refund", "refunds"),
    "open_items": ("open item", "open items"),
    "credit_notes": ("credit note", "credit notes"),
    "payments": ("payment", "payments"),
    "bank_transactions": ("bank transaction", "bank transactions"),
    "bank_transfers": ("bank transfer", "bank transfers"),
    "manual_journals": ("journal", "journals"),
}

_COUNT_FIELDS = (
    "extracted",
    "created",
    "updated",
    "unchanged",
    "skipped",
    "failed",
    "deleted",
    "remaining",
    "mapped",
    "excluded",
)


def label(entity: str, count: int) -> str:
    """``"20 invoices"``, ``"1 credit note"``: a count in words a bookkeeper uses."""
    singular, plural = ENTITY_LABELS.get(entity, (entity, entity))
    return f"{count} {singular if count == 1 else plural}"


def describe_counts(counts: Mapping[str, int]) -> str:
    """``"20 invoices, 4 credit notes and 11 payments"``."""
    parts = [label(entity, n) for entity, n in counts.items() if n]
    if not parts:
        return "nothing"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


@attrs.define
class Counts:
    """How many records of one entity met each outcome in a run."""

    extracted: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    deleted: int = 0
    remaining: int = 0
    mapped: int = 0
    excluded: int = 0

    def any(self) -> bool:
        return any(getattr(self, name) for name in _COUNT_FIELDS)

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in _COUNT_FIELDS}


@attrs.frozen(kw_only=True)
class EntityPlan:
    entity: str
    count: int
    rejected: int
    excluded: int
    mapped: int
    capabilities: EntityCapabilities
    moves: bool
    reason: str | None
    problems: Mapping[str, tuple[int, Sequence[str]]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "count": self.count,
            "rejected": self.rejected,
            "excluded": self.excluded,
            "mapped": self.mapped,
            "moves": self.moves,
            "reason": self.reason,
            "target": self.capabilities.summary(),
            "problems": {
                code: {"count": n, "examples": list(examples)}
                for code, (n, examples) in sorted(self.problems.items())
            },
        }


@attrs.frozen(kw_only=True)
class Plan:
    """What a migration would do, before it does anything."""

    source: str
    target: str
    history_mode: str
    entities: Sequence[EntityPlan]
    findings: Sequence[Finding]
    refused: Mapping[str, str]
    notes: Sequence[str] = ()
    """What the next delta should know (a source's deleted list that may be incomplete)."""

    @property
    def blocked(self) -> int:
        """Records that would not move (rejected at the source or with a problem)."""
        return sum(
            p.rejected + sum(n for n, _ in p.problems.values()) + (0 if p.moves else p.count)
            for p in self.entities
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "history_mode": self.history_mode,
            "entities": [p.to_dict() for p in self.entities],
            "validation": {
                "errors": sum(1 for f in self.findings if f.is_error),
                "warnings": sum(1 for f in self.findings if not f.is_error),
            },
            "refused_modes": dict(self.refused),
            "notes": list(self.notes),
        }


@attrs.define(kw_only=True)
class RunReport:
    """The outcome of one run: counts per entity and every record that did not move."""

    run_id: int
    mode: str
    status: str
    source: str | None
    target: str
    started_at: str
    seconds: float
    entities: dict[str, Counts]
    problems: list[OutcomeRow]
    notes: list[str] = attrs.field(factory=list)
    error: str | None = None
    error_retriable: bool | None = None
    """Whether the error that stopped the run is transient (running again resumes it) or
    permanent (its cause must be fixed first); None when nothing stopped the run."""
    reconciliation: Reconciliation | None = None

    def totals(self) -> Counts:
        total = Counts()
        for counts in self.entities.values():
            for name in _COUNT_FIELDS:
                setattr(total, name, getattr(total, name) + getattr(counts, name))
        return total

    def top_reasons(self, limit: int = 10) -> list[tuple[str, int, str]]:
        """The commonest reasons records did not move: ``(code, count, an example message)``."""
        counter: Counter[str] = Counter()
        example: dict[str, str] = {}
        for row in self.problems:
            code = row.reason or str(row.outcome)
            counter[code] += 1
            example.setdefault(code, row.message or "")
        return [(code, n, example[code]) for code, n in counter.most_common(limit)]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "run_id": self.run_id,
            "mode": self.mode,
            "status": self.status,
            "source": self.source,
            "target": self.target,
            "started_at": self.started_at,
            "seconds": self.seconds,
            "entities": {name: c.to_dict() for name, c in self.entities.items()},
            "totals": self.totals().to_dict(),
            "top_reasons": [
                {"reason": code, "count": n, "example": message}
                for code, n, message in self.top_reasons()
            ],
            "notes": list(self.notes),
            "error": self.error,
            "error_retriable": self.error_retriable,
        }
        if self.reconciliation is not None:
            data["reconciliation"] = self.reconciliation.to_dict()
        return data


_ERROR_COLUMNS = ("entity", "source_key", "outcome", "reason_code", "message", "target_response")


def write_errors_csv(rows: Iterable[OutcomeRow], path: Path) -> int:
    """One row per record that did not move; returns how many."""
    count = 0
    with open_private(path, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(_ERROR_COLUMNS)
        for row in rows:
            cells = (
                row.entity,
                row.source_key,
                str(row.outcome),
                row.reason or "",
                row.message or "",
                row.response or "",
            )
            writer.writerow([redact(cell) for cell in cells])
            count += 1
    return count


@functools.cache
def _templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("migrationkit.core", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    environment.globals["label"] = label
    return environment


def render_html(report: RunReport) -> str:
    """The bookkeeper's page for one run, self-contained (no external CSS or scripts)."""
    return (
        _templates()
        .get_template("report.html.j2")
        .render(
            report=report,
            totals=report.totals(),
            reasons=report.top_reasons(),
            problems=report.problems[:500],
            more=max(0, len(report.problems) - 500),
            count_fields=_COUNT_FIELDS[:-2],
            labels=ENTITY_LABELS,
        )
    )


def render_reconciliation_html(result: Reconciliation) -> str:
    """A self-contained page for a reconciliation on its own."""
    return _templates().get_template("reconciliation.html.j2").render(rec=result)


def write_reconciliation(result: Reconciliation, directory: str | Path) -> Path:
    """Write ``reconciliation.json`` and ``reconciliation.html`` into ``directory``."""
    folder = private_dir(directory)
    write_json(folder / "reconciliation.json", result.to_dict())
    write_private(folder / "reconciliation.html", redact(render_reconciliation_html(result)))
    return folder


def write_reports(report: RunReport, directory: str | Path) -> Path:
    """Write ``report.json``, ``errors.csv`` and ``report.html`` into ``directory``."""
    folder = private_dir(directory)
    write_json(folder / "report.json", report.to_dict())
    write_errors_csv(report.problems, folder / "errors.csv")
    write_private(folder / "report.html", redact(render_html(_redacted(report))))
    return folder


def _redacted(report: RunReport) -> RunReport:
    """The report with every free text redacted (before HTML escaping can hide a shape)."""

    def text(value: str | None) -> str | None:
        return redact(value) if value else value

    problems = [
        attrs.evolve(row, message=text(row.message), response=text(row.response))
        for row in report.problems
    ]
    return attrs.evolve(
        report,
        problems=problems,
        notes=[redact(note) for note in report.notes],
        error=text(report.error),
    )


def write_json(path: Path, data: Any) -> Path:
    """Report data as an owner-only JSON file, every text redacted."""
    text = json.dumps(redact_data(data), indent=2, ensure_ascii=False, default=str) + "\n"
    return write_private(path, text)
