"""Channel membership rows: who is in a channel, with which role (how far each has read is ``read_state.py``)."""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.models import Membership
from .id_lists import id_in
from .tables import channel_members, channels


async def get_role(conn: AsyncConnection, channel_id: int, user_id: int) -> str | None:
    row = (
        await conn.execute(
            select(channel_members.c.role).where(
                channel_members.c.channel_id == channel_id, channel_members.c.user_id == user_id
            )
        )
    ).first()
    return None if row is None else str(row[0])


async def add(conn: AsyncConnection, channel_id: int, user_ids: Iterable[int], role: str, now: int) -> None:
    values = [{"channel_id": channel_id, "user_id": uid, "role": role, "joined_at": now} for uid in user_ids]
    if values:
        await conn.execute(channel_members.insert(), values)
        await _counted(conn, channel_id, len(values))


async def set_role(conn: AsyncConnection, channel_id: int, user_id: int, role: str) -> None:
    await conn.execute(
        channel_members.update()
        .where(channel_members.c.channel_id == channel_id, channel_members.c.user_id == user_id)
        .values(role=role)
    )


async def remove(conn: AsyncConnection, channel_id: int, user_ids: Iterable[int]) -> None:
    ids = list(user_ids)
    if ids:
        removed = await conn.execute(
            channel_members.delete().where(channel_members.c.channel_id == channel_id, channel_members.c.user_id.in_(ids))
        )
        if removed.rowcount:
            await _counted(conn, channel_id, -removed.rowcount)


async def _counted(conn: AsyncConnection, channel_id: int, change: int) -> None:
    """``channels.member_count`` follows its rows, in the same transaction: these two functions are the only
    writers of ``channel_members`` but an import, which counts afresh (``recount``)."""
    await conn.execute(
        channels.update().where(channels.c.id == channel_id).values(member_count=channels.c.member_count + change)
    )


async def list_members(conn: AsyncConnection, channel_id: int) -> list[Membership]:
    rows = await conn.execute(
        select(channel_members.c.user_id, channel_members.c.role, channel_members.c.joined_at)
        .where(channel_members.c.channel_id == channel_id)
        .order_by(channel_members.c.joined_at, channel_members.c.user_id)
    )
    # Unpacked by position: a row's attribute costs half a microsecond (``rows.py``), 15 ms for 10,000 members.
    return [Membership(user_id=user_id, role=role, joined_at=joined_at) for user_id, role, joined_at in rows]


async def members_of(conn: AsyncConnection, channel_ids: list[int]) -> dict[int, list[Membership]]:
    """The members of several channels, each list in joining order: one query for a whole page."""
    found: dict[int, list[Membership]] = {channel_id: [] for channel_id in channel_ids}
    if not found:
        return found
    rows = await conn.execute(
        select(channel_members.c.channel_id, channel_members.c.user_id, channel_members.c.role,
               channel_members.c.joined_at)
        .where(channel_members.c.channel_id.in_(channel_ids))
        .order_by(channel_members.c.joined_at, channel_members.c.user_id)
    )
    for channel_id, user_id, role, joined_at in rows:
        found[channel_id].append(Membership(user_id=user_id, role=role, joined_at=joined_at))
    return found


async def member_ids(conn: AsyncConnection, channel_id: int) -> set[int]:
    rows = await conn.execute(select(channel_members.c.user_id).where(channel_members.c.channel_id == channel_id))
    return {row[0] for row in rows}


async def memberships_in_org(
    conn: AsyncConnection, org_id: int, user_ids: Iterable[int], team_id: int | None = None
) -> list[tuple[int, int]]:
    """(channel_id, user_id) pairs of the given users in live channels of an organisation (or one team)."""
    ids = list(user_ids)
    if not ids:
        return []
    where = [channels.c.organisation_id == org_id, channels.c.removed_at.is_(None)]
    if team_id is not None:
        where.append(channels.c.team_id == team_id)
    rows = await conn.execute(
        select(channel_members.c.channel_id, channel_members.c.user_id)
        .select_from(channel_members.join(channels, and_(channels.c.id == channel_members.c.channel_id, *where)))
        .where(channel_members.c.user_id.in_(ids))
        .order_by(channel_members.c.channel_id, channel_members.c.user_id)
    )
    return [(channel_id, user_id) for channel_id, user_id in rows]


_ROLES_OF = select(channel_members.c.channel_id, channel_members.c.role).where(
    channel_members.c.user_id == bindparam("user_id"), id_in(channel_members.c.channel_id, "channel_ids")
)


async def roles_of(conn: AsyncConnection, user_id: int, channel_ids: list[int]) -> dict[int, str]:
    if not channel_ids:
        return {}
    rows = await conn.execute(_ROLES_OF, {"user_id": user_id, "channel_ids": channel_ids})
    return {row[0]: str(row[1]) for row in rows}


async def recount(conn: AsyncConnection) -> None:
    """Every channel's ``member_count`` counted from its rows: after an import, which writes the rows
    directly (an export leaves the count out, as derived data), and when the column is added (schema 8)."""
    counted = (
        select(func.count())
        .where(channel_members.c.channel_id == channels.c.id)
        .correlate(channels)
        .scalar_subquery()
    )
    await conn.execute(channels.update().values(member_count=counted))
