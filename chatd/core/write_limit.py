"""One allowance of writes per user, shared by every face: HTTP writes and websocket frames that change
something draw from the same bucket (docs/security.md §4).

A token bucket per user: ``limits.writes_per_second`` on average, bursts up to ``limits.write_burst``. An
empty bucket is a ``RateLimited`` (429 with ``Retry-After``, or an error frame with ``retry_after``). The
settings are read on every call, so a changed limit applies at once. Buckets that have refilled are
forgotten, so memory follows the users writing now, not every user ever seen.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import LimitSettings
from .clock import Clock
from ..domain.errors import RateLimited

_PRUNE_ABOVE = 10_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


class WriteLimiter:
    def __init__(self, clock: Clock, limits: LimitSettings) -> None:
        self._clock = clock
        self._limits = limits
        self._buckets: dict[int, _Bucket] = {}

    def take(self, user_id: int) -> None:
        """Spend one write of ``user_id``'s allowance, or refuse with the seconds until one is back."""
        rate, burst = self._limits.writes_per_second, float(self._limits.write_burst)
        now = self._clock.monotonic()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            if len(self._buckets) >= _PRUNE_ABOVE:
                self._prune(now, rate, burst)
            bucket = self._buckets[user_id] = _Bucket(burst, now)
        tokens = bucket.tokens + (now - bucket.stamp) * rate
        bucket.tokens = tokens if tokens < burst else burst  # not ``min``, dearer than the sum (every write)
        bucket.stamp = now
        if bucket.tokens < 1:
            raise RateLimited("too many writes; slow down", retry_after=(1 - bucket.tokens) / rate)
        bucket.tokens -= 1

    def _prune(self, now: float, rate: float, burst: float) -> None:
        full = [user for user, b in self._buckets.items() if b.tokens + (now - b.stamp) * rate >= burst]
        for user in full:
            del self._buckets[user]

    def __len__(self) -> int:
        return len(self._buckets)
