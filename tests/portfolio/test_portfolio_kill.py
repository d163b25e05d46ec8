"""A worker killed with SIGKILL in the middle of a portfolio's runs: its clients are taken over.

Fifty small generated companies, three of them with source defects, run ``full`` into CSV:
with two worker processes on one PostgreSQL database, one of them killed; and with the
embedded SQLite default and one process, killed and started again. Every clean client must end
``active`` with each source record exactly once in its target, every defective one ``failed``
with its error file, and none ``migrating``.
"""

from __future__ import annotations

import csv
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from migrationkit.portfolio import ClientStatus, Portfolio
from migrationkit.testing.generators.sage50 import DEFECT_KINDS
from portfolio.portfolio_support import cli, cli_env, fast_folder, install_slow_csv, slow_registry
from portfolio.test_portfolio_runs import held, source_records

CLIENTS, DEFECTIVE = 50, 3
BATCH = "[migration]\nbatch_size = 20\n"


def _add(portfolio: Portfolio, sources: list[Path], out: Path, config: Path) -> dict[str, Path]:
    config.write_text(BATCH)
    names = {}
    for n, source in enumerate(sources):
        name = f"Client {n:02d}"
        portfolio.add(
            name, source=f"sage50-json:{source}", target=f"slowcsv:{out / name}", config=config
        )
        names[name] = source
    return names


def _settled(portfolio: Portfolio) -> bool:
    return all(
        c.status not in (ClientStatus.PENDING, ClientStatus.MIGRATING, ClientStatus.WAITING)
        and not c.queued
        for c in portfolio.clients()
    )


def _until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


def _check(portfolio: Portfolio, names: dict[str, Path], out: Path) -> None:
    clients = {c.name: c for c in portfolio.clients()}
    assert not [c.name for c in clients.values() if c.status is ClientStatus.MIGRATING]
    defective = list(names)[-DEFECTIVE:]
    for name, source in names.items():
        client = clients[name]
        if name in defective:
            assert client.status is ClientStatus.FAILED, (name, client.status, client.reason)
            with portfolio.errors(name).open(encoding="utf-8") as handle:
                codes = {row["reason_code"] for row in csv.DictReader(handle)}
            assert codes & set(DEFECT_KINDS.values()), (name, codes)
            continue
        assert (client.status, client.reconcile) == (ClientStatus.ACTIVE, "ok"), (
            name,
            client.status,
            client.reason,
        )
        expected = source_records(source)
        # held() fails on a record written twice; each source record is there, as it is.
        assert {e: r for e, r in held(out / name).items() if r} == {
            e: r for e, r in expected.items() if r
        }, name


def _pending_of(rows: list[tuple[str, str]], pid: int) -> int:
    return sum(1 for executor, status in rows if status == "PENDING" and f"-{pid}-" in executor)


def _migrating(portfolio: Portfolio) -> int:
    return sum(c.status is ClientStatus.MIGRATING for c in portfolio.clients())


@pytest.mark.slow
def test_two_workers_on_postgres_one_killed(
    companies, tmp_path: Path, postgres_url: str, pg_namespace: str
) -> None:
    folder = fast_folder(tmp_path / "practice")
    env = cli_env(
        MIGRATIONKIT_DATABASE_URL=postgres_url,
        MIGRATIONKIT_DATABASE_SCHEMA=pg_namespace,
        **install_slow_csv(tmp_path / "site"),
    )
    registry = slow_registry(tmp_path / "site")
    out = tmp_path / "out"
    portfolio = Portfolio(
        folder, database_url=postgres_url, namespace=pg_namespace, registry=registry
    )
    names = _add(portfolio, companies(CLIENTS, DEFECTIVE), out, tmp_path / "client.toml")
    queued = subprocess.run(
        cli("--portfolio", str(folder), "run", "full", "--all", "--enqueue-only"),
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert queued.returncode == 0, queued.stderr
    assert f"Queued full for {CLIENTS} client(s)" in queued.stdout
    assert all(c.queued == "full" for c in portfolio.clients())

    def workflows() -> list[tuple[str, str]]:
        with psycopg.connect(postgres_url) as connection:
            rows = connection.execute(
                f"SELECT executor_id, status FROM {pg_namespace}_dbos.workflow_status"
            ).fetchall()
        return [(str(e), str(s)) for e, s in rows]

    worker = cli("--portfolio", str(folder), "worker")
    first = subprocess.Popen(worker, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    second = subprocess.Popen(worker, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        done = lambda: sum(  # noqa: E731
            c.status in (ClientStatus.ACTIVE, ClientStatus.FAILED) for c in portfolio.clients()
        )
        _until(
            lambda: (
                done() >= 8
                and _migrating(portfolio) >= 1
                and _pending_of(workflows(), first.pid) >= 1
            ),
            120,
            "the first worker is in the middle of its clients",
        )
        held_by_first = _pending_of(workflows(), first.pid)
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert done() < CLIENTS, "the kill must land before the work is done"
        _until(lambda: _settled(portfolio), 180, "every client has settled")
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
    assert held_by_first >= 1
    assert second.returncode == 0, second.stderr.read().decode() if second.stderr else ""
    # The killed worker's clients were recovered by the other and resumed.
    with psycopg.connect(postgres_url) as connection:
        recovered = connection.execute(
            f"SELECT COUNT(*) FROM {pg_namespace}_dbos.workflow_status WHERE recovery_attempts > 1"
        ).fetchone()
    assert recovered is not None and recovered[0] >= 1
    _check(portfolio, names, out)
    portfolio.close()


@pytest.mark.slow
def test_the_embedded_portfolio_killed_then_run_again(companies, tmp_path: Path) -> None:
    folder = fast_folder(tmp_path / "practice")
    env = cli_env(**install_slow_csv(tmp_path / "site"))
    out = tmp_path / "out"
    portfolio = Portfolio(folder, registry=slow_registry(tmp_path / "site"))
    names = _add(portfolio, companies(CLIENTS, DEFECTIVE), out, tmp_path / "client.toml")
    command = cli("--portfolio", str(folder), "run", "full", "--all")
    system = folder / ".migrationkit" / "system.db"

    def workflows() -> list[tuple[str, str]]:
        if not system.exists():
            return []
        with sqlite3.connect(system, timeout=30) as connection:
            rows = connection.execute("SELECT executor_id, status FROM workflow_status").fetchall()
        return [(str(e), str(s)) for e, s in rows]

    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        done = lambda: sum(  # noqa: E731
            c.status in (ClientStatus.ACTIVE, ClientStatus.FAILED) for c in portfolio.clients()
        )
        _until(
            lambda: (
                done() >= 8
                and _migrating(portfolio) >= 1
                and _pending_of(workflows(), process.pid) >= 1
            ),
            120,
            "the run is in the middle of its clients",
        )
        process.send_signal(signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
    assert done() < CLIENTS
    assert _migrating(portfolio) >= 1, "the process died with clients in the middle of runs"
    # One process again: a worker that takes over what the dead one left, then stops when idle.
    again = subprocess.run(
        cli("--portfolio", str(folder), "worker", "--idle-exit", "1"),
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert _settled(portfolio)
    _check(portfolio, names, out)
    portfolio.close()
