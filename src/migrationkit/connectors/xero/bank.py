"""Bank transactions (spend and receive money) and transfers between bank accounts in Xero.

Bank transactions go in batches, created with ``PUT`` and changed in place with ``POST``; one
whose total is negative is entered the other way round (Xero wants a positive total), and one
without a contact goes to the sundry contact (Xero requires one). Transfers go one per request
(Xero's endpoint has no per-element answers); Xero cannot change a transfer, so an update
deletes it and enters it again (the table's ``REPLACE``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

import attrs

from migrationkit.core.capabilities import Removal
from migrationkit.core.contract import (
    LoadRequest,
    LoadResult,
    Operation,
    Problem,
    References,
    RemovalRequest,
    RemovalResult,
)
from migrationkit.core.model import (
    BankAccount,
    BankTransaction,
    BankTransactionKind,
    BankTransfer,
    DocumentLine,
    Record,
)
from migrationkit.handlers import Prepared

from . import mapping as m
from .base import Draft, XeroBatchHandler, XeroHandler, in_order
from .context import Payload, XeroRefs, refused, removed
from .wire import parse_date

__all__ = ["BANK_HANDLERS"]


class BankTransactionsHandler(XeroBatchHandler):
    entity = "bank_transactions"

    def rules(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, BankTransaction)
        problems = self.line_problems(record.lines, refs)
        if record.gross == 0:
            problems.append(
                Problem(code="ZERO_TOTAL", message="Xero refuses a bank transaction of 0.00")
            )
        problems.extend(self.bank_currency(record.bank_account, record.currency, refs))
        return problems

    def draft(self, request: LoadRequest, refs: XeroRefs) -> Draft:
        record = request.record
        assert isinstance(record, BankTransaction)
        notes = []
        receive = record.kind is BankTransactionKind.RECEIVE
        lines: Sequence[DocumentLine] = record.lines
        if record.gross < 0:
            # Xero wants a positive total: money out the other way round is money in.
            receive = not receive
            lines = [_negated(line) for line in record.lines]
            notes.append("entered the other way round: its total was negative")
        self.ctx.ensure_currency(record.currency)
        items, warnings = refs.lines(lines, output=receive)
        notes.extend(warnings)
        contact = (
            refs.contact(record.contact)
            if record.contact
            else self.ctx.named_contact(self.ctx.sundry_contact)
        )
        payload: Payload = {
            "Type": "RECEIVE" if receive else "SPEND",
            "Contact": {"ContactID": contact},
            "BankAccount": refs.bank(record.bank_account).reference(),
            "Date": record.date.isoformat(),
            "LineAmountTypes": "Exclusive",
            "LineItems": items,
            **m.currency_fields(record.currency, record.exchange_rate, self.ctx.base_currency),
        }
        if record.reference:
            payload["Reference"] = record.reference
        if request.operation is Operation.UPDATE and request.target_id:
            payload["BankTransactionID"] = request.target_id
        return Draft(payload, notes)

    def send(self, ready: Sequence[Prepared], refs: References) -> list[LoadResult]:
        sent = self.put_and_post("/BankTransactions", "BankTransactions", ready)
        results = {}
        for item in ready:
            outcome = sent[item.index]
            results[item.index] = (
                LoadResult(
                    ok=True,
                    target_id=str(outcome.element["BankTransactionID"]),
                    warnings=tuple(item.payload.notes),
                )
                if outcome.ok
                else refused(outcome)
            )
        return in_order(ready, results)

    def look_up(self, request: LoadRequest, refs: XeroRefs) -> str | None:
        record = request.record
        assert isinstance(record, BankTransaction)
        bank = refs.bank(record.bank_account)
        for raw in self.candidates("/BankTransactions", "BankTransactions", record.date):
            if (
                raw.get("Type") in ("SPEND", "RECEIVE")
                and raw.get("Status") == "AUTHORISED"
                and raw["BankAccount"]["AccountID"] == bank.id
                and raw.get("Total") == abs(record.gross)
                and (raw.get("Reference") or None) == record.reference
            ):
                return str(raw["BankTransactionID"])
        return None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        return self.delete_bank_transaction(request.target_id)

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        return self.reader.extract_bank_transactions(since)

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return self.reader.gone.bank_transactions(since)


class BankTransfersHandler(XeroHandler):
    entity = "bank_transfers"

    def rules(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, BankTransfer)
        base = self.ctx.base_for_checks(refs)
        for key in (record.from_bank_account, record.to_bank_account):
            bank = refs.record("bank_accounts", key)
            if isinstance(bank, BankAccount) and base and bank.currency != base:
                return [
                    Problem(
                        code="FOREIGN_BANK_TRANSFER",
                        message=f"the transfer involves the {bank.currency} bank account "
                        f"{bank.name} but its amount is known only in {base}",
                    )
                ]
        return []

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        r = self.refs(refs)
        record = request.record
        assert isinstance(record, BankTransfer)
        payload: Payload = {
            "FromBankAccount": r.bank(record.from_bank_account).reference(),
            "ToBankAccount": r.bank(record.to_bank_account).reference(),
            "Amount": record.amount,
            "Date": record.date.isoformat(),
        }
        if record.reference:
            payload["Reference"] = record.reference
        # Bank transfers have no summarizeErrors: one per request, so a 400 is this one.
        outcome = self.ctx.single(
            "PUT",
            "/BankTransfers",
            "BankTransfers",
            {"BankTransfers": [payload]},
            self.ctx.idempotency_key("bank_transfers", "create", (request.idempotency_key,)),
        )
        if not outcome.ok:
            return refused(outcome)
        return LoadResult(ok=True, target_id=str(outcome.element["BankTransferID"]))

    def look_up(self, request: LoadRequest, refs: XeroRefs) -> str | None:
        record = request.record
        assert isinstance(record, BankTransfer)
        source, target = refs.bank(record.from_bank_account), refs.bank(record.to_bank_account)
        for raw in self.ctx.api.get("/BankTransfers").get("BankTransfers") or ():
            if (
                raw.get("Status") != "DELETED"
                and raw["FromBankAccount"]["AccountID"] == source.id
                and raw["ToBankAccount"]["AccountID"] == target.id
                and raw.get("Amount") == record.amount
                and parse_date(raw.get("Date")) == record.date
            ):
                return str(raw["BankTransferID"])
        return None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        outcome = self.ctx.single(
            "POST",
            f"/BankTransfers/{request.target_id}",
            "BankTransfers",
            {"Status": "DELETED"},
            self.ctx.idempotency_key("bank_transfers", "delete", (request.target_id,)),
        )
        return removed(outcome, Removal.DELETE)

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        return self.reader.extract_bank_transfers(since)

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return self.reader.gone.bank_transfers(since)


def _negated(line: DocumentLine) -> DocumentLine:
    return attrs.evolve(
        line,
        net=-line.net,
        tax=-line.tax,
        base_net=-line.base_net,
        base_tax=-line.base_tax,
        quantity=None,
        unit_price=None,
    )


BANK_HANDLERS = (BankTransactionsHandler, BankTransfersHandler)
