"""Registers the ``twinfield`` connector and its login command (``migrationkit`` entry point).

Capabilities are Twinfield's own: dimensions are deleted while unused and hidden once used;
transactions are deleted while provisional (with a reason) and reversed by a counter-entry once
final; VAT codes, the office and its bank books are matched, never written.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from migrationkit.core.contract import ConnectorInfo, Tenancy, TenantLimits
from migrationkit.core.hookspecs import hookimpl

from .entities import TABLE
from .options import TwinfieldOptions

__all__ = ["CAPABILITIES"]

CAPABILITIES = TABLE.capabilities()
"""Derived from the entity table, so the flags cannot disagree with what the handlers do."""


TENANT_LIMITS = TenantLimits(concurrent=1)
"""Wolters Kluwer's advice: one call in flight per organisation."""


def _tenancy(options: TwinfieldOptions) -> Tenancy:
    # The organisation is the login's (its token says which): clients logged in alike share it.
    login = "a fixed access token" if options.access_token else options.token_store
    return Tenancy(
        system="twinfield",
        tenant=f"organisation of {login or 'the default login'}",
        limits=TENANT_LIMITS.scaled(options.rate_scale),
    )


def _factory(options: TwinfieldOptions) -> object:
    from .connector import TwinfieldConnector

    return TwinfieldConnector(options)


@hookimpl
def migrationkit_register_connectors(register: Callable[[ConnectorInfo], None]) -> None:
    register(
        ConnectorInfo(
            name="twinfield",
            summary="Twinfield (Wolters Kluwer), XML web services (source and target)",
            factory=_factory,
            capabilities=CAPABILITIES,
            location_help="the administration (office) code, e.g. twinfield:NLA001234",
            options=TwinfieldOptions,
            tenancy=_tenancy,
        )
    )


@hookimpl
def migrationkit_register_commands(register: Callable[[str, click.Command], None]) -> None:
    from .commands import auth_command

    register("auth", auth_command)
