"""``migrationkit sandbox sage-accounting``: run the Sage Accounting sandbox in the foreground."""

from __future__ import annotations

import click

__all__ = ["sandbox_command"]


@click.command("sage-accounting")
@click.option("--port", default=8090, show_default=True, help="Port to listen on (0: any free).")
@click.option("--business", "businesses", multiple=True, help="Business name (repeatable).")
@click.option("--rate-limit", default=200, show_default=True, help="Calls per minute before a 429.")
@click.option(
    "--rate-scale",
    default=1.0,
    show_default=True,
    help="Time runs this many times faster (rate windows and Retry-After shrink alike).",
)
def sandbox_command(
    port: int, businesses: tuple[str, ...], rate_limit: int, rate_scale: float
) -> None:
    """Run a local emulator of the Sage Accounting v3.1 API in the foreground."""
    from .app import SageSandbox, SageSandboxServer

    app = SageSandbox(
        businesses=businesses or ("Sandbox Trading Ltd",),
        rate_limit=rate_limit,
        rate_scale=rate_scale,
    )
    server = SageSandboxServer(app, port)
    click.echo(f"Sage Accounting sandbox at {server.url}/v3.1", nl=True)
    click.echo(f"  access token:   {app.token}")
    for business_id, name in app.business_names().items():
        click.echo(f"  business:       {business_id}  {name}")
    click.echo(f"  OAuth client:   {app.client_id} / {app.client_secret}")
    click.echo(f"  authorize URL:  {server.url}/oauth/authorize")
    click.echo(f"  token URL:      {server.url}/oauth/token")
    click.echo(
        f"  use as: sage-accounting:BUSINESS_ID with base_url = {server.url}/v3.1 "
        "and access_token = the token above"
    )
    click.echo("Press Ctrl-C to stop.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
