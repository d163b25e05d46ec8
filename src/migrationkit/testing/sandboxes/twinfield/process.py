"""ProcessXml: one request document in, the same document with results out.

Each element is answered on its own (``result="1"``, or ``result="0"`` with ``msgtype`` and
``msg`` on the field at fault), so one refused transaction never hides the others. A parent
with more than :data:`MAX_CHILDREN` children is refused whole, as Twinfield asks callers to
keep to 25.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from lxml import etree

from .browse import browse
from .office import Office, Refusal

__all__ = ["MAX_CHILDREN", "QUERY_ROOTS", "process"]

MAX_CHILDREN = 25
QUERY_ROOTS = frozenset({"read", "list", "columns", "accountcode", "accountcodes"})


def _text(element: etree._Element | None, path: str) -> str:
    if element is None:
        return ""
    found = element.find(path)
    return (found.text or "").strip() if found is not None else ""


def refused(element: etree._Element, refusal: Refusal) -> etree._Element:
    """The element as sent, ``result="0"``, the message on the field at fault."""
    answer = copy.deepcopy(element)
    answer.set("result", "0")
    target = None
    path = refusal.field or ""
    while path and target is None:
        # The field at fault, or the nearest element above it that is there (a missing dim2
        # is reported on its line).
        target = _indexed(answer, path)
        path = path.rpartition("/")[0]
    node = target if target is not None else answer
    node.set("msgtype", "error")
    node.set("msg", refusal.message)
    return answer


def _indexed(answer: etree._Element, path: str) -> etree._Element | None:
    """``lines/line[3]/dim1``: the third line's ``dim1`` (1-based, as Twinfield numbers lines)."""
    node: etree._Element | None = answer
    for part in path.split("/"):
        if node is None:
            return None
        if "[" in part:
            tag, _, index = part.partition("[")
            matches = node.findall(tag)
            position = int(index.rstrip("]")) - 1
            node = matches[position] if 0 <= position < len(matches) else None
        else:
            node = node.find(part)
    return node


def _one(
    element: etree._Element, save: Callable[[etree._Element], etree._Element]
) -> etree._Element:
    try:
        return save(element)
    except Refusal as refusal:
        return refused(element, refusal)


def _many(
    wrapper: etree._Element, tag: str, save: Callable[[etree._Element], etree._Element]
) -> etree._Element:
    children = [c for c in wrapper if isinstance(c.tag, str)]
    answer = etree.Element(wrapper.tag)
    if len(children) > MAX_CHILDREN:
        answer.set("result", "0")
        answer.set("msgtype", "error")
        answer.set(
            "msg",
            f"A document may hold at most {MAX_CHILDREN} {tag} elements; it holds "
            f"{len(children)}. Send them in several documents.",
        )
        return answer
    results = []
    for element in children:
        if element.tag != tag:
            results.append(refused(element, Refusal(f"Element {element.tag} is not a {tag}.")))
            continue
        results.append(_one(element, save))
    for result in results:
        answer.append(result)
    answer.set("result", "1" if all(r.get("result") == "1" for r in results) else "0")
    return answer


def process(
    office: Office | None, offices: dict[str, Office], request: etree._Element
) -> etree._Element:
    """Answer one ProcessXml document (``office`` is the CompanyCode header's)."""
    root = request.tag
    if root == "list" and _text(request, "type") == "offices":
        answer = etree.Element("offices", result="1")
        for code, known in offices.items():
            etree.SubElement(answer, "office", name=known.name, shortname=known.name).text = code
        return answer
    if office is None:
        return refused(request, Refusal("Company ontbreekt in request header."))
    named = _text(request, "office") or _text(request, "header/office")
    if root not in ("columns",) and named and named != office.code:
        return refused(request, Refusal(f"Office {named} differs from the CompanyCode header."))
    savers: dict[str, tuple[str, Callable[[etree._Element], etree._Element]]] = {
        "dimensions": ("dimension", office.save_dimension),
        "dimensiongroups": ("dimensiongroup", office.save_group),
        "transactions": ("transaction", office.save_transaction),
        "articles": ("article", office.save_article),
    }
    if root in savers:
        tag, save = savers[root]
        return _many(request, tag, save)
    singles = dict(savers.values())
    if root in singles:
        return _one(request, singles[root])
    if root == "columns":
        try:
            return browse(office, request)
        except Refusal as refusal:
            return refused(request, refusal)
    if root == "read":
        return _read(office, request)
    if root == "list":
        return _list(office, request)
    return refused(request, Refusal(f"The request {root} is not known."))


def _read(office: Office, request: etree._Element) -> etree._Element:
    kind = _text(request, "type")
    code = _text(request, "code")
    if kind == "dimensions":
        dim_type = _text(request, "dimtype")
        found = office.dimensions.get((dim_type, code))
        if found is None:
            return refused(request, Refusal(f"Dimension {dim_type} {code} does not exist.", "code"))
        return office.answer_dimension(found)
    if kind == "vat":
        vat = office.vat_codes.get(code)
        if vat is None:
            return refused(request, Refusal(f"VAT code {code} does not exist.", "code"))
        answer = etree.Element("vat", status="active", result="1")
        for tag, value in (("code", vat.code), ("name", vat.name), ("type", vat.type)):
            etree.SubElement(answer, tag).text = value
        percentage = etree.SubElement(etree.SubElement(answer, "percentages"), "percentage")
        etree.SubElement(percentage, "date").text = "20110101"
        etree.SubElement(percentage, "percentage").text = str(vat.percentage)
        account = etree.SubElement(etree.SubElement(percentage, "accounts"), "account", id="1")
        etree.SubElement(account, "dim1").text = vat.account
        etree.SubElement(account, "group").text = vat.group
        etree.SubElement(account, "percentage").text = "100"
        etree.SubElement(account, "linetype").text = "vat"
        return answer
    if kind == "transaction":
        stored = office.transactions.get((code, _text(request, "number")))
        if stored is None:
            return refused(request, Refusal("Transaction does not exist.", "number"))
        answer = copy.deepcopy(stored.element)
        answer.set("result", "1")
        answer.set("location", stored.status)
        return answer
    if kind == "article":
        article = office.articles.get(code)
        if article is None:
            return refused(request, Refusal(f"Article {code} does not exist.", "code"))
        answer = copy.deepcopy(article)
        answer.set("result", "1")
        answer.set("status", "active")
        return answer
    if kind == "transactiontype":
        book = office.daybooks.get(code)
        if book is None:
            return refused(request, Refusal(f"Transaction type {code} does not exist.", "code"))
        answer = etree.Element("transactiontype", result="1", status="active")
        for tag, value in (
            ("code", book.code),
            ("name", book.name),
            ("type", book.type),
            ("account", book.account or ""),
            ("currency", book.currency or ""),
        ):
            etree.SubElement(answer, tag).text = value
        return answer
    if kind == "office":
        answer = etree.Element("office", result="1")
        for tag, value in (
            ("code", office.code),
            ("name", office.name),
            ("basecurrency", office.base_currency),
        ):
            etree.SubElement(answer, tag).text = value
        return answer
    return refused(request, Refusal(f"Read type {kind} is not known.", "type"))


def _list(office: Office, request: etree._Element) -> etree._Element:
    kind = _text(request, "type")
    if kind == "dimensions":
        dim_type = _text(request, "dimtype")
        answer = etree.Element("dimensions", result="1", dimtype=dim_type)
        for (found_type, code), element in sorted(office.dimensions.items()):
            if found_type == dim_type:
                hidden = (found_type, code) in office.hidden
                node = etree.SubElement(
                    answer,
                    "dimension",
                    name=_text(element, "name"),
                    shortname=_text(element, "shortname"),
                    status="hide" if hidden else "active",
                )
                node.text = code
        return answer
    if kind == "vats":
        answer = etree.Element("vats", result="1")
        for code, vat in sorted(office.vat_codes.items()):
            etree.SubElement(answer, "vat", name=vat.name, type=vat.type).text = code
        return answer
    if kind == "articles":
        answer = etree.Element("articles", result="1")
        for code, article in sorted(office.articles.items()):
            etree.SubElement(answer, "article", name=_text(article, "header/name")).text = code
        return answer
    return refused(request, Refusal(f"List type {kind} is not known.", "type"))
