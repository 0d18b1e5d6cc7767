"""The garbage collector of a serving process (``chatd/collector.py``): what a full collection finds alive is
frozen, so the next traverses only what came after; and what was frozen and later became an unreachable
cycle is still reclaimed, once the frozen set has grown by half (chatd runs for months: nothing may pile up)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any, AsyncIterator

import pytest

from chatd.collector import Collector


class Node:
    """A cycle-capable object (a connection's objects reference each other like this)."""

    def __init__(self) -> None:
        self.other: Any = None


def cycles(count: int) -> list[Node]:
    made = []
    for _ in range(count):
        a, b = Node(), Node()
        a.other, b.other = b, a
        made.append(a)
    return made


@pytest.fixture
async def collector() -> AsyncIterator[Collector]:
    found = Collector(asyncio.get_running_loop())
    found.start()
    try:
        yield found
    finally:
        found.stop()


async def settle() -> None:
    """Let the check the collector's callback scheduled on the loop run."""
    for _ in range(3):
        await asyncio.sleep(0)


async def test_survivors_of_a_full_collection_are_left_out_of_the_next(collector: Collector) -> None:
    kept = cycles(5000)
    gc.collect()
    await settle()
    in_view = {id(o) for o in gc.get_objects()}  # what a full collection traverses now
    assert not any(id(node) in in_view for node in kept)
    newer = cycles(10)
    assert all(id(node) in {id(o) for o in gc.get_objects()} for node in newer)


async def test_a_frozen_cycle_that_becomes_garbage_is_reclaimed_once_the_frozen_set_has_grown(collector: Collector) -> None:
    doomed = cycles(1000)
    gc.collect()
    await settle()
    probe = weakref.ref(doomed[0])
    del doomed  # unreachable cycles now, but frozen: no collection looks at them yet
    gc.collect()
    await settle()
    assert probe() is not None
    grown: list[list[Node]] = []
    step = max(1000, gc.get_freeze_count() // 8)
    for _ in range(40):  # the frozen set grows (live objects, each frozen after a collection): 5 × over
        grown.append(cycles(step))
        gc.collect()
        await settle()
        if probe() is None:
            break
    assert probe() is None, "a frozen cycle that became garbage was never reclaimed"
    assert all(id(node) not in {id(o) for o in gc.get_objects()} for node in grown[-1])  # the live are refrozen


async def test_a_frozen_set_hovering_under_the_limit_is_not_counted_at_every_collection(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting the frozen set walks all of it (half a million objects at 5,000 sockets): when it stays just
    under the limit while short-lived objects are frozen and freed (a busy fan-out), the loop must not do
    that walk at every collection CPython starts, which stalled every socket's frames."""
    baseline = collector.baseline
    kept = cycles(int(0.45 * baseline) // 2)  # two objects each: the frozen set 1.45 × its last size
    gc.collect()
    await settle()
    counted = 0
    real = gc.get_freeze_count

    def counting() -> int:
        nonlocal counted
        counted += 1
        return real()

    monkeypatch.setattr(gc, "get_freeze_count", counting)
    churn = max(100, baseline // 50)  # a fiftieth of the baseline frozen, then freed, per collection
    rounds = 30
    for _ in range(rounds):
        passing = [[n] for n in range(churn)]  # acyclic: freed as soon as dropped, even when frozen
        gc.collect()
        await settle()
        del passing
    assert collector.baseline == baseline, "the frozen set never grew by half: nothing to collect"
    assert counted <= rounds // 4, f"the frozen set was counted {counted} times in {rounds} collections"
    del kept
