"""Exact Online's REST API over the shared :class:`~migrationkit.http.ApiClient`.

The toolkit retries (429, 5xx, dropped connections), refreshes the token once on 401 and keeps
the client-side rate limit. This module adds what is Exact's own:

* the division in every path (``/api/v1/{division}/...``), OData v2 envelopes, paging by
  ``d.__next`` (an expanded collection's own ``__next`` too) and ``$select`` on every read;
* ``Prefer: return=representation`` on every create, so the answer carries the new entity;
* Exact's limits (:data:`LIMITS`): 60 calls a minute and 5,000 a day per division, read from
  the ``X-RateLimit-*`` headers, whose resets are epoch milliseconds. A minutely 429 carries only
  the minutely headers; Exact sends no ``Retry-After``, so the wait comes from the reset. When
  the day is spent, the run stops with :class:`~migrationkit.DailyLimitReached` saying when it
  can resume;
* the error budget: Exact blocks an app for an hour after 10 refused requests (400, 401, 403,
  404) to one endpoint in an hour. The client counts them and stops the run at
  ``error_budget`` (:class:`ErrorBudgetSpent`) instead of being blocked; a refused record is
  never sent again blindly.
"""

from __future__ import annotations

import collections
import datetime as dt
import math
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import attrs
import requests

from migrationkit.core.errors import DailyLimitReached, RemoteAPIError
from migrationkit.http import Action, ApiClient, Limits, RateLimiter, TokenProvider

from . import wire

__all__ = [
    "BUDGET_STATUSES",
    "CLIENT_LIMITS",
    "LIMITS",
    "ErrorBudgetSpent",
    "ExactClient",
    "Reply",
    "classify",
    "endpoint_of",
    "read_limits",
]

LIMITS = Limits(per_minute=60, per_day=5000)
"""Exact's published limits per division and app: 60 calls a minute, 5,000 a day."""
CLIENT_LIMITS = Limits(per_minute=60, per_day=5000, minute=61.0, day=86_460.0)
"""The same as our limiter keeps them: windows a little longer, so that our count (taken when a
call leaves) never runs ahead of Exact's (taken when it arrives)."""
PAGE_SIZE = 60
"""Rows per page on standard endpoints."""
BULK_PAGE_SIZE = 1000
"""Rows per page on ``bulk/`` and ``sync/`` endpoints."""
BUDGET_STATUSES = (400, 401, 403, 404)
"""Answers Exact counts against the error budget."""
HANDLED_STATUSES = (400, 403, 404, 409, 422)
"""Answers about one request, returned to the caller as data instead of raised."""
BUDGET_WINDOW = 3600.0
"""Exact's error budget counts per hour."""

_KEY = re.compile(r"\(.*\)$")


class ErrorBudgetSpent(RemoteAPIError):
    """So many requests to one endpoint were refused this hour that Exact would block the app.

    Retriable, later (``resume_at``): once the failed records are fixed, the run resumes.
    """

    retriable = True


def endpoint_of(url: str) -> str:
    """The endpoint a URL or path names, without host, division, key or query.

    ``https://…/api/v1/123/salesentry/SalesEntries(guid'…')?$select=…`` is
    ``salesentry/SalesEntries``.
    """
    path = urllib.parse.urlsplit(url).path
    parts = [p for p in path.split("/") if p]
    if "v1" in parts:
        parts = parts[parts.index("v1") + 2 :]
    return _KEY.sub("", "/".join(parts))


def _header_int(response: requests.Response, name: str) -> int | None:
    value = response.headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def read_limits(response: requests.Response) -> tuple[int | None, int | None]:
    """``(calls left this minute, calls left today)`` from Exact's headers."""
    return (
        _header_int(response, "X-RateLimit-Minutely-Remaining"),
        _header_int(response, "X-RateLimit-Remaining"),
    )


def classify(response: requests.Response) -> Action | None:
    """A 429 with the day's headers at zero is the daily limit, any other 429 the minute's.

    A minutely 429 carries only the minutely headers (the daily ones are absent), so only a
    daily ``X-RateLimit-Remaining`` of 0 means stopping. (A create answered 500, 502 or 504
    raises the toolkit's ``ConnectionLost``: the handler looks before sending it again.)
    """
    if response.status_code == 429:
        daily = _header_int(response, "X-RateLimit-Remaining")
        minutely = _header_int(response, "X-RateLimit-Minutely-Remaining")
        return Action.DAILY_LIMIT if daily == 0 and minutely != 0 else Action.RATE_LIMITED
    return None


def _wait_from_reset(scale: float) -> Callable[..., requests.Response]:
    """A response hook giving a 429 the ``Retry-After`` Exact leaves out: until the reset."""

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        if response.status_code != 429 or "Retry-After" in response.headers:
            return response
        daily = classify(response) is Action.DAILY_LIMIT
        name = "X-RateLimit-Reset" if daily else "X-RateLimit-Minutely-Reset"
        reset = _header_int(response, name)
        if reset is not None:
            # picqer waits a second past the reset, so that Exact's window has surely turned.
            # Told in Exact's own seconds, whole, as Retry-After is (the client divides by scale).
            seconds = max(reset / 1000 - time.time(), 0.0) * scale + 1.0
            response.headers["Retry-After"] = str(math.ceil(seconds))
        return response

    return hook


@attrs.frozen
class Reply:
    """One answer from Exact: the status, the decoded body and the raw text (for reports)."""

    status: int
    data: Any
    text: str

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def message(self) -> str:
        return wire.error_message(self.data)

    @property
    def entity(self) -> dict[str, Any]:
        """The single entity of a ``{"d": {...}}`` answer."""
        found, _next = wire.rows(self.data)
        return found[0] if found else {}


class _Budget:
    """Refused requests per endpoint in the last (scaled) hour."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._refused: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )
        self._lock = threading.Lock()

    def _recent(self, endpoint: str) -> collections.deque[float]:
        times = self._refused[endpoint]
        while times and times[0] <= self.clock() - self.window:
            times.popleft()
        return times

    def check(self, endpoint: str) -> None:
        with self._lock:
            times = self._recent(endpoint)
            if len(times) < self.limit:
                return
            free = times[0] + self.window - self.clock()
        when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=free)
        error = ErrorBudgetSpent(
            f"Exact Online refused {self.limit} requests to {endpoint} in the last hour and "
            f"blocks the app for an hour at 10: nothing more goes to {endpoint} until "
            f"{when:%H:%M} UTC; fix the failed records, then run the same command again"
        )
        error.resume_at = when
        raise error

    def refused(self, endpoint: str) -> None:
        with self._lock:
            self._recent(endpoint).append(self.clock())


class ExactClient:
    """Requests against one Exact Online division, through the toolkit's retrying client."""

    def __init__(self, api: ApiClient, *, error_budget: int = 8, rate_scale: float = 1.0) -> None:
        self.api = api
        self.division: int | None = None
        self.choose: Callable[[], int] | None = None
        """Chooses the division when a request first needs it."""
        self.budget = _Budget(error_budget, BUDGET_WINDOW / rate_scale, time.monotonic)
        self.day_remaining: int | None = None
        self.day_limit: int | None = None
        self.day_reset: float | None = None
        self.api.observers.append(self._observe)

    @classmethod
    def build(
        cls,
        base_url: str,
        auth: TokenProvider | None,
        *,
        rate_scale: float = 1.0,
        error_budget: int = 8,
        timeout: float = 60.0,
        observers: Iterable[Callable[..., None]] = (),
        session: requests.Session | None = None,
    ) -> ExactClient:
        """A client with Exact's limits; ``rate_scale`` makes time run faster (sandboxes)."""
        session = session or requests.Session()
        session.hooks["response"].append(_wait_from_reset(rate_scale))
        api = ApiClient(
            base_url=base_url.rstrip("/") + "/api/v1",
            auth=auth,
            headers={"Accept": "application/json", "User-Agent": "migrationkit-exact"},
            limiter=RateLimiter(CLIENT_LIMITS.scaled(rate_scale)),
            classify=classify,
            read_limits=read_limits,
            backoff=0.5 / rate_scale,
            max_backoff=60.0 / rate_scale,
            time_scale=rate_scale,
            timeout=timeout,
            name="Exact Online",
            session=session,
            observers=list(observers),
        )
        return cls(api, error_budget=error_budget, rate_scale=rate_scale)

    # -- the division ----------------------------------------------------------------------------

    def use_division(self, division: int) -> None:
        self.division = division

    def current_division(self) -> int:
        """The login's current division (``GET current/Me``, ``CurrentDivision``)."""
        reply = self.send("GET", "current/Me", params={"$select": "CurrentDivision"}, own=False)
        if not reply.ok:
            raise RemoteAPIError(
                f"Exact Online refused current/Me: {reply.message}", status=reply.status
            )
        return int(reply.entity["CurrentDivision"])

    def path(self, endpoint: str) -> str:
        if endpoint.startswith(("http://", "https://")):
            return endpoint
        if self.division is None and self.choose is not None:
            self.use_division(self.choose())
        if self.division is None:
            raise RuntimeError("the division is not chosen yet")
        return f"{self.division}/{endpoint}"

    # -- requests --------------------------------------------------------------------------------

    def _observe(self, request: requests.PreparedRequest, response: requests.Response) -> None:
        remaining = _header_int(response, "X-RateLimit-Remaining")
        if remaining is not None:
            self.day_remaining = remaining
            self.day_limit = _header_int(response, "X-RateLimit-Limit")
            reset = _header_int(response, "X-RateLimit-Reset")
            self.day_reset = reset / 1000 if reset is not None else None
        if response.status_code in BUDGET_STATUSES:
            self.budget.refused(endpoint_of(request.url or ""))

    def _check_day(self) -> None:
        if self.day_remaining == 0 and self.day_reset and self.day_reset > time.time():
            when = dt.datetime.fromtimestamp(self.day_reset, dt.UTC)
            raise DailyLimitReached(
                f"Exact Online: the division's {self.day_limit or 5000:,} calls of the day are "
                f"spent; run the same command again after {when:%Y-%m-%d %H:%M} UTC",
                retry_after=self.day_reset - time.time(),
                resume_at=when,
            )

    def send(
        self,
        method: str,
        endpoint: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        own: bool = True,
    ) -> Reply:
        """One request; answers in :data:`HANDLED_STATUSES` come back as a :class:`Reply`.

        ``own`` puts the division in front of ``endpoint``. Anything else that is not a success
        raises the toolkit's errors (after its retries).
        """
        target = self.path(endpoint) if own else endpoint
        name = endpoint_of(self.api.url(target))
        self._check_day()
        self.budget.check(name)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if method == "POST":
            headers["Prefer"] = "return=representation"
        response = self.api.request(
            method,
            target,
            params=dict(params) if params else None,
            data=wire.dumps(body) if body is not None else None,
            headers=headers,
            expect=HANDLED_STATUSES,
        )
        data = wire.loads(response.content) if response.content else None
        return Reply(status=response.status_code, data=data, text=response.text[:4000])

    def rows(
        self,
        endpoint: str,
        select: Iterable[str],
        *,
        filter: str | None = None,
        expand: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every entity of a collection, page by page by ``d.__next`` (expanded ones in full).

        ``select`` names the fields (``Lines/Field`` for those of an expanded collection):
        Exact answers faster for them, and its ``bulk/`` endpoints refuse a read without.
        """
        query: dict[str, Any] | None = {"$select": ",".join(select), **(params or {})}
        if filter:
            query["$filter"] = filter  # type: ignore[index]
        if expand:
            query["$expand"] = expand  # type: ignore[index]
        target = endpoint
        while target:
            reply = self.send("GET", target, params=query)
            if not reply.ok:
                raise RemoteAPIError(
                    f"Exact Online refused GET {endpoint}: {reply.message}",
                    status=reply.status,
                    body=reply.text,
                )
            found, following = wire.rows(reply.data)
            for row in found:
                if expand:
                    row[expand] = list(self._expanded(row.get(expand), endpoint))
                yield row
            target, query = following or "", None

    def _expanded(self, value: Any, endpoint: str) -> Iterator[dict[str, Any]]:
        found, following = wire.nested(value)
        yield from found
        while following:
            reply = self.send("GET", following)
            if not reply.ok:
                raise RemoteAPIError(
                    f"Exact Online refused the rest of an expanded {endpoint}: {reply.message}",
                    status=reply.status,
                )
            found, following = wire.rows(reply.data)
            yield from found

    def first(
        self, endpoint: str, select: Iterable[str], filter: str, expand: str | None = None
    ) -> dict[str, Any] | None:
        """The first entity matching ``filter``, or ``None``."""
        return next(iter(self.rows(endpoint, select, filter=filter, expand=expand)), None)
