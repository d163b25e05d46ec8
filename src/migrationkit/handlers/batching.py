"""Sending many records in several requests, and the keys that make a request safe to repeat.

Two things every batching API connector needs and none should write again:

- :func:`in_chunks` sends elements ``size`` to a request, several requests at once, and puts
  the per-element answers back in element order, so a batch's results map back to its records
  however the requests interleave;
- :func:`idempotency_key` derives an ``Idempotency-Key`` from what a request writes (the
  engine's idempotency keys of its records), so the same request sent again, after a dropped
  connection or by a resumed run in another process, carries the same key and the target
  answers it from memory instead of writing twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["idempotency_key", "in_chunks"]

T = TypeVar("T")
R = TypeVar("R")


def in_chunks(
    items: Sequence[T],
    size: int,
    send: Callable[[Sequence[T]], Sequence[R]],
    *,
    in_flight: int = 1,
) -> list[R]:
    """Send ``items`` ``size`` to a call of ``send``, up to ``in_flight`` calls at once.

    ``send`` answers one result per element of its chunk, in order; the results come back in
    the order of ``items``. One chunk is sent on the calling thread. An error in any call
    propagates (the other calls in flight finish first): the caller treats the whole write as
    failed and resolves it element by element later.
    """
    if size < 1:
        raise ValueError("a chunk holds at least one element")
    chunks = [items[start : start + size] for start in range(0, len(items), size)]

    def answered(chunk: Sequence[T]) -> list[R]:
        answers = list(send(chunk))
        if len(answers) != len(chunk):
            raise RuntimeError(f"a chunk of {len(chunk)} elements got {len(answers)} answers")
        return answers

    if len(chunks) <= 1 or in_flight <= 1:
        return [answer for chunk in chunks for answer in answered(chunk)]
    with ThreadPoolExecutor(max_workers=min(in_flight, len(chunks))) as pool:
        return [answer for answers in pool.map(answered, chunks) for answer in answers]


def idempotency_key(*scope: str, keys: Iterable[str] = (), length: int = 60) -> str:
    """An ``Idempotency-Key`` for one write: ``mk-`` and a digest of its scope and record keys.

    ``scope`` says where the write goes (the tenant or company, the entity, which part of a
    record); ``keys`` are the engine's idempotency keys of the records it carries, in order
    (an intent's key is stable across retries and restarts, so this one is too). Two
    different writes never share a key; the same write always gets the same one.
    """
    material = ":".join(scope) + ":" + "|".join(keys)
    return "mk-" + hashlib.sha256(material.encode()).hexdigest()[:length]
