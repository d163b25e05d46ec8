"""``migrationkit auth twinfield``: log in, find the cluster and list the offices."""

from __future__ import annotations

import click

from .options import LOGIN_URL

__all__ = ["auth_command"]


@click.command("twinfield")
@click.option("--client-id", envvar="TWINFIELD_CLIENT_ID", help="The Twinfield app's client id.")
@click.option(
    "--client-secret",
    envvar="TWINFIELD_CLIENT_SECRET",
    help="The app's client secret (better: the TWINFIELD_CLIENT_SECRET environment variable).",
)
@click.option("--port", default=8765, show_default=True, help="Local port Twinfield redirects to.")
@click.option("--token-store", type=click.Path(dir_okay=False), help="Where the tokens go.")
@click.option("--login-url", default=LOGIN_URL, show_default=True, hidden=True)
def auth_command(
    client_id: str | None,
    client_secret: str | None,
    port: int,
    token_store: str | None,
    login_url: str,
) -> None:
    """Log in to Twinfield, show the organisation's cluster and list its offices.

    Register http://localhost:PORT/callback as a redirect URI of your Twinfield app first.
    The tokens are stored with owner-only permissions and renewed automatically afterwards.
    """
    from .auth import ClusterDiscovery, log_in, oauth_session
    from .client import TwinfieldClient

    session = oauth_session(client_id, client_secret, token_store, login_url)
    log_in(session, login_url=login_url, port=port)
    discovery = ClusterDiscovery(login_url)
    token = session.access_token()
    found = discovery.validate(token)
    click.echo(f"Logged in. Tokens saved to {session.store.where}.")
    click.echo(f"  organisation: {found.get('twf.organisationCode')}")
    click.echo(f"  cluster:      {found.get('twf.clusterUrl')}")
    client = TwinfieldClient.build(session, discovery)
    for office in client.list("offices"):
        click.echo(f"  office {office.text}  {office.get('name', '')}")
