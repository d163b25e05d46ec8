"""The redaction filter: secrets by value and by shape, on log records, reports and state."""

from __future__ import annotations

import io
import json
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrationkit import PluginRegistry
from migrationkit.core.errors import ConfigError
from migrationkit.core.files import open_private, private_dir, write_private
from migrationkit.core.redaction import (
    REDACTED,
    RedactionFilter,
    forget_all,
    install_redaction,
    redact,
    redact_data,
    remember,
)
from migrationkit.core.report import Counts, RunReport, write_reports
from migrationkit.core.state import Outcome, OutcomeRow, RunStatus, SQLiteStateStore

SECRET = "s3cr3t-Value-0042"


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    forget_all()
    yield
    forget_all()


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("Authorization: Bearer abcdefgh12345678", "abcdefgh12345678"),
        ("Authorization: Basic c2FuZGJveDpzZWNyZXQ=", "c2FuZGJveDpzZWNyZXQ="),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl here", "eyJhbGciOiJIUzI1NiJ9"),
        ("postgresql://alice:hunter22@db.example/test", "hunter22"),
        ("GET /callback?code=abc123xyz&state=s", "abc123xyz"),
        ("refresh_token=rt-98765&grant_type=refresh_token", "rt-98765"),
        ('{"access_token": "at-12345", "expires_in": 1800}', "at-12345"),
        ("client_secret: 'cs-777777'", "cs-777777"),
        ("password=pw-1", "pw-1"),
    ],
)
def test_secret_shapes_are_redacted_without_being_told(text: str, hidden: str) -> None:
    cleaned = redact(text)
    assert hidden not in cleaned
    assert REDACTED in cleaned


def test_ordinary_text_is_left_alone() -> None:
    text = (
        "invoice INV-0042 for 1,250.00 to Acme [migration] code S50-E017 token_store=x.json; "
        "7000 Basic salaries, Basic rate VAT, bearer cheques"
    )
    assert redact(text) == text


def test_remembered_values_are_redacted_in_every_encoding() -> None:
    remember(SECRET, "short", None, "")
    assert redact(f"x {SECRET} y") == f"x {REDACTED} y"
    remember("with space/slash")
    assert redact("q=with%20space%2Fslash&x=1") == f"q={REDACTED}&x=1"
    assert redact("q=with+space%2Fslash") == f"q={REDACTED}"
    assert redact("a short word") == "a short word", "values under 6 characters are not secrets"
    remember("p&ss<word>1")
    assert redact("<td>p&amp;ss&lt;word&gt;1</td>") == f"<td>{REDACTED}</td>"


def test_redact_data_blanks_secret_keys_and_scrubs_texts() -> None:
    remember(SECRET)
    data = {"client_secret": "anything", "note": f"sent {SECRET}", "n": 3, "list": [SECRET]}
    assert redact_data(data) == {
        "client_secret": REDACTED,
        "note": f"sent {REDACTED}",
        "n": 3,
        "list": [REDACTED],
    }


def test_opening_a_connector_remembers_its_secret_options() -> None:
    PluginRegistry().open(
        "xero", {"location": "tenant", "access_token": SECRET, "client_secret": "cs-" + SECRET}
    )
    assert (
        redact(f"Bearer-less {SECRET} and cs-{SECRET}") == f"Bearer-less {REDACTED} and {REDACTED}"
    )


def test_a_secret_option_of_the_wrong_type_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        PluginRegistry().open("xero", {"location": "tenant", "access_token": 987654321987})
    assert "987654321987" not in str(caught.value)
    assert "access_token" in str(caught.value) and "an integer" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        PluginRegistry().open("xero", {"location": "tenant", "rate_scale": "fast"})
    assert "'fast'" in str(caught.value), "ordinary values are still shown"


def _logger(name: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(name)
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_the_filter_redacts_message_arguments_and_traceback() -> None:
    remember(SECRET)
    logger, stream = _logger("test.redaction.filter")
    logger.handlers[0].addFilter(RedactionFilter())
    logger.info("token %s for %s", SECRET, "Acme")
    try:
        raise RuntimeError(f"refused {SECRET}")
    except RuntimeError:
        logger.exception("call failed with Bearer abcdefgh12345678")
    text = stream.getvalue()
    assert SECRET not in text and "abcdefgh12345678" not in text
    assert "for Acme" in text and "RuntimeError: refused [redacted]" in text
    assert "Traceback" in text


def test_installed_redaction_covers_loggers_made_later() -> None:
    install_redaction()
    install_redaction()  # idempotent
    remember(SECRET)
    logger, stream = _logger("test.redaction.later.child")
    logger.warning("the answer held %r", {"access_token": SECRET})
    assert SECRET not in stream.getvalue()
    assert "access_token" in stream.getvalue()


def _report(message: str, response: str) -> RunReport:
    row = OutcomeRow(
        entity="invoices",
        source_key="INV-1",
        outcome=Outcome.FAILED,
        reason="remote_error",
        message=message,
        response=response,
    )
    return RunReport(
        run_id=1,
        mode="full",
        status="failed",
        source="sage50-json:c.json",
        target="xero:t",
        started_at="2026-01-01T00:00:00+00:00",
        seconds=1.0,
        entities={"invoices": Counts(extracted=1, failed=1)},
        problems=[row],
        notes=[f"note with {SECRET}"],
        error=f"stopped: {SECRET}",
    )


def test_reports_are_redacted_and_owner_only(tmp_path: Path) -> None:
    remember(SECRET)
    report = _report(f"refused {SECRET}", json.dumps({"refresh_token": "rt-abcdef123"}))
    folder = write_reports(report, tmp_path / "reports" / "run-1")
    for name in ("report.json", "errors.csv", "report.html"):
        text = (folder / name).read_text("utf-8")
        assert SECRET not in text and "rt-abcdef123" not in text, name
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
    assert "INV-1" in (folder / "errors.csv").read_text("utf-8")
    for made in (folder, folder.parent):
        assert stat.S_IMODE(made.stat().st_mode) == 0o700


def test_the_state_store_keeps_messages_and_summaries_redacted(tmp_path: Path) -> None:
    remember(SECRET)
    path = tmp_path / "deep" / "state.db"
    store = SQLiteStateStore(path)
    migration = store.migration("a", "b")
    run = store.start_run(migration.id, "full", {})
    store.record_outcomes(
        migration.id,
        run.id,
        [
            OutcomeRow(
                entity="invoices",
                source_key="INV-1",
                outcome=Outcome.FAILED,
                reason="x",
                message=f"msg {SECRET}",
                response=f"body {SECRET}",
            )
        ],
    )
    store.finish_run(run.id, RunStatus.FAILED, {"error": f"boom {SECRET}"})
    store.close()
    for file in path.parent.iterdir():
        assert SECRET.encode() not in file.read_bytes(), file.name
        if file.name.startswith("state.db"):
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_private_files_and_folders_ignore_the_umask(tmp_path: Path) -> None:
    import os

    old = os.umask(0)
    try:
        folder = private_dir(tmp_path / "a" / "b")
        write_private(folder / "f.txt", "x")
        existing = tmp_path / "open.txt"
        existing.write_text("old")
        existing.chmod(0o644)
        with open_private(existing, "a") as handle:
            handle.write("more")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "f.txt").stat().st_mode) == 0o600
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600
    assert existing.read_text() == "oldmore"
