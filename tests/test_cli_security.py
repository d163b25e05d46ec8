"""The command line and secrets and markup: error lines as written, redacted, and ``doctor``."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from migrationkit.core.redaction import forget_all, remember
from migrationkit.core.state import SQLiteStateStore
from migrationkit.doctor import check_storage
from migrationkit.testing.generators.sage50 import GeneratorOptions, generate
from test_cli import run

SECRET = "cli-s3cr3t-77777"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config-home"))
    forget_all()


# -- markup ---------------------------------------------------------------------------------------


def test_a_path_with_closing_markup_prints_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "odd[/red]name[bold].json"
    code, _, err = run(["validate", f"sage50-json:{missing}"], capsys)
    assert code in (1, 2)
    assert "MarkupError" not in err and "Traceback" not in err
    assert "odd[/red]name[bold].json" in err.replace("\n", "")


def test_bracketed_words_in_messages_are_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "m.toml"
    config.write_text('[migration]\nsmaple = 20\n[target]\nconnector = "csv"\npath = "out"\n')
    code, _, err = run(["--config", str(config), "plan"], capsys)
    assert code == 2
    assert "[migration]" in err and "'smaple'" in err and "'sample'" in err


def test_a_report_dir_with_markup_is_printed_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    company = tmp_path / "company.json"
    generate(company, GeneratorOptions(seed=5, transactions=20))
    reports = tmp_path / "r[/red]s[dim]"
    _code, out, err = run(
        ["validate", f"sage50-json:{company}", "--report-dir", str(reports)], capsys
    )
    assert "MarkupError" not in err
    assert (reports / "validation.json").exists()
    assert "r[/red]s[dim]" in out.replace("\n", "")
    assert stat.S_IMODE((reports / "validation.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(reports.stat().st_mode) == 0o700


def test_portfolio_errors_print_paths_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "p[/red]f"
    config = tmp_path / "c[/red]nf[b].toml"
    code, _, err = run(
        ["portfolio", "--portfolio", str(folder), "add", "Acme", "--config", str(config)], capsys
    )
    assert code != 0
    assert "MarkupError" not in err
    assert "c[/red]nf[b].toml" in err.replace("\n", "")


# -- redaction of what the command line prints ----------------------------------------------------


def test_error_lines_and_debug_tracebacks_are_redacted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    remember(SECRET)
    missing = tmp_path / f"{SECRET}.json"
    code, _, err = run(["validate", f"sage50-json:{missing}"], capsys)
    assert code != 0 and "error:" in err
    assert SECRET not in err and "[redacted]" in err
    code, _, err = run(["--debug", "validate", f"sage50-json:{missing}"], capsys)
    assert code != 0
    assert "Traceback (most recent call last)" in err
    assert SECRET not in err and "[redacted]" in err


def test_a_secret_option_of_the_wrong_type_is_not_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "m.toml"
    config.write_text(
        '[source]\nconnector = "xero"\nlocation = "t"\nclient_secret = 424242424242\n'
        '[target]\nconnector = "csv"\npath = "out"\n'
    )
    code, _, err = run(["--config", str(config), "plan"], capsys)
    assert code == 2
    assert "client_secret" in err and "424242424242" not in err


# -- doctor ---------------------------------------------------------------------------------------


def _state(tmp_path: Path) -> Path:
    path = tmp_path / ".migrationkit" / "state.db"
    store = SQLiteStateStore(path)
    store.migration("a", "b")
    store.close()
    return path


def test_doctor_lists_what_is_stored_and_finds_nothing_open(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = _state(tmp_path)
    code, out, _ = run(["doctor", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["ok"]
    kinds = {(item["kind"], Path(item["path"]).name) for item in data["items"]}
    assert ("state store", "state.db") in kinds and ("keyring", "(none)") in kinds
    found = next(i for i in data["items"] if i["path"].endswith("state.db"))
    assert found["mode"] == "0600" and found["problem"] is None
    assert state.exists()


def test_doctor_flags_a_report_and_a_token_file_others_can_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _state(tmp_path)
    run_folder = tmp_path / ".migrationkit" / "reports" / "run-1"
    run_folder.mkdir(parents=True)
    (run_folder / "report.json").write_text("{}")
    os.chmod(run_folder / "report.json", 0o644)
    tokens = tmp_path / "config-home" / "migrationkit" / "tokens"
    tokens.mkdir(parents=True, mode=0o700)
    (tokens / "xero.json").write_text("{}")
    os.chmod(tokens / "xero.json", 0o640)
    code, out, _ = run(["doctor", "--json"], capsys)
    assert code == 1
    flagged = {Path(i["path"]).name: i for i in json.loads(out)["items"] if i["problem"]}
    assert set(flagged) >= {"report.json", "xero.json"}
    assert flagged["report.json"]["mode"] == "0644"
    assert "readable by group or others" in flagged["xero.json"]["problem"]
    code, out, _ = run(["doctor"], capsys)
    assert code == 1 and "report.json" in out and "open to other users" in out


def test_doctor_flags_a_config_holding_a_secret_only_when_others_can_read_it(
    tmp_path: Path,
) -> None:
    config = tmp_path / "m.toml"
    config.write_text('[target]\nconnector = "xero"\nclient_secret = "x"\n')
    os.chmod(config, 0o644)
    item = check_storage(config).items[0]
    assert item.kind == "config" and item.problem and "[target] client_secret" in item.detail
    os.chmod(config, 0o600)
    assert check_storage(config).ok
    plain = tmp_path / "plain.toml"
    plain.write_text('[target]\nconnector = "csv"\npath = "out"\n')
    os.chmod(plain, 0o644)
    assert check_storage(plain).ok, "a config without secrets is the user's to share"


def test_doctor_checks_a_portfolio_folder(tmp_path: Path) -> None:
    from migrationkit.portfolio.api import Portfolio

    folder = tmp_path / "practice"
    with Portfolio(folder) as portfolio:
        portfolio.add("Acme", source="sage50-json:c.json", target="csv:out")
    checkup = check_storage(portfolios=[folder])
    portfolio_items = [i for i in checkup.items if i.kind == "portfolio"]
    assert any(i.path.endswith(".migrationkit") for i in portfolio_items)
    assert checkup.ok, [i for i in checkup.items if i.problem]
    database = folder / ".migrationkit" / "portfolio.db"
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    os.chmod(database, 0o644)
    flagged = [i.path for i in check_storage(portfolios=[folder]).problems]
    assert str(database) in flagged
