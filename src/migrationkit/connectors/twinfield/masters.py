"""Handlers of master data: the office, VAT codes, the chart, cost centres, banks, contacts,
articles.

Dimensions go as ``<dimensions>`` documents of at most 25 (a contact that is both customer and
supplier is two of them, answered together). Twinfield changes a dimension sent again with its
code, so updates are in place; a dimension is deleted while unused and hidden once used.
"""

from __future__ import annotations

import abc
import datetime as dt
import threading
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from lxml import etree

from migrationkit.core.capabilities import Removal
from migrationkit.core.contract import (
    LoadRequest,
    LoadResult,
    Problem,
    References,
    RemovalRequest,
    RemovalResult,
)
from migrationkit.core.errors import MappingError
from migrationkit.core.model import (
    AccountType,
    Address,
    BankAccount,
    BankAccountKind,
    Company,
    Contact,
    ControlRole,
    Item,
    LedgerAccount,
    Record,
    TaxRate,
    TaxTreatment,
    TrackingCategory,
    TrackingOption,
)
from migrationkit.handlers import BatchHandler, Handler, Prepared, matched
from migrationkit.http import ApiClient

from .client import TwinfieldClient
from .mapping import Dimension, dimension_xml, read_dimension
from .office import OfficeState
from .options import TwinfieldOptions
from .wire import amount, money_text
from .xml import child, messages, succeeded, text, to_text

__all__ = ["MASTER_HANDLERS", "Context", "TwinfieldHandler", "refusal"]

_GROUPS = {
    AccountType.FIXED_ASSET: ("MKFA", "Fixed assets"),
    AccountType.CURRENT_ASSET: ("MKCA", "Current assets"),
    AccountType.BANK: ("MKBK", "Bank and cash"),
    AccountType.CURRENT_LIABILITY: ("MKCL", "Current liabilities"),
    AccountType.LONG_TERM_LIABILITY: ("MKLL", "Long-term liabilities"),
    AccountType.EQUITY: ("MKEQ", "Equity"),
    AccountType.SALES: ("MKSA", "Sales"),
    AccountType.OTHER_INCOME: ("MKOI", "Other income"),
    AccountType.PURCHASES: ("MKPU", "Purchases"),
    AccountType.DIRECT_EXPENSES: ("MKDE", "Direct expenses"),
    AccountType.OVERHEADS: ("MKOH", "Overheads"),
    AccountType.DEPRECIATION: ("MKDP", "Depreciation"),
}
"""The dimension group each account type goes in, so the type comes back on a read."""
_GROUP_TYPES = {code: account_type for account_type, (code, _) in _GROUPS.items()}
_ALLOWED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


class Context:
    """What every handler shares: the client, the office, the options and run settings."""

    def __init__(
        self, client: TwinfieldClient, office: OfficeState, options: TwinfieldOptions
    ) -> None:
        self.client = client
        self.office = office
        self.options = options
        self.preserve_ids = True
        self._claims: dict[tuple[str, str], str] = {}
        self._done: set[str] = set()
        self._lock = threading.Lock()
        self.read_cache: dict[str, tuple[int, Any]] = {}
        """What an extraction read, with the client's write count then (reused until a write)."""

    def claim(self, space: str, value: str, owner: str) -> str | None:
        """Claim ``value`` in ``space`` for ``owner``; the earlier owner on a clash."""
        with self._lock:
            current = self._claims.setdefault((space, value), owner)
        return None if current == owner else current

    def first_time(self, name: str) -> bool:
        with self._lock:
            if name in self._done:
                return False
            self._done.add(name)
            return True


def refusal(answer: etree._Element, what: str = "it") -> LoadResult:
    """Twinfield's refusal of one element, in its own words."""
    found = messages(answer)
    words = "; ".join(m.describe() for m in found) or "no reason given"
    return LoadResult.failed(
        "TWINFIELD_REFUSED", f"Twinfield refused {what}: {words}", to_text(answer)
    )


def remove_dimension(
    handler: TwinfieldHandler, types: Sequence[str], code: str, actions: Sequence[Removal]
) -> RemovalResult:
    """Delete a dimension of each of ``types``; one in use is hidden when ``actions`` allow."""
    office = handler.office
    present = [t for t in types if office.dimension(t, code)]
    action = Removal.DELETE
    for dim_type in present:
        gone = _set_status(handler, dim_type, code, "deleted")
        if gone is None:
            office.drop(dim_type, code)
            continue
        if Removal.ARCHIVE not in actions:
            return gone
        hidden = _set_status(handler, dim_type, code, "hide")
        if hidden is not None:
            return hidden
        action = Removal.ARCHIVE
        office.invalidate(dim_type)
    return RemovalResult(removed=True, action=action)


def _set_status(
    handler: TwinfieldHandler, dim_type: str, code: str, status: str
) -> RemovalResult | None:
    element = dimension_xml(
        handler.office.code, Dimension(type=dim_type, code=code, name=""), status
    )
    (answer,) = handler.client.process_many("dimensions", [element], repeatable=True)
    if succeeded(answer):
        return None
    words = "; ".join(m.describe() for m in messages(answer))
    return RemovalResult(
        removed=False,
        reason="IN_USE" if "in use" in words else "TWINFIELD_REFUSED",
        message=f"Twinfield would not {'delete' if status == 'deleted' else 'hide'} "
        f"{dim_type} {code}: {words}",
        response=to_text(answer),
    )


def code_problem(code: str, what: str) -> Problem | None:
    if len(code) > 16 or not code or not set(code) <= _ALLOWED:
        return Problem(
            code="CODE_NOT_ALLOWED",
            message=f"{what} code {code!r} does not fit Twinfield's codes (at most 16 letters, "
            "digits, dots, dashes or underscores); give it another code at the source",
        )
    return None


class TwinfieldHandler(Handler[Context]):
    """The work for one entity in Twinfield."""

    system = "Twinfield"

    @property
    def client(self) -> TwinfieldClient:
        return self.ctx.client

    @property
    def office(self) -> OfficeState:
        return self.ctx.office

    @property
    def api(self) -> ApiClient:
        return self.client.api


# ---------------------------------------------------------------------------
# the office and its VAT codes: matched, never written
# ---------------------------------------------------------------------------


class CompanyHandler(TwinfieldHandler):
    entity = "company"

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, Company)
        _name, base = self.office.info()
        if record.base_currency != base:
            return [
                Problem(
                    code="BASE_CURRENCY_DIFFERS",
                    message=f"the company keeps its books in {record.base_currency}, Twinfield "
                    f"office {self.office.code} in {base}; choose an office with the same base "
                    "currency",
                )
            ]
        return []

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        return matched(self.office.code, "administration (office)")

    update = create

    def find(self, request: LoadRequest, refs: References) -> str | None:
        return self.office.code

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        name, base = self.office.info()
        yield Company(key=self.office.code, name=name, base_currency=base)


class TaxRateHandler(TwinfieldHandler):
    """Source tax codes matched onto a sales and a purchase VAT code of the office."""

    entity = "tax_rates"

    def match(self, record: TaxRate) -> tuple[str | None, Problem | None]:
        codes = self.office.vat_codes()
        chosen = self.ctx.options.vat_codes.get(record.code)
        if chosen:
            sales, _, purchase = chosen.partition("/")
            unknown = [c for c in (sales, purchase) if c not in codes]
            if unknown or not purchase:
                return None, Problem(
                    code="VAT_CODE_UNKNOWN",
                    message=f"vat_codes maps {record.code} to {chosen!r}; the office has no VAT "
                    f"code {', '.join(unknown) or '(purchase code missing)'}; write SALES/PURCHASE",
                )
            return f"{sales}/{purchase}", None
        pair = []
        for kind in ("sales", "purchase"):
            found = [
                c.code for c in codes.values() if c.type == kind and c.percentage == record.rate
            ]
            if len(found) != 1:
                how = "none" if not found else f"several ({', '.join(found)})"
                return None, Problem(
                    code="VAT_CODE_UNMAPPED",
                    message=f"the office has {how} {kind} VAT code at {record.rate}%; map "
                    f'{record.code} with the option vat_codes, e.g. {{ {record.code} = "VH/IH" }}',
                )
            pair.append(found[0])
        return "/".join(pair), None

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, TaxRate)
        _pair, problem = self.match(record)
        return [problem] if problem else []

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        assert isinstance(request.record, TaxRate)
        pair, problem = self.match(request.record)
        if pair is None:
            assert problem is not None
            return LoadResult.failed(problem.code, problem.message)
        return matched(pair, f"VAT codes {pair}")

    update = create

    def find(self, request: LoadRequest, refs: References) -> str | None:
        assert isinstance(request.record, TaxRate)
        return self.match(request.record)[0]

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        """One tax rate per pair of the office's VAT codes (see ``OfficeState.vat_pairs``)."""
        codes = self.office.vat_codes()
        for pair in dict.fromkeys(self.office.vat_pairs().values()):
            vat = codes[pair.partition("/")[0]]
            treatment = TaxTreatment.ZERO if vat.percentage == 0 else TaxTreatment.STANDARD
            yield TaxRate(
                key=pair, code=pair, name=vat.name, rate=vat.percentage, treatment=treatment
            )


# ---------------------------------------------------------------------------
# dimensions
# ---------------------------------------------------------------------------


class _Dimensions(BatchHandler[Context], TwinfieldHandler):
    """Records written as one or more dimensions each, 25 dimensions to a document."""

    types: tuple[str, ...] = ()

    @abc.abstractmethod
    def dimensions(self, request: LoadRequest, refs: References) -> list[Dimension]:
        """The record as the dimensions Twinfield keeps it in."""

    def payload(self, request: LoadRequest, refs: References) -> Any:
        return self.dimensions(request, refs)

    def before_send(self) -> None:
        """One-off work before the first document (dimension groups)."""

    def send(self, ready: Sequence[Prepared], refs: References) -> list[LoadResult]:
        self.before_send()
        office = self.office.code
        elements = [dimension_xml(office, dim) for item in ready for dim in item.payload]
        answers = (
            iter(self.client.process_many("dimensions", elements, repeatable=True))
            if elements
            else iter(())
        )
        results = []
        for item in ready:
            dims: list[Dimension] = item.payload
            if not dims:
                results.append(self.matched_result(item.request))
                continue
            mine = [next(answers) for _ in dims]
            bad = [a for a in mine if not succeeded(a)]
            if bad:
                results.append(refusal(bad[0]))
                continue
            for answer in mine:
                self.office.remember(read_dimension(answer))
            results.append(LoadResult(ok=True, target_id=dims[0].code))
        return results

    def matched_result(self, request: LoadRequest) -> LoadResult:
        return LoadResult.failed("NOTHING_TO_WRITE", "no dimension to write")

    def remove_many(self, requests: Sequence[RemovalRequest]) -> list[RemovalResult]:
        return [remove_dimension(self, self.types, r.target_id, r.actions) for r in requests]

    def find(self, request: LoadRequest, refs: References) -> str | None:
        for dim in self.dimensions(request, refs):
            self.office.invalidate(dim.type)
            if self.office.dimension(dim.type, dim.code) is None:
                return None
        found = self.dimensions(request, refs)
        return found[0].code if found else None


class LedgerAccountHandler(_Dimensions):
    """Accounts by code; the office's debtors, creditors and VAT accounts matched by role."""

    entity = "ledger_accounts"
    types = ("BAS", "PNL")

    def existing(self, record: LedgerAccount) -> tuple[str | None, str]:
        """The office's account this record lands on, and why, or ``(None, "")``."""
        office = self.office
        by_role: dict[ControlRole, Callable[[], str | None]] = {
            ControlRole.RECEIVABLES: lambda: office.receivables,
            ControlRole.PAYABLES: lambda: office.payables,
            ControlRole.SALES_TAX: lambda: office.vat_account("sales"),
            ControlRole.PURCHASE_TAX: lambda: office.vat_account("purchase"),
        }
        if record.control_role in by_role:
            account = by_role[record.control_role]()
            if account:
                return account, f"the office's {record.control_role.value} account"
        if office.ledger(record.code) is not None:
            return record.code, "the same code"
        return None, ""

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, LedgerAccount)
        problem = code_problem(record.code, "account")
        if problem:
            return [problem]
        account, why = self.existing(record)
        if account is None:
            return []
        found = self.office.ledger(account)
        wanted = "BAS" if record.type.on_balance_sheet else "PNL"
        if found is not None and found.type != wanted and why == "the same code":
            return [
                Problem(
                    code="ACCOUNT_CODE_TAKEN",
                    message=f"code {record.code} is the office's {found.type} account "
                    f"{found.name!r}; renumber it at the source or map it with "
                    "mappings.ledger_accounts",
                )
            ]
        owner = self.ctx.claim("ledger", account, record.key)
        if owner is not None:
            return [
                Problem(
                    code="ACCOUNT_ALREADY_MATCHED",
                    message=f"it would land on the office's account {account}, which source "
                    f"account {owner} already lands on",
                )
            ]
        return []

    def dimensions(self, request: LoadRequest, refs: References) -> list[Dimension]:
        record = request.record
        assert isinstance(record, LedgerAccount)
        account, _why = self.existing(record)
        if account is not None and account != record.code:
            return []  # a control account of the office: matched, not written
        if account is not None and request.operation.value == "create":
            return []
        group, _ = _GROUPS[record.type]
        return [
            Dimension(
                type="BAS" if record.type.on_balance_sheet else "PNL",
                code=record.code,
                name=record.name[:80],
                group=group,
            )
        ]

    def matched_result(self, request: LoadRequest) -> LoadResult:
        assert isinstance(request.record, LedgerAccount)
        account, why = self.existing(request.record)
        if request.target_id:
            return LoadResult(ok=True, target_id=request.target_id)
        return matched(str(account), f"account {account} ({why})")

    def before_send(self) -> None:
        if not self.ctx.first_time("dimension groups"):
            return
        elements = []
        for code, name in _GROUPS.values():
            group = etree.Element("dimensiongroup")
            child(group, "office", self.office.code)
            child(group, "code", code)
            child(group, "name", name)
            elements.append(group)
        for answer in self.client.process_many("dimensiongroups", elements, repeatable=True):
            if not succeeded(answer):
                words = "; ".join(m.describe() for m in messages(answer))
                raise MappingError(f"Twinfield refused the account groups: {words}")

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        office = self.office
        roles: dict[str, ControlRole | None] = {}
        for role, account in (
            (ControlRole.RECEIVABLES, office.receivables),
            (ControlRole.PAYABLES, office.payables),
            (ControlRole.SALES_TAX, office.vat_account("sales")),
            (ControlRole.PURCHASE_TAX, office.vat_account("purchase")),
        ):
            if account:
                roles.setdefault(account, role)
        banks = {book.account for book in office.bank_books() if book.account}
        for dim_type in self.types:
            for code, status in office.codes(dim_type).items():
                dim = office.dimension(dim_type, code)
                if dim is None:
                    continue
                account_type = _GROUP_TYPES.get(dim.group or "")
                if account_type is None:
                    account_type = (
                        AccountType.BANK
                        if code in banks
                        else AccountType.CURRENT_ASSET
                        if dim_type == "BAS"
                        else AccountType.OVERHEADS
                    )
                found_role = roles.get(code) or (ControlRole.BANK if code in banks else None)
                yield LedgerAccount(
                    key=code,
                    code=code,
                    name=dim.name,
                    type=account_type,
                    control_role=found_role,
                    inactive=status == "hide",
                )


class ContactHandler(_Dimensions):
    """Customers (DEB) and suppliers (CRD) with their codes; one that is both gets both."""

    entity = "contacts"
    types = ("DEB", "CRD")

    @staticmethod
    def code(record: Contact) -> str:
        return record.code or record.key

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, Contact)
        problem = code_problem(self.code(record), "contact")
        if problem:
            return [problem]
        if not (record.is_customer or record.is_supplier):
            return [
                Problem(
                    code="CONTACT_NEITHER",
                    message="Twinfield keeps customers and suppliers only; this contact is neither",
                )
            ]
        return []

    def dimensions(self, request: LoadRequest, refs: References) -> list[Dimension]:
        record = request.record
        assert isinstance(record, Contact)
        address = _address(record)
        dims = []
        for wanted, dim_type in ((record.is_customer, "DEB"), (record.is_supplier, "CRD")):
            if wanted:
                dims.append(
                    Dimension(
                        type=dim_type,
                        code=self.code(record),
                        name=record.name[:80],
                        duedays=record.payment_terms_days,
                        creditlimit=record.credit_limit if dim_type == "DEB" else None,
                        vatnumber=record.tax_number,
                        currency=record.currency,
                        address=address,
                    )
                )
        return dims

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        found: dict[str, dict[str, Any]] = {}
        for dim_type in self.types:
            for code, status in self.office.codes(dim_type).items():
                dim = self.office.dimension(dim_type, code)
                if dim is None:
                    continue
                entry = found.setdefault(code, {"dim": dim, "hidden": True})
                entry["customer" if dim_type == "DEB" else "supplier"] = True
                entry["hidden"] = entry["hidden"] and status == "hide"
                if dim_type == "DEB" and dim.creditlimit is not None:
                    entry["limit"] = dim.creditlimit
        for code, entry in found.items():
            dim = entry["dim"]
            yield Contact(
                key=code,
                code=code,
                name=dim.name,
                is_customer=bool(entry.get("customer")),
                is_supplier=bool(entry.get("supplier")),
                address=Address(
                    line1=dim.address.get("field1"),
                    line2=dim.address.get("field2"),
                    city=dim.address.get("city"),
                    postal_code=dim.address.get("postcode"),
                    country=dim.address.get("country"),
                ),
                contact_name=dim.address.get("name"),
                email=dim.address.get("email"),
                phone=dim.address.get("telephone"),
                tax_number=dim.vatnumber,
                currency=dim.currency,
                credit_limit=entry.get("limit"),
                payment_terms_days=dim.duedays,
                inactive=entry["hidden"],
            )


def _address(record: Contact) -> dict[str, str]:
    values = {
        "name": record.contact_name,
        "field1": record.address.line1,
        "field2": record.address.line2,
        "city": record.address.city,
        "postcode": record.address.postal_code,
        "country": record.address.country,
        "email": record.email,
        "telephone": record.phone,
    }
    return {k: v for k, v in values.items() if v}


# ---------------------------------------------------------------------------
# cost centres, banks, articles
# ---------------------------------------------------------------------------

_KPL = "KPL"
MARK = "migrationkit"
"""The short name of the cost centres the connector makes, so a rollback takes only those."""


class TrackingHandler(TwinfieldHandler):
    """One tracking category as the office's cost centres (KPL); its target id is ``KPL``."""

    entity = "tracking_categories"

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, TrackingCategory)
        owner = self.ctx.claim("cost centres", _KPL, record.key)
        if owner is not None:
            return [
                Problem(
                    code="ONE_COST_CENTRE_DIMENSION",
                    message=f"Twinfield has one cost-centre dimension, which category {owner} "
                    "takes; map this one with mappings.tracking_categories or leave it out",
                )
            ]
        for option in record.options:
            problem = code_problem(option.key, "tracking option")
            if problem:
                return [problem]
        return []

    def _write(self, record: TrackingCategory) -> LoadResult:
        office = self.office.code
        elements = [
            dimension_xml(
                office, Dimension(type=_KPL, code=o.key, name=o.name[:80], shortname=MARK)
            )
            for o in record.options
        ]
        for answer in self.client.process_many("dimensions", elements, repeatable=True):
            if not succeeded(answer):
                return refusal(answer, "a cost centre")
        self.office.invalidate(_KPL)
        return LoadResult(ok=True, target_id=_KPL)

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        assert isinstance(request.record, TrackingCategory)
        return self._write(request.record)

    def update(self, request: LoadRequest, refs: References) -> LoadResult:
        assert isinstance(request.record, TrackingCategory)
        return self._write(request.record)

    def find(self, request: LoadRequest, refs: References) -> str | None:
        record = request.record
        assert isinstance(record, TrackingCategory)
        self.office.invalidate(_KPL)
        codes = self.office.codes(_KPL)
        if record.options and all(o.key in codes for o in record.options):
            return _KPL
        return None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        """The cost centres migrationkit made (marked in their short name) go or are hidden."""
        self.office.invalidate(_KPL)
        ours = [
            code
            for code in list(self.office.codes(_KPL))
            if (dim := self.office.dimension(_KPL, code)) is not None and dim.shortname == MARK
        ]
        action = Removal.DELETE
        for code in ours:
            result = remove_dimension(self, (_KPL,), code, request.actions)
            if not result.removed:
                return result
            if result.action is Removal.ARCHIVE:
                action = Removal.ARCHIVE
        return RemovalResult(removed=True, action=action)

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        codes = self.office.codes(_KPL)
        if not codes:
            return
        options = []
        for code, status in codes.items():
            dim = self.office.dimension(_KPL, code)
            options.append(
                TrackingOption(key=code, name=dim.name if dim else code, inactive=status == "hide")
            )
        yield TrackingCategory(key=_KPL, name="Cost centres", options=tuple(options))


class BankAccountHandler(TwinfieldHandler):
    """A bank account is a bank or cash day book of the office (option ``bank_daybooks``)."""

    entity = "bank_accounts"

    def daybook_code(self, record: BankAccount) -> str | None:
        books = self.ctx.options.bank_daybooks
        return books.get(record.key) or books.get(record.account)

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, BankAccount)
        code = self.daybook_code(record)
        if code is None:
            return [
                Problem(
                    code="BANK_DAYBOOK_UNMAPPED",
                    message=f"set up a bank day book for {record.name!r} in Twinfield and name "
                    f'it in the option bank_daybooks, e.g. {{ "{record.key}" = "BNK" }}',
                )
            ]
        book = self.office.daybook(code)
        if book is None or book.type not in ("bank", "cash"):
            return [
                Problem(
                    code="BANK_DAYBOOK_MISSING",
                    message=f"office {self.office.code} has no bank or cash day book {code}",
                )
            ]
        if book.currency and book.currency != record.currency:
            return [
                Problem(
                    code="BANK_CURRENCY_DIFFERS",
                    message=f"day book {code} is in {book.currency}, the bank account in "
                    f"{record.currency}",
                )
            ]
        return []

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        assert isinstance(request.record, BankAccount)
        code = self.daybook_code(request.record)
        if code is None or self.office.daybook(code) is None:
            return LoadResult.failed("BANK_DAYBOOK_UNMAPPED", "no bank day book for it")
        return matched(code, f"bank day book {code}")

    update = create

    def find(self, request: LoadRequest, refs: References) -> str | None:
        assert isinstance(request.record, BankAccount)
        return self.daybook_code(request.record)

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        for book in self.office.bank_books():
            yield BankAccount(
                key=book.code,
                name=book.name,
                account=book.account or "",
                kind=BankAccountKind.CASH if book.type == "cash" else BankAccountKind.CURRENT,
                currency=book.currency or self.office.info()[1],
            )


class ItemHandler(TwinfieldHandler):
    """Articles of Twinfield's invoicing: code, name, unit, price and VAT code."""

    entity = "items"

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, Item)
        problem = code_problem(record.code, "item")
        return [problem] if problem else []

    def _element(self, record: Item, refs: References, status: str | None = None) -> etree._Element:
        article = etree.Element("article", attrib={"status": status} if status else {})
        header = child(article, "header")
        child(header, "office", self.office.code)
        child(header, "code", record.code)
        if status == "deleted":
            return article
        child(header, "name", record.name[:80])
        child(header, "shortname", (record.description or record.name)[:20])
        child(header, "unitnamesingular", record.unit or "unit")
        if record.tax_rate:
            pair = refs.target_id("tax_rates", record.tax_rate)
            if pair:
                child(header, "vatcode", pair.partition("/")[0])
        lines = child(article, "lines")
        line = child(lines, "line")
        child(line, "unitspriceexcl", money_text(record.sales_price or Decimal(0)))
        return article

    def _send(self, record: Item, refs: References) -> LoadResult:
        answer = self.client.process(self._element(record, refs), repeatable=True)
        if not succeeded(answer):
            return refusal(answer)
        return LoadResult(ok=True, target_id=record.code)

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        assert isinstance(request.record, Item)
        return self._send(request.record, refs)

    def update(self, request: LoadRequest, refs: References) -> LoadResult:
        assert isinstance(request.record, Item)
        return self._send(request.record, refs)

    def find(self, request: LoadRequest, refs: References) -> str | None:
        assert isinstance(request.record, Item)
        found = self.client.read("article", request.record.code)
        return request.record.code if found is not None else None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        article = etree.Element("article", status="deleted")
        header = child(article, "header")
        child(header, "office", self.office.code)
        child(header, "code", request.target_id)
        if self.client.read("article", request.target_id) is None:
            return RemovalResult(removed=True, action=Removal.DELETE)
        answer = self.client.process(article, repeatable=True)
        if succeeded(answer):
            return RemovalResult(removed=True, action=Removal.DELETE)
        return RemovalResult(
            removed=False,
            reason="TWINFIELD_REFUSED",
            message="Twinfield would not delete the article: "
            + "; ".join(m.describe() for m in messages(answer)),
            response=to_text(answer),
        )

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        for node in self.client.list("articles"):
            code = (node.text or "").strip()
            article = self.client.read("article", code)
            if article is None:
                continue
            price = text(article, "lines/line/unitspriceexcl")
            yield Item(
                key=code,
                code=code,
                name=text(article, "header/name"),
                unit=text(article, "header/unitnamesingular") or None,
                sales_price=amount(price) if price else None,
                tax_rate=self.office.vat_pairs().get(text(article, "header/vatcode")),
            )


MASTER_HANDLERS: tuple[type[Handler[Context]], ...] = (
    CompanyHandler,
    TaxRateHandler,
    LedgerAccountHandler,
    TrackingHandler,
    BankAccountHandler,
    ContactHandler,
    ItemHandler,
)
