"""One Twinfield administration (office): its masters, its transactions and Twinfield's rules.

Everything is kept as the XML Twinfield would hold, so what is read back is what was sent
plus what Twinfield adds (numbers, status, ``inuse``). The rules are Twinfield's:

- a dimension is created or changed by sending it with its code; a dimension used in a
  transaction cannot be deleted, only hidden (``status="hide"``);
- a transaction is at least 2 and at most 500 lines, balances in its currency and in the
  base currency, names existing dimensions (a control account's lines name a customer or
  supplier), puts its total line on the day book's account, and its VAT lines hold the sum
  of the detail lines' VAT per code (``autobalancevat`` lets Twinfield close a gap of up to
  2 cents);
- Twinfield numbers transactions itself (``YYYY`` and a sequence per day book); a number in
  a request changes that provisional transaction; only provisional transactions can be
  deleted, with a reason; final ones stay and are reversed by a counter-entry.

The fixture office is this sandbox's own: a small UK template (sales and purchase day books,
a memorial, one bank book, the control and VAT accounts, VAT codes by rate).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal

import attrs
from lxml import etree

from migrationkit.connectors.twinfield.wire import money_text

__all__ = ["Daybook", "Office", "Refusal", "StoredTransaction", "VatCode"]

MAX_LINES = 500
DIMENSION_TYPES = ("BAS", "PNL", "DEB", "CRD", "KPL", "PRJ")
_CODE = re.compile(r"^[A-Za-z0-9._-]{1,16}$")
_ZERO = Decimal(0)


class Refusal(Exception):
    """Twinfield refuses an element; ``field`` names the child element at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@attrs.define
class VatCode:
    code: str
    name: str
    type: str  # sales or purchase
    percentage: Decimal
    account: str
    group: str = ""


@attrs.define
class Daybook:
    code: str
    name: str
    type: str  # sales, purchase, journal, bank, cash
    account: str | None = None
    currency: str | None = None


@attrs.define
class StoredTransaction:
    """A transaction as Twinfield holds it: its element, status and when it changed."""

    daybook: str
    number: str
    element: etree._Element
    status: str  # temporary or final
    entered: dt.datetime
    modified: dt.datetime


def _drop(element: etree._Element, name: str) -> None:
    if name in element.attrib:
        del element.attrib[name]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _text(element: etree._Element | None, path: str) -> str:
    if element is None:
        return ""
    found = element.find(path)
    return (found.text or "").strip() if found is not None else ""


def _amount(element: etree._Element, path: str, field: str) -> Decimal | None:
    raw = _text(element, path)
    if not raw:
        return None
    try:
        return Decimal(raw)
    except ArithmeticError:
        raise Refusal(f"'{raw}' is not a valid amount", field) from None


class Office:
    """One administration; the sandbox app holds several and picks one by ``CompanyCode``."""

    def __init__(self, code: str, name: str, base_currency: str = "GBP") -> None:
        self.code = code
        self.name = name
        self.base_currency = base_currency
        self.dimensions: dict[tuple[str, str], etree._Element] = {}
        self.hidden: set[tuple[str, str]] = set()
        self.articles: dict[str, etree._Element] = {}
        self.vat_codes: dict[str, VatCode] = {}
        self.daybooks: dict[str, Daybook] = {}
        self.transactions: dict[tuple[str, str], StoredTransaction] = {}
        self.deleted: list[dict[str, str]] = []
        self._sequence: dict[tuple[str, int], int] = {}
        self._uid = 0

    # -- the fixture -----------------------------------------------------------------------------

    @classmethod
    def template(cls, code: str = "SANDBOX01", name: str = "Sandbox Trading Ltd") -> Office:
        """An administration as a new UK-template office has it."""
        office = cls(code, name, "GBP")
        for dim_type, dim_code, dim_name, childtype in (
            ("BAS", "1100", "Bank current account", None),
            ("BAS", "1300", "Trade debtors", "DEB"),
            ("BAS", "1500", "VAT on sales", None),
            ("BAS", "1510", "VAT on purchases", None),
            ("BAS", "1600", "Trade creditors", "CRD"),
        ):
            office.put_dimension(dim_type, dim_code, dim_name, childtype=childtype)
        for vat in (
            VatCode("VH", "Standard rate sales", "sales", Decimal(20), "1500", "UK1"),
            VatCode("VL", "Reduced rate sales", "sales", Decimal(5), "1500", "UK1"),
            VatCode("VN", "Zero rate sales", "sales", Decimal(0), "1500", "UK6"),
            VatCode("IH", "Standard rate purchases", "purchase", Decimal(20), "1510", "UK4"),
            VatCode("IL", "Reduced rate purchases", "purchase", Decimal(5), "1510", "UK4"),
            VatCode("IN", "Zero rate purchases", "purchase", Decimal(0), "1510", "UK7"),
            VatCode("VO", "Outside the scope (sales)", "sales", Decimal(0), "1500", ""),
            VatCode("IO", "Outside the scope (purchases)", "purchase", Decimal(0), "1510", ""),
        ):
            office.vat_codes[vat.code] = vat
        for book in (
            Daybook("VRK", "Sales", "sales", "1300"),
            Daybook("INK", "Purchases", "purchase", "1600"),
            Daybook("MEMO", "Memorial", "journal"),
            Daybook("BNK", "Bank", "bank", "1100", "GBP"),
        ):
            office.daybooks[book.code] = book
        return office

    def put_dimension(
        self, dim_type: str, code: str, name: str, *, childtype: str | None = None
    ) -> None:
        """A dimension set up in Twinfield's screens (the fixture, a bank book's account)."""
        element = etree.Element("dimension")
        for tag, value in (("office", self.code), ("type", dim_type), ("code", code)):
            etree.SubElement(element, tag).text = value
        etree.SubElement(element, "name").text = name
        financials = etree.SubElement(element, "financials")
        if childtype:
            etree.SubElement(financials, "matchtype").text = "customersupplier"
            validations = etree.SubElement(financials, "childvalidations")
            etree.SubElement(
                validations, "childvalidation", level="2", type="group"
            ).text = childtype
        self.dimensions[(dim_type, code)] = element

    def add_bank_daybook(
        self, code: str, account: str, currency: str | None = None, name: str | None = None
    ) -> Daybook:
        """A bank book as Twinfield's bank settings make it: with its own balance account."""
        if ("BAS", account) not in self.dimensions:
            self.put_dimension("BAS", account, name or f"Bank {code}")
        book = Daybook(
            code, name or f"Bank {code}", "bank", account, currency or self.base_currency
        )
        self.daybooks[code] = book
        return book

    # -- dimensions ------------------------------------------------------------------------------

    def find_dimension(
        self, code: str, types: tuple[str, ...]
    ) -> tuple[str, etree._Element] | None:
        for dim_type in types:
            found = self.dimensions.get((dim_type, code))
            if found is not None:
                return dim_type, found
        return None

    def in_use(self, dim_type: str, code: str) -> bool:
        for stored in self.transactions.values():
            for line in stored.element.iterfind("lines/line"):
                if code in (_text(line, "dim1"), _text(line, "dim2"), _text(line, "dim3")):
                    return True
        return False

    def save_dimension(self, element: etree._Element) -> etree._Element:
        """Create, change, hide or delete a dimension; the answer element (or Refusal)."""
        dim_type = _text(element, "type")
        code = _text(element, "code")
        status = element.get("status") or ""
        if dim_type not in DIMENSION_TYPES:
            raise Refusal(f"Dimension type '{dim_type}' does not exist.", "type")
        if not code:
            raise Refusal("Code is mandatory.", "code")
        if not _CODE.match(code):
            raise Refusal(f"Code '{code}' does not fit the code mask of type {dim_type}.", "code")
        key = (dim_type, code)
        if status == "deleted":
            if key not in self.dimensions:
                raise Refusal(f"Dimension {dim_type} {code} does not exist.", "code")
            if self.in_use(dim_type, code):
                raise Refusal(
                    f"Dimension {dim_type} {code} is in use and cannot be deleted. Hide it.",
                    "code",
                )
            del self.dimensions[key]
            self.hidden.discard(key)
            return self.answer_dimension(element, "deleted")
        if status == "hide":
            if key not in self.dimensions:
                raise Refusal(f"Dimension {dim_type} {code} does not exist.", "code")
            self.hidden.add(key)
            return self.answer_dimension(self.dimensions[key])
        if dim_type in ("BAS", "PNL"):
            other = "PNL" if dim_type == "BAS" else "BAS"
            if (other, code) in self.dimensions:
                raise Refusal(f"Code {code} is already used by a {other} dimension.", "code")
        if not _text(element, "name"):
            raise Refusal("Name is mandatory.", "name")
        if len(_text(element, "name")) > 80:
            raise Refusal("Name may be at most 80 characters.", "name")
        vatcode = _text(element, "financials/vatcode")
        if vatcode and vatcode not in self.vat_codes:
            raise Refusal(f"VAT code {vatcode} does not exist.", "financials/vatcode")
        group = _text(element, "group")
        if group and ("GROUP", group) not in self.dimensions:
            raise Refusal(f"Dimension group {group} does not exist.", "group")
        stored = copy.deepcopy(element)
        _drop(stored, "status")
        _drop(stored, "result")
        office = stored.find("office")
        if office is not None:
            office.text = self.code
        self.dimensions[key] = stored
        if status == "active":
            self.hidden.discard(key)
        return self.answer_dimension(stored)

    def answer_dimension(
        self, element: etree._Element, status: str | None = None
    ) -> etree._Element:
        answer = copy.deepcopy(element)
        dim_type, code = _text(element, "type"), _text(element, "code")
        hidden = (dim_type, code) in self.hidden
        answer.set("status", status or ("hide" if hidden else "active"))
        answer.set("result", "1")
        for tag in ("uid", "inuse", "behaviour"):
            old = answer.find(tag)
            if old is not None:
                answer.remove(old)
        self._uid += 1
        etree.SubElement(answer, "uid").text = f"{self._uid:08d}-sbx"
        etree.SubElement(answer, "inuse").text = "true" if self.in_use(dim_type, code) else "false"
        etree.SubElement(answer, "behaviour").text = "normal"
        return answer

    def save_group(self, element: etree._Element) -> etree._Element:
        """A dimension group (``<dimensiongroup>``): a code and a name, kept for reports."""
        code = _text(element, "code")
        if not code or not _CODE.match(code):
            raise Refusal("Code is mandatory.", "code")
        if not _text(element, "name"):
            raise Refusal("Name is mandatory.", "name")
        stored = copy.deepcopy(element)
        self.dimensions[("GROUP", code)] = stored
        answer = copy.deepcopy(stored)
        answer.set("result", "1")
        answer.set("status", "active")
        return answer

    # -- articles --------------------------------------------------------------------------------

    def save_article(self, element: etree._Element) -> etree._Element:
        code = _text(element, "header/code")
        status = element.get("status") or ""
        if not code or not _CODE.match(code):
            raise Refusal("Code is mandatory and must fit the article code mask.", "header/code")
        if status == "deleted":
            if code not in self.articles:
                raise Refusal(f"Article {code} does not exist.", "header/code")
            del self.articles[code]
            answer = copy.deepcopy(element)
            answer.set("result", "1")
            return answer
        if not _text(element, "header/name"):
            raise Refusal("Name is mandatory.", "header/name")
        vatcode = _text(element, "header/vatcode")
        if vatcode and vatcode not in self.vat_codes:
            raise Refusal(f"VAT code {vatcode} does not exist.", "header/vatcode")
        stored = copy.deepcopy(element)
        _drop(stored, "result")
        self.articles[code] = stored
        answer = copy.deepcopy(stored)
        answer.set("result", "1")
        answer.set("status", "active")
        return answer

    # -- transactions ----------------------------------------------------------------------------

    def _next_number(self, daybook: str, year: int) -> str:
        key = (daybook, year)
        self._sequence[key] = self._sequence.get(key, 0) + 1
        return f"{year}{self._sequence[key]:05d}"

    def save_transaction(self, element: etree._Element) -> etree._Element:
        """Enter, change, finalise or delete one transaction; the answer (or Refusal)."""
        if element.get("action") == "delete":
            return self.delete_transaction(element)
        destiny = element.get("destiny") or "temporary"
        if destiny not in ("temporary", "final"):
            raise Refusal(f"Destiny '{destiny}' is not valid; use temporary or final.")
        header = element.find("header")
        if header is None:
            raise Refusal("The transaction has no header.", "header")
        code = _text(header, "code")
        book = self.daybooks.get(code)
        if book is None:
            raise Refusal(f"Transaction type {code} does not exist.", "header/code")
        number = _text(header, "number")
        existing = self.transactions.get((code, number)) if number else None
        if number and existing is None:
            raise Refusal(f"Transaction {code} {number} does not exist.", "header/number")
        if existing is not None and existing.status == "final":
            raise Refusal(
                f"Transaction {code} {number} is final and cannot be changed; enter a correction.",
                "header/number",
            )
        date = self._date(header)
        year, _period = self._period(header, date)
        currency = _text(header, "currency") or self.base_currency
        if not re.fullmatch(r"[A-Z]{3}", currency) or (
            book.type in ("bank", "cash") and currency != (book.currency or self.base_currency)
        ):
            raise Refusal(
                f"Currency {currency} is not allowed in transaction type {code}.",
                "header/currency",
            )
        lines = element.findall("lines/line")
        self._check_lines(book, lines, element.get("autobalancevat") == "true")
        answer = copy.deepcopy(element)
        _drop(answer, "result")
        answer_header = answer.find("header")
        assert answer_header is not None
        if not number:
            number = self._next_number(code, year)
            number_node = etree.Element("number")
            number_node.text = number
            answer_header.insert(2, number_node)
        if book.type in ("sales", "purchase") and not _text(header, "invoicenumber"):
            invoice = etree.SubElement(answer_header, "invoicenumber")
            invoice.text = number
        office_node = answer_header.find("office")
        if office_node is not None:
            office_node.text = self.code
        for n, line in enumerate(answer.iterfind("lines/line"), start=1):
            line.set("id", str(n))
        now = _now()
        self.transactions[(code, number)] = StoredTransaction(
            daybook=code,
            number=number,
            element=answer,
            status=destiny,
            entered=existing.entered if existing else now,
            modified=now,
        )
        reply = copy.deepcopy(answer)
        reply.set("result", "1")
        reply.set("location", destiny)
        return reply

    def _date(self, header: etree._Element) -> dt.date:
        raw = _text(header, "date")
        try:
            return dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:8]))
        except (ValueError, IndexError):
            raise Refusal(f"Date '{raw}' is not valid (YYYYMMDD).", "header/date") from None

    def _period(self, header: etree._Element, date: dt.date) -> tuple[int, int]:
        raw = _text(header, "period")
        if not raw:
            return date.year, date.month
        match = re.fullmatch(r"(\d{4})/(\d{2})", raw)
        if not match or int(match.group(2)) > 12:
            raise Refusal(f"Period '{raw}' is not valid (YYYY/PP, 00 to 12).", "header/period")
        return int(match.group(1)), int(match.group(2))

    def _check_lines(self, book: Daybook, lines: list[etree._Element], autobalance: bool) -> None:
        if len(lines) < 2:
            raise Refusal("A transaction needs at least 2 lines.", "lines")
        if len(lines) > MAX_LINES:
            raise Refusal(
                f"A transaction may have at most {MAX_LINES} lines; this one has {len(lines)}.",
                "lines",
            )
        totals = [line for line in lines if line.get("type") == "total"]
        if book.type == "journal" and totals:
            raise Refusal("A memorial transaction has no total line.", "lines/line")
        if book.type != "journal" and len(totals) != 1:
            raise Refusal(f"Transaction type {book.code} needs exactly one total line.", "lines")
        value_sum = base_sum = _ZERO
        vat_details: dict[str, list[Decimal]] = {}
        vat_lines: dict[str, list[Decimal]] = {}
        for n, line in enumerate(lines, start=1):
            where = f"lines/line[{n}]"
            kind = line.get("type") or "detail"
            if kind not in ("total", "detail", "vat"):
                raise Refusal(f"Line type '{kind}' is not valid.", where)
            side = _text(line, "debitcredit")
            if side not in ("debit", "credit"):
                raise Refusal("Debit/credit must be debit or credit.", f"{where}/debitcredit")
            value = _amount(line, "value", f"{where}/value")
            if value is None or value < 0:
                raise Refusal("Value is mandatory and may not be negative.", f"{where}/value")
            base = _amount(line, "basevalue", f"{where}/basevalue")
            base = value if base is None else base
            sign = 1 if side == "debit" else -1
            value_sum += sign * value
            base_sum += sign * base
            vatcode = _text(line, "vatcode")
            if vatcode:
                vat = self.vat_codes.get(vatcode)
                if vat is None:
                    raise Refusal(f"VAT code {vatcode} does not exist.", f"{where}/vatcode")
                if book.type in ("sales", "purchase") and vat.type != book.type:
                    raise Refusal(
                        f"VAT code {vatcode} is a {vat.type} code; transaction type "
                        f"{book.code} takes {book.type} codes.",
                        f"{where}/vatcode",
                    )
            if kind == "vat":
                if not vatcode:
                    raise Refusal("A VAT line needs a VAT code.", f"{where}/vatcode")
                vat_account = self.vat_codes[vatcode].account
                dim1 = _text(line, "dim1") or vat_account
                if dim1 != vat_account:
                    raise Refusal(
                        f"The VAT line of {vatcode} must post to {vat_account}.",
                        f"{where}/dim1",
                    )
                entry = vat_lines.setdefault(vatcode, [_ZERO])
                entry[0] += sign * value
                continue
            self._check_dimensions(book, line, kind, where)
            vat_value = _amount(line, "vatvalue", f"{where}/vatvalue")
            if kind == "detail" and vatcode and vat_value is not None:
                entry = vat_details.setdefault(vatcode, [_ZERO])
                entry[0] += sign * vat_value
        for vatcode, (expected,) in vat_details.items():
            got = vat_lines.get(vatcode, [_ZERO])[0]
            gap = abs(expected - got)
            if gap and not (autobalance and gap <= Decimal("0.02")):
                raise Refusal(
                    f"The VAT of {vatcode} is {money_text(abs(got))}; the detail lines make "
                    f"it {money_text(abs(expected))}.",
                    "lines",
                )
        if value_sum != 0:
            raise Refusal(
                f"The transaction is not balanced; the difference is {money_text(value_sum)}.",
                "lines",
            )
        if base_sum != 0:
            raise Refusal(
                f"The transaction is not balanced in the base currency; the difference is "
                f"{money_text(base_sum)}.",
                "lines",
            )

    def _check_dimensions(self, book: Daybook, line: etree._Element, kind: str, where: str) -> None:
        dim1 = _text(line, "dim1")
        found = self.find_dimension(dim1, ("BAS", "PNL"))
        if found is None:
            raise Refusal(f"General ledger account {dim1} does not exist.", f"{where}/dim1")
        dim1_type, account = found
        if (dim1_type, dim1) in self.hidden:
            raise Refusal(f"General ledger account {dim1} is hidden.", f"{where}/dim1")
        if kind == "total" and book.account and dim1 != book.account:
            raise Refusal(
                f"The total line of transaction type {book.code} must post to {book.account}.",
                f"{where}/dim1",
            )
        dim2 = _text(line, "dim2")
        childtype = _text(account, "financials/childvalidations/childvalidation")
        if childtype:
            if not dim2:
                kind_name = "customer" if childtype == "DEB" else "supplier"
                raise Refusal(
                    f"Account {dim1} needs a {kind_name} ({childtype}) on level 2.", f"{where}/dim2"
                )
            if (childtype, dim2) not in self.dimensions:
                raise Refusal(f"Dimension {childtype} {dim2} does not exist.", f"{where}/dim2")
        elif dim2:
            if dim1_type == "BAS":
                raise Refusal(f"Account {dim1} takes no dimension on level 2.", f"{where}/dim2")
            if ("KPL", dim2) not in self.dimensions:
                raise Refusal(f"Cost centre {dim2} does not exist.", f"{where}/dim2")

    def delete_transaction(self, element: etree._Element) -> etree._Element:
        code = _text(element, "code")
        number = _text(element, "number")
        reason = (element.get("reason") or "").strip()
        stored = self.transactions.get((code, number))
        if stored is None:
            raise Refusal(f"Transaction {code} {number} does not exist.", "number")
        if not reason:
            raise Refusal("A reason is mandatory to delete a transaction.")
        if stored.status != "temporary":
            raise Refusal(
                f"Transaction {code} {number} is final. Only provisional transactions can be "
                "deleted; reverse it with a correction.",
                "number",
            )
        del self.transactions[(code, number)]
        header = stored.element.find("header")
        self.deleted.append(
            {
                "Daybook": code,
                "TransactionNumber": number,
                "TransactionDate": _text(header, "date"),
                "DeletionDate": _now().isoformat(),
                "ReasonForDeletion": reason,
            }
        )
        answer = copy.deepcopy(element)
        answer.set("result", "1")
        return answer

    def iter_lines(self) -> Iterator[tuple[StoredTransaction, int, etree._Element]]:
        """Every line of every transaction, in day book and number order."""
        for key in sorted(self.transactions):
            stored = self.transactions[key]
            for n, line in enumerate(stored.element.iterfind("lines/line"), start=1):
                yield stored, n, line
