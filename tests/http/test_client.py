"""The API client: retries from its table, Retry-After, token refresh, dropped connections."""

from __future__ import annotations

import pytest
import requests
import responses

from migrationkit import AuthError, DailyLimitReached, RemoteAPIError
from migrationkit.http import Action, ApiClient, ConnectionLost

URL = "https://api.example.test/v1"


class Tokens:
    def __init__(self) -> None:
        self.token = "t1"
        self.refreshed: list[str] = []

    def access_token(self) -> str:
        return self.token

    def refresh(self, rejected: str) -> str:
        self.refreshed.append(rejected)
        self.token = "t2"
        return self.token


WAITS: list[float] = []


def client(**kwargs: object) -> ApiClient:
    WAITS.clear()
    return ApiClient(URL, sleep=WAITS.append, **kwargs)  # type: ignore[arg-type]


@responses.activate
def test_5xx_and_429_are_retried_honouring_retry_after() -> None:
    responses.get(f"{URL}/things", status=503)
    responses.get(f"{URL}/things", status=429, headers={"Retry-After": "7"})
    responses.get(f"{URL}/things", json={"ok": True})
    api = client()
    assert api.request("GET", "things").json() == {"ok": True}
    assert WAITS[1] == 7.0
    assert api.requests_sent == 3


@responses.activate
def test_other_4xx_fail_at_once_with_the_body() -> None:
    responses.post(f"{URL}/things", status=400, json={"Message": "bad"})
    with pytest.raises(RemoteAPIError, match="answered 400") as caught:
        client().request("POST", "things", json={}, idempotent=True)
    assert caught.value.body is not None and "bad" in caught.value.body


@responses.activate
def test_401_refreshes_once_and_never_shows_the_token() -> None:
    responses.get(f"{URL}/me", status=401)
    responses.get(f"{URL}/me", json={"me": 1})
    tokens = Tokens()
    api = client(auth=tokens)
    assert api.request("GET", "me").json() == {"me": 1}
    assert tokens.refreshed == ["t1"]
    assert responses.calls[1].request.headers["Authorization"] == "Bearer t2"
    responses.get(f"{URL}/me2", status=401)
    with pytest.raises(AuthError) as caught:
        client(auth=tokens).request("GET", "me2")
    assert "t2" not in str(caught.value)


@responses.activate
def test_a_classifier_can_name_the_daily_limit() -> None:
    responses.get(
        f"{URL}/x", status=429, headers={"Retry-After": "3600", "X-Rate-Limit-Problem": "day"}
    )
    api = client(
        classify=lambda r: (
            Action.DAILY_LIMIT if r.headers.get("X-Rate-Limit-Problem") == "day" else None
        )
    )
    with pytest.raises(DailyLimitReached, match="run the same command again") as caught:
        api.request("GET", "x")
    assert caught.value.retry_after == 3600.0


@responses.activate
def test_a_broken_connection_is_retried_only_when_safe() -> None:
    responses.post(f"{URL}/create", body=requests.ConnectionError("reset"))
    with pytest.raises(ConnectionLost, match="may have acted on it"):
        client().request("POST", "create", json={})
    responses.post(f"{URL}/create2", body=requests.ConnectionError("reset"))
    responses.post(f"{URL}/create2", json={"id": 1})
    answer = client().request("POST", "create2", json={}, headers={"Idempotency-Key": "k"})
    assert answer.json() == {"id": 1}


@responses.activate
def test_retry_after_is_divided_by_the_time_scale_of_a_sandbox() -> None:
    """A sandbox running 1000 times faster says ``Retry-After: 7`` in the API's own seconds."""
    responses.get(f"{URL}/things", status=429, headers={"Retry-After": "7"})
    responses.get(f"{URL}/things", json={"ok": True})
    api = client(time_scale=1000.0)
    assert api.request("GET", "things").json() == {"ok": True}
    assert len(WAITS) == 1 and WAITS[0] == pytest.approx(0.007)
