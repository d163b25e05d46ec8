"""The ``twinfield`` connector: Twinfield (Wolters Kluwer) XML web services (source and target).

Modules: ``plugin`` registers the connector (capabilities derived from ``entities``, the entity
table) and its login command; ``options`` holds its options class; ``auth`` logs in at
login.twinfield.com and discovers the organisation's cluster; ``xml`` builds and reads the SOAP
envelope and Twinfield's XML (lxml); ``wire`` holds Twinfield's value formats; ``client``
speaks ProcessXml over the shared HTTP toolkit (credits, one call in flight, 25 children a
document); ``office`` caches what the administration already holds; ``mapping`` turns
canonical records into Twinfield XML and back; ``masters`` (dimensions, VAT codes, articles)
and ``transactions``, ``documents`` and ``bank`` (what posts) hold the handlers, one per
entity; ``readback`` reads transactions back through browse data; ``connector`` wires them to
the hooks. Its sandbox lives in :mod:`migrationkit.testing.sandboxes.twinfield`.
"""
