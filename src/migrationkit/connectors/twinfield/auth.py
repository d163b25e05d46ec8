"""Logging in to Twinfield and finding the organisation's cluster.

Twinfield logs in through OpenID Connect at login.twinfield.com (authorization code; scopes
``openid twf.user twf.organisation twf.organisationUser offline_access``, a ``nonce`` on the
authorize call). Access tokens live an hour; the refresh token lives for years and is not
rotated, but it is still renewed under the toolkit's file lock so two runs never race. Which
cluster serves the organisation is read from the token's validation
(``/connect/accesstokenvalidation?token=…`` answers ``twf.clusterUrl``), cached per token.
Nothing here prints, logs or raises a secret.
"""

from __future__ import annotations

import os
import secrets
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from migrationkit.core.errors import AuthError
from migrationkit.http import (
    OAuth2Session,
    TokenSet,
    TokenStore,
    app_credentials,
    default_token_path,
    login,
)

from .options import LOGIN_URL

__all__ = [
    "LOGIN_HINT",
    "SCOPES",
    "ClusterDiscovery",
    "credentials",
    "log_in",
    "oauth_session",
]

LOGIN_HINT = "run `migrationkit auth twinfield`"
SCOPES = "openid twf.user twf.organisation twf.organisationUser offline_access"
CONNECTOR = "twinfield"
AUTHORIZE_PATH = "/connect/authorize"
TOKEN_PATH = "/connect/token"
VALIDATION_PATH = "/connect/accesstokenvalidation"


def credentials(client_id: str | None, client_secret: str | None) -> tuple[str, str]:
    """The app's client id and secret, from the options or ``TWINFIELD_CLIENT_ID``/``_SECRET``."""
    return app_credentials("Twinfield", "TWINFIELD", client_id, client_secret)


def oauth_session(
    client_id: str | None,
    client_secret: str | None,
    token_store: str | os.PathLike[str] | None = None,
    login_url: str = LOGIN_URL,
) -> OAuth2Session:
    """The token source for API calls: renewed ahead of expiry, under a lock."""
    found_id, found_secret = credentials(client_id, client_secret)
    path = Path(token_store) if token_store else default_token_path(CONNECTOR)
    return OAuth2Session(
        token_url=login_url.rstrip("/") + TOKEN_PATH,
        client_id=found_id,
        client_secret=found_secret,
        store=TokenStore(path),
        name="Twinfield",
        login_hint=LOGIN_HINT,
        # Access tokens live 3,600 s: renew two minutes early so none dies on the way.
        margin=120.0,
        client_auth="basic",
    )


class ClusterDiscovery:
    """The organisation's cluster URL for a token, asked once per token.

    A fixed ``cluster_url`` option short-cuts the question (the sandbox prints its own).
    """

    def __init__(
        self,
        login_url: str = LOGIN_URL,
        cluster_url: str | None = None,
        session: requests.Session | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.login_url = login_url.rstrip("/")
        self.fixed = cluster_url.rstrip("/") if cluster_url else None
        self.session = session or requests.Session()
        self.timeout = timeout
        self._by_token: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.asked = 0

    def __call__(self, token: str) -> str:
        if self.fixed:
            return self.fixed
        return str(self.validate(token)["twf.clusterUrl"]).rstrip("/")

    def validate(self, token: str) -> dict[str, Any]:
        """What Twinfield says about a token (cluster, organisation, expiry), cached."""
        with self._lock:
            known = self._by_token.get(token)
        if known is not None:
            return known
        try:
            response = self.session.get(
                self.login_url + VALIDATION_PATH, params={"token": token}, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise AuthError(
                f"cannot reach Twinfield's token validation: {type(exc).__name__}"
            ) from None
        self.asked += 1
        if response.status_code != 200:
            raise AuthError(
                f"Twinfield did not accept the access token ({response.status_code}); {LOGIN_HINT}",
                status=response.status_code,
            )
        data = response.json()
        if not isinstance(data, dict) or "twf.clusterUrl" not in data:
            raise AuthError("Twinfield's token validation named no cluster (twf.clusterUrl)")
        with self._lock:
            self._by_token[token] = data
        return data


def open_browser(url: str) -> None:
    """Show the login address and try to open it (tests replace this function)."""
    print(f"Open this address to log in to Twinfield:\n{url}", flush=True)
    webbrowser.open(url)


def log_in(
    session: OAuth2Session,
    *,
    login_url: str = LOGIN_URL,
    port: int = 8765,
    show: Callable[[str], None] | None = None,
    timeout: float = 300.0,
) -> TokenSet:
    """Run the authorization-code flow; the tokens land in the session's store."""
    return login(
        session,
        authorize_url=login_url.rstrip("/") + AUTHORIZE_PATH,
        scopes=SCOPES,
        port=port,
        # OpenID Connect wants a nonce on the authorize call; Twinfield refuses one without.
        extra={"nonce": secrets.token_urlsafe(16)},
        show=show or open_browser,
        timeout=timeout,
    )
