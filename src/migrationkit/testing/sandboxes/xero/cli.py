"""``migrationkit sandbox xero``: run the Xero sandbox in the foreground."""

from __future__ import annotations

import click

__all__ = ["sandbox_command"]


@click.command("xero")
@click.option("--port", type=int, default=8810, show_default=True, help="Port on 127.0.0.1.")
@click.option(
    "--rate-scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Run the rate-limit windows this many times faster.",
)
@click.option("--tenant", default=None, help="Tenant id to print (default: a new one).")
def sandbox_command(port: int, rate_scale: float, tenant: str | None) -> None:
    """Run a local emulator of the Xero Accounting API (any token and tenant id work)."""
    from .app import (
        API_PREFIX,
        AUTHORIZE_PATH,
        CONNECTIONS_PATH,
        TOKEN_PATH,
        XeroSandbox,
        start_server,
    )

    app = XeroSandbox(rate_scale=rate_scale, tenant_id=tenant)
    server = start_server(app, port=port)
    token = app.issue_token()
    base = server.url
    click.echo(f"Xero sandbox on {base}")
    click.echo(f"  API:         {base}{API_PREFIX}")
    click.echo(f"  token URL:   {base}{TOKEN_PATH}   authorize: {base}{AUTHORIZE_PATH}")
    click.echo(f"  connections: {base}{CONNECTIONS_PATH}")
    click.echo(f"  tenant id:   {app.default_tenant}")
    click.echo(f"  bearer:      {token}  (any token is accepted)")
    click.echo(
        f"  use:         --target xero:{app.default_tenant} with options "
        f'base_url = "{base}{API_PREFIX}", access_token = "{token}"'
    )
    click.echo("Ctrl-C stops it.", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
