"""Tools for connectors that speak HTTP: a rate-limited, retrying client; OAuth2 with rotating
refresh tokens; and the base of local API sandboxes. Third-party connectors may use them too."""

from .client import DEFAULT_ACTIONS, Action, ApiClient, ConnectionLost, TokenProvider, retry_after
from .oauth import OAuth2Session, TokenSet, TokenStore, default_token_path, login
from .ratelimit import Limits, RateLimiter
from .sandbox import Fault, Faults, Request, Response, SandboxApp, SandboxServer

__all__ = [
    "DEFAULT_ACTIONS",
    "Action",
    "ApiClient",
    "ConnectionLost",
    "Fault",
    "Faults",
    "Limits",
    "OAuth2Session",
    "RateLimiter",
    "Request",
    "Response",
    "SandboxApp",
    "SandboxServer",
    "TokenProvider",
    "TokenSet",
    "TokenStore",
    "default_token_path",
    "login",
    "retry_after",
]
