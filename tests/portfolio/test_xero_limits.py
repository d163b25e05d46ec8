"""Clients of four Xero tenants, three workers: no tenant's limit is ever broken.

The Xero sandbox enforces Xero's real limits per tenant (5 calls in flight, 60 a minute, 5,000
a day) with its clock running 10 times faster (a minute lasts 6 s; the connector's own margin,
a second a minute, stays well above the machine's scheduling jitter), and counts every 429 it
answers. Each tenant has two clients: one migrates a Sage 50 company into it, the other exports
it to CSV files (a Xero source calls its tenant as much as a target does). Each connector's own
limiter keeps a tenant's limits only if no other migration calls the same tenant at the same
time: that is what the tenant-partitioned queue guarantees across workers.
"""

from __future__ import annotations

import sqlite3
import subprocess
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from lifecycle.target_xero import CLEARING, seed
from migrationkit import Migration, PluginRegistry, SQLiteStateStore
from migrationkit.portfolio import ClientStatus, Portfolio
from migrationkit.testing import SandboxServer
from migrationkit.testing.sandboxes.xero.app import (
    API_PREFIX,
    TOKEN_PATH,
    XeroSandbox,
    start_server,
)
from portfolio.portfolio_support import cli, cli_env, fast_folder

SCALE = 10.0
TENANTS = ("tenant-north", "tenant-south", "tenant-east", "tenant-west")


def _target(server: SandboxServer, tenant: str) -> dict[str, object]:
    return {
        "connector": "xero",
        "location": tenant,
        "base_url": server.url + API_PREFIX,
        "token_url": server.url + TOKEN_PATH,
        "access_token": "portfolio-token",
        "rate_scale": SCALE,
        "clearing_account": CLEARING,
    }


def _config(path: Path, source: Path, target: dict[str, object]) -> Path:
    lines = ["[source]", 'connector = "sage50-json"', f'location = "{source}"', "[target]"]
    for key, value in target.items():
        lines.append(f"{key} = {value!r}".replace("'", '"'))
    path.write_text("\n".join(lines) + "\n")
    return path


def _sandbox(scale: float) -> Iterator[tuple[XeroSandbox, SandboxServer]]:
    app = XeroSandbox(rate_scale=scale)
    with start_server(app) as server:
        for tenant in TENANTS:
            app.org(tenant)
            seed(app, tenant)
        yield app, server


@pytest.fixture
def sandbox() -> Iterator[tuple[XeroSandbox, SandboxServer]]:
    yield from _sandbox(SCALE)


@pytest.fixture
def fast_sandbox() -> Iterator[tuple[XeroSandbox, SandboxServer]]:
    yield from _sandbox(100.0)


def _too_many(app: XeroSandbox) -> int:
    return sum(1 for _, _, status in app.calls if status == 429)


def test_two_migrations_into_one_tenant_at_once_break_its_limits(
    fast_sandbox: tuple[XeroSandbox, SandboxServer], companies, tmp_path: Path
) -> None:
    """Without the queue: what the sandbox counts when two clients share a tenant at once."""
    app, server = fast_sandbox
    sources = companies(2)
    registry = PluginRegistry()
    target = {k: v for k, v in _target(server, TENANTS[0]).items() if k != "connector"}
    target["rate_scale"] = 100.0

    def migrate(n: int) -> None:
        Migration(
            registry.open("sage50-json", {"location": str(sources[n])}),
            registry.open("xero", target),
            SQLiteStateStore(tmp_path / f"state-{n}.db"),
        ).full()

    threads = [threading.Thread(target=migrate, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _too_many(app) > 0


@pytest.mark.slow
def test_three_workers_never_break_a_tenants_limits(
    sandbox: tuple[XeroSandbox, SandboxServer], companies, tmp_path: Path
) -> None:
    app, server = sandbox
    folder = fast_folder(tmp_path / "practice")
    # One client at a time per worker: the first worker up cannot take every tenant's first
    # client before the others have started, however slow the machine.
    with (folder / "portfolio.toml").open("a", encoding="utf-8") as settings:
        settings.write("concurrency = 1\n")
    sources = companies(len(TENANTS))
    with Portfolio(folder) as portfolio:
        for n, tenant in enumerate(TENANTS):
            xero = _target(server, tenant)
            config = _config(tmp_path / f"import-{n}.toml", sources[n], xero)
            portfolio.add(f"Import into {tenant}", config=config)
            export = tmp_path / f"export-{n}.toml"
            export.write_text(
                _config(tmp_path / "x.toml", sources[n], xero)
                .read_text()
                .replace("[source]", "[ignored]")
                .replace("[target]", "[source]")
                .replace("[ignored]", "[target]")
                .replace('connector = "sage50-json"', 'connector = "csv"')
                .replace(f'location = "{sources[n]}"', f'location = "{tmp_path / tenant}"')
            )
            portfolio.add(f"Export of {tenant}", config=export)
        calls_before = len(app.calls)
        ran = subprocess.run(
            cli("--portfolio", str(folder), "run", "full", "--all", "--workers", "3"),
            env=cli_env(), capture_output=True, text=True, check=False, timeout=600,
        )  # fmt: skip
        assert ran.returncode == 0, ran.stdout + ran.stderr
        clients = portfolio.clients()
    assert [c.status for c in clients] == [ClientStatus.ACTIVE] * len(clients)
    assert len(app.calls) - calls_before > 100 * len(TENANTS)
    assert _too_many(app) == 0, "a tenant's limit was exceeded"

    # One client of a tenant at a time, whichever worker ran it; tenants side by side.
    with sqlite3.connect(folder / ".migrationkit" / "system.db") as db:
        rows = db.execute(
            "SELECT queue_partition_key, executor_id, started_at_epoch_ms, updated_at "
            "FROM workflow_status WHERE queue_name = ?",
            (f"xero-x{SCALE:g}",),
        ).fetchall()
    assert len(rows) == 2 * len(TENANTS)
    spans: defaultdict[str, list[tuple[int, int]]] = defaultdict(list)
    for tenant, _executor, started, ended in rows:
        spans[tenant].append((started, ended))
    assert set(spans) == set(TENANTS)
    for tenant, times in spans.items():
        first, second = sorted(times)
        assert first[1] <= second[0], f"two clients of {tenant} ran at once"
    assert len({executor for _, executor, _, _ in rows}) >= 2, "the workers shared the work"
