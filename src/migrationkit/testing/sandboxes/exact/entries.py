"""Entries in the Exact sandbox: sales, purchase, general journal, bank and cash entries.

What Exact enforces, as the connector meets it: the journal code must exist and be of the
entry's kind ("Ongeldige referentie: Journals"); an entry number is unique in its journal
("Already exists - Entry number: N, Journal: J") and Exact numbers an entry that has none; the
API creates general journal entries of type 90 only (an opening balance, type 10, cannot be
created); a general journal entry balances; a VAT code is used only where its journal allows
VAT; bank statements chain (each one's opening balance is the last one's closing balance);
an entry that is processed, or that a payment matched (``OurRef``), is not changed or deleted.

Every entry is also posted as transaction lines (debit positive): a header line (``LineNumber``
0: receivables, payables or the bank), a line per entry line and a line per VAT amount. They
are what ``financialtransaction/TransactionLines``, ``bulk/…`` and ``sync/…`` give, each with a
``Timestamp`` renewed whenever the entry changes; a deleted entry's lines go to the deleted log
(type 1, TransactionLines). ``read/financial/ReceivablesList`` and ``PayablesList`` are the
sales and purchase entries less what bank and cash entry lines matched to them by ``OurRef``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from .division import Division, check_fields, coerce, new_id
from .masters import KINDS, LINE_KINDS
from .odata import Invalid

__all__ = [
    "ENTRY_PATHS",
    "TEXT_FIELDS",
    "create_entry",
    "delete_entry",
    "open_items",
    "update_entry",
]

CENT = Decimal("0.01")
TEXT_FIELDS = ("YourRef", "PaymentReference", "Description", "DueDate")
"""What a processed or matched sales or purchase entry may still change."""
MAX_ENTRY_NUMBER = 2**31 - 1
SALES = "salesentry/SalesEntries"
PURCHASES = "purchaseentry/PurchaseEntries"
GENERAL = "generaljournalentry/GeneralJournalEntries"
BANK = "financialtransaction/BankEntries"
CASH = "financialtransaction/CashEntries"
ENTRY_PATHS = (SALES, PURCHASES, GENERAL, BANK, CASH)
_JOURNAL_TYPES = {SALES: (20, 21), PURCHASES: (22, 23), GENERAL: (90,), BANK: (12,), CASH: (10,)}
_ENTRY_TYPES = {SALES: (20, 21), PURCHASES: (30, 31), GENERAL: (90,), BANK: (40,), CASH: (41,)}


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT)


def _journal_field(path: str) -> str:
    return "Journal" if path in (SALES, PURCHASES) else "JournalCode"


def create_entry(division: Division, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and post a new entry; return its row."""
    kind = KINDS[path]
    assert kind.lines and kind.line_kind
    header = division.values(
        kind, {k: v for k, v in body.items() if k != kind.lines}, (kind.key, *kind.fields)
    )
    check_fields(kind.name, body, (kind.key, *kind.fields, kind.lines))
    lines = body.get(kind.lines)
    row: dict[str, Any] = dict.fromkeys((*kind.fields, *kind.read_only))
    row.update(header)
    row[kind.key] = header.get(kind.key) or new_id()
    row[kind.lines] = _lines(division, kind.line_kind, lines, row[kind.key])
    _post(division, path, row, None)
    division.rows[path][row[kind.key]] = row
    return row


def update_entry(
    division: Division, path: str, key: str, body: Mapping[str, Any]
) -> dict[str, Any]:
    """Change an entry's header (and its lines, when given).

    A processed or matched entry keeps its amounts: only its texts and due date may change.
    """
    kind = KINDS[path]
    assert kind.lines and kind.line_kind
    current = division.row(path, key)
    if set(body) - set(TEXT_FIELDS):
        _changeable(division, path, current, "changed")
    check_fields(kind.name, body, (*kind.fields, kind.lines))
    header = division.values(kind, {k: v for k, v in body.items() if k != kind.lines}, kind.fields)
    changed = {**current, **header}
    if kind.lines in body:
        changed[kind.lines] = _lines(division, kind.line_kind, body[kind.lines], current[kind.key])
    _post(division, path, changed, current)
    current.update(changed)
    return current


def delete_entry(division: Division, path: str, key: str) -> None:
    row = division.row(path, key)
    _changeable(division, path, row, "deleted")
    del division.rows[path][row[KINDS[path].key]]
    for line in division.transaction_lines.pop(row[KINDS[path].key], []):
        division.log_deleted(1, line["ID"])


def _changeable(division: Division, path: str, row: Mapping[str, Any], verb: str) -> None:
    if row.get("Status") == 50:
        raise Invalid(f"Entry {row.get('EntryNumber')} is processed and cannot be {verb}")
    if path in (SALES, PURCHASES) and _matched(division, path, row):
        raise Invalid(
            f"Entry {row.get('EntryNumber')} is matched with a payment and cannot be {verb}"
        )


def _lines(division: Division, line_kind: str, lines: Any, entry_id: str) -> list[dict[str, Any]]:
    if not isinstance(lines, list) or not lines:
        raise Invalid(f"Mandatory: {line_kind}s")
    allowed = LINE_KINDS[line_kind]
    found = []
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, Mapping):
            raise Invalid(f"Error processing request stream: {line_kind} is not an object")
        check_fields(line_kind, line, allowed)
        values = {name: coerce(line_kind, name, line.get(name)) for name in allowed}
        if values["AmountFC"] is None:
            raise Invalid(f"Mandatory: AmountFC ({line_kind} {number})")
        values.update(ID=new_id(), EntryID=entry_id, LineNumber=number, Division=division.code)
        found.append(values)
    return found


# ---------------------------------------------------------------------------------------------
# posting
# ---------------------------------------------------------------------------------------------


def _post(
    division: Division, path: str, row: dict[str, Any], current: Mapping[str, Any] | None
) -> None:
    """Check the entry against Exact's rules, complete it and (re)write its transaction lines."""
    kind = KINDS[path]
    journal = _journal(division, path, row)
    _number(division, path, row, journal["Code"], current)
    allowed = _ENTRY_TYPES[path]
    row["Type"] = row.get("Type") if row.get("Type") is not None else allowed[0]
    if row["Type"] not in allowed:
        if path == GENERAL and row["Type"] == 10:
            raise Invalid("Type: opening balance entries (10) cannot be created through the API")
        raise Invalid(f"Type: {row['Type']} is not allowed here (only {allowed})")
    if path in (SALES, PURCHASES):
        _document(division, path, row)
    elif path == GENERAL:
        _general(division, row, journal)
    else:
        _bank(division, path, row, journal)
    row["Status"] = row.get("Status") or 20
    now = division.now()
    if current is None:
        row["Created"] = now
        row["Division"] = division.code
    row["Modified"] = now
    previous = {
        line["LineNumber"]: line["ID"] for line in division.transaction_lines.get(row[kind.key], ())
    }
    division.transaction_lines[row[kind.key]] = [
        {**line, "ID": previous.get(line["LineNumber"], line["ID"]), "Timestamp": division.stamp()}
        for line in _transaction_lines(division, path, row, journal)
    ]


def _journal(division: Division, path: str, row: Mapping[str, Any]) -> dict[str, Any]:
    code = row.get(_journal_field(path))
    journal = division.by_code("financial/Journals", code)
    if journal is None:
        raise Invalid("Ongeldige referentie: Journals")
    if journal["Type"] not in _JOURNAL_TYPES[path]:
        raise Invalid(f"Journal {code} is not a journal for {KINDS[path].name}")
    if journal.get("IsBlocked"):
        raise Invalid(f"Journal {code} is blocked")
    return journal


def _number(
    division: Division,
    path: str,
    row: dict[str, Any],
    journal: str,
    current: Mapping[str, Any] | None,
) -> None:
    taken = {
        entry.get("EntryNumber")
        for other_path, entry in division.entries()
        if (entry.get("Journal") or entry.get("JournalCode")) == journal
        and (current is None or entry is not current)
        and entry is not row
    }
    number = row.get("EntryNumber")
    if number is None:
        row["EntryNumber"] = max((n for n in taken if n), default=0) + 1
        return
    if not 0 < number <= MAX_ENTRY_NUMBER:
        raise Invalid(f"EntryNumber: {number} is not a valid entry number")
    if number in taken:
        raise Invalid(f"Already exists - Entry number: {number}, Journal: {journal}")


def _rate(row: Mapping[str, Any], field: str, division: Division) -> Decimal:
    currency = row.get("Currency") or division.currency
    rate = row.get(field)
    if currency != division.currency and not rate:
        raise Invalid(f"Mandatory: {field} (the entry is in {currency})")
    if rate is not None and rate <= 0:
        raise Invalid(f"{field}: must be greater than zero")
    return rate or Decimal(1)


def _vat(division: Division, code: str | None, sales: bool) -> dict[str, Any] | None:
    vat = division.coded("vat/VATCodes", code, "VATCodes")
    if vat is None:
        return None
    if vat.get("IsBlocked"):
        raise Invalid(f"VAT code {code} is blocked")
    if vat["VATTransactionType"] == ("P" if sales else "S"):
        raise Invalid(f"VAT code {code} is not for {'sales' if sales else 'purchases'}")
    return vat


def _gl(division: Division, key: str | None) -> dict[str, Any]:
    if key is None:
        raise Invalid("Mandatory: GLAccount")
    account = division.reference("financial/GLAccounts", key, "GLAccounts")
    assert account is not None
    if account.get("IsBlocked"):
        raise Invalid(f"G/L account {account['Code']} is blocked")
    return account


def _relation(division: Division, key: str | None, label: str) -> dict[str, Any]:
    if key is None:
        raise Invalid(f"Mandatory: {label}")
    account = division.reference("crm/Accounts", key, "Accounts")
    assert account is not None
    if account.get("Blocked"):
        raise Invalid(f"Account {account['Code'].strip()} is blocked")
    return account


def _control(division: Division, relation: Mapping[str, Any], sales: bool) -> dict[str, Any]:
    """The receivables or payables G/L account of a relation (its own, else the first)."""
    own = relation.get("GLAR" if sales else "GLAP")
    if own:
        return division.row("financial/GLAccounts", own)
    wanted = 20 if sales else 22
    found = [r for r in division.rows["financial/GLAccounts"].values() if r["Type"] == wanted]
    if not found:
        kind = "receivable" if sales else "payable"
        raise Invalid(f"There is no G/L account of type Accounts {kind}")
    return min(found, key=lambda r: str(r["Code"]))


def _document(division: Division, path: str, row: dict[str, Any]) -> None:
    sales = path == SALES
    relation = _relation(
        division, row.get("Customer" if sales else "Supplier"), "Customer" if sales else "Supplier"
    )
    row["CustomerName" if sales else "SupplierName"] = relation["Name"]
    row["Currency"] = row.get("Currency") or division.currency
    rate = _rate(row, "Rate", division)
    row["Rate"] = rate
    today = division.now().date()
    row["EntryDate"] = row.get("EntryDate") or today
    condition = division.coded(
        "cashflow/PaymentConditions", row.get("PaymentCondition"), "PaymentConditions"
    )
    days = int(condition["PaymentDays"] or 0) if condition else 0
    row["DueDate"] = row.get("DueDate") or row["EntryDate"] + dt.timedelta(days=days)
    row["InvoiceNumber"] = row["EntryNumber"]
    row["ReportingYear"] = row["EntryDate"].year
    row["ReportingPeriod"] = row["EntryDate"].month
    lines = row[KINDS[path].lines or ""]
    for line in lines:
        _gl(division, line["GLAccount"])
        vat = _vat(division, line.get("VATCode"), sales)
        if line["VATAmountFC"] is None:
            percentage = vat["Percentage"] if vat and vat["Type"] == "E" else Decimal(0)
            line["VATAmountFC"] = _round(line["AmountFC"] * percentage)
        if line["VATAmountFC"] and vat is None:
            raise Invalid("Mandatory: VATCode (the line has a VAT amount)")
        if line["VATAmountFC"] and not vat.get("GLToPay" if sales else "GLToClaim"):  # type: ignore[union-attr]
            raise Invalid(f"VAT code {vat['Code']} has no G/L account for VAT")  # type: ignore[index]
        line["VATPercentage"] = vat["Percentage"] if vat else Decimal(0)
        line["AmountDC"] = (
            line["AmountDC"] if line["AmountDC"] is not None else _round(line["AmountFC"] * rate)
        )
        if line["VATAmountDC"] is None:
            line["VATAmountDC"] = _round(line["VATAmountFC"] * rate)
        _dimensions(division, line)
    row["AmountFC"] = sum((x["AmountFC"] + x["VATAmountFC"] for x in lines), Decimal(0))
    row["AmountDC"] = sum((x["AmountDC"] + x["VATAmountDC"] for x in lines), Decimal(0))
    row["VATAmountFC"] = sum((x["VATAmountFC"] for x in lines), Decimal(0))
    row["VATAmountDC"] = sum((x["VATAmountDC"] for x in lines), Decimal(0))
    _control(division, relation, sales)


def _dimensions(division: Division, line: Mapping[str, Any]) -> None:
    division.coded("hrm/Costcenters", line.get("CostCenter"), "Costcenters")
    division.coded("hrm/Costunits", line.get("CostUnit"), "Costunits")


def _general(division: Division, row: dict[str, Any], journal: Mapping[str, Any]) -> None:
    row["Currency"] = row.get("Currency") or division.currency
    rate = _rate(row, "ExchangeRate", division)
    row["ExchangeRate"] = rate
    lines = row[KINDS[GENERAL].lines or ""]
    for line in lines:
        _gl(division, line["GLAccount"])
        if line.get("Account") is not None:
            _relation(division, line["Account"], "Account")
        if line.get("VATCode") and not journal.get("AllowVAT"):
            raise Invalid(f"VATCode: journal {journal['Code']} does not allow VAT")
        line["Date"] = line.get("Date") or division.now().date()
        if line["AmountDC"] is None:
            line["AmountDC"] = _round(line["AmountFC"] * rate)
        _dimensions(division, line)
    if sum((line["AmountDC"] for line in lines), Decimal(0)) != 0:
        raise Invalid("The entry is not in balance")
    first = min(line["Date"] for line in lines)
    row["FinancialYear"], row["FinancialPeriod"] = first.year, first.month


def _bank(division: Division, path: str, row: dict[str, Any], journal: Mapping[str, Any]) -> None:
    row["Currency"] = row.get("Currency") or journal["Currency"]
    if row["Currency"] != journal["Currency"] and not journal.get("AllowVariableCurrency"):
        raise Invalid(f"Currency: journal {journal['Code']} only takes {journal['Currency']}")
    lines = row[KINDS[path].lines or ""]
    for line in lines:
        relation = None
        if line.get("Account") is not None:
            relation = _relation(division, line["Account"], "Account")
        if line.get("GLAccount") is None and relation is not None:
            customer = relation.get("Status") == "C" or not relation.get("IsSupplier")
            line["GLAccount"] = _control(division, relation, customer)["ID"]
        account = _gl(division, line.get("GLAccount"))
        vat = _vat(division, line.get("VATCode"), line["AmountFC"] > 0)
        if line["AmountVATFC"] is None:
            percentage = vat["Percentage"] if vat and vat["Type"] == "E" else Decimal(0)
            line["AmountVATFC"] = _round(line["AmountFC"] * percentage)
        if line["AmountVATFC"] and vat is None:
            raise Invalid("Mandatory: VATCode (the line has a VAT amount)")
        if account["Type"] in (20, 22) and relation is None:
            raise Invalid("Mandatory: Account (the G/L account is receivables or payables)")
        line["Date"] = line.get("Date") or division.now().date()
        rate = line.get("ExchangeRate") or Decimal(1)
        foreign = row["Currency"] != division.currency
        if foreign and not line.get("ExchangeRate") and line["AmountDC"] is None:
            raise Invalid(f"Mandatory: ExchangeRate (the entry is in {row['Currency']})")
        line["ExchangeRate"] = rate
        if line["AmountDC"] is None:
            line["AmountDC"] = _round(line["AmountFC"] * rate)
        _dimensions(division, line)
    total = sum((line["AmountFC"] + line["AmountVATFC"] for line in lines), Decimal(0))
    opening = _last_closing(division, path, journal["Code"], row)
    if row.get("OpeningBalanceFC") is not None and row["OpeningBalanceFC"] != opening:
        raise Invalid(
            f"OpeningBalanceFC: {row['OpeningBalanceFC']} is not the closing balance of the "
            f"previous statement ({opening})"
        )
    closing = opening + total
    if row.get("ClosingBalanceFC") is not None and row["ClosingBalanceFC"] != closing:
        raise Invalid(f"ClosingBalanceFC: the statement closes at {closing}")
    row["OpeningBalanceFC"], row["ClosingBalanceFC"] = opening, closing
    first = min(line["Date"] for line in lines)
    row["FinancialYear"], row["FinancialPeriod"] = first.year, first.month


def _last_closing(division: Division, path: str, journal: str, row: Mapping[str, Any]) -> Decimal:
    statements = [
        entry
        for entry in division.rows[path].values()
        if entry.get("JournalCode") == journal
        and entry is not row
        and entry["EntryID"] != row.get("EntryID")
    ]
    if not statements:
        return Decimal(0)
    last = max(statements, key=lambda e: e["EntryNumber"])
    return Decimal(last["ClosingBalanceFC"])


# ---------------------------------------------------------------------------------------------
# transaction lines and open items
# ---------------------------------------------------------------------------------------------


def _transaction_lines(
    division: Division, path: str, row: Mapping[str, Any], journal: Mapping[str, Any]
) -> Iterator[dict[str, Any]]:
    kind = KINDS[path]
    lines = row[kind.lines or ""]
    base = {
        "EntryID": row[kind.key],
        "EntryNumber": row["EntryNumber"],
        "JournalCode": journal["Code"],
        "Type": row["Type"],
        "Currency": row.get("Currency"),
        "Status": row.get("Status") or 20,
        "Division": division.code,
        "Created": row.get("Created") or division.now(),
        "Modified": division.now(),
        "YourRef": row.get("YourRef"),
        "InvoiceNumber": row.get("InvoiceNumber"),
        "DueDate": row.get("DueDate"),
        "AmountVATFC": Decimal(0),
        "VATCode": None,
        "ExchangeRate": row.get("Rate") or row.get("ExchangeRate") or Decimal(1),
    }
    number = 0

    def line(**values: Any) -> dict[str, Any]:
        nonlocal number
        gl = division.rows["financial/GLAccounts"][values["GLAccount"]]
        found = {**base, "ID": new_id(), "LineNumber": number, "GLAccountCode": gl["Code"]}
        found.update(values)
        number += 1
        return found

    if path in (SALES, PURCHASES):
        sales = path == SALES
        sign = Decimal(1) if sales else Decimal(-1)
        relation = division.rows["crm/Accounts"][row["Customer" if sales else "Supplier"]]
        control = _control(division, relation, sales)
        date = row["EntryDate"]
        yield line(
            GLAccount=control["ID"],
            Account=relation["ID"],
            AmountFC=sign * row["AmountFC"],
            AmountDC=sign * row["AmountDC"],
            Date=date,
            Description=row.get("Description"),
        )
        for entry_line in lines:
            yield line(
                GLAccount=entry_line["GLAccount"],
                Account=None,
                AmountFC=-sign * entry_line["AmountFC"],
                AmountDC=-sign * entry_line["AmountDC"],
                AmountVATFC=-sign * entry_line["VATAmountFC"],
                VATCode=entry_line.get("VATCode"),
                Date=date,
                Description=entry_line.get("Description"),
            )
        for entry_line in lines:
            if entry_line["VATAmountFC"] or entry_line["VATAmountDC"]:
                vat = division.by_code("vat/VATCodes", entry_line["VATCode"]) or {}
                yield line(
                    GLAccount=vat["GLToPay" if sales else "GLToClaim"],
                    Account=None,
                    AmountFC=-sign * entry_line["VATAmountFC"],
                    AmountDC=-sign * entry_line["VATAmountDC"],
                    VATCode=entry_line["VATCode"],
                    Date=date,
                    Description="VAT",
                )
        return
    if path == GENERAL:
        number = 1
        for entry_line in lines:
            yield line(
                GLAccount=entry_line["GLAccount"],
                Account=entry_line.get("Account"),
                AmountFC=entry_line["AmountFC"],
                AmountDC=entry_line["AmountDC"],
                Date=entry_line["Date"],
                Description=entry_line.get("Description"),
            )
        return
    total_fc = sum((x["AmountFC"] + x["AmountVATFC"] for x in lines), Decimal(0))
    vat_dc = {id(x): _round(x["AmountVATFC"] * x["ExchangeRate"]) for x in lines}
    total_dc = sum((x["AmountDC"] + vat_dc[id(x)] for x in lines), Decimal(0))
    first = min(x["Date"] for x in lines)
    yield line(
        GLAccount=journal["GLAccount"],
        Account=None,
        AmountFC=total_fc,
        AmountDC=total_dc,
        Date=first,
        Description="Bank",
    )
    for entry_line in lines:
        yield line(
            GLAccount=entry_line["GLAccount"],
            Account=entry_line.get("Account"),
            AmountFC=-entry_line["AmountFC"],
            AmountDC=-entry_line["AmountDC"],
            AmountVATFC=-entry_line["AmountVATFC"],
            VATCode=entry_line.get("VATCode"),
            Date=entry_line["Date"],
            Description=entry_line.get("Description"),
            YourRef=str(entry_line["OurRef"]) if entry_line.get("OurRef") else None,
        )
        if entry_line["AmountVATFC"]:
            vat = division.by_code("vat/VATCodes", entry_line["VATCode"]) or {}
            field = "GLToPay" if entry_line["AmountFC"] > 0 else "GLToClaim"
            yield line(
                GLAccount=vat.get(field) or entry_line["GLAccount"],
                Account=None,
                AmountFC=-entry_line["AmountVATFC"],
                AmountDC=-vat_dc[id(entry_line)],
                VATCode=entry_line["VATCode"],
                Date=entry_line["Date"],
                Description="VAT",
            )


def _bank_lines(
    division: Division, control_type: int
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """``(entry, line)`` of every bank and cash line on a receivables (20) or payables (22)
    G/L account."""
    for path in (BANK, CASH):
        for entry in division.rows[path].values():
            for line in entry[KINDS[path].lines or ""]:
                account = division.rows["financial/GLAccounts"].get(line["GLAccount"], {})
                if line.get("Account") and account.get("Type") == control_type:
                    yield entry, line


def _matched(division: Division, path: str, row: Mapping[str, Any]) -> bool:
    account = row.get("Customer") if path == SALES else row.get("Supplier")
    return bool(account) and any(
        line.get("Account") == account and line.get("OurRef") == row.get("EntryNumber")
        for _entry, line in _bank_lines(division, 20 if path == SALES else 22)
    )


def open_items(division: Division, sales: bool) -> Iterator[dict[str, Any]]:
    """``read/financial/ReceivablesList`` (``sales``) or ``PayablesList``: what is still open.

    Every entry and every bank or cash line on the relation is an open item until matched: a
    line whose ``OurRef`` is the entry number of one of the relation's entries settles that much
    of it; a line without one (a payment on account, a refund) stays open itself. Amounts are
    in the item's currency, what the relation owes (or is owed) positive.
    """
    path = SALES if sales else PURCHASES
    sign = Decimal(1) if sales else Decimal(-1)
    entries = {
        (row["Customer" if sales else "Supplier"], row["EntryNumber"]): row
        for row in division.rows[path].values()
    }
    paid: dict[str, Decimal] = {}
    loose: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for entry, line in _bank_lines(division, 20 if sales else 22):
        target = entries.get((line["Account"], line.get("OurRef")))
        amount = line["AmountFC"] + line["AmountVATFC"]
        if target is not None:
            paid[target["EntryID"]] = paid.get(target["EntryID"], Decimal(0)) + amount
        else:
            loose.append((entry, line))
    for row in sorted(division.rows[path].values(), key=lambda r: (r["Journal"], r["EntryNumber"])):
        relation = division.rows["crm/Accounts"][row["Customer" if sales else "Supplier"]]
        outstanding = sign * row["AmountFC"] - paid.get(row["EntryID"], Decimal(0)) * sign
        if outstanding:
            yield _item(
                relation,
                outstanding,
                row["Currency"],
                row.get("Description"),
                row.get("DueDate"),
                row["EntryNumber"],
                row["EntryID"],
                row["EntryDate"],
                row["Journal"],
                row.get("YourRef"),
            )
    for entry, line in loose:
        relation = division.rows["crm/Accounts"][line["Account"]]
        amount = -(line["AmountFC"] + line["AmountVATFC"]) * sign
        yield _item(
            relation,
            amount,
            entry["Currency"],
            line.get("Description"),
            line["Date"],
            entry["EntryNumber"],
            line["ID"],
            line["Date"],
            entry["JournalCode"],
            None,
        )


def _item(
    relation: Mapping[str, Any],
    amount: Decimal,
    currency: str,
    description: Any,
    due: Any,
    number: int,
    key: str,
    date: Any,
    journal: str,
    your_ref: Any,
) -> dict[str, Any]:
    return {
        "HID": number,
        "AccountId": relation["ID"],
        "AccountCode": relation["Code"],
        "AccountName": relation["Name"],
        "Amount": amount,
        "CurrencyCode": currency,
        "Description": description,
        "DueDate": due,
        "EntryNumber": number,
        "Id": key,
        "InvoiceDate": date,
        "InvoiceNumber": number,
        "JournalCode": journal,
        "YourRef": your_ref,
    }
