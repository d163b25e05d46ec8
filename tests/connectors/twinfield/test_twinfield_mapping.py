"""Twinfield's formats and documents, without a server: amounts, the envelope, transactions
to XML and back, VAT lines and pairs, base amounts split to the cent, 25 to a document."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest
from lxml import etree

from migrationkit.connectors.twinfield.client import MAX_CHILDREN, TwinfieldClient
from migrationkit.connectors.twinfield.documents import split_base
from migrationkit.connectors.twinfield.mapping import (
    Line,
    Transaction,
    read_transaction,
    stamp,
    transaction_xml,
    vat_lines,
)
from migrationkit.connectors.twinfield.wire import money_text, parse_date, side, signed
from migrationkit.connectors.twinfield.xml import SoapFault, envelope, messages, unwrap
from migrationkit.http import Limits, RateLimiter


def test_amounts_travel_as_decimal_text_and_sides() -> None:
    assert [money_text(D(x)) for x in ("121", "0.5", "1653.10", "0.125")] == [
        "121.00", "0.50", "1653.10", "0.125",
    ]  # fmt: skip
    assert side(D("-12.30")) == ("credit", D("12.30"))
    assert signed("credit", D("12.30")) == D("-12.30")
    assert parse_date("20240501") == dt.date(2024, 5, 1)
    assert parse_date("20240501123000") == dt.date(2024, 5, 1)


def test_the_envelope_carries_the_header_and_unwraps_results_and_faults() -> None:
    raw = envelope("<read><type>office</type></read>", "tok", "NLA001")
    root = etree.fromstring(raw)
    ns = {"s": "http://schemas.xmlsoap.org/soap/envelope/", "t": "http://www.twinfield.com/"}
    assert root.findtext("s:Header/t:Header/t:AccessToken", namespaces=ns) == "tok"
    assert root.findtext("s:Header/t:Header/t:CompanyCode", namespaces=ns) == "NLA001"
    request = root.findtext("s:Body/t:ProcessXmlString/t:xmlRequest", namespaces=ns)
    assert request == "<read><type>office</type></read>"
    answer = (
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        b'<ProcessXmlStringResponse xmlns="http://www.twinfield.com/"><ProcessXmlStringResult>'
        b"&lt;dimension result=&quot;0&quot;&gt;&lt;code msgtype=&quot;error&quot; "
        b"msg=&quot;Code is mandatory.&quot;/&gt;&lt;/dimension&gt;</ProcessXmlStringResult>"
        b"</ProcessXmlStringResponse></soap:Body></soap:Envelope>"
    )
    document = unwrap(answer)
    assert [m.describe() for m in messages(document)] == ["Code is mandatory. (code)"]
    fault = (
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        b"<soap:Fault><faultcode>soap:Server</faultcode><faultstring>Access denied. Token "
        b"invalid (code 354)</faultstring></soap:Fault></soap:Body></soap:Envelope>"
    )
    with pytest.raises(SoapFault, match="code 354"):
        unwrap(fault)


def _sale() -> Transaction:
    details = [
        Line(type="detail", dim1="8000", value=D("-100.00"), base=D("-85.58"), vatcode="VH",
             vat=D("-20.00"), vat_base=D("-17.12"), description="Mugs"),
        Line(type="detail", dim1="8010", dim2="K1", value=D("-10.00"), base=D("-8.56"),
             vatcode="VH", vat=D("-2.00"), vat_base=D("-1.71")),
    ]  # fmt: skip
    total = Line(type="total", dim1="1300", dim2="ACME", value=D("132.00"), base=D("112.97"),
                 freetext1=stamp("idem-1"))  # fmt: skip
    return Transaction(
        daybook="VRK", date=dt.date(2024, 5, 2), period="2024/05", currency="EUR",
        rate=D("1.1685"), invoicenumber="INV-9", duedate=dt.date(2024, 6, 1),
        lines=(total, *details, *vat_lines(details, {"VH": "1500"})),
    )  # fmt: skip


def test_a_transaction_goes_to_xml_and_comes_back_line_for_line() -> None:
    sale = _sale()
    (vat,) = sale.of_type("vat")
    assert (vat.dim1, vat.value, vat.base) == ("1500", D("-22.00"), D("-18.83"))
    assert sum(x.value for x in sale.lines) == 0 and sum(x.base for x in sale.lines) == 0
    element = transaction_xml("NLA001", sale)
    assert element.get("destiny") == "temporary" and element.get("autobalancevat") is None
    assert [x.get("type") for x in element.iterfind("lines/line")] == [
        "total", "detail", "detail", "vat",
    ]  # fmt: skip
    assert element.findtext("lines/line[2]/debitcredit") == "credit"
    assert element.findtext("lines/line[2]/value") == "100.00"
    element.set("location", "temporary")
    etree.SubElement(element.find("header"), "number").text = "202400001"  # type: ignore[arg-type]
    back = read_transaction(element)
    assert back.id == "VRK:202400001" and back.stamp == stamp("idem-1")

    def seen(line: Line) -> tuple[Any, ...]:
        return (line.type, line.dim1, line.dim2, line.value, line.base, line.vatcode, line.vat,
                line.vat_base, line.description, line.freetext1)  # fmt: skip

    assert [seen(x) for x in back.lines] == [seen(x) for x in sale.lines]
    assert (back.rate, back.currency, back.invoicenumber) == (D("1.1685"), "EUR", "INV-9")
    counter = back.reversed(back.date, back.period)
    assert [x.value for x in counter.lines] == [-x.value for x in back.lines]
    assert counter.reverses == "VRK:202400001" and counter.destiny == "final"


def test_base_amounts_split_to_the_cent_and_sum_exactly() -> None:
    parts = split_base([D("333.33"), D("333.33"), D("333.34")], D("1000.00"), D("855.80"))
    assert sum(parts) == D("855.80") and all(p == p.quantize(D("0.01")) for p in parts)
    assert split_base([D("0")], D("0"), D("1.00")) == [D("1.00")]


class _FakeApi:
    """Answers each ProcessXml call with the document sent, every element accepted."""

    def __init__(self) -> None:
        self.documents: list[int] = []
        self.backoff = 0.0

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        sent = etree.fromstring(kwargs["data"])
        xml = sent.find(".//{http://www.twinfield.com/}xmlRequest").text  # type: ignore[union-attr]
        document = etree.fromstring(xml.encode())
        self.documents.append(len(document))
        for element in document:
            element.set("result", "1")
        inner = etree.tostring(document, encoding="unicode")
        body = (
            '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
            '<ProcessXmlStringResponse xmlns="http://www.twinfield.com/"><ProcessXmlStringResult>'
            f"{inner.replace('&', '&amp;').replace('<', '&lt;')}</ProcessXmlStringResult>"
            "</ProcessXmlStringResponse></soap:Body></soap:Envelope>"
        )

        class Answer:
            status_code = 200
            content = body.encode()

        return Answer()


class _Token:
    def access_token(self) -> str:
        return "tok"

    def refresh(self, rejected: str) -> str:
        raise AssertionError("no refresh expected")


def test_no_more_than_25_children_go_in_one_document() -> None:
    api = _FakeApi()
    client = TwinfieldClient(
        api,  # type: ignore[arg-type]
        _Token(),
        lambda token: "http://twinfield.invalid",
        RateLimiter(Limits(concurrent=1, per_minute=1000)),
        "NLA001",
    )
    elements = [etree.Element("dimension") for _ in range(2 * MAX_CHILDREN + 3)]
    answers = client.process_many("dimensions", elements)
    assert api.documents == [25, 25, 3]
    assert len(answers) == 53 and all(a.get("result") == "1" for a in answers)
    assert client.credits == 9, "a write costs 3 credits"
