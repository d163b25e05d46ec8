"""MkDocs hook: the sage50-json validator's rule table, generated from its rule registry.

A page writes ``<!-- sage50-rules -->`` where the table goes.  Each registered rule becomes one
row (code, severity, what it means, and a link to the section of the format description that
explains it), so the table cannot drift from what the validator reports.  A rule whose section
has no heading in the format page fails the build.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from markdown.extensions.toc import slugify

from migrationkit.connectors.sage50.validation import RULES

MARKER = "<!-- sage50-rules -->"
FORMAT_PAGE = "formats/sage50-json.md"
_HEADING = re.compile(r"^#{2,4} ((\d+(?:\.\d+)*)\.? .+?)\s*$", re.MULTILINE)


def anchors(format_page: str) -> dict[str, str]:
    """Section number -> heading anchor of the format description (as the toc extension makes it)."""
    return {number: slugify(title, "-") for title, number in _HEADING.findall(format_page)}


def table(format_page: str, link: str = f"../{FORMAT_PAGE}") -> str:
    """The rule table in Markdown, one row per registered rule, in the registry's order."""
    sections = anchors(format_page)
    rows = ["| Code | Severity | What it means | Format |", "|---|---|---|---|"]
    for rule in RULES.values():
        if rule.section not in sections:
            raise ValueError(f"rule {rule.code} cites §{rule.section}, which {FORMAT_PAGE} lacks")
        where = f"[§{rule.section}]({link}#{sections[rule.section]})"
        summary = rule.summary.replace("|", "\\|")
        rows.append(f"| `{rule.code}` | {rule.severity} | {summary} | {where} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, config: Any, **_: Any) -> str:
    if MARKER not in markdown:
        return markdown
    format_page = (Path(config["docs_dir"]) / FORMAT_PAGE).read_text("utf-8")
    return markdown.replace(MARKER, table(format_page))
