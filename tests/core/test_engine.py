"""The engine's rules, one at a time, against in-memory connectors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal as D
from pathlib import Path

import attrs
import pytest

from factories import company, line
from fakes import MemorySource, MemoryTarget, capabilities, connect, source_connector
from migrationkit import (
    CapabilityError,
    Finding,
    Interrupted,
    LoadRequest,
    LoadResult,
    Migration,
    MigrationOptions,
    Problem,
    Record,
    References,
    Rejected,
    Removal,
    RunContext,
    SourceInvalid,
    SQLiteStateStore,
    hookimpl,
)
from migrationkit.core.sampling import select_sample


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStateStore]:
    state = SQLiteStateStore(tmp_path / "state.db")
    yield state
    state.close()


def make(
    store: SQLiteStateStore,
    source: MemorySource | None = None,
    target: MemoryTarget | None = None,
    caps: dict | None = None,
    **options: object,
) -> tuple[Migration, MemorySource, MemoryTarget]:
    source = source or MemorySource(company())
    target = target or MemoryTarget()
    migration = Migration(
        source_connector(source),
        connect(target, caps or capabilities()),
        store,
        MigrationOptions(**options),  # type: ignore[arg-type]
    )
    return migration, source, target


def created(report: object, entity: str) -> int:
    return report.entities[entity].created if entity in report.entities else 0  # type: ignore[attr-defined]


def test_resume_after_a_crash_between_the_write_and_its_outcome(store: SQLiteStateStore) -> None:
    migration, source, target = make(store)
    crashes = iter([True])
    target.crash_after_write = lambda entity, n: (
        entity == "invoices" and n == 1 and next(crashes, False)
    )
    with pytest.raises(Interrupted, match="run the same command again"):
        migration.full()
    written = target.by_key("invoices")
    assert len(written) == 2  # the first two of the batch reached the target, no outcome recorded

    report = migration.full()
    assert report.run_id == 1, "the interrupted run is resumed, not replaced"
    assert report.status == "succeeded"
    invoices = [r.key for r in source.records["invoices"]]
    held = [r.key for r in target.rows["invoices"].values()]
    assert sorted(held) == sorted(invoices), "each invoice exactly once"
    assert created(report, "invoices") == len(invoices)
    assert report.entities["invoices"].unchanged == 0


def test_a_rejected_record_fails_and_its_dependents_are_skipped_with_the_reason(
    store: SQLiteStateStore,
) -> None:
    migration, _source, target = make(store)
    target.reject = lambda entity, record: (
        "no such thing" if record.key == "customer:BETA" else None
    )
    report = migration.full()
    assert report.entities["contacts"].failed == 1
    problems = {(p.entity, p.source_key): p for p in report.problems}
    failed = problems[("contacts", "customer:BETA")]
    assert failed.reason == "REJECTED"
    assert failed.response == '{"error": "no"}'
    payment = problems[("payments", "60")]
    assert payment.reason == "MISSING_REFERENCE"
    assert "contacts customer:BETA (skipped: REJECTED)" in (payment.message or "")
    assert "customer:BETA" not in {r.key for r in target.rows["contacts"].values()}


def test_modes_the_target_cannot_serve_are_refused_up_front(store: SQLiteStateStore) -> None:
    no_create = {e: attrs.evolve(c, create=False) for e, c in capabilities().items()}
    migration, _s, target = make(store, caps=no_create)
    with pytest.raises(CapabilityError, match="cannot create any"):
        migration.full()
    assert target.calls == []

    no_removal = capabilities(removal=frozenset())
    migration, _s, _t = make(store, caps=no_removal)
    with pytest.raises(CapabilityError, match="nothing can be rolled back"):
        migration.rollback()


def test_delta_needs_an_earlier_successful_run(store: SQLiteStateStore) -> None:
    migration, _s, _t = make(store)
    with pytest.raises(CapabilityError, match="run demo or migrate first"):
        migration.delta()


def test_what_the_target_will_not_remove_is_reported_as_remaining(store: SQLiteStateStore) -> None:
    migration, _s, target = make(store)
    migration.full()
    target.refuse_removal = {"invoices"}
    report = migration.rollback()
    assert report.entities["invoices"].remaining == 7
    assert report.entities["payments"].deleted == 2
    remaining = [p for p in report.problems if p.entity == "invoices"]
    assert {p.reason for p in remaining} == {"LOCKED"}
    assert len(target.rows["invoices"]) == 7


def test_rollback_uses_the_first_removal_the_target_allows(store: SQLiteStateStore) -> None:
    caps = capabilities(removal=frozenset({Removal.ARCHIVE, Removal.VOID}))
    migration, _s, target = make(store, caps=caps)
    migration.full()
    migration.rollback()
    assert set(target.removed["invoices"].values()) == {Removal.VOID}


def test_mapped_records_are_not_created_and_references_resolve_to_them(
    store: SQLiteStateStore,
) -> None:
    migration, _s, target = make(store, mappings={"tax_rates": {"T1": "VAT-STD"}})
    report = migration.full()
    assert report.entities["tax_rates"].mapped == 1
    assert report.entities["tax_rates"].created == 1
    stored = next(iter(target.rows["invoices"].values()))
    assert stored.lines[0].tax_rate == "VAT-STD"
    undone = migration.rollback()
    assert undone.entities["tax_rates"].deleted == 1, "a mapped record is never removed"


class _Adopting(MemoryTarget):
    """A target whose chart already holds every ledger account: it matches, never creates."""

    @hookimpl
    def migrationkit_load(
        self, entity: str, requests: Sequence[LoadRequest], refs: References
    ) -> list[LoadResult]:
        if entity != "ledger_accounts":
            return super().migrationkit_load(entity, requests, refs)
        return [
            LoadResult(ok=True, existing=True, target_id=f"chart-{r.record.key}") for r in requests
        ]


def test_records_the_target_already_held_are_mapped_and_never_removed(
    store: SQLiteStateStore,
) -> None:
    migration, source, target = make(store, target=_Adopting())
    report = migration.full()
    accounts = len(source.records["ledger_accounts"])
    assert report.entities["ledger_accounts"].mapped == accounts
    assert created(report, "ledger_accounts") == 0
    stored = next(iter(target.rows["manual_journals"].values()))
    assert stored.lines[0].account.startswith("chart-"), "references resolve to the matched ids"
    again = migration.full()
    assert again.entities["ledger_accounts"].unchanged == accounts
    undone = migration.rollback()
    assert "ledger_accounts" not in target.removed
    assert (
        undone.entities.get("ledger_accounts") is None
        or not undone.entities["ledger_accounts"].deleted
    )


def test_cutoff_and_history_mode_decide_what_moves(store: SQLiteStateStore) -> None:
    cutoff = dt.date(2024, 4, 3)
    migration, source, _t = make(store, cutoff=cutoff)
    report = migration.full()
    late = [r for r in source.records["invoices"] if r.date > cutoff]  # type: ignore[attr-defined]
    assert report.entities["invoices"].excluded == len(late) > 0
    assert report.entities["invoices"].created == 7 - len(late)

    records_only, _s, _t = make(
        store, MemorySource(company(), name="other"), history_mode="records_only"
    )
    assert records_only.entities() == [
        "company",
        "tax_rates",
        "ledger_accounts",
        "tracking_categories",
        "bank_accounts",
        "contacts",
        "items",
    ]
    assert records_only.full().entities.keys() == {
        "company",
        "tax_rates",
        "ledger_accounts",
        "bank_accounts",
        "contacts",
    }


class _Invalid(MemorySource):
    @hookimpl
    def migrationkit_validate(self) -> list[Finding]:
        return [Finding(code="HEADER_TOTALS", message="gross is not net + tax", pointer="/x")]


def test_an_invalid_source_is_refused_before_any_write(store: SQLiteStateStore) -> None:
    migration, _s, target = make(store, _Invalid(company()))
    with pytest.raises(SourceInvalid, match="HEADER_TOTALS") as caught:
        migration.full()
    assert caught.value.findings[0].pointer == "/x"
    assert target.calls == []
    skipping, _s, target = make(store, _Invalid(company(), name="b"), validate=False)
    assert skipping.full().status == "succeeded"


def test_structural_limits_skip_records_before_any_call(store: SQLiteStateStore) -> None:
    caps = capabilities(max_code_length=3, max_lines=0)
    migration, _s, target = make(store, caps=caps)
    report = migration.full()
    reasons = {p.reason for p in report.problems if p.entity == "ledger_accounts"}
    assert reasons == {"CODE_TOO_LONG"}
    assert "ledger_accounts" not in target.rows or not target.rows["ledger_accounts"]


class _Strict(MemoryTarget):
    @hookimpl
    def migrationkit_check_record(
        self, entity: str, record: Record, refs: References
    ) -> Sequence[Problem]:
        if entity == "manual_journals":
            account = refs.record("ledger_accounts", record.lines[1].account)  # type: ignore[attr-defined]
            if account is not None and account.control_role is not None:  # type: ignore[attr-defined]
                return [Problem(code="CONTROL_ACCOUNT", message="journal to a control account")]
        return []


def test_a_target_rule_skips_the_record_with_its_reason(store: SQLiteStateStore) -> None:
    migration, _s, _t = make(store, target=_Strict())
    report = migration.full()
    [problem] = report.problems
    assert (problem.entity, problem.reason) == ("manual_journals", "CONTROL_ACCOUNT")
    plan = migration.plan()
    journals = next(p for p in plan.entities if p.entity == "manual_journals")
    assert journals.problems == {"CONTROL_ACCOUNT": (1, ["30"])}


def test_unreadable_source_records_are_skipped_not_lost(store: SQLiteStateStore) -> None:
    records = company()
    records["invoices"].append(
        Rejected(
            entity="invoices", key="bad", code="SOURCE_INVALID", message="no date", pointer="/t/3"
        )
    )
    migration, _s, _t = make(store, MemorySource(records))
    report = migration.full()
    [problem] = report.problems
    assert problem.reason == "SOURCE_INVALID"
    assert problem.message == "no date (at /t/3)"
    assert report.entities["invoices"].extracted == 8


def test_demo_samples_are_closed_under_references() -> None:
    records = company()
    chosen = select_sample(lambda e: records.get(e, ()), list(records), 0)
    assert all(not keys for keys in chosen.values())
    chosen = select_sample(
        lambda e: records.get(e, ()), ["contacts", "invoices", "open_items", "payments"], 1
    )
    assert chosen["payments"] <= {"60", "61"}
    if "60" in chosen["payments"]:
        assert {"1"} <= chosen["open_items"]
        assert "10" in chosen["invoices"]
        assert "customer:BETA" in chosen["contacts"]


def test_demo_sample_is_the_same_after_a_rollback(store: SQLiteStateStore) -> None:
    migration, _s, target = make(store, sample=2)
    first = migration.demo()
    keys = {e: sorted(r.key for r in rows.values()) for e, rows in target.rows.items()}
    migration.rollback(first.run_id)
    migration.demo()
    again = {e: sorted(r.key for r in rows.values()) for e, rows in target.rows.items()}
    assert again == keys


def test_records_of_one_entity_referring_to_each_other_load_in_order(
    store: SQLiteStateStore,
) -> None:
    records = company()
    # An open payment on account allocated to an open invoice: same entity, same batch.
    from migrationkit import Allocation, OpenItem, OpenItemKind

    records["open_items"] = [
        OpenItem(
            key="1",
            kind=OpenItemKind.SALES_INVOICE,
            contact="customer:BETA",
            date=dt.date(2024, 3, 1),
            gross=D("240.00"),
            outstanding=D("240.00"),
            base_outstanding=D("240.00"),
        ),
        OpenItem(
            key="2",
            kind=OpenItemKind.CUSTOMER_PAYMENT,
            contact="customer:BETA",
            date=dt.date(2024, 3, 2),
            gross=D("40.00"),
            outstanding=D("40.00"),
            base_outstanding=D("40.00"),
            allocations=(
                Allocation(document_entity="open_items", document="1", amount=D("40.00")),
            ),
        ),
    ]
    migration, _s, target = make(store, MemorySource(records), caps=capabilities(batch_size=50))
    report = migration.full()
    assert report.entities["open_items"].created == 2
    loads = [n for call, entity, n in target.calls if entity == "open_items"]
    assert loads == [1, 1], "the allocated-to item is written before the item allocated to it"


def test_changed_records_the_target_cannot_update_are_skipped(store: SQLiteStateStore) -> None:
    migration, source, _t = make(store, caps=capabilities(update=False))
    migration.full()
    invoice = source.records["invoices"][0]
    source.replace(attrs.evolve(invoice, lines=(line("4000", "1.00", "0.20"),)))
    report = migration.full()
    [problem] = report.problems
    assert problem.reason == "TARGET_CANNOT_UPDATE"


def test_plan_counts_and_refusals(store: SQLiteStateStore) -> None:
    migration, source, _t = make(store, caps=capabilities(removal=frozenset()))
    plan = migration.plan()
    counts = {p.entity: p.count for p in plan.entities}
    assert counts["invoices"] == len(source.records["invoices"])
    assert "rollback" in plan.refused
    assert plan.to_dict()["entities"][0]["target"]["create"] is True


class _Deferring(MemorySource):
    """Announces invoices by digest; counts how many it had to build."""

    def __init__(self, records: dict) -> None:  # type: ignore[type-arg]
        super().__init__(records)
        self.built: list[str] = []
        self.digests: dict[str, str] = {}

    @hookimpl
    def migrationkit_extract(self, entity: str, since: object) -> Iterator[object]:
        from migrationkit import DeferredRecord, fingerprint

        if entity != "invoices":
            return super().migrationkit_extract(entity, since)

        def build(record: Record) -> Record:
            self.built.append(record.key)
            return record

        return iter(
            [
                DeferredRecord(
                    entity=entity,
                    key=r.key,
                    digest=self.digests.get(r.key) or fingerprint(r),
                    load=lambda r=r: build(r),
                )
                for r in self.records[entity]
            ]
        )


def test_deferred_records_are_built_only_when_their_digest_changed(store: SQLiteStateStore) -> None:
    source = _Deferring(company())
    migration, _s, target = make(store, source)
    first = migration.full()
    assert first.entities["invoices"].created == 7
    assert len(source.built) == 7
    source.built.clear()
    second = migration.full()
    assert second.entities["invoices"].unchanged == 7
    assert source.built == [], "nothing was built: every digest matched"
    source.digests["10"] = "a new source form"
    third = migration.full()
    assert source.built == ["10"]
    assert third.entities["invoices"].unchanged == 7, "same content, new form: still unchanged"
    source.built.clear()
    assert migration.full().entities["invoices"].unchanged == 7
    assert source.built == [], "the new form was remembered"
    invoice = source.records["invoices"][1]
    source.replace(attrs.evolve(invoice, reference="changed"))
    source.digests[invoice.key] = "changed form"
    assert migration.full().entities["invoices"].updated == 1
    assert [r.reference for r in target.rows["invoices"].values() if r.key == invoice.key] == [
        "changed"
    ]


class _Snapshotting(MemorySource):
    """A source that can say cheaply whether anything changed."""

    def __init__(self, records: dict) -> None:  # type: ignore[type-arg]
        super().__init__(records)
        self.version = "v1"
        self.extracted = 0

    @hookimpl
    def migrationkit_snapshot(self) -> str:
        return self.version

    @hookimpl
    def migrationkit_extract(self, entity: str, since: object) -> Iterator[object]:
        self.extracted += 1
        return super().migrationkit_extract(entity, since)


def test_a_run_over_an_unchanged_source_is_skipped_safely(store: SQLiteStateStore) -> None:
    source = _Snapshotting(company())
    migration, _s, _t = make(store, source)
    first = migration.full()
    source.extracted = 0
    again = migration.full()
    assert source.extracted == 0, "nothing was read: the source is what the last run moved"
    assert again.totals().unchanged == first.totals().created
    assert any("nothing is outstanding" in note for note in again.notes)
    assert migration.delta().totals().unchanged == first.totals().created

    source.version = "v2"  # the source changed: read it all again
    source.replace(attrs.evolve(source.records["invoices"][0], reference="changed"))
    assert migration.full().entities["invoices"].updated == 1
    assert source.extracted > 0

    migration.rollback()  # the target changed: the next full run must do the work again
    source.extracted = 0
    assert migration.full().totals().created == first.totals().created
    assert source.extracted > 0


class _ValidatedSnapshotting(_Snapshotting):
    """A snapshotting source that counts its validations (and can turn invalid)."""

    def __init__(self, records: dict) -> None:  # type: ignore[type-arg]
        super().__init__(records)
        self.validations = 0
        self.findings: list[Finding] = []

    @hookimpl
    def migrationkit_validate(self) -> list[Finding]:
        self.validations += 1
        return self.findings


def test_an_unchanged_source_is_not_validated_again(store: SQLiteStateStore) -> None:
    source = _ValidatedSnapshotting(company())
    migration, _s, target = make(store, source)
    migration.full()
    assert source.validations == 1
    migration.full()
    migration.delta()
    assert source.validations == 1, "the snapshot matched the last complete run: no re-read"

    source.version = "v2"  # changed, and now invalid: validated again, and refused
    source.findings = [Finding(code="HEADER_TOTALS", message="gross is not net + tax")]
    writes = len(target.calls)
    with pytest.raises(SourceInvalid, match="HEADER_TOTALS"):
        migration.full()
    assert source.validations == 2
    assert len(target.calls) == writes


def test_a_run_that_left_failures_is_never_skipped(store: SQLiteStateStore) -> None:
    source = _Snapshotting(company())
    migration, _s, target = make(store, source)
    target.reject = lambda entity, record: "no" if record.key == "customer:BETA" else None
    assert migration.full().totals().failed == 1
    target.reject = lambda entity, record: None
    source.extracted = 0
    again = migration.full()
    assert again.entities["contacts"].created == 1, "the failed record was retried"
    assert source.extracted > 0


class MarkingSource(MemorySource):
    """Keeps a change-feed mark, as a source with a real feed (Exact's Timestamps) does."""

    seen: list[str | None]

    @hookimpl
    def migrationkit_begin(self, run: RunContext) -> bool:
        self.seen.append(run.checkpoints.get("feed"))
        self.checkpoints = run.checkpoints
        return True

    @hookimpl
    def migrationkit_extract(self, entity: str, since: object) -> Iterator[Record | Rejected]:
        self.checkpoints.put("feed", f"{len(self.seen)}")
        if getattr(self, "fail", False) and entity == "invoices":
            raise RuntimeError("the feed broke")
        return super().migrationkit_extract(entity, since)


def test_connector_checkpoints_are_kept_only_by_successful_runs(store: SQLiteStateStore) -> None:
    source = MarkingSource(company())
    source.seen = []
    migration, _, _ = make(store, source=source)
    migration.full()
    migration.delta()
    assert source.seen == [None, "1"]
    source.fail = True
    with pytest.raises(RuntimeError, match="the feed broke"):
        migration.delta()
    source.fail = False
    migration.delta()
    assert source.seen == [None, "1", "2", "2"], "the failed run's mark was not kept"
    kept = store.checkpoints(migration.store.migration(*_identities(migration)).id)
    assert kept["source"] == {"feed": "4"} and kept["target"] == {}


def _identities(migration: Migration) -> tuple[str, str]:
    assert migration.source is not None
    return migration.source.identity(), migration.target.identity()
