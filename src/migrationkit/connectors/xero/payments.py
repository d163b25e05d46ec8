"""Payments and refunds in Xero, with the allocations they carry.

A payment takes one of three Xero shapes, and its target id says which: one invoice settled in
full is a Xero payment (``payment/ID``); several invoices are a batch payment (``batch/ID``, one
bank line, as the source had); money left on account is an overpayment (``overpayment/ID``, a
``RECEIVE-OVERPAYMENT`` / ``SPEND-OVERPAYMENT`` bank transaction) for the whole amount,
allocated to the invoices it settles. Xero payments cannot be changed: an update deletes the
payment and enters it again (the table's ``REPLACE``).

A refund is two Xero records on the conversion clearing account: a document to the contact
(which credits can be allocated to) and the money paid out (or in, from a supplier), target id
``INVOICEID+BANKTRANSACTIONID``. Either both land or the refund fails and nothing stays.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Sequence
from decimal import Decimal

import attrs

from migrationkit.core.capabilities import Removal
from migrationkit.core.contract import (
    LoadRequest,
    LoadResult,
    Problem,
    References,
    RemovalRequest,
    RemovalResult,
)
from migrationkit.core.model import BankAccount, Payment, PaymentKind, Record, Refund, RefundKind
from migrationkit.handlers import Assembly, MissingReference, Prepared

from . import mapping as m
from .base import Draft, XeroBatchHandler, in_order
from .context import Payload, XeroRefs, refused, removed

__all__ = ["PAYMENT_HANDLERS"]


@attrs.define
class PaymentDraft(Draft):
    shape: str = "single"
    """Which Xero record the payment becomes: ``single``, ``batch`` or ``overpayment``."""


class PaymentsHandler(XeroBatchHandler):
    entity = "payments"

    def rules(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, Payment)
        problems = []
        for allocation in record.allocations:
            if allocation.document_entity not in ("invoices", "open_items"):
                problems.append(
                    Problem(
                        code="ALLOCATION_NOT_SUPPORTED",
                        message=f"allocated to {allocation.document_entity} "
                        f"{allocation.document}; Xero pays invoices and bills only",
                    )
                )
        bank = refs.record("bank_accounts", record.bank_account)
        base = self.ctx.base_for_checks(refs)
        if isinstance(bank, BankAccount) and base and bank.currency not in (base, record.currency):
            problems.append(
                Problem(
                    code="CURRENCY_DIFFERS_FROM_BANK",
                    message=f"a {record.currency} payment through the {bank.currency} bank "
                    f"account {bank.name}",
                )
            )
        if (
            record.unallocated
            and isinstance(bank, BankAccount)
            and bank.currency != record.currency
        ):
            problems.append(
                Problem(
                    code="CURRENCY_DIFFERS_FROM_BANK",
                    message="money on account must be in the bank account's currency in Xero",
                )
            )
        return problems

    def draft(self, request: LoadRequest, refs: XeroRefs) -> PaymentDraft:
        record = request.record
        assert isinstance(record, Payment)
        bank = refs.bank(record.bank_account)
        self.ctx.ensure_currency(record.currency)
        foreign = record.currency != self.ctx.base_currency
        rate = {"CurrencyRate": record.exchange_rate} if foreign else {}
        allocations = [
            (refs.document(a.document_entity, a.document), a.amount) for a in record.allocations
        ]
        if record.unallocated == 0 and len(allocations) == 1:
            invoice_id, amount = allocations[0]
            payload: Payload = {
                "Invoice": {"InvoiceID": invoice_id},
                "Account": bank.reference(),
                "Date": record.date.isoformat(),
                "Amount": amount,
                **rate,
            }
            if record.reference:
                payload["Reference"] = record.reference
            return PaymentDraft(payload, shape="single")
        if record.unallocated == 0 and allocations:
            batch: Payload = {
                "Account": bank.reference(),
                "Date": record.date.isoformat(),
                "Reference": record.reference or "",
                "Payments": [
                    {"Invoice": {"InvoiceID": invoice_id}, "Amount": amount, **rate}
                    for invoice_id, amount in allocations
                ],
            }
            return PaymentDraft(batch, shape="batch")
        receipt = record.kind is PaymentKind.CUSTOMER_RECEIPT
        overpayment: Payload = {
            "Type": "RECEIVE-OVERPAYMENT" if receipt else "SPEND-OVERPAYMENT",
            "Contact": {"ContactID": refs.contact(record.contact)},
            "BankAccount": bank.reference(),
            "Date": record.date.isoformat(),
            "Reference": record.reference or "",
            "LineAmountTypes": "NoTax",
            "LineItems": [
                {
                    "Description": record.description or "Payment on account",
                    "Quantity": Decimal(1),
                    "UnitAmount": record.amount,
                    "LineAmount": record.amount,
                }
            ],
            **m.currency_fields(record.currency, record.exchange_rate, self.ctx.base_currency),
        }
        return PaymentDraft(overpayment, shape="overpayment")

    def send(self, ready: Sequence[Prepared], refs: References) -> list[LoadResult]:
        r = self.refs(refs)
        shaped = {
            shape: [(p, p.payload.body) for p in ready if p.payload.shape == shape]
            for shape in ("single", "batch", "overpayment")
        }
        results = self.send_parts(
            "single", "/Payments", "Payments", "PaymentID", shaped["single"], prefix="payment/"
        )
        results.update(
            self.send_parts(
                "batch",
                "/BatchPayments",
                "BatchPayments",
                "BatchPaymentID",
                shaped["batch"],
                prefix="batch/",
            )
        )
        overpayments = shaped["overpayment"]
        outcomes = (
            self.ctx.batch(
                "payments",
                "overpayment",
                "PUT",
                "/BankTransactions",
                "BankTransactions",
                [body for _, body in overpayments],
                [item.request.idempotency_key for item, _ in overpayments],
            )
            if overpayments
            else []
        )
        for (item, _body), outcome in zip(overpayments, outcomes, strict=True):
            record = item.request.record
            assert isinstance(record, Payment)
            results[item.index] = (
                self._allocate_overpayment(outcome.element, record, r, item.request)
                if outcome.ok
                else refused(outcome)
            )
        return in_order(ready, results)

    def _allocate_overpayment(
        self, transaction: Payload, record: Payment, refs: XeroRefs, request: LoadRequest
    ) -> LoadResult:
        """Allocate money on account to what it settles; if Xero refuses, it is taken back."""
        transaction_id = str(transaction["BankTransactionID"])
        target = f"overpayment/{transaction_id}"
        if not record.allocations:
            return LoadResult(ok=True, target_id=target)
        payment = Assembly()
        payment.add(target, lambda: self.delete_bank_transaction(transaction_id))
        overpayment_id = transaction.get("OverpaymentID")
        try:
            outcome = self.allocate(
                f"/Overpayments/{overpayment_id}/Allocations",
                record.allocations,
                record.date,
                refs,
                self.ctx.idempotency_key(
                    "overpayment_allocations", str(overpayment_id), (request.idempotency_key,)
                ),
            )
        except MissingReference as exc:
            return payment.fail(LoadResult.failed("MISSING_REFERENCE", str(exc)))
        if not outcome.ok:
            return payment.fail(refused(outcome, code="ALLOCATION_REFUSED"))
        return LoadResult(ok=True, target_id=target)

    def look_up(self, request: LoadRequest, refs: XeroRefs) -> str | None:
        record = request.record
        assert isinstance(record, Payment)
        draft = self.draft(request, refs)
        payload, day = draft.body, record.date
        if draft.shape == "single":
            for raw in self.candidates("/Payments", "Payments", day):
                if (
                    raw.get("Status") != "DELETED"
                    and raw.get("Invoice", {}).get("InvoiceID") == payload["Invoice"]["InvoiceID"]
                    and raw.get("Amount") == payload["Amount"]
                    and not raw.get("BatchPaymentID")
                ):
                    return f"payment/{raw['PaymentID']}"
            return None
        if draft.shape == "batch":
            wanted = sorted((p["Invoice"]["InvoiceID"], p["Amount"]) for p in payload["Payments"])
            for batch in self.ctx.api.get("/BatchPayments").get("BatchPayments") or ():
                have = sorted(
                    (p["Invoice"]["InvoiceID"], p["Amount"]) for p in batch.get("Payments") or ()
                )
                if batch.get("Status") != "DELETED" and have == wanted:
                    return f"batch/{batch['BatchPaymentID']}"
            return None
        for raw in self.candidates("/BankTransactions", "BankTransactions", day):
            if (
                raw.get("Type") == payload["Type"]
                and raw.get("Status") == "AUTHORISED"
                and raw["Contact"]["ContactID"] == payload["Contact"]["ContactID"]
                and raw.get("Total") == record.amount
            ):
                transaction_id = str(raw["BankTransactionID"])
                if record.allocations:
                    overpayment = self.ctx.api.get(f"/Overpayments/{raw['OverpaymentID']}")
                    held = (overpayment.get("Overpayments") or [{}])[0]
                    if not held.get("Allocations"):
                        result = self._allocate_overpayment(raw, record, refs, request)
                        return result.target_id if result.ok else None
                return f"overpayment/{transaction_id}"
        return None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        shape, _, xero_id = request.target_id.partition("/")
        if shape in ("payment", "batch"):
            path, key, part = (
                ("/Payments", "Payments", "payments")
                if shape == "payment"
                else ("/BatchPayments", "BatchPayments", "batch_payments")
            )
            outcome = self.ctx.single(
                "POST",
                f"{path}/{xero_id}",
                key,
                {"Status": "DELETED"},
                self.ctx.idempotency_key(part, "delete", (xero_id,)),
            )
            return removed(outcome, Removal.DELETE)
        transaction = self.ctx.api.get(f"/BankTransactions/{xero_id}", missing_ok=True) or {}
        held = (transaction.get("BankTransactions") or [{}])[0]
        overpayment_id = held.get("OverpaymentID")
        if overpayment_id:
            overpayment = (
                self.ctx.api.get(f"/Overpayments/{overpayment_id}").get("Overpayments") or [{}]
            )[0]
            self.unallocate(f"/Overpayments/{overpayment_id}", overpayment.get("Allocations") or ())
        return self.delete_bank_transaction(xero_id)

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        return self.reader.extract_payments(since)

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return self.reader.gone.payments(since)


class RefundsHandler(XeroBatchHandler):
    """A refund: a document to the contact, then the money out, both on the clearing account.

    Xero cannot change either part in a way that keeps allocations: a changed refund is taken
    back and entered again (the table's ``REPLACE``).
    """

    entity = "refunds"

    def rules(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, Refund)
        problems = self.needs_clearing("refunds")
        problems.extend(self.bank_currency(record.bank_account, record.currency, refs))
        return problems

    def draft(self, request: LoadRequest, refs: XeroRefs) -> Draft:
        clearing = self.ctx.clearing_account_code()
        record = request.record
        assert isinstance(record, Refund)
        customer = record.kind is RefundKind.CUSTOMER_REFUND
        contact = refs.contact(record.contact)
        self.ctx.ensure_currency(record.currency)
        text = record.description or record.reference or ""
        payload: Payload = {
            "Type": "ACCREC" if customer else "ACCPAY",
            "Contact": {"ContactID": contact},
            "Date": record.date.isoformat(),
            "DueDate": record.date.isoformat(),
            "Status": "AUTHORISED",
            "LineAmountTypes": "NoTax",
            "InvoiceNumber": f"REFUND-{record.key}",
            "LineItems": [m.clearing_line(record.amount, clearing, m.REFUND_PREFIX + text)],
            **m.currency_fields(record.currency, record.exchange_rate, self.ctx.base_currency),
        }
        if customer and record.reference:
            payload["Reference"] = record.reference
        return Draft(payload)

    def send(self, ready: Sequence[Prepared], refs: References) -> list[LoadResult]:
        r = self.refs(refs)
        invoices = [(p, p.payload.body) for p in ready]
        results = self.send_parts("invoices", "/Invoices", "Invoices", "InvoiceID", invoices)
        refunds: dict[int, Assembly] = {}
        money_out: list[tuple[Prepared, Payload]] = []
        for item in ready:
            if not results[item.index].ok:
                continue
            invoice_id = str(results[item.index].target_id)
            refund = refunds[item.index] = Assembly()
            refund.add(invoice_id, functools.partial(self.void_document, invoice_id, False))
            try:
                money_out.append((item, self._money_out(_refund(item), invoice_id, r)))
            except MissingReference as exc:
                results[item.index] = refund.fail(LoadResult.failed("MISSING_REFERENCE", str(exc)))
        paid = self.send_parts(
            "money", "/BankTransactions", "BankTransactions", "BankTransactionID", money_out
        )
        for index, result in paid.items():
            refund = refunds[index]
            if result.ok:
                paid_id = str(result.target_id)
                refund.add(paid_id, functools.partial(self.delete_bank_transaction, paid_id))
                results[index] = LoadResult(ok=True, target_id=refund.target_id)
            else:
                results[index] = refund.fail(result)
        return in_order(ready, results)

    def _money_out(self, record: Refund, invoice_id: str, refs: XeroRefs) -> Payload:
        """The bank transaction that pays a refund out (or in, from a supplier)."""
        return {
            "Type": "SPEND" if record.kind is RefundKind.CUSTOMER_REFUND else "RECEIVE",
            "Contact": {"ContactID": refs.contact(record.contact)},
            "BankAccount": refs.bank(record.bank_account).reference(),
            "Date": record.date.isoformat(),
            "Reference": record.reference or "",
            "LineAmountTypes": "NoTax",
            "LineItems": [
                m.clearing_line(
                    record.amount, self.ctx.clearing_account_code(), f"Refund: invoice {invoice_id}"
                )
            ],
            **m.currency_fields(record.currency, record.exchange_rate, self.ctx.base_currency),
        }

    def look_up(self, request: LoadRequest, refs: XeroRefs) -> str | None:
        record = request.record
        assert isinstance(record, Refund)
        number = f"REFUND-{record.key}"
        body = self.ctx.api.get("/Invoices", {"InvoiceNumbers": number, "page": 1})
        invoices = [
            i for i in body.get("Invoices") or () if i.get("Status") not in ("DELETED", "VOIDED")
        ]
        if not invoices:
            return None
        invoice_id = str(invoices[0]["InvoiceID"])
        for raw in self.candidates("/BankTransactions", "BankTransactions", record.date):
            lines = raw.get("LineItems") or []
            if raw.get("Status") == "AUTHORISED" and any(
                line.get("Description") == f"Refund: invoice {invoice_id}" for line in lines
            ):
                return f"{invoice_id}+{raw['BankTransactionID']}"
        # Half a refund: pay it out now. Taking the invoice back instead would be undone by the
        # idempotent replay of its write when the record is sent again.
        outcome = self.ctx.single(
            "PUT",
            "/BankTransactions",
            "BankTransactions",
            {"BankTransactions": [self._money_out(record, invoice_id, refs)]},
            self.ctx.idempotency_key("refunds", f"money:{invoice_id}", (request.idempotency_key,)),
            {"summarizeErrors": False},
        )
        if not outcome.ok:
            return None
        return f"{invoice_id}+{outcome.element['BankTransactionID']}"

    def remove(self, request: RemovalRequest) -> RemovalResult:
        invoice_id, _, transaction_id = request.target_id.partition("+")
        if transaction_id:
            deleted = self.delete_bank_transaction(transaction_id)
            if not deleted.removed:
                return deleted
        return self.void_document(invoice_id, credit=False, actions=request.actions)

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        return self.reader.extract_refunds(since)


def _refund(item: Prepared) -> Refund:
    record = item.request.record
    assert isinstance(record, Refund)
    return record


PAYMENT_HANDLERS = (PaymentsHandler, RefundsHandler)
