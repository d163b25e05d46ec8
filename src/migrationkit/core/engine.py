"""The migration engine: plan, demo, full, delta, rollback and remigrate.

One :class:`Migration` joins a source connector, a target connector and a state store. Every
mode that writes runs inside a *run* recorded in the store; a run stopped by a crash, ``kill -9``
or Ctrl-C is resumed by running the same mode again, and intents left without an outcome are
resolved on the target (``migrationkit_find_existing``) before the record is written again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from .capabilities import EntityCapabilities
from .contract import (
    Checkpoints,
    DeferredRecord,
    KnownDigests,
    LoadRequest,
    Operation,
    Problem,
    Rejected,
    RunContext,
)
from .errors import CapabilityError, Interrupted, MigrationKitError, is_retriable
from .findings import Finding
from .fingerprint import fingerprint
from .model import ENTITY_ORDER, Record, Reference
from .options import (
    HISTORY_MODES,
    LOAD_MODES,
    MASTER_ENTITIES,
    MigrationOptions,
    RunObserver,
    SilentObserver,
)
from .plugins import Connector
from .reconcile import Reconciliation, reconcile
from .removal import LOOKUP_CHUNK, Removals
from .report import Counts, EntityPlan, Plan, RunReport
from .resolver import PlanResolver, Resolver
from .run import Pending, RunState, describe_error, few_collections
from .run import rejected_row as _rejected
from .run import skipped_row as _skip
from .sampling import select_sample
from .state import (
    IdEntry,
    Intent,
    MigrationInfo,
    Outcome,
    OutcomeRow,
    RunStatus,
    StateStore,
)
from .unchanged import Unchanged

__all__ = [
    "HISTORY_MODES",
    "MASTER_ENTITIES",
    "Migration",
    "MigrationOptions",
    "RunObserver",
    "SourceInvalid",
]

_SIDES = ("source", "target")


class SourceInvalid(MigrationKitError):
    """The source failed validation; the findings say why."""

    def __init__(self, message: str, findings: Sequence[Finding]) -> None:
        super().__init__(message)
        self.findings = list(findings)


class Migration(Removals, Unchanged):
    """A migration from one source to one target, with its state.

    Each mode is a method; every run returns a :class:`~migrationkit.RunReport`.
    """

    def __init__(
        self,
        source: Connector | None,
        target: Connector,
        store: StateStore,
        options: MigrationOptions | None = None,
        observer: RunObserver | None = None,
        on_batch: Callable[[str, int], None] | None = None,
    ) -> None:
        self.source = source
        self.target = target
        self.store = store
        self.options = options or MigrationOptions()
        self.observer: RunObserver = observer or SilentObserver()
        self.on_batch = on_batch
        """Called with the entity and the number of records after each batch's outcomes are
        committed (loads and removals): where a caller may checkpoint, or pause the run."""

    # ------------------------------------------------------------------------------------------
    # what moves
    # ------------------------------------------------------------------------------------------

    def entities(self) -> list[str]:
        """The entities this migration moves, in load order."""
        allowed = HISTORY_MODES[self.options.history_mode]
        chosen = self.options.entities
        return [
            entity
            for entity in ENTITY_ORDER
            if entity in allowed
            and (chosen is None or entity in chosen)
            and (self.source is None or self.source.capabilities(entity).extract)
        ]

    def _require_source(self) -> Connector:
        if self.source is None:
            raise CapabilityError("this mode needs a source")
        return self.source

    def refusal(self, mode: str) -> str | None:
        """Why the target cannot serve ``mode``, or None when it can."""
        entities = self.entities() if self.source is not None else list(ENTITY_ORDER)
        caps = [self.target.capabilities(e) for e in entities]
        name = self.target.name
        if mode in ("demo", "full", "remigrate") and not any(c.create for c in caps):
            return f"{name} cannot create any of the entities the source provides"
        if mode == "delta" and not any(c.create or c.update for c in caps):
            return f"{name} can neither create nor update records, so a delta cannot move changes"
        if mode in ("rollback", "remigrate") and not any(
            self.target.capabilities(e).removal for e in ENTITY_ORDER
        ):
            return f"{name} cannot delete, void or archive anything, so nothing can be rolled back"
        in_load = mode in ("demo", "full", "delta", "remigrate", "plan")
        if in_load and self.source is not None and not self.entities():
            return f"{self.source.name} provides none of the entities asked for"
        return None

    def _refuse(self, mode: str) -> None:
        reason = self.refusal(mode)
        if reason:
            raise CapabilityError(f"cannot run {mode}: {reason}")

    # ------------------------------------------------------------------------------------------
    # validate and plan
    # ------------------------------------------------------------------------------------------

    def validate(self) -> list[Finding]:
        """Every finding the source's validator reports (empty when it has none)."""
        source = self._require_source()
        if not source.implements("migrationkit_validate"):
            return []
        return list(source.validate())

    def _validate_first(self) -> list[Finding]:
        if not self.options.validate or self.source is None:
            return []
        self.observer.note("Validating the source")
        findings = self.validate()
        errors = [f for f in findings if f.is_error]
        if errors:
            codes = sorted({f.code for f in errors})
            raise SourceInvalid(
                f"the source has {len(errors)} validation error(s) ({', '.join(codes[:5])}); "
                "run `migrationkit validate` to see them, fix the source, then run again",
                findings,
            )
        return findings

    def plan(self) -> Plan:
        """What would move, what the target can do with it, and what cannot move and why."""
        source = self._require_source()
        findings = self.validate() if self.options.validate else []
        known: dict[str, set[str]] = {}
        entity_plans = []
        resolver = PlanResolver(known, self.options.mappings)
        for entity in self.entities():
            self.observer.entity_started(entity, "planning")
            caps = self.target.capabilities(entity)
            count = rejected = excluded = mapped = 0
            problems: defaultdict[str, list[str]] = defaultdict(list)
            keys = known.setdefault(entity, set())
            for item in source.extract(entity):
                count += 1
                if isinstance(item, Rejected):
                    rejected += 1
                    problems[item.code].append(item.key)
                    continue
                if self._excluded(item):
                    excluded += 1
                    continue
                resolver.remember(item)
                keys.add(item.key)
                if item.key in self.options.mappings.get(entity, {}):
                    mapped += 1
                    continue
                if not caps.create:
                    continue
                for problem in self._problems(entity, item, caps, resolver, {}):
                    problems[problem.code].append(item.key)
                if count % 1000 == 0:
                    self.observer.advanced(entity, 1000)
            self.observer.advanced(entity, count % 1000)
            entity_plans.append(
                EntityPlan(
                    entity=entity,
                    count=count,
                    rejected=rejected,
                    excluded=excluded,
                    mapped=mapped,
                    capabilities=caps,
                    moves=caps.create,
                    reason=None if caps.create else f"{self.target.name} cannot create {entity}",
                    problems={code: (len(keys_), keys_[:5]) for code, keys_ in problems.items()},
                )
            )
        refused = {
            mode: reason
            for mode in ("demo", "full", "delta", "rollback", "remigrate")
            if (reason := self.refusal(mode))
        }
        return Plan(
            source=source.name,
            target=self.target.name,
            history_mode=self.options.history_mode,
            entities=entity_plans,
            findings=findings,
            refused=refused,
            notes=tuple(self._deletion_notes(source, self.entities())),
        )

    # ------------------------------------------------------------------------------------------
    # runs
    # ------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _run(self, mode: str) -> Iterator[RunState]:
        source_identity = self.source.identity() if self.source else None
        with self.store.lock(), few_collections():
            migration = self._migration(source_identity)
            runs = self.store.runs(migration.id)
            last = runs[-1] if runs else None
            resumed = False
            if last and last.status is not RunStatus.SUCCEEDED and last.mode == mode:
                run = self.store.resume_run(last.id)
                resumed = True
                self.observer.note(f"Resuming run {run.id} ({mode}), stopped before it finished")
            else:
                if last and last.status is RunStatus.RUNNING:
                    self.store.finish_run(last.id, RunStatus.INTERRUPTED, last.summary or {})
                run = self.store.start_run(migration.id, mode, self._options_summary())
            context = RunContext(
                run_id=str(run.id),
                mode=mode,
                resumed=resumed,
                preserve_ids=self.options.preserve_ids,
            )
            kept = self.store.checkpoints(migration.id)
            contexts = {
                side: attrs.evolve(context, checkpoints=Checkpoints(kept.get(side)))
                for side in _SIDES
            }
            state = RunState(
                migration=migration,
                run=run,
                context=context,
                resolver=Resolver(self.store, migration.id, self.options.mappings),
            )
            started = []
            status = RunStatus.FAILED
            error: BaseException | None = None
            try:
                for side, connector in zip(_SIDES, (self.source, self.target), strict=True):
                    if connector is not None:
                        connector.begin(contexts[side])
                        started.append((side, connector))
                yield state
                status = RunStatus.SUCCEEDED
            except KeyboardInterrupt as exc:
                status, error = RunStatus.INTERRUPTED, exc
                raise Interrupted(
                    f"run {run.id} interrupted; run the same command again to resume it"
                ) from None
            except BaseException as exc:
                error = exc
                raise
            finally:
                for side, connector in started:
                    with contextlib.suppress(Exception):
                        connector.finish(contexts[side], status is RunStatus.SUCCEEDED)
                state.report = self._report(state, status, error)
                succeeded = status is RunStatus.SUCCEEDED
                self.store.finish_run(
                    run.id,
                    status,
                    state.report.to_dict(),
                    watermark=state.watermark if succeeded else None,
                    snapshot=state.snapshot if succeeded else None,
                    checkpoints=(
                        {side: c.checkpoints.merged() for side, c in contexts.items()}
                        if succeeded
                        else None
                    ),
                )
                if self.options.report_dir:
                    from .report import write_reports

                    write_reports(state.report, self.options.report_dir)

    def reconcile(self, as_of: dt.date | None = None) -> Reconciliation:
        """Trial balance, receivables, payables and bank, source against target, explained."""
        source = self._require_source()
        with self.store.lock():
            migration = self._migration(source.identity())
        self.observer.note("Reconciling the source with what the target holds")
        return reconcile(
            source, self.target, self.store, migration.id, entities=self.entities(), as_of=as_of
        )

    def _reconciled(self, report: RunReport) -> RunReport:
        """Attach a reconciliation to a successful run's report when asked to."""
        if not self.options.reconcile or report.status != "succeeded" or self.source is None:
            return report
        report.reconciliation = self.reconcile()
        self.store.finish_run(report.run_id, RunStatus.SUCCEEDED, report.to_dict())
        if self.options.report_dir:
            from .report import write_reports

            write_reports(report, self.options.report_dir)
        return report

    def _migration(self, source_identity: str | None) -> MigrationInfo:
        target_identity = self.target.identity()
        if source_identity is not None:
            return self.store.migration(source_identity, target_identity)
        candidates = [m for m in self.store.migrations() if m.target == target_identity]
        if not candidates:
            raise CapabilityError(
                f"the state store {self.store.path} holds no migration to {target_identity}"
            )
        if len(candidates) > 1:
            sources = "; ".join(m.source for m in candidates)
            raise CapabilityError(
                f"several migrations write to {target_identity} ({sources}); name the source too"
            )
        return candidates[0]

    def _options_summary(self) -> dict[str, Any]:
        return {
            "history_mode": self.options.history_mode,
            "cutoff": self.options.cutoff.isoformat() if self.options.cutoff else None,
            "sample": self.options.sample,
            "preserve_ids": self.options.preserve_ids,
        }

    def _report(self, state: RunState, status: RunStatus, error: BaseException | None) -> RunReport:
        stored = self.store.outcome_counts(state.run.id)
        entities: dict[str, Counts] = {}
        for entity in ENTITY_ORDER:
            counts = state.counts.get(entity, Counts())
            from_store = stored.get(entity, {})
            merged = attrs.evolve(
                counts,
                created=from_store.get("created", 0),
                updated=from_store.get("updated", 0),
                skipped=from_store.get("skipped", 0),
                failed=from_store.get("failed", 0),
                deleted=from_store.get("deleted", 0),
                remaining=from_store.get("remaining", 0),
                mapped=from_store.get("mapped", 0),
            )
            if merged.any():
                entities[entity] = merged
        notes = list(state.notes)
        if state.unresolved:
            notes.append(
                f"{state.unresolved} write(s) of an interrupted run could not be checked on the "
                "target yet; they are checked when their records are migrated again"
            )
        return RunReport(
            run_id=state.run.id,
            mode=state.run.mode,
            status=str(status),
            source=self.source.name if self.source else None,
            target=self.target.name,
            started_at=state.run.started_at,
            seconds=round(time.monotonic() - state.started, 3),
            entities=entities,
            problems=list(
                self.store.outcomes(
                    state.run.id, (Outcome.SKIPPED, Outcome.FAILED, Outcome.REMAINING)
                )
            ),
            notes=notes,
            error=describe_error(error),
            error_retriable=None if error is None else is_retriable(error),
        )

    # -- load modes ----------------------------------------------------------------------------

    def full(self) -> RunReport:
        """Migrate everything; what earlier runs moved is matched through the id map."""
        self._require_source()
        self._refuse("full")
        snapshot = self._validate_unless_unchanged()
        with self._run("full") as state:
            if not self._up_to_date(state, snapshot):
                for entity in self.entities():
                    self._load_changed(state, entity)
        assert state.report is not None
        return self._reconciled(state.report)

    def demo(self, sample: int | None = None) -> RunReport:
        """Migrate a sample of each entity, closed under references, chosen deterministically."""
        source = self._require_source()
        self._refuse("demo")
        self._validate_first()
        size = self.options.sample if sample is None else sample
        entities = self.entities()
        self.observer.note(f"Choosing {size} records per entity and everything they refer to")
        chosen = select_sample(
            lambda e: (r for r in source.extract(e) if not self._excluded(r)),
            entities,
            size,
            self.options.seed,
        )
        with self._run("demo") as state:
            for entity in entities:
                keys = chosen.get(entity, set())
                records = (
                    item for item in source.extract(entity, deferred=True) if item.key in keys
                )
                self._load_entity(state, entity, records)
        assert state.report is not None
        return self._reconciled(state.report)

    def delta(self) -> RunReport:
        """Move what changed at the source since the last successful run, deletions included."""
        source = self._require_source()
        self._refuse("delta")
        with self.store.lock():
            migration = self._migration(source.identity())
            last = self.store.last_successful_run(migration.id, LOAD_MODES)
        if last is None:
            raise CapabilityError(
                "a delta moves changes since the last successful run, and there is none yet; "
                "run demo or migrate first"
            )
        since = dt.datetime.fromisoformat(last.watermark) if last.watermark else None
        snapshot = self._validate_unless_unchanged()
        with self._run("delta") as state:
            if not self._up_to_date(state, snapshot):
                self._move_changes(state, since)
        assert state.report is not None
        return self._reconciled(state.report)

    def _move_changes(self, state: RunState, since: dt.datetime | None) -> None:
        source = self._require_source()
        complete: set[str] = set()
        for entity in self.entities():
            by_date = since is not None and source.capabilities(entity).modified_since
            if not by_date:
                complete.add(entity)
            elif reason := source.deletions_unlisted(entity, since):
                complete.add(entity)  # loaded by date; what went is found by comparing all
                state.notes.append(f"{entity}: {reason}; deletions found by comparing every record")
            self._load_changed(state, entity, since if by_date else None, mark_seen=not by_date)
        for entity in reversed(self.entities()):
            self._remove_deleted(state, entity, since, complete)

    def _excluded(self, record: Record | Rejected) -> bool:
        cutoff = self.options.cutoff
        if cutoff is None or isinstance(record, Rejected):
            return False
        date = getattr(record, "date", None)
        return isinstance(date, dt.date) and record.entity not in MASTER_ENTITIES and date > cutoff

    def _load_changed(
        self,
        state: RunState,
        entity: str,
        since: dt.datetime | None = None,
        *,
        mark_seen: bool = False,
    ) -> None:
        """Load what the source holds of ``entity``; a source with a change feed leaves out
        what the target holds unchanged (it is counted, not handled)."""
        source = self._require_source()
        known = None
        if source.takes_known:
            known = KnownDigests(self.store.known_digests(state.migration.id, entity, state.run.id))
        records = source.extract(entity, since, deferred=True, known=known)
        self._load_entity(state, entity, records, mark_seen=mark_seen, known=known)

    def _load_entity(
        self,
        state: RunState,
        entity: str,
        records: Iterable[Record | Rejected],
        *,
        mark_seen: bool = False,
        known: KnownDigests | None = None,
    ) -> None:
        caps = self.target.capabilities(entity)
        counts = state.counts[entity]
        limit = min(caps.batch_size, self.options.batch_size or caps.batch_size)
        self.observer.entity_started(entity, "loading")
        batch: list[Pending] = []
        batch_keys: set[str] = set()

        def flush() -> None:
            if batch:
                self._write_batch(state, entity, batch)
                batch.clear()
                batch_keys.clear()

        chunk: list[Record | Rejected] = []
        given: set[str] | None = None
        if known is not None and mark_seen:
            # What a delta needs to tell what vanished without reading everything again.
            given = set()
            state.fed[entity] = (known, given)
        for item in records:
            chunk.append(item)
            if given is not None:
                given.add(item.key)
            if len(chunk) >= LOOKUP_CHUNK:
                self._classify(
                    state, entity, caps, chunk, batch, batch_keys, flush, limit, mark_seen
                )
                self.observer.advanced(entity, len(chunk))
                chunk = []
        if chunk:
            self._classify(state, entity, caps, chunk, batch, batch_keys, flush, limit, mark_seen)
            self.observer.advanced(entity, len(chunk))
        flush()
        if known is not None and known.matched:
            # Left out by the source as held unchanged: every one a record this migration created.
            counts.extracted += known.matched
            counts.unchanged += known.matched
            state.seen_created[entity] += known.matched if mark_seen else 0
            self.observer.advanced(entity, known.matched)
        self.observer.entity_finished(entity, counts)

    def _classify(
        self,
        state: RunState,
        entity: str,
        caps: EntityCapabilities,
        chunk: list[Record | Rejected],
        batch: list[Pending],
        batch_keys: set[str],
        flush: Any,
        limit: int,
        mark_seen: bool,
    ) -> None:
        counts = state.counts[entity]
        counts.extracted += len(chunk)
        outcomes: list[OutcomeRow] = []
        records: list[Record] = []
        deferred: list[DeferredRecord] = []
        for item in chunk:
            if isinstance(item, DeferredRecord):
                deferred.append(item)
            elif isinstance(item, Rejected):
                outcomes.append(_rejected(entity, item))
                state.problems[(entity, item.key)] = item.code
            elif self._excluded(item):
                counts.excluded += 1
            else:
                records.append(item)
        digests: dict[str, str] = {}
        run_id = state.run.id
        if deferred:
            settled = self.store.settled_digests(
                state.migration.id, entity, [d.key for d in deferred]
            )
            for announced in deferred:
                known = settled.get(announced.key)
                if mark_seen and known is not None and known[1] is not None:
                    state.seen_created[entity] += known[0] == announced.digest
                if known is not None and known[0] == announced.digest:
                    # The source form is byte for byte what was last written: nothing to build.
                    if known[1] != run_id and known[2] != run_id:
                        counts.unchanged += 1
                    continue
                loaded = announced.load()
                if isinstance(loaded, Rejected):
                    outcomes.append(_rejected(entity, loaded))
                    state.problems[(entity, loaded.key)] = loaded.code
                elif self._excluded(loaded):
                    counts.excluded += 1
                else:
                    records.append(loaded)
                    digests[loaded.key] = announced.digest
        entries = self.store.lookup(state.migration.id, entity, [r.key for r in records])
        if mark_seen:
            # Counted so that a delta can tell, without listing keys, that nothing vanished.
            state.seen_created[entity] += sum(
                1 for e in entries.values() if e.state == "active" and e.created_run is not None
            )
        writes = self._changes(state, entity, caps, records, entries, outcomes, digests)
        if writes:
            self._queue(state, entity, caps, writes, batch, batch_keys, flush, limit, outcomes)
        if outcomes:
            self.store.record_outcomes(state.migration.id, state.run.id, outcomes)

    def _changes(
        self,
        state: RunState,
        entity: str,
        caps: EntityCapabilities,
        records: list[Record],
        entries: Mapping[str, IdEntry],
        outcomes: list[OutcomeRow],
        digests: Mapping[str, str],
    ) -> list[Pending]:
        """Sort a chunk into unchanged, mapped and skipped records, and the writes to make."""
        counts = state.counts[entity]
        mapped = self.options.mappings.get(entity, {})
        run_id = state.run.id
        remember = state.resolver.remember
        writes: list[Pending] = []
        for record in records:
            remember(record)
            content = fingerprint(record)
            digest = digests.get(record.key)
            entry = entries.get(record.key)
            if entry is not None and entry.pending_op is not None:
                entry = self._settle(state, entity, record, entry)
            if record.key in mapped:
                outcomes.append(
                    OutcomeRow(
                        entity=entity,
                        source_key=record.key,
                        outcome=Outcome.MAPPED,
                        target_id=mapped[record.key],
                        fingerprint=content,
                        digest=digest,
                    )
                )
            elif entry is not None and entry.state == "active":
                if entry.fingerprint == content:
                    if entry.created_run != run_id and entry.updated_run != run_id:
                        counts.unchanged += 1
                    if digest is not None and digest != entry.source_digest:
                        # Same content from a new source form: remember the new form.
                        outcomes.append(
                            OutcomeRow(
                                entity=entity,
                                source_key=record.key,
                                outcome=Outcome.UNCHANGED,
                                digest=digest,
                            )
                        )
                elif caps.update:
                    writes.append(Pending(record, content, Operation.UPDATE, entry, digest))
                else:
                    outcomes.append(
                        _skip(
                            entity,
                            record.key,
                            "TARGET_CANNOT_UPDATE",
                            f"changed since it was migrated, but {self.target.name} "
                            f"cannot update {entity}",
                        )
                    )
            elif caps.create:
                writes.append(Pending(record, content, Operation.CREATE, None, digest))
            else:
                outcomes.append(
                    _skip(
                        entity,
                        record.key,
                        "TARGET_CANNOT_CREATE",
                        f"{self.target.name} cannot create {entity}",
                    )
                )
                state.problems[(entity, record.key)] = "TARGET_CANNOT_CREATE"
        return writes

    def _queue(
        self,
        state: RunState,
        entity: str,
        caps: EntityCapabilities,
        writes: list[Pending],
        batch: list[Pending],
        batch_keys: set[str],
        flush: Any,
        limit: int,
        outcomes: list[OutcomeRow],
    ) -> None:
        """Check each write's references and rules, then add it to the batch."""
        resolver = state.resolver
        refs = {ref for pending in writes for ref in pending.record.references()}
        resolver.prefetch(refs)
        # References are checked once per chunk, not once per record: most chunks miss none.
        missing = {ref for ref in refs if resolver.target_id(*ref) is None}
        refers_inward = any(ref_entity == entity for ref_entity, _ in refs)
        for pending in writes:
            record = pending.record
            if refers_inward and any(
                ref_entity == entity and key in batch_keys
                for ref_entity, key in record.references()
            ):
                # It refers to a record of the same batch: that one must exist first.
                flush()
                missing = {ref for ref in missing if resolver.target_id(*ref) is None}
            problems = self._problems(entity, record, caps, resolver, state.problems, missing)
            if problems:
                first = problems[0]
                outcomes.append(
                    _skip(entity, record.key, first.code, "; ".join(p.message for p in problems))
                )
                state.problems[(entity, record.key)] = first.code
                if pending.operation is Operation.CREATE:
                    resolver.note(entity, record.key, None)
                continue
            batch.append(pending)
            batch_keys.add(record.key)
            if len(batch) >= limit:
                flush()

    def _problems(
        self,
        entity: str,
        record: Record,
        caps: EntityCapabilities,
        resolver: Resolver,
        known_problems: Mapping[Reference, str],
        missing_refs: set[Reference] | None = None,
    ) -> list[Problem]:
        problems: list[Problem] = []
        missing = []
        if missing_refs is None or missing_refs:
            for ref_entity, key in record.references():
                if (missing_refs is None or (ref_entity, key) in missing_refs) and (
                    resolver.target_id(ref_entity, key) is None
                ):
                    why = known_problems.get((ref_entity, key))
                    missing.append(f"{ref_entity} {key}" + (f" (skipped: {why})" if why else ""))
        if missing:
            problems.append(
                Problem(
                    code="MISSING_REFERENCE",
                    message="refers to " + ", ".join(missing) + ", which did not load",
                )
            )
        if caps.max_code_length:
            code = getattr(record, "code", None)
            if isinstance(code, str) and len(code) > caps.max_code_length:
                problems.append(
                    Problem(
                        code="CODE_TOO_LONG",
                        message=f"code {code!r} is longer than the {caps.max_code_length} "
                        f"characters {self.target.name} allows",
                    )
                )
        if caps.max_lines:
            lines = getattr(record, "lines", None)
            if lines is not None and len(lines) > caps.max_lines:
                problems.append(
                    Problem(
                        code="TOO_MANY_LINES",
                        message=f"has {len(lines)} lines; {self.target.name} allows "
                        f"{caps.max_lines}",
                    )
                )
        if not missing and self._checks_records:
            problems.extend(self.target.check_record(entity, record, resolver))
        return problems

    @functools.cached_property
    def _checks_records(self) -> bool:
        return self.target.implements("migrationkit_check_record")

    def _settle(
        self, state: RunState, entity: str, record: Record, entry: IdEntry
    ) -> IdEntry | None:
        """Resolve an intent an interrupted run left without an outcome, before writing again."""
        run_for = entry.pending_run or state.run.id
        if entry.pending_op == Operation.CREATE:
            request = LoadRequest(
                record=record, operation=Operation.CREATE, idempotency_key=entry.attempt or ""
            )
            found = self.target.find_existing(entity, request, state.resolver)
            if found is not None:
                self.store.record_outcomes(
                    state.migration.id,
                    run_for,
                    [
                        OutcomeRow(
                            entity=entity,
                            source_key=entry.source_key,
                            outcome=Outcome.CREATED,
                            target_id=found,
                            fingerprint=entry.pending_fingerprint,
                        )
                    ],
                )
                state.resolver.note(entity, entry.source_key, found)
                return attrs.evolve(
                    entry,
                    state="active",
                    target_id=found,
                    fingerprint=entry.pending_fingerprint,
                    created_run=run_for,
                    pending_op=None,
                )
            self._clear(state, entity, entry)
            return None if entry.state == "pending" else attrs.evolve(entry, pending_op=None)
        # An update may or may not have landed: the fingerprint still says "changed", so it is
        # simply sent again (updates are idempotent).
        self._clear(state, entity, entry)
        return attrs.evolve(entry, pending_op=None)

    def _clear(self, state: RunState, entity: str, entry: IdEntry) -> None:
        self.store.clear_intent(state.migration.id, entity, entry.source_key)

    def _write_batch(self, state: RunState, entity: str, batch: list[Pending]) -> None:
        intents = []
        requests = []
        # An attempt id hashes migration, run, entity, key, operation and content: the same on
        # every resume of the same write. The common prefix is hashed once per batch.
        prefix = hashlib.blake2b(
            f"{state.migration.id}:{state.run.id}:{entity}:".encode(), digest_size=16
        )
        for pending in batch:
            hasher = prefix.copy()
            hasher.update(
                f"{pending.record.key}:{pending.operation}:{pending.fingerprint}".encode()
            )
            attempt = hasher.hexdigest()
            target_id = pending.entry.target_id if pending.entry else None
            intents.append(
                Intent(
                    entity=entity,
                    source_key=pending.record.key,
                    operation=str(pending.operation),
                    fingerprint=pending.fingerprint,
                    attempt=attempt,
                    target_id=target_id,
                )
            )
            requests.append(
                LoadRequest(
                    record=pending.record,
                    operation=pending.operation,
                    idempotency_key=attempt,
                    target_id=target_id,
                )
            )
        self.store.record_intents(state.migration.id, state.run.id, intents)
        results = self.target.load(entity, requests, state.resolver)
        outcomes = []
        for pending, request, result in zip(batch, requests, results, strict=True):
            key = pending.record.key
            if result.ok:
                created = pending.operation is Operation.CREATE
                target_id = result.target_id or request.target_id
                if result.existing:
                    kind = Outcome.MAPPED
                else:
                    kind = Outcome.CREATED if created else Outcome.UPDATED
                outcomes.append(
                    OutcomeRow(
                        entity=entity,
                        source_key=key,
                        outcome=kind,
                        target_id=target_id,
                        fingerprint=pending.fingerprint,
                        digest=pending.digest,
                        message="; ".join(result.warnings) or None,
                    )
                )
                state.resolver.note(entity, key, target_id)
            else:
                outcomes.append(
                    OutcomeRow(
                        entity=entity,
                        source_key=key,
                        outcome=Outcome.FAILED,
                        reason=result.reason or "TARGET_REJECTED",
                        message=result.message,
                        response=result.response,
                    )
                )
                state.problems[(entity, key)] = result.reason or "TARGET_REJECTED"
                if pending.operation is Operation.CREATE:
                    state.resolver.note(entity, key, None)
        self.store.record_outcomes(state.migration.id, state.run.id, outcomes)
        if self.on_batch is not None:
            self.on_batch(entity, len(batch))

    def rollback(self, run_id: int | None = None) -> RunReport:
        """Take back what one run (or, with ``run_id`` None, the whole migration) created.

        Runs in reverse load order, so payments go before the invoices they settle. What the
        target will not let go is reported as remaining.
        """
        self._refuse("rollback")
        with self._run("rollback") as state:
            pending = [
                e for e in self.store.pending(state.migration.id) if e.pending_op == "create"
            ]
            if pending:
                state.notes.append(
                    f"{len(pending)} record(s) from an interrupted run may be on the target; run "
                    "the migration again to check them, then roll back"
                )
            for entity in reversed(ENTITY_ORDER):
                entries = self.store.created_by(state.migration.id, run_id, entity)
                if entries:
                    self._remove(state, entity, entries, why="rolled back")
        assert state.report is not None
        return state.report

    def remigrate(self) -> tuple[RunReport, RunReport]:
        """Roll back everything the migration created, then migrate everything again."""
        self._require_source()
        self._refuse("remigrate")
        self._validate_first()
        removed = self.rollback(None)
        with self._run("remigrate") as state:
            for entity in self.entities():
                self._load_changed(state, entity)
        assert state.report is not None
        return removed, self._reconciled(state.report)
