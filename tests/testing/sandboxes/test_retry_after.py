"""Every sandbox's 429 carries a ``Retry-After`` that any HTTP client can read: whole seconds.

Xero's Python SDK reads the header through urllib3, whose parser refuses anything but an integer
or an HTTP date (``3.153`` raised ``InvalidHeader``); RFC 9110 allows only those two forms.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Callable, Iterator, Sequence

import pytest
import requests
from urllib3.util import Retry

from migrationkit.http import Limits, retry_after
from migrationkit.testing import Fault, SandboxServer
from migrationkit.testing.sandboxes.sage_accounting.app import SageSandbox, SageSandboxServer
from migrationkit.testing.sandboxes.xero.app import API_PREFIX, XERO_LIMITS, XeroSandbox

Trigger = Callable[[float], Iterator[requests.Response]]


def _xero(limits: Limits, faults: Sequence[Fault] = ()) -> Trigger:
    def answers(scale: float) -> Iterator[requests.Response]:
        app = XeroSandbox(rate_scale=scale, limits=limits)
        for fault in faults:
            app.faults.add(fault)
        headers = {"Authorization": "Bearer any", "xero-tenant-id": app.default_tenant}
        with SandboxServer(app) as server:
            for _ in range(4):
                yield requests.get(
                    f"{server.url}{API_PREFIX}/Organisation", headers=headers, timeout=5
                )

    return answers


def _sage(rate_limit: int, faults: Sequence[Fault] = ()) -> Trigger:
    def answers(scale: float) -> Iterator[requests.Response]:
        app = SageSandbox(rate_limit=rate_limit, rate_scale=scale)
        for fault in faults:
            app.faults.add(fault)
        headers = {"Authorization": f"Bearer {app.token}"}
        with SageSandboxServer(app) as server:
            for _ in range(4):
                yield requests.get(f"{server.url}/v3.1/tax_rates", headers=headers, timeout=5)

    return answers


SANDBOXES: dict[str, Trigger] = {
    "xero minute limit": _xero(Limits(concurrent=5, per_minute=2, per_day=5000)),
    "xero day limit": _xero(Limits(concurrent=5, per_minute=60, per_day=2)),
    "xero injected 429": _xero(XERO_LIMITS, [Fault(status=429, retry_after=0.01)]),
    "sage rate limit": _sage(2),
    "sage injected 429": _sage(200, [Fault(status=429, retry_after=2.5)]),
}


def _http_seconds(value: str) -> float:
    """RFC 9110's two forms, read as ``email.utils`` and a strict integer parser would."""
    if re.fullmatch(r"[0-9]+", value):
        return float(int(value))
    when = email.utils.parsedate_to_datetime(value)
    return (when - dt.datetime.now(dt.UTC)).total_seconds()


@pytest.mark.parametrize("scale", [1.0, 1000.0])
@pytest.mark.parametrize("name", sorted(SANDBOXES))
def test_every_sandbox_429_has_a_retry_after_any_client_reads(name: str, scale: float) -> None:
    limited = [r for r in SANDBOXES[name](scale) if r.status_code == 429]
    assert limited, f"{name}: no 429 in four calls"
    for response in limited:
        value = response.headers["Retry-After"]
        assert re.fullmatch(r"[1-9][0-9]*", value), f"{name}: Retry-After {value!r}"
        assert Retry().parse_retry_after(value) >= 1
        assert _http_seconds(value) >= 1
        # Our client divides the API's seconds by the scale it shares with the sandbox.
        assert retry_after(response, 99.0, scale=scale) == pytest.approx(int(value) / scale)
