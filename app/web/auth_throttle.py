"""Throttling failed authentications per client address (a sliding window, in memory).

Past `limit` failures within `window` seconds an address gets 429 with Retry-After on every
protected route until its oldest failure leaves the window; its credentials are not even
checked meanwhile, so a flood of guesses costs no database work. Secrets are 256 random bits,
so this is about load and noise, not about making guessing feasible. State is per process:
with N workers an address gets up to N × limit failures (docs/security.md).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class FailureThrottle:
    def __init__(
        self,
        limit: int,
        window_seconds: float,
        *,
        max_addresses: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.limit = limit
        self.window = window_seconds
        self.max_addresses = max_addresses
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str, now: float) -> deque[float] | None:
        failures = self._failures.get(address)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return None
        return failures

    @property
    def failing(self) -> bool:
        """Whether any address has failures on record (else none can be throttled)."""
        return bool(self._failures)

    def retry_after(self, address: str) -> int | None:
        """Seconds until `address` may try again, or None when it is not throttled."""
        if self.limit <= 0:
            return None
        now = self._clock()
        failures = self._recent(address, now)
        if failures is None or len(failures) < self.limit:
            return None
        return max(1, int(failures[0] + self.window - now + 0.999))

    def record_failure(self, address: str) -> None:
        if self.limit <= 0:
            return
        now = self._clock()
        failures = self._recent(address, now)
        if failures is None:
            if len(self._failures) >= self.max_addresses:
                self._forget_oldest(now)
            failures = self._failures[address] = deque()
        failures.append(now)
        while len(failures) > self.limit:
            failures.popleft()

    def _forget_oldest(self, now: float) -> None:
        """Bound the memory an attacker with many addresses can make us use."""
        for address in list(self._failures):
            self._recent(address, now)
        while len(self._failures) >= self.max_addresses:
            oldest = min(self._failures, key=lambda a: self._failures[a][-1])
            del self._failures[oldest]
