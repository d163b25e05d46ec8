"""A stateful emulator of the Sage Accounting v3.1 API.

Run it with ``migrationkit sandbox sage-accounting``.
"""
