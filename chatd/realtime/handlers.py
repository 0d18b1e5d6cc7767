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


TYPING_THREADS = 2  # threads of one channel a connection passes typing on for in one half-ttl (see ``typing``)


async def typing(hub: Hub, conn: Connection, frame: dict[str, Any], ref: Any) -> None:
    """Ephemeral (``core/live.py``); this connection passes on at most two per ``typing_ttl_seconds`` for the
    channel's own box and for each thread, and for at most ``TYPING_THREADS`` threads of a channel at a time:
    so typing in a thread never eats the channel's allowance nor the other way round, and ids of threads
    (never looked up) cannot multiply what one connection passes on or the entries it keeps."""
    p = validate(protocol.TypingFrame, frame)
    now = conn.core.clock.monotonic()
    window = conn.core.settings.websocket.typing_ttl_seconds / 2
    sent = conn.typing_sent
    key = (p.channel_id, p.thread_id or 0)
    last = sent.get(key)
    if last is None or now - last >= window:
        for old in [k for k, at in sent.items() if now - at >= window]:
            del sent[old]  # held nothing back any more: only the passes of the last half-ttl are kept
        threads = sum(1 for channel_id, thread_id in sent if channel_id == p.channel_id and thread_id)
        if p.thread_id is None or threads < TYPING_THREADS:
            await live.do_typing(conn.core, conn.principal, p.channel_id, p.thread_id)
            sent[key] = now  # a typing client repeats itself: pass on at most two per ttl
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
