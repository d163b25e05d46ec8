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

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import datasets
    from .memory import MemorySource, memory_source
    from .sandboxes.server import Fault, Faults, Request, Response, SandboxApp, SandboxServer
    from .suite import SourceSuite, TargetSuite, no_floats

# Loaded when first used: the command line registers the sandbox commands through this package
# on every start, and should not pay for pytest, werkzeug and the sandbox server each time.
_WHERE = {
    "Fault": ".sandboxes.server",
    "Faults": ".sandboxes.server",
    "MemorySource": ".memory",
    "Request": ".sandboxes.server",
    "Response": ".sandboxes.server",
    "SandboxApp": ".sandboxes.server",
    "SandboxServer": ".sandboxes.server",
    "SourceSuite": ".suite",
    "TargetSuite": ".suite",
    "memory_source": ".memory",
    "no_floats": ".suite",
}

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


def __getattr__(name: str) -> Any:
    if name == "datasets":
        return importlib.import_module(".datasets", __name__)
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value
