"""Sage Accounting v3.1 over the shared :class:`~migrationkit.http.ApiClient`.

The toolkit does the retries (429 with ``Retry-After``, 5xx with backoff, one token refresh on
401, :class:`~migrationkit.http.ConnectionLost` for a create whose answer was lost) and the
client-side rate limit. This module adds what is Sage's own: the ``X-Business`` header, JSON with
``Decimal`` amounts, the paged list envelope, and Sage's error array turned into data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import requests

from migrationkit.core.errors import ConfigError, RemoteAPIError
from migrationkit.http import Action, ApiClient, Limits, RateLimiter, TokenProvider

from .options import DEFAULT_BASE_URL
from .wire import SageError, dumps, loads, parse_errors

__all__ = [
    "AMBIGUOUS_STATUSES",
    "DEFAULT_BASE_URL",
    "HANDLED_STATUSES",
    "PAGE_SIZE",
    "AmbiguousCreate",
    "Reply",
    "SageClient",
    "choose_business",
]

PAGE_SIZE = 200
"""The most ``items_per_page`` Sage allows."""

HANDLED_STATUSES = (400, 404, 405, 409, 422)
"""Answers about one record, returned to the caller as data instead of raised."""

AMBIGUOUS_STATUSES = (500, 502, 504)
"""Answers to a create after which the record may exist all the same (a gateway can time out
after the write landed): never resent blindly, looked up first (503 and 429 are not ambiguous)."""


def _classify(response: requests.Response) -> Action | None:
    """Creates answered ambiguously fail at once, so the connector can look before resending."""
    if response.request.method == "POST" and response.status_code in AMBIGUOUS_STATUSES:
        return Action.FAIL
    return None


_JSON = {"Content-Type": "application/json", "Accept": "application/json"}


class AmbiguousCreate(RemoteAPIError):
    """Sage answered a create with 500, 502 or 504: the record may exist all the same."""

    may_have_landed = True


@attrs.frozen
class Reply:
    """One answer from Sage: the status, the decoded body and the raw text (for reports)."""

    status: int
    data: Any
    text: str

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def errors(self) -> list[SageError]:
        return parse_errors(self.data) if not self.ok else []

    def first_error(self) -> SageError:
        return self.errors[0]


class SageClient:
    """Requests against one Sage business, through the toolkit's retrying client."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api
        self.business_id: str | None = None

    @classmethod
    def build(
        cls,
        base_url: str,
        auth: TokenProvider | None,
        *,
        rate_limit: int = 100,
        rate_scale: float = 1.0,
        timeout: float = 60.0,
        session: requests.Session | None = None,
    ) -> SageClient:
        """A client with Sage's limits; ``rate_scale`` makes time run faster (sandboxes)."""
        limits = Limits(per_minute=rate_limit).scaled(rate_scale)
        api = ApiClient(
            base_url=base_url,
            auth=auth,
            headers={"Accept": "application/json"},
            limiter=RateLimiter(limits),
            classify=_classify,
            backoff=0.5 / rate_scale,
            max_backoff=60.0 / rate_scale,
            time_scale=rate_scale,
            timeout=timeout,
            name="Sage Accounting",
            session=session or requests.Session(),
        )
        return cls(api)

    # -- the business ----------------------------------------------------------------------------

    def use_business(self, business_id: str) -> None:
        """Send every later request to this business (the ``X-Business`` header)."""
        self.business_id = business_id
        self.api.headers = {**self.api.headers, "X-Business": business_id}

    def businesses(self) -> list[dict[str, Any]]:
        """Every business the logged-in user may open (``GET /businesses``)."""
        return list(self.list("businesses"))

    # -- requests --------------------------------------------------------------------------------

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
    ) -> Reply:
        """One request; answers in :data:`HANDLED_STATUSES` come back as a :class:`Reply`.

        Anything else that is not a success raises the toolkit's errors (after its retries).
        """
        try:
            response = self.api.request(
                method,
                path,
                params=dict(params) if params else None,
                data=dumps(body) if body is not None else None,
                headers=_JSON if body is not None else None,
                idempotent=idempotent,
                expect=HANDLED_STATUSES,
            )
        except RemoteAPIError as exc:
            if method == "POST" and exc.status in AMBIGUOUS_STATUSES:
                raise AmbiguousCreate(str(exc), status=exc.status, body=exc.body) from None
            raise
        data = loads(response.content) if response.content else None
        return Reply(status=response.status_code, data=data, text=response.text[:4000])

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Reply:
        return self.send("GET", path, params=params)

    def list(
        self, path: str, params: Mapping[str, Any] | None = None, *, full: bool = True
    ) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, page by page (``full`` asks for all attributes)."""
        query = {**(params or {}), "items_per_page": PAGE_SIZE, "page": 1}
        if full:
            query["attributes"] = "all"
        while True:
            reply = self.get(path, query)
            if not reply.ok:
                error = reply.first_error()
                raise ConfigError(f"Sage Accounting refused GET /{path}: {error.describe()}")
            envelope = reply.data or {}
            items = envelope.get("$items") or []
            yield from items
            size = envelope.get("$items_per_page", envelope.get("$itemsPerPage", PAGE_SIZE))
            if not envelope.get("$next") or len(items) < int(size or PAGE_SIZE):
                return
            query["page"] += 1


def choose_business(businesses: list[dict[str, Any]], location: str | None) -> dict[str, Any]:
    """The business named by ``location`` (an id, or a name in any case), or a clear error."""
    choices = "; ".join(f"{b.get('name')} ({b.get('id')})" for b in businesses) or "none"
    if not location:
        if len(businesses) == 1:
            return businesses[0]
        raise ConfigError(
            "choose the Sage business as sage-accounting:ID or sage-accounting:NAME "
            f"(available: {choices})"
        )
    for business in businesses:
        if business.get("id") == location:
            return business
    named = [b for b in businesses if str(b.get("name", "")).casefold() == location.casefold()]
    if len(named) == 1:
        return named[0]
    if named:
        raise ConfigError(
            f"several Sage businesses are named {location!r}; give the id instead "
            f"(available: {choices})"
        )
    raise ConfigError(f"no Sage business has the id or name {location!r} (available: {choices})")
