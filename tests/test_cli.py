"""The command line: exit codes, one-line errors, the lifecycle commands and their reports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from migrationkit.cli import main
from migrationkit.testing.generators.sage50 import GeneratorOptions, generate

ROOT = Path(__file__).parents[1]
PLUGIN = ROOT / "plugins" / "migrationkit-jsonl"


def run(
    args: list[str], capsys: pytest.CaptureFixture[str], stdin: str = ""
) -> tuple[int, str, str]:
    import io

    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.stdin = old
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def company(tmp_path: Path) -> Path:
    path = tmp_path / "company.json"
    generate(path, GeneratorOptions(seed=3, transactions=250))
    return path


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_connectors_lists_the_builtins_with_capabilities(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(["connectors", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["csv"]["target"] and data["csv"]["entities"]["invoices"]["create"]
    assert data["sage50-json"]["source"] and not data["sage50-json"]["target"]
    assert data["sage50-json"]["provided_by"].startswith("migrationkit ")


def test_validate_exit_codes_and_report(
    company: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["validate", f"sage50-json:{company}", "--report-dir", "r"], capsys)
    assert (code, json.loads((tmp_path / "r" / "validation.json").read_text())) == (0, [])
    broken = tmp_path / "broken.json"
    generate(broken, GeneratorOptions(seed=3, transactions=250, defects=("gross_mismatch",)))
    code, out, _ = run(["validate", f"sage50-json:{broken}", "--report-dir", "r"], capsys)
    assert code == 1
    assert "HEADER_TOTALS" in out
    findings = json.loads((tmp_path / "r" / "validation.json").read_text())
    assert {"code", "pointer", "message"} <= findings[0].keys()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["validate", "company.json"], 2, "NAME:LOCATION"),
        (["validate", "nosuch:x"], 2, "no connector named 'nosuch'"),
        (["validate", "sage50-json:missing.json"], 1, "does not exist"),
        (["migrate", "sage50-json:missing.json"], 2, "give the target"),
        (["--config", "nope.toml", "migrate"], 2, "does not exist"),
        (["frobnicate"], 2, "No such command"),
    ],
)
def test_bad_usage_is_one_line_and_the_right_exit_code(
    args: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    got, out, err = run(args, capsys)
    assert got == code
    text = out + err
    assert message in text
    assert "Traceback" not in text
    assert len([line for line in err.splitlines() if line.startswith("error:")]) <= 1


def test_empty_and_malformed_files_give_one_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "cut.json").write_text('{"format": "sage50-json", "format_version": "1.0", "comp')
    for name in ("empty.json", "cut.json"):
        code, out, err = run(["validate", f"sage50-json:{name}"], capsys)
        assert code == 1
        assert "Traceback" not in out + err
    code, _out, err = run(
        ["migrate", "sage50-json:cut.json", "csv:out", "--skip-validation"], capsys
    )
    assert code == 1
    assert err.count("error:") == 1 and "cut off" in err


def test_the_lifecycle_from_the_command_line(
    company: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, target = f"sage50-json:{company}", f"csv:{tmp_path / 'out'}"
    code, out, _ = run(["plan", source, target, "--json"], capsys)
    assert code == 0 and json.loads(out)["refused_modes"] == {}

    code, out, _ = run(["demo", source, target, "--sample", "3"], capsys)
    assert code == 0
    demo = json.loads((tmp_path / ".migrationkit/reports/run-1/report.json").read_text())
    assert demo["mode"] == "demo" and demo["status"] == "succeeded"
    assert 0 < demo["entities"]["invoices"]["created"] < 100

    code, out, _ = run(["rollback", target], capsys, stdin="n\n")
    assert code == 1 and "This removes" in out and "Nothing was changed" in out
    code, out, _ = run(["rollback", target, "--yes"], capsys)
    assert code == 0
    undone = json.loads((tmp_path / ".migrationkit/reports/run-2/report.json").read_text())
    assert undone["totals"]["deleted"] == demo["totals"]["created"]

    code, out, _ = run(["migrate", source, target], capsys)
    assert code == 0
    full = json.loads((tmp_path / ".migrationkit/reports/run-3/report.json").read_text())
    assert full["totals"]["failed"] == full["totals"]["skipped"] == 0
    html = (tmp_path / ".migrationkit/reports/run-3/report.html").read_text()
    assert "Migration run 3: full" in html and "Every record that was asked to move, moved." in html

    code, out, _ = run(["reconcile", source, target], capsys)
    assert code == 0 and "agree to the penny" in out
    page = (tmp_path / ".migrationkit/reports/reconcile/reconciliation.html").read_text()
    assert "Source and target agree to the penny" in page

    code, out, _ = run(["migrate", source, target, "--reconcile"], capsys)
    again = json.loads((tmp_path / ".migrationkit/reports/run-4/report.json").read_text())
    assert again["reconciliation"]["ok"] is True
    assert "Reconciliation" in (tmp_path / ".migrationkit/reports/run-4/report.html").read_text()
    code, out, _ = run(["runs"], capsys)
    assert "run    3  full" in out and "run    4  full" in out


def test_rollback_all_and_remigrate(
    company: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, target = f"sage50-json:{company}", f"csv:{tmp_path / 'out'}"
    assert run(["migrate", source, target], capsys)[0] == 0
    assert run(["remigrate", source, target, "--yes"], capsys)[0] == 0
    again = json.loads((tmp_path / ".migrationkit/reports/run-3/report.json").read_text())
    first = json.loads((tmp_path / ".migrationkit/reports/run-1/report.json").read_text())
    assert again["mode"] == "remigrate"
    assert again["totals"]["created"] == first["totals"]["created"]


def test_the_readme_example_config_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    code, out, _ = run(["--config", "examples/larkspur.toml", "migrate"], capsys)
    assert code == 0, out
    assert (tmp_path / "out" / "larkspur" / "invoices.csv").exists()
    code, out, _ = run(["--config", "examples/larkspur.toml", "migrate"], capsys)
    report = sorted((tmp_path / ".migrationkit/reports/larkspur").glob("run-*/report.json"))[-1]
    totals = json.loads(report.read_text())["totals"]
    assert totals["created"] == 0 and totals["unchanged"] == totals["extracted"]
    code, out, _ = run(["--config", "examples/larkspur.toml", "reconcile"], capsys)
    assert code == 0


def test_the_example_plugin_installs_with_pip_and_is_listed(tmp_path: Path) -> None:
    site = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
            "--no-build-isolation", "--target", str(site), str(PLUGIN),
        ],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    }
    listed = subprocess.run(
        [sys.executable, "-m", "migrationkit", "connectors", "--json"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    data = json.loads(listed.stdout)
    assert data["jsonl"]["provided_by"] == "migrationkit-jsonl 0.1.0"
    moved = subprocess.run(
        [
            sys.executable, "-m", "migrationkit", "-q", "migrate",
            f"sage50-json:{ROOT / 'examples' / 'larkspur.json'}", f"jsonl:{tmp_path / 'a.jsonl'}",
            "--skip-validation", "--state", str(tmp_path / "s.db"),
        ],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert moved.returncode == 0, moved.stderr
    checked = subprocess.run(
        [
            sys.executable, "-m", "migrationkit", "-q", "reconcile",
            f"sage50-json:{ROOT / 'examples' / 'larkspur.json'}", f"jsonl:{tmp_path / 'a.jsonl'}",
            "--state", str(tmp_path / "s.db"),
        ],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout
    suite = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(PLUGIN / "tests")],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert suite.returncode == 0, suite.stdout[-3000:]
    assert " passed" in suite.stdout


@pytest.mark.parametrize(
    ("toml", "line"),
    [
        (
            "[migration]\nsmaple = 3\n",
            "error: unknown option 'smaple' in [migration] of m.toml; did you mean 'sample'?",
        ),
        (
            '[migration]\nsample = "twenty"\n',
            "error: option 'sample' in [migration] of m.toml must be an integer, "
            "not 'twenty' (a text)",
        ),
        (
            '[source]\nconnector = "sage50-json"\npath = "company.json"\n'
            '[target]\nconnector = "csv"\npath = "out"\ndelimter = ";"\n',
            "error: unknown option 'delimter' in [target] of m.toml (connector csv); "
            "did you mean 'delimiter'?",
        ),
        (
            '[source]\nconnector = "sage50-json"\npath = "company.json"\nparallel = 2\n'
            '[target]\nconnector = "csv"\npath = "out"\n',
            "error: option 'parallel' in [source] of m.toml (connector sage50-json) must be "
            "true or false, not 2 (an integer)",
        ),
    ],
    ids=["misspelled-key", "wrong-type", "unknown-connector-option", "wrong-connector-type"],
)
def test_a_config_mistake_is_exit_2_and_one_line_naming_file_table_and_key(
    company: Path, toml: str, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("m.toml").write_text(toml)
    code, _out, err = run(["--config", "m.toml", "migrate"], capsys)
    assert code == 2
    assert err.strip().splitlines() == [line]
    assert not Path("out").exists()


def test_an_error_line_is_printed_as_text_not_markup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(["validate", "sage50-json:[/red][bold]missing.json"], capsys)
    assert code == 1
    assert "[/red][bold]missing.json" in err
    assert "Traceback" not in err and "MarkupError" not in err
