"""Retention: a purge removes exactly what its dry run lists, and deleted means gone."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from migrationkit.cli import main
from migrationkit.portfolio import ClientStatus, Portfolio, PortfolioError, model
from migrationkit.portfolio.place import PortfolioSettings
from portfolio.portfolio_support import add_clients, fast_folder


def _days_ago(days: float) -> str:
    return (model.utcnow() - dt.timedelta(days=days)).isoformat(timespec="seconds")


def _rows(path: Path, table: str) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _files(folder: Path) -> set[str]:
    """The files in ``folder`` (not SQLite's passing -wal and -shm files, nor lock files)."""
    return {
        str(p)
        for p in folder.rglob("*")
        if p.is_file() and not p.name.endswith(("-wal", "-shm", ".lock"))
    }


def test_purge_removes_exactly_what_its_dry_run_lists(
    portfolio_dir: Path, companies, tmp_path: Path
) -> None:
    sources = companies(4)
    with Portfolio(portfolio_dir) as portfolio:
        old, new, busy, other = add_clients(portfolio, sources, tmp_path / "out")
        portfolio.run("full", portfolio.select(every=True))
        portfolio.run("delta", portfolio.select([old]))
        for name in (old, busy, other):
            portfolio.store.update(name, status_at=_days_ago(6))
        # A client that began a run is never touched, however long it was live.
        portfolio.store.update(busy, queued="delta")
        clients = {c.name: c for c in portfolio.clients()}
        folder = portfolio.place.client_folder(clients[old])
        state = folder / "state.db"
        before = _files(portfolio.place.folder)
        ids = _rows(state, "id_map")
        size = state.stat().st_size
        assert _rows(state, "outcomes") and _rows(state, "runs") == 2
        due = portfolio.purge_due(clients[old])
        assert due is not None and model.moment(due) < model.utcnow()
        assert model.moment(str(portfolio.purge_due(clients[new]))) > model.utcnow()

        dry = portfolio.purge(dry_run=True)
        assert _files(portfolio.place.folder) == before, "a dry run removes nothing"
        assert dry.clients == (old, other)
        assert dry.left == ((busy, "a delta run of it is queued"),)
        listed = {r.what for r in dry.removals if r.kind == "file"}
        purged_folders = [folder, portfolio.place.client_folder(clients[other])]
        assert {any(Path(p).is_relative_to(f) for f in purged_folders) for p in listed} == {True}
        assert {Path(p).parent.name for p in listed} >= {"run-1", "run-2", "latest"}
        kinds = {(r.client, r.kind, r.what.split(" in ")[0]) for r in dry.removals}
        assert (old, "rows", "outcomes") in kinds and (old, "rows", "runs") in kinds
        assert (old, "workflows", f"{clients[old].slug}:1:full, {clients[old].slug}:2:delta") in {
            (r.client, r.kind, r.what) for r in dry.removals
        }

        done = portfolio.purge()
        assert [r.line() for r in done.removals] == [r.line() for r in dry.removals]
        after = _files(portfolio.place.folder)
        assert before - after == listed, "exactly the files listed are gone"
        assert state.exists() and _rows(state, "outcomes") == 0
        assert _rows(state, "id_map") == ids, "the id map stays (delta needs it)"
        with contextlib.closing(sqlite3.connect(state)) as db:
            [kept] = db.execute("SELECT mode FROM runs").fetchall()
            assert kept == ("delta",), "the last successful run stays: its watermark"
            assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0, "vacuumed"
        assert state.stat().st_size < size
        wal = state.with_name("state.db-wal")
        assert not wal.exists() or wal.stat().st_size == 0
        purged = portfolio.client(old)
        assert purged.purged_at and purged.report is None and purged.error_file is None
        assert portfolio.purge_due(purged) is None
        other_folder = portfolio.place.client_folder(portfolio.client(other))
        assert _rows(other_folder / "state.db", "id_map"), "without --all the id map stays"
        # Untouched: the client live for less than the retention, the busy one.
        for name in (new, busy):
            assert Path(str(portfolio.client(name).report)).exists()
        with portfolio._runtime(listen=False):
            from dbos import DBOS

            left = [w.workflow_id for w in DBOS.list_workflows(load_input=False)]
        assert not [w for w in left if w.startswith(clients[old].slug)]
        assert [w for w in left if w.startswith(clients[new].slug)]
        assert portfolio.purge().removals == (), "a second purge finds nothing"

        # After a purge a delta still finds every record (the id map stayed).
        portfolio.store.update(busy, queued=None)
        [after_purge] = portfolio.run("delta", portfolio.select([old]))
        assert after_purge.status is ClientStatus.ACTIVE and after_purge.moved == 0


def test_purge_all_takes_the_state_store_and_leaves_nothing_of_it(
    portfolio_dir: Path, companies, tmp_path: Path
) -> None:
    [source] = companies(1)
    with Portfolio(portfolio_dir) as portfolio:
        [name] = add_clients(portfolio, [source], tmp_path / "out")
        [client] = portfolio.run("full", portfolio.select([name]))
        folder = portfolio.place.client_folder(client)
        assert portfolio.purge(older_than=1).removals == (), "live for less than a day"
        dry = portfolio.purge(older_than=0, everything=True, dry_run=True)
        [store] = [r for r in dry.removals if r.kind == "state store"]
        assert store.what == str(folder / "state.db") and store.count > 0
        done = portfolio.purge(older_than=0, everything=True)
        assert [r.line() for r in done.removals] == [r.line() for r in dry.removals]
        assert not any(folder.glob("state.db*")) and not (folder / "reports").exists()
        # Without its id map, a load would write every record again: refused in one line.
        with pytest.raises(PortfolioError, match="was purged with --all: without its id map"):
            portfolio.enqueue("delta", portfolio.select([name]))
        with contextlib.closing(sqlite3.connect(portfolio.place.home / "portfolio.db")) as db:
            assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0


def test_a_worker_purges_on_the_schedule(portfolio_dir: Path, companies, tmp_path: Path) -> None:
    [source] = companies(1)
    settings = PortfolioSettings(
        poll_interval=0.1, recovery_interval=1.0, purge_after_days=0, purge_schedule="* * * * * *"
    )
    with Portfolio(portfolio_dir, settings=settings) as portfolio:
        [name] = add_clients(portfolio, [source], tmp_path / "out")
        [client] = portfolio.run("full", portfolio.select([name]))
        assert client.status is ClientStatus.ACTIVE
        stop = threading.Event()
        worker = threading.Thread(target=portfolio.work, kwargs={"stop": stop})
        worker.start()
        try:
            deadline = time.monotonic() + 60
            while not portfolio.client(name).purged_at and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            stop.set()
            worker.join(timeout=60)
        purged = portfolio.client(name)
        assert purged.purged_at, "the scheduled purge ran"
        assert not (portfolio.place.client_folder(purged) / "reports").exists()


def test_settings_and_the_command_line(
    portfolio_dir: Path, companies, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (portfolio_dir / "portfolio.toml").write_text(
        '[portfolio]\npoll_interval = 0.1\npurge_after_days = 2\npurge_schedule = "nonsense"\n'
    )

    def run(*args: str) -> tuple[int, str, str]:
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    code, _, err = run("purge", "--portfolio", str(portfolio_dir), "--dry-run")
    assert code == 2 and "'nonsense' is not a cron line" in err
    (portfolio_dir / "portfolio.toml").write_text("[portfolio]\npoll_interval = 0.1\n")
    [source] = companies(1)
    with Portfolio(portfolio_dir) as portfolio:
        [name] = add_clients(portfolio, [source], tmp_path / "out")
        portfolio.run("full", portfolio.select([name]))
        portfolio.store.update(name, status_at=_days_ago(3))
    code, out, _ = run("portfolio", "list", "--portfolio", str(portfolio_dir), "--json")
    [row] = json.loads(out)
    assert model.moment(row["purge_at"]) - model.moment(row["status_at"]) == dt.timedelta(days=5)
    code, out, _ = run("purge", "--portfolio", str(portfolio_dir), "--dry-run")
    assert code == 0 and "Nothing to purge." in out
    code, out, _ = run("purge", "--portfolio", str(portfolio_dir), "--older-than", "2",
                       "--dry-run", "--json")  # fmt: skip
    planned = json.loads(out)
    assert planned["clients"] == [name] and planned["removals"]
    code, out, _ = run("purge", "--older-than", "2", "--portfolio", str(portfolio_dir))
    lines = [line for line in out.splitlines() if line.startswith("removed: ")]
    assert len(lines) == len(planned["removals"]) and f"{len(lines)} item(s) removed." in out
    code, out, _ = run("portfolio", "list", "--portfolio", str(portfolio_dir))
    assert "done" in out


def test_purge_in_postgresql_deletes_the_rows_and_rewrites_the_tables(
    companies, tmp_path: Path, postgres_url: str, pg_namespace: str
) -> None:
    import psycopg

    [source] = companies(1)
    with Portfolio(
        fast_folder(tmp_path / "practice"), database_url=postgres_url, namespace=pg_namespace
    ) as portfolio:
        [name] = add_clients(portfolio, [source], tmp_path / "out")
        [client] = portfolio.run("full", portfolio.select([name]))
        schema = portfolio.place.state_schema(client)

        def count(table: str) -> int:
            with psycopg.connect(postgres_url) as db:
                row = db.execute(f"SELECT COUNT(*) FROM {schema}.{table}").fetchone()
                return int(row[0]) if row else -1

        ids, outcomes = count("id_map"), count("outcomes")
        assert ids and outcomes
        portfolio.store.update(name, status_at=_days_ago(6))
        dry = portfolio.purge(dry_run=True)
        assert (name, "rows", f"outcomes in schema {schema}", outcomes) in {
            (r.client, r.kind, r.what, r.count) for r in dry.removals
        }
        done = portfolio.purge()
        assert [r.line() for r in done.removals] == [r.line() for r in dry.removals]
        assert (count("outcomes"), count("runs"), count("id_map")) == (0, 1, ids)
        assert portfolio.purge(older_than=0, everything=True).clients == ()  # purged already
        portfolio.store.update(name, purged_at=None)
        assert portfolio.purge(older_than=0, everything=True).clients == (name,)
        with psycopg.connect(postgres_url) as db:
            assert db.execute("SELECT to_regnamespace(%s)", (schema,)).fetchone() == (None,)


def test_waiting_on_a_run_whose_records_were_purged_ends(portfolio_dir: Path) -> None:
    # Retention deletes the engine's records of finished runs; whoever still waits on one
    # must not wait forever.
    with Portfolio(portfolio_dir) as portfolio, portfolio._runtime(listen=False) as runtime:
        started = time.monotonic()
        assert runtime.wait(["gone_1a2b3c:1:full"], every=0.05) == {"gone_1a2b3c:1:full": "PURGED"}
        assert time.monotonic() - started < 10
