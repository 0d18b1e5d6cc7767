"""Channels: rows, lookups and the moves other aggregates make."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import channel_members, channels, org_members


async def team_channel_ids(conn: AsyncConnection, team_id: int) -> list[int]:
    rows = await conn.execute(
        select(channels.c.id).where(channels.c.team_id == team_id, channels.c.removed_at.is_(None)).order_by(channels.c.id)
    )
    return [row[0] for row in rows]


async def member_ids_outside_org(conn: AsyncConnection, channel_id: int, org_id: int) -> list[int]:
    rows = await conn.execute(
        select(channel_members.c.user_id).where(
            channel_members.c.channel_id == channel_id,
            channel_members.c.user_id.not_in(select(org_members.c.user_id).where(org_members.c.organisation_id == org_id)),
        )
    )
    return sorted(row[0] for row in rows)


async def move_team_channels(conn: AsyncConnection, team_id: int, org_id: int, now: int) -> None:
    await conn.execute(
        channels.update().where(channels.c.team_id == team_id).values(organisation_id=org_id, updated_at=now)
    )


async def detach_team(conn: AsyncConnection, team_id: int, now: int) -> None:
    await conn.execute(channels.update().where(channels.c.team_id == team_id).values(team_id=None, updated_at=now))
