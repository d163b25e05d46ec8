"""The Exact sandbox enforces what Exact enforces, as a client that knows only Exact's
documentation meets it: OData envelopes and paging, ``$select`` and filters, timestamps and the
deleted log, entry numbers and journals, the limits and their headers, the error budget, and
the token lifecycle."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from migrationkit.testing import Fault, SandboxServer
from migrationkit.testing.sandboxes.exact.app import ExactSandbox, start_server

SCALE = 1000.0


class Exact:
    """A plain client of one division: what a reader of Exact's documentation would write."""

    def __init__(self, server: SandboxServer, token: str = "any-token", division: int = 1):
        self.base = f"{server.url}/api/v1/{division}/"
        self.token = token

    def call(self, method: str, endpoint: str, **kwargs: Any) -> requests.Response:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            "Prefer": "return=representation",
        }
        url = endpoint if endpoint.startswith("http") else self.base + endpoint
        return requests.request(method, url, headers=headers, timeout=10, **kwargs)

    def post(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.call("POST", endpoint, json=body)
        assert answer.status_code == 201, answer.text
        return dict(answer.json()["d"])

    def refused(self, method: str, endpoint: str, **kwargs: Any) -> tuple[int, str]:
        answer = self.call(method, endpoint, **kwargs)
        assert answer.status_code >= 400, answer.text
        return answer.status_code, answer.json()["error"]["message"]["value"]

    def rows(self, endpoint: str, **params: str) -> list[dict[str, Any]]:
        """One page's entities, without their ``__metadata``."""
        answer = self.call("GET", endpoint, params=params)
        assert answer.status_code == 200, answer.text
        return [
            {k: v for k, v in row.items() if k != "__metadata"}
            for row in answer.json()["d"]["results"]
        ]

    def pages(self, endpoint: str, **params: str) -> Iterator[list[dict[str, Any]]]:
        url: str | None = endpoint
        query: dict[str, str] | None = params
        while url:
            answer = self.call("GET", url, params=query)
            assert answer.status_code == 200, answer.text
            body = answer.json()["d"]
            yield body["results"]
            url, query = body.get("__next"), None


@pytest.fixture
def app() -> ExactSandbox:
    return ExactSandbox(rate_scale=SCALE, currency="GBP")


@pytest.fixture
def exact(app: ExactSandbox) -> Iterator[Exact]:
    with start_server(app) as server:
        yield Exact(server)


def chart(exact: Exact) -> dict[str, str]:
    """A few G/L accounts, a VAT code, a customer and the journals entries need."""
    ids = {}
    for code, kind in (("1100", 20), ("1200", 12), ("2200", 24), ("4000", 110)):
        ids[code] = exact.post(
            "financial/GLAccounts", {"Code": code, "Description": f"GL {code}", "Type": kind}
        )["ID"]
    exact.post(
        "vat/VATCodes",
        {"Code": "1", "Description": "High", "Percentage": 0.21, "GLToPay": ids["2200"]},
    )
    exact.post("financial/Journals", {"Code": "70", "Description": "Sales", "Type": 20})
    exact.post("financial/Journals", {"Code": "90", "Description": "Memorial", "Type": 90})
    exact.post(
        "financial/Journals",
        {
            "Code": "20",
            "Description": "Bank",
            "Type": 12,
            "GLAccount": ids["1200"],
            "BankAccountIncludingMask": "NL91ABNA0417164300",
        },
    )
    ids["customer"] = exact.post("crm/Accounts", {"Name": "Acme", "Status": "C"})["ID"]
    return ids


def invoice(ids: dict[str, str], **header: Any) -> dict[str, Any]:
    line = {"GLAccount": ids["4000"], "AmountFC": 100, "VATCode": "1"}
    return {"Customer": ids["customer"], "Journal": "70", "SalesEntryLines": [line], **header}


def test_collections_page_60_rows_and_bulk_and_sync_1000(app: ExactSandbox, exact: Exact) -> None:
    division = app.division()
    with app.lock:  # the rows go in through the division; the pages come out over HTTP
        for n in range(130):
            division.create("hrm/Costcenters", {"Code": f"C{n:03d}", "Description": f"C {n}"})
        for n in range(1010):
            division.create("financial/GLAccounts", {"Code": f"{n}", "Description": "x"})
    sizes = [len(page) for page in exact.pages("hrm/Costcenters", **{"$select": "Code"})]
    assert sizes == [60, 60, 10]
    sizes = [len(p) for p in exact.pages("sync/Financial/GLAccounts", **{"$select": "Code"})]
    assert sizes == [1000, 10]
    bulk = {"$select": "Code", "$filter": "Type eq 90"}
    sizes = [len(p) for p in exact.pages("bulk/Financial/GLAccounts", **bulk)]
    assert sizes == [1000, 10]


def test_expanded_lines_page_with_their_own_next(exact: Exact) -> None:
    ids = chart(exact)
    lines = [{"GLAccount": ids["4000"], "AmountFC": n, "VATCode": "1"} for n in range(1, 76)]
    entry = exact.post("salesentry/SalesEntries", {**invoice(ids), "SalesEntryLines": lines})
    answer = exact.call(
        "GET",
        f"salesentry/SalesEntries(guid'{entry['EntryID']}')",
        params={"$select": "EntryID,SalesEntryLines/AmountFC", "$expand": "SalesEntryLines"},
    )
    nested = answer.json()["d"]["SalesEntryLines"]
    assert len(nested["results"]) == 60 and nested["__next"]
    rest = [row for page in exact.pages(nested["__next"]) for row in page]
    assert [row["AmountFC"] for row in nested["results"] + rest] == list(range(1, 76))


def test_select_filters_and_their_rules(exact: Exact) -> None:
    chart(exact)
    assert exact.refused("GET", "bulk/Financial/GLAccounts") == (
        400,
        "$select is mandatory for bulk endpoints",
    )
    status, message = exact.refused("GET", "crm/Accounts", params={"$select": "ID"})
    assert status == 400 and message.startswith("Mandatory filtering")
    status, message = exact.refused(
        "GET", "sync/CRM/Accounts", params={"$select": "ID", "$filter": "Name eq 'Acme'"}
    )
    assert message == "Only the filter 'Timestamp gt <number>' is allowed on sync endpoints"
    code = "                 1"
    found = exact.rows("crm/Accounts", **{"$select": "Code,Name", "$filter": f"Code eq '{code}'"})
    assert found == [{"Code": code, "Name": "Acme"}]
    trimmed = exact.rows("crm/Accounts", **{"$select": "Name", "$filter": "trim(Code) eq '1'"})
    assert trimmed == [{"Name": "Acme"}]
    assert exact.refused("GET", "vat/VATCodes", params={"$filter": "Colour eq 'red'"})[0] == 400
    # A date in a filter is OData v2's Edm.DateTime literal: no offset, no zone.
    for good in ("2024-04-01T12:00", "2024-04-01T12:00:00", "2024-04-01T12:00:00.123"):
        found = exact.rows(
            "vat/VATCodes", **{"$select": "Code", "$filter": f"Modified ge datetime'{good}'"}
        )
        assert isinstance(found, list), good
    for bad in ("2024-04-01", "2024-04-01T12:00:00Z", "2024-04-01T12:00:00+02:00", "01/04/2024"):
        status, message = exact.refused(
            "GET", "vat/VATCodes", params={"$filter": f"Modified ge datetime'{bad}'"}
        )
        assert status == 400 and "Edm.DateTime" in message, bad


def test_masters_follow_exacts_rules(exact: Exact) -> None:
    ids = chart(exact)
    assert exact.refused(
        "POST", "financial/GLAccounts", json={"Code": "1100", "Description": "again"}
    ) == (400, "Already exists - Code: 1100")
    assert exact.refused("POST", "crm/Accounts", json={"Name": "B", "Code": "AB12"}) == (
        400,
        "Code: a number of at most 18 digits",
    )
    second = exact.post("crm/Accounts", {"Name": "Brook"})
    assert second["Code"] == "                 2", "the next number, right-aligned in 18"
    _status, message = exact.refused("POST", "crm/Accounts", json={"Name": "C", "Colour": "red"})
    assert "The property name 'Colour'" in message
    _status, message = exact.refused(
        "POST",
        "financial/Journals",
        json={"Code": "21", "Description": "Bank 2", "Type": 12, "GLAccount": ids["4000"]},
    )
    assert "needs a G/L account of type cash, bank or credit card" in message
    exact.post("salesentry/SalesEntries", invoice(ids))
    _status, message = exact.refused("DELETE", f"crm/Accounts(guid'{ids['customer']}')")
    assert message.endswith("is in use (entries)")
    assert exact.call("DELETE", f"crm/Accounts(guid'{second['ID']}')").status_code == 204


def test_entries_follow_exacts_rules(app: ExactSandbox, exact: Exact) -> None:
    ids = chart(exact)
    assert exact.refused("POST", "salesentry/SalesEntries", json=invoice(ids, Journal="71")) == (
        400,
        "Ongeldige referentie: Journals",
    )
    first = exact.post("salesentry/SalesEntries", invoice(ids, EntryNumber=42))
    assert first["EntryNumber"] == 42 and first["AmountFC"] == 121
    assert exact.refused("POST", "salesentry/SalesEntries", json=invoice(ids, EntryNumber=42)) == (
        400,
        "Already exists - Entry number: 42, Journal: 70",
    )
    assert exact.post("salesentry/SalesEntries", invoice(ids))["EntryNumber"] == 43
    general = {
        "JournalCode": "90",
        "GeneralJournalEntryLines": [
            {"GLAccount": ids["4000"], "AmountFC": 10},
            {"GLAccount": ids["1100"], "AmountFC": -9},
        ],
    }
    assert exact.refused("POST", "generaljournalentry/GeneralJournalEntries", json=general)[1] == (
        "The entry is not in balance"
    )
    opening = {**general, "Type": 10}
    assert (
        "opening balance entries (10) cannot be created"
        in exact.refused("POST", "generaljournalentry/GeneralJournalEntries", json=opening)[1]
    )
    receipt = {
        "JournalCode": "20",
        "BankEntryLines": [
            {"Account": ids["customer"], "AmountFC": 121, "OurRef": 42, "Date": "2024-04-02"},
        ],
    }
    bank = exact.post("financialtransaction/BankEntries", receipt)
    assert (bank["OpeningBalanceFC"], bank["ClosingBalanceFC"]) == (0, 121)
    chained = {**receipt, "OpeningBalanceFC": 5}
    assert (
        "is not the closing balance of the previous statement (121.00)"
        in exact.refused("POST", "financialtransaction/BankEntries", json=chained)[1]
    )
    key = f"salesentry/SalesEntries(guid'{first['EntryID']}')"
    assert exact.refused("DELETE", key)[1] == (
        "Entry 42 is matched with a payment and cannot be deleted"
    )
    assert exact.call("PUT", key, json={"YourRef": "PO-1"}).status_code == 204, "texts may change"
    listed = exact.call(
        "GET", "read/financial/ReceivablesList", params={"$select": "EntryNumber,Amount"}
    )
    assert listed.json()["d"]["results"] == [{"EntryNumber": 43, "Amount": 121}]
    processed = exact.post("salesentry/SalesEntries", invoice(ids))
    app.process("salesentry/SalesEntries", processed["EntryID"])
    assert exact.refused("DELETE", f"salesentry/SalesEntries(guid'{processed['EntryID']}')") == (
        400,
        f"Entry {processed['EntryNumber']} is processed and cannot be deleted",
    )


def test_timestamps_the_deleted_log_and_sync_timestamp(app: ExactSandbox, exact: Exact) -> None:
    first = exact.post("logistics/Items", {"Code": "A", "Description": "Apple"})
    second = exact.post("logistics/Items", {"Code": "B", "Description": "Berry"})
    rows = next(exact.pages("sync/Logistics/Items", **{"$select": "ID,Timestamp"}))
    stamps = {row["ID"]: row["Timestamp"] for row in rows}
    assert stamps[second["ID"]] > stamps[first["ID"]]
    exact.call("PUT", f"logistics/Items(guid'{first['ID']}')", json={"Description": "Apricot"})
    later = next(
        exact.pages(
            "sync/Logistics/Items",
            **{"$select": "ID,Description", "$filter": f"Timestamp gt {stamps[second['ID']]}"},
        )
    )
    assert later == [{"ID": first["ID"], "Description": "Apricot"}]
    exact.call("DELETE", f"logistics/Items(guid'{second['ID']}')")
    deleted = next(exact.pages("sync/Deleted", **{"$select": "EntityType,EntityKey"}))
    assert deleted == [{"EntityType": 9, "EntityKey": second["ID"]}]
    moment = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(app.now() + 5))
    answer = exact.call(
        "GET",
        "read/sync/Sync/SyncTimestamp",
        params={"modified": f"datetime'{moment}'", "endPoint": "'Items'"},
    )
    assert answer.json()["d"]["results"][0]["TimeStampAsBigInt"] >= stamps[second["ID"]]
    app.advance(62 * 86_400)
    assert next(exact.pages("sync/Deleted", **{"$select": "EntityKey"})) == [], "two months kept"


def test_the_limits_and_their_headers() -> None:
    # A minute of 1.2 s: sixty local calls fit in it.
    with start_server(ExactSandbox(rate_scale=50)) as server:
        _the_limits(Exact(server))


def _the_limits(exact: Exact) -> None:
    answer = exact.call("GET", "vat/VATCodes", params={"$select": "Code"})
    headers = answer.headers
    assert (headers["X-RateLimit-Limit"], headers["X-RateLimit-Minutely-Limit"]) == ("5000", "60")
    assert int(headers["X-RateLimit-Minutely-Reset"]) > time.time() * 1000, "epoch milliseconds"
    for _ in range(59):
        exact.call("GET", "vat/VATCodes", params={"$select": "Code"})
    refused = exact.call("GET", "vat/VATCodes", params={"$select": "Code"})
    assert refused.status_code == 429 and "Retry-After" not in refused.headers
    assert "X-RateLimit-Remaining" not in refused.headers, "a minutely 429 has minutely headers"
    assert refused.headers["X-RateLimit-Minutely-Remaining"] == "0"
    time.sleep((int(refused.headers["X-RateLimit-Minutely-Reset"]) / 1000 - time.time()) + 0.01)
    assert exact.call("GET", "vat/VATCodes", params={"$select": "Code"}).status_code == 200


def test_the_day_and_the_error_budget(app: ExactSandbox) -> None:
    small = ExactSandbox(rate_scale=SCALE, day_limit=11)
    with start_server(small) as server:
        exact = Exact(server)
        for _ in range(10):  # ten refusals on one endpoint within the hour
            exact.call("GET", "logistics/Items(guid'00000000-0000-0000-0000-000000000000')")
        status, message = exact.refused("GET", "logistics/Items", params={"$filter": "Code eq 'A'"})
        assert (status, message) == (
            403,
            "Too many errors on logistics/Items: the app is blocked for this endpoint for an hour",
        )
        assert exact.call("GET", "vat/VATCodes").status_code == 200, "other endpoints still work"
        day = exact.call("GET", "vat/VATCodes")
        assert day.status_code == 429 and day.headers["X-RateLimit-Remaining"] == "0"
        small.advance(86_400 / SCALE)
        assert exact.call("GET", "logistics/Items", params={"$filter": "Code eq 'A'"}).ok


def test_the_token_lifecycle(app: ExactSandbox) -> None:
    strict = ExactSandbox(rate_scale=SCALE, oauth=True)
    with start_server(strict) as server:
        tokens = strict.issue_tokens()
        exact = Exact(server, tokens["access_token"])
        assert exact.call("GET", "vat/VATCodes").status_code == 200
        assert Exact(server, "made-up").call("GET", "vat/VATCodes").status_code == 401
        form = {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": strict.client_id,
            "client_secret": strict.client_secret,
        }
        early = requests.post(f"{server.url}/api/oauth2/token", data=form, timeout=5)
        assert early.json()["error_description"] == "Rate limit exceeded: access_token not expired"
        strict.advance(600)
        assert exact.call("GET", "vat/VATCodes").status_code == 401, "ten minutes, and gone"
        renewed = requests.post(f"{server.url}/api/oauth2/token", data=form, timeout=5).json()
        assert (
            renewed["expires_in"] == "600" and renewed["refresh_token"] != tokens["refresh_token"]
        )
        strict.advance(600)
        again = requests.post(f"{server.url}/api/oauth2/token", data=form, timeout=5)
        assert (again.status_code, again.json()["error_description"]) == (
            401,
            "Old refresh token used.",
        )
        form["refresh_token"] = renewed["refresh_token"]
        today = dt.datetime.fromtimestamp(strict.now(), dt.UTC).date().isoformat()
        strict.oauth.calls[today] = 199  # the day's token calls but one
        last = requests.post(f"{server.url}/api/oauth2/token", data=form, timeout=5)
        assert last.status_code == 200
        strict.advance(570)
        form["refresh_token"] = last.json()["refresh_token"]
        over = requests.post(f"{server.url}/api/oauth2/token", data=form, timeout=5)
        assert over.json()["error_description"].startswith("Rate limit exceeded: too many")


def test_faults_come_from_the_shared_server(exact: Exact, app: ExactSandbox) -> None:
    app.faults.add(Fault(status=503, retry_after=1.2))
    answer = exact.call("GET", "vat/VATCodes")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "2"
    assert answer.json()["error"]["message"]["value"] == "Injected fault"
