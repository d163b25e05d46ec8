"""Handlers for what posts: opening balances, documents, payments, bank entries, journals.

Exactly-once without an idempotency key: Sage v3.1 has none, so every write leaves a way to
be found again. Sales documents keep the source number (``invoice_number``,
``credit_note_number``), which Sage keeps unique; everything else carries the write's stamp in
an internal text field (see :func:`~.mapping.stamp`). :meth:`find` looks for exactly that, and
also finishes a write that has two steps (a credit note, then its allocation) when the first
step landed and the second did not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, ClassVar

from migrationkit.core.capabilities import Removal
from migrationkit.core.contract import (
    LoadRequest,
    LoadResult,
    Problem,
    References,
    RemovalRequest,
    RemovalResult,
)
from migrationkit.core.model import (
    Allocation,
    BankAccount,
    BankTransaction,
    BankTransfer,
    Contact,
    ControlRole,
    CreditNote,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
    Invoice,
    ManualJournal,
    OpeningBalance,
    OpenItem,
    Payment,
    Record,
    Refund,
    TaxRate,
    TaxTreatment,
)
from migrationkit.handlers import not_offered

from . import mapping
from .mapping import DocumentEndpoint, Written
from .resources import SageHandler, deleted_param, refused, role, since_param
from .wire import date_text, money

__all__ = ["POSTING_HANDLERS"]

_NOT_ON_LINES = (ControlRole.RECEIVABLES, ControlRole.PAYABLES, ControlRole.BANK)


def _line_problems(lines: tuple[DocumentLine, ...], refs: References) -> list[Problem]:
    bad = sorted({line.account for line in lines if role(refs, line.account) in _NOT_ON_LINES})
    if not bad:
        return []
    return [
        Problem(
            code="LINE_TO_CONTROL_ACCOUNT",
            message=f"a line posts to {', '.join(bad)}, a debtors, creditors or bank account; "
            "Sage keeps those for its own postings",
        )
    ]


def _contact_problems(
    refs: References, key: str, currency: str, customer: bool, base: str
) -> list[Problem]:
    contact = refs.record("contacts", key)
    if not isinstance(contact, Contact):
        return []
    problems = []
    if (customer and not contact.is_customer) or (not customer and not contact.is_supplier):
        wanted = "customer" if customer else "supplier"
        problems.append(
            Problem(code="CONTACT_WRONG_TYPE", message=f"its contact {key} is not a {wanted}")
        )
    trades_in = contact.currency or base
    if currency != trades_in:
        problems.append(
            Problem(
                code="CURRENCY_DIFFERS",
                message=f"it is in {currency} but contact {key} trades in {trades_in}; Sage "
                "keeps each contact in one currency",
            )
        )
    return problems


def _bank_currency(refs: References, key: str, base: str) -> str:
    bank = refs.record("bank_accounts", key)
    return bank.currency if isinstance(bank, BankAccount) else base


def day_params(day: dt.date) -> dict[str, str]:
    """``from_date``/``to_date`` covering one day (Sage declares them as date-times)."""
    return {"from_date": f"{day.isoformat()}T00:00:00Z", "to_date": f"{day.isoformat()}T23:59:59Z"}


class _Stamped(SageHandler):
    """A handler whose records are found again by the stamp in one text field."""

    stamp_field: ClassVar[str] = "reference"

    @property
    def path(self) -> str:
        """The endpoint of the entity's row in the table."""
        return self.spec.endpoint

    def tag(self, request: LoadRequest) -> str:
        return mapping.stamp(request.idempotency_key)

    def candidates(self, record: Record, refs: References) -> Iterator[dict[str, Any]]:
        """Objects that could be the record (narrowed by contact, bank or date)."""
        date = getattr(record, "date", None)
        return self.client.list(self.path, day_params(date) if date else {})

    def find(self, request: LoadRequest, refs: References) -> str | None:
        candidates = self.candidates(request.record, refs)
        return next(mapping.iter_stamped(candidates, self.stamp_field, self.tag(request)), None)

    def post(self, written: Written) -> LoadResult:
        reply = self.client.send("POST", self.path, body=written.body)
        return self.written(reply, written)

    def remove(self, request: RemovalRequest) -> RemovalResult:
        return self.delete(f"{self.path}/{request.target_id}")

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        for obj in self.client.list(self.path, deleted_param(since), full=False):
            yield str(obj["id"])


# ---------------------------------------------------------------------------
# opening balances and open items
# ---------------------------------------------------------------------------


class OpeningBalanceHandler(SageHandler):
    """One opening trial-balance line, where Sage keeps it.

    A bank's balance is a bank opening balance; the debtors and creditors control accounts
    are the sum of the contact opening balances (open items), so their line is not written but
    read back as that sum (``control:LEDGER_ID``); every other account gets a ledger account
    opening balance, which Sage posts against its own opening-balance control.
    """

    entity = "opening_balances"

    def _kind(self, ledger_id: str) -> str:
        account = self.business.ledger_accounts.get(ledger_id) or {}
        if account.get("control_name") in ("DEBTORS_CONTROL", "CREDITORS_CONTROL"):
            return "control"
        if (account.get("ledger_account_type") or {}).get("id") == "BANK":
            return "bank_opening_balances"
        return "ledger_account_opening_balances"

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, OpeningBalance)
        ledger_id = self.resolver(refs)("ledger_accounts", record.account)
        kind = self._kind(ledger_id)
        debit, credit = mapping.debit_credit(record.balance)
        if kind == "control":
            note = "held by the contacts' opening balances (open items), read back as their sum"
            return LoadResult(ok=True, target_id=f"control:{ledger_id}", warnings=(note,))
        if kind == "bank_opening_balances":
            bank = self.business.bank_for_ledger(ledger_id)
            if bank is None:
                return LoadResult.failed(
                    "BANK_ACCOUNT_MISSING",
                    f"account {record.account} is a bank account in Sage, but no bank account "
                    "uses it, and Sage keeps bank opening balances on the bank account",
                )
            body = {
                "bank_account_id": bank["id"],
                "date": date_text(record.as_of),
                "debit": debit,
                "credit": credit,
            }
            wrapper = "bank_opening_balance"
        else:
            body = {"ledger_account_id": ledger_id, "debit": debit, "credit": credit}
            wrapper = "ledger_account_opening_balance"
        reply = self.client.send("POST", kind, body={wrapper: body})
        if not reply.ok:
            return refused(reply)
        return LoadResult(ok=True, target_id=f"{kind}:{reply.data['id']}")

    def update(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, OpeningBalance)
        assert request.target_id is not None, "an update names its target"
        kind, plain = mapping.split_id(request.target_id)
        if kind == "control":
            return LoadResult(ok=True, target_id=request.target_id)
        debit, credit = mapping.debit_credit(record.balance)
        wrapper = kind[:-1]
        body: dict[str, Any] = {"debit": debit, "credit": credit}
        if kind == "bank_opening_balances":
            body["date"] = date_text(record.as_of)
        reply = self.client.send("PUT", f"{kind}/{plain}", body={wrapper: body})
        return self.written(reply, Written(body), request.target_id)

    def find(self, request: LoadRequest, refs: References) -> str | None:
        record = request.record
        assert isinstance(record, OpeningBalance)
        ledger_id = self.resolver(refs)("ledger_accounts", record.account)
        kind = self._kind(ledger_id)
        if kind == "control":
            return f"control:{ledger_id}"
        if kind == "bank_opening_balances":
            bank = self.business.bank_for_ledger(ledger_id)
            found = self.client.list(kind, {"bank_account_id": bank["id"]}) if bank else iter(())
        else:
            found = (
                o
                for o in self.client.list(kind)
                if (o.get("ledger_account") or {}).get("id") == ledger_id
            )
        for obj in found:
            return f"{kind}:{obj['id']}"
        return None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        kind, plain = mapping.split_id(request.target_id)
        if kind == "control":
            return RemovalResult(removed=True, action=Removal.DELETE)
        return self.delete(f"{kind}/{plain}")

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        as_of = self.business.opening_date or dt.date(1970, 1, 1)
        for obj in self.client.list("ledger_account_opening_balances"):
            account = str((obj.get("ledger_account") or {}).get("id"))
            yield mapping.read_opening_balance(
                obj, "ledger_account_opening_balances", account, as_of
            )
        banks = self.business.bank_accounts
        for obj in self.client.list("bank_opening_balances"):
            bank = banks.get(str((obj.get("bank_account") or {}).get("id"))) or {}
            account = str((bank.get("ledger_account") or {}).get("id"))
            yield mapping.read_opening_balance(obj, "bank_opening_balances", account, as_of)
        yield from self._controls(as_of)

    def _controls(self, as_of: dt.date) -> Iterator[Record]:
        """The debtors and creditors control balances the contact opening balances make."""
        for contact_type, control, sign in (
            ("CUSTOMER", "DEBTORS_CONTROL", 1),
            ("VENDOR", "CREDITORS_CONTROL", -1),
        ):
            total = Decimal(0)
            seen = False
            for obj in self.client.list(
                "contact_opening_balances", {"contact_type_id": contact_type}
            ):
                seen = True
                amount = money(obj.get("base_currency_total_amount") or obj["total_amount"])
                credit = (obj.get("contact_opening_balance_type") or {}).get("id") == "CREDIT_NOTE"
                total += -amount if credit else amount
            account = self.business.ledger_by_control(control)
            if seen and account is not None:
                yield OpeningBalance(
                    key=f"control:{account['id']}",
                    account=str(account["id"]),
                    as_of=as_of,
                    balance=sign * total,
                )


class _Allocating(_Stamped):
    """Credits (credit notes, credit-type open items) allocated through contact allocations."""

    def allocate(
        self,
        ledger: DocumentKind,
        contact_id: str,
        credit_id: str,
        allocations: tuple[Allocation, ...],
        refs: References,
        date: dt.date,
        *,
        fresh: bool,
    ) -> LoadResult | None:
        """Set the credit against what it settles; ``None`` when done, else Sage's refusal.

        ``fresh`` says the credit is known to carry no allocation (it was just created, or its
        allocations just deleted), so Sage is not asked: one request, the allocation itself.
        Otherwise (a credit found again after an interrupted run) Sage's allocations of the
        contact are read first, so that the credit is never allocated twice.
        """
        if not allocations or (not fresh and self._allocated(contact_id, credit_id)):
            return None
        ref = self.resolver(refs)
        body = mapping.allocation_payload(
            ledger=ledger,
            contact_id=contact_id,
            credit_artefact=credit_id,
            allocations=[(mapping.artefact_id(ref, a), a.amount) for a in allocations],
            date=max((a.date for a in allocations if a.date), default=date),
        )
        reply = self.client.send("POST", "contact_allocations", body=body)
        return None if reply.ok else refused(reply)

    def _allocations_of(self, contact_id: str, credit_id: str) -> list[dict[str, Any]]:
        return [
            allocation
            for allocation in self.client.list("contact_allocations", {"contact_id": contact_id})
            if any(
                (entry.get("artefact") or {}).get("id") == credit_id
                for entry in allocation.get("allocated_artefacts") or ()
            )
        ]

    def _allocated(self, contact_id: str, credit_id: str) -> bool:
        return bool(self._allocations_of(contact_id, credit_id))

    def unallocate(self, contact_id: str, credit_id: str) -> RemovalResult:
        """Delete the allocations of a credit, so that the credit itself can go."""
        for allocation in self._allocations_of(contact_id, credit_id):
            result = self.delete(f"contact_allocations/{allocation['id']}")
            if not result.removed:
                return result
        return RemovalResult(removed=True, action=Removal.DELETE)

    def allocation_index(self) -> dict[str, list[Allocation]]:
        return mapping.allocations_by_credit(self.client.list("contact_allocations"))

    @staticmethod
    def with_allocation_warning(result: LoadResult, refusal: LoadResult | None) -> LoadResult:
        """The record is written: an allocation Sage refused is a warning, not a failure."""
        if refusal is None:
            return result
        note = f"written, but its allocations were refused: {refusal.message}"
        return LoadResult(ok=True, target_id=result.target_id, warnings=(*result.warnings, note))


class OpenItemHandler(_Allocating):
    """Items outstanding at the opening date, as contact opening balances."""

    entity = "open_items"
    stamp_field = "details"

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, OpenItem)
        customer = record.kind.ledger is DocumentKind.SALES
        return _contact_problems(
            refs, record.contact, record.currency, customer, self.business.base_currency
        )

    def candidates(self, record: Record, refs: References) -> Iterator[dict[str, Any]]:
        assert isinstance(record, OpenItem)
        contact = self.resolver(refs)("contacts", record.contact)
        return self.client.list(self.path, {"contact_id": contact})

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, OpenItem)
        written = mapping.open_item_payload(
            record,
            self.resolver(refs),
            base_currency=self.business.base_currency,
            tag=self.tag(request),
        )
        result = self.post(written)
        if not result.ok or not result.target_id:
            return result
        return self.with_allocation_warning(
            result, self._settle(record, result.target_id, refs, fresh=True)
        )

    def _settle(
        self, record: OpenItem, target_id: str, refs: References, *, fresh: bool
    ) -> LoadResult | None:
        contact = self.resolver(refs)("contacts", record.contact)
        return self.allocate(
            record.kind.ledger,
            contact,
            target_id,
            record.allocations,
            refs,
            record.date,
            fresh=fresh,
        )

    def find(self, request: LoadRequest, refs: References) -> str | None:
        found = super().find(request, refs)
        if found is not None:
            record = request.record
            assert isinstance(record, OpenItem)
            self._settle(record, found, refs, fresh=False)
        return found

    def update(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, OpenItem)
        assert request.target_id is not None, "an update names its target"
        written = mapping.open_item_payload(
            record,
            self.resolver(refs),
            base_currency=self.business.base_currency,
            tag=self.tag(request),
        )
        reply = self.client.send("PUT", f"{self.path}/{request.target_id}", body=written.body)
        return self.written(reply, written, request.target_id)

    def remove(self, request: RemovalRequest) -> RemovalResult:
        reply = self.client.get(f"{self.path}/{request.target_id}")
        if reply.ok:
            contact = str((reply.data.get("contact") or {}).get("id"))
            undone = self.unallocate(contact, request.target_id)
            if not undone.removed:
                return undone
        return super().remove(request)

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        base = self.business.base_currency
        index = self.allocation_index()
        for contact_type in ("CUSTOMER", "VENDOR"):
            params = {**since_param(since), "contact_type_id": contact_type}
            for obj in self.client.list(self.path, params):
                allocations = tuple(index.get(str(obj["id"]), ()))
                yield mapping.read_open_item(obj, contact_type == "CUSTOMER", base, allocations)


# ---------------------------------------------------------------------------
# invoices and credit notes
# ---------------------------------------------------------------------------


class DocumentHandler(_Allocating):
    """Sales and purchase invoices (``invoices``) or credit notes (``credit_notes``)."""

    credit: ClassVar[bool] = False

    @property
    def endpoints(self) -> dict[DocumentKind, DocumentEndpoint]:
        return mapping.CREDIT_NOTES if self.credit else mapping.INVOICES

    def keeps_number(self, record: Invoice | CreditNote) -> bool:
        return self.ctx.preserve_ids and record.kind is DocumentKind.SALES and bool(record.number)

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, Invoice | CreditNote)
        problems = []
        if record.status is DocumentStatus.VOIDED:
            problems.append(
                Problem(
                    code="VOIDED_DOCUMENT",
                    message="it is void at the source; Sage cannot create a void document",
                )
            )
        if record.status is DocumentStatus.DRAFT and (
            self.credit or record.kind is DocumentKind.PURCHASE
        ):
            problems.append(
                Problem(
                    code="DRAFT_NOT_SUPPORTED", message="Sage has drafts of sales invoices only"
                )
            )
        if not record.lines:
            problems.append(Problem(code="NO_LINES", message="Sage needs at least one line"))
        problems += _line_problems(record.lines, refs)
        problems += _contact_problems(
            refs,
            record.contact,
            record.currency,
            record.kind is DocumentKind.SALES,
            self.business.base_currency,
        )
        if self.keeps_number(record):
            endpoint = self.endpoints[record.kind]
            owner = self.ctx.claims.claim(f"number:{endpoint.path}", str(record.number), record.key)
            if owner is not None:
                problems.append(
                    Problem(
                        code="DUPLICATE_NUMBER",
                        message=f"number {record.number} is also {owner}'s, and Sage keeps "
                        f"{endpoint.path.replace('_', ' ')} numbers unique",
                    )
                )
        return problems

    def _written(self, request: LoadRequest, refs: References) -> tuple[DocumentEndpoint, Written]:
        record = request.record
        assert isinstance(record, Invoice | CreditNote)
        keep = self.keeps_number(record)
        reverse = any(
            isinstance(rate := refs.record("tax_rates", line.tax_rate), TaxRate)
            and rate.treatment is TaxTreatment.REVERSE_CHARGE
            for line in record.lines
            if line.tax_rate
        )
        written = mapping.document_payload(
            record,
            self.resolver(refs),
            self.categories(refs),
            base_currency=self.business.base_currency,
            keep_number=keep,
            tag=None if keep else self.tag(request),
            reverse_charge=reverse,
        )
        return self.endpoints[record.kind], written

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, Invoice | CreditNote)
        endpoint, written = self._written(request, refs)
        reply = self.client.send("POST", endpoint.path, body=written.body)
        if not reply.ok:
            return refused(reply)
        warnings = list(written.warnings)
        field = endpoint.number_field
        if self.keeps_number(record) and field and reply.data.get(field) != record.number:
            warnings.append(f"Sage numbered it {reply.data.get(field)} instead of {record.number}")
        result = LoadResult(
            ok=True, target_id=f"{endpoint.path}:{reply.data['id']}", warnings=tuple(warnings)
        )
        return self.with_allocation_warning(
            result, self._settle(record, reply.data, refs, fresh=True)
        )

    def _settle(
        self,
        record: Invoice | CreditNote,
        obj: Mapping[str, Any],
        refs: References,
        *,
        fresh: bool,
    ) -> LoadResult | None:
        if not isinstance(record, CreditNote):
            return None
        contact = str((obj.get("contact") or {}).get("id"))
        return self.allocate(
            record.kind,
            contact,
            str(obj["id"]),
            record.allocations,
            refs,
            record.date,
            fresh=fresh,
        )

    def update(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, Invoice | CreditNote)
        assert request.target_id is not None, "an update names its target"
        endpoint, written = self._written(request, refs)
        path, plain = mapping.split_id(request.target_id)
        if path != endpoint.path:
            return LoadResult.failed(
                "DOCUMENT_KIND_CHANGED", "it moved between sales and purchases at the source"
            )
        if isinstance(record, CreditNote):
            contact = self.resolver(refs)("contacts", record.contact)
            undone = self.unallocate(contact, plain)
            if not undone.removed:
                return LoadResult.failed(undone.reason or "REFUSED", undone.message or "")
        reply = self.client.send("PUT", f"{path}/{plain}", body=written.body)
        if not reply.ok:
            return refused(reply)
        result = LoadResult(ok=True, target_id=request.target_id, warnings=written.warnings)
        # A credit note's allocations were deleted above; an invoice has none of its own.
        return self.with_allocation_warning(
            result, self._settle(record, reply.data, refs, fresh=True)
        )

    def find(self, request: LoadRequest, refs: References) -> str | None:
        record = request.record
        assert isinstance(record, Invoice | CreditNote)
        endpoint = self.endpoints[record.kind]
        contact = self.resolver(refs)("contacts", record.contact)
        params = {"contact_id": contact, **day_params(record.date)}
        keep = self.keeps_number(record)
        tag = self.tag(request)
        for obj in self.client.list(endpoint.path, params):
            if mapping.document_status(obj) is DocumentStatus.VOIDED:
                continue  # a void document of an earlier run holds the number, not this write
            if keep and endpoint.number_field:
                match = obj.get(endpoint.number_field) == record.number
            else:
                match = mapping.strip_stamp(obj.get("notes"))[1] == tag
            if match:
                self._settle(record, obj, refs, fresh=False)
                return f"{endpoint.path}:{obj['id']}"
        return None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        path, plain = mapping.split_id(request.target_id)
        reply = self.client.get(f"{path}/{plain}")
        if reply.status == 404:
            return RemovalResult(removed=True, action=Removal.DELETE)
        if not reply.ok:
            return RemovalResult(removed=False, reason="NOT_READABLE", response=reply.text)
        obj = reply.data
        if self.credit:
            contact = str((obj.get("contact") or {}).get("id"))
            undone = self.unallocate(contact, plain)
            if not undone.removed:
                return undone
        endpoint = mapping.DOCUMENTS[path]
        status = (obj.get("status") or {}).get("id")
        if status == "VOID":
            return RemovalResult(removed=True, action=Removal.VOID)
        voids = endpoint.sales and status != "DRAFT"
        wanted = Removal.VOID if voids else Removal.DELETE
        if wanted not in request.actions:
            return not_offered("Sage", self.entity, request, (wanted,))
        if voids:
            # Sage voids a sales document on DELETE and wants the reason for the audit trail.
            result = self.delete(f"{path}/{plain}", {"void_reason": self.ctx.options.void_reason})
            return RemovalResult(
                removed=result.removed,
                action=Removal.VOID if result.removed else None,
                reason=result.reason,
                message=result.message,
                response=result.response,
            )
        return self.delete(f"{path}/{plain}")

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        base = self.business.base_currency
        index = self.allocation_index() if self.credit else {}
        seen: set[str] = set()
        for endpoint in self.endpoints.values():
            for obj in self.client.list(endpoint.path, since_param(since)):
                if self._shown(obj):
                    seen.add(str(obj["id"]))
                    yield mapping.read_document(
                        obj, endpoint, base, tuple(index.get(obj["id"], ()))
                    )
        if self.credit and since is not None:
            for again, moved in self._reallocated(since, seen):
                yield mapping.read_document(moved, again, base, tuple(index.get(moved["id"], ())))

    def _shown(self, obj: Mapping[str, Any]) -> bool:
        voided = mapping.document_status(obj) is DocumentStatus.VOIDED
        return not voided or self.ctx.options.include_voided

    def _reallocated(
        self, since: dt.datetime, seen: set[str]
    ) -> Iterator[tuple[DocumentEndpoint, Mapping[str, Any]]]:
        """Credit notes whose allocations changed since (their own timestamp did not)."""
        changed = {
            mapping.artefact_reference(entry.get("artefact") or {})
            for params in (since_param(since), deleted_param(since))
            for allocation in self.client.list("contact_allocations", params)
            for entry in allocation.get("allocated_artefacts") or ()
        }
        for found in sorted(c for c in changed if c and c[0] == "credit_notes"):
            path, plain = mapping.split_id(found[1])
            reply = self.client.get(f"{path}/{plain}")
            if plain not in seen and reply.ok and self._shown(reply.data):
                yield mapping.DOCUMENTS[path], reply.data

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        for endpoint in self.endpoints.values():
            for obj in self.client.list(endpoint.path, deleted_param(since), full=False):
                yield f"{endpoint.path}:{obj['id']}"
            if endpoint.sales:
                # A posted sales document is voided, not deleted: a void is a deletion too.
                params = {**since_param(since), "status_id": "VOID"}
                for obj in self.client.list(endpoint.path, params, full=False):
                    yield f"{endpoint.path}:{obj['id']}"


class InvoiceHandler(DocumentHandler):
    entity = "invoices"


class CreditNoteHandler(DocumentHandler):
    entity = "credit_notes"
    credit = True


# ---------------------------------------------------------------------------
# contact payments: receipts, payments and refunds
# ---------------------------------------------------------------------------


class _ContactPayments(_Stamped):
    types: ClassVar[tuple[str, ...]] = ()

    def candidates(self, record: Record, refs: References) -> Iterator[dict[str, Any]]:
        assert isinstance(record, Payment | Refund)
        params = {
            "contact_id": self.resolver(refs)("contacts", record.contact),
            **day_params(record.date),
        }
        return self.client.list(self.path, params)

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, Payment | Refund)
        base = self.business.base_currency
        customer = record.kind.ledger is DocumentKind.SALES
        problems = _contact_problems(refs, record.contact, record.currency, customer, base)
        bank = _bank_currency(refs, record.bank_account, base)
        if bank not in (record.currency, base):
            problems.append(
                Problem(
                    code="BANK_CURRENCY_DIFFERS",
                    message=f"it is in {record.currency} through bank account "
                    f"{record.bank_account}, which is in {bank}",
                )
            )
        return problems

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        base = self.business.base_currency
        for type_id in self.types:
            params = {**since_param(since), "transaction_type_id": type_id}
            for obj in self.client.list(self.path, params):
                yield mapping.read_contact_payment(obj, base)


class PaymentHandler(_ContactPayments):
    """Customer receipts and supplier payments, with their allocations; the rest on account."""

    entity = "payments"
    types = ("CUSTOMER_RECEIPT", "VENDOR_PAYMENT")

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, Payment)
        problems = super().check(record, refs)
        if record.unallocated < 0:
            problems.append(
                Problem(
                    code="OVER_ALLOCATED",
                    message=f"it allocates {record.amount - record.unallocated}, more than its "
                    f"{record.amount}",
                )
            )
        return problems

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, Payment)
        written = mapping.payment_payload(
            record,
            self.resolver(refs),
            base_currency=self.business.base_currency,
            tag=self.tag(request),
        )
        return self.post(written)

    def update(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, Payment)
        assert request.target_id is not None, "an update names its target"
        written = mapping.payment_payload(
            record,
            self.resolver(refs),
            base_currency=self.business.base_currency,
            tag=self.tag(request),
        )
        reply = self.client.send("PUT", f"{self.path}/{request.target_id}", body=written.body)
        return self.written(reply, written, request.target_id)


class RefundHandler(_ContactPayments):
    """Money paid back to a customer or received back from a supplier."""

    entity = "refunds"
    types = ("CUSTOMER_REFUND", "VENDOR_REFUND")

    def _payload(self, request: LoadRequest, refs: References) -> Written:
        record = request.record
        assert isinstance(record, Refund)
        return mapping.refund_payload(
            record,
            self.resolver(refs),
            base_currency=self.business.base_currency,
            tag=self.tag(request),
        )

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        return self.post(self._payload(request, refs))

    def update(self, request: LoadRequest, refs: References) -> LoadResult:
        written = self._payload(request, refs)
        reply = self.client.send("PUT", f"{self.path}/{request.target_id}", body=written.body)
        return self.written(reply, written, request.target_id)


# ---------------------------------------------------------------------------
# banking and journals
# ---------------------------------------------------------------------------


class BankTransactionHandler(_Stamped):
    """Bank payments and receipts without an invoice (``/other_payments``)."""

    entity = "bank_transactions"

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, BankTransaction)
        base = self.business.base_currency
        problems = _line_problems(record.lines, refs)
        bank = _bank_currency(refs, record.bank_account, base)
        if record.currency != base or bank != base:
            problems.append(
                Problem(
                    code="FOREIGN_BANK_TRANSACTION",
                    message=f"it is in {record.currency} on a {bank} bank account; Sage's other "
                    "payments carry no exchange rate, so only base-currency ones can move",
                )
            )
        if not record.lines:
            problems.append(Problem(code="NO_LINES", message="Sage needs at least one line"))
        return problems

    def candidates(self, record: Record, refs: References) -> Iterator[dict[str, Any]]:
        assert isinstance(record, BankTransaction)
        params = {
            "bank_account_id": self.resolver(refs)("bank_accounts", record.bank_account),
            **day_params(record.date),
        }
        return self.client.list(self.path, params)

    def _payload(self, request: LoadRequest, refs: References) -> Written:
        record = request.record
        assert isinstance(record, BankTransaction)
        return mapping.other_payment_payload(
            record, self.resolver(refs), self.categories(refs), tag=self.tag(request)
        )

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        return self.post(self._payload(request, refs))

    def update(self, request: LoadRequest, refs: References) -> LoadResult:
        written = self._payload(request, refs)
        reply = self.client.send("PUT", f"{self.path}/{request.target_id}", body=written.body)
        return self.written(reply, written, request.target_id)

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        base = self.business.base_currency
        for obj in self.client.list(self.path, since_param(since)):
            yield mapping.read_other_payment(obj, base)


class TransferHandler(_Stamped):
    """Money moved between two of the business's banks; Sage's deposits are read as transfers."""

    entity = "bank_transfers"

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, BankTransfer)
        base = self.business.base_currency
        currencies = {
            _bank_currency(refs, record.from_bank_account, base),
            _bank_currency(refs, record.to_bank_account, base),
        }
        if currencies != {base} or record.currency != base:
            return [
                Problem(
                    code="FOREIGN_BANK_TRANSFER",
                    message="it involves a bank account not in the base currency; Sage's bank "
                    "transfers carry one amount and no exchange rate",
                )
            ]
        return []

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, BankTransfer)
        written = mapping.transfer_payload(record, self.resolver(refs), tag=self.tag(request))
        result = self.post(written)
        if result.ok:
            return LoadResult(
                ok=True, target_id=f"{self.path}:{result.target_id}", warnings=result.warnings
            )
        return result

    def update(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, BankTransfer)
        assert request.target_id is not None, "an update names its target"
        path, plain = mapping.split_id(request.target_id)
        if path != self.path:
            return LoadResult.failed("TARGET_CANNOT_UPDATE", "Sage's bank deposits cannot change")
        written = mapping.transfer_payload(record, self.resolver(refs), tag=self.tag(request))
        reply = self.client.send("PUT", f"{path}/{plain}", body=written.body)
        return self.written(reply, written, request.target_id)

    def find(self, request: LoadRequest, refs: References) -> str | None:
        found = super().find(request, refs)
        return f"{self.path}:{found}" if found else None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        path, plain = mapping.split_id(request.target_id)
        return self.delete(f"{path}/{plain}")

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        base = self.business.base_currency
        for path in ("bank_transfers", "bank_deposits"):
            for obj in self.client.list(path, since_param(since)):
                yield mapping.read_transfer(obj, path, base)

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        for path in ("bank_transfers", "bank_deposits"):
            for obj in self.client.list(path, deleted_param(since), full=False):
                yield f"{path}:{obj['id']}"


class JournalHandler(_Stamped):
    """Journals: balanced, debit and credit per line; Sage cannot change one once posted.

    Journals may post to the debtors and creditors control accounts (Sage warns that they do
    not reach the aged reports, as in Sage 50), but not the exchange differences Sage 50
    journals when a foreign item is settled: Sage posts those itself.
    """

    entity = "manual_journals"

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, ManualJournal)
        problems = []
        total = sum((line.amount for line in record.lines), Decimal(0))
        if total:
            problems.append(
                Problem(code="JOURNAL_UNBALANCED", message=f"its lines add up to {total}, not 0")
            )
        roles = {role(refs, line.account) for line in record.lines}
        if ControlRole.EXCHANGE_VARIANCE in roles and roles & {
            ControlRole.RECEIVABLES,
            ControlRole.PAYABLES,
        }:
            problems.append(
                Problem(
                    code="EXCHANGE_DIFFERENCE_JOURNAL",
                    message="an exchange difference posted to debtors or creditors: Sage works "
                    "out realised exchange differences itself when a foreign payment is "
                    "allocated, so moving it would count it twice",
                )
            )
        hidden = sorted({line.account for line in record.lines if self._hidden(line.account, refs)})
        if hidden:
            problems.append(
                Problem(
                    code="ACCOUNT_NOT_IN_JOURNALS",
                    message=f"a line posts to {', '.join(hidden)}, which the Sage business "
                    "keeps out of journals (visible_in_journals is off)",
                )
            )
        return problems

    def _hidden(self, account: str, refs: References) -> bool:
        target = refs.target_id("ledger_accounts", account)
        sage = self.business.ledger_accounts.get(target or "") or {}
        return sage.get("visible_in_journals") is False

    def candidates(self, record: Record, refs: References) -> Iterator[dict[str, Any]]:
        # Sage cannot filter journals by date: the stamp is looked for among all of them.
        return self.client.list(self.path)

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, ManualJournal)
        written = mapping.journal_payload(
            record, self.resolver(refs), self.categories(refs), tag=self.tag(request)
        )
        return self.post(written)

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        for obj in self.client.list(self.path, since_param(since)):
            yield mapping.read_journal(obj)


POSTING_HANDLERS: tuple[type[SageHandler], ...] = (
    OpeningBalanceHandler,
    InvoiceHandler,
    RefundHandler,
    OpenItemHandler,
    CreditNoteHandler,
    PaymentHandler,
    BankTransactionHandler,
    TransferHandler,
    JournalHandler,
)
