"""The ``exact`` connector: Exact Online's REST API, one division (source and target).

Modules: ``plugin`` registers the connector (capabilities derived from ``entities``, the entity
table) and ``migrationkit auth exact`` (``commands``, ``auth``); ``options`` holds its options
class; ``client`` speaks the API over the shared HTTP toolkit (OData paging, Exact's limits and
error budget); ``wire`` holds Exact's value formats; ``division`` keeps the chosen division;
``sync`` reads Exact's change feed (``sync/`` timestamps, the deleted log); ``mapping`` turns
canonical records into payloads and back; ``masters``, ``documents``, ``bank`` and ``journals``
hold the handlers, one per entity (``base`` what they share); ``connector`` wires them to the
hooks. Its sandbox lives in :mod:`migrationkit.testing.sandboxes.exact`.
"""
