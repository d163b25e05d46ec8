"""One client's run of one mode, in this process: opened, advanced batch by batch, summed up.

:class:`ClientRun` knows nothing of the engine that schedules it: the workflow of
:mod:`.workflows` makes each :meth:`ClientRun.advance` a durable step. What every advance
returns is plain data (it is recorded as the step's output): a batch written, the end of the
run with the client's new status, or a wait (the target's day is spent, consent is needed).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs

from migrationkit.core.config import load_settings
from migrationkit.core.engine import Migration, SourceInvalid
from migrationkit.core.errors import (
    AuthError,
    DailyLimitReached,
    MigrationKitError,
    RateLimitError,
    StateError,
)
from migrationkit.core.files import private_dir
from migrationkit.core.findings import Finding
from migrationkit.core.options import LOAD_MODES
from migrationkit.core.plugins import PluginRegistry
from migrationkit.core.reconcile import Reconciliation
from migrationkit.core.redaction import redact
from migrationkit.core.report import (
    Counts,
    RunReport,
    write_errors_csv,
    write_json,
    write_reconciliation,
)
from migrationkit.core.report import write_reports as write_run_reports
from migrationkit.core.state import Outcome, OutcomeRow, StateStore

from .model import Client, ClientStatus
from .place import Place, PortfolioSettings
from .stepped import Batch, SteppedRun

__all__ = ["ClientRun", "Progress", "settle_status"]

_PROBLEMS = (Outcome.SKIPPED, Outcome.FAILED, Outcome.REMAINING)
_RECONCILED = ("full", "delta", "remigrate")


class Progress:
    """Counts what a run examined, for the progress bars (a run observer)."""

    def __init__(self) -> None:
        self.examined = 0
        self.entity: str | None = None

    def entity_started(self, entity: str, phase: str) -> None:
        self.entity = entity

    def advanced(self, entity: str, count: int) -> None:
        self.examined += count

    def entity_finished(self, entity: str, counts: Counts) -> None:
        pass

    def note(self, message: str) -> None:
        pass


def _mode_call(mode: str, sample: int | None) -> Callable[[Migration], Any]:
    calls: dict[str, Callable[[Migration], Any]] = {
        "validate": lambda m: m.validate(),
        "demo": lambda m: m.demo(sample),
        "full": lambda m: m.full(),
        "delta": lambda m: m.delta(),
        "remigrate": lambda m: m.remigrate(),
        "rollback": lambda m: m.rollback(None),
        "reconcile": lambda m: m.reconcile(),
    }
    return calls[mode]


def _first_line(error: BaseException) -> str:
    # Kept in the portfolio database and the engine's: redacted like every stored text.
    lines = redact(str(error)).strip().splitlines()
    return " ".join(lines[0].split()) if lines else type(error).__name__


def _later(seconds: float) -> str:
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=max(seconds, 0.0))
    return moment.isoformat(timespec="seconds")


class ClientRun:
    """One client's run of ``mode``, advanced one batch per :meth:`advance`."""

    def __init__(
        self,
        place: Place,
        registry: PluginRegistry,
        settings: PortfolioSettings,
        client: Client,
        mode: str,
        *,
        previous: ClientStatus = ClientStatus.PENDING,
        sample: int | None = None,
    ) -> None:
        self.place = place
        self.previous = previous
        self.settings = settings
        self.client = client
        self.mode = mode
        self.folder = place.client_folder(client)
        self.progress = Progress()
        self.store: StateStore | None = None
        self.stepped: SteppedRun[Any] | None = None
        self._registry = registry
        self._sample = sample

    # -- opening -------------------------------------------------------------------------------

    def _open(self) -> SteppedRun[Any]:
        client = self.client
        config = self.place.client_config(client)
        settings = load_settings(config, source=client.source, target=client.target)
        if settings.source is None or settings.target is None:
            raise MigrationKitError(f"client {client.name!r} needs a source and a target")
        source = self._registry.open(
            settings.source.name, settings.source.options, origin=settings.source.origin
        )
        target = self._registry.open(
            settings.target.name, settings.target.options, origin=settings.target.origin
        )
        private_dir(self.folder)
        options = attrs.evolve(
            settings.options,
            # The engine writes the report of every run that ends, failed ones too, here.
            report_dir=str(self.folder / "reports" / "latest"),
            reconcile=self.mode in _RECONCILED,
        )
        self.store = self.place.state_store(client)
        migration = Migration(source, target, self.store, options, self.progress)
        return SteppedRun(migration, _mode_call(self.mode, self._sample), f"run {client.name}")

    # -- advancing -----------------------------------------------------------------------------

    def advance(self) -> dict[str, Any]:
        """Write the next batch, or end the run; what happened, as plain data."""
        try:
            if self.stepped is None:
                self.stepped = self._open()
            step = self.stepped.advance()
        except BaseException as exc:
            self.close()
            if not isinstance(exc, Exception):
                raise
            return self._ended_badly(exc)
        if isinstance(step, Batch):
            return {
                "state": "batch",
                "entity": step.entity,
                "records": step.records,
                "examined": self.progress.examined,
            }
        try:
            return self._ended(step.result)
        finally:
            self.close()

    def close(self) -> None:
        if self.stepped is not None:
            self.stepped.close()
        if self.store is not None:
            self.store.close()
            self.store = None

    # -- endings -------------------------------------------------------------------------------

    def _ended(self, result: Any) -> dict[str, Any]:
        if self.mode == "validate":
            return self._validated(list(result))
        if self.mode == "reconcile":
            assert isinstance(result, Reconciliation)
            return self._reconciled(result)
        reports: list[RunReport] = list(result) if isinstance(result, tuple) else [result]
        for report in reports:
            self._write(report)
        report = reports[-1]
        totals = report.totals()
        summary: dict[str, Any] = {
            "state": "done",
            "run_id": report.run_id,
            "run_status": report.status,
            "moved": totals.created + totals.updated + totals.mapped + totals.deleted,
            "failed": totals.failed + totals.skipped + totals.remaining,
            "report": str(self._run_folder(report.run_id) / "report.html"),
            "error_file": str(self._run_folder(report.run_id) / "errors.csv"),
            "reconcile": None,
        }
        reconciliation = report.reconciliation
        if self.mode in _RECONCILED:
            assert reconciliation is not None
            summary["reconcile"] = _verdict(reconciliation)
            if reconciliation.ok:
                summary["status"], summary["reason"] = ClientStatus.ACTIVE, None
            else:
                summary["status"] = ClientStatus.FAILED
                summary["reason"] = f"reconcile: {summary['reconcile']}"
        elif self.mode == "demo":
            summary["status"], summary["reason"] = self._unchanged_or(ClientStatus.PENDING), None
        else:  # rollback: the target no longer holds the migration
            summary["status"], summary["reason"] = ClientStatus.PENDING, None
        return summary

    def _unchanged_or(self, status: ClientStatus) -> ClientStatus:
        """An active client stays active after a run that does not move it (a demo, a check)."""
        return ClientStatus.ACTIVE if self.previous is ClientStatus.ACTIVE else status

    def _loaded(self) -> bool:
        """Whether a full, delta or re-migration of this client ever succeeded."""
        store = self.store
        return store is not None and any(
            store.last_successful_run(m.id, _RECONCILED) is not None for m in store.migrations()
        )

    def _validated(self, findings: list[Finding]) -> dict[str, Any]:
        path = self._write_findings(findings)
        errors = [f for f in findings if f.is_error]
        if errors:
            return {
                "state": "done",
                "status": ClientStatus.FAILED,
                "reason": _invalid(errors),
                "failed": len(errors),
                "error_file": str(path),
            }
        return {
            "state": "done",
            "status": self._unchanged_or(ClientStatus.PENDING),
            "reason": None,
            "failed": 0,
            "error_file": str(path),
        }

    def _reconciled(self, result: Reconciliation) -> dict[str, Any]:
        folder = self.folder / "reports" / "reconcile"
        write_reconciliation(result, folder)
        verdict = _verdict(result)
        summary: dict[str, Any] = {
            "state": "done",
            "reconcile": verdict,
            "report": str(folder / "reconciliation.html"),
        }
        if not result.ok:
            summary["status"], summary["reason"] = ClientStatus.FAILED, f"reconcile: {verdict}"
        elif self._loaded():
            summary["status"], summary["reason"] = ClientStatus.ACTIVE, None
        else:
            summary["status"], summary["reason"] = ClientStatus.PENDING, None
        return summary

    def _ended_badly(self, error: Exception) -> dict[str, Any]:
        """A run that raised: waiting for the target, or failed with its error file."""
        if isinstance(error, DailyLimitReached):
            wait = error.retry_after if error.retry_after is not None else 3600.0
            if error.resume_at is not None:
                wait = (error.resume_at - dt.datetime.now(dt.UTC)).total_seconds()
            return _waiting(f"rate limit: the day's calls are spent ({_first_line(error)})", wait)
        if isinstance(error, AuthError):
            return _waiting(
                f"consent needed: the authorisation expired or was refused ({_first_line(error)})",
                self.settings.consent_recheck,
            )
        if isinstance(error, RateLimitError):
            wait = error.retry_after if error.retry_after is not None else 60.0
            return _waiting(f"rate limit: {_first_line(error)}", wait)
        if isinstance(error, StateError) and "another migrationkit run is using" in str(error):
            return _waiting("its state store is held by another run", 5.0)
        if isinstance(error, SourceInvalid):
            path = self._write_findings(error.findings)
            errors = [f for f in error.findings if f.is_error]
            return {
                "state": "done",
                "status": ClientStatus.FAILED,
                "reason": _invalid(errors),
                "failed": len(errors),
                "error_file": str(path),
            }
        summary: dict[str, Any] = {
            "state": "done",
            "status": ClientStatus.FAILED,
            "reason": _first_line(error)
            if isinstance(error, MigrationKitError)
            else f"unexpected {type(error).__name__}: {_first_line(error)}",
        }
        summary.update(self._failed_run_files())
        return summary

    # -- files ---------------------------------------------------------------------------------

    def _run_folder(self, run_id: int) -> Path:
        return self.folder / "reports" / f"run-{run_id}"

    def _write(self, report: RunReport) -> None:
        folder = write_run_reports(report, self._run_folder(report.run_id))
        if report.reconciliation is not None:
            write_reconciliation(report.reconciliation, folder)

    def _failed_run_files(self) -> dict[str, Any]:
        """The report the engine wrote of a run that failed, kept under its run's folder."""
        latest = self.folder / "reports" / "latest"
        try:
            data = json.loads((latest / "report.json").read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        folder = self._run_folder(int(data["run_id"]))
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(latest, folder)
        totals = data.get("totals", {})
        return {
            "run_id": data["run_id"],
            "run_status": data.get("status"),
            "moved": sum(totals.get(k, 0) for k in ("created", "updated", "mapped", "deleted")),
            "failed": sum(totals.get(k, 0) for k in ("failed", "skipped", "remaining")),
            "report": str(folder / "report.html"),
            "error_file": str(folder / "errors.csv"),
        }

    def _write_findings(self, findings: Iterable[Finding]) -> Path:
        """Every finding of the source's validation as an error file (errors first)."""
        folder = private_dir(self.folder / "reports" / "validation")
        ordered = sorted(findings, key=lambda f: (not f.is_error, f.code, f.pointer))
        write_json(folder / "validation.json", [f.to_dict() for f in ordered])
        rows = (
            OutcomeRow(
                entity="source",
                source_key=f.pointer
                + (f" (header {f.header_number})" if f.header_number is not None else ""),
                outcome=Outcome.SKIPPED if f.is_error else Outcome.UNCHANGED,
                reason=f.code,
                message=f"{f.severity}: {f.message}",
            )
            for f in ordered
        )
        path = folder / "errors.csv"
        write_errors_csv(rows, path)
        return path


def _verdict(result: Reconciliation) -> str:
    count = len(result.unexplained)
    if not count:
        return "ok"
    return f"{count} unexplained difference" + ("s" if count != 1 else "")


def _invalid(errors: list[Finding]) -> str:
    codes = sorted({f.code for f in errors})
    return f"the source has {len(errors)} validation error(s) ({', '.join(codes[:5])})"


def _waiting(reason: str, seconds: float) -> dict[str, Any]:
    seconds = max(float(seconds), 0.0)
    return {"state": "waiting", "reason": reason, "seconds": seconds, "until": _later(seconds)}


def settle_status(mode: str, summary: dict[str, Any]) -> ClientStatus:
    """The status a finished run's summary asks for (load modes default to failed)."""
    status = summary.get("status")
    if status is not None:
        return ClientStatus(status)
    return ClientStatus.FAILED if mode in LOAD_MODES else ClientStatus.PENDING
