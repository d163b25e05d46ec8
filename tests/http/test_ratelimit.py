"""The client-side limiter keeps within per-minute and per-day windows."""

from __future__ import annotations

import pytest

from migrationkit import DailyLimitReached
from migrationkit.http import Limits, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_per_minute_window_spaces_calls_and_never_exceeds() -> None:
    clock = FakeClock()
    limiter = RateLimiter(Limits(per_minute=60), clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(150):
        with limiter.slot():
            stamps.append(clock.now)
    for n in range(len(stamps) - 60):
        assert stamps[n + 60] - stamps[n] >= 60.0
    assert clock.now == pytest.approx(120.0)  # 150 calls need two full windows after the first


def test_daily_limit_stops_cleanly_with_when_to_resume() -> None:
    clock = FakeClock()
    limiter = RateLimiter(Limits(per_day=3), clock=clock, sleep=clock.sleep)
    for _ in range(3):
        with limiter.slot():
            pass
    with pytest.raises(DailyLimitReached, match="daily limit of 3 calls") as caught, limiter.slot():
        pass
    assert caught.value.retry_after == pytest.approx(86_400.0)


def test_server_counts_and_pauses_are_respected() -> None:
    clock = FakeClock()
    limiter = RateLimiter(Limits(per_minute=10), clock=clock, sleep=clock.sleep)
    limiter.observe(minute_remaining=0, day_remaining=None)
    with limiter.slot():
        pass
    assert clock.now == pytest.approx(60.0)
    limiter.pause(30)
    with limiter.slot():
        pass
    assert clock.now == pytest.approx(90.0)


def test_scaled_limits_run_time_faster() -> None:
    assert Limits(per_minute=60).scaled(100).minute == pytest.approx(0.6)


def test_calls_counted_from_server_headers_expire_in_time_order() -> None:
    clock = FakeClock()
    limiter = RateLimiter(Limits(per_minute=10), clock=clock, sleep=clock.sleep)
    for _ in range(5):
        with limiter.slot():
            pass
    clock.now = 50.0
    # The server says the window is full: five calls we did not make were made just now.
    limiter.observe(minute_remaining=0, day_remaining=None)
    with limiter.slot():
        pass
    # Our own five calls from t=0 leave the window at t=60; the next call waits only until then.
    assert clock.now == pytest.approx(60.0)


def test_weighted_calls_count_their_cost_against_the_window() -> None:
    """Twinfield weighs calls in credits: a write costs 3, a query 1, 1,000 a minute."""
    clock = FakeClock()
    limiter = RateLimiter(Limits(per_minute=10), clock=clock, sleep=clock.sleep)
    stamps = []
    for cost in (3, 3, 3, 1, 3, 1):
        with limiter.slot(cost):
            stamps.append(clock.now)
    # 3+3+3+1 fill the first window; the next write waits until the first one's credits expire.
    assert stamps[:4] == [0.0, 0.0, 0.0, 0.0]
    assert stamps[4] == pytest.approx(60.0)
    assert stamps[5] == pytest.approx(60.0)
    with limiter.slot(50):  # dearer than a whole window: waits for the window, then goes
        assert clock.now >= 60.0
