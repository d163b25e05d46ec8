"""The sandbox enforces Sage's rules, answering in Sage's shapes (checked against the spec)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest
import requests

from connectors.sage_accounting.sage_accounting_support import SpecCheck, sandbox
from migrationkit.connectors.sage_accounting.wire import dumps, loads
from migrationkit.testing import Fault
from migrationkit.testing.sandboxes.sage_accounting.app import SageSandbox


class Api:
    """Raw calls to the sandbox; every answer goes through the spec check too."""

    def __init__(self, app: SageSandbox, url: str, check: SpecCheck) -> None:
        self.app = app
        self.url = url + "/v3.1"
        self.check = check
        self.session = requests.Session()
        self.headers = {"Authorization": f"Bearer {app.token}", "X-Business": app.business_id}

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> tuple[int, Any]:
        response = self.session.request(
            method,
            f"{self.url}/{path}",
            params=params or None,
            data=dumps(body) if body is not None else None,
            headers={**self.headers, "Content-Type": "application/json"},
            timeout=10,
        )
        self.check(response.request, response)
        return response.status_code, loads(response.content) if response.content else None

    def create(self, path: str, wrapper: str, fields: dict[str, Any]) -> dict[str, Any]:
        status, body = self.call("POST", path, {wrapper: fields})
        assert status == 201, body
        return dict(body)

    def ledger(self, code: int) -> str:
        _, page = self.call("GET", "ledger_accounts", attributes="all", items_per_page=200)
        return next(a["id"] for a in page["$items"] if a["nominal_code"] == code)


@pytest.fixture
def answers() -> Iterator[SpecCheck]:
    """These tests send wrong requests on purpose: only Sage's answers are checked."""
    check = SpecCheck(requests=False)
    yield check
    check.assert_clean()


@pytest.fixture
def api(answers: SpecCheck) -> Iterator[Api]:
    with sandbox() as (app, server):
        yield Api(app, server.url, answers)


def customer(api: Api, reference: str = "ACME", **extra: Any) -> dict[str, Any]:
    fields = {"name": "Acme Café", "contact_type_ids": ["CUSTOMER"], "reference": reference}
    return api.create("contacts", "contact", {**fields, **extra})


def sales_invoice(api: Api, contact: str, **extra: Any) -> dict[str, Any]:
    line = {
        "description": "Mugs",
        "ledger_account_id": api.ledger(4000),
        "quantity": D("2"),
        "unit_price": D("50.00"),
        "tax_rate_id": "GB_STANDARD",
        "tax_amount": D("20.00"),
    }
    fields = {"contact_id": contact, "date": "2024-04-01", "invoice_lines": [line], **extra}
    return api.create("sales_invoices", "sales_invoice", fields)


def first_error(body: Any) -> tuple[str, str]:
    return body[0]["$dataCode"], body[0]["$source"]


def test_a_new_gb_business_has_its_chart_tax_rates_and_default_bank(api: Api) -> None:
    _, rates = api.call("GET", "tax_rates", attributes="all")
    assert {r["id"]: r["percentage"] for r in rates["$items"]} == {
        "GB_STANDARD": D("20.0"),
        "GB_LOWER": D("5.0"),
        "GB_ZERO": D("0.0"),
        "GB_EXEMPT": D("0.0"),
        "GB_NO_TAX": D("0.0"),
    }
    _, chart = api.call("GET", "ledger_accounts", attributes="all", items_per_page=200)
    controls = {
        a["nominal_code"]: a["control_name"] for a in chart["$items"] if a["is_control_account"]
    }
    assert controls[1100] == "DEBTORS_CONTROL" and controls[2100] == "CREDITORS_CONTROL"
    assert controls[2200] == "SALES_TAX_CONTROL" and controls[9999] == "SUSPENSE"
    _, banks = api.call("GET", "bank_accounts", attributes="all")
    assert [b["nominal_code"] for b in banks["$items"]] == [1200]
    _, businesses = api.call("GET", "businesses")
    assert businesses["$items"][0]["id"] == api.app.business_id
    _, settings = api.call("GET", "financial_settings")
    assert settings["base_currency"]["id"] == "GBP"


def test_required_fields_and_lengths_are_enforced_in_sages_error_shape(api: Api) -> None:
    status, body = api.call("POST", "contacts", {"contact": {"contact_type_ids": ["CUSTOMER"]}})
    assert status == 422 and first_error(body) == ("RecordInvalid", "name")
    status, body = api.call(
        "POST",
        "contacts",
        {"contact": {"name": "X", "contact_type_ids": ["VENDOR"], "reference": "ELEVENCHARS"}},
    )
    assert status == 422 and first_error(body) == ("RecordInvalid", "reference")
    acme = customer(api)
    status, body = sales_invoice_raw(api, acme["id"], reference="R" * 26)
    assert status == 422 and first_error(body) == ("RecordInvalid", "reference")


def sales_invoice_raw(api: Api, contact: str, **extra: Any) -> tuple[int, Any]:
    line = {"description": "Mugs", "ledger_account_id": api.ledger(4000), "unit_price": D("10.00")}
    fields = {"contact_id": contact, "date": "2024-04-01", "invoice_lines": [line], **extra}
    return api.call("POST", "sales_invoices", {"sales_invoice": fields})


def test_contact_references_are_unique_per_contact_type(api: Api) -> None:
    customer(api, "ACME")
    status, body = api.call(
        "POST",
        "contacts",
        {"contact": {"name": "Other", "contact_type_ids": ["CUSTOMER"], "reference": "acme"}},
    )
    assert status == 422 and first_error(body) == ("RecordInvalid", "reference")
    vendor = api.create(
        "contacts",
        "contact",
        {"name": "Acme Supplies", "contact_type_ids": ["VENDOR"], "reference": "ACME"},
    )
    assert vendor["reference"] == "ACME"


def test_standard_rated_lines_need_their_tax_amount(api: Api) -> None:
    acme = customer(api)
    status, body = sales_invoice_raw(api, acme["id"])
    assert status == 201, body
    line = {
        "description": "Mugs",
        "ledger_account_id": api.ledger(4000),
        "unit_price": D("10.00"),
        "tax_rate_id": "GB_STANDARD",
    }
    status, body = api.call(
        "POST",
        "sales_invoices",
        {
            "sales_invoice": {
                "contact_id": acme["id"],
                "date": "2024-04-01",
                "invoice_lines": [line],
            }
        },
    )
    assert status == 422 and first_error(body) == ("RecordInvalid", "invoice_lines[0].tax_amount")


def test_a_posted_sales_invoice_is_voided_with_a_reason_a_draft_deleted(api: Api) -> None:
    acme = customer(api)
    posted = sales_invoice(api, acme["id"])
    status, body = api.call("DELETE", f"sales_invoices/{posted['id']}")
    assert status == 422 and first_error(body) == ("RecordInvalid", "void_reason")
    status, body = api.call(
        "DELETE", f"sales_invoices/{posted['id']}", void_reason="Raised in error"
    )
    assert (
        status == 200
        and body["status"]["id"] == "VOID"
        and body["void_reason"] == "Raised in error"
    )
    draft = sales_invoice(api, acme["id"], status_id="DRAFT")
    status, deleted = api.call("DELETE", f"sales_invoices/{draft['id']}")
    assert status == 200 and deleted["deleted_at"]
    assert api.call("GET", f"sales_invoices/{draft['id']}")[0] == 404


def test_journals_balance_and_cannot_change_ledger_accounts_cannot_go_tax_rates_stay(
    api: Api,
) -> None:
    lines = [
        {"ledger_account_id": api.ledger(7100), "debit": D("25.00"), "credit": D("0")},
        {"ledger_account_id": api.ledger(2109), "debit": D("0"), "credit": D("24.99")},
    ]
    status, body = api.call(
        "POST",
        "journals",
        {"journal": {"date": "2024-04-01", "reference": "ACC", "journal_lines": lines}},
    )
    assert status == 422 and "balance" in body[0]["$message"]
    lines[1]["credit"] = D("25.00")
    journal = api.create(
        "journals", "journal", {"date": "2024-04-01", "reference": "ACC", "journal_lines": lines}
    )
    status, body = api.call("PUT", f"journals/{journal['id']}", {"journal": {"reference": "X"}})
    assert status == 405 and body[0]["$dataCode"] == "MethodNotAllowed"
    status, _ = api.call("DELETE", f"ledger_accounts/{api.ledger(7100)}")
    assert status == 405
    status, body = api.call("POST", "tax_rates", {"tax_rate": {"name": "T3"}})
    assert status == 422 and body[0]["$dataCode"] == "NotAllowedForRegion"


def test_paging_stops_at_two_hundred_and_walks_with_next(api: Api) -> None:
    status, body = api.call("GET", "ledger_accounts", items_per_page=201)
    assert status == 422 and first_error(body) == ("RecordInvalid", "items_per_page")
    status, first = api.call("GET", "ledger_accounts", items_per_page=20)
    assert first["$items_per_page"] == 20 and first["$next"] and first["$back"] is None
    assert set(first["$items"][0]) == {"id", "displayed_as", "$path"}  # no attributes=all
    _, second = api.call("GET", "ledger_accounts", items_per_page=20, page=2)
    assert second["$back"] and {a["id"] for a in first["$items"]}.isdisjoint(
        a["id"] for a in second["$items"]
    )


def test_delta_parameters_inclusive_changes_exclusive_deletions(api: Api) -> None:
    before = api.app.moment().strftime("%Y-%m-%dT%H:%M:%SZ")
    acme = customer(api, "ACME")
    _, changed = api.call("GET", "contacts", updated_or_created_since=acme["updated_at"])
    assert acme["id"] in {c["id"] for c in changed["$items"]}  # inclusive
    time.sleep(1.05)  # Sage's timestamps are whole seconds
    assert api.call("DELETE", f"contacts/{acme['id']}")[0] == 204
    _, gone = api.call("GET", "contacts", deleted_since=before, attributes="all")
    assert [(c["id"], bool(c["deleted_at"])) for c in gone["$items"]] == [(acme["id"], True)]
    _, same_moment = api.call("GET", "contacts", deleted_since=gone["$items"][0]["deleted_at"])
    assert same_moment["$items"] == []  # exclusive
    _, live = api.call("GET", "contacts")
    assert acme["id"] not in {c["id"] for c in live["$items"]}


def test_delta_parameters_take_the_specs_forms_and_refuse_others(api: Api) -> None:
    import datetime as dt

    old = customer(api, "OLD")
    api.app.stores[api.app.business_id].backdate(dt.timedelta(days=2))
    new = customer(api, "NEW")
    yesterday = api.app.moment() - dt.timedelta(days=1)
    forms = (
        yesterday.strftime("%Y-%m-%dT%H:%M:%S+00:00"),  # date-time
        yesterday.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat(timespec="seconds"),
        yesterday.strftime("%Y-%m-%dT%H:%M:%SZ"),  # as Sage writes its own timestamps
        yesterday.strftime("%Y-%m-%dT+00:00"),  # the date form: from that day's start
    )
    for form in forms:
        status, body = api.call("GET", "contacts", updated_or_created_since=form)
        assert status == 200, form
        ids = {c["id"] for c in body["$items"]}
        assert new["id"] in ids and old["id"] not in ids, form
    for malformed in (
        yesterday.strftime("%Y-%m-%d"),  # a date alone is not the spec's date form
        yesterday.strftime("%Y-%m-%dT%H:%M:%S"),  # no offset
        yesterday.strftime("%d/%m/%Y"),
        "yesterday",
    ):
        for name in ("updated_or_created_since", "deleted_since"):
            status, body = api.call("GET", "contacts", **{name: malformed})
            assert status == 422, (name, malformed)
            assert body[0]["$source"] == name


def test_missing_records_are_404_record_not_found(api: Api) -> None:
    status, body = api.call("GET", "contacts/nope")
    assert status == 404 and body[0]["$dataCode"] == "RecordNotFound"
    status, body = sales_invoice_raw(api, "nope")
    assert status == 404 and first_error(body) == ("RecordNotFound", "contact_id")


def test_rate_limit_answers_429_with_retry_after(answers: SpecCheck) -> None:
    with sandbox(rate_limit=3, rate_scale=1.0) as (app, server):
        api = Api(app, server.url, answers)
        statuses = [api.call("GET", "tax_rates")[0] for _ in range(4)]
        response = requests.get(f"{api.url}/tax_rates", headers=api.headers, timeout=5)
    assert statuses == [200, 200, 200, 429] and response.status_code == 429
    assert 0 < float(response.headers["Retry-After"]) <= 60
    assert response.json()[0]["$dataCode"] == "TooManyRequests"


def test_faults_and_auth_failures_answer_in_sages_shape(api: Api) -> None:
    api.app.faults.add(Fault(status=503), times=1)
    status, body = api.call("GET", "tax_rates")
    assert status == 503 and body[0]["$dataCode"] == "ServiceUnavailable"
    response = requests.get(
        f"{api.url}/tax_rates", headers={"Authorization": "Bearer wrong"}, timeout=5
    )
    assert response.status_code == 401 and response.json()[0]["$dataCode"] == "AuthorizationFailure"
    other = requests.get(
        f"{api.url}/tax_rates", headers={**api.headers, "X-Business": "other"}, timeout=5
    )
    assert other.status_code == 403


def test_allocations_settle_and_block_deletion_until_removed(api: Api) -> None:
    acme = customer(api)
    invoice = sales_invoice(api, acme["id"])
    _, banks = api.call("GET", "bank_accounts")
    bank = banks["$items"][0]["id"]
    receipt = api.create("contact_payments", "contact_payment", {
        "transaction_type_id": "CUSTOMER_RECEIPT", "contact_id": acme["id"],
        "bank_account_id": bank,
        "date": "2024-04-05", "total_amount": D("150.00"),
        "allocated_artefacts": [{"artefact_id": invoice["id"], "amount": D("120.00")}],
        "payment_on_account": {"total_amount": D("30.00")},
    })  # fmt: skip
    assert receipt["payment_on_account"]["total_amount"] == D("30.00")
    _, paid = api.call("GET", f"sales_invoices/{invoice['id']}")
    assert paid["outstanding_amount"] == D("0.00") and paid["status"]["id"] == "PAID"
    status, _ = api.call("DELETE", f"sales_invoices/{invoice['id']}", void_reason="x")
    assert status == 422
    assert api.call("DELETE", f"contact_payments/{receipt['id']}")[0] == 204
    _, open_again = api.call("GET", f"sales_invoices/{invoice['id']}")
    assert open_again["outstanding_amount"] == D("120.00")
