"""Reading a Xero organisation back as canonical records.

Every record's key is the id the connector's load returned for it (a Xero id, or a composite
one for what became several Xero records), and every reference is such an id too, so that
reconcile can turn them back into source keys through the id map. Conversion records
(opening balances, outstanding items, refunds, routed journals) are recognised by the marks
:mod:`.mapping` writes on them and come back as the canonical records they came from.

Lists are read whole once and kept until the connector writes again; reads ``since`` a moment
go to the API with ``If-Modified-Since`` and are kept the same way (several entities ask for
the same list). What went at Xero is read by :class:`~.gone.Gone` (``reader.gone``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from migrationkit.core.model import (
    Allocation,
    BankAccount,
    BankAccountKind,
    BankTransaction,
    BankTransactionKind,
    BankTransfer,
    Company,
    Contact,
    ControlRole,
    CreditNote,
    DocumentKind,
    Invoice,
    Item,
    ItemKind,
    JournalLine,
    LedgerAccount,
    ManualJournal,
    OpeningBalance,
    OpenItem,
    OpenItemKind,
    Payment,
    PaymentKind,
    Record,
    Refund,
    RefundKind,
    TaxRate,
    TaxTreatment,
    TrackingAssignment,
    TrackingCategory,
    TrackingOption,
)
from migrationkit.core.money import ZERO

from . import mapping as m
from .client import XeroApi
from .gone import Gone
from .wire import parse_date

__all__ = ["XeroReader"]

Raw = dict[str, Any]
_LIVE = ("AUTHORISED", "PAID")


class XeroReader:
    """Reads one tenant's records as canonical records (see the module docstring)."""

    def __init__(self, api: XeroApi, *, sundry_contact: str) -> None:
        self.api = api
        self.sundry_contact = sundry_contact
        self._cache: dict[str, Any] = {}
        self.gone = Gone(self)

    def invalidate(self) -> None:
        """Forget what was read: the connector has just written."""
        self._cache.clear()

    # -- raw lists -----------------------------------------------------------------------------

    def _cached(self, name: str, read: Callable[[], Any]) -> Any:
        if name not in self._cache:
            self._cache[name] = read()
        return self._cache[name]

    def organisation(self) -> Raw:
        def read() -> Raw:
            body = self.api.get("/Organisation")
            return dict((body.get("Organisations") or [{}])[0])

        return self._cached("organisation", read)  # type: ignore[no-any-return]

    def accounts(self) -> list[Raw]:
        return self._cached("accounts", lambda: list(self.api.get("/Accounts")["Accounts"]))  # type: ignore[no-any-return]

    def chart(self) -> dict[str, m.XeroAccount]:
        return {a["AccountID"]: m.XeroAccount.from_xero(a) for a in self.accounts()}

    def by_code(self) -> dict[str, m.XeroAccount]:
        return {a.code: a for a in self.chart().values() if a.code and a.status != "DELETED"}

    def _paged(self, path: str, key: str, params: Mapping[str, Any] | None = None) -> list[Raw]:
        return self._cached(path, lambda: list(self.api.pages(path, key, params)))  # type: ignore[no-any-return]

    def invoices(self) -> list[Raw]:
        return self._paged("/Invoices", "Invoices", {"unitdp": 4})

    def credit_notes(self) -> list[Raw]:
        return self._paged("/CreditNotes", "CreditNotes", {"unitdp": 4})

    def bank_transactions(self) -> list[Raw]:
        return self._paged("/BankTransactions", "BankTransactions", {"unitdp": 4})

    def manual_journals(self) -> list[Raw]:
        return self._paged("/ManualJournals", "ManualJournals")

    def payments(self) -> list[Raw]:
        return self._paged("/Payments", "Payments")

    def overpayments(self) -> list[Raw]:
        return self._paged("/Overpayments", "Overpayments")

    def contacts(self) -> list[Raw]:
        return self._paged("/Contacts", "Contacts", {"includeArchived": True})

    def batch_payments(self) -> list[Raw]:
        return self._cached(  # type: ignore[no-any-return]
            "batch", lambda: list(self.api.get("/BatchPayments").get("BatchPayments") or [])
        )

    def transfers(self, deleted: bool = False) -> list[Raw]:
        params = {"includeDeleted": True} if deleted else None
        return self._cached(  # type: ignore[no-any-return]
            f"transfers:{deleted}",
            lambda: list(self.api.get("/BankTransfers", params).get("BankTransfers") or []),
        )

    def items(self) -> list[Raw]:
        return self._cached(  # type: ignore[no-any-return]
            "items", lambda: list(self.api.get("/Items", {"unitdp": 4}).get("Items") or [])
        )

    def tracking(self) -> list[Raw]:
        return self._cached(  # type: ignore[no-any-return]
            "tracking",
            lambda: list(
                self.api.get("/TrackingCategories", {"includeArchived": True}).get(
                    "TrackingCategories"
                )
                or []
            ),
        )

    def tax_rates(self) -> list[Raw]:
        return self._cached(  # type: ignore[no-any-return]
            "tax", lambda: list(self.api.get("/TaxRates").get("TaxRates") or [])
        )

    def changed_since(
        self, path: str, key: str, since: dt.datetime, params: Mapping[str, Any]
    ) -> list[Raw]:
        """What Xero changed since a moment (kept, like the lists: several entities ask)."""
        asked = ",".join(f"{k}={v}" for k, v in sorted(params.items()))
        return self._cached(  # type: ignore[no-any-return]
            f"since:{path}?{asked}@{since.isoformat()}",
            lambda: list(self.api.pages(path, key, params, since=since)),
        )

    # -- classification of Xero documents ------------------------------------------------------

    def _first_line(self, raw: Raw) -> str:
        lines = raw.get("LineItems") or []
        return str(lines[0].get("Description") or "") if len(lines) == 1 else ""

    def open_item_kind(self, raw: Raw) -> OpenItemKind | None:
        return m.parse_open_item_line(self._first_line(raw), str(raw.get("Type")))

    def is_refund_document(self, raw: Raw) -> bool:
        return raw.get("Type") in ("ACCREC", "ACCPAY") and self._first_line(raw).startswith(
            m.REFUND_PREFIX
        )

    def journal_part(self, raw: Raw) -> tuple[str, int] | None:
        match = m.JOURNAL_PART.match(self._first_line(raw))
        return (match.group(1), int(match.group(2))) if match else None

    def document_role(self, raw: Raw) -> str:
        if self.journal_part(raw):
            return "journal"
        if self.open_item_kind(raw):
            return "open_items"
        if self.is_refund_document(raw):
            return "refunds"
        return "documents"

    def refund_parts(self) -> dict[str, str]:
        """Refund invoice id to the composite refund key (``invoice+banktransaction``)."""

        def read() -> dict[str, str]:
            found = {}
            for raw in self.bank_transactions():
                match = m.REFUND_PAID.match(self._first_line(raw))
                if match and raw.get("Status") != "DELETED":
                    found[match.group(1)] = f"{match.group(1)}+{raw['BankTransactionID']}"
            return found

        return self._cached("refund_parts", read)  # type: ignore[no-any-return]

    def allocation_target(self, invoice_id: str) -> tuple[str, str]:
        """``(entity, key)`` of an invoice something is allocated to."""
        index = self._cached("invoice_roles", lambda: {r["InvoiceID"]: r for r in self.invoices()})
        raw = index.get(invoice_id)
        if raw is not None and self.open_item_kind(raw):
            return "open_items", invoice_id
        refund = self.refund_parts().get(invoice_id)
        if refund is not None:
            return "refunds", refund
        return "invoices", invoice_id

    # -- extraction ----------------------------------------------------------------------------

    def extract_company(self, since: dt.datetime | None) -> Iterator[Record]:
        org = self.organisation()
        end_day = int(org.get("FinancialYearEndDay") or 31)
        end_month = int(org.get("FinancialYearEndMonth") or 12)
        start = _day_after(end_month, end_day)
        yield Company(
            key=str(org["OrganisationID"]),
            name=str(org.get("Name") or ""),
            registration=org.get("RegistrationNumber"),
            tax_number=org.get("TaxNumber"),
            base_currency=str(org.get("BaseCurrency") or "GBP"),
            year_start_month=start.month,
            year_start_day=start.day,
        )

    def extract_tax_rates(self, since: dt.datetime | None) -> Iterator[Record]:
        rates = {r["TaxType"]: r for r in self.tax_rates() if r.get("Status") != "DELETED"}
        paired = set()
        for key, (name, treatment, percent) in m.TAX_PAIRS.items():
            parts = key.split("/")
            if not all(p in rates for p in parts):
                continue
            paired.update(parts)
            yield TaxRate(
                key=key,
                code=key,
                name=name,
                rate=percent,
                treatment=treatment,
                in_tax_return=treatment is not TaxTreatment.OUTSIDE_SCOPE,
                inactive=any(rates[p].get("Status") != "ACTIVE" for p in parts),
            )
        for tax_type, raw in rates.items():
            if tax_type in paired:
                continue
            yield TaxRate(
                key=tax_type,
                code=tax_type,
                name=str(raw.get("Name") or tax_type),
                rate=raw.get("EffectiveRate") or raw.get("DisplayTaxRate") or ZERO,
                treatment=TaxTreatment.OTHER,
                inactive=raw.get("Status") != "ACTIVE",
            )

    def extract_ledger_accounts(self, since: dt.datetime | None) -> Iterator[Record]:
        accounts = (
            self.accounts() if since is None else self.api.get("/Accounts", since=since)["Accounts"]
        )
        for raw in accounts:
            if raw.get("Status") == "DELETED":
                continue
            account = m.XeroAccount.from_xero(raw)
            record = LedgerAccount(
                key=account.id,
                code=account.code or account.name[:10],
                name=account.name,
                type=m.account_type_from_xero(account.type),
                control_role=m.role_of(account),
                tax_rate=_default_tax(raw.get("TaxType")),
                currency=account.currency,
                description=raw.get("Description"),
                inactive=account.status == "ARCHIVED",
            )
            yield record
            if account.system == "GST":
                # Xero's one VAT account also plays the purchase-tax role.
                yield LedgerAccount(
                    key=account.id + m.INPUT_VIEW,
                    code=f"{account.code or ''}/input",
                    name=f"{account.name} (input)",
                    type=record.type,
                    control_role=ControlRole.PURCHASE_TAX,
                    inactive=record.inactive,
                )

    def extract_tracking_categories(self, since: dt.datetime | None) -> Iterator[Record]:
        for raw in self.tracking():
            if raw.get("Status") == "DELETED":
                continue
            yield TrackingCategory(
                key=raw["TrackingCategoryID"],
                name=raw["Name"],
                options=tuple(
                    TrackingOption(
                        key=o["TrackingOptionID"],
                        name=o["Name"],
                        inactive=o.get("Status") not in (None, "ACTIVE"),
                    )
                    for o in raw.get("Options") or ()
                ),
                inactive=raw.get("Status") == "ARCHIVED",
            )

    def extract_bank_accounts(self, since: dt.datetime | None) -> Iterator[Record]:
        accounts = (
            self.accounts() if since is None else self.api.get("/Accounts", since=since)["Accounts"]
        )
        for raw in accounts:
            if raw.get("Type") != "BANK" or raw.get("Status") == "DELETED":
                continue
            yield BankAccount(
                key=raw["AccountID"],
                name=raw["Name"],
                account=raw["AccountID"],
                kind=BankAccountKind.CREDIT_CARD
                if raw.get("BankAccountType") == "CREDITCARD"
                else BankAccountKind.CURRENT,
                currency=raw.get("CurrencyCode") or self._base(),
                account_number=raw.get("BankAccountNumber"),
                inactive=raw.get("Status") == "ARCHIVED",
            )

    def _base(self) -> str:
        return str(self.organisation().get("BaseCurrency") or "GBP")

    def extract_contacts(self, since: dt.datetime | None) -> Iterator[Record]:
        contacts = (
            self.contacts()
            if since is None
            else self.changed_since("/Contacts", "Contacts", since, {"includeArchived": True})
        )
        codes = self.by_code()
        for raw in contacts:
            phones = [p.get("PhoneNumber") for p in raw.get("Phones") or () if p.get("PhoneNumber")]
            names = " ".join(x for x in (raw.get("FirstName"), raw.get("LastName")) if x)
            terms = raw.get("PaymentTerms") or {}
            term = terms.get("Sales") or terms.get("Bills") or {}
            customer = bool(raw.get("IsCustomer")) or bool(terms.get("Sales"))
            yield Contact(
                key=raw["ContactID"],
                code=raw.get("AccountNumber"),
                name=raw["Name"],
                is_customer=customer,
                is_supplier=bool(raw.get("IsSupplier")) or bool(terms.get("Bills")),
                address=m.address_from_xero(raw.get("Addresses") or ()),
                contact_name=names or None,
                email=raw.get("EmailAddress"),
                phone=phones[0] if phones else None,
                tax_number=raw.get("TaxNumber"),
                currency=raw.get("DefaultCurrency"),
                payment_terms_days=term.get("Day")
                if term.get("Type") == "DAYSAFTERBILLDATE"
                else None,
                sales_account=_account_id(codes, raw.get("SalesDefaultAccountCode")),
                purchase_account=_account_id(codes, raw.get("PurchasesDefaultAccountCode")),
                tax_rate=m.tax_key_for(
                    raw.get("AccountsReceivableTaxType") or raw.get("AccountsPayableTaxType")
                ),
                inactive=raw.get("ContactStatus") == "ARCHIVED",
            )

    def extract_items(self, since: dt.datetime | None) -> Iterator[Record]:
        items = (
            self.items()
            if since is None
            else self.api.get("/Items", {"unitdp": 4}, since=since).get("Items") or []
        )
        codes = self.by_code()
        for raw in items:
            sales = raw.get("SalesDetails") or {}
            purchase = raw.get("PurchaseDetails") or {}
            yield Item(
                key=raw["ItemID"],
                code=raw["Code"],
                name=raw.get("Name") or raw["Code"],
                description=raw.get("Description"),
                kind=ItemKind.STOCK if raw.get("IsTrackedAsInventory") else ItemKind.NON_STOCK,
                sales_price=sales.get("UnitPrice"),
                purchase_price=purchase.get("UnitPrice"),
                sales_account=_account_id(codes, sales.get("AccountCode")),
                purchase_account=_account_id(codes, purchase.get("AccountCode")),
                tax_rate=m.tax_key_for(sales.get("TaxType") or purchase.get("TaxType")),
            )

    # -- opening balances and outstanding items ------------------------------------------------

    def extract_opening_balances(self, since: dt.datetime | None) -> Iterator[Record]:
        codes = self.by_code()
        journals = (
            self.manual_journals()
            if since is None
            else self.changed_since("/ManualJournals", "ManualJournals", since, {})
        )
        for raw in journals:
            parsed = m.parse_opening_narration(str(raw.get("Narration") or ""))
            if parsed is None or raw.get("Status") != "POSTED":
                continue
            record = self._opening_journal(raw, parsed, codes)
            if record is not None:
                yield record
        transactions = (
            self.bank_transactions()
            if since is None
            else self.changed_since("/BankTransactions", "BankTransactions", since, {"unitdp": 4})
        )
        for raw in transactions:
            parsed = m.parse_opening_narration(str(raw.get("Reference") or ""))
            if parsed is None or raw.get("Status") != "AUTHORISED":
                continue
            sign = 1 if raw["Type"] == "RECEIVE" else -1
            yield OpeningBalance(
                key=raw["BankTransactionID"],
                account=raw["BankAccount"]["AccountID"],
                as_of=parsed[0],
                balance=sign * raw["Total"],
            )

    def _opening_journal(
        self,
        raw: Raw,
        parsed: tuple[dt.date, str],
        codes: Mapping[str, m.XeroAccount],
    ) -> OpeningBalance | None:
        lines = raw.get("JournalLines") or []
        main = [ln for ln in lines if ln.get("Description") != m.CLEARING_LINE]
        clearing = [ln for ln in lines if ln.get("Description") == m.CLEARING_LINE]
        if len(main) != 1 or len(clearing) != 1:
            return None
        line = main[0]
        account_id = _line_account(line, codes)
        if account_id is None:
            return None
        if account_id == _line_account(clearing[0], codes):
            # A receivables or payables balance, carried by the outstanding items: the
            # journal only records it, so the account comes from the narration.
            code = parsed[1].split(" ", 1)[0]
            account = codes.get(code)
            if account is None:
                return None
            account_id = account.id
        elif str(line.get("Description") or "").endswith(m.INPUT_VAT_MARK):
            account_id += m.INPUT_VIEW
        return OpeningBalance(
            key=raw["ManualJournalID"],
            account=account_id,
            as_of=parsed[0],
            balance=line["LineAmount"],
        )

    def extract_open_items(self, since: dt.datetime | None) -> Iterator[Record]:
        documents = [
            *self._documents("/Invoices", "Invoices", since),
            *self._documents("/CreditNotes", "CreditNotes", since),
        ]
        for raw in documents:
            kind = self.open_item_kind(raw)
            if kind is None or raw.get("Status") not in _LIVE:
                continue
            credit = "CreditNoteID" in raw
            key = raw["CreditNoteID"] if credit else raw["InvoiceID"]
            number = raw.get("CreditNoteNumber" if credit else "InvoiceNumber") or None
            if kind in (OpenItemKind.CUSTOMER_PAYMENT, OpenItemKind.SUPPLIER_PAYMENT):
                number = raw.get("Reference") or None
            rate = raw.get("CurrencyRate") or Decimal(1)
            total = raw["Total"]
            yield OpenItem(
                key=key,
                kind=kind,
                contact=raw["Contact"]["ContactID"],
                number=number,
                date=_date(raw["Date"]),
                due_date=parse_date(raw.get("DueDate")),
                currency=raw.get("CurrencyCode") or self._base(),
                exchange_rate=rate,
                gross=total,
                outstanding=total,
                base_outstanding=m.base_amount(total, rate),
                allocations=self._allocations(raw) if credit else (),
            )

    # -- documents -----------------------------------------------------------------------------

    def _documents(self, path: str, key: str, since: dt.datetime | None) -> list[Raw]:
        if since is None:
            return self.invoices() if path == "/Invoices" else self.credit_notes()
        return self.changed_since(path, key, since, {"unitdp": 4})

    def _lines(self, raw: Raw) -> tuple[Any, ...]:
        codes = self.by_code()
        items = (
            {i["Code"]: i["ItemID"] for i in self.items()}
            if any(line.get("ItemCode") for line in raw.get("LineItems") or ())
            else {}
        )
        rate = raw.get("CurrencyRate") or Decimal(1)
        amount_types = str(raw.get("LineAmountTypes") or "Exclusive")
        lines = []
        for line in raw.get("LineItems") or ():
            account = _line_account(line, codes) or ""
            lines.append(
                m.line_from_xero(
                    line,
                    account_id=account,
                    amount_types=amount_types,
                    rate=rate,
                    item_id=items.get(line.get("ItemCode") or ""),
                )
            )
        return tuple(lines)

    def _document_fields(self, raw: Raw, number_field: str) -> dict[str, Any]:
        return {
            "kind": m.document_kind(str(raw["Type"])),
            "number": raw.get(number_field) or None,
            "contact": raw["Contact"]["ContactID"],
            "date": _date(raw["Date"]),
            "due_date": parse_date(raw.get("DueDate")),
            "reference": raw.get("Reference") or None,
            "currency": raw.get("CurrencyCode") or self._base(),
            "exchange_rate": raw.get("CurrencyRate") or Decimal(1),
            "status": m.document_status(str(raw["Status"])),
            "lines": self._lines(raw),
        }

    def extract_invoices(self, since: dt.datetime | None) -> Iterator[Record]:
        for raw in self._documents("/Invoices", "Invoices", since):
            if raw.get("Status") == "DELETED" or self.document_role(raw) != "documents":
                continue
            yield Invoice(key=raw["InvoiceID"], **self._document_fields(raw, "InvoiceNumber"))

    def extract_credit_notes(self, since: dt.datetime | None) -> Iterator[Record]:
        for raw in self._documents("/CreditNotes", "CreditNotes", since):
            if raw.get("Status") == "DELETED" or self.document_role(raw) != "documents":
                continue
            yield CreditNote(
                key=raw["CreditNoteID"],
                allocations=self._allocations(raw),
                **self._document_fields(raw, "CreditNoteNumber"),
            )

    def _allocations(self, raw: Raw) -> tuple[Allocation, ...]:
        allocations = []
        for allocation in raw.get("Allocations") or ():
            if allocation.get("IsDeleted"):
                continue
            entity, key = self.allocation_target(allocation["Invoice"]["InvoiceID"])
            allocations.append(
                Allocation(
                    document_entity=entity,
                    document=key,
                    amount=allocation["Amount"],
                    date=parse_date(allocation.get("Date")),
                )
            )
        for payment in raw.get("Payments") or ():
            # A refund of this credit, paid out of a bank account (a native Xero refund).
            allocations.append(
                Allocation(
                    document_entity="refunds",
                    document=f"payment/{payment['PaymentID']}",
                    amount=payment["Amount"],
                    date=parse_date(payment.get("Date")),
                )
            )
        return tuple(allocations)

    def extract_refunds(self, since: dt.datetime | None) -> Iterator[Record]:
        parts = self.refund_parts()
        transactions = {r["BankTransactionID"]: r for r in self.bank_transactions()}
        for raw in self.invoices():
            key = parts.get(raw["InvoiceID"])
            if key is None or raw.get("Status") not in _LIVE or not self.is_refund_document(raw):
                continue
            paid = transactions[key.split("+", 1)[1]]
            rate = raw.get("CurrencyRate") or Decimal(1)
            yield Refund(
                key=key,
                kind=RefundKind.CUSTOMER_REFUND
                if raw["Type"] == "ACCREC"
                else RefundKind.SUPPLIER_REFUND,
                contact=raw["Contact"]["ContactID"],
                bank_account=paid["BankAccount"]["AccountID"],
                date=_date(paid["Date"]),
                reference=paid.get("Reference") or None,
                description=_after(self._first_line(raw), m.REFUND_PREFIX) or None,
                currency=raw.get("CurrencyCode") or self._base(),
                exchange_rate=rate,
                amount=raw["Total"],
                base_amount=m.base_amount(raw["Total"], rate),
            )
        for payment in self.payments():
            kind = _NATIVE_REFUNDS.get(str(payment.get("PaymentType")))
            if kind is None or payment.get("Status") == "DELETED":
                continue
            document = payment.get("CreditNote") or payment.get("Overpayment") or {}
            rate = payment.get("CurrencyRate") or Decimal(1)
            yield Refund(
                key=f"payment/{payment['PaymentID']}",
                kind=kind,
                contact=document.get("Contact", {}).get("ContactID", ""),
                bank_account=payment["Account"]["AccountID"],
                date=_date(payment["Date"]),
                reference=payment.get("Reference") or None,
                currency=document.get("CurrencyCode") or self._base(),
                exchange_rate=rate,
                amount=payment["Amount"],
                base_amount=m.base_amount(payment["Amount"], rate),
            )

    # -- payments ------------------------------------------------------------------------------

    def extract_payments(self, since: dt.datetime | None) -> Iterator[Record]:
        for raw in self.payments():
            if raw.get("Status") == "DELETED" or raw.get("BatchPaymentID") or "Invoice" not in raw:
                continue
            yield self._single_payment(raw)
        for batch in self.batch_payments():
            if batch.get("Status") == "DELETED":
                continue
            yield from self._batch_payment(batch)
        overpayments = {o["OverpaymentID"]: o for o in self.overpayments()}
        for raw in self.bank_transactions():
            if raw.get("Type") not in ("RECEIVE-OVERPAYMENT", "SPEND-OVERPAYMENT"):
                continue
            if raw.get("Status") == "DELETED":
                continue
            yield self._overpayment(raw, overpayments.get(raw.get("OverpaymentID") or "", {}))

    def _single_payment(self, raw: Raw, key: str | None = None) -> Payment:
        invoice = raw["Invoice"]
        rate = raw.get("CurrencyRate") or Decimal(1)
        entity, document = self.allocation_target(invoice["InvoiceID"])
        return Payment(
            key=key or f"payment/{raw['PaymentID']}",
            kind=_payment_kind(str(invoice.get("Type"))),
            contact=invoice.get("Contact", {}).get("ContactID", ""),
            bank_account=raw["Account"]["AccountID"],
            date=_date(raw["Date"]),
            reference=raw.get("Reference") or None,
            currency=invoice.get("CurrencyCode") or self._base(),
            exchange_rate=rate,
            amount=raw["Amount"],
            base_amount=m.base_amount(raw["Amount"], rate),
            allocations=(
                Allocation(
                    document_entity=entity,
                    document=document,
                    amount=raw["Amount"],
                    date=_date(raw["Date"]),
                ),
            ),
        )

    def _batch_payment(self, batch: Raw) -> Iterator[Payment]:
        parts = batch.get("Payments") or []
        contacts = {p["Invoice"].get("Contact", {}).get("ContactID") for p in parts}
        payments = {p["PaymentID"]: p for p in self.payments()}
        if len(contacts) != 1:
            # A batch across several contacts has no canonical form: one payment each.
            for part in parts:
                full = payments.get(part["PaymentID"])
                if full is not None:
                    yield self._single_payment(full)
            return
        first = payments.get(parts[0]["PaymentID"], parts[0]) if parts else {}
        invoice = first.get("Invoice", {})
        rate = first.get("CurrencyRate") or Decimal(1)
        total = sum((p["Amount"] for p in parts), ZERO)
        allocations = []
        for part in parts:
            entity, document = self.allocation_target(part["Invoice"]["InvoiceID"])
            allocations.append(
                Allocation(
                    document_entity=entity,
                    document=document,
                    amount=part["Amount"],
                    date=_date(batch["Date"]),
                )
            )
        yield Payment(
            key=f"batch/{batch['BatchPaymentID']}",
            kind=PaymentKind.CUSTOMER_RECEIPT
            if batch.get("Type") == "RECBATCH"
            else PaymentKind.SUPPLIER_PAYMENT,
            contact=next(iter(contacts)) or "",
            bank_account=batch["Account"]["AccountID"],
            date=_date(batch["Date"]),
            reference=batch.get("Reference") or None,
            currency=invoice.get("CurrencyCode") or self._base(),
            exchange_rate=rate,
            amount=total,
            base_amount=sum(
                (
                    m.base_amount(p["Amount"], payments.get(p["PaymentID"], p).get("CurrencyRate"))
                    for p in parts
                ),
                ZERO,
            ),
            allocations=tuple(allocations),
        )

    def _overpayment(self, raw: Raw, overpayment: Raw) -> Payment:
        rate = raw.get("CurrencyRate") or Decimal(1)
        allocations = []
        for allocation in overpayment.get("Allocations") or ():
            entity, document = self.allocation_target(allocation["Invoice"]["InvoiceID"])
            allocations.append(
                Allocation(
                    document_entity=entity,
                    document=document,
                    amount=allocation["Amount"],
                    date=parse_date(allocation.get("Date")),
                )
            )
        for payment in overpayment.get("Payments") or ():
            allocations.append(
                Allocation(
                    document_entity="refunds",
                    document=f"payment/{payment['PaymentID']}",
                    amount=payment["Amount"],
                    date=parse_date(payment.get("Date")),
                )
            )
        return Payment(
            key=f"overpayment/{raw['BankTransactionID']}",
            kind=PaymentKind.CUSTOMER_RECEIPT
            if raw["Type"] == "RECEIVE-OVERPAYMENT"
            else PaymentKind.SUPPLIER_PAYMENT,
            contact=raw["Contact"]["ContactID"],
            bank_account=raw["BankAccount"]["AccountID"],
            date=_date(raw["Date"]),
            reference=raw.get("Reference") or None,
            currency=raw.get("CurrencyCode") or self._base(),
            exchange_rate=rate,
            amount=raw["Total"],
            base_amount=m.base_amount(raw["Total"], rate),
            allocations=tuple(allocations),
        )

    # -- bank ----------------------------------------------------------------------------------

    def plain_bank_transaction(self, raw: Raw) -> bool:
        if raw.get("Type") not in ("SPEND", "RECEIVE"):
            return False
        if m.parse_opening_narration(str(raw.get("Reference") or "")):
            return False
        line = self._first_line(raw)
        return not (m.REFUND_PAID.match(line) or m.JOURNAL_PART.match(line))

    def extract_bank_transactions(self, since: dt.datetime | None) -> Iterator[Record]:
        transactions = (
            self.bank_transactions()
            if since is None
            else self.changed_since("/BankTransactions", "BankTransactions", since, {"unitdp": 4})
        )
        for raw in transactions:
            if raw.get("Status") != "AUTHORISED" or not self.plain_bank_transaction(raw):
                continue
            contact = raw.get("Contact") or {}
            sundry = contact.get("Name") == self.sundry_contact
            yield BankTransaction(
                key=raw["BankTransactionID"],
                kind=BankTransactionKind.SPEND
                if raw["Type"] == "SPEND"
                else BankTransactionKind.RECEIVE,
                bank_account=raw["BankAccount"]["AccountID"],
                contact=None if sundry else contact.get("ContactID"),
                date=_date(raw["Date"]),
                reference=raw.get("Reference") or None,
                currency=raw.get("CurrencyCode") or self._base(),
                exchange_rate=raw.get("CurrencyRate") or Decimal(1),
                lines=self._lines(raw),
            )

    def extract_bank_transfers(self, since: dt.datetime | None) -> Iterator[Record]:
        transfers = (
            self.transfers()
            if since is None
            else list(self.api.get("/BankTransfers", since=since).get("BankTransfers") or [])
        )
        for raw in transfers:
            if raw.get("Status") == "DELETED":
                continue
            yield BankTransfer(
                key=raw["BankTransferID"],
                from_bank_account=raw["FromBankAccount"]["AccountID"],
                to_bank_account=raw["ToBankAccount"]["AccountID"],
                date=_date(raw["Date"]),
                amount=raw["Amount"],
                currency=self._base(),
                reference=raw.get("Reference") or None,
            )

    # -- journals ------------------------------------------------------------------------------

    def journal_parts(self) -> dict[str, list[tuple[int, str, Raw]]]:
        """Documents that carry a routed journal's bank and control lines, by journal id."""

        def read() -> dict[str, list[tuple[int, str, Raw]]]:
            found: defaultdict[str, list[tuple[int, str, Raw]]] = defaultdict(list)
            for kind, records in (
                ("inv", self.invoices()),
                ("cn", self.credit_notes()),
                ("bt", self.bank_transactions()),
            ):
                for raw in records:
                    part = self.journal_part(raw)
                    if part is not None:
                        found[part[0]].append((part[1], kind, raw))
            for parts in found.values():
                parts.sort(key=lambda p: p[0])
            return dict(found)

        return self._cached("journal_parts", read)  # type: ignore[no-any-return]

    def journal_key(self, journal_id: str) -> str:
        parts = self.journal_parts().get(journal_id, [])
        return "+".join([journal_id, *(f"{kind}:{_part_id(kind, raw)}" for _, kind, raw in parts)])

    def extract_manual_journals(self, since: dt.datetime | None) -> Iterator[Record]:
        journals = (
            self.manual_journals()
            if since is None
            else self.changed_since("/ManualJournals", "ManualJournals", since, {})
        )
        codes = self.by_code()
        for raw in journals:
            if raw.get("Status") != "POSTED":
                continue
            if m.parse_opening_narration(str(raw.get("Narration") or "")):
                continue
            yield self._journal(raw, codes)

    def _journal(self, raw: Raw, codes: Mapping[str, m.XeroAccount]) -> ManualJournal:
        lines = []
        routed = False
        for line in raw.get("JournalLines") or ():
            description = str(line.get("Description") or "")
            if description.endswith(m.VIA_CLEARING):
                routed = True
                continue
            account = _line_account(line, codes) or ""
            if description.endswith(m.INPUT_VAT_MARK):
                account += m.INPUT_VIEW
                description = description[: -len(m.INPUT_VAT_MARK)]
            lines.append(
                JournalLine(
                    account=account,
                    amount=line["LineAmount"],
                    description=description,
                    tax_rate=_default_tax(line.get("TaxType")),
                    tracking=_journal_tracking(line),
                )
            )
        key = raw["ManualJournalID"]
        if routed:
            for _index, kind, part in self.journal_parts().get(key, []):
                if part.get("Status") in ("DELETED", "VOIDED"):
                    continue
                lines.append(self._part_line(kind, part))
            key = self.journal_key(key)
        return ManualJournal(
            key=key,
            date=_date(raw["Date"]),
            narration=str(raw.get("Narration") or ""),
            lines=tuple(lines),
        )

    def _part_line(self, kind: str, raw: Raw) -> JournalLine:
        """The bank or control line a routed journal's document carries, debit positive."""
        total = raw["Total"]
        description = _after(self._first_line(raw), ": ")
        if kind == "bt":
            sign = 1 if raw["Type"] == "RECEIVE" else -1
            return JournalLine(
                account=raw["BankAccount"]["AccountID"],
                amount=sign * total,
                description=description,
            )
        system = "DEBTORS" if str(raw["Type"]).startswith("ACCREC") else "CREDITORS"
        control = next(a for a in self.chart().values() if a.system == system)
        # Invoices debit receivables and credit payables; credit notes the other way round.
        debit = raw["Type"] in ("ACCREC", "ACCPAYCREDIT")
        return JournalLine(
            account=control.id, amount=total if debit else -total, description=description
        )


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

_NATIVE_REFUNDS = {
    "ARCREDITPAYMENT": RefundKind.CUSTOMER_REFUND,
    "AROVERPAYMENTPAYMENT": RefundKind.CUSTOMER_REFUND,
    "APCREDITPAYMENT": RefundKind.SUPPLIER_REFUND,
    "APOVERPAYMENTPAYMENT": RefundKind.SUPPLIER_REFUND,
}


def _payment_kind(invoice_type: str) -> PaymentKind:
    kind = m.document_kind(invoice_type)
    return (
        PaymentKind.CUSTOMER_RECEIPT
        if kind is DocumentKind.SALES
        else (PaymentKind.SUPPLIER_PAYMENT)
    )


def _part_id(kind: str, raw: Raw) -> str:
    return str(raw.get({"inv": "InvoiceID", "cn": "CreditNoteID", "bt": "BankTransactionID"}[kind]))


def _date(value: Any) -> dt.date:
    parsed = parse_date(value)
    if parsed is None:
        raise ValueError("a Xero record has no date")
    return parsed


def _day_after(month: int, day: int) -> dt.date:
    try:
        end = dt.date(2001, month, day)
    except ValueError:
        end = dt.date(2001, month, 28)
    return end + dt.timedelta(days=1)


def _account_id(codes: Mapping[str, m.XeroAccount], code: str | None) -> str | None:
    account = codes.get(code or "")
    return account.id if account else None


def _line_account(line: Mapping[str, Any], codes: Mapping[str, m.XeroAccount]) -> str | None:
    if line.get("AccountID"):
        return str(line["AccountID"])
    account = codes.get(line.get("AccountCode") or "")
    return account.id if account else None


def _journal_tracking(line: Mapping[str, Any]) -> tuple[TrackingAssignment, ...]:
    return tuple(
        TrackingAssignment(category=t["TrackingCategoryID"], option=t["TrackingOptionID"])
        for t in line.get("Tracking") or ()
        if t.get("TrackingCategoryID") and t.get("TrackingOptionID")
    )


def _default_tax(tax_type: str | None) -> str | None:
    """An account's default or a journal line's tax type; ``NONE`` there means no tax rate."""
    return None if tax_type in (None, "", "NONE") else m.tax_key_for(tax_type)


def _after(text: str, prefix: str) -> str:
    return text.split(prefix, 1)[1] if prefix in text else text
