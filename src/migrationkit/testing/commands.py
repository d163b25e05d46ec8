"""The test equipment's commands: ``migrationkit sandbox NAME`` and ``migrationkit generate NAME``.

Registered through the ``migrationkit`` entry-point group like any plugin, so the production
connectors never import a sandbox or a generator. Each command imports its sandbox only when
it runs.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from migrationkit.core.hookspecs import hookimpl

from .generators.sage50.cli import generate_sage50
from .sandboxes.exact.cli import sandbox_command as exact_sandbox
from .sandboxes.sage_accounting.cli import sandbox_command as sage_accounting_sandbox
from .sandboxes.twinfield.cli import sandbox_command as twinfield_sandbox
from .sandboxes.xero.cli import sandbox_command as xero_sandbox

__all__ = ["migrationkit_register_commands"]


@hookimpl
def migrationkit_register_commands(register: Callable[[str, click.Command], None]) -> None:
    register("sandbox", xero_sandbox)
    register("sandbox", sage_accounting_sandbox)
    register("sandbox", twinfield_sandbox)
    register("sandbox", exact_sandbox)
    register("generate", generate_sage50)
