"""Registers the ``xero`` connector and its ``migrationkit auth xero`` command.

Loaded through the ``migrationkit`` entry point like any third-party plugin. The capabilities
are derived from the entity table (:mod:`.entities`), which the handlers read too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from migrationkit.core.contract import ConnectorInfo
from migrationkit.core.hookspecs import hookimpl

from .entities import BATCH_SIZE, TABLE
from .options import XeroOptions

__all__ = ["BATCH_SIZE", "CAPABILITIES"]

if TYPE_CHECKING:
    import click

CAPABILITIES = TABLE.capabilities()
"""Derived from the entity table, so the flags cannot disagree with what the handlers do."""


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
        )
    )


@hookimpl
def migrationkit_register_commands(register: Callable[[str, click.Command], None]) -> None:
    from .auth import auth_command

    register("auth", auth_command)
