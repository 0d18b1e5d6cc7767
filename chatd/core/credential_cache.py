"""Checked credentials kept in memory for a few seconds, so a request costs no database read to authenticate
(docs/design.md §7: sessions cached with correct invalidation).

Invalidation: a revocation on this node forgets the user's entries at once (``forget_user``), and so does
the hub on every node when the revocation event arrives over the bus; after a bus gap, when such an event may
have been lost, everything is forgotten (``forget_all``, ``realtime/recovery.py``); the TTL, on the injected
clock, bounds what a lost event can cost meanwhile (and a clock moved past a session's end also ends its
cached entry).

Concurrent misses of one credential share one lookup (``load``): when an entry expires while its client
has many requests in flight (a bot's senders on one token, a browser loading a page), each of them would
otherwise read the same session and user at the same moment.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from functools import partial
from typing import Awaitable, Callable

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
        self._flights: dict[tuple[str, str], asyncio.Task[Principal]] = {}
        self._airborne: set[asyncio.Task[Principal]] = set()  # every lookup until it lands, forgotten or not
        self._generation = 0  # moved by every forget: a lookup begun before one must not fill the cache

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

    async def load(self, key: str, client_id: str, look_up: Callable[[], Awaitable[Principal]]) -> Principal:
        """The principal ``look_up`` finds for ``key`` as presented by ``client_id``, read once for all the
        misses that arrive while it runs (single-flight), then cached; its refusal is shared the same way,
        never cached.

        The flight is keyed by the client too: what a lookup finds depends on it (a session refuses another
        client; a token's principal carries its caller's client), so a waiter gets exactly the answer its
        own lookup would have given. The lookup runs as its own task, each waiter behind a shield: a waiter
        cancelled (its client left) cancels neither the lookup nor the others. A forget during the lookup
        (a revocation) keeps its answer out of the cache and makes later misses read anew: the lookup may
        have read the credential before the revocation committed."""
        flight = (key, client_id)
        task = self._flights.get(flight)
        if task is None:
            task = asyncio.create_task(self._fly(key, look_up, self._generation))
            self._flights[flight] = task
            self._airborne.add(task)
            task.add_done_callback(partial(self._landed, flight))
        return await asyncio.shield(task)

    async def _fly(self, key: str, look_up: Callable[[], Awaitable[Principal]], generation: int) -> Principal:
        """``generation`` is the one ``load`` began the flight in, not the one the task first runs in: a forget
        between the two is still one during the lookup."""
        principal = await look_up()
        if generation == self._generation:
            self.put(key, principal)
        return principal

    def _landed(self, flight: tuple[str, str], task: asyncio.Task[Principal]) -> None:
        self._airborne.discard(task)
        if self._flights.get(flight) is task:
            del self._flights[flight]
        if not task.cancelled():
            task.exception()  # retrieved: a refusal whose waiters all left is not logged as never retrieved

    def forget_user(self, user_id: int) -> None:
        """Drop the user's entries, and every lookup under way (whose user is not known before it ends)."""
        self._forget_flights()
        for key in [k for k, (p, _) in self._entries.items() if p.user_id == user_id]:
            del self._entries[key]

    def forget_all(self) -> None:
        self._forget_flights()
        self._entries.clear()

    def _forget_flights(self) -> None:
        """Lookups under way finish for the requests already waiting on them, but fill no entry, and the
        next miss starts its own (it reads what the revocation left). ``_airborne`` still holds them: the loop
        keeps only weak references to tasks, and a forgotten lookup whose waiters all left has no other."""
        self._generation += 1
        self._flights.clear()
