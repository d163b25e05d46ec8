"""The options of the ``twinfield`` connector, checked when it opens."""

from __future__ import annotations

from collections.abc import Mapping

import attrs
from attrs.validators import ge, gt

__all__ = [
    "DELETE_REASON",
    "LOGIN_URL",
    "TwinfieldOptions",
]

LOGIN_URL = "https://login.twinfield.com/auth/authentication"
"""Twinfield's OpenID Connect server: ``/connect/authorize``, ``/connect/token`` and
``/connect/accesstokenvalidation`` below it."""
DELETE_REASON = "Removed by migrationkit (rollback, or changed or deleted at the source)"


@attrs.frozen(kw_only=True)
class TwinfieldOptions:
    """The ``twinfield`` connector's options."""

    location: str | None = attrs.field(
        default=None,
        metadata={
            "help": "the administration (office) code, as in twinfield:NLA001234",
            "default_help": "the option `office`",
        },
    )
    office: str | None = attrs.field(
        default=None,
        metadata={
            "help": "the administration (office) code; sent as the CompanyCode header",
            "default_help": "the only office of the login",
        },
    )
    cluster_url: str | None = attrs.field(
        default=None,
        metadata={
            "help": "the organisation's cluster, e.g. https://api.accounting.twinfield.com "
            "(the sandbox prints its own)",
            "default_help": "from the access-token validation",
        },
    )
    login_url: str = attrs.field(
        default=LOGIN_URL, metadata={"help": "Twinfield's OpenID Connect server"}
    )
    client_id: str | None = attrs.field(
        default=None,
        metadata={
            "help": "your Twinfield app's client id (developers.twinfield.com)",
            "default_help": "`TWINFIELD_CLIENT_ID`",
        },
    )
    client_secret: str | None = attrs.field(
        default=None,
        repr=False,
        metadata={
            "secret": True,
            "help": "your Twinfield app's client secret",
            "default_help": "`TWINFIELD_CLIENT_SECRET`",
        },
    )
    token_store: str | None = attrs.field(
        default=None,
        metadata={
            "help": "where `auth` saved the tokens (owner-only file)",
            "default_help": "`~/.config/migrationkit/tokens/twinfield.json`",
        },
    )
    access_token: str | None = attrs.field(
        default=None,
        repr=False,
        metadata={
            "secret": True,
            "help": "a fixed token instead of a login (the sandbox prints one); it cannot be "
            "refreshed",
        },
    )
    sales_daybook: str = attrs.field(
        default="VRK", metadata={"help": "the day book (transaction type) of sales invoices"}
    )
    purchase_daybook: str = attrs.field(
        default="INK", metadata={"help": "the day book of purchase invoices"}
    )
    journal_daybook: str = attrs.field(
        default="MEMO", metadata={"help": "the memorial day book of journals and opening balances"}
    )
    bank_daybooks: Mapping[str, str] = attrs.field(
        factory=dict,
        metadata={
            "help": "source bank account → Twinfield bank or cash day book code (a day book "
            "must exist for every bank account that moves)",
            "default_help": "`{}`",
        },
    )
    vat_codes: Mapping[str, str] = attrs.field(
        factory=dict,
        metadata={
            "help": "source tax code → `SALES/PURCHASE` pair of Twinfield VAT codes, e.g. "
            '`{ T1 = "VH/IH" }`, over the match by percentage',
            "default_help": "`{}`",
        },
    )
    opening_balance_account: str = attrs.field(
        default="0999",
        metadata={
            "help": "the balance-sheet account that takes the other side of each opening "
            "balance and open item (created when missing; nets to zero once all have loaded)"
        },
    )
    finalise: bool = attrs.field(
        default=True,
        metadata={
            "help": "finalise the provisional transactions a full or delta run wrote, once it "
            "succeeded (false: leave them provisional, deletable, to finalise in Twinfield)"
        },
    )
    delete_reason: str = attrs.field(
        default=DELETE_REASON,
        metadata={"help": "the reason Twinfield records when a provisional transaction goes"},
    )
    credits_per_minute: int = attrs.field(
        default=1000,
        validator=ge(3),
        metadata={"help": "credits a minute the connector allows itself (a query 1, a write 3)"},
    )
    rate_scale: float = attrs.field(
        default=1.0,
        validator=gt(0),
        metadata={
            "help": "time runs this many times faster for the rate limit and the retry backoff "
            "(sandboxes only)"
        },
    )
    timeout: float = attrs.field(
        default=120.0, validator=gt(0), metadata={"help": "seconds to wait for one answer"}
    )
