"""Tools for connectors that speak HTTP: a rate-limited, retrying client and OAuth2 with rotating
refresh tokens. Third-party connectors may use them too; the local API sandboxes that fake
these APIs live in :mod:`migrationkit.testing.sandboxes`."""

from .client import (
    DEFAULT_ACTIONS,
    Action,
    ApiClient,
    ConnectionLost,
    StaticToken,
    TokenProvider,
    retry_after,
)
from .oauth import OAuth2Session, TokenSet, TokenStore, app_credentials, default_token_path, login
from .ratelimit import Limits, RateLimiter

__all__ = [
    "DEFAULT_ACTIONS",
    "Action",
    "ApiClient",
    "ConnectionLost",
    "Limits",
    "OAuth2Session",
    "RateLimiter",
    "StaticToken",
    "TokenProvider",
    "TokenSet",
    "TokenStore",
    "app_credentials",
    "default_token_path",
    "login",
    "retry_after",
]
