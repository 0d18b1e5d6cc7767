"""Client frames: each calls the same core function as the HTTP faces, so rules and errors are the same.

A handler answers through ``conn.reply`` with an ``ack`` (or the caller turns a ``ChatdError`` into an
``error`` frame); both carry the client's ``ref``.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from ..core import channel_members, history, live, messages
from ..domain.errors import BadRequest
from ..edge import shapes
from ..edge.params import validate
from . import protocol, resume
from .connection import Connection
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
    """Ephemeral (``core/live.py``); this connection passes on at most two per ``typing_ttl_seconds``."""
    p = validate(protocol.ChannelFrame, frame)
    now = conn.core.clock.monotonic()
    last = conn.typing_sent.get(p.channel_id)
    if last is None or now - last >= conn.core.settings.websocket.typing_ttl_seconds / 2:
        await live.do_typing(conn.core, conn.principal, p.channel_id)
        conn.typing_sent[p.channel_id] = now  # a typing client repeats itself: pass on at most two per ttl
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


async def resume_(hub: Hub, conn: Connection, frame: dict[str, Any], ref: Any) -> None:
    """Replayed events, then ``replay_done`` (``resume.py``)."""
    resume.request(hub, conn, ref, validate(protocol.ResumeFrame, frame).channels)


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
    "resume": resume_,
    "history": history_,
    "presence": presence,
}
