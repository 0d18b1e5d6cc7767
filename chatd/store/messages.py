"""Messages: rows, their files, mentions and versions, and history pages served by ``(channel_id, id)``."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from functools import cache
from typing import Any, Iterable

import orjson
from sqlalchemy import Select, bindparam, func, literal, literal_column, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.models import Message
from .id_lists import id_in
from .rows import Picker
from .tables import mentions, message_files, message_versions, messages, pins


_MESSAGE = Picker(
    "id", "channel_id", "user_id", "type", "contents", "created_at", "updated_at", "meta", "reply_to", "reply_count",
    "last_reply_at", "client_msg_id", "edited_at", "deleted_at",
)


def message_of(row: Any) -> Message:
    (row_id, channel_id, user_id, kind, contents, created_at, updated_at, meta, reply_to, reply_count, last_reply_at,
     client_msg_id, edited_at, deleted_at) = _MESSAGE(row)
    return Message(
        id=row_id,
        channel_id=channel_id,
        user_id=user_id,
        type=kind,
        contents=contents,
        created_at=created_at,
        updated_at=updated_at,
        meta=orjson.loads(meta or "{}"),
        reply_to=reply_to,
        reply_count=reply_count,
        last_reply_at=last_reply_at,
        client_msg_id=client_msg_id,
        edited_at=edited_at,
        deleted_at=deleted_at,
    )


async def add_mentions(conn: AsyncConnection, message_id: int, channel_id: int, user_ids: Iterable[int]) -> None:
    values = [{"message_id": message_id, "user_id": uid, "channel_id": channel_id} for uid in user_ids]
    if values:
        await conn.execute(mentions.insert(), values)


async def drop_mentions(conn: AsyncConnection, message_id: int, user_ids: set[int]) -> None:
    """An edit that no longer names someone no longer counts as an unread mention for them."""
    if user_ids:
        await conn.execute(
            mentions.delete().where(mentions.c.message_id == message_id, mentions.c.user_id.in_(sorted(user_ids)))
        )


_DETAILS = union_all(
    select(literal(0).label("kind"), message_files.c.message_id, message_files.c.file_id.label("value"),
           message_files.c.position.label("ordinal")).where(id_in(message_files.c.message_id, "message_ids")),
    select(literal(1), mentions.c.message_id, mentions.c.user_id, mentions.c.user_id).where(id_in(mentions.c.message_id, "message_ids")),
).order_by(literal_column("kind"), literal_column("message_id"), literal_column("ordinal"))


async def with_details(conn: AsyncConnection, found: list[Message]) -> list[Message]:
    """Fill ``file_ids`` (in their order) and ``mentions`` (by user id) for a batch of messages, in one
    statement: every history page and search result pays it, so one round trip rather than two."""
    if not found:
        return found
    by_id = {m.id: m for m in found}
    ids = list(by_id)
    rows = await conn.execute(_DETAILS, {"message_ids": ids})
    for kind, message_id, value, _ in rows:
        (by_id[message_id].file_ids if kind == 0 else by_id[message_id].mentions).append(value)
    return found


async def get_message(conn: AsyncConnection, message_id: int, *, for_update: bool = False) -> Message | None:
    """One message; ``for_update`` also locks its row until commit (PostgreSQL; SQLite has one writer)."""
    query = select(messages).where(messages.c.id == message_id)
    if for_update and conn.dialect.name != "sqlite":
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return (await with_details(conn, [message_of(row)]))[0]


async def get_messages(conn: AsyncConnection, message_ids: list[int]) -> dict[int, Message]:
    if not message_ids:
        return {}
    rows = await conn.execute(select(messages).where(messages.c.id.in_(message_ids)))
    return {m.id: m for m in await with_details(conn, [message_of(row) for row in rows])}


async def by_client_msg_id(conn: AsyncConnection, user_id: int, client_msg_id: str) -> Message | None:
    row = (
        await conn.execute(
            select(messages).where(messages.c.user_id == user_id, messages.c.client_msg_id == client_msg_id)
        )
    ).first()
    if row is None:
        return None
    return (await with_details(conn, [message_of(row)]))[0]


@cache
def _page(thread: bool, top_level: bool, before: bool, after: bool, ascending: bool) -> Select[Any]:
    """``history``'s statement for one shape of request, built once (docs/performance.md, "Reads: built once,
    one hop each"): ``thread``, a thread's replies (else ``top_level``: messages that are no reply, or all)."""
    where: list[Any] = [messages.c.channel_id == bindparam("channel_id"), messages.c.deleted_at.is_(None)]
    if thread:
        where.append(messages.c.reply_to == bindparam("thread"))
    elif top_level:
        where.append(messages.c.reply_to.is_(None))
    if before:
        where.append(messages.c.id < bindparam("before"))
    if after:
        where.append(messages.c.id > bindparam("after"))
    order = messages.c.id.asc() if ascending else messages.c.id.desc()
    return select(messages).where(*where).order_by(order).limit(bindparam("limit"))


async def history(
    conn: AsyncConnection,
    channel_id: int,
    *,
    before: int | None,
    after: int | None,
    limit: int,
    thread: int | None,
    include_replies: bool,
) -> tuple[list[Message], bool]:
    """A page of live messages, oldest first, and whether more exist beyond it in the paging direction."""
    ascending = after is not None and before is None
    shape = _page(thread is not None, not include_replies, before is not None, after is not None, ascending)
    given = {"channel_id": channel_id, "thread": thread, "before": before, "after": after, "limit": limit + 1}
    rows = list(await conn.execute(shape, {name: value for name, value in given.items() if value is not None}))
    has_more = len(rows) > limit
    page = [message_of(row) for row in rows[:limit]]
    if not ascending:
        page.reverse()
    return await with_details(conn, page), has_more


#: How far past the page the listing's total counts: exact up to there, a lower bound beyond.
COUNT_AHEAD = 10_000
INT64_MAX = 2**63 - 1  # a LIMIT the databases take (a page number may be as large as that)
#: ``page_by_offset`` lists at most this many of a channel's removed messages to find a page by its position;
#: a channel with more removed is paged by reading every row before the page.
REMOVED_LISTED = 10_000

_CHANNEL = messages.c.channel_id == bindparam("channel_id")
# The channel's removed messages, oldest first (for ``bisect``), from their own small index
# (``ix_messages_removed``).
_REMOVED = (
    select(messages.c.id).where(_CHANNEL, messages.c.deleted_at.is_not(None))
    .order_by(messages.c.id).limit(bindparam("limit"))
)
# Entries of ``(channel_id, id)``, removed messages included: read from the index alone, no row.
_IDS_BELOW = (
    select(messages.c.id).where(_CHANNEL, messages.c.id < bindparam("below"))
    .order_by(messages.c.id.desc()).offset(bindparam("skip")).limit(bindparam("limit"))
)
_ENTRIES = select(func.count()).select_from(
    select(literal(1).label("one")).where(_CHANNEL, messages.c.id <= bindparam("top")).limit(bindparam("limit"))
    .subquery()
)
_PAGE_FROM = (
    select(messages).where(_CHANNEL, messages.c.deleted_at.is_(None), messages.c.id <= bindparam("top"))
    .order_by(messages.c.id.desc()).limit(bindparam("limit"))
)


async def page_by_offset(
    conn: AsyncConnection, channel_id: int, offset: int, limit: int, *, ahead: int = COUNT_AHEAD,
    removed_listed: int = REMOVED_LISTED,
) -> tuple[list[Message], int]:
    """Newest first with a total: for faces that page by number (WorkDrive's ``meta``).

    The page's place is found in the ``(channel_id, id)`` index alone, then its rows are read: ``OFFSET`` over
    live messages reads every row it skips (``deleted_at`` is in the row, not the index), 150-320 ms for a page
    190,000 messages deep, holding a pool connection (docs/performance.md, "Deep pages by number"). The
    index's entries include removed messages, so they are listed first (few, from their own index) and
    stepped over. The total counts at most ``ahead`` messages past the page: exact whenever fewer remain,
    otherwise a lower bound that still says more pages follow and grows as the client pages on, so a client
    walking ``nextPage`` reaches the oldest."""
    listed = {"channel_id": channel_id, "limit": removed_listed + 1}
    removed = [int(row[0]) for row in await conn.execute(_REMOVED, listed)]
    if len(removed) > removed_listed:
        return await _page_by_scan(conn, channel_id, offset, limit, ahead)
    top = await _live_at(conn, channel_id, offset, removed) if offset else INT64_MAX
    # The total: the page's offset and the live messages from its first on, counted up to ``ahead`` past it
    # (past the oldest: all of them, up to as far as the page number asked for).
    start, span = (offset, limit + ahead) if top is not None else (0, min(offset + limit + ahead, INT64_MAX))
    top = INT64_MAX if top is None else top
    among = bisect_right(removed, top)  # removed messages among the entries counted, at most
    counted = int((await conn.execute(
        _ENTRIES, {"channel_id": channel_id, "top": top, "limit": min(span + among, INT64_MAX)})).scalar_one())
    # Fewer entries than the limit: every one was counted, the removed ones among them too.
    total = start + (counted - among if counted < span + among else span)
    if start != offset:
        return [], total
    rows = await conn.execute(_PAGE_FROM, {"channel_id": channel_id, "top": top, "limit": limit})
    return await with_details(conn, [message_of(row) for row in rows]), total


async def _live_at(conn: AsyncConnection, channel_id: int, offset: int, removed: list[int]) -> int | None:
    """The id of the channel's live message ``offset`` places from the newest (None past the oldest), given the
    ids of all its removed messages, ascending. At most two reads of the index: the entry ``offset`` places
    down, and, if removed messages were among those it passed, the entries after it, enough of them to hold
    as many live ones as those removed (they can hold no more removed ones than the list has left)."""
    if offset > INT64_MAX:
        return None
    found = (await conn.execute(
        _IDS_BELOW, {"channel_id": channel_id, "below": INT64_MAX, "skip": offset, "limit": 1})).first()
    if found is None:
        return None
    entry = int(found[0])
    passed = len(removed) - bisect_left(removed, entry)  # removed among the entries down to this one
    if passed == 0:
        return entry  # nothing removed at or above it: it is the live message at ``offset``
    older = bisect_left(removed, entry)  # removed messages below it, at most, among the entries that follow
    gone = set(removed)
    rows = await conn.execute(
        _IDS_BELOW, {"channel_id": channel_id, "below": entry, "skip": 0, "limit": passed + older})
    for (candidate,) in rows:
        if candidate not in gone:
            passed -= 1
            if passed == 0:
                return int(candidate)
    return None


async def _page_by_scan(conn: AsyncConnection, channel_id: int, offset: int, limit: int, ahead: int) -> tuple[
        list[Message], int]:
    """``page_by_offset`` for a channel with more removed messages than it lists: ``OFFSET`` over live rows."""
    where = [messages.c.channel_id == channel_id, messages.c.deleted_at.is_(None)]
    window = select(literal(1)).select_from(messages).where(*where).limit(min(offset + limit + ahead, INT64_MAX)).subquery()
    total = int((await conn.execute(select(func.count()).select_from(window))).scalar_one())
    rows = await conn.execute(select(messages).where(*where).order_by(messages.c.id.desc()).offset(offset).limit(limit))
    return await with_details(conn, [message_of(row) for row in rows]), total


async def update_message(conn: AsyncConnection, message_id: int, values: dict[str, Any]) -> None:
    await conn.execute(messages.update().where(messages.c.id == message_id).values(**values))


async def add_version(conn: AsyncConnection, message_id: int, contents: str, created_at: int) -> None:
    """Keep the text being replaced; versions are numbered from 1 (the original)."""
    number = (
        await conn.execute(
            select(func.coalesce(func.max(message_versions.c.version), 0)).where(message_versions.c.message_id == message_id)
        )
    ).scalar_one()
    await conn.execute(
        message_versions.insert().values(
            message_id=message_id, version=int(number) + 1, contents=contents, created_at=created_at
        )
    )


async def versions(conn: AsyncConnection, message_id: int) -> list[tuple[int, str, int]]:
    rows = await conn.execute(
        select(message_versions.c.version, message_versions.c.contents, message_versions.c.created_at)
        .where(message_versions.c.message_id == message_id)
        .order_by(message_versions.c.version)
    )
    return [(int(r[0]), str(r[1]), int(r[2])) for r in rows]


async def erase(conn: AsyncConnection, message_id: int, by: int, now: int) -> None:
    """Soft delete: the row stays (threads, events), its text, meta and history go."""
    await conn.execute(
        messages.update()
        .where(messages.c.id == message_id)
        .values(contents="", meta="{}", deleted_at=now, deleted_by=by, updated_at=now)
    )
    await conn.execute(message_versions.delete().where(message_versions.c.message_id == message_id))
    await conn.execute(pins.delete().where(pins.c.message_id == message_id))


async def bump_thread(conn: AsyncConnection, root_id: int, delta: int, last_reply_at: int | None) -> None:
    values: dict[str, Any] = {"reply_count": messages.c.reply_count + delta}
    if last_reply_at is not None:
        values["last_reply_at"] = last_reply_at
    await conn.execute(messages.update().where(messages.c.id == root_id).values(**values))


async def move_all(conn: AsyncConnection, source_id: int, destination_id: int) -> int:
    """Re-home every message of a channel (and its mentions and pins); ids, authors and links are kept."""
    moved = await conn.execute(messages.update().where(messages.c.channel_id == source_id).values(channel_id=destination_id))
    await conn.execute(mentions.update().where(mentions.c.channel_id == source_id).values(channel_id=destination_id))
    await conn.execute(pins.update().where(pins.c.channel_id == source_id).values(channel_id=destination_id))
    return int(moved.rowcount or 0)
