"""Resume: a client that missed 10,000 events of a channel reconnects (``?resume=1``) and asks for them
from seq 0; the time from opening the connection to ``replay_done``. The floor sends 10,000 stored event
frames on connect (``/ws?replay=10000``): the cost of the frames alone."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from . import loadgen, procs
from .setup import chatd_room, floor_room
from .trial import Target, measured, ratio

EVENTS = 10_000


class _Replay(WSListener):
    def __init__(self, resume: bytes | None) -> None:
        self.resume = resume
        self.frames = 0
        self.done: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type != WSMsgType.TEXT:
            return
        payload = frame.get_payload_as_bytes()
        self.frames += 1
        if self.resume is not None and payload.startswith(b'{"type":"ready"'):
            transport.send(WSMsgType.TEXT, self.resume)
        elif b'"type":"replay_done"' in payload and not self.done.done():
            self.done.set_result(time.perf_counter())


async def _once(url: str, headers: dict[str, str], resume: bytes | None) -> tuple[float, int]:
    started = time.perf_counter()
    transport, listener = await ws_connect(lambda: _Replay(resume), url, extra_headers=headers,
                                           max_frame_size=64 * 1024 * 1024)
    assert isinstance(listener, _Replay)  # ws_connect returns what the factory made, typed as its base class
    try:
        finished = await asyncio.wait_for(listener.done, 30)
    finally:
        transport.disconnect()
    return finished - started, listener.frames


async def _replays(url: str, headers: dict[str, str], resume: bytes | None, repeats: int) -> dict[str, Any]:
    times, frames = [], 0
    for _ in range(repeats):
        seconds, frames = await _once(url, headers, resume)
        times.append(seconds)
    return {"repeats": repeats, "frames": frames, "median_s": round(statistics.median(times), 4),
            "max_s": round(max(times), 4)}


async def run(opts: Any) -> list[dict[str, Any]]:
    repeats = 3 if opts.quick else 5
    rows = []
    with procs.floor() as floor, tempfile.TemporaryDirectory(prefix="chatd-bench-") as tmp:
        floor_room(floor)
        for dialect in opts.resume_dialects:
            # Posting the 10,000 events is setup: on PostgreSQL without fsync at commit (one channel's posts
            # wait for each other's fsync, ~40/s on this disk); the replay measured is a read.
            with procs.chatd_on(dialect, Path(tmp) / dialect, durable=False) as (server, database_pid):
                room = chatd_room(server, "resume")

                def post(conn: int, index: int) -> bytes:
                    return loadgen.post(room.send_path, orjson.dumps(
                        {"channel_id": room.channel_id, "contents": f"missed message {index}"}), room.headers)

                filled = await loadgen.closed_loop("127.0.0.1", server.port, post, 64, EVENTS - 1, 300)
                if filled.requests != EVENTS - 1:
                    raise RuntimeError(f"resume setup posted {filled.requests} of {EVENTS - 1}")
                resume = orjson.dumps({"type": "resume", "ref": "r1", "channels": {room.channel_id: 0}})
                url = room.ws_url + "?resume=1"
                await _replays(url, room.headers, resume, 1)  # warm up
                chatd = await measured(Target(f"chatd {dialect}", server.pid, database_pid),
                                       lambda: _replays(url, room.headers, resume, repeats), opts.attempts,
                                       f"resume {dialect}")
                floor_url = f"ws://127.0.0.1:{floor.port}/ws?replay={EVENTS}"
                base = await measured(Target("floor", floor.pid), lambda: _replays(floor_url, {}, None, repeats),
                                      opts.attempts, "resume floor")
                rows.append({"case": f"{dialect}, {EVENTS:,} events", "dialect": dialect, "chatd": chatd, "floor": base,
                             "ratio": {"median_s": ratio(chatd["median_s"], base["median_s"])}})
                print(f"bench: resume {dialect}: chatd {chatd['median_s']} s, floor {base['median_s']} s", flush=True)
    return rows
