"""Talking to the Xero Accounting API: the shared HTTP client set up for Xero.

:func:`make_client` builds a :class:`migrationkit.http.ApiClient` with Xero's base URL and
``xero-tenant-id`` header, a rate limiter for Xero's per-tenant limits (5 in flight, 60 a
minute, 5,000 a day), a classifier that tells the daily limit (429 with
``X-Rate-Limit-Problem: day``) from the minute limit, and a reader of
``X-MinLimit-Remaining`` / ``X-DayLimit-Remaining``. :class:`XeroApi` adds Xero's conventions on
top: JSON bodies with exact amounts, paging, and writes that return the per-element results.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import requests

from migrationkit.core.errors import RemoteAPIError
from migrationkit.handlers.feeds import reach_back
from migrationkit.http import Action, ApiClient, Limits, RateLimiter, TokenProvider

from . import wire
from .options import XERO_API_URL, XERO_TOKEN_URL

__all__ = [
    "CLIENT_LIMITS",
    "XERO_API_URL",
    "XERO_AUTHORIZE_URL",
    "XERO_CONNECTIONS_URL",
    "XERO_LIMITS",
    "XERO_TOKEN_URL",
    "WriteResult",
    "XeroApi",
    "classify",
    "make_client",
    "read_limits",
]

XERO_AUTHORIZE_URL = "https://login.xero.com/identity/connect/authorize"
XERO_CONNECTIONS_URL = "https://api.xero.com/connections"
XERO_LIMITS = Limits(concurrent=5, per_minute=60, per_day=5000)
CLIENT_LIMITS = Limits(concurrent=5, per_minute=60, per_day=5000, minute=61.0, day=86_460.0)
"""Xero's limits as our limiter keeps them: windows a second (a minute for the day) longer, so
that our count, taken when a call leaves, never runs ahead of Xero's, taken when it arrives."""
PAGE_SIZE = 100

Observer = Callable[[requests.PreparedRequest, requests.Response], None]


def classify(response: requests.Response) -> Action | None:
    """Xero's answers that the default table reads wrongly.

    A 429 names the limit it hit: only the *day* limit means stopping (its ``Retry-After`` can
    be many hours, xero-python#74); the minute and concurrency limits mean waiting.
    """
    if response.status_code == 429:
        problem = response.headers.get("X-Rate-Limit-Problem", "").strip().lower()
        return Action.DAILY_LIMIT if problem == "day" else Action.RATE_LIMITED
    return None


def read_limits(response: requests.Response) -> tuple[int | None, int | None]:
    """``(calls left this minute, calls left today)`` from Xero's response headers."""
    return _header_int(response, "X-MinLimit-Remaining"), _header_int(
        response, "X-DayLimit-Remaining"
    )


def _header_int(response: requests.Response, name: str) -> int | None:
    value = response.headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def make_client(
    *,
    base_url: str,
    tenant_id: str,
    auth: TokenProvider,
    rate_scale: float = 1.0,
    limits: Limits = CLIENT_LIMITS,
    session: requests.Session | None = None,
    observers: Iterable[Observer] = (),
    sleep: Callable[[float], None] = time.sleep,
    retries: int = 6,
    timeout: float = 60.0,
) -> ApiClient:
    """An :class:`ApiClient` for one Xero tenant, rate limited on our side."""
    return ApiClient(
        base_url=base_url,
        auth=auth,
        headers={
            "xero-tenant-id": tenant_id,
            "Accept": "application/json",
            "User-Agent": "migrationkit-xero",
        },
        limiter=RateLimiter(limits.scaled(rate_scale), sleep=sleep),
        classify=classify,
        read_limits=read_limits,
        session=session or requests.Session(),
        sleep=sleep,
        observers=list(observers),
        name="Xero",
        retries=retries,
        backoff=0.5 / rate_scale,
        max_backoff=60.0 / rate_scale,
        time_scale=rate_scale,
        timeout=timeout,
    )


class WriteResult:
    """What a write answered: the returned elements, or Xero's validation error.

    ``elements`` holds one entry per element sent when Xero answered 200 (with
    ``summarizeErrors=false`` each carries its own ``ValidationErrors``), or the echoed failed
    elements of a 400 ``ValidationException``.
    """

    def __init__(self, status: int, body: Any, key: str | None) -> None:
        self.status = status
        self.body = body if isinstance(body, dict) else {}
        self.key = key

    @property
    def ok(self) -> bool:
        return self.status in (200, 204)

    @property
    def elements(self) -> list[dict[str, Any]]:
        if self.ok and self.key:
            return list(self.body.get(self.key) or [])
        return list(self.body.get("Elements") or [])

    def messages(self) -> list[str]:
        """Every validation message of a refused request, in order."""
        found: list[str] = []
        for element in self.elements:
            found.extend(m.get("Message", "") for m in element.get("ValidationErrors") or ())
        if not found and self.body.get("Message"):
            found.append(str(self.body["Message"]))
        return [m for m in found if m]


class XeroApi:
    """Xero's calling conventions over an :class:`ApiClient`."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        since: dt.datetime | None = None,
        missing_ok: bool = False,
    ) -> Any:
        """GET one resource; ``None`` for a 404 when ``missing_ok``."""
        headers = {}
        if since is not None:
            headers["If-Modified-Since"] = _http_since(since)
        response = self.client.request(
            "GET",
            path,
            params=_strings(params),
            headers=headers,
            expect=(404,) if missing_ok else (),
        )
        if response.status_code == 404:
            return None
        if response.status_code == 304:
            return {}
        return wire.loads(response.content)

    def pages(
        self,
        path: str,
        key: str,
        params: Mapping[str, Any] | None = None,
        *,
        since: dt.datetime | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Every record of a paged endpoint, page after page until a short page."""
        page = 1
        while True:
            body = self.get(
                path, {**(params or {}), "page": page, "pageSize": page_size}, since=since
            )
            records = list((body or {}).get(key) or [])
            yield from records
            # Do not trust the pagination block alone (xero-node#694): a short page ends it.
            if len(records) < page_size:
                return
            page += 1

    def write(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        key: str | None,
        idempotency_key: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> WriteResult:
        """Send a write; a 400 ``ValidationException`` comes back as a result, not an error."""
        headers = {"Content-Type": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key[:128]
        response = self.client.request(
            method,
            path,
            params=_strings(params),
            data=wire.dumps(body) if body is not None else None,
            headers=headers,
            expect=(400,),
        )
        if response.status_code == 204 or not response.content:
            return WriteResult(response.status_code, {}, key)
        try:
            parsed = wire.loads(response.content)
        except ValueError:
            raise RemoteAPIError(
                f"Xero: {method} {path} answered {response.status_code} with a body that is not "
                "JSON",
                status=response.status_code,
            ) from None
        if response.status_code == 400 and not _is_validation(parsed):
            raise RemoteAPIError(
                f"Xero: {method} {path} answered 400: {_summary(parsed)}",
                status=400,
                body=response.text[:2000],
            )
        return WriteResult(response.status_code, parsed, key)


def _is_validation(body: Any) -> bool:
    return isinstance(body, dict) and body.get("Type") == "ValidationException"


def _summary(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("Message") or body.get("Detail") or body.get("Title") or "")[:200]
    return ""


def _strings(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not params:
        return None
    out = {}
    for name, value in params.items():
        if value is None:
            continue
        out[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def _http_since(moment: dt.datetime) -> str:
    """``If-Modified-Since`` as the spec's ``date-time`` (its example: RFC 3339), in UTC.

    Asked from the kit's clock margin earlier than ``moment``: Xero's clock is not ours.
    """
    return reach_back(moment).isoformat(timespec="milliseconds")
