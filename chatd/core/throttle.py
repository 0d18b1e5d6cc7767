"""Login throttling: repeated failures for one account or one address get 429 with ``Retry-After``.

Counted in memory per process (a sliding window of failure times per key). Behind a load balancer each
node counts its own; the limit per node still caps guessing at ``max_failures × nodes`` per window.
"""

from __future__ import annotations

from collections import deque

from ..domain.errors import RateLimited
from .clock import Clock


class LoginThrottle:
    def __init__(self, clock: Clock, max_failures: int, window_seconds: float) -> None:
        self._clock = clock
        self._max = max_failures
        self._window = window_seconds
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        cutoff = self._clock.monotonic() - self._window
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def check(self, *keys: str) -> None:
        """Refuse before even checking the password when any key is over its limit."""
        for key in keys:
            times = self._recent(key)
            if len(times) >= self._max:
                retry = times[0] + self._window - self._clock.monotonic()
                raise RateLimited("too many failed logins; try again later", retry_after=retry)

    def failed(self, *keys: str) -> None:
        now = self._clock.monotonic()
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)
        if len(self._failures) > 100_000:  # bound memory under a spray of distinct keys
            for key in list(self._failures)[:50_000]:
                self._recent(key)

    def succeeded(self, account_key: str) -> None:
        self._failures.pop(account_key, None)
