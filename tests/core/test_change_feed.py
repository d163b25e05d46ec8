"""A source that takes ``known`` hands over only what changed; the engine counts the rest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from factories import company
from fakes import MemorySource, MemoryTarget, capabilities, connect, source_connector
from migrationkit import (
    DeferredRecord,
    KnownDigests,
    Migration,
    MigrationOptions,
    Record,
    SQLiteStateStore,
    fingerprint,
    hookimpl,
)


class _Feeding(MemorySource):
    """Announces every record by a digest, leaves out what ``known`` confirms, counts the rest."""

    def __init__(self, records: dict) -> None:  # type: ignore[type-arg]
        super().__init__(records)
        self.yielded: dict[str, int] = {}
        self.built: list[str] = []
        self.offered: dict[str, int] = {}

    @hookimpl
    def migrationkit_extract(
        self, entity: str, since: object, known: KnownDigests | None
    ) -> Iterator[object]:
        self.offered[entity] = len(known) if known is not None else -1
        for record in list(self.records.get(entity, ())):
            digest = fingerprint(record)  # type: ignore[arg-type]
            if known is not None and known.unchanged(digest):
                continue
            self.yielded[entity] = self.yielded.get(entity, 0) + 1
            yield DeferredRecord(
                entity=entity,
                key=record.key,
                digest=digest,
                load=lambda record=record: self._build(record),  # type: ignore[misc]
            )

    def _build(self, record: Record) -> Record:
        self.built.append(record.key)
        return record


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStateStore]:
    state = SQLiteStateStore(tmp_path / "state.db")
    yield state
    state.close()


def _migration(store: SQLiteStateStore, source: MemorySource, target: MemoryTarget) -> Migration:
    return Migration(source_connector(source), connect(target, capabilities()), store)


def test_a_delta_hands_over_only_what_changed_and_finds_what_went(
    store: SQLiteStateStore,
) -> None:
    source = _Feeding(company())
    target = MemoryTarget()
    migration = _migration(store, source, target)
    first = migration.full()
    invoices = len(source.records["invoices"])
    assert first.entities["invoices"].created == invoices
    assert source.offered["invoices"] == 0, "nothing was held yet"

    source.yielded.clear()
    source.built.clear()
    quiet = migration.delta()
    assert source.yielded == {}, "nothing changed: no record passed the engine"
    assert source.built == []
    assert quiet.entities["invoices"].unchanged == invoices
    assert quiet.entities["invoices"].extracted == invoices
    assert not target.removed

    changed, dropped = source.records["invoices"][1], source.records["invoices"][2]
    source.replace(attrs.evolve(changed, reference="changed"))
    source.drop("invoices", dropped.key)
    added = attrs.evolve(source.records["invoices"][0], key="77", number="INV-77")
    source.replace(added)
    source.yielded.clear()
    source.built.clear()
    report = migration.delta()
    assert source.yielded == {"invoices": 2}, "only the changed and the new invoice came through"
    assert sorted(source.built) == sorted([changed.key, "77"])
    counts = report.entities["invoices"]
    assert (counts.updated, counts.created, counts.deleted) == (1, 1, 1)
    assert counts.unchanged == invoices - 2
    assert target.by_key("invoices")[changed.key].reference == "changed"
    assert dropped.key not in target.by_key("invoices")
    assert target.removed["invoices"] == {dropped.key: "delete"}


def test_a_record_the_target_refused_is_handed_over_again(store: SQLiteStateStore) -> None:
    source = _Feeding(company())
    target = MemoryTarget()
    refused = source.records["invoices"][0]
    target.reject = lambda entity, record: "no" if record.key == refused.key else None
    migration = _migration(store, source, target)
    assert migration.full().entities["invoices"].failed == 1
    target.reject = lambda entity, record: None
    source.yielded.clear()
    report = migration.delta()
    # Neither the refused invoice nor the payment skipped for want of it is known: both come.
    assert source.yielded == {"invoices": 1, "payments": 1}
    assert report.entities["invoices"].created == 1
    assert report.entities["payments"].created == 1
    assert refused.key in target.by_key("invoices")


def test_a_source_without_known_still_yields_everything(store: SQLiteStateStore) -> None:
    source = MemorySource(company())
    migration = Migration(
        source_connector(source), connect(MemoryTarget(), capabilities()), store, MigrationOptions()
    )
    assert not migration.source.takes_known  # type: ignore[union-attr]
    migration.full()
    report = migration.delta()
    assert report.entities["invoices"].unchanged == len(source.records["invoices"])


def test_known_confirms_each_digest_once() -> None:
    known = KnownDigests(["a", "b"])
    assert known.unchanged("a")
    assert not known.unchanged("a"), "a second item with the same digest is not hidden"
    assert not known.unchanged("c")
    assert (known.matched, len(known)) == (1, 2)
