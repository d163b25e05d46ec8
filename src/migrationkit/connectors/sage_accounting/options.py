"""The options of the ``sage-accounting`` connector, checked when it opens."""

from __future__ import annotations

from collections.abc import Mapping

import attrs
from attrs.validators import ge, gt

__all__ = ["DEFAULT_BASE_URL", "TOKEN_URL", "SageAccountingOptions"]

DEFAULT_BASE_URL = "https://api.accounting.sage.com/v3.1"
TOKEN_URL = "https://oauth.accounting.sage.com/token"
VOID_REASON = "Voided by migrationkit (rollback or deleted at the source)"


@attrs.frozen(kw_only=True)
class SageAccountingOptions:
    """The ``sage-accounting`` connector's options."""

    location: str | None = attrs.field(
        default=None,
        metadata={
            "help": (
                "the business, by its id or its name (any case); several businesses with that name"
                " is an error naming their ids"
            ),
            "default_help": "the only business of the login",
        },
    )
    base_url: str = attrs.field(
        default=DEFAULT_BASE_URL, metadata={"help": "where the API is (the sandbox prints its own)"}
    )
    client_id: str | None = attrs.field(
        default=None,
        metadata={
            "help": "your Sage app's client id (developer.sage.com)",
            "default_help": "`SAGE_CLIENT_ID`",
        },
    )
    client_secret: str | None = attrs.field(
        default=None,
        repr=False,
        metadata={
            "secret": True,
            "help": "your Sage app's client secret",
            "default_help": "`SAGE_CLIENT_SECRET`",
        },
    )
    token_store: str | None = attrs.field(
        default=None,
        metadata={
            "help": "where `auth` saved the tokens (owner-only file)",
            "default_help": "`~/.config/migrationkit/tokens/sage-accounting.json`",
        },
    )
    token_url: str = attrs.field(default=TOKEN_URL, metadata={"help": "the OAuth token endpoint"})
    access_token: str | None = attrs.field(
        default=None,
        repr=False,
        metadata={
            "secret": True,
            "help": (
                "a fixed token instead of a login (the sandbox prints one); it cannot be refreshed"
            ),
        },
    )
    rate_limit: int = attrs.field(
        default=100,
        validator=ge(1),
        metadata={"help": "calls per minute the connector allows itself, per business"},
    )
    rate_scale: float = attrs.field(
        default=1.0,
        validator=gt(0),
        metadata={
            "help": (
                "time runs this many times faster for the rate limit and the retry backoff "
                "(sandboxes only)"
            )
        },
    )
    tax_rate_map: Mapping[str, str] = attrs.field(
        factory=dict,
        metadata={
            "help": "source tax code → Sage tax rate id, over the default UK map",
            "default_help": "`{}`",
        },
    )
    void_reason: str = attrs.field(
        default=VOID_REASON,
        metadata={"help": "the reason Sage records when it voids a sales document"},
    )
    include_voided: bool = attrs.field(
        default=False, metadata={"help": "read voided sales documents too (as a source)"}
    )
    workers: int = attrs.field(
        default=4,
        validator=ge(1),
        metadata={"help": "requests in flight at once within one load call"},
    )
    timeout: float = attrs.field(
        default=60.0, validator=gt(0), metadata={"help": "seconds to wait for one answer"}
    )
