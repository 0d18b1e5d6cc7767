"""Teams and their members."""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.models import Membership, Team
from .like import like_pattern
from .tables import org_members, team_members, teams


def _team(row: Any) -> Team:
    return Team(
        id=row.id,
        organisation_id=row.organisation_id,
        name=row.name,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        archived_at=row.archived_at,
        removed_at=row.removed_at,
    )


async def insert_team(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(teams.insert().values(**values))


async def update_team(conn: AsyncConnection, team_id: int, values: dict[str, Any]) -> None:
    await conn.execute(teams.update().where(teams.c.id == team_id).values(**values))


async def get_team(conn: AsyncConnection, team_id: int) -> Team | None:
    row = (await conn.execute(select(teams).where(teams.c.id == team_id, teams.c.removed_at.is_(None)))).first()
    return None if row is None else _team(row)


async def search_teams(
    conn: AsyncConnection,
    user_id: int,
    query: str,
    organisation_id: int | None,
    archived: bool | None,
    offset: int,
    limit: int,
) -> tuple[list[Team], int]:
    """Live teams of the organisations ``user_id`` belongs to."""
    where: list[Any] = [
        teams.c.removed_at.is_(None),
        teams.c.organisation_id.in_(select(org_members.c.organisation_id).where(org_members.c.user_id == user_id)),
    ]
    if query:
        where.append(func.lower(teams.c.name).like(like_pattern(query), escape="\\"))
    if organisation_id is not None:
        where.append(teams.c.organisation_id == organisation_id)
    if archived is not None:
        where.append(teams.c.archived_at.is_not(None) if archived else teams.c.archived_at.is_(None))
    total = int((await conn.execute(select(func.count()).select_from(teams).where(*where))).scalar_one())
    rows = await conn.execute(
        select(teams).where(*where).order_by(func.lower(teams.c.name), teams.c.id).offset(offset).limit(limit)
    )
    return [_team(row) for row in rows], total


async def list_members(conn: AsyncConnection, team_id: int) -> list[Membership]:
    rows = await conn.execute(
        select(team_members).where(team_members.c.team_id == team_id).order_by(team_members.c.joined_at, team_members.c.user_id)
    )
    return [Membership(user_id=row.user_id, role="member", joined_at=row.joined_at) for row in rows]


async def member_ids(conn: AsyncConnection, team_id: int) -> set[int]:
    rows = await conn.execute(select(team_members.c.user_id).where(team_members.c.team_id == team_id))
    return {row[0] for row in rows}


async def add_members(conn: AsyncConnection, team_id: int, user_ids: Iterable[int], now: int) -> None:
    values = [{"team_id": team_id, "user_id": uid, "joined_at": now} for uid in user_ids]
    if values:
        await conn.execute(team_members.insert(), values)


async def remove_members(conn: AsyncConnection, team_id: int, user_ids: Iterable[int]) -> None:
    ids = list(user_ids)
    if ids:
        await conn.execute(
            team_members.delete().where(team_members.c.team_id == team_id, team_members.c.user_id.in_(ids))
        )


async def remove_user_from_org_teams(conn: AsyncConnection, org_id: int, user_id: int) -> None:
    """A user who leaves an organisation leaves its teams too."""
    await conn.execute(
        team_members.delete().where(
            team_members.c.user_id == user_id,
            team_members.c.team_id.in_(select(teams.c.id).where(teams.c.organisation_id == org_id)),
        )
    )
