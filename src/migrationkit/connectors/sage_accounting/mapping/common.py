"""What every Sage mapping shares: its limits and codes, written payloads, stamps, ids."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from migrationkit.core.errors import MappingError
from migrationkit.core.model import (
    AccountType,
    BankAccountKind,
    ControlRole,
    PaymentKind,
    RefundKind,
)

Ref = Callable[[str, str], str]
"""``ref(entity, source_key)`` → the Sage id of the record that key names."""

LIMITS: Mapping[str, int] = {
    "contact_reference": 10,
    "contact_name": 100,
    "document_reference": 25,
    "vendor_reference": 31,
    "notes": 2000,
    "payment_reference": 25,
    "journal_reference": 255,
    "journal_description": 200,
    "transfer_text": 255,
    "opening_reference": 25,
    "opening_details": 255,
    "address_line": 50,
    "postal_code": 10,
    "email": 100,
    "person_field": 50,
    "item_description": 255,
    "item_notes": 500,
    "account_name": 200,
    "category_code": 10,
    "category_name": 50,
    "analysis_type_name": 50,
}
"""Sage's maxLength for each text the connector writes (from the v3.1 read models)."""

ACCOUNT_TYPES: Mapping[AccountType, str] = {
    AccountType.FIXED_ASSET: "FIXED_ASSETS",
    AccountType.CURRENT_ASSET: "CURRENT_ASSETS",
    AccountType.BANK: "BANK",
    AccountType.CURRENT_LIABILITY: "CURRENT_LIABILITY",
    AccountType.LONG_TERM_LIABILITY: "FUTURE_LIABILITY",
    AccountType.EQUITY: "EQUITY",
    AccountType.SALES: "SALES",
    AccountType.OTHER_INCOME: "OTHER_INCOME",
    AccountType.PURCHASES: "DIRECT_EXPENSES",
    AccountType.DIRECT_EXPENSES: "DIRECT_EXPENSES",
    AccountType.OVERHEADS: "OVERHEADS",
    AccountType.DEPRECIATION: "DEPRECIATION",
}
"""Canonical account type → Sage ``ledger_account_type_id``."""

_SAGE_TYPES: Mapping[str, AccountType] = {
    "FIXED_ASSETS": AccountType.FIXED_ASSET,
    "CURRENT_ASSETS": AccountType.CURRENT_ASSET,
    "FUTURE_ASSETS": AccountType.FIXED_ASSET,
    "BANK": AccountType.BANK,
    "CURRENT_LIABILITY": AccountType.CURRENT_LIABILITY,
    "FUTURE_LIABILITY": AccountType.LONG_TERM_LIABILITY,
    "EQUITY": AccountType.EQUITY,
    "SALES": AccountType.SALES,
    "OTHER_INCOME": AccountType.OTHER_INCOME,
    "DIRECT_EXPENSES": AccountType.DIRECT_EXPENSES,
    "OVERHEADS": AccountType.OVERHEADS,
    "DEPRECIATION": AccountType.DEPRECIATION,
}

CONTROL_NAMES: Mapping[ControlRole, str] = {
    ControlRole.RECEIVABLES: "DEBTORS_CONTROL",
    ControlRole.PAYABLES: "CREDITORS_CONTROL",
    ControlRole.SALES_TAX: "SALES_TAX_CONTROL",
    ControlRole.PURCHASE_TAX: "PURCHASE_TAX_CONTROL",
    ControlRole.TAX_LIABILITY: "VAT_LIABILITY",
    ControlRole.RETAINED_EARNINGS: "RETAINED_EARNINGS",
    ControlRole.EXCHANGE_VARIANCE: "EXCHANGE_VARIANCE",
}
"""Control role → the ``control_name`` of the Sage control account a source account with that
role lands on. Sage's 9999 Suspense takes the other side of opening balances: it is not Sage
50's suspense or mispostings account, so neither lands on it by role."""

_ROLE_OF_CONTROL = {
    **{name: role for role, name in CONTROL_NAMES.items()},
    "SUSPENSE": ControlRole.SUSPENSE,
}

# A GB business's control accounts by nominal code, for when control_name is not given.
_GB_CONTROL_CODES: Mapping[int, ControlRole] = {
    1100: ControlRole.RECEIVABLES,
    2100: ControlRole.PAYABLES,
    2200: ControlRole.SALES_TAX,
    2201: ControlRole.PURCHASE_TAX,
    2202: ControlRole.TAX_LIABILITY,
    3200: ControlRole.RETAINED_EARNINGS,
}

BANK_TYPES: Mapping[BankAccountKind, str] = {
    BankAccountKind.CURRENT: "CHECKING",
    BankAccountKind.SAVINGS: "SAVINGS",
    BankAccountKind.CASH: "CASH_IN_HAND",
    BankAccountKind.CREDIT_CARD: "CREDIT_CARD",
}
_BANK_KINDS = {v: k for k, v in BANK_TYPES.items()}

PAYMENT_TYPES: Mapping[PaymentKind, str] = {
    PaymentKind.CUSTOMER_RECEIPT: "CUSTOMER_RECEIPT",
    PaymentKind.SUPPLIER_PAYMENT: "VENDOR_PAYMENT",
}
REFUND_TYPES: Mapping[RefundKind, str] = {
    RefundKind.CUSTOMER_REFUND: "CUSTOMER_REFUND",
    RefundKind.SUPPLIER_REFUND: "VENDOR_REFUND",
}
_PAYMENT_KINDS = {v: k for k, v in PAYMENT_TYPES.items()}
_REFUND_KINDS = {v: k for k, v in REFUND_TYPES.items()}

_STAMP = re.compile(r" ?~([A-Z2-7]{8})$")


# ---------------------------------------------------------------------------
# small rules
# ---------------------------------------------------------------------------


@attrs.frozen
class Written:
    """A payload to send, with the warnings its rules produced (text cut, defaults used)."""

    body: dict[str, Any]
    warnings: tuple[str, ...] = ()


class _Notes:
    """Collects the warnings a builder produces."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def clip(self, text: str | None, limit: str, what: str) -> str | None:
        value, cut = clip(text, LIMITS[limit])
        if cut:
            self.items.append(f"{what} cut to {LIMITS[limit]} characters: {value!r}")
        return value


def clip(text: str | None, limit: int) -> tuple[str | None, bool]:
    """``text`` cut to ``limit`` characters, and whether it was cut."""
    if text is None:
        return None, False
    return (text, False) if len(text) <= limit else (text[:limit], True)


def stamp(idempotency_key: str) -> str:
    """The 9-character tag that finds a write again (``~`` and 8 base32 letters)."""
    digest = hashlib.blake2b(idempotency_key.encode(), digest_size=5).digest()
    return "~" + base64.b32encode(digest).decode()


def with_stamp(text: str | None, tag: str | None, limit: int) -> tuple[str | None, bool]:
    """``text`` with the tag at its end, the text cut so that both fit within ``limit``."""
    if not tag:
        return clip(text, limit)
    room = limit - len(tag) - (1 if text else 0)
    body, cut = clip(text, room) if text else (None, False)
    return (f"{body} {tag}" if body else tag), cut


def strip_stamp(text: str | None) -> tuple[str | None, str | None]:
    """Split a stamped text into the text and its tag (``None`` when there is no tag)."""
    if not text:
        return None, None
    found = _STAMP.search(text)
    if not found:
        return text, None
    rest = text[: found.start()]
    return (rest or None), "~" + found.group(1)


def split_id(target_id: str) -> tuple[str, str]:
    """``"sales_invoices:ab12"`` → ``("sales_invoices", "ab12")``."""
    path, colon, plain = target_id.partition(":")
    if not colon:
        raise MappingError(f"{target_id!r} is not an id of the form ENDPOINT:ID")
    return path, plain


def _ref_id(obj: Any) -> str | None:
    return obj.get("id") if isinstance(obj, Mapping) else None


def _opt_ref(ref: Ref, entity: str, key: str | None) -> str | None:
    return ref(entity, key) if key else None


def _drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}
