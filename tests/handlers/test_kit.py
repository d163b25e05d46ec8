"""The shared connector shape: the entity table, the handler base and the connector hooks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import pytest

from migrationkit import (
    Contact,
    LoadRequest,
    LoadResult,
    Operation,
    PluginRegistry,
    Removal,
    RemovalRequest,
    RemovalResult,
)
from migrationkit.core.capabilities import EntityCapabilities
from migrationkit.handlers import (
    BatchHandler,
    Entity,
    EntityTable,
    Handler,
    HandlerConnector,
    Prepared,
    Update,
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


def test_the_built_in_api_connectors_declare_exactly_their_tables() -> None:
    from migrationkit.connectors.sage_accounting.entities import TABLE

    info = PluginRegistry().info("sage-accounting")
    assert dict(info.capabilities) == dict(TABLE.capabilities())
