"""The ``exact`` connector: one Exact Online division, as a source or a target.

A load sends one request per record (Exact has no batch endpoint), within the division's 60
calls a minute. A create whose connection broke after it was sent may have landed: the kit's
handler base looks the record up by what it carries (code, entry number, the stamp in the first
line's ``Notes``) and sends it again only when it is not there.
"""

from __future__ import annotations

from migrationkit.core.contract import RunContext
from migrationkit.core.hookspecs import hookimpl
from migrationkit.handlers import HandlerConnector
from migrationkit.http import StaticToken, TokenProvider

from .auth import LOGIN_HINT, oauth_session
from .bank import BANK_HANDLERS
from .base import Context
from .client import ExactClient
from .division import Division
from .documents import DOCUMENT_HANDLERS
from .entities import TABLE
from .journals import JOURNAL_HANDLERS
from .masters import MASTER_HANDLERS
from .options import ExactOptions

__all__ = ["ExactConnector"]


class ExactConnector(HandlerConnector[Context]):
    """One Exact Online division, read as a source or written as a target."""

    name = "exact"
    system = "Exact Online"
    table = TABLE

    def __init__(self, options: ExactOptions) -> None:
        auth: TokenProvider = (
            StaticToken(options.access_token, system="Exact Online", login_hint=LOGIN_HINT)
            if options.access_token
            else oauth_session(
                options.client_id, options.client_secret, options.base_url, options.token_store
            )
        )
        self.client = ExactClient.build(
            options.base_url,
            auth,
            rate_scale=options.rate_scale,
            error_budget=options.error_budget,
            timeout=options.timeout,
            observers=options.observers,
        )
        self.division = Division(self.client, options)
        super().__init__(
            Context(self.client, self.division, options),
            (*MASTER_HANDLERS, *DOCUMENT_HANDLERS, *BANK_HANDLERS, *JOURNAL_HANDLERS),
            workers=options.workers,
        )

    @hookimpl
    def migrationkit_identity(self) -> str:
        return f"exact:{self.division.number}"

    @hookimpl
    def migrationkit_begin(self, run: RunContext) -> bool:
        self.ctx.preserve_ids = run.preserve_ids
        # Another run (or a person) may have changed the division since: read it afresh.
        self.division.forget()
        self.ctx.feed.begin(run.checkpoints)
        self.ctx.run_cache = {}
        return True

    @hookimpl
    def migrationkit_finish(self, run: RunContext, success: bool) -> bool:
        self.ctx.feed.finish()
        self.ctx.run_cache = None
        return True
