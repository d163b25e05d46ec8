"""The SOAP envelope per Twinfield's WSDL: a client built from the WSDL alone reads back what
the connector migrated, and the derived WSDL is what the script makes of the official one."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from twinfield_support import WSDL, EnvelopeCheck, open_connector, sandbox

from migrationkit import Contact, Invoice, Migration, MigrationOptions, SQLiteStateStore
from migrationkit.testing import datasets
from migrationkit.testing.memory import memory_source
from migrationkit.testing.sandboxes.server import SandboxServer
from migrationkit.testing.sandboxes.twinfield.app import TwinfieldSandbox

zeep = pytest.importorskip("zeep")

REPO = Path(__file__).resolve().parents[3]
OFFICIAL = REPO.parent / "shared" / "specs" / "twinfield" / "wsdl" / "processxml.wsdl"
BANKS = {"1200": ("BNK1", "GBP"), "1210": ("BNK2", "GBP")}
TNS = "{http://www.twinfield.com/}"


def _derive_script() -> object:
    spec = importlib.util.spec_from_file_location(
        "derive_twinfield_spec", REPO / "scripts" / "derive_twinfield_spec.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_derived_wsdl_is_what_the_script_makes_of_the_official_one() -> None:
    if not OFFICIAL.exists():
        pytest.skip(f"the official WSDL is not at {OFFICIAL}")
    script = _derive_script()
    assert script.derive(OFFICIAL.read_bytes()) == WSDL.read_bytes()  # type: ignore[attr-defined]


@pytest.fixture
def migrated(
    tmp_path: Path, envelope_check: EnvelopeCheck
) -> Iterator[tuple[TwinfieldSandbox, SandboxServer, dict[str, list[object]]]]:
    records = datasets.basic()
    with sandbox(BANKS) as (app, server):
        target = open_connector(app, server, envelope_check, BANKS)
        report = Migration(
            memory_source(records, name="basic"),
            target,
            SQLiteStateStore(tmp_path / "state.db"),
            MigrationOptions(),
        ).full()
        assert report.status == "succeeded" and not report.problems, report.problems
        yield app, server, records  # type: ignore[misc]


def _client(server: SandboxServer) -> tuple[object, object]:
    """A SOAP client made from the WSDL alone (the official one when it is at hand)."""
    wsdl = OFFICIAL if OFFICIAL.exists() else WSDL
    client = zeep.Client(wsdl=str(wsdl))
    service = client.create_service(
        f"{TNS}ProcessXmlSoap", server.url + "/webservices/processxml.asmx"
    )
    return client, service


def _call(client: object, service: object, app: TwinfieldSandbox, request: str) -> etree._Element:
    header = client.get_element(f"{TNS}Header")(  # type: ignore[attr-defined]
        AccessToken=app.token, CompanyCode=app.default_office, CompanyId=None
    )
    answer = service.ProcessXmlString(xmlRequest=request, _soapheaders=[header])  # type: ignore[attr-defined]
    return etree.fromstring(answer.encode("utf-8"))


def test_a_client_built_from_the_wsdl_reads_back_the_dimensions(
    migrated: tuple[TwinfieldSandbox, SandboxServer, dict[str, list[object]]],
) -> None:
    app, server, records = migrated
    client, service = _client(server)
    for contact in records["contacts"]:
        assert isinstance(contact, Contact)
        dimtype = "DEB" if contact.is_customer else "CRD"
        answer = _call(
            client,
            service,
            app,
            f"<read><type>dimensions</type><office>{app.default_office}</office>"
            f"<dimtype>{dimtype}</dimtype><code>{contact.code}</code></read>",
        )
        assert answer.tag == "dimension" and answer.get("result") == "1"
        assert answer.findtext("code") == contact.code
        assert answer.findtext("name") == contact.name


def test_a_client_built_from_the_wsdl_reads_back_the_invoices_through_browse_100(
    migrated: tuple[TwinfieldSandbox, SandboxServer, dict[str, list[object]]],
) -> None:
    app, server, records = migrated
    client, service = _client(server)
    sales = [r for r in records["invoices"] if isinstance(r, Invoice) and r.kind.value == "sales"]
    columns = "".join(
        f"<column><field>{field}</field><visible>true</visible></column>"
        for field in (
            "fin.trs.head.code",
            "fin.trs.line.dim2",
            "fin.trs.line.invnumber",
            "fin.trs.line.valuesigned",
            "fin.trs.head.status",
        )
    )
    answer = _call(client, service, app, f'<columns code="100">{columns}</columns>')
    assert answer.tag == "browse"
    rows = {}
    for row in answer.iterfind("tr"):
        cells = {td.get("field"): td.text or "" for td in row.iterfind("td")}
        if cells["fin.trs.head.code"] == "VRK":
            rows[cells["fin.trs.line.invnumber"]] = cells
    for invoice in sales:
        assert invoice.number is not None
        row = rows[invoice.number]
        assert Decimal(row["fin.trs.line.valuesigned"]) == invoice.gross
        assert row["fin.trs.head.status"] == "final"
    # Filtered by invoice number, as a person checks one invoice.
    one = sales[0]
    answer = _call(
        client,
        service,
        app,
        '<columns code="100"><column><field>fin.trs.line.invnumber</field><visible>true</visible>'
        f"<ask>true</ask><operator>equal</operator><from>{one.number}</from></column>"
        "<column><field>fin.trs.line.openbasevaluesigned</field><visible>true</visible></column>"
        "</columns>",
    )
    (row,) = answer.iterfind("tr")
    assert row.findtext("td[@field='fin.trs.line.invnumber']") == one.number
    assert row.find("key/number") is not None


def test_the_document_operation_takes_and_answers_xml(
    migrated: tuple[TwinfieldSandbox, SandboxServer, dict[str, list[object]]],
) -> None:
    app, server, _records = migrated
    client, service = _client(server)
    header = client.get_element(f"{TNS}Header")(  # type: ignore[attr-defined]
        AccessToken=app.token, CompanyCode=app.default_office, CompanyId=None
    )
    request = etree.fromstring("<list><type>offices</type></list>")
    answer = service.ProcessXmlDocument(  # type: ignore[attr-defined]
        xmlRequest={"_value_1": request}, _soapheaders=[header]
    )
    # zeep hands back the any-typed result as the element itself.
    offices = answer if isinstance(answer, etree._Element) else answer["_value_1"][0]
    assert offices.tag == "offices"
    assert [o.text for o in offices] == [app.default_office]
