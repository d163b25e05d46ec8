"""Handlers for master data: the company, VAT codes, G/L accounts, analysis dimensions, banks,
relations and items.

Codes are Exact's natural keys and how a lost create is found again: a VAT code, G/L account
or item code, a relation's numeric code (or its search code), the bank journal on a G/L account.
A code the division already has (from its template, or entered by hand) is matched, not
created again, when it is the same kind of thing; a rollback never removes what was matched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, ClassVar

from migrationkit.core.contract import (
    LoadRequest,
    LoadResult,
    Problem,
    References,
    RemovalRequest,
    RemovalResult,
)
from migrationkit.core.model import (
    Address,
    BankAccount,
    Company,
    Contact,
    ControlRole,
    Item,
    LedgerAccount,
    Record,
    TaxRate,
    TrackingCategory,
    TrackingOption,
)
from migrationkit.handlers import matched, reach_back

from . import mapping, wire
from .base import ExactHandler, refused, taken, text
from .division import GL_FIELDS, JOURNAL_FIELDS, VAT_FIELDS

__all__ = ["MASTER_HANDLERS"]

ACCOUNT_FIELDS = (
    "ID",
    "Code",
    "Name",
    "SearchCode",
    "Status",
    "IsSupplier",
    "IsSales",
    "Blocked",
    "Email",
    "Phone",
    "VATNumber",
    "AddressLine1",
    "AddressLine2",
    "AddressLine3",
    "City",
    "Postcode",
    "Country",
    "SalesCurrency",
    "PurchaseCurrency",
    "CreditLineSales",
    "CreditLinePurchase",
    "PaymentConditionSales",
    "PaymentConditionPurchase",
    "SalesVATCode",
    "PurchaseVATCode",
    "GLAccountSales",
    "GLAccountPurchase",
)
ITEM_FIELDS = (
    "ID",
    "Code",
    "Description",
    "ExtraDescription",
    "IsStockItem",
    "StandardSalesPrice",
    "CostPriceStandard",
    "GLRevenue",
    "GLCosts",
    "SalesVatCode",
    "EndDate",
)
_VAT_ROLES = {"GLToPay": ControlRole.SALES_TAX, "GLToClaim": ControlRole.PURCHASE_TAX}
_DELETED_ACCOUNTS, _DELETED_GL, _DELETED_ITEMS = 2, 7, 9


def _modified(since: dt.datetime | None) -> str | None:
    """``Modified ge`` the kit's clock margin before ``since`` (Exact's clock is not ours)."""
    return f"Modified ge {wire.datetime_literal(reach_back(since))}" if since else None


_UNLISTED = (
    "Exact's deleted log (sync/Deleted) does not name {what}, and {path} has no sync endpoint"
)
"""Why a delta finds deleted VAT codes and bank journals by comparing every record."""


class CompanyHandler(ExactHandler):
    """The company is the division: its currency is checked, the record matched onto it."""

    entity = "company"

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, Company)
        if record.base_currency != self.division.currency:
            return [
                Problem(
                    code="BASE_CURRENCY_DIFFERS",
                    message=f"the company keeps its books in {record.base_currency}, Exact "
                    f"division {self.division.number} in {self.division.currency}; choose a "
                    "division with the same currency",
                )
            ]
        return []

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        return matched(str(self.division.number), f"division {self.division.number}")

    update = create

    def find(self, request: LoadRequest, refs: References) -> str | None:
        return str(self.division.number)

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        row = self.division.record
        start = wire.opt_date(row.get("StartDate"))
        yield Company(
            key=str(self.division.number),
            name=str(row.get("Description") or f"Division {self.division.number}"),
            tax_number=row.get("VATNumber"),
            address=Address(country=row.get("Country")),
            base_currency=self.division.currency,
            year_start_month=start.month if start else 1,
            year_start_day=start.day if start else 1,
        )


class TaxRateHandler(ExactHandler):
    """VAT codes by code (the target id); a code Exact has is matched at the same percentage."""

    entity = "tax_rates"
    path = "vat/VATCodes"

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, TaxRate)
        found = self.division.vat_codes.get(record.code)
        if found is not None and refs.target_id(self.entity, record.key) != record.code:
            percentage = wire.money(found.get("Percentage")) * 100
            if percentage != record.rate:
                return [
                    Problem(
                        code="VAT_CODE_TAKEN",
                        message=f"Exact's VAT code {record.code} is {percentage.normalize()}%, "
                        f"the source's {record.rate}%; map it with mappings.tax_rates or "
                        "recode it at the source",
                    )
                ]
        return []

    def _written(self, record: TaxRate) -> mapping.Written:
        to_pay, to_claim = self.division.vat_accounts()
        return mapping.vat_code_payload(record, to_pay, to_claim)

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, TaxRate)
        if record.code in self.division.vat_codes:
            return matched(record.code, f"VAT code {record.code}")
        reply, result = self.post(self.path, self._written(record))
        if result.ok:
            self.division.remember("vat", reply.entity)
            result = LoadResult(ok=True, target_id=record.code, warnings=result.warnings)
        elif taken(reply):
            # Created meanwhile (another migration into the division): read them all again.
            self.division.invalidate("vat")
            if record.code in self.division.vat_codes:
                return matched(record.code, f"VAT code {record.code}")
        return result

    def update(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, TaxRate)
        assert request.target_id, "an update names its target"
        found = self.division.vat_codes.get(request.target_id)
        if found is None:
            return LoadResult.failed("NOT_FOUND", f"VAT code {request.target_id} is not in Exact")
        written = self._written(record)
        written.body.pop("Code")
        result = self.put(self.path, found["ID"], written, request.target_id)
        if result.ok:
            self.division.invalidate("vat")
        return result

    def find(self, request: LoadRequest, refs: References) -> str | None:
        record = request.record
        assert isinstance(record, TaxRate)
        self.division.invalidate("vat")
        return record.code if record.code in self.division.vat_codes else None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        found = self.division.vat_codes.get(request.target_id)
        if found is None:
            return RemovalResult(removed=True, action=None)
        result = self.delete(self.path, found["ID"])
        if result.removed:
            self.division.drop("vat", request.target_id)
        return result

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        for row in self.client.rows(self.path, VAT_FIELDS, filter=_modified(since)):
            yield mapping.read_tax_rate(row)

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return iter(())

    def deletions_unlisted(self, since: dt.datetime | None) -> str | None:
        return _UNLISTED.format(what="VAT codes", path=self.path)


class LedgerAccountHandler(ExactHandler):
    """G/L accounts by code; the sales and purchase VAT accounts are linked to the VAT codes."""

    entity = "ledger_accounts"
    path = "financial/GLAccounts"

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, LedgerAccount)
        found = self.division.gl_accounts.get(record.code)
        if found is not None:
            warnings = []
            if int(found.get("Type") or 0) != mapping.gl_type(record):
                warnings.append(f"Exact's type {found.get('Type')} is kept")
            self._link_vat(record, str(found["ID"]))
            self._link_control(record, str(found["ID"]))
            return matched(str(found["ID"]), f"G/L account {record.code}", warnings)
        tax = self.resolve(refs, "tax_rates", record.tax_rate) if record.tax_rate else None
        reply, result = self.post(self.path, mapping.gl_account_payload(record, tax))
        if result.ok:
            self.division.remember("gl", reply.entity)
            self._link_vat(record, str(reply.entity["ID"]))
            self._link_control(record, str(reply.entity["ID"]))
        elif taken(reply):
            # Created meanwhile (another migration into the division): read them all again.
            self.division.invalidate("gl")
            if record.code in self.division.gl_accounts:
                return self.create(request, refs)
        return result

    def _link_control(self, record: LedgerAccount, gl_id: str) -> None:
        """Relations post to the source's debtors and creditors control accounts."""
        if record.control_role in (ControlRole.RECEIVABLES, ControlRole.PAYABLES):
            self.division.controls[record.control_role is ControlRole.RECEIVABLES] = gl_id

    def _link_vat(self, record: LedgerAccount, gl_id: str) -> None:
        """The source's sales or purchase VAT account takes over the VAT codes that have none,
        or have the stand-in (Exact posts a code's VAT to its account)."""
        field = {ControlRole.SALES_TAX: "GLToPay", ControlRole.PURCHASE_TAX: "GLToClaim"}.get(
            record.control_role  # type: ignore[arg-type]
        )
        if field is None:
            return
        stand_in = self.division.gl_accounts.get(self.ctx.options.vat_account.strip(), {})
        for code, vat in list(self.division.vat_codes.items()):
            if vat.get("Type") == "N" or vat.get(field) not in (None, "", stand_in.get("ID")):
                continue
            reply = self.client.send("PUT", f"vat/VATCodes(guid'{vat['ID']}')", body={field: gl_id})
            if reply.ok:
                self.division.remember("vat", {**vat, field: gl_id, "Code": code})

    def update(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, LedgerAccount)
        assert request.target_id, "an update names its target"
        tax = self.resolve(refs, "tax_rates", record.tax_rate) if record.tax_rate else None
        written = mapping.gl_account_payload(record, tax)
        result = self.put(self.path, request.target_id, written, request.target_id)
        if result.ok:
            self.division.invalidate("gl")
        return result

    def find(self, request: LoadRequest, refs: References) -> str | None:
        record = request.record
        assert isinstance(record, LedgerAccount)
        self.division.invalidate("gl")
        found = self.division.gl_accounts.get(record.code)
        return str(found["ID"]) if found else None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        self._unlink_vat(request.target_id)
        result = self.delete_or_block(request, self.path, request.target_id, {"IsBlocked": True})
        self.division.invalidate("gl")
        self.division.controls = {
            side: gl for side, gl in self.division.controls.items() if gl != request.target_id
        }
        return result

    def _unlink_vat(self, gl_id: str) -> None:
        """VAT codes this account took over go back to the stand-in, so that it can go."""
        for code, vat in list(self.division.vat_codes.items()):
            for field in ("GLToPay", "GLToClaim"):
                if vat.get(field) == gl_id:
                    stand_in = self.division.vat_stand_in()
                    path = f"vat/VATCodes(guid'{vat['ID']}')"
                    if self.client.send("PUT", path, body={field: stand_in}).ok:
                        vat = {**vat, field: stand_in}
                        self.division.remember("vat", {**vat, "Code": code})

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        roles = {
            str(vat[field]): role
            for field, role in reversed(list(_VAT_ROLES.items()))
            for vat in self.division.vat_codes.values()
            if vat.get(field)
        }
        yield from self.changed(
            "sync/Financial/GLAccounts",
            GL_FIELDS,
            since,
            lambda row: mapping.read_gl_account(row, roles),
        )

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return self.deleted_keys(_DELETED_GL, since)


class TrackingHandler(ExactHandler):
    """Exact's two analysis dimensions: cost centers for the first category, cost units for the
    second; each option is a cost center (or unit) with its key as code."""

    entity = "tracking_categories"
    paths: ClassVar[dict[str, str]] = {
        mapping.COST_CENTERS: "hrm/Costcenters",
        mapping.COST_UNITS: "hrm/Costunits",
    }

    def _dimension(self, record: TrackingCategory, refs: References) -> str | None:
        earlier = refs.target_id(self.entity, record.key)
        if earlier in self.paths:
            return earlier
        with self.division.lock:
            taken = self.division.dimensions
            for dimension in self.paths:
                if taken.setdefault(dimension, record.key) == record.key:
                    return dimension
        return None

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, TrackingCategory)
        if self._dimension(record, refs) is None:
            return [
                Problem(
                    code="NO_DIMENSION_LEFT",
                    message="Exact has two analysis dimensions (cost centers and cost units), "
                    "and two other categories have them",
                )
            ]
        return []

    def _write(self, record: TrackingCategory, dimension: str) -> LoadResult:
        path = self.paths[dimension]
        existing = self.division.dimension(dimension)
        for option in record.options:
            body: dict[str, Any] = {"Code": option.key, "Description": option.name}
            if dimension == mapping.COST_CENTERS:
                body["Active"] = not option.inactive
            found = existing.get(option.key)
            if found is not None:
                if found.get("Description") != option.name:
                    reply = self.client.send("PUT", f"{path}(guid'{found['ID']}')", body=body)
                    if not reply.ok:
                        return refused(reply, f"option {option.key}")
                continue
            self.division.create_coded(dimension, path, body)
        self.division.invalidate(dimension)
        name = "cost centers" if dimension == mapping.COST_CENTERS else "cost units"
        warning = f"the category becomes Exact's {name}"
        return LoadResult(ok=True, target_id=dimension, warnings=(warning,))

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, TrackingCategory)
        dimension = self._dimension(record, refs)
        if dimension is None:
            return LoadResult.failed("NO_DIMENSION_LEFT", "Exact has two analysis dimensions")
        return self._write(record, dimension)

    update = create

    def find(self, request: LoadRequest, refs: References) -> str | None:
        record = request.record
        assert isinstance(record, TrackingCategory)
        dimension = self._dimension(record, refs)
        if dimension is None:
            return None
        self.division.invalidate(dimension)
        if not any(o.key in self.division.dimension(dimension) for o in record.options):
            return None
        return dimension if self._write(record, dimension).ok else None

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        for dimension, path in self.paths.items():
            rows = list(
                self.client.rows(
                    path,
                    ("ID", "Code", "Description")
                    + (("Active",) if dimension == "costcenters" else ()),
                )
            )
            if rows:
                yield TrackingCategory(
                    key=dimension,
                    name="Cost centers" if dimension == mapping.COST_CENTERS else "Cost units",
                    options=tuple(
                        TrackingOption(
                            key=text(row["Code"]),
                            name=str(row.get("Description") or ""),
                            inactive=row.get("Active") is False,
                        )
                        for row in rows
                    ),
                )


class BankAccountHandler(ExactHandler):
    """A bank account is a bank journal (a cash account a cash journal) on its G/L account."""

    entity = "bank_accounts"
    path = "financial/Journals"

    def _code(self, record: BankAccount) -> str:
        """The first free journal code from 20 (banks) or 10 (cash)."""
        taken = set(self.division.journals) | {
            str(getattr(self.ctx.options, name))
            for name in ("sales_journal", "purchase_journal", "general_journal", "opening_journal")
        }
        number = 10 if mapping.journal_type(record) == 10 else 20
        while str(number) in taken:
            number += 1
        return str(number)

    def _gl(self, record: BankAccount, refs: References) -> tuple[str, str]:
        gl_id = self.resolve(refs, "ledger_accounts", record.account)
        found = self.division.gl_by_id(gl_id) or {}
        return gl_id, text(found.get("Code")) or record.account

    def _journal_on(self, gl_id: str) -> dict[str, Any] | None:
        return next(
            (j for j in self.division.journals.values() if j.get("GLAccount") == gl_id), None
        )

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, BankAccount)
        gl_id, gl_code = self._gl(record, refs)
        existing = self._journal_on(gl_id)
        if existing is not None:
            return matched(text(existing["Code"]), f"journal {text(existing['Code'])}")
        with self.division.lock:
            written = mapping.bank_journal_payload(record, self._code(record), gl_id, gl_code)
            reply, result = self.post(self.path, written)
            if result.ok:
                self.division.remember("journals", reply.entity)
                result = LoadResult(
                    ok=True, target_id=text(reply.entity["Code"]), warnings=result.warnings
                )
            elif taken(reply):
                # The code went meanwhile (another migration into the division): choose again.
                self.division.invalidate("journals")
                return self.create(request, refs)
        return result

    def update(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, BankAccount)
        assert request.target_id, "an update names its target"
        found = self.division.journals.get(request.target_id)
        if found is None:
            return LoadResult.failed("NOT_FOUND", f"journal {request.target_id} is not in Exact")
        if int(found.get("Type") or 0) != mapping.journal_type(record):
            return LoadResult.failed(
                "JOURNAL_TYPE_CHANGED", "it changed between a bank and a cash account"
            )
        gl_id, gl_code = self._gl(record, refs)
        written = mapping.bank_journal_payload(record, request.target_id, gl_id, gl_code)
        for fixed in ("Code", "Type"):
            written.body.pop(fixed)
        result = self.put(self.path, found["ID"], written, request.target_id)
        self.division.invalidate("journals")
        return result

    def find(self, request: LoadRequest, refs: References) -> str | None:
        record = request.record
        assert isinstance(record, BankAccount)
        self.division.invalidate("journals")
        found = self._journal_on(self.resolve(refs, "ledger_accounts", record.account))
        return text(found["Code"]) if found else None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        found = self.division.journals.get(request.target_id)
        if found is None:
            return RemovalResult(removed=True)
        result = self.delete(self.path, found["ID"])
        self.division.invalidate("journals")
        return result

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        filters = ["(Type eq 10 or Type eq 12)"]
        if since:
            filters.append(str(_modified(since)))
        for row in self.client.rows(self.path, JOURNAL_FIELDS, filter=" and ".join(filters)):
            yield mapping.read_bank_account(row)

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return iter(())

    def deletions_unlisted(self, since: dt.datetime | None) -> str | None:
        return _UNLISTED.format(what="journals", path=self.path)


class ContactHandler(ExactHandler):
    """Relations: a numeric code is kept as Exact's code, any other as the search code."""

    entity = "contacts"
    path = "crm/Accounts"

    def _condition(self, days: int | None) -> tuple[str | None, tuple[str, ...]]:
        """The payment condition of ``days`` (created on first need), or a warning."""
        if days is None:
            return None, ()
        if not 0 <= days <= 99:
            return None, (f"payment terms of {days} days do not fit Exact's two-digit codes",)
        code = f"{days:02d}"
        with self.division.lock:
            if code not in self.division.conditions:
                body = {"Code": code, "Description": f"{days} days", "PaymentDays": days}
                self.division.create_coded("conditions", "cashflow/PaymentConditions", body)
        return code, ()

    def _written(self, record: Contact, refs: References) -> mapping.Written:
        condition, warnings = self._condition(record.payment_terms_days)
        written = mapping.account_payload(
            record,
            self.resolver(refs),
            keep_code=self.ctx.preserve_ids,
            payment_condition=condition,
        )
        # Its entries post to the source's control accounts (or their stand-ins).
        if record.is_customer:
            written.body["GLAR"] = self.division.control(True)
        if record.is_supplier:
            written.body["GLAP"] = self.division.control(False)
        return mapping.Written(written.body, (*written.warnings, *warnings))

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, Contact)
        _reply, result = self.post(self.path, self._written(record, refs))
        return result

    def update(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, Contact)
        assert request.target_id, "an update names its target"
        return self.put(
            self.path, request.target_id, self._written(record, refs), request.target_id
        )

    def find(self, request: LoadRequest, refs: References) -> str | None:
        record = request.record
        assert isinstance(record, Contact)
        if record.code and self.ctx.preserve_ids and wire.numeric_code(record.code):
            where = f"Code eq {wire.string_literal(wire.account_code(record.code))}"
        elif record.code:
            where = f"SearchCode eq {wire.string_literal(record.code)}"
        else:
            where = f"Name eq {wire.string_literal(record.name)}"
        for row in self.client.rows(self.path, ("ID", "Name"), filter=where):
            if row.get("Name") == record.name:
                return str(row["ID"])
        return None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        return self.delete_or_block(request, self.path, request.target_id, {"Blocked": True})

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        days = {
            code: int(row.get("PaymentDays") or 0) for code, row in self.division.conditions.items()
        }
        yield from self.changed(
            "sync/CRM/Accounts", ACCOUNT_FIELDS, since, lambda row: mapping.read_contact(row, days)
        )

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return self.deleted_keys(_DELETED_ACCOUNTS, since)


class ItemHandler(ExactHandler):
    """Items by code; a used item is ended (``EndDate``) instead of deleted."""

    entity = "items"
    path = "logistics/Items"

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, Item)
        found = self.division.items.get(record.code)
        if found is not None:
            return matched(str(found["ID"]), f"item {record.code}")
        written = mapping.item_payload(record, self.resolver(refs), self.ctx.today())
        reply, result = self.post(self.path, written)
        if result.ok:
            self.division.remember("items", reply.entity)
        elif taken(reply):
            self.division.invalidate("items")  # created meanwhile
            found = self.division.items.get(record.code)
            if found is not None:
                return matched(str(found["ID"]), f"item {record.code}")
        return result

    def _by_code(self, code: str) -> str | None:
        where = f"Code eq {wire.string_literal(code)}"
        found = self.client.first(self.path, ("ID", "Code"), where)
        return str(found["ID"]) if found else None

    def update(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, Item)
        assert request.target_id, "an update names its target"
        written = mapping.item_payload(record, self.resolver(refs), self.ctx.today())
        if not record.inactive:
            written.body["EndDate"] = None
        return self.put(self.path, request.target_id, written, request.target_id)

    def find(self, request: LoadRequest, refs: References) -> str | None:
        record = request.record
        assert isinstance(record, Item)
        return self._by_code(record.code)

    def remove(self, request: RemovalRequest) -> RemovalResult:
        end = {"EndDate": wire.date_text(self.ctx.today())}
        result = self.delete_or_block(request, self.path, request.target_id, end)
        self.division.invalidate("items")
        return result

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        today = self.ctx.today()
        yield from self.changed(
            "sync/Logistics/Items", ITEM_FIELDS, since, lambda row: mapping.read_item(row, today)
        )

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return self.deleted_keys(_DELETED_ITEMS, since)


MASTER_HANDLERS: tuple[type[ExactHandler], ...] = (
    CompanyHandler,
    TaxRateHandler,
    LedgerAccountHandler,
    TrackingHandler,
    BankAccountHandler,
    ContactHandler,
    ItemHandler,
)
