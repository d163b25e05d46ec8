"""Manual journals and opening balances in Xero, and the lines routed through the clearing account.

Xero refuses manual journal lines on bank, receivables and payables accounts. With the
``clearing_account`` option such a line goes to the clearing account instead, and a document
moves the amount on to the real account: a bank transaction for a bank, an invoice or credit
note to the journal contact for receivables, a bill or credit note for payables. The journal's
target id names every part (``JOURNALID+bt:ID+inv:ID+...``); if Xero refuses a part, the
parts made are taken back and the journal fails, so it is never half-moved.

An opening balance is a journal of the balance against the clearing account (a ``RECEIVE`` /
``SPEND`` bank transaction for a bank account). Neither can be changed in Xero: an update
voids the old one and enters the new one (the table's ``REPLACE``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal

import attrs

from migrationkit.core.contract import (
    LoadRequest,
    LoadResult,
    Problem,
    References,
    RemovalRequest,
    RemovalResult,
)
from migrationkit.core.model import (
    AccountType,
    BankAccount,
    ControlRole,
    JournalLine,
    LedgerAccount,
    ManualJournal,
    OpeningBalance,
    Record,
)
from migrationkit.handlers import Assembly, Prepared, Unsendable

from . import mapping as m
from .base import Draft, XeroBatchHandler, in_order
from .context import Payload, XeroRefs, code_of, refused

__all__ = ["JOURNAL_HANDLERS"]

Routed = list[tuple[JournalLine, m.XeroAccount]]
"""A journal's bank and control lines, with the Xero account each really posts to."""


@attrs.define
class JournalDraft(Draft):
    routed: Routed = attrs.field(factory=list)
    """The lines that go through the clearing account (moved on by documents)."""


class ManualJournalsHandler(XeroBatchHandler):
    entity = "manual_journals"

    def rules(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, ManualJournal)
        roles = []
        for line in record.lines:
            account = refs.record("ledger_accounts", line.account)
            if isinstance(account, LedgerAccount):
                roles.append((account.control_role, account.type))
        control = [r for r in roles if m.is_control(*r)]
        if not control:
            return []
        if any(role is ControlRole.EXCHANGE_VARIANCE for role, _ in roles) and any(
            role in (ControlRole.RECEIVABLES, ControlRole.PAYABLES) for role, _ in control
        ):
            return [
                Problem(
                    code="EXCHANGE_DIFFERENCE_JOURNAL",
                    message="an exchange difference posted to receivables or payables; Xero "
                    "computes realised exchange differences itself when foreign payments are "
                    "applied, so moving it would count it twice",
                )
            ]
        if not self.ctx.clearing_code:
            return [
                Problem(
                    code="JOURNAL_TO_CONTROL_ACCOUNT",
                    message="posts to a bank, receivables or payables account; Xero refuses "
                    "manual journals to them. Set the xero option clearing_account to route "
                    "such lines through a conversion clearing account",
                )
            ]
        return []

    def draft(self, request: LoadRequest, refs: XeroRefs) -> JournalDraft:
        record = request.record
        assert isinstance(record, ManualJournal)
        lines: list[Payload] = []
        routed: Routed = []
        for line in record.lines:
            account, view = refs.account(line.account)
            description = line.description or ""
            if account.is_bank or account.is_control:
                # Xero refuses journals to these accounts: the line goes to the clearing
                # account and a document moves the amount on to the real account.
                routed.append((line, account))
                lines.append(
                    journal_line(line.amount, self.ctx.clearing(), description + m.VIA_CLEARING)
                )
                continue
            payload = journal_line(
                line.amount, account, description + (m.INPUT_VAT_MARK if view else "")
            )
            tax = refs.tax(line.tax_rate, line.amount < 0)
            if tax:
                payload["TaxType"] = tax
            tracking = refs.tracking(line.tracking)
            if tracking:
                payload["Tracking"] = tracking
            lines.append(payload)
        narration = record.narration or record.reference or f"Journal {record.key}"
        body = {
            "Narration": narration,
            "Date": record.date.isoformat(),
            "Status": "POSTED",
            "LineAmountTypes": "NoTax",
            "JournalLines": lines,
        }
        return JournalDraft(body, routed=routed)

    def send(self, ready: Sequence[Prepared], refs: References) -> list[LoadResult]:
        journals = [(p, p.payload.body) for p in ready]
        results = self.send_parts(
            "journals", "/ManualJournals", "ManualJournals", "ManualJournalID", journals
        )
        for item in ready:
            routed = item.payload.routed
            if routed and results[item.index].ok:
                results[item.index] = self._complete(
                    str(results[item.index].target_id), routed, item.request
                )
        return in_order(ready, results)

    def _complete(
        self,
        journal_id: str,
        routed: Routed,
        request: LoadRequest,
        existing: Mapping[int, str] | None = None,
    ) -> LoadResult:
        """Move a routed journal's bank and control lines off the clearing account.

        ``existing`` holds the parts an interrupted run already made (by line index): only the
        missing ones are made, so a resumed run completes the journal rather than starting over.
        """
        clearing = code_of(self.ctx.clearing())
        contact = self.ctx.named_contact(self.ctx.journal_contact)
        day = request.record.date.isoformat()  # type: ignore[attr-defined]
        journal = Assembly()
        journal.add(journal_id, lambda: self.void_journal(journal_id))
        for index, (line, account) in enumerate(routed, start=1):
            if existing and index in existing:
                self._made(journal, existing[index])
                continue
            kind, path, key, id_field, body = self._part(
                journal_id, index, line, account, contact, clearing, day
            )
            outcome = self.ctx.single(
                "PUT",
                path,
                key,
                {key: [body]},
                self.ctx.idempotency_key(
                    "journal_parts", f"{journal_id}:{index}", (request.idempotency_key,)
                ),
                {"summarizeErrors": False},
            )
            if not outcome.ok:
                return journal.fail(refused(outcome, code="JOURNAL_ROUTING_REFUSED"))
            self._made(journal, f"{kind}:{outcome.element[id_field]}")
        return LoadResult(
            ok=True,
            target_id=journal.target_id,
            warnings=(
                f"{len(routed)} bank, receivables or payables line(s) went through the clearing "
                f"account {self.ctx.clearing_code} and the contact {self.ctx.journal_contact!r}",
            ),
        )

    def _part(
        self,
        journal_id: str,
        index: int,
        line: JournalLine,
        account: m.XeroAccount,
        contact: str,
        clearing: str,
        day: str,
    ) -> tuple[str, str, str, str, Payload]:
        """The document that moves one routed line: ``(kind, path, key, id field, body)``."""
        text = m.journal_part_line(journal_id, index, account.code)
        amount = abs(line.amount)
        if account.is_bank:
            return (
                "bt",
                "/BankTransactions",
                "BankTransactions",
                "BankTransactionID",
                {
                    "Type": "RECEIVE" if line.amount > 0 else "SPEND",
                    "Contact": {"ContactID": contact},
                    "BankAccount": account.reference(),
                    "Date": day,
                    "LineAmountTypes": "NoTax",
                    "LineItems": [m.clearing_line(amount, clearing, text)],
                    "CurrencyCode": account.currency or self.ctx.base_currency,
                },
            )
        receivable = account.system == "DEBTORS"
        credit = (line.amount > 0) is not receivable
        document = ("ACCREC" if receivable else "ACCPAY") + ("CREDIT" if credit else "")
        body: Payload = {
            "Type": document,
            "Contact": {"ContactID": contact},
            "Date": day,
            "Status": "AUTHORISED",
            "LineAmountTypes": "NoTax",
            "LineItems": [m.clearing_line(amount, clearing, text)],
            ("CreditNoteNumber" if credit else "InvoiceNumber"): f"JNL-{journal_id[:8]}-{index}",
        }
        if credit:
            return "cn", "/CreditNotes", "CreditNotes", "CreditNoteID", body
        body["DueDate"] = day
        return "inv", "/Invoices", "Invoices", "InvoiceID", body

    def _made(self, journal: Assembly, part: str) -> None:
        journal.add(part, lambda: self._take_part_back(part))

    def _take_part_back(self, part: str) -> RemovalResult:
        kind, _, part_id = part.partition(":")
        if kind == "bt":
            return self.delete_bank_transaction(part_id)
        return self.void_document(part_id, credit=kind == "cn")

    def look_up(self, request: LoadRequest, refs: XeroRefs) -> str | None:
        record = request.record
        assert isinstance(record, ManualJournal)
        draft = self.draft(request, refs)
        payload = draft.body
        wanted = sorted(line["LineAmount"] for line in payload["JournalLines"])
        for raw in self.candidates("/ManualJournals", "ManualJournals", record.date):
            have = sorted(line["LineAmount"] for line in raw.get("JournalLines") or ())
            if (
                raw.get("Status") == "POSTED"
                and raw.get("Narration") == payload["Narration"]
                and have == wanted
            ):
                journal_id = str(raw["ManualJournalID"])
                if not draft.routed:
                    return journal_id
                made = {
                    index: f"{kind}:{_part_id(kind, part)}"
                    for index, kind, part in self.reader.journal_parts().get(journal_id, [])
                    if part.get("Status") not in ("DELETED", "VOIDED")
                }
                # Routed only in part: make the missing parts. Taking the journal back instead
                # would be undone by the idempotent replay of its first write.
                result = self._complete(journal_id, draft.routed, request, made)
                return result.target_id if result.ok else None
        return None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        journal_id, *parts = request.target_id.split("+")
        for part in parts:
            kind, _, part_id = part.partition(":")
            removal = (
                self.delete_bank_transaction(part_id)
                if kind == "bt"
                else self.void_document(part_id, credit=kind == "cn", actions=request.actions)
            )
            if not removal.removed:
                return removal
        return self.void_journal(journal_id)

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        return self.reader.extract_manual_journals(since)

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return self.reader.gone.manual_journals(since)


# ---------------------------------------------------------------------------------------------
# opening balances
# ---------------------------------------------------------------------------------------------


@attrs.define
class OpeningDraft(Draft):
    bank: bool = False
    """A bank transaction (a bank account's balance), not a journal."""


class OpeningBalancesHandler(XeroBatchHandler):
    """A balance against the clearing account: a journal, or a bank transaction for a bank."""

    entity = "opening_balances"

    def rules(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, OpeningBalance)
        problems = self.needs_clearing("opening balances")
        account = refs.record("ledger_accounts", record.account)
        if record.balance == 0:
            problems.append(
                Problem(code="ZERO_OPENING_BALANCE", message="a zero balance posts nothing")
            )
        if isinstance(account, LedgerAccount):
            if self.ctx.clearing_code and account.code == self.ctx.clearing_code:
                problems.append(
                    Problem(
                        code="OPENING_BALANCE_ON_CLEARING",
                        message="the opening balance is on the account chosen as clearing "
                        "account; choose another clearing account",
                    )
                )
            currency = self._bank_currency_of(record.account, account, refs)
            base = self.ctx.base_for_checks(refs)
            if currency and base and currency != base:
                problems.append(
                    Problem(
                        code="FOREIGN_BANK_OPENING_BALANCE",
                        message=f"the opening balance of the {currency} bank account "
                        f"{account.code} {account.name} is known only in {base}; enter it in "
                        f"Xero in {currency}",
                    )
                )
        return problems

    def _bank_currency_of(self, key: str, account: LedgerAccount, refs: References) -> str | None:
        """The currency of a bank ledger account: Xero's, else the source's bank record's."""
        target = refs.target_id("ledger_accounts", key)
        if target:
            held = self.ctx.account_if_read(m.split_view(target)[0])
            if held is not None and held.is_bank:
                return held.currency
        bank = refs.record("bank_accounts", key)
        if isinstance(bank, BankAccount):
            return bank.currency
        return account.currency if account.type is AccountType.BANK else None

    def draft(self, request: LoadRequest, refs: XeroRefs) -> OpeningDraft:
        clearing = self.ctx.clearing()
        record = request.record
        assert isinstance(record, OpeningBalance)
        account, view = refs.account(record.account)
        label = m.opening_narration(record.as_of, account.code, account.name)
        base = self.ctx.base_currency
        if account.is_bank and (account.currency or base) != base:
            raise Unsendable(
                "FOREIGN_BANK_OPENING_BALANCE",
                f"the opening balance of the {account.currency} bank account {account.code} "
                f"{account.name} is known only in {base}; enter it in Xero in "
                f"{account.currency}",
            )
        if account.is_bank:
            return OpeningDraft(self._bank(record, account, clearing, label), bank=True)
        amount = record.balance
        # A receivables or payables balance is carried by the outstanding items, which post
        # to those accounts themselves: the journal only records it, on the clearing account.
        line_account = clearing if account.is_control else account
        description = "Opening balance" + (m.INPUT_VAT_MARK if view else "")
        return OpeningDraft(
            {
                "Narration": label,
                "Date": record.as_of.isoformat(),
                "Status": "POSTED",
                "LineAmountTypes": "NoTax",
                "JournalLines": [
                    journal_line(amount, line_account, description),
                    journal_line(-amount, clearing, m.CLEARING_LINE),
                ],
            }
        )

    def _bank(
        self, record: OpeningBalance, bank: m.XeroAccount, clearing: m.XeroAccount, label: str
    ) -> Payload:
        receive = record.balance > 0
        return {
            "Type": "RECEIVE" if receive else "SPEND",
            "Contact": {"ContactID": self.ctx.named_contact(self.ctx.conversion_contact)},
            "BankAccount": bank.reference(),
            "Date": record.as_of.isoformat(),
            "Reference": label,
            "LineAmountTypes": "NoTax",
            "LineItems": [m.clearing_line(abs(record.balance), code_of(clearing))],
            "CurrencyCode": bank.currency or self.ctx.base_currency,
        }

    def send(self, ready: Sequence[Prepared], refs: References) -> list[LoadResult]:
        banks = [(p, p.payload.body) for p in ready if p.payload.bank]
        journals = [(p, p.payload.body) for p in ready if not p.payload.bank]
        results = self.send_parts(
            "journals", "/ManualJournals", "ManualJournals", "ManualJournalID", journals
        )
        results.update(
            self.send_parts(
                "banks", "/BankTransactions", "BankTransactions", "BankTransactionID", banks
            )
        )
        return in_order(ready, results)

    def look_up(self, request: LoadRequest, refs: XeroRefs) -> str | None:
        record = request.record
        assert isinstance(record, OpeningBalance)
        account, _view = refs.account(record.account)
        label = m.opening_narration(record.as_of, account.code, account.name)
        if account.is_bank:
            for raw in self.candidates("/BankTransactions", "BankTransactions", record.as_of):
                if raw.get("Reference") == label and raw.get("Status") == "AUTHORISED":
                    return str(raw["BankTransactionID"])
            return None
        for raw in self.candidates("/ManualJournals", "ManualJournals", record.as_of):
            if raw.get("Narration") == label and raw.get("Status") == "POSTED":
                return str(raw["ManualJournalID"])
        return None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        journal = self.ctx.api.get(f"/ManualJournals/{request.target_id}", missing_ok=True)
        if journal:
            return self.void_journal(request.target_id)
        return self.delete_bank_transaction(request.target_id)

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        return self.reader.extract_opening_balances(since)

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return self.reader.gone.opening_balances(since)


def journal_line(amount: Decimal, account: m.XeroAccount, description: str) -> Payload:
    """A tax-free journal line on ``account`` (by code, by id when it has none)."""
    line: Payload = {"LineAmount": amount, "Description": description, "TaxType": "NONE"}
    if account.code:
        line["AccountCode"] = account.code
    else:
        line["AccountID"] = account.id
    return line


def _part_id(kind: str, raw: Payload) -> str:
    field = {"inv": "InvoiceID", "cn": "CreditNoteID", "bt": "BankTransactionID"}[kind]
    return str(raw[field])


JOURNAL_HANDLERS = (OpeningBalancesHandler, ManualJournalsHandler)
