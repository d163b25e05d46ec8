"""A stateful emulator of the part of the Xero Accounting API the connector uses.

Run it with ``migrationkit sandbox xero [--port P]``; the tests start it in a thread. It serves
``/api.xro/2.0/...`` for any ``xero-tenant-id`` (each tenant gets a new UK organisation, see
:mod:`.organisation`) and any bearer token, and enforces what Xero enforces at the HTTP level:

* per-tenant rate limits (5 calls in flight, 60 a minute, 5,000 a day), answered with 429, a
  ``Retry-After`` and ``X-Rate-Limit-Problem``; every answer carries ``X-MinLimit-Remaining``
  and ``X-DayLimit-Remaining``. ``rate_scale`` makes time run faster so tests stay quick;
* ``summarizeErrors``: ``false`` answers 200 with each element's ``ValidationErrors``; the
  default answers 400 with only the failed elements, *while still creating the good ones*, as
  Xero does;
* ``Idempotency-Key``: the same key with the same request replays the stored answer, the same
  key with a different request is refused;
* paging (``page``, ``pageSize``, 100 by default), ``If-Modified-Since``, ``includeArchived``,
  a ``where`` filter, and ``/Date(...)/`` dates in every answer;
* an OAuth2 authorization server (``/identity/connect/authorize`` approves at once and
  redirects with a code; ``/connect/token`` rotates refresh tokens and answers
  ``invalid_grant`` when a used one comes back) and ``/connections``.

Faults (bursts of 429 and 5xx, an expired token, a connection dropped after the commit) come
from :class:`migrationkit.testing.Faults`, as for every sandbox.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import datetime as dt
import email.utils
import hashlib
import math
import re
import secrets
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

import attrs

from migrationkit.connectors.xero import wire
from migrationkit.http import Limits

from ..server import (
    NoRoute,
    Request,
    Response,
    Routes,
    SandboxApp,
    SandboxServer,
    retry_after_header,
)
from .organisation import ZERO_ID, Obj, Organisation, XeroError, render

__all__ = [
    "API_PREFIX",
    "AUTHORIZE_PATH",
    "TOKEN_PATH",
    "XERO_LIMITS",
    "XeroSandbox",
    "start_server",
]

API_PREFIX = "/api.xro/2.0"
TOKEN_PATH = "/connect/token"
AUTHORIZE_PATH = "/identity/connect/authorize"
CONNECTIONS_PATH = "/connections"
XERO_LIMITS = Limits(concurrent=5, per_minute=60, per_day=5000)
APP_MINUTE_LIMIT = 10_000
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

Handler = Callable[[Request, Organisation, tuple[str, ...]], Response]


@attrs.define
class _Windows:
    """One tenant's call counters."""

    minute: collections.deque[float] = attrs.field(factory=collections.deque)
    day: collections.deque[float] = attrs.field(factory=collections.deque)
    in_flight: int = 0


@attrs.define
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str | None
    scope: str


class XeroSandbox(SandboxApp):
    """The Xero sandbox: organisations per tenant, Xero's rules, limits and OAuth server."""

    name = "xero"

    def __init__(
        self,
        *,
        rate_scale: float = 1.0,
        limits: Limits = XERO_LIMITS,
        accept_any_token: bool = True,
        token_lifetime: float = 1800.0,
        clock: Callable[[], float] = time.monotonic,
        tenant_id: str | None = None,
        organisation_name: str = "Sandbox Trading Ltd",
        token: str | None = None,
    ) -> None:
        super().__init__(token=token, accept_any_token=accept_any_token)
        if rate_scale <= 0:
            raise ValueError("rate_scale must be positive")
        self.rate_scale = rate_scale
        self.limits = limits.scaled(rate_scale)
        self.token_lifetime = token_lifetime
        self._clock = clock
        self._offset = 0.0
        self._organisation_name = organisation_name
        self.orgs: dict[str, Organisation] = {}
        self.default_tenant = tenant_id or str(uuid.uuid4())
        self.org(self.default_tenant)
        self._windows: dict[str, _Windows] = collections.defaultdict(_Windows)
        self._app_minute: collections.deque[float] = collections.deque()
        self._limits_lock = threading.Lock()
        self._replays: dict[tuple[str, str], tuple[str, Response]] = {}
        self._codes: dict[str, _Grant] = {}
        self._access: dict[str, float] = {}
        self._refresh: dict[str, bool] = {}
        self.rejected_refresh_tokens = 0
        self.calls: list[tuple[str, str, int]] = []
        self.idempotent_replays = 0
        self.routes = Routes(API_PREFIX, case_sensitive=False)
        self._register_routes()

    # -- clock and tenants ---------------------------------------------------------------------

    def now(self) -> float:
        """The sandbox's clock (monotonic seconds, moved on by :meth:`advance`)."""
        return self._clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock on, e.g. past the end of a daily-limit window."""
        self._offset += seconds

    def org(self, tenant: str) -> Organisation:
        """The organisation of ``tenant``, created (as a new UK company) on first use."""
        with self.lock:
            found = self.orgs.get(tenant)
            if found is None:
                found = self.orgs[tenant] = Organisation(self._organisation_name, tenant)
            return found

    def issue_token(self) -> str:
        """An access token this sandbox accepts (also when ``accept_any_token`` is off)."""
        token = "sbx-at-" + secrets.token_urlsafe(24)
        self._access[token] = self.now() + self.token_lifetime / self.rate_scale
        return token

    def issue_refresh_token(self) -> str:
        token = "sbx-rt-" + secrets.token_urlsafe(24)
        self._refresh[token] = True
        return token

    # -- the request pipeline ------------------------------------------------------------------

    def unauthenticated(self, request: Request) -> Response | None:
        if request.path in (TOKEN_PATH, AUTHORIZE_PATH):
            with self.lock:
                return self._identity(request)
        return None

    def dispatch(self, request: Request) -> tuple[Response | None, bool]:
        open_answer = self.unauthenticated(request)
        if open_answer is not None:
            return open_answer, False
        if request.path == CONNECTIONS_PATH:
            if not self.authorised(request):
                return self.unauthorised(), False
            return self._connections(), False
        tenant = request.header("xero-tenant-id") or ""
        refused = self._enter(tenant)
        if refused is not None:
            self.calls.append((request.method, request.path, refused.status))
            return refused, False
        try:
            response, drop = super().dispatch(request)
        finally:
            with self._limits_lock:
                self._windows[tenant].in_flight -= 1
        assert response is not None
        response = attrs.evolve(response, headers={**response.headers, **self._remaining(tenant)})
        self.calls.append((request.method, request.path, response.status))
        return response, drop

    def token_valid(self, token: str) -> bool:
        expiry = self._access.get(token)
        return expiry is not None and expiry > self.now()

    def unauthorised(self) -> Response:
        return Response(
            401,
            {"Type": None, "Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired"},
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )

    def _enter(self, tenant: str) -> Response | None:
        """Count the call against the tenant's windows, or refuse it with a 429."""
        limits = self.limits
        with self._limits_lock:
            now = self.now()
            windows = self._windows[tenant]
            _expire(windows.minute, now - limits.minute)
            _expire(windows.day, now - limits.day)
            _expire(self._app_minute, now - limits.minute)
            problem, wait = None, 0.0
            if limits.concurrent is not None and windows.in_flight >= limits.concurrent:
                problem = "concurrent"
            elif limits.per_day is not None and len(windows.day) >= limits.per_day:
                problem, wait = "day", windows.day[0] + limits.day - now
            elif limits.per_minute is not None and len(windows.minute) >= limits.per_minute:
                problem, wait = "minute", windows.minute[0] + limits.minute - now
            elif len(self._app_minute) >= APP_MINUTE_LIMIT:
                problem, wait = "appminute", self._app_minute[0] + limits.minute - now
            if problem is not None:
                headers = {"X-Rate-Limit-Problem": problem, **self._remaining_locked(tenant)}
                if problem != "concurrent":
                    headers["Retry-After"] = retry_after_header(wait, scale=self.rate_scale)
                return Response(
                    429,
                    {"Title": "Too Many Requests", "Status": 429, "Detail": f"{problem} limit"},
                    headers,
                )
            windows.in_flight += 1
            windows.minute.append(now)
            windows.day.append(now)
            self._app_minute.append(now)
            return None

    def _remaining(self, tenant: str) -> dict[str, str]:
        with self._limits_lock:
            return self._remaining_locked(tenant)

    def _remaining_locked(self, tenant: str) -> dict[str, str]:
        windows = self._windows[tenant]
        limits = self.limits
        return {
            "X-MinLimit-Remaining": str(max((limits.per_minute or 0) - len(windows.minute), 0)),
            "X-DayLimit-Remaining": str(max((limits.per_day or 0) - len(windows.day), 0)),
            "X-AppMinLimit-Remaining": str(max(APP_MINUTE_LIMIT - len(self._app_minute), 0)),
        }

    def handle(self, request: Request) -> Response:
        if not request.path.startswith(API_PREFIX + "/"):
            return _not_found()
        tenant = request.header("xero-tenant-id")
        if not tenant:
            return Response(
                403,
                {
                    "Type": None,
                    "Title": "Forbidden",
                    "Status": 403,
                    "Detail": "AuthenticationUnsuccessful",
                },
            )
        org = self.org(tenant)
        key = request.header("Idempotency-Key")
        if key and request.method in ("PUT", "POST", "DELETE"):
            return self._idempotent(tenant, key, request, org)
        return self._route(request, org)

    def _idempotent(self, tenant: str, key: str, request: Request, org: Organisation) -> Response:
        material = "\n".join(
            (
                request.method,
                request.path,
                urllib.parse.urlencode(sorted(request.query.items()), doseq=True),
                hashlib.sha256(request.body).hexdigest(),
            )
        )
        stored = self._replays.get((tenant, key))
        if stored is not None:
            if stored[0] != material:
                return _validation_error(
                    "The Idempotency-Key has already been used for a different request"
                )
            self.idempotent_replays += 1
            return stored[1]
        response = self._route(request, org)
        if response.status < 500:
            self._replays[(tenant, key)] = (material, response)
        return response

    def _route(self, request: Request, org: Organisation) -> Response:
        try:
            route = self.routes.match(request.method, request.path)
        except NoRoute:
            return _not_found()
        try:
            return route.handler(request, org, route.values)
        except XeroError as exc:
            return _validation_error(*exc.messages)
        except (ValueError, KeyError, TypeError) as exc:
            return _validation_error(f"The request could not be read: {exc}")

    # -- routes --------------------------------------------------------------------------------

    def _register_routes(self) -> None:
        guid = "<id>"
        add = self._add
        add("GET", "/Organisation", self._get_organisation)
        add("GET", "/Currencies", self._get_currencies)
        add("PUT", "/Currencies", self._put_currency)
        add("GET", "/Accounts", self._get_accounts)
        add("GET", f"/Accounts/{guid}", self._get_account)
        add("PUT", "/Accounts", self._put_account)
        add("POST", f"/Accounts/{guid}", self._post_account)
        add("DELETE", f"/Accounts/{guid}", self._delete_account)
        add("GET", "/TaxRates", self._get_tax_rates)
        add("PUT", "/TaxRates", self._put_tax_rates)
        add("POST", "/TaxRates", self._post_tax_rates)
        add("GET", "/TrackingCategories", self._get_tracking)
        add("GET", f"/TrackingCategories/{guid}", self._get_tracking_category)
        add("PUT", "/TrackingCategories", self._put_tracking)
        add("POST", f"/TrackingCategories/{guid}", self._post_tracking)
        add("DELETE", f"/TrackingCategories/{guid}", self._delete_tracking)
        add("PUT", f"/TrackingCategories/{guid}/Options", self._put_tracking_option)
        add("GET", "/Contacts", self._lister("Contacts", lambda o: o.contacts, paged=True))
        add(
            "GET",
            f"/Contacts/{guid}",
            self._getter("Contacts", lambda o: o.contacts, "ContactNumber"),
        )
        add(
            "PUT",
            "/Contacts",
            self._batch("Contacts", "ContactID", lambda o, e, r: o.create_contact(e)),
        )
        add(
            "POST",
            "/Contacts",
            self._batch("Contacts", "ContactID", lambda o, e, r: o.update_contact(e)),
        )
        add(
            "POST",
            f"/Contacts/{guid}",
            self._single("Contacts", lambda o, i, e, r: o.update_contact(e, i)),
        )
        add("GET", "/Items", self._lister("Items", lambda o: o.items, paged=False))
        add("GET", f"/Items/{guid}", self._getter("Items", lambda o: o.items, "Code"))
        add("PUT", "/Items", self._batch("Items", "ItemID", lambda o, e, r: o.create_item(e)))
        add("POST", "/Items", self._batch("Items", "ItemID", lambda o, e, r: o.create_item(e)))
        add("POST", f"/Items/{guid}", self._single("Items", lambda o, i, e, r: o.create_item(e, i)))
        add("DELETE", f"/Items/{guid}", self._delete_item)
        add("GET", "/Invoices", self._lister("Invoices", lambda o: o.invoices, paged=True))
        add(
            "GET",
            f"/Invoices/{guid}",
            self._getter("Invoices", lambda o: o.invoices, "InvoiceNumber"),
        )
        create_invoice = self._batch(
            "Invoices", "InvoiceID", lambda o, e, r: o.create_invoice(e, _unitdp(r))
        )
        add("PUT", "/Invoices", create_invoice)
        add("POST", "/Invoices", create_invoice)
        add(
            "POST",
            f"/Invoices/{guid}",
            self._single(
                "Invoices",
                lambda o, i, e, r: o.create_invoice({**e, "InvoiceID": i}, _unitdp(r)),
            ),
        )
        add(
            "GET", "/CreditNotes", self._lister("CreditNotes", lambda o: o.credit_notes, paged=True)
        )
        add(
            "GET",
            f"/CreditNotes/{guid}",
            self._getter("CreditNotes", lambda o: o.credit_notes, "CreditNoteNumber"),
        )
        create_credit = self._batch(
            "CreditNotes", "CreditNoteID", lambda o, e, r: o.create_credit_note(e, _unitdp(r))
        )
        add("PUT", "/CreditNotes", create_credit)
        add("POST", "/CreditNotes", create_credit)
        add(
            "POST",
            f"/CreditNotes/{guid}",
            self._single(
                "CreditNotes",
                lambda o, i, e, r: o.create_credit_note({**e, "CreditNoteID": i}, _unitdp(r)),
            ),
        )
        add("PUT", f"/CreditNotes/{guid}/Allocations", self._allocate("CreditNote"))
        add(
            "DELETE",
            f"/CreditNotes/{guid}/Allocations/<allocation>",
            self._unallocate("CreditNote"),
        )
        add("GET", "/Payments", self._lister("Payments", lambda o: o.payments, paged=True))
        add("GET", f"/Payments/{guid}", self._getter("Payments", lambda o: o.payments))
        add(
            "PUT",
            "/Payments",
            self._batch("Payments", "PaymentID", lambda o, e, r: o.create_payment(e)),
        )
        add("POST", f"/Payments/{guid}", self._delete_payment)
        add("GET", "/BatchPayments", self._get_batch_payments)
        add("PUT", "/BatchPayments", self._put_batch_payments)
        add("POST", "/BatchPayments", self._delete_batch_payments)
        add("POST", f"/BatchPayments/{guid}", self._delete_batch_payment)
        add(
            "GET",
            "/Overpayments",
            self._lister("Overpayments", lambda o: o.overpayments, paged=True),
        )
        add("GET", f"/Overpayments/{guid}", self._getter("Overpayments", lambda o: o.overpayments))
        add("PUT", f"/Overpayments/{guid}/Allocations", self._allocate("Overpayment"))
        add(
            "DELETE",
            f"/Overpayments/{guid}/Allocations/<allocation>",
            self._unallocate("Overpayment"),
        )
        add(
            "GET",
            "/BankTransactions",
            self._lister("BankTransactions", lambda o: o.bank_transactions, paged=True),
        )
        add(
            "GET",
            f"/BankTransactions/{guid}",
            self._getter("BankTransactions", lambda o: o.bank_transactions),
        )
        create_bank = self._batch(
            "BankTransactions",
            "BankTransactionID",
            lambda o, e, r: o.create_bank_transaction(e, _unitdp(r)),
        )
        add("PUT", "/BankTransactions", create_bank)
        add("POST", "/BankTransactions", create_bank)
        add(
            "POST",
            f"/BankTransactions/{guid}",
            self._single(
                "BankTransactions",
                lambda o, i, e, r: o.update_bank_transaction(i, e, _unitdp(r)),
            ),
        )
        add("GET", "/BankTransfers", self._get_bank_transfers)
        add(
            "GET",
            f"/BankTransfers/{guid}",
            self._getter("BankTransfers", lambda o: o.bank_transfers),
        )
        add("PUT", "/BankTransfers", self._put_bank_transfers)
        add("POST", "/BankTransfers", self._delete_bank_transfers)
        add("POST", f"/BankTransfers/{guid}", self._delete_bank_transfer)
        add(
            "GET",
            "/ManualJournals",
            self._lister("ManualJournals", lambda o: o.manual_journals, paged=True),
        )
        add(
            "GET",
            f"/ManualJournals/{guid}",
            self._getter("ManualJournals", lambda o: o.manual_journals),
        )
        create_journal = self._batch(
            "ManualJournals", "ManualJournalID", lambda o, e, r: o.create_manual_journal(e)
        )
        add("PUT", "/ManualJournals", create_journal)
        add("POST", "/ManualJournals", create_journal)
        add(
            "POST",
            f"/ManualJournals/{guid}",
            self._single("ManualJournals", lambda o, i, e, r: o.update_manual_journal(i, e)),
        )

    def _add(self, method: str, path: str, handler: Handler) -> None:
        self.routes.add(method, path, handler)

    # -- generic handlers ----------------------------------------------------------------------

    def _lister(
        self, key: str, table: Callable[[Organisation], dict[str, Obj]], *, paged: bool
    ) -> Handler:
        def handler(request: Request, org: Organisation, _: tuple[str, ...]) -> Response:
            records: Iterable[Obj] = list(table(org).values())
            records = _filtered(records, request, key, org)
            return _listing(key, records, request, paged=paged, org=org)

        return handler

    def _getter(
        self, key: str, table: Callable[[Organisation], dict[str, Obj]], *alternates: str
    ) -> Handler:
        def handler(request: Request, org: Organisation, groups: tuple[str, ...]) -> Response:
            record = org.lookup(table(org), groups[0], *alternates)
            if record is None:
                return _not_found()
            return _envelope(key, [_view(key, record, org, request)])

        return handler

    def _batch(
        self,
        key: str,
        id_field: str,
        create: Callable[[Organisation, Obj, Request], Obj],
    ) -> Handler:
        def handler(request: Request, org: Organisation, _: tuple[str, ...]) -> Response:
            body = _body(request)
            elements = body.get(key) if isinstance(body, dict) else None
            if not isinstance(elements, list):
                return _validation_error(f"The request body must hold a list named {key}")
            return self._run_batch(request, org, key, id_field, elements, create)

        return handler

    def _run_batch(
        self,
        request: Request,
        org: Organisation,
        key: str,
        id_field: str,
        elements: list[Any],
        create: Callable[[Organisation, Obj, Request], Obj],
    ) -> Response:
        results: list[Obj] = []
        failed: list[Obj] = []
        for element in elements:
            try:
                if not isinstance(element, dict):
                    raise XeroError("Each element must be an object")
                record = create(org, element, request)
            except XeroError as exc:
                echo = _echo(key, id_field, element, exc.messages)
                results.append(echo)
                failed.append(echo)
                continue
            view = _view(key, record, org, request)
            view["StatusAttributeString"] = "OK"
            results.append(view)
        summarize = (request.param("summarizeErrors") or "true").lower() != "false"
        if summarize and failed:
            # The hazard Xero documents by omission: the good elements are created all the same.
            return _validation_error(elements=failed)
        return _envelope(key, results)

    def _single(
        self, key: str, update: Callable[[Organisation, str, Obj, Request], Obj]
    ) -> Handler:
        def handler(request: Request, org: Organisation, groups: tuple[str, ...]) -> Response:
            body = _body(request)
            elements = body.get(key) if isinstance(body, dict) and key in body else [body]
            if not isinstance(elements, list) or len(elements) != 1:
                return _validation_error(f"Send exactly one element in {key}")
            record = update(org, groups[0], elements[0], request)
            return _envelope(key, [_view(key, record, org, request)])

        return handler

    def _allocate(self, kind: str) -> Handler:
        def handler(request: Request, org: Organisation, groups: tuple[str, ...]) -> Response:
            table = org.credit_notes if kind == "CreditNote" else org.overpayments
            source = table.get(groups[0])
            if source is None:
                return _not_found()
            body = _body(request)
            elements = body.get("Allocations") if isinstance(body, dict) else None
            if not isinstance(elements, list) or not elements:
                return _validation_error("The request body must hold a list named Allocations")
            done = org.allocate(source, elements, kind=kind)
            return _envelope("Allocations", [render(a) for a in done])

        return handler

    def _unallocate(self, kind: str) -> Handler:
        def handler(request: Request, org: Organisation, groups: tuple[str, ...]) -> Response:
            table = org.credit_notes if kind == "CreditNote" else org.overpayments
            source = table.get(groups[0])
            if source is None:
                return _not_found()
            allocation = org.delete_allocation(source, groups[1], kind=kind)
            id_field = "CreditNoteID" if kind == "CreditNote" else "OverpaymentID"
            body = render({**allocation, kind: {id_field: groups[0]}})
            return Response(200, wire.dumps(body), {"Content-Type": "application/json"})

        return handler

    # -- specific handlers ---------------------------------------------------------------------

    def _get_organisation(
        self, request: Request, org: Organisation, _: tuple[str, ...]
    ) -> Response:
        return _envelope("Organisations", [render(org.organisation())])

    def _get_currencies(self, request: Request, org: Organisation, _: tuple[str, ...]) -> Response:
        return _envelope("Currencies", list(org.currencies.values()))

    def _put_currency(self, request: Request, org: Organisation, _: tuple[str, ...]) -> Response:
        return _envelope("Currencies", [org.add_currency(_body(request))])

    def _get_accounts(self, request: Request, org: Organisation, _: tuple[str, ...]) -> Response:
        records = [a for a in org.accounts.values() if a["Status"] != "DELETED"]
        return _listing("Accounts", _filtered(records, request, "Accounts", org), request, org=org)

    def _get_account(
        self, request: Request, org: Organisation, groups: tuple[str, ...]
    ) -> Response:
        account = org.accounts.get(groups[0])
        if account is None:
            return _not_found()
        return _envelope("Accounts", [render(account)])

    def _put_account(self, request: Request, org: Organisation, _: tuple[str, ...]) -> Response:
        body = _body(request)
        try:
            account = org.create_account(body)
        except XeroError as exc:
            # Accounts answer 400 whatever summarizeErrors says (Xero-Net#285).
            return _validation_error(*exc.messages)
        return _envelope("Accounts", [render(account)])

    def _post_account(
        self, request: Request, org: Organisation, groups: tuple[str, ...]
    ) -> Response:
        return _envelope("Accounts", [render(org.update_account(groups[0], _body(request)))])

    def _delete_account(
        self, request: Request, org: Organisation, groups: tuple[str, ...]
    ) -> Response:
        return _envelope("Accounts", [render(org.delete_account(groups[0]))])

    def _get_tax_rates(self, request: Request, org: Organisation, _: tuple[str, ...]) -> Response:
        records = [r for r in org.tax_rates.values() if r["Status"] != "DELETED"]
        return _listing("TaxRates", _filtered(records, request, "TaxRates", org), request, org=org)

    def _put_tax_rates(self, request: Request, org: Organisation, _: tuple[str, ...]) -> Response:
        elements = _body(request).get("TaxRates") or []
        return self._run_batch(
            _summarized(request),
            org,
            "TaxRates",
            "TaxType",
            elements,
            lambda o, e, r: o.create_tax_rate(e),
        )

    def _post_tax_rates(self, request: Request, org: Organisation, _: tuple[str, ...]) -> Response:
        elements = _body(request).get("TaxRates") or []
        return self._run_batch(
            _summarized(request),
            org,
            "TaxRates",
            "TaxType",
            elements,
            lambda o, e, r: o.update_tax_rate(e),
        )

    def _get_tracking(self, request: Request, org: Organisation, _: tuple[str, ...]) -> Response:
        archived = (request.param("includeArchived") or "").lower() == "true"
        records = [
            c
            for c in org.tracking.values()
            if c["Status"] == "ACTIVE" or (archived and c["Status"] == "ARCHIVED")
        ]
        return _envelope("TrackingCategories", [render(c) for c in records])

    def _get_tracking_category(
        self, request: Request, org: Organisation, groups: tuple[str, ...]
    ) -> Response:
        category = org.tracking.get(groups[0])
        if category is None or category["Status"] == "DELETED":
            return _not_found()
        return _envelope("TrackingCategories", [render(category)])

    def _put_tracking(self, request: Request, org: Organisation, _: tuple[str, ...]) -> Response:
        return _envelope(
            "TrackingCategories", [render(org.create_tracking_category(_body(request)))]
        )

    def _post_tracking(
        self, request: Request, org: Organisation, groups: tuple[str, ...]
    ) -> Response:
        category = org.update_tracking_category(groups[0], _body(request))
        return _envelope("TrackingCategories", [render(category)])

    def _delete_tracking(
        self, request: Request, org: Organisation, groups: tuple[str, ...]
    ) -> Response:
        return _envelope("TrackingCategories", [render(org.delete_tracking_category(groups[0]))])

    def _put_tracking_option(
        self, request: Request, org: Organisation, groups: tuple[str, ...]
    ) -> Response:
        option = org.add_tracking_option(groups[0], _body(request))
        return _envelope("Options", [render(option)])

    def _delete_item(
        self, request: Request, org: Organisation, groups: tuple[str, ...]
    ) -> Response:
        org.delete_item(groups[0])
        return Response(204, None)

    def _delete_payment(
        self, request: Request, org: Organisation, groups: tuple[str, ...]
    ) -> Response:
        body = _body(request)
        elements = body.get("Payments") if isinstance(body, dict) and "Payments" in body else [body]
        if not isinstance(elements, list) or len(elements) != 1:
            return _validation_error("Send exactly one payment status")
        if elements[0].get("Status") != "DELETED":
            return _validation_error("A payment can only be deleted (Status DELETED)")
        payment = org.delete_payment(groups[0])
        return _envelope("Payments", [_view("Payments", payment, org, request)])

    def _get_batch_payments(
        self, request: Request, org: Organisation, _: tuple[str, ...]
    ) -> Response:
        records = [org.batch_payment(b) for b in org.batch_payments.values()]
        return _listing(
            "BatchPayments", _filtered(records, request, "BatchPayments", org), request, org=org
        )

    def _put_batch_payments(
        self, request: Request, org: Organisation, _: tuple[str, ...]
    ) -> Response:
        elements = _body(request).get("BatchPayments") or []
        return self._run_batch(
            request,
            org,
            "BatchPayments",
            "BatchPaymentID",
            elements,
            lambda o, e, r: o.batch_payment(o.create_batch_payment(e)),
        )

    def _delete_batch_payments(
        self, request: Request, org: Organisation, _: tuple[str, ...]
    ) -> Response:
        body = _body(request)
        elements = body.get("BatchPayments") if "BatchPayments" in body else [body]
        done = []
        for element in elements:
            if element.get("Status") != "DELETED":
                return _validation_error("A batch payment can only be deleted (Status DELETED)")
            done.append(
                org.batch_payment(org.delete_batch_payment(str(element.get("BatchPaymentID"))))
            )
        return _envelope("BatchPayments", [render(b) for b in done])

    def _delete_batch_payment(
        self, request: Request, org: Organisation, groups: tuple[str, ...]
    ) -> Response:
        if _body(request).get("Status") != "DELETED":
            return _validation_error("A batch payment can only be deleted (Status DELETED)")
        batch = org.batch_payment(org.delete_batch_payment(groups[0]))
        return _envelope("BatchPayments", [render(batch)])

    def _get_bank_transfers(
        self, request: Request, org: Organisation, _: tuple[str, ...]
    ) -> Response:
        deleted = (request.param("includeDeleted") or "").lower() == "true"
        records = [t for t in org.bank_transfers.values() if deleted or t["Status"] != "DELETED"]
        return _listing(
            "BankTransfers", _filtered(records, request, "BankTransfers", org), request, org=org
        )

    def _put_bank_transfers(
        self, request: Request, org: Organisation, _: tuple[str, ...]
    ) -> Response:
        elements = _body(request).get("BankTransfers") or []
        return self._run_batch(
            _summarized(request),
            org,
            "BankTransfers",
            "BankTransferID",
            elements,
            lambda o, e, r: o.create_bank_transfer(e),
        )

    def _delete_bank_transfers(
        self, request: Request, org: Organisation, _: tuple[str, ...]
    ) -> Response:
        elements = _body(request).get("BankTransfers") or []
        return self._run_batch(
            request,
            org,
            "BankTransfers",
            "BankTransferID",
            elements,
            lambda o, e, r: o.delete_bank_transfer(str(e.get("BankTransferID"))),
        )

    def _delete_bank_transfer(
        self, request: Request, org: Organisation, groups: tuple[str, ...]
    ) -> Response:
        if _body(request).get("Status") != "DELETED":
            return _validation_error("A bank transfer can only be deleted (Status DELETED)")
        return _envelope("BankTransfers", [render(org.delete_bank_transfer(groups[0]))])

    # -- identity ------------------------------------------------------------------------------

    def _identity(self, request: Request) -> Response:
        if request.path == AUTHORIZE_PATH:
            return self._authorize(request)
        if request.method != "POST":
            return _not_found()
        form = {k: v[0] for k, v in urllib.parse.parse_qs(request.body.decode()).items()}
        client_id = _basic_client(request.header("Authorization"))
        if client_id is None:
            return Response(401, {"error": "invalid_client"})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return self._exchange_code(form, client_id)
        if grant == "refresh_token":
            token = form.get("refresh_token", "")
            if not self._refresh.get(token):
                # A rotated refresh token is dead: two refreshers cannot both win.
                self.rejected_refresh_tokens += 1
                return Response(400, {"error": "invalid_grant"})
            self._refresh[token] = False
            return Response(200, self._token_answer("offline_access accounting.transactions"))
        return Response(400, {"error": "unsupported_grant_type"})

    def _authorize(self, request: Request) -> Response:
        redirect = request.param("redirect_uri")
        client_id = request.param("client_id")
        if not redirect or not client_id or request.param("response_type") != "code":
            return Response(400, {"error": "invalid_request"})
        code = "sbx-code-" + secrets.token_urlsafe(16)
        self._codes[code] = _Grant(
            client_id=client_id,
            redirect_uri=redirect,
            challenge=request.param("code_challenge"),
            scope=request.param("scope") or "",
        )
        query = {"code": code, "scope": request.param("scope") or ""}
        if request.param("state") is not None:
            query["state"] = request.param("state") or ""
        location = f"{redirect}?{urllib.parse.urlencode(query)}"
        return Response(302, b"", {"Location": location})

    def _exchange_code(self, form: dict[str, str], client_id: str) -> Response:
        grant = self._codes.pop(form.get("code", ""), None)
        if grant is None or grant.client_id != client_id:
            return Response(400, {"error": "invalid_grant"})
        if grant.redirect_uri != form.get("redirect_uri"):
            return Response(400, {"error": "invalid_grant"})
        if grant.challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            if base64.urlsafe_b64encode(digest).decode().rstrip("=") != grant.challenge:
                return Response(400, {"error": "invalid_grant"})
        return Response(200, self._token_answer(grant.scope))

    def _token_answer(self, scope: str) -> dict[str, Any]:
        return {
            "access_token": self.issue_token(),
            "expires_in": int(self.token_lifetime),
            "token_type": "Bearer",
            "refresh_token": self.issue_refresh_token(),
            "scope": scope,
        }

    def _connections(self) -> Response:
        created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        return Response(
            200,
            [
                {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, tenant)),
                    "authEventId": str(uuid.uuid5(uuid.NAMESPACE_DNS, tenant)),
                    "tenantId": tenant,
                    "tenantType": "ORGANISATION",
                    "tenantName": org.info["Name"],
                    "createdDateUtc": created,
                    "updatedDateUtc": created,
                }
                for tenant, org in self.orgs.items()
            ],
        )


def start_server(app: SandboxApp, port: int = 0) -> SandboxServer:
    """A server for ``app`` on 127.0.0.1 (``port`` 0: any free port), not yet started."""
    return SandboxServer(app, port=port)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _expire(window: collections.deque[float], before: float) -> None:
    while window and window[0] <= before:
        window.popleft()


def _basic_client(header: str | None) -> str | None:
    if not header or not header.startswith("Basic "):
        return None
    try:
        raw = base64.b64decode(header[len("Basic ") :]).decode()
    except ValueError:
        return None
    client_id, colon, secret = raw.partition(":")
    return client_id if colon and client_id and secret else None


def _body(request: Request) -> Any:
    if not request.body:
        return {}
    try:
        return wire.loads(request.body)
    except ValueError as exc:
        raise XeroError(f"The request body is not valid JSON: {exc}") from None


def _unitdp(request: Request) -> int:
    return 4 if request.param("unitdp") == "4" else 2


def _summarized(request: Request) -> Request:
    """The request with summarizeErrors forced on, for endpoints that have no such option."""
    query = {k: v for k, v in request.query.items() if k != "summarizeErrors"}
    return attrs.evolve(request, query=query)


def _not_found() -> Response:
    return Response(
        404,
        b"The resource you're looking for cannot be found",
        {"Content-Type": "text/plain; charset=utf-8"},
    )


def _envelope(key: str, records: list[Any], **extra: Any) -> Response:
    body: dict[str, Any] = {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": "migrationkit sandbox",
        "DateTimeUTC": wire.format_msdate(dt.datetime.now(dt.UTC), offset=False),
        **extra,
        key: records,
    }
    return Response(
        200, wire.dumps(body, strict=False), {"Content-Type": "application/json; charset=utf-8"}
    )


def _validation_error(*messages: str, elements: list[Obj] | None = None) -> Response:
    body: dict[str, Any] = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": elements
        if elements is not None
        else [{"ValidationErrors": [{"Message": m} for m in messages]}],
    }
    return Response(
        400, wire.dumps(body, strict=False), {"Content-Type": "application/json; charset=utf-8"}
    )


_ECHO_DATES = ("Date", "DueDate")


def _echo(key: str, id_field: str, element: Any, messages: list[str]) -> Obj:
    """A refused element as Xero sends it back: what was sent, with its validation errors."""
    echo: Obj = dict(element) if isinstance(element, dict) else {}
    for field in _ECHO_DATES:
        value = echo.get(field)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                echo[field] = wire.format_msdate(dt.date.fromisoformat(value[:10]))
    if key not in ("Accounts", "TaxRates", "BankTransfers") and not echo.get(id_field):
        echo[id_field] = ZERO_ID
    echo["StatusAttributeString"] = "ERROR"
    echo["ValidationErrors"] = [{"Message": m} for m in messages]
    if key in ("Invoices", "CreditNotes"):
        echo["HasErrors"] = True
    elif key in ("Contacts", "Payments"):
        echo["HasValidationErrors"] = True
    return echo


def _view(key: str, record: Obj, org: Organisation, request: Request) -> Obj:
    """A stored record in response form, honouring ``unitdp`` for unit amounts."""
    view = render(record)
    if (
        key in ("Invoices", "CreditNotes", "BankTransactions", "Overpayments")
        and _unitdp(request) != 4
    ):
        for line in view.get("LineItems", ()):
            if "UnitAmount" in line:
                line["UnitAmount"] = line["UnitAmount"].quantize(Decimal("0.01"))
    if key == "BatchPayments":
        view = render(org.batch_payment(record)) if "_payment_ids" in record else view
    if key == "BankTransfers":
        view.pop("_UpdatedDateUTC", None)
    return view  # type: ignore[no-any-return]


def _updated(record: Obj) -> dt.datetime | None:
    value = record.get("UpdatedDateUTC") or record.get("_UpdatedDateUTC")
    return value if isinstance(value, dt.datetime) else None


def _filtered(records: Iterable[Obj], request: Request, key: str, org: Organisation) -> list[Obj]:
    since = _if_modified_since(request.header("If-Modified-Since"))
    where = request.param("where")
    predicate = _parse_where(where) if where else None
    archived = (request.param("includeArchived") or "").lower() == "true"
    chosen = []
    for record in records:
        if since is not None:
            updated = _updated(record)
            if updated is None or updated < since:
                continue
        if key == "Contacts" and not archived and record.get("ContactStatus") == "ARCHIVED":
            continue
        if predicate is not None and not predicate(record):
            continue
        chosen.append(record)
    chosen = _by_list_params(chosen, request, key)
    return chosen


def _by_list_params(records: list[Obj], request: Request, key: str) -> list[Obj]:
    filters = {
        "IDs": {"Invoices": "InvoiceID", "Contacts": "ContactID"}.get(key),
        "InvoiceNumbers": "InvoiceNumber" if key == "Invoices" else None,
        "Statuses": "Status" if key == "Invoices" else None,
    }
    for param, field in filters.items():
        value = request.param(param)
        if field and value:
            wanted = {v.strip() for v in value.split(",") if v.strip()}
            records = [r for r in records if str(r.get(field)) in wanted]
    contact_ids = request.param("ContactIDs")
    if key == "Invoices" and contact_ids:
        wanted = {v.strip() for v in contact_ids.split(",")}
        records = [r for r in records if r["Contact"]["ContactID"] in wanted]
    return records


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,7})?(?:Z|[+-]\d{2}:\d{2})?")
_IMF_FIXDATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT"
)


def _if_modified_since(value: str | None) -> dt.datetime | None:
    """The moment of an ``If-Modified-Since`` header, or None when there is none to honour.

    The spec's ``date-time`` (RFC 3339, as its example ``2020-02-06T12:17:43.202-08:00``; Xero
    reads one without an offset as UTC) and the HTTP date of RFC 9110 (``Tue, 12 Nov 2009
    00:00:00 GMT``, what pyxero sends) are honoured. Anything else is ignored, as RFC 9110
    tells a server to do with a malformed one: the whole list comes back, unfiltered (a client
    sending the wrong format reads everything, which only counting the rows shows).
    """
    if not value:
        return None
    text = value.strip()
    if _RFC3339.fullmatch(text):
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    elif _IMF_FIXDATE.fullmatch(text):
        parsed = email.utils.parsedate_to_datetime(text)
    else:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _listing(
    key: str,
    records: list[Obj],
    request: Request,
    *,
    paged: bool = False,
    org: Organisation,
) -> Response:
    page_param = request.param("page")
    if not paged or page_param is None:
        views = [_view(key, r, org, request) for r in records]
        if key == "Invoices":
            # Without a page Xero answers a summary: no line items.
            for view in views:
                view.pop("LineItems", None)
        return _envelope(key, views)
    page = max(int(page_param), 1)
    size = min(max(int(request.param("pageSize") or DEFAULT_PAGE_SIZE), 1), MAX_PAGE_SIZE)
    count = len(records)
    chosen = records[(page - 1) * size : page * size]
    pagination = {
        "page": page,
        "pageSize": size,
        "pageCount": math.ceil(count / size) if count else 0,
        "itemCount": count,
    }
    return _envelope(
        key, [_view(key, r, org, request) for r in chosen], pagination=pagination, Warnings=[]
    )


# -- the ``where`` filter: a small subset of Xero's grammar ---------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<call>(?:Guid|DateTime)\([^)]*\))
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op>==|!=|>=|<=|>|<)
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)

Predicate = Callable[[Obj], bool]


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise XeroError(f"The where clause could not be read at '{text[position:]}'")
        kind = match.lastgroup or ""
        yield kind, match.group(kind)
        position = match.end()


def _parse_where(text: str) -> Predicate:
    """``Field=="x" AND Other==Guid("...") OR Date>=DateTime(2024,01,01)`` as a predicate."""
    tokens = list(_tokens(text))
    alternatives: list[list[Predicate]] = [[]]
    index = 0
    while index < len(tokens):
        kind, value = tokens[index]
        if kind == "word" and value.upper() == "AND":
            index += 1
            continue
        if kind == "word" and value.upper() == "OR":
            alternatives.append([])
            index += 1
            continue
        if index + 2 >= len(tokens):
            raise XeroError(f"The where clause is incomplete near '{value}'")
        field, (op_kind, op), (value_kind, literal) = value, tokens[index + 1], tokens[index + 2]
        if kind != "word" or op_kind != "op":
            raise XeroError(f"The where clause could not be read near '{value}'")
        alternatives[-1].append(_comparison(field, op, _literal(value_kind, literal)))
        index += 3
    return lambda record: any(all(p(record) for p in group) for group in alternatives if group)


def _literal(kind: str, text: str) -> Any:
    if kind == "string":
        return text[1:-1].replace('\\"', '"')
    if kind == "number":
        return Decimal(text)
    if kind == "call":
        inner = text[text.index("(") + 1 : -1]
        if text.startswith("Guid"):
            return inner.strip().strip('"')
        parts = [int(p) for p in inner.split(",")]
        if len(parts) > 3:
            year, month, day, hour, minute, second = [*parts, 0, 0][:6]
            return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
        return dt.date(parts[0], parts[1], parts[2])
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    raise XeroError(f"'{text}' is not a value")


def _field(record: Obj, path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _comparison(path: str, op: str, expected: Any) -> Predicate:
    def compare(record: Obj) -> bool:
        actual = _field(record, path)
        if isinstance(expected, dt.date) and not isinstance(expected, dt.datetime):
            if isinstance(actual, dt.datetime):
                actual = actual.date()
        elif (
            isinstance(expected, dt.datetime)
            and isinstance(actual, dt.date)
            and not isinstance(actual, dt.datetime)
        ):
            actual = dt.datetime(actual.year, actual.month, actual.day, tzinfo=dt.UTC)
        if isinstance(expected, str) and isinstance(actual, str):
            actual, target = actual.casefold(), expected.casefold()
        else:
            target = expected
        try:
            return bool(
                {
                    "==": lambda: actual == target,
                    "!=": lambda: actual != target,
                    ">=": lambda: actual >= target,
                    "<=": lambda: actual <= target,
                    ">": lambda: actual > target,
                    "<": lambda: actual < target,
                }[op]()
            )
        except TypeError:
            return False

    return compare
