"""A stateful emulator of the part of Sage Accounting v3.1 the connector uses.

It serves ``/v3.1/...`` for one or more GB businesses (``X-Business`` chooses; none means the
first), plus the core ``/businesses`` endpoints and an OAuth server at ``/oauth/authorize`` and
``/oauth/token``. It enforces Sage's rules as the connector meets them: required fields, text
lengths, contact references unique per contact type, void (sales, with a reason unless draft)
versus delete, journals that cannot change and must balance, ledger accounts that cannot be
deleted, tax rates that cannot be created for GB, paging of at most 200 with the ``$items``
envelope, ``updated_or_created_since`` (inclusive) and ``deleted_since`` (exclusive, returning
deleted objects with ``deleted_at``), errors as Sage's array with 422 for invalid data and 404
``RecordNotFound``, and a rate limit answered with 429 and ``Retry-After``, scaled by
``rate_scale``. Access tokens live 300 seconds and refresh tokens rotate (a reused one is
``invalid_grant``); the sandbox's clock can be moved on (:meth:`SageSandbox.advance`).

Sales invoice and credit note numbers given by the caller are honoured (``honour_numbers``):
whether real Sage does so is not documented, so this behaviour is a switch.

The rules themselves live in :mod:`.rules`.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import re
import secrets
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from migrationkit.connectors.sage_accounting.wire import dumps, error_body, loads, parse_timestamp

from ..server import (
    Fault,
    NoRoute,
    Request,
    Response,
    Routes,
    SandboxApp,
    SandboxServer,
    retry_after_header,
)
from .rules import COLLECTIONS, Invalid, Store

__all__ = ["SageSandbox", "SageSandboxServer"]

_FAULT_CODES = {
    429: ("TooManyRequests", "Rate limit exceeded, please retry later."),
    500: ("InternalServerError", "An unexpected error occurred."),
    502: ("BadGateway", "The service is temporarily unavailable."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable."),
    504: ("GatewayTimeout", "The service did not answer in time."),
}

ACCESS_LIFETIME = 300
REFRESH_LIFETIME = 2_678_400
CODE_LIFETIME = 60


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A response whose amounts are JSON numbers (the toolkit would write them as text)."""
    return Response(
        status,
        dumps(body) if body is not None else None,
        {"Content-Type": "application/json", **(headers or {})},
    )


def _error(status: int, code: str, message: str, source: str = "", **headers: str) -> Response:
    return _json(status, error_body(code, message, source), headers)


class _Window:
    """A sliding one-minute window of calls (scaled), answering how long to wait when full."""

    def __init__(self, limit: int, seconds: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.seconds = seconds
        self.clock = clock
        self.calls: deque[float] = deque()

    def wait(self) -> float:
        now = self.clock()
        while self.calls and self.calls[0] <= now - self.seconds:
            self.calls.popleft()
        if len(self.calls) >= self.limit:
            return self.calls[0] + self.seconds - now
        self.calls.append(now)
        return 0.0


class _OAuth:
    """Sage's authorization server, auto-approving: codes, 5-minute tokens, rotation."""

    def __init__(self, clients: Mapping[str, str], now: Callable[[], float]) -> None:
        self.clients = dict(clients)
        self.now = now
        self.codes: dict[str, dict[str, Any]] = {}
        self.access: dict[str, float] = {}
        self.refresh: dict[str, float] = {}
        self.refreshes = 0

    def authorize(self, request: Request) -> Response:
        query = {k: v[0] for k, v in request.query.items()}
        redirect = query.get("redirect_uri", "")
        if query.get("client_id") not in self.clients or not redirect:
            return _json(400, {"error": "invalid_request"})
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "client_id": query["client_id"],
            "redirect_uri": redirect,
            "challenge": query.get("code_challenge"),
            "expires": self.now() + CODE_LIFETIME,
        }
        answer = {"code": code, "state": query.get("state", ""), "country": "GB"}
        separator = "&" if "?" in redirect else "?"
        location = redirect + separator + urllib.parse.urlencode(answer)
        return Response(302, None, {"Location": location})

    def token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in urllib.parse.parse_qs(request.body.decode()).items()}
        if self.clients.get(form.get("client_id", "")) != form.get("client_secret"):
            return _json(401, {"error": "invalid_client"})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            ok = self._code(form)
        elif grant == "refresh_token":
            ok = self._rotate(form)
        else:
            return _json(400, {"error": "unsupported_grant_type"})
        if not ok:
            return _json(400, {"error": "invalid_grant"})
        return _json(200, self._issue())

    def _code(self, form: Mapping[str, str]) -> bool:
        entry = self.codes.pop(form.get("code", ""), None)  # single use
        if entry is None or entry["expires"] < self.now():
            return False
        if entry["redirect_uri"] != form.get("redirect_uri"):
            return False
        if entry["challenge"]:
            verifier = form.get("code_verifier", "").encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
            if digest.decode() != entry["challenge"]:
                return False
        return True

    def _rotate(self, form: Mapping[str, str]) -> bool:
        expires = self.refresh.pop(form.get("refresh_token", ""), None)  # rotation: used once
        if expires is None or expires < self.now():
            return False
        self.refreshes += 1
        return True

    def _issue(self) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
        self.access[access] = self.now() + ACCESS_LIFETIME
        self.refresh[refresh] = self.now() + REFRESH_LIFETIME
        return {
            "access_token": access,
            "scope": "full_access",
            "token_type": "bearer",
            "expires_in": ACCESS_LIFETIME,
            "refresh_token": refresh,
            "refresh_token_expires_in": REFRESH_LIFETIME,
            "requested_by_id": "sandbox-user",
        }

    def valid(self, token: str) -> bool:
        expires = self.access.get(token)
        return expires is not None and expires > self.now()


class SageSandbox(SandboxApp):
    """Sage Accounting v3.1 for the tests and ``migrationkit sandbox sage-accounting``."""

    name = "sage-accounting"

    def __init__(
        self,
        *,
        businesses: tuple[str, ...] = ("Sandbox Trading Ltd",),
        rate_limit: int = 200,
        rate_scale: float = 1.0,
        token: str | None = None,
        accept_any_token: bool = False,
        business_id: str | None = None,
        client_id: str = "sandbox-client",
        client_secret: str | None = None,
        accounts_start_date: dt.date = dt.date(2023, 4, 1),
        honour_numbers: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            token=token or "sbx-" + secrets.token_urlsafe(18), accept_any_token=accept_any_token
        )
        self.rate_scale = rate_scale
        self.client_id = client_id
        self.client_secret = client_secret or "sbx-secret-" + secrets.token_urlsafe(12)
        self._clock = clock
        self._offset = 0.0
        self.oauth = _OAuth({client_id: self.client_secret}, self.now)
        self.window = _Window(rate_limit, 60.0 / rate_scale, self.now)
        self.rate_limited = 0
        self.stores = {
            store.id: store
            for n, name in enumerate(businesses)
            for store in [
                Store(
                    name,
                    accounts_start_date,
                    honour_numbers,
                    self.moment,
                    id=business_id if n == 0 else None,
                )
            ]
        }
        self.routes = Routes("/v3.1")
        self._register_routes()

    # -- time ---------------------------------------------------------------------------------

    def now(self) -> float:
        return self._clock() + self._offset

    def moment(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.now(), dt.UTC)

    def advance(self, seconds: float) -> None:
        """Move the sandbox's clock on (tokens expire, codes go stale)."""
        self._offset += seconds

    def expire_access_tokens(self) -> None:
        """End every access token the OAuth server issued (as 5 minutes passing would)."""
        with self.lock:
            for token in self.oauth.access:
                self.oauth.access[token] = self.now() - 1

    # -- who -----------------------------------------------------------------------------------

    def business_names(self) -> dict[str, str]:
        return {store.id: store.name for store in self.stores.values()}

    @property
    def business_id(self) -> str:
        """The first (lead) business."""
        return next(iter(self.stores))

    def store(self, business_id: str | None = None) -> Store:
        return self.stores[business_id or self.business_id]

    def default_bank_id(self, business_id: str | None = None) -> str:
        """The id of the "Current" bank account a new business comes with."""
        return next(iter(self.store(business_id).table("bank_accounts")))

    def token_valid(self, token: str) -> bool:
        return self.oauth.valid(token)

    def unauthorised(self) -> Response:
        return _error(401, "AuthorizationFailure", "Access denied.")

    # -- serving --------------------------------------------------------------------------------

    def unauthenticated(self, request: Request) -> Response | None:
        """The OAuth server's endpoints: no token, no faults."""
        if not request.path.startswith("/oauth/"):
            return None
        with self.lock:
            if request.path == "/oauth/authorize" and request.method == "GET":
                return self.oauth.authorize(request)
            if request.path == "/oauth/token" and request.method == "POST":
                return self.oauth.token(request)
        return _json(404, {"error": "not_found"})

    def fault_response(self, fault: Fault) -> Response:
        code, message = _FAULT_CODES.get(fault.status or 500, ("Error", "Injected fault."))
        return _json(fault.status or 500, error_body(code, message), self._fault_headers(fault))

    def throttle(self, request: Request) -> Response | None:
        with self.lock:
            wait = self.window.wait()
        if wait <= 0:
            return None
        self.rate_limited += 1
        code, message = _FAULT_CODES[429]
        retry_after = retry_after_header(wait, scale=self.rate_scale)
        return _error(429, code, message, **{"Retry-After": retry_after})

    def _register_routes(self) -> None:
        add = self.routes.add
        add("GET", "/businesses", self._businesses)
        add("GET", "/businesses/<key>", self._businesses)
        add(("GET", "PUT"), "/financial_settings", self._settings)
        for collection in COLLECTIONS.values():
            for method, whole in collection.routes:
                rule = f"/{collection.path}" + ("" if whole else "/<key>")
                add(method, rule, functools.partial(self._collection, collection))

    def handle(self, request: Request) -> Response:
        try:
            route = self.routes.match(request.method, request.path)
        except NoRoute as missing:
            if missing.status == 405:
                where = request.path.removeprefix("/v3.1")
                return _error(
                    405, "MethodNotAllowed", f"{request.method} is not allowed on {where}."
                )
            return _error(404, "RecordNotFound", "No such endpoint.")
        try:
            return route.handler(request, **route.args)
        except Invalid as exc:
            return _error(exc.status, exc.code, exc.message, exc.source)

    def _business(self, request: Request) -> Store:
        chosen = request.header("X-Business")
        if chosen is None:
            return self.store()
        if chosen not in self.stores:
            raise Invalid("Access denied.", code="AuthorizationFailure", status=403)
        return self.stores[chosen]

    def _businesses(self, request: Request, key: str | None = None) -> Response:
        shown = [store.business() for store in self.stores.values()]
        if key is None:
            return _json(200, _page(shown, request, "/businesses"))
        for business in shown:
            if business["id"] == key:
                return _json(200, business)
        raise Invalid("Couldn't find record.", code="RecordNotFound", status=404)

    def _settings(self, request: Request) -> Response:
        store = self._business(request)
        if request.method == "PUT":
            changes = _payload(request, "financial_settings")
            for field in ("year_end_date", "accounts_start_date", "tax_number"):
                if field in changes:
                    store.settings[field] = changes[field]
        return _json(200, store.settings)

    def _collection(self, collection: Any, request: Request, key: str | None = None) -> Response:
        store = self._business(request)
        method = request.method
        if method == "GET" and key is None:
            return _json(200, self._list(store, collection, request))
        if method == "GET":
            return _json(200, store.shown(store.live(collection.path, str(key))))
        if method == "POST":
            data = _payload(request, collection.wrapper)
            return _json(201, store.shown(collection.create(store, data)))
        if method == "PUT":
            obj = store.live(collection.path, str(key))
            data = _payload(request, collection.wrapper)
            return _json(200, store.shown(collection.update(store, obj, data)))
        obj = store.live(collection.path, str(key))
        answer = collection.delete(store, obj, request.param("void_reason"))
        return _json(200, store.shown(answer)) if answer is not None else Response(204)

    def _list(self, store: Store, collection: Any, request: Request) -> dict[str, Any]:
        deleted_since = request.param("deleted_since")
        changed_since = request.param("updated_or_created_since")
        items = []
        for obj in store.table(collection.path).values():
            if deleted_since is not None:
                moment = _when(deleted_since, "deleted_since")
                if not obj.get("deleted_at") or parse_timestamp(obj["deleted_at"]) <= moment:
                    continue
            elif obj.get("deleted_at"):
                continue
            if changed_since is not None:
                moment = _when(changed_since, "updated_or_created_since")
                if parse_timestamp(obj["updated_at"]) < moment:
                    continue
            if not collection.matches(store, obj, request):
                continue
            items.append(obj)
        full = request.param("attributes") == "all"
        shown = [store.shown(o) if full else store.summary(o) for o in items]
        return _page(shown, request, f"/{collection.path}")


_SINCE = re.compile(r"\d{4}-\d{2}-\d{2}T(?:\d{2}:\d{2}:\d{2})?(?:Z|[+-]\d{2}:\d{2})")
"""The spec's two forms, ``YYYY-MM-DDT(+|-)hh:mm`` and ``YYYY-MM-DDThh:mm:ss(+|-)hh:mm`` (and
``Z``, ISO 8601's UTC, which Sage's own timestamps use)."""


def _when(text: str, name: str) -> dt.datetime:
    """A delta parameter's moment; one in another form is refused, naming the parameter."""
    value = text.strip()
    try:
        if not _SINCE.fullmatch(value):
            raise ValueError(value)
        if len(value) < 19:
            # The date form: midnight of that day at that offset.
            day, offset = value.split("T", 1)
            value = f"{day}T00:00:00{offset}"
        return parse_timestamp(value)
    except ValueError:
        raise Invalid(
            f"{name} must be a date (YYYY-MM-DDT+hh:mm) or date-time (YYYY-MM-DDThh:mm:ss+hh:mm).",
            source=name,
        ) from None


def _payload(request: Request, wrapper: str) -> dict[str, Any]:
    try:
        body = loads(request.body)
    except ValueError:
        raise Invalid("The request body is not JSON.", code="InvalidJson", status=400) from None
    if not isinstance(body, dict) or not isinstance(body.get(wrapper), dict):
        raise Invalid(f"The request needs a {wrapper!r} object.", source=wrapper)
    return dict(body[wrapper])


def _page(items: list[dict[str, Any]], request: Request, path: str) -> dict[str, Any]:
    """Sage's list envelope: ``$total``, ``$page``, ``$next``, ``$back``, ``$items``."""
    try:
        size = int(request.param("items_per_page") or 20)
        page = int(request.param("page") or 1)
    except ValueError:
        raise Invalid("items_per_page and page must be whole numbers.") from None
    if not 1 <= size <= 200:
        raise Invalid("items_per_page must be between 1 and 200.", source="items_per_page")
    if page < 1:
        raise Invalid("page must be 1 or more.", source="page")
    start = (page - 1) * size
    chosen = items[start : start + size]

    def link(number: int) -> str:
        return f"{path}?page={number}&items_per_page={size}"

    return {
        "$total": len(items),
        "$page": page,
        "$next": link(page + 1) if start + size < len(items) else None,
        "$back": link(page - 1) if page > 1 else None,
        "$items_per_page": size,
        "$items": chosen,
    }


class SageSandboxServer(SandboxServer):
    """The toolkit's sandbox server, serving a :class:`SageSandbox`."""
