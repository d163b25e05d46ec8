"""What the connector knows about the target business, read once and kept up to date.

Tax rates, the chart, bank accounts and analysis categories are read on first use and updated
as the connector writes, so a load of a thousand invoices does not read the chart a thousand
times. Thread-safe: a load sends its requests from several threads.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from typing import Any

from migrationkit.core.errors import ConfigError

from .client import SageClient
from .wire import opt_date

__all__ = ["Business"]

Loader = Callable[[], dict[str, dict[str, Any]]]


class Business:
    """Lazily read, lock-protected views of the business's reference data."""

    def __init__(self, client: SageClient, location: str | None) -> None:
        self.client = client
        self.location = location
        self._lock = threading.RLock()
        self._cache: dict[str, Any] = {}

    # -- which business --------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The business id, choosing the business on first use (by id or name)."""
        with self._lock:
            if self.client.business_id is None:
                from .client import choose_business

                chosen = choose_business(self.client.businesses(), self.location)
                self.client.use_business(str(chosen["id"]))
                self._cache["business"] = chosen
            return str(self.client.business_id)

    @property
    def record(self) -> dict[str, Any]:
        """The business as ``GET /businesses`` lists it (name, id)."""
        _ = self.id
        with self._lock:
            return dict(self._cache["business"])

    def forget(self) -> None:
        """Drop everything read so far (a new run may follow changes made meanwhile)."""
        with self._lock:
            business = self._cache.get("business")
            self._cache = {"business": business} if business else {}

    # -- settings --------------------------------------------------------------------------------

    def _once(self, name: str, load: Callable[[], Any]) -> Any:
        _ = self.id
        with self._lock:
            if name not in self._cache:
                self._cache[name] = load()
            return self._cache[name]

    @property
    def settings(self) -> dict[str, Any]:
        def load() -> dict[str, Any]:
            reply = self.client.get("financial_settings")
            if not reply.ok:
                raise ConfigError(f"cannot read Sage's financial settings: {reply.first_error()}")
            return dict(reply.data or {})

        return dict(self._once("settings", load))

    @property
    def base_currency(self) -> str:
        return str((self.settings.get("base_currency") or {}).get("id") or "GBP")

    @property
    def opening_date(self) -> dt.date | None:
        """The day before the accounts start: the date opening balances hold for."""
        start = opt_date(self.settings.get("accounts_start_date"))
        return start - dt.timedelta(days=1) if start else None

    # -- reference data by id --------------------------------------------------------------------

    def _table(self, name: str, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._once(name, lambda: {str(o["id"]): o for o in self.client.list(path, params)})

    @property
    def tax_rates(self) -> dict[str, dict[str, Any]]:
        return dict(self._table("tax_rates", "tax_rates"))

    @property
    def ledger_accounts(self) -> dict[str, dict[str, Any]]:
        return dict(self._table("ledger_accounts", "ledger_accounts"))

    @property
    def bank_accounts(self) -> dict[str, dict[str, Any]]:
        return dict(self._table("bank_accounts", "bank_accounts"))

    def remember(self, table: str, obj: Mapping[str, Any]) -> None:
        """Keep a record the connector just wrote (or changed) in the cached table."""
        _ = self.id
        with self._lock:
            if table in self._cache:
                self._cache[table][str(obj["id"])] = dict(obj)

    def drop(self, table: str, object_id: str) -> None:
        with self._lock:
            self._cache.get(table, {}).pop(object_id, None)

    def invalidate(self, table: str) -> None:
        with self._lock:
            self._cache.pop(table, None)

    # -- questions about the chart ---------------------------------------------------------------

    def ledger_by_code(self, code: int) -> dict[str, Any] | None:
        for account in self.ledger_accounts.values():
            if int(account.get("nominal_code") or -1) == code:
                return account
        return None

    def ledger_by_control(self, control_name: str) -> dict[str, Any] | None:
        for account in self.ledger_accounts.values():
            if account.get("control_name") == control_name:
                return account
        return None

    def bank_for_ledger(self, ledger_id: str) -> dict[str, Any] | None:
        for bank in self.bank_accounts.values():
            if (bank.get("ledger_account") or {}).get("id") == ledger_id:
                return bank
        return None

    # -- analysis categories (tracking) ----------------------------------------------------------

    def categories(self, analysis_type_id: str, *, fresh: bool = False) -> dict[str, str]:
        """Category code → category id within one analysis type."""
        if fresh:
            self.invalidate("categories")
        table = self._table("categories", "analysis_type_categories")
        return {
            str(c.get("code")): str(c["id"])
            for c in table.values()
            if (c.get("analysis_type") or {}).get("id") == analysis_type_id
        }
