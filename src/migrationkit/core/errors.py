"""Every error migrationkit raises, in one tree.

::

    MigrationKitError
    ├── ConfigError ................ a bad connector spec, option or config file
    │   └── UnknownConnectorError .. no installed connector has that name
    ├── SourceError ................ the source cannot be read at all
    ├── CapabilityError ............ the connector cannot do what was asked (refused up front)
    ├── MappingError ............... a record cannot be expressed in the target's terms
    ├── StateError ................. the state store is unusable or belongs to something else
    ├── RemoteAPIError ............. a target or source API answered with an error
    │   ├── AuthError .............. credentials missing, expired or refused
    │   └── RateLimitError ......... the API asked us to slow down
    │       └── DailyLimitReached .. the day's allowance is spent; resume later
    └── Interrupted ................ the run was stopped (Ctrl-C); it can be resumed

Each message is one line a user can act on. Secrets never appear in messages.
"""

from __future__ import annotations

import datetime as dt

__all__ = [
    "AuthError",
    "CapabilityError",
    "ConfigError",
    "DailyLimitReached",
    "Interrupted",
    "MappingError",
    "MigrationKitError",
    "RateLimitError",
    "RemoteAPIError",
    "SourceError",
    "StateError",
    "UnknownConnectorError",
]


class MigrationKitError(Exception):
    """Base of all migrationkit errors."""


class ConfigError(MigrationKitError):
    """A connector spec, option or config file is wrong."""


class UnknownConnectorError(ConfigError):
    """No installed connector has the requested name."""


class SourceError(MigrationKitError):
    """The source cannot be read (missing file, unreadable format)."""


class CapabilityError(MigrationKitError):
    """The connector does not support what was asked of it."""


class MappingError(MigrationKitError):
    """A record cannot be expressed in the other system's terms."""


class StateError(MigrationKitError):
    """The state store cannot be used."""


class RemoteAPIError(MigrationKitError):
    """An API answered with an error that retrying will not fix."""

    def __init__(self, message: str, *, status: int | None = None, body: str | None = None):
        super().__init__(message)
        self.status = status
        self.body = body


class AuthError(RemoteAPIError):
    """Credentials are missing, expired or refused."""


class RateLimitError(RemoteAPIError):
    """The API refused the call for exceeding a rate limit."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object):
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class DailyLimitReached(RateLimitError):
    """The day's allowance of calls is spent; the run stops cleanly and resumes later."""

    def __init__(self, message: str, *, resume_at: dt.datetime | None = None, **kwargs: object):
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.resume_at = resume_at


class Interrupted(MigrationKitError):
    """The run was interrupted by the user; running the same command again resumes it."""
