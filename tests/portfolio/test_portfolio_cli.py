"""``migrationkit portfolio``: one library call per command, errors in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from migrationkit.cli import main
from portfolio.portfolio_support import cli, cli_env, fast_folder


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return fast_folder(tmp_path / "practice")


def test_add_list_hide_set_and_their_errors(
    folder: Path, companies, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    [source] = companies(1)
    where = ["portfolio", "--portfolio", str(folder)]
    code, out, _ = run([*where, "add", "Acme Ltd", "--source", f"sage50-json:{source}",
                        "--target", f"csv:{tmp_path / 'out'}", "--paying", "client",
                        "--email", "books@acme.test"], capsys)  # fmt: skip
    assert (code, out.strip()) == (0, "Added Acme Ltd (pending).")
    run([*where, "add", "Bee", "--source", f"sage50-json:{source}", "--target", "csv:b"], capsys)
    code, out, _ = run([*where, "list", "--json"], capsys)
    rows = json.loads(out)
    assert [
        (r["name"], r["status"], r["paying"], r["hidden"], r["participating"]) for r in rows
    ] == [
        ("Acme Ltd", "pending", "client", False, True),
        ("Bee", "pending", "practice", False, False),
    ]
    assert run([*where, "hide", "Bee"], capsys)[1].strip() == "Bee is hidden."
    assert [r["name"] for r in json.loads(run([*where, "list", "--json"], capsys)[1])] == [
        "Acme Ltd"
    ]
    code, out, _ = run([*where, "list", "--all", "--json"], capsys)
    assert [(r["name"], r["hidden"]) for r in json.loads(out)] == [
        ("Acme Ltd", False),
        ("Bee", True),
    ]
    run([*where, "unhide", "Bee"], capsys)
    code, out, _ = run(
        ["portfolio", "list", "--portfolio", str(folder), "--status", "pending"], capsys
    )
    assert code == 0 and "Acme Ltd" in out and "Bee" in out
    code, out, _ = run([*where, "set", "Bee", "--paying", "client", "--email", ""], capsys)
    assert code == 0 and "paid by the client" in out

    for args, message in [
        ([*where, "add", "Acme Ltd", "--source", "csv:a", "--target", "csv:b"],
         "already a client 'Acme Ltd'"),
        ([*where, "add", "Cee", "--source", "csv:a"], "needs a source and a target"),
        ([*where, "add", "Cee", "--source", "nope:a", "--target", "csv:b"],
         "no connector named 'nope'"),
        ([*where, "add", "Cee", "--source", "csv:a", "--target", "sage50-json:b"],
         "'sage50-json' cannot be a target"),
        ([*where, "add", "Cee", "--source", "csv:a", "--target", "csv:b", "--email", "nobody"],
         "'nobody' is not an email address"),
        ([*where, "hide", "Nobody"], "there is no client 'Nobody'"),
        ([*where, "errors", "Bee"], "has no error file: no run of it has ended yet"),
        ([*where, "remove", "Bee"], "give --delete-data to confirm"),
        ([*where, "run", "full"], "name the clients, or give --all or --status"),
        ([*where, "run", "full", "Nobody"], "there is no client 'Nobody'"),
    ]:  # fmt: skip
        code, out, err = run(args, capsys)
        assert code == 2, (args, out, err)
        assert message in err and err.count("\n") == 1, err


def test_a_bad_settings_file_is_one_line(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / "portfolio.toml").write_text("[portfolio]\nconcurency = 2\n")
    code, _, err = run(["portfolio", "--portfolio", str(folder), "list"], capsys)
    assert code == 2 and "concurency" in err and "concurrency" in err and err.count("\n") == 1


def test_remove_and_report_and_the_empty_list(
    folder: Path, companies, capsys: pytest.CaptureFixture[str]
) -> None:
    [source] = companies(1)
    where = ["portfolio", "--portfolio", str(folder)]
    assert "No clients." in run([*where, "list"], capsys)[1]
    run([*where, "add", "Acme", "--source", f"sage50-json:{source}", "--target", "csv:o"], capsys)
    code, out, _ = run([*where, "remove", "Acme", "--delete-data"], capsys)
    assert code == 0 and "Acme is removed" in out
    code, out, _ = run([*where, "report", "--out", str(folder / "page.html")], capsys)
    assert code == 0 and Path(out.strip()).read_text("utf-8").count("removed") >= 1


@pytest.mark.slow
def test_run_prints_every_client_and_exits_1_when_one_failed(folder: Path, companies) -> None:
    good, bad = companies(2, 1)
    for name, source in (("Good", good), ("Bad", bad)):
        added = subprocess.run(
            cli("--portfolio", str(folder), "add", name, "--source", f"sage50-json:{source}",
                "--target", f"csv:{folder / name}"),
            env=cli_env(), capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert added.stdout.startswith("Added")
    ran = subprocess.run(
        [sys.executable, "-m", "migrationkit", "portfolio", "--portfolio", str(folder), "run",
         "full", "--all", "--workers", "1"],
        env=cli_env(), capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert ran.returncode == 1, ran.stderr
    assert "Good" in ran.stdout and "active" in ran.stdout
    assert "1 client(s) failed" in ran.stdout
    errors = subprocess.run(
        cli("--portfolio", str(folder), "errors", "Bad"),
        env=cli_env(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert Path(errors.stdout.strip()).name == "errors.csv"


def test_an_unreachable_database_is_one_line_without_its_password(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql://clerk:s3cret@127.0.0.1:1/practice"
    code, _, err = run(
        ["portfolio", "--portfolio", str(folder), "list", "--database-url", url], capsys
    )
    assert code == 1 and err.count("\n") == 1
    assert "cannot open the portfolio at postgresql://clerk@127.0.0.1:1/practice" in err
    assert "s3cret" not in err
