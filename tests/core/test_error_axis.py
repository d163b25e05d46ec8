"""Every error says whether retrying can help; the report and the command line read that axis."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from factories import company
from fakes import MemorySource, MemoryTarget, capabilities, connect, source_connector
from migrationkit import (
    AuthError,
    CapabilityError,
    ConfigError,
    DailyLimitReached,
    Interrupted,
    LoadRequest,
    LoadResult,
    MappingError,
    Migration,
    MigrationKitError,
    MigrationOptions,
    RateLimitError,
    References,
    RemoteAPIError,
    SQLiteStateStore,
    StateError,
    hookimpl,
)
from migrationkit import cli as command_line
from migrationkit.core.errors import is_retriable
from migrationkit.http import ConnectionLost


@pytest.mark.parametrize(
    ("error", "retriable"),
    [
        (RemoteAPIError("x", status=429), True),
        (RemoteAPIError("x", status=500), True),
        (RemoteAPIError("x", status=503), True),
        (RemoteAPIError("x", status=408), True),
        (RemoteAPIError("x", status=501), False),
        (RemoteAPIError("x", status=400), False),
        (RemoteAPIError("x", status=422), False),
        (RemoteAPIError("x", status=404), False),
        (RemoteAPIError("x", status=403), False),
        (RemoteAPIError("x"), False),
        (RemoteAPIError("timed out", retriable=True), True),
        (RemoteAPIError("x", status=503, retriable=False), False),
        (AuthError("refused", status=401), False),
        (AuthError("token endpoint down", status=503), True),
        (ConnectionLost("dropped"), True),
        (RateLimitError("slow down"), True),
        (DailyLimitReached("tomorrow", resume_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)), True),
        (Interrupted("stopped"), True),
        (ConfigError("bad"), False),
        (CapabilityError("cannot"), False),
        (MappingError("no such thing"), False),
        (StateError("locked by another"), False),
        (StateError("the store was busy", retriable=True), True),
    ],
)
def test_every_error_is_on_the_retriable_axis(error: MigrationKitError, retriable: bool) -> None:
    assert error.retriable is retriable
    assert (error.resume_at is not None) is isinstance(error, DailyLimitReached)


class FailingTarget(MemoryTarget):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    @hookimpl
    def migrationkit_load(
        self, entity: str, requests: Sequence[LoadRequest], refs: References
    ) -> list[LoadResult]:
        raise self.error


@pytest.mark.parametrize(
    ("error", "retriable"),
    [
        (RemoteAPIError("Example: POST /things answered 503", status=503), True),
        (RemoteAPIError("Example: POST /things answered 422", status=422), False),
        (ConnectionLost("Example: the connection broke"), True),
        (RuntimeError("a bug"), False),
    ],
)
def test_the_run_report_records_the_axis_of_the_error_that_stopped_it(
    tmp_path: Path, error: Exception, retriable: bool
) -> None:
    store = SQLiteStateStore(tmp_path / "state.db")
    migration = Migration(
        source_connector(MemorySource(company())),
        connect(FailingTarget(error), capabilities()),
        store,
        MigrationOptions(report_dir=str(tmp_path / "reports")),
    )
    with pytest.raises(type(error)):
        migration.full()
    [run] = store.runs(store.migrations()[0].id)
    assert run.summary is not None
    assert run.summary["error"].startswith(type(error).__name__)
    assert run.summary["error_retriable"] is retriable
    written = json.loads((tmp_path / "reports" / "report.json").read_text("utf-8"))
    assert written["error_retriable"] is retriable and written["error"] == run.summary["error"]
    page = (tmp_path / "reports" / "report.html").read_text("utf-8")
    assert ("running the same command again resumes it" in page) is retriable
    assert ("fix the cause" in page) is not retriable
    store.close()


def test_a_finished_run_has_no_error_on_either_side(tmp_path: Path) -> None:
    store = SQLiteStateStore(tmp_path / "state.db")
    migration = Migration(
        source_connector(MemorySource(company())),
        connect(MemoryTarget(), capabilities()),
        store,
        MigrationOptions(),
    )
    report = migration.full()
    assert report.to_dict()["error"] is None and report.to_dict()["error_retriable"] is None
    store.close()


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (
            RemoteAPIError("Xero: GET /Invoices answered 503", status=503),
            "answered 503 (transient: run the same command again to resume)",
        ),
        (
            AuthError(
                "Xero: GET /Invoices answered 401: access was refused; log in again", status=401
            ),
            "log in again (permanent: fix the cause, then run the same command again)",
        ),
        (
            DailyLimitReached(
                "the daily limit of 5000 calls is spent",
                resume_at=dt.datetime(2030, 1, 2, 3, 4, tzinfo=dt.UTC),
            ),
            "spent (transient: run the same command again after 2030-01-02 03:04 UTC to resume)",
        ),
        (
            Interrupted("run 3 interrupted; run the same command again to resume it"),
            "run 3 interrupted; run the same command again to resume it",
        ),
    ],
)
def test_the_error_line_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: MigrationKitError,
    says: str,
) -> None:
    def fail() -> None:
        raise error

    monkeypatch.setattr(command_line, "PluginRegistry", fail)
    with pytest.raises(SystemExit) as stopped:
        command_line.main(["status"])
    assert stopped.value.code == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == f"error: {says}" or line.endswith(says), line


def test_any_exception_has_an_axis() -> None:
    assert is_retriable(KeyboardInterrupt()) is True, "running again resumes an interrupted run"
    assert is_retriable(RuntimeError("a bug")) is False
    assert is_retriable(OSError(28, "No space left on device")) is False
    assert is_retriable(RemoteAPIError("x", status=502)) is True
