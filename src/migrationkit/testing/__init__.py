"""Testing a connector: the conformance suites, canned datasets and fakes for HTTP APIs.

A connector author switches the suites on in a few lines (see the tutorial)::

    from migrationkit.testing import TargetSuite

    class TestMyConnector(TargetSuite):
        connector = "myconnector"

        @pytest.fixture
        def target_options(self, tmp_path):
            return {"location": str(tmp_path / "out")}

The fixtures of :mod:`migrationkit.testing.plugin` are available in every pytest run once
migrationkit is installed. To fake an HTTP API, subclass :class:`SandboxApp` and serve it with
:class:`SandboxServer`; :class:`Faults` injects 429s, 5xx, expired tokens and dropped connections.
"""

from . import datasets
from .memory import MemorySource, memory_source
from .sandboxes.server import (
    Fault,
    Faults,
    Request,
    Response,
    SandboxApp,
    SandboxServer,
)
from .suite import SourceSuite, TargetSuite, no_floats

__all__ = [
    "Fault",
    "Faults",
    "MemorySource",
    "Request",
    "Response",
    "SandboxApp",
    "SandboxServer",
    "SourceSuite",
    "TargetSuite",
    "datasets",
    "memory_source",
    "no_floats",
]
