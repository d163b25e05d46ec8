"""The client list and its history, in SQLite and in PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import postgres
from migrationkit import StateError
from migrationkit.portfolio import Client, ClientStatus, Paying, PortfolioError
from migrationkit.portfolio.model import now, slug_of
from migrationkit.portfolio.store import ClientStore, Database


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ClientStore]:
    if request.param == "sqlite":
        database = Database(path=tmp_path / "portfolio.db")
    else:
        url = request.getfixturevalue("postgres_url")
        database = Database(url=url, schema=postgres.new_schema("pf"))
    found = ClientStore(database)
    yield found
    found.close()


def _client(name: str) -> Client:
    return Client(name=name, slug=slug_of(name), source="csv:a", target="csv:b", status_at=now())


def test_clients_are_added_once_and_read_back(store: ClientStore) -> None:
    store.insert(_client("Beta"))
    added = store.insert(_client("Alpha"))
    assert (added.name, added.status, added.paying, added.hidden) == (
        "Alpha",
        ClientStatus.PENDING,
        Paying.PRACTICE,
        False,
    )
    assert [c.name for c in store.all()] == ["Alpha", "Beta"]
    with pytest.raises(PortfolioError, match="already a client 'Alpha'"):
        store.insert(_client("Alpha"))
    with pytest.raises(PortfolioError, match=r"no client 'Gamma' .*clients: Alpha, Beta"):
        store.get("Gamma")


def test_status_changes_follow_the_arrows_and_leave_a_history(store: ClientStore) -> None:
    store.insert(_client("Acme"))
    store.set_status("Acme", ClientStatus.MIGRATING, reason="full run", mode="full",
                     workflow_id="w1", progress=0)  # fmt: skip
    waiting = store.set_status(
        "Acme", ClientStatus.WAITING, reason="rate limit", waiting_until="2030-01-01T00:00:00"
    )
    assert (waiting.reason, waiting.waiting_until) == ("rate limit", "2030-01-01T00:00:00")
    back = store.set_status("Acme", ClientStatus.MIGRATING, reason="full run")
    assert back.waiting_until is None, "a client that stops waiting has no time to wait for"
    store.set_status("Acme", ClientStatus.ACTIVE, mode="full", moved=12, reconcile="ok")
    with pytest.raises(PortfolioError, match="is active; it cannot become waiting"):
        store.set_status("Acme", ClientStatus.WAITING)
    history = store.events("Acme")
    assert [e.status for e in history] == [
        ClientStatus.PENDING,
        ClientStatus.MIGRATING,
        ClientStatus.WAITING,
        ClientStatus.MIGRATING,
        ClientStatus.ACTIVE,
    ]
    assert (history[1].mode, history[1].workflow_id) == ("full", "w1")
    assert store.get("Acme").moved == 12


def test_updates_change_fields_but_never_the_status(store: ClientStore) -> None:
    store.insert(_client("Acme"))
    changed = store.update("Acme", hidden=True, email="x@y.co", paying=Paying.CLIENT)
    assert (changed.hidden, changed.email, changed.paying) == (True, "x@y.co", Paying.CLIENT)
    with pytest.raises(ValueError, match="set_status"):
        store.update("Acme", status=ClientStatus.ACTIVE)
    with pytest.raises(ValueError, match="unknown client fields"):
        store.update("Acme", colour="blue")


def test_a_removed_name_may_be_used_again_and_its_history_goes(store: ClientStore) -> None:
    store.insert(_client("Acme"))
    store.set_status("Acme", ClientStatus.REMOVED, reason="removed")
    store.forget_history("Acme")
    assert [e.status for e in store.events("Acme")] == [ClientStatus.REMOVED]
    assert store.insert(_client("Acme")).status is ClientStatus.PENDING


def test_a_file_that_is_not_a_portfolio_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "portfolio.db"
    path.write_text("no database here" * 100)
    with pytest.raises(StateError, match="is not a migrationkit portfolio"):
        Database(path=path)
