"""ProcessXml over the shared :class:`~migrationkit.http.ApiClient`: credits, faults, batches.

The toolkit retries 429 (waiting ``Retry-After``), 503 and dropped reads. This module adds what
is Twinfield's own:

- the SOAP envelope with the access token and the ``CompanyCode`` header, sent to the
  organisation's cluster (discovered per token, see :mod:`.auth`);
- the credits model: a query (``read``, ``list``, browse ``columns``) costs 1 credit, anything
  else 3, 1,000 credits a minute per IP and client id, one call in flight per organisation
  (:data:`LIMITS`); the run waits and logs why, it never fails on a limit;
- a SOAP fault saying the token is invalid (code 354) refreshes the token once and resends;
- a write answered 500, 502 or 504 (without a SOAP fault) may have landed: it is not resent
  blindly; :class:`AmbiguousWrite` says so, and the handlers look before they resend (a
  dimension or an article, written by its code, is simply resent);
- no more than :data:`MAX_CHILDREN` elements under one parent in a document: a longer list
  goes as several documents, and the answers come back in the order of the elements.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import requests
from lxml import etree

from migrationkit.core.errors import AuthError, ConfigError, RemoteAPIError
from migrationkit.handlers.batching import in_chunks
from migrationkit.http import Action, ApiClient, Limits, RateLimiter, TokenProvider

from .xml import SOAP_ACTION, SoapFault, child, envelope, messages, to_text, unwrap

__all__ = [
    "LIMITS",
    "MAX_CHILDREN",
    "MAX_LINES",
    "PROCESS_XML_PATH",
    "QUERY_ROOTS",
    "AmbiguousWrite",
    "TwinfieldClient",
    "TwinfieldRefused",
]

log = logging.getLogger("migrationkit.twinfield")

PROCESS_XML_PATH = "/webservices/processxml.asmx"

LIMITS = Limits(concurrent=1, per_minute=1000)
"""Twinfield's fair-use limits: 1,000 credits a minute per IP and per client id, and one call
in flight per organisation (Wolters Kluwer's advice); a query costs 1 credit, a write 3. A
queue of work per organisation uses the same figures."""

QUERY_COST = 1
WRITE_COST = 3
QUERY_ROOTS = frozenset({"read", "list", "columns", "accountcode", "accountcodes"})
"""ProcessXml roots that count as queries (1 credit); every other root is a write (3)."""

MAX_CHILDREN = 25
"""Child elements of one parent in one document (dimensions, transactions)."""
MAX_LINES = 500
"""Lines of one transaction."""

TOKEN_INVALID = "354"
"""Twinfield's code for an access token it no longer takes ("Access denied. Token invalid")."""
AMBIGUOUS_STATUSES = (500, 502, 504)


class AmbiguousWrite(RemoteAPIError):
    """A write was answered 500, 502 or 504, or its connection broke: it may have landed."""

    may_have_landed = True


class TwinfieldRefused(RemoteAPIError):
    """Twinfield refused a whole document (not one element of it) with its own words."""


def _soap_fault(response: requests.Response) -> bool:
    return b"Fault>" in response.content[:4000]


def _classify(response: requests.Response) -> Action | None:
    """A SOAP fault is Twinfield's answer, not a hiccup: it is read, never retried blindly."""
    if response.status_code == 500 and _soap_fault(response):
        return Action.FAIL
    return None


class TwinfieldClient:
    """ProcessXml calls against one administration (office), within Twinfield's limits."""

    def __init__(
        self,
        api: ApiClient,
        auth: TokenProvider,
        cluster: Callable[[str], str],
        limiter: RateLimiter,
        office: str | None = None,
    ) -> None:
        self.api = api
        self.auth = auth
        self.cluster = cluster
        self.limiter = limiter
        self.office = office
        self.credits = 0
        self.writes = 0
        """Writes sent so far: what was read before the last write may be stale."""

    @classmethod
    def build(
        cls,
        auth: TokenProvider,
        cluster: Callable[[str], str],
        *,
        office: str | None = None,
        credits_per_minute: int = 1000,
        rate_scale: float = 1.0,
        timeout: float = 120.0,
        session: requests.Session | None = None,
    ) -> TwinfieldClient:
        """A client with Twinfield's limits; ``rate_scale`` makes time run faster (sandboxes)."""
        limits = Limits(concurrent=LIMITS.concurrent, per_minute=credits_per_minute)
        api = ApiClient(
            base_url="",
            auth=None,  # the token travels in the SOAP header, not in an Authorization header
            classify=_classify,
            backoff=0.5 / rate_scale,
            max_backoff=60.0 / rate_scale,
            timeout=timeout,
            time_scale=rate_scale,
            name="Twinfield",
            session=session or requests.Session(),
        )
        return cls(api, auth, cluster, RateLimiter(limits.scaled(rate_scale)), office)

    # -- one document ----------------------------------------------------------------------------

    def process(
        self, document: etree._Element, *, company: bool = True, repeatable: bool = False
    ) -> etree._Element:
        """Send one Twinfield document; the answer is the document with its results.

        ``company`` false leaves out the ``CompanyCode`` header (listing the offices).
        ``repeatable`` says a write may simply be sent again when its answer was lost: a
        dimension or an article is written by its code, so a second send changes it to the
        same (transactions are numbered by Twinfield and are never repeatable).
        """
        cost = QUERY_COST if document.tag in QUERY_ROOTS else WRITE_COST
        request = to_text(document)
        refreshed = False
        while True:
            token = self.auth.access_token()
            url = self.cluster(token).rstrip("/") + PROCESS_XML_PATH
            body = envelope(request, token, self.office if company else None)
            try:
                response = self._post(url, body, cost, repeatable)
                if response.status_code in AMBIGUOUS_STATUSES and not _soap_fault(response):
                    # A gateway's 5xx after a write: it may have landed. Never resent blindly.
                    raise AmbiguousWrite(
                        f"Twinfield answered {response.status_code} to a write; it may have "
                        "saved it all the same",
                        status=response.status_code,
                        body=response.text[:2000],
                    )
                return unwrap(response.content)
            except SoapFault as fault:
                if TOKEN_INVALID in fault.message and not refreshed:
                    self.auth.refresh(token)
                    refreshed = True
                    continue
                raise self._fault_error(fault) from None
            except RemoteAPIError as exc:
                found = _fault_in(exc)
                if found is not None and TOKEN_INVALID in found.message and not refreshed:
                    self.auth.refresh(token)
                    refreshed = True
                    continue
                if found is not None:
                    raise self._fault_error(found) from None
                if (
                    cost == WRITE_COST
                    and not repeatable
                    and (exc.status in AMBIGUOUS_STATUSES or getattr(exc, "may_have_landed", False))
                ):
                    raise AmbiguousWrite(str(exc), status=exc.status, body=exc.body) from None
                raise

    def _post(self, url: str, body: bytes, cost: int, repeatable: bool) -> requests.Response:
        waited = self.limiter.waited
        started = time.monotonic()
        with self.limiter.slot(cost):
            if self.limiter.waited > waited:
                log.info(
                    "Twinfield: waited %.1fs for credits (%d a minute, one call in flight per "
                    "organisation)",
                    time.monotonic() - started,
                    self.limiter.limits.per_minute or 0,
                )
            self.credits += cost
            if cost == WRITE_COST:
                self.writes += 1
            return self.api.request(
                "POST",
                url,
                data=body,
                headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": SOAP_ACTION},
                # A query may be sent again after a broken connection; a write may have landed.
                idempotent=cost == QUERY_COST or repeatable,
                # ...so a write that is not repeatable is not resent on a gateway's 5xx either:
                # the answer comes back here, and the handler looks before it sends again.
                expect=() if cost == QUERY_COST or repeatable else AMBIGUOUS_STATUSES,
            )

    @staticmethod
    def _fault_error(fault: SoapFault) -> RemoteAPIError:
        if TOKEN_INVALID in fault.message or "access denied" in fault.message.lower():
            return AuthError(f"Twinfield refused the access token: {fault.message}")
        return TwinfieldRefused(f"Twinfield answered with a fault: {fault.message}")

    # -- many elements ---------------------------------------------------------------------------

    def process_many(
        self, wrapper: str, elements: Sequence[etree._Element], *, repeatable: bool = False
    ) -> list[etree._Element]:
        """Send elements under ``<wrapper>``, at most :data:`MAX_CHILDREN` to a document.

        Returns the answered elements in the order sent. A document Twinfield refuses whole
        (it answers with no elements) raises :class:`TwinfieldRefused` with its words.
        """

        def send(chunk: Sequence[etree._Element]) -> list[etree._Element]:
            document = etree.Element(wrapper)
            for element in chunk:
                document.append(element)
            answer = self.process(document, repeatable=repeatable)
            found = [node for node in answer if isinstance(node.tag, str)]
            if answer.tag != wrapper or len(found) != len(chunk):
                words = "; ".join(m.describe() for m in messages(answer)) or to_text(answer)[:500]
                raise TwinfieldRefused(f"Twinfield refused the {wrapper} document: {words}")
            return found

        # One call in flight per organisation: the documents go one after the other.
        return in_chunks(elements, MAX_CHILDREN, send, in_flight=1)

    # -- queries ---------------------------------------------------------------------------------

    def read(self, kind: str, code: str, **fields: str) -> etree._Element | None:
        """``<read><type>kind</type><office/>…<code/></read>``: the element, or ``None``."""
        document = etree.Element("read")
        child(document, "type", kind)
        child(document, "office", self.office)
        for name, value in fields.items():
            child(document, name, value)
        child(document, "code", code)
        answer = self.process(document)
        if answer.get("result") == "0" or answer.tag == "read":
            return None
        return answer

    def list(self, kind: str, **fields: str) -> etree._Element:
        """``<list><type>kind</type>…</list>`` (offices, dimensions, vats)."""
        document = etree.Element("list")
        child(document, "type", kind)
        if kind != "offices":
            child(document, "office", self.office)
        for name, value in fields.items():
            child(document, name, value)
        answer = self.process(document, company=kind != "offices")
        if answer.get("result") == "0":
            words = "; ".join(m.describe() for m in messages(answer)) or "no reason given"
            raise ConfigError(f"Twinfield refused to list {kind}: {words}")
        return answer

    def browse(
        self, code: str, columns: Sequence[tuple[str, str | None, str | None, str | None]]
    ) -> etree._Element:
        """Browse data: ``columns`` are ``(field, operator, from, to)``; the ``<browse>`` answer.

        Every column asked for is visible; an operator (``equal``, ``between``) filters.
        """
        document = etree.Element("columns", code=code)
        child(document, "office", self.office)  # Twinfield takes the header's office; kept too
        for field, operator, low, high in columns:
            column = child(document, "column")
            child(column, "field", field)
            child(column, "visible", "true")
            if operator:
                child(column, "ask", "true")
                child(column, "operator", operator)
                child(column, "from", low or "")
                if high is not None:
                    child(column, "to", high)
        answer = self.process(document)
        if answer.tag != "browse":
            words = "; ".join(m.describe() for m in messages(answer)) or to_text(answer)[:300]
            raise TwinfieldRefused(f"Twinfield refused browse code {code}: {words}")
        return answer


def _fault_in(exc: RemoteAPIError) -> SoapFault | None:
    """The SOAP fault in an error's body, if it holds one."""
    if not exc.body or "Fault" not in exc.body:
        return None
    try:
        unwrap(exc.body.encode("utf-8"))
    except SoapFault as fault:
        return fault
    except Exception:
        return None
    return None
