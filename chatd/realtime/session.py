"""Starting a connection: register, snapshot, ``ready``, subscribe, then go live, with no event in between lost.

The connection is registered with the hub *before* the snapshot is read (for its user's events), and for
its organisations' events once the snapshot has found them. A channel event routed to an organisation in
between (a channel created, or made public or private) may have concerned it, so then the snapshot is read
again, registered this time (``Hub.org_changes``; rare, as channels change far less often than people
connect). It is subscribed to its channels after the snapshot: an event committed in between and routed
after the subscription is queued for it; one routed before is past the snapshot's seq of its channel, which
the hub notices (``Hub.routed_past``), and the subscribed channels are then checked against the store once
more and filled from it. Duplicates are dropped by seq. This is what "snapshot and subscription are atomic"
means here. Most connects find their channels quiet meanwhile and read the store once.

A snapshot read while the hub rechecked access after a bus gap (``recovery.py``) may predate what that
recheck learnt; it is read again.
"""

from __future__ import annotations

from typing import Any

from ..core import live
from ..core.auth import credentials_alive
from ..core.presence import note_seen
from ..domain.models import ChannelView
from ..edge import shapes
from . import protocol
from .connection import CatchUp, Connection, Frame, Subscribe, Unsubscribe
from .hub import ChannelInfo, Hub


async def _snapshot(conn: Connection) -> tuple[list[ChannelView], set[int]]:
    found = await live.snapshot(conn.core, conn.principal)
    conn.member_of = found.member_of
    return found.channels, found.organisations


def _infos(views: list[ChannelView]) -> dict[int, ChannelInfo]:
    return {v.channel.id: ChannelInfo(v.channel.organisation_id, v.channel.is_open) for v in views}


SNAPSHOT_TRIES = 3


async def start(hub: Hub, conn: Connection) -> dict[str, Any]:
    """Register, snapshot and subscribe; returns the ``ready`` frame (the caller sends it first)."""
    hub.register(conn)
    await note_seen(conn.core, [conn.user_id])
    for _ in range(SNAPSHOT_TRIES):  # then go on with the last: it was read during the latest recheck
        epoch, changes = hub.epoch, hub.org_changes
        views, orgs = await _snapshot(conn)
        hub.join_orgs(conn, orgs)
        if hub.epoch == epoch and hub.org_changes == changes:
            break
    seqs = {v.channel.id: v.channel.last_seq for v in views}
    hub.subscribe_all(conn, seqs, _infos(views))
    conn.started = True
    if hub.epoch != epoch or hub.routed_past(seqs):
        conn.push(CatchUp())  # what was committed after the snapshot and routed before the subscription
    return {
        "type": "ready",
        "data": {
            "user": shapes.user(conn.principal.user),
            "node": hub.node,
            "channels": [shapes.channel(v) | {"seq": v.channel.last_seq} for v in views],
            "presence": _presence(hub, conn.orgs),
        },
    }


def _presence(hub: Hub, orgs: set[int]) -> dict[str, str]:
    """Who of the user's organisations is online or away now; later changes come as ``presence`` events."""
    book = hub.book
    return {str(uid): book.overall(uid) for uid, theirs in book.orgs.items() if theirs & orgs and uid in book.statuses}


async def refresh(hub: Hub, conn: Connection) -> None:
    """Re-read what the user may see (after an organisation change) and tell the client what changed."""
    views, orgs = await _snapshot(conn)
    hub.join_orgs(conn, orgs)
    hub.channels.update(_infos(views))
    visible = {v.channel.id: v for v in views}
    for channel_id in [c for c in conn.delivered if c not in visible]:
        hub.by_channel.get(channel_id, set()).discard(conn)
        conn.push(Unsubscribe(channel_id))
        hub.fan_out(Frame.text(protocol.encode({"type": "channel", "event": "HIDDEN", "channel_id": str(channel_id), "data": {}})), (conn,))
    for channel_id, view in visible.items():
        if conn in hub.by_channel.get(channel_id, set()):
            continue
        hub.by_channel[channel_id].add(conn)
        conn.push(Subscribe(channel_id, view.channel.last_seq))
        frame = {
            "type": "channel",
            "event": "VISIBLE",
            "channel_id": str(channel_id),
            "data": shapes.channel(view) | {"seq": view.channel.last_seq},
        }
        hub.fan_out(Frame.text(protocol.encode(frame)), (conn,))
    conn.push(CatchUp())


async def recheck(conn: Connection) -> None:
    """A session or token of this user was revoked: close this connection if it was opened with it."""
    if not await credentials_alive(conn.core, conn.principal):
        conn.close(protocol.CLOSE_UNAUTHENTICATED, "credentials revoked")
