"""The Xero handler bases, and the Xero behaviour several families of entities share.

:class:`XeroHandler` is the kit's :class:`~migrationkit.handlers.Handler` for Xero: it hands its
handlers :class:`~.context.XeroRefs` instead of the engine's references, checks every record's
line amounts against Xero's precision, forgets cached reads before looking a record up, and
holds the ways of taking records back that several entities need (voiding a document, deleting
a bank transaction, voiding a journal). :class:`XeroBatchHandler` sends records in Xero's
batches: created with ``PUT``, updated with ``POST``.

Handlers never raise for one record Xero refuses: that is a failed
:class:`~migrationkit.LoadResult` with Xero's words and the element Xero sent back. They raise
only when the whole call failed, and the run stops so that it can be resumed.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

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
from migrationkit.core.model import Allocation, BankAccount, DocumentLine, LedgerAccount, Record
from migrationkit.handlers import BatchHandler, Handler, Prepared
from migrationkit.http import ApiClient

from . import mapping as m
from .context import Outcome, Payload, XeroContext, XeroRefs, refused, removed
from .reader import XeroReader

__all__ = ["ALL_WAYS", "Draft", "XeroBatchHandler", "XeroHandler"]

ALL_WAYS: frozenset[Removal] = frozenset(Removal)
"""Every way of taking a record back: what a handler may use on the parts it made itself."""

UNITDP_PATHS = frozenset({"/Invoices", "/CreditNotes", "/BankTransactions", "/Overpayments"})
"""Endpoints that take ``unitdp`` (unit amounts to 4 decimal places)."""


@attrs.define
class Draft:
    """A record as Xero takes it, with the notes its result will carry."""

    body: Payload
    notes: list[str] = attrs.field(factory=list)


class XeroHandler(Handler[XeroContext]):
    """The work for one entity in Xero; the kit's defaults say what an entity cannot do."""

    system = "Xero"

    @property
    def reader(self) -> XeroReader:
        return self.ctx.reader

    def refs(self, refs: References) -> XeroRefs:
        """The references of a load call, as Xero needs them."""
        return refs if isinstance(refs, XeroRefs) else XeroRefs(self.ctx, refs)

    @property
    def api(self) -> ApiClient:
        return self.ctx.api.client

    # -- the kit's hooks ---------------------------------------------------------------------------

    def load(self, requests: Sequence[LoadRequest], refs: References) -> list[LoadResult]:
        return super().load(requests, self.refs(refs))

    def check(self, record: Record, refs: References) -> list[Problem]:
        problems = precision(getattr(record, "lines", None) or ())
        problems.extend(self.rules(record, refs))
        return problems

    def rules(self, record: Record, refs: References) -> list[Problem]:
        """The entity's own structural rules (the line precision rule holds for all)."""
        return []

    def find(self, request: LoadRequest, refs: References) -> str | None:
        # What was read may predate the write being looked for.
        self.ctx.changed()
        return self.look_up(request, self.refs(refs))

    def look_up(self, request: LoadRequest, refs: XeroRefs) -> str | None:
        """The Xero id of what an interrupted write made of the record, or ``None``."""
        return None

    # -- rules several entities share ----------------------------------------------------------

    def needs_clearing(self, what: str) -> list[Problem]:
        if self.ctx.clearing_code:
            return []
        return [
            Problem(
                code="NEEDS_CLEARING_ACCOUNT",
                message=f"Xero has no place for {what} except through a conversion clearing "
                "account; set the xero option clearing_account to move it",
            )
        ]

    @staticmethod
    def line_problems(lines: Iterable[DocumentLine], refs: References) -> list[Problem]:
        problems = []
        for line in lines:
            account = refs.record("ledger_accounts", line.account)
            if isinstance(account, LedgerAccount) and m.is_control(
                account.control_role, account.type
            ):
                problems.append(
                    Problem(
                        code="LINE_TO_CONTROL_ACCOUNT",
                        message=f"a line posts to {account.code} {account.name}, a bank, "
                        "receivables or payables account, which Xero allows only through its "
                        "own documents",
                    )
                )
        return problems

    @staticmethod
    def bank_currency(bank_key: str, currency: str, refs: References) -> list[Problem]:
        bank = refs.record("bank_accounts", bank_key)
        if isinstance(bank, BankAccount) and bank.currency != currency:
            return [
                Problem(
                    code="CURRENCY_DIFFERS_FROM_BANK",
                    message=f"in {currency} through the {bank.currency} bank account "
                    f"{bank.name}; Xero records bank lines in the bank's currency only",
                )
            ]
        return []

    # -- looking up what an interrupted run may have written -----------------------------------

    def candidates(self, path: str, key: str, day: dt.date, extra: str = "") -> list[Payload]:
        """What Xero holds at ``path`` dated ``day``."""
        where = f"Date==DateTime({day.year},{day.month:02d},{day.day:02d})" + extra
        params: dict[str, Any] = {"where": where}
        if path in UNITDP_PATHS:
            params["unitdp"] = 4
        return list(self.ctx.api.pages(path, key, params))

    # -- writing parts of records ----------------------------------------------------------------

    def allocate(
        self,
        path: str,
        allocations: Sequence[Allocation],
        day: dt.date,
        refs: XeroRefs,
        idempotency: str,
    ) -> Outcome:
        """Allocate a credit (a credit note, an overpayment) to the invoices it settles."""
        body = {
            "Allocations": [
                {
                    "Invoice": {"InvoiceID": refs.document(a.document_entity, a.document)},
                    "Amount": a.amount,
                    "Date": (a.date or day).isoformat(),
                }
                for a in allocations
            ]
        }
        return self.ctx.single(
            "PUT", path, "Allocations", body, idempotency, {"summarizeErrors": False}
        )

    def unallocate(self, path: str, allocations: Iterable[Payload]) -> None:
        """Delete the allocations of a credit note or an overpayment (``path`` is the credit's)."""
        for allocation in allocations:
            self.ctx.write(
                "DELETE",
                f"{path}/Allocations/{allocation['AllocationID']}",
                None,
                None,
                self.ctx.idempotency_key("unallocate", allocation["AllocationID"], ()),
            )

    def clear_allocations(self, credit_id: str) -> None:
        body = self.ctx.api.get(f"/CreditNotes/{credit_id}", missing_ok=True) or {}
        for credit in body.get("CreditNotes") or ():
            self.unallocate(f"/CreditNotes/{credit_id}", credit.get("Allocations") or ())

    # -- taking records back ---------------------------------------------------------------------

    def void_document(
        self, document_id: str, credit: bool | None, actions: Collection[Removal] = ALL_WAYS
    ) -> RemovalResult:
        """Delete a draft, void an approved invoice or credit note (``None``: either kind).

        ``actions`` are the ways the removal may take: a document that could be taken back
        only another way stays, and the result says so.
        """
        found = None
        kinds = [credit] if credit is not None else [False, True]
        for is_credit in kinds:
            path = "/CreditNotes" if is_credit else "/Invoices"
            key = "CreditNotes" if is_credit else "Invoices"
            body = self.ctx.api.get(f"{path}/{document_id}", missing_ok=True)
            if body and body.get(key):
                found = (is_credit, path, key, body[key][0])
                break
        if found is None:
            return RemovalResult(removed=True, action=Removal.DELETE, message="already gone")
        is_credit, path, key, raw = found
        if raw["Status"] in ("DELETED", "VOIDED"):
            return RemovalResult(
                removed=True, action=Removal.VOID if raw["Status"] == "VOIDED" else Removal.DELETE
            )
        if is_credit and raw.get("Allocations"):
            self.clear_allocations(document_id)
        status = "DELETED" if raw["Status"] in ("DRAFT", "SUBMITTED") else "VOIDED"
        needed = Removal.DELETE if status == "DELETED" else Removal.VOID
        if needed not in actions:
            return RemovalResult(
                removed=False,
                reason="REMOVAL_NOT_ALLOWED",
                message=f"the {raw['Status'].lower()} document could only be taken back by "
                f"{needed.value}, which was not asked",
            )
        if status == "VOIDED":
            self._free_number(path, key, document_id, raw)
        outcome = self.ctx.single(
            "POST",
            f"{path}/{document_id}",
            key,
            {key: [{"Status": status}]},
            self.ctx.idempotency_key("void", document_id, (status,)),
        )
        return removed(outcome, needed)

    def _free_number(self, path: str, key: str, document_id: str, raw: Payload) -> None:
        """Rename a sales document before voiding it: Xero keeps a voided one's number taken.

        Without this a rolled-back demo could not be migrated again: every sales invoice
        number would be "not unique". The voided document keeps its number with a suffix.
        """
        field = "CreditNoteNumber" if key == "CreditNotes" else "InvoiceNumber"
        number = raw.get(field)
        if raw.get("Type") not in ("ACCREC", "ACCRECCREDIT") or not number:
            return
        renamed = f"{number} (rolled back {document_id[:8]})"[:255]
        self.ctx.single(
            "POST",
            f"{path}/{document_id}",
            key,
            {key: [{field: renamed}]},
            self.ctx.idempotency_key("renumber", document_id, (renamed,)),
        )

    def delete_bank_transaction(self, transaction_id: str) -> RemovalResult:
        body = self.ctx.api.get(f"/BankTransactions/{transaction_id}", missing_ok=True) or {}
        held = (body.get("BankTransactions") or [None])[0]
        if held is None or held.get("Status") == "DELETED":
            return RemovalResult(removed=True, action=Removal.DELETE)
        # The spec requires Type, LineItems and BankAccount on every bank transaction sent.
        element = {
            "BankTransactionID": transaction_id,
            "Type": held["Type"],
            "BankAccount": {"AccountID": held["BankAccount"]["AccountID"]},
            "LineItems": [
                {"LineItemID": line["LineItemID"]}
                for line in held.get("LineItems") or ()
                if line.get("LineItemID")
            ],
            "Status": "DELETED",
        }
        outcome = self.ctx.single(
            "POST",
            f"/BankTransactions/{transaction_id}",
            "BankTransactions",
            {"BankTransactions": [element]},
            self.ctx.idempotency_key("bank_transactions", "delete", (transaction_id,)),
        )
        return removed(outcome, Removal.DELETE)

    def void_journal(self, journal_id: str) -> RemovalResult:
        """Void a posted manual journal (delete a draft one)."""
        body = self.ctx.api.get(f"/ManualJournals/{journal_id}", missing_ok=True) or {}
        held = (body.get("ManualJournals") or [{}])[0]
        status = held.get("Status")
        if status in (None, "DELETED", "VOIDED"):
            return RemovalResult(removed=True, action=Removal.VOID)
        new = "DELETED" if status == "DRAFT" else "VOIDED"
        outcome = self.ctx.single(
            "POST",
            f"/ManualJournals/{journal_id}",
            "ManualJournals",
            # The spec requires a narration on every journal sent, a status change too.
            {"ManualJournals": [{"Narration": held.get("Narration") or "", "Status": new}]},
            self.ctx.idempotency_key("manual_journals", "void", (journal_id,)),
        )
        return removed(outcome, Removal.VOID if new == "VOIDED" else Removal.DELETE)

    @staticmethod
    def released(requests: Sequence[RemovalRequest]) -> list[RemovalResult]:
        """Records matched to what Xero already had: nothing was created, nothing to take back."""
        return [RemovalResult(removed=True, action=None) for _ in requests]


class XeroBatchHandler(BatchHandler[XeroContext], XeroHandler):
    """An entity whose records go to Xero 50 to a request, each element answered on its own.

    A subclass builds each record's :class:`Draft` in :meth:`payload` and sends the ready ones in
    :meth:`send`, usually with :meth:`put_and_post` or :meth:`send_parts`.
    """

    def payload(self, request: LoadRequest, refs: References) -> Draft:
        return self.draft(request, self.refs(refs))

    @abc.abstractmethod
    def draft(self, request: LoadRequest, refs: XeroRefs) -> Draft:
        """The record as Xero takes it (raise ``MissingReference`` for one that cannot go)."""

    def put_and_post(
        self,
        path: str,
        key: str,
        ready: Sequence[Prepared],
        *,
        before_update: Callable[[list[Prepared]], None] | None = None,
    ) -> dict[int, Outcome]:
        """Create with PUT, then update with POST (Xero's verbs); outcomes by request index.

        ``before_update`` sees the updates just before they go.
        """
        outcomes: dict[int, Outcome] = {}
        for method, update in (("PUT", False), ("POST", True)):
            chosen = [p for p in ready if (p.request.operation is Operation.UPDATE) is update]
            if not chosen:
                continue
            if update and before_update is not None:
                before_update(chosen)
            sent = self.ctx.batch(
                self.entity,
                method,
                method,
                path,
                key,
                [p.payload.body for p in chosen],
                [p.request.idempotency_key for p in chosen],
                unitdp=True,
            )
            outcomes.update((p.index, outcome) for p, outcome in zip(chosen, sent, strict=True))
        return outcomes

    def send_parts(
        self,
        part: str,
        path: str,
        key: str,
        id_field: str,
        parts: Sequence[tuple[Prepared, Payload]],
        *,
        prefix: str = "",
        unitdp: bool = False,
    ) -> dict[int, LoadResult]:
        """Create one kind of Xero record for some of the records (``part`` of the entity).

        Results by request index: the new record's id (after ``prefix``), or Xero's refusal.
        """
        if not parts:
            return {}
        outcomes = self.ctx.batch(
            self.entity,
            part,
            "PUT",
            path,
            key,
            [body for _, body in parts],
            [item.request.idempotency_key for item, _ in parts],
            unitdp=unitdp,
        )
        return {
            item.index: LoadResult(ok=True, target_id=prefix + str(outcome.element[id_field]))
            if outcome.ok
            else refused(outcome)
            for (item, _), outcome in zip(parts, outcomes, strict=True)
        }


def precision(lines: Iterable[Any]) -> list[Problem]:
    """Xero keeps totals to the cent: a line amount with more decimals cannot go."""
    for line in lines:
        amounts = [
            getattr(line, "net", None),
            getattr(line, "tax", None),
            getattr(line, "amount", None),
        ]
        if any(a is not None and not m.has_cents_only(a) for a in amounts):
            return [
                Problem(
                    code="AMOUNT_PRECISION",
                    message="a line amount has more than 2 decimal places; Xero keeps totals "
                    "to the cent",
                )
            ]
    return []


def in_order(ready: Sequence[Prepared], results: dict[int, LoadResult]) -> list[LoadResult]:
    """The results of ``ready``, in its order (what :meth:`BatchHandler.send` answers)."""
    return [results[item.index] for item in ready]
