"""What every Xero handler shares: the client, Xero's ways of writing, and what Xero holds.

Writes go in batches of :data:`CHUNK` elements with ``summarizeErrors=false``, up to
:data:`IN_FLIGHT` requests at once, so each element's outcome (its id, or its validation
messages) maps back to its record (:meth:`XeroContext.batch`); endpoints that take one element
get one per request (:meth:`XeroContext.single`). Every write carries an ``Idempotency-Key``
derived from the engine's idempotency keys of the records in it, so a request sent again
(after a dropped connection, or by a resumed run with the same batch) never creates twice.

The context also keeps what the handlers look up in Xero again and again (the organisation,
the chart, tax rates, tracking categories, item codes, the contacts the connector uses by
name, the clearing account, the enabled currencies), read once per run and updated as the
handlers write; and :class:`XeroRefs` turns source references into what Xero needs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from migrationkit.core.capabilities import Removal
from migrationkit.core.contract import LoadResult, References, RemovalResult
from migrationkit.core.errors import ConfigError, MigrationKitError, RemoteAPIError
from migrationkit.core.model import Company, DocumentLine, Record, TrackingCategory
from migrationkit.handlers import MissingReference, idempotency_key, in_chunks
from migrationkit.http import (
    OAuth2Session,
    StaticToken,
    TokenProvider,
    TokenStore,
    app_credentials,
    default_token_path,
)

from . import mapping as m
from .client import WriteResult, XeroApi, make_client
from .options import XeroOptions
from .reader import XeroReader

__all__ = [
    "CHUNK",
    "IN_FLIGHT",
    "Outcome",
    "Payload",
    "XeroContext",
    "XeroRefs",
    "code_of",
    "quote",
    "reason",
    "refused",
    "removed",
]

CHUNK = 50
"""Elements per write request: Xero's advice ("bundles of up to 50")."""
IN_FLIGHT = 5
"""Requests in flight at once: Xero's concurrent limit per tenant."""
Payload = dict[str, Any]
_FAILED_ELEMENT = "ERROR"


@attrs.define
class Outcome:
    """One element's answer: the element Xero returned, or its messages."""

    element: Payload
    errors: list[str]

    @property
    def ok(self) -> bool:
        return not self.errors


def outcome_of(element: Payload) -> Outcome:
    """An element of a ``summarizeErrors=false`` answer, with its own validation messages."""
    errors = [str(e.get("Message", "")) for e in element.get("ValidationErrors") or ()]
    if element.get("StatusAttributeString") == _FAILED_ELEMENT and not errors:
        errors = ["Xero refused it without saying why"]
    return Outcome(element=element, errors=[e for e in errors if e])


class XeroContext:
    """One tenant: its client, the connector's options, and what the handlers keep of it."""

    def __init__(self, options: XeroOptions, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.options = options
        self.clearing_code = options.clearing_account
        self.clearing_name = options.clearing_account_name
        self.conversion_contact = options.conversion_contact
        self.journal_contact = options.journal_contact
        self.sundry_contact = options.sundry_contact
        self.preserve_ids = True
        self.archive_later: list[tuple[str, str]] = []
        """``("contact" | "account", id)`` to archive once the run's documents are in."""
        self._api: XeroApi | None = None
        self._reader: XeroReader | None = None
        self._chart: dict[str, m.XeroAccount] | None = None
        self._org: dict[str, Any] | None = None
        self._tax_types: dict[str, dict[str, Any]] | None = None
        self._currencies: set[str] | None = None
        self._tracking: dict[str, dict[str, Any]] | None = None
        self._item_codes: dict[str, str] | None = None
        self._named_contacts: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<XeroContext tenant={self.tenant_id}>"

    # -- plumbing ------------------------------------------------------------------------------

    def _auth(self) -> TokenProvider:
        options = self.options
        if options.access_token:
            return StaticToken(
                options.access_token, system="Xero", login_hint="run `migrationkit auth xero`"
            )
        client_id, client_secret = app_credentials(
            "Xero", "XERO", options.client_id, options.client_secret
        )
        store = Path(options.token_store) if options.token_store else default_token_path("xero")
        return OAuth2Session(
            token_url=options.token_url,
            client_id=client_id,
            client_secret=client_secret,
            store=TokenStore(store),
            name="Xero",
            login_hint="run `migrationkit auth xero`",
        )

    @property
    def api(self) -> XeroApi:
        """The client, built at the first call (opening the connector needs no login)."""
        if self._api is None:
            client = make_client(
                base_url=self.options.base_url,
                tenant_id=self.tenant_id,
                auth=self._auth(),
                rate_scale=self.options.rate_scale,
                observers=list(self.options.observers),
                retries=self.options.retries,
            )
            self._api = XeroApi(client)
        return self._api

    @property
    def reader(self) -> XeroReader:
        """The source side: the organisation read back as canonical records."""
        if self._reader is None:
            self._reader = XeroReader(self.api, sundry_contact=self.sundry_contact)
        return self._reader

    def changed(self) -> None:
        """Forget what the reader read: Xero has just been written (or may have been)."""
        if self._reader is not None:
            self._reader.invalidate()

    def reset(self, preserve_ids: bool) -> None:
        """A run begins: read Xero afresh, another run or a person may have changed it."""
        self.preserve_ids = preserve_ids
        self._chart = self._tax_types = self._tracking = self._item_codes = None
        self._currencies = None
        self._org = None
        self.archive_later = []
        self.changed()

    def idempotency_key(self, entity: str, part: str, keys: Iterable[str]) -> str:
        """The key of one write: the tenant, the entity, which write of it, the records."""
        return idempotency_key(self.tenant_id, entity, part, keys=keys)

    def write(
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
        self.changed()
        return result

    def batch(
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
    ) -> list[Outcome]:
        """Send elements :data:`CHUNK` a request with ``summarizeErrors=false``; one outcome each.

        Up to :data:`IN_FLIGHT` requests go at once; each carries the Idempotency-Key of its
        own elements (``keys``, one per payload), and the outcomes come back in element order.
        """
        params: dict[str, Any] = {"summarizeErrors": False}
        if unitdp:
            params["unitdp"] = 4

        def send(chunk: Sequence[tuple[Payload, str]]) -> list[Outcome]:
            elements = [payload for payload, _ in chunk]
            result = self.write(
                method,
                path,
                key,
                {key: elements},
                self.idempotency_key(entity, part, [k for _, k in chunk]),
                params,
            )
            if not result.ok or len(result.elements) != len(elements):
                # Xero can refuse a whole batch even with summarizeErrors=false (Xero-Net#354);
                # its good elements may exist without ids, so stop: a resumed run looks each one
                # up before sending it again, which is why running again is the way on.
                raise RemoteAPIError(
                    f"Xero refused a batch of {len(elements)} {entity} as a whole: "
                    f"{'; '.join(result.messages()[:3]) or result.status}; some may have been "
                    "created, and a resumed run checks each before sending it again",
                    retriable=True,
                )
            return [outcome_of(e) for e in result.elements]

        return in_chunks(list(zip(payloads, keys, strict=True)), CHUNK, send, in_flight=IN_FLIGHT)

    def single(
        self,
        method: str,
        path: str,
        key: str | None,
        body: Any,
        idempotency: str,
        params: Mapping[str, Any] | None = None,
    ) -> Outcome:
        """One element in one request: a 400 is that element's refusal."""
        result = self.write(method, path, key, body, idempotency, params)
        if not result.ok:
            return Outcome(element=result.body, errors=result.messages() or ["refused"])
        elements = result.elements
        if key and elements:
            return outcome_of(elements[0])
        return Outcome(element=result.body, errors=[])

    # -- what Xero holds -----------------------------------------------------------------------

    def organisation(self) -> dict[str, Any]:
        if self._org is None:
            body = self.api.get("/Organisation")
            self._org = dict((body.get("Organisations") or [{}])[0])
        return self._org

    @property
    def base_currency(self) -> str:
        return str(self.organisation().get("BaseCurrency") or "GBP")

    def base_for_checks(self, refs: References) -> str | None:
        """The base currency, for rules that compare currencies before any write.

        Xero's (the company load refuses a source in another base currency); when Xero cannot
        be asked (a plan without credentials), the source company's, if it has the usual key.
        """
        try:
            return self.base_currency
        except MigrationKitError:
            company = refs.record("company", "company")
            return company.base_currency if isinstance(company, Company) else None

    def chart(self, refresh: bool = False) -> dict[str, m.XeroAccount]:
        """Xero's accounts by id, read once and kept up to date by the handlers."""
        if self._chart is None or refresh:
            accounts = self.api.get("/Accounts").get("Accounts") or []
            self._chart = {a["AccountID"]: m.XeroAccount.from_xero(a) for a in accounts}
        return self._chart

    def forget_chart(self) -> None:
        self._chart = None

    def account_if_read(self, account_id: str) -> m.XeroAccount | None:
        """An account of the chart as last read, without reading it (``None`` if not read)."""
        return self._chart.get(account_id) if self._chart is not None else None

    def by_code(self, code: str) -> m.XeroAccount | None:
        for account in self.chart().values():
            if account.code == code and account.status != "DELETED":
                return account
        return None

    def system_account(self, system: str) -> m.XeroAccount | None:
        return next((a for a in self.chart().values() if a.system == system), None)

    def tax_types(self) -> dict[str, dict[str, Any]]:
        """Xero's tax rates by tax type."""
        if self._tax_types is None:
            rates = self.api.get("/TaxRates").get("TaxRates") or []
            self._tax_types = {r["TaxType"]: r for r in rates}
        return self._tax_types

    def ensure_currency(self, code: str | None) -> None:
        """Enable a currency in the organisation before the first record that uses it."""
        if not code:
            return
        if self._currencies is None:
            body = self.api.get("/Currencies")
            self._currencies = {c["Code"] for c in body.get("Currencies") or ()}
        if code in self._currencies or code == self.base_currency:
            return
        outcome = self.single(
            "PUT",
            "/Currencies",
            "Currencies",
            {"Code": code},
            self.idempotency_key("currency", code, ()),
        )
        if not outcome.ok:
            raise RemoteAPIError(f"Xero would not enable the currency {code}: {outcome.errors[0]}")
        self._currencies.add(code)

    def tracking_categories(self, refresh: bool = False) -> dict[str, dict[str, Any]]:
        """Xero's tracking categories (archived ones too) by id, with their options."""
        if self._tracking is None or refresh:
            body = self.api.get("/TrackingCategories", {"includeArchived": True})
            self._tracking = {
                c["TrackingCategoryID"]: c for c in body.get("TrackingCategories") or ()
            }
        return self._tracking

    def forget_tracking(self) -> None:
        self._tracking = None

    def item_codes(self, refresh: bool = False) -> dict[str, str]:
        """Item codes by item id (document lines name items by code)."""
        if self._item_codes is None or refresh:
            body = self.api.get("/Items")
            self._item_codes = {i["ItemID"]: i["Code"] for i in body.get("Items") or ()}
        return self._item_codes

    def forget_items(self) -> None:
        self._item_codes = None

    def clearing(self) -> m.XeroAccount:
        """The conversion clearing account, created (as a current liability) if missing."""
        if not self.clearing_code:
            raise ConfigError("xero: this needs the clearing_account option")
        account = self.by_code(self.clearing_code)
        if account is not None:
            return account
        outcome = self.single(
            "PUT",
            "/Accounts",
            "Accounts",
            {"Code": self.clearing_code, "Name": self.clearing_name, "Type": "CURRLIAB"},
            self.idempotency_key("clearing", self.clearing_code, ()),
        )
        if not outcome.ok:
            raise RemoteAPIError(
                f"Xero would not create the clearing account {self.clearing_code}: "
                f"{outcome.errors[0]}"
            )
        created = m.XeroAccount.from_xero(outcome.element)
        self.chart()[created.id] = created
        return created

    def clearing_account_code(self) -> str:
        return code_of(self.clearing())

    def named_contact(self, name: str) -> str:
        """The id of a contact the connector uses by name (created if missing)."""
        if name in self._named_contacts:
            return self._named_contacts[name]
        body = self.api.get("/Contacts", {"where": f'Name=="{quote(name)}"'})
        found = [c for c in body.get("Contacts") or () if c.get("ContactStatus") == "ACTIVE"]
        if found:
            contact_id = str(found[0]["ContactID"])
        else:
            outcome = self.single(
                "PUT",
                "/Contacts",
                "Contacts",
                {"Contacts": [{"Name": name}]},
                self.idempotency_key("contact", name, ()),
            )
            if not outcome.ok:
                raise RemoteAPIError(
                    f"Xero would not create the contact {name!r}: {outcome.errors[0]}"
                )
            contact_id = str(outcome.element["ContactID"])
        self._named_contacts[name] = contact_id
        return contact_id


class XeroRefs:
    """Source keys to what Xero needs (ids, codes, tax types), for one load call.

    It answers as the engine's :class:`~migrationkit.References` too, so a handler passes it
    on wherever those are expected. A reference that does not resolve raises
    :class:`~migrationkit.handlers.MissingReference`: the record fails, nothing is sent.
    """

    def __init__(self, ctx: XeroContext, refs: References) -> None:
        self.ctx = ctx
        self.refs = refs

    # -- the engine's References -----------------------------------------------------------------

    def target_id(self, entity: str, key: str) -> str | None:
        return self.refs.target_id(entity, key)

    def mapped(self, entity: str) -> bool:
        return self.refs.mapped(entity)

    def record(self, entity: str, key: str) -> Record | None:
        return self.refs.record(entity, key)

    # -- Xero's side -----------------------------------------------------------------------------

    def _target(self, entity: str, key: str) -> str:
        target = self.refs.target_id(entity, key)
        if not target:
            raise MissingReference(f"{entity} {key} has not been loaded to Xero")
        return target

    def account(self, key: str) -> tuple[m.XeroAccount, bool]:
        """The Xero account of a ledger account, and whether it is the purchase-tax view."""
        account_id, view = m.split_view(self._target("ledger_accounts", key))
        chart = self.ctx.chart()
        account = chart.get(account_id) or self.ctx.chart(refresh=True).get(account_id)
        if account is None:
            raise MissingReference(f"the Xero account of ledger account {key} is gone")
        return account, view

    def code(self, key: str | None) -> str | None:
        if not key:
            return None
        account, _view = self.account(key)
        return account.code

    def bank(self, key: str) -> m.XeroAccount:
        target = self._target("bank_accounts", key)
        account = self.ctx.chart().get(target) or self.ctx.chart(refresh=True).get(target)
        if account is None:
            raise MissingReference(f"the Xero account of bank account {key} is gone")
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
        codes = self.ctx.item_codes()
        if item_id not in codes:
            codes = self.ctx.item_codes(refresh=True)
        return codes.get(item_id)

    def document(self, entity: str, key: str) -> str:
        """The Xero invoice id an allocation names (a refund's is its invoice part)."""
        target = self._target(entity, key)
        return target.split("+", 1)[0]

    def tracking(self, choices: Iterable[Any]) -> list[Payload]:
        found = []
        categories = self.ctx.tracking_categories()
        for choice in choices:
            category_id = self._target("tracking_categories", choice.category)
            category = categories.get(category_id)
            if category is None:
                category = self.ctx.tracking_categories(refresh=True).get(category_id)
            if category is None:
                raise MissingReference(f"tracking category {choice.category} is gone from Xero")
            source = self.refs.record("tracking_categories", choice.category)
            name = choice.option
            if isinstance(source, TrackingCategory):
                name = next((o.name for o in source.options if o.key == choice.option), name)
            found.append({"Name": category["Name"], "Option": name[:100]})
        return found

    def lines(
        self, lines: Sequence[DocumentLine], *, output: bool
    ) -> tuple[list[Payload], list[str]]:
        """Document lines as Xero line items, and the warnings of lines sent as one unit."""
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
# Xero's answers as results
# ---------------------------------------------------------------------------------------------


def reason(errors: Sequence[str]) -> str:
    """The reason code of Xero's refusal, from its messages."""
    text = " ".join(errors).lower()
    if "must be unique" in text or "already exists" in text:
        return "NUMBER_TAKEN"
    if "lock date" in text:
        return "LOCKED_PERIOD"
    return "XERO_VALIDATION"


def refused(outcome: Outcome, code: str | None = None) -> LoadResult:
    """A failed load result with Xero's messages and the element Xero sent back."""
    return LoadResult.failed(
        code or reason(outcome.errors),
        "Xero: " + "; ".join(outcome.errors),
        response=json.dumps(outcome.element, default=str, ensure_ascii=False)[:4000],
    )


def removed(outcome: Outcome, action: Removal) -> RemovalResult:
    """A removal's result: done by ``action``, or Xero's refusal in its words."""
    if outcome.ok:
        return RemovalResult(removed=True, action=action)
    return RemovalResult(
        removed=False,
        reason="XERO_REFUSED",
        message="Xero: " + "; ".join(outcome.errors),
        response=json.dumps(outcome.element, default=str, ensure_ascii=False)[:4000],
    )


def code_of(account: m.XeroAccount) -> str:
    """An account's code (lines on the clearing account name it by code)."""
    if not account.code:
        raise MigrationKitError(f"the Xero account {account.name} has no code")
    return account.code


def quote(text: str) -> str:
    """A value inside a ``where`` filter's double quotes."""
    return text.replace("\\", "\\\\").replace('"', '\\"')
