"""The ``sage-accounting`` connector: Sage Business Cloud Accounting, API v3.1 (source and target).

Modules: ``plugin`` registers the connector and its commands; ``client`` speaks the API over the
shared HTTP toolkit; ``mapping`` turns canonical records into Sage payloads and back; ``taxes``
holds the UK tax-code map; ``resources`` does the per-entity work; ``connector`` implements the
hooks; ``sandbox`` is the local emulator the tests use; ``auth`` logs in and picks the business.
"""
