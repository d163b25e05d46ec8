"""A source whose deleted list may be incomplete says why; the delta compares instead, the plan
tells it (``migrationkit_deletions_unlisted``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from factories import company
from fakes import MemorySource, MemoryTarget, capabilities, connect
from migrationkit import (
    ENTITY_ORDER,
    EntityCapabilities,
    Migration,
    MigrationOptions,
    Record,
    Rejected,
    SQLiteStateStore,
    hookimpl,
)


class ForgetfulFeed(MemorySource):
    """Lists changes by date, and no deletions at all: its log cannot name them."""

    reason: str | None = "the log names lines, not invoices"
    asked: list[tuple[str, dt.datetime | None]]

    @hookimpl
    def migrationkit_extract(self, entity: str, since: object) -> Iterator[Record | Rejected]:
        if since is not None:
            self.extractions += 1
            return iter(())  # nothing changed since the last run
        return super().migrationkit_extract(entity, since)

    @hookimpl
    def migrationkit_deletions_unlisted(self, entity: str, since: dt.datetime | None) -> str | None:
        self.asked.append((entity, since))
        return self.reason if entity == "invoices" else None


@pytest.fixture
def migration(tmp_path: Path) -> Iterator[tuple[Migration, ForgetfulFeed]]:
    source = ForgetfulFeed(company())
    source.asked = []
    caps = {
        e: EntityCapabilities(extract=True, modified_since=True, deletions=True)
        for e in ENTITY_ORDER
    }
    store = SQLiteStateStore(tmp_path / "state.db")
    yield (
        Migration(
            connect(source, caps, name="feed"),
            connect(MemoryTarget(), capabilities()),
            store,
            MigrationOptions(validate=False),
        ),
        source,
    )
    store.close()


def test_a_delta_compares_every_record_when_the_deleted_list_is_incomplete(
    migration: tuple[Migration, ForgetfulFeed],
) -> None:
    run, source = migration
    assert not run.plan().notes, "no earlier run: nothing to say about a delta"
    run.full()
    gone = source.records["invoices"][0].key
    source.drop("invoices", gone)
    plan = run.plan()
    assert plan.notes == (
        "a delta of invoices: the log names lines, not invoices; its deletions will be found by "
        "comparing every record",
    )
    assert plan.to_dict()["notes"] == list(plan.notes)
    delta = run.delta()
    assert delta.entities["invoices"].deleted == 1
    assert [p.source_key for p in delta.problems] == []
    assert any("the log names lines" in note for note in delta.notes)
    assert {e for e, since in source.asked if since is not None} >= {"invoices"}


def test_a_complete_deleted_list_costs_no_comparison(
    migration: tuple[Migration, ForgetfulFeed],
) -> None:
    run, source = migration
    source.reason = None
    run.full()
    source.drop("invoices", source.records["invoices"][0].key)
    extractions = source.extractions
    delta = run.delta()
    # Every entity once, by date; no complete listing to find what went (none was listed).
    assert source.extractions - extractions == len(run.entities())
    assert "invoices" not in delta.entities or not delta.entities["invoices"].deleted
