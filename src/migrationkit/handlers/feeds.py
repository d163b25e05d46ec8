"""Asking a source's change feed for what changed since the last run, without losing the edge.

The engine's ``since`` is the moment the last successful run started, by this machine's clock.
A change the source stamped a little earlier, by its own clock, may still have been missed by
that run: the two clocks differ, and a record written in the same second as the run started may
have been read just before it changed. A change feed is therefore asked from
:data:`CLOCK_MARGIN` earlier than ``since``. What comes back twice is harmless: its
fingerprint equals what was last written, so the engine counts it unchanged and sends nothing.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["CLOCK_MARGIN", "reach_back"]

CLOCK_MARGIN = dt.timedelta(minutes=10)
"""How much earlier than ``since`` a change feed is asked: the clocks of two machines differ."""


def reach_back(since: dt.datetime) -> dt.datetime:
    """``since`` in UTC, :data:`CLOCK_MARGIN` earlier (a moment without zone is taken as UTC)."""
    moment = since if since.tzinfo else since.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC) - CLOCK_MARGIN
