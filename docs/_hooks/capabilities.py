"""MkDocs hook: a connector page's capability matrix, generated from what the connector declares.

A page writes ``<!-- capabilities: NAME -->`` where the table goes; the table is built from the
installed connector's ``ConnectorInfo`` at build time, so the docs cannot drift from the code.
"""

from __future__ import annotations

import re
from typing import Any

from migrationkit import PluginRegistry

MARKER = re.compile(r"<!-- capabilities: ([\w-]+) -->")
_REGISTRY: PluginRegistry | None = None


def _flag(value: bool) -> str:
    return "✓" if value else "·"


def table(name: str) -> str:
    global _REGISTRY
    _REGISTRY = _REGISTRY or PluginRegistry()
    info = _REGISTRY.info(name)
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
    return MARKER.sub(lambda m: table(m.group(1)), markdown)
