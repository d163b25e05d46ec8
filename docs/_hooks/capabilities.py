"""MkDocs hook: a connector page's capability matrix and option table, generated from the code.

A page writes ``<!-- capabilities: NAME -->`` or ``<!-- options: NAME -->`` where the table goes;
the table is built from the installed connector's ``ConnectorInfo`` (its capabilities, and the
fields of its options class with their help and defaults) at build time, so the docs cannot
drift from the code.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from migrationkit import PluginRegistry

MARKER = re.compile(r"<!-- (capabilities|options): ([\w-]+) -->")
_REGISTRY: PluginRegistry | None = None


def _flag(value: bool) -> str:
    return "✓" if value else "·"


def _info(name: str) -> Any:
    global _REGISTRY
    _REGISTRY = _REGISTRY or PluginRegistry()
    return _REGISTRY.info(name)


def options_table(name: str) -> str:
    """One row per option: its name, its default and what it does."""
    rows = ["| Option | Default | What it does |", "|---|---|---|"]
    for field in attrs.fields(_info(name).options):
        if field.metadata.get("hidden"):
            continue
        default = field.metadata.get("default_help")
        if default is None:
            value = field.default
            if isinstance(value, attrs.Factory):  # type: ignore[arg-type]
                value = value.factory()
            default = "—" if value in (None, (), {}) else f"`{_toml(value)}`"
        rows.append(f"| `{field.alias or field.name}` | {default} | {field.metadata['help']} |")
    return "\n".join(rows)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def table(name: str) -> str:
    info = _info(name)
    rows = [
        "| Entity | Extract | Since | Deletions | Create | Update | Remove | Keeps ids | Batch "
        "| Notes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for entity, caps in info.capabilities.items():
        rows.append(
            f"| `{entity}` | {_flag(caps.extract)} | {_flag(caps.modified_since)} | "
            f"{_flag(caps.deletions)} | {_flag(caps.create)} | {_flag(caps.update)} | "
            f"{', '.join(sorted(str(r) for r in caps.removal)) or '·'} | "
            f"{_flag(caps.preserve_ids)} | {caps.batch_size if caps.loads else ''} | "
            f"{caps.notes.replace('|', '/')} |"
        )
    return "\n".join(rows)


def on_page_markdown(markdown: str, **_: Any) -> str:
    return MARKER.sub(
        lambda m: table(m.group(2)) if m.group(1) == "capabilities" else options_table(m.group(2)),
        markdown,
    )
