"""The options of the ``xero`` connector, checked when it opens."""

from __future__ import annotations

from collections.abc import Callable

import attrs

__all__ = ["XERO_API_URL", "XERO_TOKEN_URL", "XeroOptions"]

XERO_API_URL = "https://api.xero.com/api.xro/2.0"
XERO_TOKEN_URL = "https://identity.xero.com/connect/token"


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be greater than zero, not {value}")


def _account_code(_instance: object, _attribute: object, value: str | None) -> None:
    if value is not None and not 0 < len(value) <= 10:
        raise ValueError("clearing_account must be an account code of 1-10 characters")


@attrs.frozen(kw_only=True)
class XeroOptions:
    """The ``xero`` connector's options (a config file's ``[source]`` or ``[target]`` table)."""

    location: str | None = attrs.field(
        default=None,
        metadata={
            "help": (
                "The organisation to read or write, as `xero:TENANT_ID` (`migrationkit auth xero` "
                "lists them)."
            )
        },
    )
    tenant_id: str | None = attrs.field(default=None, metadata={"help": "The same, as an option."})
    base_url: str = attrs.field(
        default=XERO_API_URL, metadata={"help": "API base URL (the sandbox's for tests)."}
    )
    token_url: str = attrs.field(
        default=XERO_TOKEN_URL, metadata={"help": "OAuth2 token endpoint."}
    )
    client_id: str | None = attrs.field(
        default=None,
        metadata={
            "help": "OAuth2 client id of your Xero app.",
            "default_help": "env `XERO_CLIENT_ID`",
        },
    )
    client_secret: str | None = attrs.field(
        default=None,
        repr=False,
        metadata={
            "secret": True,
            "help": "Its secret. Prefer the environment variable.",
            "default_help": "env `XERO_CLIENT_SECRET`",
        },
    )
    token_store: str | None = attrs.field(
        default=None,
        metadata={
            "help": "Where the tokens live (owner-only file).",
            "default_help": "`~/.config/migrationkit/tokens/xero.json`",
        },
    )
    access_token: str | None = attrs.field(
        default=None,
        repr=False,
        metadata={
            "secret": True,
            "help": (
                "A fixed bearer token instead of the token store (the sandbox takes any token)."
            ),
        },
    )
    rate_scale: float = attrs.field(
        default=1.0,
        validator=_positive,
        metadata={
            "help": (
                "Run the rate-limit windows this many times faster (sandbox and benchmarks only)."
            )
        },
    )
    clearing_account: str | None = attrs.field(
        default=None,
        validator=_account_code,
        metadata={
            "help": (
                "Code of the conversion clearing account; created (current liability) if missing."
            )
        },
    )
    clearing_account_name: str = attrs.field(
        default="Conversion clearing", metadata={"help": "Its name when the connector creates it."}
    )
    conversion_contact: str = attrs.field(
        default="Opening balances",
        metadata={"help": "Contact on the bank transactions that carry opening bank balances."},
    )
    journal_contact: str = attrs.field(
        default="Journal adjustments",
        metadata={
            "help": (
                "Contact on the documents that carry journal lines to receivables/payables/banks."
            )
        },
    )
    sundry_contact: str = attrs.field(
        default="Sundry",
        metadata={
            "help": "Contact of bank transactions that have none at the source (Xero requires one)."
        },
    )
    retries: int = attrs.field(
        default=6,
        validator=attrs.validators.ge(0),
        metadata={"help": "Retries of a failed call (429, 5xx, dropped connection)."},
    )
    observers: tuple[Callable[..., None], ...] = attrs.field(
        default=(),
        converter=tuple,
        metadata={
            "help": "callables told of every request and answer (programs only)",
            "hidden": True,
        },
    )
