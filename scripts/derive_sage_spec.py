#!/usr/bin/env python3
"""Derive the small JSON Schema subset the sage-accounting tests validate traffic against.

Sage publishes its Accounting API v3.1 as a Swagger 2.0 description (copyright Sage, no
licence to redistribute). The repository keeps no copy of it: this script reads the official
file and writes only what the connector uses, as plain JSON Schema, to
``tests/connectors/sage_accounting/spec/sage-subset.json``::

    python scripts/derive_sage_spec.py [SWAGGER_FILE] [--output FILE]

SWAGGER_FILE defaults to ``../shared/specs/sage-accounting/swagger-3.1.json`` relative to the
repository root. Derivation rules (also written into the output's provenance):

* Only the operations in :data:`OPERATIONS`, and the definitions their answers refer to
  (transitively), are kept; descriptions and examples are dropped.
* Properties keep ``type``, ``format``, ``maxLength``, ``enum``, ``minimum``/``maximum``,
  ``items`` and ``$ref``; objects keep ``required``.
* Request bodies accept no field the description does not declare (``additionalProperties:
  false``), and each field takes the ``maxLength`` of the same field of the operation's read
  model (Sage declares lengths there, not on the request).
* Read models accept ``null`` for every field: Sage sends ``null`` for an absent value.
* A list answer is Sage's envelope (``$total``, ``$page``, ``$next``, ``$back``,
  ``$items_per_page`` or ``$itemsPerPage``, ``$items``): the description types it as a bare
  array, Sage's documentation and answers wrap it.
* Two parts come from Sage's documentation pages, not the description: the error array
  (``$severity``, ``$dataCode``, ``$message``, ``$source``) and the core ``/businesses``
  endpoints.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "specs" / "sage-accounting" / "swagger-3.1.json"
DEFAULT_OUTPUT = ROOT / "tests" / "connectors" / "sage_accounting" / "spec" / "sage-subset.json"
EXPECTED_SHA256 = "c7c84b109a58778f06d1e042917885e1b8581d7616dbe125939e200eb0655780"

_COLLECTION = ("GET", "POST")
_CHANGE = ("PUT", "DELETE")

OPERATIONS: Mapping[str, tuple[str, ...]] = {
    "/financial_settings": ("GET",),
    "/tax_rates": ("GET",),
    "/ledger_accounts": _COLLECTION,
    "/ledger_accounts/{key}": ("PUT",),
    "/analysis_types": ("GET",),
    "/analysis_types/{key}": ("PUT",),
    "/analysis_type_categories": _COLLECTION,
    "/analysis_type_categories/{key}": ("DELETE",),
    "/bank_accounts": _COLLECTION,
    "/bank_accounts/{key}": _CHANGE,
    "/contacts": _COLLECTION,
    "/contacts/{key}": _CHANGE,
    "/products": _COLLECTION,
    "/products/{key}": _CHANGE,
    "/services": _COLLECTION,
    "/services/{key}": _CHANGE,
    "/ledger_account_opening_balances": _COLLECTION,
    "/ledger_account_opening_balances/{key}": _CHANGE,
    "/bank_opening_balances": _COLLECTION,
    "/bank_opening_balances/{key}": _CHANGE,
    "/contact_opening_balances": _COLLECTION,
    "/contact_opening_balances/{key}": ("GET", "PUT", "DELETE"),
    "/sales_invoices": _COLLECTION,
    "/sales_invoices/{key}": ("GET", "PUT", "DELETE"),
    "/purchase_invoices": _COLLECTION,
    "/purchase_invoices/{key}": ("GET", "PUT", "DELETE"),
    "/sales_credit_notes": _COLLECTION,
    "/sales_credit_notes/{key}": ("GET", "PUT", "DELETE"),
    "/purchase_credit_notes": _COLLECTION,
    "/purchase_credit_notes/{key}": ("GET", "PUT", "DELETE"),
    "/contact_payments": _COLLECTION,
    "/contact_payments/{key}": _CHANGE,
    "/contact_allocations": _COLLECTION,
    "/contact_allocations/{key}": ("DELETE",),
    "/other_payments": _COLLECTION,
    "/other_payments/{key}": _CHANGE,
    "/bank_transfers": _COLLECTION,
    "/bank_transfers/{key}": _CHANGE,
    "/bank_deposits": ("GET",),
    "/journals": _COLLECTION,
    "/journals/{key}": ("DELETE",),
}
"""Every operation the connector sends (and the sandbox therefore serves)."""

_KEEP = ("type", "format", "maxLength", "enum", "minimum", "maximum")

ERROR_SCHEMA = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["$severity", "$dataCode", "$message"],
        "properties": {
            "$severity": {"type": "string"},
            "$dataCode": {"type": "string"},
            "$message": {"type": "string"},
            "$source": {"type": "string"},
        },
    },
}

BUSINESS_SCHEMA = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "string"},
        "displayed_as": {"type": ["string", "null"]},
        "$path": {"type": ["string", "null"]},
        "name": {"type": ["string", "null"]},
        "created_at": {"type": ["string", "null"], "format": "date-time"},
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
    },
}


class Deriver:
    """Walks the description from the chosen operations, keeping what they reach."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self.definitions: dict[str, Any] = {}
        self._pending: list[str] = []

    # -- read models --------------------------------------------------------------------------

    def read_model(self, name: str) -> dict[str, str]:
        """A ``$ref`` to the read model, queuing the definition."""
        if name not in self.definitions and name not in self._pending:
            self._pending.append(name)
        return {"$ref": f"#/definitions/{name}"}

    def drain(self) -> None:
        while self._pending:
            name = self._pending.pop()
            if name not in self.definitions:
                self.definitions[name] = self._nullable_object(self.spec["definitions"][name])

    def _nullable_object(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        properties = {
            name: self._nullable(value) for name, value in (schema.get("properties") or {}).items()
        }
        return {"type": ["object", "null"], "properties": properties}

    def _nullable(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        if "$ref" in schema:
            target = self.read_model(_name(schema["$ref"]))
            return {"anyOf": [target, {"type": "null"}]}
        kept = _kept(schema)
        if schema.get("type") == "array":
            kept["items"] = self._nullable(schema.get("items") or {})
        elif schema.get("type") == "object" and "properties" in schema:
            kept = self._nullable_object(schema)
        if isinstance(kept.get("type"), str):
            kept["type"] = [kept["type"], "null"]
        if "enum" in kept:
            kept["enum"] = [*kept["enum"], None]
        return kept

    # -- requests -----------------------------------------------------------------------------

    def request(self, schema: Mapping[str, Any], model: Mapping[str, Any] | None) -> dict[str, Any]:
        """A request body: declared fields only, lengths borrowed from the read model."""
        kept = _kept(schema)
        kind = schema.get("type")
        if kind == "array":
            item_model = self._model_items(model)
            kept["items"] = self.request(schema.get("items") or {}, item_model)
            return kept
        if kind != "object" and "properties" not in schema:
            return kept
        properties = {}
        for name, value in (schema.get("properties") or {}).items():
            field_model = self._model_field(model, name)
            derived = self.request(value, field_model)
            limit = (field_model or {}).get("maxLength")
            if limit and derived.get("type") == "string" and "maxLength" not in derived:
                derived["maxLength"] = limit
            properties[name] = derived
        kept.update(type="object", properties=properties, additionalProperties=False)
        if schema.get("required"):
            kept["required"] = list(schema["required"])
        return kept

    def _model_field(self, model: Mapping[str, Any] | None, name: str) -> dict[str, Any] | None:
        if not model:
            return None
        value = (model.get("properties") or {}).get(name)
        if value is None:
            # The request's ``*_id`` field reads back as the linked object.
            value = (model.get("properties") or {}).get(name.removesuffix("_id"))
        return self._resolve(value)

    def _model_items(self, model: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if not model:
            return None
        return self._resolve(model.get("items"))

    def _resolve(self, value: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if not value:
            return None
        if "$ref" in value:
            return dict(self.spec["definitions"][_name(value["$ref"])])
        return dict(value)

    # -- operations ---------------------------------------------------------------------------

    def operation(self, path: str, method: str) -> dict[str, Any]:
        spec_op = self.spec["paths"][path][method.lower()]
        derived: dict[str, Any] = {"query": {}, "responses": {}}
        response_model = None
        for code, answer in spec_op.get("responses", {}).items():
            schema = answer.get("schema")
            if schema is None:
                derived["responses"][code] = None
                continue
            if schema.get("type") == "array":
                item = _name(schema["items"]["$ref"])
                derived["responses"][code] = _envelope(self.read_model(item))
            else:
                name = _name(schema["$ref"])
                response_model = self.spec["definitions"][name]
                derived["responses"][code] = self.read_model(name)
        for parameter in spec_op.get("parameters", []):
            if parameter["in"] == "query":
                derived["query"][parameter["name"]] = _kept(parameter)
            elif parameter["in"] == "body":
                wrapper = self.spec["definitions"][_name(parameter["schema"]["$ref"])]
                derived["body"] = self._body(wrapper, response_model, path, method)
        return derived

    def _body(
        self, wrapper: Mapping[str, Any], model: Mapping[str, Any] | None, path: str, method: str
    ) -> dict[str, Any]:
        if model is None:
            model = self._member_model(path)
        (name, inner), *_ = wrapper["properties"].items()
        body = {
            "type": "object",
            "additionalProperties": False,
            "properties": {name: self.request(inner, model)},
        }
        if wrapper.get("required"):
            body["required"] = list(wrapper["required"])
        return body

    def _member_model(self, path: str) -> Mapping[str, Any] | None:
        """The read model of ``path/{key}`` (POST answers are typed on the member too)."""
        member = self.spec["paths"].get(path.rstrip("/") + "/{key}", {}).get("get")
        schema = ((member or {}).get("responses", {}).get("200") or {}).get("schema")
        return self.spec["definitions"][_name(schema["$ref"])] if schema else None


def _name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _kept(schema: Mapping[str, Any]) -> dict[str, Any]:
    kept = {key: schema[key] for key in _KEEP if key in schema}
    if kept.get("format") == "double":
        del kept["format"]  # a Swagger hint about the wire type, not a JSON Schema format
    if kept.get("format") == "int32":
        del kept["format"]
    return kept


def _envelope(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["$items"],
        "properties": {
            "$total": {"type": "integer"},
            "$page": {"type": "integer"},
            "$next": {"type": ["string", "null"]},
            "$back": {"type": ["string", "null"]},
            "$items_per_page": {"type": "integer"},
            "$itemsPerPage": {"type": "integer"},
            "$items": {"type": "array", "items": dict(item)},
        },
    }


def derive(spec: Mapping[str, Any], digest: str, source: Path) -> dict[str, Any]:
    deriver = Deriver(spec)
    operations: dict[str, dict[str, Any]] = {}
    for path, methods in OPERATIONS.items():
        operations[path] = {m: deriver.operation(path, m) for m in methods}
    deriver.drain()
    operations["/businesses"] = {
        "GET": {
            "query": {
                "items_per_page": {"type": "integer", "minimum": 1, "maximum": 200},
                "page": {"type": "integer"},
                "attributes": {"type": "string"},
            },
            "responses": {"200": _envelope({"$ref": "#/definitions/CoreBusiness"})},
        }
    }
    definitions = dict(sorted(deriver.definitions.items()))
    definitions["CoreBusiness"] = BUSINESS_SCHEMA
    definitions["SageErrors"] = ERROR_SCHEMA
    return {
        "provenance": {
            "title": "Sage Accounting v3.1, the subset the sage-accounting connector uses",
            "source": (
                "Sage Business Cloud Accounting - Accounts, Swagger 2.0 description, info.version "
                "3.1, published by Sage (developer.sage.com/accounting/reference); read from "
                f"{source.name} (a byte-identical copy of github.com/SynergiTech/sage-php "
                "swagger-2.0.0.json)"
            ),
            "sha256": digest,
            "note": (
                "Derived reference data from Sage's published API description, copyright Sage: "
                "only the operations and definitions the connector uses, reduced to field "
                "names, types, formats, maxLength, enums and required lists. The description "
                "itself is not redistributed. Regenerate with scripts/derive_sage_spec.py."
            ),
            "rules": [
                "request bodies accept only declared fields (additionalProperties false)",
                "request fields take the maxLength of the same field of the read model",
                "read-model fields accept null (Sage sends null for absent values)",
                "list answers are Sage's envelope ($total, $page, $next, $back, "
                "$items_per_page or $itemsPerPage, $items)",
                "SageErrors and /businesses come from Sage's documentation pages, not the "
                "description",
            ],
        },
        "basePath": spec.get("basePath", "/v3.1"),
        "operations": operations,
        "definitions": definitions,
    }


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("swagger", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    raw = args.swagger.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != EXPECTED_SHA256:
        print(
            f"warning: {args.swagger} has sha256 {digest}, not the {EXPECTED_SHA256} this "
            "script was written against; check the derived subset before using it",
            file=sys.stderr,
        )
    derived = derive(json.loads(raw), digest, args.swagger)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(derived, indent=1, sort_keys=False) + "\n", "utf-8")
    count = sum(len(m) for m in derived["operations"].values())
    shown = args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output
    print(f"wrote {shown}: {count} operations, {len(derived['definitions'])} definitions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
