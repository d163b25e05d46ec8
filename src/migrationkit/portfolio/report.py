"""The whole portfolio on one HTML page: every client, its status, and links to its reports."""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import jinja2

from migrationkit.core.files import private_dir, write_private

from .model import Client, ClientStatus, now

__all__ = ["write_portfolio_report"]


@functools.cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("migrationkit.portfolio", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )


def _links(client: Client, folder: Path) -> list[tuple[str, str]]:
    """The client's run report, its reconciliation and its error file, relative to ``folder``."""
    found: list[tuple[str, str]] = []
    candidates: list[tuple[str, str | None]] = [("run report", client.report)]
    if client.report:
        found_dir = Path(client.report).parent
        candidates.append(("reconciliation", str(found_dir / "reconciliation.html")))
    candidates.append(("error file", client.error_file))
    for label, path in candidates:
        if path and Path(path).exists():
            found.append((label, Path(os.path.relpath(path, folder)).as_posix()))
    return found


def write_portfolio_report(clients: Sequence[Client], path: Path) -> Path:
    """Write the page for ``clients`` to ``path``; the path."""
    private_dir(path.parent)
    counts = Counter(c.status for c in clients)
    html = (
        _templates()
        .get_template("portfolio.html.j2")
        .render(
            clients=clients,
            counts=[(str(s), counts[s]) for s in ClientStatus if counts[s]],
            links={c.name: _links(c, path.parent) for c in clients},
            written=now(),
        )
    )
    return write_private(path, html)
