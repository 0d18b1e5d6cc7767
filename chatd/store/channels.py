"""Channels: rows, lookups and the moves other aggregates make."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..core.models import Channel
from .tables import channel_members, channels, org_members


def channel_of(row: Any) -> Channel:
    return Channel(
        id=row.id,
        organisation_id=row.organisation_id,
        team_id=row.team_id,
        name=row.name,
        topic=row.topic,
        type=row.type,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        archived_at=row.archived_at,
        removed_at=row.removed_at,
        last_seq=row.last_seq,
        description=row.description,
        group_type=row.group_type,
        category=row.category,
        by_request=bool(row.by_request),
        picture_file_id=row.picture_file_id,
        merged_into=row.merged_into,
        last_message_at=row.last_message_at,
        direct_key=row.direct_key,
    )


async def get_channel(conn: AsyncConnection, channel_id: int) -> Channel | None:
    """A live (not removed) channel."""
    row = (
        await conn.execute(select(channels).where(channels.c.id == channel_id, channels.c.removed_at.is_(None)))
    ).first()
    return None if row is None else channel_of(row)


async def insert_channel(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(channels.insert().values(**values))


async def update_channel(conn: AsyncConnection, channel_id: int, values: dict[str, Any]) -> None:
    await conn.execute(channels.update().where(channels.c.id == channel_id).values(**values))


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
