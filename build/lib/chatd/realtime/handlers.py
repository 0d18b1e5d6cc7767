"""Client frames: each calls the same core function as the HTTP faces, so rules and errors are the same.

A handler answers through ``conn.reply`` with an ``ack`` (or the caller turns a ``ChatdError`` into an
``error`` frame); both carry the client's ``ref``.
"""

from __future__ import annotations

import time
from typing import Any, Awaitable, Callable

from ..core import channel_members, history, messages
from ..core import events as ev
from ..core.channel_access import access_channel
from ..core.errors import BadRequest
from ..core.events import Event
from ..faces.crust import shapes
from ..edge.params import validate
from . import protocol
from .connection import Connection, Resume
from .hub import Hub

Handler = Callable[[Hub, Connection, dict[str, Any], Any], Awaitable[None]]


async def ping(hub: Hub, conn: Connection, frame: dict[str, Any], ref: Any) -> None:
    conn.reply(protocol.encode({"type": "pong", "ref": ref}))


async def message_send(hub: Hub, conn: Connection, frame: dict[str, Any], ref: Any) -> None:
    p = validate(protocol.SendFrame, frame)
    view = await messages.do_post_message(
        conn.core, conn.principal, p.channel_id, p.contents, reply_to=p.reply_to, client_msg_id=p.client_msg_id,
        file_ids=p.file_ids,
    )
    conn.reply(protocol.ack(ref, shapes.message(view)))


async def message_edit(hub: Hub, conn: Connection, frame: dict[str, Any], ref: Any) -> None:
    p = validate(protocol.EditFrame, frame)
    view = await messages.do_edit_message(conn.core, conn.principal, p.id, p.contents)
    conn.reply(protocol.ack(ref, shapes.message(view)))


async def message_remove(hub: Hub, conn: Connection, frame: dict[str, Any], ref: Any) -> None:
    p = validate(protocol.IdFrame, frame)
    await messages.do_remove_message(conn.core, conn.principal, p.id)
    conn.reply(protocol.ack(ref, {"id": str(p.id)}))


async def typing(hub: Hub, conn: Connection, frame: dict[str, Any], ref: Any) -> None:
    """Ephemeral: checked like a post, published to the channel's readers, never stored; clients expire it."""
    p = validate(protocol.ChannelFrame, frame)
    ttl = conn.core.settings.websocket.typing_ttl_seconds
    now = time.monotonic()
    last = conn.typing_sent.get(p.channel_id, 0.0)
    if now - last >= ttl / 2:  # a typing client repeats itself; pass on at most two per ttl
        async with conn.core.reading() as db:
            await access_channel(db, conn.principal, p.channel_id, writing=True)
        conn.typing_sent[p.channel_id] = now
        data = {"user_id": str(conn.user_id), "channel_id": str(p.channel_id), "expires_in_ms": int(ttl * 1000)}
        await hub.publisher.publish([Event(type=ev.TYPING, event="STARTED", data=data, channel_id=p.channel_id)])
    conn.reply(protocol.ack(ref))


async def read(hub: Hub, conn: Connection, frame: dict[str, Any], ref: Any) -> None:
    p = validate(protocol.ReadFrame, frame)
    conn.reply(protocol.ack(ref, await history.mark_read(conn.core, conn.principal, p.channel_id, p.message_id)))


async def join(hub: Hub, conn: Connection, frame: dict[str, Any], ref: Any) -> None:
    p = validate(protocol.ChannelFrame, frame)
    members = await channel_members.do_join(conn.core, conn.principal, p.channel_id)
    conn.reply(protocol.ack(ref, {"members": [shapes.membership(m) for m in members]}))


async def part(hub: Hub, conn: Connection, frame: dict[str, Any], ref: Any) -> None:
    p = validate(protocol.ChannelFrame, frame)
    await channel_members.do_leave(conn.core, conn.principal, p.channel_id)
    conn.reply(protocol.ack(ref))


async def resume(hub: Hub, conn: Connection, frame: dict[str, Any], ref: Any) -> None:
    """Queue the replay on the writer, so it is ordered with live events; unreadable channels are ``lost``."""
    p = validate(protocol.ResumeFrame, frame)
    wanted: dict[int, int] = {}
    lost: list[int] = []
    for key, seq in p.channels.items():
        try:
            channel_id = int(key)
        except ValueError:
            raise BadRequest.field(f"channels.{key}", "must be a channel id") from None
        if seq < 0:
            raise BadRequest.field(f"channels.{key}", "must be 0 or more")
        if channel_id in conn.delivered or hub.readable(conn, channel_id):
            wanted[channel_id] = seq
        else:
            lost.append(channel_id)
    conn.control(Resume(ref, wanted, lost))


async def history_(hub: Hub, conn: Connection, frame: dict[str, Any], ref: Any) -> None:
    p = validate(protocol.HistoryFrame, frame)
    views, has_more = await history.read_history(
        conn.core, conn.principal, p.channel_id, before=p.before, after=p.after, limit=p.limit, thread=p.thread,
        include_replies=p.include_replies,
    )
    conn.reply(protocol.ack(ref, {"items": [shapes.message(v) for v in views], "has_more": has_more}))


async def presence(hub: Hub, conn: Connection, frame: dict[str, Any], ref: Any) -> None:
    p = validate(protocol.PresenceFrame, frame)
    if p.status not in ("online", "away"):
        raise BadRequest.field("status", "must be online or away")
    conn.status = p.status
    await hub.announce_presence(conn)
    conn.reply(protocol.ack(ref))


HANDLERS: dict[str, Handler] = {
    "ping": ping,
    "message.send": message_send,
    "message.edit": message_edit,
    "message.remove": message_remove,
    "typing": typing,
    "read": read,
    "join": join,
    "part": part,
    "resume": resume,
    "history": history_,
    "presence": presence,
}
