"""The Xero sandbox enforces what Xero enforces, in Xero's shapes, over plain HTTP."""

from __future__ import annotations

import base64
import hashlib
import re
import time
import urllib.parse
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from migrationkit.connectors.xero import wire
from migrationkit.http import Limits
from migrationkit.testing import SandboxServer
from migrationkit.testing.sandboxes.xero.app import (
    API_PREFIX,
    AUTHORIZE_PATH,
    TOKEN_PATH,
    XeroSandbox,
    start_server,
)

MSDATE = re.compile(r"^/Date\(\d+(\+0000)?\)/$")


class Xero:
    """A tiny client: JSON with Decimal amounts, the tenant header, a bearer token."""

    def __init__(self, server: SandboxServer, tenant: str) -> None:
        self.base = server.url + API_PREFIX
        self.headers = {"Authorization": "Bearer any", "xero-tenant-id": tenant}
        self.session = requests.Session()

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, requests.structures.CaseInsensitiveDict[str]]:
        response = self.session.request(
            method,
            self.base + path,
            data=wire.dumps(body) if body is not None else None,
            params=params,
            headers={**self.headers, **(headers or {})},
            timeout=10,
        )
        parsed = wire.loads(response.content) if response.content.startswith((b"{", b"[")) else None
        return response.status_code, parsed, response.headers

    def contact(self, name: str) -> str:
        status, body, _ = self.call("PUT", "/Contacts", {"Contacts": [{"Name": name}]})
        assert status == 200
        return str(body["Contacts"][0]["ContactID"])


@pytest.fixture
def app() -> XeroSandbox:
    return XeroSandbox(rate_scale=1000)


@pytest.fixture
def xero(app: XeroSandbox) -> Iterator[Xero]:
    with start_server(app) as server:
        yield Xero(server, app.default_tenant)


def _invoice(
    contact: str, number: str | None = None, amount: str = "100.00", **extra: Any
) -> dict[str, Any]:
    invoice: dict[str, Any] = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact},
        "Date": "2024-04-01",
        "Status": "AUTHORISED",
        "LineAmountTypes": "Exclusive",
        "LineItems": [
            {
                "Description": "Goods",
                "Quantity": Decimal(1),
                "UnitAmount": Decimal(amount),
                "AccountCode": "200",
                "TaxType": "OUTPUT2",
            }
        ],
        **extra,
    }
    if number:
        invoice["InvoiceNumber"] = number
    return invoice


def test_a_new_uk_organisation_has_its_system_accounts_and_tax_rates(xero: Xero) -> None:
    _, body, headers = xero.call("GET", "/Accounts")
    systems = {a["Code"]: a.get("SystemAccount") for a in body["Accounts"]}
    assert systems["610"] == "DEBTORS" and systems["800"] == "CREDITORS"
    assert systems["820"] == "GST" and systems["960"] == "RETAINEDEARNINGS"
    _, rates, _ = xero.call("GET", "/TaxRates")
    by_type = {r["TaxType"]: r for r in rates["TaxRates"]}
    assert by_type["OUTPUT2"]["EffectiveRate"] == Decimal("20.0000")
    assert {"INPUT2", "RROUTPUT", "ZERORATEDINPUT", "EXEMPTOUTPUT", "NONE"} <= set(by_type)
    _, org, _ = xero.call("GET", "/Organisation")
    assert org["Organisations"][0]["BaseCurrency"] == "GBP"
    assert MSDATE.match(org["DateTimeUTC"])
    assert int(headers["X-MinLimit-Remaining"]) < 60 and "X-DayLimit-Remaining" in headers


def test_per_element_errors_with_summarize_errors_false(xero: Xero) -> None:
    contact = xero.contact("Acme")
    bad = _invoice(contact, "INV-1")
    bad["LineItems"][0]["AccountCode"] = "NOPE"
    status, body, _ = xero.call(
        "PUT",
        "/Invoices",
        {"Invoices": [_invoice(contact, "INV-1"), bad]},
        params={"summarizeErrors": "false"},
    )
    assert status == 200
    good, failed = body["Invoices"]
    assert good["StatusAttributeString"] == "OK" and good["Total"] == Decimal("120.00")
    assert MSDATE.match(good["Date"])
    assert failed["StatusAttributeString"] == "ERROR" and failed["HasErrors"]
    assert "NOPE" in failed["ValidationErrors"][0]["Message"]
    assert failed["InvoiceID"] == "00000000-0000-0000-0000-000000000000"


def test_summarized_errors_answer_400_yet_create_the_good_elements(xero: Xero) -> None:
    """The documented hazard: a 400 for the batch, while its good elements exist."""
    contact = xero.contact("Acme")
    status, body, _ = xero.call(
        "PUT", "/Invoices", {"Invoices": [_invoice(contact, "A-1"), _invoice(contact, "A-1")]}
    )
    assert status == 400 and body["Type"] == "ValidationException"
    assert [e["ValidationErrors"][0]["Message"] for e in body["Elements"]] == [
        "Invoice # must be unique."
    ]
    _, listed, _ = xero.call("GET", "/Invoices", params={"InvoiceNumbers": "A-1"})
    assert len(listed["Invoices"]) == 1


def test_sales_numbers_are_unique_but_bill_numbers_are_not(xero: Xero) -> None:
    contact = xero.contact("Acme")
    for _ in range(2):
        _status, body, _ = xero.call(
            "PUT",
            "/Invoices",
            {"Invoices": [_invoice(contact, "B-1", Type="ACCPAY")]},
            params={"summarizeErrors": "false"},
        )
        assert body["Invoices"][0]["StatusAttributeString"] == "OK"


def test_accounts_are_created_one_at_a_time_with_short_unique_codes(xero: Xero) -> None:
    status, body, _ = xero.call(
        "PUT",
        "/Accounts",
        {
            "Accounts": [
                {"Code": "4000", "Name": "Sales A", "Type": "SALES"},
                {"Code": "4001", "Name": "B", "Type": "SALES"},
            ]
        },
    )
    assert status == 200 and [a["Code"] for a in body["Accounts"]] == ["4000"]
    status, body, _ = xero.call(
        "PUT", "/Accounts", {"Code": "4000", "Name": "Other", "Type": "SALES"}
    )
    assert status == 400 and "unique Code" in body["Elements"][0]["ValidationErrors"][0]["Message"]
    status, body, _ = xero.call(
        "PUT", "/Accounts", {"Code": "12345678901", "Name": "Long", "Type": "SALES"}
    )
    assert status == 400 and "10 characters" in str(body)
    status, body, _ = xero.call(
        "PUT", "/Accounts", {"Code": "4002", "Name": "Sales A", "Type": "SALES"}
    )
    assert status == 400 and "unique Name" in str(body)


def test_journals_balance_and_stay_off_bank_and_control_accounts(xero: Xero) -> None:
    def journal(*lines: tuple[str, str]) -> dict[str, Any]:
        return {
            "Narration": "test",
            "Date": "2024-04-01",
            "Status": "POSTED",
            "JournalLines": [{"LineAmount": Decimal(a), "AccountCode": c} for c, a in lines],
        }

    _status, body, _ = xero.call(
        "PUT",
        "/ManualJournals",
        {
            "ManualJournals": [
                journal(("429", "10.00"), ("850", "-10.00")),
                journal(("429", "10.00"), ("850", "-9.00")),
                journal(("429", "10.00"), ("610", "-10.00")),
            ]
        },
        params={"summarizeErrors": "false"},
    )
    ok, unbalanced, control = body["ManualJournals"]
    assert ok["StatusAttributeString"] == "OK"
    assert "must equal total credits" in unbalanced["ValidationErrors"][0]["Message"]
    assert "system account" in control["ValidationErrors"][0]["Message"]


def test_status_transitions_and_payments(xero: Xero) -> None:
    contact = xero.contact("Acme")
    _, created, _ = xero.call(
        "PUT",
        "/Invoices",
        {"Invoices": [_invoice(contact, "C-1"), _invoice(contact, "C-2", Status="DRAFT")]},
        params={"summarizeErrors": "false"},
    )
    approved, draft = (i["InvoiceID"] for i in created["Invoices"])
    payment = {
        "Invoice": {"InvoiceID": approved},
        "Account": {"Code": "090"},
        "Date": "2024-04-02",
        "Amount": Decimal("200.00"),
    }
    status, body, _ = xero.call(
        "PUT",
        "/Accounts",
        {"Code": "090", "Name": "Bank", "Type": "BANK", "BankAccountNumber": "12345678"},
    )
    assert status == 200
    _, paid, _ = xero.call(
        "PUT", "/Payments", {"Payments": [payment]}, params={"summarizeErrors": "false"}
    )
    assert "exceeds the amount outstanding" in paid["Payments"][0]["ValidationErrors"][0]["Message"]
    payment["Amount"] = Decimal("50.00")
    _, paid, _ = xero.call(
        "PUT", "/Payments", {"Payments": [payment]}, params={"summarizeErrors": "false"}
    )
    payment_id = paid["Payments"][0]["PaymentID"]
    status, body, _ = xero.call(
        "POST", f"/Invoices/{approved}", {"Invoices": [{"Status": "VOIDED"}]}
    )
    assert status == 400 and "remove them before voiding" in str(body)
    status, body, _ = xero.call(
        "POST", f"/Invoices/{approved}", {"Invoices": [{"Status": "DELETED"}]}
    )
    assert status == 400
    status, _, _ = xero.call("POST", f"/Payments/{payment_id}", {"Status": "DELETED"})
    assert status == 200
    _, held, _ = xero.call("GET", f"/Invoices/{approved}")
    assert held["Invoices"][0]["AmountDue"] == Decimal("120.00")
    status, body, _ = xero.call(
        "POST", f"/Invoices/{approved}", {"Invoices": [{"Status": "VOIDED"}]}
    )
    assert status == 200 and body["Invoices"][0]["Status"] == "VOIDED"
    status, body, _ = xero.call("POST", f"/Invoices/{draft}", {"Invoices": [{"Status": "DELETED"}]})
    assert status == 200 and body["Invoices"][0]["Status"] == "DELETED"


def test_paging_if_modified_since_and_archived_contacts(xero: Xero) -> None:
    for n in range(5):
        xero.contact(f"Contact {n}")
    time.sleep(0.01)
    moment = wire.parse_datetime(xero.call("GET", "/Organisation")[1]["DateTimeUTC"])
    assert moment is not None
    later = xero.contact("Later")
    _status, page, _ = xero.call("GET", "/Contacts", params={"page": 2, "pageSize": 2})
    assert [c["Name"] for c in page["Contacts"]] == ["Contact 2", "Contact 3"]
    assert page["pagination"] == {"page": 2, "pageSize": 2, "pageCount": 3, "itemCount": 6}
    _, since, _ = xero.call(
        "GET",
        "/Contacts",
        headers={"If-Modified-Since": moment.isoformat()},
    )
    assert [c["ContactID"] for c in since["Contacts"]] == [later]
    xero.call(
        "POST", "/Contacts", {"Contacts": [{"ContactID": later, "ContactStatus": "ARCHIVED"}]}
    )
    _, active, _ = xero.call("GET", "/Contacts")
    _, everything, _ = xero.call("GET", "/Contacts", params={"includeArchived": "true"})
    assert len(active["Contacts"]) == 5 and len(everything["Contacts"]) == 6
    _, found, _ = xero.call("GET", "/Contacts", params={"where": 'Name=="Contact 3"'})
    assert [c["Name"] for c in found["Contacts"]] == ["Contact 3"]


def test_if_modified_since_takes_the_spec_date_time_or_an_http_date_and_pages_what_changed(
    app: XeroSandbox, xero: Xero
) -> None:
    import datetime as dt

    for n in range(7):
        xero.contact(f"Old {n}")
    app.org(app.default_tenant).backdate(dt.timedelta(hours=2))
    changed = [xero.contact(f"New {n}") for n in range(3)]
    hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    forms = (
        hour_ago.isoformat(timespec="milliseconds"),  # the spec's example form, with an offset
        hour_ago.strftime("%Y-%m-%dT%H:%M:%S"),  # no offset: UTC
        hour_ago.strftime("%a, %d %b %Y %H:%M:%S GMT"),  # RFC 9110's HTTP date
    )
    for form in forms:
        _, body, _ = xero.call("GET", "/Contacts", headers={"If-Modified-Since": form})
        assert sorted(c["ContactID"] for c in body["Contacts"]) == sorted(changed), form
    # Pages are pages of what changed: the filter comes first, as Xero's does.
    _, page, _ = xero.call(
        "GET",
        "/Contacts",
        params={"page": 2, "pageSize": 2},
        headers={"If-Modified-Since": forms[0]},
    )
    assert page["pagination"] == {"page": 2, "pageSize": 2, "pageCount": 2, "itemCount": 3}
    assert len(page["Contacts"]) == 1
    # A header that is no date at all is ignored, as RFC 9110 says: everything comes back.
    for malformed in ("yesterday", "2024-13-45", hour_ago.strftime("%d/%m/%Y %H:%M")):
        _, body, _ = xero.call("GET", "/Contacts", headers={"If-Modified-Since": malformed})
        assert len(body["Contacts"]) == 10, malformed


def test_idempotency_key_replays_the_same_request_and_refuses_another(xero: Xero) -> None:
    body = {"Contacts": [{"Name": "Once"}]}
    key = {"Idempotency-Key": "k-1"}
    first = xero.call("PUT", "/Contacts", body, headers=key)
    again = xero.call("PUT", "/Contacts", body, headers=key)
    assert first[1] == again[1]
    _, listed, _ = xero.call("GET", "/Contacts", params={"where": 'Name=="Once"'})
    assert len(listed["Contacts"]) == 1
    status, refused, _ = xero.call(
        "PUT", "/Contacts", {"Contacts": [{"Name": "Other"}]}, headers=key
    )
    assert status == 400 and "different request" in str(refused)


def test_rate_limits_answer_429_with_retry_after_and_the_problem() -> None:
    app = XeroSandbox(rate_scale=1, limits=Limits(concurrent=5, per_minute=3, per_day=5000))
    with start_server(app) as server:
        xero = Xero(server, app.default_tenant)
        statuses = [xero.call("GET", "/Organisation") for _ in range(4)]
    assert [s[0] for s in statuses] == [200, 200, 200, 429]
    headers = statuses[-1][2]
    assert headers["X-Rate-Limit-Problem"] == "minute"
    assert 0 < float(headers["Retry-After"]) <= 60
    assert headers["X-MinLimit-Remaining"] == "0"


def test_the_day_limit_names_itself(app: XeroSandbox) -> None:
    app.limits = Limits(concurrent=5, per_minute=60, per_day=2).scaled(1000)
    with start_server(app) as server:
        xero = Xero(server, app.default_tenant)
        statuses = [xero.call("GET", "/Organisation") for _ in range(3)]
        assert statuses[-1][0] == 429 and statuses[-1][2]["X-Rate-Limit-Problem"] == "day"
        app.advance(86.4)
        assert xero.call("GET", "/Organisation")[0] == 200


def test_oauth_code_flow_and_refresh_rotation(app: XeroSandbox) -> None:
    with start_server(app) as server:
        verifier = "v" * 50
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .decode()
            .rstrip("=")
        )
        redirect = "http://localhost:9/callback"
        answer = requests.get(
            server.url + AUTHORIZE_PATH,
            params={
                "response_type": "code",
                "client_id": "cid",
                "redirect_uri": redirect,
                "scope": "offline_access",
                "state": "s1",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
            allow_redirects=False,
            timeout=5,
        )
        assert answer.status_code == 302
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(answer.headers["Location"]).query)
        assert query["state"] == ["s1"]
        auth = ("cid", "secret")
        token = requests.post(
            server.url + TOKEN_PATH,
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": redirect,
                "code_verifier": verifier,
            },
            auth=auth,
            timeout=5,
        ).json()
        assert token["expires_in"] == 1800 and token["refresh_token"]
        refreshed = requests.post(
            server.url + TOKEN_PATH,
            data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
            auth=auth,
            timeout=5,
        )
        assert refreshed.status_code == 200
        assert refreshed.json()["refresh_token"] != token["refresh_token"]
        reused = requests.post(
            server.url + TOKEN_PATH,
            data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
            auth=auth,
            timeout=5,
        )
        assert reused.status_code == 400 and reused.json() == {"error": "invalid_grant"}


def test_credit_allocation_and_overpayment(xero: Xero) -> None:
    contact = xero.contact("Acme")
    _, invoices, _ = xero.call(
        "PUT",
        "/Invoices",
        {"Invoices": [_invoice(contact, "D-1")]},
        params={"summarizeErrors": "false"},
    )
    invoice = invoices["Invoices"][0]["InvoiceID"]
    credit = _invoice(contact, None, "10.00", Type="ACCRECCREDIT")
    _, credits, _ = xero.call(
        "PUT", "/CreditNotes", {"CreditNotes": [credit]}, params={"summarizeErrors": "false"}
    )
    credit_id = credits["CreditNotes"][0]["CreditNoteID"]
    allocation = {
        "Invoice": {"InvoiceID": invoice},
        "Amount": Decimal("12.00"),
        "Date": "2024-04-02",
    }
    status, done, _ = xero.call(
        "PUT", f"/CreditNotes/{credit_id}/Allocations", {"Allocations": [allocation]}
    )
    assert status == 200 and done["Allocations"][0]["Amount"] == Decimal("12.00")
    _, held, _ = xero.call("GET", f"/Invoices/{invoice}")
    assert held["Invoices"][0]["AmountDue"] == Decimal("108.00")
    status, _, _ = xero.call(
        "POST", f"/CreditNotes/{credit_id}", {"CreditNotes": [{"Status": "VOIDED"}]}
    )
    assert status == 400
