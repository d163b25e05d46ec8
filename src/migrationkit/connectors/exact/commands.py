"""``migrationkit auth exact``: log in and show the division to use."""

from __future__ import annotations

import click

from .options import DEFAULT_BASE_URL

__all__ = ["auth_command"]


@click.command("exact")
@click.option("--client-id", envvar="EXACT_CLIENT_ID", help="The Exact app's client id.")
@click.option(
    "--client-secret",
    envvar="EXACT_CLIENT_SECRET",
    help="The app's client secret (better: the EXACT_CLIENT_SECRET environment variable).",
)
@click.option(
    "--base-url",
    default=DEFAULT_BASE_URL,
    show_default=True,
    help="Exact Online of your country (https://start.exactonline.be, .de, .co.uk, ...).",
)
@click.option("--port", default=8765, show_default=True, help="Local port Exact redirects to.")
@click.option("--token-store", type=click.Path(dir_okay=False), help="Where the tokens go.")
def auth_command(
    client_id: str | None,
    client_secret: str | None,
    base_url: str,
    port: int,
    token_store: str | None,
) -> None:
    """Log in to Exact Online and show the division the login works in.

    Register http://localhost:PORT/callback as the redirect URI of your Exact app first. The
    code Exact sends back lives three minutes and is exchanged at once; the tokens are stored
    with owner-only permissions, renewed every 570 seconds (never sooner: Exact refuses) under
    a file lock, so that migrations running side by side never burn a refresh token.
    """
    from .auth import log_in, oauth_session
    from .client import ExactClient

    session = oauth_session(client_id, client_secret, base_url, token_store)
    log_in(session, base_url, port=port)
    division = ExactClient.build(base_url, session).current_division()
    click.echo(f"Logged in. Tokens saved to {session.store.where}.")
    click.echo(f"Current division: {division}. Use it as: exact:{division}")
