"""The derived OpenAPI subset: where it comes from, that it is current, and that it bites."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from connectors.xero.xero_spec import SUBSET, SpecObserver, errors_of, find_operation, subset

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "scripts" / "derive_xero_spec.py"
OFFICIAL = REPO.parent / "shared" / "specs" / "xero" / "xero_accounting.yaml"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("derive_xero_spec", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_subset_says_where_it_comes_from() -> None:
    provenance = subset()["provenance"]
    assert provenance["source_repository"] == "https://github.com/XeroAPI/Xero-OpenAPI"
    assert provenance["source_commit"] == "e952d0bda3628facbf7afc5990ad6a0e7e77bd1e"
    assert provenance["source_sha256"] == (
        "140f64f8e6bd2d8524b8ffdbffd08589d417efa5466ba57bfa04939a69ff6db8"
    )
    assert "MIT License" in provenance["license"]
    assert any("Account.Code" in fix for fix in provenance["fixes"])


def test_the_subset_is_what_the_script_derives_from_the_official_file(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    if not OFFICIAL.exists():
        pytest.skip(f"the official description is not at {OFFICIAL}")
    out = tmp_path / "subset.json"
    assert _script().main([str(OFFICIAL), "--out", str(out)]) == 0
    assert json.loads(out.read_text("utf-8")) == json.loads(SUBSET.read_text("utf-8"))


def test_every_operation_the_connector_calls_is_in_the_subset() -> None:
    for method, path in _script().OPERATIONS:
        found = find_operation(method, path.replace("{", "").replace("}", ""))
        assert found is not None, f"{method} {path}"


def _check(method: str, path: str, body: Any, status: int, answer: Any) -> list[str]:
    request = requests.Request(
        method,
        f"http://xero.test/api.xro/2.0{path}",
        headers={"xero-tenant-id": "t", "Idempotency-Key": "k"},
        data=json.dumps(body) if body is not None else None,
    ).prepare()
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(answer).encode()
    return SpecObserver().check(request, response)


def test_the_check_catches_what_xero_would_refuse_or_misread() -> None:
    good = {
        "Invoices": [
            {
                "Type": "ACCREC",
                "Contact": {"ContactID": "a6b5c4d3-0000-4000-8000-000000000001"},
                "Date": "2024-04-01",
                "LineItems": [{"Description": "x", "LineAmount": 10, "AccountCode": "200"}],
            }
        ]
    }
    assert _check("PUT", "/Invoices", good, 200, {"Invoices": []}) == []
    cased = {"Invoices": [{**good["Invoices"][0], "lineItems": []}]}
    assert any("lineItems" in v for v in _check("PUT", "/Invoices", cased, 200, {}))
    read_only = {"Invoices": [{**good["Invoices"][0], "Total": 10}]}
    assert any("Total" in v for v in _check("PUT", "/Invoices", read_only, 200, {}))
    bad_date = {"Invoices": [{**good["Invoices"][0], "Date": "01/04/2024"}]}
    assert _check("PUT", "/Invoices", bad_date, 200, {})
    string_money = {"Invoices": [{"Total": "12.00", "Date": "/Date(1711929600000+0000)/"}]}
    assert any(
        "not of type 'number'" in v for v in _check("GET", "/Invoices", None, 200, string_money)
    )
    iso_in_answer = {"Invoices": [{"Date": "2024-04-01"}]}
    assert _check("GET", "/Invoices", None, 200, iso_in_answer)
    assert _check("PATCH", "/Invoices", None, 200, {}) == [
        "PATCH /Invoices: not an operation of the spec subset"
    ]
    long_code = {"Code": "12345678901", "Name": "x", "Type": "SALES"}
    assert any("Code" in v for v in _check("PUT", "/Accounts", long_code, 200, {}))


def test_unknown_query_parameters_are_refused() -> None:
    request = requests.Request(
        "GET",
        "http://xero.test/api.xro/2.0/ManualJournals?unitdp=4",
        headers={"xero-tenant-id": "t"},
    ).prepare()
    response = requests.Response()
    response.status_code = 200
    response._content = b"{}"
    assert SpecObserver().check(request, response) == [
        "GET /ManualJournals: query parameter 'unitdp' is not in the spec"
    ]
    assert errors_of({"type": "integer"}, 3) == []
