"""The hub: this process's websocket connections, and who receives which event.

It keeps, in memory, what it needs to route without a query per event: each connection's organisations
and channel memberships, and each channel's organisation and type. Whether a connection may read a channel
is the core's read rule (``core/access.py`` ``may_read_channel``) applied to those facts, kept in step by
the membership and channel events themselves. Each event is encoded once and handed to each recipient's
queue; per-viewer data never rides on shared events (flags, read markers and mention notices are user
events, sent only to their user).

Those facts are only as good as the events that keep them: after a bus gap the hub ``hold``s every batch
while ``recovery.py`` re-reads them from the store, and routes the held batches after.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Coroutine, Iterable, Sequence

import orjson

if TYPE_CHECKING:
    from ..core.context import Core

from ..core import background
from ..core.access import may_read_channel
from ..core.clock import Clock
from ..core.ports import Publisher
from ..core.presence import SEEN_EVERY_SECONDS, note_seen
from ..domain import events as ev
from ..domain.events import Event
from ..domain.probes import SILENT, Probe
from . import protocol
from .connection import Connection, Frame, Subscribe, Unsubscribe
from .presence import HEARTBEATS_TO_EXPIRY, PresenceBook
from .wire import text_frame

log = logging.getLogger("chatd.hub")
EPHEMERAL = {ev.TYPING, ev.PRESENCE}


@dataclass(slots=True)
class ChannelInfo:
    organisation_id: int
    is_open: bool


class Hub:
    def __init__(self, publisher: Publisher, clock: Clock, probe: Probe = SILENT) -> None:
        self.publisher = publisher
        self.probe = probe  # counts the frames handed to connections, once per event (``fan_out``)
        self.node = uuid.uuid4().hex
        self.by_user: dict[int, set[Connection]] = defaultdict(set)
        self.by_channel: dict[int, set[Connection]] = defaultdict(set)
        self.by_org: dict[int, set[Connection]] = defaultdict(set)
        self.channels: dict[int, ChannelInfo] = {}
        self.routed: dict[int, int] = {}  # channel id → the highest seq routed here (``routed_past``)
        self.org_changes = 0  # channel events routed to organisations' connections (``session.start``)
        self.book = PresenceBook(clock)
        self.epoch = 0  # counts rechecks after bus gaps: a snapshot read across one is read again (session.py)
        self._held: list[Sequence[Event]] | None = None  # batches waiting for a recheck to finish
        self._tasks: set[asyncio.Task[None]] = set()
        self.refresher: Callable[[Connection], Coroutine[Any, Any, None]] | None = None
        self.recheck: Callable[[Connection], Coroutine[Any, Any, None]] | None = None
        self.forget: Callable[[int], None] | None = None

    # -- connections -------------------------------------------------------------------------------

    def register(self, conn: Connection) -> None:
        """Before the snapshot is read, so no event committed after it can miss this connection."""
        self.by_user[conn.user_id].add(conn)
        for org_id in conn.orgs:
            self.by_org[org_id].add(conn)

    def subscribe_all(self, conn: Connection, seqs: dict[int, int], infos: dict[int, ChannelInfo]) -> None:
        self.channels.update(infos)
        for channel_id, seq in seqs.items():
            conn.delivered[channel_id] = seq
            conn.ready_seqs[channel_id] = seq
            self.by_channel[channel_id].add(conn)

    def join_orgs(self, conn: Connection, orgs: set[int]) -> None:
        """Route the organisations' events to ``conn`` from now on, and no longer those of any other."""
        for org_id in conn.orgs - orgs:
            _discard(self.by_org, org_id, conn)
        for org_id in orgs - conn.orgs:
            self.by_org[org_id].add(conn)
        conn.orgs = set(orgs)

    def routed_past(self, seqs: dict[int, int]) -> bool:
        """Whether an event past one of these channels' seqs (a snapshot's) was routed here. One committed after
        the snapshot was read and routed before its connection subscribed reached it only if this says so: the
        connection then reads the store for it (``CatchUp``). Every node routes every event, and an event a bus
        gap lost is filled by the recheck that follows the gap (``recovery.py``)."""
        routed = self.routed
        return any(routed.get(channel_id, 0) > seq for channel_id, seq in seqs.items())

    def unregister(self, conn: Connection) -> None:
        _discard(self.by_user, conn.user_id, conn)
        for org_id in conn.orgs:
            _discard(self.by_org, org_id, conn)
        for channel_id in list(conn.delivered):
            _discard(self.by_channel, channel_id, conn)

    def connections(self) -> Iterable[Connection]:
        return [c for conns in self.by_user.values() for c in conns]

    def user_status(self, user_id: int) -> str:
        """This node's view of a user: online if any connection is online, away if all are away."""
        local = self.by_user.get(user_id) or set()
        if not local:
            return "offline"
        return "online" if any(c.status == "online" for c in local) else "away"

    async def announce_presence(self, conn: Connection) -> None:
        event = Event(
            type=ev.PRESENCE,
            event="UPDATED",
            data={
                "user_id": str(conn.user_id),
                "status": self.user_status(conn.user_id),
                "node": self.node,
                "organisation_ids": [str(o) for o in sorted(conn.orgs)],
            },
        )
        await self.publisher.publish([event])

    async def stamp_seen(self, core: "Core") -> None:
        """Every minute: the users connected here are online (``core/presence.py``)."""
        while True:
            await asyncio.sleep(SEEN_EVERY_SECONDS)
            try:
                await note_seen(core, list(self.by_user))
            except Exception as exc:
                background.failed(log, "could not stamp connected users as seen", exc)

    async def close_all(self) -> None:
        """Shutting down: tell every client to reconnect (to another node) and resume."""
        for conn in self.connections():
            conn.close(protocol.CLOSE_RESTART, "server restarting: reconnect and resume")
        await asyncio.sleep(0)

    # -- holding delivery during a recheck (recovery.py) ---------------------------------------------

    def hold(self) -> None:
        """Keep every batch from now on until ``release``: the facts routing relies on are being re-read."""
        self.epoch += 1
        if self._held is None:
            self._held = []

    def release(self) -> None:
        """Route the held batches, in the order they came, and deliver as usual from now on."""
        held, self._held = self._held or [], None
        for batch in held:
            self._route_all(batch)

    # -- routing -----------------------------------------------------------------------------------

    def readable(self, conn: Connection, channel_id: int) -> bool:
        """The core's read rule (``access.may_read_channel``) over what the hub keeps in memory."""
        info = self.channels.get(channel_id)
        return may_read_channel(
            is_open=info is not None and info.is_open,
            is_member=channel_id in conn.member_of,
            in_org=info is not None and info.organisation_id in conn.orgs,
            is_server_admin=conn.principal.user.is_admin,
        )

    def _subscribe(self, conn: Connection, channel_id: int, after_seq: int) -> None:
        if conn not in self.by_channel[channel_id]:
            self.by_channel[channel_id].add(conn)
            conn.push(Subscribe(channel_id, after_seq))

    def _unsubscribe(self, conn: Connection, channel_id: int) -> None:
        if conn in self.by_channel.get(channel_id, ()):
            _discard(self.by_channel, channel_id, conn)
            conn.push(Unsubscribe(channel_id))

    async def deliver(self, batch: Sequence[Event]) -> None:
        if self._held is not None:
            self._held.append(batch)
            return
        self._route_all(batch)

    def _route_all(self, batch: Sequence[Event]) -> None:
        for event in batch:
            try:
                self._route(event)
            except Exception:
                log.exception("could not route %s/%s", event.type, event.event)

    def _route(self, event: Event) -> None:
        seq = event.seq
        if event.type == ev.MESSAGE and seq is not None and event.user_id is None:
            # Most events: a message's, to whoever has its channel open. What the general path below does
            # for them, without the membership and channel changes no message event carries.
            channel_id = event.channel_id
            if channel_id is not None:
                if seq > self.routed.get(channel_id, 0):
                    self.routed[channel_id] = seq
                watching = self.by_channel.get(channel_id)
                if watching:
                    self.fan_out(Frame(_encoded(event), channel_id, seq), list(watching))
            return
        if event.type == ev.PRESENCE:
            self._presence(event)
            return
        ephemeral = event.type in EPHEMERAL
        if event.user_id is not None:
            if event.type == ev.ORGANISATION:
                self._organisation(event)
            elif event.type == ev.CREDENTIALS:
                if self.forget is not None:
                    self.forget(event.user_id)
                for conn in list(self.by_user.get(event.user_id, ())):
                    if self.recheck is not None:
                        self._background(self.recheck(conn))
                return
            mine = self.by_user.get(event.user_id)
            if mine:
                self.fan_out(Frame(_encoded(event), ephemeral=ephemeral), mine)
            return
        channel_id = event.channel_id
        if channel_id is None:
            return
        if event.seq is None:  # typing: ephemeral channel event
            watching = self.by_channel.get(channel_id)
            if watching:
                self.fan_out(Frame(_encoded(event), ephemeral=True), watching)
            return
        seq = event.seq
        if seq > self.routed.get(channel_id, 0):
            self.routed[channel_id] = seq
        affected: set[Connection] = set()
        if event.type == ev.CHANNEL and "organisation_id" in event.data:
            self.org_changes += 1
            self.channels[channel_id] = ChannelInfo(int(event.data["organisation_id"]), event.data.get("type") == "public")
            affected |= self.by_channel.get(channel_id, set()) | self.by_org.get(self.channels[channel_id].organisation_id, set())
            for user_id in event.audience if event.event == "CREATED" else ():
                for conn in self.by_user.get(user_id, ()):
                    conn.member_of.add(channel_id)
                    affected.add(conn)
        if event.type == ev.MEMBER:
            user_id = int(event.data["user_id"])
            for conn in self.by_user.get(user_id, ()):
                if event.event == "JOINED":
                    conn.member_of.add(channel_id)
                elif event.event == "LEFT":
                    conn.member_of.discard(channel_id)
                affected.add(conn)
        removed = event.type == ev.CHANNEL and event.event == "REMOVED"
        # Newly readable connections subscribe before the event, so they receive it; those losing access
        # receive it (it tells them why) and are unsubscribed after.
        for conn in affected:
            if not removed and self.readable(conn, channel_id):
                self._subscribe(conn, channel_id, seq - 1)
        watching = self.by_channel.get(channel_id)
        if watching:  # a channel nobody has open costs no encoding
            # One frame object for every recipient, never mutated.
            self.fan_out(Frame(_encoded(event), channel_id, seq), list(watching))
        if removed:
            for conn in list(self.by_channel.get(channel_id, ())):
                self._unsubscribe(conn, channel_id)
            self.channels.pop(channel_id, None)
            self.routed.pop(channel_id, None)
        else:
            for conn in affected:
                if not self.readable(conn, channel_id):
                    self._unsubscribe(conn, channel_id)

    def fan_out(self, frame: Frame, connections: Iterable[Connection]) -> None:
        """Hand ``frame`` to each of ``connections``, and count the deliveries once."""
        delivered = 0
        for conn in connections:
            delivered += conn.push(frame)
        if delivered:
            self.probe.events_delivered(delivered)

    def _organisation(self, event: Event) -> None:
        """The user joined or left an organisation: its public channels appear or disappear (re-snapshot)."""
        assert event.user_id is not None
        for conn in list(self.by_user.get(event.user_id, ())):
            if self.refresher is not None:
                self._background(self.refresher(conn))

    def _background(self, job: Coroutine[Any, Any, None]) -> None:
        """Run ``job`` on its own; the hub holds the task so it cannot be collected half-way."""
        task = asyncio.get_running_loop().create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _presence(self, event: Event) -> None:
        data = event.data
        if event.event == "HEARTBEAT":
            users = {int(uid): (status, {int(o) for o in orgs}) for uid, (status, orgs) in data["users"].items()}
            changed = self.book.heartbeat(data["node"], users)
        else:
            orgs = {int(o) for o in data.get("organisation_ids", [])}
            changed = [int(data["user_id"])] if self.book.record(data["node"], int(data["user_id"]), data["status"], orgs) else []
        for user_id in changed:
            self._tell_presence(user_id)

    def _tell_presence(self, user_id: int) -> None:
        text = protocol.encode(
            {"type": ev.PRESENCE, "event": "UPDATED", "data": {"user_id": str(user_id), "status": self.book.overall(user_id)}}
        )
        recipients: set[Connection] = set()
        for org_id in self.book.orgs.get(user_id, ()):
            recipients |= self.by_org.get(org_id, set())
        self.fan_out(Frame.text(text, ephemeral=True), recipients)

    async def keep_presence(self, every: float) -> None:
        """Every heartbeat: tell the other nodes who is here (so a silent node's users can expire), and
        forget nodes that stopped telling."""
        self.book.ttl = every * HEARTBEATS_TO_EXPIRY
        while True:
            await asyncio.sleep(every)
            try:
                users = {
                    str(uid): [self.user_status(uid), sorted({o for c in conns for o in c.orgs})]
                    for uid, conns in self.by_user.items()
                }
                await self.publisher.publish(
                    [Event(type=ev.PRESENCE, event="HEARTBEAT", data={"node": self.node, "users": users})]
                )
                for user_id in self.book.expire():
                    self._tell_presence(user_id)
            except Exception:
                log.exception("presence heartbeat failed")


def _discard(index: dict[int, set[Connection]], key: int, conn: Connection) -> None:
    found = index.get(key)
    if found is not None:
        found.discard(conn)
        if not found:
            del index[key]


def _encoded(event: Event) -> bytes:
    """The websocket frame every recipient of ``event`` gets, built once per event."""
    return text_frame(orjson.dumps(event.envelope()))
