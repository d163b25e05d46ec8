"""The ``xero`` connector: a Xero organisation as a source and as a target.

One handler per entity does the work (:mod:`.masters`, :mod:`.documents`, :mod:`.payments`,
:mod:`.bank`, :mod:`.journals`), over what they share (:mod:`.context`: the client, Xero's
batches and idempotency keys, what Xero holds; :mod:`.base`: the handler bases). The entity
table (:mod:`.entities`) says what each entity can do, and the plugin's capabilities derive
from it. The reader (:mod:`.reader`) turns the organisation back into canonical records.

What is the connector's own: its identity, and what a run begins and ends with. An account or
contact inactive at the source is archived only once the run has succeeded, so that the run's
documents could still use it.
"""

from __future__ import annotations

from migrationkit.core.contract import RunContext
from migrationkit.core.errors import ConfigError
from migrationkit.core.hookspecs import hookimpl
from migrationkit.handlers import HandlerConnector

from .bank import BANK_HANDLERS
from .context import XeroContext
from .documents import DOCUMENT_HANDLERS
from .entities import TABLE
from .journals import JOURNAL_HANDLERS
from .masters import MASTER_HANDLERS
from .options import XeroOptions
from .payments import PAYMENT_HANDLERS

__all__ = ["XeroConnector"]


class XeroConnector(HandlerConnector[XeroContext]):
    """Reads and writes one Xero organisation (tenant). See docs/connectors/xero.md."""

    name = "xero"
    system = "Xero"
    table = TABLE

    def __init__(self, options: XeroOptions) -> None:
        tenant = options.tenant_id or options.location
        if not tenant:
            raise ConfigError(
                "xero needs a tenant id: xero:TENANT_ID (`migrationkit auth xero` lists them)"
            )
        self.tenant_id = tenant
        super().__init__(
            XeroContext(options, tenant),
            (
                *MASTER_HANDLERS,
                *DOCUMENT_HANDLERS,
                *PAYMENT_HANDLERS,
                *BANK_HANDLERS,
                *JOURNAL_HANDLERS,
            ),
        )

    def __repr__(self) -> str:
        return f"<XeroConnector tenant={self.tenant_id}>"

    @hookimpl
    def migrationkit_identity(self) -> str:
        return f"xero:{self.tenant_id}"

    @hookimpl
    def migrationkit_begin(self, run: RunContext) -> bool:
        self.ctx.reset(run.preserve_ids)
        return True

    @hookimpl
    def migrationkit_finish(self, run: RunContext, success: bool) -> bool:
        if success and self.ctx.archive_later:
            self._archive_deferred()
        self.ctx.archive_later = []
        return True

    def _archive_deferred(self) -> None:
        """Archive what was inactive at the source, now that documents no longer need it."""
        ctx = self.ctx
        contacts = [i for kind, i in ctx.archive_later if kind == "contact"]
        if contacts:
            payloads = [{"ContactID": c, "ContactStatus": "ARCHIVED"} for c in contacts]
            ctx.batch("contacts", "archive", "POST", "/Contacts", "Contacts", payloads, contacts)
        for kind, account_id in ctx.archive_later:
            if kind == "account":
                ctx.single(
                    "POST",
                    f"/Accounts/{account_id}",
                    "Accounts",
                    {"Accounts": [{"Status": "ARCHIVED"}]},
                    ctx.idempotency_key("accounts", "archive", (account_id,)),
                )
