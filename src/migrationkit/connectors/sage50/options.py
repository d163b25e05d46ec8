"""The options of the ``sage50-json`` connector, checked when it opens."""

from __future__ import annotations

import attrs

__all__ = ["Sage50Options"]


@attrs.frozen(kw_only=True)
class Sage50Options:
    """The ``sage50-json`` connector's options."""

    location: str | None = attrs.field(default=None, metadata={"help": "the export file"})
    path: str | None = attrs.field(
        default=None, metadata={"help": "path of the export file (same as LOCATION)"}
    )
    parallel: bool = attrs.field(
        default=True,
        metadata={"help": "index a large file's audit trail in a second process while loading"},
    )
