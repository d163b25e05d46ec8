"""The audit trail indexed by a second process while invoices load: same records, exactly once.

Every test forces the worker on a small file (``PARALLEL_FROM_BYTES`` patched to 0) and compares
what comes out with the same file read by one process.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migrationkit import (
    ENTITY_ORDER,
    ConfigError,
    DeferredRecord,
    Migration,
    MigrationOptions,
    PluginRegistry,
    Rejected,
    SQLiteStateStore,
    fingerprint,
)
from migrationkit.connectors.sage50 import connector, spool
from migrationkit.testing.generators.sage50 import GeneratorOptions, generate


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trail") / "company.json"
    generate(path, GeneratorOptions(seed=4, transactions=5000))
    return path


@pytest.fixture
def always_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connector, "PARALLEL_FROM_BYTES", 0)


def open_source(path: Path, parallel: bool | str = True) -> Any:
    return PluginRegistry().open("sage50-json", {"location": str(path), "parallel": parallel})


def built(item: Any) -> Any:
    return item.load() if isinstance(item, DeferredRecord) else item


def contents(source: Any, entities: tuple[str, ...] = ENTITY_ORDER) -> dict[str, list[str]]:
    """Every entity's records, in order, as key and fingerprint (rejections as their reason)."""
    found: dict[str, list[str]] = {}
    for entity in entities:
        rows = []
        for item in source.extract(entity, deferred=True):
            record = built(item)
            if isinstance(record, Rejected):
                rows.append(f"{record.key}!{record.code}:{record.message}")
            else:
                rows.append(f"{record.key}={fingerprint(record)}")
        found[entity] = rows
    return found


def stage(source: Any) -> connector._Stage:
    return source.instance.stage()  # type: ignore[no-any-return]


def test_the_worker_gives_what_one_process_gives(export: Path, always_parallel: None) -> None:
    together = open_source(export)
    alone = open_source(export, parallel=False)
    assert stage(together)._worker is not None, "the worker was not used"
    assert stage(alone)._worker is None
    expected = contents(alone)
    assert contents(together) == expected
    assert sum(len(rows) for rows in expected.values()) > 4000
    for entity in ENTITY_ORDER:
        assert list(together.extract_deleted(entity, None)) == list(
            alone.extract_deleted(entity, None)
        )


def test_invoices_arrive_before_the_trail_is_indexed(export: Path, always_parallel: None) -> None:
    source = open_source(export)
    first = next(iter(source.extract("invoices", deferred=True)))
    assert isinstance(first, DeferredRecord)
    assert not isinstance(built(first), Rejected)
    # The rest of the trail was still being read when the first invoice was handed out.
    assert stage(source)._trail is None or stage(source)._worker is None


def test_asking_for_another_entity_midway_loses_no_invoice(
    export: Path, always_parallel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool, "_BLOCK", 5)
    expected = contents(open_source(export, parallel=False), ("invoices", "payments"))
    source = open_source(export)
    invoices = iter(source.extract("invoices", deferred=True))
    taken = [next(invoices) for _ in range(3)]
    # Payments need the whole index: the worker is waited for, its unread lines dropped.
    payments = [built(i) for i in source.extract("payments", deferred=True)]
    rest = list(invoices)
    keys = [built(i).key for i in [*taken, *rest] if isinstance(i, DeferredRecord)]
    assert keys == [row.split("=")[0] for row in expected["invoices"] if "=" in row]
    assert [p.key for p in payments] == [row.split("=")[0] for row in expected["payments"]]


def test_a_pretty_printed_file_is_indexed_by_the_worker_too(
    export: Path, tmp_path: Path, always_parallel: None
) -> None:
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(json.loads(export.read_text("utf-8")), indent=2))
    source = open_source(pretty)
    assert contents(source) == contents(open_source(export, parallel=False))
    assert stage(source).layout == "lines"  # by byte offsets, not the stream parser


def _break_line_layout_after(export: Path, target: Path, invoices: int) -> None:
    """A copy whose trail is one transaction per line until a transaction after the
    ``invoices``-th invoice, which is split over two lines: the layout fails midway."""
    seen = 0
    inside = False
    with export.open(encoding="utf-8") as source, target.open("w", encoding="utf-8") as out:
        for line in source:
            if inside and line.startswith("{") and seen <= invoices:
                if '"type":"SI"' in line:
                    seen += 1
                if seen > invoices:
                    line = line.replace(',"date"', ',\n"date"', 1)
            elif line.startswith('"transactions"'):
                inside = True
            out.write(line)
    assert seen > invoices


def test_a_layout_that_breaks_midway_hands_out_each_invoice_once(
    export: Path, tmp_path: Path, always_parallel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool, "_BLOCK", 5)
    mixed = tmp_path / "mixed.json"
    _break_line_layout_after(export, mixed, invoices=40)
    expected = contents(open_source(mixed, parallel=False))
    source = open_source(mixed)
    assert contents(source) == expected
    # The worker re-indexed the file element by element, handing out only invoices not yet sent.
    assert stage(source).layout == "lines"
    keys = [row.split("=")[0] for row in expected["invoices"]]
    assert len(keys) == len(set(keys)) > 40


class _Dying:
    """Stands in for the worker: hands out some invoice lines, then stops unannounced."""

    def __init__(self, path: Path, root: Path, open_items: list[int]) -> None:
        journals = sqlite3.connect(":memory:")
        spool.create_journal_table(journals)
        self.lines: list[str] = []
        spool.index_trail(path, root, journals, open_items, self.lines.append)
        self.trail: spool.Trail | None = None
        self.discarded = False
        self.stopped = False

    def invoices(self) -> Iterator[str]:
        yield from self.lines[:25]
        raise spool.WorkerFailed("the indexing process stopped (exit -9)")

    def finish(self) -> spool.Trail:
        raise spool.WorkerFailed("the indexing process stopped (exit -9)")

    def stop(self) -> None:
        self.stopped = True


def test_a_worker_that_dies_midway_costs_nothing(
    export: Path, always_parallel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool, "TrailWorker", _Dying)
    source = open_source(export)
    worker = stage(source)._worker
    assert isinstance(worker, _Dying)
    assert contents(source) == contents(open_source(export, parallel=False))
    assert worker.stopped


def test_a_full_migration_through_the_worker_matches_one_without(
    export: Path, tmp_path: Path, always_parallel: None
) -> None:
    outputs = []
    for parallel in (True, False):
        registry = PluginRegistry()
        out = tmp_path / f"out-{parallel}"
        store = SQLiteStateStore(tmp_path / f"state-{parallel}.db")
        migration = Migration(
            registry.open("sage50-json", {"location": str(export), "parallel": parallel}),
            registry.open("csv", {"location": str(out)}),
            store,
            MigrationOptions(validate=False),
        )
        report = migration.full()
        store.close()
        assert report.status == "succeeded"
        outputs.append({p.name: p.read_bytes() for p in sorted(out.glob("*.csv"))})
    assert outputs[0] == outputs[1]


def test_closing_stops_a_worker_still_at_work(export: Path, always_parallel: None) -> None:
    source = open_source(export)
    staged = stage(source)
    process = staged._worker._process  # type: ignore[union-attr]
    staged.close()
    assert process.poll() is not None
    assert not staged.root.exists()


@pytest.mark.parametrize(("given", "expected"), [("false", False), ("No", False), ("1", True)])
def test_the_parallel_option_reads_like_a_switch(export: Path, given: str, expected: bool) -> None:
    assert open_source(export, parallel=given).instance.parallel is expected


def test_a_parallel_option_that_is_no_switch_is_refused(export: Path) -> None:
    with pytest.raises(ConfigError, match=r"'parallel' .* must be true or false"):
        open_source(export, parallel="sometimes")
