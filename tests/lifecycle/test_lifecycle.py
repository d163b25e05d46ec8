"""The lifecycle, end to end, against every target: demo, rollback, demo, full, full, delta.

Each step's counts must be exactly right, and after each step every source record exists on the
target at most once (after a full run, exactly once). The same scenario runs against each target
connector as it lands (the ``target`` fixture is parametrised).
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import attrs
import pytest

from factories import company, line, sales_invoice
from fakes import MemorySource, MemoryTarget, connect, source_connector
from migrationkit import (
    ENTITY_ORDER,
    Connector,
    Migration,
    MigrationOptions,
    PluginRegistry,
    Record,
    RunReport,
    SQLiteStateStore,
    reconcile,
)
from migrationkit.core.sampling import select_sample
from migrationkit.core.state import Outcome

TargetFactory = Callable[[Path], AbstractContextManager[tuple[Connector, dict[str, Any]]]]


@contextmanager
def _memory(_tmp: Path) -> Iterator[tuple[Connector, dict[str, Any]]]:
    yield connect(MemoryTarget()), {}


@contextmanager
def _csv(tmp: Path) -> Iterator[tuple[Connector, dict[str, Any]]]:
    yield PluginRegistry().open("csv", {"location": str(tmp / "csv-out")}), {}


def _discover() -> dict[str, TargetFactory]:
    """The built-in targets, plus one ``target_NAME.py`` module per API target beside this file.

    Such a module defines ``target(tmp_path)``: a context manager yielding the opened connector
    (its sandbox running) and the ``MigrationOptions`` fields it needs (mappings, for example).
    """
    found: dict[str, TargetFactory] = {"memory": _memory, "csv": _csv}
    for path in sorted(Path(__file__).parent.glob("target_*.py")):
        spec = importlib.util.spec_from_file_location(f"lifecycle_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found[path.stem.removeprefix("target_")] = module.target
    return found


TARGETS = _discover()


@pytest.fixture(params=sorted(TARGETS))
def target_and_options(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Connector, dict[str, Any]]]:
    with TARGETS[request.param](tmp_path) as made:
        yield made


@pytest.fixture
def source() -> MemorySource:
    return MemorySource(company(invoices=25))


def counts(report: RunReport, entity: str) -> dict[str, int]:
    data = report.entities[entity].to_dict() if entity in report.entities else {}
    return {k: v for k, v in data.items() if v}


def nonzero(expected: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in expected.items() if v}


def keys_on_target(migration: Migration) -> dict[str, Counter[str]]:
    """Source keys of what the target holds now, read back from the target itself."""
    store = migration.store
    info = store.migrations()[0]
    found: dict[str, Counter[str]] = {}
    for entity in ENTITY_ORDER:
        reverse = store.reverse_lookup(info.id, entity)
        found[entity] = Counter(
            reverse.get(record.key, f"?{record.key}") for record in migration.target.extract(entity)
        )
    return found


def assert_at_most_once(migration: Migration, source: MemorySource, exactly: bool = False) -> None:
    """No source record twice on the target; after a full run, every one of them there.

    Records the target held before the migration (a new business's own chart) have no
    id-map entry and are not source records: they are left out.
    """
    held = keys_on_target(migration)
    for entity in ENTITY_ORDER:
        ours = Counter({k: n for k, n in held[entity].items() if not k.startswith("?")})
        doubles = {k: n for k, n in ours.items() if n > 1}
        assert not doubles, f"{entity} held more than once: {doubles}"
        if exactly and migration.target.capabilities(entity).extract:
            wanted = {r.key for r in source.records.get(entity, ())}
            assert set(ours) >= wanted, f"{entity} missing: {sorted(wanted - set(ours))[:5]}"


def check_removal(
    migration: Migration, entity: str, created: int, after: dict[str, int], report: RunReport
) -> None:
    """A rollback takes back what the target allows; whatever stays is reported with why."""
    caps = migration.target.capabilities(entity)
    removed, remaining = after.get("deleted", 0), after.get("remaining", 0)
    assert removed + remaining == created, (entity, created, after)
    if not caps.removal:
        assert removed == 0, entity
    stays = [p for p in report.problems if p.entity == entity]
    assert len(stays) == remaining and all(p.reason and p.message for p in stays), entity


@pytest.fixture
def migration(
    tmp_path: Path, source: MemorySource, target_and_options: tuple[Connector, dict[str, Any]]
) -> Iterator[Migration]:
    target, options = target_and_options
    store = SQLiteStateStore(tmp_path / "state.db")
    yield Migration(
        source_connector(source),
        target,
        store,
        MigrationOptions(sample=2, report_dir=str(tmp_path / "reports"), **options),
    )
    store.close()


def outcome_keys(migration: Migration, report: RunReport, *kinds: Outcome) -> dict[str, set[str]]:
    """The keys of each entity that met one of ``kinds`` in a run."""
    found: dict[str, set[str]] = {}
    for row in migration.store.outcomes(report.run_id, kinds):
        found.setdefault(row.entity, set()).add(row.source_key)
    return found


def test_demo_rollback_demo_full_full_delta(migration: Migration, source: MemorySource) -> None:
    """Exact per record. A target may match records it already has instead of creating them
    (reported mapped, never rolled back); configured mappings are mapped on every run."""
    every = {entity: {r.key for r in source.records.get(entity, ())} for entity in ENTITY_ORDER}
    chosen = select_sample(lambda e: source.records.get(e, ()), migration.entities(), 2)
    config = {e: set(m) for e, m in migration.options.mappings.items()}

    demo = migration.demo()
    assert demo.status == "succeeded"
    made = outcome_keys(migration, demo, Outcome.CREATED, Outcome.MAPPED)
    for entity in migration.entities():
        got = counts(demo, entity)
        assert got.get("extracted", 0) == len(chosen[entity]), entity
        assert made.get(entity, set()) == chosen[entity], entity
        assert set(got) <= {"extracted", "created", "mapped"}, (entity, got)
    assert counts(demo, "invoices")["created"] < len(every["invoices"])
    assert_at_most_once(migration, source)

    undone = migration.rollback(demo.run_id)
    for entity in migration.entities():
        check_removal(
            migration,
            entity,
            counts(demo, entity).get("created", 0),
            counts(undone, entity),
            undone,
        )
    removed = outcome_keys(migration, undone, Outcome.DELETED)
    held = keys_on_target(migration)
    for entity in ENTITY_ORDER:
        assert not set(held[entity]) & removed.get(entity, set()), f"{entity} removed yet there"

    again = migration.demo()
    recreated = outcome_keys(migration, again, Outcome.CREATED)
    for entity in migration.entities():
        got = counts(again, entity)
        back = got.get("created", 0) + got.get("mapped", 0) + got.get("unchanged", 0)
        assert back == len(chosen[entity]), (entity, got)
        assert recreated.get(entity, set()) == removed.get(entity, set()), entity
    assert_at_most_once(migration, source)

    full = migration.full()
    fresh = outcome_keys(migration, full, Outcome.CREATED, Outcome.MAPPED)
    for entity in migration.entities():
        got = counts(full, entity)
        configured = config.get(entity, set()) & every[entity]
        assert got.get("extracted", 0) == len(every[entity]), entity
        assert fresh.get(entity, set()) - configured == every[entity] - chosen[entity], entity
        assert got.get("unchanged", 0) == len(chosen[entity] - configured), (entity, got)
    assert_at_most_once(migration, source, exactly=True)

    repeat = migration.full()
    for entity in migration.entities():
        got = counts(repeat, entity)
        configured = config.get(entity, set()) & every[entity]
        assert got.get("unchanged", 0) == len(every[entity] - configured), (entity, got)
        assert got.get("mapped", 0) == len(configured), (entity, got)
        assert not {"created", "updated", "failed", "skipped"} & set(got), (entity, got)
    assert_at_most_once(migration, source, exactly=True)

    invoices = [r for r in source.records["invoices"] if r.key.isdigit() and int(r.key) < 40]
    for invoice in invoices[10:15]:
        source.replace(attrs.evolve(invoice, reference="changed at the source"))
    for n in range(3):
        source.replace(sales_invoice(f"new{n}", net="42.00"))
    source.drop("invoices", invoices[20].key)

    delta = migration.delta()
    got = counts(delta, "invoices")
    gone = "deleted" if migration.target.capabilities("invoices").removal else "remaining"
    total = len(every["invoices"])
    assert got == {
        "extracted": total + 2,
        "created": 3,
        "updated": 5,
        "unchanged": total - 6,
        gone: 1,
    }, got
    for entity in migration.entities():
        if entity != "invoices":
            got = counts(delta, entity)
            configured = config.get(entity, set()) & every[entity]
            assert got.get("extracted", 0) == len(every[entity]), entity
            assert got.get("unchanged", 0) == len(every[entity] - configured), (entity, got)
    assert_at_most_once(migration, source, exactly=True)
    held_now = {r.key: r for r in _source_keyed(migration, "invoices")}
    assert held_now[invoices[12].key].reference == "changed at the source"


def _source_keyed(migration: Migration, entity: str) -> list[Record]:
    info = migration.store.migrations()[0]
    reverse = migration.store.reverse_lookup(info.id, entity)
    return [
        attrs.evolve(r, key=reverse[r.key])
        for r in migration.target.extract(entity)
        if r.key in reverse
    ]


def test_reports_are_written_for_every_run(migration: Migration, tmp_path: Path) -> None:
    migration.demo()
    for name in ("report.json", "errors.csv", "report.html"):
        assert (tmp_path / "reports" / name).exists()


def test_reconcile_agrees_after_full_and_explains_what_did_not_move(
    migration: Migration, source: MemorySource
) -> None:
    # A purchase invoice whose account is missing from the chart cannot load: reconcile must
    # name it as the reason for the difference on the payables account.
    broken = attrs.evolve(
        source.records["invoices"][-1], key="99", lines=(line("5999", "70.00", "14.00"),)
    )
    source.replace(broken)
    report = migration.full()
    assert counts(report, "invoices")["skipped"] == 1
    info = migration.store.migrations()[0]
    assert migration.source is not None
    result = reconcile(migration.source, migration.target, migration.store, info.id)
    assert result.ok, [d.to_dict() for d in result.unexplained]
    payables = {d.key: d for d in result.differences}["2100"]
    assert payables.difference == D("-84.00")
    assert [(e.entity, e.key, e.reason) for e in payables.explanations] == [
        ("invoices", "99", "MISSING_REFERENCE")
    ]
