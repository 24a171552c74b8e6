"""The failed-authentication throttle: a sliding window per address, bounded memory."""

from __future__ import annotations

from app.web.auth_throttle import FailureThrottle


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limit_window_and_retry_after():
    clock = Clock()
    throttle = FailureThrottle(3, 60, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("a") is None
        throttle.record_failure("a")
        clock.now += 10
    assert throttle.retry_after("a") == 30  # the first failure leaves the window at 1060
    assert throttle.retry_after("b") is None  # per address
    clock.now = 1060.5
    assert throttle.retry_after("a") is None


def test_zero_disables():
    throttle = FailureThrottle(0, 60)
    for _ in range(100):
        throttle.record_failure("a")
    assert throttle.retry_after("a") is None


def test_memory_stays_bounded_under_many_addresses():
    clock = Clock()
    throttle = FailureThrottle(5, 60, max_addresses=100, clock=clock)
    for n in range(1000):
        throttle.record_failure(f"10.0.{n // 256}.{n % 256}")
        clock.now += 0.001
    assert len(throttle._failures) <= 100
    for _ in range(50):
        throttle.record_failure("a")
    assert len(throttle._failures["a"]) == 5
