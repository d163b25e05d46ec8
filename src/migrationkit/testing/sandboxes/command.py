"""What every ``migrationkit sandbox NAME`` command shares: its options and how it runs.

Every sandbox takes ``--port``, ``--token``, ``--rate-scale`` and the id of the company it
fakes (``--tenant`` for Xero, ``--business-id`` for Sage Accounting, ``--division`` for Exact
Online, ``--office`` for Twinfield). A sandbox's command declares itself with
:func:`sandbox_cli` and receives them as one :class:`SandboxOptions`::

    @sandbox_cli("exact-online", port=8830, account="--division", account_help="...")
    def exact_sandbox(options: SandboxOptions) -> None:
        from .app import ExactSandbox  # the sandbox loads only when the command runs

        app = ExactSandbox(division=options.account, rate_scale=options.rate_scale,
                           **options.auth())
        server = SandboxServer(app, options.port)
        serve(server, options, title="Exact Online sandbox", api=..., token=...,
              accounts=[("division", app.division)])

This module imports neither a sandbox nor the server: registering the commands stays cheap.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import click

if TYPE_CHECKING:
    from .server import SandboxServer

__all__ = ["SandboxOptions", "sandbox_cli", "serve"]


@attrs.frozen
class SandboxOptions:
    """The options every sandbox command takes."""

    port: int
    token: str | None
    rate_scale: float
    account: str | None
    """The tenant, business, division or office id (None: the sandbox makes one up)."""

    def auth(self) -> dict[str, Any]:
        """Keyword arguments for a :class:`SandboxApp`: any bearer token, or only ``token``."""
        return {"token": self.token, "accept_any_token": self.token is None}


def sandbox_cli(
    name: str, *, port: int, account: str, account_help: str
) -> Callable[[Callable[..., None]], click.Command]:
    """Make ``function(options, **its own options)`` the command ``migrationkit sandbox NAME``.

    ``account`` is the option naming the company's id (``--tenant``); options of the sandbox's
    own are declared with ``click.option`` below this decorator.
    """

    def decorate(function: Callable[..., None]) -> click.Command:
        @functools.wraps(function)
        def run(
            port: int, token: str | None, rate_scale: float, account: str | None, **own: Any
        ) -> None:
            if rate_scale <= 0:
                raise click.BadParameter("must be above 0", param_hint="--rate-scale")
            function(SandboxOptions(port, token, rate_scale, account), **own)

        shared = [
            click.option(
                "--port",
                type=int,
                default=port,
                show_default=True,
                help="Port on 127.0.0.1 (0: any free port).",
            ),
            click.option(
                "--token",
                default=None,
                help="The only bearer token to accept (default: any bearer token).",
            ),
            click.option(account, "account", default=None, help=account_help),
            click.option(
                "--rate-scale",
                type=float,
                default=1.0,
                show_default=True,
                help="Run time this many times faster (rate windows, token lives); "
                "give the connector the same rate_scale.",
            ),
        ]
        for option in reversed(shared):
            run = option(run)
        return click.command(name)(run)

    return decorate


def serve(
    server: SandboxServer,
    options: SandboxOptions,
    *,
    title: str,
    api: str,
    token: str,
    accounts: Sequence[tuple[str, str]],
    more: Sequence[tuple[str, str]] = (),
) -> None:
    """Print what a person needs to connect, in the same shape for every sandbox; serve until
    Ctrl-C.

    The first lines are always the API's URL, the bearer token to use, then ``accounts``
    (``("tenant id", id)``), then which tokens are accepted; ``more`` follows (``use:`` last).
    """
    accepted = (
        "only the bearer token above, and tokens from the sandbox's OAuth server"
        if options.token is not None
        else "any bearer token"
    )
    rows = [("bearer", token), *accounts, ("accepts", accepted), *more]
    width = max(len(label) for label, _ in rows) + 2
    click.echo(f"{title} at {api}")
    for label, value in rows:
        click.echo(f"  {label + ':':<{width}}{value}")
    click.echo("Ctrl-C stops it.", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
