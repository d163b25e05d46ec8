"""Shared helpers for the twinfield tests: the sandbox, the connector, the envelope check.

:class:`EnvelopeCheck` is an observer on the connector's ApiClient: every SOAP request the
connector sends and every answer the sandbox gives is validated against the schema of
``spec/processxml.wsdl`` (derived from the official WSDL by
``scripts/derive_twinfield_spec.py``); tests fail on any violation.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
from lxml import etree

from migrationkit import Connector, PluginRegistry
from migrationkit.testing.sandboxes.server import SandboxServer
from migrationkit.testing.sandboxes.twinfield.app import AUTH_PREFIX, TwinfieldSandbox, start_server

WSDL = Path(__file__).parent / "spec" / "processxml.wsdl"
SCALE = 200.0
"""Time runs this much faster in tests: rate windows, token lifetimes and backoff shrink alike."""

EXAMPLE_BANKS = {
    "1200": ("BNK1", "GBP"),
    "1210": ("BNK2", "GBP"),
    "1230": ("KAS1", "GBP"),
    "1240": ("BNK4", "GBP"),
    "1250": ("BNK5", "EUR"),
}
"""The example company's banks, each with a bank book set up in Twinfield as a user would."""

EXAMPLE_VAT_CODES = {
    **dict.fromkeys(("T0", "T2", "T4", "T7", "T22", "T23"), "VN/IN"),
    "T9": "VO/IO",
}
"""The example's zero rates: zero-rated and exempt on VN/IN, outside the scope on VO/IO (the
office has two 0% pairs, so the user says which is which; the others match by percentage)."""

_WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
_XSD_NS = "http://www.w3.org/2001/XMLSchema"
TWINFIELD_NS = "http://www.twinfield.com/"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"


def wsdl_schema() -> etree.XMLSchema:
    """The WSDL's types as one XML Schema (the guid type resolved from its second schema)."""
    root = etree.parse(str(WSDL)).getroot()
    schemas = root.findall(f"{{{_WSDL_NS}}}types/{{{_XSD_NS}}}schema")
    main = next(s for s in schemas if s.get("targetNamespace") == TWINFIELD_NS)
    types = next(s for s in schemas if s.get("targetNamespace") != TWINFIELD_NS)

    class Resolver(etree.Resolver):
        def resolve(self, url: str | None, pubid: str | None, context: Any) -> Any:
            if url == "guid.xsd":
                return self.resolve_string(etree.tostring(types), context)
            return None

    main = etree.fromstring(etree.tostring(main))
    for node in main.findall(f"{{{_XSD_NS}}}import"):
        node.set("schemaLocation", "guid.xsd")
    parser = etree.XMLParser()
    parser.resolvers.add(Resolver())
    return etree.XMLSchema(etree.fromstring(etree.tostring(main), parser))


class EnvelopeCheck:
    """Validates the SOAP traffic against the WSDL's schema and keeps every violation."""

    def __init__(self) -> None:
        self.schema = wsdl_schema()
        self.violations: list[str] = []
        self.seen: Counter[str] = Counter()

    def _valid(self, element: etree._Element, where: str) -> None:
        document = etree.fromstring(etree.tostring(element))
        if not self.schema.validate(document):
            self.violations.append(f"{where}: {self.schema.error_log.last_error}")

    def __call__(self, request: requests.PreparedRequest, response: requests.Response) -> None:
        path = urllib.parse.urlsplit(request.url or "").path
        if not path.endswith("processxml.asmx"):
            return
        body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
        envelope = etree.fromstring(body)
        header = envelope.find(f"{{{SOAP11}}}Header/{{{TWINFIELD_NS}}}Header")
        operation = envelope.find(f"{{{SOAP11}}}Body")[0]  # type: ignore[index]
        self.seen[etree.QName(operation).localname] += 1
        if header is None:
            self.violations.append("request: no Twinfield Header")
        else:
            self._valid(header, "request Header")
        self._valid(operation, "request body")
        if response.status_code == 200:
            answer = etree.fromstring(response.content)
            result = answer.find(f"{{{SOAP11}}}Body")[0]  # type: ignore[index]
            self._valid(result, "response body")
        elif response.status_code == 500 and response.content.lstrip().startswith(b"<"):
            # A gateway's 5xx is not the service's (the injected bursts); a fault from the
            # service itself must be a SOAP 1.1 fault.
            fault = etree.fromstring(response.content).find(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault")
            if fault is None or fault.find("faultstring") is None:
                self.violations.append("a 500 answer without a SOAP 1.1 fault")

    def assert_clean(self) -> None:
        assert not self.violations, "\n".join(self.violations[:20])
        assert self.seen, "no SOAP traffic was checked"


@contextlib.contextmanager
def sandbox(
    banks: dict[str, tuple[str, str]] | None = None, **options: Any
) -> Iterator[tuple[TwinfieldSandbox, SandboxServer]]:
    """A running sandbox whose office has a bank book for each of ``banks``."""
    app = TwinfieldSandbox(rate_scale=SCALE, **options)
    for account, (book, currency) in (banks if banks is not None else EXAMPLE_BANKS).items():
        app.office.add_bank_daybook(book, account, currency)
    server = start_server(app)
    try:
        yield app, server
    finally:
        server.stop()


def connector_options(
    app: TwinfieldSandbox,
    server: SandboxServer,
    banks: dict[str, tuple[str, str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    chosen = banks if banks is not None else EXAMPLE_BANKS
    extra.setdefault("vat_codes", EXAMPLE_VAT_CODES)
    return {
        "location": app.default_office,
        "cluster_url": server.url,
        "access_token": app.token,
        "rate_scale": SCALE,
        "bank_daybooks": {account: book for account, (book, _) in chosen.items()},
        **extra,
    }


def open_connector(
    app: TwinfieldSandbox,
    server: SandboxServer,
    check: EnvelopeCheck | None = None,
    banks: dict[str, tuple[str, str]] | None = None,
    **extra: Any,
) -> Connector:
    options = connector_options(app, server, banks, **extra)
    connector = PluginRegistry().open("twinfield", options)
    if check is not None:
        connector.instance.client.api.observers.append(check)  # type: ignore[attr-defined]
    return connector


class FaultsAt:
    """A run observer that queues sandbox faults when the run reaches an entity."""

    def __init__(self, app: TwinfieldSandbox, plan: dict[str, list[Any]]) -> None:
        self.app = app
        self.plan = {entity: list(faults) for entity, faults in plan.items()}

    def entity_started(self, entity: str, phase: str) -> None:
        if phase == "loading":
            for fault in self.plan.pop(entity, ()):
                self.app.faults.add(fault)

    def advanced(self, entity: str, count: int) -> None:
        pass

    def entity_finished(self, entity: str, counts: Any) -> None:
        pass

    def note(self, message: str) -> None:
        pass


def held(migration: Any, entity: str) -> Counter[str]:
    """Source keys of what the office holds of ``entity``, read back from Twinfield."""
    info = migration.store.migrations()[0]
    reverse = migration.store.reverse_lookup(info.id, entity)
    return Counter(reverse.get(r.key, f"?{r.key}") for r in migration.target.extract(entity))


def assert_exactly_once(migration: Any, entities: tuple[str, ...], report: Any) -> None:
    """Every source record of ``entities`` that moved is in Twinfield once; nothing else is."""
    gone = {(p.entity, p.source_key) for p in report.problems if p.outcome in ("skipped", "failed")}
    for entity in entities:
        wanted = {r.key for r in migration.source.extract(entity)} - {
            key for e, key in gone if e == entity
        }
        on_target = held(migration, entity)
        doubles = {k: n for k, n in on_target.items() if n > 1}
        assert not doubles, f"{entity} held more than once: {doubles}"
        assert set(on_target) == wanted, f"{entity}: {set(on_target) ^ wanted}"


def authorize(app: TwinfieldSandbox, server: SandboxServer, store_path: Path) -> Any:
    """Log in to the sandbox as a user would (the browser step done by hand); returns the
    OAuth2Session whose store now holds the tokens."""
    from migrationkit.connectors.twinfield.auth import oauth_session

    login = server.url + AUTH_PREFIX
    session = oauth_session(app.client_id, app.client_secret, store_path, login)
    redirect = "http://localhost:8765/callback"
    answer = requests.get(
        f"{login}/connect/authorize",
        params={
            "client_id": app.client_id,
            "redirect_uri": redirect,
            "response_type": "code",
            "nonce": "n-0S6_WzA2Mj",
            "state": "s",
        },
        allow_redirects=False,
        timeout=5,
    )
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(answer.headers["Location"]).query)["code"][0]
    session.exchange_code(code, redirect)
    return session
