"""A practice's portfolio: many client companies, each with its status, migrated by workers.

See ``docs/portfolio.md`` for the model, the statuses and running workers on several machines.
"""

from __future__ import annotations

from .model import MODES, Client, ClientStatus, Paying, PortfolioError
from .store import Event

__all__ = [
    "MODES",
    "Client",
    "ClientStatus",
    "Event",
    "Paying",
    "PortfolioError",
]
