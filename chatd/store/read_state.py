"""How far each member has read each channel, and the unread and mention counts that follow from it.

Counts are computed from indexes (``messages(channel_id, id)``, ``mentions(user_id, channel_id, message_id)``)
rather than stored counters, so edits, removals and merges can never leave a count wrong.
"""

from __future__ import annotations

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import BindParameter

from ..domain.models import UNREAD_TYPES
from .tables import channel_members, mentions, messages


_USER: BindParameter[int] = bindparam("user_id")
_CHANNELS: BindParameter[list[int]] = bindparam("channel_ids", expanding=True)
_MARKERS = select(channel_members.c.channel_id, channel_members.c.last_read_message_id).where(
    channel_members.c.user_id == _USER, channel_members.c.channel_id.in_(_CHANNELS)
)
_UNREAD = (
    select(messages.c.channel_id, func.count())
    .select_from(
        messages.join(
            channel_members,
            and_(channel_members.c.channel_id == messages.c.channel_id, channel_members.c.user_id == _USER),
        )
    )
    .where(
        messages.c.channel_id.in_(_CHANNELS),
        messages.c.id > channel_members.c.last_read_message_id,
        messages.c.deleted_at.is_(None),
        messages.c.type.in_(UNREAD_TYPES),
        or_(messages.c.user_id.is_(None), messages.c.user_id != _USER),
    )
    .group_by(messages.c.channel_id)
)
_MENTIONED = (
    select(mentions.c.channel_id, func.count())
    .select_from(
        mentions.join(messages, messages.c.id == mentions.c.message_id).join(
            channel_members,
            and_(channel_members.c.channel_id == mentions.c.channel_id, channel_members.c.user_id == _USER),
        )
    )
    .where(
        mentions.c.user_id == _USER,
        mentions.c.channel_id.in_(_CHANNELS),
        mentions.c.message_id > channel_members.c.last_read_message_id,
        messages.c.deleted_at.is_(None),
    )
    .group_by(mentions.c.channel_id)
)


async def counts(conn: AsyncConnection, user_id: int, channel_ids: list[int]) -> dict[int, tuple[int, int, int]]:
    """``{channel_id: (unread, mentions, last_read_message_id)}`` for the channels ``user_id`` is a member of.

    Unread counts others' messages of ``UNREAD_TYPES`` after the marker: never one's own, never a system
    notice."""
    if not channel_ids:
        return {}
    rows = await conn.execute(_MARKERS, {"user_id": user_id, "channel_ids": channel_ids})
    result = {row[0]: (0, 0, int(row[1])) for row in rows}
    if not result:
        return {}
    members = {"user_id": user_id, "channel_ids": list(result)}
    for channel_id, count in await conn.execute(_UNREAD, members):
        result[channel_id] = (int(count), 0, result[channel_id][2])
    for channel_id, count in await conn.execute(_MENTIONED, members):
        unread_count, _, last_read = result[channel_id]
        result[channel_id] = (unread_count, int(count), last_read)
    return result


_ADVANCE = (
    channel_members.update()
    .where(
        channel_members.c.channel_id == bindparam("marker_channel"),
        channel_members.c.user_id == bindparam("marker_user"),
        channel_members.c.last_read_message_id < bindparam("marker_message"),
    )
    .values(last_read_message_id=bindparam("marker_message"))
)


async def advance(conn: AsyncConnection, channel_id: int, user_id: int, message_id: int) -> bool:
    """Move the read marker forward (never back); True if it moved."""
    values = {"marker_channel": channel_id, "marker_user": user_id, "marker_message": message_id}
    return bool((await conn.execute(_ADVANCE, values)).rowcount)


async def last_read(conn: AsyncConnection, channel_id: int, user_id: int) -> int:
    row = (
        await conn.execute(
            select(channel_members.c.last_read_message_id).where(
                channel_members.c.channel_id == channel_id, channel_members.c.user_id == user_id
            )
        )
    ).first()
    return int(row[0]) if row else 0


_NEWEST_AND_MARKER = select(
    select(func.max(messages.c.id))
    .where(messages.c.channel_id == bindparam("channel_id"), messages.c.deleted_at.is_(None))
    .scalar_subquery(),
    select(channel_members.c.last_read_message_id)
    .where(channel_members.c.channel_id == bindparam("channel_id"), channel_members.c.user_id == _USER)
    .scalar_subquery(),
)


async def newest_and_last_read(conn: AsyncConnection, channel_id: int, user_id: int) -> tuple[int, int]:
    """``newest_message_id`` and ``last_read`` in one statement: a history page asks both, so one round trip."""
    row = (await conn.execute(_NEWEST_AND_MARKER, {"channel_id": channel_id, "user_id": user_id})).one()
    return int(row[0] or 0), int(row[1] or 0)


async def newest_message_id(conn: AsyncConnection, channel_id: int) -> int:
    row = (
        await conn.execute(
            select(func.max(messages.c.id)).where(messages.c.channel_id == channel_id, messages.c.deleted_at.is_(None))
        )
    ).first()
    return int(row[0]) if row and row[0] is not None else 0
