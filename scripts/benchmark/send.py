"""Durable sends: ``POST /message/edit`` from 1, 16 and 128 concurrent senders (keep-alive connections,
each sending its next post when the last is acknowledged), chatd on SQLite (``synchronous=FULL``) and on
PostgreSQL (fsync at commit), against the floor's echo of the same request. Figures: sends/s, p50/p99
latency, and server CPU per send (chatd's process; PostgreSQL's own CPU separately).

The senders of those cases are one account, the admin, as a bot posting from many connections is. People are
many accounts, and each pays what is checked per sender (their standing in the channel, read again as
their batch is written; their read marker moved): the case of 16 senders who are 16 users measures that."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import orjson

from . import loadgen, procs
from .setup import Room, chatd_room, floor_room
from .trial import Target, median, measured, pair_ratios, paired, ratio


USERS = 16  # the case whose senders are as many users, each signed in on its own connection


async def _send(server: procs.Server, room: Room, senders: int, total: int, deadline: float) -> dict[str, Any]:
    def request(conn: int, index: int) -> bytes:
        body = orjson.dumps({"channel_id": room.channel_id, "contents": f"message {index} from sender {conn}"})
        return loadgen.post(room.send_path, body, room.headers_for(conn))

    result = await loadgen.closed_loop("127.0.0.1", server.port, request, senders, total, deadline)
    return {
        "requests": result.requests,
        "per_second": round(result.per_second, 1),
        "p50_ms": round(loadgen.percentile(result.latencies, 0.5) * 1000, 2),
        "p99_ms": round(loadgen.percentile(result.latencies, 0.99) * 1000, 2),
        "errors": sum(n for status, n in result.statuses.items() if status != 200),
        "timed_out": result.timed_out,
    }


async def run(opts: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    counts = {1: 200, 16: 1000, 128: 1500} if opts.quick else {1: 1000, 16: 6000, 128: 10000}
    deadline = 8.0 if opts.quick else 30.0
    with procs.floor() as floor, tempfile.TemporaryDirectory(prefix="chatd-bench-") as tmp:
        floor_target, floor_place = Target("floor", floor.pid), floor_room(floor)
        for dialect in opts.dialects:
            with procs.chatd_on(dialect, Path(tmp) / dialect) as (server, database_pid):
                room = chatd_room(server)
                target = Target(f"chatd {dialect}", server.pid, database_pid)
                cases = [(senders, room, f"{dialect}, {senders} senders") for senders in opts.senders]
                if USERS in opts.senders:  # people, not one account: each sender a user of its own
                    cases.append((USERS, chatd_room(server, "people", users=USERS), f"{dialect}, {USERS} senders, {USERS} users"))
                for senders, room, case in cases:
                    total = counts.get(senders, 2000)
                    await _send(floor, floor_place, senders, 200, deadline)  # warm up both
                    await _send(server, room, senders, 200, deadline)
                    ours, theirs = [], []
                    for _ in range(opts.rounds):
                        label = f"send {case}"
                        theirs.append(await measured(
                            floor_target, lambda: _send(floor, floor_place, senders, total, deadline), opts.attempts, label))
                        ours.append(await measured(
                            target, lambda: _send(server, room, senders, total, deadline), opts.attempts, label))
                    chatd, base = procs.median_record(ours, "per_second"), procs.median_record(theirs, "per_second")
                    for record, rounds in ((chatd, ours), (base, theirs)):  # CPU: each round's own, not the median rate's
                        cpu = [r.get("server_cpu_us_per_request") for r in rounds]
                        record["cpu_rounds"], record["server_cpu_us_per_request"] = cpu, median(cpu)
                    rows.append({
                        "case": case, "dialect": dialect, "senders": senders,
                        "chatd": chatd, "floor": base,
                        "ratio": {
                            "per_second": paired(ours, theirs, "per_second"),
                            "p99_ms": ratio(chatd["p99_ms"], base["p99_ms"]),
                            "server_cpu_per_request": paired(ours, theirs, "server_cpu_us_per_request"),
                        },
                        "paired_ratios": {
                            key: pair_ratios(ours, theirs, key) for key in ("per_second", "server_cpu_us_per_request")
                        },
                    })
                    print(f"bench: send {case}: chatd {chatd['per_second']}/s p99 {chatd['p99_ms']} ms, "
                          f"floor {base['per_second']}/s", flush=True)
    return rows

