"""OAuth2 for accounting APIs: a token store, refresh with rotation, and the login flow.

Xero and Sage rotate refresh tokens: each refresh returns a new refresh token and the old one
dies. Two processes refreshing the same token set therefore burn it (the ``invalid_grant``
reports in both SDKs' issue trackers). Here a refresh happens under an exclusive file lock, after
re-reading the store (another process may have refreshed already), and the new tokens replace
the old ones atomically before the lock is released.

Some token endpoints ration themselves: Exact Online refuses a new access token sooner than
570 seconds after the last one and more than 200 token calls a day, and answers a used refresh
token with ``unauthorized_client``. :class:`OAuth2Session` takes those as settings
(``min_token_age``, ``daily_token_calls``, ``relogin_errors``); the store keeps when each token
was issued and how many token calls the day has seen, so every process sharing it counts alike.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import requests

from migrationkit.core.errors import AuthError, ConfigError

__all__ = [
    "OAuth2Session",
    "TokenSet",
    "TokenStore",
    "app_credentials",
    "default_token_path",
    "login",
]


def app_credentials(
    system: str, env_prefix: str, client_id: str | None, client_secret: str | None
) -> tuple[str, str]:
    """An OAuth2 app's client id and secret: from the options, else ``{env_prefix}_CLIENT_ID``
    and ``{env_prefix}_CLIENT_SECRET``; a :class:`ConfigError` naming both ways when missing."""
    found_id = client_id or os.environ.get(f"{env_prefix}_CLIENT_ID")
    found_secret = client_secret or os.environ.get(f"{env_prefix}_CLIENT_SECRET")
    if not found_id or not found_secret:
        raise ConfigError(
            f"{system} needs the app's client_id and client_secret (options, or the "
            f"{env_prefix}_CLIENT_ID and {env_prefix}_CLIENT_SECRET environment variables), or "
            "a fixed access_token"
        )
    return found_id, found_secret


def default_token_path(connector: str) -> Path:
    """``$XDG_CONFIG_HOME/migrationkit/tokens/<connector>.json`` (``~/.config`` by default)."""
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "migrationkit" / "tokens" / f"{connector}.json"


@attrs.frozen
class TokenSet:
    """What the token endpoint answered, with absolute expiry times."""

    access_token: str = attrs.field(repr=False)
    refresh_token: str | None = attrs.field(repr=False, default=None)
    expires_at: float = 0.0
    refresh_expires_at: float | None = None
    extra: Mapping[str, Any] = attrs.field(factory=dict)
    issued_at: float = 0.0
    """When the token endpoint issued this access token (0: unknown)."""
    calls_day: str | None = None
    """The UTC day ``calls`` counts token calls for."""
    calls: int = 0
    """Token calls made that day with this login, by every process sharing the store."""

    @classmethod
    def from_response(cls, data: Mapping[str, Any], now: float) -> TokenSet:
        if "access_token" not in data:
            raise AuthError("the token endpoint answered without an access token")
        refresh_life = data.get("refresh_token_expires_in")
        known = {"access_token", "refresh_token", "expires_in", "refresh_token_expires_in"}
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=data.get("refresh_token"),
            expires_at=now + float(data.get("expires_in", 1800)),
            refresh_expires_at=now + float(refresh_life) if refresh_life else None,
            extra={k: v for k, v in data.items() if k not in known},
            issued_at=now,
        )

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


class TokenStore:
    """One JSON file of tokens, readable only by its owner, replaced atomically."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> TokenSet | None:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise AuthError(
                f"the token store {self.path} is unreadable: {type(exc).__name__}"
            ) from None
        return TokenSet(**data)

    def save(self, tokens: TokenSet) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(tokens.to_json(), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive across processes: only one refresher at a time per token set."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(str(self.path) + ".lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


@attrs.define
class OAuth2Session:
    """Hands out a valid access token, refreshing it shortly before it expires.

    ``client_auth`` is ``"basic"`` (client id and secret in an Authorization header, as Xero
    wants) or ``"body"`` (in the form, as Sage wants). ``min_token_age`` is the least time
    between two token calls the endpoint accepts (an access token is used until it is that old,
    and a refused one younger than that is not refreshed: the endpoint would refuse);
    ``daily_token_calls`` caps the token calls of a UTC day; ``relogin_errors`` maps the OAuth
    errors after which only a new login helps to a reason for the message (``""``: none).
    """

    token_url: str
    client_id: str
    client_secret: str = attrs.field(repr=False)
    store: TokenStore
    name: str = "the API"
    login_hint: str = "log in again"
    margin: float = 120.0
    client_auth: str = "basic"
    session: requests.Session = attrs.field(factory=requests.Session)
    clock: Callable[[], float] = time.time
    refreshes: int = 0
    min_token_age: float = 0.0
    daily_token_calls: int | None = None
    relogin_errors: Mapping[str, str] = attrs.field(factory=lambda: {"invalid_grant": ""})

    def access_token(self) -> str:
        tokens = self.store.load()
        if tokens is None:
            raise AuthError(f"not logged in to {self.name}: {self.login_hint}")
        if tokens.expires_at - self.margin > self.clock():
            return tokens.access_token
        return self._refresh_under_lock(
            lambda current: current.expires_at - self.margin <= self.clock()
        )

    def refresh(self, rejected: str) -> str:
        """Renew after the API refused ``rejected`` (unless another process already did)."""
        return self._refresh_under_lock(
            lambda current: current.access_token == rejected, rejected=True
        )

    def _refresh_under_lock(
        self, needed: Callable[[TokenSet], bool], *, rejected: bool = False
    ) -> str:
        with self.store.locked():
            current = self.store.load()
            if current is None:
                raise AuthError(f"not logged in to {self.name}: {self.login_hint}")
            if not needed(current):
                return current.access_token  # someone else refreshed while we waited
            if not current.refresh_token:
                raise AuthError(
                    f"the {self.name} access token expired and there is no refresh token: "
                    f"{self.login_hint}"
                )
            age = self.clock() - current.issued_at
            if current.issued_at and age < self.min_token_age:
                if not rejected and current.expires_at > self.clock():
                    return current.access_token  # still valid; too young to renew
                raise AuthError(
                    f"{self.name} refused an access token issued {age:.0f} s ago and gives no "
                    f"new one within {self.min_token_age:.0f} s of the last: {self.login_hint}"
                )
            day = dt.datetime.fromtimestamp(self.clock(), dt.UTC).date().isoformat()
            calls = current.calls if current.calls_day == day else 0
            if self.daily_token_calls is not None and calls >= self.daily_token_calls:
                raise AuthError(
                    f"{self.name} allows {self.daily_token_calls} token calls a day and this "
                    "login has made them; nothing is lost: run the same command again after "
                    "midnight UTC"
                )
            fresh = self._exchange(
                {"grant_type": "refresh_token", "refresh_token": current.refresh_token}
            )
            if fresh.refresh_token is None:
                fresh = attrs.evolve(fresh, refresh_token=current.refresh_token)
            self.store.save(attrs.evolve(fresh, calls_day=day, calls=calls + 1))
            self.refreshes += 1
            return fresh.access_token

    def _exchange(self, form: dict[str, str]) -> TokenSet:
        headers = {"Accept": "application/json"}
        if self.client_auth == "basic":
            raw = f"{self.client_id}:{self.client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        else:
            form = {**form, "client_id": self.client_id, "client_secret": self.client_secret}
        try:
            response = self.session.post(self.token_url, data=form, headers=headers, timeout=60)
        except requests.RequestException as exc:
            raise AuthError(
                f"cannot reach the {self.name} token endpoint: {type(exc).__name__}",
                retriable=True,
            ) from None
        if response.status_code != 200:
            # Never echo the body: a token endpoint's answers are secrets or about secrets.
            error = _safe_error(response)
            reason = self.relogin_errors.get(error)
            hint = "" if reason is None else f"{': ' + reason if reason else ''}; {self.login_hint}"
            raise AuthError(
                f"the {self.name} token endpoint refused the request ({response.status_code} "
                f"{error}){hint}",
                status=response.status_code,
            )
        return TokenSet.from_response(response.json(), self.clock())

    def exchange_code(self, code: str, redirect_uri: str, verifier: str | None = None) -> TokenSet:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if verifier:
            form["code_verifier"] = verifier
        tokens = self._exchange(form)
        day = dt.datetime.fromtimestamp(self.clock(), dt.UTC).date().isoformat()
        earlier = self.store.load() if self.store.path.exists() else None
        calls = earlier.calls if earlier is not None and earlier.calls_day == day else 0
        tokens = attrs.evolve(tokens, calls_day=day, calls=calls + 1)
        self.store.save(tokens)
        return tokens


def _safe_error(response: requests.Response) -> str:
    try:
        value = response.json().get("error", "")
    except ValueError:
        return ""
    return value if isinstance(value, str) and value.replace("_", "").isalnum() else ""


def login(
    session: OAuth2Session,
    *,
    authorize_url: str,
    scopes: str,
    port: int = 8765,
    extra: Mapping[str, str] | None = None,
    show: Callable[[str], None] = print,
    timeout: float = 300.0,
) -> TokenSet:
    """The authorization-code flow with a redirect to ``http://localhost:PORT/callback``.

    Shows the URL to open, waits for the redirect, checks ``state``, and exchanges the code at
    once (Sage's codes live 60 seconds). PKCE protects the code in transit.
    """
    redirect_uri = f"http://localhost:{port}/callback"
    state = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    )
    params = {
        "response_type": "code",
        "client_id": session.client_id,
        "redirect_uri": redirect_uri,
        "scope": scopes,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **(extra or {}),
    }
    # The redirect server is only needed here: importing the toolkit must not start or load it.
    import http.server

    class Callback(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            result.update({k: v[0] for k, v in query.items()})
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"<p>migrationkit is logged in. You can close this window.</p>")
            done.set()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    done = threading.Event()
    result: dict[str, str] = {}
    server = http.server.HTTPServer(("127.0.0.1", port), Callback)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        joiner = "&" if urllib.parse.urlsplit(authorize_url).query else "?"
        show(f"{authorize_url}{joiner}{urllib.parse.urlencode(params)}")
        if not done.wait(timeout):
            raise AuthError("no login arrived at the local redirect in time; try again")
    finally:
        server.shutdown()
        server.server_close()
    if result.get("state") != state:
        raise AuthError("the login answer does not match the request (state differs); try again")
    if "error" in result:
        raise AuthError(f"the login was refused: {result['error']}")
    if "code" not in result:
        raise AuthError("the login answer holds no authorization code")
    return session.exchange_code(result["code"], redirect_uri, verifier)
