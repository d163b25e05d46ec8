"""Client-side rate limiting: calls in flight, calls per minute, calls per day.

APIs publish their limits (Xero: 5 concurrent, 60 a minute, 5,000 a day per tenant) and answer
429 when they are broken. Staying under them on our side is cheaper than being told off, and the
server's own counters (``X-MinLimit-Remaining``) correct ours when they disagree.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator

import attrs

from migrationkit.core.errors import DailyLimitReached

__all__ = ["Limits", "RateLimiter"]


@attrs.frozen
class Limits:
    """Published limits; ``None`` means no limit of that kind."""

    concurrent: int | None = None
    per_minute: int | None = None
    per_day: int | None = None
    minute: float = 60.0
    day: float = 86_400.0

    def scaled(self, factor: float) -> Limits:
        """The same limits with time running ``factor`` times faster (for sandboxes)."""
        return attrs.evolve(self, minute=self.minute / factor, day=self.day / factor)


class RateLimiter:
    """Blocks a caller until a call fits within the limits; thread-safe.

    ``clock`` and ``sleep`` can be replaced so tests run in no time.
    """

    def __init__(
        self,
        limits: Limits,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._in_flight = threading.BoundedSemaphore(limits.concurrent or 1_000_000)
        self._minute: collections.deque[float] = collections.deque()
        self._day: collections.deque[float] = collections.deque()
        self._paused_until = 0.0
        self.calls = 0
        self.waited = 0.0

    @contextlib.contextmanager
    def slot(self, cost: int = 1) -> Iterator[None]:
        """Hold one call's place: wait for room in every window, then count the call.

        ``cost`` is what the call counts against the windows, for APIs that weigh calls
        (Twinfield's credits: a query costs 1, a write 3).
        """
        self._in_flight.acquire()
        try:
            self._wait_for_room(cost)
            yield
        finally:
            self._in_flight.release()

    def _wait_for_room(self, cost: int = 1) -> None:
        if self.limits.per_minute is not None:
            cost = min(cost, self.limits.per_minute)  # a call dearer than a window still goes
        while True:
            with self._lock:
                now = self._clock()
                delay = self._delay(now, cost)
                if delay <= 0:
                    self._minute.extend([now] * cost)
                    self._day.extend([now] * cost)
                    self.calls += 1
                    return
            self.waited += delay
            self._sleep(delay)

    def _delay(self, now: float, cost: int = 1) -> float:
        limits = self.limits
        delay = self._paused_until - now
        while self._minute and self._minute[0] <= now - limits.minute:
            self._minute.popleft()
        while self._day and self._day[0] <= now - limits.day:
            self._day.popleft()
        if limits.per_minute is not None and len(self._minute) + cost > limits.per_minute:
            # Room comes when the oldest of the calls that must expire has left the window.
            index = min(len(self._minute), len(self._minute) + cost - limits.per_minute) - 1
            delay = max(delay, self._minute[max(index, 0)] + limits.minute - now)
        if limits.per_day is not None and len(self._day) + cost > limits.per_day:
            wait = self._day[0] + limits.day - now
            raise DailyLimitReached(
                f"the daily limit of {limits.per_day} calls is spent; the run can resume in "
                f"{_human(wait)}",
                retry_after=wait,
                resume_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=wait),
            )
        return delay

    def pause(self, seconds: float) -> None:
        """Hold every caller back for ``seconds`` (the server said ``Retry-After``)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def observe(self, minute_remaining: int | None, day_remaining: int | None) -> None:
        """Align our windows with the server's own count of what remains."""
        with self._lock:
            now = self._clock()
            # Calls we did not count (another process, our own retries) are counted as made
            # now: at the newest end, so the window stays in time order and expires them on time.
            if minute_remaining is not None and self.limits.per_minute is not None:
                used = self.limits.per_minute - minute_remaining
                while len(self._minute) < used:
                    self._minute.append(now)
            if day_remaining is not None and self.limits.per_day is not None:
                used = self.limits.per_day - day_remaining
                while len(self._day) < used:
                    self._day.append(now)


def _human(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes >= 90:
        return f"{minutes // 60} h {minutes % 60} min"
    if minutes:
        return f"{minutes} min"
    return f"{max(int(seconds), 1)} s"
