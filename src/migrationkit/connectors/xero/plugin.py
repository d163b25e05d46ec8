"""Registers the ``xero`` connector and its ``migrationkit auth xero`` command.

Loaded through the ``migrationkit`` entry point like any third-party plugin. The capabilities
are derived from the entity table (:mod:`.entities`), which the handlers read too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from migrationkit.core.contract import ConnectorInfo, Tenancy, TenantLimits
from migrationkit.core.hookspecs import hookimpl

from .entities import BATCH_SIZE, TABLE
from .options import XeroOptions

__all__ = ["BATCH_SIZE", "CAPABILITIES"]

if TYPE_CHECKING:
    import click

CAPABILITIES = TABLE.capabilities()
"""Derived from the entity table, so the flags cannot disagree with what the handlers do."""


TENANT_LIMITS = TenantLimits(concurrent=5, per_minute=60, per_day=5000)
"""Xero's documented limits per tenant (organisation); the connector's own limiter keeps them."""


def _tenancy(options: XeroOptions) -> Tenancy:
    return Tenancy(
        system="xero",
        tenant=options.tenant_id or options.location,
        limits=TENANT_LIMITS.scaled(options.rate_scale),
    )


def _factory(options: XeroOptions) -> object:
    from .connector import XeroConnector

    return XeroConnector(options)


@hookimpl
def migrationkit_register_connectors(register: Callable[[ConnectorInfo], None]) -> None:
    register(
        ConnectorInfo(
            name="xero",
            summary="Xero Accounting API, one organisation (source and target)",
            factory=_factory,
            capabilities=CAPABILITIES,
            location_help="the tenant id, e.g. xero:6f7594f2-... (see `migrationkit auth xero`)",
            options=XeroOptions,
            tenancy=_tenancy,
        )
    )


@hookimpl
def migrationkit_register_commands(register: Callable[[str, click.Command], None]) -> None:
    from .auth import auth_command

    register("auth", auth_command)
