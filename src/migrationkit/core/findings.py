"""Validation findings: what a validator reports about a source, in a bookkeeper's words."""

from __future__ import annotations

import enum
from typing import Any

import attrs

__all__ = ["Finding", "Severity"]


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@attrs.frozen(kw_only=True)
class Finding:
    """One problem found in a source.

    ``code`` is stable (tests and scripts match on it), ``pointer`` is a JSON Pointer (RFC 6901)
    or a ``file:row:column`` location, and ``message`` says what is wrong in terms a bookkeeper
    recognises.
    """

    code: str
    severity: Severity = Severity.ERROR
    message: str
    pointer: str = ""
    header_number: int | None = None
    details: dict[str, Any] = attrs.field(factory=dict)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape written to ``validation.json``."""
        data: dict[str, Any] = {
            "code": self.code,
            "severity": str(self.severity),
            "pointer": self.pointer,
            "message": self.message,
        }
        if self.header_number is not None:
            data["header_number"] = self.header_number
        if self.details:
            data["details"] = self.details
        return data
