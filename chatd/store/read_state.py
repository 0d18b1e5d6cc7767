"""How far each member has read each channel, and the unread and mention counts that follow from it.

Counts are computed from indexes (``messages(channel_id, id)``, ``mentions(user_id, channel_id, message_id)``)
rather than stored counters, so edits, removals and merges can never leave a count wrong; each stops at
``COUNT_MAX``, so what one costs does not grow with how far behind a member is.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import BindParameter, ColumnClause
from sqlalchemy.sql.selectable import ScalarSelect

from ..domain.models import COUNT_MAX, UNREAD_TYPES
from .tables import channel_members, mentions, messages


_USER: BindParameter[int] = bindparam("user_id")
_ONE: ColumnClause[int] = literal_column("1")


class MemberState(NamedTuple):
    """A member's place in a channel: their role, what they have not read (each count at most ``COUNT_MAX``,
    which then means that many or more), and their marker."""

    role: str
    unread: int
    mentions: int
    last_read_message_id: int


def _at_most(rows: Select[Any]) -> ScalarSelect[int]:
    """How many rows ``rows`` (correlated to the member's row) gives, counted up to ``COUNT_MAX``."""
    bounded = rows.correlate(channel_members).limit(COUNT_MAX).subquery()
    return select(func.count()).select_from(bounded).scalar_subquery()


# Each member row with its two counts, each bounded: counting stops at COUNT_MAX messages per channel (passing
# over one's own and removed ones between), however far behind the marker is, on both stores. A correlated
# count without the bound ran over the whole backlog once per member row (1.9 s on PostgreSQL), and the
# grouped counts before it read every message of the channels there (docs/performance.md, eighth pass).
# This one is every member row of the user (``user_id``): (channel_id, role, last_read_message_id, unread,
# mentions); a connect's snapshot reads them all at once (``store/snapshot.py``).
ALL_STATES = select(
    channel_members.c.channel_id,
    channel_members.c.role,
    channel_members.c.last_read_message_id,
    _at_most(
        select(_ONE).where(
            messages.c.channel_id == channel_members.c.channel_id,
            messages.c.id > channel_members.c.last_read_message_id,
            messages.c.deleted_at.is_(None),
            messages.c.type.in_(UNREAD_TYPES),
            or_(messages.c.user_id.is_(None), messages.c.user_id != _USER),
        )
    ),
    _at_most(
        select(_ONE).select_from(mentions.join(messages, messages.c.id == mentions.c.message_id)).where(
            mentions.c.user_id == _USER,
            mentions.c.channel_id == channel_members.c.channel_id,
            mentions.c.message_id > channel_members.c.last_read_message_id,
            messages.c.deleted_at.is_(None),
        )
    ),
).where(channel_members.c.user_id == _USER)
# An ``IN`` list, not ``id_lists.id_in``: after five runs PostgreSQL may plan a prepared statement once for
# any values, and for ``= ANY`` of an array it then assumes a few channels; for this statement that plan
# cost a member of a hundred channels 250 ms instead of 10 (docs/performance.md, eleventh pass).
_COUNTS = ALL_STATES.where(channel_members.c.channel_id.in_(bindparam("channel_ids", expanding=True)))


def state_of(role: Any, last_read: Any, unread: Any, mentioned: Any) -> MemberState:
    """A member state from the columns of ``ALL_STATES`` after the channel."""
    return MemberState(str(role), int(unread), int(mentioned), int(last_read))


async def member_states(conn: AsyncConnection, user_id: int, channel_ids: list[int]) -> dict[int, MemberState]:
    """``{channel_id: MemberState}`` for the channels ``user_id`` is a member of.

    Unread counts others' messages of ``UNREAD_TYPES`` after the marker: never one's own, never a system
    notice. Both counts stop at ``COUNT_MAX``, which then means that many or more."""
    if not channel_ids:
        return {}
    rows = await conn.execute(_COUNTS, {"user_id": user_id, "channel_ids": channel_ids})
    return {
        int(channel_id): state_of(role, last_read, unread, mentioned)
        for channel_id, role, last_read, unread, mentioned in rows
    }


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
