"""The one shape of an API connector: an entity table, one handler per entity, shared hooks.

See ``docs/contributing/connectors.md`` for the layout a connector folder follows. In short:
``entities.py`` holds the connector's :class:`EntityTable` (the plugin derives its capability
flags from it), one module per family of entities holds the :class:`Handler` subclasses, and
the connector class subclasses :class:`HandlerConnector`.
"""

from .base import (
    BatchHandler,
    Handler,
    MissingReference,
    Prepared,
    matched,
    may_have_landed,
    not_offered,
)
from .connector import HandlerConnector
from .entities import Entity, EntityTable, Update

__all__ = [
    "BatchHandler",
    "Entity",
    "EntityTable",
    "Handler",
    "HandlerConnector",
    "MissingReference",
    "Prepared",
    "Update",
    "matched",
    "may_have_landed",
    "not_offered",
]
