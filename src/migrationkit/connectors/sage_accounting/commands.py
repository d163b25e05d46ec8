"""``migrationkit auth sage-accounting``: log in and list the businesses."""

from __future__ import annotations

import click

from .auth import AUTHORIZE_URL, TOKEN_URL
from .client import DEFAULT_BASE_URL

__all__ = ["auth_command"]


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
    click.echo(f"Logged in. Tokens saved to {session.store.where}.")
    for item in found:
        click.echo(f"  {item.get('id')}  {item.get('name')}")
    if business:
        chosen = choose_business(found, business)
        click.echo(f"Use it as: sage-accounting:{chosen['id']}")
