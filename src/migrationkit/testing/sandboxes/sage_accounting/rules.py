"""The sandbox's state and rules: one :class:`Store` per business, one collection per endpoint.

Objects are kept in the shape Sage returns them (``attributes=all``), referring to each other
with ``{"id", "displayed_as", "$path"}``; keys starting with ``_`` are the sandbox's own
bookkeeping (what is still outstanding on an invoice, which side of the ledger it is on) and
never leave it. Amounts are ``Decimal`` throughout.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType as _Fixed
from typing import Any, ClassVar

from migrationkit.connectors.sage_accounting.wire import money, parse_timestamp, timestamp_text

from ..server import Request
from . import data

__all__ = ["COLLECTIONS", "Invalid", "Store"]

_CENT = Decimal("0.01")
_ZERO = Decimal(0)


class Invalid(Exception):
    """A request Sage refuses: becomes ``[{"$severity", "$dataCode", "$message", "$source"}]``."""

    def __init__(
        self, message: str, *, source: str = "", code: str = "RecordInvalid", status: int = 422
    ) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.code = code
        self.status = status


def _missing(what: str, source: str) -> Invalid:
    return Invalid(f"{what} not found.", source=source, code="RecordNotFound", status=404)


def _round(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _title(identifier: str) -> str:
    return identifier.replace("_", " ").title()


# ---------------------------------------------------------------------------
# one business
# ---------------------------------------------------------------------------


class Store:
    """Everything one sandbox business holds."""

    def __init__(
        self,
        name: str,
        accounts_start: dt.date,
        honour_numbers: bool,
        moment: Callable[[], dt.datetime],
        id: str | None = None,
    ) -> None:
        self.id = id or uuid.uuid4().hex
        self.name = name
        self.honour_numbers = honour_numbers
        self.moment = moment
        self.created = timestamp_text(moment())
        self.tables: defaultdict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.home: dict[str, str] = {}
        self.numbers: defaultdict[str, int] = defaultdict(int)
        self.settings: dict[str, Any] = {
            "year_end_date": (accounts_start - dt.timedelta(days=1))
            .replace(year=accounts_start.year + 1)
            .isoformat(),
            "accounts_start_date": accounts_start.isoformat(),
            "base_currency": {"id": "GBP", "displayed_as": "Pound Sterling (GBP)"},
            "multi_currency_enabled": True,
            "use_live_exchange_rates": False,
            "accounting_type": "accrual",
            "tax_scheme": {"id": "STANDARD", "displayed_as": "Standard"},
            "tax_number": "GB123456789",
            "sales_tax_calculation": "invoice",
            "purchase_tax_calculation": "invoice",
            "updated_at": self.created,
        }
        self._seed()

    # -- the business itself ----------------------------------------------------------------------

    def business(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "displayed_as": self.name,
            "$path": f"/businesses/{self.id}",
            "name": self.name,
            "country_of_registration": {"id": "GB", "displayed_as": "United Kingdom (GB)"},
            "created_at": self.created,
            "updated_at": self.created,
        }

    @property
    def base(self) -> str:
        return str(self.settings["base_currency"]["id"])

    def _seed(self) -> None:
        for code, name, kind, control in data.CHART:
            self.add(
                "ledger_accounts",
                _ledger_account(code, name, kind, control, None),
                f"{name} ({code})",
            )
        for rate_id, name, percentage, history in data.TAX_RATES:
            rate = {
                "name": name,
                "agency": None,
                "percentage": percentage,
                "percentages": [
                    {"percentage": p, "from_date": start, "to_date": end}
                    for p, start, end in history
                ],
                "is_visible": True,
                "retailer": False,
                "editable": False,
                "deletable": False,
                "is_combined_rate": False,
            }
            self.add("tax_rates", rate, name, object_id=rate_id)
        code, name, kind = data.DEFAULT_BANK
        ledger = next(
            a for a in self.tables["ledger_accounts"].values() if a["nominal_code"] == code
        )
        self.add(
            "bank_accounts",
            {
                "bank_account_details": {"account_name": name},
                "ledger_account": self.link(ledger),
                "bank_account_type": {"id": kind, "displayed_as": _title(kind)},
                "nominal_code": code,
                "currency": _currency_link(self.base),
                "is_active": True,
                "editable": True,
                "deletable": False,
                "balance": _ZERO,
                "deleted_at": None,
            },
            name,
        )
        for name in data.ANALYSIS_TYPES:
            self.add(
                "analysis_types",
                {"name": name, "active_areas": ["sales", "purchasing", "banking", "journals"]},
                name,
            )

    # -- storage ----------------------------------------------------------------------------------

    def table(self, path: str) -> dict[str, dict[str, Any]]:
        return self.tables[path]

    def now(self) -> str:
        return timestamp_text(self.moment())

    def add(
        self, path: str, fields: dict[str, Any], displayed: str, *, object_id: str | None = None
    ) -> dict[str, Any]:
        """Store a new object with its id, ``$path`` and timestamps."""
        new_id = object_id or uuid.uuid4().hex
        stamp = self.now()
        obj = {
            "id": new_id,
            "displayed_as": displayed,
            "$path": f"/{path}/{new_id}",
            "created_at": stamp,
            "updated_at": stamp,
            **fields,
        }
        self.tables[path][new_id] = obj
        self.home[new_id] = path
        return obj

    def backdate(self, by: dt.timedelta) -> None:
        """Move every object's timestamps back: the books as if kept ``by`` earlier.

        A test of a delta sets the business's history in the past, so that what it changes
        afterwards is all that changed since the last run.
        """
        for table in self.tables.values():
            for obj in table.values():
                for field in ("created_at", "updated_at", "deleted_at"):
                    if obj.get(field):
                        obj[field] = timestamp_text(parse_timestamp(obj[field]) - by)

    def touch(self, obj: dict[str, Any]) -> None:
        obj["updated_at"] = self.now()

    def remove(self, obj: dict[str, Any]) -> None:
        """Delete softly: the object stays, with ``deleted_at``, for ``deleted_since``."""
        obj["deleted_at"] = self.now()
        obj["updated_at"] = obj["deleted_at"]

    def live(self, path: str, object_id: str) -> dict[str, Any]:
        obj = self.tables[path].get(object_id)
        if obj is None or obj.get("deleted_at"):
            raise Invalid("Couldn't find record.", code="RecordNotFound", status=404)
        return obj

    def refer(self, path: str, object_id: Any, source: str) -> dict[str, Any]:
        """A record named in a request, or ``RecordNotFound`` naming the field."""
        obj = self.tables[path].get(str(object_id)) if object_id else None
        if obj is None or obj.get("deleted_at"):
            raise _missing(_title(path[:-1]), source)
        return obj

    def artefact(self, object_id: str, source: str) -> dict[str, Any]:
        path = self.home.get(object_id)
        if path is None or path not in _ARTEFACT_TABLES:
            raise _missing("Artefact", source)
        return self.refer(path, object_id, source)

    def next_number(self, prefix: str) -> str:
        self.numbers[prefix] += 1
        return f"{prefix}{self.numbers[prefix]}"

    @staticmethod
    def link(obj: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if obj is None:
            return None
        return {"id": obj["id"], "displayed_as": obj["displayed_as"], "$path": obj["$path"]}

    @staticmethod
    def shown(obj: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    @staticmethod
    def summary(obj: Mapping[str, Any]) -> dict[str, Any]:
        return {"id": obj["id"], "displayed_as": obj["displayed_as"], "$path": obj["$path"]}

    def live_objects(self, *paths: str) -> Iterator[dict[str, Any]]:
        for path in paths:
            for obj in self.tables[path].values():
                if not obj.get("deleted_at"):
                    yield obj


_ARTEFACT_TABLES = frozenset(
    {
        "sales_invoices",
        "purchase_invoices",
        "sales_credit_notes",
        "purchase_credit_notes",
        "contact_opening_balances",
        "contact_payments",
        "payments_on_account",
    }
)


def _visible(kind: str, control: str | None) -> dict[str, bool]:
    sales = kind in ("SALES", "OTHER_INCOME")
    costs = kind in ("DIRECT_EXPENSES", "OVERHEADS", "DEPRECIATION", "FIXED_ASSETS")
    # VAT is paid to and refunded by HMRC through the bank: the VAT accounts take payments.
    vat = control in ("SALES_TAX_CONTROL", "PURCHASE_TAX_CONTROL", "VAT_LIABILITY")
    return {
        "visible_in_banking": kind == "BANK",
        "visible_in_expenses": costs and not control,
        # Journals may post to any account; Sage only warns for the control accounts.
        "visible_in_journals": True,
        "visible_in_other_payments": (costs and not control) or vat or control == "BANK_CHARGES",
        "visible_in_other_receipts": (sales and not control) or vat,
        "visible_in_reporting": True,
        "visible_in_sales": sales and not control,
    }


def _ledger_account(
    code: int, name: str, kind: str, control: str | None, tax_rate: dict[str, Any] | None
) -> dict[str, Any]:
    flags = _visible(kind, control)
    return {
        "ledger_account_type": {"id": kind, "displayed_as": _title(kind)},
        "included_in_chart": True,
        "name": name,
        "display_name": name,
        "nominal_code": code,
        "is_control_account": control is not None,
        "control_name": control,
        "tax_rate": tax_rate,
        "fixed_tax_rate": False,
        "visible_scopes": [k.removeprefix("visible_in_") for k, v in flags.items() if v],
        "display_formatted": f"{code} - {name}",
        **flags,
    }


# ---------------------------------------------------------------------------
# request helpers
# ---------------------------------------------------------------------------


def _need(body: Mapping[str, Any], fields: Iterable[str], prefix: str = "") -> None:
    for field in fields:
        value = body.get(field)
        if value is None or value == "" or value == []:
            raise Invalid(f"{field} is required.", source=prefix + field, code="RecordInvalid")


def _lengths(body: Mapping[str, Any], limits: Mapping[str, int], prefix: str = "") -> None:
    for field, limit in limits.items():
        value = body.get(field)
        if isinstance(value, str) and len(value) > limit:
            raise Invalid(
                f"{field} is too long (maximum is {limit} characters).", source=prefix + field
            )


def _amount(body: Mapping[str, Any], field: str, source: str = "") -> Decimal | None:
    value = body.get(field)
    if value is None:
        return None
    try:
        return money(value)
    except (TypeError, ArithmeticError, ValueError):
        raise Invalid(f"{field} is not a number.", source=source or field) from None


def _date(body: Mapping[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise Invalid(f"{field} is not a date (YYYY-MM-DD).", source=field) from None


def _currency(store: Store, body: Mapping[str, Any], contact: Mapping[str, Any]) -> str:
    wanted = body.get("currency_id") or store.base
    trades = (contact.get("currency") or {}).get("id") or store.base
    if wanted not in data.CURRENCIES:
        raise Invalid(f"Currency {wanted} is unknown.", source="currency_id")
    if wanted != trades:
        raise Invalid(
            f"The contact trades in {trades}; the transaction must be in {trades}.",
            source="currency_id",
        )
    return str(wanted)


def _rate(store: Store, body: Mapping[str, Any], currency: str) -> Decimal:
    if currency == store.base:
        return Decimal(1)
    rate = _amount(body, "exchange_rate")
    if rate is None or rate <= 0:
        raise Invalid("exchange_rate is required for a foreign currency.", source="exchange_rate")
    return rate


def _in_base(value: Decimal, rate: Decimal, given: Decimal | None) -> Decimal:
    return given if given is not None else _round(value / rate)


def _categories(store: Store, ids: Any, source: str) -> list[dict[str, Any]]:
    found = []
    for category_id in ids or ():
        category = store.refer("analysis_type_categories", category_id, source)
        found.append({**Store.summary(category), "analysis_type": category["analysis_type"]})
    return found


def _currency_link(currency: str) -> dict[str, str]:
    return {"id": currency, "displayed_as": currency, "$path": f"/currencies/{currency}"}


# ---------------------------------------------------------------------------
# collections
# ---------------------------------------------------------------------------

_LIST, _ONE = ("GET", True), ("GET", False)
_POST, _PUT, _DELETE = ("POST", True), ("PUT", False), ("DELETE", False)
_ALL = frozenset({_LIST, _ONE, _POST, _PUT, _DELETE})


class Collection:
    """One endpoint: its routes, required fields, lengths, filters and behaviour."""

    path: ClassVar[str] = ""
    wrapper: ClassVar[str] = ""
    routes: ClassVar[frozenset[tuple[str, bool]]] = _ALL
    required: ClassVar[tuple[str, ...]] = ()
    lengths: ClassVar[Mapping[str, int]] = {}
    equal_filters: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    search_fields: ClassVar[tuple[str, ...]] = ()

    def matches(self, store: Store, obj: Mapping[str, Any], request: Request) -> bool:
        for param, path in self.equal_filters.items():
            wanted = request.param(param)
            if wanted is not None and _dig(obj, path) != wanted:
                return False
        date = str(obj.get("date") or "")
        start, end = request.param("from_date"), request.param("to_date")
        if (start and date < start[:10]) or (end and date > end[:10]):
            return False
        search = (request.param("search") or "").casefold()
        return not search or any(
            search in str(_dig(obj, f) or "").casefold() for f in self.search_fields
        )

    def check(self, body: Mapping[str, Any]) -> None:
        _need(body, self.required)
        _lengths(body, self.lengths)

    def create(self, store: Store, body: dict[str, Any]) -> dict[str, Any]:
        self.check(body)
        fields, displayed = self.build(store, body, None)
        return store.add(self.path, fields, displayed)

    def update(self, store: Store, obj: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        _lengths(body, self.lengths)
        fields, displayed = self.build(store, body, obj)
        obj.update(fields, displayed_as=displayed)
        store.touch(obj)
        return obj

    def build(
        self, store: Store, body: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        raise Invalid("This endpoint cannot be written.", code="MethodNotAllowed", status=405)

    def delete(self, store: Store, obj: dict[str, Any], void_reason: str | None) -> Any:
        store.remove(obj)
        return None


def _dig(obj: Mapping[str, Any], path: tuple[str, ...] | str) -> Any:
    value: Any = obj
    for part in (path,) if isinstance(path, str) else path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _merged(body: Mapping[str, Any], old: Mapping[str, Any] | None, field: str, read: str) -> Any:
    """A field from the request, else what the object held (for partial updates)."""
    if field in body:
        return body[field]
    if old is None:
        return None
    value = old.get(read)
    return value.get("id") if isinstance(value, Mapping) else value


class LedgerAccounts(Collection):
    path, wrapper = "ledger_accounts", "ledger_account"
    routes = frozenset({_LIST, _ONE, _POST, _PUT})  # Sage cannot delete a ledger account
    required = (
        "ledger_account_type_id",
        "included_in_chart",
        "name",
        "display_name",
        "nominal_code",
    )
    lengths = _Fixed({"name": 200, "display_name": 200})
    equal_filters = _Fixed({"ledger_account_type_id": ("ledger_account_type", "id")})
    search_fields = ("name", "nominal_code")

    def matches(self, store: Store, obj: Mapping[str, Any], request: Request) -> bool:
        scope = request.param("visible_in")
        if scope and not obj.get(f"visible_in_{scope}"):
            return False
        return super().matches(store, obj, request)

    def build(
        self, store: Store, body: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        kind = str(_merged(body, old, "ledger_account_type_id", "ledger_account_type"))
        if kind not in data.LEDGER_TYPES:
            raise Invalid(
                f"Ledger account type {kind} is unknown.", source="ledger_account_type_id"
            )
        if old is None and body.get("control_name"):
            raise Invalid("Control accounts cannot be created.", source="control_name")
        if (
            old is not None
            and old.get("is_control_account")
            and kind != old["ledger_account_type"]["id"]
        ):
            raise Invalid("A control account keeps its type.", source="ledger_account_type_id")
        code = _merged(body, old, "nominal_code", "nominal_code")
        if not isinstance(code, int) or not 1 <= code <= 99_999_999:
            raise Invalid(
                "nominal_code must be a number from 1 to 99999999.", source="nominal_code"
            )
        for other in store.live_objects(self.path):
            if other["nominal_code"] == code and (old is None or other["id"] != old["id"]):
                raise Invalid("Nominal code has already been taken.", source="nominal_code")
        rate_id = _merged(body, old, "tax_rate_id", "tax_rate")
        rate = store.link(store.refer("tax_rates", rate_id, "tax_rate_id")) if rate_id else None
        name = str(_merged(body, old, "name", "name"))
        control = old.get("control_name") if old else None
        fields = _ledger_account(code, name, kind, control, rate)
        fields["display_name"] = str(_merged(body, old, "display_name", "display_name") or name)
        fields["included_in_chart"] = bool(
            _merged(body, old, "included_in_chart", "included_in_chart")
        )
        for flag in (k for k in fields if k.startswith("visible_in_")):
            if flag in body:
                fields[flag] = bool(body[flag])
            elif old is not None:
                fields[flag] = old[flag]
        fields["visible_scopes"] = [
            k.removeprefix("visible_in_")
            for k in fields
            if k.startswith("visible_in_") and fields[k]
        ]
        return fields, f"{name} ({code})"


class TaxRates(Collection):
    path, wrapper = "tax_rates", "tax_rate"

    def build(
        self, store: Store, body: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        raise Invalid(
            "Tax rates can only be created, changed or deleted for US businesses.",
            code="NotAllowedForRegion",
        )

    def delete(self, store: Store, obj: dict[str, Any], void_reason: str | None) -> Any:
        return self.build(store, {}, obj)


class AnalysisTypes(Collection):
    path, wrapper = "analysis_types", "analysis_type"
    routes = frozenset({_LIST, _ONE, _PUT})
    lengths = _Fixed({"name": 50})

    def build(
        self, store: Store, body: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        name = str(body.get("name") or (old or {}).get("name") or "")
        if not name:
            raise Invalid("name is required.", source="name")
        return {"name": name}, name


class AnalysisTypeCategories(Collection):
    path, wrapper = "analysis_type_categories", "analysis_type_category"
    required = ("analysis_type_id", "code", "name")
    lengths = _Fixed({"code": 10, "name": 50})

    def build(
        self, store: Store, body: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        kind_id = _merged(body, old, "analysis_type_id", "analysis_type")
        kind = store.refer("analysis_types", kind_id, "analysis_type_id")
        code = str(_merged(body, old, "code", "code"))
        for other in store.live_objects(self.path):
            same = other["analysis_type"]["id"] == kind["id"] and other["code"] == code
            if same and (old is None or other["id"] != old["id"]):
                raise Invalid("Code has already been taken.", source="code")
        name = str(_merged(body, old, "name", "name"))
        return {"code": code, "name": name, "analysis_type": store.link(kind)}, name

    def delete(self, store: Store, obj: dict[str, Any], void_reason: str | None) -> Any:
        if _used(store, obj["id"]):
            raise Invalid("The category is used on transactions.", code="RecordInUse")
        store.remove(obj)
        return None


def _used(store: Store, needle: str) -> bool:
    """Whether any live transaction mentions this id anywhere."""
    paths = (
        "sales_invoices", "purchase_invoices", "sales_credit_notes", "purchase_credit_notes",
        "contact_payments", "contact_opening_balances", "other_payments", "bank_transfers",
        "bank_deposits", "journals", "bank_opening_balances", "ledger_account_opening_balances",
    )  # fmt: skip
    return any(_mentions(obj, needle) for obj in store.live_objects(*paths))


def _mentions(value: Any, needle: str) -> bool:
    if isinstance(value, Mapping):
        return any(_mentions(v, needle) for k, v in value.items() if k != "id") or (
            value.get("id") == needle and "$path" in value
        )
    if isinstance(value, list):
        return any(_mentions(v, needle) for v in value)
    return False


class BankAccounts(Collection):
    path, wrapper = "bank_accounts", "bank_account"
    required = ("bank_account_type_id",)

    def check(self, body: Mapping[str, Any]) -> None:
        super().check(body)
        details = body.get("bank_account_details")
        if not isinstance(details, Mapping):
            raise Invalid("bank_account_details is required.", source="bank_account_details")
        _need(details, ("account_name",), "bank_account_details.")

    def build(
        self, store: Store, body: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        kind = _merged(body, old, "bank_account_type_id", "bank_account_type")
        if kind not in data.BANK_TYPES:
            raise Invalid(f"Bank account type {kind} is unknown.", source="bank_account_type_id")
        details = {
            **(old or {}).get("bank_account_details", {}),
            **(body.get("bank_account_details") or {}),
        }
        currency = str(_merged(body, old, "currency_id", "currency") or store.base)
        if currency not in data.CURRENCIES:
            raise Invalid(f"Currency {currency} is unknown.", source="currency_id")
        ledger = self._ledger(store, body, old, str(details.get("account_name")))
        fields = {
            "bank_account_details": details,
            "ledger_account": store.link(ledger),
            "bank_account_type": {"id": kind, "displayed_as": _title(str(kind))},
            "nominal_code": ledger["nominal_code"],
            "currency": _currency_link(currency),
            "is_active": bool(body.get("is_active", (old or {}).get("is_active", True))),
            "editable": True,
            "deletable": True,
            "balance": _ZERO,
        }
        return fields, str(details.get("account_name"))

    def _ledger(
        self, store: Store, body: Mapping[str, Any], old: Mapping[str, Any] | None, name: str
    ) -> dict[str, Any]:
        if old is not None:
            return store.refer("ledger_accounts", old["ledger_account"]["id"], "ledger_account_id")
        if body.get("ledger_account_id"):
            ledger = store.refer("ledger_accounts", body["ledger_account_id"], "ledger_account_id")
            if ledger["ledger_account_type"]["id"] != "BANK":
                raise Invalid(
                    "The ledger account is not a bank account.", source="ledger_account_id"
                )
            for bank in store.live_objects(self.path):
                if bank["ledger_account"]["id"] == ledger["id"]:
                    raise Invalid(
                        "The ledger account belongs to another bank account.",
                        source="ledger_account_id",
                    )
            return ledger
        code = body.get("nominal_code")
        if not isinstance(code, int):
            raise Invalid("ledger_account_id or nominal_code is required.", source="nominal_code")
        return LedgerAccounts().create(
            store,
            {
                "ledger_account_type_id": "BANK",
                "included_in_chart": True,
                "name": name,
                "display_name": name,
                "nominal_code": code,
            },
        )

    def delete(self, store: Store, obj: dict[str, Any], void_reason: str | None) -> Any:
        if not obj.get("deletable", True):
            raise Invalid("The default bank account cannot be deleted.", code="RecordInUse")
        if _used(store, obj["id"]):
            raise Invalid(
                "The bank account has transactions and cannot be deleted.", code="RecordInUse"
            )
        store.remove(obj)
        return None


_CONTACT_TYPES = ("CUSTOMER", "VENDOR")


class Contacts(Collection):
    path, wrapper = "contacts", "contact"
    required = ("name", "contact_type_ids")
    lengths = _Fixed(
        {"name": 100, "reference": 10, "tax_number": 255, "notes": 4000, "source_guid": 255}
    )
    search_fields = ("name", "reference")

    def matches(self, store: Store, obj: Mapping[str, Any], request: Request) -> bool:
        wanted = request.param("contact_type_id")
        if wanted and wanted not in {t["id"] for t in obj["contact_types"]}:
            return False
        return super().matches(store, obj, request)

    def build(
        self, store: Store, body: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        kinds = body.get("contact_type_ids") or [
            t["id"] for t in (old or {}).get("contact_types", [])
        ]
        if len(kinds) != 1 or kinds[0] not in _CONTACT_TYPES:
            raise Invalid("A contact is either a CUSTOMER or a VENDOR.", source="contact_type_ids")
        kind = kinds[0]
        name = str(_merged(body, old, "name", "name"))
        reference = _merged(body, old, "reference", "reference") or self._generate(
            store, name, kind
        )
        for other in store.live_objects(self.path):
            same = str(other.get("reference") or "").casefold() == str(reference).casefold()
            if (
                same
                and kind == other["contact_types"][0]["id"]
                and (old is None or other["id"] != old["id"])
            ):
                raise Invalid("Reference has already been taken.", source="reference")
        currency = str(_merged(body, old, "currency_id", "currency") or store.base)
        if currency not in data.CURRENCIES:
            raise Invalid(f"Currency {currency} is unknown.", source="currency_id")
        fields = {
            "contact_types": [
                {"id": kind, "displayed_as": _title(kind), "$path": f"/contact_types/{kind}"}
            ],
            "name": name,
            "reference": reference,
            "currency": _currency_link(currency),
            **self._details(store, body, old),
        }
        return fields, f"{name} ({reference})"

    @staticmethod
    def _generate(store: Store, name: str, kind: str) -> str:
        stem = re.sub(r"[^A-Z0-9]", "", name.upper())[:7] or "CONTACT"
        taken = {
            str(c.get("reference")) for c in store.live_objects("contacts")
            if c["contact_types"][0]["id"] == kind
        }  # fmt: skip
        n = 1
        while f"{stem}{n:03d}" in taken:
            n += 1
        return f"{stem}{n:03d}"

    def _details(
        self, store: Store, body: Mapping[str, Any], old: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        address = (
            body.get("main_address") if "main_address" in body else (old or {}).get("main_address")
        )
        if isinstance(address, Mapping):
            _lengths(
                address,
                {
                    "address_line_1": 50,
                    "address_line_2": 50,
                    "city": 50,
                    "region": 50,
                    "postal_code": 10,
                },
                "main_address.",
            )
            address = dict(address)
            country = address.pop("country_id", None) or (address.get("country") or {}).get("id")
            address["country"] = {"id": country, "displayed_as": country} if country else None
        person = (
            body.get("main_contact_person")
            if "main_contact_person" in body
            else (old or {}).get("main_contact_person")
        )
        if isinstance(person, Mapping):
            _lengths(
                person,
                {"name": 50, "telephone": 50, "mobile": 50, "email": 100, "fax": 50},
                "main_contact_person.",
            )
        links = {}
        for field, read, path in (
            ("default_sales_ledger_account_id", "default_sales_ledger_account", "ledger_accounts"),
            (
                "default_purchase_ledger_account_id",
                "default_purchase_ledger_account",
                "ledger_accounts",
            ),
            ("default_sales_tax_rate_id", "default_sales_tax_rate", "tax_rates"),
        ):
            wanted = _merged(body, old, field, read)
            links[read] = store.link(store.refer(path, wanted, field)) if wanted else None
        credit_days = _merged(body, old, "credit_days", "credit_days")
        if credit_days is not None and not 0 <= int(credit_days) <= 365:
            raise Invalid("credit_days must be from 0 to 365.", source="credit_days")
        return {
            "source_guid": _merged(body, old, "source_guid", "source_guid"),
            "tax_number": _merged(body, old, "tax_number", "tax_number"),
            "notes": _merged(body, old, "notes", "notes"),
            "credit_limit": _amount(body, "credit_limit")
            if "credit_limit" in body
            else (old or {}).get("credit_limit"),
            "credit_days": credit_days,
            "credit_terms": _merged(body, old, "credit_terms", "credit_terms"),
            "main_address": address,
            "main_contact_person": person,
            "email": (person or {}).get("email") if isinstance(person, Mapping) else None,
            "is_active": True,
            "system": False,
            "deletable": True,
            **links,
        }

    def delete(self, store: Store, obj: dict[str, Any], void_reason: str | None) -> Any:
        if _used(store, obj["id"]):
            raise Invalid("The contact has transactions and cannot be deleted.", code="RecordInUse")
        store.remove(obj)
        return None


class _Items(Collection):
    lengths = _Fixed(
        {
            "item_code": 255,
            "description": 255,
            "notes": 500,
            "source_guid": 255,
            "purchase_description": 250,
        }
    )
    search_fields = ("item_code", "description")

    def build(
        self, store: Store, body: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        fields: dict[str, Any] = {}
        for field, read, path in (
            ("sales_ledger_account_id", "sales_ledger_account", "ledger_accounts"),
            ("purchase_ledger_account_id", "purchase_ledger_account", "ledger_accounts"),
            ("sales_tax_rate_id", "sales_tax_rate", "tax_rates"),
            ("purchase_tax_rate_id", "purchase_tax_rate", "tax_rates"),
            ("usual_supplier_id", "usual_supplier", "contacts"),
        ):
            wanted = _merged(body, old, field, read)
            fields[read] = store.link(store.refer(path, wanted, field)) if wanted else None
        for field in ("item_code", "description", "notes", "source_guid", "purchase_description"):
            fields[field] = _merged(body, old, field, field)
        fields["cost_price"] = (
            _amount(body, "cost_price") if "cost_price" in body else (old or {}).get("cost_price")
        )
        fields["active"] = bool(body.get("active", (old or {}).get("active", True)))
        fields["deletable"] = True
        return fields, str(fields["description"])


class Products(_Items):
    path, wrapper = "products", "product"
    required = ("description", "sales_ledger_account_id", "purchase_ledger_account_id")

    def build(
        self, store: Store, body: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        fields, shown = super().build(store, body, old)
        kind = _merged(body, old, "catalog_item_type_id", "catalog_item_type") or "NON_STOCK_ITEM"
        if kind not in ("STOCK_ITEM", "NON_STOCK_ITEM"):
            raise Invalid(
                f"Catalog item type {kind} is not a product.", source="catalog_item_type_id"
            )
        fields["catalog_item_type"] = {"id": kind, "displayed_as": _title(str(kind))}
        prices = (
            body.get("sales_prices")
            if "sales_prices" in body
            else (old or {}).get("sales_prices", [])
        )
        fields["sales_prices"] = [
            {
                "price_name": p.get("price_name"),
                "price": money(p["price"]),
                "price_includes_tax": bool(p.get("price_includes_tax")),
            }
            for p in prices or ()
        ]
        return fields, shown


class Services(_Items):
    path, wrapper = "services", "service"
    required = ("description", "sales_ledger_account_id")

    def build(
        self, store: Store, body: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        fields, shown = super().build(store, body, old)
        rates = (
            body.get("sales_rates") if "sales_rates" in body else (old or {}).get("sales_rates", [])
        )
        fields["sales_rates"] = [
            {
                "rate_name": r.get("rate_name"),
                "rate": money(r["rate"]),
                "rate_includes_tax": bool(r.get("rate_includes_tax")),
            }
            for r in rates or ()
        ]
        return fields, shown


# ---------------------------------------------------------------------------
# documents
# ---------------------------------------------------------------------------


def _tax(
    store: Store, line: Mapping[str, Any], where: str
) -> tuple[dict[str, Any] | None, Decimal]:
    rate_id = line.get("tax_rate_id")
    rate = store.refer("tax_rates", rate_id, where + "tax_rate_id") if rate_id else None
    tax = _amount(line, "tax_amount", where + "tax_amount")
    if rate is None or rate["id"] in data.ZERO_RATES:
        if tax not in (None, _ZERO):
            raise Invalid(
                "tax_amount must be 0 for a zero, exempt or no-VAT rate.",
                source=where + "tax_amount",
            )
        return store.link(rate), _ZERO
    if tax is None:
        raise Invalid(
            "tax_amount is required unless the rate is zero, exempt or no VAT.",
            source=where + "tax_amount",
        )
    return store.link(rate), tax


def _check_total(given: Decimal | None, wanted: Decimal, source: str) -> None:
    if given is not None and given != wanted:
        raise Invalid(
            f"{source.rsplit('.', 1)[-1]} is {given}, the lines make {wanted}.", source=source
        )


class Documents(Collection):
    """Sales and purchase invoices and credit notes: the four share their rules."""

    lines: ClassVar[str] = "invoice_lines"
    sales: ClassVar[bool] = True
    credit: ClassVar[bool] = False
    number_field: ClassVar[str | None] = "invoice_number"
    prefix: ClassVar[str] = "SI-"
    lengths = _Fixed(
        {
            "reference": 25,
            "vendor_reference": 31,
            "notes": 2000,
            "terms_and_conditions": 2000,
            "invoice_number_prefix": 6,
        }
    )
    equal_filters = _Fixed({"contact_id": ("contact", "id"), "status_id": ("status", "id")})
    search_fields = ("reference", "contact_name")

    @property
    def area(self) -> str:
        return "visible_in_sales" if self.sales else "visible_in_expenses"

    def check(self, body: Mapping[str, Any]) -> None:
        needed = ["contact_id", "date", self.lines]
        if not self.sales and not self.credit:
            needed.append("due_date")
        _need(body, needed)
        _lengths(body, self.lengths)

    def build(
        self, store: Store, body: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        if old is not None:
            if old["status"]["id"] == "VOID":
                raise Invalid("A void document cannot be changed.", code="RecordInvalid")
            self.check(body)
        contact = store.refer("contacts", body["contact_id"], "contact_id")
        wanted_type = "CUSTOMER" if self.sales else "VENDOR"
        if contact["contact_types"][0]["id"] != wanted_type:
            raise _missing(_title(wanted_type), "contact_id")
        currency = _currency(store, body, contact)
        rate = _rate(store, body, currency)
        lines = [self._line(store, line, n, rate) for n, line in enumerate(body[self.lines])]
        totals = self._totals(body, lines)
        draft = body.get("status_id") == "DRAFT"
        if draft and (self.credit or not self.sales):
            raise Invalid("Only sales invoices can be drafts.", source="status_id")
        allocated = (
            (old["total_amount"] - old["_outstanding"])
            if old and old.get("_outstanding") is not None
            else _ZERO
        )
        if totals["total_amount"] < allocated:
            raise Invalid("The total is less than what is allocated to it.", source="total_amount")
        number = self._number(store, body, old)
        outstanding = totals["total_amount"] - allocated
        fields = {
            "contact": store.link(contact),
            "contact_name": contact["name"],
            "contact_reference": contact["reference"],
            "date": _date(body, "date"),
            "due_date": _date(body, "due_date") or _date(body, "date"),
            "reference": body.get("reference"),
            "notes": body.get("notes"),
            "terms_and_conditions": body.get("terms_and_conditions"),
            "currency": _currency_link(currency),
            "exchange_rate": rate,
            "inverse_exchange_rate": _round(Decimal(1) / rate) if rate else None,
            **totals,
            "outstanding_amount": _ZERO if draft else outstanding,
            "base_currency_outstanding_amount": _ZERO
            if draft
            else _in_base(
                outstanding,
                rate,
                None
                if outstanding != totals["total_amount"]
                else totals["base_currency_total_amount"],
            ),
            "vat_reverse_charge": bool(body.get("vat_reverse_charge")),
            "void_reason": None,
            "deleted_at": None,
            "editable": True,
            "migrated": False,
            self.lines: lines,
            "_side": "credit" if self.credit else "charge",
            "_ledger": "sales" if self.sales else "purchase",
            "_contact": contact["id"],
            "_outstanding": None if draft else outstanding,
        }
        fields["status"] = _status("DRAFT" if draft else None, outstanding, totals["total_amount"])
        if self.number_field:
            fields[self.number_field] = number
        else:
            fields["vendor_reference"] = body.get("vendor_reference")
        return fields, str(number or body.get("vendor_reference") or body.get("reference") or "")

    def _number(
        self, store: Store, body: Mapping[str, Any], old: Mapping[str, Any] | None
    ) -> str | None:
        if not self.number_field:
            return None
        given = body.get(self.number_field) if store.honour_numbers else None
        if given is None:
            return old[self.number_field] if old else store.next_number(self.prefix)
        # Numbers are unique among the documents that count: a deleted draft or a void
        # document does not hold its number (an assumption; see the module docstring).
        for other in store.live_objects(self.path):
            taken = other.get(self.number_field) == given and other["status"]["id"] != "VOID"
            if taken and (old is None or other["id"] != old["id"]):
                raise Invalid(
                    f"{_title(self.number_field)} has already been taken.", source=self.number_field
                )
        return str(given)

    def _line(self, store: Store, line: Mapping[str, Any], n: int, rate: Decimal) -> dict[str, Any]:
        where = f"{self.lines}[{n}]."
        needed = ["description", "ledger_account_id", "unit_price"]
        if not self.sales:
            needed.append("quantity")
        _need(line, needed, where)
        account = store.refer(
            "ledger_accounts", line["ledger_account_id"], where + "ledger_account_id"
        )
        if not account.get(self.area):
            raise _missing("Ledger account", where + "ledger_account_id")
        quantity = _amount(line, "quantity", where + "quantity") or Decimal(1)
        unit_price = _amount(line, "unit_price", where + "unit_price") or _ZERO
        net = _amount(line, "net_amount", where + "net_amount")
        if net is None:
            net = _round(quantity * unit_price)
        elif _round(quantity * unit_price) != net:
            raise Invalid(
                "net_amount is not quantity times unit price.", source=where + "net_amount"
            )
        tax_rate, tax = _tax(store, line, where)
        _check_total(_amount(line, "total_amount"), net + tax, where + "total_amount")
        base_net = _in_base(net, rate, _amount(line, "base_currency_net_amount"))
        base_tax = _in_base(tax, rate, _amount(line, "base_currency_tax_amount"))
        item = {}
        for field, path in (("product_id", "products"), ("service_id", "services")):
            item[path[:-1]] = (
                store.link(store.refer(path, line[field], where + field))
                if line.get(field)
                else None
            )
        return {
            "id": uuid.uuid4().hex,
            "displayed_as": line["description"],
            "description": line["description"],
            "ledger_account": store.link(account),
            "quantity": quantity,
            "unit_price": unit_price,
            "unit_price_includes_tax": False,
            "net_amount": net,
            "tax_rate": tax_rate,
            "tax_amount": tax,
            "total_amount": net + tax,
            "base_currency_net_amount": base_net,
            "base_currency_tax_amount": base_tax,
            "base_currency_total_amount": base_net + base_tax,
            "analysis_type_categories": _categories(
                store, line.get("analysis_type_categories"), where + "analysis_type_categories"
            ),
            **item,
        }

    @staticmethod
    def _totals(body: Mapping[str, Any], lines: list[dict[str, Any]]) -> dict[str, Decimal]:
        totals = {
            key: sum((line[key] for line in lines), _ZERO)
            for key in (
                "net_amount", "tax_amount", "total_amount", "base_currency_net_amount",
                "base_currency_tax_amount", "base_currency_total_amount",
            )
        }  # fmt: skip
        for key, value in totals.items():
            _check_total(_amount(body, key), value, key)
        return totals

    def delete(self, store: Store, obj: dict[str, Any], void_reason: str | None) -> Any:
        allocated = obj["_outstanding"] is not None and obj["_outstanding"] != obj["total_amount"]
        if allocated:
            raise Invalid(
                "The document has payments or allocations; remove them first.", code="RecordInUse"
            )
        if not self.sales:
            store.remove(obj)
            return None
        if obj["status"]["id"] == "DRAFT":
            # Sage answers a sales DELETE with the document (200), a deleted draft included.
            store.remove(obj)
            return obj
        if obj["status"]["id"] == "VOID":
            return obj
        if not void_reason:
            raise Invalid(
                "void_reason is required unless the document is a draft.", source="void_reason"
            )
        if len(void_reason) > 200:
            raise Invalid(
                "void_reason is too long (maximum is 200 characters).", source="void_reason"
            )
        obj.update(
            void_reason=void_reason,
            status={"id": "VOID", "displayed_as": "Void", "$path": "/artefact_statuses/VOID"},
            outstanding_amount=_ZERO,
            base_currency_outstanding_amount=_ZERO,
            _outstanding=None,
        )
        store.touch(obj)
        return obj


def _status(fixed: str | None, outstanding: Decimal, total: Decimal) -> dict[str, str]:
    if fixed is None:
        fixed = "UNPAID" if outstanding == total else "PAID" if outstanding == 0 else "PART_PAID"
    return {"id": fixed, "displayed_as": _title(fixed), "$path": f"/artefact_statuses/{fixed}"}


class SalesInvoices(Documents):
    path, wrapper = "sales_invoices", "sales_invoice"


class PurchaseInvoices(Documents):
    path, wrapper = "purchase_invoices", "purchase_invoice"
    sales, number_field, prefix = False, None, "PI-"


class SalesCreditNotes(Documents):
    path, wrapper, lines = "sales_credit_notes", "sales_credit_note", "credit_note_lines"
    credit, number_field, prefix = True, "credit_note_number", "SCN-"


class PurchaseCreditNotes(Documents):
    path, wrapper, lines = "purchase_credit_notes", "purchase_credit_note", "credit_note_lines"
    sales, credit, number_field, prefix = False, True, None, "PCN-"

    def build(
        self, store: Store, body: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        fields, shown = super().build(store, body, old)
        # Sage's description types this one field as text on purchase credit notes only.
        fields["inverse_exchange_rate"] = str(fields["inverse_exchange_rate"])
        return fields, shown


# ---------------------------------------------------------------------------
# allocations: what is still outstanding on each artefact
# ---------------------------------------------------------------------------


def _settle(
    store: Store, entry: Mapping[str, Any], contact: str, side: str, n: int, field: str
) -> tuple[dict[str, Any], Decimal]:
    where = f"{field}[{n}]."
    artefact = store.artefact(str(entry.get("artefact_id")), where + "artefact_id")
    amount = _amount(entry, "amount", where + "amount")
    if amount is None or amount == 0:
        raise Invalid("amount is required.", source=where + "amount")
    if artefact.get("_contact") != contact or artefact.get("_outstanding") is None:
        raise _missing("Artefact", where + "artefact_id")
    if artefact["_side"] != side:
        raise Invalid("The artefact cannot be allocated this way.", source=where + "artefact_id")
    if abs(amount) > artefact["_outstanding"]:
        raise Invalid("The amount is more than is outstanding.", source=where + "amount")
    return artefact, abs(amount)


def _apply(store: Store, artefact: dict[str, Any], amount: Decimal) -> None:
    artefact["_outstanding"] -= amount
    _show_outstanding(artefact)
    store.touch(artefact)


def _restore(store: Store, artefact_id: str, amount: Decimal) -> None:
    artefact = store.table(store.home[artefact_id])[artefact_id]
    if artefact.get("_outstanding") is not None:
        artefact["_outstanding"] += amount
        _show_outstanding(artefact)
        store.touch(artefact)


def _show_outstanding(artefact: dict[str, Any]) -> None:
    if "outstanding_amount" in artefact:
        artefact["outstanding_amount"] = artefact["_outstanding"]
        rate = artefact.get("exchange_rate") or Decimal(1)
        artefact["base_currency_outstanding_amount"] = _round(artefact["_outstanding"] / rate)
    if "status" in artefact and artefact["status"]["id"] not in ("DRAFT", "VOID"):
        artefact["status"] = _status(None, artefact["_outstanding"], artefact["total_amount"])


_PAYMENT_TYPES = {
    "CUSTOMER_RECEIPT": ("CUSTOMER", "charge"),
    "VENDOR_PAYMENT": ("VENDOR", "charge"),
    "CUSTOMER_REFUND": ("CUSTOMER", "credit"),
    "VENDOR_REFUND": ("VENDOR", "credit"),
}


class ContactPayments(Collection):
    """Receipts, payments and refunds, with the artefacts they settle and money on account."""

    path, wrapper = "contact_payments", "contact_payment"
    required = ("transaction_type_id", "contact_id", "bank_account_id", "date", "total_amount")
    lengths = _Fixed({"reference": 25})
    equal_filters = _Fixed(
        {
            "contact_id": ("contact", "id"),
            "bank_account_id": ("bank_account", "id"),
            "transaction_type_id": ("transaction_type", "id"),
        }
    )

    def update(self, store: Store, obj: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        self.check(body)
        self._undo(store, obj)
        try:
            return super().update(store, obj, body)
        except Invalid:
            self._redo(store, obj)
            raise

    def build(
        self, store: Store, body: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        kind = str(body["transaction_type_id"])
        if kind not in _PAYMENT_TYPES:
            raise Invalid(
                f"Transaction type {kind} is not a contact payment.", source="transaction_type_id"
            )
        contact_type, side = _PAYMENT_TYPES[kind]
        contact = store.refer("contacts", body["contact_id"], "contact_id")
        if contact["contact_types"][0]["id"] != contact_type:
            raise _missing(_title(contact_type), "contact_id")
        bank = store.refer("bank_accounts", body["bank_account_id"], "bank_account_id")
        currency = _currency(store, body, contact)
        if bank["currency"]["id"] not in (currency, store.base):
            raise Invalid("The bank account is in another currency.", source="bank_account_id")
        rate = _rate(store, body, currency)
        total = _amount(body, "total_amount") or _ZERO
        if total <= 0:
            raise Invalid("total_amount must be more than 0.", source="total_amount")
        settled = [
            _settle(store, entry, contact["id"], side, n, "allocated_artefacts")
            for n, entry in enumerate(body.get("allocated_artefacts") or ())
        ]
        on_account = body.get("payment_on_account")
        left = (
            _amount(on_account, "total_amount", "payment_on_account.total_amount")
            if on_account
            else _ZERO
        )
        allocated = sum((a for _, a in settled), _ZERO) + (left or _ZERO)
        # A receipt or payment is fully accounted for; a refund may wait for its credits.
        if allocated != total and (side == "charge" or allocated > total):
            raise Invalid(
                "The allocations and payment on account do not add up to total_amount.",
                source="total_amount",
            )
        for artefact, amount in settled:
            _apply(store, artefact, amount)
        base_total = _in_base(total, rate, _amount(body, "base_currency_total_amount"))
        fields = {
            "transaction_type": {
                "id": kind,
                "displayed_as": _title(kind),
                "$path": f"/transaction_types/{kind}",
            },
            "contact": store.link(contact),
            "bank_account": store.link(bank),
            "date": _date(body, "date"),
            "total_amount": total,
            "net_amount": total,
            "tax_amount": _ZERO,
            "currency": _currency_link(currency),
            "exchange_rate": rate,
            "base_currency_total_amount": base_total,
            "base_currency_net_amount": base_total,
            "base_currency_tax_amount": _ZERO,
            "reference": body.get("reference"),
            "allocated_artefacts": [
                {
                    "id": uuid.uuid4().hex,
                    "artefact": store.link(a),
                    "amount": amount,
                    "discount": _ZERO,
                }
                for a, amount in settled
            ],
            "payment_on_account": self._on_account(store, contact, body, left, currency, rate)
            if left
            else None,
            "editable": True,
            "deleted_at": None,
            "_contact": contact["id"],
        }
        if side == "credit":  # a refund is itself something credits can be allocated to
            fields.update(_side="charge", _outstanding=total - sum((a for _, a in settled), _ZERO))
        return fields, str(body.get("reference") or kind)

    @staticmethod
    def _on_account(
        store: Store,
        contact: Mapping[str, Any],
        body: Mapping[str, Any],
        left: Decimal,
        currency: str,
        rate: Decimal,
    ) -> dict[str, Any]:
        poa = store.add(
            "payments_on_account",
            {
                "contact": store.link(contact),
                "contact_name": contact["name"],
                "contact_reference": contact["reference"],
                "date": _date(body, "date"),
                "reference": body.get("reference"),
                "total_amount": left,
                "net_amount": left,
                "tax_amount": _ZERO,
                "outstanding_amount": left,
                "currency": _currency_link(currency),
                "exchange_rate": rate,
                "base_currency_total_amount": _round(left / rate),
                "base_currency_outstanding_amount": _round(left / rate),
                "status": _status(None, left, left),
                "_side": "credit",
                "_contact": contact["id"],
                "_outstanding": left,
            },
            f"Payment on account {body.get('reference') or ''}".strip(),
        )
        return store.shown(poa)

    def _undo(self, store: Store, obj: dict[str, Any]) -> None:
        if obj.get("_outstanding") is not None and obj["_outstanding"] != obj["total_amount"] - sum(
            (a["amount"] for a in obj["allocated_artefacts"]), _ZERO
        ):
            raise Invalid(
                "Credits are allocated to this refund; remove them first.", code="RecordInUse"
            )
        poa = obj.get("payment_on_account")
        if poa:
            stored = store.table("payments_on_account")[poa["id"]]
            if stored["_outstanding"] != stored["total_amount"]:
                raise Invalid(
                    "The payment on account is allocated; remove that first.", code="RecordInUse"
                )
            store.remove(stored)
        for allocation in obj["allocated_artefacts"]:
            _restore(store, allocation["artefact"]["id"], allocation["amount"])

    @staticmethod
    def _redo(store: Store, obj: dict[str, Any]) -> None:
        """Put back what :meth:`_undo` took away (an update Sage refused changes nothing)."""
        poa = obj.get("payment_on_account")
        if poa:
            stored = store.table("payments_on_account")[poa["id"]]
            stored["deleted_at"] = None
        for allocation in obj["allocated_artefacts"]:
            artefact = store.table(store.home[allocation["artefact"]["id"]])[
                allocation["artefact"]["id"]
            ]
            _apply(store, artefact, allocation["amount"])

    def delete(self, store: Store, obj: dict[str, Any], void_reason: str | None) -> Any:
        self._undo(store, obj)
        store.remove(obj)
        return None


class ContactAllocations(Collection):
    """Credits set against charges of one contact; the amounts net to zero."""

    path, wrapper = "contact_allocations", "contact_allocation"
    routes = frozenset({_LIST, _ONE, _POST, _DELETE})
    required = ("transaction_type_id", "contact_id", "allocated_artefacts")
    equal_filters = _Fixed(
        {
            "contact_id": ("contact", "id"),
            "transaction_type_id": ("transaction_type", "id"),
        }
    )

    def build(
        self, store: Store, body: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        kind = str(body["transaction_type_id"])
        if kind not in ("CUSTOMER_ALLOCATION", "VENDOR_ALLOCATION"):
            raise Invalid(
                f"Transaction type {kind} is not an allocation.", source="transaction_type_id"
            )
        contact = store.refer("contacts", body["contact_id"], "contact_id")
        entries = body["allocated_artefacts"]
        if len(entries) < 2 or sum((_amount(e, "amount") or _ZERO for e in entries), _ZERO) != 0:
            raise Invalid(
                "An allocation needs at least two artefacts netting to zero.",
                source="allocated_artefacts",
            )
        settled = [
            _settle(
                store,
                e,
                contact["id"],
                "charge" if (_amount(e, "amount") or _ZERO) > 0 else "credit",
                n,
                "allocated_artefacts",
            )
            for n, e in enumerate(entries)
        ]
        for artefact, amount in settled:
            _apply(store, artefact, amount)
        fields = {
            "transaction_type": {
                "id": kind,
                "displayed_as": _title(kind),
                "$path": f"/transaction_types/{kind}",
            },
            "contact": store.link(contact),
            "date": _date(body, "date") or store.now()[:10],
            "allocated_artefacts": [
                {"id": uuid.uuid4().hex, "artefact": store.link(a), "amount": _amount(e, "amount")}
                for (a, _), e in zip(settled, entries, strict=True)
            ],
            "deleted_at": None,
        }
        return fields, f"Allocation {contact['reference']}"

    def delete(self, store: Store, obj: dict[str, Any], void_reason: str | None) -> Any:
        for entry in obj["allocated_artefacts"]:
            _restore(store, entry["artefact"]["id"], abs(entry["amount"]))
        store.remove(obj)
        return None


class ContactOpeningBalances(Collection):
    path, wrapper = "contact_opening_balances", "contact_opening_balance"
    required = (
        "contact_opening_balance_type_id",
        "date",
        "contact_id",
        "reference",
        "total_amount",
    )
    lengths = _Fixed({"reference": 25, "details": 255})
    equal_filters = _Fixed({"contact_id": ("contact", "id")})

    def matches(self, store: Store, obj: Mapping[str, Any], request: Request) -> bool:
        wanted = request.param("contact_type_id")
        if wanted and not obj["transaction_type"]["id"].startswith(wanted):
            return False
        return super().matches(store, obj, request)

    def update(self, store: Store, obj: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        # As with invoices: it may change while what is allocated to it still fits.
        self.check(body)
        allocated = obj["total_amount"] - obj["_outstanding"]
        if (_amount(body, "total_amount") or _ZERO) < allocated:
            raise Invalid("The total is less than what is allocated to it.", source="total_amount")
        super().update(store, obj, body)
        obj["_outstanding"] = obj["total_amount"] - allocated
        return obj

    def build(
        self, store: Store, body: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        kind = str(body["contact_opening_balance_type_id"])
        if kind not in ("INVOICE", "CREDIT_NOTE"):
            raise Invalid(
                f"Opening balance type {kind} is unknown.", source="contact_opening_balance_type_id"
            )
        contact = store.refer("contacts", body["contact_id"], "contact_id")
        contact_type = contact["contact_types"][0]["id"]
        currency = _currency(store, body, contact)
        rate = _rate(store, body, currency)
        total = _amount(body, "total_amount") or _ZERO
        if total <= 0:
            raise Invalid("total_amount must be more than 0.", source="total_amount")
        base_total = _in_base(total, rate, _amount(body, "base_currency_total_amount"))
        transaction = f"{contact_type}_OPENING_BALANCE_{kind}"
        fields = {
            "contact_opening_balance_type": {
                "id": kind,
                "displayed_as": _title(kind),
                "$path": f"/contact_opening_balance_types/{kind}",
            },
            "transaction_type": {
                "id": transaction,
                "displayed_as": _title(transaction),
                "$path": f"/transaction_types/{transaction}",
            },
            "contact": store.link(contact),
            "date": _date(body, "date"),
            "reference": body["reference"],
            "details": body.get("details"),
            "total_amount": total,
            "net_amount": total,
            "tax_amount": _ZERO,
            "currency": _currency_link(currency),
            "exchange_rate": rate,
            "base_currency_total_amount": base_total,
            "base_currency_net_amount": base_total,
            "base_currency_tax_amount": _ZERO,
            "deleted_at": None,
            "_side": "charge" if kind == "INVOICE" else "credit",
            "_contact": contact["id"],
            "_outstanding": total,
        }
        return fields, str(body["reference"])

    def delete(self, store: Store, obj: dict[str, Any], void_reason: str | None) -> Any:
        if obj["_outstanding"] != obj["total_amount"]:
            raise Invalid(
                "The opening balance is allocated; remove that first.", code="RecordInUse"
            )
        store.remove(obj)
        return None


class _HardDeleted(Collection):
    """Endpoints without ``deleted_since``: a deleted object is simply gone."""

    def delete(self, store: Store, obj: dict[str, Any], void_reason: str | None) -> Any:
        del store.table(self.path)[obj["id"]]
        return None


def _debit_credit(body: Mapping[str, Any], where: str = "") -> tuple[Decimal, Decimal]:
    debit = _amount(body, "debit", where + "debit")
    credit = _amount(body, "credit", where + "credit")
    if debit is None or credit is None or debit < 0 or credit < 0 or (debit and credit):
        raise Invalid("Give a debit or a credit (0 for the other).", source=where + "debit")
    return debit, credit


class LedgerAccountOpeningBalances(_HardDeleted):
    path, wrapper = "ledger_account_opening_balances", "ledger_account_opening_balance"
    required = ("ledger_account_id", "debit", "credit")
    lengths = _Fixed({"details": 255})

    def build(
        self, store: Store, body: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        ledger_id = _merged(body, old, "ledger_account_id", "ledger_account")
        ledger = store.refer("ledger_accounts", ledger_id, "ledger_account_id")
        if ledger.get("control_name") in ("DEBTORS_CONTROL", "CREDITORS_CONTROL"):
            raise Invalid(
                "Enter customer and supplier opening balances instead.", source="ledger_account_id"
            )
        if ledger["ledger_account_type"]["id"] == "BANK":
            raise Invalid("Enter a bank opening balance instead.", source="ledger_account_id")
        for other in store.table(self.path).values():
            if other["ledger_account"]["id"] == ledger["id"] and (
                old is None or other["id"] != old["id"]
            ):
                raise Invalid(
                    "The ledger account already has an opening balance.", source="ledger_account_id"
                )
        debit, credit = _debit_credit({**(old or {}), **body})
        fields = {
            "ledger_account": store.link(ledger),
            "debit": debit,
            "credit": credit,
            "details": body.get("details"),
        }
        return fields, ledger["displayed_as"]


class BankOpeningBalances(_HardDeleted):
    path, wrapper = "bank_opening_balances", "bank_opening_balance"
    required = ("bank_account_id", "date", "debit", "credit")
    equal_filters = _Fixed({"bank_account_id": ("bank_account", "id")})

    def build(
        self, store: Store, body: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        bank_id = _merged(body, old, "bank_account_id", "bank_account")
        bank = store.refer("bank_accounts", bank_id, "bank_account_id")
        for other in store.table(self.path).values():
            if other["bank_account"]["id"] == bank["id"] and (
                old is None or other["id"] != old["id"]
            ):
                raise Invalid(
                    "The bank account already has an opening balance.", source="bank_account_id"
                )
        debit, credit = _debit_credit({**(old or {}), **body})
        fields = {
            "bank_account": store.link(bank),
            "date": _date(body, "date") or (old or {}).get("date"),
            "debit": debit,
            "credit": credit,
            "transaction_type": {
                "id": "BANK_OPENING_BALANCE",
                "displayed_as": "Bank Opening Balance",
            },
        }
        return fields, bank["displayed_as"]


class OtherPayments(Collection):
    path, wrapper = "other_payments", "other_payment"
    required = ("transaction_type_id", "date", "total_amount", "payment_lines", "bank_account_id")
    lengths = _Fixed({"reference": 25})
    equal_filters = _Fixed(
        {
            "bank_account_id": ("bank_account", "id"),
            "contact_id": ("contact", "id"),
            "transaction_type_id": ("transaction_type", "id"),
        }
    )

    def build(
        self, store: Store, body: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        if old is not None:
            self.check(body)
        kind = str(body["transaction_type_id"])
        if kind not in ("OTHER_PAYMENT", "OTHER_RECEIPT"):
            raise Invalid(
                f"Transaction type {kind} is not an other payment.", source="transaction_type_id"
            )
        bank = store.refer("bank_accounts", body["bank_account_id"], "bank_account_id")
        if bank["currency"]["id"] != store.base:
            raise Invalid(
                "Other payments need a base-currency bank account.", source="bank_account_id"
            )
        contact = (
            store.refer("contacts", body["contact_id"], "contact_id")
            if body.get("contact_id")
            else None
        )
        area = (
            "visible_in_other_payments" if kind == "OTHER_PAYMENT" else "visible_in_other_receipts"
        )
        lines = [self._line(store, line, n, area) for n, line in enumerate(body["payment_lines"])]
        total = sum((line["total_amount"] for line in lines), _ZERO)
        _check_total(_amount(body, "total_amount"), total, "total_amount")
        fields = {
            "transaction_type": {
                "id": kind,
                "displayed_as": _title(kind),
                "$path": f"/transaction_types/{kind}",
            },
            "date": _date(body, "date"),
            "total_amount": total,
            "net_amount": sum((line["net_amount"] for line in lines), _ZERO),
            "tax_amount": sum((line["tax_amount"] for line in lines), _ZERO),
            "contact": store.link(contact),
            "bank_account": store.link(bank),
            "reference": body.get("reference"),
            "payment_lines": lines,
            "editable": True,
            "deletable": True,
            "deleted_at": None,
        }
        return fields, str(body.get("reference") or kind)

    @staticmethod
    def _line(store: Store, line: Mapping[str, Any], n: int, area: str) -> dict[str, Any]:
        where = f"payment_lines[{n}]."
        _need(line, ("ledger_account_id", "total_amount"), where)
        account = store.refer(
            "ledger_accounts", line["ledger_account_id"], where + "ledger_account_id"
        )
        if not account.get(area):
            raise _missing("Ledger account", where + "ledger_account_id")
        tax_rate, tax = _tax(store, line, where)
        total = _amount(line, "total_amount", where + "total_amount") or _ZERO
        net = _amount(line, "net_amount", where + "net_amount")
        net = total - tax if net is None else net
        _check_total(total, net + tax, where + "total_amount")
        return {
            "id": uuid.uuid4().hex,
            "ledger_account": store.link(account),
            "details": line.get("details"),
            "tax_rate": tax_rate,
            "net_amount": net,
            "tax_amount": tax,
            "total_amount": total,
            "analysis_type_categories": _categories(
                store, line.get("analysis_type_categories"), where + "analysis_type_categories"
            ),
        }


class BankTransfers(Collection):
    path, wrapper = "bank_transfers", "bank_transfer"
    required = ("from_bank_account_id", "to_bank_account_id", "date", "amount")
    lengths = _Fixed({"reference": 255, "description": 255})

    def build(
        self, store: Store, body: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        if old is not None:
            self.check(body)
        source = store.refer("bank_accounts", body["from_bank_account_id"], "from_bank_account_id")
        target = store.refer("bank_accounts", body["to_bank_account_id"], "to_bank_account_id")
        if source["id"] == target["id"]:
            raise Invalid(
                "A transfer needs two different bank accounts.", source="to_bank_account_id"
            )
        amount = _amount(body, "amount") or _ZERO
        if amount <= 0:
            raise Invalid("amount must be more than 0.", source="amount")
        fields = {
            "from_bank_account": store.link(source),
            "to_bank_account": store.link(target),
            "date": _date(body, "date"),
            "amount": amount,
            "reference": body.get("reference"),
            "description": body.get("description"),
            "transaction_type": {"id": "BANK_TRANSFER", "displayed_as": "Bank Transfer"},
            "deleted_at": None,
        }
        return fields, str(body.get("reference") or "Transfer")


class BankDeposits(Collection):
    path, wrapper = "bank_deposits", "bank_deposit"
    routes = frozenset({_LIST, _ONE, _POST, _DELETE})
    required = ("from_bank_account_id", "to_bank_account_id", "date", "reference", "cash_amount")
    lengths = _Fixed({"reference": 255})

    def build(
        self, store: Store, body: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        source = store.refer("bank_accounts", body["from_bank_account_id"], "from_bank_account_id")
        target = store.refer("bank_accounts", body["to_bank_account_id"], "to_bank_account_id")
        if source["bank_account_type"]["id"] != "CASH_IN_HAND":
            raise Invalid(
                "Deposits are paid in from a cash in hand account.", source="from_bank_account_id"
            )
        cash = _amount(body, "cash_amount") or _ZERO
        cheques = _amount(body, "cheque_amount") or _ZERO
        _check_total(_amount(body, "total_amount"), cash + cheques, "total_amount")
        fields = {
            "from_bank_account": store.link(source),
            "to_bank_account": store.link(target),
            "date": _date(body, "date"),
            "reference": body["reference"],
            "cash_amount": cash,
            "cheque_amount": cheques,
            "total_amount": cash + cheques,
            "transaction_type": {"id": "BANK_DEPOSIT", "displayed_as": "Bank Deposit"},
            "deleted_at": None,
        }
        return fields, str(body["reference"])


class Journals(Collection):
    path, wrapper = "journals", "journal"
    routes = frozenset({_LIST, _ONE, _POST, _DELETE})  # a posted journal cannot be changed
    required = ("date", "reference", "journal_lines")
    lengths = _Fixed({"reference": 255, "description": 200})

    def build(
        self, store: Store, body: dict[str, Any], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        lines = [self._line(store, line, n) for n, line in enumerate(body["journal_lines"])]
        if len(lines) < 2:
            raise Invalid("A journal needs at least two lines.", source="journal_lines")
        debits = sum((line["debit"] for line in lines), _ZERO)
        credits = sum((line["credit"] for line in lines), _ZERO)
        if debits != credits:
            raise Invalid(
                f"The journal does not balance: debits {debits}, credits {credits}.",
                source="journal_lines",
            )
        _check_total(_amount(body, "total"), debits, "total")
        fields = {
            "date": _date(body, "date"),
            "reference": body["reference"],
            "description": body.get("description"),
            "total": debits,
            "journal_lines": lines,
            "transaction_type": {"id": "JOURNAL", "displayed_as": "Journal"},
            "migrated": False,
            "deleted_at": None,
        }
        return fields, str(body["reference"])

    @staticmethod
    def _line(store: Store, line: Mapping[str, Any], n: int) -> dict[str, Any]:
        where = f"journal_lines[{n}]."
        _need(line, ("ledger_account_id",), where)
        account = store.refer(
            "ledger_accounts", line["ledger_account_id"], where + "ledger_account_id"
        )
        if not account.get("visible_in_journals"):
            raise Invalid(
                "This ledger account cannot be used in journals.",
                source=where + "ledger_account_id",
            )
        debit, credit = _debit_credit(line, where)
        if not debit and not credit:
            raise Invalid("A journal line needs a debit or a credit.", source=where + "debit")
        return {
            "id": uuid.uuid4().hex,
            "ledger_account": store.link(account),
            "details": line.get("details"),
            "debit": debit,
            "credit": credit,
            "include_on_tax_return": bool(line.get("include_on_tax_return")),
            "analysis_type_categories": _categories(
                store, line.get("analysis_type_categories"), where + "analysis_type_categories"
            ),
        }


COLLECTIONS: dict[str, Collection] = {
    c.path: c
    for c in (
        LedgerAccounts(), TaxRates(), AnalysisTypes(), AnalysisTypeCategories(), BankAccounts(),
        Contacts(), Products(), Services(), SalesInvoices(), PurchaseInvoices(),
        SalesCreditNotes(), PurchaseCreditNotes(), ContactPayments(), ContactAllocations(),
        ContactOpeningBalances(), LedgerAccountOpeningBalances(), BankOpeningBalances(),
        OtherPayments(), BankTransfers(), BankDeposits(), Journals(),
    )
}  # fmt: skip
"""Every endpoint the sandbox serves under ``/v3.1`` (``/financial_settings`` is its own)."""
