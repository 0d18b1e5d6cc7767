"""The Redis bus: batches committed on one process reach every other one, and survive Redis going away.

Two ``RedisBus`` instances on one real ``redis-server`` stand in for two chatd processes. Every wait is
bounded, so a broken bus fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import AsyncIterator, Awaitable, Callable, Sequence

import pytest

from chatd.domain.events import MESSAGE, Event
from chatd.realtime.bus import MemoryBus, RedisBus, create_bus
from chatd.realtime.outbox import encode
from harness import WAIT, RedisServer, wait_until


def event(n: int, text: str = "hi") -> Event:
    return Event(type=MESSAGE, event="created", data={"text": text, "n": n}, channel_id=7, seq=n, id=1000 + n,
                 actor_id=3, created_at=1_700_000_000_000 + n)


class Recorder:
    """A subscriber that keeps every batch it is handed, in order."""

    def __init__(self) -> None:
        self.batches: list[list[Event]] = []

    async def __call__(self, events: Sequence[Event]) -> None:
        self.batches.append(list(events))

    def seqs(self) -> list[int | None]:
        return [e.seq for batch in self.batches for e in batch]

    async def wait_for_count(self, count: int, timeout: float = WAIT) -> None:
        await wait_until(lambda: len(self.batches) >= count, timeout, f"{count} batches (have {len(self.batches)})")


BusFactory = Callable[[], Awaitable[RedisBus]]


@pytest.fixture
async def make_bus(redis_server: RedisServer) -> AsyncIterator[BusFactory]:
    """Started buses on the test's Redis, all stopped at teardown (stop must be clean: warnings are errors)."""
    buses: list[RedisBus] = []

    async def make() -> RedisBus:
        bus = RedisBus(redis_server.url)
        buses.append(bus)
        await bus.start()
        return bus

    yield make
    for bus in buses:
        await asyncio.wait_for(bus.stop(), WAIT)


async def test_batches_reach_the_other_bus_once_and_in_order(make_bus: BusFactory) -> None:
    a, b = await make_bus(), await make_bus()
    assert a.connected and b.connected
    on_a, on_b = Recorder(), Recorder()
    a.subscribe(on_a)
    b.subscribe(on_b)

    sent = [[event(2 * i), event(2 * i + 1)] for i in range(200)]
    for batch in sent:
        await a.publish(batch)
    assert on_a.batches == sent  # local delivery happened inside publish, before any Redis round trip

    await on_b.wait_for_count(200)
    # A marker from the other side: Redis keeps one channel's order per connection, so once each bus has
    # it, each has also read every earlier message, including its own echoes, which must be ignored.
    await b.publish([event(9999, "marker")])
    await on_a.wait_for_count(201)
    await a.publish([event(10_000, "marker")])
    await on_b.wait_for_count(201 + 1)
    assert on_b.batches[:200] == sent  # equal events, same batching, same order
    assert len(on_b.batches) == 202  # B's own marker once (locally), A's once
    assert on_b.seqs()[400:] == [9999, 10_000]
    assert len(on_a.batches) == 202 and on_a.seqs()[400:] == [9999, 10_000]


async def test_empty_batches_are_not_published(make_bus: BusFactory) -> None:
    a, b = await make_bus(), await make_bus()
    on_a, on_b = Recorder(), Recorder()
    a.subscribe(on_a)
    b.subscribe(on_b)
    await a.publish([])
    await a.publish([event(1)])
    await on_b.wait_for_count(1)
    assert on_b.seqs() == [1] and on_a.seqs() == [1]


@pytest.mark.parametrize("outage", ["kill", "restart"])
async def test_survives_redis_going_away(
    make_bus: BusFactory, redis_server: RedisServer, outage: str, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = await make_bus(), await make_bus()
    on_a, on_b = Recorder(), Recorder()
    a.subscribe(on_a)
    b.subscribe(on_b)
    reconnected = {"a": 0, "b": 0}

    def counter(name: str) -> Callable[[], Awaitable[None]]:
        async def callback() -> None:
            reconnected[name] += 1

        return callback

    a.on_reconnect(counter("a"))
    b.on_reconnect(counter("b"))
    await a.publish([event(1)])
    await on_b.wait_for_count(1)

    if outage == "kill":
        redis_server.kill()
        await wait_until(lambda: not a.connected and not b.connected, what="both buses to notice the drop")
        with caplog.at_level(logging.WARNING, logger="chatd.bus"):
            await asyncio.wait_for(a.publish([event(2)]), WAIT)  # must not raise
            assert on_a.seqs() == [1, 2]  # still delivered locally
            await wait_until(lambda: any("publishing to Redis failed" in r.getMessage() for r in caplog.records),
                             what="the outbox to report the failed publish")
        await asyncio.to_thread(redis_server.start)
    else:
        await asyncio.to_thread(redis_server.restart)

    await wait_until(lambda: reconnected["a"] >= 1 and reconnected["b"] >= 1, what="both on_reconnect callbacks")
    assert a.connected and b.connected
    assert reconnected == {"a": 1, "b": 1}

    await a.publish([event(3)])
    await wait_until(lambda: 3 in on_b.seqs(), what="a publish after the outage to reach B")
    assert on_b.seqs() == [1, 3]  # 2 was published while Redis was down: the hub refills it from the store


async def test_starts_without_redis_and_catches_up(make_bus: BusFactory, redis_server: RedisServer) -> None:
    redis_server.kill()
    a = await asyncio.wait_for(make_bus(), WAIT)  # start() doesn't fail or hang while Redis is down
    assert not a.connected
    called = asyncio.Event()

    async def refill() -> None:
        called.set()

    a.on_reconnect(refill)  # events may have been missed before the first subscription, too
    await asyncio.to_thread(redis_server.start)
    await asyncio.wait_for(called.wait(), WAIT)
    assert a.connected
    b = await make_bus()
    on_a = Recorder()
    a.subscribe(on_a)
    await b.publish([event(1)])
    await on_a.wait_for_count(1)


async def test_a_failing_subscriber_does_not_stop_delivery(make_bus: BusFactory) -> None:
    a, b = await make_bus(), await make_bus()
    calls = 0

    async def broken(events: Sequence[Event]) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("subscriber bug")

    on_a, on_b = Recorder(), Recorder()
    for bus, recorder in ((a, on_a), (b, on_b)):
        bus.subscribe(broken)
        bus.subscribe(recorder)

    await a.publish([event(1)])  # the local failure doesn't reach the publisher
    await a.publish([event(2)])
    await on_b.wait_for_count(2)
    assert on_a.seqs() == [1, 2] and on_b.seqs() == [1, 2]
    assert calls == 4
    assert b.connected  # the reader lived through it
    await a.publish([event(3)])
    await wait_until(lambda: on_b.seqs() == [1, 2, 3], what="a later batch")


async def test_a_slow_subscriber_does_not_hold_back_the_other_nodes(make_bus: BusFactory) -> None:
    a, b = await make_bus(), await make_bus()
    release = asyncio.Event()

    async def slow(events: Sequence[Event]) -> None:
        await release.wait()

    a.subscribe(slow)
    on_b = Recorder()
    b.subscribe(on_b)
    publishing = asyncio.create_task(a.publish([event(1)]))
    try:
        await on_b.wait_for_count(1)  # reached B while A's own subscriber is still busy
        assert not publishing.done()
    finally:
        release.set()
        await asyncio.wait_for(publishing, WAIT)


async def test_stop_is_prompt_and_idempotent_while_reconnecting(make_bus: BusFactory, redis_server: RedisServer) -> None:
    a = await make_bus()
    on_a = Recorder()
    a.subscribe(on_a)
    redis_server.kill()
    await wait_until(lambda: not a.connected, what="the drop")
    await wait_until(lambda: a._backoff.attempt >= 2, what="a failed reconnect: now in backoff or connecting")
    await asyncio.wait_for(a.stop(), 2.0)
    await a.publish([event(1)])  # after stop: local delivery only, no Redis, no error
    assert on_a.seqs() == [1]


async def test_a_skipped_batch_runs_on_gap_before_the_next_is_delivered(make_bus: BusFactory) -> None:
    a, b = await make_bus(), await make_bus()
    seen: list[object] = []

    async def record(events: Sequence[Event]) -> None:
        seen.extend(e.seq for e in events)

    async def gap() -> None:
        seen.append("gap")

    b.subscribe(record)
    b.on_gap(gap)
    await a.publish([event(1)])
    await wait_until(lambda: seen == [1], what="the first batch")
    size, a.outbox.size = a.outbox.size, 0  # full: the next batch is dropped from the bus path
    await a.publish([event(2)])
    a.outbox.size = size
    await a.publish([event(3)])
    await wait_until(lambda: 3 in seen, what="the batch after the dropped one")
    assert seen == [1, "gap", 3]  # the gap is handled before anything more is delivered
    assert a.outbox.dropped == 1


async def test_a_dropped_last_batch_is_announced(make_bus: BusFactory) -> None:
    a, b = await make_bus(), await make_bus()
    gaps = 0

    async def gap() -> None:
        nonlocal gaps
        gaps += 1

    b.on_gap(gap)
    on_b = Recorder()
    b.subscribe(on_b)
    await a.publish([event(1)])
    await on_b.wait_for_count(1)
    a.outbox.size = 0
    await a.publish([event(2)])  # dropped, and nothing follows it
    await wait_until(lambda: gaps == 1, what="the announcement of the dropped batch")
    assert on_b.seqs() == [1]


async def test_a_batch_published_twice_is_delivered_once(make_bus: BusFactory) -> None:
    a, b = await make_bus(), await make_bus()
    on_b = Recorder()
    b.subscribe(on_b)
    await a.publish([event(1)])
    await on_b.wait_for_count(1)
    a.outbox.numbered += 1
    payload = encode(a.origin, a.outbox.numbered, [event(2)])
    await a._send([payload, payload])  # as a retried round trip could
    await a.publish([event(3)])
    await wait_until(lambda: 3 in on_b.seqs(), what="the batch after the repeat")
    assert on_b.seqs() == [1, 2, 3]


async def test_publishing_never_waits_for_a_frozen_redis(make_bus: BusFactory, redis_server: RedisServer) -> None:
    a, b = await make_bus(), await make_bus()
    on_a, on_b = Recorder(), Recorder()
    a.subscribe(on_a)
    b.subscribe(on_b)
    gaps = 0

    async def gap() -> None:
        nonlocal gaps
        gaps += 1

    b.on_gap(gap)
    b.on_reconnect(gap)
    redis_server.freeze()
    try:
        for n in range(1, 51):
            await asyncio.wait_for(a.publish([event(n)]), 1.0)  # Redis's own timeout is 2 s
        assert on_a.seqs() == list(range(1, 51))
        # What waits longer than its budget (1 s) while a publish hangs is dropped, not kept for later.
        await wait_until(lambda: a.outbox.dropped >= 1, what="the outbox to give up on what Redis did not take")
    finally:
        redis_server.thaw()
    await a.publish([event(51)])
    await wait_until(lambda: 51 in on_b.seqs(), what="a batch after Redis resumed")
    assert gaps >= 1  # B heard that it missed batches (and would fill them from the store)
    assert a.outbox.dropped >= 1


def test_create_bus_picks_by_scheme() -> None:
    assert isinstance(create_bus(""), MemoryBus)
    assert isinstance(create_bus("memory://"), MemoryBus)
    redis_bus = create_bus("redis://127.0.0.1:1/0")
    assert isinstance(redis_bus, RedisBus) and redis_bus.channel == "chatd:events"
    assert isinstance(create_bus("rediss://user:secret@example.invalid:6380/0"), RedisBus)
    with pytest.raises(ValueError):
        create_bus("kafka://x")
