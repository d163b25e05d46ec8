"""Reconcile: the proof that nothing was lost, built from extractions of both sides.

The source is read, the target is read back (never our own logs), and each side is posted into
a trial balance and contact balances in base currency. The target's ids are turned back into the
source's keys through the id map so the two sides line up account by account. Every difference
is then set against the postings of the source records that are not on the target (skipped,
failed, not yet migrated); a difference those records account for to the penny is explained.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from .contract import Rejected
from .ledger import Ledger, contact_effect, postings
from .model import ENTITY_ORDER, ControlRole, Record
from .plugins import Connector
from .references import remap
from .state import OutcomeRow, StateStore

__all__ = ["Difference", "Explanation", "Reconciliation", "reconcile"]

_ZERO = Decimal(0)
_MASTER = frozenset(
    {
        "company",
        "tax_rates",
        "ledger_accounts",
        "tracking_categories",
        "bank_accounts",
        "contacts",
        "items",
    }
)


@attrs.frozen(kw_only=True)
class Explanation:
    """A source record that is not on the target, and what it posts to the line in question."""

    entity: str
    key: str
    amount: Decimal
    outcome: str
    reason: str | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "key": self.key,
            "amount": str(self.amount),
            "outcome": self.outcome,
            "reason": self.reason,
            "message": self.message,
        }


@attrs.frozen(kw_only=True)
class Difference:
    """One line (an account or a contact) whose balance differs between source and target."""

    kind: str
    key: str
    name: str
    source: Decimal
    target: Decimal
    explanations: tuple[Explanation, ...] = ()

    @property
    def difference(self) -> Decimal:
        return self.source - self.target

    @property
    def explained(self) -> Decimal:
        return sum((e.amount for e in self.explanations), _ZERO)

    @property
    def unexplained(self) -> Decimal:
        return self.difference - self.explained

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "name": self.name,
            "source": str(self.source),
            "target": str(self.target),
            "difference": str(self.difference),
            "explained": str(self.explained),
            "unexplained": str(self.unexplained),
            "explanations": [e.to_dict() for e in self.explanations],
        }


@attrs.frozen(kw_only=True)
class Balance:
    kind: str
    key: str
    name: str
    source: Decimal
    target: Decimal


@attrs.frozen(kw_only=True)
class Reconciliation:
    """Source against target: trial balance, receivables, payables and bank, to the penny."""

    as_of: dt.date | None
    source: str
    target: str
    balances: tuple[Balance, ...]
    differences: tuple[Difference, ...]
    notes: tuple[str, ...] = ()

    @property
    def unexplained(self) -> tuple[Difference, ...]:
        return tuple(d for d in self.differences if d.unexplained)

    @property
    def ok(self) -> bool:
        """True when every difference is explained by records that did not move."""
        return not self.unexplained

    def totals(self, kind: str) -> tuple[Decimal, Decimal]:
        lines = [b for b in self.balances if b.kind == kind]
        return sum((b.source for b in lines), _ZERO), sum((b.target for b in lines), _ZERO)

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "source": self.source,
            "target": self.target,
            "ok": self.ok,
            "differences": [d.to_dict() for d in self.differences],
            "unexplained": len(self.unexplained),
            "balances": [
                {
                    "kind": b.kind,
                    "key": b.key,
                    "name": b.name,
                    "source": str(b.source),
                    "target": str(b.target),
                }
                for b in self.balances
            ],
            "notes": list(self.notes),
        }


def _dated_in(record: Record, as_of: dt.date | None) -> bool:
    if as_of is None:
        return True
    date = getattr(record, "date", None) or getattr(record, "as_of", None)
    return not isinstance(date, dt.date) or date <= as_of


class _Side:
    """One side's ledger, plus the postings of records missing from the other side."""

    def __init__(self) -> None:
        self.ledger = Ledger()
        self.names: dict[str, str] = {}
        self.contact_names: dict[str, str] = {}
        self.kinds: dict[str, str] = {}

    def add(self, record: Record) -> None:
        self.ledger.add(record)
        name = getattr(record, "name", None)
        if record.entity == "ledger_accounts" and name:
            self.names[record.key] = f"{getattr(record, 'code', record.key)} {name}"
        elif record.entity == "contacts" and name:
            self.contact_names[record.key] = name
            self.kinds[record.key] = (
                "receivables" if getattr(record, "is_customer", False) else "payables"
            )


def reconcile(
    source: Connector,
    target: Connector,
    store: StateStore,
    migration_id: int,
    *,
    entities: Sequence[str] = ENTITY_ORDER,
    as_of: dt.date | None = None,
) -> Reconciliation:
    """Compare balances computed from both extractions; explain each difference."""
    problems = store.latest_problems(migration_id)
    source_side = _Side()
    missing_accounts: defaultdict[str, list[Explanation]] = defaultdict(list)
    missing_contacts: defaultdict[str, list[Explanation]] = defaultdict(list)
    notes: list[str] = []

    for entity in entities:
        if not source.capabilities(entity).extract:
            continue
        for chunk in _chunked(source.extract(entity), 500):
            records = [r for r in chunk if not isinstance(r, Rejected) and _dated_in(r, as_of)]
            for record in records:
                source_side.add(record)
            if entity in _MASTER:
                continue
            live = store.lookup(migration_id, entity, [r.key for r in records])
            for record in records:
                entry = live.get(record.key)
                if entry is not None and entry.state == "active":
                    continue
                problem = problems.get((entity, record.key))
                explain = _explainer(entity, record.key, problem)
                for account, amount in postings(record, source_side.ledger.chart):
                    missing_accounts[account].append(explain(amount))
                effect = contact_effect(record)
                if effect is not None:
                    missing_contacts[effect[0]].append(explain(effect[3]))

    target_side = _Side()
    to_source = _Reverse(store, migration_id)
    for entity in entities:
        if not target.capabilities(entity).extract:
            notes.append(f"{target.name} cannot read back {entity}; they are not compared")
            continue
        for item in target.extract(entity):
            if isinstance(item, Rejected):
                notes.append(f"{target.name} returned an unreadable {entity} record {item.key}")
                continue
            translated = remap(item, to_source, own_key=True)
            if _dated_in(translated, as_of):
                target_side.add(translated)

    balances, differences = _compare(source_side, target_side, missing_accounts, missing_contacts)
    return Reconciliation(
        as_of=as_of,
        source=source.name,
        target=target.name,
        balances=tuple(balances),
        differences=tuple(differences),
        notes=tuple(dict.fromkeys(notes)),
    )


def _explainer(entity: str, key: str, problem: OutcomeRow | None) -> Any:
    def explain(amount: Decimal) -> Explanation:
        return Explanation(
            entity=entity,
            key=key,
            amount=amount,
            outcome=str(problem.outcome) if problem else "not migrated",
            reason=problem.reason if problem else None,
            message=problem.message if problem else None,
        )

    return explain


class _Reverse:
    """Target ids back to source keys, one entity's map at a time, loaded on demand."""

    def __init__(self, store: StateStore, migration_id: int) -> None:
        self._store = store
        self._migration_id = migration_id
        self._maps: dict[str, Mapping[str, str]] = {}

    def __call__(self, entity: str, key: str) -> str:
        mapping = self._maps.get(entity)
        if mapping is None:
            mapping = self._maps[entity] = self._store.reverse_lookup(self._migration_id, entity)
        return mapping.get(key, f"target:{key}")


def _compare(
    source: _Side,
    target: _Side,
    missing_accounts: Mapping[str, list[Explanation]],
    missing_contacts: Mapping[str, list[Explanation]],
) -> tuple[list[Balance], list[Difference]]:
    balances: list[Balance] = []
    differences: list[Difference] = []
    chart = source.ledger.chart
    banks = set(chart.bank_ledger.values())
    roles = {key: role for role, key in chart.roles.items()}
    source_tb = source.ledger.trial_balance()
    target_tb = target.ledger.trial_balance()
    for account in sorted(set(source_tb) | set(target_tb)):
        kind = "bank" if account in banks else "trial_balance"
        if roles.get(account) is ControlRole.RECEIVABLES:
            kind = "receivables_control"
        elif roles.get(account) is ControlRole.PAYABLES:
            kind = "payables_control"
        name = source.names.get(account) or target.names.get(account) or account
        left, right = source_tb.get(account, _ZERO), target_tb.get(account, _ZERO)
        balances.append(Balance(kind=kind, key=account, name=name, source=left, target=right))
        if left != right:
            differences.append(
                Difference(
                    kind=kind,
                    key=account,
                    name=name,
                    source=left,
                    target=right,
                    explanations=tuple(missing_accounts.get(account, ())),
                )
            )
    source_contacts = source.ledger.contact_base_balances()
    target_contacts = target.ledger.contact_base_balances()
    for contact in sorted(set(source_contacts) | set(target_contacts)):
        kind = source.kinds.get(contact) or target.kinds.get(contact) or "receivables"
        name = source.contact_names.get(contact) or target.contact_names.get(contact) or contact
        left = source_contacts.get(contact, _ZERO)
        right = target_contacts.get(contact, _ZERO)
        balances.append(Balance(kind=kind, key=contact, name=name, source=left, target=right))
        if left != right:
            differences.append(
                Difference(
                    kind=kind,
                    key=contact,
                    name=name,
                    source=left,
                    target=right,
                    explanations=tuple(missing_contacts.get(contact, ())),
                )
            )
    return balances, differences


def _chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
