"""Checked credentials kept in memory for a few seconds, so a request costs no database read to authenticate
(docs/design.md §7: sessions cached with correct invalidation).

Invalidation: a revocation on this node forgets the user's entries at once (``forget_user``), and so does
the hub on every node when the revocation event arrives over the bus; after a bus gap, when such an event may
have been lost, everything is forgotten (``forget_all``, ``realtime/recovery.py``); the TTL, on the injected
clock, bounds what a lost event can cost meanwhile (and a clock moved past a session's end also ends its
cached entry).
"""

from __future__ import annotations

from collections import OrderedDict

from ..domain.models import Principal
from .clock import Clock


class CredentialCache:
    """Entries in the order they expire (one TTL for all), so each ``put`` drops the expired ones from the
    front: a credential used once (a client that logs in for every connection) costs nothing after its TTL.
    Without that sweep each one stayed until the cache was full, about 1.2 KiB apiece (docs/reliability.md)."""

    def __init__(self, ttl_seconds: float, clock: Clock, max_entries: int = 100_000) -> None:
        self.ttl = ttl_seconds
        self.clock = clock
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

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
        now = self.clock.monotonic()
        while self._entries and next(iter(self._entries.values()))[1] <= now:
            self._entries.popitem(last=False)
        self._entries.pop(key, None)
        if len(self._entries) >= self.max_entries:
            self._entries.popitem(last=False)  # the one closest to expiry
        self._entries[key] = (principal, now + self.ttl)

    def forget_user(self, user_id: int) -> None:
        for key in [k for k, (p, _) in self._entries.items() if p.user_id == user_id]:
            del self._entries[key]

    def forget_all(self) -> None:
        self._entries.clear()
