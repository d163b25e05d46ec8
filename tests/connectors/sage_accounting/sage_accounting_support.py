"""Shared helpers for the sage-accounting tests: the sandbox, the connector, the spec check.

:class:`SpecCheck` is an observer on the connector's ApiClient: every request the connector
sends (query and body) and every answer the sandbox gives is validated against the subset of
Sage's Swagger description derived by ``scripts/derive_sage_spec.py``; tests fail on any
violation.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
from jsonschema import Draft7Validator, FormatChecker

from migrationkit import Connector, PluginRegistry
from migrationkit.connectors.sage_accounting.wire import loads
from migrationkit.testing.sandboxes.sage_accounting.app import SageSandbox, SageSandboxServer

SUBSET = Path(__file__).parent / "spec" / "sage-subset.json"
SCALE = 200.0
"""Time runs this much faster in tests: rate windows and backoff shrink alike."""

_FORMATS = FormatChecker()


@_FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    # Sage's delta parameters take a date or a date-time with an offset or Z.
    if not re.fullmatch(
        r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?", value
    ):
        raise ValueError(f"{value!r} is not a date-time")
    dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


class SpecCheck:
    """Validates traffic against the derived subset and keeps every violation."""

    def __init__(self, *, requests: bool = True) -> None:
        self.check_requests = requests
        self.spec = json.loads(SUBSET.read_text("utf-8"))
        self.base = self.spec["basePath"]
        self.violations: list[str] = []
        self.seen: Counter[str] = Counter()
        self.params: Counter[str] = Counter()
        self._validators: dict[str, Draft7Validator] = {}
        self._templates = [
            (re.compile("^" + re.sub(r"\{key\}", "[^/]+", path) + "$"), path)
            for path in self.spec["operations"]
        ]

    def _validator(self, name: str, schema: dict[str, Any]) -> Draft7Validator:
        if name not in self._validators:
            full = {**schema, "definitions": self.spec["definitions"]}
            self._validators[name] = Draft7Validator(full, format_checker=_FORMATS)
        return self._validators[name]

    def _template(self, path: str) -> str | None:
        for pattern, template in self._templates:
            if pattern.match(path):
                return template
        return None

    def __call__(self, request: requests.PreparedRequest, response: requests.Response) -> None:
        url = urllib.parse.urlsplit(request.url or "")
        path = url.path.removeprefix(self.base)
        method = request.method or "GET"
        where = f"{method} {path}"
        template = self._template(path)
        operation = (self.spec["operations"].get(template or "") or {}).get(method)
        if operation is None:
            if self.check_requests or response.status_code < 400:
                self.violations.append(f"{where}: not an operation of the Sage description")
            else:
                # A refused request to an operation Sage does not have: its answer must still
                # be Sage's error array.
                self._answer(where, "", method, {"responses": {}}, response)
            return
        self.seen[f"{method} {template}"] += 1
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        self.params.update(f"{method} {template}?{name}" for name in query)
        if self.check_requests:
            self._query(where, operation, query)
            self._body(where, template or "", method, operation, request.body)
        self._answer(where, template or "", method, operation, response)

    def _query(self, where: str, operation: dict[str, Any], query: dict[str, list[str]]) -> None:
        declared = operation["query"]
        for name, values in query.items():
            schema = declared.get(name)
            if schema is None:
                self.violations.append(f"{where}: query parameter {name!r} is not declared")
                continue
            for value in values:
                problem = _query_value(value, schema)
                if problem:
                    self.violations.append(f"{where}: query {name}={value!r}: {problem}")

    def _body(
        self, where: str, template: str, method: str, operation: dict[str, Any], body: Any
    ) -> None:
        schema = operation.get("body")
        if schema is None:
            if body:
                self.violations.append(f"{where}: sends a body the operation does not take")
            return
        data = loads(body) if body else None
        validator = self._validator(f"body {method} {template}", schema)
        for error in validator.iter_errors(data):
            self.violations.append(f"{where} request {_path(error)}: {error.message}")

    def _answer(
        self,
        where: str,
        template: str,
        method: str,
        operation: dict[str, Any],
        response: requests.Response,
    ) -> None:
        status = response.status_code
        data = loads(response.content) if response.content else None
        if status >= 400:
            schema: dict[str, Any] | None = {"$ref": "#/definitions/SageErrors"}
            name = "errors"
        else:
            answers = operation["responses"]
            if str(status) not in answers:
                self.violations.append(f"{where}: answered {status}, which is not declared")
                return
            schema = answers[str(status)]
            name = f"answer {method} {template} {status}"
        if schema is None:
            if data is not None:
                self.violations.append(f"{where}: {status} carries a body, none is declared")
            return
        for error in self._validator(name, schema).iter_errors(data):
            self.violations.append(f"{where} answer {status} {_path(error)}: {error.message}")

    def assert_clean(self) -> None:
        assert not self.violations, "\n".join(dict.fromkeys(self.violations))


def _path(error: Any) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)


def _query_value(value: str, schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", value):
            return "not an integer"
        number = int(value)
        if "minimum" in schema and number < schema["minimum"]:
            return f"below the minimum {schema['minimum']}"
        if "maximum" in schema and number > schema["maximum"]:
            return f"above the maximum {schema['maximum']}"
    elif kind == "boolean" and value not in ("true", "false", "True", "False"):
        return "not a boolean"
    elif schema.get("format") == "date-time":
        try:
            _date_time(value)
        except ValueError as exc:
            return str(exc)
    if "enum" in schema and value not in schema["enum"]:
        return f"not one of {schema['enum']}"
    return None


@contextlib.contextmanager
def sandbox(**options: Any) -> Iterator[tuple[SageSandbox, SageSandboxServer]]:
    """A running sandbox (time scaled for tests unless told otherwise)."""
    options.setdefault("rate_scale", SCALE)
    app = SageSandbox(**options)
    with SageSandboxServer(app) as server:
        yield app, server


def connector_options(app: SageSandbox, server: SageSandboxServer, **extra: Any) -> dict[str, Any]:
    return {
        "location": app.business_id,
        "base_url": f"{server.url}/v3.1",
        "access_token": app.token,
        "rate_scale": SCALE,
        **extra,
    }


def open_connector(
    app: SageSandbox, server: SageSandboxServer, check: SpecCheck | None = None, **extra: Any
) -> Connector:
    """The connector on the sandbox, its traffic observed by ``check`` when given."""
    connector = PluginRegistry().open("sage-accounting", connector_options(app, server, **extra))
    if check is not None:
        connector.instance.client.api.observers.append(check)
    return connector


class FaultsAt:
    """A run observer that queues sandbox faults when the run reaches an entity."""

    def __init__(self, app: SageSandbox, plan: dict[str, list[Any]]) -> None:
        self.app = app
        self.plan = {entity: list(faults) for entity, faults in plan.items()}

    def entity_started(self, entity: str, phase: str) -> None:
        if phase == "loading":
            for fault in self.plan.pop(entity, ()):
                self.app.faults.add(fault)

    def advanced(self, entity: str, count: int) -> None:
        pass

    def entity_finished(self, entity: str, counts: Any) -> None:
        pass

    def note(self, message: str) -> None:
        pass


def held(migration: Any, entity: str) -> Counter[str]:
    """Source keys of what the target holds of ``entity``, read back from Sage."""
    info = migration.store.migrations()[0]
    reverse = migration.store.reverse_lookup(info.id, entity)
    return Counter(reverse.get(r.key, f"?{r.key}") for r in migration.target.extract(entity))


def assert_exactly_once(migration: Any, entities: tuple[str, ...], report: Any) -> None:
    """Every source record of ``entities`` that moved is on Sage once; nothing else is."""
    gone = {(p.entity, p.source_key) for p in report.problems if p.outcome in ("skipped", "failed")}
    for entity in entities:
        wanted = {r.key for r in migration.source.extract(entity)} - {
            key for e, key in gone if e == entity
        }
        on_target = held(migration, entity)
        doubles = {k: n for k, n in on_target.items() if n > 1}
        assert not doubles, f"{entity} held more than once: {doubles}"
        assert set(on_target) == wanted, f"{entity}: {set(on_target) ^ wanted}"


def authorize(app: SageSandbox, server: SageSandboxServer, store_path: Path) -> Any:
    """Log in to the sandbox as a user would (the browser step done by hand); returns the
    OAuth2Session whose store now holds the tokens."""
    from migrationkit.connectors.sage_accounting.auth import oauth_session

    session = oauth_session(
        app.client_id, app.client_secret, store_path, token_url=f"{server.url}/oauth/token"
    )
    redirect = "http://localhost:8765/callback"
    answer = requests.get(
        f"{server.url}/oauth/authorize",
        params={"client_id": app.client_id, "redirect_uri": redirect, "response_type": "code"},
        allow_redirects=False,
        timeout=5,
    )
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(answer.headers["Location"]).query)["code"][0]
    session.exchange_code(code, redirect)
    return session
