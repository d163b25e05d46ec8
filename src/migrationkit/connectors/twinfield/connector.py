"""The ``twinfield`` connector: one Twinfield administration (office), as a source or a target.

A load writes up to 25 records in one ProcessXml document and maps each element's answer back
to its record. Transactions go in provisional; when a full or delta run succeeds, the
provisional transactions migrationkit wrote are finalised (unless the option ``finalise`` is
off), so a demo can always be rolled back by deleting them.
"""

from __future__ import annotations

from migrationkit.core.contract import RunContext
from migrationkit.core.hookspecs import hookimpl
from migrationkit.handlers import HandlerConnector
from migrationkit.http import StaticToken, TokenProvider

from .auth import LOGIN_HINT, ClusterDiscovery, oauth_session
from .bank import BANK_HANDLERS
from .client import TwinfieldClient
from .documents import DOCUMENT_HANDLERS
from .entities import TABLE
from .masters import MASTER_HANDLERS, Context
from .office import OfficeState
from .options import TwinfieldOptions
from .transactions import finalise

__all__ = ["FINALISED_MODES", "TwinfieldConnector"]

FINALISED_MODES = frozenset({"full", "delta", "remigrate"})
"""Runs whose provisional transactions are finalised once they succeed (never a demo's)."""


class TwinfieldConnector(HandlerConnector[Context]):
    """One Twinfield administration, read as a source or written as a target."""

    name = "twinfield"
    system = "Twinfield"
    table = TABLE

    def __init__(self, options: TwinfieldOptions) -> None:
        auth: TokenProvider = (
            StaticToken(options.access_token, system="Twinfield", login_hint=LOGIN_HINT)
            if options.access_token
            else oauth_session(
                options.client_id, options.client_secret, options.token_store, options.login_url
            )
        )
        self.discovery = ClusterDiscovery(options.login_url, options.cluster_url)
        self.client = TwinfieldClient.build(
            auth,
            self.discovery,
            office=options.location or options.office,
            credits_per_minute=options.credits_per_minute,
            rate_scale=options.rate_scale,
            timeout=options.timeout,
        )
        self.office = OfficeState(self.client, options)
        self.options = options
        super().__init__(
            Context(self.client, self.office, options),
            (*MASTER_HANDLERS, *DOCUMENT_HANDLERS, *BANK_HANDLERS),
        )

    @hookimpl
    def migrationkit_identity(self) -> str:
        return f"twinfield:{self.office.code}"

    @hookimpl
    def migrationkit_begin(self, run: RunContext) -> bool:
        self.ctx.preserve_ids = run.preserve_ids
        # Another run (or a person) may have changed the office since: read it afresh.
        self.office.forget()
        self.ctx.read_cache.clear()
        return True

    @hookimpl
    def migrationkit_finish(self, run: RunContext, success: bool) -> bool:
        if success and self.options.finalise and run.mode in FINALISED_MODES:
            finalise(self.ctx)
        return True
