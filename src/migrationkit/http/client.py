"""An HTTP client for accounting APIs: rate limits, retries from a table, token refresh.

What each answer means is data (:data:`DEFAULT_ACTIONS`), not ``if`` chains: the table turns a
status into an error on the retriable/permanent axis of :mod:`migrationkit.core.errors`, and the
client sends again what is retriable (waiting ``Retry-After``, or backing off), refreshes the
access token once on 401, and raises the rest. A dropped connection is retriable too, but a
request that is not safe to repeat is never resent blindly: it raises :class:`ConnectionLost`.
A connector adjusts the table and tells the client how to read its API's rate-limit headers.
Secrets never reach an error message or a log line.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import enum
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import attrs
import requests

from migrationkit.core.errors import (
    AuthError,
    ConnectionLost,
    DailyLimitReached,
    RateLimitError,
    RemoteAPIError,
)

from .ratelimit import RateLimiter

__all__ = [
    "DEFAULT_ACTIONS",
    "Action",
    "ApiClient",
    "ConnectionLost",
    "StaticToken",
    "TokenProvider",
    "retry_after",
]

log = logging.getLogger("migrationkit.http")


class Action(enum.Enum):
    """What an answer means: RETRY, RATE_LIMITED and DAILY_LIMIT are retriable errors (the
    last only later), REFRESH_AUTH asks for a new token once, FAIL is a permanent error."""

    RETRY = "retry"
    RATE_LIMITED = "rate_limited"
    DAILY_LIMIT = "daily_limit"
    REFRESH_AUTH = "refresh_auth"
    FAIL = "fail"


OUTCOME_UNKNOWN = (500, 502, 504)
"""Answers after which a write may have landed all the same (a gateway timed out on it): a
request that is not safe to repeat is not sent again but raised as :class:`ConnectionLost`."""

DEFAULT_ACTIONS: Mapping[int, Action] = {
    401: Action.REFRESH_AUTH,
    408: Action.RETRY,
    429: Action.RATE_LIMITED,
    500: Action.RETRY,
    502: Action.RETRY,
    503: Action.RETRY,
    504: Action.RETRY,
}
"""Status code to action; any other 4xx fails at once, 2xx and 3xx succeed."""


class TokenProvider(Protocol):
    """Supplies bearer tokens and renews them."""

    def access_token(self) -> str: ...
    def refresh(self, rejected: str) -> str: ...


class StaticToken:
    """A fixed bearer token given as an option (a sandbox's, or one made elsewhere).

    It cannot be refreshed: when the API refuses it, the error says how to get tokens that can.
    """

    def __init__(self, token: str, *, system: str, login_hint: str) -> None:
        self._token = token
        self._system = system
        self._login_hint = login_hint

    def __repr__(self) -> str:
        return "StaticToken(<hidden>)"

    def access_token(self) -> str:
        return self._token

    def refresh(self, rejected: str) -> str:
        raise AuthError(
            f"{self._system} refused the access token given in the options, and a fixed token "
            f"cannot be refreshed: {self._login_hint} and leave access_token out"
        )


def retry_after(response: requests.Response, default: float, *, scale: float = 1.0) -> float:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date).

    ``scale`` divides the server's seconds (a sandbox whose time runs faster); ``default`` is
    taken as it is.
    """
    value = response.headers.get("Retry-After")
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return default
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    return max(seconds, 0.0) / scale


Classifier = Callable[[requests.Response], Action | None]
Observer = Callable[[requests.PreparedRequest, requests.Response], None]


@attrs.define
class ApiClient:
    """One API's base URL, auth, limits and retry rules, over a ``requests.Session``.

    ``classify`` may override the table for a response (Xero's 429 that names the *day* limit);
    ``read_limits`` turns response headers into ``(minute_remaining, day_remaining)``;
    ``observers`` see every request and response (tests check them against the API's spec);
    ``time_scale`` divides the waits the server asks for (``Retry-After``), for a sandbox whose
    time runs that many times faster (its ``rate_scale``).
    """

    base_url: str
    auth: TokenProvider | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    limiter: RateLimiter | None = None
    actions: Mapping[int, Action] = DEFAULT_ACTIONS
    classify: Classifier | None = None
    read_limits: Callable[[requests.Response], tuple[int | None, int | None]] | None = None
    retries: int = 6
    backoff: float = 0.5
    max_backoff: float = 60.0
    timeout: float = 60.0
    time_scale: float = 1.0
    session: requests.Session = attrs.field(factory=requests.Session)
    sleep: Callable[[float], None] = time.sleep
    observers: list[Observer] = attrs.field(factory=list)
    name: str = "API"
    requests_sent: int = 0

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def _wait(self, attempt: int) -> float:
        # Exponential backoff with full jitter, so parallel workers do not retry in step.
        return random.uniform(0, min(self.max_backoff, self.backoff * 2**attempt))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        expect: tuple[int, ...] = (),
    ) -> requests.Response:
        """Send one request, sending again what is retriable; return the final answer.

        ``idempotent`` says whether a request whose connection broke may be sent again (by
        default GET, PUT, DELETE and any request carrying an ``Idempotency-Key``). ``expect``
        lists error statuses the caller handles itself (returned, not raised).
        """
        sent_headers = {**self.headers, **(headers or {})}
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE") or any(
                k.lower() == "idempotency-key" for k in sent_headers
            )
        refreshed = False
        attempt = 0
        while True:
            token = self.auth.access_token() if self.auth else None
            if token:
                sent_headers["Authorization"] = f"Bearer {token}"
            try:
                response = self._send(method, path, params, json, data, sent_headers)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if not idempotent:
                    raise ConnectionLost(
                        f"{self.name}: the connection broke during {method} {path}; "
                        "the server may have acted on it",
                    ) from None
                error: RemoteAPIError = RemoteAPIError(
                    f"{self.name}: {method} {path} failed {attempt + 1} times: "
                    f"{type(exc).__name__}",
                    retriable=True,
                )
                wait = self._wait(attempt)
            else:
                if response.status_code < 400 or response.status_code in expect:
                    return response
                action = (self.classify(response) if self.classify else None) or (
                    self.actions.get(response.status_code, Action.FAIL)
                )
                if action is Action.REFRESH_AUTH and self.auth and not refreshed and token:
                    self.auth.refresh(token)
                    refreshed = True
                    continue
                if not idempotent and response.status_code in OUTCOME_UNKNOWN:
                    # A gateway that timed out may have passed the write on: never resent blindly;
                    # the caller looks the record up first.
                    raise ConnectionLost(
                        f"{self.name}: {method} {path} was answered {response.status_code}; "
                        "the server may have acted on it",
                        status=response.status_code,
                        body=response.text[:2000],
                    )
                error = self._error(method, path, response, action)
                default = 3600.0 / self.time_scale if action is Action.DAILY_LIMIT else None
                wait = retry_after(response, default or self._wait(attempt), scale=self.time_scale)
                if action in (Action.RATE_LIMITED, Action.DAILY_LIMIT) and self.limiter:
                    self.limiter.pause(wait)
            # What is sent again follows the error's axis: retriable now, within the retries.
            if not error.retriable or error.resume_at is not None or attempt >= self.retries:
                raise error
            answer = error.status or type(error).__name__
            log.info("%s %s %s: %s, waiting %.2fs", self.name, method, path, answer, wait)
            self.sleep(wait)
            attempt += 1

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Any,
        headers: Mapping[str, str],
    ) -> requests.Response:
        def send() -> requests.Response:
            self.requests_sent += 1
            return self.session.request(
                method,
                self.url(path),
                params=params,
                json=json,
                data=data,
                headers=dict(headers),
                timeout=self.timeout,
            )

        if self.limiter:
            with self.limiter.slot():
                response = send()
        else:
            response = send()
        if self.limiter and self.read_limits:
            self.limiter.observe(*self.read_limits(response))
        for observer in self.observers:
            observer(response.request, response)
        return response

    def _error(
        self, method: str, path: str, response: requests.Response, action: Action
    ) -> RemoteAPIError:
        """The error an answer stands for: the table's action says whether it is retriable."""
        body = response.text[:2000]
        status = response.status_code
        where = f"{self.name}: {method} {path.split('?')[0]} answered {status}"
        if action is Action.DAILY_LIMIT:
            wait = retry_after(response, 3600.0 / self.time_scale, scale=self.time_scale)
            resume_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=wait)
            return DailyLimitReached(
                f"{self.name}: the daily call limit is spent; run the same command again "
                f"after {resume_at:%Y-%m-%d %H:%M} UTC",
                retry_after=wait,
                resume_at=resume_at,
                status=status,
                body=body,
            )
        if action is Action.RATE_LIMITED:
            return RateLimitError(
                f"{where}: still rate limited after {self.retries} retries",
                retry_after=retry_after(response, 60.0, scale=self.time_scale),
                status=status,
                body=body,
            )
        if action is Action.REFRESH_AUTH or status in (401, 403):
            return AuthError(f"{where}: access was refused; log in again", status=status, body=body)
        retriable = action is Action.RETRY
        return RemoteAPIError(where, status=status, body=body, retriable=retriable)
