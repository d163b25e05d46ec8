"""The Xero target of the shared lifecycle scenario: the connector against its sandbox.

A Xero organisation is never empty and never forgets: it starts with an organisation, system
accounts and built-in tax rates, and it keeps what is voided or archived. The scenario asks
what the target *holds of the migration's*, so :class:`Held` (a hook wrapper around the
connector) scopes the target's extraction to that: records that were there before the scenario
count only while the migration has claimed them (the organisation, system accounts, built-in
tax rates it matched), and voided or archived records are what Xero keeps of a removal.

Every request the connector sends and every answer the sandbox gives is validated against
the subset of Xero's OpenAPI description (``tests/connectors/xero/spec``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from connectors.xero.xero_spec import SpecObserver
from migrationkit import (
    ENTITY_ORDER,
    Connector,
    DocumentStatus,
    LoadRequest,
    PluginRegistry,
    Record,
    References,
    RemovalRequest,
    hookimpl,
)
from migrationkit.testing import SandboxServer
from migrationkit.testing.sandboxes.xero.app import API_PREFIX, XeroSandbox, start_server

RATE_SCALE = 1000.0
CLEARING = "9997"
SEEDED_CONTACTS = ("Sundry", "Opening balances", "Journal adjustments")


class Held:
    """Scopes a Xero connector's extraction to what the migration holds there."""

    def __init__(self, baseline: dict[str, set[str]]) -> None:
        self.baseline = baseline
        self.claimed: defaultdict[str, set[str]] = defaultdict(set)

    @hookimpl(wrapper=True)
    def migrationkit_load(
        self, entity: str, requests: Sequence[LoadRequest], refs: References
    ) -> Iterator[Any]:
        results = yield
        self.claimed[entity].update(r.target_id for r in results if r.ok and r.target_id)
        return results

    @hookimpl(wrapper=True)
    def migrationkit_remove(self, entity: str, requests: Sequence[RemovalRequest]) -> Iterator[Any]:
        results = yield
        for request, result in zip(requests, results, strict=True):
            if result.removed:
                self.claimed[entity].discard(request.target_id)
        return results

    @hookimpl(wrapper=True)
    def migrationkit_extract(self, entity: str, since: object) -> Iterator[Any]:
        records = yield
        return self._held(entity, records)

    def _held(self, entity: str, records: Iterable[Record]) -> Iterator[Record]:
        for record in records:
            if getattr(record, "inactive", False):
                continue
            if getattr(record, "status", None) is DocumentStatus.VOIDED:
                continue
            if (
                record.key in self.baseline.get(entity, ())
                and record.key not in self.claimed[entity]
            ):
                continue
            yield record


def open_connector(
    server: SandboxServer, tenant: str, observer: SpecObserver, **options: Any
) -> Connector:
    """The xero connector, as a user opens it, pointed at the sandbox."""
    return PluginRegistry().open(
        "xero",
        {
            "location": tenant,
            "base_url": server.url + API_PREFIX,
            "token_url": server.url + "/connect/token",
            "access_token": "lifecycle-token",
            "rate_scale": RATE_SCALE,
            "clearing_account": CLEARING,
            "observers": [observer],
            **options,
        },
    )


def seed(app: XeroSandbox, tenant: str) -> None:
    """What a Xero user sets up before migrating: the clearing account and helper contacts."""
    org = app.org(tenant)
    org.create_account({"Code": CLEARING, "Name": "Conversion clearing", "Type": "CURRLIAB"})
    for name in SEEDED_CONTACTS:
        org.create_contact({"Name": name})


@contextmanager
def target(tmp_path: Path) -> Iterator[tuple[Connector, dict[str, Any]]]:
    app = XeroSandbox(rate_scale=RATE_SCALE)
    observer = SpecObserver()
    with start_server(app) as server:
        tenant = app.default_tenant
        seed(app, tenant)
        connector = open_connector(server, tenant, observer)
        baseline = {e: {r.key for r in connector.extract(e)} for e in ENTITY_ORDER}
        connector.add_wrapper(Held(baseline))
        yield connector, {}
    observer.assert_clean()
