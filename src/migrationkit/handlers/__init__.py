"""The one shape of an API connector: an entity table, one handler per entity, shared hooks.

See ``docs/contributing/connectors.md`` for the layout a connector folder follows. In short:
``entities.py`` holds the connector's :class:`EntityTable` (the plugin derives its capability
flags from it), one module per family of entities holds the :class:`Handler` subclasses, and
the connector class subclasses :class:`HandlerConnector`. What batching connectors share
(:func:`in_chunks`, :func:`idempotency_key`) and a record that becomes several target records
(:class:`Assembly`) live here too, and so does how far back a change feed is asked
(:func:`reach_back`).
"""

from .base import (
    BatchHandler,
    Handler,
    MissingReference,
    Prepared,
    Unsendable,
    failed_mapping,
    matched,
    may_have_landed,
    not_offered,
)
from .batching import idempotency_key, in_chunks
from .composite import Assembly
from .connector import HandlerConnector
from .entities import Entity, EntityTable, Update
from .feeds import CLOCK_MARGIN, reach_back

__all__ = [
    "CLOCK_MARGIN",
    "Assembly",
    "BatchHandler",
    "Entity",
    "EntityTable",
    "Handler",
    "HandlerConnector",
    "MissingReference",
    "Prepared",
    "Unsendable",
    "Update",
    "failed_mapping",
    "idempotency_key",
    "in_chunks",
    "matched",
    "may_have_landed",
    "not_offered",
    "reach_back",
]
