"""The ``sage-accounting`` connector: one Sage Accounting business, as a source or a target.

A load sends one request per record (Sage has no batch endpoints), several at a time within
the rate limit. A create whose connection broke after it was sent may have landed: the kit's
handler base looks the record up by the key it carries (source number, stamp, ``source_guid``)
and sends it again only when it is not there.
"""

from __future__ import annotations

from migrationkit.core.contract import RunContext
from migrationkit.core.hookspecs import hookimpl
from migrationkit.handlers import HandlerConnector
from migrationkit.http import StaticToken, TokenProvider

from .auth import LOGIN_HINT, oauth_session
from .business import Business
from .client import SageClient
from .documents import POSTING_HANDLERS
from .entities import TABLE
from .options import SageAccountingOptions
from .resources import MASTER_HANDLERS, Context

__all__ = ["SageAccountingConnector"]


class SageAccountingConnector(HandlerConnector[Context]):
    """One Sage Accounting business, read as a source or written as a target."""

    name = "sage-accounting"
    system = "Sage"
    table = TABLE

    def __init__(self, options: SageAccountingOptions) -> None:
        auth: TokenProvider = (
            StaticToken(options.access_token, system="Sage Accounting", login_hint=LOGIN_HINT)
            if options.access_token
            else oauth_session(
                options.client_id, options.client_secret, options.token_store, options.token_url
            )
        )
        self.client = SageClient.build(
            options.base_url,
            auth,
            rate_limit=options.rate_limit,
            rate_scale=options.rate_scale,
            timeout=options.timeout,
        )
        self.business = Business(self.client, options.location)
        super().__init__(
            Context(self.client, self.business, options),
            (*MASTER_HANDLERS, *POSTING_HANDLERS),
            workers=options.workers,
        )

    @hookimpl
    def migrationkit_identity(self) -> str:
        return f"sage-accounting:{self.business.id}"

    @hookimpl
    def migrationkit_begin(self, run: RunContext) -> bool:
        self.ctx.preserve_ids = run.preserve_ids
        # Another run (or a person) may have changed the business since: read it afresh.
        self.business.forget()
        return True
