"""Demo samples: N records per entity, chosen deterministically and referentially closed."""

from __future__ import annotations

import hashlib
import heapq
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from .contract import Rejected
from .model import Record, Reference

__all__ = ["select_sample"]


def _score(seed: int, key: str) -> int:
    digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def select_sample(
    extract: Callable[[str], Iterable[Record | Rejected]],
    entities: Sequence[str],
    size: int,
    seed: int = 0,
) -> dict[str, set[str]]:
    """Choose up to ``size`` records per entity, plus everything they refer to.

    References point backwards in load order, so the entities are visited last to first: by the
    time an entity is read, every record that needs one of its records has already asked for it.
    Each visit keeps the ``size`` records with the smallest hash of ``seed`` and key (the same
    sample after a rollback) and adds the records later entities require. An entity whose records
    refer to each other (open items allocated to open items) is read again until closed.
    """
    required: defaultdict[str, set[str]] = defaultdict(set)
    chosen: dict[str, set[str]] = {}
    for entity in reversed(entities):
        wanted = required[entity]
        heap: list[tuple[int, str, tuple[Reference, ...]]] = []
        refs: list[Reference] = []
        for item in extract(entity):
            if isinstance(item, Rejected):
                continue
            if item.key in wanted:
                refs.extend(item.references())
                continue
            # A max-heap on the score keeps the ``size`` smallest scores seen so far.
            entry = (-_score(seed, item.key), item.key, tuple(item.references()))
            if len(heap) < size:
                heapq.heappush(heap, entry)
            elif size > 0 and entry > heap[0]:
                heapq.heapreplace(heap, entry)
        selected = {key for _, key, _ in heap} | wanted
        for _, _key, item_refs in heap:
            refs.extend(item_refs)
        missing = {key for ref_entity, key in refs if ref_entity == entity} - selected
        while missing:
            # Records of this entity refer to others of it: take those too, and their references.
            selected |= missing
            more: list[Reference] = []
            for item in extract(entity):
                if not isinstance(item, Rejected) and item.key in missing:
                    more.extend(item.references())
            refs.extend(more)
            missing = {key for ref_entity, key in more if ref_entity == entity} - selected
        for ref_entity, key in refs:
            if ref_entity != entity:
                required[ref_entity].add(key)
        chosen[entity] = selected
    return chosen
