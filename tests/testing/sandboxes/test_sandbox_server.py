"""The sandbox base: serves an app, injects faults, drops connections after committing."""

from __future__ import annotations

import pytest
import requests

from migrationkit.testing import Fault, Request, Response, SandboxApp, SandboxServer
from migrationkit.testing.sandboxes.server import NoRoute, Routes, retry_after_header


class Counter(SandboxApp):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def handle(self, request: Request) -> Response:
        if request.method == "POST":
            self.count += 1
        return Response(200, {"count": self.count, "q": request.param("q")})


AUTH = {"Authorization": "Bearer anything"}


def test_serves_and_requires_a_bearer_token() -> None:
    app = Counter()
    with SandboxServer(app) as server:
        assert requests.get(f"{server.url}/x?q=1", headers=AUTH, timeout=5).json() == {
            "count": 0,
            "q": "1",
        }
        assert requests.get(f"{server.url}/x", timeout=5).status_code == 401


def test_scripted_faults_come_in_order() -> None:
    app = Counter()
    app.faults.add(Fault(status=429, retry_after=2), times=2)
    app.faults.add(Fault(status=500))
    with SandboxServer(app) as server:
        statuses = [requests.get(server.url, headers=AUTH, timeout=5).status_code for _ in range(4)]
    assert statuses == [429, 429, 500, 200]


def test_a_dropped_connection_still_commits() -> None:
    app = Counter()
    app.faults.add(Fault(drop_after_commit=True, methods=("POST",)))
    with SandboxServer(app) as server:
        with pytest.raises(requests.ConnectionError):
            requests.post(server.url, headers=AUTH, json={}, timeout=5)
        assert app.count == 1, "the server acted although the client heard nothing"


def test_bearer_tokens_any_unless_one_is_given() -> None:
    anything = {"Authorization": "Bearer anything"}
    fixed = {"Authorization": "Bearer the-one"}
    with SandboxServer(Counter()) as server:
        assert requests.get(server.url, headers=anything, timeout=5).status_code == 200
    strict = Counter()
    strict.token, strict.accept_any_token = "the-one", False
    with SandboxServer(strict) as server:
        assert requests.get(server.url, headers=anything, timeout=5).status_code == 401
        assert requests.get(server.url, headers=fixed, timeout=5).status_code == 200
        assert requests.get(server.url, timeout=5).status_code == 401


def test_fault_retry_after_goes_out_in_whole_seconds() -> None:
    app = Counter()
    app.faults.add(Fault(status=429, retry_after=0.01))
    app.faults.add(Fault(status=429, retry_after=2.5))
    app.faults.add(Fault(status=503, retry_after=0))
    with SandboxServer(app) as server:
        answers = [requests.get(server.url, headers=AUTH, timeout=5) for _ in range(3)]
    assert [a.headers["Retry-After"] for a in answers] == ["1", "3", "0"]


def test_retry_after_header_rounds_up_in_the_apis_own_seconds() -> None:
    assert retry_after_header(0.0004) == "1"
    assert retry_after_header(3.153) == "4"
    assert retry_after_header(60) == "60"
    # A sandbox whose windows run 1000 times faster tells the wait in the API's seconds.
    assert retry_after_header(0.0594, scale=1000) == "60"


class Routed(SandboxApp):
    """A sandbox that declares its endpoints, as a new one would."""

    def __init__(self) -> None:
        super().__init__()
        self.routes = Routes("/api/v1", case_sensitive=False)
        self.routes.add("GET", "/<int:division>/GLAccounts", self.accounts)
        self.routes.add(("GET", "DELETE"), "/<int:division>/GLAccounts(guid'<id>')", self.account)

    def accounts(self, request: Request, division: int) -> Response:
        return Response(200, {"division": division})

    def account(self, request: Request, division: int, id: str) -> Response:
        return Response(200, {"division": division, "id": id, "method": request.method})

    def handle(self, request: Request) -> Response:
        try:
            route = self.routes.match(request.method, request.path)
        except NoRoute as missing:
            return Response(missing.status, {"allowed": list(missing.allowed)})
        return route.handler(request, **route.args)


def test_routes_match_werkzeug_rules_and_tell_404_from_405() -> None:
    with SandboxServer(Routed()) as server:
        base = f"{server.url}/api/v1"

        def call(method: str, path: str) -> tuple[int, object]:
            answer = requests.request(method, base + path, headers=AUTH, timeout=5)
            return answer.status_code, answer.json()

        assert call("GET", "/7/GLAccounts") == (200, {"division": 7})
        assert call("GET", "/7/glaccounts") == (200, {"division": 7}), "static parts in any case"
        assert call("DELETE", "/7/GLAccounts(guid'AB-1')") == (
            200,
            {"division": 7, "id": "AB-1", "method": "DELETE"},
        )
        assert call("GET", "/x/GLAccounts")[0] == 404, "<int:...> takes whole numbers only"
        assert call("POST", "/7/GLAccounts") == (405, {"allowed": ["GET", "HEAD"]})
        assert call("GET", "/7/Nothing")[0] == 404
