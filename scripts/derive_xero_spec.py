"""Derive the subset of Xero's OpenAPI description the xero connector uses, as JSON Schema.

Usage::

    python scripts/derive_xero_spec.py [PATH/TO/xero_accounting.yaml] [--out FILE]

The source is the official ``xero_accounting.yaml`` of XeroAPI/Xero-OpenAPI (MIT licence), by
default ``../shared/specs/xero/xero_accounting.yaml`` next to the repository. The output,
``tests/connectors/xero/spec/xero-subset.json``, holds only the operations the connector calls
(method, path, parameters, request and response schemas) and the component schemas they reach,
rewritten as JSON Schema 2020-12, with a provenance header. The tests validate every request the
connector sends and every answer the sandbox gives against it.

The rewriting, and how the spec's known defects are handled:

* every component schema comes in two variants, ``$defs/request/X`` and ``$defs/response/X``.
  A request may not carry read-only properties (echoing them back is refused by Xero,
  pyxero#105) nor properties the schema does not know (``additionalProperties: false``, which
  catches a misspelled or wrongly cased field such as ``lineItems``). Responses stay open;
* fields marked ``x-is-msdate`` / ``x-is-msdate-time`` get a pattern: ``YYYY-MM-DD`` (and time)
  in requests, ``/Date(ms±hhmm)/`` in responses, as Xero sends them;
* OpenAPI-only keywords (``example``, ``externalDocs``, ``x-*``) are dropped, ``nullable`` becomes
  a ``null`` type, ``$ref`` points into ``$defs``; ``format: double``/``int32`` go (not JSON
  Schema formats), ``uuid`` stays;
* defect: ``Account.Code`` has ``example: 4400`` (a number) although codes are strings with
  leading zeros (``"091"``): the type is asserted to be ``string`` and the example dropped;
* limits the spec states only in prose become keywords: ``Account.Code`` max 10 characters,
  ``Item.Code`` max 30, the ``Idempotency-Key`` header max 128;
* the ``If-Modified-Since`` header's ``format: date-time`` is checked with an RFC 3339 pattern
  (``jsonschema`` checks that format only with an optional package);
* defect: the request examples of ``PUT /BankTransactions`` (camelCase keys) and
  ``PUT /TrackingCategories`` (lowercase ``name``) contradict the schemas: examples are not
  used, the schemas are.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "specs" / "xero" / "xero_accounting.yaml"
DEFAULT_OUT = REPO / "tests" / "connectors" / "xero" / "spec" / "xero-subset.json"
SOURCE_REPO = "https://github.com/XeroAPI/Xero-OpenAPI"
SOURCE_COMMIT = "e952d0bda3628facbf7afc5990ad6a0e7e77bd1e"
MIT_NOTICE = (
    "Derived from xero_accounting.yaml of XeroAPI/Xero-OpenAPI, Copyright (c) 2017 Xero "
    "Developer API, under the MIT License: permission is hereby granted, free of charge, to any "
    "person obtaining a copy of this software and associated documentation files, to deal in "
    "the Software without restriction, subject to the condition that the copyright notice and "
    "this permission notice be included in all copies or substantial portions of the Software. "
    "THE SOFTWARE IS PROVIDED 'AS IS', WITHOUT WARRANTY OF ANY KIND."
)

OPERATIONS: tuple[tuple[str, str], ...] = (
    ("GET", "/Organisation"),
    ("GET", "/Currencies"),
    ("PUT", "/Currencies"),
    ("GET", "/Accounts"),
    ("PUT", "/Accounts"),
    ("POST", "/Accounts/{AccountID}"),
    ("DELETE", "/Accounts/{AccountID}"),
    ("GET", "/TaxRates"),
    ("PUT", "/TaxRates"),
    ("POST", "/TaxRates"),
    ("GET", "/TrackingCategories"),
    ("PUT", "/TrackingCategories"),
    ("POST", "/TrackingCategories/{TrackingCategoryID}"),
    ("DELETE", "/TrackingCategories/{TrackingCategoryID}"),
    ("PUT", "/TrackingCategories/{TrackingCategoryID}/Options"),
    ("GET", "/Contacts"),
    ("PUT", "/Contacts"),
    ("POST", "/Contacts"),
    ("GET", "/Items"),
    ("PUT", "/Items"),
    ("POST", "/Items"),
    ("DELETE", "/Items/{ItemID}"),
    ("GET", "/Invoices"),
    ("GET", "/Invoices/{InvoiceID}"),
    ("PUT", "/Invoices"),
    ("POST", "/Invoices"),
    ("POST", "/Invoices/{InvoiceID}"),
    ("GET", "/CreditNotes"),
    ("GET", "/CreditNotes/{CreditNoteID}"),
    ("PUT", "/CreditNotes"),
    ("POST", "/CreditNotes"),
    ("POST", "/CreditNotes/{CreditNoteID}"),
    ("PUT", "/CreditNotes/{CreditNoteID}/Allocations"),
    ("DELETE", "/CreditNotes/{CreditNoteID}/Allocations/{AllocationID}"),
    ("GET", "/Payments"),
    ("PUT", "/Payments"),
    ("POST", "/Payments/{PaymentID}"),
    ("GET", "/BatchPayments"),
    ("PUT", "/BatchPayments"),
    ("POST", "/BatchPayments/{BatchPaymentID}"),
    ("GET", "/Overpayments"),
    ("GET", "/Overpayments/{OverpaymentID}"),
    ("PUT", "/Overpayments/{OverpaymentID}/Allocations"),
    ("DELETE", "/Overpayments/{OverpaymentID}/Allocations/{AllocationID}"),
    ("GET", "/BankTransactions"),
    ("GET", "/BankTransactions/{BankTransactionID}"),
    ("PUT", "/BankTransactions"),
    ("POST", "/BankTransactions"),
    ("POST", "/BankTransactions/{BankTransactionID}"),
    ("GET", "/BankTransfers"),
    ("PUT", "/BankTransfers"),
    ("POST", "/BankTransfers/{BankTransferID}"),
    ("GET", "/ManualJournals"),
    ("GET", "/ManualJournals/{ManualJournalID}"),
    ("PUT", "/ManualJournals"),
    ("POST", "/ManualJournals/{ManualJournalID}"),
)
"""Every operation the connector calls (the tests fail on a call to any other)."""

MSDATE_RESPONSE = r"^/Date\(-?\d+([+-]\d{4})?\)/$"
DATE_REQUEST = r"^\d{4}-\d{2}-\d{2}$"
DATETIME_REQUEST = r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$"
RFC3339 = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
PROSE_LIMITS = {("Account", "Code"): 10, ("Item", "Code"): 30}
HEADER_LIMITS = {"Idempotency-Key": {"maxLength": 128}, "If-Modified-Since": {"pattern": RFC3339}}
_DROPPED = {"example", "examples", "externalDocs", "xml", "discriminator", "deprecated"}
_FORMATS_KEPT = {"uuid"}


class Deriver:
    """Walks the operations and collects the component schemas they reach."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.components = spec["components"]
        self.schemas: dict[str, Any] = self.components["schemas"]
        self.used: set[str] = set()
        self.fixes: list[str] = []

    # -- references --------------------------------------------------------------------------

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        """A ``#/components/parameters|responses|requestBodies/X`` reference, resolved."""
        while "$ref" in node and not node["$ref"].startswith("#/components/schemas/"):
            _, _, kind, name = node["$ref"].split("/")
            node = self.components[kind][name]
        return node

    def _schema_ref(self, schema: dict[str, Any] | None, variant: str) -> dict[str, Any] | None:
        if not schema:
            return None
        self._collect(schema)
        return self.convert(schema, variant)

    def _collect(self, node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in self.used:
                    self.used.add(name)
                    self._collect(self.schemas[name])
            for value in node.values():
                self._collect(value)
        elif isinstance(node, list):
            for value in node:
                self._collect(value)

    # -- conversion --------------------------------------------------------------------------

    def convert(self, node: Any, variant: str, owner: str | None = None) -> Any:
        """One OpenAPI schema node as JSON Schema for ``variant`` (request or response)."""
        if isinstance(node, list):
            return [self.convert(v, variant, owner) for v in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROPPED or key.startswith("x-"):
                continue
            if key == "$ref":
                out["$ref"] = f"#/$defs/{variant}/{value.rsplit('/', 1)[1]}"
            elif key == "format":
                if value in _FORMATS_KEPT:
                    out["format"] = value
            elif key == "nullable":
                continue
            elif key == "properties":
                out["properties"] = self._properties(value, variant, owner)
            elif key in ("items", "additionalProperties", "not"):
                out[key] = self.convert(value, variant, owner)
            elif key in ("allOf", "anyOf", "oneOf"):
                out[key] = [self.convert(v, variant, owner) for v in value]
            else:
                out[key] = copy.deepcopy(value)
        if node.get("nullable") and "type" in out:
            out["type"] = [out["type"], "null"]
        if node.get("x-is-msdate") or node.get("x-is-msdate-time"):
            if variant == "response":
                out["pattern"] = MSDATE_RESPONSE
            else:
                out["pattern"] = DATE_REQUEST if node.get("x-is-msdate") else DATETIME_REQUEST
        if variant == "request" and "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out

    def _properties(
        self, properties: dict[str, Any], variant: str, owner: str | None
    ) -> dict[str, Any]:
        converted = {}
        for name, schema in properties.items():
            if variant == "request" and schema.get("readOnly"):
                continue
            prop = self.convert(schema, variant, owner)
            limit = PROSE_LIMITS.get((owner or "", name))
            if limit is not None:
                prop["maxLength"] = limit
            converted[name] = prop
        return converted

    def component(self, name: str, variant: str) -> dict[str, Any]:
        schema = copy.deepcopy(self.schemas[name])
        if name == "Account":
            code = schema["properties"]["Code"]
            if code.get("type") != "string":
                raise SystemExit("Account.Code is no longer a string in the spec; review the fix")
            if not isinstance(code.get("example", ""), str):
                self.fixes.append("Account.Code: numeric example 4400 dropped; the type is string")
        return self.convert(schema, variant, owner=name)  # type: ignore[no-any-return]

    # -- operations --------------------------------------------------------------------------

    def operation(self, method: str, path: str) -> dict[str, Any]:
        item = self.spec["paths"][path]
        operation = item[method.lower()]
        parameters = [
            self._parameter(self._resolve(p))
            for p in [*item.get("parameters", []), *operation.get("parameters", [])]
        ]
        body = None
        if "requestBody" in operation:
            request_body = self._resolve(operation["requestBody"])
            schema = request_body.get("content", {}).get("application/json", {}).get("schema")
            body = {
                "required": bool(request_body.get("required", False)),
                "schema": self._schema_ref(schema, "request"),
            }
        responses = {}
        for status, response in operation.get("responses", {}).items():
            response = self._resolve(response)
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            responses[str(status)] = {"schema": self._schema_ref(schema, "response")}
        return {
            "method": method,
            "path": path,
            "operationId": operation.get("operationId"),
            "parameters": parameters,
            "requestBody": body,
            "responses": responses,
        }

    def _parameter(self, parameter: dict[str, Any]) -> dict[str, Any]:
        schema = self.convert(parameter.get("schema", {}), "request")
        schema.update(HEADER_LIMITS.get(parameter["name"], {}))
        if parameter["name"] == "If-Modified-Since":
            schema.pop("format", None)
        return {
            "name": parameter["name"],
            "in": parameter["in"],
            "required": bool(parameter.get("required", False)),
            "schema": schema,
        }


def derive(source: Path) -> dict[str, Any]:
    """The subset document for the spec file at ``source``."""
    raw = source.read_bytes()
    spec = yaml.safe_load(raw)
    deriver = Deriver(spec)
    operations = [deriver.operation(method, path) for method, path in OPERATIONS]
    defs: dict[str, dict[str, Any]] = {"request": {}, "response": {}}
    for name in sorted(deriver.used):
        for variant in defs:
            defs[variant][name] = deriver.component(name, variant)
    return {
        "provenance": {
            "source_repository": SOURCE_REPO,
            "source_commit": SOURCE_COMMIT,
            "source_path": "xero_accounting.yaml",
            "source_sha256": hashlib.sha256(raw).hexdigest(),
            "spec_version": spec.get("info", {}).get("version"),
            "license": MIT_NOTICE,
            "derived_by": "scripts/derive_xero_spec.py",
            "fixes": [
                *sorted(set(deriver.fixes)),
                "msdate fields: YYYY-MM-DD in requests, /Date(ms+hhmm)/ in responses",
                "read-only and unknown properties refused in requests",
                "Account.Code maxLength 10, Item.Code maxLength 30 (stated in prose only)",
                "Idempotency-Key maxLength 128 (stated in prose only)",
                "If-Modified-Since checked with an RFC 3339 pattern",
                "examples dropped (PUT /BankTransactions and PUT /TrackingCategories examples "
                "contradict the schemas)",
            ],
        },
        "operations": operations,
        "$defs": defs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not args.source.exists():
        print(f"error: {args.source} not found", file=sys.stderr)
        return 2
    document = derive(args.source)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=1, sort_keys=False, ensure_ascii=False, default=str)
    args.out.write_text(re.sub(r"[ \t]+\n", "\n", text) + "\n", "utf-8")
    print(
        f"wrote {args.out} ({len(document['operations'])} operations, "
        f"{len(document['$defs']['response'])} schemas)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
