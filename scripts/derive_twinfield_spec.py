"""Derive the part of Twinfield's ``processxml.wsdl`` the twinfield connector speaks.

Usage::

    python scripts/derive_twinfield_spec.py [PATH/TO/processxml.wsdl] [--out FILE]

The source is the official ``processxml.wsdl`` of Twinfield/TwinfieldIntegrationSamples (MIT
licence, (c) 2021 Wolters Kluwer TAA Europe), by default
``../shared/specs/twinfield/wsdl/processxml.wsdl`` next to the repository. The output,
``tests/connectors/twinfield/spec/processxml.wsdl``, keeps only what the connector and the
sandbox use: the ``ProcessXmlString`` and ``ProcessXmlDocument`` operations (their elements,
messages, port type operations and both SOAP 1.1 and 1.2 bindings), the ``Header`` with its
``AccessToken``, ``CompanyCode``, ``SessionID`` and ``CompanyId``, the ``guid`` type, and the
service. ``ProcessXmlCompressed`` (gzipped payloads) is left out. Nothing is rewritten: every
kept element is the source's, in the source's order, with a provenance comment on top.

The tests build a SOAP client from the derived WSDL alone (zeep) against the sandbox, and
validate every envelope the connector sends and the sandbox answers against its schema.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import sys
from pathlib import Path

from lxml import etree

REPO = Path(__file__).resolve().parents[1]
OFFICIAL = REPO.parent / "shared" / "specs" / "twinfield" / "wsdl" / "processxml.wsdl"
OUT = REPO / "tests" / "connectors" / "twinfield" / "spec" / "processxml.wsdl"

WSDL = "http://schemas.xmlsoap.org/wsdl/"
XSD = "http://www.w3.org/2001/XMLSchema"
KEPT_OPERATIONS = ("ProcessXmlString", "ProcessXmlDocument")
UPSTREAM = (
    "github.com/Twinfield/TwinfieldIntegrationSamples, OAuthExampleApplication/Connected "
    "Services/TwinfieldProcessXml/processxml.wsdl, commit "
    "d322bb24e54d84be8c699c30445f6aa02b5b1a28 (2026-01-05), MIT licence (c) 2021 Wolters "
    "Kluwer TAA Europe"
)


def _kept_element(name: str) -> bool:
    return name == "Header" or any(name in (op, op + "Response") for op in KEPT_OPERATIONS)


def _kept_message(name: str) -> bool:
    return any(name.startswith(op + "Soap") or name == op + "Header" for op in KEPT_OPERATIONS)


def derive(source: bytes) -> bytes:
    """The derived WSDL, as bytes (stable: the same source gives the same output)."""
    root = etree.fromstring(source, etree.XMLParser(remove_blank_text=True))
    tree = copy.deepcopy(root)
    for schema in tree.iterfind(f"{{{WSDL}}}types/{{{XSD}}}schema"):
        for node in list(schema):
            name = node.get("name")
            if node.tag == f"{{{XSD}}}element" and name and not _kept_element(name):
                schema.remove(node)
    for message in tree.findall(f"{{{WSDL}}}message"):
        if not _kept_message(message.get("name") or ""):
            tree.remove(message)
    for parent in (*tree.findall(f"{{{WSDL}}}portType"), *tree.findall(f"{{{WSDL}}}binding")):
        for operation in parent.findall(f"{{{WSDL}}}operation"):
            if operation.get("name") not in KEPT_OPERATIONS:
                parent.remove(operation)
    digest = hashlib.sha256(source).hexdigest()
    note = etree.Comment(
        f" Derived by scripts/derive_twinfield_spec.py from {UPSTREAM}; source sha256 "
        f"{digest}. Kept: {', '.join(KEPT_OPERATIONS)} and the Header; left out: "
        "ProcessXmlCompressed. "
    )
    tree.insert(0, note)
    etree.indent(tree, space="  ")
    return bytes(etree.tostring(tree, xml_declaration=True, encoding="utf-8")) + b"\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", default=str(OFFICIAL))
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    source = Path(args.source)
    if not source.exists():
        print(f"no WSDL at {source}", file=sys.stderr)
        return 1
    Path(args.out).write_bytes(derive(source.read_bytes()))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
