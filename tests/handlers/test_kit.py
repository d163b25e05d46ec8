"""The shared connector shape: the entity table, the handler base and the connector hooks."""

from __future__ import annotations

import hashlib
import importlib
import threading
from collections.abc import Sequence
from typing import Any

import attrs
import pytest

from migrationkit import (
    Contact,
    LoadRequest,
    LoadResult,
    MappingError,
    Operation,
    PluginRegistry,
    Removal,
    RemovalRequest,
    RemovalResult,
)
from migrationkit.core.capabilities import EntityCapabilities
from migrationkit.handlers import (
    Assembly,
    BatchHandler,
    Entity,
    EntityTable,
    Handler,
    HandlerConnector,
    Prepared,
    Unsendable,
    Update,
    idempotency_key,
    in_chunks,
)
from migrationkit.http import ConnectionLost

CONTACTS = Entity(name="contacts", endpoint="/Contacts", removal=(Removal.ARCHIVE,), batch_size=5)


class Refs:
    def __init__(self, ids: dict[tuple[str, str], str] | None = None) -> None:
        self.ids = ids or {}

    def target_id(self, entity: str, key: str) -> str | None:
        return self.ids.get((entity, key))

    def mapped(self, entity: str) -> bool:
        return False

    def record(self, entity: str, key: str) -> Any:
        return None


def _request(key: str, operation: Operation = Operation.CREATE, target: str | None = None) -> Any:
    return LoadRequest(
        record=Contact(key=key, name=f"Contact {key}", is_customer=True),
        operation=operation,
        idempotency_key=f"idem-{key}",
        target_id=target,
    )


class Target:
    """What a fake API holds: created records by id, and the calls it saw."""

    def __init__(self) -> None:
        self.held: dict[str, str] = {}
        self.calls: list[str] = []
        self.lose_next_answer = 0
        self.refuse_removal = False


class ContactHandler(Handler[Target]):
    entity = "contacts"
    system = "Fake"

    def backoff(self, attempt: int) -> None:
        pass

    def create(self, request: LoadRequest, refs: Any) -> LoadResult:
        self.ctx.calls.append(f"create {request.record.key}")
        target_id = f"T-{request.record.key}-{len(self.ctx.held)}"
        self.ctx.held[target_id] = request.record.key
        if self.ctx.lose_next_answer:
            self.ctx.lose_next_answer -= 1
            raise ConnectionLost("the connection broke after the request was sent")
        return LoadResult(ok=True, target_id=target_id)

    def update(self, request: LoadRequest, refs: Any) -> LoadResult:
        self.ctx.calls.append(f"update {request.target_id}")
        return LoadResult(ok=True, target_id=request.target_id)

    def find(self, request: LoadRequest, refs: Any) -> str | None:
        self.ctx.calls.append(f"find {request.record.key}")
        return next((t for t, k in self.ctx.held.items() if k == request.record.key), None)

    def remove(self, request: RemovalRequest) -> RemovalResult:
        self.ctx.calls.append(f"remove {request.target_id} {request.actions}")
        if self.ctx.refuse_removal:
            return RemovalResult(removed=False, reason="IN_USE", message="it is in use")
        self.ctx.held.pop(request.target_id, None)
        return RemovalResult(removed=True, action=request.actions[0])


def test_the_capabilities_are_derived_from_the_table_rows() -> None:
    table = EntityTable(
        CONTACTS,
        Entity(name="payments", update=Update.REPLACE, removal=(Removal.DELETE,)),
        Entity(name="journals", update=Update.NONE, create=True),
        Entity(name="company", create=False),
    )
    caps = table.capabilities()
    assert caps["contacts"] == EntityCapabilities(
        extract=True,
        create=True,
        update=True,
        removal=frozenset({Removal.ARCHIVE}),
        batch_size=5,
    )
    assert caps["payments"].update, "a record replaced on update can still be updated"
    assert not caps["journals"].update
    assert not caps["company"].loads
    with pytest.raises(ValueError, match="twice"):
        EntityTable(CONTACTS, CONTACTS)


def test_a_missing_reference_fails_that_record_without_a_call() -> None:
    class NeedsAccount(ContactHandler):
        def create(self, request: LoadRequest, refs: Any) -> LoadResult:
            self.resolve(refs, "ledger_accounts", "4000")
            return super().create(request, refs)

    target = Target()
    handler = NeedsAccount(target, CONTACTS)
    results = handler.load([_request("1")], Refs())
    assert results[0].reason == "MISSING_REFERENCE"
    assert "ledger_accounts 4000 has not loaded" in (results[0].message or "")
    assert target.calls == []


def test_a_lost_create_is_found_again_not_sent_twice() -> None:
    target = Target()
    target.lose_next_answer = 1
    result = ContactHandler(target, CONTACTS).load([_request("7")], Refs())[0]
    assert result.ok and result.target_id in target.held
    assert target.calls == ["create 7", "find 7"]
    assert "found, not sent twice" in result.warnings[0]
    assert list(target.held.values()) == ["7"]


def test_a_create_lost_every_time_stops_the_run_after_a_few_lookups() -> None:
    class Unlucky(ContactHandler):
        def find(self, request: LoadRequest, refs: Any) -> str | None:
            self.ctx.calls.append("find")
            return None

    target = Target()
    target.lose_next_answer = 10
    with pytest.raises(ConnectionLost):
        Unlucky(target, CONTACTS).load([_request("7")], Refs())
    assert target.calls.count("find") == 3


def test_an_update_in_place_is_an_update() -> None:
    target = Target()
    results = ContactHandler(target, CONTACTS).load(
        [_request("1", Operation.UPDATE, "T-1")], Refs()
    )
    assert results[0].target_id == "T-1"
    assert target.calls == ["update T-1"]


def test_a_replaced_update_removes_the_old_record_and_enters_the_new() -> None:
    spec = attrs.evolve(CONTACTS, update=Update.REPLACE)
    target = Target()
    target.held["T-old"] = "1"
    results = ContactHandler(target, spec).load(
        [_request("1", Operation.UPDATE, "T-old"), _request("2")], Refs()
    )
    assert [r.ok for r in results] == [True, True]
    assert target.calls[0] == f"remove T-old {(Removal.ARCHIVE,)}"
    assert "T-old" not in target.held and results[0].target_id in target.held


def test_a_replaced_update_whose_old_record_stays_enters_nothing() -> None:
    spec = attrs.evolve(CONTACTS, update=Update.REPLACE)
    target = Target()
    target.refuse_removal = True
    results = ContactHandler(target, spec).load(
        [_request("1", Operation.UPDATE, "T-old"), _request("2")], Refs()
    )
    assert not results[0].ok and results[0].reason == "IN_USE"
    assert "would not let the old one go: it is in use" in (results[0].message or "")
    assert results[1].ok
    assert [c for c in target.calls if c.startswith("create")] == ["create 2"]


def test_workers_write_concurrently_and_keep_the_order() -> None:
    target = Target()
    requests = [_request(str(n)) for n in range(8)]
    results = ContactHandler(target, CONTACTS, workers=4).load(requests, Refs())
    assert [target.held[str(r.target_id)] for r in results] == [str(n) for n in range(8)]


class BatchContacts(BatchHandler[Target]):
    entity = "contacts"

    def payload(self, request: LoadRequest, refs: Any) -> dict[str, str]:
        if request.record.key == "bad":
            self.resolve(refs, "contacts", "nobody")
        return {"Name": request.record.name}

    def send(self, ready: Sequence[Prepared], refs: Any) -> list[LoadResult]:
        self.ctx.calls.append(f"send {len(ready)}")
        return [
            LoadResult(ok=True, target_id=f"B{item.index}")
            if item.payload["Name"] != "Contact refused"
            else LoadResult.failed("VALIDATION", "Xero says no")
            for item in ready
        ]


def test_a_batch_maps_each_answer_back_to_its_record() -> None:
    target = Target()
    results = BatchContacts(target, CONTACTS).load(
        [_request("a"), _request("bad"), _request("refused"), _request("b")], Refs()
    )
    assert target.calls == ["send 3"]
    assert [(r.ok, r.target_id or r.reason) for r in results] == [
        (True, "B0"),
        (False, "MISSING_REFERENCE"),
        (False, "VALIDATION"),
        (True, "B3"),
    ]


class FakeConnector(HandlerConnector[Target]):
    name = "fake"
    system = "Fake"
    table = EntityTable(CONTACTS)


def test_the_connector_refuses_removals_its_table_does_not_offer_before_any_call() -> None:
    target = Target()
    connector = FakeConnector(target, [ContactHandler])
    asked = [
        RemovalRequest(key="1", target_id="T-1", actions=(Removal.DELETE,)),
        RemovalRequest(key="2", target_id="T-2", actions=(Removal.DELETE, Removal.ARCHIVE)),
    ]
    results = connector.migrationkit_remove("contacts", asked)
    assert results[0].reason == "REMOVAL_NOT_OFFERED"
    assert results[0].message == "asked to delete; Fake takes contacts back by archive"
    assert results[1].removed and results[1].action is Removal.ARCHIVE
    assert target.calls == [f"remove T-2 {(Removal.ARCHIVE,)}"]


def test_a_connector_must_handle_every_entity_of_its_table() -> None:
    class Wider(FakeConnector):
        table = EntityTable(CONTACTS, Entity(name="items"))

    with pytest.raises(TypeError, match="no handler for items"):
        Wider(Target(), [ContactHandler])


@pytest.mark.parametrize("name", ["sage-accounting", "xero"])
def test_the_built_in_api_connectors_declare_exactly_their_tables(name: str) -> None:
    module = importlib.import_module(f"migrationkit.connectors.{name.replace('-', '_')}.entities")
    info = PluginRegistry().info(name)
    assert dict(info.capabilities) == dict(module.TABLE.capabilities())


# -- a record the handler finds it cannot send -------------------------------------------------


class Picky(BatchContacts):
    def payload(self, request: LoadRequest, refs: Any) -> dict[str, str]:
        if request.record.key == "foreign":
            raise Unsendable("FOREIGN_BANK", "known only in base currency")
        if request.record.key == "odd":
            raise MappingError("Xero has no place for it")
        return super().payload(request, refs)


def test_a_record_the_handler_cannot_send_fails_with_its_own_reason() -> None:
    target = Target()
    results = Picky(target, CONTACTS).load(
        [_request("foreign"), _request("odd"), _request("a")], Refs()
    )
    assert [(r.reason, r.message) for r in results[:2]] == [
        ("FOREIGN_BANK", "known only in base currency"),
        ("NOT_EXPRESSIBLE", "Xero has no place for it"),
    ]
    assert results[2].ok and target.calls == ["send 1"]


def test_a_check_that_finds_an_unsendable_record_names_its_reason() -> None:
    class Checked(ContactHandler):
        def check(self, record: Any, refs: Any) -> list[Any]:
            raise Unsendable("FOREIGN_BANK", "known only in base currency")

    connector = FakeConnector(Target(), [Checked])
    [problem] = connector.migrationkit_check_record("contacts", _request("1").record, Refs())
    assert (problem.code, problem.message) == ("FOREIGN_BANK", "known only in base currency")


# -- batches over several requests, and their keys ---------------------------------------------


def test_chunks_go_several_at_once_and_answers_come_back_in_element_order() -> None:
    started: list[int] = []
    all_in_flight = threading.Event()

    def send(chunk: Sequence[int]) -> list[str]:
        started.append(chunk[0])
        if len(started) == 3:
            all_in_flight.set()
        if chunk[0] == 0:
            # The first chunk answers only once all three are in flight, so it answers last.
            assert all_in_flight.wait(5)
        return [f"answer {n}" for n in chunk]

    answers = in_chunks(list(range(7)), 3, send, in_flight=3)
    assert answers == [f"answer {n}" for n in range(7)]
    assert sorted(started) == [0, 3, 6]


def test_a_chunk_answered_with_too_few_results_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="a chunk of 2 elements got 1 answers"):
        in_chunks([1, 2, 3], 2, lambda chunk: chunk[:1])
    assert in_chunks([], 50, lambda chunk: pytest.fail("nothing to send")) == []


def test_an_idempotency_key_is_the_same_for_the_same_write_only() -> None:
    key = idempotency_key("tenant", "invoices", "PUT", keys=["a", "b"])
    material = b"tenant:invoices:PUT:a|b"
    assert key == "mk-" + hashlib.sha256(material).hexdigest()[:60]
    assert key == idempotency_key("tenant", "invoices", "PUT", keys=iter(["a", "b"]))
    others = {
        idempotency_key("tenant", "invoices", "POST", keys=["a", "b"]),
        idempotency_key("tenant", "invoices", "PUT", keys=["b", "a"]),
        idempotency_key("other", "invoices", "PUT", keys=["a", "b"]),
    }
    assert key not in others and len(others) == 3
    assert len(key) <= 128


# -- a record made of several target records ---------------------------------------------------


def _part(target: Target, part_id: str, keep: bool = False) -> Any:
    def take_back() -> RemovalResult:
        target.calls.append(f"take back {part_id}")
        if keep:
            return RemovalResult(removed=False, reason="IN_USE", message="it is paid")
        return RemovalResult(removed=True, action=Removal.VOID)

    return take_back


def test_an_assembly_that_lands_whole_names_every_part() -> None:
    target = Target()
    assembly = Assembly()
    assembly.add("INV", _part(target, "INV"))
    assembly.add("bt:BT", _part(target, "bt:BT"))
    assert assembly.target_id == "INV+bt:BT" and target.calls == []


def test_an_assembly_that_fails_takes_back_what_landed_newest_first() -> None:
    target = Target()
    assembly = Assembly()
    for part in ("J", "bt:1", "inv:2"):
        assembly.add(part, _part(target, part))
    failed = assembly.fail(LoadResult.failed("ROUTING_REFUSED", "Xero: no"))
    assert (failed.reason, failed.message) == ("ROUTING_REFUSED", "Xero: no")
    assert target.calls == ["take back inv:2", "take back bt:1", "take back J"]
    assert assembly.ids == []


def test_an_assembly_stops_at_a_part_the_target_keeps_and_says_so() -> None:
    target = Target()
    assembly = Assembly()
    assembly.add("INV", _part(target, "INV"))
    assembly.add("BT", _part(target, "BT", keep=True))
    failed = assembly.fail(LoadResult.failed("REFUSED", "Xero: no"))
    assert target.calls == ["take back BT"], "what came before the kept part stays whole"
    assert failed.message == (
        "Xero: no; BT stays on the target, which would not take it back: it is paid"
    )


def test_a_change_feed_is_asked_from_the_clock_margin_before_since_in_utc() -> None:
    import datetime as dt

    from migrationkit.handlers import CLOCK_MARGIN, reach_back

    began = dt.datetime(2026, 12, 2, 16, 0, 0, tzinfo=dt.UTC)
    assert reach_back(began) == began - CLOCK_MARGIN
    assert dt.timedelta(minutes=1) <= CLOCK_MARGIN, "clocks differ by more than seconds"
    # A moment in another zone is the same instant in UTC; one without a zone is UTC.
    amsterdam = began.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert reach_back(amsterdam) == reach_back(began)
    assert reach_back(amsterdam).tzinfo == dt.UTC
    assert reach_back(began.replace(tzinfo=None)) == reach_back(began)
