"""``migrationkit auth xero``: log in with the authorization-code flow and list the tenants.

The browser goes to Xero's login, Xero redirects to ``http://localhost:PORT/callback`` with a
code, and the code is exchanged at once for an access token (30 minutes) and a refresh token
(rotated at every refresh), stored in the token store readable only by its owner. Then the
organisations the login may use are listed with their tenant ids, for ``xero:TENANT_ID``.
"""

from __future__ import annotations

import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import requests

from migrationkit.core.errors import AuthError
from migrationkit.http import OAuth2Session, TokenStore, default_token_path, login

from . import wire
from .client import XERO_AUTHORIZE_URL, XERO_CONNECTIONS_URL, XERO_TOKEN_URL

__all__ = ["SCOPES", "auth_command", "log_in"]

SCOPES = (
    "openid profile email offline_access accounting.transactions accounting.contacts "
    "accounting.settings accounting.journals.read"
)
"""What a migration needs; ``offline_access`` is what brings a refresh token."""


def log_in(
    *,
    client_id: str,
    client_secret: str,
    token_store: Path,
    port: int = 8765,
    authorize_url: str = XERO_AUTHORIZE_URL,
    token_url: str = XERO_TOKEN_URL,
    connections_url: str = XERO_CONNECTIONS_URL,
    scopes: str = SCOPES,
    show: Callable[[str], None] = print,
    timeout: float = 300.0,
) -> list[dict[str, Any]]:
    """Log in, store the tokens, and return the connected tenants (``tenantId``, ``tenantName``)."""
    session = OAuth2Session(
        token_url=token_url,
        client_id=client_id,
        client_secret=client_secret,
        store=TokenStore(token_store),
        name="Xero",
        login_hint="run `migrationkit auth xero` again",
    )
    tokens = login(
        session, authorize_url=authorize_url, scopes=scopes, port=port, show=show, timeout=timeout
    )
    try:
        response = requests.get(
            connections_url,
            headers={
                "Authorization": f"Bearer {tokens.access_token}",
                "Accept": "application/json",
            },
            timeout=60,
        )
    except requests.RequestException as exc:
        raise AuthError(
            f"logged in, but the Xero connections could not be read: {type(exc).__name__}"
        ) from None
    if response.status_code != 200:
        raise AuthError(
            f"logged in, but Xero answered {response.status_code} when listing the connections"
        )
    connections = wire.loads(response.content)
    return [c for c in connections if c.get("tenantType", "ORGANISATION") == "ORGANISATION"]


@click.command("xero")
@click.option("--client-id", envvar="XERO_CLIENT_ID", required=True, help="OAuth2 client id.")
@click.option(
    "--client-secret",
    envvar="XERO_CLIENT_SECRET",
    required=True,
    help="OAuth2 client secret (better: the XERO_CLIENT_SECRET environment variable).",
)
@click.option("--token-store", type=click.Path(dir_okay=False), help="Where to keep the tokens.")
@click.option("--port", type=int, default=8765, show_default=True, help="Local redirect port.")
@click.option("--authorize-url", default=XERO_AUTHORIZE_URL, show_default=True)
@click.option("--token-url", default=XERO_TOKEN_URL, show_default=True)
@click.option("--connections-url", default=XERO_CONNECTIONS_URL, show_default=True)
@click.option("--browser/--no-browser", default=True, help="Open the login page in a browser.")
def auth_command(
    client_id: str,
    client_secret: str,
    token_store: str | None,
    port: int,
    authorize_url: str,
    token_url: str,
    connections_url: str,
    browser: bool,
) -> None:
    """Log in to Xero and list the organisations (tenant ids) the login can migrate."""
    store = Path(token_store) if token_store else default_token_path("xero")
    redirect = f"http://localhost:{port}/callback"
    click.echo(f"Register {redirect} as a redirect URI of your Xero app, then open:")

    def show(url: str) -> None:
        click.echo(url)
        if browser:
            webbrowser.open(url)

    tenants = log_in(
        client_id=client_id,
        client_secret=client_secret,
        token_store=store,
        port=port,
        authorize_url=authorize_url,
        token_url=token_url,
        connections_url=connections_url,
        show=show,
    )
    click.echo(f"Logged in; tokens saved to {TokenStore(store).where}")
    if not tenants:
        click.echo("No organisation is connected to this login.")
    for tenant in tenants:
        click.echo(f"  xero:{tenant['tenantId']}  {tenant.get('tenantName', '')}")
