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
from migrationkit.core.files import private_dir
from migrationkit.core.redaction import remember

__all__ = [
    "KEYRING_ENV",
    "KEYRING_SERVICE",
    "OAuth2Session",
    "TokenSet",
    "TokenStore",
    "app_credentials",
    "default_token_path",
    "keyring_backend",
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
    remember(found_secret)
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


KEYRING_ENV = "MIGRATIONKIT_KEYRING"
"""``off`` keeps tokens in files even where an OS keyring is available (default: ``auto``)."""
KEYRING_SERVICE = "migrationkit"
"""The keyring service name tokens are stored under; the entry's name is the store's path."""


def keyring_backend() -> Any | None:
    """The OS keyring, when ``keyring`` is installed, a real backend is there and not turned off.

    A machine without one (a server, a container: ``keyring``'s fail or null backend) has none;
    tokens then stay in owner-only files.
    """
    if os.environ.get(KEYRING_ENV, "auto").strip().lower() in ("off", "0", "no", "false", "file"):
        return None
    try:
        import keyring
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
        return backend if float(backend.priority) > 0 else None
    except Exception:  # a broken backend is no backend
        return None


class TokenStore:
    """One login's tokens: in the OS keyring where there is one, else in an owner-only file.

    The file (``0600`` in a ``0700`` folder) is replaced atomically. In the keyring the entry is
    named by the store's path (service ``migrationkit``); a token file left from before the
    keyring was there is read once and removed at the next save. ``use_keyring=False`` keeps
    the file whatever the machine has; ``None`` (the default) uses a keyring when available
    and not turned off with ``MIGRATIONKIT_KEYRING=off``. Refreshes are serialised by a lock
    file beside the path either way.
    """

    def __init__(self, path: str | os.PathLike[str], *, use_keyring: bool | None = None) -> None:
        self.path = Path(path)
        self.keyring = None if use_keyring is False else keyring_backend()

    @property
    def entry(self) -> str:
        """The keyring entry's name (the store's absolute path)."""
        return str(self.path.absolute())

    @property
    def where(self) -> str:
        """Where the tokens are, for messages."""
        if self.keyring is not None:
            return (
                f"the OS keyring ({type(self.keyring).__name__}, {KEYRING_SERVICE} / {self.entry})"
            )
        return str(self.path)

    def exists(self) -> bool:
        return self._from_keyring() is not None or self.path.exists()

    def _from_keyring(self) -> str | None:
        if self.keyring is None:
            return None
        try:
            text = self.keyring.get_password(KEYRING_SERVICE, self.entry)
        except Exception as exc:
            if self.path.exists():
                return None  # a locked keyring: the file a refused save left is the login
            raise AuthError(
                f"the OS keyring refused to read the tokens of {self.entry}: {type(exc).__name__}"
            ) from None
        return text if isinstance(text, str) else None

    def load(self) -> TokenSet | None:
        source = self.where
        try:
            text = self._from_keyring()
            if text is None:
                source = str(self.path)
                text = self.path.read_text("utf-8")
            data = json.loads(text)
            tokens = TokenSet(**data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            raise AuthError(
                f"the token store {source} is unreadable: {type(exc).__name__}"
            ) from None
        remember(tokens.access_token, tokens.refresh_token)
        return tokens

    def save(self, tokens: TokenSet) -> None:
        remember(tokens.access_token, tokens.refresh_token)
        text = json.dumps(tokens.to_json())
        if self.keyring is not None:
            try:
                self.keyring.set_password(KEYRING_SERVICE, self.entry, text)
            except Exception:  # the keyring went away: the file still keeps the login
                pass
            else:
                self.path.unlink(missing_ok=True)
                return
        private_dir(self.path.parent)
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive across processes: only one refresher at a time per token set."""
        private_dir(self.path.parent)
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
        earlier = self.store.load() if self.store.exists() else None
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
