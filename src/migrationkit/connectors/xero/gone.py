"""What went at Xero: the records of a delta's stream of deletions.

Deleting or voiding a Xero record changes its status and renews ``UpdatedDateUTC``, so a delta
asks for the deleted and voided records changed since the last run, with ``If-Modified-Since``
and ``Statuses`` (invoices) or ``where``; without a moment the whole lists are read. Which of
them count as gone is each entity's: a voided invoice is still read (status voided), as a full
extraction reads it, while a voided journal or bank transaction is not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from . import mapping as m
from .client import XeroApi

__all__ = ["Gone"]

Raw = dict[str, Any]
_GONE = ("DELETED", "VOIDED")


class Lists(Protocol):
    """What :class:`Gone` reads through: the reader's lists and how it recognises records."""

    api: XeroApi

    def changed_since(
        self, path: str, key: str, since: dt.datetime, params: Mapping[str, Any]
    ) -> list[Raw]: ...
    def invoices(self) -> list[Raw]: ...
    def credit_notes(self) -> list[Raw]: ...
    def payments(self) -> list[Raw]: ...
    def batch_payments(self) -> list[Raw]: ...
    def bank_transactions(self) -> list[Raw]: ...
    def transfers(self, deleted: bool = False) -> list[Raw]: ...
    def manual_journals(self) -> list[Raw]: ...
    def document_role(self, raw: Raw) -> str: ...
    def plain_bank_transaction(self, raw: Raw) -> bool: ...
    def open_item_kind(self, raw: Raw) -> object: ...
    def journal_key(self, journal_id: str) -> str: ...


class Gone:
    """The keys of records deleted (or voided) at Xero, per entity, read through ``reader``."""

    def __init__(self, reader: Lists) -> None:
        self.reader = reader

    def _listed(
        self, path: str, key: str, since: dt.datetime | None, whole: Callable[[], list[Raw]]
    ) -> list[Raw]:
        """Deleted and voided records: from the whole list, or those changed since a moment."""
        if since is None:
            return [r for r in whole() if r.get("Status") in _GONE]
        params: dict[str, Any] = (
            {"Statuses": ",".join(_GONE)}
            if path == "/Invoices"
            else {"where": " OR ".join(f'Status=="{status}"' for status in _GONE)}
        )
        return self.reader.changed_since(path, key, since, params)

    def invoices(self, since: dt.datetime | None) -> Iterator[str]:
        for raw in self._listed("/Invoices", "Invoices", since, self.reader.invoices):
            if raw.get("Status") == "DELETED" and self.reader.document_role(raw) == "documents":
                yield raw["InvoiceID"]

    def credit_notes(self, since: dt.datetime | None) -> Iterator[str]:
        gone = self._listed("/CreditNotes", "CreditNotes", since, self.reader.credit_notes)
        for raw in gone:
            if raw.get("Status") == "DELETED" and self.reader.document_role(raw) == "documents":
                yield raw["CreditNoteID"]

    def payments(self, since: dt.datetime | None) -> Iterator[str]:
        for raw in self._listed("/Payments", "Payments", since, self.reader.payments):
            if raw.get("Status") == "DELETED" and not raw.get("BatchPaymentID"):
                yield f"payment/{raw['PaymentID']}"
        batches = (
            self.reader.batch_payments()
            if since is None
            else self.reader.api.get("/BatchPayments", since=since).get("BatchPayments") or []
        )
        for batch in batches:
            if batch.get("Status") == "DELETED":
                yield f"batch/{batch['BatchPaymentID']}"
        for raw in self._listed(
            "/BankTransactions", "BankTransactions", since, self.reader.bank_transactions
        ):
            if raw.get("Type", "").endswith("OVERPAYMENT") and raw.get("Status") == "DELETED":
                yield f"overpayment/{raw['BankTransactionID']}"

    def bank_transactions(self, since: dt.datetime | None) -> Iterator[str]:
        for raw in self._listed(
            "/BankTransactions", "BankTransactions", since, self.reader.bank_transactions
        ):
            if raw.get("Status") in _GONE and self.reader.plain_bank_transaction(raw):
                yield raw["BankTransactionID"]

    def bank_transfers(self, since: dt.datetime | None) -> Iterator[str]:
        transfers = (
            self.reader.transfers(deleted=True)
            if since is None
            else self.reader.api.get("/BankTransfers", {"includeDeleted": True}, since=since).get(
                "BankTransfers"
            )
            or []
        )
        for raw in transfers:
            if raw.get("Status") == "DELETED":
                yield raw["BankTransferID"]

    def open_items(self, since: dt.datetime | None) -> Iterator[str]:
        for raw in self._listed("/Invoices", "Invoices", since, self.reader.invoices):
            if raw.get("Status") in _GONE and self.reader.open_item_kind(raw):
                yield raw["InvoiceID"]
        for raw in self._listed("/CreditNotes", "CreditNotes", since, self.reader.credit_notes):
            if raw.get("Status") in _GONE and self.reader.open_item_kind(raw):
                yield raw["CreditNoteID"]

    def opening_balances(self, since: dt.datetime | None) -> Iterator[str]:
        for raw in self._listed(
            "/ManualJournals", "ManualJournals", since, self.reader.manual_journals
        ):
            narration = str(raw.get("Narration") or "")
            if raw.get("Status") in _GONE and m.parse_opening_narration(narration):
                yield raw["ManualJournalID"]
        for raw in self._listed(
            "/BankTransactions", "BankTransactions", since, self.reader.bank_transactions
        ):
            reference = str(raw.get("Reference") or "")
            if raw.get("Status") in _GONE and m.parse_opening_narration(reference):
                yield raw["BankTransactionID"]

    def manual_journals(self, since: dt.datetime | None) -> Iterator[str]:
        for raw in self._listed(
            "/ManualJournals", "ManualJournals", since, self.reader.manual_journals
        ):
            if raw.get("Status") in _GONE:
                yield self.reader.journal_key(raw["ManualJournalID"])
