"""Every error migrationkit raises, in one tree, each saying whether retrying can help.

::

    MigrationKitError ................................. retriable?
    ├── ConfigError ................ a bad connector spec, option or config file ..... no
    │   └── UnknownConnectorError .. no installed connector has that name ............ no
    ├── SourceError ................ the source cannot be read at all ................ no
    ├── CapabilityError ............ the connector cannot do what was asked .......... no
    ├── MappingError ............... a record cannot be expressed in the target's terms  no
    ├── StateError ................. the state store is unusable or someone else's ... no
    ├── RemoteAPIError ............. an API answered with an error ........ by its status
    │   ├── AuthError .............. credentials missing, expired or refused . by status
    │   ├── ConnectionLost ......... the connection broke after sending (http) ...... yes
    │   └── RateLimitError ......... the API asked us to slow down .................. yes
    │       └── DailyLimitReached .. the day's allowance is spent ....... yes, at resume_at
    └── Interrupted ................ the run was stopped (Ctrl-C) ..................... yes

``retriable`` is the axis the HTTP client, the engine's report and the command line read: true
when the same call or run, tried again, can succeed with nothing changed (429, 5xx but 501, 408,
timeouts, dropped connections, rate and daily limits, an interrupted run), false when something
must be fixed first (validation refused, not found, forbidden, credentials refused, config and
capability errors). Each class has a default; an instance may say otherwise
(``RemoteAPIError(..., retriable=True)``); a :class:`RemoteAPIError` with a ``status`` and no
word on it takes the status's (:func:`transient_status`). ``resume_at`` says *when* retrying
can help, if not at once. Whether a *request* may be resent is a further question, of
idempotency: a :class:`ConnectionLost` is retriable (resuming looks the record up), but the
client never resends that request blindly.

Each message is one line a user can act on. Secrets never appear in messages.
"""

from __future__ import annotations

import datetime as dt

__all__ = [
    "AuthError",
    "CapabilityError",
    "ConfigError",
    "ConnectionLost",
    "DailyLimitReached",
    "Interrupted",
    "MappingError",
    "MigrationKitError",
    "RateLimitError",
    "RemoteAPIError",
    "SourceError",
    "StateError",
    "UnknownConnectorError",
    "is_retriable",
    "transient_status",
]


def is_retriable(error: BaseException) -> bool:
    """The axis of any exception: ours say; Ctrl-C is (running again resumes); anything else
    (a bug, the machine's trouble) is not, since it must be fixed first."""
    if isinstance(error, KeyboardInterrupt):
        return True
    return error.retriable if isinstance(error, MigrationKitError) else False


def transient_status(status: int) -> bool:
    """Whether an HTTP status means "try again" (408, 429, 5xx) rather than "fix something".

    501 Not Implemented is the exception among the 5xx: the server will not do it.
    """
    return status in (408, 429) or (500 <= status <= 599 and status != 501)


class MigrationKitError(Exception):
    """Base of all migrationkit errors."""

    retriable: bool = False
    """Whether trying the same thing again, unchanged, can succeed (see the module docstring)."""
    resume_at: dt.datetime | None = None
    """When retrying can help, if not at once (a daily limit's end)."""

    def __init__(self, *args: object, retriable: bool | None = None) -> None:
        super().__init__(*args)
        if retriable is not None:
            self.retriable = retriable


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
    """An API answered with an error, or could not be reached.

    Retriable as its ``status`` says (:func:`transient_status`) unless told otherwise; without
    a status, not retriable unless told so.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: str | None = None,
        retriable: bool | None = None,
    ) -> None:
        if retriable is None and status is not None:
            retriable = transient_status(status)
        super().__init__(message, retriable=retriable)
        self.status = status
        self.body = body


class AuthError(RemoteAPIError):
    """Credentials are missing, expired or refused (retriable only for a transient status)."""


class ConnectionLost(RemoteAPIError):
    """The connection broke after the request was sent: the server may have acted on it.

    Retriable, but not by sending the same request blindly: the caller (or a resumed run) looks
    the record up before sending it again. Raised by :class:`migrationkit.http.ApiClient` for
    requests that are not safe to repeat (a create without an idempotency key).
    """

    retriable = True


class RateLimitError(RemoteAPIError):
    """The API refused the call for exceeding a rate limit."""

    retriable = True

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

    retriable = True
