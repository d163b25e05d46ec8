"""The Twinfield sandbox over HTTP: SOAP per ``processxml.wsdl``, tokens, cluster, limits.

Endpoints (on one local server, which plays both login.twinfield.com and the cluster):

- ``POST /webservices/processxml.asmx``: ``ProcessXmlString`` and ``ProcessXmlDocument``, SOAP
  1.1 (``text/xml`` with ``SOAPAction``) or 1.2 (``application/soap+xml``), the ``Header``
  with ``AccessToken`` and ``CompanyCode``; faults as SOAP faults with HTTP 500;
- ``/auth/authentication/connect/authorize`` (approves at once, redirects with a code; a
  ``nonce`` is required), ``/connect/token`` (authorization code and refresh token; refresh
  tokens are not rotated) and ``/connect/accesstokenvalidation?token=…`` (answers
  ``twf.clusterUrl`` and the organisation).

Any token is accepted unless the sandbox runs the real token lifecycle (``accept_any_token``
false): then only the fixed ``token`` and tokens it issued, for an hour (scaled); an expired
one is answered with Twinfield's "Access denied. Token invalid (code 354)". Limits: 1,000
credits a minute (a query 1, a write 3) and one call in flight per organisation; beyond them
429 with a ``Retry-After`` in whole seconds of Twinfield's time (a client divides by
``rate_scale``).
"""

from __future__ import annotations

import collections
import secrets
import threading
import time
import urllib.parse
from typing import Any

from lxml import etree

from ..server import (
    NoRoute,
    Request,
    Response,
    Routes,
    SandboxApp,
    SandboxServer,
    retry_after_header,
)
from .office import Office
from .process import QUERY_ROOTS, process

__all__ = [
    "AUTH_PREFIX",
    "PROCESS_XML_PATH",
    "TwinfieldSandbox",
    "start_server",
]

PROCESS_XML_PATH = "/webservices/processxml.asmx"
AUTH_PREFIX = "/auth/authentication"
TWINFIELD_NS = "http://www.twinfield.com/"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
TOKEN_INVALID = "Access denied. Token invalid (code 354)"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)


class TwinfieldSandbox(SandboxApp):
    """One organisation with its administrations, speaking Twinfield's web services."""

    name = "twinfield"

    def __init__(
        self,
        *,
        office: str = "SANDBOX01",
        office_name: str = "Sandbox Trading Ltd",
        organisation: str = "SANDBOX-ORG",
        token: str | None = None,
        accept_any_token: bool = True,
        token_lifetime: float = 3600.0,
        rate_scale: float = 1.0,
        credits_per_minute: int = 1000,
        client_id: str = "sandbox-client",
        client_secret: str = "sandbox-secret",
    ) -> None:
        super().__init__(token=token, accept_any_token=accept_any_token)
        self.organisation = organisation
        self.offices: dict[str, Office] = {office: Office.template(office, office_name)}
        self.default_office = office
        self.token_lifetime = token_lifetime
        self.rate_scale = rate_scale
        self.credits_per_minute = credits_per_minute
        self.client_id = client_id
        self.client_secret = client_secret
        self._access: dict[str, float] = {}
        self._refresh: set[str] = set()
        self._codes: dict[str, str] = {}
        self._credits: collections.deque[tuple[float, int]] = collections.deque()
        self._in_flight = 0
        self._flight_lock = threading.Lock()
        self.calls: collections.Counter[str] = collections.Counter()
        self.credits_spent = 0
        self.rate_limited = 0
        self.validations = 0
        self.refreshes = 0
        self.routes = Routes()
        self.routes.add("POST", PROCESS_XML_PATH, self._soap)
        self.login = Routes(AUTH_PREFIX)
        self.login.add("GET", "/connect/accesstokenvalidation", self._validate)
        self.login.add("POST", "/connect/token", self._token)
        self.login.add("GET", "/connect/authorize", self._authorize)
        self.token = token or self.issue_token()
        """A token always accepted (the one ``--token`` gives, or one issued for the tests)."""

    # -- state -----------------------------------------------------------------------------------

    @property
    def office(self) -> Office:
        return self.offices[self.default_office]

    def now(self) -> float:
        return time.monotonic()

    def issue_token(self) -> str:
        token = "twf-at-" + secrets.token_urlsafe(24)
        self._access[token] = self.now() + self.token_lifetime / self.rate_scale
        return token

    def issue_refresh_token(self) -> str:
        token = "twf-rt-" + secrets.token_urlsafe(24)
        self._refresh.add(token)
        return token

    def expire(self, token: str) -> None:
        """Make a token die now, as an hour passing would."""
        self._access[token] = self.now() - 1

    def token_valid(self, token: str) -> bool:
        """Issued here and not expired (an hour, scaled)."""
        expires = self._access.get(token)
        return expires is not None and expires > self.now()

    def accepts(self, token: str) -> bool:
        """The token of a SOAP header: any token, or (real lifecycle) only valid ones."""
        if not token:
            return False
        if self.accept_any_token:
            return True
        return self.token_valid(token) or (token == self.token and token not in self._access)

    # -- HTTP ------------------------------------------------------------------------------------

    def authorised(self, request: Request) -> bool:
        # The token travels in the SOAP header, not as a bearer: checked with the envelope.
        return True

    def unauthorised(self) -> Response:
        return soap_fault(TOKEN_INVALID)

    def unauthenticated(self, request: Request) -> Response | None:
        """The login server's endpoints: served without a token, and without faults."""
        if not request.path.startswith(AUTH_PREFIX + "/"):
            return None
        try:
            route = self.login.match(request.method, request.path)
        except NoRoute as missing:
            return Response(missing.status, {"error": "invalid_request"})
        return route.handler(request)

    def throttle(self, request: Request) -> Response | None:
        """Credits: a query 1, anything else 3, ``credits_per_minute`` a (scaled) minute."""
        if request.path != PROCESS_XML_PATH:
            return None
        wait = self._spend(_cost(request.body))
        if wait is None:
            return None
        self.rate_limited += 1
        return _too_many(wait, self.rate_scale)

    def dispatch(self, request: Request) -> tuple[Response | None, bool]:
        if request.path != PROCESS_XML_PATH or request.method != "POST":
            return super().dispatch(request)
        with self._flight_lock:
            busy = self._in_flight > 0
            self._in_flight += 1
        try:
            if busy:
                # Wolters Kluwer: one call in flight per organisation.
                self.rate_limited += 1
                return _too_many(1 / self.rate_scale, self.rate_scale), False
            return super().dispatch(request)
        finally:
            with self._flight_lock:
                self._in_flight -= 1

    def handle(self, request: Request) -> Response:
        try:
            route = self.routes.match(request.method, request.path)
        except NoRoute as missing:
            return Response(missing.status, {"Message": f"No resource at {request.path}"})
        return route.handler(request)

    # -- limits ----------------------------------------------------------------------------------

    def _spend(self, cost: int) -> float | None:
        """Count ``cost`` credits; the seconds to wait instead when the minute is spent."""
        window = 60.0 / self.rate_scale
        now = self.now()
        while self._credits and self._credits[0][0] <= now - window:
            self._credits.popleft()
        used = sum(c for _, c in self._credits)
        if used + cost > self.credits_per_minute:
            return max(self._credits[0][0] + window - now, 0.0)
        self._credits.append((now, cost))
        self.credits_spent += cost
        return None

    # -- SOAP ------------------------------------------------------------------------------------

    def _soap(self, request: Request) -> Response:
        try:
            envelope = etree.fromstring(request.body, _PARSER)
        except etree.XMLSyntaxError as exc:
            return soap_fault(f"The request is not XML: {exc}", client=True)
        soap = envelope.nsmap.get(envelope.prefix) if envelope.prefix else None
        soap = etree.QName(envelope).namespace or soap
        if soap not in (SOAP11, SOAP12) or etree.QName(envelope).localname != "Envelope":
            return soap_fault("The request is not a SOAP envelope.", client=True)
        header = envelope.find(f"{{{soap}}}Header/{{{TWINFIELD_NS}}}Header")
        body = envelope.find(f"{{{soap}}}Body")
        operation = body[0] if body is not None and len(body) else None
        if operation is None:
            return soap_fault("The SOAP body is empty.", client=True, version=soap)
        name = etree.QName(operation).localname
        token = _child_text(header, "AccessToken")
        company = _child_text(header, "CompanyCode")
        if not self.accepts(token):
            return soap_fault(TOKEN_INVALID, version=soap)
        holder = operation.find(f"{{{TWINFIELD_NS}}}xmlRequest")
        if name == "ProcessXmlString":
            raw = (holder.text or "") if holder is not None else ""
            try:
                document = etree.fromstring(raw.encode("utf-8"), _PARSER)
            except etree.XMLSyntaxError as exc:
                return soap_fault(f"xmlRequest is not XML: {exc}", client=True, version=soap)
        elif name == "ProcessXmlDocument":
            inner = list(holder) if holder is not None else []
            if not inner:
                return soap_fault("xmlRequest holds no document.", client=True, version=soap)
            document = inner[0]
        else:
            return soap_fault(f"Operation {name} is not supported.", client=True, version=soap)
        office = self.offices.get(company) if company else None
        if company and office is None:
            return soap_fault(f"Access denied. Office {company} is not available.", version=soap)
        self.calls[document.tag] += 1
        answer = process(office, self.offices, document)
        return soap_answer(name, answer, soap)

    # -- login -----------------------------------------------------------------------------------

    def _validate(self, request: Request) -> Response:
        token = request.param("token") or ""
        self.validations += 1
        if not self.accepts(token):
            return Response(400, {"Message": "The access token is not valid."})
        host = request.header("Host") or "127.0.0.1"
        expires = self._access.get(token, self.now() + self.token_lifetime)
        return Response(
            200,
            {
                "twf.clusterUrl": f"http://{host}",
                "twf.organisationCode": self.organisation,
                "twf.organisationUserCode": "SANDBOX",
                "twf.organisationId": "00000000-0000-0000-0000-000000000001",
                "exp": int(time.time() + max(expires - self.now(), 0)),
                "scope": ["openid", "twf.user", "twf.organisation", "twf.organisationUser"],
            },
        )

    def _authorize(self, request: Request) -> Response:
        redirect = request.param("redirect_uri") or ""
        if not request.param("nonce"):
            return Response(400, {"error": "invalid_request", "error_description": "nonce"})
        code = "twf-code-" + secrets.token_urlsafe(16)
        self._codes[code] = redirect
        query = urllib.parse.urlencode({"code": code, "state": request.param("state") or ""})
        return Response(302, None, {"Location": f"{redirect}?{query}"})

    def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in urllib.parse.parse_qs(request.body.decode("utf-8")).items()}
        if not self._client_ok(request, form):
            return Response(401, {"error": "invalid_client"})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            if self._codes.pop(form.get("code", ""), None) is None:
                return Response(400, {"error": "invalid_grant"})
            refresh = self.issue_refresh_token()
        elif grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            if refresh not in self._refresh:
                return Response(400, {"error": "invalid_grant"})
            self.refreshes += 1
        else:
            return Response(400, {"error": "unsupported_grant_type"})
        return Response(
            200,
            {
                "access_token": self.issue_token(),
                "expires_in": int(self.token_lifetime),
                "token_type": "Bearer",
                "refresh_token": refresh,
                "id_token": "sandbox-id-token",
            },
        )

    def _client_ok(self, request: Request, form: dict[str, str]) -> bool:
        import base64

        header = request.header("Authorization") or ""
        if header.startswith("Basic "):
            raw = base64.b64decode(header[6:]).decode("utf-8")
            found_id, _, secret = raw.partition(":")
        else:
            found_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        return found_id == self.client_id and secret == self.client_secret


def _child_text(parent: etree._Element | None, name: str) -> str:
    if parent is None:
        return ""
    found = parent.find(f"{{{TWINFIELD_NS}}}{name}")
    return (found.text or "").strip() if found is not None else ""


def _too_many(wait: float, scale: float) -> Response:
    """429 with the wait in whole seconds of Twinfield's own (unscaled) time."""
    return Response(
        429,
        b"Too many requests",
        {
            "Retry-After": retry_after_header(wait, scale=scale),
            "Content-Type": "text/plain; charset=utf-8",
        },
    )


def _cost(body: bytes) -> int:
    """What a ProcessXml call costs: 1 credit for a query, 3 for anything else."""
    try:
        envelope = etree.fromstring(body, _PARSER)
        holder = envelope.find(f".//{{{TWINFIELD_NS}}}xmlRequest")
        if holder is None:
            return 3
        if len(holder):
            root = holder[0].tag
        else:
            root = etree.fromstring((holder.text or "").encode("utf-8"), _PARSER).tag
    except etree.XMLSyntaxError:
        return 3
    return 1 if root in QUERY_ROOTS else 3


def _envelope(version: str) -> tuple[etree._Element, etree._Element]:
    root = etree.Element(f"{{{version}}}Envelope", nsmap={"soap": version})
    body = etree.SubElement(root, f"{{{version}}}Body")
    return root, body


def soap_answer(operation: str, answer: etree._Element, version: str = SOAP11) -> Response:
    """``<…Response><…Result>`` holding the answered document (as text or as XML)."""
    root, body = _envelope(version)
    # A prefix, not a default namespace: the answered document inside keeps no namespace.
    namespaces: Any = {"tw": TWINFIELD_NS}
    wrapper = etree.SubElement(body, f"{{{TWINFIELD_NS}}}{operation}Response", nsmap=namespaces)
    result = etree.SubElement(wrapper, f"{{{TWINFIELD_NS}}}{operation}Result")
    if operation == "ProcessXmlDocument":
        result.append(answer)
    else:
        result.text = etree.tostring(answer, encoding="unicode")
    content = "text/xml" if version == SOAP11 else "application/soap+xml"
    return Response(
        200,
        etree.tostring(root, xml_declaration=True, encoding="utf-8"),
        {"Content-Type": f"{content}; charset=utf-8"},
    )


def soap_fault(message: str, *, client: bool = False, version: str = SOAP11) -> Response:
    """A SOAP fault, as ASP.NET web services send one: HTTP 500."""
    root, body = _envelope(version)
    fault = etree.SubElement(body, f"{{{version}}}Fault")
    if version == SOAP11:
        etree.SubElement(fault, "faultcode").text = "soap:Client" if client else "soap:Server"
        etree.SubElement(fault, "faultstring").text = message
        content = "text/xml"
    else:
        code = etree.SubElement(fault, f"{{{version}}}Code")
        etree.SubElement(code, f"{{{version}}}Value").text = (
            "soap:Sender" if client else "soap:Receiver"
        )
        reason = etree.SubElement(fault, f"{{{version}}}Reason")
        text = etree.SubElement(reason, f"{{{version}}}Text")
        text.text = message
        text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        content = "application/soap+xml"
    return Response(
        500,
        etree.tostring(root, xml_declaration=True, encoding="utf-8"),
        {"Content-Type": f"{content}; charset=utf-8"},
    )


def start_server(app: TwinfieldSandbox, port: int = 0) -> SandboxServer:
    """Serve the sandbox on ``127.0.0.1`` in a background thread."""
    return SandboxServer(app, port).start()


def describe(app: TwinfieldSandbox, server: SandboxServer) -> dict[str, Any]:
    """What a user needs to point the connector at the sandbox."""
    return {
        "cluster_url": server.url,
        "login_url": server.url + AUTH_PREFIX,
        "office": app.default_office,
        "access_token": app.token,
    }
