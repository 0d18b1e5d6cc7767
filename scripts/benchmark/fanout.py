"""Fan-out: K websocket receivers in one channel (K = 100, 1,000, 5,000, 10,000), posts from 8 senders.

1. Max deliveries/s: M posts as fast as the senders get answers; deliveries/s = K·M over the time from the
   first post to the last delivery.
2. Latency at 50 % and 10 % of that: posts paced at a fixed rate (open loop) for a few seconds; each
   delivery's post → delivery time (the post carries its send time). The rate is the same for chatd and the
   floor: the fraction of the lower of the two maxima, so both see the same load.
3. Memory per idle authenticated socket: the server's RSS growth from no receivers to the largest K,
   measured right after those connections are up and idle.

Receivers are kept across K (the next K adds connections) and across phases; when the open-files limit
cannot hold both servers' receivers at once (2 × 10,000 sockets in this process), one side's are closed
before the other's are opened, and the latency phases run side by side rather than interleaved.

chatd posts with ``POST /message/edit``; the floor's ``POST /broadcast`` sends the same event frame to
every socket.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

import orjson

from . import loadgen, procs, stall
from .machine import Meter, rss_kib
from .setup import Room, chatd_room, floor_room
from .trial import Target, measured, ratio

SENDERS = 8


def _poster(room: Room, floor: bool) -> Callable[[int], bytes]:
    if floor:
        def broadcast(index: int) -> bytes:
            event = {"type": "message", "event": "CREATED", "channel_id": "1", "seq": index,
                     "data": {"id": str(index), "contents": loadgen.stamped(f"message {index}")}}
            return loadgen.post("/broadcast", orjson.dumps(event), {})
        return broadcast

    def post(index: int) -> bytes:
        body = orjson.dumps({"channel_id": room.channel_id, "contents": loadgen.stamped(f"message {index}")})
        return loadgen.post(room.send_path, body, room.headers)
    return post


async def _settle(rx: loadgen.Receivers, seconds: float = 10.0) -> None:
    """Wait (bounded) until deliveries stop arriving, so a phase never counts the last one's stragglers."""
    deadline = time.monotonic() + seconds
    last = -1
    while rx.delivered != last and time.monotonic() < deadline:
        last = rx.delivered
        await asyncio.sleep(0.3)


async def _max(server: procs.Server, rx: loadgen.Receivers, k: int, posts: int, make: Callable[[int], bytes],
               deadline: float) -> dict[str, Any]:
    before = rx.delivered
    rx.expect(k * posts)
    started = time.perf_counter()
    result = await loadgen.closed_loop("127.0.0.1", server.port, lambda _c, i: make(i), SENDERS, posts, deadline)
    complete = await rx.wait(deadline)
    elapsed = (rx.reached_at if complete else time.perf_counter()) - started
    delivered = rx.delivered - before
    if not complete:
        await _settle(rx)
    return {
        "posts": result.requests, "deliveries": delivered, "expected": k * posts, "complete": complete,
        "deliveries_per_second": round(delivered / elapsed, 1), "post_errors": sum(
            n for status, n in result.statuses.items() if status != 200),
    }


async def _latency(server: procs.Server, rx: loadgen.Receivers, k: int, rate: float, seconds: float,
                   make: Callable[[int], bytes]) -> dict[str, Any]:
    rx.latencies = []
    rx.recording = True
    total = max(1, int(rate * seconds))
    rx.expect(k * total)
    result = await loadgen.paced("127.0.0.1", server.port, make, rate, seconds)
    complete = await rx.wait(30)
    rx.recording = False
    latencies = rx.latencies
    if not complete:
        await _settle(rx)
    return {
        "posts": result.requests, "posts_per_second": round(rate, 2), "deliveries_per_second": round(rate * k, 1),
        "samples": len(latencies), "complete": complete,
        "p50_ms": round(loadgen.percentile(latencies, 0.5) * 1000, 2),
        "p99_ms": round(loadgen.percentile(latencies, 0.99) * 1000, 2),
        "max_ms": round(max(latencies, default=0.0) * 1000, 2),
    }


class Side:
    """One server in the comparison, with its receivers."""

    def __init__(self, name: str, server: procs.Server, room: Room, floor: bool, database_pid: int | None = None):
        self.name, self.server, self.room = name, server, room
        self.target = Target(name, server.pid, database_pid)
        self.make = _poster(room, floor)
        self.rx = loadgen.Receivers()
        self.rss_idle = 0
        self.floor = floor
        self.connected = 0  # sockets this side has opened, and the server CPU seconds their connects took
        self.connect_seconds = 0.0

    async def watched(self, run: Awaitable[dict[str, Any]]) -> dict[str, Any]:
        """chatd's results carry its longest event-loop stall meanwhile (``stall.py``); the floor has no probe."""
        return await run if self.floor else await stall.measuring(self.server.port, run)


async def _ensure(side: Side, sides: list[Side], k: int, limit: int, memory: dict[str, Any], largest: int) -> None:
    """Have ``k`` receivers on ``side``; close another side's first when the open-files limit cannot hold both
    (the load generator holds every receiver of both servers)."""
    add = k - len(side.rx.transports)
    held = sum(len(s.rx.transports) for s in sides)
    for other in sides:
        if other is not side and held + add > limit - 1024 and other.rx.transports:
            held -= len(other.rx.transports)
            await other.rx.close()
            other.rx = loadgen.Receivers()
    if add <= 0:
        return
    started = time.monotonic()
    with Meter(side.server.pid) as window:
        await side.rx.connect(side.room.ws_url, side.room.headers, add, deadline=max(60.0, add * 0.05))
    side.connect_seconds += window.server
    side.connected += add
    if k == largest and side.name not in memory:
        await asyncio.sleep(2)  # idle: let any per-connection work after ready finish
        grown = rss_kib(side.server.pid) - side.rss_idle
        memory[side.name] = {"sockets": k, "rss_growth_kib": grown, "kib_per_socket": round(grown / k, 2),
                             "connect_seconds": round(time.monotonic() - started, 2)}


async def run(opts: Any) -> dict[str, Any]:
    ks = [k for k in opts.fanout_k]
    posts = {100: 1500, 1000: 150, 5000: 30, 10000: 15}
    scale = 0.25 if opts.quick else 1.0
    seconds = 2.0 if opts.quick else 5.0
    deadline = 30.0 if opts.quick else 90.0
    limit = procs.raise_open_files(4 * max(ks) + 4096)
    rows: list[dict[str, Any]] = []
    memory: dict[str, Any] = {}
    with procs.floor() as floor, tempfile.TemporaryDirectory(prefix="chatd-bench-") as tmp, \
            procs.chatd_on("sqlite", Path(tmp)) as (server, _):
        sides = [Side("floor", floor, floor_room(floor), True), Side("chatd", server, chatd_room(server, "fanout"), False)]
        for side in sides:
            side.rss_idle = rss_kib(side.server.pid)
        for k in ks:
            n = max(2, int(posts.get(k, max(10, 150_000 // k)) * scale))
            maxima = {}
            for side in sides:
                await _ensure(side, sides, k, limit, memory, ks[-1])
                await _max(side.server, side.rx, k, min(n, 20), side.make, deadline)  # warm up
                maxima[side.name] = await measured(
                    side.target, lambda: side.watched(_max(side.server, side.rx, k, n, side.make, deadline)),
                    opts.attempts, f"fan-out max K={k}")
            top = min(m["deliveries_per_second"] for m in maxima.values())
            row: dict[str, Any] = {"case": f"K = {k:,}", "k": k, "max": maxima, "ratio": {
                "max_deliveries": ratio(maxima["chatd"]["deliveries_per_second"], maxima["floor"]["deliveries_per_second"])}}
            for side in reversed(sides):  # the side still connected first
                await _ensure(side, sides, k, limit, memory, ks[-1])
                for fraction in (0.5, 0.1):
                    rate = fraction * top / k
                    found = await measured(
                        side.target, lambda: side.watched(_latency(side.server, side.rx, k, rate, seconds, side.make)),
                        opts.attempts, f"fan-out latency K={k} at {fraction:.0%}")
                    row.setdefault(f"at_{int(fraction * 100)}", {})[side.name] = found
            for key in ("at_50", "at_10"):
                row["ratio"][f"p99_{key}"] = ratio(row[key]["chatd"]["p99_ms"], row[key]["floor"]["p99_ms"])
            rows.append(row)
            print(f"bench: fan-out K={k}: max chatd {maxima['chatd']['deliveries_per_second']:,.0f}/s floor "
                  f"{maxima['floor']['deliveries_per_second']:,.0f}/s; p99 at 50% chatd {row['at_50']['chatd']['p99_ms']} ms "
                  f"floor {row['at_50']['floor']['p99_ms']} ms", flush=True)
        for side in sides:
            await side.rx.close()
    if "chatd" in memory and "floor" in memory:
        memory["ratio"] = ratio(memory["chatd"]["kib_per_socket"], memory["floor"]["kib_per_socket"])
    # The server's CPU per websocket connect (handshake, authentication and, for chatd, the ``ready``
    # snapshot), over every socket each side opened: what a node pays when its clients come back at once.
    connects: dict[str, Any] = {
        side.name: {"sockets": side.connected, "cpu_ms": round(side.connect_seconds / side.connected * 1000, 3)}
        for side in sides if side.connected
    }
    if "chatd" in connects and "floor" in connects:
        connects["ratio"] = ratio(connects["chatd"]["cpu_ms"], connects["floor"]["cpu_ms"])
    return {"rows": rows, "memory": memory, "connects": connects}
