"""The division a connector works in, and what its handlers keep of it between calls.

The division is chosen by the ``division`` option (or ``exact:DIVISION``), else it is the
login's current one (``current/Me``). Its currency, its G/L accounts, VAT codes, journals, cost
centers, cost units and payment conditions are read once (each on first need) and kept up to
date as the handlers write. The journals and G/L accounts the connector posts through (sales,
purchase, general and opening journals, the opening and transfer accounts) are created the first
time they are needed, if the division lacks them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from migrationkit.core.errors import ConfigError, RemoteAPIError
from migrationkit.handlers import may_have_landed

from . import wire
from .client import ExactClient
from .options import ExactOptions

__all__ = ["GL_FIELDS", "JOURNAL_FIELDS", "VAT_FIELDS", "Division"]

GL_FIELDS = (
    "ID",
    "Code",
    "Description",
    "Type",
    "BalanceSide",
    "BalanceType",
    "IsBlocked",
    "VATCode",
)
VAT_FIELDS = (
    "ID",
    "Code",
    "Description",
    "Percentage",
    "Type",
    "VATTransactionType",
    "GLToPay",
    "GLToClaim",
    "Charged",
    "EUSalesListing",
    "IsBlocked",
)
JOURNAL_FIELDS = (
    "ID",
    "Code",
    "Description",
    "Type",
    "GLAccount",
    "GLAccountCode",
    "Currency",
    "AllowVariableCurrency",
    "AllowVAT",
    "BankName",
    "BankAccountIncludingMask",
    "BankAccountIBAN",
    "BankAccountBICCode",
    "IsBlocked",
)
DIMENSION_FIELDS = ("ID", "Code", "Description")
CONDITION_FIELDS = ("ID", "Code", "Description", "PaymentDays")
DIMENSION_PATHS = {"costcenters": "hrm/Costcenters", "costunits": "hrm/Costunits"}
_JOURNALS = {
    "sales_journal": (20, "Sales journal (migrationkit)"),
    "purchase_journal": (22, "Purchase journal (migrationkit)"),
    "general_journal": (90, "General journal (migrationkit)"),
    "opening_journal": (90, "Opening balances (migrationkit; the API cannot create type 10)"),
}


class Division:
    """One Exact Online division, read lazily and kept up to date by the handlers."""

    def __init__(self, client: ExactClient, options: ExactOptions) -> None:
        self.client = client
        self.options = options
        self.lock = threading.RLock()
        self._number = options.division
        if options.location:
            try:
                chosen = int(options.location)
            except ValueError:
                raise ConfigError(
                    f"exact:{options.location}: the division is its number (`exact:123456`)"
                ) from None
            if self._number is not None and self._number != chosen:
                raise ConfigError(
                    f"exact:{chosen} and division = {self._number} name two divisions; give one"
                )
            self._number = chosen
        client.choose = lambda: self.number
        self._record: dict[str, Any] | None = None
        self._cache: dict[str, dict[str, dict[str, Any]]] = {}
        self._numbers: dict[str, set[int]] = {}
        self._claims: dict[tuple[str, int], str] = {}
        self.entry_numbers: dict[str, int] = {}
        """Entry numbers by EntryID, of the entries written or read in this connector."""
        self.controls: dict[bool, str] = {}
        """The G/L accounts the source's debtors (True) and creditors control moved to."""
        self.dimensions: dict[str, str] = {}
        """Which tracking category (source key) has each analysis dimension."""

    # -- the division itself ---------------------------------------------------------------------

    @property
    def number(self) -> int:
        with self.lock:
            if self._number is None:
                self._number = self.client.current_division()
            if self.client.division != self._number:
                self.client.use_division(self._number)
            return self._number

    @property
    def record(self) -> dict[str, Any]:
        with self.lock:
            if self._record is None:
                self.number  # noqa: B018 - chooses the division
                fields = ("Code", "Description", "Currency", "Country", "VATNumber", "StartDate")
                found = self.client.first("hrm/Divisions", fields, f"Code eq {self.number}")
                if found is None:
                    raise ConfigError(f"Exact Online has no division {self.number} for this login")
                self._record = found
            return self._record

    @property
    def currency(self) -> str:
        return str(self.record.get("Currency") or "EUR")

    def forget(self) -> None:
        """Read everything afresh on next need (another run may have changed the division)."""
        with self.lock:
            self._record = None
            self._cache.clear()
            self._numbers.clear()

    # -- cached tables -----------------------------------------------------------------------------

    def _table(self, name: str) -> dict[str, dict[str, Any]]:
        with self.lock:
            if name not in self._cache:
                self.number  # noqa: B018 - chooses the division
                self._cache[name] = {str(row["Code"]).strip(): row for row in self._read(name)}
            return self._cache[name]

    def _read(self, name: str) -> Iterator[dict[str, Any]]:
        if name == "gl":
            return self.client.rows(
                "sync/Financial/GLAccounts", (*GL_FIELDS, "Timestamp"), filter="Timestamp gt 1"
            )
        if name == "vat":
            return self.client.rows("vat/VATCodes", VAT_FIELDS)
        if name == "journals":
            return self.client.rows("financial/Journals", JOURNAL_FIELDS)
        if name == "items":
            return self.client.rows(
                "sync/Logistics/Items", ("ID", "Code", "Timestamp"), filter="Timestamp gt 1"
            )
        if name == "conditions":
            return self.client.rows("cashflow/PaymentConditions", CONDITION_FIELDS)
        return self.client.rows(DIMENSION_PATHS[name], DIMENSION_FIELDS)

    @property
    def gl_accounts(self) -> dict[str, dict[str, Any]]:
        """G/L accounts by code."""
        return self._table("gl")

    def gl_by_id(self, gl_id: str) -> dict[str, Any] | None:
        return next((r for r in self.gl_accounts.values() if r["ID"] == gl_id), None)

    @property
    def vat_codes(self) -> dict[str, dict[str, Any]]:
        return self._table("vat")

    @property
    def journals(self) -> dict[str, dict[str, Any]]:
        return self._table("journals")

    @property
    def items(self) -> dict[str, dict[str, Any]]:
        """Items by code (only their ids: what a create needs to know)."""
        return self._table("items")

    @property
    def conditions(self) -> dict[str, dict[str, Any]]:
        return self._table("conditions")

    def dimension(self, name: str) -> dict[str, dict[str, Any]]:
        return self._table(name)

    def remember(self, name: str, row: dict[str, Any]) -> None:
        with self.lock:
            table = self._table(name)
            for code, known in list(table.items()):
                if known.get("ID") == row.get("ID"):
                    del table[code]
            table[str(row["Code"]).strip()] = row

    def drop(self, name: str, code: str) -> None:
        with self.lock:
            self._table(name).pop(code, None)

    def invalidate(self, name: str) -> None:
        with self.lock:
            self._cache.pop(name, None)

    # -- what the connector posts through ----------------------------------------------------------

    def control(self, sales: bool) -> str:
        """The receivables (``sales``) or payables G/L account relations post to.

        The source's debtors or creditors control account once it has moved, else the
        division's own of that type, else the stand-in (``receivables_account``,
        ``payables_account``), created on first need.
        """
        with self.lock:
            if sales in self.controls:
                return self.controls[sales]
            wanted = 20 if sales else 22
            option = "receivables_account" if sales else "payables_account"
            stand_in = str(getattr(self.options, option)).strip()
            found = sorted(
                (
                    r
                    for r in self.gl_accounts.values()
                    if int(r.get("Type") or 0) == wanted and str(r["Code"]).strip() != stand_in
                ),
                key=lambda r: str(r["Code"]).strip(),
            )
            if found:
                return str(found[0]["ID"])
            name = "Receivables" if sales else "Payables"
            return self.special_account(option, f"{name} (migrationkit)", wanted)

    def vat_accounts(self) -> tuple[str, str]:
        """The VAT-to-pay and VAT-to-claim G/L accounts for a new VAT code.

        Those the division's VAT codes already post to (the source's own, once its sales and
        purchase VAT accounts have moved), else the stand-in ``vat_account``.
        """
        stand_in = self.gl_accounts.get(self.options.vat_account.strip(), {}).get("ID")

        def used(field: str) -> str | None:
            found = (r.get(field) for r in self.vat_codes.values())
            return next((f for f in found if f and f != stand_in), None)

        to_pay, to_claim = used("GLToPay"), used("GLToClaim")
        if to_pay is None or to_claim is None:
            stand_in = self.vat_stand_in()
        return to_pay or str(stand_in), to_claim or str(stand_in)

    def vat_stand_in(self) -> str:
        return self.special_account(
            "vat_account", "VAT until the VAT accounts move (migrationkit)", 24
        )

    def create_coded(self, table: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create a coded row the connector needs (a journal, an account, a cost center).

        Exact keeps codes unique, so a create whose answer was lost is looked up by its code
        before it is sent again.
        """
        code = str(body["Code"]).strip()
        for _attempt in range(3):
            try:
                reply = self.client.send("POST", path, body=body)
            except RemoteAPIError as exc:
                if not may_have_landed(exc):
                    raise
                self.invalidate(table)
                found = self._table(table).get(code)
                if found is not None:
                    return found
                continue
            if not reply.ok and reply.status == 400 and reply.message.startswith("Already"):
                self.invalidate(table)  # created meanwhile, by another migration or a person
                found = self._table(table).get(code)
                if found is not None:
                    return found
            if not reply.ok:
                raise RemoteAPIError(
                    f"Exact Online refused to create {code} at {path}: {reply.message}",
                    status=reply.status,
                    body=reply.text,
                )
            self.remember(table, reply.entity)
            return reply.entity
        raise RemoteAPIError(
            f"Exact Online: creating {code} at {path} kept failing", retriable=True
        )

    def journal(self, option: str) -> str:
        """The code of a configured journal, created if the division lacks it."""
        code = str(getattr(self.options, option))
        kind, description = _JOURNALS[option]
        with self.lock:
            found = self.journals.get(code)
            if found is not None:
                if int(found.get("Type") or 0) != kind:
                    raise ConfigError(
                        f"journal {code} ({option}) is of type {found.get('Type')} in Exact, "
                        f"not {kind}; choose another code for {option}"
                    )
                return code
            body = {"Code": code, "Description": description, "Type": kind}
            self.create_coded(
                "journals", "financial/Journals", {**body, "AllowVariableCurrency": True}
            )
            return code

    def special_account(self, option: str, description: str, kind: int) -> str:
        """The id of a configured G/L account (opening, transfer, VAT), created if missing."""
        code = str(getattr(self.options, option)).strip()
        with self.lock:
            found = self.gl_accounts.get(code)
            if found is None:
                body = {"Code": code, "Description": description, "Type": kind}
                side = {"BalanceType": "B", "BalanceSide": "D"}
                found = self.create_coded("gl", "financial/GLAccounts", {**body, **side})
            return str(found["ID"])

    def opening_account(self) -> str:
        return self.special_account("opening_account", "Opening balances (migrationkit)", 90)

    def transfer_account(self) -> str:
        return self.special_account("transfer_account", "Bank transfers in transit", 90)

    # -- entry numbers -----------------------------------------------------------------------------

    def numbers(self, journal: str) -> set[int]:
        """Entry numbers taken in a journal (read once, then kept as entries are written)."""
        with self.lock:
            if journal not in self._numbers:
                self.number  # noqa: B018 - chooses the division
                rows = self.client.rows(
                    "bulk/Financial/TransactionLines",
                    ("EntryNumber",),
                    filter=f"JournalCode eq {wire.string_literal(journal)}",
                )
                self._numbers[journal] = {
                    int(r["EntryNumber"]) for r in rows if r.get("EntryNumber")
                }
            return self._numbers[journal]

    def take_number(self, journal: str, number: int, owner: str) -> bool:
        """Claim an entry number for the record ``owner``; false when Exact or another record
        already has it (the record then gets Exact's next number)."""
        with self.lock:
            claimed = self._claims.get((journal, number))
            if claimed is not None:
                return claimed == owner
            if number in self.numbers(journal):
                return False
            self._claims[(journal, number)] = owner
            return True

    def numbered(self, journal: str, entry_id: str, number: int) -> None:
        """An entry Exact numbered: its number is taken."""
        with self.lock:
            self.numbers(journal).add(number)
            self.entry_numbers[entry_id] = number
