"""Browse data: ``<columns code="…">`` in, ``<browse>`` rows (one per transaction line) out.

The codes the sandbox knows are Twinfield's: 000 and 030_3 (every line), 100 (lines on a
customer), 200 (lines on a supplier), 400/410 (cash and bank books) and 900 (lines on a cost
centre). A column with ``<operator>`` filters (``equal``, ``between``, ``like``); the visible
columns come back as ``<td field="…">`` cells, with the line's ``<key>``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from lxml import etree

from migrationkit.connectors.twinfield.wire import money_text

from .office import Office, Refusal, StoredTransaction

__all__ = ["BROWSE_CODES", "browse"]

_Cell = Callable[[Office, StoredTransaction, etree._Element], str]


def _head(tag: str) -> _Cell:
    return lambda office, stored, line: _text(stored.element, f"header/{tag}")


def _line(tag: str) -> _Cell:
    return lambda office, stored, line: _text(line, tag)


def _text(element: etree._Element | None, path: str) -> str:
    if element is None:
        return ""
    found = element.find(path)
    return (found.text or "").strip() if found is not None else ""


def _signed(tag: str, fallback: str | None = None) -> _Cell:
    def cell(office: Office, stored: StoredTransaction, line: etree._Element) -> str:
        raw = _text(line, tag) or (_text(line, fallback) if fallback else "")
        if not raw:
            return ""
        value = Decimal(raw)
        return money_text(value if _text(line, "debitcredit") == "debit" else -value)

    return cell


def _dim_type(level: str) -> _Cell:
    def cell(office: Office, stored: StoredTransaction, line: etree._Element) -> str:
        code = _text(line, level)
        types = ("BAS", "PNL") if level == "dim1" else ("DEB", "CRD", "KPL", "PRJ")
        found = office.find_dimension(code, types) if code else None
        return found[0] if found else ""

    return cell


def _dim_name(level: str) -> _Cell:
    def cell(office: Office, stored: StoredTransaction, line: etree._Element) -> str:
        code = _text(line, level)
        types = ("BAS", "PNL") if level == "dim1" else ("DEB", "CRD", "KPL", "PRJ")
        found = office.find_dimension(code, types) if code else None
        return _text(found[1], "name") if found else ""

    return cell


def _relation(office: Office, stored: StoredTransaction, line: etree._Element) -> str:
    for node in stored.element.iterfind("lines/line"):
        if node.get("type") == "total" and _text(node, "dim2"):
            return _text(node, "dim2")
    return ""


def _open(office: Office, stored: StoredTransaction, line: etree._Element) -> str:
    """What is still open on a customer or supplier line: matched by invoice number."""
    number = _text(line, "invoicenumber") or (
        _text(stored.element, "header/invoicenumber") if line.get("type") == "total" else ""
    )
    dim2 = _text(line, "dim2")
    if not dim2 or not number or office.find_dimension(dim2, ("DEB", "CRD")) is None:
        return ""
    total = Decimal(0)
    for other, _n, node in office.iter_lines():
        other_number = _text(node, "invoicenumber") or (
            _text(other.element, "header/invoicenumber") if node.get("type") == "total" else ""
        )
        if _text(node, "dim2") == dim2 and other_number == number:
            base = Decimal(_text(node, "basevalue") or _text(node, "value") or "0")
            total += base if _text(node, "debitcredit") == "debit" else -base
    return money_text(total)


def _match_status(office: Office, stored: StoredTransaction, line: etree._Element) -> str:
    left = _open(office, stored, line)
    if left == "":
        return "notmatchable"
    return "matched" if Decimal(left) == 0 else "available"


FIELDS: Mapping[str, _Cell] = {
    "fin.trs.head.office": lambda office, stored, line: office.code,
    "fin.trs.head.officename": lambda office, stored, line: office.name,
    "fin.trs.head.code": lambda office, stored, line: stored.daybook,
    "fin.trs.head.number": lambda office, stored, line: stored.number,
    "fin.trs.head.status": lambda office, stored, line: stored.status,
    "fin.trs.head.date": _head("date"),
    "fin.trs.head.yearperiod": lambda office, stored, line: (
        _text(stored.element, "header/period")
        or f"{_text(stored.element, 'header/date')[:4]}/{_text(stored.element, 'header/date')[4:6]}"
    ),
    "fin.trs.head.year": lambda office, stored, line: _text(stored.element, "header/date")[:4],
    "fin.trs.head.curcode": _head("currency"),
    "fin.trs.head.relation": _relation,
    "fin.trs.head.inpdate": lambda office, stored, line: stored.entered.strftime("%Y%m%d%H%M%S"),
    "fin.trs.head.modified": lambda office, stored, line: stored.modified.strftime("%Y%m%d%H%M%S"),
    "fin.trs.line.linetype": lambda office, stored, line: line.get("type") or "detail",
    "fin.trs.line.dim1": _line("dim1"),
    "fin.trs.line.dim1name": _dim_name("dim1"),
    "fin.trs.line.dim1type": _dim_type("dim1"),
    "fin.trs.line.dim2": _line("dim2"),
    "fin.trs.line.dim2name": _dim_name("dim2"),
    "fin.trs.line.dim2type": _dim_type("dim2"),
    "fin.trs.line.dim3": _line("dim3"),
    "fin.trs.line.debitcredit": _line("debitcredit"),
    "fin.trs.line.valuesigned": _signed("value"),
    "fin.trs.line.basevaluesigned": _signed("basevalue", "value"),
    "fin.trs.line.vatcode": _line("vatcode"),
    "fin.trs.line.vatvaluesigned": _signed("vatvalue"),
    "fin.trs.line.vatbasevaluesigned": _signed("vatbasevalue"),
    "fin.trs.line.description": _line("description"),
    "fin.trs.line.invnumber": lambda office, stored, line: (
        _text(line, "invoicenumber")
        or (_text(stored.element, "header/invoicenumber") if line.get("type") == "total" else "")
    ),
    "fin.trs.line.datedue": lambda office, stored, line: (
        _text(line, "duedate")
        or (_text(stored.element, "header/duedate") if line.get("type") == "total" else "")
    ),
    "fin.trs.line.freetext1": _line("freetext1"),
    "fin.trs.line.freetext2": _line("freetext2"),
    "fin.trs.line.freetext3": _line("freetext3"),
    "fin.trs.line.rate": _line("rate"),
    "fin.trs.line.openbasevaluesigned": _open,
    "fin.trs.line.matchstatus": _match_status,
}


def _dim2_of(*types: str) -> Callable[[Office, StoredTransaction, etree._Element], bool]:
    def keep(office: Office, stored: StoredTransaction, line: etree._Element) -> bool:
        code = _text(line, "dim2")
        return bool(code) and office.find_dimension(code, types) is not None

    return keep


def _book_of(*kinds: str) -> Callable[[Office, StoredTransaction, etree._Element], bool]:
    def keep(office: Office, stored: StoredTransaction, line: etree._Element) -> bool:
        return office.daybooks[stored.daybook].type in kinds

    return keep


BROWSE_CODES: Mapping[str, Callable[[Office, StoredTransaction, etree._Element], bool]] = {
    "000": lambda office, stored, line: True,
    "030_3": lambda office, stored, line: True,
    "100": _dim2_of("DEB"),
    "200": _dim2_of("CRD"),
    "400": _book_of("cash"),
    "410": _book_of("bank"),
    "900": _dim2_of("KPL"),
}


def _matches(value: str, operator: str, low: str, high: str) -> bool:
    if operator in ("", "none"):
        return True
    if operator == "equal":
        return low == "" or value == low
    if operator == "between":
        return (not low or value >= low) and (not high or value <= high)
    if operator == "like":
        return low.replace("*", "") in value
    raise Refusal(f"Operator '{operator}' is not valid.")


def browse(office: Office, request: etree._Element) -> etree._Element:
    """Answer a ``<columns>`` request, or raise :class:`Refusal`."""
    code = request.get("code") or ""
    keep = BROWSE_CODES.get(code)
    if keep is None:
        raise Refusal(f"Browse code {code} does not exist.")
    columns = []
    for column in request.iterfind("column"):
        field = _text(column, "field")
        if field not in FIELDS:
            raise Refusal(f"Field {field} is not a column of browse code {code}.")
        columns.append(
            (
                field,
                _text(column, "visible") != "false",
                _text(column, "operator"),
                _text(column, "from"),
                _text(column, "to"),
            )
        )
    answer = etree.Element("browse", office=office.code, code=code)
    heading = etree.SubElement(answer, "th")
    for field, visible, *_ in columns:
        if visible:
            etree.SubElement(
                heading, "td", label=field, hideforuser="false", type="String"
            ).text = field
    count = 0
    for stored, number, line in office.iter_lines():
        if not keep(office, stored, line):
            continue
        values = {field: FIELDS[field](office, stored, line) for field, *_ in columns}
        if not all(_matches(values[f], op, low, high) for f, _v, op, low, high in columns):
            continue
        row = etree.SubElement(answer, "tr")
        for field, visible, *_ in columns:
            if visible:
                etree.SubElement(
                    row, "td", field=field, hideforuser="false", type="String"
                ).text = values[field]
        key = etree.SubElement(row, "key")
        for tag, value in (
            ("office", office.code),
            ("code", stored.daybook),
            ("number", stored.number),
            ("line", str(number)),
        ):
            etree.SubElement(key, tag).text = value
        count += 1
    answer.set("first", "1" if count else "0")
    answer.set("last", str(count))
    answer.set("total", str(count))
    return answer
