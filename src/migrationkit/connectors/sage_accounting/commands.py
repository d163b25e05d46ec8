"""``migrationkit auth sage-accounting`` and ``migrationkit sandbox sage-accounting``."""

from __future__ import annotations

import click

from .auth import AUTHORIZE_URL, TOKEN_URL
from .client import DEFAULT_BASE_URL

__all__ = ["auth_command", "sandbox_command"]


@click.command("sage-accounting")
@click.option("--client-id", envvar="SAGE_CLIENT_ID", help="The Sage app's client id.")
@click.option(
    "--client-secret",
    envvar="SAGE_CLIENT_SECRET",
    help="The app's client secret (better: the SAGE_CLIENT_SECRET environment variable).",
)
@click.option("--port", default=8765, show_default=True, help="Local port Sage redirects to.")
@click.option("--country", help="Sage's country code for the login page (gb, ie, us...).")
@click.option("--token-store", type=click.Path(dir_okay=False), help="Where the tokens go.")
@click.option("--business", help="Check that this business (id or name) can be opened.")
@click.option("--authorize-url", default=AUTHORIZE_URL, show_default=True, hidden=True)
@click.option("--token-url", default=TOKEN_URL, show_default=True, hidden=True)
@click.option("--base-url", default=DEFAULT_BASE_URL, show_default=True, hidden=True)
def auth_command(
    client_id: str | None,
    client_secret: str | None,
    port: int,
    country: str | None,
    token_store: str | None,
    business: str | None,
    authorize_url: str,
    token_url: str,
    base_url: str,
) -> None:
    """Log in to Sage Accounting and list the businesses the login can open.

    Register http://localhost:PORT/callback as a redirect URI of your Sage app first. The code
    Sage sends back lives 60 seconds and is exchanged at once; the tokens are stored with
    owner-only permissions and refreshed (and rotated) automatically afterwards.
    """
    from .auth import list_businesses, log_in, oauth_session
    from .client import choose_business

    session = oauth_session(client_id, client_secret, token_store, token_url)
    log_in(session, authorize_url=authorize_url, port=port, country=country)
    found = list_businesses(session, base_url)
    click.echo(f"Logged in. Tokens saved to {session.store.path}.")
    for item in found:
        click.echo(f"  {item.get('id')}  {item.get('name')}")
    if business:
        chosen = choose_business(found, business)
        click.echo(f"Use it as: sage-accounting:{chosen['id']}")


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
    from .sandbox import SageSandbox, SageSandboxServer

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
