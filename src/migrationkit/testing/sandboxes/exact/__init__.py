"""A local Exact Online: the ``exact`` connector's sandbox (``migrationkit sandbox exact``)."""
