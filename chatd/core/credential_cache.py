"""Checked credentials kept in memory for a few seconds, so a request costs no database read to authenticate
(docs/design.md §7: sessions cached with correct invalidation).

Invalidation: a revocation on this node forgets the user's entries at once (``forget_user``), and so does
the hub on every node when the revocation event arrives over the bus; the TTL, on the injected clock, bounds
what a lost event can cost (and a clock moved past a session's end also ends its cached entry).
"""

from __future__ import annotations

from ..domain.models import Principal
from .clock import Clock


class CredentialCache:
    def __init__(self, ttl_seconds: float, clock: Clock, max_entries: int = 100_000) -> None:
        self.ttl = ttl_seconds
        self.clock = clock
        self.max_entries = max_entries
        self._entries: dict[str, tuple[Principal, float]] = {}

    def get(self, key: str) -> Principal | None:
        found = self._entries.get(key)
        if found is None:
            return None
        principal, expires = found
        if self.clock.monotonic() >= expires:
            del self._entries[key]
            return None
        return principal

    def put(self, key: str, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # crude but bounded: the next requests refill it
        self._entries[key] = (principal, self.clock.monotonic() + self.ttl)

    def forget_user(self, user_id: int) -> None:
        for key in [k for k, (p, _) in self._entries.items() if p.user_id == user_id]:
            del self._entries[key]
