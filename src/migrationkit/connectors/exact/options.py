"""The options of the ``exact`` connector, checked when it opens."""

from __future__ import annotations

from collections.abc import Callable

import attrs
from attrs.validators import ge, gt, optional

__all__ = ["DEFAULT_BASE_URL", "ExactOptions"]

DEFAULT_BASE_URL = "https://start.exactonline.nl"
"""The Dutch Exact Online; other countries have their own (``.be``, ``.de``, ``.co.uk``, ...)."""


def _journal_code(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not 0 < len(value) <= 3:
        raise ValueError(f"{attribute.name} must be a journal code of 1-3 characters")


def _gl_code(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value.strip():
        raise ValueError(f"{attribute.name} must be a G/L account code")


@attrs.frozen(kw_only=True)
class ExactOptions:
    """The ``exact`` connector's options (a config file's ``[source]`` or ``[target]`` table)."""

    location: str | None = attrs.field(
        default=None,
        metadata={
            "help": "the division (administration) number, as `exact:DIVISION`",
            "default_help": "the login's current division",
        },
    )
    division: int | None = attrs.field(
        default=None,
        validator=optional(gt(0)),
        metadata={
            "help": "the same, as an option",
            "default_help": "`CurrentDivision` of `current/Me`",
        },
    )
    base_url: str = attrs.field(
        default=DEFAULT_BASE_URL,
        metadata={
            "help": (
                "Exact Online of your country (`https://start.exactonline.be`, `.de`, `.co.uk`, "
                "...) or the sandbox's; the API is under `/api/v1/{division}/`"
            )
        },
    )
    access_token: str | None = attrs.field(
        default=None,
        repr=False,
        metadata={
            "secret": True,
            "help": (
                "a fixed bearer token instead of the token store (the sandbox takes any); it "
                "cannot be refreshed"
            ),
        },
    )
    client_id: str | None = attrs.field(
        default=None,
        metadata={"help": "your Exact app's client id", "default_help": "env `EXACT_CLIENT_ID`"},
    )
    client_secret: str | None = attrs.field(
        default=None,
        repr=False,
        metadata={
            "secret": True,
            "help": "its secret",
            "default_help": "env `EXACT_CLIENT_SECRET`",
        },
    )
    token_store: str | None = attrs.field(
        default=None,
        metadata={
            "help": "where `migrationkit auth exact` saved the tokens (owner-only file)",
            "default_help": "`~/.config/migrationkit/tokens/exact.json`",
        },
    )
    sales_journal: str = attrs.field(
        default="70",
        validator=_journal_code,
        metadata={"help": "code of the sales journal (created if the division has none)"},
    )
    purchase_journal: str = attrs.field(
        default="60",
        validator=_journal_code,
        metadata={"help": "code of the purchase journal (created if missing)"},
    )
    general_journal: str = attrs.field(
        default="90",
        validator=_journal_code,
        metadata={"help": "code of the general journal manual journals go to (created if missing)"},
    )
    opening_journal: str = attrs.field(
        default="91",
        validator=_journal_code,
        metadata={
            "help": (
                "code of the general journal that carries opening balances (the API cannot "
                "create Exact's type 10 opening-balance entries; created if missing)"
            )
        },
    )
    opening_account: str = attrs.field(
        default="9990",
        validator=_gl_code,
        metadata={
            "help": (
                "code of the G/L account opening balances and open items are posted against "
                "(created if missing; it ends at zero when every opening line moved)"
            )
        },
    )
    receivables_account: str = attrs.field(
        default="1300",
        validator=_gl_code,
        metadata={
            "help": (
                "code of the receivables G/L account (type 20) customers post to until the "
                "source's debtors control account has moved (created if missing)"
            )
        },
    )
    payables_account: str = attrs.field(
        default="1600",
        validator=_gl_code,
        metadata={
            "help": (
                "code of the payables G/L account (type 22) suppliers post to until the "
                "source's creditors control account has moved (created if missing)"
            )
        },
    )
    vat_account: str = attrs.field(
        default="2999",
        validator=_gl_code,
        metadata={
            "help": (
                "code of the VAT G/L account a VAT code posts to until the source's sales and "
                "purchase VAT accounts have moved (a demo's sample may leave them out; created "
                "if missing, then left unused)"
            )
        },
    )
    transfer_account: str = attrs.field(
        default="2990",
        validator=_gl_code,
        metadata={
            "help": "code of the transit G/L account bank transfers go through (created if missing)"
        },
    )
    rate_scale: float = attrs.field(
        default=1.0,
        validator=gt(0),
        metadata={
            "help": (
                "time runs this many times faster for the rate limits, the error budget and the "
                "retry backoff (sandboxes and benchmarks only)"
            )
        },
    )
    error_budget: int = attrs.field(
        default=8,
        validator=[ge(1), attrs.validators.le(9)],
        metadata={
            "help": (
                "refused requests per endpoint in an hour before the run stops (Exact blocks "
                "the app for an hour at 10)"
            )
        },
    )
    workers: int = attrs.field(
        default=1,
        validator=ge(1),
        metadata={"help": "requests in flight at once within one load call"},
    )
    timeout: float = attrs.field(
        default=60.0, validator=gt(0), metadata={"help": "seconds to wait for one answer"}
    )
    observers: tuple[Callable[..., None], ...] = attrs.field(
        default=(),
        converter=tuple,
        metadata={
            "help": "callables told of every request and answer (programs only)",
            "hidden": True,
        },
    )
