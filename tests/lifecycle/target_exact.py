"""The lifecycle scenario against Exact Online: the connector on a running sandbox.

The division starts empty (a GBP division 1, as ``migrationkit sandbox exact --currency gbp``
serves it): the connector creates the journals and G/L accounts it posts through. Exact keeps
one list of cost centers per division, so a rollback leaves the tracking categories and says so.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from migrationkit import Connector

_SUPPORT = Path(__file__).parents[1] / "connectors" / "exact" / "exact_support.py"


def _support() -> ModuleType:
    spec = importlib.util.spec_from_file_location("exact_support", _SUPPORT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def target(tmp_path: Path) -> Iterator[tuple[Connector, dict[str, Any]]]:
    """The sandbox running and the connector on it."""
    support = _support()
    with support.sandbox() as (app, server):
        yield support.open_connector(app, server), {}
