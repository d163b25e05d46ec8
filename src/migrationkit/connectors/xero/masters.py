"""Master data in Xero: the company, tax rates, the chart, tracking, bank accounts, contacts, items.

What Xero already has is matched, never created: the organisation (the company), its built-in
tax rates and its system accounts (receivables, payables, VAT, retained earnings, rounding).
Accounts, tax rates and tracking categories go one per request, as Xero's endpoints take them;
contacts and items go in batches. An account or contact inactive at the source is archived at
the end of the run (:meth:`~.connector.XeroConnector.migrationkit_finish`), so that the run's
documents can still use it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal

from migrationkit.core.capabilities import Removal
from migrationkit.core.contract import (
    LoadRequest,
    LoadResult,
    Operation,
    References,
    RemovalRequest,
    RemovalResult,
)
from migrationkit.core.model import (
    AccountClass,
    BankAccount,
    Company,
    Contact,
    ControlRole,
    Item,
    LedgerAccount,
    Record,
    TaxRate,
    TrackingCategory,
)
from migrationkit.handlers import Prepared

from . import mapping as m
from .base import Draft, XeroBatchHandler, XeroHandler, in_order
from .context import Outcome, Payload, XeroRefs, quote, refused, removed

__all__ = ["MASTER_HANDLERS"]


_GONE_UNLISTED = (
    "Xero deletes {what} outright and lists no deleted ones since a moment (an account it "
    "deletes may also drop out of its list)"
)
"""Why a delta finds deleted accounts and items by comparing every record."""


# ---------------------------------------------------------------------------------------------
# the company and tax rates: matched to what Xero has
# ---------------------------------------------------------------------------------------------


class CompanyHandler(XeroHandler):
    """The company is the connected organisation: its base currency is checked, it is matched."""

    entity = "company"

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        org = self.ctx.organisation()
        record = request.record
        assert isinstance(record, Company)
        if record.base_currency != org.get("BaseCurrency"):
            return LoadResult.failed(
                "BASE_CURRENCY_DIFFERS",
                f"the company keeps its books in {record.base_currency}, the Xero "
                f"organisation {org.get('Name')} in {org.get('BaseCurrency')}; a Xero "
                "organisation's base currency cannot be changed",
            )
        return LoadResult(
            ok=True,
            existing=True,
            target_id=str(org["OrganisationID"]),
            warnings=(
                f"Xero organisations cannot be created through the API: the company's "
                f"records go to the connected organisation {org.get('Name')}",
            ),
        )

    update = create

    def look_up(self, request: LoadRequest, refs: XeroRefs) -> str | None:
        return str(self.ctx.organisation()["OrganisationID"])

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        return self.reader.extract_company(since)


class TaxRatesHandler(XeroHandler):
    """Built-in rates are matched by treatment and rate; a rate nothing fits becomes custom."""

    entity = "tax_rates"

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        rates = self.ctx.tax_types()
        record = request.record
        assert isinstance(record, TaxRate)
        # An update keeps what the rate was matched to or created as.
        target = (
            request.target_id
            if request.operation is Operation.UPDATE and request.target_id
            else m.choose_tax_target(record)
        )
        if target is None:
            return self._custom(record, request)
        missing = [t for t in target.split("/") if rates.get(t, {}).get("Status") != "ACTIVE"]
        if missing:
            return LoadResult.failed(
                "TAX_TYPE_MISSING",
                f"Xero's built-in tax type {', '.join(missing)} is not active in this organisation",
            )
        builtin = not target.startswith("TAX")
        note = (f"matched to Xero's built-in tax rate {target}",) if builtin else ()
        return LoadResult(ok=True, existing=builtin, target_id=target, warnings=note)

    update = create

    def _custom(self, record: TaxRate, request: LoadRequest) -> LoadResult:
        """A pair of custom rates (sales and purchases) at the source's rate."""
        parts = []
        for side, report in (("sales", "OUTPUT"), ("purchases", "INPUT")):
            name = f"{record.name} ({record.code}) {side}"[:50]
            existing = next(
                (
                    t
                    for t, v in self.ctx.tax_types().items()
                    if v.get("Name") == name and v.get("Status") == "ACTIVE"
                ),
                None,
            )
            if existing:
                parts.append(existing)
                continue
            component = {
                "Name": "VAT",
                "Rate": record.rate,
                "IsCompound": False,
                "IsNonRecoverable": False,
            }
            outcome = self.ctx.single(
                "PUT",
                "/TaxRates",
                "TaxRates",
                {
                    "TaxRates": [
                        {"Name": name, "ReportTaxType": report, "TaxComponents": [component]}
                    ]
                },
                self.ctx.idempotency_key("tax_rates", side, (request.idempotency_key,)),
            )
            if not outcome.ok:
                return refused(outcome)
            parts.append(str(outcome.element["TaxType"]))
            self.ctx.tax_types()[parts[-1]] = outcome.element
        return LoadResult(
            ok=True,
            target_id="/".join(parts),
            warnings=(
                f"no Xero tax rate fits {record.rate}% {record.treatment}; created custom rates",
            ),
        )

    def look_up(self, request: LoadRequest, refs: XeroRefs) -> str | None:
        result = self.create(request, refs)
        return result.target_id if result.ok else None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        custom = [t for t in request.target_id.split("/") if t.startswith("TAX")]
        if not custom:
            return RemovalResult(removed=True, action=None)
        names = {t: self.ctx.tax_types().get(t, {}).get("Name") for t in custom}
        outcome = self.ctx.single(
            "POST",
            "/TaxRates",
            "TaxRates",
            {
                "TaxRates": [
                    {"TaxType": t, "Name": n, "Status": "DELETED"} for t, n in names.items()
                ]
            },
            self.ctx.idempotency_key("tax_rates", "delete", (request.target_id,)),
        )
        return removed(outcome, Removal.DELETE)

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        return self.reader.extract_tax_rates(since)


# ---------------------------------------------------------------------------------------------
# the chart
# ---------------------------------------------------------------------------------------------


class LedgerAccountsHandler(XeroHandler):
    """One account per request; control roles Xero fills itself are matched to system accounts."""

    entity = "ledger_accounts"

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        r = self.refs(refs)
        record = request.record
        assert isinstance(record, LedgerAccount)
        system = m.SYSTEM_ROLES.get(record.control_role) if record.control_role else None
        if system is not None:
            account = self.ctx.system_account(system)
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
            return self._change(record, request)
        existing = self.ctx.by_code(record.code)
        if existing is not None and existing.status == "ARCHIVED" and not existing.system:
            return self._restore(existing, record, request)
        if existing is not None:
            return LoadResult.failed(
                "CODE_TAKEN",
                f"Xero already has the account {existing.code} {existing.name}; map it "
                "(mappings.ledger_accounts) or give the account another code",
            )
        payload, warnings = self._payload(record, r)
        outcome = self.ctx.single(
            "PUT",
            "/Accounts",
            "Accounts",
            payload,
            self.ctx.idempotency_key("ledger_accounts", "create", (request.idempotency_key,)),
        )
        if not outcome.ok:
            return refused(outcome, code="XERO_VALIDATION")
        account = m.XeroAccount.from_xero(outcome.element)
        self.ctx.chart()[account.id] = account
        if record.inactive:
            self.ctx.archive_later.append(("account", account.id))
        return LoadResult(ok=True, target_id=account.id, warnings=tuple(warnings))

    # A system account is matched again on update; any other account is changed in place.
    update = create

    def _restore(
        self, existing: m.XeroAccount, record: LedgerAccount, request: LoadRequest
    ) -> LoadResult:
        """Bring back an archived account of the same code (a rollback archives what is used)."""
        if existing.type != m.ACCOUNT_TYPES[record.type]:
            return LoadResult.failed(
                "CODE_TAKEN",
                f"Xero has the archived account {existing.code} {existing.name} of type "
                f"{existing.type}; restore or recode it in Xero",
            )
        outcome = self.ctx.single(
            "POST",
            f"/Accounts/{existing.id}",
            "Accounts",
            {"Accounts": [{"Status": "ACTIVE"}]},
            self.ctx.idempotency_key("ledger_accounts", "restore", (request.idempotency_key,)),
        )
        if not outcome.ok:
            return refused(outcome)
        self.ctx.chart()[existing.id] = m.XeroAccount.from_xero(outcome.element)
        if record.inactive:
            self.ctx.archive_later.append(("account", existing.id))
        return LoadResult(
            ok=True,
            target_id=existing.id,
            warnings=(f"restored the archived Xero account {existing.code} {existing.name}",),
        )

    def _payload(self, record: LedgerAccount, r: XeroRefs) -> tuple[Payload, list[str]]:
        warnings = []
        name = record.name[:150]
        if any(
            a.name.casefold() == name.casefold() and a.status != "DELETED"
            for a in self.ctx.chart().values()
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
            currency = record.currency or self.ctx.base_currency
            self.ctx.ensure_currency(currency)
            payload["CurrencyCode"] = currency
        elif record.tax_rate:
            income = record.type.account_class is AccountClass.INCOME
            tax = r.tax(record.tax_rate, output=income)
            if tax:
                payload["TaxType"] = tax
        return payload, warnings

    def _change(self, record: LedgerAccount, request: LoadRequest) -> LoadResult:
        account_id, _view = m.split_view(request.target_id or "")
        chart = self.ctx.chart()
        current = chart.get(account_id)
        changes: Payload = {}
        if current is None:
            return LoadResult.failed("NOT_FOUND", "the Xero account is gone")
        if record.name != current.name and not current.name.startswith(record.name + " ("):
            taken = any(
                a.name.casefold() == record.name.casefold() and a.id != account_id
                for a in chart.values()
            )
            changes["Name"] = f"{record.name} ({record.code})" if taken else record.name
        if record.code != current.code:
            changes["Code"] = record.code
        if record.description and current.type != "BANK":
            changes["Description"] = record.description[:4000]
        if not changes:
            return LoadResult(ok=True, target_id=request.target_id)
        outcome = self.ctx.single(
            "POST",
            f"/Accounts/{account_id}",
            "Accounts",
            {"Accounts": [changes]},
            self.ctx.idempotency_key("ledger_accounts", "update", (request.idempotency_key,)),
        )
        if not outcome.ok:
            return refused(outcome)
        self.ctx.chart()[account_id] = m.XeroAccount.from_xero(outcome.element)
        return LoadResult(ok=True, target_id=request.target_id)

    def look_up(self, request: LoadRequest, refs: XeroRefs) -> str | None:
        record = request.record
        assert isinstance(record, LedgerAccount)
        if record.control_role in m.SYSTEM_ROLES:
            return self.create(request, refs).target_id
        account = next(
            (a for a in self.ctx.chart(refresh=True).values() if a.code == record.code), None
        )
        return account.id if account else None

    def remove_many(self, requests: Sequence[RemovalRequest]) -> list[RemovalResult]:
        """Delete an account nothing posts to; archive one in use (when archiving is asked)."""
        results = []
        chart = self.ctx.chart(refresh=True)
        for request in requests:
            account_id, view = m.split_view(request.target_id)
            account = chart.get(account_id)
            if view or account is None or account.system:
                results.append(RemovalResult(removed=True, action=None))
                continue
            if Removal.DELETE in request.actions:
                outcome = self.ctx.single(
                    "DELETE",
                    f"/Accounts/{account_id}",
                    "Accounts",
                    None,
                    self.ctx.idempotency_key("ledger_accounts", "delete", (account_id,)),
                )
                if outcome.ok:
                    results.append(RemovalResult(removed=True, action=Removal.DELETE))
                    continue
                if Removal.ARCHIVE not in request.actions:
                    results.append(removed(outcome, Removal.DELETE))
                    continue
            archived = self.ctx.single(
                "POST",
                f"/Accounts/{account_id}",
                "Accounts",
                {"Accounts": [{"Status": "ARCHIVED"}]},
                self.ctx.idempotency_key("ledger_accounts", "archive", (account_id,)),
            )
            results.append(removed(archived, Removal.ARCHIVE))
        self.ctx.forget_chart()
        return results

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        return self.reader.extract_ledger_accounts(since)

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return iter(())

    def deletions_unlisted(self, since: dt.datetime | None) -> str | None:
        return _GONE_UNLISTED.format(what="accounts")


class TrackingCategoriesHandler(XeroHandler):
    """A category by name, then each of its options Xero does not have yet."""

    entity = "tracking_categories"

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, TrackingCategory)
        categories = self.ctx.tracking_categories()
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
            outcome = self.ctx.single(
                "PUT",
                "/TrackingCategories",
                "TrackingCategories",
                {"Name": record.name[:100]},
                self.ctx.idempotency_key("tracking_categories", "create", (key,)),
            )
            if not outcome.ok:
                return refused(outcome)
            category = {**outcome.element, "Options": []}
        elif category["Name"] != record.name:
            outcome = self.ctx.single(
                "POST",
                f"/TrackingCategories/{category['TrackingCategoryID']}",
                "TrackingCategories",
                {"Name": record.name[:100]},
                self.ctx.idempotency_key("tracking_categories", "rename", (key,)),
            )
            if not outcome.ok:
                return refused(outcome)
            category["Name"] = record.name
        category_id = str(category["TrackingCategoryID"])
        categories[category_id] = category
        have = {o["Name"] for o in category.get("Options") or ()}
        for option in record.options:
            if option.name[:100] in have:
                continue
            outcome = self.ctx.single(
                "PUT",
                f"/TrackingCategories/{category_id}/Options",
                "Options",
                {"Name": option.name[:100]},
                self.ctx.idempotency_key("tracking_options", option.key, (key,)),
            )
            if not outcome.ok:
                return refused(outcome)
            category.setdefault("Options", []).append(outcome.element)
        return LoadResult(ok=True, target_id=category_id)

    update = create

    def look_up(self, request: LoadRequest, refs: XeroRefs) -> str | None:
        record = request.record
        assert isinstance(record, TrackingCategory)
        found = next(
            (
                c
                for c in self.ctx.tracking_categories(refresh=True).values()
                if c["Name"] == record.name
            ),
            None,
        )
        return str(found["TrackingCategoryID"]) if found else None

    def remove_many(self, requests: Sequence[RemovalRequest]) -> list[RemovalResult]:
        results = []
        for request in requests:
            if Removal.DELETE in request.actions:
                outcome = self.ctx.single(
                    "DELETE",
                    f"/TrackingCategories/{request.target_id}",
                    "TrackingCategories",
                    None,
                    self.ctx.idempotency_key("tracking", "delete", (request.target_id,)),
                )
                if outcome.ok:
                    results.append(RemovalResult(removed=True, action=Removal.DELETE))
                    continue
                if Removal.ARCHIVE not in request.actions:
                    results.append(removed(outcome, Removal.DELETE))
                    continue
            archived = self.ctx.single(
                "POST",
                f"/TrackingCategories/{request.target_id}",
                "TrackingCategories",
                {"Status": "ARCHIVED"},
                self.ctx.idempotency_key("tracking", "archive", (request.target_id,)),
            )
            results.append(removed(archived, Removal.ARCHIVE))
        self.ctx.forget_tracking()
        return results

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        return self.reader.extract_tracking_categories(since)


class BankAccountsHandler(XeroHandler):
    """The bank details of the Xero account its ledger account made."""

    entity = "bank_accounts"

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        r = self.refs(refs)
        record = request.record
        assert isinstance(record, BankAccount)
        account, _view = r.account(record.account)
        if not account.is_bank:
            return LoadResult.failed(
                "NOT_A_BANK_ACCOUNT",
                f"its ledger account is {account.code} {account.name}, which is not a bank "
                "account in Xero",
            )
        self.ctx.ensure_currency(record.currency)
        changes: Payload = {
            "BankAccountNumber": m.bank_account_number(
                account.code or record.key, record.sort_code, record.account_number, record.iban
            ),
            "BankAccountType": m.BANK_ACCOUNT_TYPES[record.kind],
            "CurrencyCode": record.currency,
        }
        if record.name != account.name and not any(
            a.name.casefold() == record.name.casefold() and a.id != account.id
            for a in self.ctx.chart().values()
        ):
            changes["Name"] = record.name[:150]
        outcome = self.ctx.single(
            "POST",
            f"/Accounts/{account.id}",
            "Accounts",
            {"Accounts": [changes]},
            self.ctx.idempotency_key("bank_accounts", "details", (request.idempotency_key,)),
        )
        if not outcome.ok:
            return refused(outcome)
        self.ctx.chart()[account.id] = m.XeroAccount.from_xero(outcome.element)
        if record.inactive:
            self.ctx.archive_later.append(("account", account.id))
        return LoadResult(ok=True, target_id=account.id)

    update = create

    def look_up(self, request: LoadRequest, refs: XeroRefs) -> str | None:
        record = request.record
        assert isinstance(record, BankAccount)
        account, _view = refs.account(record.account)
        return account.id if account.is_bank else None

    def remove_many(self, requests: Sequence[RemovalRequest]) -> list[RemovalResult]:
        # The bank details live on the Xero account, which the ledger account's removal takes.
        return self.released(requests)

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        return self.reader.extract_bank_accounts(since)

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return iter(())

    def deletions_unlisted(self, since: dt.datetime | None) -> str | None:
        return _GONE_UNLISTED.format(what="accounts")


# ---------------------------------------------------------------------------------------------
# contacts and items: in batches
# ---------------------------------------------------------------------------------------------


class ContactsHandler(XeroBatchHandler):
    """Contacts in batches; a name Xero already has is retried once, suffixed."""

    entity = "contacts"

    def draft(self, request: LoadRequest, refs: XeroRefs) -> Draft:
        record = request.record
        assert isinstance(record, Contact)
        if record.currency:
            self.ctx.ensure_currency(record.currency)
        customer = record.is_customer or not record.is_supplier
        payload = m.contact_payload(
            name=record.name[:255],
            key=record.key,
            code=record.code,
            email=record.email,
            phone=record.phone,
            contact_name=record.contact_name,
            tax_number=record.tax_number,
            currency=record.currency,
            address=record.address,
            terms_days=record.payment_terms_days,
            customer=customer,
            sales_account=refs.code(record.sales_account),
            purchase_account=refs.code(record.purchase_account),
            tax_type=refs.tax(record.tax_rate, customer),
        )
        if request.operation is Operation.UPDATE and request.target_id:
            payload["ContactID"] = request.target_id
        return Draft(payload)

    def send(self, ready: Sequence[Prepared], refs: References) -> list[LoadResult]:
        # Names are unique among Xero's active contacts: two of a batch are told apart first.
        names: set[str] = set()
        told_apart: set[int] = set()
        for item in ready:
            body = item.payload.body
            if body["Name"].casefold() in names:
                body["Name"] = suffixed(_contact(item))
                told_apart.add(item.index)
            names.add(body["Name"].casefold())
        outcomes = self._send(ready)
        results = []
        for item, outcome in zip(ready, outcomes, strict=True):
            record = _contact(item)
            if not outcome.ok:
                results.append(refused(outcome))
                continue
            notes = []
            sent = item.payload.body["Name"]
            if sent != record.name[:255]:
                why = (
                    f"another contact in the same batch is named {record.name!r}"
                    if item.index in told_apart
                    else "the name was taken"
                )
                notes.append(f"named {sent!r} in Xero: {why}")
            contact_id = str(outcome.element["ContactID"])
            if record.inactive:
                self.ctx.archive_later.append(("contact", contact_id))
            results.append(LoadResult(ok=True, target_id=contact_id, warnings=tuple(notes)))
        return results

    def _send(self, ready: Sequence[Prepared]) -> list[Outcome]:
        """Create (PUT) or update (POST) contacts; a taken name is retried once, suffixed."""
        creating = [p.request.operation is Operation.CREATE for p in ready]
        keys = [p.request.idempotency_key for p in ready]
        outcomes: list[Outcome | None] = [None] * len(ready)
        for method, wanted in (("PUT", True), ("POST", False)):
            chosen = [i for i, c in enumerate(creating) if c is wanted]
            if not chosen:
                continue
            sent = self._batch(
                method, method, [ready[i] for i in chosen], [keys[i] for i in chosen]
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
                ready[i].payload.body["Name"] = suffixed(_contact(ready[i]))
            method = "PUT" if all(creating[i] for i in taken) else "POST"
            retried = self._batch(
                "renamed", method, [ready[i] for i in taken], [keys[i] for i in taken]
            )
            for i, outcome in zip(taken, retried, strict=True):
                outcomes[i] = outcome
        return [o for o in outcomes if o is not None]

    def _batch(
        self, part: str, method: str, items: Sequence[Prepared], keys: Sequence[str]
    ) -> list[Outcome]:
        bodies = [p.payload.body for p in items]
        return self.ctx.batch("contacts", part, method, "/Contacts", "Contacts", bodies, keys)

    def look_up(self, request: LoadRequest, refs: XeroRefs) -> str | None:
        body = self.ctx.api.get(
            "/Contacts",
            {"where": f'ContactNumber=="{quote(request.record.key)}"', "includeArchived": True},
        )
        found = sorted(body.get("Contacts") or [], key=lambda c: c.get("ContactStatus") != "ACTIVE")
        return str(found[0]["ContactID"]) if found else None

    def remove_many(self, requests: Sequence[RemovalRequest]) -> list[RemovalResult]:
        """Xero never deletes contacts: they are archived, in batches."""
        ids = [r.target_id for r in requests]
        outcomes = self.ctx.batch(
            "contacts",
            "archive",
            "POST",
            "/Contacts",
            "Contacts",
            [{"ContactID": i, "ContactStatus": "ARCHIVED"} for i in ids],
            ids,
        )
        return [removed(o, Removal.ARCHIVE) for o in outcomes]

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        return self.reader.extract_contacts(since)


class ItemsHandler(XeroBatchHandler):
    """Untracked items, by code; names are cut to Xero's 50 characters."""

    entity = "items"

    def draft(self, request: LoadRequest, refs: XeroRefs) -> Draft:
        record = request.record
        assert isinstance(record, Item)
        notes = []
        name = record.name
        if len(name) > 50:
            notes.append(f"the name was cut to Xero's 50 characters: {name[:50]!r}")
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
                record.sales_price, refs.code(record.sales_account), refs.tax(record.tax_rate, True)
            )
        if bought:
            payload["PurchaseDetails"] = _item_side(
                record.purchase_price,
                refs.code(record.purchase_account),
                refs.tax(record.tax_rate, False),
            )
        if request.operation is Operation.UPDATE and request.target_id:
            payload["ItemID"] = request.target_id
        return Draft(payload, notes)

    def send(self, ready: Sequence[Prepared], refs: References) -> list[LoadResult]:
        results: dict[int, LoadResult] = {}
        notes = {p.index: p.payload.notes for p in ready}
        for index, outcome in self.put_and_post("/Items", "Items", ready).items():
            if not outcome.ok:
                results[index] = refused(outcome)
                continue
            item_id = str(outcome.element["ItemID"])
            self.ctx.item_codes()[item_id] = str(outcome.element["Code"])
            results[index] = LoadResult(ok=True, target_id=item_id, warnings=tuple(notes[index]))
        return in_order(ready, results)

    def look_up(self, request: LoadRequest, refs: XeroRefs) -> str | None:
        record = request.record
        assert isinstance(record, Item)
        body = self.ctx.api.get("/Items", {"where": f'Code=="{quote(record.code)}"'})
        found = body.get("Items") or []
        return str(found[0]["ItemID"]) if found else None

    def remove_many(self, requests: Sequence[RemovalRequest]) -> list[RemovalResult]:
        results = []
        for request in requests:
            outcome = self.ctx.single(
                "DELETE",
                f"/Items/{request.target_id}",
                None,
                None,
                self.ctx.idempotency_key("items", "delete", (request.target_id,)),
            )
            results.append(removed(outcome, Removal.DELETE))
        self.ctx.forget_items()
        return results

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        return self.reader.extract_items(since)

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return iter(())

    def deletions_unlisted(self, since: dt.datetime | None) -> str | None:
        return _GONE_UNLISTED.format(what="items")


def _contact(item: Prepared) -> Contact:
    record = item.request.record
    assert isinstance(record, Contact)
    return record


def suffixed(record: Contact) -> str:
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


MASTER_HANDLERS = (
    CompanyHandler,
    TaxRatesHandler,
    LedgerAccountsHandler,
    TrackingCategoriesHandler,
    BankAccountsHandler,
    ContactsHandler,
    ItemsHandler,
)
