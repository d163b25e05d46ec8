"""Validation of Xero traffic against the derived subset of Xero's OpenAPI description.

:class:`SpecObserver` is an :class:`~migrationkit.http.ApiClient` observer: it sees every request
the connector sends and every answer it gets, matches the operation, and checks the query and
header parameters, the request body and the response body against the schemas of
``spec/xero-subset.json`` (written by ``scripts/derive_xero_spec.py``). Violations are
collected; :meth:`SpecObserver.assert_clean` fails the test that used it.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections import Counter
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import requests
from jsonschema import Draft202012Validator

SUBSET = Path(__file__).parent / "spec" / "xero-subset.json"
API_PREFIX = "/api.xro/2.0"
EXERCISED: Counter[str] = Counter()
"""Every operation and answer status checked in this test session (for a coverage summary)."""


@cache
def subset() -> dict[str, Any]:
    return json.loads(SUBSET.read_text("utf-8"))  # type: ignore[no-any-return]


@cache
def _validator(ref: str) -> Draft202012Validator:
    schema = {"$defs": subset()["$defs"], "$ref": ref}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _schema_validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(
        {"$defs": subset()["$defs"], **schema}, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


@cache
def _operations() -> list[tuple[str, re.Pattern[str], dict[str, Any]]]:
    found = []
    for operation in subset()["operations"]:
        pattern = re.sub(r"\{[^}]+\}", "([^/]+)", operation["path"])
        found.append((operation["method"], re.compile(pattern, re.IGNORECASE), operation))
    return found


def find_operation(method: str, path: str) -> tuple[dict[str, Any], list[str]] | None:
    """The subset's operation for ``method path`` and its path parameter values."""
    for op_method, pattern, operation in _operations():
        match = pattern.fullmatch(path)
        if op_method == method and match:
            return operation, list(match.groups())
    return None


def errors_of(ref_or_schema: str | dict[str, Any], instance: Any) -> list[str]:
    """JSON Schema errors of ``instance`` against a ``$defs`` reference or a schema."""
    validator = (
        _validator(ref_or_schema)
        if isinstance(ref_or_schema, str)
        else _schema_validator(ref_or_schema)
    )
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '$'}: {error.message[:300]}"
        for error in validator.iter_errors(instance)
    ]


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "array":
        # OpenAPI's default query style for arrays: form, not exploded (a,b,c).
        return [_coerce(v, schema.get("items", {})) for v in value.split(",")]
    if kind == "boolean":
        return {"true": True, "false": False}.get(value, value)
    if kind == "integer":
        try:
            return int(value)
        except ValueError:
            return value
    if kind == "number":
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    return value


class SpecObserver:
    """Checks each Xero request and response against the spec subset; collects violations."""

    def __init__(self) -> None:
        self.violations: list[str] = []
        self.requests = Counter[str]()
        self.responses = Counter[str]()
        self._lock = threading.Lock()

    def __call__(self, request: requests.PreparedRequest, response: requests.Response) -> None:
        found = self.check(request, response)
        if found:
            with self._lock:
                self.violations.extend(found)

    def check(self, request: requests.PreparedRequest, response: requests.Response) -> list[str]:
        parts = urllib.parse.urlsplit(request.url or "")
        if API_PREFIX not in parts.path:
            return []
        path = parts.path.split(API_PREFIX, 1)[1]
        method = request.method or "GET"
        where = f"{method} {path}"
        located = find_operation(method, urllib.parse.unquote(path))
        if located is None:
            return [f"{where}: not an operation of the spec subset"]
        operation, path_values = located
        name = f"{method} {operation['path']}"
        with self._lock:
            self.requests[name] += 1
            EXERCISED[name] += 1
        problems = self._parameters(operation, parts.query, request, path_values)
        problems += self._request_body(operation, request)
        problems += self._response(operation, response)
        return [f"{name}: {p}" for p in problems]

    def _parameters(
        self,
        operation: dict[str, Any],
        query: str,
        request: requests.PreparedRequest,
        path_values: list[str],
    ) -> list[str]:
        problems = []
        params = {p["name"]: p for p in operation["parameters"]}
        for name, values in urllib.parse.parse_qs(query, keep_blank_values=True).items():
            spec = params.get(name)
            if spec is None or spec["in"] != "query":
                problems.append(f"query parameter {name!r} is not in the spec")
                continue
            for value in values:
                problems += [
                    f"query {name}: {e}"
                    for e in errors_of(spec["schema"], _coerce(value, spec["schema"]))
                ]
        for spec in params.values():
            if spec["in"] == "header":
                value = request.headers.get(spec["name"])
                if value is None:
                    if spec["required"]:
                        problems.append(f"required header {spec['name']} missing")
                    continue
                problems += [
                    f"header {spec['name']}: {e}" for e in errors_of(spec["schema"], value)
                ]
        path_params = [p for p in operation["parameters"] if p["in"] == "path"]
        for spec, value in zip(path_params, path_values, strict=False):
            problems += [
                f"path {spec['name']}: {e}"
                for e in errors_of(spec["schema"], urllib.parse.unquote(value))
            ]
        return problems

    def _request_body(
        self, operation: dict[str, Any], request: requests.PreparedRequest
    ) -> list[str]:
        body = request.body
        spec = operation.get("requestBody")
        if spec is None:
            return ["the operation takes no body, but one was sent"] if body else []
        if not body:
            return ["the request body is missing"] if spec["required"] else []
        try:
            payload = json.loads(body, parse_float=Decimal)
        except ValueError:
            return ["the request body is not JSON"]
        return [f"request {e}" for e in errors_of(spec["schema"], payload)]

    def _response(self, operation: dict[str, Any], response: requests.Response) -> list[str]:
        status = str(response.status_code)
        documented = operation["responses"].get(status)
        with self._lock:
            self.responses[f"{operation['method']} {operation['path']} {status}"] += 1
            EXERCISED[f"{operation['method']} {operation['path']} -> {status}"] += 1
        if documented is None:
            # 401, 429 and 5xx answers (and 404s) are not described by the spec.
            if response.status_code in (200, 201, 204):
                return [f"status {status} is not documented"]
            return []
        schema = documented.get("schema")
        if schema is None:
            return []
        try:
            payload = json.loads(response.content, parse_float=Decimal)
        except ValueError:
            return [f"the {status} response is not JSON"]
        return [f"response {status} {e}" for e in errors_of(schema, payload)]

    def assert_clean(self) -> None:
        """Fail when any request or response broke the spec."""
        assert self.requests, "no Xero request was observed"
        unique = list(dict.fromkeys(self.violations))
        assert not unique, f"{len(unique)} spec violation(s):\n" + "\n".join(unique[:25])
