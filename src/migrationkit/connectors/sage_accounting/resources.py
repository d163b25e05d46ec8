"""Per-entity work against Sage: check, write, find again, take back, read.

One handler per canonical entity. Handlers never raise for a record Sage refuses: the refusal
becomes a failed :class:`~migrationkit.LoadResult` carrying Sage's ``$dataCode``, ``$message``
and ``$source`` and the raw answer. They raise only when the whole call failed (the toolkit's
errors after its retries, or :class:`~migrationkit.http.ConnectionLost`, which the connector
resolves by looking the record up).

This module holds the base and the master data (company, tax rates, chart, tracking, banks,
contacts, items); :mod:`.documents` holds everything that posts.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from migrationkit.core.capabilities import Removal
from migrationkit.core.contract import (
    LoadRequest,
    LoadResult,
    Problem,
    References,
    RemovalRequest,
    RemovalResult,
)
from migrationkit.core.errors import MappingError
from migrationkit.core.model import (
    AccountType,
    BankAccount,
    Company,
    Contact,
    ControlRole,
    Item,
    LedgerAccount,
    Record,
    TaxRate,
    TrackingAssignment,
    TrackingCategory,
)
from migrationkit.handlers import Handler, matched, reach_back
from migrationkit.http import ApiClient

from . import mapping
from .business import Business
from .client import Reply, SageClient
from .mapping import Written
from .options import SageAccountingOptions
from .taxes import TaxMatch, match_tax_rate
from .wire import since_text

__all__ = ["MASTER_HANDLERS", "Context", "SageHandler", "refused"]


class Context:
    """What every handler shares: the client, the business, the options and run settings."""

    def __init__(
        self, client: SageClient, business: Business, options: SageAccountingOptions
    ) -> None:
        self.client = client
        self.business = business
        self.options = options
        self.preserve_ids = True
        self.claims = Claims()


class Claims:
    """Who asked first for each unique Sage value (contact references, document numbers,
    adopted ledger accounts), so that a collision is reported before anything is written."""

    def __init__(self) -> None:
        self._owners: dict[tuple[str, str], str] = {}
        self._done: set[str] = set()
        self._lock = threading.Lock()

    def claim(self, space: str, value: str, owner: str) -> str | None:
        """Claim ``value`` in ``space`` for ``owner``; return the earlier owner on a clash."""
        with self._lock:
            current = self._owners.setdefault((space, value), owner)
        return None if current == owner else current

    def first_time(self, name: str) -> bool:
        """True once per ``name``: whoever asks first does the one-off work."""
        with self._lock:
            if name in self._done:
                return False
            self._done.add(name)
            return True


def since_param(since: dt.datetime | None) -> dict[str, str]:
    """``updated_or_created_since`` (inclusive), from the kit's clock margin before ``since``.

    Sage stamps changes by its own clock: what it stamped a little before the last run began
    may not have been read by it. Asking from earlier re-reads a few records, which their
    fingerprints then show unchanged.
    """
    if since is None:
        return {}
    return {"updated_or_created_since": since_text(reach_back(since))}


def deleted_param(since: dt.datetime | None) -> dict[str, str]:
    """``deleted_since`` (exclusive, so one second earlier still), from the clock margin back."""
    moment = reach_back(since or dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    return {"deleted_since": since_text(moment - dt.timedelta(seconds=1))}


class SageHandler(Handler[Context]):
    """The work for one entity in Sage; the kit's defaults say what an entity cannot do."""

    system = "Sage"

    @property
    def client(self) -> SageClient:
        return self.ctx.client

    @property
    def business(self) -> Business:
        return self.ctx.business

    @property
    def api(self) -> ApiClient:
        return self.client.api

    # -- helpers ---------------------------------------------------------------------------------

    def categories(self, refs: References) -> Any:
        """Turns tracking choices into Sage analysis category ids (creating none)."""

        def lookup(choices: Iterable[TrackingAssignment]) -> list[str]:
            found = []
            for choice in choices:
                type_id = self.resolver(refs)("tracking_categories", choice.category)
                codes = self.business.categories(type_id)
                if choice.option not in codes:
                    codes = self.business.categories(type_id, fresh=True)
                if choice.option not in codes:
                    raise MappingError(
                        f"tracking option {choice.option} of {choice.category} is not in Sage"
                    )
                found.append(codes[choice.option])
            return found

        return lookup

    def written(self, reply: Reply, written: Written, target_id: str | None = None) -> LoadResult:
        """A reply as the record's result: its id and the warnings, or Sage's refusal."""
        if not reply.ok:
            return refused(reply)
        object_id = target_id or str((reply.data or {}).get("id"))
        return LoadResult(ok=True, target_id=object_id, warnings=written.warnings)

    def delete(self, path: str, params: Mapping[str, Any] | None = None) -> RemovalResult:
        reply = self.client.send("DELETE", path, params=params)
        if reply.ok or reply.status == 404:
            # Already gone (an earlier, interrupted rollback got this far): nothing remains.
            return RemovalResult(removed=True, action=Removal.DELETE)
        error = reply.first_error()
        return RemovalResult(
            removed=False,
            reason=error.data_code,
            message=f"Sage refused to delete it: {error.describe()}",
            response=reply.text,
        )


def refused(reply: Reply) -> LoadResult:
    """Sage's refusal of one record, in its own words."""
    errors = reply.errors
    first = errors[0]
    message = "; ".join(e.describe() for e in errors)
    return LoadResult.failed(first.data_code, f"Sage refused it: {message}", reply.text)


# ---------------------------------------------------------------------------
# company and tax rates: matched, never written
# ---------------------------------------------------------------------------


class CompanyHandler(SageHandler):
    """The company is the business chosen by ``location``: checked and matched, not created."""

    entity = "company"

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, Company)
        base = self.business.base_currency
        if record.base_currency != base:
            return [
                Problem(
                    code="BASE_CURRENCY_DIFFERS",
                    message=f"the company keeps its books in {record.base_currency}, the Sage "
                    f"business in {base}; choose a business with the same base currency",
                )
            ]
        return []

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, Company)
        warnings = []
        opening = self.business.opening_date
        if record.opening_balance_date and opening and opening != record.opening_balance_date:
            warnings.append(
                f"the business's accounts start on {opening + dt.timedelta(days=1)}, the "
                f"source's opening balances are at {record.opening_balance_date}"
            )
        return matched(self.business.id, "business", warnings)

    update = create

    def find(self, request: LoadRequest, refs: References) -> str | None:
        return self.business.id

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        yield mapping.read_company(self.business.record, self.business.settings)


class TaxRateHandler(SageHandler):
    """Source tax codes matched onto the business's rates (see :mod:`.taxes`)."""

    entity = "tax_rates"

    def match(self, record: Record) -> TaxMatch:
        assert isinstance(record, TaxRate)
        return match_tax_rate(record, self.ctx.options.tax_rate_map, self.business.tax_rates)

    def check(self, record: Record, refs: References) -> list[Problem]:
        found = self.match(record)
        return [found.problem] if found.problem else []

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        found = self.match(request.record)
        if found.problem is not None or found.rate_id is None:
            problem = found.problem or Problem(code="TAX_CODE_UNMAPPED", message="no match")
            return LoadResult.failed(problem.code, problem.message)
        return matched(found.rate_id, f"tax rate {found.rate_id} (by {found.source})")

    update = create

    def find(self, request: LoadRequest, refs: References) -> str | None:
        found: str | None = self.match(request.record).rate_id
        return found

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        for obj in self.client.list("tax_rates", since_param(since)):
            yield mapping.read_tax_rate(obj)

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        return iter(())

    def deletions_unlisted(self, since: dt.datetime | None) -> str | None:
        # A business's own rate can be deleted, and tax_rates has no deleted_since.
        return "Sage's tax_rates list takes no deleted_since"


# ---------------------------------------------------------------------------
# the chart
# ---------------------------------------------------------------------------


class LedgerAccountHandler(SageHandler):
    """Accounts by nominal code; the business's control accounts are matched by role.

    A GB business comes with a chart whose control accounts (debtors, creditors, VAT) cannot
    be created twice: a source account with that role lands on Sage's. An account whose
    nominal code the chart already has lands on that account. Anything else is created.
    Sage cannot delete ledger accounts, so rollback leaves them.
    """

    entity = "ledger_accounts"

    def existing(self, record: LedgerAccount) -> tuple[dict[str, Any] | None, str]:
        """The business's account this record lands on, and why, or ``(None, "")``."""
        control = mapping.CONTROL_NAMES.get(record.control_role) if record.control_role else None
        if control:
            account = self.business.ledger_by_control(control)
            if account is not None:
                return account, f"control account {control}"
        account = self.business.ledger_by_code(mapping.nominal_code(record.code))
        return (account, "nominal code") if account is not None else (None, "")

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, LedgerAccount)
        try:
            account, _why = self.existing(record)
        except MappingError as exc:
            return [Problem(code="NOMINAL_CODE_INVALID", message=str(exc))]
        if account is None:
            return []
        is_bank = (account.get("ledger_account_type") or {}).get("id") == "BANK"
        sage_role = mapping.role_of(account)
        clash = account.get("is_control_account") and sage_role not in (record.control_role, None)
        if is_bank != (record.type is AccountType.BANK) or (clash and not is_bank):
            return [
                Problem(
                    code="NOMINAL_CODE_TAKEN",
                    message=f"nominal code {record.code} is Sage's {account.get('name')!r}, "
                    "which is not the same kind of account (a bank, or a control account "
                    "with another job); renumber it at the source or map it with "
                    "mappings.ledger_accounts",
                )
            ]
        owner = self.ctx.claims.claim("ledger", str(account["id"]), record.key)
        if owner is not None:
            return [
                Problem(
                    code="ACCOUNT_ALREADY_MATCHED",
                    message=f"it would land on Sage's {account.get('name')!r}, which source "
                    f"account {owner} already lands on",
                )
            ]
        return []

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, LedgerAccount)
        account, why = self.existing(record)
        if account is not None:
            return self._adopt(record, account, why)
        written = mapping.ledger_account_payload(record, self.resolver(refs))
        reply = self.client.send("POST", "ledger_accounts", body={"ledger_account": written.body})
        if reply.ok:
            self.business.remember("ledger_accounts", reply.data)
        return self.written(reply, written)

    def _adopt(self, record: LedgerAccount, account: dict[str, Any], why: str) -> LoadResult:
        warnings = []
        if account.get("name") != record.name:
            warnings.append(f"Sage's name {account.get('name')!r} is kept")
        wanted = mapping.visibility(record)
        if not account.get("is_control_account") and any(
            v and not account.get(k) for k, v in wanted.items()
        ):
            # Sage refuses a line to an account hidden from that area; open it up.
            reply = self.client.send(
                "PUT", f"ledger_accounts/{account['id']}", body={"ledger_account": wanted}
            )
            if not reply.ok:
                return refused(reply)
            self.business.remember("ledger_accounts", reply.data)
            warnings.append("made visible where the source used it")
        return matched(str(account["id"]), f"ledger account ({why})", warnings)

    def update(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, LedgerAccount)
        assert request.target_id is not None, "an update names its target"
        current = self.business.ledger_accounts.get(request.target_id, {})
        written = mapping.ledger_account_payload(record, self.resolver(refs))
        body = dict(written.body)
        body.pop("nominal_code", None)
        if current.get("is_control_account"):
            # A control account keeps its type and code; only its name can follow the source.
            body = {k: body[k] for k in ("name", "display_name") if k in body}
        reply = self.client.send(
            "PUT", f"ledger_accounts/{request.target_id}", body={"ledger_account": body}
        )
        if reply.ok:
            self.business.remember("ledger_accounts", reply.data)
        return self.written(reply, written, request.target_id)

    def find(self, request: LoadRequest, refs: References) -> str | None:
        record = request.record
        assert isinstance(record, LedgerAccount)
        self.business.invalidate("ledger_accounts")
        account, _why = self.existing(record)
        return str(account["id"]) if account else None

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        for obj in self.client.list("ledger_accounts", since_param(since)):
            yield mapping.read_ledger_account(obj)


class TrackingHandler(SageHandler):
    """A tracking category takes one of the business's analysis types, its options become
    analysis type categories (code = the option key, or its name, at most 10 characters).

    Sage has a fixed set of analysis types: a category lands on the type of the same name, or
    on the first type without categories. Rollback deletes the categories and leaves the type.
    """

    entity = "tracking_categories"

    def _types(self) -> list[dict[str, Any]]:
        return list(self.client.list("analysis_types"))

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, TrackingCategory)
        codes: dict[str, str] = {}
        for option in record.options:
            code = mapping.category_code(option)
            if code in codes:
                return [
                    Problem(
                        code="CATEGORY_CODE_COLLISION",
                        message=f"options {codes[code]} and {option.key} both become analysis "
                        f"category code {code!r} (at most 10 characters)",
                    )
                ]
            codes[code] = option.key
        return []

    def _choose(self, record: TrackingCategory) -> dict[str, Any] | None:
        types = self._types()
        name, _ = mapping.clip(record.name, mapping.LIMITS["analysis_type_name"])
        for analysis_type in types:
            if analysis_type.get("name") == name:
                return analysis_type
        used = {
            (c.get("analysis_type") or {}).get("id")
            for c in self.client.list("analysis_type_categories")
        }
        free = [t for t in types if t["id"] not in used]
        return free[0] if free else None

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, TrackingCategory)
        chosen = self._choose(record)
        if chosen is None:
            return LoadResult.failed(
                "NO_FREE_ANALYSIS_TYPE",
                "every analysis type of the business is in use; free one or map the category "
                "with mappings.tracking_categories",
            )
        return self._write(record, str(chosen["id"]))

    def update(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, TrackingCategory)
        assert request.target_id is not None, "an update names its target"
        return self._write(record, request.target_id)

    def _write(self, record: TrackingCategory, type_id: str) -> LoadResult:
        name, cut = mapping.clip(record.name, mapping.LIMITS["analysis_type_name"])
        reply = self.client.send(
            "PUT", f"analysis_types/{type_id}", body={"analysis_type": {"name": name}}
        )
        if not reply.ok:
            return refused(reply)
        existing = self.business.categories(type_id, fresh=True)
        for option in record.options:
            code = mapping.category_code(option)
            if code in existing:
                continue
            option_name, _ = mapping.clip(option.name, mapping.LIMITS["category_name"])
            body = {"analysis_type_id": type_id, "code": code, "name": option_name}
            reply = self.client.send(
                "POST", "analysis_type_categories", body={"analysis_type_category": body}
            )
            if not reply.ok:
                return refused(reply)
        self.business.invalidate("categories")
        warnings = (f"name cut to 50 characters: {name!r}",) if cut else ()
        return LoadResult(ok=True, target_id=type_id, warnings=warnings)

    def find(self, request: LoadRequest, refs: References) -> str | None:
        """The analysis type of that name, with the categories a broken write left out."""
        record = request.record
        assert isinstance(record, TrackingCategory)
        name, _ = mapping.clip(record.name, mapping.LIMITS["analysis_type_name"])
        for analysis_type in self._types():
            if analysis_type.get("name") == name:
                self._write(record, str(analysis_type["id"]))
                return str(analysis_type["id"])
        return None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        for category_id in self.business.categories(request.target_id, fresh=True).values():
            result = self.delete(f"analysis_type_categories/{category_id}")
            if not result.removed:
                return result
        self.business.invalidate("categories")
        return RemovalResult(removed=True, action=Removal.DELETE)

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        categories: dict[str, list[dict[str, Any]]] = {}
        for category in self.client.list("analysis_type_categories"):
            type_id = (category.get("analysis_type") or {}).get("id")
            categories.setdefault(str(type_id), []).append(category)
        for analysis_type in self._types():
            members = categories.get(str(analysis_type["id"]))
            if members:
                yield mapping.read_tracking_category(analysis_type, members)


class BankAccountHandler(SageHandler):
    """Bank accounts, each linked to the bank ledger account the chart stage created."""

    entity = "bank_accounts"

    def _ledger_id(self, record: BankAccount, refs: References) -> str | None:
        """The Sage ledger account the bank will hang on, also before the chart has loaded."""
        ledger_id = refs.target_id("ledger_accounts", record.account)
        if ledger_id and ledger_id != "(new)":
            return ledger_id
        account = refs.record("ledger_accounts", record.account)
        if isinstance(account, LedgerAccount) and account.code.isdigit():
            existing = self.business.ledger_by_code(int(account.code))
            return str(existing["id"]) if existing else None
        return None

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, BankAccount)
        ledger_id = self._ledger_id(record, refs)
        if ledger_id:
            bank = self.business.bank_for_ledger(ledger_id)
            ours = refs.target_id("bank_accounts", record.key)
            if bank is not None and bank["id"] != ours:
                return [
                    Problem(
                        code="BANK_ACCOUNT_EXISTS",
                        message=f"the business already has bank account "
                        f"{bank.get('displayed_as')!r} on that ledger account; map it with "
                        f'mappings.bank_accounts = {{ "{record.key}" = "{bank["id"]}" }}',
                    )
                ]
        return []

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, BankAccount)
        written = mapping.bank_account_payload(
            record, self.resolver(refs), self.business.base_currency
        )
        reply = self.client.send("POST", "bank_accounts", body={"bank_account": written.body})
        if reply.ok:
            self.business.remember("bank_accounts", reply.data)
        return self.written(reply, written)

    def update(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, BankAccount)
        assert request.target_id is not None, "an update names its target"
        written = mapping.bank_account_payload(
            record, self.resolver(refs), self.business.base_currency
        )
        reply = self.client.send(
            "PUT", f"bank_accounts/{request.target_id}", body={"bank_account": written.body}
        )
        if reply.ok:
            self.business.remember("bank_accounts", reply.data)
        return self.written(reply, written, request.target_id)

    def find(self, request: LoadRequest, refs: References) -> str | None:
        record = request.record
        assert isinstance(record, BankAccount)
        self.business.invalidate("bank_accounts")
        bank = self.business.bank_for_ledger(self.resolver(refs)("ledger_accounts", record.account))
        return str(bank["id"]) if bank else None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        result = self.delete(f"bank_accounts/{request.target_id}")
        if result.removed:
            self.business.drop("bank_accounts", request.target_id)
        return result

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        base = self.business.base_currency
        for obj in self.client.list("bank_accounts", since_param(since)):
            yield mapping.read_bank_account(obj, base)

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        for obj in self.client.list("bank_accounts", deleted_param(since), full=False):
            yield str(obj["id"])


# ---------------------------------------------------------------------------
# contacts and items
# ---------------------------------------------------------------------------


class ContactHandler(SageHandler):
    """Customers and vendors; the source key is kept in ``source_guid``.

    The Sage reference is the source code cut to 10 characters, unique among the customers
    (and among the vendors): two source contacts that would share one, or one that would take
    a reference another Sage contact has, are reported before anything is written.
    """

    entity = "contacts"

    def _existing_references(self) -> None:
        """Claim the references the business's contacts already hold (once per connector)."""
        if not self.ctx.claims.first_time("contact references"):
            return
        for obj in self.client.list("contacts"):
            reference = obj.get("reference")
            owner = obj.get("source_guid") or f"Sage contact {obj.get('name')!r}"
            for kind in ("CUSTOMER", "VENDOR"):
                if reference and kind in {t.get("id") for t in obj.get("contact_types") or ()}:
                    self.ctx.claims.claim(f"reference:{kind}", reference, str(owner))

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, Contact)
        if record.is_customer and record.is_supplier:
            return [
                Problem(
                    code="CONTACT_BOTH_TYPES",
                    message="a Sage contact is either a customer or a vendor; split it into "
                    "two contacts at the source",
                )
            ]
        reference, cut = mapping.contact_reference(record)
        if reference is None:
            return []
        self._existing_references()
        kind = "CUSTOMER" if record.is_customer else "VENDOR"
        owner = self.ctx.claims.claim(f"reference:{kind}", reference, record.key)
        if owner is None:
            return []
        how = f"cut to 10 characters, {reference!r}" if cut else f"{reference!r}"
        return [
            Problem(
                code="REFERENCE_COLLISION",
                message=f"its Sage reference ({how}) is already {owner}'s; give one of them "
                "a different code at the source or map it with mappings.contacts",
            )
        ]

    def _payload(self, record: Contact, refs: References) -> Written:
        reference, cut = mapping.contact_reference(record)
        written = mapping.contact_payload(
            record, self.resolver(refs), reference, self.business.base_currency
        )
        if cut:
            note = f"code cut to Sage's 10-character reference: {reference!r}"
            return Written(written.body, (*written.warnings, note))
        return written

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, Contact)
        written = self._payload(record, refs)
        reply = self.client.send("POST", "contacts", body={"contact": written.body})
        return self.written(reply, written)

    def update(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, Contact)
        assert request.target_id is not None, "an update names its target"
        written = self._payload(record, refs)
        body = {k: v for k, v in written.body.items() if k != "contact_type_ids"}
        reply = self.client.send("PUT", f"contacts/{request.target_id}", body={"contact": body})
        return self.written(reply, written, request.target_id)

    def find(self, request: LoadRequest, refs: References) -> str | None:
        record = request.record
        assert isinstance(record, Contact)
        reference, _ = mapping.contact_reference(record)
        search = reference or record.name[:40]
        for obj in self.client.list("contacts", {"search": search}):
            if obj.get("source_guid") == record.key:
                return str(obj["id"])
        return None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        return self.delete(f"contacts/{request.target_id}")

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        base = self.business.base_currency
        for obj in self.client.list("contacts", {**since_param(since), "exclude_system": True}):
            yield mapping.read_contact(obj, base)

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        for obj in self.client.list("contacts", deleted_param(since), full=False):
            yield str(obj["id"])


class ItemHandler(SageHandler):
    """Products (stock and non-stock) and services; the source key is kept in ``source_guid``."""

    entity = "items"

    def check(self, record: Record, refs: References) -> list[Problem]:
        assert isinstance(record, Item)
        missing = []
        if not record.sales_account:
            missing.append("a sales account")
        if mapping.item_endpoint(record) == "products" and not record.purchase_account:
            missing.append("a purchase account")
        if missing:
            return [
                Problem(
                    code="ITEM_ACCOUNT_MISSING",
                    message=f"Sage needs {' and '.join(missing)} for this "
                    f"{'service' if record.kind.value == 'service' else 'product'}",
                )
            ]
        return []

    def create(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, Item)
        endpoint = mapping.item_endpoint(record)
        written = mapping.item_payload(record, self.resolver(refs))
        reply = self.client.send("POST", endpoint, body={endpoint[:-1]: written.body})
        if not reply.ok:
            return refused(reply)
        return LoadResult(
            ok=True, target_id=f"{endpoint}:{reply.data['id']}", warnings=written.warnings
        )

    def update(self, request: LoadRequest, refs: References) -> LoadResult:
        record = request.record
        assert isinstance(record, Item)
        assert request.target_id is not None, "an update names its target"
        endpoint, plain = mapping.split_id(request.target_id)
        if endpoint != mapping.item_endpoint(record):
            return LoadResult.failed(
                "ITEM_KIND_CHANGED",
                "it changed between a service and a product, which Sage cannot change",
            )
        written = mapping.item_payload(record, self.resolver(refs))
        reply = self.client.send("PUT", f"{endpoint}/{plain}", body={endpoint[:-1]: written.body})
        return self.written(reply, written, request.target_id)

    def find(self, request: LoadRequest, refs: References) -> str | None:
        record = request.record
        assert isinstance(record, Item)
        endpoint = mapping.item_endpoint(record)
        for obj in self.client.list(endpoint, {"search": record.code}):
            if obj.get("source_guid") == record.key:
                return f"{endpoint}:{obj['id']}"
        return None

    def remove(self, request: RemovalRequest) -> RemovalResult:
        endpoint, plain = mapping.split_id(request.target_id)
        return self.delete(f"{endpoint}/{plain}")

    def extract(self, since: dt.datetime | None) -> Iterator[Record]:
        for endpoint in ("products", "services"):
            for obj in self.client.list(endpoint, since_param(since)):
                yield mapping.read_item(obj, endpoint)

    def deleted(self, since: dt.datetime | None) -> Iterator[str]:
        for endpoint in ("products", "services"):
            for obj in self.client.list(endpoint, deleted_param(since), full=False):
                yield f"{endpoint}:{obj['id']}"


MASTER_HANDLERS: tuple[type[SageHandler], ...] = (
    CompanyHandler,
    TaxRateHandler,
    LedgerAccountHandler,
    TrackingHandler,
    BankAccountHandler,
    ContactHandler,
    ItemHandler,
)


def role(refs: References, account: str) -> ControlRole | None:
    """The control role of a source ledger account, when the source said it."""
    record = refs.record("ledger_accounts", account)
    return record.control_role if isinstance(record, LedgerAccount) else None
