"""Logging in to Sage Accounting and choosing the business.

Sage uses the OAuth2 authorization-code flow only. Its codes live 60 seconds, so the code is
exchanged the moment the browser comes back to the local redirect. Access tokens live 5
minutes and are refreshed shortly before they expire; refresh tokens live 31 days and rotate
on every use, so the token store is rewritten atomically under a lock (the toolkit's
:class:`~migrationkit.http.TokenStore`). Client credentials go in the form body, as Sage wants.
Nothing here prints, logs or raises a secret.
"""

from __future__ import annotations

import os
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Any

from migrationkit.http import (
    OAuth2Session,
    TokenSet,
    TokenStore,
    app_credentials,
    default_token_path,
    login,
)

from .client import DEFAULT_BASE_URL, SageClient
from .options import TOKEN_URL

__all__ = [
    "AUTHORIZE_URL",
    "LOGIN_HINT",
    "TOKEN_URL",
    "credentials",
    "log_in",
    "oauth_session",
]

AUTHORIZE_URL = "https://www.sageone.com/oauth2/auth/central"
"""Sage's authorize endpoint; ``filter=apiv3.1`` is added as a query parameter."""
LOGIN_HINT = "run `migrationkit auth sage-accounting`"
SCOPE = "full_access"
CONNECTOR = "sage-accounting"


def credentials(client_id: str | None, client_secret: str | None) -> tuple[str, str]:
    """The app's client id and secret, from the options or ``SAGE_CLIENT_ID``/``_SECRET``."""
    return app_credentials("Sage Accounting", "SAGE", client_id, client_secret)


def oauth_session(
    client_id: str | None,
    client_secret: str | None,
    token_store: str | os.PathLike[str] | None = None,
    token_url: str = TOKEN_URL,
) -> OAuth2Session:
    """The token source for API calls: refresh ahead of expiry, rotation under a lock."""
    found_id, found_secret = credentials(client_id, client_secret)
    path = Path(token_store) if token_store else default_token_path(CONNECTOR)
    return OAuth2Session(
        token_url=token_url,
        client_id=found_id,
        client_secret=found_secret,
        store=TokenStore(path),
        name="Sage Accounting",
        login_hint=LOGIN_HINT,
        # Access tokens live 300 s: renew with a minute to spare, so a request never carries a
        # token that dies on the way.
        margin=60.0,
        client_auth="body",
    )


def open_browser(url: str) -> None:
    """Show the login address and try to open it (tests replace this function)."""
    print(f"Open this address to log in to Sage Accounting:\n{url}", flush=True)
    webbrowser.open(url)


def log_in(
    session: OAuth2Session,
    *,
    authorize_url: str = AUTHORIZE_URL,
    port: int = 8765,
    country: str | None = None,
    show: Callable[[str], None] | None = None,
    timeout: float = 300.0,
) -> TokenSet:
    """Run the authorization-code flow; the tokens land in the session's store."""
    # login() appends its own query, so Sage's fixed filter travels as a parameter too.
    extra = {"filter": "apiv3.1"}
    if country:
        extra["country"] = country.lower()
    return login(
        session,
        authorize_url=authorize_url,
        scopes=SCOPE,
        port=port,
        extra=extra,
        show=show or open_browser,
        timeout=timeout,
    )


def list_businesses(
    session: OAuth2Session, base_url: str = DEFAULT_BASE_URL
) -> list[dict[str, Any]]:
    """The businesses the logged-in user can open (``GET /businesses``)."""
    client = SageClient.build(base_url, session)
    return client.businesses()
