"""Keeping secrets out of what migrationkit writes and prints: one redaction filter.

A secret is recognised two ways:

* **by value**: every option a connector's options class marks with the field metadata
  ``secret=True`` (client secrets, fixed access tokens, passwords) is remembered when the
  connector opens (:func:`remember_options`); the token store remembers the access and refresh
  tokens it reads or writes; a program (or the handoff code, for its one-time codes) hands any
  other secret to :func:`remember`.
* **by shape**: an ``Authorization`` value (``Bearer …``, ``Basic …``), a JSON Web Token, the
  password in a URL (``postgresql://user:PASSWORD@host``), an OAuth ``code=`` in a query, and a
  ``key=value`` or ``"key": "value"`` pair whose key names a secret (``access_token``,
  ``refresh_token``, ``client_secret``, ``password``, ``api_key``, ``bundle_code`` …).

:func:`redact` replaces both with ``[redacted]`` in a text; :func:`redact_data` does it in
JSON-ready data (and blanks the values of secret-named keys). :class:`RedactionFilter` is the
same thing as a :class:`logging.Filter` (message, arguments, traceback and stack);
:func:`install_redaction` applies it to every log record of the process, whichever logger or
handler it goes to. The command line installs it; the report writer and the command line's
error lines and ``--debug`` tracebacks go through :func:`redact` too.

Values shorter than :data:`MIN_SECRET_LENGTH` characters are not remembered: they cannot be
told from ordinary data (and are no secret worth the name).
"""

from __future__ import annotations

import html
import json
import logging
import re
import threading
import traceback
import urllib.parse
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = [
    "MIN_SECRET_LENGTH",
    "REDACTED",
    "RedactionFilter",
    "forget_all",
    "install_redaction",
    "is_secret_key",
    "redact",
    "redact_data",
    "remember",
    "remember_options",
    "secret_fields",
]

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 6

_SECRET_KEYS = (
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "password",
    "passwd",
    "api_key",
    "apikey",
    "secret",
    "bundle_code",
    "handoff_code",
)
_KEY_NAMES = "|".join(_SECRET_KEYS)

_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    # "Authorization: Bearer abc…", "Basic dXNlcjpwYXNz": a credential has a digit or one of
    # + / = in it, or is long; "Basic salaries" (an account's name) is left alone.
    (
        re.compile(
            r"(?i)\b(bearer|basic)(\s+)(?:(?=[A-Za-z0-9._~+/=-]*[0-9+/=])[A-Za-z0-9._~+/=-]{8,}"
            r"|[A-Za-z0-9._~+/=-]{20,})"
        ),
        rf"\1\2{REDACTED}",
    ),
    # A JSON Web Token: three base64url parts, the first a JSON object ("eyJ").
    (
        re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
        REDACTED,
    ),
    # scheme://user:PASSWORD@host
    (re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)([^@\s/]+)(@)"), rf"\1{REDACTED}\3"),
    # ?code=… and &code=… (an OAuth authorization code in a redirect)
    (re.compile(r"([?&]code=)([^&#\s]+)"), rf"\1{REDACTED}"),
    # access_token=…, "client_secret": "…", password: …
    (
        re.compile(rf"""(?i)(["']?\b(?:{_KEY_NAMES})["']?\s*[:=]\s*["']?)([^\s"'&,;}}<>]+)"""),
        rf"\1{REDACTED}",
    ),
)


class _Secrets:
    """The values remembered so far, as one compiled pattern (longest first)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str) -> None:
        if len(value) < MIN_SECRET_LENGTH:
            return
        forms = {
            value,
            urllib.parse.quote(value, safe=""),
            urllib.parse.quote_plus(value),
            json.dumps(value)[1:-1],
            html.escape(value),
        }
        with self._lock:
            if forms <= self._values:
                return
            self._values |= forms
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._pattern = None

    def sub(self, text: str) -> str:
        pattern = self._pattern
        return text if pattern is None else pattern.sub(REDACTED, text)


_secrets = _Secrets()


def remember(*values: str | None) -> None:
    """Treat each value as a secret from now on (``None``, empty and short ones are ignored)."""
    for value in values:
        if isinstance(value, str) and value:
            _secrets.add(value)


def forget_all() -> None:
    """Forget every remembered value (tests; shapes are still redacted)."""
    _secrets.clear()


def secret_fields(cls: type) -> list[str]:
    """The names of an attrs options class's fields marked ``metadata={"secret": True}``."""
    if not attrs.has(cls):
        return []
    return [f.name for f in attrs.fields(cls) if f.metadata.get("secret")]


def remember_options(options: object) -> None:
    """Remember the values of every ``secret=True`` field of an options instance."""
    for name in secret_fields(type(options)):
        value = getattr(options, name, None)
        if isinstance(value, str):
            remember(value)
        elif isinstance(value, Mapping):
            remember(*(v for v in value.values() if isinstance(v, str)))


def is_secret_key(key: object) -> bool:
    """Whether a mapping key names a secret (``access_token``, ``client_secret`` …)."""
    if not isinstance(key, str):
        return False
    lowered = key.lower().replace("-", "_")
    return any(lowered == name or lowered.endswith("_" + name) for name in _SECRET_KEYS)


def redact(text: str) -> str:
    """The text with every remembered secret and every secret-shaped value replaced."""
    if not text:
        return text
    text = _secrets.sub(text)
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text


def redact_data(value: Any) -> Any:
    """JSON-ready data with every text redacted and the values of secret-named keys blanked."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if is_secret_key(k) and v not in (None, "") else redact_data(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_data(v) for v in value]
    return value


class RedactionFilter(logging.Filter):
    """A logging filter that redacts a record in place and lets it through.

    The message is formatted with its arguments first (so a secret passed as an argument is
    caught), and a traceback or stack is formatted and redacted too (``exc_info`` is then
    dropped, so no handler formats the unredacted one again).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        scrub(record)
        return True


def scrub(record: logging.LogRecord) -> None:
    """Redact one log record in place (see :class:`RedactionFilter`)."""
    if getattr(record, "_migrationkit_redacted", False):
        return
    try:
        message = record.getMessage()
    except Exception:  # a wrong format string must still be logged, as written
        message = f"{record.msg} {record.args!r}"
    record.msg = redact(message)
    record.args = ()
    if record.exc_info and record.exc_info[0] is not None:
        formatted = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        record.exc_text = redact(formatted)
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    setattr(record, "_migrationkit_redacted", True)  # noqa: B010 - LogRecord has no such field


_install_lock = threading.Lock()
_installed = False


def install_redaction() -> None:
    """Redact every log record the process makes, from any logger (idempotent).

    Done by wrapping the log-record factory, so it holds for loggers and handlers created
    later and for third-party libraries' loggers too. Library users who configure logging
    themselves call this, or add a :class:`RedactionFilter` to their handlers.
    """
    global _installed
    with _install_lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            scrub(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
