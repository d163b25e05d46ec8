"""The ``xero`` connector: a Xero organisation as a source and as a target.

Writes go in batches of up to 50 elements with ``summarizeErrors=false``, so each element's
outcome (its id, or its validation messages) maps back to its record; accounts, tax rates,
tracking categories and bank transfers go one per request, because Xero's endpoints for them
take one element or answer only in summary. Every write carries an ``Idempotency-Key``
derived from the engine's idempotency keys of the records in it, so a request sent again
(after a dropped connection, or by a resumed run with the same batch) never creates twice.

A canonical record that becomes several Xero records (a refund, a journal routed through the
clearing account, a payment with allocations) either lands whole or is taken back: when a later
part fails, the parts already made are voided or deleted and the record reported as failed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from migrationkit.core.capabilities import Removal
from migrationkit.core.contract import (
    Found,
    LoadRequest,
    LoadResult,
    Operation,
    Problem,
    References,
    RemovalRequest,
    RemovalResult,
    RunContext,
)
from migrationkit.core.errors import (
    AuthError,
    ConfigError,
    MigrationKitError,
    RemoteAPIError,
)
from migrationkit.core.hookspecs import hookimpl
from migrationkit.core.model import (
    AccountClass,
    AccountType,
    BankAccount,
    BankTransaction,
    BankTransactionKind,
    BankTransfer,
    Company,
    Contact,
    ControlRole,
    CreditNote,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
    Invoice,
    Item,
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
    TrackingCategory,
)
from migrationkit.core.money import ZERO, round_money
from migrationkit.http import (
    OAuth2Session,
    StaticToken,
    TokenProvider,
    TokenStore,
    default_token_path,
)

from . import mapping as m
from .client import (
    WriteResult,
    XeroApi,
    make_client,
)
from .options import XeroOptions
from .reader import XeroReader

__all__ = ["XeroConnector"]

BATCH = 50
IN_FLIGHT = 5
"""Requests in flight at once: Xero's concurrent limit per tenant."""
Payload = dict[str, Any]
_FAILED_ELEMENT = "ERROR"


class _Unresolved(Exception):
    """A reference did not resolve to a Xero record (it should have: the engine checks)."""


@attrs.define
class _Outcome:
    """One element's answer: the element Xero returned, or its messages."""

    element: Payload
    errors: list[str]

    @property
    def ok(self) -> bool:
        return not self.errors


class XeroConnector:
    """Reads and writes one Xero organisation (tenant). See docs/connectors/xero.md."""

    def __init__(self, options: XeroOptions) -> None:
        tenant = options.tenant_id or options.location
        if not tenant:
            raise ConfigError(
                "xero needs a tenant id: xero:TENANT_ID (`migrationkit auth xero` lists them)"
            )
        self.rate_scale = options.rate_scale
        self.tenant_id = tenant
        self.base_url = options.base_url
        self.token_url = options.token_url
        self.client_id = options.client_id or os.environ.get("XERO_CLIENT_ID")
        self._client_secret = options.client_secret or os.environ.get("XERO_CLIENT_SECRET")
        self.token_store = (
            Path(options.token_store) if options.token_store else default_token_path("xero")
        )
        self._access_token = options.access_token
        self.clearing_code = options.clearing_account
        self.clearing_name = options.clearing_account_name
        self.conversion_contact = options.conversion_contact
        self.journal_contact = options.journal_contact
        self.sundry_contact = options.sundry_contact
        self._retries = options.retries
        self._observers = list(options.observers)
        self._api: XeroApi | None = None
        self._reader: XeroReader | None = None
        self._preserve_ids = True
        self._chart: dict[str, m.XeroAccount] | None = None
        self._org: dict[str, Any] | None = None
        self._tax_types: dict[str, dict[str, Any]] | None = None
        self._currencies: set[str] | None = None
        self._tracking: dict[str, dict[str, Any]] | None = None
        self._item_codes: dict[str, str] | None = None
        self._named_contacts: dict[str, str] = {}
        self._archive_later: list[tuple[str, str]] = []
        self._removal_actions: frozenset[Removal] = frozenset(Removal)

    def __repr__(self) -> str:
        return f"<XeroConnector tenant={self.tenant_id}>"

    # -- plumbing ------------------------------------------------------------------------------

    def _auth(self) -> TokenProvider:
        if self._access_token:
            return StaticToken(
                self._access_token, system="Xero", login_hint="run `migrationkit auth xero`"
            )
        if not self.client_id or not self._client_secret:
            raise AuthError(
                "Xero needs client_id and client_secret (options, or XERO_CLIENT_ID and "
                "XERO_CLIENT_SECRET) and a login: run `migrationkit auth xero`"
            )
        return OAuth2Session(
            token_url=self.token_url,
            client_id=self.client_id,
            client_secret=self._client_secret,
            store=TokenStore(self.token_store),
            name="Xero",
            login_hint="run `migrationkit auth xero`",
        )

    @property
    def api(self) -> XeroApi:
        if self._api is None:
            client = make_client(
                base_url=self.base_url,
                tenant_id=self.tenant_id,
                auth=self._auth(),
                rate_scale=self.rate_scale,
                observers=self._observers,
                retries=self._retries,
            )
            self._api = XeroApi(client)
        return self._api

    @property
    def reader(self) -> XeroReader:
        if self._reader is None:
            self._reader = XeroReader(self.api, sundry_contact=self.sundry_contact)
        return self._reader

    def _changed(self) -> None:
        """Forget cached reads after a write."""
        if self._reader is not None:
            self._reader.invalidate()

    def _idempotency_key(self, entity: str, part: str, keys: Iterable[str]) -> str:
        material = f"{self.tenant_id}:{entity}:{part}:" + "|".join(keys)
        return "mk-" + hashlib.sha256(material.encode()).hexdigest()[:60]

    def _write(
        self,
        method: str,
        path: str,
        key: str | None,
        body: Any,
        idempotency: str,
        params: Mapping[str, Any] | None = None,
    ) -> WriteResult:
        result = self.api.write(
            method, path, body, key=key, idempotency_key=idempotency, params=params
        )
        self._changed()
        return result

    @staticmethod
    def _remove_replaced(
        requests: Sequence[LoadRequest], remove: Callable[[str], RemovalResult]
    ) -> dict[int, LoadResult]:
        """Remove the old record of each update, for records Xero cannot change in place.

        The caller enters the new version again. Returns the updates whose old record could not
        be removed, as failed results by request index; those must not be entered again.
        """
        refused: dict[int, LoadResult] = {}
        for n, request in enumerate(requests):
            if request.operation is Operation.UPDATE and request.target_id:
                removal = remove(request.target_id)
                if not removal.removed:
                    refused[n] = LoadResult.failed(
                        removal.reason or "XERO_REFUSED", removal.message or "could not replace it"
                    )
        return refused

    def _put_and_post(
        self,
        entity: str,
        path: str,
        key: str,
        requests: Sequence[LoadRequest],
        ready: Sequence[int],
        payloads: Sequence[Payload],
        *,
        before_update: Callable[[list[int]], None] | None = None,
    ) -> Iterator[tuple[int, _Outcome]]:
        """Create with PUT, then update with POST (Xero's verbs), 50 elements a request.

        ``ready`` holds the indexes into ``requests`` of the ``payloads`` to send, in order;
        yields (request index, outcome). ``before_update`` sees the positions in ``ready`` of the
        updates just before they go.
        """
        for method, update in (("PUT", False), ("POST", True)):
            chosen = [
                i
                for i, n in enumerate(ready)
                if (requests[n].operation is Operation.UPDATE) is update
            ]
            if not chosen:
                continue
            if update and before_update is not None:
                before_update(chosen)
            outcomes = self._batch(
                entity,
                method,
                method,
                path,
                key,
                [payloads[i] for i in chosen],
                [requests[ready[i]].idempotency_key for i in chosen],
                unitdp=True,
            )
            for i, outcome in zip(chosen, outcomes, strict=True):
                yield ready[i], outcome

    def _batch(
        self,
        entity: str,
        part: str,
        method: str,
        path: str,
        key: str,
        payloads: Sequence[Payload],
        keys: Sequence[str],
        *,
        unitdp: bool = False,
    ) -> list[_Outcome]:
        """Send elements 50 a request with ``summarizeErrors=false``; one outcome each.

        Up to five requests go at once (Xero's concurrent limit per tenant); each carries the
        Idempotency-Key of its own elements, and the outcomes come back in element order.
        """
        params: dict[str, Any] = {"summarizeErrors": False}
        if unitdp:
            params["unitdp"] = 4

        def send(start: int) -> list[_Outcome]:
            chunk = list(payloads[start : start + BATCH])
            result = self._write(
                method,
                path,
                key,
                {key: chunk},
                self._idempotency_key(entity, part, keys[start : start + BATCH]),
                params,
            )
            if not result.ok or len(result.elements) != len(chunk):
                # Xero can refuse a whole batch even with summarizeErrors=false (Xero-Net#354);
                # its good elements may exist without ids, so stop: a resumed run looks each one
                # up before sending it again.
                raise RemoteAPIError(
                    f"Xero refused a batch of {len(chunk)} {entity} as a whole: "
                    f"{'; '.join(result.messages()[:3]) or result.status}; run the same command "
                    "again to check which were created"
                )
            return [_outcome(e) for e in result.elements]

        starts = list(range(0, len(payloads), BATCH))
        if len(starts) <= 1:
            return [o for start in starts for o in send(start)]
        with ThreadPoolExecutor(max_workers=min(IN_FLIGHT, len(starts))) as pool:
            answers = list(pool.map(send, starts))
        return [o for answer in answers for o in answer]

    def _single(
        self,
        method: str,
        path: str,
        key: str | None,
        body: Any,
        idempotency: str,
        params: Mapping[str, Any] | None = None,
    ) -> _Outcome:
        """One element in one request: a 400 is that element's refusal."""
        result = self._write(method, path, key, body, idempotency, params)
        if not result.ok:
            return _Outcome(element=result.body, errors=result.messages() or ["refused"])
        elements = result.elements
        if key and elements:
            return _outcome(elements[0])
        return _Outcome(element=result.body, errors=[])

    # -- cached Xero state ---------------------------------------------------------------------

    def organisation(self) -> dict[str, Any]:
        if self._org is None:
            body = self.api.get("/Organisation")
            self._org = dict((body.get("Organisations") or [{}])[0])
        return self._org

    @property
    def base_currency(self) -> str:
        return str(self.organisation().get("BaseCurrency") or "GBP")

    def chart(self, refresh: bool = False) -> dict[str, m.XeroAccount]:
        if self._chart is None or refresh:
            accounts = self.api.get("/Accounts").get("Accounts") or []
            self._chart = {a["AccountID"]: m.XeroAccount.from_xero(a) for a in accounts}
        return self._chart

    def _by_code(self, code: str) -> m.XeroAccount | None:
        for account in self.chart().values():
            if account.code == code and account.status != "DELETED":
                return account
        return None

    def _system(self, system: str) -> m.XeroAccount | None:
        return next((a for a in self.chart().values() if a.system == system), None)

    def _tax(self) -> dict[str, dict[str, Any]]:
        if self._tax_types is None:
            rates = self.api.get("/TaxRates").get("TaxRates") or []
            self._tax_types = {r["TaxType"]: r for r in rates}
        return self._tax_types

    def _ensure_currency(self, code: str | None) -> None:
        """Enable a currency in the organisation before the first record that uses it."""
        if not code:
            return
        if self._currencies is None:
            body = self.api.get("/Currencies")
            self._currencies = {c["Code"] for c in body.get("Currencies") or ()}
        if code in self._currencies or code == self.base_currency:
            return
        outcome = self._single(
            "PUT",
            "/Currencies",
            "Currencies",
            {"Code": code},
            self._idempotency_key("currency", code, ()),
        )
        if not outcome.ok:
            raise RemoteAPIError(f"Xero would not enable the currency {code}: {outcome.errors[0]}")
        self._currencies.add(code)

    def _tracking_categories(self) -> dict[str, dict[str, Any]]:
        if self._tracking is None:
            body = self.api.get("/TrackingCategories", {"includeArchived": True})
            self._tracking = {
                c["TrackingCategoryID"]: c for c in body.get("TrackingCategories") or ()
            }
        return self._tracking

    def _items(self) -> dict[str, str]:
        if self._item_codes is None:
            body = self.api.get("/Items")
            self._item_codes = {i["ItemID"]: i["Code"] for i in body.get("Items") or ()}
        return self._item_codes

    def _clearing(self) -> m.XeroAccount:
        """The conversion clearing account, created (as a current liability) if missing."""
        if not self.clearing_code:
            raise ConfigError("xero: this needs the clearing_account option")
        account = self._by_code(self.clearing_code)
        if account is not None:
            return account
        outcome = self._single(
            "PUT",
            "/Accounts",
            "Accounts",
            {"Code": self.clearing_code, "Name": self.clearing_name, "Type": "CURRLIAB"},
            self._idempotency_key("clearing", self.clearing_code, ()),
        )
        if not outcome.ok:
            raise RemoteAPIError(
                f"Xero would not create the clearing account {self.clearing_code}: "
                f"{outcome.errors[0]}"
            )
        created = m.XeroAccount.from_xero(outcome.element)
        self.chart()[created.id] = created
        return created

    def _named_contact(self, name: str) -> str:
        """The id of a contact the connector uses by name (created if missing)."""
        if name in self._named_contacts:
            return self._named_contacts[name]
        body = self.api.get("/Contacts", {"where": f'Name=="{_quote(name)}"'})
        found = [c for c in body.get("Contacts") or () if c.get("ContactStatus") == "ACTIVE"]
        if found:
            contact_id = str(found[0]["ContactID"])
        else:
            outcome = self._single(
                "PUT",
                "/Contacts",
                "Contacts",
                {"Contacts": [{"Name": name}]},
                self._idempotency_key("contact", name, ()),
            )
            if not outcome.ok:
                raise RemoteAPIError(
                    f"Xero would not create the contact {name!r}: {outcome.errors[0]}"
                )
            contact_id = str(outcome.element["ContactID"])
        self._named_contacts[name] = contact_id
        return contact_id

    # -- both sides ----------------------------------------------------------------------------

    @hookimpl
    def migrationkit_identity(self) -> str:
        return f"xero:{self.tenant_id}"

    @hookimpl
    def migrationkit_begin(self, run: RunContext) -> bool:
        self._preserve_ids = run.preserve_ids
        self._chart = self._tax_types = self._tracking = self._item_codes = None
        self._currencies = None
        self._org = None
        self._archive_later = []
        self._changed()
        return True

    @hookimpl
    def migrationkit_finish(self, run: RunContext, success: bool) -> bool:
        if success and self._archive_later:
            self._archive_deferred()
        self._archive_later = []
        return True

    def _archive_deferred(self) -> None:
        """Archive what was inactive at the source, now that documents no longer need it."""
        contacts = [i for kind, i in self._archive_later if kind == "contact"]
        if contacts:
            payloads = [{"ContactID": c, "ContactStatus": "ARCHIVED"} for c in contacts]
            self._batch("contacts", "archive", "POST", "/Contacts", "Contacts", payloads, contacts)
        for kind, account_id in self._archive_later:
            if kind == "account":
                self._single(
                    "POST",
                    f"/Accounts/{account_id}",
                    "Accounts",
                    {"Accounts": [{"Status": "ARCHIVED"}]},
                    self._idempotency_key("accounts", "archive", (account_id,)),
                )

    # -- source --------------------------------------------------------------------------------

    @hookimpl
    def migrationkit_extract(self, entity: str, since: dt.datetime | None) -> Iterator[Record]:
        return self.reader.extract(entity, since)

    @hookimpl
    def migrationkit_extract_deleted(self, entity: str, since: dt.datetime | None) -> Iterator[str]:
        return self.reader.deleted(entity, since)

    # -- structural rules ----------------------------------------------------------------------

    @hookimpl
    def migrationkit_check_record(
        self, entity: str, record: Record, refs: References
    ) -> list[Problem]:
        check = getattr(self, f"_check_{entity}", None)
        problems: list[Problem] = []
        lines = getattr(record, "lines", None)
        if lines:
            problems.extend(_precision(lines))
        if check is not None:
            problems.extend(check(record, refs))
        return problems

    def _base_for_checks(self, refs: References) -> str | None:
        """The base currency, for rules that compare currencies before any write.

        Xero's (the company load refuses a source in another base currency); when Xero cannot
        be asked (a plan without credentials), the source company's, if it has the usual key.
        """
        try:
            return self.base_currency
        except MigrationKitError:
            return _company_currency(refs)

    def _needs_clearing(self, what: str) -> list[Problem]:
        if self.clearing_code:
            return []
        return [
            Problem(
                code="NEEDS_CLEARING_ACCOUNT",
                message=f"Xero has no place for {what} except through a conversion clearing "
                "account; set the xero option clearing_account to move it",
            )
        ]

    def _line_problems(self, lines: Iterable[DocumentLine], refs: References) -> list[Problem]:
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

    def _check_invoices(self, record: Invoice, refs: References) -> list[Problem]:
        return self._line_problems(record.lines, refs)

    def _check_credit_notes(self, record: CreditNote, refs: References) -> list[Problem]:
        problems = self._line_problems(record.lines, refs)
        for allocation in record.allocations:
            if allocation.document_entity == "refunds":
                problems.extend(self._needs_clearing("a credit allocated to a refund"))
        return problems

    def _check_bank_transactions(self, record: BankTransaction, refs: References) -> list[Problem]:
        problems = self._line_problems(record.lines, refs)
        if record.gross == 0:
            problems.append(
                Problem(code="ZERO_TOTAL", message="Xero refuses a bank transaction of 0.00")
            )
        problems.extend(self._bank_currency(record.bank_account, record.currency, refs))
        return problems

    def _bank_currency(self, bank_key: str, currency: str, refs: References) -> list[Problem]:
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

    def _check_opening_balances(self, record: OpeningBalance, refs: References) -> list[Problem]:
        problems = self._needs_clearing("opening balances")
        account = refs.record("ledger_accounts", record.account)
        if record.balance == 0:
            problems.append(
                Problem(code="ZERO_OPENING_BALANCE", message="a zero balance posts nothing")
            )
        if isinstance(account, LedgerAccount):
            if self.clearing_code and account.code == self.clearing_code:
                problems.append(
                    Problem(
                        code="OPENING_BALANCE_ON_CLEARING",
                        message="the opening balance is on the account chosen as clearing "
                        "account; choose another clearing account",
                    )
                )
            currency = self._bank_currency_of(record.account, account, refs)
            base = self._base_for_checks(refs)
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
        if target and self._chart is not None:
            held = self._chart.get(m.split_view(target)[0])
            if held is not None and held.is_bank:
                return held.currency
        bank = refs.record("bank_accounts", key)
        if isinstance(bank, BankAccount):
            return bank.currency
        return account.currency if account.type is AccountType.BANK else None

    def _check_open_items(self, record: OpenItem, refs: References) -> list[Problem]:
        problems = self._needs_clearing("outstanding items at the opening date")
        if record.outstanding <= 0:
            problems.append(
                Problem(code="NOTHING_OUTSTANDING", message="nothing is outstanding on it")
            )
        credit = record.kind in _CREDIT_OPEN_ITEMS
        if record.allocations and not credit:
            problems.append(
                Problem(
                    code="ALLOCATION_NOT_SUPPORTED",
                    message="only credits and payments on account can be allocated in Xero",
                )
            )
        return problems

    def _check_refunds(self, record: Refund, refs: References) -> list[Problem]:
        problems = self._needs_clearing("refunds")
        problems.extend(self._bank_currency(record.bank_account, record.currency, refs))
        return problems

    def _check_payments(self, record: Payment, refs: References) -> list[Problem]:
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
        base = self._base_for_checks(refs)
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

    def _check_bank_transfers(self, record: BankTransfer, refs: References) -> list[Problem]:
        base = self._base_for_checks(refs)
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

    def _check_manual_journals(self, record: ManualJournal, refs: References) -> list[Problem]:
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
        if not self.clearing_code:
            return [
                Problem(
                    code="JOURNAL_TO_CONTROL_ACCOUNT",
                    message="posts to a bank, receivables or payables account; Xero refuses "
                    "manual journals to them. Set the xero option clearing_account to route "
                    "such lines through a conversion clearing account",
                )
            ]
        return []

    # -- loading -------------------------------------------------------------------------------

    @hookimpl
    def migrationkit_load(
        self, entity: str, requests: Sequence[LoadRequest], refs: References
    ) -> list[LoadResult]:
        loader = getattr(self, f"_load_{entity}", None)
        if loader is None:
            return [
                LoadResult.failed("NOT_SUPPORTED", f"xero does not load {entity}") for _ in requests
            ]
        results: list[LoadResult] = loader(list(requests), _Refs(self, refs))
        return results

    def _keys(self, requests: Sequence[LoadRequest]) -> list[str]:
        return [r.idempotency_key for r in requests]

    def _prepare(
        self,
        requests: Sequence[LoadRequest],
        build: Callable[[int, LoadRequest], Payload],
    ) -> tuple[list[int], list[Payload], dict[int, LoadResult]]:
        """Build each request's payload; a reference that does not resolve fails that one."""
        ready, payloads, failed = [], [], {}
        for n, request in enumerate(requests):
            try:
                payloads.append(build(n, request))
                ready.append(n)
            except _Unresolved as exc:
                failed[n] = LoadResult.failed("MISSING_REFERENCE", str(exc))
        return ready, payloads, failed

    # company, tax rates, accounts --------------------------------------------------------------

    def _load_company(self, requests: list[LoadRequest], r: _Refs) -> list[LoadResult]:
        org = self.organisation()
        results = []
        for request in requests:
            record = request.record
            assert isinstance(record, Company)
            if record.base_currency != org.get("BaseCurrency"):
                results.append(
                    LoadResult.failed(
                        "BASE_CURRENCY_DIFFERS",
                        f"the company keeps its books in {record.base_currency}, the Xero "
                        f"organisation {org.get('Name')} in {org.get('BaseCurrency')}; a Xero "
                        "organisation's base currency cannot be changed",
                    )
                )
                continue
            results.append(
                LoadResult(
                    ok=True,
                    existing=True,
                    target_id=str(org["OrganisationID"]),
                    warnings=(
                        f"Xero organisations cannot be created through the API: the company's "
                        f"records go to the connected organisation {org.get('Name')}",
                    ),
                )
            )
        return results

    def _load_tax_rates(self, requests: list[LoadRequest], r: _Refs) -> list[LoadResult]:
        rates = self._tax()
        results = []
        for request in requests:
            record = request.record
            assert isinstance(record, TaxRate)
            target = choose_or_existing(record, request)
            if target is not None:
                missing = [
                    t for t in target.split("/") if rates.get(t, {}).get("Status") != "ACTIVE"
                ]
                if missing:
                    results.append(
                        LoadResult.failed(
                            "TAX_TYPE_MISSING",
                            f"Xero's built-in tax type {', '.join(missing)} is not active in "
                            "this organisation",
                        )
                    )
                else:
                    builtin = not target.startswith("TAX")
                    note = (f"matched to Xero's built-in tax rate {target}",) if builtin else ()
                    results.append(
                        LoadResult(ok=True, existing=builtin, target_id=target, warnings=note)
                    )
                continue
            results.append(self._custom_tax_rate(record, request))
        return results

    def _custom_tax_rate(self, record: TaxRate, request: LoadRequest) -> LoadResult:
        parts = []
        for side, report in (("sales", "OUTPUT"), ("purchases", "INPUT")):
            name = f"{record.name} ({record.code}) {side}"[:50]
            existing = next(
                (
                    t
                    for t, v in self._tax().items()
                    if v.get("Name") == name and v.get("Status") == "ACTIVE"
                ),
                None,
            )
            if existing:
                parts.append(existing)
                continue
            outcome = self._single(
                "PUT",
                "/TaxRates",
                "TaxRates",
                {
                    "TaxRates": [
                        {
                            "Name": name,
                            "ReportTaxType": report,
                            "TaxComponents": [
                                {
                                    "Name": "VAT",
                                    "Rate": record.rate,
                                    "IsCompound": False,
                                    "IsNonRecoverable": False,
                                }
                            ],
                        }
                    ]
                },
                self._idempotency_key("tax_rates", side, (request.idempotency_key,)),
            )
            if not outcome.ok:
                return _refused(outcome)
            parts.append(str(outcome.element["TaxType"]))
            self._tax()[parts[-1]] = outcome.element
        return LoadResult(
            ok=True,
            target_id="/".join(parts),
            warnings=(
                f"no Xero tax rate fits {record.rate}% {record.treatment}; created custom rates",
            ),
        )

    def _load_ledger_accounts(self, requests: list[LoadRequest], r: _Refs) -> list[LoadResult]:
        return [self._ledger_account(request, r) for request in requests]

    def _ledger_account(self, request: LoadRequest, r: _Refs) -> LoadResult:
        record = request.record
        assert isinstance(record, LedgerAccount)
        system = m.SYSTEM_ROLES.get(record.control_role) if record.control_role else None
        if system is not None:
            account = self._system(system)
            if account is None:
                return LoadResult.failed(
                    "SYSTEM_ACCOUNT_MISSING", f"this Xero organisation has no {system} account"
                )
            view = m.INPUT_VIEW if record.control_role is ControlRole.PURCHASE_TAX else ""
            return LoadResult(
                ok=True,
                existing=True,
                target_id=account.id + view,
                warnings=(f"matched to Xero's system account {account.code} {account.name}",),
            )
        if request.operation is Operation.UPDATE and request.target_id:
            return self._update_account(record, request)
        existing = self._by_code(record.code)
        if existing is not None and existing.status == "ARCHIVED" and not existing.system:
            return self._restore_account(existing, record, request)
        if existing is not None:
            return LoadResult.failed(
                "CODE_TAKEN",
                f"Xero already has the account {existing.code} {existing.name}; map it "
                "(mappings.ledger_accounts) or give the account another code",
            )
        try:
            payload, warnings = self._account_payload(record, r)
        except _Unresolved as exc:
            return LoadResult.failed("MISSING_REFERENCE", str(exc))
        outcome = self._single(
            "PUT",
            "/Accounts",
            "Accounts",
            payload,
            self._idempotency_key("ledger_accounts", "create", (request.idempotency_key,)),
        )
        if not outcome.ok:
            return _refused(outcome, code="XERO_VALIDATION")
        account = m.XeroAccount.from_xero(outcome.element)
        self.chart()[account.id] = account
        if record.inactive:
            self._archive_later.append(("account", account.id))
        return LoadResult(ok=True, target_id=account.id, warnings=tuple(warnings))

    def _restore_account(
        self, existing: m.XeroAccount, record: LedgerAccount, request: LoadRequest
    ) -> LoadResult:
        """Bring back an archived account of the same code (a rollback archives what is used)."""
        if existing.type != m.ACCOUNT_TYPES[record.type]:
            return LoadResult.failed(
                "CODE_TAKEN",
                f"Xero has the archived account {existing.code} {existing.name} of type "
                f"{existing.type}; restore or recode it in Xero",
            )
        outcome = self._single(
            "POST",
            f"/Accounts/{existing.id}",
            "Accounts",
            {"Accounts": [{"Status": "ACTIVE"}]},
            self._idempotency_key("ledger_accounts", "restore", (request.idempotency_key,)),
        )
        if not outcome.ok:
            return _refused(outcome)
        self.chart()[existing.id] = m.XeroAccount.from_xero(outcome.element)
        if record.inactive:
            self._archive_later.append(("account", existing.id))
        return LoadResult(
            ok=True,
            target_id=existing.id,
            warnings=(f"restored the archived Xero account {existing.code} {existing.name}",),
        )

    def _account_payload(self, record: LedgerAccount, r: _Refs) -> tuple[Payload, list[str]]:
        warnings = []
        name = record.name[:150]
        if any(
            a.name.casefold() == name.casefold() and a.status != "DELETED"
            for a in self.chart().values()
        ):
            name = f"{record.name} ({record.code})"[:150]
            warnings.append(f"Xero already has an account named {record.name!r}; named {name!r}")
        xero_type = m.ACCOUNT_TYPES[record.type]
        payload: Payload = {"Code": record.code, "Name": name, "Type": xero_type}
        if record.description and xero_type != "BANK":
            payload["Description"] = record.description[:4000]
        if xero_type == "BANK":
            # Xero needs a number to create a bank account; the bank account record, which
            # loads later, replaces it with the real one.
            payload["BankAccountNumber"] = record.code
            currency = record.currency or self.base_currency
            self._ensure_currency(currency)
            payload["CurrencyCode"] = currency
        elif record.tax_rate:
            income = record.type.account_class is AccountClass.INCOME
            tax = r.tax(record.tax_rate, output=income)
            if tax:
                payload["TaxType"] = tax
        return payload, warnings

    def _update_account(self, record: LedgerAccount, request: LoadRequest) -> LoadResult:
        account_id, _view = m.split_view(request.target_id or "")
        current = self.chart().get(account_id)
        changes: Payload = {}
        if current is None:
            return LoadResult.failed("NOT_FOUND", "the Xero account is gone")
        if record.name != current.name and not current.name.startswith(record.name + " ("):
            taken = any(
                a.name.casefold() == record.name.casefold() and a.id != account_id
                for a in self.chart().values()
            )
            changes["Name"] = f"{record.name} ({record.code})" if taken else record.name
        if record.code != current.code:
            changes["Code"] = record.code
        if record.description and current.type != "BANK":
            changes["Description"] = record.description[:4000]
        if not changes:
            return LoadResult(ok=True, target_id=request.target_id)
        outcome = self._single(
            "POST",
            f"/Accounts/{account_id}",
            "Accounts",
            {"Accounts": [changes]},
            self._idempotency_key("ledger_accounts", "update", (request.idempotency_key,)),
        )
        if not outcome.ok:
            return _refused(outcome)
        self.chart()[account_id] = m.XeroAccount.from_xero(outcome.element)
        return LoadResult(ok=True, target_id=request.target_id)

    # tracking, banks, contacts, items -------------------------------------------------------

    def _load_tracking_categories(self, requests: list[LoadRequest], r: _Refs) -> list[LoadResult]:
        results = []
        for request in requests:
            record = request.record
            assert isinstance(record, TrackingCategory)
            results.append(self._tracking_category(record, request))
        return results

    def _tracking_category(self, record: TrackingCategory, request: LoadRequest) -> LoadResult:
        categories = self._tracking_categories()
        category = categories.get(request.target_id or "") or next(
            (
                c
                for c in categories.values()
                if c["Name"] == record.name and c["Status"] == "ACTIVE"
            ),
            None,
        )
        key = request.idempotency_key
        if category is None:
            outcome = self._single(
                "PUT",
                "/TrackingCategories",
                "TrackingCategories",
                {"Name": record.name[:100]},
                self._idempotency_key("tracking_categories", "create", (key,)),
            )
            if not outcome.ok:
                return _refused(outcome)
            category = {**outcome.element, "Options": []}
        elif category["Name"] != record.name:
            outcome = self._single(
                "POST",
                f"/TrackingCategories/{category['TrackingCategoryID']}",
                "TrackingCategories",
                {"Name": record.name[:100]},
                self._idempotency_key("tracking_categories", "rename", (key,)),
            )
            if not outcome.ok:
                return _refused(outcome)
            category["Name"] = record.name
        category_id = str(category["TrackingCategoryID"])
        categories[category_id] = category
        have = {o["Name"] for o in category.get("Options") or ()}
        for option in record.options:
            if option.name[:100] in have:
                continue
            outcome = self._single(
                "PUT",
                f"/TrackingCategories/{category_id}/Options",
                "Options",
                {"Name": option.name[:100]},
                self._idempotency_key("tracking_options", option.key, (key,)),
            )
            if not outcome.ok:
                return _refused(outcome)
            category.setdefault("Options", []).append(outcome.element)
        return LoadResult(ok=True, target_id=category_id)

    def _load_bank_accounts(self, requests: list[LoadRequest], r: _Refs) -> list[LoadResult]:
        results = []
        for request in requests:
            record = request.record
            assert isinstance(record, BankAccount)
            try:
                account, _view = r.account(record.account)
            except _Unresolved as exc:
                results.append(LoadResult.failed("MISSING_REFERENCE", str(exc)))
                continue
            if not account.is_bank:
                results.append(
                    LoadResult.failed(
                        "NOT_A_BANK_ACCOUNT",
                        f"its ledger account is {account.code} {account.name}, which is not a "
                        "bank account in Xero",
                    )
                )
                continue
            self._ensure_currency(record.currency)
            changes: Payload = {
                "BankAccountNumber": m.bank_account_number(
                    account.code or record.key, record.sort_code, record.account_number, record.iban
                ),
                "BankAccountType": m.BANK_ACCOUNT_TYPES[record.kind],
                "CurrencyCode": record.currency,
            }
            if record.name != account.name and not any(
                a.name.casefold() == record.name.casefold() and a.id != account.id
                for a in self.chart().values()
            ):
                changes["Name"] = record.name[:150]
            outcome = self._single(
                "POST",
                f"/Accounts/{account.id}",
                "Accounts",
                {"Accounts": [changes]},
                self._idempotency_key("bank_accounts", "details", (request.idempotency_key,)),
            )
            if not outcome.ok:
                results.append(_refused(outcome))
                continue
            self.chart()[account.id] = m.XeroAccount.from_xero(outcome.element)
            if record.inactive:
                self._archive_later.append(("account", account.id))
            results.append(LoadResult(ok=True, target_id=account.id))
        return results

    def _load_contacts(self, requests: list[LoadRequest], r: _Refs) -> list[LoadResult]:
        names: set[str] = set()
        warnings: dict[int, str] = {}

        def build(n: int, request: LoadRequest) -> Payload:
            record = request.record
            assert isinstance(record, Contact)
            name = record.name[:255]
            if name.casefold() in names:
                name = _suffixed(record)
                warnings[n] = f"another contact in the same batch is named {record.name!r}"
            names.add(name.casefold())
            if record.currency:
                self._ensure_currency(record.currency)
            payload = m.contact_payload(
                name=name,
                key=record.key,
                code=record.code,
                email=record.email,
                phone=record.phone,
                contact_name=record.contact_name,
                tax_number=record.tax_number,
                currency=record.currency,
                address=record.address,
                terms_days=record.payment_terms_days,
                customer=record.is_customer or not record.is_supplier,
                sales_account=r.code(record.sales_account),
                purchase_account=r.code(record.purchase_account),
                tax_type=r.tax(record.tax_rate, record.is_customer or not record.is_supplier),
            )
            if request.operation is Operation.UPDATE and request.target_id:
                payload["ContactID"] = request.target_id
            return payload

        ready, payloads, failed = self._prepare(requests, build)
        creating = [requests[n].operation is Operation.CREATE for n in ready]
        outcomes = self._contacts_send(ready, payloads, creating, requests)
        results: dict[int, LoadResult] = dict(failed)
        for position, (n, outcome) in enumerate(zip(ready, outcomes, strict=True)):
            record = requests[n].record
            assert isinstance(record, Contact)
            if not outcome.ok:
                results[n] = _refused(outcome)
                continue
            notes = []
            sent = payloads[position]["Name"]
            if sent != record.name[:255]:
                notes.append(f"named {sent!r} in Xero: {warnings.get(n, 'the name was taken')}")
            if record.inactive:
                self._archive_later.append(("contact", str(outcome.element["ContactID"])))
            results[n] = LoadResult(
                ok=True, target_id=str(outcome.element["ContactID"]), warnings=tuple(notes)
            )
        return [results[n] for n in range(len(requests))]

    def _contacts_send(
        self,
        ready: list[int],
        payloads: list[Payload],
        creating: list[bool],
        requests: Sequence[LoadRequest],
    ) -> list[_Outcome]:
        """Create (PUT) or update (POST) contacts; a taken name is retried once, suffixed."""
        keys = [requests[n].idempotency_key for n in ready]
        outcomes: list[_Outcome | None] = [None] * len(ready)
        for method, wanted in (("PUT", True), ("POST", False)):
            chosen = [i for i, c in enumerate(creating) if c is wanted]
            if not chosen:
                continue
            sent = self._batch(
                "contacts",
                method,
                method,
                "/Contacts",
                "Contacts",
                [payloads[i] for i in chosen],
                [keys[i] for i in chosen],
            )
            for i, outcome in zip(chosen, sent, strict=True):
                outcomes[i] = outcome
        taken = [
            i
            for i, o in enumerate(outcomes)
            if o is not None and any("already assigned to another contact" in e for e in o.errors)
        ]
        if taken:
            for i in taken:
                record = requests[ready[i]].record
                assert isinstance(record, Contact)
                payloads[i] = {**payloads[i], "Name": _suffixed(record)}
            method = "PUT" if all(creating[i] for i in taken) else "POST"
            retried = self._batch(
                "contacts",
                "renamed",
                method,
                "/Contacts",
                "Contacts",
                [payloads[i] for i in taken],
                [keys[i] for i in taken],
            )
            for i, outcome in zip(taken, retried, strict=True):
                outcomes[i] = outcome
        return [o for o in outcomes if o is not None]

    def _load_items(self, requests: list[LoadRequest], r: _Refs) -> list[LoadResult]:
        truncated: dict[int, str] = {}

        def build(n: int, request: LoadRequest) -> Payload:
            record = request.record
            assert isinstance(record, Item)
            name = record.name
            if len(name) > 50:
                truncated[n] = f"the name was cut to Xero's 50 characters: {name[:50]!r}"
                name = name[:50]
            payload: Payload = {"Code": record.code, "Name": name}
            if record.description:
                payload["Description"] = record.description[:4000]
                payload["PurchaseDescription"] = record.description[:4000]
            sold = record.sales_price is not None or record.sales_account is not None
            bought = record.purchase_price is not None or record.purchase_account is not None
            payload["IsSold"] = sold
            payload["IsPurchased"] = bought
            if sold:
                payload["SalesDetails"] = _item_side(
                    record.sales_price, r.code(record.sales_account), r.tax(record.tax_rate, True)
                )
            if bought:
                payload["PurchaseDetails"] = _item_side(
                    record.purchase_price,
                    r.code(record.purchase_account),
                    r.tax(record.tax_rate, False),
                )
            if request.operation is Operation.UPDATE and request.target_id:
                payload["ItemID"] = request.target_id
            return payload

        ready, payloads, failed = self._prepare(requests, build)
        results: dict[int, LoadResult] = dict(failed)
        for n, outcome in self._put_and_post("items", "/Items", "Items", requests, ready, payloads):
            if not outcome.ok:
                results[n] = _refused(outcome)
                continue
            item_id = str(outcome.element["ItemID"])
            self._items()[item_id] = str(outcome.element["Code"])
            note = truncated.get(n)
            results[n] = LoadResult(ok=True, target_id=item_id, warnings=(note,) if note else ())
        return [results[n] for n in range(len(requests))]

    # opening balances and open items -----------------------------------------------------------

    def _load_opening_balances(self, requests: list[LoadRequest], r: _Refs) -> list[LoadResult]:
        # Amounts changed: the old conversion record is taken back, a new one made.
        results = self._remove_replaced(requests, self._remove_opening)
        kept = [request for n, request in enumerate(requests) if n not in results]
        created = iter(self._create_openings(kept, r))
        return [results[n] if n in results else next(created) for n in range(len(requests))]

    def _create_openings(self, requests: list[LoadRequest], r: _Refs) -> list[LoadResult]:
        if not requests:
            return []
        clearing = self._clearing()
        journals: list[tuple[int, Payload]] = []
        banks: list[tuple[int, Payload]] = []
        results: dict[int, LoadResult] = {}
        for n, request in enumerate(requests):
            record = request.record
            assert isinstance(record, OpeningBalance)
            try:
                account, view = r.account(record.account)
            except _Unresolved as exc:
                results[n] = LoadResult.failed("MISSING_REFERENCE", str(exc))
                continue
            label = m.opening_narration(record.as_of, account.code, account.name)
            if account.is_bank and (account.currency or self.base_currency) != self.base_currency:
                results[n] = LoadResult.failed(
                    "FOREIGN_BANK_OPENING_BALANCE",
                    f"the opening balance of the {account.currency} bank account {account.code} "
                    f"{account.name} is known only in {self.base_currency}; enter it in Xero in "
                    f"{account.currency}",
                )
                continue
            if account.is_bank:
                banks.append((n, self._opening_bank(record, account, clearing, label)))
                continue
            amount = record.balance
            # A receivables or payables balance is carried by the outstanding items, which post
            # to those accounts themselves: the journal only records it, on the clearing account.
            line_account = clearing if account.is_control else account
            description = "Opening balance" + (m.INPUT_VAT_MARK if view else "")
            journals.append(
                (
                    n,
                    {
                        "Narration": label,
                        "Date": record.as_of.isoformat(),
                        "Status": "POSTED",
                        "LineAmountTypes": "NoTax",
                        "JournalLines": [
                            _journal_line(amount, line_account, description),
                            _journal_line(-amount, clearing, m.CLEARING_LINE),
                        ],
                    },
                )
            )
        self._send_parts(
            "opening_balances",
            "journals",
            "/ManualJournals",
            "ManualJournals",
            "ManualJournalID",
            journals,
            requests,
            results,
        )
        self._send_parts(
            "opening_balances",
            "banks",
            "/BankTransactions",
            "BankTransactions",
            "BankTransactionID",
            banks,
            requests,
            results,
        )
        return [results[n] for n in range(len(requests))]

    def _opening_bank(
        self, record: OpeningBalance, bank: m.XeroAccount, clearing: m.XeroAccount, label: str
    ) -> Payload:
        receive = record.balance > 0
        return {
            "Type": "RECEIVE" if receive else "SPEND",
            "Contact": {"ContactID": self._named_contact(self.conversion_contact)},
            "BankAccount": bank.reference(),
            "Date": record.as_of.isoformat(),
            "Reference": label,
            "LineAmountTypes": "NoTax",
            "LineItems": [m.clearing_line(abs(record.balance), _code(clearing))],
            "CurrencyCode": bank.currency or self.base_currency,
        }

    def _send_parts(
        self,
        entity: str,
        part: str,
        path: str,
        key: str,
        id_field: str,
        parts: list[tuple[int, Payload]],
        requests: Sequence[LoadRequest],
        results: dict[int, LoadResult],
        *,
        prefix: str = "",
        unitdp: bool = False,
    ) -> None:
        if not parts:
            return
        outcomes = self._batch(
            entity,
            part,
            "PUT",
            path,
            key,
            [p for _, p in parts],
            [requests[n].idempotency_key for n, _ in parts],
            unitdp=unitdp,
        )
        for (n, _payload), outcome in zip(parts, outcomes, strict=True):
            results[n] = (
                LoadResult(ok=True, target_id=prefix + str(outcome.element[id_field]))
                if outcome.ok
                else _refused(outcome)
            )

    def _load_open_items(self, requests: list[LoadRequest], r: _Refs) -> list[LoadResult]:
        results: dict[int, LoadResult] = {}
        for n, request in enumerate(requests):
            if request.operation is Operation.UPDATE and request.target_id:
                removal = self._void_documents([request.target_id], credit=None)[0]
                if not removal.removed:
                    results[n] = LoadResult.failed(
                        removal.reason or "XERO_REFUSED", removal.message or "could not replace it"
                    )
        clearing = self._clearing()
        invoices: list[tuple[int, Payload]] = []
        credits: list[tuple[int, Payload]] = []
        for n, request in enumerate(requests):
            if n in results:
                continue
            record = request.record
            assert isinstance(record, OpenItem)
            try:
                payload = self._open_item_payload(record, r, clearing)
            except _Unresolved as exc:
                results[n] = LoadResult.failed("MISSING_REFERENCE", str(exc))
                continue
            (credits if record.kind in _CREDIT_OPEN_ITEMS else invoices).append((n, payload))
        self._send_parts(
            "open_items",
            "invoices",
            "/Invoices",
            "Invoices",
            "InvoiceID",
            invoices,
            requests,
            results,
        )
        self._send_parts(
            "open_items",
            "credits",
            "/CreditNotes",
            "CreditNotes",
            "CreditNoteID",
            credits,
            requests,
            results,
        )
        for n, _payload in credits:
            result = results[n]
            record = requests[n].record
            assert isinstance(record, OpenItem)
            if result.ok and record.allocations:
                results[n] = self._allocate_credit(
                    str(result.target_id), record.allocations, record.date, r, requests[n]
                )
        return [results[n] for n in range(len(requests))]

    def _open_item_payload(self, record: OpenItem, r: _Refs, clearing: m.XeroAccount) -> Payload:
        kind = m.OPEN_ITEM_DOCUMENT[record.kind]
        self._ensure_currency(record.currency)
        payload: Payload = {
            "Type": kind,
            "Contact": {"ContactID": r.contact(record.contact)},
            "Date": record.date.isoformat(),
            "Status": "AUTHORISED",
            "LineAmountTypes": "NoTax",
            "LineItems": [
                m.clearing_line(
                    record.outstanding,
                    _code(clearing),
                    m.open_item_line(record.kind, record.number),
                )
            ],
            **m.currency_fields(record.currency, _carrying_rate(record), self.base_currency),
        }
        if record.due_date and not kind.endswith("CREDIT"):
            payload["DueDate"] = record.due_date.isoformat()
        number = record.number if self._preserve_ids else None
        if record.kind in (OpenItemKind.CUSTOMER_PAYMENT, OpenItemKind.SUPPLIER_PAYMENT):
            # Payment references ("BACS") repeat; a credit note number must not.
            payload["CreditNoteNumber"] = f"OB-{record.key}"
            if record.number:
                payload["Reference"] = record.number
        elif kind.endswith("CREDIT"):
            payload["CreditNoteNumber"] = number or f"OB-{record.key}"
        else:
            payload["InvoiceNumber"] = number or f"OB-{record.key}"
        return payload

    # documents -----------------------------------------------------------------------------

    def _document_payload(
        self, record: Invoice | CreditNote, r: _Refs, request: LoadRequest, warnings: list[str]
    ) -> Payload:
        credit = isinstance(record, CreditNote)
        sales = record.kind is DocumentKind.SALES
        kind = ("ACCREC" if sales else "ACCPAY") + ("CREDIT" if credit else "")
        self._ensure_currency(record.currency)
        lines, notes = r.lines(record.lines, output=sales)
        warnings.extend(notes)
        payload: Payload = {
            "Type": kind,
            "Contact": {"ContactID": r.contact(record.contact)},
            "Date": record.date.isoformat(),
            "LineAmountTypes": "Exclusive",
            "LineItems": lines,
            "Status": m.xero_status(record.status),
            **m.currency_fields(record.currency, record.exchange_rate, self.base_currency),
        }
        if record.due_date and not credit:
            payload["DueDate"] = record.due_date.isoformat()
        number = record.number if self._preserve_ids or not sales else None
        if not sales and not number:
            number = record.reference
        if number:
            payload["CreditNoteNumber" if credit else "InvoiceNumber"] = number
        if record.reference and (sales or credit):
            payload["Reference"] = record.reference
        if request.operation is Operation.UPDATE and request.target_id:
            payload["CreditNoteID" if credit else "InvoiceID"] = request.target_id
        return payload

    def _load_invoices(self, requests: list[LoadRequest], r: _Refs) -> list[LoadResult]:
        return self._load_documents(requests, r, credit=False)

    def _load_credit_notes(self, requests: list[LoadRequest], r: _Refs) -> list[LoadResult]:
        return self._load_documents(requests, r, credit=True)

    def _load_documents(
        self, requests: list[LoadRequest], r: _Refs, *, credit: bool
    ) -> list[LoadResult]:
        notes: dict[int, list[str]] = {n: [] for n in range(len(requests))}
        ready, payloads, failed = self._prepare(
            requests,
            lambda n, q: self._document_payload(q.record, r, q, notes[n]),  # type: ignore[arg-type]
        )
        results: dict[int, LoadResult] = dict(failed)
        entity = "credit_notes" if credit else "invoices"
        path, key, id_field = (
            ("/CreditNotes", "CreditNotes", "CreditNoteID")
            if credit
            else ("/Invoices", "Invoices", "InvoiceID")
        )

        def before_update(chosen: list[int]) -> None:
            self._keep_unchanged_lines([payloads[i] for i in chosen], credit=credit)
            if credit:
                for i in chosen:
                    self._clear_allocations(str(requests[ready[i]].target_id))

        sent = self._put_and_post(
            entity, path, key, requests, ready, payloads, before_update=before_update
        )
        for n, outcome in sent:
            if not outcome.ok:
                results[n] = _refused(outcome, code=_reason(outcome.errors))
                continue
            results[n] = LoadResult(
                ok=True, target_id=str(outcome.element[id_field]), warnings=tuple(notes[n])
            )
        for n, request in enumerate(requests):
            result = results[n]
            record = request.record
            if not result.ok or not isinstance(record, Invoice | CreditNote):
                continue
            if record.status is DocumentStatus.VOIDED:
                voided = self._void_documents([str(result.target_id)], credit=credit)[0]
                if not voided.removed:
                    results[n] = LoadResult.failed(
                        "VOID_REFUSED", voided.message or "Xero would not void it"
                    )
                    continue
            if isinstance(record, CreditNote) and record.allocations:
                results[n] = self._allocate_credit(
                    str(result.target_id),
                    record.allocations,
                    record.date,
                    r,
                    request,
                    warnings=result.warnings,
                )
        return [results[n] for n in range(len(requests))]

    def _keep_unchanged_lines(self, payloads: Sequence[Payload], *, credit: bool) -> None:
        """Leave the lines out of an update that does not change them.

        Xero will not touch the lines of a document with payments or allocations, but lets
        its reference, dates and number change: sending unchanged lines would refuse that.
        """
        id_field, key = ("CreditNoteID", "CreditNotes") if credit else ("InvoiceID", "Invoices")
        path = "/CreditNotes" if credit else "/Invoices"
        for payload in payloads:
            body = self.api.get(f"{path}/{payload[id_field]}", {"unitdp": 4}, missing_ok=True)
            held = ((body or {}).get(key) or [None])[0]
            if held is not None and _same_lines(payload["LineItems"], held.get("LineItems") or []):
                payload.pop("LineItems")
                payload.pop("LineAmountTypes", None)

    def _allocate_credit(
        self,
        credit_id: str,
        allocations: Sequence[Any],
        day: dt.date,
        r: _Refs,
        request: LoadRequest,
        warnings: tuple[str, ...] = (),
    ) -> LoadResult:
        """Allocate a credit note; if Xero refuses, the note is voided and the record fails."""
        try:
            body = {
                "Allocations": [
                    {
                        "Invoice": {"InvoiceID": r.document(a.document_entity, a.document)},
                        "Amount": a.amount,
                        "Date": (a.date or day).isoformat(),
                    }
                    for a in allocations
                ]
            }
        except _Unresolved as exc:
            self._void_documents([credit_id], credit=True)
            return LoadResult.failed("MISSING_REFERENCE", str(exc))
        outcome = self._single(
            "PUT",
            f"/CreditNotes/{credit_id}/Allocations",
            "Allocations",
            body,
            self._idempotency_key("allocations", credit_id, (request.idempotency_key,)),
            {"summarizeErrors": False},
        )
        if not outcome.ok:
            self._void_documents([credit_id], credit=True)
            return _refused(outcome, code="ALLOCATION_REFUSED")
        return LoadResult(ok=True, target_id=credit_id, warnings=warnings)

    def _clear_allocations(self, credit_id: str) -> None:
        body = self.api.get(f"/CreditNotes/{credit_id}", missing_ok=True) or {}
        for credit in body.get("CreditNotes") or ():
            for allocation in credit.get("Allocations") or ():
                self._write(
                    "DELETE",
                    f"/CreditNotes/{credit_id}/Allocations/{allocation['AllocationID']}",
                    None,
                    None,
                    self._idempotency_key("unallocate", allocation["AllocationID"], ()),
                )

    # refunds ---------------------------------------------------------------------------------

    def _load_refunds(self, requests: list[LoadRequest], r: _Refs) -> list[LoadResult]:
        results = self._remove_replaced(requests, self._remove_refund)
        clearing = self._clearing()
        invoices: list[tuple[int, Payload]] = []
        for n, request in enumerate(requests):
            if n in results:
                continue
            record = request.record
            assert isinstance(record, Refund)
            customer = record.kind is RefundKind.CUSTOMER_REFUND
            try:
                contact = r.contact(record.contact)
            except _Unresolved as exc:
                results[n] = LoadResult.failed("MISSING_REFERENCE", str(exc))
                continue
            self._ensure_currency(record.currency)
            text = record.description or record.reference or ""
            payload: Payload = {
                "Type": "ACCREC" if customer else "ACCPAY",
                "Contact": {"ContactID": contact},
                "Date": record.date.isoformat(),
                "DueDate": record.date.isoformat(),
                "Status": "AUTHORISED",
                "LineAmountTypes": "NoTax",
                "InvoiceNumber": f"REFUND-{record.key}",
                "LineItems": [
                    m.clearing_line(record.amount, _code(clearing), m.REFUND_PREFIX + text)
                ],
                **m.currency_fields(record.currency, record.exchange_rate, self.base_currency),
            }
            if customer and record.reference:
                payload["Reference"] = record.reference
            invoices.append((n, payload))
        self._send_parts(
            "refunds", "invoices", "/Invoices", "Invoices", "InvoiceID", invoices, requests, results
        )
        money_out: list[tuple[int, Payload]] = []
        for n, _payload in invoices:
            if not results[n].ok:
                continue
            record = requests[n].record
            assert isinstance(record, Refund)
            invoice_id = str(results[n].target_id)
            try:
                money_out.append((n, self._money_out_payload(record, invoice_id, r)))
            except _Unresolved as exc:
                self._void_documents([invoice_id], credit=False)
                results[n] = LoadResult.failed("MISSING_REFERENCE", str(exc))
        paid: dict[int, LoadResult] = {}
        self._send_parts(
            "refunds",
            "money",
            "/BankTransactions",
            "BankTransactions",
            "BankTransactionID",
            money_out,
            requests,
            paid,
        )
        for n, result in paid.items():
            invoice_id = str(results[n].target_id)
            if result.ok:
                results[n] = LoadResult(ok=True, target_id=f"{invoice_id}+{result.target_id}")
            else:
                self._void_documents([invoice_id], credit=False)
                results[n] = result
        return [results[n] for n in range(len(requests))]

    def _money_out_payload(self, record: Refund, invoice_id: str, r: _Refs) -> Payload:
        """The bank transaction that pays a refund out (or in, from a supplier)."""
        return {
            "Type": "SPEND" if record.kind is RefundKind.CUSTOMER_REFUND else "RECEIVE",
            "Contact": {"ContactID": r.contact(record.contact)},
            "BankAccount": r.bank(record.bank_account).reference(),
            "Date": record.date.isoformat(),
            "Reference": record.reference or "",
            "LineAmountTypes": "NoTax",
            "LineItems": [
                m.clearing_line(
                    record.amount, _code(self._clearing()), f"Refund: invoice {invoice_id}"
                )
            ],
            **m.currency_fields(record.currency, record.exchange_rate, self.base_currency),
        }

    def _refund_money_out(
        self, record: Refund, invoice_id: str, r: _Refs, request: LoadRequest
    ) -> LoadResult:
        outcome = self._single(
            "PUT",
            "/BankTransactions",
            "BankTransactions",
            {"BankTransactions": [self._money_out_payload(record, invoice_id, r)]},
            self._idempotency_key("refunds", f"money:{invoice_id}", (request.idempotency_key,)),
            {"summarizeErrors": False},
        )
        if not outcome.ok:
            return _refused(outcome)
        return LoadResult(ok=True, target_id=str(outcome.element["BankTransactionID"]))

    # payments ----------------------------------------------------------------------------------

    def _load_payments(self, requests: list[LoadRequest], r: _Refs) -> list[LoadResult]:
        # Xero payments cannot be changed, only deleted and entered again.
        results = self._remove_replaced(requests, self._remove_payment)
        singles: list[tuple[int, Payload]] = []
        batches: list[tuple[int, Payload]] = []
        overpayments: list[tuple[int, Payload]] = []
        for n, request in enumerate(requests):
            if n in results:
                continue
            record = request.record
            assert isinstance(record, Payment)
            try:
                shape, payload = self._payment_payload(record, r)
            except _Unresolved as exc:
                results[n] = LoadResult.failed("MISSING_REFERENCE", str(exc))
                continue
            {"single": singles, "batch": batches, "overpayment": overpayments}[shape].append(
                (n, payload)
            )
        self._send_parts(
            "payments",
            "single",
            "/Payments",
            "Payments",
            "PaymentID",
            singles,
            requests,
            results,
            prefix="payment/",
        )
        self._send_parts(
            "payments",
            "batch",
            "/BatchPayments",
            "BatchPayments",
            "BatchPaymentID",
            batches,
            requests,
            results,
            prefix="batch/",
        )
        made: dict[int, LoadResult] = {}
        outcomes = (
            self._batch(
                "payments",
                "overpayment",
                "PUT",
                "/BankTransactions",
                "BankTransactions",
                [p for _, p in overpayments],
                [requests[n].idempotency_key for n, _ in overpayments],
            )
            if overpayments
            else []
        )
        for (n, _p), outcome in zip(overpayments, outcomes, strict=True):
            record = requests[n].record
            assert isinstance(record, Payment)
            if not outcome.ok:
                made[n] = _refused(outcome)
                continue
            made[n] = self._allocate_overpayment(outcome.element, record, r, requests[n])
        results.update(made)
        return [results[n] for n in range(len(requests))]

    def _payment_payload(self, record: Payment, r: _Refs) -> tuple[str, Payload]:
        bank = r.bank(record.bank_account)
        self._ensure_currency(record.currency)
        foreign = record.currency != self.base_currency
        rate = {"CurrencyRate": record.exchange_rate} if foreign else {}
        allocations = [
            (r.document(a.document_entity, a.document), a.amount) for a in record.allocations
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
            return "single", payload
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
            return "batch", batch
        receipt = record.kind is PaymentKind.CUSTOMER_RECEIPT
        overpayment: Payload = {
            "Type": "RECEIVE-OVERPAYMENT" if receipt else "SPEND-OVERPAYMENT",
            "Contact": {"ContactID": r.contact(record.contact)},
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
            **m.currency_fields(record.currency, record.exchange_rate, self.base_currency),
        }
        return "overpayment", overpayment

    def _allocate_overpayment(
        self, transaction: Payload, record: Payment, r: _Refs, request: LoadRequest
    ) -> LoadResult:
        target = f"overpayment/{transaction['BankTransactionID']}"
        if not record.allocations:
            return LoadResult(ok=True, target_id=target)
        overpayment_id = transaction.get("OverpaymentID")
        body = {
            "Allocations": [
                {
                    "Invoice": {"InvoiceID": r.document(a.document_entity, a.document)},
                    "Amount": a.amount,
                    "Date": (a.date or record.date).isoformat(),
                }
                for a in record.allocations
            ]
        }
        outcome = self._single(
            "PUT",
            f"/Overpayments/{overpayment_id}/Allocations",
            "Allocations",
            body,
            self._idempotency_key(
                "overpayment_allocations", str(overpayment_id), (request.idempotency_key,)
            ),
            {"summarizeErrors": False},
        )
        if not outcome.ok:
            self._delete_bank_transactions([str(transaction["BankTransactionID"])])
            return _refused(outcome, code="ALLOCATION_REFUSED")
        return LoadResult(ok=True, target_id=target)

    # bank --------------------------------------------------------------------------------------

    def _load_bank_transactions(self, requests: list[LoadRequest], r: _Refs) -> list[LoadResult]:
        notes: dict[int, list[str]] = {n: [] for n in range(len(requests))}

        def build(n: int, request: LoadRequest) -> Payload:
            record = request.record
            assert isinstance(record, BankTransaction)
            receive = record.kind is BankTransactionKind.RECEIVE
            lines: Sequence[DocumentLine] = record.lines
            if record.gross < 0:
                # Xero wants a positive total: money out the other way round is money in.
                receive = not receive
                lines = [_negated(line) for line in record.lines]
                notes[n].append("entered the other way round: its total was negative")
            self._ensure_currency(record.currency)
            items, warnings = r.lines(lines, output=receive)
            notes[n].extend(warnings)
            contact = (
                r.contact(record.contact)
                if record.contact
                else self._named_contact(self.sundry_contact)
            )
            payload: Payload = {
                "Type": "RECEIVE" if receive else "SPEND",
                "Contact": {"ContactID": contact},
                "BankAccount": r.bank(record.bank_account).reference(),
                "Date": record.date.isoformat(),
                "LineAmountTypes": "Exclusive",
                "LineItems": items,
                **m.currency_fields(record.currency, record.exchange_rate, self.base_currency),
            }
            if record.reference:
                payload["Reference"] = record.reference
            if request.operation is Operation.UPDATE and request.target_id:
                payload["BankTransactionID"] = request.target_id
            return payload

        ready, payloads, failed = self._prepare(requests, build)
        results: dict[int, LoadResult] = dict(failed)
        sent = self._put_and_post(
            "bank_transactions", "/BankTransactions", "BankTransactions", requests, ready, payloads
        )
        for n, outcome in sent:
            results[n] = (
                LoadResult(
                    ok=True,
                    target_id=str(outcome.element["BankTransactionID"]),
                    warnings=tuple(notes[n]),
                )
                if outcome.ok
                else _refused(outcome)
            )
        return [results[n] for n in range(len(requests))]

    def _load_bank_transfers(self, requests: list[LoadRequest], r: _Refs) -> list[LoadResult]:
        refused = self._remove_replaced(requests, self._remove_transfer)
        results = []
        for n, request in enumerate(requests):
            record = request.record
            assert isinstance(record, BankTransfer)
            if n in refused:
                results.append(refused[n])
                continue
            try:
                payload: Payload = {
                    "FromBankAccount": r.bank(record.from_bank_account).reference(),
                    "ToBankAccount": r.bank(record.to_bank_account).reference(),
                    "Amount": record.amount,
                    "Date": record.date.isoformat(),
                }
            except _Unresolved as exc:
                results.append(LoadResult.failed("MISSING_REFERENCE", str(exc)))
                continue
            if record.reference:
                payload["Reference"] = record.reference
            # Bank transfers have no summarizeErrors: one per request, so a 400 is this one.
            outcome = self._single(
                "PUT",
                "/BankTransfers",
                "BankTransfers",
                {"BankTransfers": [payload]},
                self._idempotency_key("bank_transfers", "create", (request.idempotency_key,)),
            )
            results.append(
                LoadResult(ok=True, target_id=str(outcome.element["BankTransferID"]))
                if outcome.ok
                else _refused(outcome)
            )
        return results

    # journals --------------------------------------------------------------------------------

    def _load_manual_journals(self, requests: list[LoadRequest], r: _Refs) -> list[LoadResult]:
        results = self._remove_replaced(requests, self._remove_journal)
        journals: list[tuple[int, Payload]] = []
        routed: dict[int, list[tuple[JournalLine, m.XeroAccount]]] = {}
        for n, request in enumerate(requests):
            if n in results:
                continue
            record = request.record
            assert isinstance(record, ManualJournal)
            try:
                payload, moved = self._journal_payload(record, r)
            except _Unresolved as exc:
                results[n] = LoadResult.failed("MISSING_REFERENCE", str(exc))
                continue
            journals.append((n, payload))
            if moved:
                routed[n] = moved
        self._send_parts(
            "manual_journals",
            "journals",
            "/ManualJournals",
            "ManualJournals",
            "ManualJournalID",
            journals,
            requests,
            results,
        )
        for n, moved in routed.items():
            if results[n].ok:
                results[n] = self._complete_journal(str(results[n].target_id), moved, requests[n])
        return [results[n] for n in range(len(requests))]

    def _journal_payload(
        self, record: ManualJournal, r: _Refs
    ) -> tuple[Payload, list[tuple[JournalLine, m.XeroAccount]]]:
        lines: list[Payload] = []
        moved: list[tuple[JournalLine, m.XeroAccount]] = []
        for line in record.lines:
            account, view = r.account(line.account)
            description = line.description or ""
            if account.is_bank or account.is_control:
                # Xero refuses journals to these accounts: the line goes to the clearing
                # account and a document moves the amount on to the real account.
                moved.append((line, account))
                lines.append(
                    _journal_line(line.amount, self._clearing(), description + m.VIA_CLEARING)
                )
                continue
            payload = _journal_line(
                line.amount, account, description + (m.INPUT_VAT_MARK if view else "")
            )
            tax = r.tax(line.tax_rate, line.amount < 0)
            if tax:
                payload["TaxType"] = tax
            tracking = r.tracking(line.tracking)
            if tracking:
                payload["Tracking"] = tracking
            lines.append(payload)
        narration = record.narration or record.reference or f"Journal {record.key}"
        return (
            {
                "Narration": narration,
                "Date": record.date.isoformat(),
                "Status": "POSTED",
                "LineAmountTypes": "NoTax",
                "JournalLines": lines,
            },
            moved,
        )

    def _complete_journal(
        self,
        journal_id: str,
        moved: list[tuple[JournalLine, m.XeroAccount]],
        request: LoadRequest,
        existing: Mapping[int, str] | None = None,
    ) -> LoadResult:
        """Move a routed journal's bank and control lines off the clearing account.

        ``existing`` holds the parts an interrupted run already made (by line index): only the
        missing ones are made, so a resumed run completes the journal rather than starting over.
        """
        clearing = self._clearing()
        contact = self._named_contact(self.journal_contact)
        day = request.record.date.isoformat()  # type: ignore[attr-defined]
        parts: list[str] = []
        for index, (line, account) in enumerate(moved, start=1):
            if existing and index in existing:
                parts.append(existing[index])
                continue
            text = m.journal_part_line(journal_id, index, account.code)
            amount = abs(line.amount)
            if account.is_bank:
                kind, path, key, id_field = (
                    "bt",
                    "/BankTransactions",
                    "BankTransactions",
                    "BankTransactionID",
                )
                body: Payload = {
                    "Type": "RECEIVE" if line.amount > 0 else "SPEND",
                    "Contact": {"ContactID": contact},
                    "BankAccount": account.reference(),
                    "Date": day,
                    "LineAmountTypes": "NoTax",
                    "LineItems": [m.clearing_line(amount, _code(clearing), text)],
                    "CurrencyCode": account.currency or self.base_currency,
                }
            else:
                receivable = account.system == "DEBTORS"
                debit = line.amount > 0
                credit = debit is not receivable
                document = ("ACCREC" if receivable else "ACCPAY") + ("CREDIT" if credit else "")
                kind = "cn" if credit else "inv"
                path, key, id_field = (
                    ("/CreditNotes", "CreditNotes", "CreditNoteID")
                    if credit
                    else ("/Invoices", "Invoices", "InvoiceID")
                )
                number = f"JNL-{journal_id[:8]}-{index}"
                body = {
                    "Type": document,
                    "Contact": {"ContactID": contact},
                    "Date": day,
                    "Status": "AUTHORISED",
                    "LineAmountTypes": "NoTax",
                    "LineItems": [m.clearing_line(amount, _code(clearing), text)],
                    ("CreditNoteNumber" if credit else "InvoiceNumber"): number,
                }
                if not credit:
                    body["DueDate"] = day
            outcome = self._single(
                "PUT",
                path,
                key,
                {key: [body]},
                self._idempotency_key(
                    "journal_parts", f"{journal_id}:{index}", (request.idempotency_key,)
                ),
                {"summarizeErrors": False},
            )
            if not outcome.ok:
                self._remove_journal("+".join([journal_id, *parts]))
                return _refused(outcome, code="JOURNAL_ROUTING_REFUSED")
            parts.append(f"{kind}:{outcome.element[id_field]}")
        return LoadResult(
            ok=True,
            target_id="+".join([journal_id, *parts]),
            warnings=(
                f"{len(moved)} bank, receivables or payables line(s) went through the clearing "
                f"account {self.clearing_code} and the contact {self.journal_contact!r}",
            ),
        )

    # -- looking up what an interrupted run may have written -----------------------------------

    @hookimpl
    def migrationkit_find_existing(
        self, entity: str, request: LoadRequest, refs: References
    ) -> Found:
        finder = getattr(self, f"_find_{entity}", None)
        if finder is None:
            return Found(target_id=None)
        self._changed()
        try:
            found = finder(request, _Refs(self, refs))
        except _Unresolved:
            found = None
        return Found(target_id=found)

    def _find_company(self, request: LoadRequest, r: _Refs) -> str | None:
        return str(self.organisation()["OrganisationID"])

    def _find_tax_rates(self, request: LoadRequest, r: _Refs) -> str | None:
        result = self._load_tax_rates([request], r)[0]
        return result.target_id if result.ok else None

    def _find_ledger_accounts(self, request: LoadRequest, r: _Refs) -> str | None:
        record = request.record
        assert isinstance(record, LedgerAccount)
        if record.control_role in m.SYSTEM_ROLES:
            return self._ledger_account(request, r).target_id
        account = next(
            (a for a in self.chart(refresh=True).values() if a.code == record.code),
            None,
        )
        return account.id if account else None

    def _find_tracking_categories(self, request: LoadRequest, r: _Refs) -> str | None:
        self._tracking = None
        record = request.record
        assert isinstance(record, TrackingCategory)
        found = next(
            (c for c in self._tracking_categories().values() if c["Name"] == record.name),
            None,
        )
        return str(found["TrackingCategoryID"]) if found else None

    def _find_bank_accounts(self, request: LoadRequest, r: _Refs) -> str | None:
        record = request.record
        assert isinstance(record, BankAccount)
        account, _view = r.account(record.account)
        return account.id if account.is_bank else None

    def _find_contacts(self, request: LoadRequest, r: _Refs) -> str | None:
        body = self.api.get(
            "/Contacts",
            {"where": f'ContactNumber=="{_quote(request.record.key)}"', "includeArchived": True},
        )
        found = sorted(body.get("Contacts") or [], key=lambda c: c.get("ContactStatus") != "ACTIVE")
        return str(found[0]["ContactID"]) if found else None

    def _find_items(self, request: LoadRequest, r: _Refs) -> str | None:
        record = request.record
        assert isinstance(record, Item)
        body = self.api.get("/Items", {"where": f'Code=="{_quote(record.code)}"'})
        found = body.get("Items") or []
        return str(found[0]["ItemID"]) if found else None

    def _candidates(self, path: str, key: str, day: dt.date, extra: str = "") -> list[Payload]:
        where = f"Date==DateTime({day.year},{day.month:02d},{day.day:02d})" + extra
        params: dict[str, Any] = {"where": where}
        if path in _UNITDP_PATHS:
            params["unitdp"] = 4
        return list(self.api.pages(path, key, params))

    def _find_opening_balances(self, request: LoadRequest, r: _Refs) -> str | None:
        record = request.record
        assert isinstance(record, OpeningBalance)
        account, _view = r.account(record.account)
        label = m.opening_narration(record.as_of, account.code, account.name)
        if account.is_bank:
            for raw in self._candidates("/BankTransactions", "BankTransactions", record.as_of):
                if raw.get("Reference") == label and raw.get("Status") == "AUTHORISED":
                    return str(raw["BankTransactionID"])
            return None
        for raw in self._candidates("/ManualJournals", "ManualJournals", record.as_of):
            if raw.get("Narration") == label and raw.get("Status") == "POSTED":
                return str(raw["ManualJournalID"])
        return None

    def _find_documents(
        self, path: str, key: str, id_field: str, day: dt.date, match: Callable[[Payload], bool]
    ) -> list[Payload]:
        return [
            raw
            for raw in self._candidates(path, key, day)
            if raw.get("Status") not in ("DELETED", "VOIDED") and match(raw)
        ]

    def _find_open_items(self, request: LoadRequest, r: _Refs) -> str | None:
        record = request.record
        assert isinstance(record, OpenItem)
        credit = record.kind in _CREDIT_OPEN_ITEMS
        path, key, id_field = (
            ("/CreditNotes", "CreditNotes", "CreditNoteID")
            if credit
            else ("/Invoices", "Invoices", "InvoiceID")
        )
        contact = r.contact(record.contact)
        text = m.open_item_line(record.kind, record.number)
        found = self._find_documents(
            path,
            key,
            id_field,
            record.date,
            lambda raw: (
                raw["Contact"]["ContactID"] == contact
                and any(line.get("Description") == text for line in raw.get("LineItems") or ())
                and raw.get("Total") == record.outstanding
            ),
        )
        return str(found[0][id_field]) if found else None

    def _find_invoices(self, request: LoadRequest, r: _Refs) -> str | None:
        record = request.record
        assert isinstance(record, Invoice)
        payload = self._document_payload(record, r, request, [])
        total = _payload_total(payload)
        number = payload.get("InvoiceNumber")

        def same(raw: Payload) -> bool:
            return (
                raw["Type"] == payload["Type"]
                and raw["Contact"]["ContactID"] == payload["Contact"]["ContactID"]
                and (number is None or raw.get("InvoiceNumber") == number)
                and raw.get("Total") == total
            )

        found = self._find_documents("/Invoices", "Invoices", "InvoiceID", record.date, same)
        return str(found[0]["InvoiceID"]) if found else None

    def _find_credit_notes(self, request: LoadRequest, r: _Refs) -> str | None:
        record = request.record
        assert isinstance(record, CreditNote)
        payload = self._document_payload(record, r, request, [])
        total = _payload_total(payload)
        found = self._find_documents(
            "/CreditNotes",
            "CreditNotes",
            "CreditNoteID",
            record.date,
            lambda raw: (
                raw["Type"] == payload["Type"]
                and raw["Contact"]["ContactID"] == payload["Contact"]["ContactID"]
                and raw.get("Total") == total
            ),
        )
        if not found:
            return None
        credit = found[0]
        credit_id = str(credit["CreditNoteID"])
        if record.allocations and not credit.get("Allocations"):
            # The allocation of an interrupted run did not happen: make it now.
            result = self._allocate_credit(credit_id, record.allocations, record.date, r, request)
            return credit_id if result.ok else None
        return credit_id

    def _find_refunds(self, request: LoadRequest, r: _Refs) -> str | None:
        record = request.record
        assert isinstance(record, Refund)
        number = f"REFUND-{record.key}"
        body = self.api.get("/Invoices", {"InvoiceNumbers": number, "page": 1})
        invoices = [
            i for i in body.get("Invoices") or () if i.get("Status") not in ("DELETED", "VOIDED")
        ]
        if not invoices:
            return None
        invoice_id = str(invoices[0]["InvoiceID"])
        for raw in self._candidates("/BankTransactions", "BankTransactions", record.date):
            lines = raw.get("LineItems") or []
            if raw.get("Status") == "AUTHORISED" and any(
                line.get("Description") == f"Refund: invoice {invoice_id}" for line in lines
            ):
                return f"{invoice_id}+{raw['BankTransactionID']}"
        # Half a refund: pay it out now. Taking the invoice back instead would be undone by the
        # idempotent replay of its write when the record is sent again.
        paid = self._refund_money_out(record, invoice_id, r, request)
        return f"{invoice_id}+{paid.target_id}" if paid.ok else None

    def _find_payments(self, request: LoadRequest, r: _Refs) -> str | None:
        record = request.record
        assert isinstance(record, Payment)
        shape, payload = self._payment_payload(record, r)
        day = record.date
        if shape == "single":
            for raw in self._candidates("/Payments", "Payments", day):
                if (
                    raw.get("Status") != "DELETED"
                    and raw.get("Invoice", {}).get("InvoiceID") == payload["Invoice"]["InvoiceID"]
                    and raw.get("Amount") == payload["Amount"]
                    and not raw.get("BatchPaymentID")
                ):
                    return f"payment/{raw['PaymentID']}"
            return None
        if shape == "batch":
            wanted = sorted((p["Invoice"]["InvoiceID"], p["Amount"]) for p in payload["Payments"])
            for batch in self.api.get("/BatchPayments").get("BatchPayments") or ():
                have = sorted(
                    (p["Invoice"]["InvoiceID"], p["Amount"]) for p in batch.get("Payments") or ()
                )
                if batch.get("Status") != "DELETED" and have == wanted:
                    return f"batch/{batch['BatchPaymentID']}"
            return None
        for raw in self._candidates("/BankTransactions", "BankTransactions", day):
            if (
                raw.get("Type") == payload["Type"]
                and raw.get("Status") == "AUTHORISED"
                and raw["Contact"]["ContactID"] == payload["Contact"]["ContactID"]
                and raw.get("Total") == record.amount
            ):
                transaction_id = str(raw["BankTransactionID"])
                if record.allocations:
                    overpayment = self.api.get(f"/Overpayments/{raw['OverpaymentID']}")
                    held = (overpayment.get("Overpayments") or [{}])[0]
                    if not held.get("Allocations"):
                        result = self._allocate_overpayment(raw, record, r, request)
                        return result.target_id if result.ok else None
                return f"overpayment/{transaction_id}"
        return None

    def _find_bank_transactions(self, request: LoadRequest, r: _Refs) -> str | None:
        record = request.record
        assert isinstance(record, BankTransaction)
        bank = r.bank(record.bank_account)
        for raw in self._candidates("/BankTransactions", "BankTransactions", record.date):
            if (
                raw.get("Type") in ("SPEND", "RECEIVE")
                and raw.get("Status") == "AUTHORISED"
                and raw["BankAccount"]["AccountID"] == bank.id
                and raw.get("Total") == abs(record.gross)
                and (raw.get("Reference") or None) == record.reference
            ):
                return str(raw["BankTransactionID"])
        return None

    def _find_bank_transfers(self, request: LoadRequest, r: _Refs) -> str | None:
        record = request.record
        assert isinstance(record, BankTransfer)
        source, target = r.bank(record.from_bank_account), r.bank(record.to_bank_account)
        for raw in self.api.get("/BankTransfers").get("BankTransfers") or ():
            if (
                raw.get("Status") != "DELETED"
                and raw["FromBankAccount"]["AccountID"] == source.id
                and raw["ToBankAccount"]["AccountID"] == target.id
                and raw.get("Amount") == record.amount
                and _date_of(raw) == record.date
            ):
                return str(raw["BankTransferID"])
        return None

    def _find_manual_journals(self, request: LoadRequest, r: _Refs) -> str | None:
        record = request.record
        assert isinstance(record, ManualJournal)
        payload, moved = self._journal_payload(record, r)
        wanted = sorted(line["LineAmount"] for line in payload["JournalLines"])
        for raw in self._candidates("/ManualJournals", "ManualJournals", record.date):
            have = sorted(line["LineAmount"] for line in raw.get("JournalLines") or ())
            if (
                raw.get("Status") == "POSTED"
                and raw.get("Narration") == payload["Narration"]
                and have == wanted
            ):
                journal_id = str(raw["ManualJournalID"])
                if not moved:
                    return journal_id
                made = {
                    index: f"{kind}:{_part_id_of(kind, part)}"
                    for index, kind, part in self.reader.journal_parts().get(journal_id, [])
                    if part.get("Status") not in ("DELETED", "VOIDED")
                }
                # Routed only in part: make the missing parts. Taking the journal back instead
                # would be undone by the idempotent replay of its first write.
                result = self._complete_journal(journal_id, moved, request, made)
                return result.target_id if result.ok else None
        return None

    # -- taking records back -------------------------------------------------------------------

    @hookimpl
    def migrationkit_remove(
        self, entity: str, requests: Sequence[RemovalRequest]
    ) -> list[RemovalResult]:
        remover = getattr(self, f"_remove_{entity}", None)
        acceptable = _REMOVALS.get(entity, frozenset())
        refused: dict[int, RemovalResult] = {}
        for n, request in enumerate(requests):
            if remover is None or not acceptable & set(request.actions):
                refused[n] = RemovalResult(
                    removed=False,
                    reason="REMOVAL_NOT_ALLOWED",
                    message=f"Xero takes {entity} back only by "
                    f"{', '.join(sorted(a.value for a in acceptable)) or 'no means'}",
                )
        chosen = [r for n, r in enumerate(requests) if n not in refused]
        self._removal_actions = frozenset(a for r in chosen for a in r.actions)
        try:
            done = iter(remover(chosen) if chosen and remover is not None else [])
        finally:
            self._changed()
        results = [refused[n] if n in refused else next(done) for n in range(len(requests))]
        self._removal_actions = frozenset(Removal)
        return results

    def _released(self, requests: Sequence[RemovalRequest]) -> list[RemovalResult]:
        """Records matched to what Xero already had: nothing was created, nothing to take back."""
        return [RemovalResult(removed=True, action=None) for _ in requests]

    def _remove_company(self, requests: list[RemovalRequest]) -> list[RemovalResult]:
        return self._released(requests)

    def _remove_bank_accounts(self, requests: list[RemovalRequest]) -> list[RemovalResult]:
        # The bank details live on the Xero account, which the ledger account's removal takes.
        return self._released(requests)

    def _remove_tax_rates(self, requests: list[RemovalRequest]) -> list[RemovalResult]:
        results = []
        for request in requests:
            custom = [t for t in request.target_id.split("/") if t.startswith("TAX")]
            if not custom:
                results.append(RemovalResult(removed=True, action=None))
                continue
            names = {t: self._tax().get(t, {}).get("Name") for t in custom}
            outcome = self._single(
                "POST",
                "/TaxRates",
                "TaxRates",
                {
                    "TaxRates": [
                        {"TaxType": t, "Name": n, "Status": "DELETED"} for t, n in names.items()
                    ]
                },
                self._idempotency_key("tax_rates", "delete", (request.target_id,)),
            )
            results.append(_removed(outcome, Removal.DELETE))
        return results

    def _remove_ledger_accounts(self, requests: list[RemovalRequest]) -> list[RemovalResult]:
        results = []
        chart = self.chart(refresh=True)
        for request in requests:
            account_id, view = m.split_view(request.target_id)
            account = chart.get(account_id)
            if view or account is None or account.system:
                results.append(RemovalResult(removed=True, action=None))
                continue
            if Removal.DELETE in request.actions:
                outcome = self._single(
                    "DELETE",
                    f"/Accounts/{account_id}",
                    "Accounts",
                    None,
                    self._idempotency_key("ledger_accounts", "delete", (account_id,)),
                )
                if outcome.ok:
                    results.append(RemovalResult(removed=True, action=Removal.DELETE))
                    continue
                if Removal.ARCHIVE not in request.actions:
                    results.append(_removed(outcome, Removal.DELETE))
                    continue
            archived = self._single(
                "POST",
                f"/Accounts/{account_id}",
                "Accounts",
                {"Accounts": [{"Status": "ARCHIVED"}]},
                self._idempotency_key("ledger_accounts", "archive", (account_id,)),
            )
            results.append(_removed(archived, Removal.ARCHIVE))
        self._chart = None
        return results

    def _remove_tracking_categories(self, requests: list[RemovalRequest]) -> list[RemovalResult]:
        results = []
        for request in requests:
            if Removal.DELETE in request.actions:
                outcome = self._single(
                    "DELETE",
                    f"/TrackingCategories/{request.target_id}",
                    "TrackingCategories",
                    None,
                    self._idempotency_key("tracking", "delete", (request.target_id,)),
                )
                if outcome.ok:
                    results.append(RemovalResult(removed=True, action=Removal.DELETE))
                    continue
                if Removal.ARCHIVE not in request.actions:
                    results.append(_removed(outcome, Removal.DELETE))
                    continue
            archived = self._single(
                "POST",
                f"/TrackingCategories/{request.target_id}",
                "TrackingCategories",
                {"Status": "ARCHIVED"},
                self._idempotency_key("tracking", "archive", (request.target_id,)),
            )
            results.append(_removed(archived, Removal.ARCHIVE))
        self._tracking = None
        return results

    def _remove_contacts(self, requests: list[RemovalRequest]) -> list[RemovalResult]:
        ids = [r.target_id for r in requests]
        outcomes = self._batch(
            "contacts",
            "archive",
            "POST",
            "/Contacts",
            "Contacts",
            [{"ContactID": i, "ContactStatus": "ARCHIVED"} for i in ids],
            ids,
        )
        return [_removed(o, Removal.ARCHIVE) for o in outcomes]

    def _remove_items(self, requests: list[RemovalRequest]) -> list[RemovalResult]:
        results = []
        for request in requests:
            outcome = self._single(
                "DELETE",
                f"/Items/{request.target_id}",
                None,
                None,
                self._idempotency_key("items", "delete", (request.target_id,)),
            )
            results.append(_removed(outcome, Removal.DELETE))
        self._item_codes = None
        return results

    def _remove_opening_balances(self, requests: list[RemovalRequest]) -> list[RemovalResult]:
        return [self._remove_opening(r.target_id) for r in requests]

    def _remove_opening(self, target_id: str) -> RemovalResult:
        journal = self.api.get(f"/ManualJournals/{target_id}", missing_ok=True)
        if journal:
            return self._void_journal(target_id)
        return self._delete_bank_transactions([target_id])[0]

    def _remove_open_items(self, requests: list[RemovalRequest]) -> list[RemovalResult]:
        return self._void_documents([r.target_id for r in requests], credit=None)

    def _remove_invoices(self, requests: list[RemovalRequest]) -> list[RemovalResult]:
        return self._void_documents([r.target_id for r in requests], credit=False)

    def _remove_credit_notes(self, requests: list[RemovalRequest]) -> list[RemovalResult]:
        for request in requests:
            self._clear_allocations(request.target_id)
        return self._void_documents([r.target_id for r in requests], credit=True)

    def _void_documents(self, ids: Sequence[str], *, credit: bool | None) -> list[RemovalResult]:
        """Delete drafts and void approved invoices or credit notes (``None``: either kind)."""
        results: list[RemovalResult] = []
        for document_id in ids:
            results.append(self._void_document(document_id, credit))
        return results

    def _void_document(self, document_id: str, credit: bool | None) -> RemovalResult:
        found = None
        kinds = [credit] if credit is not None else [False, True]
        for is_credit in kinds:
            path = "/CreditNotes" if is_credit else "/Invoices"
            key = "CreditNotes" if is_credit else "Invoices"
            body = self.api.get(f"{path}/{document_id}", missing_ok=True)
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
            self._clear_allocations(document_id)
        status = "DELETED" if raw["Status"] in ("DRAFT", "SUBMITTED") else "VOIDED"
        needed = Removal.DELETE if status == "DELETED" else Removal.VOID
        if needed not in self._removal_actions:
            return RemovalResult(
                removed=False,
                reason="REMOVAL_NOT_ALLOWED",
                message=f"the {raw['Status'].lower()} document could only be taken back by "
                f"{needed.value}, which was not asked",
            )
        if status == "VOIDED":
            self._free_number(path, key, document_id, raw)
        outcome = self._single(
            "POST",
            f"{path}/{document_id}",
            key,
            {key: [{"Status": status}]},
            self._idempotency_key("void", document_id, (status,)),
        )
        return _removed(outcome, Removal.DELETE if status == "DELETED" else Removal.VOID)

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
        self._single(
            "POST",
            f"{path}/{document_id}",
            key,
            {key: [{field: renamed}]},
            self._idempotency_key("renumber", document_id, (renamed,)),
        )

    def _remove_refunds(self, requests: list[RemovalRequest]) -> list[RemovalResult]:
        return [self._remove_refund(r.target_id) for r in requests]

    def _remove_refund(self, target_id: str) -> RemovalResult:
        invoice_id, _, transaction_id = target_id.partition("+")
        if transaction_id:
            deleted = self._delete_bank_transactions([transaction_id])[0]
            if not deleted.removed:
                return deleted
        return self._void_document(invoice_id, credit=False)

    def _remove_payments(self, requests: list[RemovalRequest]) -> list[RemovalResult]:
        return [self._remove_payment(r.target_id) for r in requests]

    def _remove_payment(self, target_id: str) -> RemovalResult:
        shape, _, xero_id = target_id.partition("/")
        if shape == "payment":
            outcome = self._single(
                "POST",
                f"/Payments/{xero_id}",
                "Payments",
                {"Status": "DELETED"},
                self._idempotency_key("payments", "delete", (xero_id,)),
            )
            return _removed(outcome, Removal.DELETE)
        if shape == "batch":
            outcome = self._single(
                "POST",
                f"/BatchPayments/{xero_id}",
                "BatchPayments",
                {"Status": "DELETED"},
                self._idempotency_key("batch_payments", "delete", (xero_id,)),
            )
            return _removed(outcome, Removal.DELETE)
        transaction = self.api.get(f"/BankTransactions/{xero_id}", missing_ok=True) or {}
        held = (transaction.get("BankTransactions") or [{}])[0]
        overpayment_id = held.get("OverpaymentID")
        if overpayment_id:
            overpayment = (
                self.api.get(f"/Overpayments/{overpayment_id}").get("Overpayments") or [{}]
            )[0]
            for allocation in overpayment.get("Allocations") or ():
                self._write(
                    "DELETE",
                    f"/Overpayments/{overpayment_id}/Allocations/{allocation['AllocationID']}",
                    None,
                    None,
                    self._idempotency_key("unallocate", allocation["AllocationID"], ()),
                )
        return self._delete_bank_transactions([xero_id])[0]

    def _remove_bank_transactions(self, requests: list[RemovalRequest]) -> list[RemovalResult]:
        return self._delete_bank_transactions([r.target_id for r in requests])

    def _delete_bank_transactions(self, ids: Sequence[str]) -> list[RemovalResult]:
        results = []
        for transaction_id in ids:
            body = self.api.get(f"/BankTransactions/{transaction_id}", missing_ok=True) or {}
            held = (body.get("BankTransactions") or [None])[0]
            if held is None or held.get("Status") == "DELETED":
                results.append(RemovalResult(removed=True, action=Removal.DELETE))
                continue
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
            outcome = self._single(
                "POST",
                f"/BankTransactions/{transaction_id}",
                "BankTransactions",
                {"BankTransactions": [element]},
                self._idempotency_key("bank_transactions", "delete", (transaction_id,)),
            )
            results.append(_removed(outcome, Removal.DELETE))
        return results

    def _remove_bank_transfers(self, requests: list[RemovalRequest]) -> list[RemovalResult]:
        return [self._remove_transfer(r.target_id) for r in requests]

    def _remove_transfer(self, target_id: str) -> RemovalResult:
        outcome = self._single(
            "POST",
            f"/BankTransfers/{target_id}",
            "BankTransfers",
            {"Status": "DELETED"},
            self._idempotency_key("bank_transfers", "delete", (target_id,)),
        )
        return _removed(outcome, Removal.DELETE)

    def _remove_manual_journals(self, requests: list[RemovalRequest]) -> list[RemovalResult]:
        return [self._remove_journal(r.target_id) for r in requests]

    def _remove_journal(self, target_id: str) -> RemovalResult:
        journal_id, *parts = target_id.split("+")
        for part in parts:
            kind, _, part_id = part.partition(":")
            removal = (
                self._delete_bank_transactions([part_id])[0]
                if kind == "bt"
                else self._void_document(part_id, credit=kind == "cn")
            )
            if not removal.removed:
                return removal
        return self._void_journal(journal_id)

    def _void_journal(self, journal_id: str) -> RemovalResult:
        body = self.api.get(f"/ManualJournals/{journal_id}", missing_ok=True) or {}
        held = (body.get("ManualJournals") or [{}])[0]
        status = held.get("Status")
        if status in (None, "DELETED", "VOIDED"):
            return RemovalResult(removed=True, action=Removal.VOID)
        new = "DELETED" if status == "DRAFT" else "VOIDED"
        outcome = self._single(
            "POST",
            f"/ManualJournals/{journal_id}",
            "ManualJournals",
            # The spec requires a narration on every journal sent, a status change too.
            {"ManualJournals": [{"Narration": held.get("Narration") or "", "Status": new}]},
            self._idempotency_key("manual_journals", "void", (journal_id,)),
        )
        return _removed(outcome, Removal.VOID if new == "VOIDED" else Removal.DELETE)


# ---------------------------------------------------------------------------------------------
# references
# ---------------------------------------------------------------------------------------------


class _Refs:
    """Source keys to what Xero needs (ids, codes, tax types) within one load call."""

    def __init__(self, connector: XeroConnector, refs: References) -> None:
        self.connector = connector
        self.refs = refs

    def _target(self, entity: str, key: str) -> str:
        target = self.refs.target_id(entity, key)
        if not target:
            raise _Unresolved(f"{entity} {key} has not been loaded to Xero")
        return target

    def account(self, key: str) -> tuple[m.XeroAccount, bool]:
        account_id, view = m.split_view(self._target("ledger_accounts", key))
        chart = self.connector.chart()
        account = chart.get(account_id) or self.connector.chart(refresh=True).get(account_id)
        if account is None:
            raise _Unresolved(f"the Xero account of ledger account {key} is gone")
        return account, view

    def code(self, key: str | None) -> str | None:
        if not key:
            return None
        account, _view = self.account(key)
        return account.code

    def bank(self, key: str) -> m.XeroAccount:
        target = self._target("bank_accounts", key)
        account = self.connector.chart().get(target) or self.connector.chart(refresh=True).get(
            target
        )
        if account is None:
            raise _Unresolved(f"the Xero account of bank account {key} is gone")
        return account

    def tax(self, key: str | None, output: bool) -> str | None:
        if not key:
            return None
        return m.tax_type_for(self._target("tax_rates", key), output)

    def contact(self, key: str) -> str:
        return self._target("contacts", key)

    def item_code(self, key: str | None) -> str | None:
        if not key:
            return None
        item_id = self._target("items", key)
        codes = self.connector._items()
        if item_id not in codes:
            self.connector._item_codes = None
            codes = self.connector._items()
        return codes.get(item_id)

    def document(self, entity: str, key: str) -> str:
        """The Xero invoice id an allocation names (a refund's is its invoice part)."""
        target = self._target(entity, key)
        return target.split("+", 1)[0]

    def tracking(self, choices: Iterable[Any]) -> list[Payload]:
        found = []
        categories = self.connector._tracking_categories()
        for choice in choices:
            category_id = self._target("tracking_categories", choice.category)
            category = categories.get(category_id)
            if category is None:
                self.connector._tracking = None
                category = self.connector._tracking_categories().get(category_id)
            if category is None:
                raise _Unresolved(f"tracking category {choice.category} is gone from Xero")
            source = self.refs.record("tracking_categories", choice.category)
            name = choice.option
            if isinstance(source, TrackingCategory):
                name = next((o.name for o in source.options if o.key == choice.option), name)
            found.append({"Name": category["Name"], "Option": name[:100]})
        return found

    def lines(
        self, lines: Sequence[DocumentLine], *, output: bool
    ) -> tuple[list[Payload], list[str]]:
        payloads, warnings = [], []
        for line in lines:
            account, _view = self.account(line.account)
            payload, warning = m.line_payload(
                line,
                account_code=account.code,
                account_id=account.id,
                tax_type=self.tax(line.tax_rate, output) or "NONE",
                item_code=self.item_code(line.item),
                tracking=self.tracking(line.tracking),
            )
            payloads.append(payload)
            if warning:
                warnings.append(warning)
        return payloads, warnings


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

_REMOVALS: Mapping[str, frozenset[Removal]] = {
    "company": frozenset(),
    "tax_rates": frozenset({Removal.DELETE}),
    "ledger_accounts": frozenset({Removal.DELETE, Removal.ARCHIVE}),
    "tracking_categories": frozenset({Removal.DELETE, Removal.ARCHIVE}),
    "bank_accounts": frozenset({Removal.DELETE}),
    "contacts": frozenset({Removal.ARCHIVE}),
    "items": frozenset({Removal.DELETE}),
    "opening_balances": frozenset({Removal.DELETE, Removal.VOID}),
    "invoices": frozenset({Removal.DELETE, Removal.VOID}),
    "refunds": frozenset({Removal.DELETE, Removal.VOID}),
    "open_items": frozenset({Removal.DELETE, Removal.VOID}),
    "credit_notes": frozenset({Removal.DELETE, Removal.VOID}),
    "payments": frozenset({Removal.DELETE}),
    "bank_transactions": frozenset({Removal.DELETE}),
    "bank_transfers": frozenset({Removal.DELETE}),
    "manual_journals": frozenset({Removal.DELETE, Removal.VOID}),
}
"""How Xero takes back each entity (the plugin declares the same sets)."""

_UNITDP_PATHS = frozenset({"/Invoices", "/CreditNotes", "/BankTransactions", "/Overpayments"})
"""Endpoints that take ``unitdp`` (unit amounts to 4 decimal places)."""

_CREDIT_OPEN_ITEMS = frozenset(
    {
        OpenItemKind.SALES_CREDIT,
        OpenItemKind.CUSTOMER_PAYMENT,
        OpenItemKind.PURCHASE_CREDIT,
        OpenItemKind.SUPPLIER_PAYMENT,
    }
)


def choose_or_existing(record: TaxRate, request: LoadRequest) -> str | None:
    """The target of a tax rate: what it was loaded as before, else the built-in that fits."""
    if request.operation is Operation.UPDATE and request.target_id:
        return request.target_id
    return m.choose_tax_target(record)


def _outcome(element: Payload) -> _Outcome:
    errors = [str(e.get("Message", "")) for e in element.get("ValidationErrors") or ()]
    if element.get("StatusAttributeString") == _FAILED_ELEMENT and not errors:
        errors = ["Xero refused it without saying why"]
    return _Outcome(element=element, errors=[e for e in errors if e])


def _reason(errors: Sequence[str]) -> str:
    text = " ".join(errors).lower()
    if "must be unique" in text or "already exists" in text:
        return "NUMBER_TAKEN"
    if "lock date" in text:
        return "LOCKED_PERIOD"
    return "XERO_VALIDATION"


def _refused(outcome: _Outcome, code: str | None = None) -> LoadResult:
    """A failed load result with Xero's messages and the element Xero sent back."""
    return LoadResult.failed(
        code or _reason(outcome.errors),
        "Xero: " + "; ".join(outcome.errors),
        response=json.dumps(outcome.element, default=str, ensure_ascii=False)[:4000],
    )


def _removed(outcome: _Outcome, action: Removal) -> RemovalResult:
    if outcome.ok:
        return RemovalResult(removed=True, action=action)
    return RemovalResult(
        removed=False,
        reason="XERO_REFUSED",
        message="Xero: " + "; ".join(outcome.errors),
        response=json.dumps(outcome.element, default=str, ensure_ascii=False)[:4000],
    )


def _suffixed(record: Contact) -> str:
    """A contact name made unique with its code and ledger (Xero names must be unique)."""
    role = "supplier" if record.is_supplier and not record.is_customer else "customer"
    return f"{record.name} ({role} {record.code or record.key})"[:255]


def _item_side(price: Decimal | None, account_code: str | None, tax_type: str | None) -> Payload:
    side: Payload = {}
    if price is not None:
        side["UnitPrice"] = price
    if account_code:
        side["AccountCode"] = account_code
    if tax_type:
        side["TaxType"] = tax_type
    return side


def _journal_line(amount: Decimal, account: m.XeroAccount, description: str) -> Payload:
    line: Payload = {"LineAmount": amount, "Description": description, "TaxType": "NONE"}
    if account.code:
        line["AccountCode"] = account.code
    else:
        line["AccountID"] = account.id
    return line


def _code(account: m.XeroAccount) -> str:
    if not account.code:
        raise MigrationKitError(f"the Xero account {account.name} has no code")
    return account.code


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


def _carrying_rate(record: OpenItem) -> Decimal:
    """The rate at which Xero's conversion of the outstanding amount gives its base value."""
    if (
        record.base_outstanding == 0
        or m.base_amount(record.outstanding, record.exchange_rate) == record.base_outstanding
    ):
        return record.exchange_rate
    return round_money(record.outstanding / record.base_outstanding, m.RATE_PLACES)


def _precision(lines: Iterable[Any]) -> list[Problem]:
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


def _company_currency(refs: References) -> str | None:
    company = refs.record("company", "company")
    return company.base_currency if isinstance(company, Company) else None


def _payload_total(payload: Payload) -> Decimal:
    return sum(
        (
            line.get("LineAmount", ZERO) + line.get("TaxAmount", ZERO)
            for line in payload["LineItems"]
        ),
        ZERO,
    )


def _date_of(raw: Payload) -> dt.date | None:
    from .wire import parse_date

    return parse_date(raw.get("Date"))


def _line_signature(line: Mapping[str, Any]) -> tuple[Any, ...]:
    tracking = tuple(sorted((t.get("Name"), t.get("Option")) for t in line.get("Tracking") or ()))
    return (
        line.get("AccountCode"),
        line.get("LineAmount"),
        line.get("TaxAmount"),
        line.get("TaxType"),
        line.get("Description") or "",
        line.get("ItemCode"),
        line.get("Quantity"),
        line.get("UnitAmount"),
        tracking,
    )


def _same_lines(sent: Sequence[Payload], held: Sequence[Payload]) -> bool:
    return sorted(map(_line_signature, sent), key=repr) == sorted(
        map(_line_signature, held), key=repr
    )


def _part_id_of(kind: str, raw: Payload) -> str:
    field = {"inv": "InvoiceID", "cn": "CreditNoteID", "bt": "BankTransactionID"}[kind]
    return str(raw[field])


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
