"""A practice's portfolio: many client companies, each with its status, migrated by workers.

Import what you need from here::

    from migrationkit.portfolio import Portfolio

    with Portfolio("practice/") as portfolio:
        portfolio.add("Acme Ltd", source="sage50-json:acme.json", target="csv:out/acme")
        portfolio.run("full", portfolio.select(every=True))
        for client in portfolio.list():
            print(client.name, client.status)

See ``docs/portfolio.md`` for the model, the statuses and running workers on several machines.
"""

from __future__ import annotations

from .api import Portfolio
from .model import MODES, Client, ClientStatus, Paying, PortfolioError
from .place import PortfolioSettings
from .store import Event

__all__ = [
    "MODES",
    "Client",
    "ClientStatus",
    "Event",
    "Paying",
    "Portfolio",
    "PortfolioError",
    "PortfolioSettings",
]
