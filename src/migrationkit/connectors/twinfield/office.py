"""What the administration already holds, read once and cached: day books, VAT codes, chart.

A new Twinfield administration comes from a template: its sales and purchase day books post
their totals to its own debtors and creditors accounts, its VAT codes to its own VAT accounts,
and its bank books to their bank accounts. The connector matches the source's control
accounts onto those (never creating a second debtors account) and reads everything else here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from decimal import Decimal

import attrs

from migrationkit.core.errors import ConfigError

from .client import TwinfieldClient
from .mapping import Dimension, read_dimension
from .options import TwinfieldOptions
from .xml import text

__all__ = ["Daybook", "OfficeState", "VatCode"]


@attrs.frozen
class VatCode:
    code: str
    name: str
    type: str
    percentage: Decimal
    account: str


@attrs.frozen
class Daybook:
    code: str
    name: str
    type: str
    account: str | None
    currency: str | None


class OfficeState:
    """The chosen office and what it holds, cached until :meth:`forget`."""

    def __init__(self, client: TwinfieldClient, options: TwinfieldOptions) -> None:
        self.client = client
        self.options = options
        self._lock = threading.RLock()
        self._codes: dict[str, dict[str, str]] = {}
        self._dims: dict[tuple[str, str], Dimension | None] = {}
        self._vat: dict[str, VatCode] | None = None
        self._daybooks: dict[str, Daybook | None] = {}
        self._info: tuple[str, str] | None = None
        self.invoice_numbers: dict[str, str] = {}
        """Target id of a sales or purchase transaction → its invoice number (allocations)."""

    @property
    def code(self) -> str:
        if self.client.office is None:
            self.client.office = self._choose()
        return self.client.office

    def _choose(self) -> str:
        offices = self.client.list("offices")
        codes = [(node.text or "").strip() for node in offices]
        wanted = self.options.location or self.options.office
        if wanted:
            if wanted not in codes:
                raise ConfigError(
                    f"the login cannot open Twinfield office {wanted!r} "
                    f"(available: {', '.join(codes) or 'none'})"
                )
            return wanted
        if len(codes) == 1:
            return codes[0]
        raise ConfigError(
            "choose the Twinfield office as twinfield:CODE or with the option office "
            f"(available: {', '.join(codes) or 'none'})"
        )

    def forget(self) -> None:
        with self._lock:
            self._codes.clear()
            self._dims.clear()
            self._vat = None
            self._daybooks.clear()
            self._info = None

    # -- the office ------------------------------------------------------------------------------

    def info(self) -> tuple[str, str]:
        """The office's name and base currency."""
        with self._lock:
            if self._info is None:
                found = self.client.read("office", self.code)
                if found is None:
                    raise ConfigError(f"Twinfield office {self.code} cannot be read")
                self._info = (text(found, "name"), text(found, "basecurrency") or "EUR")
            return self._info

    # -- dimensions ------------------------------------------------------------------------------

    def codes(self, dim_type: str) -> Mapping[str, str]:
        """Every code of a dimension type, with its status (``active`` or ``hide``)."""
        with self._lock:
            if dim_type not in self._codes:
                answer = self.client.list("dimensions", dimtype=dim_type)
                self._codes[dim_type] = {
                    (node.text or "").strip(): node.get("status") or "active"
                    for node in answer
                    if isinstance(node.tag, str)
                }
            return self._codes[dim_type]

    def dimension(self, dim_type: str, code: str) -> Dimension | None:
        """A dimension of the office, read once (``None`` when there is none)."""
        with self._lock:
            key = (dim_type, code)
            if key not in self._dims:
                if code not in self.codes(dim_type):
                    return None
                found = self.client.read("dimensions", code, dimtype=dim_type)
                self._dims[key] = read_dimension(found) if found is not None else None
            return self._dims[key]

    def ledger(self, code: str) -> Dimension | None:
        return self.dimension("BAS", code) or self.dimension("PNL", code)

    def remember(self, dimension: Dimension) -> None:
        with self._lock:
            self._dims[(dimension.type, dimension.code)] = dimension
            self.codes(dimension.type)
            self._codes[dimension.type][dimension.code] = dimension.status

    def drop(self, dim_type: str, code: str) -> None:
        with self._lock:
            self._dims.pop((dim_type, code), None)
            self._codes.get(dim_type, {}).pop(code, None)

    def invalidate(self, dim_type: str) -> None:
        with self._lock:
            self._codes.pop(dim_type, None)
            for key in [k for k in self._dims if k[0] == dim_type]:
                del self._dims[key]

    # -- VAT codes and day books -----------------------------------------------------------------

    def vat_codes(self) -> Mapping[str, VatCode]:
        with self._lock:
            if self._vat is None:
                found = {}
                for node in self.client.list("vats"):
                    code = (node.text or "").strip()
                    vat = self.client.read("vat", code)
                    if vat is None:
                        continue
                    found[code] = VatCode(
                        code=code,
                        name=text(vat, "name"),
                        type=text(vat, "type"),
                        percentage=Decimal(text(vat, "percentages/percentage/percentage") or 0),
                        account=text(vat, "percentages/percentage/accounts/account/dim1"),
                    )
                self._vat = found
            return self._vat

    def vat_pairs(self) -> dict[str, str]:
        """Each VAT code's pair key: ``SALES/PURCHASE``, else the code alone.

        Twinfield's templates name a sales code ``V…`` and its purchase twin ``I…`` (VH/IH,
        VL/IL, VN/IN); codes outside that convention pair when theirs is the only sales and the
        only purchase code of a percentage. A source tax rate lands on such a pair, so the
        office's pairs are what reads back.
        """
        codes = self.vat_codes()
        pairs = {code: code for code in codes}
        for vat in codes.values():
            twin = codes.get("I" + vat.code[1:]) if vat.code.startswith("V") else None
            if vat.type == "sales" and twin is not None and twin.type == "purchase":
                pairs[vat.code] = pairs[twin.code] = f"{vat.code}/{twin.code}"
        by_rate: dict[tuple[str, Decimal], list[str]] = {}
        for vat in codes.values():
            if pairs[vat.code] == vat.code:
                by_rate.setdefault((vat.type, vat.percentage), []).append(vat.code)
        for (kind, rate), sales in by_rate.items():
            purchase = by_rate.get(("purchase", rate), [])
            if kind == "sales" and len(sales) == 1 and len(purchase) == 1:
                pair = f"{sales[0]}/{purchase[0]}"
                pairs[sales[0]] = pairs[purchase[0]] = pair
        return pairs

    def vat_account(self, kind: str) -> str | None:
        """The account the office's sales (or purchase) VAT codes post to."""
        accounts = [v.account for v in self.vat_codes().values() if v.type == kind and v.account]
        return accounts[0] if accounts else None

    def vat_accounts(self) -> dict[str, str]:
        return {code: vat.account for code, vat in self.vat_codes().items()}

    def daybook(self, code: str) -> Daybook | None:
        with self._lock:
            if code not in self._daybooks:
                found = self.client.read("transactiontype", code)
                self._daybooks[code] = (
                    Daybook(
                        code=text(found, "code"),
                        name=text(found, "name"),
                        type=text(found, "type"),
                        account=text(found, "account") or None,
                        currency=text(found, "currency") or None,
                    )
                    if found is not None
                    else None
                )
            return self._daybooks[code]

    def required_daybook(self, code: str, kinds: Iterable[str]) -> Daybook:
        book = self.daybook(code)
        wanted = tuple(kinds)
        if book is None or book.type not in wanted:
            raise ConfigError(
                f"Twinfield office {self.code} has no {' or '.join(wanted)} day book {code!r}; "
                "set the day book options to the office's codes"
            )
        return book

    @property
    def receivables(self) -> str:
        account = self.required_daybook(self.options.sales_daybook, ("sales",)).account
        assert account, "a sales day book has a debtors account"
        return account

    @property
    def payables(self) -> str:
        account = self.required_daybook(self.options.purchase_daybook, ("purchase",)).account
        assert account, "a purchase day book has a creditors account"
        return account

    def bank_books(self) -> list[Daybook]:
        """The bank and cash day books the options name."""
        found = []
        for code in dict.fromkeys(self.options.bank_daybooks.values()):
            book = self.daybook(code)
            if book is not None and book.type in ("bank", "cash"):
                found.append(book)
        return found
