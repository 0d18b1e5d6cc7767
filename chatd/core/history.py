"""Reading a channel: history pages with cursors, threads, versions, and the read marker that follows.

Reading the newest page of a channel one belongs to marks it read up to its newest message; the marker only
moves forward, and the user's other connections are told (``read``/``UPDATED``) so a count cleared on one
device clears everywhere.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain import events
from ..domain.errors import BadRequest
from ..domain.models import ChannelAccess, MessageView, Principal
from ..store import events as event_log
from ..store import messages as message_store
from ..store import read_state
from .access import access_channel, access_message
from .clock import iso
from .context import Core, Tx
from .message_views import views_of
from .paging import Page, PageRequest

T = TypeVar("T")

HISTORY_DEFAULT = 50
HISTORY_MAX = 200


def check_limit(limit: int | None) -> int:
    if limit is None:
        return HISTORY_DEFAULT
    if limit < 1:
        raise BadRequest.field("limit", "must be 1 or more")
    return min(limit, HISTORY_MAX)


async def read_history(
    core: Core,
    principal: Principal,
    channel_id: int,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int | None = None,
    thread: int | None = None,
    include_replies: bool = False,
) -> tuple[list[MessageView], bool]:
    """A page, oldest first, and whether more lie beyond it (older with ``before`` or none, newer with ``after``)."""
    limit = check_limit(limit)
    if before is not None and after is not None:
        raise BadRequest.field("before", "give before or after, not both")
    async with core.reading() as conn:
        found = await access_channel(conn, principal, channel_id)
        if thread is not None:
            root, _ = await access_message(conn, principal, thread)
            if root.channel_id != channel_id or root.reply_to is not None:
                raise BadRequest.field("thread", "not a thread root of this channel")
        page, has_more = await message_store.history(
            conn, channel_id, before=before, after=after, limit=limit, thread=thread, include_replies=include_replies
        )
        views = await views_of(conn, principal, found, page)
        reached_end = before is None and (after is None or not has_more)
        newest = await _newest_seen(conn, principal, found, reached_end and thread is None)
    await _mark_seen(core, principal, channel_id, newest)
    return views, has_more


async def read_page(
    core: Core,
    principal: Principal,
    channel_id: int,
    page: PageRequest,
    load: Callable[[AsyncConnection, list[MessageView]], Awaitable[T]],
) -> tuple[Page[MessageView], T]:
    """A page of a channel's messages, newest first, thread replies included (the WorkDrive listing), and what
    ``load`` reads for showing it, in one snapshot. The first page reaches the newest message, so it marks
    the channel read the way reading the newest history does."""
    async with core.reading() as conn:
        found = await access_channel(conn, principal, channel_id)
        items, total = await message_store.page_by_offset(conn, channel_id, page.offset, page.per_page)
        views = await views_of(conn, principal, found, items)
        loaded = await load(conn, views)
        newest = await _newest_seen(conn, principal, found, page.page == 1)
    await _mark_seen(core, principal, channel_id, newest)
    return Page(views, total, page), loaded


async def _newest_seen(conn: AsyncConnection, principal: Principal, found: ChannelAccess, reached_end: bool) -> int:
    """The read-marker rule: a member who read up to the newest message has read the channel to there.

    The newest message of this snapshot, not of the moment the marker moves: a message posted in between
    was not shown, so it stays unread. 0 when the marker stays (not a member, not the end, or already read
    that far: reading then writes nothing)."""
    if not (found.is_member and reached_end):
        return 0
    newest, last_read = await read_state.newest_and_last_read(conn, found.channel.id, principal.user_id)
    if newest and newest <= last_read:
        return 0
    return newest


async def _mark_seen(core: Core, principal: Principal, channel_id: int, newest: int) -> None:
    if newest:
        async with core.transaction() as tx:
            await _advance(tx, principal, channel_id, newest)


async def mark_read(core: Core, principal: Principal, channel_id: int, message_id: int | None = None) -> dict[str, Any]:
    """Move the caller's read marker to ``message_id`` (default: the newest message); returns the new counts."""
    async with core.transaction() as tx:
        found = await access_channel(tx.conn, principal, channel_id)
        if not found.is_member:
            raise BadRequest.field("channel_id", "read markers are kept for channel members only")
        if message_id is None:
            message_id = await read_state.newest_message_id(tx.conn, channel_id)
        else:
            message = await message_store.get_message(tx.conn, message_id)
            if message is None or message.channel_id != channel_id:
                raise BadRequest.field("message_id", "no such message in this channel")
        return await _advance(tx, principal, channel_id, message_id)


async def _advance(tx: Tx, principal: Principal, channel_id: int, message_id: int) -> dict[str, Any]:
    """Move the marker forward (never back; not at all for a non-member) and tell the user's connections.

    ``seq``: where the channel's log stood when the counts were taken (read first, so every message up to it
    is counted). The event reaches a client after the transaction commits, and a message committed in
    between may reach it first: the client adds the unread messages it got after ``seq`` (docs/websocket.md)."""
    moved = await read_state.advance(tx.conn, channel_id, principal.user_id, message_id)
    seq = (await event_log.last_seqs(tx.conn, [channel_id])).get(channel_id, 0)
    member = (await read_state.member_states(tx.conn, principal.user_id, [channel_id])).get(channel_id)
    state = {
        "channel_id": str(channel_id),
        "last_read_message_id": str(member.last_read_message_id if member else 0),
        "unread": member.unread if member else 0,
        "mentions": member.mentions if member else 0,
        "seq": seq,
    }
    if moved:
        tx.notify(principal.user_id, events.READ, "UPDATED", state, channel_id=channel_id)
    return state


async def message_versions(core: Core, principal: Principal, message_id: int) -> list[dict[str, Any]]:
    """Every version of a message, oldest first, the current one last."""
    async with core.reading() as conn:
        message, _ = await access_message(conn, principal, message_id)
        stored = await message_store.versions(conn, message_id)
    shaped = [{"version": n, "contents": text, "created_at": iso(at), "current": False} for n, text, at in stored]
    shaped.append(
        {
            "version": len(stored) + 1,
            "contents": message.contents,
            "created_at": iso(message.edited_at or message.created_at),
            "current": True,
        }
    )
    return shaped


async def read_message(core: Core, principal: Principal, message_id: int) -> MessageView:
    async with core.reading() as conn:
        message, found = await access_message(conn, principal, message_id)
        return (await views_of(conn, principal, found, [message]))[0]
