"""This node's batches on their way to the other nodes: bounded, in order, and never waited on.

A write is acknowledged once its transaction commits and its events are handed to this node's sockets
(``RedisBus.publish``); what the other nodes need goes into the outbox and is published by one sender task,
in the order it was put, so neither a slow nor a dead Redis delays an acknowledgement
(docs/design.md §4.1, §5). The outbox is bounded twice: a batch that finds it full, or that could not be
handed to Redis within ``budget`` seconds, is dropped from the bus path.

Dropping loses nothing. Every channel event is already in the store, and every batch carries its number
(``n``, counted per outbox): a node that receives batch 12 after batch 9 knows it missed two and fills its
sockets from the store before delivering more (``RedisBus.on_gap``). Numbers alone cannot tell a node that
has not heard from this one yet (it started, or this one did) what it missed, and would not tell anyone
when the dropped batches were the last before a quiet spell; so, once Redis takes writes again, the sender
first publishes a notice, "I dropped batches up to n" (a message with no events), then what is queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from typing import Awaitable, Callable, Sequence

import orjson

from ..domain.events import Event

log = logging.getLogger("chatd.bus")

Send = Callable[[list[bytes]], Awaitable[None]]


class Backoff:
    """Exponential backoff with jitter, so nodes that lost Redis together don't reconnect in lockstep."""

    def __init__(self, base: float = 0.1, cap: float = 5.0) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0

    def next_delay(self) -> float:
        """The next wait: base·2ⁿ capped, then drawn from its upper half ("equal jitter": never ~0)."""
        ceiling = min(self.cap, self.base * (2**self.attempt))
        self.attempt += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0


def encode(origin: str, n: int, events: Sequence[Event]) -> bytes:
    """One bus message: the sending outbox, its number, and the batch; with no events it is a notice,
    "I dropped batches up to n"."""
    return orjson.dumps({"origin": origin, "n": n, "events": [event.to_wire() for event in events]})


class Outbox:
    def __init__(
        self, origin: str, send: Send, *, size: int = 10_000, budget: float = 1.0, chunk: int = 256,
        backoff: Backoff | None = None,
    ) -> None:
        self.origin = origin
        self.size = size
        self.budget = budget
        self.chunk = chunk
        self.numbered = 0  # the number of the latest batch put (published or dropped)
        self.dropped = 0  # batches dropped from the bus path since start
        self._send = send
        self._backoff = backoff or Backoff()
        self._queue: deque[tuple[float, int, bytes]] = deque()  # (when put, number, message)
        self._wake = asyncio.Event()
        self._last_dropped = 0  # the highest number dropped …
        self._last_announced = 0  # … and announced in a notice: when the first is higher, a notice is owed
        self._task: asyncio.Task[None] | None = None
        self._sending = False  # a chunk is on its way: stop() lets it finish within its grace
        self._failures = 0  # consecutive failed attempts: an outage, logged once

    def put(self, events: Sequence[Event]) -> None:
        """Number the batch and queue it for the sender; never waits. Full: drop it (the number stays used)."""
        self.numbered += 1
        if len(self._queue) >= self.size:
            self._drop(self.numbered)
        else:
            n = self.numbered
            self._queue.append((asyncio.get_running_loop().time(), n, encode(self.origin, n, events)))
        self.start()  # a publisher that never subscribes (a CLI command) starts its sender here
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="chatd-bus-outbox")

    async def stop(self, grace: float) -> None:
        """Give queued batches up to ``grace`` seconds to go out, then stop the sender."""
        if self._task is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while (self._queue or self._sending) and loop.time() < deadline and not self._task.done():
            await asyncio.sleep(0.01)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    # --- the sender ----------------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            if self._last_dropped > self._last_announced:  # tell the others first, so they fill from the store
                dropped = self._last_dropped
                await self._attempt([(dropped, encode(self.origin, dropped, []))], notice=True)
                continue
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            if self._expire():
                continue  # the notice goes first
            chunk = [self._queue.popleft()[1:] for _ in range(min(self.chunk, len(self._queue)))]
            await self._attempt(chunk)

    async def _attempt(self, chunk: list[tuple[int, bytes]], *, notice: bool = False) -> None:
        """Publish a chunk (or a notice); on failure its batches are dropped (a notice is simply owed still)."""
        self._sending = True
        try:
            await self._send([payload for _, payload in chunk])
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any Redis or socket failure: the batches are in the store already
            if not notice:
                for n, _ in chunk:
                    self._drop(n)
            self._sending = False
            self._warn(exc)
            await asyncio.sleep(self._backoff.next_delay())
            return
        self._sending = False
        self._backoff.reset()
        if notice:
            self._last_announced = max(self._last_announced, chunk[-1][0])
        if self._failures:
            log.info("bus: publishing to Redis works again after %d failed attempts (%d batches dropped since "
                     "start, filled from the store)", self._failures, self.dropped)
            self._failures = 0

    def _expire(self) -> bool:
        """Drop what waited longer than the budget: its receivers are better served by the store now."""
        oldest = asyncio.get_running_loop().time() - self.budget
        expired = False
        while self._queue and self._queue[0][0] < oldest:
            self._drop(self._queue.popleft()[1])
            expired = True
        return expired

    def _drop(self, n: int) -> None:
        self.dropped += 1
        self._last_dropped = max(self._last_dropped, n)

    def _warn(self, exc: Exception) -> None:
        """One warning per outage, at its first failure; the rest go to debug, and the end is one info line."""
        self._failures += 1
        if self._failures == 1:
            log.warning("bus: publishing to Redis failed: %s: %s; batches that cannot be published within %g s "
                        "are dropped and the other nodes fill them from the store", type(exc).__name__, exc,
                        self.budget)
        else:
            log.debug("bus: publish to Redis failed: %s: %s", type(exc).__name__, exc)
