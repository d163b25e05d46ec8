"""Twinfield's XML: the SOAP envelope of ProcessXml, and the documents inside it (lxml).

The web service has one operation that matters, ``ProcessXmlString``: a Twinfield XML document
goes in as a string, the same document comes back with ``result`` attributes and messages on
every element. The envelope here follows ``processxml.wsdl`` (SOAP 1.1, namespace
``http://www.twinfield.com/``, the ``Header`` with ``AccessToken`` and ``CompanyCode``); the
tests check it with a client built from the WSDL alone.

Twinfield answers per element: ``result="1"`` for an element it accepted, ``result="0"`` for
one it refused, and ``msgtype``/``msg`` attributes on the element or on the field at fault
(``<value msgtype="error" msg="...">``). :func:`messages` collects them with where they were.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import attrs
from lxml import etree

__all__ = [
    "SOAP11",
    "SOAP12",
    "SOAP_ACTION",
    "TWINFIELD_NS",
    "Message",
    "SoapFault",
    "child",
    "envelope",
    "messages",
    "parse",
    "succeeded",
    "text",
    "to_text",
    "unwrap",
]

TWINFIELD_NS = "http://www.twinfield.com/"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP_ACTION = "http://www.twinfield.com/ProcessXmlString"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)


class SoapFault(Exception):
    """The service answered with a SOAP fault instead of a result."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse(data: bytes | str) -> etree._Element:
    """Parse XML without resolving entities or reaching the network."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return etree.fromstring(raw, _PARSER)


def to_text(element: etree._Element) -> str:
    return etree.tostring(element, encoding="unicode")


def child(
    parent: etree._Element,
    tag: str,
    value: Any = None,
    attrib: Mapping[str, str] | None = None,
) -> etree._Element:
    """Append ``<tag>value</tag>`` to ``parent`` (an absent value leaves the element empty)."""
    element = etree.SubElement(parent, tag, attrib=dict(attrib or {}))
    if value is not None:
        element.text = str(value)
    return element


def text(element: etree._Element | None, path: str, default: str = "") -> str:
    """The stripped text at ``path`` below ``element``, or ``default``."""
    if element is None:
        return default
    found = element.find(path)
    if found is None or found.text is None:
        return default
    return found.text.strip()


def envelope(xml_request: str, access_token: str, company_code: str | None) -> bytes:
    """A SOAP 1.1 ``ProcessXmlString`` request with the Twinfield header."""
    soap = f"{{{SOAP11}}}"
    tw = f"{{{TWINFIELD_NS}}}"
    root = etree.Element(soap + "Envelope", nsmap={"soap": SOAP11, "tw": TWINFIELD_NS, "xsi": XSI})
    header = etree.SubElement(etree.SubElement(root, soap + "Header"), tw + "Header")
    child(header, tw + "AccessToken", access_token)
    if company_code:
        child(header, tw + "CompanyCode", company_code)
    # The WSDL declares CompanyId required and nillable: sent empty, as the schema wants.
    child(header, tw + "CompanyId").set(f"{{{XSI}}}nil", "true")
    body = etree.SubElement(root, soap + "Body")
    operation = etree.SubElement(body, tw + "ProcessXmlString")
    child(operation, tw + "xmlRequest", xml_request)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def unwrap(data: bytes) -> etree._Element:
    """The Twinfield document inside a ``ProcessXmlStringResponse``; a fault raises."""
    root = parse(data)
    body = root.find(f"{{{SOAP11}}}Body")
    if body is None:
        body = root.find(f"{{{SOAP12}}}Body")
    if body is None:
        raise SoapFault("Client", "the answer is not a SOAP envelope")
    fault = body.find(f"{{{SOAP11}}}Fault")
    if fault is not None:
        code = text(fault, "faultcode")
        raise SoapFault(code, text(fault, "faultstring") or "SOAP fault")
    fault12 = body.find(f"{{{SOAP12}}}Fault")
    if fault12 is not None:
        reason = fault12.find(f".//{{{SOAP12}}}Text")
        value = fault12.find(f".//{{{SOAP12}}}Value")
        raise SoapFault(
            (value.text or "") if value is not None else "",
            (reason.text or "SOAP fault") if reason is not None else "SOAP fault",
        )
    result = body.find(f".//{{{TWINFIELD_NS}}}ProcessXmlStringResult")
    if result is None or not (result.text or "").strip():
        raise SoapFault("Client", "the answer holds no ProcessXmlStringResult")
    return parse(result.text or "")


@attrs.frozen
class Message:
    """One of Twinfield's messages: its type (error, warning, info), words and element."""

    kind: str
    text: str
    where: str

    def describe(self) -> str:
        return f"{self.text} ({self.where})" if self.where else self.text


def _path(element: etree._Element, top: etree._Element) -> str:
    parts = []
    node: etree._Element | None = element
    while node is not None and node is not top:
        name = str(node.tag)
        line_id = node.get("id")
        parts.append(f"{name}[{line_id}]" if line_id else name)
        node = node.getparent()
    return "/".join(reversed(parts))


def messages(element: etree._Element, kinds: tuple[str, ...] = ("error",)) -> list[Message]:
    """Every message of ``kinds`` on ``element`` or below it, in document order."""
    found = []
    for node in _walk(element):
        kind = (node.get("msgtype") or "").lower()
        if kind in kinds and node.get("msg"):
            found.append(Message(kind, str(node.get("msg")), _path(node, element)))
    return found


def _walk(element: etree._Element) -> Iterator[etree._Element]:
    yield element
    for node in element.iterdescendants():
        if isinstance(node.tag, str):
            yield node


def succeeded(element: etree._Element) -> bool:
    """Twinfield's ``result="1"`` (an element without the attribute inherits nothing: false)."""
    return element.get("result") == "1"
