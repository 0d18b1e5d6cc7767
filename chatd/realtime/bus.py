"""The bus: hands every committed event to each process's hub. Chosen by ``bus.url``.

``MemoryBus`` (empty URL or ``memory://``) delivers within this process and is the default and the test
stand-in for a single node.

``RedisBus`` (``redis://`` or ``rediss://``) also carries each batch to every other chatd process over one
Redis pub/sub channel. Redis pub/sub is fire-and-forget: a node that is disconnected misses what was
published meanwhile, so the bus tells its owner when the subscription comes back (``on_reconnect``) and the
hub fills the gap from the database, where every channel event already is (events are published only after
their commit).

The bus's own timings (PING after a silence, the throttle on warnings) are transport timings, read on the
event loop's clock like the socket timeouts they pair with; domain time comes from ``core/clock.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from typing import Any, Awaitable, Callable, Sequence

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from ..domain.events import Event

log = logging.getLogger("chatd.bus")

Deliver = Callable[[Sequence[Event]], Awaitable[None]]
Reconnected = Callable[[], Awaitable[None]]


class MemoryBus:
    def __init__(self) -> None:
        self._subscribers: list[Deliver] = []

    def subscribe(self, deliver: Deliver) -> None:
        self._subscribers.append(deliver)

    async def publish(self, events: Sequence[Event]) -> None:
        for deliver in self._subscribers:
            await deliver(events)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


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


class RedisBus:
    """Delivers locally at once and fans batches out to the other processes over Redis pub/sub.

    Each message is one batch: ``{"origin": <this bus's uuid>, "events": [wire, …]}``. A bus ignores its own
    messages, which it delivered locally before publishing, so local delivery never depends on Redis.
    """

    #: How long ``start()`` waits for the first subscription before letting the app start without Redis.
    start_timeout = 5.0
    #: Reader poll; a silent connection gets a PING after ``ping_after`` s and is dropped ``dead_after`` s
    #: later if nothing at all came back (a half-open TCP connection never raises by itself).
    poll_interval = 1.0
    ping_after = 5.0
    dead_after = 5.0
    #: Seconds between two "publish failed" warnings while Redis stays down (the rest go to debug).
    warn_interval = 10.0

    def __init__(
        self,
        url: str,
        *,
        channel: str = "chatd:events",
        socket_timeout: float = 2.0,
        backoff_base: float = 0.1,
        backoff_cap: float = 5.0,
    ) -> None:
        self.url = url
        self.channel = channel
        self.origin = uuid.uuid4().hex
        self._socket_timeout = socket_timeout
        self._backoff = Backoff(backoff_base, backoff_cap)
        self._subscribers: list[Deliver] = []
        self._reconnected: list[Reconnected] = []
        self._connected = False
        self._closed = False
        self._reader: asyncio.Task[None] | None = None
        self._first_attempt = asyncio.Event()
        self._sending: set[asyncio.Task[None]] = set()
        self._last_warning = float("-inf")
        self._suppressed = 0
        # One immediate retry on a connection error: a pooled connection left over from before a Redis
        # restart fails on first use and the retry reconnects, so the first publish after it isn't lost.
        # Not on a timeout: Redis may have taken the PUBLISH, and a retry would deliver the batch twice.
        self._publisher: Redis = self._client(Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)))

    # --- interface ---------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the subscription is up right now (publishing may still work, or fail, independently)."""
        return self._connected

    def subscribe(self, deliver: Deliver) -> None:
        self._subscribers.append(deliver)

    def on_reconnect(self, callback: Reconnected) -> None:
        """Run ``callback`` each time the subscription is back after a gap in which batches may be lost."""
        self._reconnected.append(callback)

    async def publish(self, events: Sequence[Event]) -> None:
        """Deliver locally, and PUBLISH for the other nodes at the same time; never raises for Redis.

        The PUBLISH runs as its own task so neither waits for the other: a slow local subscriber doesn't
        delay the other nodes, and a slow or dead Redis doesn't delay this node's sockets. ``asyncio.wait``
        doesn't cancel the task with its caller, so a cancelled request doesn't take back a committed batch.
        """
        batch = list(events)
        if not batch:
            return
        send: asyncio.Task[None] | None = None
        if not self._closed:
            payload = orjson.dumps({"origin": self.origin, "events": [event.to_wire() for event in batch]})
            send = asyncio.create_task(self._send(payload), name="chatd-bus-publish")
            self._sending.add(send)
            send.add_done_callback(self._sending.discard)
        await self._deliver(batch)
        if send is not None:
            await asyncio.wait((send,))

    async def start(self) -> None:
        """Start the reader and wait (bounded) for the first subscription; without Redis the app still starts."""
        if self._reader is not None:
            return
        self._closed = False
        self._reader = asyncio.create_task(self._read_forever(), name="chatd-bus-reader")
        try:
            await asyncio.wait_for(self._first_attempt.wait(), self.start_timeout)
        except asyncio.TimeoutError:
            pass
        if not self._connected:
            log.warning("bus: Redis at %s is unreachable; starting anyway and retrying in the background",
                        self._safe_url())

    async def stop(self) -> None:
        """Stop reading, let in-flight publishes finish (briefly), and close every Redis connection."""
        self._closed = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._sending:
            pending = set(self._sending)
            _, late = await asyncio.wait(pending, timeout=self._socket_timeout)
            for task in late:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._publisher.aclose()
        self._connected = False

    # --- publishing --------------------------------------------------------------------------------

    async def _send(self, payload: bytes) -> None:
        """PUBLISH one batch; on failure only log, since the batch is stored and peers refill on reconnect."""
        try:
            await self._publisher.publish(self.channel, payload)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any Redis/socket failure: the caller's commit already happened
            self._warn_publish_failed(exc)
        else:
            if self._suppressed:
                log.info("bus: publishing works again (%d failures were not logged)", self._suppressed)
                self._suppressed = 0

    def _warn_publish_failed(self, exc: Exception) -> None:
        """Warn at most every ``warn_interval`` s, so a Redis outage doesn't flood the log per request."""
        now = asyncio.get_running_loop().time()
        if now - self._last_warning >= self.warn_interval:
            self._last_warning = now
            extra = f" ({self._suppressed} more since the last warning)" if self._suppressed else ""
            log.warning("bus: publish to Redis failed: %s: %s%s", type(exc).__name__, exc, extra)
            self._suppressed = 0
        else:
            self._suppressed += 1
            log.debug("bus: publish to Redis failed: %s: %s", type(exc).__name__, exc)

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
        """Decode one pub/sub message and deliver it, unless it is ours (already delivered) or malformed."""
        try:
            message = orjson.loads(data)
            if message.get("origin") == self.origin:
                return
            batch = [Event.from_wire(wire) for wire in message["events"]]
        except Exception:
            log.exception("bus: dropping a malformed message on %s", self.channel)
            return
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
                    await self._run_reconnect_callbacks()
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

    async def _run_reconnect_callbacks(self) -> None:
        """Await each callback before reading on, so the gap is filled before newer live batches arrive."""
        for callback in tuple(self._reconnected):
            try:
                await callback()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("bus: on_reconnect callback %r failed", callback)

    # --- helpers -----------------------------------------------------------------------------------

    def _client(self, retry: Retry) -> Redis:
        return Redis.from_url(
            self.url,
            retry=retry,
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


def create_bus(url: str) -> MemoryBus | RedisBus:
    """The bus for ``bus.url``: Redis for ``redis://``/``rediss://``, else in-process."""
    if not url or url.startswith("memory://"):
        return MemoryBus()
    if url.startswith(("redis://", "rediss://")):
        return RedisBus(url)
    raise ValueError(f"unknown bus URL scheme: {url!r} (expected memory://, redis:// or rediss://)")
