"""The options of the ``csv`` connector, checked when it opens."""

from __future__ import annotations

import attrs
from attrs.validators import in_

__all__ = ["DATE_FORMATS", "CsvOptions"]

DATE_FORMATS = {
    "iso": ("%Y-%m-%d",),
    "uk": ("%Y-%m-%d", "%d/%m/%Y"),
    "us": ("%Y-%m-%d", "%m/%d/%Y"),
}
"""The date styles a CSV may be read in, and the formats each accepts."""


@attrs.frozen(kw_only=True)
class CsvOptions:
    """The ``csv`` connector's options (a config file's ``[source]`` or ``[target]`` table)."""

    location: str | None = attrs.field(default=None, metadata={"help": "the folder"})
    path: str | None = attrs.field(default=None, metadata={"help": "the folder (same as LOCATION)"})
    delimiter: str = attrs.field(
        default="auto",
        validator=in_(("auto", ",", ";")),
        metadata={"help": "auto (default), ',' or ';' (reading; ';' also for writing)"},
    )
    decimal: str = attrs.field(
        default="auto",
        validator=in_(("auto", ".", ",")),
        metadata={"help": "auto (default: ',' with ';' delimiters), '.' or ',' when reading"},
    )
    dates: str = attrs.field(
        default="iso",
        validator=in_(tuple(DATE_FORMATS)),
        metadata={
            "help": "iso (default), uk (also DD/MM/YYYY) or us (also MM/DD/YYYY) when reading"
        },
    )
    bom: bool = attrs.field(
        default=False, metadata={"help": "write a UTF-8 byte-order mark, for Excel"}
    )
