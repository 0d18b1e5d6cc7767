"""The bus: hands every committed event to each process's hub. Chosen by ``bus.url``.

``MemoryBus`` (empty URL or ``memory://``) delivers within this process and is the default and the test
stand-in for a single node.

``RedisBus`` (``redis://`` or ``rediss://``) also carries each batch to every other chatd process over one
Redis pub/sub channel. Publishing never makes a writer wait for Redis: the batch is delivered to this
node's sockets at once and put in a bounded outbox that one task publishes in order (``outbox.py``).
Redis pub/sub is fire-and-forget, and the outbox drops what it cannot publish in time, so a node can miss
batches in two ways, and hears of both: its subscription dropped (``on_reconnect``, once it is back), or
another node's batch numbers skip (``on_gap``). Either way the hub re-reads from the database, where
every channel event already is (events are published only after their commit), before it delivers more.

The bus's own timings (PING after a silence, the throttle on warnings) are transport timings, read on the
event loop's clock like the socket timeouts they pair with; domain time comes from ``core/clock.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from ..config import BusSettings
from ..domain.events import Event
from ..domain.probes import SILENT, Probe
from .outbox import Backoff, Outbox

log = logging.getLogger("chatd.bus")

Deliver = Callable[[Sequence[Event]], Awaitable[None]]
Missed = Callable[[], Awaitable[None]]
#: How many other nodes' batch numbers a bus remembers (each restart of a node is a new origin).
ORIGINS_KEPT = 1024


class MemoryBus:
    probe: Probe = SILENT

    def __init__(self) -> None:
        self._subscribers: list[Deliver] = []

    def subscribe(self, deliver: Deliver) -> None:
        self._subscribers.append(deliver)

    async def publish(self, events: Sequence[Event]) -> None:
        self.probe.events_published(len(events))
        for deliver in self._subscribers:
            await deliver(events)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


@dataclass(slots=True)
class Heard:
    """What this bus received from one other node's outbox (``outbox.py``)."""

    last: int | None = None  # the latest batch number received (None: none yet)
    covered: int = 0  # every batch numbered up to here was received, or filled from the store

    def missed(self, n: int, *, notice: bool) -> bool:
        """A notice says batches up to ``n`` were dropped: missed unless covered. A batch whose number skips
        the last one received says the same of those in between. The first batch heard from a node sets
        where it starts: what it dropped before, it announced before."""
        if notice:
            return n > self.covered
        return self.last is not None and n > self.last + 1 and n - 1 > self.covered


class RedisBus:
    """Delivers locally at once and fans batches out to the other processes over Redis pub/sub.

    Each message is one numbered batch, ``{"origin": <this bus's uuid>, "n": 12, "events": [wire, …]}``
    (``outbox.encode``). A bus ignores its own messages, which it delivered locally before publishing, so
    local delivery never depends on Redis; it drops a repeated number, and a skipped one tells it that
    batches were lost (``on_gap``).
    """

    #: How long ``start()`` waits for the first subscription before letting the app start without Redis.
    start_timeout = 5.0
    #: Reader poll; a silent connection gets a PING after ``ping_after`` s and is dropped ``dead_after`` s
    #: later if nothing at all came back (a half-open TCP connection never raises by itself).
    poll_interval = 1.0
    ping_after = 5.0
    dead_after = 5.0
    probe: Probe = SILENT

    def __init__(
        self,
        url: str,
        *,
        channel: str = "chatd:events",
        socket_timeout: float = 2.0,
        backoff_base: float = 0.1,
        backoff_cap: float = 5.0,
        outbox_size: int = 10_000,
        publish_budget: float = 1.0,
    ) -> None:
        self.url = url
        self.channel = channel
        self.origin = uuid.uuid4().hex
        self._socket_timeout = socket_timeout
        self._backoff = Backoff(backoff_base, backoff_cap)
        self._subscribers: list[Deliver] = []
        self._reconnected: list[Missed] = []
        self._gapped: list[Missed] = []
        self._heard: dict[str, Heard] = {}  # origin → what we received from it
        self._connected = False
        self._closed = False
        self._reader: asyncio.Task[None] | None = None
        self._first_attempt = asyncio.Event()
        # One immediate retry on a connection error: a pooled connection left over from before a Redis
        # restart fails on first use and the retry reconnects, so the first publish after it isn't lost.
        # A batch the retry repeats is dropped by its number on the other side.
        self._publisher: Redis = self._client(Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)))
        self.outbox = Outbox(
            self.origin, self._send, size=outbox_size, budget=publish_budget, backoff=Backoff(backoff_base, backoff_cap)
        )

    # --- interface ---------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the subscription is up right now (publishing may still work, or fail, independently)."""
        return self._connected

    def subscribe(self, deliver: Deliver) -> None:
        self._subscribers.append(deliver)

    def on_reconnect(self, callback: Missed) -> None:
        """Run ``callback`` each time the subscription is back after a gap in which batches may be lost."""
        self._reconnected.append(callback)

    def on_gap(self, callback: Missed) -> None:
        """Run ``callback`` when another node's batch numbers skip: its outbox dropped batches we never got.

        Like ``on_reconnect``, it is awaited before the batch that revealed the gap, or any later one, is
        delivered."""
        self._gapped.append(callback)

    async def publish(self, events: Sequence[Event]) -> None:
        """Deliver locally, and queue the batch for the other nodes; never waits for Redis, never raises for it.

        The caller's commit is done: this node's sockets get the batch now, in the order of the calls,
        and the outbox publishes it (``outbox.py``) when Redis takes it, or drops it for the store to fill."""
        batch = list(events)
        if not batch:
            return
        self.probe.events_published(len(batch))
        if not self._closed:
            self.outbox.put(batch)
        await self._deliver(batch)

    async def start(self) -> None:
        """Start the reader and the outbox, and wait (bounded) for the first subscription; without Redis the
        app still starts."""
        if self._reader is not None:
            return
        self._closed = False
        self.outbox.start()
        self._reader = asyncio.create_task(self._read_forever(), name="chatd-bus-reader")
        try:
            await asyncio.wait_for(self._first_attempt.wait(), self.start_timeout)
        except asyncio.TimeoutError:
            pass
        if not self._connected:
            log.warning("bus: Redis at %s is unreachable; starting anyway and retrying in the background",
                        self._safe_url())

    async def stop(self) -> None:
        """Stop reading, let queued batches go out (briefly), and close every Redis connection."""
        self._closed = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self.outbox.stop(self._socket_timeout)
        await self._publisher.aclose()
        self._connected = False

    # --- publishing --------------------------------------------------------------------------------

    async def _send(self, payloads: list[bytes]) -> None:
        """PUBLISH a run of batches in one round trip, in order (the outbox's sender calls this)."""
        started = asyncio.get_running_loop().time()
        async with self._publisher.pipeline(transaction=False) as pipe:
            for payload in payloads:
                pipe.publish(self.channel, payload)
            await pipe.execute()
        self.probe.bus_published(asyncio.get_running_loop().time() - started)

    # --- delivery ----------------------------------------------------------------------------------

    async def _deliver(self, batch: Sequence[Event]) -> None:
        """Hand a batch to each subscriber in turn; one that raises is logged and the rest still get it."""
        for deliver in tuple(self._subscribers):
            try:
                await deliver(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("bus: subscriber %r failed on a batch of %d events", deliver, len(batch))

    async def _receive(self, data: Any) -> None:
        """Decode one pub/sub message and deliver it, unless it is ours (already delivered), a repeat, or
        malformed; a skipped number first runs the ``on_gap`` callbacks."""
        try:
            message = orjson.loads(data)
            origin = message["origin"]
            if origin == self.origin:
                return
            n = int(message["n"])
            batch = [Event.from_wire(wire) for wire in message["events"]]
        except Exception:
            log.exception("bus: dropping a malformed message on %s", self.channel)
            return
        heard = self._heard.pop(origin, None) or Heard()  # re-inserted: the dict stays ordered by recency
        if len(self._heard) >= ORIGINS_KEPT:
            del self._heard[next(iter(self._heard))]
        self._heard[origin] = heard
        if batch and heard.last is not None and n <= heard.last:
            return  # published twice (a retried round trip): delivered already
        if heard.missed(n, notice=not batch):
            log.info("bus: node %s dropped batches we did not get; filling from the store", origin[:8])
            await self._run_callbacks(self._gapped)
            heard.covered = max(heard.covered, n if not batch else n - 1)
        if batch:
            heard.last = n
        if batch:
            await self._deliver(batch)

    # --- the reader --------------------------------------------------------------------------------

    async def _read_forever(self) -> None:
        """Subscribe, read until the connection fails, back off, and again; until cancelled by ``stop()``."""
        missed = False  # whether batches may have been lost since the last subscription (or since start)
        while True:
            client = self._client(Retry(NoBackoff(), 0))  # no silent reconnects: a drop must surface here
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._connected = True
                self._first_attempt.set()
                self._backoff.reset()
                if missed:
                    log.info("bus: resubscribed to %s on %s", self.channel, self._safe_url())
                    self.probe.bus_reconnected()
                    await self._run_callbacks(self._reconnected)
                missed = True  # from here on, any drop loses batches
                await self._read(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._connected or not missed:
                    log.warning("bus: lost Redis subscription: %s: %s", type(exc).__name__, exc)
                else:
                    log.debug("bus: reconnect failed: %s: %s", type(exc).__name__, exc)
                missed = True
            finally:
                self._connected = False
                self._first_attempt.set()
                await self._close(pubsub, client)
            await asyncio.sleep(self._backoff.next_delay())

    async def _read(self, pubsub: PubSub) -> None:
        """Deliver batches in arrival order; PING when idle so a half-open connection is noticed too."""
        loop = asyncio.get_running_loop()
        heard = loop.time()
        pinged_at: float | None = None
        while True:
            message = await pubsub.get_message(timeout=self.poll_interval)
            now = loop.time()
            if message is not None:
                heard, pinged_at = now, None
                if message["type"] == "message":
                    await self._receive(message["data"])
                continue
            if pinged_at is None:
                if now - heard >= self.ping_after:
                    await pubsub.ping()
                    pinged_at = now
            elif now - pinged_at >= self.dead_after:
                raise RedisConnectionError(f"no reply to PING in {self.dead_after:g} s")

    async def _run_callbacks(self, callbacks: list[Missed]) -> None:
        """Await each callback before reading on, so the gap is filled before newer live batches arrive."""
        for callback in tuple(callbacks):
            try:
                await callback()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("bus: callback %r after missed batches failed", callback)

    # --- helpers -----------------------------------------------------------------------------------

    def _client(self, retry: Retry) -> Redis:
        # The errors the Retry retries, named again for pipelines: redis-py before 6 retries a pipeline (the
        # outbox's PUBLISH run) only on errors listed in retry_on_error, so a pooled connection that went
        # stale in a Redis restart would cost a batch. A Retry of 0 attempts still retries nothing.
        return Redis.from_url(
            self.url,
            retry=retry,
            retry_on_error=[RedisConnectionError],
            socket_connect_timeout=self._socket_timeout,
            socket_timeout=self._socket_timeout,
            socket_keepalive=True,
        )

    @staticmethod
    async def _close(pubsub: PubSub, client: Redis) -> None:
        """Close without raising: this runs on error paths and during cancellation."""
        for close in (pubsub.aclose, client.aclose):
            try:
                await close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("bus: error while closing a Redis connection: %s", exc)

    def _safe_url(self) -> str:
        """The URL without a password, for logs."""
        scheme, sep, rest = self.url.partition("://")
        return f"{scheme}{sep}{rest.rpartition('@')[2]}"


def create_bus(url: str, settings: BusSettings | None = None) -> MemoryBus | RedisBus:
    """The bus for ``bus.url``: Redis for ``redis://``/``rediss://``, else in-process."""
    if not url or url.startswith("memory://"):
        return MemoryBus()
    if url.startswith(("redis://", "rediss://")):
        if settings is None:
            return RedisBus(url)
        return RedisBus(
            url,
            socket_timeout=settings.socket_timeout_seconds,
            outbox_size=settings.outbox_size,
            publish_budget=settings.publish_budget_seconds,
        )
    raise ValueError(f"unknown bus URL scheme: {url!r} (expected memory://, redis:// or rediss://)")
