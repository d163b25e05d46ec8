"""Logging in to Exact Online: the authorization-code flow and its rationed token endpoint.

Exact's access tokens live 10 minutes whatever is done with them; Exact refuses a new one within
570 seconds of the last ("Rate limit exceeded: access_token not expired") and more than 200 token
calls a day per app and user. Refresh tokens rotate on every use and only the newest is valid:
reusing one is answered 401 ``unauthorized_client`` "Old refresh token used.", after which only a
new login helps. So a token is renewed at 570 seconds, never before; every refresh happens under
the token store's exclusive file lock (one store per app and user), after re-reading the store,
so two migrations into the same division never burn the refresh token; and a refused refresh
token ends the run with one line saying to log in again. Nothing is lost: the run resumes.
Client credentials travel in the form body. Nothing here prints, logs or raises a secret.
"""

from __future__ import annotations

import os
import webbrowser
from collections.abc import Callable
from pathlib import Path

from migrationkit.http import (
    OAuth2Session,
    TokenSet,
    TokenStore,
    app_credentials,
    default_token_path,
    login,
)

__all__ = [
    "ACCESS_LIFETIME",
    "DAILY_TOKEN_CALLS",
    "LOGIN_HINT",
    "MIN_TOKEN_AGE",
    "authorize_url",
    "log_in",
    "oauth_session",
    "token_url",
]

ACCESS_LIFETIME = 600.0
"""Seconds an Exact access token lives."""
MIN_TOKEN_AGE = 570.0
"""Exact refuses a new access token sooner than this after the last one."""
DAILY_TOKEN_CALLS = 200
"""Token calls Exact allows per app and user a day."""
LOGIN_HINT = "nothing is lost: run `migrationkit auth exact`, then the same command again"
CONNECTOR = "exact"


def token_url(base_url: str) -> str:
    return base_url.rstrip("/") + "/api/oauth2/token"


def authorize_url(base_url: str) -> str:
    return base_url.rstrip("/") + "/api/oauth2/auth"


def oauth_session(
    client_id: str | None,
    client_secret: str | None,
    base_url: str,
    token_store: str | os.PathLike[str] | None = None,
) -> OAuth2Session:
    """The token source for API calls: renewed at 570 s under the store's lock, rationed."""
    found_id, found_secret = app_credentials("Exact Online", "EXACT", client_id, client_secret)
    path = Path(token_store) if token_store else default_token_path(CONNECTOR)
    return OAuth2Session(
        token_url=token_url(base_url),
        client_id=found_id,
        client_secret=found_secret,
        store=TokenStore(path),
        name="Exact Online",
        login_hint=LOGIN_HINT,
        # Renewed at 570 s: the first moment Exact gives a new token, with 30 s of the old
        # one left for the request in flight.
        margin=ACCESS_LIFETIME - MIN_TOKEN_AGE,
        client_auth="body",
        min_token_age=MIN_TOKEN_AGE,
        daily_token_calls=DAILY_TOKEN_CALLS,
        relogin_errors={
            "invalid_grant": "",
            "unauthorized_client": "the stored refresh token was already used (Exact keeps "
            "only the newest: another login, or a process without the shared token store)",
        },
    )


def open_browser(url: str) -> None:
    """Show the login address and try to open it (tests replace this function)."""
    print(f"Open this address to log in to Exact Online:\n{url}", flush=True)
    webbrowser.open(url)


def log_in(
    session: OAuth2Session,
    base_url: str,
    *,
    port: int = 8765,
    show: Callable[[str], None] | None = None,
    timeout: float = 300.0,
) -> TokenSet:
    """Run the authorization-code flow; the tokens land in the session's store.

    Exact's codes live three minutes and serve once: the code is exchanged the moment the
    browser comes back to the local redirect.
    """
    return login(
        session,
        authorize_url=authorize_url(base_url),
        scopes="",
        port=port,
        extra={"force_login": "0"},
        show=show or open_browser,
        timeout=timeout,
    )
