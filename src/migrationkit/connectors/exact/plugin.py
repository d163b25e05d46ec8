"""Registers the ``exact`` connector and ``migrationkit auth exact`` (``migrationkit`` entry point).

Capabilities are Exact's own, derived from the entity table: entries are deleted while not
processed, journals only while unused, relations, G/L accounts and items deleted when unused
else blocked, general journal and bank entries replaced (no ``PUT``), codes and numeric entry
numbers kept.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from migrationkit.core.contract import ConnectorInfo, Tenancy, TenantLimits
from migrationkit.core.hookspecs import hookimpl

from .entities import TABLE
from .options import ExactOptions

__all__ = ["CAPABILITIES"]

CAPABILITIES = TABLE.capabilities()
"""Derived from the entity table, so the flags cannot disagree with what the handlers do."""


TENANT_LIMITS = TenantLimits(per_minute=60, per_day=5000)
"""Exact Online's documented limits per division: 60 calls a minute, 5,000 a day."""


def _tenancy(options: ExactOptions) -> Tenancy:
    division = options.division or options.location
    return Tenancy(
        system="exact",
        tenant=str(division) if division else "(the login's current division)",
        limits=TENANT_LIMITS.scaled(options.rate_scale),
    )


def _factory(options: ExactOptions) -> object:
    from .connector import ExactConnector

    return ExactConnector(options)


@hookimpl
def migrationkit_register_connectors(register: Callable[[ConnectorInfo], None]) -> None:
    register(
        ConnectorInfo(
            name="exact",
            summary="Exact Online REST API, one division (source and target)",
            factory=_factory,
            capabilities=CAPABILITIES,
            location_help="the division number, e.g. exact:123456",
            options=ExactOptions,
            tenancy=_tenancy,
        )
    )


@hookimpl
def migrationkit_register_commands(register: Callable[[str, click.Command], None]) -> None:
    from .commands import auth_command

    register("auth", auth_command)
