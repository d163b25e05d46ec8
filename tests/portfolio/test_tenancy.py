"""Each target connector says which system and tenant it writes to, and the system's limits."""

from __future__ import annotations

import pytest

from migrationkit import ConnectorInfo, PluginRegistry, Tenancy, TenantLimits
from migrationkit.core.convert import structure_options


def _tenancy(name: str, options: dict[str, object]) -> Tenancy:
    info = PluginRegistry().info(name)
    return info.tenancy_for(structure_options(info.options, options, where="the test"))


def test_xero_is_limited_per_tenant_as_xero_documents() -> None:
    found = _tenancy("xero", {"location": "tenant-a"})
    assert (found.system, found.tenant) == ("xero", "tenant-a")
    assert (found.limits.concurrent, found.limits.per_minute, found.limits.per_day) == (5, 60, 5000)
    assert (found.limits.minute, found.limits.day) == (60.0, 86_400.0)
    assert _tenancy("xero", {"tenant_id": "tenant-b"}).tenant == "tenant-b"


def test_a_sandbox_clock_scales_the_windows_not_the_counts() -> None:
    found = _tenancy("xero", {"location": "t", "rate_scale": 1000.0})
    assert (found.limits.per_minute, found.limits.minute) == (60, 0.06)
    assert found.limits.day == pytest.approx(86.4)


def test_sage_accounting_is_limited_per_business() -> None:
    found = _tenancy("sage-accounting", {"location": "Larkspur Ltd"})
    assert (found.system, found.tenant, found.limits.per_minute) == (
        "sage-accounting",
        "Larkspur Ltd",
        200,
    )
    assert _tenancy("sage-accounting", {}).tenant == "(the login's only business)"


def test_csv_has_no_tenant_and_no_limits() -> None:
    found = _tenancy("csv", {"location": "out/"})
    assert (found.system, found.tenant, found.limits.any) == ("csv", None, False)


def _info(**extra: object) -> ConnectorInfo:
    return ConnectorInfo(name="plain", summary="", factory=object, capabilities={}, **extra)  # type: ignore[arg-type]


def test_a_connector_that_declares_nothing_is_a_system_of_its_own_without_limits() -> None:
    found = _info().tenancy_for(object())
    assert found == Tenancy(system="plain")
    assert not found.limits.any
    assert TenantLimits(concurrent=1).any


def test_a_tenancy_of_the_wrong_type_is_refused_with_the_connectors_name() -> None:
    with pytest.raises(TypeError, match="'plain'"):
        _info(tenancy=lambda options: "xero").tenancy_for(object())


def test_twinfield_allows_one_call_at_a_time_per_organisation_of_a_login() -> None:
    found = _tenancy("twinfield", {"location": "NLA001234", "token_store": "/tokens/a.json"})
    assert (found.system, found.limits.concurrent) == ("twinfield", 1)
    other_office = _tenancy("twinfield", {"location": "NLA009999", "token_store": "/tokens/a.json"})
    assert other_office.tenant == found.tenant, "offices of one organisation share its limit"
    assert _tenancy("twinfield", {"token_store": "/tokens/b.json"}).tenant != found.tenant
    assert "s3cret" not in str(_tenancy("twinfield", {"access_token": "s3cret"}).tenant)


def test_exact_is_limited_per_division() -> None:
    found = _tenancy("exact", {"location": "123456"})
    assert (found.system, found.tenant, found.limits.per_minute, found.limits.per_day) == (
        "exact",
        "123456",
        60,
        5000,
    )
    assert _tenancy("exact", {"division": 777}).tenant == "777"
