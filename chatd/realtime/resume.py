"""Resume (docs/websocket.md §5, docs/design.md §4.3), in the order it happens.

A client that reconnects names, per channel, the last seq it processed; the server replays every stored
event after it, in order, then sends ``replay_done``, and live events continue each channel's sequence with
no gap and no overlap. It works on any node and after a restart, because it reads the store
(``core/live.py``), not the memory of the node the client was on.

1. ``hold``: a connection opened with ``?resume=1`` (or with a ``resume`` in its ``auth`` frame) holds its
   live events from ``ready`` on; answers still go out.
2. ``begin``, right after ``ready``: the ``auth`` frame's ``resume`` is taken as if it had been sent as a
   frame; a held connection that has none waits for a ``resume`` frame, at most ``auth_timeout_seconds``.
3. ``request``: a ``resume`` is checked (channel ids, seqs of 0 or more) and split into the channels the
   user may read and those they lost; the replay is queued on the connection's writer ahead of live events,
   so it is ordered with everything the connection sends.
4. ``replay``, run by the writer: the bounds of every named channel's log, read in one snapshot; a channel
   whose events after the client's seq are no longer all stored (purged, or a log behind the client) is
   told to resync; for the others the stored events after the client's seq are sent. Where live events
   already went out (a resume on a connection that was not held), only the part up to the ``ready``
   snapshot is replayed, and it arrives after those live events.
5. ``replay_done`` says what was replayed, the seq now delivered per channel, and the lost and the resync
   channels; the hold ends and the held live events follow.

From then on the connection's one ordering rule carries on (``connection.py``): a channel event goes out
only after the one before it, a gap is filled from the store, a duplicate is dropped by seq. That rule is
why a live event queued during the replay neither repeats a replayed one nor leaves a gap after it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..core import live
from ..domain.errors import BadRequest, ChatdError
from ..core.ids import parse_id
from . import protocol
from .connection import Connection, Step
from .hub import Hub


def hold(conn: Connection) -> None:
    """Hold live events until the replay is done (a ``resume`` is announced)."""
    conn.held = True


def begin(hub: Hub, conn: Connection, requested: dict[str, int] | None) -> None:
    """Right after ``ready``: resume what the ``auth`` frame asked for (its answer has a null ``ref``), or,
    on a held connection, go live anyway if no ``resume`` frame comes in time."""
    if requested is not None:
        try:
            request(hub, conn, None, requested)
        except ChatdError as exc:
            conn.reply(protocol.error(None, exc))
            conn.release()
    elif conn.held:
        asyncio.get_running_loop().call_later(conn.core.settings.websocket.auth_timeout_seconds, conn.release)


def request(hub: Hub, conn: Connection, ref: Any, channels: dict[str, int]) -> None:
    """Check a ``resume`` and queue its replay; a malformed one raises (an ``error`` answer, no replay)."""
    wanted: dict[int, int] = {}
    lost: list[int] = []
    for key, seq in channels.items():
        try:
            channel_id = parse_id(key, f"channels.{key}")  # not int(): it reads "٣" and 30-digit numbers
        except BadRequest:
            raise BadRequest.field(f"channels.{key}", "must be a channel id") from None
        if seq < 0:
            raise BadRequest.field(f"channels.{key}", "must be 0 or more")
        if channel_id in conn.delivered or hub.readable(conn, channel_id):
            wanted[channel_id] = seq
        else:
            lost.append(channel_id)

    async def run() -> None:
        await replay(conn, ref, wanted, lost)

    conn.control(Step(run))


async def replay(conn: Connection, ref: Any, channels: dict[int, int], lost: list[int]) -> None:
    """The writer's part: replay each channel after the client's seq, then ``replay_done``, then go live."""
    replayed: dict[str, int] = {}
    resync: list[str] = []
    wanted = [channel_id for channel_id in channels if channel_id in conn.delivered]
    bounds = await live.log_bounds(conn.core, wanted)
    for channel_id in wanted:
        bound = bounds[channel_id]
        if bound.can_replay_after(channels[channel_id]):
            replayed[str(channel_id)] = await _replay_channel(conn, channel_id, channels[channel_id], bound.last)
        else:
            resync.append(str(channel_id))  # the client re-reads it and continues from its ready seq
    conn.core.probe.resumed(sum(replayed.values()))
    done = {
        "replayed": replayed,
        "seqs": {str(c): s for c, s in conn.delivered.items() if str(c) in replayed},
        "lost": [str(c) for c in lost],
        "resync": resync,
    }
    await conn.send(protocol.encode({"type": "replay_done", "ref": ref, "data": done}))
    conn.release()


async def _replay_channel(conn: Connection, channel_id: int, client_seq: int, last: int) -> int:
    """Send one channel's stored events after ``client_seq``; returns how many. ``last``: the log's end when
    the resume read its bounds."""
    snapshot = conn.ready_seqs.get(channel_id, conn.delivered[channel_id])
    delivered = conn.delivered[channel_id]
    if delivered > snapshot:
        # Live events already went out after the snapshot: replay only the part before it; the connection
        # keeps its place after those live events.
        conn.delivered[channel_id] = min(client_seq, snapshot)
        count = await conn.fill(channel_id, snapshot)
        conn.delivered[channel_id] = delivered
        return count
    conn.delivered[channel_id] = min(client_seq, delivered)
    if conn.delivered[channel_id] >= last:
        # Nothing was stored after it when the bounds were read: reading the log again would find nothing, a
        # statement per channel (a client resuming a hundred quiet channels). A later event comes live, and
        # the connection fills any gap before it from the store (``Connection._send_frame``).
        return 0
    return await conn.fill(channel_id, None)
