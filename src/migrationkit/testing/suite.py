"""Conformance suites: does a connector honour the contract it declares?

Switch a suite on by subclassing it in a test module and naming the connector and its options::

    from migrationkit.testing import TargetSuite

    class TestMyConnector(TargetSuite):
        connector = "myconnector"

        @pytest.fixture
        def target_options(self, tmp_path):
            return {"location": str(tmp_path / "out")}

Every test checks one rule, and a failure names it (``RULE load-then-extract: ...``) so an
author knows what to fix. What a connector does not declare is not asked of it, except that
declaring too little is caught too: a removal it did not declare must be refused.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest

from migrationkit.core.capabilities import Removal
from migrationkit.core.contract import Rejected, RemovalRequest
from migrationkit.core.engine import Migration, MigrationOptions
from migrationkit.core.fingerprint import canonical_text, fingerprint
from migrationkit.core.model import ENTITY_ORDER, RECORD_TYPES, Record
from migrationkit.core.plugins import Connector, PluginRegistry
from migrationkit.core.references import remap
from migrationkit.core.state import SQLiteStateStore
from migrationkit.testing.sandboxes.server import Fault, Faults

from . import datasets
from .memory import memory_source

__all__ = ["SourceSuite", "TargetSuite", "no_floats"]


def _fail(rule: str, message: str) -> str:
    return f"RULE {rule}: {message}"


def no_floats(value: Any, where: str = "") -> Iterator[str]:
    """Yield the path of every float inside a record (money must never be one)."""
    if isinstance(value, float):
        yield where or "value"
    elif isinstance(value, tuple | list):
        for n, item in enumerate(value):
            yield from no_floats(item, f"{where}[{n}]")
    elif attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            yield from no_floats(getattr(value, field.name), f"{where}.{field.name}".lstrip("."))


# -------------------------------------------------------------------------------------------------
# sources
# -------------------------------------------------------------------------------------------------


class SourceSuite:
    """Rules for a source. Provide ``source_options``: the connector's options, over test data."""

    connector: ClassVar[str] = ""

    @pytest.fixture
    def source(self, source_options: Mapping[str, Any]) -> Connector:
        return PluginRegistry().open(self.connector, source_options)

    @staticmethod
    def _declared(connector: Connector) -> list[str]:
        return [e for e in ENTITY_ORDER if connector.capabilities(e).extract]

    def test_every_declared_entity_extracts_valid_records(self, source: Connector) -> None:
        """RULE valid-records: extraction yields canonical records of the entity, or Rejected."""
        assert self._declared(source), _fail(
            "valid-records", "the connector declares no entity to extract"
        )
        for entity in self._declared(source):
            for item in source.extract(entity):
                assert isinstance(item, RECORD_TYPES[entity] | Rejected), _fail(
                    "valid-records",
                    f"{entity} yielded {type(item).__name__}, not {RECORD_TYPES[entity].__name__}",
                )
                if isinstance(item, Rejected):
                    assert item.entity == entity and item.code and item.message, _fail(
                        "valid-records", f"a Rejected {entity} item needs a code and a message"
                    )

    def test_keys_are_unique_and_stable_across_runs(self, source: Connector) -> None:
        """RULE stable-keys: keys are unique per entity and the same on every extraction."""
        for entity in self._declared(source):
            first = [
                (r.key, fingerprint(r))
                for r in source.extract(entity)
                if not isinstance(r, Rejected)
            ]
            doubles = [k for k, n in Counter(k for k, _ in first).items() if n > 1]
            assert not doubles, _fail("stable-keys", f"{entity} keys repeat: {doubles[:5]}")
            second = [
                (r.key, fingerprint(r))
                for r in source.extract(entity)
                if not isinstance(r, Rejected)
            ]
            assert sorted(first) == sorted(second), _fail(
                "stable-keys", f"a second extraction of {entity} gave other keys or content"
            )

    def test_money_stays_decimal(self, source: Connector) -> None:
        """RULE decimal-money: no float anywhere in a record."""
        for entity in self._declared(source):
            for record in source.extract(entity):
                floats = list(no_floats(record))
                assert not floats, _fail(
                    "decimal-money", f"{entity} {record.key} holds floats at {floats}"
                )

    def test_references_name_extracted_records(self, source: Connector) -> None:
        """RULE closed-references: every reference names a record the source also yields."""
        keys = {e: {r.key for r in source.extract(e)} for e in self._declared(source)}
        for entity in self._declared(source):
            for record in source.extract(entity):
                if isinstance(record, Rejected):
                    continue
                for ref_entity, key in record.references():
                    assert key in keys.get(ref_entity, ()), _fail(
                        "closed-references",
                        f"{entity} {record.key} refers to {ref_entity} {key}, "
                        "which the source does not yield",
                    )

    def test_modified_since_returns_only_changes(self, source: Connector) -> None:
        """RULE modified-since: nothing changed after now; everything changed since long ago,
        read exactly as a complete extraction reads it (same keys, same content)."""
        dated = [e for e in self._declared(source) if source.capabilities(e).modified_since]
        if not dated:
            pytest.skip("the connector declares no entity with modified_since")
        future = dt.datetime.now(dt.UTC) + dt.timedelta(days=3650)
        past = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)

        def read(entity: str, since: dt.datetime | None) -> dict[str, str]:
            return {
                r.key: fingerprint(r)
                for r in source.extract(entity, since)
                if not isinstance(r, Rejected)
            }

        for entity in dated:
            assert not [r.key for r in source.extract(entity, future)], _fail(
                "modified-since", f"{entity} changed after {future:%Y}?"
            )
            everything = read(entity, None)
            since_long_ago = read(entity, past)
            assert set(since_long_ago) == set(everything), _fail(
                "modified-since", f"{entity} since {past:%Y} is not everything"
            )
            differ = sorted(k for k in everything if since_long_ago[k] != everything[k])
            assert not differ, _fail(
                "modified-since",
                f"{entity} read by date differs from a complete read: {differ[:5]}",
            )


# -------------------------------------------------------------------------------------------------
# targets
# -------------------------------------------------------------------------------------------------


class TargetSuite:
    """Rules for a target. Provide ``target_options``; optionally override the class attributes.

    * ``migration_options``: MigrationOptions fields the target needs (account mappings...).
    * ``rejection``: ``(entity, record)`` the target must refuse, for the rejected-record rule.
    * the ``faults`` fixture: the :class:`~migrationkit.http.Faults` of the sandbox the target
      talks to, for the retry rule (HTTP connectors).
    * :meth:`normalise`: what a record looks like after a round trip through the target, when
      the target cannot hold every field.
    """

    connector: ClassVar[str] = ""
    migration_options: ClassVar[Mapping[str, Any]] = {}
    rejection: ClassVar[tuple[str, Record] | None] = None
    dataset_names: ClassVar[Sequence[str]] = tuple(datasets.DATASETS)

    @pytest.fixture
    def target(self, target_options: Mapping[str, Any]) -> Connector:
        return PluginRegistry().open(self.connector, target_options)

    @pytest.fixture
    def faults(self) -> Faults | None:
        return None

    @pytest.fixture
    def state(self, tmp_path: Path) -> Iterator[SQLiteStateStore]:
        store = SQLiteStateStore(tmp_path / "conformance-state.db")
        yield store
        store.close()

    def normalise(self, entity: str, record: Record) -> Record | None:
        """The record as the target is expected to give it back (None: not compared)."""
        return record

    def _migration(
        self, records: datasets.Dataset, target: Connector, state: SQLiteStateStore, name: str
    ) -> Migration:
        return Migration(
            memory_source(records, name=name),
            target,
            state,
            MigrationOptions(validate=False, **dict(self.migration_options)),
        )

    def _created(self, target: Connector) -> list[str]:
        return [e for e in ENTITY_ORDER if target.capabilities(e).create]

    @staticmethod
    def _problems(report: Any) -> list[str]:
        return [f"{p.entity} {p.source_key}: {p.reason} {p.message}" for p in report.problems]

    def _held(self, migration: Migration, entity: str) -> dict[str, Record]:
        """The target's records of ``entity``, read back and turned into source keys."""
        store = migration.store
        info = store.migrations()[0]
        cache: dict[str, Mapping[str, str]] = {}

        def back(ref_entity: str, key: str) -> str:
            if ref_entity not in cache:
                cache[ref_entity] = store.reverse_lookup(info.id, ref_entity)
            return cache[ref_entity].get(key, f"target:{key}")

        held: dict[str, Record] = {}
        for item in migration.target.extract(entity):
            assert not isinstance(item, Rejected), _fail(
                "load-then-extract", f"the target gave back an unreadable {entity}: {item.message}"
            )
            record = remap(item, back, own_key=True)
            assert record.key not in held, _fail(
                "load-then-extract", f"{entity} {record.key} is on the target twice"
            )
            held[record.key] = record
        return held

    @pytest.mark.parametrize("dataset", list(datasets.DATASETS))
    def test_load_then_extract_gives_the_same_records(
        self, dataset: str, target: Connector, state: SQLiteStateStore
    ) -> None:
        """RULE load-then-extract: what was loaded comes back, field for field."""
        if dataset not in self.dataset_names:
            pytest.skip(f"{self.connector} does not take the {dataset} dataset")
        records = datasets.DATASETS[dataset]()
        migration = self._migration(records, target, state, dataset)
        report = migration.full()
        assert report.status == "succeeded", _fail(
            "load-then-extract", f"the run {report.status}: {report.error}"
        )
        assert not report.problems, _fail(
            "load-then-extract", f"records did not load: {self._problems(report)}"
        )
        for entity in self._created(target):
            if not target.capabilities(entity).extract:
                continue
            held = self._held(migration, entity)
            for record in records.get(entity, ()):
                expected = self.normalise(entity, record)
                if expected is None:
                    continue
                assert record.key in held, _fail(
                    "load-then-extract", f"{entity} {record.key} is not on the target"
                )
                got = self.normalise(entity, held[record.key])
                assert got is not None and canonical_text(got) == canonical_text(expected), _fail(
                    "load-then-extract",
                    f"{entity} {record.key} came back different:\n"
                    f"  sent {canonical_text(expected)}\n"
                    f"  got  {canonical_text(got) if got else None}",
                )

    def test_a_reload_creates_nothing(self, target: Connector, state: SQLiteStateStore) -> None:
        """RULE idempotent-reload: the same records a second time are all unchanged."""
        migration = self._migration(datasets.basic(), target, state, "basic")
        first = migration.full()
        assert not first.problems, _fail(
            "idempotent-reload", f"the first load failed: {self._problems(first)}"
        )
        again = migration.full()
        totals = again.totals()
        assert (totals.created, totals.updated, totals.failed) == (0, 0, 0), _fail(
            "idempotent-reload",
            f"a reload created {totals.created}, updated {totals.updated}, failed {totals.failed}",
        )
        before = first.totals()
        assert totals.unchanged + totals.mapped == before.created + before.mapped, _fail(
            "idempotent-reload", "a reload did not find every record the first load wrote"
        )

    def test_changes_update_in_place(self, target: Connector, state: SQLiteStateStore) -> None:
        """RULE update-in-place: a changed record is updated (where declared), never duplicated."""
        source = memory_source(datasets.basic(), name="basic")
        migration = Migration(
            source, target, state, MigrationOptions(validate=False, **dict(self.migration_options))
        )
        migration.full()
        later = datasets.updated()
        source.instance.records = {k: list(v) for k, v in later.items()}  # type: ignore[attr-defined]
        report = migration.full()
        invoices = report.entities["invoices"]
        if target.capabilities("invoices").update:
            assert (invoices.updated, invoices.created) == (1, 1), _fail(
                "update-in-place",
                f"expected 1 invoice updated and 1 created, "
                f"got {invoices.updated} and {invoices.created}",
            )
            if target.capabilities("invoices").extract:
                held = self._held(migration, "invoices")
                assert len(held) == len(later["invoices"]), _fail(
                    "update-in-place", "an update duplicated an invoice"
                )
        else:
            assert invoices.skipped == 1, _fail(
                "update-in-place", "a target that cannot update must skip, not write"
            )

    def test_rollback_honours_each_declared_capability(
        self, target: Connector, state: SQLiteStateStore
    ) -> None:
        """RULE rollback: what can be removed is removed; what cannot remains, reported.

        A target may refuse a removal it declares only for a record still in use (a contact on
        a voided invoice), and must say why.
        """
        records = datasets.basic()
        migration = self._migration(records, target, state, "basic")
        created = migration.full()
        if not any(target.capabilities(e).removal for e in ENTITY_ORDER):
            pytest.skip(f"{self.connector} declares no removal")
        in_use = {ref for record in datasets.records(records) for ref in record.references()}
        undone = migration.rollback()
        stays = {(p.entity, p.source_key): p for p in undone.problems}
        for entity, counts in created.entities.items():
            if not counts.created:
                continue
            after = undone.entities.get(entity)
            removed = after.deleted if after else 0
            remaining = after.remaining if after else 0
            assert removed + remaining == counts.created, _fail(
                "rollback",
                f"{entity}: {counts.created} created, {removed} removed, {remaining} left",
            )
            if not target.capabilities(entity).removal:
                assert removed == 0, _fail(
                    "rollback", f"{entity} was removed, which is not declared"
                )
                continue
            for (kind, key), problem in stays.items():
                if kind != entity:
                    continue
                assert (entity, key) in in_use, _fail(
                    "rollback", f"{entity} {key} is removable and in no use, yet it remains"
                )
                assert problem.reason and problem.message, _fail(
                    "rollback", f"{entity} {key} remains without a reason"
                )

    def test_removal_refuses_what_is_not_declared(
        self, target: Connector, state: SQLiteStateStore
    ) -> None:
        """RULE undeclared-removal: asked to remove in an undeclared way, a target refuses."""
        migration = self._migration(datasets.basic(), target, state, "basic")
        migration.full()
        info = state.migrations()[0]
        tried = 0
        for entity in ENTITY_ORDER:
            declared = target.capabilities(entity).removal
            undeclared = [a for a in Removal if a not in declared]
            entries = state.created_by(info.id, None, entity)
            if not undeclared or not entries:
                continue
            tried += 1
            request = RemovalRequest(
                key=entries[0].source_key,
                target_id=entries[0].target_id or "",
                actions=tuple(undeclared),
            )
            [result] = target.remove(entity, [request])
            assert not result.removed, _fail(
                "undeclared-removal",
                f"{entity} was removed by {result.action}, which the connector does not declare",
            )
        if not tried:
            pytest.skip("every removal is declared for every entity")

    def test_ids_are_preserved_where_declared(
        self, target: Connector, state: SQLiteStateStore
    ) -> None:
        """RULE preserve-ids: a declared entity keeps the source's number or code."""
        records = datasets.basic()
        migration = self._migration(records, target, state, "basic")
        migration.full()
        info = state.migrations()[0]
        checked = 0
        for entity in ENTITY_ORDER:
            caps = target.capabilities(entity)
            if not (caps.preserve_ids and caps.extract):
                continue
            held = self._held(migration, entity)
            # A record matched onto one the target already had keeps the target's own code.
            entries = state.lookup(info.id, entity, [r.key for r in records.get(entity, ())])
            for record in records.get(entity, ()):
                entry = entries.get(record.key)
                if entry is None or entry.created_run is None:
                    continue
                for name in ("code", "number"):
                    wanted = getattr(record, name, None)
                    if wanted and record.key in held:
                        checked += 1
                        assert getattr(held[record.key], name, None) == wanted, _fail(
                            "preserve-ids",
                            f"{entity} {record.key}: {name} {wanted!r} came back as "
                            f"{getattr(held[record.key], name, None)!r}",
                        )
        if not checked:
            pytest.skip("the connector preserves no ids it can also read back")

    def test_a_rejected_record_is_a_failed_outcome(
        self, target: Connector, state: SQLiteStateStore
    ) -> None:
        """RULE rejected-record: a record the target refuses fails with its reason; no exception."""
        if self.rejection is None:
            pytest.skip(f"{self.connector} names no record it refuses (set `rejection`)")
        entity, bad = self.rejection
        records = datasets.basic()
        records.setdefault(entity, []).append(bad)
        report = self._migration(records, target, state, "rejection").full()
        assert report.status == "succeeded", _fail(
            "rejected-record", f"the run {report.status}: {report.error}"
        )
        failed = [p for p in report.problems if p.source_key == bad.key]
        assert failed and failed[0].reason and failed[0].message, _fail(
            "rejected-record",
            f"{entity} {bad.key} should fail with a reason; problems: {self._problems(report)}",
        )

    def test_429_and_5xx_are_retried(
        self, target: Connector, state: SQLiteStateStore, faults: Faults | None
    ) -> None:
        """RULE retries: bursts of 429 and 5xx end in a complete load, nothing doubled."""
        if faults is None:
            pytest.skip(f"{self.connector} talks to no API here (provide the `faults` fixture)")
        faults.add(Fault(status=429, retry_after=0), times=3)
        faults.add(Fault(status=503), times=2)
        faults.add(Fault(status=500))
        records = datasets.basic()
        migration = self._migration(records, target, state, "retries")
        report = migration.full()
        assert report.status == "succeeded" and not report.problems, _fail(
            "retries", f"faults made records fail: {report.error or self._problems(report)}"
        )
        assert faults.injected >= 6, _fail("retries", "the faults were not all met")
        for entity in self._created(target):
            if target.capabilities(entity).extract:
                ours = [k for k in self._held(migration, entity) if not k.startswith("target:")]
                assert sorted(ours) == sorted(r.key for r in records.get(entity, ())), _fail(
                    "retries", f"{entity} on the target differs after retries"
                )
