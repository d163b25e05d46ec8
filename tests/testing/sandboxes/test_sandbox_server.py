"""The sandbox base: serves an app, injects faults, drops connections after committing."""

from __future__ import annotations

import pytest
import requests

from migrationkit.testing import Fault, Request, Response, SandboxApp, SandboxServer


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
