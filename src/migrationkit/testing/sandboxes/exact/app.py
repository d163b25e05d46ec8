"""A stateful emulator of the part of Exact Online's REST API the ``exact`` connector uses.

It serves ``/api/v1/{division}/...`` for one or more divisions (division 1 by default), plus
``/api/v1/current/Me`` and an OAuth2 server at ``/api/oauth2/auth`` and ``/api/oauth2/token``.
What Exact enforces, it enforces:

* OData v2 JSON envelopes (``d.results``, ``d.__next``), dates as ``/Date(ms)/``, 60 rows a page
  on standard endpoints and 1,000 on ``bulk/`` and ``sync/`` (expanded lines page too, with their
  own ``__next``); ``$select`` required on ``bulk/``; a ``$filter`` required on the single and
  bulk endpoints of entities with a sync API; ``sync/`` filtered by ``Timestamp gt N`` only;
* ``Timestamp`` rowversions on every change, ``sync/Deleted`` (two months), and
  ``read/sync/Sync/SyncTimestamp``;
* the rules on masters and entries (:mod:`.division`, :mod:`.entries`), with errors in OData's
  shape;
* 60 calls a minute and 5,000 a day per division, with Exact's ``X-RateLimit-*`` headers (resets
  in epoch milliseconds) on every answer and a 429 beyond them (a minutely 429 carries only the
  minutely headers); the error budget: after 10 answers of 400, 401, 403 or 404 to one endpoint
  within an hour, that endpoint answers 403 for an hour. ``rate_scale`` runs these windows that
  many times faster;
* with ``oauth=True``, Exact's token lifecycle: only tokens this server issued are accepted;
  they live 10 minutes; a refresh token serves once and only the newest is valid ("Old refresh
  token used."); no new token within 570 seconds of the last ("Rate limit exceeded:
  access_token not expired"); at most 200 token calls a day. Without it, any bearer token works.
  Token lifetimes follow the sandbox's clock, which :meth:`ExactSandbox.advance` moves on.

The faults of the shared server (429 and 5xx bursts, expired tokens, a connection dropped after
the server committed) come on top.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
import time
import urllib.parse
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from migrationkit.core import convert

from ..server import Fault, NoRoute, Request, Response, Routes, SandboxApp, SandboxServer
from .division import Division
from .entries import ENTRY_PATHS, create_entry, delete_entry, open_items, update_entry
from .masters import KINDS, LINE_KINDS, LINE_READ_ONLY, TRANSACTION_LINE_FIELDS, Kind
from .odata import Invalid, error_body, odata_date, parse_filter

__all__ = ["ExactSandbox", "start_server"]

PAGE = 60
BULK_PAGE = 1000
MINUTE_LIMIT = 60
DAY_LIMIT = 5000
ERROR_BUDGET = 10
ACCESS_LIFETIME = 600.0
MIN_TOKEN_AGE = 570.0
DAILY_TOKEN_CALLS = 200
CODE_LIFETIME = 180.0
BUDGET_STATUSES = (400, 401, 403, 404)

_SYNC = {
    "sync/Financial/GLAccounts": "financial/GLAccounts",
    "sync/CRM/Accounts": "crm/Accounts",
    "sync/Logistics/Items": "logistics/Items",
}
_BULK = {
    "bulk/Financial/GLAccounts": "financial/GLAccounts",
    "bulk/CRM/Accounts": "crm/Accounts",
    "bulk/Logistics/Items": "logistics/Items",
}
_LINES = {
    f"{kind.path.rsplit('/', 1)[0]}/{kind.lines}": kind.path
    for kind in KINDS.values()
    if kind.lines
}
"""The entry lines, each kind at an endpoint of its own (``salesentry/SalesEntryLines``)."""
_MUST_FILTER = {"financial/GLAccounts", "crm/Accounts", "logistics/Items"}
_TRANSACTIONS = (
    "financialtransaction/TransactionLines",
    "bulk/Financial/TransactionLines",
    "sync/Financial/TransactionLines",
)
_KEYED = re.compile(r"^(?P<path>.+)\(guid'(?P<key>[0-9a-fA-F-]{36})'\)(?:/(?P<lines>\w+))?$")
_DELETED_FIELDS = (
    "ID",
    "Timestamp",
    "EntityType",
    "EntityKey",
    "DeletedBy",
    "DeletedDate",
    "Division",
)


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A response whose amounts are JSON numbers, written exactly."""
    payload = convert.dumps(body, compact=True).encode("utf-8") if body is not None else None
    return Response(status, payload, {"Content-Type": "application/json", **(headers or {})})


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return _json(status, error_body(message), headers)


def _wire(value: Any) -> Any:
    if isinstance(value, dt.date):
        return odata_date(value)
    return value


class _Window:
    """A fixed window of calls: full at ``limit``, starting afresh ``seconds`` after it began."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self.started = 0.0
        self.used = 0

    def roll(self, now: float) -> None:
        if now >= self.started + self.seconds:
            self.started, self.used = now, 0

    def reset_ms(self) -> int:
        return int((self.started + self.seconds) * 1000)

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


class _OAuth:
    """Exact's authorization server, approving at once, with its rations."""

    def __init__(self, clients: Mapping[str, str], now: Callable[[], float]) -> None:
        self.clients = dict(clients)
        self.now = now
        self.codes: dict[str, tuple[str, float]] = {}
        self.access: dict[str, float] = {}
        self.refresh_tokens: dict[str, bool] = {}
        """Every refresh token issued: True for the newest (the only valid one)."""
        self.last_issue = -1e18
        self.calls: dict[str, int] = defaultdict(int)
        self.refreshes = 0
        self.old_refresh_tokens_used = 0
        self.too_early = 0

    def authorize(self, request: Request) -> Response:
        query = {k: v[0] for k, v in request.query.items()}
        redirect = query.get("redirect_uri", "")
        if query.get("client_id") not in self.clients or not redirect:
            return _json(400, {"error": "invalid_request"})
        code = secrets.token_urlsafe(24)
        self.codes[code] = (redirect, self.now() + CODE_LIFETIME)
        answer = {"code": code, "state": query.get("state", "")}
        separator = "&" if "?" in redirect else "?"
        return Response(
            302, None, {"Location": redirect + separator + urllib.parse.urlencode(answer)}
        )

    def token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in urllib.parse.parse_qs(request.body.decode()).items()}
        if self.clients.get(form.get("client_id", "")) != form.get("client_secret"):
            return _json(400, {"error": "invalid_client"})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            redirect, expires = self.codes.pop(form.get("code", ""), ("", 0.0))  # single use
            if expires < self.now() or redirect != form.get("redirect_uri"):
                return _json(400, {"error": "invalid_grant"})
        elif grant == "refresh_token":
            current = self.refresh_tokens.get(form.get("refresh_token", ""))
            if current is None:
                return _json(400, {"error": "invalid_grant"})
            if not current:
                self.old_refresh_tokens_used += 1
                return _json(
                    401,
                    {
                        "error": "unauthorized_client",
                        "error_description": "Old refresh token used.",
                    },
                )
            if self.now() - self.last_issue < MIN_TOKEN_AGE:
                self.too_early += 1
                return _json(
                    400,
                    {
                        "error": "access_denied",
                        "error_description": "Rate limit exceeded: access_token not expired",
                    },
                )
        else:
            return _json(400, {"error": "unsupported_grant_type"})
        day = dt.datetime.fromtimestamp(self.now(), dt.UTC).date().isoformat()
        if self.calls[day] >= DAILY_TOKEN_CALLS:
            return _json(
                400,
                {
                    "error": "access_denied",
                    "error_description": "Rate limit exceeded: too many token requests today",
                },
            )
        self.calls[day] += 1
        if grant == "refresh_token":
            self.refreshes += 1
        return _json(200, self.issue())

    def issue(self) -> dict[str, Any]:
        """A new token pair; every earlier refresh token becomes an old one."""
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
        self.access[access] = self.now() + ACCESS_LIFETIME
        self.refresh_tokens = dict.fromkeys(self.refresh_tokens, False)
        self.refresh_tokens[refresh] = True
        self.last_issue = self.now()
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": str(int(ACCESS_LIFETIME)),
            "refresh_token": refresh,
        }

    def valid(self, token: str) -> bool:
        expires = self.access.get(token)
        return expires is not None and expires > self.now()


class ExactSandbox(SandboxApp):
    """Exact Online for the tests and ``migrationkit sandbox exact``."""

    name = "exact"

    def __init__(
        self,
        *,
        divisions: Iterable[int] = (1,),
        currency: str = "EUR",
        country: str = "NL",
        rate_scale: float = 1.0,
        token: str | None = None,
        accept_any_token: bool = True,
        oauth: bool = False,
        client_id: str = "sandbox-client",
        client_secret: str | None = None,
        minute_limit: int = MINUTE_LIMIT,
        day_limit: int = DAY_LIMIT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(token=token, accept_any_token=accept_any_token and not oauth)
        self.rate_scale = rate_scale
        self._clock = clock
        self._offset = 0.0
        self.client_id = client_id
        self.client_secret = client_secret or "exact-secret-" + secrets.token_urlsafe(12)
        self.oauth = _OAuth({client_id: self.client_secret}, self.now)
        self.divisions = {
            code: Division(
                code, name=f"Sandbox {code}", currency=currency, country=country, clock=self.now
            )
            for code in divisions
        }
        self.current = next(iter(self.divisions))
        self.minute_limit = minute_limit
        self.day_limit = day_limit
        self._minute: dict[int, _Window] = {}
        self._day: dict[int, _Window] = {}
        self._errors: dict[tuple[int, str], deque[float]] = defaultdict(deque)
        self._blocked: dict[tuple[int, str], float] = {}
        self._limits = threading.Lock()
        self.rate_limited = 0
        self.blocked = 0
        self.calls = 0
        self.routes = Routes("/api/v1")
        add = self.routes.add
        add("GET", "/current/Me", self._me)
        keyed = "/<int:division>/<service>/<entity>(guid'<key>')"
        add(("GET", "PUT", "DELETE"), keyed, self._one)
        add("GET", keyed + "/<lines>", self._nested_lines)
        add(("GET", "POST"), "/<int:division>/<path:endpoint>", self._collection_route)

    # -- time --------------------------------------------------------------------------------------

    def now(self) -> float:
        return self._clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the sandbox's clock on (tokens expire, windows turn, the deleted log forgets)."""
        self._offset += seconds

    def division(self, code: int | None = None) -> Division:
        return self.divisions[code if code is not None else self.current]

    # -- the shared server's hooks ----------------------------------------------------------------

    def dispatch(self, request: Request) -> tuple[Response | None, bool]:
        """The shared server's answer, counted against the error budget, with Exact's limits."""
        response, drop = super().dispatch(request)
        if response is None or request.path.startswith("/api/oauth2/"):
            return response, drop
        division, endpoint = self._where(request.path)
        self._count_error(division, endpoint, response.status)
        if response.status == 429:
            return response, drop  # a 429 carries the headers of the limit it met, only
        return self._with_limits(division, response), drop

    def unauthenticated(self, request: Request) -> Response | None:
        """Exact's OAuth server: no token, no faults, no limits."""
        if not request.path.startswith("/api/oauth2/"):
            return None
        with self.lock:
            if request.path == "/api/oauth2/auth" and request.method == "GET":
                return self.oauth.authorize(request)
            if request.path == "/api/oauth2/token" and request.method == "POST":
                return self.oauth.token(request)
        return _error(404, "Not found")

    def token_valid(self, token: str) -> bool:
        return self.oauth.valid(token)

    def unauthorised(self) -> Response:
        return _error(401, "Unauthorized: the access token is missing, invalid or expired")

    def fault_response(self, fault: Fault) -> Response:
        return _error(fault.status or 500, "Injected fault", self._fault_headers(fault))

    def throttle(self, request: Request) -> Response | None:
        """Exact's per-division windows and the error budget; counts the call if it goes."""
        division, endpoint = self._where(request.path)
        now = self.now()
        with self._limits:
            until = self._blocked.get((division, endpoint), 0.0)
            if until > now:
                self.blocked += 1
                return _error(
                    403,
                    f"Too many errors on {endpoint}: the app is blocked for this "
                    "endpoint for an hour",
                )
            minute = self._minute.setdefault(
                division, _Window(self.minute_limit, 60.0 / self.rate_scale)
            )
            day = self._day.setdefault(
                division, _Window(self.day_limit, 86_400.0 / self.rate_scale)
            )
            minute.roll(now)
            day.roll(now)
            if day.remaining == 0:
                self.rate_limited += 1
                return _error(
                    429,
                    "Too many requests: the daily limit is reached",
                    {**self._day_headers(day), **self._minute_headers(minute)},
                )
            if minute.remaining == 0:
                self.rate_limited += 1
                return _error(
                    429,
                    "Too many requests: the minutely limit is reached",
                    self._minute_headers(minute),
                )
            minute.used += 1
            day.used += 1
            self.calls += 1
        return None

    def _with_limits(self, division: int, response: Response) -> Response:
        with self._limits:
            minute, day = self._minute.get(division), self._day.get(division)
            if minute is None or day is None:
                return response
            headers = {**response.headers, **self._minute_headers(minute), **self._day_headers(day)}
        return Response(response.status, response.body, headers)

    @staticmethod
    def _minute_headers(window: _Window) -> dict[str, str]:
        return {
            "X-RateLimit-Minutely-Limit": str(window.limit),
            "X-RateLimit-Minutely-Remaining": str(window.remaining),
            "X-RateLimit-Minutely-Reset": str(window.reset_ms()),
        }

    @staticmethod
    def _day_headers(window: _Window) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(window.remaining),
            "X-RateLimit-Reset": str(window.reset_ms()),
        }

    def _where(self, path: str) -> tuple[int, str]:
        """The division and the endpoint (without key) a path names."""
        parts = path.split("/")[3:]
        if parts[:1] == ["current"]:
            return self.current, "current/Me"
        try:
            division = int(parts[0])
        except (IndexError, ValueError):
            return self.current, path
        endpoint = "/".join(parts[1:])
        found = _KEYED.match(endpoint)
        return division, found.group("path") if found else endpoint

    def _count_error(self, division: int, endpoint: str, status: int) -> None:
        if status not in BUDGET_STATUSES:
            return
        now = self.now()
        hour = 3600.0 / self.rate_scale
        with self._limits:
            times = self._errors[(division, endpoint)]
            times.append(now)
            while times and times[0] <= now - hour:
                times.popleft()
            if len(times) >= ERROR_BUDGET:
                self._blocked[(division, endpoint)] = now + hour
                times.clear()

    # -- requests ----------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        try:
            route = self.routes.match(request.method, request.path)
        except NoRoute as missing:
            if missing.status == 405:
                return _error(405, f"The method {request.method} is not allowed here")
            return _error(404, "Not found")
        try:
            return route.handler(request, **route.args)
        except Invalid as exc:
            return _error(exc.status, exc.message)

    def _division(self, code: int) -> Division:
        if code not in self.divisions:
            raise Invalid(f"Division {code} does not exist or is not available", 403)
        return self.divisions[code]

    def _collection_route(self, request: Request, division: int, endpoint: str) -> Response:
        found = self._division(division)
        if request.method == "POST":
            return self._create(request, found, endpoint)
        return self._read(request, found, endpoint)

    def _nested_lines(
        self, request: Request, division: int, service: str, entity: str, key: str, lines: str
    ) -> Response:
        found = self._division(division)
        endpoint = f"{service}/{entity}"
        kind = KINDS.get(endpoint)
        if kind is None or lines != kind.lines:
            raise Invalid(f"Not found: {endpoint}/{lines}", 404)
        uri = f"{division}/{endpoint}(guid'{key}')"
        return self._nested(request, found, kind, found.row(endpoint, key), uri)

    def _me(self, request: Request) -> Response:
        me = {
            "UserID": "00000000-0000-0000-0000-000000000001",
            "CurrentDivision": self.current,
            "FullName": "Sandbox User",
            "UserName": "sandbox@example.invalid",
            "LanguageCode": "en-GB",
        }
        return self._entity(request, me, "Me", f"current/Me(guid'{me['UserID']}')")

    def _entity(
        self, request: Request, row: Mapping[str, Any], kind: str, uri: str, status: int = 200
    ) -> Response:
        select = _select(request)
        found = {
            k: _wire(v)
            for k, v in row.items()
            if not k.startswith("_") and (select is None or k in select)
        }
        found["__metadata"] = {
            "uri": self._uri(request, uri),
            "type": f"Exact.Web.Api.Models.{kind}",
        }
        return _json(status, {"d": found})

    def _uri(self, request: Request, path: str) -> str:
        host = request.header("Host") or "127.0.0.1"
        return f"http://{host}/api/v1/{path}"

    # -- writes ------------------------------------------------------------------------------------

    def _create(self, request: Request, division: Division, endpoint: str) -> Response:
        kind = KINDS.get(endpoint)
        if kind is None or "POST" not in kind.methods:
            raise Invalid(f"The method POST is not allowed on {endpoint}", 405)
        body = _body(request)
        if endpoint in ENTRY_PATHS:
            row = create_entry(division, endpoint, body)
        else:
            row = division.create(endpoint, body)
        key = row[kind.key]
        uri = f"{division.code}/{endpoint}(guid'{key}')"
        if (request.header("Prefer") or "").strip() != "return=representation":
            return _json(201, {"d": {kind.key: key}})
        return self._rendered(request, division, kind, row, uri, 201)

    def _one(
        self, request: Request, division: int, service: str, entity: str, key: str
    ) -> Response:
        endpoint = f"{service}/{entity}"
        found = self._division(division)
        kind = KINDS.get(endpoint)
        if kind is None:
            raise Invalid(f"Not found: {endpoint}", 404)
        uri = f"{division}/{endpoint}(guid'{key}')"
        if request.method not in kind.methods:
            raise Invalid(f"The method {request.method} is not allowed on {endpoint}", 405)
        if request.method == "GET":
            return self._rendered(request, found, kind, found.row(endpoint, key), uri)
        if request.method == "PUT":
            if endpoint in ENTRY_PATHS:
                update_entry(found, endpoint, key, _body(request))
            else:
                found.update(endpoint, key, _body(request))
            return Response(204)
        if endpoint in ENTRY_PATHS:
            delete_entry(found, endpoint, key)
        else:
            found.delete(endpoint, key)
        return Response(204)

    def _rendered(
        self,
        request: Request,
        division: Division,
        kind: Kind,
        row: Mapping[str, Any],
        uri: str,
        status: int = 200,
    ) -> Response:
        select = _select(request)
        entity = self._row(request, division, kind, row, select, _expand(request), uri)
        return _json(status, {"d": entity})

    def _row(
        self,
        request: Request,
        division: Division,
        kind: Kind,
        row: Mapping[str, Any],
        select: list[str] | None,
        expand: str | None,
        uri: str,
    ) -> dict[str, Any]:
        wanted = [s for s in select if "/" not in s] if select else None
        found: dict[str, Any] = {
            "__metadata": {
                "uri": self._uri(request, uri),
                "type": f"Exact.Web.Api.Models.{kind.name}",
            }
        }
        for name in kind.all_fields:
            if name == kind.lines or (wanted is not None and name not in wanted):
                continue
            found[name] = _wire(row.get(name))
        if kind.lines and (expand == kind.lines or (select and kind.lines in (select or ()))):
            if expand == kind.lines:
                lines = row.get(kind.lines) or []
                inner = [s.split("/", 1)[1] for s in select or () if s.startswith(kind.lines + "/")]
                shown = [_line_view(line, inner or None) for line in lines[:PAGE]]
                nested: dict[str, Any] = {"results": shown}
                if len(lines) > PAGE:
                    nested["__next"] = self._uri(
                        request,
                        f"{uri}/{kind.lines}?$skiptoken={PAGE}"
                        + (f"&$select={','.join(inner)}" if inner else ""),
                    )
                found[kind.lines] = nested
            else:
                found[kind.lines] = {
                    "__deferred": {"uri": self._uri(request, f"{uri}/{kind.lines}")}
                }
        return found

    def _nested(
        self, request: Request, division: Division, kind: Kind, row: Mapping[str, Any], uri: str
    ) -> Response:
        lines = row.get(kind.lines or "") or []
        start = int(request.param("$skiptoken") or 0)
        select = _select(request)
        shown = [_line_view(line, select) for line in lines[start : start + PAGE]]
        envelope: dict[str, Any] = {"results": shown}
        if start + PAGE < len(lines):
            envelope["__next"] = self._uri(
                request,
                f"{uri}/{kind.lines}?$skiptoken={start + PAGE}"
                + (f"&$select={','.join(select)}" if select else ""),
            )
        return _json(200, {"d": envelope})

    # -- reads -------------------------------------------------------------------------------------

    def _read(self, request: Request, division: Division, endpoint: str) -> Response:
        _check_options(request)
        select = _select(request)
        if endpoint.startswith("bulk/") and not select:
            raise Invalid("$select is mandatory for bulk endpoints")
        if endpoint == "hrm/Divisions":
            rows = [_division_row(division)]
            return self._collection(
                request, rows, "Division", PAGE, ("Code", *rows[0]), order="Code"
            )
        if endpoint == "read/sync/Sync/SyncTimestamp":
            return self._sync_timestamp(request, division)
        if endpoint in ("read/financial/ReceivablesList", "read/financial/PayablesList"):
            rows = list(open_items(division, endpoint.endswith("ReceivablesList")))
            fields = tuple(rows[0]) if rows else ("HID", "Amount", "EntryNumber")
            return self._collection(request, rows, "ReceivablesListItem", PAGE, fields, order="HID")
        if endpoint == "sync/Deleted":
            rows = division.deleted_log()
            return self._sync(request, rows, "Deleted", _DELETED_FIELDS)
        if endpoint in _TRANSACTIONS:
            rows = [line for lines in division.transaction_lines.values() for line in lines]
            fields = (*TRANSACTION_LINE_FIELDS, "Timestamp")
            if endpoint.startswith("sync/"):
                return self._sync(request, rows, "TransactionLine", fields)
            self._filtered(request, endpoint)
            page = BULK_PAGE if endpoint.startswith("bulk/") else PAGE
            return self._collection(
                request, rows, "TransactionLine", page, fields, order="Timestamp"
            )
        if endpoint in _LINES:
            kind = KINDS[_LINES[endpoint]]
            rows = [
                line
                for entry in division.table(kind.path).values()
                for line in entry[kind.lines or ""]
            ]
            fields = (*LINE_KINDS[kind.line_kind or ""], *LINE_READ_ONLY)
            return self._collection(request, rows, kind.line_kind or "", PAGE, fields)
        if endpoint in _SYNC:
            kind = KINDS[_SYNC[endpoint]]
            return self._sync(
                request,
                list(division.table(kind.path).values()),
                kind.name,
                (*kind.all_fields, "Timestamp"),
            )
        base = _BULK.get(endpoint, endpoint)
        found = KINDS.get(base)
        if found is None:
            raise Invalid(f"Not found: {endpoint}", 404)
        kind = found
        self._filtered(request, base)
        page = BULK_PAGE if endpoint.startswith("bulk/") else PAGE
        rows = list(division.table(kind.path).values())
        return self._collection(
            request, rows, kind.name, page, kind.all_fields, kind=kind, division=division
        )

    def _filtered(self, request: Request, endpoint: str) -> None:
        if endpoint in _MUST_FILTER and not request.param("$filter"):
            raise Invalid(
                f"Mandatory filtering: {endpoint} must be filtered; read its sync endpoint for "
                "everything"
            )

    def _collection(
        self,
        request: Request,
        rows: list[dict[str, Any]],
        name: str,
        page: int,
        fields: Iterable[str],
        *,
        order: str = "_seq",
        kind: Kind | None = None,
        division: Division | None = None,
    ) -> Response:
        fields = tuple(fields)
        text = request.param("$filter")
        if text:
            test = parse_filter(text, fields)
            rows = [row for row in rows if test(row)]
        rows = (
            sorted(rows, key=lambda r: r.get(order) or r.get("Created") or 0)
            if order != "_seq"
            else rows
        )
        start = int(request.param("$skiptoken") or 0)
        top = request.param("$top")
        limit = min(page, int(top)) if top else page
        chosen = rows[start : start + limit]
        select = _select(request)
        expand = _expand(request)
        results = []
        for row in chosen:
            if kind is not None and division is not None:
                key = row[kind.key]
                uri = f"{division.code}/{kind.path}(guid'{key}')"
                results.append(self._row(request, division, kind, row, select, expand, uri))
            else:
                results.append(
                    {
                        k: _wire(row.get(k))
                        for k in fields
                        if k in row and (select is None or k in select)
                    }
                )
        envelope: dict[str, Any] = {"results": results}
        if start + limit < len(rows) and not (top and start + limit >= int(top)):
            envelope["__next"] = _next(request, start + limit)
        return _json(200, {"d": envelope})

    def _sync(
        self, request: Request, rows: list[dict[str, Any]], name: str, fields: Iterable[str]
    ) -> Response:
        text = request.param("$filter")
        after = 0
        if text:
            found = re.fullmatch(r"\s*Timestamp\s+gt\s+(\d+)[lL]?\s*", text)
            if not found:
                raise Invalid(
                    "Only the filter 'Timestamp gt <number>' is allowed on sync endpoints"
                )
            after = int(found.group(1))
        token = request.param("$skiptoken")
        if token:
            after = max(after, int(token))
        rows = sorted((r for r in rows if r["Timestamp"] > after), key=lambda r: r["Timestamp"])
        select = _select(request)
        known = set(fields)
        if select and not set(select) <= known:
            raise Invalid(
                f"No property '{sorted(set(select) - known)[0]}' exists in type "
                f"'Exact.Web.Api.Models.{name}'."
            )
        chosen = rows[:BULK_PAGE]
        results = [
            {k: _wire(row.get(k)) for k in (select or fields) if k in known} for row in chosen
        ]
        envelope: dict[str, Any] = {"results": results}
        if len(rows) > BULK_PAGE:
            envelope["__next"] = _next(request, chosen[-1]["Timestamp"])
        return _json(200, {"d": envelope})

    def _sync_timestamp(self, request: Request, division: Division) -> Response:
        modified = request.param("modified") or ""
        endpoint = (request.param("endPoint") or "").strip("'")
        found = re.fullmatch(r"datetime'([^']+)'", modified.strip())
        if not found or not endpoint:
            raise Invalid("Mandatory: modified (datetime'...') and endPoint ('...')")
        moment = dt.datetime.fromisoformat(found.group(1))
        row = {
            "API": endpoint,
            "Modified": moment.replace(tzinfo=dt.UTC),
            "TimeStampAsBigInt": division.timestamp_at(moment),
        }
        return _json(200, {"d": {"results": [{k: _wire(v) for k, v in row.items()}]}})

    # -- helpers for tests -------------------------------------------------------------------------

    def issue_tokens(self) -> dict[str, Any]:
        """A token pair as if a user had just logged in."""
        with self.lock:
            return self.oauth.issue()

    def process(self, path: str, key: str, division: int | None = None) -> None:
        """Mark an entry processed (Exact's status 50): it can no longer change or go."""
        with self.lock:
            row = self.division(division).row(path, key)
            row["Status"] = 50


def _line_view(line: Mapping[str, Any], select: list[str] | None) -> dict[str, Any]:
    """An entry line as Exact writes it inside its entry (``select``: the fields asked for)."""
    return {k: _wire(v) for k, v in line.items() if select is None or k in select}


def _division_row(division: Division) -> dict[str, Any]:
    return {
        "Code": division.code,
        "Description": division.name,
        "Currency": division.currency,
        "Country": division.country,
        "StartDate": division.start,
        "VATNumber": None,
        "Status": 0,
    }


def _body(request: Request) -> dict[str, Any]:
    from migrationkit.connectors.exact.wire import loads

    try:
        body = loads(request.body)
    except ValueError:
        raise Invalid(
            "Error processing request stream. The request body is not valid JSON."
        ) from None
    if not isinstance(body, dict):
        raise Invalid("Error processing request stream. An entity was expected.")
    return body


def _select(request: Request) -> list[str] | None:
    text = request.param("$select")
    return [s.strip() for s in text.split(",") if s.strip()] if text else None


def _expand(request: Request) -> str | None:
    return request.param("$expand")


def _check_options(request: Request) -> None:
    for name in request.query:
        if name.startswith("$") and name not in (
            "$select",
            "$filter",
            "$expand",
            "$top",
            "$skiptoken",
            "$inlinecount",
            "$format",
        ):
            raise Invalid(f"The query option {name} is not supported by the sandbox")


def _next(request: Request, token: int) -> str:
    host = request.header("Host") or "127.0.0.1"
    query = {k: v[0] for k, v in request.query.items() if k != "$skiptoken"}
    query["$skiptoken"] = str(token)
    return f"http://{host}{request.path}?{urllib.parse.urlencode(query, safe='$,/')}"


def start_server(app: ExactSandbox, port: int = 0) -> SandboxServer:
    """Serve ``app`` on ``127.0.0.1`` (a free port unless given); use as a context manager."""
    return SandboxServer(app, port)
