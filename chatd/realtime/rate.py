"""A token bucket per connection: ``rate`` frames a second on average, bursts up to ``burst``."""

from __future__ import annotations

from ..core.clock import Clock


class TokenBucket:
    def __init__(self, rate: float, burst: int, clock: Clock) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.clock = clock
        self.stamp = clock.monotonic()
        self.strikes = 0  # frames refused in a row; too many and the connection is closed

    def take(self) -> float:
        """0 if a frame may pass, else the seconds until one may."""
        now = self.clock.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.strikes = 0
            return 0.0
        self.strikes += 1
        return (1 - self.tokens) / self.rate
