"""Twinfield's records between the wire and the handlers: dimensions and transactions.

A transaction is built in two steps: a handler turns a canonical record into a
:class:`Transaction` (day book, header, signed lines), and :func:`transaction_xml` writes it as
Twinfield takes it: a ``total`` line for the customer, supplier or bank, ``detail`` lines, and
one ``vat`` line per VAT code holding the sum of the detail lines' VAT. Reading back goes the
other way, from a ``<transaction>`` or from browse rows to a :class:`Transaction`.

Amounts are signed here (debit positive) and split into ``debitcredit`` and ``value`` only on
the wire; ``value`` is in the transaction's currency and ``basevalue`` in the office's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from decimal import Decimal

import attrs
from lxml import etree

from .wire import amount, date_text, money_text, parse_date, parse_period, period_text, side, signed
from .xml import child, text

__all__ = [
    "STAMP_PREFIX",
    "Dimension",
    "Line",
    "Transaction",
    "dimension_xml",
    "read_dimension",
    "read_transaction",
    "stamp",
    "transaction_xml",
]

STAMP_PREFIX = "mk:"
"""The start of the stamp every migrationkit transaction carries in its first line's
``freetext1``: how a write whose answer was lost is found again, and how ours are told apart."""

_ZERO = Decimal(0)


def stamp(idempotency_key: str) -> str:
    """``mk:`` and 16 hex digits of the write's idempotency key (fits ``freetext1``)."""
    return STAMP_PREFIX + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:16]


# ---------------------------------------------------------------------------
# dimensions
# ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Dimension:
    """A Twinfield dimension (``BAS``, ``PNL``, ``DEB``, ``CRD``, ``KPL``) as used here."""

    type: str
    code: str
    name: str
    shortname: str | None = None
    status: str = "active"
    inuse: bool = False
    group: str | None = None
    matchtype: str | None = None
    childtype: str | None = None
    """``DEB`` or ``CRD`` on the control accounts whose lines must name a customer or supplier."""
    vatcode: str | None = None
    duedays: int | None = None
    creditlimit: Decimal | None = None
    vatnumber: str | None = None
    currency: str | None = None
    address: Mapping[str, str] = attrs.field(factory=dict)
    bank: Mapping[str, str] = attrs.field(factory=dict)


_ADDRESS_FIELDS = ("name", "country", "city", "postcode", "telephone", "email", "field1", "field2")


def dimension_xml(office: str, dim: Dimension, status: str | None = None) -> etree._Element:
    """``<dimension>`` to create or change (Twinfield changes a dimension sent with its code)."""
    element = etree.Element("dimension", attrib={"status": status} if status else {})
    child(element, "office", office)
    child(element, "type", dim.type)
    child(element, "code", dim.code)
    if status in ("deleted", "hide"):
        return element
    child(element, "name", dim.name)
    if dim.shortname:
        child(element, "shortname", dim.shortname)
    if dim.group:
        child(element, "group", dim.group)
    financials = etree.SubElement(element, "financials")
    if dim.matchtype:
        child(financials, "matchtype", dim.matchtype)
    if dim.childtype:
        validations = child(financials, "childvalidations")
        child(validations, "childvalidation", dim.childtype, {"level": "2", "type": "group"})
    if dim.duedays is not None:
        child(financials, "duedays", dim.duedays)
    if dim.vatcode:
        child(financials, "vatcode", dim.vatcode)
    if dim.currency:
        child(financials, "currency", dim.currency)
    if dim.creditlimit is not None:
        credit = child(element, "creditmanagement")
        child(credit, "basecreditlimit", money_text(dim.creditlimit))
    if dim.address or dim.vatnumber:
        addresses = child(element, "addresses")
        address = child(addresses, "address", None, {"type": "invoice", "default": "true"})
        for name in _ADDRESS_FIELDS:
            if dim.address.get(name):
                child(address, name, dim.address[name])
        if dim.vatnumber:
            child(address, "field4", dim.vatnumber)
    if dim.bank:
        banks = child(element, "banks")
        bank = child(banks, "bank", None, {"default": "true"})
        for name, value in dim.bank.items():
            child(bank, name, value)
    return element


def read_dimension(element: etree._Element) -> Dimension:
    """A ``<dimension>`` as Twinfield answers a ``read``."""
    financials = element.find("financials")
    address = element.find("addresses/address")
    bank = element.find("banks/bank")
    duedays = text(financials, "duedays")
    limit = text(element, "creditmanagement/basecreditlimit")
    child_type = text(financials, "childvalidations/childvalidation")
    address_fields = {name: text(address, name) for name in _ADDRESS_FIELDS if text(address, name)}
    return Dimension(
        type=text(element, "type"),
        code=text(element, "code"),
        name=text(element, "name"),
        shortname=text(element, "shortname") or None,
        status=element.get("status") or "active",
        inuse=text(element, "inuse") == "true",
        group=text(element, "group") or None,
        matchtype=text(financials, "matchtype") or None,
        childtype=child_type or None,
        vatcode=text(financials, "vatcode") or None,
        duedays=int(duedays) if duedays else None,
        creditlimit=Decimal(limit) if limit else None,
        vatnumber=text(address, "field4") or None,
        currency=text(financials, "currency") or None,
        address=address_fields,
        bank={c.tag: (c.text or "") for c in bank if isinstance(c.tag, str)}
        if bank is not None
        else {},
    )


# ---------------------------------------------------------------------------
# transactions
# ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Line:
    """One transaction line; ``value`` and ``base`` are signed, debit positive.

    ``vat`` and ``vat_base`` are a detail line's own VAT (the VAT line holds their sum).
    """

    type: str
    dim1: str
    dim2: str | None = None
    dim3: str | None = None
    value: Decimal
    base: Decimal
    vatcode: str | None = None
    vat: Decimal | None = None
    vat_base: Decimal | None = None
    description: str | None = None
    invoicenumber: str | None = None
    freetext1: str | None = None
    freetext2: str | None = None
    duedate: dt.date | None = None
    id: int | None = None


@attrs.frozen(kw_only=True)
class Transaction:
    """A transaction in one day book: provisional (``temporary``) or ``final``."""

    daybook: str
    date: dt.date
    period: str
    currency: str
    lines: tuple[Line, ...]
    number: str | None = None
    destiny: str = "temporary"
    invoicenumber: str | None = None
    duedate: dt.date | None = None
    office: str | None = None
    rate: Decimal | None = None
    """Units of the transaction's currency per unit of the base currency (on every line)."""

    @property
    def id(self) -> str:
        """``DAYBOOK:NUMBER``, the target id of a written transaction."""
        return f"{self.daybook}:{self.number}"

    @property
    def stamp(self) -> str | None:
        for line in self.lines:
            if line.freetext1 and line.freetext1.startswith(STAMP_PREFIX):
                return line.freetext1
        return None

    @property
    def reverses(self) -> str | None:
        """The id of the transaction this one reverses (a counter-entry), if it is one."""
        for line in self.lines:
            if line.freetext2 and line.freetext2.startswith(REVERSAL_PREFIX):
                return line.freetext2.removeprefix(REVERSAL_PREFIX)
        return None

    @property
    def opening(self) -> bool:
        """Period 00 holds a year's opening balance."""
        return parse_period(self.period)[1] == 0

    def of_type(self, kind: str) -> list[Line]:
        return [line for line in self.lines if line.type == kind]

    def reversed(self, date: dt.date, period: str) -> Transaction:
        """The counter-entry: every line on the other side, dated ``date``."""
        lines = tuple(
            attrs.evolve(
                line,
                value=-line.value,
                base=-line.base,
                vat=-line.vat if line.vat is not None else None,
                vat_base=-line.vat_base if line.vat_base is not None else None,
                freetext2=REVERSAL_PREFIX + self.id if n == 0 else line.freetext2,
                id=None,
            )
            for n, line in enumerate(self.lines)
        )
        return attrs.evolve(
            self, number=None, date=date, period=period, lines=lines, destiny="final"
        )


REVERSAL_PREFIX = "reverses "


def period_of(day: dt.date, opening: bool = False) -> str:
    """The period a date falls in (calendar months); ``opening`` gives the year's period 00."""
    return period_text(day.year, 0 if opening else day.month)


def transaction_xml(office: str, transaction: Transaction) -> etree._Element:
    """``<transaction>`` as Twinfield takes it."""
    element = etree.Element(
        "transaction", attrib={"destiny": transaction.destiny, "raisewarning": "false"}
    )
    header = child(element, "header")
    child(header, "office", office)
    child(header, "code", transaction.daybook)
    if transaction.number:
        child(header, "number", transaction.number)
    child(header, "currency", transaction.currency)
    child(header, "date", date_text(transaction.date))
    child(header, "period", transaction.period)
    if transaction.invoicenumber:
        child(header, "invoicenumber", transaction.invoicenumber)
    if transaction.duedate:
        child(header, "duedate", date_text(transaction.duedate))
    lines = child(element, "lines")
    for n, line in enumerate(transaction.lines, start=1):
        attrib = {"type": line.type, "id": str(n)}
        node = child(lines, "line", None, attrib)
        child(node, "dim1", line.dim1)
        if line.dim2:
            child(node, "dim2", line.dim2)
        if line.dim3:
            child(node, "dim3", line.dim3)
        debitcredit, value = side(line.value)
        child(node, "debitcredit", debitcredit)
        child(node, "value", money_text(value))
        child(node, "basevalue", money_text(abs(line.base)))
        if line.vatcode:
            child(node, "vatcode", line.vatcode)
        if line.vat is not None:
            child(node, "vatvalue", money_text(abs(line.vat)))
        if line.vat_base is not None:
            child(node, "vatbasevalue", money_text(abs(line.vat_base)))
        if line.description:
            child(node, "description", line.description)
        if line.invoicenumber:
            child(node, "invoicenumber", line.invoicenumber)
        if line.duedate:
            child(node, "duedate", date_text(line.duedate))
        if line.freetext1:
            child(node, "freetext1", line.freetext1)
        if line.freetext2:
            child(node, "freetext2", line.freetext2)
        if transaction.rate is not None and transaction.currency:
            child(node, "rate", format(transaction.rate, "f"))
    return element


def delete_xml(office: str, daybook: str, number: str, reason: str) -> etree._Element:
    """``<transaction action="delete" reason="…">``: only a provisional one can go."""
    element = etree.Element("transaction", attrib={"action": "delete", "reason": reason})
    child(element, "office", office)
    child(element, "code", daybook)
    child(element, "number", number)
    return element


def _vat_sign(debitcredit: str, raw: str) -> Decimal | None:
    if not raw:
        return None
    return signed(debitcredit, amount(raw))


def read_transaction(element: etree._Element) -> Transaction:
    """A ``<transaction>`` as Twinfield answers a ``read`` or a write."""
    header = element.find("header")
    lines = []
    for node in element.iterfind("lines/line"):
        debitcredit = text(node, "debitcredit") or "debit"
        value = signed(debitcredit, amount(text(node, "value")))
        lines.append(
            Line(
                type=node.get("type") or "detail",
                id=int(node.get("id") or 0) or None,
                dim1=text(node, "dim1"),
                dim2=text(node, "dim2") or None,
                dim3=text(node, "dim3") or None,
                value=value,
                base=signed(debitcredit, amount(text(node, "basevalue") or text(node, "value"))),
                vatcode=text(node, "vatcode") or None,
                vat=_vat_sign(debitcredit, text(node, "vatvalue")),
                vat_base=_vat_sign(debitcredit, text(node, "vatbasevalue")),
                description=text(node, "description") or None,
                invoicenumber=text(node, "invoicenumber") or None,
                freetext1=text(node, "freetext1") or None,
                freetext2=text(node, "freetext2") or None,
                duedate=parse_date(text(node, "duedate")),
            )
        )
    date = parse_date(text(header, "date"))
    assert date is not None, "a transaction always has a date"
    rate = text(element, "lines/line/rate")
    return Transaction(
        rate=Decimal(rate) if rate else None,
        daybook=text(header, "code"),
        number=text(header, "number") or None,
        office=text(header, "office") or None,
        date=date,
        period=text(header, "period"),
        currency=text(header, "currency"),
        invoicenumber=text(header, "invoicenumber") or None,
        duedate=parse_date(text(header, "duedate")),
        destiny=element.get("location") or element.get("destiny") or "temporary",
        lines=tuple(lines),
    )


BROWSE_FIELDS = (
    "fin.trs.head.code",
    "fin.trs.head.number",
    "fin.trs.head.status",
    "fin.trs.head.date",
    "fin.trs.head.yearperiod",
    "fin.trs.head.curcode",
    "fin.trs.line.linetype",
    "fin.trs.line.dim1",
    "fin.trs.line.dim2",
    "fin.trs.line.dim3",
    "fin.trs.line.debitcredit",
    "fin.trs.line.valuesigned",
    "fin.trs.line.basevaluesigned",
    "fin.trs.line.vatcode",
    "fin.trs.line.vatvaluesigned",
    "fin.trs.line.vatbasevaluesigned",
    "fin.trs.line.description",
    "fin.trs.line.invnumber",
    "fin.trs.line.datedue",
    "fin.trs.line.freetext1",
    "fin.trs.line.freetext2",
    "fin.trs.line.rate",
)
"""The browse columns the connector reads transactions back with (browse code 000)."""


def transactions_from_browse(browse: etree._Element) -> list[Transaction]:
    """Browse rows (one per line) grouped back into transactions, in the order they came."""
    grouped: dict[tuple[str, str], list[tuple[int, dict[str, str]]]] = {}
    for row in browse.iterfind("tr"):
        cells = {str(td.get("field")): (td.text or "").strip() for td in row.iterfind("td")}
        key = row.find("key")
        daybook = text(key, "code") or cells.get("fin.trs.head.code", "")
        number = text(key, "number") or cells.get("fin.trs.head.number", "")
        line = int(text(key, "line") or 0)
        grouped.setdefault((daybook, number), []).append((line, cells))
    found = []
    for (daybook, number), rows in grouped.items():
        rows.sort(key=lambda item: item[0])
        first = rows[0][1]
        lines = tuple(_browse_line(n, cells) for n, cells in rows)
        # A browse that did not ask for the date (a lookup by stamp) leaves it unknown.
        date = parse_date(first.get("fin.trs.head.date")) or dt.date.min
        total = next((x for x in lines if x.type == "total"), None)
        rate = first.get("fin.trs.line.rate")
        found.append(
            Transaction(
                rate=Decimal(rate) if rate else None,
                daybook=daybook,
                number=number,
                date=date,
                period=first.get("fin.trs.head.yearperiod", ""),
                currency=first.get("fin.trs.head.curcode", ""),
                destiny="final" if first.get("fin.trs.head.status") == "final" else "temporary",
                invoicenumber=total.invoicenumber if total else None,
                duedate=total.duedate if total else None,
                lines=lines,
            )
        )
    return found


def _browse_line(n: int, cells: Mapping[str, str]) -> Line:
    def opt(name: str) -> Decimal | None:
        raw = cells.get(name, "")
        return Decimal(raw) if raw else None

    return Line(
        id=n,
        type=cells.get("fin.trs.line.linetype") or "detail",
        dim1=cells.get("fin.trs.line.dim1", ""),
        dim2=cells.get("fin.trs.line.dim2") or None,
        dim3=cells.get("fin.trs.line.dim3") or None,
        value=amount(cells.get("fin.trs.line.valuesigned")),
        base=amount(cells.get("fin.trs.line.basevaluesigned")),
        vatcode=cells.get("fin.trs.line.vatcode") or None,
        vat=opt("fin.trs.line.vatvaluesigned"),
        vat_base=opt("fin.trs.line.vatbasevaluesigned"),
        description=cells.get("fin.trs.line.description") or None,
        invoicenumber=cells.get("fin.trs.line.invnumber") or None,
        duedate=parse_date(cells.get("fin.trs.line.datedue")),
        freetext1=cells.get("fin.trs.line.freetext1") or None,
        freetext2=cells.get("fin.trs.line.freetext2") or None,
    )


def vat_lines(
    details: Iterable[Line], accounts: Mapping[str, str], currency_sign: int = 1
) -> list[Line]:
    """One VAT line per VAT code: the sum of the detail lines' VAT, on the code's account."""
    sums: dict[str, list[Decimal]] = {}
    for line in details:
        if line.vatcode and (line.vat or line.vat_base):
            entry = sums.setdefault(line.vatcode, [_ZERO, _ZERO])
            entry[0] += line.vat or _ZERO
            entry[1] += line.vat_base or _ZERO
    return [
        Line(type="vat", dim1=accounts[code], vatcode=code, value=value, base=base)
        for code, (value, base) in sums.items()
        if value or base
    ]
