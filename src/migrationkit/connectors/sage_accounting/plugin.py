"""Registers the ``sage-accounting`` connector and its commands (``migrationkit`` entry point).

Capabilities are Sage's own: sales documents are voided (deleted while draft), purchase
documents, payments and journals are deleted, ledger accounts cannot be deleted, journals cannot
be changed, GB tax rates cannot be created (source codes are matched onto the business's).
"""

from __future__ import annotations

from collections.abc import Callable

import click

from migrationkit.core.contract import ConnectorInfo, Tenancy, TenantLimits
from migrationkit.core.hookspecs import hookimpl

from .entities import TABLE
from .options import SageAccountingOptions

__all__ = ["CAPABILITIES"]

CAPABILITIES = TABLE.capabilities()
"""Derived from the entity table, so the flags cannot disagree with what the handlers do."""


TENANT_LIMITS = TenantLimits(per_minute=200)
"""Sage Accounting's documented limit per business: 200 calls in 60 seconds."""


def _tenancy(options: SageAccountingOptions) -> Tenancy:
    # Without a business the login's only one is used: all such clients share one key.
    return Tenancy(
        system="sage-accounting",
        tenant=options.location or "(the login's only business)",
        limits=TENANT_LIMITS.scaled(options.rate_scale),
    )


def _factory(options: SageAccountingOptions) -> object:
    from .connector import SageAccountingConnector

    return SageAccountingConnector(options)


@hookimpl
def migrationkit_register_connectors(register: Callable[[ConnectorInfo], None]) -> None:
    register(
        ConnectorInfo(
            name="sage-accounting",
            summary="Sage Business Cloud Accounting, API v3.1 (source and target)",
            factory=_factory,
            capabilities=CAPABILITIES,
            location_help="the business id or name, e.g. sage-accounting:'Larkspur Ltd'",
            options=SageAccountingOptions,
            tenancy=_tenancy,
        )
    )


@hookimpl
def migrationkit_register_commands(register: Callable[[str, click.Command], None]) -> None:
    from .commands import auth_command

    register("auth", auth_command)
