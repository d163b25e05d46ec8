"""The ``sage-accounting`` connector: Sage Business Cloud Accounting, API v3.1 (source and target).

Modules: ``plugin`` registers the connector (capabilities derived from ``entities``, the entity
table) and its login command; ``options`` holds its options class; ``client`` speaks the API
over the shared HTTP toolkit; ``auth`` logs in and lists businesses; ``business`` caches the
chosen business; ``mapping`` turns canonical records into Sage payloads and back; ``taxes`` holds
the UK tax-code map; ``resources`` (master data) and ``documents`` (what posts) hold the
handlers, one per entity; ``connector`` wires them to the hooks. Its sandbox lives in
:mod:`migrationkit.testing.sandboxes.sage_accounting`.
"""
