"""Shared helpers for the exact tests: the sandbox, the connector on it, what it holds."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

from migrationkit import Connector, PluginRegistry
from migrationkit.testing import SandboxServer
from migrationkit.testing.sandboxes.exact.app import ExactSandbox, start_server

SCALE = 1000.0
"""Time runs this much faster in tests: Exact's minute is 60 ms, its hour 3.6 s."""


@contextlib.contextmanager
def sandbox(**options: Any) -> Iterator[tuple[ExactSandbox, SandboxServer]]:
    """A running sandbox with a GBP division 1 (time scaled for tests unless told otherwise)."""
    options.setdefault("rate_scale", SCALE)
    options.setdefault("currency", "GBP")
    app = ExactSandbox(**options)
    with start_server(app) as server:
        yield app, server


def connector_options(app: ExactSandbox, server: SandboxServer, **extra: Any) -> dict[str, Any]:
    return {
        "division": app.current,
        "base_url": server.url,
        "access_token": app.token or "any-token-works",
        "rate_scale": SCALE,
        **extra,
    }


def open_connector(app: ExactSandbox, server: SandboxServer, **extra: Any) -> Connector:
    """The connector on the sandbox, as a user opens it."""
    return PluginRegistry().open("exact", connector_options(app, server, **extra))


class FaultsAt:
    """A run observer that queues sandbox faults when the run reaches an entity."""

    def __init__(self, app: ExactSandbox, plan: dict[str, list[Any]]) -> None:
        self.app = app
        self.plan = {entity: list(faults) for entity, faults in plan.items()}

    def entity_started(self, entity: str, phase: str) -> None:
        if phase == "loading":
            for fault in self.plan.pop(entity, ()):
                self.app.faults.add(fault)

    def advanced(self, entity: str, count: int) -> None:
        pass

    def entity_finished(self, entity: str, counts: Any) -> None:
        pass

    def note(self, message: str) -> None:
        pass


def held(migration: Any, entity: str) -> Counter[str]:
    """Source keys of what the target holds of ``entity``, read back from Exact."""
    info = migration.store.migrations()[0]
    reverse = migration.store.reverse_lookup(info.id, entity)
    return Counter(reverse.get(r.key, f"?{r.key}") for r in migration.target.extract(entity))


def assert_exactly_once(migration: Any, entities: tuple[str, ...], report: Any) -> None:
    """Every source record of ``entities`` that moved is in Exact once; nothing else is."""
    gone = {(p.entity, p.source_key) for p in report.problems if p.outcome in ("skipped", "failed")}
    for entity in entities:
        wanted = {r.key for r in migration.source.extract(entity)} - {
            key for e, key in gone if e == entity
        }
        on_target = held(migration, entity)
        doubles = {k: n for k, n in on_target.items() if n > 1}
        assert not doubles, f"{entity} held more than once: {doubles}"
        assert set(on_target) == wanted, f"{entity}: {set(on_target) ^ wanted}"
