"""The cyclic garbage collector in a long-running server: full collections that cost what changed, not what lives.

A full (generation 2) collection traverses every object the collector tracks, and the event loop stands
still meanwhile. A server holding thousands of websockets tracks millions of objects (uvicorn's protocol,
the ASGI task and its coroutine frames, each ``Connection``): one pass took 150-220 ms at 1,000 sockets and
0.5-0.7 s at 5,000 (``docs/performance.md``, "Fan-out latency: what stalled the loop"), every client's
frames waiting behind it. CPython starts one whenever the objects promoted since the last exceed a quarter
of those it kept, which a busy server reaches every few seconds.

So the survivors of each full collection are frozen (``gc.freeze``: moved where the collector no longer
looks), and the next one traverses only what came after. Nothing is frozen but what a full collection has
just found alive; what is frozen and later dropped is freed as usual when its last reference goes (most
objects). Only a frozen object that later becomes part of an unreachable cycle stays until the frozen set
is traversed again: when it has grown to ``REGROW`` times its size after the last complete collection,
it is thawed and collected once (the one full-length pause, as rare as the heap growing by half), so memory
stays within about that factor of what is alive. A closed websocket leaves no such cycle: the links that made
one are broken when it closes (``realtime/wire.py``, ``http_protocol.py``, ``realtime/connection.py``;
``tests/test_closed_sockets.py``); before that, each closed socket held about 12 KiB until the thaw.
Knowing the frozen set's size means walking all of it, so it is counted only when an estimate says it may
have grown that much, and after a count that found less, only once the estimate has grown by another
``RECOUNT_STEP`` of it: the collection comes at most that much later.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Any

log = logging.getLogger("chatd.collector")
REGROW = 1.5  # thaw and collect everything once the frozen set has grown to this factor of its last size
# After a count that found less growth than that, count again only once the estimate has grown by this share
# of the baseline: counting walks the whole frozen set (``gc.get_freeze_count`` is linear in it).
RECOUNT_STEP = 0.1


class Collector:
    """Freezes what each full collection leaves, and thaws the lot when the frozen set has grown by half."""

    def __init__(self, loop: asyncio.AbstractEventLoop, regrow: float = REGROW) -> None:
        self.loop = loop
        self.regrow = regrow
        self.baseline = 0  # objects frozen after the last complete collection
        self.frozen_since = 0  # objects frozen since (an upper bound: some were freed since)
        self.count_at = 0  # count the frozen set once ``frozen_since`` exceeds this (``_check``)
        self.thawing = False
        self.scheduled = False

    def start(self) -> None:
        """Once the server is up: everything built so far (modules, the app, the pools) is frozen."""
        gc.callbacks.append(self._collected)
        self._complete()

    def stop(self) -> None:
        if self._collected in gc.callbacks:
            gc.callbacks.remove(self._collected)
        gc.unfreeze()

    def _collected(self, phase: str, info: dict[str, Any]) -> None:
        """After a full collection CPython started on its own: freeze its survivors (only the objects
        that collection traversed: the rest are frozen already)."""
        if phase != "stop" or info["generation"] != 2 or self.thawing:
            return
        self.frozen_since += len(gc.get_objects(generation=2))
        gc.freeze()
        if self.frozen_since > self.count_at and not self.scheduled:
            self.scheduled = True  # the collector cannot run from its own callback: on the loop, soon
            try:
                self.loop.call_soon_threadsafe(self._check)
            except RuntimeError:  # the loop closed (shutting down): nothing more to collect for
                pass

    def _check(self) -> None:
        """The frozen set may have grown by half (the estimate counts objects freed since): count it, and
        collect everything once if it has."""
        self.scheduled = False
        frozen = gc.get_freeze_count()
        if frozen >= self.regrow * self.baseline:
            self._complete()
        else:
            # Frozen objects freed since made the estimate high. Counting again at the next collection
            # would walk the frozen set at every one when it hovers under the limit (half a million
            # objects at 5,000 sockets, several times a second under a fan-out): wait for more growth.
            self.frozen_since = frozen - self.baseline
            self.count_at = max(self._limit(), self.frozen_since + int(RECOUNT_STEP * self.baseline))

    def _limit(self) -> int:
        return int((self.regrow - 1) * self.baseline)

    def _complete(self) -> None:
        """Thaw, collect everything, freeze what is left: the one pause as long as the heap."""
        started = time.perf_counter()
        self.thawing = True
        try:
            gc.unfreeze()
            found = gc.collect()
            gc.freeze()
        finally:
            self.thawing = False
        self.baseline, self.frozen_since = gc.get_freeze_count(), 0
        self.count_at = self._limit()
        log.info("full collection: %d unreachable, %d objects kept and frozen, %.0f ms",
                  found, self.baseline, (time.perf_counter() - started) * 1000)
