"""A stateful emulator of the Xero Accounting API (``migrationkit sandbox xero``)."""
