"""After a bus gap, access is re-established from the store before anything more is delivered.

The hub routes by facts it keeps in memory (who is in which channel and organisation, which channels are
public, whose credential holds), and those facts are kept by events. When the bus may have lost events
(the Redis subscription dropped, or another node's batch numbers skipped: ``bus.py``), the hub cannot know
which of those facts went stale: a member removed, a user blocked, a token revoked or a channel made
private on another node while Redis was down. So, for every connection of this node:

1. ``Hub.hold``: batches (local ones too) wait; each connection is ``suspend``ed: it sends nothing more
   but answers, and a fill in progress stops.
2. One read of the store (``live.standings``): each connection's credential, and what its user may read
   now, each readable channel with its seq at that read. The credential cache is emptied: its entries
   were kept fresh by the same lost events.
3. Each connection is brought in line, by its writer and before anything else it sends (``Recheck``):
   closed with 4401 if its credential no longer holds; otherwise every channel it may no longer read is
   dropped, queued frames included, and announced ``channel HIDDEN``; every channel it may newly read is
   announced ``channel VISIBLE`` with its seq; every other channel is filled from the store up to the seq
   read in step 2.
4. ``Hub.release``: the held batches are routed, and delivery goes on; whatever they repeat is dropped by
   seq, whatever came after the read in step 2 continues each channel's sequence.

If the store cannot be read, nothing can be checked: every connection is closed with 1011, and its client
reconnects and resumes, which checks everything anew (docs/websocket.md §4).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..core import live
from ..core.context import Core
from ..core.live import Standing
from ..domain.errors import Unavailable
from ..edge import shapes
from . import protocol
from .connection import Connection, Recheck
from .hub import ChannelInfo, Hub

log = logging.getLogger("chatd.websocket")


class Recovery:
    """Re-establishes this node's access after bus gaps, one at a time (the bus's callback)."""

    def __init__(self, hub: Hub, core: Core) -> None:
        self.hub = hub
        self.core = core
        self.rechecks = 0  # how many times access was re-read (tests and logs)
        self._lock = asyncio.Lock()

    async def __call__(self) -> None:
        async with self._lock:
            await self.recheck_all()

    async def recheck_all(self) -> None:
        hub = self.hub
        hub.hold()
        try:
            conns = [conn for conn in hub.connections() if conn.started and conn.closing is None]
            for conn in conns:
                conn.suspend()
            self.core.credentials.forget_all()
            asks = [(conn.principal, set(conn.delivered)) for conn in conns]
            try:
                found, channels = await live.standings(self.core, asks, list(hub.channels))
            except Exception as exc:
                log.warning("could not re-read access after a bus gap (%s: %s): closing %d websocket(s) so their "
                            "clients resume", type(exc).__name__, exc, len(conns))
                code = protocol.CLOSE_TRY_AGAIN if isinstance(exc, Unavailable) else protocol.CLOSE_INTERNAL
                for conn in conns:
                    conn.close(code, "server could not recheck access: reconnect and resume")
                return
            hub.channels = {channel.id: ChannelInfo(channel.organisation_id, channel.is_open) for channel in channels}
            closed = 0
            for conn, standing in zip(conns, found):
                if standing.alive:
                    _apply(hub, conn, standing)
                else:
                    conn.close(protocol.CLOSE_UNAUTHENTICATED, "credentials revoked")
                    closed += 1
            self.rechecks += 1
            log.info("re-read access of %d websocket(s) after a bus gap; closed %d", len(conns), closed)
        finally:
            hub.release()


def _apply(hub: Hub, conn: Connection, standing: Standing) -> None:
    """Bring the hub's facts about ``conn`` in line with ``standing`` now, and queue its writer's part."""
    assert standing.user is not None
    conn.principal.user = standing.user
    hub.join_orgs(conn, standing.organisations)
    conn.member_of = set(standing.member_of)
    readable = {channel.id: channel.last_seq for channel in standing.channels}
    for channel_id, conns in list(hub.by_channel.items()):
        if conn in conns and channel_id not in readable:
            conns.discard(conn)
            if not conns:
                del hub.by_channel[channel_id]
    for channel_id in readable:
        hub.by_channel[channel_id].add(conn)
    new = {view.channel.id: view for view in standing.new}

    async def run() -> None:
        conn.suspended = False
        lost = {channel_id for channel_id in conn.delivered if channel_id not in readable}
        conn.forget_queued(lost)
        for channel_id in lost:
            del conn.delivered[channel_id]
            await conn.send(_frame("HIDDEN", channel_id, {}))
        for channel_id, seq in readable.items():
            if channel_id in conn.delivered:
                await conn.fill(channel_id, seq)
            elif (view := new.get(channel_id)) is not None:
                conn.delivered[channel_id] = seq
                await conn.send(_frame("VISIBLE", channel_id, shapes.channel(view) | {"seq": seq}))

    conn.recheck(Recheck(run))


def _frame(event: str, channel_id: int, data: dict[str, Any]) -> str:
    return protocol.encode({"type": "channel", "event": event, "channel_id": str(channel_id), "data": data})

