"""The client model: the status machine's arrows, names on disk, what list --json prints."""

from __future__ import annotations

import pytest

from migrationkit.portfolio import Client, ClientStatus, Paying, PortfolioError
from migrationkit.portfolio.model import check_transition, slug_of

S = ClientStatus
ARROWS = {
    (S.PENDING, S.MIGRATING),
    (S.PENDING, S.REMOVED),
    (S.MIGRATING, S.MIGRATING),
    (S.MIGRATING, S.ACTIVE),
    (S.MIGRATING, S.FAILED),
    (S.MIGRATING, S.WAITING),
    (S.MIGRATING, S.PENDING),
    (S.WAITING, S.MIGRATING),
    (S.WAITING, S.WAITING),
    (S.WAITING, S.FAILED),
    (S.ACTIVE, S.MIGRATING),
    (S.ACTIVE, S.REMOVED),
    (S.FAILED, S.MIGRATING),
    (S.FAILED, S.REMOVED),
    # A handoff another portfolio accepted; the handed-over copy can only be removed.
    (S.PENDING, S.HANDED_OVER),
    (S.ACTIVE, S.HANDED_OVER),
    (S.FAILED, S.HANDED_OVER),
    (S.HANDED_OVER, S.REMOVED),
}


@pytest.mark.parametrize("old", list(S))
@pytest.mark.parametrize("new", list(S))
def test_a_status_changes_only_along_an_arrow(old: ClientStatus, new: ClientStatus) -> None:
    if (old, new) in ARROWS:
        check_transition("Acme", old, new)
    else:
        with pytest.raises(PortfolioError, match=f"client 'Acme' is {old}; it cannot become {new}"):
            check_transition("Acme", old, new)


def test_a_migrating_or_waiting_client_cannot_be_removed_and_removed_is_final() -> None:
    assert (S.MIGRATING, S.REMOVED) not in ARROWS and (S.WAITING, S.REMOVED) not in ARROWS
    assert not [new for old, new in ARROWS if old is S.REMOVED]


def test_slugs_are_plain_unique_and_short() -> None:
    assert slug_of("Acme Ltd").startswith("acme_ltd_")
    assert slug_of("Acme Ltd") != slug_of("ACME LTD") != slug_of("Acme-Ltd")
    long = slug_of("Ö" * 5 + "x" * 200)
    assert len(long) <= 31 and long.replace("_", "").isalnum()
    assert slug_of("!!!").startswith("client_")


def test_what_list_json_prints_has_at_least_name_status_paying_hidden() -> None:
    client = Client(name="Acme", slug="acme_1", paying=Paying.CLIENT, email="a@b.co", config="x")
    data = client.to_dict()
    assert {"name", "status", "paying", "hidden"} <= set(data)
    assert (data["status"], data["paying"], data["hidden"], data["participating"]) == (
        "pending",
        "client",
        False,
        True,
    )
    assert "config" not in data
