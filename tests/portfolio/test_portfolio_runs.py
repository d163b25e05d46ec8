"""Portfolio runs in this process: each client's run a workflow, each batch a step, statuses."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest

from migrationkit import ENTITY_ORDER, PluginRegistry, Rejected, fingerprint
from migrationkit.portfolio import ClientStatus, Portfolio, PortfolioError
from migrationkit.testing.generators.sage50 import DEFECT_KINDS
from portfolio.portfolio_support import add_clients, consent_needed, day_spent


def add_trouble(portfolio: Portfolio, name: str, source: Path, target: Path) -> None:
    portfolio.add(name, source=f"sage50-json:{source}", target=f"trouble-csv:{target}")


def held(folder: Path) -> dict[str, dict[str, str]]:
    """Every record of a csv folder, key -> fingerprint; a key held twice fails the read."""
    connector = PluginRegistry().open("csv", {"location": str(folder)})
    found: dict[str, dict[str, str]] = {}
    for entity in ENTITY_ORDER:
        records = found.setdefault(entity, {})
        for record in connector.extract(entity):
            assert not isinstance(record, Rejected), record
            assert record.key not in records, f"{entity} {record.key} is there twice"
            records[record.key] = fingerprint(record)
    return found


def source_records(path: Path) -> dict[str, dict[str, str]]:
    connector = PluginRegistry().open("sage50-json", {"location": str(path)})
    return {
        entity: {r.key: fingerprint(r) for r in connector.extract(entity)}
        for entity in ENTITY_ORDER
        if connector.capabilities(entity).extract
    }


def test_clean_clients_end_active_and_a_defective_one_failed_with_its_error_file(
    portfolio_dir: Path, companies, tmp_path: Path
) -> None:
    sources = companies(3, 1)
    with Portfolio(portfolio_dir) as portfolio:
        names = add_clients(portfolio, sources, tmp_path / "out")
        seen: list[set[ClientStatus]] = []
        ended = portfolio.run(
            "full",
            portfolio.select(every=True),
            on_progress=lambda cs: seen.append({c.status for c in cs}),
        )
        by_name = {c.name: c for c in ended}
        for name, source in zip(names[:2], sources[:2], strict=True):
            client = by_name[name]
            assert (client.status, client.reconcile, client.last_mode) == (
                ClientStatus.ACTIVE,
                "ok",
                "full",
            )
            expected = source_records(source)
            assert client.moved == sum(len(r) for r in expected.values())
            written = held(tmp_path / "out" / name)
            assert {e: set(r) for e, r in written.items() if r} == {
                e: set(r) for e, r in expected.items() if r
            }
            assert Path(str(client.report)).exists()
        bad = by_name[names[2]]
        assert bad.status is ClientStatus.FAILED
        assert bad.reason is not None and "validation error" in bad.reason
        with portfolio.errors(names[2]).open(encoding="utf-8") as handle:
            codes = {row["reason_code"] for row in csv.DictReader(handle)}
        # The defect the generator put in is reported, with its code.
        assert codes & set(DEFECT_KINDS.values())
        assert not (tmp_path / "out" / names[2]).exists(), "nothing of an invalid source moved"
        assert any(ClientStatus.MIGRATING in s for s in seen)
        history = [(e.status, e.mode) for e in portfolio.history(names[0])]
        assert history[0][0] is ClientStatus.PENDING
        assert history[-2:] == [
            (ClientStatus.MIGRATING, "full"),
            (ClientStatus.ACTIVE, "full"),
        ]


def test_each_batch_is_a_step_of_the_clients_workflow(
    portfolio_dir: Path, companies, tmp_path: Path
) -> None:
    [source] = companies(1)
    config = tmp_path / "client.toml"
    config.write_text(
        f'[source]\nconnector = "sage50-json"\npath = "{source}"\n'
        f'[target]\nconnector = "csv"\nlocation = "{tmp_path / "out"}"\n'
        "[migration]\nbatch_size = 10\n"
    )
    with Portfolio(portfolio_dir) as portfolio:
        portfolio.add("Batched", config=config)
        [client] = portfolio.run("full", portfolio.select(["Batched"]))
        assert client.status is ClientStatus.ACTIVE
        with portfolio._runtime(listen=False):
            from dbos import DBOS

            steps = [s["function_name"] for s in DBOS.list_workflow_steps(client.workflow_id)]
    assert steps[0] == "begin" and steps[-1] == "finish"
    batches = steps.count("batch")
    # Every batch of at most ten records is a step, and the last step ends the run.
    assert batches - 1 >= -(-int(client.moved or 0) // 10)
    assert set(steps[1:-1]) == {"batch"}


def test_the_lifecycle_modes_move_a_client_through_its_statuses(
    portfolio_dir: Path, companies, tmp_path: Path
) -> None:
    [source] = companies(1)
    with Portfolio(portfolio_dir) as portfolio:
        [name] = add_clients(portfolio, [source], tmp_path / "out")

        def run(mode: str, **extra: int) -> object:
            [client] = portfolio.run(mode, portfolio.select([name]), **extra)  # type: ignore[arg-type]
            return client

        client = run("validate")
        assert (client.status, client.failed) == (ClientStatus.PENDING, 0)
        client = run("demo", sample=2)
        assert client.status is ClientStatus.PENDING and client.moved
        demo_moved = client.moved
        client = run("rollback")
        assert client.status is ClientStatus.PENDING and client.moved == demo_moved
        assert sum(len(r) for r in held(tmp_path / "out" / name).values()) == 0
        client = run("full")
        assert (client.status, client.reconcile) == (ClientStatus.ACTIVE, "ok")
        client = run("delta")
        assert (client.status, client.moved) == (ClientStatus.ACTIVE, 0)
        client = run("reconcile")
        assert (client.status, client.reconcile) == (ClientStatus.ACTIVE, "ok")
        client = run("remigrate")
        assert (client.status, client.reconcile) == (ClientStatus.ACTIVE, "ok")
        expected = source_records(source)
        assert held(tmp_path / "out" / name) == {e: expected.get(e, {}) for e in ENTITY_ORDER}
        assert client.runs == 7


def test_a_spent_day_makes_a_client_wait_and_the_engine_resumes_it_at_that_time(
    portfolio_dir: Path, companies, tmp_path: Path, registry: PluginRegistry, trouble
) -> None:
    [source] = companies(1)
    with Portfolio(portfolio_dir, registry=registry) as portfolio:
        add_trouble(portfolio, "Tired", source, tmp_path / "tired")
        trouble.raises["tired"] = [lambda: day_spent(2.0)]
        seen: list[tuple[float, ClientStatus, str | None]] = []
        [client] = portfolio.run(
            "full",
            portfolio.select(["Tired"]),
            on_progress=lambda cs: seen.extend(
                (time.monotonic(), c.status, c.waiting_until) for c in cs
            ),
        )
        assert (client.status, client.reconcile) == (ClientStatus.ACTIVE, "ok")
        waiting = [(at, until) for at, status, until in seen if status is ClientStatus.WAITING]
        assert waiting and all(until for _, until in waiting)
        after = [
            at
            for at, status, _ in seen
            if at > waiting[0][0] and status is not ClientStatus.WAITING
        ]
        assert after[0] - waiting[0][0] >= 1.5, "resumed at the time the day's limit ends"
        statuses = [e.status for e in portfolio.history("Tired")]
        assert statuses[-3:] == [ClientStatus.WAITING, ClientStatus.MIGRATING, ClientStatus.ACTIVE]
        [event] = [e for e in portfolio.history("Tired") if e.status is ClientStatus.WAITING]
        assert event.reason is not None and event.reason.startswith("rate limit: the day's")


def test_an_expired_authorisation_waits_for_consent_and_is_tried_again(
    portfolio_dir: Path, companies, tmp_path: Path, registry: PluginRegistry, trouble
) -> None:
    [source] = companies(1)
    with Portfolio(portfolio_dir, registry=registry) as portfolio:
        add_trouble(portfolio, "Lapsed", source, tmp_path / "lapsed")
        trouble.raises["lapsed"] = [consent_needed(), consent_needed()]
        [client] = portfolio.run("full", portfolio.select(["Lapsed"]))
        assert client.status is ClientStatus.ACTIVE
        waits = [e for e in portfolio.history("Lapsed") if e.status is ClientStatus.WAITING]
        assert len(waits) == 2
        assert all(w.reason and w.reason.startswith("consent needed") for w in waits)


def test_a_client_that_fails_never_holds_up_the_others(
    portfolio_dir: Path, companies, tmp_path: Path, registry: PluginRegistry, trouble
) -> None:
    sources = companies(3)
    with Portfolio(portfolio_dir, registry=registry) as portfolio:
        for n, source in enumerate(sources):
            add_trouble(portfolio, f"C{n}", source, tmp_path / f"c{n}")
        trouble.raises["c0"] = [RuntimeError("the disk is on fire")]
        ended = {c.name: c for c in portfolio.run("full", portfolio.select(every=True))}
        assert ended["C0"].status is ClientStatus.FAILED
        assert ended["C0"].reason == "unexpected RuntimeError: the disk is on fire"
        assert Path(str(ended["C0"].error_file)).exists()
        assert {ended["C1"].status, ended["C2"].status} == {ClientStatus.ACTIVE}
        # Run again: the failed client resumes its run and ends active, nothing twice.
        [again] = portfolio.run("full", portfolio.select(["C0"]))
        assert (again.status, again.last_run_id) == (ClientStatus.ACTIVE, ended["C0"].last_run_id)
        held(tmp_path / "c0")


def test_who_pays_is_fixed_by_the_first_run(portfolio_dir: Path, companies, tmp_path: Path) -> None:
    [source] = companies(1)
    with Portfolio(portfolio_dir) as portfolio:
        [name] = add_clients(portfolio, [source], tmp_path / "out", paying="client", email="a@b.co")
        assert portfolio.set(name, paying="practice").paying == "practice"
        portfolio.run("validate", portfolio.select([name]))
        with pytest.raises(PortfolioError, match="fixed since its first run: the practice"):
            portfolio.set(name, paying="client")
        assert portfolio.set(name, paying="practice").paying == "practice"
        assert portfolio.set(name, email=None).participating is False


def test_remove_deletes_state_reports_and_history(
    portfolio_dir: Path, companies, tmp_path: Path
) -> None:
    [source] = companies(1)
    with Portfolio(portfolio_dir) as portfolio:
        [name] = add_clients(portfolio, [source], tmp_path / "out")
        [client] = portfolio.run("full", portfolio.select([name]))
        folder = portfolio.place.client_folder(client)
        assert (folder / "state.db").exists()
        with pytest.raises(PortfolioError, match="give --delete-data"):
            portfolio.remove(name)
        removed = portfolio.remove(name, delete_data=True)
        assert removed.status is ClientStatus.REMOVED
        assert (removed.source, removed.config, removed.report, removed.error_file) == (None,) * 4
        assert not folder.exists()
        assert [e.status for e in portfolio.history(name)] == [ClientStatus.REMOVED]
        assert portfolio.clients() == []
        assert [c.name for c in portfolio.clients(include_hidden=True)] == [name]
        with portfolio._runtime(listen=False):
            from dbos import DBOS

            assert DBOS.list_workflows(workflow_id_prefix=f"{client.slug}:") == []
        with pytest.raises(PortfolioError, match="removed clients cannot run"):
            portfolio.select([name])
        # The name may be used again, for a new client.
        assert portfolio.add(name, source=f"sage50-json:{source}", target="csv:x").runs == 0


def test_the_portfolio_page_shows_every_client_with_links_to_its_reports(
    portfolio_dir: Path, companies, tmp_path: Path
) -> None:
    sources = companies(2, 1)
    with Portfolio(portfolio_dir) as portfolio:
        names = add_clients(portfolio, sources, tmp_path / "out")
        portfolio.run("full", portfolio.select(every=True))
        portfolio.hide(names[1])
        page = portfolio.report().read_text("utf-8")
    assert names[0] in page and f"{names[1]} (hidden)" in page
    assert 'href="clients/' in page and "reconciliation.html" in page and "errors.csv" in page
    assert "1 active" in page and "1 failed" in page


def test_an_error_file_written_elsewhere_is_written_again_from_the_state_store(
    portfolio_dir: Path, companies, tmp_path: Path, registry: PluginRegistry, trouble
) -> None:
    [source] = companies(1)
    with Portfolio(portfolio_dir, registry=registry) as portfolio:
        add_trouble(portfolio, "Far", source, tmp_path / "far")
        trouble.raises["far"] = [RuntimeError("lost")]
        [client] = portfolio.run("full", portfolio.select(["Far"]))
        path = Path(str(client.error_file))
        path.unlink()
        assert portfolio.errors("Far") == path and path.exists()


def test_sources_spool_into_the_workers_folder_and_it_is_gone_afterwards(
    portfolio_dir: Path, companies, tmp_path: Path, registry: PluginRegistry, trouble
) -> None:
    [source] = companies(1)
    with Portfolio(portfolio_dir, registry=registry) as portfolio:
        add_trouble(portfolio, "Spooler", source, tmp_path / "spooler")
        [client] = portfolio.run("full", portfolio.select(["Spooler"]))
        assert client.status is ClientStatus.ACTIVE
    spool = portfolio.place.spool
    held_then = {p for seen in trouble.spools for p in seen}
    assert held_then and all(p.parent.parent == spool for p in held_then)
    assert any(p.name.startswith("migrationkit-sage50-") for p in held_then)
    assert not spool.exists() or list(spool.iterdir()) == []
