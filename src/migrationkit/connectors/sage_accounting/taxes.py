"""UK tax codes onto a Sage Accounting GB business's own tax rates.

Sage Accounting GB businesses come with their tax rates (``GB_STANDARD``, ``GB_LOWER``,
``GB_ZERO``, ``GB_EXEMPT``, ``GB_NO_TAX``) and the API cannot create more: ``POST /tax_rates`` is
for US businesses only. So a source tax code is *matched* onto one of the business's rates,
never written. Sage 50's default UK codes have a default match (:data:`DEFAULT_TAX_CODE_MAP`);
the ``tax_rate_map`` option overrides it and maps any other code. A match is checked against the
business: the rate must exist there and carry the source code's percentage, so a redefined T1
(say 17.5%) is caught in ``plan`` instead of landing on the 20% rate.

Sage Accounting keeps EC and reverse-charge treatment on the contact and the document (contact
``tax_treatment``, ``vat_reverse_charge``), not in the rate: the EC and reverse-charge codes map
onto the rate of their percentage and keep the tax amounts the source recorded (zero for EC
acquisitions and the domestic reverse charge).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from migrationkit.core.contract import Problem
from migrationkit.core.model import TaxRate, TaxTreatment

from .wire import money

__all__ = [
    "DEFAULT_TAX_CODE_MAP",
    "GB_TREATMENTS",
    "TaxMatch",
    "match_tax_rate",
    "treatment_of",
]

DEFAULT_TAX_CODE_MAP: Mapping[str, str] = {
    "T0": "GB_ZERO",  # zero rated
    "T1": "GB_STANDARD",  # standard rate
    "T2": "GB_EXEMPT",  # exempt
    "T4": "GB_ZERO",  # sales of goods to VAT-registered EC customers (zero-rated dispatch)
    "T5": "GB_LOWER",  # lower rate
    "T7": "GB_ZERO",  # zero-rated purchases of goods from the EC
    "T8": "GB_STANDARD",  # standard-rated purchases of goods from the EC (acquisition VAT)
    "T9": "GB_NO_TAX",  # transactions not involving VAT (outside the scope)
    "T20": "GB_STANDARD",  # domestic reverse charge
    "T22": "GB_ZERO",  # sales of services to EC customers
    "T23": "GB_ZERO",  # zero-rated purchases of services from the EC
    "T24": "GB_STANDARD",  # standard-rated purchases of services from the EC
    "T25": "GB_STANDARD",  # flat-rate scheme purchases of capital items over 2,000
}
"""Sage 50's default UK tax codes and the Sage Accounting GB rate each one lands on."""

GB_TREATMENTS: Mapping[str, TaxTreatment] = {
    "GB_STANDARD": TaxTreatment.STANDARD,
    "GB_LOWER": TaxTreatment.REDUCED,
    "GB_ZERO": TaxTreatment.ZERO,
    "GB_EXEMPT": TaxTreatment.EXEMPT,
    "GB_NO_TAX": TaxTreatment.OUTSIDE_SCOPE,
}
"""What each GB rate means for the VAT return (used when Sage is the source)."""


def treatment_of(rate_id: str, percentage: Decimal) -> TaxTreatment:
    """The treatment of a Sage rate: known GB ids by id, anything else by its percentage."""
    known = GB_TREATMENTS.get(rate_id)
    if known is not None:
        return known
    return TaxTreatment.ZERO if percentage == 0 else TaxTreatment.OTHER


@attrs.frozen
class TaxMatch:
    """The Sage rate a source tax code lands on, or the problem that stops it."""

    rate_id: str | None
    problem: Problem | None = None
    source: str = "default"


def match_tax_rate(
    record: TaxRate,
    overrides: Mapping[str, str],
    business_rates: Mapping[str, Mapping[str, Any]],
) -> TaxMatch:
    """Match one source tax code onto the business's rates (override, default, or same id)."""
    wanted, source = _wanted(record, overrides, business_rates)
    available = ", ".join(sorted(business_rates)) or "none"
    if wanted is None:
        return TaxMatch(
            None,
            Problem(
                code="TAX_CODE_UNMAPPED",
                message=(
                    f"tax code {record.code} ({record.name}, {_percent(record.rate)}) has no "
                    "Sage Accounting rate, and Sage cannot create tax rates for a GB business: "
                    f'map it with the target option tax_rate_map = {{ {record.code} = "GB_..." }} '
                    f"(this business has {available})"
                ),
                details={"code": record.code, "available": sorted(business_rates)},
            ),
        )
    rate = business_rates.get(wanted)
    if rate is None:
        return TaxMatch(
            None,
            Problem(
                code="TAX_RATE_UNKNOWN",
                message=(
                    f"tax code {record.code} is mapped to {wanted} ({source}), which this Sage "
                    f"business does not have; set tax_rate_map (available: {available})"
                ),
            ),
        )
    percentage = money(rate.get("percentage") or 0)
    if percentage != record.rate:
        return TaxMatch(
            None,
            Problem(
                code="TAX_RATE_MISMATCH",
                message=(
                    f"tax code {record.code} is {_percent(record.rate)} but {wanted} ({source}) "
                    f"is {_percent(percentage)}; map it to a rate of the same percentage with "
                    "the target option tax_rate_map"
                ),
            ),
        )
    return TaxMatch(wanted, source=source)


def _wanted(
    record: TaxRate,
    overrides: Mapping[str, str],
    business_rates: Mapping[str, Mapping[str, Any]],
) -> tuple[str | None, str]:
    for name in (record.key, record.code):
        if name in overrides:
            return overrides[name], "tax_rate_map"
    default = DEFAULT_TAX_CODE_MAP.get(record.code)
    if default is not None:
        return default, "the default UK map"
    # A Sage-to-Sage move: the code is already one of the business's rate ids.
    if record.code in business_rates:
        return record.code, "the same rate id"
    return None, ""


def _percent(value: Decimal) -> str:
    return f"{value.normalize():f}%"
