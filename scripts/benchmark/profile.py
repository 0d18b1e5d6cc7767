"""``scripts/bench --profile``: flame graphs of chatd under the benchmark's load, with py-spy, kept in
``docs/performance/``: the send path (16 senders and a lone one, SQLite and PostgreSQL) and the fan-out path (1,000
receivers, posts paced at a steady rate). py-spy samples the server from the load generator's core."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Awaitable, Callable

import orjson

from . import fanout, loadgen, procs
from .setup import chatd_room

SECONDS = 12


SQLITE_THREAD = "SQLite (statements, fsync) in aiosqlite's thread"
BUCKETS = [  # (name, what a leaf frame contains), first match wins
    ("idle: aiosqlite's thread waiting for work", ("aiosqlite/core.py:59)",)),
    ("the event loop's own C code (uvloop: polling, socket reads, callbacks)", ("Runner.run (asyncio/runners.py",)),
    ("socket writes (transport.write under uvicorn's websocket send)", ("websockets_sansio_impl.py:506)",)),
    (SQLITE_THREAD, ("aiosqlite/", "sqlite3")),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("asyncpg", ("asyncpg/",)),
    ("HTTP and ASGI layers (uvicorn, Starlette, httptools)", ("uvicorn/", "starlette/", "httptools", "h11")),
    ("websocket framing (websockets)", ("websockets/",)),
    ("validation (pydantic)", ("pydantic",)),
    ("chatd: realtime", ("chatd/realtime/",)),
    ("chatd: core", ("chatd/core/",)),
    ("chatd: store", ("chatd/store/",)),
    ("chatd: faces and edge", ("chatd/faces/", "chatd/edge/")),
    ("asyncio and the event loop", ("asyncio/", "uvloop", "selectors", "contextlib")),
]


def summarise(raw: Path, top: int = 25) -> dict[str, Any]:
    """Self time by layer (the leaf frame's file) and the functions with the most time under them, from
    py-spy's collapsed stacks: what the flame graph shows, as numbers."""
    leaves: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = stack.split(";")
        bucket = next((name for name, marks in BUCKETS if any(m in frames[-1] for m in marks)), "other")
        if bucket == "chatd: store" and any("_connection_worker_thread" in frame for frame in frames):
            bucket = SQLITE_THREAD  # chatd's own function on aiosqlite's thread: the sqlite3 calls under it
        leaves[bucket] = leaves.get(bucket, 0) + samples
        for frame in set(frames[1:]):
            inclusive[frame] = inclusive.get(frame, 0) + samples

    def share(n: int) -> float:
        return round(100 * n / total, 1) if total else 0.0

    return {
        "samples": total,
        "self_percent_by_layer": {k: share(v) for k, v in sorted(leaves.items(), key=lambda kv: -kv[1])},
        "inclusive_percent": {k: share(v) for k, v in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]},
    }


async def _record(pid: int, out: Path, load: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
    """A flame graph (``out``) and, from a second sampler running alongside, the collapsed stacks that
    ``summarise`` turns into figures."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    pin = ["taskset", "-c", str(procs.LOADGEN_CORE)] if (os.cpu_count() or 1) >= 2 else []
    raw = out.with_suffix(".txt")
    recorders = [
        await asyncio.create_subprocess_exec(
            *pin, spy, "record", "--pid", str(pid), "--duration", str(SECONDS), "--rate", "200", "--nonblocking",
            "--format", kind, "--output", str(path), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        for kind, path in (("flamegraph", out), ("raw", raw))
    ]
    await asyncio.sleep(1)  # py-spy attached
    await load()
    for recorder in recorders:
        _, err = await asyncio.wait_for(recorder.communicate(), SECONDS + 60)
        if recorder.returncode != 0:
            raise RuntimeError(f"py-spy failed: {err.decode()[-500:]}")
    summary = summarise(raw)
    raw.unlink()
    print(f"bench: profile {out}", flush=True)
    return summary


async def run(opts: Any) -> list[str]:
    out = opts.charts
    out.mkdir(parents=True, exist_ok=True)
    made: list[str] = []
    summaries: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="chatd-bench-") as tmp:
        for dialect in opts.dialects:
            with procs.chatd_on(dialect, Path(tmp) / dialect) as (server, _):
                room = chatd_room(server, "profile")

                def post(conn: int, index: int) -> bytes:
                    return loadgen.post(room.send_path, orjson.dumps(
                        {"channel_id": room.channel_id, "contents": f"message {index} from sender {conn}"}), room.headers)

                await loadgen.closed_loop("127.0.0.1", server.port, post, 16, 300, 30)  # warm up
                # 16 senders (batches of 16), and a lone sender, whose every send commits alone
                for senders, name in ((16, f"send-{dialect}"), (1, f"send-{dialect}-lone")):
                    target = out / f"{name}.svg"
                    summaries[target.stem] = await _record(server.pid, target, functools.partial(
                        loadgen.closed_loop, "127.0.0.1", server.port, post, senders, 10**6, SECONDS - 2))
                    made.append(str(target))
        with procs.chatd_on("sqlite", Path(tmp) / "fanout") as (server, _):
            room = chatd_room(server, "fanout")
            receivers = loadgen.Receivers()
            await receivers.connect(room.ws_url, room.headers, 1000, deadline=120)
            make = fanout._poster(room, floor=False)
            rate = 20.0  # posts/s: 20,000 deliveries/s to 1,000 sockets, below chatd's maximum here
            target = out / "fanout-1000.svg"
            summaries[target.stem] = await _record(server.pid, target, lambda: loadgen.paced(
                "127.0.0.1", server.port, make, rate, SECONDS - 2))
            await receivers.close()
            made.append(str(target))
    (out / "profiles.json").write_text(json.dumps(summaries, indent=1) + "\n")
    made.append(str(out / "profiles.json"))
    return made
